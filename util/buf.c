/* buf.c -- a growable NUL-terminated byte buffer (buf.h). */
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int buf_fail(struct buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->failed = 1;
    return -ENOMEM;
}

int buf_reserve(struct buf *b, size_t n)
{
    if (b->failed)
        return -ENOMEM;
    if (n >= SIZE_MAX - b->len)
        return buf_fail(b);
    if (b->len + n + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1) {
        if (cap > SIZE_MAX / 2)
            return buf_fail(b);
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p)
        return buf_fail(b);
    b->p = p;
    b->cap = cap;
    return 0;
}

int buf_add(struct buf *b, const void *data, size_t n)
{
    if (buf_reserve(b, n))
        return -ENOMEM;
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int buf_adds(struct buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->failed)
        return -ENOMEM;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    if (buf_reserve(b, (size_t)n))
        return -ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *buf_take(struct buf *b)
{
    char *p;

    if (!b->failed && !b->p)
        buf_add(b, "", 0);
    p = b->failed ? NULL : b->p;
    b->p = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
    return p;
}

void buf_free(struct buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}
