/* exec_child.c -- one sandboxed step: spawn, exec, limits, supervision
 * (exec_child.h).
 *
 * The child is made with vfork: it shares our memory until it execs, so
 * starting it copies no page tables and leaves no copy-on-write faults
 * behind for every thread of ours that writes afterwards (a fork cost
 * several milliseconds a run here, most of the harness's own time per
 * task). Sharing memory is why the child makes system calls only, never a
 * libc call that keeps state: ids are changed with raw calls (glibc's
 * setuid would signal our other threads to change theirs too), and every
 * signal is blocked around the vfork and the child resets each handler
 * before unblocking, so none of our handlers ever runs on our memory in
 * the child. The limits come last and execve is made as a bare system
 * call, because under a sanitizer every libc call may map memory for the
 * sanitizer's own books, which a lowered RLIMIT_AS would refuse
 * (ThreadSanitizer turns vfork into fork itself). The parent polls the
 * child's output into capped buffers until it exits or the deadline
 * passes, kills the whole tree, and reaps bwrap's namespace init too,
 * which holds the code's CPU time and peak memory.
 */
#include "exec_child.h"

#include "exec_bwrap.h"
#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define KILL_GRACE_MS 2000          /* drain after the kill, at most    */

/* Bytes past the cap are counted and dropped, so the writer never blocks
 * on us. */
int exec_capbuf_add(struct exec_capbuf *c, const char *p, size_t n)
{
    if (c->b.len + n > c->limit) {
        c->truncated = 1;
        n = c->limit - c->b.len;
    }
    if (n == 0)
        return 0;
    return buf_add(&c->b, p, n);
}

void exec_capbuf_free(struct exec_capbuf *c)
{
    buf_free(&c->b);
    c->truncated = 0;
}

static void set_rlimit(int res, rlim_t v)
{
    struct rlimit rl = {v, v};
    /* a bare system call: see the top of the file; in the child there is
     * nothing to report a failure to */
    syscall(SYS_prlimit64, 0, res, &rl, NULL);
}

/* Signals our handlers catch go back to their default in the child before
 * it unblocks them: a handler run there would run on our memory. SIGPIPE
 * is reset even when ignored, since an ignored signal stays ignored across
 * exec and the run's programs expect to die of it. */
static void reset_handlers(void)
{
    for (int sig = 1; sig < NSIG; sig++) {
        struct sigaction old;
        if (sigaction(sig, NULL, &old) < 0)
            continue;
        if (old.sa_handler != SIG_DFL &&
            (old.sa_handler != SIG_IGN || sig == SIGPIPE)) {
            struct sigaction dfl = {.sa_handler = SIG_DFL};
            sigaction(sig, &dfl, NULL);
        }
    }
}

/* Runs in the vforked child, on our memory: system calls only (see the top
 * of the file). Every needed descriptor is first moved above 10 so that
 * the dup2s into 0..4 cannot clobber one another; everything else is
 * closed (the FUSE device, LMDB, curl sockets and other runs' pipes
 * included). */
static void __attribute__((noreturn))
child_exec(const struct exec_step *s, int in, int outw, int errw, int resw,
           int noncer, int errpipe, int infow)
{
    int fds[5] = {in, outw, errw, resw, noncer};
    int n = s->harness ? 5 : 3;
    int high[5];
    for (int i = 0; i < n; i++)
        if ((high[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 10)) < 0)
            goto fail;
    int ep = fcntl(errpipe, F_DUPFD_CLOEXEC, 10);
    int ip = fcntl(infow, F_DUPFD_CLOEXEC, 10);
    if (ep < 0 || ip < 0 || dup3(ep, 5, O_CLOEXEC) < 0 || dup2(ip, EXEC_INFOFD) < 0)
        goto fail;
    for (int i = 0; i < n; i++)
        if (dup2(high[i], i) < 0)
            goto fail;
    if (syscall(SYS_close_range, EXEC_INFOFD + 1u, ~0u, 0u) < 0) {
        for (int fd = EXEC_INFOFD + 1; fd < 4096; fd++)
            close(fd);
    }
    if (!s->want_info)
        close(EXEC_INFOFD);
    errpipe = 5;
    if (!s->harness) {
        close(EXEC_RESFD);
        close(EXEC_NONCEFD);
    }
    /* our own process group, so a timeout can kill bwrap and its kin at once */
    setpgid(0, 0);
    if (s->uid >= 0) {
        /* RLIMIT_NPROC is never enforced for uid 0; a uid of the run's own
         * makes it count only this run's processes. Raw calls: glibc's
         * would change the ids of our other threads too. */
        unsigned long id = (unsigned long)(unsigned)s->uid;
        if (syscall(SYS_setgroups, 0L, NULL) < 0 ||
            syscall(SYS_setresgid, id, id, id) < 0 ||
            syscall(SYS_setresuid, id, id, id) < 0)
            goto fail;
    }
    if (s->cwd && chdir(s->cwd) < 0)
        goto fail;
    reset_handlers();
    sigset_t none;
    sigemptyset(&none);
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, _NSIG / 8);
    const struct exec_limits *l = s->lim;
    set_rlimit(RLIMIT_CORE, 0);
    set_rlimit(RLIMIT_CPU, (rlim_t)l->cpu_s);
    set_rlimit(RLIMIT_FSIZE, (rlim_t)l->file_mb << 20);
    set_rlimit(RLIMIT_NOFILE, (rlim_t)l->nofile);
    if (s->set_nproc)
        set_rlimit(RLIMIT_NPROC, (rlim_t)l->procs);
    set_rlimit(RLIMIT_AS, (rlim_t)l->memory_mb << 20);
    syscall(SYS_execve, s->argv[0], s->argv, s->envp);
fail:;
    int e = errno;
    if (write(errpipe, &e, sizeof e) < 0) {
        /* the parent will see a failed run either way */
    }
    _exit(127);
}

/* Starts child_exec in a vfork child, with every signal blocked until it
 * has reset its handlers. Apart from exec_step_run so that nothing of that
 * frame lives across the vfork. The child's pid, or -errno. */
static pid_t spawn(const struct exec_step *s, int outw, int errw, int resw,
                   int noncer, int errpipe, int infow)
{
    sigset_t block, old;
    pid_t pid;
    int e;

    sigfillset(&block);
    pthread_sigmask(SIG_SETMASK, &block, &old);
    pid = vfork();
    if (pid == 0)
        child_exec(s, s->stdin_fd, outw, errw, resw, noncer, errpipe, infow);
    e = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return pid < 0 ? -e : pid;
}

static int pidfd_open_(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

static void kill_tree(pid_t pid, int uid, enum exec_isolation iso)
{
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    /* Without bwrap's PID namespace a setsid()'d daemon leaves our group;
     * when the run has a uid of its own, kill everything that uid owns
     * (kill(-1) as that uid reaches nothing else). */
    if (iso == EXEC_NONE && uid > 0) {
        pid_t k = fork();
        if (k == 0) {
            if (setgroups(0, NULL) == 0 && setgid((gid_t)uid) == 0 &&
                setuid((uid_t)uid) == 0)
                kill(-1, SIGKILL);
            _exit(0);
        }
        if (k > 0)
            while (waitpid(k, NULL, 0) < 0 && errno == EINTR) {}
    }
}

int exec_step_run(struct exec_step *s, enum exec_isolation iso)
{
    int outp[2] = {-1, -1}, errp[2] = {-1, -1}, resp[2] = {-1, -1};
    int noncep[2] = {-1, -1}, failp[2] = {-1, -1}, infop[2] = {-1, -1};
    int pfd = -1, rc = 0;
    pid_t pid = -1;

    if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
        pipe2(resp, O_CLOEXEC) < 0 || pipe2(noncep, O_CLOEXEC) < 0 ||
        pipe2(failp, O_CLOEXEC) < 0 || pipe2(infop, O_CLOEXEC) < 0) {
        rc = -errno;
        goto out;
    }
    if (s->harness) {
        size_t n = strlen(s->nonce);
        if (write(noncep[1], s->nonce, n) != (ssize_t)n ||
            write(noncep[1], "\n", 1) != 1) {
            rc = -EIO;
            goto out;
        }
    }
    close(noncep[1]);
    noncep[1] = -1;

    double start = clock_mono_ms();
    pid = spawn(s, outp[1], errp[1], resp[1], noncep[0], failp[1], infop[1]);
    if (pid < 0) {
        rc = pid;
        goto out;
    }
    setpgid(pid, pid);  /* also in the parent: no window before the kill */
    close(outp[1]);
    close(errp[1]);
    close(resp[1]);
    close(failp[1]);
    close(infop[1]);
    outp[1] = errp[1] = resp[1] = failp[1] = infop[1] = -1;
    pfd = pidfd_open_(pid);

    double deadline = start + (double)s->lim->timeout_ms;
    double kill_at = -1;        /* when the tree was killed, or -1      */
    int exited = 0;             /* the pidfd said the child is gone     */
    int open_fds[4] = {outp[0], errp[0], resp[0], infop[0]};
    struct exec_capbuf *bufs[4] = {&s->out, &s->err, &s->res, &s->info};
    s->info.limit = 4096;
    for (;;) {
        struct pollfd p[5];
        int np = 0, map[5];
        for (int i = 0; i < 4; i++)
            if (open_fds[i] >= 0) {
                p[np] = (struct pollfd){.fd = open_fds[i], .events = POLLIN};
                map[np++] = i;
            }
        if (pfd >= 0 && !exited) {
            p[np] = (struct pollfd){.fd = pfd, .events = POLLIN};
            map[np++] = 4;
        }
        if (np == 0)
            break;
        double now = clock_mono_ms();
        if (kill_at < 0 && now >= deadline) {
            s->timed_out = 1;
            kill_tree(pid, s->uid, iso);
            kill_at = now;
        }
        /* after the kill (or after exit, for EXEC_NONE's stragglers) drain
         * for a bounded time: a writer we cannot kill must not hang us */
        if (kill_at >= 0 && now - kill_at > KILL_GRACE_MS)
            break;
        double until = kill_at >= 0 ? kill_at + KILL_GRACE_MS : deadline;
        int wait = (int)(until - now) + 1;
        int n = poll(p, (nfds_t)np, wait > 0 ? wait : 0);
        if (n < 0 && errno != EINTR) {
            rc = -errno;
            kill_tree(pid, s->uid, iso);
            break;
        }
        for (int i = 0; n > 0 && i < np; i++) {
            if (!p[i].revents)
                continue;
            if (map[i] == 4) {
                exited = 1;
                /* the child is gone; whatever is left holding our pipes
                 * (EXEC_NONE only: bwrap's namespace died with it) goes too */
                if (kill_at < 0) {
                    kill_tree(pid, s->uid, iso);
                    kill_at = clock_mono_ms();
                }
                continue;
            }
            char chunk[65536];
            ssize_t r = read(open_fds[map[i]], chunk, sizeof chunk);
            if (r > 0) {
                if (exec_capbuf_add(bufs[map[i]], chunk, (size_t)r) < 0) {
                    rc = -ENOMEM;
                    kill_tree(pid, s->uid, iso);
                    goto reap;
                }
            } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
                close(open_fds[map[i]]);
                open_fds[map[i]] = -1;
                int *owner[4] = {&outp[0], &errp[0], &resp[0], &infop[0]};
                *owner[map[i]] = -1;
            }
        }
    }
reap:
    for (;;) {
        pid_t w = wait4(pid, &s->status, 0, &s->ru);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            rc = rc ? rc : -errno;
            break;
        }
    }
    /* bwrap exits as soon as its namespace's init reports the command's
     * status, before anyone reaps that init, so the command's CPU and
     * memory are in the init's rusage, not bwrap's. exec_create made us a
     * subreaper: the orphaned init (its pid from --info-fd) is ours to reap,
     * and only then can it be killed safely (its pid cannot be reused while
     * it is our unreaped child); killing it ends anything left inside. */
    const char *cp = s->info.b.p ? strstr(s->info.b.p, "\"child-pid\"") : NULL;
    pid_t initpid = cp ? (pid_t)atol(cp + strcspn(cp, "0123456789")) : 0;
    if (initpid > 0) {
        struct rusage ru;
        int st;
        pid_t w;
        while ((w = wait4(initpid, &st, WNOHANG, &ru)) < 0 && errno == EINTR) {}
        if (w == 0) {
            kill(initpid, SIGKILL);
            while ((w = wait4(initpid, &st, 0, &ru)) < 0 && errno == EINTR) {}
        }
        if (w == initpid) {
            s->ru.ru_utime.tv_sec += ru.ru_utime.tv_sec;
            s->ru.ru_utime.tv_usec += ru.ru_utime.tv_usec;
            s->ru.ru_stime.tv_sec += ru.ru_stime.tv_sec;
            s->ru.ru_stime.tv_usec += ru.ru_stime.tv_usec;
            if (ru.ru_maxrss > s->ru.ru_maxrss)
                s->ru.ru_maxrss = ru.ru_maxrss;
        }
    }
    s->wall_ms = clock_mono_ms() - start;
    int e = 0;
    if (read(failp[0], &e, sizeof e) == (ssize_t)sizeof e)
        s->exec_errno = e;
out:
    {
        int all[] = {outp[0], outp[1], errp[0], errp[1], resp[0], resp[1],
                     noncep[0], noncep[1], failp[0], failp[1], infop[0],
                     infop[1], pfd};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
            if (all[i] >= 0)
                close(all[i]);
    }
    return rc;
}
