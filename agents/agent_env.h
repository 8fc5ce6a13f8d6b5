/* agent_env.h -- the handles both agents take: the Builder's pool and the
 * Trainer start from one struct agent_env rather than five arguments each,
 * and start their threads on it the same way (agent_env_thread_start).
 *
 * Only cmd/btfs.c (and the tests and benches that stand in for it) makes
 * one; every handle is the caller's and must outlive the agent started
 * with it. The agents copy the struct and never close what it points to.
 */
#ifndef BT_AGENT_ENV_H
#define BT_AGENT_ENV_H

#include <pthread.h>

struct exec;
struct llm;
struct llm_session;
struct llm_monitor;
struct status;
struct store;

struct agent_env {
    struct store *st;               /* durable state: tasks, documents,
                                       logs                               */
    struct status *status;          /* live state shown in status.json    */
    struct llm *llm;                /* the client; each agent thread opens
                                       its own session on it              */
    struct exec *ex;                /* the sandbox; NULL for an agent that
                                       runs nothing (tests only)          */
    struct llm_monitor *monitor;    /* whether the LLM answers now        */
};

/* Starts one agent thread as both agents do: opens its own LLM session on
 * env->llm, named 'name' (copied; it names the thread's calls in the
 * LLM's logs and status), into *session before the thread runs, then
 * fn(arg) on *thread. Returns 0, or a negative errno (llm_session_open's,
 * or pthread_create's): then no thread runs and *session is NULL. */
int agent_env_thread_start(const struct agent_env *env, const char *name,
                           void *(*fn)(void *), void *arg,
                           struct llm_session **session, pthread_t *thread);

#endif /* BT_AGENT_ENV_H */
