/* trainer_propose.c -- the Trainer making a task: choose skill and
 * difficulty (plan.h), ask the LLM for a task with tests and a reference,
 * admit it only if the checks pass (admission.h), else fall back to the
 * seed curriculum; enqueue it through the task model and record why.
 */
#include "trainer_internal.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission.h"
#include "seed.h"
#include "task.h"

static const char proposal_schema[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"goal\":{\"type\":\"string\"},"
    "\"tests\":{\"type\":\"string\"},"
    "\"hidden_tests\":{\"type\":\"string\"},"
    "\"reference\":{\"type\":\"string\"}},"
    "\"required\":[\"goal\",\"tests\",\"hidden_tests\",\"reference\"]}";

/* --- the queue ----------------------------------------------------------- */

/* Drops its tasks that are no longer waiting (queued or running: the
 * store says which); says whether a user task is first in the queue. A
 * task the store cannot read now is kept, to be looked at next time. */
void trainer_look_at_queue(struct trainer *t, int *user_waiting)
{
    struct store_view *v;
    enum store_source first;
    size_t k = 0;

    *user_waiting = 0;
    if (store_view_begin(t->env.st, &v) < 0)
        return;
    for (size_t i = 0; i < t->npending; i++) {
        enum store_status st;
        int rc = store_view_task_state(v, t->pending[i], &st, NULL);

        if ((rc == 0 && (st == STORE_STATUS_QUEUED ||
                         st == STORE_STATUS_RUNNING)) ||
            (rc < 0 && rc != -ENOENT && rc != STORE_ECORRUPT))
            t->pending[k++] = t->pending[i];
    }
    if (k != t->npending)
        t->dirty = 1;
    t->npending = k;
    *user_waiting = store_view_queue_first(v, NULL, &first) == 0 &&
                    first == STORE_SOURCE_USER;
    store_view_end(v);
}

struct queued_ctx {
    const char *key;                /* goal_key of the goal looked for    */
    int found;
};

static int queued_cb(void *ctx, uint64_t id, const char *val, size_t len)
{
    struct queued_ctx *q = ctx;
    cJSON *o = cJSON_ParseWithLength(val, len);
    const char *g = trainer_jstr(o, "goal");
    char *k = g ? trainer_goal_key(g) : NULL;

    (void)id;
    q->found = k && strcmp(k, q->key) == 0;
    free(k);
    cJSON_Delete(o);
    return q->found;
}

/* Whether a task with this goal (as goal_key sees it) is in the queue. */
static int goal_queued(struct trainer *t, const char *goal)
{
    struct queued_ctx q = { NULL, 0 };
    struct store_view *v;
    char *k = goal ? trainer_goal_key(goal) : NULL;

    if (!k || store_view_begin(t->env.st, &v) < 0) {
        free(k);
        return 0;
    }
    q.key = k;
    store_view_queue(v, queued_cb, &q);
    store_view_end(v);
    free(k);
    return q.found;
}

/* Keeps what the model proposed (cut on a character boundary), so that a
 * rejection in trainer_log shows what was rejected. Takes text. */
static void keep_proposal(struct trainer *t, char *text)
{
    free(t->proposal);
    t->proposal = text;
    if (text && strlen(text) > PROPOSAL_KEPT) {
        size_t n = PROPOSAL_KEPT - 3;       /* room for "..." and NUL */
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
            n--;
        strcpy(text + n, "...");
    }
}

/* Enqueues a task definition (taken) once the task parser has taken it,
 * with the internal fields (reference, trainer): a task the Trainer makes
 * passes the same checks as a user's. Returns its id, or 0 with the
 * reason logged. */
static uint64_t enqueue(struct trainer *t, cJSON *def, enum store_source src)
{
    char *text = cJSON_PrintUnformatted(def);
    struct task_def td = { 0 };
    char err[300] = "out of memory";
    const char *goal;
    uint64_t id = 0;
    uint64_t *p;
    int rc;

    rc = text ? task_parse_line_flags(text, strlen(text), TASK_PARSE_INTERNAL,
                                      &td, err, sizeof err)
              : -ENOMEM;
    if (rc < 0) {
        trainer_logf(t, "task refused by the task parser: %s", err);
    } else {
        struct store_task_new nt = { td.json, td.priority, src };
        if (store_task_enqueue(t->env.st, &nt, 1, &id) < 0)
            id = 0;
    }
    task_def_free(&td);
    free(text);
    goal = trainer_jstr(def, "goal");
    trainer_goal_remember(t, goal ? goal : "");
    cJSON_Delete(def);
    if (id && (p = realloc(t->pending, (t->npending + 1) * sizeof *p))) {
        t->pending = p;
        t->pending[t->npending++] = id;
        t->dirty = 1;
    }
    return id;
}

/* --- proposals ----------------------------------------------------------- */

struct examples {
    const char *goals[EXAMPLES_MAX];
    char *owned[EXAMPLES_MAX];
    size_t n;
};

static int example_cb(void *ctx, const char *json)
{
    struct examples *e = ctx;
    cJSON *o = cJSON_Parse(json);
    const char *g = trainer_jstr(o, "goal");

    if (g && e->n < EXAMPLES_MAX && (e->owned[e->n] = strdup(g)))
        e->goals[e->n] = e->owned[e->n], e->n++;
    cJSON_Delete(o);
    return e->n == EXAMPLES_MAX;
}

enum propose_end { PROPOSED, PROPOSE_REJECTED, PROPOSE_LLM_DOWN,
                   PROPOSE_GATE_FAILED, PROPOSE_STOP };

/* The user message of a proposal request, showing the first k of the
 * earlier goals. malloc'd, NULL when out of memory. */
static char *proposal_user(const struct plan_choice *c,
                           const struct examples *ex, size_t k)
{
    char *user = NULL;
    size_t len;
    FILE *f = open_memstream(&user, &len);

    if (!f)
        return NULL;
    fprintf(f, "Skill: %s\nDifficulty: %.2f on a scale from 0 (a "
            "one-liner) to 1 (an expert's hour).\n", c->skill,
            c->difficulty);
    if (k) {
        fputs("Earlier tasks of this skill (write something "
              "different):\n", f);
        for (size_t i = 0; i < k; i++)
            fprintf(f, "- %s\n", ex->goals[i]);
    }
    if (fclose(f) != 0) {
        free(user);
        return NULL;
    }
    return user;
}

/* The user message that fits the model's context with the system one:
 * the earlier goals are examples, which a small context drops (the last
 * first) rather than not asking at all. With none left it may still not
 * fit; llm_chat then says so (over_budget). */
static char *proposal_user_fitted(struct trainer *t, const char *system,
                                  const struct plan_choice *c,
                                  const struct examples *ex)
{
    unsigned budget = llm_prompt_budget(t->env.llm, 0);

    for (size_t k = ex->n;; k--) {
        char *user = proposal_user(c, ex, k);
        struct llm_message m[2] = { { "system", system }, { "user", user } };

        if (!user || k == 0 ||
            llm_estimate_tokens(&(struct llm_request){ .messages = m,
                                                       .nmessages = 2 }) <=
                budget) {
            if (user && k < ex->n)
                trainer_logf(t, "proposal prompt: %zu of %zu earlier goals "
                             "shown, to fit the model's context", k, ex->n);
            return user;
        }
        free(user);
    }
}

/* Asks the LLM for one task of the choice's skill and difficulty, checks
 * it, and on success fills *def (taken by the caller). 'why' says what a
 * rejection was. */
static enum propose_end propose(struct trainer *t,
                                const struct plan_choice *c, cJSON **def,
                                char *why, size_t whylen)
{
    struct examples ex = { 0 };
    struct llm_result r;
    struct admission_verdict v = { 0 };
    char *system = NULL, *user = NULL, *key = NULL;
    enum propose_end end = PROPOSE_REJECTED;

    *def = NULL;
    seed_each(c->skill, example_cb, &ex);
    system = strdup(
        "You write programming exercises, with tests, for a Python learner. "
        "Answer with one JSON object: {\"goal\": \"...\", \"tests\": "
        "\"...\", \"hidden_tests\": \"...\", \"reference\": \"...\"}.\n"
        "Rules:\n"
        "- goal: what to write, naming the function (or class) and its "
        "exact signature, and every behaviour the tests check.\n"
        "- tests: 2 or 3 top-level assert statements calling it.\n"
        "- hidden_tests: 4 to 8 other asserts, or test_* functions, "
        "covering edge cases (empty input, negatives, large values).\n"
        "- reference: a correct, simple solution.\n"
        "- Standard library only. No randomness, clock, files, network or "
        "subprocesses. Tests must be deterministic and fast.");
    if (system)
        user = proposal_user_fitted(t, system, c, &ex);
    if (!system || !user) {
        snprintf(why, whylen, "out of memory");
        goto out;
    }
    struct llm_message m[2] = { { "system", system }, { "user", user } };
    struct llm_request req = { .messages = m, .nmessages = 2,
                               .schema = proposal_schema,
                               .schema_name = "task",
                               .priority = LLM_PRIO_LOW };
    log_batch_flush(&t->log);      /* the call may take minutes */
    enum llm_err err = llm_chat(t->session, &req, &r);
    keep_proposal(t, r.json ? cJSON_PrintUnformatted(r.json)
                     : r.content ? strdup(r.content) : NULL);
    if (err != LLM_OK) {
        snprintf(why, whylen, "%s: %s", llm_err_name(r.err), r.error);
        end = r.err == LLM_E_CANCELLED ? PROPOSE_STOP
              : llm_err_unavailable(r.err) ? PROPOSE_LLM_DOWN
                                           : PROPOSE_REJECTED;
        llm_result_free(&r);
        goto out;
    }
    const char *goal = trainer_jstr(r.json, "goal");
    key = goal ? trainer_goal_key(goal) : NULL;
    if (key && trainer_goal_known(t, key)) {
        snprintf(why, whylen, "duplicate: the goal repeats an earlier "
                 "task's");
        llm_result_free(&r);
        goto out;
    }
    struct admission_proposal ap = {
        .language = task_lang_name(PROPOSAL_LANG), .goal = goal,
        .tests = trainer_jstr(r.json, "tests"),
        .hidden_tests = trainer_jstr(r.json, "hidden_tests"),
        .reference = trainer_jstr(r.json, "reference"),
        .timeout_ms = TASK_DEFAULT_TIMEOUT_S * 1000L,
    };
    log_batch_flush(&t->log);
    int rc = admission_check(t->env.ex, &ap, &v);
    {
        /* Each check is several sandbox runs; shell.log keeps their sum. */
        char line[700];
        snprintf(line, sizeof line, "trainer admission (%d runs, %.0f ms, "
                 "timeout %ld ms): %s", v.runs, v.total_ms, v.timeout_ms,
                 v.message ? v.message : rc < 0 ? strerror(-rc) : "?");
        log_batch_add(&t->log, STORE_LOG_SHELL, line);
    }
    if (rc < 0) {
        /* The gate itself failed (the sandbox, not the proposal): asking
         * again would fail the same way, so fall back at once. */
        snprintf(why, whylen, "the admission gate failed: %s",
                 v.message ? v.message : strerror(-rc));
        end = PROPOSE_GATE_FAILED;
        llm_result_free(&r);
        goto out;
    }
    if (!v.accepted) {
        snprintf(why, whylen, "%s", v.message ? v.message
                                    : rc < 0 ? strerror(-rc) : "rejected");
        if (goal)
            trainer_goal_remember(t, goal); /* do not take it later either */
        llm_result_free(&r);
        goto out;
    }
    *def = cJSON_CreateObject();
    if (*def) {
        cJSON_AddStringToObject(*def, "goal", goal);
        cJSON_AddNumberToObject(*def, "difficulty",
                                round(c->difficulty * 1000) / 1000);
        cJSON_AddNumberToObject(*def, "priority", 0);
        cJSON *sk = cJSON_AddArrayToObject(*def, "skills");
        cJSON_AddItemToArray(sk, cJSON_CreateString(c->skill));
        cJSON_AddStringToObject(*def, "language",
                                task_lang_name(PROPOSAL_LANG));
        cJSON_AddStringToObject(*def, "tests", ap.tests);
        cJSON_AddStringToObject(*def, "hidden_tests", ap.hidden_tests);
        cJSON_AddArrayToObject(*def, "constraints");
        cJSON_AddNumberToObject(*def, "timeout_s", TASK_DEFAULT_TIMEOUT_S);
        /* The reference scores elegance; no prompt ever shows it. */
        cJSON_AddStringToObject(*def, "reference", ap.reference);
        end = PROPOSED;
    }
    llm_result_free(&r);
out:
    admission_verdict_free(&v);
    for (size_t i = 0; i < ex.n; i++)
        free(ex.owned[i]);
    free(system);
    free(user);
    free(key);
    return end;
}

struct fallback_ctx {
    unsigned want;                  /* index of the task to take         */
    unsigned seen;
    cJSON *pick;
};

static int fallback_cb(void *ctx, const char *json)
{
    struct fallback_ctx *c = ctx;

    if (c->seen++ == c->want) {
        c->pick = cJSON_Parse(json);
        return 1;
    }
    return 0;
}

/* A seed task of the skill, taking the curriculum's tasks of it in turn
 * (all of them when the skill has none). NULL when out of memory. */
static cJSON *fallback(struct trainer *t, const char *skill)
{
    struct fallback_ctx c = { UINT_MAX, 0, NULL };
    unsigned n;

    seed_each(skill, fallback_cb, &c);          /* counts them */
    if (c.seen == 0) {
        skill = NULL;
        seed_each(NULL, fallback_cb, &c);
    }
    n = c.seen;
    /* In turn, but never one already waiting in the queue (the
     * curriculum queued at first start, or an earlier fallback). */
    for (unsigned k = 0; k < n; k++) {
        c = (struct fallback_ctx){ (unsigned)(t->fallbacks++ % n), 0,
                                   NULL };
        t->dirty = 1;
        seed_each(skill, fallback_cb, &c);
        if (c.pick && !goal_queued(t, trainer_jstr(c.pick, "goal")))
            return c.pick;
        cJSON_Delete(c.pick);
    }
    return NULL;
}

/* Makes one task: choose, propose (a few times), else fall back. */
void trainer_make_task(struct trainer *t, int llm_ok)
{
    struct plan_choice c;
    char why[600] = "";
    cJSON *def = NULL, *rejections = cJSON_CreateArray();
    unsigned tries = 0;
    enum propose_end end = PROPOSE_REJECTED;
    int fell_back = 0;
    uint64_t id;

    if (plan_choose(t->plan, &t->rng, &c) < 0) {
        cJSON_Delete(rejections);
        return;
    }
    t->dirty = 1;
    while (llm_ok && tries < t->cfg.proposals &&
           !stopper_stopped(&t->stopper)) {
        tries++;
        end = propose(t, &c, &def, why, sizeof why);
        if (end != PROPOSE_REJECTED)
            break;
        cJSON *rj = cJSON_CreateObject();
        cJSON_AddStringToObject(rj, "reason", why);
        if (t->proposal)
            cJSON_AddStringToObject(rj, "proposal", t->proposal);
        cJSON_AddItemToArray(rejections, rj);
        trainer_logf(t, "proposal %u for %s rejected: %s", tries, c.skill,
                     why);
    }
    if (end == PROPOSE_STOP) {
        cJSON_Delete(rejections);
        return;
    }
    if (!def) {
        def = fallback(t, c.skill);
        fell_back = 1;
        if (!def) {
            trainer_logf(t, "no task for %s: every seed task of it is already "
                         "queued", c.skill);
            cJSON_Delete(rejections);
            log_batch_flush(&t->log);
            stopper_nap(&t->stopper, t->cfg.poll_ms);
            return;
        }
        /* The difficulty chosen (and logged) is the one queued. */
        cJSON_DeleteItemFromObjectCaseSensitive(def, "difficulty");
        cJSON_AddNumberToObject(def, "difficulty",
                                round(c.difficulty * 1000) / 1000);
    }
    cJSON *meta = cJSON_CreateObject();
    cJSON_AddStringToObject(meta, "strategy", plan_strategy_name(c.strategy));
    cJSON_AddStringToObject(meta, "reason", c.reason);
    cJSON_AddBoolToObject(meta, "fallback", fell_back);
    cJSON_DeleteItemFromObjectCaseSensitive(def, "trainer");
    cJSON_AddItemToObject(def, "trainer", meta);
    id = enqueue(t, def, fell_back ? STORE_SOURCE_SEED : STORE_SOURCE_TRAINER);

    char name[STORE_ID_MAX] = "";
    if (id)
        store_id_format(id, name);
    cJSON *entry = plan_choice_json(&c);
    if (entry) {
        trainer_add_time(entry);
        cJSON_AddStringToObject(entry, "task", name);
        cJSON_AddNumberToObject(entry, "proposals", tries);
        cJSON_AddItemToObject(entry, "rejected", rejections);
        rejections = NULL;
        cJSON_AddBoolToObject(entry, "fallback", fell_back);
        if (fell_back)
            cJSON_AddStringToObject(entry, "fallback_why",
                                    !llm_ok || end == PROPOSE_LLM_DOWN
                                        ? "the LLM is not available"
                                    : end == PROPOSE_GATE_FAILED ? why
                                        : "every proposal was rejected");
    }
    cJSON_Delete(rejections);
    cJSON *motive = cJSON_CreateObject();
    if (motive) {
        double w[PLAN_S__COUNT];
        trainer_add_time(motive);
        cJSON_AddStringToObject(motive, "task", name);
        cJSON_AddStringToObject(motive, "strategy",
                                plan_strategy_name(c.strategy));
        cJSON_AddStringToObject(motive, "skill", c.skill);
        cJSON_AddStringToObject(motive, "why", c.reason);
        plan_weights(t->plan, w);
        cJSON *wj = cJSON_AddObjectToObject(motive, "weights");
        for (int s = 1; wj && s < PLAN_S__COUNT; s++)
            cJSON_AddNumberToObject(wj, plan_strategy_name(
                                            (enum plan_strategy)s),
                                    round(w[s] * 1000) / 1000);
    }
    trainer_record(t, entry, motive);
    cJSON_Delete(entry);
    cJSON_Delete(motive);
    trainer_logf(t, "%s %s: %s at difficulty %.2f (%s)%s",
                 id ? "queued" : "could not queue", name[0] ? name : "a task",
                 c.skill, c.difficulty, plan_strategy_name(c.strategy),
                 fell_back ? ", from the seed curriculum" : "");
}
