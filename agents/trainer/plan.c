/* plan.c -- the Trainer's decision logic (model and rules in plan.h): the
 * names, the configuration, the catalogue of skills and reasons, what is
 * known per skill (recent outcomes, review and suspicion), and observing a
 * result.
 *
 * The rest of the plan, behind the private plan_internal.h: plan_choose.c
 * (strategy weights, targets and the choice), plan_json.c (the JSON views
 * of advanced/) and plan_state.c (persistence).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plan_internal.h"

/* ---- names --------------------------------------------------------------- */

static const char *const strategy_names[PLAN_S__COUNT] = {
    [PLAN_S_NONE] = "none",
    [PLAN_S_WEAKNESS] = "weakness",
    [PLAN_S_EXPLORATION] = "exploration",
    [PLAN_S_REVIEW] = "regression_review",
    [PLAN_S_STRETCH] = "stretch",
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

int plan_reason_name_check(const char *name)
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

long plan_find_skill(const struct plan *p, const char *name)
{
    size_t i;

    for (i = 0; i < p->nskills; i++)
        if (strcmp(p->skills[i].name, name) == 0)
            return (long)i;
    return -1;
}

long plan_find_reason(const struct plan *p, const char *name)
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
    if (plan_find_skill(p, name) >= 0)
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
double plan_suspicion_max(void)
{
    return PLAN_SUSPECT_CAP * suspect_threshold();
}

int plan_is_suspect(const struct skill *s)
{
    return s->suspicion >= suspect_threshold() && !plan_owed(s) &&
           !plan_is_slipping(s);
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
    double e = plan_is_suspect(s) ? 0 : s->suspicion;

    /* before PLAN_SLIP_ATTEMPTS the rating is too rough to be surprised */
    if (s->r.attempts < PLAN_SLIP_ATTEMPTS)
        return 0;
    /* stretch aims at 0.5 exactly; the round trip through the inverse
     * may land a hair below */
    if (passed || pred >= 0.5 - 1e-6)
        e += drop_llr(pred, passed);
    return e < 0 ? 0 : e > plan_suspicion_max() ? plan_suspicion_max() : e;
}

int plan_review_due(const struct plan *p, const struct skill *s)
{
    return plan_owed(s) || plan_is_suspect(s) || (s->r.mastered && s->lapse) ||
           plan_review_due_by_interval(p, s);
}

/* ---- observing ----------------------------------------------------------- */

static int result_check(const struct plan_result *r)
{
    size_t i;

    if (!r->skills || r->nskills < 1 || r->nskills > PLAN_RESULT_SKILLS_MAX)
        return -EINVAL;
    if (!(r->difficulty >= 0 && r->difficulty <= 1))
        return -EINVAL;
    if ((unsigned)r->failure >= FAILURE__COUNT ||
        (unsigned)r->source >= PLAN_SRC__COUNT ||
        (unsigned)r->strategy >= PLAN_S__COUNT)
        return -EINVAL;
    if (r->passed && r->failure != FAILURE_NONE)
        return -EINVAL;
    if (r->time < 0)
        return -EINVAL;
    if (r->nlowered > PLAN_RESULT_REASONS_MAX || (r->nlowered && !r->lowered))
        return -EINVAL;
    for (i = 0; i < r->nskills; i++)
        if (plan_skill_name_check(r->skills[i]) < 0)
            return -EINVAL;
    for (i = 0; i < r->nlowered; i++)
        if (plan_reason_name_check(r->lowered[i]) < 0)
            return -EINVAL;
    return 0;
}

/* The index of name among names[0..n), or -1. */
long plan_among(const char *const *names, size_t n, const char *name)
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
        s->failures[res->failure == FAILURE_NONE ? FAILURE_OTHER
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
        (was_mastered || plan_is_slipping(s))) {
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

        if (plan_among(names, nnames, n) >= 0)
            continue;
        at = plan_find_skill(p, n);
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

        if (plan_find_reason(p, n) < 0 && plan_among(newreasons, nnewr, n) < 0)
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
        size_t at = (size_t)plan_find_reason(p, res->lowered[i]);

        if (plan_among(res->lowered, i, res->lowered[i]) < 0)
            ridx[nr++] = at;
    }
    before = p->tasks;
    p->tasks++;
    if (res->passed)
        p->passed++;
    else
        p->failures[res->failure == FAILURE_NONE ? FAILURE_OTHER
                                                : res->failure]++;
    p->sources[res->source]++;
    for (i = 0; i < nnames; i++)
        apply_skill(p, &p->skills[plan_find_skill(p, names[i])], &upd[i], res,
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
    plan_compute_weights(p, w, lp);
    for (s = 1; s < PLAN_S__COUNT; s++) {
        if (w[s] <= p->cfg.weight_floor + EPS)
            p->st[s].at_floor++;
        else
            p->st[s].at_floor = 0;
    }
    return 0;
}
