/* plan_choose.c -- choosing the next task: the strategies' weights from
 * their learning progress, the target success and difficulty per skill,
 * and plan_choose's draw of a strategy and a skill (plan.h says the rules).
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "plan_internal.h"

/* ---- weights ------------------------------------------------------------- */

double plan_strat_mean_sum(const struct strat *st, unsigned *n)
{
    double sum = 0;
    unsigned i;

    for (i = 0; i < st->n; i++)
        sum += st->win[i];
    *n = st->n;
    return sum;
}

double plan_progress(const struct strat *st)
{
    unsigned n;
    double sum = plan_strat_mean_sum(st, &n);
    double m = (sum + PLAN_PROGRESS_PSEUDO * PLAN_PROGRESS_PRIOR) /
               (n + PLAN_PROGRESS_PSEUDO);

    return m > 0 ? m : 0;
}

/* What a strategy's weight is proportional to: its progress plus a base
 * interest, so that the noise of a 20-result mean (about 0.1) moves the
 * weights without swinging them from floor to top. */
static double interest(double lp)
{
    return PLAN_PROGRESS_BASE + lp;
}

/* Raises w[s] to at least m, taking from the others in proportion to what
 * they hold above the floor, so none goes below it. */
static void raise_weight(double *w, int s, double m, double floor_w)
{
    double need = m - w[s], excess = 0, take;
    int o;

    if (need <= 0)
        return;
    for (o = 1; o < PLAN_S__COUNT; o++)
        if (o != s)
            excess += w[o] - floor_w;
    if (excess <= EPS)
        return;
    take = need < excess ? need : excess;
    for (o = 1; o < PLAN_S__COUNT; o++)
        if (o != s)
            w[o] -= take * (w[o] - floor_w) / excess;
    w[s] += take;
}

int plan_any_untried(const struct plan *p)
{
    size_t i;

    for (i = 0; i < p->nskills; i++)
        if (!p->skills[i].r.attempts)
            return 1;
    return 0;
}

int plan_any_suspect(const struct plan *p)
{
    size_t i;

    for (i = 0; i < p->nskills; i++)
        if (plan_is_suspect(&p->skills[i]))
            return 1;
    return 0;
}

int plan_any_owed(const struct plan *p)
{
    size_t i;

    for (i = 0; i < p->nskills; i++)
        if (plan_owed(&p->skills[i]))
            return 1;
    return 0;
}

void plan_compute_weights(const struct plan *p, double *w, double *lp)
{
    double sum = 0, fl = p->cfg.weight_floor;
    double n = PLAN_S__COUNT - 1;
    int s;

    w[PLAN_S_NONE] = 0;
    lp[PLAN_S_NONE] = 0;
    for (s = 1; s < PLAN_S__COUNT; s++) {
        lp[s] = plan_progress(&p->st[s]);
        sum += interest(lp[s]);
    }
    for (s = 1; s < PLAN_S__COUNT; s++)
        w[s] = fl + (1 - n * fl) * interest(lp[s]) / sum;
    if (plan_any_untried(p))
        raise_weight(w, PLAN_S_EXPLORATION, p->cfg.explore_weight, fl);
    if (plan_any_owed(p))
        raise_weight(w, PLAN_S_REVIEW, p->cfg.regression_weight, fl);
}

void plan_weights(const struct plan *p, double w[PLAN_S__COUNT])
{
    double lp[PLAN_S__COUNT];

    if (p && w)
        plan_compute_weights(p, w, lp);
}

double plan_base_target(const struct plan *p)
{
    double s = p->stretch_share, t = p->cfg.target_success;
    double b;

    if (s > 0.9)
        s = 0.9;
    if (s <= 0)
        return t;
    b = (t - s * p->cfg.stretch_success) / (1 - s);
    return b < 0.05 ? 0.05 : b > BASE_MAX ? BASE_MAX : b;
}

static double slip_target(const struct plan *p)
{
    return (1 + plan_base_target(p)) / 2;
}

/* The difficulty a skill's next ordinary task aims at. */
double plan_skill_target(const struct plan *p, const struct skill *s)
{
    return plan_is_slipping(s) || plan_owed(s) || plan_is_suspect(s) ||
           (s->r.mastered && s->lapse) ? slip_target(p) : plan_base_target(p);
}

double plan_difficulty_for(const struct skill *s, double target)
{
    double d = 0.5;

    /* the record is valid and the target inside (0, 1): can't fail */
    if (rating_difficulty_for(&s->r, target, &d) < 0)
        d = 0.5;
    return d;
}

/* Mean predicted success over the tried skills (all when none is). */
double plan_mean_predict(const struct plan *p, double d)
{
    double sum = 0;
    size_t i, n = 0;
    int any = 0;

    for (i = 0; i < p->nskills; i++)
        any |= p->skills[i].r.attempts > 0;
    for (i = 0; i < p->nskills; i++) {
        if (any && !p->skills[i].r.attempts)
            continue;
        sum += rating_predict(&p->skills[i].r, d);
        n++;
    }
    return n ? sum / n : 0.5;
}

/* Where the mean predicted success is 'target'; it falls as d rises. */
double plan_global_difficulty(const struct plan *p, double target)
{
    double lo = 0, hi = 1;
    int i;

    if (plan_mean_predict(p, 0) <= target)
        return 0;
    if (plan_mean_predict(p, 1) >= target)
        return 1;
    for (i = 0; i < 50; i++) {
        double mid = (lo + hi) / 2;

        if (plan_mean_predict(p, mid) > target)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2;
}

/* ---- choosing ------------------------------------------------------------ */

void plan_rng_seed(struct plan_rng *g, uint64_t seed)
{
    /* splitmix64 spreads small seeds over the whole state; xorshift needs
     * a non-zero one */
    uint64_t z = seed + 0x9E3779B97F4A7C15ULL;

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    g->s = (z ^ (z >> 31)) | 1;
}

double plan_rng_uniform(struct plan_rng *g)
{
    g->s ^= g->s >> 12;
    g->s ^= g->s << 25;
    g->s ^= g->s >> 27;
    return (double)((g->s * 0x2545F4914F6CDD1DULL) >> 11) /
           9007199254740992.0;
}

/* Draws an index with probability w[i] / sum; -1 when every w is 0. */
static long draw(struct plan_rng *g, const double *w, size_t n)
{
    double sum = 0, u;
    size_t i;
    long last = -1;

    for (i = 0; i < n; i++)
        sum += w[i];
    if (sum <= 0)
        return -1;
    u = plan_rng_uniform(g) * sum;
    for (i = 0; i < n; i++) {
        if (w[i] <= 0)
            continue;
        last = (long)i;
        if (u < w[i])
            return (long)i;
        u -= w[i];
    }
    return last;                /* rounding left u just above the sum */
}

static int weakness_candidate(const struct skill *s)
{
    return s->r.attempts > 0 && (!s->r.mastered || plan_is_slipping(s));
}

/* No filter on recent success: picking the skills that were lucky lately
 * would pick underestimated ones, whose tasks then beat their predictions
 * and fake the strategy's progress. */
static int stretch_candidate(const struct plan *p, const struct skill *s)
{
    return s->r.attempts >= 3 && !plan_is_slipping(s) && !plan_owed(s) &&
           !plan_is_suspect(s) &&
           plan_difficulty_for(s, p->cfg.stretch_success) < 0.99;
}

static int has_candidate(const struct plan *p, int strategy)
{
    size_t i;

    for (i = 0; i < p->nskills; i++) {
        const struct skill *s = &p->skills[i];

        switch (strategy) {
        case PLAN_S_WEAKNESS:
            if (weakness_candidate(s))
                return 1;
            break;
        case PLAN_S_EXPLORATION:
            return 1;
        case PLAN_S_REVIEW:
            if (plan_review_due(p, s))
                return 1;
            break;
        case PLAN_S_STRETCH:
            if (stretch_candidate(p, s))
                return 1;
            break;
        default:
            break;
        }
    }
    return 0;
}

/* Each picker returns the skill's index, sets the target and writes the
 * first part of the reason. They run only when has_candidate() said yes. */

static size_t pick_weakness(const struct plan *p, struct plan_rng *g,
                            double *target, char *why, size_t len)
{
    double w[PLAN_SKILLS_MAX] = { 0 };
    double base = plan_base_target(p);
    double dg = plan_global_difficulty(p, base);
    const struct skill *s;
    double rr;
    size_t i;
    long at;

    for (i = 0; i < p->nskills; i++) {
        double m, v;

        s = &p->skills[i];
        w[i] = 0;
        if (!weakness_candidate(s))
            continue;
        /* the shortfall below the base target, which the tried skills
         * reach on average at dg: the skills below average share the
         * strategy, the weakest most. The rating, not the recent rate:
         * that one mixes easy and stretch tasks. */
        m = rating_predict(&s->r, dg);
        v = (base > m ? base - m : 0) + 0.02 + (plan_is_slipping(s) ? 0.5 : 0);
        w[i] = v * v;
    }
    at = draw(g, w, p->nskills);
    s = &p->skills[at];
    *target = plan_skill_target(p, s);
    rr = plan_recent_rate(s);
    if (plan_is_slipping(s))
        snprintf(why, len, "weakness: '%s' succeeds %.0f%% over its last "
                 "%u and is slipping (trend %.2f, level %.2f)", s->name,
                 100 * rr, s->recent_n, s->r.trend, rating_level(&s->r));
    else
        snprintf(why, len, "weakness: '%s' succeeds %.0f%% over its last "
                 "%u (level %.2f, %.0f%% predicted at the global "
                 "difficulty %.2f)", s->name, 100 * rr, s->recent_n,
                 rating_level(&s->r), 100 * rating_predict(&s->r, dg), dg);
    return (size_t)at;
}

/* Untried skills first. Then the tried skill unseen for the most tasks
 * (ties: the least tried): a rotation, so that a drop in a skill that is
 * neither weak nor due for review shows within a bounded number of tasks.
 * The least tried skill alone circled among the few skills that no other
 * strategy picks and could leave a middling one unseen for a hundred. */
static size_t pick_exploration(const struct plan *p, struct plan_rng *g,
                               double *target, char *why, size_t len)
{
    double w[PLAN_SKILLS_MAX] = { 0 };
    unsigned long least = (unsigned long)-1, stale = 0;
    size_t i, untried = 0;
    const struct skill *s;
    long at;

    for (i = 0; i < p->nskills; i++) {
        s = &p->skills[i];
        untried += s->r.attempts == 0;
        if (s->r.attempts && plan_tasks_since(p, s) > stale)
            stale = plan_tasks_since(p, s);
    }
    /* the candidates: the untried, else the stalest; then the least tried
     * of them, uniformly */
    for (i = 0; i < p->nskills; i++) {
        s = &p->skills[i];
        w[i] = untried ? s->r.attempts == 0 : plan_tasks_since(p, s) == stale;
        if (w[i] > 0 && s->r.attempts < least)
            least = s->r.attempts;
    }
    for (i = 0; i < p->nskills; i++)
        if (p->skills[i].r.attempts != least)
            w[i] = 0;
    at = draw(g, w, p->nskills);
    s = &p->skills[at];
    *target = plan_skill_target(p, s);
    if (untried)
        snprintf(why, len, "exploration: '%s' was never tried (%zu of %zu "
                 "skills untried)", s->name, untried, p->nskills);
    else
        snprintf(why, len, "exploration: '%s' was not practised for the "
                 "last %lu tasks, the longest of %zu skills (tried %lu "
                 "times; uncertainty %.2f)", s->name, stale, p->nskills,
                 least, sqrt(s->r.variance));
    return (size_t)at;
}

static size_t pick_review(const struct plan *p, struct plan_rng *g,
                          double *target, char *why, size_t len)
{
    double w[PLAN_SKILLS_MAX] = { 0 };
    const struct skill *s;
    double best = -1;
    size_t i;
    long at = -1;

    /* first a regression owed reviews, the one slipping fastest */
    for (i = 0; i < p->nskills; i++) {
        s = &p->skills[i];
        if (plan_owed(s) && (at < 0 || s->r.trend < best)) {
            at = (long)i;
            best = s->r.trend;
        }
    }
    if (at >= 0) {
        s = &p->skills[at];
        *target = slip_target(p);
        snprintf(why, len, "regression_review: '%s' was mastered and now "
                 "fails (trend %.2f, %.0f%% over its last %u; %u review "
                 "tasks owed)", s->name, s->r.trend, 100 * plan_recent_rate(s),
                 s->recent_n, s->review_debt);
        return (size_t)at;
    }
    /* then a suspect: a result that suggests a drop the trend does not
     * show yet; the strongest evidence first */
    best = -1;
    for (i = 0; i < p->nskills; i++) {
        s = &p->skills[i];
        if (plan_is_suspect(s) && s->suspicion > best) {
            at = (long)i;
            best = s->suspicion;
        }
    }
    if (at >= 0) {
        s = &p->skills[at];
        *target = slip_target(p);
        snprintf(why, len, "regression_review: '%s' may have dropped (it "
                 "failed where the rating expected success; evidence "
                 "%.2f, %.0f%% over its last %u); re-test it easier now",
                 s->name, s->suspicion, 100 * plan_recent_rate(s),
                 s->recent_n);
        return (size_t)at;
    }
    /* then a lapse: a mastered skill that failed its last task */
    for (i = 0; i < p->nskills; i++)
        w[i] = p->skills[i].r.mastered && p->skills[i].lapse ? 1 : 0;
    at = draw(g, w, p->nskills);
    if (at >= 0) {
        s = &p->skills[at];
        *target = slip_target(p);
        snprintf(why, len, "regression_review: '%s' is mastered but failed "
                 "its last task; re-test it now", s->name);
        return (size_t)at;
    }
    /* then the most overdue review */
    for (i = 0; i < p->nskills; i++) {
        s = &p->skills[i];
        if (plan_review_due_by_interval(p, s)) {
            double over = (double)plan_tasks_since(p, s) / s->review_interval;

            if (over > best) {
                best = over;
                at = (long)i;
            }
        }
    }
    s = &p->skills[at];
    *target = plan_base_target(p);
    snprintf(why, len, "regression_review: '%s' is mastered and was not "
             "practised for %lu tasks (review interval %u)", s->name,
             plan_tasks_since(p, s), s->review_interval);
    return (size_t)at;
}

static size_t pick_stretch(const struct plan *p, struct plan_rng *g,
                           double *target, char *why, size_t len)
{
    double w[PLAN_SKILLS_MAX] = { 0 };
    const struct skill *s;
    size_t i;
    long at;

    /* any candidate will do, so the ones unseen longest, most: every
     * result of a skill is a look at whether it still holds */
    for (i = 0; i < p->nskills; i++)
        if (stretch_candidate(p, &p->skills[i])) {
            double age = 1.0 + (double)plan_tasks_since(p, &p->skills[i]);

            w[i] = age * age;
        }
    at = draw(g, w, p->nskills);
    s = &p->skills[at];
    *target = p->cfg.stretch_success;
    snprintf(why, len, "stretch: '%s' succeeds %.0f%% over its last %u "
             "(level %.2f); aim above its usual difficulty %.2f", s->name,
             100 * plan_recent_rate(s), s->recent_n, rating_level(&s->r),
             plan_difficulty_for(s, plan_base_target(p)));
    return (size_t)at;
}

int plan_choose(struct plan *p, struct plan_rng *g, struct plan_choice *out)
{
    double w[PLAN_S__COUNT], lp[PLAN_S__COUNT], avail[PLAN_S__COUNT];
    char why[PLAN_REASON_LEN - 64];
    struct plan_choice c = { 0 };
    const struct skill *s;
    size_t at;
    long st;
    int i, n;

    if (!p || !g || !out)
        return -EINVAL;
    if (!p->nskills)
        return -ENOENT;
    plan_compute_weights(p, w, lp);
    for (i = 0; i < PLAN_S__COUNT; i++)
        avail[i] = i != PLAN_S_NONE && has_candidate(p, i) ? w[i] : 0;
    /* a suspicion is settled by one easier task, best at once: the
     * longer it waits the longer a real drop goes untreated */
    st = plan_any_suspect(p) ? PLAN_S_REVIEW : draw(g, avail, PLAN_S__COUNT);
    if (st < 0)
        st = PLAN_S_EXPLORATION;   /* always has a candidate */
    switch (st) {
    case PLAN_S_WEAKNESS:
        at = pick_weakness(p, g, &c.target, why, sizeof(why));
        break;
    case PLAN_S_REVIEW:
        at = pick_review(p, g, &c.target, why, sizeof(why));
        break;
    case PLAN_S_STRETCH:
        at = pick_stretch(p, g, &c.target, why, sizeof(why));
        break;
    default:
        st = PLAN_S_EXPLORATION;
        at = pick_exploration(p, g, &c.target, why, sizeof(why));
        break;
    }
    s = &p->skills[at];
    c.strategy = (enum plan_strategy)st;
    memcpy(c.skill, s->name, strlen(s->name) + 1);
    c.difficulty = plan_difficulty_for(s, c.target);
    c.predicted = rating_predict(&s->r, c.difficulty);
    c.weight = w[st];
    /* names are bounded, so the reason fits: why holds at most
     * PLAN_REASON_LEN - 64 bytes and the tail adds fewer than 64 */
    n = snprintf(c.reason, sizeof(c.reason), "%s; difficulty %.2f predicts "
                 "%.2f", why, c.difficulty, c.predicted);
    assert(n > 0 && (size_t)n < sizeof(c.reason));
    (void)n;

    /* record */
    p->skills[at].chosen++;
    p->st[st].chosen++;
    p->hist[p->hist_head] = (unsigned short)at;
    p->hist_head = (p->hist_head + 1) % PLAN_HISTORY;
    if (p->hist_n < PLAN_HISTORY)
        p->hist_n++;
    p->stretch_share = (1 - STRETCH_ALPHA) * p->stretch_share +
                       STRETCH_ALPHA * (st == PLAN_S_STRETCH);
    p->choices++;
    *out = c;
    return 0;
}
