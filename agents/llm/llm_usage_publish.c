/* llm_usage_publish.c -- the usage figures in logs/runtime.json
 * (llm_usage_publish.h). */
#include "llm_usage_publish.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void llm_usage_publisher_init(struct llm_usage_publisher *p, const char *key,
                              struct llm *llm, struct exec *ex, int sandbox,
                              struct store *st)
{
    memset(p, 0, sizeof *p);
    p->key = key;
    p->sandbox = sandbox;
    p->llm = llm;
    p->ex = ex;
    p->store = st;
}

/* Replaces (or adds) member 'name' of obj. Takes v. */
static void put(cJSON *obj, const char *name, cJSON *v)
{
    if (v && !cJSON_ReplaceItemInObjectCaseSensitive(obj, name, v))
        cJSON_AddItemToObject(obj, name, v);
}

struct publish {
    struct llm_usage_publisher *p;
    const struct llm_usage *u;
    const struct exec_stats *es;
};

/* store_doc_update_fn: runtime.json with this publisher's members replaced
 * and the others (the other LLM's, the Builder's) kept as they are. A
 * document that is not a JSON object is started again; a failed read never
 * gets here (the store returns it), so figures are not lost to it. */
static int publish_fn(void *ctx, const char *old, size_t len, char **out)
{
    const struct publish *a = ctx;
    cJSON *doc = old ? cJSON_ParseWithLength(old, len) : NULL;
    cJSON *sandbox = NULL;
    int rc = -ENOMEM;

    if (!cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        doc = cJSON_CreateObject();
    }
    if (!doc)
        return -ENOMEM;
    put(doc, a->p->key, llm_usage_json(a->u));
    if (a->p->sandbox) {
        sandbox = cJSON_CreateObject();
        if (!sandbox ||
            !cJSON_AddNumberToObject(sandbox, "runs", (double)a->es->runs) ||
            !cJSON_AddNumberToObject(sandbox, "timeouts",
                                     (double)a->es->timeouts) ||
            !cJSON_AddNumberToObject(sandbox, "seconds",
                                     round(a->es->wall_ms) / 1000) ||
            !cJSON_AddNumberToObject(sandbox, "cpu_seconds",
                                     round(a->es->cpu_ms) / 1000)) {
            cJSON_Delete(sandbox);
            goto out;
        }
        put(doc, "sandbox", sandbox);
    }
    *out = cJSON_PrintUnformatted(doc);
    rc = *out ? 0 : -ENOMEM;
out:
    cJSON_Delete(doc);
    return rc;
}

void llm_usage_publish(struct llm_usage_publisher *p)
{
    struct llm_usage u;
    struct exec_stats es = { 0 };
    struct publish a = { p, &u, &es };

    llm_usage_get(p->llm, &u);
    if (p->ex)
        exec_stats_get(p->ex, &es);
    if (memcmp(&u, &p->written, sizeof u) == 0 &&
        memcmp(&es, &p->written_ex, sizeof es) == 0)
        return;
    /* On failure the figures are not marked written: the next beat tries
     * again. */
    if (store_doc_update(p->store, "runtime", publish_fn, &a) == 0) {
        p->written = u;
        p->written_ex = es;
    }
}
