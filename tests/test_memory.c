/* test_memory.c -- unit tests of the Builder's memory (agents/builder/memory.c) on
 * a real store in a temporary directory.
 *
 * Each test enqueues tasks, takes them as a builder does, commits outcomes
 * with memory_commit and reads back what the store holds: the task, its
 * code, reflection and summary, the score log, the skill records, the
 * builder profile and the learned concepts. Expected ratings come from
 * rating.c itself, replayed on the same results, not from constants.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <lmdb.h>

#include "agents/builder/memory.h"
#include "agents/trainer/rating.h"
#include "store/store.h"
#include "temp_store.h"

#define T0 ((time_t)1760000000)     /* a fixed clock: 2025-10-09 */

/* Each test gets a store of its own in a temporary directory. */
static int setup(void **state)
{
    struct temp_store *f = calloc(1, sizeof *f);

    if (!f)
        return -1;
    temp_store_open(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct temp_store *f = *state;
    int rc = temp_store_close(f);

    free(f);
    return rc;
}

/* ---- helpers: tasks ------------------------------------------------- */

/* Enqueues a task with goal and skills (a JSON array text) and takes it
 * from the queue as a builder would; returns its id. */
static uint64_t take_task(struct store *st, const char *goal,
                          const char *skills_json)
{
    char *def = NULL;
    uint64_t id, got;

    assert_true(asprintf(&def, "{\"goal\":\"%s\",\"skills\":%s}", goal,
                         skills_json) > 0);
    struct store_task_new t = { def, 0, STORE_SOURCE_USER };
    assert_int_equal(store_task_enqueue(st, &t, 1, &id), 0);
    assert_int_equal(store_task_dequeue(st, &got, NULL), 0);
    assert_int_equal(got, id);
    free(def);
    return id;
}

/* An outcome under construction, owning its texts. */
struct outcome {
    struct memory_outcome o;
    struct store_code code[4];
    char *codes[4];
    char *score, *result, *reflection, *summary;
    const char *skills[8];
    struct store_log_entry logs[2];
    char *lines[2];
};

/* Describes a finished task: 'attempts' attempts (each with code
 * "<goal> vK"), the last judged; lessons is a JSON array text or NULL for
 * a reflection recorded as missing. */
static void outcome_init(struct outcome *x, uint64_t id, const char *status,
                         const char *goal, const char *const *skills,
                         size_t nskills, double difficulty, int attempts,
                         const char *lessons, time_t now)
{
    memset(x, 0, sizeof *x);
    assert_true(nskills <= 8 && attempts >= 0 && attempts <= 4);
    for (size_t i = 0; i < nskills; i++)
        x->skills[i] = skills[i];
    for (int k = 0; k < attempts; k++) {
        assert_true(asprintf(&x->codes[k], "# %s v%d\ndef f():\n    return %d\n",
                             goal, k + 1, k + 1) > 0);
        x->code[k] = (struct store_code){ (unsigned)k + 1, "py", x->codes[k],
                                          strlen(x->codes[k]) };
    }
    if (strcmp(status, "error") != 0)
        assert_true(asprintf(&x->score, "{\"accuracy\":%g,\"speed\":0.5,"
                                        "\"total\":%g}",
                             strcmp(status, "passed") == 0 ? 1.0 : 0.25,
                             strcmp(status, "passed") == 0 ? 0.9 : 0.2) > 0);
    assert_true(asprintf(&x->result, "{\"tests_passed\":%d,\"tests_total\":4,"
                                     "\"reason\":\"%s\"}",
                         strcmp(status, "passed") == 0 ? 4 : 1, status) > 0);
    if (lessons)
        assert_true(asprintf(&x->reflection, "{\"summary\":\"did %s\","
                                             "\"what_went_wrong\":\"\","
                                             "\"lessons\":%s,\"concepts\":[]}",
                             goal, lessons) > 0);
    else
        x->reflection = strdup("{\"missing\":true,\"reason\":\"no_json: x\"}");
    assert_true(asprintf(&x->summary, "{\"goal\":\"%s\",\"status\":\"%s\"}",
                         goal, status) > 0);
    assert_true(asprintf(&x->lines[0], "%s: attempt 1 started", goal) > 0);
    assert_true(asprintf(&x->lines[1], "%s: ended %s", goal, status) > 0);
    x->logs[0] = (struct store_log_entry){ STORE_LOG_SYSTEM, now - 2,
                                           x->lines[0] };
    x->logs[1] = (struct store_log_entry){ STORE_LOG_SYSTEM, now,
                                           x->lines[1] };
    assert_non_null(x->reflection);
    x->o = (struct memory_outcome){
        .id = id, .status = status, .attempts = attempts, .goal = goal,
        .skills = x->skills, .nskills = nskills, .difficulty = difficulty,
        .final_attempt = attempts, .score_json = x->score,
        .result_json = x->result, .code = x->code, .ncode = (size_t)attempts,
        .reflection_json = x->reflection, .summary_json = x->summary,
        .model = "test-model-7b", .now = now,
        .logs = x->logs, .nlogs = 2,
    };
}

static void outcome_free(struct outcome *x)
{
    for (int k = 0; k < 4; k++)
        free(x->codes[k]);
    free(x->score);
    free(x->result);
    free(x->reflection);
    free(x->summary);
    free(x->lines[0]);
    free(x->lines[1]);
}

/* Takes a task and commits it in one go. */
static uint64_t run_task(struct store *st, const char *goal,
                         const char *skill, const char *status,
                         double difficulty, time_t now)
{
    char skills_json[128];
    const char *skills[1] = { skill };
    struct outcome x;
    uint64_t id;

    snprintf(skills_json, sizeof skills_json, "[\"%s\"]", skill);
    id = take_task(st, goal, skills_json);
    outcome_init(&x, id, status, goal, skills, 1, difficulty, 1,
                 "[\"a lesson\"]", now);
    assert_int_equal(memory_commit(st, &x.o), 0);
    outcome_free(&x);
    return id;
}

/* ---- helpers: reading the store -------------------------------------- */

static int copy_cb(void *ctx, uint64_t key, const char *val, size_t len)
{
    char **out = ctx;

    (void)key;
    *out = strndup(val, len);
    return *out ? 0 : -ENOMEM;
}

static cJSON *get_json(struct store *st, enum store_coll c, uint64_t key)
{
    struct store_view *v;
    char *text = NULL;
    cJSON *o;
    int rc;

    assert_int_equal(store_view_begin(st, &v), 0);
    rc = store_view_get(v, c, key, copy_cb, &text);
    store_view_end(v);
    if (rc == -ENOENT)
        return NULL;
    assert_int_equal(rc, 0);
    o = cJSON_Parse(text);
    free(text);
    assert_non_null(o);
    return o;
}

static int code_cb(void *ctx, uint64_t key, const char *val, size_t len)
{
    char **out = ctx;
    const char *ext, *text;
    size_t tlen;

    (void)key;
    store_code_split(val, len, &ext, &text, &tlen);
    return asprintf(out, "%s|%.*s", ext, (int)tlen, text) < 0 ? -ENOMEM : 0;
}

/* "ext|text" of an archived attempt, or NULL. */
static char *get_code(struct store *st, uint64_t id, unsigned attempt)
{
    struct store_view *v;
    char *text = NULL;
    int rc;

    assert_int_equal(store_view_begin(st, &v), 0);
    rc = store_view_get(v, STORE_COLL_CODE, STORE_CODE_KEY(id, attempt),
                        code_cb, &text);
    store_view_end(v);
    assert_true(rc == 0 || rc == -ENOENT);
    return text;
}

static cJSON *get_doc(struct store *st, const char *name)
{
    char *text = NULL;
    cJSON *o;

    assert_int_equal(store_doc_get(st, name, &text, NULL), 0);
    o = cJSON_Parse(text);
    free(text);
    assert_non_null(o);
    return o;
}

struct find_skill {
    const char *name;
    cJSON *rec;
};

static int skill_cb(void *ctx, uint64_t key, const char *val, size_t len)
{
    struct find_skill *fs = ctx;
    const char *name, *json;
    size_t jlen;

    (void)key;
    store_named_split(val, len, &name, &json, &jlen);
    if (strcmp(name, fs->name) == 0)
        fs->rec = cJSON_ParseWithLength(json, jlen);
    return 0;
}

/* The skill's record, or NULL when it has none. */
static cJSON *get_skill(struct store *st, const char *name)
{
    struct store_view *v;
    struct find_skill fs = { name, NULL };

    assert_int_equal(store_view_begin(st, &v), 0);
    assert_int_equal(store_view_skills(v, skill_cb, &fs), 0);
    store_view_end(v);
    return fs.rec;
}

static size_t count_of(struct store *st, enum store_coll c)
{
    struct store_view *v;
    size_t n;

    assert_int_equal(store_view_begin(st, &v), 0);
    n = store_view_count(v, c);
    store_view_end(v);
    return n;
}

struct lines {
    char *v[16];
    size_t n;
};

static int line_cb(void *ctx, uint64_t key, const char *val, size_t len)
{
    struct lines *l = ctx;

    (void)key;
    if (l->n < 16)
        l->v[l->n++] = strndup(val, len);
    return 0;
}

/* The last n records of a collection, oldest first. */
static void tail_of(struct store *st, enum store_coll c, size_t n,
                    struct lines *out)
{
    struct store_view *v;

    memset(out, 0, sizeof *out);
    assert_int_equal(store_view_begin(st, &v), 0);
    assert_int_equal(store_view_tail(v, c, n, line_cb, out), 0);
    store_view_end(v);
    assert_int_equal(out->n, n);
}

static void lines_free(struct lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
}

static double num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    if (!cJSON_IsNumber(v))
        fail_msg("\"%s\" is not a number", name);
    return v->valuedouble;
}

static const char *str(const cJSON *o, const char *name)
{
    const char *s = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(o, name));

    if (!s)
        fail_msg("\"%s\" is not a string", name);
    return s;
}

static const cJSON *item(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    if (!v)
        fail_msg("no \"%s\"", name);
    return v;
}

static char *task_name(uint64_t id)
{
    static char buf[STORE_ID_MAX];

    return store_id_format(id, buf);
}

/* ---- commit ------------------------------------------------------------ */

static void test_commit_passed(void **state)
{
    struct temp_store *f = *state;
    const char *skills[] = { "math", "parsing" };
    const char *concepts[] = { "Integer parsing", "modulo" };
    struct outcome x;
    uint64_t id;
    size_t scores = count_of(f->st, STORE_COLL_SCORES);
    size_t logs = count_of(f->st, STORE_COLL_SYSLOG);
    char when[32];

    id = take_task(f->st, "sum digits", "[\"math\",\"parsing\"]");
    outcome_init(&x, id, "passed", "sum digits", skills, 2, 0.7, 2,
                 "[\"check the empty string\",\"int() strips spaces\"]",
                 T0);
    x.o.concepts = concepts;
    x.o.nconcepts = 2;
    assert_int_equal(memory_commit(f->st, &x.o), 0);

    /* The task: status, attempts, score and result. */
    cJSON *t = get_json(f->st, STORE_COLL_TASKS, id);
    assert_non_null(t);
    assert_string_equal(str(t, "status"), "passed");
    assert_int_equal((int)num(t, "attempts"), 2);
    assert_true(num(item(t, "score"), "accuracy") == 1.0);
    assert_true(num(item(t, "score"), "total") == 0.9);
    assert_int_equal((int)num(item(t, "result"), "tests_passed"), 4);
    assert_string_equal(str(t, "goal"), "sum digits");
    cJSON_Delete(t);

    /* Every attempt's code, and no more. */
    for (unsigned k = 1; k <= 2; k++) {
        char *c = get_code(f->st, id, k);
        char want[128];
        assert_non_null(c);
        snprintf(want, sizeof want, "py|%s", x.codes[k - 1]);
        assert_string_equal(c, want);
        free(c);
    }
    assert_null(get_code(f->st, id, 3));

    /* Reflection and summary, as given. */
    cJSON *r = get_json(f->st, STORE_COLL_REFLECTIONS, id);
    assert_non_null(r);
    assert_string_equal(str(r, "summary"), "did sum digits");
    assert_int_equal(cJSON_GetArraySize(item(r, "lessons")), 2);
    cJSON_Delete(r);
    cJSON *s = get_json(f->st, STORE_COLL_SUMMARIES, id);
    assert_non_null(s);
    assert_string_equal(str(s, "goal"), "sum digits");
    cJSON_Delete(s);

    /* One score-log entry, naming the task, with the score's numbers. */
    assert_int_equal(count_of(f->st, STORE_COLL_SCORES), scores + 1);
    struct lines l;
    tail_of(f->st, STORE_COLL_SCORES, 1, &l);
    cJSON *e = cJSON_Parse(l.v[0]);
    assert_non_null(e);
    assert_string_equal(str(e, "task"), task_name(id));
    assert_string_equal(str(e, "status"), "passed");
    assert_string_equal(str(e, "at"), store_time_format(T0, when));
    assert_int_equal((int)num(e, "attempts"), 2);
    assert_true(num(e, "task_difficulty") == 0.7);
    assert_true(num(e, "total") == 0.9);
    assert_true(num(e, "accuracy") == 1.0);
    assert_int_equal(cJSON_GetArraySize(item(e, "skills")), 2);
    cJSON_Delete(e);
    lines_free(&l);

    /* The task's log lines, in order, with their own times. */
    assert_int_equal(count_of(f->st, STORE_COLL_SYSLOG), logs + 2);
    tail_of(f->st, STORE_COLL_SYSLOG, 2, &l);
    assert_non_null(strstr(l.v[0], "sum digits: attempt 1 started"));
    assert_non_null(strstr(l.v[1], "sum digits: ended passed"));
    assert_non_null(strstr(l.v[1], store_time_format(T0, when)));
    assert_non_null(strstr(l.v[0], store_time_format(T0 - 2, when)));
    lines_free(&l);

    /* Both skills: the rating rating.c computes for this result, the
     * counts, and the task in "recent". */
    struct rating want;
    rating_init(&want);
    assert_int_equal(rating_update(&want, 0.7, 1, T0), 0);
    for (size_t i = 0; i < 2; i++) {
        cJSON *rec = get_skill(f->st, skills[i]);
        struct rating got;
        assert_non_null(rec);
        assert_int_equal(rating_from_json(rec, &got), 0);
        assert_true(fabs(got.ability - want.ability) < 1e-9);
        assert_true(got.ability > 0);       /* a pass raises ability */
        assert_true(fabs(got.variance - want.variance) < 1e-9);
        assert_int_equal(got.attempts, 1);
        assert_int_equal(got.successes, 1);
        assert_int_equal(got.last_practised, T0);
        assert_true(fabs(num(rec, "level") - rating_level(&want)) < 1e-9);
        for (const char *const *k = (const char *const[]){
                 "rating", "uncertainty", "trend", NULL }; *k; k++)
            (void)num(rec, *k);
        assert_true(cJSON_IsBool(item(rec, "mastered")));
        assert_true(num(rec, "success_rate") == 1.0);
        const cJSON *recent = item(rec, "recent");
        assert_int_equal(cJSON_GetArraySize(recent), 1);
        const cJSON *r0 = cJSON_GetArrayItem(recent, 0);
        assert_int_equal((uint64_t)num(r0, "task"), id);
        assert_true(cJSON_IsTrue(item(r0, "passed")));
        assert_int_equal((int)num(r0, "attempt"), 2);
        cJSON_Delete(rec);
    }
    assert_null(get_skill(f->st, "strings"));   /* untouched skills: none */

    /* The profile. */
    cJSON *p = get_doc(f->st, "builder_profile");
    assert_int_equal((int)num(p, "tasks_total"), 1);
    assert_int_equal((int)num(p, "passed"), 1);
    assert_int_equal((int)num(p, "failed"), 0);
    assert_int_equal((int)num(p, "errors"), 0);
    assert_string_equal(str(p, "model"), "test-model-7b");
    assert_string_equal(str(p, "updated_at"), store_time_format(T0, when));
    /* No skill has 3 attempts yet: nothing to judge. */
    assert_true(num(p, "level") == 0);
    assert_int_equal(cJSON_GetArraySize(item(p, "strengths")), 0);
    assert_int_equal(cJSON_GetArraySize(item(p, "weaknesses")), 0);
    cJSON_Delete(p);

    /* The concepts, each once with this task. */
    cJSON *lc = get_doc(f->st, "learned_concepts");
    const cJSON *list = item(lc, "concepts");
    assert_int_equal(cJSON_GetArraySize(list), 2);
    for (int i = 0; i < 2; i++) {
        const cJSON *c = cJSON_GetArrayItem(list, i);
        assert_string_equal(str(c, "name"), concepts[i]);
        assert_int_equal((int)num(c, "count"), 1);
        assert_string_equal(str(c, "first_seen"), store_time_format(T0, when));
        assert_int_equal(cJSON_GetArraySize(item(c, "tasks")), 1);
        assert_string_equal(
            cJSON_GetStringValue(cJSON_GetArrayItem(item(c, "tasks"), 0)),
            task_name(id));
    }
    cJSON_Delete(lc);
    outcome_free(&x);
}

static void test_commit_failed_and_error(void **state)
{
    struct temp_store *f = *state;
    const char *skills[] = { "recursion" };
    struct outcome x;
    uint64_t failed, error;
    size_t scores = count_of(f->st, STORE_COLL_SCORES);

    failed = take_task(f->st, "hanoi", "[\"recursion\"]");
    outcome_init(&x, failed, "failed", "hanoi", skills, 1, 0.3, 3,
                 "[\"count the base case\"]", T0);
    assert_int_equal(memory_commit(f->st, &x.o), 0);
    outcome_free(&x);
    assert_int_equal(count_of(f->st, STORE_COLL_SCORES), scores + 1);

    error = take_task(f->st, "fib", "[\"recursion\"]");
    outcome_init(&x, error, "error", "fib", skills, 1, 0.3, 0, NULL,
                 T0 + 600);
    x.o.score_json = NULL;
    assert_int_equal(memory_commit(f->st, &x.o), 0);
    outcome_free(&x);
    /* An error is not judged: no score entry, no rating change. */
    assert_int_equal(count_of(f->st, STORE_COLL_SCORES), scores + 1);

    cJSON *t = get_json(f->st, STORE_COLL_TASKS, failed);
    assert_string_equal(str(t, "status"), "failed");
    assert_int_equal((int)num(t, "attempts"), 3);
    cJSON_Delete(t);
    t = get_json(f->st, STORE_COLL_TASKS, error);
    assert_string_equal(str(t, "status"), "error");
    assert_true(cJSON_IsNull(item(t, "score")));
    cJSON_Delete(t);
    char *c = get_code(f->st, failed, 3);
    assert_non_null(c);
    free(c);
    assert_null(get_code(f->st, error, 1));
    cJSON *r = get_json(f->st, STORE_COLL_REFLECTIONS, error);
    assert_non_null(r);
    assert_true(cJSON_IsTrue(item(r, "missing")));
    cJSON_Delete(r);

    struct rating want, got;
    rating_init(&want);
    assert_int_equal(rating_update(&want, 0.3, 0, T0), 0);
    cJSON *rec = get_skill(f->st, "recursion");
    assert_non_null(rec);
    assert_int_equal(rating_from_json(rec, &got), 0);
    assert_int_equal(got.attempts, 1);
    assert_int_equal(got.successes, 0);
    assert_true(got.ability < 0);           /* a failure lowers it */
    assert_true(fabs(got.ability - want.ability) < 1e-9);
    assert_int_equal(got.last_practised, T0);  /* the error did not count */
    assert_true(num(rec, "success_rate") == 0);
    /* The error is still the newest task of the skill, not passed. */
    const cJSON *recent = item(rec, "recent");
    assert_int_equal(cJSON_GetArraySize(recent), 2);
    assert_int_equal((uint64_t)num(cJSON_GetArrayItem(recent, 0), "task"),
                     error);
    assert_true(cJSON_IsFalse(item(cJSON_GetArrayItem(recent, 0), "passed")));
    assert_int_equal((uint64_t)num(cJSON_GetArrayItem(recent, 1), "task"),
                     failed);
    cJSON_Delete(rec);

    cJSON *p = get_doc(f->st, "builder_profile");
    assert_int_equal((int)num(p, "tasks_total"), 2);
    assert_int_equal((int)num(p, "passed"), 0);
    assert_int_equal((int)num(p, "failed"), 1);
    assert_int_equal((int)num(p, "errors"), 1);
    cJSON_Delete(p);
}

static void test_skill_counts_and_recent(void **state)
{
    struct temp_store *f = *state;
    uint64_t ids[11];
    struct rating want;
    int passes = 0;

    rating_init(&want);
    for (int i = 0; i < 11; i++) {
        int pass = i % 3 != 1;
        char goal[32];
        snprintf(goal, sizeof goal, "lists %d", i);
        ids[i] = run_task(f->st, goal, "lists", pass ? "passed" : "failed",
                          0.1 * (i % 10), T0 + 3600 * i);
        assert_int_equal(rating_update(&want, 0.1 * (i % 10), pass,
                                       T0 + 3600 * i), 0);
        passes += pass;
    }
    cJSON *rec = get_skill(f->st, "lists");
    struct rating got;
    assert_int_equal(rating_from_json(rec, &got), 0);
    assert_int_equal(got.attempts, 11);
    assert_int_equal(got.successes, passes);
    assert_true(fabs(got.ability - want.ability) < 1e-6);
    assert_true(fabs(got.trend - want.trend) < 1e-6);
    assert_true(fabs(num(rec, "success_rate") - passes / 11.0) < 1e-9);
    /* The last 8 tasks, newest first, each once. */
    const cJSON *recent = item(rec, "recent");
    assert_int_equal(cJSON_GetArraySize(recent), 8);
    for (int k = 0; k < 8; k++) {
        const cJSON *r = cJSON_GetArrayItem(recent, k);
        int i = 10 - k;
        assert_int_equal((uint64_t)num(r, "task"), ids[i]);
        assert_int_equal(cJSON_IsTrue(item(r, "passed")), i % 3 != 1);
        assert_int_equal((int)num(r, "attempt"), 1);
    }
    cJSON_Delete(rec);
}

/* "recent" lists a task once even when the caller names its skill twice
 * (the task parser deduplicates skills; memory does not rely on it). */
static void test_recent_lists_task_once(void **state)
{
    struct temp_store *f = *state;
    const char *skills[] = { "dicts", "dicts" };
    struct outcome x;
    uint64_t first, id;

    first = run_task(f->st, "dict one", "dicts", "passed", 0.5, T0);
    id = take_task(f->st, "dict two", "[\"dicts\"]");
    outcome_init(&x, id, "passed", "dict two", skills, 2, 0.5, 1,
                 "[\"x\"]", T0 + 60);
    assert_int_equal(memory_commit(f->st, &x.o), 0);
    outcome_free(&x);
    cJSON *rec = get_skill(f->st, "dicts");
    const cJSON *recent = item(rec, "recent");
    assert_int_equal(cJSON_GetArraySize(recent), 2);
    assert_int_equal((uint64_t)num(cJSON_GetArrayItem(recent, 0), "task"), id);
    assert_int_equal((uint64_t)num(cJSON_GetArrayItem(recent, 1), "task"),
                     first);
    cJSON_Delete(rec);
}

/* Seven skills with 3 results each and one with 2: the profile's level is
 * the mean of the seven levels, its strengths the top 3 by level of those
 * that passed at least 2 of 3 (60%), its weaknesses the bottom 3 of the
 * others (weakest first); the one with 2 attempts is in neither. */
static void test_profile_strengths_weaknesses(void **state)
{
    struct temp_store *f = *state;
    static const char *const names[] = { "alpha", "bravo", "charlie",
                                         "delta", "echo", "foxtrot", "golf" };
    /* passes of 3, and the difficulty: distinct levels for all seven */
    static const int passes[] = { 3, 0, 2, 1, 3, 2, 1 };
    static const double diff[] = { 0.9, 0.2, 0.6, 0.5, 0.3, 0.1, 0.8 };
    double level[7], sum = 0;
    time_t now = T0;

    for (int s = 0; s < 7; s++) {
        for (int k = 0; k < 3; k++) {
            char goal[32];
            snprintf(goal, sizeof goal, "%s %d", names[s], k);
            run_task(f->st, goal, names[s],
                     k < passes[s] ? "passed" : "failed", diff[s], now++);
        }
    }
    run_task(f->st, "hotel 0", "hotel", "passed", 1.0, now++);
    run_task(f->st, "hotel 1", "hotel", "passed", 1.0, now++);
    for (int s = 0; s < 7; s++) {
        cJSON *rec = get_skill(f->st, names[s]);
        struct rating r;
        assert_int_equal(rating_from_json(rec, &r), 0);
        assert_int_equal(r.attempts, 3);
        level[s] = rating_level(&r);
        sum += level[s];
        cJSON_Delete(rec);
    }
    /* order by level, highest first */
    int order[7];
    for (int i = 0; i < 7; i++)
        order[i] = i;
    for (int i = 0; i < 7; i++)
        for (int j = i + 1; j < 7; j++)
            if (level[order[j]] > level[order[i]]) {
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
    for (int i = 0; i + 1 < 7; i++)
        assert_true(level[order[i]] > level[order[i + 1]] + 1e-6);

    cJSON *p = get_doc(f->st, "builder_profile");
    assert_int_equal((int)num(p, "tasks_total"), 23);
    assert_true(fabs(num(p, "level") - sum / 7) < 0.0006);
    const cJSON *st = item(p, "strengths"), *wk = item(p, "weaknesses");
    assert_int_equal(cJSON_GetArraySize(st), 3);
    assert_int_equal(cJSON_GetArraySize(wk), 3);
    int ks = 0, kw = 0;
    for (int i = 0; i < 7; i++) {
        int s = order[i], w = order[6 - i];
        if (passes[s] >= 2 && ks < 3)
            assert_string_equal(cJSON_GetStringValue(
                                    cJSON_GetArrayItem(st, ks++)), names[s]);
        if (passes[w] < 2 && kw < 3)
            assert_string_equal(cJSON_GetStringValue(
                                    cJSON_GetArrayItem(wk, kw++)), names[w]);
    }
    assert_int_equal(ks, 3);
    assert_int_equal(kw, 3);
    cJSON_Delete(p);
}

/* A skill that always fails is never a strength, however few skills are
 * rated: it is a weakness once it has enough results. */
static void test_profile_few_skills(void **state)
{
    struct temp_store *f = *state;
    time_t now = T0;

    for (int k = 0; k < 3; k++) {
        run_task(f->st, "s", "strings", "passed", 0.8, now++);
        run_task(f->st, "c", "classes", "failed", 0.2, now++);
    }
    cJSON *p = get_doc(f->st, "builder_profile");
    const cJSON *st = item(p, "strengths");
    assert_int_equal(cJSON_GetArraySize(st), 1);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(st, 0)),
                        "strings");
    const cJSON *wk = item(p, "weaknesses");
    assert_int_equal(cJSON_GetArraySize(wk), 1);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetArrayItem(wk, 0)),
                        "classes");
    assert_true(num(p, "level") > 0);
    cJSON_Delete(p);
}

static void test_concepts_merge(void **state)
{
    struct temp_store *f = *state;
    const char *skills[] = { "iterators" };
    const char *first[] = { "Generators", "List comprehension" };
    const char *second[] = { "generators", "closures" };
    const char *third[] = { "GENERATORS" };
    const char *const *lists[] = { first, second, third };
    const size_t nlists[] = { 2, 2, 1 };
    uint64_t ids[3];
    char when[32];

    for (int i = 0; i < 3; i++) {
        struct outcome x;
        ids[i] = take_task(f->st, "iter", "[\"iterators\"]");
        outcome_init(&x, ids[i], "passed", "iter", skills, 1, 0.5, 1,
                     "[\"l\"]", T0 + 100 * i);
        x.o.concepts = lists[i];
        x.o.nconcepts = nlists[i];
        assert_int_equal(memory_commit(f->st, &x.o), 0);
        outcome_free(&x);
    }
    cJSON *lc = get_doc(f->st, "learned_concepts");
    const cJSON *list = item(lc, "concepts"), *c, *gen = NULL;
    assert_int_equal(cJSON_GetArraySize(list), 3);
    cJSON_ArrayForEach(c, list) {
        assert_true(strcasecmp(str(c, "name"), "generators") != 0 || !gen);
        if (strcasecmp(str(c, "name"), "generators") == 0)
            gen = c;
    }
    assert_non_null(gen);
    /* The first spelling and time stay; every task is listed, in order. */
    assert_string_equal(str(gen, "name"), "Generators");
    assert_string_equal(str(gen, "first_seen"), store_time_format(T0, when));
    assert_int_equal((int)num(gen, "count"), 3);
    const cJSON *tasks = item(gen, "tasks");
    assert_int_equal(cJSON_GetArraySize(tasks), 3);
    for (int i = 0; i < 3; i++)
        assert_string_equal(
            cJSON_GetStringValue(cJSON_GetArrayItem(tasks, i)),
            task_name(ids[i]));
    cJSON_ArrayForEach(c, list) {
        if (strcmp(str(c, "name"), "closures") == 0) {
            assert_int_equal((int)num(c, "count"), 1);
            assert_string_equal(str(c, "first_seen"),
                                store_time_format(T0 + 100, when));
        }
    }
    cJSON_Delete(lc);
}

/* A reflection naming one concept twice (in two spellings) teaches it
 * once: the concept lists its task once. */
static void test_concepts_repeated_in_one_task(void **state)
{
    struct temp_store *f = *state;
    const char *skills[] = { "parsing" };
    const char *concepts[] = { "Regex", "regex" };
    struct outcome x;
    uint64_t id;

    id = take_task(f->st, "parse", "[\"parsing\"]");
    outcome_init(&x, id, "passed", "parse", skills, 1, 0.5, 1, "[\"l\"]", T0);
    x.o.concepts = concepts;
    x.o.nconcepts = 2;
    assert_int_equal(memory_commit(f->st, &x.o), 0);
    outcome_free(&x);
    cJSON *lc = get_doc(f->st, "learned_concepts");
    const cJSON *list = item(lc, "concepts");
    assert_int_equal(cJSON_GetArraySize(list), 1);
    const cJSON *c = cJSON_GetArrayItem(list, 0);
    assert_int_equal(cJSON_GetArraySize(item(c, "tasks")), 1);
    assert_int_equal((int)num(c, "count"), 1);
    cJSON_Delete(lc);
}

/* learned_concepts is rewritten whole with every result, so it is capped
 * (MEMORY_CONCEPTS_MAX): a new concept in a full list takes the place of
 * the least taught one, the first seen of equal counts; the others and
 * their counts stay. */
static void test_concepts_capped(void **state)
{
    struct temp_store *f = *state;
    const char *skills[] = { "parsing" };
    const char *concepts[] = { "brand new", "c1" };
    struct outcome x;
    uint64_t id;
    cJSON *doc = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(doc, "concepts");

    /* A full list: every concept taught twice but c1 and c2, once. */
    for (int i = 0; i < MEMORY_CONCEPTS_MAX; i++) {
        char name[32];
        cJSON *c = cJSON_CreateObject();
        snprintf(name, sizeof name, "c%d", i);
        cJSON_AddStringToObject(c, "name", name);
        cJSON_AddNumberToObject(c, "count", i == 1 || i == 2 ? 1 : 2);
        cJSON_AddStringToObject(c, "first_seen", "2026-01-01T00:00:00Z");
        cJSON_AddArrayToObject(c, "tasks");
        cJSON_AddItemToArray(list, c);
    }
    char *text = cJSON_PrintUnformatted(doc);
    assert_int_equal(store_doc_put(f->st, "learned_concepts", text), 0);
    cJSON_free(text);
    cJSON_Delete(doc);

    /* c1 is taught again first (count 2), so the new one replaces c2. */
    id = take_task(f->st, "parse", "[\"parsing\"]");
    outcome_init(&x, id, "passed", "parse", skills, 1, 0.5, 1, "[\"l\"]", T0);
    x.o.concepts = concepts + 1;
    x.o.nconcepts = 1;
    assert_int_equal(memory_commit(f->st, &x.o), 0);
    outcome_free(&x);
    id = take_task(f->st, "parse more", "[\"parsing\"]");
    outcome_init(&x, id, "passed", "parse more", skills, 1, 0.5, 1,
                 "[\"l\"]", T0 + 60);
    x.o.concepts = concepts;
    x.o.nconcepts = 1;
    assert_int_equal(memory_commit(f->st, &x.o), 0);
    outcome_free(&x);

    cJSON *lc = get_doc(f->st, "learned_concepts");
    const cJSON *c;
    int seen_new = 0, seen_c1 = 0, seen_c2 = 0;
    list = (cJSON *)item(lc, "concepts");
    assert_int_equal(cJSON_GetArraySize(list), MEMORY_CONCEPTS_MAX);
    cJSON_ArrayForEach(c, list) {
        seen_new += !strcmp(str(c, "name"), "brand new");
        seen_c2 += !strcmp(str(c, "name"), "c2");
        if (!strcmp(str(c, "name"), "c1")) {
            seen_c1++;
            assert_int_equal((int)num(c, "count"), 2);
        }
    }
    assert_int_equal(seen_new, 1);
    assert_int_equal(seen_c1, 1);
    assert_int_equal(seen_c2, 0);
    cJSON_Delete(lc);
}

/* A finished task cannot be finished again, and the failed attempt writes
 * nothing at all. */
static void test_second_commit_refused(void **state)
{
    struct temp_store *f = *state;
    const char *skills[] = { "sorting" };
    const char *concepts[] = { "stability" };
    struct outcome x;
    uint64_t id;

    id = take_task(f->st, "sort", "[\"sorting\"]");
    outcome_init(&x, id, "passed", "sort", skills, 1, 0.5, 1, "[\"l\"]", T0);
    assert_int_equal(memory_commit(f->st, &x.o), 0);
    outcome_free(&x);

    size_t scores = count_of(f->st, STORE_COLL_SCORES);
    size_t logs = count_of(f->st, STORE_COLL_SYSLOG);
    size_t codes = count_of(f->st, STORE_COLL_CODE);
    char *profile = NULL, *lc = NULL;
    assert_int_equal(store_doc_get(f->st, "builder_profile", &profile, NULL),
                     0);
    assert_int_equal(store_doc_get(f->st, "learned_concepts", &lc, NULL), 0);
    cJSON *before = get_skill(f->st, "sorting");

    outcome_init(&x, id, "failed", "sort again", skills, 1, 0.5, 3,
                 "[\"m\"]", T0 + 60);
    x.o.concepts = concepts;
    x.o.nconcepts = 1;
    assert_int_equal(memory_commit(f->st, &x.o), -EINVAL);
    outcome_free(&x);

    assert_int_equal(count_of(f->st, STORE_COLL_SCORES), scores);
    assert_int_equal(count_of(f->st, STORE_COLL_SYSLOG), logs);
    assert_int_equal(count_of(f->st, STORE_COLL_CODE), codes);
    assert_null(get_code(f->st, id, 3));
    cJSON *after = get_skill(f->st, "sorting");
    assert_true(cJSON_Compare(before, after, 1));
    char *profile2 = NULL, *lc2 = NULL;
    assert_int_equal(store_doc_get(f->st, "builder_profile", &profile2, NULL),
                     0);
    assert_int_equal(store_doc_get(f->st, "learned_concepts", &lc2, NULL), 0);
    assert_string_equal(profile, profile2);
    assert_string_equal(lc, lc2);
    cJSON *t = get_json(f->st, STORE_COLL_TASKS, id);
    assert_string_equal(str(t, "status"), "passed");
    cJSON_Delete(t);
    cJSON *r = get_json(f->st, STORE_COLL_REFLECTIONS, id);
    assert_string_equal(str(r, "summary"), "did sort");
    cJSON_Delete(r);
    cJSON_Delete(before);
    cJSON_Delete(after);
    free(profile);
    free(profile2);
    free(lc);
    free(lc2);

    /* Nor can a task that does not exist. */
    outcome_init(&x, id + 1000, "passed", "ghost", skills, 1, 0.5, 1,
                 "[\"l\"]", T0);
    assert_int_equal(memory_commit(f->st, &x.o), -ENOENT);
    outcome_free(&x);
    assert_int_equal(count_of(f->st, STORE_COLL_SCORES), scores);
}

/* ---- recall ------------------------------------------------------------ */

/* Commits a finished task with goal, visible tests, one skill, status and
 * lesson (JSON array text); held_out marks the outcome (and, with
 * doc_held_out, the task document) as an evaluation task. */
static uint64_t remember(struct store *st, const char *goal,
                         const char *tests, const char *skill,
                         const char *status, const char *lessons,
                         int held_out, int doc_held_out, time_t now)
{
    char *def = NULL;
    const char *skills[1] = { skill };
    struct outcome x;
    uint64_t id, got;
    cJSON *d = cJSON_CreateObject();

    cJSON_AddStringToObject(d, "goal", goal);
    if (tests)
        cJSON_AddStringToObject(d, "tests", tests);
    cJSON_AddItemToObject(d, "skills", cJSON_CreateStringArray(skills, 1));
    if (doc_held_out)
        cJSON_AddBoolToObject(d, "held_out", 1);
    def = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    struct store_task_new t = { def, 0, STORE_SOURCE_USER };
    assert_int_equal(store_task_enqueue(st, &t, 1, &id), 0);
    assert_int_equal(store_task_dequeue(st, &got, NULL), 0);
    assert_int_equal(got, id);
    free(def);
    outcome_init(&x, id, status, goal, skills, 1, 0.5,
                 strcmp(status, "error") == 0 ? 0 : 1, lessons, now);
    x.o.tests = tests;
    x.o.held_out = held_out;
    assert_int_equal(memory_commit(st, &x.o), 0);
    outcome_free(&x);
    return id;
}

/* Recalls for a query of goal, tests and one skill (NULL: none). */
static void recall_for(struct store *st, const char *goal, const char *tests,
                       const char *skill, uint64_t self, size_t max,
                       struct memory_recall *r)
{
    const char *skills[1] = { skill };
    struct memory_query q = {
        .self = self, .goal = goal, .tests = tests, .skills = skills,
        .nskills = skill ? 1 : 0, .max_items = max,
    };

    assert_int_equal(memory_recall(st, &q, r), 0);
    assert_true(r->n <= max);
}

/* The index of the first item of kind whose goal is goal, or -1. */
static int find_item(const struct memory_recall *r, const char *kind,
                     const char *goal)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->items[i].kind, kind) == 0 &&
            strcmp(r->items[i].goal, goal) == 0)
            return (int)i;
    return -1;
}

#define REVERSE_GOAL "reverse the order of the words in a sentence"
#define REVERSE_TESTS "assert reverse_words('hello big world') == " \
                      "'world big hello'"
#define VOWEL_GOAL "count the vowels in a string"

/* The right memory and a distractor compete: the distractor shares the
 * query's skill and is newer, the right one solved the same problem under
 * another skill. The right one comes first and alone gives its code. */
static void test_recall_same_problem_beats_same_skill(void **state)
{
    struct temp_store *f = *state;
    struct memory_recall r;

    remember(f->st, REVERSE_GOAL, REVERSE_TESTS, "lists", "passed",
             "[\"split, reverse the list, join with spaces\"]", 0, 0, T0);
    remember(f->st, VOWEL_GOAL, "assert count_vowels('banana') == 3",
             "strings", "passed", "[\"lowercase before counting\"]", 0, 0,
             T0 + 10);
    for (int i = 0; i < 5; i++)     /* noise: other problems, other skills */
        remember(f->st, i % 2 ? "sum the digits of a number"
                              : "merge two sorted arrays into one",
                 NULL, "math", "passed", "[\"mind the empty case\"]", 0, 0,
                 T0 + 20 + i);

    recall_for(f->st, "Reverse the words of a sentence.",
               "assert reverse_words('a b') == 'b a'", "strings", 0, 4, &r);
    assert_true(r.n >= 2);
    assert_string_equal(r.items[0].kind, "lesson");
    assert_string_equal(r.items[0].goal, REVERSE_GOAL);
    assert_string_equal(r.items[0].text,
                        "split, reverse the list, join with spaces");
    int code = find_item(&r, "solved", REVERSE_GOAL);
    assert_true(code > 0);
    assert_non_null(strstr(r.items[code].text, REVERSE_GOAL));
    /* The same-skill distractor shares no word: a skill alone never
     * recalls a task; the other skill's noise neither. */
    assert_int_equal(find_item(&r, "lesson", VOWEL_GOAL), -1);
    assert_int_equal(find_item(&r, "solved", VOWEL_GOAL), -1);
    for (size_t i = 0; i < r.n; i++) {
        assert_string_not_equal(r.items[i].goal, "sum the digits of a number");
        assert_string_not_equal(r.items[i].goal,
                                "merge two sorted arrays into one");
    }
    /* Lessons first, then code. */
    for (size_t i = 1; i < r.n; i++)
        if (strcmp(r.items[i - 1].kind, "solved") == 0)
            assert_string_equal(r.items[i].kind, "solved");
    memory_recall_free(&r);

    /* The distractor's own problem finds the distractor first. */
    recall_for(f->st, "How many vowels does a string have?",
               "assert count_vowels('sky') == 0", "lists", 0, 4, &r);
    assert_true(r.n >= 1);
    assert_string_equal(r.items[0].goal, VOWEL_GOAL);
    memory_recall_free(&r);
}

/* Between two equally close tasks, a shared skill decides, whatever the
 * age; with no shared skill the newer comes first. */
static void test_recall_skill_boost(void **state)
{
    struct temp_store *f = *state;
    struct memory_recall r;

    remember(f->st, "parse a date string into day month year", NULL,
             "parsing", "failed", "[\"older, shares the skill\"]", 0, 0, T0);
    remember(f->st, "parse a date string into day month year", NULL,
             "dates", "failed", "[\"newer, other skill\"]", 0, 0, T0 + 1);

    recall_for(f->st, "parse a date string", NULL, "parsing", 0, 4, &r);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.items[0].text, "older, shares the skill");
    assert_string_equal(r.items[1].text, "newer, other skill");
    memory_recall_free(&r);

    recall_for(f->st, "parse a date string", NULL, NULL, 0, 4, &r);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.items[0].text, "newer, other skill");
    memory_recall_free(&r);

    /* Failed tasks give lessons, never code. */
    recall_for(f->st, "parse a date string", NULL, "dates", 0, 4, &r);
    assert_int_equal(find_item(&r, "solved", "parse a date string into day "
                                             "month year"), -1);
    memory_recall_free(&r);
}

/* Lessons of the closest tasks first, then code of at most
 * RECALL_CODE_MAX passed ones, within max_items; never the task itself. */
static void test_recall_order_and_limits(void **state)
{
    struct temp_store *f = *state;
    struct memory_recall r;
    uint64_t ids[6];
    char goals[6][64];

    for (int i = 0; i < 6; i++) {
        snprintf(goals[i], sizeof goals[i],
                 "flatten a nested list of lists variant%d", i);
        ids[i] = remember(f->st, goals[i], NULL, "lists",
                          i == 5 ? "failed" : "passed",
                          i == 3 ? NULL : "[\"recurse on sublists\"]", 0, 0,
                          T0 + i);
    }
    recall_for(f->st, "flatten a nested list", NULL, "lists", 0, 10, &r);
    /* Five lessons (task 3 has none), then two pieces of code. */
    assert_int_equal(r.n, 7);
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(r.items[i].kind, "lesson");
    for (size_t i = 5; i < 7; i++) {
        assert_string_equal(r.items[i].kind, "solved");
        /* Passed tasks only: the newest passed are 4 and 3. */
        assert_string_equal(r.items[i].goal, goals[i == 5 ? 4 : 3]);
        assert_non_null(strstr(r.items[i].text, goals[i == 5 ? 4 : 3]));
    }
    memory_recall_free(&r);

    /* With room for 4: two lessons, two pieces of code; for 1: a lesson. */
    recall_for(f->st, "flatten a nested list", NULL, "lists", 0, 4, &r);
    assert_int_equal(r.n, 4);
    assert_string_equal(r.items[0].kind, "lesson");
    assert_string_equal(r.items[1].kind, "lesson");
    assert_string_equal(r.items[2].kind, "solved");
    assert_string_equal(r.items[3].kind, "solved");
    memory_recall_free(&r);
    recall_for(f->st, "flatten a nested list", NULL, "lists", 0, 1, &r);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.items[0].kind, "lesson");
    memory_recall_free(&r);

    /* Never the asking task. */
    recall_for(f->st, goals[5], NULL, "lists", ids[5], 10, &r);
    for (size_t i = 0; i < r.n; i++)
        assert_string_not_equal(r.items[i].goal, goals[5]);
    assert_true(r.n > 0);
    memory_recall_free(&r);

    /* The skill alone, or a single word of several, recalls nothing. */
    recall_for(f->st, "compute the determinant of a matrix", NULL, "lists",
               0, 4, &r);
    assert_int_equal(r.n, 0);
    memory_recall_free(&r);
    recall_for(f->st, "flatten the determinant of a matrix", NULL, "lists",
               0, 4, &r);
    assert_int_equal(r.n, 0);
    memory_recall_free(&r);

    /* Nothing close, no goal, no room: nothing. */
    recall_for(f->st, "compute the determinant of a matrix", NULL, "math", 0,
               4, &r);
    assert_int_equal(r.n, 0);
    memory_recall_free(&r);
    recall_for(f->st, "flatten a nested list", NULL, "lists", 0, 0, &r);
    assert_int_equal(r.n, 0);
    memory_recall_free(&r);
    struct memory_query q = { .max_items = 4 };
    assert_int_equal(memory_recall(f->st, &q, &r), 0);
    assert_int_equal(r.n, 0);
    memory_recall_free(&r);
}

/* An empty memory recalls nothing. */
static void test_recall_empty(void **state)
{
    struct temp_store *f = *state;
    struct memory_recall r;

    recall_for(f->st, "reverse a string", "assert rev('ab') == 'ba'",
               "strings", 0, 4, &r);
    assert_int_equal(r.n, 0);
    memory_recall_free(&r);
}

/* Held-out tasks are never recalled: not for other tasks, not for their
 * siblings, not even for the very same problem; their results still count
 * in the skill's rating and the profile, but not in "recent". */
static void test_recall_never_held_out(void **state)
{
    struct temp_store *f = *state;
    struct memory_recall r;
    uint64_t train, held[2];

    train = remember(f->st, REVERSE_GOAL, NULL, "strings", "passed",
                     "[\"training lesson\"]", 0, 0, T0);
    held[0] = remember(f->st, "reverse the words in a sentence, held out",
                       REVERSE_TESTS, "strings", "passed",
                       "[\"held-out lesson\"]", 1, 1, T0 + 1);
    held[1] = remember(f->st, "reverse each word of a sentence, held out",
                       REVERSE_TESTS, "strings", "failed",
                       "[\"held-out lesson\"]", 1, 1, T0 + 2);

    /* For another task, for a sibling, for the same problem. */
    const char *goals[] = { "reverse the words of a sentence",
                            "reverse each word of a sentence, held out",
                            "reverse the words in a sentence, held out" };
    uint64_t selves[] = { 0, held[1], 0 };
    for (size_t g = 0; g < 3; g++) {
        recall_for(f->st, goals[g], REVERSE_TESTS, "strings", selves[g], 10,
                   &r);
        assert_true(r.n >= 1);      /* the training task */
        for (size_t i = 0; i < r.n; i++) {
            assert_string_equal(r.items[i].goal, REVERSE_GOAL);
            assert_null(strstr(r.items[i].text, "held"));
        }
        memory_recall_free(&r);
    }

    /* Not even in the index: one document, and no word only they hold. */
    struct store_view *v;
    struct store_text_stats stats;
    struct store_posting post[4];
    size_t n;
    uint64_t df;
    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_view_text_stats(v, &stats), 0);
    assert_int_equal(stats.docs, 1);
    assert_int_equal(store_view_text_postings(v, "held", post, 4, &n, &df), 0);
    assert_int_equal(df, 0);
    assert_int_equal(store_view_text_postings(v, "reverse", post, 4, &n, &df),
                     0);
    assert_int_equal(df, 1);
    assert_int_equal(post[0].doc, train);
    store_view_end(v);

    /* Counted: three attempts in the rating, two passes in the profile. */
    cJSON *rec = get_skill(f->st, "strings");
    assert_non_null(rec);
    assert_int_equal(cJSON_GetObjectItem(rec, "attempts")->valueint, 3);
    const cJSON *recent = cJSON_GetObjectItem(rec, "recent");
    assert_int_equal(cJSON_GetArraySize(recent), 1);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(recent, 0),
                                         "task")->valueint, (int)train);
    cJSON_Delete(rec);
    cJSON *profile = get_doc(f->st, "builder_profile");
    assert_int_equal(cJSON_GetObjectItem(profile, "tasks_total")->valueint, 3);
    assert_int_equal(cJSON_GetObjectItem(profile, "passed")->valueint, 2);
    cJSON_Delete(profile);

    /* A task whose document says held out is refused at recall even if it
     * was indexed (by an older version, or marked later). */
    remember(f->st, "rotate a matrix by ninety degrees", NULL, "math",
             "passed", "[\"indexed but held out\"]", 0, 1, T0 + 3);
    recall_for(f->st, "rotate a matrix by ninety degrees", NULL, "math", 0,
               10, &r);
    assert_int_equal(r.n, 0);
    memory_recall_free(&r);
}

/* A task of two skills is recalled once for both. */
static void test_recall_shared_task_once(void **state)
{
    struct temp_store *f = *state;
    const char *two[] = { "classes", "dicts" };
    struct outcome x;
    struct memory_recall r;
    uint64_t id;

    id = take_task(f->st, "class registry", "[\"classes\",\"dicts\"]");
    outcome_init(&x, id, "passed", "class registry", two, 2, 0.5, 1,
                 "[\"use a dict of classes\"]", T0);
    assert_int_equal(memory_commit(f->st, &x.o), 0);
    outcome_free(&x);
    struct memory_query q = { .goal = "a class registry", .skills = two,
                              .nskills = 2, .max_items = 10 };
    assert_int_equal(memory_recall(f->st, &q, &r), 0);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.items[0].kind, "lesson");
    assert_string_equal(r.items[1].kind, "solved");
    assert_string_equal(r.items[0].goal, "class registry");
    memory_recall_free(&r);
}

/* ---- concurrency ------------------------------------------------------- */

#define PER_THREAD 12

struct worker {
    struct store *st;
    uint64_t ids[PER_THREAD];
    int failures;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    const char *skills[] = { "error handling" };

    /* cmocka's asserts belong to the main thread: count failures. */
    for (int i = 0; i < PER_THREAD; i++) {
        struct outcome x;
        outcome_init(&x, w->ids[i], i % 2 ? "failed" : "passed", "conc",
                     skills, 1, 0.5, 1, "[\"l\"]", T0 + i);
        if (memory_commit(w->st, &x.o) != 0)
            w->failures++;
        outcome_free(&x);
    }
    return NULL;
}

static void test_concurrent_commits(void **state)
{
    struct temp_store *f = *state;
    struct worker w[2];
    pthread_t th[2];
    size_t scores = count_of(f->st, STORE_COLL_SCORES);

    /* Tasks are taken first, so the threads do nothing but commit and
     * collide as often as they can. */
    for (int k = 0; k < 2; k++) {
        w[k].st = f->st;
        w[k].failures = 0;
        for (int i = 0; i < PER_THREAD; i++)
            w[k].ids[i] = take_task(f->st, "conc", "[\"error handling\"]");
    }
    for (int k = 0; k < 2; k++)
        assert_int_equal(pthread_create(&th[k], NULL, worker_main, &w[k]), 0);
    for (int k = 0; k < 2; k++)
        assert_int_equal(pthread_join(th[k], NULL), 0);
    assert_int_equal(w[0].failures + w[1].failures, 0);

    cJSON *rec = get_skill(f->st, "error handling");
    struct rating got;
    assert_int_equal(rating_from_json(rec, &got), 0);
    assert_int_equal(got.attempts, 2 * PER_THREAD);
    assert_int_equal(got.successes, PER_THREAD);
    /* "recent" holds 8 distinct tasks of the 24. */
    const cJSON *recent = item(rec, "recent");
    assert_int_equal(cJSON_GetArraySize(recent), 8);
    for (int i = 0; i < 8; i++)
        for (int j = i + 1; j < 8; j++)
            assert_true(num(cJSON_GetArrayItem(recent, i), "task") !=
                        num(cJSON_GetArrayItem(recent, j), "task"));
    cJSON_Delete(rec);
    cJSON *p = get_doc(f->st, "builder_profile");
    assert_int_equal((int)num(p, "tasks_total"), 2 * PER_THREAD);
    assert_int_equal((int)num(p, "passed"), PER_THREAD);
    assert_int_equal((int)num(p, "failed"), PER_THREAD);
    cJSON_Delete(p);
    assert_int_equal(count_of(f->st, STORE_COLL_SCORES),
                     scores + 2 * PER_THREAD);
}

/* ---- failures inside the commit ----------------------------------------- */

/* The build links this test with -Wl,--wrap=mdb_get, so that every read
 * of the store goes through here: a read of the key named in fail_key
 * fails as a disk would (EIO), the others go to LMDB. Only the test's own
 * thread sets it, between calls. */
static const char *fail_key;

int __real_mdb_get(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data);
int __wrap_mdb_get(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data);

int __wrap_mdb_get(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data)
{
    if (fail_key && key->mv_size == strlen(fail_key) &&
        memcmp(key->mv_data, fail_key, key->mv_size) == 0)
        return EIO;
    return __real_mdb_get(txn, dbi, key, data);
}

/* A read that fails inside the commit fails the commit: the profile and
 * the learned concepts are never rewritten from an empty start, and the
 * task stays running, to be committed again. */
static void test_failed_read_rewrites_nothing(void **state)
{
    struct temp_store *f = *state;
    static const char *const docs[] = { "builder_profile",
                                         "learned_concepts" };
    const char *skills[] = { "recursion" };
    const char *concepts[] = { "base case" };

    run_task(f->st, "first", "recursion", "passed", 0.5, T0);
    for (size_t d = 0; d < 2; d++) {
        char *before_p = NULL, *before_c = NULL, *after = NULL;
        size_t scores = count_of(f->st, STORE_COLL_SCORES);
        uint64_t id = take_task(f->st, "second", "[\"recursion\"]");
        struct outcome x;

        assert_int_equal(store_doc_get(f->st, "builder_profile", &before_p,
                                       NULL), 0);
        assert_int_equal(store_doc_get(f->st, "learned_concepts", &before_c,
                                       NULL), 0);
        outcome_init(&x, id, "failed", "second", skills, 1, 0.5, 1,
                     "[\"l\"]", T0 + 10);
        x.o.concepts = concepts;
        x.o.nconcepts = 1;
        fail_key = docs[d];
        assert_int_equal(memory_commit(f->st, &x.o), -EIO);
        fail_key = NULL;
        assert_int_equal(store_doc_get(f->st, "builder_profile", &after,
                                       NULL), 0);
        assert_string_equal(after, before_p);
        free(after);
        assert_int_equal(store_doc_get(f->st, "learned_concepts", &after,
                                       NULL), 0);
        assert_string_equal(after, before_c);
        free(after);
        assert_int_equal(count_of(f->st, STORE_COLL_SCORES), scores);
        cJSON *task = get_json(f->st, STORE_COLL_TASKS, id);
        assert_string_equal(cJSON_GetStringValue(item(task, "status")),
                            "running");
        cJSON_Delete(task);

        /* Once reads work again, the same commit goes through and adds
         * to what was there. */
        assert_int_equal(memory_commit(f->st, &x.o), 0);
        cJSON *p = get_doc(f->st, "builder_profile");
        assert_int_equal((int)num(p, "tasks_total"), 2 + (int)d);
        cJSON_Delete(p);
        cJSON *c = get_doc(f->st, "learned_concepts");
        const cJSON *first = cJSON_GetArrayItem(item(c, "concepts"), 0);
        assert_string_equal(cJSON_GetStringValue(item(first, "name")),
                            "base case");
        assert_int_equal((int)num(first, "count"), 1 + (int)d);
        cJSON_Delete(c);
        outcome_free(&x);
        free(before_p);
        free(before_c);
    }
}

/* A commit that fills the map is run again on a larger one (store.h): the
 * records it computes from what it reads are computed again from the
 * store, not added twice. */
static void test_commit_retried_on_map_growth(void **state)
{
    struct temp_store *f = *state;
    struct store_options opt = { .map_size = 64 * 1024 };
    const char *skills[] = { "graphs" };
    char err[256];
    enum { N = 6 };

    store_close(f->st);
    assert_int_equal(store_open(f->dir, &opt, &f->st, err, sizeof err), 0);
    for (int i = 0; i < N; i++) {
        uint64_t id = take_task(f->st, "big", "[\"graphs\"]");
        struct outcome x;
        size_t big = 96 * 1024;         /* more than the map had at first */
        char *code = malloc(big + 1);

        assert_non_null(code);
        memset(code, 'x', big);
        code[big] = '\0';
        outcome_init(&x, id, i % 2 ? "failed" : "passed", "big", skills, 1,
                     0.5, 1, "[\"l\"]", T0 + i);
        x.code[0].text = code;
        x.code[0].len = big;
        assert_int_equal(memory_commit(f->st, &x.o), 0);
        outcome_free(&x);
        free(code);
    }
    cJSON *p = get_doc(f->st, "builder_profile");
    assert_int_equal((int)num(p, "tasks_total"), N);
    assert_int_equal((int)num(p, "passed"), N / 2);
    cJSON_Delete(p);
    cJSON *rec = get_skill(f->st, "graphs");
    struct rating got;
    assert_int_equal(rating_from_json(rec, &got), 0);
    assert_int_equal(got.attempts, N);
    cJSON_Delete(rec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commit_passed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_failed_and_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_skill_counts_and_recent, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_recent_lists_task_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_profile_strengths_weaknesses,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_profile_few_skills, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_concepts_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concepts_capped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_concepts_repeated_in_one_task,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_commit_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_recall_same_problem_beats_same_skill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recall_skill_boost, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_recall_order_and_limits, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_recall_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recall_never_held_out, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_recall_shared_task_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_commits, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_failed_read_rewrites_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_retried_on_map_growth,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
