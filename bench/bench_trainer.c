/* bench_trainer.c -- the Trainer's decision logic against a simulated learner.
 *
 * No LLM, no store: agents/trainer/plan*.c choose every task and a simulated
 * Builder answers it. The learner has SKILLS skills, each with a hidden
 * true ability on the logit scale of agents/trainer/rating.h, drawn uniformly from
 * [ABILITY_LO, ABILITY_HI]; a task of difficulty d passes with probability
 * logistic(ability - 6 (d - 0.5)); every task practised raises that
 * skill's ability by LEARN logits; before task DROP_AT one skill (drawn
 * per seed) loses DROP logits at once. Each seed runs TASKS tasks; the
 * figures are over SEEDS seeds. A second run of the same seeds without the
 * drop is the control for "acted on" (how often the same test fires by
 * chance).
 *
 * Issue #6's targets, with what each figure measures:
 *   success     the success rate over a window of 100 tasks, mean over
 *               seeds, for every window after task 200: within +-0.05 of
 *               the target (0.75);
 *   RMSE        estimated minus true ability of each skill at the moment
 *               it completes its 30th attempt, root mean square over
 *               skills and seeds; the issue says "<= 0.3" without a unit,
 *               so it is printed in logits and in difficulty units
 *               (logits / 6) and judged on both;
 *   tried       tasks until every skill had a result: within 50;
 *   acted on    tasks after the drop until the plan acted on it: the
 *               dropped skill chosen by regression_review or weakness at a
 *               difficulty at least 0.02 below the one the plan gave it
 *               just before the drop, or the skill newly flagged slipping
 *               (weakness then favours it and aims it easier) or regressed
 *               (which raises regression_review's weight): within 10.
 *
 * Usage: bench_trainer [SEEDS]
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agents/trainer/plan.h"

#define SKILLS      10
#define TASKS       600
#define SEEDS       20
#define DROP_AT     300
#define DROP        2.0
#define LEARN       0.01
#define ABILITY_LO  (-2.0)
#define ABILITY_HI  2.0
#define T0          1700000000
#define ACT_MARGIN  0.02
#define NOT_YET     (-1)
#define ACT_WITHIN  10

/* The simulator's own generator (xorshift64* seeded by splitmix64), kept
 * apart from the plan's so the plan's draws do not change the learner. */
struct sim_rng {
    uint64_t s;
};

static void sim_seed(struct sim_rng *g, uint64_t seed)
{
    uint64_t z = seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    g->s = (z ^ (z >> 31)) | 1;
}

static double sim_uniform(struct sim_rng *g)
{
    g->s ^= g->s >> 12;
    g->s ^= g->s << 25;
    g->s ^= g->s >> 27;
    return (double)((g->s * 0x2545F4914F6CDD1DULL) >> 11) /
           9007199254740992.0;
}

static double logistic(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

struct run {
    int passed[TASKS];
    int tried_all;              /* tasks until every skill had a result    */
    double sq_err;              /* at each skill's 30th attempt            */
    int n_err;
    double sq_err_drop;         /* the dropped skill, when before the drop */
    int n_err_drop;
    int acted;                  /* tasks after the drop; NOT_YET: never    */
    int acted_attempts;         /* results of the dropped skill till then  */
    int early_looks;            /* its results in the ACT_WITHIN tasks
                                   after the drop                          */
    const char *acted_how;
    unsigned long by_strategy[PLAN_S__COUNT];
    int final_biases;
};

static int skill_index(const struct plan *p, const char *name)
{
    size_t i;

    for (i = 0; i < plan_skill_count(p); i++)
        if (strcmp(plan_skill_name(p, i), name) == 0)
            return (int)i;
    return -1;
}

static int simulate(uint64_t seed, int with_drop, struct run *out)
{
    static const enum failure_kind kinds[] = {
        FAILURE_WRONG, FAILURE_WRONG, FAILURE_WRONG, FAILURE_WRONG,
        FAILURE_EXCEPTION, FAILURE_EXCEPTION, FAILURE_SYNTAX, FAILURE_TIMEOUT,
    };
    double truth[SKILLS];
    unsigned long attempts[SKILLS] = { 0 };
    int tried = 0, dropped, dropped_attempts = 0, t, i;
    int pre_slipping = 0, pre_regressed = 0;
    double d_pre = 0;
    struct plan_rng prng;
    struct sim_rng g;
    struct plan *p;
    cJSON *b;

    memset(out, 0, sizeof(*out));
    out->acted = NOT_YET;
    out->tried_all = NOT_YET;
    if (plan_create(NULL, &p) < 0 || plan_skill_count(p) != SKILLS)
        return -1;
    sim_seed(&g, seed);
    plan_rng_seed(&prng, seed);
    for (i = 0; i < SKILLS; i++)
        truth[i] = ABILITY_LO + (ABILITY_HI - ABILITY_LO) * sim_uniform(&g);
    dropped = (int)(sim_uniform(&g) * SKILLS);

    for (t = 0; t < TASKS; t++) {
        struct plan_choice c;
        struct plan_skill_info info;
        struct plan_result r = { 0 };
        const char *skill[1], *low[1];
        int k, ok;

        if (t == DROP_AT) {
            /* what the plan would give the skill now, unaware */
            if (plan_skill_info(p, plan_skill_name(p, (size_t)dropped),
                                &info) < 0)
                goto fail;
            d_pre = info.difficulty;
            /* a flag raised before the drop (a false alarm) is no act */
            pre_slipping = info.slipping;
            pre_regressed = info.regressed;
            if (with_drop)
                truth[dropped] -= DROP;
        }
        if (t >= DROP_AT && out->acted == NOT_YET) {
            if (plan_skill_info(p, plan_skill_name(p, (size_t)dropped),
                                &info) < 0)
                goto fail;
            if ((info.slipping && !pre_slipping) ||
                (info.regressed && !pre_regressed)) {
                out->acted = t - DROP_AT;
                out->acted_attempts = dropped_attempts;
                out->acted_how = "flagged";
            }
        }
        if (plan_choose(p, &prng, &c) < 0)
            goto fail;
        k = skill_index(p, c.skill);
        if (k < 0 || k >= SKILLS)
            goto fail;
        out->by_strategy[c.strategy]++;
        if (t >= DROP_AT && out->acted == NOT_YET && k == dropped &&
            (c.strategy == PLAN_S_REVIEW || c.strategy == PLAN_S_WEAKNESS) &&
            c.difficulty < d_pre - ACT_MARGIN) {
            out->acted = t - DROP_AT;
            out->acted_attempts = dropped_attempts;
            out->acted_how = "chosen easier";
        }

        ok = sim_uniform(&g) < logistic(truth[k] - 6 * (c.difficulty - 0.5));
        skill[0] = c.skill;
        r.skills = skill;
        r.nskills = 1;
        r.difficulty = c.difficulty;
        r.passed = ok;
        r.failure = ok ? FAILURE_NONE :
                    kinds[(int)(sim_uniform(&g) * 8)];
        if (sim_uniform(&g) < 0.2) {
            low[0] = "elegance.long";
            r.lowered = low;
            r.nlowered = 1;
        }
        r.source = PLAN_SRC_TRAINER;
        r.strategy = c.strategy;
        r.time = T0 + (time_t)t * 600;
        if (plan_observe(p, &r) < 0)
            goto fail;
        out->passed[t] = ok;
        truth[k] += LEARN;
        if (!attempts[k]++ && ++tried == SKILLS)
            out->tried_all = t + 1;
        if (t >= DROP_AT && k == dropped)
            dropped_attempts++;
        if (t >= DROP_AT && t < DROP_AT + ACT_WITHIN && k == dropped)
            out->early_looks++;
        if (attempts[k] == 30) {
            double e;

            if (plan_skill_info(p, c.skill, &info) < 0)
                goto fail;
            e = info.rating.ability - truth[k];
            if (k != dropped) {
                out->sq_err += e * e;
                out->n_err++;
            } else if (t < DROP_AT || !with_drop) {
                out->sq_err_drop += e * e;
                out->n_err_drop++;
            }
        }
    }
    b = plan_biases_json(p);
    if (b) {
        out->final_biases = cJSON_GetArraySize(
            cJSON_GetObjectItemCaseSensitive(b, "biases"));
        cJSON_Delete(b);
    }
    plan_free(p);
    return 0;
fail:
    plan_free(p);
    return -1;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;

    return (x > y) - (x < y);
}

static const char *verdict(int ok)
{
    return ok ? "PASS" : "MISS";
}

int main(int argc, char **argv)
{
    static struct run runs[1000], ctrl[1000];
    int seeds = argc > 1 ? atoi(argv[1]) : SEEDS;
    double win_rate[TASKS / 100] = { 0 };
    double sq = 0, sq_drop = 0, target;
    int n = 0, n_drop = 0, s, w, t;
    int tried[1000], acted[1000], att[1000], never = 0, ctrl_false = 0;
    int tried_max = 0, within10 = 0, within_win = 0, all_win_ok = 1;
    int looks = 0, no_look = 0;
    unsigned long strat[PLAN_S__COUNT] = { 0 };
    struct plan_config cfg;

    if (seeds < 1 || seeds > 1000) {
        fprintf(stderr, "usage: %s [SEEDS 1..1000]\n", argv[0]);
        return 2;
    }
    plan_config_default(&cfg);
    target = cfg.target_success;
    for (s = 0; s < seeds; s++) {
        if (simulate(1000 + (uint64_t)s, 1, &runs[s]) < 0 ||
            simulate(1000 + (uint64_t)s, 0, &ctrl[s]) < 0) {
            fprintf(stderr, "bench_trainer: the plan failed (seed %d)\n",
                    1000 + s);
            return 1;
        }
    }
    for (s = 0; s < seeds; s++) {
        struct run *r = &runs[s];

        for (w = 0; w < TASKS / 100; w++) {
            int ok = 0;
            double rate;

            for (t = w * 100; t < (w + 1) * 100; t++)
                ok += r->passed[t];
            rate = ok / 100.0;
            win_rate[w] += rate / seeds;
            if (w >= 2)
                within_win += fabs(rate - target) <= 0.05;
        }
        sq += r->sq_err;
        n += r->n_err;
        sq_drop += r->sq_err_drop;
        n_drop += r->n_err_drop;
        tried[s] = r->tried_all == NOT_YET ? TASKS : r->tried_all;
        if (tried[s] > tried_max)
            tried_max = tried[s];
        if (r->acted == NOT_YET) {
            never++;
            acted[s] = TASKS;
        } else {
            acted[s] = r->acted;
            within10 += r->acted <= ACT_WITHIN;
        }
        att[s] = r->acted_attempts;
        looks += r->early_looks;
        no_look += r->early_looks == 0;
        if (ctrl[s].acted != NOT_YET && ctrl[s].acted <= ACT_WITHIN)
            ctrl_false++;
        for (t = 0; t < PLAN_S__COUNT; t++)
            strat[t] += r->by_strategy[t];
    }

    printf("bench_trainer: %d seeds x %d tasks, %d skills, abilities "
           "U[%.0f, %.0f] logits, +%.2f per task practised, one skill "
           "-%.1f before task %d; target success %.2f\n\n", seeds, TASKS,
           SKILLS, ABILITY_LO, ABILITY_HI, LEARN, DROP, DROP_AT, target);

    printf("success rate per 100 tasks (mean over seeds):\n");
    for (w = 0; w < TASKS / 100; w++) {
        int judged = w >= 2;
        int ok = fabs(win_rate[w] - target) <= 0.05;

        if (judged && !ok)
            all_win_ok = 0;
        printf("  tasks %3d-%3d  %.3f  %s\n", w * 100 + 1, (w + 1) * 100,
               win_rate[w], judged ? verdict(ok) : "(warm-up)");
    }
    printf("  single seed windows after task 200 within +-0.05: %d of %d\n\n",
           within_win, seeds * (TASKS / 100 - 2));

    qsort(tried, (size_t)seeds, sizeof(int), cmp_int);
    qsort(acted, (size_t)seeds, sizeof(int), cmp_int);
    qsort(att, (size_t)seeds, sizeof(int), cmp_int);
    {
        double rmse = n ? sqrt(sq / n) : NAN;
        double last = win_rate[TASKS / 100 - 1];
        double acted_mean = 0;

        for (s = 0; s < seeds; s++)
            acted_mean += acted[s];
        acted_mean /= seeds;

        printf("%-44s %-22s %-16s %s\n", "metric", "measured", "target",
               "verdict");
        printf("%-44s %-22.3f %-16s %s\n",
               "success, last 100 tasks (mean)", last, "0.75 +- 0.05",
               verdict(fabs(last - target) <= 0.05));
        printf("%-44s %-22s %-16s %s\n",
               "success, every 100-task window after 200",
               all_win_ok ? "all within" : "some outside", "0.75 +- 0.05",
               verdict(all_win_ok));
        printf("%-44s %-22.3f %-16s %s\n",
               "RMSE at 30th attempt, logits", rmse, "<= 0.3",
               verdict(rmse <= 0.3));
        printf("%-44s %-22.3f %-16s %s\n",
               "RMSE at 30th attempt, difficulty units", rmse / 6, "<= 0.3",
               verdict(rmse / 6 <= 0.3));
        printf("%-44s %d / %-17d %-16s %s\n",
               "tasks until every skill tried (med/max)",
               tried[seeds / 2], tried_max, "<= 50",
               verdict(tried_max <= 50));
        printf("%-44s %d / %.1f / %-10d %-16s %s\n",
               "tasks until drop acted on (med/mean/max)",
               acted[seeds / 2], acted_mean, acted[seeds - 1], "<= 10",
               verdict(acted[seeds / 2] <= ACT_WITHIN));
        printf("%-44s %d of %-16d %-16s %s\n",
               "  seeds acted on within 10 tasks", within10, seeds,
               "all", verdict(within10 == seeds));
        printf("\nnotes:\n");
        printf("  RMSE over %d skill-runs (the dropped skill left out: %d of "
               "its 30th attempts came before the drop, RMSE %.3f logits)\n",
               n, n_drop, n_drop ? sqrt(sq_drop / n_drop) : NAN);
        printf("  acted on: never in %d seeds; results of the dropped skill "
               "before acting: median %d, max %d\n", never, att[seeds / 2],
               att[seeds - 1]);
        printf("  control (same seeds, no drop): the same test fired within "
               "10 tasks of task %d in %d of %d seeds\n", DROP_AT,
               ctrl_false, seeds);
        /* the plan cannot know which skill dropped before it sees a
         * result: over a uniformly drawn skill, any plan gives it 10 / SKILLS
         * of the next 10 tasks on average, and a task at the usual
         * difficulty fails only about half the time after the drop */
        printf("  results of the dropped skill in the %d tasks after the "
               "drop: mean %.2f, none in %d of %d seeds\n", ACT_WITHIN,
               (double)looks / seeds, no_look, seeds);
        printf("  strategy shares:");
        for (t = 1; t < PLAN_S__COUNT; t++)
            printf(" %s %.2f", plan_strategy_name((enum plan_strategy)t),
                   (double)strat[t] / ((double)seeds * TASKS));
        printf("\n");
    }
    return 0;
}
