/* llm_monitor.c -- the thread behind status.json's "llm": it watches the
 * server, and calls the usage publisher (llm_usage_publish.c) on its beat.
 *
 * Everything here happens on the monitor's own thread and its own LLM
 * session; the only shared state is the stopper (kick and stop) and the
 * 'healthy' flag.
 */
#include "llm_monitor.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "llm_usage_publish.h"
#include "redact.h"
#include "stopper.h"

#define HEALTHY_INTERVAL_MS 60000   /* re-check a healthy server          */
#define RETRY_FIRST_MS 2000         /* first re-check of an unhealthy one */
#define RETRY_MAX_MS 30000
#define USAGE_INTERVAL_MS 5000      /* how often usage is copied          */

struct llm_monitor {
    int trainer;                    /* the Trainer's own LLM              */
    const char *tag;                /* log prefix: "llm", "trainer llm"   */
    struct llm *llm;
    struct status *status;
    struct store *store;
    pthread_t thread;
    struct stopper stopper;         /* kick and stop wake the thread      */
    atomic_int healthy;
    struct llm_usage_publisher usage; /* runtime.json's figures (thread
                                       only, and stop once joined)        */
    char last_request[512];         /* the client's last real failure as
                                       last logged (thread only)          */
    char note[512];                 /* the health note as last logged     */
    struct llm_health health;       /* the last check (thread only)       */
};

/* The request queue, as the scheduler reports each change of it. */
static void on_queue(void *arg, const char *json)
{
    status_set_llm_queue(arg, json);
}

/* What status.json's "llm" shows beyond url, model and errors (for the
 * Trainer's own LLM, all of its "trainer_llm"). */
static void publish_info(struct llm_monitor *m, const struct llm_health *h)
{
    cJSON *o = cJSON_CreateObject();
    char *text;

    if (!o)
        return;
    if (m->trainer) {
        char err[700], url[1024];
        redact_buf(url, sizeof url, llm_config(m->llm)->url);
        cJSON_AddStringToObject(o, "url", url);
        cJSON_AddStringToObject(o, "model", llm_config(m->llm)->model);
        cJSON_AddBoolToObject(o, "reachable", h->reachable);
        if (h->err != LLM_OK)
            snprintf(err, sizeof err, "%s: %s", llm_err_name(h->err),
                     h->error);
        else
            llm_last_error(m->llm, err, sizeof err);
        if (err[0])
            cJSON_AddStringToObject(o, "last_error", err);
        else
            cJSON_AddNullToObject(o, "last_error");
    }
    cJSON_AddNumberToObject(o, "context", llm_context(m->llm));
    cJSON_AddStringToObject(o, "context_from",
                            llm_context_source(m->llm));
    if (h->model[0])
        cJSON_AddStringToObject(o, "model_in_use", h->model);
    if (h->note[0])
        cJSON_AddStringToObject(o, "note", h->note);
    cJSON_AddNumberToObject(o, "endpoints_up", h->up);
    text = cJSON_PrintUnformatted(o);
    if (text && m->trainer)
        status_set_trainer_llm(m->status, text);
    else if (text)
        status_set_llm_info(m->status, text);
    free(text);
    cJSON_Delete(o);
}

/* The last failure of a real request stays in status.json until a real
 * request succeeds (a health check that passes does not clear it), and
 * each new one is logged. Returns whether there is one. */
static int request_error(struct llm_monitor *m, char *err, size_t len)
{
    int have = llm_last_error(m->llm, err, len);

    if (strcmp(err, m->last_request) != 0) {
        char line[700];
        if (have)
            snprintf(line, sizeof line, "%s: a request failed: %s", m->tag,
                     err);
        else
            snprintf(line, sizeof line, "%s: requests succeed again",
                     m->tag);
        if (have || m->last_request[0])
            store_log_append(m->store, STORE_LOG_SYSTEM, line);
        snprintf(m->last_request, sizeof m->last_request, "%s", err);
    }
    return have;
}

/* One health check; logs and publishes a change of state. */
static int check(struct llm_monitor *m, struct llm_session *s,
                 enum llm_err *last)
{
    struct llm_health h;
    char line[700], err[512];

    llm_health(s, &h);
    if (h.err == LLM_E_CANCELLED)
        return 0;
    m->health = h;
    publish_info(m, &h);
    if (strcmp(h.note, m->note) != 0) {
        if (h.note[0]) {
            snprintf(line, sizeof line, "%s: %s", m->tag, h.note);
            store_log_append(m->store, STORE_LOG_SYSTEM, line);
        }
        snprintf(m->note, sizeof m->note, "%s", h.note);
    }
    if (m->trainer) {
        request_error(m, err, sizeof err);      /* logged; shown by info */
    } else if (h.err == LLM_OK) {
        status_set_llm_health(m->status, 1, request_error(m, err, sizeof err)
                                                ? err : NULL);
    } else {
        snprintf(line, sizeof line, "%s: %s", llm_err_name(h.err), h.error);
        status_set_llm_health(m->status, h.reachable, line);
    }
    atomic_store(&m->healthy, h.err == LLM_OK);
    if (h.err != *last) {
        if (h.err == LLM_OK) {
            char url[256];
            redact_buf(url, sizeof url, llm_config(m->llm)->url);
            snprintf(line, sizeof line, "%s: %s answers, model %s listed, "
                     "context %u (%.0f ms)", m->tag, url, h.model, h.context,
                     h.latency_ms);
        } else {
            snprintf(line, sizeof line, "%s: not ready: %s: %s", m->tag,
                     llm_err_name(h.err), h.error);
        }
        store_log_append(m->store, STORE_LOG_SYSTEM, line);
        *last = h.err;
    }
    return h.err == LLM_OK;
}

static void *run(void *arg)
{
    struct llm_monitor *m = arg;
    struct llm_session *s = NULL;
    enum llm_err last = LLM_E__COUNT;       /* nothing logged yet */
    long retry_ms = RETRY_FIRST_MS;
    double next_check = 0, next_usage = clock_mono_ms() + USAGE_INTERVAL_MS;

    if (llm_session_open(m->llm, &s) < 0) {
        if (!m->trainer)
            status_set_llm_health(m->status, 0, "internal: cannot open an "
                                                "LLM session (out of memory)");
        return NULL;
    }
    while (!stopper_stopped(&m->stopper)) {
        double now = clock_mono_ms();
        if (now >= next_check) {
            if (check(m, s, &last)) {
                retry_ms = RETRY_FIRST_MS;
                next_check = clock_mono_ms() + HEALTHY_INTERVAL_MS;
            } else {
                next_check = clock_mono_ms() + retry_ms;
                retry_ms = retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS
                                                       : retry_ms * 2;
            }
            continue;
        }
        if (now >= next_usage) {
            char err[512];
            /* Between checks too: a request that failed, or the first
             * that succeeds after failures, shows within seconds. */
            if (atomic_load(&m->healthy) && !m->trainer)
                status_set_llm_health(m->status, 1,
                                      request_error(m, err, sizeof err)
                                          ? err : NULL);
            else if (m->trainer)
                request_error(m, err, sizeof err);
            /* A context learned from an answer shows without a check. */
            publish_info(m, &m->health);
            llm_usage_publish(&m->usage);
            next_usage = now + USAGE_INTERVAL_MS;
            continue;
        }
        /* A kick (an agent saw the LLM fail) makes the check due now. */
        double until = next_check < next_usage ? next_check : next_usage;
        if (stopper_nap(&m->stopper, (long)(until - now) + 1) &&
            !stopper_stopped(&m->stopper))
            next_check = 0;
    }
    llm_session_close(s);
    return NULL;
}

static int start(struct llm *llm, struct exec *ex, struct status *status,
                 struct store *st, int trainer, struct llm_monitor **out)
{
    struct llm_monitor *m = calloc(1, sizeof *m);
    int rc;

    *out = NULL;
    if (!m)
        return -ENOMEM;
    m->trainer = trainer;
    m->tag = trainer ? "trainer llm" : "llm";
    m->llm = llm;
    llm_usage_publisher_init(&m->usage, trainer ? "trainer_llm" : "llm", llm,
                             ex, !trainer, st);
    m->status = status;
    m->store = st;
    atomic_init(&m->healthy, 0);
    stopper_init(&m->stopper);
    if (!trainer)
        llm_sched_observe(llm_scheduler(llm), on_queue, status);
    rc = pthread_create(&m->thread, NULL, run, m);
    if (rc != 0) {
        if (!trainer)
            llm_sched_observe(llm_scheduler(llm), NULL, NULL);
        stopper_destroy(&m->stopper);
        free(m);
        return -rc;
    }
    *out = m;
    return 0;
}

int llm_monitor_start(struct llm *llm, struct exec *ex, struct status *status,
                      struct store *st, struct llm_monitor **out)
{
    return start(llm, ex, status, st, 0, out);
}

int llm_monitor_start_trainer(struct llm *llm, struct status *status,
                              struct store *st, struct llm_monitor **out)
{
    return start(llm, NULL, status, st, 1, out);
}

void llm_monitor_kick(struct llm_monitor *m)
{
    stopper_kick(&m->stopper);
}

int llm_monitor_healthy(struct llm_monitor *m)
{
    return atomic_load(&m->healthy);
}

void llm_monitor_stop(struct llm_monitor *m)
{
    if (!m)
        return;
    stopper_stop(&m->stopper);
    pthread_join(m->thread, NULL);
    if (!m->trainer)
        llm_sched_observe(llm_scheduler(m->llm), NULL, NULL);
    llm_usage_publish(&m->usage);
    stopper_destroy(&m->stopper);
    free(m);
}
