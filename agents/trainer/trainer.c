/* trainer.c -- the Trainer's thread: observe, analyse, choose, propose,
 * admit, enqueue.
 *
 * The decisions are plan.c's and the checks admission.c's; this file does
 * the I/O around them: the store (results in, documents and tasks out) and
 * the LLM (proposals). See trainer.h for the order of a wake.
 */
#include "trainer.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "admission.h"
#include "failure.h"
#include "log_batch.h"
#include "plan.h"
#include "stopper.h"
#include "seed.h"
#include "task.h"
#include "task_lang.h"

#define LOG_ENTRIES_MAX 200     /* trainer_log / motivation_log entries    */
#define GOALS_MAX 1000          /* earlier goals kept for the duplicate test */
#define EXAMPLES_MAX 4          /* earlier goals shown in a proposal prompt */
/* The Trainer writes Python exercises (its prompt and the admission
 * checks say so); the language's name and the time limit come from the
 * task model, as a user's task gets them. */
#define PROPOSAL_LANG TASK_LANG_PYTHON
#define PROPOSAL_KEPT 3072      /* bytes of a rejected proposal logged    */

struct trainer {
    struct trainer_config cfg;
    struct agent_env env;           /* the handles (the caller's)         */
    pthread_t thread;
    struct stopper stopper;         /* trainer_stop wakes the thread      */
    /* Everything below belongs to the thread. */
    struct llm_session *session;
    struct log_batch log;           /* lines not yet written             */
    struct plan *plan;
    struct plan_rng rng;
    uint64_t score_seq;             /* last score-log key observed        */
    unsigned since_analysis;        /* results since the last analysis    */
    int dirty;                      /* state changed since last save      */
    uint64_t *pending;              /* its tasks believed still queued    */
    size_t npending;
    unsigned long fallbacks;        /* seed tasks taken so far            */
    char **goals;                   /* normalised earlier goals (ring)    */
    size_t ngoals;
    size_t goals_next;
    char *proposal;                 /* the last proposal's text, cut to
                                       PROPOSAL_KEPT, for trainer_log     */
};

static const char proposal_schema[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"goal\":{\"type\":\"string\"},"
    "\"tests\":{\"type\":\"string\"},"
    "\"hidden_tests\":{\"type\":\"string\"},"
    "\"reference\":{\"type\":\"string\"}},"
    "\"required\":[\"goal\",\"tests\",\"hidden_tests\",\"reference\"]}";

void trainer_config_default(struct trainer_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->target_success = 0.75;
    cfg->pending = 3;
    cfg->every = 5;
    cfg->proposals = 3;
    cfg->poll_ms = 500;
}

/* --- small helpers ------------------------------------------------------------ */

static void logf_(struct trainer *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One line of logs/system.log, "trainer: ...", written with the next
 * batch (log_batch.h): at the latest when the thread next waits. */
static void logf_(struct trainer *t, const char *fmt, ...)
{
    char line[1024] = "trainer: ";
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line + 9, sizeof line - 9, fmt, ap);
    va_end(ap);
    log_batch_add(&t->log, STORE_LOG_SYSTEM, line);
}

static const char *jstr(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int copy_cb(void *ctx, uint64_t key, const char *val, size_t len)
{
    char **out = ctx;

    (void)key;
    *out = strndup(val, len);
    return *out ? 0 : -ENOMEM;
}

/* Document 'name' parsed into *out: a new empty object when there is none
 * (or its text is damaged beyond parsing: nothing else could read it
 * either). A read failure is returned as itself, so that a transient one
 * never makes a document start over from nothing. */
static int doc_load(struct trainer *t, const char *name, cJSON **out)
{
    char *text = NULL;
    cJSON *o = NULL;
    int rc = store_doc_get(t->env.st, name, &text, NULL);

    *out = NULL;
    if (rc < 0 && rc != -ENOENT)
        return rc;
    if (rc == 0)
        o = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        if (!(o = cJSON_CreateObject()))
            return -ENOMEM;
    }
    *out = o;
    return 0;
}

/* The text of a log document ({"entries": [...]}, newest LOG_ENTRIES_MAX
 * kept) with a copy of 'entry' appended; 'old' is its current text or
 * NULL. malloc'd, NULL when out of memory. */
static char *log_doc_append(const char *old, const cJSON *entry)
{
    cJSON *doc = old ? cJSON_Parse(old) : NULL, *list, *copy;
    char *text = NULL;

    if (!cJSON_IsObject(doc)) {         /* none yet, or damaged: begin it */
        cJSON_Delete(doc);
        doc = cJSON_CreateObject();
    }
    list = cJSON_GetObjectItemCaseSensitive(doc, "entries");
    if (doc && !cJSON_IsArray(list)) {
        cJSON_DeleteItemFromObjectCaseSensitive(doc, "entries");
        list = cJSON_AddArrayToObject(doc, "entries");
    }
    copy = cJSON_Duplicate(entry, 1);
    if (list && copy && cJSON_AddItemToArray(list, copy)) {
        while (cJSON_GetArraySize(list) > LOG_ENTRIES_MAX)
            cJSON_DeleteItemFromArray(list, 0);
        text = cJSON_PrintUnformatted(doc);
    } else {
        cJSON_Delete(copy);
    }
    cJSON_Delete(doc);
    return text;
}

static void add_time(cJSON *o)
{
    char when[32];

    cJSON_AddStringToObject(o, "at", store_time_format(time(NULL), when));
}

/* --- earlier goals -------------------------------------------------------------- */

/* A goal reduced to lowercase letters and digits, single-spaced: two
 * proposals that differ only in case, punctuation or spacing are the same
 * task. malloc'd. */
static char *goal_key(const char *goal)
{
    size_t n = strlen(goal);
    char *k = malloc(n + 1), *o = k;
    int space = 0;

    if (!k)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)goal; *p; p++) {
        if (isalnum(*p) || *p >= 0x80) {
            if (space && o != k)
                *o++ = ' ';
            *o++ = (char)tolower(*p);
            space = 0;
        } else {
            space = 1;
        }
    }
    *o = '\0';
    return k;
}

static int goal_known(const struct trainer *t, const char *key)
{
    for (size_t i = 0; i < t->ngoals; i++)
        if (strcmp(t->goals[i], key) == 0)
            return 1;
    return 0;
}

static void goal_remember(struct trainer *t, const char *goal)
{
    char *k = goal_key(goal);

    if (!k || goal_known(t, k)) {
        free(k);
        return;
    }
    if (t->ngoals < GOALS_MAX) {
        char **g = realloc(t->goals, (t->ngoals + 1) * sizeof *g);
        if (!g) {
            free(k);
            return;
        }
        t->goals = g;
        t->goals[t->ngoals++] = k;
    } else {
        free(t->goals[t->goals_next]);
        t->goals[t->goals_next] = k;
        t->goals_next = (t->goals_next + 1) % GOALS_MAX;
    }
    t->dirty = 1;
}

static int remember_seed_goal(void *ctx, const char *json)
{
    cJSON *o = cJSON_Parse(json);
    const char *g = jstr(o, "goal");

    if (g)
        goal_remember(ctx, g);
    cJSON_Delete(o);
    return 0;
}

/* --- state ----------------------------------------------------------------------- */

/* The Trainer's own state (plan, position in the score log, goals, its
 * queued tasks) as the text of document trainer_state; malloc'd, NULL when
 * out of memory. */
static char *state_text(struct trainer *t)
{
    cJSON *o = cJSON_CreateObject(), *plan = plan_state_to_json(t->plan);
    cJSON *goals, *pending;
    char *text;

    if (!o || !plan) {
        cJSON_Delete(o);
        cJSON_Delete(plan);
        return NULL;
    }
    cJSON_AddItemToObject(o, "plan", plan);
    cJSON_AddNumberToObject(o, "score_seq", (double)t->score_seq);
    cJSON_AddNumberToObject(o, "rng", (double)(t->rng.s >> 11));
    cJSON_AddNumberToObject(o, "fallbacks", (double)t->fallbacks);
    goals = cJSON_AddArrayToObject(o, "goals");
    for (size_t i = 0; goals && i < t->ngoals; i++)
        cJSON_AddItemToArray(goals, cJSON_CreateString(t->goals[i]));
    pending = cJSON_AddArrayToObject(o, "pending");
    for (size_t i = 0; pending && i < t->npending; i++)
        cJSON_AddItemToArray(pending, cJSON_CreateNumber((double)t->pending[i]));
    text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

/* Saves the state; on failure it stays dirty, to be saved at the next
 * chance, and the failure is logged. */
static void state_save(struct trainer *t)
{
    char *text = state_text(t);
    int rc = text ? store_doc_put(t->env.st, "trainer_state", text) : -ENOMEM;

    free(text);
    if (rc < 0) {
        logf_(t, "cannot save its state: %s", store_strerror(rc));
        return;
    }
    t->dirty = 0;
}

/* Restores what state_save wrote; a damaged state starts over (logged).
 * A read failure is returned: the caller tries again rather than start
 * over and then overwrite the saved state. */
static int state_load(struct trainer *t)
{
    cJSON *o;
    const cJSON *v, *it;
    int rc = doc_load(t, "trainer_state", &o);

    if (rc < 0)
        return rc;
    if (cJSON_GetArraySize(o) == 0) {
        cJSON_Delete(o);
        return 0;
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "plan");
    if (v && plan_state_from_json(t->plan, v) < 0)
        logf_(t, "saved plan state unreadable: starting a fresh plan");
    v = cJSON_GetObjectItemCaseSensitive(o, "score_seq");
    if (cJSON_IsNumber(v) && v->valuedouble >= 0)
        t->score_seq = (uint64_t)v->valuedouble;
    v = cJSON_GetObjectItemCaseSensitive(o, "fallbacks");
    if (cJSON_IsNumber(v) && v->valuedouble >= 0)
        t->fallbacks = (unsigned long)v->valuedouble;
    v = cJSON_GetObjectItemCaseSensitive(o, "rng");
    if (cJSON_IsNumber(v))
        plan_rng_seed(&t->rng, (uint64_t)v->valuedouble);
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "goals"))
        if (cJSON_IsString(it) && t->ngoals < GOALS_MAX) {
            char **g = realloc(t->goals, (t->ngoals + 1) * sizeof *g);
            char *k = strdup(it->valuestring);
            if (!g || !k) {
                if (g)
                    t->goals = g;
                free(k);
                break;
            }
            t->goals = g;
            t->goals[t->ngoals++] = k;
        }
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "pending"))
        if (cJSON_IsNumber(it) && it->valuedouble >= 1) {
            uint64_t *p = realloc(t->pending,
                                  (t->npending + 1) * sizeof *p);
            if (!p)
                break;
            t->pending = p;
            t->pending[t->npending++] = (uint64_t)it->valuedouble;
        }
    cJSON_Delete(o);
    return 0;
}

/* --- observing results --------------------------------------------------------------- */

/* How a failed task failed: the kind the Builder recorded in its result
 * (failure.h). A result without one (written before the Builder recorded
 * kinds) counts as "other". */
static enum failure_kind failure_of(const cJSON *task)
{
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(task, "result");
    enum failure_kind k = FAILURE_OTHER;

    if (failure_kind_parse(jstr(result, "failure"), &k) < 0 ||
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
    const char *task = jstr(e, "task");
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
    const char *skills[PLAN_RESULT_SKILLS_MAX], *lowered[PLAN_RESULT_REASONS_MAX];
    size_t nskills = 0, nlowered = 0;
    struct plan_result r = { 0 };
    const char *status = jstr(task, "status");
    const char *source = jstr(task, "source");
    const char *strategy = jstr(
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
static void observe(struct trainer *t)
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

static size_t analyses(struct trainer *t)
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
static void analyse(struct trainer *t)
{
    cJSON *a = plan_analysis_json(t->plan);
    char *text = a ? cJSON_PrintUnformatted(a) : NULL;
    uint64_t n = 0;

    if (text && store_analysis_append(t->env.st, text, &n) == 0)
        logf_(t, "analysis %llu written (advanced/builder_analysis_%llu."
              "json)", (unsigned long long)n, (unsigned long long)n);
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
        { "trainer_state", state_text(t) },
    };
    int rc = 0;

    for (size_t i = 0; i < 4; i++)
        if (!docs[i].json)
            rc = -ENOMEM;
    if (rc == 0)
        rc = store_docs_put(t->env.st, docs, 4);
    if (rc < 0)
        logf_(t, "cannot save the analysis's documents: %s",
              store_strerror(rc));
    else
        t->dirty = 0;
    for (size_t i = 0; i < 4; i++)
        free((char *)docs[i].json);
    cJSON_Delete(difficulty);
    cJSON_Delete(weights);
    cJSON_Delete(biases);
}

/* --- the queue ----------------------------------------------------------------------- */

/* Drops its tasks that are no longer waiting (queued or running: the
 * store says which); says whether a user task is first in the queue. A
 * task the store cannot read now is kept, to be looked at next time. */
static void look_at_queue(struct trainer *t, int *user_waiting)
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
    const char *g = jstr(o, "goal");
    char *k = g ? goal_key(g) : NULL;

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
    char *k = goal ? goal_key(goal) : NULL;

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
    uint64_t id = 0;
    uint64_t *p;
    int rc;

    rc = text ? task_parse_line_flags(text, strlen(text), TASK_PARSE_INTERNAL,
                                      &td, err, sizeof err)
              : -ENOMEM;
    if (rc < 0) {
        logf_(t, "task refused by the task parser: %s", err);
    } else {
        struct store_task_new nt = { td.json, td.priority, src };
        if (store_task_enqueue(t->env.st, &nt, 1, &id) < 0)
            id = 0;
    }
    task_def_free(&td);
    free(text);
    goal_remember(t, jstr(def, "goal") ? jstr(def, "goal") : "");
    cJSON_Delete(def);
    if (id && (p = realloc(t->pending, (t->npending + 1) * sizeof *p))) {
        t->pending = p;
        t->pending[t->npending++] = id;
        t->dirty = 1;
    }
    return id;
}

/* --- proposals ------------------------------------------------------------------------ */

struct examples {
    const char *goals[EXAMPLES_MAX];
    char *owned[EXAMPLES_MAX];
    size_t n;
};

static int example_cb(void *ctx, const char *json)
{
    struct examples *e = ctx;
    cJSON *o = cJSON_Parse(json);
    const char *g = jstr(o, "goal");

    if (g && e->n < EXAMPLES_MAX && (e->owned[e->n] = strdup(g)))
        e->goals[e->n] = e->owned[e->n], e->n++;
    cJSON_Delete(o);
    return e->n == EXAMPLES_MAX;
}

enum propose_end { PROPOSED, PROPOSE_REJECTED, PROPOSE_LLM_DOWN,
                   PROPOSE_GATE_FAILED, PROPOSE_STOP };

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
    FILE *f;
    size_t len;

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
    f = open_memstream(&user, &len);
    if (f) {
        fprintf(f, "Skill: %s\nDifficulty: %.2f on a scale from 0 (a "
                "one-liner) to 1 (an expert's hour).\n", c->skill,
                c->difficulty);
        if (ex.n) {
            fputs("Earlier tasks of this skill (write something "
                  "different):\n", f);
            for (size_t i = 0; i < ex.n; i++)
                fprintf(f, "- %s\n", ex.goals[i]);
        }
        fclose(f);
    }
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
    const char *goal = jstr(r.json, "goal");
    key = goal ? goal_key(goal) : NULL;
    if (key && goal_known(t, key)) {
        snprintf(why, whylen, "duplicate: the goal repeats an earlier "
                 "task's");
        llm_result_free(&r);
        goto out;
    }
    struct admission_proposal ap = {
        .language = task_lang_name(PROPOSAL_LANG), .goal = goal,
        .tests = jstr(r.json, "tests"),
        .hidden_tests = jstr(r.json, "hidden_tests"),
        .reference = jstr(r.json, "reference"),
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
            goal_remember(t, goal);     /* do not take it later either */
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
        if (c.pick && !goal_queued(t, jstr(c.pick, "goal")))
            return c.pick;
        cJSON_Delete(c.pick);
    }
    return NULL;
}

struct record_ctx {
    const cJSON *entry;             /* for trainer_log; NULL: none        */
    const cJSON *motive;            /* for motivation_log; NULL: none     */
    const char *state;              /* trainer_state's new text           */
};

static int record_cb(void *ctx, const char *const *old, const size_t *len,
                     char **out, size_t n)
{
    const struct record_ctx *c = ctx;

    (void)len;
    (void)n;
    if ((c->entry && !(out[0] = log_doc_append(old[0], c->entry))) ||
        (c->motive && !(out[1] = log_doc_append(old[1], c->motive))) ||
        !(out[2] = strdup(c->state)))
        return -ENOMEM;
    return 0;
}

/* Writes what making a task did -- its trainer_log and motivation_log
 * entries and the state after it -- in one commit, so that the logs never
 * tell of a choice the saved state does not hold, nor the reverse. On
 * failure the state stays dirty (saved at the next chance) and the
 * failure is logged. */
static void record(struct trainer *t, const cJSON *entry,
                   const cJSON *motive)
{
    static const char *const names[3] = { "trainer_log", "motivation_log",
                                          "trainer_state" };
    struct record_ctx c = { entry, motive, state_text(t) };
    int rc = c.state ? store_docs_update(t->env.st, names, 3, record_cb, &c)
                     : -ENOMEM;

    free((char *)c.state);
    if (rc < 0) {
        logf_(t, "cannot save its logs and state: %s", store_strerror(rc));
        return;
    }
    t->dirty = 0;
}

/* Makes one task: choose, propose (a few times), else fall back. */
static void make_task(struct trainer *t, int llm_ok)
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
        logf_(t, "proposal %u for %s rejected: %s", tries, c.skill, why);
    }
    if (end == PROPOSE_STOP) {
        cJSON_Delete(rejections);
        return;
    }
    if (!def) {
        def = fallback(t, c.skill);
        fell_back = 1;
        if (!def) {
            logf_(t, "no task for %s: every seed task of it is already "
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
        add_time(entry);
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
        add_time(motive);
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
    record(t, entry, motive);
    cJSON_Delete(entry);
    cJSON_Delete(motive);
    logf_(t, "%s %s: %s at difficulty %.2f (%s)%s",
          id ? "queued" : "could not queue", name[0] ? name : "a task",
          c.skill, c.difficulty, plan_strategy_name(c.strategy),
          fell_back ? ", from the seed curriculum" : "");
}

/* --- the thread -------------------------------------------------------------------------- */

static void *run(void *arg)
{
    struct trainer *t = arg;
    int first = 1;

    /* A store that cannot be read now is waited for: starting over would
     * overwrite the saved plan at the first save. */
    for (int rc; (rc = state_load(t)) < 0 && !stopper_stopped(&t->stopper);) {
        logf_(t, "cannot read its saved state (%s); trying again",
              store_strerror(rc));
        log_batch_flush(&t->log);
        stopper_nap(&t->stopper, 10 * t->cfg.poll_ms);
    }
    seed_each(NULL, remember_seed_goal, t);
    while (!stopper_stopped(&t->stopper)) {
        int user_waiting;

        if (store_paused(t->env.st)) {
            log_batch_flush(&t->log);
            stopper_nap(&t->stopper, t->cfg.poll_ms);
            continue;
        }
        observe(t);
        /* At start, an analysis only when there is none yet or something
         * new came in: a restart alone teaches nothing. */
        if ((first && (t->since_analysis > 0 || analyses(t) == 0)) ||
            t->since_analysis >= t->cfg.every)
            analyse(t);
        first = 0;
        look_at_queue(t, &user_waiting);
        if (t->npending < t->cfg.pending && !user_waiting) {
            make_task(t, llm_monitor_healthy(t->env.monitor));
            if (t->dirty)
                state_save(t);
            log_batch_flush(&t->log);
            continue;               /* maybe another is needed at once */
        }
        if (t->dirty)
            state_save(t);
        log_batch_flush(&t->log);
        stopper_nap(&t->stopper, t->cfg.poll_ms);
    }
    if (t->dirty)
        state_save(t);
    log_batch_flush(&t->log);
    return NULL;
}

int trainer_start(const struct trainer_config *cfg,
                  const struct agent_env *env, struct trainer **out)
{
    struct trainer *t;
    struct plan_config pc;
    int rc;

    *out = NULL;
    plan_config_default(&pc);
    pc.target_success = cfg->target_success;
    if (cfg->pending == 0 || cfg->every == 0 || cfg->proposals == 0 ||
        plan_config_check(&pc) < 0)
        return -EINVAL;
    t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    t->cfg = *cfg;
    if (t->cfg.poll_ms <= 0)
        t->cfg.poll_ms = 500;
    t->env = *env;
    log_batch_init(&t->log, env->st, LOG_BATCH_DELAY_MS);
    stopper_init(&t->stopper);
    plan_rng_seed(&t->rng, cfg->seed ? cfg->seed
                                     : (uint64_t)time(NULL) ^ (uintptr_t)t);
    if ((rc = plan_create(&pc, &t->plan)) < 0 ||
        (rc = llm_session_open(env->llm, &t->session)) < 0 ||
        (llm_session_set_name(t->session, "trainer"), 0) ||
        (rc = -pthread_create(&t->thread, NULL, run, t)) < 0) {
        llm_session_close(t->session);
        plan_free(t->plan);
        stopper_destroy(&t->stopper);
        free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void trainer_stop(struct trainer *t)
{
    if (!t)
        return;
    stopper_stop(&t->stopper);
    pthread_join(t->thread, NULL);
    llm_session_close(t->session);
    plan_free(t->plan);
    for (size_t i = 0; i < t->ngoals; i++)
        free(t->goals[i]);
    free(t->goals);
    free(t->pending);
    free(t->proposal);
    log_batch_free(&t->log);        /* empty: the thread wrote its lines */
    stopper_destroy(&t->stopper);
    free(t);
}
