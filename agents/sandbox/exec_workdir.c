/* exec_workdir.c -- the private work directory of one run (exec_workdir.h).
 *
 * The code runs as a uid of its own (when we are root) and may leave
 * anything behind: directories it made unreadable, symlinks to the host,
 * files in the thousands. Removal therefore works on open descriptors
 * (O_NOFOLLOW), stays on the work directory's file system and makes each
 * directory ours to enter before emptying it.
 */
#include "exec_workdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

int exec_workdir_make(const char *base, int uid, char **path)
{
    char *dir;
    *path = NULL;
    if (asprintf(&dir, "%s/bt-exec-XXXXXX", base) < 0)
        return -ENOMEM;
    if (!mkdtemp(dir)) {
        int rc = -errno;
        free(dir);
        return rc;
    }
    if (uid >= 0 && chown(dir, (uid_t)uid, (gid_t)uid) < 0) {
        int rc = -errno;
        exec_workdir_remove(dir);
        free(dir);
        return rc;
    }
    *path = dir;
    return 0;
}

/* Removes everything under the open directory dfd, then closes it. Never
 * follows a symlink (O_NOFOLLOW) or leaves the file system (st_dev), so a
 * link the code planted cannot make us delete outside the work dir. */
static void remove_tree_at(int dfd, dev_t dev)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) == 0)
            continue;
        /* a directory: make it ours to enter (non-root runs), then empty it */
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
            !S_ISDIR(st.st_mode) || st.st_dev != dev)
            continue;
        fchmodat(dirfd(d), e->d_name, 0700, 0);
        int sub = openat(dirfd(d), e->d_name,
                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0)
            remove_tree_at(sub, dev);
        unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
    }
    closedir(d);
}

void exec_workdir_remove(const char *path)
{
    if (!path)
        return;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        struct stat st;
        if (fstat(fd, &st) == 0) {
            fchmod(fd, 0700);
            remove_tree_at(fd, st.st_dev);
        } else {
            close(fd);
        }
    }
    rmdir(path);
}

int exec_workdir_name_ok(const char *name)
{
    if (!name || !*name || name[0] == '/' || strlen(name) > 255)
        return 0;
    const char *p = name;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') ||
            (n == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        p = end ? end + 1 : p + n;
    }
    return 1;
}

int exec_workdir_write(const char *dir, const char *name, const char *data,
                       size_t len, int uid)
{
    char *path;
    if (asprintf(&path, "%s/%s", dir, name) < 0)
        return -ENOMEM;
    int rc = 0;
    for (char *s = path + strlen(dir) + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
            rc = -errno;
        else if (uid >= 0 && chown(path, (uid_t)uid, (gid_t)uid) < 0)
            rc = -errno;
        *s = '/';
        if (rc)
            goto out;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                  0600);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : -EIO;
            break;
        }
        off += (size_t)n;
    }
    if (!rc && uid >= 0 && fchown(fd, (uid_t)uid, (gid_t)uid) < 0)
        rc = -errno;
    if (close(fd) < 0 && !rc)
        rc = -errno;
out:
    free(path);
    return rc;
}
