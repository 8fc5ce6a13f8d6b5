/* memory.c -- what the Builder remembers between tasks, written: a
 * task's result goes into the store with the skill map, the profile, the
 * learned concepts, the score log and the text index, in one commit
 * (memory_commit). Reading it back for a prompt is memory_recall.c's.
 *
 * A skill record (core/skill_map.json, one member per skill) is the rating
 * of rating.h plus "success_rate" and "recent": the last RECENT_MAX tasks
 * of the skill, newest first, as {"task": N, "passed": bool, "attempt": K},
 * for people and tools reading the skill map.
 */#include "memory.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "agents/trainer/rating.h"
#include "recall.h"

#define RECENT_MAX 8            /* tasks remembered per skill              */
#define CONCEPT_TASKS_MAX 20    /* tasks listed per learned concept        */
#define PROFILE_LIST 3          /* strengths and weaknesses shown          */
#define PROFILE_MIN_ATTEMPTS 3  /* a skill needs this many to be judged    */
#define PROFILE_STRENGTH_RATE 0.6 /* pass rate a strength needs; below it a
                                     judged skill is a weakness            */

/* --- reading skills ---------------------------------------------------------- */

/* Every skill record, parsed: names[i] -> recs[i] (cJSON objects). */
struct skills {
    char **names;
    cJSON **recs;
    size_t n;
    size_t cap;
};

static void skills_free(struct skills *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->names[i]);
        cJSON_Delete(s->recs[i]);
    }
    free(s->names);
    free(s->recs);
    memset(s, 0, sizeof *s);
}

/* Appends a record, taking it (freed here on failure). */
static int skills_add(struct skills *s, const char *name, cJSON *rec)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        char **names = realloc(s->names, cap * sizeof *names);
        if (!names)
            goto nomem;
        s->names = names;
        cJSON **recs = realloc(s->recs, cap * sizeof *recs);
        if (!recs)
            goto nomem;
        s->recs = recs;
        s->cap = cap;
    }
    if (!(s->names[s->n] = strdup(name)))
        goto nomem;
    s->recs[s->n++] = rec;
    return 0;
nomem:
    cJSON_Delete(rec);
    return -ENOMEM;
}

static int skills_cb(void *ctx, uint64_t key, const char *val, size_t len)
{
    const char *name, *json;
    size_t jlen;
    cJSON *rec;

    (void)key;
    store_named_split(val, len, &name, &json, &jlen);
    rec = cJSON_ParseWithLength(json, jlen);
    if (!cJSON_IsObject(rec)) {         /* a damaged record: start over */
        cJSON_Delete(rec);
        if (!(rec = cJSON_CreateObject()))
            return -ENOMEM;
    }
    return skills_add(ctx, name, rec);
}

static cJSON *skills_find(const struct skills *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->names[i], name) == 0)
            return s->recs[i];
    return NULL;
}

/* --- commit ------------------------------------------------------------------- */

/* The skill's new record: rating updated (passed/failed only: an error
 * says nothing of ability), counts and recent list (which a held-out task
 * never enters). */
static cJSON *skill_update(const cJSON *old, const struct memory_outcome *o,
                           int judged)
{
    struct rating r;
    cJSON *rec, *recent, *item;
    const cJSON *it;
    int n = 1;

    if (!old || rating_from_json(old, &r) < 0)
        rating_init(&r);
    if (judged)
        rating_update(&r, o->difficulty, strcmp(o->status, "passed") == 0,
                      o->now);
    rec = rating_to_json(&r);
    if (!rec)
        return NULL;
    cJSON_AddNumberToObject(rec, "success_rate",
                            r.attempts ? (double)r.successes /
                                             (double)r.attempts : 0);
    recent = cJSON_AddArrayToObject(rec, "recent");
    if (!recent) {
        cJSON_Delete(rec);
        return NULL;
    }
    if (o->held_out) {
        n = 0;                  /* the list as it was, without this task */
    } else {
        item = cJSON_CreateObject();
        if (!item || !cJSON_AddItemToArray(recent, item)) {
            cJSON_Delete(item);
            cJSON_Delete(rec);
            return NULL;
        }
        cJSON_AddNumberToObject(item, "task", (double)o->id);
        cJSON_AddBoolToObject(item, "passed",
                              strcmp(o->status, "passed") == 0);
        cJSON_AddNumberToObject(item, "attempt", o->final_attempt);
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(old, "recent")) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "task");
        if (n >= RECENT_MAX)
            break;
        if (cJSON_IsNumber(t) && (uint64_t)t->valuedouble == o->id)
            continue;
        cJSON *copy = cJSON_Duplicate(it, 1);
        if (copy && cJSON_AddItemToArray(recent, copy))
            n++;
        else
            cJSON_Delete(copy);
    }
    return rec;
}

struct level {
    const char *name;
    double level;
    int strong;         /* passes often enough to be a strength */
};

static int by_level(const void *a, const void *b)
{
    double x = ((const struct level *)a)->level;
    double y = ((const struct level *)b)->level;

    return (x < y) - (x > y);       /* highest first */
}

static void add_count(cJSON *doc, const char *name, int delta)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, name);
    double n = cJSON_IsNumber(v) ? v->valuedouble : 0;

    if (v)
        cJSON_DeleteItemFromObjectCaseSensitive(doc, name);
    cJSON_AddNumberToObject(doc, name, n + delta);
}

static void set_item(cJSON *doc, const char *name, cJSON *v)
{
    if (!v)
        return;
    if (cJSON_GetObjectItemCaseSensitive(doc, name))
        cJSON_ReplaceItemInObjectCaseSensitive(doc, name, v);
    else
        cJSON_AddItemToObject(doc, name, v);
}

/* builder_profile: totals, level (mean over practised skills), strengths
 * and weaknesses, model. Both lists need evidence: PROFILE_MIN_ATTEMPTS
 * results; a strength also passes PROFILE_STRENGTH_RATE of them (a highly
 * rated skill that mostly fails is not one), every other judged skill may
 * be a weakness. Strengths are listed best level first, weaknesses
 * weakest first. */
static void profile_update(cJSON *doc, const struct skills *all,
                           const struct memory_outcome *o)
{
    struct level *lv = calloc(all->n + 1, sizeof *lv);
    size_t n = 0;
    double sum = 0;
    char when[32];

    add_count(doc, "tasks_total", 1);
    add_count(doc, strcmp(o->status, "passed") == 0   ? "passed"
                   : strcmp(o->status, "failed") == 0 ? "failed"
                                                      : "errors", 1);
    for (size_t i = 0; lv && i < all->n; i++) {
        struct rating r;
        if (rating_from_json(all->recs[i], &r) < 0 ||
            r.attempts < PROFILE_MIN_ATTEMPTS)
            continue;
        lv[n++] = (struct level){ all->names[i], rating_level(&r),
                                  (double)r.successes >=
                                      PROFILE_STRENGTH_RATE *
                                      (double)r.attempts };
        sum += rating_level(&r);
    }
    if (lv)
        qsort(lv, n, sizeof *lv, by_level);
    cJSON *strengths = cJSON_CreateArray(), *weaknesses = cJSON_CreateArray();
    for (size_t i = 0, k = 0; i < n && k < PROFILE_LIST; i++)
        if (lv[i].strong && ++k)
            cJSON_AddItemToArray(strengths, cJSON_CreateString(lv[i].name));
    for (size_t i = n, k = 0; i > 0 && k < PROFILE_LIST; i--)
        if (!lv[i - 1].strong && ++k)
            cJSON_AddItemToArray(weaknesses,
                                 cJSON_CreateString(lv[i - 1].name));
    set_item(doc, "level", cJSON_CreateNumber(n ? round(sum / (double)n *
                                                        1000) / 1000 : 0));
    set_item(doc, "strengths", strengths);
    set_item(doc, "weaknesses", weaknesses);
    set_item(doc, "model", cJSON_CreateString(o->model ? o->model : ""));
    set_item(doc, "updated_at",
             cJSON_CreateString(store_time_format(o->now, when)));
    free(lv);
}

/* Makes room for one more concept in a full list (MEMORY_CONCEPTS_MAX):
 * drops the least taught, the first of them in the list (the list grows
 * at its end, so that is the one seen first). A list over the cap (kept
 * before there was one) shrinks to it. */
static void concepts_make_room(cJSON *list)
{
    while (cJSON_GetArraySize(list) >= MEMORY_CONCEPTS_MAX) {
        cJSON *it, *least = NULL;
        double least_count = 0;

        cJSON_ArrayForEach(it, list) {
            const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "count");
            double count = cJSON_IsNumber(n) ? n->valuedouble : 0;
            if (!least || count < least_count) {
                least = it;
                least_count = count;
            }
        }
        if (!least)
            return;
        cJSON_Delete(cJSON_DetachItemViaPointer(list, least));
    }
}

/* learned_concepts: {"concepts": [{"name", "count", "tasks": [...],
 * "first_seen"}]}, names merged ignoring case, at most
 * MEMORY_CONCEPTS_MAX of them. */
static void concepts_update(cJSON *doc, const struct memory_outcome *o)
{
    cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, "concepts");
    char when[32], name[STORE_ID_MAX];

    if (!cJSON_IsArray(list)) {
        list = cJSON_CreateArray();
        set_item(doc, "concepts", list);
    }
    store_id_format(o->id, name);
    for (size_t i = 0; list && i < o->nconcepts; i++) {
        cJSON *c = NULL, *it;
        size_t j = 0;

        while (j < i && strcasecmp(o->concepts[j], o->concepts[i]) != 0)
            j++;
        if (j < i)
            continue;           /* one reflection naming it twice: once */
        cJSON_ArrayForEach(it, list) {
            const char *n = cJSON_GetStringValue(
                cJSON_GetObjectItemCaseSensitive(it, "name"));
            if (n && strcasecmp(n, o->concepts[i]) == 0) {
                c = it;
                break;
            }
        }
        if (!c) {
            concepts_make_room(list);
            c = cJSON_CreateObject();
            if (!c || !cJSON_AddItemToArray(list, c)) {
                cJSON_Delete(c);
                continue;
            }
            cJSON_AddStringToObject(c, "name", o->concepts[i]);
            cJSON_AddStringToObject(c, "first_seen",
                                    store_time_format(o->now, when));
            cJSON_AddArrayToObject(c, "tasks");
        }
        add_count(c, "count", 1);
        cJSON *tasks = cJSON_GetObjectItemCaseSensitive(c, "tasks");
        if (cJSON_GetArraySize(tasks) < CONCEPT_TASKS_MAX)
            cJSON_AddItemToArray(tasks, cJSON_CreateString(name));
    }
}

static int doc_cb(void *ctx, uint64_t key, const char *val, size_t len)
{
    cJSON **out = ctx;

    (void)key;
    *out = cJSON_ParseWithLength(val, len);
    return 0;
}

/* The score-log entry: when, which task, how it went. */
static char *score_entry(const struct memory_outcome *o)
{
    cJSON *e = cJSON_CreateObject(), *score = NULL, *it;
    char when[32], name[STORE_ID_MAX];
    char *s;

    if (!e)
        return NULL;
    cJSON_AddStringToObject(e, "task", store_id_format(o->id, name));
    cJSON_AddStringToObject(e, "at", store_time_format(o->now, when));
    cJSON_AddStringToObject(e, "status", o->status);
    cJSON_AddNumberToObject(e, "attempts", o->attempts);
    cJSON_AddNumberToObject(e, "task_difficulty", o->difficulty);
    cJSON_AddItemToObject(e, "skills",
                          cJSON_CreateStringArray(o->skills,
                                                  (int)o->nskills));
    if (o->score_json)
        score = cJSON_Parse(o->score_json);
    cJSON_ArrayForEach(it, score)
        if (cJSON_IsNumber(it))
            cJSON_AddNumberToObject(e, it->string, it->valuedouble);
    cJSON_Delete(score);
    s = cJSON_PrintUnformatted(e);
    cJSON_Delete(e);
    return s;
}

/* The task's words and skills for the text index, or -ENODATA when it is
 * not to be indexed (held out, or nothing to index). */
static int text_of(const struct memory_outcome *o, struct recall_bag *bag,
                   struct store_term **terms, struct store_text *text)
{
    int rc;

    *terms = NULL;
    if (o->held_out || !o->goal)
        return -ENODATA;
    if ((rc = recall_bag_init(bag, RECALL_DOC_TERMS)) < 0)
        return rc;
    recall_bag_text(bag, o->goal);
    recall_bag_text(bag, o->tests);
    for (size_t i = 0; i < o->nskills; i++)
        recall_bag_skill(bag, o->skills[i]);
    if (bag->n == 0)
        return -ENODATA;
    if (!(*terms = calloc(bag->n, sizeof **terms)))
        return -ENOMEM;
    for (size_t i = 0; i < bag->n; i++)
        (*terms)[i] = (struct store_term){ bag->terms[i].text,
                                           bag->terms[i].tf };
    *text = (struct store_text){ *terms, bag->n, bag->length };
    return 0;
}

/* What a commit computes from the records it replaces, inside the write
 * transaction (commit_fill). Everything the outcome points at lives here
 * until the finish returns; a retried transaction starts it over. */
#define COMMIT_SKILLS_MAX 16

struct commit_ctx {
    const struct memory_outcome *o;
    int judged;                     /* passed or failed: ratings move     */
    struct skills all;              /* every skill record, updated ones in */
    char *texts[COMMIT_SKILLS_MAX]; /* the task's skills' new records     */
    struct store_named named[COMMIT_SKILLS_MAX];
    char *doc_texts[2];             /* builder_profile, learned_concepts  */
    struct store_named docs[2];
};

static void commit_ctx_reset(struct commit_ctx *c)
{
    for (size_t i = 0; i < COMMIT_SKILLS_MAX; i++) {
        free(c->texts[i]);
        c->texts[i] = NULL;
    }
    free(c->doc_texts[0]);
    free(c->doc_texts[1]);
    c->doc_texts[0] = c->doc_texts[1] = NULL;
    skills_free(&c->all);
}

/* Reads document 'name' through the view into *out: a new empty object
 * when there is none, or when its text is damaged beyond parsing. A read
 * failure is returned, never taken for a missing document: the profile
 * and the learned concepts must not start over because of one. */
static int doc_read(struct store_view *v, const char *name, cJSON **out)
{
    int rc = store_view_doc(v, name, doc_cb, out);

    if (rc < 0 && rc != -ENOENT)
        return rc;
    if (!cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = cJSON_CreateObject();
    }
    return *out ? 0 : -ENOMEM;
}

/* store_finish_fn: reads the skill records, the profile and the learned
 * concepts as the commit's own transaction sees them, and fills the
 * outcome with their new versions. */
static int commit_fill(void *ctx, struct store_view *v,
                       struct store_task_outcome *so)
{
    struct commit_ctx *c = ctx;
    const struct memory_outcome *o = c->o;
    cJSON *profile = NULL, *concepts = NULL;
    size_t nnamed = 0;
    int rc;

    commit_ctx_reset(c);            /* an earlier try's results */
    if ((rc = store_view_skills(v, skills_cb, &c->all)) < 0 ||
        (rc = doc_read(v, "builder_profile", &profile)) < 0 ||
        (rc = doc_read(v, "learned_concepts", &concepts)) < 0)
        goto out;
    rc = -ENOMEM;
    for (size_t i = 0; i < o->nskills && nnamed < COMMIT_SKILLS_MAX; i++) {
        cJSON *old = skills_find(&c->all, o->skills[i]);
        cJSON *rec = skill_update(old, o, c->judged);

        c->texts[nnamed] = rec ? cJSON_PrintUnformatted(rec) : NULL;
        if (!c->texts[nnamed]) {
            cJSON_Delete(rec);
            goto out;
        }
        /* The profile reads the new ratings, not the old. */
        if (old) {
            for (size_t k = 0; k < c->all.n; k++)
                if (c->all.recs[k] == old) {
                    cJSON_Delete(old);
                    c->all.recs[k] = rec;
                }
        } else if (skills_add(&c->all, o->skills[i], rec) < 0) {
            goto out;
        }
        c->named[nnamed] = (struct store_named){ o->skills[i],
                                                 c->texts[nnamed] };
        nnamed++;
    }
    profile_update(profile, &c->all, o);
    concepts_update(concepts, o);
    c->doc_texts[0] = cJSON_PrintUnformatted(profile);
    c->doc_texts[1] = cJSON_PrintUnformatted(concepts);
    if (!c->doc_texts[0] || !c->doc_texts[1])
        goto out;
    c->docs[0] = (struct store_named){ "builder_profile", c->doc_texts[0] };
    c->docs[1] = (struct store_named){ "learned_concepts", c->doc_texts[1] };
    so->skills = c->named;
    so->nskills = nnamed;
    so->docs = c->docs;
    so->ndocs = 2;
    rc = 0;
out:
    cJSON_Delete(profile);
    cJSON_Delete(concepts);
    return rc;
}

int memory_commit(struct store *st, const struct memory_outcome *o)
{
    struct recall_bag bag = { 0 };
    struct store_term *terms = NULL;
    struct store_text text;
    struct commit_ctx c = { .o = o };
    char *entry = NULL;
    int indexed, rc;

    c.judged = strcmp(o->status, "passed") == 0 ||
               strcmp(o->status, "failed") == 0;
    indexed = text_of(o, &bag, &terms, &text);
    if (indexed == -ENOMEM) {
        recall_bag_free(&bag);
        return -ENOMEM;
    }
    entry = c.judged ? score_entry(o) : NULL;
    if (c.judged && !entry) {
        rc = -ENOMEM;
        goto out;
    }
    struct store_task_outcome so = {
        .status = o->status,
        .attempts = o->attempts,
        .score_json = o->score_json,
        .result_json = o->result_json,
        .code = o->code,
        .ncode = o->ncode,
        .reflection_json = o->reflection_json,
        .summary_json = o->summary_json,
        .score_entry_json = entry,
        .logs = o->logs,
        .nlogs = o->nlogs,
        .text = indexed == 0 ? &text : NULL,
    };
    /* Skill records and documents are read and written back in the one
     * transaction that records the task: two builders finishing at once
     * never lose each other's update, and no lock is needed. */
    rc = store_task_finish_with(st, o->id, &so, commit_fill, &c);
out:
    commit_ctx_reset(&c);
    free(entry);
    free(terms);
    recall_bag_free(&bag);
    return rc;
}
