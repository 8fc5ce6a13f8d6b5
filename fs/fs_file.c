/* fs_file.c -- open files: OPEN, CREATE, READ, WRITE, FLUSH, RELEASE.
 *
 * An open renders the file whole, in one store view, and reads are served
 * from that snapshot (past 1 MiB from an unlinked file: fs_buf spilling).
 * The logs are the exception: a read past the end fetches the lines added
 * since. tasks/new and control take writes.
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

/* An open file's snapshot larger than this goes to an unlinked file in the
 * data directory (fs_buf spilling), so that reading a collection of a
 * million tasks costs btfs at most this much memory per open file. */
#define FS_SPILL_AT ((size_t)1 << 20)

/* ---- Open files ---------------------------------------------------------- */

struct fs_handle {
    atomic_uint refs;           /* the open file, and each READ replying
                                   from buf; the last one frees         */
    struct fs_handle *prev, *next;  /* in fs_open_files (its lock)      */
    enum fs_kind kind;
    pthread_mutex_t lock;       /* guards buf, log_next, mtime (logs grow) */
    struct fs_buf buf;          /* the snapshot taken at open              */
    uint64_t log_next;          /* logs: key of the next line to fetch     */
    time_t mtime;               /* of the snapshot (0: mount time)         */
    struct fs_writer *writer;   /* tasks/new only                          */
    int immutable;              /* a finished task's file: as a new open  */
    fuse_ino_t ino;             /* what was opened, and by which thread   */
    pid_t opener;               /* until it closed it (0: not looked up);
                                   see fs_handle_snapshot_of_caller      */
};

/* Every handle not freed yet. The kernel sends RELEASE asynchronously, so
 * files closed just before an unmount may never be released: fs_destroy
 * frees what is left. One mount per process, like fs_mount_time. */
static struct {
    pthread_mutex_t lock;       /* guards head and every prev/next     */
    struct fs_handle *head;
} fs_open_files = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void fs_open_files_add(struct fs_handle *h)
{
    pthread_mutex_lock(&fs_open_files.lock);
    h->prev = NULL;
    h->next = fs_open_files.head;
    if (h->next)
        h->next->prev = h;
    fs_open_files.head = h;
    pthread_mutex_unlock(&fs_open_files.lock);
}

static void fs_open_files_remove(struct fs_handle *h)
{
    pthread_mutex_lock(&fs_open_files.lock);
    if (h->prev)
        h->prev->next = h->next;
    else if (fs_open_files.head == h)
        fs_open_files.head = h->next;
    if (h->next)
        h->next->prev = h->prev;
    pthread_mutex_unlock(&fs_open_files.lock);
}

static struct fs_handle *fs_handle_of(const struct fuse_file_info *fi)
{
    return fi ? (struct fs_handle *)(uintptr_t)fi->fh : NULL;
}

/* Drops one reference; the last frees. Accepts NULL. */
static void fs_handle_free(struct fs_handle *h)
{
    if (!h || atomic_fetch_sub(&h->refs, 1) != 1)
        return;
    fs_open_files_remove(h);
    pthread_mutex_destroy(&h->lock);
    fs_buf_free(&h->buf);
    fs_writer_free(h->writer);
    free(h);
}

/* Renders file node n in a view of its own. */
static int fs_render_now(struct fs_context *ctx, const struct fs_node *n,
                         struct fs_buf *out, struct fs_meta *meta)
{
    struct store_view *v;
    int rc = store_view_begin(ctx->store, &v);
    if (rc)
        return fs_errno(rc);
    rc = fs_render(ctx, v, n, out, meta);
    store_view_end(v);
    return fs_errno(rc);
}

/* ---- Files --------------------------------------------------------------- */

/* Another user may read (where the mount lets them in) but write only where
 * the mode says so: the owner, root, or with --group a member of the group
 * (as its primary group or a supplementary one). */
static int fs_may_write(fuse_req_t req)
{
    const struct fuse_ctx *c = fuse_req_ctx(req);
    const struct fs_context *ctx = fuse_req_userdata(req);
    gid_t groups[64];
    int n;

    if (c->uid == 0 || c->uid == getuid())
        return 1;
    if (!ctx->group_set)
        return 0;
    if (c->gid == ctx->group)
        return 1;
    n = fuse_req_getgroups(req, 64, groups);
    for (int i = 0; i < n && i < 64; i++)
        if (groups[i] == ctx->group)
            return 1;
    return 0;
}

/* Logs grow under an open file: a read past its copy fetches the lines
 * added since. Every other file but tasks/new is a snapshot taken at open. */
static int fs_kind_grows(enum fs_kind kind)
{
    return kind == FS_SYSLOG || kind == FS_SHELLLOG || kind == FS_EVENTS;
}

/* Whether what h reads can differ from what a new open would. Not for
 * logs, since what their reads return is their current size. */
static int fs_handle_frozen(const struct fs_handle *h)
{
    return !h->immutable && h->kind != FS_NEW && !fs_kind_grows(h->kind);
}

static int fs_open_node(fuse_req_t req, const struct fs_node *n,
                        fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct fs_meta meta;
    int rc;

    if (fs_node_is_dir(n))
        return -EISDIR;
    if ((fi->flags & O_ACCMODE) != O_RDONLY &&
        (!fs_writable(n->kind) || !fs_may_write(req)))
        return -EACCES;

    struct fs_handle *h = calloc(1, sizeof *h);
    if (!h)
        return -ENOMEM;
    rc = -pthread_mutex_init(&h->lock, NULL);
    if (rc) {
        free(h);
        return rc;
    }
    atomic_init(&h->refs, 1);
    h->kind = n->kind;
    h->ino = ino;
    if (n->kind == FS_NEW) {
        rc = fs_writer_new(&h->writer);
        fi->direct_io = 1;
    } else {
        struct fs_context *ctx = fuse_req_userdata(req);
        h->buf.spill_at = FS_SPILL_AT;
        h->buf.spill_dir = ctx->data_dir;
        rc = fs_render_now(ctx, n, &h->buf, &meta);
        if (rc == 0)
            rc = fs_buf_finish(&h->buf);
        h->log_next = meta.log_next;
        h->mtime = meta.mtime;
        h->immutable = meta.immutable;
        if (rc == 0 && meta.immutable)
            fi->keep_cache = 1;
        else
            fi->direct_io = 1;
        /* A collection's or a document's open is found again by its
         * opener's fstat, until the FLUSH of its close (synchronous, unlike
         * RELEASE), so that a stat right after the close is not taken for
         * an fstat. Not a queued task's file: a round trip per `cp` of it
         * costs more than an fstat that gives the newer size. Nothing
         * else does anything at close. */
        if (fs_handle_frozen(h) && n->kind != FS_TASK)
            h->opener = fuse_req_ctx(req)->pid;
        fi->noflush = h->opener == 0;
    }
    if (rc) {
        fs_handle_free(h);
        return rc;
    }
    fs_open_files_add(h);
    fi->fh = (uintptr_t)h;
    return 0;
}

void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct fs_node n;
    if (fs_node_of(req, ino, &n))
        return;
    int rc = fs_open_node(req, &n, ino, fi);
    if (rc)
        fuse_reply_err(req, -rc);
    else if (fuse_reply_open(req, fi) == -ENOENT)
        fs_handle_free(fs_handle_of(fi));   /* the opener was interrupted */
}

/* New files cannot be made; the kernel only sends create for a name it does
 * not know, but should it race with a lookup, the two writable files simply
 * open. */
void fs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
               mode_t mode, struct fuse_file_info *fi)
{
    struct fs_node dir, n;
    struct fuse_entry_param e;
    struct stat st;
    uint64_t ino;
    int rc;

    (void)mode;
    if (fs_node_of(req, parent, &dir))
        return;
    if (fs_node_child(&dir, name, &n) != 0 || !fs_writable(n.kind)) {
        fuse_reply_err(req, EROFS);
        return;
    }
    ino = fs_node_ino(&n);
    rc = fs_stat(fs_ctx(req), &n, ino, &st);
    if (rc == 0)
        rc = fs_open_node(req, &n, ino, fi);
    if (rc) {
        fuse_reply_err(req, -rc);
        return;
    }
    fs_fill_entry(&e, &n, ino, &st);
    if (fuse_reply_create(req, &e, fi) == -ENOENT)
        fs_handle_free(fs_handle_of(fi));
}

/* Logs: lines added since the copy was taken, appended to it. */
static int fs_log_refresh(struct fs_context *ctx, struct fs_handle *h)
{
    struct store_view *v;
    size_t old = h->buf.len;
    int rc = store_view_begin(ctx->store, &v);
    if (rc)
        return fs_errno(rc);
    rc = fs_render_log_from(v, h->kind, h->log_next, &h->buf, &h->log_next,
                            &h->mtime);
    store_view_end(v);
    if (rc)     /* drop a half-fetched tail; retried next read */
        (void)fs_buf_truncate(&h->buf, old);
    return fs_errno(rc);
}

/* The kernel sends RELEASE as soon as it has the answer to the last READ,
 * which can be before fuse_reply_buf() has returned here: a READ holds a
 * reference on h while it replies from h's memory, and never replies while
 * holding h's lock. */
void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
             struct fuse_file_info *fi)
{
    struct fs_handle *h = fs_handle_of(fi);
    char *copy = NULL;
    size_t n = 0;
    int rc = 0;

    (void)ino;
    if (!fs_kind_grows(h->kind) && h->kind != FS_NEW) {
        /* A snapshot never changes after open: no lock, no copy from
         * memory; a spilled one is sent from its file. */
        if (off >= 0 && (size_t)off < h->buf.len)
            n = h->buf.len - (size_t)off < size ? h->buf.len - (size_t)off
                                                : size;
        atomic_fetch_add(&h->refs, 1);
        if (n && h->buf.has_file) {
            struct fuse_bufvec bv = FUSE_BUFVEC_INIT(n);
            bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
            bv.buf[0].fd = h->buf.spill_fd;
            bv.buf[0].pos = off;
            fuse_reply_data(req, &bv, 0);
        } else {
            fuse_reply_buf(req, n ? h->buf.p + off : NULL, n);
        }
        fs_handle_free(h);
        return;
    }
    copy = malloc(size ? size : 1);
    if (!copy) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    if (h->kind == FS_NEW) {    /* a stream: the offset means nothing */
        n = fs_writer_read(h->writer, copy, size);
    } else {
        /* A log grows (and moves) while followed: copy under the lock. */
        pthread_mutex_lock(&h->lock);
        if (off >= 0 && (size_t)off >= h->buf.len)
            rc = fs_log_refresh(fuse_req_userdata(req), h);
        if (rc == 0 && off >= 0) {
            ssize_t got = fs_buf_read(&h->buf, (size_t)off, copy, size);
            if (got < 0)
                rc = (int)got;
            else
                n = (size_t)got;
        }
        pthread_mutex_unlock(&h->lock);
    }
    if (rc)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_buf(req, copy, n);
    free(copy);
}

/* control: one command a line ("pause", "resume", "cancel ID..."), see
 * fs_control_parse. The whole write is checked first: a bad line or an
 * unknown task applies nothing and fails with EINVAL / ENOENT. */
static int fs_control_write(struct fs_context *ctx, const char *buf,
                            size_t size)
{
    struct fs_control cmd;
    int rc = fs_control_parse(buf, size, &cmd);

    if (rc == 0)
        rc = fs_control_apply(ctx, &cmd);
    fs_control_free(&cmd);
    return rc ? fs_errno(rc) : (int)size;
}

void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
              size_t size, off_t off, struct fuse_file_info *fi)
{
    struct fs_handle *h = fs_handle_of(fi);
    struct fs_context *ctx = fs_ctx(req);
    int rc = -EACCES;       /* open refused write access already */

    (void)ino; (void)off;   /* both writable files are streams */
    if (h->kind == FS_NEW)
        rc = fs_writer_write(ctx->store, h->writer, buf, size);
    else if (h->kind == FS_CONTROL)
        rc = fs_control_write(ctx, buf, size);
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_write(req, (size_t)rc);
}

void fs_flush(fuse_req_t req, fuse_ino_t ino,
              struct fuse_file_info *fi)
{
    struct fs_handle *h = fs_handle_of(fi);
    int rc = 0;

    (void)ino;
    if (h->kind == FS_NEW)
        rc = fs_writer_flush(fs_ctx(req)->store, h->writer);
    if (h->opener) {
        pthread_mutex_lock(&fs_open_files.lock);
        h->opener = 0;
        pthread_mutex_unlock(&fs_open_files.lock);
    }
    fuse_reply_err(req, -rc);
}

void fs_release(fuse_req_t req, fuse_ino_t ino,
                struct fuse_file_info *fi)
{
    (void)ino;
    fs_handle_free(fs_handle_of(fi));
    fuse_reply_err(req, 0);
}

int fs_handle_snapshot(const struct fuse_file_info *fi, size_t *size,
                       time_t *mtime)
{
    struct fs_handle *h = fs_handle_of(fi);

    if (!h || h->kind == FS_NEW || h->immutable)
        return 0;
    pthread_mutex_lock(&h->lock);
    *size = h->buf.len;
    *mtime = h->mtime;
    pthread_mutex_unlock(&h->lock);
    return 1;
}

int fs_handle_snapshot_of_caller(fuse_req_t req, fuse_ino_t ino,
                                 size_t *size, time_t *mtime)
{
    pid_t pid = fuse_req_ctx(req)->pid;
    int found = 0;

    if (pid <= 0)
        return 0;
    /* Newest first: the list is in open order, newest at the head. A
     * handle in the list is not freed before it is unlinked under this
     * lock, and a snapshot's size and mtime never change after open. */
    pthread_mutex_lock(&fs_open_files.lock);
    for (struct fs_handle *h = fs_open_files.head; h && !found; h = h->next)
        if (h->ino == ino && h->opener == pid) {
            *size = h->buf.len;
            *mtime = h->mtime;
            found = 1;
        }
    pthread_mutex_unlock(&fs_open_files.lock);
    return found;
}

void fs_files_release_all(void)
{
    while (fs_open_files.head) {
        struct fs_handle *h = fs_open_files.head;
        atomic_store(&h->refs, 1);
        fs_handle_free(h);      /* unlinks it */
    }
}
