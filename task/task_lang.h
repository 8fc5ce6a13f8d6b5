/* task_lang.h -- the languages a task may be written in, and what each
 * caller needs to know of one: the name in a task's "language" field, the
 * extension of its files, and the Markdown fence tags that mean it.
 *
 * This is the one list: the task parser accepts exactly these names, the
 * Builder names archived code and lints by it, the answer extractor reads
 * fence tags with it, the code metrics and the sandbox and admission gate
 * pick their rules by it. Adding a language here (and to those rules) is
 * all it takes. Constant data only: safe from any thread.
 */
#ifndef BT_TASK_LANG_H
#define BT_TASK_LANG_H

#include <stdbool.h>
#include <stddef.h>

enum task_lang {
    TASK_LANG_PYTHON,
    TASK_LANG_C,
    TASK_LANG_SH,
};
#define TASK_LANG_COUNT 3

struct task_lang_info {
    enum task_lang lang;
    const char *name;           /* the "language" field: "python", "c", "sh" */
    const char *ext;            /* file extension, no dot: "py", "c", "sh"    */
    const char *fence;          /* the tag to write on a fence: "python",
                                   "c", "bash" (what models know best)      */
    const char *const *tags;    /* every fence tag that means it, lower
                                   case, the name first; NULL-terminated   */
};

/* The language's facts, or NULL for a value outside the enum. */
const struct task_lang_info *task_lang_info(enum task_lang lang);

/* The language a task's "language" field names: exactly "python", "c" or
 * "sh". Returns 0 and sets *out, or -EINVAL for NULL or any other text
 * (*out untouched). */
int task_lang_from_name(const char *name, enum task_lang *out);

/* The language that n bytes of s mean as a fence tag or a name: any of its
 * tags ("py", "python3", "bash", "zsh", "h", ...). any_case: ASCII case is
 * ignored ("Python", as models write fences); else it must match exactly.
 * Returns 0 and sets *out, or -EINVAL (*out untouched). */
int task_lang_from_tag(const char *s, size_t n, bool any_case,
                       enum task_lang *out);

/* The name ("python", "c", "sh"); "?" outside the enum. Never NULL. */
const char *task_lang_name(enum task_lang lang);

/* The file extension ("py", "c", "sh"); "?" outside the enum. Never NULL. */
const char *task_lang_ext(enum task_lang lang);

/* The names as a message lists them: "\"python\", \"c\", \"sh\"" when
 * quoted, else "python, c, sh". Never NULL; constant. */
const char *task_lang_list(bool quoted);

#endif /* BT_TASK_LANG_H */
