/* plan_json.c -- the plan's JSON views: the choice, the skill analysis,
 * difficulty, strategy weights and biases that the Trainer writes to
 * advanced/, and the small cJSON builders the views and plan_state.c share.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "plan_internal.h"

/* ---- JSON helpers -------------------------------------------------------- */

void plan_jnum(cJSON *o, const char *k, double v, int *bad)
{
    if (!cJSON_AddNumberToObject(o, k, v))
        *bad = 1;
}

void plan_jstr(cJSON *o, const char *k, const char *v, int *bad)
{
    if (!cJSON_AddStringToObject(o, k, v))
        *bad = 1;
}

void plan_jbool(cJSON *o, const char *k, int v, int *bad)
{
    if (!cJSON_AddBoolToObject(o, k, v != 0))
        *bad = 1;
}

cJSON *plan_jobj(cJSON *o, const char *k, int *bad)
{
    cJSON *c = cJSON_AddObjectToObject(o, k);

    if (!c)
        *bad = 1;
    return c;
}

cJSON *plan_jarr(cJSON *o, const char *k, int *bad)
{
    cJSON *c = cJSON_AddArrayToObject(o, k);

    if (!c)
        *bad = 1;
    return c;
}

void plan_jpush(cJSON *a, cJSON *item, int *bad)
{
    if (!item || !a || !cJSON_AddItemToArray(a, item)) {
        cJSON_Delete(item);
        *bad = 1;
    }
}

void plan_jput(cJSON *o, const char *k, cJSON *item, int *bad)
{
    if (!item || !o || !cJSON_AddItemToObject(o, k, item)) {
        cJSON_Delete(item);
        *bad = 1;
    }
}

cJSON *plan_jfinish(cJSON *o, int bad)
{
    if (bad) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static void jtime(cJSON *o, const char *k, time_t t, int *bad)
{
    char buf[CLOCK_RFC3339_SIZE];

    if (t <= 0) {
        if (!cJSON_AddNullToObject(o, k))
            *bad = 1;
    } else if (clock_rfc3339(t, buf) < 0) {
        plan_jnum(o, k, (double)t, bad);
    } else {
        plan_jstr(o, k, buf, bad);
    }
}

cJSON *plan_choice_json(const struct plan_choice *c)
{
    cJSON *o;
    int bad = 0;

    if (!c)
        return NULL;
    o = cJSON_CreateObject();
    if (!o)
        return NULL;
    plan_jstr(o, "strategy", plan_strategy_name(c->strategy), &bad);
    plan_jstr(o, "skill", c->skill, &bad);
    plan_jnum(o, "difficulty", c->difficulty, &bad);
    plan_jnum(o, "predicted_success", c->predicted, &bad);
    plan_jnum(o, "target_success", c->target, &bad);
    plan_jnum(o, "weight", c->weight, &bad);
    plan_jstr(o, "reason", c->reason, &bad);
    return plan_jfinish(o, bad);
}

/* ---- views --------------------------------------------------------------- */

static const char *direction(const struct skill *s)
{
    if (!s->r.attempts)
        return "untried";
    if (s->r.trend >= 0.1)
        return "improving";
    if (s->r.trend <= -0.1)
        return "declining";
    return "steady";
}

static int is_style(const char *reason)
{
    return strncmp(reason, "elegance.", 9) == 0;
}

void plan_failure_counts(cJSON *o, const char *k, const unsigned long *f,
                         int *bad)
{
    cJSON *c = plan_jobj(o, k, bad);
    int i;

    for (i = 1; i < FAILURE__COUNT && c; i++)
        if (f[i])
            plan_jnum(c, failure_kind_name(i), (double)f[i], bad);
}

int plan_skill_info(const struct plan *p, const char *skill,
                    struct plan_skill_info *out)
{
    const struct skill *s;
    long at;

    if (!p || !skill || !out)
        return -EINVAL;
    at = plan_find_skill(p, skill);
    if (at < 0)
        return -ENOENT;
    s = &p->skills[at];
    *out = (struct plan_skill_info){
        .rating = s->r,
        .difficulty = plan_difficulty_for(s, plan_skill_target(p, s)),
        .recent_success = plan_recent_rate(s),
        .recent_n = s->recent_n,
        .tasks_since = plan_tasks_since(p, s),
        .review_interval = s->review_interval,
        .review_due = plan_review_due(p, s),
        .slipping = plan_is_slipping(s),
        .regressed = s->regressed,
        .review_debt = s->review_debt,
        .chosen = s->chosen,
        .suspect = plan_is_suspect(s),
        .suspicion = s->suspicion,
    };
    return 0;
}

static void skill_analysis(const struct plan *p, const struct skill *s,
                           cJSON *o, int *bad)
{
    const struct rating *r = &s->r;
    cJSON *rec, *style, *low;
    size_t i;

    plan_jnum(o, "attempts", (double)r->attempts, bad);
    plan_jnum(o, "successes", (double)r->successes, bad);
    if (r->attempts)
        plan_jnum(o, "success_rate", (double)r->successes / r->attempts, bad);
    else if (!cJSON_AddNullToObject(o, "success_rate"))
        *bad = 1;
    rec = plan_jobj(o, "recent", bad);
    if (rec) {
        plan_jnum(rec, "window", p->cfg.recent_window, bad);
        plan_jnum(rec, "attempts", s->recent_n, bad);
        if (s->recent_n)
            plan_jnum(rec, "success_rate", plan_recent_rate(s), bad);
        else if (!cJSON_AddNullToObject(rec, "success_rate"))
            *bad = 1;
    }
    plan_jnum(o, "trend", r->trend, bad);
    plan_jstr(o, "direction", direction(s), bad);
    plan_jnum(o, "rating", r->ability, bad);
    plan_jnum(o, "uncertainty", sqrt(r->variance), bad);
    plan_jnum(o, "level", rating_level(r), bad);
    jtime(o, "last_practised", r->last_practised, bad);
    if (s->last_seen)
        plan_jnum(o, "tasks_since_practised",
                  (double)plan_tasks_since(p, s), bad);
    else if (!cJSON_AddNullToObject(o, "tasks_since_practised"))
        *bad = 1;
    plan_jbool(o, "mastered", r->mastered, bad);
    plan_jbool(o, "ever_mastered", r->ever_mastered, bad);
    plan_jbool(o, "slipping", plan_is_slipping(s), bad);
    plan_jbool(o, "suspect", plan_is_suspect(s), bad);
    plan_jnum(o, "suspicion", s->suspicion, bad);
    plan_jbool(o, "regressed", s->regressed, bad);
    plan_jnum(o, "regressions", (double)s->regressions, bad);
    plan_jnum(o, "review_interval", s->review_interval, bad);
    plan_jbool(o, "review_due", plan_review_due(p, s), bad);
    plan_failure_counts(o, "failure_kinds", s->failures, bad);
    style = plan_jobj(o, "style_issues", bad);
    low = plan_jobj(o, "lowered", bad);
    for (i = 0; i < p->nreasons && style && low; i++) {
        if (!s->lowered[i])
            continue;
        if (is_style(p->reasons[i]))
            plan_jnum(style, p->reasons[i], (double)s->lowered[i], bad);
        plan_jnum(low, p->reasons[i], (double)s->lowered[i], bad);
    }
}

cJSON *plan_analysis_json(const struct plan *p)
{
    cJSON *o, *src, *style, *reg, *slip, *mast, *weak, *skills;
    unsigned long total[PLAN_REASONS_MAX] = { 0 };
    size_t i, j, order[3], norder = 0;
    int bad = 0;

    if (!p)
        return NULL;
    o = cJSON_CreateObject();
    if (!o)
        return NULL;
    plan_jnum(o, "tasks", (double)p->tasks, &bad);
    if (p->tasks)
        plan_jnum(o, "success_rate", (double)p->passed / p->tasks, &bad);
    else if (!cJSON_AddNullToObject(o, "success_rate"))
        bad = 1;
    src = plan_jobj(o, "sources", &bad);
    for (i = 0; i < PLAN_SRC__COUNT && src; i++)
        plan_jnum(src, plan_source_name(i), (double)p->sources[i], &bad);
    plan_failure_counts(o, "failure_kinds", p->failures, &bad);
    for (i = 0; i < p->nskills; i++)
        for (j = 0; j < p->nreasons; j++)
            total[j] += p->skills[i].lowered[j];
    style = plan_jobj(o, "style_issues", &bad);
    for (j = 0; j < p->nreasons && style; j++)
        if (total[j] && is_style(p->reasons[j]))
            plan_jnum(style, p->reasons[j], (double)total[j], &bad);
    reg = plan_jarr(o, "regressions", &bad);
    slip = plan_jarr(o, "slipping", &bad);
    mast = plan_jarr(o, "mastered", &bad);
    weak = plan_jarr(o, "weakest", &bad);
    skills = plan_jobj(o, "skills", &bad);
    if (bad)
        return plan_jfinish(o, bad);
    for (i = 0; i < p->nskills; i++) {
        const struct skill *s = &p->skills[i];
        cJSON *so = cJSON_CreateObject();

        if (s->regressed)
            plan_jpush(reg, cJSON_CreateString(s->name), &bad);
        if (plan_is_slipping(s))
            plan_jpush(slip, cJSON_CreateString(s->name), &bad);
        if (s->r.mastered)
            plan_jpush(mast, cJSON_CreateString(s->name), &bad);
        if (so)
            skill_analysis(p, s, so, &bad);
        plan_jput(skills, s->name, so, &bad);
        /* the three lowest tried abilities, insertion-sorted */
        if (s->r.attempts) {
            size_t k = norder < 3 ? norder++ : 3;

            while (k > 0 && p->skills[order[k - 1]].r.ability > s->r.ability) {
                if (k < 3)
                    order[k] = order[k - 1];
                k--;
            }
            if (k < 3)
                order[k] = i;
        }
    }
    for (i = 0; i < norder; i++)
        plan_jpush(weak, cJSON_CreateString(p->skills[order[i]].name), &bad);
    return plan_jfinish(o, bad);
}

cJSON *plan_difficulty_json(const struct plan *p)
{
    cJSON *o, *g, *curve, *per;
    double base, lsum = 0;
    size_t i, tried = 0;
    int bad = 0, k;

    if (!p)
        return NULL;
    o = cJSON_CreateObject();
    if (!o)
        return NULL;
    base = plan_base_target(p);
    plan_jnum(o, "target_success", p->cfg.target_success, &bad);
    plan_jnum(o, "base_target", base, &bad);
    plan_jnum(o, "stretch_success", p->cfg.stretch_success, &bad);
    g = plan_jobj(o, "global", &bad);
    per = plan_jobj(o, "per_skill", &bad);
    if (bad)
        return plan_jfinish(o, bad);
    for (i = 0; i < p->nskills; i++) {
        if (p->skills[i].r.attempts) {
            lsum += rating_level(&p->skills[i].r);
            tried++;
        }
    }
    if (tried)
        plan_jnum(g, "level", lsum / tried, &bad);
    else if (!cJSON_AddNullToObject(g, "level"))
        bad = 1;
    plan_jnum(g, "tried_skills", (double)tried, &bad);
    plan_jnum(g, "difficulty", plan_global_difficulty(p, base), &bad);
    curve = plan_jarr(g, "curve", &bad);
    for (k = 0; k <= 10 && curve; k++) {
        cJSON *pt = cJSON_CreateObject();

        if (pt) {
            plan_jnum(pt, "difficulty", k / 10.0, &bad);
            plan_jnum(pt, "predicted_success",
                      plan_mean_predict(p, k / 10.0), &bad);
        }
        plan_jpush(curve, pt, &bad);
    }
    for (i = 0; i < p->nskills; i++) {
        const struct skill *s = &p->skills[i];
        cJSON *so = cJSON_CreateObject();
        double t = plan_skill_target(p, s);

        if (so) {
            plan_jnum(so, "difficulty", plan_difficulty_for(s, t), &bad);
            plan_jnum(so, "target", t, &bad);
            plan_jnum(so, "level", rating_level(&s->r), &bad);
            plan_jnum(so, "rating", s->r.ability, &bad);
            plan_jnum(so, "uncertainty", sqrt(s->r.variance), &bad);
            plan_jnum(so, "stretch_difficulty",
                      plan_difficulty_for(s, p->cfg.stretch_success), &bad);
            plan_jbool(so, "tried", s->r.attempts > 0, &bad);
        }
        plan_jput(per, s->name, so, &bad);
    }
    return plan_jfinish(o, bad);
}

cJSON *plan_weights_json(const struct plan *p)
{
    double w[PLAN_S__COUNT], lp[PLAN_S__COUNT];
    cJSON *o, *wo, *po, *ov;
    int bad = 0, s;

    if (!p)
        return NULL;
    o = cJSON_CreateObject();
    if (!o)
        return NULL;
    plan_compute_weights(p, w, lp);
    wo = plan_jobj(o, "weights", &bad);
    plan_jnum(o, "floor", p->cfg.weight_floor, &bad);
    po = plan_jobj(o, "progress", &bad);
    ov = plan_jarr(o, "overrides", &bad);
    plan_jnum(o, "stretch_share", p->stretch_share, &bad);
    plan_jnum(o, "base_target", plan_base_target(p), &bad);
    if (bad)
        return plan_jfinish(o, bad);
    for (s = 1; s < PLAN_S__COUNT; s++) {
        const struct strat *st = &p->st[s];
        cJSON *so = cJSON_CreateObject();
        unsigned n;
        double sum = plan_strat_mean_sum(st, &n);

        plan_jnum(wo, plan_strategy_name(s), w[s], &bad);
        if (so) {
            plan_jnum(so, "results", n, &bad);
            plan_jnum(so, "mean_surprise", n ? sum / n : 0, &bad);
            plan_jnum(so, "lp", lp[s], &bad);
            plan_jnum(so, "chosen", (double)st->chosen, &bad);
            plan_jnum(so, "at_floor_updates", (double)st->at_floor, &bad);
        }
        plan_jput(po, plan_strategy_name(s), so, &bad);
    }
    if (plan_any_untried(p))
        plan_jpush(ov, cJSON_CreateString("exploration raised: a skill is "
                                          "untried"), &bad);
    if (plan_any_owed(p))
        plan_jpush(ov, cJSON_CreateString("regression_review raised: a "
                                          "regression is owed reviews"), &bad);
    if (plan_any_suspect(p))
        plan_jpush(ov, cJSON_CreateString("regression_review goes first: "
                                          "a skill is suspected of a drop"),
                   &bad);
    return plan_jfinish(o, bad);
}

/* Reports a failure kind behind more than half of at least 5 failures,
 * unless it is 'skip'. Returns the dominant kind, or FAILURE_NONE. */
static int bias_failures(cJSON *arr, const char *scope,
                         const unsigned long *f, int skip, int *bad)
{
    unsigned long sum = 0, top = 0;
    int i, at = 0;
    char detail[PLAN_REASON_LEN];
    cJSON *b;

    for (i = 1; i < FAILURE__COUNT; i++) {
        sum += f[i];
        if (f[i] > top) {
            top = f[i];
            at = i;
        }
    }
    if (sum < 5 || 2 * top <= sum)
        return FAILURE_NONE;
    if (at == skip)
        return at;
    b = cJSON_CreateObject();
    if (b) {
        plan_jstr(b, "kind", "failure_kind_dominant", bad);
        plan_jstr(b, "scope", scope, bad);
        plan_jstr(b, "failure", failure_kind_name(at), bad);
        plan_jnum(b, "share", (double)top / sum, bad);
        plan_jnum(b, "failures", (double)sum, bad);
        snprintf(detail, sizeof(detail), "%s: %lu of %lu failures are %s",
                 scope, top, sum, failure_kind_name(at));
        plan_jstr(b, "detail", detail, bad);
    }
    plan_jpush(arr, b, bad);
    return at;
}

cJSON *plan_biases_json(const struct plan *p)
{
    unsigned long counts[PLAN_SKILLS_MAX] = { 0 };
    char detail[PLAN_REASON_LEN];
    double w[PLAN_S__COUNT], lp[PLAN_S__COUNT];
    cJSON *o, *arr, *b;
    size_t i;
    int bad = 0, s, top;

    if (!p)
        return NULL;
    o = cJSON_CreateObject();
    if (!o)
        return NULL;
    plan_jnum(o, "choices_considered", p->hist_n, &bad);
    arr = plan_jarr(o, "biases", &bad);
    if (bad)
        return plan_jfinish(o, bad);
    for (i = 0; i < p->hist_n; i++)
        if (p->hist[i] < p->nskills)
            counts[p->hist[i]]++;
    for (i = 0; i < p->nskills && p->nskills; i++) {
        double mean = (double)p->hist_n / p->nskills;

        if (counts[i] < 10 || counts[i] < 3 * mean)
            continue;
        b = cJSON_CreateObject();
        if (b) {
            plan_jstr(b, "kind", "skill_overused", &bad);
            plan_jstr(b, "skill", p->skills[i].name, &bad);
            plan_jnum(b, "share", (double)counts[i] / p->hist_n, &bad);
            plan_jnum(b, "even_share", 1.0 / p->nskills, &bad);
            snprintf(detail, sizeof(detail), "'%s' took %lu of the last %u "
                     "choices (an even share is %.1f)", p->skills[i].name,
                     counts[i], p->hist_n, mean);
            plan_jstr(b, "detail", detail, &bad);
        }
        plan_jpush(arr, b, &bad);
    }
    top = bias_failures(arr, "all skills", p->failures, FAILURE_NONE, &bad);
    /* a skill is worth its own entry only when its failures lean another
     * way than everyone's */
    for (i = 0; i < p->nskills; i++)
        bias_failures(arr, p->skills[i].name, p->skills[i].failures, top,
                      &bad);
    plan_compute_weights(p, w, lp);
    for (s = 1; s < PLAN_S__COUNT; s++) {
        if (p->st[s].at_floor < FLOOR_STUCK)
            continue;
        b = cJSON_CreateObject();
        if (b) {
            plan_jstr(b, "kind", "strategy_at_floor", &bad);
            plan_jstr(b, "strategy", plan_strategy_name(s), &bad);
            plan_jnum(b, "updates", (double)p->st[s].at_floor, &bad);
            snprintf(detail, sizeof(detail), "%s has sat at the floor "
                     "weight %.2f for %lu results", plan_strategy_name(s),
                     p->cfg.weight_floor, p->st[s].at_floor);
            plan_jstr(b, "detail", detail, &bad);
        }
        plan_jpush(arr, b, &bad);
    }
    return plan_jfinish(o, bad);
}
