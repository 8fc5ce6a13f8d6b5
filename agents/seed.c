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
    struct store_task_new *tasks;
    char **defs;
    size_t n;
    size_t cap;
};

static int collect(void *ctx, const char *json)
{
    struct batch *b = ctx;
    cJSON *o = cJSON_Parse(json);
    char *def;

    if (!cJSON_IsObject(o) ||
        !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "goal"))) {
        cJSON_Delete(o);
        return -EINVAL;
    }
    def = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!def)
        return -ENOMEM;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        struct store_task_new *t = realloc(b->tasks, cap * sizeof *t);
        char **d = t ? realloc(b->defs, cap * sizeof *d) : NULL;
        if (t)
            b->tasks = t;
        if (!d) {
            free(def);
            return -ENOMEM;
        }
        b->defs = d;
        b->cap = cap;
    }
    b->defs[b->n] = def;
    b->tasks[b->n] = (struct store_task_new){ def, 0, STORE_SOURCE_SEED };
    b->n++;
    return 0;
}

int seed_load(struct store *st, size_t *added)
{
    struct batch b = { 0 };
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
        free(b.defs[i]);
    free(b.defs);
    free(b.tasks);
    return rc;
}
