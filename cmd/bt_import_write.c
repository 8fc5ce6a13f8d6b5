/* bt_import_write.c -- bt import: reads the file, converts it (bt_import.c),
 * drops the problems already queued, and writes the tasks to tasks/new.
 *
 * The conversion is pure text work; this file is the part that touches the
 * mount: eval/SET.json to skip what is already in a set, the batched
 * writes and their replies, and the summary.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bt.h"
#include "bt_err.h"
#include "bt_import.h"
#include "bt_mount.h"
#include "bt_render.h"
#include "bt_tasks.h"
#include "task/task.h"   /* set name rules, TASK_MAX_ATTEMPTS */

/* bt import writes at most this many lines, and bytes, per write(2): each
 * write is one atomic, durable transaction in btfs, and the kernel hands a
 * write of up to 1 MiB to btfs in one piece. */
#define IMPORT_BATCH_LINES 100
#define IMPORT_BATCH_BYTES (1024 * 1024)

/* ---- import ------------------------------------------------------------------------ */

/* Takes the reply to a refused write ("error: line K: REASON") to K and
 * REASON; K is 0 if the reply names no line. */
static const char *reply_error(char *reply, size_t *k)
{
    char *r = reply, *nl;

    *k = 0;
    /* The reply to one write: its first error is the one that counts. */
    if ((nl = strchr(r, '\n')))
        *nl = '\0';
    if (strncmp(r, "error: ", 7) == 0)
        r += 7;
    if (strncmp(r, "line ", 5) == 0) {
        char *p = r + 5;
        size_t v = 0;
        while (*p >= '0' && *p <= '9' && v < SIZE_MAX / 10)
            v = v * 10 + (size_t)(*p++ - '0');
        if (p > r + 5 && p[0] == ':' && p[1] == ' ') {
            *k = v;
            r = p + 2;
        }
    }
    return r;
}

static void import_problem(const char *file, size_t line, const char *sid,
                           const char *what, const char *reason)
{
    char *s = bt_clean_text(reason, true), *id = sid ? bt_clean_text(sid, true)
                                                   : NULL;

    bt_err("%s: line %zu%s%s%s: %s%s", file, line, id ? " (" : "",
           id ? id : "", id ? ")" : "", what, s ? s : "?");
    free(id);
    free(s);
}

/* Writes one batch, items [first, end) that are not dropped, in one
 * write(2) and reads the reply. Returns 0 (ids set), 1 (btfs refused the
 * item *bad; its refusal set), or an exit code after saying what failed. */
static int import_batch(int fd, const char *path, struct bt_import_set *s,
                        size_t first, size_t end, size_t *bad)
{
    size_t len = 0, n = 0;
    char *buf, *reply = NULL;
    int rc = 0;

    for (size_t i = first; i < end; i++)
        if (!s->items[i].dropped)
            len += s->items[i].len + 1;
    if (!(buf = malloc(len + 1)))
        return bt_oom();
    len = 0;
    for (size_t i = first; i < end; i++) {
        if (s->items[i].dropped)
            continue;
        memcpy(buf + len, s->items[i].task, s->items[i].len);
        len += s->items[i].len;
        buf[len++] = '\n';
        n++;
    }
    ssize_t w;
    do
        w = write(fd, buf, len);
    while (w < 0 && errno == EINTR);
    int werr = w < 0 ? errno : 0;
    free(buf);
    if (w >= 0 && (size_t)w != len) {
        bt_err("short write to %s (%zd of %zu bytes)", path, w, len);
        return EXIT_FAIL;
    }
    (void)lseek(fd, 0, SEEK_SET);
    int rerr = bt_read_fd(fd, &reply, NULL);
    if (rerr == -ENOMEM)
        return bt_oom();
    if (werr) {
        size_t k = 0;
        const char *why = rerr == 0 && *reply ? reply_error(reply, &k)
                                              : strerror(werr);
        /* The K-th line of this write is the K-th item not dropped. */
        for (size_t i = first; k && i < end; i++) {
            if (s->items[i].dropped || --k)
                continue;
            if (!(s->items[i].refusal = strdup(why)))
                rc = bt_oom();
            else
                *bad = i;
            free(reply);
            return rc ? rc : 1;
        }
        bt_err("writing %s: %s", path, why);
        free(reply);
        return EXIT_FAIL;
    }
    if (rerr) {
        bt_err("cannot read the reply from %s: %s", path, strerror(-rerr));
        return EXIT_FAIL;
    }
    /* One id a line, in the order written. */
    char *save = NULL, *tok = strtok_r(reply, "\n", &save);
    size_t got = 0;
    for (size_t i = first; i < end && tok; i++) {
        uint64_t id;
        if (s->items[i].dropped)
            continue;
        if (strncmp(tok, "task_", 5) != 0 || bt_task_id_parse(tok, &id)) {
            char *t = bt_clean_text(tok, true);
            bt_err("unexpected reply from %s: '%s'", path, t ? t : "?");
            free(t);
            free(reply);
            return EXIT_FAIL;
        }
        if (!(s->items[i].id = strdup(tok))) {
            free(reply);
            return bt_oom();
        }
        got++;
        tok = strtok_r(NULL, "\n", &save);
    }
    free(reply);
    if (got != n) {
        bt_err("%s answered %zu ids for %zu tasks", path, got, n);
        return EXIT_FAIL;
    }
    return 0;
}

/* Prints the ids as ranges of consecutive numbers:
 * "task_000012..task_000175" (another writer's tasks may split it). */
static void print_id_ranges(const struct bt_import_set *s)
{
    uint64_t lo = 0, hi = 0, id;
    bool open = false;
    const char *sep = "";

    for (size_t i = 0; i <= s->nitems; i++) {
        bool have = i < s->nitems && s->items[i].id &&
                    bt_task_id_parse(s->items[i].id, &id) == 0;
        if (have && open && id == hi + 1) {
            hi = id;
            continue;
        }
        if (open && (have || i == s->nitems)) {
            printf("%stask_%06" PRIu64, sep, lo);
            if (hi != lo)
                printf("..task_%06" PRIu64, hi);
            sep = ", ";
            open = false;
        }
        if (have) {
            lo = hi = id;
            open = true;
        }
    }
    putchar('\n');
}

static int import_report_json(const struct bt_import_set *s)
{
    cJSON *o = cJSON_CreateObject(), *imp, *skip, *pres, *e;
    int rc;

    if (!o || !(imp = cJSON_AddArrayToObject(o, "imported")) ||
        !(skip = cJSON_AddArrayToObject(o, "skipped")) ||
        !(pres = cJSON_AddArrayToObject(o, "already_present")))
        goto nomem;
    for (size_t i = 0; i < s->nitems; i++) {
        const struct bt_import_item *it = &s->items[i];
        if (it->present || it->repeat_of) {
            char *why = NULL;
            if (!(e = cJSON_CreateObject()))
                goto nomem;
            cJSON_AddItemToArray(it->present ? pres : skip, e);
            if (it->repeat_of &&
                asprintf(&why, "the same problem as line %zu", it->repeat_of)
                < 0)
                goto nomem;
            bool ok = cJSON_AddNumberToObject(e, "line", (double)it->line) &&
                (it->source_id ? cJSON_AddStringToObject(e, "source_id",
                                                        it->source_id)
                               : cJSON_AddNullToObject(e, "source_id")) &&
                cJSON_AddStringToObject(e, "set", it->set) &&
                (it->present ? cJSON_AddStringToObject(e, "task", it->present)
                             : cJSON_AddStringToObject(e, "error", why));
            free(why);
            if (!ok)
                goto nomem;
            continue;
        }
        if (!it->id && !it->refusal)
            continue;   /* never written: the import stopped before it */
        if (!(e = cJSON_CreateObject()))
            goto nomem;
        cJSON_AddItemToArray(it->id ? imp : skip, e);
        if (!cJSON_AddNumberToObject(e, "line", (double)it->line) ||
            !(it->source_id ? cJSON_AddStringToObject(e, "source_id",
                                                      it->source_id)
                            : cJSON_AddNullToObject(e, "source_id")) ||
            !(it->id ? cJSON_AddStringToObject(e, "id", it->id)
                     : cJSON_AddStringToObject(e, "error", it->refusal)))
            goto nomem;
    }
    for (size_t i = 0; i < s->nproblems; i++) {
        const struct bt_import_problem *pr = &s->problems[i];
        if (!(e = cJSON_CreateObject()))
            goto nomem;
        cJSON_AddItemToArray(skip, e);
        if (!cJSON_AddNumberToObject(e, "line", (double)pr->line) ||
            !(pr->source_id ? cJSON_AddStringToObject(e, "source_id",
                                                      pr->source_id)
                            : cJSON_AddNullToObject(e, "source_id")) ||
            !cJSON_AddStringToObject(e, "error", pr->reason))
            goto nomem;
    }
    rc = bt_print_json(o);
    cJSON_Delete(o);
    return rc;
nomem:
    cJSON_Delete(o);
    return bt_oom();
}

/* Writes the converted tasks to tasks/new in batches. A line btfs refuses
 * (bt runs btfs's own task parser on every line beforehand, so only a btfs
 * of another version would) stops the import, the batches before it being
 * already queued -- or, with --skip-bad, is left out and its batch written
 * again. */
static int import_write(const struct ctx *c, const char *file,
                        struct bt_import_set *s, bool skip)
{
    char *path;
    size_t first = 0, imported = 0, refused = 0;
    int fd, rc;

    if ((rc = bt_mount_open(c, "tasks/new", O_RDWR, &fd, &path)))
        return rc;
    while (first < s->nitems) {
        size_t end = bt_import_batch_end(s, first, IMPORT_BATCH_LINES,
                                         IMPORT_BATCH_BYTES), bad = 0;
        rc = import_batch(fd, path, s, first, end, &bad);
        if (rc == 1) {
            struct bt_import_item *it = &s->items[bad];
            import_problem(file, it->line, it->source_id, "refused by btfs: ",
                           it->refusal);
            refused++;
            rc = 0;
            if (skip) {
                it->dropped = true;
                continue;   /* the same batch again, without it */
            }
            rc = EXIT_FAIL;
        }
        if (rc)
            break;
        first = end;
    }
    if (close(fd) < 0 && !rc) {
        bt_err("closing %s: %s", path, strerror(errno));
        rc = EXIT_FAIL;
    }
    for (size_t i = 0; i < s->nitems; i++)
        imported += s->items[i].id != NULL;
    if (rc && first < s->nitems) {
        size_t line = s->items[first].line;
        bt_err("import stopped: the tasks from line %zu on were not written"
               "%s", line, imported ? "; those before are queued" : "");
    }
    if (c->json) {
        int e = import_report_json(s);
        rc = rc ? rc : e;
    } else if (imported) {
        printf("imported %zu task%s: ", imported, imported == 1 ? "" : "s");
        print_id_ranges(s);
    } else {
        printf("imported no tasks\n");
    }
    if (!rc && refused + s->nproblems)
        bt_err("skipped %zu problem%s (see above)", refused + s->nproblems,
               refused + s->nproblems == 1 ? "" : "s");
    free(path);
    return rc ? rc : imported ? 0 : EXIT_FAIL;
}

/* Reads the problem ids already in set 'set' (eval/SET.json "tasks")
 * and drops the items that hold one of them. A set with no file yet has
 * none. Returns how many were dropped, or -1 after saying what failed. */
static long import_skip_set(const struct ctx *c, struct bt_import_set *s,
                            const char *set)
{
    struct bt_import_present *p = NULL;
    const cJSON *tasks, *e;
    char *rel, *buf = NULL;
    cJSON *doc = NULL;
    size_t n = 0;
    long dropped = -1;
    int rc;

    if (asprintf(&rel, "eval/%s.json", set) < 0) {
        bt_oom();
        return -1;
    }
    rc = bt_mount_read(c, rel, &buf, NULL);
    if (rc == -ENOENT) {
        dropped = 0;    /* a set no task of which was ever queued */
        goto out;
    }
    if (rc) {
        bt_err("cannot read %s/%s (to skip the problems already in set "
               "'%s'): %s", c->mount, rel, set, strerror(-rc));
        goto out;
    }
    if (!(doc = cJSON_Parse(buf)) ||
        !cJSON_IsArray(tasks = bt_jget(doc, "tasks"))) {
        bt_err("%s/%s holds no list of tasks: cannot tell which problems "
               "are already in set '%s'", c->mount, rel, set);
        goto out;
    }
    if (!(p = calloc((size_t)cJSON_GetArraySize(tasks) + 1, sizeof(*p)))) {
        bt_oom();
        goto out;
    }
    cJSON_ArrayForEach(e, tasks) {
        const cJSON *pid = bt_jget(e, "problem_id"), *t = bt_jget(e, "task");
        if (cJSON_IsString(pid))
            p[n++] = (struct bt_import_present){
                pid->valuestring, cJSON_IsString(t) ? t->valuestring : NULL };
    }
    if ((dropped = bt_import_skip_present(s, set, p, n)) < 0) {
        bt_oom();
        dropped = -1;
    }
out:
    free(p);
    cJSON_Delete(doc);
    free(buf);
    free(rel);
    return dropped;
}

/* Drops what must not be queued twice: a problem given twice in the file,
 * and (unless dry) one already in its set on the mount. Says so for each,
 * then counts them. Returns 0 or an exit code. */
static int import_skip(const struct ctx *c, const char *file,
                       struct bt_import_set *s, bool dry, size_t *skipped)
{
    long n = bt_import_skip_repeats(s);

    if (n < 0)
        return bt_oom();
    *skipped = (size_t)n;
    for (size_t i = 0; !dry && i < s->nitems; i++) {
        const char *set = s->items[i].set;
        bool seen = false;
        /* A bad name in a task line is btfs's to refuse, not a file to
         * look for. */
        if (!set || !s->items[i].problem_id || !task_set_name_ok(set))
            continue;
        for (size_t j = 0; j < i && !seen; j++)
            seen = s->items[j].set && s->items[j].problem_id &&
                   strcmp(s->items[j].set, set) == 0;
        if (seen)
            continue;
        if ((n = import_skip_set(c, s, set)) < 0)
            return EXIT_FAIL;
        *skipped += (size_t)n;
    }
    for (size_t i = 0; i < s->nitems; i++) {
        const struct bt_import_item *it = &s->items[i];
        char *why = NULL;
        int k = -1;
        if (it->present)
            k = asprintf(&why, "already in set %s as %s, skipped", it->set,
                         it->present);
        else if (it->repeat_of)
            k = asprintf(&why, "the same problem as line %zu (set %s), "
                         "skipped", it->repeat_of, it->set);
        else
            continue;
        if (k < 0)
            return bt_oom();
        import_problem(file, it->line, it->source_id, "", why);
        free(why);
    }
    if (*skipped)
        bt_err("%zu problem%s already in %s set%s skipped (import under a "
               "new --set NAME to run them again)", *skipped,
               *skipped == 1 ? "" : "s", *skipped == 1 ? "its" : "their",
               *skipped == 1 ? " was" : "s were");
    return 0;
}

int cmd_import(const struct ctx *c, const struct args *a)
{
    enum bt_import_format fmt = BT_IMPORT_TASKS;
    const char *file = a->pos[0], *set = a->opt[OPT_SET];
    bool dry = a->opt[OPT_DRY_RUN] != NULL, skip = a->opt[OPT_SKIP_BAD];
    struct bt_import_opts opts = {
        .set = set, .train = a->opt[OPT_TRAIN] != NULL,
        .no_memory = a->opt[OPT_NO_MEMORY] != NULL,
    };
    struct bt_import_set s = { 0 };
    char *buf = NULL;
    size_t len = 0, skipped = 0;
    int fd, rc;

    if (a->opt[OPT_FORMAT] && bt_import_format_parse(a->opt[OPT_FORMAT],
                                                     &fmt)) {
        bt_err("--format must be tasks, humaneval or mbpp, got '%s'",
               a->opt[OPT_FORMAT]);
        return EXIT_USAGE;
    }
    if (a->nsets > 1) {
        bt_err("import takes one --set");
        return bt_usage_hint();
    }
    if (set && !task_set_name_ok(set)) {
        bt_err("--set must be 1 to %d characters of a-z, 0-9, '_', '-' and "
               "'.', the first a letter or digit, got '%s'", TASK_MAX_SET_LEN,
               set);
        return EXIT_USAGE;
    }
    if (a->opt[OPT_MAX_ATTEMPTS]) {
        long v;
        if ((rc = bt_parse_long("max-attempts", a->opt[OPT_MAX_ATTEMPTS], 1,
                                TASK_MAX_ATTEMPTS, &v)))
            return rc;
        opts.max_attempts = (int)v;
    }
    fd = strcmp(file, "-") == 0 ? STDIN_FILENO
                                : open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        bt_err("cannot open %s: %s", file, strerror(errno));
        return EXIT_FAIL;
    }
    rc = bt_read_fd(fd, &buf, &len);
    if (fd != STDIN_FILENO)
        close(fd);
    if (rc == -ENOMEM)
        return bt_oom();
    if (rc) {
        bt_err("cannot read %s: %s", file, strerror(-rc));
        return EXIT_FAIL;
    }
    rc = bt_import_parse(buf, len, fmt, &opts, &s);
    free(buf);
    if (rc) {
        bt_import_set_free(&s);
        return bt_oom();
    }
    for (size_t i = 0; i < s.nproblems; i++)
        import_problem(file, s.problems[i].line, s.problems[i].source_id, "",
                       s.problems[i].reason);
    if (s.nproblems && !skip) {
        bt_err("nothing imported: %zu line%s of %s cannot be imported (fix "
               "%s, or pass --skip-bad to import the others)", s.nproblems,
               s.nproblems == 1 ? "" : "s", file,
               s.nproblems == 1 ? "it" : "them");
        rc = EXIT_FAIL;
    } else if (s.nitems == 0) {
        bt_err("%s holds no %s problems to import", file,
               bt_import_format_name(fmt));
        rc = EXIT_FAIL;
    } else if ((rc = import_skip(c, file, &s, dry, &skipped))) {
        /* said */
    } else if (dry) {
        for (size_t i = 0; i < s.nitems; i++)
            if (!s.items[i].dropped)
                printf("%s\n", s.items[i].task);
        if (s.nproblems)
            bt_err("would skip %zu problem%s (see above)", s.nproblems,
                   s.nproblems == 1 ? "" : "s");
    } else if (skipped == s.nitems) {
        /* Safe to run again: nothing new is no failure. */
        if (c->json)
            rc = import_report_json(&s);
        else
            printf("imported no tasks: all %zu problem%s already in %s "
                   "set\n", skipped, skipped == 1 ? " is" : "s are",
                   skipped == 1 ? "its" : "their");
    } else {
        rc = import_write(c, file, &s, skip);
    }
    bt_import_set_free(&s);
    return rc;
}

