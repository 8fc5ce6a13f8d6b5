/* trainer.c -- the Trainer's thread: each wake observes the results,
 * analyses now and then, looks at the queue and makes a task when it runs
 * low; starting and stopping the thread.
 *
 * The other files of the Trainer are listed in trainer_internal.h; the
 * decisions are plan.c's and the checks admission.c's. See trainer.h for
 * the order of a wake.
 */
#include "trainer_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "seed.h"

void trainer_config_default(struct trainer_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->target_success = 0.75;
    cfg->pending = 3;
    cfg->every = 5;
    cfg->proposals = 3;
    cfg->poll_ms = 500;
}

void trainer_logf(struct trainer *t, const char *fmt, ...)
{
    char line[1024] = "trainer: ";
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line + 9, sizeof line - 9, fmt, ap);
    va_end(ap);
    log_batch_add(&t->log, STORE_LOG_SYSTEM, line);
}

const char *trainer_jstr(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* --- the thread ---------------------------------------------------------- */

static void *run(void *arg)
{
    struct trainer *t = arg;
    int first = 1;

    /* A store that cannot be read now is waited for: starting over would
     * overwrite the saved plan at the first save. */
    for (int rc; (rc = trainer_state_load(t)) < 0 &&
                 !stopper_stopped(&t->stopper);) {
        trainer_logf(t, "cannot read its saved state (%s); trying again",
                     store_strerror(rc));
        log_batch_flush(&t->log);
        stopper_nap(&t->stopper, 10 * t->cfg.poll_ms);
    }
    seed_each(NULL, trainer_remember_seed_goal, t);
    while (!stopper_stopped(&t->stopper)) {
        int user_waiting;

        if (store_paused(t->env.st)) {
            log_batch_flush(&t->log);
            stopper_nap(&t->stopper, t->cfg.poll_ms);
            continue;
        }
        trainer_observe(t);
        /* At start, an analysis only when there is none yet or something
         * new came in: a restart alone teaches nothing. */
        if ((first && (t->since_analysis > 0 || trainer_analyses(t) == 0)) ||
            t->since_analysis >= t->cfg.every)
            trainer_analyse(t);
        first = 0;
        trainer_look_at_queue(t, &user_waiting);
        if (t->npending < t->cfg.pending && !user_waiting) {
            trainer_make_task(t, llm_monitor_healthy(t->env.monitor));
            if (t->dirty)
                trainer_state_save(t);
            log_batch_flush(&t->log);
            continue;               /* maybe another is needed at once */
        }
        if (t->dirty)
            trainer_state_save(t);
        log_batch_flush(&t->log);
        stopper_nap(&t->stopper, t->cfg.poll_ms);
    }
    if (t->dirty)
        trainer_state_save(t);
    log_batch_flush(&t->log);
    return NULL;
}

int trainer_start(const struct trainer_config *cfg,
                  const struct agent_env *env, struct trainer **out)
{
    struct trainer *t;
    struct plan_config pc;
    int rc;

    *out = NULL;
    plan_config_default(&pc);
    pc.target_success = cfg->target_success;
    if (cfg->pending == 0 || cfg->every == 0 || cfg->proposals == 0 ||
        plan_config_check(&pc) < 0)
        return -EINVAL;
    t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    t->cfg = *cfg;
    if (t->cfg.poll_ms <= 0)
        t->cfg.poll_ms = 500;
    t->env = *env;
    log_batch_init(&t->log, env->st, LOG_BATCH_DELAY_MS);
    stopper_init(&t->stopper);
    plan_rng_seed(&t->rng, cfg->seed ? cfg->seed
                                     : (uint64_t)time(NULL) ^ (uintptr_t)t);
    if ((rc = plan_create(&pc, &t->plan)) < 0 ||
        (rc = agent_env_thread_start(env, "trainer", run, t, &t->session,
                                     &t->thread)) < 0) {
        llm_session_close(t->session);
        plan_free(t->plan);
        stopper_destroy(&t->stopper);
        free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void trainer_stop(struct trainer *t)
{
    if (!t)
        return;
    stopper_stop(&t->stopper);
    pthread_join(t->thread, NULL);
    llm_session_close(t->session);
    plan_free(t->plan);
    for (size_t i = 0; i < t->ngoals; i++)
        free(t->goals[i]);
    free(t->goals);
    free(t->pending);
    free(t->proposal);
    log_batch_free(&t->log);        /* empty: the thread wrote its lines */
    stopper_destroy(&t->stopper);
    free(t);
}
