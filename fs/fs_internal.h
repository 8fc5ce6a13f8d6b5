/* fs_internal.h -- what the files of fs/ share: paths as nodes, growable
 * buffers, rendering a node inside one store view, the tasks/new writer.
 *
 * Not a public header: only the .c files of fs/ include it. Everything
 * here follows the project's error convention: 0 or a negative errno (store
 * codes are mapped with fs_errno() before they reach the kernel).
 */
#ifndef BT_FS_INTERNAL_H
#define BT_FS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "task.h"

struct fs_context;
struct store;
struct store_view;

/* ---- Growable byte buffer ------------------------------------------------ */

struct fs_buf {
    char *p;        /* malloc'd bytes, not NUL-terminated; NULL when empty */
    size_t len;     /* bytes in all (counting mode: bytes that would be)   */
    size_t cap;     /* bytes allocated                                     */
    int count_only; /* 1: only count, store nothing (p stays NULL): the
                       size of a rendering without holding it            */
    /* Spilling: a rendering that outgrows spill_at bytes moves to an
     * unlinked file in spill_dir, so that an open collection of any size
     * holds at most spill_at bytes of btfs's memory (the rest is page
     * cache the kernel can write back). p then holds only the bytes after
     * 'spilled'; fs_buf_finish() writes those out too. */
    size_t spill_at;        /* 0: never spill                             */
    const char *spill_dir;  /* where the file goes (the data directory)   */
    int has_file;           /* 1: spill_fd is open                        */
    int spill_fd;
    size_t spilled;         /* bytes [0, spilled) are in the file         */
};

/* Appends n bytes. Returns 0 or -ENOMEM (the buffer is then unchanged). A
 * buffer that cannot spill (no file can be made or written) goes on in
 * memory: a full disk does not make a file unreadable. */
int fs_buf_add(struct fs_buf *b, const void *data, size_t n);

/* Appends a NUL-terminated string. Same errors as fs_buf_add. */
int fs_buf_adds(struct fs_buf *b, const char *s);

/* Appends j printed (pretty when 'pretty', else compact) and a newline.
 * Returns 0 or -ENOMEM. */
struct cJSON;
int fs_buf_add_json(struct fs_buf *b, const struct cJSON *j, int pretty);

/* Frees the bytes (and closes a spill file) and leaves an empty buffer.
 * Accepts an empty buffer. */
void fs_buf_free(struct fs_buf *b);

/* Grows the allocation to n bytes ahead of appends known to come, so that a
 * large rendering is not copied on each doubling. Best effort: can't fail.
 * Does nothing for a buffer that may spill. */
void fs_buf_reserve(struct fs_buf *b, size_t n);

/* After the last append of a spilled buffer: writes the bytes still in
 * memory to the file and frees them (or, if the file cannot take them,
 * keeps everything in memory). 0 or -ENOMEM. Nothing to do (0) for a
 * buffer that did not spill. */
int fs_buf_finish(struct fs_buf *b);

/* Copies up to n bytes from offset off into dst, from memory or the spill
 * file. Returns the bytes copied (0 at or past the end) or -errno. */
ssize_t fs_buf_read(const struct fs_buf *b, size_t off, void *dst, size_t n);

/* Drops the bytes after len (len <= b->len): a half-done append undone. */
int fs_buf_truncate(struct fs_buf *b, size_t len);

/* ---- Stored JSON as shown (pretty.c) ------------------------------------- */

/* Appends JSON text s (n bytes, valid JSON, as the store holds it) printed
 * the way cJSON_Print prints it, as if nested 'depth' levels deep (0 for a
 * file of its own, 1 for an element of a top-level array). One pass, no
 * allocation beyond out's. Returns 0, -ENOMEM, or -EINVAL (unbalanced). */
int fs_json_pretty(struct fs_buf *out, const char *s, size_t n,
                   unsigned depth);

/* Appends s as a JSON string literal, escaped as cJSON escapes. 0/-ENOMEM. */
int fs_json_string(struct fs_buf *out, const char *s);

/* Finds top-level member 'key' of JSON object text s without parsing it:
 * *val and *vlen get the raw value text (a string keeps its quotes and
 * escapes). Returns 0 or -ENOENT. */
int fs_json_field(const char *s, size_t n, const char *key,
                  const char **val, size_t *vlen);

/* ---- Nodes: what a path names -------------------------------------------- */

enum fs_kind {
    /* directories */
    FS_DIR_ROOT, FS_DIR_CORE, FS_DIR_TASKS, FS_DIR_CODE, FS_DIR_CODE_TASK,
    FS_DIR_LOGS, FS_DIR_EVAL, FS_DIR_ADVANCED,
    /* files */
    FS_README, FS_STATUS, FS_CONFIG, FS_CONTROL,
    FS_DOC,             /* a store document, shown pretty-printed          */
    FS_SKILLS, FS_SCORES, FS_REFLECTIONS,
    FS_NEW, FS_QUEUE,
    FS_TASK, FS_TASK_REFLECTION, FS_TASK_SUMMARY,
    FS_CODE_FILE,
    FS_SYSLOG, FS_SHELLLOG,
    FS_ANALYSIS,
    FS_EVAL,            /* eval/SET.json: a set's report                   */
    FS_EVENTS,          /* logs/events.jsonl: system.log as JSON lines     */
    FS_SVG_TREND, FS_SVG_SKILLS,
};

struct fs_node {
    enum fs_kind kind;
    int entry;          /* index in fs_entries[], -1 for a task's file    */
    const char *doc;    /* FS_DOC: document name (static string)           */
    uint64_t id;        /* task id, or N of builder_analysis_N             */
    unsigned attempt;   /* FS_CODE_FILE: 1..STORE_MAX_ATTEMPT               */
    const char *ext;    /* FS_CODE_FILE: extension asked for; points into
                           the path, valid while the path is              */
    size_t ext_len;
    char set[TASK_MAX_SET_LEN + 1]; /* FS_EVAL: the set's name, or "" when
                           the node came from its inode number (id then
                           holds fs_set_hash of the name: fs_render finds
                           the set by it)                                 */
};

/* The fixed part of the tree (tree.c), in listing order: every path that
 * exists whatever the store holds. Directory listings, inode numbers and
 * README's list of files are derived from it. */
struct fs_entry {
    const char *path;   /* absolute, e.g. "/core/skill_map.json"           */
    enum fs_kind kind;
    const char *doc;    /* FS_DOC: document name, else NULL                */
    const char *about;  /* what the file is, one line of README; NULL for
                           directories                                    */
};
extern const struct fs_entry fs_entries[];
extern const size_t fs_nentries;

/* Parses an absolute path of the mount into *n. Only canonical names are
 * accepted (task_000001.json, never task_1.json). Says nothing about whether
 * a task-dependent node exists: fs_render/fs_dir_exists decide that.
 * Returns 0 or -ENOENT. */
int fs_node_parse(const char *path, struct fs_node *n);

/* 1 for the kinds that are directories. */
int fs_node_is_dir(const struct fs_node *n);

/* ---- Inode numbers (ino.c) ------------------------------------------------
 * A node's inode number is computed from the node itself, so the daemon keeps
 * no table of what the kernel has looked up: memory stays flat however many
 * files are stat'ed. Fixed entries are 1 + their index in fs_entries[] (the
 * root is 1, FUSE_ROOT_ID); a task's files carry their kind in the top bits
 * and the task id (and attempt) below. */

/* The inode number of n, or 0 if n's id is too large to encode (ids beyond
 * 2^50 for code, 2^58 for the rest; the store hands out ids from 1). */
uint64_t fs_node_ino(const struct fs_node *n);

/* A set's number in its eval/ inode: a hash of the name, never 0. Set
 * names are few and the hash has 58 bits, so two sets sharing a number is
 * not a practical concern. */
uint64_t fs_set_hash(const char *name, size_t len);

/* Fills *n from an inode number. Code files come back with ext NULL.
 * Returns 0 or -ENOENT (not a number this filesystem gives). */
int fs_ino_node(uint64_t ino, struct fs_node *n);

/* The node named 'name' inside directory node dir (no check against the
 * store: render or fs_dir_exists decide existence). 0 or -ENOENT. */
int fs_node_child(const struct fs_node *dir, const char *name,
                  struct fs_node *n);

/* What rendering learnt about a file besides its bytes. */
struct fs_meta {
    time_t mtime;       /* 0: use the mount time                           */
    int immutable;      /* 1: content can never change again               */
    uint64_t log_next;  /* logs: key after the last line rendered          */
};

/* Renders the whole content of file node n, as of view v, appending it to
 * out (which the caller owns and frees, also on error). Fills *meta. With
 * out in counting mode this is how a file's exact size is known: the same
 * code, nothing held. Code files whose node has no ext (found by inode)
 * match whatever extension is stored.
 * Returns 0, -ENOENT (no such file in this snapshot), -ENOMEM, or a store
 * error code (map with fs_errno). FS_NEW renders nothing. */
int fs_render(struct fs_context *ctx, struct store_view *v,
              const struct fs_node *n, struct fs_buf *out,
              struct fs_meta *meta);

/* Appends the log lines with key >= from (each + "\n") to out and sets
 * *next to the key after the last one appended (unchanged if none).
 * Used to extend an open log handle that a reader follows (tail -f). */
int fs_render_log_from(struct store_view *v, enum fs_kind kind,
                       uint64_t from, struct fs_buf *out, uint64_t *next,
                       time_t *mtime);

/* Appends the event object of one system.log line (as stored, without
 * newline) and a newline to out (events.c). Returns 0 or -ENOMEM. */
int fs_event_render(const char *line, size_t len, struct fs_buf *out);

/* Appends core/score_trend.svg / core/skill_map.svg as of view v (svg.c).
 * Returns 0, -ENOMEM or a store error. */
int fs_svg_trend(struct store_view *v, struct fs_buf *out);
int fs_svg_skills(struct store_view *v, struct fs_buf *out);
/* Reads what a task's document says about its files: mtime and whether
 * it is final (its files never change again). 0, -ENOENT, or store error. */
int fs_task_meta(struct store_view *v, uint64_t id, struct fs_meta *meta);

/* For directories: 0 if n exists in view v (only code_archive/task_N can be
 * missing), else -ENOENT or a store error. Sets *mtime (0: mount time). */
int fs_dir_exists(struct store_view *v, const struct fs_node *n,
                  time_t *mtime);

/* Appends the static text of README to out. Returns 0 or -ENOMEM. */
int fs_readme_render(struct fs_buf *out);

/* Appends README's list of files, one described row each, printed from
 * the tree table (tree.c). Returns 0 or -ENOMEM. */
int fs_tree_render(struct fs_buf *out);

/* Maps any error of the store or of ours to a negative errno for the kernel:
 * negative errnos pass through, STORE_E* and anything else become -EIO. */
int fs_errno(int err);

/* ---- control (control.c) ------------------------------------------------ */

/* A parsed write to control: what to do, in order. */
struct fs_control {
    int pause;          /* -1: no change, 0: resume, 1: pause (the last)  */
    uint64_t *cancel;   /* task ids to cancel, in order (malloc'd)        */
    size_t ncancel;
};

/* Parses a write: lines of "pause", "resume" or "cancel ID [ID...]" (IDs
 * as task_000042, 000042 or 42), blank lines ignored. Returns 0, -EINVAL
 * (a line that is none of these) or -ENOMEM. Free with fs_control_free
 * also on error. */
int fs_control_parse(const char *buf, size_t size, struct fs_control *out);

/* Applies a parsed write: every task must exist (else -ENOENT and nothing
 * is done); queued ones are cancelled at once, running ones are asked to
 * stop at their next step (status_cancel_request), finished ones are left
 * as they are; then the pause switch. Each action is logged. Returns 0 or
 * a negative errno / store code. */
int fs_control_apply(struct fs_context *ctx, const struct fs_control *c);

void fs_control_free(struct fs_control *c);

/* ---- tasks/new ----------------------------------------------------------- */

struct fs_writer;

/* Creates the per-open state of tasks/new. Returns 0 or -ENOMEM. */
int fs_writer_new(struct fs_writer **out);

/* Frees it. Accepts NULL. */
void fs_writer_free(struct fs_writer *w);

/* One write(2): returns size, or -EINVAL / -EFBIG / -EIO / -ENOMEM /
 * -ENOSPC / -EDQUOT / -EROFS with nothing enqueued (see tasks_new.c for the
 * exact rules). */
int fs_writer_write(struct store *st, struct fs_writer *w, const char *buf,
                    size_t size);

/* close(2): commits a pending partial line. 0 or -EINVAL / -EFBIG / -EIO. */
int fs_writer_flush(struct store *st, struct fs_writer *w);

/* Copies up to size bytes of the response (ids or errors) not read yet.
 * Returns the count, 0 at the end. Can't fail. */
size_t fs_writer_read(struct fs_writer *w, char *buf, size_t size);

#endif /* BT_FS_INTERNAL_H */
