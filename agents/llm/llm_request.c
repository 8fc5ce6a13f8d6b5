/* llm_request.c -- what is sent: the request's JSON body (messages,
 * sampling, stop strings, the structured-output format), and the prompt's
 * size: our estimate, the scale learned from the servers' own counts, the
 * answer's share of the context, and the count of a server that can
 * tokenize.
 */
#include "llm_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MESSAGE_OVERHEAD_TOKENS 4   /* role and separators, per message    */

/* Response formats for structured output, in the order they are tried. */
const char *const llm_format_names[] = { "json_schema", "json_object",
                                         "none" };

/* The request body as JSON text (malloc'd), or NULL when out of memory.
 * cJSON's Add*ToObject helpers return NULL on failure and leave the tree
 * whole, so one check at the end covers every step. */
char *llm_request_body(const struct llm *llm, const struct llm_request *req,
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
        bad |= bad || !cJSON_AddStringToObject(rf, "type",
                                               llm_format_names[fmt]);
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

double llm_est_scale(const struct llm *llm)
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
unsigned llm_answer_budget(unsigned asked, unsigned ctx)
{
    return asked < ctx / 2 ? asked : ctx / 2;
}

unsigned llm_prompt_budget(const struct llm *llm, unsigned max_tokens)
{
    unsigned ctx = llm_context(llm);
    unsigned answer = llm_answer_budget(max_tokens ? max_tokens
                                                   : llm->cfg.max_tokens,
                                        ctx);

    return ctx > answer ? (unsigned)((ctx - answer) / llm_est_scale(llm)) : 0;
}

/* Learns from a server's count how far our estimate is off. A count above
 * the estimate is taken at once (a low estimate costs a failed request);
 * one below only moves it slowly, and never below 3/4 of the plain
 * estimate. */
void llm_learn_scale(struct llm *llm, unsigned estimate, unsigned counted)
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
void llm_learn_context(struct llm *llm, int ep, unsigned ctx)
{
    if (ep < 0 || ctx < MIN_CONTEXT)
        return;
    pthread_mutex_lock(&llm->lock);
    llm->ep[ep].context = ctx;
    pthread_mutex_unlock(&llm->lock);
}

/* The prompt's size counted by the server's own tokenizer (llama-server's
 * POST /tokenize, on an endpoint known to have it), with the same
 * per-message allowance as the estimate; 0 when no server can count. */
unsigned llm_server_count(struct llm_session *s,
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
    url = llm_join_url(llm->ep[ep].root, "/tokenize");
    if (!post || !url)
        goto out;
    root = llm_http_probe(s, url, post, &x);
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

