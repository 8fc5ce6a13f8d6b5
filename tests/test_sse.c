/* test_sse.c -- unit tests for agents/llm/sse.c.
 *
 * Each stream below is what a real server writes for a streamed chat
 * completion (OpenAI, llama.cpp's llama-server, LM Studio, vLLM, Ollama's
 * /v1 endpoint) or one of the SSE corner cases those servers and proxies
 * produce. Every stream is fed whole, one byte at a time, cut in two at
 * every byte boundary and, for the short ones, cut in three at every pair of
 * boundaries; each run must record exactly the expected events, kind and
 * value, in order.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agents/llm/sse.h"

/* ---- recording events -------------------------------------------------- */

struct event {
    enum sse_kind kind;
    char *value;                /* malloc'd copy                          */
    size_t len;
};

struct recorder {
    struct event *ev;           /* malloc'd array                         */
    size_t n;
    size_t cap;
    size_t stop_at;             /* return stop_rc on this event (1-based)  */
    int stop_rc;
    int bad_nul;                /* a value was not NUL-terminated          */
};

static int record(void *arg, enum sse_kind kind, const char *value,
                  size_t len)
{
    struct recorder *r = arg;
    struct event *e;

    if (value[len] != '\0' || strlen(value) != len)
        r->bad_nul = 1;
    if (r->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 8;
        struct event *nev = realloc(r->ev, ncap * sizeof(*nev));

        assert_non_null(nev);
        r->ev = nev;
        r->cap = ncap;
    }
    e = &r->ev[r->n++];
    e->kind = kind;
    e->len = len;
    e->value = malloc(len + 1);
    assert_non_null(e->value);
    memcpy(e->value, value, len + 1);
    if (r->stop_at && r->n == r->stop_at)
        return r->stop_rc;
    return 0;
}

static void recorder_reset(struct recorder *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->ev[i].value);
    r->n = 0;
}

static void recorder_free(struct recorder *r)
{
    recorder_reset(r);
    free(r->ev);
    r->ev = NULL;
    r->cap = 0;
}

/* ---- the streams ------------------------------------------------------- */

struct want {
    enum sse_kind kind;
    const char *value;
};

#define END_OF_WANT { SSE_DATA, NULL }

struct stream {
    const char *name;
    const char *bytes;
    struct want want[12];       /* ended by END_OF_WANT                    */
};

#define OAI_CHUNK(delta, finish)                                            \
    "{\"id\":\"chatcmpl-9x\",\"object\":\"chat.completion.chunk\","         \
    "\"created\":1718000000,\"model\":\"gpt-4o-mini\",\"choices\":"         \
    "[{\"index\":0,\"delta\":" delta ",\"finish_reason\":" finish "}]}"

#define LLAMA_CHUNK(content)                                                \
    "{\"choices\":[{\"finish_reason\":null,\"index\":0,\"delta\":"          \
    "{\"content\":\"" content "\"}}],\"created\":1718000001,"               \
    "\"id\":\"chatcmpl-abc\",\"model\":\"qwen2.5-coder-7b\","               \
    "\"object\":\"chat.completion.chunk\"}"

#define LLAMA_ERROR                                                         \
    "{\"code\":500,\"message\":\"the request exceeds the available "        \
    "context size, try increasing it\",\"type\":\"exceed_context_size_"     \
    "error\"}"

#define LMS_CHUNK(content)                                                  \
    "{\"id\":\"chatcmpl-lms1\",\"object\":\"chat.completion.chunk\","       \
    "\"created\":1718000002,\"model\":\"deepseek-coder-7b-instruct\","      \
    "\"system_fingerprint\":\"deepseek-coder-7b-instruct\",\"choices\":"    \
    "[{\"index\":0,\"delta\":{\"content\":\"" content "\"},"                \
    "\"logprobs\":null,\"finish_reason\":null}]}"

#define VLLM_ERROR                                                          \
    "{\"error\":{\"object\":\"error\",\"message\":\"This model's maximum "  \
    "context length is 4096 tokens.\",\"type\":\"BadRequestError\","        \
    "\"param\":null,\"code\":400}}"

#define OLLAMA_CHUNK(content, finish)                                       \
    "{\"id\":\"chatcmpl-42\",\"object\":\"chat.completion.chunk\","         \
    "\"created\":1718000003,\"model\":\"llama3.1:8b\","                     \
    "\"system_fingerprint\":\"fp_ollama\",\"choices\":[{\"index\":0,"       \
    "\"delta\":{\"role\":\"assistant\",\"content\":\"" content "\"},"       \
    "\"finish_reason\":" finish "}]}"

static const struct stream streams[] = {
    { "openai",
      "data: " OAI_CHUNK("{\"role\":\"assistant\",\"content\":\"\"}", "null")
      "\n\n"
      "data: " OAI_CHUNK("{\"content\":\"def\"}", "null") "\n\n"
      "data: " OAI_CHUNK("{\"content\":\" f(x):\"}", "null") "\n\n"
      "data: " OAI_CHUNK("{}", "\"stop\"") "\n\n"
      "data: [DONE]\n\n",
      { { SSE_DATA,
          OAI_CHUNK("{\"role\":\"assistant\",\"content\":\"\"}", "null") },
        { SSE_DATA, OAI_CHUNK("{\"content\":\"def\"}", "null") },
        { SSE_DATA, OAI_CHUNK("{\"content\":\" f(x):\"}", "null") },
        { SSE_DATA, OAI_CHUNK("{}", "\"stop\"") },
        { SSE_DATA, "[DONE]" },
        END_OF_WANT } },

    { "llama.cpp error line",
      "data: " LLAMA_CHUNK("Sure") "\n\n"
      "data: " LLAMA_CHUNK(",") "\n\n"
      "error: " LLAMA_ERROR "\n\n",
      { { SSE_DATA, LLAMA_CHUNK("Sure") },
        { SSE_DATA, LLAMA_CHUNK(",") },
        { SSE_ERROR, LLAMA_ERROR },
        END_OF_WANT } },

    { "lm studio keep-alive",
      ": keep-alive\n\n"
      "data: " LMS_CHUNK("```python") "\n\n"
      ": keep-alive\n"
      ": ping\n\n"
      "data: " LMS_CHUNK("\\nprint(1)") "\n\n"
      ":\n"
      "data: [DONE]\n\n",
      { { SSE_DATA, LMS_CHUNK("```python") },
        { SSE_DATA, LMS_CHUNK("\\nprint(1)") },
        { SSE_DATA, "[DONE]" },
        END_OF_WANT } },

    { "vllm error event",
      "data: " VLLM_ERROR "\n\n"
      "data: [DONE]\n\n",
      { { SSE_DATA, VLLM_ERROR },
        { SSE_DATA, "[DONE]" },
        END_OF_WANT } },

    { "ollama crlf",
      "data: " OLLAMA_CHUNK("Hi", "null") "\r\n\r\n"
      "data: " OLLAMA_CHUNK("", "\"stop\"") "\r\n\r\n"
      "data: [DONE]\r\n\r\n",
      { { SSE_DATA, OLLAMA_CHUNK("Hi", "null") },
        { SSE_DATA, OLLAMA_CHUNK("", "\"stop\"") },
        { SSE_DATA, "[DONE]" },
        END_OF_WANT } },

    { "lone cr",
      "data: {\"a\":1}\r\r: comment\rdata: {\"b\":2}\r\rdata: [DONE]\r\r",
      { { SSE_DATA, "{\"a\":1}" },
        { SSE_DATA, "{\"b\":2}" },
        { SSE_DATA, "[DONE]" },
        END_OF_WANT } },

    { "mixed line ends",
      "data: a\r\n\ndata: b\r\rdata: c\n\r\ndata: d\r\n\r",
      { { SSE_DATA, "a" }, { SSE_DATA, "b" }, { SSE_DATA, "c" },
        { SSE_DATA, "d" }, END_OF_WANT } },

    { "multi-line data",
      "data: {\"choices\":\n"
      "data:  [1, 2]}\n"
      "data\n"
      "data: end\n"
      "\n"
      "data:\n\n",
      { { SSE_DATA, "{\"choices\":\n [1, 2]}\n\nend" },
        { SSE_DATA, "" },
        END_OF_WANT } },

    { "bom",
      "\xef\xbb\xbf" "data: {\"x\":\"\xc3\xa9\"}\n\n"
      "data: \xef\xbb\xbfkept\n\n",
      { { SSE_DATA, "{\"x\":\"\xc3\xa9\"}" },
        { SSE_DATA, "\xef\xbb\xbfkept" },
        END_OF_WANT } },

    { "bom then comment",
      "\xef\xbb\xbf: hello\ndata:1\n\n",
      { { SSE_DATA, "1" }, END_OF_WANT } },

    { "no space after colon",
      "data:{\"a\":1}\n\n"
      "data:  two\n\n"
      "data:\t tab\n\n",
      { { SSE_DATA, "{\"a\":1}" },
        { SSE_DATA, " two" },
        { SSE_DATA, "\t tab" },
        END_OF_WANT } },

    { "other fields ignored",
      "retry: 3000\n"
      "id: 7\n"
      "event: message\n"
      "data: {\"ok\":true}\n"
      "foo\n"
      "errors: not an error\n"
      "Data: not data\n"
      "\n"
      "event: ping\n\n",
      { { SSE_DATA, "{\"ok\":true}" }, END_OF_WANT } },

    { "error inside a pending event",
      "data: first\n"
      "error: {\"message\":\"boom\"}\n"
      "data: second\n"
      "\n"
      "error\n"
      "error:\n",
      { { SSE_ERROR, "{\"message\":\"boom\"}" },
        { SSE_DATA, "first\nsecond" },
        { SSE_ERROR, "" },
        { SSE_ERROR, "" },
        END_OF_WANT } },

    { "final event without blank line",
      "data: " OAI_CHUNK("{\"content\":\"x\"}", "null") "\n\n"
      "data: [DONE]",
      { { SSE_DATA, OAI_CHUNK("{\"content\":\"x\"}", "null") },
        { SSE_DATA, "[DONE]" },
        END_OF_WANT } },

    { "final event with one line end",
      "data: a\n\ndata: b\r\ndata: c\r",
      { { SSE_DATA, "a" }, { SSE_DATA, "b\nc" }, END_OF_WANT } },

    { "only comments and blank lines",
      ": keep-alive\r\n\r\n\n\n: x\r\r",
      { END_OF_WANT } },
};

#define N_STREAMS (sizeof(streams) / sizeof(streams[0]))

/* Three-piece splits are quadratic in the length; streams up to this size
 * get them. */
#define SHORT_STREAM    200

/* ---- running and comparing --------------------------------------------- */

static size_t want_count(const struct stream *s)
{
    size_t n = 0;

    while (s->want[n].value)
        n++;
    return n;
}

/* Feeds s->bytes cut at cuts[0..ncuts-1] (ascending), then finishes, and
 * checks the events. An empty feed is made between pieces too: a piece of
 * no bytes must change nothing. */
static void run_split(const struct stream *s, const size_t *cuts,
                      size_t ncuts, const char *how)
{
    struct recorder r = { 0 };
    struct sse p;
    size_t len = strlen(s->bytes), from = 0, nwant = want_count(s);

    sse_init(&p, record, &r, 0);
    for (size_t i = 0; i <= ncuts; i++) {
        size_t to = i < ncuts ? cuts[i] : len;

        assert_int_equal(sse_feed(&p, s->bytes + from, to - from), 0);
        assert_int_equal(sse_feed(&p, s->bytes + to, 0), 0);
        from = to;
    }
    assert_int_equal(sse_finish(&p), 0);
    /* A second finish has nothing left to deliver. */
    assert_int_equal(sse_finish(&p), 0);
    sse_free(&p);

    if (r.n != nwant)
        fail_msg("%s, %s (cuts %zu %zu): %zu events, want %zu", s->name, how,
                 ncuts > 0 ? cuts[0] : 0, ncuts > 1 ? cuts[1] : 0, r.n,
                 nwant);
    for (size_t i = 0; i < nwant; i++) {
        const struct want *w = &s->want[i];

        if (r.ev[i].kind != w->kind || r.ev[i].len != strlen(w->value) ||
            memcmp(r.ev[i].value, w->value, r.ev[i].len) != 0)
            fail_msg("%s, %s (cuts %zu %zu): event %zu is %d \"%s\", "
                     "want %d \"%s\"", s->name, how,
                     ncuts > 0 ? cuts[0] : 0, ncuts > 1 ? cuts[1] : 0, i,
                     (int)r.ev[i].kind, r.ev[i].value, (int)w->kind,
                     w->value);
    }
    assert_false(r.bad_nul);
    recorder_free(&r);
}

static void test_streams_whole(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_STREAMS; i++)
        run_split(&streams[i], NULL, 0, "whole");
}

static void test_streams_byte_by_byte(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_STREAMS; i++) {
        size_t len = strlen(streams[i].bytes);
        size_t *cuts = malloc((len ? len : 1) * sizeof(*cuts));

        assert_non_null(cuts);
        for (size_t c = 1; c < len; c++)
            cuts[c - 1] = c;
        run_split(&streams[i], cuts, len ? len - 1 : 0, "byte by byte");
        free(cuts);
    }
}

static void test_streams_two_pieces(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_STREAMS; i++) {
        size_t len = strlen(streams[i].bytes);

        for (size_t c = 0; c <= len; c++)
            run_split(&streams[i], &c, 1, "two pieces");
    }
}

static void test_streams_three_pieces(void **state)
{
    size_t tested = 0;

    (void)state;
    for (size_t i = 0; i < N_STREAMS; i++) {
        size_t len = strlen(streams[i].bytes);

        if (len > SHORT_STREAM)
            continue;
        tested++;
        for (size_t a = 0; a <= len; a++)
            for (size_t b = a; b <= len; b++) {
                size_t cuts[2] = { a, b };

                run_split(&streams[i], cuts, 2, "three pieces");
            }
    }
    /* The table must keep enough short streams for this to mean much. */
    assert_true(tested >= 8);
}

/* ---- stopping, limits, freeing ----------------------------------------- */

#define FEED(p, lit) sse_feed((p), (lit), sizeof(lit) - 1)

static void test_callback_stops_feed(void **state)
{
    static const char s[] =
        "data: one\n\nerror: two\n\ndata: three\n\ndata: four\n\n";
    struct recorder r = { .stop_at = 2, .stop_rc = 42 };
    struct sse p;

    (void)state;
    sse_init(&p, record, &r, 0);
    assert_int_equal(sse_feed(&p, s, strlen(s)), 42);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.ev[0].kind, SSE_DATA);
    assert_string_equal(r.ev[0].value, "one");
    assert_int_equal(r.ev[1].kind, SSE_ERROR);
    assert_string_equal(r.ev[1].value, "two");
    sse_free(&p);
    recorder_free(&r);

    /* A negative value is passed through as well. */
    r = (struct recorder){ .stop_at = 1, .stop_rc = -ECANCELED };
    sse_init(&p, record, &r, 0);
    assert_int_equal(sse_feed(&p, s, strlen(s)), -ECANCELED);
    assert_int_equal(r.n, 1);
    sse_free(&p);
    recorder_free(&r);
}

static void test_callback_stops_finish(void **state)
{
    static const char s[] = "data: a\n\ndata: b";
    struct recorder r = { .stop_at = 2, .stop_rc = 9 };
    struct sse p;

    (void)state;
    sse_init(&p, record, &r, 0);
    assert_int_equal(sse_feed(&p, s, strlen(s)), 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(sse_finish(&p), 9);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.ev[1].value, "b");
    sse_free(&p);
    recorder_free(&r);
}

static void test_line_too_long(void **state)
{
    struct recorder r = { 0 };
    struct sse p;

    (void)state;
    /* Exactly max_line bytes is fine, in any pieces. */
    sse_init(&p, record, &r, 16);
    assert_int_equal(FEED(&p, "data: 0123"), 0);
    assert_int_equal(FEED(&p, "456789\n\n"), 0);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.ev[0].value, "0123456789");
    sse_free(&p);
    recorder_free(&r);

    /* One more byte fails, whether it comes alone or with the line end. */
    sse_init(&p, record, &r, 16);
    assert_int_equal(FEED(&p, "data: 0123456789"), 0);
    assert_int_equal(FEED(&p, "a"), -E2BIG);
    sse_free(&p);
    sse_init(&p, record, &r, 16);
    assert_int_equal(FEED(&p, "data: 0123456789a\n\n"), -E2BIG);
    assert_int_equal(r.n, 0);
    sse_free(&p);

    /* Comments count too: a keep-alive line must not grow without end. */
    sse_init(&p, record, &r, 16);
    assert_int_equal(FEED(&p, ": 345678901234567"), -E2BIG);
    sse_free(&p);

    /* The limit is per line and per event, not per feed: two events of 10
     * bytes each pass in one feed... */
    sse_init(&p, record, &r, 16);
    assert_int_equal(FEED(&p, "data: 0123456789\n\ndata: 0123456789\n\n"
                              "data: 01234\ndata: 56789\n\n"), 0);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.ev[2].value, "01234\n56789");
    sse_free(&p);
    recorder_free(&r);

    /* ...but data lines that never end their event cannot grow it past
     * the limit. */
    sse_init(&p, record, &r, 16);
    assert_int_equal(FEED(&p, "data: 0123456789\n"), 0);
    assert_int_equal(FEED(&p, "data: 0123456789\n"), -E2BIG);
    assert_int_equal(r.n, 0);
    sse_free(&p);
    recorder_free(&r);
}

static void test_default_limit_allows_big_lines(void **state)
{
    size_t n = (size_t)1 << 20;         /* a 1 MiB chunk, under 16 MiB */
    char *big = malloc(n + 8);
    struct recorder r = { 0 };
    struct sse p;

    (void)state;
    assert_non_null(big);
    memcpy(big, "data: ", 6);
    memset(big + 6, 'x', n);
    memcpy(big + 6 + n, "\n\n", 2);
    sse_init(&p, record, &r, 0);
    for (size_t off = 0; off < n + 8; off += 4096) {
        size_t piece = n + 8 - off < 4096 ? n + 8 - off : 4096;

        assert_int_equal(sse_feed(&p, big + off, piece), 0);
    }
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ev[0].len, n);
    assert_int_equal(r.ev[0].value[n - 1], 'x');
    sse_free(&p);
    recorder_free(&r);
    free(big);
}

/* Run under ASan: a parser abandoned mid-line and mid-event leaks nothing,
 * and sse_free accepts zeroed, finished and already freed parsers. */
static void test_free_half_fed(void **state)
{
    struct recorder r = { 0 };
    struct sse p, z;

    (void)state;
    sse_init(&p, record, &r, 0);
    assert_int_equal(FEED(&p, "data: {\"a\":\ndata: 1}\nerror: x\n"
                              "data: partial li"), 0);
    assert_int_equal(r.n, 1);           /* only the error line */
    sse_free(&p);
    sse_free(&p);

    memset(&z, 0, sizeof(z));
    sse_free(&z);
    sse_free(NULL);

    sse_init(&p, record, &r, 0);
    assert_int_equal(FEED(&p, "data: x\n\n"), 0);
    assert_int_equal(sse_finish(&p), 0);
    sse_free(&p);
    recorder_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_streams_whole),
        cmocka_unit_test(test_streams_byte_by_byte),
        cmocka_unit_test(test_streams_two_pieces),
        cmocka_unit_test(test_streams_three_pieces),
        cmocka_unit_test(test_callback_stops_feed),
        cmocka_unit_test(test_callback_stops_finish),
        cmocka_unit_test(test_line_too_long),
        cmocka_unit_test(test_default_limit_allows_big_lines),
        cmocka_unit_test(test_free_half_fed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
