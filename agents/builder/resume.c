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
    X(sandbox_runs) X(sandbox_ms)

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
