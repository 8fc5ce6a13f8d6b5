/* llm_usage.c -- the usage counters: what each call cost (requests,
 * tokens, latency, errors by kind), the last error of a real request, and
 * their JSON form for logs/runtime.json.
 */
#include "llm_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

void llm_usage_account(struct llm *llm, const struct llm_result *r)
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
        llm_msg(llm->last_error, sizeof llm->last_error, "%s: %s",
                llm_err_name(r->err), r->error);
        break;
    }
    pthread_mutex_unlock(&llm->lock);
}

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
            bad |= !cJSON_AddNumberToObject(errors,
                                            llm_err_name((enum llm_err)i),
                                            (double)u->errors[i]);
    if (bad) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
