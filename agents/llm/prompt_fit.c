/* prompt_fit.c -- cutting the middle of a task's long parts and of the
 * test output quoted back. */
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

void prompt_fit_set_output(struct prompt_fit *f, const char *out,
                           size_t max)
{
    size_t n = out ? strlen(out) : 0;

    free(f->out);
    f->out = NULL;
    f->out0 = out;
    f->out_max = n < max ? n : max;
}

int prompt_fit_step(struct prompt_fit *f)
{
    const char *orig[3] = { f->goal0, f->tests0, f->out0 };
    size_t *caps[3] = { &f->goal_max, &f->tests_max, &f->out_max };
    char **cuts[3] = { &f->goal, &f->tests, &f->out };
    int k = -1;
    char *c;

    /* The longest still over the floor; on a tie the later one, so that
     * the task itself is cut last. */
    for (int i = 0; i < 3; i++)
        if (orig[i] && *caps[i] > PROMPT_FIT_MIN &&
            (k < 0 || *caps[i] >= *caps[k]))
            k = i;
    if (k < 0)
        return 0;
    *caps[k] = *caps[k] / 2 > PROMPT_FIT_MIN ? *caps[k] / 2 : PROMPT_FIT_MIN;
    c = prompt_cut_middle(orig[k], *caps[k]);
    if (!c)
        return -ENOMEM;
    free(*cuts[k]);
    *cuts[k] = c;
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

const char *prompt_fit_output(const struct prompt_fit *f)
{
    return f->out ? f->out : f->out0;
}

void prompt_fit_free(struct prompt_fit *f)
{
    free(f->goal);
    free(f->tests);
    free(f->out);
    f->goal = f->tests = f->out = NULL;
}
