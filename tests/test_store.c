/* test_store.c -- unit tests of the LMDB store (store/store.h).
 *
 * Each test gets its own fresh data directory (mkdtemp) and removes it after.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "temp_store.h"

struct fixture {
    char dir[64];
    struct store *st;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[256];

    if (f == NULL)
        return -1;
    strcpy(f->dir, "/tmp/test_store.XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    if (store_open(f->dir, NULL, &f->st, err, sizeof err) != 0) {
        fprintf(stderr, "store_open: %s\n", err);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    DIR *d;
    struct dirent *e;

    store_close(f->st);
    d = opendir(f->dir);
    if (d) {
        while ((e = readdir(d)) != NULL) {
            char path[PATH_MAX];

            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "%s/%s", f->dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static void reopen(struct fixture *f, const struct store_options *opt)
{
    char err[256] = "";

    store_close(f->st);
    f->st = NULL;
    int rc = store_open(f->dir, opt, &f->st, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "reopen: %s\n", err);
    assert_int_equal(rc, 0);
    assert_non_null(f->st);
}

/* Enqueues one task with the given goal and returns its id. */
static uint64_t add(struct store *st, const char *goal, int priority,
                    enum store_source src)
{
    char def[256];
    struct store_task_new t = { def, priority, src };
    uint64_t id = 0;

    snprintf(def, sizeof def, "{\"goal\":\"%s\",\"priority\":%d}", goal,
             priority);
    assert_int_equal(store_task_enqueue(st, &t, 1, &id), 0);
    assert_true(id > 0);
    return id;
}

/* ---- Callbacks that collect what a view shows ---------------------------- */

struct collect {
    uint64_t keys[4096];
    char *vals[4096];
    size_t n;
};

static int collect_fn(void *ctx, uint64_t key, const char *val, size_t len)
{
    struct collect *c = ctx;

    assert_true(c->n < 4096);
    c->keys[c->n] = key;
    c->vals[c->n] = strndup(val, len);
    assert_non_null(c->vals[c->n]);
    c->n++;
    return 0;
}

static void collect_free(struct collect *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->vals[i]);
    c->n = 0;
}

static int stop_fn(void *ctx, uint64_t key, const char *val, size_t len)
{
    (*(int *)ctx)++;
    return 42;
}

/* Reads one task document through a fresh view (caller frees). */
static cJSON *task_get(struct store *st, uint64_t id)
{
    struct store_view *v;
    struct collect *c = calloc(1, sizeof *c);
    cJSON *doc = NULL;

    assert_non_null(c);
    assert_int_equal(store_view_begin(st, &v), 0);
    if (store_view_get(v, STORE_COLL_TASKS, id, collect_fn, c) == 0) {
        doc = cJSON_Parse(c->vals[0]);
        assert_non_null(doc);
    }
    store_view_end(v);
    collect_free(c);
    free(c);
    return doc;
}

static const char *jstr(const cJSON *doc, const char *k)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(doc, k);

    return cJSON_IsString(it) ? it->valuestring : NULL;
}

static double jnum(const cJSON *doc, const char *k)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(doc, k);

    assert_true(cJSON_IsNumber(it));
    return it->valuedouble;
}

static int jnull(const cJSON *doc, const char *k)
{
    return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(doc, k));
}

static int is_rfc3339(const char *s)
{
    unsigned y, mo, d, h, mi, se;
    int n = 0;

    return s && sscanf(s, "%4u-%2u-%2uT%2u:%2u:%2uZ%n", &y, &mo, &d, &h, &mi,
                       &se, &n) == 6 && n == 20 && strlen(s) == 20;
}

/* Queue ids in run order, through a view. */
static size_t queue_ids(struct store *st, uint64_t *ids, size_t max)
{
    struct store_view *v;
    struct collect *c = calloc(1, sizeof *c);
    size_t n;

    assert_non_null(c);
    assert_int_equal(store_view_begin(st, &v), 0);
    assert_int_equal(store_view_queue(v, collect_fn, c), 0);
    assert_int_equal(store_view_queue_depth(v), c->n);
    store_view_end(v);
    assert_true(c->n <= max);
    for (size_t i = 0; i < c->n; i++) {
        cJSON *doc = cJSON_Parse(c->vals[i]);
        char name[STORE_ID_MAX];

        ids[i] = c->keys[i];
        /* the callback gets the document of the id it names */
        assert_non_null(doc);
        assert_string_equal(jstr(doc, "id"), store_id_format(ids[i], name));
        assert_string_equal(jstr(doc, "status"), "queued");
        cJSON_Delete(doc);
    }
    n = c->n;
    collect_free(c);
    free(c);
    return n;
}

/* ---- Queue order ---------------------------------------------------------- */

struct qtask {
    uint64_t id;
    int priority;
    enum store_source src;
};

/* The documented order, written independently of the key encoding. */
static int qtask_cmp(const void *a, const void *b)
{
    const struct qtask *x = a, *y = b;
    int cx = x->src != STORE_SOURCE_USER, cy = y->src != STORE_SOURCE_USER;

    if (cx != cy)
        return cx - cy;
    if (x->priority != y->priority)
        return x->priority > y->priority ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static void test_queue_order(void **state)
{
    struct fixture *f = *state;
    static const int prios[] = { 0, 5, -3, 1000, -1000, INT_MAX, INT_MIN, 5,
                                 0, 1, -1, 7 };
    struct qtask want[64];
    uint64_t got[70];
    size_t n = 0;

    /* Mixed sources and priorities, some singly, some in one batch. */
    for (size_t i = 0; i < 30; i++) {
        want[n].priority = prios[(i * 7) % 12];
        want[n].src = (enum store_source)(i % 3);
        want[n].id = add(f->st, "single", want[n].priority, want[n].src);
        n++;
    }
    {
        struct store_task_new batch[30];
        uint64_t ids[30];

        for (size_t i = 0; i < 30; i++) {
            batch[i].def_json = "{\"goal\":\"batched\"}";
            batch[i].priority = prios[(i * 5) % 12];
            batch[i].source = (enum store_source)((i + 1) % 3);
        }
        assert_int_equal(store_task_enqueue(f->st, batch, 30, ids), 0);
        for (size_t i = 0; i < 30; i++) {
            want[n].id = ids[i];
            want[n].priority = batch[i].priority;
            want[n].src = batch[i].source;
            n++;
        }
    }
    /* the extremes of int, in both classes */
    {
        static const struct { int p; enum store_source s; } ext[] = {
            { INT_MIN, STORE_SOURCE_USER }, { INT_MAX, STORE_SOURCE_SEED },
            { INT_MAX, STORE_SOURCE_USER }, { INT_MIN, STORE_SOURCE_TRAINER },
        };

        for (size_t i = 0; i < 4; i++, n++) {
            want[n].priority = ext[i].p;
            want[n].src = ext[i].s;
            want[n].id = add(f->st, "extreme", ext[i].p, ext[i].s);
        }
    }
    qsort(want, n, sizeof want[0], qtask_cmp);
    /* sanity of the expectation itself */
    assert_int_equal(want[0].src, STORE_SOURCE_USER);
    assert_int_equal(want[0].priority, INT_MAX);
    assert_int_equal(want[n - 1].src, STORE_SOURCE_TRAINER);
    assert_int_equal(want[n - 1].priority, INT_MIN);

    assert_int_equal(queue_ids(f->st, got, 70), n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(got[i], want[i].id);

    for (size_t i = 0; i < n; i++) {
        uint64_t id = 0;
        char *json = NULL;
        cJSON *doc;

        assert_int_equal(store_task_dequeue(f->st, &id, &json), 0);
        assert_int_equal(id, want[i].id);
        doc = cJSON_Parse(json);
        assert_non_null(doc);
        assert_int_equal((int)jnum(doc, "priority"), want[i].priority);
        assert_string_equal(jstr(doc, "source"),
                            store_source_name(want[i].src));
        cJSON_Delete(doc);
        free(json);
    }
    assert_int_equal(store_task_dequeue(f->st, NULL, NULL), -ENOENT);
}

/* ---- Enqueue -------------------------------------------------------------- */

static void test_atomic_batch(void **state)
{
    struct fixture *f = *state;
    struct store_task_new bad[3] = {
        { "{\"goal\":\"a\"}", 0, STORE_SOURCE_USER },
        { "[\"not an object\"]", 0, STORE_SOURCE_USER },
        { "{\"goal\":\"c\"}", 0, STORE_SOURCE_USER },
    };
    struct store_task_new good[3] = {
        { "{\"goal\":\"first\",\"language\":\"python\",\"priority\":9,"
          "\"skills\":[\"recursion\"]}", 3, STORE_SOURCE_TRAINER },
        { "{\"goal\":\"second\"}", 0, STORE_SOURCE_USER },
        { "{\"goal\":\"third\"}", -2, STORE_SOURCE_SEED },
    };
    static const char *const badjson[] = { "{\"goal\":", "", "{} x", "42",
                                           "null" };
    uint64_t ids[3] = { 0 };
    struct store_view *v;
    cJSON *doc;
    char name[STORE_ID_MAX];

    assert_int_equal(store_task_enqueue(f->st, bad, 3, ids), -EINVAL);
    for (size_t i = 0; i < sizeof badjson / sizeof badjson[0]; i++) {
        bad[2].def_json = badjson[i];
        bad[1].def_json = "{\"goal\":\"b\"}";
        assert_int_equal(store_task_enqueue(f->st, bad, 3, ids), -EINVAL);
    }
    bad[2].def_json = NULL;
    assert_int_equal(store_task_enqueue(f->st, bad, 3, ids), -EINVAL);
    bad[2].def_json = "{\"goal\":\"c\"}";
    bad[2].source = (enum store_source)7;
    assert_int_equal(store_task_enqueue(f->st, bad, 3, ids), -EINVAL);
    assert_int_equal(store_task_enqueue(f->st, good, STORE_MAX_BATCH + 1,
                                        ids), -EINVAL);

    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_view_count(v, STORE_COLL_TASKS), 0);
    assert_int_equal(store_view_queue_depth(v), 0);
    store_view_end(v);

    assert_int_equal(store_task_enqueue(f->st, good, 3, ids), 0);
    /* failed batches used no ids */
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], 2);
    assert_int_equal(ids[2], 3);

    doc = task_get(f->st, 1);
    assert_non_null(doc);
    assert_string_equal(jstr(doc, "id"), "task_000001");
    assert_string_equal(jstr(doc, "source"), "trainer");
    assert_string_equal(jstr(doc, "status"), "queued");
    /* the queue's priority is the caller's, not the definition's copy */
    assert_int_equal((int)jnum(doc, "priority"), 3);
    assert_int_equal((int)jnum(doc, "attempts"), 0);
    assert_string_equal(jstr(doc, "goal"), "first");
    assert_string_equal(jstr(doc, "language"), "python");
    assert_string_equal(cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(doc, "skills"), 0)->valuestring,
        "recursion");
    assert_true(is_rfc3339(jstr(doc, "created_at")));
    assert_true(jnull(doc, "started_at"));
    assert_true(jnull(doc, "finished_at"));
    assert_true(jnull(doc, "score"));
    assert_true(jnull(doc, "result"));
    /* the human-friendly fields lead */
    assert_string_equal(doc->child->string, "id");
    assert_string_equal(doc->child->next->string, "source");
    assert_string_equal(doc->child->next->next->string, "status");
    cJSON_Delete(doc);

    doc = task_get(f->st, 3);
    assert_non_null(doc);
    assert_string_equal(jstr(doc, "source"), "seed");
    assert_string_equal(jstr(doc, "id"), store_id_format(3, name));
    cJSON_Delete(doc);
    assert_null(task_get(f->st, 4));

    /* ids keep growing after a reopen */
    reopen(f, NULL);
    assert_int_equal(add(f->st, "later", 0, STORE_SOURCE_USER), 4);
    assert_int_equal(store_task_enqueue(f->st, good, 0, NULL), 0);
}

/* ---- Dequeue, requeue, recovery ------------------------------------------ */

static void test_dequeue_running(void **state)
{
    struct fixture *f = *state;
    uint64_t a = add(f->st, "a", 0, STORE_SOURCE_USER);
    uint64_t b = add(f->st, "b", 0, STORE_SOURCE_USER);
    uint64_t id = 0;
    char *json = NULL;
    cJSON *doc;
    struct store_view *v;

    assert_int_equal(store_task_dequeue(f->st, &id, &json), 0);
    assert_int_equal(id, a);
    doc = cJSON_Parse(json);
    assert_non_null(doc);
    assert_string_equal(jstr(doc, "status"), "running");
    assert_true(is_rfc3339(jstr(doc, "started_at")));
    cJSON_Delete(doc);
    free(json);

    /* the stored document agrees with what dequeue returned */
    doc = task_get(f->st, a);
    assert_string_equal(jstr(doc, "status"), "running");
    assert_true(is_rfc3339(jstr(doc, "started_at")));
    cJSON_Delete(doc);

    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_view_queue_depth(v), 1);
    assert_int_equal(store_view_count(v, STORE_COLL_TASKS), 2);
    store_view_end(v);

    assert_int_equal(store_task_dequeue(f->st, &id, NULL), 0);
    assert_int_equal(id, b);
    json = (char *)"untouched";
    assert_int_equal(store_task_dequeue(f->st, &id, &json), -ENOENT);
    assert_null(json);
}

static void test_requeue(void **state)
{
    struct fixture *f = *state;
    uint64_t a = add(f->st, "a", 0, STORE_SOURCE_USER);
    uint64_t b = add(f->st, "b", 0, STORE_SOURCE_USER);
    uint64_t id, order[4];
    cJSON *doc;

    assert_int_equal(store_task_dequeue(f->st, &id, NULL), 0);
    assert_int_equal(id, a);
    assert_int_equal(store_task_set_attempts(f->st, a, 1), 0);
    assert_int_equal(store_task_requeue(f->st, a), 0);
    doc = task_get(f->st, a);
    assert_string_equal(jstr(doc, "status"), "queued");
    assert_true(jnull(doc, "started_at"));
    assert_int_equal((int)jnum(doc, "attempts"), 1);
    cJSON_Delete(doc);
    /* back in its old place, ahead of the younger task */
    assert_int_equal(queue_ids(f->st, order, 4), 2);
    assert_int_equal(order[0], a);
    assert_int_equal(order[1], b);

    assert_int_equal(store_task_requeue(f->st, a), -EINVAL);
    assert_int_equal(store_task_requeue(f->st, 999), -ENOENT);
    assert_int_equal(store_task_set_attempts(f->st, 999, 1), -ENOENT);
    assert_int_equal(store_task_set_attempts(f->st, a, -1), -EINVAL);
}

struct grep {
    const char *needle;
    int found;
    int stamped;
};

static int grep_fn(void *ctx, uint64_t key, const char *val, size_t len)
{
    struct grep *g = ctx;
    char *s = strndup(val, len);

    assert_non_null(s);
    if (strstr(s, g->needle)) {
        g->found++;
        g->stamped = len > 21 && s[20] == ' ' && strncmp(s, "20", 2) == 0;
    }
    free(s);
    return 0;
}

static void test_recovery(void **state)
{
    struct fixture *f = *state;
    uint64_t before[8], after[8], id;
    struct store_view *v;
    struct grep g = { "recovered task_000002 left running by a crash", 0, 0 };
    cJSON *doc;

    add(f->st, "low", -5, STORE_SOURCE_USER);
    add(f->st, "high", 9, STORE_SOURCE_USER);
    add(f->st, "trainer", 100, STORE_SOURCE_TRAINER);
    add(f->st, "mid", 0, STORE_SOURCE_USER);
    add(f->st, "seed", 0, STORE_SOURCE_SEED);
    assert_int_equal(queue_ids(f->st, before, 8), 5);
    assert_int_equal(before[0], 2);

    assert_int_equal(store_task_dequeue(f->st, &id, NULL), 0);
    assert_int_equal(id, 2);
    assert_int_equal(store_task_set_attempts(f->st, 2, 2), 0);
    reopen(f, NULL);   /* closed without finishing: as after a crash */

    doc = task_get(f->st, 2);
    assert_non_null(doc);
    assert_string_equal(jstr(doc, "status"), "queued");
    assert_int_equal((int)jnum(doc, "attempts"), 2);
    assert_true(jnull(doc, "started_at"));
    cJSON_Delete(doc);
    assert_int_equal(queue_ids(f->st, after, 8), 5);
    assert_memory_equal(before, after, sizeof before[0] * 5);

    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_view_range(v, STORE_COLL_SYSLOG, 0, UINT64_MAX,
                                      grep_fn, &g), 0);
    store_view_end(v);
    assert_int_equal(g.found, 1);
    assert_true(g.stamped);

    /* nothing is recovered twice */
    reopen(f, NULL);
    g.found = 0;
    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_view_range(v, STORE_COLL_SYSLOG, 0, UINT64_MAX,
                                      grep_fn, &g), 0);
    assert_int_equal(store_view_queue_depth(v), 5);
    store_view_end(v);
    assert_int_equal(g.found, 1);
}

/* ---- Finish --------------------------------------------------------------- */

static void test_finish(void **state)
{
    struct fixture *f = *state;
    uint64_t a = add(f->st, "a", 0, STORE_SOURCE_USER);
    uint64_t b = add(f->st, "b", 0, STORE_SOURCE_USER);
    uint64_t id;
    static const char code1[] = "def f(x):\n    return x\n";
    static const char code2[] = "def f(x):\n    return x * x\n";
    struct store_code code[2] = {
        { 1, "py", code1, sizeof code1 - 1 },
        { 2, "py", code2, sizeof code2 - 1 },
    };
    struct store_named skills[2] = {
        { "recursion", "{\"level\":2, \"attempts\":1}" },
        { "arrays", "{\"level\":1}" },
    };
    struct store_named docs[1] = {
        { "builder_profile", "{\"tasks_total\":1,\"passed\":1}" },
    };
    struct store_task_outcome out = {
        .status = "passed",
        .attempts = 2,
        .score_json = "{\"accuracy\":1,\"total\":0.9}",
        .result_json = "{\"passed\":3,\"total\":3}",
        .code = code,
        .ncode = 2,
        .reflection_json = "{\"lesson\":\"square it\"}",
        .summary_json = "{\"summary\":\"done\"}",
        .score_entry_json = "{\"task\":\"task_000001\",\"total\":0.9}",
        .skills = skills,
        .nskills = 2,
        .docs = docs,
        .ndocs = 1,
    };
    struct store_task_outcome bad;
    struct store_code badcode = { 0, "py", "x", 1 };
    struct store_view *v;
    struct collect *c = calloc(1, sizeof *c);
    const char *name, *json;
    size_t jlen;
    cJSON *doc;

    assert_non_null(c);
    assert_int_equal(store_task_dequeue(f->st, &id, NULL), 0);
    assert_int_equal(id, a);

    /* refused outcomes change nothing */
    bad = out;
    bad.status = "done";
    assert_int_equal(store_task_finish(f->st, a, &bad), -EINVAL);
    bad.status = NULL;
    assert_int_equal(store_task_finish(f->st, a, &bad), -EINVAL);
    bad = out;
    bad.score_json = "{\"accuracy\":";
    assert_int_equal(store_task_finish(f->st, a, &bad), -EINVAL);
    bad = out;
    bad.skills = (struct store_named[]){ { "s", "not json" } };
    bad.nskills = 1;
    assert_int_equal(store_task_finish(f->st, a, &bad), -EINVAL);
    bad = out;
    bad.code = &badcode;
    bad.ncode = 1;
    assert_int_equal(store_task_finish(f->st, a, &bad), -EINVAL);
    badcode.attempt = STORE_MAX_ATTEMPT + 1;
    assert_int_equal(store_task_finish(f->st, a, &bad), -EINVAL);
    assert_int_equal(store_task_finish(f->st, 999, &out), -ENOENT);
    doc = task_get(f->st, a);
    assert_string_equal(jstr(doc, "status"), "running");
    cJSON_Delete(doc);

    assert_int_equal(store_task_finish(f->st, a, &out), 0);

    doc = task_get(f->st, a);
    assert_string_equal(jstr(doc, "status"), "passed");
    assert_int_equal((int)jnum(doc, "attempts"), 2);
    assert_true(is_rfc3339(jstr(doc, "finished_at")));
    assert_true(is_rfc3339(jstr(doc, "started_at")));
    assert_true(jnum(cJSON_GetObjectItemCaseSensitive(doc, "score"),
                     "total") == 0.9);
    assert_int_equal((int)jnum(cJSON_GetObjectItemCaseSensitive(doc, "result"),
                               "passed"), 3);
    cJSON_Delete(doc);

    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_view_get(v, STORE_COLL_CODE, STORE_CODE_KEY(a, 2),
                                    collect_fn, c), 0);
    assert_int_equal(c->keys[0], STORE_CODE_KEY(a, 2));
    collect_free(c);
    assert_int_equal(store_view_range(v, STORE_COLL_CODE, STORE_CODE_KEY(a, 0),
                                      STORE_CODE_KEY(a, 255), collect_fn, c),
                     0);
    assert_int_equal(c->n, 2);
    collect_free(c);
    assert_int_equal(store_view_count(v, STORE_COLL_CODE), 2);
    store_view_end(v);

    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_view_get(v, STORE_COLL_REFLECTIONS, a, collect_fn,
                                    c), 0);
    assert_string_equal(c->vals[0], "{\"lesson\":\"square it\"}");
    collect_free(c);
    assert_int_equal(store_view_get(v, STORE_COLL_SUMMARIES, a, collect_fn, c),
                     0);
    assert_string_equal(c->vals[0], "{\"summary\":\"done\"}");
    collect_free(c);
    assert_int_equal(store_view_get(v, STORE_COLL_REFLECTIONS, b, collect_fn,
                                    c), -ENOENT);
    assert_int_equal(store_view_count(v, STORE_COLL_SCORES), 1);
    assert_int_equal(store_view_tail(v, STORE_COLL_SCORES, 5, collect_fn, c),
                     0);
    assert_int_equal(c->n, 1);
    assert_int_equal(c->keys[0], 1);
    assert_string_equal(c->vals[0], "{\"task\":\"task_000001\",\"total\":0.9}");
    collect_free(c);
    /* skills in name order, stored compact */
    assert_int_equal(store_view_skills(v, collect_fn, c), 0);
    assert_int_equal(c->n, 2);
    store_view_end(v);
    collect_free(c);
    free(c);

    /* skill records through store_named_split, checked inside a callback */
    {
        static const char rec[] = "arrays\0{\"level\":1}";

        store_named_split(rec, sizeof rec - 1, &name, &json, &jlen);
        assert_string_equal(name, "arrays");
        assert_int_equal(jlen, strlen("{\"level\":1}"));
    }

    {
        char *p = NULL;

        assert_int_equal(store_doc_get(f->st, "builder_profile", &p, NULL), 0);
        assert_string_equal(p, "{\"tasks_total\":1,\"passed\":1}");
        free(p);
    }

    /* a task ends once */
    assert_int_equal(store_task_finish(f->st, a, &out), -EINVAL);

    /* cancelling a queued task takes it off the queue */
    {
        struct store_task_outcome cancel = { .status = "cancelled" };

        assert_int_equal(store_task_finish(f->st, b, &cancel), 0);
        doc = task_get(f->st, b);
        assert_string_equal(jstr(doc, "status"), "cancelled");
        assert_true(jnull(doc, "score"));
        cJSON_Delete(doc);
        assert_int_equal(store_task_dequeue(f->st, &id, NULL), -ENOENT);
    }

    /* nothing was left in the running set: a reopen recovers nothing */
    reopen(f, NULL);
    doc = task_get(f->st, a);
    assert_string_equal(jstr(doc, "status"), "passed");
    cJSON_Delete(doc);
    assert_int_equal(store_task_dequeue(f->st, &id, NULL), -ENOENT);
}

/* Splits code and skill values inside the view callback, where the
 * pointers are valid. */
struct split_seen {
    char ext[8];
    char text[128];
    char name[32];
    char json[64];
    int calls;
};

static int code_split_fn(void *ctx, uint64_t key, const char *val, size_t len)
{
    struct split_seen *s = ctx;
    const char *ext, *text;
    size_t tl;

    store_code_split(val, len, &ext, &text, &tl);
    assert_true(strlen(ext) < sizeof s->ext && tl < sizeof s->text);
    strcpy(s->ext, ext);
    memcpy(s->text, text, tl);
    s->text[tl] = '\0';
    s->calls++;
    return 0;
}

static int skill_split_fn(void *ctx, uint64_t key, const char *val, size_t len)
{
    struct split_seen *s = ctx;
    const char *name, *json;
    size_t jl;

    store_named_split(val, len, &name, &json, &jl);
    assert_int_equal(key, (uint64_t)s->calls);
    if (s->calls == 0) {
        assert_true(strlen(name) < sizeof s->name && jl < sizeof s->json);
        strcpy(s->name, name);
        memcpy(s->json, json, jl);
        s->json[jl] = '\0';
    }
    s->calls++;
    return 0;
}

static void test_finish_artefacts_split(void **state)
{
    struct fixture *f = *state;
    uint64_t a = add(f->st, "a", 0, STORE_SOURCE_USER);
    static const char src[] = "int main(void) { return 0; }\n";
    struct store_code code = { 3, "c", src, sizeof src - 1 };
    struct store_named skills[2] = {
        { "zeta", "{\"level\": 3}" },
        { "alpha", "{ \"level\" : 1 }" },
    };
    struct store_task_outcome out = {
        .status = "failed", .attempts = 3, .code = &code, .ncode = 1,
        .skills = skills, .nskills = 2,
    };
    struct split_seen s = { 0 };
    struct store_view *v;

    assert_int_equal(store_task_finish(f->st, a, &out), 0);
    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_view_get(v, STORE_COLL_CODE, STORE_CODE_KEY(a, 3),
                                    code_split_fn, &s), 0);
    assert_int_equal(store_view_get(v, STORE_COLL_CODE, STORE_CODE_KEY(a, 1),
                                    code_split_fn, &s), -ENOENT);
    assert_int_equal(s.calls, 1);
    assert_string_equal(s.ext, "c");
    assert_string_equal(s.text, src);
    s.calls = 0;
    assert_int_equal(store_view_skills(v, skill_split_fn, &s), 0);
    assert_int_equal(s.calls, 2);
    assert_string_equal(s.name, "alpha");        /* name order */
    assert_string_equal(s.json, "{\"level\":1}"); /* compact */
    s.calls = 0;
    assert_int_equal(store_view_skills(v, stop_fn, &s.calls), 42);
    assert_int_equal(s.calls, 1);
    store_view_end(v);
}

/* ---- Map growth ----------------------------------------------------------- */

static void test_map_growth(void **state)
{
    struct fixture *f = *state;
    struct store_options opt = { .map_size = 64 * 1024 };
    enum { TOTAL = 2000, BATCH = 100 };
    static char defs[BATCH][1200];
    struct store_task_new batch[BATCH];
    uint64_t ids[BATCH], expect = 1;
    struct store_view *v;
    struct collect *c = calloc(1, sizeof *c);

    assert_non_null(c);
    reopen(f, &opt);
    for (int done = 0; done < TOTAL; done += BATCH) {
        for (int i = 0; i < BATCH; i++) {
            int n = snprintf(defs[i], sizeof defs[i], "{\"goal\":\"%06d ",
                             done + i);

            memset(defs[i] + n, 'g', 1024);
            strcpy(defs[i] + n + 1024, "\"}");
            batch[i].def_json = defs[i];
            batch[i].priority = (done + i) % 7;
            batch[i].source = STORE_SOURCE_USER;
        }
        assert_int_equal(store_task_enqueue(f->st, batch, BATCH, ids), 0);
        for (int i = 0; i < BATCH; i++)
            assert_int_equal(ids[i], expect++);
    }
    /* some single writes on top, each of which may need to grow too */
    for (int i = 0; i < 20; i++)
        assert_int_equal(store_log_append(f->st, STORE_LOG_SYSTEM,
                                          "a line of the system log"), 0);

    reopen(f, &opt);
    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_view_count(v, STORE_COLL_TASKS), TOTAL);
    assert_int_equal(store_view_queue_depth(v), TOTAL);
    assert_int_equal(store_view_count(v, STORE_COLL_SYSLOG), 20);
    for (uint64_t id = 1; id <= TOTAL; id += 199) {
        cJSON *doc;
        char prefix[16];

        assert_int_equal(store_view_get(v, STORE_COLL_TASKS, id, collect_fn,
                                        c), 0);
        doc = cJSON_Parse(c->vals[0]);
        assert_non_null(doc);
        snprintf(prefix, sizeof prefix, "%06d g", (int)id - 1);
        assert_int_equal(strncmp(jstr(doc, "goal"), prefix, 8), 0);
        assert_int_equal(strlen(jstr(doc, "goal")), 7 + 1024);
        cJSON_Delete(doc);
        collect_free(c);
    }
    store_view_end(v);
    free(c);
    /* and it keeps working after the reopen at the small size */
    assert_int_equal(add(f->st, "after", 0, STORE_SOURCE_USER), TOTAL + 1);
}

/* Writers and readers at once while the map keeps growing under them. */
struct race {
    struct store *st;
    atomic_int writers_left;
    atomic_int failures;
};

static void *race_writer(void *arg)
{
    struct race *r = arg;
    static const char goal[] = "{\"goal\":\"%d "
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "\"}";

    for (int i = 0; i < 300; i++) {
        char def[512];
        struct store_task_new t = { def, i % 5, STORE_SOURCE_TRAINER };

        snprintf(def, sizeof def, goal, i);
        if (store_task_enqueue(r->st, &t, 1, NULL) != 0 ||
            store_log_append(r->st, STORE_LOG_SHELL, def) != 0)
            atomic_fetch_add(&r->failures, 1);
    }
    atomic_fetch_sub(&r->writers_left, 1);
    return NULL;
}

static int count_fn(void *ctx, uint64_t key, const char *val, size_t len)
{
    (*(size_t *)ctx)++;
    return 0;
}

static void *race_reader(void *arg)
{
    struct race *r = arg;

    while (atomic_load(&r->writers_left) > 0) {
        struct store_view *v;
        size_t depth, walked = 0;

        if (store_view_begin(r->st, &v) != 0) {
            atomic_fetch_add(&r->failures, 1);
            continue;
        }
        depth = store_view_queue_depth(v);
        /* a snapshot: the walk sees exactly what the count said */
        if (store_view_queue(v, count_fn, &walked) != 0 || walked != depth)
            atomic_fetch_add(&r->failures, 1);
        store_view_end(v);
    }
    return NULL;
}

static void test_concurrent_growth(void **state)
{
    struct fixture *f = *state;
    struct store_options opt = { .map_size = 64 * 1024 };
    struct race r = { 0 };
    pthread_t w[3], rd[2];
    struct store_view *v;

    reopen(f, &opt);
    r.st = f->st;
    atomic_init(&r.writers_left, 3);
    atomic_init(&r.failures, 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&w[i], NULL, race_writer, &r), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&rd[i], NULL, race_reader, &r), 0);
    for (int i = 0; i < 3; i++)
        pthread_join(w[i], NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(rd[i], NULL);
    assert_int_equal(atomic_load(&r.failures), 0);

    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_view_count(v, STORE_COLL_TASKS), 900);
    assert_int_equal(store_view_count(v, STORE_COLL_SHELLLOG), 900);
    store_view_end(v);
}

/* A thread that holds a view cannot wait for the map to grow (the view
 * holds what growth waits for): the write fails instead of hanging, and
 * succeeds once the view has ended. */
static void test_growth_with_own_view(void **state)
{
    struct fixture *f = *state;
    struct store_options opt = { .map_size = 64 * 1024 };
    static char big[256 * 1024];
    struct store_view *v;
    uint64_t n;

    reopen(f, &opt);
    /* ["xxx...x"]: large even in compact form */
    memset(big, 'x', sizeof big - 1);
    memcpy(big, "[\"", 2);
    memcpy(big + sizeof big - 3, "\"]", 2);
    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_analysis_append(f->st, big, &n), -EDEADLK);
    store_view_end(v);
    assert_int_equal(store_analysis_append(f->st, big, &n), 0);
    assert_int_equal(n, 1);
}

static void test_no_sync(void **state)
{
    struct fixture *f = *state;
    struct store_options opt = { .no_sync = 1 };
    cJSON *doc;

    reopen(f, &opt);
    add(f->st, "fast", 0, STORE_SOURCE_SEED);
    reopen(f, NULL);
    doc = task_get(f->st, 1);
    assert_non_null(doc);
    assert_string_equal(jstr(doc, "goal"), "fast");
    cJSON_Delete(doc);
}

/* ---- Open: schema, lock, directory --------------------------------------- */

/* Rewrites (or with val NULL deletes) a meta record with raw LMDB calls. */
static void meta_tamper(const char *dir, const char *key, const void *val,
                        size_t len)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k = { strlen(key), (void *)key };
    MDB_val v = { len, (void *)val };

    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0644), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    if (val)
        assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    else
        assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static void test_schema(void **state)
{
    struct fixture *f = *state;
    static const unsigned char v99[4] = { 0, 0, 0, 99 };
    char err[512] = "";
    struct store *st = (struct store *)&err;   /* must be reset to NULL */

    add(f->st, "keep me", 0, STORE_SOURCE_USER);
    store_close(f->st);
    f->st = NULL;

    meta_tamper(f->dir, "schema", v99, sizeof v99);
    assert_int_equal(store_open(f->dir, NULL, &st, err, sizeof err),
                     STORE_ESCHEMA);
    assert_null(st);
    assert_non_null(strstr(err, "schema version 99"));
    assert_non_null(strstr(err, "up to 1"));
    assert_non_null(strstr(err, f->dir));

    meta_tamper(f->dir, "schema", NULL, 0);
    err[0] = '\0';
    assert_int_equal(store_open(f->dir, NULL, &st, err, sizeof err),
                     STORE_ECORRUPT);
    assert_null(st);
    assert_true(strlen(err) > 0);

    /* the refused opens wrote nothing: restoring the record restores all */
    {
        static const unsigned char v1[4] = { 0, 0, 0, STORE_SCHEMA_VERSION };
        cJSON *doc;

        meta_tamper(f->dir, "schema", v1, sizeof v1);
        reopen(f, NULL);
        doc = task_get(f->st, 1);
        assert_non_null(doc);
        assert_string_equal(jstr(doc, "goal"), "keep me");
        cJSON_Delete(doc);
    }
}

static void test_lock(void **state)
{
    struct fixture *f = *state;
    struct store *st2 = NULL;
    char err[512] = "";
    char pid[32];

    assert_int_equal(store_open(f->dir, NULL, &st2, err, sizeof err),
                     STORE_ELOCKED);
    assert_null(st2);
    snprintf(pid, sizeof pid, "pid %ld", (long)getpid());
    assert_non_null(strstr(err, pid));
    assert_non_null(strstr(err, f->dir));

    /* released at close */
    store_close(f->st);
    f->st = NULL;
    assert_int_equal(store_open(f->dir, NULL, &f->st, err, sizeof err), 0);
}

static void test_bad_dir(void **state)
{
    struct fixture *f = *state;
    struct store *st = NULL;
    char err[512] = "", path[128];
    FILE *fp;

    snprintf(path, sizeof path, "%s/missing", f->dir);
    assert_int_equal(store_open(path, NULL, &st, err, sizeof err), -ENOENT);
    assert_null(st);
    assert_non_null(strstr(err, "does not exist"));
    assert_non_null(strstr(err, path));

    snprintf(path, sizeof path, "%s/afile", f->dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(store_open(path, NULL, &st, err, sizeof err), -ENOTDIR);
    assert_null(st);
    assert_non_null(strstr(err, "not a directory"));
    unlink(path);
}

/* ---- Views ---------------------------------------------------------------- */

static void test_view_snapshot(void **state)
{
    struct fixture *f = *state;
    struct store_view *old, *now;
    struct collect *c = calloc(1, sizeof *c);
    uint64_t id;

    assert_non_null(c);
    for (int i = 0; i < 3; i++)
        add(f->st, "before", 0, STORE_SOURCE_USER);
    assert_int_equal(store_view_begin(f->st, &old), 0);

    id = add(f->st, "after", 0, STORE_SOURCE_USER);
    add(f->st, "after", 0, STORE_SOURCE_USER);
    assert_int_equal(store_task_dequeue(f->st, NULL, NULL), 0);
    assert_int_equal(store_log_append(f->st, STORE_LOG_SYSTEM, "x"), 0);

    assert_int_equal(store_view_count(old, STORE_COLL_TASKS), 3);
    assert_int_equal(store_view_queue_depth(old), 3);
    assert_int_equal(store_view_count(old, STORE_COLL_SYSLOG), 0);
    assert_int_equal(store_view_get(old, STORE_COLL_TASKS, id, collect_fn, c),
                     -ENOENT);
    assert_int_equal(store_view_get(old, STORE_COLL_TASKS, 1, collect_fn, c),
                     0);
    assert_non_null(strstr(c->vals[0], "\"status\":\"queued\""));
    collect_free(c);

    assert_int_equal(store_view_begin(f->st, &now), 0);
    assert_int_equal(store_view_count(now, STORE_COLL_TASKS), 5);
    assert_int_equal(store_view_queue_depth(now), 4);
    assert_int_equal(store_view_get(now, STORE_COLL_TASKS, 1, collect_fn, c),
                     0);
    assert_non_null(strstr(c->vals[0], "\"status\":\"running\""));
    collect_free(c);
    store_view_end(now);
    store_view_end(old);
    store_view_end(NULL);
    free(c);
}

/* ---- Logs, analyses, documents, control ---------------------------------- */

static void test_logs(void **state)
{
    struct fixture *f = *state;
    struct store_view *v;
    struct collect *c = calloc(1, sizeof *c);
    uint64_t n = 0;
    int stops = 0;

    assert_non_null(c);
    for (int i = 1; i <= 5; i++) {
        char line[32];

        snprintf(line, sizeof line, "event %d\nsecond\rline", i);
        assert_int_equal(store_log_append(f->st, STORE_LOG_SYSTEM, line), 0);
    }
    assert_int_equal(store_log_append(f->st, STORE_LOG_SHELL, "ran sh"), 0);
    assert_int_equal(store_log_append(f->st, (enum store_log)9, "x"), -EINVAL);
    assert_int_equal(store_analysis_append(f->st, "{\"a\": 1}", &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_analysis_append(f->st, "{\"a\":2}", &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(store_analysis_append(f->st, "{bad", &n), -EINVAL);

    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_view_count(v, STORE_COLL_SYSLOG), 5);
    assert_int_equal(store_view_count(v, STORE_COLL_SHELLLOG), 1);
    assert_int_equal(store_view_tail(v, STORE_COLL_SYSLOG, 2, collect_fn, c),
                     0);
    assert_int_equal(c->n, 2);
    assert_int_equal(c->keys[0], 4);
    assert_int_equal(c->keys[1], 5);
    {
        char ts[21];

        memcpy(ts, c->vals[1], 20);
        ts[20] = '\0';
        assert_true(is_rfc3339(ts));
    }
    assert_string_equal(c->vals[1] + 20, " event 5 second line");
    collect_free(c);
    /* the whole log when asked for more than it holds */
    assert_int_equal(store_view_tail(v, STORE_COLL_SYSLOG, 50, collect_fn, c),
                     0);
    assert_int_equal(c->n, 5);
    assert_int_equal(c->keys[0], 1);
    collect_free(c);
    assert_int_equal(store_view_tail(v, STORE_COLL_SYSLOG, 5, collect_fn, c),
                     0);
    assert_int_equal(c->n, 5);
    collect_free(c);
    assert_int_equal(store_view_range(v, STORE_COLL_SYSLOG, 2, 3, collect_fn,
                                      c), 0);
    assert_int_equal(c->n, 2);
    assert_int_equal(c->keys[0], 2);
    assert_int_equal(c->keys[1], 3);
    collect_free(c);
    assert_int_equal(store_view_range(v, STORE_COLL_SYSLOG, 1, 5, stop_fn,
                                      &stops), 42);
    assert_int_equal(stops, 1);
    assert_int_equal(store_view_range(v, STORE_COLL_ANALYSES, 1, UINT64_MAX,
                                      collect_fn, c), 0);
    assert_int_equal(c->n, 2);
    assert_string_equal(c->vals[0], "{\"a\":1}");
    collect_free(c);
    assert_int_equal(store_view_tail(v, STORE_COLL_SCORES, 3, collect_fn, c),
                     0);
    assert_int_equal(c->n, 0);
    assert_int_equal(store_view_count(v, (enum store_coll)99), 0);
    store_view_end(v);
    free(c);
}

/* Batched log lines: one commit, each line to its log, with its own time;
 * and lines that ride in a task's finishing transaction. */
static void test_log_batches(void **state)
{
    struct fixture *f = *state;
    struct store_view *v;
    struct collect *c = calloc(1, sizeof *c);
    struct store_log_entry e[3] = {
        { STORE_LOG_SYSTEM, 1700000000, "first" },
        { STORE_LOG_SHELL, 0, "ran it" },
        { STORE_LOG_SYSTEM, 1700000001, "second" },
    };
    struct store_log_entry bad[1] = { { 7, 0, "x" } };
    struct store_log_entry with_finish[1] = {
        { STORE_LOG_SYSTEM, 0, "finished with the task" } };
    uint64_t id = add(f->st, "a", 0, STORE_SOURCE_USER), got;
    struct store_task_outcome out = { .status = "failed", .attempts = 1,
                                      .logs = with_finish, .nlogs = 1 };

    assert_non_null(c);
    assert_int_equal(store_log_append_many(f->st, e, 3), 0);
    assert_int_equal(store_log_append_many(f->st, bad, 1), -EINVAL);
    assert_int_equal(store_log_append_many(f->st, NULL, 0), 0);
    assert_int_equal(store_task_dequeue(f->st, &got, NULL), 0);
    assert_int_equal(store_task_finish(f->st, id, &out), 0);
    /* a refused finish writes none of its lines */
    assert_int_equal(store_task_finish(f->st, id, &out), -EINVAL);

    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_view_range(v, STORE_COLL_SYSLOG, 0, UINT64_MAX,
                                      collect_fn, c), 0);
    assert_true(c->n >= 3);
    size_t k = c->n;
    assert_string_equal(c->vals[k - 3], "2023-11-14T22:13:20Z first");
    assert_string_equal(c->vals[k - 2], "2023-11-14T22:13:21Z second");
    assert_string_equal(c->vals[k - 1] + 20, " finished with the task");
    collect_free(c);
    assert_int_equal(store_view_tail(v, STORE_COLL_SHELLLOG, 1, collect_fn,
                                     c), 0);
    assert_string_equal(c->vals[0] + 20, " ran it");
    collect_free(c);
    store_view_end(v);
    free(c);
}

static void test_docs_and_control(void **state)
{
    struct fixture *f = *state;
    static const char *const initial[] = {
        "builder_profile", "current_difficulty", "strategy_weights",
        "learned_concepts", "internal_biases", "motivation_log",
        "trainer_log", "runtime", "control",
    };
    struct store_view *v;
    struct collect *c = calloc(1, sizeof *c);
    char *json;
    size_t len = 0;
    cJSON *doc;

    assert_non_null(c);
    for (size_t i = 0; i < sizeof initial / sizeof initial[0]; i++) {
        assert_int_equal(store_doc_get(f->st, initial[i], &json, &len), 0);
        assert_int_equal(strlen(json), len);
        doc = cJSON_Parse(json);
        assert_non_null(doc);
        assert_true(cJSON_IsObject(doc));
        cJSON_Delete(doc);
        free(json);
    }
    assert_int_equal(store_doc_get(f->st, "current_difficulty", &json, NULL),
                     0);
    doc = cJSON_Parse(json);
    assert_true(jnum(doc, "target_success") == 0.75);
    cJSON_Delete(doc);
    free(json);

    assert_int_equal(store_doc_get(f->st, "nope", &json, NULL), -ENOENT);
    assert_null(json);
    assert_int_equal(store_doc_put(f->st, "strategy_weights", "{oops"),
                     -EINVAL);
    assert_int_equal(store_doc_put(f->st, "", "{}"), -EINVAL);
    assert_int_equal(store_doc_put(f->st, "strategy_weights",
                                   "{ \"weakness\" : 1 }"), 0);
    assert_int_equal(store_doc_get(f->st, "strategy_weights", &json, NULL), 0);
    assert_string_equal(json, "{\"weakness\":1}");
    free(json);

    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_view_doc(v, "control", collect_fn, c), 0);
    assert_string_equal(c->vals[0], "{\"state\":\"running\"}");
    collect_free(c);
    assert_int_equal(store_view_doc(v, "nope", collect_fn, c), -ENOENT);
    store_view_end(v);
    free(c);

    assert_int_equal(store_paused(f->st), 0);
    assert_int_equal(store_set_paused(f->st, 1), 0);
    assert_int_equal(store_paused(f->st), 1);
    reopen(f, NULL);
    assert_int_equal(store_paused(f->st), 1);
    assert_int_equal(store_doc_get(f->st, "control", &json, NULL), 0);
    assert_string_equal(json, "{\"state\":\"paused\"}");
    free(json);
    assert_int_equal(store_set_paused(f->st, 0), 0);
    reopen(f, NULL);
    assert_int_equal(store_paused(f->st), 0);
}

/* ---- Names ---------------------------------------------------------------- */

static void test_ids(void **state)
{
    static const struct {
        const char *s;
        int ok;
        uint64_t id;
    } cases[] = {
        { "task_000001", 1, 1 },
        { "task_000000", 1, 0 },
        { "task_999999", 1, 999999 },
        { "task_1234567", 1, 1234567 },
        { "task_18446744073709551615", 1, UINT64_MAX },
        { "task_18446744073709551616", 0, 0 },     /* overflow */
        { "task_99999999999999999999", 0, 0 },     /* overflow */
        { "task_1", 0, 0 },
        { "task_00001", 0, 0 },
        { "task_0000001", 0, 0 },                  /* a second name for 1 */
        { "task_00000a", 0, 0 },
        { "task_000001x", 0, 0 },
        { "task_-00001", 0, 0 },
        { "task_+00001", 0, 0 },
        { "Task_000001", 0, 0 },
        { "tasks000001", 0, 0 },
        { "", 0, 0 },
        { "task_", 0, 0 },
    };
    char buf[STORE_ID_MAX];
    uint64_t id;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        id = 12345;
        int rc = store_id_parse(cases[i].s, strlen(cases[i].s), &id);

        if (cases[i].ok != (rc == 0))
            fprintf(stderr, "case %s\n", cases[i].s);
        assert_int_equal(rc, cases[i].ok ? 0 : -EINVAL);
        if (cases[i].ok)
            assert_int_equal(id, cases[i].id);
    }
    /* len bounds the parse: no NUL needed, trailing bytes ignored */
    assert_int_equal(store_id_parse("task_000042.json", 11, &id), 0);
    assert_int_equal(id, 42);
    assert_int_equal(store_id_parse("task_000042.json", 12, &id), -EINVAL);
    assert_int_equal(store_id_parse(NULL, 0, &id), -EINVAL);

    assert_string_equal(store_id_format(42, buf), "task_000042");
    assert_string_equal(store_id_format(1234567, buf), "task_1234567");
    assert_string_equal(store_id_format(UINT64_MAX, buf),
                        "task_18446744073709551615");
    /* format and parse agree */
    for (uint64_t x = 1; x < UINT64_MAX / 3; x = x * 3 + 1) {
        store_id_format(x, buf);
        assert_int_equal(store_id_parse(buf, strlen(buf), &id), 0);
        assert_int_equal(id, x);
    }
    assert_string_equal(store_source_name(STORE_SOURCE_SEED), "seed");
    assert_string_equal(store_time_format(0, buf), "1970-01-01T00:00:00Z");
    assert_string_equal(store_time_format(1795634298, buf),
                        "2026-11-25T19:18:18Z");
}

static void test_strerror(void **state)
{
    assert_non_null(strstr(store_strerror(STORE_ESCHEMA), "newer"));
    assert_non_null(strstr(store_strerror(STORE_ELOCKED), "in use"));
    assert_non_null(strstr(store_strerror(STORE_ECORRUPT), "damaged"));
    assert_string_equal(store_strerror(-ENOENT), strerror(ENOENT));
    assert_non_null(store_strerror(-99999));
    assert_non_null(store_strerror(12345));
}

/* The sets index: a set's tasks in id order, names each once, the
 * tasks of other sets and of none left out; atomic with the enqueue. */
static void test_sets(void **state)
{
    struct fixture *f = *state;
    struct store_view *v;
    struct collect c = { .n = 0 };
    static const char *const defs[] = {
        "{\"goal\":\"a1\",\"set\":\"he\"}",
        "{\"goal\":\"plain\"}",
        "{\"goal\":\"b1\",\"set\":\"he-single\"}",
        "{\"goal\":\"a2\",\"set\":\"he\"}",
        "{\"goal\":\"c1\",\"set\":\"h\"}",
    };
    struct store_task_new t[5];
    uint64_t ids[5];

    for (size_t i = 0; i < 5; i++)
        t[i] = (struct store_task_new){ defs[i], 0, STORE_SOURCE_USER };
    assert_int_equal(store_task_enqueue(f->st, t, 5, ids), 0);

    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_view_sets(v, collect_fn, &c), 0);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.vals[0], "h");
    assert_string_equal(c.vals[1], "he");
    assert_string_equal(c.vals[2], "he-single");
    collect_free(&c);

    assert_int_equal(store_view_set_tasks(v, "he", collect_fn, &c), 0);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.keys[0], ids[0]);
    assert_int_equal(c.keys[1], ids[3]);
    assert_non_null(strstr(c.vals[1], "\"goal\":\"a2\""));
    collect_free(&c);
    assert_int_equal(store_view_set_tasks(v, "h", collect_fn, &c), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.keys[0], ids[4]);
    collect_free(&c);
    assert_int_equal(store_view_set_tasks(v, "nope", collect_fn, &c), -ENOENT);
    assert_int_equal(c.n, 0);
    store_view_end(v);

    /* A failed batch indexes nothing. */
    struct store_task_new bad[2] = {
        { "{\"goal\":\"z\",\"set\":\"zz\"}", 0, STORE_SOURCE_USER },
        { "not json", 0, STORE_SOURCE_USER },
    };
    assert_int_not_equal(store_task_enqueue(f->st, bad, 2, NULL), 0);
    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_view_set_tasks(v, "zz", collect_fn, &c), -ENOENT);
    store_view_end(v);
    reopen(f, NULL);
    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_view_set_tasks(v, "he", collect_fn, &c), 0);
    assert_int_equal(c.n, 2);
    collect_free(&c);
    store_view_end(v);
}

/* Finishes task id with a text of the given terms (tf i + 1 each). */
static int finish_text(struct store *st, uint64_t id, const char *const *w,
                       size_t n, uint32_t length)
{
    struct store_term terms[8];
    struct store_text text = { terms, n, length };
    struct store_task_outcome o = { .status = "passed", .attempts = 1,
                                    .text = &text };

    for (size_t i = 0; i < n; i++)
        terms[i] = (struct store_term){ w[i], (uint32_t)i + 1 };
    return store_task_finish(st, id, &o);
}

static void test_text_index(void **state)
{
    struct fixture *f = *state;
    struct store_view *v;
    struct store_text_stats stats;
    struct store_posting p[300];
    size_t n;
    uint64_t df, ids[260];
    static const char *const ab[] = { "alpha", "beta" };
    static const char *const bc[] = { "beta", "gamma" };

    /* An empty index. */
    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_view_text_stats(v, &stats), 0);
    assert_int_equal(stats.docs, 0);
    assert_int_equal(stats.length, 0);
    assert_int_equal(store_view_text_postings(v, "alpha", p, 4, &n, &df), 0);
    assert_int_equal(n, 0);
    assert_int_equal(df, 0);
    store_view_end(v);

    /* No fsync: 260 commits would cost seconds on a busy disk, and
     * durability is checked by the reopen below, not by a crash. */
    struct store_options fast = { .no_sync = 1 };
    struct store_task_new many[260];
    reopen(f, &fast);
    for (int i = 0; i < 260; i++)
        many[i] = (struct store_task_new){ "{\"goal\":\"t\"}", 0,
                                           STORE_SOURCE_USER };
    assert_int_equal(store_task_enqueue(f->st, many, 260, ids), 0);
    assert_int_equal(finish_text(f->st, ids[0], ab, 2, 7), 0);
    assert_int_equal(finish_text(f->st, ids[1], bc, 2, 5), 0);
    /* A task finished without a text is not indexed. */
    struct store_task_outcome plain = { .status = "failed", .attempts = 1 };
    assert_int_equal(store_task_finish(f->st, ids[2], &plain), 0);

    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_view_text_stats(v, &stats), 0);
    assert_int_equal(stats.docs, 2);
    assert_int_equal(stats.length, 12);
    assert_int_equal(store_view_text_postings(v, "beta", p, 10, &n, &df), 0);
    assert_int_equal(df, 2);
    assert_int_equal(n, 2);
    /* Newest first, with each document's frequency and length. */
    assert_int_equal(p[0].doc, ids[1]);
    assert_int_equal(p[0].tf, 1);
    assert_int_equal(p[0].length, 5);
    assert_int_equal(p[1].doc, ids[0]);
    assert_int_equal(p[1].tf, 2);
    assert_int_equal(p[1].length, 7);
    /* Capped, and df alone. */
    assert_int_equal(store_view_text_postings(v, "beta", p, 1, &n, &df), 0);
    assert_int_equal(n, 1);
    assert_int_equal(df, 2);
    assert_int_equal(p[0].doc, ids[1]);
    assert_int_equal(store_view_text_postings(v, "gamma", NULL, 0, &n, &df),
                     0);
    assert_int_equal(n, 0);
    assert_int_equal(df, 1);
    assert_int_equal(store_view_text_postings(v, "delta", p, 10, &n, &df), 0);
    assert_int_equal(df, 0);
    assert_int_equal(store_view_text_postings(v, "", p, 10, &n, &df),
                     -EINVAL);
    assert_int_equal(store_view_text_postings(v, "beta", NULL, 1, &n, &df),
                     -EINVAL);
    store_view_end(v);

    /* Bad texts are refused whole: nothing of the task is written. */
    struct store_term dup[2] = { { "x", 1 }, { "x", 2 } };
    struct store_term zero[1] = { { "x", 0 } };
    struct store_term empty[1] = { { "", 1 } };
    char longw[STORE_TERM_MAX + 2];
    memset(longw, 'l', sizeof longw - 1);
    longw[sizeof longw - 1] = '\0';
    struct store_term toolong[1] = { { longw, 1 } };
    struct store_term nul[1] = { { NULL, 1 } };
    const struct store_text bad[] = {
        { dup, 2, 3 }, { zero, 1, 1 }, { empty, 1, 1 }, { toolong, 1, 1 },
        { nul, 1, 1 }, { dup, 0, 1 }, { NULL, 1, 1 },
        { dup, STORE_TEXT_TERMS_MAX + 1, 1 },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct store_task_outcome o = { .status = "passed", .attempts = 1,
                                        .text = &bad[i] };
        assert_int_equal(store_task_finish(f->st, ids[3], &o), -EINVAL);
    }
    /* A term of exactly STORE_TERM_MAX bytes is fine. */
    longw[STORE_TERM_MAX] = '\0';
    const char *const edge[] = { longw };
    assert_int_equal(finish_text(f->st, ids[3], edge, 1, 1), 0);

    /* Many documents: a capped read is the newest ones. */
    static const char *const common[] = { "common" };
    for (int i = 4; i < 260; i++)
        assert_int_equal(finish_text(f->st, ids[i], common, 1, 1), 0);
    reopen(f, NULL);                /* and it is durable */
    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_view_text_stats(v, &stats), 0);
    assert_int_equal(stats.docs, 3 + 256);
    assert_int_equal(store_view_text_postings(v, "common", p, 300, &n, &df),
                     0);
    assert_int_equal(df, 256);
    assert_int_equal(n, 256);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(p[i].doc, ids[259 - i]);
    assert_int_equal(store_view_text_postings(v, "common", p, 100, &n, &df),
                     0);
    assert_int_equal(n, 100);
    assert_int_equal(p[99].doc, ids[160]);
    assert_int_equal(store_view_text_postings(v, longw, p, 4, &n, &df), 0);
    assert_int_equal(df, 1);
    assert_int_equal(p[0].doc, ids[3]);
    store_view_end(v);
}

/* store_docs_put: several documents, all or none. */
static void test_docs_put(void **state)
{
    struct fixture *f = *state;
    struct store_named good[2] = { { "doc_a", "{\"a\": 1}" },
                                   { "doc_b", "[1, 2]" } };
    struct store_named bad[2] = { { "doc_a", "{\"a\": 2}" },
                                  { "doc_b", "not json" } };
    char *json = NULL;

    assert_int_equal(store_docs_put(f->st, good, 2), 0);
    assert_int_equal(store_docs_put(f->st, bad, 2), -EINVAL);
    assert_int_equal(store_doc_get(f->st, "doc_a", &json, NULL), 0);
    assert_string_equal(json, "{\"a\":1}");     /* the failed batch wrote nothing */
    free(json);
    assert_int_equal(store_doc_get(f->st, "doc_b", &json, NULL), 0);
    assert_string_equal(json, "[1,2]");
    free(json);
    assert_int_equal(store_docs_put(f->st, NULL, 0), 0);
}

/* A counter document: {"n": N} -> {"n": N + 1}; missing means 0. */
static int bump_fn(void *ctx, const char *old, size_t len, char **out)
{
    long n = 0;

    (void)len;
    if (ctx)
        (*(int *)ctx)++;
    if (old && sscanf(old, "{\"n\":%ld}", &n) != 1)
        return -EINVAL;
    return asprintf(out, "{\"n\": %ld}", n + 1) < 0 ? -ENOMEM : 0;
}

static int keep_fn(void *ctx, const char *old, size_t len, char **out)
{
    (void)ctx; (void)old; (void)len;
    *out = NULL;
    return 0;
}

static int refuse_fn(void *ctx, const char *old, size_t len, char **out)
{
    (void)ctx; (void)old; (void)len;
    *out = NULL;
    return -ECANCELED;
}

struct bumper {
    struct store *st;
    pthread_t thread;
};

static void *bumper_main(void *arg)
{
    struct bumper *b = arg;

    for (int i = 0; i < 50; i++)
        if (store_doc_update(b->st, "counter", bump_fn, NULL) != 0)
            return (void *)1;
    return NULL;
}

/* store_doc_update: read-modify-write in one transaction, so that eight
 * threads adding 50 each lose no update; NULL keeps, an error aborts. */
static void test_doc_update(void **state)
{
    struct fixture *f = *state;
    struct bumper b[8];
    char *json = NULL;
    int calls = 0;
    void *ret;

    assert_int_equal(store_doc_update(f->st, "counter", bump_fn, &calls), 0);
    assert_int_equal(calls, 1);
    assert_int_equal(store_doc_get(f->st, "counter", &json, NULL), 0);
    assert_string_equal(json, "{\"n\":1}");
    free(json);
    for (int i = 0; i < 8; i++) {
        b[i].st = f->st;
        assert_int_equal(pthread_create(&b[i].thread, NULL, bumper_main, &b[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        assert_int_equal(pthread_join(b[i].thread, &ret), 0);
        assert_null(ret);
    }
    assert_int_equal(store_doc_get(f->st, "counter", &json, NULL), 0);
    assert_string_equal(json, "{\"n\":401}");
    free(json);
    assert_int_equal(store_doc_update(f->st, "counter", keep_fn, NULL), 0);
    assert_int_equal(store_doc_update(f->st, "counter", refuse_fn, NULL), -ECANCELED);
    assert_int_equal(store_doc_get(f->st, "counter", &json, NULL), 0);
    assert_string_equal(json, "{\"n\":401}");
    free(json);
    assert_int_equal(store_doc_update(f->st, NULL, bump_fn, NULL), -EINVAL);
    assert_int_equal(store_doc_update(f->st, "counter", NULL, NULL), -EINVAL);
}

/* A queued task is cancelled in one transaction: status, reason, off the
 * queue, a log line; a running one is refused with -EBUSY (its builder
 * must stop it), a finished one with -EALREADY, an unknown one -ENOENT. */
static void test_cancel_queued(void **state)
{
    struct fixture *f = *state;
    uint64_t a = add(f->st, "first", 0, STORE_SOURCE_USER);
    uint64_t b = add(f->st, "second", 0, STORE_SOURCE_USER);
    uint64_t c = add(f->st, "third", 0, STORE_SOURCE_USER);
    uint64_t got;
    struct store_view *v;

    assert_int_equal(store_task_dequeue(f->st, &got, NULL), 0);
    assert_int_equal(got, a);
    assert_int_equal(store_task_cancel_queued(f->st, a, "why"), -EBUSY);
    assert_int_equal(store_task_cancel_queued(f->st, b, "asked to"), 0);
    cJSON *doc = task_get(f->st, b);
    assert_string_equal(cJSON_GetObjectItem(doc, "status")->valuestring,
                        "cancelled");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(doc,
                            "result"), "reason")->valuestring, "asked to");
    assert_true(cJSON_IsString(cJSON_GetObjectItem(doc, "finished_at")));
    cJSON_Delete(doc);
    assert_int_equal(store_task_cancel_queued(f->st, b, "again"), -EALREADY);
    assert_int_equal(store_task_cancel_queued(f->st, 999, "no"), -ENOENT);

    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_view_queue_depth(v), 1);     /* only c */
    struct collect *col = calloc(1, sizeof *col);
    assert_non_null(col);
    assert_int_equal(store_view_tail(v, STORE_COLL_SYSLOG, 1, collect_fn,
                                     col), 0);
    assert_int_equal(col->n, 1);
    assert_non_null(strstr(col->vals[0], "cancel: task_000002: cancelled "
                                         "while queued"));
    collect_free(col);
    free(col);
    store_view_end(v);
    assert_int_equal(store_task_dequeue(f->st, &got, NULL), 0);
    assert_int_equal(got, c);
}

/* Retention: a log keeps its last log_keep lines and the analyses their
 * last analyses_keep, keys unchanged; a store that grew under a larger
 * limit shrinks by at most 64 records an append. */
static void test_retention(void **state)
{
    struct fixture *f = *state;
    struct store_options small = { .log_keep = 10, .analyses_keep = 3 };
    struct store_view *v;
    struct collect *c = calloc(1, sizeof *c);
    uint64_t n;

    assert_non_null(c);
    for (int i = 0; i < 100; i++)
        assert_int_equal(store_log_append(f->st, STORE_LOG_SHELL, "old"), 0);
    reopen(f, &small);
    for (int i = 1; i <= 25; i++) {
        char line[32];
        snprintf(line, sizeof line, "line %d", i);
        assert_int_equal(store_log_append(f->st, STORE_LOG_SYSTEM, line), 0);
    }
    for (int i = 1; i <= 5; i++)
        assert_int_equal(store_analysis_append(f->st, "{}", &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_view_count(v, STORE_COLL_SYSLOG), 10);
    assert_int_equal(store_view_range(v, STORE_COLL_SYSLOG, 0, UINT64_MAX,
                                      collect_fn, c), 0);
    assert_int_equal(c->keys[0], 16);
    assert_int_equal(c->keys[9], 25);
    assert_non_null(strstr(c->vals[9], " line 25"));
    collect_free(c);
    assert_int_equal(store_view_range(v, STORE_COLL_ANALYSES, 0, UINT64_MAX,
                                      collect_fn, c), 0);
    assert_int_equal(c->n, 3);
    assert_int_equal(c->keys[0], 3);
    collect_free(c);
    /* 100 old lines, limit 10: one append trims 64, the next the rest. */
    assert_int_equal(store_view_count(v, STORE_COLL_SHELLLOG), 100);
    store_view_end(v);
    assert_int_equal(store_log_append(f->st, STORE_LOG_SHELL, "new"), 0);
    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_view_count(v, STORE_COLL_SHELLLOG), 101 - 64);
    store_view_end(v);
    assert_int_equal(store_log_append(f->st, STORE_LOG_SHELL, "new"), 0);
    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_view_count(v, STORE_COLL_SHELLLOG), 10);
    store_view_end(v);
    free(c);
}

/* ---- Task state, atomic read-modify-write (issue 14) -------------------- */

static void test_task_state(void **state)
{
    struct fixture *f = *state;
    struct store_view *v;
    enum store_status st;
    enum store_source src;
    uint64_t first, got;

    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_view_queue_first(v, &first, &src), -ENOENT);
    assert_int_equal(store_view_task_state(v, 1, &st, &src), -ENOENT);
    store_view_end(v);

    uint64_t tr = add(f->st, "trainer's", 5, STORE_SOURCE_TRAINER);
    uint64_t us = add(f->st, "user's", 0, STORE_SOURCE_USER);
    assert_int_equal(store_view_begin(f->st, &v), 0);
    /* User tasks run first whatever the priorities. */
    assert_int_equal(store_view_queue_first(v, &first, &src), 0);
    assert_int_equal(first, us);
    assert_int_equal(src, STORE_SOURCE_USER);
    assert_int_equal(store_view_task_state(v, tr, &st, &src), 0);
    assert_int_equal(st, STORE_STATUS_QUEUED);
    assert_int_equal(src, STORE_SOURCE_TRAINER);
    assert_int_equal(store_view_task_state(v, tr, NULL, NULL), 0);
    store_view_end(v);

    assert_int_equal(store_task_dequeue(f->st, &got, NULL), 0);
    assert_int_equal(got, us);
    struct store_task_outcome out = { .status = "failed", .attempts = 1 };
    assert_int_equal(store_task_finish(f->st, us, &out), 0);
    assert_int_equal(store_task_dequeue(f->st, &got, NULL), 0);
    assert_int_equal(got, tr);
    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_view_task_state(v, us, &st, NULL), 0);
    assert_int_equal(st, STORE_STATUS_FAILED);
    assert_int_equal(store_view_task_state(v, tr, &st, NULL), 0);
    assert_int_equal(st, STORE_STATUS_RUNNING);
    assert_int_equal(store_view_queue_first(v, NULL, NULL), -ENOENT);
    store_view_end(v);
    assert_string_equal(store_status_name(STORE_STATUS_CANCELLED),
                        "cancelled");
    assert_string_equal(store_status_name((enum store_status)99), "?");
}

static void test_enqueue_marked(void **state)
{
    struct fixture *f = *state;
    struct store_task_new t[2] = {
        { "{\"goal\":\"one\"}", 0, STORE_SOURCE_SEED },
        { "{\"goal\":\"two\"}", 0, STORE_SOURCE_SEED },
    };
    uint64_t ids[2] = { 0, 0 };
    char *doc = NULL;

    /* A marker that is not JSON: refused before anything is written. */
    assert_int_equal(store_task_enqueue_marked(f->st, t, 2, ids, "seed",
                                               "{not json"), -EINVAL);
    assert_int_equal(store_doc_get(f->st, "seed", &doc, NULL), -ENOENT);
    assert_int_equal(temp_store_queue_depth(f->st), 0);
    /* A task that is not JSON: nothing, marker included. */
    struct store_task_new bad[2] = { t[0], { "[1]", 0, STORE_SOURCE_SEED } };
    assert_int_equal(store_task_enqueue_marked(f->st, bad, 2, ids, "seed",
                                               "{}"), -EINVAL);
    assert_int_equal(store_doc_get(f->st, "seed", &doc, NULL), -ENOENT);
    assert_int_equal(temp_store_queue_depth(f->st), 0);

    assert_int_equal(store_task_enqueue_marked(f->st, t, 2, ids, "seed",
                                               "{ \"tasks\": 2 }"), 0);
    assert_true(ids[0] > 0 && ids[1] == ids[0] + 1);
    assert_int_equal(temp_store_queue_depth(f->st), 2);
    assert_int_equal(store_doc_get(f->st, "seed", &doc, NULL), 0);
    assert_string_equal(doc, "{\"tasks\":2}");
    free(doc);
    /* Once per marker: the second call writes nothing at all. */
    assert_int_equal(store_task_enqueue_marked(f->st, t, 2, NULL, "seed",
                                               "{\"tasks\":3}"), -EEXIST);
    assert_int_equal(temp_store_queue_depth(f->st), 2);
    assert_int_equal(store_doc_get(f->st, "seed", &doc, NULL), 0);
    assert_string_equal(doc, "{\"tasks\":2}");
    free(doc);
    /* No tasks: the marker alone. */
    assert_int_equal(store_task_enqueue_marked(f->st, NULL, 0, NULL, "other",
                                               "{}"), 0);
    assert_int_equal(store_doc_get(f->st, "other", &doc, NULL), 0);
    free(doc);
    assert_int_equal(store_task_enqueue_marked(f->st, t, 1, NULL, "",
                                               "{}"), -EINVAL);
}

struct edit {
    int calls;
    int fail;                      /* returned instead of editing          */
    const char *put1;              /* out[1], or NULL to leave it          */
    char seen0[64];                /* old[0] as fn saw it ("(none)")        */
    char seen1[64];
};

static int edit_fn(void *ctx, const char *const *old, const size_t *len,
                   char **out, size_t n)
{
    struct edit *e = ctx;

    e->calls++;
    assert_int_equal(n, 2);
    snprintf(e->seen0, sizeof e->seen0, "%s", old[0] ? old[0] : "(none)");
    snprintf(e->seen1, sizeof e->seen1, "%s", old[1] ? old[1] : "(none)");
    assert_true(old[1] == NULL || strlen(old[1]) == len[1]);
    out[0] = strdup("{\"n\":1}");
    out[1] = e->put1 ? strdup(e->put1) : NULL;
    return e->fail;
}

static void test_docs_update(void **state)
{
    struct fixture *f = *state;
    static const char *const names[2] = { "fresh", "trainer_log" };
    struct edit e = { .put1 = "{\"entries\":[1]}" };
    char *doc = NULL;

    /* A missing document is NULL; one that exists is its text. */
    assert_int_equal(store_docs_update(f->st, names, 2, edit_fn, &e), 0);
    assert_int_equal(e.calls, 1);
    assert_string_equal(e.seen0, "(none)");
    assert_string_equal(e.seen1, "{\"entries\":[]}");
    assert_int_equal(store_doc_get(f->st, "fresh", &doc, NULL), 0);
    assert_string_equal(doc, "{\"n\":1}");
    free(doc);
    assert_int_equal(store_doc_get(f->st, "trainer_log", &doc, NULL), 0);
    assert_string_equal(doc, "{\"entries\":[1]}");
    free(doc);

    /* fn's error aborts the whole transaction: neither changes. */
    e = (struct edit){ .fail = -EBADMSG, .put1 = "{\"entries\":[2]}" };
    assert_int_equal(store_docs_update(f->st, names, 2, edit_fn, &e),
                     -EBADMSG);
    assert_int_equal(store_doc_get(f->st, "trainer_log", &doc, NULL), 0);
    assert_string_equal(doc, "{\"entries\":[1]}");
    free(doc);
    /* So does a new text that is not JSON, even after a good one. */
    assert_int_equal(store_doc_put(f->st, "fresh", "{\"n\":0}"), 0);
    e = (struct edit){ .put1 = "{oops" };
    assert_int_equal(store_docs_update(f->st, names, 2, edit_fn, &e),
                     -EINVAL);
    assert_int_equal(store_doc_get(f->st, "fresh", &doc, NULL), 0);
    assert_string_equal(doc, "{\"n\":0}");
    free(doc);
    /* NULL leaves a document as it is. */
    e = (struct edit){ 0 };
    assert_int_equal(store_docs_update(f->st, names, 2, edit_fn, &e), 0);
    assert_int_equal(store_doc_get(f->st, "trainer_log", &doc, NULL), 0);
    assert_string_equal(doc, "{\"entries\":[1]}");
    free(doc);
    static const char *const bad[1] = { "" };
    assert_int_equal(store_docs_update(f->st, bad, 1, edit_fn, &e), -EINVAL);
    assert_int_equal(store_docs_update(f->st, names, 0, edit_fn, &e), 0);
}

struct fill {
    int calls;
    int fail;
    char *doc;                     /* what fn puts in "counter"             */
    struct store_named named;
};

static int collect_one(void *ctx, uint64_t key, const char *val, size_t len)
{
    char **out = ctx;

    (void)key;
    *out = strndup(val, len);
    return *out ? 0 : -ENOMEM;
}

/* Increments document "counter" (made {"n":0} when missing) and checks the
 * task as the finishing transaction sees it. */
static int fill_fn(void *ctx, struct store_view *v,
                   struct store_task_outcome *out)
{
    struct fill *c = ctx;
    char *text = NULL;
    int n = 0, rc = store_view_doc(v, "counter", collect_one, &text);
    enum store_status st;

    c->calls++;
    if (rc == 0) {
        assert_int_equal(sscanf(text, "{\"n\":%d}", &n), 1);
        free(text);
    } else {
        assert_int_equal(rc, -ENOENT);
    }
    free(c->doc);                  /* an earlier try's */
    assert_true(asprintf(&c->doc, "{\"n\":%d}", n + 1) > 0);
    c->named = (struct store_named){ "counter", c->doc };
    out->docs = &c->named;
    out->ndocs = 1;
    assert_int_equal(store_view_task_state(v, 1, &st, NULL), 0);
    assert_int_equal(st, c->calls <= 2 ? STORE_STATUS_RUNNING
                                       : STORE_STATUS_PASSED);
    return c->fail;
}

static void test_finish_with(void **state)
{
    struct fixture *f = *state;
    struct store_task_outcome base = { .status = "passed", .attempts = 1,
                                       .result_json = "{\"tests\":1}" };
    struct fill c = { .fail = -ECANCELED };
    struct store_view *v;
    enum store_status st;
    uint64_t id;
    char *doc = NULL;

    add(f->st, "one", 0, STORE_SOURCE_USER);
    add(f->st, "two", 0, STORE_SOURCE_USER);
    assert_int_equal(store_task_dequeue(f->st, &id, NULL), 0);
    assert_int_equal(id, 1);
    /* fn's error: nothing is written, the task still runs. */
    assert_int_equal(store_task_finish_with(f->st, 1, &base, fill_fn, &c),
                     -ECANCELED);
    assert_int_equal(store_doc_get(f->st, "counter", &doc, NULL), -ENOENT);
    c.fail = 0;
    assert_int_equal(store_task_finish_with(f->st, 1, &base, fill_fn, &c),
                     0);
    assert_int_equal(store_doc_get(f->st, "counter", &doc, NULL), 0);
    assert_string_equal(doc, "{\"n\":1}");
    free(doc);
    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_view_task_state(v, 1, &st, NULL), 0);
    assert_int_equal(st, STORE_STATUS_PASSED);
    store_view_end(v);
    /* Once: a finished task is refused, fn's writes with it. */
    assert_int_equal(store_task_finish_with(f->st, 1, &base, fill_fn, &c),
                     -EINVAL);
    assert_int_equal(store_doc_get(f->st, "counter", &doc, NULL), 0);
    assert_string_equal(doc, "{\"n\":1}");
    free(doc);
    free(c.doc);
    assert_int_equal(store_task_finish_with(f->st, 2, &base, NULL, &c),
                     -EINVAL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_queue_order),
        T(test_text_index),
        T(test_atomic_batch),
        T(test_dequeue_running),
        T(test_requeue),
        T(test_recovery),
        T(test_finish),
        T(test_finish_artefacts_split),
        T(test_map_growth),
        T(test_concurrent_growth),
        T(test_growth_with_own_view),
        T(test_no_sync),
        T(test_schema),
        T(test_lock),
        T(test_bad_dir),
        T(test_view_snapshot),
        T(test_logs),
        T(test_log_batches),
        T(test_docs_and_control),
        T(test_ids),
        T(test_strerror),
        T(test_sets),
        T(test_docs_put),
        T(test_doc_update),
        T(test_cancel_queued),
        T(test_retention),
        T(test_task_state),
        T(test_enqueue_marked),
        T(test_docs_update),
        T(test_finish_with),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
