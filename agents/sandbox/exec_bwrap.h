/* exec_bwrap.h -- the command line of one sandboxed step (private to the
 * executor).
 *
 * bubblewrap is configured entirely by its arguments, so what the code can
 * see and do is decided here: which namespaces, which host paths appear
 * (read-only), the one writable directory, the environment. Kept apart from
 * the process handling (exec_child.c) so the isolation can be read, and
 * reviewed, on its own.
 */
#ifndef BT_EXEC_BWRAP_H
#define BT_EXEC_BWRAP_H

#include <stddef.h>

/* PATH inside the sandbox and for finding interpreters on the host. */
#define SANDBOX_PATH "/usr/local/bin:/usr/bin:/bin"
/* Where the work directory appears inside bwrap (also the code's HOME). */
#define SANDBOX_WORK "/work"
/* The descriptor bwrap writes its namespace init's pid to (--info-fd). */
#define EXEC_INFOFD 6

/* A NULL-terminated argument vector of malloc'd strings. A zeroed struct is
 * empty. A failed allocation latches oom: later adds do nothing. */
struct exec_argv {
    char **v;                   /* NULL-terminated once anything was added */
    size_t n;
    int oom;                    /* 1: an allocation failed                 */
};

/* Appends a copy of s. Can't fail (see oom). */
void exec_argv_add(struct exec_argv *a, const char *s);

/* Frees every string and zeroes a. Accepts an empty one. */
void exec_argv_free(struct exec_argv *a);

/* One line for the log: the words joined with spaces, quoted where a shell
 * would need it. malloc'd, or NULL when out of memory. */
char *exec_argv_join(char *const *v);

/* The read-only view of the host's system for every run: /usr, the /bin-
 * and /lib-style entries as the host has them (merged-/usr symlinks or
 * directories) and what the dynamic loader needs of /etc. Computed once,
 * at exec_create, from this host. 0 or -ENOMEM (out may hold part). */
int exec_bwrap_system(struct exec_argv *out);

/* Appends the bwrap prefix to a: bwrap itself, every namespace, the system
 * view, fresh /proc, /dev and /tmp, workdir bound at SANDBOX_WORK as the
 * only writable host path, a scrubbed environment, --info-fd, "--". With
 * nproc_inside, RLIMIT_NPROC is set to procs by a bash inside the sandbox
 * (see exec_child.h for why). The command follows the prefix. */
void exec_bwrap_prefix(struct exec_argv *a, const char *bwrap,
                       const struct exec_argv *system, const char *workdir,
                       long procs, int nproc_inside);

#endif /* BT_EXEC_BWRAP_H */
