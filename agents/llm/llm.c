/* llm.c -- the client's handle and its sessions: the endpoint list parsed
 * from BT_LLM_URL, the configuration, the lock that guards what is learned
 * from the servers, and the per-thread sessions that cancellation reaches.
 *
 * The rest of the client is split by concept, each file behind the private
 * llm_internal.h: llm_http.c (one HTTP transfer through curl),
 * llm_request.c (the request JSON and the prompt's size), llm_answer.c
 * (reading the answer: SSE or JSON), llm_error.c (every server's error
 * shape to one enum llm_err), llm_chat.c (the retry loop of llm_chat),
 * llm_health.c (llm_health and what a server says it is), llm_usage.c (the
 * usage counters).
 */
#include "llm_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "redact.h"
#include "url_list.h"

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

/* Every message of this client goes through here, and messages quote
 * URLs and what servers and curl say: credentials are masked (redact.h). */
void llm_msg(char *dst, size_t len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(dst, len, fmt, ap);
    va_end(ap);
    redact_buf(dst, len, dst);
}

char *llm_join_url(const char *base, const char *tail)
{
    size_t n = strlen(base);
    char *s;

    while (n > 0 && base[n - 1] == '/')
        n--;
    if (asprintf(&s, "%.*s%s", (int)n, base, tail) < 0)
        return NULL;
    return s;
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
    const char *cursor = list, *p;
    size_t n;

    while (url_list_next(&cursor, &p, &n)) {
        if (n == 0 || llm->nep == MAX_ENDPOINTS || !url_is_http(p, n))
            return -EINVAL;
        struct endpoint *e = &llm->ep[llm->nep++];
        if (!(e->url = strndup(p, n)))
            return -ENOMEM;
        size_t rn = n;
        while (rn > 0 && e->url[rn - 1] == '/')
            rn--;
        if (rn >= 3 && strncmp(e->url + rn - 3, "/v1", 3) == 0)
            rn -= 3;
        e->chat_url = llm_join_url(e->url, "/chat/completions");
        e->models_url = llm_join_url(e->url, "/models");
        e->root = strndup(e->url, rn);
        if (!e->chat_url || !e->models_url || !e->root)
            return -ENOMEM;
        snprintf(e->model, sizeof e->model, "%s", llm->model);
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
