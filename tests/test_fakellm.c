/* test_fakellm.c -- checks the fake OpenAI-compatible server (fakellm.c)
 * with a real HTTP client (libcurl), one behaviour per test. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "fakellm.h"

#define CHAT "/v1/chat/completions"

/* ---- an HTTP client for the tests ------------------------------------- */

struct resp {
    CURLcode rc;
    long status;
    char *body;                 /* NUL-terminated, never NULL after http() */
    size_t len;
    char *retry_after;          /* header values, NULL when absent */
    char *ctype;
    char *te;
    double secs;                /* wall time of the transfer */
};

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
    struct resp *r = arg;
    char *b = realloc(r->body, r->len + sz * n + 1);

    assert_non_null(b);
    memcpy(b + r->len, p, sz * n);
    r->body = b;
    r->len += sz * n;
    r->body[r->len] = '\0';
    return sz * n;
}

static void keep_header(char **dst, const char *line, size_t n, size_t off)
{
    size_t e = n;

    while (e > off && (line[e - 1] == '\r' || line[e - 1] == '\n' ||
                       line[e - 1] == ' '))
        e--;
    while (off < e && line[off] == ' ')
        off++;
    free(*dst);
    *dst = strndup(line + off, e - off);
    assert_non_null(*dst);
}

static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
    struct resp *r = arg;
    size_t len = sz * n;

    if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0)
        keep_header(&r->retry_after, p, len, 12);
    else if (len > 13 && strncasecmp(p, "Content-Type:", 13) == 0)
        keep_header(&r->ctype, p, len, 13);
    else if (len > 18 && strncasecmp(p, "Transfer-Encoding:", 18) == 0)
        keep_header(&r->te, p, len, 18);
    return len;
}

static void resp_free(struct resp *r)
{
    free(r->body);
    free(r->retry_after);
    free(r->ctype);
    free(r->te);
    memset(r, 0, sizeof(*r));
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One request on handle h (NULL: a fresh handle). body NULL: no body.
 * Extra is one more request header, or NULL. */
static void http_on(CURL *h, int port, const char *method, const char *path,
                    const char *body, const char *extra, long timeout_ms,
                    struct resp *r)
{
    CURL *own = NULL;
    struct curl_slist *hdrs = NULL;
    char url[256];
    double t0 = now_s();

    memset(r, 0, sizeof(*r));
    r->body = strdup("");
    assert_non_null(r->body);
    if (!h) {
        own = h = curl_easy_init();
        assert_non_null(h);
    }
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    assert_non_null(hdrs);
    if (extra) {
        hdrs = curl_slist_append(hdrs, extra);
        assert_non_null(hdrs);
    }
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    /* So a missing "100 Continue" would hang instead of being papered over
     * by curl's one-second fallback. */
    curl_easy_setopt(h, CURLOPT_EXPECT_100_TIMEOUT_MS, 60000L);
    if (body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (!body && strcmp(method, "GET") == 0)
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    r->rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    r->secs = now_s() - t0;
    curl_slist_free_all(hdrs);
    if (own)
        curl_easy_cleanup(own);
}

static void http(struct fakellm *f, const char *method, const char *path,
                 const char *body, struct resp *r)
{
    http_on(NULL, fakellm_port(f), method, path, body, NULL, 20000L, r);
}

static void add(struct fakellm *f, struct fakellm_rule r)
{
    assert_int_equal(fakellm_add(f, &r), 0);
}

/* Waits up to 10 s for the server to have logged n requests. */
static void wait_requests(struct fakellm *f, unsigned n)
{
    double end = now_s() + 10;

    while (fakellm_requests(f) < n && now_s() < end)
        usleep(5000);
    assert_int_equal(fakellm_requests(f), n);
}

/* ---- SSE ----------------------------------------------------------------- */

/* A parsed stream: the data of each event in order. */
struct sse {
    char *data[256];
    size_t n;
};

/* Splits body into events; every event must be one "data: " line. */
static void sse_parse(const char *body, struct sse *s)
{
    const char *p = body;

    s->n = 0;
    while (*p) {
        const char *end = strstr(p, "\n\n");

        assert_non_null(end);
        assert_true(strncmp(p, "data: ", 6) == 0);
        assert_null(memchr(p, '\n', (size_t)(end - p)));
        assert_true(s->n < 256);
        s->data[s->n] = strndup(p + 6, (size_t)(end - p) - 6);
        assert_non_null(s->data[s->n]);
        s->n++;
        p = end + 2;
    }
}

static void sse_free(struct sse *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        free(s->data[i]);
    s->n = 0;
}

/* What a streamed answer carried. */
struct streamed {
    char *content;             /* the pieces reassembled */
    size_t pieces;
    size_t max_piece;
    int bad_split;             /* a piece began inside a UTF-8 sequence */
    char *finish;              /* "(null)" for JSON null */
    int has_usage;
    long completion_tokens, prompt_tokens, total_tokens;
    int has_done;
};

/* Checks the shape of a chat.completion.chunk stream and gathers it. */
static void stream_check(const char *body, struct streamed *st)
{
    struct sse s;
    size_t i, len = 0;
    int seen_finish = 0;

    memset(st, 0, sizeof(*st));
    st->content = calloc(1, strlen(body) + 1);
    assert_non_null(st->content);
    sse_parse(body, &s);
    assert_true(s.n >= 2);
    for (i = 0; i < s.n; i++) {
        cJSON *o, *choices, *ch, *delta, *c, *fr, *u;

        if (strcmp(s.data[i], "[DONE]") == 0) {
            assert_int_equal(i, s.n - 1);
            st->has_done = 1;
            continue;
        }
        o = cJSON_Parse(s.data[i]);
        assert_non_null(o);
        assert_string_equal(
            cJSON_GetStringValue(cJSON_GetObjectItem(o, "object")),
            "chat.completion.chunk");
        choices = cJSON_GetObjectItem(o, "choices");
        assert_true(cJSON_IsArray(choices));
        u = cJSON_GetObjectItem(o, "usage");
        if (u) {
            /* The usage chunk comes after the finish and has no choice. */
            assert_true(seen_finish);
            assert_int_equal(cJSON_GetArraySize(choices), 0);
            st->has_usage = 1;
            st->prompt_tokens = (long)cJSON_GetNumberValue(
                cJSON_GetObjectItem(u, "prompt_tokens"));
            st->completion_tokens = (long)cJSON_GetNumberValue(
                cJSON_GetObjectItem(u, "completion_tokens"));
            st->total_tokens = (long)cJSON_GetNumberValue(
                cJSON_GetObjectItem(u, "total_tokens"));
            cJSON_Delete(o);
            continue;
        }
        assert_int_equal(cJSON_GetArraySize(choices), 1);
        ch = cJSON_GetArrayItem(choices, 0);
        delta = cJSON_GetObjectItem(ch, "delta");
        assert_true(cJSON_IsObject(delta));
        if (i == 0)
            assert_string_equal(cJSON_GetStringValue(
                cJSON_GetObjectItem(delta, "role")), "assistant");
        c = cJSON_GetObjectItem(delta, "content");
        if (cJSON_IsString(c)) {
            size_t n = strlen(c->valuestring);

            assert_false(seen_finish);
            if (n && ((unsigned char)c->valuestring[0] & 0xC0) == 0x80)
                st->bad_split = 1;
            memcpy(st->content + len, c->valuestring, n);
            len += n;
            st->pieces++;
            if (n > st->max_piece)
                st->max_piece = n;
        }
        fr = cJSON_GetObjectItem(ch, "finish_reason");
        assert_non_null(fr);
        if (!cJSON_IsNull(fr) || (i > 0 && !cJSON_IsString(c) &&
                                  !cJSON_GetObjectItem(delta, "role"))) {
            assert_false(seen_finish);
            seen_finish = 1;
            st->finish = strdup(cJSON_IsNull(fr) ? "(null)" : fr->valuestring);
            assert_non_null(st->finish);
        }
        cJSON_Delete(o);
    }
    assert_true(seen_finish);
    sse_free(&s);
}

static void streamed_free(struct streamed *st)
{
    free(st->content);
    free(st->finish);
}

/* ---- fixtures -------------------------------------------------------------- */

static int setup(void **state)
{
    struct fakellm *f = NULL;

    if (fakellm_start(&f) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fakellm_stop(*state);
    return 0;
}

/* ---- tests -------------------------------------------------------------- */

static void test_reply_plain(void **state)
{
    struct fakellm *f = *state;
    const char *req = "{\"model\":\"m-1\",\"messages\":[{\"role\":\"user\","
                      "\"content\":\"say hello please\"}]}";
    struct resp r;
    cJSON *o, *ch, *msg, *u;

    add(f, (struct fakellm_rule){ .content = "Hello, \"world\".\n" });
    http(f, "POST", CHAT, req, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "application/json");
    assert_null(r.te);
    o = cJSON_Parse(r.body);
    assert_non_null(o);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "object")),
                        "chat.completion");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "model")),
                        "m-1");
    ch = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "choices"), 0);
    msg = cJSON_GetObjectItem(ch, "message");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(msg, "role")),
                        "assistant");
    assert_string_equal(
        cJSON_GetStringValue(cJSON_GetObjectItem(msg, "content")),
        "Hello, \"world\".\n");
    assert_string_equal(
        cJSON_GetStringValue(cJSON_GetObjectItem(ch, "finish_reason")), "stop");
    u = cJSON_GetObjectItem(o, "usage");
    assert_int_equal((long)cJSON_GetNumberValue(
                         cJSON_GetObjectItem(u, "prompt_tokens")),
                     (long)strlen(req) / 4);
    assert_int_equal((long)cJSON_GetNumberValue(
                         cJSON_GetObjectItem(u, "completion_tokens")),
                     (long)strlen("Hello, \"world\".\n") / 4 + 1);
    assert_int_equal((long)cJSON_GetNumberValue(
                         cJSON_GetObjectItem(u, "total_tokens")),
                     (long)strlen(req) / 4 +
                         (long)strlen("Hello, \"world\".\n") / 4 + 1);
    cJSON_Delete(o);
    resp_free(&r);
}

static void test_reply_plain_options(void **state)
{
    struct fakellm *f = *state;
    struct resp r;
    cJSON *o, *ch;

    add(f, (struct fakellm_rule){ .content = "cut short", .times = 1,
                                  .finish_reason = "length", .no_usage = 1 });
    add(f, (struct fakellm_rule){ .content = "", .finish_reason = "" });
    http(f, "POST", CHAT, "{}", &r);
    assert_int_equal(r.status, 200);
    o = cJSON_Parse(r.body);
    assert_non_null(o);
    ch = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "choices"), 0);
    assert_string_equal(
        cJSON_GetStringValue(cJSON_GetObjectItem(ch, "finish_reason")),
        "length");
    assert_null(cJSON_GetObjectItem(o, "usage"));
    cJSON_Delete(o);
    resp_free(&r);

    http(f, "POST", CHAT, "{}", &r);
    o = cJSON_Parse(r.body);
    assert_non_null(o);
    ch = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "choices"), 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(ch, "finish_reason")));
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(
                            cJSON_GetObjectItem(ch, "message"), "content")),
                        "");
    assert_non_null(cJSON_GetObjectItem(o, "usage"));
    cJSON_Delete(o);
    resp_free(&r);
}

static void test_reply_stream(void **state)
{
    struct fakellm *f = *state;
    /* Multi-byte characters at every offset modulo the chunk size. */
    const char *text = "naïve café — 日本語のテキスト, emoji 🙂🙂 and "
                       "plain ASCII to finish the answer.\n```c\nint x;\n```";
    const char *req = "{\"stream\":true,\"messages\":[]}";
    struct resp r;
    struct streamed st;

    add(f, (struct fakellm_rule){ .content = text, .chunk_bytes = 5 });
    http(f, "POST", CHAT, req, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "text/event-stream");
    assert_string_equal(r.te, "chunked");
    stream_check(r.body, &st);
    assert_string_equal(st.content, text);
    assert_false(st.bad_split);
    assert_true(st.pieces >= strlen(text) / 8);
    assert_true(st.max_piece <= 5 + 3);
    assert_string_equal(st.finish, "stop");
    assert_true(st.has_usage);
    assert_int_equal(st.prompt_tokens, (long)strlen(req) / 4);
    assert_int_equal(st.completion_tokens, (long)strlen(text) / 4 + 1);
    assert_int_equal(st.total_tokens, st.prompt_tokens + st.completion_tokens);
    assert_true(st.has_done);
    streamed_free(&st);
    resp_free(&r);
}

static void test_stream_default_chunks(void **state)
{
    struct fakellm *f = *state;
    char text[100];
    struct resp r;
    struct streamed st;

    memset(text, 'a', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    add(f, (struct fakellm_rule){ .content = text });
    http(f, "POST", CHAT, "{\"stream\": true}", &r);
    stream_check(r.body, &st);
    assert_string_equal(st.content, text);
    assert_int_equal(st.pieces, (99 + 15) / 16);
    assert_int_equal(st.max_piece, 16);
    streamed_free(&st);
    resp_free(&r);
}

static void test_stream_options(void **state)
{
    struct fakellm *f = *state;
    struct resp r;
    struct streamed st;

    add(f, (struct fakellm_rule){ .content = "abc", .no_usage = 1,
                                  .no_done = 1, .finish_reason = "length",
                                  .times = 1 });
    add(f, (struct fakellm_rule){ .content = "", .finish_reason = "" });
    http(f, "POST", CHAT, "{\"stream\":true}", &r);
    assert_int_equal(r.rc, CURLE_OK);
    stream_check(r.body, &st);
    assert_string_equal(st.content, "abc");
    assert_string_equal(st.finish, "length");
    assert_false(st.has_usage);
    assert_false(st.has_done);
    assert_null(strstr(r.body, "[DONE]"));
    streamed_free(&st);
    resp_free(&r);

    http(f, "POST", CHAT, "{\"stream\":true}", &r);
    stream_check(r.body, &st);
    assert_string_equal(st.content, "");
    assert_int_equal(st.pieces, 0);
    assert_string_equal(st.finish, "(null)");
    assert_true(st.has_usage);
    assert_true(st.has_done);
    streamed_free(&st);
    resp_free(&r);
}

static void test_status_retry_after(void **state)
{
    struct fakellm *f = *state;
    const char *body = "{\"error\":{\"message\":\"slow down\","
                       "\"type\":\"rate_limit\"}}";
    struct resp r;
    cJSON *o;

    add(f, (struct fakellm_rule){ .kind = FAKE_STATUS, .status = 429,
                                  .body = body, .retry_after_s = 7,
                                  .times = 1 });
    add(f, (struct fakellm_rule){ .kind = FAKE_STATUS, .status = 503 });
    http(f, "POST", CHAT, "{\"stream\":true}", &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 429);
    assert_string_equal(r.retry_after, "7");
    assert_string_equal(r.ctype, "application/json");
    assert_string_equal(r.body, body);
    resp_free(&r);

    http(f, "POST", CHAT, "{}", &r);
    assert_int_equal(r.status, 503);
    assert_null(r.retry_after);
    o = cJSON_Parse(r.body);
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(o, "error")));
    cJSON_Delete(o);
    resp_free(&r);
}

static void test_raw(void **state)
{
    struct fakellm *f = *state;
    const char *sse = ": keep-alive comment\n\ndata: {\"choices\":[{\"delta\":"
                      "{\"content\":\"x\"}}]}\n\ndata: {\"error\":{\"message\":"
                      "\"boom\"}}\n\ndata: [DONE]\n\n";
    struct resp r;

    add(f, (struct fakellm_rule){ .kind = FAKE_RAW, .body = sse,
                                  .chunk_bytes = 3 });
    http(f, "POST", CHAT, "{\"stream\":true}", &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "text/event-stream");
    assert_string_equal(r.te, "chunked");
    assert_string_equal(r.body, sse);
    resp_free(&r);
}

static void test_garbage(void **state)
{
    struct fakellm *f = *state;
    const char *junk = "<html><body>502 proxy says {\"no";
    struct resp r;
    cJSON *o;

    add(f, (struct fakellm_rule){ .kind = FAKE_GARBAGE, .body = junk });
    http(f, "POST", CHAT, "{}", &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "application/json");
    assert_string_equal(r.body, junk);
    o = cJSON_Parse(r.body);
    assert_null(o);
    resp_free(&r);
}

static void test_hang_timeout(void **state)
{
    struct fakellm *f = *state;
    struct resp r;

    add(f, (struct fakellm_rule){ .kind = FAKE_HANG });
    http_on(NULL, fakellm_port(f), "POST", CHAT, "{\"hang\":1}", NULL, 1000L,
            &r);
    assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
    assert_int_equal(r.len, 0);
    assert_int_equal(r.status, 0);
    wait_requests(f, 1);
    resp_free(&r);
}

/* A client left waiting in another thread while the server stops. */
struct waiter {
    int port;
    const char *body;
    struct resp r;
};

static void *waiter_main(void *arg)
{
    struct waiter *w = arg;

    http_on(NULL, w->port, "POST", CHAT, w->body, NULL, 60000L, &w->r);
    return NULL;
}

/* Starts a client, waits for its request to arrive, stops the server and
 * returns how long the stop took. The server is gone afterwards. */
static double stop_under(struct fakellm *f, struct waiter *w)
{
    pthread_t t;
    double t0;

    w->port = fakellm_port(f);
    assert_int_equal(pthread_create(&t, NULL, waiter_main, w), 0);
    wait_requests(f, 1);
    usleep(100 * 1000);          /* let the answer reach its hang or drip */
    t0 = now_s();
    fakellm_stop(f);
    t0 = now_s() - t0;
    assert_int_equal(pthread_join(t, NULL), 0);
    return t0;
}

static void test_hang_stop(void **state)
{
    struct fakellm *f = *state;
    struct waiter w = { .body = "{}" };
    double took;

    *state = NULL;               /* stopped here, not by the teardown */
    add(f, (struct fakellm_rule){ .kind = FAKE_HANG });
    took = stop_under(f, &w);
    assert_true(took < 5.0);
    assert_true(w.r.secs < 30.0);
    assert_int_not_equal(w.r.rc, CURLE_OK);
    assert_int_not_equal(w.r.rc, CURLE_OPERATION_TIMEDOUT);
    resp_free(&w.r);
}

static void test_drip_stop(void **state)
{
    struct fakellm *f = *state;
    struct waiter w = { .body = "{\"stream\":true}" };
    double took;

    *state = NULL;
    add(f, (struct fakellm_rule){ .content = "slow", .delay_ms = 600000 });
    took = stop_under(f, &w);
    assert_true(took < 5.0);
    assert_int_equal(w.r.status, 200);
    assert_int_not_equal(w.r.rc, CURLE_OK);
    assert_int_not_equal(w.r.rc, CURLE_OPERATION_TIMEDOUT);
    resp_free(&w.r);
}

static void test_drip_and_first_delay(void **state)
{
    struct fakellm *f = *state;
    struct resp r;
    struct streamed st;

    /* 4 events (role, "abcd", finish, usage) + [DONE]: 5 pauses of 60 ms. */
    add(f, (struct fakellm_rule){ .content = "abcd", .delay_ms = 60,
                                  .times = 1 });
    add(f, (struct fakellm_rule){ .kind = FAKE_STATUS, .status = 500,
                                  .first_delay_ms = 300 });
    http(f, "POST", CHAT, "{\"stream\":true}", &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_true(r.secs >= 0.29);
    stream_check(r.body, &st);
    assert_string_equal(st.content, "abcd");
    streamed_free(&st);
    resp_free(&r);

    http(f, "POST", CHAT, "{}", &r);
    assert_int_equal(r.status, 500);
    assert_true(r.secs >= 0.29);
    resp_free(&r);
}

static void test_reset(void **state)
{
    struct fakellm *f = *state;
    struct resp r;

    add(f, (struct fakellm_rule){ .kind = FAKE_RESET });
    http(f, "POST", CHAT, "{\"stream\":true}", &r);
    /* RECV_ERROR is "Connection reset by peer"; a plain close would be
     * CURLE_GOT_NOTHING. */
    assert_int_equal(r.rc, CURLE_RECV_ERROR);
    assert_int_equal(r.len, 0);
    assert_int_equal(fakellm_requests(f), 1);
    resp_free(&r);
}

static void test_cut(void **state)
{
    struct fakellm *f = *state;
    char text[400];
    struct resp r;

    memset(text, 'z', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    add(f, (struct fakellm_rule){ .kind = FAKE_CUT, .content = text,
                                  .cut_after = 250, .times = 1 });
    add(f, (struct fakellm_rule){ .kind = FAKE_CUT, .content = text,
                                  .cut_after = 40 });
    http(f, "POST", CHAT, "{\"stream\":true}", &r);
    assert_int_equal(r.rc, CURLE_PARTIAL_FILE);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.te, "chunked");
    assert_int_equal(r.len, 250);
    assert_true(strncmp(r.body, "data: {", 7) == 0);
    assert_null(strstr(r.body, "[DONE]"));
    resp_free(&r);

    http(f, "POST", CHAT, "{}", &r);
    assert_int_equal(r.rc, CURLE_PARTIAL_FILE);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 40);
    assert_true(strncmp(r.body, "{\"id\":", 6) == 0);
    resp_free(&r);
}

static char *content_of(const char *body)
{
    cJSON *o = cJSON_Parse(body);
    const char *c = cJSON_GetStringValue(cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(o,
                                                                   "choices"),
                                               0),
                            "message"),
        "content"));
    char *s = strdup(c ? c : "(none)");

    cJSON_Delete(o);
    assert_non_null(s);
    return s;
}

static void expect_content(struct fakellm *f, const char *body,
                           const char *want)
{
    struct resp r;
    char *c;

    http(f, "POST", CHAT, body, &r);
    assert_int_equal(r.status, 200);
    c = content_of(r.body);
    assert_string_equal(c, want);
    free(c);
    resp_free(&r);
}

static void test_match_and_times(void **state)
{
    struct fakellm *f = *state;
    struct resp r;

    add(f, (struct fakellm_rule){ .match = "alpha", .content = "A",
                                  .times = 1 });
    add(f, (struct fakellm_rule){ .match = "beta", .content = "B" });
    add(f, (struct fakellm_rule){ .content = "C", .times = 2 });
    expect_content(f, "{\"q\":\"alpha\"}", "A");
    expect_content(f, "{\"q\":\"alpha\"}", "C");   /* A is spent */
    expect_content(f, "{\"q\":\"beta\"}", "B");
    expect_content(f, "{\"q\":\"beta\"}", "B");    /* forever */
    expect_content(f, "{\"q\":\"gamma\"}", "C");
    http(f, "POST", CHAT, "{\"q\":\"gamma\"}", &r);  /* C is spent */
    assert_int_equal(r.status, 500);
    assert_non_null(strstr(r.body, "fakellm: no rule for this request"));
    resp_free(&r);
    assert_int_equal(fakellm_requests(f), 6);

    fakellm_clear(f);
    http(f, "POST", CHAT, "{\"q\":\"beta\"}", &r);
    assert_int_equal(r.status, 500);
    resp_free(&r);
}

static void test_paths_and_methods(void **state)
{
    struct fakellm *f = *state;
    struct resp r;
    cJSON *o;

    /* With no rule: the default 500 on POST chat, a 404 elsewhere. */
    http(f, "POST", CHAT, "{}", &r);
    assert_int_equal(r.status, 500);
    o = cJSON_Parse(r.body);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(
                            cJSON_GetObjectItem(o, "error"), "message")),
                        "fakellm: no rule for this request");
    cJSON_Delete(o);
    resp_free(&r);
    http(f, "POST", "/v2/nothing", "{}", &r);
    assert_int_equal(r.status, 404);
    o = cJSON_Parse(r.body);
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(o, "error")));
    cJSON_Delete(o);
    resp_free(&r);

    /* A chat rule without a method does not answer GET. */
    add(f, (struct fakellm_rule){ .content = "only POST" });
    http(f, "GET", CHAT, NULL, &r);
    assert_int_equal(r.status, 404);
    resp_free(&r);

    /* A rule on /v1/models wins over the built-in list (LM Studio with no
     * model loaded). */
    add(f, (struct fakellm_rule){ .kind = FAKE_STATUS, .path = "/v1/models",
                                  .status = 404, .times = 1,
                                  .body = "{\"error\":{\"code\":"
                                          "\"model_not_found\"}}" });
    http(f, "GET", "/v1/models", NULL, &r);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "model_not_found"));
    resp_free(&r);
    http(f, "GET", "/v1/models", NULL, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
}

static void test_keepalive(void **state)
{
    struct fakellm *f = *state;
    CURL *h = curl_easy_init();
    struct resp r;
    int i;

    assert_non_null(h);
    add(f, (struct fakellm_rule){ .kind = FAKE_STATUS, .status = 429,
                                  .retry_after_s = 1, .times = 1 });
    add(f, (struct fakellm_rule){ .content = "kept alive" });
    for (i = 0; i < 6; i++) {
        http_on(h, fakellm_port(f), "POST", CHAT,
                i % 2 ? "{\"stream\":true}" : "{}", NULL, 20000L, &r);
        assert_int_equal(r.rc, CURLE_OK);
        assert_int_equal(r.status, i == 0 ? 429 : 200);
        resp_free(&r);
    }
    http_on(h, fakellm_port(f), "GET", "/v1/models", NULL, NULL, 20000L, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    curl_easy_cleanup(h);
    assert_int_equal(fakellm_requests(f), 7);
    assert_int_equal(fakellm_connections(f), 1);
}

static void test_log_and_auth(void **state)
{
    struct fakellm *f = *state;
    struct resp r;
    char *s;

    add(f, (struct fakellm_rule){ .content = "ok" });
    http_on(NULL, fakellm_port(f), "POST", CHAT, "{\"n\":1}",
            "Authorization: Bearer sk-test-123", 20000L, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    http(f, "POST", CHAT, "{\"n\":2}", &r);
    resp_free(&r);
    assert_int_equal(fakellm_requests(f), 2);
    s = fakellm_request_body(f, 0);
    assert_string_equal(s, "{\"n\":1}");
    free(s);
    s = fakellm_request_auth(f, 0);
    assert_string_equal(s, "Bearer sk-test-123");
    free(s);
    s = fakellm_request_body(f, 1);
    assert_string_equal(s, "{\"n\":2}");
    free(s);
    assert_null(fakellm_request_auth(f, 1));
    assert_null(fakellm_request_body(f, 2));
    assert_null(fakellm_request_auth(f, 2));
}

static void test_expect_continue(void **state)
{
    struct fakellm *f = *state;
    size_t n = 200000;
    char *big = malloc(n + 1), *s;
    struct resp r;

    assert_non_null(big);
    memset(big, 'x', n);
    memcpy(big, "{\"p\":\"", 6);
    memcpy(big + n - 2, "\"}", 2);
    big[n] = '\0';
    add(f, (struct fakellm_rule){ .content = "big" });
    /* curl waits (60 s, see http_on) for "100 Continue" before the body. */
    http_on(NULL, fakellm_port(f), "POST", CHAT, big, "Expect: 100-continue",
            20000L, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    s = fakellm_request_body(f, 0);
    assert_non_null(s);
    assert_string_equal(s, big);
    free(s);
    free(big);
}

static void test_control_rules(void **state)
{
    struct fakellm *f = *state;
    struct resp r;
    struct streamed st;

    http(f, "POST", "/fake/rules",
         "[{\"kind\":\"status\",\"status\":429,\"retry_after_s\":2,"
         "\"times\":1,\"body\":{\"error\":{\"message\":\"busy\"}}},"
         "{\"kind\":\"reply\",\"content\":\"from json\",\"chunk_bytes\":2,"
         "\"no_done\":false,\"match\":\"hi\"}]", &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    http(f, "POST", CHAT, "{\"q\":\"hi\"}", &r);
    assert_int_equal(r.status, 429);
    assert_string_equal(r.retry_after, "2");
    assert_string_equal(r.body, "{\"error\":{\"message\":\"busy\"}}");
    resp_free(&r);
    http(f, "POST", CHAT, "{\"q\":\"hi\",\"stream\":true}", &r);
    stream_check(r.body, &st);
    assert_string_equal(st.content, "from json");
    assert_int_equal(st.max_piece, 2);
    assert_true(st.has_done);
    streamed_free(&st);
    resp_free(&r);

    /* A bad rule in an array: 400, and none of the array is added. */
    http(f, "POST", "/fake/rules",
         "[{\"kind\":\"reply\",\"content\":\"never\"},"
         "{\"kind\":\"reply\",\"contnet\":\"typo\"}]", &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "contnet"));
    resp_free(&r);
    http(f, "POST", "/fake/rules", "{\"kind\":\"teapot\"}", &r);
    assert_int_equal(r.status, 400);
    resp_free(&r);
    http(f, "POST", "/fake/rules", "{not json", &r);
    assert_int_equal(r.status, 400);
    resp_free(&r);
    http(f, "POST", CHAT, "{\"q\":\"other\"}", &r);
    assert_int_equal(r.status, 500);       /* "never" was not added */
    resp_free(&r);

    http(f, "DELETE", "/fake/rules", NULL, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    http(f, "POST", CHAT, "{\"q\":\"hi\"}", &r);
    assert_int_equal(r.status, 500);
    resp_free(&r);
    /* Control requests are not counted. */
    assert_int_equal(fakellm_requests(f), 4);
}

static void test_control_requests(void **state)
{
    struct fakellm *f = *state;
    struct resp r;
    cJSON *o, *e;

    add(f, (struct fakellm_rule){ .content = "x" });
    http_on(NULL, fakellm_port(f), "POST", CHAT, "{\"a\":\"\\\"q\\\"\"}",
            "Authorization: Bearer k1", 20000L, &r);
    resp_free(&r);
    http(f, "GET", "/v1/models?x=1", NULL, &r);
    resp_free(&r);
    http(f, "GET", "/fake/requests", NULL, &r);
    assert_int_equal(r.status, 200);
    o = cJSON_Parse(r.body);
    assert_true(cJSON_IsArray(o));
    assert_int_equal(cJSON_GetArraySize(o), 2);
    e = cJSON_GetArrayItem(o, 0);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(e, "method")),
                        "POST");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(e, "path")),
                        CHAT);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(e, "body")),
                        "{\"a\":\"\\\"q\\\"\"}");
    assert_string_equal(
        cJSON_GetStringValue(cJSON_GetObjectItem(e, "authorization")),
        "Bearer k1");
    e = cJSON_GetArrayItem(o, 1);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(e, "method")),
                        "GET");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(e, "path")),
                        "/v1/models?x=1");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(e, "authorization")));
    cJSON_Delete(o);
    resp_free(&r);
    assert_int_equal(fakellm_requests(f), 2);

    http(f, "GET", "/fake/nothing", NULL, &r);
    assert_int_equal(r.status, 404);
    resp_free(&r);
}

/* The ids of GET /v1/models, comma-joined into out. */
static void model_ids(struct fakellm *f, char *out, size_t size)
{
    struct resp r;
    cJSON *o, *m;

    out[0] = '\0';
    http(f, "GET", "/v1/models", NULL, &r);
    assert_int_equal(r.status, 200);
    o = cJSON_Parse(r.body);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(o, "object")),
                        "list");
    cJSON_ArrayForEach(m, cJSON_GetObjectItem(o, "data")) {
        assert_string_equal(
            cJSON_GetStringValue(cJSON_GetObjectItem(m, "object")), "model");
        if (out[0])
            strncat(out, ",", size - strlen(out) - 1);
        strncat(out, cJSON_GetStringValue(cJSON_GetObjectItem(m, "id")),
                size - strlen(out) - 1);
    }
    cJSON_Delete(o);
    resp_free(&r);
}

static void test_models(void **state)
{
    struct fakellm *f = *state;
    const char *const ids[] = { "qwen2.5-coder", "llama-3-8b", NULL };
    const char *const none[] = { NULL };
    char got[256];
    struct resp r;

    model_ids(f, got, sizeof(got));
    assert_string_equal(got, "deepseek-coder-7b-instruct");
    assert_int_equal(fakellm_set_models(f, ids), 0);
    model_ids(f, got, sizeof(got));
    assert_string_equal(got, "qwen2.5-coder,llama-3-8b");
    assert_int_equal(fakellm_set_models(f, none), 0);
    model_ids(f, got, sizeof(got));
    assert_string_equal(got, "");

    http(f, "POST", "/fake/models", "[\"m-a\",\"m-b\",\"m-c\"]", &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    model_ids(f, got, sizeof(got));
    assert_string_equal(got, "m-a,m-b,m-c");
    http(f, "POST", "/fake/models", "[1]", &r);
    assert_int_equal(r.status, 400);
    resp_free(&r);
    model_ids(f, got, sizeof(got));
    assert_string_equal(got, "m-a,m-b,m-c");

    /* A reply without a model in the request names the first model. */
    add(f, (struct fakellm_rule){ .content = "x" });
    http(f, "POST", CHAT, "{}", &r);
    assert_non_null(strstr(r.body, "\"model\":\"m-a\""));
    resp_free(&r);
}

static void test_add_json(void **state)
{
    struct fakellm *f = *state;

    assert_int_equal(fakellm_add_json(f, "{\"content\":\"j\",\"times\":1}"),
                     0);
    assert_int_equal(fakellm_add_json(f, "[]"), 0);
    assert_int_equal(fakellm_add_json(f, "nope"), -EINVAL);
    assert_int_equal(fakellm_add_json(f, "{\"times\":-1}"), -EINVAL);
    assert_int_equal(fakellm_add_json(f, "{\"kind\":\"status\"}"), -EINVAL);
    assert_int_equal(fakellm_add_json(f, "[{\"content\":\"no\"},3]"),
                     -EINVAL);
    expect_content(f, "{}", "j");
}

static void test_start_port(void **state)
{
    struct fakellm *f = NULL, *g = NULL;
    int port;
    char url[64];

    (void)state;
    assert_int_equal(fakellm_start_port(-1, &f), -EINVAL);
    assert_null(f);
    assert_int_equal(fakellm_start(&f), 0);
    port = fakellm_port(f);
    assert_true(port > 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1", port);
    assert_string_equal(fakellm_url(f), url);
    assert_int_equal(fakellm_start_port(port, &g), -EADDRINUSE);
    assert_null(g);
    fakellm_stop(f);
    /* SO_REUSEADDR: the port can be taken again at once. */
    assert_int_equal(fakellm_start_port(port, &g), 0);
    assert_int_equal(fakellm_port(g), port);
    fakellm_stop(g);
    fakellm_stop(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reply_plain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_plain_options, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reply_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_default_chunks, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stream_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_retry_after, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_raw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hang_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hang_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drip_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drip_and_first_delay, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_match_and_times, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paths_and_methods, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_keepalive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_and_auth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expect_continue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_requests, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_models, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_json, setup, teardown),
        cmocka_unit_test(test_start_port),
    };
    int rc;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
