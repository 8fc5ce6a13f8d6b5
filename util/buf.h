/* buf.h -- a growable NUL-terminated byte buffer.
 *
 * The one text accumulator of the project's modules. A failed allocation
 * latches: later appends do nothing, and the caller checks once, at the
 * end (buf_take returns NULL, or buf.failed is set). A zeroed struct is an
 * empty buffer; buf_free() returns it to that state.
 */
#ifndef BT_UTIL_BUF_H
#define BT_UTIL_BUF_H

#include <stddef.h>

struct buf {
    char *p;            /* NUL-terminated once anything was added; else NULL */
    size_t len;         /* bytes held, not counting the NUL                  */
    size_t cap;         /* bytes allocated                                   */
    int failed;         /* an allocation failed: p was freed, nothing holds  */
};

/* Append n bytes (which may hold NULs). 0, or -ENOMEM (latched). */
int buf_add(struct buf *b, const void *data, size_t n);

/* Append a NUL-terminated string. 0, or -ENOMEM (latched). */
int buf_adds(struct buf *b, const char *s);

/* Append printf-formatted text. 0, -ENOMEM (latched) or -EINVAL for a
 * format the C library refuses. */
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Make room for n more bytes without adding them. 0 or -ENOMEM (latched). */
int buf_reserve(struct buf *b, size_t n);

/* Hand the text over to the caller (free() it): "" when nothing was added,
 * NULL when an allocation failed. The buffer is empty afterwards. */
char *buf_take(struct buf *b);

/* Release the memory; the buffer is empty and usable again. */
void buf_free(struct buf *b);

#endif
