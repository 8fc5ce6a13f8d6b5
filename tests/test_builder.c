/* test_builder.c -- the Builder's steps without a mount: a real store in a
 * temporary directory, the fake LLM in this process, the sandbox without
 * isolation (the code run is this test's own), and the Builder's threads
 * started as btfs starts them. A task goes in through the store and what
 * the Builder left is read back from it: a right answer passes on attempt 1,
 * judged by the hidden tests that never reach the LLM; a wrong answer is
 * repaired with the error in the next prompt; an answer without code fails
 * and says why. tests/integration/builder.sh runs the same on a mount with
 * bubblewrap; this one runs where namespaces cannot be made too. */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "builder.h"
#include "exec.h"
#include "fakellm.h"
#include "llm.h"
#include "llm_monitor.h"
#include "status.h"
#include "store.h"
#include "task.h"

struct fixture {
    char dir[64];
    struct store *st;
    struct status *status;
    struct fakellm *fake;
    struct llm *llm;
    struct exec *ex;
    struct llm_monitor *monitor;
    struct builder_pool *pool;
};

/* A reflection for every task: its prompt says "review your own work",
 * which no code prompt does. Added first so that it wins. */
static const char reflection[] =
    "{\"summary\": \"computes the answer\", \"what_went_wrong\": \"\", "
    "\"lessons\": [\"check edge cases first\"], \"concepts\": "
    "[\"arithmetic\"]}";

static void add_reply(struct fixture *f, const char *match, const char *text)
{
    struct fakellm_rule r = { .kind = FAKE_REPLY, .match = match,
                              .content = text };
    assert_int_equal(fakellm_add(f->fake, &r), 0);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct store_options so = { .no_sync = 1 };
    struct llm_config lc;
    struct exec_config ec;
    struct builder_config bc;
    char err[256], why[256];

    assert_non_null(f);
    strcpy(f->dir, "/tmp/test_builder.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(store_open(f->dir, &so, &f->st, err, sizeof err), 0);
    assert_int_equal(status_create(1, &f->status), 0);
    assert_int_equal(fakellm_start(&f->fake), 0);
    add_reply(f, "review your own work", reflection);

    llm_config_default(&lc);
    lc.url = fakellm_url(f->fake);
    lc.connect_timeout_ms = 2000;
    lc.idle_timeout_ms = 5000;
    lc.total_timeout_ms = 20000;
    lc.backoff_initial_ms = 10;
    lc.backoff_max_ms = 500;
    assert_int_equal(llm_create(&lc, &f->llm), 0);

    exec_config_default(&ec);
    ec.isolation = EXEC_NONE;
    assert_int_equal(exec_create(&ec, &f->ex), 0);
    if (exec_probe(f->ex, why, sizeof why) < 0)
        fail_msg("the sandbox cannot run here: %s", why);
    status_set_sandbox(f->status, exec_isolation_name(ec.isolation));
    assert_int_equal(llm_monitor_start(f->llm, f->ex, f->status, f->st,
                                       &f->monitor), 0);
    builder_config_default(&bc);
    bc.idle_poll_ms = 20;
    assert_int_equal(builder_start(&bc, f->st, f->status, f->llm, f->ex,
                                   f->monitor, &f->pool), 0);
    *state = f;
    return 0;
}

/* The shutdown order of btfs: calls in flight end, then the threads. */
static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];

    llm_cancel(f->llm);
    builder_stop(f->pool);
    llm_monitor_stop(f->monitor);
    llm_free(f->llm);
    exec_free(f->ex);
    fakellm_stop(f->fake);
    status_free(f->status);
    store_close(f->st);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    free(f);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- Reading back what the Builder left ------------------------------- */

static int parse_cb(void *c, uint64_t key, const char *val, size_t len)
{
    (void)key;
    cJSON_Delete(*(cJSON **)c);
    *(cJSON **)c = cJSON_ParseWithLength(val, len);
    return 0;
}

/* Record 'key' of collection 'coll' parsed, or NULL if it is not there. */
static cJSON *get_json(struct store *st, enum store_coll coll, uint64_t key)
{
    struct store_view *v;
    cJSON *j = NULL;
    assert_int_equal(store_view_begin(st, &v), 0);
    int rc = store_view_get(v, coll, key, parse_cb, &j);
    store_view_end(v);
    if (rc == -ENOENT)
        return NULL;
    assert_int_equal(rc, 0);
    assert_non_null(j);
    return j;
}

static const char *str_at(const cJSON *o, const char *name)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(it) ? it->valuestring : "";
}

static double num_at(const cJSON *o, const char *name)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(it) ? it->valuedouble : -1;
}

/* Queues one task line through the store as tasks/new does (parsed by
 * the task model first). Returns its id. */
static uint64_t add_task(struct fixture *f, const char *line)
{
    struct task_def def;
    struct store_task_new t;
    char err[256];
    uint64_t id;

    if (task_parse_line(line, strlen(line), &def, err, sizeof err) != 0)
        fail_msg("task line refused: %s", err);
    t = (struct store_task_new){ def.json, def.priority, STORE_SOURCE_USER };
    assert_int_equal(store_task_enqueue(f->st, &t, 1, &id), 0);
    task_def_free(&def);
    return id;
}

/* Waits (at most 60 s: the machine may be loaded) until task id is
 * finished; returns its document. */
static cJSON *wait_finished(struct fixture *f, uint64_t id)
{
    for (int i = 0; i < 1200; i++) {
        cJSON *doc = get_json(f->st, STORE_COLL_TASKS, id);
        const char *s = str_at(doc, "status");
        if (!strcmp(s, "passed") || !strcmp(s, "failed") ||
            !strcmp(s, "error") || !strcmp(s, "cancelled"))
            return doc;
        cJSON_Delete(doc);
        usleep(50 * 1000);
    }
    fail_msg("task %" PRIu64 " did not finish in 60 s", id);
    return NULL;
}

static int exists_cb(void *c, uint64_t key, const char *val, size_t len)
{
    (void)c; (void)key; (void)val; (void)len;
    return 0;
}

/* Whether any request the fake got holds s. */
static int asked_with(struct fixture *f, const char *s)
{
    unsigned n = fakellm_requests(f->fake);
    int found = 0;
    for (unsigned i = 0; i < n && !found; i++) {
        char *body = fakellm_request_body(f->fake, i);
        found = body && strstr(body, s);
        free(body);
    }
    return found;
}

static char *fenced(const char *code)
{
    char *s;
    assert_true(asprintf(&s, "Here is the solution:\n```python\n%s\n```\n",
                         code) > 0);
    return s;
}

/* ---- The steps ----------------------------------------------------------- */

/* Right at once: passed on attempt 1, judged by the hidden tests, and
 * everything the task produced is in the store. */
static void right_answer_passes_and_leaves_everything(void **state)
{
    struct fixture *f = *state;
    char *answer = fenced("def square(x):\n    return x * x");

    add_reply(f, "square(", answer);
    uint64_t id = add_task(f, "{\"goal\": \"Write square(x) returning x "
                              "squared.\", \"skills\": [\"math\"], "
                              "\"tests\": \"assert square(2) == 4\", "
                              "\"hidden_tests\": \"assert square(3) == 9\\n"
                              "assert square(-4) == 16\"}");
    cJSON *doc = wait_finished(f, id);
    const cJSON *result = cJSON_GetObjectItem(doc, "result");
    const cJSON *score = cJSON_GetObjectItem(doc, "score");

    assert_string_equal(str_at(doc, "status"), "passed");
    assert_int_equal((int)num_at(doc, "attempts"), 1);
    assert_int_equal((int)num_at(result, "tests_total"), 2);  /* hidden */
    assert_int_equal((int)num_at(result, "tests_passed"), 2);
    assert_true(num_at(score, "accuracy") == 1);
    assert_true(num_at(score, "total") > 0);
    assert_true(str_at(doc, "finished_at")[0] != '\0');
    cJSON_Delete(doc);

    /* The code of attempt 1, the reflection, the summary, the score log
     * entry, the skill: one commit wrote them all. */
    struct store_view *v;
    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_view_get(v, STORE_COLL_CODE, STORE_CODE_KEY(id, 1),
                                    exists_cb, NULL), 0);
    assert_int_equal(store_view_count(v, STORE_COLL_SCORES), 1);
    store_view_end(v);
    cJSON *refl = get_json(f->st, STORE_COLL_REFLECTIONS, id);
    assert_non_null(refl);
    char *text = cJSON_PrintUnformatted(refl);
    assert_non_null(text);
    if (!strstr(text, "check edge cases first"))
        fail_msg("reflection: %s", text);
    cJSON_free(text);
    cJSON_Delete(refl);
    cJSON *sum = get_json(f->st, STORE_COLL_SUMMARIES, id);
    assert_non_null(sum);
    cJSON_Delete(sum);

    assert_true(asked_with(f, "square(2) == 4"));
    assert_false(asked_with(f, "square(3)"));
    assert_false(asked_with(f, "-4) == 16"));
    free(answer);
}

/* Wrong, then right: the second prompt carries the failure, and the task
 * passes on attempt 2 with both attempts archived. */
static void wrong_then_right_is_repaired(void **state)
{
    struct fixture *f = *state;
    char *right = fenced("def cube(x):\n    return x ** 3");
    char *wrong = fenced("def cube(x):\n    return x * 3");

    add_reply(f, "Your attempt 1 failed", right);
    add_reply(f, "cube(", wrong);
    uint64_t id = add_task(f, "{\"goal\": \"Write cube(x) returning x "
                              "cubed.\", \"tests\": \"assert cube(2) == 8\", "
                              "\"hidden_tests\": \"assert cube(3) == 27\"}");
    cJSON *doc = wait_finished(f, id);
    assert_string_equal(str_at(doc, "status"), "passed");
    assert_int_equal((int)num_at(doc, "attempts"), 2);
    cJSON_Delete(doc);

    struct store_view *v;
    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_view_get(v, STORE_COLL_CODE, STORE_CODE_KEY(id, 1),
                                    exists_cb, NULL), 0);
    assert_int_equal(store_view_get(v, STORE_COLL_CODE, STORE_CODE_KEY(id, 2),
                                    exists_cb, NULL), 0);
    store_view_end(v);
    assert_true(asked_with(f, "0 of 1 tests passed"));
    free(right);
    free(wrong);
}

/* No code in any answer: every attempt fails with "no code", and so does
 * the task, saying why. */
static void no_code_fails_saying_why(void **state)
{
    struct fixture *f = *state;

    add_reply(f, "poem", "I am sorry, I cannot write code for that.");
    uint64_t id = add_task(f, "{\"goal\": \"Write a poem generator poem().\", "
                              "\"tests\": \"assert poem()\"}");
    cJSON *doc = wait_finished(f, id);
    assert_string_equal(str_at(doc, "status"), "failed");
    const char *reason = str_at(cJSON_GetObjectItem(doc, "result"), "reason");
    if (!strstr(reason, "no code"))
        fail_msg("reason: %s", reason);
    cJSON_Delete(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            right_answer_passes_and_leaves_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_then_right_is_repaired, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(no_code_fails_saying_why, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
