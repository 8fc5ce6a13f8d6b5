/* bt_import_conv.c -- the conversion shared by bt import's formats: a
 * benchmark's problem read field by field, and the task line built from it
 * (bt_import_conv.h).
 *
 * Every line we make goes through the task parser, the one btfs runs on
 * tasks/new (task/task.h), so that a file with a bad problem is refused
 * before any task is written; the benchmark lines themselves are checked
 * by the same text rules (task/task_text.h). The text we build is
 * normalised rather than refused where that is lossless:
 * CRLF and lone CR become LF (MBPP's set-up code is full of CRLF, and btfs
 * takes only TAB and LF inside strings).
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

/* Whether any option asks to change a task line. */
bool bt_imp_opts_given(const struct bt_import_opts *o)
{
    return o->set || o->train || o->max_attempts || o->no_memory;
}

/* Sets *reason and returns -EINVAL (or -ENOMEM if the message cannot be
 * made), so that callers can say "return bt_imp_refuse(...)". */
int bt_imp_refuse(char **reason, const char *fmt, ...)
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

/* Appends s with CRLF and lone CR turned into LF. */
void bt_imp_add_text(struct buf *b, const char *s)
{
    for (const char *p = s; *p; ) {
        size_t run = strcspn(p, "\r");
        buf_add(b, p, run);
        p += run;
        if (*p == '\r') {
            buf_add(b, "\n", 1);
            p += p[1] == '\n' ? 2 : 1;
        }
    }
}

/* Ensures the text ends with exactly the newline it needs to be followed
 * by more code (nothing is added to an empty buffer). */
void bt_imp_end_line(struct buf *b)
{
    if (b->len && b->p[b->len - 1] != '\n')
        buf_add(b, "\n", 1);
}

bool bt_imp_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

/* Length of s once spaces, tabs and newlines at both ends are gone, the
 * way btfs trims a goal. */
size_t bt_imp_trimmed_len(const char *s)
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

const char *bt_imp_type_name(const cJSON *v)
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
int bt_imp_parse_object(const char *line, size_t len, const char *what,
                        cJSON **out, char **reason)
{
    const char *end = NULL;
    cJSON *j;

    if (has_nul_escape(line, len))
        return bt_imp_refuse(reason,
                             "the JSON holds \\u0000, which no task field "
                             "may hold");
    j = cJSON_ParseWithLengthOpts(line, len, &end, false);
    if (!j) {
        size_t at = end && end >= line && end <= line + len ?
                    (size_t)(end - line) : 0;
        return bt_imp_refuse(reason, "not valid JSON (at byte %zu)", at);
    }
    for (size_t i = (size_t)(end - line); i < len; i++)
        if (!bt_imp_is_space(line[i])) {
            cJSON_Delete(j);
            return bt_imp_refuse(reason,
                                 "text after the JSON object (at byte %zu)",
                                 i);
        }
    if (!cJSON_IsObject(j)) {
        int rc = bt_imp_refuse(reason, "%s must be a JSON object, got %s", what,
                               bt_imp_type_name(j));
        cJSON_Delete(j);
        return rc;
    }
    *out = j;
    return 0;
}

/* The problem's task_id as text, control characters replaced; NULL if the
 * line has none (or memory ran out: the id is only for messages). */
char *bt_imp_source_id(const cJSON *o)
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
int bt_imp_get_string(const cJSON *o, const char *name, bool required,
                      const char *needs, const char **out, char **reason)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    *out = NULL;
    if (!v) {
        if (required)
            return bt_imp_refuse(reason, "missing field '%s' (%s)", name,
                                 needs);
        return 0;
    }
    if (!cJSON_IsString(v))
        return bt_imp_refuse(reason, "field '%s' must be a string, got %s",
                             name,
                             bt_imp_type_name(v));
    if (required && bt_imp_trimmed_len(v->valuestring) == 0)
        return bt_imp_refuse(reason, "field '%s' is empty", name);
    *out = v->valuestring;
    return 0;
}

/* Looks up an array of strings; missing is refused if required (*out =
 * NULL otherwise). */
int bt_imp_get_string_array(const cJSON *o, const char *name, bool required,
                            const char *needs, const cJSON **out,
                            char **reason)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name), *e;
    int i = 0;

    *out = NULL;
    if (!v) {
        if (required)
            return bt_imp_refuse(reason, "missing field '%s' (%s)", name,
                                 needs);
        return 0;
    }
    if (!cJSON_IsArray(v))
        return bt_imp_refuse(reason,
                             "field '%s' must be an array of strings, got "
                             "%s", name, bt_imp_type_name(v));
    cJSON_ArrayForEach(e, v) {
        if (!cJSON_IsString(e))
            return bt_imp_refuse(reason,
                                 "field '%s' item %d must be a string, got "
                                 "%s", name, i, bt_imp_type_name(e));
        i++;
    }
    if (required && i == 0)
        return bt_imp_refuse(reason, "field '%s' is empty", name);
    *out = v;
    return 0;
}

/* Says which part of the text we built is too large for tasks/new, in
 * the converted problem's terms (the task parser, run on the line in
 * bt_imp_task_json, names only the task's fields). */
int bt_imp_check_text(const char *goal, const char *tests,
                      const char *hidden, char **reason)
{
    size_t g = bt_imp_trimmed_len(goal), h = strlen(hidden), v = strlen(tests);

    if (g == 0)
        return bt_imp_refuse(reason, "the goal is empty");
    if (g > TASK_MAX_GOAL)
        return bt_imp_refuse(reason,
                             "the goal would be %zu bytes, the limit is %d",
                             g, TASK_MAX_GOAL);
    if (h > TASK_MAX_TESTS)
        return bt_imp_refuse(reason, "the hidden tests would be %zu bytes, the "
                             "limit is %d", h, TASK_MAX_TESTS);
    if (v > TASK_MAX_TESTS)
        return bt_imp_refuse(reason,
                             "the visible tests would be %zu bytes, the "
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
        return bt_imp_refuse(reason,
                             "field 'task_id' is %zu bytes, a problem id "
                             "may be at most %d", n, TASK_MAX_PROBLEM_ID);
    *out = sid;
    return 0;
}

/* Sets the fields the import options ask for on a task object: set,
 * held_out (removed with --train), max_attempts, memory. Returns 0 or
 * -ENOMEM. */
int bt_imp_apply_opts(cJSON *t, const struct bt_import_opts *o,
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
int bt_imp_task_json(const char *goal, const char *tests, const char *hidden,
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
        bt_imp_apply_opts(t, o, o->set ? o->set : bt_import_format_name(fmt),
                          true))
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
            rc = bt_imp_refuse(reason,
                               "the task line would be %zu bytes, the limit "
                               "is %d", strlen(s), TASK_MAX_LINE);
        else if (rc == -EINVAL)
            rc = bt_imp_refuse(reason, "btfs would refuse the task: %s",
                               err);
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
bool bt_imp_code_defines(const char *code, const char *name, size_t n)
{
    for (const char *p = code; p && (p = strstr(p, "def ")); p += 4) {
        if (p != code && !bt_imp_is_space(p[-1]))
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


/* ---- Python text, for the converters of Python benchmarks ---- */

/* Skips a Python string literal starting at s[i] (a quote); returns the
 * index after it (or n if it does not end). */
size_t bt_imp_skip_string(const char *s, size_t i, size_t n)
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
size_t bt_imp_call_end(const char *s, size_t open, size_t n)
{
    int depth = 0;

    for (size_t i = open; i < n; ) {
        char c = s[i];
        if (c == '\'' || c == '"') {
            i = bt_imp_skip_string(s, i, n);
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

bool bt_imp_in_names(const char *const *list, const char *s, size_t n)
{
    for (; *list; list++)
        if (strlen(*list) == n && memcmp(*list, s, n) == 0)
            return true;
    return false;
}
