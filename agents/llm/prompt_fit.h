/* prompt_fit.h -- shrinking a task's text to fit the model's context.
 *
 * The Builder's prompt shrinks in a fixed order (docs/builder.md): memory
 * first (prompt_code drops it item by item), then the long parts of the
 * task itself -- its visible tests and its goal -- and of a retry, the test
 * output quoted back, cut in the middle, where the least is lost (a goal's
 * first and last lines say what to write and its signature; a test file's
 * head and tail show its shape; an error's head names the failing test and
 * its tail the exception), and marked as cut so that the model knows. Pure
 * text: no I/O.
 */
#ifndef BT_PROMPT_FIT_H
#define BT_PROMPT_FIT_H

#include <stddef.h>

/* Shortest a part is cut to, in bytes: below it a task says too little. */
#define PROMPT_FIT_MIN 240

/* A copy of text at most about 'max' bytes long: its head and tail with a
 * line "[... N bytes cut to fit the model's context ...]" between them,
 * cut on UTF-8 character boundaries. A text no longer than max is copied
 * whole. Returns a malloc'd string, or NULL when out of memory. */
char *prompt_cut_middle(const char *text, size_t max);

/* A task's goal and tests, and the test output of the attempt being
 * retried, as they are being cut. The originals are kept: every cut is
 * made from them, never from an earlier cut. */
struct prompt_fit {
    const char *goal0, *tests0;     /* the originals (not owned)         */
    size_t goal_max, tests_max;     /* current caps, in bytes            */
    char *goal, *tests;             /* cut copies (malloc'd), or NULL    */
    const char *out0;               /* the test output (not owned)       */
    size_t out_max;                 /* its cap, in bytes                 */
    char *out;                      /* its cut copy (malloc'd), or NULL  */
};

/* Starts with the whole texts (tests may be NULL). Can't fail. */
void prompt_fit_init(struct prompt_fit *f, const char *goal,
                     const char *tests);

/* Sets the test output of the attempt about to be retried (NULL: none),
 * capped at first at 'max' bytes (the caller's own limit for it), and
 * drops any cut of the previous one; the goal's and tests' cuts stay, so
 * that the start of the prompt stays the same across attempts. Can't
 * fail. */
void prompt_fit_set_output(struct prompt_fit *f, const char *out,
                           size_t max);

/* One step: halves the cap of the longest of goal, tests and test output
 * that is still over PROMPT_FIT_MIN and cuts it anew from its original.
 * Returns 1 when something was cut, 0 when nothing can be cut any more,
 * -ENOMEM. */
int prompt_fit_step(struct prompt_fit *f);

/* The texts to use now: the cut copy, else the original (the output: NULL
 * when none was set). */
const char *prompt_fit_goal(const struct prompt_fit *f);
const char *prompt_fit_tests(const struct prompt_fit *f);
const char *prompt_fit_output(const struct prompt_fit *f);

/* Frees the cut copies. Accepts a zeroed f. */
void prompt_fit_free(struct prompt_fit *f);

#endif /* BT_PROMPT_FIT_H */
