/* task_lang.c -- the table of task languages (see task_lang.h). */
#include "task_lang.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

static const char *const PYTHON_TAGS[] = { "python", "py", "python3", "py3",
                                           NULL };
static const char *const C_TAGS[] = { "c", "h", NULL };
static const char *const SH_TAGS[] = { "sh", "bash", "shell", "zsh", NULL };

static const struct task_lang_info LANGS[TASK_LANG_COUNT] = {
    [TASK_LANG_PYTHON] = { TASK_LANG_PYTHON, "python", "py", "python",
                           PYTHON_TAGS },
    [TASK_LANG_C] = { TASK_LANG_C, "c", "c", "c", C_TAGS },
    [TASK_LANG_SH] = { TASK_LANG_SH, "sh", "sh", "bash", SH_TAGS },
};

const struct task_lang_info *task_lang_info(enum task_lang lang)
{
    if ((unsigned)lang >= TASK_LANG_COUNT)
        return NULL;
    return &LANGS[lang];
}

int task_lang_from_name(const char *name, enum task_lang *out)
{
    if (name == NULL)
        return -EINVAL;
    for (unsigned i = 0; i < TASK_LANG_COUNT; i++)
        if (strcmp(name, LANGS[i].name) == 0) {
            *out = (enum task_lang)i;
            return 0;
        }
    return -EINVAL;
}

int task_lang_from_tag(const char *s, size_t n, bool any_case,
                       enum task_lang *out)
{
    if (s == NULL)
        return -EINVAL;
    for (unsigned i = 0; i < TASK_LANG_COUNT; i++)
        for (const char *const *t = LANGS[i].tags; *t; t++) {
            if (strlen(*t) != n)
                continue;
            if (any_case ? strncasecmp(*t, s, n) == 0
                         : memcmp(*t, s, n) == 0) {
                *out = (enum task_lang)i;
                return 0;
            }
        }
    return -EINVAL;
}

const char *task_lang_name(enum task_lang lang)
{
    const struct task_lang_info *l = task_lang_info(lang);

    return l ? l->name : "?";
}

const char *task_lang_ext(enum task_lang lang)
{
    const struct task_lang_info *l = task_lang_info(lang);

    return l ? l->ext : "?";
}

/* Written out rather than built, so that the result is a constant; the
 * unit test checks it against the table. */
const char *task_lang_list(bool quoted)
{
    return quoted ? "\"python\", \"c\", \"sh\"" : "python, c, sh";
}
