/* test_prompt.c -- unit tests of the Builder's prompts (agents/builder/prompt.c).
 *
 * The prompts are text, so the tests look for what must be in them (and
 * what must not): the task, the visible tests, memory, the feedback of a
 * failed attempt, the language's rules. Budgets are computed at run time
 * from the client's own estimate (llm_estimate_tokens of the request the
 * Builder will send), so the tests follow the estimator if it changes.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "agents/llm/llm.h"
#include "agents/builder/prompt.h"

/* ---- helpers -------------------------------------------------------- */

static const char *const constraints[] = {
    "no recursion deeper than 1000",
    "O(n log n) or better",
};

static const char *const skills[] = { "sorting", "lists" };

static struct prompt_task base_task(void)
{
    return (struct prompt_task){
        .goal = "Write merge_sort(xs) returning a sorted copy of xs.",
        .language = "python",
        .tests = "assert merge_sort([3, 1, 2]) == [1, 2, 3]\n",
        .tests_self_written = 0,
        .constraints = constraints,
        .nconstraints = 2,
        .skills = skills,
        .nskills = 2,
        .difficulty = 0.4,
    };
}

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0, len = strlen(needle);

    for (const char *p = strstr(hay, needle); p; p = strstr(p + len, needle))
        n++;
    return n;
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);

    if (!s)
        abort();
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* What the LLM client counts for the two messages the Builder sends: the
 * prompt must fit the budget in this measure, or the client refuses it. */
static unsigned request_tokens(const struct prompt *p)
{
    struct llm_message m[2] = {
        { "system", p->system },
        { "user", p->user },
    };
    struct llm_request req = { .messages = m, .nmessages = 2 };

    return llm_estimate_tokens(&req);
}

/* ---- prompt_code: contents ------------------------------------------ */

static void test_code_has_task(void **state)
{
    struct prompt_task t = base_task();
    struct prompt p;

    (void)state;
    assert_int_equal(prompt_code(&t, NULL, 0, NULL, UINT_MAX, &p), 0);
    assert_non_null(p.system);
    assert_non_null(p.user);
    assert_int_equal(p.nmemory, 0);
    assert_non_null(strstr(p.user, t.goal));
    assert_non_null(strstr(p.user, t.tests));
    assert_non_null(strstr(p.user, "```python\n"));
    for (size_t i = 0; i < t.nconstraints; i++)
        assert_non_null(strstr(p.user, constraints[i]));
    /* Given tests are not presented as the model's own. */
    assert_null(strstr(p.user, "written for this task"));
    /* No memory and no failure were given: nothing says otherwise. */
    assert_null(strstr(p.user, "memory"));
    assert_null(strstr(p.user, "failed"));
    /* The task is in the user message, the rules in the system one. */
    assert_null(strstr(p.system, t.goal));
    assert_null(strstr(p.user, "You are an expert"));
    prompt_free(&p);
    assert_null(p.system);
    assert_null(p.user);
    prompt_free(&p);                /* a zeroed prompt is accepted */
}

static void test_code_self_written_tests(void **state)
{
    struct prompt_task t = base_task();
    struct prompt given, own;

    (void)state;
    assert_int_equal(prompt_code(&t, NULL, 0, NULL, UINT_MAX, &given), 0);
    t.tests_self_written = 1;
    assert_int_equal(prompt_code(&t, NULL, 0, NULL, UINT_MAX, &own), 0);
    assert_non_null(strstr(own.user, t.tests));
    assert_non_null(strstr(own.user, "written for this task"));
    assert_non_null(strstr(own.user, "not given by the user"));
    assert_null(strstr(given.user, "not given by the user"));
    prompt_free(&given);
    prompt_free(&own);
}

static void test_code_without_tests(void **state)
{
    struct prompt_task t = base_task();
    struct prompt p;

    (void)state;
    t.tests = NULL;
    t.nconstraints = 0;
    assert_int_equal(prompt_code(&t, NULL, 0, NULL, UINT_MAX, &p), 0);
    assert_non_null(strstr(p.user, t.goal));
    assert_null(strstr(p.user, "tests"));
    assert_null(strstr(p.user, "```"));
    assert_null(strstr(p.user, "Constraints"));
    prompt_free(&p);
    t.tests = "";
    assert_int_equal(prompt_code(&t, NULL, 0, NULL, UINT_MAX, &p), 0);
    assert_null(strstr(p.user, "```"));
    prompt_free(&p);
}

static const struct prompt_memory memory[] = {
    { "lesson", "Reverse a list", "Slicing with [::-1] copies the list." },
    { "solved", "Sum a list", "def total(xs):\n    return sum(xs)" },
    { "lesson", "Parse ints", "Strip whitespace before int()." },
    { "solved", "Find max", "def biggest(xs):\n    return max(xs)" },
};
#define NMEMORY (sizeof memory / sizeof memory[0])

static void test_code_has_memory(void **state)
{
    struct prompt_task t = base_task();
    struct prompt p;

    (void)state;
    assert_int_equal(prompt_code(&t, memory, NMEMORY, NULL, UINT_MAX, &p), 0);
    assert_int_equal(p.nmemory, NMEMORY);
    for (size_t i = 0; i < NMEMORY; i++) {
        assert_non_null(strstr(p.user, memory[i].goal));
        assert_non_null(strstr(p.user, memory[i].text));
    }
    /* Solved code is fenced in the task's language; the tests' fence and
     * the two solved items make three. */
    assert_int_equal(count_of(p.user, "```python\n"), 3);
    /* In the order given: the caller ranks them. */
    assert_true(strstr(p.user, memory[0].text) < strstr(p.user, memory[1].text));
    assert_true(strstr(p.user, memory[2].text) < strstr(p.user, memory[3].text));
    /* The task comes first, memory after it. */
    assert_true(strstr(p.user, t.goal) < strstr(p.user, memory[0].text));
    prompt_free(&p);
}

static void test_code_has_feedback(void **state)
{
    struct prompt_task t = base_task();
    struct prompt_feedback fb = {
        .attempt = 2,
        .code = "def merge_sort(xs):\n    return xs",
        .problem = "AssertionError: merge_sort([3, 1, 2]) == [1, 2, 3]",
    };
    struct prompt p;

    (void)state;
    assert_int_equal(prompt_code(&t, memory, 1, &fb, UINT_MAX, &p), 0);
    assert_non_null(strstr(p.user, "attempt 2 failed"));
    assert_null(strstr(p.user, "attempt 1 failed"));
    assert_non_null(strstr(p.user, fb.code));
    assert_non_null(strstr(p.user, fb.problem));
    assert_non_null(strstr(p.user, t.goal));
    assert_non_null(strstr(p.user, memory[0].text));
    prompt_free(&p);

    /* No code found in the answer: the problem alone is quoted. */
    fb = (struct prompt_feedback){ 1, NULL, "no code block in the answer" };
    assert_int_equal(prompt_code(&t, NULL, 0, &fb, UINT_MAX, &p), 0);
    assert_non_null(strstr(p.user, "attempt 1 failed"));
    assert_non_null(strstr(p.user, fb.problem));
    /* Only the tests are fenced: no empty block for the missing code. */
    assert_int_equal(count_of(p.user, "```python\n"), 1);
    prompt_free(&p);
}

/* ---- prompt_code: languages ----------------------------------------- */

static char *system_for(const char *lang)
{
    struct prompt_task t = base_task();
    struct prompt p;
    char *s;

    t.language = lang;
    assert_int_equal(prompt_code(&t, NULL, 0, NULL, UINT_MAX, &p), 0);
    s = p.system;
    p.system = NULL;
    prompt_free(&p);
    return s;
}

static void test_code_languages(void **state)
{
    char *py = system_for("python"), *sh = system_for("sh");
    char *c = system_for("c"), *unknown = system_for("cobol");
    char *none = system_for(NULL);

    (void)state;
    assert_non_null(strstr(py, "```python"));
    assert_non_null(strstr(py, "standard library"));
    assert_non_null(strstr(sh, "```bash"));
    assert_non_null(strstr(sh, "exit"));
    assert_null(strstr(sh, "```python"));
    assert_non_null(strstr(c, "```c "));
    assert_non_null(strstr(c, "C11"));
    assert_null(strstr(c, "```python"));
    assert_string_not_equal(py, sh);
    assert_string_not_equal(py, c);
    assert_string_not_equal(sh, c);
    /* The task parser defaults to python, and so does the prompt. */
    assert_string_equal(unknown, py);
    assert_string_equal(none, py);
    free(py);
    free(sh);
    free(c);
    free(unknown);
    free(none);
}

static void test_code_language_fences(void **state)
{
    struct prompt_task t = base_task();
    struct prompt_feedback fb = { 1, "add() { echo 0; }", "test_add failed" };
    struct prompt p;

    (void)state;
    t.language = "sh";
    t.tests = "test_add() { [ \"$(add 1 2)\" = 3 ]; }";    /* no newline */
    assert_int_equal(prompt_code(&t, memory, 2, &fb, UINT_MAX, &p), 0);
    /* The tests, the solved item and the failed code, all in bash. */
    assert_int_equal(count_of(p.user, "```bash\n"), 3);
    assert_null(strstr(p.user, "```python"));
    /* A test text without a final newline still closes its fence on a
     * line of its own. */
    assert_non_null(strstr(p.user, "3 ]; }\n```\n"));
    prompt_free(&p);
}

/* ---- prompt_code: budget --------------------------------------------- */

/* Memory items of different sizes, large enough that each changes the
 * estimate by many tokens. */
struct big_memory {
    char *texts[5];
    struct prompt_memory items[5];
};

static void big_memory_init(struct big_memory *m)
{
    static const size_t sizes[5] = { 300, 900, 150, 1200, 600 };

    for (size_t i = 0; i < 5; i++) {
        m->texts[i] = repeat((char)('a' + i), sizes[i]);
        m->items[i] = (struct prompt_memory){
            i % 2 ? "solved" : "lesson", "an earlier task", m->texts[i] };
    }
}

static void big_memory_free(struct big_memory *m)
{
    for (size_t i = 0; i < 5; i++)
        free(m->texts[i]);
}

static void test_code_budget(void **state)
{
    struct prompt_task t = base_task();
    struct prompt_feedback fb = { 1, "def merge_sort(xs): pass",
                                  "AssertionError" };
    struct big_memory m;
    unsigned need[6];
    struct prompt p;

    (void)state;
    big_memory_init(&m);
    for (int with_fb = 0; with_fb < 2; with_fb++) {
        const struct prompt_feedback *f = with_fb ? &fb : NULL;

        /* What the prompt with the first k items costs. */
        for (size_t k = 0; k <= 5; k++) {
            assert_int_equal(prompt_code(&t, m.items, k, f, UINT_MAX, &p), 0);
            assert_int_equal(p.nmemory, k);
            need[k] = request_tokens(&p);
            if (k > 0)
                assert_true(need[k] > need[k - 1] + 40);
            prompt_free(&p);
        }
        for (size_t k = 0; k <= 5; k++) {
            /* Exactly enough for k items, and one token short of k+1: k
             * items either way, the first k, and what is sent fits. */
            unsigned budgets[2] = { need[k], k < 5 ? need[k + 1] - 1 : UINT_MAX };
            for (int b = 0; b < 2; b++) {
                assert_int_equal(prompt_code(&t, m.items, 5, f, budgets[b],
                                             &p), 0);
                assert_int_equal(p.nmemory, k);
                assert_true(request_tokens(&p) <= budgets[b]);
                for (size_t i = 0; i < 5; i++) {
                    if (i < k)
                        assert_non_null(strstr(p.user, m.texts[i]));
                    else
                        assert_null(strstr(p.user, m.texts[i]));
                }
                assert_non_null(strstr(p.user, t.goal));
                if (f)
                    assert_non_null(strstr(p.user, fb.problem));
                prompt_free(&p);
            }
        }
        /* One token short of the task alone. */
        p.nmemory = 99;
        p.user = (char *)"junk";
        assert_int_equal(prompt_code(&t, m.items, 5, f, need[0] - 1, &p),
                         -E2BIG);
        assert_int_equal(p.nmemory, 0);
        assert_null(p.system);
        assert_null(p.user);
    }
    assert_int_equal(prompt_code(&t, NULL, 0, NULL, 0, &p), -E2BIG);
    big_memory_free(&m);
}

/* A long error output grows the prompt: the budget counts the feedback. */
static void test_code_budget_counts_feedback(void **state)
{
    struct prompt_task t = base_task();
    struct prompt_feedback fb = { 3, NULL, NULL };
    struct prompt p;
    char *problem = repeat('x', PROMPT_MAX_PROBLEM);
    unsigned plain;

    (void)state;
    assert_int_equal(prompt_code(&t, NULL, 0, NULL, UINT_MAX, &p), 0);
    plain = request_tokens(&p);
    prompt_free(&p);
    fb.problem = problem;
    assert_int_equal(prompt_code(&t, NULL, 0, &fb, plain, &p), -E2BIG);
    assert_int_equal(prompt_code(&t, NULL, 0, &fb,
                                 plain + PROMPT_MAX_PROBLEM / 3 + 100, &p), 0);
    assert_true(request_tokens(&p) <= plain + PROMPT_MAX_PROBLEM / 3 + 100);
    prompt_free(&p);
    free(problem);
}

/* ---- prompt_code: long problems --------------------------------------- */

static void test_code_problem_cut(void **state)
{
    struct prompt_task t = base_task();
    struct prompt p;
    const size_t sizes[] = { PROMPT_MAX_PROBLEM + 1, PROMPT_MAX_PROBLEM + 777,
                             10 * PROMPT_MAX_PROBLEM };

    (void)state;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        char *problem = malloc(n + 1);
        char marker[64];
        const char *cut, *end;
        unsigned long bytes;

        assert_non_null(problem);
        /* Bytes that say where they came from: a digit per position, with
         * a distinct first and last line. */
        for (size_t i = 0; i < n; i++)
            problem[i] = (char)('0' + i % 10);
        memcpy(problem, "Traceback", 9);
        memcpy(problem + n - 16, "ValueError: boom", 16);
        problem[n] = '\0';
        struct prompt_feedback fb = { 1, NULL, problem };

        assert_int_equal(prompt_code(&t, NULL, 0, &fb, UINT_MAX, &p), 0);
        cut = strstr(p.user, "[... ");
        assert_non_null(cut);
        assert_int_equal(sscanf(cut, "[... %lu bytes cut ...]", &bytes), 1);
        snprintf(marker, sizeof marker, "[... %lu bytes cut ...]", bytes);
        assert_non_null(strstr(cut, marker));
        /* What is kept: a head of the problem before the marker, its tail
         * after it, and together they and the cut are the whole. */
        const char *head = strstr(p.user, "Traceback");
        assert_non_null(head);
        assert_true(head < cut);
        size_t head_len = (size_t)(cut - head);
        if (head_len > 0 && head[head_len - 1] == '\n')
            head_len--;             /* the marker sits on its own line */
        assert_memory_equal(head, problem, head_len);
        end = strstr(cut, "ValueError: boom");
        assert_non_null(end);
        const char *tail = strchr(cut, '\n');
        assert_non_null(tail);
        tail++;
        size_t tail_len = (size_t)(end + 16 - tail);
        assert_memory_equal(tail, problem + n - tail_len, tail_len);
        assert_int_equal(head_len + bytes + tail_len, n);
        assert_true(head_len + tail_len <= PROMPT_MAX_PROBLEM);
        assert_true(head_len > 0);
        /* The tail is where the cause is: it gets the larger share. */
        assert_true(tail_len >= head_len);
        prompt_free(&p);
        free(problem);
    }
}

static void test_code_problem_not_cut(void **state)
{
    struct prompt_task t = base_task();
    struct prompt p;
    char *problem = repeat('e', PROMPT_MAX_PROBLEM);
    struct prompt_feedback fb = { 1, NULL, problem };

    (void)state;
    assert_int_equal(prompt_code(&t, NULL, 0, &fb, UINT_MAX, &p), 0);
    assert_non_null(strstr(p.user, problem));
    assert_null(strstr(p.user, "bytes cut"));
    prompt_free(&p);
    free(problem);
}

/* ---- prompt_tests ----------------------------------------------------- */

static void test_tests_prompt(void **state)
{
    struct prompt_task t = base_task();
    struct prompt py, sh, c;

    (void)state;
    t.tests = "assert SECRET_VISIBLE_TEST";
    assert_int_equal(prompt_tests(&t, &py), 0);
    assert_non_null(strstr(py.user, t.goal));
    for (size_t i = 0; i < t.nconstraints; i++)
        assert_non_null(strstr(py.user, constraints[i]));
    /* It asks for tests, not the solution's tests it may already have. */
    assert_null(strstr(py.user, "SECRET_VISIBLE_TEST"));
    assert_non_null(strstr(py.system, "\"tests\""));
    assert_non_null(strstr(py.system, "assert"));
    assert_non_null(strstr(py.system, "test_"));
    t.language = "sh";
    assert_int_equal(prompt_tests(&t, &sh), 0);
    assert_non_null(strstr(sh.system, "bash"));
    t.language = "c";
    assert_int_equal(prompt_tests(&t, &c), 0);
    assert_non_null(strstr(c.system, "assert.h"));
    assert_string_not_equal(py.system, sh.system);
    assert_string_not_equal(py.system, c.system);
    assert_string_equal(py.user, sh.user);  /* the task, whatever the language */
    prompt_free(&py);
    prompt_free(&sh);
    prompt_free(&c);
}

/* ---- prompt_reflection ------------------------------------------------ */

static void test_reflection_prompt(void **state)
{
    struct prompt_task t = base_task();
    char *longp = repeat('q', 1000);
    const char *const problems[] = {
        "AssertionError on [3, 1, 2]\nTraceback line 2\nline 3",
        longp,
        "no code block",
        NULL,
    };
    const char *code = "def merge_sort(xs):\n    return sorted(xs)";
    struct prompt p;

    (void)state;
    assert_int_equal(prompt_reflection(&t, "passed", 4, 5, problems, code,
                                       &p), 0);
    assert_non_null(strstr(p.user, t.goal));
    assert_non_null(strstr(p.user, "passed"));
    assert_non_null(strstr(p.user, "4 of 5"));
    assert_non_null(strstr(p.user, code));
    /* One line per problem, numbered by attempt. */
    assert_non_null(strstr(p.user, "attempt 1: AssertionError on [3, 1, 2]\n"));
    assert_null(strstr(p.user, "Traceback line 2"));
    assert_non_null(strstr(p.user, "attempt 3: no code block\n"));
    assert_null(strstr(p.user, "attempt 4"));
    /* At most 300 characters of each. */
    const char *two = strstr(p.user, "attempt 2: ");
    assert_non_null(two);
    two += strlen("attempt 2: ");
    assert_int_equal(strspn(two, "q"), 300);
    assert_int_equal(two[300], '\n');
    /* The schema's fields are named in the instructions. */
    assert_non_null(strstr(p.system, "summary"));
    assert_non_null(strstr(p.system, "what_went_wrong"));
    assert_non_null(strstr(p.system, "lessons"));
    assert_non_null(strstr(p.system, "concepts"));
    prompt_free(&p);

    /* No problems, no code: neither section appears. */
    const char *const none[] = { NULL };
    assert_int_equal(prompt_reflection(&t, "failed", 0, 3, none, NULL, &p), 0);
    assert_non_null(strstr(p.user, "failed"));
    assert_non_null(strstr(p.user, "0 of 3"));
    assert_null(strstr(p.user, "attempt 1"));
    assert_null(strstr(p.user, "```"));
    prompt_free(&p);
    assert_int_equal(prompt_reflection(&t, "failed", 1, 2, NULL, "", &p), 0);
    assert_non_null(strstr(p.user, "1 of 2"));
    assert_null(strstr(p.user, "```"));
    prompt_free(&p);
    free(longp);
}

/* ---- schemas ---------------------------------------------------------- */

static void check_schema(const char *text, const char *const *required,
                         size_t n)
{
    cJSON *s = cJSON_Parse(text);
    const cJSON *req, *props, *it;
    size_t i = 0;

    assert_non_null(s);
    assert_string_equal(cJSON_GetStringValue(
                            cJSON_GetObjectItemCaseSensitive(s, "type")),
                        "object");
    req = cJSON_GetObjectItemCaseSensitive(s, "required");
    props = cJSON_GetObjectItemCaseSensitive(s, "properties");
    assert_true(cJSON_IsArray(req));
    assert_true(cJSON_IsObject(props));
    assert_int_equal(cJSON_GetArraySize(req), (int)n);
    cJSON_ArrayForEach(it, req) {
        assert_true(cJSON_IsString(it));
        assert_string_equal(it->valuestring, required[i]);
        assert_non_null(cJSON_GetObjectItemCaseSensitive(props, required[i]));
        i++;
    }
    cJSON_Delete(s);
}

static void test_schemas(void **state)
{
    static const char *const tests_req[] = { "tests" };
    static const char *const refl_req[] = { "summary", "what_went_wrong",
                                            "lessons", "concepts" };
    cJSON *s;

    (void)state;
    check_schema(prompt_tests_schema, tests_req, 1);
    check_schema(prompt_reflection_schema, refl_req, 4);
    s = cJSON_Parse(prompt_reflection_schema);
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
    for (int i = 2; i < 4; i++) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(props, refl_req[i]);
        assert_string_equal(cJSON_GetStringValue(
                                cJSON_GetObjectItemCaseSensitive(p, "type")),
                            "array");
    }
    cJSON_Delete(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_code_has_task),
        cmocka_unit_test(test_code_self_written_tests),
        cmocka_unit_test(test_code_without_tests),
        cmocka_unit_test(test_code_has_memory),
        cmocka_unit_test(test_code_has_feedback),
        cmocka_unit_test(test_code_languages),
        cmocka_unit_test(test_code_language_fences),
        cmocka_unit_test(test_code_budget),
        cmocka_unit_test(test_code_budget_counts_feedback),
        cmocka_unit_test(test_code_problem_cut),
        cmocka_unit_test(test_code_problem_not_cut),
        cmocka_unit_test(test_tests_prompt),
        cmocka_unit_test(test_reflection_prompt),
        cmocka_unit_test(test_schemas),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
