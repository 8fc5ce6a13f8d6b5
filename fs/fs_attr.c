/* fs_attr.c -- attributes: sizes, modes and times of the nodes, and the
 * requests that answer with them (LOOKUP, GETATTR, ACCESS, SETATTR).
 *
 * A size is the file rendered in counting mode (nothing kept), except for
 * the files that grow with the tasks, whose size is remembered per store
 * version. Attributes and names are cached by the kernel for FS_TTL; the
 * commit hook (fs.c) invalidates what a commit changed.
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

/* How long the kernel may keep a name or attributes it was told about:
 * long, since names never go away and changes are invalidated. */
#define FS_TTL 86400.0

/* When the filesystem was mounted: the mtime of files that have no better
 * one. Shared by every mount of this process (there is one in btfs). */
static _Atomic long long fs_mount_time;

double fs_attr_ttl(const struct fs_node *n)
{
    return n->kind == FS_STATUS ? 0.0 : FS_TTL;
}

/* ---- Attributes ---------------------------------------------------------- */

/* Files whose size is a pass over every task or log line: the queue, the
 * score log and the logs (550 MB of counting for a queue of a million
 * tasks). Their size is remembered per store version, and a listing gives
 * their names without attributes (fs_dir_add), so that `ls` of tasks/ does
 * not count the queue; `ls -l` or `stat` of the file does, once. */
int fs_size_costly(enum fs_kind kind)
{
    return kind == FS_QUEUE || kind == FS_SCORES || kind == FS_SYSLOG ||
           kind == FS_SHELLLOG || kind == FS_EVENTS;
}

#define FS_SIZE_SLOTS (FS_SVG_SKILLS + 1)

/* The last size counted for each costly kind, with the store version it
 * was counted at. One mount per process (like fs_mount_time); fs_init
 * empties it. */
static struct {
    pthread_mutex_t lock;
    struct {
        int valid;
        uint64_t version;
        size_t size;
        time_t mtime;
    } slot[FS_SIZE_SLOTS];
} fs_sizes = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int fs_size_cached(enum fs_kind kind, uint64_t version, size_t *size,
                          time_t *mtime)
{
    int hit;

    pthread_mutex_lock(&fs_sizes.lock);
    hit = fs_sizes.slot[kind].valid && fs_sizes.slot[kind].version == version;
    if (hit) {
        *size = fs_sizes.slot[kind].size;
        *mtime = fs_sizes.slot[kind].mtime;
    }
    pthread_mutex_unlock(&fs_sizes.lock);
    return hit;
}

static void fs_size_remember(enum fs_kind kind, uint64_t version, size_t size,
                             time_t mtime)
{
    pthread_mutex_lock(&fs_sizes.lock);
    fs_sizes.slot[kind].valid = 1;
    fs_sizes.slot[kind].version = version;
    fs_sizes.slot[kind].size = size;
    fs_sizes.slot[kind].mtime = mtime;
    pthread_mutex_unlock(&fs_sizes.lock);
}

void fs_attr_reset(void)
{
    atomic_store(&fs_mount_time, (long long)time(NULL));
    pthread_mutex_lock(&fs_sizes.lock);
    memset(fs_sizes.slot, 0, sizeof fs_sizes.slot);
    pthread_mutex_unlock(&fs_sizes.lock);
}

/* The size of file node n as of view v: counted (the same rendering, in
 * counting mode), or remembered for a costly kind. */
static int fs_size_in(struct fs_context *ctx, struct store_view *v,
                      const struct fs_node *n, size_t *size, time_t *mtime)
{
    int costly = fs_size_costly(n->kind);
    uint64_t version = costly ? store_view_version(v) : 0;
    struct fs_buf count = { .count_only = 1 };
    struct fs_meta meta;
    int rc;

    if (costly && fs_size_cached(n->kind, version, size, mtime))
        return 0;
    rc = fs_render(ctx, v, n, &count, &meta);
    if (rc)
        return rc;
    *size = count.len;
    *mtime = meta.mtime;
    if (costly)
        fs_size_remember(n->kind, version, count.len, meta.mtime);
    return 0;
}

static nlink_t fs_dir_nlink(enum fs_kind kind)
{
    switch (kind) {
    case FS_DIR_ROOT:
        return 2 + 6;       /* core tasks code_archive logs eval advanced */
    case FS_DIR_CODE:
        /* Counting task dirs would cost a walk of the archive; 1 tells
         * find(1) and friends that the count is unknown (as btrfs does). */
        return 1;
    default:
        return 2;
    }
}

static void fs_stat_base(const struct fs_context *ctx, const struct fs_node *n,
                         uint64_t ino, struct stat *st)
{
    memset(st, 0, sizeof *st);
    st->st_ino = (ino_t)ino;
    st->st_uid = getuid();
    st->st_gid = getgid();
    st->st_blksize = 4096;
    if (fs_node_is_dir(n)) {
        st->st_mode = S_IFDIR | 0555;
        st->st_nlink = fs_dir_nlink(n->kind);
    } else {
        st->st_mode = S_IFREG | (fs_writable(n->kind) ? 0644 : 0444);
        /* --group: its members may add tasks and control the agents
         * through an allow_other mount (fs_may_write checks it). */
        if (fs_writable(n->kind) && ctx->group_set) {
            st->st_gid = ctx->group;
            st->st_mode |= 0020;
        }
        st->st_nlink = 1;
    }
}

static void fs_stat_times(struct stat *st, time_t mtime)
{
    if (mtime == 0)
        mtime = (time_t)atomic_load(&fs_mount_time);
    st->st_mtime = st->st_ctime = st->st_atime = mtime;
}

/* Attributes of node n as of view v: 0, -ENOENT or another -errno. */
int fs_stat_in(struct fs_context *ctx, struct store_view *v,
               const struct fs_node *n, uint64_t ino, struct stat *st)
{
    time_t mtime = 0;
    int rc;

    fs_stat_base(ctx, n, ino, st);
    if (fs_node_is_dir(n)) {
        rc = fs_dir_exists(v, n, &mtime);
    } else if (n->kind == FS_NEW) {
        /* tasks/new reads back only what its own writes produced: as a
         * file it is empty. */
        rc = 0;
    } else {
        size_t size = 0;
        rc = fs_size_in(ctx, v, n, &size, &mtime);
        st->st_size = (off_t)size;
        st->st_blocks = (blkcnt_t)((size + 511) / 512);
    }
    if (rc)
        return fs_errno(rc);
    fs_stat_times(st, mtime);
    return 0;
}

int fs_stat(struct fs_context *ctx, const struct fs_node *n,
            uint64_t ino, struct stat *st)
{
    struct store_view *v;
    int rc = store_view_begin(ctx->store, &v);
    if (rc)
        return fs_errno(rc);
    rc = fs_stat_in(ctx, v, n, ino, st);
    store_view_end(v);
    return rc;
}

/* The node of an inode the kernel names; replies ENOENT itself if none. */
int fs_node_of(fuse_req_t req, fuse_ino_t ino, struct fs_node *n)
{
    if (fs_ino_node(ino, n) == 0)
        return 0;
    fuse_reply_err(req, ENOENT);
    return -ENOENT;
}

void fs_fill_entry(struct fuse_entry_param *e, const struct fs_node *n,
                   uint64_t ino, const struct stat *st)
{
    memset(e, 0, sizeof *e);
    e->ino = ino;
    e->attr = *st;
    e->attr_timeout = fs_attr_ttl(n);
    e->entry_timeout = FS_TTL;
}

void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct fs_node dir, n;
    struct fuse_entry_param e;
    struct stat st;
    uint64_t ino;
    int rc;

    if (fs_node_of(req, parent, &dir))
        return;
    rc = fs_node_child(&dir, name, &n);
    if (rc == 0 && !(ino = fs_node_ino(&n)))
        rc = -ENOENT;
    if (rc == 0)
        rc = fs_stat(fs_ctx(req), &n, ino, &st);
    if (rc) {
        /* An error, not a zero inode: the kernel must not cache the miss. */
        fuse_reply_err(req, -rc);
        return;
    }
    fs_fill_entry(&e, &n, ino, &st);
    fuse_reply_entry(req, &e);
}

void fs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct fs_node n;
    struct stat st;
    size_t size;
    time_t mtime;
    int rc = 0;

    if (fs_node_of(req, ino, &n))
        return;
    if (!fs_node_is_dir(&n) &&
        (fi ? fs_handle_snapshot(fi, &size, &mtime)
            : fs_handle_snapshot_of_caller(req, ino, &size, &mtime))) {
        /* What this open file reads, not what a new open would; not
         * cached, since the kernel would give it to every other caller. */
        fs_stat_base(fs_ctx(req), &n, ino, &st);
        st.st_size = (off_t)size;
        st.st_blocks = (blkcnt_t)((size + 511) / 512);
        fs_stat_times(&st, mtime);
        fuse_reply_attr(req, &st, 0.0);
        return;
    }
    rc = fs_stat(fs_ctx(req), &n, ino, &st);
    if (rc)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_attr(req, &st, fs_attr_ttl(&n));
}

/* Without default_permissions the kernel asks only for access(2) and chdir;
 * the answer follows the modes shown. */
void fs_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
    struct fs_node n;

    if (fs_node_of(req, ino, &n))
        return;
    if ((mask & W_OK) && !fs_writable(n.kind))
        fuse_reply_err(req, EACCES);
    else if ((mask & X_OK) && !fs_node_is_dir(&n))
        fuse_reply_err(req, EACCES);
    else
        fuse_reply_err(req, 0);
}

/* truncate: `> tasks/new`, `> control` and O_TRUNC do nothing harmful;
 * `touch tasks/new` works and changes nothing. Nothing else changes. */
void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
                int to_set, struct fuse_file_info *fi)
{
    struct fs_node n;
    struct stat st;
    int rc = 0;

    (void)attr;
    if (fs_node_of(req, ino, &n))
        return;
    if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))
        rc = -EROFS;
    else if ((to_set & FUSE_SET_ATTR_SIZE) && fs_node_is_dir(&n))
        rc = -EISDIR;
    else if ((to_set & FUSE_SET_ATTR_SIZE) && !fs_writable(n.kind))
        rc = -EACCES;
    else if (!fs_writable(n.kind))
        rc = -EROFS;
    if (rc == 0) {
        (void)fi;
        rc = fs_stat(fs_ctx(req), &n, ino, &st);
    }
    if (rc)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_attr(req, &st, fs_attr_ttl(&n));
}

