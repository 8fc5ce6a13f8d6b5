/* llm.c -- a client for OpenAI-compatible chat completion servers.
 *
 * One call (llm_chat) is a loop of attempts. An attempt is one HTTP request
 * driven through the session's curl multi handle by our own poll loop, so
 * that the idle timeout, the total cap and cancellation are checked every
 * poll interval and each one ends the attempt with its own name, which
 * curl's single CURLE_OPERATION_TIMEDOUT could not tell apart. The multi
 * handle also keeps the connection alive between calls.
 *
 * Answers are parsed as they arrive: SSE through sse.c when the server sends
 * text/event-stream, else the body is collected (up to MAX_BODY) and parsed
 * at the end. Whatever the server's shape, an error becomes one enum
 * llm_err in classify_status() or in the stream handlers, and nowhere else.
 */
#include "llm.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "extract.h"
#include "redact.h"
#include "sse.h"

#define POLL_MS 100                 /* longest wait between our checks     */
#define MAX_BODY (8u << 20)         /* a longer non-streamed body is junk  */
#define MAX_CONTENT (8u << 20)      /* a longer streamed answer is junk    */
#define HEALTH_TIMEOUT_MS 10000     /* cap on one GET /models              */
#define MESSAGE_OVERHEAD_TOKENS 4   /* role and separators, per message    */
#define MAX_ENDPOINTS 16            /* URLs in one BT_LLM_URL              */
#define MIN_CONTEXT 128             /* a smaller context is a wrong answer */
/* A server that counts fewer prompt tokens than this share of our (high)
 * estimate did not read the whole prompt: it cut it to fit. */
#define SILENT_CUT_RATIO 0.34

/* Response formats for structured output, in the order they are tried. */
enum format { FORMAT_SCHEMA, FORMAT_OBJECT, FORMAT_NONE };
static const char *const format_names[] = { "json_schema", "json_object",
                                            "none" };

static const struct {
    const char *name;
    int transient;
} err_table[LLM_E__COUNT] = {
    [LLM_OK]                = { "ok", 0 },
    [LLM_E_REFUSED]         = { "refused", 1 },
    [LLM_E_RESET]           = { "reset", 1 },
    [LLM_E_CONNECT_TIMEOUT] = { "connect_timeout", 1 },
    [LLM_E_IDLE_TIMEOUT]    = { "idle_timeout", 1 },
    [LLM_E_TOTAL_TIMEOUT]   = { "total_timeout", 0 },
    [LLM_E_NO_MODEL]        = { "no_model", 0 },
    [LLM_E_NOT_FOUND]       = { "not_found", 0 },
    [LLM_E_LOADING]         = { "loading", 1 },
    [LLM_E_RATE_LIMITED]    = { "rate_limited", 1 },
    [LLM_E_SERVER]          = { "server_error", 1 },
    [LLM_E_CONTEXT]         = { "context_too_long", 0 },
    [LLM_E_BAD_REQUEST]     = { "bad_request", 0 },
    [LLM_E_AUTH]            = { "auth", 0 },
    [LLM_E_IN_BAND]         = { "error_in_200", 1 },
    [LLM_E_EMPTY]           = { "empty", 1 },
    [LLM_E_TRUNCATED]       = { "truncated", 0 },
    [LLM_E_PROTOCOL]        = { "bad_response", 1 },
    [LLM_E_BUDGET]          = { "over_budget", 0 },
    [LLM_E_BAD_JSON]        = { "no_json", 0 },
    [LLM_E_MISSING_FIELD]   = { "missing_field", 0 },
    [LLM_E_CANCELLED]       = { "cancelled", 0 },
    [LLM_E_NOMEM]           = { "out_of_memory", 0 },
    [LLM_E_INTERNAL]        = { "internal", 0 },
};

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

/* A growable NUL-terminated byte buffer. */
struct buf {
    char *p;
    size_t len;
    size_t cap;
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

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

/* --- small helpers ------------------------------------------------------ */

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int buf_add(struct buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static void buf_free(struct buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static void set_msg(char *dst, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Every message of this client goes through here, and messages quote
 * URLs and what servers and curl say: credentials are masked (redact.h). */
static void set_msg(char *dst, size_t len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(dst, len, fmt, ap);
    va_end(ap);
    redact_buf(dst, len, dst);
}

/* Case-insensitive substring search; strcasestr is a GNU extension we have,
 * but a NULL haystack must be tolerated. */
static int has(const char *hay, const char *needle)
{
    return hay && strcasestr(hay, needle) != NULL;
}

static char *join_url(const char *base, const char *tail)
{
    size_t n = strlen(base);
    char *s;

    while (n > 0 && base[n - 1] == '/')
        n--;
    if (asprintf(&s, "%.*s%s", (int)n, base, tail) < 0)
        return NULL;
    return s;
}

const char *llm_err_name(enum llm_err err)
{
    if ((unsigned)err >= LLM_E__COUNT)
        return "unknown";
    return err_table[err].name;
}

int llm_err_transient(enum llm_err err)
{
    return (unsigned)err < LLM_E__COUNT && err_table[err].transient;
}

/* --- configuration and lifetime ----------------------------------------- */

void llm_config_default(struct llm_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->url = "http://localhost:1234/v1";
    cfg->model = "deepseek-coder-7b-instruct";
    cfg->connect_timeout_ms = 10000;
    cfg->idle_timeout_ms = 120000;
    cfg->total_timeout_ms = 900000;
    cfg->context_tokens = 4096;
    cfg->max_tokens = 1024;
    cfg->temperature = 0.2;
    cfg->max_retries = 3;
    cfg->backoff_initial_ms = 1000;
    cfg->backoff_max_ms = 30000;
    cfg->stream = 1;
    cfg->slots = 1;
}

/* Splits the comma-separated URL list into endpoints. -EINVAL for an empty
 * entry, one that is not http(s), or too many. */
static int endpoints_parse(struct llm *llm, const char *list)
{
    const char *p = list;

    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            n--;
        }
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == 0 || llm->nep == MAX_ENDPOINTS ||
            (strncmp(p, "http://", 7) != 0 && strncmp(p, "https://", 8) != 0))
            return -EINVAL;
        struct endpoint *e = &llm->ep[llm->nep++];
        if (!(e->url = strndup(p, n)))
            return -ENOMEM;
        size_t rn = n;
        while (rn > 0 && e->url[rn - 1] == '/')
            rn--;
        if (rn >= 3 && strncmp(e->url + rn - 3, "/v1", 3) == 0)
            rn -= 3;
        e->chat_url = join_url(e->url, "/chat/completions");
        e->models_url = join_url(e->url, "/models");
        e->root = strndup(e->url, rn);
        if (!e->chat_url || !e->models_url || !e->root)
            return -ENOMEM;
        snprintf(e->model, sizeof e->model, "%s", llm->model);
        if (!end)
            break;
        p = end + 1;
        if (!*p)
            return -EINVAL;     /* a trailing comma: an empty entry */
    }
    return llm->nep ? 0 : -EINVAL;
}

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int llm_create(const struct llm_config *cfg, struct llm **out)
{
    struct llm *llm;
    pthread_condattr_t ca;

    *out = NULL;
    if (!cfg->url || (strncmp(cfg->url, "http://", 7) != 0 &&
                      strncmp(cfg->url, "https://", 8) != 0) ||
        (cfg->context_fixed && cfg->context_tokens < MIN_CONTEXT))
        return -EINVAL;
    if (!cfg->model || !*cfg->model)
        return -EINVAL;
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return -EIO;

    llm = calloc(1, sizeof *llm);
    if (!llm)
        return -ENOMEM;
    atomic_init(&llm->cancelled, 0);
    atomic_init(&llm->format, FORMAT_SCHEMA);
    pthread_mutex_init(&llm->lock, NULL);
    /* Backoff sleeps are measured on the monotonic clock so that a clock
     * step cannot stretch them. */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&llm->wake, &ca);
    pthread_condattr_destroy(&ca);

    llm->cfg = *cfg;
    llm->est_scale = 1.0;
    llm->url = strdup(cfg->url);
    llm->model = strdup(cfg->model);
    if (cfg->api_key && *cfg->api_key) {
        llm->api_key = strdup(cfg->api_key);
        if (!llm->api_key ||
            asprintf(&llm->auth_header, "Authorization: Bearer %s",
                     llm->api_key) < 0) {
            llm->auth_header = NULL;
            llm_free(llm);
            return -ENOMEM;
        }
    }
    if (!llm->url || !llm->model) {
        llm_free(llm);
        return -ENOMEM;
    }
    int rc = endpoints_parse(llm, llm->url);
    if (rc == 0) {
        const char *urls[MAX_ENDPOINTS];
        for (unsigned i = 0; i < llm->nep; i++)
            urls[i] = llm->ep[i].url;
        rc = llm_sched_create(llm->nep, urls, cfg->slots, &llm->sched);
    }
    if (rc < 0) {
        llm_free(llm);
        return rc;
    }
    llm->cfg.url = llm->url;
    llm->cfg.model = llm->model;
    llm->cfg.api_key = llm->api_key;
    *out = llm;
    return 0;
}

void llm_free(struct llm *llm)
{
    if (!llm)
        return;
    pthread_mutex_destroy(&llm->lock);
    pthread_cond_destroy(&llm->wake);
    free(llm->url);
    free(llm->model);
    if (llm->api_key)
        memset(llm->api_key, 0, strlen(llm->api_key));
    free(llm->api_key);
    if (llm->auth_header)
        memset(llm->auth_header, 0, strlen(llm->auth_header));
    free(llm->auth_header);
    for (unsigned i = 0; i < llm->nep; i++) {
        free(llm->ep[i].url);
        free(llm->ep[i].chat_url);
        free(llm->ep[i].models_url);
        free(llm->ep[i].root);
    }
    llm_sched_free(llm->sched);
    free(llm);
}

struct llm_sched *llm_scheduler(struct llm *llm)
{
    return llm->sched;
}

unsigned llm_context(const struct llm *llm)
{
    struct llm *l = (struct llm *)llm;  /* the lock, not the state */
    unsigned ctx = 0;

    if (llm->cfg.context_fixed)
        return llm->cfg.context_tokens;
    pthread_mutex_lock(&l->lock);
    for (unsigned i = 0; i < llm->nep; i++)
        if (llm->ep[i].context && (!ctx || llm->ep[i].context < ctx))
            ctx = llm->ep[i].context;
    pthread_mutex_unlock(&l->lock);
    return ctx ? ctx : llm->cfg.context_tokens;
}

const char *llm_context_source(const struct llm *llm)
{
    struct llm *l = (struct llm *)llm;  /* the lock, not the state */
    int learned = 0;

    if (llm->cfg.context_fixed)
        return "setting";
    pthread_mutex_lock(&l->lock);
    for (unsigned i = 0; i < llm->nep; i++)
        learned |= llm->ep[i].context != 0;
    pthread_mutex_unlock(&l->lock);
    return learned ? "server" : "default";
}

int llm_last_error(struct llm *llm, char *buf, size_t len)
{
    pthread_mutex_lock(&llm->lock);
    snprintf(buf, len, "%s", llm->last_error);
    pthread_mutex_unlock(&llm->lock);
    return buf[0] != '\0';
}

void llm_session_set_name(struct llm_session *s, const char *name)
{
    snprintf(s->name, sizeof s->name, "%s", name ? name : "");
}

const struct llm_config *llm_config(const struct llm *llm)
{
    return &llm->cfg;
}

void llm_cancel(struct llm *llm)
{
    pthread_mutex_lock(&llm->lock);
    atomic_store(&llm->cancelled, 1);
    for (struct llm_session *s = llm->sessions; s; s = s->next)
        curl_multi_wakeup(s->multi);
    pthread_cond_broadcast(&llm->wake);
    pthread_mutex_unlock(&llm->lock);
    llm_sched_wake(llm->sched);
}

int llm_session_open(struct llm *llm, struct llm_session **out)
{
    struct llm_session *s = calloc(1, sizeof *s);
    struct curl_slist *h = NULL;

    *out = NULL;
    if (!s)
        return -ENOMEM;
    s->llm = llm;
    snprintf(s->name, sizeof s->name, "session");
    s->rng = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)s;
    s->multi = curl_multi_init();
    s->easy = curl_easy_init();
    if (!s->multi || !s->easy)
        goto fail;
    if (!(h = curl_slist_append(h, "Content-Type: application/json")))
        goto fail;
    s->headers = h;
    /* An empty Expect: stops curl from waiting for "100 Continue" on
     * large prompts, which some servers never send. */
    if (!(h = curl_slist_append(h, "Expect:")))
        goto fail;
    if (llm->auth_header && !(h = curl_slist_append(h, llm->auth_header)))
        goto fail;
    pthread_mutex_lock(&llm->lock);
    s->next = llm->sessions;
    if (s->next)
        s->next->prev = s;
    llm->sessions = s;
    pthread_mutex_unlock(&llm->lock);
    *out = s;
    return 0;
fail:
    curl_slist_free_all(s->headers);
    if (s->easy)
        curl_easy_cleanup(s->easy);
    if (s->multi)
        curl_multi_cleanup(s->multi);
    free(s);
    return -ENOMEM;
}

void llm_session_close(struct llm_session *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->llm->lock);
    if (s->prev)
        s->prev->next = s->next;
    else
        s->llm->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    pthread_mutex_unlock(&s->llm->lock);
    curl_easy_cleanup(s->easy);
    curl_multi_cleanup(s->multi);
    curl_slist_free_all(s->headers);
    free(s);
}

/* --- error bodies --------------------------------------------------------- */

/* Pulls message, type and code out of any server's error shape:
 * {"error": {"message", "type", "code"}} (OpenAI, LM Studio, llama.cpp),
 * {"error": "text"} (Ollama), {"object": "error", "message", ...} (vLLM),
 * {"detail": "text"} (FastAPI servers), or a plain-text body. */
static void error_fields(const char *body, char *msg, size_t msglen,
                         char *kind, size_t kindlen)
{
    cJSON *root = body ? cJSON_Parse(body) : NULL;
    const cJSON *e = NULL, *m = NULL, *t = NULL, *c = NULL;

    msg[0] = kind[0] = '\0';
    if (cJSON_IsObject(root)) {
        e = cJSON_GetObjectItemCaseSensitive(root, "error");
        if (cJSON_IsObject(e)) {
            m = cJSON_GetObjectItemCaseSensitive(e, "message");
            t = cJSON_GetObjectItemCaseSensitive(e, "type");
            c = cJSON_GetObjectItemCaseSensitive(e, "code");
        } else if (cJSON_IsString(e)) {
            m = e;
        } else {
            m = cJSON_GetObjectItemCaseSensitive(root, "message");
            t = cJSON_GetObjectItemCaseSensitive(root, "type");
            c = cJSON_GetObjectItemCaseSensitive(root, "code");
            if (!cJSON_IsString(m))
                m = cJSON_GetObjectItemCaseSensitive(root, "detail");
        }
    }
    if (cJSON_IsString(m))
        snprintf(msg, msglen, "%s", m->valuestring);
    else if (!root && body)
        snprintf(msg, msglen, "%.200s", body);   /* plain text: a hint */
    if (cJSON_IsString(c) && cJSON_IsString(t))
        snprintf(kind, kindlen, "%s/%s", t->valuestring, c->valuestring);
    else if (cJSON_IsString(c))
        snprintf(kind, kindlen, "%s", c->valuestring);
    else if (cJSON_IsString(t))
        snprintf(kind, kindlen, "%s", t->valuestring);
    else if (cJSON_IsNumber(c))
        snprintf(kind, kindlen, "%d", c->valueint);
    cJSON_Delete(root);
    /* Keep log lines on one line whatever the server put in them. */
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
}

/* Whether an error's words say the prompt did not fit: OpenAI's
 * context_length_exceeded, vLLM's "maximum context length is", llama.cpp's
 * "exceeds the available context size", LM Studio's "context length of
 * only N tokens" / "context overflows". */
static int says_context(const char *msg, const char *kind)
{
    if (has(kind, "context") || has(kind, "exceed"))
        return 1;
    if (!has(msg, "context"))
        return has(msg, "too many tokens") || has(msg, "prompt is too long");
    return has(msg, "length") || has(msg, "size") || has(msg, "exceed") ||
           has(msg, "too long") || has(msg, "overflow") ||
           has(msg, "maximum") || has(msg, "window");
}

/* The context size a context_too_long error names, or 0: llama.cpp's
 * {"error": {..., "n_ctx": 256}}, vLLM's "maximum context length is 2048
 * tokens", LM Studio's "context length of only 2048 tokens". */
static unsigned error_context(const char *body)
{
    cJSON *root = body ? cJSON_Parse(body) : NULL;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(e, "n_ctx");
    static const char *const says[] = { "maximum context length is ",
                                        "context length of only " };
    unsigned ctx = 0;

    if (!n)
        n = cJSON_GetObjectItemCaseSensitive(root, "n_ctx");
    if (cJSON_IsNumber(n) && n->valuedouble >= 1)
        ctx = (unsigned)n->valuedouble;
    cJSON_Delete(root);
    for (size_t i = 0; !ctx && body && i < sizeof says / sizeof *says; i++) {
        const char *p = strcasestr(body, says[i]);
        if (p)
            ctx = (unsigned)strtoul(p + strlen(says[i]), NULL, 10);
    }
    return ctx;
}

/* The one place an HTTP error status becomes an enum llm_err. */
static enum llm_err classify_status(long status, const char *body,
                                    char *out, size_t outlen)
{
    char msg[384], kind[96];
    enum llm_err err;

    error_fields(body, msg, sizeof msg, kind, sizeof kind);
    if (status == 401 || status == 403)
        err = LLM_E_AUTH;
    else if (status == 404)
        err = (has(msg, "model") || has(kind, "model")) ? LLM_E_NO_MODEL
                                                        : LLM_E_NOT_FOUND;
    else if (status == 429)
        err = LLM_E_RATE_LIMITED;
    else if (says_context(msg, kind))
        err = LLM_E_CONTEXT;      /* some servers answer 500 for it */
    else if (status == 503)
        err = LLM_E_LOADING;
    else if (status >= 500)
        err = LLM_E_SERVER;
    else
        err = LLM_E_BAD_REQUEST;
    set_msg(out, outlen, "HTTP %ld%s%s%s%s%s", status, msg[0] ? ": " : "",
            msg, kind[0] ? " (" : "", kind, kind[0] ? ")" : "");
    return err;
}

/* An error object carried inside a 200: a data: {"error": ...} event, an
 * "error:" SSE line, or a non-streamed body with "error". */
static void inband_error(struct xfer *x, const char *json)
{
    char msg[384], kind[96];

    error_fields(json, msg, sizeof msg, kind, sizeof kind);
    x->err = says_context(msg, kind) ? LLM_E_CONTEXT : LLM_E_IN_BAND;
    if (x->err == LLM_E_CONTEXT)
        x->server_ctx = error_context(json);
    set_msg(x->msg, sizeof x->msg, "error inside a 200 answer: %s%s%s%s",
            msg[0] ? msg : "(no message)", kind[0] ? " (" : "", kind,
            kind[0] ? ")" : "");
}

/* --- answers ------------------------------------------------------------ */

static void take_usage(struct xfer *x, const cJSON *usage)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(usage, "prompt_tokens");
    const cJSON *c =
        cJSON_GetObjectItemCaseSensitive(usage, "completion_tokens");

    if (cJSON_IsNumber(p) && cJSON_IsNumber(c) && p->valuedouble >= 0 &&
        c->valuedouble >= 0) {
        x->have_usage = 1;
        x->usage_prompt = (unsigned)p->valuedouble;
        x->usage_completion = (unsigned)c->valuedouble;
    }
}

/* llama.cpp's "timings" (prompt_n evaluated, cache_n reused) and its
 * "truncated" flag, which says the prompt was cut to fit the context
 * without an error (its context shift). */
static void take_timings(struct xfer *x, const cJSON *root)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "timings");
    const cJSON *pn = cJSON_GetObjectItemCaseSensitive(t, "prompt_n");
    const cJSON *cn = cJSON_GetObjectItemCaseSensitive(t, "cache_n");

    if (cJSON_IsNumber(pn) && pn->valuedouble >= 0) {
        x->have_timings = 1;
        x->prompt_n = (unsigned)pn->valuedouble;
        x->cache_n = cJSON_IsNumber(cn) && cn->valuedouble >= 0
                         ? (unsigned)cn->valuedouble : 0;
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "truncated")) ||
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "truncated")))
        x->cut = 1;
}

static void take_finish(struct xfer *x, const cJSON *choice)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(choice, "finish_reason");

    if (cJSON_IsString(f))
        snprintf(x->finish, sizeof x->finish, "%s", f->valuestring);
}

/* One chat.completion.chunk. Returns 0, or 1 to stop the stream. */
static int on_chunk(struct xfer *x, const char *data, size_t len)
{
    cJSON *root, *choices, *choice, *delta, *content;

    if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
        x->done = 1;
        return 0;
    }
    root = cJSON_ParseWithLength(data, len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        x->err = LLM_E_PROTOCOL;
        set_msg(x->msg, sizeof x->msg,
                "stream event is not a JSON object: %.80s", data);
        return 1;
    }
    if (cJSON_GetObjectItemCaseSensitive(root, "error")) {
        inband_error(x, data);
        cJSON_Delete(root);
        return 1;
    }
    x->chunks++;
    take_usage(x, cJSON_GetObjectItemCaseSensitive(root, "usage"));
    take_timings(x, root);
    choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    choice = cJSON_GetArrayItem(choices, 0);
    if (choice) {
        delta = cJSON_GetObjectItemCaseSensitive(choice, "delta");
        content = cJSON_GetObjectItemCaseSensitive(delta, "content");
        if (cJSON_IsString(content)) {
            size_t n = strlen(content->valuestring);
            if (x->content.len + n > MAX_CONTENT) {
                x->err = LLM_E_PROTOCOL;
                set_msg(x->msg, sizeof x->msg,
                        "answer longer than %u bytes", MAX_CONTENT);
                cJSON_Delete(root);
                return 1;
            }
            if (buf_add(&x->content, content->valuestring, n) < 0) {
                x->err = LLM_E_NOMEM;
                cJSON_Delete(root);
                return 1;
            }
        }
        take_finish(x, choice);
    }
    cJSON_Delete(root);
    return 0;
}

static int on_event(void *arg, enum sse_kind kind, const char *value,
                    size_t len)
{
    struct xfer *x = arg;

    if (kind == SSE_ERROR) {
        inband_error(x, value);
        return 1;
    }
    return on_chunk(x, value, len);
}

/* A whole non-streamed chat.completion body. */
static void parse_completion(struct xfer *x)
{
    cJSON *root = cJSON_ParseWithLength(x->body.p ? x->body.p : "",
                                        x->body.len);
    const cJSON *choice, *message, *content;

    if (!cJSON_IsObject(root)) {
        x->err = LLM_E_PROTOCOL;
        set_msg(x->msg, sizeof x->msg, "answer is not JSON: %.80s",
                x->body.p ? x->body.p : "(empty body)");
        goto out;
    }
    if (cJSON_GetObjectItemCaseSensitive(root, "error")) {
        inband_error(x, x->body.p);
        goto out;
    }
    take_usage(x, cJSON_GetObjectItemCaseSensitive(root, "usage"));
    take_timings(x, root);
    choice = cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(root, "choices"), 0);
    if (!cJSON_IsObject(choice)) {
        x->err = LLM_E_PROTOCOL;
        set_msg(x->msg, sizeof x->msg, "answer has no choices");
        goto out;
    }
    take_finish(x, choice);
    message = cJSON_GetObjectItemCaseSensitive(choice, "message");
    content = cJSON_GetObjectItemCaseSensitive(message, "content");
    if (cJSON_IsString(content) &&
        buf_add(&x->content, content->valuestring,
                strlen(content->valuestring)) < 0)
        x->err = LLM_E_NOMEM;
out:
    cJSON_Delete(root);
}

/* --- curl callbacks ------------------------------------------------------- */

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n;

    x->last_byte_ms = now_ms();
    if (len > 5 && strncmp(p, "HTTP/", 5) == 0) {
        /* A new response (after a 100 Continue, say): forget the last. */
        const char *sp = memchr(p, ' ', len);
        x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        x->sse = 0;
        x->retry_after_ms = 0;
        return len;
    }
    if (len > 13 && strncasecmp(p, "Content-Type:", 13) == 0) {
        x->sse = memmem(p, len, "text/event-stream", 17) != NULL;
    } else if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
        char v[64];
        size_t m = len - 12 < sizeof v - 1 ? len - 12 : sizeof v - 1;
        char *end;
        memcpy(v, p + 12, m);
        v[m] = '\0';
        double secs = strtod(v, &end);
        if (end != v && secs >= 0) {
            x->retry_after_ms = secs * 1000;
        } else {
            time_t when = curl_getdate(v, NULL);   /* an HTTP date */
            if (when > 0 && when > time(NULL))
                x->retry_after_ms = (double)(when - time(NULL)) * 1000;
        }
    }
    return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n;

    x->last_byte_ms = now_ms();
    if (atomic_load(&x->llm->cancelled)) {
        x->err = LLM_E_CANCELLED;
        set_msg(x->msg, sizeof x->msg, "cancelled: btfs is stopping");
        return 0;
    }
    if (x->sse && x->status == 200) {
        int rc = sse_feed(&x->parser, p, len);
        if (rc == 0)
            return len;
        if (rc < 0 && !x->err) {
            x->err = rc == -ENOMEM ? LLM_E_NOMEM : LLM_E_PROTOCOL;
            set_msg(x->msg, sizeof x->msg, "bad event stream: %s",
                    strerror(-rc));
        }
        return 0;                   /* stops curl: CURLE_WRITE_ERROR */
    }
    if (x->body.len + len > MAX_BODY) {
        x->err = LLM_E_PROTOCOL;
        set_msg(x->msg, sizeof x->msg, "answer body over %u bytes",
                MAX_BODY);
        return 0;
    }
    if (buf_add(&x->body, p, len) < 0) {
        x->err = LLM_E_NOMEM;
        return 0;
    }
    return len;
}

/* --- one attempt ------------------------------------------------------------ */

static enum llm_err curl_kind(CURLcode rc, CURL *easy)
{
    curl_off_t connect_us = 0;

    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return LLM_E_REFUSED;
    case CURLE_OPERATION_TIMEDOUT:
        curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &connect_us);
        return connect_us == 0 ? LLM_E_CONNECT_TIMEOUT : LLM_E_TOTAL_TIMEOUT;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return LLM_E_RESET;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
        return LLM_E_PROTOCOL;
    case CURLE_OUT_OF_MEMORY:
        return LLM_E_NOMEM;
    default:
        return LLM_E_INTERNAL;
    }
}

/* Runs one request on the session: 'post' is the JSON body, or NULL for a
 * GET. Fills x; returns x->err (LLM_OK when an HTTP answer arrived whole,
 * whatever its status). */
static enum llm_err perform(struct llm_session *s, const char *url,
                            const char *post, long total_ms, struct xfer *x)
{
    const struct llm_config *cfg = &s->llm->cfg;
    CURL *e = s->easy;
    char errbuf[CURL_ERROR_SIZE] = "";
    double start = now_ms();
    CURLcode rc = CURLE_OK;
    int running = 1;

    curl_easy_reset(e);
    x->last_byte_ms = start;
    sse_init(&x->parser, on_event, x, 0);
    if (curl_easy_setopt(e, CURLOPT_URL, url) ||
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) ||
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf) ||
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->headers) ||
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                         cfg->connect_timeout_ms) ||
        /* curl's own cap is a backstop a second behind ours, so that the
         * poll loop below is what names a timeout. */
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, total_ms + 1000) ||
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) ||
        curl_easy_setopt(e, CURLOPT_HEADERDATA, x) ||
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) ||
        curl_easy_setopt(e, CURLOPT_WRITEDATA, x) ||
        curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L) ||
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") ||
        curl_easy_setopt(e, CURLOPT_USERAGENT, "btfs") ||
        (post && curl_easy_setopt(e, CURLOPT_POSTFIELDS, post))) {
        x->err = LLM_E_INTERNAL;
        set_msg(x->msg, sizeof x->msg, "cannot set up curl");
        return x->err;
    }
    if (curl_multi_add_handle(s->multi, e) != CURLM_OK) {
        x->err = LLM_E_INTERNAL;
        set_msg(x->msg, sizeof x->msg, "cannot start the transfer");
        return x->err;
    }
    while (running && !x->err) {
        if (curl_multi_perform(s->multi, &running) != CURLM_OK) {
            x->err = LLM_E_INTERNAL;
            set_msg(x->msg, sizeof x->msg, "curl_multi_perform failed");
            break;
        }
        if (!running || x->err)
            break;
        double t = now_ms();
        if (atomic_load(&s->llm->cancelled)) {
            x->err = LLM_E_CANCELLED;
            set_msg(x->msg, sizeof x->msg, "cancelled: btfs is stopping");
        } else if (t - start >= (double)total_ms) {
            x->err = LLM_E_TOTAL_TIMEOUT;
            set_msg(x->msg, sizeof x->msg,
                    "no whole answer within %ld ms (total cap)", total_ms);
        } else if (t - x->last_byte_ms >= (double)cfg->idle_timeout_ms) {
            x->err = LLM_E_IDLE_TIMEOUT;
            set_msg(x->msg, sizeof x->msg,
                    "nothing received for %ld ms (idle timeout)",
                    cfg->idle_timeout_ms);
        } else {
            double left = fmin((double)total_ms - (t - start),
                               (double)cfg->idle_timeout_ms -
                                   (t - x->last_byte_ms));
            int wait = (int)fmin(POLL_MS, fmax(1, left));
            if (curl_multi_poll(s->multi, NULL, 0, wait, NULL) != CURLM_OK) {
                x->err = LLM_E_INTERNAL;
                set_msg(x->msg, sizeof x->msg, "curl_multi_poll failed");
            }
        }
    }
    if (!running) {
        int left;
        CURLMsg *m;
        while ((m = curl_multi_info_read(s->multi, &left)))
            if (m->msg == CURLMSG_DONE && m->easy_handle == e)
                rc = m->data.result;
    }
    curl_multi_remove_handle(s->multi, e);

    if (!x->err && rc != CURLE_OK) {
        x->err = curl_kind(rc, e);
        set_msg(x->msg, sizeof x->msg, "%s: %s", url,
                errbuf[0] ? errbuf : curl_easy_strerror(rc));
        /* curl may quote parts of the URL out of context. */
        redact_known(x->msg, sizeof x->msg, x->msg, s->llm->url);
    }
    if (!x->err && x->sse && x->status == 200) {
        int frc = sse_finish(&x->parser);
        if (frc < 0 && !x->err) {
            x->err = LLM_E_PROTOCOL;
            set_msg(x->msg, sizeof x->msg, "bad event stream at its end");
        }
    }
    sse_free(&x->parser);
    return x->err;
}

/* --- requests ----------------------------------------------------------- */

/* The request body as JSON text (malloc'd), or NULL when out of memory.
 * cJSON's Add*ToObject helpers return NULL on failure and leave the tree
 * whole, so one check at the end covers every step. */
static char *request_body(const struct llm *llm, const struct llm_request *req,
                          const char *model, unsigned max_tokens,
                          int cache_prompt, int stream,
                          const cJSON *schema, enum format fmt)
{
    const struct llm_config *cfg = &llm->cfg;
    cJSON *o = cJSON_CreateObject();
    cJSON *msgs, *rf, *js, *copy;
    char *text = NULL;
    int bad;

    if (!o)
        return NULL;
    bad = !cJSON_AddStringToObject(o, "model", model);
    bad |= !(msgs = cJSON_AddArrayToObject(o, "messages"));
    for (size_t i = 0; !bad && i < req->nmessages; i++) {
        cJSON *m = cJSON_CreateObject();
        if (!m || !cJSON_AddItemToArray(msgs, m)) {
            cJSON_Delete(m);
            bad = 1;
            break;
        }
        bad |= !cJSON_AddStringToObject(m, "role", req->messages[i].role);
        bad |= !cJSON_AddStringToObject(m, "content",
                                        req->messages[i].content);
    }
    bad |= !cJSON_AddNumberToObject(o, "temperature",
                                    req->use_temperature ? req->temperature
                                                         : cfg->temperature);
    bad |= !cJSON_AddNumberToObject(o, "max_tokens", max_tokens);
    bad |= !cJSON_AddBoolToObject(o, "stream", stream);
    /* llama-server keeps a slot's prompt so that a next prompt sharing its
     * start is not read again; sent only to servers known to take it
     * (they answered /props), since a strict one may reject the field. */
    if (cache_prompt)
        bad |= !cJSON_AddTrueToObject(o, "cache_prompt");
    if (!bad && req->nstop > 0) {
        /* OpenAI allows at most four stop strings. */
        int n = req->nstop < 4 ? (int)req->nstop : 4;
        cJSON *stop = cJSON_CreateStringArray(
            (const char *const *)req->stop, n);
        if (!stop || !cJSON_AddItemToObject(o, "stop", stop)) {
            cJSON_Delete(stop);
            bad = 1;
        }
    }
    if (!bad && req->use_seed)
        bad |= !cJSON_AddNumberToObject(o, "seed", (double)req->seed);
    if (!bad && schema && fmt != FORMAT_NONE) {
        bad |= !(rf = cJSON_AddObjectToObject(o, "response_format"));
        bad |= bad || !cJSON_AddStringToObject(rf, "type", format_names[fmt]);
        if (!bad && fmt == FORMAT_SCHEMA) {
            bad |= !(js = cJSON_AddObjectToObject(rf, "json_schema"));
            bad |= bad || !cJSON_AddStringToObject(
                              js, "name",
                              req->schema_name ? req->schema_name : "answer");
            bad |= bad || !cJSON_AddTrueToObject(js, "strict");
            copy = bad ? NULL : cJSON_Duplicate(schema, 1);
            if (!copy || !cJSON_AddItemToObject(js, "schema", copy)) {
                cJSON_Delete(copy);
                bad = 1;
            }
        }
    }
    if (!bad)
        text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

unsigned llm_estimate_text_tokens(const char *text)
{
    /* About 3 bytes a token: code and JSON tokenize denser than English
     * prose (4 bytes a token), and an estimate that is high only costs some
     * memory we could have shown the model, while one that is low costs a
     * context_too_long round trip. */
    return text ? (unsigned)((strlen(text) + 2) / 3) : 0;
}

unsigned llm_estimate_tokens(const struct llm_request *req)
{
    unsigned n = 3;                 /* the assistant turn's priming */

    for (size_t i = 0; i < req->nmessages; i++)
        n += MESSAGE_OVERHEAD_TOKENS +
             llm_estimate_text_tokens(req->messages[i].content);
    return n;
}

static double est_scale(const struct llm *llm)
{
    struct llm *l = (struct llm *)llm;  /* the lock, not the state */
    double k;

    pthread_mutex_lock(&l->lock);
    k = llm->est_scale;
    pthread_mutex_unlock(&l->lock);
    return k;
}

/* The answer's budget: as asked, but at most half the context, so that a
 * small context still leaves room for a prompt. */
static unsigned answer_budget(unsigned asked, unsigned ctx)
{
    return asked < ctx / 2 ? asked : ctx / 2;
}

unsigned llm_prompt_budget(const struct llm *llm, unsigned max_tokens)
{
    unsigned ctx = llm_context(llm);
    unsigned answer = answer_budget(max_tokens ? max_tokens
                                               : llm->cfg.max_tokens, ctx);

    return ctx > answer ? (unsigned)((ctx - answer) / est_scale(llm)) : 0;
}

/* Learns from a server's count how far our estimate is off. A count above
 * the estimate is taken at once (a low estimate costs a failed request);
 * one below only moves it slowly, and never below 3/4 of the plain
 * estimate. */
static void learn_scale(struct llm *llm, unsigned estimate, unsigned counted)
{
    double obs;

    if (estimate < 32 || counted == 0)
        return;
    obs = (double)counted / estimate;
    pthread_mutex_lock(&llm->lock);
    if (obs > llm->est_scale)
        llm->est_scale = fmin(obs, 4.0);
    else
        llm->est_scale = fmax(0.75, llm->est_scale * 0.9 + obs * 0.1);
    pthread_mutex_unlock(&llm->lock);
}

/* A server's context, learned from a health check or an error. */
static void learn_context(struct llm *llm, int ep, unsigned ctx)
{
    if (ep < 0 || ctx < MIN_CONTEXT)
        return;
    pthread_mutex_lock(&llm->lock);
    llm->ep[ep].context = ctx;
    pthread_mutex_unlock(&llm->lock);
}

void llm_result_free(struct llm_result *r)
{
    free(r->content);
    cJSON_Delete(r->json);
    memset(r, 0, sizeof *r);
}

/* Sleeps before retry 'attempt' (1-based): full jitter over the upper half of
 * an exponentially growing pause, or at least what Retry-After asked for, at
 * most backoff_max_ms. Returns early (with -ECANCELED) on llm_cancel. */
static int backoff(struct llm_session *s, unsigned attempt,
                   double retry_after_ms)
{
    struct llm *llm = s->llm;
    double pause = (double)llm->cfg.backoff_initial_ms;
    struct timespec until;
    int rc = 0;

    for (unsigned i = 1; i < attempt && pause < llm->cfg.backoff_max_ms; i++)
        pause *= 2;
    pause = fmin(pause, (double)llm->cfg.backoff_max_ms);
    pause = pause / 2 + (pause / 2) * ((double)rand_r(&s->rng) / RAND_MAX);
    pause = fmin(fmax(pause, retry_after_ms),
                 (double)llm->cfg.backoff_max_ms);

    clock_gettime(CLOCK_MONOTONIC, &until);
    long long ns = (long long)until.tv_nsec + (long long)(pause * 1e6);
    until.tv_sec += (time_t)(ns / 1000000000LL);
    until.tv_nsec = (long)(ns % 1000000000LL);
    pthread_mutex_lock(&llm->lock);
    while (!atomic_load(&llm->cancelled) && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&llm->wake, &llm->lock, &until);
    pthread_mutex_unlock(&llm->lock);
    return atomic_load(&llm->cancelled) ? -ECANCELED : 0;
}

/* Structured output: find the object and the schema's required fields. */
static void check_structured(const cJSON *schema, struct llm_result *res)
{
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(schema, "required");
    enum extract_json_rule rule;
    const cJSON *f;

    res->json = extract_json(res->content ? res->content : "", &rule);
    if (!res->json) {
        res->err = LLM_E_BAD_JSON;
        set_msg(res->error, sizeof res->error,
                "no JSON object in the answer (%zu bytes, format %s)",
                res->content ? strlen(res->content) : (size_t)0,
                res->response_format);
        return;
    }
    cJSON_ArrayForEach(f, req) {
        const cJSON *v;
        if (!cJSON_IsString(f))
            continue;
        v = cJSON_GetObjectItemCaseSensitive(res->json, f->valuestring);
        if (!v || cJSON_IsNull(v)) {
            res->err = LLM_E_MISSING_FIELD;
            set_msg(res->error, sizeof res->error,
                    "the answer's JSON has no \"%s\" (found by rule %s)",
                    f->valuestring, extract_json_rule_name(rule));
            return;
        }
    }
}

static void account(struct llm *llm, const struct llm_result *r)
{
    struct llm_usage *u = &llm->usage;

    pthread_mutex_lock(&llm->lock);
    u->calls++;
    u->requests += r->attempts;
    u->ok += r->err == LLM_OK;
    u->prompt_tokens += r->prompt_tokens;
    u->completion_tokens += r->completion_tokens;
    u->estimated += r->usage_estimated;
    u->prompt_evaluated += r->prompt_evaluated;
    u->prompt_cached += r->prompt_cached;
    u->timed_calls += r->have_timings != 0;
    u->latency_ms_total += r->latency_ms;
    if (r->latency_ms > u->latency_ms_max)
        u->latency_ms_max = r->latency_ms;
    if (r->err != LLM_OK && (unsigned)r->err < LLM_E__COUNT)
        u->errors[r->err]++;
    /* The server's last word on a real request: an answer clears it,
     * a failure of the server or the connection replaces it, and what
     * never reached a server (over_budget, cancelled) leaves it. */
    switch (r->err) {
    case LLM_OK:
    case LLM_E_TRUNCATED:
    case LLM_E_BAD_JSON:
    case LLM_E_MISSING_FIELD:
        llm->last_error[0] = '\0';
        break;
    case LLM_E_CANCELLED:
    case LLM_E_BUDGET:
    case LLM_E_NOMEM:
    case LLM_E_INTERNAL:
        break;
    default:
        set_msg(llm->last_error, sizeof llm->last_error, "%s: %s",
                llm_err_name(r->err), r->error);
        break;
    }
    pthread_mutex_unlock(&llm->lock);
}

/* One attempt at a chat completion: HTTP, then what the answer says. */
static void chat_attempt(struct llm_session *s, int ep, const char *body,
                         struct xfer *x, struct llm_result *res)
{
    struct llm *llm = s->llm;

    memset(x, 0, sizeof *x);
    x->llm = llm;
    perform(s, llm->ep[ep].chat_url, body, llm->cfg.total_timeout_ms, x);
    res->attempts++;
    res->http_status = x->status;
    if (!x->err && x->status != 200) {
        x->err = classify_status(x->status, x->body.p, x->msg, sizeof x->msg);
        if (x->err == LLM_E_CONTEXT)
            x->server_ctx = error_context(x->body.p);
    } else if (!x->err && !x->sse && x->body.len >= 5 &&
               (strncmp(x->body.p, "data:", 5) == 0 || x->body.p[0] == ':')) {
        /* An event stream labelled as something else: parse it as one. */
        sse_init(&x->parser, on_event, x, 0);
        if (sse_feed(&x->parser, x->body.p, x->body.len) == 0)
            sse_finish(&x->parser);
        sse_free(&x->parser);
        if (!x->err && !x->done && !x->finish[0]) {
            x->err = LLM_E_PROTOCOL;
            set_msg(x->msg, sizeof x->msg, "stream ended early");
        }
    } else if (!x->err && !x->sse) {
        parse_completion(x);
    } else if (!x->err && !x->done && !x->finish[0]) {
        /* A stream that ends without a finish_reason or [DONE] was cut. */
        x->err = LLM_E_PROTOCOL;
        set_msg(x->msg, sizeof x->msg,
                "stream ended early (%d events, no finish_reason, no "
                "[DONE])", x->chunks);
    }
    if (!x->err && strcmp(x->finish, "length") == 0) {
        x->err = LLM_E_TRUNCATED;
        set_msg(x->msg, sizeof x->msg,
                "answer cut at the max_tokens limit (finish_reason "
                "\"length\", %zu bytes kept)", x->content.len);
    } else if (!x->err && x->content.len == 0) {
        x->err = LLM_E_EMPTY;
        set_msg(x->msg, sizeof x->msg, "the answer has no content%s%s",
                x->finish[0] ? " (finish_reason " : "",
                x->finish[0] ? x->finish : "");
        if (x->finish[0])
            strncat(x->msg, ")", sizeof x->msg - strlen(x->msg) - 1);
    }
}

static cJSON *probe(struct llm_session *s, const char *url, const char *post,
                    struct xfer *x);

/* The prompt's size counted by the server's own tokenizer (llama-server's
 * POST /tokenize, on an endpoint known to have it), with the same
 * per-message allowance as the estimate; 0 when no server can count. */
static unsigned server_count(struct llm_session *s,
                             const struct llm_request *req)
{
    struct llm *llm = s->llm;
    struct buf text = { 0 };
    struct xfer x;
    cJSON *body, *root = NULL;
    char *post = NULL, *url = NULL;
    unsigned n = 0;
    int ep = -1;

    for (unsigned i = 0; ep < 0 && i < llm->nep; i++) {
        pthread_mutex_lock(&llm->lock);
        int can = llm->ep[i].llamacpp;
        pthread_mutex_unlock(&llm->lock);
        if (can && llm_sched_endpoint_up(llm->sched, (int)i))
            ep = (int)i;
    }
    if (ep < 0)
        return 0;
    for (size_t i = 0; i < req->nmessages; i++)
        if (buf_add(&text, req->messages[i].content,
                    strlen(req->messages[i].content)) < 0)
            goto out;
    body = cJSON_CreateObject();
    if (body && cJSON_AddStringToObject(body, "content",
                                        text.p ? text.p : ""))
        post = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    url = join_url(llm->ep[ep].root, "/tokenize");
    if (!post || !url)
        goto out;
    root = probe(s, url, post, &x);
    buf_free(&x.body);
    buf_free(&x.content);
    const cJSON *toks = cJSON_GetObjectItemCaseSensitive(root, "tokens");
    if (cJSON_IsArray(toks))
        n = 3 + (unsigned)cJSON_GetArraySize(toks) +
            (unsigned)req->nmessages * MESSAGE_OVERHEAD_TOKENS;
out:
    cJSON_Delete(root);
    buf_free(&text);
    free(post);
    free(url);
    return n;
}

/* Whether an attempt's outcome says the endpoint could not be reached (1:
 * it answered, 0: it did not, -1: no news). */
static int reached(enum llm_err err, long status)
{
    switch (err) {
    case LLM_E_REFUSED:
    case LLM_E_CONNECT_TIMEOUT:
        return 0;
    case LLM_E_CANCELLED:
    case LLM_E_NOMEM:
    case LLM_E_INTERNAL:
        return -1;
    case LLM_E_RESET:
        return status ? 1 : 0;
    default:
        return 1;
    }
}

enum llm_err llm_chat(struct llm_session *s, const struct llm_request *req,
                      struct llm_result *res)
{
    struct llm *llm = s->llm;
    unsigned estimate = llm_estimate_tokens(req);
    unsigned context = llm_context(llm);
    unsigned max_tokens = answer_budget(req->max_tokens ? req->max_tokens
                                                        : llm->cfg.max_tokens,
                                        context);
    double scaled = estimate * est_scale(llm);
    double start = now_ms();
    int stream = req->stream == LLM_STREAM_DEFAULT ? llm->cfg.stream != 0
                 : req->stream == LLM_STREAM_ON;
    cJSON *schema = NULL;
    struct xfer x;
    struct llm_sched_ticket ticket = { 0, -1, NULL };
    unsigned retries = 0;
    enum format fmt;

    memset(res, 0, sizeof *res);
    memset(&x, 0, sizeof x);
    res->endpoint = -1;
    if (req->schema) {
        schema = cJSON_Parse(req->schema);
        if (!cJSON_IsObject(schema)) {
            res->err = LLM_E_INTERNAL;
            set_msg(res->error, sizeof res->error,
                    "the caller's JSON schema is not a JSON object");
            goto out;
        }
    }
    if (atomic_load(&llm->cancelled)) {
        res->err = LLM_E_CANCELLED;
        set_msg(res->error, sizeof res->error, "cancelled: btfs is stopping");
        goto out;
    }
    /* The server's own count, where it can give one; it also teaches the
     * estimate, so that the callers' next budgets are right. */
    unsigned counted = server_count(s, req);
    if (counted) {
        learn_scale(llm, estimate, counted);
        scaled = counted;
    }
    if (scaled + max_tokens > (double)context) {
        res->err = LLM_E_BUDGET;
        set_msg(res->error, sizeof res->error,
                "prompt of about %.0f tokens does not fit: context %u minus "
                "%u for the answer leaves %u", scaled, context, max_tokens,
                context > max_tokens ? context - max_tokens : 0);
        goto out;
    }

    fmt = (enum format)atomic_load(&llm->format);
    for (;;) {
        /* A slot first: until one is free the request is not on the wire,
         * so no timeout runs while it waits. */
        int ep = llm_sched_acquire(llm->sched, req->priority, s->name,
                                   &ticket, &llm->cancelled);
        if (ep < 0) {
            res->err = ep == -ENOMEM ? LLM_E_NOMEM : LLM_E_CANCELLED;
            set_msg(res->error, sizeof res->error, "%s",
                    ep == -ENOMEM ? "out of memory"
                                  : "cancelled: btfs is stopping");
            break;
        }
        char model[sizeof llm->ep[0].model];
        int cache_prompt;
        pthread_mutex_lock(&llm->lock);
        memcpy(model, llm->ep[ep].model, sizeof model);
        cache_prompt = llm->ep[ep].llamacpp;
        pthread_mutex_unlock(&llm->lock);
        char *body = request_body(llm, req, model, max_tokens, cache_prompt,
                                  stream, schema, fmt);

        if (!body) {
            llm_sched_release(llm->sched, &ticket, -1);
            res->err = LLM_E_NOMEM;
            set_msg(res->error, sizeof res->error, "out of memory");
            break;
        }
        chat_attempt(s, ep, body, &x, res);
        free(body);
        llm_sched_release(llm->sched, &ticket, reached(x.err, x.status));
        res->endpoint = ep;
        /* A server that cut the prompt to fit (llama.cpp's context shift)
         * answered another question than ours: as good as too long. */
        if (!x.err && (x.cut || (x.have_usage && estimate >= 64 &&
                                 x.usage_prompt <
                                     estimate * SILENT_CUT_RATIO))) {
            x.err = LLM_E_CONTEXT;
            set_msg(x.msg, sizeof x.msg, "the server cut the prompt to fit "
                    "its context without an error (%s; it counted %u "
                    "tokens, about %u were sent)",
                    x.cut ? "truncated" : "prompt_tokens far too low",
                    x.usage_prompt, estimate);
            if (x.have_usage && x.usage_prompt >= MIN_CONTEXT)
                x.server_ctx = x.usage_prompt + max_tokens;
        }
        if (x.err == LLM_E_CONTEXT) {
            size_t n = strlen(x.msg);
            if (x.server_ctx)
                learn_context(llm, ep, x.server_ctx);
            if (x.server_ctx && !llm->cfg.context_fixed)
                snprintf(x.msg + n, sizeof x.msg - n, "; the server's "
                         "context is %u tokens (btfs uses it from now on; "
                         "BT_LLM_CONTEXT=%u says it at start, or give the "
                         "server a larger context)", x.server_ctx,
                         x.server_ctx);
            else if (x.server_ctx)
                snprintf(x.msg + n, sizeof x.msg - n, "; the server's "
                         "context is %u tokens, not BT_LLM_CONTEXT=%u: set "
                         "BT_LLM_CONTEXT=%u (or 0), or give the server a "
                         "larger context", x.server_ctx, context,
                         x.server_ctx);
            else
                snprintf(x.msg + n, sizeof x.msg - n, "; the server's "
                         "context is smaller than the %u tokens btfs "
                         "assumed: set BT_LLM_CONTEXT to it, or give the "
                         "server a larger context", context);
        }
        res->err = x.err;
        snprintf(res->error, sizeof res->error, "%s", x.msg);
        if (schema)
            res->response_format = format_names[fmt];
        /* A server that rejects our response_format with a 400 gets the
         * next simpler one at once (not counted as a retry). */
        if (schema && x.err == LLM_E_BAD_REQUEST && fmt != FORMAT_NONE) {
            fmt++;
            buf_free(&x.body);
            buf_free(&x.content);
            continue;
        }
        /* Once the server has taken a format without a 400, later calls
         * start from it rather than paying the rejections again. */
        if (schema && x.err != LLM_E_BAD_REQUEST &&
            x.status >= 200 && x.status < 300) {
            int seen = atomic_load(&llm->format);
            while (seen < (int)fmt &&
                   !atomic_compare_exchange_weak(&llm->format, &seen,
                                                 (int)fmt))
                ;
        }
        if (!llm_err_transient(x.err) || retries >= llm->cfg.max_retries)
            break;
        retries++;
        buf_free(&x.body);
        buf_free(&x.content);
        /* Another endpoint that is up takes the retry at once. */
        if (!reached(x.err, x.status) && llm->nep > 1)
            continue;
        if (backoff(s, retries, x.retry_after_ms) < 0) {
            res->err = LLM_E_CANCELLED;
            set_msg(res->error, sizeof res->error,
                    "cancelled: btfs is stopping");
            break;
        }
    }

    if (x.content.len > 0 && res->err != LLM_E_NOMEM) {
        res->content = x.content.p;     /* the result takes the buffer */
        x.content.p = NULL;
    }
    snprintf(res->finish_reason, sizeof res->finish_reason, "%s", x.finish);
    if (x.have_usage) {
        res->prompt_tokens = x.usage_prompt;
        res->completion_tokens = x.usage_completion;
        if (res->err == LLM_OK || res->err == LLM_E_TRUNCATED)
            learn_scale(llm, estimate, x.usage_prompt);
    } else if (res->content) {
        /* No usage object (vLLM and others omit it from streams unless
         * asked): count what the model must have read and written. */
        res->usage_estimated = 1;
        res->prompt_tokens = estimate;
        res->completion_tokens = llm_estimate_text_tokens(res->content);
    }
    if (x.have_timings) {
        res->have_timings = 1;
        res->prompt_evaluated = x.prompt_n;
        res->prompt_cached = x.cache_n;
    }
    if (res->err == LLM_OK && schema)
        check_structured(schema, res);
    if (res->err == LLM_OK)
        res->error[0] = '\0';
out:
    buf_free(&x.body);
    buf_free(&x.content);
    cJSON_Delete(schema);
    res->latency_ms = now_ms() - start;
    account(llm, res);
    return res->err;
}

/* --- health ------------------------------------------------------------- */

/* Whether the server's id names the configured model: the same ignoring
 * case, after a publisher prefix or a path ("lmstudio-community/x",
 * llama-server's "/models/x.gguf"), and without a ".gguf" extension. */
static int same_model(const char *id, const char *want)
{
    const char *a = strrchr(id, '/'), *b = strrchr(want, '/');
    size_t na, nb;

    if (strcasecmp(id, want) == 0)
        return 1;
    a = a ? a + 1 : id;
    b = b ? b + 1 : want;
    na = strlen(a);
    nb = strlen(b);
    if (na > 5 && strcasecmp(a + na - 5, ".gguf") == 0)
        na -= 5;
    if (nb > 5 && strcasecmp(b + nb - 5, ".gguf") == 0)
        nb -= 5;
    return na == nb && strncasecmp(a, b, na) == 0;
}

/* One GET (or POST when 'post') with the health cap; the caller frees x's
 * buffers. Returns the parsed body of a 200 (caller frees), else NULL. */
static cJSON *probe(struct llm_session *s, const char *url, const char *post,
                    struct xfer *x)
{
    long cap = s->llm->cfg.total_timeout_ms < HEALTH_TIMEOUT_MS
                   ? s->llm->cfg.total_timeout_ms : HEALTH_TIMEOUT_MS;

    memset(x, 0, sizeof *x);
    x->llm = s->llm;
    perform(s, url, post, cap, x);
    if (x->err || x->status != 200)
        return NULL;
    return cJSON_ParseWithLength(x->body.p ? x->body.p : "", x->body.len);
}

static unsigned num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsNumber(v) && v->valuedouble >= 1 &&
                   v->valuedouble < 1e9 ? (unsigned)v->valuedouble : 0;
}

/* Ollama's context for our model: /api/show's "parameters" text holds a
 * line "num_ctx N" when the model or the user set one. Without it Ollama
 * uses its own default (OLLAMA_CONTEXT_LENGTH), which it does not show:
 * 0, and the setting stays. */
static unsigned ollama_context(struct llm_session *s, struct endpoint *e)
{
    char model[sizeof e->model], *url, *post = NULL;
    cJSON *req = cJSON_CreateObject(), *root = NULL;
    const cJSON *params;
    struct xfer x;
    unsigned ctx = 0;

    pthread_mutex_lock(&s->llm->lock);
    memcpy(model, e->model, sizeof model);
    pthread_mutex_unlock(&s->llm->lock);
    if (req && cJSON_AddStringToObject(req, "model", model))
        post = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    url = post ? join_url(e->root, "/api/show") : NULL;
    if (url) {
        root = probe(s, url, post, &x);
        buf_free(&x.body);
        buf_free(&x.content);
    }
    params = cJSON_GetObjectItemCaseSensitive(root, "parameters");
    if (cJSON_IsString(params)) {
        for (const char *p = params->valuestring; (p = strstr(p, "num_ctx"));
             p += 7) {
            char *end;
            unsigned long n;
            if (p != params->valuestring && p[-1] != '\n')
                continue;           /* not at the start of a line */
            n = strtoul(p + 7, &end, 10);
            if (end != p + 7 && n > 0 && n < 1000000000UL)
                ctx = (unsigned)n;
        }
    }
    cJSON_Delete(root);
    free(url);
    cJSON_free(post);
    return ctx;
}

/* Asks an endpoint that has just come up what it is: llama-server's
 * /props (total_slots; n_ctx per slot), else LM Studio's /api/v0/models
 * (loaded_context_length of our model), else Ollama's /api/show (num_ctx
 * of our model). Servers without any of them keep the settings. */
static void learn_server(struct llm_session *s, int ep)
{
    struct llm *llm = s->llm;
    struct endpoint *e = &llm->ep[ep];
    struct xfer x;
    char *url = join_url(e->root, "/props");
    cJSON *root = url ? probe(s, url, NULL, &x) : NULL;
    unsigned slots = 0, ctx = 0;
    int llamacpp = 0;

    free(url);
    if (cJSON_IsObject(root)) {
        const cJSON *g = cJSON_GetObjectItemCaseSensitive(
            root, "default_generation_settings");
        slots = num(root, "total_slots");
        ctx = num(g, "n_ctx");
        if (!ctx)
            ctx = num(root, "n_ctx");
        llamacpp = slots || ctx;
    }
    cJSON_Delete(root);
    buf_free(&x.body);
    buf_free(&x.content);
    if (!llamacpp && (url = join_url(e->root, "/api/v0/models"))) {
        root = probe(s, url, NULL, &x);
        free(url);
        const cJSON *m;
        char model[sizeof e->model];
        pthread_mutex_lock(&llm->lock);
        memcpy(model, e->model, sizeof model);
        pthread_mutex_unlock(&llm->lock);
        cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(root, "data")) {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
            if (cJSON_IsString(id) && same_model(id->valuestring, model))
                ctx = num(m, "loaded_context_length");
        }
        cJSON_Delete(root);
        buf_free(&x.body);
        buf_free(&x.content);
    }
    if (!llamacpp && !ctx)
        ctx = ollama_context(s, e);
    pthread_mutex_lock(&llm->lock);
    e->llamacpp = llamacpp;
    if (ctx >= MIN_CONTEXT)
        e->context = ctx;
    pthread_mutex_unlock(&llm->lock);
    llm_sched_set_endpoint(llm->sched, ep, 1, slots);
}

/* The health of one endpoint, into h (zeroed by the caller). */
static void health_one(struct llm_session *s, int ep, struct llm_health *h)
{
    struct llm *llm = s->llm;
    struct endpoint *e = &llm->ep[ep];
    struct xfer x;
    cJSON *root = NULL;
    const cJSON *data, *m;
    struct buf names = { 0 };
    const char *only = NULL;

    memset(&x, 0, sizeof x);
    x.llm = llm;
    perform(s, e->models_url, NULL,
            llm->cfg.total_timeout_ms < HEALTH_TIMEOUT_MS
                ? llm->cfg.total_timeout_ms : HEALTH_TIMEOUT_MS, &x);
    if (x.err) {
        h->err = x.err;
        snprintf(h->error, sizeof h->error, "%s", x.msg);
        goto out;
    }
    if (x.status != 200) {
        h->err = classify_status(x.status, x.body.p, h->error,
                                 sizeof h->error);
        /* The server answered, so it is up; what it said is the error. */
        h->reachable = 1;
        goto out;
    }
    root = cJSON_ParseWithLength(x.body.p ? x.body.p : "", x.body.len);
    data = cJSON_GetObjectItemCaseSensitive(root, "data");
    if (!cJSON_IsArray(data)) {
        h->err = LLM_E_PROTOCOL;
        set_msg(h->error, sizeof h->error,
                "%s answered 200 without a model list: %.80s",
                e->models_url, x.body.p ? x.body.p : "(empty)");
        goto out;
    }
    h->reachable = 1;
    snprintf(h->model, sizeof h->model, "%s", llm->model);
    cJSON_ArrayForEach(m, data) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
        if (!cJSON_IsString(id))
            continue;
        if (h->nmodels++ > 0 && buf_add(&names, ", ", 2) < 0)
            break;
        if (buf_add(&names, id->valuestring, strlen(id->valuestring)) < 0)
            break;
        only = id->valuestring;
        if (!h->model_listed && same_model(id->valuestring, llm->model)) {
            h->model_listed = 1;
            snprintf(h->model, sizeof h->model, "%s", id->valuestring);
        }
    }
    if (h->model_listed) {
        h->err = LLM_OK;
    } else if (h->nmodels == 1) {
        /* llama-server lists the path given to -m and answers any name;
         * a server with one model can only mean that one. */
        h->err = LLM_OK;
        h->model_listed = 1;
        snprintf(h->model, sizeof h->model, "%s", only);
        set_msg(h->note, sizeof h->note, "model \"%s\" is not listed; "
                "using the server's only model \"%s\"", llm->model, only);
    } else {
        h->err = LLM_E_NO_MODEL;
        if (h->nmodels == 0)
            set_msg(h->error, sizeof h->error,
                    "the server lists no models: load model \"%s\" in it",
                    llm->model);
        else
            set_msg(h->error, sizeof h->error,
                    "model \"%s\" is not among the server's models (%s): "
                    "load it, or set BT_LLM_MODEL", llm->model, names.p);
    }
out:
    cJSON_Delete(root);
    buf_free(&names);
    buf_free(&x.body);
    buf_free(&x.content);
}

enum llm_err llm_health(struct llm_session *s, struct llm_health *h)
{
    struct llm *llm = s->llm;
    double start = now_ms();
    int first_ok = -1;

    memset(h, 0, sizeof *h);
    h->err = LLM_E__COUNT;
    for (unsigned i = 0; i < llm->nep; i++) {
        struct llm_health one;
        struct endpoint *e = &llm->ep[i];

        memset(&one, 0, sizeof one);
        health_one(s, (int)i, &one);
        if (one.err == LLM_E_CANCELLED) {
            *h = one;
            break;
        }
        if (one.err == LLM_OK) {
            pthread_mutex_lock(&llm->lock);
            snprintf(e->model, sizeof e->model, "%s", one.model);
            pthread_mutex_unlock(&llm->lock);
            if (!e->healthy)
                learn_server(s, (int)i);    /* at start and on reconnect */
            else
                llm_sched_set_endpoint(llm->sched, (int)i, 1, 0);
            h->up++;
        } else if (!one.reachable) {
            llm_sched_set_endpoint(llm->sched, (int)i, 0, 0);
        }
        e->healthy = one.err == LLM_OK;
        h->reachable |= one.reachable;
        h->nmodels += one.nmodels;
        if (one.err == LLM_OK && first_ok < 0) {
            first_ok = (int)i;
            h->err = LLM_OK;
            h->model_listed = 1;
            snprintf(h->model, sizeof h->model, "%s", one.model);
            snprintf(h->note, sizeof h->note, "%s", one.note);
        } else if (one.err != LLM_OK && h->err != LLM_OK &&
                   (h->err == LLM_E__COUNT || one.reachable)) {
            /* Unhealthy everywhere: say what a reachable one said. */
            h->err = one.err;
            if (llm->nep > 1)
                set_msg(h->error, sizeof h->error, "%s: %s", e->url,
                        one.error);
            else
                snprintf(h->error, sizeof h->error, "%s", one.error);
        }
    }
    if (h->err == LLM_OK)
        h->error[0] = '\0';
    h->context = llm_context(llm);
    h->latency_ms = now_ms() - start;
    return h->err;
}

/* --- usage -------------------------------------------------------------- */

void llm_usage_get(struct llm *llm, struct llm_usage *out)
{
    pthread_mutex_lock(&llm->lock);
    *out = llm->usage;
    pthread_mutex_unlock(&llm->lock);
}

cJSON *llm_usage_json(const struct llm_usage *u)
{
    cJSON *o = cJSON_CreateObject(), *errors = cJSON_CreateObject();
    int bad = !o || !errors;

    if (!bad)
        bad |= !cJSON_AddItemToObject(o, "errors", errors);
    if (bad) {
        cJSON_Delete(o);
        cJSON_Delete(errors);
        return NULL;
    }
    bad |= !cJSON_AddNumberToObject(o, "calls", (double)u->calls);
    bad |= !cJSON_AddNumberToObject(o, "requests", (double)u->requests);
    bad |= !cJSON_AddNumberToObject(o, "ok", (double)u->ok);
    bad |= !cJSON_AddNumberToObject(o, "prompt_tokens",
                                    (double)u->prompt_tokens);
    bad |= !cJSON_AddNumberToObject(o, "completion_tokens",
                                    (double)u->completion_tokens);
    bad |= !cJSON_AddNumberToObject(o, "estimated_usage_calls",
                                    (double)u->estimated);
    bad |= !cJSON_AddNumberToObject(o, "prompt_tokens_evaluated",
                                    (double)u->prompt_evaluated);
    bad |= !cJSON_AddNumberToObject(o, "prompt_tokens_cached",
                                    (double)u->prompt_cached);
    bad |= !cJSON_AddNumberToObject(o, "latency_ms_total",
                                    round(u->latency_ms_total));
    bad |= !cJSON_AddNumberToObject(o, "latency_ms_max",
                                    round(u->latency_ms_max));
    bad |= !cJSON_AddNumberToObject(
        o, "latency_ms_mean",
        u->calls ? round(u->latency_ms_total / (double)u->calls) : 0);
    for (unsigned i = 1; !bad && i < LLM_E__COUNT; i++)
        if (u->errors[i])
            bad |= !cJSON_AddNumberToObject(errors, err_table[i].name,
                                            (double)u->errors[i]);
    if (bad) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
