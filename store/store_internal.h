/* store_internal.h -- what the files of store/ share, and nothing outside
 * store/ includes: the environment (struct store), a read view, the named
 * databases, the internal error codes, the on-disk formats, and the
 * helpers that begin, run and end transactions and read or write records
 * inside one. The public API is store.h.
 *
 * The files, one concept each (docs/store.md, "Files"):
 *   env.c      open and close: data directory, lock file, LMDB environment,
 *              schema, initial documents, recovery of running tasks
 *   txn.c      transactions, map growth, write health, the commit hook
 *   records.c  records inside a transaction: u64 and named keys, sequences
 *              and their retention, meta records
 *   codec.c    keys, ids, source names, time stamps, JSON helpers, errors
 *   tasks.c    task documents and the queue: enqueue, dequeue, requeue,
 *              attempts, the sets index
 *   finish.c   the end of a task (result and artefacts) and cancel
 *   text.c     the text index's write side
 *   docs.c     documents and the pause switch
 *   logs.c     system and shell logs, analyses
 *   views.c    read views
 * The helpers below kept the names they had as statics of the one store.c
 * they come from, so that the split moved code without changing it. They
 * are not API: only store/ calls them.
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
 *   sets         "SET" NUL id -> empty (see SET_KEY_MAX below)
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
 */
#ifndef BT_STORE_INTERNAL_H
#define BT_STORE_INTERNAL_H

#include "store.h"

#include <cjson/cJSON.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define QKEY_LEN            13      /* bytes of a queue key (layout above) */

/* Internal code: the map is full. Produced by store_mdb_err() and consumed
 * by store_write(); it never leaves store/. */
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
 * itself. Counting views per thread turns that deadlock into an error.
 * Defined in txn.c; views.c counts. */
extern _Thread_local unsigned store_tls_views;

/* The task whose document the write transaction running on this thread
 * changed (0 none, UINT64_MAX several), for the commit hook. Writes are
 * per thread, so a thread-local needs no lock. Defined in txn.c, which
 * resets it; task_store() sets it. */
extern _Thread_local uint64_t store_tls_touched;

/* The body of a write transaction: see store_write(). */
typedef int (*store_body_fn)(struct store *st, MDB_txn *txn, void *arg);

/* ---- Byte order (inline: every file needs them) -------------------------- */

static inline void be64_put(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static inline uint64_t be64_get(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static inline void be32_put(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static inline uint32_t be32_get(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

/* The sets index: key "SET\0" + big-endian id, empty value, for each task
 * with a "set", so that a set's tasks are found without reading every
 * task. Set names hold no NUL (task.c's rule), so a set's keys are
 * contiguous and sorted by id. */
#define SET_KEY_MAX 256

#define POSTING_LEN         16      /* bytes of a text posting (layout above) */

/* ---- codec.c ------------------------------------------------------------- */

/* The queue class of a source: user tasks run before all others. */
int source_class(enum store_source src);
/* The queue key of a task (see the layout above). */
void qkey_make(unsigned char k[QKEY_LEN], int cls, int priority, uint64_t id);
/* The sets index key of (set, id) into k (SET_KEY_MAX + 9 bytes); returns
 * its length. */
size_t set_key(const char *set, uint64_t id, unsigned char *k);
void posting_make(unsigned char p[POSTING_LEN], uint64_t id, uint32_t tf,
                  uint32_t length);
void posting_read(const unsigned char *p, struct store_posting *out);
/* The one place where LMDB codes become ours. */
int store_mdb_err(int rc);
/* Parses 'in' as JSON (of any kind, or an object when want_object) and
 * returns the tree, or NULL: then *err is -EINVAL or -ENOMEM. */
cJSON *json_parse(const char *in, int want_object, int *err);
/* Validates 'in' and returns its compact form in *out (malloc'd). */
int json_compact(const char *in, int want_object, char **out);
/* A name usable as an LMDB key (skills, documents). */
int name_ok(const char *name);
/* Sets doc[key] to item (consumed), keeping the field's place if it exists. */
int json_set(cJSON *doc, const char *key, cJSON *item);
/* doc[key] if it is a string, else NULL. */
const char *json_str(const cJSON *doc, const char *key);
/* "user", "trainer", "seed" into *src; -1 for anything else. */
int source_parse(const char *s, enum store_source *src);

/* ---- txn.c --------------------------------------------------------------- */

/* Begins a transaction holding the read side of resize_lock; on success the
 * caller must end it with store_txn_abort(). */
int store_txn_begin(struct store *st, unsigned flags, MDB_txn **txn,
                    size_t *map_seen);
/* Ends a read transaction, or aborts a write one, and releases the lock. */
void store_txn_abort(struct store *st, MDB_txn *txn);
/* Runs body in a write transaction and commits it; on a full map grows it
 * and runs body again from the start, so a body must compute everything it
 * writes from its arguments and the transaction alone. Returns 0 or what
 * body returned (a negative code), never an internal code. */
int store_write(struct store *st, store_body_fn body, void *arg);

/* ---- records.c ----------------------------------------------------------- */

int get_u64key(MDB_txn *txn, MDB_dbi dbi, uint64_t key, MDB_val *val);
int put_u64key(MDB_txn *txn, MDB_dbi dbi, uint64_t key, const void *val,
               size_t len, unsigned flags);
int del_u64key(MDB_txn *txn, MDB_dbi dbi, uint64_t key);
int put_named(MDB_txn *txn, MDB_dbi dbi, const char *name, const char *val,
              size_t len);
/* Appends a record under key last + 1 and returns that key in *key. */
int seq_append(MDB_txn *txn, MDB_dbi dbi, const void *val, size_t len,
               uint64_t *key);
/* Retention: deletes the oldest records beyond 'keep', a few at a time. */
int seq_trim(MDB_txn *txn, MDB_dbi dbi, size_t keep);
int meta_get(struct store *st, MDB_txn *txn, const char *name, MDB_val *v);
int meta_put(struct store *st, MDB_txn *txn, const char *name,
             const void *val, size_t len);
/* A u64 meta record that must exist (STORE_ECORRUPT if absent). */
int meta_get_u64(struct store *st, MDB_txn *txn, const char *name,
                 uint64_t *out);
int meta_put_u64(struct store *st, MDB_txn *txn, const char *name,
                 uint64_t val);
/* A meta counter that older stores lack: absent reads as 0. */
int meta_counter(struct store *st, MDB_txn *txn, const char *name,
                 uint64_t *out);

/* ---- tasks.c ------------------------------------------------------------- */

/* Loads and parses a task document; -ENOENT if there is none. */
int task_load(struct store *st, MDB_txn *txn, uint64_t id, cJSON **doc);
/* Stores a task document; *printed (may be NULL) receives its text. */
int task_store(struct store *st, MDB_txn *txn, uint64_t id, const cJSON *doc,
               char **printed);
/* Takes a task off the queue, its key rebuilt from its document. */
int queue_del(struct store *st, MDB_txn *txn, const cJSON *doc, uint64_t id);
/* Moves a running task back to the queue within txn. */
int task_requeue_txn(struct store *st, MDB_txn *txn, uint64_t id);

/* ---- text.c -------------------------------------------------------------- */

/* Checks a document of the index before any write. */
int text_check(const struct store_text *t);
/* Adds document 'id' to the index and to the totals, within txn. */
int text_put(struct store *st, MDB_txn *txn, uint64_t id,
             const struct store_text *t);

/* ---- logs.c -------------------------------------------------------------- */

/* Appends one line, time stamped (at, or now when 0), to a log, and applies
 * the retention limit, within txn. */
int log_put(struct store *st, MDB_txn *txn, enum store_db db,
            const char *line, time_t at);
/* Appends entries in the transaction, in order. */
int put_entries(struct store *st, MDB_txn *txn,
                const struct store_log_entry *e, size_t n);

#endif /* BT_STORE_INTERNAL_H */
