/* sse.h -- an incremental parser for server-sent events (text/event-stream).
 *
 * A streamed chat completion arrives as SSE: "data: {json}" lines, events
 * ended by a blank line, ": comment" lines (keep-alives) and a final
 * "data: [DONE]". Some servers (llama.cpp) also write a bare
 * "error: {json}" line. Bytes come from the network in arbitrary pieces, so
 * the parser keeps any partial line between calls; feeding the same stream
 * in any split gives the same events.
 *
 * Lines end in LF, CRLF or a lone CR (a CR at the end of one piece and an LF
 * at the start of the next are one line end). A leading UTF-8 BOM is
 * skipped. Per the SSE spec, one space after the colon is dropped, several
 * "data" lines of one event are joined with "\n", and unknown fields
 * ("event", "id", "retry", ...) are ignored, except "error", which is
 * delivered as its own event at once.
 *
 * The parser knows nothing of JSON or of OpenAI; llm_answer.c interprets
 * events.
 */
#ifndef BT_SSE_H
#define BT_SSE_H

#include <stddef.h>

enum sse_kind {
    SSE_DATA,       /* the joined data lines of one event              */
    SSE_ERROR,      /* the value of a bare "error:" line               */
};

/* Called once per event. 'value' is NUL-terminated and valid only during
 * the call; 'len' excludes the NUL. Return 0 to go on, or a non-zero value
 * to stop: sse_feed then returns that value at once. */
typedef int (*sse_event_fn)(void *arg, enum sse_kind kind,
                            const char *value, size_t len);

struct sse {
    sse_event_fn fn;
    void *arg;
    char *line;         /* the partial line kept between feeds (malloc'd) */
    size_t line_len;
    size_t line_cap;
    char *data;         /* the data lines of the pending event (malloc'd) */
    size_t data_len;
    size_t data_cap;
    int have_data;      /* a data line was seen since the last dispatch   */
    int after_cr;       /* the last byte fed was a CR                     */
    int started;        /* the BOM check is done                          */
    size_t max_line;    /* a longer line fails with -E2BIG                */
};

/* Prepares a parser that delivers events to fn(arg, ...). Lines, and the
 * joined data of one event, longer than max_line bytes (0: 16 MiB) make
 * sse_feed fail. Can't fail. */
void sse_init(struct sse *p, sse_event_fn fn, void *arg, size_t max_line);

/* Parses the next piece of the stream. Returns 0, the callback's non-zero
 * value, -ENOMEM, or -E2BIG for an over-long line. After an error the
 * parser must only be released. */
int sse_feed(struct sse *p, const char *buf, size_t len);

/* Ends the stream: a last line without its line end counts, and a pending
 * event is dispatched as if a blank line followed. Returns as sse_feed. */
int sse_finish(struct sse *p);

/* Frees the buffers. Accepts a zeroed or finished parser. */
void sse_free(struct sse *p);

#endif /* BT_SSE_H */
