/* control.c -- the writable control file: pause, resume, cancel.
 *
 * A write holds one command a line. It is parsed and checked as a whole
 * before anything is done, so `echo 'cancel task_000009' > control` either
 * does all it says or fails (EINVAL for a line that is not a command,
 * ENOENT for a task that does not exist) and does nothing.
 *
 * Cancelling: a queued task is finished as "cancelled" in one store
 * transaction that checks it is still queued (store_task_cancel_queued);
 * a running one is asked to stop through the live status object, and the
 * builder holding it records it as cancelled at its next step; a finished
 * one stays as it is (the log says so).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "fs_internal.h"
#include "status.h"
#include "store.h"

void fs_control_free(struct fs_control *c)
{
    free(c->cancel);
    c->cancel = NULL;
    c->ncancel = 0;
}

/* "task_000042" (canonical), "000042" or "42". */
static int parse_task_id(const char *s, size_t len, uint64_t *id)
{
    char buf[STORE_ID_MAX];
    uint64_t v = 0;

    if (len > 5 && memcmp(s, "task_", 5) == 0)
        return store_id_parse(s, len, id);
    if (len == 0 || len >= sizeof buf)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -EINVAL;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -EINVAL;
        v = v * 10 + d;
    }
    if (v == 0)
        return -EINVAL;
    *id = v;
    return 0;
}

static int push_id(struct fs_control *c, uint64_t id, size_t *cap)
{
    if (c->ncancel == *cap) {
        size_t n = *cap ? *cap * 2 : 8;
        uint64_t *p = realloc(c->cancel, n * sizeof *p);
        if (!p)
            return -ENOMEM;
        c->cancel = p;
        *cap = n;
    }
    c->cancel[c->ncancel++] = id;
    return 0;
}

/* Next word of [*p, end): sets *w and its length, advances *p. */
static size_t next_word(const char **p, const char *end, const char **w)
{
    while (*p < end && isspace((unsigned char)**p))
        (*p)++;
    *w = *p;
    while (*p < end && !isspace((unsigned char)**p))
        (*p)++;
    return (size_t)(*p - *w);
}

int fs_control_parse(const char *buf, size_t size, struct fs_control *out)
{
    const char *p = buf, *end = buf + size;
    size_t cap = 0;

    int any = 0;

    memset(out, 0, sizeof *out);
    out->pause = -1;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end, *w;
        size_t wl = next_word(&p, le, &w);

        any |= wl > 0;
        if (wl == 5 && memcmp(w, "pause", 5) == 0) {
            out->pause = 1;
        } else if (wl == 6 && memcmp(w, "resume", 6) == 0) {
            out->pause = 0;
        } else if (wl == 6 && memcmp(w, "cancel", 6) == 0) {
            size_t before = out->ncancel;
            while ((wl = next_word(&p, le, &w)) > 0) {
                uint64_t id;
                if (parse_task_id(w, wl, &id) < 0)
                    return -EINVAL;
                if (push_id(out, id, &cap) < 0)
                    return -ENOMEM;
            }
            if (out->ncancel == before)
                return -EINVAL;     /* "cancel" names no task */
        } else if (wl > 0) {
            return -EINVAL;
        }
        if (next_word(&p, le, &w) > 0)
            return -EINVAL;         /* "pause now" */
        p = nl ? nl + 1 : end;
    }
    return any ? 0 : -EINVAL;      /* an empty write says nothing */
}

static int exists_cb(void *c, uint64_t key, const char *val, size_t len)
{
    (void)c; (void)key; (void)val; (void)len;
    return 0;
}

static int status_cb(void *c, uint64_t key, const char *val, size_t len)
{
    (void)key;
    /* The status field is near the end of a task document; a full parse
     * is not needed to learn it. */
    static const char *const names[] = { "passed", "failed", "error",
                                         "cancelled" };
    char *doc = strndup(val, len);
    if (!doc)
        return -ENOMEM;
    const char *s = strstr(doc, "\"status\":\"");
    for (size_t i = 0; s && i < sizeof names / sizeof names[0]; i++)
        if (strncmp(s + 10, names[i], strlen(names[i])) == 0 &&
            s[10 + strlen(names[i])] == '"')
            snprintf(c, 16, "%s", names[i]);
    free(doc);
    return 0;
}

int fs_control_apply(struct fs_context *ctx, const struct fs_control *c)
{
    struct store_view *v;
    char name[STORE_ID_MAX], line[256];
    int rc;

    /* Every task must exist before anything is done. */
    if (c->ncancel) {
        rc = store_view_begin(ctx->store, &v);
        if (rc)
            return rc;
        for (size_t i = 0; i < c->ncancel && rc == 0; i++)
            rc = store_view_get(v, STORE_COLL_TASKS, c->cancel[i],
                                exists_cb, NULL);
        store_view_end(v);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < c->ncancel; i++) {
        uint64_t id = c->cancel[i];
        store_id_format(id, name);
        rc = store_task_cancel_queued(ctx->store, id, "cancelled by control "
                                      "while queued");
        if (rc == -EBUSY) {
            rc = ctx->status ? status_cancel_request(ctx->status, id)
                             : -ENOSYS;
            snprintf(line, sizeof line, "control: cancel %s: %s", name,
                     rc == 0 ? "running, stops at its next step"
                             : "running, but too many cancels wait");
            (void)store_log_append(ctx->store, STORE_LOG_SYSTEM, line);
            if (rc)
                return -EAGAIN;
        } else if (rc == -EALREADY) {
            char st[16] = "finished";
            if (store_view_begin(ctx->store, &v) == 0) {
                (void)store_view_get(v, STORE_COLL_TASKS, id, status_cb, st);
                store_view_end(v);
            }
            snprintf(line, sizeof line, "control: cancel %s: already %s, "
                     "left as it is", name, st);
            (void)store_log_append(ctx->store, STORE_LOG_SYSTEM, line);
        } else if (rc < 0) {
            return rc;
        }
    }
    if (c->pause >= 0) {
        rc = store_set_paused(ctx->store, c->pause);
        if (rc)
            return rc;
        (void)store_log_append(ctx->store, STORE_LOG_SYSTEM,
                               c->pause ? "control: paused"
                                        : "control: resumed");
    }
    return 0;
}
