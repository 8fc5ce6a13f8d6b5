/* store.h -- the durable memory of Builder-Trainer FS: one LMDB environment.
 *
 * The store is the only code that includes <lmdb.h>. It knows nothing of the
 * filesystem or the agents; both use it through this header.
 *
 * Contents (named databases, see docs/store.md):
 *   tasks        u64 id -> task document (compact JSON)
 *   queue        (class, priority, id) -> empty; user tasks first, then higher
 *                priority, then older
 *   running      u64 id -> empty; tasks a builder holds now (small; scanned at
 *                open to requeue what a crash left behind)
 *   code         (u64 id << 8 | attempt) -> packed code (see store_code_*)
 *   reflections, summaries, scores, analyses, syslog, shelllog
 *                u64 key -> compact JSON (logs: one text line)
 *   skills       skill name -> compact JSON
 *   docs         document name -> compact JSON (profile, difficulty, ...)
 *   meta         "schema", "next_id", ... -> little records
 *   sets         "SET\0" + u64 id -> empty; the tasks of each set (field
 *                "set" of the definition), written at enqueue
 *   text         term -> postings (duplicates, newest document first); a
 *                generic inverted index for lexical search, written with
 *                a task's result (see "Text index" below)
 *
 * Errors: every fallible function returns 0 on success, a negative errno, or
 * one of the STORE_E* codes below (all negative). store_strerror() names both.
 * LMDB's own codes never leave the store: MDB_NOTFOUND becomes -ENOENT,
 * MDB_MAP_FULL is handled by growing the map and retrying, a full disk or
 * quota is -ENOSPC / -EDQUOT (LMDB says EIO for a write cut short by a full
 * disk; the store tells the two apart by the free space left), a read-only
 * filesystem -EROFS, anything else is -EIO (logged to stderr with LMDB's
 * text). A write that fails adds nothing: the transaction is aborted whole.
 *
 * Threads: a struct store may be used by any number of threads at once. A
 * struct store_view belongs to the thread that began it until it is ended.
 * End your views before writing: a write that must grow the map waits for
 * every open view, so one from the writing thread itself would deadlock (the
 * write fails with -EDEADLK instead). Never keep a view across calls that
 * wait on others (a FUSE open..release, a network request).
 * Write transactions are serialised by LMDB; every write commits durably
 * (fsync) before the call returns.
 *
 * Ownership: strings returned through char ** are malloc'd and owned by the
 * caller. Callback arguments that point into the store are valid only for the
 * duration of the callback.
 */
#ifndef BT_STORE_H
#define BT_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define STORE_SCHEMA_VERSION 1

/* Store-specific error codes (negative, far from any errno). */
#define STORE_ESCHEMA  (-20001) /* the store was written by a newer version */
#define STORE_ECORRUPT (-20002) /* a record does not parse or is missing   */
#define STORE_ELOCKED  (-20003) /* another process has the data directory  */

/* Limits the store enforces on its own (callers validate earlier). */
#define STORE_MAX_ATTEMPT 255   /* code archive keeps attempts 1..255     */
#define STORE_MAX_BATCH   100000 /* tasks in one enqueue call             */

struct store;
struct store_view;

/* Marks the calls that change the store: a caller that drops their result
 * loses a write without a word (GCC and clang warn; a (void) cast does not
 * silence GCC, so handle the error). Log appends are not marked: a log line
 * is best effort, and a caller that cannot log has nothing better to do
 * than go on. */
#define STORE_MUST_USE __attribute__((warn_unused_result))

struct store_options {
    size_t map_size;   /* initial map size in bytes; 0 means 1 GiB. The map
                          grows by itself when full, so this only matters
                          for tests that want to exercise growth. */
    int no_sync;       /* 1: skip fsync at commit (benchmark fill only). */
    int no_lock;       /* 1: do not take the data-directory lock (tools
                          that open a store a running btfs is not using). */
    size_t log_keep;   /* retention: lines kept per log (system.log,
                          shell.log); 0 means STORE_LOG_KEEP */
    size_t analyses_keep; /* retention: analyses kept (advanced/
                          builder_analysis_N.json); 0: STORE_ANALYSES_KEEP */
};

/* Retention defaults (docs/store.md): the oldest records go first. A
 * system.log line is about 150 bytes, so a full log is about 15 MB. */
#define STORE_LOG_KEEP      100000
#define STORE_ANALYSES_KEEP 200

/* Opens (creating on first use) the store in directory 'dir', which must
 * exist. Takes an exclusive lock on the directory so that two processes never
 * serve the same store. Checks the schema version, creates the initial
 * documents on first open, and puts tasks left 'running' by a crash back on
 * the queue (attempt count kept).
 *
 * On error returns a negative code, writes a one-line explanation that names
 * the problem and what to do into errbuf (if not NULL), and *out is NULL:
 *   -ENOENT / -ENOTDIR / -EACCES / -EROFS   directory unusable
 *   STORE_ELOCKED                           another btfs holds it
 *   STORE_ESCHEMA                           written by a newer version
 *   STORE_ECORRUPT, -EIO                    the files are damaged */
int store_open(const char *dir, const struct store_options *opt,
               struct store **out, char *errbuf, size_t errlen);

/* Closes the store. Accepts NULL. All views must have ended. */
void store_close(struct store *st);

/* Told after each durable commit, on the thread that wrote, with no
 * transaction open and before the writing call returns, so that a reader
 * shown the change in a cache learns of it before the writer goes on.
 * 'task' is the task whose document the commit changed: 0 for none (new
 * tasks do not count: nobody can have seen them), UINT64_MAX for several.
 * The hook must be quick and must not write to the store. */
typedef void (*store_commit_fn)(void *ctx, uint64_t task);

/* Installs (fn non-NULL) or removes the hook; one at a time. Once it
 * returns, the previous hook is no longer running nor will be called.
 * Can't fail. */
void store_set_commit_hook(struct store *st, store_commit_fn fn, void *ctx);

/* Names an error code of this API (errno or STORE_E*). Never NULL. */
const char *store_strerror(int err);

/* ---- Tasks ---------------------------------------------------------------- */

enum store_source {
    STORE_SOURCE_USER = 0,
    STORE_SOURCE_TRAINER = 1,
    STORE_SOURCE_SEED = 2,
};

/* Returns "user", "trainer" or "seed". */
const char *store_source_name(enum store_source src);

struct store_task_new {
    const char *def_json;   /* compact JSON object of the task definition, as
                               task_parse_line() produces it (goal, language,
                               tests, ...); copied, not kept */
    int priority;           /* higher runs first within its class */
    enum store_source source;
};

/* Formats a task id as "task_000042" into buf (at least STORE_ID_MAX bytes).
 * Returns buf. Can't fail. */
#define STORE_ID_MAX 32
char *store_id_format(uint64_t id, char *buf);

/* Parses exactly the canonical form "task_NNNNNN" (six digits at least, no
 * extra leading zeros beyond six, nothing after) and returns 0 with *id set,
 * or -EINVAL. 'len' is the length of s to consider. */
int store_id_parse(const char *s, size_t len, uint64_t *id);

/* Enqueues n tasks in one durable transaction: either all are stored and
 * queued, or none. Each stored task document is the definition plus id,
 * source, priority, status "queued", attempts 0, created_at and null
 * started_at/finished_at/score/result. ids_out (n entries, may be NULL)
 * receives the new ids, which grow monotonically.
 * Errors: -EINVAL (a def_json is not a JSON object, or n too large), -ENOMEM,
 * -EIO. On error nothing was stored. */
STORE_MUST_USE
int store_task_enqueue(struct store *st, const struct store_task_new *tasks,
                       size_t n, uint64_t *ids_out);

/* Makes the line logged with an enqueue, given the ids it gave (first ..
 * first + n - 1): malloc'd, or NULL when out of memory. May be called more
 * than once for one enqueue (a transaction retried after the map grew). */
typedef char *(*store_enqueue_log_fn)(void *ctx, uint64_t first, size_t n);

/* Flags of store_task_enqueue_log. */
#define STORE_ENQUEUE_CANONICAL 1u  /* every def_json is exactly what
                                       task_parse_line printed (compact, its
                                       priority the one given): spliced into
                                       the document as text, not parsed and
                                       printed again */

/* store_task_enqueue, and in the same transaction appends log_line's line to
 * logs/system.log (log_line NULL: none), so that an enqueue and its record
 * cost one durable commit. Errors as store_task_enqueue. */
STORE_MUST_USE
int store_task_enqueue_log(struct store *st,
                           const struct store_task_new *tasks, size_t n,
                           uint64_t *ids_out, unsigned flags,
                           store_enqueue_log_fn log_line, void *log_ctx);

/* Takes the first task in queue order, marks it 'running' (status, started_at)
 * and records it as running, durably. *task_json (may be NULL) receives the
 * updated document. Returns -ENOENT when the queue is empty. */
STORE_MUST_USE
int store_task_dequeue(struct store *st, uint64_t *id, char **task_json);

/* Puts a running task back on the queue (status 'queued', started_at null,
 * attempts kept). Used at shutdown and at open after a crash.
 * Returns -ENOENT if the task does not exist, -EINVAL if it is not running. */
STORE_MUST_USE
int store_task_requeue(struct store *st, uint64_t id);

/* Records how many attempts a running task has used so far, durably, so that
 * a crash does not reset the count. -ENOENT if no such task. */
STORE_MUST_USE
int store_task_set_attempts(struct store *st, uint64_t id, int attempts);

/* One archived version of a task's code. */
struct store_code {
    unsigned attempt;       /* 1..STORE_MAX_ATTEMPT */
    const char *ext;        /* file extension without dot: "py", "c", "sh" */
    const char *text;
    size_t len;
};

/* One named record written alongside a result (a skill, a document). */
struct store_named {
    const char *name;
    const char *json;       /* compact JSON; copied */
};

/* A log line with the time it happened, for lines that are written later
 * than they happen (batched with other writes: see store_task_outcome). */
struct store_log_entry {
    int log;                       /* enum store_log                     */
    time_t at;                     /* 0: the time of the write           */
    const char *line;
};

/* ---- Text index ------------------------------------------------------------ */

/* The store keeps an inverted index of documents given to it as bags of
 * terms: for each term, the documents that hold it (a document is a task,
 * by id) with the term's frequency and the document's length, plus the
 * number of documents and their total length -- what BM25-style ranking
 * needs. The store does not tokenize or rank: callers do. */
#define STORE_TERM_MAX       64     /* bytes in one term                  */
#define STORE_TEXT_TERMS_MAX 1024   /* distinct terms of one document     */

struct store_term {
    const char *term;              /* 1..STORE_TERM_MAX bytes, NUL-ended  */
    uint32_t tf;                   /* occurrences in the document, >= 1   */
};

/* One document of the index: each term at most once. */
struct store_text {
    const struct store_term *terms;
    size_t nterms;                 /* 1..STORE_TEXT_TERMS_MAX             */
    uint32_t length;               /* the document's length in terms, as
                                      the caller counts it (BM25's |d|)   */
};

/* Everything a finished task produced, committed in one transaction. Any
 * pointer may be NULL / count 0 when there is nothing of that kind. */
struct store_task_outcome {
    const char *status;            /* "passed" "failed" "error" "cancelled" */
    int attempts;
    const char *score_json;        /* object: accuracy, speed, ... */
    const char *result_json;       /* object: tests passed, reason, ... */
    const struct store_code *code;
    size_t ncode;
    const char *reflection_json;   /* stored under the task's id */
    const char *summary_json;      /* stored under the task's id */
    const char *score_entry_json;  /* appended to the score log */
    const struct store_named *skills;  /* replace these skill records */
    size_t nskills;
    const struct store_named *docs;    /* replace these documents */
    size_t ndocs;
    const struct store_log_entry *logs; /* appended to their logs, in order */
    size_t nlogs;
    const struct store_text *text; /* index the task under these terms   */
};

/* Called by store_task_finish_with inside its write transaction: 'v'
 * reads the store as that transaction sees it (skills, documents, tasks:
 * every store_view_* call but store_view_end, which the caller must not
 * call), and fn completes 'out' -- a copy of the caller's base outcome --
 * typically with skill records and documents computed from what it read.
 * Anything it points 'out' at must stay valid until the finish call
 * returns (keep it in ctx). fn must be quick, must not call any other
 * store function, and may be called again (the transaction is retried
 * when the map grows): it must free or reuse what an earlier call left in
 * ctx. Returns 0, or a negative code that aborts the finish. */
typedef int (*store_finish_fn)(void *ctx, struct store_view *v,
                               struct store_task_outcome *out);

/* store_task_finish with a read-modify-write of whatever the outcome
 * replaces: fn (see above) reads the current records and fills the
 * outcome in the same write transaction that commits it, so that two
 * writers never lose each other's update and no lock is needed. A read
 * failure inside fn is an error of the call, never an empty record.
 * Errors: as store_task_finish, and fn's. */
STORE_MUST_USE
int store_task_finish_with(struct store *st, uint64_t id,
                           const struct store_task_outcome *base,
                           store_finish_fn fn, void *ctx);

/* Records the end of a task (queued or running; a task already finished is
 * -EINVAL, so a score is never logged twice): sets status, attempts, finished_at, score and
 * result in its document, removes it from the running set (and the queue, if
 * it was cancelled while queued), and stores everything else in 'out', in one
 * durable transaction. Errors: -ENOENT (no such task), -EINVAL (bad status or
 * JSON, attempt out of range, a text with no terms, too many, an empty or
 * too long term, a term twice, a zero frequency), -ENOMEM, -EIO. */
STORE_MUST_USE
int store_task_finish(struct store *st, uint64_t id,
                      const struct store_task_outcome *out);

/* Cancels a task that is still queued: status "cancelled", result
 * {"reason": why}, finished_at now, off the queue, and a "cancel:" line in
 * the system log, in one durable transaction that first checks the task is
 * queued (so it never races with a builder taking it).
 * Errors: -ENOENT (no such task), -EBUSY (it is running: the caller must
 * ask its builder to stop), -EALREADY (it has finished), -ENOMEM, -EIO. */
STORE_MUST_USE
int store_task_cancel_queued(struct store *st, uint64_t id, const char *why);

/* A task's status, as its document's "status" names it. */
enum store_status {
    STORE_STATUS_QUEUED = 0,       /* "queued": on the queue              */
    STORE_STATUS_RUNNING,          /* "running": a builder holds it       */
    STORE_STATUS_PASSED,           /* "passed"                            */
    STORE_STATUS_FAILED,           /* "failed"                            */
    STORE_STATUS_ERROR,            /* "error": could not be judged        */
    STORE_STATUS_CANCELLED,        /* "cancelled"                         */
};

/* Returns the status's name ("queued", ...), "?" out of range. */
const char *store_status_name(enum store_status s);

/* A task's status and source, read within the view (status and source may
 * each be NULL), so that callers ask the store instead of searching the
 * document's text. A task is on the queue exactly when it is queued.
 * Errors: -ENOENT (no such task), STORE_ECORRUPT (a document with no known
 * status or source), -ENOMEM, -EIO. */
int store_view_task_state(struct store_view *v, uint64_t id,
                          enum store_status *status,
                          enum store_source *source);

/* Enqueues n tasks (n may be 0) and writes document 'marker' with
 * 'marker_json', in one durable transaction, unless 'marker' exists
 * already: then -EEXIST and nothing is written. So work that must be
 * queued once per store (the seed curriculum) is queued exactly once, a
 * crash leaving either both or neither. ids_out as store_task_enqueue.
 * Errors: -EEXIST, -EINVAL (bad name, marker or def_json not JSON),
 * -ENOMEM, -EIO. */
STORE_MUST_USE
int store_task_enqueue_marked(struct store *st,
                              const struct store_task_new *tasks, size_t n,
                              uint64_t *ids_out, const char *marker,
                              const char *marker_json);

/* ---- Documents, logs ---------------------------------------------------- */

/* Replaces document 'name' with 'json' durably. -EINVAL if json is not JSON. */
STORE_MUST_USE
int store_doc_put(struct store *st, const char *name, const char *json);

/* Replaces n documents in one durable transaction: all of them or, on
 * error, none. -EINVAL if a name is bad or a json is not JSON. */
STORE_MUST_USE
int store_docs_put(struct store *st, const struct store_named *docs, size_t n);

/* Read-modify-write of one document inside one write transaction, so that
 * no other writer comes between the read and the write. fn gets the current
 * text (NUL-terminated, len bytes; NULL and 0 when there is no such
 * document) and returns 0 with *out set to the new JSON text (malloc'd,
 * taken by the store) or to NULL to leave the document as it is, or a
 * negative code, which aborts the transaction and is returned. A read
 * failure is returned as itself, never shown to fn as a missing document.
 * fn runs inside the write transaction: it must be quick, call nothing of
 * the store, and may be called again (when the map grows the transaction is
 * retried), so it must not change anything but *out. */
typedef int (*store_doc_update_fn)(void *ctx, const char *old, size_t len,
                                   char **out);
STORE_MUST_USE
int store_doc_update(struct store *st, const char *name,
                     store_doc_update_fn fn, void *ctx);

/* store_doc_update for n documents at once, in one write transaction: fn
 * gets each current text in old[i] (NUL-terminated, len[i] bytes; NULL and
 * 0 when there is no such document) and sets out[i] to the new JSON text
 * (malloc'd, taken by the store) or leaves it NULL to keep that document
 * as it is; it returns 0, or a negative code that aborts the whole
 * transaction and is returned. Either every document changes or none. A
 * read failure is returned as itself, never shown to fn as a missing
 * document. fn runs inside the write transaction with the rules of
 * store_doc_update_fn (quick, nothing of the store, may run again: it must
 * change nothing but out[]). Errors: fn's, -EINVAL (a bad name, an out[i]
 * that is not JSON), -ENOMEM, -EIO. */
typedef int (*store_docs_update_fn)(void *ctx, const char *const *old,
                                    const size_t *len, char **out, size_t n);
STORE_MUST_USE
int store_docs_update(struct store *st, const char *const *names, size_t n,
                      store_docs_update_fn fn, void *ctx);

/* Removes document 'name' durably. -ENOENT if there is none. */
STORE_MUST_USE
int store_doc_del(struct store *st, const char *name);

/* Copies document 'name' into *json (malloc'd, NUL-terminated) and its length
 * into *len (may be NULL). -ENOENT if there is none. */
int store_doc_get(struct store *st, const char *name, char **json, size_t *len);

enum store_log {
    STORE_LOG_SYSTEM = 0,   /* logs/system.log */
    STORE_LOG_SHELL = 1,    /* logs/shell.log  */
};

/* Logs and analyses are bounded: each append beyond the retention limit
 * (store_options) deletes the oldest records, keys staying as they were.
 *
 * Appends one line (no newline; one is implied) to a log, durably, prefixed
 * with an RFC 3339 UTC timestamp and a space. Newlines inside 'line' are
 * replaced by spaces so that the log stays one event a line. */
int store_log_append(struct store *st, enum store_log log, const char *line);

/* Appends n log entries (each to its own log, in order) in one durable
 * transaction: one fsync for a batch of lines. -EINVAL for a NULL line or
 * an unknown log. */
int store_log_append_many(struct store *st, const struct store_log_entry *e,
                          size_t n);

/* Appends an analysis document (advanced/builder_analysis_N.json) and returns
 * its number N (1, 2, ...) in *n. */
STORE_MUST_USE
int store_analysis_append(struct store *st, const char *json, uint64_t *n);

/* ---- Read views: consistent snapshots ----------------------------------- */

/* Begins a read-only snapshot. Everything read through a view reflects the
 * store at the moment it began, whatever writers do meanwhile. A view is
 * cheap; end it promptly (an open view delays map growth).
 * Errors: -ENOMEM, -EIO. */
int store_view_begin(struct store *st, struct store_view **out);

/* Ends a view. Accepts NULL. */
void store_view_end(struct store_view *v);

/* The version of the store a view sees: the id of the last commit it
 * includes. Two views with the same version see the same data, so what was
 * computed from one (the size of a rendering) holds for the other. */
uint64_t store_view_version(const struct store_view *v);

/* Collections keyed by a 64-bit number, iterated in key order. */
enum store_coll {
    STORE_COLL_TASKS = 0,       /* key: task id           value: task JSON  */
    STORE_COLL_REFLECTIONS,     /* key: task id           value: JSON       */
    STORE_COLL_SUMMARIES,       /* key: task id           value: JSON       */
    STORE_COLL_SCORES,          /* key: sequence          value: JSON       */
    STORE_COLL_ANALYSES,        /* key: N (from 1)        value: JSON       */
    STORE_COLL_SYSLOG,          /* key: sequence          value: text line  */
    STORE_COLL_SHELLLOG,        /* key: sequence          value: text line  */
    STORE_COLL_CODE,            /* key: id << 8 | attempt value: packed code */
    STORE_COLL_COUNT
};

/* Called for each record; return 0 to go on, anything else to stop (that
 * value is then returned by the iterating function). 'val' is valid only
 * during the call. */
typedef int (*store_each_fn)(void *ctx, uint64_t key, const char *val,
                             size_t len);

/* Fetches one record; calls fn once if found. Returns -ENOENT if not found,
 * otherwise what fn returned (0 normally). */
int store_view_get(struct store_view *v, enum store_coll c, uint64_t key,
                   store_each_fn fn, void *ctx);

/* Iterates records with first <= key <= last, in key order. Returns 0 when
 * done, or the first non-zero value fn returned. */
int store_view_range(struct store_view *v, enum store_coll c, uint64_t first,
                     uint64_t last, store_each_fn fn, void *ctx);

/* Iterates the last n records of a collection, oldest of them first. */
int store_view_tail(struct store_view *v, enum store_coll c, size_t n,
                    store_each_fn fn, void *ctx);

/* Number of records in a collection (O(1)). */
size_t store_view_count(struct store_view *v, enum store_coll c);

/* Queue in run order: fn(ctx, id, task_json, len) for each queued task. */
int store_view_queue(struct store_view *v, store_each_fn fn, void *ctx);

/* Set names (the "set" field of tasks), in byte order, each once:
 * fn(ctx, index, name, len) with name NOT NUL-terminated. Costs one seek
 * per set, not per task. */
int store_view_sets(struct store_view *v, store_each_fn fn, void *ctx);

/* The tasks of one set in id order: fn(ctx, id, task_json, len). Returns
 * -ENOENT when the set has no task, else 0 or what fn returned. */
int store_view_set_tasks(struct store_view *v, const char *set,
                         store_each_fn fn, void *ctx);

/* The first task of the queue in run order: its id (may be NULL) and
 * source (may be NULL). -ENOENT when the queue is empty, STORE_ECORRUPT,
 * -EIO. */
int store_view_queue_first(struct store_view *v, uint64_t *id,
                           enum store_source *source);

/* Number of queued tasks (O(1)). */
size_t store_view_queue_depth(struct store_view *v);

/* Skill records in name order: fn gets the name through 'key' being the
 * index (0, 1, ...) and the record as "name\0json" in val/len -- use
 * store_named_split() to take it apart. */
int store_view_skills(struct store_view *v, store_each_fn fn, void *ctx);

/* Splits a "name\0json" value from store_view_skills. */
void store_named_split(const char *val, size_t len, const char **name,
                       const char **json, size_t *json_len);

/* The documents whose names start with 'prefix', in name order: fn gets
 * the name as val (not NUL-terminated, len bytes; key is 0) and returns 0
 * to go on or non-zero to stop (returned). 0 when it went through, or
 * -EINVAL, -EIO. */
int store_view_doc_names(struct store_view *v, const char *prefix,
                         store_each_fn fn, void *ctx);

/* Fetches document 'name' within the view; fn called once. -ENOENT if none. */
int store_view_doc(struct store_view *v, const char *name, store_each_fn fn,
                   void *ctx);

/* Totals of the text index. */
struct store_text_stats {
    uint64_t docs;                 /* documents indexed                   */
    uint64_t length;               /* sum of their lengths                */
};

/* Reads the totals (zeros for an empty index). Returns 0 or -EIO. */
int store_view_text_stats(struct store_view *v, struct store_text_stats *out);

/* One document holding a term. */
struct store_posting {
    uint64_t doc;                  /* the task id                         */
    uint32_t tf;                   /* the term's frequency in it          */
    uint32_t length;               /* the document's length               */
};

/* The documents holding 'term', newest (highest id) first: up to max of
 * them into out[0..*n), and in *df how many there are in all (O(1): the
 * cost is bounded by max, not by df). An unknown term gives *n = *df = 0.
 * Returns 0, -EINVAL (no term, out NULL with max > 0), STORE_ECORRUPT or
 * -EIO. */
int store_view_text_postings(struct store_view *v, const char *term,
                             struct store_posting *out, size_t max,
                             size_t *n, uint64_t *df);

/* Code archive values: 'ext' NUL 'text'. */
#define STORE_CODE_KEY(id, attempt) (((uint64_t)(id) << 8) | (attempt))
void store_code_split(const char *val, size_t len, const char **ext,
                      const char **text, size_t *text_len);

/* ---- Control -------------------------------------------------------------- */

/* The durable pause switch. store_paused() is a cheap in-memory read. */
STORE_MUST_USE
int store_set_paused(struct store *st, int paused);
int store_paused(struct store *st);

/* ---- Health ---------------------------------------------------------------- */

/* Whether the store can write: 0 when the last write transaction committed
 * (or none has been tried yet), else the negative errno the last one failed
 * with for a reason of the disk: -ENOSPC (full), -EDQUOT (over quota),
 * -EROFS or -EIO. A full disk stays -ENOSPC until a commit succeeds with
 * some space free again (small commits can pass on a full disk, reusing the
 * map's free pages). Reads work either way. *since (may be NULL) gets the time
 * the failures began, 0 when writes work. Failures of a write's own content
 * (-EINVAL, -ENOENT, ...) do not count. A cheap in-memory read; can't
 * fail. */
int store_write_health(struct store *st, time_t *since);

/* Formats t as RFC 3339 UTC ("2026-11-25T19:18:18Z") into buf (>= 32 bytes). */
char *store_time_format(time_t t, char *buf);

#endif /* BT_STORE_H */
