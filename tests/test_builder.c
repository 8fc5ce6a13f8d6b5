/* test_builder.c -- the Builder's steps without a mount: a real store in a
 * temporary directory, the fake LLM in this process, the sandbox without
 * isolation (the code run is this test's own), and the Builder's threads
 * started as btfs starts them. A task goes in through the store and what
 * the Builder left is read back from it: a right answer passes on attempt 1,
 * judged by the hidden tests that never reach the LLM; a wrong answer is
 * repaired with the error in the next prompt; an answer without code fails
 * and says why; a task whose tests could not be written keeps every attempt. tests/integration/builder.sh runs the same on a mount with
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

#include "agent_fixture.h"
#include "builder.h"
#include "task.h"

struct fixture {
    struct agent_fixture env;
    struct builder_pool *pool;
};

/* A reflection for every task: its prompt says "review your own work",
 * which no code prompt does. Added first so that it wins. */
static const char reflection[] =
    "{\"summary\": \"computes the answer\", \"what_went_wrong\": \"\", "
    "\"lessons\": [\"check edge cases first\"], \"concepts\": "
    "[\"arithmetic\"]}";

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct builder_config bc;

    assert_non_null(f);
    agent_fixture_open(&f->env);
    agent_fixture_reply(&f->env, "review your own work", reflection, 0);
    builder_config_default(&bc);
    bc.idle_poll_ms = 20;
    assert_int_equal(builder_start(&bc, &f->env.agents, &f->pool), 0);
    *state = f;
    return 0;
}

/* The shutdown order of btfs: calls in flight end, then the threads. */
static int teardown(void **state)
{
    struct fixture *f = *state;

    agent_fixture_cancel(&f->env);
    builder_stop(f->pool);
    int rc = agent_fixture_close(&f->env);
    free(f);
    return rc;
}

/* ---- Reading back what the Builder left ------------------------------- */

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

static int exists_cb(void *c, uint64_t key, const char *val, size_t len)
{
    (void)c; (void)key; (void)val; (void)len;
    return 0;
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
    assert_int_equal(store_task_enqueue(f->env.st, &t, 1, &id), 0);
    task_def_free(&def);
    return id;
}

/* Waits (at most 60 s: the machine may be loaded) until task id is
 * finished; returns its document. */
static cJSON *wait_finished(struct fixture *f, uint64_t id)
{
    for (int i = 0; i < 1200; i++) {
        cJSON *doc = agent_fixture_record(&f->env, STORE_COLL_TASKS, id);
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

    agent_fixture_reply(&f->env, "square(", answer, 0);
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
    assert_int_equal(store_view_begin(f->env.st, &v), 0);
    assert_int_equal(store_view_get(v, STORE_COLL_CODE, STORE_CODE_KEY(id, 1),
                                    exists_cb, NULL), 0);
    assert_int_equal(store_view_count(v, STORE_COLL_SCORES), 1);
    store_view_end(v);
    cJSON *refl = agent_fixture_record(&f->env, STORE_COLL_REFLECTIONS, id);
    assert_non_null(refl);
    char *text = cJSON_PrintUnformatted(refl);
    assert_non_null(text);
    if (!strstr(text, "check edge cases first"))
        fail_msg("reflection: %s", text);
    cJSON_free(text);
    cJSON_Delete(refl);
    cJSON *sum = agent_fixture_record(&f->env, STORE_COLL_SUMMARIES, id);
    assert_non_null(sum);
    cJSON_Delete(sum);

    assert_true(agent_fixture_asked(&f->env, "square(2) == 4"));
    assert_false(agent_fixture_asked(&f->env, "square(3)"));
    assert_false(agent_fixture_asked(&f->env, "-4) == 16"));
    free(answer);
}

/* Wrong, then right: the second prompt carries the failure, and the task
 * passes on attempt 2 with both attempts archived. */
static void wrong_then_right_is_repaired(void **state)
{
    struct fixture *f = *state;
    char *right = fenced("def cube(x):\n    return x ** 3");
    char *wrong = fenced("def cube(x):\n    return x * 3");

    agent_fixture_reply(&f->env, "Your attempt 1 failed", right, 0);
    agent_fixture_reply(&f->env, "cube(", wrong, 0);
    uint64_t id = add_task(f, "{\"goal\": \"Write cube(x) returning x "
                              "cubed.\", \"tests\": \"assert cube(2) == 8\", "
                              "\"hidden_tests\": \"assert cube(3) == 27\"}");
    cJSON *doc = wait_finished(f, id);
    assert_string_equal(str_at(doc, "status"), "passed");
    assert_int_equal((int)num_at(doc, "attempts"), 2);
    cJSON_Delete(doc);

    struct store_view *v;
    assert_int_equal(store_view_begin(f->env.st, &v), 0);
    assert_int_equal(store_view_get(v, STORE_COLL_CODE, STORE_CODE_KEY(id, 1),
                                    exists_cb, NULL), 0);
    assert_int_equal(store_view_get(v, STORE_COLL_CODE, STORE_CODE_KEY(id, 2),
                                    exists_cb, NULL), 0);
    store_view_end(v);
    assert_true(agent_fixture_asked(&f->env, "0 of 1 tests passed"));
    free(right);
    free(wrong);
}

/* No code in any answer: every attempt fails with "no code", and so does
 * the task, saying why. */
static void no_code_fails_saying_why(void **state)
{
    struct fixture *f = *state;

    agent_fixture_reply(&f->env, "poem",
                    "I am sorry, I cannot write code for that.", 0);
    uint64_t id = add_task(f, "{\"goal\": \"Write a poem generator poem().\", "
                              "\"tests\": \"assert poem()\"}");
    cJSON *doc = wait_finished(f, id);
    assert_string_equal(str_at(doc, "status"), "failed");
    const char *reason = str_at(cJSON_GetObjectItem(doc, "result"), "reason");
    if (!strstr(reason, "no code"))
        fail_msg("reason: %s", reason);
    cJSON_Delete(doc);
}

/* No visible tests and the model cannot write any: the task keeps every
 * attempt it is allowed, each one a plain run whose failure (a timeout, an
 * exception, a syntax error) is fed back to the next, and the hidden tests
 * judge the code of the first attempt that ran cleanly. An imported benchmark
 * problem without examples is such a task; it must not get one attempt
 * only because the test-writing step failed. */
static void failed_test_writing_keeps_every_attempt(void **state)
{
    struct fixture *f = *state;
    /* A plain run only defines the function: what goes wrong must be at
     * the top level to show. */
    char *hang = fenced("def triple(x):\n    return x * 3\n\n"
                        "while True:\n    pass");
    char *raise = fenced("def triple(x):\n    return x * 3\n\n"
                         "raise ValueError('no_triple_yet')");
    char *syntax = fenced("def triple(x)\n    return x * 3");
    char *right = fenced("def triple(x):\n    return x * 3");

    /* Not JSON: the tests step fails ("no_json"), the task goes on. */
    agent_fixture_reply(&f->env, "You write tests",
                        "Sorry, I cannot write tests for this.", 0);
    agent_fixture_reply(&f->env, "Your attempt 3 failed", right, 0);
    agent_fixture_reply(&f->env, "Your attempt 2 failed", syntax, 0);
    agent_fixture_reply(&f->env, "Your attempt 1 failed", raise, 0);
    agent_fixture_reply(&f->env, "triple(", hang, 0);
    uint64_t id = add_task(f, "{\"goal\": \"Write triple(x) returning three "
                              "times x.\", \"timeout_s\": 1, "
                              "\"max_attempts\": 4, \"hidden_tests\": "
                              "\"assert triple(2) == 6\\n"
                              "assert triple(-1) == -3\"}");
    cJSON *doc = wait_finished(f, id);
    const cJSON *result = cJSON_GetObjectItem(doc, "result");

    assert_true(agent_fixture_asked(&f->env, "You write tests"));
    assert_string_equal(str_at(doc, "status"), "passed");
    assert_int_equal((int)num_at(doc, "attempts"), 4);
    assert_int_equal((int)num_at(result, "final_attempt"), 4);
    assert_int_equal((int)num_at(result, "tests_total"), 2);    /* hidden */
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(result,
                                                  "tests_self_written")));
    cJSON_Delete(doc);
    /* Each failure reached the next prompt, as the run showed it. */
    assert_true(agent_fixture_asked(&f->env, "killed at the time limit"));
    assert_true(agent_fixture_asked(&f->env, "no_triple_yet"));
    assert_true(agent_fixture_asked(&f->env, "SyntaxError"));
    /* ... and the hidden tests never did. */
    assert_false(agent_fixture_asked(&f->env, "triple(-1)"));
    free(hang);
    free(raise);
    free(syntax);
    free(right);
}

/* Back to the queue and resumed: the wall time in the result counts the
 * work of both runs (not the time between them), like the usage does. The
 * first run holds a slow answer (2 s of LLM time); the LLM goes away at
 * attempt 2, comes back, and the task passes on attempt 2. */
static void resumed_task_counts_the_first_run_wall_time(void **state)
{
    struct fixture *f = *state;
    char *wrong = fenced("def thrice(x):\n    return x * 2");
    char *right = fenced("def thrice(x):\n    return x * 3");
    struct fakellm_rule gone = { .kind = FAKE_STATUS, .times = 1,
                                 .match = "Your attempt 1 failed",
                                 .status = 404,
                                 .body = "{\"error\": {\"message\": "
                                         "\"no such route\"}}" };
    struct fakellm_rule slow = { .kind = FAKE_REPLY, .match = "thrice(",
                                 .content = wrong, .first_delay_ms = 2000 };

    assert_int_equal(fakellm_add(f->env.fake, &gone), 0);
    agent_fixture_reply(&f->env, "Your attempt 1 failed", right, 0);
    assert_int_equal(fakellm_add(f->env.fake, &slow), 0);
    uint64_t id = add_task(f, "{\"goal\": \"Write thrice(x) returning x "
                              "times 3.\", \"tests\": \"assert thrice(2) "
                              "== 6\"}");
    cJSON *doc = wait_finished(f, id);
    const cJSON *result = cJSON_GetObjectItem(doc, "result");
    const cJSON *usage = cJSON_GetObjectItem(result, "usage");

    assert_string_equal(str_at(doc, "status"), "passed");
    assert_int_equal((int)num_at(doc, "attempts"), 2);
    /* It did go back to the queue: the 404 was answered. */
    assert_true(num_at(usage, "llm_requests") >= 3);
    /* Its LLM time holds the slow first answer, and its wall time holds
     * every millisecond of LLM and sandbox time, the first run's too. */
    assert_true(num_at(usage, "llm_ms") >= 2000);
    double wall = num_at(result, "wall_ms");
    double busy = num_at(usage, "llm_ms") + num_at(usage, "sandbox_ms");
    if (!(wall >= busy - 2))        /* each figure is rounded */
        fail_msg("wall_ms %.0f < llm_ms + sandbox_ms %.0f", wall, busy);
    cJSON_Delete(doc);
    free(wrong);
    free(right);
}

/* Cancelled after going back to the queue: attempt 1 fails, the LLM goes
 * away during attempt 2 (the task goes back to the queue with its progress
 * kept) and a cancel was asked meanwhile. The task ends cancelled and its
 * kept progress (resume_task_NNNNNN) goes with it. */
static void cancel_after_requeue_drops_progress(void **state)
{
    struct fixture *f = *state;
    char *wrong = fenced("def halve(x):\n    return x * 2");
    struct fakellm_rule gone = { .kind = FAKE_STATUS,
                                 .match = "Your attempt 1 failed",
                                 .status = 404, .first_delay_ms = 800,
                                 .body = "{\"error\": {\"message\": "
                                         "\"no such route\"}}" };
    char name[STORE_ID_MAX], doc[STORE_ID_MAX + 16];

    assert_int_equal(fakellm_add(f->env.fake, &gone), 0);
    agent_fixture_reply(&f->env, "halve(", wrong, 0);
    uint64_t id = add_task(f, "{\"goal\": \"Write halve(x) returning x / "
                              "2.\", \"tests\": \"assert halve(4) == 2\"}");
    /* Attempt 2's request is on its way: ask for the cancel now. */
    for (int i = 0; i < 1200 && !agent_fixture_asked(&f->env,
                                                 "Your attempt 1 failed"); i++)
        usleep(50 * 1000);
    assert_true(agent_fixture_asked(&f->env, "Your attempt 1 failed"));
    assert_int_equal(status_cancel_request(f->env.status, id), 0);

    cJSON *task = wait_finished(f, id);
    assert_string_equal(str_at(task, "status"), "cancelled");
    cJSON_Delete(task);
    store_id_format(id, name);
    snprintf(doc, sizeof doc, "resume_%s", name);
    cJSON *kept = agent_fixture_doc(&f->env, doc);
    if (kept) {
        char *text = cJSON_PrintUnformatted(kept);
        fail_msg("%s is still there: %s", doc, text ? text : "?");
    }
    free(wrong);
}

/* A 500 that only one task's prompt gets is that task's: the server
 * answers a probe, so the task ends "error" after its LLM tries, and the
 * task behind it runs. Without this the first task went back to the head
 * of the queue for ever and nothing behind it ran. Control: a task whose
 * prompt and probe both get 500 (the server failing every request) is
 * blamed for nothing and stays on the queue. */
static void a_prompt_only_it_fails_on_is_the_tasks(void **state)
{
    struct fixture *f = *state;
    char *answer = fenced("def square(x):\n    return x * x");
    struct fakellm_rule choke = { .kind = FAKE_STATUS, .match = "choke(",
                                  .status = 500,
                                  .body = "{\"error\": {\"message\": "
                                          "\"grammar failed\"}}" };

    assert_int_equal(fakellm_add(f->env.fake, &choke), 0);
    agent_fixture_reply(&f->env, "square(", answer, 0);
    agent_fixture_reply(&f->env, "Reply with the word OK.", "OK", 0);
    uint64_t bad = add_task(f, "{\"goal\": \"Write choke(x).\", "
                               "\"priority\": 5, "
                               "\"tests\": \"assert choke(1) == 1\"}");
    uint64_t good = add_task(f, "{\"goal\": \"Write square(x) returning x "
                                "squared.\", \"tests\": \"assert "
                                "square(2) == 4\"}");
    cJSON *doc = wait_finished(f, bad);
    assert_string_equal(str_at(doc, "status"), "error");
    const char *reason = str_at(cJSON_GetObjectItem(doc, "result"), "reason");
    if (!strstr(reason, "server_error: HTTP 500"))
        fail_msg("reason: %s", reason);
    cJSON_Delete(doc);
    doc = wait_finished(f, good);
    assert_string_equal(str_at(doc, "status"), "passed");
    cJSON_Delete(doc);

    /* The control: no rule answers "triple(" nor the probe any more, and
     * the fake's answer without a rule is a 500. */
    fakellm_clear(f->env.fake);
    uint64_t wait = add_task(f, "{\"goal\": \"Write triple(x).\", "
                                "\"tests\": \"assert triple(1) == 3\"}");
    for (int i = 0; i < 1200 && !agent_fixture_asked(&f->env, "triple("); i++)
        usleep(50 * 1000);
    usleep(4000 * 1000);
    doc = agent_fixture_record(&f->env, STORE_COLL_TASKS, wait);
    const char *st = str_at(doc, "status");
    if (strcmp(st, "queued") != 0 && strcmp(st, "running") != 0)
        fail_msg("a task was blamed for a server failing everything: %s", st);
    assert_int_equal((int)num_at(doc, "attempts"), 0);
    cJSON_Delete(doc);
    free(answer);
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
        cmocka_unit_test_setup_teardown(
            failed_test_writing_keeps_every_attempt, setup, teardown),
        cmocka_unit_test_setup_teardown(
            resumed_task_counts_the_first_run_wall_time, setup, teardown),
        cmocka_unit_test_setup_teardown(cancel_after_requeue_drops_progress,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_prompt_only_it_fails_on_is_the_tasks,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
