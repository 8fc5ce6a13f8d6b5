/* seed.c -- the seed curriculum: enqueued once per store.
 *
 * The "seed" document, which says the curriculum was loaded, is written in
 * the transaction that enqueues it (store_task_enqueue_marked): a crash
 * leaves both or neither, so the curriculum is never queued twice.
 */
#include "seed.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "task.h"

int seed_each(const char *skill, int (*fn)(void *ctx, const char *json),
              void *ctx)
{
    const char *p = seed_curriculum;

    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *line = strndup(p, len);
        int rc = 0;

        if (!line)
            return -ENOMEM;
        if (len > 0 && line[0] == '{') {
            cJSON *o = skill ? cJSON_Parse(line) : NULL;
            int match = !skill;
            const cJSON *s;
            cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(o,
                                                                  "skills"))
                if (cJSON_IsString(s) && strcmp(s->valuestring, skill) == 0)
                    match = 1;
            cJSON_Delete(o);
            if (match)
                rc = fn(ctx, line);
        }
        free(line);
        if (rc)
            return rc;
        p += len + (nl ? 1 : 0);
    }
    return 0;
}

struct batch {
    struct store *st;               /* for the log of refused lines       */
    struct store_task_new *tasks;
    struct task_def *defs;
    size_t n;
    size_t cap;
    size_t line;                    /* of the curriculum, from 1          */
};

/* Takes one curriculum line through the task parser, with the internal
 * fields (reference, id_hint): seed tasks pass the same checks as a
 * user's. A line it refuses is logged and left out. */
static int collect(void *ctx, const char *json)
{
    struct batch *b = ctx;
    struct task_def def = { 0 };
    char err[300], line[400];
    int rc;

    b->line++;
    rc = task_parse_line_flags(json, strlen(json), TASK_PARSE_INTERNAL,
                               &def, err, sizeof err);
    if (rc == -ENOMEM)
        return rc;
    if (rc < 0) {
        snprintf(line, sizeof line, "seed: curriculum task %zu refused by "
                 "the task parser: %s", b->line, err);
        store_log_append(b->st, STORE_LOG_SYSTEM, line);
        return 0;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        struct store_task_new *t = realloc(b->tasks, cap * sizeof *t);
        struct task_def *d = t ? realloc(b->defs, cap * sizeof *d) : NULL;
        if (t)
            b->tasks = t;
        if (!d) {
            task_def_free(&def);
            return -ENOMEM;
        }
        b->defs = d;
        b->cap = cap;
    }
    b->defs[b->n] = def;
    b->tasks[b->n] = (struct store_task_new){ def.json, def.priority,
                                              STORE_SOURCE_SEED };
    b->n++;
    return 0;
}

int seed_load(struct store *st, size_t *added)
{
    struct batch b = { .st = st };
    char *doc = NULL, when[32], text[128];
    int rc;

    *added = 0;
    rc = store_doc_get(st, "seed", &doc, NULL);
    free(doc);
    if (rc == 0)
        return 0;
    if (rc != -ENOENT)
        return rc;
    if ((rc = seed_each(NULL, collect, &b)) == 0) {
        snprintf(text, sizeof text, "{\"loaded_at\":\"%s\",\"tasks\":%zu}",
                 store_time_format(time(NULL), when), b.n);
        rc = store_task_enqueue_marked(st, b.tasks, b.n, NULL, "seed", text);
        if (rc == 0)
            *added = b.n;
        else if (rc == -EEXIST)
            rc = 0;                 /* loaded meanwhile: once is enough */
    }
    for (size_t i = 0; i < b.n; i++)
        task_def_free(&b.defs[i]);
    free(b.defs);
    free(b.tasks);
    return rc;
}
