/* env.c -- opening and closing the store: the data directory's checks and
 * lock file, the LMDB environment and its named databases, the schema
 * record, the initial documents of a new store, and the recovery of the
 * tasks a crash left running.
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
 * Other documents are created by the agents that own them (trainer_state,
 * seed, resume_task_NNNNNN): docs/store.md lists every one.
 */
#include "store_internal.h"

#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define STORE_DEFAULT_MAP   ((size_t)1 << 30)
#define STORE_MAX_DBS       16
#define STORE_MAX_READERS   512
#define STORE_LOCK_FILE     "btfs.lock"

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

struct init_arg {
    uint32_t schema_found;         /* out: the version in a newer store     */
};

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
    struct buf ids = { 0 };        /* the ids found, uint64_t each       */
    size_t n;
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
        uint64_t id = be64_get(k.mv_data);

        if (buf_add(&ids, &id, sizeof id) < 0) {
            rc = -ENOMEM;
            break;
        }
    }
    mdb_cursor_close(cur);
    if (rc != -ENOENT)
        goto out;
    rc = 0;
    n = ids.len / sizeof(uint64_t);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char name[STORE_ID_MAX];
        char line[STORE_ID_MAX + 64];
        uint64_t id;

        memcpy(&id, ids.p + i * sizeof id, sizeof id);
        rc = task_requeue_txn(st, txn, id);
        if (rc == -ENOENT || rc == -EINVAL) {
            /* The set names a task that is gone or not running: drop the
             * stale entry rather than refuse to start. */
            rc = del_u64key(txn, st->dbi[DB_RUNNING], id);
            continue;
        }
        if (rc < 0)
            break;
        snprintf(line, sizeof line, "recovered %s left running by a crash",
                 store_id_format(id, name));
        rc = log_put(st, txn, DB_SYSLOG, line, 0);
    }
out:
    buf_free(&ids);
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
