/* llm_monitor.h -- keeps status.json's LLM fields and runtime.json's usage
 * true while btfs runs.
 *
 * One thread asks the server for its models (llm_health) at start, then
 * every HEALTHY_INTERVAL while all is well and with a growing pause (2 s
 * doubling to 30 s) while it is not, so that status.json says within seconds
 * when a model is loaded or the server comes back. An agent that sees the
 * LLM fail calls llm_monitor_kick() to have it checked again at once. The
 * same thread copies the client's usage counters and the sandbox's totals
 * into the store's "runtime" document (logs/runtime.json) when they change,
 * and once more at stop.
 */
#ifndef BT_LLM_MONITOR_H
#define BT_LLM_MONITOR_H

#include "exec.h"
#include "llm.h"
#include "status.h"
#include "store.h"

struct llm_monitor;

/* Starts the monitor thread. llm, ex (may be NULL: no sandbox figures),
 * status and st must outlive it. Returns 0, -ENOMEM, or a negative errno
 * from pthread_create. */
int llm_monitor_start(struct llm *llm, struct exec *ex, struct status *status,
                      struct store *st, struct llm_monitor **out);

/* The same for the Trainer's own LLM (BT_TRAINER_LLM_URL): it publishes
 * status.json's "trainer_llm" instead of "llm", the usage as runtime.json's
 * "trainer_llm", and logs as "trainer llm:". */
int llm_monitor_start_trainer(struct llm *llm, struct status *status,
                              struct store *st, struct llm_monitor **out);

/* Asks for a health check now (an agent saw a call fail). Can't fail. */
void llm_monitor_kick(struct llm_monitor *m);

/* Whether the last check found the server up with the model listed. */
int llm_monitor_healthy(struct llm_monitor *m);

/* Stops the thread (a check in flight ends once llm_cancel has been
 * called, or within its own timeout), writes the usage a last time and
 * frees the monitor. Accepts NULL. */
void llm_monitor_stop(struct llm_monitor *m);

#endif /* BT_LLM_MONITOR_H */
