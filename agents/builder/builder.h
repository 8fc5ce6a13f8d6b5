/* builder.h -- the Builder: take a task, write code with the LLM, test it,
 * repair it, score it, reflect on it, remember it.
 *
 * A pool of threads, each looping: wait while paused or while the LLM
 * monitor says the LLM is not ready; take the next task from the queue
 * (store_task_dequeue is atomic, so two builders never take the same one);
 * work it; commit everything it produced in one transaction (memory.h).
 *
 * A task is never lost. When the LLM becomes unavailable mid-task, or btfs
 * stops, the task goes back to the queue with its attempts kept; a task
 * whose LLM calls keep failing for other reasons (the server answers but
 * with errors) ends as "error" with the reason after llm_tries of them.
 * A crash leaves it 'running', and the store requeues it at the next open.
 *
 * Shutdown order (the caller's): llm_cancel() so that calls in flight end,
 * then builder_stop(), which wakes and joins the threads; a run in the
 * sandbox ends at its own timeout at the latest.
 */
#ifndef BT_BUILDER_H
#define BT_BUILDER_H

#include <stddef.h>

#include "agent_env.h"
#include "exec.h"
#include "llm.h"
#include "llm_monitor.h"
#include "score.h"
#include "status.h"
#include "store.h"

struct builder_config {
    unsigned threads;               /* BT_BUILDERS, >= 1                  */
    unsigned max_attempts;          /* BT_MAX_ATTEMPTS, 1..255            */
    unsigned llm_tries;             /* LLM failures before a task ends as
                                       "error" (default 3)                */
    size_t memory_items;            /* recalled items per prompt (4)      */
    long idle_poll_ms;              /* queue poll while idle (200)        */
    struct score_weights weights;   /* scoring (score_weights_default)    */
};

/* Fills the defaults above (threads 1, max_attempts 3). Can't fail. */
void builder_config_default(struct builder_config *cfg);

struct builder_pool;

/* Starts cfg->threads builder threads on env's handles (all of them
 * needed), which must outlive the pool. Returns 0, -EINVAL for a bad configuration, -ENOMEM, or the
 * negative errno of pthread_create (then no thread runs). */
int builder_start(const struct builder_config *cfg,
                  const struct agent_env *env, struct builder_pool **out);

/* Stops and joins the threads (see the shutdown order above); each puts
 * its unfinished task back on the queue. Frees the pool. Accepts NULL. */
void builder_stop(struct builder_pool *p);

#endif /* BT_BUILDER_H */
