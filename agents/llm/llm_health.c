/* llm_health.c -- whether each endpoint is up with our model (GET
 * /models), and what a server that has just come up says it is: its
 * context and slots (llama-server's /props, LM Studio's /api/v0/models,
 * Ollama's /api/show), which the scheduler and the budgets then use.
 */
#include "llm_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"

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
    url = post ? llm_join_url(e->root, "/api/show") : NULL;
    if (url) {
        root = llm_http_probe(s, url, post, &x);
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
    char *url = llm_join_url(e->root, "/props");
    cJSON *root = url ? llm_http_probe(s, url, NULL, &x) : NULL;
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
    if (!llamacpp && (url = llm_join_url(e->root, "/api/v0/models"))) {
        root = llm_http_probe(s, url, NULL, &x);
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
    int exact = 0;                  /* h->model is the configured id   */

    memset(&x, 0, sizeof x);
    x.llm = llm;
    llm_http_perform(s, e->models_url, NULL,
            llm->cfg.total_timeout_ms < HEALTH_TIMEOUT_MS
                ? llm->cfg.total_timeout_ms : HEALTH_TIMEOUT_MS, &x);
    if (x.err) {
        h->err = x.err;
        snprintf(h->error, sizeof h->error, "%s", x.msg);
        goto out;
    }
    if (x.status != 200) {
        h->err = llm_classify_status(x.status, x.body.p, h->error,
                                     sizeof h->error);
        /* The server answered, so it is up; what it said is the error. */
        h->reachable = 1;
        goto out;
    }
    root = cJSON_ParseWithLength(x.body.p ? x.body.p : "", x.body.len);
    data = cJSON_GetObjectItemCaseSensitive(root, "data");
    if (!cJSON_IsArray(data)) {
        h->err = LLM_E_PROTOCOL;
        llm_msg(h->error, sizeof h->error,
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
        /* The id as configured wins over a looser match listed before it
         * ("org/x" and "x" both listed, "x" configured: "x"). */
        if (!exact && (strcmp(id->valuestring, llm->model) == 0 ||
                       (!h->model_listed &&
                        same_model(id->valuestring, llm->model)))) {
            exact = strcmp(id->valuestring, llm->model) == 0;
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
        llm_msg(h->note, sizeof h->note, "model \"%s\" is not listed; "
                "using the server's only model \"%s\"", llm->model, only);
    } else {
        h->err = LLM_E_NO_MODEL;
        if (h->nmodels == 0)
            llm_msg(h->error, sizeof h->error,
                    "the server lists no models: load model \"%s\" in it",
                    llm->model);
        else
            llm_msg(h->error, sizeof h->error,
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
    double start = clock_mono_ms();
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
                llm_msg(h->error, sizeof h->error, "%s: %s", e->url,
                        one.error);
            else
                snprintf(h->error, sizeof h->error, "%s", one.error);
        }
    }
    if (h->err == LLM_OK)
        h->error[0] = '\0';
    h->context = llm_context(llm);
    h->latency_ms = clock_mono_ms() - start;
    return h->err;
}
