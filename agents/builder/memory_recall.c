/* memory_recall.c -- what the Builder remembers, read back for a prompt:
 * the most relevant past lessons and solved code (memory_recall).
 *
 * Recall reads the store's text index: the postings of the query's words
 * and skills, at most RECALL_POSTINGS of each (newest first), so a common
 * word costs the same at 100 tasks as at 100,000; words held by more than
 * half of a large memory say little and are not read at all. The best
 * RECALL_CANDIDATES are then read whole (task, reflection) to choose what
 * to show; the ranking itself is recall.c's (pure).
 */
#include "memory.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "recall.h"

#define RECALL_POSTINGS 128     /* postings read per query term            */
#define RECALL_CANDIDATES 16    /* best candidates read whole              */
#define COMMON_MIN_DOCS 16      /* from this memory size on, ...           */
#define COMMON_SHARE 0.5        /* ... words in more than this share of the
                                   tasks are skipped                       */

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

/* What recall needs of a candidate task's document. */
struct cand_doc {
    uint64_t id;
    char *goal;                     /* NULL: unusable (missing, held out) */
    int passed;
    unsigned final_attempt;         /* whose code was judged; 0: none     */
};

/* Reads a candidate's document. A held-out task is refused here as well
 * as at indexing, so that an index written before a task was marked, or
 * by an older version, cannot leak it. */
static int cand_doc_read(struct store_view *v, uint64_t id,
                         struct cand_doc *d)
{
    char *json = NULL;
    cJSON *o;
    const cJSON *g, *r, *k;
    int rc = store_view_get(v, STORE_COLL_TASKS, id, copy_cb, &json);

    memset(d, 0, sizeof *d);
    d->id = id;
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    o = cJSON_Parse(json);
    free(json);
    g = cJSON_GetObjectItemCaseSensitive(o, "goal");
    if (cJSON_IsString(g) &&
        !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "held_out"))) {
        if (!(d->goal = strdup(g->valuestring))) {
            cJSON_Delete(o);
            return -ENOMEM;
        }
        d->passed = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(
                        o, "status")) &&
                    strcmp(cJSON_GetObjectItemCaseSensitive(o, "status")
                               ->valuestring, "passed") == 0;
        r = cJSON_GetObjectItemCaseSensitive(o, "result");
        k = cJSON_GetObjectItemCaseSensitive(r, "final_attempt");
        if (!cJSON_IsNumber(k))         /* a pass ends the attempts */
            k = cJSON_GetObjectItemCaseSensitive(o, "attempts");
        if (cJSON_IsNumber(k) && k->valuedouble >= 1 &&
            k->valuedouble <= STORE_MAX_ATTEMPT)
            d->final_attempt = (unsigned)k->valuedouble;
    }
    cJSON_Delete(o);
    return 0;
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

/* Scores the candidates of the query's terms (see recall.h) into sc,
 * ranked. */
static int recall_rank(struct store_view *v, const struct memory_query *q,
                       const struct recall_bag *bag, struct recall_scores *sc)
{
    struct store_text_stats stats;
    struct store_posting *post = NULL;
    size_t *npost = NULL;
    double *idf = NULL, idf_sum = 0, avglen;
    size_t total = 0, nskills = 0, nwords = 0;
    int rc;

    memset(sc, 0, sizeof *sc);
    if ((rc = store_view_text_stats(v, &stats)) < 0)
        return rc;
    if (stats.docs == 0 || bag->n == 0)
        return 0;
    avglen = (double)stats.length / (double)stats.docs;
    post = malloc(bag->n * RECALL_POSTINGS * sizeof *post);
    npost = calloc(bag->n, sizeof *npost);
    idf = calloc(bag->n, sizeof *idf);
    if (!post || !npost || !idf) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < bag->n; i++) {
        const struct recall_term *t = &bag->terms[i];
        struct store_posting *p = post + i * RECALL_POSTINGS;
        uint64_t df;

        rc = store_view_text_postings(v, t->text, p, RECALL_POSTINGS,
                                      &npost[i], &df);
        if (rc < 0)
            goto out;
        if (t->skill) {
            nskills++;
            continue;
        }
        /* Every word weighs in W, those no task holds too: matching two
         * words of a query that is mostly new is a weak match. */
        nwords++;
        idf[i] = recall_idf(stats.docs, df);
        idf_sum += idf[i];
        /* A word most tasks share ranks nothing and costs the most. */
        if (stats.docs >= COMMON_MIN_DOCS &&
            (double)df > COMMON_SHARE * (double)stats.docs)
            npost[i] = 0;
    }
    for (size_t i = 0; i < bag->n; i++)
        total += npost[i];
    if ((rc = recall_scores_init(sc, total)) < 0)
        goto out;
    for (size_t i = 0; i < bag->n; i++) {
        const struct recall_term *t = &bag->terms[i];
        const struct store_posting *p = post + i * RECALL_POSTINGS;

        for (size_t k = 0; k < npost[i]; k++)
            recall_scores_add(sc, p[k].doc,
                              t->skill ? 0
                                       : recall_bm25(idf[i], p[k].tf,
                                                     p[k].length, avglen),
                              t->skill);
    }
    recall_scores_rank(sc, idf_sum, nwords, nskills, q->self);
    /* The word part of each score, for recall_choose. */
    for (size_t i = 0; i < sc->n; i++)
        sc->c[i].words = idf_sum > 0 ? sc->c[i].words / idf_sum : 0;
    rc = 0;
out:
    free(post);
    free(npost);
    free(idf);
    if (rc < 0)
        recall_scores_free(sc);
    return rc;
}

int memory_recall(struct store *st, const struct memory_query *q,
                  struct memory_recall *out)
{
    struct store_view *v = NULL;
    struct recall_bag bag = { 0 };
    struct recall_scores sc = { 0 };
    struct recall_offer offer[RECALL_CANDIDATES];
    struct cand_doc docs[RECALL_CANDIDATES];
    char *lesson[RECALL_CANDIDATES] = { 0 };
    size_t lessons[RECALL_CANDIDATES], code[RECALL_CANDIDATES];
    size_t n = 0, nl = 0, nc = 0, max;
    int rc;

    memset(out, 0, sizeof *out);
    memset(docs, 0, sizeof docs);
    if (!q || q->max_items == 0 || !q->goal)
        return 0;
    max = q->max_items < RECALL_CANDIDATES ? q->max_items : RECALL_CANDIDATES;
    if ((rc = recall_bag_init(&bag, RECALL_QUERY_TERMS)) < 0)
        return rc;
    recall_bag_text(&bag, q->goal);
    recall_bag_text(&bag, q->tests);
    for (size_t i = 0; i < q->nskills; i++)
        recall_bag_skill(&bag, q->skills[i]);
    if ((rc = store_view_begin(st, &v)) < 0)
        goto out;
    if ((rc = recall_rank(v, q, &bag, &sc)) < 0)
        goto out;
    /* The best candidates, whole; held-out and vanished ones drop out. */
    for (size_t i = 0; i < sc.n && n < RECALL_CANDIDATES; i++) {
        struct cand_doc d;

        if ((rc = cand_doc_read(v, sc.c[i].doc, &d)) < 0)
            goto out;
        if (!d.goal)
            continue;
        docs[n] = d;
        lesson[n] = lessons_of(v, sc.c[i].doc);
        offer[n] = (struct recall_offer){
            .score = sc.c[i].score, .words = sc.c[i].words,
            .has_lesson = lesson[n] != NULL,
            .has_code = d.passed && d.final_attempt > 0,
        };
        n++;
    }
    recall_choose(offer, n, max, lessons, &nl, code, &nc);
    out->items = calloc(max, sizeof *out->items);
    if (!out->items) {
        rc = -ENOMEM;
        goto out;
    }
    /* Lessons first: short and general; code last, as the prompt drops
     * items from the end when its budget is short. */
    for (size_t i = 0; i < nl; i++) {
        size_t k = lessons[i];
        char *goal = strdup(docs[k].goal), *text = lesson[k];

        lesson[k] = NULL;               /* out owns it now, or keep() freed */
        if ((rc = keep(out, goal)) < 0) {
            free(text);
            goto out;
        }
        if ((rc = keep(out, text)) < 0)
            goto out;
        out->items[out->n++] = (struct prompt_memory){ "lesson", goal, text };
    }
    for (size_t i = 0; i < nc; i++) {
        const struct cand_doc *d = &docs[code[i]];
        char *text = NULL, *goal;

        rc = store_view_get(v, STORE_COLL_CODE,
                            STORE_CODE_KEY(d->id, d->final_attempt), code_cb,
                            &text);
        if (rc == -ENOENT || (rc == 0 && !text))
            continue;                   /* passed without archived code */
        if (rc < 0)
            goto out;
        if ((rc = keep(out, text)) < 0 ||
            (rc = keep(out, goal = strdup(d->goal))) < 0)
            goto out;
        out->items[out->n++] = (struct prompt_memory){ "solved", goal, text };
    }
    rc = 0;
out:
    store_view_end(v);
    for (size_t i = 0; i < RECALL_CANDIDATES; i++) {
        free(docs[i].goal);
        free(lesson[i]);
    }
    recall_scores_free(&sc);
    recall_bag_free(&bag);
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
