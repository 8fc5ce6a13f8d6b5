/* llm_usage_publish.h -- the usage figures in logs/runtime.json: the LLM
 * client's counters (llm_usage_json) under one member ("llm" or
 * "trainer_llm") and, for the Builders' client, the sandbox's totals under
 * "sandbox".
 *
 * Kept apart from the monitor that calls it, which watches the server: this
 * is the one writer of those members of the store's "runtime" document.
 * A publisher belongs to the one thread that calls it.
 */
#ifndef BT_LLM_USAGE_PUBLISH_H
#define BT_LLM_USAGE_PUBLISH_H

#include "exec.h"
#include "llm.h"
#include "store.h"

struct llm_usage_publisher {
    const char *key;                /* runtime.json member: "llm", ...    */
    int sandbox;                    /* also write "sandbox" from ex       */
    struct llm *llm;
    struct exec *ex;                /* may be NULL: zero sandbox figures  */
    struct store *store;
    struct llm_usage written;       /* usage last written                 */
    struct exec_stats written_ex;   /* sandbox totals last written        */
};

/* Sets p up to publish llm's usage as member 'key' (a string that outlives
 * p) and, when sandbox is set, ex's totals as "sandbox". Nothing is
 * written yet. Can't fail. */
void llm_usage_publisher_init(struct llm_usage_publisher *p, const char *key,
                              struct llm *llm, struct exec *ex, int sandbox,
                              struct store *st);

/* Writes the figures into the "runtime" document when they moved since the
 * last write; the document's other members are kept as they are. A failed
 * write is tried again at the next call. Can't fail otherwise. */
void llm_usage_publish(struct llm_usage_publisher *p);

#endif /* BT_LLM_USAGE_PUBLISH_H */
