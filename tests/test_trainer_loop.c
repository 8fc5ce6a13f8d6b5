/* test_trainer_loop.c -- the Trainer's loop without a mount (agent_fixture.h: a real
 * store in a temporary directory, the fake LLM in this process, the sandbox
 * without isolation). The fake proposes one good task, one whose reference
 * fails its own hidden tests, then only prose; the Trainer must queue the
 * good one as a trainer task, refuse the bad one saying why, fall back to
 * the seed curriculum for the rest, stop at the number of tasks it keeps
 * waiting, and write its analysis, difficulty, weights and logs.
 * tests/integration/trainer.sh runs the same on a mount with bubblewrap;
 * this one runs where namespaces cannot be made too. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
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

#include "agent_fixture.h"
#include "temp_store.h"
#include "trainer.h"

#define PENDING 3       /* trainer tasks kept waiting (the default) */

/* A proposal as the LLM answers the Trainer (JSON text, malloc'd). */
static char *proposal(const char *goal, const char *tests,
                      const char *hidden, const char *reference)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "goal", goal);
    cJSON_AddStringToObject(o, "tests", tests);
    cJSON_AddStringToObject(o, "hidden_tests", hidden);
    cJSON_AddStringToObject(o, "reference", reference);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    assert_non_null(s);
    return s;
}

/* Tasks in the store (the Trainer's only writer of tasks here). */
static int queued(struct agent_fixture *e)
{
    return (int)temp_store_count(e->st, STORE_COLL_TASKS);
}

static const char *str_at(const cJSON *o, const char *name)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(it) ? it->valuestring : "";
}

static void the_loop_proposes_checks_and_falls_back(void **state)
{
    struct agent_fixture env;
    struct trainer_config tc;
    struct trainer *t;
    char *good = proposal(
        "Write double_it(x: int) -> int that returns twice x.",
        "assert double_it(2) == 4\nassert double_it(0) == 0",
        "assert double_it(-3) == -6\ndef test_one():\n"
        "    assert double_it(1) == 2",
        "def double_it(x):\n    return x + x  # the reference");
    /* The bad one is long (a 6 KiB comment): trainer_log keeps its head. */
    char padded[6200];
    snprintf(padded, sizeof padded, "def halve(x):\n    return x // 3\n# ");
    size_t used = strlen(padded);
    memset(padded + used, 'z', sizeof padded - 1 - used);
    padded[sizeof padded - 1] = '\0';
    char *bad = proposal(
        "Write halve(x: int) -> int that returns x divided by two, rounded "
        "down.",
        "assert halve(4) == 2", "assert halve(5) == 2\nassert halve(-3) == -2",
        padded);

    (void)state;
    agent_fixture_open(&env);
    agent_fixture_reply(&env, "You write programming exercises", good, 1);
    agent_fixture_reply(&env, "You write programming exercises", bad, 1);
    agent_fixture_reply(&env, "You write programming exercises",
                    "Sure! Here is a fun task: reverse a string.", 0);
    trainer_config_default(&tc);
    tc.poll_ms = 50;
    tc.seed = 42;
    assert_int_equal(tc.pending, PENDING);
    assert_int_equal(trainer_start(&tc, &env.agents, &t), 0);
    int i;
    for (i = 0; i < 1200 && queued(&env) < PENDING; i++)
        usleep(50 * 1000);
    if (queued(&env) < PENDING)
        fail_msg("the Trainer queued %d tasks in 60 s, not %d",
                 queued(&env), PENDING);
    usleep(300 * 1000);     /* time to overshoot, if it would */
    agent_fixture_cancel(&env);
    trainer_stop(t);

    /* What it queued: the good proposal as a trainer task with its
     * reason, never the refused one, and seed fallbacks for the prose. */
    int n = queued(&env), trainer = 0, fallback = 0;
    assert_int_equal(n, PENDING);
    for (uint64_t id = 1; id <= (uint64_t)n; id++) {
        cJSON *doc = agent_fixture_record(&env, STORE_COLL_TASKS, id);
        const cJSON *why = cJSON_GetObjectItem(doc, "trainer");
        assert_null(strstr(str_at(doc, "goal"), "halve"));
        assert_string_equal(str_at(doc, "status"), "queued");
        assert_true(cJSON_IsObject(why));
        if (strcmp(str_at(doc, "source"), "trainer") == 0) {
            trainer++;
            assert_non_null(strstr(str_at(doc, "goal"), "double_it"));
            assert_true(strlen(str_at(why, "reason")) > 10);
            assert_true(str_at(why, "strategy")[0] != '\0');
        } else {
            assert_string_equal(str_at(doc, "source"), "seed");
            assert_true(cJSON_IsTrue(cJSON_GetObjectItem(why, "fallback")));
            fallback++;
        }
        cJSON_Delete(doc);
    }
    if (trainer != 1) {         /* say why: the log has the reasons */
        char *lt = cJSON_Print(agent_fixture_doc(&env, "trainer_log"));
        fail_msg("%d trainer tasks; trainer_log: %s", trainer, lt);
    }
    assert_int_equal(fallback, PENDING - 1);

    /* Why, in its documents. */
    cJSON *log = agent_fixture_doc(&env, "trainer_log");
    assert_non_null(log);
    char *text = cJSON_PrintUnformatted(log);
    assert_non_null(strstr(text, "reference_fails"));
    assert_non_null(strstr(text, "no_json"));
    assert_non_null(strstr(text, "def halve"));    /* kept beside its reason */
    cJSON_free(text);
    /* ... cut to a few KiB */
    const cJSON *en, *rj;
    int kept = 0;
    cJSON_ArrayForEach(en, cJSON_GetObjectItem(log, "entries"))
        cJSON_ArrayForEach(rj, cJSON_GetObjectItem(en, "rejected")) {
            const char *pr = str_at(rj, "proposal");
            if (!strstr(pr, "def halve"))
                continue;
            kept++;
            assert_true(strlen(pr) <= 3072);
            assert_true(strlen(pr) > 2048);
            assert_string_equal(pr + strlen(pr) - 3, "...");
        }
    assert_int_equal(kept, 1);
    cJSON_Delete(log);
    cJSON *motives = agent_fixture_doc(&env, "motivation_log");
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(motives, "entries")) >=
                PENDING);
    cJSON_Delete(motives);
    assert_true((int)temp_store_count(env.st, STORE_COLL_ANALYSES) >= 1);
    cJSON *diff = agent_fixture_doc(&env, "current_difficulty");
    assert_true(fabs(cJSON_GetObjectItem(diff, "target_success")->valuedouble -
                     0.75) < 1e-9);
    cJSON_Delete(diff);
    cJSON *w = agent_fixture_doc(&env, "strategy_weights");
    const cJSON *weights = cJSON_GetObjectItem(w, "weights"), *it;
    double sum = 0;
    int nw = 0;
    cJSON_ArrayForEach(it, weights) {
        sum += it->valuedouble;
        nw++;
    }
    assert_int_equal(nw, 4);
    assert_true(fabs(sum - 1) < 1e-6);
    cJSON_Delete(w);

    /* The reference solution is the Trainer's: no request it made for a
     * task carries one back. */
    assert_false(agent_fixture_asked(&env, "# the reference"));
    assert_int_equal(agent_fixture_close(&env), 0);
    free(good);
    free(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_loop_proposes_checks_and_falls_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
