/* admission.c -- the gate a Trainer-proposed task must pass (admission.h).
 *
 * Python is judged from its syntax tree, built by a checker that runs in the
 * sandbox (parsing untrusted text belongs there too, and Python's own parser
 * is the only one that agrees with Python). C and sh are scanned as text
 * (admission_c.c, admission_sh.c), with comments and string literals
 * blanked first, and compiled or `bash -n`-checked in the sandbox. This
 * file holds the rules and their order. Every judgement that needs the code to
 * run (reference, stubs, empty solution) goes through exec_run with the
 * task's own test protocol, so the gate sees what the Builder's judge will.
 * The languages are task/task_lang.h's; how the gate judges each is RULES.
 */
#include "admission.h"

#include "admission_scan.h"
#include "clock.h"
#include "exec.h"
#include "exec_harness.h"
#include "task_lang.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Excerpts of compiler messages and test failures quoted in a verdict are
 * cut here (with "...") so a message stays one readable line. */
#define EXCERPT_MAX 600

/* The checker run is ours, not the task's: its own generous limits. */
#define CHECK_TIMEOUT_MS 30000
#define CHECK_MEMORY_MB  1024
#define CHECK_OUTPUT_KB  1024

static const char *const reason_names[ADMISSION_REASON__COUNT] = {
    [ADMISSION_ACCEPTED] = "accepted",
    [ADMISSION_MISSING_FIELD] = "missing_field",
    [ADMISSION_TOO_LARGE] = "too_large",
    [ADMISSION_BAD_LANGUAGE] = "bad_language",
    [ADMISSION_BAD_TIMEOUT] = "bad_timeout",
    [ADMISSION_SYNTAX_ERROR] = "syntax_error",
    [ADMISSION_NO_TESTS] = "no_tests",
    [ADMISSION_BANNED] = "banned",
    [ADMISSION_REFERENCE_FAILS] = "reference_fails",
    [ADMISSION_FLAKY] = "flaky",
    [ADMISSION_STUB_PASSES] = "stub_passes",
    [ADMISSION_STUB_UNBUILDABLE] = "stub_unbuildable",
    [ADMISSION_EMPTY_PASSES] = "empty_passes",
    [ADMISSION_TOO_SLOW] = "too_slow",
};

const char *admission_reason_name(enum admission_reason r)
{
    if ((unsigned)r >= ADMISSION_REASON__COUNT)
        return "unknown";
    return reason_names[r];
}

/* The Python checker (admission_checker.py, compiled in by
 * scripts/embed.py; run as main.py with the sources under in/): parses
 * the reference and the tests without running them, counts tests as the
 * harness does, walks the trees for banned modules and calls, and builds
 * the stub. Prints one JSON object:
 *   {"reference": {"error": null|"...", "tests": N, "banned": null|"..."},
 *    "tests": {...}, "hidden_tests": {...}, "stub": "..."|null}
 * Its output can be trusted: nothing of the proposal is executed. */
extern const char admission_python_checker[];

/* ---- small text helpers ------------------------------------------------ */

static int is_blank(const char *s)
{
    if (!s)
        return 1;
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return 0;
    return 1;
}

/* One line of at most EXCERPT_MAX bytes from s: white space runs become
 * one space, the rest is cut with "...". malloc'd; "" for NULL; NULL when
 * out of memory. */
static char *excerpt(const char *s)
{
    struct buf b = {0};
    int space = 0;
    if (s) {
        while (isspace((unsigned char)*s))
            s++;
        for (; *s; s++) {
            if (isspace((unsigned char)*s)) {
                space = 1;
                continue;
            }
            if (space)
                buf_add(&b, " ", 1);
            space = 0;
            /* cut at a character, not inside one: messages go into JSON */
            if (b.len >= EXCERPT_MAX && ((unsigned char)*s & 0xC0) != 0x80) {
                buf_adds(&b, "...");
                break;
            }
            buf_add(&b, s, 1);
        }
    }
    return buf_take(&b);
}

/* The first line of compiler output that reports an error, else its first
 * line: what a task writer needs to fix. malloc'd excerpt or NULL (OOM). */
static char *first_error_line(const char *err)
{
    const char *line = err ? err : "", *pick = NULL;
    for (const char *p = line; p && *p; ) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (!pick && n > 0)
            pick = p;
        const char *e = memmem(p, n, "error", 5);
        if (e) {
            pick = p;
            break;
        }
        p = nl ? nl + 1 : NULL;
    }
    if (!pick)
        return excerpt("");
    const char *nl = strchr(pick, '\n');
    size_t n = nl ? (size_t)(nl - pick) : strlen(pick);
    char *one = strndup(pick, n);
    if (!one)
        return NULL;
    char *x = excerpt(one);
    free(one);
    return x;
}

/* How the gate judges each task language. Python is judged by the
 * sandboxed checker from its syntax tree (python_static); the others are
 * checked by admission_syntax.sh and scanned as text (script_static, with
 * the scanners of admission_scan.h). A language added to task_lang.c needs
 * its row here, and its branch in admission_syntax.sh, to be admissible. */
static const struct lang_rules {
    bool checker;               /* rules 2, 3 and the stub by the checker  */
    bool compiled;              /* tests compile with the reference, and a
                                   stub can fail to build (C)              */
    const char *check_tool;     /* the syntax check, for messages           */
    const char *check_verb;     /* what a source failed to do               */
    const char *test_form;      /* what a test looks like (no_tests)        */
    int (*count_tests)(const char *src);        /* scanners: not checker */
    int (*banned)(const char *src, char **what);
    char *(*stub)(const char *src);
    const char *stub_what;      /* the stub and the empty solution, as a    */
    const char *empty_what;     /*   stub_passes or empty_passes names them */
    const char *empty_code;     /* the empty solution                       */
} RULES[TASK_LANG_COUNT] = {
    [TASK_LANG_PYTHON] = {
        .checker = true,
        .test_form = "top-level asserts or `def test_name():` functions",
        .stub_what = "a stub that raises NotImplementedError",
        .empty_what = "the empty solution (`pass`)",
        .empty_code = "pass\n",
    },
    [TASK_LANG_C] = {
        .compiled = true,
        .check_tool = "compiler",
        .check_verb = "compile",
        .test_form = "`void test_name(void) { ... }` functions",
        .count_tests = admission_c_count_tests,
        .banned = admission_c_banned,
        .stub = admission_c_stub,
        .stub_what = "a stub whose functions return 0",
        .empty_what = "the empty solution (an empty file)",
        .empty_code = "",
    },
    [TASK_LANG_SH] = {
        .check_tool = "bash -n",
        .check_verb = "parse",
        .test_form = "`test_name() { ... }` functions",
        .count_tests = admission_sh_count_tests,
        .banned = admission_sh_banned,
        .stub = admission_sh_stub,
        .stub_what = "a stub whose functions return 1",
        .empty_what = "the empty solution (an empty file)",
        .empty_code = "",
    },
};

/* ---- verdicts ---------------------------------------------------------- */

static void verdict_init(struct admission_verdict *v)
{
    memset(v, 0, sizeof *v);
    v->reason = ADMISSION_ACCEPTED;
    v->stub_visible_passed = v->stub_hidden_passed = -1;
    v->empty_visible_passed = v->empty_hidden_passed = -1;
}

void admission_verdict_free(struct admission_verdict *v)
{
    if (!v)
        return;
    free(v->message);
    memset(v, 0, sizeof *v);
}

/* Replaces the message by "PREFIX: text" on one line. 0 or -ENOMEM. */
static int __attribute__((format(printf, 3, 0)))
vset_message(struct admission_verdict *v, const char *prefix, const char *fmt,
             va_list ap)
{
    char *text = NULL, *msg = NULL;
    if (vasprintf(&text, fmt, ap) < 0)
        return -ENOMEM;
    int n = asprintf(&msg, "%s: %s", prefix, text);
    free(text);
    if (n < 0)
        return -ENOMEM;
    for (char *c = msg; *c; c++)
        if (*c == '\n' || *c == '\r' || *c == '\t')
            *c = ' ';
    free(v->message);
    v->message = msg;
    return 0;
}

/* Records the first broken rule. Returns 1 (rejected) or -ENOMEM. */
static int __attribute__((format(printf, 4, 5)))
reject(struct admission_verdict *v, enum admission_reason r, int rule,
       const char *fmt, ...)
{
    v->accepted = 0;
    v->reason = r;
    v->rule = rule;
    va_list ap;
    va_start(ap, fmt);
    int rc = vset_message(v, admission_reason_name(r), fmt, ap);
    va_end(ap);
    return rc < 0 ? rc : 1;
}

/* Records why the check itself failed and returns err (negative). */
static int __attribute__((format(printf, 3, 4)))
internal(struct admission_verdict *v, int err, const char *fmt, ...)
{
    v->accepted = 0;
    va_list ap;
    va_start(ap, fmt);
    int rc = vset_message(v, "internal", fmt, ap);
    va_end(ap);
    return rc < 0 ? rc : err;
}

/* ---- rule 1: fields ---------------------------------------------------- */

/* 0 when the field holds, 1 when rejected, -ENOMEM. */
static int check_text(struct admission_verdict *v, const char *name,
                      const char *s, size_t max)
{
    if (is_blank(s))
        return reject(v, ADMISSION_MISSING_FIELD, 1, "%s is missing or empty", name);
    size_t n = strlen(s);
    if (n > max)
        return reject(v, ADMISSION_TOO_LARGE, 1, "%s is %zu bytes; the limit is %zu",
                      name, n, max);
    return 0;
}

static int check_fields(const struct admission_proposal *p,
                        struct admission_verdict *v)
{
    int rc;
    if (is_blank(p->language))
        return reject(v, ADMISSION_MISSING_FIELD, 1, "language is missing");
    enum task_lang l;
    /* a language with no row here has no rules to be judged by */
    if (task_lang_from_name(p->language, &l) < 0 ||
        (!RULES[l].checker && !RULES[l].count_tests)) {
        char *x = excerpt(p->language);
        if (!x)
            return -ENOMEM;
        rc = reject(v, ADMISSION_BAD_LANGUAGE, 1,
                    "language \"%s\" is not one of %s", x, task_lang_list(false));
        free(x);
        return rc;
    }
    if ((rc = check_text(v, "goal", p->goal, ADMISSION_MAX_GOAL)) ||
        (rc = check_text(v, "tests", p->tests, ADMISSION_MAX_SOURCE)) ||
        (rc = check_text(v, "hidden_tests", p->hidden_tests, ADMISSION_MAX_SOURCE)) ||
        (rc = check_text(v, "reference", p->reference, ADMISSION_MAX_SOURCE)))
        return rc;
    if (p->timeout_ms < 1 || p->timeout_ms > ADMISSION_MAX_TIMEOUT_MS)
        return reject(v, ADMISSION_BAD_TIMEOUT, 1,
                      "timeout_ms %ld is outside 1..%ld", p->timeout_ms,
                      ADMISSION_MAX_TIMEOUT_MS);
    return 0;
}

int admission_check_fields(const struct admission_proposal *p,
                           struct admission_verdict *v)
{
    if (!v)
        return -EINVAL;
    verdict_init(v);
    if (!p)
        return -EINVAL;
    int rc = check_fields(p, v);
    if (rc)
        return rc < 0 ? rc : 0;
    v->accepted = 1;
    if (!(v->message = strdup("accepted: the fields are present and within their limits")))
        return -ENOMEM;
    return 0;
}

/* ---- C and sh: the scanners' entry points ----------------------------- */

int admission_stub_source(const char *language, const char *reference,
                          char **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!reference)
        return -EINVAL;
    enum task_lang l;
    if (task_lang_from_name(language, &l) < 0 || !RULES[l].stub)
        return -EINVAL;
    *out = RULES[l].stub(reference);
    return *out ? 0 : -ENOMEM;
}

int admission_find_banned(const char *language, const char *source,
                          char **what)
{
    char *dummy = NULL, **w = what ? what : &dummy;
    *w = NULL;
    if (!source)
        return -EINVAL;
    enum task_lang l;
    if (task_lang_from_name(language, &l) < 0 || !RULES[l].banned)
        return -EINVAL;
    int rc = RULES[l].banned(source, w);
    free(dummy);
    return rc;
}

/* ---- sandbox runs ------------------------------------------------------- */

static const char *const suite_field[2] = {"tests", "hidden_tests"};
static const char *const suite_label[2] = {"visible", "hidden"};

/* One exec_run. 0 when the code ran (whatever it did); a negative errno,
 * with the verdict's message saying why, when the sandbox did not work.
 * *r is the caller's to free either way. */
static int run(struct exec *ex, struct admission_verdict *v, const char *lang,
               const char *code, const struct exec_file *files, size_t nfiles,
               const char *tests, const struct exec_limits *lim,
               struct exec_result *r)
{
    struct exec_request req = {.lang = lang, .code = code, .files = files,
                               .nfiles = nfiles, .tests = tests, .limits = lim};
    int rc = exec_run(ex, &req, r);
    v->runs++;
    if (rc < 0)
        return internal(v, rc == -ENOMEM ? -ENOMEM : -EIO,
                        "the sandbox could not run the %s code: %s", lang,
                        strerror(-rc));
    if (r->outcome == EXEC_SANDBOX_ERROR) {
        char *x = excerpt(r->err);
        rc = internal(v, -EIO, "sandbox_error: %s", x ? x : "");
        free(x);
        return rc;
    }
    return 0;
}

static void check_limits(struct exec_limits *lim)
{
    memset(lim, 0, sizeof *lim);
    lim->timeout_ms = CHECK_TIMEOUT_MS;
    lim->cpu_s = CHECK_TIMEOUT_MS / 1000;
    lim->memory_mb = CHECK_MEMORY_MB;
    lim->output_kb = CHECK_OUTPUT_KB;
}

/* Rules 2 and 3 for Python through the sandboxed checker; *stub gets the
 * stub source. 0 holds, 1 rejected, negative errno. */
static int python_static(struct exec *ex, const struct admission_proposal *p,
                         struct admission_verdict *v, char **stub)
{
    struct exec_file files[4] = {
        {"in/reference.py", p->reference, strlen(p->reference)},
        {"in/tests.py", p->tests, strlen(p->tests)},
        {"in/hidden_tests.py", p->hidden_tests, strlen(p->hidden_tests)},
        /* the checker counts tests by the harness's own definition */
        {"_bt_harness.py", exec_harness_python, strlen(exec_harness_python)},
    };
    struct exec_limits lim;
    check_limits(&lim);
    struct exec_result r;
    cJSON *root = NULL;
    int rc = run(ex, v, task_lang_name(TASK_LANG_PYTHON),
                 admission_python_checker, files, 4, NULL, &lim, &r);
    if (rc < 0)
        goto out;
    if (r.outcome != EXEC_OK || r.out_truncated) {
        char *x = first_error_line(r.err);
        rc = internal(v, r.outcome != EXEC_OK ? -EIO : -EPROTO,
                      "the Python checker ended %s%s: %s",
                      exec_outcome_name(r.outcome),
                      r.out_truncated ? " with its output cut" : "", x ? x : "");
        free(x);
        goto out;
    }
    root = cJSON_Parse(r.out);
    const char *names[3] = {"reference", "tests", "hidden_tests"};
    cJSON *item[3];
    for (int i = 0; i < 3; i++) {
        item[i] = cJSON_GetObjectItemCaseSensitive(root, names[i]);
        if (!cJSON_IsObject(item[i]) ||
            !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(item[i], "tests"))) {
            rc = internal(v, -EPROTO, "the Python checker's answer is unreadable");
            goto out;
        }
    }
    rc = 0;
    for (int i = 0; i < 3 && !rc; i++) {
        const char *e = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item[i], "error"));
        if (e) {
            char *x = excerpt(e);
            rc = x ? reject(v, ADMISSION_SYNTAX_ERROR, 2, "%s does not compile: %s",
                            names[i], x) : -ENOMEM;
            free(x);
        }
    }
    if (rc)
        goto out;
    v->visible_tests = (int)cJSON_GetObjectItemCaseSensitive(item[1], "tests")->valuedouble;
    v->hidden_tests = (int)cJSON_GetObjectItemCaseSensitive(item[2], "tests")->valuedouble;
    for (int i = 0; i < 2 && !rc; i++)
        if ((i == 0 ? v->visible_tests : v->hidden_tests) < 1)
            rc = reject(v, ADMISSION_NO_TESTS, 2, "%s holds no test: write %s",
                        suite_field[i], RULES[TASK_LANG_PYTHON].test_form);
    for (int i = 0; i < 3 && !rc; i++) {
        const char *b = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item[i], "banned"));
        if (b) {
            char *x = excerpt(b);
            rc = x ? reject(v, ADMISSION_BANNED, 3, "%s %s", names[i], x) : -ENOMEM;
            free(x);
        }
    }
    if (rc)
        goto out;
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "stub"));
    if (!s) {
        const char *why = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "stub_error"));
        rc = internal(v, -EPROTO, "the Python checker built no stub: %s", why ? why : "?");
        goto out;
    }
    if (!(*stub = strdup(s)))
        rc = -ENOMEM;
out:
    cJSON_Delete(root);
    exec_result_free(&r);
    return rc;
}

/* The syntax check of C and sh sources (admission_syntax.sh, compiled in by
 * scripts/embed.py): one line per source, "NAME ok" or "NAME fail
 * MESSAGE" (the compiler's first error line). */
extern const char admission_syntax_check[];

/* Rules 2 and 3 for C and sh: gcc -fsyntax-only or bash -n in the
 * sandbox, then counting and scanning here. 0, 1 rejected, or negative. */
static int script_static(struct exec *ex, const struct admission_proposal *p,
                         struct admission_verdict *v, enum task_lang lang)
{
    const struct lang_rules *lr = &RULES[lang];
    const char *srcs[3] = {p->reference, p->tests, p->hidden_tests};
    const char *names[3] = {"reference", "tests", "hidden_tests"};
    struct exec_result r;
    memset(&r, 0, sizeof r);
    int rc;
    struct exec_file files[3];
    char fn[3][32];
    for (int i = 0; i < 3; i++) {
        snprintf(fn[i], sizeof fn[i], "%s.%s", names[i], task_lang_ext(lang));
        files[i] = (struct exec_file){fn[i], srcs[i], strlen(srcs[i])};
    }
    struct exec_limits lim;
    check_limits(&lim);
    lim.procs = 32;
    if ((rc = run(ex, v, task_lang_name(TASK_LANG_SH), admission_syntax_check,
                  files, 3, NULL, &lim, &r)) < 0)
        goto out;
    if (r.outcome != EXEC_OK) {
        char *x = excerpt(r.err);
        rc = internal(v, -EIO, "the %s check ended %s: %s", lr->check_tool,
                      exec_outcome_name(r.outcome), x ? x : "");
        free(x);
        goto out;
    }
    rc = 0;
    for (int i = 0; i < 3 && !rc; i++) {
        const char *line = NULL;
        size_t nl = strlen(names[i]);
        for (const char *q = r.out; q && *q; ) {
            if (strncmp(q, names[i], nl) == 0 && q[nl] == ' ') {
                line = q + nl + 1;
                break;
            }
            q = strchr(q, '\n');
            if (q)
                q++;
        }
        if (!line) {
            rc = internal(v, -EPROTO, "the %s check printed no verdict for %s",
                          lr->check_tool, names[i]);
        } else if (strncmp(line, "fail", 4) == 0) {
            const char *e = strchr(line, '\n');
            char *one = strndup(line + 4, e ? (size_t)(e - line - 4) : strlen(line + 4));
            char *x = one ? excerpt(one) : NULL;
            if (!x)
                rc = -ENOMEM;
            else if (lr->compiled && i > 0)
                rc = reject(v, ADMISSION_SYNTAX_ERROR, 2,
                            "%s do not compile with the reference: %s", names[i], x);
            else
                rc = reject(v, ADMISSION_SYNTAX_ERROR, 2, "%s does not %s: %s",
                            names[i], lr->check_verb, x);
            free(one);
            free(x);
        }
    }
    if (rc)
        goto out;
    for (int i = 0; i < 2 && !rc; i++) {
        int n = lr->count_tests(srcs[i + 1]);
        if (n < 0) {
            rc = n;
            break;
        }
        *(i == 0 ? &v->visible_tests : &v->hidden_tests) = n;
        if (n == 0)
            rc = reject(v, ADMISSION_NO_TESTS, 2, "%s holds no test: write %s",
                        suite_field[i], lr->test_form);
    }
    for (int i = 0; i < 3 && !rc; i++) {
        char *what = NULL;
        int b = admission_find_banned(p->language, srcs[i], &what);
        if (b < 0)
            rc = b;
        else if (b > 0)
            rc = reject(v, ADMISSION_BANNED, 3, "%s %s", names[i], what);
        free(what);
    }
out:
    exec_result_free(&r);
    return rc;
}

/* What went wrong in a test run, for a message: the first failure, or the
 * compiler's first error. malloc'd excerpt or NULL (OOM). */
static char *failure_text(const struct exec_result *r)
{
    if (r->outcome == EXEC_COMPILE_ERROR) {
        char *e = first_error_line(r->err), *t = NULL;
        if (e && asprintf(&t, "compile error: %s", e) < 0)
            t = NULL;
        free(e);
        return t;
    }
    if (r->first_failure)
        return excerpt(r->first_failure);
    return excerpt(exec_outcome_name(r->outcome));
}

/* Rule 4 (and the timeout half of 6) for one suite: two runs of the
 * reference. 0 holds, 1 rejected, negative errno. */
static int reference_suite(struct exec *ex, const struct admission_proposal *p,
                           struct admission_verdict *v,
                           const struct exec_limits *lim, int suite)
{
    const char *tests = suite == 0 ? p->tests : p->hidden_tests;
    struct exec_result r[2];
    memset(r, 0, sizeof r);
    char *f0 = NULL, *f1 = NULL;
    int rc = 0;
    for (int k = 0; k < 2 && !rc; k++) {
        if ((rc = run(ex, v, p->language, p->reference, NULL, 0, tests, lim, &r[k])) < 0)
            goto out;
        if (r[k].wall_ms > v->ref_wall_ms)
            v->ref_wall_ms = r[k].wall_ms;
        if (r[k].outcome == EXEC_TIMEOUT)
            rc = reject(v, ADMISSION_TOO_SLOW, 6,
                        "the reference hit the %ld ms timeout on the %s tests "
                        "(%d of %d passed before)", lim->timeout_ms,
                        suite_label[suite], r[k].tests_passed, r[k].tests_total);
    }
    if (rc)
        goto out;
    *(suite == 0 ? &v->ref_visible_passed : &v->ref_hidden_passed) = r[0].tests_passed;
    if (!(f0 = failure_text(&r[0])) || !(f1 = failure_text(&r[1]))) {
        rc = -ENOMEM;
        goto out;
    }
    if (r[0].outcome != r[1].outcome || r[0].tests_passed != r[1].tests_passed ||
        r[0].tests_total != r[1].tests_total)
        rc = reject(v, ADMISSION_FLAKY, 4,
                    "two runs of the reference on the %s tests disagree: "
                    "%d of %d passed (%s), then %d of %d (%s)", suite_label[suite],
                    r[0].tests_passed, r[0].tests_total,
                    r[0].outcome == EXEC_OK ? "ok" : f0,
                    r[1].tests_passed, r[1].tests_total,
                    r[1].outcome == EXEC_OK ? "ok" : f1);
    else if (r[0].outcome != EXEC_OK)
        rc = reject(v, ADMISSION_REFERENCE_FAILS, 4,
                    "the reference passes %d of %d %s tests; first failure: %s",
                    r[0].tests_passed, r[0].tests_total, suite_label[suite], f0);
out:
    free(f0);
    free(f1);
    exec_result_free(&r[0]);
    exec_result_free(&r[1]);
    return rc;
}

/* Rule 5 for one solution (the stub, or the empty one) on both suites:
 * it must fail a test of each. 0 holds, 1 rejected, negative errno. */
static int must_fail(struct exec *ex, const struct admission_proposal *p,
                     struct admission_verdict *v, const struct exec_limits *lim,
                     const struct lang_rules *lr, const char *code, int empty)
{
    const char *who = empty ? lr->empty_what : lr->stub_what;
    for (int suite = 0; suite < 2; suite++) {
        struct exec_result r;
        int rc = run(ex, v, p->language, code, NULL, 0,
                     suite == 0 ? p->tests : p->hidden_tests, lim, &r);
        if (rc < 0) {
            exec_result_free(&r);
            return rc;
        }
        int *slot = empty ? (suite == 0 ? &v->empty_visible_passed : &v->empty_hidden_passed)
                          : (suite == 0 ? &v->stub_visible_passed : &v->stub_hidden_passed);
        *slot = r.tests_passed;
        if (!empty && lr->compiled && r.outcome == EXEC_COMPILE_ERROR) {
            char *x = first_error_line(r.err);
            rc = x ? reject(v, ADMISSION_STUB_UNBUILDABLE, 5,
                            "the stub built from the reference (every function "
                            "returning 0) does not compile with the %s tests: %s; "
                            "write plain function definitions",
                            suite_label[suite], x) : -ENOMEM;
            free(x);
        } else if (r.tests_total > 0 && r.tests_passed == r.tests_total) {
            rc = reject(v, empty ? ADMISSION_EMPTY_PASSES : ADMISSION_STUB_PASSES, 5,
                        "%s passes all %d %s tests: they do not check the "
                        "solution's results", who, r.tests_total, suite_label[suite]);
        }
        exec_result_free(&r);
        if (rc)
            return rc;
    }
    return 0;
}

int admission_check(struct exec *ex, const struct admission_proposal *p,
                    struct admission_verdict *v)
{
    if (!v)
        return -EINVAL;
    verdict_init(v);
    if (!ex || !p)
        return -EINVAL;
    double t0 = clock_mono_ms();
    char *stub = NULL;
    int rc = check_fields(p, v);
    if (rc)
        goto out;

    enum task_lang l = TASK_LANG_PYTHON;
    (void)task_lang_from_name(p->language, &l);     /* rule 1 held */
    const struct lang_rules *lr = &RULES[l];
    struct exec_limits lim;
    memset(&lim, 0, sizeof lim);
    long max = exec_config(ex)->max.timeout_ms;
    lim.timeout_ms = p->timeout_ms < max ? p->timeout_ms : max;
    v->timeout_ms = lim.timeout_ms;

    /* rules 2 and 3 */
    if (lr->checker)
        rc = python_static(ex, p, v, &stub);
    else
        rc = script_static(ex, p, v, l);
    if (rc)
        goto out;

    /* rule 4 */
    for (int suite = 0; suite < 2 && !rc; suite++)
        rc = reference_suite(ex, p, v, &lim, suite);
    if (rc)
        goto out;

    /* rule 5 */
    if (!lr->checker && (rc = admission_stub_source(p->language, p->reference, &stub)) < 0)
        goto out;
    if ((rc = must_fail(ex, p, v, &lim, lr, stub, 0)) ||
        (rc = must_fail(ex, p, v, &lim, lr, lr->empty_code, 1)))
        goto out;

    /* rule 6 */
    if (v->ref_wall_ms * 2.0 >= (double)lim.timeout_ms) {
        rc = reject(v, ADMISSION_TOO_SLOW, 6,
                    "the reference's slowest run took %.0f ms of the %ld ms "
                    "timeout; it must stay under half (%ld ms)", v->ref_wall_ms,
                    lim.timeout_ms, lim.timeout_ms / 2);
        goto out;
    }

    v->accepted = 1;
    v->reason = ADMISSION_ACCEPTED;
    v->rule = 0;
    free(v->message);
    if (asprintf(&v->message, "accepted: %d visible and %d hidden tests; the "
                 "reference passes all, twice, slowest run %.0f ms of %ld ms; the "
                 "stub passes %d/%d visible and %d/%d hidden, the empty solution "
                 "%d/%d and %d/%d", v->visible_tests, v->hidden_tests,
                 v->ref_wall_ms, lim.timeout_ms,
                 v->stub_visible_passed, v->visible_tests,
                 v->stub_hidden_passed, v->hidden_tests,
                 v->empty_visible_passed, v->visible_tests,
                 v->empty_hidden_passed, v->hidden_tests) < 0) {
        v->message = NULL;
        rc = -ENOMEM;
    }
out:
    free(stub);
    v->total_ms = clock_mono_ms() - t0;
    return rc < 0 ? rc : 0;
}
