/* test_plan.c -- unit tests for agents/trainer/plan*.c, the Trainer's
 * decisions.
 *
 * Most tests run the plan against a simulated learner whose true ability
 * per skill is known: a task of difficulty d passes with probability
 * logistic(ability - 6 (d - 0.5)), drawn from the plan's own seeded
 * generator (a second instance, so the plan's draws and the learner's are
 * apart). Every run is the same; the thresholds leave wide room around the
 * measured figures but are far from what a broken rule would reach.
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

#include "agents/trainer/plan.h"

#define T0 1700000000   /* 2023-11-14T22:13:20Z */

static double logistic(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

static int index_of(const struct plan *p, const char *skill)
{
    size_t i;

    for (i = 0; i < plan_skill_count(p); i++)
        if (strcmp(plan_skill_name(p, i), skill) == 0)
            return (int)i;
    fail_msg("unknown skill %s", skill);
    return -1;
}

/* Feeds one result of 'skill'. */
static void feed(struct plan *p, const char *skill, double d, int passed,
                 enum plan_strategy st, enum failure_kind f, time_t t)
{
    const char *names[1] = { skill };
    struct plan_result r = {
        .skills = names,
        .nskills = 1,
        .difficulty = d,
        .passed = passed,
        .failure = passed ? FAILURE_NONE : f,
        .source = st == PLAN_S_NONE ? PLAN_SRC_USER : PLAN_SRC_TRAINER,
        .strategy = st,
        .time = t,
    };

    assert_int_equal(plan_observe(p, &r), 0);
}

/* One choose-and-answer step against true abilities (indexed like the
 * catalogue); returns the outcome and fills *c. */
static int step(struct plan *p, struct plan_rng *g, struct plan_rng *learner,
                const double *truth, struct plan_choice *c, time_t t)
{
    int k, ok;

    assert_int_equal(plan_choose(p, g, c), 0);
    assert_true(c->difficulty >= 0 && c->difficulty <= 1);
    assert_true(strlen(c->reason) > 10);
    k = index_of(p, c->skill);
    ok = plan_rng_uniform(learner) <
         logistic(truth[k] - 6 * (c->difficulty - 0.5));
    feed(p, c->skill, c->difficulty, ok, c->strategy, FAILURE_WRONG, t);
    return ok;
}

static void assert_weights_ok(const struct plan *p)
{
    double w[PLAN_S__COUNT], sum = 0;
    int s;

    plan_weights(p, w);
    assert_true(w[PLAN_S_NONE] == 0);
    for (s = 1; s < PLAN_S__COUNT; s++) {
        assert_true(w[s] >= plan_get_config(p)->weight_floor - 1e-12);
        sum += w[s];
    }
    assert_true(fabs(sum - 1) < 1e-9);
}

/* Long texts: cmocka would cut the message, so show where they part. */
static void assert_same_text(const char *a, const char *b)
{
    size_t i = 0;

    while (a[i] && a[i] == b[i])
        i++;
    if (a[i] != b[i])
        fail_msg("texts differ at %zu: ...%.80s... vs ...%.80s...", i,
                 a + (i > 40 ? i - 40 : 0), b + (i > 40 ? i - 40 : 0));
}

/* Trees equal but for the last digits of doubles: cJSON writes 15 or 17
 * significant digits, so a value may come back 1 ulp off. */
static int same_tree(const cJSON *a, const cJSON *b)
{
    const cJSON *x, *y;

    if ((a->type & 0xFF) != (b->type & 0xFF))
        return 0;
    if ((a->string || b->string) &&
        (!a->string || !b->string || strcmp(a->string, b->string) != 0))
        return 0;
    if (cJSON_IsNumber(a))
        return fabs(a->valuedouble - b->valuedouble) <=
               1e-12 * fmax(1, fabs(a->valuedouble));
    if (cJSON_IsString(a))
        return strcmp(a->valuestring, b->valuestring) == 0;
    for (x = a->child, y = b->child; x && y; x = x->next, y = y->next)
        if (!same_tree(x, y))
            return 0;
    return !x && !y;
}

static void assert_same_state(const struct plan *p, const struct plan *q)
{
    cJSON *a = plan_state_to_json(p), *b = plan_state_to_json(q);

    assert_non_null(a);
    assert_non_null(b);
    if (!same_tree(a, b)) {
        char *s1 = cJSON_PrintUnformatted(a), *s2 = cJSON_PrintUnformatted(b);

        assert_same_text(s1, s2);
        free(s1);
        free(s2);
        fail_msg("states differ");
    }
    cJSON_Delete(a);
    cJSON_Delete(b);
}

static char *state_text(const struct plan *p)
{
    cJSON *j = plan_state_to_json(p);
    char *s;

    assert_non_null(j);
    s = cJSON_PrintUnformatted(j);
    assert_non_null(s);
    cJSON_Delete(j);
    return s;
}

/* ---- catalogue ----------------------------------------------------------- */

static void test_catalogue(void **state)
{
    char name[PLAN_NAME_MAX + 2];
    struct plan *p;
    size_t i;

    (void)state;
    assert_int_equal(plan_create(NULL, &p), 0);
    assert_int_equal(plan_skill_count(p), 10);
    assert_string_equal(plan_skill_name(p, 0), "strings");
    assert_string_equal(plan_skill_name(p, 9), "error_handling");
    assert_null(plan_skill_name(p, 10));
    assert_int_equal(plan_add_skill(p, "strings"), 0);
    assert_int_equal(plan_add_skill(p, "graphs"), 1);
    assert_int_equal(plan_skill_count(p), 11);
    assert_int_equal(plan_add_skill(p, ""), -EINVAL);
    assert_int_equal(plan_add_skill(p, "Graphs"), -EINVAL);
    assert_int_equal(plan_add_skill(p, "two words"), -EINVAL);
    assert_int_equal(plan_add_skill(p, "a.b"), -EINVAL);
    assert_int_equal(plan_add_skill(p, NULL), -EINVAL);
    memset(name, 'x', PLAN_NAME_MAX);
    name[PLAN_NAME_MAX] = '\0';
    assert_int_equal(plan_add_skill(p, name), 1);
    name[PLAN_NAME_MAX] = 'x';
    name[PLAN_NAME_MAX + 1] = '\0';
    assert_int_equal(plan_add_skill(p, name), -EINVAL);
    /* fill the catalogue to the top */
    for (i = plan_skill_count(p); i < PLAN_SKILLS_MAX; i++) {
        snprintf(name, sizeof(name), "skill-%zu", i);
        assert_int_equal(plan_add_skill(p, name), 1);
    }
    assert_int_equal(plan_add_skill(p, "one_more"), -ENOSPC);
    assert_int_equal(plan_skill_count(p), PLAN_SKILLS_MAX);
    plan_free(p);
    plan_free(NULL);
}

/* ---- strategies ---------------------------------------------------------- */

/* One skill far weaker than the rest gets far more than its share. */
static void test_weak_skill_gets_more(void **state)
{
    double truth[10];
    unsigned long chosen[10] = { 0 }, by_weakness = 0, others = 0;
    struct plan_rng g, learner;
    struct plan *p;
    int i, t, weak;

    (void)state;
    assert_int_equal(plan_create(NULL, &p), 0);
    weak = index_of(p, "recursion");
    for (i = 0; i < 10; i++)
        truth[i] = i == weak ? -2.5 : 1.0;
    plan_rng_seed(&g, 7);
    plan_rng_seed(&learner, 8);
    for (t = 0; t < 500; t++) {
        struct plan_choice c;

        step(p, &g, &learner, truth, &c, T0 + t);
        if (t >= 100) {
            chosen[index_of(p, c.skill)]++;
            if (c.strategy == PLAN_S_WEAKNESS && index_of(p, c.skill) == weak)
                by_weakness++;
        }
    }
    for (i = 0; i < 10; i++)
        if (i != weak)
            others += chosen[i];
    print_message("weak skill: %lu of 400 (%lu by weakness); the other nine "
                  "average %.1f\n", chosen[weak], by_weakness, others / 9.0);
    assert_true(chosen[weak] >= 2.0 * (others / 9.0));
    assert_true(by_weakness >= chosen[weak] / 2);
    plan_free(p);
}

/* Makes 'skill' mastered by feeding passes at a high difficulty, after
 * every other skill has been tried once. Returns the next time. */
static time_t master(struct plan *p, const char *skill, time_t t)
{
    struct plan_skill_info info;
    size_t i;
    int n;

    for (i = 0; i < plan_skill_count(p); i++)
        if (strcmp(plan_skill_name(p, i), skill) != 0)
            feed(p, plan_skill_name(p, i), 0.3, 1, PLAN_S_NONE,
                 FAILURE_NONE, t++);
    for (n = 0; n < 40; n++)
        feed(p, skill, 0.8, 1, PLAN_S_NONE, FAILURE_NONE, t++);
    assert_int_equal(plan_skill_info(p, skill, &info), 0);
    assert_true(info.rating.mastered);
    assert_int_equal(info.review_interval, plan_get_config(p)->review_first);
    return t;
}

/* A mastered skill is re-tested by regression_review, never before its
 * interval, and the intervals grow 5, 10, 20, 40. */
static void test_review_intervals(void **state)
{
    unsigned long seen_at[16], intervals[16];
    size_t nrev = 0, i;
    struct plan_rng g, learner;
    unsigned long results = 0;
    struct plan *p;
    time_t t;
    int k;

    (void)state;
    assert_int_equal(plan_create(NULL, &p), 0);
    t = master(p, "sorting", T0);
    seen_at[0] = 0;
    plan_rng_seed(&g, 11);
    plan_rng_seed(&learner, 12);
    for (k = 0; k < 600 && nrev < 6; k++) {
        struct plan_skill_info info;
        struct plan_choice c;
        const char *other;

        assert_int_equal(plan_choose(p, &g, &c), 0);
        results++;
        if (strcmp(c.skill, "sorting") == 0 && c.strategy == PLAN_S_REVIEW) {
            assert_int_equal(plan_skill_info(p, "sorting", &info), 0);
            assert_true(info.review_due);
            intervals[nrev] = info.review_interval;
            seen_at[++nrev] = results;
            assert_non_null(strstr(c.reason, "review interval"));
            feed(p, "sorting", c.difficulty, 1, c.strategy, FAILURE_NONE, t++);
            continue;
        }
        /* everything else practises other skills, so that only the
         * reviews touch 'sorting' */
        other = strcmp(c.skill, "sorting") == 0 ? "lists" : c.skill;
        feed(p, other, c.difficulty, plan_rng_uniform(&learner) < 0.75,
             c.strategy == PLAN_S_REVIEW ? PLAN_S_NONE : c.strategy,
             FAILURE_WRONG, t++);
    }
    assert_true(nrev >= 5);
    for (i = 0; i < nrev; i++) {
        unsigned long gap = seen_at[i + 1] - seen_at[i];

        print_message("review %zu: interval %lu, after %lu tasks\n", i + 1,
                      intervals[i], gap);
        /* never early: gap - 1 other results came between */
        assert_true(gap - 1 >= intervals[i]);
        if (i > 0 && i < 4)
            assert_int_equal(intervals[i], 2 * intervals[i - 1]);
    }
    assert_int_equal(intervals[0], 5);
    assert_int_equal(intervals[3], 40);
    assert_int_equal(intervals[4], 40);     /* review_max */
    assert_true(seen_at[4] - seen_at[3] > seen_at[2] - seen_at[1]);
    plan_free(p);
}

/* A mastered skill that fails: flagged at once, regression_review's
 * weight rises, and it is chosen soon at an easier difficulty. */
static void test_regression(void **state)
{
    double before[PLAN_S__COUNT], after[PLAN_S__COUNT], d_before;
    struct plan_skill_info info;
    struct plan_rng g;
    struct plan *p;
    cJSON *a, *reg;
    int n, k, found = -1;
    time_t t;

    (void)state;
    assert_int_equal(plan_create(NULL, &p), 0);
    t = master(p, "sorting", T0);
    plan_weights(p, before);
    assert_int_equal(plan_skill_info(p, "sorting", &info), 0);
    d_before = info.difficulty;
    assert_false(info.regressed);
    for (n = 1; n <= 6; n++) {
        feed(p, "sorting", d_before, 0, PLAN_S_NONE, FAILURE_EXCEPTION, t++);
        assert_int_equal(plan_skill_info(p, "sorting", &info), 0);
        if (info.regressed)
            break;
    }
    print_message("regression flagged after %d failures\n", n);
    assert_true(n <= 4);
    assert_int_equal(info.review_debt, plan_get_config(p)->regression_tasks);
    assert_true(info.review_due);
    plan_weights(p, after);
    assert_true(after[PLAN_S_REVIEW] >=
                plan_get_config(p)->regression_weight - 1e-12);
    assert_true(after[PLAN_S_REVIEW] > before[PLAN_S_REVIEW] + 0.1);
    assert_weights_ok(p);
    a = plan_analysis_json(p);
    assert_non_null(a);
    reg = cJSON_GetObjectItemCaseSensitive(a, "regressions");
    assert_int_equal(cJSON_GetArraySize(reg), 1);
    assert_string_equal(cJSON_GetArrayItem(reg, 0)->valuestring, "sorting");
    cJSON_Delete(a);

    plan_rng_seed(&g, 21);
    for (k = 0; k < 10 && found < 0; k++) {
        struct plan_choice c;

        assert_int_equal(plan_choose(p, &g, &c), 0);
        if (strcmp(c.skill, "sorting") == 0 &&
            c.strategy == PLAN_S_REVIEW) {
            found = k;
            assert_true(c.difficulty < d_before - 0.05);
            assert_true(c.target > plan_get_config(p)->target_success);
            assert_non_null(strstr(c.reason, "now fails"));
        }
    }
    print_message("chosen for review at choice %d\n", found + 1);
    assert_true(found >= 0);
    /* the debt is paid by results, and the weight comes down again */
    for (k = 0; k < 3; k++)
        feed(p, "sorting", 0.3, 1, PLAN_S_REVIEW, FAILURE_NONE, t++);
    assert_int_equal(plan_skill_info(p, "sorting", &info), 0);
    assert_int_equal(info.review_debt, 0);
    plan_weights(p, after);
    assert_true(after[PLAN_S_REVIEW] < plan_get_config(p)->regression_weight);
    plan_free(p);
}

/* A sudden drop in a skill that is neither weak nor mastered: the
 * rotation brings the skill back within a bounded number of tasks, a
 * failure where success was expected makes it suspect, and the very next
 * task re-tests it easier. Before suspicion and the rotation this took
 * tens of tasks (bench_trainer: a median of 46). */
static void test_suspect_drop(void **state)
{
    double truth[10] = { -1.5, 2.5, 0.5, 0.6, 3, -1, 1.2, 0.8, 2, -0.5 };
    const char *skill = "recursion";    /* truth 0.6: a middling one */
    struct plan_skill_info info;
    struct plan_rng g, learner;
    double d_pre, mean_level = 0;
    int t, acted = -1, first = -1, evidence = -1, weak_picks = 0;
    size_t i;
    struct plan *p;

    (void)state;
    assert_int_equal(plan_create(NULL, &p), 0);
    plan_rng_seed(&g, 81);
    plan_rng_seed(&learner, 82);
    for (t = 0; t < 300; t++) {
        struct plan_choice c;

        step(p, &g, &learner, truth, &c, T0 + t);
        if (t >= 200 && c.strategy == PLAN_S_WEAKNESS &&
            strcmp(c.skill, skill) == 0)
            weak_picks++;
    }
    /* the premise: middling, not mastered, not weak, nothing flagged */
    assert_int_equal(plan_skill_info(p, skill, &info), 0);
    for (i = 0; i < plan_skill_count(p); i++) {
        struct plan_skill_info o;

        assert_int_equal(plan_skill_info(p, plan_skill_name(p, i), &o), 0);
        mean_level += rating_level(&o.rating) / (double)plan_skill_count(p);
    }
    print_message("before the drop: level %.2f (mean %.2f), weakness "
                  "picks in the last 100 tasks %d\n",
                  rating_level(&info.rating), mean_level, weak_picks);
    assert_false(info.rating.mastered);
    assert_false(info.slipping);
    assert_false(info.suspect);
    assert_true(weak_picks <= 3);
    d_pre = info.difficulty;

    /* the drop: from now on the skill fails every task */
    for (t = 0; t < 80 && acted < 0; t++) {
        struct plan_choice c;
        int ok, mine;

        assert_int_equal(plan_choose(p, &g, &c), 0);
        mine = strcmp(c.skill, skill) == 0;
        if (mine && first < 0)
            first = t;
        if (evidence >= 0) {
            /* the task right after the evidence is the re-test */
            assert_int_equal(c.strategy, PLAN_S_REVIEW);
            assert_true(mine);
            assert_non_null(strstr(c.reason, "may have dropped"));
            assert_true(c.target > plan_base_target(p));
            assert_true(c.difficulty < d_pre - 0.02);
            acted = t;
        }
        ok = mine ? 0 : plan_rng_uniform(&learner) <
                        logistic(truth[index_of(p, c.skill)] -
                                 6 * (c.difficulty - 0.5));
        feed(p, c.skill, c.difficulty, ok, c.strategy, FAILURE_WRONG,
             T0 + 1000 + t);
        assert_int_equal(plan_skill_info(p, skill, &info), 0);
        if (info.suspect && evidence < 0)
            evidence = t;
        /* a failure predicted at 0.8 or more is enough, unless the trend
         * flagged it first (weakness then takes it, easier) */
        if (mine && !info.suspect && !info.slipping)
            assert_true(c.predicted < 0.8);
        if (info.slipping && acted < 0 && evidence < 0)
            acted = t + 1;
    }
    print_message("first chosen %d tasks after the drop, suspect after "
                  "task %d, re-tested easier at task %d\n", first,
                  evidence, acted);
    assert_true(first >= 0 && first <= 40);
    assert_true(evidence >= 0);
    assert_int_equal(acted, evidence + 1);
    assert_true(acted <= 45);
    plan_free(p);
}

/* A false alarm costs one task: a pass at the re-test clears the
 * suspicion; a failure nobody expected to pass is no evidence; the
 * evidence survives the state's round trip. */
static void test_suspect_false_alarm(void **state)
{
    struct plan_skill_info info;
    struct plan_choice c;
    struct plan_rng g;
    struct plan *p, *q;
    double d, before;
    cJSON *j;
    int t;

    (void)state;
    assert_int_equal(plan_create(NULL, &p), 0);
    plan_rng_seed(&g, 95);
    /* a skill the rating knows well: 3 of 4 passed near its level */
    for (t = 0; t < 40; t++)
        feed(p, "parsing", 0.5, t % 4 != 0, PLAN_S_NONE, FAILURE_WRONG,
             T0 + t);
    assert_int_equal(plan_skill_info(p, "parsing", &info), 0);
    assert_false(info.suspect);
    before = info.suspicion;
    /* a failure predicted at 0.3 adds nothing */
    assert_int_equal(rating_difficulty_for(&info.rating, 0.3, &d), 0);
    feed(p, "parsing", d, 0, PLAN_S_NONE, FAILURE_WRONG, T0 + 100);
    assert_int_equal(plan_skill_info(p, "parsing", &info), 0);
    assert_false(info.suspect);
    assert_true(info.suspicion == before);
    /* one at 0.9 makes it suspect */
    assert_int_equal(rating_difficulty_for(&info.rating, 0.9, &d), 0);
    feed(p, "parsing", d, 0, PLAN_S_NONE, FAILURE_WRONG, T0 + 101);
    assert_int_equal(plan_skill_info(p, "parsing", &info), 0);
    print_message("after a failure at 0.9: suspicion %.2f, trend %.2f, "
                  "slipping %d\n", info.suspicion, info.rating.trend,
                  info.slipping);
    assert_true(info.suspect);
    assert_true(info.review_due);
    assert_true(info.suspicion > 0);
    j = plan_analysis_json(p);
    assert_non_null(j);
    {
        const cJSON *sk = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(j, "skills"), "parsing");

        assert_true(cJSON_IsTrue(
            cJSON_GetObjectItemCaseSensitive(sk, "suspect")));
        assert_true(cJSON_GetObjectItemCaseSensitive(sk, "suspicion")
                        ->valuedouble == info.suspicion);
    }
    cJSON_Delete(j);

    /* the state keeps it */
    j = plan_state_to_json(p);
    assert_non_null(j);
    assert_int_equal(plan_create(NULL, &q), 0);
    assert_int_equal(plan_state_from_json(q, j), 0);
    cJSON_Delete(j);
    assert_same_state(p, q);
    assert_int_equal(plan_skill_info(q, "parsing", &info), 0);
    assert_true(info.suspect);
    j = cJSON_Parse("{\"skills\": [{\"name\": \"parsing\", "
                    "\"suspicion\": -1}]}");
    assert_int_equal(plan_state_from_json(q, j), -EINVAL);
    cJSON_Delete(j);
    j = cJSON_Parse("{\"skills\": [{\"name\": \"parsing\", "
                    "\"suspicion\": 1000}]}");
    assert_int_equal(plan_state_from_json(q, j), -EINVAL);
    cJSON_Delete(j);
    plan_free(q);

    /* every choice now is its re-test, until a result comes */
    for (t = 0; t < 3; t++) {
        assert_int_equal(plan_choose(p, &g, &c), 0);
        assert_int_equal(c.strategy, PLAN_S_REVIEW);
        assert_string_equal(c.skill, "parsing");
        assert_true(c.target > plan_base_target(p));
        assert_true(fabs(c.predicted - c.target) < 0.01);
    }
    j = plan_weights_json(p);
    assert_non_null(j);
    {
        const cJSON *ov = cJSON_GetObjectItemCaseSensitive(j, "overrides");
        const cJSON *it;
        int said = 0;

        cJSON_ArrayForEach(it, ov)
            said += cJSON_IsString(it) &&
                    strstr(it->valuestring, "suspected") != NULL;
        assert_int_equal(said, 1);
    }
    cJSON_Delete(j);
    feed(p, "parsing", c.difficulty, 1, c.strategy, FAILURE_NONE, T0 + 102);
    assert_int_equal(plan_skill_info(p, "parsing", &info), 0);
    assert_false(info.suspect);
    assert_false(info.review_due);
    /* and the choices are drawn again */
    for (t = 0; t < 20; t++) {
        assert_int_equal(plan_choose(p, &g, &c), 0);
        if (c.strategy != PLAN_S_REVIEW)
            break;
    }
    assert_true(t < 20);
    plan_free(p);
}

/* Once every skill is tried, exploration takes the one unseen longest, so
 * no skill waits long for a look, however the others fare. */
static void test_rotation(void **state)
{
    double truth[10] = { -2, -1.5, -1, 0.5, 1, 1.2, 1.5, 2, 2.5, 3 };
    unsigned long last[10] = { 0 }, worst = 0;
    struct plan_rng g, learner;
    struct plan *p;
    int t;

    (void)state;
    assert_int_equal(plan_create(NULL, &p), 0);
    plan_rng_seed(&g, 91);
    plan_rng_seed(&learner, 92);
    for (t = 1; t <= 500; t++) {
        struct plan_choice c;
        int k;

        step(p, &g, &learner, truth, &c, T0 + t);
        k = index_of(p, c.skill);
        if (t > 100 && (unsigned long)t - last[k] > worst)
            worst = (unsigned long)t - last[k];
        last[k] = (unsigned long)t;
        if (t > 100 && c.strategy == PLAN_S_EXPLORATION) {
            struct plan_skill_info info;
            size_t i;

            /* the chosen skill was the stalest: none waited longer */
            assert_non_null(strstr(c.reason, "not practised for"));
            for (i = 0; i < plan_skill_count(p); i++) {
                assert_int_equal(plan_skill_info(p, plan_skill_name(p, i),
                                                 &info), 0);
                if ((int)i != k)
                    assert_true(info.tasks_since >= 1);
            }
        }
    }
    print_message("longest wait between two results of a skill: %lu "
                  "tasks\n", worst);
    assert_true(worst <= 40);
    plan_free(p);
}

/* However lopsided the progress, every strategy keeps its floor. */
static void test_floor(void **state)
{
    struct plan_rng g, learner;
    double truth[10] = { -2, -1, 0, 1, 2, 3, -3, 0.5, 1.5, -0.5 };
    double w[PLAN_S__COUNT];
    struct plan *p;
    int t, s;

    (void)state;
    assert_int_equal(plan_create(NULL, &p), 0);
    assert_weights_ok(p);
    plan_rng_seed(&g, 31);
    plan_rng_seed(&learner, 32);
    for (t = 0; t < 300; t++) {
        struct plan_choice c;

        step(p, &g, &learner, truth, &c, T0 + t);
        assert_weights_ok(p);
    }
    /* weakness all surprise up, the rest all down */
    for (t = 0; t < 40; t++) {
        feed(p, "math", 1.0, 1, PLAN_S_WEAKNESS, FAILURE_NONE, T0 + 400 + t);
        for (s = PLAN_S_EXPLORATION; s < PLAN_S__COUNT; s++)
            feed(p, "lists", 0.0, 0, (enum plan_strategy)s, FAILURE_WRONG,
                 T0 + 400 + t);
        assert_weights_ok(p);
    }
    plan_weights(p, w);
    print_message("lopsided weights: %.3f %.3f %.3f %.3f\n",
                  w[1], w[2], w[3], w[4]);
    assert_true(w[PLAN_S_WEAKNESS] > 0.4);
    for (s = 2; s < PLAN_S__COUNT; s++)
        assert_true(w[s] < 0.2);
    /* both overrides at once: a regression owed reviews ... */
    for (t = 0; t < 40; t++)
        feed(p, "sorting", 0.9, 1, PLAN_S_NONE, FAILURE_NONE, T0 + 500 + t);
    {
        struct plan_skill_info info;

        assert_int_equal(plan_skill_info(p, "sorting", &info), 0);
        assert_true(info.rating.mastered);
        for (t = 0; t < 8 && !info.regressed; t++) {
            feed(p, "sorting", 0.3, 0, PLAN_S_NONE, FAILURE_WRONG,
                 T0 + 600 + t);
            assert_int_equal(plan_skill_info(p, "sorting", &info), 0);
        }
        assert_true(info.regressed);
    }
    plan_weights(p, w);
    assert_true(w[PLAN_S_REVIEW] >=
                plan_get_config(p)->regression_weight - 1e-9);
    assert_weights_ok(p);
    /* ... and an untried skill: every floor still holds */
    assert_int_equal(plan_add_skill(p, "graphs"), 1);
    plan_weights(p, w);
    print_message("both overrides: %.3f %.3f %.3f %.3f\n",
                  w[1], w[2], w[3], w[4]);
    assert_true(w[PLAN_S_REVIEW] >=
                plan_get_config(p)->regression_weight - 1e-9);
    assert_true(w[PLAN_S_EXPLORATION] > w[PLAN_S_STRETCH]);
    assert_weights_ok(p);
    plan_free(p);
}

/* Exploration takes untried skills first: all ten within a few dozen
 * tasks, and a skill added later straight away. */
static void test_exploration_untried_first(void **state)
{
    double truth[11] = { 0, 1, -1, 0.5, 2, -2, 1.5, -0.5, 0, 1, 0 };
    struct plan_skill_info info;
    struct plan_rng g, learner;
    struct plan *p;
    int t, tried_all = -1, n_new = -1;
    size_t i;

    (void)state;
    assert_int_equal(plan_create(NULL, &p), 0);
    plan_rng_seed(&g, 41);
    plan_rng_seed(&learner, 42);
    for (t = 0; t < 60 && tried_all < 0; t++) {
        struct plan_choice c;
        int was_new;

        assert_int_equal(plan_choose(p, &g, &c), 0);
        assert_int_equal(plan_skill_info(p, c.skill, &info), 0);
        was_new = info.rating.attempts == 0;
        if (c.strategy == PLAN_S_EXPLORATION) {
            assert_true(was_new);
            assert_non_null(strstr(c.reason, "never tried"));
        }
        feed(p, c.skill, c.difficulty,
             plan_rng_uniform(&learner) <
             logistic(truth[index_of(p, c.skill)] - 6 * (c.difficulty - .5)),
             c.strategy, FAILURE_WRONG, T0 + t);
        tried_all = t + 1;
        for (i = 0; i < plan_skill_count(p); i++) {
            assert_int_equal(plan_skill_info(p, plan_skill_name(p, i),
                                             &info), 0);
            if (!info.rating.attempts)
                tried_all = -1;
        }
    }
    print_message("every skill tried after %d tasks\n", tried_all);
    assert_true(tried_all > 0 && tried_all <= 40);
    /* the first choice of a fresh plan can only be exploration */
    {
        struct plan *q;
        struct plan_choice c;

        assert_int_equal(plan_create(NULL, &q), 0);
        assert_int_equal(plan_choose(q, &g, &c), 0);
        assert_int_equal(c.strategy, PLAN_S_EXPLORATION);
        plan_free(q);
    }
    assert_int_equal(plan_add_skill(p, "graphs"), 1);
    for (t = 0; t < 20 && n_new < 0; t++) {
        struct plan_choice c;

        assert_int_equal(plan_choose(p, &g, &c), 0);
        if (c.strategy == PLAN_S_EXPLORATION) {
            assert_string_equal(c.skill, "graphs");
            n_new = t;
        }
    }
    assert_true(n_new >= 0);
    plan_free(p);
}

/* The difficulty hits the target rate: per skill exactly under its rating,
 * and in practice against a learner. */
static void test_difficulty_targets_rate(void **state)
{
    double truth[10] = { -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, -2, 0.2 };
    unsigned long ok = 0, n = 0, ok_base = 0, n_base = 0;
    struct plan_rng g, learner;
    cJSON *dj, *per, *glob, *it;
    struct plan *p;
    double base, gd, mean = 0;
    int t, run;

    (void)state;
    for (run = 0; run < 10; run++) {
        assert_int_equal(plan_create(NULL, &p), 0);
        plan_rng_seed(&g, 50 + (uint64_t)run);
        plan_rng_seed(&learner, 150 + (uint64_t)run);
        for (t = 0; t < 400; t++) {
            struct plan_choice c;
            int s = step(p, &g, &learner, truth, &c, T0 + t);

            if (t < 100)
                continue;
            ok += (unsigned long)s;
            n++;
            if (fabs(c.target - plan_base_target(p)) < 0.02) {
                ok_base += (unsigned long)s;
                n_base++;
            }
        }
        if (run < 9)
            plan_free(p);
    }
    print_message("success %.3f overall (target 0.75), %.3f on base-target "
                  "tasks (base now %.3f)\n", (double)ok / n,
                  (double)ok_base / n_base, plan_base_target(p));
    assert_true(fabs((double)ok / n - 0.75) <= 0.04);

    /* current_difficulty.json: each skill's difficulty predicts its target
     * under its rating, and the global one the base target on average */
    dj = plan_difficulty_json(p);
    assert_non_null(dj);
    base = cJSON_GetObjectItemCaseSensitive(dj, "base_target")->valuedouble;
    assert_true(base == plan_base_target(p));
    per = cJSON_GetObjectItemCaseSensitive(dj, "per_skill");
    assert_int_equal(cJSON_GetArraySize(per), 10);
    cJSON_ArrayForEach(it, per) {
        struct plan_skill_info info;
        double d = cJSON_GetObjectItemCaseSensitive(it, "difficulty")
                       ->valuedouble;
        double tg = cJSON_GetObjectItemCaseSensitive(it, "target")
                        ->valuedouble;
        double pr;

        assert_int_equal(plan_skill_info(p, it->string, &info), 0);
        pr = rating_predict(&info.rating, d);
        if (d > 0 && d < 1)
            assert_true(fabs(pr - tg) < 1e-9);
        mean += pr;
    }
    glob = cJSON_GetObjectItemCaseSensitive(dj, "global");
    gd = cJSON_GetObjectItemCaseSensitive(glob, "difficulty")->valuedouble;
    mean = 0;
    cJSON_ArrayForEach(it, per) {
        struct plan_skill_info info;

        assert_int_equal(plan_skill_info(p, it->string, &info), 0);
        mean += rating_predict(&info.rating, gd);
    }
    if (gd > 0 && gd < 1)
        assert_true(fabs(mean / 10 - base) < 1e-6);
    else
        assert_true(gd == 0 ? mean / 10 <= base : mean / 10 >= base);
    assert_int_equal(cJSON_GetArraySize(
        cJSON_GetObjectItemCaseSensitive(glob, "curve")), 11);
    cJSON_Delete(dj);
    plan_free(p);
}

/* ---- views --------------------------------------------------------------- */

static void test_analysis_and_biases(void **state)
{
    const char *two[2] = { "parsing", "strings" };
    const char *low[3] = { "elegance.long", "speed.slow", "elegance.long" };
    struct plan_result r = { 0 };
    cJSON *a, *sk, *ps, *b, *arr, *it;
    struct plan *p;
    int t, found = 0;

    (void)state;
    assert_int_equal(plan_create(NULL, &p), 0);
    r.skills = two;
    r.nskills = 2;
    r.difficulty = 0.5;
    r.lowered = low;
    r.nlowered = 3;
    r.source = PLAN_SRC_SEED;
    r.time = T0;
    for (t = 0; t < 6; t++) {
        r.passed = t == 0;
        r.failure = t == 0 ? FAILURE_NONE :
                    t < 5 ? FAILURE_TIMEOUT : FAILURE_SYNTAX;
        assert_int_equal(plan_observe(p, &r), 0);
    }
    a = plan_analysis_json(p);
    assert_non_null(a);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(a, "tasks")->valueint,
                     6);
    sk = cJSON_GetObjectItemCaseSensitive(a, "skills");
    ps = cJSON_GetObjectItemCaseSensitive(sk, "parsing");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(ps, "attempts")
                         ->valueint, 6);
    assert_true(fabs(cJSON_GetObjectItemCaseSensitive(ps, "success_rate")
                         ->valuedouble - 1.0 / 6) < 1e-12);
    it = cJSON_GetObjectItemCaseSensitive(ps, "failure_kinds");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(it, "timeout")
                         ->valueint, 4);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(it, "syntax_error")
                         ->valueint, 1);
    /* a reason named twice in one result counts once */
    it = cJSON_GetObjectItemCaseSensitive(ps, "style_issues");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(it, "elegance.long")
                         ->valueint, 6);
    assert_null(cJSON_GetObjectItemCaseSensitive(it, "speed.slow"));
    it = cJSON_GetObjectItemCaseSensitive(ps, "lowered");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(it, "speed.slow")
                         ->valueint, 6);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(ps, "direction")
                            ->valuestring, "declining");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(a, "sources"), "seed")->valueint, 6);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(sk, "recursion"), "direction")
                            ->valuestring, "untried");
    cJSON_Delete(a);

    b = plan_biases_json(p);
    assert_non_null(b);
    arr = cJSON_GetObjectItemCaseSensitive(b, "biases");
    cJSON_ArrayForEach(it, arr) {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(it, "kind");

        if (strcmp(k->valuestring, "failure_kind_dominant") == 0) {
            assert_string_equal(cJSON_GetObjectItemCaseSensitive(
                it, "failure")->valuestring, "timeout");
            found++;
        }
    }
    assert_int_equal(found, 1);     /* overall; the skills lean the same */
    cJSON_Delete(b);

    /* a history where one skill took most choices, and a strategy that
     * sat at its floor, read back from a saved state */
    {
        cJSON *st = cJSON_CreateObject(), *h, *sts, *so;
        int kinds[3] = { 0 };

        h = cJSON_AddArrayToObject(st, "history");
        for (t = 0; t < 40; t++)
            cJSON_AddItemToArray(h, cJSON_CreateString(t % 4 ? "math"
                                                             : "lists"));
        sts = cJSON_AddObjectToObject(st, "strategies");
        so = cJSON_AddObjectToObject(sts, "stretch");
        cJSON_AddNumberToObject(so, "at_floor", 60);
        assert_int_equal(plan_state_from_json(p, st), 0);
        cJSON_Delete(st);
        b = plan_biases_json(p);
        assert_non_null(b);
        cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(b, "biases")) {
            const char *k = cJSON_GetObjectItemCaseSensitive(it, "kind")
                                ->valuestring;

            if (strcmp(k, "skill_overused") == 0) {
                assert_string_equal(cJSON_GetObjectItemCaseSensitive(
                    it, "skill")->valuestring, "math");
                kinds[0]++;
            } else if (strcmp(k, "strategy_at_floor") == 0) {
                assert_string_equal(cJSON_GetObjectItemCaseSensitive(
                    it, "strategy")->valuestring, "stretch");
                kinds[1]++;
            } else {
                kinds[2]++;
            }
        }
        assert_int_equal(kinds[0], 1);      /* 'lists' had 10 of 40: even */
        assert_int_equal(kinds[1], 1);
        assert_int_equal(kinds[2], 0);      /* the failures went with it */
        cJSON_Delete(b);
    }
    plan_free(p);
}

static void test_weights_json(void **state)
{
    struct plan *p;
    cJSON *w, *ws, *it;
    double sum = 0;

    (void)state;
    assert_int_equal(plan_create(NULL, &p), 0);
    w = plan_weights_json(p);
    assert_non_null(w);
    ws = cJSON_GetObjectItemCaseSensitive(w, "weights");
    assert_int_equal(cJSON_GetArraySize(ws), 4);
    cJSON_ArrayForEach(it, ws)
        sum += it->valuedouble;
    assert_true(fabs(sum - 1) < 1e-9);
    assert_true(cJSON_GetObjectItemCaseSensitive(ws, "exploration")
                    ->valuedouble >= 0.5 - 1e-9);
    assert_int_equal(cJSON_GetArraySize(
        cJSON_GetObjectItemCaseSensitive(w, "overrides")), 1);
    cJSON_Delete(w);
    plan_free(p);
}

/* ---- persistence --------------------------------------------------------- */

static void test_json_round_trip(void **state)
{
    double truth[10] = { -1, 0, 1, 2, 2.5, -2, 0.5, 1.5, 3, -0.5 };
    struct plan_rng g, learner, g2;
    struct plan *p, *q;
    cJSON *j, *j2;
    char *s1;
    int t;

    (void)state;
    assert_int_equal(plan_create(NULL, &p), 0);
    assert_int_equal(plan_add_skill(p, "graphs"), 1);
    plan_rng_seed(&g, 61);
    plan_rng_seed(&learner, 62);
    for (t = 0; t < 250; t++) {
        struct plan_choice c;
        const char *low[1] = { "elegance.deep" };
        const char *names[1];
        struct plan_result r = { 0 };
        int k;

        assert_int_equal(plan_choose(p, &g, &c), 0);
        k = index_of(p, c.skill);
        names[0] = c.skill;
        r.skills = names;
        r.nskills = 1;
        r.difficulty = c.difficulty;
        r.passed = plan_rng_uniform(&learner) <
                   logistic((k < 10 ? truth[k] : 0) -
                            6 * (c.difficulty - 0.5));
        r.failure = r.passed ? FAILURE_NONE : FAILURE_EXCEPTION;
        r.lowered = low;
        r.nlowered = t % 3 == 0;
        r.source = PLAN_SRC_TRAINER;
        r.strategy = c.strategy;
        r.time = T0 + t * 3600;
        assert_int_equal(plan_observe(p, &r), 0);
    }
    s1 = state_text(p);
    j = cJSON_Parse(s1);
    assert_non_null(j);
    assert_int_equal(plan_create(NULL, &q), 0);
    assert_int_equal(plan_state_from_json(q, j), 0);
    cJSON_Delete(j);
    assert_same_state(p, q);
    free(s1);
    /* the views agree, and so do the next choices */
    j = plan_analysis_json(p);
    j2 = plan_analysis_json(q);
    assert_true(same_tree(j, j2));
    cJSON_Delete(j);
    cJSON_Delete(j2);
    j = plan_weights_json(p);
    j2 = plan_weights_json(q);
    assert_true(same_tree(j, j2));
    cJSON_Delete(j);
    cJSON_Delete(j2);
    g2 = g;
    for (t = 0; t < 50; t++) {
        struct plan_choice a, b;

        assert_int_equal(plan_choose(p, &g, &a), 0);
        assert_int_equal(plan_choose(q, &g2, &b), 0);
        assert_int_equal(a.strategy, b.strategy);
        assert_string_equal(a.skill, b.skill);
        assert_true(fabs(a.difficulty - b.difficulty) < 1e-9);
        feed(p, a.skill, a.difficulty, t % 4 != 0, a.strategy, FAILURE_WRONG,
             T0 + 1000000 + t);
        feed(q, b.skill, b.difficulty, t % 4 != 0, b.strategy, FAILURE_WRONG,
             T0 + 1000000 + t);
    }
    plan_free(q);

    /* missing fields keep a fresh plan's values */
    assert_int_equal(plan_create(NULL, &q), 0);
    j = cJSON_Parse("{\"tasks\": 3, \"skills\": [{\"name\": \"graphs\"}]}");
    assert_int_equal(plan_state_from_json(q, j), 0);
    cJSON_Delete(j);
    assert_int_equal(plan_skill_count(q), 11);
    assert_string_equal(plan_skill_name(q, 10), "graphs");
    j = cJSON_Parse("{}");
    assert_int_equal(plan_state_from_json(q, j), 0);
    cJSON_Delete(j);
    assert_int_equal(plan_skill_count(q), 10);
    plan_free(q);
    plan_free(p);
}

/* ---- bad input ----------------------------------------------------------- */

static void test_bad_input(void **state)
{
    static const char *const bad_states[] = {
        "[]",
        "{\"tasks\": \"3\"}",
        "{\"tasks\": -1}",
        "{\"tasks\": 1.5}",
        "{\"version\": 2}",
        "{\"skills\": {}}",
        "{\"skills\": [3]}",
        "{\"skills\": [{\"name\": \"Bad\"}]}",
        "{\"skills\": [{\"name\": \"a\"}, {\"name\": \"a\"}]}",
        "{\"skills\": [{\"name\": \"a\", \"rating\": {\"rating\": \"x\"}}]}",
        "{\"skills\": [{\"name\": \"a\", \"rating\": 3}]}",
        "{\"skills\": [{\"name\": \"a\", \"recent\": [2]}]}",
        "{\"skills\": [{\"name\": \"a\", \"lapse\": 1}]}",
        "{\"skills\": [{\"name\": \"a\", \"failures\": {\"oops\": 1}}]}",
        "{\"skills\": [{\"name\": \"a\", \"lowered\": {\"A B\": 1}}]}",
        "{\"skills\": [{\"name\": \"a\", \"last_seen\": 5}]}",
        "{\"strategies\": {\"luck\": {}}}",
        "{\"strategies\": {\"stretch\": {\"window\": [5]}}}",
        "{\"strategies\": {\"stretch\": {\"window\": \"x\"}}}",
        "{\"history\": [\"nowhere\"]}",
        "{\"history\": [1]}",
        "{\"stretch_share\": 2}",
        "{\"passed\": 3, \"tasks\": 2}",
    };
    const char *good[1] = { "lists" }, *badname[1] = { "No Caps" };
    const char *many[PLAN_RESULT_REASONS_MAX + 1];
    struct plan_config cfg;
    struct plan_result r;
    struct plan_choice c;
    struct plan_rng g;
    struct plan *p;
    char *before, *after;
    size_t i;

    (void)state;
    assert_int_equal(plan_create(NULL, NULL), -EINVAL);
    plan_config_default(&cfg);
    cfg.target_success = 1;
    assert_int_equal(plan_create(&cfg, &p), -EINVAL);
    plan_config_default(&cfg);
    cfg.weight_floor = NAN;
    assert_int_equal(plan_config_check(&cfg), -EINVAL);
    plan_config_default(&cfg);
    cfg.recent_window = 33;
    assert_int_equal(plan_config_check(&cfg), -EINVAL);
    plan_config_default(&cfg);
    cfg.review_max = 2;
    assert_int_equal(plan_config_check(&cfg), -EINVAL);
    plan_config_default(&cfg);
    cfg.explore_weight = 0.9;
    assert_int_equal(plan_config_check(&cfg), -EINVAL);
    assert_int_equal(plan_config_check(NULL), -EINVAL);

    assert_int_equal(plan_create(NULL, &p), 0);
    feed(p, "lists", 0.5, 1, PLAN_S_NONE, FAILURE_NONE, T0);
    before = state_text(p);

    memset(&r, 0, sizeof(r));
    r.skills = good;
    r.nskills = 1;
    r.difficulty = 0.5;
    r.time = T0;
    assert_int_equal(plan_observe(NULL, &r), -EINVAL);
    assert_int_equal(plan_observe(p, NULL), -EINVAL);
    r.nskills = 0;
    assert_int_equal(plan_observe(p, &r), -EINVAL);
    r.nskills = PLAN_RESULT_SKILLS_MAX + 1;
    assert_int_equal(plan_observe(p, &r), -EINVAL);
    r.nskills = 1;
    r.skills = badname;
    assert_int_equal(plan_observe(p, &r), -EINVAL);
    r.skills = good;
    r.difficulty = 1.5;
    assert_int_equal(plan_observe(p, &r), -EINVAL);
    r.difficulty = NAN;
    assert_int_equal(plan_observe(p, &r), -EINVAL);
    r.difficulty = 0.5;
    r.passed = 1;
    r.failure = FAILURE_TIMEOUT;
    assert_int_equal(plan_observe(p, &r), -EINVAL);
    r.failure = (enum failure_kind)99;
    r.passed = 0;
    assert_int_equal(plan_observe(p, &r), -EINVAL);
    r.failure = FAILURE_WRONG;
    r.strategy = (enum plan_strategy)7;
    assert_int_equal(plan_observe(p, &r), -EINVAL);
    r.strategy = PLAN_S_NONE;
    r.source = (enum plan_source)-1;
    assert_int_equal(plan_observe(p, &r), -EINVAL);
    r.source = PLAN_SRC_USER;
    r.time = -5;
    assert_int_equal(plan_observe(p, &r), -EINVAL);
    r.time = T0;
    for (i = 0; i <= PLAN_RESULT_REASONS_MAX; i++)
        many[i] = "elegance.long";
    r.lowered = many;
    r.nlowered = PLAN_RESULT_REASONS_MAX + 1;
    assert_int_equal(plan_observe(p, &r), -EINVAL);
    many[0] = "Elegance Long";
    r.nlowered = 1;
    assert_int_equal(plan_observe(p, &r), -EINVAL);
    r.lowered = NULL;
    assert_int_equal(plan_observe(p, &r), -EINVAL);   /* 1 reason, no array */

    plan_rng_seed(&g, 1);
    assert_int_equal(plan_choose(NULL, &g, &c), -EINVAL);
    assert_int_equal(plan_choose(p, NULL, &c), -EINVAL);
    assert_int_equal(plan_choose(p, &g, NULL), -EINVAL);
    assert_int_equal(plan_skill_info(p, "nowhere", &(struct plan_skill_info){
                                         0 }), -ENOENT);
    assert_null(plan_analysis_json(NULL));
    assert_null(plan_state_to_json(NULL));
    assert_int_equal(plan_state_from_json(p, NULL), -EINVAL);

    for (i = 0; i < sizeof(bad_states) / sizeof(bad_states[0]); i++) {
        cJSON *j = cJSON_Parse(bad_states[i]);

        assert_non_null(j);
        if (plan_state_from_json(p, j) != -EINVAL)
            fail_msg("accepted: %s", bad_states[i]);
        cJSON_Delete(j);
    }
    after = state_text(p);
    assert_same_text(before, after);     /* nothing changed */
    free(before);
    free(after);

    /* names */
    {
        enum plan_strategy s;
        enum failure_kind f;
        enum plan_source src;

        assert_int_equal(plan_strategy_from_name("regression_review", &s), 0);
        assert_int_equal(s, PLAN_S_REVIEW);
        assert_int_equal(failure_kind_parse("no_code", &f), 0);
        assert_int_equal(f, FAILURE_NO_CODE);
        assert_int_equal(plan_source_from_name("seed", &src), 0);
        assert_int_equal(src, PLAN_SRC_SEED);
        assert_int_equal(failure_kind_parse("bogus", &f), -EINVAL);
        assert_string_equal(plan_strategy_name((enum plan_strategy)42), "?");
    }
    plan_free(p);
}

/* Unknown skills named by a result join the catalogue; the reason table
 * is bounded. */
static void test_result_grows_catalogue(void **state)
{
    const char *names[3] = { "graphs", "lists", "graphs" };
    const char *reason[1];
    char buf[32];
    struct plan_result r = { 0 };
    struct plan_skill_info info;
    struct plan *p;
    int i;

    (void)state;
    assert_int_equal(plan_create(NULL, &p), 0);
    r.skills = names;
    r.nskills = 3;
    r.difficulty = 0.4;
    r.passed = 1;
    r.time = T0;
    assert_int_equal(plan_observe(p, &r), 0);
    assert_int_equal(plan_skill_count(p), 11);
    assert_int_equal(plan_skill_info(p, "graphs", &info), 0);
    assert_int_equal(info.rating.attempts, 1);    /* duplicates once */
    r.nskills = 1;
    r.lowered = reason;
    r.nlowered = 1;
    reason[0] = buf;
    for (i = 0; i < PLAN_REASONS_MAX; i++) {
        snprintf(buf, sizeof(buf), "x.r%d", i);
        assert_int_equal(plan_observe(p, &r), 0);
    }
    snprintf(buf, sizeof(buf), "x.one_more");
    assert_int_equal(plan_observe(p, &r), -ENOSPC);
    snprintf(buf, sizeof(buf), "x.r3");
    assert_int_equal(plan_observe(p, &r), 0);
    plan_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalogue),
        cmocka_unit_test(test_weak_skill_gets_more),
        cmocka_unit_test(test_review_intervals),
        cmocka_unit_test(test_regression),
        cmocka_unit_test(test_suspect_drop),
        cmocka_unit_test(test_suspect_false_alarm),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_floor),
        cmocka_unit_test(test_exploration_untried_first),
        cmocka_unit_test(test_difficulty_targets_rate),
        cmocka_unit_test(test_analysis_and_biases),
        cmocka_unit_test(test_weights_json),
        cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_result_grows_catalogue),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
