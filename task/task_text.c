/* task_text.c -- the UTF-8 and control-character rules of task text (see
 * task_text.h). */
#include "task_text.h"

/* Decodes the sequence at s (n > 0 bytes available). Returns its length and
 * stores the code point in *cp, or returns 0 for anything that is not
 * well-formed UTF-8: a stray continuation byte, a lead byte that can only
 * start an overlong form (C0, C1) or a code point past U+10FFFF (F5..FF), a
 * truncated sequence, an overlong form, or a surrogate. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t len, i;
    uint32_t v, min;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2; v = c & 0x1Fu; min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3; v = c & 0x0Fu; min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4; v = c & 0x07u; min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3Fu);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

size_t task_text_cut(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = len, k = 0, need;

    while (i > 0 && k < 3 && (u[i - 1] & 0xC0) == 0x80) {
        i--;
        k++;
    }
    if (i == 0)
        return len;
    need = u[i - 1] >= 0xF0 ? 4 : u[i - 1] >= 0xE0 ? 3 : u[i - 1] >= 0xC0 ? 2 : 1;
    return len - (i - 1) >= need ? len : i - 1;
}

static bool is_control(uint32_t cp, bool allow_newline)
{
    if (cp == '\t' || (allow_newline && cp == '\n'))
        return false;
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

enum task_text_scan task_text_scan(const char *s, size_t n, bool allow_newline,
                                   size_t *pos, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, k;

    while (i < n) {
        k = utf8_next(u + i, n - i, cp);
        if (k == 0) {
            *pos = i;
            return TASK_TEXT_BAD_UTF8;
        }
        if (is_control(*cp, allow_newline)) {
            *pos = i;
            return TASK_TEXT_CONTROL;
        }
        i += k;
    }
    return TASK_TEXT_OK;
}
