/* task_text.h -- what text a task may hold: well-formed UTF-8 and no
 * control characters but tab (and newline inside a field).
 *
 * The task parser applies these rules to every line and every string field;
 * bt import applies them to the benchmark lines it reads before it builds
 * task lines from them. Pure functions: safe from any thread.
 */
#ifndef BT_TASK_TEXT_H
#define BT_TASK_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum task_text_scan {
    TASK_TEXT_OK,
    TASK_TEXT_BAD_UTF8,        /* invalid or truncated UTF-8 at *pos      */
    TASK_TEXT_CONTROL,         /* control character *cp at *pos           */
};

/* Checks n bytes of s: UTF-8 without overlong forms, surrogates, code
 * points past U+10FFFF or truncated sequences; no control character
 * (U+0000..U+001F, U+007F..U+009F) except TAB, and LF when allow_newline.
 * On a problem sets *pos (byte offset from 0) and, for TASK_TEXT_CONTROL,
 * *cp. Never fails otherwise. */
enum task_text_scan task_text_scan(const char *s, size_t n, bool allow_newline,
                                   size_t *pos, uint32_t *cp);

/* The largest length <= len at which the valid UTF-8 text s can be cut
 * without splitting a character, so that shortened messages stay valid
 * UTF-8. */
size_t task_text_cut(const char *s, size_t len);

#endif /* BT_TASK_TEXT_H */
