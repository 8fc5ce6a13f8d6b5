/* test_task.c -- unit tests of the task-line parser (task/task.c).
 *
 * Mostly tables: lines that must be refused (with the errno and the words
 * the message must hold, always the field's name), lines that must be
 * accepted (with the exact value the canonical JSON must hold for a field),
 * and built-at-run-time lines for every limit, checked on both sides.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "task.h"
#include "task_doc.h"

#define ERRLEN 512

/* Canonical key order of task_def.json. */
static const char *const keys[] = {
    "goal", "difficulty", "priority", "skills", "language", "tests",
    "hidden_tests", "constraints", "timeout_s",
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const defaults_json =
    "{\"goal\":\"x\",\"difficulty\":0.5,\"priority\":0,\"skills\":[],"
    "\"language\":\"python\",\"tests\":\"\",\"hidden_tests\":\"\","
    "\"constraints\":[],\"timeout_s\":10}";

/* ---- helpers -------------------------------------------------------- */

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    return s;
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);

    /* abort(), not assert_non_null: gcc must see that s is not NULL. */
    if (s == NULL)
        abort();
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* "[\"p0\",\"p1\",...]" with n items; each item is 'prefix' + its number. */
static char *string_array(const char *prefix, int n)
{
    size_t cap = 16 + (size_t)n * (strlen(prefix) + 16), o = 0;
    char *s = malloc(cap);
    int i;

    assert_non_null(s);
    s[o++] = '[';
    for (i = 0; i < n; i++)
        o += (size_t)snprintf(s + o, cap - o, "%s\"%s%d\"", i ? "," : "", prefix, i);
    s[o++] = ']';
    s[o] = '\0';
    return s;
}

/* Checks that json is an object with exactly the canonical keys, in order. */
static void check_canonical(const char *what, const char *json)
{
    cJSON *root = cJSON_Parse(json), *it;
    size_t k = 0;

    if (root == NULL || !cJSON_IsObject(root))
        fail_msg("%s: output is not a JSON object: %s", what, json);
    cJSON_ArrayForEach(it, root) {
        if (k >= NKEYS || strcmp(it->string, keys[k]) != 0)
            fail_msg("%s: key %zu is '%s', want '%s'", what, k, it->string,
                     k < NKEYS ? keys[k] : "(none)");
        k++;
    }
    if (k != NKEYS)
        fail_msg("%s: %zu keys, want %zu", what, k, NKEYS);
    cJSON_Delete(root);
}

/* Parses a line that must be accepted; returns its JSON (caller frees),
 * checked for canonical order and for being its own canonical form. */
static char *accept_line(const char *what, const char *line, size_t len, int *priority)
{
    struct task_def def = { 0 }, again = { 0 };
    char err[ERRLEN] = "junk";
    int rc = task_parse_line(line, len, &def, err, sizeof(err));
    char *json;

    if (rc != 0)
        fail_msg("%s: refused (%d): %s", what, rc, err);
    if (def.json == NULL || err[0] != '\0')
        fail_msg("%s: no json, or err not cleared: '%s'", what, err);
    check_canonical(what, def.json);
    /* The canonical form is itself a valid line that maps to itself. */
    rc = task_parse_line(def.json, strlen(def.json), &again, err, sizeof(err));
    if (rc != 0 || strcmp(again.json, def.json) != 0)
        fail_msg("%s: output does not re-parse to itself (%d %s): %s", what,
                 rc, err, def.json);
    task_def_free(&again);
    if (priority != NULL)
        *priority = def.priority;
    json = def.json;
    def.json = NULL;
    return json;
}

/* The compact JSON of one field of an accepted line's output. */
static char *field_of(const char *json, const char *key)
{
    cJSON *root = cJSON_Parse(json);
    char *printed, *copy;

    assert_non_null(root);
    printed = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(root, key));
    assert_non_null(printed);
    copy = strdup(printed);
    cJSON_free(printed);
    cJSON_Delete(root);
    assert_non_null(copy);
    return copy;
}

/* Parses a line that must be refused with rc and a message holding 'want'
 * and, if not NULL, 'want2'. */
static void refuse_line(const char *what, const char *line, size_t len, int want_rc,
                        const char *want, const char *want2)
{
    static char sentinel[] = "sentinel";
    struct task_def def = { .json = sentinel, .priority = 99 };
    char err[ERRLEN] = "";
    int rc = task_parse_line(line, len, &def, err, sizeof(err));

    if (rc != want_rc)
        fail_msg("%s: rc %d, want %d (err '%s', json %s)", what, rc, want_rc, err,
                 def.json != NULL && def.json != sentinel ? def.json : "-");
    if (def.json != NULL || def.priority != 0)
        fail_msg("%s: def not cleared on failure", what);
    if (strstr(err, want) == NULL || (want2 != NULL && strstr(err, want2) == NULL))
        fail_msg("%s: err '%s' lacks '%s'%s%s", what, err, want,
                 want2 ? " / " : "", want2 ? want2 : "");
    if (strchr(err, '\n') != NULL)
        fail_msg("%s: err is not one line: '%s'", what, err);
}

/* ---- tables --------------------------------------------------------- */

/* len 0 means strlen(line). */
struct bad_case {
    const char *line;
    size_t len;
    const char *want;          /* must appear in the message */
    const char *want2;         /* also, if not NULL          */
};

#define FIELD(name) "field '" name "' "
#define G(rest) "{\"goal\":\"x\"," rest "}"

static const struct bad_case bad_lines[] = {
    /* empty */
    { "", 0, "empty line: a task needs a goal", NULL },
    { "   ", 0, "empty line: a task needs a goal", NULL },
    { "\t \t", 0, "empty line: a task needs a goal", NULL },
    { "\r", 0, "empty line: a task needs a goal", NULL },
    { "  \t\r", 0, "empty line: a task needs a goal", NULL },
    /* control characters and NUL in the raw line */
    { "ab\x01" "c", 0, "control character U+0001 at offset 2", NULL },
    { "a\rb", 0, "control character U+000D at offset 1", NULL },
    { "a\r\r", 0, "control character U+000D at offset 1", NULL },
    { "a\nb", 0, "control character U+000A at offset 1", NULL },
    { "\x1b[1m", 0, "control character U+001B at offset 0", NULL },
    { "x\x7f", 0, "control character U+007F at offset 1", NULL },
    { "x\xc2\x85", 0, "control character U+0085 at offset 1", NULL },
    { "x\xc2\x80", 0, "control character U+0080 at offset 1", NULL },
    { "ab\0c", 4, "NUL byte at offset 2", NULL },
    { "\0", 1, "NUL byte at offset 0", NULL },
    { "{\"goal\":\"a\x01\"}", 0, "control character U+0001 at offset 10", NULL },
    { "{\"goal\":\"a\0\"}", 13, "NUL byte at offset 10", NULL },
    /* invalid UTF-8 */
    { "a\xff", 0, "invalid UTF-8 at offset 1", NULL },
    { "\x80", 0, "invalid UTF-8 at offset 0", NULL },
    { "ab\xbf" "cd", 0, "invalid UTF-8 at offset 2", NULL },
    { "\xc0\xaf", 0, "invalid UTF-8 at offset 0", NULL },          /* overlong '/' */
    { "\xc1\xbf", 0, "invalid UTF-8 at offset 0", NULL },          /* overlong     */
    { "ab\xe0\x80\xaf", 0, "invalid UTF-8 at offset 2", NULL },    /* overlong 3   */
    { "\xe0\x9f\xbf", 0, "invalid UTF-8 at offset 0", NULL },      /* overlong 3   */
    { "\xf0\x80\x80\xaf", 0, "invalid UTF-8 at offset 0", NULL },  /* overlong 4   */
    { "\xf0\x8f\xbf\xbf", 0, "invalid UTF-8 at offset 0", NULL },  /* overlong 4   */
    { "\xed\xa0\x80", 0, "invalid UTF-8 at offset 0", NULL },      /* U+D800       */
    { "\xed\xbf\xbf", 0, "invalid UTF-8 at offset 0", NULL },      /* U+DFFF       */
    { "\xf4\x90\x80\x80", 0, "invalid UTF-8 at offset 0", NULL },  /* U+110000     */
    { "\xf5\x80\x80\x80", 0, "invalid UTF-8 at offset 0", NULL },
    { "x\xc3", 0, "invalid UTF-8 at offset 1", NULL },             /* truncated    */
    { "x\xe2\x82", 0, "invalid UTF-8 at offset 1", NULL },         /* truncated    */
    { "\xc3x", 0, "invalid UTF-8 at offset 0", NULL },             /* bad cont.    */
    { "{\"goal\":\"\xff\"}", 0, "invalid UTF-8 at offset 9", NULL },
    /* JSON syntax */
    { "{", 0, "not valid JSON", NULL },
    { "{\"goal\":}", 0, "not valid JSON: syntax error at offset 8", NULL },
    { "  {\"goal\":}", 0, "not valid JSON: syntax error at offset 10", NULL },
    { "{\"goal\" \"x\"}", 0, "not valid JSON", NULL },
    { "{\"goal\":\"x\",}", 0, "not valid JSON", NULL },
    { "{goal:\"x\"}", 0, "not valid JSON", NULL },
    { "{'goal':'x'}", 0, "not valid JSON", NULL },
    { "{\"goal\":\"x\"", 0, "not valid JSON", NULL },
    { "{\"goal\":\"x}", 0, "not valid JSON", NULL },
    { "{\"goal\":\"\\x\"}", 0, "not valid JSON", NULL },
    { "{\"goal\":\"\\ud800\"}", 0, "not valid JSON", NULL },       /* lone high  */
    { "{\"goal\":\"\\udc00\"}", 0, "not valid JSON", NULL },       /* lone low   */
    { "{\"goal\":\"\\ud800\\u0041\"}", 0, "not valid JSON", NULL },
    { "{\"goal\":\"a\\uZZZZ\"}", 0, "not valid JSON: bad \\u escape at offset 10", NULL },
    { "{\"goal\":\"x\"} x", 0, "trailing characters after the JSON object at offset 13", NULL },
    { "{\"goal\":\"x\"}{}", 0, "trailing characters after the JSON object", NULL },
    { "{\"goal\":\"x\"},", 0, "trailing characters after the JSON object", NULL },
    /* structure */
    { "{}", 0, "field 'goal' is required", NULL },
    { "{\"difficulty\":0.5}", 0, "field 'goal' is required", NULL },
    { G("\"foo\":1"), 0, "unknown field 'foo'", NULL },
    { "{\"Goal\":\"x\"}", 0, "unknown field 'Goal'", NULL },
    { G("\"goal \":1"), 0, "unknown field 'goal '", NULL },
    { "{\"goal\":\"x\",\"goal\":\"y\"}", 0, "field 'goal' given twice", NULL },
    { G("\"timeout_s\":5,\"timeout_s\":5"), 0, "field 'timeout_s' given twice", NULL },
    { G("\"skills\":[],\"skills\":[]"), 0, "field 'skills' given twice", NULL },
    { G("\"go\\u0000al\":1"), 0, "field name contains \\u0000", NULL },
    { "{\"goal\":\"a\\u0000b\"}", 0, FIELD("goal") "must not contain \\u0000", NULL },
    { G("\"tests\":\"\\u0000\""), 0, FIELD("tests") "must not contain \\u0000", NULL },
    { G("\"skills\":[\"a\\u0000\"]"), 0, FIELD("skills") "must not contain \\u0000", NULL },
    /* goal */
    { "{\"goal\":5}", 0, FIELD("goal") "must be a string", "got 5" },
    { "{\"goal\":null}", 0, FIELD("goal") "must be a string", "got null" },
    { "{\"goal\":true}", 0, FIELD("goal") "must be a string", "got true" },
    { "{\"goal\":[\"x\"]}", 0, FIELD("goal") "must be a string", "got an array" },
    { "{\"goal\":{}}", 0, FIELD("goal") "must be a string", "got an object" },
    { "{\"goal\":\"\"}", 0, FIELD("goal") "must not be empty", NULL },
    { "{\"goal\":\" \\n\\t \"}", 0, FIELD("goal") "must not be empty", NULL },
    { "{\"goal\":\"a\\rb\"}", 0, FIELD("goal") "must not contain control character U+000D", NULL },
    { "{\"goal\":\"a\\u0001\"}", 0, FIELD("goal") "must not contain control character U+0001", NULL },
    { "{\"goal\":\"a\\b\"}", 0, FIELD("goal") "must not contain control character U+0008", NULL },
    { "{\"goal\":\"a\\f\"}", 0, FIELD("goal") "must not contain control character U+000C", NULL },
    { "{\"goal\":\"a\\u007f\"}", 0, FIELD("goal") "must not contain control character U+007F", NULL },
    { "{\"goal\":\"a\\u0085\"}", 0, FIELD("goal") "must not contain control character U+0085", NULL },
    /* difficulty */
    { G("\"difficulty\":\"x\""), 0, FIELD("difficulty") "must be a number from 0 to 1", "got \"x\"" },
    { G("\"difficulty\":\"0.5\""), 0, FIELD("difficulty") "must be a number from 0 to 1", "got \"0.5\"" },
    { G("\"difficulty\":null"), 0, FIELD("difficulty") "must be a number from 0 to 1", "got null" },
    { G("\"difficulty\":true"), 0, FIELD("difficulty") "must be a number from 0 to 1", "got true" },
    { G("\"difficulty\":[]"), 0, FIELD("difficulty") "must be a number from 0 to 1", "got an array" },
    { G("\"difficulty\":{\"a\":1}"), 0, FIELD("difficulty") "must be a number from 0 to 1", "got an object" },
    { G("\"difficulty\":-0.01"), 0, FIELD("difficulty") "must be a number from 0 to 1", "got -0.01" },
    { G("\"difficulty\":1.01"), 0, FIELD("difficulty") "must be a number from 0 to 1", "got 1.01" },
    { G("\"difficulty\":7"), 0, FIELD("difficulty") "must be a number from 0 to 1", "got 7" },
    { G("\"difficulty\":1e999"), 0, FIELD("difficulty") "must be a number from 0 to 1", "too large" },
    /* priority */
    { G("\"priority\":1.5"), 0, FIELD("priority") "must be an integer from -1000 to 1000", "got 1.5" },
    { G("\"priority\":-1001"), 0, FIELD("priority") "must be an integer from -1000 to 1000", "got -1001" },
    { G("\"priority\":1001"), 0, FIELD("priority") "must be an integer from -1000 to 1000", "got 1001" },
    { G("\"priority\":\"1\""), 0, FIELD("priority") "must be an integer", "got \"1\"" },
    { G("\"priority\":null"), 0, FIELD("priority") "must be an integer", "got null" },
    { G("\"priority\":false"), 0, FIELD("priority") "must be an integer", "got false" },
    { G("\"priority\":1e999"), 0, FIELD("priority") "must be an integer", NULL },
    { G("\"priority\":[1]"), 0, FIELD("priority") "must be an integer", "got an array" },
    /* skills */
    { G("\"skills\":\"x\""), 0, FIELD("skills") "must be an array of strings", "got \"x\"" },
    { G("\"skills\":null"), 0, FIELD("skills") "must be an array of strings", "got null" },
    { G("\"skills\":{}"), 0, FIELD("skills") "must be an array of strings", "got an object" },
    { G("\"skills\":5"), 0, FIELD("skills") "must be an array of strings", "got 5" },
    { G("\"skills\":[5]"), 0, FIELD("skills") "item 1 must be a string", "got 5" },
    { G("\"skills\":[null]"), 0, FIELD("skills") "item 1 must be a string", "got null" },
    { G("\"skills\":[\"a\",[]]"), 0, FIELD("skills") "item 2 must be a string", "got an array" },
    { G("\"skills\":[\"\"]"), 0, FIELD("skills") "item 1 must be 1 to 64 characters", "got \"\"" },
    { G("\"skills\":[\"a b\"]"), 0, FIELD("skills") "item 1 must be 1 to 64 characters", "got \"a b\"" },
    { G("\"skills\":[\"a.b\"]"), 0, FIELD("skills") "item 1 must be 1 to 64 characters", "got \"a.b\"" },
    { G("\"skills\":[\"\xc3\xa9t\xc3\xa9\"]"), 0, FIELD("skills") "item 1 must be", NULL },
    { G("\"skills\":[\" a\"]"), 0, FIELD("skills") "item 1 must be", NULL },
    { G("\"skills\":[\"ok\",\"bad!\"]"), 0, FIELD("skills") "item 2 must be", "got \"bad!\"" },
    /* language */
    { G("\"language\":\"rust\""), 0, FIELD("language") "must be one of \"python\", \"c\", \"sh\"", "got \"rust\"" },
    { G("\"language\":\"Python\""), 0, FIELD("language") "must be one of", "got \"Python\"" },
    { G("\"language\":\"py\""), 0, FIELD("language") "must be one of", "got \"py\"" },
    { G("\"language\":\"\""), 0, FIELD("language") "must be one of", "got \"\"" },
    { G("\"language\":5"), 0, FIELD("language") "must be one of", "got 5" },
    { G("\"language\":null"), 0, FIELD("language") "must be one of", "got null" },
    /* tests, hidden_tests */
    { G("\"tests\":5"), 0, FIELD("tests") "must be a string", "got 5" },
    { G("\"tests\":null"), 0, FIELD("tests") "must be a string", "got null" },
    { G("\"tests\":[\"a\"]"), 0, FIELD("tests") "must be a string", "got an array" },
    { G("\"tests\":true"), 0, FIELD("tests") "must be a string", "got true" },
    { G("\"tests\":\"a\\rb\""), 0, FIELD("tests") "must not contain control character U+000D", NULL },
    { G("\"tests\":\"\\f\""), 0, FIELD("tests") "must not contain control character U+000C", NULL },
    { G("\"hidden_tests\":5"), 0, FIELD("hidden_tests") "must be a string", "got 5" },
    { G("\"hidden_tests\":null"), 0, FIELD("hidden_tests") "must be a string", "got null" },
    { G("\"hidden_tests\":{}"), 0, FIELD("hidden_tests") "must be a string", "got an object" },
    { G("\"hidden_tests\":\"\\u0002\""), 0, FIELD("hidden_tests") "must not contain control character U+0002", NULL },
    /* constraints */
    { G("\"constraints\":\"no imports\""), 0, FIELD("constraints") "must be an array of strings", "got \"no imports\"" },
    { G("\"constraints\":null"), 0, FIELD("constraints") "must be an array of strings", "got null" },
    { G("\"constraints\":{}"), 0, FIELD("constraints") "must be an array of strings", "got an object" },
    { G("\"constraints\":[5]"), 0, FIELD("constraints") "item 1 must be a string", "got 5" },
    { G("\"constraints\":[\"\"]"), 0, FIELD("constraints") "item 1 must not be empty", NULL },
    { G("\"constraints\":[\" \\n \"]"), 0, FIELD("constraints") "item 1 must not be empty", NULL },
    { G("\"constraints\":[\"ok\",\"\"]"), 0, FIELD("constraints") "item 2 must not be empty", NULL },
    { G("\"constraints\":[\"ok\",null]"), 0, FIELD("constraints") "item 2 must be a string", "got null" },
    { G("\"constraints\":[\"a\\rb\"]"), 0, FIELD("constraints") "item 1 must not contain control character U+000D", NULL },
    /* timeout_s */
    { G("\"timeout_s\":0"), 0, FIELD("timeout_s") "must be an integer from 1 to 3600", "got 0" },
    { G("\"timeout_s\":3601"), 0, FIELD("timeout_s") "must be an integer from 1 to 3600", "got 3601" },
    { G("\"timeout_s\":-1"), 0, FIELD("timeout_s") "must be an integer from 1 to 3600", "got -1" },
    { G("\"timeout_s\":1.5"), 0, FIELD("timeout_s") "must be an integer from 1 to 3600", "got 1.5" },
    { G("\"timeout_s\":\"10\""), 0, FIELD("timeout_s") "must be an integer", "got \"10\"" },
    { G("\"timeout_s\":null"), 0, FIELD("timeout_s") "must be an integer", "got null" },
    { G("\"timeout_s\":true"), 0, FIELD("timeout_s") "must be an integer", "got true" },
    { G("\"timeout_s\":1e999"), 0, FIELD("timeout_s") "must be an integer", NULL },
    /* what was given is quoted briefly and escaped */
    { G("\"difficulty\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\""), 0,
      FIELD("difficulty") "must be a number",
      "got \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\"" },
    { G("\"difficulty\":\"a\\\"b\\nc\""), 0, FIELD("difficulty"), "got \"a\\\"b\\nc\"" },
    { G("\"foo\\nbar\":1"), 0, "unknown field 'foo\\nbar'", NULL },
};

static void test_bad_lines(void **state)
{
    size_t i;
    char what[64];

    (void)state;
    for (i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
        const struct bad_case *c = &bad_lines[i];
        snprintf(what, sizeof(what), "bad_lines[%zu]", i);
        refuse_line(what, c->line, c->len ? c->len : strlen(c->line), -EINVAL,
                    c->want, c->want2);
    }
}

/* An accepted line and the compact JSON one field of its output must be. */
struct good_case {
    const char *line;
    const char *key;
    const char *value;
};

static const struct good_case good_lines[] = {
    /* goal, plain */
    { "reverse a linked list", "goal", "\"reverse a linked list\"" },
    { "  hello \t", "goal", "\"hello\"" },
    { "hello\r", "goal", "\"hello\"" },
    { "a\tb", "goal", "\"a\\tb\"" },
    { "do {this} \"now\"", "goal", "\"do {this} \\\"now\\\"\"" },
    { "[1, 2]", "goal", "\"[1, 2]\"" },
    { "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80", "goal", "\"h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80\"" },
    { "x\xc2\xa0y", "goal", "\"x\xc2\xa0y\"" },                     /* U+00A0   */
    { "\xed\x9f\xbf", "goal", "\"\xed\x9f\xbf\"" },                 /* U+D7FF   */
    { "\xee\x80\x80", "goal", "\"\xee\x80\x80\"" },                 /* U+E000   */
    { "\xf4\x8f\xbf\xbf", "goal", "\"\xf4\x8f\xbf\xbf\"" },         /* U+10FFFF */
    { "plain", "priority", "0" },
    { "plain", "skills", "[]" },
    /* goal, JSON */
    { "{\"goal\":\"x\"}", "goal", "\"x\"" },
    { "{\"goal\":\" \\n x y \\t\\n\"}", "goal", "\"x y\"" },
    { "{\"goal\":\"a\\nb\\tc\"}", "goal", "\"a\\nb\\tc\"" },
    { "{\"goal\":\"\\u00e9\\ud83d\\ude00\"}", "goal", "\"\xc3\xa9\xf0\x9f\x98\x80\"" },
    { "{\"goal\":\"a\\/b\\\\c\"}", "goal", "\"a/b\\\\c\"" },
    { "  \t{\"goal\":\"x\"} \t", "goal", "\"x\"" },
    { "{\"goal\":\"x\"}\r", "goal", "\"x\"" },
    { "{ \"goal\" : \"x\" , \"priority\" : 3 }", "priority", "3" },
    /* difficulty */
    { G("\"difficulty\":0"), "difficulty", "0" },
    { G("\"difficulty\":1"), "difficulty", "1" },
    { G("\"difficulty\":0.7"), "difficulty", "0.7" },
    { G("\"difficulty\":-0"), "difficulty", "0" },
    { G("\"difficulty\":1e-3"), "difficulty", "0.001" },
    { G("\"difficulty\":1.0"), "difficulty", "1" },
    { "{\"goal\":\"x\"}", "difficulty", "0.5" },
    /* priority */
    { G("\"priority\":-1000"), "priority", "-1000" },
    { G("\"priority\":1000"), "priority", "1000" },
    { G("\"priority\":1.0"), "priority", "1" },
    { G("\"priority\":1e2"), "priority", "100" },
    { G("\"priority\":-0"), "priority", "0" },
    { "{\"goal\":\"x\"}", "priority", "0" },
    /* skills */
    { G("\"skills\":[]"), "skills", "[]" },
    { G("\"skills\":[\"Recursion\",\"recursion\",\"DP\",\"a-b_c9\",\"dp\"]"), "skills",
      "[\"recursion\",\"dp\",\"a-b_c9\"]" },
    { G("\"skills\":[\"x\"]"), "skills", "[\"x\"]" },
    { G("\"skills\":[\"_\",\"-\",\"0\"]"), "skills", "[\"_\",\"-\",\"0\"]" },
    { "{\"goal\":\"x\"}", "skills", "[]" },
    /* language */
    { G("\"language\":\"python\""), "language", "\"python\"" },
    { G("\"language\":\"c\""), "language", "\"c\"" },
    { G("\"language\":\"sh\""), "language", "\"sh\"" },
    { "{\"goal\":\"x\"}", "language", "\"python\"" },
    /* tests, hidden_tests: code, kept as given */
    { G("\"tests\":\"\""), "tests", "\"\"" },
    { G("\"tests\":\" assert f(1) == 1\\n\\tpass \""), "tests", "\" assert f(1) == 1\\n\\tpass \"" },
    { "{\"goal\":\"x\"}", "tests", "\"\"" },
    { G("\"hidden_tests\":\"assert f(3) == 9\\n\""), "hidden_tests", "\"assert f(3) == 9\\n\"" },
    { "{\"goal\":\"x\"}", "hidden_tests", "\"\"" },
    /* constraints */
    { G("\"constraints\":[]"), "constraints", "[]" },
    { G("\"constraints\":[\"  no imports \\n\",\"x\",\"x\"]"), "constraints", "[\"no imports\",\"x\",\"x\"]" },
    { "{\"goal\":\"x\"}", "constraints", "[]" },
    /* timeout_s */
    { G("\"timeout_s\":1"), "timeout_s", "1" },
    { G("\"timeout_s\":3600"), "timeout_s", "3600" },
    { G("\"timeout_s\":5.0"), "timeout_s", "5" },
    { "{\"goal\":\"x\"}", "timeout_s", "10" },
};

static void test_good_lines(void **state)
{
    size_t i;
    char what[64];

    (void)state;
    for (i = 0; i < sizeof(good_lines) / sizeof(good_lines[0]); i++) {
        const struct good_case *c = &good_lines[i];
        char *json, *value;
        snprintf(what, sizeof(what), "good_lines[%zu]", i);
        json = accept_line(what, c->line, strlen(c->line), NULL);
        value = field_of(json, c->key);
        if (strcmp(value, c->value) != 0)
            fail_msg("%s: %s is %s, want %s (json %s)", what, c->key, value, c->value, json);
        free(value);
        free(json);
    }
}

/* Whole outputs, compared byte for byte. */
static void test_exact_output(void **state)
{
    static const struct {
        const char *line;
        const char *json;
    } cases[] = {
        { "x", NULL },
        { "{\"goal\":\"x\"}", NULL },
        { "  x\r", NULL },
        { "reverse a linked list",
          "{\"goal\":\"reverse a linked list\",\"difficulty\":0.5,\"priority\":0,"
          "\"skills\":[],\"language\":\"python\",\"tests\":\"\",\"hidden_tests\":\"\","
          "\"constraints\":[],\"timeout_s\":10}" },
        /* The example of DESIGN.md, keys already in order. */
        { "{\"goal\": \"...\", \"difficulty\": 0.7, \"priority\": 1, \"skills\": [\"recursion\"],"
          " \"language\": \"python\", \"tests\": \"assert f(2) == 4\","
          " \"hidden_tests\": \"assert f(3) == 9\", \"constraints\": [\"no imports\"], \"timeout_s\": 10}",
          "{\"goal\":\"...\",\"difficulty\":0.7,\"priority\":1,\"skills\":[\"recursion\"],"
          "\"language\":\"python\",\"tests\":\"assert f(2) == 4\",\"hidden_tests\":\"assert f(3) == 9\","
          "\"constraints\":[\"no imports\"],\"timeout_s\":10}" },
        /* Keys in reverse order come out in canonical order. */
        { "{\"timeout_s\":30,\"constraints\":[\"c1\"],\"hidden_tests\":\"h\",\"tests\":\"t\","
          "\"language\":\"sh\",\"skills\":[\"B\",\"a\",\"b\"],\"priority\":-5,\"difficulty\":0.25,"
          "\"goal\":\"g\"}",
          "{\"goal\":\"g\",\"difficulty\":0.25,\"priority\":-5,\"skills\":[\"b\",\"a\"],"
          "\"language\":\"sh\",\"tests\":\"t\",\"hidden_tests\":\"h\",\"constraints\":[\"c1\"],"
          "\"timeout_s\":30}" },
        { "{\"language\":\"c\",\"goal\":\"print \\\"hi\\\"\"}",
          "{\"goal\":\"print \\\"hi\\\"\",\"difficulty\":0.5,\"priority\":0,\"skills\":[],"
          "\"language\":\"c\",\"tests\":\"\",\"hidden_tests\":\"\",\"constraints\":[],"
          "\"timeout_s\":10}" },
    };
    size_t i;
    char what[64];

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *want = cases[i].json ? cases[i].json : defaults_json;
        char *json;
        snprintf(what, sizeof(what), "exact[%zu]", i);
        json = accept_line(what, cases[i].line, strlen(cases[i].line), NULL);
        if (strcmp(json, want) != 0)
            fail_msg("%s:\n got  %s\n want %s", what, json, want);
        free(json);
    }
}

static void test_priority_copy(void **state)
{
    static const struct {
        const char *line;
        int priority;
    } cases[] = {
        { "plain", 0 },
        { "{\"goal\":\"x\"}", 0 },
        { G("\"priority\":7"), 7 },
        { G("\"priority\":-1000"), -1000 },
        { G("\"priority\":1000"), 1000 },
    };
    size_t i;
    int prio;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        prio = 12345;
        free(accept_line(cases[i].line, cases[i].line, strlen(cases[i].line), &prio));
        assert_int_equal(prio, cases[i].priority);
    }
}

/* ---- limits, built at run time, on both sides ----------------------- */

/* Accepts line and checks that field 'key' has 'want_len' bytes (string) or
 * items (array). */
static void accept_sized(const char *what, const char *line, const char *key, int want)
{
    char *json = accept_line(what, line, strlen(line), NULL);
    cJSON *root = cJSON_Parse(json), *v;
    int got;

    assert_non_null(root);
    v = cJSON_GetObjectItemCaseSensitive(root, key);
    got = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : (int)strlen(v->valuestring);
    if (got != want)
        fail_msg("%s: %s has size %d, want %d", what, key, got, want);
    cJSON_Delete(root);
    free(json);
}

static void test_field_limits(void **state)
{
    char *s, *line, *arr;

    (void)state;
    /* goal, JSON: 8192 bytes after trimming */
    s = repeat('g', TASK_MAX_GOAL);
    line = xasprintf("{\"goal\":\"%s\"}", s);
    accept_sized("goal max", line, "goal", TASK_MAX_GOAL);
    free(line);
    line = xasprintf("{\"goal\":\"  \\n%s \\t\"}", s);
    accept_sized("goal max padded", line, "goal", TASK_MAX_GOAL);
    free(line);
    /* goal, plain */
    accept_sized("plain goal max", s, "goal", TASK_MAX_GOAL);
    line = xasprintf("  %s\t ", s);
    accept_sized("plain goal max padded", line, "goal", TASK_MAX_GOAL);
    free(line);
    free(s);
    s = repeat('g', TASK_MAX_GOAL + 1);
    line = xasprintf("{\"goal\":\"%s\"}", s);
    refuse_line("goal max+1", line, strlen(line), -EINVAL,
                "field 'goal' must be at most 8192 bytes", "got 8193");
    free(line);
    refuse_line("plain goal max+1", s, strlen(s), -EINVAL,
                "field 'goal' must be at most 8192 bytes", "got 8193");
    free(s);

    /* skills: 16 items of up to 64 characters */
    arr = string_array("s", TASK_MAX_SKILLS);
    line = xasprintf(G("\"skills\":%s"), arr);
    accept_sized("skills max", line, "skills", TASK_MAX_SKILLS);
    free(line);
    free(arr);
    arr = string_array("s", TASK_MAX_SKILLS + 1);
    line = xasprintf(G("\"skills\":%s"), arr);
    refuse_line("skills max+1", line, strlen(line), -EINVAL,
                "field 'skills' must have at most 16 items", "got 17");
    free(line);
    free(arr);
    s = repeat('K', TASK_MAX_SKILL_LEN);
    line = xasprintf(G("\"skills\":[\"%s\"]"), s);
    accept_sized("skill len max", line, "skills", 1);
    free(line);
    free(s);
    s = repeat('k', TASK_MAX_SKILL_LEN + 1);
    line = xasprintf(G("\"skills\":[\"%s\"]"), s);
    refuse_line("skill len max+1", line, strlen(line), -EINVAL,
                "field 'skills' item 1 must be 1 to 64 characters", NULL);
    free(line);
    free(s);

    /* constraints: 32 items of 1..1024 bytes */
    arr = string_array("c", TASK_MAX_CONSTRAINTS);
    line = xasprintf(G("\"constraints\":%s"), arr);
    accept_sized("constraints max", line, "constraints", TASK_MAX_CONSTRAINTS);
    free(line);
    free(arr);
    arr = string_array("c", TASK_MAX_CONSTRAINTS + 1);
    line = xasprintf(G("\"constraints\":%s"), arr);
    refuse_line("constraints max+1", line, strlen(line), -EINVAL,
                "field 'constraints' must have at most 32 items", "got 33");
    free(line);
    free(arr);
    s = repeat('c', TASK_MAX_CONSTRAINT);
    line = xasprintf(G("\"constraints\":[\" %s \"]"), s);
    free(accept_line("constraint len max", line, strlen(line), NULL));
    free(line);
    free(s);
    s = repeat('c', TASK_MAX_CONSTRAINT + 1);
    line = xasprintf(G("\"constraints\":[\"ok\",\"%s\"]"), s);
    refuse_line("constraint len max+1", line, strlen(line), -EINVAL,
                "field 'constraints' item 2 must be at most 1024 bytes", "got 1025");
    free(line);
    free(s);

    /* tests, hidden_tests: 65536 bytes */
    s = repeat('t', TASK_MAX_TESTS);
    line = xasprintf(G("\"tests\":\"%s\""), s);
    accept_sized("tests max", line, "tests", TASK_MAX_TESTS);
    free(line);
    line = xasprintf(G("\"hidden_tests\":\"%s\""), s);
    accept_sized("hidden_tests max", line, "hidden_tests", TASK_MAX_TESTS);
    free(line);
    free(s);
    s = repeat('t', TASK_MAX_TESTS + 1);
    line = xasprintf(G("\"tests\":\"%s\""), s);
    refuse_line("tests max+1", line, strlen(line), -EINVAL,
                "field 'tests' must be at most 65536 bytes", "got 65537");
    free(line);
    line = xasprintf(G("\"hidden_tests\":\"%s\""), s);
    refuse_line("hidden_tests max+1", line, strlen(line), -EINVAL,
                "field 'hidden_tests' must be at most 65536 bytes", "got 65537");
    free(line);
    free(s);
}

/* Pads 'head' with spaces to exactly 'len' bytes, then appends 'tail'. */
static char *padded(const char *head, size_t len, const char *tail)
{
    size_t h = strlen(head), t = strlen(tail);
    char *s = malloc(len + t + 1);

    assert_non_null(s);
    assert_true(h <= len);
    memcpy(s, head, h);
    memset(s + h, ' ', len - h);
    memcpy(s + len, tail, t + 1);
    return s;
}

static void test_line_limit(void **state)
{
    char *line, *g, *t, *c, *arr;
    char err[ERRLEN];
    struct task_def def = { 0 };
    size_t i;

    (void)state;
    /* Plain: a short goal padded with spaces, so that the goal limit can't
     * be what answers. */
    line = padded("x", TASK_MAX_LINE, "");
    free(accept_line("plain at limit", line, TASK_MAX_LINE, NULL));
    free(line);
    line = padded("x", TASK_MAX_LINE, "\r");
    free(accept_line("plain at limit + CR", line, TASK_MAX_LINE + 1, NULL));
    free(line);
    line = padded("x", TASK_MAX_LINE + 1, "");
    refuse_line("plain over limit", line, TASK_MAX_LINE + 1, -EFBIG,
                "line is 262145 bytes; the limit is 262144", NULL);
    assert_int_equal(task_parse_line(line, TASK_MAX_LINE + 1, &def, err, sizeof(err)), -EFBIG);
    assert_string_equal(err, "line is 262145 bytes; the limit is 262144");
    free(line);
    line = padded("x", TASK_MAX_LINE + 1, "\r");
    refuse_line("plain over limit + CR", line, TASK_MAX_LINE + 2, -EFBIG,
                "line is 262145 bytes", NULL);
    free(line);

    /* JSON, padded after the object. */
    line = padded("{\"goal\":\"x\"}", TASK_MAX_LINE, "");
    free(accept_line("json at limit", line, TASK_MAX_LINE, NULL));
    free(line);
    line = padded("{\"goal\":\"x\"}", TASK_MAX_LINE + 1, "");
    refuse_line("json over limit", line, TASK_MAX_LINE + 1, -EFBIG, "line is 262145 bytes", NULL);
    free(line);

    /* Too large wins over every other problem. */
    line = malloc(TASK_MAX_LINE + 1);
    assert_non_null(line);
    memset(line, 0xff, TASK_MAX_LINE + 1);
    refuse_line("garbage over limit", line, TASK_MAX_LINE + 1, -EFBIG, "line is", NULL);
    free(line);

    /* Every field at its largest fits in one line. */
    g = repeat('g', TASK_MAX_GOAL);
    t = repeat('t', TASK_MAX_TESTS);
    c = repeat('c', TASK_MAX_CONSTRAINT - 3);
    arr = malloc((size_t)TASK_MAX_CONSTRAINTS * (TASK_MAX_CONSTRAINT + 4) + 2);
    assert_non_null(arr);
    arr[0] = '\0';
    for (i = 0; i < TASK_MAX_CONSTRAINTS; i++)
        sprintf(arr + strlen(arr), "%s\"%s%03zu\"", i ? "," : "[", c, i);
    strcat(arr, "]");
    line = xasprintf("{\"goal\":\"%s\",\"difficulty\":1,\"priority\":1000,\"skills\":%s,"
                     "\"language\":\"sh\",\"tests\":\"%s\",\"hidden_tests\":\"%s\","
                     "\"constraints\":%s,\"timeout_s\":3600}",
                     g, "[\"a\"]", t, t, arr);
    free(g);
    free(t);
    free(c);
    free(arr);
    g = padded(line, TASK_MAX_LINE, "");
    free(line);
    accept_sized("every field at max", g, "constraints", TASK_MAX_CONSTRAINTS);
    free(g);
}

/* ---- nesting ---------------------------------------------------------- */

/* cJSON's nesting limit (1000 levels) gets a message that says so, where
 * it was hit; one level less is an ordinary wrong type. */
static void test_nesting_limit(void **state)
{
    char *line;
    size_t n;

    (void)state;
    for (n = 999; n <= 1001; n++) {
        char *open = repeat('[', n), *close = repeat(']', n);
        /* the object itself is one level */
        line = xasprintf("{\"goal\":\"x\",\"skills\":%s%s}", open, close);
        if (n + 1 <= 1000)
            refuse_line("1000 levels", line, strlen(line), -EINVAL,
                        "field 'skills'", NULL);
        else
            refuse_line("1001 levels", line, strlen(line), -EINVAL,
                        "not valid JSON: nested deeper than 1000 levels at "
                        "offset 1020 (the JSON parser's limit)", NULL);
        free(line);
        free(open);
        free(close);
    }
    /* brackets inside a string are not nesting */
    line = xasprintf("{\"goal\":\"%s\", x}", "[[[[");
    refuse_line("syntax error", line, strlen(line), -EINVAL,
                "not valid JSON: syntax error at offset", NULL);
    free(line);
}

/* ---- the err buffer ------------------------------------------------- */

static void test_err_buffer(void **state)
{
    struct task_def def = { 0 };
    char err[64];
    const char *bad = "{\"goal\":\"x\",\"\xc3\xa9\xc3\xa9\xc3\xa9\":1}";

    (void)state;
    /* No buffer at all. */
    assert_int_equal(task_parse_line("", 0, &def, NULL, 0), -EINVAL);
    assert_int_equal(task_parse_line("x", 1, &def, NULL, 0), 0);
    assert_non_null(def.json);
    task_def_free(&def);
    assert_int_equal(task_parse_line(NULL, 0, &def, NULL, 0), -EINVAL);

    /* One byte: just the terminator. */
    memset(err, 'X', sizeof(err));
    assert_int_equal(task_parse_line("", 0, &def, err, 1), -EINVAL);
    assert_int_equal(err[0], '\0');
    assert_int_equal(err[1], 'X');

    /* Cut short, still terminated, and a prefix of the whole reason. */
    memset(err, 'X', sizeof(err));
    assert_int_equal(task_parse_line("", 0, &def, err, 8), -EINVAL);
    assert_string_equal(err, "empty l");
    assert_int_equal(err[8], 'X');

    /* Whole: "unknown field 'ééé'". A cut inside the first 'é' drops it
     * whole rather than leaving half a character. */
    assert_int_equal(task_parse_line(bad, strlen(bad), &def, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "unknown field '\xc3\xa9\xc3\xa9\xc3\xa9'");
    assert_int_equal(task_parse_line(bad, strlen(bad), &def, err, 17), -EINVAL);
    assert_string_equal(err, "unknown field '");
    assert_int_equal(task_parse_line(bad, strlen(bad), &def, err, 18), -EINVAL);
    assert_string_equal(err, "unknown field '\xc3\xa9");

    /* Success clears an old reason. */
    strcpy(err, "old reason");
    assert_int_equal(task_parse_line("ok", 2, &def, err, sizeof(err)), 0);
    assert_string_equal(err, "");
    task_def_free(&def);
}

static void test_def_free(void **state)
{
    struct task_def def = { 0 };

    (void)state;
    task_def_free(NULL);
    task_def_free(&def);
    assert_int_equal(task_parse_line("x", 1, &def, NULL, 0), 0);
    task_def_free(&def);
    assert_null(def.json);
    task_def_free(&def);
}

/* The evaluation fields (set, problem_id, held_out, max_attempts, memory):
 * absent from the output while default, in canonical order after timeout_s
 * when given, and refused by name when wrong. */
static void test_eval_fields(void **state)
{
    static const struct { const char *line, *want; } good[] = {
        { "{\"goal\":\"x\",\"held_out\":false,\"memory\":true}",
          "{\"goal\":\"x\",\"difficulty\":0.5,\"priority\":0,\"skills\":[],"
          "\"language\":\"python\",\"tests\":\"\",\"hidden_tests\":\"\","
          "\"constraints\":[],\"timeout_s\":10}" },
        { "{\"memory\":false,\"max_attempts\":1,\"held_out\":true,"
          "\"problem_id\":\" HumanEval/0 \",\"set\":\"HE-Full.v2\",\"goal\":\"x\"}",
          "{\"goal\":\"x\",\"difficulty\":0.5,\"priority\":0,\"skills\":[],"
          "\"language\":\"python\",\"tests\":\"\",\"hidden_tests\":\"\","
          "\"constraints\":[],\"timeout_s\":10,\"set\":\"he-full.v2\","
          "\"problem_id\":\"HumanEval/0\",\"held_out\":true,"
          "\"max_attempts\":1,\"memory\":false}" },
    };
    static const struct { const char *line, *want; } bad[] = {
        { "{\"goal\":\"x\",\"set\":\"a/b\"}", "field 'set'" },
        { "{\"goal\":\"x\",\"set\":\".hidden\"}", "field 'set'" },
        { "{\"goal\":\"x\",\"set\":\"\"}", "field 'set'" },
        { "{\"goal\":\"x\",\"set\":7}", "field 'set'" },
        { "{\"goal\":\"x\",\"problem_id\":\"  \"}", "field 'problem_id' must not be empty" },
        { "{\"goal\":\"x\",\"held_out\":1}", "field 'held_out' must be true or false" },
        { "{\"goal\":\"x\",\"memory\":\"no\"}", "field 'memory' must be true or false" },
        { "{\"goal\":\"x\",\"max_attempts\":0}", "field 'max_attempts' must be an integer from 1 to 100" },
        { "{\"goal\":\"x\",\"max_attempts\":101}", "field 'max_attempts'" },
    };
    char *long_set = repeat('s', TASK_MAX_SET_LEN + 1);
    char *line;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct task_def def = { 0 };
        char err[ERRLEN];
        assert_int_equal(task_parse_line(good[i].line, strlen(good[i].line),
                                         &def, err, sizeof(err)), 0);
        assert_string_equal(def.json, good[i].want);
        /* The canonical form re-parses to itself. */
        struct task_def again = { 0 };
        assert_int_equal(task_parse_line(def.json, strlen(def.json), &again,
                                         err, sizeof(err)), 0);
        assert_string_equal(again.json, def.json);
        task_def_free(&again);
        task_def_free(&def);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        refuse_line(bad[i].line, bad[i].line, strlen(bad[i].line), -EINVAL,
                    bad[i].want, NULL);
    line = xasprintf("{\"goal\":\"x\",\"set\":\"%s\"}", long_set);
    refuse_line("set too long", line, strlen(line), -EINVAL, "field 'set'", NULL);
    free(line);
    long_set[TASK_MAX_SET_LEN] = '\0';
    assert_true(task_set_name_ok(long_set));
    assert_false(task_set_name_ok("-x"));
    assert_false(task_set_name_ok("x y"));
    assert_false(task_set_name_ok(NULL));
    free(long_set);
}

static void test_language_ext(void **state)
{
    (void)state;
    assert_string_equal(task_language_ext("python"), "py");
    assert_string_equal(task_language_ext("c"), "c");
    assert_string_equal(task_language_ext("sh"), "sh");
    assert_null(task_language_ext("Python"));
    assert_null(task_language_ext("rust"));
    assert_null(task_language_ext(""));
    assert_null(task_language_ext(NULL));
}

/* The one table of languages: names, extensions, fence tags, and the
 * list the parser's message quotes matches the table. */
static void test_languages(void **state)
{
    enum task_lang l = TASK_LANG_C;
    char list[128] = "", plain[128] = "";

    (void)state;
    for (int i = 0; i < TASK_LANG_COUNT; i++) {
        const struct task_lang_info *info = task_lang_info((enum task_lang)i);
        assert_non_null(info);
        assert_int_equal(info->lang, i);
        assert_string_equal(info->tags[0], info->name);
        assert_int_equal(task_lang_from_name(info->name, &l), 0);
        assert_int_equal(l, i);
        for (const char *const *t = info->tags; *t; t++) {
            l = TASK_LANG_COUNT;
            assert_int_equal(task_lang_from_tag(*t, strlen(*t), false, &l), 0);
            assert_int_equal(l, i);
        }
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s\"%s\"",
                 i ? ", " : "", info->name);
        snprintf(plain + strlen(plain), sizeof(plain) - strlen(plain), "%s%s",
                 i ? ", " : "", info->name);
    }
    assert_string_equal(task_lang_list(true), list);
    assert_string_equal(task_lang_list(false), plain);
    assert_null(task_lang_info(TASK_LANG_COUNT));
    assert_string_equal(task_lang_name((enum task_lang)TASK_LANG_COUNT), "?");
    assert_string_equal(task_lang_ext((enum task_lang)-1), "?");
    assert_string_equal(task_lang_ext(TASK_LANG_PYTHON), "py");
    assert_string_equal(task_lang_info(TASK_LANG_SH)->fence, "bash");

    /* Names are exact; tags may ignore case, and only count whole. */
    l = TASK_LANG_C;
    assert_int_equal(task_lang_from_name("py", &l), -EINVAL);
    assert_int_equal(task_lang_from_name("Python", &l), -EINVAL);
    assert_int_equal(task_lang_from_name(NULL, &l), -EINVAL);
    assert_int_equal(l, TASK_LANG_C);
    assert_int_equal(task_lang_from_tag("Python3", 7, false, &l), -EINVAL);
    assert_int_equal(task_lang_from_tag("Python3", 7, true, &l), 0);
    assert_int_equal(l, TASK_LANG_PYTHON);
    assert_int_equal(task_lang_from_tag("ZSH", 3, true, &l), 0);
    assert_int_equal(l, TASK_LANG_SH);
    assert_int_equal(task_lang_from_tag("hx", 1, false, &l), 0);
    assert_int_equal(l, TASK_LANG_C);
    assert_int_equal(task_lang_from_tag("pyt", 3, true, &l), -EINVAL);
    assert_int_equal(task_lang_from_tag("", 0, true, &l), -EINVAL);
    assert_int_equal(task_lang_from_tag(NULL, 0, true, &l), -EINVAL);

    /* The parser takes exactly the names, and its message lists them. */
    const char *py = "{\"goal\":\"g\",\"language\":\"py\"}";
    refuse_line("language py", py, strlen(py), -EINVAL, "field 'language' must be one of \"python\", \"c\", "
                "\"sh\"", "got \"py\"");
}

/* Parses with flags; returns the JSON (caller frees) or NULL with err. */
static char *parse_flags(const char *line, unsigned flags, char *err, size_t errlen)
{
    struct task_def def = { 0 };
    char *json;
    int rc = task_parse_line_flags(line, strlen(line), flags, &def, err, errlen);

    if (rc < 0) {
        assert_null(def.json);
        return NULL;
    }
    json = def.json;
    def.json = NULL;
    return json;
}

/* The internal fields: refused from users by name, taken with the flag,
 * checked like the others, rendered last in canonical order. */
static void test_internal_fields(void **state)
{
    static const char *const internal[] = {
        "{\"goal\":\"g\",\"reference\":\"def f(): pass\"}",
        "{\"goal\":\"g\",\"id_hint\":\"strings-1\"}",
        "{\"goal\":\"g\",\"trainer\":{\"strategy\":\"weakness\"}}",
    };
    static const char *const names[] = { "reference", "id_hint", "trainer" };
    static const struct bad_case bad[] = {
        { "{\"goal\":\"g\",\"reference\":5}", 0,
          "field 'reference' must be a string", NULL },
        { "{\"goal\":\"g\",\"reference\":\"a\\u0007\"}", 0,
          "field 'reference' must not contain control character U+0007", NULL },
        { "{\"goal\":\"g\",\"id_hint\":\"  \"}", 0,
          "field 'id_hint' must not be empty", NULL },
        { "{\"goal\":\"g\",\"trainer\":[]}", 0,
          "field 'trainer' must be an object, got an array", NULL },
        { "{\"goal\":\"g\",\"trainer\":{\"mood\":1}}", 0,
          "field 'trainer' has unknown member 'mood'", NULL },
        { "{\"goal\":\"g\",\"trainer\":{\"fallback\":1}}", 0,
          "member 'fallback' must be true or false, got 1", NULL },
        { "{\"goal\":\"g\",\"trainer\":{\"reason\":null}}", 0,
          "member 'reason' must be a string, got null", NULL },
        { "{\"goal\":\"g\",\"trainer\":{\"reason\":\"a\",\"reason\":\"b\"}}", 0,
          "member 'reason' given twice", NULL },
        { "{\"goal\":\"g\",\"reference\":\"a\",\"reference\":\"b\"}", 0,
          "field 'reference' given twice", NULL },
    };
    char err[ERRLEN], *json, *big, *line;

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        char want[96];
        snprintf(want, sizeof(want), "field '%s' is internal", names[i]);
        refuse_line(names[i], internal[i], strlen(internal[i]), -EINVAL, want, NULL);
        json = parse_flags(internal[i], TASK_PARSE_INTERNAL, err, sizeof(err));
        if (json == NULL)
            fail_msg("%s: refused with the flag: %s", names[i], err);
        assert_true(task_field_find(names[i])->flags & TASK_FIELD_INTERNAL);
        free(json);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json = parse_flags(bad[i].line, TASK_PARSE_INTERNAL, err, sizeof(err));
        if (json != NULL || strstr(err, bad[i].want) == NULL)
            fail_msg("%s: %s (want '%s')", bad[i].line, json ? json : err, bad[i].want);
    }

    /* A trainer task as the Trainer writes it: every field, in order. */
    json = parse_flags("{\"trainer\":{\"fallback\":false,\"reason\":\"weak\","
                       "\"strategy\":\"weakness\"},\"id_hint\":\" s-1 \","
                       "\"reference\":\"def f():\\n    return 1\\n\","
                       "\"memory\":false,\"goal\":\" G \",\"skills\":[\"A\",\"a\"]}",
                       TASK_PARSE_INTERNAL, err, sizeof(err));
    assert_non_null(json);
    assert_string_equal(json,
        "{\"goal\":\"G\",\"difficulty\":0.5,\"priority\":0,\"skills\":[\"a\"],"
        "\"language\":\"python\",\"tests\":\"\",\"hidden_tests\":\"\","
        "\"constraints\":[],\"timeout_s\":10,\"memory\":false,"
        "\"reference\":\"def f():\\n    return 1\\n\",\"id_hint\":\"s-1\","
        "\"trainer\":{\"strategy\":\"weakness\",\"reason\":\"weak\","
        "\"fallback\":false}}");
    /* Its own canonical form, with the flag. */
    char *again = parse_flags(json, TASK_PARSE_INTERNAL, err, sizeof(err));
    assert_non_null(again);
    assert_string_equal(again, json);
    free(again);
    free(json);

    /* The reference's limit is the tests'. */
    big = malloc(TASK_MAX_REFERENCE + 2);
    assert_non_null(big);
    memset(big, 'r', TASK_MAX_REFERENCE + 1);
    big[TASK_MAX_REFERENCE + 1] = '\0';
    line = malloc(TASK_MAX_REFERENCE + 64);
    assert_non_null(line);
    snprintf(line, TASK_MAX_REFERENCE + 64, "{\"goal\":\"g\",\"reference\":\"%s\"}", big + 1);
    json = parse_flags(line, TASK_PARSE_INTERNAL, err, sizeof(err));
    assert_non_null(json);
    free(json);
    snprintf(line, TASK_MAX_REFERENCE + 64, "{\"goal\":\"g\",\"reference\":\"%s\"}", big);
    assert_null(parse_flags(line, TASK_PARSE_INTERNAL, err, sizeof(err)));
    assert_non_null(strstr(err, "field 'reference' must be at most 65536 bytes"));
    free(line);
    free(big);

    /* The field table: canonical order, names found, flags. */
    for (size_t i = 0; i < NKEYS; i++) {
        assert_string_equal(task_field(i)->name, keys[i]);
        assert_false(task_field(i)->flags & (TASK_FIELD_OPTIONAL | TASK_FIELD_INTERNAL));
    }
    assert_non_null(task_field(TASK_FIELD_COUNT - 1));
    assert_null(task_field(TASK_FIELD_COUNT));
    assert_null(task_field_find("colour"));
    assert_null(task_field_find(NULL));
    assert_true(task_field_find("hidden_tests")->flags & TASK_FIELD_CODE);
    assert_true(task_field_find("set")->flags & TASK_FIELD_OPTIONAL);
    assert_false(task_field_find("set")->flags & TASK_FIELD_INTERNAL);
}

/* The decoder reads back what the parser and the store wrote, and falls
 * back to the definition's defaults for what is missing or wrong. */
static void test_doc_decode(void **state)
{
    struct task_doc d;
    char *json;
    char err[ERRLEN];
    const char *stored;

    (void)state;
    /* A stored document: the parser's definition plus the store's fields. */
    json = parse_flags("{\"goal\":\"g\",\"difficulty\":0.7,\"priority\":3,"
                       "\"skills\":[\"x\",\"y\"],\"language\":\"c\",\"tests\":\"t\","
                       "\"hidden_tests\":\"h\",\"constraints\":[\"c1\"],\"timeout_s\":7,"
                       "\"set\":\"he\",\"problem_id\":\"P/1\",\"held_out\":true,"
                       "\"max_attempts\":1,\"memory\":false,\"reference\":\"r\","
                       "\"id_hint\":\"i-1\",\"trainer\":{\"strategy\":\"weakness\"}}",
                       TASK_PARSE_INTERNAL, err, sizeof(err));
    assert_non_null(json);
    char *doc = malloc(strlen(json) + 128);
    assert_non_null(doc);
    /* The definition's members inside the store's object. */
    sprintf(doc, "{\"id\":\"task_000042\",\"source\":\"trainer\",%.*s,"
            "\"status\":\"queued\",\"attempts\":2}",
            (int)strlen(json) - 2, json + 1);
    assert_int_equal(task_doc_decode(doc, strlen(doc), &d), 0);
    assert_string_equal(d.id, "task_000042");
    assert_string_equal(d.source, "trainer");
    assert_string_equal(d.status, "queued");
    assert_int_equal(d.attempts, 2);
    assert_string_equal(d.goal, "g");
    assert_true(d.difficulty == 0.7);
    assert_int_equal(d.priority, 3);
    assert_int_equal(d.nskills, 2);
    assert_string_equal(d.skills[1], "y");
    assert_string_equal(d.language, "c");
    assert_true(d.lang_known);
    assert_int_equal(d.lang, TASK_LANG_C);
    assert_string_equal(d.tests, "t");
    assert_string_equal(d.hidden_tests, "h");
    assert_int_equal(d.nconstraints, 1);
    assert_string_equal(d.constraints[0], "c1");
    assert_int_equal(d.timeout_s, 7);
    assert_string_equal(d.set, "he");
    assert_string_equal(d.problem_id, "P/1");
    assert_true(d.held_out);
    assert_int_equal(d.max_attempts, 1);
    assert_false(d.memory);
    assert_string_equal(d.reference, "r");
    assert_string_equal(d.id_hint, "i-1");
    assert_string_equal(d.strategy, "weakness");
    task_doc_free(&d);
    assert_null(d.goal);
    task_doc_free(&d);
    task_doc_free(NULL);
    free(doc);
    free(json);

    /* Missing, wrong and out-of-range fields read as the defaults. */
    stored = "{\"goal\":\"only\",\"difficulty\":7,\"priority\":\"high\","
             "\"skills\":[1,\"s\"],\"language\":\"rust\",\"tests\":null,"
             "\"timeout_s\":0,\"max_attempts\":1000,\"memory\":null,"
             "\"trainer\":\"x\"}";
    assert_int_equal(task_doc_decode(stored, strlen(stored), &d), 0);
    assert_true(d.difficulty == TASK_DEFAULT_DIFFICULTY);
    assert_int_equal(d.priority, 0);
    assert_int_equal(d.nskills, 1);
    assert_string_equal(d.skills[0], "s");
    assert_string_equal(d.language, "rust");
    assert_false(d.lang_known);
    assert_string_equal(d.tests, "");
    assert_string_equal(d.hidden_tests, "");
    assert_null(d.constraints);
    assert_int_equal(d.nconstraints, 0);
    assert_int_equal(d.timeout_s, 0);
    assert_int_equal(d.max_attempts, 0);
    assert_true(d.memory);
    assert_false(d.held_out);
    assert_null(d.reference);
    assert_null(d.strategy);
    assert_null(d.set);
    assert_null(d.id);
    task_doc_free(&d);

    stored = "{\"goal\":\"g\"}";
    assert_int_equal(task_doc_decode(stored, strlen(stored), &d), 0);
    assert_string_equal(d.language, TASK_DEFAULT_LANGUAGE);
    assert_true(d.lang_known);
    assert_int_equal(d.lang, TASK_LANG_PYTHON);
    task_doc_free(&d);

    /* No goal, not an object, not JSON: refused. Lengths are honoured. */
    assert_int_equal(task_doc_decode("{\"goal\":5}", 10, &d), -EINVAL);
    task_doc_free(&d);
    assert_int_equal(task_doc_decode("[1]", 3, &d), -EINVAL);
    task_doc_free(&d);
    assert_int_equal(task_doc_decode("{\"goal\":\"g\"}xyz", 12, &d), 0);
    task_doc_free(&d);
    assert_int_equal(task_doc_decode("{\"goal\":\"g\"}", 5, &d), -EINVAL);
    task_doc_free(&d);
    assert_int_equal(task_doc_decode(NULL, 0, &d), -EINVAL);
    task_doc_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_good_lines),
        cmocka_unit_test(test_exact_output),
        cmocka_unit_test(test_priority_copy),
        cmocka_unit_test(test_field_limits),
        cmocka_unit_test(test_line_limit),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_err_buffer),
        cmocka_unit_test(test_def_free),
        cmocka_unit_test(test_eval_fields),
        cmocka_unit_test(test_language_ext),
        cmocka_unit_test(test_languages),
        cmocka_unit_test(test_internal_fields),
        cmocka_unit_test(test_doc_decode),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
