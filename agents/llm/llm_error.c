/* llm_error.c -- the one place where what went wrong becomes an enum
 * llm_err: the kinds' names and whether a retry may help, every server's
 * error body (OpenAI, LM Studio, llama.cpp, Ollama, vLLM, FastAPI), errors
 * carried inside a 200, curl's codes, and what an outcome says about
 * whether the endpoint was reached.
 */
#include "llm_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Case-insensitive substring search; strcasestr is a GNU extension we have,
 * but a NULL haystack must be tolerated. */
static int has(const char *hay, const char *needle)
{
    return hay && strcasestr(hay, needle) != NULL;
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
unsigned llm_error_context(const char *body)
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
enum llm_err llm_classify_status(long status, const char *body,
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
    llm_msg(out, outlen, "HTTP %ld%s%s%s%s%s", status, msg[0] ? ": " : "",
            msg, kind[0] ? " (" : "", kind, kind[0] ? ")" : "");
    return err;
}

/* An error object carried inside a 200: a data: {"error": ...} event, an
 * "error:" SSE line, or a non-streamed body with "error". */
void llm_inband_error(struct xfer *x, const char *json)
{
    char msg[384], kind[96];

    error_fields(json, msg, sizeof msg, kind, sizeof kind);
    x->err = says_context(msg, kind) ? LLM_E_CONTEXT : LLM_E_IN_BAND;
    if (x->err == LLM_E_CONTEXT)
        x->server_ctx = llm_error_context(json);
    llm_msg(x->msg, sizeof x->msg, "error inside a 200 answer: %s%s%s%s",
            msg[0] ? msg : "(no message)", kind[0] ? " (" : "", kind,
            kind[0] ? ")" : "");
}

enum llm_err llm_curl_kind(CURLcode rc, CURL *easy)
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

/* Whether an attempt's outcome says the endpoint could not be reached (1:
 * it answered, 0: it did not, -1: no news). */
int llm_reached(enum llm_err err, long status)
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

