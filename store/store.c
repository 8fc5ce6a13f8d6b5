/* store.c -- the LMDB store: environment, schema, documents, task queue.
 *
 * On-disk layout (one LMDB environment; data.mdb and lock.mdb live in the
 * data directory itself, next to btfs.lock):
 *
 *   Every u64 key is 8 bytes big-endian, so that LMDB's default memcmp order
 *   is numeric order (MDB_INTEGERKEY is not used: it ties the files to the
 *   host's byte order and cannot be read with a plain cursor).
 *
 *   tasks        id -> task document
 *   queue        13-byte key -> empty value:
 *                  [0]      class: 0 user, 1 trainer and seed
 *                  [1..4]   big-endian (0x7fffffff - priority), so that a
 *                           higher priority sorts first; computed in 64 bits
 *                           it stays within 0..0xffffffff for every int
 *                  [5..12]  big-endian id: older first within a priority
 *                The task document keeps "source" and "priority", so the key
 *                of any queued task can be rebuilt from the document alone.
 *   running      id -> empty
 *   code         STORE_CODE_KEY(id, attempt) -> "ext" NUL "text"
 *   reflections, summaries   id -> JSON
 *   scores, analyses, syslog, shelllog   sequence (last + 1, from 1) -> value
 *   skills       name -> JSON
 *   docs         name -> JSON
 *   meta         "schema"  -> u32 big-endian (STORE_SCHEMA_VERSION)
 *                "next_id" -> u64 big-endian, the next task id (first 1)
 *                "text_docs", "text_length" -> u64 big-endian, the text
 *                index's totals (absent: 0)
 *   text         term -> 16-byte postings, MDB_DUPSORT | MDB_DUPFIXED:
 *                  [0..7]   big-endian (UINT64_MAX - id): LMDB sorts the
 *                           duplicates of a key, so the newest document
 *                           comes first and a capped read is one forward
 *                           MDB_GET_MULTIPLE (0.9 has no backward one)
 *                  [8..11]  big-endian term frequency
 *                  [12..15] big-endian document length
 *
 * Documents created with the schema record, in the same transaction, on the
 * first open of an empty directory:
 *   builder_profile     {"tasks_total":0,"passed":0,"failed":0,"errors":0,
 *                        "level":0,"strengths":[],"weaknesses":[],
 *                        "model":null,"updated_at":null}
 *   current_difficulty  {"target_success":0.75,"global":0.5,"per_skill":{}}
 *   strategy_weights    {"weakness":0.25,"exploration":0.25,
 *                        "regression_review":0.25,"stretch":0.25,
 *                        "floor":0.1}
 *   learned_concepts    {"concepts":[]}
 *   internal_biases     {"biases":[]}
 *   motivation_log      {"entries":[]}
 *   trainer_log         {"entries":[]}
 *   runtime             {"llm":{"calls":0,"prompt_tokens":0,
 *                        "completion_tokens":0,"latency_ms_total":0,
 *                        "errors":{}},"sandbox":{"runs":0,"seconds":0.0}}
 *   control             {"state":"running"}
 *
 * Map growth. mdb_env_set_mapsize() may only be called while the process has
 * no transaction open, so every transaction -- read views included -- holds
 * the read side of resize_lock for its whole life. A writer that gets
 * MDB_MAP_FULL (from a put or from commit) aborts, takes the write side,
 * doubles the map and runs its whole transaction body again. All writes go
 * through store_write() so that no write path can forget this.
 */
#include "store.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define STORE_DEFAULT_MAP   ((size_t)1 << 30)
#define STORE_MAX_DBS       16
#define STORE_MAX_READERS   512
#define STORE_LOCK_FILE     "btfs.lock"
#define STORE_MAX_RETRIES   64      /* map doublings/resyncs per write     */
#define QKEY_LEN            13

/* Internal code: the map is full. Produced by store_mdb_err() and consumed
 * by store_write(); it never leaves this file. */
#define STORE_EMAPFULL      (-20900)
/* Internal code: another process grew the map; resync and retry. */
#define STORE_ERESIZED      (-20901)

enum store_db {
    DB_TASKS = 0,
    DB_QUEUE,
    DB_RUNNING,
    DB_CODE,
    DB_REFLECTIONS,
    DB_SUMMARIES,
    DB_SCORES,
    DB_ANALYSES,
    DB_SYSLOG,
    DB_SHELLLOG,
    DB_SKILLS,
    DB_DOCS,
    DB_META,
    DB_SETS,
    DB_TEXT,
    DB_COUNT
};

static const char *const db_names[DB_COUNT] = {
    [DB_TASKS] = "tasks",
    [DB_QUEUE] = "queue",
    [DB_RUNNING] = "running",
    [DB_CODE] = "code",
    [DB_REFLECTIONS] = "reflections",
    [DB_SUMMARIES] = "summaries",
    [DB_SCORES] = "scores",
    [DB_ANALYSES] = "analyses",
    [DB_SYSLOG] = "syslog",
    [DB_SHELLLOG] = "shelllog",
    [DB_SKILLS] = "skills",
    [DB_DOCS] = "docs",
    [DB_META] = "meta",
    [DB_SETS] = "sets",
    [DB_TEXT] = "text",
};

/* Flags beyond MDB_CREATE. */
static const unsigned db_flags[DB_COUNT] = {
    [DB_TEXT] = MDB_DUPSORT | MDB_DUPFIXED,
};

static const enum store_db coll_db[STORE_COLL_COUNT] = {
    [STORE_COLL_TASKS] = DB_TASKS,
    [STORE_COLL_REFLECTIONS] = DB_REFLECTIONS,
    [STORE_COLL_SUMMARIES] = DB_SUMMARIES,
    [STORE_COLL_SCORES] = DB_SCORES,
    [STORE_COLL_ANALYSES] = DB_ANALYSES,
    [STORE_COLL_SYSLOG] = DB_SYSLOG,
    [STORE_COLL_SHELLLOG] = DB_SHELLLOG,
    [STORE_COLL_CODE] = DB_CODE,
};

static const struct {
    const char *name;
    const char *json;
} initial_docs[] = {
    { "builder_profile",
      "{\"tasks_total\":0,\"passed\":0,\"failed\":0,\"errors\":0,\"level\":0,"
      "\"strengths\":[],\"weaknesses\":[],\"model\":null,\"updated_at\":null}" },
    { "current_difficulty",
      "{\"target_success\":0.75,\"global\":0.5,\"per_skill\":{}}" },
    { "strategy_weights",
      "{\"weakness\":0.25,\"exploration\":0.25,\"regression_review\":0.25,"
      "\"stretch\":0.25,\"floor\":0.1}" },
    { "learned_concepts", "{\"concepts\":[]}" },
    { "internal_biases", "{\"biases\":[]}" },
    { "motivation_log", "{\"entries\":[]}" },
    { "trainer_log", "{\"entries\":[]}" },
    { "runtime",
      "{\"llm\":{\"calls\":0,\"prompt_tokens\":0,\"completion_tokens\":0,"
      "\"latency_ms_total\":0,\"errors\":{}},"
      "\"sandbox\":{\"runs\":0,\"seconds\":0.0}}" },
    { "control", "{\"state\":\"running\"}" },
};

struct store {
    MDB_env *env;                  /* the environment; set once at open     */
    MDB_dbi dbi[DB_COUNT];         /* opened at open, read-only afterwards  */
    pthread_rwlock_t resize_lock;  /* read side: any open transaction;
                                      write side: changing the map size    */
    int lock_fd;                   /* flock'd btfs.lock, -1 with no_lock    */
    int no_sync;                   /* opened with MDB_NOSYNC                */
    atomic_int paused;             /* mirror of docs/control; written only
                                      after that document is committed     */
    size_t log_keep;               /* lines kept per log (retention)        */
    size_t analyses_keep;          /* analyses kept (retention)             */
    atomic_int write_err;          /* 0, or the disk's errno of the last
                                      failed commit (store_write_health)    */
    _Atomic time_t write_err_since; /* when commits began to fail, or 0     */
    pthread_mutex_t hook_lock;     /* guards hook and hook_ctx              */
    store_commit_fn hook;          /* told of each commit; NULL: none       */
    void *hook_ctx;
    time_t log_last[DB_COUNT];     /* newest stamp put in each log; written
                                      only in write transactions, which
                                      LMDB runs one at a time              */
};

struct store_view {
    struct store *st;              /* the store the view reads              */
    MDB_txn *txn;                  /* read-only LMDB transaction            */
};

/* Views this thread holds. A thread that holds one owns the read side of
 * resize_lock, so it must not wait for the write side: that would wait for
 * itself. Counting views per thread turns that deadlock into an error. */
static _Thread_local unsigned store_tls_views;

/* The task whose document the write transaction running on this thread
 * changed (0 none, UINT64_MAX several), for the commit hook. Writes are
 * per thread, so a thread-local needs no lock. */
static _Thread_local uint64_t store_tls_touched;

typedef int (*store_body_fn)(struct store *st, MDB_txn *txn, void *arg);

/* ---- Small helpers -------------------------------------------------------- */

static void be64_put(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static uint64_t be64_get(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static void be32_put(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t be32_get(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

/* The queue class of a source: user tasks run before all others. */
static int source_class(enum store_source src)
{
    return src == STORE_SOURCE_USER ? 0 : 1;
}

static void qkey_make(unsigned char k[QKEY_LEN], int cls, int priority,
                      uint64_t id)
{
    /* For every int, 0x7fffffff - priority lies in 0..0xffffffff. */
    uint32_t rank = (uint32_t)(INT64_C(0x7fffffff) - (int64_t)priority);

    k[0] = (unsigned char)cls;
    be32_put(k + 1, rank);
    be64_put(k + 5, id);
}

static void set_err(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *errbuf, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (errbuf == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
}

/* The one place where LMDB codes become ours. */
static int store_mdb_err(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return 0;
    case MDB_NOTFOUND:
        return -ENOENT;
    case MDB_MAP_FULL:
        return STORE_EMAPFULL;
    case MDB_MAP_RESIZED:
        return STORE_ERESIZED;
    case MDB_KEYEXIST:
        return -EEXIST;
    case ENOMEM:
        return -ENOMEM;
    case ENOSPC:
    case EDQUOT:
    case EROFS:
        return -rc;
    default:
        fprintf(stderr, "btfs: store: LMDB error: %s\n", mdb_strerror(rc));
        return -EIO;
    }
}

/* Parses 'in' as JSON (of any kind, or an object when want_object) and
 * returns the tree, or NULL: then *err is -EINVAL or -ENOMEM. */
static cJSON *json_parse(const char *in, int want_object, int *err)
{
    cJSON *j;

    if (in == NULL) {
        *err = -EINVAL;
        return NULL;
    }
    j = cJSON_ParseWithOpts(in, NULL, 1);
    if (j == NULL || (want_object && !cJSON_IsObject(j))) {
        cJSON_Delete(j);
        *err = -EINVAL;
        return NULL;
    }
    return j;
}

/* Validates 'in' and returns its compact form in *out (malloc'd). */
static int json_compact(const char *in, int want_object, char **out)
{
    int err = 0;
    cJSON *j = json_parse(in, want_object, &err);

    *out = NULL;
    if (j == NULL)
        return err;
    *out = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return *out ? 0 : -ENOMEM;
}

/* A name usable as an LMDB key (skills, documents). */
static int name_ok(const char *name)
{
    size_t n;

    if (name == NULL)
        return 0;
    n = strlen(name);
    return n > 0 && n <= 511;
}

char *store_time_format(time_t t, char *buf)
{
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL ||
        strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        strcpy(buf, "1970-01-01T00:00:00Z");
    return buf;
}

char *store_id_format(uint64_t id, char *buf)
{
    snprintf(buf, STORE_ID_MAX, "task_%06" PRIu64, id);
    return buf;
}

int store_id_parse(const char *s, size_t len, uint64_t *id)
{
    uint64_t v = 0;
    size_t ndig;

    if (s == NULL || len < 5 + 6 || memcmp(s, "task_", 5) != 0)
        return -EINVAL;
    ndig = len - 5;
    /* Seven digits or more only when six would not do: one name per id. */
    if (ndig > 6 && s[5] == '0')
        return -EINVAL;
    for (size_t i = 5; i < len; i++) {
        unsigned d;

        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -EINVAL;
        v = v * 10 + d;
    }
    if (id)
        *id = v;
    return 0;
}

const char *store_source_name(enum store_source src)
{
    switch (src) {
    case STORE_SOURCE_USER:
        return "user";
    case STORE_SOURCE_TRAINER:
        return "trainer";
    case STORE_SOURCE_SEED:
        return "seed";
    }
    return "user";
}

static int source_parse(const char *s, enum store_source *src)
{
    if (s == NULL)
        return -1;
    if (strcmp(s, "user") == 0)
        *src = STORE_SOURCE_USER;
    else if (strcmp(s, "trainer") == 0)
        *src = STORE_SOURCE_TRAINER;
    else if (strcmp(s, "seed") == 0)
        *src = STORE_SOURCE_SEED;
    else
        return -1;
    return 0;
}

const char *store_strerror(int err)
{
    const char *s;

    switch (err) {
    case 0:
        return "success";
    case STORE_ESCHEMA:
        return "store written by a newer version of btfs";
    case STORE_ECORRUPT:
        return "store is damaged (a record is missing or does not parse)";
    case STORE_ELOCKED:
        return "data directory is in use by another btfs";
    }
    if (err < 0 && err > -4096) {
        s = strerrordesc_np(-err);
        if (s)
            return s;
    }
    return "unknown error";
}

/* ---- Transactions and map growth ----------------------------------------- */

static size_t store_map_size(struct store *st)
{
    MDB_envinfo info;

    if (mdb_env_info(st->env, &info) != 0)
        return 0;
    return info.me_mapsize;
}

/* Changes the map with no transaction open anywhere in the process: grows it
 * to twice 'seen' (unless another thread already did), or, with grow 0,
 * adopts the size another process set. The caller holds no transaction. */
static int store_map_adjust(struct store *st, size_t seen, int grow)
{
    int rc = 0;
    size_t cur;

    if (store_tls_views > 0) {
        fprintf(stderr, "btfs: store: cannot resize the map while this "
                "thread holds a read view; end views before writing\n");
        return -EDEADLK;
    }
    if (pthread_rwlock_wrlock(&st->resize_lock) != 0)
        return -EIO;
    if (!grow) {
        rc = mdb_env_set_mapsize(st->env, 0);
    } else {
        cur = store_map_size(st);
        if (cur <= seen) {
            if (cur > SIZE_MAX / 2)
                rc = ENOSPC;
            else
                rc = mdb_env_set_mapsize(st->env, cur * 2);
        }
    }
    pthread_rwlock_unlock(&st->resize_lock);
    if (rc == ENOSPC)
        return -ENOSPC;
    rc = store_mdb_err(rc);
    return rc == STORE_EMAPFULL || rc == STORE_ERESIZED ? -EIO : rc;
}

/* Begins a transaction holding the read side of resize_lock; on success the
 * caller must end it with store_txn_end(). */
static int store_txn_begin(struct store *st, unsigned flags, MDB_txn **txn,
                           size_t *map_seen)
{
    for (int tries = 0; tries < STORE_MAX_RETRIES; tries++) {
        int rc;

        if (pthread_rwlock_rdlock(&st->resize_lock) != 0)
            return -EAGAIN;
        if (map_seen)
            *map_seen = store_map_size(st);
        rc = mdb_txn_begin(st->env, NULL, flags, txn);
        if (rc == 0)
            return 0;
        pthread_rwlock_unlock(&st->resize_lock);
        rc = store_mdb_err(rc);
        if (rc != STORE_ERESIZED)
            return rc == STORE_EMAPFULL ? -EIO : rc;
        rc = store_map_adjust(st, 0, 0);
        if (rc < 0)
            return rc;
    }
    return -EIO;
}

static void store_txn_abort(struct store *st, MDB_txn *txn)
{
    mdb_txn_abort(txn);
    pthread_rwlock_unlock(&st->resize_lock);
}

/* Below this much free space, an EIO from a commit is taken for a full
 * disk: LMDB reports a write the disk cut short as EIO, and a short write
 * leaves the disk with less than a block or so. */
#define STORE_FULL_BELOW    (64 * 1024)

/* Says what a failed commit means for the store's health: ENOSPC for an
 * EIO on a disk that is (nearly) full, and records it for
 * store_write_health(). Returns the code to give the caller. */
static int store_commit_failed(struct store *st, int rc)
{
    struct statvfs sv;
    int fd;

    if (rc == -EIO && mdb_env_get_fd(st->env, &fd) == 0 &&
        fstatvfs(fd, &sv) == 0 &&
        (unsigned long long)sv.f_bavail * sv.f_frsize < STORE_FULL_BELOW)
        rc = -ENOSPC;
    if (rc == -ENOSPC || rc == -EDQUOT || rc == -EROFS || rc == -EIO) {
        time_t zero = 0;
        atomic_store(&st->write_err, rc);
        atomic_compare_exchange_strong(&st->write_err_since, &zero,
                                       time(NULL));
    }
    return rc;
}

/* Free space under which a full disk still counts as full after a small
 * commit succeeded: the free list of the map lets small writes through on a
 * full disk, while anything larger still fails. */
#define STORE_FREED_ABOVE   (4 * STORE_FULL_BELOW)

static void store_commit_ok(struct store *st)
{
    int err = atomic_load(&st->write_err);
    struct statvfs sv;
    int fd;

    if (!err)
        return;
    if (err == -ENOSPC && mdb_env_get_fd(st->env, &fd) == 0 &&
        fstatvfs(fd, &sv) == 0 &&
        (unsigned long long)sv.f_bavail * sv.f_frsize < STORE_FREED_ABOVE)
        return;
    atomic_store(&st->write_err, 0);
    atomic_store(&st->write_err_since, 0);
}

int store_write_health(struct store *st, time_t *since)
{
    int rc = atomic_load(&st->write_err);

    if (since)
        *since = rc ? atomic_load(&st->write_err_since) : 0;
    return rc;
}

/* Tells the hook, if any, of a commit. The lock only orders the hook's
 * replacement against calls; the hook itself must be quick. */
static void store_commit_notify(struct store *st, uint64_t task)
{
    pthread_mutex_lock(&st->hook_lock);
    if (st->hook)
        st->hook(st->hook_ctx, task);
    pthread_mutex_unlock(&st->hook_lock);
}

void store_set_commit_hook(struct store *st, store_commit_fn fn, void *ctx)
{
    pthread_mutex_lock(&st->hook_lock);
    st->hook = fn;
    st->hook_ctx = ctx;
    pthread_mutex_unlock(&st->hook_lock);
}

/* Runs body in a write transaction and commits it; on a full map grows it
 * and runs body again from the start, so a body must compute everything it
 * writes from its arguments and the transaction alone. Returns 0 or what
 * body returned (a negative code), never an internal code. */
static int store_write(struct store *st, store_body_fn body, void *arg)
{
    for (int tries = 0; tries < STORE_MAX_RETRIES; tries++) {
        MDB_txn *txn;
        size_t seen = 0;
        int rc = store_txn_begin(st, 0, &txn, &seen);

        /* After a failed meta page write LMDB refuses every transaction. */
        if (rc < 0)
            return rc == -EIO ? store_commit_failed(st, rc) : rc;
        store_tls_touched = 0;
        rc = body(st, txn, arg);
        if (rc < 0) {
            store_txn_abort(st, txn);
            /* A big transaction spills pages to disk before its commit. */
            if (rc == -ENOSPC || rc == -EDQUOT)
                return store_commit_failed(st, rc);
        } else {
            rc = store_mdb_err(mdb_txn_commit(txn));
            pthread_rwlock_unlock(&st->resize_lock);
            if (rc == 0)
                store_commit_ok(st);
            else if (rc < 0 && rc != STORE_EMAPFULL && rc != STORE_ERESIZED)
                return store_commit_failed(st, rc);
            if (rc >= 0)
                store_commit_notify(st, store_tls_touched);
        }
        if (rc == STORE_EMAPFULL)
            rc = store_map_adjust(st, seen, 1);
        else if (rc == STORE_ERESIZED)
            rc = store_map_adjust(st, 0, 0);
        else
            return rc;
        if (rc < 0)
            return rc;
    }
    fprintf(stderr, "btfs: store: gave up growing the map\n");
    return -EIO;
}

/* ---- Records inside a transaction ---------------------------------------- */

static int get_u64key(MDB_txn *txn, MDB_dbi dbi, uint64_t key, MDB_val *val)
{
    unsigned char kb[8];
    MDB_val k = { sizeof kb, kb };

    be64_put(kb, key);
    return store_mdb_err(mdb_get(txn, dbi, &k, val));
}

static int put_u64key(MDB_txn *txn, MDB_dbi dbi, uint64_t key,
                      const void *val, size_t len, unsigned flags)
{
    unsigned char kb[8];
    MDB_val k = { sizeof kb, kb };
    MDB_val v = { len, (void *)val };

    be64_put(kb, key);
    return store_mdb_err(mdb_put(txn, dbi, &k, &v, flags));
}

static int del_u64key(MDB_txn *txn, MDB_dbi dbi, uint64_t key)
{
    unsigned char kb[8];
    MDB_val k = { sizeof kb, kb };

    be64_put(kb, key);
    return store_mdb_err(mdb_del(txn, dbi, &k, NULL));
}

static int put_named(MDB_txn *txn, MDB_dbi dbi, const char *name,
                     const char *val, size_t len)
{
    MDB_val k = { strlen(name), (void *)name };
    MDB_val v = { len, (void *)val };

    return store_mdb_err(mdb_put(txn, dbi, &k, &v, 0));
}

/* The last u64 key of a sequence database, 0 when empty. */
static int seq_last(MDB_txn *txn, MDB_dbi dbi, uint64_t *last)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = store_mdb_err(mdb_cursor_open(txn, dbi, &cur));

    if (rc < 0)
        return rc;
    rc = store_mdb_err(mdb_cursor_get(cur, &k, &v, MDB_LAST));
    mdb_cursor_close(cur);
    if (rc == -ENOENT) {
        *last = 0;
        return 0;
    }
    if (rc < 0)
        return rc;
    if (k.mv_size != 8)
        return STORE_ECORRUPT;
    *last = be64_get(k.mv_data);
    return 0;
}

/* Appends a record under key last + 1 and returns that key in *key. */
static int seq_append(MDB_txn *txn, MDB_dbi dbi, const void *val, size_t len,
                      uint64_t *key)
{
    uint64_t last;
    int rc = seq_last(txn, dbi, &last);

    if (rc < 0)
        return rc;
    rc = put_u64key(txn, dbi, last + 1, val, len, MDB_APPEND);
    if (rc == 0 && key)
        *key = last + 1;
    return rc;
}

/* Retention: deletes the oldest records of a sequence database until at
 * most 'keep' remain, but no more than STORE_TRIM_STEP in one call, so that
 * a store that grew before a smaller limit was set shrinks over the next
 * appends instead of in one long transaction. Keys never move: a reader
 * following a log by key (tail -f) just skips what was trimmed. */
#define STORE_TRIM_STEP 64

static int seq_trim(MDB_txn *txn, MDB_dbi dbi, size_t keep)
{
    MDB_stat ms;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = store_mdb_err(mdb_stat(txn, dbi, &ms));

    if (rc < 0 || keep == 0 || ms.ms_entries <= keep)
        return rc;
    size_t excess = ms.ms_entries - keep;
    if (excess > STORE_TRIM_STEP)
        excess = STORE_TRIM_STEP;
    rc = store_mdb_err(mdb_cursor_open(txn, dbi, &cur));
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < excess && rc == 0; i++) {
        rc = store_mdb_err(mdb_cursor_get(cur, &k, &v, MDB_FIRST));
        if (rc == 0)
            rc = store_mdb_err(mdb_cursor_del(cur, 0));
    }
    mdb_cursor_close(cur);
    return rc == -ENOENT ? 0 : rc;
}

/* Builds "TIMESTAMP line" with line breaks flattened to spaces. */
static char *log_line_make(const char *line, time_t at, size_t *len)
{
    size_t n = strlen(line);
    char ts[32];
    char *buf;
    size_t tl;

    store_time_format(at ? at : time(NULL), ts);
    tl = strlen(ts);
    buf = malloc(tl + 1 + n + 1);
    if (buf == NULL)
        return NULL;
    memcpy(buf, ts, tl);
    buf[tl] = ' ';
    for (size_t i = 0; i < n; i++)
        buf[tl + 1 + i] = (line[i] == '\n' || line[i] == '\r') ? ' ' : line[i];
    buf[tl + 1 + n] = '\0';
    *len = tl + 1 + n;
    return buf;
}

static int log_put(struct store *st, MDB_txn *txn, enum store_db db,
                   const char *line, time_t at)
{
    size_t len;
    char *buf;
    int rc;

    /* A line written late (a builder batches its lines for up to a
     * second) takes the stamp of the newest line already there, so that
     * the log reads in time order; it is off by that delay at most. */
    if (!at)
        at = time(NULL);
    if (at < st->log_last[db])
        at = st->log_last[db];
    st->log_last[db] = at;
    buf = log_line_make(line, at, &len);

    if (buf == NULL)
        return -ENOMEM;
    rc = seq_append(txn, st->dbi[db], buf, len, NULL);
    free(buf);
    if (rc == 0)
        rc = seq_trim(txn, st->dbi[db], st->log_keep);
    return rc;
}

/* Loads and parses a task document; -ENOENT if there is none. */
static int task_load(struct store *st, MDB_txn *txn, uint64_t id, cJSON **doc)
{
    MDB_val v;
    int rc = get_u64key(txn, st->dbi[DB_TASKS], id, &v);

    *doc = NULL;
    if (rc < 0)
        return rc;
    *doc = cJSON_ParseWithLength(v.mv_data, v.mv_size);
    if (*doc == NULL || !cJSON_IsObject(*doc)) {
        cJSON_Delete(*doc);
        *doc = NULL;
        return STORE_ECORRUPT;
    }
    return 0;
}

/* Stores a task document; *printed (may be NULL) receives its text. */
static int task_store(struct store *st, MDB_txn *txn, uint64_t id,
                      const cJSON *doc, char **printed)
{
    char *s = cJSON_PrintUnformatted(doc);
    int rc;

    if (s == NULL)
        return -ENOMEM;
    rc = put_u64key(txn, st->dbi[DB_TASKS], id, s, strlen(s), 0);
    if (rc == 0)
        store_tls_touched = store_tls_touched && store_tls_touched != id
                                ? UINT64_MAX : id;
    if (rc == 0 && printed)
        *printed = s;
    else
        free(s);
    return rc;
}

/* Sets doc[key] to item (consumed), keeping the field's place if it exists. */
static int json_set(cJSON *doc, const char *key, cJSON *item)
{
    cJSON *old;

    if (item == NULL)
        return -ENOMEM;
    /* ReplaceItemViaPointer would leave the new item nameless; the
     * ...InObject form names it. */
    old = cJSON_GetObjectItemCaseSensitive(doc, key);
    if (old ? cJSON_ReplaceItemInObjectCaseSensitive(doc, key, item)
            : cJSON_AddItemToObject(doc, key, item))
        return 0;
    cJSON_Delete(item);
    return -ENOMEM;
}

static const char *json_str(const cJSON *doc, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(doc, key);

    return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* Rebuilds a task's queue key from its document. */
static int task_qkey(const cJSON *doc, uint64_t id, unsigned char k[QKEY_LEN])
{
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(doc, "priority");
    enum store_source src;
    double p;

    if (source_parse(json_str(doc, "source"), &src) < 0 || !cJSON_IsNumber(pr))
        return STORE_ECORRUPT;
    p = pr->valuedouble;
    if (!(p >= INT_MIN && p <= INT_MAX) || p != (double)(int)p)
        return STORE_ECORRUPT;
    qkey_make(k, source_class(src), (int)p, id);
    return 0;
}

static int queue_put(struct store *st, MDB_txn *txn, const cJSON *doc,
                     uint64_t id)
{
    unsigned char kb[QKEY_LEN];
    MDB_val k = { sizeof kb, kb };
    MDB_val v = { 0, NULL };
    int rc = task_qkey(doc, id, kb);

    if (rc < 0)
        return rc;
    return store_mdb_err(mdb_put(txn, st->dbi[DB_QUEUE], &k, &v, 0));
}

static int queue_del(struct store *st, MDB_txn *txn, const cJSON *doc,
                     uint64_t id)
{
    unsigned char kb[QKEY_LEN];
    MDB_val k = { sizeof kb, kb };
    int rc = task_qkey(doc, id, kb);

    if (rc < 0)
        return rc;
    return store_mdb_err(mdb_del(txn, st->dbi[DB_QUEUE], &k, NULL));
}

/* Moves a running task back to the queue within txn. */
static int task_requeue_txn(struct store *st, MDB_txn *txn, uint64_t id)
{
    cJSON *doc;
    const char *status;
    int rc = task_load(st, txn, id, &doc);

    if (rc < 0)
        return rc;
    status = json_str(doc, "status");
    if (status == NULL || strcmp(status, "running") != 0) {
        rc = -EINVAL;
        goto out;
    }
    if ((rc = json_set(doc, "status", cJSON_CreateString("queued"))) < 0 ||
        (rc = json_set(doc, "started_at", cJSON_CreateNull())) < 0 ||
        (rc = task_store(st, txn, id, doc, NULL)) < 0 ||
        (rc = queue_put(st, txn, doc, id)) < 0)
        goto out;
    rc = del_u64key(txn, st->dbi[DB_RUNNING], id);
    if (rc == -ENOENT)
        rc = 0;
out:
    cJSON_Delete(doc);
    return rc;
}

/* ---- Open and close ------------------------------------------------------- */

struct init_arg {
    uint32_t schema_found;         /* out: the version in a newer store     */
};

static int meta_get(struct store *st, MDB_txn *txn, const char *name,
                    MDB_val *v)
{
    MDB_val k = { strlen(name), (void *)name };

    return store_mdb_err(mdb_get(txn, st->dbi[DB_META], &k, v));
}

static int meta_put(struct store *st, MDB_txn *txn, const char *name,
                    const void *val, size_t len)
{
    return put_named(txn, st->dbi[DB_META], name, val, len);
}

static int meta_get_u64(struct store *st, MDB_txn *txn, const char *name,
                        uint64_t *out)
{
    MDB_val v;
    int rc = meta_get(st, txn, name, &v);

    if (rc == -ENOENT)
        return STORE_ECORRUPT;
    if (rc < 0)
        return rc;
    if (v.mv_size != 8)
        return STORE_ECORRUPT;
    *out = be64_get(v.mv_data);
    return 0;
}

static int meta_put_u64(struct store *st, MDB_txn *txn, const char *name,
                        uint64_t val)
{
    unsigned char b[8];

    be64_put(b, val);
    return meta_put(st, txn, name, b, sizeof b);
}

/* Creates the schema record and the initial documents of a new store. */
static int init_create(struct store *st, MDB_txn *txn)
{
    unsigned char b[4];
    int rc;

    be32_put(b, STORE_SCHEMA_VERSION);
    if ((rc = meta_put(st, txn, "schema", b, sizeof b)) < 0 ||
        (rc = meta_put_u64(st, txn, "next_id", 1)) < 0)
        return rc;
    for (size_t i = 0; i < sizeof initial_docs / sizeof initial_docs[0]; i++) {
        rc = put_named(txn, st->dbi[DB_DOCS], initial_docs[i].name,
                       initial_docs[i].json, strlen(initial_docs[i].json));
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Requeues every task a crash left running; the running set is small. */
static int init_recover(struct store *st, MDB_txn *txn)
{
    MDB_cursor *cur;
    MDB_val k, v;
    uint64_t *ids = NULL;
    size_t n = 0, cap = 0;
    int rc = store_mdb_err(mdb_cursor_open(txn, st->dbi[DB_RUNNING], &cur));

    if (rc < 0)
        return rc;
    /* Collect first: requeueing deletes from the set being walked. */
    for (rc = store_mdb_err(mdb_cursor_get(cur, &k, &v, MDB_FIRST)); rc == 0;
         rc = store_mdb_err(mdb_cursor_get(cur, &k, &v, MDB_NEXT))) {
        if (k.mv_size != 8) {
            rc = STORE_ECORRUPT;
            break;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            uint64_t *nids = realloc(ids, ncap * sizeof *ids);

            if (nids == NULL) {
                rc = -ENOMEM;
                break;
            }
            ids = nids;
            cap = ncap;
        }
        ids[n++] = be64_get(k.mv_data);
    }
    mdb_cursor_close(cur);
    if (rc != -ENOENT)
        goto out;
    rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char name[STORE_ID_MAX];
        char line[STORE_ID_MAX + 64];

        rc = task_requeue_txn(st, txn, ids[i]);
        if (rc == -ENOENT || rc == -EINVAL) {
            /* The set names a task that is gone or not running: drop the
             * stale entry rather than refuse to start. */
            rc = del_u64key(txn, st->dbi[DB_RUNNING], ids[i]);
            continue;
        }
        if (rc < 0)
            break;
        snprintf(line, sizeof line, "recovered %s left running by a crash",
                 store_id_format(ids[i], name));
        rc = log_put(st, txn, DB_SYSLOG, line, 0);
    }
out:
    free(ids);
    return rc;
}

static int init_body(struct store *st, MDB_txn *txn, void *varg)
{
    struct init_arg *arg = varg;
    MDB_dbi main_dbi;
    MDB_stat ms;
    MDB_val v;
    int fresh, rc;

    /* An environment whose main database is empty has never been used. */
    rc = store_mdb_err(mdb_dbi_open(txn, NULL, 0, &main_dbi));
    if (rc < 0)
        return rc;
    rc = store_mdb_err(mdb_stat(txn, main_dbi, &ms));
    if (rc < 0)
        return rc;
    fresh = ms.ms_entries == 0;
    if (!fresh) {
        rc = mdb_dbi_open(txn, db_names[DB_META], 0, &st->dbi[DB_META]);
        if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE)
            return STORE_ECORRUPT;
        if ((rc = store_mdb_err(rc)) < 0)
            return rc;
        rc = meta_get(st, txn, "schema", &v);
        if (rc == -ENOENT)
            return STORE_ECORRUPT;
        if (rc < 0)
            return rc;
        if (v.mv_size != 4)
            return STORE_ECORRUPT;
        arg->schema_found = be32_get(v.mv_data);
        if (arg->schema_found > STORE_SCHEMA_VERSION)
            return STORE_ESCHEMA;
        if (arg->schema_found == 0)
            return STORE_ECORRUPT;
    }
    for (int i = 0; i < DB_COUNT; i++) {
        rc = mdb_dbi_open(txn, db_names[i], MDB_CREATE | db_flags[i],
                          &st->dbi[i]);
        if (rc == MDB_INCOMPATIBLE)
            return STORE_ECORRUPT;
        if ((rc = store_mdb_err(rc)) < 0)
            return rc;
    }
    if (fresh)
        return init_create(st, txn);
    return init_recover(st, txn);
}

/* Reads the pause switch from the control document. */
static int load_paused(struct store *st)
{
    char *json;
    cJSON *doc;
    const char *state;
    int rc = store_doc_get(st, "control", &json, NULL);

    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    doc = cJSON_Parse(json);
    free(json);
    state = json_str(doc, "state");
    atomic_store(&st->paused, state != NULL && strcmp(state, "paused") == 0);
    cJSON_Delete(doc);
    return 0;
}

static int check_dir(const char *dir, char *errbuf, size_t errlen)
{
    struct stat sb;
    int e;

    if (stat(dir, &sb) != 0) {
        e = errno;
        if (e == ENOENT)
            set_err(errbuf, errlen, "data directory %s does not exist; "
                    "create it (mkdir -p %s) or pass another --data", dir, dir);
        else
            set_err(errbuf, errlen, "cannot use data directory %s: %s; "
                    "fix it or pass another --data", dir, strerror(e));
        return -e;
    }
    if (!S_ISDIR(sb.st_mode)) {
        set_err(errbuf, errlen, "data path %s is not a directory; pass a "
                "directory as --data", dir);
        return -ENOTDIR;
    }
    if (access(dir, R_OK | W_OK | X_OK) != 0) {
        e = errno;
        if (e == EROFS)
            set_err(errbuf, errlen, "data directory %s is on a read-only "
                    "filesystem; pass a writable --data directory", dir);
        else
            set_err(errbuf, errlen, "data directory %s is not writable by "
                    "this user (%s); fix its permissions or pass another "
                    "--data", dir, strerror(e));
        return -e;
    }
    return 0;
}

/* Takes the directory lock and writes our pid into the lock file. */
static int take_lock(struct store *st, const char *dir, char *errbuf,
                     size_t errlen)
{
    char *path;
    char pid[32];
    int e, n;

    if (asprintf(&path, "%s/%s", dir, STORE_LOCK_FILE) < 0)
        return -ENOMEM;
    /* Private like the store beside it (see make_private). */
    st->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (st->lock_fd < 0) {
        e = errno;
        set_err(errbuf, errlen, "cannot open lock file %s: %s; fix the data "
                "directory's permissions or pass another --data", path,
                strerror(e));
        free(path);
        return -e;
    }
    free(path);
    if (flock(st->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        e = errno;
        if (e == EWOULDBLOCK) {
            ssize_t r = pread(st->lock_fd, pid, sizeof pid - 1, 0);
            long holder = 0;

            if (r > 0) {
                pid[r] = '\0';
                holder = strtol(pid, NULL, 10);
            }
            if (holder > 0)
                set_err(errbuf, errlen, "data directory %s is in use by "
                        "another btfs (pid %ld); stop it first", dir, holder);
            else
                set_err(errbuf, errlen, "data directory %s is in use by "
                        "another btfs; stop it first", dir);
            return STORE_ELOCKED;
        }
        set_err(errbuf, errlen, "cannot lock data directory %s: %s", dir,
                strerror(e));
        return -e;
    }
    n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(st->lock_fd, 0) != 0 || pwrite(st->lock_fd, pid, (size_t)n,
                                                 0) != n) {
        e = errno ? errno : EIO;
        set_err(errbuf, errlen, "cannot write lock file in %s: %s", dir,
                strerror(e));
        return -e;
    }
    return 0;
}

static int open_env(struct store *st, const char *dir,
                    const struct store_options *opt, char *errbuf,
                    size_t errlen)
{
    size_t map = opt && opt->map_size ? opt->map_size : STORE_DEFAULT_MAP;
    unsigned flags = MDB_NOTLS | (st->no_sync ? MDB_NOSYNC : 0);
    int rc, dead;

    rc = mdb_env_create(&st->env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(st->env, STORE_MAX_DBS);
    if (rc == 0)
        rc = mdb_env_set_maxreaders(st->env, STORE_MAX_READERS);
    if (rc == 0)
        rc = mdb_env_set_mapsize(st->env, map);
    if (rc == 0)
        rc = mdb_env_open(st->env, dir, flags, 0600);
    if (rc == 0)
        return mdb_reader_check(st->env, &dead) == 0 ? 0 : -EIO;
    if (rc == MDB_INVALID) {
        set_err(errbuf, errlen, "%s/data.mdb is not an LMDB file; it is "
                "damaged or not a btfs store: restore it or pass another "
                "--data", dir);
        return STORE_ECORRUPT;
    }
    if (rc == MDB_VERSION_MISMATCH) {
        set_err(errbuf, errlen, "%s was written by an incompatible LMDB "
                "version; use the btfs that wrote it or another --data", dir);
        return -EIO;
    }
    set_err(errbuf, errlen, "cannot open the store in %s: %s; check the "
            "data directory or pass another --data", dir, mdb_strerror(rc));
    /* A system error (EACCES on data.mdb, ENOSPC, ...) is already an errno
     * and says more than EIO would. */
    if (rc > 0)
        return -rc;
    rc = store_mdb_err(rc);
    return rc == STORE_EMAPFULL || rc == STORE_ERESIZED ? -EIO : rc;
}

/* The store holds every task, all generated code and the hidden tests, so
 * its files are the user's alone: created 0600, and files left readable by
 * others (a store from an older btfs, a copy) are made private here. Only
 * the group and other bits are cleared; failing to do so is reported, not
 * fatal, since the files are already open. */
static void make_private(const char *dir)
{
    static const char *const names[] = {"data.mdb", "lock.mdb",
                                        STORE_LOCK_FILE};

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char *path;
        struct stat sb;

        if (asprintf(&path, "%s/%s", dir, names[i]) < 0)
            continue;
        if (stat(path, &sb) == 0 && (sb.st_mode & 077)) {
            if (chmod(path, sb.st_mode & 0700) == 0)
                fprintf(stderr, "btfs: %s could be read by other users "
                        "(mode %03o); made it private (%03o)\n", path,
                        (unsigned)(sb.st_mode & 0777),
                        (unsigned)(sb.st_mode & 0700));
            else
                fprintf(stderr, "btfs: WARNING: %s can be read by other "
                        "users and cannot be made private (%s); run: chmod "
                        "600 %s\n", path, strerror(errno), path);
        }
        free(path);
    }
}

int store_open(const char *dir, const struct store_options *opt,
               struct store **out, char *errbuf, size_t errlen)
{
    struct store *st;
    struct init_arg ia = { 0 };
    int rc;

    if (out)
        *out = NULL;
    if (errbuf && errlen)
        errbuf[0] = '\0';
    if (dir == NULL || out == NULL) {
        set_err(errbuf, errlen, "no data directory given");
        return -EINVAL;
    }
    rc = check_dir(dir, errbuf, errlen);
    if (rc < 0)
        return rc;
    st = calloc(1, sizeof *st);
    if (st == NULL) {
        set_err(errbuf, errlen, "out of memory opening the store");
        return -ENOMEM;
    }
    st->lock_fd = -1;
    st->no_sync = opt ? opt->no_sync : 0;
    st->log_keep = opt && opt->log_keep ? opt->log_keep : STORE_LOG_KEEP;
    st->analyses_keep = opt && opt->analyses_keep ? opt->analyses_keep
                                                  : STORE_ANALYSES_KEEP;
    atomic_init(&st->paused, 0);
    pthread_mutex_init(&st->hook_lock, NULL);
    if (pthread_rwlock_init(&st->resize_lock, NULL) != 0) {
        pthread_mutex_destroy(&st->hook_lock);
        free(st);
        set_err(errbuf, errlen, "cannot create the store's lock");
        return -ENOMEM;
    }
    if (!(opt && opt->no_lock)) {
        rc = take_lock(st, dir, errbuf, errlen);
        if (rc < 0)
            goto fail;
    }
    rc = open_env(st, dir, opt, errbuf, errlen);
    if (rc < 0)
        goto fail;
    make_private(dir);
    rc = store_write(st, init_body, &ia);
    if (rc == STORE_ESCHEMA) {
        set_err(errbuf, errlen, "%s holds a store of schema version %" PRIu32
                " but this btfs understands up to %d; upgrade btfs or use "
                "another --data directory", dir, ia.schema_found,
                STORE_SCHEMA_VERSION);
        goto fail;
    }
    if (rc == STORE_ECORRUPT) {
        set_err(errbuf, errlen, "%s holds an LMDB environment with a missing "
                "or damaged btfs record (schema, ids or a task); restore it "
                "from a backup or use another --data directory", dir);
        goto fail;
    }
    if (rc < 0) {
        set_err(errbuf, errlen, "cannot initialise the store in %s: %s", dir,
                store_strerror(rc));
        goto fail;
    }
    rc = load_paused(st);
    if (rc < 0) {
        set_err(errbuf, errlen, "cannot read the control document in %s: %s",
                dir, store_strerror(rc));
        goto fail;
    }
    *out = st;
    return 0;
fail:
    store_close(st);
    return rc;
}

void store_close(struct store *st)
{
    if (st == NULL)
        return;
    if (st->env) {
        /* no_sync skipped the fsyncs; make the data durable before going. */
        if (st->no_sync)
            mdb_env_sync(st->env, 1);
        mdb_env_close(st->env);
    }
    pthread_rwlock_destroy(&st->resize_lock);
    pthread_mutex_destroy(&st->hook_lock);
    if (st->lock_fd >= 0) {
        /* A pid left behind would name a process that no longer holds it. */
        if (ftruncate(st->lock_fd, 0) != 0) {
            /* harmless: flock, not the content, decides who holds it */
        }
        close(st->lock_fd);
    }
    free(st);
}

/* ---- Tasks ---------------------------------------------------------------- */

/* Fields the store owns in a task document; a definition's own copy of any
 * of them is replaced. */
static int reserved_field(const char *k)
{
    static const char *const names[] = {
        "id", "source", "status", "priority", "attempts", "created_at",
        "started_at", "finished_at", "score", "result",
    };

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(k, names[i]) == 0)
            return 1;
    return 0;
}

/* Builds the document of a new task, its id left blank. */
static int task_doc_new(const struct store_task_new *t, const char *now,
                        cJSON **out)
{
    int err = 0;
    cJSON *def, *doc, *it;

    *out = NULL;
    if ((unsigned)t->source > STORE_SOURCE_SEED)
        return -EINVAL;
    def = json_parse(t->def_json, 1, &err);
    if (def == NULL)
        return err;
    doc = cJSON_CreateObject();
    if (doc == NULL ||
        !cJSON_AddStringToObject(doc, "id", "task_000000") ||
        !cJSON_AddStringToObject(doc, "source", store_source_name(t->source)) ||
        !cJSON_AddStringToObject(doc, "status", "queued") ||
        !cJSON_AddNumberToObject(doc, "priority", t->priority) ||
        !cJSON_AddNumberToObject(doc, "attempts", 0))
        goto nomem;
    cJSON_ArrayForEach(it, def) {
        cJSON *copy;

        if (it->string == NULL || reserved_field(it->string))
            continue;
        copy = cJSON_Duplicate(it, 1);
        if (copy == NULL || !cJSON_AddItemToObject(doc, it->string, copy)) {
            cJSON_Delete(copy);
            goto nomem;
        }
    }
    if (!cJSON_AddStringToObject(doc, "created_at", now) ||
        !cJSON_AddNullToObject(doc, "started_at") ||
        !cJSON_AddNullToObject(doc, "finished_at") ||
        !cJSON_AddNullToObject(doc, "score") ||
        !cJSON_AddNullToObject(doc, "result"))
        goto nomem;
    cJSON_Delete(def);
    *out = doc;
    return 0;
nomem:
    cJSON_Delete(def);
    cJSON_Delete(doc);
    return -ENOMEM;
}

/* The sets index: key "SET\0" + big-endian id, empty value, for each task
 * with a "set", so that a set's tasks are found without reading every
 * task. Set names hold no NUL (task.c's rule), so a set's keys are
 * contiguous and sorted by id. */
#define SET_KEY_MAX 256

static size_t set_key(const char *set, uint64_t id, unsigned char *k)
{
    size_t n = strlen(set);

    memcpy(k, set, n);
    k[n] = '\0';
    be64_put(k + n + 1, id);
    return n + 9;
}

static int set_put(struct store *st, MDB_txn *txn, const char *set,
                   uint64_t id)
{
    unsigned char kb[SET_KEY_MAX + 9];
    MDB_val k, v = { 0, NULL };

    if (set == NULL || *set == '\0')
        return 0;
    if (strlen(set) > SET_KEY_MAX || memchr(set, '\0', 1) != NULL)
        return -EINVAL;
    k.mv_size = set_key(set, id, kb);
    k.mv_data = kb;
    return store_mdb_err(mdb_put(txn, st->dbi[DB_SETS], &k, &v, 0));
}

/* The "set" of a canonical definition (task_parse_line's text), copied
 * into out, or "" when it has none. In that text a '"' inside a string is
 * always escaped, so ,"set":" can only be the member itself, and set names
 * hold no quote or backslash. */
static void canonical_set(const char *def, char *out, size_t outlen)
{
    const char *p = strstr(def, ",\"set\":\"");
    const char *e;

    out[0] = '\0';
    if (!p)
        return;
    p += 8;
    e = strchr(p, '"');
    if (e && (size_t)(e - p) < outlen) {
        memcpy(out, p, (size_t)(e - p));
        out[e - p] = '\0';
    }
}

/* Index just past the JSON string that starts at s[i] == '"'. */
static size_t splice_skip_string(const char *s, size_t n, size_t i)
{
    for (i++; i < n; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            return i + 1;
    }
    return n;
}

/* Index of the ',' or end (n) after the member value starting at s[i]. */
static size_t splice_skip_value(const char *s, size_t n, size_t i)
{
    int level = 0;
    while (i < n) {
        char c = s[i];
        if (c == '"') {
            i = splice_skip_string(s, n, i);
            continue;
        }
        if (c == '{' || c == '[')
            level++;
        else if (c == '}' || c == ']')
            level--;
        else if (c == ',' && level == 0)
            return i;
        i++;
    }
    return n;
}

/* The text of a new task's document after its id, made from a canonical
 * definition without parsing it (task_parse_line already did): the store's
 * fields, the definition's members but the reserved ones, in the order
 * task_doc_new gives them. -EINVAL if def is not an object. */
static int task_tail_splice(const struct store_task_new *t, const char *now,
                            char **out)
{
    const char *d = t->def_json;
    size_t n = strlen(d), len, i = 1;
    char *buf;

    *out = NULL;
    if ((unsigned)t->source > STORE_SOURCE_SEED)
        return -EINVAL;
    if (n < 2 || d[0] != '{' || d[n - 1] != '}')
        return -EINVAL;
    buf = malloc(n + 320);
    if (buf == NULL)
        return -ENOMEM;
    len = (size_t)sprintf(buf, "\",\"source\":\"%s\",\"status\":\"queued\","
                          "\"priority\":%d,\"attempts\":0",
                          store_source_name(t->source), t->priority);
    while (i < n - 1) {
        if (d[i] == ',') {
            i++;
            continue;
        }
        size_t ke = d[i] == '"' ? splice_skip_string(d, n - 1, i) : 0;
        if (ke == 0 || ke >= n - 1 || d[ke] != ':') {
            free(buf);
            return -EINVAL;
        }
        size_t ve = splice_skip_value(d, n - 1, ke + 1);
        char key[32];
        size_t kl = ke - i - 2;
        int reserved = 0;
        if (kl < sizeof key) {
            memcpy(key, d + i + 1, kl);
            key[kl] = '\0';
            reserved = reserved_field(key);
        }
        if (!reserved) {
            buf[len++] = ',';
            memcpy(buf + len, d + i, ve - i);
            len += ve - i;
        }
        i = ve;
    }
    sprintf(buf + len, ",\"created_at\":\"%s\",\"started_at\":null,"
                       "\"finished_at\":null,\"score\":null,\"result\":null}",
            now);
    *out = buf;
    return 0;
}

struct enqueue_arg {
    cJSON **docs;                  /* n prepared documents, or NULL where
                                      tails holds a spliced text instead    */
    char **tails;                  /* canonical tasks: text after the id    */
    const struct store_task_new *tasks;
    size_t n;
    uint64_t first;                /* out: the first id given               */
    store_enqueue_log_fn log_line; /* NULL: no log line                     */
    void *log_ctx;
};

static int enqueue_body(struct store *st, MDB_txn *txn, void *varg)
{
    struct enqueue_arg *a = varg;
    uint64_t next;
    int rc = meta_get_u64(st, txn, "next_id", &next);

    if (rc < 0)
        return rc;
    if (next == 0 || next > (UINT64_MAX >> 8) - a->n)
        return next == 0 ? STORE_ECORRUPT : -EOVERFLOW;
    for (size_t i = 0; i < a->n; i++) {
        char name[STORE_ID_MAX];
        uint64_t id = next + i;
        char *s;

        store_id_format(id, name);
        if (a->tails[i]) {
            size_t il = strlen(name), tl = strlen(a->tails[i]);
            s = malloc(7 + il + tl + 1);
            if (s == NULL)
                return -ENOMEM;
            memcpy(s, "{\"id\":\"", 7);
            memcpy(s + 7, name, il);
            memcpy(s + 7 + il, a->tails[i], tl + 1);
        } else {
            if (cJSON_SetValuestring(cJSON_GetObjectItemCaseSensitive(
                    a->docs[i], "id"), name) == NULL)
                return -ENOMEM;
            s = cJSON_PrintUnformatted(a->docs[i]);
            if (s == NULL)
                return -ENOMEM;
        }
        rc = put_u64key(txn, st->dbi[DB_TASKS], id, s, strlen(s), MDB_APPEND);
        free(s);
        /* ids only grow: an existing later key means next_id went back. */
        if (rc == -EEXIST)
            return STORE_ECORRUPT;
        if (rc < 0)
            return rc;
        if (a->tails[i]) {
            unsigned char kb[QKEY_LEN];
            MDB_val k = { sizeof kb, kb }, v = { 0, NULL };
            qkey_make(kb, source_class(a->tasks[i].source),
                      a->tasks[i].priority, id);
            rc = store_mdb_err(mdb_put(txn, st->dbi[DB_QUEUE], &k, &v, 0));
        } else {
            rc = queue_put(st, txn, a->docs[i], id);
        }
        if (rc == 0) {
            char set[SET_KEY_MAX + 1];
            if (a->tails[i])
                canonical_set(a->tasks[i].def_json, set, sizeof set);
            else
                snprintf(set, sizeof set, "%s",
                         json_str(a->docs[i], "set") ? json_str(a->docs[i], "set") : "");
            rc = set_put(st, txn, set, id);
        }
        if (rc < 0)
            return rc;
    }
    a->first = next;
    if (a->log_line) {
        /* The ids are known only here; the line rides in this commit. */
        char *line = a->log_line(a->log_ctx, next, a->n);
        if (line == NULL)
            return -ENOMEM;
        rc = log_put(st, txn, DB_SYSLOG, line, 0);
        free(line);
        if (rc < 0)
            return rc;
    }
    return meta_put_u64(st, txn, "next_id", next + a->n);
}

int store_task_enqueue(struct store *st, const struct store_task_new *tasks,
                       size_t n, uint64_t *ids_out)
{
    return store_task_enqueue_log(st, tasks, n, ids_out, 0, NULL, NULL);
}

int store_task_enqueue_log(struct store *st,
                           const struct store_task_new *tasks, size_t n,
                           uint64_t *ids_out, unsigned flags,
                           store_enqueue_log_fn log_line, void *log_ctx)
{
    struct enqueue_arg a = { .log_line = log_line, .log_ctx = log_ctx };
    char now[32];
    int rc = 0;

    if (st == NULL || (n > 0 && tasks == NULL) || n > STORE_MAX_BATCH)
        return -EINVAL;
    if (n == 0)
        return 0;
    a.docs = calloc(n, sizeof *a.docs);
    a.tails = calloc(n, sizeof *a.tails);
    if (a.docs == NULL || a.tails == NULL) {
        free(a.docs);
        free(a.tails);
        return -ENOMEM;
    }
    a.n = n;
    a.tasks = tasks;
    /* Parse before the write transaction so that it stays short. */
    store_time_format(time(NULL), now);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = (flags & STORE_ENQUEUE_CANONICAL)
                 ? task_tail_splice(&tasks[i], now, &a.tails[i])
                 : task_doc_new(&tasks[i], now, &a.docs[i]);
    if (rc == 0)
        rc = store_write(st, enqueue_body, &a);
    if (rc == 0 && ids_out)
        for (size_t i = 0; i < n; i++)
            ids_out[i] = a.first + i;
    for (size_t i = 0; i < n; i++) {
        cJSON_Delete(a.docs[i]);
        free(a.tails[i]);
    }
    free(a.docs);
    free(a.tails);
    return rc;
}

struct dequeue_arg {
    uint64_t id;                   /* out */
    char *json;                    /* out: the updated document             */
};

static int dequeue_body(struct store *st, MDB_txn *txn, void *varg)
{
    struct dequeue_arg *a = varg;
    MDB_cursor *cur;
    MDB_val k, v;
    cJSON *doc = NULL;
    char now[32];
    int rc;

    free(a->json);
    a->json = NULL;
    rc = store_mdb_err(mdb_cursor_open(txn, st->dbi[DB_QUEUE], &cur));
    if (rc < 0)
        return rc;
    rc = store_mdb_err(mdb_cursor_get(cur, &k, &v, MDB_FIRST));
    if (rc == 0 && k.mv_size != QKEY_LEN)
        rc = STORE_ECORRUPT;
    if (rc == 0) {
        a->id = be64_get((const unsigned char *)k.mv_data + 5);
        rc = store_mdb_err(mdb_cursor_del(cur, 0));
    }
    mdb_cursor_close(cur);
    if (rc < 0)
        return rc;
    rc = task_load(st, txn, a->id, &doc);
    if (rc == -ENOENT)
        rc = STORE_ECORRUPT;
    if (rc < 0)
        return rc;
    store_time_format(time(NULL), now);
    if ((rc = json_set(doc, "status", cJSON_CreateString("running"))) == 0 &&
        (rc = json_set(doc, "started_at", cJSON_CreateString(now))) == 0 &&
        (rc = task_store(st, txn, a->id, doc, &a->json)) == 0)
        rc = put_u64key(txn, st->dbi[DB_RUNNING], a->id, NULL, 0, 0);
    cJSON_Delete(doc);
    return rc;
}

int store_task_dequeue(struct store *st, uint64_t *id, char **task_json)
{
    struct dequeue_arg a = { 0 };
    int rc;

    if (task_json)
        *task_json = NULL;
    if (st == NULL)
        return -EINVAL;
    rc = store_write(st, dequeue_body, &a);
    if (rc < 0) {
        free(a.json);
        return rc;
    }
    if (id)
        *id = a.id;
    if (task_json)
        *task_json = a.json;
    else
        free(a.json);
    return 0;
}

static int requeue_body(struct store *st, MDB_txn *txn, void *varg)
{
    return task_requeue_txn(st, txn, *(const uint64_t *)varg);
}

int store_task_requeue(struct store *st, uint64_t id)
{
    if (st == NULL)
        return -EINVAL;
    return store_write(st, requeue_body, &id);
}

struct attempts_arg {
    uint64_t id;
    int attempts;
};

static int attempts_body(struct store *st, MDB_txn *txn, void *varg)
{
    struct attempts_arg *a = varg;
    cJSON *doc;
    int rc = task_load(st, txn, a->id, &doc);

    if (rc < 0)
        return rc;
    rc = json_set(doc, "attempts", cJSON_CreateNumber(a->attempts));
    if (rc == 0)
        rc = task_store(st, txn, a->id, doc, NULL);
    cJSON_Delete(doc);
    return rc;
}

int store_task_set_attempts(struct store *st, uint64_t id, int attempts)
{
    struct attempts_arg a = { id, attempts };

    if (st == NULL || attempts < 0)
        return -EINVAL;
    return store_write(st, attempts_body, &a);
}

/* ---- Text index ------------------------------------------------------------ */

#define POSTING_LEN 16

static void posting_make(unsigned char p[POSTING_LEN], uint64_t id,
                         uint32_t tf, uint32_t length)
{
    be64_put(p, UINT64_MAX - id);
    be32_put(p + 8, tf);
    be32_put(p + 12, length);
}

static void posting_read(const unsigned char *p, struct store_posting *out)
{
    out->doc = UINT64_MAX - be64_get(p);
    out->tf = be32_get(p + 8);
    out->length = be32_get(p + 12);
}

/* A meta counter that older stores lack: absent reads as 0. */
static int meta_counter(struct store *st, MDB_txn *txn, const char *name,
                        uint64_t *out)
{
    MDB_val v;
    int rc = meta_get(st, txn, name, &v);

    *out = 0;
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    if (v.mv_size != 8)
        return STORE_ECORRUPT;
    *out = be64_get(v.mv_data);
    return 0;
}

static int by_term(const void *a, const void *b)
{
    return strcmp(((const struct store_term *)a)->term,
                  ((const struct store_term *)b)->term);
}

/* Checks a document of the index before any write. */
static int text_check(const struct store_text *t)
{
    struct store_term *sorted;
    int rc = 0;

    if (t->terms == NULL || t->nterms == 0 ||
        t->nterms > STORE_TEXT_TERMS_MAX)
        return -EINVAL;
    for (size_t i = 0; i < t->nterms; i++) {
        const char *w = t->terms[i].term;
        size_t n = w ? strnlen(w, STORE_TERM_MAX + 1) : 0;

        if (n == 0 || n > STORE_TERM_MAX || t->terms[i].tf == 0)
            return -EINVAL;
    }
    /* A term twice would be two postings of one document. */
    sorted = malloc(t->nterms * sizeof *sorted);
    if (sorted == NULL)
        return -ENOMEM;
    memcpy(sorted, t->terms, t->nterms * sizeof *sorted);
    qsort(sorted, t->nterms, sizeof *sorted, by_term);
    for (size_t i = 1; i < t->nterms && rc == 0; i++)
        if (strcmp(sorted[i - 1].term, sorted[i].term) == 0)
            rc = -EINVAL;
    free(sorted);
    return rc;
}

/* Adds document 'id' to the index and to the totals, within txn. */
static int text_put(struct store *st, MDB_txn *txn, uint64_t id,
                    const struct store_text *t)
{
    uint64_t docs, length;
    int rc;

    for (size_t i = 0; i < t->nterms; i++) {
        unsigned char p[POSTING_LEN];
        MDB_val k = { strlen(t->terms[i].term), (void *)t->terms[i].term };
        MDB_val v = { sizeof p, p };

        posting_make(p, id, t->terms[i].tf, t->length);
        if ((rc = store_mdb_err(mdb_put(txn, st->dbi[DB_TEXT], &k, &v, 0))) < 0)
            return rc;
    }
    if ((rc = meta_counter(st, txn, "text_docs", &docs)) < 0 ||
        (rc = meta_counter(st, txn, "text_length", &length)) < 0 ||
        (rc = meta_put_u64(st, txn, "text_docs", docs + 1)) < 0)
        return rc;
    return meta_put_u64(st, txn, "text_length", length + t->length);
}

/* A finish call's inputs, validated and made compact before the write. */
struct finish_arg {
    uint64_t id;
    const struct store_task_outcome *out;
    cJSON *score;                  /* NULL: store null                      */
    cJSON *result;
    char *reflection, *summary, *score_entry;
    char **skills;                 /* nskills compact records               */
    char **docs;                   /* ndocs compact documents               */
};

static int finish_prepare(struct finish_arg *a)
{
    const struct store_task_outcome *o = a->out;
    static const char *const statuses[] = {
        "passed", "failed", "error", "cancelled",
    };
    int ok = 0, rc = 0;

    if (o->status)
        for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
            ok |= strcmp(o->status, statuses[i]) == 0;
    if (!ok || o->attempts < 0 || (o->ncode && o->code == NULL) ||
        (o->nskills && o->skills == NULL) || (o->ndocs && o->docs == NULL) ||
        (o->nlogs && o->logs == NULL))
        return -EINVAL;
    /* The code key holds the attempt in its low 8 bits. */
    if (a->id > (UINT64_MAX >> 8))
        return -EINVAL;
    for (size_t i = 0; i < o->ncode; i++) {
        const struct store_code *c = &o->code[i];

        if (c->attempt < 1 || c->attempt > STORE_MAX_ATTEMPT ||
            c->ext == NULL || (c->text == NULL && c->len > 0))
            return -EINVAL;
    }
    if (o->text && (rc = text_check(o->text)) < 0)
        return rc;
    if (o->score_json && (a->score = json_parse(o->score_json, 1, &rc)) == NULL)
        return rc;
    if (o->result_json &&
        (a->result = json_parse(o->result_json, 1, &rc)) == NULL)
        return rc;
    if ((o->reflection_json &&
         (rc = json_compact(o->reflection_json, 0, &a->reflection)) < 0) ||
        (o->summary_json &&
         (rc = json_compact(o->summary_json, 0, &a->summary)) < 0) ||
        (o->score_entry_json &&
         (rc = json_compact(o->score_entry_json, 0, &a->score_entry)) < 0))
        return rc;
    if (o->nskills && (a->skills = calloc(o->nskills, sizeof(char *))) == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < o->nskills; i++) {
        if (!name_ok(o->skills[i].name))
            return -EINVAL;
        if ((rc = json_compact(o->skills[i].json, 0, &a->skills[i])) < 0)
            return rc;
    }
    if (o->ndocs && (a->docs = calloc(o->ndocs, sizeof(char *))) == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < o->ndocs; i++) {
        if (!name_ok(o->docs[i].name))
            return -EINVAL;
        if ((rc = json_compact(o->docs[i].json, 0, &a->docs[i])) < 0)
            return rc;
    }
    return 0;
}

static void finish_free(struct finish_arg *a)
{
    cJSON_Delete(a->score);
    cJSON_Delete(a->result);
    free(a->reflection);
    free(a->summary);
    free(a->score_entry);
    for (size_t i = 0; a->skills && i < a->out->nskills; i++)
        free(a->skills[i]);
    free(a->skills);
    for (size_t i = 0; a->docs && i < a->out->ndocs; i++)
        free(a->docs[i]);
    free(a->docs);
}

/* Puts a copy of a prepared tree (NULL: null) into doc[key]. */
static int json_set_copy(cJSON *doc, const char *key, const cJSON *val)
{
    return json_set(doc, key, val ? cJSON_Duplicate(val, 1) : cJSON_CreateNull());
}

static int put_entries(struct store *st, MDB_txn *txn,
                       const struct store_log_entry *e, size_t n);

static int finish_artefacts(struct store *st, MDB_txn *txn,
                            const struct finish_arg *a)
{
    const struct store_task_outcome *o = a->out;
    int rc = 0;

    for (size_t i = 0; i < o->ncode && rc == 0; i++) {
        const struct store_code *c = &o->code[i];
        size_t el = strlen(c->ext);
        char *buf = malloc(el + 1 + c->len);

        if (buf == NULL)
            return -ENOMEM;
        memcpy(buf, c->ext, el + 1);
        if (c->len)
            memcpy(buf + el + 1, c->text, c->len);
        rc = put_u64key(txn, st->dbi[DB_CODE], STORE_CODE_KEY(a->id, c->attempt),
                        buf, el + 1 + c->len, 0);
        free(buf);
    }
    if (rc == 0 && a->reflection)
        rc = put_u64key(txn, st->dbi[DB_REFLECTIONS], a->id, a->reflection,
                        strlen(a->reflection), 0);
    if (rc == 0 && a->summary)
        rc = put_u64key(txn, st->dbi[DB_SUMMARIES], a->id, a->summary,
                        strlen(a->summary), 0);
    if (rc == 0 && a->score_entry)
        rc = seq_append(txn, st->dbi[DB_SCORES], a->score_entry,
                        strlen(a->score_entry), NULL);
    for (size_t i = 0; i < o->nskills && rc == 0; i++)
        rc = put_named(txn, st->dbi[DB_SKILLS], o->skills[i].name,
                       a->skills[i], strlen(a->skills[i]));
    for (size_t i = 0; i < o->ndocs && rc == 0; i++)
        rc = put_named(txn, st->dbi[DB_DOCS], o->docs[i].name, a->docs[i],
                       strlen(a->docs[i]));
    if (rc == 0)
        rc = put_entries(st, txn, o->logs, o->nlogs);
    if (rc == 0 && o->text)
        rc = text_put(st, txn, a->id, o->text);
    return rc;
}

static int finish_body(struct store *st, MDB_txn *txn, void *varg)
{
    struct finish_arg *a = varg;
    const struct store_task_outcome *o = a->out;
    cJSON *doc;
    const char *status;
    char now[32];
    int rc = task_load(st, txn, a->id, &doc);

    if (rc < 0)
        return rc;
    status = json_str(doc, "status");
    if (status && strcmp(status, "queued") == 0) {
        rc = queue_del(st, txn, doc, a->id);
    } else if (status && strcmp(status, "running") == 0) {
        rc = del_u64key(txn, st->dbi[DB_RUNNING], a->id);
        if (rc == -ENOENT)
            rc = 0;
    } else {
        /* A task ends once: a second result would append a second score. */
        rc = -EINVAL;
    }
    if (rc < 0)
        goto out;
    store_time_format(time(NULL), now);
    if ((rc = json_set(doc, "status", cJSON_CreateString(o->status))) < 0 ||
        (rc = json_set(doc, "attempts", cJSON_CreateNumber(o->attempts))) < 0 ||
        (rc = json_set(doc, "finished_at", cJSON_CreateString(now))) < 0 ||
        (rc = json_set_copy(doc, "score", a->score)) < 0 ||
        (rc = json_set_copy(doc, "result", a->result)) < 0 ||
        (rc = task_store(st, txn, a->id, doc, NULL)) < 0)
        goto out;
    rc = finish_artefacts(st, txn, a);
out:
    cJSON_Delete(doc);
    return rc;
}

int store_task_finish(struct store *st, uint64_t id,
                      const struct store_task_outcome *out)
{
    struct finish_arg a = { .id = id, .out = out };
    int rc;

    if (st == NULL || out == NULL)
        return -EINVAL;
    rc = finish_prepare(&a);
    if (rc == 0)
        rc = store_write(st, finish_body, &a);
    finish_free(&a);
    return rc;
}

struct cancel_arg {
    struct finish_arg fin;
    struct store_task_outcome out;
    struct store_log_entry log;
    char line[128];
};

/* Finishes a queued task as cancelled, in the transaction that checked it
 * is queued: a builder that dequeues it a moment later cannot also hold
 * it. */
static int cancel_body(struct store *st, MDB_txn *txn, void *varg)
{
    struct cancel_arg *a = varg;
    const cJSON *att;
    const char *status;
    cJSON *doc;
    int rc = task_load(st, txn, a->fin.id, &doc);

    if (rc < 0)
        return rc;
    status = json_str(doc, "status");
    att = cJSON_GetObjectItemCaseSensitive(doc, "attempts");
    a->out.attempts = cJSON_IsNumber(att) && att->valuedouble >= 0
                          ? (int)att->valuedouble : 0;
    if (status && strcmp(status, "running") == 0)
        rc = -EBUSY;
    else if (!status || strcmp(status, "queued") != 0)
        rc = -EALREADY;
    cJSON_Delete(doc);
    return rc ? rc : finish_body(st, txn, &a->fin);
}

int store_task_cancel_queued(struct store *st, uint64_t id, const char *why)
{
    struct cancel_arg *a;
    char name[STORE_ID_MAX];
    int rc;

    if (st == NULL || why == NULL)
        return -EINVAL;
    a = calloc(1, sizeof *a);
    if (a == NULL)
        return -ENOMEM;
    a->out.status = "cancelled";
    a->out.result_json = NULL;
    snprintf(a->line, sizeof a->line, "cancel: %s: cancelled while queued",
             store_id_format(id, name));
    a->log = (struct store_log_entry){ STORE_LOG_SYSTEM, 0, a->line };
    a->out.logs = &a->log;
    a->out.nlogs = 1;
    a->fin.id = id;
    a->fin.out = &a->out;
    cJSON *result = cJSON_CreateObject();
    if (!result || !cJSON_AddStringToObject(result, "reason", why)) {
        cJSON_Delete(result);
        free(a);
        return -ENOMEM;
    }
    a->fin.result = result;     /* freed by finish_free */
    rc = store_write(st, cancel_body, a);
    finish_free(&a->fin);
    free(a);
    return rc;
}

/* ---- Documents, logs ---------------------------------------------------- */

struct named_arg {
    const char *name;
    const char *json;
};

static int doc_put_body(struct store *st, MDB_txn *txn, void *varg)
{
    struct named_arg *a = varg;

    return put_named(txn, st->dbi[DB_DOCS], a->name, a->json, strlen(a->json));
}

int store_doc_put(struct store *st, const char *name, const char *json)
{
    struct named_arg a = { name, NULL };
    char *compact;
    int rc;

    if (st == NULL || !name_ok(name))
        return -EINVAL;
    rc = json_compact(json, 0, &compact);
    if (rc < 0)
        return rc;
    a.json = compact;
    rc = store_write(st, doc_put_body, &a);
    free(compact);
    return rc;
}

static int doc_del_body(struct store *st, MDB_txn *txn, void *varg)
{
    const char *name = varg;
    MDB_val k = { strlen(name), (void *)name };

    return store_mdb_err(mdb_del(txn, st->dbi[DB_DOCS], &k, NULL));
}

int store_doc_del(struct store *st, const char *name)
{
    if (st == NULL || !name_ok(name))
        return -EINVAL;
    return store_write(st, doc_del_body, (void *)name);
}

int store_doc_get(struct store *st, const char *name, char **json, size_t *len)
{
    MDB_txn *txn;
    MDB_val k, v;
    int rc;

    if (json)
        *json = NULL;
    if (st == NULL || json == NULL || !name_ok(name))
        return -EINVAL;
    rc = store_txn_begin(st, MDB_RDONLY, &txn, NULL);
    if (rc < 0)
        return rc;
    k.mv_size = strlen(name);
    k.mv_data = (void *)name;
    rc = store_mdb_err(mdb_get(txn, st->dbi[DB_DOCS], &k, &v));
    if (rc == 0) {
        *json = malloc(v.mv_size + 1);
        if (*json == NULL) {
            rc = -ENOMEM;
        } else {
            memcpy(*json, v.mv_data, v.mv_size);
            (*json)[v.mv_size] = '\0';
            if (len)
                *len = v.mv_size;
        }
    }
    store_txn_abort(st, txn);
    return rc;
}

struct docs_arg {
    const struct store_named *docs;
    char **compact;                /* n compact copies                      */
    size_t n;
};

static int docs_put_body(struct store *st, MDB_txn *txn, void *varg)
{
    struct docs_arg *a = varg;
    int rc = 0;

    for (size_t i = 0; i < a->n && rc == 0; i++)
        rc = put_named(txn, st->dbi[DB_DOCS], a->docs[i].name, a->compact[i],
                       strlen(a->compact[i]));
    return rc;
}

int store_docs_put(struct store *st, const struct store_named *docs, size_t n)
{
    struct docs_arg a = { docs, NULL, n };
    int rc = 0;

    if (st == NULL || (n > 0 && docs == NULL))
        return -EINVAL;
    if (n == 0)
        return 0;
    if (!(a.compact = calloc(n, sizeof *a.compact)))
        return -ENOMEM;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = !name_ok(docs[i].name) ? -EINVAL
                                    : json_compact(docs[i].json, 0, &a.compact[i]);
    if (rc == 0)
        rc = store_write(st, docs_put_body, &a);
    for (size_t i = 0; i < n; i++)
        free(a.compact[i]);
    free(a.compact);
    return rc;
}

struct update_arg {
    const char *name;
    store_doc_update_fn fn;
    void *ctx;
};

static int doc_update_body(struct store *st, MDB_txn *txn, void *varg)
{
    struct update_arg *a = varg;
    MDB_val k = { strlen(a->name), (void *)a->name }, v;
    char *old = NULL, *out = NULL, *compact = NULL;
    int rc = store_mdb_err(mdb_get(txn, st->dbi[DB_DOCS], &k, &v));

    if (rc < 0 && rc != -ENOENT)
        return rc;                  /* never mistaken for "no document" */
    if (rc == 0) {
        /* A NUL-terminated copy: fn may parse it as a C string, and LMDB's
         * memory must not be touched after a put in this transaction. */
        if (!(old = malloc(v.mv_size + 1)))
            return -ENOMEM;
        memcpy(old, v.mv_data, v.mv_size);
        old[v.mv_size] = '\0';
    }
    rc = a->fn(a->ctx, old, old ? v.mv_size : 0, &out);
    free(old);
    if (rc < 0 || out == NULL) {
        free(out);
        return rc;
    }
    rc = json_compact(out, 0, &compact);
    free(out);
    if (rc == 0)
        rc = put_named(txn, st->dbi[DB_DOCS], a->name, compact, strlen(compact));
    free(compact);
    return rc;
}

int store_doc_update(struct store *st, const char *name,
                     store_doc_update_fn fn, void *ctx)
{
    struct update_arg a = { name, fn, ctx };

    if (st == NULL || fn == NULL || !name_ok(name))
        return -EINVAL;
    return store_write(st, doc_update_body, &a);
}

struct append_arg {
    enum store_db db;
    const char *val;               /* log: the raw line; else compact JSON */
    uint64_t key;                  /* out */
};

static int log_body(struct store *st, MDB_txn *txn, void *varg)
{
    struct append_arg *a = varg;

    return log_put(st, txn, a->db, a->val, 0);
}

static enum store_db log_db(enum store_log log)
{
    return log == STORE_LOG_SHELL ? DB_SHELLLOG : DB_SYSLOG;
}

/* Appends entries in the transaction, in order. */
static int put_entries(struct store *st, MDB_txn *txn,
                       const struct store_log_entry *e, size_t n)
{
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++)
        rc = log_put(st, txn, log_db(e[i].log), e[i].line, e[i].at);
    return rc;
}

struct entries_arg {
    const struct store_log_entry *e;
    size_t n;
};

static int entries_body(struct store *st, MDB_txn *txn, void *varg)
{
    struct entries_arg *a = varg;

    return put_entries(st, txn, a->e, a->n);
}

int store_log_append_many(struct store *st, const struct store_log_entry *e,
                          size_t n)
{
    struct entries_arg a = { e, n };

    if (st == NULL || (n && e == NULL))
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!e[i].line || (e[i].log != STORE_LOG_SYSTEM &&
                           e[i].log != STORE_LOG_SHELL))
            return -EINVAL;
    return n ? store_write(st, entries_body, &a) : 0;
}

int store_log_append(struct store *st, enum store_log log, const char *line)
{
    struct append_arg a = { 0 };

    if (st == NULL || line == NULL)
        return -EINVAL;
    if (log == STORE_LOG_SYSTEM)
        a.db = DB_SYSLOG;
    else if (log == STORE_LOG_SHELL)
        a.db = DB_SHELLLOG;
    else
        return -EINVAL;
    a.val = line;
    return store_write(st, log_body, &a);
}

static int analysis_body(struct store *st, MDB_txn *txn, void *varg)
{
    struct append_arg *a = varg;

    int rc = seq_append(txn, st->dbi[DB_ANALYSES], a->val, strlen(a->val),
                        &a->key);

    return rc ? rc : seq_trim(txn, st->dbi[DB_ANALYSES], st->analyses_keep);
}

int store_analysis_append(struct store *st, const char *json, uint64_t *n)
{
    struct append_arg a = { .db = DB_ANALYSES };
    char *compact;
    int rc;

    if (st == NULL)
        return -EINVAL;
    rc = json_compact(json, 0, &compact);
    if (rc < 0)
        return rc;
    a.val = compact;
    rc = store_write(st, analysis_body, &a);
    free(compact);
    if (rc == 0 && n)
        *n = a.key;
    return rc;
}

/* ---- Control -------------------------------------------------------------- */

int store_set_paused(struct store *st, int paused)
{
    int rc;

    if (st == NULL)
        return -EINVAL;
    rc = store_doc_put(st, "control", paused ? "{\"state\":\"paused\"}"
                                             : "{\"state\":\"running\"}");
    if (rc == 0)
        atomic_store(&st->paused, paused ? 1 : 0);
    return rc;
}

int store_paused(struct store *st)
{
    return st ? atomic_load(&st->paused) : 0;
}

/* ---- Read views ----------------------------------------------------------- */

int store_view_begin(struct store *st, struct store_view **out)
{
    struct store_view *v;
    int rc;

    if (out)
        *out = NULL;
    if (st == NULL || out == NULL)
        return -EINVAL;
    v = malloc(sizeof *v);
    if (v == NULL)
        return -ENOMEM;
    v->st = st;
    rc = store_txn_begin(st, MDB_RDONLY, &v->txn, NULL);
    if (rc < 0) {
        free(v);
        return rc;
    }
    store_tls_views++;
    *out = v;
    return 0;
}

void store_view_end(struct store_view *v)
{
    if (v == NULL)
        return;
    store_txn_abort(v->st, v->txn);
    store_tls_views--;
    free(v);
}

static int coll_dbi(struct store_view *v, enum store_coll c, MDB_dbi *dbi)
{
    if (v == NULL || (unsigned)c >= STORE_COLL_COUNT)
        return -EINVAL;
    *dbi = v->st->dbi[coll_db[c]];
    return 0;
}

int store_view_get(struct store_view *v, enum store_coll c, uint64_t key,
                   store_each_fn fn, void *ctx)
{
    MDB_dbi dbi;
    MDB_val val;
    int rc = coll_dbi(v, c, &dbi);

    if (rc < 0 || fn == NULL)
        return rc < 0 ? rc : -EINVAL;
    rc = get_u64key(v->txn, dbi, key, &val);
    if (rc < 0)
        return rc;
    return fn(ctx, key, val.mv_data, val.mv_size);
}

/* Walks from the cursor's position (k, v already fetched with result rc)
 * forward while key <= last. */
static int walk(MDB_cursor *cur, int rc, MDB_val *k, MDB_val *v, uint64_t last,
                store_each_fn fn, void *ctx)
{
    for (; rc == 0; rc = store_mdb_err(mdb_cursor_get(cur, k, v, MDB_NEXT))) {
        uint64_t key;
        int r;

        if (k->mv_size != 8)
            return STORE_ECORRUPT;
        key = be64_get(k->mv_data);
        if (key > last)
            return 0;
        r = fn(ctx, key, v->mv_data, v->mv_size);
        if (r != 0)
            return r;
    }
    return rc == -ENOENT ? 0 : rc;
}

int store_view_range(struct store_view *v, enum store_coll c, uint64_t first,
                     uint64_t last, store_each_fn fn, void *ctx)
{
    MDB_dbi dbi;
    MDB_cursor *cur;
    MDB_val k, val;
    unsigned char kb[8];
    int rc = coll_dbi(v, c, &dbi);

    if (rc < 0 || fn == NULL)
        return rc < 0 ? rc : -EINVAL;
    if (first > last)
        return 0;
    rc = store_mdb_err(mdb_cursor_open(v->txn, dbi, &cur));
    if (rc < 0)
        return rc;
    be64_put(kb, first);
    k.mv_size = sizeof kb;
    k.mv_data = kb;
    rc = store_mdb_err(mdb_cursor_get(cur, &k, &val, MDB_SET_RANGE));
    rc = walk(cur, rc, &k, &val, last, fn, ctx);
    mdb_cursor_close(cur);
    return rc;
}

int store_view_tail(struct store_view *v, enum store_coll c, size_t n,
                    store_each_fn fn, void *ctx)
{
    MDB_dbi dbi;
    MDB_cursor *cur;
    MDB_val k, val;
    int rc = coll_dbi(v, c, &dbi);

    if (rc < 0 || fn == NULL)
        return rc < 0 ? rc : -EINVAL;
    if (n == 0)
        return 0;
    rc = store_mdb_err(mdb_cursor_open(v->txn, dbi, &cur));
    if (rc < 0)
        return rc;
    rc = store_mdb_err(mdb_cursor_get(cur, &k, &val, MDB_LAST));
    /* Step back to the n-th record from the end, or to the first one. */
    for (size_t i = 1; rc == 0 && i < n; i++) {
        rc = store_mdb_err(mdb_cursor_get(cur, &k, &val, MDB_PREV));
        if (rc == -ENOENT) {
            rc = store_mdb_err(mdb_cursor_get(cur, &k, &val, MDB_FIRST));
            break;
        }
    }
    rc = walk(cur, rc, &k, &val, UINT64_MAX, fn, ctx);
    mdb_cursor_close(cur);
    return rc;
}

size_t store_view_count(struct store_view *v, enum store_coll c)
{
    MDB_dbi dbi;
    MDB_stat ms;

    if (coll_dbi(v, c, &dbi) < 0 || store_mdb_err(mdb_stat(v->txn, dbi, &ms)))
        return 0;
    return ms.ms_entries;
}

int store_view_queue(struct store_view *v, store_each_fn fn, void *ctx)
{
    MDB_cursor *cur;
    MDB_val k, val;
    int rc;

    if (v == NULL || fn == NULL)
        return -EINVAL;
    rc = store_mdb_err(mdb_cursor_open(v->txn, v->st->dbi[DB_QUEUE], &cur));
    if (rc < 0)
        return rc;
    for (rc = store_mdb_err(mdb_cursor_get(cur, &k, &val, MDB_FIRST)); rc == 0;
         rc = store_mdb_err(mdb_cursor_get(cur, &k, &val, MDB_NEXT))) {
        MDB_val doc;
        uint64_t id;
        int r;

        if (k.mv_size != QKEY_LEN) {
            rc = STORE_ECORRUPT;
            break;
        }
        id = be64_get((const unsigned char *)k.mv_data + 5);
        r = get_u64key(v->txn, v->st->dbi[DB_TASKS], id, &doc);
        if (r < 0) {
            rc = r == -ENOENT ? STORE_ECORRUPT : r;
            break;
        }
        r = fn(ctx, id, doc.mv_data, doc.mv_size);
        if (r != 0) {
            rc = r;
            break;
        }
    }
    mdb_cursor_close(cur);
    return rc == -ENOENT ? 0 : rc;
}

int store_view_sets(struct store_view *v, store_each_fn fn, void *ctx)
{
    unsigned char kb[SET_KEY_MAX + 2];
    MDB_cursor *cur;
    MDB_val k, val;
    uint64_t index = 0;
    int rc;

    if (v == NULL || fn == NULL)
        return -EINVAL;
    rc = store_mdb_err(mdb_cursor_open(v->txn, v->st->dbi[DB_SETS], &cur));
    if (rc < 0)
        return rc;
    rc = store_mdb_err(mdb_cursor_get(cur, &k, &val, MDB_FIRST));
    while (rc == 0) {
        const char *name = k.mv_data;
        size_t n = strnlen(name, k.mv_size);

        if (n + 9 != k.mv_size || n > SET_KEY_MAX) {
            rc = STORE_ECORRUPT;
            break;
        }
        memcpy(kb, name, n);
        if ((rc = fn(ctx, index++, name, n)) != 0)
            break;
        /* Skip the rest of this set: "NAME\x01" sorts after every
         * "NAME\0..." key and before the next name. */
        kb[n] = '\x01';
        k.mv_data = kb;
        k.mv_size = n + 1;
        rc = store_mdb_err(mdb_cursor_get(cur, &k, &val, MDB_SET_RANGE));
    }
    mdb_cursor_close(cur);
    return rc == -ENOENT ? 0 : rc;
}

int store_view_set_tasks(struct store_view *v, const char *set,
                         store_each_fn fn, void *ctx)
{
    unsigned char kb[SET_KEY_MAX + 9];
    size_t n;
    MDB_cursor *cur;
    MDB_val k, val;
    int rc;

    if (v == NULL || set == NULL || fn == NULL)
        return -EINVAL;
    n = strlen(set);
    if (n == 0 || n > SET_KEY_MAX)
        return -ENOENT;
    rc = store_mdb_err(mdb_cursor_open(v->txn, v->st->dbi[DB_SETS], &cur));
    if (rc < 0)
        return rc;
    k.mv_size = set_key(set, 0, kb);
    k.mv_data = kb;
    int found = 0;
    for (rc = store_mdb_err(mdb_cursor_get(cur, &k, &val, MDB_SET_RANGE));
         rc == 0; rc = store_mdb_err(mdb_cursor_get(cur, &k, &val, MDB_NEXT))) {
        MDB_val doc;
        uint64_t id;
        int r;

        if (k.mv_size != n + 9 || memcmp(k.mv_data, kb, n + 1) != 0)
            break;
        found = 1;
        id = be64_get((const unsigned char *)k.mv_data + n + 1);
        r = get_u64key(v->txn, v->st->dbi[DB_TASKS], id, &doc);
        if (r < 0) {
            rc = r == -ENOENT ? STORE_ECORRUPT : r;
            break;
        }
        if ((r = fn(ctx, id, doc.mv_data, doc.mv_size)) != 0) {
            rc = r;
            break;
        }
    }
    mdb_cursor_close(cur);
    if (rc == -ENOENT)
        rc = 0;
    return rc == 0 && !found ? -ENOENT : rc;
}

size_t store_view_queue_depth(struct store_view *v)
{
    MDB_stat ms;

    if (v == NULL || store_mdb_err(mdb_stat(v->txn, v->st->dbi[DB_QUEUE], &ms)))
        return 0;
    return ms.ms_entries;
}

int store_view_skills(struct store_view *v, store_each_fn fn, void *ctx)
{
    MDB_cursor *cur;
    MDB_val k, val;
    char *buf = NULL;
    size_t cap = 0;
    uint64_t idx = 0;
    int rc;

    if (v == NULL || fn == NULL)
        return -EINVAL;
    rc = store_mdb_err(mdb_cursor_open(v->txn, v->st->dbi[DB_SKILLS], &cur));
    if (rc < 0)
        return rc;
    for (rc = store_mdb_err(mdb_cursor_get(cur, &k, &val, MDB_FIRST)); rc == 0;
         rc = store_mdb_err(mdb_cursor_get(cur, &k, &val, MDB_NEXT))) {
        /* name NUL json NUL: the last NUL is not counted in the length. */
        size_t need = k.mv_size + 1 + val.mv_size + 1;
        int r;

        if (need > cap) {
            char *nb = realloc(buf, need);

            if (nb == NULL) {
                rc = -ENOMEM;
                break;
            }
            buf = nb;
            cap = need;
        }
        memcpy(buf, k.mv_data, k.mv_size);
        buf[k.mv_size] = '\0';
        memcpy(buf + k.mv_size + 1, val.mv_data, val.mv_size);
        buf[need - 1] = '\0';
        r = fn(ctx, idx++, buf, need - 1);
        if (r != 0) {
            rc = r;
            break;
        }
    }
    mdb_cursor_close(cur);
    free(buf);
    return rc == -ENOENT ? 0 : rc;
}

/* Splits "head NUL tail"; without a NUL the head is empty. */
static void split_nul(const char *val, size_t len, const char **head,
                      const char **tail, size_t *tail_len)
{
    const char *nul = val ? memchr(val, '\0', len) : NULL;

    if (nul == NULL) {
        *head = "";
        *tail = val ? val : "";
        *tail_len = val ? len : 0;
        return;
    }
    *head = val;
    *tail = nul + 1;
    *tail_len = len - (size_t)(nul + 1 - val);
}

void store_named_split(const char *val, size_t len, const char **name,
                       const char **json, size_t *json_len)
{
    split_nul(val, len, name, json, json_len);
}

void store_code_split(const char *val, size_t len, const char **ext,
                      const char **text, size_t *text_len)
{
    split_nul(val, len, ext, text, text_len);
}

int store_view_doc(struct store_view *v, const char *name, store_each_fn fn,
                   void *ctx)
{
    MDB_val k, val;
    int rc;

    if (v == NULL || fn == NULL || !name_ok(name))
        return -EINVAL;
    k.mv_size = strlen(name);
    k.mv_data = (void *)name;
    rc = store_mdb_err(mdb_get(v->txn, v->st->dbi[DB_DOCS], &k, &val));
    if (rc < 0)
        return rc;
    return fn(ctx, 0, val.mv_data, val.mv_size);
}

int store_view_text_stats(struct store_view *v, struct store_text_stats *out)
{
    int rc;

    if (v == NULL || out == NULL)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    if ((rc = meta_counter(v->st, v->txn, "text_docs", &out->docs)) < 0 ||
        (rc = meta_counter(v->st, v->txn, "text_length", &out->length)) < 0)
        memset(out, 0, sizeof *out);
    return rc;
}

int store_view_text_postings(struct store_view *v, const char *term,
                             struct store_posting *out, size_t max,
                             size_t *n, uint64_t *df)
{
    MDB_cursor *cur;
    MDB_val k, val;
    size_t count = 0;
    size_t got = 0;
    int rc;

    if (n)
        *n = 0;
    if (df)
        *df = 0;
    if (v == NULL || term == NULL || *term == '\0' || n == NULL ||
        df == NULL || (max > 0 && out == NULL))
        return -EINVAL;
    if (strlen(term) > STORE_TERM_MAX)
        return 0;                   /* never stored */
    rc = store_mdb_err(mdb_cursor_open(v->txn, v->st->dbi[DB_TEXT], &cur));
    if (rc < 0)
        return rc;
    k.mv_size = strlen(term);
    k.mv_data = (void *)term;
    rc = store_mdb_err(mdb_cursor_get(cur, &k, &val, MDB_SET));
    if (rc == 0)
        rc = store_mdb_err(mdb_cursor_count(cur, &count));
    /* Whole pages of postings at a time, from the first (newest). */
    for (MDB_cursor_op op = MDB_GET_MULTIPLE; rc == 0 && got < max;
         op = MDB_NEXT_MULTIPLE) {
        rc = store_mdb_err(mdb_cursor_get(cur, &k, &val, op));
        if (rc < 0)
            break;
        if (val.mv_size % POSTING_LEN != 0) {
            rc = STORE_ECORRUPT;
            break;
        }
        for (size_t i = 0; i < val.mv_size / POSTING_LEN && got < max; i++)
            posting_read((const unsigned char *)val.mv_data + i * POSTING_LEN,
                         &out[got++]);
    }
    mdb_cursor_close(cur);
    if (rc == -ENOENT)
        rc = 0;
    if (rc < 0)
        return rc;
    *n = got;
    *df = count;
    return 0;
}

/* ---- Task state, atomic read-modify-write -------------------------------- *
 *
 * Appended for issue 14 (structured results, atomic document updates): the
 * questions the agents used to answer by searching task JSON for text, and
 * the writes they used to split over several commits. Everything here runs
 * through store_write(), so map growth retries the whole body: the
 * callbacks below may run more than once and say so in store.h. */

const char *store_status_name(enum store_status s)
{
    static const char *const names[] = {
        [STORE_STATUS_QUEUED] = "queued",
        [STORE_STATUS_RUNNING] = "running",
        [STORE_STATUS_PASSED] = "passed",
        [STORE_STATUS_FAILED] = "failed",
        [STORE_STATUS_ERROR] = "error",
        [STORE_STATUS_CANCELLED] = "cancelled",
    };

    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

static int status_parse(const char *s, enum store_status *out)
{
    for (unsigned i = 0; s && i <= STORE_STATUS_CANCELLED; i++)
        if (strcmp(s, store_status_name((enum store_status)i)) == 0) {
            *out = (enum store_status)i;
            return 0;
        }
    return -1;
}

int store_view_task_state(struct store_view *v, uint64_t id,
                          enum store_status *status,
                          enum store_source *source)
{
    enum store_status s;
    enum store_source src;
    cJSON *doc;
    int rc;

    if (v == NULL)
        return -EINVAL;
    if ((rc = task_load(v->st, v->txn, id, &doc)) < 0)
        return rc;
    if (status_parse(json_str(doc, "status"), &s) < 0 ||
        source_parse(json_str(doc, "source"), &src) < 0)
        rc = STORE_ECORRUPT;
    cJSON_Delete(doc);
    if (rc == 0 && status)
        *status = s;
    if (rc == 0 && source)
        *source = src;
    return rc;
}

int store_view_queue_first(struct store_view *v, uint64_t *id,
                           enum store_source *source)
{
    MDB_cursor *cur;
    MDB_val k, val;
    uint64_t first;
    int rc;

    if (v == NULL)
        return -EINVAL;
    rc = store_mdb_err(mdb_cursor_open(v->txn, v->st->dbi[DB_QUEUE], &cur));
    if (rc < 0)
        return rc;
    rc = store_mdb_err(mdb_cursor_get(cur, &k, &val, MDB_FIRST));
    mdb_cursor_close(cur);
    if (rc < 0)
        return rc;
    if (k.mv_size != QKEY_LEN)
        return STORE_ECORRUPT;
    first = be64_get((const unsigned char *)k.mv_data + 5);
    if (source) {
        rc = store_view_task_state(v, first, NULL, source);
        if (rc < 0)
            return rc == -ENOENT ? STORE_ECORRUPT : rc;
    }
    if (id)
        *id = first;
    return 0;
}

struct marked_arg {
    struct enqueue_arg enq;
    const char *marker;            /* document that says it was done        */
    const char *marker_json;       /* compact                               */
};

static int marked_body(struct store *st, MDB_txn *txn, void *varg)
{
    struct marked_arg *a = varg;
    MDB_val k = { strlen(a->marker), (void *)a->marker }, v;
    int rc = store_mdb_err(mdb_get(txn, st->dbi[DB_DOCS], &k, &v));

    if (rc == 0)
        return -EEXIST;
    if (rc != -ENOENT)
        return rc;
    if (a->enq.n > 0 && (rc = enqueue_body(st, txn, &a->enq)) < 0)
        return rc;
    return put_named(txn, st->dbi[DB_DOCS], a->marker, a->marker_json,
                     strlen(a->marker_json));
}

int store_task_enqueue_marked(struct store *st,
                              const struct store_task_new *tasks, size_t n,
                              uint64_t *ids_out, const char *marker,
                              const char *marker_json)
{
    struct marked_arg a = { .marker = marker };
    char now[32], *compact = NULL;
    int rc;

    if (st == NULL || (n > 0 && tasks == NULL) || n > STORE_MAX_BATCH ||
        !name_ok(marker))
        return -EINVAL;
    if ((rc = json_compact(marker_json, 0, &compact)) < 0)
        return rc;
    a.marker_json = compact;
    a.enq.n = n;
    a.enq.tasks = tasks;
    if (n > 0) {
        a.enq.docs = calloc(n, sizeof *a.enq.docs);
        a.enq.tails = calloc(n, sizeof *a.enq.tails);
        if (a.enq.docs == NULL || a.enq.tails == NULL)
            rc = -ENOMEM;
    }
    store_time_format(time(NULL), now);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = task_doc_new(&tasks[i], now, &a.enq.docs[i]);
    if (rc == 0)
        rc = store_write(st, marked_body, &a);
    if (rc == 0 && ids_out)
        for (size_t i = 0; i < n; i++)
            ids_out[i] = a.enq.first + i;
    for (size_t i = 0; a.enq.docs && i < n; i++)
        cJSON_Delete(a.enq.docs[i]);
    free(a.enq.docs);
    free(a.enq.tails);
    free(compact);
    return rc;
}

struct docs_update_arg {
    const char *const *names;
    size_t n;
    store_docs_update_fn fn;
    void *ctx;
};

static int docs_update_body(struct store *st, MDB_txn *txn, void *varg)
{
    struct docs_update_arg *a = varg;
    char **old = calloc(a->n, sizeof *old), **out = calloc(a->n, sizeof *out);
    size_t *len = calloc(a->n, sizeof *len);
    int rc = old && out && len ? 0 : -ENOMEM;

    /* Copies, NUL-terminated: LMDB's memory must not be read after a put
     * in this transaction, and fn may parse them as C strings. */
    for (size_t i = 0; i < a->n && rc == 0; i++) {
        MDB_val k = { strlen(a->names[i]), (void *)a->names[i] }, v;

        rc = store_mdb_err(mdb_get(txn, st->dbi[DB_DOCS], &k, &v));
        if (rc == -ENOENT) {
            rc = 0;                 /* a missing document: NULL, 0 */
        } else if (rc == 0) {
            if (!(old[i] = malloc(v.mv_size + 1))) {
                rc = -ENOMEM;
                break;
            }
            memcpy(old[i], v.mv_data, v.mv_size);
            old[i][v.mv_size] = '\0';
            len[i] = v.mv_size;
        }
        /* any other code: a read failure, never "no document" */
    }
    if (rc == 0)
        rc = a->fn(a->ctx, (const char *const *)old, len, out, a->n);
    for (size_t i = 0; i < a->n && rc == 0; i++) {
        char *compact;

        if (out[i] == NULL)
            continue;
        if ((rc = json_compact(out[i], 0, &compact)) == 0) {
            rc = put_named(txn, st->dbi[DB_DOCS], a->names[i], compact,
                           strlen(compact));
            free(compact);
        }
    }
    for (size_t i = 0; i < a->n; i++) {
        if (old)
            free(old[i]);
        if (out)
            free(out[i]);
    }
    free(old);
    free(out);
    free(len);
    return rc;
}

int store_docs_update(struct store *st, const char *const *names, size_t n,
                      store_docs_update_fn fn, void *ctx)
{
    struct docs_update_arg a = { names, n, fn, ctx };

    if (st == NULL || fn == NULL || (n > 0 && names == NULL))
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!name_ok(names[i]))
            return -EINVAL;
    if (n == 0)
        return 0;
    return store_write(st, docs_update_body, &a);
}

struct finish_with_arg {
    uint64_t id;
    const struct store_task_outcome *base;
    store_finish_fn fn;
    void *ctx;
};

/* The caller's fn reads through a view on the write transaction itself, so
 * that what it reads is what the commit replaces: no other writer comes
 * between. The view is not counted in store_tls_views (it holds no read
 * transaction of its own) and is never ended: the write ends it. */
static int finish_with_body(struct store *st, MDB_txn *txn, void *varg)
{
    struct finish_with_arg *a = varg;
    struct store_view v = { st, txn };
    struct store_task_outcome o = *a->base;
    struct finish_arg f = { .id = a->id, .out = &o };
    int rc = a->fn(a->ctx, &v, &o);

    if (rc < 0)
        return rc;
    if ((rc = finish_prepare(&f)) == 0)
        rc = finish_body(st, txn, &f);
    finish_free(&f);
    return rc;
}

int store_task_finish_with(struct store *st, uint64_t id,
                           const struct store_task_outcome *base,
                           store_finish_fn fn, void *ctx)
{
    struct finish_with_arg a = { id, base, fn, ctx };

    if (st == NULL || base == NULL || fn == NULL)
        return -EINVAL;
    return store_write(st, finish_with_body, &a);
}
