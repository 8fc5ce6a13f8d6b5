/* bt_import_humaneval.c -- bt import --format humaneval: one HumanEval
 * problem (prompt, test, entry_point) as a task whose goal is the prompt,
 * whose hidden tests are the benchmark's check(), and whose visible tests
 * are the docstring's examples turned into asserts.
 */
#include "bt_import_conv.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "task/task.h"
#include "task/task_text.h"
#include "tagger.h"

/* ---- HumanEval ------------------------------------------------------------- */

static const char HE_NEEDS[] = "a HumanEval line needs prompt, test and "
                               "entry_point";

static bool is_identifier(const char *s)
{
    if (!(isalpha((unsigned char)*s) || *s == '_'))
        return false;
    for (s++; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return false;
    return true;
}

/* The line s[0..n) without the spaces and tabs around it. */
static void strip(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' ||
                  (*s)[*n - 1] == '\r'))
        (*n)--;
}

/* Whether s[0..n) calls 'entry': the name, not part of a longer one or an
 * attribute, then '('. */
static bool calls(const char *s, size_t n, const char *entry)
{
    size_t e = strlen(entry);

    for (size_t i = 0; i + e < n; i++) {
        if (memcmp(s + i, entry, e) != 0 ||
            (i && (isalnum((unsigned char)s[i - 1]) || s[i - 1] == '_' ||
                   s[i - 1] == '.')))
            continue;
        size_t k = i + e;
        while (k < n && s[k] == ' ')
            k++;
        if (k < n && s[k] == '(')
            return true;
    }
    return false;
}

/* Whether the expression s[0..n) is exactly one call: NAME(...) with its
 * ')' last, so that it needs no parentheses left of "==". */
static bool one_call(const char *s, size_t n)
{
    size_t i = 0;

    while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '_'))
        i++;
    return i > 0 && i < n && s[i] == '(' && bt_imp_call_end(s, i, n) == n;
}

/* Whether s[0..n) holds a '#' outside string literals: "f(1)  # note"
 * would turn "assert f(1) == 2" into "assert f(1)". */
static bool has_comment(const char *s, size_t n)
{
    for (size_t i = 0; i < n; ) {
        if (s[i] == '\'' || s[i] == '"') {
            i = bt_imp_skip_string(s, i, n);
            continue;
        }
        if (s[i] == '#')
            return true;
        i++;
    }
    return false;
}

/* Whether a doctest's expected output reads as a Python literal: a quote,
 * bracket, number, True, False or None. Printed text, tracebacks and
 * ellipses are not something an assert can compare with. */
static bool literal_like(const char *s, size_t n)
{
    static const char *const words[] = { "True", "False", "None" };

    if (n == 0 || memmem(s, n, "...", 3))
        return false;
    if (strchr("'\"[({-+0123456789.", s[0]))
        return true;
    for (size_t i = 0; i < 3; i++)
        if (n == strlen(words[i]) && memcmp(s, words[i], n) == 0)
            return true;
    return false;
}

/* Whether s[0..n) is a float literal: the only outputs compared with a
 * tolerance, since a docstring shows a float rounded. */
static bool float_literal(const char *s, size_t n)
{
    bool dot = false, digit = false;
    size_t i = s[0] == '-' || s[0] == '+';

    for (; i < n; i++) {
        if (isdigit((unsigned char)s[i]))
            digit = true;
        else if (s[i] == '.' || s[i] == 'e' || s[i] == 'E' ||
                 ((s[i] == '-' || s[i] == '+') &&
                  (s[i - 1] == 'e' || s[i - 1] == 'E')))
            dot = true;
        else
            return false;
    }
    return dot && digit;
}

/* The docstring's doctest examples of a HumanEval prompt as visible tests,
 * one assert a line: ">>> f(x)" then "y" becomes "assert f(x) == y". Only
 * an example that calls the entry point on one line and whose expected
 * output is one literal is taken; the others (set-up statements, printed
 * text, "..." continuations) are left out, never guessed at. */
static void he_examples(const char *prompt, const char *entry,
                        struct buf *out)
{
    const char *p = prompt;

    while (*p) {
        const char *nl = strchr(p, '\n'), *l = p;
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        p = nl ? nl + 1 : p + n;
        strip(&l, &n);
        if (n < 5 || memcmp(l, ">>> ", 4) != 0)
            continue;
        const char *expr = l + 4;
        size_t en = n - 4;
        strip(&expr, &en);
        /* The expected output: the lines up to a blank one, the next
         * example or the end of the docstring. */
        struct buf want = { 0 };
        bool cont = false;
        while (*p) {
            const char *nl2 = strchr(p, '\n'), *w = p;
            size_t wn = nl2 ? (size_t)(nl2 - p) : strlen(p);
            strip(&w, &wn);
            if (wn >= 3 && memcmp(w, "...", 3) == 0 && want.len == 0)
                cont = true;
            if (wn == 0 || memcmp(w, ">>>", wn < 3 ? wn : 3) == 0)
                break;
            const char *q = memmem(w, wn, "\"\"\"", 3);
            if (!q)
                q = memmem(w, wn, "\'\'\'", 3);
            size_t take = q ? (size_t)(q - w) : wn;
            while (take && (w[take - 1] == ' ' || w[take - 1] == '\t'))
                take--;
            if (take) {
                if (want.len)
                    buf_add(&want, " ", 1);
                buf_add(&want, w, take);
            }
            p = nl2 ? nl2 + 1 : p + strlen(p);
            if (q)
                break;
        }
        if (!cont && !want.failed && calls(expr, en, entry) &&
            !has_comment(expr, en) &&
            literal_like(want.p ? want.p : "", want.len)) {
            bool paren = !one_call(expr, en);
            buf_adds(out, float_literal(want.p, want.len) ? "assert abs(" :
                     "assert ");
            buf_adds(out, paren ? "(" : "");
            buf_add(out, expr, en);
            buf_adds(out, paren ? ")" : "");
            if (float_literal(want.p, want.len)) {
                buf_adds(out, " - ");
                buf_add(out, want.p, want.len);
                buf_adds(out, ") < 1e-6\n");
            } else {
                buf_adds(out, " == ");
                buf_add(out, want.p, want.len);
                buf_adds(out, "\n");
            }
        }
        if (want.failed)
            out->failed = true;
        free(want.p);
    }
}

int bt_imp_humaneval(const cJSON *o, const char *sid,
                     const struct bt_import_opts *opts, char **task,
                     char **reason)
{
    const char *prompt, *test, *entry;
    struct buf goal = { 0 }, hidden = { 0 }, tests = { 0 };
    int rc;

    if ((rc = bt_imp_get_string(o, "prompt", true, HE_NEEDS, &prompt,
                                reason)) ||
        (rc = bt_imp_get_string(o, "test", true, HE_NEEDS, &test, reason)) ||
        (rc = bt_imp_get_string(o, "entry_point", true, HE_NEEDS, &entry,
                                reason)))
        return rc;
    if (!is_identifier(entry))
        return bt_imp_refuse(reason,
                             "field 'entry_point' must be a Python name, "
                             "got \"%.40s\"", entry);
    if (!bt_imp_code_defines(test, "check", 5))
        return bt_imp_refuse(reason, "field 'test' defines no check() "
                             "function, which HumanEval's tests call with the "
                             "entry point");
    /* A prompt holding ``` would end our fence early; ~~~ fences too. */
    const char *fence = strstr(prompt, "```") ? "~~~" : "```";

    buf_adds(&goal, "Complete the Python function `");
    buf_adds(&goal, entry);
    buf_adds(&goal, "` below so that it does what its docstring says. "
             "Return the whole function with its body filled in, together "
             "with everything else shown (imports and helper functions), in "
             "one code block.\n\n");
    buf_adds(&goal, fence);
    buf_adds(&goal, "python\n");
    bt_imp_add_text(&goal, prompt);
    bt_imp_end_line(&goal);
    buf_adds(&goal, fence);

    /* check() holds every assert inside a function, which our protocol
     * does not count; test_check() is the one top-level test that runs it. */
    bt_imp_add_text(&hidden, test);
    bt_imp_end_line(&hidden);
    buf_adds(&hidden, "\n\ndef test_check():\n    check(");
    buf_adds(&hidden, entry);
    buf_adds(&hidden, ")\n");

    he_examples(prompt, entry, &tests);
    buf_adds(&tests, "");    /* "" rather than NULL when there is none */

    if (goal.failed || hidden.failed || tests.failed)
        rc = -ENOMEM;
    else if (!(rc = bt_imp_check_text(goal.p, tests.p, hidden.p, reason)))
        rc = bt_imp_task_json(goal.p, tests.p, hidden.p, prompt,
                              BT_IMPORT_HUMANEVAL, sid, opts, task, reason);
    free(goal.p);
    free(hidden.p);
    free(tests.p);
    return rc;
}

