/* render.c -- nodes as bytes (the paths that name them: tree.c).
 *
 * Every file is rendered whole, inside one store view, so that what a reader
 * gets is one consistent snapshot; getattr reports the exact size by running
 * the same rendering into a counting buffer (nothing is built or kept).
 * Stored JSON is reformatted as cJSON_Print would print it (pretty.c), plus
 * a trailing newline, straight from the store's text; only status.json and
 * config.json are built as cJSON trees. Text files are as stored.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "clock.h"
#include "eval.h"
#include "fs.h"
#include "fs_internal.h"
#include "status.h"
#include "store.h"

/* ---- Buffers ------------------------------------------------------------- */

/* Writes all of data to fd at its end. 0 or -errno. */
static int write_all(int fd, const char *data, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, data, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        data += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Opens the file a buffer spills to: unlinked from the start (O_TMPFILE),
 * so that nothing is left behind by a crash. */
static int spill_open(const struct fs_buf *b)
{
    int fd = open(b->spill_dir ? b->spill_dir : "/var/tmp",
                  O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    return fd < 0 ? -errno : fd;
}

/* Gives up spilling (no file can be made or written: a full or read-only
 * disk): what went to the file comes back into memory and the buffer goes
 * on there, so that a reader still gets the file. 0 or -ENOMEM. */
static int unspill(struct fs_buf *b)
{
    size_t held = b->len - b->spilled;
    char *p = NULL;

    if (b->spilled > 0) {
        p = malloc(b->len > b->cap ? b->len : b->cap);
        if (!p)
            return -ENOMEM;
        for (size_t off = 0; off < b->spilled;) {
            ssize_t r = pread(b->spill_fd, p + off, b->spilled - off,
                              (off_t)off);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                free(p);
                return r < 0 ? -errno : -EIO;
            }
            off += (size_t)r;
        }
        if (held)
            memcpy(p + b->spilled, b->p, held);
        free(b->p);
        b->p = p;
        if (b->cap < b->len)
            b->cap = b->len;
    }
    if (b->has_file)
        close(b->spill_fd);
    b->has_file = 0;
    b->spilled = 0;
    b->spill_at = 0;
    return 0;
}

/* Moves what the buffer holds in memory to its file (opened on the first
 * call). Called when the memory would grow past spill_at. If that cannot
 * be done the buffer stays in memory (unspill). */
static int spill(struct fs_buf *b)
{
    size_t held = b->len - b->spilled;

    if (!b->has_file) {
        int fd = spill_open(b);
        if (fd < 0)
            return unspill(b);
        b->spill_fd = fd;
        b->has_file = 1;
    }
    if (write_all(b->spill_fd, b->p, held) != 0)
        return unspill(b);
    b->spilled = b->len;
    return 0;
}

int fs_buf_add(struct fs_buf *b, const void *data, size_t n)
{
    if (n == 0)
        return 0;
    if (n > SIZE_MAX - b->len)
        return -ENOMEM;
    if (b->count_only) {
        b->len += n;
        return 0;
    }
    size_t held = b->len - b->spilled;
    if (b->spill_at && held + n > b->spill_at) {
        int rc = spill(b);
        if (rc)
            return rc;
        held = b->len - b->spilled;     /* 0, unless it gave up spilling */
        if (b->spill_at && n >= b->spill_at) {
            /* too big to gather: straight out */
            if (write_all(b->spill_fd, data, n) == 0) {
                b->len += n;
                b->spilled = b->len;
                return 0;
            }
            if ((rc = unspill(b)))
                return rc;
            held = b->len;
        }
    }
    if (held + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < held + n)
            cap = cap > SIZE_MAX / 2 ? held + n : cap * 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + held, data, n);
    b->len += n;
    return 0;
}

int fs_buf_adds(struct fs_buf *b, const char *s)
{
    return fs_buf_add(b, s, strlen(s));
}

void fs_buf_free(struct fs_buf *b)
{
    free(b->p);
    if (b->has_file)
        close(b->spill_fd);
    b->p = NULL;
    b->len = b->cap = b->spilled = 0;
    b->has_file = 0;
}

void fs_buf_reserve(struct fs_buf *b, size_t n)
{
    if (b->count_only || b->spill_at || n <= b->cap)
        return;
    char *p = realloc(b->p, n);
    if (p) {
        b->p = p;
        b->cap = n;
    }
}

int fs_buf_finish(struct fs_buf *b)
{
    if (!b->has_file)
        return 0;
    int rc = spill(b);
    if (rc == 0 && b->has_file) {
        free(b->p);
        b->p = NULL;
        b->cap = 0;
    }
    return rc;
}

ssize_t fs_buf_read(const struct fs_buf *b, size_t off, void *dst, size_t n)
{
    size_t done = 0;

    if (off >= b->len)
        return 0;
    if (n > b->len - off)
        n = b->len - off;
    while (off < b->spilled && done < n) {
        size_t want = b->spilled - off < n - done ? b->spilled - off
                                                  : n - done;
        ssize_t r = pread(b->spill_fd, (char *)dst + done, want, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -EIO;    /* the file is shorter than what was written */
        done += (size_t)r;
        off += (size_t)r;
    }
    if (done < n) {
        memcpy((char *)dst + done, b->p + (off - b->spilled), n - done);
        done = n;
    }
    return (ssize_t)done;
}

int fs_buf_truncate(struct fs_buf *b, size_t len)
{
    if (len >= b->len)
        return 0;
    if (len < b->spilled) {
        if (ftruncate(b->spill_fd, (off_t)len) < 0 ||
            lseek(b->spill_fd, 0, SEEK_END) < 0)
            return -errno;
        b->spilled = len;
    }
    b->len = len;
    return 0;
}

/* ---- Errors, time -------------------------------------------------------- */

int fs_errno(int err)
{
    if (err >= 0)
        return err;
    if (err >= -4095)   /* the kernel's errno range */
        return err;
    return -EIO;        /* STORE_ESCHEMA, STORE_ECORRUPT, STORE_ELOCKED */
}

/* The time of an RFC 3339 stamp as the store and the agents write it
 * (offsets and fractions taken too), or 0 if s is NULL or not one: every
 * caller falls back to another time. */
static time_t stamp_time(const char *s)
{
    time_t t;
    return s && clock_parse_rfc3339(s, 0, &t) == 0 ? t : 0;
}

/* ---- JSON helpers -------------------------------------------------------- */

int fs_buf_add_json(struct fs_buf *out, const cJSON *j, int pretty)
{
    char *s = pretty ? cJSON_Print(j) : cJSON_PrintUnformatted(j);
    if (!s)
        return -ENOMEM;
    int rc = fs_buf_adds(out, s);
    if (rc == 0)
        rc = fs_buf_add(out, "\n", 1);
    cJSON_free(s);
    return rc;
}

/* Pretty-prints j + "\n" into out (documents built here, not stored). */
static int put_json(struct fs_buf *out, const cJSON *j)
{
    return fs_buf_add_json(out, j, 1);
}

/* store_each_fn that parses one record into *(cJSON **)c. */
static int parse_one_cb(void *c, uint64_t key, const char *val, size_t len)
{
    (void)key;
    cJSON *j = cJSON_ParseWithLength(val, len);
    if (!j)
        return STORE_ECORRUPT;
    *(cJSON **)c = j;
    return 0;
}

/* A stored record shown as a file of its own: pretty text + "\n". */
static int put_record(struct fs_buf *out, const char *val, size_t len)
{
    int rc = fs_json_pretty(out, val, len, 0);
    if (rc == -EINVAL)
        return STORE_ECORRUPT;
    return rc ? rc : fs_buf_add(out, "\n", 1);
}

/* store_each_fn that shows one record as a file. */
static int record_cb(void *c, uint64_t key, const char *val, size_t len)
{
    (void)key;
    return put_record(c, val, len);
}

/* A collection shown as one JSON array, streamed record by record. */
struct array_walk {
    struct fs_buf *out;
    size_t n;               /* records written so far */
};

static int array_cb(void *c, uint64_t key, const char *val, size_t len)
{
    struct array_walk *w = c;
    int rc = fs_buf_add(w->out, w->n ? ", " : "[", w->n ? 2 : 1);
    (void)key;
    if (rc == 0)
        rc = fs_json_pretty(w->out, val, len, 1);
    if (rc == -EINVAL)
        rc = STORE_ECORRUPT;
    w->n++;
    return rc;
}

static int array_end(struct array_walk *w, int rc)
{
    if (rc)
        return rc;
    return fs_buf_adds(w->out, w->n ? "]\n" : "[]\n");
}

static int skills_cb(void *c, uint64_t key, const char *val, size_t len)
{
    struct array_walk *w = c;
    const char *name, *json;
    size_t jl;

    (void)key;
    store_named_split(val, len, &name, &json, &jl);
    int rc = fs_buf_add(w->out, w->n ? ",\n\t" : "{\n\t", 3);
    if (rc == 0)
        rc = fs_json_string(w->out, name);
    if (rc == 0)
        rc = fs_buf_add(w->out, ":\t", 2);
    if (rc == 0)
        rc = fs_json_pretty(w->out, json, jl, 1);
    if (rc == -EINVAL)
        rc = STORE_ECORRUPT;
    w->n++;
    return rc;
}

/* The text of a top-level string member, copied into buf (NUL-terminated,
 * truncated to size); "" when absent or not a string. */
static const char *text_field(const char *doc, size_t len, const char *key,
                              char *buf, size_t size)
{
    const char *v;
    size_t vl;
    buf[0] = '\0';
    if (fs_json_field(doc, len, key, &v, &vl) == 0 && vl >= 2 &&
        v[0] == '"') {
        vl -= 2;
        if (vl >= size)
            vl = size - 1;
        memcpy(buf, v + 1, vl);
        buf[vl] = '\0';
    }
    return buf;
}

/* When a task last changed: finished_at, else started_at, else created_at. */
static time_t task_mtime(const char *doc, size_t len)
{
    static const char *const fields[] = {"finished_at", "started_at",
                                         "created_at"};
    char buf[64];
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        time_t t = stamp_time(text_field(doc, len, fields[i], buf,
                                            sizeof buf));
        if (t)
            return t;
    }
    return 0;
}

static int task_is_final(const char *doc, size_t len)
{
    static const char *const final[] = {"passed", "failed", "error",
                                        "cancelled"};
    char st[32];
    text_field(doc, len, "status", st, sizeof st);
    for (size_t i = 0; i < sizeof final / sizeof final[0]; i++)
        if (strcmp(st, final[i]) == 0)
            return 1;
    return 0;
}

static int task_meta_cb(void *c, uint64_t key, const char *val, size_t len)
{
    struct fs_meta *m = c;
    (void)key;
    m->mtime = task_mtime(val, len);
    m->immutable = task_is_final(val, len);
    return 0;
}

int fs_task_meta(struct store_view *v, uint64_t id, struct fs_meta *meta)
{
    memset(meta, 0, sizeof *meta);
    return store_view_get(v, STORE_COLL_TASKS, id, task_meta_cb, meta);
}

/* The mtime of a task's files, from the task document (0 if none). */
static time_t task_time(struct store_view *v, uint64_t id)
{
    struct fs_meta m;
    return fs_task_meta(v, id, &m) == 0 ? m.mtime : 0;
}

/* ---- Logs ---------------------------------------------------------------- */

struct log_walk {
    struct fs_buf *out;
    int events;         /* 1: each line as an event object (events.c) */
    uint64_t next;      /* key after the last line appended */
    int any;            /* 1 once a line was appended       */
    time_t last_time;   /* timestamp that starts the last line */
};

static int log_cb(void *c, uint64_t key, const char *val, size_t len)
{
    struct log_walk *w = c;
    int rc = w->events ? fs_event_render(val, len, w->out)
                       : fs_buf_add(w->out, val, len);
    if (rc == 0 && !w->events)
        rc = fs_buf_add(w->out, "\n", 1);
    if (rc)
        return rc;
    w->next = key + 1;
    w->any = 1;
    /* Lines start with the store's RFC 3339 stamp; copy it out since val
     * is not NUL-terminated. */
    char stamp[40];
    size_t sl = len < sizeof stamp - 1 ? len : sizeof stamp - 1;
    memcpy(stamp, val, sl);
    stamp[sl] = '\0';
    char *sp = strchr(stamp, ' ');
    if (sp)
        *sp = '\0';
    time_t t = stamp_time(stamp);
    if (t)
        w->last_time = t;
    return 0;
}

int fs_render_log_from(struct store_view *v, enum fs_kind kind,
                       uint64_t from, struct fs_buf *out, uint64_t *next,
                       time_t *mtime)
{
    struct log_walk w = { .out = out, .next = from,
                          .events = kind == FS_EVENTS };
    enum store_coll c = kind == FS_SHELLLOG ? STORE_COLL_SHELLLOG
                                            : STORE_COLL_SYSLOG;
    int rc = store_view_range(v, c, from, UINT64_MAX, log_cb, &w);
    if (rc == 0 && w.any) {
        *next = w.next;
        if (mtime && w.last_time)
            *mtime = w.last_time;
    }
    return rc;
}

/* ---- status.json --------------------------------------------------------- */

static cJSON *str_or_null(const char *s)
{
    return s && *s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static cJSON *time_or_null(time_t t)
{
    char buf[CLOCK_RFC3339_SIZE];
    return t && clock_rfc3339(t, buf) == 0 ? cJSON_CreateString(buf)
                                           : cJSON_CreateNull();
}

/* Adds item to obj; on failure the item is freed and 0 returned, so a
 * chain of adds can be checked once at the end. */
static int add(cJSON *obj, const char *name, cJSON *item)
{
    if (!item)
        return 0;
    if (!cJSON_AddItemToObject(obj, name, item)) {
        cJSON_Delete(item);
        return 0;
    }
    return 1;
}

/* status.json's "disk": whether the store can write, and if not why and
 * what to do. */
static int add_disk(cJSON *o, int err, time_t since)
{
    cJSON *d = cJSON_CreateObject();
    char why[200];

    if (!d)
        return 0;
    if (err == -ENOSPC || err == -EDQUOT)
        snprintf(why, sizeof why, "the disk of the data directory is %s: "
                 "nothing can be saved; free space there, work resumes by "
                 "itself", err == -ENOSPC ? "full" : "over quota");
    else if (err)
        snprintf(why, sizeof why, "the store cannot write (%s); check the "
                 "data directory's disk", store_strerror(err));
    int ok = add(d, "writable", cJSON_CreateBool(err == 0));
    ok &= add(d, "error", err ? cJSON_CreateString(why) : cJSON_CreateNull());
    ok &= add(d, "since", time_or_null(since));
    return add(o, "disk", d) && ok;
}

static int render_status(struct fs_context *ctx, struct store_view *v,
                         struct fs_buf *out)
{
    /* The snapshot is ~20 KiB: keep it off the stack of a FUSE thread. */
    struct status_snapshot *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    if (ctx->status)
        status_snapshot(ctx->status, s);
    else
        s->llm_reachable = -1;

    time_t disk_since;
    int disk = store_write_health(ctx->store, &disk_since);
    const char *state = status_overall_state(s, store_paused(ctx->store),
                                             disk);
    const char *reason = status_overall_reason(s, state, disk);

    time_t now = time(NULL);
    cJSON *o = cJSON_CreateObject();
    cJSON *builders = cJSON_CreateArray();
    cJSON *llm = cJSON_CreateObject();
    int ok = o && builders && llm;
    ok &= add(o, "state", cJSON_CreateString(state));
    ok &= add(o, "reason", str_or_null(reason));
    ok &= add_disk(o, disk, disk_since);
    ok &= add(o, "started_at", time_or_null(s->started));
    ok &= add(o, "uptime_s", cJSON_CreateNumber(
                  s->started && now > s->started ? (double)(now - s->started)
                                                 : 0));
    ok &= add(o, "queue_depth",
              cJSON_CreateNumber((double)store_view_queue_depth(v)));
    ok &= add(o, "tasks_total",
              cJSON_CreateNumber((double)store_view_count(v,
                                                          STORE_COLL_TASKS)));
    for (unsigned i = 0; ok && i < s->nbuilders; i++) {
        const struct status_builder *b = &s->builders[i];
        char id[STORE_ID_MAX];
        cJSON *bo = cJSON_CreateObject();
        ok &= bo != NULL;
        if (!ok)
            break;
        ok &= cJSON_AddItemToArray(builders, bo);
        if (!ok) {
            cJSON_Delete(bo);
            break;
        }
        ok &= add(bo, "index", cJSON_CreateNumber(i));
        ok &= add(bo, "state", cJSON_CreateString(b->state));
        ok &= add(bo, "task", b->task ? cJSON_CreateString(
                                            store_id_format(b->task, id))
                                      : cJSON_CreateNull());
        ok &= add(bo, "step", cJSON_CreateString(b->step));
        ok &= add(bo, "since", time_or_null(b->since));
    }
    if (ok) {
        ok &= add(o, "builders", builders);
        builders = NULL;
    }
    ok &= add(llm, "url", cJSON_CreateString(s->llm_url));
    ok &= add(llm, "model", cJSON_CreateString(s->llm_model));
    ok &= add(llm, "reachable", s->llm_reachable < 0
                                    ? cJSON_CreateNull()
                                    : cJSON_CreateBool(s->llm_reachable));
    ok &= add(llm, "last_error", str_or_null(s->llm_error));
    /* What the LLM monitor and the request queue publish, as they wrote
     * it: fs/ only places it. */
    if (ok && s->llm_info[0]) {
        cJSON *info = cJSON_Parse(s->llm_info), *f;
        cJSON_ArrayForEach(f, info)
            if (f->string && !cJSON_GetObjectItemCaseSensitive(llm, f->string))
                ok &= add(llm, f->string, cJSON_Duplicate(f, 1));
        cJSON_Delete(info);
    }
    cJSON *queue = ok && s->llm_queue[0] ? cJSON_Parse(s->llm_queue) : NULL;
    if (queue)
        ok &= add(llm, "queue", queue);
    if (ok) {
        ok &= add(o, "llm", llm);
        llm = NULL;
    }
    cJSON *tllm = ok && s->trainer_llm[0] ? cJSON_Parse(s->trainer_llm)
                                          : NULL;
    ok &= add(o, "trainer_llm", tllm ? tllm : cJSON_CreateNull());
    ok &= add(o, "sandbox", str_or_null(s->sandbox));
    ok &= add(o, "agents", str_or_null(s->agents_note));
    ok &= add(o, "data_dir", str_or_null(ctx->data_dir));
    ok &= add(o, "last_error", str_or_null(s->last_error));

    int rc = ok ? put_json(out, o) : -ENOMEM;
    cJSON_Delete(o);
    cJSON_Delete(builders);
    cJSON_Delete(llm);
    free(s);
    return rc;
}

/* ---- One file ------------------------------------------------------------ */

struct code_find {
    const struct fs_node *n;
    struct fs_buf *out;
};

static int code_cb(void *c, uint64_t key, const char *val, size_t len)
{
    struct code_find *f = c;
    const char *ext, *text;
    size_t tl;

    (void)key;
    store_code_split(val, len, &ext, &text, &tl);
    /* A node found by inode number has no name to check. */
    if (f->n->ext && (strlen(ext) != f->n->ext_len ||
                      memcmp(ext, f->n->ext, f->n->ext_len) != 0))
        return -ENOENT;
    return fs_buf_add(f->out, text, tl);
}

/* The profile names the model its results came from; before the first
 * result (or if it was never recorded) that is the configured one. */
static void profile_model(struct fs_context *ctx, cJSON *doc)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(doc, "model");
    struct status_snapshot *s;

    if (!ctx->status || (cJSON_IsString(m) && *m->valuestring) ||
        !(s = calloc(1, sizeof *s)))
        return;
    status_snapshot(ctx->status, s);
    if (s->llm_model[0]) {
        cJSON_DeleteItemFromObjectCaseSensitive(doc, "model");
        cJSON_AddStringToObject(doc, "model", s->llm_model);
    }
    free(s);
}

static int render_doc(struct fs_context *ctx, struct store_view *v,
                      const char *name, struct fs_buf *out)
{
    int rc;

    if (strcmp(name, "builder_profile") == 0) {
        /* The one document shown with a live value filled in. */
        cJSON *j = NULL;
        rc = store_view_doc(v, name, parse_one_cb, &j);
        if (rc == 0 && cJSON_IsObject(j))
            profile_model(ctx, j);
        if (rc == 0)
            rc = put_json(out, j);
        cJSON_Delete(j);
    } else {
        rc = store_view_doc(v, name, record_cb, out);
    }
    if (rc == -ENOENT) {
        /* The store creates every document at first open; should one be
         * missing anyway, the file still exists (it is listed) and shows
         * an empty object rather than failing. */
        return fs_buf_adds(out, "{}\n");
    }
    return rc;
}

/* eval/: the set whose name hashes to 'hash' (fs_set_hash). */
struct set_find {
    uint64_t hash;
    char name[TASK_MAX_SET_LEN + 1];
};

static int set_find_cb(void *c, uint64_t key, const char *val, size_t len)
{
    struct set_find *f = c;

    (void)key;
    if (len > TASK_MAX_SET_LEN || fs_set_hash(val, len) != f->hash)
        return 0;
    memcpy(f->name, val, len);
    f->name[len] = '\0';
    return 1;
}

int fs_render(struct fs_context *ctx, struct store_view *v,
              const struct fs_node *n, struct fs_buf *out,
              struct fs_meta *meta)
{
    struct array_walk w = { .out = out };
    int rc;

    memset(meta, 0, sizeof *meta);
    switch (n->kind) {
    case FS_README:
        meta->immutable = 1;
        return fs_readme_render(out);
    case FS_STATUS:
        return render_status(ctx, v, out);
    case FS_CONFIG: {
        /* Fixed for the life of the mount. */
        meta->immutable = 1;
        const char *cfg = ctx->config_json ? ctx->config_json : "{}";
        cJSON *j = cJSON_Parse(cfg);
        if (j) {
            rc = put_json(out, j);
            cJSON_Delete(j);
            return rc;
        }
        /* Not JSON after all: show it as given rather than hide it. */
        rc = fs_buf_adds(out, cfg);
        return rc ? rc : fs_buf_add(out, "\n", 1);
    }
    case FS_CONTROL:
        return fs_buf_adds(out, store_paused(ctx->store) ? "paused\n"
                                                         : "running\n");
    case FS_DOC:
        return render_doc(ctx, v, n->doc, out);
    case FS_SKILLS:
        rc = store_view_skills(v, skills_cb, &w);
        if (rc)
            return rc;
        return fs_buf_adds(out, w.n ? "\n}\n" : "{\n}\n");
    case FS_SCORES:
        return array_end(&w, store_view_range(v, STORE_COLL_SCORES, 0,
                                              UINT64_MAX, array_cb, &w));
    case FS_REFLECTIONS:
        return array_end(&w, store_view_tail(v, STORE_COLL_REFLECTIONS, 50,
                                             array_cb, &w));
    case FS_QUEUE:
        return array_end(&w, store_view_queue(v, array_cb, &w));
    case FS_NEW:
        return 0;
    case FS_TASK:
        rc = store_view_get(v, STORE_COLL_TASKS, n->id, record_cb, out);
        if (rc == 0)
            rc = fs_task_meta(v, n->id, meta);
        return rc;
    case FS_TASK_REFLECTION:
    case FS_TASK_SUMMARY:
        rc = store_view_get(v, n->kind == FS_TASK_REFLECTION
                                   ? STORE_COLL_REFLECTIONS
                                   : STORE_COLL_SUMMARIES,
                            n->id, record_cb, out);
        if (rc == 0) {
            meta->immutable = 1;
            meta->mtime = task_time(v, n->id);
        }
        return rc;
    case FS_CODE_FILE: {
        struct code_find f = { n, out };
        rc = store_view_get(v, STORE_COLL_CODE,
                            STORE_CODE_KEY(n->id, n->attempt), code_cb, &f);
        if (rc == 0) {
            meta->immutable = 1;
            meta->mtime = task_time(v, n->id);
        }
        return rc;
    }
    case FS_SVG_TREND:
        return fs_svg_trend(v, out);
    case FS_SVG_SKILLS:
        return fs_svg_skills(v, out);
    case FS_SYSLOG:
    case FS_SHELLLOG:
    case FS_EVENTS:
        return fs_render_log_from(v, n->kind, 0, out, &meta->log_next,
                                  &meta->mtime);
    case FS_ANALYSIS:
        rc = store_view_get(v, STORE_COLL_ANALYSES, n->id, record_cb, out);
        meta->immutable = rc == 0;
        return rc;
    case FS_EVAL: {
        /* A node made from its inode number knows the set by its hash. */
        struct set_find f = { .hash = n->id };
        if (n->set[0])
            return eval_render(v, n->set, out);
        rc = store_view_sets(v, set_find_cb, &f);
        if (rc < 0)
            return rc;
        return f.name[0] ? eval_render(v, f.name, out) : -ENOENT;
    }
    default:
        return -EISDIR;
    }
}

/* Stops at the first record: existence of a code_archive/task_N dir. */
static int first_cb(void *c, uint64_t key, const char *val, size_t len)
{
    (void)c; (void)key; (void)val; (void)len;
    return 1;
}

int fs_dir_exists(struct store_view *v, const struct fs_node *n,
                  time_t *mtime)
{
    *mtime = 0;
    if (n->kind != FS_DIR_CODE_TASK)
        return 0;
    int rc = store_view_range(v, STORE_COLL_CODE, STORE_CODE_KEY(n->id, 0),
                              STORE_CODE_KEY(n->id, 255), first_cb, NULL);
    if (rc == 0)
        return -ENOENT;
    if (rc < 0)
        return rc;
    *mtime = task_time(v, n->id);
    return 0;
}
