/* exec_child.h -- one sandboxed step: the child and its supervision
 * (private to the executor).
 *
 * A run is one or two steps (C compiles first). A step vforks a child that
 * keeps only its stdio and, for test runs, the harness's two descriptors,
 * drops to the run's uid when we are root (RLIMIT_NPROC does not apply to
 * uid 0, and a fresh uid keeps runs apart), sets its limits and execs
 * bwrap (or the program itself without isolation). The calling thread
 * collects the output into capped buffers, kills the process group at the
 * deadline and reaps everything it started.
 */
#ifndef BT_EXEC_CHILD_H
#define BT_EXEC_CHILD_H

#include "exec.h"
#include "buf.h"

#include <stddef.h>
#include <sys/resource.h>

/* The harness's descriptors in the child (docs/sandbox.md). */
#define EXEC_RESFD 3                /* harness verdicts                  */
#define EXEC_NONCEFD 4              /* the nonce, read once then closed  */

/* A byte buffer with a cap: bytes past limit are dropped and counted as
 * truncation, so a writer never blocks on us. A zeroed struct with a
 * limit set is empty. */
struct exec_capbuf {
    struct buf b;               /* NUL-terminated when anything was kept  */
    size_t limit;               /* bytes kept at most                     */
    int truncated;              /* 1: more was written and dropped        */
};

/* Keeps what fits of n bytes. 0 or -ENOMEM. */
int exec_capbuf_add(struct exec_capbuf *c, const char *p, size_t n);

/* Frees the bytes; the limit stays. */
void exec_capbuf_free(struct exec_capbuf *c);

/* What one step (compile, or run) needs and gives. */
struct exec_step {
    char *const *argv;          /* NULL-terminated: bwrap ... or the program */
    char *const *envp;
    const char *cwd;            /* EXEC_NONE: the host work dir; else NULL   */
    const struct exec_limits *lim;
    int uid;                    /* -1: stay who we are                       */
    int set_nproc;              /* 1: RLIMIT_NPROC in the child before exec  */
    int stdin_fd;               /* memfd or /dev/null                        */
    int harness;                /* 1: pass EXEC_RESFD and EXEC_NONCEFD       */
    int want_info;              /* 1: pass EXEC_INFOFD (bwrap --info-fd)     */
    const char *nonce;
    /* out */
    int status;                 /* wait status of the child                  */
    struct rusage ru;           /* the child's, plus bwrap's namespace init  */
    double wall_ms;
    int timed_out;
    int exec_errno;             /* the child could not exec: errno           */
    struct exec_capbuf out, err, res, info;
};

/* Starts, execs and supervises one step; blocks for at most the step's
 * timeout plus a grace of 2 s to drain. Returns 0 (the step ran; see
 * s->status, s->timed_out, s->exec_errno) or -errno when it could not be
 * started or supervised (the tree is killed then). */
int exec_step_run(struct exec_step *s, enum exec_isolation iso);

#endif /* BT_EXEC_CHILD_H */
