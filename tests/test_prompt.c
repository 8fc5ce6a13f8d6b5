/* test_prompt.c -- what the Builder says to the model.
 *
 * The prompts carry the task's visible parts, memory while it fits, and
 * the previous attempt's failure; budgets are computed with the same
 * estimate the client uses, not with magic numbers.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "agents/llm.h"
#include "agents/prompt.h"

static const char *const constraints[] = { "no imports" };
static const char *const skills[] = { "math" };

static struct prompt_task task(const char *lang, const char *tests, int self)
{
    return (struct prompt_task){
        .goal = "Write square(x) returning x squared.",
        .language = lang, .tests = tests, .tests_self_written = self,
        .constraints = constraints, .nconstraints = 1,
        .skills = skills, .nskills = 1, .difficulty = 0.3,
    };
}

static unsigned size_of(const struct prompt *p)
{
    return llm_estimate_text_tokens(p->system) +
           llm_estimate_text_tokens(p->user) + 8;
}

static void test_code_prompt_contents(void **state)
{
    struct prompt_task t = task("python", "assert square(2) == 4", 0);
    struct prompt_memory mem[2] = {
        { "lesson", "Write cube(x)", "check negative numbers" },
        { "solved", "Write double(x)", "def double(x):\n    return 2 * x" },
    };
    struct prompt_feedback fb = { 1, "def square(x):\n    return x * 2",
                                  "0 of 1 tests passed. AssertionError" };
    struct prompt p;

    (void)state;
    assert_int_equal(prompt_code(&t, mem, 2, &fb, 100000, &p), 0);
    assert_int_equal(p.nmemory, 2);
    assert_non_null(strstr(p.system, "```python"));
    assert_non_null(strstr(p.user, "Write square(x)"));
    assert_non_null(strstr(p.user, "- no imports"));
    assert_non_null(strstr(p.user, "Your code must pass these tests:"));
    assert_non_null(strstr(p.user, "assert square(2) == 4"));
    assert_non_null(strstr(p.user, "Lesson from \"Write cube(x)\": check "
                                   "negative numbers"));
    assert_non_null(strstr(p.user, "return 2 * x"));
    assert_non_null(strstr(p.user, "Your attempt 1 failed."));
    assert_non_null(strstr(p.user, "return x * 2"));
    assert_non_null(strstr(p.user, "AssertionError"));
    prompt_free(&p);

    /* Self-written tests say so; no feedback asks for a first solution. */
    t = task("python", "assert square(3) == 9", 1);
    assert_int_equal(prompt_code(&t, NULL, 0, NULL, 100000, &p), 0);
    assert_non_null(strstr(p.user, "not given by the user"));
    assert_null(strstr(p.user, "failed"));
    assert_non_null(strstr(p.user, "Write the solution."));
    prompt_free(&p);
}

static void test_languages(void **state)
{
    static const struct { const char *lang, *fence; } cases[] = {
        { "python", "```python" }, { "sh", "```bash" }, { "c", "```c" },
        { "cobol", "```python" },   /* unknown: the parser's default */
    };
    struct prompt p;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct prompt_task t = task(cases[i].lang, "", 0);
        assert_int_equal(prompt_code(&t, NULL, 0, NULL, 100000, &p), 0);
        if (!strstr(p.system, cases[i].fence))
            fail_msg("%s: no %s in %s", cases[i].lang, cases[i].fence,
                     p.system);
        prompt_free(&p);
    }
}

static void test_memory_trimmed_to_budget(void **state)
{
    struct prompt_task t = task("python", "assert square(2) == 4", 0);
    char big[3][3000];
    struct prompt_memory mem[3];
    struct prompt p;
    unsigned sizes[4];

    (void)state;
    for (int i = 0; i < 3; i++) {
        memset(big[i], 'a' + i, sizeof big[i] - 1);
        big[i][sizeof big[i] - 1] = '\0';
        mem[i] = (struct prompt_memory){ "lesson", "g", big[i] };
    }
    /* The size with k items, measured with a generous budget. */
    for (size_t k = 0; k <= 3; k++) {
        assert_int_equal(prompt_code(&t, mem, k, NULL, 1000000, &p), 0);
        assert_int_equal(p.nmemory, k);
        sizes[k] = size_of(&p);
        prompt_free(&p);
    }
    /* A budget between the sizes with k and k+1 items keeps k. */
    for (size_t k = 0; k < 3; k++) {
        assert_int_equal(prompt_code(&t, mem, 3, NULL, sizes[k + 1] - 1, &p),
                         0);
        assert_int_equal(p.nmemory, k);
        assert_true(size_of(&p) <= sizes[k + 1] - 1);
        prompt_free(&p);
    }
    /* Not even the task fits. */
    assert_int_equal(prompt_code(&t, mem, 3, NULL, sizes[0] - 1, &p), -E2BIG);
    assert_null(p.system);
    assert_null(p.user);
}

static void test_long_problem_keeps_head_and_tail(void **state)
{
    struct prompt_task t = task("python", "", 0);
    size_t n = 10000, cut;
    char *problem = malloc(n + 1), marker[64];
    struct prompt p;

    (void)state;
    memset(problem, 'x', n);
    memcpy(problem, "HEAD", 4);
    memcpy(problem + n - 4, "TAIL", 4);
    problem[n] = '\0';
    struct prompt_feedback fb = { 2, NULL, problem };
    assert_int_equal(prompt_code(&t, NULL, 0, &fb, 100000, &p), 0);
    assert_non_null(strstr(p.user, "HEAD"));
    assert_non_null(strstr(p.user, "TAIL"));
    cut = n - PROMPT_MAX_PROBLEM;
    snprintf(marker, sizeof marker, "[... %zu bytes cut ...]", cut);
    assert_non_null(strstr(p.user, marker));
    assert_non_null(strstr(p.user, "Your attempt 2 failed."));
    prompt_free(&p);
    free(problem);
}

static void test_tests_and_reflection_prompts(void **state)
{
    struct prompt_task t = task("sh", NULL, 0);
    const char *problems[] = {
        "first line of the first problem\nsecond line", NULL, NULL };
    char longp[1000];
    struct prompt p;

    (void)state;
    assert_int_equal(prompt_tests(&t, &p), 0);
    assert_non_null(strstr(p.system, "test_*"));
    assert_non_null(strstr(p.system, "{\"tests\""));
    assert_non_null(strstr(p.user, "Write square(x)"));
    prompt_free(&p);

    memset(longp, 'z', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    problems[1] = longp;
    assert_int_equal(prompt_reflection(&t, "failed", 1, 3, problems,
                                       "square() { echo 1; }", &p), 0);
    assert_non_null(strstr(p.user, "Outcome: failed, 1 of 3 tests passed."));
    assert_non_null(strstr(p.user, "- attempt 1: first line of the first "
                                   "problem\n"));
    assert_null(strstr(p.user, "second line"));
    /* the second problem is capped at 300 characters */
    char *a2 = strstr(p.user, "- attempt 2: ");
    assert_non_null(a2);
    assert_int_equal(strcspn(a2 + 13, "\n"), 300);
    assert_non_null(strstr(p.user, "```bash\nsquare() { echo 1; }"));
    prompt_free(&p);
}

static void test_schemas(void **state)
{
    static const char *const want_tests[] = { "tests", NULL };
    static const char *const want_refl[] = { "summary", "what_went_wrong",
                                             "lessons", "concepts", NULL };
    const char *schemas[] = { prompt_tests_schema, prompt_reflection_schema };
    const char *const *want[] = { want_tests, want_refl };

    (void)state;
    for (int i = 0; i < 2; i++) {
        cJSON *s = cJSON_Parse(schemas[i]);
        assert_non_null(s);
        cJSON *req = cJSON_GetObjectItem(s, "required");
        int n = 0;
        for (const char *const *w = want[i]; *w; w++, n++)
            assert_string_equal(cJSON_GetArrayItem(req, n)->valuestring, *w);
        assert_int_equal(cJSON_GetArraySize(req), n);
        cJSON_Delete(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_code_prompt_contents),
        cmocka_unit_test(test_languages),
        cmocka_unit_test(test_memory_trimmed_to_budget),
        cmocka_unit_test(test_long_problem_keeps_head_and_tail),
        cmocka_unit_test(test_tests_and_reflection_prompts),
        cmocka_unit_test(test_schemas),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
