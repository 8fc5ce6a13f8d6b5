/* builder_run.c -- the Builder's sandbox runs: an attempt's code with the
 * visible tests, the judging of the chosen attempt (the hidden tests decide
 * when there are any), the lint count and the score built on them.
 */
#include "builder_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

/* Runs code with tests (NULL: a plain run) and logs the run to shell.log. */
int builder_run_code(struct builder *b, const struct task *t, const char *what,
                     const char *code, const char *tests,
                     struct exec_result *res)
{
    struct exec_limits lim;
    struct exec_request req = { .lang = t->doc.language, .code = code,
                                .tests = tests && *tests ? tests : NULL,
                                .limits = &lim };
    char *summary;
    int rc;

    memset(&lim, 0, sizeof lim);
    lim.timeout_ms = t->timeout_ms;
    rc = exec_run(b->pool->env.ex, &req, res);
    if (rc == 0) {
        b->usage.sandbox_runs++;
        b->usage.sandbox_ms += res->wall_ms + res->compile_ms;
    }
    summary = rc == 0 ? exec_result_summary(&req, res) : NULL;
    {
        char line[LOG_LINE];
        snprintf(line, sizeof line, "%s %s: %s", t->name, what,
                 summary ? summary : rc < 0 ? strerror(-rc) : "?");
        log_batch_add(&b->log, STORE_LOG_SHELL, line);
    }
    free(summary);
    return rc;
}

/* Whether a run passed: every test passed (at least one), or for a plain
 * run, exit 0. */
int builder_run_passed(const struct exec_result *r, int with_tests)
{
    if (with_tests)
        return r->outcome == EXEC_OK && r->tests_total > 0 &&
               r->tests_passed == r->tests_total;
    return r->outcome == EXEC_OK;
}

/* What went wrong in a run, for the next prompt: the outcome, the first
 * failing test, and the end of the error output. malloc'd. */
char *builder_describe_failure(const struct exec_result *r, int with_tests)
{
    char *s = NULL;
    const char *err = r->err ? r->err : "";
    const char *out = r->out ? r->out : "";
    size_t errn = strlen(err), outn = strlen(out);
    /* The end of the output holds the traceback's cause. */
    const char *err_tail = errn > 1500 ? err + errn - 1500 : err;
    const char *out_tail = outn > 400 ? out + outn - 400 : out;

    if (asprintf(&s, "%s%s%s%s%s%s%s%s%s",
                 r->timed_out ? "The run was killed at the time limit.\n"
                              : "",
                 with_tests ? "Tests: " : "Outcome: ",
                 with_tests ? "" : exec_outcome_name(r->outcome),
                 with_tests ? "" : "\n",
                 with_tests ? (r->first_failure ? r->first_failure
                                                : exec_outcome_name(
                                                      r->outcome))
                            : "",
                 with_tests ? "\n" : "",
                 *err_tail ? "stderr:\n" : "", err_tail,
                 *out_tail && !*err_tail ? out_tail : "") < 0)
        return NULL;
    if (with_tests) {
        char *t = NULL;
        if (asprintf(&t, "%d of %d tests passed. %s", r->tests_passed,
                     r->tests_total, s) >= 0) {
            free(s);
            s = t;
        }
    }
    return s;
}

/* Lint warnings for the final code: pyflakes for Python, gcc -Wall
 * -Wextra for C, run in the sandbox (the code is untrusted even to a
 * linter). -1 when no linter is available. */
static int lint(struct builder *b, const struct task *t, const char *code)
{
    struct exec_file f = { NULL, code, strlen(code) };
    struct exec_request req = { .lang = "sh", .files = &f, .nfiles = 1 };
    struct exec_result r;
    int n = -1;

    if (t->doc.lang_known && t->doc.lang == TASK_LANG_PYTHON) {
        f.name = "solution.py";
        req.code = "python3 -m pyflakes solution.py 2>&1; true\n";
    } else if (t->doc.lang_known && t->doc.lang == TASK_LANG_C) {
        f.name = "solution.c";
        req.code = "gcc -std=gnu11 -Wall -Wextra -fsyntax-only solution.c "
                   "2>&1 | grep -c 'warning:'; true\n";
    } else {
        return 0;
    }
    int rc = exec_run(b->pool->env.ex, &req, &r);
    if (rc == 0) {
        b->usage.sandbox_runs++;
        b->usage.sandbox_ms += r.wall_ms + r.compile_ms;
    }
    if (rc == 0) {
        char *summary = exec_result_summary(&req, &r);
        char line[LOG_LINE];
        snprintf(line, sizeof line, "%s lint: %s", t->name,
                 summary ? summary : "?");
        log_batch_add(&b->log, STORE_LOG_SHELL, line);
        free(summary);
    }
    if (rc == 0 && r.out) {
        if (strstr(r.out, "No module named pyflakes")) {
            n = -1;
        } else if (t->doc.lang == TASK_LANG_C) {
            n = atoi(r.out);
        } else {
            n = 0;
            for (const char *p = r.out; *p; p++)
                n += *p == '\n';
        }
    }
    exec_result_free(&r);
    return n;
}

/* The kind of a failed judging run, from the sandbox's outcome. */
static enum failure_kind failure_of_outcome(enum exec_outcome o)
{
    switch (o) {
    case EXEC_SYNTAX_ERROR:
    case EXEC_COMPILE_ERROR:
        return FAILURE_SYNTAX;
    case EXEC_TESTS_FAILED:
        return FAILURE_WRONG;
    case EXEC_FAILED:
    case EXEC_CRASHED:
        return FAILURE_EXCEPTION;
    case EXEC_TIMEOUT:
        return FAILURE_TIMEOUT;
    default:
        return FAILURE_OTHER;
    }
}

/* Judges the code of the attempt that passed the visible tests, else of
 * the last attempt with code, into w->v: the hidden tests decide when
 * there are any. Runs the visible tests again when 'last' holds another
 * attempt's run. */
void builder_judge(struct build *w)
{
    struct builder *b = w->b;
    const struct task *t = &w->t;
    struct verdict *v = &w->v;
    struct exec_result *last = &w->last;
    int judged = w->passed_attempt;

    for (int i = (int)w->natt; !judged && i > 0; i--)
        if (w->att[i - 1].code)
            judged = i;
    v->self_written = w->self_written;
    v->final_attempt = judged;
    if (!judged) {
        snprintf(v->reason, sizeof v->reason, "no code in any of %u answers",
                 w->natt);
        v->failure = FAILURE_NO_CODE;
        return;
    }
    enum exec_outcome judged_outcome;
    const char *code = w->att[judged - 1].code;
    if (judged != w->last_attempt) {
        /* 'last' belongs to another attempt: run the judged code. */
        exec_result_free(last);
        if (builder_run_code(b, t, "visible tests", code, w->tests, last) < 0)
            memset(last, 0, sizeof *last);
    }
    v->visible_passed = last->tests_passed;
    v->visible_total = last->tests_total;
    v->outcome = exec_outcome_name(last->outcome);
    judged_outcome = last->outcome;
    v->run_ms = last->wall_ms;
    v->limit_ms = (double)last->limits.timeout_ms;
    v->timed_out = last->timed_out;
    int ok = builder_run_passed(last, *w->tests != '\0');
    if (*t->doc.hidden_tests) {
        builder_step(b, t, "working", "running hidden tests");
        exec_result_free(last);
        if (builder_run_code(b, t, "hidden tests", code, t->doc.hidden_tests,
                             last) == 0) {
            v->hidden_passed = last->tests_passed;
            v->hidden_total = last->tests_total > 0 ? last->tests_total : 1;
            v->outcome = exec_outcome_name(last->outcome);
            judged_outcome = last->outcome;
            v->run_ms = last->wall_ms;
            v->timed_out = last->timed_out;
            ok = builder_run_passed(last, 1);
        } else {
            ok = 0;
        }
        if (!ok)
            snprintf(v->reason, sizeof v->reason, "hidden tests: %d of %d "
                     "passed%s%s", v->hidden_passed, v->hidden_total,
                     last->first_failure ? "; first failure: " : "",
                     last->first_failure ? last->first_failure : "");
    } else if (!ok) {
        snprintf(v->reason, sizeof v->reason, "%s",
                 w->att[judged - 1].problem ? w->att[judged - 1].problem
                                            : "the tests failed");
    }
    if (ok && !*w->tests && !*t->doc.hidden_tests) {
        ok = 0;
        snprintf(v->reason, sizeof v->reason, "no tests could be written, "
                 "so the code ran but could not be judged");
    }
    v->status = ok ? "passed" : "failed";
    v->failure = ok ? FAILURE_NONE : failure_of_outcome(judged_outcome);
}

/* Scores the judged code (see score.h). Returns a malloc'd JSON object. */
char *builder_score(struct builder *b, const struct task *t,
                    const struct verdict *v, const char *code,
                    unsigned natt, double *total)
{
    struct score_input in;
    struct score s;
    enum metrics_lang ml;
    int warnings;

    memset(&in, 0, sizeof in);
    if (metrics_lang_parse(t->doc.language, &ml) < 0)
        ml = METRICS_PYTHON;
    in.visible_passed = v->visible_passed;
    in.visible_total = v->visible_total;
    in.hidden_passed = v->hidden_passed;
    in.hidden_total = v->hidden_total;
    in.tests_self_written = v->self_written && v->hidden_total == 0;
    in.run_ms = v->run_ms;
    in.limit_ms = v->limit_ms > 0 ? v->limit_ms : (double)t->timeout_ms;
    in.timed_out = v->timed_out;
    in.attempts = (int)natt;
    in.max_attempts = (int)(t->max_attempts ? t->max_attempts
                                            : b->pool->cfg.max_attempts);
    if (in.attempts > in.max_attempts)
        in.max_attempts = in.attempts;
    if (code)
        metrics_measure(ml, code, strlen(code), &in.code);
    if (t->doc.reference &&
        metrics_measure(ml, t->doc.reference, strlen(t->doc.reference),
                        &in.reference) == 0)
        in.have_reference = 1;
    warnings = code ? lint(b, t, code) : 0;
    in.lint_warnings = warnings > 0 ? warnings : 0;
    in.difficulty = t->doc.difficulty;
    if (score_compute(&in, &b->pool->cfg.weights, &s) < 0)
        return NULL;
    *total = s.total;
    cJSON *j = score_to_json(&s, 1);
    cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "details");
    if (d)
        cJSON_AddNumberToObject(d, "lint_warnings", warnings);
    return builder_print_free(j);
}
