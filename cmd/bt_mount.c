/* bt_mount.c -- bt's way to the filesystem: finding the mount, reading
 * its files whole, loading its JSON documents (bt_mount.h).
 *
 * Everything bt knows comes through here or through a plain write(2) of
 * the command that owns it: bt opens no store.
 */
#include "bt_mount.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bt_err.h"
#include "bt_render.h"
#include "util/buf.h"

/* ---- Files under the mount ----------------------------------------------------- */

/* Returns MOUNT/rel, malloc'd, or NULL on ENOMEM. */
char *bt_mount_path(const struct ctx *c, const char *rel)
{
    char *p;

    if (asprintf(&p, "%s/%s", c->mount, rel) < 0)
        return NULL;
    return p;
}

int bt_mount_open(const struct ctx *c, const char *rel, int flags, int *fd,
                  char **path)
{
    if (!(*path = bt_mount_path(c, rel)))
        return bt_oom();
    *fd = open(*path, flags | O_CLOEXEC);
    if (*fd < 0) {
        bt_err("cannot open %s: %s", *path, strerror(errno));
        free(*path);
        *path = NULL;
        return EXIT_FAIL;
    }
    return 0;
}

/* Reads everything from fd until EOF into a NUL-terminated malloc'd buffer.
 * The size is not taken from fstat: control and tasks/new have none that
 * means anything, and a reader must not trust it anyway. Returns 0 or
 * -errno; on error *out is untouched. */
int bt_read_fd(int fd, char **out, size_t *outlen)
{
    struct buf b = { 0 };

    for (;;) {
        if (buf_reserve(&b, 4096) < 0)
            return -ENOMEM;
        b.p[b.len] = '\0';     /* reserve alone leaves it unterminated */
        ssize_t n = read(fd, b.p + b.len, b.cap - b.len - 1);
        if (n < 0) {
            int e = errno;
            if (e == EINTR)
                continue;
            buf_free(&b);
            return -e;
        }
        if (n == 0)
            break;
        b.len += (size_t)n;
    }
    if (outlen)
        *outlen = b.len;
    *out = buf_take(&b);
    return 0;
}

/* Reads MOUNT/rel whole. Returns 0 or -errno (nothing printed). */
int bt_mount_read(const struct ctx *c, const char *rel, char **out,
                  size_t *len)
{
    char *path = bt_mount_path(c, rel);
    int fd, rc;

    if (!path)
        return -ENOMEM;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        free(path);
        return rc;
    }
    rc = bt_read_fd(fd, out, len);
    close(fd);
    free(path);
    return rc;
}

/* Reads and parses MOUNT/rel. Prints the problem and returns EXIT_FAIL on
 * failure; on success *text (if not NULL) keeps the raw bytes. */
int bt_mount_load_json(const struct ctx *c, const char *rel, cJSON **out,
                       char **text)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = bt_mount_read(c, rel, &buf, &len);

    if (rc < 0) {
        if (rc == -ENOMEM)
            return bt_oom();
        bt_err("cannot read %s/%s: %s", c->mount, rel, strerror(-rc));
        return EXIT_FAIL;
    }
    *out = cJSON_ParseWithLength(buf, len);
    if (!*out) {
        bt_err("%s/%s is not valid JSON", c->mount, rel);
        free(buf);
        return EXIT_FAIL;
    }
    if (text)
        *text = buf;
    else
        free(buf);
    return 0;
}

cJSON *bt_mount_parse(const struct ctx *c, const char *rel, int *err)
{
    char *text = NULL;
    int rc = bt_mount_read(c, rel, &text, NULL);
    cJSON *j;

    if (rc < 0) {
        *err = rc;
        return NULL;
    }
    j = cJSON_Parse(text);
    free(text);
    if (!j)
        *err = -EBADMSG;
    return j;
}

/* ---- Documents --------------------------------------------------------------------- */

/* Loads a document; with --json prints it as is and sets *done. */
int bt_mount_load_doc(const struct ctx *c, const char *rel, cJSON **doc,
                      bool *done)
{
    char *text = NULL;
    int rc = bt_mount_load_json(c, rel, doc, &text);

    *done = false;
    if (rc)
        return rc;
    if (c->json) {
        bt_print_raw(text);
        cJSON_Delete(*doc);
        *doc = NULL;
        *done = true;
    }
    free(text);
    return 0;
}

/* A btfs mount shows status.json and tasks/new; anything else is not one. */
int bt_mount_check(const char *dir)
{
    static const char *const need[] = { "status.json", "tasks/new" };
    struct stat st;

    for (size_t i = 0; i < 2; i++) {
        char *p;
        if (asprintf(&p, "%s/%s", dir, need[i]) < 0)
            return bt_oom();
        int rc = stat(p, &st), e = errno;
        free(p);
        if (rc == 0)
            continue;
        if (e == ENOTCONN) {
            bt_err("the btfs mount at %s is not responding: %s (unmount it "
                   "with: fusermount3 -u %s)", dir, strerror(e), dir);
            return EXIT_FAIL;
        }
        if (e != ENOENT && e != ENOTDIR) {
            bt_err("cannot use %s: %s", dir, strerror(e));
            return EXIT_FAIL;
        }
        bt_err("no btfs mount at %s (start it with: btfs --data ./data %s, "
               "or pass --mount)", dir, dir);
        return EXIT_USAGE;
    }
    return 0;
}
