/* sse.c -- an incremental parser for server-sent events (see sse.h).
 *
 * Every byte goes through one path: bytes up to a line end are appended to
 * p->line, and a complete line is handled from there. Copying each line once
 * costs little next to the network and the JSON parse that follows, and it
 * means a line split over any number of feeds is seen exactly as a whole
 * one, which is what makes "any split gives the same events" hold.
 *
 * Two pieces of state cross feed boundaries besides the partial line:
 * after_cr (so that a CR ending one piece and an LF starting the next are one
 * line end, not an extra blank line that would dispatch an event early) and
 * started (the BOM can only be at the very start of the stream, so it is
 * looked for in the first line only, once that line is complete; its three
 * bytes may arrive in different pieces).
 */
#include "sse.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SSE_DEFAULT_MAX_LINE    ((size_t)16 << 20)

static const char SSE_BOM[3] = { '\xef', '\xbb', '\xbf' };

void sse_init(struct sse *p, sse_event_fn fn, void *arg, size_t max_line)
{
    memset(p, 0, sizeof(*p));
    p->fn = fn;
    p->arg = arg;
    p->max_line = max_line ? max_line : SSE_DEFAULT_MAX_LINE;
}

void sse_free(struct sse *p)
{
    if (!p)
        return;
    free(p->line);
    free(p->data);
    p->line = p->data = NULL;
    p->line_len = p->line_cap = 0;
    p->data_len = p->data_cap = 0;
    p->have_data = 0;
    p->after_cr = 0;
}

/* Makes room for 'need' bytes plus a NUL in *buf. Doubling keeps a long
 * line arriving in small pieces linear rather than quadratic. */
static int sse_reserve(char **buf, size_t *cap, size_t need)
{
    size_t ncap;
    char *nbuf;

    if (need == SIZE_MAX)
        return -ENOMEM;
    if (need + 1 <= *cap)
        return 0;
    ncap = *cap ? *cap : 128;
    while (ncap < need + 1) {
        if (ncap > SIZE_MAX / 2)
            return -ENOMEM;
        ncap *= 2;
    }
    nbuf = realloc(*buf, ncap);
    if (!nbuf)
        return -ENOMEM;
    *buf = nbuf;
    *cap = ncap;
    return 0;
}

static int sse_append_line(struct sse *p, const char *s, size_t n)
{
    int rc;

    if (n > p->max_line - p->line_len)
        return -E2BIG;
    rc = sse_reserve(&p->line, &p->line_cap, p->line_len + n);
    if (rc)
        return rc;
    memcpy(p->line + p->line_len, s, n);
    p->line_len += n;
    p->line[p->line_len] = '\0';
    return 0;
}

/* Delivers the pending event, if any. The data buffer is emptied before the
 * callback's verdict is looked at, so a stopped parser holds no stale event
 * that sse_finish could deliver a second time. */
static int sse_dispatch(struct sse *p)
{
    int rc;

    if (!p->have_data)
        return 0;
    p->have_data = 0;
    if (!p->data) {
        /* "data:" lines with empty values only: an empty event. */
        rc = p->fn(p->arg, SSE_DATA, "", 0);
    } else {
        p->data[p->data_len] = '\0';
        rc = p->fn(p->arg, SSE_DATA, p->data, p->data_len);
    }
    p->data_len = 0;
    return rc;
}

static int sse_add_data(struct sse *p, const char *value, size_t len)
{
    size_t extra = len + (p->have_data ? 1 : 0);
    int rc;

    if (extra < len || p->data_len > SIZE_MAX - extra)
        return -ENOMEM;
    /* An event is bounded like a line: a server that never sends the blank
     * line must not grow the buffer without end. */
    if (p->data_len + extra > p->max_line)
        return -E2BIG;
    rc = sse_reserve(&p->data, &p->data_cap, p->data_len + extra);
    if (rc)
        return rc;
    if (p->have_data)
        p->data[p->data_len++] = '\n';
    memcpy(p->data + p->data_len, value, len);
    p->data_len += len;
    p->data[p->data_len] = '\0';
    p->have_data = 1;
    return 0;
}

/* Handles the complete line in p->line (its end not included) and empties
 * it. */
static int sse_line(struct sse *p)
{
    char *line = p->line ? p->line : (char *)"";
    size_t len = p->line_len, name_len;
    char *colon, *value;
    size_t value_len;

    p->line_len = 0;
    if (!p->started) {
        p->started = 1;
        if (len >= sizeof(SSE_BOM) &&
            memcmp(line, SSE_BOM, sizeof(SSE_BOM)) == 0) {
            line += sizeof(SSE_BOM);
            len -= sizeof(SSE_BOM);
        }
    }
    if (len == 0)
        return sse_dispatch(p);
    if (line[0] == ':')
        return 0;                       /* comment: a keep-alive */

    colon = memchr(line, ':', len);
    if (colon) {
        name_len = (size_t)(colon - line);
        value = colon + 1;
        value_len = len - name_len - 1;
        if (value_len && value[0] == ' ') {
            value++;
            value_len--;
        }
    } else {
        /* The spec: the whole line is the field name, the value empty. */
        name_len = len;
        value = line + len;
        value_len = 0;
    }

    if (name_len == 4 && memcmp(line, "data", 4) == 0)
        return sse_add_data(p, value, value_len);
    if (name_len == 5 && memcmp(line, "error", 5) == 0) {
        /* value lies inside p->line, which sse_append_line NUL-terminated
         * (or is the literal ""), so it is a C string as the callback
         * expects. */
        return p->fn(p->arg, SSE_ERROR, value, value_len);
    }
    return 0;                           /* event, id, retry, unknown */
}

int sse_feed(struct sse *p, const char *buf, size_t len)
{
    size_t i = 0;
    int rc;

    while (i < len) {
        size_t j;

        if (p->after_cr) {
            p->after_cr = 0;
            if (buf[i] == '\n') {
                i++;
                continue;
            }
        }
        for (j = i; j < len && buf[j] != '\n' && buf[j] != '\r'; j++)
            ;
        rc = sse_append_line(p, buf + i, j - i);
        if (rc)
            return rc;
        if (j == len)
            break;                      /* a partial line: keep it */
        p->after_cr = buf[j] == '\r';
        i = j + 1;
        rc = sse_line(p);
        if (rc)
            return rc;
    }
    return 0;
}

int sse_finish(struct sse *p)
{
    int rc;

    p->after_cr = 0;
    if (p->line_len > 0) {
        rc = sse_line(p);
        if (rc)
            return rc;
    }
    return sse_dispatch(p);
}
