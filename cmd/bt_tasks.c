/* bt_tasks.c -- the task commands of bt: add-task, list-tasks, get-task,
 * and the task ids they and others read (bt_tasks.h).
 *
 * add-task builds the task line from the options and judges it with the
 * task model's own parser (task/task.h) before the mount is touched, then
 * writes it to tasks/new in one write(2) and reads the id back from the
 * same open file.
 */
#include "bt_tasks.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bt.h"
#include "bt_err.h"
#include "bt_mount.h"
#include "bt_render.h"
#include "task/task.h"   /* the task parser, limits and name rules; bt
                              opens no store */

#define DEFAULT_COUNT     20
#define GOAL_WIDTH        60    /* code points of goal shown by list-tasks */

/* ---- Task ids ---------------------------------------------------------------------- */

/* Accepts "task_000042", "000042" or "42" (and "task_42"). Returns 0 and
 * the number, or -EINVAL. */
int bt_task_id_parse(const char *s, uint64_t *id)
{
    uint64_t v = 0;

    if (strncmp(s, "task_", 5) == 0)
        s += 5;
    if (!*s)
        return -EINVAL;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -EINVAL;
        if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return -EINVAL;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *id = v;
    return 0;
}

int bt_task_id_canon(const char *s, char *out, size_t size)
{
    uint64_t v;

    if (bt_task_id_parse(s, &v) < 0 || v == 0)
        return -EINVAL;
    snprintf(out, size, "task_%06" PRIu64, v);
    return 0;
}

/* Recognises directory entries "task_<digits>.json". */
static bool task_file_id(const char *name, uint64_t *id)
{
    size_t len = strlen(name);
    char digits[32];

    if (len < 11 || len - 10 >= sizeof(digits) ||
        strncmp(name, "task_", 5) != 0 || strcmp(name + len - 5, ".json"))
        return false;
    memcpy(digits, name + 5, len - 10);
    digits[len - 10] = '\0';
    return bt_task_id_parse(digits, id) == 0;
}

/* ---- add-task ---------------------------------------------------------------------- */

/* Takes "error: line 1: REASON" (the filesystem's reply) to "REASON". */
static const char *reply_reason(char *reply)
{
    char *r = reply;
    size_t len = strlen(r);

    while (len && (r[len - 1] == '\n' || r[len - 1] == '\r'))
        r[--len] = '\0';
    if (strncmp(r, "error: ", 7) == 0)
        r += 7;
    if (strncmp(r, "line ", 5) == 0) {
        char *p = r + 5;
        while (*p >= '0' && *p <= '9')
            p++;
        if (p > r + 5 && p[0] == ':' && p[1] == ' ')
            r = p + 2;
    }
    return r;
}

/* The number an option gives, as a task field's value: its syntax is
 * checked here, its range by the task parser with every other rule. */
static int option_number(const char *opt, const char *s, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(s, &end);
    if (end == s || *end || errno) {
        bt_err("--%s must be a number, got '%s'", opt, s);
        return EXIT_USAGE;
    }
    return 0;
}

/* Builds the task line from the options and judges it with the task
 * parser, as btfs will: a bad value is refused before the mount is
 * touched. Returns 0 or an exit code. */
static int task_line(const struct args *a, char **line)
{
    static const struct { int opt; const char *name, *field; } nums[] = {
        { OPT_DIFFICULTY, "difficulty", "difficulty" },
        { OPT_PRIORITY, "priority", "priority" },
        { OPT_TIMEOUT, "timeout", "timeout_s" },
    };
    const char *o;
    cJSON *t = cJSON_CreateObject();
    struct task_def def = { 0 };
    char err[300];
    double d;
    int rc = 0;

    if (!t)
        return bt_oom();
    if (!cJSON_AddStringToObject(t, "goal", a->pos[0]))
        goto nomem;
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        if (!(o = a->opt[nums[i].opt]))
            continue;
        if ((rc = option_number(nums[i].name, o, &d)))
            goto out;
        if (!cJSON_AddNumberToObject(t, nums[i].field, d))
            goto nomem;
    }
    if (a->nskills) {
        cJSON *sk = cJSON_AddArrayToObject(t, "skills");
        if (!sk)
            goto nomem;
        for (size_t i = 0; i < a->nskills; i++) {
            cJSON *s = cJSON_CreateString(a->skills[i]);
            if (!s)
                goto nomem;
            cJSON_AddItemToArray(sk, s);
        }
    }
    if ((o = a->opt[OPT_LANGUAGE]) &&
        !cJSON_AddStringToObject(t, "language", o))
        goto nomem;
    if ((o = a->opt[OPT_TESTS]) && !cJSON_AddStringToObject(t, "tests", o))
        goto nomem;
    if ((o = a->opt[OPT_HIDDEN]) &&
        !cJSON_AddStringToObject(t, "hidden_tests", o))
        goto nomem;
    char *j = cJSON_PrintUnformatted(t);
    if (!j)
        goto nomem;
    /* One line: cJSON escapes every control character, newlines included. */
    size_t len = strlen(j);
    rc = task_parse_line(j, len, &def, err, sizeof err);
    task_def_free(&def);
    if (rc < 0) {
        cJSON_free(j);
        if (rc == -ENOMEM)
            goto nomem;
        bt_err("task rejected: %s", err);
        rc = rc == -EFBIG ? EXIT_FAIL : EXIT_USAGE;
        goto out;
    }
    *line = malloc(len + 2);
    if (!*line) {
        cJSON_free(j);
        goto nomem;
    }
    memcpy(*line, j, len);
    memcpy(*line + len, "\n", 2);
    cJSON_free(j);
    goto out;
nomem:
    rc = bt_oom();
out:
    cJSON_Delete(t);
    return rc;
}

int cmd_add_task(const struct ctx *c, const struct args *a)
{
    char *line = NULL, *path = NULL, *reply = NULL;
    int fd = -1, rc;

    if ((rc = task_line(a, &line)))
        return rc;
    size_t len = strlen(line);
    if ((rc = bt_mount_open(c, "tasks/new", O_RDWR, &fd, &path)))
        goto out;
    /* One write(2) holds the whole line, so the filesystem validates and
     * commits it as a unit and answers on this same open file. */
    ssize_t n;
    do
        n = write(fd, line, len);
    while (n < 0 && errno == EINTR);
    int werr = n < 0 ? errno : 0;
    if (n >= 0 && (size_t)n != len) {
        bt_err("short write to %s (%zd of %zu bytes)", path, n, len);
        rc = EXIT_FAIL;
        goto out;
    }
    /* The reply is not part of the written stream: read it from the start
     * if the file can seek, else from where we are. */
    (void)lseek(fd, 0, SEEK_SET);
    int rerr = bt_read_fd(fd, &reply, NULL);
    if (werr) {
        if (rerr == 0 && *reply_reason(reply))
            bt_err("task rejected: %s", reply_reason(reply));
        else
            bt_err("task rejected: %s", strerror(werr));
        rc = EXIT_FAIL;
        goto out;
    }
    if (rerr) {
        bt_err("cannot read the reply from %s: %s", path, strerror(-rerr));
        rc = EXIT_FAIL;
        goto out;
    }
    const char *id = reply_reason(reply);
    if (strncmp(reply, "error", 5) == 0 || strncmp(id, "task_", 5) != 0) {
        bt_err("task not added: %s", *id ? id : "no reply from btfs");
        rc = EXIT_FAIL;
        goto out;
    }
    if (c->json)
        rc = bt_print_json_kv("id", id);
    else
        printf("%s\n", id);
out:
    if (fd >= 0 && close(fd) < 0 && rc == 0) {
        bt_err("closing %s: %s", path, strerror(errno));
        rc = EXIT_FAIL;
    }
    free(reply);
    free(path);
    free(line);
    return rc;
}

/* ---- list-tasks -------------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Collects the ids of tasks/task_*.json in ascending order. */
int bt_task_ids(const struct ctx *c, uint64_t **ids, size_t *n)
{
    char *path = bt_mount_path(c, "tasks");
    DIR *d;
    struct dirent *de;
    size_t cap = 0;
    int rc = 0;

    *ids = NULL;
    *n = 0;
    if (!path)
        return bt_oom();
    if (!(d = opendir(path))) {
        bt_err("cannot list %s: %s", path, strerror(errno));
        free(path);
        return EXIT_FAIL;
    }
    for (;;) {
        uint64_t id;
        errno = 0;
        if (!(de = readdir(d))) {
            if (errno) {
                bt_err("cannot list %s: %s", path, strerror(errno));
                rc = EXIT_FAIL;
            }
            break;
        }
        if (!task_file_id(de->d_name, &id))
            continue;
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 256;
            uint64_t *ni = realloc(*ids, ncap * sizeof(*ni));
            if (!ni) {
                rc = bt_oom();
                break;
            }
            *ids = ni;
            cap = ncap;
        }
        (*ids)[(*n)++] = id;
    }
    closedir(d);
    free(path);
    if (*n)
        qsort(*ids, *n, sizeof(**ids), cmp_u64);
    return rc;
}

static int task_row(struct bt_table *t, const char *name, const cJSON *doc)
{
    const cJSON *score = bt_jget(doc, "score");
    const cJSON *total = cJSON_IsObject(score) ? bt_jget(score, "total")
                                               : score;
    const cJSON *goal = bt_jget(doc, "goal");
    char *g;

    if (bt_table_put_str(t, name) ||
        bt_table_put_value(t, bt_jget(doc, "status")) ||
        bt_table_put_value(t, bt_jget(doc, "source")) ||
        bt_table_put_value(t, bt_jget(doc, "priority")) ||
        bt_table_put_value(t, bt_jget(doc, "attempts")) ||
        bt_table_put_value(t, total))
        return -ENOMEM;
    g = bt_fmt_value(goal);
    if (g)
        bt_u8_truncate(g, GOAL_WIDTH);
    return bt_table_put(t, g);
}

int cmd_list_tasks(const struct ctx *c, const struct args *a)
{
    long count = DEFAULT_COUNT;
    uint64_t *ids;
    size_t n;
    int rc, failed = 0;
    struct bt_table t = { .ncols = 7, .align = "lllrrrl" };
    cJSON *all = NULL;

    if (a->opt[OPT_COUNT] &&
        (rc = bt_parse_long("count", a->opt[OPT_COUNT], 1, LONG_MAX, &count)))
        return rc;
    if ((rc = bt_task_ids(c, &ids, &n)))
        return rc;
    if (c->json) {
        if (!(all = cJSON_CreateArray())) {
            free(ids);
            return bt_oom();
        }
    } else if (bt_table_put_str(&t, "ID") ||
               bt_table_put_str(&t, "STATUS") ||
               bt_table_put_str(&t, "SOURCE") ||
               bt_table_put_str(&t, "PRI") ||
               bt_table_put_str(&t, "ATTEMPTS") ||
               bt_table_put_str(&t, "SCORE") ||
               bt_table_put_str(&t, "GOAL")) {
        rc = bt_oom();
        goto out;
    }
    for (size_t i = n > (size_t)count ? n - (size_t)count : 0; i < n; i++) {
        char rel[64], name[48];
        cJSON *doc;

        snprintf(name, sizeof(name), "task_%06" PRIu64, ids[i]);
        snprintf(rel, sizeof(rel), "tasks/%s.json", name);
        if (bt_mount_load_json(c, rel, &doc, NULL)) {
            failed = 1;     /* named on stderr; show the others */
            continue;
        }
        if (c->json) {
            cJSON_AddItemToArray(all, doc);
            continue;
        }
        int e = task_row(&t, name, doc);
        cJSON_Delete(doc);
        if (e) {
            rc = bt_oom();
            goto out;
        }
    }
    if (c->json)
        rc = bt_print_json(all);
    else if (n == 0)
        puts("no tasks yet");
    else
        bt_table_print(&t);
out:
    cJSON_Delete(all);
    bt_table_free(&t);
    free(ids);
    return rc ? rc : failed ? EXIT_FAIL : 0;
}

/* ---- get-task ---------------------------------------------------------------------- */

/* The store's fields shown before and after the definition's. */
static const char *const TASK_HEAD[] = { "id", "status", "source", NULL };
static const char *const TASK_STATE[] = {
    "attempts", "created_at", "started_at", "finished_at", NULL
};
#define TASK_SHOWN_MAX (TASK_FIELD_COUNT + 8)

/* Fields of a task shown in this order, the rest following as they come:
 * the store's head, the definition's fields every task has in the task
 * model's order (task/task.h; program text gets its own sections below),
 * the store's state. */
static void task_fields_shown(const char *list[TASK_SHOWN_MAX])
{
    const struct task_field_info *f;
    size_t n = 0;

    for (const char *const *h = TASK_HEAD; *h; h++)
        list[n++] = *h;
    for (size_t i = 0; (f = task_field(i)); i++)
        if (!(f->flags & (TASK_FIELD_OPTIONAL | TASK_FIELD_CODE)))
            list[n++] = f->name;
    for (const char *const *st = TASK_STATE; *st; st++)
        list[n++] = *st;
    list[n] = NULL;
}
/* Shown in their own sections at the end. */
static const char *const TASK_SECTIONS[] = {
    "score", "result", "tests", "hidden_tests", NULL
};

static bool in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

/* Lists code_archive/task_N/ (absent means no code yet, not an error). */
static int print_code_files(const struct ctx *c, const char *name)
{
    char *rel = NULL, *path;
    DIR *d;
    struct dirent *de;
    char **files = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    if (asprintf(&rel, "code_archive/%s", name) < 0)
        return bt_oom();
    path = bt_mount_path(c, rel);
    free(rel);
    if (!path)
        return bt_oom();
    if (!(d = opendir(path))) {
        if (errno != ENOENT) {
            bt_err("cannot list %s: %s", path, strerror(errno));
            rc = EXIT_FAIL;
        }
        free(path);
        return rc;
    }
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nf = realloc(files, ncap * sizeof(*nf));
            if (!nf) {
                rc = bt_oom();
                break;
            }
            files = nf;
            cap = ncap;
        }
        if (!(files[n] = strdup(de->d_name))) {
            rc = bt_oom();
            break;
        }
        n++;
    }
    closedir(d);
    if (n)
        qsort(files, n, sizeof(*files), bt_cmp_str);
    if (!rc && n) {
        printf("code:\n");
        for (size_t i = 0; i < n; i++) {
            char *f = bt_clean_text(files[i], true);
            if (!f) {
                rc = bt_oom();
                break;
            }
            printf("    code_archive/%s/%s\n", name, f);
            free(f);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(files[i]);
    free(files);
    free(path);
    return rc;
}

int cmd_get_task(const struct ctx *c, const struct args *a)
{
    uint64_t id;
    char name[48], rel[64];
    char *text = NULL;
    cJSON *doc = NULL;
    int rc;
    const cJSON *e;

    if (bt_task_id_parse(a->pos[0], &id)) {
        bt_err("bad task id '%s' (expected task_000042, 000042 or 42)",
               a->pos[0]);
        return EXIT_USAGE;
    }
    snprintf(name, sizeof(name), "task_%06" PRIu64, id);
    snprintf(rel, sizeof(rel), "tasks/%s.json", name);
    rc = bt_mount_read(c, rel, &text, NULL);
    if (rc == -ENOENT) {
        bt_err("no task %s", name);
        return EXIT_FAIL;
    }
    if (rc < 0) {
        bt_err("cannot read %s/%s: %s", c->mount, rel, strerror(-rc));
        return EXIT_FAIL;
    }
    if (c->json) {
        bt_print_raw(text);
        free(text);
        return 0;
    }
    doc = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(doc)) {
        bt_err("%s/%s is not a JSON object", c->mount, rel);
        cJSON_Delete(doc);
        return EXIT_FAIL;
    }
    int w = 12;
    const char *shown[TASK_SHOWN_MAX];
    task_fields_shown(shown);
    for (const char *const *f = shown; *f && !rc; f++)
        if (strcmp(*f, "id") == 0 && !bt_jget(doc, "id")) {
            printf("%-*s %s\n", w + 1, "id:", name);
        } else {
            rc = bt_print_field(*f, w, bt_jget(doc, *f));
        }
    cJSON_ArrayForEach(e, doc) {
        if (rc || !e->string || in_list(shown, e->string) ||
            in_list(TASK_SECTIONS, e->string))
            continue;
        rc = bt_print_field(e->string, w, e);
    }
    const cJSON *score = bt_jget(doc, "score");
    if (!rc && cJSON_IsObject(score)) {
        char *tot = bt_fmt_value(bt_jget(score, "total"));
        if (!tot) {
            rc = bt_oom();
        } else {
            printf("%-*s %s", w + 1, "score:", tot);
            free(tot);
            const char *sep = " (";
            cJSON_ArrayForEach(e, score) {
                if (!e->string || strcmp(e->string, "total") == 0)
                    continue;
                char *v = bt_fmt_value(e), *k = bt_clean_text(e->string, true);
                if (v && k)
                    printf("%s%s %s", sep, k, v);
                else
                    rc = bt_oom();
                free(v);
                free(k);
                sep = ", ";
            }
            printf("%s\n", sep[0] == ',' ? ")" : "");
        }
    } else if (!rc) {
        rc = bt_print_field("score", w, score);
    }
    const cJSON *result = bt_jget(doc, "result");
    if (!rc && cJSON_IsObject(result) && cJSON_GetArraySize(result)) {
        printf("result:\n");
        rc = bt_print_tree(result, 4);
    } else if (!rc) {
        rc = bt_print_field("result", w, result);
    }
    for (const char *const *f = TASK_SECTIONS + 2; *f && !rc; f++) {
        const cJSON *v = bt_jget(doc, *f);
        if (cJSON_IsString(v) && *v->valuestring &&
            !strchr(v->valuestring, '\n')) {
            /* Single-line tests still get their own block: it is code. */
            char *s = bt_clean_text(v->valuestring, false);
            if (!s) {
                rc = bt_oom();
                break;
            }
            printf("%s:\n    %s\n", *f, s);
            free(s);
        } else {
            rc = bt_print_field(*f, w, v);
        }
    }
    if (!rc)
        rc = print_code_files(c, name);
    cJSON_Delete(doc);
    return rc;
}

