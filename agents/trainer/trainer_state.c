/* trainer_state.c -- what the Trainer keeps in the store: its state
 * (trainer_state: the plan, the position in the score log, its queued
 * tasks), the earlier goals of the duplicate test, and the trainer_log and
 * motivation_log entries, written with the state in one commit.
 */
#include "trainer_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Document 'name' parsed into *out: a new empty object when there is none
 * (or its text is damaged beyond parsing: nothing else could read it
 * either). A read failure is returned as itself, so that a transient one
 * never makes a document start over from nothing. */
static int doc_load(struct trainer *t, const char *name, cJSON **out)
{
    char *text = NULL;
    cJSON *o = NULL;
    int rc = store_doc_get(t->env.st, name, &text, NULL);

    *out = NULL;
    if (rc < 0 && rc != -ENOENT)
        return rc;
    if (rc == 0)
        o = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        if (!(o = cJSON_CreateObject()))
            return -ENOMEM;
    }
    *out = o;
    return 0;
}

/* The text of a log document ({"entries": [...]}, newest LOG_ENTRIES_MAX
 * kept) with a copy of 'entry' appended; 'old' is its current text or
 * NULL. malloc'd, NULL when out of memory. */
static char *log_doc_append(const char *old, const cJSON *entry)
{
    cJSON *doc = old ? cJSON_Parse(old) : NULL, *list, *copy;
    char *text = NULL;

    if (!cJSON_IsObject(doc)) {         /* none yet, or damaged: begin it */
        cJSON_Delete(doc);
        doc = cJSON_CreateObject();
    }
    list = cJSON_GetObjectItemCaseSensitive(doc, "entries");
    if (doc && !cJSON_IsArray(list)) {
        cJSON_DeleteItemFromObjectCaseSensitive(doc, "entries");
        list = cJSON_AddArrayToObject(doc, "entries");
    }
    copy = cJSON_Duplicate(entry, 1);
    if (list && copy && cJSON_AddItemToArray(list, copy)) {
        while (cJSON_GetArraySize(list) > LOG_ENTRIES_MAX)
            cJSON_DeleteItemFromArray(list, 0);
        text = cJSON_PrintUnformatted(doc);
    } else {
        cJSON_Delete(copy);
    }
    cJSON_Delete(doc);
    return text;
}

void trainer_add_time(cJSON *o)
{
    char when[32];

    cJSON_AddStringToObject(o, "at", store_time_format(time(NULL), when));
}

/* --- earlier goals ------------------------------------------------------- */

/* A goal reduced to lowercase letters and digits, single-spaced: two
 * proposals that differ only in case, punctuation or spacing are the same
 * task. malloc'd. */
char *trainer_goal_key(const char *goal)
{
    size_t n = strlen(goal);
    char *k = malloc(n + 1), *o = k;
    int space = 0;

    if (!k)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)goal; *p; p++) {
        if (isalnum(*p) || *p >= 0x80) {
            if (space && o != k)
                *o++ = ' ';
            *o++ = (char)tolower(*p);
            space = 0;
        } else {
            space = 1;
        }
    }
    *o = '\0';
    return k;
}

int trainer_goal_known(const struct trainer *t, const char *key)
{
    for (size_t i = 0; i < t->ngoals; i++)
        if (strcmp(t->goals[i], key) == 0)
            return 1;
    return 0;
}

void trainer_goal_remember(struct trainer *t, const char *goal)
{
    char *k = trainer_goal_key(goal);

    if (!k || trainer_goal_known(t, k)) {
        free(k);
        return;
    }
    if (t->ngoals < GOALS_MAX) {
        char **g = realloc(t->goals, (t->ngoals + 1) * sizeof *g);
        if (!g) {
            free(k);
            return;
        }
        t->goals = g;
        t->goals[t->ngoals++] = k;
    } else {
        free(t->goals[t->goals_next]);
        t->goals[t->goals_next] = k;
        t->goals_next = (t->goals_next + 1) % GOALS_MAX;
    }
    t->dirty = 1;
}

int trainer_remember_seed_goal(void *ctx, const char *json)
{
    cJSON *o = cJSON_Parse(json);
    const char *g = trainer_jstr(o, "goal");

    if (g)
        trainer_goal_remember(ctx, g);
    cJSON_Delete(o);
    return 0;
}

/* --- state --------------------------------------------------------------- */

/* The Trainer's own state (plan, position in the score log, goals, its
 * queued tasks) as the text of document trainer_state; malloc'd, NULL when
 * out of memory. */
char *trainer_state_text(struct trainer *t)
{
    cJSON *o = cJSON_CreateObject(), *plan = plan_state_to_json(t->plan);
    cJSON *goals, *pending;
    char *text;

    if (!o || !plan) {
        cJSON_Delete(o);
        cJSON_Delete(plan);
        return NULL;
    }
    cJSON_AddItemToObject(o, "plan", plan);
    cJSON_AddNumberToObject(o, "score_seq", (double)t->score_seq);
    cJSON_AddNumberToObject(o, "rng", (double)(t->rng.s >> 11));
    cJSON_AddNumberToObject(o, "fallbacks", (double)t->fallbacks);
    goals = cJSON_AddArrayToObject(o, "goals");
    for (size_t i = 0; goals && i < t->ngoals; i++)
        cJSON_AddItemToArray(goals, cJSON_CreateString(t->goals[i]));
    pending = cJSON_AddArrayToObject(o, "pending");
    for (size_t i = 0; pending && i < t->npending; i++)
        cJSON_AddItemToArray(pending,
                             cJSON_CreateNumber((double)t->pending[i]));
    text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

/* Saves the state; on failure it stays dirty, to be saved at the next
 * chance, and the failure is logged. */
void trainer_state_save(struct trainer *t)
{
    char *text = trainer_state_text(t);
    int rc = text ? store_doc_put(t->env.st, "trainer_state", text) : -ENOMEM;

    free(text);
    if (rc < 0) {
        trainer_logf(t, "cannot save its state: %s", store_strerror(rc));
        return;
    }
    t->dirty = 0;
}

/* Restores what state_save wrote; a damaged state starts over (logged).
 * A read failure is returned: the caller tries again rather than start
 * over and then overwrite the saved state. */
int trainer_state_load(struct trainer *t)
{
    cJSON *o;
    const cJSON *v, *it;
    int rc = doc_load(t, "trainer_state", &o);

    if (rc < 0)
        return rc;
    if (cJSON_GetArraySize(o) == 0) {
        cJSON_Delete(o);
        return 0;
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "plan");
    if (v && plan_state_from_json(t->plan, v) < 0)
        trainer_logf(t, "saved plan state unreadable: starting a fresh plan");
    v = cJSON_GetObjectItemCaseSensitive(o, "score_seq");
    if (cJSON_IsNumber(v) && v->valuedouble >= 0)
        t->score_seq = (uint64_t)v->valuedouble;
    v = cJSON_GetObjectItemCaseSensitive(o, "fallbacks");
    if (cJSON_IsNumber(v) && v->valuedouble >= 0)
        t->fallbacks = (unsigned long)v->valuedouble;
    v = cJSON_GetObjectItemCaseSensitive(o, "rng");
    if (cJSON_IsNumber(v))
        plan_rng_seed(&t->rng, (uint64_t)v->valuedouble);
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "goals"))
        if (cJSON_IsString(it) && t->ngoals < GOALS_MAX) {
            char **g = realloc(t->goals, (t->ngoals + 1) * sizeof *g);
            char *k = strdup(it->valuestring);
            if (!g || !k) {
                if (g)
                    t->goals = g;
                free(k);
                break;
            }
            t->goals = g;
            t->goals[t->ngoals++] = k;
        }
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "pending"))
        if (cJSON_IsNumber(it) && it->valuedouble >= 1) {
            uint64_t *p = realloc(t->pending,
                                  (t->npending + 1) * sizeof *p);
            if (!p)
                break;
            t->pending = p;
            t->pending[t->npending++] = (uint64_t)it->valuedouble;
        }
    cJSON_Delete(o);
    return 0;
}

struct record_ctx {
    const cJSON *entry;             /* for trainer_log; NULL: none        */
    const cJSON *motive;            /* for motivation_log; NULL: none     */
    const char *state;              /* trainer_state's new text           */
};

static int record_cb(void *ctx, const char *const *old, const size_t *len,
                     char **out, size_t n)
{
    const struct record_ctx *c = ctx;

    (void)len;
    (void)n;
    if ((c->entry && !(out[0] = log_doc_append(old[0], c->entry))) ||
        (c->motive && !(out[1] = log_doc_append(old[1], c->motive))) ||
        !(out[2] = strdup(c->state)))
        return -ENOMEM;
    return 0;
}

/* Writes what making a task did -- its trainer_log and motivation_log
 * entries and the state after it -- in one commit, so that the logs never
 * tell of a choice the saved state does not hold, nor the reverse. On
 * failure the state stays dirty (saved at the next chance) and the
 * failure is logged. */
void trainer_record(struct trainer *t, const cJSON *entry,
                    const cJSON *motive)
{
    static const char *const names[3] = { "trainer_log", "motivation_log",
                                          "trainer_state" };
    struct record_ctx c = { entry, motive, trainer_state_text(t) };
    int rc = c.state ? store_docs_update(t->env.st, names, 3, record_cb, &c)
                     : -ENOMEM;

    free((char *)c.state);
    if (rc < 0) {
        trainer_logf(t, "cannot save its logs and state: %s",
                     store_strerror(rc));
        return;
    }
    t->dirty = 0;
}
