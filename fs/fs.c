/* fs.c -- the FUSE operations: paths of the mount as views of the store.
 *
 * Every file is rendered whole into memory at open, inside one store view,
 * and reads are served from that copy: a reader always sees one consistent
 * snapshot, whatever the agents commit meanwhile (DESIGN.md, "Rules every
 * file follows"). getattr renders the same way to report the exact size.
 *
 * Caching contract with the kernel (set in fs_init and fs_open):
 *   attr_timeout 0       sizes are always asked for again, hence exact;
 *   negative_timeout 0   a task written a moment ago is found at once;
 *   entry_timeout 1      names never go away, so a second is harmless;
 *   keep_cache           for files that never change again (a finished
 *                        task, reflections, summaries, code, analyses);
 *   direct_io            for every other file, so that a file that grew
 *                        between stat and open still reads whole.
 *
 * The append-only logs (and events.jsonl, system.log as JSON) are the one
 * exception to "changes show on the next open": a read past the end of the
 * open copy fetches the lines added since, so `tail -f logs/system.log`
 * follows the log. Earlier bytes never
 * change, so the reader still sees one consistent sequence of lines.
 *
 * Threads: the session loop is multi-threaded. Per-open state is guarded by
 * its own mutex; the only shared mutable state in this file is the size
 * cache (size_cache.lock) and the mount time (atomic).
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
#include "status.h"
#include "store.h"

/* When the filesystem was mounted: the mtime of files that have no better
 * one. Shared by every mount of this process (there is one in btfs). */
static _Atomic long long fs_mount_time;

/* ---- Size cache ------------------------------------------------------------
 * `ls -l tasks/` stats every task file; rendering each one is O(log n) but
 * still a parse and a print. Files that can never change again are looked
 * up here instead. Direct-mapped: a collision just evicts, it is a cache. */

#define SIZE_CACHE_SLOTS 4096

struct size_slot {
    const struct store *st;     /* NULL: slot empty                        */
    enum fs_kind kind;
    uint64_t id;
    off_t size;
    time_t mtime;
};

static struct {
    pthread_mutex_t lock;                       /* guards slot[]           */
    struct size_slot slot[SIZE_CACHE_SLOTS];
} size_cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Only kinds whose name alone identifies the content (code files are not:
 * their extension must be checked against the store). */
static int size_cacheable(enum fs_kind kind)
{
    return kind == FS_TASK || kind == FS_TASK_REFLECTION ||
           kind == FS_TASK_SUMMARY || kind == FS_ANALYSIS;
}

static size_t size_slot_of(enum fs_kind kind, uint64_t id)
{
    uint64_t h = (id * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)kind << 56);
    return (size_t)(h >> 40) % SIZE_CACHE_SLOTS;
}

static int size_cache_get(const struct store *st, const struct fs_node *n,
                          off_t *size, time_t *mtime)
{
    int hit = 0;
    if (!size_cacheable(n->kind))
        return 0;
    pthread_mutex_lock(&size_cache.lock);
    struct size_slot *s = &size_cache.slot[size_slot_of(n->kind, n->id)];
    if (s->st == st && s->kind == n->kind && s->id == n->id) {
        *size = s->size;
        *mtime = s->mtime;
        hit = 1;
    }
    pthread_mutex_unlock(&size_cache.lock);
    return hit;
}

static void size_cache_put(const struct store *st, const struct fs_node *n,
                           off_t size, time_t mtime)
{
    if (!size_cacheable(n->kind))
        return;
    pthread_mutex_lock(&size_cache.lock);
    struct size_slot *s = &size_cache.slot[size_slot_of(n->kind, n->id)];
    *s = (struct size_slot){ st, n->kind, n->id, size, mtime };
    pthread_mutex_unlock(&size_cache.lock);
}

/* At unmount: a later store may be allocated at the same address. */
static void size_cache_forget(const struct store *st)
{
    pthread_mutex_lock(&size_cache.lock);
    for (size_t i = 0; i < SIZE_CACHE_SLOTS; i++)
        if (size_cache.slot[i].st == st)
            size_cache.slot[i].st = NULL;
    pthread_mutex_unlock(&size_cache.lock);
}

/* ---- Open files ---------------------------------------------------------- */

struct fs_handle {
    enum fs_kind kind;
    pthread_mutex_t lock;       /* guards buf and log_next (logs grow)     */
    struct fs_buf buf;          /* the snapshot taken at open              */
    uint64_t log_next;          /* logs: key of the next line to fetch     */
    struct fs_writer *writer;   /* tasks/new only                          */
};

static struct fs_context *fs_ctx(void)
{
    return fuse_get_context()->private_data;
}

static struct fs_handle *fs_handle_of(const struct fuse_file_info *fi)
{
    return (struct fs_handle *)(uintptr_t)fi->fh;
}

static void fs_handle_free(struct fs_handle *h)
{
    if (!h)
        return;
    pthread_mutex_destroy(&h->lock);
    fs_buf_free(&h->buf);
    fs_writer_free(h->writer);
    free(h);
}

static int fs_writable(enum fs_kind kind)
{
    return kind == FS_NEW || kind == FS_CONTROL;
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

/* ---- Attributes ---------------------------------------------------------- */

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

static int fs_getattr(const char *path, struct stat *st,
                      struct fuse_file_info *fi)
{
    struct fs_context *ctx = fs_ctx();
    struct fs_node n;
    time_t mtime = 0;
    int rc;

    (void)fi;   /* the path is always given: nullpath_ok is off */
    rc = fs_node_parse(path, &n);
    if (rc)
        return rc;
    memset(st, 0, sizeof *st);
    st->st_uid = getuid();
    st->st_gid = getgid();
    st->st_blksize = 4096;

    if (fs_node_is_dir(&n)) {
        if (n.kind == FS_DIR_CODE_TASK) {
            struct store_view *v;
            rc = store_view_begin(ctx->store, &v);
            if (rc)
                return fs_errno(rc);
            rc = fs_dir_exists(v, &n, &mtime);
            store_view_end(v);
            if (rc)
                return fs_errno(rc);
        }
        st->st_mode = S_IFDIR | 0555;
        st->st_nlink = fs_dir_nlink(n.kind);
    } else {
        st->st_mode = S_IFREG | (fs_writable(n.kind) ? 0644 : 0444);
        /* --group: its members may add tasks and control the agents
         * through an allow_other mount (the kernel checks, with
         * default_permissions). */
        if (fs_writable(n.kind) && ctx->group_set) {
            st->st_gid = ctx->group;
            st->st_mode |= 0020;
        }
        st->st_nlink = 1;
        off_t size = 0;
        /* tasks/new reads back only what its own writes produced: as a
         * file it is empty. */
        if (n.kind != FS_NEW && !size_cache_get(ctx->store, &n, &size,
                                                &mtime)) {
            struct fs_buf b = {0};
            struct fs_meta meta;
            rc = fs_render_now(ctx, &n, &b, &meta);
            size = (off_t)b.len;
            fs_buf_free(&b);
            if (rc)
                return rc;
            mtime = meta.mtime;
            if (meta.immutable)
                size_cache_put(ctx->store, &n, size, mtime);
        }
        st->st_size = size;
        st->st_blocks = (size + 511) / 512;
    }
    if (!mtime)
        mtime = (time_t)atomic_load(&fs_mount_time);
    st->st_mtime = st->st_ctime = st->st_atime = mtime;
    return 0;
}

static int fs_access(const char *path, int mask)
{
    struct stat st;
    int rc = fs_getattr(path, &st, NULL);
    if (rc)
        return rc;
    if ((mask & W_OK) && !(st.st_mode & S_IWUSR))
        return -EACCES;
    if ((mask & X_OK) && !S_ISDIR(st.st_mode))
        return -EACCES;
    return 0;
}

/* ---- Directories --------------------------------------------------------- */

struct fs_lister {
    void *buf;
    fuse_fill_dir_t filler;
};

/* 0 to go on, 1 when the kernel's buffer is full (stop listing). */
static int fs_emit(struct fs_lister *l, const char *name)
{
    return l->filler(l->buf, name, NULL, 0, 0) ? 1 : 0;
}

static int fs_emit_id(struct fs_lister *l, const char *prefix, uint64_t id,
                      const char *suffix)
{
    char idbuf[STORE_ID_MAX], name[STORE_ID_MAX + 32];
    const char *digits = store_id_format(id, idbuf) + 5;   /* "task_" */
    snprintf(name, sizeof name, "%s%s%s", prefix, digits, suffix);
    return fs_emit(l, name);
}

struct u64vec {
    uint64_t *v;
    size_t n, cap;
};

static int u64vec_push_cb(void *c, uint64_t key, const char *val, size_t len)
{
    struct u64vec *a = c;
    (void)val; (void)len;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        uint64_t *p = realloc(a->v, cap * sizeof *p);
        if (!p)
            return -ENOMEM;
        a->v = p;
        a->cap = cap;
    }
    a->v[a->n++] = key;
    return 0;
}

struct task_walk {
    struct fs_lister *l;
    struct u64vec refl, summ;   /* ids that have one, ascending          */
    size_t ri, si;              /* merge cursors into refl and summ      */
};

static int task_walk_cb(void *c, uint64_t id, const char *val, size_t len)
{
    struct task_walk *w = c;
    (void)val; (void)len;
    if (fs_emit_id(w->l, "task_", id, ".json"))
        return 1;
    while (w->ri < w->refl.n && w->refl.v[w->ri] < id)
        w->ri++;
    if (w->ri < w->refl.n && w->refl.v[w->ri] == id &&
        fs_emit_id(w->l, "reflection_", id, ".json"))
        return 1;
    while (w->si < w->summ.n && w->summ.v[w->si] < id)
        w->si++;
    if (w->si < w->summ.n && w->summ.v[w->si] == id &&
        fs_emit_id(w->l, "summary_", id, ".json"))
        return 1;
    return 0;
}

/* tasks/: every task in id order, each followed by its reflection and
 * summary when they exist. One pass over each of the three collections,
 * merged by id (reflections and summaries are keyed by task id). */
static int fs_list_tasks(struct store_view *v, struct fs_lister *l)
{
    struct task_walk w = { .l = l };
    int rc = store_view_range(v, STORE_COLL_REFLECTIONS, 0, UINT64_MAX,
                              u64vec_push_cb, &w.refl);
    if (rc == 0)
        rc = store_view_range(v, STORE_COLL_SUMMARIES, 0, UINT64_MAX,
                              u64vec_push_cb, &w.summ);
    if (rc == 0)
        rc = store_view_range(v, STORE_COLL_TASKS, 0, UINT64_MAX,
                              task_walk_cb, &w);
    free(w.refl.v);
    free(w.summ.v);
    return rc < 0 ? rc : 0;
}

static int first_key_cb(void *c, uint64_t key, const char *val, size_t len)
{
    (void)val; (void)len;
    *(uint64_t *)c = key;
    return 1;
}

/* code_archive/: the tasks that have code. Seeks from task to task rather
 * than reading every attempt: one lookup per task listed. */
static int fs_list_code_dirs(struct store_view *v, struct fs_lister *l)
{
    uint64_t from = 0, key;
    for (;;) {
        int rc = store_view_range(v, STORE_COLL_CODE, from, UINT64_MAX,
                                  first_key_cb, &key);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return 0;                       /* no more code */
        uint64_t id = key >> 8;
        if (fs_emit_id(l, "task_", id, ""))
            return 0;
        if (id == UINT64_MAX >> 8)
            return 0;
        from = STORE_CODE_KEY(id + 1, 0);
    }
}

static int attempt_cb(void *c, uint64_t key, const char *val, size_t len)
{
    struct fs_lister *l = c;
    const char *ext, *text;
    size_t tl;
    char *name;

    store_code_split(val, len, &ext, &text, &tl);
    if (asprintf(&name, "attempt_%u.%s", (unsigned)(key & 0xff), ext) < 0)
        return -ENOMEM;
    int rc = fs_emit(l, name);
    free(name);
    return rc;
}

static int analysis_cb(void *c, uint64_t key, const char *val, size_t len)
{
    char name[64];
    (void)val; (void)len;
    snprintf(name, sizeof name, "builder_analysis_%" PRIu64 ".json", key);
    return fs_emit(c, name);
}

/* eval/: one SET.json per set; val is the name, not NUL-terminated. */
static int set_cb(void *c, uint64_t key, const char *val, size_t len)
{
    char name[TASK_MAX_SET_LEN + 8];
    (void)key;
    if (len > TASK_MAX_SET_LEN)
        return 0;               /* not a name fs_node_parse would take */
    snprintf(name, sizeof name, "%.*s.json", (int)len, val);
    return fs_emit(c, name);
}

/* The fixed entries whose parent directory is 'dir'. */
static int fs_list_fixed(const char *dir, struct fs_lister *l)
{
    size_t dl = strlen(dir);
    for (size_t i = 0; i < fs_nentries; i++) {
        const char *p = fs_entries[i].path;
        const char *slash = strrchr(p, '/');
        size_t pl = (size_t)(slash - p);
        if (p[1] == '\0')
            continue;                       /* "/" itself */
        if (pl == 0 ? strcmp(dir, "/") != 0
                    : pl != dl || memcmp(p, dir, dl) != 0)
            continue;
        if (fs_emit(l, slash + 1))
            return 1;
    }
    return 0;
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t filler,
                      off_t off, struct fuse_file_info *fi,
                      enum fuse_readdir_flags flags)
{
    struct fs_context *ctx = fs_ctx();
    struct fs_lister l = { buf, filler };
    struct fs_node n;
    struct store_view *v;
    int rc;

    (void)off; (void)fi; (void)flags;
    rc = fs_node_parse(path, &n);
    if (rc)
        return rc;
    if (!fs_node_is_dir(&n))
        return -ENOTDIR;

    /* Offset 0 for every entry: the whole directory is listed in one call
     * and the kernel looks each name up itself (no stat passed). */
    if (fs_emit(&l, ".") || fs_emit(&l, "..") || fs_list_fixed(path, &l))
        return 0;

    rc = store_view_begin(ctx->store, &v);
    if (rc)
        return fs_errno(rc);
    switch (n.kind) {
    case FS_DIR_TASKS:
        rc = fs_list_tasks(v, &l);
        break;
    case FS_DIR_CODE:
        rc = fs_list_code_dirs(v, &l);
        break;
    case FS_DIR_CODE_TASK: {
        time_t mtime;
        rc = fs_dir_exists(v, &n, &mtime);
        if (rc == 0)
            rc = store_view_range(v, STORE_COLL_CODE,
                                  STORE_CODE_KEY(n.id, 0),
                                  STORE_CODE_KEY(n.id, 255), attempt_cb, &l);
        break;
    }
    case FS_DIR_ADVANCED:
        rc = store_view_range(v, STORE_COLL_ANALYSES, 1, UINT64_MAX,
                              analysis_cb, &l);
        break;
    case FS_DIR_EVAL:
        rc = store_view_sets(v, set_cb, &l);
        break;
    default:
        break;
    }
    store_view_end(v);
    return rc < 0 ? fs_errno(rc) : 0;
}

/* ---- Files --------------------------------------------------------------- */

static int fs_open(const char *path, struct fuse_file_info *fi)
{
    struct fs_context *ctx = fs_ctx();
    struct fs_node n;
    struct fs_meta meta;
    int rc = fs_node_parse(path, &n);

    if (rc)
        return rc;
    if (fs_node_is_dir(&n))
        return -EISDIR;
    if (!fs_writable(n.kind) && (fi->flags & O_ACCMODE) != O_RDONLY)
        return -EACCES;

    struct fs_handle *h = calloc(1, sizeof *h);
    if (!h)
        return -ENOMEM;
    rc = -pthread_mutex_init(&h->lock, NULL);
    if (rc) {
        free(h);
        return rc;
    }
    h->kind = n.kind;
    if (n.kind == FS_NEW) {
        rc = fs_writer_new(&h->writer);
        fi->direct_io = 1;
    } else {
        rc = fs_render_now(ctx, &n, &h->buf, &meta);
        h->log_next = meta.log_next;
        if (rc == 0 && meta.immutable)
            fi->keep_cache = 1;
        else
            fi->direct_io = 1;
    }
    if (rc) {
        fs_handle_free(h);
        return rc;
    }
    fi->fh = (uintptr_t)h;
    return 0;
}

/* New files cannot be made; the kernel only sends create for a name that
 * does not exist, but should it race with a lookup, the two writable files
 * simply open. */
static int fs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    struct fs_node n;
    (void)mode;
    if (fs_node_parse(path, &n) == 0 && fs_writable(n.kind))
        return fs_open(path, fi);
    return -EROFS;
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
                            NULL);
    store_view_end(v);
    if (rc)
        h->buf.len = old;   /* drop a half-fetched tail; retried next read */
    return fs_errno(rc);
}

static int fs_read(const char *path, char *buf, size_t size, off_t off,
                   struct fuse_file_info *fi)
{
    struct fs_handle *h = fs_handle_of(fi);
    int rc = 0;

    (void)path;
    if (h->kind == FS_NEW)  /* a stream: the offset means nothing */
        return (int)fs_writer_read(h->writer, buf, size);

    pthread_mutex_lock(&h->lock);
    if ((h->kind == FS_SYSLOG || h->kind == FS_SHELLLOG ||
         h->kind == FS_EVENTS) && off >= 0 &&
        (size_t)off >= h->buf.len)
        rc = fs_log_refresh(fs_ctx(), h);
    if (rc == 0 && off >= 0 && (size_t)off < h->buf.len) {
        size_t n = h->buf.len - (size_t)off;
        if (n > size)
            n = size;
        memcpy(buf, h->buf.p + off, n);
        rc = (int)n;
    }
    pthread_mutex_unlock(&h->lock);
    return rc;
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

static int fs_write(const char *path, const char *buf, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    struct fs_handle *h = fs_handle_of(fi);

    (void)path; (void)off;  /* both writable files are streams */
    if (h->kind == FS_NEW)
        return fs_writer_write(fs_ctx()->store, h->writer, buf, size);
    if (h->kind == FS_CONTROL)
        return fs_control_write(fs_ctx(), buf, size);
    return -EACCES;         /* open refused write access already */
}

static int fs_flush(const char *path, struct fuse_file_info *fi)
{
    struct fs_handle *h = fs_handle_of(fi);

    (void)path;
    if (h->kind == FS_NEW)
        return fs_writer_flush(fs_ctx()->store, h->writer);
    return 0;
}

static int fs_release(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    fs_handle_free(fs_handle_of(fi));
    return 0;
}

/* ---- Refused changes ----------------------------------------------------- */

/* truncate: `> tasks/new`, `> control` and O_TRUNC do nothing harmful. */
static int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    struct fs_node n;
    int rc = fs_node_parse(path, &n);
    (void)size; (void)fi;
    if (rc)
        return rc;
    if (fs_node_is_dir(&n))
        return -EISDIR;
    return fs_writable(n.kind) ? 0 : -EACCES;
}

/* utimens: `touch tasks/new` works and changes nothing. */
static int fs_utimens(const char *path, const struct timespec tv[2],
                      struct fuse_file_info *fi)
{
    struct fs_node n;
    (void)tv; (void)fi;
    if (fs_node_parse(path, &n) == 0 && fs_writable(n.kind))
        return 0;
    return -EROFS;
}

static int fs_mknod(const char *path, mode_t mode, dev_t dev)
{
    (void)path; (void)mode; (void)dev;
    return -EROFS;
}

static int fs_mkdir(const char *path, mode_t mode)
{
    (void)path; (void)mode;
    return -EROFS;
}

static int fs_unlink(const char *path)
{
    (void)path;
    return -EROFS;
}

static int fs_rmdir(const char *path)
{
    (void)path;
    return -EROFS;
}

static int fs_symlink(const char *target, const char *path)
{
    (void)target; (void)path;
    return -EROFS;
}

static int fs_rename(const char *from, const char *to, unsigned int flags)
{
    (void)from; (void)to; (void)flags;
    return -EROFS;
}

static int fs_link(const char *from, const char *to)
{
    (void)from; (void)to;
    return -EROFS;
}

static int fs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    (void)path; (void)mode; (void)fi;
    return -EROFS;
}

static int fs_chown(const char *path, uid_t uid, gid_t gid,
                    struct fuse_file_info *fi)
{
    (void)path; (void)uid; (void)gid; (void)fi;
    return -EROFS;
}

/* ---- Session ------------------------------------------------------------- */

static void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    cfg->attr_timeout = 0;
    cfg->negative_timeout = 0;
    cfg->entry_timeout = 1;
    cfg->use_ino = 0;
    cfg->kernel_cache = 0;
    cfg->nullpath_ok = 0;

    if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
        conn->want |= FUSE_CAP_PARALLEL_DIROPS;
    /* O_TRUNC arrives with open and is ignored, instead of a separate
     * truncate request first. */
    if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
        conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
    /* Writes go straight to fs_write: tasks/new must see each write(2) as
     * it was made, and report its errors to it. */
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
    /* A write up to FS_MAX_WRITE is committed as a whole (fs.h); libfuse
     * caps it at the size of its receive buffer. */
    if (conn->max_write < FS_MAX_WRITE)
        conn->max_write = FS_MAX_WRITE;

    atomic_store(&fs_mount_time, (long long)time(NULL));
    return fuse_get_context()->private_data;
}

static void fs_destroy(void *private_data)
{
    struct fs_context *ctx = private_data;
    if (ctx)
        size_cache_forget(ctx->store);
}

static const struct fuse_operations fs_ops = {
    .init     = fs_init,
    .destroy  = fs_destroy,
    .getattr  = fs_getattr,
    .access   = fs_access,
    .readdir  = fs_readdir,
    .open     = fs_open,
    .create   = fs_create,
    .read     = fs_read,
    .write    = fs_write,
    .flush    = fs_flush,
    .release  = fs_release,
    .truncate = fs_truncate,
    .utimens  = fs_utimens,
    .mknod    = fs_mknod,
    .mkdir    = fs_mkdir,
    .unlink   = fs_unlink,
    .rmdir    = fs_rmdir,
    .symlink  = fs_symlink,
    .rename   = fs_rename,
    .link     = fs_link,
    .chmod    = fs_chmod,
    .chown    = fs_chown,
};

const struct fuse_operations *fs_operations(void)
{
    return &fs_ops;
}
