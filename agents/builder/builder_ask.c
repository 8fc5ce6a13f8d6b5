/* builder_ask.c -- the Builder's LLM calls: the code prompt's call
 * (builder_ask, which sorts how a call ended), the tests a task without
 * visible ones gets, and the reflection after the verdict.
 *
 * An LLM call ends one of four ways: an answer, "stop" (btfs is
 * stopping), "requeue" (the LLM is not available: the task waits in the
 * queue), or "fail" (it answers with errors, or fails on its side for
 * this task's prompt only; counted against llm_tries).
 */
#include "builder_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether the server answers a request other than the one that just
 * failed on its side: a tiny prompt with one token to answer. A 5xx or an
 * error inside a 200 that only one task's prompt gets is that task's (a
 * prompt or schema the server chokes on), and must not hold the queue for
 * ever; one that every request gets means the LLM is not available. The
 * probe's cost is one short call per such failure. */
/* Every call the task makes counts in its usage, whatever it was for. */
static void usage_add(struct builder *b, const struct llm_result *r)
{
    b->usage.llm_calls++;
    b->usage.llm_requests += r->attempts;
    b->usage.prompt_tokens += r->prompt_tokens;
    b->usage.completion_tokens += r->completion_tokens;
    b->usage.prompt_evaluated += r->prompt_evaluated;
    b->usage.prompt_cached += r->prompt_cached;
    b->usage.timed_calls += r->have_timings != 0;
    b->usage.llm_ms += r->latency_ms;
}

static int server_answers_others(struct builder *b, enum llm_priority prio)
{
    struct llm_message m = { "user", "Reply with the word OK." };
    struct llm_request req = { .messages = &m, .nmessages = 1,
                               .max_tokens = 1, .priority = prio };
    struct llm_result r;
    enum llm_err err = llm_chat(b->session, &req, &r);

    usage_add(b, &r);
    llm_result_free(&r);
    /* One token asked for: an answer cut at it is an answer. */
    return err == LLM_OK || err == LLM_E_TRUNCATED;
}

/* One LLM call with its outcome sorted. On ASK_FAIL and ASK_REQUEUE,
 * 'why' says what happened ("server_error: HTTP 500 ..."). */
enum ask_end builder_ask(struct builder *b, const struct task *t,
                         const struct prompt *p, const char *schema,
                         struct llm_result *r, char *why, size_t whylen)
{
    struct llm_message m[2] = { { "system", p->system },
                                { "user", p->user } };
    struct llm_request req = { .messages = m, .nmessages = 2,
                               .schema = schema };

    /* A user's task goes ahead of everything else in the LLM's queue. */
    if (t && t->doc.source && strcmp(t->doc.source, "user") == 0)
        req.priority = LLM_PRIO_USER;
    enum llm_err err = llm_chat(b->session, &req, r);

    usage_add(b, r);
    if (err == LLM_OK)
        return ASK_OK;
    /* An answer cut at max_tokens is still an answer: its code may be
     * whole, and if not, the sandbox will say so in the next prompt. */
    if (r->err == LLM_E_TRUNCATED && r->content && !schema)
        return ASK_OK;
    snprintf(why, whylen, "%s: %s", llm_err_name(r->err), r->error);
    if (r->err == LLM_E_CANCELLED || stopper_stopped(&b->pool->stopper))
        return ASK_STOP;
    if ((r->err == LLM_E_SERVER || r->err == LLM_E_IN_BAND) &&
        server_answers_others(b, req.priority)) {
        builder_logf(b, t, "LLM call failed: %s (the server answers other "
                     "requests: the failure is this task's)", why);
        return ASK_FAIL;
    }
    if (llm_err_unavailable(r->err)) {
        llm_monitor_kick(b->pool->env.monitor);
        status_set_llm_health(b->pool->env.status, r->err != LLM_E_REFUSED &&
                              r->err != LLM_E_CONNECT_TIMEOUT, why);
        builder_logf(b, t, "the LLM is not available: %s", why);
        return ASK_REQUEUE;
    }
    builder_logf(b, t, "LLM call failed: %s", why);
    return ASK_FAIL;
}

/* Asks for tests of a task that has no visible ones. Sets *tests (malloc'd)
 * or leaves it NULL when the model gave none usable. A failure here costs
 * the task nothing: the attempts run anyway (judged by a plain run and the
 * hidden tests), with their own count of LLM failures. */
enum ask_end builder_write_tests(struct builder *b, const struct task *t,
                                 char **tests)
{
    struct prompt_task pt;
    struct prompt p;
    struct llm_result r;
    char why[700];
    enum ask_end e;

    *tests = NULL;
    builder_prompt_task_of(t, NULL, 0, &pt);
    if (prompt_tests(&pt, &p) < 0)
        return ASK_FAIL;
    builder_step(b, t, "working", "writing tests");
    e = builder_ask(b, t, &p, prompt_tests_schema, &r, why, sizeof why);
    prompt_free(&p);
    if (e == ASK_OK) {
        const char *s = builder_jstr(r.json, "tests", "");
        if (*s && !(*tests = strdup(s)))
            e = ASK_FAIL;
        builder_logf(b, t, "wrote its own tests (%zu bytes)", strlen(s));
    } else if (e == ASK_FAIL) {
        builder_logf(b, t, "could not write tests: %s", why);
        e = ASK_OK;                 /* go on without: judged by a plain run */
    }
    llm_result_free(&r);
    return e;
}

/* Asks for a reflection; never fails the task. Returns the reflection
 * object (owned by the caller), {"missing": true, "reason": ...} when the
 * model botched it. */
cJSON *builder_reflect(struct builder *b, const struct task *t,
                       const struct prompt_task *pt, const char *outcome,
                       int passed, int total, struct attempt *att,
                       unsigned natt, const char *final_code)
{
    const char *problems[256];
    struct prompt p;
    struct llm_result r;
    char why[700] = "";
    cJSON *o = NULL;
    size_t np = 0;

    for (unsigned i = 0; i < natt && np + 1 < sizeof problems /
                                                 sizeof *problems; i++)
        if (att[i].problem)
            problems[np++] = att[i].problem;
    problems[np] = NULL;
    builder_step(b, t, "working", "reflecting");
    if (prompt_reflection(pt, outcome, passed, total, problems, final_code,
                          &p) == 0) {
        if (builder_ask(b, t, &p, prompt_reflection_schema, &r, why,
                        sizeof why) == ASK_OK) {
            o = cJSON_Duplicate(r.json, 1);
        }
        llm_result_free(&r);
        prompt_free(&p);
    }
    if (!o) {
        o = cJSON_CreateObject();
        if (o) {
            cJSON_AddTrueToObject(o, "missing");
            cJSON_AddStringToObject(o, "reason", why[0] ? why
                                                        : "out of memory");
        }
        builder_logf(b, t, "reflection missing: %s", why);
    }
    return o;
}

/* Why a task cannot fit even bare, with both numbers. */
void builder_context_reason(struct llm *llm, const struct prompt_task *pt,
                            const struct prompt_feedback *fb, char *out,
                            size_t len)
{
    struct prompt bare;
    unsigned need = 0, budget = llm_prompt_budget(llm, 0);

    if (prompt_code(pt, NULL, 0, fb, UINT_MAX, &bare) == 0) {
        struct llm_message m[2] = { { "system", bare.system },
                                    { "user", bare.user } };
        need = llm_estimate_tokens(&(struct llm_request){ .messages = m,
                                                          .nmessages = 2 });
        prompt_free(&bare);
    }
    snprintf(out, len, "the task alone needs about %u tokens of prompt but "
             "the model's context (%u tokens, %u kept for the answer) "
             "leaves %u: give the server a larger context, or set "
             "BT_LLM_CONTEXT / BT_LLM_MAX_TOKENS", need, llm_context(llm),
             llm_config(llm)->max_tokens, budget);
}
