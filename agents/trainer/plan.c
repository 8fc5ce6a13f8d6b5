/* plan.c -- the Trainer's decision logic (model and rules in plan.h).
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plan.h"

#define FLOOR_STUCK      50     /* results at the floor before it is a bias */
#define STRETCH_ALPHA    0.05   /* weight of the newest choice in the share */
#define EPS              1e-9
#define BASE_MAX         0.9    /* above, a task teaches too little        */

struct skill {
    char name[PLAN_NAME_MAX + 1];
    struct rating r;
    uint32_t recent;            /* outcomes, bit 0 the newest (1: passed)   */
    unsigned recent_n;          /* valid bits in 'recent'                   */
    unsigned long failures[PLAN_F__COUNT];
    unsigned long lowered[PLAN_REASONS_MAX]; /* by index in p->reasons      */
    unsigned long last_seen;    /* p->tasks just after its last result;
                                   0: never seen                            */
    unsigned review_interval;   /* tasks between reviews; 0: never mastered */
    int lapse;                  /* mastered, and failed its last task       */
    int regressed;              /* a regression, until mastered again       */
    unsigned review_debt;       /* review tasks still owed for it           */
    unsigned long regressions;  /* regressions detected                     */
    unsigned long chosen;       /* times plan_choose picked it              */
    double suspicion;           /* evidence of a drop (CUSUM), nats, >= 0   */
};

struct strat {
    double win[PLAN_PROGRESS_MAX]; /* surprises of its tasks, a ring        */
    unsigned n;                 /* valid entries                            */
    unsigned head;              /* next slot to write                       */
    unsigned long results;      /* results of its tasks, ever               */
    unsigned long chosen;       /* times drawn                              */
    unsigned long at_floor;     /* consecutive results with weight at floor */
};

struct plan {
    struct plan_config cfg;
    struct skill *skills;       /* the catalogue, in order of addition      */
    size_t nskills;
    size_t cap;
    char reasons[PLAN_REASONS_MAX][PLAN_NAME_MAX + 1];
    size_t nreasons;
    unsigned long tasks;        /* results observed                         */
    unsigned long passed;       /* of which passed                          */
    unsigned long sources[PLAN_SRC__COUNT];
    unsigned long failures[PLAN_F__COUNT];
    struct strat st[PLAN_S__COUNT];
    double stretch_share;       /* EW share of stretch in the choices       */
    unsigned long choices;      /* plan_choose calls that chose             */
    unsigned short hist[PLAN_HISTORY]; /* skill indexes of recent choices   */
    unsigned hist_n;
    unsigned hist_head;         /* next slot to write                       */
};

/* ---- names --------------------------------------------------------------- */

static const char *const strategy_names[PLAN_S__COUNT] = {
    [PLAN_S_NONE] = "none",
    [PLAN_S_WEAKNESS] = "weakness",
    [PLAN_S_EXPLORATION] = "exploration",
    [PLAN_S_REVIEW] = "regression_review",
    [PLAN_S_STRETCH] = "stretch",
};

static const char *const failure_names[PLAN_F__COUNT] = {
    [PLAN_F_NONE] = "none",
    [PLAN_F_SYNTAX] = "syntax_error",
    [PLAN_F_WRONG] = "wrong_answer",
    [PLAN_F_EXCEPTION] = "exception",
    [PLAN_F_TIMEOUT] = "timeout",
    [PLAN_F_NO_CODE] = "no_code",
    [PLAN_F_OTHER] = "other",
};

static const char *const source_names[PLAN_SRC__COUNT] = {
    [PLAN_SRC_USER] = "user",
    [PLAN_SRC_TRAINER] = "trainer",
    [PLAN_SRC_SEED] = "seed",
};

const char *plan_strategy_name(enum plan_strategy s)
{
    return (unsigned)s < PLAN_S__COUNT ? strategy_names[s] : "?";
}

const char *plan_failure_name(enum plan_failure f)
{
    return (unsigned)f < PLAN_F__COUNT ? failure_names[f] : "?";
}

const char *plan_source_name(enum plan_source s)
{
    return (unsigned)s < PLAN_SRC__COUNT ? source_names[s] : "?";
}

static int lookup(const char *const *names, int n, const char *name)
{
    int i;

    if (!name)
        return -EINVAL;
    for (i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -EINVAL;
}

int plan_strategy_from_name(const char *name, enum plan_strategy *out)
{
    int i = lookup(strategy_names, PLAN_S__COUNT, name);

    if (i < 0 || !out)
        return -EINVAL;
    *out = (enum plan_strategy)i;
    return 0;
}

int plan_failure_from_name(const char *name, enum plan_failure *out)
{
    int i = lookup(failure_names, PLAN_F__COUNT, name);

    if (i < 0 || !out)
        return -EINVAL;
    *out = (enum plan_failure)i;
    return 0;
}

int plan_source_from_name(const char *name, enum plan_source *out)
{
    int i = lookup(source_names, PLAN_SRC__COUNT, name);

    if (i < 0 || !out)
        return -EINVAL;
    *out = (enum plan_source)i;
    return 0;
}

static int name_check(const char *name, const char *extra)
{
    size_t n;

    if (!name)
        return -EINVAL;
    for (n = 0; name[n]; n++) {
        char c = name[n];

        if (n >= PLAN_NAME_MAX)
            return -EINVAL;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || (c && strchr(extra, c))))
            return -EINVAL;
    }
    return n ? 0 : -EINVAL;
}

int plan_skill_name_check(const char *name)
{
    return name_check(name, "");
}

static int reason_name_check(const char *name)
{
    return name_check(name, ".");
}

/* ---- configuration ------------------------------------------------------- */

void plan_config_default(struct plan_config *cfg)
{
    *cfg = (struct plan_config){
        .target_success = 0.75,
        .stretch_success = 0.5,
        .weight_floor = 0.1,
        .explore_weight = 0.5,
        .regression_weight = 0.5,
        .recent_window = 10,
        .progress_window = 20,
        .review_first = 5,
        .review_max = 40,
        .regression_tasks = 3,
    };
}

static int in_open01(double x)
{
    return x > 0 && x < 1;
}

int plan_config_check(const struct plan_config *c)
{
    double top;

    if (!c || !in_open01(c->target_success) ||
        !in_open01(c->stretch_success))
        return -EINVAL;
    if (!(c->weight_floor >= 0 && c->weight_floor <= 0.25))
        return -EINVAL;
    top = 1 - 3 * c->weight_floor;
    if (!(c->explore_weight >= c->weight_floor && c->explore_weight <= top) ||
        !(c->regression_weight >= c->weight_floor &&
          c->regression_weight <= top))
        return -EINVAL;
    if (c->recent_window < 1 || c->recent_window > PLAN_RECENT_MAX ||
        c->progress_window < 2 || c->progress_window > PLAN_PROGRESS_MAX)
        return -EINVAL;
    if (c->review_first < 1 || c->review_max < c->review_first)
        return -EINVAL;
    return 0;
}

/* ---- the catalogue ------------------------------------------------------- */

static long find_skill(const struct plan *p, const char *name)
{
    size_t i;

    for (i = 0; i < p->nskills; i++)
        if (strcmp(p->skills[i].name, name) == 0)
            return (long)i;
    return -1;
}

static long find_reason(const struct plan *p, const char *name)
{
    size_t i;

    for (i = 0; i < p->nreasons; i++)
        if (strcmp(p->reasons[i], name) == 0)
            return (long)i;
    return -1;
}

/* Room for n skills; nothing changes when it fails. */
static int reserve(struct plan *p, size_t n)
{
    struct skill *s;
    size_t cap;

    if (n > PLAN_SKILLS_MAX)
        return -ENOSPC;
    if (n <= p->cap)
        return 0;
    cap = p->cap ? p->cap * 2 : 16;
    if (cap < n)
        cap = n;
    if (cap > PLAN_SKILLS_MAX)
        cap = PLAN_SKILLS_MAX;
    s = realloc(p->skills, cap * sizeof(*s));
    if (!s)
        return -ENOMEM;
    p->skills = s;
    p->cap = cap;
    return 0;
}

/* After reserve(): can't fail. */
static struct skill *append_skill(struct plan *p, const char *name)
{
    struct skill *s = &p->skills[p->nskills++];

    memset(s, 0, sizeof(*s));
    /* the name was checked: at most PLAN_NAME_MAX characters */
    memcpy(s->name, name, strlen(name) + 1);
    rating_init(&s->r);
    return s;
}

int plan_add_skill(struct plan *p, const char *name)
{
    int rc;

    if (!p || plan_skill_name_check(name) < 0)
        return -EINVAL;
    if (find_skill(p, name) >= 0)
        return 0;
    rc = reserve(p, p->nskills + 1);
    if (rc < 0)
        return rc;
    append_skill(p, name);
    return 1;
}

size_t plan_skill_count(const struct plan *p)
{
    return p ? p->nskills : 0;
}

const char *plan_skill_name(const struct plan *p, size_t i)
{
    return p && i < p->nskills ? p->skills[i].name : NULL;
}

static int add_initial(struct plan *p)
{
    const char *s = PLAN_INITIAL_SKILLS;

    while (*s) {
        char name[PLAN_NAME_MAX + 1];
        size_t n = strcspn(s, " ");
        int rc;

        if (n && n <= PLAN_NAME_MAX) {
            memcpy(name, s, n);
            name[n] = '\0';
            rc = plan_add_skill(p, name);
            if (rc < 0)
                return rc;
        }
        s += n;
        s += strspn(s, " ");
    }
    return 0;
}

int plan_create(const struct plan_config *cfg, struct plan **out)
{
    struct plan *p;
    int rc;

    if (!out)
        return -EINVAL;
    if (cfg && plan_config_check(cfg) < 0)
        return -EINVAL;
    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    if (cfg)
        p->cfg = *cfg;
    else
        plan_config_default(&p->cfg);
    rc = add_initial(p);
    if (rc < 0) {
        plan_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void plan_free(struct plan *p)
{
    if (!p)
        return;
    free(p->skills);
    free(p);
}

const struct plan_config *plan_get_config(const struct plan *p)
{
    return p ? &p->cfg : NULL;
}

/* ---- per-skill facts ----------------------------------------------------- */

static unsigned popcount32(uint32_t x)
{
    unsigned n = 0;

    for (; x; x &= x - 1)
        n++;
    return n;
}

static uint32_t window_mask(unsigned n)
{
    return n >= 32 ? 0xFFFFFFFFu : ((uint32_t)1 << n) - 1;
}

/* Share passed over the recent window, or -1 when it is empty. */
static double recent_rate(const struct skill *s)
{
    if (!s->recent_n)
        return -1;
    return (double)popcount32(s->recent & window_mask(s->recent_n)) /
           s->recent_n;
}

static int is_slipping(const struct skill *s)
{
    return s->r.attempts >= PLAN_SLIP_ATTEMPTS &&
           s->r.trend < RATING_REGRESSION_TREND;
}

static unsigned long tasks_since(const struct plan *p, const struct skill *s)
{
    return s->last_seen ? p->tasks - s->last_seen : p->tasks;
}

static int review_due_by_interval(const struct plan *p, const struct skill *s)
{
    return s->r.mastered && s->review_interval &&
           tasks_since(p, s) >= s->review_interval;
}

static int owed(const struct skill *s)
{
    return s->regressed && s->review_debt > 0;
}

/* ---- suspicion: a drop seen in one or two results ------------------------
 *
 * The rating's trend needs two or three failures to move past
 * RATING_REGRESSION_TREND, and a skill that is not weak is seen about once
 * in ten tasks, so a drop waited for tens of tasks. Page's CUSUM on each
 * result's log-likelihood ratio of "the ability fell by PLAN_SUSPECT_DROP"
 * against "the rating is right" weighs every result by how surprising it
 * is: one failure where the rating predicted PLAN_SUSPECT_P or more
 * reaches the threshold at once, milder ones add up, passes wear it down.
 * (bench_trainer: acting on a 2-logit drop took a median of 46 tasks
 * before, about 20 with this and the rotation of exploration.) */

static double logit(double p)
{
    return log(p / (1 - p));
}

static double clamp_p(double p)
{
    return p < 1e-6 ? 1e-6 : p > 1 - 1e-6 ? 1 - 1e-6 : p;
}

/* ln P(result | dropped) / P(result | as rated), p the predicted success. */
static double drop_llr(double p, int passed)
{
    double q;

    p = clamp_p(p);
    q = 1 / (1 + exp(-(logit(p) - PLAN_SUSPECT_DROP)));
    return passed ? log(q / p) : log((1 - q) / (1 - p));
}

static double suspect_threshold(void)
{
    return drop_llr(PLAN_SUSPECT_P, 0);
}

/* The evidence is bounded: it also gathers while a skill is slipping or
 * owed reviews (other rules act on it then), and a skill that fails for
 * a long while should not need a long run of passes to be trusted. */
static double suspicion_max(void)
{
    return PLAN_SUSPECT_CAP * suspect_threshold();
}

static int is_suspect(const struct skill *s)
{
    return s->suspicion >= suspect_threshold() && !owed(s) &&
           !is_slipping(s);
}

/* The evidence after a result predicted to pass with probability pred.
 * A suspicion is settled by the skill's next result, whatever chose it:
 * the evidence starts over from that result alone, so a false alarm costs
 * one task and a real drop raises it again at once (a failure at the
 * easier re-test is more surprising still). A failure the rating did not
 * expect to pass is no evidence: a skill that fails steadily while its
 * rating comes down is the weakness rule's, and many such small ratios
 * would add up to an alarm about calibration, not about a drop. */
static double next_suspicion(const struct skill *s, double pred, int passed)
{
    double e = is_suspect(s) ? 0 : s->suspicion;

    /* before PLAN_SLIP_ATTEMPTS the rating is too rough to be surprised */
    if (s->r.attempts < PLAN_SLIP_ATTEMPTS)
        return 0;
    /* stretch aims at 0.5 exactly; the round trip through the inverse
     * may land a hair below */
    if (passed || pred >= 0.5 - 1e-6)
        e += drop_llr(pred, passed);
    return e < 0 ? 0 : e > suspicion_max() ? suspicion_max() : e;
}

static int review_due(const struct plan *p, const struct skill *s)
{
    return owed(s) || is_suspect(s) || (s->r.mastered && s->lapse) ||
           review_due_by_interval(p, s);
}

/* ---- weights ------------------------------------------------------------- */

static double strat_mean_sum(const struct strat *st, unsigned *n)
{
    double sum = 0;
    unsigned i;

    for (i = 0; i < st->n; i++)
        sum += st->win[i];
    *n = st->n;
    return sum;
}

static double progress(const struct strat *st)
{
    unsigned n;
    double sum = strat_mean_sum(st, &n);
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

static int any_untried(const struct plan *p)
{
    size_t i;

    for (i = 0; i < p->nskills; i++)
        if (!p->skills[i].r.attempts)
            return 1;
    return 0;
}

static int any_suspect(const struct plan *p)
{
    size_t i;

    for (i = 0; i < p->nskills; i++)
        if (is_suspect(&p->skills[i]))
            return 1;
    return 0;
}

static int any_owed(const struct plan *p)
{
    size_t i;

    for (i = 0; i < p->nskills; i++)
        if (owed(&p->skills[i]))
            return 1;
    return 0;
}

static void compute_weights(const struct plan *p, double *w, double *lp)
{
    double sum = 0, fl = p->cfg.weight_floor;
    double n = PLAN_S__COUNT - 1;
    int s;

    w[PLAN_S_NONE] = 0;
    lp[PLAN_S_NONE] = 0;
    for (s = 1; s < PLAN_S__COUNT; s++) {
        lp[s] = progress(&p->st[s]);
        sum += interest(lp[s]);
    }
    for (s = 1; s < PLAN_S__COUNT; s++)
        w[s] = fl + (1 - n * fl) * interest(lp[s]) / sum;
    if (any_untried(p))
        raise_weight(w, PLAN_S_EXPLORATION, p->cfg.explore_weight, fl);
    if (any_owed(p))
        raise_weight(w, PLAN_S_REVIEW, p->cfg.regression_weight, fl);
}

void plan_weights(const struct plan *p, double w[PLAN_S__COUNT])
{
    double lp[PLAN_S__COUNT];

    if (p && w)
        compute_weights(p, w, lp);
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
static double skill_target(const struct plan *p, const struct skill *s)
{
    return is_slipping(s) || owed(s) || is_suspect(s) ||
           (s->r.mastered && s->lapse) ? slip_target(p) : plan_base_target(p);
}

static double difficulty_for(const struct skill *s, double target)
{
    double d = 0.5;

    /* the record is valid and the target inside (0, 1): can't fail */
    if (rating_difficulty_for(&s->r, target, &d) < 0)
        d = 0.5;
    return d;
}

/* Mean predicted success over the tried skills (all when none is). */
static double mean_predict(const struct plan *p, double d)
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
static double global_difficulty(const struct plan *p, double target)
{
    double lo = 0, hi = 1;
    int i;

    if (mean_predict(p, 0) <= target)
        return 0;
    if (mean_predict(p, 1) >= target)
        return 1;
    for (i = 0; i < 50; i++) {
        double mid = (lo + hi) / 2;

        if (mean_predict(p, mid) > target)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2;
}

/* ---- observing ----------------------------------------------------------- */

static int result_check(const struct plan_result *r)
{
    size_t i;

    if (!r->skills || r->nskills < 1 || r->nskills > PLAN_RESULT_SKILLS_MAX)
        return -EINVAL;
    if (!(r->difficulty >= 0 && r->difficulty <= 1))
        return -EINVAL;
    if ((unsigned)r->failure >= PLAN_F__COUNT ||
        (unsigned)r->source >= PLAN_SRC__COUNT ||
        (unsigned)r->strategy >= PLAN_S__COUNT)
        return -EINVAL;
    if (r->passed && r->failure != PLAN_F_NONE)
        return -EINVAL;
    if (r->time < 0)
        return -EINVAL;
    if (r->nlowered > PLAN_RESULT_REASONS_MAX || (r->nlowered && !r->lowered))
        return -EINVAL;
    for (i = 0; i < r->nskills; i++)
        if (plan_skill_name_check(r->skills[i]) < 0)
            return -EINVAL;
    for (i = 0; i < r->nlowered; i++)
        if (reason_name_check(r->lowered[i]) < 0)
            return -EINVAL;
    return 0;
}

/* The index of name among names[0..n), or -1. */
static long among(const char *const *names, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return (long)i;
    return -1;
}

static void apply_skill(struct plan *p, struct skill *s,
                        const struct rating *updated,
                        const struct plan_result *res, const size_t *ridx,
                        size_t nr, unsigned long before_tasks)
{
    const struct plan_config *c = &p->cfg;
    int was_mastered = s->r.mastered;
    unsigned long since = s->last_seen ? before_tasks - s->last_seen
                                       : before_tasks;
    int passed = res->passed != 0;
    double pred = rating_predict(&s->r, res->difficulty);
    size_t k;

    s->suspicion = next_suspicion(s, pred, passed);
    s->r = *updated;
    s->recent = ((s->recent << 1) | (uint32_t)passed) &
                window_mask(c->recent_window);
    if (s->recent_n < c->recent_window)
        s->recent_n++;
    if (!passed)
        s->failures[res->failure == PLAN_F_NONE ? PLAN_F_OTHER
                                                : res->failure]++;
    for (k = 0; k < nr; k++)
        s->lowered[ridx[k]]++;
    s->last_seen = p->tasks;
    if (s->review_debt)
        s->review_debt--;

    /* spaced review of mastered skills */
    if (s->r.mastered) {
        s->regressed = 0;
        if (!was_mastered || !s->review_interval) {
            s->review_interval = c->review_first;
            s->lapse = 0;
        } else if (passed) {
            if (s->lapse || since >= s->review_interval) {
                unsigned long next = 2UL * s->review_interval;

                s->review_interval = next > c->review_max ? c->review_max
                                                          : (unsigned)next;
            }
            s->lapse = 0;
        } else {
            s->review_interval = c->review_first;
            s->lapse = 1;
        }
    } else {
        s->lapse = 0;
    }

    /* a mastered skill that fails again */
    if (!s->regressed && s->r.ever_mastered && !s->r.mastered &&
        (was_mastered || is_slipping(s))) {
        s->regressed = 1;
        s->regressions++;
        s->review_debt = c->regression_tasks;
        s->review_interval = c->review_first;
        s->suspicion = 0;       /* the owed reviews take over */
    }
}

int plan_observe(struct plan *p, const struct plan_result *res)
{
    const char *newskills[PLAN_RESULT_SKILLS_MAX];
    const char *newreasons[PLAN_RESULT_REASONS_MAX];
    const char *names[PLAN_RESULT_SKILLS_MAX];
    struct rating upd[PLAN_RESULT_SKILLS_MAX];
    size_t ridx[PLAN_RESULT_REASONS_MAX];
    size_t nnew = 0, nnewr = 0, nnames = 0, nr = 0, i;
    unsigned long before;
    double surprise = 0, w[PLAN_S__COUNT], lp[PLAN_S__COUNT];
    int rc, s;

    if (!p || !res || result_check(res) < 0)
        return -EINVAL;

    /* everything that can fail comes before the first change */
    for (i = 0; i < res->nskills; i++) {
        const char *n = res->skills[i];
        struct rating r;
        long at;

        if (among(names, nnames, n) >= 0)
            continue;
        at = find_skill(p, n);
        if (at < 0) {
            newskills[nnew++] = n;
            rating_init(&r);
        } else {
            r = p->skills[at].r;
        }
        surprise += (res->passed ? 1.0 : 0.0) -
                    rating_predict(&r, res->difficulty);
        if (rating_update(&r, res->difficulty, res->passed != 0,
                          res->time) < 0)
            return -EINVAL;
        upd[nnames] = r;
        names[nnames++] = n;
    }
    for (i = 0; i < res->nlowered; i++) {
        const char *n = res->lowered[i];

        if (find_reason(p, n) < 0 && among(newreasons, nnewr, n) < 0)
            newreasons[nnewr++] = n;
    }
    if (p->nreasons + nnewr > PLAN_REASONS_MAX)
        return -ENOSPC;
    rc = reserve(p, p->nskills + nnew);
    if (rc < 0)
        return rc;

    /* commit */
    for (i = 0; i < nnew; i++)
        append_skill(p, newskills[i]);
    for (i = 0; i < nnewr; i++)
        memcpy(p->reasons[p->nreasons++], newreasons[i],
               strlen(newreasons[i]) + 1);
    for (i = 0; i < res->nlowered; i++) {
        size_t at = (size_t)find_reason(p, res->lowered[i]);

        if (among(res->lowered, i, res->lowered[i]) < 0)
            ridx[nr++] = at;
    }
    before = p->tasks;
    p->tasks++;
    if (res->passed)
        p->passed++;
    else
        p->failures[res->failure == PLAN_F_NONE ? PLAN_F_OTHER
                                                : res->failure]++;
    p->sources[res->source]++;
    for (i = 0; i < nnames; i++)
        apply_skill(p, &p->skills[find_skill(p, names[i])], &upd[i], res,
                    ridx, nr, before);

    if (res->strategy != PLAN_S_NONE) {
        struct strat *st = &p->st[res->strategy];
        unsigned pw = p->cfg.progress_window;

        if (st->head >= pw)
            st->head = 0;
        st->win[st->head] = surprise / (double)nnames;
        st->head = (st->head + 1) % pw;
        if (st->n < pw)
            st->n++;
        st->results++;
    }
    compute_weights(p, w, lp);
    for (s = 1; s < PLAN_S__COUNT; s++) {
        if (w[s] <= p->cfg.weight_floor + EPS)
            p->st[s].at_floor++;
        else
            p->st[s].at_floor = 0;
    }
    return 0;
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
    return s->r.attempts > 0 && (!s->r.mastered || is_slipping(s));
}

/* No filter on recent success: picking the skills that were lucky lately
 * would pick underestimated ones, whose tasks then beat their predictions
 * and fake the strategy's progress. */
static int stretch_candidate(const struct plan *p, const struct skill *s)
{
    return s->r.attempts >= 3 && !is_slipping(s) && !owed(s) &&
           !is_suspect(s) && difficulty_for(s, p->cfg.stretch_success) < 0.99;
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
            if (review_due(p, s))
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
    double dg = global_difficulty(p, base);
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
        v = (base > m ? base - m : 0) + 0.02 + (is_slipping(s) ? 0.5 : 0);
        w[i] = v * v;
    }
    at = draw(g, w, p->nskills);
    s = &p->skills[at];
    *target = skill_target(p, s);
    rr = recent_rate(s);
    if (is_slipping(s))
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
        if (s->r.attempts && tasks_since(p, s) > stale)
            stale = tasks_since(p, s);
    }
    /* the candidates: the untried, else the stalest; then the least tried
     * of them, uniformly */
    for (i = 0; i < p->nskills; i++) {
        s = &p->skills[i];
        w[i] = untried ? s->r.attempts == 0 : tasks_since(p, s) == stale;
        if (w[i] > 0 && s->r.attempts < least)
            least = s->r.attempts;
    }
    for (i = 0; i < p->nskills; i++)
        if (p->skills[i].r.attempts != least)
            w[i] = 0;
    at = draw(g, w, p->nskills);
    s = &p->skills[at];
    *target = skill_target(p, s);
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
        if (owed(s) && (at < 0 || s->r.trend < best)) {
            at = (long)i;
            best = s->r.trend;
        }
    }
    if (at >= 0) {
        s = &p->skills[at];
        *target = slip_target(p);
        snprintf(why, len, "regression_review: '%s' was mastered and now "
                 "fails (trend %.2f, %.0f%% over its last %u; %u review "
                 "tasks owed)", s->name, s->r.trend, 100 * recent_rate(s),
                 s->recent_n, s->review_debt);
        return (size_t)at;
    }
    /* then a suspect: a result that suggests a drop the trend does not
     * show yet; the strongest evidence first */
    best = -1;
    for (i = 0; i < p->nskills; i++) {
        s = &p->skills[i];
        if (is_suspect(s) && s->suspicion > best) {
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
                 s->name, s->suspicion, 100 * recent_rate(s), s->recent_n);
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
        if (review_due_by_interval(p, s)) {
            double over = (double)tasks_since(p, s) / s->review_interval;

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
             tasks_since(p, s), s->review_interval);
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
            double age = 1.0 + (double)tasks_since(p, &p->skills[i]);

            w[i] = age * age;
        }
    at = draw(g, w, p->nskills);
    s = &p->skills[at];
    *target = p->cfg.stretch_success;
    snprintf(why, len, "stretch: '%s' succeeds %.0f%% over its last %u "
             "(level %.2f); aim above its usual difficulty %.2f", s->name,
             100 * recent_rate(s), s->recent_n, rating_level(&s->r),
             difficulty_for(s, plan_base_target(p)));
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
    compute_weights(p, w, lp);
    for (i = 0; i < PLAN_S__COUNT; i++)
        avail[i] = i != PLAN_S_NONE && has_candidate(p, i) ? w[i] : 0;
    /* a suspicion is settled by one easier task, best at once: the
     * longer it waits the longer a real drop goes untreated */
    st = any_suspect(p) ? PLAN_S_REVIEW : draw(g, avail, PLAN_S__COUNT);
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
    c.difficulty = difficulty_for(s, c.target);
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

/* ---- JSON helpers -------------------------------------------------------- */

static void jnum(cJSON *o, const char *k, double v, int *bad)
{
    if (!cJSON_AddNumberToObject(o, k, v))
        *bad = 1;
}

static void jstr(cJSON *o, const char *k, const char *v, int *bad)
{
    if (!cJSON_AddStringToObject(o, k, v))
        *bad = 1;
}

static void jbool(cJSON *o, const char *k, int v, int *bad)
{
    if (!cJSON_AddBoolToObject(o, k, v != 0))
        *bad = 1;
}

static cJSON *jobj(cJSON *o, const char *k, int *bad)
{
    cJSON *c = cJSON_AddObjectToObject(o, k);

    if (!c)
        *bad = 1;
    return c;
}

static cJSON *jarr(cJSON *o, const char *k, int *bad)
{
    cJSON *c = cJSON_AddArrayToObject(o, k);

    if (!c)
        *bad = 1;
    return c;
}

static void jpush(cJSON *a, cJSON *item, int *bad)
{
    if (!item || !a || !cJSON_AddItemToArray(a, item)) {
        cJSON_Delete(item);
        *bad = 1;
    }
}

static void jput(cJSON *o, const char *k, cJSON *item, int *bad)
{
    if (!item || !o || !cJSON_AddItemToObject(o, k, item)) {
        cJSON_Delete(item);
        *bad = 1;
    }
}

static cJSON *finish(cJSON *o, int bad)
{
    if (bad) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static void jtime(cJSON *o, const char *k, time_t t, int *bad)
{
    char buf[64];
    struct tm tm;

    if (t <= 0) {
        if (!cJSON_AddNullToObject(o, k))
            *bad = 1;
    } else if (!gmtime_r(&t, &tm) ||
               !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm)) {
        jnum(o, k, (double)t, bad);
    } else {
        jstr(o, k, buf, bad);
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
    jstr(o, "strategy", plan_strategy_name(c->strategy), &bad);
    jstr(o, "skill", c->skill, &bad);
    jnum(o, "difficulty", c->difficulty, &bad);
    jnum(o, "predicted_success", c->predicted, &bad);
    jnum(o, "target_success", c->target, &bad);
    jnum(o, "weight", c->weight, &bad);
    jstr(o, "reason", c->reason, &bad);
    return finish(o, bad);
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

static void failure_counts(cJSON *o, const char *k, const unsigned long *f,
                           int *bad)
{
    cJSON *c = jobj(o, k, bad);
    int i;

    for (i = 1; i < PLAN_F__COUNT && c; i++)
        if (f[i])
            jnum(c, failure_names[i], (double)f[i], bad);
}

int plan_skill_info(const struct plan *p, const char *skill,
                    struct plan_skill_info *out)
{
    const struct skill *s;
    long at;

    if (!p || !skill || !out)
        return -EINVAL;
    at = find_skill(p, skill);
    if (at < 0)
        return -ENOENT;
    s = &p->skills[at];
    *out = (struct plan_skill_info){
        .rating = s->r,
        .difficulty = difficulty_for(s, skill_target(p, s)),
        .recent_success = recent_rate(s),
        .recent_n = s->recent_n,
        .tasks_since = tasks_since(p, s),
        .review_interval = s->review_interval,
        .review_due = review_due(p, s),
        .slipping = is_slipping(s),
        .regressed = s->regressed,
        .review_debt = s->review_debt,
        .chosen = s->chosen,
        .suspect = is_suspect(s),
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

    jnum(o, "attempts", (double)r->attempts, bad);
    jnum(o, "successes", (double)r->successes, bad);
    if (r->attempts)
        jnum(o, "success_rate", (double)r->successes / r->attempts, bad);
    else if (!cJSON_AddNullToObject(o, "success_rate"))
        *bad = 1;
    rec = jobj(o, "recent", bad);
    if (rec) {
        jnum(rec, "window", p->cfg.recent_window, bad);
        jnum(rec, "attempts", s->recent_n, bad);
        if (s->recent_n)
            jnum(rec, "success_rate", recent_rate(s), bad);
        else if (!cJSON_AddNullToObject(rec, "success_rate"))
            *bad = 1;
    }
    jnum(o, "trend", r->trend, bad);
    jstr(o, "direction", direction(s), bad);
    jnum(o, "rating", r->ability, bad);
    jnum(o, "uncertainty", sqrt(r->variance), bad);
    jnum(o, "level", rating_level(r), bad);
    jtime(o, "last_practised", r->last_practised, bad);
    if (s->last_seen)
        jnum(o, "tasks_since_practised", (double)tasks_since(p, s), bad);
    else if (!cJSON_AddNullToObject(o, "tasks_since_practised"))
        *bad = 1;
    jbool(o, "mastered", r->mastered, bad);
    jbool(o, "ever_mastered", r->ever_mastered, bad);
    jbool(o, "slipping", is_slipping(s), bad);
    jbool(o, "suspect", is_suspect(s), bad);
    jnum(o, "suspicion", s->suspicion, bad);
    jbool(o, "regressed", s->regressed, bad);
    jnum(o, "regressions", (double)s->regressions, bad);
    jnum(o, "review_interval", s->review_interval, bad);
    jbool(o, "review_due", review_due(p, s), bad);
    failure_counts(o, "failure_kinds", s->failures, bad);
    style = jobj(o, "style_issues", bad);
    low = jobj(o, "lowered", bad);
    for (i = 0; i < p->nreasons && style && low; i++) {
        if (!s->lowered[i])
            continue;
        if (is_style(p->reasons[i]))
            jnum(style, p->reasons[i], (double)s->lowered[i], bad);
        jnum(low, p->reasons[i], (double)s->lowered[i], bad);
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
    jnum(o, "tasks", (double)p->tasks, &bad);
    if (p->tasks)
        jnum(o, "success_rate", (double)p->passed / p->tasks, &bad);
    else if (!cJSON_AddNullToObject(o, "success_rate"))
        bad = 1;
    src = jobj(o, "sources", &bad);
    for (i = 0; i < PLAN_SRC__COUNT && src; i++)
        jnum(src, source_names[i], (double)p->sources[i], &bad);
    failure_counts(o, "failure_kinds", p->failures, &bad);
    for (i = 0; i < p->nskills; i++)
        for (j = 0; j < p->nreasons; j++)
            total[j] += p->skills[i].lowered[j];
    style = jobj(o, "style_issues", &bad);
    for (j = 0; j < p->nreasons && style; j++)
        if (total[j] && is_style(p->reasons[j]))
            jnum(style, p->reasons[j], (double)total[j], &bad);
    reg = jarr(o, "regressions", &bad);
    slip = jarr(o, "slipping", &bad);
    mast = jarr(o, "mastered", &bad);
    weak = jarr(o, "weakest", &bad);
    skills = jobj(o, "skills", &bad);
    if (bad)
        return finish(o, bad);
    for (i = 0; i < p->nskills; i++) {
        const struct skill *s = &p->skills[i];
        cJSON *so = cJSON_CreateObject();

        if (s->regressed)
            jpush(reg, cJSON_CreateString(s->name), &bad);
        if (is_slipping(s))
            jpush(slip, cJSON_CreateString(s->name), &bad);
        if (s->r.mastered)
            jpush(mast, cJSON_CreateString(s->name), &bad);
        if (so)
            skill_analysis(p, s, so, &bad);
        jput(skills, s->name, so, &bad);
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
        jpush(weak, cJSON_CreateString(p->skills[order[i]].name), &bad);
    return finish(o, bad);
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
    jnum(o, "target_success", p->cfg.target_success, &bad);
    jnum(o, "base_target", base, &bad);
    jnum(o, "stretch_success", p->cfg.stretch_success, &bad);
    g = jobj(o, "global", &bad);
    per = jobj(o, "per_skill", &bad);
    if (bad)
        return finish(o, bad);
    for (i = 0; i < p->nskills; i++) {
        if (p->skills[i].r.attempts) {
            lsum += rating_level(&p->skills[i].r);
            tried++;
        }
    }
    if (tried)
        jnum(g, "level", lsum / tried, &bad);
    else if (!cJSON_AddNullToObject(g, "level"))
        bad = 1;
    jnum(g, "tried_skills", (double)tried, &bad);
    jnum(g, "difficulty", global_difficulty(p, base), &bad);
    curve = jarr(g, "curve", &bad);
    for (k = 0; k <= 10 && curve; k++) {
        cJSON *pt = cJSON_CreateObject();

        if (pt) {
            jnum(pt, "difficulty", k / 10.0, &bad);
            jnum(pt, "predicted_success", mean_predict(p, k / 10.0), &bad);
        }
        jpush(curve, pt, &bad);
    }
    for (i = 0; i < p->nskills; i++) {
        const struct skill *s = &p->skills[i];
        cJSON *so = cJSON_CreateObject();
        double t = skill_target(p, s);

        if (so) {
            jnum(so, "difficulty", difficulty_for(s, t), &bad);
            jnum(so, "target", t, &bad);
            jnum(so, "level", rating_level(&s->r), &bad);
            jnum(so, "rating", s->r.ability, &bad);
            jnum(so, "uncertainty", sqrt(s->r.variance), &bad);
            jnum(so, "stretch_difficulty",
                 difficulty_for(s, p->cfg.stretch_success), &bad);
            jbool(so, "tried", s->r.attempts > 0, &bad);
        }
        jput(per, s->name, so, &bad);
    }
    return finish(o, bad);
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
    compute_weights(p, w, lp);
    wo = jobj(o, "weights", &bad);
    jnum(o, "floor", p->cfg.weight_floor, &bad);
    po = jobj(o, "progress", &bad);
    ov = jarr(o, "overrides", &bad);
    jnum(o, "stretch_share", p->stretch_share, &bad);
    jnum(o, "base_target", plan_base_target(p), &bad);
    if (bad)
        return finish(o, bad);
    for (s = 1; s < PLAN_S__COUNT; s++) {
        const struct strat *st = &p->st[s];
        cJSON *so = cJSON_CreateObject();
        unsigned n;
        double sum = strat_mean_sum(st, &n);

        jnum(wo, strategy_names[s], w[s], &bad);
        if (so) {
            jnum(so, "results", n, &bad);
            jnum(so, "mean_surprise", n ? sum / n : 0, &bad);
            jnum(so, "lp", lp[s], &bad);
            jnum(so, "chosen", (double)st->chosen, &bad);
            jnum(so, "at_floor_updates", (double)st->at_floor, &bad);
        }
        jput(po, strategy_names[s], so, &bad);
    }
    if (any_untried(p))
        jpush(ov, cJSON_CreateString("exploration raised: a skill is "
                                     "untried"), &bad);
    if (any_owed(p))
        jpush(ov, cJSON_CreateString("regression_review raised: a "
                                     "regression is owed reviews"), &bad);
    if (any_suspect(p))
        jpush(ov, cJSON_CreateString("regression_review goes first: a "
                                     "skill is suspected of a drop"), &bad);
    return finish(o, bad);
}

/* Reports a failure kind behind more than half of at least 5 failures,
 * unless it is 'skip'. Returns the dominant kind, or PLAN_F_NONE. */
static int bias_failures(cJSON *arr, const char *scope,
                         const unsigned long *f, int skip, int *bad)
{
    unsigned long sum = 0, top = 0;
    int i, at = 0;
    char detail[PLAN_REASON_LEN];
    cJSON *b;

    for (i = 1; i < PLAN_F__COUNT; i++) {
        sum += f[i];
        if (f[i] > top) {
            top = f[i];
            at = i;
        }
    }
    if (sum < 5 || 2 * top <= sum)
        return PLAN_F_NONE;
    if (at == skip)
        return at;
    b = cJSON_CreateObject();
    if (b) {
        jstr(b, "kind", "failure_kind_dominant", bad);
        jstr(b, "scope", scope, bad);
        jstr(b, "failure", failure_names[at], bad);
        jnum(b, "share", (double)top / sum, bad);
        jnum(b, "failures", (double)sum, bad);
        snprintf(detail, sizeof(detail), "%s: %lu of %lu failures are %s",
                 scope, top, sum, failure_names[at]);
        jstr(b, "detail", detail, bad);
    }
    jpush(arr, b, bad);
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
    jnum(o, "choices_considered", p->hist_n, &bad);
    arr = jarr(o, "biases", &bad);
    if (bad)
        return finish(o, bad);
    for (i = 0; i < p->hist_n; i++)
        if (p->hist[i] < p->nskills)
            counts[p->hist[i]]++;
    for (i = 0; i < p->nskills && p->nskills; i++) {
        double mean = (double)p->hist_n / p->nskills;

        if (counts[i] < 10 || counts[i] < 3 * mean)
            continue;
        b = cJSON_CreateObject();
        if (b) {
            jstr(b, "kind", "skill_overused", &bad);
            jstr(b, "skill", p->skills[i].name, &bad);
            jnum(b, "share", (double)counts[i] / p->hist_n, &bad);
            jnum(b, "even_share", 1.0 / p->nskills, &bad);
            snprintf(detail, sizeof(detail), "'%s' took %lu of the last %u "
                     "choices (an even share is %.1f)", p->skills[i].name,
                     counts[i], p->hist_n, mean);
            jstr(b, "detail", detail, &bad);
        }
        jpush(arr, b, &bad);
    }
    top = bias_failures(arr, "all skills", p->failures, PLAN_F_NONE, &bad);
    /* a skill is worth its own entry only when its failures lean another
     * way than everyone's */
    for (i = 0; i < p->nskills; i++)
        bias_failures(arr, p->skills[i].name, p->skills[i].failures, top,
                      &bad);
    compute_weights(p, w, lp);
    for (s = 1; s < PLAN_S__COUNT; s++) {
        if (p->st[s].at_floor < FLOOR_STUCK)
            continue;
        b = cJSON_CreateObject();
        if (b) {
            jstr(b, "kind", "strategy_at_floor", &bad);
            jstr(b, "strategy", strategy_names[s], &bad);
            jnum(b, "updates", (double)p->st[s].at_floor, &bad);
            snprintf(detail, sizeof(detail), "%s has sat at the floor "
                     "weight %.2f for %lu results", strategy_names[s],
                     p->cfg.weight_floor, p->st[s].at_floor);
            jstr(b, "detail", detail, &bad);
        }
        jpush(arr, b, &bad);
    }
    return finish(o, bad);
}

/* ---- persistence: writing ------------------------------------------------ */

static cJSON *skill_state(const struct plan *p, const struct skill *s)
{
    cJSON *o = cJSON_CreateObject(), *rec, *low;
    int bad = 0;
    unsigned k;
    size_t i;

    if (!o)
        return NULL;
    jstr(o, "name", s->name, &bad);
    jput(o, "rating", rating_to_json(&s->r), &bad);
    rec = jarr(o, "recent", &bad);
    for (k = 0; k < s->recent_n && rec; k++)
        jpush(rec, cJSON_CreateNumber((s->recent >> k) & 1), &bad);
    failure_counts(o, "failures", s->failures, &bad);
    low = jobj(o, "lowered", &bad);
    for (i = 0; i < p->nreasons && low; i++)
        if (s->lowered[i])
            jnum(low, p->reasons[i], (double)s->lowered[i], &bad);
    jnum(o, "last_seen", (double)s->last_seen, &bad);
    jnum(o, "review_interval", s->review_interval, &bad);
    jbool(o, "lapse", s->lapse, &bad);
    jbool(o, "regressed", s->regressed, &bad);
    jnum(o, "review_debt", s->review_debt, &bad);
    jnum(o, "regressions", (double)s->regressions, &bad);
    jnum(o, "chosen", (double)s->chosen, &bad);
    jnum(o, "suspicion", s->suspicion, &bad);
    return finish(o, bad);
}

cJSON *plan_state_to_json(const struct plan *p)
{
    cJSON *o, *src, *sk, *sts, *hist;
    int bad = 0, s;
    unsigned k;
    size_t i;

    if (!p)
        return NULL;
    o = cJSON_CreateObject();
    if (!o)
        return NULL;
    jnum(o, "version", 1, &bad);
    jnum(o, "tasks", (double)p->tasks, &bad);
    jnum(o, "passed", (double)p->passed, &bad);
    jnum(o, "choices", (double)p->choices, &bad);
    jnum(o, "stretch_share", p->stretch_share, &bad);
    src = jobj(o, "sources", &bad);
    for (i = 0; i < PLAN_SRC__COUNT && src; i++)
        jnum(src, source_names[i], (double)p->sources[i], &bad);
    failure_counts(o, "failures", p->failures, &bad);
    sk = jarr(o, "skills", &bad);
    for (i = 0; i < p->nskills && sk; i++)
        jpush(sk, skill_state(p, &p->skills[i]), &bad);
    sts = jobj(o, "strategies", &bad);
    for (s = 1; s < PLAN_S__COUNT && sts; s++) {
        const struct strat *st = &p->st[s];
        unsigned pw = p->cfg.progress_window;
        cJSON *so = cJSON_CreateObject(), *win;

        if (so) {
            win = jarr(so, "window", &bad);
            /* oldest first: the ring's oldest entry is at head - n */
            for (k = 0; k < st->n && win; k++) {
                unsigned at = (st->head + pw - st->n + k) % pw;

                jpush(win, cJSON_CreateNumber(st->win[at]), &bad);
            }
            jnum(so, "results", (double)st->results, &bad);
            jnum(so, "chosen", (double)st->chosen, &bad);
            jnum(so, "at_floor", (double)st->at_floor, &bad);
        }
        jput(sts, strategy_names[s], so, &bad);
    }
    hist = jarr(o, "history", &bad);
    for (k = 0; k < p->hist_n && hist; k++) {
        unsigned at = (p->hist_head + PLAN_HISTORY - p->hist_n + k) %
                      PLAN_HISTORY;

        jpush(hist, cJSON_CreateString(p->skills[p->hist[at]].name), &bad);
    }
    return finish(o, bad);
}

/* ---- persistence: reading ------------------------------------------------ */

/* 2^53: every count below is exact in a double. */
#define COUNT_MAX 9007199254740992.0

static int get_item(const cJSON *o, const char *k, const cJSON **it)
{
    *it = cJSON_GetObjectItemCaseSensitive(o, k);
    return *it != NULL;
}

static int get_count(const cJSON *o, const char *k, unsigned long *v,
                     double max)
{
    const cJSON *it;
    double d;

    if (!get_item(o, k, &it))
        return 0;
    if (!cJSON_IsNumber(it))
        return -EINVAL;
    d = it->valuedouble;
    if (!isfinite(d) || d < 0 || d != floor(d) || d > max ||
        d > (double)(~0UL))
        return -EINVAL;
    *v = (unsigned long)d;
    return 0;
}

static int get_uint(const cJSON *o, const char *k, unsigned *v, double max)
{
    unsigned long u = *v;
    int rc = get_count(o, k, &u, max);

    if (rc == 0)
        *v = (unsigned)u;
    return rc;
}

static int get_bool(const cJSON *o, const char *k, int *v)
{
    const cJSON *it;

    if (!get_item(o, k, &it))
        return 0;
    if (!cJSON_IsBool(it))
        return -EINVAL;
    *v = cJSON_IsTrue(it) ? 1 : 0;
    return 0;
}

/* A present member must be an object (or array, when 'array'). */
static int get_container(const cJSON *o, const char *k, int array,
                         const cJSON **out)
{
    const cJSON *it;

    *out = NULL;
    if (!get_item(o, k, &it))
        return 0;
    if (array ? !cJSON_IsArray(it) : !cJSON_IsObject(it))
        return -EINVAL;
    *out = it;
    return 0;
}

static int read_failures(const cJSON *o, const char *k, unsigned long *f)
{
    const cJSON *c, *it;
    enum plan_failure kind;
    int rc = get_container(o, k, 0, &c);

    if (rc < 0 || !c)
        return rc;
    cJSON_ArrayForEach(it, c) {
        unsigned long v = 0;

        if (plan_failure_from_name(it->string, &kind) < 0 ||
            kind == PLAN_F_NONE)
            return -EINVAL;
        rc = get_count(c, it->string, &v, COUNT_MAX);
        if (rc < 0)
            return rc;
        f[kind] = v;
    }
    return 0;
}

static int read_skill(struct plan *n, const cJSON *js, unsigned char *seen)
{
    const struct plan_config *c = &n->cfg;
    const cJSON *name, *rj, *rec, *low, *it;
    struct skill *s;
    unsigned k;
    long at;
    int rc;

    if (!cJSON_IsObject(js))
        return -EINVAL;
    name = cJSON_GetObjectItemCaseSensitive(js, "name");
    if (!cJSON_IsString(name) || plan_skill_name_check(name->valuestring) < 0)
        return -EINVAL;
    rc = plan_add_skill(n, name->valuestring);
    if (rc < 0)
        return rc;
    at = find_skill(n, name->valuestring);
    s = &n->skills[at];
    if (seen[at]++)
        return -EINVAL;         /* the JSON names it twice */
    if ((rc = get_container(js, "rating", 0, &rj)) < 0)
        return rc;
    if (rj && rating_from_json(rj, &s->r) < 0)
        return -EINVAL;
    if ((rc = get_container(js, "recent", 1, &rec)) < 0)
        return rc;
    if (rec) {
        unsigned len = (unsigned)cJSON_GetArraySize(rec);

        /* newest first: keep the first recent_window */
        for (k = 0; k < len && k < c->recent_window; k++) {
            it = cJSON_GetArrayItem(rec, (int)k);
            if (!cJSON_IsNumber(it) ||
                (it->valuedouble != 0 && it->valuedouble != 1))
                return -EINVAL;
            s->recent |= (uint32_t)(it->valuedouble == 1) << k;
        }
        for (; k < len; k++) {
            it = cJSON_GetArrayItem(rec, (int)k);
            if (!cJSON_IsNumber(it))
                return -EINVAL;
        }
        s->recent_n = len < c->recent_window ? len : c->recent_window;
    }
    if ((rc = read_failures(js, "failures", s->failures)) < 0)
        return rc;
    if ((rc = get_container(js, "lowered", 0, &low)) < 0)
        return rc;
    if (low) {
        cJSON_ArrayForEach(it, low) {
            unsigned long v = 0;
            long r;

            if (reason_name_check(it->string) < 0)
                return -EINVAL;
            r = find_reason(n, it->string);
            if (r < 0) {
                if (n->nreasons >= PLAN_REASONS_MAX)
                    return -ENOSPC;
                memcpy(n->reasons[n->nreasons], it->string,
                       strlen(it->string) + 1);
                r = (long)n->nreasons++;
            }
            if ((rc = get_count(low, it->string, &v, COUNT_MAX)) < 0)
                return rc;
            s->lowered[r] = v;
        }
    }
    if ((rc = get_count(js, "last_seen", &s->last_seen, COUNT_MAX)) < 0 ||
        (rc = get_uint(js, "review_interval", &s->review_interval,
                       4294967295.0)) < 0 ||
        (rc = get_bool(js, "lapse", &s->lapse)) < 0 ||
        (rc = get_bool(js, "regressed", &s->regressed)) < 0 ||
        (rc = get_uint(js, "review_debt", &s->review_debt,
                       4294967295.0)) < 0 ||
        (rc = get_count(js, "regressions", &s->regressions, COUNT_MAX)) < 0 ||
        (rc = get_count(js, "chosen", &s->chosen, COUNT_MAX)) < 0)
        return rc;
    if (get_item(js, "suspicion", &it)) {
        /* a little above the cap: the double may come back 1 ulp up */
        if (!cJSON_IsNumber(it) || !(it->valuedouble >= 0 &&
                                     it->valuedouble <= suspicion_max() + 1e-9))
            return -EINVAL;
        s->suspicion = fmin(it->valuedouble, suspicion_max());
    }
    if (s->last_seen > n->tasks)
        return -EINVAL;
    return 0;
}

static int read_strategy(struct plan *n, const cJSON *so, struct strat *st)
{
    const cJSON *win, *it;
    unsigned pw = n->cfg.progress_window, len, k, skip;
    int rc;

    if (!cJSON_IsObject(so))
        return -EINVAL;
    memset(st, 0, sizeof(*st));     /* a repeated key starts over */
    if ((rc = get_container(so, "window", 1, &win)) < 0)
        return rc;
    if (win) {
        len = (unsigned)cJSON_GetArraySize(win);
        /* oldest first: keep the newest progress_window */
        skip = len > pw ? len - pw : 0;
        k = 0;
        cJSON_ArrayForEach(it, win) {
            if (!cJSON_IsNumber(it) || !(it->valuedouble >= -1 &&
                                         it->valuedouble <= 1))
                return -EINVAL;
            if (k++ >= skip)
                st->win[st->n++] = it->valuedouble;
        }
        st->head = st->n % pw;
    }
    if ((rc = get_count(so, "results", &st->results, COUNT_MAX)) < 0 ||
        (rc = get_count(so, "chosen", &st->chosen, COUNT_MAX)) < 0 ||
        (rc = get_count(so, "at_floor", &st->at_floor, COUNT_MAX)) < 0)
        return rc;
    return 0;
}

static int read_state(struct plan *n, const cJSON *json)
{
    const cJSON *src, *sk, *sts, *hist, *it;
    unsigned char seen[PLAN_SKILLS_MAX] = { 0 };
    unsigned long version = 1;
    int rc, s;
    size_t i;

    if ((rc = get_count(json, "version", &version, COUNT_MAX)) < 0)
        return rc;
    if (version != 1)
        return -EINVAL;
    if ((rc = get_count(json, "tasks", &n->tasks, COUNT_MAX)) < 0 ||
        (rc = get_count(json, "passed", &n->passed, COUNT_MAX)) < 0 ||
        (rc = get_count(json, "choices", &n->choices, COUNT_MAX)) < 0)
        return rc;
    if (n->passed > n->tasks)
        return -EINVAL;
    if (get_item(json, "stretch_share", &it)) {
        if (!cJSON_IsNumber(it) || !(it->valuedouble >= 0 &&
                                     it->valuedouble <= 1))
            return -EINVAL;
        n->stretch_share = it->valuedouble;
    }
    if ((rc = get_container(json, "sources", 0, &src)) < 0)
        return rc;
    for (i = 0; i < PLAN_SRC__COUNT && src; i++)
        if ((rc = get_count(src, source_names[i], &n->sources[i],
                            COUNT_MAX)) < 0)
            return rc;
    if ((rc = read_failures(json, "failures", n->failures)) < 0)
        return rc;
    if ((rc = get_container(json, "skills", 1, &sk)) < 0)
        return rc;
    cJSON_ArrayForEach(it, sk) {
        if ((rc = read_skill(n, it, seen)) < 0)
            return rc;
    }
    if ((rc = get_container(json, "strategies", 0, &sts)) < 0)
        return rc;
    cJSON_ArrayForEach(it, sts) {
        enum plan_strategy st;

        if (plan_strategy_from_name(it->string, &st) < 0 ||
            st == PLAN_S_NONE)
            return -EINVAL;
        if ((rc = read_strategy(n, it, &n->st[st])) < 0)
            return rc;
    }
    for (s = 1; s < PLAN_S__COUNT; s++)
        if (n->st[s].head >= n->cfg.progress_window)
            return -EINVAL;
    if ((rc = get_container(json, "history", 1, &hist)) < 0)
        return rc;
    if (hist) {
        int len = cJSON_GetArraySize(hist), k = 0;
        int skip = len > PLAN_HISTORY ? len - PLAN_HISTORY : 0;

        cJSON_ArrayForEach(it, hist) {
            long at;

            if (!cJSON_IsString(it))
                return -EINVAL;
            at = find_skill(n, it->valuestring);
            if (at < 0)
                return -EINVAL;
            if (k++ < skip)
                continue;
            n->hist[n->hist_n++] = (unsigned short)at;
        }
        n->hist_head = n->hist_n % PLAN_HISTORY;
    }
    return 0;
}

int plan_state_from_json(struct plan *p, const cJSON *json)
{
    struct plan *n;
    int rc;

    if (!p || !cJSON_IsObject(json))
        return -EINVAL;
    rc = plan_create(&p->cfg, &n);
    if (rc < 0)
        return rc;
    rc = read_state(n, json);
    if (rc < 0) {
        plan_free(n);
        return rc;
    }
    free(p->skills);
    *p = *n;
    free(n);
    return 0;
}
