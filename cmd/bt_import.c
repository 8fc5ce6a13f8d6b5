/* bt_import.c -- a benchmark's JSONL file turned into task lines for tasks/new.
 *
 * Every check that tasks/new would make on a converted line is made here
 * first (UTF-8, control characters, goal and test sizes, the line size), so
 * that a file with a bad problem is refused before any task is written. The
 * text we build is normalised rather than refused where that is lossless:
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

#include "store/task.h"

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

static bool skill_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-';
}

int bt_import_set_name_check(const char *name)
{
    size_t len = strlen(name);

    if (len == 0 || len > TASK_MAX_SKILL_LEN)
        return -EINVAL;
    for (size_t i = 0; i < len; i++)
        if (!skill_char((unsigned char)name[i]))
            return -EINVAL;
    return 0;
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

/* Decodes one UTF-8 character of s[0..n): its length, or 0 if it is not
 * well formed (overlong, surrogate, above U+10FFFF, truncated). */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    size_t need;
    uint32_t c = s[0], min;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2; c &= 0x1F; min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3; c &= 0x0F; min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4; c &= 0x07; min = 0x10000;
    } else {
        return 0;
    }
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return need;
}

static bool is_control(uint32_t cp, bool allow_newline)
{
    if (cp == '\t' || (allow_newline && cp == '\n'))
        return false;
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

/* Checks s[0..n) for UTF-8 and control characters the way btfs does. On a
 * problem returns false and sets *pos (byte offset, from 0) and *cp (the
 * control character, or UINT32_MAX for bad UTF-8). */
static bool text_ok(const char *s, size_t n, bool allow_newline, size_t *pos,
                    uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;

    for (size_t i = 0; i < n; ) {
        size_t k = utf8_next(u + i, n - i, cp);
        if (k == 0) {
            *pos = i;
            *cp = UINT32_MAX;
            return false;
        }
        if (is_control(*cp, allow_newline)) {
            *pos = i;
            return false;
        }
        i += k;
    }
    return true;
}

/* A decoded string that goes into a task: TAB and LF are its only control
 * characters (we have already turned CR into LF). */
static int check_field_text(const char *who, const char *s, char **reason)
{
    size_t pos;
    uint32_t cp;

    if (text_ok(s, strlen(s), true, &pos, &cp))
        return 0;
    if (cp == UINT32_MAX)
        return refuse(reason, "%s is not valid UTF-8", who);
    return refuse(reason, "%s holds control character U+%04X at byte %zu "
                  "(a task's text may hold only tab and newline)", who,
                  (unsigned)cp, pos);
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

/* Checks the text we built against the limits of tasks/new. */
static int check_task_text(const char *goal, const char *hidden,
                           char **reason)
{
    size_t g = trimmed_len(goal), h = strlen(hidden);
    int rc;

    if (g == 0)
        return refuse(reason, "the goal is empty");
    if (g > TASK_MAX_GOAL)
        return refuse(reason, "the goal would be %zu bytes, the limit is %d",
                      g, TASK_MAX_GOAL);
    if (h > TASK_MAX_TESTS)
        return refuse(reason, "the hidden tests would be %zu bytes, the "
                      "limit is %d", h, TASK_MAX_TESTS);
    if ((rc = check_field_text("the goal", goal, reason)))
        return rc;
    return check_field_text("the hidden tests", hidden, reason);
}

/* Prints the task {goal, skills, language, tests, hidden_tests} as one
 * line. Returns 0, -EINVAL (too long) or -ENOMEM. */
static int task_json(const char *goal, const char *skill, const char *set,
                     const char *hidden, char **task, char **reason)
{
    cJSON *t = cJSON_CreateObject(), *sk;
    char *s;

    if (!t || !cJSON_AddStringToObject(t, "goal", goal) ||
        !(sk = cJSON_AddArrayToObject(t, "skills")))
        goto nomem;
    cJSON_AddItemToArray(sk, cJSON_CreateString(skill));
    if (set && strcasecmp(set, skill) != 0)
        cJSON_AddItemToArray(sk, cJSON_CreateString(set));
    if (cJSON_GetArraySize(sk) != (set && strcasecmp(set, skill) ? 2 : 1) ||
        !cJSON_AddStringToObject(t, "language", "python") ||
        !cJSON_AddStringToObject(t, "tests", "") ||
        !cJSON_AddStringToObject(t, "hidden_tests", hidden))
        goto nomem;
    /* cJSON escapes every control character: the result is one line. */
    if (!(s = cJSON_PrintUnformatted(t)))
        goto nomem;
    cJSON_Delete(t);
    if (strlen(s) > TASK_MAX_LINE) {
        int rc = refuse(reason, "the task line would be %zu bytes, the limit "
                        "is %d", strlen(s), TASK_MAX_LINE);
        cJSON_free(s);
        return rc;
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

static int convert_humaneval(const cJSON *o, const char *set, char **task,
                             char **reason)
{
    const char *prompt, *test, *entry;
    struct sbuf goal = { 0 }, hidden = { 0 };
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

    if (goal.failed || hidden.failed)
        rc = -ENOMEM;
    else if (!(rc = check_task_text(goal.p, hidden.p, reason)))
        rc = task_json(goal.p, "humaneval", set, hidden.p, task, reason);
    free(goal.p);
    free(hidden.p);
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

static int convert_mbpp(const cJSON *o, const char *set, char **task,
                        char **reason)
{
    const char *text, *setup, *code;
    const cJSON *tests, *challenge, *imports;
    struct sbuf goal = { 0 }, hidden = { 0 };
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
        add_lines(&hidden, imports);
    if (setup && trimmed_len(setup)) {
        sb_add_text(&hidden, setup);
        sb_end_line(&hidden);
    }
    /* One assert a line: each is one test under our protocol. */
    add_lines(&hidden, tests);
    if (challenge)
        add_lines(&hidden, challenge);

    if (goal.failed || hidden.failed)
        rc = -ENOMEM;
    else if (!(rc = check_task_text(goal.p, hidden.p, reason)))
        rc = task_json(goal.p, "mbpp", set, hidden.p, task, reason);
    free(goal.p);
    free(hidden.p);
    return rc;
}

/* ---- tasks ------------------------------------------------------------------ */

static const char *const TASK_FIELDS[] = {
    "goal", "difficulty", "priority", "skills", "language", "tests",
    "hidden_tests", "constraints", "timeout_s", NULL
};

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

/* Adds 'set' to the task's skills unless it is there; -EINVAL if the
 * skills field is not an array or is full. */
static int add_set_skill(cJSON *o, const char *set, char **reason)
{
    cJSON *sk = cJSON_GetObjectItemCaseSensitive(o, "skills"), *e, *s;

    if (!sk) {
        if (!(sk = cJSON_AddArrayToObject(o, "skills")))
            return -ENOMEM;
    } else if (!cJSON_IsArray(sk)) {
        return refuse(reason, "field 'skills' must be an array, got %s",
                      type_name(sk));
    }
    cJSON_ArrayForEach(e, sk)
        if (cJSON_IsString(e) && strcasecmp(e->valuestring, set) == 0)
            return 0;
    if (cJSON_GetArraySize(sk) >= TASK_MAX_SKILLS)
        return refuse(reason, "field 'skills' already holds %d skills, no "
                      "room for the set '%s'", TASK_MAX_SKILLS, set);
    if (!(s = cJSON_CreateString(set)))
        return -ENOMEM;
    cJSON_AddItemToArray(sk, s);
    return 0;
}

static int convert_task_object(const char *line, size_t len, const char *set,
                               char **task, char **reason)
{
    cJSON *o = NULL, *e, *f;
    const char *goal, *s;
    int rc;

    if ((rc = parse_object(line, len, "a task", &o, reason)))
        return rc;
    cJSON_ArrayForEach(e, o) {
        if (!in_names(TASK_FIELDS, e->string, strlen(e->string))) {
            rc = refuse(reason, "unknown field '%.64s'%s", e->string,
                        format_hint(o));
            goto out;
        }
        for (f = o->child; f != e; f = f->next)
            if (strcmp(f->string, e->string) == 0) {
                rc = refuse(reason, "field '%s' given twice", e->string);
                goto out;
            }
    }
    if ((rc = get_string(o, "goal", true, "a task needs a goal", &goal,
                         reason)))
        goto out;
    if (trimmed_len(goal) > TASK_MAX_GOAL) {
        rc = refuse(reason, "field 'goal' is %zu bytes, the limit is %d",
                    trimmed_len(goal), TASK_MAX_GOAL);
        goto out;
    }
    static const char *const code_fields[] = { "tests", "hidden_tests" };
    for (size_t i = 0; i < 2; i++) {
        if ((rc = get_string(o, code_fields[i], false, NULL, &s, reason)))
            goto out;
        if (s && strlen(s) > TASK_MAX_TESTS) {
            rc = refuse(reason, "field '%s' is %zu bytes, the limit is %d",
                        code_fields[i], strlen(s), TASK_MAX_TESTS);
            goto out;
        }
    }
    if (!set) {
        /* Passed through as written: btfs judges the values. */
        rc = (*task = strndup(line, len)) ? 0 : -ENOMEM;
        goto out;
    }
    if ((rc = add_set_skill(o, set, reason)))
        goto out;
    char *p = cJSON_PrintUnformatted(o);
    if (!p) {
        rc = -ENOMEM;
        goto out;
    }
    if (strlen(p) > TASK_MAX_LINE)
        rc = refuse(reason, "the task line would be %zu bytes, the limit is "
                    "%d", strlen(p), TASK_MAX_LINE);
    else if (!(*task = strdup(p)))
        rc = -ENOMEM;
    cJSON_free(p);
out:
    cJSON_Delete(o);
    return rc;
}

static int convert_task(const char *line, size_t len, const char *set,
                        char **task, char **reason)
{
    size_t pos;
    uint32_t cp;
    size_t b = 0, e = len;

    /* The raw line goes to btfs as it is: its rules apply to the bytes. */
    if (!text_ok(line, len, false, &pos, &cp))
        return refuse(reason, cp == UINT32_MAX ? "not valid UTF-8 at byte %zu"
                      : "control character at byte %zu (only tab is allowed "
                      "in a line)", pos);
    if (len > TASK_MAX_LINE)
        return refuse(reason, "the line is %zu bytes, the limit is %d", len,
                      TASK_MAX_LINE);
    while (b < e && (line[b] == ' ' || line[b] == '\t'))
        b++;
    if (line[b] == '{')
        return convert_task_object(line, len, set, task, reason);
    while (e > b && (line[e - 1] == ' ' || line[e - 1] == '\t'))
        e--;
    if (e - b > TASK_MAX_GOAL)
        return refuse(reason, "the goal is %zu bytes, the limit is %d",
                      e - b, TASK_MAX_GOAL);
    if (!set)
        return (*task = strndup(line, len)) ? 0 : -ENOMEM;
    /* A plain goal with a set becomes the JSON form of the same task. */
    cJSON *o = cJSON_CreateObject(), *sk;
    char *p;
    int rc = -ENOMEM;
    char *g = strndup(line + b, e - b);
    if (o && g && cJSON_AddStringToObject(o, "goal", g) &&
        (sk = cJSON_AddArrayToObject(o, "skills"))) {
        cJSON *s = cJSON_CreateString(set);
        if (s) {
            cJSON_AddItemToArray(sk, s);
            if ((p = cJSON_PrintUnformatted(o))) {
                *task = strdup(p);
                rc = *task ? 0 : -ENOMEM;
                cJSON_free(p);
            }
        }
    }
    free(g);
    cJSON_Delete(o);
    return rc;
}

/* ---- One line, a whole file -------------------------------------------------- */

int bt_import_convert(enum bt_import_format fmt, const char *line,
                      size_t len, const char *set, char **task,
                      char **source_id, char **reason)
{
    cJSON *o = NULL;
    size_t pos;
    uint32_t cp;
    int rc;

    *task = NULL;
    *source_id = NULL;
    *reason = NULL;
    if (len && line[len - 1] == '\r')
        len--;
    size_t i = 0;
    while (i < len && is_space(line[i]))
        i++;
    if (i == len)
        return 1;
    if (fmt == BT_IMPORT_TASKS) {
        rc = convert_task(line, len, set, task, reason);
        goto out;
    }
    if (!text_ok(line, len, true, &pos, &cp) && cp == UINT32_MAX)
        return refuse(reason, "not valid UTF-8 at byte %zu", pos);
    if ((rc = parse_object(line, len, fmt == BT_IMPORT_HUMANEVAL ?
                           "a HumanEval line" : "an MBPP line", &o, reason)))
        goto out;
    *source_id = source_id_of(o);
    if (fmt == BT_IMPORT_HUMANEVAL)
        rc = convert_humaneval(o, set, task, reason);
    else
        rc = convert_mbpp(o, set, task, reason);
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
    s->items[s->nitems++] = (struct bt_import_item){
        .line = line, .task = task, .len = strlen(task),
        .source_id = source_id,
    };
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
                    const char *set, struct bt_import_set *out)
{
    size_t lineno = 0;

    for (const char *p = buf, *end = buf + len; p < end; ) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char *task, *sid, *reason;
        int rc;

        lineno++;
        rc = bt_import_convert(fmt, p, ll, set, &task, &sid, &reason);
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
    }
    for (size_t i = 0; i < s->nproblems; i++) {
        free(s->problems[i].reason);
        free(s->problems[i].source_id);
    }
    free(s->items);
    free(s->problems);
    memset(s, 0, sizeof(*s));
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
