/* task_doc.c -- a stored task document read into struct task_doc.
 *
 * Lenient by design, where the parser (task.c) is strict: the parser
 * decides what enters the store, and this reads back what is there, so a
 * bad value here means an older or hand-edited document, which still
 * runs with the defaults rather than failing the task.
 */
#include "task_doc.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "task.h"

static const char *str_or(const cJSON *o, const char *name, const char *def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsString(v) ? v->valuestring : def;
}

/* The integer 'name' if it is one within [min, max], else def. */
static int int_or(const cJSON *o, const char *name, int min, int max, int def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    if (!cJSON_IsNumber(v) || !(v->valuedouble >= min && v->valuedouble <= max))
        return def;
    return (int)v->valuedouble;
}

/* The strings of array 'name' (pointers into o); others are passed over. */
static int strings_of(const cJSON *o, const char *name, const char ***out,
                      size_t *n)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, name), *it;
    size_t k = 0;

    *out = NULL;
    *n = 0;
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) == 0)
        return 0;
    *out = calloc((size_t)cJSON_GetArraySize(a), sizeof **out);
    if (*out == NULL)
        return -ENOMEM;
    cJSON_ArrayForEach(it, a)
        if (cJSON_IsString(it))
            (*out)[k++] = it->valuestring;
    *n = k;
    return 0;
}

int task_doc_decode(const char *json, size_t len, struct task_doc *out)
{
    const cJSON *v;
    cJSON *root;

    memset(out, 0, sizeof *out);
    root = json != NULL ? cJSON_ParseWithLength(json, len) : NULL;
    out->tree_ = root;
    if (!cJSON_IsObject(root))
        return -EINVAL;
    out->goal = str_or(root, "goal", NULL);
    if (out->goal == NULL)
        return -EINVAL;
    out->id = str_or(root, "id", NULL);
    out->source = str_or(root, "source", NULL);
    out->status = str_or(root, "status", NULL);
    out->attempts = int_or(root, "attempts", 0, INT32_MAX, 0);
    v = cJSON_GetObjectItemCaseSensitive(root, "difficulty");
    out->difficulty = cJSON_IsNumber(v) && v->valuedouble >= 0 &&
                      v->valuedouble <= 1 ? v->valuedouble
                                          : TASK_DEFAULT_DIFFICULTY;
    out->priority = int_or(root, "priority", TASK_MIN_PRIORITY,
                           TASK_MAX_PRIORITY, 0);
    out->language = str_or(root, "language", TASK_DEFAULT_LANGUAGE);
    out->lang_known = task_lang_from_name(out->language, &out->lang) == 0;
    out->tests = str_or(root, "tests", "");
    out->hidden_tests = str_or(root, "hidden_tests", "");
    out->timeout_s = int_or(root, "timeout_s", 1, TASK_MAX_TIMEOUT_S, 0);
    out->set = str_or(root, "set", NULL);
    out->problem_id = str_or(root, "problem_id", NULL);
    out->held_out = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root,
                                                                  "held_out"));
    out->max_attempts = int_or(root, "max_attempts", 1, TASK_MAX_ATTEMPTS, 0);
    out->memory = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(root,
                                                                  "memory"));
    out->reference = str_or(root, "reference", NULL);
    out->id_hint = str_or(root, "id_hint", NULL);
    out->strategy = str_or(cJSON_GetObjectItemCaseSensitive(root, "trainer"),
                           "strategy", NULL);
    if (strings_of(root, "skills", &out->skills, &out->nskills) < 0 ||
        strings_of(root, "constraints", &out->constraints,
                   &out->nconstraints) < 0)
        return -ENOMEM;
    return 0;
}

void task_doc_free(struct task_doc *d)
{
    if (d == NULL)
        return;
    cJSON_Delete(d->tree_);
    free(d->skills);
    free(d->constraints);
    memset(d, 0, sizeof *d);
}
