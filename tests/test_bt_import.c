/* test_bt_import.c -- unit tests of the conversion behind `bt import`
 * (cmd/bt_import.c): HumanEval, MBPP and task lines in, task lines out.
 *
 * The samples are small problems of the real datasets' shape, written for
 * these tests. Every converted line is parsed back with cJSON and checked
 * field by field; a marker in each reference solution must never reach the
 * output.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "bt_import.h"
#include "task/task.h"

/* ---- Samples --------------------------------------------------------------- */

#define HE_PROMPT0 \
    "from typing import List\\n\\n\\ndef sum_of_squares(numbers: " \
    "List[int]) -> int:\\n    \\\"\\\"\\\" Return the sum of the squares " \
    "of the given integers.\\n    >>> sum_of_squares([1, 2, 3])\\n    14\\n" \
    "    \\\"\\\"\\\"\\n"
#define HE_TEST0 \
    "\\n\\nMETADATA = {'author': 'bt'}\\n\\n\\ndef check(candidate):\\n" \
    "    assert candidate([1, 2, 3]) == 14\\n    assert candidate([]) == 0\\n"

/* Three HumanEval-shaped problems; the second shows a helper, the third
 * ends its test without a newline. */
static const char *const HE[] = {
    "{\"task_id\": \"Sample/0\", \"prompt\": \"" HE_PROMPT0 "\", "
    "\"canonical_solution\": \"    SECRET_SOLUTION_0 = 0\\n    return "
    "sum(n * n for n in numbers)\\n\", \"test\": \"" HE_TEST0 "\", "
    "\"entry_point\": \"sum_of_squares\"}",

    "{\"task_id\": \"Sample/1\", \"prompt\": \"def is_vowel(c: str) -> "
    "bool:\\n    return c.lower() in 'aeiou'\\n\\n\\ndef "
    "count_vowel_words(sentence: str) -> int:\\n    \\\"\\\"\\\" Count the "
    "words that start with a vowel.\\n    \\\"\\\"\\\"\\n\", "
    "\"canonical_solution\": \"    SECRET_SOLUTION_1 = sentence.split()\\n"
    "    return sum(1 for w in SECRET_SOLUTION_1 if is_vowel(w[0]))\\n\", "
    "\"test\": \"def check(candidate):\\n    assert candidate('An apple') "
    "== 2\\n\", \"entry_point\": \"count_vowel_words\"}",

    "{\"task_id\": \"Sample/2\", \"prompt\": \"def running_max(xs):\\n"
    "    \\\"\\\"\\\" Largest element so far at each position. "
    "\\\"\\\"\\\"\\n\", \"canonical_solution\": \"    SECRET_SOLUTION_2 = "
    "[]\\n    return SECRET_SOLUTION_2\\n\", \"test\": \"def "
    "check(candidate):\\n    assert candidate([1, 3, 2]) == [1, 3, 3]\", "
    "\"entry_point\": \"running_max\"}",
};

/* Three MBPP-shaped problems: CRLF code, set-up code with a wrapper call
 * (math.isclose), a builtin wrapper (set) and a challenge test. */
static const char *const MBPP[] = {
    "{\"task_id\": 901, \"text\": \"Write a function to count the upper "
    "case letters in a string.\", \"code\": \"def count_upper(s):\\r\\n  "
    "SECRET_CODE_901 = 0\\r\\n  return sum(1 for c in s if c.isupper())\", "
    "\"test_list\": [\"assert count_upper('Hello World') == 2\", \"assert "
    "count_upper('abc') == 0\", \"assert count_upper('ABC') == 3\"], "
    "\"test_setup_code\": \"\", \"challenge_test_list\": []}",

    "{\"task_id\": 902, \"text\": \"Write a function to find the area of a "
    "circle.\", \"code\": \"import math\\r\\ndef circle_area(r):\\r\\n  "
    "SECRET_CODE_902 = math.pi\\r\\n  return SECRET_CODE_902 * r * r\", "
    "\"test_list\": [\"assert math.isclose(circle_area(2), 12.566, "
    "rel_tol=1e-3)\", \"assert circle_area(0) == 0\"], "
    "\"test_setup_code\": \"import math\\r\\n\", "
    "\"challenge_test_list\": []}",

    "{\"task_id\": 903, \"text\": \"Write a function to find the common "
    "elements of two lists.\", \"code\": \"def common_items(a, b):\\r\\n  "
    "return [SECRET_CODE_903 for SECRET_CODE_903 in a if SECRET_CODE_903 "
    "in b]\", \"test_list\": [\"assert set(common_items([1, 2, 3], [2, 3, "
    "4])) == set([2, 3])\", \"  assert common_items([], [1]) == []  \"], "
    "\"test_setup_code\": \"\", \"challenge_test_list\": [\"assert "
    "set(common_items(list(range(9)), [8])) == {8}\"]}",
};

/* ---- Helpers --------------------------------------------------------------- */

struct conv {
    int rc;
    char *task, *sid, *reason;
    cJSON *json;        /* task parsed back, if it is JSON */
};

static struct conv convert_opts(enum bt_import_format fmt, const char *line,
                                const struct bt_import_opts *o)
{
    struct conv c = { 0 };

    c.rc = bt_import_convert(fmt, line, strlen(line), o, &c.task, &c.sid,
                             &c.reason);
    if (c.rc == 0) {
        assert_non_null(c.task);
        assert_int_equal(strchr(c.task, '\n') == NULL, 1);
        c.json = cJSON_Parse(c.task);
    }
    return c;
}

static struct conv convert(enum bt_import_format fmt, const char *line,
                           const char *set)
{
    struct bt_import_opts o = { .set = set };

    return convert_opts(fmt, line, &o);
}

static void conv_free(struct conv *c)
{
    free(c->task);
    free(c->sid);
    free(c->reason);
    cJSON_Delete(c->json);
}

static const char *str_field(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

/* The skills as "a,b". */
static char *skills_of(const cJSON *o)
{
    const cJSON *sk = cJSON_GetObjectItemCaseSensitive(o, "skills"), *e;
    static char buf[256];

    buf[0] = '\0';
    assert_true(cJSON_IsArray(sk));
    cJSON_ArrayForEach(e, sk) {
        assert_true(cJSON_IsString(e));
        if (buf[0])
            strcat(buf, ",");
        strcat(buf, e->valuestring);
    }
    return buf;
}

static void expect_refused(enum bt_import_format fmt, const char *line,
                           const char *words)
{
    struct conv c = convert(fmt, line, NULL);

    if (c.rc != -EINVAL)
        fail_msg("expected -EINVAL for %s, got %d", line, c.rc);
    assert_null(c.task);
    assert_non_null(c.reason);
    if (!strstr(c.reason, words))
        fail_msg("reason \"%s\" lacks \"%s\"", c.reason, words);
    conv_free(&c);
}

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

static char *repeat(char ch, size_t n)
{
    char *s = malloc(n + 1);

    if (!s)
        abort();
    memset(s, ch, n);
    s[n] = '\0';
    return s;
}

/* ---- Names and formats ------------------------------------------------------ */

static void test_format_names(void **state)
{
    enum bt_import_format f = BT_IMPORT_TASKS;

    (void)state;
    assert_int_equal(bt_import_format_parse("humaneval", &f), 0);
    assert_int_equal(f, BT_IMPORT_HUMANEVAL);
    assert_int_equal(bt_import_format_parse("mbpp", &f), 0);
    assert_int_equal(f, BT_IMPORT_MBPP);
    assert_int_equal(bt_import_format_parse("tasks", &f), 0);
    assert_int_equal(f, BT_IMPORT_TASKS);
    assert_int_equal(bt_import_format_parse("HumanEval", &f), -EINVAL);
    assert_int_equal(bt_import_format_parse("", &f), -EINVAL);
    assert_int_equal(f, BT_IMPORT_TASKS);
    assert_string_equal(bt_import_format_name(BT_IMPORT_MBPP), "mbpp");
}

static bool bool_field(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    assert_true(cJSON_IsBool(v));
    return cJSON_IsTrue(v);
}

static bool has_field(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name) != NULL;
}

/* No skill is ever the set's or the benchmark's name. */
static void no_set_skill(const cJSON *o)
{
    const char *sk = skills_of(o);

    assert_null(strstr(sk, "humaneval"));
    assert_null(strstr(sk, "mbpp"));
    assert_null(strstr(sk, "run"));
}

/* ---- HumanEval --------------------------------------------------------------- */

static void test_humaneval_sample(void **state)
{
    static const char *const entry[] = { "sum_of_squares",
        "count_vowel_words", "running_max" };

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        struct conv c = convert(BT_IMPORT_HUMANEVAL, HE[i], NULL);
        cJSON *src = cJSON_Parse(HE[i]);
        char *want;

        assert_int_equal(c.rc, 0);
        assert_non_null(c.json);
        assert_non_null(src);
        want = xasprintf("Sample/%zu", i);
        assert_string_equal(c.sid, want);
        free(want);
        /* Exactly these fields: nothing else of the problem leaks. */
        assert_int_equal(cJSON_GetArraySize(c.json), 8);
        assert_string_equal(str_field(c.json, "language"), "python");
        assert_string_equal(str_field(c.json, "tests"), i == 0 ?
                            "assert sum_of_squares([1, 2, 3]) == 14\n" : "");
        no_set_skill(c.json);
        /* A benchmark's problem: its set, its id, held out. */
        assert_string_equal(str_field(c.json, "set"), "humaneval");
        want = xasprintf("Sample/%zu", i);
        assert_string_equal(str_field(c.json, "problem_id"), want);
        free(want);
        assert_true(bool_field(c.json, "held_out"));
        const char *goal = str_field(c.json, "goal");
        assert_non_null(strstr(goal, str_field(src, "prompt")));
        want = xasprintf("`%s`", entry[i]);
        assert_non_null(strstr(goal, want));
        free(want);
        assert_non_null(strstr(goal, "whole function"));
        /* Stored as btfs stores it: trimmed. */
        assert_int_not_equal(goal[strlen(goal) - 1], '\n');
        /* The dataset's test, then the one top-level test that runs it. */
        const char *test = str_field(src, "test");
        size_t tl = strlen(test);
        want = xasprintf("%s%s\n\ndef test_check():\n    check(%s)\n", test,
                         tl && test[tl - 1] == '\n' ? "" : "\n", entry[i]);
        assert_string_equal(str_field(c.json, "hidden_tests"), want);
        free(want);
        assert_null(strstr(c.task, "SECRET_SOLUTION"));
        assert_null(strstr(c.task, "canonical"));
        cJSON_Delete(src);
        conv_free(&c);
    }
}

static void test_humaneval_set(void **state)
{
    struct conv c = convert(BT_IMPORT_HUMANEVAL, HE[0], "run-7");

    (void)state;
    assert_int_equal(c.rc, 0);
    assert_string_equal(str_field(c.json, "set"), "run-7");
    /* The skills come from the text (sums of squares), not the set. */
    assert_string_equal(skills_of(c.json), "math");
    conv_free(&c);
    /* Stored as btfs stores set names: lower case. */
    c = convert(BT_IMPORT_HUMANEVAL, HE[0], "He.Run-2");
    assert_int_equal(c.rc, 0);
    assert_string_equal(str_field(c.json, "set"), "he.run-2");
    no_set_skill(c.json);
    conv_free(&c);
}

/* The import options become task fields: --train, --max-attempts,
 * --no-memory; and no problem of a benchmark without them says more than
 * it must (defaults are left out, as btfs leaves them out). */
static void test_options(void **state)
{
    struct bt_import_opts o = { .train = true, .max_attempts = 1,
                                .no_memory = true };
    struct conv c = convert_opts(BT_IMPORT_HUMANEVAL, HE[1], &o);

    (void)state;
    assert_int_equal(c.rc, 0);
    assert_false(has_field(c.json, "held_out"));
    assert_int_equal(cJSON_GetObjectItem(c.json, "max_attempts")->valueint,
                     1);
    assert_false(bool_field(c.json, "memory"));
    assert_string_equal(str_field(c.json, "set"), "humaneval");
    conv_free(&c);
    c = convert_opts(BT_IMPORT_MBPP, MBPP[0], NULL);
    assert_int_equal(c.rc, 0);
    assert_true(bool_field(c.json, "held_out"));
    assert_false(has_field(c.json, "max_attempts"));
    assert_false(has_field(c.json, "memory"));
    assert_string_equal(str_field(c.json, "set"), "mbpp");
    conv_free(&c);
    /* A task line is no benchmark's: not held out unless it says so; the
     * options override what it says. */
    o = (struct bt_import_opts){ .max_attempts = 3 };
    c = convert_opts(BT_IMPORT_TASKS, "{\"goal\":\"g\",\"held_out\":true,"
                     "\"max_attempts\":9,\"memory\":true}", &o);
    assert_int_equal(c.rc, 0);
    assert_true(bool_field(c.json, "held_out"));
    assert_int_equal(cJSON_GetObjectItem(c.json, "max_attempts")->valueint,
                     3);
    assert_false(has_field(c.json, "set"));
    conv_free(&c);
    o = (struct bt_import_opts){ .train = true, .no_memory = true };
    c = convert_opts(BT_IMPORT_TASKS, "{\"goal\":\"g\",\"held_out\":true}",
                     &o);
    assert_int_equal(c.rc, 0);
    assert_false(has_field(c.json, "held_out"));
    assert_false(bool_field(c.json, "memory"));
    conv_free(&c);
    o = (struct bt_import_opts){ .max_attempts = 2 };
    c = convert_opts(BT_IMPORT_TASKS, "a plain goal", &o);
    assert_int_equal(c.rc, 0);
    assert_string_equal(c.task, "{\"goal\":\"a plain goal\","
                        "\"max_attempts\":2}");
    conv_free(&c);
}

/* A HumanEval prompt whose docstring holds EXAMPLES, with entry point f. */
static struct conv he_with(const char *examples)
{
    cJSON *o = cJSON_CreateObject();
    char *prompt = xasprintf("def f(x, y=0):\n    \"\"\" Does f.\n%s"
                             "    \"\"\"\n", examples), *line;
    struct conv c;

    cJSON_AddStringToObject(o, "task_id", "T/1");
    cJSON_AddStringToObject(o, "prompt", prompt);
    cJSON_AddStringToObject(o, "test", "def check(c):\n    assert c(1)\n");
    cJSON_AddStringToObject(o, "entry_point", "f");
    line = cJSON_PrintUnformatted(o);
    c = convert(BT_IMPORT_HUMANEVAL, line, NULL);
    assert_int_equal(c.rc, 0);
    free(line);
    free(prompt);
    cJSON_Delete(o);
    return c;
}

static void examples_are(const char *examples, const char *want)
{
    struct conv c = he_with(examples);

    if (strcmp(str_field(c.json, "tests"), want) != 0)
        fail_msg("examples:\n%s\ngave tests:\n%s\nwant:\n%s", examples,
                 str_field(c.json, "tests"), want);
    conv_free(&c);
}

/* The docstring's >>> examples become visible tests; what cannot be
 * compared with == (printed text, set-up statements, continuations, calls
 * of other functions) is left out rather than guessed at. */
static void test_humaneval_examples(void **state)
{
    (void)state;
    examples_are("    >>> f(1)\n    2\n    >>> f([1, 2], y=3)\n"
                 "    [1, 2, 3]\n",
                 "assert f(1) == 2\nassert f([1, 2], y=3) == [1, 2, 3]\n");
    examples_are("    >>> f('a b')\n    'b a'\n\n    >>> f(\"x\")\n"
                 "    True\n", "assert f('a b') == 'b a'\n"
                 "assert f(\"x\") == True\n");
    /* A float is compared with a tolerance: docstrings round them. */
    examples_are("    >>> f(3.5)\n    0.5\n    >>> round(f(2), 2)\n"
                 "    -1e-3\n", "assert abs(f(3.5) - 0.5) < 1e-6\n"
                 "assert abs(round(f(2), 2) - -1e-3) < 1e-6\n");
    /* An expression that is more than one call is parenthesised, so that
     * "==" cannot bind into it. */
    examples_are("    >>> f(1) == 2\n    True\n    >>> not f(0)\n"
                 "    False\n", "assert (f(1) == 2) == True\n"
                 "assert (not f(0)) == False\n");
    /* Left out: printed text, a statement, no expected output, another
     * function, a continuation line, an ellipsis, a traceback. */
    examples_are("    >>> f(1)\n    hello world\n"
                 "    >>> x = f(2)\n    >>> g(3)\n    4\n"
                 "    >>> f(4)\n\n    >>> f(5,\n    ... 6)\n    7\n"
                 "    >>> f(6)\n    [1, ...]\n"
                 "    >>> f(-1)\n    Traceback (most recent call last):\n"
                 "    ValueError\n"
                 "    >>> self.f(2)\n    1\n    >>> ff(2)\n    1\n"
                 "    >>> f(7)  # a comment would cut the assert\n    0\n", "");
    /* A '#' inside a string is no comment. */
    examples_are("    >>> f('#')\n    1\n", "assert f('#') == 1\n");
    /* The output may end the docstring on its own line. */
    examples_are("    >>> f(2)\n    {'a': 1}\"\"\"\n", "assert f(2) == {'a': 1}\n");
    /* A multi-line literal is joined. */
    examples_are("    >>> f(3)\n    [1,\n     2]\n",
                 "assert f(3) == [1, 2]\n");
}

static void test_humaneval_refused(void **state)
{
    (void)state;
    expect_refused(BT_IMPORT_HUMANEVAL, "{\"task_id\":\"X/1\",\"test\":"
                   "\"def check(c):\\n    pass\\n\",\"entry_point\":\"f\"}",
                   "missing field 'prompt'");
    expect_refused(BT_IMPORT_HUMANEVAL, "{\"prompt\":\"def f():\\n\","
                   "\"entry_point\":\"f\"}", "missing field 'test'");
    expect_refused(BT_IMPORT_HUMANEVAL, "{\"prompt\":\"def f():\\n\","
                   "\"test\":\"def check(c):\\n    pass\\n\"}",
                   "missing field 'entry_point'");
    expect_refused(BT_IMPORT_HUMANEVAL, "{\"prompt\":\"def f():\\n\","
                   "\"test\":5,\"entry_point\":\"f\"}",
                   "field 'test' must be a string, got a number");
    expect_refused(BT_IMPORT_HUMANEVAL, "{\"prompt\":\"   \",\"test\":"
                   "\"def check(c):\\n    pass\\n\",\"entry_point\":\"f\"}",
                   "field 'prompt' is empty");
    expect_refused(BT_IMPORT_HUMANEVAL, "{\"prompt\":\"def f():\\n\","
                   "\"test\":\"def check(c):\\n    pass\\n\","
                   "\"entry_point\":\"f; import os\"}",
                   "field 'entry_point' must be a Python name");
    expect_refused(BT_IMPORT_HUMANEVAL, "{\"prompt\":\"def f():\\n\","
                   "\"test\":\"assert f() == 1\\n\",\"entry_point\":\"f\"}",
                   "defines no check()");
    expect_refused(BT_IMPORT_HUMANEVAL, "{\"prompt\":\"def f():\\u0007\\n\","
                   "\"test\":\"def check(c):\\n    pass\\n\","
                   "\"entry_point\":\"f\"}", "control character U+0007");
    /* A quoted value with a newline: the reason stays one line (found by
     * tests/fuzz/fuzz_import). */
    expect_refused(BT_IMPORT_HUMANEVAL, "{\"prompt\":\"def f():\\n\","
                   "\"test\":\"def check(c):\\n    pass\\n\","
                   "\"entry_point\":\"f(a):\\n  x\"}",
                   "must be a Python name, got \"f(a):   x\"");
    /* The id is known even when the problem is refused. */
    struct conv c = convert(BT_IMPORT_HUMANEVAL, "{\"task_id\":\"HE/9\"}",
                            NULL);
    assert_int_equal(c.rc, -EINVAL);
    assert_string_equal(c.sid, "HE/9");
    conv_free(&c);
}

/* The goal limit, hit exactly and by one byte: the prompt is sized so that
 * the goal the converter builds around it is 8192 bytes. */
static void test_humaneval_goal_limit(void **state)
{
    char *prompt = repeat('x', 100), *line;
    struct conv c;
    size_t overhead;

    (void)state;
    line = xasprintf("{\"prompt\":\"%s\",\"test\":\"def check(c):\\n    "
                     "pass\\n\",\"entry_point\":\"f\"}", prompt);
    c = convert(BT_IMPORT_HUMANEVAL, line, NULL);
    assert_int_equal(c.rc, 0);
    overhead = strlen(str_field(c.json, "goal")) - 100;
    conv_free(&c);
    free(line);
    free(prompt);
    for (int extra = 0; extra <= 1; extra++) {
        prompt = repeat('x', TASK_MAX_GOAL - overhead + (size_t)extra);
        line = xasprintf("{\"prompt\":\"%s\",\"test\":\"def check(c):\\n    "
                         "pass\\n\",\"entry_point\":\"f\"}", prompt);
        c = convert(BT_IMPORT_HUMANEVAL, line, NULL);
        if (extra == 0) {
            assert_int_equal(c.rc, 0);
        } else {
            assert_int_equal(c.rc, -EINVAL);
            assert_non_null(strstr(c.reason, "8193"));
            assert_non_null(strstr(c.reason, "8192"));
        }
        conv_free(&c);
        free(line);
        free(prompt);
    }
}

/* ---- MBPP --------------------------------------------------------------------- */

static void test_mbpp_sample(void **state)
{
    static const char *const hidden[] = {
        "assert count_upper('Hello World') == 2\n"
        "assert count_upper('abc') == 0\n"
        "assert count_upper('ABC') == 3\n",
        "import math\n"
        "assert math.isclose(circle_area(2), 12.566, rel_tol=1e-3)\n"
        "assert circle_area(0) == 0\n",
        "assert set(common_items([1, 2, 3], [2, 3, 4])) == set([2, 3])\n"
        "assert common_items([], [1]) == []\n"
        "assert set(common_items(list(range(9)), [8])) == {8}\n",
    };
    /* test_list is shown, as MBPP's own prompt shows it; the challenge
     * tests stay hidden. */
    static const char *const visible[] = {
        "assert count_upper('Hello World') == 2\n"
        "assert count_upper('abc') == 0\n"
        "assert count_upper('ABC') == 3\n",
        "import math\n"
        "assert math.isclose(circle_area(2), 12.566, rel_tol=1e-3)\n"
        "assert circle_area(0) == 0\n",
        "assert set(common_items([1, 2, 3], [2, 3, 4])) == set([2, 3])\n"
        "assert common_items([], [1]) == []\n",
    };
    static const char *const named[] = {
        "The function is called `count_upper`, called as "
        "`count_upper('Hello World')`",
        "The function is called `circle_area`, called as `circle_area(2)`",
        "The function is called `common_items`, called as "
        "`common_items([1, 2, 3], [2, 3, 4])`",
    };
    static const char *const sid[] = { "901", "902", "903" };

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        struct conv c = convert(BT_IMPORT_MBPP, MBPP[i], NULL);
        cJSON *src = cJSON_Parse(MBPP[i]);

        assert_int_equal(c.rc, 0);
        assert_non_null(c.json);
        assert_string_equal(c.sid, sid[i]);
        assert_int_equal(cJSON_GetArraySize(c.json), 8);
        assert_string_equal(str_field(c.json, "problem_id"), sid[i]);
        assert_string_equal(str_field(c.json, "set"), "mbpp");
        assert_true(bool_field(c.json, "held_out"));
        const char *goal = str_field(c.json, "goal");
        const char *text = str_field(src, "text");
        assert_memory_equal(goal, text, strlen(text));
        assert_non_null(strstr(goal, named[i]));
        assert_int_not_equal(goal[strlen(goal) - 1], '\n');
        assert_string_equal(str_field(c.json, "hidden_tests"), hidden[i]);
        assert_string_equal(str_field(c.json, "tests"), visible[i]);
        no_set_skill(c.json);
        assert_null(strstr(c.task, "SECRET_CODE"));
        assert_null(strchr(c.task, '\r'));
        assert_null(strstr(c.task, "\\r"));
        cJSON_Delete(src);
        conv_free(&c);
    }
}

/* The sanitized MBPP: "prompt" for the text, "test_imports" for set-up. */
static void test_mbpp_sanitized(void **state)
{
    struct conv c = convert(BT_IMPORT_MBPP,
        "{\"source_file\":\"x.py\",\"task_id\":2,\"prompt\":\"Write a "
        "function to square.\",\"code\":\"def sq(x):\\n    return x*x\","
        "\"test_imports\":[\"import math\"],\"test_list\":[\"assert sq(3) "
        "== 9\"]}", "s1");

    (void)state;
    assert_int_equal(c.rc, 0);
    assert_string_equal(str_field(c.json, "hidden_tests"),
                        "import math\nassert sq(3) == 9\n");
    assert_string_equal(str_field(c.json, "tests"),
                        "import math\nassert sq(3) == 9\n");
    assert_non_null(strstr(str_field(c.json, "goal"),
                           "Write a function to square."));
    assert_string_equal(str_field(c.json, "set"), "s1");
    assert_string_equal(str_field(c.json, "problem_id"), "2");
    no_set_skill(c.json);
    conv_free(&c);
}

/* The function is the name the code defines, even after another call;
 * without code, the first call that is not a builtin or dotted. */
static void test_mbpp_function_name(void **state)
{
    struct conv c = convert(BT_IMPORT_MBPP,
        "{\"text\":\"t\",\"code\":\"def add_one(x):\\n    return x + 1\","
        "\"test_list\":[\"assert wrap(3) == add_one(\\\"(\\\")\"]}", NULL);

    (void)state;
    assert_int_equal(c.rc, 0);
    assert_non_null(strstr(str_field(c.json, "goal"),
                           "called `add_one`, called as `add_one(\"(\")`"));
    conv_free(&c);
    c = convert(BT_IMPORT_MBPP, "{\"text\":\"t\",\"test_list\":[\"assert "
                "sorted(str(x.get(k))) == list(first_one('a)', [1, (2)]))\"]}",
                NULL);
    assert_int_equal(c.rc, 0);
    assert_non_null(strstr(str_field(c.json, "goal"),
                    "called `first_one`, called as `first_one('a)', [1, (2)])`"));
    conv_free(&c);
}

static void test_mbpp_refused(void **state)
{
    (void)state;
    expect_refused(BT_IMPORT_MBPP, "{\"task_id\":1,\"test_list\":[\"assert "
                   "f(1)\"]}", "missing field 'text'");
    expect_refused(BT_IMPORT_MBPP, "{\"text\":\"t\",\"code\":\"x\"}",
                   "missing field 'test_list'");
    expect_refused(BT_IMPORT_MBPP, "{\"text\":\"t\",\"test_list\":[]}",
                   "field 'test_list' is empty");
    expect_refused(BT_IMPORT_MBPP, "{\"text\":\"t\",\"test_list\":\"assert "
                   "f(1)\"}", "field 'test_list' must be an array");
    expect_refused(BT_IMPORT_MBPP, "{\"text\":\"t\",\"test_list\":[\"assert "
                   "f(1)\", 7]}", "field 'test_list' item 1 must be a string");
    expect_refused(BT_IMPORT_MBPP, "{\"text\":\"t\",\"test_list\":[\"assert "
                   "f(1)\"],\"test_setup_code\":null}",
                   "field 'test_setup_code' must be a string, got null");
    expect_refused(BT_IMPORT_MBPP, "{\"text\":\"t\",\"test_list\":[\"assert "
                   "x == len('f(1)')\"]}", "no function call found");
}

/* Hidden tests at the limit of tasks/new, and one byte over. */
static void test_mbpp_tests_limit(void **state)
{
    /* "assert f(1) == '<pad>'\n": 18 bytes + pad. */
    (void)state;
    for (int extra = 0; extra <= 1; extra++) {
        char *pad = repeat('p', TASK_MAX_TESTS - 18 + (size_t)extra);
        char *line = xasprintf("{\"text\":\"t\",\"test_list\":[\"assert "
                               "f(1) == '%s'\"]}", pad);
        struct conv c = convert(BT_IMPORT_MBPP, line, NULL);
        if (extra == 0) {
            assert_int_equal(c.rc, 0);
            assert_int_equal(strlen(str_field(c.json, "hidden_tests")),
                             TASK_MAX_TESTS);
        } else {
            assert_int_equal(c.rc, -EINVAL);
            assert_non_null(strstr(c.reason, "hidden tests"));
            assert_non_null(strstr(c.reason, "65537"));
        }
        conv_free(&c);
        free(line);
        free(pad);
    }
}

/* ---- tasks and JSON ------------------------------------------------------------ */

static void test_tasks_passthrough(void **state)
{
    static const char *const same[] = {
        "reverse a linked list",
        "{ \"goal\": \"square\",  \"difficulty\": 0.3, \"skills\": [\"math\"] }",
        "{\"goal\":\"x\",\"priority\":1000}",
    };

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        struct conv c = convert(BT_IMPORT_TASKS, same[i], NULL);
        assert_int_equal(c.rc, 0);
        assert_string_equal(c.task, same[i]);
        assert_null(c.sid);
        conv_free(&c);
    }
    struct conv c = convert(BT_IMPORT_TASKS, "crlf goal\r", NULL);
    assert_int_equal(c.rc, 0);
    assert_string_equal(c.task, "crlf goal");
    conv_free(&c);
}

/* --set on task lines sets the field 'set' (never a skill), replacing the
 * line's own. */
static void test_tasks_set(void **state)
{
    struct conv c = convert(BT_IMPORT_TASKS, "  plain goal ", "mine");

    (void)state;
    assert_int_equal(c.rc, 0);
    assert_string_equal(c.task, "{\"goal\":\"plain goal\",\"set\":"
                        "\"mine\"}");
    conv_free(&c);
    c = convert(BT_IMPORT_TASKS, "{\"goal\":\"g\",\"skills\":[\"math\"],"
                "\"set\":\"theirs\",\"problem_id\":\"P/1\"}", "Mine");
    assert_int_equal(c.rc, 0);
    assert_string_equal(skills_of(c.json), "math");
    assert_string_equal(str_field(c.json, "set"), "mine");
    assert_string_equal(str_field(c.json, "problem_id"), "P/1");
    assert_false(has_field(c.json, "held_out"));
    conv_free(&c);
}

static void test_tasks_refused(void **state)
{
    char *goal, *line;

    (void)state;
    expect_refused(BT_IMPORT_TASKS, "{\"goal\":\"g\",\"prompt\":\"p\"}",
                   "unknown field 'prompt' (a HumanEval line? use --format "
                   "humaneval)");
    expect_refused(BT_IMPORT_TASKS, "{\"goal\":\"g\",\"test_list\":[]}",
                   "use --format mbpp");
    expect_refused(BT_IMPORT_TASKS, "{\"task_id\":\"HumanEval/0\",\"prompt\":"
                   "\"p\",\"entry_point\":\"f\"}", "unknown field 'task_id' "
                   "(a HumanEval line? use --format humaneval)");
    expect_refused(BT_IMPORT_TASKS, "{\"task_id\":2,\"prompt\":\"p\","
                   "\"test_list\":[]}", "(an MBPP line? use --format mbpp)");
    expect_refused(BT_IMPORT_TASKS, "{\"goal\":\"g\",\"colour\":1}",
                   "unknown field 'colour'");
    expect_refused(BT_IMPORT_TASKS, "{\"goal\":\"a\",\"goal\":\"b\"}",
                   "field 'goal' given twice");
    expect_refused(BT_IMPORT_TASKS, "{\"difficulty\":0.5}",
                   "field 'goal' is required");
    expect_refused(BT_IMPORT_TASKS, "{\"goal\":\"g\",\"tests\":[]}",
                   "field 'tests' must be a string");
    expect_refused(BT_IMPORT_TASKS, "bad \xff byte", "invalid UTF-8");
    /* Judged by btfs's own parser, values too. */
    expect_refused(BT_IMPORT_TASKS, "{\"goal\":\"x\",\"priority\":5000}",
                   "field 'priority' must be an integer from -1000 to 1000");
    expect_refused(BT_IMPORT_TASKS, "bell \a here", "control character");
    goal = repeat('g', TASK_MAX_GOAL + 1);
    expect_refused(BT_IMPORT_TASKS, goal, "8193");
    line = xasprintf("{\"goal\":\"%s\"}", goal);
    expect_refused(BT_IMPORT_TASKS, line, "field 'goal' must be at most 8192 "
                   "bytes, got 8193");
    free(line);
    goal[TASK_MAX_GOAL] = '\0';
    struct conv c = convert(BT_IMPORT_TASKS, goal, NULL);
    assert_int_equal(c.rc, 0);
    conv_free(&c);
    free(goal);
    char *tests = repeat('t', TASK_MAX_LINE);
    line = xasprintf("{\"goal\":\"g\",\"tests\":\"%s\"}", tests);
    expect_refused(BT_IMPORT_TASKS, line, "the line is");
    free(line);
    free(tests);
}

static void test_bad_json(void **state)
{
    (void)state;
    expect_refused(BT_IMPORT_HUMANEVAL, "{\"prompt\": \"x\",", "not valid "
                   "JSON");
    expect_refused(BT_IMPORT_MBPP, "{\"text\":\"t\"} trailing",
                   "text after the JSON object (at byte 13)");
    expect_refused(BT_IMPORT_HUMANEVAL, "[1, 2]", "must be a JSON object, "
                   "got an array");
    expect_refused(BT_IMPORT_HUMANEVAL, "plain words", "not valid JSON");
    /* \u0000 would cut the string short in cJSON: refused, not truncated. */
    expect_refused(BT_IMPORT_HUMANEVAL, "{\"prompt\":\"def f():\\u0000 "
                   "hidden\",\"test\":\"def check(c): pass\","
                   "\"entry_point\":\"f\"}", "\\u0000");
    /* An escaped backslash before u0000 is text, not a NUL. */
    struct conv c = convert(BT_IMPORT_HUMANEVAL, "{\"prompt\":\"s = "
        "'\\\\u0000'\\n\",\"test\":\"def check(c):\\n    pass\\n\","
        "\"entry_point\":\"f\"}", NULL);
    assert_int_equal(c.rc, 0);
    assert_non_null(strstr(str_field(c.json, "goal"), "s = '\\u0000'"));
    conv_free(&c);
    expect_refused(BT_IMPORT_MBPP, "{\"text\":\"t\xc0\xaf\"}",
                   "not valid UTF-8");
}

static void test_blank(void **state)
{
    static const char *const blank[] = { "", "   ", "\t\r", "\r" };
    char *task, *sid, *reason;

    (void)state;
    for (size_t i = 0; i < 4; i++)
        for (int f = BT_IMPORT_TASKS; f <= BT_IMPORT_MBPP; f++) {
            assert_int_equal(bt_import_convert((enum bt_import_format)f,
                             blank[i], strlen(blank[i]), NULL, &task, &sid,
                             &reason), 1);
            assert_null(task);
            assert_null(reason);
        }
}

/* ---- A whole file, and batches ------------------------------------------------- */

static void test_parse_file(void **state)
{
    char *file = xasprintf("%s\n\n%s\r\n{\"prompt\":1}\n%s\nnot json\n%s",
                           HE[0], HE[1], HE[2], HE[0]);
    struct bt_import_set s = { 0 };

    (void)state;
    struct bt_import_opts o = { .set = "R" };
    assert_int_equal(bt_import_parse(file, strlen(file), BT_IMPORT_HUMANEVAL,
                                     &o, &s), 0);
    assert_int_equal(s.nitems, 4);
    assert_int_equal(s.blank, 1);
    assert_int_equal(s.items[0].line, 1);
    assert_int_equal(s.items[1].line, 3);
    assert_int_equal(s.items[2].line, 5);
    assert_int_equal(s.items[3].line, 7);   /* last line, no '\n' */
    assert_string_equal(s.items[2].source_id, "Sample/2");
    /* Each item knows its (set, problem_id), as btfs will store them. */
    assert_string_equal(s.items[2].set, "r");
    assert_string_equal(s.items[2].problem_id, "Sample/2");
    for (size_t i = 0; i < s.nitems; i++) {
        assert_int_equal(s.items[i].len, strlen(s.items[i].task));
        assert_null(s.items[i].id);
    }
    assert_int_equal(s.nproblems, 2);
    assert_int_equal(s.problems[0].line, 4);
    assert_non_null(strstr(s.problems[0].reason, "'prompt'"));
    assert_int_equal(s.problems[1].line, 6);
    assert_non_null(strstr(s.problems[1].reason, "not valid JSON"));
    bt_import_set_free(&s);
    assert_int_equal(s.nitems, 0);
    bt_import_set_free(&s);     /* a zeroed set is fine */
    free(file);

    assert_int_equal(bt_import_parse("", 0, BT_IMPORT_MBPP, NULL, &s), 0);
    assert_int_equal(s.nitems + s.nproblems + s.blank, 0);
    bt_import_set_free(&s);
}

/* Re-import: the problems already in the set are dropped with the task
 * that holds them; other sets, and items without an id, are not. */
static void test_skip_present(void **state)
{
    char *file = xasprintf("%s\n%s\n%s\n", HE[0], HE[1], HE[2]);
    struct bt_import_set s = { 0 };
    struct bt_import_present he[] = {
        { "Sample/2", "task_000007" }, { "Sample/0", "task_000005" },
        { "Other/1", "task_000001" },
    };

    (void)state;
    assert_int_equal(bt_import_parse(file, strlen(file), BT_IMPORT_HUMANEVAL,
                                     NULL, &s), 0);
    assert_int_equal(s.nitems, 3);
    /* Another set's problems are not this set's. */
    assert_int_equal(bt_import_skip_present(&s, "he-single", he, 3), 0);
    assert_int_equal(bt_import_skip_present(&s, "humaneval", he, 0), 0);
    assert_int_equal(bt_import_skip_present(&s, "humaneval", he, 3), 2);
    assert_true(s.items[0].dropped);
    assert_string_equal(s.items[0].present, "task_000005");
    assert_false(s.items[1].dropped);
    assert_null(s.items[1].present);
    assert_true(s.items[2].dropped);
    assert_string_equal(s.items[2].present, "task_000007");
    /* Dropped items are never written: a batch of one line passes over
     * both. */
    assert_int_equal(bt_import_batch_end(&s, 0, 1, 1 << 20), 3);
    /* Asking again drops nothing more. */
    assert_int_equal(bt_import_skip_present(&s, "humaneval", he, 3), 0);
    bt_import_set_free(&s);

    /* Task lines: matched by their own set and problem_id; none, none. */
    const char *tasks = "{\"goal\":\"a\",\"set\":\"HumanEval\","
                        "\"problem_id\":\" Sample/0 \"}\nplain goal\n"
                        "{\"goal\":\"b\",\"problem_id\":\"Sample/2\"}\n";
    assert_int_equal(bt_import_parse(tasks, strlen(tasks), BT_IMPORT_TASKS,
                                     NULL, &s), 0);
    assert_int_equal(s.nitems, 3);
    assert_string_equal(s.items[0].set, "humaneval");
    assert_string_equal(s.items[0].problem_id, "Sample/0");
    assert_null(s.items[1].set);
    assert_null(s.items[2].set);
    assert_int_equal(bt_import_skip_present(&s, "humaneval", he, 3), 1);
    assert_true(s.items[0].dropped);
    assert_false(s.items[2].dropped);
    bt_import_set_free(&s);
    free(file);
}

/* The same problem twice in one file is one task; under two sets, two. */
static void test_skip_repeats(void **state)
{
    char *file = xasprintf("%s\n%s\n%s\n%s\n%s\n", HE[0], HE[1], HE[0],
                           HE[2], HE[0]);
    struct bt_import_set s = { 0 };

    (void)state;
    assert_int_equal(bt_import_parse(file, strlen(file), BT_IMPORT_HUMANEVAL,
                                     NULL, &s), 0);
    assert_int_equal(s.nitems, 5);
    assert_int_equal(bt_import_skip_repeats(&s), 2);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(s.items[i].dropped, i == 2 || i == 4);
        assert_int_equal(s.items[i].repeat_of, i == 2 || i == 4 ? 1 : 0);
    }
    assert_int_equal(bt_import_skip_repeats(&s), 0);
    bt_import_set_free(&s);
    free(file);

    const char *tasks = "{\"goal\":\"a\",\"set\":\"x\",\"problem_id\":\"1\"}\n"
                        "{\"goal\":\"a\",\"set\":\"y\",\"problem_id\":\"1\"}\n"
                        "{\"goal\":\"a\",\"problem_id\":\"1\"}\n"
                        "{\"goal\":\"a\",\"problem_id\":\"1\"}\n";
    assert_int_equal(bt_import_parse(tasks, strlen(tasks), BT_IMPORT_TASKS,
                                     NULL, &s), 0);
    /* Without a set nothing tells two problems apart. */
    assert_int_equal(bt_import_skip_repeats(&s), 0);
    bt_import_set_free(&s);
    assert_int_equal(bt_import_skip_repeats(&s), 0);    /* empty set */
}

static void test_batches(void **state)
{
    struct bt_import_item items[6] = { 0 };
    struct bt_import_set s = { .items = items, .nitems = 6 };
    static const size_t lens[6] = { 9, 9, 9, 29, 9, 99 };

    (void)state;
    for (size_t i = 0; i < 6; i++)
        items[i].len = lens[i];
    /* By lines: 2 a batch. */
    assert_int_equal(bt_import_batch_end(&s, 0, 2, 1000), 2);
    assert_int_equal(bt_import_batch_end(&s, 2, 2, 1000), 4);
    assert_int_equal(bt_import_batch_end(&s, 4, 2, 1000), 6);
    assert_int_equal(bt_import_batch_end(&s, 6, 2, 1000), 6);
    /* By bytes (each line + '\n'): 10 + 10 + 10 = 30 fits exactly. */
    assert_int_equal(bt_import_batch_end(&s, 0, 100, 30), 3);
    assert_int_equal(bt_import_batch_end(&s, 0, 100, 29), 2);
    /* A line larger than the limit still makes a batch of its own. */
    assert_int_equal(bt_import_batch_end(&s, 5, 100, 30), 6);
    assert_int_equal(bt_import_batch_end(&s, 3, 100, 30), 4);
    /* Dropped items neither count nor weigh. */
    items[1].dropped = true;
    assert_int_equal(bt_import_batch_end(&s, 0, 2, 1000), 3);
    assert_int_equal(bt_import_batch_end(&s, 0, 100, 20), 3);
    items[0].dropped = true;
    assert_int_equal(bt_import_batch_end(&s, 0, 1, 1000), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_names),
        cmocka_unit_test(test_humaneval_sample),
        cmocka_unit_test(test_humaneval_set),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_humaneval_examples),
        cmocka_unit_test(test_humaneval_refused),
        cmocka_unit_test(test_humaneval_goal_limit),
        cmocka_unit_test(test_mbpp_sample),
        cmocka_unit_test(test_mbpp_sanitized),
        cmocka_unit_test(test_mbpp_function_name),
        cmocka_unit_test(test_mbpp_refused),
        cmocka_unit_test(test_mbpp_tests_limit),
        cmocka_unit_test(test_tasks_passthrough),
        cmocka_unit_test(test_tasks_set),
        cmocka_unit_test(test_tasks_refused),
        cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_blank),
        cmocka_unit_test(test_parse_file),
        cmocka_unit_test(test_skip_present),
        cmocka_unit_test(test_skip_repeats),
        cmocka_unit_test(test_batches),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
