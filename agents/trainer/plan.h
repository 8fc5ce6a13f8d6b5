/* plan.h -- the Trainer's decision logic: analysis, difficulty, strategy.
 *
 * The Trainer (issue #6) studies the Builder's results and decides what to
 * ask next. Everything it decides is here, and nothing else is: no I/O, no
 * LLM, no store, no threads, no global state. Given the same results, the
 * same configuration and the same random state, the plan makes the same
 * choices. The Trainer feeds it results (plan_observe), asks it for the
 * next task's strategy, skill and difficulty (plan_choose), writes its
 * JSON views to advanced/ and persists it with plan_state_to_json.
 *
 * Threads: a struct plan is not locked; one thread uses it at a time.
 *
 * Analysis is incremental: plan_observe updates, per skill, the rating of
 * agents/trainer/rating.h, attempts, the last recent_window outcomes, failure-kind
 * and "lowered"-reason counts (agents/builder/score.h names: "elegance.long", ...),
 * the task count at its last result, and its review and regression state.
 * Nothing rescans history.
 *
 * Difficulty: a task aims at the configured target success (default 0.75,
 * BT_TARGET_SUCCESS): its difficulty is rating_difficulty_for(target). The
 * stretch strategy aims lower (stretch_success, 0.5), so the other
 * strategies aim a little higher, at the "base target"
 *
 *     base = (target - s * stretch_success) / (1 - s)
 *
 * where s is stretch's share of recent choices (exponentially weighted,
 * 1/20 for the newest), so that the mix still averages the target (the
 * base is kept within [0.05, 0.9]). A skill
 * that is slipping or suspect (see below) aims at (1 + base) / 2: easier
 * tasks until its rating has caught up.
 *
 * Strategies:
 *   weakness          a tried skill that is not mastered (or is slipping),
 *                     drawn with probability proportional to w^2 where
 *                     w = max(0, base - m) + 0.02 (+ 0.5 if slipping),
 *                     m = its predicted success at the global difficulty:
 *                     its shortfall below what the tried skills reach on
 *                     average there.
 *   exploration       an untried skill (uniformly among them), else the
 *                     tried skill unseen for the most tasks (ties: the
 *                     least tried): a rotation, so that every skill is
 *                     looked at now and then.
 *   regression_review a regressed skill still owed review tasks; else a
 *                     suspect skill (the strongest evidence first); else a
 *                     mastered skill that failed its last task (a lapse);
 *                     else a mastered skill whose review is due: not seen
 *                     for review_interval tasks. The interval starts at
 *                     review_first (5) when the skill is mastered, doubles
 *                     after each passed review (5, 10, 20, 40, ... up to
 *                     review_max) and goes back to review_first after a
 *                     failure.
 *   stretch           a skill with at least 3 attempts, not slipping,
 *                     not suspect, not owed reviews and not at the top of
 *                     the scale, drawn with probability proportional to
 *                     (1 + tasks since its last result)^2, at the
 *                     difficulty it solves stretch_success of the time.
 *
 * Weights follow learning progress. For each strategy the plan keeps the
 * surprises (passed - predicted success before the result) of the last
 * progress_window results of the tasks it chose: their mean is the change
 * of success rate those tasks brought beyond what the ratings expected. A
 * learner that improves where a strategy sends it beats its predictions
 * there. Shrunk towards a prior of PLAN_PROGRESS_PRIOR with
 * PLAN_PROGRESS_PSEUDO pseudo-results and clipped at 0 it is lp(s), and
 *
 *     weight(s) = floor + (1 - 4 floor) * i(s) / sum(i),
 *     i(s)      = PLAN_PROGRESS_BASE + lp(s)
 *
 * so each keeps at least weight_floor and they sum to 1; the base interest
 * keeps the noise of a 20-result mean (about +-0.1) from swinging a weight
 * from the floor to the top. Two overrides raise a weight at once, taking from the
 * others' share above their floors: exploration to explore_weight while a
 * catalogue skill is untried, and regression_review to regression_weight
 * while a regressed skill is owed review tasks. plan_choose draws a
 * strategy by weight among those that have a candidate skill, except
 * while a skill is suspect: then regression_review goes first, without a
 * draw (one task settles a suspicion, and a real drop should not wait).
 *
 * Suspect: the trend needs two or three failures, and a skill that is
 * neither weak nor mastered comes up about once in ten tasks, so a sudden
 * drop used to wait tens of tasks. Each skill with at least
 * PLAN_SLIP_ATTEMPTS attempts keeps the evidence of a drop (Page's CUSUM,
 * in nats): the sum, floored at 0 and capped at PLAN_SUSPECT_CAP times the
 * threshold, of each result's log-likelihood ratio of "the ability fell by
 * PLAN_SUSPECT_DROP logits" against "the rating is right", computed from
 * the success predicted before the result (a failure predicted below 0.5
 * adds nothing: a steady failer is the weakness rule's). The threshold is
 * the ratio of one failure predicted at PLAN_SUSPECT_P: one such failure,
 * or two at 0.5 (a stretch task), make the skill suspect unless it is
 * slipping or owed reviews. A suspect skill is re-tested at once by
 * regression_review at the easier slip target; its next result, whatever
 * chose it, settles the suspicion: the evidence starts over from that
 * result alone, so a false alarm costs one task and a failed re-test (a
 * more surprising failure still) keeps it suspect.
 *
 * Slipping: at least PLAN_SLIP_ATTEMPTS attempts and a rating trend below
 * RATING_REGRESSION_TREND. A regression is detected when a skill loses its
 * mastered flag, or slips after having been mastered: the skill is flagged
 * regressed (until mastered again), owed regression_tasks review tasks,
 * its review interval restarts, and regression_review's weight is raised.
 *
 * Skills: the catalogue starts with PLAN_INITIAL_SKILLS and grows with
 * plan_add_skill and with every skill a result names. A skill name is 1 to
 * PLAN_NAME_MAX characters of a-z 0-9 _ -. Reason names ("lowered") are 1
 * to PLAN_NAME_MAX characters of a-z 0-9 _ - . and at most
 * PLAN_REASONS_MAX distinct ones are counted.
 */
#ifndef BT_PLAN_H
#define BT_PLAN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "agents/failure.h"
#include "agents/trainer/rating.h"

#define PLAN_NAME_MAX        64      /* characters in a skill or reason   */
#define PLAN_SKILLS_MAX      256     /* catalogue size                    */
#define PLAN_REASONS_MAX     64      /* distinct "lowered" reason names   */
#define PLAN_RESULT_SKILLS_MAX 16    /* skills of one result              */
#define PLAN_RESULT_REASONS_MAX 32   /* reasons of one result             */
#define PLAN_RECENT_MAX      32      /* largest recent_window             */
#define PLAN_PROGRESS_MAX    64      /* largest progress_window           */
#define PLAN_HISTORY         100     /* choices kept for the bias check   */
#define PLAN_SLIP_ATTEMPTS   5
#define PLAN_PROGRESS_PRIOR  0.05
#define PLAN_PROGRESS_PSEUDO 5
#define PLAN_PROGRESS_BASE   0.05
#define PLAN_SUSPECT_DROP    1.5     /* the drop suspicion tests, logits  */
#define PLAN_SUSPECT_P       0.8     /* one failure at this prediction or
                                        above makes a skill suspect       */
#define PLAN_SUSPECT_CAP     2.0     /* evidence kept, in thresholds      */
#define PLAN_INITIAL_SKILLS  "strings lists dicts recursion sorting math " \
                             "parsing classes iterators error_handling"

/* The strategies. PLAN_S_NONE marks a result whose task the plan did not
 * choose (a user's, a seed task, ...); a zeroed struct plan_result has it. */
enum plan_strategy {
    PLAN_S_NONE = 0,
    PLAN_S_WEAKNESS,            /* "weakness"                             */
    PLAN_S_EXPLORATION,         /* "exploration"                          */
    PLAN_S_REVIEW,              /* "regression_review"                    */
    PLAN_S_STRETCH,             /* "stretch"                              */
    PLAN_S__COUNT
};

/* How a failed task failed: the Builder's kinds (enum failure_kind,
 * agents/failure.h), one table of names for both agents. */

/* Where the task came from. */
enum plan_source {
    PLAN_SRC_USER = 0,          /* "user"                                 */
    PLAN_SRC_TRAINER,           /* "trainer"                              */
    PLAN_SRC_SEED,              /* "seed"                                 */
    PLAN_SRC__COUNT
};

/* Stable names; "?" outside the enum. Never NULL. PLAN_S_NONE is "none". */
const char *plan_strategy_name(enum plan_strategy s);
const char *plan_source_name(enum plan_source s);

/* The inverses: 0 and *out set, or -EINVAL for NULL or an unknown name. */
int plan_strategy_from_name(const char *name, enum plan_strategy *out);
int plan_source_from_name(const char *name, enum plan_source *out);

/* 0 when name is a valid skill name (1..PLAN_NAME_MAX of a-z 0-9 _ -),
 * else -EINVAL (NULL included). */
int plan_skill_name_check(const char *name);

/* ---- configuration ------------------------------------------------------- */

struct plan_config {
    double target_success;      /* 0.75: BT_TARGET_SUCCESS, in (0, 1)     */
    double stretch_success;     /* 0.5: stretch's target, in (0, 1)       */
    double weight_floor;        /* 0.1: least weight, in [0, 0.25]        */
    double explore_weight;      /* 0.5: exploration's while a skill is
                                   untried, in [floor, 1 - 3 floor]       */
    double regression_weight;   /* 0.5: regression_review's while a
                                   regression is owed reviews, same range */
    unsigned recent_window;     /* 10: outcomes kept per skill, 1..32     */
    unsigned progress_window;   /* 20: results per strategy, 2..64        */
    unsigned review_first;      /* 5: first review interval, >= 1 task    */
    unsigned review_max;        /* 40: longest interval, >= review_first  */
    unsigned regression_tasks;  /* 3: review tasks owed per regression    */
};

/* Fills *cfg with the defaults above. Can't fail. */
void plan_config_default(struct plan_config *cfg);

/* 0 when *cfg is usable, else -EINVAL (a NaN or out-of-range field as
 * noted above, or NULL). */
int plan_config_check(const struct plan_config *cfg);

/* ---- the plan ------------------------------------------------------------ */

struct plan;

/* A new plan with the initial catalogue and no results. cfg NULL means the
 * defaults; it is copied. Returns 0 and sets *out, -EINVAL for a NULL out
 * or a cfg that fails plan_config_check, or -ENOMEM. */
int plan_create(const struct plan_config *cfg, struct plan **out);

/* Frees the plan. Accepts NULL. */
void plan_free(struct plan *p);

/* The configuration in use (owned by p). */
const struct plan_config *plan_get_config(const struct plan *p);

/* Adds a skill to the catalogue (as untried). Returns 1 when added, 0 when
 * it was there already, -EINVAL for a NULL p or a bad name, -ENOSPC when
 * the catalogue holds PLAN_SKILLS_MAX skills, -ENOMEM (nothing changed on
 * any error). */
int plan_add_skill(struct plan *p, const char *name);

/* Skills in the catalogue, and the name of the i-th (in the order they
 * were added; NULL for i out of range). The name is owned by p and valid
 * until p changes. */
size_t plan_skill_count(const struct plan *p);
const char *plan_skill_name(const struct plan *p, size_t i);

/* One finished task. The plan copies what it keeps. */
struct plan_result {
    const char *const *skills;  /* 1..PLAN_RESULT_SKILLS_MAX valid names;
                                   duplicates count once; unknown ones join
                                   the catalogue                          */
    size_t nskills;
    double difficulty;          /* the task's, in [0, 1]                  */
    int passed;                 /* non-zero: passed                       */
    enum failure_kind failure;  /* FAILURE_NONE when passed; a failure
                                   without a kind counts as "other"      */
    const char *const *lowered; /* the score's "lowered" reason names, or
                                   NULL; at most PLAN_RESULT_REASONS_MAX  */
    size_t nlowered;
    enum plan_source source;
    enum plan_strategy strategy;/* the choice that made the task, or
                                   PLAN_S_NONE                            */
    time_t time;                /* when it finished (rating idle time)    */
};

/* Learns from one result: updates every named skill, the failure and
 * reason counts, the review and regression state, the progress of the
 * strategy that chose the task, and the weights. Returns 0, or (p
 * untouched):
 *   -EINVAL  NULL p or r, no skills or too many, a bad skill or reason
 *            name, a difficulty that is NaN or outside [0, 1], a passed
 *            result with a failure kind, an enum out of range, a negative
 *            time, or more than PLAN_RESULT_REASONS_MAX reasons;
 *   -ENOSPC  the catalogue or the reason table would overflow;
 *   -ENOMEM. */
int plan_observe(struct plan *p, const struct plan_result *r);

/* ---- choosing ------------------------------------------------------------ */

/* The caller's random state. Seed it once; plan_choose advances it. */
struct plan_rng {
    uint64_t s;
};

/* Seeds *g from any 64-bit value (0 included). Can't fail. */
void plan_rng_seed(struct plan_rng *g, uint64_t seed);

/* A uniform double in [0, 1) (xorshift64*). Can't fail. */
double plan_rng_uniform(struct plan_rng *g);

#define PLAN_REASON_LEN 512     /* fits any reason: names are bounded     */

struct plan_choice {
    enum plan_strategy strategy;
    char skill[PLAN_NAME_MAX + 1];
    double difficulty;          /* in [0, 1]                              */
    double predicted;           /* predicted success at that difficulty   */
    double target;              /* the success it aimed at                */
    double weight;              /* the strategy's weight when drawn       */
    char reason[PLAN_REASON_LEN]; /* why, for trainer_log.json            */
};

/* Picks the next task: a strategy by weight (among those with a candidate
 * skill; regression_review without a draw while a skill is suspect), a
 * skill for it, and a difficulty. Records the choice (counts,
 * the history behind plan_biases_json, stretch's share), so call it once
 * per task the Trainer means to enqueue. Deterministic given p and *g.
 * Returns 0 and fills *out, or -EINVAL for a NULL argument, -ENOENT when
 * the catalogue is empty (it never is: the initial skills stay). Nothing
 * is recorded on error. */
int plan_choose(struct plan *p, struct plan_rng *g, struct plan_choice *out);

/* {"strategy","skill","difficulty","predicted_success","target_success",
 * "weight","reason"}: a new object the caller owns; NULL for NULL c or
 * when memory runs out. */
cJSON *plan_choice_json(const struct plan_choice *c);

/* ---- reading the state --------------------------------------------------- */

/* The weights now, summing to 1, w[PLAN_S_NONE] = 0 (availability of
 * candidates is not considered). NULL arguments are ignored. */
void plan_weights(const struct plan *p, double w[PLAN_S__COUNT]);

/* The success non-stretch tasks aim at now (see "base target" above). */
double plan_base_target(const struct plan *p);

struct plan_skill_info {
    struct rating rating;       /* a copy                                 */
    double difficulty;          /* for the base target (or the slip one)  */
    double recent_success;      /* over the recent window; -1 when empty  */
    unsigned recent_n;          /* results in the window                  */
    unsigned long tasks_since;  /* results of any skill since its last;
                                   the total when never seen              */
    unsigned review_interval;   /* 0 until mastered                       */
    int review_due;             /* regression_review would take it        */
    int slipping;
    int regressed;
    unsigned review_debt;       /* review tasks still owed                */
    unsigned long chosen;       /* times plan_choose picked it            */
    int suspect;                /* a drop is suspected: regression_review
                                   takes it next (see "Suspect" above)    */
    double suspicion;           /* the evidence of a drop, nats, >= 0     */
};

/* Fills *out for the named skill. Returns 0, -EINVAL for a NULL argument,
 * or -ENOENT when the skill is not in the catalogue. */
int plan_skill_info(const struct plan *p, const char *skill,
                    struct plan_skill_info *out);

/* The JSON views. Each returns a new tree the caller owns (cJSON_Delete),
 * or NULL for a NULL p or when memory runs out.
 *
 * plan_analysis_json (advanced/builder_analysis_N.json):
 *   {"tasks", "success_rate", "sources":{user,trainer,seed},
 *    "failure_kinds":{kind:n}, "style_issues":{reason:n},
 *    "regressions":[skill], "slipping":[skill], "mastered":[skill],
 *    "weakest":[up to 3 tried skills, lowest level first],
 *    "skills":{name:{"attempts","successes","success_rate",
 *      "recent":{"window","attempts","success_rate"},"trend","direction"
 *      ("improving"|"steady"|"declining"|"untried"),"rating","uncertainty",
 *      "level","last_practised","tasks_since_practised","mastered",
 *      "ever_mastered","slipping","suspect","suspicion","regressed",
 *      "regressions",
 *      "review_interval","review_due","failure_kinds":{},
 *      "style_issues":{elegance.* reasons},"lowered":{every reason}}}}
 *
 * plan_difficulty_json (advanced/current_difficulty.json):
 *   {"target_success","base_target","stretch_success",
 *    "global":{"level" (mean over tried skills), "difficulty" (where the
 *      mean predicted success over tried skills is the base target),
 *      "curve":[{"difficulty","predicted_success"} at 0, 0.1, .. 1]},
 *    "per_skill":{name:{"difficulty","level","rating","uncertainty",
 *      "target","stretch_difficulty","tried"}}}
 *
 * plan_weights_json (advanced/strategy_weights.json):
 *   {"weights":{strategy:w}, "floor", "progress":{strategy:{"results",
 *    "mean_surprise","lp","chosen","at_floor_updates"}},
 *    "overrides":[text], "stretch_share"}
 *
 * plan_biases_json (advanced/internal_biases.json):
 *   {"choices_considered", "biases":[{"kind":"skill_overused"|
 *    "failure_kind_dominant"|"strategy_at_floor", ..., "detail":text}]}
 *   A skill is overused when it took >= 3x the mean share of the last
 *   PLAN_HISTORY choices (and at least 10 of them); a failure kind
 *   dominates when it is more than half of at least 5 failures (overall,
 *   or of one skill when that kind is not the overall one); a strategy is stuck when its weight sat at the floor
 *   for the last 50 results or more. */
cJSON *plan_analysis_json(const struct plan *p);
cJSON *plan_difficulty_json(const struct plan *p);
cJSON *plan_weights_json(const struct plan *p);
cJSON *plan_biases_json(const struct plan *p);

/* ---- persistence --------------------------------------------------------- */

/* The whole state as a new cJSON object the caller owns ("version" 1;
 * skills with their ratings, windows, counts; strategy windows; the
 * choice history). The configuration is not part of it. NULL for NULL p
 * or when memory runs out. Doubles survive to about 1e-15 relative. */
cJSON *plan_state_to_json(const struct plan *p);

/* Replaces p's state with one read from plan_state_to_json's output,
 * keeping p's configuration. Missing fields keep a fresh plan's values (a
 * missing "skills" keeps the initial catalogue); windows longer than the
 * configured ones keep their newest entries. Returns 0, or -EINVAL (p
 * untouched) when json is not an object, a field has the wrong type or
 * is out of range, a skill name is bad or repeated, or the history names
 * an unknown skill; -ENOSPC or -ENOMEM likewise. Does not take ownership
 * of json. */
int plan_state_from_json(struct plan *p, const cJSON *json);

#endif /* BT_PLAN_H */
