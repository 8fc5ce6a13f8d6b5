/* trainer_observe.c -- the Trainer reading the Builder's results: each
 * new score-log entry with its task (outcome, failure kind, source) goes
 * into the plan, and every few results an analysis is written with the
 * documents it feeds (current_difficulty, strategy_weights,
 * internal_biases).
 */
#include "trainer_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "failure.h"

static int copy_cb(void *ctx, uint64_t key, const char *val, size_t len)
{
    char **out = ctx;

    (void)key;
    *out = strndup(val, len);
    return *out ? 0 : -ENOMEM;
}

/* --- observing results --------------------------------------------------- */

/* How a failed task failed: the kind the Builder recorded in its result
 * (failure.h). A result without one (written before the Builder recorded
 * kinds) counts as "other". */
static enum failure_kind failure_of(const cJSON *task)
{
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(task, "result");
    enum failure_kind k = FAILURE_OTHER;

    if (failure_kind_parse(trainer_jstr(result, "failure"), &k) < 0 ||
        k == FAILURE_NONE)
        k = FAILURE_OTHER;          /* failed, so not "none" */
    return k;
}

struct observe_ctx {
    struct trainer *t;
    uint64_t *ids;                  /* task ids of the new score entries */
    uint64_t *keys;
    size_t n;
    size_t cap;
};

static int score_cb(void *ctx, uint64_t key, const char *val, size_t len)
{
    struct observe_ctx *c = ctx;
    cJSON *e = cJSON_ParseWithLength(val, len);
    const char *task = trainer_jstr(e, "task");
    uint64_t id;

    if (task && store_id_parse(task, strlen(task), &id) == 0) {
        if (c->n == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 32;
            uint64_t *ids = realloc(c->ids, cap * sizeof *ids);
            uint64_t *keys = ids ? realloc(c->keys, cap * sizeof *keys)
                                 : NULL;
            if (ids)
                c->ids = ids;
            if (!keys) {
                cJSON_Delete(e);
                return -ENOMEM;
            }
            c->keys = keys;
            c->cap = cap;
        }
        c->ids[c->n] = id;
        c->keys[c->n++] = key;
    }
    cJSON_Delete(e);
    return 0;
}

/* Feeds one finished task to the plan. */
static void observe_task(struct trainer *t, const char *json)
{
    cJSON *task = cJSON_Parse(json);
    const cJSON *it, *score, *details;
    const char *skills[PLAN_RESULT_SKILLS_MAX];
    const char *lowered[PLAN_RESULT_REASONS_MAX];
    size_t nskills = 0, nlowered = 0;
    struct plan_result r = { 0 };
    const char *status = trainer_jstr(task, "status");
    const char *source = trainer_jstr(task, "source");
    const char *strategy = trainer_jstr(
                cJSON_GetObjectItemCaseSensitive(task, "trainer"), "strategy");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(task, "difficulty");

    if (!status || (strcmp(status, "passed") && strcmp(status, "failed")))
        goto out;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(task, "skills"))
        if (cJSON_IsString(it) && nskills < PLAN_RESULT_SKILLS_MAX &&
            plan_skill_name_check(it->valuestring) == 0)
            skills[nskills++] = it->valuestring;
    if (nskills == 0)
        goto out;           /* a task of no skill teaches the plan nothing */
    score = cJSON_GetObjectItemCaseSensitive(task, "score");
    details = cJSON_GetObjectItemCaseSensitive(score, "details");
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(details,
                                                            "lowered"))
        if (cJSON_IsString(it) && nlowered < PLAN_RESULT_REASONS_MAX)
            lowered[nlowered++] = it->valuestring;
    r.skills = skills;
    r.nskills = nskills;
    r.difficulty = cJSON_IsNumber(d) && d->valuedouble >= 0 &&
                   d->valuedouble <= 1 ? d->valuedouble : 0.5;
    r.passed = strcmp(status, "passed") == 0;
    r.failure = r.passed ? FAILURE_NONE : failure_of(task);
    r.lowered = nlowered ? lowered : NULL;
    r.nlowered = nlowered;
    if (!source || plan_source_from_name(source, &r.source) < 0)
        r.source = PLAN_SRC_USER;
    if (!strategy || plan_strategy_from_name(strategy, &r.strategy) < 0)
        r.strategy = PLAN_S_NONE;
    r.time = time(NULL);
    if (plan_observe(t->plan, &r) == 0) {
        t->since_analysis++;
        t->dirty = 1;
    }
out:
    cJSON_Delete(task);
}

/* Reads the results finished since the last wake. */
void trainer_observe(struct trainer *t)
{
    struct store_view *v;
    struct observe_ctx c = { .t = t };

    if (store_view_begin(t->env.st, &v) < 0)
        return;
    store_view_range(v, STORE_COLL_SCORES, t->score_seq + 1, UINT64_MAX,
                     score_cb, &c);
    for (size_t i = 0; i < c.n; i++) {
        char *json = NULL;
        if (store_view_get(v, STORE_COLL_TASKS, c.ids[i], copy_cb, &json) ==
                0 && json) {
            observe_task(t, json);
            free(json);
        }
        t->score_seq = c.keys[i];
        t->dirty = 1;
    }
    store_view_end(v);
    free(c.ids);
    free(c.keys);
}

size_t trainer_analyses(struct trainer *t)
{
    struct store_view *v;
    size_t n = 0;

    if (store_view_begin(t->env.st, &v) == 0) {
        n = store_view_count(v, STORE_COLL_ANALYSES);
        store_view_end(v);
    }
    return n;
}

/* Writes the analysis and the documents it feeds. */
void trainer_analyse(struct trainer *t)
{
    cJSON *a = plan_analysis_json(t->plan);
    char *text = a ? cJSON_PrintUnformatted(a) : NULL;
    uint64_t n = 0;

    if (text && store_analysis_append(t->env.st, text, &n) == 0)
        trainer_logf(t, "analysis %llu written (advanced/"
                     "builder_analysis_%llu.json)", (unsigned long long)n,
                     (unsigned long long)n);
    free(text);
    cJSON_Delete(a);
    t->since_analysis = 0;
    /* The documents the analysis feeds and the state that produced them
     * go in one commit: a crash or a full disk leaves all of them as they
     * were, or none. */
    cJSON *difficulty = plan_difficulty_json(t->plan);
    cJSON *weights = plan_weights_json(t->plan);
    cJSON *biases = plan_biases_json(t->plan);
    struct store_named docs[4] = {
        { "current_difficulty",
          difficulty ? cJSON_PrintUnformatted(difficulty) : NULL },
        { "strategy_weights",
          weights ? cJSON_PrintUnformatted(weights) : NULL },
        { "internal_biases", biases ? cJSON_PrintUnformatted(biases) : NULL },
        { "trainer_state", trainer_state_text(t) },
    };
    int rc = 0;

    for (size_t i = 0; i < 4; i++)
        if (!docs[i].json)
            rc = -ENOMEM;
    if (rc == 0)
        rc = store_docs_put(t->env.st, docs, 4);
    if (rc < 0)
        trainer_logf(t, "cannot save the analysis's documents: %s",
                     store_strerror(rc));
    else
        t->dirty = 0;
    for (size_t i = 0; i < 4; i++)
        free((char *)docs[i].json);
    cJSON_Delete(difficulty);
    cJSON_Delete(weights);
    cJSON_Delete(biases);
}
