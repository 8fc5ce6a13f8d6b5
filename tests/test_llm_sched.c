/* test_llm_sched.c -- the LLM client as real local servers need it: one
 * queue with slots and priorities, several endpoints, the server's own
 * context, silent truncation, prompt-cache figures and model names.
 *
 * Every test runs fakellm servers in llama-server's shapes (one slot, a
 * small context, /props, timings) and checks what the client did.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "fakellm.h"
#include "llm.h"
#include "llm_sched.h"

#define MAX_FAKES 4

struct fixture {
    struct fakellm *fake[MAX_FAKES];
    unsigned nfake;
    char urls[512];
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

static void open_client(struct fixture *f)
{
    assert_int_equal(llm_create(&f->cfg, &f->llm), 0);
    assert_int_equal(llm_session_open(f->llm, &f->s), 0);
}

static void close_client(struct fixture *f)
{
    llm_session_close(f->s);
    llm_free(f->llm);
    f->s = NULL;
    f->llm = NULL;
}

/* n fakes, and a client configured for all of them. */
static void start(struct fixture *f, unsigned n)
{
    f->nfake = n;
    f->urls[0] = '\0';
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(fakellm_start(&f->fake[i]), 0);
        if (i)
            strcat(f->urls, ",");
        strcat(f->urls, fakellm_url(f->fake[i]));
    }
    llm_config_default(&f->cfg);
    f->cfg.url = f->urls;
    f->cfg.connect_timeout_ms = 2000;
    f->cfg.idle_timeout_ms = 2000;
    f->cfg.total_timeout_ms = 20000;
    f->cfg.max_retries = 2;
    f->cfg.backoff_initial_ms = 10;
    f->cfg.backoff_max_ms = 200;
    open_client(f);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);

    if (!f)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    close_client(f);
    for (unsigned i = 0; i < f->nfake; i++)
        fakellm_stop(f->fake[i]);
    free(f);
    return 0;
}

static void add(struct fakellm *fake, struct fakellm_rule r)
{
    assert_int_equal(fakellm_add(fake, &r), 0);
}

static void server(struct fakellm *fake, struct fakellm_server srv)
{
    assert_int_equal(fakellm_set_server(fake, &srv), 0);
}

/* One call on its own session, in its own thread. */
struct caller {
    struct llm *llm;
    const char *name;
    enum llm_priority prio;
    const char *text;               /* the user message                   */
    unsigned delay_ms;              /* before calling                     */
    enum llm_err err;
    char error[512];
    double done_ms;                 /* when the answer was whole          */
    int endpoint;
};

static void *call(void *arg)
{
    struct caller *c = arg;
    struct llm_session *s;
    struct llm_result r;
    struct llm_message m[2] = { { "system", "You write Python." },
                                { "user", c->text } };
    struct llm_request req = { .messages = m, .nmessages = 2,
                               .priority = c->prio };

    if (c->delay_ms)
        usleep(c->delay_ms * 1000);
    if (llm_session_open(c->llm, &s) < 0) {
        c->err = LLM_E_NOMEM;
        return NULL;
    }
    llm_session_set_name(s, c->name);
    c->err = llm_chat(s, &req, &r);
    snprintf(c->error, sizeof c->error, "%s", r.error);
    c->endpoint = r.endpoint;
    c->done_ms = now_ms();
    llm_result_free(&r);
    llm_session_close(s);
    return NULL;
}

/* ---- one slot ------------------------------------------------------------- */

/* Two calls against a one-slot server whose answers take longer than the
 * idle timeout to arrive for a request that waits: the scheduler keeps
 * the second off the wire, so both succeed. The negative control lets the
 * client send both at once (two slots), and the waiting one times out. */
static void test_one_slot_no_idle_timeout(void **state)
{
    struct fixture *f = *state;
    struct caller c[2];
    pthread_t t[2];

    start(f, 1);
    server(f->fake[0], (struct fakellm_server){ .slots = 1 });
    /* 8 chunks of 8 bytes at 100 ms: 0.9 s an answer, with a byte every
     * 100 ms for the one being answered. */
    add(f->fake[0], (struct fakellm_rule){ .kind = FAKE_REPLY,
        .content = "print('hello, slot world!')\n####################\n",
        .chunk_bytes = 8, .delay_ms = 100 });
    for (int round = 0; round < 2; round++) {
        f->cfg.idle_timeout_ms = 500;
        f->cfg.max_retries = 0;
        f->cfg.slots = round == 0 ? 1 : 2;
        close_client(f);
        open_client(f);
        for (int i = 0; i < 2; i++) {
            c[i] = (struct caller){ .llm = f->llm, .name = "builder",
                                    .text = "Reverse a list." };
            assert_int_equal(pthread_create(&t[i], NULL, call, &c[i]), 0);
        }
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
        if (round == 0) {
            assert_int_equal(c[0].err, LLM_OK);
            assert_int_equal(c[1].err, LLM_OK);
        } else {
            /* the control: one of them waited on the wire and gave up */
            assert_true((c[0].err == LLM_E_IDLE_TIMEOUT) !=
                        (c[1].err == LLM_E_IDLE_TIMEOUT));
        }
    }
    assert_int_equal(fakellm_max_in_flight(f->fake[0]), 1);
}

/* A slot count the server states in /props replaces the setting. */
static void test_slots_from_props(void **state)
{
    struct fixture *f = *state;
    struct llm_health h;
    cJSON *q, *e;

    start(f, 1);
    server(f->fake[0], (struct fakellm_server){ .slots = 3, .llama = 1,
                                                .n_ctx = 2048 });
    assert_int_equal(llm_health(f->s, &h), LLM_OK);
    q = llm_sched_json(llm_scheduler(f->llm));
    e = cJSON_GetArrayItem(cJSON_GetObjectItem(q, "endpoints"), 0);
    assert_int_equal(cJSON_GetObjectItem(e, "slots")->valueint, 3);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(e, "up")));
    cJSON_Delete(q);
    assert_int_equal(llm_context(f->llm), 2048);
    assert_string_equal(llm_context_source(f->llm), "server");
    assert_int_equal(h.context, 2048);
}

/* What a server says is learned again when it comes back: a llama-server
 * restarted with a smaller context (and more slots) is taken at its word,
 * without a restart of btfs. A server that stays up is not asked again. */
static void test_relearned_on_reconnect(void **state)
{
    struct fixture *f = *state;
    struct llm_health h;
    int port;
    cJSON *q;

    start(f, 1);
    server(f->fake[0], (struct fakellm_server){ .slots = 1, .llama = 1,
                                                .n_ctx = 4000 });
    assert_int_equal(llm_health(f->s, &h), LLM_OK);
    assert_int_equal(llm_context(f->llm), 4000);
    /* still up: a changed /props is not read (it is asked on coming up) */
    server(f->fake[0], (struct fakellm_server){ .slots = 1, .llama = 1,
                                                .n_ctx = 3000 });
    assert_int_equal(llm_health(f->s, &h), LLM_OK);
    assert_int_equal(llm_context(f->llm), 4000);
    /* down, then back on the same port with another context and slots */
    port = fakellm_port(f->fake[0]);
    fakellm_stop(f->fake[0]);
    f->nfake = 0;
    assert_int_not_equal(llm_health(f->s, &h), LLM_OK);
    assert_false(h.reachable);
    assert_int_equal(fakellm_start_port(port, &f->fake[0]), 0);
    f->nfake = 1;
    server(f->fake[0], (struct fakellm_server){ .slots = 2, .llama = 1,
                                                .n_ctx = 1500 });
    assert_int_equal(llm_health(f->s, &h), LLM_OK);
    assert_int_equal(h.context, 1500);
    assert_int_equal(llm_context(f->llm), 1500);
    q = llm_sched_json(llm_scheduler(f->llm));
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(
                         cJSON_GetObjectItem(q, "endpoints"), 0),
                         "slots")->valueint, 2);
    cJSON_Delete(q);
}

/* Ollama states a model's context only as "num_ctx" in /api/show's
 * parameters; a line that merely mentions it elsewhere does not count. */
static void test_context_from_ollama(void **state)
{
    struct fixture *f = *state;
    struct llm_health h;

    start(f, 1);
    add(f->fake[0], (struct fakellm_rule){ .kind = FAKE_STATUS,
        .method = "POST", .path = "/api/show", .status = 200,
        .body = "{\"parameters\":\"stop \\\"<|im_end|>\\\"\\n"
                "num_ctx                        8192\\n"
                "temperature                    0.2\","
                "\"model_info\":{\"qwen2.context_length\":32768}}" });
    assert_int_equal(llm_health(f->s, &h), LLM_OK);
    assert_int_equal(llm_context(f->llm), 8192);
    assert_string_equal(llm_context_source(f->llm), "server");
}

/* LM Studio states the context a model was loaded with in its own API,
 * GET /api/v0/models (at the server's root, not under /v1): ours is
 * taken, not another loaded model's. */
static void test_context_from_lmstudio(void **state)
{
    struct fixture *f = *state;
    struct llm_health h;

    start(f, 1);
    add(f->fake[0], (struct fakellm_rule){ .kind = FAKE_STATUS,
        .method = "GET", .path = "/api/v0/models", .status = 200,
        .body = "{\"object\":\"list\",\"data\":["
                "{\"id\":\"qwen2.5-7b-instruct\",\"state\":\"loaded\","
                "\"max_context_length\":32768,"
                "\"loaded_context_length\":9000},"
                "{\"id\":\"deepseek-coder-7b-instruct\","
                "\"state\":\"loaded\",\"max_context_length\":16384,"
                "\"loaded_context_length\":3000}]}" });
    assert_int_equal(llm_context(f->llm), 4096);
    assert_int_equal(llm_health(f->s, &h), LLM_OK);
    assert_int_equal(h.context, 3000);
    assert_int_equal(llm_context(f->llm), 3000);
    assert_string_equal(llm_context_source(f->llm), "server");
    /* it is not llama-server: no cache_prompt for it */
    struct llm_result r;
    struct llm_message m[1] = { { "user", "hi" } };
    struct llm_request req = { .messages = m, .nmessages = 1 };
    add(f->fake[0], (struct fakellm_rule){ .kind = FAKE_REPLY,
        .content = "z = 3\n" });
    assert_int_equal(llm_chat(f->s, &req, &r), LLM_OK);
    llm_result_free(&r);
    char *body = fakellm_request_body(f->fake[0],
                                      fakellm_requests(f->fake[0]) - 1);
    assert_null(strstr(body, "cache_prompt"));
    free(body);
}

/* ---- priorities ------------------------------------------------------------- */

/* While a Trainer call holds the only slot, another Trainer call queues,
 * then a user task's call: the user's goes next, and the queue says who
 * waits where meanwhile. */
static void test_user_overtakes_trainer(void **state)
{
    struct fixture *f = *state;
    struct caller c[3];
    pthread_t t[3];
    int found = 0;

    start(f, 1);
    add(f->fake[0], (struct fakellm_rule){ .kind = FAKE_REPLY,
        .content = "x = 1\n", .first_delay_ms = 400 });
    c[0] = (struct caller){ .llm = f->llm, .name = "trainer",
                            .prio = LLM_PRIO_LOW, .text = "first" };
    c[1] = (struct caller){ .llm = f->llm, .name = "trainer",
                            .prio = LLM_PRIO_LOW, .text = "second",
                            .delay_ms = 100 };
    c[2] = (struct caller){ .llm = f->llm, .name = "builder 0",
                            .prio = LLM_PRIO_USER, .text = "user",
                            .delay_ms = 200 };
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, call, &c[i]), 0);
    usleep(300 * 1000);
    /* The queue as status.json shows it: the user's call is first. */
    cJSON *q = llm_sched_json(llm_scheduler(f->llm)), *w;
    cJSON_ArrayForEach(w, cJSON_GetObjectItem(q, "waiting")) {
        const char *who = cJSON_GetObjectItem(w, "who")->valuestring;
        int place = cJSON_GetObjectItem(w, "place")->valueint;
        if (strcmp(who, "builder 0") == 0) {
            assert_int_equal(place, 1);
            assert_string_equal(
                cJSON_GetObjectItem(w, "priority")->valuestring, "user");
            found++;
        } else {
            assert_int_equal(place, 2);
            found++;
        }
    }
    assert_int_equal(found, 2);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(q, "running")),
                     1);
    cJSON_Delete(q);
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(c[i].err, LLM_OK);
    }
    assert_true(c[2].done_ms < c[1].done_ms);
    /* and the server saw them in that order */
    char *b1 = fakellm_request_body(f->fake[0], 1);
    assert_non_null(strstr(b1, "\"user\"}"));
    free(b1);
}

/* ---- endpoints ----------------------------------------------------------------- */

/* Four endpoints of one slot each and eight callers: the fewest in flight
 * first spreads them two to each. One endpoint dies: calls go on, to the
 * others, and it is marked down. */
static void test_endpoints_spread_and_one_dies(void **state)
{
    struct fixture *f = *state;
    struct caller c[8];
    pthread_t t[8];
    struct llm_sched *q;

    start(f, 4);
    for (unsigned i = 0; i < 4; i++)
        add(f->fake[i], (struct fakellm_rule){ .kind = FAKE_REPLY,
            .content = "y = 2\n", .first_delay_ms = 150 });
    for (int i = 0; i < 8; i++) {
        c[i] = (struct caller){ .llm = f->llm, .name = "builder",
                                .text = "go" };
        assert_int_equal(pthread_create(&t[i], NULL, call, &c[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(c[i].err, LLM_OK);
    }
    q = llm_scheduler(f->llm);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(llm_sched_served(q, i), 2);
        assert_int_equal(fakellm_max_in_flight(f->fake[i]), 1);
    }

    fakellm_stop(f->fake[2]);
    f->fake[2] = f->fake[3];
    f->nfake = 3;
    for (int i = 0; i < 8; i++) {
        c[i] = (struct caller){ .llm = f->llm, .name = "builder",
                                .text = "go" };
        assert_int_equal(pthread_create(&t[i], NULL, call, &c[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(c[i].err, LLM_OK);
        assert_int_not_equal(c[i].endpoint, 2);
    }
    assert_int_equal(llm_sched_endpoint_up(q, 2), 0);
    assert_int_equal(llm_sched_endpoint_up(q, 0), 1);
    /* at most one request found it dead; the others went elsewhere */
    assert_true(llm_sched_served(q, 2) <= 3);
}

/* A list with an empty or non-http entry is refused. */
static void test_endpoint_list_checked(void **state)
{
    struct llm_config c;
    struct llm *llm = NULL;
    (void)state;

    llm_config_default(&c);
    c.url = "http://a/v1,,http://b/v1";
    assert_int_equal(llm_create(&c, &llm), -EINVAL);
    c.url = "http://a/v1,ftp://b/v1";
    assert_int_equal(llm_create(&c, &llm), -EINVAL);
    c.url = "http://a/v1,";
    assert_int_equal(llm_create(&c, &llm), -EINVAL);
    c.url = "http://a/v1, http://b/v1";
    assert_int_equal(llm_create(&c, &llm), 0);
    assert_int_equal(llm_sched_endpoints(llm_scheduler(llm)), 2);
    llm_free(llm);
    c.url = "http://a/v1";
    c.context_fixed = 1;
    c.context_tokens = 127;
    assert_int_equal(llm_create(&c, &llm), -EINVAL);
}

/* ---- context ------------------------------------------------------------------- */

static char *long_text(size_t n)
{
    char *s = malloc(n + 1);

    for (size_t i = 0; i < n; i++)
        s[i] = "abcdefgh "[i % 9];
    s[n] = '\0';
    return s;
}

/* A server without /props whose context is smaller than ours answers
 * context_too_long naming its n_ctx: the client learns it, says what to
 * set, and the next budget fits. */
static void test_context_learned_from_error(void **state)
{
    struct fixture *f = *state;
    struct llm_result r;
    char *big = long_text(2400);    /* 600 fake tokens, 800 estimated */
    struct llm_message m[1] = { { "user", big } };
    struct llm_request req = { .messages = m, .nmessages = 1,
                               .max_tokens = 100 };

    start(f, 1);
    server(f->fake[0], (struct fakellm_server){ .n_ctx = 256 });
    add(f->fake[0], (struct fakellm_rule){ .kind = FAKE_REPLY,
        .content = "z = 3\n" });
    assert_int_equal(llm_context(f->llm), 4096);
    assert_string_equal(llm_context_source(f->llm), "default");
    assert_int_equal(llm_chat(f->s, &req, &r), LLM_E_CONTEXT);
    assert_non_null(strstr(r.error, "BT_LLM_CONTEXT=256"));
    llm_result_free(&r);
    assert_int_equal(llm_context(f->llm), 256);
    assert_true(llm_prompt_budget(f->llm, 100) <= 156);
    /* the same prompt is now refused before it is sent */
    unsigned before = fakellm_requests(f->fake[0]);
    assert_int_equal(llm_chat(f->s, &req, &r), LLM_E_BUDGET);
    llm_result_free(&r);
    assert_int_equal(fakellm_requests(f->fake[0]), before);
    /* a fixed setting wins over what the server said */
    close_client(f);
    f->cfg.context_fixed = 1;
    f->cfg.context_tokens = 8192;
    open_client(f);
    assert_int_equal(llm_chat(f->s, &req, &r), LLM_E_CONTEXT);
    llm_result_free(&r);
    assert_int_equal(llm_context(f->llm), 8192);
    assert_string_equal(llm_context_source(f->llm), "setting");
    free(big);
}

/* llama.cpp's context shift cuts a prompt without an error: the answer's
 * timings say "truncated". That is a prompt too long, not an answer. */
static void test_silent_truncation(void **state)
{
    struct fixture *f = *state;
    struct llm_result r;
    char *big = long_text(2400);
    struct llm_message m[1] = { { "user", big } };
    struct llm_request req = { .messages = m, .nmessages = 1,
                               .max_tokens = 100 };

    start(f, 1);
    server(f->fake[0], (struct fakellm_server){ .n_ctx = 256,
                                                .truncate = 1 });
    add(f->fake[0], (struct fakellm_rule){ .kind = FAKE_REPLY,
        .content = "z = 3\n" });
    assert_int_equal(llm_chat(f->s, &req, &r), LLM_E_CONTEXT);
    assert_non_null(strstr(r.error, "cut the prompt"));
    llm_result_free(&r);
    /* a prompt that fits is answered as usual */
    m[0].content = "short";
    assert_int_equal(llm_chat(f->s, &req, &r), LLM_OK);
    llm_result_free(&r);
    free(big);
}

/* A server that cuts silently without saying "truncated" gives itself
 * away by counting far fewer prompt tokens than were sent: that too is a
 * prompt too long. The control: a count near the estimate is an answer. */
static void test_silent_truncation_by_usage(void **state)
{
    struct fixture *f = *state;
    struct llm_result r;
    char *big = long_text(2400);    /* about 800 tokens estimated */
    struct llm_message m[1] = { { "user", big } };
    struct llm_request req = { .messages = m, .nmessages = 1,
                               .max_tokens = 100,
                               .stream = LLM_STREAM_OFF };

    start(f, 1);
    add(f->fake[0], (struct fakellm_rule){ .kind = FAKE_STATUS,
        .status = 200, .times = 1,
        .body = "{\"choices\":[{\"index\":0,\"message\":{\"role\":"
                "\"assistant\",\"content\":\"z = 3\"},"
                "\"finish_reason\":\"stop\"}],\"usage\":{"
                "\"prompt_tokens\":700,\"completion_tokens\":4,"
                "\"total_tokens\":704}}" });
    add(f->fake[0], (struct fakellm_rule){ .kind = FAKE_STATUS,
        .status = 200, .times = 1,
        .body = "{\"choices\":[{\"index\":0,\"message\":{\"role\":"
                "\"assistant\",\"content\":\"z = 3\"},"
                "\"finish_reason\":\"stop\"}],\"usage\":{"
                "\"prompt_tokens\":150,\"completion_tokens\":4,"
                "\"total_tokens\":154}}" });
    assert_int_equal(llm_chat(f->s, &req, &r), LLM_OK);
    assert_int_equal(r.prompt_tokens, 700);
    llm_result_free(&r);
    assert_int_equal(llm_chat(f->s, &req, &r), LLM_E_CONTEXT);
    assert_non_null(strstr(r.error, "prompt_tokens far too low"));
    assert_non_null(strstr(r.error, "BT_LLM_CONTEXT="));
    llm_result_free(&r);
    /* what the server kept, and the answer, is its context from now on */
    assert_true(llm_context(f->llm) < 4096);
    free(big);
}

/* A server that counts more tokens than the estimate: the budget shrinks
 * by as much, so that what the Builder fits, fits. */
static void test_estimate_corrected(void **state)
{
    struct fixture *f = *state;
    struct llm_result r;
    char *text = long_text(1200);
    struct llm_message m[1] = { { "user", text } };
    struct llm_request req = { .messages = m, .nmessages = 1 };
    unsigned before;

    start(f, 1);
    server(f->fake[0], (struct fakellm_server){ .llama = 1,
                                                .bytes_per_token = 2 });
    add(f->fake[0], (struct fakellm_rule){ .kind = FAKE_REPLY,
        .content = "z = 3\n" });
    before = llm_prompt_budget(f->llm, 0);
    assert_int_equal(llm_chat(f->s, &req, &r), LLM_OK);
    /* 1200 bytes: 600 counted against about 400 estimated */
    assert_int_equal(r.prompt_tokens, 600);
    llm_result_free(&r);
    unsigned after = llm_prompt_budget(f->llm, 0);
    assert_true(after < before * 0.75);
    assert_true(after > before * 0.6);
    free(text);
}

/* Against llama-server the prompt is counted by its /tokenize before it is
 * sent: one that does not fit is refused without a chat request, and the
 * budget follows the server's count. */
static void test_tokenize_counts(void **state)
{
    struct fixture *f = *state;
    struct llm_health h;
    struct llm_result r;
    char *text = long_text(1500);   /* 500 estimated, 1500 counted */
    struct llm_message m[1] = { { "user", text } };
    struct llm_request req = { .messages = m, .nmessages = 1 };

    start(f, 1);
    server(f->fake[0], (struct fakellm_server){ .llama = 1, .n_ctx = 2048,
                                                .bytes_per_token = 1 });
    add(f->fake[0], (struct fakellm_rule){ .kind = FAKE_REPLY,
        .content = "z = 3\n" });
    assert_int_equal(llm_health(f->s, &h), LLM_OK);
    assert_int_equal(llm_context(f->llm), 2048);
    unsigned before = llm_prompt_budget(f->llm, 0);
    assert_int_equal(before, 1024);     /* the answer: half the context */
    unsigned chats = fakellm_chat_answered(f->fake[0]);
    assert_int_equal(llm_chat(f->s, &req, &r), LLM_E_BUDGET);
    assert_non_null(strstr(r.error, "does not fit"));
    llm_result_free(&r);
    assert_int_equal(fakellm_chat_answered(f->fake[0]), chats);
    /* the budget now counts as the server does: about a third */
    unsigned after = llm_prompt_budget(f->llm, 0);
    assert_true(after < before / 2);
    /* a prompt that fits by the server's count goes */
    text[600] = '\0';
    assert_int_equal(llm_chat(f->s, &req, &r), LLM_OK);
    llm_result_free(&r);
    free(text);
}

/* ---- prompt cache ------------------------------------------------------------------ */

/* Against llama-server, requests carry cache_prompt, and the evaluated and
 * cached prompt tokens of its timings reach the result and the usage. */
static void test_prompt_cache_figures(void **state)
{
    struct fixture *f = *state;
    struct llm_health h;
    struct llm_result r;
    struct llm_usage u;
    char *stable = long_text(800);
    struct llm_message m[2] = { { "system", stable },
                                { "user", "attempt 1" } };
    struct llm_request req = { .messages = m, .nmessages = 2 };

    start(f, 1);
    server(f->fake[0], (struct fakellm_server){ .llama = 1 });
    add(f->fake[0], (struct fakellm_rule){ .kind = FAKE_REPLY,
        .content = "z = 3\n" });
    assert_int_equal(llm_health(f->s, &h), LLM_OK);
    assert_int_equal(llm_chat(f->s, &req, &r), LLM_OK);
    assert_int_equal(r.have_timings, 1);
    assert_int_equal(r.prompt_cached, 0);
    llm_result_free(&r);
    m[1].content = "attempt 2, after feedback";
    assert_int_equal(llm_chat(f->s, &req, &r), LLM_OK);
    assert_true(r.prompt_cached >= 200);
    assert_true(r.prompt_evaluated < 10);
    llm_result_free(&r);
    llm_usage_get(f->llm, &u);
    assert_true(u.prompt_cached >= 200);
    assert_int_equal(u.timed_calls, 2);
    char *body = fakellm_request_body(f->fake[0],
                                      fakellm_requests(f->fake[0]) - 1);
    assert_non_null(strstr(body, "\"cache_prompt\":true"));
    free(body);
    cJSON *j = llm_usage_json(&u);
    assert_non_null(cJSON_GetObjectItem(j, "prompt_tokens_cached"));
    cJSON_Delete(j);
    free(stable);
}

/* A server that is not llama-server never gets cache_prompt. */
static void test_no_cache_prompt_elsewhere(void **state)
{
    struct fixture *f = *state;
    struct llm_health h;
    struct llm_result r;
    struct llm_message m[1] = { { "user", "hi" } };
    struct llm_request req = { .messages = m, .nmessages = 1 };

    start(f, 1);
    add(f->fake[0], (struct fakellm_rule){ .kind = FAKE_REPLY,
        .content = "z = 3\n" });
    assert_int_equal(llm_health(f->s, &h), LLM_OK);
    assert_int_equal(llm_chat(f->s, &req, &r), LLM_OK);
    assert_int_equal(r.have_timings, 0);
    llm_result_free(&r);
    char *body = fakellm_request_body(f->fake[0],
                                      fakellm_requests(f->fake[0]) - 1);
    assert_null(strstr(body, "cache_prompt"));
    free(body);
}

/* ---- models -------------------------------------------------------------------- */

static void test_model_selection(void **state)
{
    struct fixture *f = *state;
    struct llm_health h;
    struct llm_result r;
    struct llm_message m[1] = { { "user", "hi" } };
    struct llm_request req = { .messages = m, .nmessages = 1 };
    const char *path[] = { "/models/DeepSeek-Coder-7B-Instruct.gguf", NULL };
    const char *only[] = { "/models/qwen2.5-coder-7b-q4.gguf", NULL };
    const char *two[] = { "qwen", "llama", NULL };

    start(f, 1);
    add(f->fake[0], (struct fakellm_rule){ .kind = FAKE_REPLY,
        .content = "z = 3\n" });
    /* by basename, without .gguf, ignoring case */
    assert_int_equal(fakellm_set_models(f->fake[0], path), 0);
    assert_int_equal(llm_health(f->s, &h), LLM_OK);
    assert_string_equal(h.note, "");
    assert_string_equal(h.model, path[0]);
    /* not listed, but the only one: used, and said */
    assert_int_equal(fakellm_set_models(f->fake[0], only), 0);
    assert_int_equal(llm_health(f->s, &h), LLM_OK);
    assert_string_equal(h.model, only[0]);
    assert_non_null(strstr(h.note, "only model"));
    assert_int_equal(llm_chat(f->s, &req, &r), LLM_OK);
    llm_result_free(&r);
    char *body = fakellm_request_body(f->fake[0],
                                      fakellm_requests(f->fake[0]) - 1);
    assert_non_null(strstr(body, "qwen2.5-coder-7b-q4.gguf"));
    free(body);
    /* by basename alone (a publisher prefix), and by dropping .gguf
     * alone */
    const char *prefixed[] = { "lmstudio-community/deepseek-coder-7b-instruct",
                               "qwen", NULL };
    assert_int_equal(fakellm_set_models(f->fake[0], prefixed), 0);
    assert_int_equal(llm_health(f->s, &h), LLM_OK);
    assert_string_equal(h.model, prefixed[0]);
    assert_string_equal(h.note, "");
    const char *ext[] = { "qwen", "deepseek-coder-7b-instruct.GGUF", NULL };
    assert_int_equal(fakellm_set_models(f->fake[0], ext), 0);
    assert_int_equal(llm_health(f->s, &h), LLM_OK);
    assert_string_equal(h.model, ext[1]);
    /* the configured id itself wins over a looser match listed first */
    const char *both[] = { "org/deepseek-coder-7b-instruct",
                           "deepseek-coder-7b-instruct", NULL };
    assert_int_equal(fakellm_set_models(f->fake[0], both), 0);
    assert_int_equal(llm_health(f->s, &h), LLM_OK);
    assert_string_equal(h.model, both[1]);
    /* a longer name is another model, not a match */
    const char *longer[] = { "deepseek-coder-7b-instruct-v1.5", "qwen", NULL };
    assert_int_equal(fakellm_set_models(f->fake[0], longer), 0);
    assert_int_equal(llm_health(f->s, &h), LLM_E_NO_MODEL);
    /* several, none matching: wait, with the list */
    assert_int_equal(fakellm_set_models(f->fake[0], two), 0);
    assert_int_equal(llm_health(f->s, &h), LLM_E_NO_MODEL);
    assert_non_null(strstr(h.error, "qwen, llama"));
}

/* ---- the last real error ------------------------------------------------------- */

static void test_last_error_kept_until_success(void **state)
{
    struct fixture *f = *state;
    struct llm_health h;
    struct llm_result r;
    char err[512];
    struct llm_message m[1] = { { "user", "hi" } };
    struct llm_request req = { .messages = m, .nmessages = 1 };

    start(f, 1);
    add(f->fake[0], (struct fakellm_rule){ .kind = FAKE_STATUS,
        .status = 500, .times = 3 });
    add(f->fake[0], (struct fakellm_rule){ .kind = FAKE_REPLY,
        .content = "z = 3\n" });
    assert_int_equal(llm_last_error(f->llm, err, sizeof err), 0);
    assert_int_equal(llm_chat(f->s, &req, &r), LLM_E_SERVER);
    llm_result_free(&r);
    assert_int_equal(llm_last_error(f->llm, err, sizeof err), 1);
    assert_non_null(strstr(err, "server_error: HTTP 500"));
    /* a health check that passes does not clear it */
    assert_int_equal(llm_health(f->s, &h), LLM_OK);
    assert_int_equal(llm_last_error(f->llm, err, sizeof err), 1);
    assert_int_equal(llm_chat(f->s, &req, &r), LLM_OK);
    llm_result_free(&r);
    assert_int_equal(llm_last_error(f->llm, err, sizeof err), 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_one_slot_no_idle_timeout),
        T(test_slots_from_props),
        T(test_relearned_on_reconnect),
        T(test_context_from_ollama),
        T(test_context_from_lmstudio),
        T(test_user_overtakes_trainer),
        T(test_endpoints_spread_and_one_dies),
        cmocka_unit_test(test_endpoint_list_checked),
        T(test_context_learned_from_error),
        T(test_silent_truncation),
        T(test_silent_truncation_by_usage),
        T(test_estimate_corrected),
        T(test_tokenize_counts),
        T(test_prompt_cache_figures),
        T(test_no_cache_prompt_elsewhere),
        T(test_model_selection),
        T(test_last_error_kept_until_success),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
