/* bt_logs.c -- bt logs: logs/system.log (or logs/events.jsonl), all of it
 * or one task's lines, and with -f the lines as they are added.
 *
 * -f keeps reading the same open file: btfs extends it as lines are added,
 * so no line is read twice or lost between two opens.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bt.h"
#include "bt_err.h"
#include "bt_mount.h"
#include "bt_render.h"
#include "bt_tasks.h"
#include "util/buf.h"

#define LOGS_READ 65536         /* bytes a read asks for at first         */

/* Whether a line names task id (a whole id: task_000001 is not a part of
 * task_0000010). */
static bool names_task(const char *line, size_t len, const char *id)
{
    size_t il = strlen(id);

    for (const char *p = line; p + il <= line + len; p++) {
        p = memmem(p, (size_t)(line + len - p), id, il);
        if (!p)
            return false;
        if (p + il == line + len || p[il] < '0' || p[il] > '9')
            return true;
    }
    return false;
}

/* Prints the complete lines of buf[0..*len) that pass the filter and
 * keeps the partial last line at the start of buf. */
static void emit_lines(char *buf, size_t *len, const char *task)
{
    size_t start = 0;

    for (;;) {
        char *nl = memchr(buf + start, '\n', *len - start);
        if (!nl)
            break;
        size_t ll = (size_t)(nl - (buf + start));
        if (!task || names_task(buf + start, ll, task))
            fwrite(buf + start, 1, ll + 1, stdout);
        start += ll + 1;
    }
    memmove(buf, buf + start, *len - start);
    *len -= start;
}

int cmd_logs(const struct ctx *c, const struct args *a)
{
    bool json = c->json, follow = a->opt[OPT_FOLLOW] != NULL;
    const char *task = a->opt[OPT_TASK];
    const char *rel = json ? "logs/events.jsonl" : "logs/system.log";
    char id[40], *path;
    struct buf b = { 0 };
    int fd, rc;

    if (task && bt_task_id_canon(task, id, sizeof id) < 0) {
        bt_err("'%s' is not a task id (task_000042, 000042 or 42)", task);
        return EXIT_USAGE;
    }
    if ((rc = bt_mount_open(c, rel, O_RDONLY, &fd, &path)))
        return rc;
    if (follow)
        bt_catch_stop();
    while (!bt_stopped()) {
        /* Room for the next read; full means a line longer than what is
         * held, and doubles it. */
        if (b.cap - b.len < 2 && buf_reserve(&b, b.cap ? b.cap : LOGS_READ))
            break;
        ssize_t n = read(fd, b.p + b.len, b.cap - b.len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            bt_err("cannot read %s: %s", path, strerror(errno));
            rc = EXIT_FAIL;
            break;
        }
        if (n == 0) {
            if (!follow)
                break;
            fflush(stdout);
            if (ferror(stdout))
                break;
            /* btfs extends the open file when read past its end. */
            poll(NULL, 0, 300);
            continue;
        }
        b.len += (size_t)n;
        emit_lines(b.p, &b.len, task ? id : NULL);
    }
    if (b.failed)
        rc = bt_oom();
    buf_free(&b);
    free(path);
    close(fd);
    fflush(stdout);
    return rc;
}

