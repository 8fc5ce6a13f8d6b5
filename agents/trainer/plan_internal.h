/* plan_internal.h -- what the files of the Trainer's plan share and nobody
 * else sees: the plan's structures and the functions one file of the plan
 * offers the others (plan.c: catalogue and facts; plan_choose.c: weights,
 * targets, choosing; plan_json.c: views; plan_state.c: persistence).
 * Callers outside agents/trainer/plan*.c include plan.h only.
 */
#ifndef BT_PLAN_INTERNAL_H
#define BT_PLAN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

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
    unsigned long failures[FAILURE__COUNT];
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
    unsigned long failures[FAILURE__COUNT];
    struct strat st[PLAN_S__COUNT];
    double stretch_share;       /* EW share of stretch in the choices       */
    unsigned long choices;      /* plan_choose calls that chose             */
    unsigned short hist[PLAN_HISTORY]; /* skill indexes of recent choices   */
    unsigned hist_n;
    unsigned hist_head;         /* next slot to write                       */
};

/* --- what is known per skill: small enough to inline where it is asked -- */

static inline unsigned popcount32(uint32_t x)
{
    unsigned n = 0;

    for (; x; x &= x - 1)
        n++;
    return n;
}

static inline uint32_t window_mask(unsigned n)
{
    return n >= 32 ? 0xFFFFFFFFu : ((uint32_t)1 << n) - 1;
}

/* Share passed over the recent window, or -1 when it is empty. */
static inline double plan_recent_rate(const struct skill *s)
{
    if (!s->recent_n)
        return -1;
    return (double)popcount32(s->recent & window_mask(s->recent_n)) /
           s->recent_n;
}

/* A skill whose rating's trend says it is getting worse. */
static inline int plan_is_slipping(const struct skill *s)
{
    return s->r.attempts >= PLAN_SLIP_ATTEMPTS &&
           s->r.trend < RATING_REGRESSION_TREND;
}

/* Results observed since the skill's last one (all of them: never seen). */
static inline unsigned long plan_tasks_since(const struct plan *p,
                                             const struct skill *s)
{
    return s->last_seen ? p->tasks - s->last_seen : p->tasks;
}

/* A mastered skill whose review interval has run out. */
static inline int plan_review_due_by_interval(const struct plan *p,
                                              const struct skill *s)
{
    return s->r.mastered && s->review_interval &&
           plan_tasks_since(p, s) >= s->review_interval;
}

/* A regressed skill that still owes review tasks. */
static inline int plan_owed(const struct skill *s)
{
    return s->regressed && s->review_debt > 0;
}

/* --- plan.c: the catalogue, names, suspicion ----------------------------- */

/* 0, or -EINVAL when name is not a valid "lowered" reason name. */
int plan_reason_name_check(const char *name);

/* The index of a skill or a reason in the catalogue, or -1. */
long plan_find_skill(const struct plan *p, const char *name);
long plan_find_reason(const struct plan *p, const char *name);

/* The index of name among names[0..n), or -1. */
long plan_among(const char *const *names, size_t n, const char *name);

/* The evidence is bounded: it also gathers while a skill is slipping or
 * owed reviews (other rules act on it then), and a skill that fails for
 * a long while should not need a long run of passes to be trusted. */
double plan_suspicion_max(void);

/* Whether the evidence of a drop has reached the threshold (and no other
 * rule acts on the skill already). */
int plan_is_suspect(const struct skill *s);

/* Whether the skill is owed, suspect, lapsed or due by its interval. */
int plan_review_due(const struct plan *p, const struct skill *s);

/* --- plan_choose.c: weights and targets ---------------------------------- */

/* The sum of a strategy's window of surprises, its length in *n. */
double plan_strat_mean_sum(const struct strat *st, unsigned *n);

/* A strategy's learning progress: the window's mean pulled to the prior. */
double plan_progress(const struct strat *st);

/* Whether any skill is untried, suspect, or owed reviews. */
int plan_any_untried(const struct plan *p);
int plan_any_suspect(const struct plan *p);
int plan_any_owed(const struct plan *p);

/* The strategies' weights into w and their progress into lp (both
 * PLAN_S__COUNT long). */
void plan_compute_weights(const struct plan *p, double *w, double *lp);

/* The difficulty a skill's next ordinary task aims at. */
double plan_skill_target(const struct plan *p, const struct skill *s);

/* The difficulty at which the skill's rating predicts 'target'. */
double plan_difficulty_for(const struct skill *s, double target);

/* Mean predicted success over the tried skills (all when none is). */
double plan_mean_predict(const struct plan *p, double d);

/* Where the mean predicted success is 'target'; it falls as d rises. */
double plan_global_difficulty(const struct plan *p, double target);

/* --- plan_json.c: cJSON builders; a failure latches into *bad ------------ */

void plan_jnum(cJSON *o, const char *k, double v, int *bad);
void plan_jstr(cJSON *o, const char *k, const char *v, int *bad);
void plan_jbool(cJSON *o, const char *k, int v, int *bad);
cJSON *plan_jobj(cJSON *o, const char *k, int *bad);
cJSON *plan_jarr(cJSON *o, const char *k, int *bad);
/* Adds item (taken, freed on failure) to array a or as o's member k. */
void plan_jpush(cJSON *a, cJSON *item, int *bad);
void plan_jput(cJSON *o, const char *k, cJSON *item, int *bad);
/* o, or NULL (o freed) when bad. */
cJSON *plan_jfinish(cJSON *o, int bad);

/* The failure kinds' non-zero counts f as o's object member k. */
void plan_failure_counts(cJSON *o, const char *k, const unsigned long *f,
                         int *bad);

#endif /* BT_PLAN_INTERNAL_H */
