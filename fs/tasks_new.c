/* tasks_new.c -- the writer behind tasks/new: lines in, queued tasks out.
 *
 * Per open file: the bytes of a line not finished yet, and a response (the
 * ids created, or the errors) that read(2) on the same file returns.
 *
 * Rules (DESIGN.md, "Writing a task"):
 * - The offset of a write is ignored: tasks/new is a stream, so O_APPEND,
 *   O_TRUNC and any shell redirection behave the same.
 * - Every complete line a write holds (the pending partial line first) is
 *   parsed; if any fails, the write adds nothing, fails with that line's
 *   error (EINVAL, or EFBIG for a too-long line) and the pending partial line
 *   is left as it was before the write. Otherwise all lines are queued with
 *   one store_task_enqueue() call, durable before the write returns.
 * - Empty lines are parsed like any other (the parser rejects them): the
 *   filesystem does not guess which lines the user meant.
 * - A partial line longer than TASK_MAX_LINE fails the write with EFBIG and
 *   is dropped; the rest of that line, up to its newline, is dropped too
 *   (writes that hold only such bytes fail with EFBIG), so that its tail is
 *   never taken for a task of its own.
 * - close(2) (flush) queues a pending partial line the same way; if it does
 *   not parse, close fails with its error. Either way it is then gone.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_internal.h"
#include "store.h"
#include "task.h"

/* More ids than this in one accepted write are logged as a range. */
#define LOG_MAX_IDS 16

struct fs_writer {
    pthread_mutex_t lock;   /* guards every field below; held across the
                               commit so writes on one file stay in order */
    struct fs_buf pending;  /* bytes after the last '\n' written so far   */
    int discarding;         /* 1: dropping an over-long line until '\n'   */
    struct fs_buf response; /* ids and errors for read(2)                 */
    size_t cursor;          /* response bytes already read                */
};

int fs_writer_new(struct fs_writer **out)
{
    struct fs_writer *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    int rc = pthread_mutex_init(&w->lock, NULL);
    if (rc) {
        free(w);
        return -rc;
    }
    *out = w;
    return 0;
}

void fs_writer_free(struct fs_writer *w)
{
    if (!w)
        return;
    pthread_mutex_destroy(&w->lock);
    fs_buf_free(&w->pending);
    fs_buf_free(&w->response);
    free(w);
}

/* Records an error for read(2) and logs it. The response is best effort:
 * when memory is short the errno still tells the writer what happened. */
static void reject(struct store *st, struct fs_writer *w, size_t line,
                   const char *reason)
{
    char head[64];
    if (line)
        snprintf(head, sizeof head, "error: line %zu: ", line);
    else
        snprintf(head, sizeof head, "error: ");
    size_t need = strlen(head) + strlen(reason) + 32;
    char *msg = malloc(need);
    if (!msg)
        return;
    snprintf(msg, need, "%s%s\n", head, reason);
    (void)fs_buf_adds(&w->response, msg);
    /* "tasks/new: rejected: line 2: ..." -- the message minus "error: "
     * and its newline. */
    snprintf(msg, need, "tasks/new: rejected: %s%s", head + 7, reason);
    (void)store_log_append(st, STORE_LOG_SYSTEM, msg);
    free(msg);
}

static void log_queued(struct store *st, const uint64_t *ids, size_t n)
{
    struct fs_buf line = {0};
    char id[STORE_ID_MAX], head[64];
    int rc;

    if (n > LOG_MAX_IDS) {
        snprintf(head, sizeof head, "tasks/new: queued %zu tasks ", n);
        rc = fs_buf_adds(&line, head);
        if (rc == 0)
            rc = fs_buf_adds(&line, store_id_format(ids[0], id));
        if (rc == 0)
            rc = fs_buf_adds(&line, " .. ");
        if (rc == 0)
            rc = fs_buf_adds(&line, store_id_format(ids[n - 1], id));
    } else {
        rc = fs_buf_adds(&line, "tasks/new: queued");
        for (size_t i = 0; rc == 0 && i < n; i++) {
            rc = fs_buf_add(&line, " ", 1);
            if (rc == 0)
                rc = fs_buf_adds(&line, store_id_format(ids[i], id));
        }
    }
    if (rc == 0)
        rc = fs_buf_add(&line, "", 1);
    if (rc == 0)
        (void)store_log_append(st, STORE_LOG_SYSTEM, line.p);
    fs_buf_free(&line);
}

/* Parses and queues the lines of text[0..len) ('\n'-separated, no final
 * '\n'). All or nothing. Returns 0 or a negative errno; on error the reason
 * is in the response and the log. */
static int commit(struct store *st, struct fs_writer *w, const char *text,
                  size_t len)
{
    size_t n = 1;
    for (size_t i = 0; i < len; i++)
        n += text[i] == '\n';
    if (n > STORE_MAX_BATCH) {
        char reason[96];
        snprintf(reason, sizeof reason,
                 "too many lines in one write (at most %d)", STORE_MAX_BATCH);
        reject(st, w, 0, reason);
        return -EFBIG;
    }

    struct task_def *defs = calloc(n, sizeof *defs);
    struct store_task_new *tasks = calloc(n, sizeof *tasks);
    uint64_t *ids = calloc(n, sizeof *ids);
    int rc = defs && tasks && ids ? 0 : -ENOMEM;
    if (rc)
        reject(st, w, 0, "out of memory");

    const char *p = text, *end = text + len;
    for (size_t k = 0; rc == 0 && k < n; k++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char err[512] = "";
        rc = task_parse_line(p, ll, &defs[k], err, sizeof err);
        if (rc) {
            reject(st, w, k + 1, err[0] ? err : strerror(-rc));
            if (rc != -EFBIG && rc != -ENOMEM)
                rc = -EINVAL;
            break;
        }
        tasks[k].def_json = defs[k].json;
        tasks[k].priority = defs[k].priority;
        tasks[k].source = STORE_SOURCE_USER;
        p = nl ? nl + 1 : end;
    }

    if (rc == 0) {
        rc = store_task_enqueue(st, tasks, n, ids);
        if (rc) {
            char reason[160];
            snprintf(reason, sizeof reason, "store: %s", store_strerror(rc));
            reject(st, w, 0, reason);
            /* A full disk says so (df tells the user what to do); other
             * failures of the store are its own. */
            if (rc != -ENOMEM && rc != -ENOSPC && rc != -EDQUOT &&
                rc != -EROFS)
                rc = -EIO;
        }
    }
    if (rc == 0) {
        char id[STORE_ID_MAX];
        for (size_t k = 0; k < n; k++) {
            /* The tasks are queued; a response we cannot grow loses only
             * the echo of their ids (they are in the log too). */
            if (fs_buf_adds(&w->response, store_id_format(ids[k], id)) ||
                fs_buf_add(&w->response, "\n", 1))
                break;
        }
        log_queued(st, ids, n);
    }

    if (defs)
        for (size_t k = 0; k < n; k++)
            task_def_free(&defs[k]);
    free(defs);
    free(tasks);
    free(ids);
    return rc;
}

static int too_long(struct store *st, struct fs_writer *w)
{
    char reason[96];
    snprintf(reason, sizeof reason, "line longer than %d bytes",
             TASK_MAX_LINE);
    reject(st, w, 0, reason);
    fs_buf_free(&w->pending);
    w->discarding = 1;
    return -EFBIG;
}

static int write_locked(struct store *st, struct fs_writer *w,
                        const char *buf, size_t size)
{
    if (w->discarding) {
        const char *nl = memchr(buf, '\n', size);
        if (!nl)
            return -EFBIG;
        w->discarding = 0;
        size_t skip = (size_t)(nl + 1 - buf);
        buf += skip;
        size -= skip;
    }

    const char *last = memrchr(buf, '\n', size);
    if (!last) {
        if (w->pending.len + size > TASK_MAX_LINE)
            return too_long(st, w);
        return fs_buf_add(&w->pending, buf, size);
    }

    size_t head = (size_t)(last - buf);     /* bytes before the last '\n' */
    size_t tail = size - head - 1;          /* bytes after it            */
    if (tail > TASK_MAX_LINE)
        return too_long(st, w);

    int rc;
    if (w->pending.len == 0) {
        rc = commit(st, w, buf, head);
    } else {
        struct fs_buf joined = {0};
        rc = fs_buf_add(&joined, w->pending.p, w->pending.len);
        if (rc == 0)
            rc = fs_buf_add(&joined, buf, head);
        if (rc == 0)
            rc = commit(st, w, joined.p, joined.len);
        fs_buf_free(&joined);
    }
    if (rc)
        return rc;      /* pending stays as it was before this write */

    /* The tasks are committed: the pending line is now the tail. Should
     * memory run out here the tail is lost, but the write must still report
     * success, since the committed tasks cannot be taken back. */
    w->pending.len = 0;
    if (fs_buf_add(&w->pending, last + 1, tail) != 0)
        reject(st, w, 0, "out of memory: the unfinished last line was lost");
    return 0;
}

int fs_writer_write(struct store *st, struct fs_writer *w, const char *buf,
                    size_t size)
{
    if (size > INT32_MAX)
        return -EFBIG;      /* never: the kernel passes at most max_write */
    pthread_mutex_lock(&w->lock);
    int rc = write_locked(st, w, buf, size);
    pthread_mutex_unlock(&w->lock);
    return rc ? rc : (int)size;
}

int fs_writer_flush(struct store *st, struct fs_writer *w)
{
    int rc = 0;

    pthread_mutex_lock(&w->lock);
    w->discarding = 0;
    if (w->pending.len) {
        rc = commit(st, w, w->pending.p, w->pending.len);
        fs_buf_free(&w->pending);
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}

size_t fs_writer_read(struct fs_writer *w, char *buf, size_t size)
{
    pthread_mutex_lock(&w->lock);
    size_t n = w->response.len - w->cursor;
    if (n > size)
        n = size;
    if (n)
        memcpy(buf, w->response.p + w->cursor, n);
    w->cursor += n;
    pthread_mutex_unlock(&w->lock);
    return n;
}
