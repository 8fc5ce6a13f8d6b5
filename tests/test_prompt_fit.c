/* test_prompt_fit.c -- cutting a task's long parts to fit the context. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prompt_fit.h"

static char *repeat(const char *unit, size_t times)
{
    size_t n = strlen(unit);
    char *s = malloc(n * times + 1);

    for (size_t i = 0; i < times; i++)
        memcpy(s + i * n, unit, n);
    s[n * times] = '\0';
    return s;
}

/* Whether s is valid UTF-8 (no sequence cut in two). */
static int utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        int n = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1
                : (*p & 0xF0) == 0xE0 ? 2 : (*p & 0xF8) == 0xF0 ? 3 : -1;
        if (n < 0)
            return 0;
        p++;
        for (int i = 0; i < n; i++, p++)
            if ((*p & 0xC0) != 0x80)
                return 0;
    }
    return 1;
}

static void test_cut_middle(void **state)
{
    char *s, *text;
    (void)state;

    s = prompt_cut_middle("short", 100);
    assert_string_equal(s, "short");
    free(s);

    text = repeat("0123456789", 100);           /* 1000 bytes */
    s = prompt_cut_middle(text, 300);
    assert_true(strncmp(s, text, 100) == 0);    /* the head is kept */
    assert_non_null(strstr(s, "bytes cut to fit the model's context"));
    assert_true(strlen(s) < 300 + 64);
    /* head + tail + what was cut = the whole */
    const char *mark = strstr(s, "\n[... ");
    unsigned long cut = strtoul(mark + 6, NULL, 10);
    const char *tail = strstr(mark, "...]\n") + 5;
    assert_int_equal((size_t)(mark - s) + cut + strlen(tail), 1000);
    assert_string_equal(tail, text + 1000 - strlen(tail));
    free(s);
    free(text);

    /* never inside a character */
    text = repeat("\xc3\xa9\xe2\x82\xac\xf0\x9f\x99\x82", 200);   /* é€🙂 */
    for (size_t max = 240; max < 260; max++) {
        s = prompt_cut_middle(text, max);
        assert_true(utf8_ok(s));
        free(s);
    }
    free(text);
}

/* Steps halve the longer part first, cut from the original each time (one
 * mark, however many steps), and stop at the floor. */
static void test_fit_steps(void **state)
{
    char *goal = repeat("goal ", 200);          /* 1000 bytes */
    char *tests = repeat("assert f(1) == 1\n", 200);    /* 3400 bytes */
    struct prompt_fit f;
    int steps = 0, rc;
    (void)state;

    prompt_fit_init(&f, goal, tests);
    assert_ptr_equal(prompt_fit_goal(&f), goal);
    assert_int_equal(prompt_fit_step(&f), 1);
    assert_ptr_equal(prompt_fit_goal(&f), goal);    /* tests went first */
    assert_true(strlen(prompt_fit_tests(&f)) < 1800);
    while ((rc = prompt_fit_step(&f)) == 1)
        steps++;
    assert_int_equal(rc, 0);
    assert_true(steps < 20);
    assert_true(strlen(prompt_fit_goal(&f)) < PROMPT_FIT_MIN + 64);
    assert_true(strlen(prompt_fit_tests(&f)) < PROMPT_FIT_MIN + 64);
    const char *t = prompt_fit_tests(&f);
    const char *m = strstr(t, "bytes cut");
    assert_non_null(m);
    assert_null(strstr(m + 1, "bytes cut"));
    prompt_fit_free(&f);
    prompt_fit_free(&f);                        /* twice is fine */

    /* nothing long: nothing to cut */
    prompt_fit_init(&f, "Write f().", NULL);
    assert_int_equal(prompt_fit_step(&f), 0);
    assert_string_equal(prompt_fit_tests(&f), "");
    prompt_fit_free(&f);
    free(goal);
    free(tests);
}

/* A retry's test output is cut with the task's parts, the longest first;
 * a new attempt's output replaces the old one and its cut, while the
 * goal's and tests' cuts stay (the prompt's start stays the same). */
static void test_fit_output(void **state)
{
    char *goal = repeat("goal ", 120);          /* 600 bytes */
    char *out = repeat("Traceback line\n", 400);    /* 6000 bytes */
    char *out2 = repeat("AssertionError\n", 40);    /* 600 bytes */
    struct prompt_fit f;
    (void)state;

    prompt_fit_init(&f, goal, NULL);
    assert_null(prompt_fit_output(&f));
    prompt_fit_set_output(&f, out, 2000);       /* the caller's own cap */
    assert_ptr_equal(prompt_fit_output(&f), out);
    assert_int_equal(prompt_fit_step(&f), 1);
    /* the output went first: halved from 2000, not from 6000 */
    assert_ptr_equal(prompt_fit_goal(&f), goal);
    const char *o = prompt_fit_output(&f);
    assert_true(strlen(o) < 1000 + 64 && strlen(o) > 900);
    assert_non_null(strstr(o, "bytes cut to fit the model's context"));
    assert_true(strncmp(o, out, 500) == 0);     /* the failing test's head */
    assert_int_equal(prompt_fit_step(&f), 1);   /* 1000 over 600: output */
    assert_ptr_equal(prompt_fit_goal(&f), goal);
    assert_int_equal(prompt_fit_step(&f), 1);   /* 600 over 500: the goal */
    assert_true(strlen(prompt_fit_goal(&f)) < 300 + 64);
    int rc;
    while ((rc = prompt_fit_step(&f)) == 1)
        ;
    assert_int_equal(rc, 0);
    assert_true(strlen(prompt_fit_output(&f)) < PROMPT_FIT_MIN + 64);

    /* the next attempt: its own output, whole; the goal stays cut */
    prompt_fit_set_output(&f, out2, 2000);
    assert_ptr_equal(prompt_fit_output(&f), out2);
    assert_true(strlen(prompt_fit_goal(&f)) < PROMPT_FIT_MIN + 64);
    assert_int_equal(prompt_fit_step(&f), 1);
    assert_true(strlen(prompt_fit_output(&f)) < 300 + 64);
    prompt_fit_set_output(&f, NULL, 2000);
    assert_null(prompt_fit_output(&f));
    assert_int_equal(prompt_fit_step(&f), 0);
    prompt_fit_free(&f);
    free(goal);
    free(out);
    free(out2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cut_middle),
        cmocka_unit_test(test_fit_steps),
        cmocka_unit_test(test_fit_output),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
