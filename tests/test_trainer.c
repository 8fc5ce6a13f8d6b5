/* test_trainer.c -- the Trainer's thread and the seed on a real store, with
 * no LLM (an address nothing listens on) and no sandbox: what the Trainer
 * reads of the Builder's results, and how it writes its documents.
 *
 * The build links this test with -Wl,--wrap for mdb_put, mdb_txn_commit
 * and mdb_get, so that it can see which records each write transaction
 * puts, and make one put or read fail as a disk would. LMDB runs one write
 * transaction at a time, so the puts between two commits belong to the
 * second.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <lmdb.h>

#include "agents/llm/llm.h"
#include "agents/llm/llm_monitor.h"
#include "agents/trainer/seed.h"
#include "agents/trainer/trainer.h"
#include "store/status.h"
#include "store/store.h"
#include "temp_store.h"

/* ---- the wrapped LMDB calls ---------------------------------------------- */

#define PUTS_MAX 8192

struct put {
    unsigned commit;                /* the commit it went in (from 1)     */
    char key[40];                   /* printable keys only, else ""       */
};

static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;
static struct put recorded[PUTS_MAX];   /* guarded by rec_lock                */
static size_t nputs;                /* guarded by rec_lock                */
static unsigned commits;            /* guarded by rec_lock                */
static _Atomic(const char *) fail_put;  /* this key's put fails with EIO */
static _Atomic(const char *) fail_get;  /* this key's read fails with EIO */

static int key_is(const MDB_val *k, const char *name)
{
    return name && k->mv_size == strlen(name) &&
           memcmp(k->mv_data, name, k->mv_size) == 0;
}

int __real_mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data,
                   unsigned flags);
int __wrap_mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data,
                   unsigned flags);
int __real_mdb_txn_commit(MDB_txn *txn);
int __wrap_mdb_txn_commit(MDB_txn *txn);
int __real_mdb_get(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data);
int __wrap_mdb_get(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data);

int __wrap_mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data,
                   unsigned flags)
{
    if (key_is(key, atomic_load(&fail_put)))
        return EIO;
    pthread_mutex_lock(&rec_lock);
    if (nputs < PUTS_MAX) {
        struct put *p = &recorded[nputs++];
        size_t n = key->mv_size < sizeof p->key - 1 ? key->mv_size : 0;

        p->commit = commits + 1;
        for (size_t i = 0; i < n; i++)
            if (((const char *)key->mv_data)[i] < ' ')
                n = 0;
        memcpy(p->key, key->mv_data, n);
        p->key[n] = '\0';
    }
    pthread_mutex_unlock(&rec_lock);
    return __real_mdb_put(txn, dbi, key, data, flags);
}

int __wrap_mdb_txn_commit(MDB_txn *txn)
{
    /* Counted before the commit lets the next writer in. */
    pthread_mutex_lock(&rec_lock);
    commits++;
    pthread_mutex_unlock(&rec_lock);
    return __real_mdb_txn_commit(txn);
}

int __wrap_mdb_get(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data)
{
    if (key_is(key, atomic_load(&fail_get)))
        return EIO;
    return __real_mdb_get(txn, dbi, key, data);
}

/* The commits that put 'key', into out[] (at most max); returns how many. */
static size_t commits_of(const char *key, unsigned *out, size_t max)
{
    size_t n = 0;

    pthread_mutex_lock(&rec_lock);
    for (size_t i = 0; i < nputs && n < max; i++)
        if (strcmp(recorded[i].key, key) == 0)
            out[n++] = recorded[i].commit;
    pthread_mutex_unlock(&rec_lock);
    return n;
}

/* Whether commit c put 'key'. */
static int put_in(unsigned c, const char *key)
{
    int found = 0;

    pthread_mutex_lock(&rec_lock);
    for (size_t i = 0; i < nputs && !found; i++)
        found = recorded[i].commit == c && strcmp(recorded[i].key, key) == 0;
    pthread_mutex_unlock(&rec_lock);
    return found;
}

/* ---- fixture --------------------------------------------------------------- */

struct fixture {
    struct temp_store ts;
    struct store *st;               /* ts.st */
    struct status *status;
    struct llm *llm;
    struct llm_monitor *mon;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct llm_config lc;

    if (!f)
        return -1;
    temp_store_open(&f->ts);
    f->st = f->ts.st;
    if (status_create(1, &f->status) < 0)
        return -1;
    llm_config_default(&lc);
    lc.url = "http://127.0.0.1:9/v1";       /* discard: nobody answers */
    lc.model = "none";
    lc.connect_timeout_ms = 200;
    lc.max_retries = 0;
    if (llm_create(&lc, &f->llm) < 0 ||
        llm_monitor_start(f->llm, NULL, f->status, f->st, &f->mon) < 0)
        return -1;
    atomic_store(&fail_put, NULL);
    atomic_store(&fail_get, NULL);
    pthread_mutex_lock(&rec_lock);
    nputs = 0;
    pthread_mutex_unlock(&rec_lock);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    atomic_store(&fail_put, NULL);
    atomic_store(&fail_get, NULL);
    llm_cancel(f->llm);
    llm_monitor_stop(f->mon);
    llm_free(f->llm);
    status_free(f->status);
    int rc = temp_store_close(&f->ts);
    free(f);
    return rc;
}

/* ---- helpers --------------------------------------------------------------- */

/* Enqueues, takes and finishes a task of skill "recursion" with 'status'
 * and result 'result_json', and logs its score, as the Builder does. */
static void finished(struct store *st, const char *status,
                     const char *result_json)
{
    struct store_task_new t = {
        "{\"goal\":\"g\",\"skills\":[\"recursion\"],\"difficulty\":0.5}", 0,
        STORE_SOURCE_TRAINER };
    char name[STORE_ID_MAX], entry[128];
    uint64_t id, got;

    assert_int_equal(store_task_enqueue(st, &t, 1, &id), 0);
    assert_int_equal(store_task_dequeue(st, &got, NULL), 0);
    assert_int_equal(got, id);
    snprintf(entry, sizeof entry, "{\"task\":\"%s\",\"status\":\"%s\"}",
             store_id_format(id, name), status);
    struct store_task_outcome o = {
        .status = status, .attempts = 1,
        .score_json = "{\"accuracy\":0,\"total\":0.1}",
        .result_json = result_json, .score_entry_json = entry,
    };
    assert_int_equal(store_task_finish(st, id, &o), 0);
}

static size_t analyses(struct store *st)
{
    struct store_view *v;
    size_t n;

    assert_int_equal(store_view_begin(st, &v), 0);
    n = store_view_count(v, STORE_COLL_ANALYSES);
    store_view_end(v);
    return n;
}

static cJSON *doc(struct store *st, const char *name)
{
    char *text = NULL;
    cJSON *o;

    assert_int_equal(store_doc_get(st, name, &text, NULL), 0);
    o = cJSON_Parse(text);
    free(text);
    assert_non_null(o);
    return o;
}

static int log_entries(struct store *st, const char *name)
{
    cJSON *o = doc(st, name);
    int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o,
                                                                "entries"));

    cJSON_Delete(o);
    return n;
}

static int analysis_cb(void *ctx, uint64_t key, const char *val, size_t len)
{
    cJSON **out = ctx;

    (void)key;
    *out = cJSON_ParseWithLength(val, len);
    return 0;
}

static void nap_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

static int grep_cb(void *ctx, uint64_t key, const char *val, size_t len)
{
    const char *what = ctx;

    (void)key;
    return memmem(val, len, what, strlen(what)) != NULL;
}

/* Whether a line of logs/system.log holds 'what'. */
static int syslog_has(struct store *st, const char *what)
{
    struct store_view *v;
    int found;

    assert_int_equal(store_view_begin(st, &v), 0);
    found = store_view_range(v, STORE_COLL_SYSLOG, 0, UINT64_MAX, grep_cb,
                             (void *)what);
    store_view_end(v);
    return found == 1;
}

static struct trainer *start(struct fixture *f)
{
    struct trainer_config cfg;
    struct trainer *t = NULL;

    trainer_config_default(&cfg);
    cfg.pending = 1;
    cfg.every = 1;
    cfg.poll_ms = 50;
    cfg.seed = 42;
    struct agent_env env = { f->st, f->status, f->llm, NULL, f->mon };

    assert_int_equal(trainer_start(&cfg, &env, &t), 0);
    return t;
}

/* Waits (10 s at most) for an analysis and a trainer_log entry. */
static void wait_for_work(struct fixture *f)
{
    for (int i = 0; i < 200; i++) {
        if (analyses(f->st) >= 1 && log_entries(f->st, "trainer_log") >= 1)
            return;
        nap_ms(50);
    }
    fail_msg("the Trainer wrote no analysis or no trainer_log entry");
}

/* ---- tests ------------------------------------------------------------------- */

/* The Trainer counts failures by the kind the Builder recorded: neither
 * the sandbox's outcome name nor the reason's words change it. */
static void test_reads_failure_kind(void **state)
{
    struct fixture *f = *state;

    /* Each of these says "timeout"; the old reading of the outcome and of
     * "no code" in the reason would have called them otherwise. */
    finished(f->st, "failed", "{\"failure\":\"timeout\",\"outcome\":"
             "\"syntax_error\",\"reason\":\"a\"}");
    finished(f->st, "failed", "{\"failure\":\"timeout\",\"outcome\":"
             "\"tests_failed\",\"reason\":\"no code in any answer\"}");
    finished(f->st, "failed", "{\"failure\":\"timeout\",\"outcome\":\"ok\"}");
    finished(f->st, "failed", "{\"failure\":\"no_code\",\"reason\":null}");
    finished(f->st, "failed", "{\"failure\":\"wrong_answer\",\"outcome\":"
             "\"crashed\"}");
    finished(f->st, "passed", "{\"failure\":null,\"outcome\":\"ok\"}");

    struct trainer *t = start(f);
    wait_for_work(f);
    trainer_stop(t);

    struct store_view *v;
    cJSON *a = NULL;
    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_view_get(v, STORE_COLL_ANALYSES, 1, analysis_cb,
                                    &a), 0);
    store_view_end(v);
    assert_non_null(a);
    cJSON *kinds = cJSON_GetObjectItemCaseSensitive(a, "failure_kinds");
    char *got = cJSON_PrintUnformatted(kinds);
    cJSON *want = cJSON_Parse("{\"timeout\":3,\"no_code\":1,"
                              "\"wrong_answer\":1}");
    if (!cJSON_Compare(kinds, want, 1))
        fail_msg("failure_kinds: %s", got);
    free(got);
    cJSON_Delete(want);
    cJSON_Delete(a);
}

/* What the Trainer writes together goes in one commit: the analysis's
 * documents with the state, and each choice's two log entries with the
 * state after it. */
static void test_documents_in_one_commit(void **state)
{
    struct fixture *f = *state;
    unsigned c[64];
    size_t n;

    finished(f->st, "failed", "{\"failure\":\"wrong_answer\"}");
    struct trainer *t = start(f);
    wait_for_work(f);
    trainer_stop(t);

    n = commits_of("current_difficulty", c, 64);
    assert_true(n >= 1);
    for (size_t i = 0; i < n; i++) {
        assert_true(put_in(c[i], "strategy_weights"));
        assert_true(put_in(c[i], "internal_biases"));
        assert_true(put_in(c[i], "trainer_state"));
    }
    n = commits_of("trainer_log", c, 64);
    assert_true(n >= 1);
    for (size_t i = 0; i < n; i++) {
        assert_true(put_in(c[i], "motivation_log"));
        assert_true(put_in(c[i], "trainer_state"));
    }
    /* The entry is appended to what was there, not to an empty log. */
    cJSON *log = doc(f->st, "trainer_log");
    const cJSON *e = cJSON_GetArrayItem(
        cJSON_GetObjectItemCaseSensitive(log, "entries"), 0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e,
                                                              "fallback")));
    cJSON_Delete(log);
}

/* A saved state the Trainer cannot read for a while is waited for, not
 * replaced by a fresh one: the results it had read are not read again. */
static void test_unreadable_state_waited_for(void **state)
{
    struct fixture *f = *state;
    char *before = NULL, *after = NULL;

    finished(f->st, "failed", "{\"failure\":\"timeout\"}");
    struct trainer *t = start(f);
    wait_for_work(f);
    trainer_stop(t);
    assert_int_equal(analyses(f->st), 1);
    assert_int_equal(store_doc_get(f->st, "trainer_state", &before, NULL),
                     0);

    atomic_store(&fail_get, "trainer_state");
    t = start(f);
    nap_ms(400);                /* several wakes' worth */
    atomic_store(&fail_get, NULL);
    nap_ms(1200);               /* it reads the state again, and goes on */
    trainer_stop(t);
    assert_true(syslog_has(f->st, "cannot read its saved state"));
    /* A fresh state would have read the score log from its start, and
     * analysed that "new" result. */
    assert_int_equal(analyses(f->st), 1);
    assert_int_equal(store_doc_get(f->st, "trainer_state", &after, NULL), 0);
    cJSON *b = cJSON_Parse(before), *a = cJSON_Parse(after);
    assert_true(cJSON_Compare(
        cJSON_GetObjectItemCaseSensitive(b, "score_seq"),
        cJSON_GetObjectItemCaseSensitive(a, "score_seq"), 1));
    cJSON_Delete(a);
    cJSON_Delete(b);
    free(before);
    free(after);
}

/* The seed and its marker are one commit: when writing the marker fails
 * (as a crash right after the enqueue would lose it) nothing is queued,
 * and the next start queues the curriculum once. */
static void test_seed_once(void **state)
{
    struct fixture *f = *state;
    size_t added = 99;
    char *text = NULL;

    atomic_store(&fail_put, "seed");
    assert_int_equal(seed_load(f->st, &added), -EIO);
    atomic_store(&fail_put, NULL);
    assert_int_equal(added, 0);
    assert_int_equal(temp_store_queue_depth(f->st), 0);
    assert_int_equal(store_doc_get(f->st, "seed", &text, NULL), -ENOENT);

    assert_int_equal(seed_load(f->st, &added), 0);
    assert_true(added > 10);
    assert_int_equal(temp_store_queue_depth(f->st), added);
    size_t first = added;
    assert_int_equal(seed_load(f->st, &added), 0);
    assert_int_equal(added, 0);
    assert_int_equal(temp_store_queue_depth(f->st), first);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reads_failure_kind, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_documents_in_one_commit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_state_waited_for,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_seed_once, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
