/* test_llm.c -- the LLM client against the fake OpenAI-compatible server.
 *
 * Every test starts its own fakellm on 127.0.0.1, scripts it, and checks
 * what llm_chat or llm_health made of the answer: the error kind, whether
 * it retried, what it sent. Error bodies are the real shapes of LM Studio,
 * llama.cpp's llama-server, Ollama and vLLM.
 *
 * Time bounds are loose on purpose (a busy CI machine); where a test needs
 * "this took at least X", X is what the protocol demands, not a guess.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "fakellm.h"
#include "llm.h"

struct fixture {
    struct fakellm *fake;
    struct llm *llm;
    struct llm_session *s;
    struct llm_config cfg;
};

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Short timeouts and pauses so that the failure paths run quickly. */
static void test_config(struct llm_config *c, const char *url)
{
    llm_config_default(c);
    c->url = url;
    c->connect_timeout_ms = 2000;
    c->idle_timeout_ms = 2000;
    c->total_timeout_ms = 20000;
    c->max_retries = 2;
    c->backoff_initial_ms = 10;
    c->backoff_max_ms = 3000;
}

static int open_client(struct fixture *f)
{
    if (llm_create(&f->cfg, &f->llm) < 0)
        return -1;
    return llm_session_open(f->llm, &f->s) < 0 ? -1 : 0;
}

static void close_client(struct fixture *f)
{
    llm_session_close(f->s);
    llm_free(f->llm);
    f->s = NULL;
    f->llm = NULL;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    if (!f || fakellm_start(&f->fake) < 0)
        return -1;
    test_config(&f->cfg, fakellm_url(f->fake));
    if (open_client(f) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    close_client(f);
    fakellm_stop(f->fake);
    free(f);
    return 0;
}

/* Applies a changed f->cfg. */
static void reopen(struct fixture *f)
{
    close_client(f);
    assert_int_equal(open_client(f), 0);
}

static void add(struct fixture *f, struct fakellm_rule r)
{
    assert_int_equal(fakellm_add(f->fake, &r), 0);
}

static const struct llm_message hello[] = {
    { "system", "You write Python." },
    { "user", "Reverse a list." },
};

static enum llm_err chat(struct fixture *f, struct llm_result *r)
{
    struct llm_request req = { .messages = hello, .nmessages = 2 };

    return llm_chat(f->s, &req, r);
}

static enum llm_err chat_mode(struct fixture *f, enum llm_stream mode,
                              struct llm_result *r)
{
    struct llm_request req = { .messages = hello, .nmessages = 2,
                               .stream = mode };

    return llm_chat(f->s, &req, r);
}

/* Asserts the kind by name, so a failure prints both names. */
#define assert_kind(got, want) \
    assert_string_equal(llm_err_name(got), llm_err_name(want))

/* ---- answers ------------------------------------------------------------- */

static void test_plain_answer(void **state)
{
    struct fixture *f = *state;
    struct llm_result r;
    const char *text = "def rev(xs):\n    return xs[::-1]\n";

    add(f, (struct fakellm_rule){ .kind = FAKE_REPLY, .content = text });
    assert_kind(chat_mode(f, LLM_STREAM_OFF, &r), LLM_OK);
    assert_string_equal(r.content, text);
    assert_string_equal(r.finish_reason, "stop");
    assert_string_equal(r.error, "");
    assert_int_equal(r.attempts, 1);
    assert_int_equal(r.http_status, 200);
    assert_int_equal(r.usage_estimated, 0);
    assert_true(r.prompt_tokens > 0 && r.completion_tokens > 0);
    llm_result_free(&r);

    char *body = fakellm_request_body(f->fake, 0);
    cJSON *j = cJSON_Parse(body);
    assert_non_null(j);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(j, "stream")));
    cJSON_Delete(j);
    free(body);
}

static void test_streamed_answer(void **state)
{
    struct fixture *f = *state;
    struct llm_result r;
    /* Multi-byte characters split across 3-byte chunks. */
    const char *text = "# r\xc3\xa9sum\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x99\x82\n"
                       "print(list(reversed([1, 2, 3])))\n";

    add(f, (struct fakellm_rule){ .kind = FAKE_REPLY, .content = text,
                                  .chunk_bytes = 3 });
    assert_kind(chat(f, &r), LLM_OK);
    assert_string_equal(r.content, text);
    assert_string_equal(r.finish_reason, "stop");
    assert_int_equal(r.usage_estimated, 0);
    llm_result_free(&r);

    char *body = fakellm_request_body(f->fake, 0);
    cJSON *j = cJSON_Parse(body);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "stream")));
    cJSON_Delete(j);
    free(body);
}

static void test_usage_estimated_without_usage(void **state)
{
    struct fixture *f = *state;
    struct llm_result r;

    add(f, (struct fakellm_rule){ .kind = FAKE_REPLY, .no_usage = 1,
                                  .content = "print(1)\n" });
    assert_kind(chat(f, &r), LLM_OK);
    assert_int_equal(r.usage_estimated, 1);
    assert_int_equal(r.prompt_tokens, llm_estimate_tokens(&(struct llm_request){
                                          .messages = hello, .nmessages = 2 }));
    assert_int_equal(r.completion_tokens, llm_estimate_text_tokens(
                                              "print(1)\n"));
    llm_result_free(&r);
}

static void test_request_fields(void **state)
{
    struct fixture *f = *state;
    const char *stops[] = { "```\n\n", "<|EOT|>" };
    struct llm_request req = {
        .messages = hello, .nmessages = 2, .temperature = 0.0,
        .use_temperature = 1, .max_tokens = 77, .stop = stops, .nstop = 2,
        .seed = 42, .use_seed = 1,
    };
    struct llm_result r;

    f->cfg.api_key = "sk-test-123";
    reopen(f);
    add(f, (struct fakellm_rule){ .kind = FAKE_REPLY, .content = "x = 1\n" });
    assert_kind(llm_chat(f->s, &req, &r), LLM_OK);
    llm_result_free(&r);

    char *body = fakellm_request_body(f->fake, 0);
    char *auth = fakellm_request_auth(f->fake, 0);
    cJSON *j = cJSON_Parse(body);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "model")->valuestring,
                        "deepseek-coder-7b-instruct");
    assert_true(cJSON_GetObjectItem(j, "temperature")->valuedouble == 0.0);
    assert_int_equal(cJSON_GetObjectItem(j, "max_tokens")->valueint, 77);
    assert_int_equal(cJSON_GetObjectItem(j, "seed")->valueint, 42);
    cJSON *stop = cJSON_GetObjectItem(j, "stop");
    assert_int_equal(cJSON_GetArraySize(stop), 2);
    assert_string_equal(cJSON_GetArrayItem(stop, 1)->valuestring, "<|EOT|>");
    cJSON *msgs = cJSON_GetObjectItem(j, "messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 2);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 1), "content")
            ->valuestring, "Reverse a list.");
    assert_null(cJSON_GetObjectItem(j, "response_format"));
    assert_string_equal(auth, "Bearer sk-test-123");
    cJSON_Delete(j);
    free(body);
    free(auth);
}

static void test_no_api_key_no_header(void **state)
{
    struct fixture *f = *state;
    struct llm_result r;

    add(f, (struct fakellm_rule){ .kind = FAKE_REPLY, .content = "x = 1\n" });
    assert_kind(chat(f, &r), LLM_OK);
    llm_result_free(&r);
    assert_null(fakellm_request_auth(f->fake, 0));
}

static void test_keep_alive(void **state)
{
    struct fixture *f = *state;
    struct llm_result r;

    add(f, (struct fakellm_rule){ .kind = FAKE_REPLY, .content = "y = 2\n" });
    for (int i = 0; i < 5; i++) {
        assert_kind(chat_mode(f, i % 2 ? LLM_STREAM_ON : LLM_STREAM_OFF, &r),
                    LLM_OK);
        llm_result_free(&r);
    }
    assert_int_equal(fakellm_requests(f->fake), 5);
    assert_int_equal(fakellm_connections(f->fake), 1);
}

static void test_slow_drip_within_idle(void **state)
{
    struct fixture *f = *state;
    struct llm_result r;
    const char *text = "for i in range(3):\n    print(i)\n";   /* 8 chunks */

    /* 8 gaps of 400 ms: 3.2 s in all, longer than the 1 s idle timeout,
     * but no single silence is: streaming keeps a slow model alive. */
    f->cfg.idle_timeout_ms = 1000;
    reopen(f);
    add(f, (struct fakellm_rule){ .kind = FAKE_REPLY, .content = text,
                                  .chunk_bytes = 4, .delay_ms = 400 });
    double t0 = now_ms();
    assert_kind(chat(f, &r), LLM_OK);
    assert_true(now_ms() - t0 >= 2500);
    assert_string_equal(r.content, text);
    llm_result_free(&r);
}

static void test_idle_timeout(void **state)
{
    struct fixture *f = *state;
    struct llm_result r;

    f->cfg.idle_timeout_ms = 300;
    f->cfg.max_retries = 0;
    reopen(f);
    add(f, (struct fakellm_rule){ .kind = FAKE_HANG });
    double t0 = now_ms();
    assert_kind(chat(f, &r), LLM_E_IDLE_TIMEOUT);
    double took = now_ms() - t0;
    assert_true(took >= 290 && took < 5000);
    assert_non_null(strstr(r.error, "idle"));
    llm_result_free(&r);
}

static void test_idle_timeout_retried(void **state)
{
    struct fixture *f = *state;
    struct llm_result r;

    f->cfg.idle_timeout_ms = 300;
    reopen(f);
    add(f, (struct fakellm_rule){ .kind = FAKE_HANG, .times = 1 });
    add(f, (struct fakellm_rule){ .kind = FAKE_REPLY, .content = "z = 3\n" });
    assert_kind(chat(f, &r), LLM_OK);
    assert_int_equal(r.attempts, 2);
    assert_string_equal(r.content, "z = 3\n");
    llm_result_free(&r);
}

static void test_total_cap(void **state)
{
    struct fixture *f = *state;
    struct llm_result r;

    /* Bytes keep coming (no idle timeout) but the whole takes too long. */
    f->cfg.total_timeout_ms = 600;
    reopen(f);
    add(f, (struct fakellm_rule){ .kind = FAKE_REPLY,
                                  .content = "0123456789abcdefghij",
                                  .chunk_bytes = 1, .delay_ms = 100 });
    double t0 = now_ms();
    assert_kind(chat(f, &r), LLM_E_TOTAL_TIMEOUT);
    assert_true(now_ms() - t0 < 5000);
    assert_int_equal(r.attempts, 1);        /* the cap is not retried */
    llm_result_free(&r);
}

/* ---- errors by status --------------------------------------------------- */

struct status_case {
    const char *server;
    int status;
    const char *body;
    enum llm_err want;
    const char *says;       /* a piece of the server's message we keep */
};

static const struct status_case status_cases[] = {
    { "LM Studio, no model loaded", 404,
      "{\"error\":{\"message\":\"No models loaded. Please load a model in the "
      "developer page or use the `lms load` command.\",\"type\":"
      "\"invalid_request_error\",\"param\":\"model\",\"code\":"
      "\"model_not_found\"}}", LLM_E_NO_MODEL, "No models loaded" },
    { "Ollama, model not pulled", 404,
      "{\"error\":\"model \\\"deepseek-coder\\\" not found, try pulling it "
      "first\"}", LLM_E_NO_MODEL, "try pulling it" },
    { "vLLM, wrong model", 404,
      "{\"object\":\"error\",\"message\":\"The model `x` does not exist.\","
      "\"type\":\"NotFoundError\",\"param\":null,\"code\":404}",
      LLM_E_NO_MODEL, "does not exist" },
    { "wrong path", 404, "{\"detail\":\"Not Found\"}", LLM_E_NOT_FOUND,
      "Not Found" },
    { "vLLM, context", 400,
      "{\"object\":\"error\",\"message\":\"This model's maximum context "
      "length is 4096 tokens. However, you requested 5200 tokens (4176 in "
      "the messages, 1024 in the completion).\",\"type\":"
      "\"BadRequestError\",\"param\":null,\"code\":400}", LLM_E_CONTEXT,
      "maximum context length" },
    { "llama-server, context", 400,
      "{\"error\":{\"code\":400,\"message\":\"the request exceeds the "
      "available context size, try increasing it\",\"type\":"
      "\"exceed_context_size_error\",\"n_prompt_tokens\":5000,\"n_ctx\":"
      "4096}}", LLM_E_CONTEXT, "available context size" },
    { "OpenAI shape, context", 400,
      "{\"error\":{\"message\":\"Please reduce the length of the "
      "messages.\",\"type\":\"invalid_request_error\",\"code\":"
      "\"context_length_exceeded\"}}", LLM_E_CONTEXT, "reduce the length" },
    { "LM Studio, context overflow", 400,
      "{\"error\":\"Trying to keep the first 4410 tokens when context the "
      "overflows. However, the model is loaded with context length of only "
      "4096 tokens, which is not enough.\"}", LLM_E_CONTEXT,
      "context length of only" },
    { "bad request", 400,
      "{\"error\":{\"message\":\"'messages' must be an array\",\"type\":"
      "\"invalid_request_error\"}}", LLM_E_BAD_REQUEST, "must be an array" },
    { "auth", 401,
      "{\"error\":{\"message\":\"Incorrect API key provided\",\"type\":"
      "\"invalid_request_error\",\"code\":\"invalid_api_key\"}}",
      LLM_E_AUTH, "Incorrect API key" },
    { "plain-text body", 400, "Bad Request: oops", LLM_E_BAD_REQUEST,
      "oops" },
};

static void test_status_errors(void **state)
{
    struct fixture *f = *state;

    for (size_t i = 0; i < sizeof status_cases / sizeof *status_cases; i++) {
        const struct status_case *c = &status_cases[i];
        struct llm_result r;

        fakellm_clear(f->fake);
        add(f, (struct fakellm_rule){ .kind = FAKE_STATUS,
                                      .status = c->status, .body = c->body });
        enum llm_err got = chat(f, &r);
        if (got != c->want || !strstr(r.error, c->says))
            fail_msg("%s: got %s \"%s\", want %s with \"%s\"", c->server,
                     llm_err_name(got), r.error, llm_err_name(c->want),
                     c->says);
        /* None of these is transient: one request each. */
        assert_int_equal(r.attempts, 1);
        assert_int_equal(r.http_status, c->status);
        llm_result_free(&r);
    }
    assert_int_equal(fakellm_requests(f->fake),
                     sizeof status_cases / sizeof *status_cases);
}

static void test_loading_then_ok(void **state)
{
    struct fixture *f = *state;
    struct llm_result r;

    add(f, (struct fakellm_rule){ .kind = FAKE_STATUS, .status = 503,
        .times = 2, .body = "{\"error\":{\"message\":\"Loading model\","
                            "\"type\":\"unavailable_error\",\"code\":503}}" });
    add(f, (struct fakellm_rule){ .kind = FAKE_REPLY, .content = "ok = 1\n" });
    assert_kind(chat(f, &r), LLM_OK);
    assert_int_equal(r.attempts, 3);
    assert_string_equal(r.content, "ok = 1\n");
    llm_result_free(&r);
}

static void test_transient_gives_up(void **state)
{
    static const struct {
        int status;
        enum llm_err want;
    } cases[] = { { 503, LLM_E_LOADING }, { 500, LLM_E_SERVER },
                  { 502, LLM_E_SERVER }, { 429, LLM_E_RATE_LIMITED } };
    struct fixture *f = *state;

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct llm_result r;
        unsigned before = fakellm_requests(f->fake);

        fakellm_clear(f->fake);
        add(f, (struct fakellm_rule){ .kind = FAKE_STATUS,
            .status = cases[i].status,
            .body = "{\"error\":{\"message\":\"busy\"}}" });
        assert_kind(chat(f, &r), cases[i].want);
        /* max_retries 2: three requests, then the error is returned. */
        assert_int_equal(r.attempts, 3);
        assert_int_equal(fakellm_requests(f->fake) - before, 3);
        assert_non_null(strstr(r.error, "busy"));
        llm_result_free(&r);
    }
}

static void test_retry_after(void **state)
{
    struct fixture *f = *state;
    struct llm_result r;

    add(f, (struct fakellm_rule){ .kind = FAKE_STATUS, .status = 429,
        .times = 1, .retry_after_s = 1,
        .body = "{\"error\":{\"message\":\"Rate limit reached\","
                "\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}" });
    add(f, (struct fakellm_rule){ .kind = FAKE_REPLY, .content = "a = 1\n" });
    double t0 = now_ms();
    assert_kind(chat(f, &r), LLM_OK);
    /* Backoff alone would pause 5-10 ms; the server asked for 1 s. */
    assert_true(now_ms() - t0 >= 950);
    assert_int_equal(r.attempts, 2);
    llm_result_free(&r);
}

/* ---- errors inside a 200 -------------------------------------------------- */

static void test_error_in_200(void **state)
{
    struct fixture *f = *state;
    struct llm_result r;
    const char *bodies[] = {
        /* a plain body that is an error object */
        NULL,
        /* an error event in the stream (llama-server mid-generation) */
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}"
        "\n\ndata: {\"error\":{\"code\":500,\"message\":\"slot "
        "unavailable\",\"type\":\"server_error\"}}\n\n",
        /* a bare error: line */
        ": ping\n\nerror: {\"message\":\"slot unavailable\"}\n\n",
    };

    f->cfg.max_retries = 0;
    reopen(f);
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        fakellm_clear(f->fake);
        if (bodies[i])
            add(f, (struct fakellm_rule){ .kind = FAKE_RAW,
                                          .body = bodies[i] });
        else
            add(f, (struct fakellm_rule){ .kind = FAKE_STATUS,
                .status = 200,
                .body = "{\"error\":{\"message\":\"slot unavailable\"}}" });
        assert_kind(chat(f, &r), LLM_E_IN_BAND);
        assert_non_null(strstr(r.error, "slot unavailable"));
        llm_result_free(&r);
    }
}

static void test_error_in_200_retried(void **state)
{
    struct fixture *f = *state;
    struct llm_result r;

    add(f, (struct fakellm_rule){ .kind = FAKE_RAW, .times = 1,
        .body = "data: {\"error\":{\"message\":\"oops\"}}\n\n" });
    add(f, (struct fakellm_rule){ .kind = FAKE_REPLY, .content = "b = 2\n" });
    assert_kind(chat(f, &r), LLM_OK);
    assert_int_equal(r.attempts, 2);
    llm_result_free(&r);
}

static void test_empty_content(void **state)
{
    struct fixture *f = *state;
    struct llm_result r;

    add(f, (struct fakellm_rule){ .kind = FAKE_REPLY, .content = "" });
    assert_kind(chat(f, &r), LLM_E_EMPTY);
    assert_int_equal(r.attempts, 3);        /* transient: retried */
    assert_null(r.content);
    llm_result_free(&r);
}

static void test_truncated(void **state)
{
    struct fixture *f = *state;
    struct llm_result r;

    add(f, (struct fakellm_rule){ .kind = FAKE_REPLY,
                                  .content = "def f(x):\n    return",
                                  .finish_reason = "length" });
    for (int mode = 0; mode < 2; mode++) {
        assert_kind(chat_mode(f, mode ? LLM_STREAM_ON : LLM_STREAM_OFF, &r),
                    LLM_E_TRUNCATED);
        assert_int_equal(r.attempts, 1);    /* the same prompt would be cut
                                               again: not retried */
        assert_string_equal(r.content, "def f(x):\n    return");
        assert_string_equal(r.finish_reason, "length");
        llm_result_free(&r);
    }
}

/* ---- broken connections and bodies ---------------------------------------- */

static int closed_port(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);          /* nobody listens there now */
    return ntohs(a.sin_port);
}

static void test_refused(void **state)
{
    struct fixture *f = *state;
    struct llm_result r;
    char url[64];

    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", closed_port());
    f->cfg.url = url;
    reopen(f);
    double t0 = now_ms();
    assert_kind(chat(f, &r), LLM_E_REFUSED);
    assert_int_equal(r.attempts, 3);
    assert_true(now_ms() - t0 < 5000);
    llm_result_free(&r);
}

static void test_reset(void **state)
{
    struct fixture *f = *state;
    struct llm_result r;

    add(f, (struct fakellm_rule){ .kind = FAKE_RESET, .times = 1 });
    add(f, (struct fakellm_rule){ .kind = FAKE_REPLY, .content = "c = 3\n" });
    assert_kind(chat(f, &r), LLM_OK);
    assert_int_equal(r.attempts, 2);
    llm_result_free(&r);

    f->cfg.max_retries = 0;
    reopen(f);
    fakellm_clear(f->fake);
    add(f, (struct fakellm_rule){ .kind = FAKE_RESET });
    assert_kind(chat(f, &r), LLM_E_RESET);
    llm_result_free(&r);
}

static void test_cut_stream(void **state)
{
    struct fixture *f = *state;
    struct llm_result r;

    f->cfg.max_retries = 0;
    reopen(f);
    /* The connection closes in the middle of the chunked body. */
    add(f, (struct fakellm_rule){ .kind = FAKE_CUT, .cut_after = 120,
                                  .content = "print('a long answer')\n" });
    assert_kind(chat(f, &r), LLM_E_RESET);
    llm_result_free(&r);

    /* A stream that ends cleanly but never finishes its answer. */
    fakellm_clear(f->fake);
    add(f, (struct fakellm_rule){ .kind = FAKE_RAW,
        .body = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":"
                "\"print(\"}}]}\n\n" });
    assert_kind(chat(f, &r), LLM_E_PROTOCOL);
    assert_non_null(strstr(r.error, "ended early"));
    llm_result_free(&r);

    /* No [DONE], but a finish_reason: complete (Ollama's older streams). */
    fakellm_clear(f->fake);
    add(f, (struct fakellm_rule){ .kind = FAKE_REPLY, .no_done = 1,
                                  .content = "d = 4\n" });
    assert_kind(chat(f, &r), LLM_OK);
    assert_string_equal(r.content, "d = 4\n");
    llm_result_free(&r);
}

static void test_garbage(void **state)
{
    struct fixture *f = *state;
    struct llm_result r;

    f->cfg.max_retries = 0;
    reopen(f);
    add(f, (struct fakellm_rule){ .kind = FAKE_GARBAGE,
                                  .body = "<html>502 Bad Gateway</html>" });
    assert_kind(chat_mode(f, LLM_STREAM_OFF, &r), LLM_E_PROTOCOL);
    assert_non_null(strstr(r.error, "not JSON"));
    llm_result_free(&r);

    fakellm_clear(f->fake);
    add(f, (struct fakellm_rule){ .kind = FAKE_RAW,
                                  .body = "data: {not json\n\n" });
    assert_kind(chat(f, &r), LLM_E_PROTOCOL);
    llm_result_free(&r);
}

/* ---- structured output -------------------------------------------------------- */

static const char *schema =
    "{\"type\":\"object\",\"properties\":{\"lesson\":{\"type\":\"string\"},"
    "\"skills\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}},"
    "\"required\":[\"lesson\",\"skills\"]}";

static enum llm_err chat_json(struct fixture *f, struct llm_result *r)
{
    struct llm_request req = { .messages = hello, .nmessages = 2,
                               .schema = schema, .schema_name = "reflection" };

    return llm_chat(f->s, &req, r);
}

static void test_json_schema_accepted(void **state)
{
    struct fixture *f = *state;
    struct llm_result r;

    add(f, (struct fakellm_rule){ .kind = FAKE_REPLY,
        .content = "{\"lesson\":\"slices\",\"skills\":[\"lists\"]}" });
    assert_kind(chat_json(f, &r), LLM_OK);
    assert_string_equal(r.response_format, "json_schema");
    assert_string_equal(
        cJSON_GetObjectItem(r.json, "lesson")->valuestring, "slices");
    llm_result_free(&r);

    char *body = fakellm_request_body(f->fake, 0);
    cJSON *j = cJSON_Parse(body);
    cJSON *rf = cJSON_GetObjectItem(j, "response_format");
    assert_string_equal(cJSON_GetObjectItem(rf, "type")->valuestring,
                        "json_schema");
    cJSON *js = cJSON_GetObjectItem(rf, "json_schema");
    assert_string_equal(cJSON_GetObjectItem(js, "name")->valuestring,
                        "reflection");
    assert_non_null(cJSON_GetObjectItem(
        cJSON_GetObjectItem(js, "schema"), "required"));
    cJSON_Delete(j);
    free(body);
}

static void test_json_schema_fallback(void **state)
{
    struct fixture *f = *state;
    struct llm_result r;

    /* A server that knows neither json_schema nor json_object: it gets
     * json_schema, then json_object, then no response_format at all. */
    add(f, (struct fakellm_rule){ .kind = FAKE_STATUS, .status = 400,
        .match = "\"json_schema\"",
        .body = "{\"error\":\"'response_format.type' must be 'text'\"}" });
    add(f, (struct fakellm_rule){ .kind = FAKE_STATUS, .status = 400,
        .match = "\"json_object\"",
        .body = "{\"error\":\"'response_format.type' must be 'text'\"}" });
    add(f, (struct fakellm_rule){ .kind = FAKE_REPLY,
        .content = "<think>The user wants a reflection.</think>\nSure! Here "
                   "it is:\n```json\n{\"lesson\": \"use slices\", "
                   "\"skills\": [\"lists\", \"slicing\"]}\n```\nHope this "
                   "helps." });
    assert_kind(chat_json(f, &r), LLM_OK);
    assert_int_equal(r.attempts, 3);
    assert_string_equal(r.response_format, "none");
    assert_string_equal(
        cJSON_GetObjectItem(r.json, "lesson")->valuestring, "use slices");
    llm_result_free(&r);

    /* The client remembers: the next call goes straight to "none". */
    assert_kind(chat_json(f, &r), LLM_OK);
    assert_int_equal(r.attempts, 1);
    assert_string_equal(r.response_format, "none");
    llm_result_free(&r);
    assert_int_equal(fakellm_requests(f->fake), 4);
}

static void test_json_object_fallback(void **state)
{
    struct fixture *f = *state;
    struct llm_result r;

    add(f, (struct fakellm_rule){ .kind = FAKE_STATUS, .status = 400,
        .match = "\"json_schema\"",
        .body = "{\"error\":{\"message\":\"json_schema not supported\"}}" });
    add(f, (struct fakellm_rule){ .kind = FAKE_REPLY,
        .content = "{\"lesson\":\"x\",\"skills\":[]}" });
    assert_kind(chat_json(f, &r), LLM_OK);
    assert_string_equal(r.response_format, "json_object");
    assert_int_equal(r.attempts, 2);
    llm_result_free(&r);
}

static void test_json_missing_field(void **state)
{
    struct fixture *f = *state;
    struct llm_result r;

    add(f, (struct fakellm_rule){ .kind = FAKE_REPLY, .times = 1,
        .content = "{\"lesson\":\"x\",\"skills\":null}" });
    assert_kind(chat_json(f, &r), LLM_E_MISSING_FIELD);
    assert_non_null(strstr(r.error, "\"skills\""));
    assert_non_null(r.content);             /* kept for the log */
    assert_non_null(r.json);
    llm_result_free(&r);

    add(f, (struct fakellm_rule){ .kind = FAKE_REPLY,
        .content = "I cannot answer that in JSON, sorry." });
    assert_kind(chat_json(f, &r), LLM_E_BAD_JSON);
    assert_int_equal(r.attempts, 1);
    assert_string_equal(r.content, "I cannot answer that in JSON, sorry.");
    llm_result_free(&r);
}

/* ---- budget ---------------------------------------------------------------- */

static void test_budget(void **state)
{
    struct fixture *f = *state;
    size_t n = 20000;
    char *big = malloc(n + 1);
    struct llm_result r;

    memset(big, 'x', n);
    big[n] = '\0';
    struct llm_message m[] = { { "user", big } };
    struct llm_request req = { .messages = m, .nmessages = 1 };

    assert_true(llm_estimate_tokens(&req) > 4096);
    assert_kind(llm_chat(f->s, &req, &r), LLM_E_BUDGET);
    assert_non_null(strstr(r.error, "4096"));
    assert_int_equal(r.attempts, 0);
    assert_int_equal(fakellm_requests(f->fake), 0);
    llm_result_free(&r);

    /* Just fits: the budget is context minus the answer's max_tokens. */
    unsigned budget = llm_prompt_budget(f->llm, 0);
    assert_int_equal(budget, 4096 - 1024);
    big[3 * (budget - 20)] = '\0';
    add(f, (struct fakellm_rule){ .kind = FAKE_REPLY, .content = "e = 5\n" });
    assert_true(llm_estimate_tokens(&req) <= budget);
    assert_kind(llm_chat(f->s, &req, &r), LLM_OK);
    llm_result_free(&r);
    free(big);
}

/* ---- health --------------------------------------------------------------------- */

static void test_health(void **state)
{
    struct fixture *f = *state;
    struct llm_health h;
    const char *other[] = { "qwen2.5-coder-7b-instruct", "llama-3-8b", NULL };
    const char *none[] = { NULL };
    const char *prefixed[] = { "lmstudio-community/deepseek-coder-7b-instruct",
                               NULL };

    assert_kind(llm_health(f->s, &h), LLM_OK);
    assert_int_equal(h.reachable, 1);
    assert_int_equal(h.model_listed, 1);
    assert_int_equal(h.nmodels, 1);
    assert_string_equal(h.error, "");

    assert_int_equal(fakellm_set_models(f->fake, other), 0);
    assert_kind(llm_health(f->s, &h), LLM_E_NO_MODEL);
    assert_int_equal(h.reachable, 1);
    assert_int_equal(h.model_listed, 0);
    assert_non_null(strstr(h.error, "deepseek-coder-7b-instruct"));
    assert_non_null(strstr(h.error, "qwen2.5-coder-7b-instruct, llama-3-8b"));

    assert_int_equal(fakellm_set_models(f->fake, none), 0);
    assert_kind(llm_health(f->s, &h), LLM_E_NO_MODEL);
    assert_non_null(strstr(h.error, "no models"));

    assert_int_equal(fakellm_set_models(f->fake, prefixed), 0);
    assert_kind(llm_health(f->s, &h), LLM_OK);

    add(f, (struct fakellm_rule){ .kind = FAKE_STATUS, .method = "GET",
        .path = "/v1/models", .status = 503,
        .body = "{\"error\":{\"message\":\"Loading model\"}}" });
    assert_kind(llm_health(f->s, &h), LLM_E_LOADING);
    assert_int_equal(h.reachable, 1);
}

static void test_health_refused(void **state)
{
    struct fixture *f = *state;
    struct llm_health h;
    char url[64];

    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", closed_port());
    f->cfg.url = url;
    reopen(f);
    assert_kind(llm_health(f->s, &h), LLM_E_REFUSED);
    assert_int_equal(h.reachable, 0);
    assert_true(strlen(h.error) > 0);
}

/* ---- cancellation ------------------------------------------------------------- */

struct canceller {
    struct llm *llm;
    unsigned delay_ms;
};

static void *cancel_later(void *arg)
{
    struct canceller *c = arg;

    usleep(c->delay_ms * 1000);
    llm_cancel(c->llm);
    return NULL;
}

static void test_cancel_in_flight(void **state)
{
    struct fixture *f = *state;
    struct llm_result r;
    pthread_t t;

    f->cfg.idle_timeout_ms = 30000;
    reopen(f);
    add(f, (struct fakellm_rule){ .kind = FAKE_HANG });
    struct canceller c = { f->llm, 200 };
    assert_int_equal(pthread_create(&t, NULL, cancel_later, &c), 0);
    double t0 = now_ms();
    assert_kind(chat(f, &r), LLM_E_CANCELLED);
    assert_true(now_ms() - t0 < 3000);
    pthread_join(t, NULL);
    llm_result_free(&r);

    /* Later calls end at once, without a request. */
    unsigned before = fakellm_requests(f->fake);
    assert_kind(chat(f, &r), LLM_E_CANCELLED);
    assert_int_equal(fakellm_requests(f->fake), before);
    llm_result_free(&r);
}

static void test_cancel_in_backoff(void **state)
{
    struct fixture *f = *state;
    struct llm_result r;
    pthread_t t;

    f->cfg.backoff_initial_ms = 20000;
    f->cfg.backoff_max_ms = 20000;
    reopen(f);
    add(f, (struct fakellm_rule){ .kind = FAKE_STATUS, .status = 503,
                                  .body = "{\"error\":\"loading\"}" });
    struct canceller c = { f->llm, 300 };
    assert_int_equal(pthread_create(&t, NULL, cancel_later, &c), 0);
    double t0 = now_ms();
    assert_kind(chat(f, &r), LLM_E_CANCELLED);
    assert_true(now_ms() - t0 < 5000);
    assert_int_equal(r.attempts, 1);
    pthread_join(t, NULL);
    llm_result_free(&r);
}

/* ---- usage and threads ------------------------------------------------------ */

static void test_usage(void **state)
{
    struct fixture *f = *state;
    struct llm_result r;
    struct llm_usage u;

    f->cfg.max_retries = 0;
    reopen(f);
    add(f, (struct fakellm_rule){ .kind = FAKE_REPLY, .times = 2,
                                  .content = "f = 6\n" });
    add(f, (struct fakellm_rule){ .kind = FAKE_STATUS, .status = 404,
        .body = "{\"error\":{\"message\":\"model not found\"}}" });
    for (int i = 0; i < 3; i++) {
        chat(f, &r);
        llm_result_free(&r);
    }
    llm_usage_get(f->llm, &u);
    assert_int_equal(u.calls, 3);
    assert_int_equal(u.requests, 3);
    assert_int_equal(u.ok, 2);
    assert_int_equal(u.errors[LLM_E_NO_MODEL], 1);
    assert_true(u.prompt_tokens > 0 && u.completion_tokens > 0);
    assert_true(u.latency_ms_total > 0);

    cJSON *j = llm_usage_json(&u);
    assert_non_null(j);
    assert_int_equal(cJSON_GetObjectItem(j, "calls")->valueint, 3);
    assert_int_equal(cJSON_GetObjectItem(j, "ok")->valueint, 2);
    cJSON *errors = cJSON_GetObjectItem(j, "errors");
    assert_int_equal(cJSON_GetArraySize(errors), 1);
    assert_int_equal(cJSON_GetObjectItem(errors, "no_model")->valueint, 1);
    assert_non_null(cJSON_GetObjectItem(j, "latency_ms_mean"));
    cJSON_Delete(j);
}

struct worker {
    struct llm *llm;
    int ok;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    struct llm_session *s;

    if (llm_session_open(w->llm, &s) < 0)
        return NULL;
    for (int i = 0; i < 20; i++) {
        struct llm_result r;
        struct llm_request req = { .messages = hello, .nmessages = 2 };
        if (llm_chat(s, &req, &r) == LLM_OK &&
            strcmp(r.content, "g = 7\n") == 0)
            w->ok++;
        llm_result_free(&r);
    }
    llm_session_close(s);
    return NULL;
}

static void test_threads(void **state)
{
    struct fixture *f = *state;
    struct worker w[4];
    pthread_t t[4];
    struct llm_usage u;

    add(f, (struct fakellm_rule){ .kind = FAKE_REPLY, .content = "g = 7\n" });
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){ f->llm, 0 };
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].ok, 20);
    }
    llm_usage_get(f->llm, &u);
    assert_int_equal(u.calls, 80);
    assert_int_equal(u.ok, 80);
}

/* ---- names and configuration ----------------------------------------------- */

static void test_names(void **state)
{
    (void)state;
    for (int i = 0; i < LLM_E__COUNT; i++) {
        const char *a = llm_err_name((enum llm_err)i);
        assert_non_null(a);
        assert_true(strlen(a) > 1);
        assert_string_not_equal(a, "unknown");
        for (int j = 0; j < i; j++)
            assert_string_not_equal(a, llm_err_name((enum llm_err)j));
    }
    assert_string_equal(llm_err_name(LLM_E__COUNT), "unknown");
    assert_true(llm_err_transient(LLM_E_LOADING));
    assert_false(llm_err_transient(LLM_E_CONTEXT));
    assert_false(llm_err_transient(LLM_E_TRUNCATED));
    assert_false(llm_err_transient(LLM_E_NO_MODEL));
}

static void test_create_checks(void **state)
{
    struct llm_config c;
    struct llm *llm;

    (void)state;
    llm_config_default(&c);
    assert_string_equal(c.url, "http://localhost:1234/v1");
    assert_string_equal(c.model, "deepseek-coder-7b-instruct");
    c.url = "ftp://example/v1";
    assert_int_equal(llm_create(&c, &llm), -EINVAL);
    assert_null(llm);
    c.url = "http://localhost:1234/v1";
    c.model = "";
    assert_int_equal(llm_create(&c, &llm), -EINVAL);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_plain_answer),
        T(test_streamed_answer),
        T(test_usage_estimated_without_usage),
        T(test_request_fields),
        T(test_no_api_key_no_header),
        T(test_keep_alive),
        T(test_slow_drip_within_idle),
        T(test_idle_timeout),
        T(test_idle_timeout_retried),
        T(test_total_cap),
        T(test_status_errors),
        T(test_loading_then_ok),
        T(test_transient_gives_up),
        T(test_retry_after),
        T(test_error_in_200),
        T(test_error_in_200_retried),
        T(test_empty_content),
        T(test_truncated),
        T(test_refused),
        T(test_reset),
        T(test_cut_stream),
        T(test_garbage),
        T(test_json_schema_accepted),
        T(test_json_schema_fallback),
        T(test_json_object_fallback),
        T(test_json_missing_field),
        T(test_budget),
        T(test_health),
        T(test_health_refused),
        T(test_cancel_in_flight),
        T(test_cancel_in_backoff),
        T(test_usage),
        T(test_threads),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_create_checks),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
