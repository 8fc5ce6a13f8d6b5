/* llm_http.c -- one HTTP request through the session's curl multi handle.
 *
 * The transfer is driven by our own poll loop, so that the idle timeout,
 * the total cap and cancellation are checked every poll interval and each
 * one ends the attempt with its own name, which curl's single
 * CURLE_OPERATION_TIMEDOUT could not tell apart. The multi handle also
 * keeps the connection alive between calls. A text/event-stream body goes
 * to sse.c as it arrives; any other is collected (up to MAX_BODY).
 */
#include "llm_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "redact.h"

#define POLL_MS 100                 /* longest wait between our checks     */
#define MAX_BODY (8u << 20)         /* a longer non-streamed body is junk  */

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n;

    x->last_byte_ms = clock_mono_ms();
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

    x->last_byte_ms = clock_mono_ms();
    if (atomic_load(&x->llm->cancelled)) {
        x->err = LLM_E_CANCELLED;
        llm_msg(x->msg, sizeof x->msg, "cancelled: btfs is stopping");
        return 0;
    }
    if (x->sse && x->status == 200) {
        int rc = sse_feed(&x->parser, p, len);
        if (rc == 0)
            return len;
        if (rc < 0 && !x->err) {
            x->err = rc == -ENOMEM ? LLM_E_NOMEM : LLM_E_PROTOCOL;
            llm_msg(x->msg, sizeof x->msg, "bad event stream: %s",
                    strerror(-rc));
        }
        return 0;                   /* stops curl: CURLE_WRITE_ERROR */
    }
    if (x->body.len + len > MAX_BODY) {
        x->err = LLM_E_PROTOCOL;
        llm_msg(x->msg, sizeof x->msg, "answer body over %u bytes",
                MAX_BODY);
        return 0;
    }
    if (buf_add(&x->body, p, len) < 0) {
        x->err = LLM_E_NOMEM;
        return 0;
    }
    return len;
}

/* Runs one request on the session: 'post' is the JSON body, or NULL for a
 * GET. Fills x; returns x->err (LLM_OK when an HTTP answer arrived whole,
 * whatever its status). */
enum llm_err llm_http_perform(struct llm_session *s, const char *url,
                              const char *post, long total_ms,
                              struct xfer *x)
{
    const struct llm_config *cfg = &s->llm->cfg;
    CURL *e = s->easy;
    char errbuf[CURL_ERROR_SIZE] = "";
    double start = clock_mono_ms();
    CURLcode rc = CURLE_OK;
    int running = 1;

    curl_easy_reset(e);
    x->last_byte_ms = start;
    sse_init(&x->parser, llm_answer_on_event, x, 0);
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
        llm_msg(x->msg, sizeof x->msg, "cannot set up curl");
        return x->err;
    }
    if (curl_multi_add_handle(s->multi, e) != CURLM_OK) {
        x->err = LLM_E_INTERNAL;
        llm_msg(x->msg, sizeof x->msg, "cannot start the transfer");
        return x->err;
    }
    while (running && !x->err) {
        if (curl_multi_perform(s->multi, &running) != CURLM_OK) {
            x->err = LLM_E_INTERNAL;
            llm_msg(x->msg, sizeof x->msg, "curl_multi_perform failed");
            break;
        }
        if (!running || x->err)
            break;
        double t = clock_mono_ms();
        if (atomic_load(&s->llm->cancelled)) {
            x->err = LLM_E_CANCELLED;
            llm_msg(x->msg, sizeof x->msg, "cancelled: btfs is stopping");
        } else if (t - start >= (double)total_ms) {
            x->err = LLM_E_TOTAL_TIMEOUT;
            llm_msg(x->msg, sizeof x->msg,
                    "no whole answer within %ld ms (total cap)", total_ms);
        } else if (t - x->last_byte_ms >= (double)cfg->idle_timeout_ms) {
            x->err = LLM_E_IDLE_TIMEOUT;
            llm_msg(x->msg, sizeof x->msg,
                    "nothing received for %ld ms (idle timeout)",
                    cfg->idle_timeout_ms);
        } else {
            double left = fmin((double)total_ms - (t - start),
                               (double)cfg->idle_timeout_ms -
                                   (t - x->last_byte_ms));
            int wait = (int)fmin(POLL_MS, fmax(1, left));
            if (curl_multi_poll(s->multi, NULL, 0, wait, NULL) != CURLM_OK) {
                x->err = LLM_E_INTERNAL;
                llm_msg(x->msg, sizeof x->msg, "curl_multi_poll failed");
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
        x->err = llm_curl_kind(rc, e);
        llm_msg(x->msg, sizeof x->msg, "%s: %s", url,
                errbuf[0] ? errbuf : curl_easy_strerror(rc));
        /* curl may quote parts of the URL out of context. */
        redact_known(x->msg, sizeof x->msg, x->msg, s->llm->url);
    }
    if (!x->err && x->sse && x->status == 200) {
        int frc = sse_finish(&x->parser);
        if (frc < 0 && !x->err) {
            x->err = LLM_E_PROTOCOL;
            llm_msg(x->msg, sizeof x->msg, "bad event stream at its end");
        }
    }
    sse_free(&x->parser);
    return x->err;
}

/* One GET (or POST when 'post') with the health cap; the caller frees x's
 * buffers. Returns the parsed body of a 200 (caller frees), else NULL. */
cJSON *llm_http_probe(struct llm_session *s, const char *url,
                      const char *post, struct xfer *x)
{
    long cap = s->llm->cfg.total_timeout_ms < HEALTH_TIMEOUT_MS
                   ? s->llm->cfg.total_timeout_ms : HEALTH_TIMEOUT_MS;

    memset(x, 0, sizeof *x);
    x->llm = s->llm;
    llm_http_perform(s, url, post, cap, x);
    if (x->err || x->status != 200)
        return NULL;
    return cJSON_ParseWithLength(x->body.p ? x->body.p : "", x->body.len);
}

