/* task.c -- one task line, whoever writes it, turned into a validated task
 * definition: the field table and the parser.
 *
 * Rules of a task line (docs/tasks.md is made from this comment). Offsets in
 * messages count bytes from the start of the line, from 0.
 *
 *  1. The line comes without its '\n'. One trailing '\r' is dropped (CRLF
 *     files work). A line longer than TASK_MAX_LINE (262144) bytes, not
 *     counting that '\r', fails with EFBIG: "line is N bytes; the limit is
 *     262144". Every other failure is EINVAL.
 *  2. The line must be valid UTF-8: no overlong forms, no surrogates
 *     (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequence. It
 *     must hold no control character (U+0000..U+001F, U+007F, U+0080..U+009F)
 *     except TAB; a NUL byte is refused like any other. The message gives
 *     the offset of the offending byte.
 *  3. A line that is empty or only spaces and tabs is refused: "empty line:
 *     a task needs a goal".
 *  4. If the first character that is not a space or tab is '{', the line is
 *     one JSON object, optionally surrounded by spaces and tabs; anything else
 *     after the object is refused ("trailing characters after the JSON
 *     object"). A syntax error is "not valid JSON: ... at offset N". Fields:
 *       goal          string, required. Leading and trailing spaces, tabs and
 *                     newlines are trimmed; then 1..8192 bytes.
 *       difficulty    number from 0 to 1. Default 0.5.
 *       priority      integer from -1000 to 1000 (1.0 counts as an integer,
 *                     1.5 does not). Default 0. Higher runs first.
 *       skills        array of at most 16 strings, each 1..64 characters of
 *                     a-z, 0-9, '_' and '-' once ASCII letters are lowercased.
 *                     Repeats are dropped, the first kept. Default [].
 *       language      "python", "c" or "sh" (exactly). Default "python".
 *       tests         string of at most 65536 bytes, shown to the LLM.
 *                     Default "".
 *       hidden_tests  string of at most 65536 bytes, never shown to the LLM.
 *                     Default "".
 *       constraints   array of at most 32 strings, each trimmed like goal and
 *                     then 1..1024 bytes. Default [].
 *       timeout_s     integer from 1 to 3600. Default 10.
 *       set           the benchmark set or group the task belongs to (never
 *                     a skill): 1..64 characters of a-z, 0-9, '_', '-' and
 *                     '.' once ASCII letters are lowercased, starting with a
 *                     letter or digit. Default: none.
 *       problem_id    the problem's id within its benchmark ("HumanEval/0"):
 *                     a trimmed string of 1..256 bytes. Default: none.
 *       held_out      boolean: the task's text, tests and code never appear
 *                     in any prompt but its own. Default false.
 *       max_attempts  integer from 1 to 100: this task's limit on attempts
 *                     (1 = single shot). Default: the Builder's setting.
 *       memory        boolean: false = no recall of past tasks in its
 *                     prompts. Default true.
 *     Internal fields, taken only with TASK_PARSE_INTERNAL (the Trainer's
 *     and the seed curriculum's tasks); a user's line naming one is refused
 *     ("field 'reference' is internal: ..."):
 *       reference     string of at most 65536 bytes: a correct solution.
 *       id_hint       a trimmed string of 1..64 bytes: the seed's name.
 *       trainer       object of "strategy" (string), "reason" (string; both
 *                     at most 1024 bytes) and "fallback" (boolean), each
 *                     optional, nothing else.
 *     Inside JSON strings, escapes may produce TAB and newline; every other
 *     control character, \u0000 included, is refused. null is a wrong type
 *     like any other. An unknown field ("unknown field 'foo'"), a field given
 *     twice ("field 'goal' given twice"), a wrong type or an out-of-range
 *     value is refused with a message that names the field, says what it must
 *     be and shows what was given (cut to 40 bytes), e.g.
 *       field 'difficulty' must be a number from 0 to 1, got "x"
 *  5. Otherwise the whole line, trimmed of spaces and tabs, is the goal
 *     (1..8192 bytes) and every other field takes its default.
 *
 * The result is canonical compact JSON with the keys always in this order:
 * goal, difficulty, priority, skills, language, tests, hidden_tests,
 * constraints, timeout_s, then -- only when they differ from their
 * defaults -- set, problem_id, held_out, max_attempts, memory, then the
 * internal reference, id_hint and trainer when given; so equal tasks are
 * equal strings.
 *
 * One concept, the definition and its parser, in one file of about a
 * thousand lines: this comment and one check per field are most of it. The
 * text rules (task_text.c), the languages (task_lang.c) and the stored
 * document (task_doc.c) have their own.
 *
 * Known leniency, inherited from cJSON: numbers such as 01 or 1. are read as
 * 1, and a raw TAB inside a JSON string is taken as a TAB.
 */
#include "task.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "task_lang.h"
#include "task_text.h"

/* How much of a bad value or name an error message quotes. */
#define TASK_QUOTE_MAX 40

enum task_field {
    F_GOAL,
    F_DIFFICULTY,
    F_PRIORITY,
    F_SKILLS,
    F_LANGUAGE,
    F_TESTS,
    F_HIDDEN_TESTS,
    F_CONSTRAINTS,
    F_TIMEOUT_S,
    F_SET,
    F_PROBLEM_ID,
    F_HELD_OUT,
    F_MAX_ATTEMPTS,
    F_MEMORY,
    F_REFERENCE,
    F_ID_HINT,
    F_TRAINER,
    F_COUNT
};

/* The field table, in canonical output order (task.h). */
static const struct task_field_info fields[F_COUNT] = {
    [F_GOAL] = { "goal", 0 },
    [F_DIFFICULTY] = { "difficulty", 0 },
    [F_PRIORITY] = { "priority", 0 },
    [F_SKILLS] = { "skills", 0 },
    [F_LANGUAGE] = { "language", 0 },
    [F_TESTS] = { "tests", TASK_FIELD_CODE },
    [F_HIDDEN_TESTS] = { "hidden_tests", TASK_FIELD_CODE },
    [F_CONSTRAINTS] = { "constraints", 0 },
    [F_TIMEOUT_S] = { "timeout_s", 0 },
    [F_SET] = { "set", TASK_FIELD_OPTIONAL },
    [F_PROBLEM_ID] = { "problem_id", TASK_FIELD_OPTIONAL },
    [F_HELD_OUT] = { "held_out", TASK_FIELD_OPTIONAL },
    [F_MAX_ATTEMPTS] = { "max_attempts", TASK_FIELD_OPTIONAL },
    [F_MEMORY] = { "memory", TASK_FIELD_OPTIONAL },
    [F_REFERENCE] = { "reference", TASK_FIELD_OPTIONAL | TASK_FIELD_CODE |
                                   TASK_FIELD_INTERNAL },
    [F_ID_HINT] = { "id_hint", TASK_FIELD_OPTIONAL | TASK_FIELD_INTERNAL },
    [F_TRAINER] = { "trainer", TASK_FIELD_OPTIONAL | TASK_FIELD_INTERNAL },
};

_Static_assert(F_COUNT == TASK_FIELD_COUNT, "task.h counts the fields");

/* A definition being validated. Strings point into the parsed cJSON tree
 * (or at string constants for defaults); they live as long as that tree. */
struct task_fields {
    const char *goal;          /* trimmed, NUL-terminated                 */
    double difficulty;
    int priority;
    const cJSON *skills;       /* array, items lowercased; NULL means []  */
    const char *language;
    const char *tests;
    const char *hidden_tests;
    const cJSON *constraints;  /* array, items trimmed; NULL means []     */
    int timeout_s;
    const char *set;           /* lowercased; NULL means none             */
    const char *problem_id;    /* trimmed; NULL means none                */
    bool held_out;
    int max_attempts;          /* 0 means the Builder's setting           */
    bool memory;
    const char *reference;     /* NULL means none                         */
    const char *id_hint;       /* trimmed; NULL means none                */
    const cJSON *trainer;      /* checked object; NULL means none         */
};

/* ---- error messages ------------------------------------------------- */

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes the reason into err (always NUL-terminated when errlen > 0, cut on
 * a character boundary) and returns rc, so that callers can say
 * "return fail(...)". */
static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (err == NULL || errlen == 0)
        return rc;
    va_start(ap, fmt);
    n = vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    if (n < 0)
        err[0] = '\0';
    else if ((size_t)n >= errlen)
        err[task_text_cut(err, errlen - 1)] = '\0';
    return rc;
}

/* Renders at most TASK_QUOTE_MAX bytes of s between 'quote' characters,
 * escaping the quote, backslashes and control characters so that the
 * message stays one printable line; "..." marks a cut. */
static void quote_text(const char *s, char quote, char *buf, size_t size)
{
    size_t len = strlen(s), take = len, o = 0, i;
    bool cut;

    if (take > TASK_QUOTE_MAX)
        take = task_text_cut(s, TASK_QUOTE_MAX);
    cut = take < len;
    /* A byte takes at most 6 bytes (\u00XX); QUOTE_BUF holds TASK_QUOTE_MAX
     * of them, so the room check below is only a guard. */
    buf[o++] = quote;
    for (i = 0; i < take; i++) {
        if (o + 6 + 3 + 2 >= size) {
            cut = true;
            break;
        }
        unsigned char c = (unsigned char)s[i];
        if (c == (unsigned char)quote || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c == '\n') {
            buf[o++] = '\\';
            buf[o++] = 'n';
        } else if (c == '\t') {
            buf[o++] = '\\';
            buf[o++] = 't';
        } else if (c < 0x20 || c == 0x7F) {
            o += (size_t)snprintf(buf + o, size - o, "\\u%04x", c);
        } else {
            buf[o++] = (char)c;
        }
    }
    if (cut) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o++] = quote;
    buf[o] = '\0';
}

#define QUOTE_BUF (TASK_QUOTE_MAX * 6 + 16)

/* Describes a JSON value for "got ..." in a message. */
static const char *describe(const cJSON *v, char *buf, size_t size)
{
    if (cJSON_IsString(v))
        quote_text(v->valuestring, '"', buf, size);
    else if (cJSON_IsNumber(v) && !isfinite(v->valuedouble))
        snprintf(buf, size, "a number too large to represent");
    else if (cJSON_IsNumber(v))
        snprintf(buf, size, "%.15g", v->valuedouble);
    else if (cJSON_IsNull(v))
        snprintf(buf, size, "null");
    else if (cJSON_IsTrue(v))
        snprintf(buf, size, "true");
    else if (cJSON_IsFalse(v))
        snprintf(buf, size, "false");
    else if (cJSON_IsArray(v))
        snprintf(buf, size, "an array");
    else if (cJSON_IsObject(v))
        snprintf(buf, size, "an object");
    else
        snprintf(buf, size, "something else");
    return buf;
}

/* ---- field checks --------------------------------------------------- */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Trims spaces, tabs and newlines from both ends of s, in place. */
static size_t trim_in_place(char *s)
{
    size_t b = 0, e = strlen(s);

    while (b < e && (is_blank(s[b]) || s[b] == '\n'))
        b++;
    while (e > b && (is_blank(s[e - 1]) || s[e - 1] == '\n'))
        e--;
    memmove(s, s + b, e - b);
    s[e - b] = '\0';
    return e - b;
}

/* Checks a decoded JSON string; 'who' is "field 'x'" or "field 'x' item N".
 * cJSON only emits well-formed UTF-8, so TASK_TEXT_BAD_UTF8 is a safety net. */
static int check_text(const char *who, const char *s, char *err, size_t errlen)
{
    size_t pos;
    uint32_t cp = 0;

    switch (task_text_scan(s, strlen(s), true, &pos, &cp)) {
    case TASK_TEXT_OK:
        return 0;
    case TASK_TEXT_BAD_UTF8:
        return fail(err, errlen, -EINVAL, "%s is not valid UTF-8", who);
    case TASK_TEXT_CONTROL:
        break;
    }
    return fail(err, errlen, -EINVAL,
                "%s must not contain control character U+%04X "
                "(only tab and newline are allowed)", who, (unsigned)cp);
}

/* A string field with a length limit and no trimming (tests are code). */
static int parse_code(cJSON *v, const char *name, const char **out,
                      char *err, size_t errlen)
{
    char who[64], got[QUOTE_BUF];
    size_t len;

    snprintf(who, sizeof(who), "field '%s'", name);
    if (!cJSON_IsString(v))
        return fail(err, errlen, -EINVAL, "%s must be a string, got %s",
                    who, describe(v, got, sizeof(got)));
    len = strlen(v->valuestring);
    if (len > TASK_MAX_TESTS)
        return fail(err, errlen, -EINVAL,
                    "%s must be at most %d bytes, got %zu", who,
                    TASK_MAX_TESTS, len);
    *out = v->valuestring;
    return check_text(who, v->valuestring, err, errlen);
}

/* A trimmed, non-empty text of at most 'max' bytes (goal, a constraint). */
static int parse_phrase(cJSON *v, const char *who, size_t max,
                        char *err, size_t errlen)
{
    char got[QUOTE_BUF];
    size_t len;

    if (!cJSON_IsString(v))
        return fail(err, errlen, -EINVAL, "%s must be a string, got %s",
                    who, describe(v, got, sizeof(got)));
    len = trim_in_place(v->valuestring);
    if (len == 0)
        return fail(err, errlen, -EINVAL, "%s must not be empty", who);
    if (len > max)
        return fail(err, errlen, -EINVAL, "%s must be at most %zu bytes, got %zu",
                    who, max, len);
    return check_text(who, v->valuestring, err, errlen);
}

/* An integral number within [min, max]. */
static int parse_int(const cJSON *v, const char *name, int min, int max,
                     int *out, char *err, size_t errlen)
{
    char got[QUOTE_BUF];
    double d;

    /* The range test comes first so that the cast below is defined; it
     * also refuses infinities (1e999). */
    if (cJSON_IsNumber(v)) {
        d = v->valuedouble;
        if (d >= min && d <= max && d == (double)(int)d) {
            *out = (int)d;
            return 0;
        }
    }
    return fail(err, errlen, -EINVAL,
                "field '%s' must be an integer from %d to %d, got %s",
                name, min, max, describe(v, got, sizeof(got)));
}

static int parse_difficulty(const cJSON *v, double *out, char *err, size_t errlen)
{
    char got[QUOTE_BUF];

    if (cJSON_IsNumber(v) && v->valuedouble >= 0.0 && v->valuedouble <= 1.0) {
        /* -0 would print as "-0": keep the output canonical. */
        *out = v->valuedouble == 0.0 ? 0.0 : v->valuedouble;
        return 0;
    }
    return fail(err, errlen, -EINVAL,
                "field 'difficulty' must be a number from 0 to 1, got %s",
                describe(v, got, sizeof(got)));
}

static int parse_language(const cJSON *v, const char **out, char *err, size_t errlen)
{
    char got[QUOTE_BUF];
    enum task_lang lang;

    if (cJSON_IsString(v) && task_lang_from_name(v->valuestring, &lang) == 0) {
        *out = task_lang_name(lang);
        return 0;
    }
    return fail(err, errlen, -EINVAL,
                "field 'language' must be one of %s, got %s",
                task_lang_list(true), describe(v, got, sizeof(got)));
}

static bool skill_ok(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++, n++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return n >= 1 && n <= TASK_MAX_SKILL_LEN;
}

static void lowercase(char *p)
{
    for (; *p != '\0'; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
}

bool task_set_name_ok(const char *s)
{
    size_t n = 0;

    if (s == NULL || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                       (*s >= '0' && *s <= '9')))
        return false;
    for (; *s != '\0'; s++, n++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
            return false;
    }
    return n <= TASK_MAX_SET_LEN;
}

/* The set's name doubles as a file name (eval/SET.json), hence the rule. */
static int parse_set(cJSON *v, const char **out, char *err, size_t errlen)
{
    char got[QUOTE_BUF];

    if (!cJSON_IsString(v) || !task_set_name_ok(v->valuestring))
        return fail(err, errlen, -EINVAL,
                    "field 'set' must be 1 to %d characters from a-z, 0-9, "
                    "'_', '-' and '.', starting with a letter or digit, got %s",
                    TASK_MAX_SET_LEN, describe(v, got, sizeof(got)));
    lowercase(v->valuestring);
    *out = v->valuestring;
    return 0;
}

static int parse_bool(const cJSON *v, const char *name, bool *out,
                      char *err, size_t errlen)
{
    char got[QUOTE_BUF];

    if (!cJSON_IsBool(v))
        return fail(err, errlen, -EINVAL,
                    "field '%s' must be true or false, got %s", name,
                    describe(v, got, sizeof(got)));
    *out = cJSON_IsTrue(v);
    return 0;
}

static int parse_skills(cJSON *v, const cJSON **out, char *err, size_t errlen)
{
    char got[QUOTE_BUF];
    cJSON *it;
    int n, i = 0;

    if (!cJSON_IsArray(v))
        return fail(err, errlen, -EINVAL,
                    "field 'skills' must be an array of strings, got %s",
                    describe(v, got, sizeof(got)));
    n = cJSON_GetArraySize(v);
    if (n > TASK_MAX_SKILLS)
        return fail(err, errlen, -EINVAL,
                    "field 'skills' must have at most %d items, got %d",
                    TASK_MAX_SKILLS, n);
    cJSON_ArrayForEach(it, v) {
        i++;
        if (!cJSON_IsString(it))
            return fail(err, errlen, -EINVAL,
                        "field 'skills' item %d must be a string, got %s",
                        i, describe(it, got, sizeof(got)));
        if (!skill_ok(it->valuestring))
            return fail(err, errlen, -EINVAL,
                        "field 'skills' item %d must be 1 to %d characters "
                        "from a-z, 0-9, '_' and '-', got %s",
                        i, TASK_MAX_SKILL_LEN, describe(it, got, sizeof(got)));
        lowercase(it->valuestring);
    }
    *out = v;
    return 0;
}

static int parse_constraints(cJSON *v, const cJSON **out, char *err, size_t errlen)
{
    char got[QUOTE_BUF], who[64];
    cJSON *it;
    int n, i = 0, rc;

    if (!cJSON_IsArray(v))
        return fail(err, errlen, -EINVAL,
                    "field 'constraints' must be an array of strings, got %s",
                    describe(v, got, sizeof(got)));
    n = cJSON_GetArraySize(v);
    if (n > TASK_MAX_CONSTRAINTS)
        return fail(err, errlen, -EINVAL,
                    "field 'constraints' must have at most %d items, got %d",
                    TASK_MAX_CONSTRAINTS, n);
    cJSON_ArrayForEach(it, v) {
        snprintf(who, sizeof(who), "field 'constraints' item %d", ++i);
        rc = parse_phrase(it, who, TASK_MAX_CONSTRAINT, err, errlen);
        if (rc < 0)
            return rc;
    }
    *out = v;
    return 0;
}

/* The Trainer's note on why it made the task: {"strategy", "reason",
 * "fallback"}, each optional, nothing else. */
static int parse_trainer(const cJSON *v, char *err, size_t errlen)
{
    char got[QUOTE_BUF];
    const cJSON *it, *prev;
    size_t len;

    if (!cJSON_IsObject(v))
        return fail(err, errlen, -EINVAL,
                    "field 'trainer' must be an object, got %s",
                    describe(v, got, sizeof(got)));
    cJSON_ArrayForEach(it, v) {
        for (prev = v->child; prev != it; prev = prev->next)
            if (strcmp(prev->string, it->string) == 0)
                return fail(err, errlen, -EINVAL,
                            "field 'trainer' member '%s' given twice",
                            it->string);
        if (strcmp(it->string, "fallback") == 0) {
            if (!cJSON_IsBool(it))
                return fail(err, errlen, -EINVAL, "field 'trainer' member "
                            "'fallback' must be true or false, got %s",
                            describe(it, got, sizeof(got)));
        } else if (strcmp(it->string, "strategy") == 0 ||
                   strcmp(it->string, "reason") == 0) {
            if (!cJSON_IsString(it))
                return fail(err, errlen, -EINVAL, "field 'trainer' member "
                            "'%s' must be a string, got %s", it->string,
                            describe(it, got, sizeof(got)));
            len = strlen(it->valuestring);
            if (len > TASK_MAX_TRAINER_NOTE)
                return fail(err, errlen, -EINVAL, "field 'trainer' member "
                            "'%s' must be at most %d bytes, got %zu",
                            it->string, TASK_MAX_TRAINER_NOTE, len);
            if (check_text("field 'trainer'", it->valuestring, err,
                           errlen) < 0)
                return -EINVAL;
        } else {
            quote_text(it->string, '\'', got, sizeof(got));
            return fail(err, errlen, -EINVAL,
                        "field 'trainer' has unknown member %s", got);
        }
    }
    return 0;
}

static bool hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    int i;

    for (i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return false;
    }
    *out = v;
    return true;
}

/* cJSON decodes "\u0000" to a NUL that silently ends its C string, and a
 * malformed "\uXXXX" to NUL as well, so a goal "a\u0000rm -rf" would come
 * out as "a" and the key "goal\u0000x" as "goal". The tree cannot show this,
 * so look for such escapes in the text. Runs only on text cJSON accepted:
 * strings and nesting are well formed. 'base' turns positions into line
 * offsets. */
static int check_escapes(const char *s, size_t n, size_t base,
                         char *err, size_t errlen)
{
    size_t i, depth = 0, str_start = 0, key = 0, key_len = 0;
    bool in_str = false, in_key = false;
    char last = 0;             /* last of '{' ',' ':' outside strings at depth 1 */
    unsigned v;

    for (i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '"') {
                in_str = false;
                if (in_key) {
                    key = str_start + 1;
                    key_len = i - key;
                }
            } else if (c == '\\' && i + 1 < n && s[i + 1] == 'u') {
                if (i + 6 > n || !hex4(s + i + 2, &v))
                    return fail(err, errlen, -EINVAL,
                                "not valid JSON: bad \\u escape at offset %zu",
                                base + i);
                if (v == 0 && in_key)
                    return fail(err, errlen, -EINVAL,
                                "a field name contains \\u0000 at offset %zu; "
                                "NUL is not allowed", base + i);
                if (v == 0)
                    return fail(err, errlen, -EINVAL,
                                "field '%.*s' must not contain \\u0000 "
                                "(at offset %zu); NUL is not allowed",
                                (int)task_text_cut(s + key, key_len < TASK_QUOTE_MAX
                                              ? key_len : TASK_QUOTE_MAX),
                                s + key, base + i);
                i += 5;
            } else if (c == '\\') {
                i++;
            }
        } else if (c == '"') {
            in_str = true;
            str_start = i;
            in_key = depth == 1 && (last == '{' || last == ',');
        } else if (c == '{' || c == '[') {
            if (++depth == 1)
                last = c;
        } else if (c == '}' || c == ']') {
            depth--;
        } else if (depth == 1 && (c == ',' || c == ':')) {
            last = c;
        }
    }
    return 0;
}

/* cJSON refuses arrays and objects nested deeper than CJSON_NESTING_LIMIT
 * with the same NULL as a syntax error; this tells the two apart. Returns
 * the offset of the bracket that goes too deep, or SIZE_MAX. */
static size_t too_deep(const char *s, size_t n)
{
    size_t depth = 0;
    bool in_str = false;

    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > CJSON_NESTING_LIMIT)
                return i;
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return SIZE_MAX;
}

static int lookup_field(const char *name)
{
    int k;

    for (k = 0; k < F_COUNT; k++)
        if (strcmp(name, fields[k].name) == 0)
            return k;
    return -1;
}

/* Parses the object in text[0..n) (text[n] is NUL) into *f. The values
 * point into *rootp, which the caller deletes whatever happens. */
static int parse_object(char *text, size_t n, size_t base, unsigned flags,
                        cJSON **rootp, struct task_fields *f,
                        char *err, size_t errlen)
{
    bool seen[F_COUNT] = { false };
    char got[QUOTE_BUF];
    const char *end = NULL;
    cJSON *root, *it;
    size_t stop;
    int k, rc = 0;

    /* Not cJSON's require_null_terminated: the trailing check is done here
     * so that it gets its own message, and cJSON_GetErrorPtr is avoided
     * because it is process-global, while this parser must be thread-safe. */
    root = cJSON_ParseWithLengthOpts(text, n, &end, 0);
    *rootp = root;
    if (root == NULL) {
        size_t deep = too_deep(text, n);
        /* cJSON stops where it gives up: a syntax error before the deep
         * part is a syntax error. */
        if (deep != SIZE_MAX && (end == NULL || deep <= (size_t)(end - text)))
            return fail(err, errlen, -EINVAL, "not valid JSON: nested "
                        "deeper than %d levels at offset %zu (the JSON "
                        "parser's limit)", CJSON_NESTING_LIMIT, base + deep);
        return fail(err, errlen, -EINVAL, "not valid JSON: syntax error at offset %zu",
                    base + (end != NULL ? (size_t)(end - text) : 0));
    }
    if (!cJSON_IsObject(root))
        return fail(err, errlen, -EINVAL, "not valid JSON: not an object");
    stop = (size_t)(end - text);
    while (stop < n && is_blank(text[stop]))
        stop++;
    if (stop < n)
        return fail(err, errlen, -EINVAL,
                    "trailing characters after the JSON object at offset %zu",
                    base + stop);
    rc = check_escapes(text, n, base, err, errlen);
    if (rc < 0)
        return rc;

    cJSON_ArrayForEach(it, root) {
        k = lookup_field(it->string);
        if (k < 0) {
            quote_text(it->string, '\'', got, sizeof(got));
            return fail(err, errlen, -EINVAL, "unknown field %s", got);
        }
        if ((fields[k].flags & TASK_FIELD_INTERNAL) &&
            !(flags & TASK_PARSE_INTERNAL))
            return fail(err, errlen, -EINVAL, "field '%s' is internal: only "
                        "the Trainer and the seed curriculum set it",
                        fields[k].name);
        if (seen[k])
            return fail(err, errlen, -EINVAL, "field '%s' given twice", fields[k].name);
        seen[k] = true;
        switch ((enum task_field)k) {
        case F_GOAL:
            rc = parse_phrase(it, "field 'goal'", TASK_MAX_GOAL, err, errlen);
            f->goal = it->valuestring;
            break;
        case F_DIFFICULTY:
            rc = parse_difficulty(it, &f->difficulty, err, errlen);
            break;
        case F_PRIORITY:
            rc = parse_int(it, "priority", TASK_MIN_PRIORITY, TASK_MAX_PRIORITY,
                           &f->priority, err, errlen);
            break;
        case F_SKILLS:
            rc = parse_skills(it, &f->skills, err, errlen);
            break;
        case F_LANGUAGE:
            rc = parse_language(it, &f->language, err, errlen);
            break;
        case F_TESTS:
            rc = parse_code(it, "tests", &f->tests, err, errlen);
            break;
        case F_HIDDEN_TESTS:
            rc = parse_code(it, "hidden_tests", &f->hidden_tests, err, errlen);
            break;
        case F_CONSTRAINTS:
            rc = parse_constraints(it, &f->constraints, err, errlen);
            break;
        case F_TIMEOUT_S:
            rc = parse_int(it, "timeout_s", 1, TASK_MAX_TIMEOUT_S,
                           &f->timeout_s, err, errlen);
            break;
        case F_SET:
            rc = parse_set(it, &f->set, err, errlen);
            break;
        case F_PROBLEM_ID:
            rc = parse_phrase(it, "field 'problem_id'", TASK_MAX_PROBLEM_ID,
                              err, errlen);
            f->problem_id = it->valuestring;
            break;
        case F_HELD_OUT:
            rc = parse_bool(it, "held_out", &f->held_out, err, errlen);
            break;
        case F_MAX_ATTEMPTS:
            rc = parse_int(it, "max_attempts", 1, TASK_MAX_ATTEMPTS,
                           &f->max_attempts, err, errlen);
            break;
        case F_MEMORY:
            rc = parse_bool(it, "memory", &f->memory, err, errlen);
            break;
        case F_REFERENCE:
            rc = parse_code(it, "reference", &f->reference, err, errlen);
            break;
        case F_ID_HINT:
            rc = parse_phrase(it, "field 'id_hint'", TASK_MAX_ID_HINT,
                              err, errlen);
            f->id_hint = it->valuestring;
            break;
        case F_TRAINER:
            rc = parse_trainer(it, err, errlen);
            f->trainer = it;
            break;
        case F_COUNT:
            break;
        }
        if (rc < 0)
            return rc;
    }
    if (!seen[F_GOAL])
        return fail(err, errlen, -EINVAL, "field 'goal' is required");
    return 0;
}

/* ---- output --------------------------------------------------------- */

/* Adds the strings of 'src' (NULL means none) to a new array 'name' of o,
 * skipping repeats when 'dedup'. */
static bool add_strings(cJSON *o, const char *name, const cJSON *src, bool dedup)
{
    cJSON *a = cJSON_AddArrayToObject(o, name), *it, *prev;
    bool dup;

    if (a == NULL)
        return false;
    cJSON_ArrayForEach(it, src) {
        dup = false;
        for (prev = src->child; dedup && prev != it; prev = prev->next)
            if (strcmp(prev->valuestring, it->valuestring) == 0)
                dup = true;
        /* cJSON_AddItemToArray refuses a NULL item, so a failed
         * cJSON_CreateString shows up here and leaks nothing. */
        if (!dup && !cJSON_AddItemToArray(a, cJSON_CreateString(it->valuestring)))
            return false;
    }
    return true;
}

/* Adds the checked trainer note with its members in canonical order. */
static bool add_trainer(cJSON *o, const cJSON *src)
{
    static const char *const order[] = { "strategy", "reason", "fallback" };
    cJSON *t = cJSON_AddObjectToObject(o, "trainer");
    const cJSON *v;

    if (t == NULL)
        return false;
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        v = cJSON_GetObjectItemCaseSensitive(src, order[i]);
        if (v != NULL && !cJSON_AddItemToObject(t, order[i],
                                                cJSON_Duplicate(v, false)))
            return false;
    }
    return true;
}

/* Renders f as canonical JSON into a malloc'd string. */
static int render(const struct task_fields *f, char **out)
{
    cJSON *o = cJSON_CreateObject();
    char *printed;
    bool ok;

    if (o == NULL)
        return -ENOMEM;
    ok = cJSON_AddStringToObject(o, "goal", f->goal) != NULL &&
         cJSON_AddNumberToObject(o, "difficulty", f->difficulty) != NULL &&
         cJSON_AddNumberToObject(o, "priority", f->priority) != NULL &&
         add_strings(o, "skills", f->skills, true) &&
         cJSON_AddStringToObject(o, "language", f->language) != NULL &&
         cJSON_AddStringToObject(o, "tests", f->tests) != NULL &&
         cJSON_AddStringToObject(o, "hidden_tests", f->hidden_tests) != NULL &&
         add_strings(o, "constraints", f->constraints, false) &&
         cJSON_AddNumberToObject(o, "timeout_s", f->timeout_s) != NULL &&
         (f->set == NULL ||
          cJSON_AddStringToObject(o, "set", f->set) != NULL) &&
         (f->problem_id == NULL ||
          cJSON_AddStringToObject(o, "problem_id", f->problem_id) != NULL) &&
         (!f->held_out || cJSON_AddTrueToObject(o, "held_out") != NULL) &&
         (f->max_attempts == 0 ||
          cJSON_AddNumberToObject(o, "max_attempts", f->max_attempts) != NULL) &&
         (f->memory || cJSON_AddFalseToObject(o, "memory") != NULL) &&
         (f->reference == NULL ||
          cJSON_AddStringToObject(o, "reference", f->reference) != NULL) &&
         (f->id_hint == NULL ||
          cJSON_AddStringToObject(o, "id_hint", f->id_hint) != NULL) &&
         (f->trainer == NULL || add_trainer(o, f->trainer));
    printed = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (printed == NULL)
        return -ENOMEM;
    /* The header promises malloc'd memory, while cJSON's allocator is
     * process-wide and replaceable (cJSON_InitHooks): hand out our own. */
    *out = strdup(printed);
    cJSON_free(printed);
    return *out != NULL ? 0 : -ENOMEM;
}

/* ---- public --------------------------------------------------------- */

int task_parse_line(const char *line, size_t len, struct task_def *out,
                    char *err, size_t errlen)
{
    return task_parse_line_flags(line, len, 0, out, err, errlen);
}

int task_parse_line_flags(const char *line, size_t len, unsigned flags,
                          struct task_def *out, char *err, size_t errlen)
{
    struct task_fields f = {
        .difficulty = TASK_DEFAULT_DIFFICULTY,
        .priority = 0,
        .language = TASK_DEFAULT_LANGUAGE,
        .tests = "",
        .hidden_tests = "",
        .timeout_s = TASK_DEFAULT_TIMEOUT_S,
        .memory = true,
    };
    cJSON *root = NULL;
    char *text = NULL;
    size_t b, e, pos = 0;
    uint32_t cp = 0;
    int rc;

    out->json = NULL;
    out->priority = 0;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (line == NULL)
        len = 0;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len > TASK_MAX_LINE)
        return fail(err, errlen, -EFBIG, "line is %zu bytes; the limit is %d",
                    len, TASK_MAX_LINE);
    switch (task_text_scan(line, len, false, &pos, &cp)) {
    case TASK_TEXT_OK:
        break;
    case TASK_TEXT_BAD_UTF8:
        return fail(err, errlen, -EINVAL, "invalid UTF-8 at offset %zu", pos);
    case TASK_TEXT_CONTROL:
        if (cp == 0)
            return fail(err, errlen, -EINVAL,
                        "NUL byte at offset %zu is not allowed", pos);
        return fail(err, errlen, -EINVAL,
                    "control character U+%04X at offset %zu is not allowed "
                    "(only tab is)", (unsigned)cp, pos);
    }
    b = 0;
    e = len;
    while (b < e && is_blank(line[b]))
        b++;
    while (e > b && is_blank(line[e - 1]))
        e--;
    if (b == e)
        return fail(err, errlen, -EINVAL, "empty line: a task needs a goal");

    /* A NUL-terminated copy: cJSON and the plain goal both want one, and
     * cJSON then never depends on its own bounds checks. */
    text = malloc(e - b + 1);
    if (text == NULL)
        return fail(err, errlen, -ENOMEM, "out of memory");
    memcpy(text, line + b, e - b);
    text[e - b] = '\0';

    if (text[0] == '{') {
        rc = parse_object(text, e - b, b, flags, &root, &f, err, errlen);
        if (rc < 0)
            goto out;
    } else {
        if (e - b > TASK_MAX_GOAL) {
            rc = fail(err, errlen, -EINVAL,
                      "field 'goal' must be at most %d bytes, got %zu",
                      TASK_MAX_GOAL, e - b);
            goto out;
        }
        f.goal = text;
    }
    rc = render(&f, &out->json);
    if (rc < 0) {
        fail(err, errlen, rc, "out of memory");
        goto out;
    }
    out->priority = f.priority;
out:
    cJSON_Delete(root);
    free(text);
    return rc;
}

void task_def_free(struct task_def *def)
{
    if (def == NULL)
        return;
    free(def->json);
    def->json = NULL;
}

const char *task_language_ext(const char *language)
{
    enum task_lang lang;

    if (task_lang_from_name(language, &lang) < 0)
        return NULL;
    return task_lang_ext(lang);
}

const struct task_field_info *task_field(size_t i)
{
    return i < F_COUNT ? &fields[i] : NULL;
}

const struct task_field_info *task_field_find(const char *name)
{
    int k = name != NULL ? lookup_field(name) : -1;

    return k >= 0 ? &fields[k] : NULL;
}
