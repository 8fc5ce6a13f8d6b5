/* exec_bwrap.c -- the bubblewrap command line of a sandboxed step
 * (exec_bwrap.h).
 *
 * Every choice here is one of isolation: what the code cannot reach is
 * what is not named. Nothing of the host but the system directories
 * exists inside (home directories, /var, /work, /mnt, the data directory,
 * the FUSE mount are absent), and the root itself is read-only.
 */
#include "exec_bwrap.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void exec_argv_add(struct exec_argv *a, const char *s)
{
    if (a->oom)
        return;
    char **p = realloc(a->v, (a->n + 2) * sizeof *p);
    if (!p || !(s = strdup(s))) {
        if (p)
            a->v = p;
        a->oom = 1;
        return;
    }
    a->v = p;
    a->v[a->n++] = (char *)s;
    a->v[a->n] = NULL;
}

void exec_argv_free(struct exec_argv *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    memset(a, 0, sizeof *a);
}

char *exec_argv_join(char *const *v)
{
    size_t len = 1;
    for (char *const *p = v; *p; p++)
        len += strlen(*p) * 2 + 3;
    char *s = malloc(len), *o = s;
    if (!s)
        return NULL;
    for (char *const *p = v; *p; p++) {
        if (p != v)
            *o++ = ' ';
        int quote = !**p || strpbrk(*p, " \t\n'\"\\$") != NULL;
        if (quote)
            *o++ = '\'';
        for (const char *c = *p; *c; c++) {
            if (*c == '\'' && quote) {
                *o++ = '\\';
            }
            *o++ = *c;
        }
        if (quote)
            *o++ = '\'';
    }
    *o = '\0';
    return s;
}

static void add3(struct exec_argv *a, const char *x, const char *y,
                 const char *z)
{
    exec_argv_add(a, x);
    exec_argv_add(a, y);
    exec_argv_add(a, z);
}

/* Of /etc only what the dynamic loader and Debian's alternatives need. */
int exec_bwrap_system(struct exec_argv *out)
{
    static const char *const top[] = {"bin", "sbin", "lib", "lib32",
                                      "lib64", "libx32"};
    static const char *const etc[] = {"/etc/ld.so.cache", "/etc/ld.so.conf",
                                      "/etc/ld.so.conf.d", "/etc/alternatives"};
    add3(out, "--ro-bind", "/usr", "/usr");
    for (size_t i = 0; i < sizeof top / sizeof top[0]; i++) {
        char path[64], target[PATH_MAX];
        snprintf(path, sizeof path, "/%s", top[i]);
        struct stat st;
        if (lstat(path, &st) < 0)
            continue;
        if (S_ISLNK(st.st_mode)) {
            ssize_t n = readlink(path, target, sizeof target - 1);
            if (n <= 0)
                continue;
            target[n] = '\0';
            add3(out, "--symlink", target, path);
        } else if (S_ISDIR(st.st_mode)) {
            add3(out, "--ro-bind", path, path);
        }
    }
    for (size_t i = 0; i < sizeof etc / sizeof etc[0]; i++)
        add3(out, "--ro-bind-try", etc[i], etc[i]);
    return out->oom ? -ENOMEM : 0;
}

/* Every namespace bwrap can make (net, pid, ipc, uts, cgroup, user), die
 * with us, a new session against TIOCSTI, the system read-only, fresh
 * /proc, /dev and /tmp, the work dir the only writable host path, the root
 * itself read-only, and a scrubbed environment. */
void exec_bwrap_prefix(struct exec_argv *a, const char *bwrap,
                       const struct exec_argv *system, const char *workdir,
                       long procs, int nproc_inside)
{
    static const char *const head[] = {
        "--unshare-all", "--die-with-parent", "--new-session",
        "--hostname", "sandbox", NULL};
    static const char *const tail[] = {
        "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
        "--clearenv", "--setenv", "PATH", SANDBOX_PATH,
        "--setenv", "HOME", SANDBOX_WORK, "--setenv", "LANG", "C.UTF-8",
        "--setenv", "TMPDIR", "/tmp", NULL};
    char infofd[16];
    snprintf(infofd, sizeof infofd, "%d", EXEC_INFOFD);
    exec_argv_add(a, bwrap);
    for (const char *const *h = head; *h; h++)
        exec_argv_add(a, *h);
    for (size_t i = 0; i < system->n; i++)
        exec_argv_add(a, system->v[i]);
    for (const char *const *t = tail; *t; t++)
        exec_argv_add(a, *t);
    exec_argv_add(a, "--bind");
    exec_argv_add(a, workdir);
    exec_argv_add(a, SANDBOX_WORK);
    exec_argv_add(a, "--remount-ro");
    exec_argv_add(a, "/");
    exec_argv_add(a, "--chdir");
    exec_argv_add(a, SANDBOX_WORK);
    exec_argv_add(a, "--info-fd");
    exec_argv_add(a, infofd);
    exec_argv_add(a, "--");
    if (nproc_inside) {
        /* not root: RLIMIT_NPROC before bwrap would count every process
         * of the user; inside bwrap's user namespace it counts the run */
        char lim[64];
        snprintf(lim, sizeof lim, "ulimit -u %ld && exec \"$@\"", procs);
        exec_argv_add(a, "/bin/bash");   /* dash has no ulimit -u */
        exec_argv_add(a, "-c");
        exec_argv_add(a, lim);
        exec_argv_add(a, "sh");
    }
}
