/* prompt_fit.c -- cutting the middle of a task's long parts. */
#include "prompt_fit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* n moved back to the start of the UTF-8 character it is in. */
static size_t char_start(const char *s, size_t n)
{
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

char *prompt_cut_middle(const char *text, size_t max)
{
    size_t n = strlen(text), head, tail;
    char *out;

    if (n <= max)
        return strdup(text);
    /* More of the head: a goal and a test file say most at their start. */
    head = char_start(text, max * 3 / 5);
    tail = n - char_start(text, n - (max - max * 3 / 5));
    if (asprintf(&out, "%.*s\n[... %zu bytes cut to fit the model's "
                 "context ...]\n%s", (int)head, text, n - head - tail,
                 text + n - tail) < 0)
        return NULL;
    return out;
}

void prompt_fit_init(struct prompt_fit *f, const char *goal,
                     const char *tests)
{
    memset(f, 0, sizeof *f);
    f->goal0 = goal ? goal : "";
    f->tests0 = tests ? tests : "";
    f->goal_max = strlen(f->goal0);
    f->tests_max = strlen(f->tests0);
}

int prompt_fit_step(struct prompt_fit *f)
{
    int cut_tests = f->tests_max >= f->goal_max;
    size_t *max;
    char **cut, *c;

    if ((cut_tests ? f->tests_max : f->goal_max) <= PROMPT_FIT_MIN)
        cut_tests = !cut_tests;         /* the other one, maybe */
    max = cut_tests ? &f->tests_max : &f->goal_max;
    if (*max <= PROMPT_FIT_MIN)
        return 0;
    *max = *max / 2 > PROMPT_FIT_MIN ? *max / 2 : PROMPT_FIT_MIN;
    c = prompt_cut_middle(cut_tests ? f->tests0 : f->goal0, *max);
    if (!c)
        return -ENOMEM;
    cut = cut_tests ? &f->tests : &f->goal;
    free(*cut);
    *cut = c;
    return 1;
}

const char *prompt_fit_goal(const struct prompt_fit *f)
{
    return f->goal ? f->goal : f->goal0;
}

const char *prompt_fit_tests(const struct prompt_fit *f)
{
    return f->tests ? f->tests : f->tests0;
}

void prompt_fit_free(struct prompt_fit *f)
{
    free(f->goal);
    free(f->tests);
    f->goal = f->tests = NULL;
}
