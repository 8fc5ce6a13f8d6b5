/* test_eval.c -- unit tests of a set's report (fs/eval.c): the Wilson
 * interval against values computed by hand, and the figures of a small set
 * whose every count is worked out below.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cJSON.h>

#include "eval.h"

static void test_wilson(void **state)
{
    double lo, hi;

    (void)state;
    /* 3 of 4, z = 1.96: centre (0.75 + z^2/8) / (1 + z^2/4) = 0.62753,
     * half-width z * sqrt(0.75 * 0.25 / 4 + z^2 / 64) / (1 + z^2/4)
     * = 0.32689. */
    assert_int_equal(eval_wilson(3, 4, &lo, &hi), 0);
    assert_float_equal(lo, 0.30064, 1e-4);
    assert_float_equal(hi, 0.95442, 1e-4);
    /* 0 of 10: [0, z^2 / (n + z^2)] = [0, 0.27753]. */
    assert_int_equal(eval_wilson(0, 10, &lo, &hi), 0);
    assert_float_equal(lo, 0.0, 1e-12);
    assert_float_equal(hi, 0.27753, 1e-4);
    /* 10 of 10 mirrors it. */
    assert_int_equal(eval_wilson(10, 10, &lo, &hi), 0);
    assert_float_equal(lo, 0.72247, 1e-4);
    assert_float_equal(hi, 1.0, 1e-12);
    /* 82 of 164 (half of HumanEval): 0.5 +- 0.0756. */
    assert_int_equal(eval_wilson(82, 164, &lo, &hi), 0);
    assert_float_equal(lo, 0.42437, 1e-4);
    assert_float_equal(hi, 0.57563, 1e-4);
    assert_int_equal(eval_wilson(0, 0, &lo, &hi), -EINVAL);
    assert_int_equal(eval_wilson(5, 4, &lo, &hi), -EINVAL);
}

static void add(struct eval_acc *a, const char *json)
{
    cJSON *t = cJSON_Parse(json);

    assert_non_null(t);
    assert_int_equal(eval_acc_add(a, t), 0);
    cJSON_Delete(t);
}

static double num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

/* Six tasks: passed at attempt 1 (twice), passed at attempt 3, failed
 * after 3, an error, one still queued. Judged 4, passed 3 (2 first),
 * attempts (1+1+3+3)/4 = 2, tokens over the 5 finished: (100+200+600+300+
 * 50)/5 = 250, wall (1+2+6+3+0.5)/5 = 2.5 s. */
static void test_report(void **state)
{
    struct eval_acc a;
    cJSON *o;
    const cJSON *ci, *rows;

    (void)state;
    eval_acc_init(&a);
#define T(id, pid, status, att, final, pt, ct, wall, fin) \
    "{\"id\":\"" id "\",\"problem_id\":" pid ",\"held_out\":true," \
    "\"status\":\"" status "\",\"attempts\":" #att ",\"finished_at\":" fin "," \
    "\"result\":{\"final_attempt\":" #final ",\"wall_ms\":" #wall "," \
    "\"usage\":{\"prompt_tokens\":" #pt ",\"completion_tokens\":" #ct "}}}"
    add(&a, T("task_000001", "\"P/0\"", "passed", 1, 1, 80, 20, 1000,
              "\"2026-12-02T05:00:00Z\""));
    add(&a, T("task_000002", "\"P/1\"", "passed", 1, 1, 150, 50, 2000,
              "\"2026-12-02T05:00:09Z\""));
    add(&a, T("task_000003", "\"P/2\"", "passed", 3, 3, 500, 100, 6000,
              "\"2026-12-02T05:00:01Z\""));
    add(&a, T("task_000004", "\"P/3\"", "failed", 3, 3, 250, 50, 3000,
              "\"2026-12-02T05:00:02Z\""));
    add(&a, T("task_000005", "null", "error", 0, 0, 40, 10, 500,
              "\"2026-12-02T05:00:03Z\""));
    add(&a, "{\"id\":\"task_000006\",\"status\":\"queued\",\"attempts\":0,"
            "\"held_out\":true,\"finished_at\":null,\"result\":null}");
#undef T
    o = eval_acc_json(&a, "he");
    eval_acc_free(&a);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItem(o, "set")->valuestring, "he");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "held_out")));
    assert_int_equal(num(o, "problems"), 6);
    assert_int_equal(num(o, "queued"), 1);
    assert_int_equal(num(o, "finished"), 5);
    assert_int_equal(num(o, "judged"), 4);
    assert_int_equal(num(o, "errors"), 1);
    assert_int_equal(num(o, "passed"), 3);
    assert_int_equal(num(o, "passed_first"), 2);
    assert_int_equal(num(o, "failed"), 1);
    assert_float_equal(num(o, "pass_at_1"), 0.5, 1e-9);
    assert_float_equal(num(o, "pass_final"), 0.75, 1e-9);
    assert_float_equal(num(o, "mean_attempts"), 2.0, 1e-9);
    assert_float_equal(num(o, "mean_tokens"), 250.0, 1e-9);
    assert_float_equal(num(o, "mean_wall_s"), 2.5, 1e-9);
    ci = cJSON_GetObjectItem(o, "pass_final_ci95");
    assert_int_equal(cJSON_GetArraySize(ci), 2);
    assert_float_equal(cJSON_GetArrayItem(ci, 0)->valuedouble, 0.3006, 1e-4);
    assert_float_equal(cJSON_GetArrayItem(ci, 1)->valuedouble, 0.9544, 1e-4);
    /* 2 of 4: centre 0.5, half-width 0.3981 (by the formula above). */
    ci = cJSON_GetObjectItem(o, "pass_at_1_ci95");
    assert_float_equal(cJSON_GetArrayItem(ci, 0)->valuedouble, 0.1500, 1e-4);
    assert_float_equal(cJSON_GetArrayItem(ci, 1)->valuedouble, 0.8500, 1e-4);
    assert_string_equal(cJSON_GetObjectItem(o, "updated_at")->valuestring,
                        "2026-12-02T05:00:09Z");
    rows = cJSON_GetObjectItem(o, "tasks");
    assert_int_equal(cJSON_GetArraySize(rows), 6);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 0),
                                                 "first_attempt_passed")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 2),
                                                  "first_attempt_passed")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 4),
                                                 "problem_id")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 5),
                                                 "tokens")));
    cJSON_Delete(o);
}

/* Nothing judged yet: every ratio and interval is null, not 0. */
static void test_empty(void **state)
{
    struct eval_acc a;
    cJSON *o;

    (void)state;
    eval_acc_init(&a);
    add(&a, "{\"id\":\"task_000001\",\"status\":\"running\",\"attempts\":1}");
    o = eval_acc_json(&a, "s");
    eval_acc_free(&a);
    assert_non_null(o);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "pass_at_1")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "pass_at_1_ci95")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "mean_tokens")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "updated_at")));
    /* A task that is not held out makes the set not held out. */
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(o, "held_out")));
    assert_int_equal(num(o, "running"), 1);
    cJSON_Delete(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wilson),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_empty),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
