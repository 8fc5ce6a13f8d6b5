/* score.h -- the scoring engine: how good was one finished task.
 *
 * The Builder gathers the facts of a task (tests passed, run time, attempts,
 * code metrics from metrics.h, lint warnings, difficulty) into a struct
 * score_input; score_compute() turns them into four numbers and a total,
 * and says which facts lowered which part. Pure: no I/O, no allocation
 * except in score_to_json(), no global state, deterministic.
 *
 * The formula (docs/scoring.md works examples through it; w is a struct
 * score_weights, every ratio below is clamped to [0, 1]):
 *
 *   accuracy   A = passed / total of the deciding tests: the hidden tests
 *                  when there are any (w.visible_share of the visible ones
 *                  mixed in), else the visible ones; no tests at all: 0.
 *                  Self-written tests: A *= w.self_test_trust.
 *   speed      S = (w.time * T + w.attempts * R) / (w.time + w.attempts)
 *                  T = 1 while run_ms <= w.time_free * limit_ms, then
 *                      falling linearly to 0 at the limit; 0 on a timeout.
 *                  R = (max_attempts - attempts + 1) / max_attempts.
 *   elegance   E = the w.size/complexity/nesting/lint/width weighted mean of
 *                  allow(lines, Lb)  allow(complexity, Cb)
 *                  allow(depth, Db)  1 / (1 + w.lint_step * warnings)
 *                  allow(longest_line, w.width_budget)
 *                  where allow(x, b) = 1 when x <= b, else b / x, and the
 *                  budgets come from the reference solution when there is
 *                  one (Lb = w.size_slack * ref lines,
 *                  Cb = w.complexity_slack * ref complexity,
 *                  Db = ref depth + w.depth_slack), else from the absolute
 *                  w.size_budget, w.complexity_budget, w.depth_budget.
 *                  No code (0 lines): E = 0.
 *   difficulty M = w.difficulty_min + (w.difficulty_max - w.difficulty_min)
 *                  * task difficulty   (a multiplier: 0.5 .. 1.5 default)
 *   total      = M * A * (w.accuracy + w.speed * S + w.elegance * E)
 *                  / (w.accuracy + w.speed + w.elegance)
 *
 * Correctness gates the rest: wrong code earns nothing for being short or
 * fast. With the default weights a perfect answer to a task of difficulty
 * 0.5 scores 1.0; totals range over [0, w.difficulty_max].
 */
#ifndef BT_SCORE_H
#define BT_SCORE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "agents/builder/metrics.h"

/* Weights and constants. Every field must be finite and >= 0; see
 * score_weights_check() for the other bounds. */
struct score_weights {
    /* total */
    double accuracy;            /* 0.6  weight of A in the total           */
    double speed;               /* 0.2  weight of S                        */
    double elegance;            /* 0.2  weight of E                        */
    double difficulty_min;      /* 0.5  multiplier at difficulty 0         */
    double difficulty_max;      /* 1.5  multiplier at difficulty 1         */
    /* accuracy */
    double visible_share;       /* 0    share of the visible tests in A
                                        when hidden ones exist, in [0,1]   */
    double self_test_trust;     /* 0.8  factor on A for self-written tests,
                                        in [0,1]                           */
    /* speed */
    double time;                /* 0.5  weight of T in S                   */
    double attempts;            /* 0.5  weight of R in S                   */
    double time_free;           /* 0.1  share of the limit that costs
                                        nothing, in [0,1)                  */
    /* elegance */
    double size;                /* 0.3  weight of the line budget in E     */
    double complexity;          /* 0.25 weight of the complexity budget    */
    double nesting;             /* 0.15 weight of the depth budget         */
    double lint;                /* 0.25 weight of the lint part            */
    double width;               /* 0.05 weight of the line width part      */
    double size_slack;          /* 1.25 lines allowed per reference line   */
    double complexity_slack;    /* 1.5  complexity per reference unit      */
    double depth_slack;         /* 1    levels beyond the reference's      */
    double size_budget;         /* 50   lines, when there is no reference  */
    double complexity_budget;   /* 10   (McCabe's threshold), no reference */
    double depth_budget;        /* 4    levels, when there is no reference */
    double width_budget;        /* 100  characters                         */
    double lint_step;           /* 0.25 cost of a warning: 1/(1+0.25 n)    */
};

/* Fills *w with the defaults above. Can't fail. */
void score_weights_default(struct score_weights *w);

/* Returns 0 when *w is usable, else -EINVAL: a NaN, infinite or negative
 * field; accuracy + speed + elegance == 0; time + attempts == 0; the five
 * elegance weights summing to 0; difficulty_max < difficulty_min;
 * visible_share or self_test_trust above 1; time_free >= 1; a budget or a
 * slack of 0 (depth_slack may be 0, depth_budget may not). */
int score_weights_check(const struct score_weights *w);

/* Applies "name=value,name=value" (field names of struct score_weights,
 * e.g. "accuracy=0.7,elegance=0.1") over the weights in *w. Returns 0, or
 * -EINVAL with a message naming the bad part in err (*w untouched) for an
 * unknown name, a value that is not a finite number, or weights that fail
 * score_weights_check(). An empty or NULL spec changes nothing. */
int score_weights_parse(const char *spec, struct score_weights *w, char *err,
                        size_t errlen);

/* The facts of one finished task. */
struct score_input {
    int visible_passed;         /* visible tests passed ...                */
    int visible_total;          /* ... of these                            */
    int hidden_passed;          /* hidden tests passed ...                 */
    int hidden_total;           /* ... of these (0: none)                  */
    int tests_self_written;     /* 1: the tests came from the Builder's
                                   own LLM (a task without tests)          */
    double run_ms;              /* wall time of the final run              */
    double limit_ms;            /* the task's time limit, > 0              */
    int timed_out;              /* 1: the final run was killed at the limit */
    int attempts;               /* attempts used, 1 .. max_attempts        */
    int max_attempts;           /* BT_MAX_ATTEMPTS, >= 1                   */
    struct metrics code;        /* of the final code                       */
    int have_reference;         /* 1: 'reference' holds a reference
                                   solution's metrics                      */
    struct metrics reference;
    int lint_warnings;          /* pyflakes lines or compiler warnings     */
    double difficulty;          /* the task's, in [0, 1]                   */
};

/* Why a part is lower than it could be. The names (score_reason_name) are
 * stable: they appear in the score's "lowered" list and the Trainer reads
 * them to find style issues. */
enum score_reason {
    SCORE_R_NO_TESTS,           /* "accuracy.no_tests"                     */
    SCORE_R_TESTS_FAILED,       /* "accuracy.tests_failed"                 */
    SCORE_R_SELF_TESTS,         /* "accuracy.self_tests"                   */
    SCORE_R_TIMEOUT,            /* "speed.timeout"                         */
    SCORE_R_SLOW,               /* "speed.slow"                            */
    SCORE_R_RETRIES,            /* "speed.retries"                         */
    SCORE_R_NO_CODE,            /* "elegance.no_code"                      */
    SCORE_R_LONG,               /* "elegance.long"                         */
    SCORE_R_COMPLEX,            /* "elegance.complex"                      */
    SCORE_R_DEEP,               /* "elegance.deep"                         */
    SCORE_R_LINT,               /* "elegance.lint"                         */
    SCORE_R_WIDE,               /* "elegance.wide"                         */
    SCORE_R_EASY,               /* "difficulty.easy": multiplier below 1   */
    SCORE_R__COUNT
};

/* The stable name of a reason; "?" outside the enum. Never NULL. */
const char *score_reason_name(enum score_reason r);

/* The outcome. Parts in [0, 1]; 'total' in [0, w.difficulty_max]. */
struct score {
    double accuracy;            /* A                                       */
    double speed;               /* S                                       */
    double elegance;            /* E                                       */
    double difficulty;          /* M, the multiplier                       */
    double total;
    /* the pieces, for the explanation */
    double time_part;           /* T                                       */
    double attempts_part;       /* R                                       */
    double size_part;           /* allow(lines, Lb)                        */
    double complexity_part;
    double nesting_part;
    double lint_part;
    double width_part;
    double task_difficulty;     /* the input difficulty                    */
    int passed;                 /* every deciding test passed (and there
                                   was at least one)                       */
    int self_tested;            /* accuracy rests on self-written tests    */
    int have_reference;         /* elegance budgets came from a reference  */
    unsigned lowered;           /* bit (1u << enum score_reason) per reason */
};

/* Scores one task. w may be NULL for the defaults. Returns 0 and fills
 * *out, or -EINVAL (and leaves *out untouched) when: in or out is NULL; w
 * fails score_weights_check(); a count is negative or a passed count
 * exceeds its total; run_ms is NaN, infinite or negative; limit_ms is not
 * a finite positive number; max_attempts < 1 or attempts outside
 * 1 .. max_attempts; difficulty is NaN or outside [0, 1]. Allocates
 * nothing. */
int score_compute(const struct score_input *in, const struct score_weights *w,
                  struct score *out);

/* A new cJSON object {"accuracy", "speed", "elegance", "difficulty"
 * (the multiplier), "total"} and, when 'details' is non-zero, a "details"
 * object: "task_difficulty", "passed", "self_tested", "reference", the
 * parts ("time", "attempts", "size", "complexity", "nesting", "lint",
 * "width") and "lowered" (an array of reason names, in enum order). The
 * caller owns the result and frees it with cJSON_Delete(). Returns NULL
 * when s is NULL or memory runs out. */
cJSON *score_to_json(const struct score *s, int details);

#endif /* BT_SCORE_H */
