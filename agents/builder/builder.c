/* builder.c -- the Builder's pool: its threads, each claiming the next
 * task, working it (builder_task.c), and putting it back on the queue when
 * the LLM is not available or btfs stops; starting and stopping them.
 *
 * The other files of the Builder are listed in builder_internal.h.
 */
#include "builder_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void builder_config_default(struct builder_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->threads = 1;
    cfg->max_attempts = 3;
    cfg->llm_tries = 3;
    cfg->memory_items = 4;
    cfg->idle_poll_ms = 200;
    score_weights_default(&cfg->weights);
}

/* --- logging and status -------------------------------------------------- */

/* One line of logs/system.log: "builder N: task_X: ...". */
void builder_logf(struct builder *b, const struct task *t, const char *fmt,
                  ...)
{
    char line[LOG_LINE];
    int n;
    va_list ap;

    n = snprintf(line, sizeof line, "builder %u: %s%s", b->index,
                 t ? t->name : "", t ? ": " : "");
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    log_batch_add(&b->log, STORE_LOG_SYSTEM, line);
}

void builder_step(struct builder *b, const struct task *t, const char *state,
                  const char *what)
{
    status_set_builder(b->pool->env.status, b->index, state,
                       t ? t->id : 0, what);
}

/* --- threads ------------------------------------------------------------- */

static void *run(void *arg)
{
    struct builder *b = arg;
    struct builder_pool *p = b->pool;

    while (!stopper_stopped(&p->stopper)) {
        uint64_t id;
        char *json = NULL;
        int rc;

        if (store_paused(p->env.st)) {
            builder_step(b, NULL, "paused", "paused by control");
            stopper_nap(&p->stopper, p->cfg.idle_poll_ms);
            continue;
        }
        if (!llm_monitor_healthy(p->env.monitor)) {
            builder_step(b, NULL, "waiting_for_llm", "waiting for the LLM");
            stopper_nap(&p->stopper, p->cfg.idle_poll_ms);
            continue;
        }
        rc = store_task_dequeue(p->env.st, &id, &json);
        if (rc == -ENOENT) {
            builder_step(b, NULL, "idle", "waiting for tasks");
            stopper_nap(&p->stopper, p->cfg.idle_poll_ms);
            continue;
        } else if (rc < 0) {
            builder_logf(b, NULL, "cannot take a task: %s",
                         store_strerror(rc));
            log_batch_flush(&b->log);
            stopper_nap(&p->stopper, 1000);
            continue;
        }
        enum build_end end = builder_build(b, id, json);
        free(json);
        if (end == BUILD_DONE) {
            /* A request that came as the task ended is moot now. */
            (void)status_cancel_take(p->env.status, id);
            log_batch_flush(&b->log);   /* lines the commit did not take */
            b->backoff_ms = 0;
            continue;
        }
        char name[STORE_ID_MAX];
        store_id_format(id, name);
        /* Asked to stop while it waited for the LLM: it ends here rather
         * than going back to the queue. */
        if (end == BUILD_REQUEUE && status_cancel_take(p->env.status, id)) {
            rc = store_task_requeue(p->env.st, id);
            if (rc == 0)
                rc = store_task_cancel_queued(p->env.st, id, "cancelled by "
                                              "control while waiting for "
                                              "the LLM");
            /* Its progress was kept for a resume that will never come:
             * the cancelled task's resume document goes with it. */
            if (rc == 0 && (rc = resume_clear(p->env.st, id)) < 0)
                builder_logf(b, NULL, "%s: cannot drop its kept progress: %s",
                             name, store_strerror(rc));
            if (rc == -EBUSY)       /* another builder took it meanwhile */
                (void)status_cancel_request(p->env.status, id);
            else if (rc < 0)
                builder_logf(b, NULL, "%s: cannot cancel it: %s", name,
                             store_strerror(rc));
            log_batch_flush(&b->log);
            continue;
        }
        rc = store_task_requeue(p->env.st, id);
        /* A disk that cannot save the result may not take the requeue
         * either; keep trying until it does (space freed) or btfs stops,
         * when the next start requeues it. */
        while (rc < 0 && end == BUILD_REQUEUE && b->save_err &&
               !stopper_stopped(&p->stopper)) {
            builder_step(b, NULL, "waiting", "the store cannot write");
            stopper_nap(&p->stopper, 2000);
            rc = store_task_requeue(p->env.st, id);
        }
        if (rc < 0)
            builder_logf(b, NULL, "%s: cannot put it back on the queue: %s "
                         "(the next start will)", name, store_strerror(rc));
        else
            builder_logf(b, NULL, "%s: back on the queue (%s)", name,
                         end == BUILD_STOP ? "btfs is stopping"
                         : b->save_err     ? store_strerror(b->save_err)
                                           : "the LLM is not available");
        log_batch_flush(&b->log);
        if (end == BUILD_REQUEUE && b->save_err) {
            /* Not the LLM's fault: wait for the disk, not for it. */
            b->save_err = 0;
            builder_step(b, NULL, "waiting", "the store cannot write");
            stopper_nap(&p->stopper, 2000);
            continue;
        }
        if (end == BUILD_REQUEUE) {
            /* Give the monitor time to see what we saw. */
            b->backoff_ms = b->backoff_ms ? b->backoff_ms * 2 : 1000;
            if (b->backoff_ms > BACKOFF_MAX_MS)
                b->backoff_ms = BACKOFF_MAX_MS;
            builder_step(b, NULL, "waiting_for_llm",
                         "the LLM is not available");
            stopper_nap(&p->stopper, b->backoff_ms);
        }
    }
    log_batch_flush(&b->log);
    builder_step(b, NULL, "stopped", "btfs is stopping");
    return NULL;
}

int builder_start(const struct builder_config *cfg,
                  const struct agent_env *env, struct builder_pool **out)
{
    struct builder_pool *p;
    int rc = 0;

    *out = NULL;
    if (cfg->threads == 0 || cfg->threads > STATUS_MAX_BUILDERS ||
        cfg->max_attempts == 0 || cfg->max_attempts > STORE_MAX_ATTEMPT ||
        cfg->llm_tries == 0 || score_weights_check(&cfg->weights) < 0)
        return -EINVAL;
    p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->cfg = *cfg;
    if (p->cfg.idle_poll_ms <= 0)
        p->cfg.idle_poll_ms = 200;
    p->env = *env;
    stopper_init(&p->stopper);
    /* Progress kept for tasks cancelled while they waited: nothing takes
     * them up again, so it goes now. A failure here costs only space. */
    size_t swept = 0;
    if (resume_sweep(env->st, &swept) == 0 && swept > 0) {
        char line[96];
        snprintf(line, sizeof line, "builder: removed the kept progress of "
                 "%zu task%s no longer queued", swept, swept == 1 ? "" : "s");
        (void)store_log_append(env->st, STORE_LOG_SYSTEM, line);
    }
    p->b = calloc(cfg->threads, sizeof *p->b);
    if (!p->b) {
        builder_stop(p);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < cfg->threads; i++) {
        struct builder *b = &p->b[i];
        b->pool = p;
        b->index = i;
        log_batch_init(&b->log, env->st, LOG_BATCH_DELAY_MS);
        char name[32];
        snprintf(name, sizeof name, "builder %u", i);
        if ((rc = agent_env_thread_start(env, name, run, b, &b->session,
                                         &b->thread)) < 0)
            break;
        p->started++;
    }
    if (rc < 0) {
        builder_stop(p);
        return rc;
    }
    *out = p;
    return 0;
}

void builder_stop(struct builder_pool *p)
{
    if (!p)
        return;
    stopper_stop(&p->stopper);
    for (unsigned i = 0; i < p->started; i++) {
        pthread_join(p->b[i].thread, NULL);
        llm_session_close(p->b[i].session);
        log_batch_free(&p->b[i].log);
    }
    stopper_destroy(&p->stopper);
    free(p->b);
    free(p);
}
