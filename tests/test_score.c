/* test_score.c -- unit tests for agents/builder/score.c.
 *
 * The four worked examples of docs/scoring.md are checked to 1e-9, with the
 * expected values written as the fractions the document derives by hand,
 * so a change of formula or default weight must change the document too.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agents/builder/score.h"

#define EPS 1e-9

#define assert_near(a, b) \
    do { \
        double a_ = (a), b_ = (b); \
        if (!(fabs(a_ - b_) <= EPS)) \
            fail_msg("%s = %.17g, expected %.17g", #a, a_, b_); \
    } while (0)

#define BIT(r) (1u << (r))

static struct metrics code(size_t lines, size_t cx, size_t depth,
                           size_t width)
{
    struct metrics m = {
        .lines = lines, .total_lines = lines, .complexity = cx,
        .max_depth = depth, .longest_line = width, .bytes = lines * 30,
    };

    return m;
}

/* ---- the worked examples -------------------------------------------------- */

/* Example 1: a clean first-try pass, a line longer than the reference. */
static struct score_input example1(void)
{
    struct score_input in = {
        .visible_passed = 3, .visible_total = 3,
        .hidden_passed = 5, .hidden_total = 5,
        .run_ms = 120, .limit_ms = 10000,
        .attempts = 1, .max_attempts = 3,
        .code = code(8, 3, 2, 60),
        .have_reference = 1, .reference = code(6, 2, 2, 50),
        .lint_warnings = 0, .difficulty = 0.5,
    };

    return in;
}

static void test_example1(void **state)
{
    struct score_input in = example1();
    struct score s;

    (void)state;
    assert_int_equal(score_compute(&in, NULL, &s), 0);
    assert_near(s.accuracy, 1.0);
    assert_near(s.time_part, 1.0);
    assert_near(s.attempts_part, 1.0);
    assert_near(s.speed, 1.0);
    assert_near(s.size_part, 7.5 / 8);
    assert_near(s.complexity_part, 1.0);
    assert_near(s.nesting_part, 1.0);
    assert_near(s.lint_part, 1.0);
    assert_near(s.width_part, 1.0);
    assert_near(s.elegance, 0.98125);
    assert_near(s.difficulty, 1.0);
    assert_near(s.total, 0.99625);
    assert_true(s.passed);
    assert_true(s.have_reference);
    assert_false(s.self_tested);
    assert_int_equal(s.lowered, BIT(SCORE_R_LONG));
}

/* Example 2: C, second attempt, slow, one hidden test failed, everything
 * over budget. */
static void test_example2(void **state)
{
    struct score_input in = {
        .visible_passed = 4, .visible_total = 4,
        .hidden_passed = 3, .hidden_total = 4,
        .run_ms = 5500, .limit_ms = 10000,
        .attempts = 2, .max_attempts = 3,
        .code = code(30, 12, 4, 120),
        .have_reference = 1, .reference = code(12, 4, 2, 70),
        .lint_warnings = 2, .difficulty = 0.8,
    };
    struct score s;

    (void)state;
    assert_int_equal(score_compute(&in, NULL, &s), 0);
    assert_near(s.accuracy, 0.75);
    assert_near(s.time_part, 0.5);
    assert_near(s.attempts_part, 2.0 / 3);
    assert_near(s.speed, 7.0 / 12);
    assert_near(s.size_part, 0.5);
    assert_near(s.complexity_part, 0.5);
    assert_near(s.nesting_part, 0.75);
    assert_near(s.lint_part, 2.0 / 3);
    assert_near(s.width_part, 5.0 / 6);
    assert_near(s.elegance, 143.0 / 240);
    assert_near(s.difficulty, 1.3);
    assert_near(s.total, 0.8149375);
    assert_false(s.passed);
    assert_int_equal(s.lowered,
                     BIT(SCORE_R_TESTS_FAILED) | BIT(SCORE_R_SLOW) |
                     BIT(SCORE_R_RETRIES) | BIT(SCORE_R_LONG) |
                     BIT(SCORE_R_COMPLEX) | BIT(SCORE_R_DEEP) |
                     BIT(SCORE_R_LINT) | BIT(SCORE_R_WIDE));
}

/* Example 3: a user's task without tests (self-written), no reference,
 * an easy task. */
static void test_example3(void **state)
{
    struct score_input in = {
        .visible_passed = 4, .visible_total = 4,
        .tests_self_written = 1,
        .run_ms = 50, .limit_ms = 5000,
        .attempts = 1, .max_attempts = 3,
        .code = code(60, 15, 3, 80),
        .difficulty = 0.2,
    };
    struct score s;

    (void)state;
    assert_int_equal(score_compute(&in, NULL, &s), 0);
    assert_near(s.accuracy, 0.8);
    assert_near(s.speed, 1.0);
    assert_near(s.size_part, 5.0 / 6);
    assert_near(s.complexity_part, 2.0 / 3);
    assert_near(s.nesting_part, 1.0);
    assert_near(s.elegance, 13.0 / 15);
    assert_near(s.difficulty, 0.7);
    assert_near(s.total, 8.176 / 15);
    assert_true(s.passed);
    assert_true(s.self_tested);
    assert_false(s.have_reference);
    assert_int_equal(s.lowered,
                     BIT(SCORE_R_SELF_TESTS) | BIT(SCORE_R_LONG) |
                     BIT(SCORE_R_COMPLEX) | BIT(SCORE_R_EASY));
}

/* Example 4: a timeout on the last attempt. */
static void test_example4(void **state)
{
    struct score_input in = {
        .hidden_passed = 2, .hidden_total = 5,
        .run_ms = 10000, .limit_ms = 10000, .timed_out = 1,
        .attempts = 3, .max_attempts = 3,
        .code = code(10, 4, 2, 70),
        .lint_warnings = 1, .difficulty = 0.5,
    };
    struct score s;

    (void)state;
    assert_int_equal(score_compute(&in, NULL, &s), 0);
    assert_near(s.accuracy, 0.4);
    assert_near(s.time_part, 0.0);
    assert_near(s.attempts_part, 1.0 / 3);
    assert_near(s.speed, 1.0 / 6);
    assert_near(s.lint_part, 0.8);
    assert_near(s.elegance, 0.95);
    assert_near(s.difficulty, 1.0);
    assert_near(s.total, 0.4 * (0.6 + 0.2 / 6 + 0.19));
    assert_near(s.total, 98.8 / 300);
    assert_int_equal(s.lowered,
                     BIT(SCORE_R_TESTS_FAILED) | BIT(SCORE_R_TIMEOUT) |
                     BIT(SCORE_R_RETRIES) | BIT(SCORE_R_LINT));
}

/* ---- edge cases ------------------------------------------------------------ */

static void test_no_tests(void **state)
{
    struct score_input in = example1();
    struct score s;

    (void)state;
    in.visible_passed = in.visible_total = 0;
    in.hidden_passed = in.hidden_total = 0;
    assert_int_equal(score_compute(&in, NULL, &s), 0);
    assert_near(s.accuracy, 0.0);
    assert_near(s.total, 0.0);
    assert_false(s.passed);
    assert_true(s.lowered & BIT(SCORE_R_NO_TESTS));
    assert_false(s.lowered & BIT(SCORE_R_TESTS_FAILED));
    /* speed and elegance are still measured */
    assert_near(s.speed, 1.0);
    assert_near(s.elegance, 0.98125);
}

/* Hidden tests decide; visible ones only through visible_share. */
static void test_hidden_decide(void **state)
{
    struct score_input in = example1();
    struct score_weights w;
    struct score s;

    (void)state;
    in.visible_passed = 0;
    assert_int_equal(score_compute(&in, NULL, &s), 0);
    assert_near(s.accuracy, 1.0);
    assert_true(s.passed);

    in.visible_passed = 3;
    in.hidden_passed = 2;
    assert_int_equal(score_compute(&in, NULL, &s), 0);
    assert_near(s.accuracy, 0.4);
    assert_false(s.passed);

    score_weights_default(&w);
    w.visible_share = 0.25;
    in.visible_passed = 1;              /* 1/3 visible, 2/5 hidden */
    assert_int_equal(score_compute(&in, &w, &s), 0);
    assert_near(s.accuracy, 0.75 * 0.4 + 0.25 / 3);
    in.hidden_passed = 5;
    assert_int_equal(score_compute(&in, &w, &s), 0);
    assert_false(s.passed);             /* a visible test failed */
    assert_true(s.lowered & BIT(SCORE_R_TESTS_FAILED));

    /* without hidden tests the visible ones decide */
    in.hidden_passed = in.hidden_total = 0;
    in.visible_passed = 2;
    assert_int_equal(score_compute(&in, NULL, &s), 0);
    assert_near(s.accuracy, 2.0 / 3);
}

static void test_timing(void **state)
{
    struct score_input in = example1();
    struct score s;

    (void)state;
    in.run_ms = 1000;                   /* exactly the free share */
    assert_int_equal(score_compute(&in, NULL, &s), 0);
    assert_near(s.time_part, 1.0);
    assert_false(s.lowered & BIT(SCORE_R_SLOW));
    in.run_ms = 9100;
    assert_int_equal(score_compute(&in, NULL, &s), 0);
    assert_near(s.time_part, 0.1);
    assert_true(s.lowered & BIT(SCORE_R_SLOW));
    in.run_ms = 25000;                  /* over the limit, not flagged */
    assert_int_equal(score_compute(&in, NULL, &s), 0);
    assert_near(s.time_part, 0.0);
    /* a timeout is 0 however short the measured time */
    in.run_ms = 3;
    in.timed_out = 1;
    assert_int_equal(score_compute(&in, NULL, &s), 0);
    assert_near(s.time_part, 0.0);
    assert_true(s.lowered & BIT(SCORE_R_TIMEOUT));
    assert_false(s.lowered & BIT(SCORE_R_SLOW));
    /* one attempt allowed and used */
    in.attempts = in.max_attempts = 1;
    assert_int_equal(score_compute(&in, NULL, &s), 0);
    assert_near(s.attempts_part, 1.0);
    in.attempts = in.max_attempts = 5;
    assert_int_equal(score_compute(&in, NULL, &s), 0);
    assert_near(s.attempts_part, 0.2);
}

static void test_no_reference(void **state)
{
    struct score_input in = example1();
    struct score s;

    (void)state;
    in.have_reference = 0;
    memset(&in.reference, 0xFF, sizeof(in.reference));  /* ignored */
    assert_int_equal(score_compute(&in, NULL, &s), 0);
    assert_false(s.have_reference);
    assert_near(s.elegance, 1.0);       /* 8 lines, cx 3, depth 2 */
    in.code = code(100, 20, 8, 50);
    assert_int_equal(score_compute(&in, NULL, &s), 0);
    assert_near(s.size_part, 0.5);
    assert_near(s.complexity_part, 0.5);
    assert_near(s.nesting_part, 0.5);
    /* a reference of 0 lines and complexity 0 is read as 1 */
    in.have_reference = 1;
    in.reference = code(0, 0, 0, 0);
    in.code = code(5, 3, 2, 10);
    assert_int_equal(score_compute(&in, NULL, &s), 0);
    assert_near(s.size_part, 1.25 / 5);
    assert_near(s.complexity_part, 0.5);
    assert_near(s.nesting_part, 0.5);
}

static void test_huge_and_empty_code(void **state)
{
    struct score_input in = example1();
    struct score s;

    (void)state;
    in.code = code(SIZE_MAX / 64, SIZE_MAX / 64, SIZE_MAX / 64,
                   SIZE_MAX / 64);
    in.lint_warnings = 2147483647;
    assert_int_equal(score_compute(&in, NULL, &s), 0);
    assert_true(isfinite(s.elegance) && s.elegance >= 0 && s.elegance < 1e-9);
    assert_true(isfinite(s.total));
    assert_near(s.total, 0.8);          /* A 1, S 1, E ~0: (0.6+0.2)/1 */

    in.code = code(0, 1, 0, 0);
    assert_int_equal(score_compute(&in, NULL, &s), 0);
    assert_near(s.elegance, 0.0);
    assert_true(s.lowered & BIT(SCORE_R_NO_CODE));
}

static void test_rejects(void **state)
{
    struct score_input good = example1(), in;
    struct score s, before;

    (void)state;
    memset(&before, 0x5A, sizeof(before));
#define REJECT(field, value) \
    do { \
        in = good; \
        in.field = value; \
        s = before; \
        assert_int_equal(score_compute(&in, NULL, &s), -EINVAL); \
        assert_memory_equal(&s, &before, sizeof(s)); \
    } while (0)
    REJECT(visible_passed, -1);
    REJECT(visible_total, -1);
    REJECT(hidden_passed, -1);
    REJECT(hidden_total, -3);
    REJECT(visible_passed, 4);          /* more than the total */
    REJECT(hidden_passed, 6);
    REJECT(lint_warnings, -1);
    REJECT(run_ms, -1.0);
    REJECT(run_ms, NAN);
    REJECT(run_ms, INFINITY);
    REJECT(limit_ms, 0.0);
    REJECT(limit_ms, -5.0);
    REJECT(limit_ms, NAN);
    REJECT(attempts, 0);
    REJECT(attempts, 4);
    REJECT(max_attempts, 0);
    REJECT(difficulty, -0.1);
    REJECT(difficulty, 1.1);
    REJECT(difficulty, NAN);
#undef REJECT
    assert_int_equal(score_compute(NULL, NULL, &s), -EINVAL);
    assert_int_equal(score_compute(&good, NULL, NULL), -EINVAL);
    assert_int_equal(score_compute(&good, NULL, &s), 0);
}

static void test_weights(void **state)
{
    struct score_input in = example1();
    struct score_weights w, d;
    struct score s;

    (void)state;
    score_weights_default(&d);
    assert_int_equal(score_weights_check(&d), 0);
#define BADW(field, value) \
    do { \
        w = d; \
        w.field = value; \
        assert_int_equal(score_weights_check(&w), -EINVAL); \
        assert_int_equal(score_compute(&in, &w, &s), -EINVAL); \
    } while (0)
    BADW(accuracy, -0.1);
    BADW(speed, NAN);
    BADW(lint_step, INFINITY);
    BADW(difficulty_max, 0.4);          /* below the minimum */
    BADW(visible_share, 1.5);
    BADW(self_test_trust, 1.01);
    BADW(time_free, 1.0);
    BADW(size_budget, 0.0);
    BADW(size_slack, 0.0);
    BADW(width_budget, 0.0);
#undef BADW
    w = d;
    w.accuracy = w.speed = w.elegance = 0;
    assert_int_equal(score_weights_check(&w), -EINVAL);
    w = d;
    w.time = w.attempts = 0;
    assert_int_equal(score_weights_check(&w), -EINVAL);
    w = d;
    w.size = w.complexity = w.nesting = w.lint = w.width = 0;
    assert_int_equal(score_weights_check(&w), -EINVAL);

    /* configurable: without elegance, example 1 is perfect */
    w = d;
    w.elegance = 0;
    assert_int_equal(score_compute(&in, &w, &s), 0);
    assert_near(s.total, 1.0);
    /* a flat multiplier */
    w.difficulty_min = w.difficulty_max = 1;
    in.difficulty = 0.0;
    assert_int_equal(score_compute(&in, &w, &s), 0);
    assert_near(s.difficulty, 1.0);
    assert_false(s.lowered & BIT(SCORE_R_EASY));
}

static void test_reason_names(void **state)
{
    unsigned i, j;

    (void)state;
    for (i = 0; i < SCORE_R__COUNT; i++) {
        const char *n = score_reason_name((enum score_reason)i);

        assert_non_null(strchr(n, '.'));
        for (j = 0; j < i; j++)
            assert_string_not_equal(n,
                score_reason_name((enum score_reason)j));
    }
    assert_string_equal(score_reason_name(SCORE_R__COUNT), "?");
    assert_string_equal(score_reason_name(SCORE_R_SELF_TESTS),
                        "accuracy.self_tests");
}

/* ---- JSON ------------------------------------------------------------------ */

static double num(const cJSON *o, const char *k)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);

    assert_true(cJSON_IsNumber(it));
    return it->valuedouble;
}

static void test_json(void **state)
{
    struct score_input in = example1();
    struct score s;
    cJSON *j, *d, *low;
    char *text;

    (void)state;
    in.hidden_passed = 4;
    in.attempts = 2;
    in.tests_self_written = 1;
    assert_int_equal(score_compute(&in, NULL, &s), 0);

    j = score_to_json(&s, 0);
    assert_non_null(j);
    assert_int_equal(cJSON_GetArraySize(j), 5);
    assert_true(num(j, "accuracy") == s.accuracy);
    assert_true(num(j, "speed") == s.speed);
    assert_true(num(j, "elegance") == s.elegance);
    assert_true(num(j, "difficulty") == s.difficulty);
    assert_true(num(j, "total") == s.total);
    assert_null(cJSON_GetObjectItem(j, "details"));
    cJSON_Delete(j);

    j = score_to_json(&s, 1);
    assert_non_null(j);
    d = cJSON_GetObjectItemCaseSensitive(j, "details");
    assert_true(cJSON_IsObject(d));
    assert_true(num(d, "task_difficulty") == 0.5);
    assert_true(num(d, "size") == s.size_part);
    assert_true(num(d, "attempts") == s.attempts_part);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(d, "passed")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(d, "self_tested")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(d, "reference")));
    low = cJSON_GetObjectItemCaseSensitive(d, "lowered");
    assert_true(cJSON_IsArray(low));
    assert_int_equal(cJSON_GetArraySize(low), 4);
    assert_string_equal(cJSON_GetArrayItem(low, 0)->valuestring,
                        "accuracy.tests_failed");
    assert_string_equal(cJSON_GetArrayItem(low, 1)->valuestring,
                        "accuracy.self_tests");
    assert_string_equal(cJSON_GetArrayItem(low, 2)->valuestring,
                        "speed.retries");
    assert_string_equal(cJSON_GetArrayItem(low, 3)->valuestring,
                        "elegance.long");
    text = cJSON_PrintUnformatted(j);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"difficulty\":1,"));
    cJSON_free(text);
    cJSON_Delete(j);
    assert_null(score_to_json(NULL, 1));
}

/* BT_SCORE_WEIGHTS: names over the defaults, every mistake named. */
static void test_weights_parse(void **state)
{
    struct score_weights w, d;
    char err[256];

    (void)state;
    score_weights_default(&d);
    w = d;
    assert_int_equal(score_weights_parse("", &w, err, sizeof err), 0);
    assert_memory_equal(&w, &d, sizeof w);
    assert_int_equal(score_weights_parse(NULL, &w, err, sizeof err), 0);
    assert_int_equal(score_weights_parse("accuracy=0.7,elegance=0.1,,",
                                         &w, err, sizeof err), 0);
    assert_true(w.accuracy == 0.7 && w.elegance == 0.1 && w.speed == 0.2);

    w = d;
    assert_int_equal(score_weights_parse("accurasy=1", &w, err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "accurasy=1"));
    assert_int_equal(score_weights_parse("speed=fast", &w, err, sizeof err),
                     -EINVAL);
    assert_non_null(strstr(err, "'speed' wants a number"));
    assert_int_equal(score_weights_parse("speed", &w, err, sizeof err),
                     -EINVAL);
    assert_int_equal(score_weights_parse("speed=-1", &w, err, sizeof err),
                     -EINVAL);
    assert_int_equal(score_weights_parse("speed=1e999", &w, err, sizeof err),
                     -EINVAL);
    assert_int_equal(score_weights_parse("accuracy=0,speed=0,elegance=0", &w,
                                         err, sizeof err), -EINVAL);
    assert_memory_equal(&w, &d, sizeof w);      /* untouched on error */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example1),
        cmocka_unit_test(test_example2),
        cmocka_unit_test(test_example3),
        cmocka_unit_test(test_example4),
        cmocka_unit_test(test_no_tests),
        cmocka_unit_test(test_hidden_decide),
        cmocka_unit_test(test_timing),
        cmocka_unit_test(test_no_reference),
        cmocka_unit_test(test_huge_and_empty_code),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_weights),
        cmocka_unit_test(test_weights_parse),
        cmocka_unit_test(test_reason_names),
        cmocka_unit_test(test_json),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
