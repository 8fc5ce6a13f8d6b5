/* score.c -- the scoring engine (formula in score.h, examples in
 * docs/scoring.md).
 */
#include "agents/builder/score.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const reason_names[SCORE_R__COUNT] = {
    [SCORE_R_NO_TESTS] = "accuracy.no_tests",
    [SCORE_R_TESTS_FAILED] = "accuracy.tests_failed",
    [SCORE_R_SELF_TESTS] = "accuracy.self_tests",
    [SCORE_R_TIMEOUT] = "speed.timeout",
    [SCORE_R_SLOW] = "speed.slow",
    [SCORE_R_RETRIES] = "speed.retries",
    [SCORE_R_NO_CODE] = "elegance.no_code",
    [SCORE_R_LONG] = "elegance.long",
    [SCORE_R_COMPLEX] = "elegance.complex",
    [SCORE_R_DEEP] = "elegance.deep",
    [SCORE_R_LINT] = "elegance.lint",
    [SCORE_R_WIDE] = "elegance.wide",
    [SCORE_R_EASY] = "difficulty.easy",
};

const char *score_reason_name(enum score_reason r)
{
    if ((unsigned)r >= SCORE_R__COUNT)
        return "?";
    return reason_names[r];
}

void score_weights_default(struct score_weights *w)
{
    *w = (struct score_weights){
        .accuracy = 0.6,
        .speed = 0.2,
        .elegance = 0.2,
        .difficulty_min = 0.5,
        .difficulty_max = 1.5,
        .visible_share = 0.0,
        .self_test_trust = 0.8,
        .time = 0.5,
        .attempts = 0.5,
        .time_free = 0.1,
        .size = 0.3,
        .complexity = 0.25,
        .nesting = 0.15,
        .lint = 0.25,
        .width = 0.05,
        .size_slack = 1.25,
        .complexity_slack = 1.5,
        .depth_slack = 1.0,
        .size_budget = 50.0,
        .complexity_budget = 10.0,
        .depth_budget = 4.0,
        .width_budget = 100.0,
        .lint_step = 0.25,
    };
}

/* The weights by name, for score_weights_parse. */
#define W(f) { #f, offsetof(struct score_weights, f) }
static const struct {
    const char *name;
    size_t off;
} weight_names[] = {
    W(accuracy), W(speed), W(elegance), W(difficulty_min),
    W(difficulty_max), W(visible_share), W(self_test_trust), W(time),
    W(attempts), W(time_free), W(size), W(complexity), W(nesting), W(lint),
    W(width), W(size_slack), W(complexity_slack), W(depth_slack),
    W(size_budget), W(complexity_budget), W(depth_budget), W(width_budget),
    W(lint_step),
};
#undef W

int score_weights_parse(const char *spec, struct score_weights *w, char *err,
                        size_t errlen)
{
    struct score_weights tmp = *w;
    const char *p = spec ? spec : "";

    while (*p) {
        size_t n = strcspn(p, ",");
        const char *eq = memchr(p, '=', n);
        size_t k;
        char *end;
        double v;

        if (n == 0) {
            p++;
            continue;
        }
        for (k = 0; eq && k < sizeof weight_names / sizeof *weight_names; k++)
            if (strlen(weight_names[k].name) == (size_t)(eq - p) &&
                strncmp(weight_names[k].name, p, (size_t)(eq - p)) == 0)
                break;
        if (!eq || k == sizeof weight_names / sizeof *weight_names) {
            snprintf(err, errlen, "'%.*s' is not NAME=NUMBER with a known "
                     "weight name (see docs/scoring.md)", (int)n, p);
            return -EINVAL;
        }
        errno = 0;
        v = strtod(eq + 1, &end);
        if (errno || end == eq + 1 || end != p + n || !isfinite(v)) {
            snprintf(err, errlen, "weight '%s' wants a number, got '%.*s'",
                     weight_names[k].name, (int)(p + n - eq - 1), eq + 1);
            return -EINVAL;
        }
        *(double *)((char *)&tmp + weight_names[k].off) = v;
        p += n;
    }
    if (score_weights_check(&tmp) < 0) {
        snprintf(err, errlen, "the weights do not make a usable formula "
                 "(negative, all-zero sums, or out of range; see "
                 "docs/scoring.md)");
        return -EINVAL;
    }
    *w = tmp;
    return 0;
}

int score_weights_check(const struct score_weights *w)
{
    const double all[] = {
        w->accuracy, w->speed, w->elegance, w->difficulty_min,
        w->difficulty_max, w->visible_share, w->self_test_trust, w->time,
        w->attempts, w->time_free, w->size, w->complexity, w->nesting,
        w->lint, w->width, w->size_slack, w->complexity_slack,
        w->depth_slack, w->size_budget, w->complexity_budget,
        w->depth_budget, w->width_budget, w->lint_step,
    };
    size_t i;

    for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (!isfinite(all[i]) || all[i] < 0)
            return -EINVAL;
    if (w->accuracy + w->speed + w->elegance <= 0 ||
        w->time + w->attempts <= 0 ||
        w->size + w->complexity + w->nesting + w->lint + w->width <= 0)
        return -EINVAL;
    if (w->difficulty_max < w->difficulty_min || w->visible_share > 1 ||
        w->self_test_trust > 1 || w->time_free >= 1)
        return -EINVAL;
    if (w->size_slack <= 0 || w->complexity_slack <= 0 ||
        w->size_budget <= 0 || w->complexity_budget <= 0 ||
        w->depth_budget <= 0 || w->width_budget <= 0)
        return -EINVAL;
    return 0;
}

static int input_check(const struct score_input *in)
{
    if (in->visible_passed < 0 || in->visible_total < 0 ||
        in->hidden_passed < 0 || in->hidden_total < 0 ||
        in->lint_warnings < 0)
        return -EINVAL;
    if (in->visible_passed > in->visible_total ||
        in->hidden_passed > in->hidden_total)
        return -EINVAL;
    if (!isfinite(in->run_ms) || in->run_ms < 0 ||
        !isfinite(in->limit_ms) || in->limit_ms <= 0)
        return -EINVAL;
    if (in->max_attempts < 1 || in->attempts < 1 ||
        in->attempts > in->max_attempts)
        return -EINVAL;
    if (!(in->difficulty >= 0 && in->difficulty <= 1))    /* NaN too */
        return -EINVAL;
    return 0;
}

/* The budget rule: full marks up to the budget, then budget/x, so twice
 * the budget halves the part. */
static double allow(double x, double budget)
{
    if (x <= budget)
        return 1.0;
    return budget / x;
}

static double clamp01(double x)
{
    return x < 0 ? 0 : x > 1 ? 1 : x;
}

static void score_accuracy(const struct score_input *in,
                           const struct score_weights *w, struct score *s)
{
    double a;

    if (in->hidden_total > 0) {
        double h = (double)in->hidden_passed / in->hidden_total;
        double v = in->visible_total > 0 ?
            (double)in->visible_passed / in->visible_total : h;

        a = (1 - w->visible_share) * h + w->visible_share * v;
        s->passed = in->hidden_passed == in->hidden_total &&
            (w->visible_share == 0 || in->visible_total == 0 ||
             in->visible_passed == in->visible_total);
    } else if (in->visible_total > 0) {
        a = (double)in->visible_passed / in->visible_total;
        s->passed = in->visible_passed == in->visible_total;
    } else {
        a = 0;
        s->passed = 0;
        s->lowered |= 1u << SCORE_R_NO_TESTS;
    }
    if (a < 1 && !(s->lowered & (1u << SCORE_R_NO_TESTS)))
        s->lowered |= 1u << SCORE_R_TESTS_FAILED;
    if (in->tests_self_written) {
        s->self_tested = 1;
        if (w->self_test_trust < 1 && a > 0)
            s->lowered |= 1u << SCORE_R_SELF_TESTS;
        a *= w->self_test_trust;
    }
    s->accuracy = clamp01(a);
}

static void score_speed(const struct score_input *in,
                        const struct score_weights *w, struct score *s)
{
    double t, free_ms = w->time_free * in->limit_ms;

    if (in->timed_out) {
        t = 0;
        s->lowered |= 1u << SCORE_R_TIMEOUT;
    } else if (in->run_ms <= free_ms) {
        t = 1;
    } else {
        t = clamp01((in->limit_ms - in->run_ms) / (in->limit_ms - free_ms));
        s->lowered |= 1u << SCORE_R_SLOW;
    }
    s->time_part = t;
    s->attempts_part = (double)(in->max_attempts - in->attempts + 1) /
        in->max_attempts;
    if (in->attempts > 1)
        s->lowered |= 1u << SCORE_R_RETRIES;
    s->speed = clamp01((w->time * s->time_part +
                        w->attempts * s->attempts_part) /
                       (w->time + w->attempts));
}

static void score_elegance(const struct score_input *in,
                           const struct score_weights *w, struct score *s)
{
    const struct metrics *c = &in->code;
    double lb, cb, db, sum;

    if (c->lines == 0) {
        s->elegance = 0;
        s->lowered |= 1u << SCORE_R_NO_CODE;
        return;
    }
    if (in->have_reference) {
        const struct metrics *r = &in->reference;

        s->have_reference = 1;
        lb = w->size_slack * (double)(r->lines > 0 ? r->lines : 1);
        cb = w->complexity_slack *
            (double)(r->complexity > 0 ? r->complexity : 1);
        db = (double)r->max_depth + w->depth_slack;
    } else {
        lb = w->size_budget;
        cb = w->complexity_budget;
        db = w->depth_budget;
    }
    s->size_part = allow((double)c->lines, lb);
    s->complexity_part = allow((double)c->complexity, cb);
    s->nesting_part = allow((double)c->max_depth, db);
    s->lint_part = 1.0 / (1.0 + w->lint_step * in->lint_warnings);
    s->width_part = allow((double)c->longest_line, w->width_budget);
    if (s->size_part < 1)
        s->lowered |= 1u << SCORE_R_LONG;
    if (s->complexity_part < 1)
        s->lowered |= 1u << SCORE_R_COMPLEX;
    if (s->nesting_part < 1)
        s->lowered |= 1u << SCORE_R_DEEP;
    if (s->lint_part < 1)
        s->lowered |= 1u << SCORE_R_LINT;
    if (s->width_part < 1)
        s->lowered |= 1u << SCORE_R_WIDE;
    sum = w->size + w->complexity + w->nesting + w->lint + w->width;
    s->elegance = clamp01((w->size * s->size_part +
                           w->complexity * s->complexity_part +
                           w->nesting * s->nesting_part +
                           w->lint * s->lint_part +
                           w->width * s->width_part) / sum);
}

int score_compute(const struct score_input *in, const struct score_weights *w,
                  struct score *out)
{
    struct score_weights def;
    struct score s = { 0 };

    if (!in || !out)
        return -EINVAL;
    if (!w) {
        score_weights_default(&def);
        w = &def;
    }
    if (score_weights_check(w) < 0 || input_check(in) < 0)
        return -EINVAL;
    s.task_difficulty = in->difficulty;
    score_accuracy(in, w, &s);
    score_speed(in, w, &s);
    score_elegance(in, w, &s);
    s.difficulty = w->difficulty_min +
        (w->difficulty_max - w->difficulty_min) * in->difficulty;
    if (s.difficulty < 1)
        s.lowered |= 1u << SCORE_R_EASY;
    s.total = s.difficulty * s.accuracy *
        (w->accuracy + w->speed * s.speed + w->elegance * s.elegance) /
        (w->accuracy + w->speed + w->elegance);
    *out = s;
    return 0;
}

/* cJSON_Add*ToObject return NULL on failure; one check per call keeps
 * score_to_json honest about memory. */
static int add_num(cJSON *o, const char *k, double v)
{
    return cJSON_AddNumberToObject(o, k, v) ? 0 : -ENOMEM;
}

static int add_bool(cJSON *o, const char *k, int v)
{
    return cJSON_AddBoolToObject(o, k, v ? 1 : 0) ? 0 : -ENOMEM;
}

static int add_details(cJSON *o, const struct score *s)
{
    cJSON *d = cJSON_AddObjectToObject(o, "details");
    cJSON *lowered;
    unsigned i;

    if (!d)
        return -ENOMEM;
    if (add_num(d, "task_difficulty", s->task_difficulty) ||
        add_bool(d, "passed", s->passed) ||
        add_bool(d, "self_tested", s->self_tested) ||
        add_bool(d, "reference", s->have_reference) ||
        add_num(d, "time", s->time_part) ||
        add_num(d, "attempts", s->attempts_part) ||
        add_num(d, "size", s->size_part) ||
        add_num(d, "complexity", s->complexity_part) ||
        add_num(d, "nesting", s->nesting_part) ||
        add_num(d, "lint", s->lint_part) ||
        add_num(d, "width", s->width_part))
        return -ENOMEM;
    lowered = cJSON_AddArrayToObject(d, "lowered");
    if (!lowered)
        return -ENOMEM;
    for (i = 0; i < SCORE_R__COUNT; i++) {
        cJSON *name;

        if (!(s->lowered & (1u << i)))
            continue;
        name = cJSON_CreateString(reason_names[i]);
        if (!name || !cJSON_AddItemToArray(lowered, name)) {
            cJSON_Delete(name);
            return -ENOMEM;
        }
    }
    return 0;
}

cJSON *score_to_json(const struct score *s, int details)
{
    cJSON *o;

    if (!s)
        return NULL;
    o = cJSON_CreateObject();
    if (!o)
        return NULL;
    if (add_num(o, "accuracy", s->accuracy) ||
        add_num(o, "speed", s->speed) ||
        add_num(o, "elegance", s->elegance) ||
        add_num(o, "difficulty", s->difficulty) ||
        add_num(o, "total", s->total) ||
        (details && add_details(o, s))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
