/* resume.c -- a task's progress as a JSON document of the store.
 *
 *   {"tests_done": true, "tests": "..." | null, "llm_failures": 1,
 *    "attempts": [{"code": "..." | null, "problem": "..." | null,
 *                  "rule": 0}, ...],
 *    "usage": {"llm_calls": 3, ...}}
 */
#include "resume.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#define NAME_PREFIX "resume_"

static void doc_name(uint64_t id, char *buf, size_t len)
{
    char name[STORE_ID_MAX];

    snprintf(buf, len, NAME_PREFIX "%s", store_id_format(id, name));
}

static cJSON *str_or_null(const char *s)
{
    return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

/* The usage fields, in one table so that saving and loading agree. */
#define USAGE_FIELDS(X)                                                     \
    X(llm_calls) X(llm_requests) X(prompt_tokens) X(completion_tokens)      \
    X(prompt_evaluated) X(prompt_cached) X(timed_calls) X(llm_ms)           \
    X(sandbox_runs) X(sandbox_ms) X(work_ms)

int resume_save(struct store *st, uint64_t id, const struct resume *r)
{
    char name[64];
    cJSON *o = cJSON_CreateObject(), *a, *u;
    char *text = NULL;
    int bad = !o, rc;

    bad |= bad || !cJSON_AddBoolToObject(o, "tests_done", r->tests_done);
    bad |= bad || !cJSON_AddItemToObject(o, "tests", str_or_null(r->tests));
    bad |= bad || !cJSON_AddNumberToObject(o, "llm_failures",
                                           r->llm_failures);
    bad |= bad || !(a = cJSON_AddArrayToObject(o, "attempts"));
    for (unsigned i = 0; !bad && i < r->natt; i++) {
        cJSON *e = cJSON_CreateObject();
        bad |= !e || !cJSON_AddItemToArray(a, e);
        if (bad) {
            cJSON_Delete(e);
            break;
        }
        bad |= !cJSON_AddItemToObject(e, "code", str_or_null(r->att[i].code));
        bad |= !cJSON_AddItemToObject(e, "problem",
                                      str_or_null(r->att[i].problem));
        bad |= !cJSON_AddNumberToObject(e, "rule", r->att[i].rule);
    }
    bad |= bad || !(u = cJSON_AddObjectToObject(o, "usage"));
#define PUT(f) bad |= bad || !cJSON_AddNumberToObject(u, #f, (double)r->usage.f);
    USAGE_FIELDS(PUT)
#undef PUT
    if (!bad)
        text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text)
        return -ENOMEM;
    doc_name(id, name, sizeof name);
    rc = store_doc_put(st, name, text);
    free(text);
    return rc;
}

static int dup_or_null(const cJSON *v, char **out)
{
    *out = NULL;
    if (cJSON_IsNull(v) || !v)
        return 0;
    if (!cJSON_IsString(v))
        return -EINVAL;
    return (*out = strdup(v->valuestring)) ? 0 : -ENOMEM;
}

int resume_load(struct store *st, uint64_t id, unsigned max_att,
                struct resume *r)
{
    char name[64], *text = NULL;
    cJSON *o, *a, *e, *u;
    int rc;

    memset(r, 0, sizeof *r);
    doc_name(id, name, sizeof name);
    if ((rc = store_doc_get(st, name, &text, NULL)) < 0)
        return rc;
    o = cJSON_Parse(text);
    free(text);
    a = cJSON_GetObjectItemCaseSensitive(o, "attempts");
    if (!cJSON_IsObject(o) || !cJSON_IsArray(a)) {
        cJSON_Delete(o);
        return -EINVAL;
    }
    r->tests_done = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
        o, "tests_done"));
    rc = dup_or_null(cJSON_GetObjectItemCaseSensitive(o, "tests"), &r->tests);
    e = cJSON_GetObjectItemCaseSensitive(o, "llm_failures");
    r->llm_failures = cJSON_IsNumber(e) && e->valuedouble >= 0
                          ? (unsigned)e->valuedouble : 0;
    r->att = calloc(max_att ? max_att : 1, sizeof *r->att);
    if (rc == 0 && !r->att)
        rc = -ENOMEM;
    cJSON_ArrayForEach(e, a) {
        if (rc < 0 || r->natt >= max_att)
            break;
        struct resume_attempt *t = &r->att[r->natt++];
        const cJSON *rule = cJSON_GetObjectItemCaseSensitive(e, "rule");
        if ((rc = dup_or_null(cJSON_GetObjectItemCaseSensitive(e, "code"),
                              &t->code)) == 0)
            rc = dup_or_null(cJSON_GetObjectItemCaseSensitive(e, "problem"),
                             &t->problem);
        t->rule = cJSON_IsNumber(rule) ? rule->valueint : 0;
    }
    u = cJSON_GetObjectItemCaseSensitive(o, "usage");
#define GET(f)                                                              \
    {                                                                       \
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(u, #f);           \
        if (cJSON_IsNumber(v) && v->valuedouble >= 0)                       \
            r->usage.f = (__typeof__(r->usage.f))v->valuedouble;            \
    }
    USAGE_FIELDS(GET)
#undef GET
    cJSON_Delete(o);
    if (rc < 0)
        resume_free(r);
    return rc;
}

int resume_clear(struct store *st, uint64_t id)
{
    char name[64];
    int rc;

    doc_name(id, name, sizeof name);
    rc = store_doc_del(st, name);
    return rc == -ENOENT ? 0 : rc;
}

/* The task ids named by resume documents, gathered in a view. */
struct sweep {
    uint64_t *ids;
    size_t n, cap;
};

static int sweep_cb(void *c, uint64_t key, const char *val, size_t len)
{
    struct sweep *sw = c;
    size_t pl = sizeof NAME_PREFIX - 1;
    uint64_t id;

    (void)key;
    if (len <= pl || store_id_parse(val + pl, len - pl, &id) < 0)
        return 0;               /* not one of ours: left alone */
    if (sw->n == sw->cap) {
        size_t cap = sw->cap ? sw->cap * 2 : 64;
        uint64_t *ids = realloc(sw->ids, cap * sizeof *ids);
        if (!ids)
            return -ENOMEM;
        sw->ids = ids;
        sw->cap = cap;
    }
    sw->ids[sw->n++] = id;
    return 0;
}

int resume_sweep(struct store *st, size_t *removed)
{
    struct sweep sw = { 0 };
    struct store_view *v;
    size_t gone = 0;
    int rc;

    *removed = 0;
    if ((rc = store_view_begin(st, &v)) < 0)
        return rc;
    rc = store_view_doc_names(v, NAME_PREFIX "task_", sweep_cb, &sw);
    /* Keep the ids whose task may still be taken up again; the others
     * (finished, cancelled while queued, gone) are moved to the front. */
    for (size_t i = 0; rc == 0 && i < sw.n; i++) {
        enum store_status status;
        int trc = store_view_task_state(v, sw.ids[i], &status, NULL);
        if (trc < 0 && trc != -ENOENT) {
            rc = trc;
            break;
        }
        if (trc == -ENOENT || (status != STORE_STATUS_QUEUED &&
                               status != STORE_STATUS_RUNNING))
            sw.ids[gone++] = sw.ids[i];
    }
    store_view_end(v);
    for (size_t i = 0; rc == 0 && i < gone; i++)
        if ((rc = resume_clear(st, sw.ids[i])) == 0)
            (*removed)++;
    free(sw.ids);
    return rc;
}

void resume_free(struct resume *r)
{
    for (unsigned i = 0; r->att && i < r->natt; i++) {
        free(r->att[i].code);
        free(r->att[i].problem);
    }
    free(r->att);
    free(r->tests);
    memset(r, 0, sizeof *r);
}
