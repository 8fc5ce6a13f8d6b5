/* fuzz_sse.c -- libFuzzer target for the SSE parser (agents/llm/sse.c), which
 * reads every streamed answer of the LLM.
 *
 * Invariant: the same bytes fed whole, split at two places the input
 * chooses, and byte by byte give the same events (kind and value) and the
 * same result. The first two bytes of the input choose the splits; the rest
 * is the stream. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The events of one run, serialised: kind byte, length, value. */
struct log {
    unsigned char *p;
    size_t len, cap;
};

static int on_event(void *arg, enum sse_kind kind, const char *value,
                    size_t len)
{
    struct log *l = arg;
    size_t need = l->len + 1 + sizeof len + len;

    if (value[len] != '\0')
        abort();                    /* values are NUL-terminated */
    if (need > l->cap) {
        size_t cap = need * 2;
        unsigned char *p = realloc(l->p, cap);
        if (!p)
            abort();
        l->p = p;
        l->cap = cap;
    }
    l->p[l->len++] = (unsigned char)kind;
    memcpy(l->p + l->len, &len, sizeof len);
    l->len += sizeof len;
    memcpy(l->p + l->len, value, len);
    l->len += len;
    return 0;
}

/* Feeds buf in pieces that end at the offsets cuts[0..ncuts) (rising), or
 * one byte at a time when bytewise. Returns the first error or finish's
 * result. */
static int run(const char *buf, size_t len, const size_t *cuts, size_t ncuts,
               int bytewise, struct log *out)
{
    struct sse p;
    size_t at = 0;
    int rc = 0;

    sse_init(&p, on_event, out, 4096);
    if (bytewise) {
        for (; at < len && rc == 0; at++)
            rc = sse_feed(&p, buf + at, 1);
    } else {
        for (size_t i = 0; i <= ncuts && rc == 0; i++) {
            size_t end = i < ncuts ? cuts[i] : len;
            rc = sse_feed(&p, buf + at, end - at);
            at = end;
        }
    }
    if (rc == 0)
        rc = sse_finish(&p);
    sse_free(&p);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct log whole = {0}, split = {0}, bytes = {0};
    size_t cuts[2];
    const char *buf;
    size_t len;
    int rw, rs, rb;

    if (size < 2)
        return 0;
    buf = (const char *)data + 2;
    len = size - 2;
    cuts[0] = len ? data[0] % (len + 1) : 0;
    cuts[1] = len ? data[1] % (len + 1) : 0;
    if (cuts[0] > cuts[1]) {
        size_t t = cuts[0];
        cuts[0] = cuts[1];
        cuts[1] = t;
    }
    rw = run(buf, len, NULL, 0, 0, &whole);
    rs = run(buf, len, cuts, 2, 0, &split);
    rb = run(buf, len, NULL, 0, 1, &bytes);
    if (rw != rs || rw != rb || whole.len != split.len ||
        whole.len != bytes.len ||
        (whole.len && (memcmp(whole.p, split.p, whole.len) != 0 ||
                       memcmp(whole.p, bytes.p, whole.len) != 0))) {
        fprintf(stderr, "whole/split(%zu,%zu)/bytewise differ: rc %d %d %d, "
                "%zu %zu %zu event bytes\n", cuts[0], cuts[1], rw, rs, rb,
                whole.len, split.len, bytes.len);
        abort();
    }
    free(whole.p);
    free(split.p);
    free(bytes.p);
    return 0;
}
