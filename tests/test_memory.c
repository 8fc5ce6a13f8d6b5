/* test_memory.c -- the Builder's memory on a real store.
 *
 * memory_commit writes a task's outcome with the skill records, profile
 * and learned concepts in one transaction; memory_recall reads back the
 * lessons and solved code of the same skills.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "agents/memory.h"
#include "store/store.h"

struct fixture {
    char dir[64];
    struct store *st;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[256];

    if (!f)
        return -1;
    strcpy(f->dir, "/tmp/test_memory.XXXXXX");
    if (!mkdtemp(f->dir) || store_open(f->dir, NULL, &f->st, err,
                                       sizeof err) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];

    store_close(f->st);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* Enqueues and dequeues one task of skill 'skill'; returns its id. */
static uint64_t running_task(struct store *st, const char *goal,
                             const char *skill)
{
    char def[256];
    struct store_task_new t = { def, 0, STORE_SOURCE_USER };
    uint64_t id, got;

    snprintf(def, sizeof def, "{\"goal\":\"%s\",\"skills\":[\"%s\"]}", goal,
             skill);
    assert_int_equal(store_task_enqueue(st, &t, 1, &id), 0);
    assert_int_equal(store_task_dequeue(st, &got, NULL), 0);
    assert_int_equal(got, id);
    return id;
}

static int commit(struct store *st, uint64_t id, const char *status,
                  const char *skill, const char *code, const char *lesson,
                  const char *const *concepts, size_t nconcepts)
{
    const char *skills[] = { skill };
    struct store_code c = { 1, "py", code, code ? strlen(code) : 0 };
    char refl[256];
    struct store_log_entry log = { STORE_LOG_SYSTEM, 0, "committed" };

    snprintf(refl, sizeof refl, "{\"summary\":\"s\",\"lessons\":[\"%s\"]}",
             lesson);
    struct memory_outcome o = {
        .id = id, .status = status, .attempts = 1, .skills = skills,
        .nskills = 1, .difficulty = 0.5, .final_attempt = code ? 1 : 0,
        .score_json = strcmp(status, "error") ? "{\"total\":0.8}" : NULL,
        .result_json = "{\"tests_passed\":1}", .code = code ? &c : NULL,
        .ncode = code ? 1 : 0, .reflection_json = refl,
        .summary_json = "{\"summary\":\"s\"}", .concepts = concepts,
        .nconcepts = nconcepts, .model = "m", .now = 1700000000,
        .logs = &log, .nlogs = 1,
    };
    return memory_commit(st, &o);
}

static int copy_cb(void *ctx, uint64_t key, const char *val, size_t len)
{
    char **out = ctx;

    (void)key;
    *out = strndup(val, len);
    return 0;
}

static cJSON *doc(struct store *st, const char *name)
{
    char *text = NULL;
    cJSON *o;

    assert_int_equal(store_doc_get(st, name, &text, NULL), 0);
    o = cJSON_Parse(text);
    free(text);
    assert_non_null(o);
    return o;
}

static int skill_cb(void *ctx, uint64_t key, const char *val, size_t len)
{
    void **c = ctx;
    const char *name, *json;
    size_t jlen;

    (void)key;
    store_named_split(val, len, &name, &json, &jlen);
    if (strcmp(name, c[0]) == 0)
        c[1] = cJSON_ParseWithLength(json, jlen);
    return 0;
}

static cJSON *skill_record(struct store *st, const char *name)
{
    struct store_view *v;
    void *c[2] = { (void *)name, NULL };

    assert_int_equal(store_view_begin(st, &v), 0);
    assert_int_equal(store_view_skills(v, skill_cb, c), 0);
    store_view_end(v);
    return c[1];
}

static size_t count(struct store *st, enum store_coll coll)
{
    struct store_view *v;
    size_t n;

    assert_int_equal(store_view_begin(st, &v), 0);
    n = store_view_count(v, coll);
    store_view_end(v);
    return n;
}

static void test_commit_everything(void **state)
{
    struct fixture *f = *state;
    const char *concepts[] = { "Arithmetic", "loops" };
    const char *again[] = { "arithmetic" };
    uint64_t a = running_task(f->st, "square a number", "math");
    uint64_t b = running_task(f->st, "cube a number", "math");
    uint64_t c = running_task(f->st, "break it", "math");

    assert_int_equal(commit(f->st, a, "passed", "math", "def sq(x): pass",
                            "multiply", concepts, 2), 0);
    assert_int_equal(commit(f->st, b, "failed", "math", "def cu(x): pass",
                            "cube it", again, 1), 0);
    assert_int_equal(commit(f->st, c, "error", "math", NULL, "none",
                            NULL, 0), 0);

    cJSON *rec = skill_record(f->st, "math");
    assert_non_null(rec);
    /* the error did not move the rating */
    assert_int_equal(cJSON_GetObjectItem(rec, "attempts")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(rec, "successes")->valueint, 1);
    assert_true(cJSON_GetObjectItem(rec, "success_rate")->valuedouble == 0.5);
    cJSON *recent = cJSON_GetObjectItem(rec, "recent");
    assert_int_equal(cJSON_GetArraySize(recent), 3);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(recent, 0),
                                         "task")->valueint, (int)c);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(recent, 2),
                                         "task")->valueint, (int)a);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(
        cJSON_GetArrayItem(recent, 2), "passed")));
    cJSON_Delete(rec);

    cJSON *prof = doc(f->st, "builder_profile");
    assert_int_equal(cJSON_GetObjectItem(prof, "tasks_total")->valueint, 3);
    assert_int_equal(cJSON_GetObjectItem(prof, "passed")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(prof, "failed")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(prof, "errors")->valueint, 1);
    assert_string_equal(cJSON_GetObjectItem(prof, "model")->valuestring, "m");
    cJSON_Delete(prof);

    cJSON *lc = doc(f->st, "learned_concepts");
    cJSON *list = cJSON_GetObjectItem(lc, "concepts");
    assert_int_equal(cJSON_GetArraySize(list), 2);     /* merged, any case */
    cJSON *arith = cJSON_GetArrayItem(list, 0);
    assert_int_equal(cJSON_GetObjectItem(arith, "count")->valueint, 2);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(arith, "tasks")),
                     2);
    cJSON_Delete(lc);

    /* one score entry per judged task; the log lines came along */
    assert_int_equal(count(f->st, STORE_COLL_SCORES), 2);
    assert_int_equal(count(f->st, STORE_COLL_REFLECTIONS), 3);
    assert_int_equal(count(f->st, STORE_COLL_CODE), 2);
    struct store_view *v;
    char *task = NULL;
    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_view_get(v, STORE_COLL_TASKS, a, copy_cb, &task),
                     0);
    store_view_end(v);
    assert_non_null(strstr(task, "\"status\":\"passed\""));
    free(task);
    size_t logs = count(f->st, STORE_COLL_SYSLOG);

    /* a task ends once: the second commit writes nothing */
    assert_int_equal(commit(f->st, a, "passed", "math", "x", "y", NULL, 0),
                     -EINVAL);
    assert_int_equal(count(f->st, STORE_COLL_SCORES), 2);
    assert_int_equal(count(f->st, STORE_COLL_SYSLOG), logs);
    rec = skill_record(f->st, "math");
    assert_int_equal(cJSON_GetObjectItem(rec, "attempts")->valueint, 2);
    cJSON_Delete(rec);
}

static void test_recall(void **state)
{
    struct fixture *f = *state;
    struct memory_recall r;
    const char *math[] = { "math" }, *other[] = { "poetry" };
    uint64_t ids[4];
    char goal[32], code[32], lesson[32];

    for (int i = 0; i < 4; i++) {
        snprintf(goal, sizeof goal, "goal %d", i);
        snprintf(code, sizeof code, "code %d", i);
        snprintf(lesson, sizeof lesson, "lesson %d", i);
        ids[i] = running_task(f->st, goal, "math");
        assert_int_equal(commit(f->st, ids[i], i == 2 ? "failed" : "passed",
                                "math", code, lesson, NULL, 0), 0);
    }
    assert_int_equal(memory_recall(f->st, math, 1, ids[3], 4, &r), 0);
    /* newest first, lessons and code alternating, never the task itself,
     * code only of passed tasks */
    assert_int_equal(r.n, 4);
    assert_string_equal(r.items[0].kind, "lesson");
    assert_string_equal(r.items[0].text, "lesson 2");
    assert_string_equal(r.items[1].kind, "solved");
    assert_string_equal(r.items[1].text, "code 1");
    assert_string_equal(r.items[1].goal, "goal 1");
    assert_string_equal(r.items[2].text, "lesson 1");
    assert_string_equal(r.items[3].text, "code 0");
    for (size_t i = 0; i < r.n; i++)
        assert_null(strstr(r.items[i].text, "3"));
    memory_recall_free(&r);

    assert_int_equal(memory_recall(f->st, math, 1, 0, 1, &r), 0);
    assert_int_equal(r.n, 1);
    memory_recall_free(&r);
    assert_int_equal(memory_recall(f->st, other, 1, 0, 4, &r), 0);
    assert_int_equal(r.n, 0);
    memory_recall_free(&r);
    assert_int_equal(memory_recall(f->st, NULL, 0, 0, 4, &r), 0);
    assert_int_equal(r.n, 0);
}

struct worker {
    struct store *st;
    int n;
    int failed;
};

static void *work(void *arg)
{
    struct worker *w = arg;

    /* No cmocka asserts off the main thread: count failures instead. The
     * task a thread dequeues may be the other thread's; either is fine. */
    for (int i = 0; i < w->n; i++) {
        struct store_task_new t = {
            "{\"goal\":\"concurrent\",\"skills\":[\"lists\"]}", 0,
            STORE_SOURCE_USER };
        uint64_t id;
        if (store_task_enqueue(w->st, &t, 1, NULL) != 0 ||
            store_task_dequeue(w->st, &id, NULL) != 0 ||
            commit(w->st, id, "passed", "lists", "c", "l", NULL, 0) != 0)
            w->failed++;
    }
    return NULL;
}

static void test_concurrent_commits(void **state)
{
    struct fixture *f = *state;
    struct worker w[2] = { { f->st, 15, 0 }, { f->st, 15, 0 } };
    pthread_t t[2];

    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failed, 0);
    }
    /* read-modify-write of the skill record lost no update */
    cJSON *rec = skill_record(f->st, "lists");
    assert_int_equal(cJSON_GetObjectItem(rec, "attempts")->valueint, 30);
    cJSON_Delete(rec);
    cJSON *prof = doc(f->st, "builder_profile");
    assert_int_equal(cJSON_GetObjectItem(prof, "tasks_total")->valueint, 30);
    cJSON_Delete(prof);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commit_everything, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_recall, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_commits, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
