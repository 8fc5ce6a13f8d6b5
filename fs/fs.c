/* fs.c -- the FUSE operations: inodes of the mount as views of the store.
 *
 * This file holds the design, the session (init, destroy), the commit hook
 * that invalidates what the kernel caches, the refused changes and the
 * operations table; fs_attr.c, fs_dir.c and fs_file.c the requests.
 *
 * Every file is rendered whole at open, inside one store view, and reads
 * are served from that copy (in memory, or past 1 MiB in an unlinked file:
 * fs_file.c): a reader always sees one consistent
 * snapshot, whatever the agents commit meanwhile (DESIGN.md, "Rules every
 * file follows"). A size is the same rendering run in counting mode
 * (render.c), so it is exact and holds no memory; with an open handle
 * (fstat) it is the handle's own snapshot.
 *
 * The low-level API lets each reply carry its own cache lifetime, which is
 * what makes a read cheap (a `cat` of a finished task costs OPEN, READ and
 * RELEASE once its name is known, docs/benchmarks.md):
 *   entries      FS_TTL for every name: names never go away. A name not
 *                found is not cached (a task written a moment ago is found).
 *   attributes   FS_TTL, except status.json (0: it changes with the clock).
 *                Files that a commit can change are invalidated by the
 *                store's commit hook (fs_on_commit) before the writing call
 *                returns, so a stat after a change sees the new size.
 *   pages        keep_cache for files that never change again (finished
 *                tasks, reflections, summaries, code, analyses, README,
 *                config.json); direct_io for every other file, so each open
 *                reads its own snapshot whatever size the kernel knew.
 *   FLUSH        skipped (noflush) except on tasks/new, whose close commits
 *                a pending partial line.
 *   listings     cache_readdir for directories whose content is fixed; the
 *                others are listed in offset mode straight from the store,
 *                a page per request, with attributes when the kernel asks
 *                for READDIRPLUS (`ls -l`).
 *   permissions  no default_permissions (each check cost round trips): open
 *                and setattr enforce the modes shown, for other users too.
 *
 * The append-only logs (and events.jsonl, system.log as JSON) are the one
 * exception to "changes show on the next open": a read past the end of the
 * open copy fetches the lines added since, so `tail -f logs/system.log`
 * follows the log. Earlier bytes never
 * change, so the reader still sees one consistent sequence of lines.
 *
 * Threads: the session loop is multi-threaded. Per-open state is guarded by
 * its own mutex; the only other shared state is the mount time (atomic) and
 * the context, which is read-only while the session runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "fs_internal.h"
#include "fs_ops.h"
#include "store.h"

/* Files whose content a store commit can change (their cached attributes
 * are invalidated at each commit): all but the directories, the files
 * fixed for the mount's life, status.json (never cached) and tasks/new
 * (always empty). control shows the paused switch, which is a commit. */
static int fs_changes_on_commit(enum fs_kind kind)
{
    return kind > FS_DIR_ADVANCED && kind != FS_README &&
           kind != FS_CONFIG && kind != FS_STATUS && kind != FS_NEW;
}


/* ---- Refused changes ----------------------------------------------------- */

static void fs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
                     mode_t mode, dev_t rdev)
{
    (void)parent; (void)name; (void)mode; (void)rdev;
    fuse_reply_err(req, EROFS);
}

static void fs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
                     mode_t mode)
{
    (void)parent; (void)name; (void)mode;
    fuse_reply_err(req, EROFS);
}

static void fs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    (void)parent; (void)name;
    fuse_reply_err(req, EROFS);
}

static void fs_symlink(fuse_req_t req, const char *target, fuse_ino_t parent,
                       const char *name)
{
    (void)target; (void)parent; (void)name;
    fuse_reply_err(req, EROFS);
}

static void fs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
                      fuse_ino_t newparent, const char *newname,
                      unsigned int flags)
{
    (void)parent; (void)name; (void)newparent; (void)newname; (void)flags;
    fuse_reply_err(req, EROFS);
}

static void fs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
                    const char *newname)
{
    (void)ino; (void)newparent; (void)newname;
    fuse_reply_err(req, EROFS);
}


/* ---- Cache invalidation ----------------------------------------------------
 * Called by the store after each commit, on the thread that wrote (an
 * agent, or a FUSE worker handling a write to tasks/new or control). Only
 * attributes are invalidated (offset -1): the files that change are
 * direct_io and have no pages cached, and an attribute invalidation takes
 * no lock a FUSE request could be holding. The kernel answers ENOENT for an
 * inode it does not hold and ENODEV/EBADF once unmounted; both are fine. */
static void fs_on_commit(void *c, uint64_t task)
{
    struct fs_context *ctx = c;
    struct fuse_session *se = ctx->session;

    if (!se)
        return;
    for (size_t i = 0; i < fs_nentries; i++)
        if (fs_changes_on_commit(fs_entries[i].kind))
            (void)fuse_lowlevel_notify_inval_inode(se, i + 1, -1, 0);
    /* Several tasks at once happens only at store open, before the mount. */
    if (task && task != UINT64_MAX) {
        struct fs_node n = { .kind = FS_TASK, .entry = -1, .id = task };
        uint64_t ino = fs_node_ino(&n);
        if (ino)
            (void)fuse_lowlevel_notify_inval_inode(se, ino, -1, 0);
        n.kind = FS_DIR_CODE_TASK;
        if ((ino = fs_node_ino(&n)))
            (void)fuse_lowlevel_notify_inval_inode(se, ino, -1, 0);
    }
}


/* ---- Session ------------------------------------------------------------- */

static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
    struct fs_context *ctx = userdata;

    if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
        conn->want |= FUSE_CAP_PARALLEL_DIROPS;
    /* O_TRUNC arrives with open and is ignored, instead of a separate
     * setattr request first. */
    if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
        conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
    /* ls -l gets names and attributes in one request per page. */
    if (conn->capable & FUSE_CAP_READDIRPLUS)
        conn->want |= FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO;
    /* A spilled snapshot goes from its file to the kernel by splice(2),
     * not through a copy in btfs. Pages are copied, never moved: the
     * spill file's pages must stay with it for the next READ. */
    if (conn->capable & FUSE_CAP_SPLICE_WRITE)
        conn->want |= FUSE_CAP_SPLICE_WRITE;
    conn->want &= ~FUSE_CAP_SPLICE_MOVE;
    /* Writes go straight to fs_write: tasks/new must see each write(2) as
     * it was made, and report its errors to it. */
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
    /* A write up to FS_MAX_WRITE is committed as a whole (fs.h); libfuse
     * caps it at the size of its receive buffer. */
    if (conn->max_write < FS_MAX_WRITE)
        conn->max_write = FS_MAX_WRITE;

    fs_attr_reset();
    if (ctx && ctx->store)
        store_set_commit_hook(ctx->store, fs_on_commit, ctx);
}

/* Runs after the session loop has ended: no request is in flight. */
static void fs_destroy(void *userdata)
{
    struct fs_context *ctx = userdata;
    if (ctx && ctx->store)
        store_set_commit_hook(ctx->store, NULL, NULL);
    fs_files_release_all();
}

static const struct fuse_lowlevel_ops fs_ops = {
    .init        = fs_init,
    .destroy     = fs_destroy,
    .lookup      = fs_lookup,
    .getattr     = fs_getattr,
    .setattr     = fs_setattr,
    .access      = fs_access,
    .opendir     = fs_opendir,
    .readdir     = fs_readdir,
    .readdirplus = fs_readdirplus,
    .open        = fs_open,
    .create      = fs_create,
    .read        = fs_read,
    .write       = fs_write,
    .flush       = fs_flush,
    .release     = fs_release,
    .mknod       = fs_mknod,
    .mkdir       = fs_mkdir,
    .unlink      = fs_unlink,
    .rmdir       = fs_unlink,
    .symlink     = fs_symlink,
    .rename      = fs_rename,
    .link        = fs_link,
};

const struct fuse_lowlevel_ops *fs_operations(void)
{
    return &fs_ops;
}

