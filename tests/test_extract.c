/* test_extract.c -- unit tests for agents/llm/extract.c.
 *
 * Table-driven: each row is an answer of the kind local models give (prose,
 * Markdown fences, reasoning tags, CRLF from some templates, unicode), the
 * rule that must find its part and the exact part found.
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

#include "agents/llm/extract.h"

/* ---- think tags -------------------------------------------------------- */

struct think_case {
    const char *in;
    const char *out;
};

static const struct think_case think_cases[] = {
    { "no tags here", "no tags here" },
    { "  \n padded \r\n\t", "padded" },
    { "<think>\nplan: loop\n</think>\n\nanswer", "answer" },
    { "before <think>a</think> middle <think>b</think> after",
      "before  middle  after" },
    { "Okay, the user wants X.\nI'll do Y.\n</think>\n\nfinal", "final" },
    { "answer first <think>never closed {\"a\": 1}", "answer first" },
    { "<think>only thinking</think>", "" },
    { "<think>\n\n</think>\n\n{\"a\": 1}", "{\"a\": 1}" },
    { "", "" },
    /* A lone close before the first open goes, with all before it. */
    { "x</think>y<think>z</think>w", "yw" },
};

static void test_strip_think(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(think_cases) / sizeof(think_cases[0]);
         i++) {
        char *s = extract_strip_think(think_cases[i].in);

        assert_non_null(s);
        if (strcmp(s, think_cases[i].out) != 0)
            fail_msg("strip_think case %zu: got \"%s\", want \"%s\"", i, s,
                     think_cases[i].out);
        free(s);
    }
}

/* ---- JSON -------------------------------------------------------------- */

struct json_case {
    const char *name;
    const char *text;
    enum extract_json_rule rule;
    const char *want;           /* the object, as JSON; NULL for none    */
};

static const struct json_case json_cases[] = {
    { "plain object",
      "{\"name\": \"sum_list\", \"difficulty\": 0.4, \"skills\": [\"loops\"]}",
      EXTRACT_JSON_WHOLE,
      "{\"name\":\"sum_list\",\"difficulty\":0.4,\"skills\":[\"loops\"]}" },
    { "plain object with white space around",
      "\n\n  {\"ok\": true}  \n",
      EXTRACT_JSON_WHOLE, "{\"ok\":true}" },
    { "json fence",
      "Here is the reflection you asked for:\n\n```json\n"
      "{\n  \"what_went_wrong\": \"off by one\",\n  \"lesson\": \"check "
      "range ends\"\n}\n```\n",
      EXTRACT_JSON_FENCE,
      "{\"what_went_wrong\":\"off by one\",\"lesson\":\"check range ends\"}" },
    { "JSON fence in capitals",
      "```JSON\n{\"a\": 1}\n```",
      EXTRACT_JSON_FENCE, "{\"a\":1}" },
    { "bare fence",
      "```\n{\"tests\": \"assert f(2) == 4\"}\n```",
      EXTRACT_JSON_FENCE, "{\"tests\":\"assert f(2) == 4\"}" },
    { "json fence preferred to an earlier bare one",
      "Draft:\n```\n{\"from\": \"bare\"}\n```\nFinal:\n```json\n"
      "{\"from\": \"json\"}\n```\n",
      EXTRACT_JSON_FENCE, "{\"from\":\"json\"}" },
    { "prose before and after",
      "Sure! The task is {\"title\": \"Reverse a string\", \"level\": 2} "
      "and it should be easy. Let me know if you need more.",
      EXTRACT_JSON_EMBEDDED, "{\"title\":\"Reverse a string\",\"level\":2}" },
    /* found by tests/fuzz/fuzz_extract: the tag is content here */
    { "a think tag inside a string of a whole object",
      "{\"lesson\": \"close every </think> tag\", \"n\": 1}",
      EXTRACT_JSON_WHOLE,
      "{\"lesson\":\"close every </think> tag\",\"n\":1}" },
    { "think block before",
      "<think>\nThe user wants JSON like {\"x\": 1}. I will answer 2.\n"
      "</think>\n\n{\"x\": 2}",
      EXTRACT_JSON_WHOLE, "{\"x\":2}" },
    { "lone closing think tag",
      "Okay, so maybe {\"bad\": true}... no.\n</think>\n\n"
      "{\"good\": true}",
      EXTRACT_JSON_WHOLE, "{\"good\":true}" },
    { "fence with an array, then a fence with the object",
      "```json\n[1, 2, 3]\n```\nAs an object instead:\n```json\n"
      "{\"items\": [1, 2, 3]}\n```",
      EXTRACT_JSON_FENCE, "{\"items\":[1,2,3]}" },
    { "fence with an array, then the object in prose",
      "```json\n[\"a\", \"b\"]\n```\nOr as an object: {\"k\": \"v\"}.",
      EXTRACT_JSON_EMBEDDED, "{\"k\":\"v\"}" },
    { "braces inside strings",
      "Result: {\"code\": \"int main() { return 0; }\", \"note\": "
      "\"a lone } and a lone {\", \"q\": \"say \\\"{hi}\\\"\"} done",
      EXTRACT_JSON_EMBEDDED,
      "{\"code\":\"int main() { return 0; }\",\"note\":"
      "\"a lone } and a lone {\",\"q\":\"say \\\"{hi}\\\"\"}" },
    { "nested objects",
      "The answer:\n{\"skill\": {\"name\": \"loops\", \"meta\": "
      "{\"level\": 2, \"tags\": [{\"t\": 1}, {}]}}, \"n\": null}\nThanks.",
      EXTRACT_JSON_EMBEDDED,
      "{\"skill\":{\"name\":\"loops\",\"meta\":{\"level\":2,\"tags\":"
      "[{\"t\":1},{}]}},\"n\":null}" },
    { "unicode, raw and escaped",
      "{\"title\": \"Caf\xc3\xa9 \xe2\x98\x95\", "
      "\"esc\": \"\\u00e9\\u2603\\ud83d\\ude00\"}",
      EXTRACT_JSON_WHOLE,
      "{\"title\":\"Caf\xc3\xa9 \xe2\x98\x95\","
      "\"esc\":\"\xc3\xa9\xe2\x98\x83\xf0\x9f\x98\x80\"}" },
    { "CRLF",
      "Here you go:\r\n\r\n```json\r\n{\r\n  \"a\": \"x\",\r\n  \"b\": 2\r\n"
      "}\r\n```\r\n",
      EXTRACT_JSON_FENCE, "{\"a\":\"x\",\"b\":2}" },
    { "two objects: the first wins",
      "{\"first\": 1}\n{\"second\": 2}",
      EXTRACT_JSON_EMBEDDED, "{\"first\":1}" },
    { "two objects in prose: the first wins",
      "Option A: {\"first\": 1}. Option B: {\"second\": 2}.",
      EXTRACT_JSON_EMBEDDED, "{\"first\":1}" },
    { "broken JSON, then a good fenced one",
      "{\"a\": 1,, \"b\": }\nSorry, fixed:\n```json\n{\"a\": 1, \"b\": 2}\n"
      "```",
      EXTRACT_JSON_FENCE, "{\"a\":1,\"b\":2}" },
    { "escaped quote before a brace inside a string",
      "Note: {\"a\": \"quote \\\"}\\\" here\"}",
      EXTRACT_JSON_EMBEDDED, "{\"a\":\"quote \\\"}\\\" here\"}" },
    { "braces in prose before the object",
      "Use {braces} for sets and it's \"fine\": {\"a\": \"b\"}",
      EXTRACT_JSON_EMBEDDED, "{\"a\":\"b\"}" },
    { "broken outer braces around a good object",
      "{ here: {\"inner\": true} }",
      EXTRACT_JSON_EMBEDDED, "{\"inner\":true}" },
    /* The header counts objects only; an array's first object element is
     * still "a balanced {...} that parses". */
    { "array of objects",
      "[{\"a\": 1}, {\"a\": 2}]",
      EXTRACT_JSON_EMBEDDED, "{\"a\":1}" },
    { "no JSON at all",
      "I could not come up with a task, sorry.", EXTRACT_JSON_NONE, NULL },
    { "only an array", "[1, 2, 3]", EXTRACT_JSON_NONE, NULL },
    { "only an array, fenced",
      "```json\n[\"a\", \"b\"]\n```", EXTRACT_JSON_NONE, NULL },
    { "a scalar", "42", EXTRACT_JSON_NONE, NULL },
    { "a string", "\"{not an object}\"", EXTRACT_JSON_NONE, NULL },
    { "truncated object",
      "```json\n{\"name\": \"add\", \"tests\": \"assert add(1, 2) == ",
      EXTRACT_JSON_NONE, NULL },
    { "truncated nested object",
      "{\"a\": {\"b\": 1}", EXTRACT_JSON_EMBEDDED, "{\"b\":1}" },
    { "object only inside think",
      "<think>{\"a\": 1}</think>\nI don't know.", EXTRACT_JSON_NONE, NULL },
    { "empty answer", "", EXTRACT_JSON_NONE, NULL },
};

static void test_json_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(json_cases) / sizeof(json_cases[0]); i++) {
        const struct json_case *c = &json_cases[i];
        enum extract_json_rule rule = (enum extract_json_rule)-1;
        cJSON *got = extract_json(c->text, &rule), *want;

        if (rule != c->rule)
            fail_msg("%s: rule %s, want %s", c->name,
                     extract_json_rule_name(rule),
                     extract_json_rule_name(c->rule));
        if (!c->want) {
            if (got)
                fail_msg("%s: found an object, want none", c->name);
            continue;
        }
        if (!got)
            fail_msg("%s: found nothing", c->name);
        want = cJSON_Parse(c->want);
        assert_non_null(want);
        if (!cJSON_Compare(got, want, 1)) {
            char *s = cJSON_PrintUnformatted(got);

            fail_msg("%s: got %s, want %s", c->name, s ? s : "?", c->want);
        }
        cJSON_Delete(want);
        cJSON_Delete(got);
    }
}

static void test_json_rule_optional(void **state)
{
    cJSON *o;

    (void)state;
    o = extract_json("x {\"a\": 1} y", NULL);
    assert_non_null(o);
    assert_int_equal(cJSON_GetObjectItem(o, "a")->valueint, 1);
    cJSON_Delete(o);
    assert_null(extract_json("nothing", NULL));
}

static void test_json_rule_names(void **state)
{
    (void)state;
    assert_string_equal(extract_json_rule_name(EXTRACT_JSON_NONE), "none");
    assert_string_equal(extract_json_rule_name(EXTRACT_JSON_WHOLE), "whole");
    assert_string_equal(extract_json_rule_name(EXTRACT_JSON_FENCE), "fence");
    assert_string_equal(extract_json_rule_name(EXTRACT_JSON_EMBEDDED),
                        "embedded");
    assert_string_equal(extract_json_rule_name((enum extract_json_rule)99),
                        "none");
}

static void test_json_missing(void **state)
{
    cJSON *o = cJSON_Parse("{\"title\": \"t\", \"tests\": \"\", "
                           "\"hidden_tests\": null, \"n\": 0, "
                           "\"skills\": []}");
    const char *const all[] = { "title", "tests", "n", "skills", NULL };
    const char *const with_null[] = { "title", "hidden_tests", "x", NULL };
    const char *const with_missing[] = { "title", "solution", NULL };
    const char *const wrong_case[] = { "Title", NULL };
    const char *const none[] = { NULL };

    (void)state;
    assert_non_null(o);
    assert_null(extract_json_missing(o, all));
    /* The pointer returned is the caller's own string. */
    assert_ptr_equal(extract_json_missing(o, with_null), with_null[1]);
    assert_ptr_equal(extract_json_missing(o, with_missing),
                     with_missing[1]);
    assert_ptr_equal(extract_json_missing(o, wrong_case), wrong_case[0]);
    assert_null(extract_json_missing(o, none));
    cJSON_Delete(o);
}

/* ---- code -------------------------------------------------------------- */

struct code_case {
    const char *name;
    const char *text;
    const char *lang;
    enum extract_code_rule rule;
    const char *want;           /* NULL for none */
};

#define C_PROGRAM                                                           \
    "#include <stdio.h>\n"                                                  \
    "\n"                                                                    \
    "/* Prints the squares of 1..n. */\n"                                   \
    "int main(void)\n"                                                      \
    "{\n"                                                                   \
    "    int n = 5;\n"                                                      \
    "\n"                                                                    \
    "    for (int i = 1; i <= n; i++)\n"                                    \
    "        printf(\"%d\\n\", i * i);\n"                                   \
    "    return 0;\n"                                                       \
    "}\n"

#define C_SUM                                                               \
    "/*\n"                                                                  \
    "Reads numbers and prints their sum.\n"                                 \
    "Lines that do not parse end the input.\n"                              \
    "*/\n"                                                                  \
    "#include <stdio.h>\n"                                                  \
    "\n"                                                                    \
    "int main(void)\n"                                                      \
    "{\n"                                                                   \
    "    long sum = 0, x;\n"                                                \
    "\n"                                                                    \
    "    while (scanf(\"%ld\", &x) == 1)\n"                                 \
    "        sum += x;\n"                                                   \
    "    printf(\"%ld\\n\", sum);\n"                                        \
    "    return 0;\n"                                                       \
    "}\n"

#define SH_SCRIPT                                                           \
    "#!/bin/sh\n"                                                           \
    "set -eu\n"                                                             \
    "# count lines of every file given\n"                                   \
    "total=0\n"                                                             \
    "for f in \"$@\"; do\n"                                                 \
    "    n=$(wc -l < \"$f\")\n"                                             \
    "    total=$((total + n))\n"                                            \
    "done\n"                                                                \
    "echo \"$total\"\n"

static const struct code_case code_cases[] = {
    { "python fence",
      "Here is the solution:\n\n```python\ndef square(x):\n"
      "    return x * x\n```\n\nThis returns the square of x.",
      "python", EXTRACT_CODE_LANG_FENCE,
      "def square(x):\n    return x * x\n" },
    { "py fence",
      "```py\nprint(sum(range(10)))\n```",
      "python", EXTRACT_CODE_LANG_FENCE, "print(sum(range(10)))\n" },
    { "Python3 tag in capitals",
      "```Python3\nimport sys\nprint(sys.argv)\n```",
      "python", EXTRACT_CODE_LANG_FENCE, "import sys\nprint(sys.argv)\n" },
    { "several blocks: the tagged one wins over a larger untagged one",
      "First install it:\n```bash\npip install numpy\n```\n"
      "Then:\n```python\nimport numpy as np\nprint(np.zeros(3))\n```\n"
      "Output:\n```\n[0. 0. 0.]\nand a very long line of output that makes "
      "this block the largest one of the answer by far\n```\n",
      "python", EXTRACT_CODE_LANG_FENCE,
      "import numpy as np\nprint(np.zeros(3))\n" },
    { "several tagged blocks: the largest",
      "Usage:\n```python\nprint(fib(10))\n```\nImplementation:\n"
      "```python\ndef fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n"
      "        a, b = b, a + b\n    return a\n```\nExample:\n```python\n"
      "fib(3)\n```",
      "python", EXTRACT_CODE_LANG_FENCE,
      "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n"
      "        a, b = b, a + b\n    return a\n" },
    { "untagged fences only: the largest",
      "```\nx = 1\n```\nand\n```\ndef f():\n    return 42\n```\n",
      "python", EXTRACT_CODE_LARGEST_FENCE, "def f():\n    return 42\n" },
    { "other language only: the largest fence",
      "```javascript\nconsole.log(1);\n```\n```text\nok\n```",
      "python", EXTRACT_CODE_LARGEST_FENCE, "console.log(1);\n" },
    { "empty tagged fence: the largest other one",
      "```python\n\n```\n```\nprint('x')\n```",
      "python", EXTRACT_CODE_LARGEST_FENCE, "print('x')\n" },
    { "bash block asked as sh",
      "Run this:\n```bash\n#!/bin/bash\nls -l | wc -l\n```\n",
      "sh", EXTRACT_CODE_LANG_FENCE, "#!/bin/bash\nls -l | wc -l\n" },
    { "shell block asked as bash",
      "```shell\necho hi\n```\n```python\nprint('hi, and longer')\n```",
      "bash", EXTRACT_CODE_LANG_FENCE, "echo hi\n" },
    { "c block",
      "```c\n" C_PROGRAM "```\nCompile with gcc.",
      "c", EXTRACT_CODE_LANG_FENCE, C_PROGRAM },
    { "tilde fence",
      "~~~python\nprint(\"tilde\")\n~~~\n",
      "python", EXTRACT_CODE_LANG_FENCE, "print(\"tilde\")\n" },
    { "backticks do not close a tilde fence",
      "~~~python\ns = '''\n```\n'''\nprint(s)\n~~~",
      "python", EXTRACT_CODE_LANG_FENCE, "s = '''\n```\n'''\nprint(s)\n" },
    { "four-backtick fence holding a three-backtick line",
      "````python\nMD = \"\"\"\n```python\nx = 1\n```\n\"\"\"\nprint(MD)\n"
      "````\nDone.",
      "python", EXTRACT_CODE_LANG_FENCE,
      "MD = \"\"\"\n```python\nx = 1\n```\n\"\"\"\nprint(MD)\n" },
    { "unclosed fence runs to the end",
      "```python\ndef f(n):\n    if n < 2:\n        return n\n",
      "python", EXTRACT_CODE_LANG_FENCE,
      "def f(n):\n    if n < 2:\n        return n\n" },
    { "fence inside a list item",
      "1. Save this:\n   ```python\n   def f():\n       return 1\n   ```\n"
      "2. Run it.",
      "python", EXTRACT_CODE_LANG_FENCE, "def f():\n    return 1\n" },
    { "whole answer: python",
      "def is_even(n):\n    # even numbers leave no remainder\n"
      "    return n % 2 == 0\n\n\nprint(is_even(4))\n",
      "python", EXTRACT_CODE_WHOLE,
      "def is_even(n):\n    # even numbers leave no remainder\n"
      "    return n % 2 == 0\n\n\nprint(is_even(4))\n" },
    { "whole answer: python with a docstring",
      "import math\n\n\ndef area(r):\n    \"\"\"Return the area of a circle "
      "of radius r.\"\"\"\n    return math.pi * r ** 2\n\n\n"
      "class Circle:\n    def __init__(self, r):\n        self.r = r\n"
      "\n    def area(self):\n        return area(self.r)\n",
      "python", EXTRACT_CODE_WHOLE,
      "import math\n\n\ndef area(r):\n    \"\"\"Return the area of a circle "
      "of radius r.\"\"\"\n    return math.pi * r ** 2\n\n\n"
      "class Circle:\n    def __init__(self, r):\n        self.r = r\n"
      "\n    def area(self):\n        return area(self.r)\n" },
    { "whole answer: python with a long docstring",
      "def median(xs):\n    \"\"\"Return the median of xs.\n\n"
      "    The list is sorted first, so the input is left as it is.\n"
      "    \"\"\"\n    s = sorted(xs)\n    return s[len(s) // 2]\n",
      "python", EXTRACT_CODE_WHOLE,
      "def median(xs):\n    \"\"\"Return the median of xs.\n\n"
      "    The list is sorted first, so the input is left as it is.\n"
      "    \"\"\"\n    s = sorted(xs)\n    return s[len(s) // 2]\n" },
    { "whole answer: sh commands",
      "#!/bin/sh\nmkdir -p build\ngcc -O2 -o build/app main.c\n"
      "./build/app --verbose | tee log.txt\nstrip build/app\n",
      "sh", EXTRACT_CODE_WHOLE,
      "#!/bin/sh\nmkdir -p build\ngcc -O2 -o build/app main.c\n"
      "./build/app --verbose | tee log.txt\nstrip build/app\n" },
    { "whole answer: C with a block comment of sentences",
      C_SUM, "c", EXTRACT_CODE_WHOLE, C_SUM },
    { "whole answer: C program",
      C_PROGRAM, "c", EXTRACT_CODE_WHOLE, C_PROGRAM },
    { "whole answer: sh script",
      SH_SCRIPT, "sh", EXTRACT_CODE_WHOLE, SH_SCRIPT },
    { "whole answer: one python line",
      "print(sum(x * x for x in range(10)))",
      "python", EXTRACT_CODE_WHOLE, "print(sum(x * x for x in range(10)))\n" },
    { "prose only",
      "To reverse a list in Python, use slicing or the reversed function.\n"
      "Both are fast enough for small inputs, and slicing makes a copy.",
      "python", EXTRACT_CODE_NONE, NULL },
    { "prose with one code line",
      "You can compute it with a loop:\nfor i in range(10):\n"
      "Then add each value to the total.",
      "python", EXTRACT_CODE_NONE, NULL },
    { "prose with one call",
      "Sure! Just call the function like this.\nprint(f(2))",
      "python", EXTRACT_CODE_NONE, NULL },
    { "a sentence before unfenced code",
      "Here is the solution:\nimport sys\ndef main():\n"
      "    print(sys.argv)\nmain()\n",
      "python", EXTRACT_CODE_NONE, NULL },
    { "punctuation alone is not code",
      "apples, pears,\nplums, figs,\nkiwis;",
      "python", EXTRACT_CODE_NONE, NULL },
    { "a sentence starting with a keyword",
      "return the list sorted in reverse order.",
      "python", EXTRACT_CODE_NONE, NULL },
    { "prose about C",
      "In C, you would declare an int and loop over the array.\n"
      "Remember to return 0 from main when everything went well.\n"
      "Here is how I would approach it:\n"
      "- read the input\n- sort it\n- print it",
      "c", EXTRACT_CODE_NONE, NULL },
    { "think tags around code",
      "<think>\nMaybe:\n```python\nwrong = True\n```\nNo, better:\n</think>\n"
      "```python\nright = True\n```",
      "python", EXTRACT_CODE_LANG_FENCE, "right = True\n" },
    { "lone closing think tag before the code",
      "I'll use a set.\n```python\nwrong = 1\n```\n</think>\n\n"
      "def uniq(xs):\n    return sorted(set(xs))\n",
      "python", EXTRACT_CODE_WHOLE,
      "def uniq(xs):\n    return sorted(set(xs))\n" },
    { "CRLF input, LF output",
      "Here:\r\n```python\r\ndef f():\r\n    return 1\r\n```\r\n",
      "python", EXTRACT_CODE_LANG_FENCE, "def f():\n    return 1\n" },
    { "CRLF whole answer",
      "def f():\r\n    return 1\r\n",
      "python", EXTRACT_CODE_WHOLE, "def f():\n    return 1\n" },
    { "unicode in code",
      "```python\ngreeting = \"h\xc3\xa9llo, \xe4\xb8\x96\xe7\x95\x8c "
      "\xf0\x9f\x91\x8b\"\nprint(greeting)\n```",
      "python", EXTRACT_CODE_LANG_FENCE,
      "greeting = \"h\xc3\xa9llo, \xe4\xb8\x96\xe7\x95\x8c "
      "\xf0\x9f\x91\x8b\"\nprint(greeting)\n" },
    { "trailing white space: one final newline",
      "```python\n\n\nprint(1)   \n\n\n  \t\n```",
      "python", EXTRACT_CODE_LANG_FENCE, "print(1)\n" },
    { "leading indentation of the first line kept",
      "```\n\n    x = 1\n```", "python", EXTRACT_CODE_LARGEST_FENCE,
      "    x = 1\n" },
    { "inline triple backticks are no fence",
      "Use ```print(x)``` to show it. That is all.",
      "python", EXTRACT_CODE_NONE, NULL },
    { "triple backticks inside a line open no fence",
      "```x = 1``` is a statement.\n```python\nprint(2)\n```",
      "python", EXTRACT_CODE_LANG_FENCE, "print(2)\n" },
    { "empty answer", "", "python", EXTRACT_CODE_NONE, NULL },
    { "only thinking", "<think>def f(): pass</think>", "python",
      EXTRACT_CODE_NONE, NULL },
};

static void test_code_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(code_cases) / sizeof(code_cases[0]); i++) {
        const struct code_case *c = &code_cases[i];
        char *code = (char *)"unset";
        enum extract_code_rule rule;

        errno = EINVAL;
        rule = extract_code(c->text, c->lang, &code);
        if (rule != c->rule)
            fail_msg("%s: rule %s, want %s", c->name,
                     extract_code_rule_name(rule),
                     extract_code_rule_name(c->rule));
        if (!c->want) {
            if (code)
                fail_msg("%s: got code, want none", c->name);
            if (errno != 0)
                fail_msg("%s: errno %d after none, want 0", c->name, errno);
            continue;
        }
        if (!code)
            fail_msg("%s: got no code", c->name);
        if (strcmp(code, c->want) != 0)
            fail_msg("%s: got\n---\n%s---\nwant\n---\n%s---", c->name, code,
                     c->want);
        free(code);
    }
}

static void test_code_rule_names(void **state)
{
    (void)state;
    assert_string_equal(extract_code_rule_name(EXTRACT_CODE_NONE), "none");
    assert_string_equal(extract_code_rule_name(EXTRACT_CODE_LANG_FENCE),
                        "language_fence");
    assert_string_equal(extract_code_rule_name(EXTRACT_CODE_LARGEST_FENCE),
                        "largest_fence");
    assert_string_equal(extract_code_rule_name(EXTRACT_CODE_WHOLE), "whole");
    assert_string_equal(extract_code_rule_name((enum extract_code_rule)99),
                        "none");
}

/* A tag names one language only: python code is not found as sh, and the
 * same answer yields different blocks for different languages. */
static void test_code_language_matters(void **state)
{
    static const char answer[] =
        "```sh\necho build\n```\n```c\nint main(void) { return 0; }\n```\n"
        "```python\nprint('ok')\n```\n";
    char *code;

    (void)state;
    assert_int_equal(extract_code(answer, "sh", &code),
                     EXTRACT_CODE_LANG_FENCE);
    assert_string_equal(code, "echo build\n");
    free(code);
    assert_int_equal(extract_code(answer, "c", &code),
                     EXTRACT_CODE_LANG_FENCE);
    assert_string_equal(code, "int main(void) { return 0; }\n");
    free(code);
    assert_int_equal(extract_code(answer, "python", &code),
                     EXTRACT_CODE_LANG_FENCE);
    assert_string_equal(code, "print('ok')\n");
    free(code);
}

/* A large pathological answer stays fast and finds nothing. */
static void test_many_braces(void **state)
{
    size_t n = 200000;
    char *s = malloc(n + 1);
    enum extract_json_rule rule;

    (void)state;
    assert_non_null(s);
    memset(s, '{', n);
    s[n] = '\0';
    assert_null(extract_json(s, &rule));
    assert_int_equal(rule, EXTRACT_JSON_NONE);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strip_think),
        cmocka_unit_test(test_json_table),
        cmocka_unit_test(test_json_rule_optional),
        cmocka_unit_test(test_json_rule_names),
        cmocka_unit_test(test_json_missing),
        cmocka_unit_test(test_code_table),
        cmocka_unit_test(test_code_rule_names),
        cmocka_unit_test(test_code_language_matters),
        cmocka_unit_test(test_many_braces),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
