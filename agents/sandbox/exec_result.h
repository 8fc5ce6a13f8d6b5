/* exec_result.h -- from a step's raw ending to a run's result (private to
 * the executor; struct exec_result itself is public, in exec.h).
 */
#ifndef BT_EXEC_RESULT_H
#define BT_EXEC_RESULT_H

#include "exec.h"
#include "exec_child.h"
#include "task_lang.h"

/* Verdict bytes of the harness kept per run; the rest is dropped. */
#define EXEC_RESULTS_CAP (1u << 20)

/* A C compile step that failed (s ran, its status says so): fills the exit
 * fields, compile_failed, the outcome (compile_error, timeout or
 * sandbox_error) and the compiler's output. 0 or -ENOMEM. */
int exec_result_compile_failed(struct exec_result *res,
                               const struct exec_step *s,
                               enum exec_isolation iso);

/* The run step s ended: fills the exit fields, the output, for a test run
 * (tests set) the counts from the harness's verdicts under s->nonce, and
 * the outcome, most specific first. lang is the run's language: a
 * syntax error of a plain run is read from its interpreter's words (a
 * language with no rule here has none). 0 or -ENOMEM. */
int exec_result_fill(struct exec_result *res, const struct exec_step *s,
                     enum exec_isolation iso, enum task_lang lang,
                     int tests);

#endif /* BT_EXEC_RESULT_H */
