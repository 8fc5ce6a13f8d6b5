/* llm_usage_publish.c -- the usage figures in logs/runtime.json
 * (llm_usage_publish.h). */
#include "llm_usage_publish.h"

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
    if (!v)
        return;
    if (cJSON_GetObjectItemCaseSensitive(obj, name))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, name, v);
    else
        cJSON_AddItemToObject(obj, name, v);
}

void llm_usage_publish(struct llm_usage_publisher *p)
{
    struct llm_usage u;
    struct exec_stats es = { 0 };
    char *old = NULL, *text = NULL;
    cJSON *doc = NULL, *sandbox;

    llm_usage_get(p->llm, &u);
    if (p->ex)
        exec_stats_get(p->ex, &es);
    if (memcmp(&u, &p->written, sizeof u) == 0 &&
        memcmp(&es, &p->written_ex, sizeof es) == 0)
        return;
    if (store_doc_get(p->store, "runtime", &old, NULL) == 0)
        doc = cJSON_Parse(old);
    if (!cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        doc = cJSON_CreateObject();
    }
    sandbox = cJSON_CreateObject();
    if (!doc || !sandbox)
        goto out;
    cJSON_AddNumberToObject(sandbox, "runs", (double)es.runs);
    cJSON_AddNumberToObject(sandbox, "timeouts", (double)es.timeouts);
    cJSON_AddNumberToObject(sandbox, "seconds",
                            round(es.wall_ms) / 1000);
    cJSON_AddNumberToObject(sandbox, "cpu_seconds",
                            round(es.cpu_ms) / 1000);
    put(doc, p->key, llm_usage_json(&u));
    if (p->sandbox) {
        put(doc, "sandbox", sandbox);
        sandbox = NULL;
    }
    text = cJSON_PrintUnformatted(doc);
    if (text && store_doc_put(p->store, "runtime", text) == 0) {
        p->written = u;
        p->written_ex = es;
    }
out:
    cJSON_Delete(sandbox);
    cJSON_Delete(doc);
    free(old);
    free(text);
}
