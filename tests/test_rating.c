/* test_rating.c -- unit tests for agents/trainer/rating.c.
 *
 * The estimator is tested against simulated learners whose true ability is
 * known: each task succeeds with probability logistic(true - b), drawn from
 * a seeded xorshift generator of the test's own, so every run is the same.
 * The thresholds leave room around the measured figures (printed by the
 * tests) but are far from what a broken update would reach.
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

#include "agents/trainer/rating.h"

#define RUNS 200
#define T0   1700000000     /* 2023-11-14T22:13:20Z */

/* ---- a seeded learner ---------------------------------------------------- */

struct rng {
    uint64_t s;
};

static void rng_seed(struct rng *g, uint64_t seed)
{
    /* splitmix64 spreads small seeds over the whole state */
    uint64_t z = seed + 0x9E3779B97F4A7C15ULL;

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    g->s = (z ^ (z >> 31)) | 1;
}

static double rng_uniform(struct rng *g)
{
    /* xorshift64* */
    g->s ^= g->s >> 12;
    g->s ^= g->s << 25;
    g->s ^= g->s >> 27;
    return (double)((g->s * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

static double logistic(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

/* One task at the difficulty aimed at 'target'; returns the outcome. */
static int practise(struct rating *r, struct rng *g, double true_ability,
                    double target, time_t now)
{
    double d;
    int ok;

    assert_int_equal(rating_difficulty_for(r, target, &d), 0);
    assert_true(d >= 0 && d <= 1);
    ok = rng_uniform(g) < logistic(true_ability - 6 * (d - 0.5));
    assert_int_equal(rating_update(r, d, ok, now), 0);
    return ok;
}

/* ---- estimation ---------------------------------------------------------- */

struct est {
    double rmse;
    double within_03;           /* share with |error| <= 0.3 logits       */
    double within_2sd;          /* share with |error| <= 2 sd (calibrated) */
    double level_within_015;    /* share with |level error| <= 0.15        */
};

static struct est estimate(int n, uint64_t seed0)
{
    struct est e = { 0 };
    double sq = 0;
    int run, i;

    for (run = 0; run < RUNS; run++) {
        struct rng g;
        struct rating r;
        double truth, err, true_level;

        rng_seed(&g, seed0 + (uint64_t)run);
        truth = -2.0 + 4.0 * rng_uniform(&g);
        rating_init(&r);
        for (i = 0; i < n; i++)
            practise(&r, &g, truth, 0.75, T0 + i * 600);
        assert_int_equal((int)r.attempts, n);
        err = fabs(r.ability - truth);
        sq += err * err;
        e.within_03 += err <= 0.3;
        e.within_2sd += err <= 2 * sqrt(r.variance);
        true_level = truth / 6 + 0.5;
        e.level_within_015 += fabs(rating_level(&r) - true_level) <= 0.15;
    }
    e.rmse = sqrt(sq / RUNS);
    e.within_03 /= RUNS;
    e.within_2sd /= RUNS;
    e.level_within_015 /= RUNS;
    return e;
}

/* 30 tasks at target 0.75 carry about 30 * 0.1875 = 5.6 units of Fisher
 * information, so no estimator can get the standard deviation much below
 * 1 / sqrt(5.6 + 1 / prior) = 0.40 logits; the estimate must come close to
 * that bound and its own uncertainty must be honest. */
static void test_estimate_30(void **state)
{
    struct est e = estimate(30, 1000);

    (void)state;
    print_message("30 tasks: rmse %.3f, |err|<=0.3: %.0f%%, "
                  "|err|<=2sd: %.0f%%, |level err|<=0.15: %.0f%%\n",
                  e.rmse, 100 * e.within_03, 100 * e.within_2sd,
                  100 * e.level_within_015);
    assert_true(e.rmse <= 0.55);
    assert_true(e.within_2sd >= 0.90);
    assert_true(e.level_within_015 >= 0.90);
    /* a third of the runs or more within 0.3 logits: a wrong update
     * (sign, scale) lands near zero here */
    assert_true(e.within_03 >= 0.40);
}

/* With enough evidence the 0.3-logit tolerance holds in most runs. */
static void test_estimate_150(void **state)
{
    struct est e = estimate(150, 5000);

    (void)state;
    print_message("150 tasks: rmse %.3f, |err|<=0.3: %.0f%%, "
                  "|err|<=2sd: %.0f%%\n",
                  e.rmse, 100 * e.within_03, 100 * e.within_2sd);
    assert_true(e.rmse <= 0.3);
    assert_true(e.within_03 >= 0.70);
    assert_true(e.within_2sd >= 0.90);
}

/* Asking for 75% success should give about 75% success. */
static void test_target_rate(void **state)
{
    unsigned long ok = 0, n = 0;
    int run, i;

    (void)state;
    for (run = 0; run < RUNS; run++) {
        struct rng g;
        struct rating r;
        double truth;

        rng_seed(&g, 9000 + (uint64_t)run);
        truth = -2.0 + 4.0 * rng_uniform(&g);
        rating_init(&r);
        for (i = 0; i < 60; i++) {
            int s = practise(&r, &g, truth, 0.75, T0 + i);

            if (i >= 20) {
                ok += (unsigned long)s;
                n++;
            }
        }
    }
    print_message("success rate at target 0.75: %.3f\n", (double)ok / n);
    assert_true(fabs((double)ok / n - 0.75) <= 0.05);
}

/* ---- the inverse --------------------------------------------------------- */

static void test_inverse(void **state)
{
    static const double targets[] = { 0.05, 0.25, 0.5, 0.75, 0.9, 0.99 };
    double a;
    size_t i;

    (void)state;
    for (a = -8; a <= 8; a += 0.25) {
        for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
            struct rating r;
            double d, p;

            rating_init(&r);
            r.ability = a;
            assert_int_equal(rating_difficulty_for(&r, targets[i], &d), 0);
            assert_true(d >= 0 && d <= 1);
            p = rating_predict(&r, d);
            if (d > 0 && d < 1)
                assert_true(fabs(p - targets[i]) < 1e-12);
            else if (d == 1)            /* too able for the scale */
                assert_true(p >= targets[i]);
            else                        /* too weak for the scale */
                assert_true(p <= targets[i]);
        }
    }
}

static void test_predict_scale(void **state)
{
    struct rating r;
    double d;

    (void)state;
    rating_init(&r);
    assert_true(fabs(rating_predict(&r, 0.5) - 0.5) < 1e-15);
    assert_true(fabs(rating_predict(&r, 0.0) - logistic(3)) < 1e-15);
    assert_true(fabs(rating_predict(&r, 1.0) - logistic(-3)) < 1e-15);
    /* clamped outside [0, 1] */
    assert_true(rating_predict(&r, 7.0) == rating_predict(&r, 1.0));
    assert_true(rating_predict(&r, -7.0) == rating_predict(&r, 0.0));
    assert_true(isnan(rating_predict(&r, NAN)));
    /* the level is the difficulty solved half the time */
    r.ability = 1.2;
    assert_int_equal(rating_difficulty_for(&r, 0.5, &d), 0);
    assert_true(fabs(d - 0.7) < 1e-12);
    assert_true(fabs(rating_level(&r) - 0.7) < 1e-12);
    /* target 0.75 -> b = ability - ln 3 */
    assert_int_equal(rating_difficulty_for(&r, 0.75, &d), 0);
    assert_true(fabs(d - ((1.2 - log(3.0)) / 6 + 0.5)) < 1e-12);

    assert_int_equal(rating_difficulty_for(&r, 0.0, &d), -EINVAL);
    assert_int_equal(rating_difficulty_for(&r, 1.0, &d), -EINVAL);
    assert_int_equal(rating_difficulty_for(&r, NAN, &d), -EINVAL);
    assert_int_equal(rating_difficulty_for(&r, 0.5, NULL), -EINVAL);
    assert_int_equal(rating_difficulty_for(NULL, 0.5, &d), -EINVAL);
}

/* ---- the update ---------------------------------------------------------- */

static void test_update_rule(void **state)
{
    struct rating r;
    double v, p;

    (void)state;
    /* one hand-computed step: ability 0, d 0.5 -> p 0.5 */
    rating_init(&r);
    assert_int_equal(rating_update(&r, 0.5, 1, T0), 0);
    v = 1.0 / (1.0 / (RATING_INITIAL_VAR + RATING_STEP_VAR) + 0.25);
    assert_true(fabs(r.variance - v) < 1e-15);
    assert_true(fabs(r.ability - v * 0.5) < 1e-15);
    assert_true(fabs(r.trend - RATING_TREND_ALPHA * 0.5) < 1e-15);
    assert_int_equal((int)r.attempts, 1);
    assert_int_equal((int)r.successes, 1);
    assert_true(r.last_practised == T0);

    /* a failure at an easy task costs more than one at a hard task */
    {
        struct rating easy = r, hard = r;

        assert_int_equal(rating_update(&easy, 0.0, 0, T0 + 1), 0);
        assert_int_equal(rating_update(&hard, 1.0, 0, T0 + 1), 0);
        assert_true(easy.ability < hard.ability);
        assert_true(hard.ability < r.ability);
        assert_int_equal((int)easy.successes, 1);
    }

    /* the second step uses the second prediction (at the same time, so
     * no idle drift) */
    p = logistic(r.ability);
    v = 1.0 / (1.0 / (r.variance + RATING_STEP_VAR) + p * (1 - p));
    {
        double a = r.ability + v * (0 - p);

        assert_int_equal(rating_update(&r, 0.5, 0, T0), 0);
        assert_true(fabs(r.ability - a) < 1e-15);
        assert_true(fabs(r.variance - v) < 1e-15);
    }
}

static void test_update_invalid(void **state)
{
    struct rating r, before;

    (void)state;
    rating_init(&r);
    assert_int_equal(rating_update(&r, 0.3, 1, T0), 0);
    before = r;
    assert_int_equal(rating_update(&r, NAN, 1, T0 + 1), -EINVAL);
    assert_int_equal(rating_update(&r, -0.01, 1, T0 + 1), -EINVAL);
    assert_int_equal(rating_update(&r, 1.01, 1, T0 + 1), -EINVAL);
    assert_int_equal(rating_update(&r, INFINITY, 1, T0 + 1), -EINVAL);
    assert_int_equal(rating_update(NULL, 0.5, 1, T0 + 1), -EINVAL);
    assert_memory_equal(&r, &before, sizeof(r));
    r.variance = -1;
    assert_int_equal(rating_update(&r, 0.5, 1, T0 + 1), -EINVAL);
    r.variance = NAN;
    assert_int_equal(rating_update(&r, 0.5, 1, T0 + 1), -EINVAL);
    r = before;
    r.successes = r.attempts + 1;
    assert_int_equal(rating_check(&r), -EINVAL);
    assert_int_equal(rating_update(&r, 0.5, 1, T0 + 1), -EINVAL);
    /* a clock that goes back is no error and keeps the later time */
    r = before;
    assert_int_equal(rating_update(&r, 0.5, 1, T0 - 1000), 0);
    assert_true(r.last_practised == T0);
}

static void test_uncertainty_shrinks(void **state)
{
    struct rng g;
    struct rating r, idle, busy;
    double prev;
    int i;

    (void)state;
    rng_seed(&g, 42);
    rating_init(&r);
    prev = r.variance;
    for (i = 0; i < 30; i++) {
        practise(&r, &g, 0.8, 0.75, T0 + i * 60);
        assert_true(r.variance < prev);
        prev = r.variance;
    }
    assert_true(r.variance < 0.25 * RATING_INITIAL_VAR);
    assert_true(r.variance >= RATING_MIN_VAR);

    /* idleness brings doubt back: 200 days away against one minute */
    idle = busy = r;
    assert_int_equal(rating_update(&idle, 0.5, 1, r.last_practised +
                                   200 * 86400), 0);
    assert_int_equal(rating_update(&busy, 0.5, 1, r.last_practised + 60), 0);
    assert_true(idle.variance > busy.variance);
    assert_true(idle.ability > busy.ability);   /* a surprise weighs more */
    assert_true(idle.variance < RATING_INITIAL_VAR);
}

/* After 40 tasks at 1.0 the true ability drops to -1.5: the trend must go
 * clearly negative (below -0.3) within 10 tasks in most runs, and seldom
 * does so by chance in the same window without a drop. */
static void test_trend_drop(void **state)
{
    int detected = 0, false_alarm = 0, regressed = 0, ends_low = 0, run;

    (void)state;
    for (run = 0; run < RUNS; run++) {
        int drop;

        for (drop = 0; drop <= 1; drop++) {
            struct rng g;
            struct rating r;
            int i, hit = 0;

            rng_seed(&g, 20000 + (uint64_t)run);
            rating_init(&r);
            for (i = 0; i < 40; i++)
                practise(&r, &g, 1.0, 0.75, T0 + i * 60);
            for (i = 0; i < 10; i++) {
                practise(&r, &g, drop ? -1.5 : 1.0, 0.75, T0 + 3600 + i * 60);
                if (r.trend < -0.3)
                    hit = 1;
            }
            if (drop) {
                detected += hit;
                ends_low += r.trend < 0;
            } else {
                false_alarm += hit;
            }
        }
    }
    for (run = 0; run < RUNS; run++) {
        struct rng g;
        struct rating r;
        int i, was = 0;

        /* a mastered skill that collapses is a regression */
        rng_seed(&g, 30000 + (uint64_t)run);
        rating_init(&r);
        for (i = 0; i < 60; i++)
            practise(&r, &g, 4.0, 0.9, T0 + i * 60);
        was = r.mastered;
        for (i = 0; i < 10; i++)
            practise(&r, &g, -2.0, 0.9, T0 + 7200 + i * 60);
        regressed += was && r.ever_mastered && !r.mastered;
    }
    print_message("drop seen within 10 tasks: %d%% (negative at the end: %d%%), "
                  "false alarms: %d%%, mastery lost: %d%%\n",
                  detected * 100 / RUNS, ends_low * 100 / RUNS,
                  false_alarm * 100 / RUNS, regressed * 100 / RUNS);
    assert_true(detected >= RUNS * 9 / 10);
    assert_true(ends_low >= RUNS * 9 / 10);
    assert_true(false_alarm <= RUNS / 5);
    assert_true(regressed >= RUNS * 9 / 10);
}

static void test_mastery_rule(void **state)
{
    struct rating r;
    int i;

    (void)state;
    rating_init(&r);
    /* strong evidence but too few attempts: not yet */
    for (i = 0; i < RATING_MASTERY_ATTEMPTS - 1; i++)
        assert_int_equal(rating_update(&r, 1.0, 1, T0 + i), 0);
    assert_false(r.mastered);
    for (; i < 40 && !r.mastered; i++)
        assert_int_equal(rating_update(&r, 1.0, 1, T0 + i), 0);
    assert_true(r.mastered);
    assert_true(r.ever_mastered);
    assert_true(logistic(r.ability - sqrt(r.variance)) >= RATING_MASTERY_P);

    /* a skill that fails half of average tasks is never mastered */
    rating_init(&r);
    for (i = 0; i < 100; i++)
        assert_int_equal(rating_update(&r, 0.5, i % 2, T0 + i), 0);
    assert_false(r.ever_mastered);
}

/* ---- JSON ---------------------------------------------------------------- */

static void roundtrip(const struct rating *r)
{
    cJSON *j = rating_to_json(r), *back;
    char *text;
    struct rating out;

    assert_non_null(j);
    text = cJSON_PrintUnformatted(j);
    assert_non_null(text);
    back = cJSON_Parse(text);
    assert_non_null(back);
    memset(&out, 0xA5, sizeof(out));
    assert_int_equal(rating_from_json(back, &out), 0);
    /* cJSON writes 15 significant digits when they read back within an
     * epsilon, so the doubles survive to about 1e-15 relative */
    assert_true(fabs(out.ability - r->ability) <= 1e-14 * fabs(r->ability));
    assert_true(fabs(out.variance - r->variance) <= 1e-14 * r->variance);
    assert_true(fabs(out.trend - r->trend) <= 1e-14 * fabs(r->trend));
    assert_true(out.attempts == r->attempts);
    assert_true(out.successes == r->successes);
    assert_true(out.last_practised == r->last_practised);
    assert_int_equal(out.mastered, r->mastered);
    assert_int_equal(out.ever_mastered, r->ever_mastered);
    cJSON_free(text);
    cJSON_Delete(j);
    cJSON_Delete(back);
}

static void test_json_roundtrip(void **state)
{
    struct rng g;
    struct rating r;
    cJSON *j;
    int i;

    (void)state;
    rating_init(&r);
    roundtrip(&r);
    j = rating_to_json(&r);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "last_practised")));
    cJSON_Delete(j);

    rng_seed(&g, 7);
    for (i = 0; i < 25; i++) {
        practise(&r, &g, 2.5, 0.75, T0 + i * 3601);
        roundtrip(&r);
    }
    j = rating_to_json(&r);
    assert_string_equal(cJSON_GetObjectItem(j, "last_practised")->valuestring,
                        "2023-11-15T22:13:44Z");
    assert_true(fabs(cJSON_GetObjectItem(j, "uncertainty")->valuedouble -
                     sqrt(r.variance)) < 1e-15);
    assert_true(fabs(cJSON_GetObjectItem(j, "level")->valuedouble -
                     rating_level(&r)) < 1e-15);
    cJSON_Delete(j);
}

static int from_text(const char *text, struct rating *r)
{
    cJSON *j = cJSON_Parse(text);
    int rc;

    assert_non_null(j);
    rc = rating_from_json(j, r);
    cJSON_Delete(j);
    return rc;
}

static void test_json_tolerant(void **state)
{
    struct rating r, def;

    (void)state;
    rating_init(&def);
    assert_int_equal(from_text("{}", &r), 0);
    assert_memory_equal(&r, &def, sizeof(r));

    assert_int_equal(from_text("{\"rating\": 1.5, \"attempts\": 4, "
                               "\"unknown\": [1, 2], \"level\": \"x\"}", &r),
                     0);
    assert_true(r.ability == 1.5);
    assert_true(r.attempts == 4 && r.successes == 0);
    assert_true(r.variance == RATING_INITIAL_VAR);

    assert_int_equal(from_text("{\"last_practised\": 1700000000}", &r), 0);
    assert_true(r.last_practised == T0);
    assert_int_equal(from_text("{\"last_practised\": "
                               "\"2023-11-14T22:13:20Z\"}", &r), 0);
    assert_true(r.last_practised == T0);
    assert_int_equal(from_text("{\"mastered\": true}", &r), 0);
    assert_true(r.mastered && r.ever_mastered);
}

static void test_json_rejects(void **state)
{
    static const char *const bad[] = {
        "[]",
        "\"rating\"",
        "{\"rating\": \"1.5\"}",
        "{\"rating\": null}",
        "{\"rating\": 1e300}",
        "{\"variance\": 0}",
        "{\"variance\": -1}",
        "{\"attempts\": 2.5}",
        "{\"attempts\": -1}",
        "{\"attempts\": true}",
        "{\"attempts\": 2, \"successes\": 3}",
        "{\"trend\": 2}",
        "{\"trend\": \"up\"}",
        "{\"mastered\": 1}",
        "{\"ever_mastered\": \"yes\"}",
        "{\"last_practised\": \"yesterday\"}",
        "{\"last_practised\": \"2023-13-01T00:00:00Z\"}",
        "{\"last_practised\": \"2023-11-14 22:13:20\"}",
        "{\"last_practised\": \"+023-11-14T22:13:20Z\"}",
        "{\"last_practised\": -5}",
        "{\"last_practised\": 1.5}",
        "{\"last_practised\": {}}",
    };
    struct rating r, before;
    size_t i;

    (void)state;
    rating_init(&r);
    r.ability = 0.25;
    before = r;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (from_text(bad[i], &r) != -EINVAL)
            fail_msg("accepted %s", bad[i]);
        assert_memory_equal(&r, &before, sizeof(r));
    }
    assert_int_equal(rating_from_json(NULL, &r), -EINVAL);
    assert_null(rating_to_json(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_predict_scale),
        cmocka_unit_test(test_inverse),
        cmocka_unit_test(test_update_rule),
        cmocka_unit_test(test_update_invalid),
        cmocka_unit_test(test_uncertainty_shrinks),
        cmocka_unit_test(test_mastery_rule),
        cmocka_unit_test(test_estimate_30),
        cmocka_unit_test(test_estimate_150),
        cmocka_unit_test(test_target_rate),
        cmocka_unit_test(test_trend_drop),
        cmocka_unit_test(test_json_roundtrip),
        cmocka_unit_test(test_json_tolerant),
        cmocka_unit_test(test_json_rejects),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
