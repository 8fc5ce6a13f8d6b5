/* llm_chat.c -- one call: a loop of attempts.
 *
 * A call checks that the prompt fits, takes a slot from the scheduler,
 * sends one attempt (llm_http.c), reads its answer (llm_answer.c) and
 * decides from the enum llm_err (llm_error.c) whether to retry: another
 * endpoint at once, else after a backoff; a server that rejects the
 * response_format gets the next simpler one. What it learns (a context,
 * the estimate's scale, the format) serves the next calls.
 */
#include "llm_internal.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

/* A server that counts fewer prompt tokens than this share of our (high)
 * estimate did not read the whole prompt: it cut it to fit. */
#define SILENT_CUT_RATIO 0.34

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

/* One attempt at a chat completion: HTTP, then what the answer says. */
static void chat_attempt(struct llm_session *s, int ep, const char *body,
                         struct xfer *x, struct llm_result *res)
{
    struct llm *llm = s->llm;

    memset(x, 0, sizeof *x);
    x->llm = llm;
    llm_http_perform(s, llm->ep[ep].chat_url, body,
                     llm->cfg.total_timeout_ms, x);
    res->attempts++;
    res->http_status = x->status;
    llm_answer_read(x);
}

enum llm_err llm_chat(struct llm_session *s, const struct llm_request *req,
                      struct llm_result *res)
{
    struct llm *llm = s->llm;
    unsigned estimate = llm_estimate_tokens(req);
    unsigned context = llm_context(llm);
    unsigned max_tokens = llm_answer_budget(
        req->max_tokens ? req->max_tokens : llm->cfg.max_tokens, context);
    double scaled = estimate * llm_est_scale(llm);
    double start = clock_mono_ms();
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
            llm_msg(res->error, sizeof res->error,
                    "the caller's JSON schema is not a JSON object");
            goto out;
        }
    }
    if (atomic_load(&llm->cancelled)) {
        res->err = LLM_E_CANCELLED;
        llm_msg(res->error, sizeof res->error, "cancelled: btfs is stopping");
        goto out;
    }
    /* The server's own count, where it can give one; it also teaches the
     * estimate, so that the callers' next budgets are right. */
    unsigned counted = llm_server_count(s, req);
    if (counted) {
        llm_learn_scale(llm, estimate, counted);
        scaled = counted;
    }
    if (scaled + max_tokens > (double)context) {
        res->err = LLM_E_BUDGET;
        llm_msg(res->error, sizeof res->error,
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
            llm_msg(res->error, sizeof res->error, "%s",
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
        char *body = llm_request_body(llm, req, model, max_tokens,
                                      cache_prompt, stream, schema, fmt);

        if (!body) {
            llm_sched_release(llm->sched, &ticket, -1);
            res->err = LLM_E_NOMEM;
            llm_msg(res->error, sizeof res->error, "out of memory");
            break;
        }
        chat_attempt(s, ep, body, &x, res);
        free(body);
        llm_sched_release(llm->sched, &ticket, llm_reached(x.err, x.status));
        res->endpoint = ep;
        /* A server that cut the prompt to fit (llama.cpp's context shift)
         * answered another question than ours: as good as too long. */
        if (!x.err && (x.cut || (x.have_usage && estimate >= 64 &&
                                 x.usage_prompt <
                                     estimate * SILENT_CUT_RATIO))) {
            x.err = LLM_E_CONTEXT;
            llm_msg(x.msg, sizeof x.msg, "the server cut the prompt to fit "
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
                llm_learn_context(llm, ep, x.server_ctx);
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
            res->response_format = llm_format_names[fmt];
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
        if (!llm_reached(x.err, x.status) && llm->nep > 1)
            continue;
        if (backoff(s, retries, x.retry_after_ms) < 0) {
            res->err = LLM_E_CANCELLED;
            llm_msg(res->error, sizeof res->error,
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
            llm_learn_scale(llm, estimate, x.usage_prompt);
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
        llm_check_structured(schema, res);
    if (res->err == LLM_OK)
        res->error[0] = '\0';
out:
    buf_free(&x.body);
    buf_free(&x.content);
    cJSON_Delete(schema);
    res->latency_ms = clock_mono_ms() - start;
    llm_usage_account(llm, res);
    return res->err;
}
