/* metrics.h -- size, nesting and branchiness of a program's source text.
 *
 * The scoring engine (score.h) judges elegance from numbers measured here,
 * not from an LLM's opinion. Each language gets a small lexer that knows
 * its strings and comments, so a keyword inside "a string" or a # comment
 * never counts:
 *
 *   python  comments '#'; strings '...' "..." and triple-quoted ones, with
 *           any r/b/f/u prefix; a logical line goes on inside brackets and
 *           after a trailing backslash.
 *   c       comments // and block comments; "..." and '...' literals; a
 *           preprocessor directive's own name (#if, #else) is not a branch.
 *   sh      comments '#' at the start of a word; '...' "..." and
 *           backslash quoting; here-documents (<<WORD, <<-WORD).
 *
 * What is counted (every count ignores strings and comments):
 *
 *   lines        lines holding anything but blanks and comments. A Python
 *                docstring (a statement that is a string literal alone)
 *                counts as a comment, as cloc counts it; other multi-line
 *                strings and here-document bodies count as code.
 *   max_depth    deepest nesting. python: indentation levels of logical
 *                lines (a def body is 1); c: braces (a function body is 1,
 *                an initialiser's braces count too); sh: open if / case /
 *                for / while / until / select and { } groups in command
 *                position (a function body is 1).
 *   complexity   1 + the decision points (McCabe's approximation):
 *                python  if elif for while and or except, and 'case' opening
 *                        a logical line (match arms);
 *                c       if for while case && || ?;
 *                sh      if elif for while until select && || and each case
 *                        arm (counted by its ;; ;& or ;;& terminator).
 *   longest_line the widest line in characters (UTF-8 code points, a tab
 *                is one), comments included.
 *
 * Pure: no I/O, no allocation, no global state; the same text always gives
 * the same numbers. Unterminated strings or comments end at the end of the
 * text. Any bytes are accepted, NUL included.
 */
#ifndef BT_METRICS_H
#define BT_METRICS_H

#include <stddef.h>

#include "task/task_lang.h"

/* The task languages (task_lang.h) under the names this module's callers
 * know. */
enum metrics_lang {
    METRICS_PYTHON = TASK_LANG_PYTHON,
    METRICS_C = TASK_LANG_C,
    METRICS_SH = TASK_LANG_SH,
};

struct metrics {
    size_t lines;           /* non-blank, non-comment lines               */
    size_t total_lines;     /* every line, blank and comment ones too     */
    size_t max_depth;       /* deepest nesting, 0 for top-level code only */
    size_t complexity;      /* 1 + decision points                        */
    size_t longest_line;    /* code points of the widest line             */
    size_t bytes;           /* length of the text                         */
};

/* The language named by a task's "language" field or one of its fence
 * tags, exactly ("python", "py", "c", "sh", "bash", ...: task_lang.h).
 * Returns 0 and sets *out, or -EINVAL for NULL or any other name. */
int metrics_lang_parse(const char *name, enum metrics_lang *out);

/* The stable name of a language ("python", "c", "sh"); "?" for a value
 * outside the enum. Never NULL. */
const char *metrics_lang_name(enum metrics_lang lang);

/* Measures 'len' bytes of source text 'src' (need not be NUL-terminated;
 * NULL is allowed when len is 0) and fills *out. Empty text gives zeroes
 * with complexity 1. Returns 0, or -EINVAL for an unknown language, a NULL
 * out, or a NULL src with len > 0; *out is then untouched. Allocates
 * nothing. */
int metrics_measure(enum metrics_lang lang, const char *src, size_t len,
                    struct metrics *out);

#endif /* BT_METRICS_H */
