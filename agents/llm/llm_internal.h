/* llm_internal.h -- what the files of the LLM client share and nobody else
 * sees: the handle, the endpoints, the sessions, the state of one HTTP
 * attempt, and the functions one file of the client offers the others.
 * Callers outside agents/llm/llm*.c include llm.h only.
 *
 * Locking: llm->lock guards the fields so marked below; a session and an
 * xfer belong to the one thread that uses them.
 */
#ifndef BT_LLM_INTERNAL_H
#define BT_LLM_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include <curl/curl.h>

#include "buf.h"
#include "llm.h"
#include "sse.h"

#define HEALTH_TIMEOUT_MS 10000     /* cap on one GET /models              */
#define MAX_ENDPOINTS 16            /* URLs in one BT_LLM_URL              */
#define MIN_CONTEXT 128             /* a smaller context is a wrong answer */

/* Response formats for structured output, in the order they are tried;
 * llm_format_names (llm_request.c) holds their names. */
enum format { FORMAT_SCHEMA, FORMAT_OBJECT, FORMAT_NONE };
extern const char *const llm_format_names[];

/* One server of BT_LLM_URL. */
struct endpoint {
    char *url;                      /* as configured, one of the list    */
    char *chat_url;                 /* {url}/chat/completions            */
    char *models_url;               /* {url}/models                      */
    char *root;                     /* {url} without a trailing /v1      */
    char model[256];                /* the id requests name (lock)       */
    unsigned context;               /* the server's, 0 unknown (lock)    */
    int llamacpp;                   /* answered /props: takes
                                       cache_prompt (lock)               */
    int healthy;                    /* at the last check (monitor only)  */
};

struct llm {
    struct llm_config cfg;          /* strings point at the copies below */
    char *url;
    char *model;
    char *api_key;
    char *auth_header;              /* "Authorization: Bearer ..." or NULL */
    unsigned nep;
    struct endpoint ep[MAX_ENDPOINTS];
    struct llm_sched *sched;
    atomic_int cancelled;
    atomic_int format;              /* enum format the server accepts    */
    pthread_mutex_t lock;           /* guards usage, sessions, the
                                       endpoints' learned fields,
                                       est_scale and last_error          */
    pthread_cond_t wake;            /* backoff sleepers wait here (lock) */
    struct llm_usage usage;         /* guarded by lock                   */
    struct llm_session *sessions;   /* open sessions (lock), for cancel  */
    double est_scale;               /* server tokens / our estimate (lock) */
    char last_error[512];           /* of a real request, "" after an ok
                                       one (lock)                        */
};

struct llm_session {
    struct llm *llm;
    char name[48];                  /* in the scheduler's queue          */
    CURLM *multi;                   /* owns the kept-alive connections   */
    CURL *easy;
    struct curl_slist *headers;     /* Content-Type, Accept, auth        */
    unsigned rng;                   /* jitter state, this thread's only  */
    struct llm_session *prev;       /* llm->sessions list (llm->lock)    */
    struct llm_session *next;
};

/* The state of one HTTP attempt, shared with curl's callbacks. */
struct xfer {
    struct llm *llm;
    long status;                    /* of the last status line seen      */
    int sse;                        /* the body is text/event-stream     */
    double retry_after_ms;          /* from a Retry-After header, or 0   */
    double last_byte_ms;            /* when anything last arrived        */
    struct buf body;                /* a non-streamed or error body      */
    struct sse parser;
    struct buf content;             /* the answer's text so far          */
    char finish[32];
    int done;                       /* data: [DONE] seen                 */
    int chunks;                     /* SSE data events parsed            */
    int have_usage;
    unsigned usage_prompt;
    unsigned usage_completion;
    int have_timings;               /* llama.cpp's timings object        */
    unsigned prompt_n;              /* prompt tokens evaluated           */
    unsigned cache_n;               /* prompt tokens taken from cache    */
    int cut;                        /* the server says it truncated      */
    unsigned server_ctx;            /* context a too-long error named    */
    enum llm_err err;               /* why a callback stopped the xfer   */
    char msg[512];                  /* and its message                   */
};

/* --- llm.c --------------------------------------------------------------- */

/* Every message of this client goes through here, and messages quote URLs
 * and what servers and curl say: credentials are masked (redact.h). */
void llm_msg(char *dst, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* base without its trailing slashes, then tail (malloc'd), or NULL. */
char *llm_join_url(const char *base, const char *tail);

/* --- llm_error.c --------------------------------------------------------- */

/* An HTTP error status and its body as an enum llm_err; the message
 * (status, the server's words and code) goes into out. */
enum llm_err llm_classify_status(long status, const char *body, char *out,
                                 size_t outlen);

/* The context size a context_too_long error body names, or 0. */
unsigned llm_error_context(const char *body);

/* An error object inside a 200 answer: sets x->err, x->msg and, for a
 * context error, x->server_ctx. */
void llm_inband_error(struct xfer *x, const char *json);

/* A failed curl transfer as an enum llm_err. */
enum llm_err llm_curl_kind(CURLcode rc, CURL *easy);

/* Whether an attempt's outcome says the endpoint was reached (1), was not
 * (0), or tells nothing (-1). */
int llm_reached(enum llm_err err, long status);

/* --- llm_http.c ---------------------------------------------------------- */

/* Runs one request on the session: 'post' is the JSON body, or NULL for a
 * GET. Fills x (zeroed by the caller, x->llm set); returns x->err (LLM_OK
 * when an HTTP answer arrived whole, whatever its status). */
enum llm_err llm_http_perform(struct llm_session *s, const char *url,
                              const char *post, long total_ms,
                              struct xfer *x);

/* One GET (or POST when 'post') with the health cap; the caller frees x's
 * buffers. Returns the parsed body of a 200 (caller frees), else NULL. */
cJSON *llm_http_probe(struct llm_session *s, const char *url,
                      const char *post, struct xfer *x);

/* --- llm_answer.c -------------------------------------------------------- */

/* sse.c's callback for a chat completion stream (arg: the struct xfer). */
int llm_answer_on_event(void *arg, enum sse_kind kind, const char *value,
                        size_t len);

/* Reads a finished attempt's answer into x: an HTTP error, an event
 * stream or a JSON body; then whether it is whole and not empty. */
void llm_answer_read(struct xfer *x);

/* Structured output: finds the JSON object in res->content and checks the
 * schema's required fields; sets res->json, or res->err and res->error. */
void llm_check_structured(const cJSON *schema, struct llm_result *res);

/* --- llm_request.c ------------------------------------------------------- */

/* The request body as JSON text (malloc'd), or NULL when out of memory. */
char *llm_request_body(const struct llm *llm, const struct llm_request *req,
                       const char *model, unsigned max_tokens,
                       int cache_prompt, int stream, const cJSON *schema,
                       enum format fmt);

/* Server tokens per token of our estimate, as learned so far. */
double llm_est_scale(const struct llm *llm);

/* The answer's budget: as asked, but at most half the context. */
unsigned llm_answer_budget(unsigned asked, unsigned ctx);

/* Learns from a server's count how far our estimate is off. */
void llm_learn_scale(struct llm *llm, unsigned estimate, unsigned counted);

/* Takes a server's context for endpoint ep (ignored below MIN_CONTEXT). */
void llm_learn_context(struct llm *llm, int ep, unsigned ctx);

/* The prompt's size counted by a server that can tokenize, or 0. */
unsigned llm_server_count(struct llm_session *s,
                          const struct llm_request *req);

/* --- llm_usage.c --------------------------------------------------------- */

/* Adds one call's result to the usage counters and keeps or clears the
 * last error of a real request. */
void llm_usage_account(struct llm *llm, const struct llm_result *r);

#endif /* BT_LLM_INTERNAL_H */
