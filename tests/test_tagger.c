/* test_tagger.c -- unit tests of the skill tagger of imported problems
 * (cmd/tagger.c) on the texts of real benchmark problems: HumanEval prompts
 * (signature and docstring, as the dataset gives them) and MBPP texts.
 *
 * Each case names the skills it must get, strongest first; a case whose
 * text has no clue of any skill must get none. The skills it may give are
 * exactly the seed curriculum's (argv[1], curriculum.jsonl): a skill added
 * to or renamed in one and not the other fails here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "tagger.h"

struct tcase {
    const char *name;
    const char *text;
    const char *want;   /* "a,b": the skills in order; "" for none */
};

static const struct tcase HUMANEVAL[] = {
    { "HumanEval/0",
      "from typing import List\n\n\ndef has_close_elements(numbers: "
      "List[float], threshold: float) -> bool:\n    \"\"\" Check if in given "
      "list of numbers, are any two numbers closer to each other than\n    "
      "given threshold.\n    >>> has_close_elements([1.0, 2.0, 3.0], 0.5)\n"
      "    False\n    >>> has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], "
      "0.3)\n    True\n    \"\"\"\n",
      "lists,math" },
    { "HumanEval/1",
      "from typing import List\n\n\ndef separate_paren_groups(paren_string: "
      "str) -> List[str]:\n    \"\"\" Input to this function is a string "
      "containing multiple groups of nested parentheses. Your goal is to\n"
      "    separate those group into separate strings and return the list of "
      "those.\n    Separate groups are balanced (each open brace is properly "
      "closed) and not nested within each other\n    Ignore any spaces in "
      "the input string.\n    >>> separate_paren_groups('( ) (( )) (( )( "
      "))')\n    ['()', '(())', '(()())']\n    \"\"\"\n",
      "parsing,strings" },
    { "HumanEval/2",
      "\n\ndef truncate_number(number: float) -> float:\n    \"\"\" Given a "
      "positive floating point number, it can be decomposed into\n    and "
      "integer part (largest integer smaller than given number) and "
      "decimals\n    (leftover part always smaller than 1).\n\n    Return "
      "the decimal part of the number.\n    >>> truncate_number(3.5)\n    "
      "0.5\n    \"\"\"\n",
      "math" },
    { "HumanEval/12",
      "from typing import List, Optional\n\n\ndef longest(strings: "
      "List[str]) -> Optional[str]:\n    \"\"\" Out of list of strings, "
      "return the longest one. Return the first one in case of multiple\n"
      "    strings of the same length. Return None in case the input list is "
      "empty.\n    >>> longest([])\n\n    >>> longest(['a', 'b', 'c'])\n    "
      "'a'\n    \"\"\"\n",
      "strings,lists" },
    { "HumanEval/13",
      "\n\ndef greatest_common_divisor(a: int, b: int) -> int:\n    \"\"\" "
      "Return a greatest common divisor of two integers a and b\n    >>> "
      "greatest_common_divisor(3, 5)\n    1\n    \"\"\"\n",
      "math" },
    { "HumanEval/34",
      "\n\ndef unique(l: list):\n    \"\"\"Return sorted unique elements in "
      "a list\n    >>> unique([5, 3, 5, 2, 3, 3, 9, 0, 123])\n    [0, 2, 3, "
      "5, 9, 123]\n    \"\"\"\n",
      "lists,sorting" },
    { "HumanEval/48",
      "\n\ndef is_palindrome(text: str):\n    \"\"\"\n    Checks if given "
      "string is a palindrome\n    >>> is_palindrome('')\n    True\n    "
      ">>> is_palindrome('aba')\n    True\n    \"\"\"\n",
      "strings" },
    { "HumanEval/55",
      "\n\ndef fib(n: int):\n    \"\"\"Return n-th Fibonacci number.\n    "
      ">>> fib(10)\n    55\n    >>> fib(1)\n    1\n    \"\"\"\n",
      "recursion" },
    { "HumanEval/31",
      "\n\ndef is_prime(n):\n    \"\"\"Return true if a given number is "
      "prime, and false otherwise.\n    >>> is_prime(6)\n    False\n    "
      ">>> is_prime(101)\n    True\n    \"\"\"\n",
      "math" },
    { "HumanEval/111",
      "\ndef histogram(test):\n    \"\"\"Given a string representing a space "
      "separated lowercase letters, return a dictionary\n    of the letter "
      "with the most repetition and containing the corresponding count.\n"
      "    If several letters have the same occurrence, return all of them.\n"
      "    \n    Example:\n    histogram('a b c') == {'a': 1, 'b': 1, 'c': 1}"
      "\n    histogram('') == {}\n\n    \"\"\"\n",
      "dicts,strings" },
};

static const struct tcase MBPP[] = {
    { "MBPP/2", "Write a function to find the shared elements from the given "
      "two lists.", "lists" },
    { "MBPP/3", "Write a python function to identify non-prime numbers.",
      "math" },
    { "MBPP/4", "Write a function to find the n largest integers from a "
      "given list of numbers, returned in descending order.",
      "sorting" },
    { "MBPP/12", "Write a function to sort a given matrix in ascending order "
      "according to the sum of its rows.", "sorting" },
    { "MBPP/13", "Write a function to count the most common words in a "
      "dictionary.", "dicts" },
    { "MBPP/17", "Write a function that returns the perimeter of a square "
      "given its side length as input.", "math" },
    { "MBPP/18", "Write a function to remove characters from the first "
      "string which are present in the second string.", "strings" },
    { "MBPP/??", "Write a function to raise a ValueError when the given "
      "port number is invalid.", "error_handling" },
    { "MBPP/??", "Write a generator that yields the items of an iterable in "
      "a sliding window of size k.", "iterators" },
    { "MBPP/??", "Write a class Stack with methods push, pop and peek.",
      "classes" },
    { "no clue", "Write a function to find the minimum cost path to reach "
      "(m, n) from (0, 0).", "" },
};

/* Returns 1 (after printing the case) when the tags are not the wanted
 * ones, so that one run shows every miss. */
static int check(const struct tcase *c)
{
    const char *got[TAGGER_MAX_SKILLS];
    char buf[256] = "";
    size_t n = tagger_tag(c->text, got, TAGGER_MAX_SKILLS);

    assert_true(n <= TAGGER_MAX_SKILLS);
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(buf, ",");
        strcat(buf, got[i]);
    }
    /* Only the skills the case names, at their place; a third one the
     * case does not name is allowed after them. */
    if (strncmp(buf, c->want, strlen(c->want)) != 0 ||
        (buf[strlen(c->want)] != '\0' && buf[strlen(c->want)] != ',') ||
        (!*c->want && *buf))
    {
        print_error("%s: got \"%s\", want \"%s\"\n", c->name, buf, c->want);
        return 1;
    }
    return 0;
}

static void test_humaneval(void **state)
{
    int misses = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(HUMANEVAL) / sizeof(HUMANEVAL[0]); i++)
        misses += check(&HUMANEVAL[i]);
    assert_int_equal(misses, 0);
}

static void test_mbpp(void **state)
{
    int misses = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(MBPP) / sizeof(MBPP[0]); i++)
        misses += check(&MBPP[i]);
    assert_int_equal(misses, 0);
}

/* The skills the tagger may give (cmd/tagger.c's table). */
static const char *const known[] = {
    "strings", "lists", "dicts", "recursion", "sorting", "math",
    "parsing", "classes", "iterators", "error_handling",
};
#define NKNOWN (sizeof(known) / sizeof(known[0]))

static const char *curriculum_path;     /* argv[1] */

/* They are the curriculum's skills, no more and no fewer: the tagger maps
 * a problem onto skills the Trainer already teaches. */
static void test_curriculum_skills(void **state)
{
    FILE *f = fopen(curriculum_path, "r");
    char line[1 << 16];
    bool seen[NKNOWN] = { false };
    unsigned tasks = 0;

    (void)state;
    if (!f)
        fail_msg("cannot open the curriculum %s", curriculum_path);
    while (fgets(line, sizeof line, f)) {
        cJSON *o = cJSON_Parse(line);
        const cJSON *sk;

        if (!o)
            continue;           /* a blank line */
        tasks++;
        cJSON_ArrayForEach(sk, cJSON_GetObjectItemCaseSensitive(o, "skills")) {
            size_t k = 0;
            assert_true(cJSON_IsString(sk));
            while (k < NKNOWN && strcmp(known[k], sk->valuestring) != 0)
                k++;
            if (k == NKNOWN)
                fail_msg("the curriculum's skill '%s' is not the tagger's",
                         sk->valuestring);
            seen[k] = true;
        }
        cJSON_Delete(o);
    }
    fclose(f);
    assert_true(tasks > 0);
    for (size_t k = 0; k < NKNOWN; k++)
        if (!seen[k])
            fail_msg("the tagger's skill '%s' is in no curriculum task",
                     known[k]);
}

/* Only the curriculum's skills come out, never a benchmark's name, and
 * the limits hold. */
static void test_limits(void **state)
{
    const char *got[TAGGER_MAX_SKILLS];
    const char *all = "Write a recursive generator that parses a string "
                      "into a sorted list of prime numbers, raises an "
                      "exception on bad input, stores the results in a "
                      "dictionary and wraps it in a class. HumanEval MBPP";

    (void)state;
    assert_int_equal(tagger_tag(NULL, got, TAGGER_MAX_SKILLS), 0);
    assert_int_equal(tagger_tag("", got, TAGGER_MAX_SKILLS), 0);
    assert_int_equal(tagger_tag(all, got, 0), 0);
    assert_int_equal(tagger_tag(all, got, 1), 1);
    size_t n = tagger_tag(all, got, TAGGER_MAX_SKILLS);
    assert_int_equal(n, TAGGER_MAX_SKILLS);
    for (size_t i = 0; i < n; i++) {
        bool ok = false;
        for (size_t k = 0; k < NKNOWN; k++)
            ok |= strcmp(got[i], known[k]) == 0;
        assert_true(ok);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(got[i], got[j]);
    }
    /* An import line says nothing of the problem. */
    assert_int_equal(tagger_tag("from typing import List, Dict\nimport re\n"
                                "def f(x):\n    pass\n", got, 3), 0);
    /* A word inside a longer one does not count: "sorted" is a stem of
     * nothing here, "distribute" holds no "str". */
    assert_int_equal(tagger_tag("distribute the cost among the workers",
                                got, 3), 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_humaneval),
        cmocka_unit_test(test_mbpp),
        cmocka_unit_test(test_curriculum_skills),
        cmocka_unit_test(test_limits),
    };

    if (argc != 2) {
        fprintf(stderr, "usage: %s CURRICULUM.jsonl\n", argv[0]);
        return 2;
    }
    curriculum_path = argv[1];

    return cmocka_run_group_tests(tests, NULL, NULL);
}
