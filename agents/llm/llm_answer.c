/* llm_answer.c -- reading a chat completion's answer: the chunks of an
 * event stream (fed by sse.c as they arrive), a whole JSON body, or an
 * event stream labelled as something else; usage, llama.cpp's timings and
 * finish_reason as the server reports them; the verdict on the whole
 * answer (cut, empty, truncated); and the structured-output check.
 */
#include "llm_internal.h"

#include <stdio.h>
#include <string.h>

#include "extract.h"

#define MAX_CONTENT (8u << 20)      /* a longer streamed answer is junk    */

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
        llm_msg(x->msg, sizeof x->msg,
                "stream event is not a JSON object: %.80s", data);
        return 1;
    }
    if (cJSON_GetObjectItemCaseSensitive(root, "error")) {
        llm_inband_error(x, data);
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
                llm_msg(x->msg, sizeof x->msg,
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

int llm_answer_on_event(void *arg, enum sse_kind kind, const char *value,
                        size_t len)
{
    struct xfer *x = arg;

    if (kind == SSE_ERROR) {
        llm_inband_error(x, value);
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
        llm_msg(x->msg, sizeof x->msg, "answer is not JSON: %.80s",
                x->body.p ? x->body.p : "(empty body)");
        goto out;
    }
    if (cJSON_GetObjectItemCaseSensitive(root, "error")) {
        llm_inband_error(x, x->body.p);
        goto out;
    }
    take_usage(x, cJSON_GetObjectItemCaseSensitive(root, "usage"));
    take_timings(x, root);
    choice = cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(root, "choices"), 0);
    if (!cJSON_IsObject(choice)) {
        x->err = LLM_E_PROTOCOL;
        llm_msg(x->msg, sizeof x->msg, "answer has no choices");
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

/* What a finished transfer's answer says: an HTTP error, a stream or a
 * body, then whether it is whole and has content. Sets x->err and x->msg. */
void llm_answer_read(struct xfer *x)
{
    if (!x->err && x->status != 200) {
        x->err = llm_classify_status(x->status, x->body.p, x->msg,
                                     sizeof x->msg);
        if (x->err == LLM_E_CONTEXT)
            x->server_ctx = llm_error_context(x->body.p);
    } else if (!x->err && !x->sse && x->body.len >= 5 &&
               (strncmp(x->body.p, "data:", 5) == 0 || x->body.p[0] == ':')) {
        /* An event stream labelled as something else: parse it as one. */
        sse_init(&x->parser, llm_answer_on_event, x, 0);
        if (sse_feed(&x->parser, x->body.p, x->body.len) == 0)
            sse_finish(&x->parser);
        sse_free(&x->parser);
        if (!x->err && !x->done && !x->finish[0]) {
            x->err = LLM_E_PROTOCOL;
            llm_msg(x->msg, sizeof x->msg, "stream ended early");
        }
    } else if (!x->err && !x->sse) {
        parse_completion(x);
    } else if (!x->err && !x->done && !x->finish[0]) {
        /* A stream that ends without a finish_reason or [DONE] was cut. */
        x->err = LLM_E_PROTOCOL;
        llm_msg(x->msg, sizeof x->msg,
                "stream ended early (%d events, no finish_reason, no "
                "[DONE])", x->chunks);
    }
    if (!x->err && strcmp(x->finish, "length") == 0) {
        x->err = LLM_E_TRUNCATED;
        llm_msg(x->msg, sizeof x->msg,
                "answer cut at the max_tokens limit (finish_reason "
                "\"length\", %zu bytes kept)", x->content.len);
    } else if (!x->err && x->content.len == 0) {
        x->err = LLM_E_EMPTY;
        llm_msg(x->msg, sizeof x->msg, "the answer has no content%s%s",
                x->finish[0] ? " (finish_reason " : "",
                x->finish[0] ? x->finish : "");
        if (x->finish[0])
            strncat(x->msg, ")", sizeof x->msg - strlen(x->msg) - 1);
    }
}

/* Structured output: find the object and the schema's required fields. */
void llm_check_structured(const cJSON *schema, struct llm_result *res)
{
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(schema, "required");
    enum extract_json_rule rule;
    const cJSON *f;

    res->json = extract_json(res->content ? res->content : "", &rule);
    if (!res->json) {
        res->err = LLM_E_BAD_JSON;
        llm_msg(res->error, sizeof res->error,
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
            llm_msg(res->error, sizeof res->error,
                    "the answer's JSON has no \"%s\" (found by rule %s)",
                    f->valuestring, extract_json_rule_name(rule));
            return;
        }
    }
}

