/* txn.c -- transactions: beginning and ending them, running a write and
 * retrying it when the map must grow, telling a full disk from a damaged
 * one (store_write_health), and the commit hook.
 *
 * Map growth. mdb_env_set_mapsize() may only be called while the process has
 * no transaction open, so every transaction -- read views included -- holds
 * the read side of resize_lock for its whole life. A writer that gets
 * MDB_MAP_FULL (from a put or from commit) aborts, takes the write side,
 * doubles the map and runs its whole transaction body again. All writes go
 * through store_write() so that no write path can forget this.
 */
#include "store_internal.h"

#include <errno.h>
#include <stdio.h>
#include <sys/statvfs.h>

#define STORE_MAX_RETRIES   64      /* map doublings/resyncs per write     */

/* Both thread-locals are described in store_internal.h. */
_Thread_local unsigned store_tls_views;
_Thread_local uint64_t store_tls_touched;

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
int store_txn_begin(struct store *st, unsigned flags, MDB_txn **txn,
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

void store_txn_abort(struct store *st, MDB_txn *txn)
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
int store_write(struct store *st, store_body_fn body, void *arg)
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
