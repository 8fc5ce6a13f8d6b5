/* agent_env.h -- the handles both agents take: the Builder's pool and the
 * Trainer start from one struct agent_env rather than five arguments each.
 *
 * Only cmd/btfs.c (and the tests and benches that stand in for it) makes
 * one; every handle is the caller's and must outlive the agent started
 * with it. The agents copy the struct and never close what it points to.
 */
#ifndef BT_AGENT_ENV_H
#define BT_AGENT_ENV_H

struct exec;
struct llm;
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

#endif /* BT_AGENT_ENV_H */
