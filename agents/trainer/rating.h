/* rating.h -- a skill's rating: how able the Builder is, and how sure we are.
 *
 * One record per skill, shared by the Builder (which updates it after every
 * task) and the Trainer (which reads it to pick the next difficulty and to
 * find weak, mastered and regressing skills). Pure: no I/O, no allocation
 * except in the JSON functions, no global state, deterministic.
 *
 * Model (item response theory, one parameter, on the logit scale):
 *
 *   P(success) = 1 / (1 + exp(-(ability - b)))
 *   b          = RATING_SCALE * (difficulty - 0.5)     (= 6 (d - 0.5))
 *
 * so a task of difficulty 0 is b = -3, 0.5 is b = 0 and 1 is b = +3; an
 * ability of 0 solves an average task half the time and the easiest one 95%
 * of the time. The "level" of a skill is the difficulty it solves half the
 * time: ability / 6 + 0.5, clamped to [0, 1].
 *
 * Belief: ability ~ Normal(ability, variance). After each result the belief
 * is updated by one Newton step on the log posterior (the Laplace
 * approximation used by Glicko-like and TrueSkill-like online raters):
 *
 *   p         = P(success) before the task
 *   variance' = 1 / (1 / variance + p (1 - p))
 *   ability'  = ability + variance' * (success - p)
 *
 * A surprise moves the estimate more than an expected result, and every
 * result shrinks the variance by its Fisher information p (1 - p), most for
 * tasks near p = 0.5. Abilities change (practice, a new model), so before
 * each update the variance grows by RATING_STEP_VAR, and by
 * RATING_IDLE_VAR_PER_DAY per day since the skill was last practised (never
 * past RATING_INITIAL_VAR by idleness alone); it never falls below
 * RATING_MIN_VAR.
 *
 * Precision is bounded by information: n results at p = 0.75 carry at most
 * 0.1875 n, so after 30 tasks the standard deviation is about 0.4 logits
 * (0.07 on the difficulty scale) whatever the estimator. docs/scoring.md
 * has the figures.
 *
 * Trend: an exponentially weighted mean (weight RATING_TREND_ALPHA for the
 * newest) of success - p, the surprise of each result. Near 0 while the
 * estimate is right; clearly negative within a few tasks when the true
 * ability drops, before the estimate has caught up.
 *
 * Mastered: set once attempts >= RATING_MASTERY_ATTEMPTS and even the
 * pessimistic ability (ability - sd) solves an average task (d = 0.5) with
 * P >= RATING_MASTERY_P and the trend is >= RATING_REGRESSION_TREND;
 * cleared when P at d = 0.5 falls below RATING_UNMASTERY_P or the trend
 * falls below RATING_REGRESSION_TREND. ever_mastered stays set, so
 * "ever_mastered && !mastered" is a regression.
 */
#ifndef BT_RATING_H
#define BT_RATING_H

#include <time.h>

#include <cjson/cJSON.h>

#define RATING_SCALE             6.0    /* logits across difficulty 0..1  */
#define RATING_INITIAL_VAR       2.0    /* prior variance (sd 1.41)       */
#define RATING_MIN_VAR           0.01   /* floor: the estimate keeps
                                           learning                        */
#define RATING_STEP_VAR          0.002  /* drift per attempt              */
#define RATING_IDLE_VAR_PER_DAY  0.005  /* drift per idle day             */
#define RATING_TREND_ALPHA       0.2    /* weight of the newest surprise  */
#define RATING_MASTERY_ATTEMPTS  10
#define RATING_MASTERY_P         0.8
#define RATING_UNMASTERY_P       0.65
#define RATING_REGRESSION_TREND  (-0.25)
#define RATING_ABILITY_MAX       30.0   /* |ability| beyond is refused    */

struct rating {
    double ability;             /* mean of the belief, logits             */
    double variance;            /* variance of the belief, > 0            */
    unsigned long attempts;     /* results seen                           */
    unsigned long successes;    /* of which passed, <= attempts           */
    time_t last_practised;      /* time of the last result; 0: never      */
    double trend;               /* EW mean of success - predicted, [-1,1] */
    int mastered;               /* the rule above holds now               */
    int ever_mastered;          /* it held at some time                   */
};

/* A fresh record: ability 0, variance RATING_INITIAL_VAR, no attempts,
 * never practised, trend 0, not mastered. Can't fail. */
void rating_init(struct rating *r);

/* Records one result: success non-zero for a pass, at a task of
 * 'difficulty' in [0, 1], at time 'now' (the caller's clock; a time before
 * last_practised counts as no time passed). Returns 0, or -EINVAL (record
 * untouched) for a NULL r, a difficulty that is NaN or outside [0, 1], or a
 * record that is not valid (non-finite or out-of-range fields). */
int rating_update(struct rating *r, double difficulty, int success,
                  time_t now);

/* The predicted chance of success at 'difficulty' (clamped to [0, 1]):
 * logistic(ability - 6 (difficulty - 0.5)). A NaN difficulty gives NaN.
 * Can't fail otherwise. */
double rating_predict(const struct rating *r, double difficulty);

/* The difficulty whose predicted success is target_p: the inverse of
 * rating_predict, clamped to [0, 1] (a skill too weak or too strong for
 * the scale gets 0 or 1). Returns 0 and sets *difficulty, or -EINVAL for
 * target_p not strictly between 0 and 1 (NaN included), a NULL argument,
 * or an invalid record. */
int rating_difficulty_for(const struct rating *r, double target_p,
                          double *difficulty);

/* The difficulty solved half the time: ability / 6 + 0.5, clamped to
 * [0, 1]. Can't fail. */
double rating_level(const struct rating *r);

/* 0 when every field is in range (finite ability within
 * +-RATING_ABILITY_MAX, finite variance > 0, successes <= attempts, trend
 * in [-1, 1], last_practised >= 0), else -EINVAL. */
int rating_check(const struct rating *r);

/* A new cJSON object: "rating" (ability), "variance", "uncertainty" (sd),
 * "level", "attempts", "successes", "last_practised" (RFC 3339 UTC, or
 * null when never), "trend", "mastered", "ever_mastered". The caller owns
 * it (cJSON_Delete). cJSON prints 15 significant digits when they read
 * back within an epsilon, so doubles survive a round trip to about 1e-15
 * relative, not bit for bit. Returns NULL for a NULL r or when memory runs
 * out. */
cJSON *rating_to_json(const struct rating *r);

/* Reads a record written by rating_to_json. Missing fields keep
 * rating_init's values; "uncertainty" and "level" are derived and ignored.
 * "last_practised" may also be a number of seconds since the epoch.
 * Returns 0 and fills *r, or -EINVAL (*r untouched) when json is not an
 * object, a field has the wrong type (a string "rating", a fractional or
 * negative "attempts", a bad timestamp, ...) or the result fails
 * rating_check(). Does not take ownership of json. */
int rating_from_json(const cJSON *json, struct rating *r);

#endif /* BT_RATING_H */
