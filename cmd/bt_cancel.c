/* bt_cancel.c -- bt cancel: tasks by id, by benchmark set or by source,
 * cancelled through "cancel ID..." lines written to control.
 *
 * A queued task is cancelled at once; a running one stops at its next
 * step; a finished one is left as it is and said so.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bt.h"
#include "bt_err.h"
#include "bt_mount.h"
#include "bt_render.h"
#include "bt_tasks.h"
#include "util/buf.h"

#define CANCEL_BATCH 200        /* ids per write to control              */

struct cancel_list {
    char (*id)[40];
    const char **how;           /* "queued", "running", or a final status */
    size_t n, cap;
};

static int list_add(struct cancel_list *l, const char *id, const char *how)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->id[i], id) == 0)
            return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        void *a = realloc(l->id, cap * sizeof *l->id);
        if (!a)
            return -ENOMEM;
        l->id = a;
        void *b = realloc(l->how, cap * sizeof *l->how);
        if (!b)
            return -ENOMEM;
        l->how = b;
        l->cap = cap;
    }
    snprintf(l->id[l->n], sizeof l->id[l->n], "%s", id);
    l->how[l->n++] = how;
    return 0;
}

/* Whether a task document matches --set and --source. */
static bool task_matches(const cJSON *t, const char *set, const char *source)
{
    if (set && strcmp(bt_jstr(t, "set", ""), set) != 0)
        return false;
    if (source && strcmp(bt_jstr(t, "source", ""), source) != 0)
        return false;
    return true;
}

/* Status of one task, as a static string ("queued", ...), or NULL with
 * *err set. */
static const char *task_status(const struct ctx *c, const char *id, int *err)
{
    static const char *const known[] = { "queued", "running", "passed",
                                         "failed", "error", "cancelled" };
    char rel[64];
    cJSON *t;
    const char *st = "unknown";

    snprintf(rel, sizeof rel, "tasks/%s.json", id);
    t = bt_mount_parse(c, rel, err);
    if (!t)
        return NULL;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(bt_jstr(t, "status", ""), known[i]) == 0)
            st = known[i];
    cJSON_Delete(t);
    return st;
}

static int control_send(const struct ctx *c, const struct cancel_list *l)
{
    char *path;
    int rc = 0;

    if (!(path = bt_mount_path(c, "control")))
        return -ENOMEM;
    for (size_t i = 0; i < l->n && rc == 0;) {
        struct buf m = { 0 };
        size_t k = 0;
        buf_adds(&m, "cancel");
        for (; i < l->n && k < CANCEL_BATCH; i++) {
            if (strcmp(l->how[i], "queued") != 0 &&
                strcmp(l->how[i], "running") != 0)
                continue;
            buf_adds(&m, " ");
            buf_adds(&m, l->id[i]);
            k++;
        }
        buf_adds(&m, "\n");
        size_t ll = m.len;
        char *line = buf_take(&m);
        if (!line) {
            rc = -ENOMEM;
            break;
        }
        if (k) {
            int fd = open(path, O_WRONLY | O_CLOEXEC);
            if (fd < 0) {
                rc = -errno;
            } else {
                ssize_t n = write(fd, line, ll);
                if (n < 0)
                    rc = -errno;
                else if ((size_t)n != ll)
                    rc = -EIO;
                if (close(fd) < 0 && rc == 0)
                    rc = -errno;
            }
        }
        free(line);
    }
    free(path);
    return rc;
}

int cmd_cancel(const struct ctx *c, const struct args *a)
{
    bool json = c->json;
    const char *const *ids = a->pos;
    size_t nids = a->npos;
    const char *set = a->opt[OPT_SET], *source = a->opt[OPT_SOURCE];
    struct cancel_list l = { 0 };
    int rc = 0, err = 0;
    cJSON *queue = NULL, *status = NULL;

    if (!nids && !set && !source) {
        bt_err("cancel needs task ids, --set S or --source SOURCE");
        return EXIT_USAGE;
    }
    if (source && strcmp(source, "user") != 0 &&
        strcmp(source, "trainer") != 0 && strcmp(source, "seed") != 0) {
        bt_err("--source must be user, trainer or seed, not '%s'", source);
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < nids; i++) {
        char id[40];
        if (bt_task_id_canon(ids[i], id, sizeof id) < 0) {
            bt_err("'%s' is not a task id (task_000042, 000042 or 42)",
                   ids[i]);
            rc = EXIT_USAGE;
            goto out;
        }
        const char *st = task_status(c, id, &err);
        if (!st) {
            bt_err("no task %s: %s", id, err == -ENOENT ? "it does not exist"
                                                      : strerror(-err));
            rc = EXIT_FAIL;
            goto out;
        }
        if (list_add(&l, id, st) < 0)
            goto nomem;
    }
    if (set || source) {
        const cJSON *t, *b;
        if (!(queue = bt_mount_parse(c, "tasks/task_queue.json", &err)) ||
            !(status = bt_mount_parse(c, "status.json", &err))) {
            bt_err("cannot read the queue or status.json under %s: %s",
                   c->mount, strerror(-err));
            rc = EXIT_FAIL;
            goto out;
        }
        cJSON_ArrayForEach(t, queue)
            if (task_matches(t, set, source) &&
                list_add(&l, bt_jstr(t, "id", "?"), "queued") < 0)
                goto nomem;
        cJSON_ArrayForEach(b, bt_jget(status, "builders")) {
            const char *id = bt_jstr(b, "task", NULL);
            char rel[64];
            cJSON *doc;
            if (!id)
                continue;
            snprintf(rel, sizeof rel, "tasks/%s.json", id);
            if ((doc = bt_mount_parse(c, rel, &err)) &&
                strcmp(bt_jstr(doc, "status", ""), "running") == 0 &&
                task_matches(doc, set, source) &&
                list_add(&l, id, "running") < 0) {
                cJSON_Delete(doc);
                goto nomem;
            }
            cJSON_Delete(doc);
        }
    }
    if ((err = control_send(c, &l)) < 0) {
        bt_err("cannot write %s/control: %s", c->mount, strerror(-err));
        rc = EXIT_FAIL;
        goto out;
    }
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON *can = cJSON_AddArrayToObject(o, "cancelled");
        cJSON *s = cJSON_AddArrayToObject(o, "stopping");
        cJSON *u = cJSON_AddArrayToObject(o, "unchanged");
        for (size_t i = 0; o && can && s && u && i < l.n; i++) {
            cJSON *item = cJSON_CreateString(l.id[i]);
            cJSON_AddItemToArray(strcmp(l.how[i], "queued") == 0    ? can
                                 : strcmp(l.how[i], "running") == 0 ? s
                                                                    : u,
                                 item);
        }
        char *txt = o ? cJSON_PrintUnformatted(o) : NULL;
        if (txt)
            puts(txt);
        cJSON_free(txt);
        cJSON_Delete(o);
    } else {
        for (size_t i = 0; i < l.n; i++) {
            if (strcmp(l.how[i], "queued") == 0)
                printf("%s cancelled\n", l.id[i]);
            else if (strcmp(l.how[i], "running") == 0)
                printf("%s running: stops at its next step\n", l.id[i]);
        }
        if (l.n == 0)
            printf("no queued or running task matches\n");
    }
    for (size_t i = 0; i < l.n; i++)
        if (strcmp(l.how[i], "queued") != 0 &&
            strcmp(l.how[i], "running") != 0) {
            bt_err("%s is %s already: left as it is", l.id[i], l.how[i]);
            rc = EXIT_FAIL;
        }
    goto out;
nomem:
    bt_err("out of memory");
    rc = EXIT_FAIL;
out:
    cJSON_Delete(queue);
    cJSON_Delete(status);
    free(l.id);
    free(l.how);
    return rc;
}
