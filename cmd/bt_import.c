/* bt_import.c -- a benchmark's JSONL file turned into task lines for tasks/new.
 *
 * Every line we make goes through the task parser, the one btfs runs on
 * tasks/new (task/task.h), so that a file with a bad problem is refused
 * before any task is written; the benchmark lines themselves are checked
 * by the same text rules (task/task_text.h). The text we build is
 * normalised rather than refused where that is lossless:
 * CRLF and lone CR become LF (MBPP's set-up code is full of CRLF, and btfs
 * takes only TAB and LF inside strings).
 */
#include "bt_import.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "task/task.h"
#include "task/task_text.h"
#include "tagger.h"

/* ---- Small helpers ------------------------------------------------------- */

static const char *const FORMAT_NAMES[] = {
    [BT_IMPORT_TASKS] = "tasks",
    [BT_IMPORT_HUMANEVAL] = "humaneval",
    [BT_IMPORT_MBPP] = "mbpp",
};

int bt_import_format_parse(const char *name, enum bt_import_format *out)
{
    for (size_t i = 0; i < sizeof(FORMAT_NAMES) / sizeof(FORMAT_NAMES[0]);
         i++)
        if (strcmp(name, FORMAT_NAMES[i]) == 0) {
            *out = (enum bt_import_format)i;
            return 0;
        }
    return -EINVAL;
}

const char *bt_import_format_name(enum bt_import_format fmt)
{
    if ((size_t)fmt < sizeof(FORMAT_NAMES) / sizeof(FORMAT_NAMES[0]))
        return FORMAT_NAMES[fmt];
    return "?";
}

static const struct bt_import_opts NO_OPTS;

/* Whether any option asks to change a task line. */
static bool opts_given(const struct bt_import_opts *o)
{
    return o->set || o->train || o->max_attempts || o->no_memory;
}

static int refuse(char **reason, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Sets *reason and returns -EINVAL (or -ENOMEM if the message cannot be
 * made), so that callers can say "return refuse(...)". */
static int refuse(char **reason, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vasprintf(reason, fmt, ap);
    va_end(ap);
    if (n < 0) {
        *reason = NULL;
        return -ENOMEM;
    }
    /* A quoted value may hold a newline; the reason is one line
     * (found by tests/fuzz/fuzz_import). */
    for (char *c = *reason; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = ' ';
    return -EINVAL;
}

/* A growing string. 'failed' latches the first ENOMEM so that a run of
 * appends can be checked once at the end. */
struct sbuf {
    char *p;
    size_t len, cap;
    bool failed;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->cap - b->len < n + 1) {
        size_t ncap = b->cap ? b->cap : 256;
        while (ncap - b->len < n + 1) {
            if (ncap > SIZE_MAX / 2) {
                b->failed = true;
                return;
            }
            ncap *= 2;
        }
        char *np = realloc(b->p, ncap);
        if (!np) {
            b->failed = true;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_adds(struct sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

/* Appends s with CRLF and lone CR turned into LF. */
static void sb_add_text(struct sbuf *b, const char *s)
{
    for (const char *p = s; *p; ) {
        size_t run = strcspn(p, "\r");
        sb_add(b, p, run);
        p += run;
        if (*p == '\r') {
            sb_add(b, "\n", 1);
            p += p[1] == '\n' ? 2 : 1;
        }
    }
}

/* Ensures the text ends with exactly the newline it needs to be followed
 * by more code (nothing is added to an empty buffer). */
static void sb_end_line(struct sbuf *b)
{
    if (b->len && b->p[b->len - 1] != '\n')
        sb_add(b, "\n", 1);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

/* Length of s once spaces, tabs and newlines at both ends are gone, the
 * way btfs trims a goal. */
static size_t trimmed_len(const char *s)
{
    size_t b = 0, e = strlen(s);

    while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\n'))
        b++;
    while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' ||
                     s[e - 1] == '\n'))
        e--;
    return e - b;
}

/* Whether the raw JSON text holds the escape \u0000: cJSON would decode it
 * to a NUL and so silently cut the string there. */
static bool has_nul_escape(const char *s, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] != '\\')
            continue;
        if (s[i + 1] == 'u' && i + 5 < n && memcmp(s + i + 2, "0000", 4) == 0)
            return true;
        i++;    /* the escaped character, "\\" included */
    }
    return false;
}

static const char *type_name(const cJSON *v)
{
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v) ? "true" : "false";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsArray(v))
        return "an array";
    if (cJSON_IsObject(v))
        return "an object";
    return "an unknown value";
}

/* Parses the line as exactly one JSON object. */
static int parse_object(const char *line, size_t len, const char *what,
                        cJSON **out, char **reason)
{
    const char *end = NULL;
    cJSON *j;

    if (has_nul_escape(line, len))
        return refuse(reason, "the JSON holds \\u0000, which no task field "
                      "may hold");
    j = cJSON_ParseWithLengthOpts(line, len, &end, false);
    if (!j) {
        size_t at = end && end >= line && end <= line + len ?
                    (size_t)(end - line) : 0;
        return refuse(reason, "not valid JSON (at byte %zu)", at);
    }
    for (size_t i = (size_t)(end - line); i < len; i++)
        if (!is_space(line[i])) {
            cJSON_Delete(j);
            return refuse(reason, "text after the JSON object (at byte %zu)",
                          i);
        }
    if (!cJSON_IsObject(j)) {
        int rc = refuse(reason, "%s must be a JSON object, got %s", what,
                        type_name(j));
        cJSON_Delete(j);
        return rc;
    }
    *out = j;
    return 0;
}

/* The problem's task_id as text, control characters replaced; NULL if the
 * line has none (or memory ran out: the id is only for messages). */
static char *source_id_of(const cJSON *o)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "task_id");
    char *s = NULL;

    if (cJSON_IsString(v)) {
        s = strdup(v->valuestring);
        for (unsigned char *p = (unsigned char *)s; p && *p; p++)
            if (*p < 0x20 || *p == 0x7f)
                *p = '?';
    } else if (cJSON_IsNumber(v)) {
        if (asprintf(&s, "%.15g", v->valuedouble) < 0)
            s = NULL;
    }
    return s;
}

/* Looks up a string field. A missing field is refused if required
 * (*out = NULL otherwise); so is any type but a string. */
static int get_string(const cJSON *o, const char *name, bool required,
                      const char *needs, const char **out, char **reason)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    *out = NULL;
    if (!v) {
        if (required)
            return refuse(reason, "missing field '%s' (%s)", name, needs);
        return 0;
    }
    if (!cJSON_IsString(v))
        return refuse(reason, "field '%s' must be a string, got %s", name,
                      type_name(v));
    if (required && trimmed_len(v->valuestring) == 0)
        return refuse(reason, "field '%s' is empty", name);
    *out = v->valuestring;
    return 0;
}

/* Looks up an array of strings; missing is refused if required (*out =
 * NULL otherwise). */
static int get_string_array(const cJSON *o, const char *name, bool required,
                            const char *needs, const cJSON **out,
                            char **reason)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name), *e;
    int i = 0;

    *out = NULL;
    if (!v) {
        if (required)
            return refuse(reason, "missing field '%s' (%s)", name, needs);
        return 0;
    }
    if (!cJSON_IsArray(v))
        return refuse(reason, "field '%s' must be an array of strings, got "
                      "%s", name, type_name(v));
    cJSON_ArrayForEach(e, v) {
        if (!cJSON_IsString(e))
            return refuse(reason, "field '%s' item %d must be a string, got "
                          "%s", name, i, type_name(e));
        i++;
    }
    if (required && i == 0)
        return refuse(reason, "field '%s' is empty", name);
    *out = v;
    return 0;
}

/* Says which part of the text we built is too large for tasks/new, in
 * the converted problem's terms (the task parser, run on the line in
 * task_json, names only the task's fields). */
static int check_task_text(const char *goal, const char *tests,
                           const char *hidden, char **reason)
{
    size_t g = trimmed_len(goal), h = strlen(hidden), v = strlen(tests);

    if (g == 0)
        return refuse(reason, "the goal is empty");
    if (g > TASK_MAX_GOAL)
        return refuse(reason, "the goal would be %zu bytes, the limit is %d",
                      g, TASK_MAX_GOAL);
    if (h > TASK_MAX_TESTS)
        return refuse(reason, "the hidden tests would be %zu bytes, the "
                      "limit is %d", h, TASK_MAX_TESTS);
    if (v > TASK_MAX_TESTS)
        return refuse(reason, "the visible tests would be %zu bytes, the "
                      "limit is %d", v, TASK_MAX_TESTS);
    return 0;
}

/* The problem_id of a benchmark's problem: its task_id, trimmed; NULL
 * (and 0) when it has none. A task_id that is not a fit problem_id is
 * refused rather than dropped: it is what re-imports are matched by. */
static int problem_id_of(const char *sid, const char **out, char **reason)
{
    size_t n;

    *out = NULL;
    if (!sid)
        return 0;
    while (*sid == ' ' || *sid == '\t')
        sid++;
    n = strlen(sid);
    while (n && (sid[n - 1] == ' ' || sid[n - 1] == '\t'))
        n--;
    if (n == 0)
        return 0;
    if (n > TASK_MAX_PROBLEM_ID)
        return refuse(reason, "field 'task_id' is %zu bytes, a problem id "
                      "may be at most %d", n, TASK_MAX_PROBLEM_ID);
    *out = sid;
    return 0;
}

/* Sets the fields the import options ask for on a task object: set,
 * held_out (removed with --train), max_attempts, memory. Returns 0 or
 * -ENOMEM. */
static int apply_opts(cJSON *t, const struct bt_import_opts *o,
                      const char *set, bool held_out)
{
    if (set) {
        cJSON *v = cJSON_CreateString(set);
        if (!v)
            return -ENOMEM;
        /* btfs stores set names in lower case; so do we, to match them. */
        for (char *p = v->valuestring; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        cJSON_DeleteItemFromObjectCaseSensitive(t, "set");
        cJSON_AddItemToObject(t, "set", v);
    }
    if (o->train)
        cJSON_DeleteItemFromObjectCaseSensitive(t, "held_out");
    else if (held_out) {
        cJSON_DeleteItemFromObjectCaseSensitive(t, "held_out");
        if (!cJSON_AddTrueToObject(t, "held_out"))
            return -ENOMEM;
    }
    if (o->max_attempts) {
        cJSON_DeleteItemFromObjectCaseSensitive(t, "max_attempts");
        if (!cJSON_AddNumberToObject(t, "max_attempts", o->max_attempts))
            return -ENOMEM;
    }
    if (o->no_memory) {
        cJSON_DeleteItemFromObjectCaseSensitive(t, "memory");
        if (!cJSON_AddFalseToObject(t, "memory"))
            return -ENOMEM;
    }
    return 0;
}

/* Prints the task line of a benchmark's problem: goal, skills (from
 * skill_text by the tagger), language, tests, hidden_tests, set (--set or
 * the format's name), problem_id, held_out (unless --train), max_attempts,
 * memory. Returns 0, -EINVAL (too long) or -ENOMEM. */
static int task_json(const char *goal, const char *tests, const char *hidden,
                     const char *skill_text, enum bt_import_format fmt,
                     const char *sid, const struct bt_import_opts *o,
                     char **task, char **reason)
{
    cJSON *t = cJSON_CreateObject(), *sk;
    const char *tags[TAGGER_MAX_SKILLS], *pid;
    size_t ntags = tagger_tag(skill_text, tags, TAGGER_MAX_SKILLS);
    char *s;
    int rc;

    if ((rc = problem_id_of(sid, &pid, reason))) {
        cJSON_Delete(t);
        return rc;
    }
    if (!t || !cJSON_AddStringToObject(t, "goal", goal) ||
        !(sk = cJSON_AddArrayToObject(t, "skills")))
        goto nomem;
    for (size_t i = 0; i < ntags; i++)
        cJSON_AddItemToArray(sk, cJSON_CreateString(tags[i]));
    if ((size_t)cJSON_GetArraySize(sk) != ntags ||
        !cJSON_AddStringToObject(t, "language", "python") ||
        !cJSON_AddStringToObject(t, "tests", tests) ||
        !cJSON_AddStringToObject(t, "hidden_tests", hidden) ||
        (pid && !cJSON_AddStringToObject(t, "problem_id", pid)) ||
        apply_opts(t, o, o->set ? o->set : bt_import_format_name(fmt), true))
        goto nomem;
    /* cJSON escapes every control character: the result is one line. */
    if (!(s = cJSON_PrintUnformatted(t)))
        goto nomem;
    cJSON_Delete(t);
    /* The file is judged before anything is written: the line must be one
     * btfs takes (the same parser), e.g. an id that is not UTF-8 is not. */
    {
        struct task_def def = { 0 };
        char err[300];
        rc = task_parse_line(s, strlen(s), &def, err, sizeof err);
        task_def_free(&def);
        if (rc == -EFBIG)
            rc = refuse(reason, "the task line would be %zu bytes, the limit "
                        "is %d", strlen(s), TASK_MAX_LINE);
        else if (rc == -EINVAL)
            rc = refuse(reason, "btfs would refuse the task: %s", err);
        if (rc < 0) {
            cJSON_free(s);
            return rc;
        }
    }
    /* cJSON_free is free() unless hooks were installed; we install none,
     * but the caller frees with free(), so copy to be exact. */
    *task = strdup(s);
    cJSON_free(s);
    return *task ? 0 : -ENOMEM;
nomem:
    cJSON_Delete(t);
    return -ENOMEM;
}

/* Whether code defines 'def NAME(' (at any indentation). */
static bool code_defines(const char *code, const char *name, size_t n)
{
    for (const char *p = code; p && (p = strstr(p, "def ")); p += 4) {
        if (p != code && !is_space(p[-1]))
            continue;
        const char *q = p + 4;
        while (*q == ' ' || *q == '\t')
            q++;
        if (strncmp(q, name, n) != 0)
            continue;
        q += n;
        while (*q == ' ' || *q == '\t')
            q++;
        if (*q == '(')
            return true;
    }
    return false;
}

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

static size_t call_end(const char *s, size_t open, size_t n);
static size_t skip_string(const char *s, size_t i, size_t n);

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
    return i > 0 && i < n && s[i] == '(' && call_end(s, i, n) == n;
}

/* Whether s[0..n) holds a '#' outside string literals: "f(1)  # note"
 * would turn "assert f(1) == 2" into "assert f(1)". */
static bool has_comment(const char *s, size_t n)
{
    for (size_t i = 0; i < n; ) {
        if (s[i] == '\'' || s[i] == '"') {
            i = skip_string(s, i, n);
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
                        struct sbuf *out)
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
        struct sbuf want = { 0 };
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
                    sb_add(&want, " ", 1);
                sb_add(&want, w, take);
            }
            p = nl2 ? nl2 + 1 : p + strlen(p);
            if (q)
                break;
        }
        if (!cont && !want.failed && calls(expr, en, entry) &&
            !has_comment(expr, en) &&
            literal_like(want.p ? want.p : "", want.len)) {
            bool paren = !one_call(expr, en);
            sb_adds(out, float_literal(want.p, want.len) ? "assert abs(" :
                    "assert ");
            sb_adds(out, paren ? "(" : "");
            sb_add(out, expr, en);
            sb_adds(out, paren ? ")" : "");
            if (float_literal(want.p, want.len)) {
                sb_adds(out, " - ");
                sb_add(out, want.p, want.len);
                sb_adds(out, ") < 1e-6\n");
            } else {
                sb_adds(out, " == ");
                sb_add(out, want.p, want.len);
                sb_adds(out, "\n");
            }
        }
        if (want.failed)
            out->failed = true;
        free(want.p);
    }
}

static int convert_humaneval(const cJSON *o, const char *sid,
                             const struct bt_import_opts *opts, char **task,
                             char **reason)
{
    const char *prompt, *test, *entry;
    struct sbuf goal = { 0 }, hidden = { 0 }, tests = { 0 };
    int rc;

    if ((rc = get_string(o, "prompt", true, HE_NEEDS, &prompt, reason)) ||
        (rc = get_string(o, "test", true, HE_NEEDS, &test, reason)) ||
        (rc = get_string(o, "entry_point", true, HE_NEEDS, &entry, reason)))
        return rc;
    if (!is_identifier(entry))
        return refuse(reason, "field 'entry_point' must be a Python name, "
                      "got \"%.40s\"", entry);
    if (!code_defines(test, "check", 5))
        return refuse(reason, "field 'test' defines no check() function, "
                      "which HumanEval's tests call with the entry point");
    /* A prompt holding ``` would end our fence early; ~~~ fences too. */
    const char *fence = strstr(prompt, "```") ? "~~~" : "```";

    sb_adds(&goal, "Complete the Python function `");
    sb_adds(&goal, entry);
    sb_adds(&goal, "` below so that it does what its docstring says. "
            "Return the whole function with its body filled in, together "
            "with everything else shown (imports and helper functions), in "
            "one code block.\n\n");
    sb_adds(&goal, fence);
    sb_adds(&goal, "python\n");
    sb_add_text(&goal, prompt);
    sb_end_line(&goal);
    sb_adds(&goal, fence);

    /* check() holds every assert inside a function, which our protocol
     * does not count; test_check() is the one top-level test that runs it. */
    sb_add_text(&hidden, test);
    sb_end_line(&hidden);
    sb_adds(&hidden, "\n\ndef test_check():\n    check(");
    sb_adds(&hidden, entry);
    sb_adds(&hidden, ")\n");

    he_examples(prompt, entry, &tests);
    sb_adds(&tests, "");    /* "" rather than NULL when there is none */

    if (goal.failed || hidden.failed || tests.failed)
        rc = -ENOMEM;
    else if (!(rc = check_task_text(goal.p, tests.p, hidden.p, reason)))
        rc = task_json(goal.p, tests.p, hidden.p, prompt,
                       BT_IMPORT_HUMANEVAL, sid, opts, task, reason);
    free(goal.p);
    free(hidden.p);
    free(tests.p);
    return rc;
}

/* ---- MBPP ------------------------------------------------------------------- */

static const char MBPP_NEEDS[] = "an MBPP line needs text and test_list";

/* Names that a test calls around the function under test. */
static const char *const NOT_THE_FUNCTION[] = {
    "abs", "all", "any", "assert", "bin", "bool", "bytes", "callable",
    "chr", "complex", "dict", "divmod", "enumerate", "filter", "float",
    "format", "frozenset", "getattr", "hasattr", "hash", "hex", "id", "if",
    "in", "int", "is", "isinstance", "issubclass", "iter", "lambda", "len",
    "list", "map", "max", "min", "next", "not", "oct", "or", "and", "ord",
    "pow", "print", "range", "repr", "reversed", "round", "set", "sorted",
    "str", "sum", "tuple", "type", "zip", NULL
};

struct call {
    const char *name;   /* into the test string */
    size_t name_len;
    size_t len;         /* of the whole call, name to ')' */
};

/* Skips a Python string literal starting at s[i] (a quote); returns the
 * index after it (or n if it does not end). */
static size_t skip_string(const char *s, size_t i, size_t n)
{
    char q = s[i];
    bool triple = i + 2 < n && s[i + 1] == q && s[i + 2] == q;

    i += triple ? 3 : 1;
    while (i < n) {
        if (s[i] == '\\') {
            i += 2;
            continue;
        }
        if (s[i] == q) {
            if (!triple)
                return i + 1;
            if (i + 2 < n && s[i + 1] == q && s[i + 2] == q)
                return i + 3;
        }
        i++;
    }
    return n;
}

/* Length of the call whose '(' is at s[open]: up to its matching ')'. */
static size_t call_end(const char *s, size_t open, size_t n)
{
    int depth = 0;

    for (size_t i = open; i < n; ) {
        char c = s[i];
        if (c == '\'' || c == '"') {
            i = skip_string(s, i, n);
            continue;
        }
        if (c == '(' || c == '[' || c == '{')
            depth++;
        else if ((c == ')' || c == ']' || c == '}') && --depth == 0)
            return i + 1;
        i++;
    }
    return n;
}

static bool in_names(const char *const *list, const char *s, size_t n)
{
    for (; *list; list++)
        if (strlen(*list) == n && memcmp(*list, s, n) == 0)
            return true;
    return false;
}

/* Finds the function under test in an MBPP assert: among the names called
 * in it (outside string literals), the first one that 'code' defines;
 * failing that, the first that is neither a builtin nor a dotted name
 * (math.isclose). Returns false if there is none. */
static bool find_call(const char *test, const char *code, struct call *out)
{
    size_t n = strlen(test);
    bool have_guess = false;

    for (size_t i = 0; i < n; ) {
        char c = test[i];
        if (c == '\'' || c == '"') {
            i = skip_string(test, i, n);
            continue;
        }
        if (!(isalpha((unsigned char)c) || c == '_')) {
            i++;
            continue;
        }
        size_t b = i;
        while (i < n && (isalnum((unsigned char)test[i]) || test[i] == '_'))
            i++;
        /* A name that is a prefix or attribute of another is not ours to
         * call plainly: x.f( or f.x(. */
        bool dotted = (b > 0 && test[b - 1] == '.') ||
                      (i < n && test[i] == '.');
        size_t k = i;
        while (k < n && (test[k] == ' ' || test[k] == '\t'))
            k++;
        if (k >= n || test[k] != '(' || dotted ||
            in_names(NOT_THE_FUNCTION, test + b, i - b))
            continue;
        struct call cand = { test + b, i - b, call_end(test, k, n) - b };
        if (code && code_defines(code, cand.name, cand.name_len)) {
            *out = cand;
            return true;
        }
        if (!have_guess) {
            *out = cand;
            have_guess = true;
        }
    }
    return have_guess;
}

/* Appends the strings of arr, each trimmed and on its own line. */
static void add_lines(struct sbuf *b, const cJSON *arr)
{
    const cJSON *e;

    cJSON_ArrayForEach(e, arr) {
        const char *s = e->valuestring;
        size_t len = strlen(s);
        while (len && is_space(s[len - 1]))
            len--;
        while (len && is_space(*s)) {
            s++;
            len--;
        }
        if (!len)
            continue;
        char *t = strndup(s, len);
        if (!t) {
            b->failed = true;
            return;
        }
        sb_add_text(b, t);
        sb_add(b, "\n", 1);
        free(t);
    }
}

static int convert_mbpp(const cJSON *o, const char *sid,
                        const struct bt_import_opts *opts, char **task,
                        char **reason)
{
    const char *text, *setup, *code;
    const cJSON *tests, *challenge, *imports;
    struct sbuf goal = { 0 }, hidden = { 0 }, visible = { 0 };
    struct call call;
    int rc;

    /* The sanitized MBPP calls the text "prompt" and the set-up lines
     * "test_imports"; both shapes are taken. */
    if (!cJSON_GetObjectItemCaseSensitive(o, "text") &&
        cJSON_GetObjectItemCaseSensitive(o, "prompt"))
        rc = get_string(o, "prompt", true, MBPP_NEEDS, &text, reason);
    else
        rc = get_string(o, "text", true, MBPP_NEEDS, &text, reason);
    if (rc ||
        (rc = get_string_array(o, "test_list", true, MBPP_NEEDS, &tests,
                               reason)) ||
        (rc = get_string(o, "test_setup_code", false, NULL, &setup,
                         reason)) ||
        (rc = get_string_array(o, "challenge_test_list", false, NULL,
                               &challenge, reason)) ||
        (rc = get_string_array(o, "test_imports", false, NULL, &imports,
                               reason)) ||
        (rc = get_string(o, "code", false, NULL, &code, reason)))
        return rc;
    const char *first = cJSON_GetArrayItem(tests, 0)->valuestring;
    if (!find_call(first, code, &call))
        return refuse(reason, "no function call found in test_list item 0 "
                      "(\"%.60s\"): cannot tell the function's name", first);

    sb_add_text(&goal, text);
    sb_end_line(&goal);
    sb_adds(&goal, "\nThe function is called `");
    sb_add(&goal, call.name, call.name_len);
    sb_adds(&goal, "`, called as `");
    char *c = strndup(call.name, call.len);
    if (!c)
        goal.failed = true;
    else
        sb_add_text(&goal, c);
    free(c);
    sb_adds(&goal, "`. Return the function, together with the imports and "
            "helpers it needs, in one code block.");

    if (imports)
        add_lines(&visible, imports);
    if (setup && trimmed_len(setup)) {
        sb_add_text(&visible, setup);
        sb_end_line(&visible);
    }
    /* One assert a line: each is one test under our protocol. test_list is
     * what MBPP's own prompt shows the model, so it is shown here too and
     * judges as well; challenge_test_list only judges. */
    add_lines(&visible, tests);
    sb_add(&hidden, visible.p ? visible.p : "", visible.len);
    if (challenge)
        add_lines(&hidden, challenge);

    if (goal.failed || hidden.failed || visible.failed)
        rc = -ENOMEM;
    else if (!(rc = check_task_text(goal.p, visible.p, hidden.p, reason)))
        rc = task_json(goal.p, visible.p, hidden.p, goal.p, BT_IMPORT_MBPP,
                       sid, opts, task, reason);
    free(goal.p);
    free(hidden.p);
    free(visible.p);
    return rc;
}

/* ---- tasks ------------------------------------------------------------------ */

/* A line with fields of a benchmark's format instead of a task's: the
 * user most likely forgot --format. Returns the hint, or "". */
static const char *format_hint(const cJSON *o)
{
    static const char *const he[] = { "entry_point", "canonical_solution",
                                      "prompt", NULL };
    static const char *const mb[] = { "test_list", "challenge_test_list",
                                      "test_setup_code", NULL };
    const cJSON *e;

    cJSON_ArrayForEach(e, o)
        if (in_names(mb, e->string, strlen(e->string)))
            return " (an MBPP line? use --format mbpp)";
    cJSON_ArrayForEach(e, o)
        if (in_names(he, e->string, strlen(e->string)))
            return " (a HumanEval line? use --format humaneval)";
    return "";
}

/* The line with the import options applied: the JSON object's own fields
 * overridden, or a plain goal turned into the JSON form of the same task
 * (a task line is no benchmark's, so nothing is held out that the line
 * does not say). o is the parsed object, NULL for a plain line. NULL when
 * out of memory. */
static char *with_opts(const char *line, size_t len, cJSON *o,
                       const struct bt_import_opts *opts)
{
    cJSON *plain = NULL;
    char *p, *out = NULL;
    size_t b = 0, e = len;

    if (!o) {
        while (b < e && (line[b] == ' ' || line[b] == '\t'))
            b++;
        while (e > b && (line[e - 1] == ' ' || line[e - 1] == '\t'))
            e--;
        char *g = strndup(line + b, e - b);
        if (g && (plain = cJSON_CreateObject()))
            cJSON_AddStringToObject(plain, "goal", g);
        free(g);
        o = plain;
    }
    if (o && apply_opts(o, opts, opts->set, false) == 0 &&
        (p = cJSON_PrintUnformatted(o))) {
        out = strdup(p);
        cJSON_free(p);
    }
    cJSON_Delete(plain);
    return out;
}

/* A line of --format tasks: passed as written (or with the options
 * applied) once the task parser, btfs's own, takes it. */
static int convert_task(const char *line, size_t len,
                        const struct bt_import_opts *opts, char **task,
                        char **reason)
{
    struct task_def def = { 0 };
    const char *hint = "";
    char err[300], *t;
    cJSON *o = NULL;
    size_t b = 0;
    int rc;

    while (b < len && (line[b] == ' ' || line[b] == '\t'))
        b++;
    if (b < len && line[b] == '{') {
        o = cJSON_ParseWithLength(line, len);
        if (cJSON_IsObject(o))
            hint = format_hint(o);
    }
    if (!opts_given(opts))
        t = strndup(line, len);
    else if (!o || cJSON_IsObject(o))
        t = with_opts(line, len, o, opts);
    else
        t = strndup(line, len);     /* not an object: the parser says so */
    cJSON_Delete(o);
    if (!t)
        return -ENOMEM;
    rc = task_parse_line(t, strlen(t), &def, err, sizeof err);
    task_def_free(&def);
    if (rc == 0) {
        *task = t;
        return 0;
    }
    if (rc == -EFBIG)
        rc = refuse(reason, "the line is %zu bytes, the limit is %d",
                    strlen(t), TASK_MAX_LINE);
    else if (rc != -ENOMEM)
        rc = refuse(reason, "%s%s", err, hint);
    free(t);
    return rc;
}

/* ---- One line, a whole file -------------------------------------------------- */

int bt_import_convert(enum bt_import_format fmt, const char *line,
                      size_t len, const struct bt_import_opts *opts,
                      char **task, char **source_id, char **reason)
{
    cJSON *o = NULL;
    size_t pos;
    uint32_t cp;
    int rc;

    *task = NULL;
    *source_id = NULL;
    *reason = NULL;
    if (!opts)
        opts = &NO_OPTS;
    if (len && line[len - 1] == '\r')
        len--;
    size_t i = 0;
    while (i < len && is_space(line[i]))
        i++;
    if (i == len)
        return 1;
    if (fmt == BT_IMPORT_TASKS) {
        rc = convert_task(line, len, opts, task, reason);
        goto out;
    }
    if (task_text_scan(line, len, true, &pos, &cp) == TASK_TEXT_BAD_UTF8)
        return refuse(reason, "not valid UTF-8 at byte %zu", pos);
    if ((rc = parse_object(line, len, fmt == BT_IMPORT_HUMANEVAL ?
                           "a HumanEval line" : "an MBPP line", &o, reason)))
        goto out;
    *source_id = source_id_of(o);
    if (fmt == BT_IMPORT_HUMANEVAL)
        rc = convert_humaneval(o, *source_id, opts, task, reason);
    else
        rc = convert_mbpp(o, *source_id, opts, task, reason);
out:
    cJSON_Delete(o);
    if (rc == -ENOMEM) {
        free(*task);
        free(*source_id);
        free(*reason);
        *task = *source_id = *reason = NULL;
    }
    return rc;
}

/* The (set, problem_id) of a task line, read back from what will be
 * written (set lower-cased, problem_id trimmed, as btfs stores them).
 * Plain-text lines have neither. Returns 0 or -ENOMEM. */
static int item_key(struct bt_import_item *it)
{
    const char *p = it->task;
    cJSON *o, *v;
    int rc = 0;

    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '{' || !(o = cJSON_Parse(p)))
        return 0;   /* btfs says what is wrong with a bad line */
    v = cJSON_GetObjectItemCaseSensitive(o, "set");
    if (cJSON_IsString(v) && !(it->set = strdup(v->valuestring)))
        rc = -ENOMEM;
    for (char *q = it->set; q && *q; q++)
        *q = (char)tolower((unsigned char)*q);
    v = cJSON_GetObjectItemCaseSensitive(o, "problem_id");
    if (!rc && cJSON_IsString(v)) {
        const char *b = v->valuestring;
        size_t n;
        while (*b == ' ' || *b == '\t' || *b == '\n')
            b++;
        n = strlen(b);
        while (n && (b[n - 1] == ' ' || b[n - 1] == '\t' ||
                     b[n - 1] == '\n'))
            n--;
        if (n && !(it->problem_id = strndup(b, n)))
            rc = -ENOMEM;
    }
    cJSON_Delete(o);
    return rc;
}

static int add_item(struct bt_import_set *s, size_t line, char *task,
                    char *source_id)
{
    if (s->nitems == s->items_cap) {
        size_t ncap = s->items_cap ? s->items_cap * 2 : 64;
        struct bt_import_item *n = realloc(s->items, ncap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        s->items = n;
        s->items_cap = ncap;
    }
    s->items[s->nitems] = (struct bt_import_item){
        .line = line, .task = task, .len = strlen(task),
        .source_id = source_id,
    };
    if (item_key(&s->items[s->nitems])) {
        free(s->items[s->nitems].set);
        return -ENOMEM;
    }
    s->nitems++;
    return 0;
}

static int add_problem(struct bt_import_set *s, size_t line, char *reason,
                       char *source_id)
{
    if (s->nproblems == s->problems_cap) {
        size_t ncap = s->problems_cap ? s->problems_cap * 2 : 16;
        struct bt_import_problem *n = realloc(s->problems, ncap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        s->problems = n;
        s->problems_cap = ncap;
    }
    s->problems[s->nproblems++] = (struct bt_import_problem){
        .line = line, .reason = reason, .source_id = source_id,
    };
    return 0;
}

int bt_import_parse(const char *buf, size_t len, enum bt_import_format fmt,
                    const struct bt_import_opts *opts,
                    struct bt_import_set *out)
{
    size_t lineno = 0;

    for (const char *p = buf, *end = buf + len; p < end; ) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char *task, *sid, *reason;
        int rc;

        lineno++;
        rc = bt_import_convert(fmt, p, ll, opts, &task, &sid, &reason);
        p = nl ? nl + 1 : end;
        if (rc == 1) {
            out->blank++;
            continue;
        }
        if (rc == -ENOMEM)
            return rc;
        if (rc == 0)
            rc = add_item(out, lineno, task, sid);
        else
            rc = add_problem(out, lineno, reason, sid);
        if (rc) {
            free(task);
            free(sid);
            free(reason);
            return rc;
        }
    }
    return 0;
}

void bt_import_set_free(struct bt_import_set *s)
{
    for (size_t i = 0; i < s->nitems; i++) {
        free(s->items[i].task);
        free(s->items[i].source_id);
        free(s->items[i].id);
        free(s->items[i].refusal);
        free(s->items[i].set);
        free(s->items[i].problem_id);
        free(s->items[i].present);
    }
    for (size_t i = 0; i < s->nproblems; i++) {
        free(s->problems[i].reason);
        free(s->problems[i].source_id);
    }
    free(s->items);
    free(s->problems);
    memset(s, 0, sizeof(*s));
}

static int cmp_present(const void *a, const void *b)
{
    const struct bt_import_present *x = a, *y = b;

    return strcmp(x->problem_id, y->problem_id);
}

long bt_import_skip_present(struct bt_import_set *s, const char *set,
                            const struct bt_import_present *p, size_t n)
{
    struct bt_import_present *sorted;
    long dropped = 0;

    if (n == 0)
        return 0;
    /* Sorted once, so that a 10,000-problem file against a 10,000-problem
     * set costs n log n, not n * n. */
    if (!(sorted = malloc(n * sizeof(*sorted))))
        return -ENOMEM;
    memcpy(sorted, p, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), cmp_present);
    for (size_t i = 0; i < s->nitems; i++) {
        struct bt_import_item *it = &s->items[i];
        struct bt_import_present key = { .problem_id = it->problem_id };
        const struct bt_import_present *hit;

        if (it->dropped || !it->set || !it->problem_id ||
            strcmp(it->set, set) != 0)
            continue;
        hit = bsearch(&key, sorted, n, sizeof(*sorted), cmp_present);
        if (!hit)
            continue;
        if (!(it->present = strdup(hit->task ? hit->task : "?"))) {
            free(sorted);
            return -ENOMEM;
        }
        it->dropped = true;
        dropped++;
    }
    free(sorted);
    return dropped;
}

/* Items by (set, problem_id), then line: equal keys end up side by side. */
static int cmp_key(const void *a, const void *b, void *ctx)
{
    const struct bt_import_set *s = ctx;
    const struct bt_import_item *x = &s->items[*(const size_t *)a],
                                *y = &s->items[*(const size_t *)b];
    int c = strcmp(x->set, y->set);

    if (!c)
        c = strcmp(x->problem_id, y->problem_id);
    if (!c)
        c = x->line < y->line ? -1 : x->line > y->line;
    return c;
}

long bt_import_skip_repeats(struct bt_import_set *s)
{
    size_t *idx, n = 0;
    long dropped = 0;

    if (!(idx = malloc((s->nitems ? s->nitems : 1) * sizeof(*idx))))
        return -ENOMEM;
    for (size_t i = 0; i < s->nitems; i++)
        if (s->items[i].set && s->items[i].problem_id)
            idx[n++] = i;
    qsort_r(idx, n, sizeof(*idx), cmp_key, s);
    for (size_t k = 1, first = 0; k < n; k++) {
        struct bt_import_item *a = &s->items[idx[first]],
                              *b = &s->items[idx[k]];
        if (strcmp(a->set, b->set) || strcmp(a->problem_id, b->problem_id)) {
            first = k;
            continue;
        }
        if (!b->dropped) {
            b->dropped = true;
            b->repeat_of = a->line;
            dropped++;
        }
    }
    free(idx);
    return dropped;
}

size_t bt_import_batch_end(const struct bt_import_set *s, size_t first,
                           size_t max_lines, size_t max_bytes)
{
    size_t i = first, lines = 0, bytes = 0;

    for (; i < s->nitems; i++) {
        const struct bt_import_item *it = &s->items[i];
        if (it->dropped)
            continue;
        if (lines > 0 && (lines == max_lines ||
                          bytes + it->len + 1 > max_bytes))
            break;
        lines++;
        bytes += it->len + 1;
    }
    return i;
}
