/* memory.c -- what the Builder remembers between tasks, in the store.
 *
 * A skill record (core/skill_map.json, one member per skill) is the rating
 * of rating.h plus "success_rate" and "recent": the last RECENT_MAX tasks
 * of the skill, newest first, as {"task": N, "passed": bool, "attempt": K}.
 * Recall follows "recent" to the tasks' reflections and archived code, so
 * it reads a few records whatever the history's length.
 */
#include "memory.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "rating.h"

#define RECENT_MAX 8            /* tasks remembered per skill              */
#define CONCEPT_TASKS_MAX 20    /* tasks listed per learned concept        */
#define PROFILE_LIST 3          /* strengths and weaknesses shown          */
#define PROFILE_MIN_ATTEMPTS 3  /* a skill needs this many to be judged    */
#define PROFILE_STRENGTH_RATE 0.6 /* pass rate a strength needs; below it a
                                     judged skill is a weakness            */

/* Serialises commits: skill records and documents are read, changed and
 * written back, and two builders must not interleave that. */
static pthread_mutex_t commit_lock = PTHREAD_MUTEX_INITIALIZER;

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

/* --- recall ------------------------------------------------------------------ */

static int keep(struct memory_recall *r, char *s)
{
    char **v;

    if (!s)
        return -ENOMEM;
    v = realloc(r->strings, (r->nstrings + 1) * sizeof *v);
    if (!v) {
        free(s);
        return -ENOMEM;
    }
    r->strings = v;
    r->strings[r->nstrings++] = s;
    return 0;
}

static int copy_cb(void *ctx, uint64_t key, const char *val, size_t len)
{
    char **out = ctx;

    (void)key;
    *out = strndup(val, len);
    return *out ? 0 : -ENOMEM;
}

static int code_cb(void *ctx, uint64_t key, const char *val, size_t len)
{
    char **out = ctx;
    const char *ext, *text;
    size_t tlen;

    (void)key;
    store_code_split(val, len, &ext, &text, &tlen);
    *out = strndup(text, tlen);
    return *out ? 0 : -ENOMEM;
}

/* A recent task of a skill, as listed in its record. */
struct recent {
    uint64_t task;
    int passed;
    unsigned attempt;
};

static size_t recent_of(const cJSON *rec, struct recent *out, size_t max)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(rec, "recent"), *it;
    size_t n = 0;

    cJSON_ArrayForEach(it, a) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "task");
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(it, "passed");
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(it, "attempt");
        if (n == max || !cJSON_IsNumber(t) || t->valuedouble < 1)
            continue;
        out[n++] = (struct recent){ (uint64_t)t->valuedouble,
                                    cJSON_IsTrue(p),
                                    cJSON_IsNumber(k) && k->valuedouble >= 1
                                        ? (unsigned)k->valuedouble : 0 };
    }
    return n;
}

/* The goal of task id, or NULL. */
static char *goal_of(struct store_view *v, uint64_t id)
{
    char *json = NULL, *goal = NULL;
    cJSON *o;

    if (store_view_get(v, STORE_COLL_TASKS, id, copy_cb, &json) != 0)
        return NULL;
    o = cJSON_Parse(json);
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(o, "goal");
    if (cJSON_IsString(g))
        goal = strdup(g->valuestring);
    cJSON_Delete(o);
    free(json);
    return goal;
}

/* The lessons of a task's reflection joined, or NULL when it has none. */
static char *lessons_of(struct store_view *v, uint64_t id)
{
    char *json = NULL, *text = NULL;
    size_t len = 0;
    FILE *f;
    cJSON *o;
    const cJSON *l;

    if (store_view_get(v, STORE_COLL_REFLECTIONS, id, copy_cb, &json) != 0)
        return NULL;
    o = cJSON_Parse(json);
    free(json);
    if (!o || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "missing")) ||
        !(f = open_memstream(&text, &len))) {
        cJSON_Delete(o);
        return NULL;
    }
    int first = 1;
    cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(o, "lessons"))
        if (cJSON_IsString(l) && *l->valuestring) {
            fprintf(f, "%s%s", first ? "" : " ", l->valuestring);
            first = 0;
        }
    fclose(f);
    cJSON_Delete(o);
    if (text && !*text) {
        free(text);
        text = NULL;
    }
    return text;
}

int memory_recall(struct store *st, const char *const *skills, size_t nskills,
                  uint64_t self, size_t max_items, struct memory_recall *out)
{
    struct store_view *v = NULL;
    struct skills all = { 0 };
    struct recent rec[RECENT_MAX * 16];
    size_t nrec = 0;
    struct prompt_memory *lessons = NULL, *solved = NULL;
    size_t nl = 0, ns = 0;
    int rc;

    memset(out, 0, sizeof *out);
    if (nskills == 0 || max_items == 0)
        return 0;
    if ((rc = store_view_begin(st, &v)) < 0)
        return rc;
    if ((rc = store_view_skills(v, skills_cb, &all)) < 0)
        goto out;
    /* Recent tasks of the task's skills, each once, skills in order. */
    for (size_t i = 0; i < nskills && i < 16; i++) {
        struct recent r[RECENT_MAX];
        size_t n = recent_of(skills_find(&all, skills[i]), r, RECENT_MAX);
        for (size_t k = 0; k < n; k++) {
            int dup = r[k].task == self;
            for (size_t j = 0; j < nrec && !dup; j++)
                dup = rec[j].task == r[k].task;
            if (!dup)
                rec[nrec++] = r[k];
        }
    }
    lessons = calloc(nrec + 1, sizeof *lessons);
    solved = calloc(nrec + 1, sizeof *solved);
    if (!lessons || !solved) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < nrec && (nl < max_items || ns < max_items); i++) {
        char *goal = goal_of(v, rec[i].task), *text;
        if (!goal || (rc = keep(out, goal)) < 0) {
            if (!goal)
                continue;
            goto out;
        }
        if (nl < max_items && (text = lessons_of(v, rec[i].task))) {
            if ((rc = keep(out, text)) < 0)
                goto out;
            lessons[nl++] = (struct prompt_memory){ "lesson", goal, text };
        }
        text = NULL;
        if (ns < max_items && rec[i].passed && rec[i].attempt &&
            store_view_get(v, STORE_COLL_CODE,
                           STORE_CODE_KEY(rec[i].task, rec[i].attempt),
                           code_cb, &text) == 0 && text) {
            if ((rc = keep(out, text)) < 0)
                goto out;
            solved[ns++] = (struct prompt_memory){ "solved", goal, text };
        }
    }
    /* Interleave, lessons first: they are short and general, code is
     * long and specific, and the prompt drops items from the end. */
    out->items = calloc(max_items, sizeof *out->items);
    if (!out->items) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t a = 0, b = 0; out->n < max_items && (a < nl || b < ns);) {
        if (a < nl)
            out->items[out->n++] = lessons[a++];
        if (out->n < max_items && b < ns)
            out->items[out->n++] = solved[b++];
    }
    rc = 0;
out:
    store_view_end(v);
    skills_free(&all);
    free(lessons);
    free(solved);
    if (rc < 0)
        memory_recall_free(out);
    return rc;
}

void memory_recall_free(struct memory_recall *r)
{
    for (size_t i = 0; i < r->nstrings; i++)
        free(r->strings[i]);
    free(r->strings);
    free(r->items);
    memset(r, 0, sizeof *r);
}

/* --- commit ------------------------------------------------------------------- */

/* The skill's new record: rating updated (passed/failed only: an error
 * says nothing of ability), counts and recent list. */
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
    item = cJSON_CreateObject();
    if (!recent || !item || !cJSON_AddItemToArray(recent, item)) {
        cJSON_Delete(item);
        cJSON_Delete(rec);
        return NULL;
    }
    cJSON_AddNumberToObject(item, "task", (double)o->id);
    cJSON_AddBoolToObject(item, "passed", strcmp(o->status, "passed") == 0);
    cJSON_AddNumberToObject(item, "attempt", o->final_attempt);
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
 * be a weakness. Each list is ordered by level, the weakest first. */
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

/* learned_concepts: {"concepts": [{"name", "count", "tasks": [...],
 * "first_seen"}]}, names merged ignoring case. */
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

int memory_commit(struct store *st, const struct memory_outcome *o)
{
    struct store_view *v = NULL;
    struct skills all = { 0 };
    cJSON *profile = NULL, *concepts = NULL;
    struct store_named named[16], docs[2];
    char *texts[16] = { 0 }, *doc_texts[2] = { 0 }, *entry = NULL;
    size_t nnamed = 0;
    int judged = strcmp(o->status, "passed") == 0 ||
                 strcmp(o->status, "failed") == 0;
    int rc;

    pthread_mutex_lock(&commit_lock);
    if ((rc = store_view_begin(st, &v)) < 0)
        goto out;
    rc = store_view_skills(v, skills_cb, &all);
    if (rc == 0)
        store_view_doc(v, "builder_profile", doc_cb, &profile);
    if (rc == 0)
        store_view_doc(v, "learned_concepts", doc_cb, &concepts);
    store_view_end(v);      /* before writing: see store.h */
    if (rc < 0)
        goto out;
    if (!cJSON_IsObject(profile)) {
        cJSON_Delete(profile);
        profile = cJSON_CreateObject();
    }
    if (!cJSON_IsObject(concepts)) {
        cJSON_Delete(concepts);
        concepts = cJSON_CreateObject();
    }
    rc = -ENOMEM;
    if (!profile || !concepts)
        goto out;

    for (size_t i = 0; i < o->nskills && nnamed < 16; i++) {
        cJSON *rec = skill_update(skills_find(&all, o->skills[i]), o, judged);
        texts[nnamed] = rec ? cJSON_PrintUnformatted(rec) : NULL;
        if (!texts[nnamed]) {
            cJSON_Delete(rec);
            goto out;
        }
        /* The profile reads the new ratings, not the old. */
        cJSON *old = skills_find(&all, o->skills[i]);
        if (old) {
            for (size_t k = 0; k < all.n; k++)
                if (all.recs[k] == old) {
                    cJSON_Delete(old);
                    all.recs[k] = rec;
                }
        } else if (skills_add(&all, o->skills[i], rec) < 0) {
            goto out;
        }
        named[nnamed] = (struct store_named){ o->skills[i], texts[nnamed] };
        nnamed++;
    }
    profile_update(profile, &all, o);
    concepts_update(concepts, o);
    doc_texts[0] = cJSON_PrintUnformatted(profile);
    doc_texts[1] = cJSON_PrintUnformatted(concepts);
    entry = judged ? score_entry(o) : NULL;
    if (!doc_texts[0] || !doc_texts[1] || (judged && !entry))
        goto out;
    docs[0] = (struct store_named){ "builder_profile", doc_texts[0] };
    docs[1] = (struct store_named){ "learned_concepts", doc_texts[1] };

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
        .skills = named,
        .nskills = nnamed,
        .docs = docs,
        .ndocs = 2,
        .logs = o->logs,
        .nlogs = o->nlogs,
    };
    rc = store_task_finish(st, o->id, &so);
out:
    pthread_mutex_unlock(&commit_lock);
    for (size_t i = 0; i < 16; i++)
        free(texts[i]);
    free(doc_texts[0]);
    free(doc_texts[1]);
    free(entry);
    cJSON_Delete(profile);
    cJSON_Delete(concepts);
    skills_free(&all);
    return rc;
}
