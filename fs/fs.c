/* fs.c -- the FUSE operations: inodes of the mount as views of the store.
 *
 * Every file is rendered whole into memory at open, inside one store view,
 * and reads are served from that copy: a reader always sees one consistent
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
#include "status.h"
#include "store.h"

/* How long the kernel may keep a name or attributes it was told about:
 * long, since names never go away and changes are invalidated. */
#define FS_TTL 86400.0

/* An open file's snapshot larger than this goes to an unlinked file in the
 * data directory (fs_buf spilling), so that reading a collection of a
 * million tasks costs btfs at most this much memory per open file. */
#define FS_SPILL_AT ((size_t)1 << 20)

/* When the filesystem was mounted: the mtime of files that have no better
 * one. Shared by every mount of this process (there is one in btfs). */
static _Atomic long long fs_mount_time;

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

static struct fs_context *fs_ctx(fuse_req_t req)
{
    return fuse_req_userdata(req);
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

static int fs_writable(enum fs_kind kind)
{
    return kind == FS_NEW || kind == FS_CONTROL;
}

/* Files whose content a store commit can change (their cached attributes
 * are invalidated at each commit): all but the directories, the files
 * fixed for the mount's life, status.json (never cached) and tasks/new
 * (always empty). control shows the paused switch, which is a commit. */
static int fs_changes_on_commit(enum fs_kind kind)
{
    return kind > FS_DIR_ADVANCED && kind != FS_README &&
           kind != FS_CONFIG && kind != FS_STATUS && kind != FS_NEW;
}

/* Directories whose entries are all fixed: the kernel may cache them. */
static int fs_dir_fixed(enum fs_kind kind)
{
    return kind == FS_DIR_ROOT || kind == FS_DIR_CORE || kind == FS_DIR_LOGS;
}

static double fs_attr_ttl(const struct fs_node *n)
{
    return n->kind == FS_STATUS ? 0.0 : FS_TTL;
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

/* Files whose size is a pass over every task or log line: the queue, the
 * score log and the logs (550 MB of counting for a queue of a million
 * tasks). Their size is remembered per store version, and a listing gives
 * their names without attributes (fs_dir_add), so that `ls` of tasks/ does
 * not count the queue; `ls -l` or `stat` of the file does, once. */
static int fs_size_costly(enum fs_kind kind)
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

static void fs_sizes_forget(void)
{
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
static int fs_stat_in(struct fs_context *ctx, struct store_view *v,
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

static int fs_stat(struct fs_context *ctx, const struct fs_node *n,
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
static int fs_node_of(fuse_req_t req, fuse_ino_t ino, struct fs_node *n)
{
    if (fs_ino_node(ino, n) == 0)
        return 0;
    fuse_reply_err(req, ENOENT);
    return -ENOENT;
}

static void fs_fill_entry(struct fuse_entry_param *e, const struct fs_node *n,
                          uint64_t ino, const struct stat *st)
{
    memset(e, 0, sizeof *e);
    e->ino = ino;
    e->attr = *st;
    e->attr_timeout = fs_attr_ttl(n);
    e->entry_timeout = FS_TTL;
}

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
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

static void fs_getattr(fuse_req_t req, fuse_ino_t ino,
                       struct fuse_file_info *fi)
{
    struct fs_handle *h = fs_handle_of(fi);
    struct fs_node n;
    struct stat st;
    int rc = 0;

    if (fs_node_of(req, ino, &n))
        return;
    if (h && !fs_node_is_dir(&n) && h->kind != FS_NEW) {
        /* fstat: what this open file reads, not what a new open would. */
        fs_stat_base(fs_ctx(req), &n, ino, &st);
        pthread_mutex_lock(&h->lock);
        st.st_size = (off_t)h->buf.len;
        st.st_blocks = (blkcnt_t)((h->buf.len + 511) / 512);
        fs_stat_times(&st, h->mtime);
        pthread_mutex_unlock(&h->lock);
    } else {
        rc = fs_stat(fs_ctx(req), &n, ino, &st);
    }
    if (rc)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_attr(req, &st, fs_attr_ttl(&n));
}

/* Without default_permissions the kernel asks only for access(2) and chdir;
 * the answer follows the modes shown. */
static void fs_access(fuse_req_t req, fuse_ino_t ino, int mask)
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
static void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
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

/* ---- Directories ----------------------------------------------------------
 * Each entry has a fixed position; the offset handed to the kernel with an
 * entry is the position after it, and a listing resumes at the first entry
 * at or after the offset asked for. Positions: 1 ".", 2 "..", 3 + i for
 * fs_entries[i], and from FS_POS_DYN on, one derived from the key in the
 * store (tasks/: 4 per task id, for the task, reflection and summary).
 * So a listing of a million tasks is a page per request from one store
 * seek, with nothing remembered between requests. */

#define FS_POS_DYN 64

struct fs_dir_fill {
    fuse_req_t req;
    struct fs_context *ctx;
    struct store_view *v;
    int plus;                   /* READDIRPLUS: attributes with names     */
    char *buf;                  /* the reply being filled                 */
    size_t size, len;
    off_t from;                 /* skip entries before this position      */
    uint64_t self;              /* inode of the directory listed          */
    int err;                    /* first error that stopped the listing   */
};

/* Adds one entry at position pos. Returns 0 to go on, 1 when the reply is
 * full (or an error stopped the listing: d->err says which). A child that
 * does not exist (a reflection not written yet) is skipped. */
static int fs_dir_add(struct fs_dir_fill *d, const char *name,
                      const struct fs_node *n, off_t pos)
{
    struct stat st;
    uint64_t ino = n ? fs_node_ino(n) : 0;
    size_t room = d->size - d->len, need;

    if (pos < d->from)
        return 0;
    if (n && !ino)
        return 0;               /* an id beyond what inodes encode */
    if (d->plus) {
        struct fuse_entry_param e;
        if (n && fs_size_costly(n->kind)) {
            /* No inode: the name only, attributes when asked for. */
            memset(&e, 0, sizeof e);
            e.attr.st_ino = (ino_t)ino;
            e.attr.st_mode = S_IFREG;
        } else if (n) {
            int rc = fs_stat_in(d->ctx, d->v, n, ino, &st);
            if (rc == -ENOENT)
                return 0;
            if (rc) {
                d->err = rc;
                return 1;
            }
            fs_fill_entry(&e, n, ino, &st);
        } else {
            /* "." and "..": no inode handed over, so no lookup counted. */
            memset(&e, 0, sizeof e);
            e.attr.st_mode = S_IFDIR;
        }
        need = fuse_add_direntry_plus(d->req, d->buf + d->len, room, name,
                                      &e, pos + 1);
    } else {
        memset(&st, 0, sizeof st);
        /* "." is the directory itself; ".." is given as the root, as the
         * kernel fills in the real parent for getcwd and `..` anyway. */
        st.st_ino = (ino_t)(n ? ino : pos == 1 ? d->self : FUSE_ROOT_ID);
        st.st_mode = n && !fs_node_is_dir(n) ? S_IFREG : S_IFDIR;
        need = fuse_add_direntry(d->req, d->buf + d->len, room, name, &st,
                                 pos + 1);
    }
    if (need > room)
        return 1;
    d->len += need;
    return 0;
}

static int fs_dir_add_id(struct fs_dir_fill *d, const char *prefix,
                         const struct fs_node *n, const char *suffix,
                         off_t pos)
{
    char idbuf[STORE_ID_MAX], name[STORE_ID_MAX + 32];
    const char *digits = store_id_format(n->id, idbuf) + 5;  /* "task_" */
    snprintf(name, sizeof name, "%s%s%s", prefix, digits, suffix);
    return fs_dir_add(d, name, n, pos);
}

static int found_cb(void *c, uint64_t key, const char *val, size_t len)
{
    (void)c; (void)key; (void)val; (void)len;
    return 0;
}

struct task_walk {
    struct fs_dir_fill *d;
};

static int task_walk_cb(void *c, uint64_t id, const char *val, size_t len)
{
    static const struct {
        enum fs_kind kind;
        const char *prefix;
        enum store_coll coll;
    } files[] = {
        { FS_TASK, "task_", STORE_COLL_TASKS },
        { FS_TASK_REFLECTION, "reflection_", STORE_COLL_REFLECTIONS },
        { FS_TASK_SUMMARY, "summary_", STORE_COLL_SUMMARIES },
    };
    struct fs_dir_fill *d = ((struct task_walk *)c)->d;
    (void)val; (void)len;

    if (id > ((uint64_t)INT64_MAX - FS_POS_DYN) / 4 - 1)
        return 1;               /* no position left for it */
    for (unsigned k = 0; k < 3; k++) {
        struct fs_node n = { .kind = files[k].kind, .entry = -1, .id = id };
        off_t pos = FS_POS_DYN + (off_t)id * 4 + k;
        if (pos < d->from)
            continue;
        /* With plus, the stat finds out whether the file exists. */
        if (k > 0 && !d->plus) {
            int rc = store_view_get(d->v, files[k].coll, id, found_cb, NULL);
            if (rc == -ENOENT)
                continue;
            if (rc) {
                d->err = fs_errno(rc);
                return 1;
            }
        }
        if (fs_dir_add_id(d, files[k].prefix, &n, ".json", pos))
            return 1;
    }
    return 0;
}

/* tasks/: every task in id order, each followed by its reflection and
 * summary when they exist, from the first task at or after d->from. */
static int fs_list_tasks(struct fs_dir_fill *d)
{
    struct task_walk w = { d };
    uint64_t first = d->from > FS_POS_DYN
                         ? (uint64_t)(d->from - FS_POS_DYN) / 4 : 0;
    int rc = store_view_range(d->v, STORE_COLL_TASKS, first, UINT64_MAX,
                              task_walk_cb, &w);
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
static int fs_list_code_dirs(struct fs_dir_fill *d)
{
    uint64_t from = 0, key;
    if (d->from > FS_POS_DYN)
        from = STORE_CODE_KEY((uint64_t)(d->from - FS_POS_DYN) / 4, 0);
    for (;;) {
        int rc = store_view_range(d->v, STORE_COLL_CODE, from, UINT64_MAX,
                                  first_key_cb, &key);
        if (rc <= 0)
            return rc;          /* error, or no more code */
        uint64_t id = key >> 8;
        struct fs_node n = { .kind = FS_DIR_CODE_TASK, .entry = -1,
                             .id = id };
        if (id > ((uint64_t)INT64_MAX - FS_POS_DYN) / 4 ||
            fs_dir_add_id(d, "task_", &n, "", FS_POS_DYN + (off_t)id * 4))
            return 0;
        if (id == UINT64_MAX >> 8)
            return 0;
        from = STORE_CODE_KEY(id + 1, 0);
    }
}

struct code_walk {
    struct fs_dir_fill *d;
    uint64_t id;
};

static int attempt_cb(void *c, uint64_t key, const char *val, size_t len)
{
    struct code_walk *w = c;
    const char *ext, *text;
    size_t tl;
    char name[300];
    unsigned attempt = (unsigned)(key & 0xff);
    struct fs_node n = { .kind = FS_CODE_FILE, .entry = -1, .id = w->id,
                         .attempt = attempt };

    store_code_split(val, len, &ext, &text, &tl);
    snprintf(name, sizeof name, "attempt_%u.%s", attempt, ext);
    n.ext = ext;
    n.ext_len = strlen(ext);
    return fs_dir_add(w->d, name, &n, FS_POS_DYN + attempt);
}

static int analysis_cb(void *c, uint64_t key, const char *val, size_t len)
{
    struct fs_dir_fill *d = c;
    char name[64];
    struct fs_node n = { .kind = FS_ANALYSIS, .entry = -1, .id = key };
    (void)val; (void)len;
    if (key > (uint64_t)INT64_MAX - FS_POS_DYN - 1)
        return 1;
    snprintf(name, sizeof name, "builder_analysis_%" PRIu64 ".json", key);
    return fs_dir_add(d, name, &n, FS_POS_DYN + (off_t)key);
}

/* eval/: one SET.json per set; val is the name, not NUL-terminated, key
 * its index among the sets (the listing position). */
static int set_cb(void *c, uint64_t key, const char *val, size_t len)
{
    struct fs_dir_fill *d = c;
    char name[TASK_MAX_SET_LEN + 8];
    struct fs_node n = { .kind = FS_EVAL, .entry = -1 };

    if (len > TASK_MAX_SET_LEN)
        return 0;               /* not a name fs_node_parse would take */
    if (key > (uint64_t)INT64_MAX - FS_POS_DYN - 1)
        return 1;
    memcpy(n.set, val, len);
    n.set[len] = '\0';
    snprintf(name, sizeof name, "%.*s.json", (int)len, val);
    return fs_dir_add(d, name, &n, FS_POS_DYN + (off_t)key);
}

/* The fixed entries whose parent directory is dir. */
static int fs_list_fixed(const struct fs_node *dir, struct fs_dir_fill *d)
{
    const char *dp = fs_entries[dir->entry].path;
    size_t dl = strlen(dp);
    for (size_t i = 1; i < fs_nentries; i++) {
        const char *p = fs_entries[i].path;
        const char *slash = strrchr(p, '/');
        size_t pl = (size_t)(slash - p);
        if (pl == 0 ? dir->kind != FS_DIR_ROOT
                    : pl != dl || memcmp(p, dp, dl) != 0)
            continue;
        struct fs_node n;
        if (fs_node_parse(p, &n) != 0)
            continue;
        if (fs_dir_add(d, slash + 1, &n, 3 + (off_t)i))
            return 1;
    }
    return 0;
}

static void fs_readdir_any(fuse_req_t req, fuse_ino_t ino, size_t size,
                           off_t off, int plus)
{
    struct fs_dir_fill d = { .req = req, .ctx = fs_ctx(req), .plus = plus,
                             .size = size, .from = off, .self = ino };
    struct fs_node n;
    int rc;

    if (fs_node_of(req, ino, &n))
        return;
    if (!fs_node_is_dir(&n)) {
        fuse_reply_err(req, ENOTDIR);
        return;
    }
    d.buf = malloc(size ? size : 1);
    if (!d.buf) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    rc = store_view_begin(d.ctx->store, &d.v);
    if (rc) {
        free(d.buf);
        fuse_reply_err(req, -fs_errno(rc));
        return;
    }
    if (fs_dir_add(&d, ".", NULL, 1) || fs_dir_add(&d, "..", NULL, 2))
        goto done;
    if (n.entry >= 0 && fs_list_fixed(&n, &d))
        goto done;
    switch (n.kind) {
    case FS_DIR_TASKS:
        rc = fs_list_tasks(&d);
        break;
    case FS_DIR_CODE:
        rc = fs_list_code_dirs(&d);
        break;
    case FS_DIR_CODE_TASK: {
        time_t mtime;
        struct code_walk w = { &d, n.id };
        rc = fs_dir_exists(d.v, &n, &mtime);
        if (rc == 0)
            rc = store_view_range(d.v, STORE_COLL_CODE,
                                  STORE_CODE_KEY(n.id, 0),
                                  STORE_CODE_KEY(n.id, 255), attempt_cb, &w);
        break;
    }
    case FS_DIR_ADVANCED:
        rc = store_view_range(d.v, STORE_COLL_ANALYSES, 1, UINT64_MAX,
                              analysis_cb, &d);
        break;
    case FS_DIR_EVAL:
        rc = store_view_sets(d.v, set_cb, &d);
        break;
    default:
        break;
    }
    if (rc < 0 && !d.err)
        d.err = fs_errno(rc);
done:
    store_view_end(d.v);
    /* What was listed before an error still goes out; the error comes with
     * the next request, as a local filesystem would do it. */
    if (d.err && d.len == 0)
        fuse_reply_err(req, -d.err);
    else
        fuse_reply_buf(req, d.buf, d.len);
    free(d.buf);
}

static void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
                       off_t off, struct fuse_file_info *fi)
{
    (void)fi;
    fs_readdir_any(req, ino, size, off, 0);
}

static void fs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
                           off_t off, struct fuse_file_info *fi)
{
    (void)fi;
    fs_readdir_any(req, ino, size, off, 1);
}

static void fs_opendir(fuse_req_t req, fuse_ino_t ino,
                       struct fuse_file_info *fi)
{
    struct fs_node n;
    if (fs_node_of(req, ino, &n))
        return;
    if (!fs_node_is_dir(&n)) {
        fuse_reply_err(req, ENOTDIR);
        return;
    }
    int final = fs_dir_fixed(n.kind);
    if (n.kind == FS_DIR_CODE_TASK) {
        /* A finished task's attempts are all there is. */
        struct store_view *v;
        struct fs_meta meta;
        if (store_view_begin(fs_ctx(req)->store, &v) == 0) {
            final = fs_task_meta(v, n.id, &meta) == 0 && meta.immutable;
            store_view_end(v);
        }
    }
    fi->cache_readdir = final;
    fi->keep_cache = final;
    fuse_reply_open(req, fi);
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

static int fs_open_node(fuse_req_t req, const struct fs_node *n,
                        struct fuse_file_info *fi)
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
        if (rc == 0 && meta.immutable)
            fi->keep_cache = 1;
        else
            fi->direct_io = 1;
        /* Only tasks/new does anything at close. */
        fi->noflush = 1;
    }
    if (rc) {
        fs_handle_free(h);
        return rc;
    }
    fs_open_files_add(h);
    fi->fh = (uintptr_t)h;
    return 0;
}

static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct fs_node n;
    if (fs_node_of(req, ino, &n))
        return;
    int rc = fs_open_node(req, &n, fi);
    if (rc)
        fuse_reply_err(req, -rc);
    else if (fuse_reply_open(req, fi) == -ENOENT)
        fs_handle_free(fs_handle_of(fi));   /* the opener was interrupted */
}

/* New files cannot be made; the kernel only sends create for a name it does
 * not know, but should it race with a lookup, the two writable files simply
 * open. */
static void fs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
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
        rc = fs_open_node(req, &n, fi);
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
static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    struct fs_handle *h = fs_handle_of(fi);
    char *copy = NULL;
    size_t n = 0;
    int rc = 0;

    (void)ino;
    if (h->kind != FS_SYSLOG && h->kind != FS_SHELLLOG &&
        h->kind != FS_EVENTS && h->kind != FS_NEW) {
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
            fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
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

static void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
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

static void fs_flush(fuse_req_t req, fuse_ino_t ino,
                     struct fuse_file_info *fi)
{
    struct fs_handle *h = fs_handle_of(fi);
    int rc = 0;

    (void)ino;
    if (h->kind == FS_NEW)
        rc = fs_writer_flush(fs_ctx(req)->store, h->writer);
    fuse_reply_err(req, -rc);
}

static void fs_release(fuse_req_t req, fuse_ino_t ino,
                       struct fuse_file_info *fi)
{
    (void)ino;
    fs_handle_free(fs_handle_of(fi));
    fuse_reply_err(req, 0);
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
     * not through a copy in btfs. */
    if (conn->capable & FUSE_CAP_SPLICE_WRITE)
        conn->want |= FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE;
    /* Writes go straight to fs_write: tasks/new must see each write(2) as
     * it was made, and report its errors to it. */
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
    /* A write up to FS_MAX_WRITE is committed as a whole (fs.h); libfuse
     * caps it at the size of its receive buffer. */
    if (conn->max_write < FS_MAX_WRITE)
        conn->max_write = FS_MAX_WRITE;

    atomic_store(&fs_mount_time, (long long)time(NULL));
    fs_sizes_forget();
    if (ctx && ctx->store)
        store_set_commit_hook(ctx->store, fs_on_commit, ctx);
}

/* Runs after the session loop has ended: no request is in flight. */
static void fs_destroy(void *userdata)
{
    struct fs_context *ctx = userdata;
    if (ctx && ctx->store)
        store_set_commit_hook(ctx->store, NULL, NULL);
    while (fs_open_files.head) {
        struct fs_handle *h = fs_open_files.head;
        atomic_store(&h->refs, 1);
        fs_handle_free(h);      /* unlinks it */
    }
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
