/* fs_dir.c -- listings: OPENDIR, READDIR and READDIRPLUS.
 *
 * Fixed directories are cached by the kernel (cache_readdir); the others
 * are listed in offset mode straight from the store, a page per request,
 * so a listing of a million tasks keeps no memory between requests.
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

/* Directories whose entries are all fixed: the kernel may cache them. */
static int fs_dir_fixed(enum fs_kind kind)
{
    return kind == FS_DIR_ROOT || kind == FS_DIR_CORE || kind == FS_DIR_LOGS;
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

void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
                off_t off, struct fuse_file_info *fi)
{
    (void)fi;
    fs_readdir_any(req, ino, size, off, 0);
}

void fs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
                    off_t off, struct fuse_file_info *fi)
{
    (void)fi;
    fs_readdir_any(req, ino, size, off, 1);
}

void fs_opendir(fuse_req_t req, fuse_ino_t ino,
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

