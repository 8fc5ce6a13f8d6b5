/* llm.h -- a client for OpenAI-compatible chat completion servers.
 *
 * LM Studio, llama.cpp's llama-server, Ollama and vLLM all speak the same
 * protocol (POST {url}/chat/completions, GET {url}/models) and each fails in
 * its own words. This module speaks the protocol, streams answers so that a
 * slow local model is bounded by an idle timeout rather than a total one,
 * turns every server's error shape into one enum llm_err, retries the
 * transient kinds with backoff, and counts usage. It uses libcurl and cJSON
 * and knows nothing of the store or the filesystem.
 *
 * Threads. One struct llm is shared by every thread: it holds the
 * configuration, the usage counters and the cancel flag, all guarded by its
 * own mutex. Each thread opens its own struct llm_session (a curl handle and
 * its connection cache, kept alive between calls); a session is never used by
 * two threads at once. curl_global_init runs once, at the first llm_create.
 * Every handle sets CURLOPT_NOSIGNAL. llm_cancel() makes the calls in flight
 * end within a poll interval (about 100 ms) with LLM_E_CANCELLED.
 */
#ifndef BT_LLM_H
#define BT_LLM_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "llm_sched.h"

/* Every way a call can end. The names (llm_err_name) are stable: they appear
 * in logs, status.json and logs/runtime.json. Keep llm_error.c's table in
 * step. */
enum llm_err {
    LLM_OK = 0,
    LLM_E_REFUSED,          /* "refused": could not connect (server down)   */
    LLM_E_RESET,            /* "reset": connection reset or closed early    */
    LLM_E_CONNECT_TIMEOUT,  /* "connect_timeout"                            */
    LLM_E_IDLE_TIMEOUT,     /* "idle_timeout": no byte for the idle time    */
    LLM_E_TOTAL_TIMEOUT,    /* "total_timeout": the whole-call cap          */
    LLM_E_NO_MODEL,         /* "no_model": 404, model not found/not loaded  */
    LLM_E_NOT_FOUND,        /* "not_found": 404 for another reason (URL)    */
    LLM_E_LOADING,          /* "loading": 503, loading or overloaded        */
    LLM_E_RATE_LIMITED,     /* "rate_limited": 429 (Retry-After honoured)   */
    LLM_E_SERVER,           /* "server_error": another 5xx                  */
    LLM_E_CONTEXT,          /* "context_too_long": 400, prompt too long     */
    LLM_E_BAD_REQUEST,      /* "bad_request": another 4xx                   */
    LLM_E_AUTH,             /* "auth": 401 or 403                           */
    LLM_E_IN_BAND,          /* "error_in_200": a 200 that carries an error  */
    LLM_E_EMPTY,            /* "empty": no content in the answer            */
    LLM_E_TRUNCATED,        /* "truncated": finish_reason "length"          */
    LLM_E_PROTOCOL,         /* "bad_response": garbage or a cut stream      */
    LLM_E_BUDGET,           /* "over_budget": prompt cannot fit the context */
    LLM_E_BAD_JSON,         /* "no_json": no JSON object in the answer      */
    LLM_E_MISSING_FIELD,    /* "missing_field": a required field is absent  */
    LLM_E_CANCELLED,        /* "cancelled": llm_cancel() was called         */
    LLM_E_NOMEM,            /* "out_of_memory"                              */
    LLM_E_INTERNAL,         /* "internal": curl could not be set up, ...    */
    LLM_E__COUNT
};

/* The stable name of an error kind ("refused", "no_model", ...). Never NULL. */
const char *llm_err_name(enum llm_err err);

/* 1 when llm_chat retries this kind by itself (with backoff), else 0. */
int llm_err_transient(enum llm_err err);

/* 1 when an error means "the LLM is not there" -- wait, and blame no task
 * for it -- rather than "it answered badly", else 0. One rule for every
 * agent, so that the Builder and the Trainer never disagree about whether
 * the server is up. Can't fail. */
static inline int llm_err_unavailable(enum llm_err err)
{
    switch (err) {
    case LLM_E_REFUSED:
    case LLM_E_CONNECT_TIMEOUT:
    case LLM_E_NO_MODEL:
    case LLM_E_NOT_FOUND:
    case LLM_E_LOADING:
    case LLM_E_RATE_LIMITED:
    case LLM_E_AUTH:
    /* The server's own failures, after the client's retries: a server
     * that fails every request is not available, and no task is to blame
     * for it (a 500 forever, an error inside a 200, a dropped or silent
     * connection). */
    case LLM_E_SERVER:
    case LLM_E_IN_BAND:
    case LLM_E_RESET:
    case LLM_E_IDLE_TIMEOUT:
    /* A configuration problem (the server's context is smaller than
     * ours): the agents wait with the setting to change in status.json. */
    case LLM_E_CONTEXT:
        return 1;
    default:
        return 0;
    }
}

/* Settings. llm_config_default() fills the defaults suited to a slow local
 * 7B model on a CPU: connect 10 s, idle 120 s, total 900 s, context 4096,
 * max_tokens 1024, temperature 0.2, 3 retries from 1 s doubling to 30 s. */
struct llm_config {
    const char *url;            /* base URL, e.g. http://localhost:1234/v1;
                                   several, comma-separated, serving the
                                   same model: requests are spread over
                                   them (llm_sched.h)                      */
    const char *model;          /* e.g. deepseek-coder-7b-instruct         */
    const char *api_key;        /* sent as Bearer; NULL or "" for none     */
    long connect_timeout_ms;
    long idle_timeout_ms;       /* longest silence between received bytes  */
    long total_timeout_ms;      /* cap on one attempt                      */
    unsigned context_tokens;    /* the model's context window: used when
                                   the server does not say (llama-server
                                   /props, LM Studio /api/v0/models), or
                                   always when context_fixed              */
    int context_fixed;          /* 1: context_tokens overrides the server */
    unsigned slots;             /* requests at once per endpoint when the
                                   server does not say (/props
                                   total_slots); 0 counts as 1            */
    unsigned max_tokens;        /* default answer budget                   */
    double temperature;
    unsigned max_retries;       /* extra attempts for transient kinds      */
    long backoff_initial_ms;    /* first pause; doubles, with jitter       */
    long backoff_max_ms;        /* ceiling for a pause (and Retry-After)   */
    int stream;                 /* 1: SSE streaming (default), 0: not      */
};

void llm_config_default(struct llm_config *cfg);

struct llm;
struct llm_session;

/* Creates the shared client. Strings in cfg are copied. Returns 0, -EINVAL
 * for a missing or non-http(s) url or a missing model, -ENOMEM, or -EIO when
 * libcurl cannot be initialised. */
int llm_create(const struct llm_config *cfg, struct llm **out);

/* Frees the client. Every session must be closed first. Accepts NULL. */
void llm_free(struct llm *llm);

/* The configuration in use (owned by llm, valid until llm_free). */
const struct llm_config *llm_config(const struct llm *llm);

/* Ends every call in flight and every later call with LLM_E_CANCELLED, and
 * wakes sleeping backoffs. Not async-signal-safe: call it from the thread
 * that handles shutdown. Can't fail. */
void llm_cancel(struct llm *llm);

/* Opens a session for the calling thread. Returns 0, -ENOMEM or -EIO. */
int llm_session_open(struct llm *llm, struct llm_session **out);

/* Closes a session and its connections. Accepts NULL. */
void llm_session_close(struct llm_session *s);

/* Names the session's calls in the scheduler's queue ("builder 1",
 * "trainer"); copied. Can't fail (a name too long is cut). */
void llm_session_set_name(struct llm_session *s, const char *name);

struct llm_message {
    const char *role;           /* "system", "user" or "assistant" */
    const char *content;
};

enum llm_stream { LLM_STREAM_DEFAULT = 0, LLM_STREAM_ON, LLM_STREAM_OFF };

/* One request. Zeroed fields take the configuration's defaults. */
struct llm_request {
    const struct llm_message *messages;
    size_t nmessages;
    double temperature;
    int use_temperature;        /* 1: send 'temperature' above, 0: the
                                   configured default                     */
    unsigned max_tokens;        /* 0: the configured default              */
    const char *const *stop;    /* up to 4 stop strings, or NULL          */
    size_t nstop;
    int64_t seed;
    int use_seed;               /* 1: send 'seed'                         */
    enum llm_stream stream;     /* LLM_STREAM_DEFAULT: as configured      */
    /* Structured output: a JSON schema (text) for the answer's object. It is
     * sent as response_format json_schema; if the server rejects that with a
     * 400, the call is repeated once with json_object and then with none,
     * and the client remembers what the server accepts. In every case the
     * JSON is parsed out of the text leniently and the schema's top-level
     * "required" fields are checked. */
    const char *schema;
    const char *schema_name;    /* name sent with the schema; "answer"    */
    enum llm_priority priority; /* place in the scheduler's queue          */
};

/* The outcome of a call. llm_result_free() releases it. */
struct llm_result {
    enum llm_err err;
    char error[512];            /* what went wrong, with the server's own
                                   message when it sent one; "" on success */
    long http_status;           /* last HTTP status, 0 if none            */
    char *content;              /* the answer's text (malloc'd), NULL when
                                   none; kept on LLM_E_TRUNCATED and on
                                   structured-output errors               */
    char finish_reason[32];     /* "stop", "length", ... or ""            */
    cJSON *json;                /* structured calls: the parsed object,
                                   owned by the result                    */
    const char *response_format;/* structured calls: "json_schema",
                                   "json_object" or "none" (static)       */
    unsigned prompt_tokens;     /* from the server's usage, or estimated  */
    unsigned prompt_evaluated;  /* of those, evaluated (llama.cpp timings
                                   prompt_n); 0 when not reported         */
    unsigned prompt_cached;     /* of those, reused from the server's cache
                                   (timings cache_n)                      */
    int have_timings;           /* 1 when the server sent prompt_n/cache_n */
    int endpoint;               /* index of the endpoint that answered last,
                                   -1 when none was asked                 */
    unsigned completion_tokens;
    int usage_estimated;        /* 1 when the server sent no usage        */
    unsigned attempts;          /* HTTP requests made, retries included   */
    double latency_ms;          /* the whole call, backoff included       */
};

/* Releases what a result holds and zeroes it. Accepts a zeroed result. */
void llm_result_free(struct llm_result *r);

/* Sends one chat completion and waits for the whole answer. Transient
 * errors are retried (max_retries times, exponential backoff with jitter,
 * Retry-After honoured up to backoff_max_ms). A prompt that cannot fit the
 * context with room for max_tokens fails at once with LLM_E_BUDGET and
 * sends nothing. Fills *res (which the caller frees with llm_result_free
 * whatever the outcome) and returns res->err. */
enum llm_err llm_chat(struct llm_session *s, const struct llm_request *req,
                      struct llm_result *res);

/* Estimated prompt size of a request in tokens (about 3 bytes a token, a
 * deliberately high count for code, plus a few tokens per message). */
unsigned llm_estimate_tokens(const struct llm_request *req);

/* Estimated size of one text in tokens. */
unsigned llm_estimate_text_tokens(const char *text);

/* Tokens left for the prompt once the answer's budget is reserved:
 * the context in use (llm_context) - max_tokens (or 0), in the units of
 * llm_estimate_tokens: divided by how far the estimate ran below the
 * server's own counts (usage.prompt_tokens). Callers trim memory to fit
 * this. */
unsigned llm_prompt_budget(const struct llm *llm, unsigned max_tokens);

/* The context in use: the configured one when fixed, else the smallest
 * that a server reported (at a health check, or in a context_too_long
 * error), else the configured default. */
unsigned llm_context(const struct llm *llm);

/* Where llm_context() comes from: "setting", "server" or "default"
 * (static). */
const char *llm_context_source(const struct llm *llm);

/* The scheduler every call goes through (owned by llm). */
struct llm_sched *llm_scheduler(struct llm *llm);

/* The last failure of a real request (a chat call that did not end well
 * for a reason of the server's or the connection's), kept until a chat
 * call succeeds: "server_error: HTTP 500 ...". Copies it into buf and
 * returns 1, or returns 0 (buf "") when the last call succeeded. */
int llm_last_error(struct llm *llm, char *buf, size_t len);

/* What GET {url}/models said. */
struct llm_health {
    enum llm_err err;           /* LLM_OK when reachable and model listed;
                                   LLM_E_NO_MODEL when reachable but the
                                   configured model is not listed          */
    int reachable;              /* 1 when the server answered the listing  */
    int model_listed;           /* 1 when the configured model is listed   */
    unsigned nmodels;           /* how many models the server lists        */
    char error[512];            /* why not healthy, naming the models the
                                   server does list; "" when healthy       */
    char note[512];             /* "" or what was decided for the user:
                                   the server's only model used instead
                                   of the configured one                   */
    char model[256];            /* the model id requests name             */
    unsigned context;           /* the context in use after the check     */
    unsigned up;                /* endpoints up (several URLs)             */
    double latency_ms;
};

/* Asks every endpoint for its models (one attempt each, no retries) and
 * fills *h; healthy when at least one endpoint is. An endpoint that has
 * just become healthy is also asked for its context and slots (llama-server
 * GET /props; LM Studio GET /api/v0/models). The configured model is
 * matched by id, by its name after the last '/', and without ".gguf",
 * ignoring case; when none matches and the server lists exactly one
 * model, that one is used (h->note says so). Returns h->err. */
enum llm_err llm_health(struct llm_session *s, struct llm_health *h);

/* Usage since llm_create, for logs/runtime.json. */
struct llm_usage {
    uint64_t calls;             /* llm_chat calls                        */
    uint64_t requests;          /* HTTP requests, retries included       */
    uint64_t ok;                /* calls that returned LLM_OK            */
    uint64_t prompt_tokens;
    uint64_t completion_tokens;
    uint64_t estimated;         /* calls whose tokens were estimated     */
    uint64_t prompt_evaluated;  /* prompt tokens the server evaluated    */
    uint64_t prompt_cached;     /* prompt tokens it took from its cache  */
    uint64_t timed_calls;       /* calls that reported those two         */
    double latency_ms_total;    /* sum over calls                        */
    double latency_ms_max;
    uint64_t errors[LLM_E__COUNT];  /* calls that ended with each kind   */
};

/* Copies the counters. Can't fail. */
void llm_usage_get(struct llm *llm, struct llm_usage *out);

/* The usage as a cJSON object in the shape of runtime.json's "llm" member:
 * {"calls":..,"requests":..,"ok":..,"prompt_tokens":..,
 *  "completion_tokens":..,"estimated_usage_calls":..,
 *  "prompt_tokens_evaluated":..,"prompt_tokens_cached":..,
 *  "latency_ms_total":..,
 *  "latency_ms_max":..,"latency_ms_mean":..,"errors":{"name":count,...}}
 * (only kinds seen appear in "errors"). The caller owns the tree; NULL when
 * out of memory. */
cJSON *llm_usage_json(const struct llm_usage *u);

#endif /* BT_LLM_H */
