/* exec.c -- run untrusted generated code under bubblewrap, with limits.
 *
 * One run: make a private work directory (mode 0700, owned by the run's
 * uid), write the code, extra files and, for test runs, a harness; fork a
 * child that sets rlimits, drops to the run's uid when we are root, keeps
 * only its stdio and two harness descriptors, and execs bwrap (or the
 * interpreter itself for EXEC_NONE); poll the child's stdout, stderr and
 * the harness's result pipe into capped buffers until it exits or the
 * deadline passes; kill the tree; reap with wait4 for CPU and memory; remove
 * the work directory without following anything the code left in it.
 */
#include "exec.h"
#include "exec_harness.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SANDBOX_PATH "/usr/local/bin:/usr/bin:/bin"
#define SANDBOX_WORK "/work"        /* the work directory, inside bwrap */
#define RESFD 3                     /* harness verdicts, in the child   */
#define NONCEFD 4                   /* the nonce, read once then closed */
#define INFOFD 6                    /* bwrap --info-fd: its init's pid  */
#define RESULTS_CAP (1u << 20)      /* harness verdict bytes kept       */
#define KILL_GRACE_MS 2000          /* drain after the kill, at most    */

struct exec {
    struct exec_config cfg;     /* strings below are owned copies      */
    char *bwrap;                /* resolved path, or NULL if not found */
    char *work_base;
    char *python, *bash, *gcc;  /* resolved in SANDBOX_PATH, or NULL   */
    char **sysargs;             /* bwrap's mount arguments, NULL-ended */
    size_t nsysargs;
    pthread_mutex_t stats_lock; /* guards stats                        */
    struct exec_stats stats;
};

static atomic_uint run_counter; /* picks per-run uids; the only global */

/* ---- small helpers ---------------------------------------------------- */

static void set_why(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_why(char *why, size_t len, const char *fmt, ...)
{
    if (!why || len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Finds an executable named prog in the colon-separated dirs (prog with a
 * '/' is taken as is). Returns a malloc'd path, or NULL. */
static char *find_program(const char *prog, const char *dirs)
{
    if (!prog || !*prog)
        return NULL;
    if (strchr(prog, '/'))
        return access(prog, X_OK) == 0 ? strdup(prog) : NULL;
    const char *p = dirs;
    while (p && *p) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char *path;
        if (n > 0 && asprintf(&path, "%.*s/%s", (int)n, p, prog) >= 0) {
            if (access(path, X_OK) == 0)
                return path;
            free(path);
        }
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

/* ---- configuration ---------------------------------------------------- */

static const char *const outcome_names[EXEC_OUTCOME__COUNT] = {
    [EXEC_OK] = "ok",
    [EXEC_TESTS_FAILED] = "tests_failed",
    [EXEC_FAILED] = "failed",
    [EXEC_CRASHED] = "crashed",
    [EXEC_TIMEOUT] = "timeout",
    [EXEC_COMPILE_ERROR] = "compile_error",
    [EXEC_SYNTAX_ERROR] = "syntax_error",
    [EXEC_SANDBOX_ERROR] = "sandbox_error",
};

const char *exec_outcome_name(enum exec_outcome o)
{
    if ((unsigned)o >= EXEC_OUTCOME__COUNT)
        return "unknown";
    return outcome_names[o];
}

const char *exec_isolation_name(enum exec_isolation iso)
{
    return iso == EXEC_NONE ? "none" : "bubblewrap";
}

void exec_limits_default(struct exec_limits *lim)
{
    lim->timeout_ms = 10000;
    lim->cpu_s = 10;
    lim->memory_mb = 512;
    lim->procs = 64;
    lim->file_mb = 16;
    lim->output_kb = 64;
    lim->nofile = 256;
}

void exec_config_default(struct exec_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->isolation = EXEC_BUBBLEWRAP;
    cfg->bwrap = "bwrap";
    cfg->work_base = "/tmp";
    cfg->run_uid_base = 200000;
    cfg->run_uid_count = 4096;
    exec_limits_default(&cfg->limits);
    cfg->max.timeout_ms = 120000;
    cfg->max.cpu_s = 120;
    cfg->max.memory_mb = 4096;
    cfg->max.procs = 256;
    cfg->max.file_mb = 256;
    cfg->max.output_kb = 1024;
    cfg->max.nofile = 1024;
}

/* Adds one argument (copied) to ex->sysargs. */
static int sysarg(struct exec *ex, const char *a)
{
    char **p = realloc(ex->sysargs, (ex->nsysargs + 2) * sizeof *p);
    if (!p)
        return -ENOMEM;
    ex->sysargs = p;
    if (!(p[ex->nsysargs] = strdup(a)))
        return -ENOMEM;
    p[++ex->nsysargs] = NULL;
    return 0;
}

static int sysarg3(struct exec *ex, const char *a, const char *b,
                   const char *c)
{
    int rc = sysarg(ex, a);
    if (!rc)
        rc = sysarg(ex, b);
    if (!rc)
        rc = sysarg(ex, c);
    return rc;
}

/* The read-only system view: /usr, the /bin- and /lib-style entries as the
 * host has them (merged-/usr symlinks or directories), and of /etc only
 * what the dynamic loader and Debian's alternatives need. Nothing else of
 * the host (home directories, /var, /work, /mnt, the data directory, the
 * FUSE mount) exists inside. */
static int build_sysargs(struct exec *ex)
{
    static const char *const top[] = {"bin", "sbin", "lib", "lib32",
                                      "lib64", "libx32"};
    static const char *const etc[] = {"/etc/ld.so.cache", "/etc/ld.so.conf",
                                      "/etc/ld.so.conf.d", "/etc/alternatives"};
    int rc = sysarg3(ex, "--ro-bind", "/usr", "/usr");
    if (rc)
        return rc;
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
            rc = sysarg3(ex, "--symlink", target, path);
        } else if (S_ISDIR(st.st_mode)) {
            rc = sysarg3(ex, "--ro-bind", path, path);
        }
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < sizeof etc / sizeof etc[0]; i++)
        if ((rc = sysarg3(ex, "--ro-bind-try", etc[i], etc[i])))
            return rc;
    return 0;
}

int exec_create(const struct exec_config *cfg, struct exec **out)
{
    *out = NULL;
    const struct exec_limits *m = &cfg->max;
    if (m->timeout_ms <= 0 || m->cpu_s <= 0 || m->memory_mb <= 0 ||
        m->procs <= 0 || m->file_mb <= 0 || m->output_kb <= 0 ||
        m->nofile <= 0 || !cfg->work_base || !*cfg->work_base ||
        cfg->run_uid_count == 0 ||
        (uint64_t)cfg->run_uid_base + cfg->run_uid_count > (uint64_t)INT32_MAX)
        return -EINVAL;
    struct exec *ex = calloc(1, sizeof *ex);
    if (!ex)
        return -ENOMEM;
    pthread_mutex_init(&ex->stats_lock, NULL);
    ex->cfg = *cfg;
    ex->work_base = strdup(cfg->work_base);
    ex->bwrap = find_program(cfg->bwrap ? cfg->bwrap : "bwrap", getenv("PATH") ?
                             getenv("PATH") : SANDBOX_PATH);
    if (!ex->bwrap)     /* bwrap is often in /usr/bin even when PATH is odd */
        ex->bwrap = find_program(cfg->bwrap ? cfg->bwrap : "bwrap", SANDBOX_PATH);
    ex->python = find_program("python3", SANDBOX_PATH);
    ex->bash = find_program("bash", SANDBOX_PATH);
    ex->gcc = find_program("gcc", SANDBOX_PATH);
    if (!ex->work_base || build_sysargs(ex) < 0) {
        exec_free(ex);
        return -ENOMEM;
    }
    /* see run_step: bwrap's namespace init is reaped here (process-wide,
     * documented in exec.h) */
    if (cfg->isolation == EXEC_BUBBLEWRAP)
        prctl(PR_SET_CHILD_SUBREAPER, 1);
    ex->cfg.work_base = ex->work_base;
    ex->cfg.bwrap = ex->bwrap ? ex->bwrap : "bwrap";
    *out = ex;
    return 0;
}

void exec_free(struct exec *ex)
{
    if (!ex)
        return;
    for (size_t i = 0; i < ex->nsysargs; i++)
        free(ex->sysargs[i]);
    free(ex->sysargs);
    free(ex->bwrap);
    free(ex->work_base);
    free(ex->python);
    free(ex->bash);
    free(ex->gcc);
    pthread_mutex_destroy(&ex->stats_lock);
    free(ex);
}

const struct exec_config *exec_config(const struct exec *ex)
{
    return &ex->cfg;
}

/* ---- work directory --------------------------------------------------- */

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

static void remove_workdir(const char *path)
{
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

/* name must be relative and stay inside: no "..", no empty components. */
static int name_ok(const char *name)
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

/* Writes one file under dir (creating parent directories), owned by uid
 * when uid >= 0. Returns 0 or -errno. */
static int write_file(const char *dir, const char *name, const char *data,
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

/* ---- one sandboxed step ----------------------------------------------- */

/* A growing byte buffer with a cap; bytes past the cap are counted and
 * dropped, so the writer never blocks on us. */
struct capbuf {
    char *data;
    size_t len, cap, limit;
    int truncated;
};

static int capbuf_add(struct capbuf *b, const char *p, size_t n)
{
    if (b->len + n > b->limit) {
        b->truncated = 1;
        n = b->limit - b->len;
    }
    if (n == 0)
        return 0;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 4096;
        while (ncap < b->len + n + 1)
            ncap *= 2;
        char *d = realloc(b->data, ncap);
        if (!d)
            return -ENOMEM;
        b->data = d;
        b->cap = ncap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

/* What one step (compile, or run) needs and gives. */
struct step {
    char *const *argv;          /* NULL-terminated: bwrap ... or the program */
    char *const *envp;
    const char *cwd;            /* EXEC_NONE: the host work dir; else NULL   */
    const struct exec_limits *lim;
    int uid;                    /* -1: stay who we are                       */
    int set_nproc;              /* 1: RLIMIT_NPROC in the child before exec  */
    int stdin_fd;               /* memfd or /dev/null                        */
    int harness;                /* 1: pass RESFD and NONCEFD                 */
    int want_info;              /* 1: pass INFOFD (bwrap --info-fd)          */
    const char *nonce;
    /* out */
    int status;
    struct rusage ru;
    double wall_ms;
    int timed_out;
    int exec_errno;             /* the child could not exec: errno           */
    struct capbuf out, err, res, info;
};

static void set_rlimit(int res, rlim_t v)
{
    struct rlimit rl = {v, v};
    /* a bare system call: see the end of child_exec; in the child there is
     * nothing to report a failure to */
    syscall(SYS_prlimit64, 0, res, &rl, NULL);
}

/* Runs in the forked child of a multithreaded process: async-signal-safe
 * calls only. Every needed descriptor is first moved above 10 so that the
 * dup2s into 0..4 cannot clobber one another; everything else is closed
 * (the FUSE device, LMDB, curl sockets and other runs' pipes included). */
static void __attribute__((noreturn))
child_exec(const struct step *s, int in, int outw, int errw, int resw,
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
    if (ep < 0 || ip < 0 || dup3(ep, 5, O_CLOEXEC) < 0 || dup2(ip, INFOFD) < 0)
        goto fail;
    for (int i = 0; i < n; i++)
        if (dup2(high[i], i) < 0)
            goto fail;
    if (syscall(SYS_close_range, INFOFD + 1u, ~0u, 0u) < 0) {
        for (int fd = INFOFD + 1; fd < 4096; fd++)
            close(fd);
    }
    if (!s->want_info)
        close(INFOFD);
    errpipe = 5;
    if (!s->harness) {
        close(RESFD);
        close(NONCEFD);
    }
    /* our own process group, so a timeout can kill bwrap and its kin at once */
    setpgid(0, 0);
    if (s->uid >= 0) {
        /* RLIMIT_NPROC is never enforced for uid 0; a uid of the run's own
         * makes it count only this run's processes */
        if (setgroups(0, NULL) < 0 || setgid((gid_t)s->uid) < 0 ||
            setuid((uid_t)s->uid) < 0)
            goto fail;
    }
    if (s->cwd && chdir(s->cwd) < 0)
        goto fail;
    signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* The limits come last and execve is made as a bare system call: under a
     * sanitizer every libc call here may map memory for its own books, and
     * with RLIMIT_AS already lowered that fails inside the child (seen with
     * ThreadSanitizer, whose shadow is far above any run's limit). */
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

/* Forks, execs and supervises one step. Returns 0 (the step ran; see
 * s->status, s->timed_out, s->exec_errno) or -errno when it could not be
 * started. */
static int run_step(struct step *s, enum exec_isolation iso)
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

    double start = now_ms();
    pid = fork();
    if (pid < 0) {
        rc = -errno;
        goto out;
    }
    if (pid == 0)
        child_exec(s, s->stdin_fd, outp[1], errp[1], resp[1], noncep[0],
                   failp[1], infop[1]);
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
    struct capbuf *bufs[4] = {&s->out, &s->err, &s->res, &s->info};
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
        double now = now_ms();
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
                    kill_at = now_ms();
                }
                continue;
            }
            char chunk[65536];
            ssize_t r = read(open_fds[map[i]], chunk, sizeof chunk);
            if (r > 0) {
                if (capbuf_add(bufs[map[i]], chunk, (size_t)r) < 0) {
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
    const char *cp = s->info.data ? strstr(s->info.data, "\"child-pid\"") : NULL;
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
    s->wall_ms = now_ms() - start;
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

/* ---- argv building ---------------------------------------------------- */

struct argv {
    char **v;
    size_t n;
    int oom;
};

static void arg(struct argv *a, const char *s)
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

static void argv_free(struct argv *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    memset(a, 0, sizeof *a);
}

/* The bwrap prefix: every namespace bwrap can make (net, pid, ipc, uts,
 * cgroup, user), die with us, a new session against TIOCSTI, the system
 * read-only, fresh /proc, /dev and /tmp, the work dir the only writable
 * host path, the root itself read-only, and a scrubbed environment. */
static void bwrap_prefix(const struct exec *ex, struct argv *a,
                         const char *workdir)
{
    static const char *const head[] = {
        "--unshare-all", "--die-with-parent", "--new-session",
        "--hostname", "sandbox", NULL};
    static const char *const tail[] = {
        "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
        "--clearenv", "--setenv", "PATH", SANDBOX_PATH,
        "--setenv", "HOME", SANDBOX_WORK, "--setenv", "LANG", "C.UTF-8",
        "--setenv", "TMPDIR", "/tmp", NULL};
    arg(a, ex->bwrap);
    for (const char *const *h = head; *h; h++)
        arg(a, *h);
    for (size_t i = 0; i < ex->nsysargs; i++)
        arg(a, ex->sysargs[i]);
    for (const char *const *t = tail; *t; t++)
        arg(a, *t);
    arg(a, "--bind");
    arg(a, workdir);
    arg(a, SANDBOX_WORK);
    arg(a, "--remount-ro");
    arg(a, "/");
    arg(a, "--chdir");
    arg(a, SANDBOX_WORK);
    arg(a, "--info-fd");
    arg(a, "6");
    arg(a, "--");
}

static char *join_argv(char *const *v)
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

/* ---- results ---------------------------------------------------------- */

static char *dup_text(const struct capbuf *b, size_t *len)
{
    *len = b->len;
    char *s = malloc(b->len + 1);
    if (!s)
        return NULL;
    if (b->len)
        memcpy(s, b->data, b->len);
    s[b->len] = '\0';
    return s;
}

/* Reads the harness's verdict lines; only lines that start with the nonce
 * count. Sets *syntax when the harness reported that the code does not
 * parse. */
static int parse_verdicts(const struct capbuf *b, const char *nonce,
                          struct exec_result *res, int *syntax)
{
    size_t nl = strlen(nonce);
    const char *p = b->data ? b->data : "";
    int seen = 0;
    while (*p) {
        const char *end = strchr(p, '\n');
        if (!end)
            break;      /* a cut last line (killed mid-write) does not count */
        if ((size_t)(end - p) > nl && strncmp(p, nonce, nl) == 0 &&
            p[nl] == ' ') {
            const char *w = p + nl + 1;
            size_t rest = (size_t)(end - w);
            if (rest > 6 && strncmp(w, "total ", 6) == 0) {
                res->tests_total = atoi(w + 6);
            } else if (rest > 5 && strncmp(w, "pass ", 5) == 0) {
                res->tests_passed++;
                seen++;
            } else if ((rest > 5 && strncmp(w, "fail ", 5) == 0) ||
                       (rest > 6 && strncmp(w, "error ", 6) == 0) ||
                       (rest > 7 && strncmp(w, "syntax ", 7) == 0)) {
                if (strncmp(w, "syntax ", 7) == 0)
                    *syntax = 1;
                else
                    seen++;
                if (!res->first_failure) {
                    const char *m = strchr(w, ' ') + 1;
                    /* "fail NAME MSG" -> "NAME: MSG" */
                    const char *sp = w[0] == 'f' ? memchr(m, ' ', (size_t)(end - m)) : NULL;
                    int rc = sp ? asprintf(&res->first_failure, "%.*s: %.*s",
                                           (int)(sp - m), m, (int)(end - sp - 1), sp + 1)
                                : asprintf(&res->first_failure, "%.*s",
                                           (int)(end - m), m);
                    if (rc < 0) {
                        res->first_failure = NULL;
                        return -ENOMEM;
                    }
                }
            }
        }
        p = end + 1;
    }
    if (seen < res->tests_total && !res->first_failure) {
        if (asprintf(&res->first_failure,
                     "only %d of %d tests finished: %s", seen,
                     res->tests_total, res->timed_out ? "timed out" :
                     "the test run ended early") < 0) {
            res->first_failure = NULL;
            return -ENOMEM;
        }
    }
    return 0;
}

/* The last non-blank line of text starts with prefix. */
static int last_line_starts(const char *text, size_t len, const char *prefix)
{
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        len--;
    size_t start = len;
    while (start > 0 && text[start - 1] != '\n')
        start--;
    return strncmp(text + start, prefix, strlen(prefix)) == 0;
}

/* Fills the exit fields from a wait status. bwrap reports a command killed
 * by signal N as exit status 128+N (it cannot do otherwise), so in bwrap
 * mode 129..159 reads as a signal, as a shell would read it. */
static void fill_status(struct exec_result *res, const struct step *s,
                        enum exec_isolation iso)
{
    if (WIFSIGNALED(s->status)) {
        res->signaled = 1;
        res->signal = WTERMSIG(s->status);
    } else if (WIFEXITED(s->status)) {
        int code = WEXITSTATUS(s->status);
        if (iso == EXEC_BUBBLEWRAP && code > 128 && code < 160) {
            res->signaled = 1;
            res->signal = code - 128;
        } else {
            res->exited = 1;
            res->exit_code = code;
        }
    }
    res->timed_out = s->timed_out;
    res->wall_ms = s->wall_ms;
    res->cpu_ms = (double)(s->ru.ru_utime.tv_sec + s->ru.ru_stime.tv_sec) * 1000.0 +
                  (double)(s->ru.ru_utime.tv_usec + s->ru.ru_stime.tv_usec) / 1000.0;
    res->peak_rss_kb = s->ru.ru_maxrss;
}

/* ---- exec_run --------------------------------------------------------- */

static long clamp(long v, long dflt, long max)
{
    if (v <= 0)
        v = dflt;
    if (v <= 0)
        v = 1;
    return v > max ? max : v;
}

static void apply_limits(const struct exec *ex, const struct exec_limits *req,
                         struct exec_limits *out)
{
    const struct exec_limits *d = &ex->cfg.limits, *m = &ex->cfg.max;
    struct exec_limits zero = {0};
    if (!req)
        req = &zero;
    out->timeout_ms = clamp(req->timeout_ms, d->timeout_ms, m->timeout_ms);
    out->cpu_s = clamp(req->cpu_s, d->cpu_s, m->cpu_s);
    out->memory_mb = clamp(req->memory_mb, d->memory_mb, m->memory_mb);
    out->procs = clamp(req->procs, d->procs, m->procs);
    out->file_mb = clamp(req->file_mb, d->file_mb, m->file_mb);
    out->output_kb = clamp(req->output_kb, d->output_kb, m->output_kb);
    out->nofile = clamp(req->nofile, d->nofile, m->nofile);
}

static int make_nonce(char *buf, size_t len)
{
    unsigned char raw[16];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return -EIO;
    for (size_t i = 0; i < sizeof raw && 2 * i + 2 < len; i++)
        snprintf(buf + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

static int make_stdin(const struct exec_request *req)
{
    if (!req->stdin_data || req->stdin_len == 0)
        return open("/dev/null", O_RDONLY | O_CLOEXEC);
    int fd = memfd_create("bt-stdin", MFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t off = 0;
    while (off < req->stdin_len) {
        ssize_t n = write(fd, req->stdin_data + off, req->stdin_len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            close(fd);
            return -e;
        }
        off += (size_t)n;
    }
    if (lseek(fd, 0, SEEK_SET) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

/* Builds the step's argv: the bwrap prefix (or nothing) then cmd. */
static int build_argv(const struct exec *ex, struct argv *a, const char *workdir,
                      const char *const *cmd, long procs, int nproc_inside)
{
    if (ex->cfg.isolation == EXEC_BUBBLEWRAP) {
        bwrap_prefix(ex, a, workdir);
        if (nproc_inside) {
            /* not root: RLIMIT_NPROC before bwrap would count every process
             * of the user; inside bwrap's user namespace it counts the run */
            char lim[64];
            snprintf(lim, sizeof lim, "ulimit -u %ld && exec \"$@\"", procs);
            arg(a, "/bin/bash");   /* dash has no ulimit -u */
            arg(a, "-c");
            arg(a, lim);
            arg(a, "sh");
        }
    }
    for (; *cmd; cmd++)
        arg(a, *cmd);
    return a->oom ? -ENOMEM : 0;
}

static int run_request(struct exec *ex, const struct exec_request *req,
                       struct exec_result *res);

int exec_run(struct exec *ex, const struct exec_request *req,
             struct exec_result *res)
{
    int rc = run_request(ex, req, res);

    if (rc == 0) {
        pthread_mutex_lock(&ex->stats_lock);
        ex->stats.runs++;
        ex->stats.timeouts += res->timed_out != 0;
        ex->stats.wall_ms += res->wall_ms + res->compile_ms;
        ex->stats.cpu_ms += res->cpu_ms;
        pthread_mutex_unlock(&ex->stats_lock);
    }
    return rc;
}

void exec_stats_get(struct exec *ex, struct exec_stats *out)
{
    pthread_mutex_lock(&ex->stats_lock);
    *out = ex->stats;
    pthread_mutex_unlock(&ex->stats_lock);
}

static int run_request(struct exec *ex, const struct exec_request *req,
                       struct exec_result *res)
{
    memset(res, 0, sizeof *res);
    enum exec_isolation iso = ex->cfg.isolation;
    apply_limits(ex, req->limits, &res->limits);
    if (!req->lang || !req->code)
        return -EINVAL;
    int lang = strcmp(req->lang, "python") == 0 ? 'p' :
               strcmp(req->lang, "sh") == 0 ? 's' :
               strcmp(req->lang, "c") == 0 ? 'c' : 0;
    if (!lang)
        return -EINVAL;
    for (size_t i = 0; i < req->nfiles; i++)
        if (!name_ok(req->files[i].name) ||
            (!req->files[i].content && req->files[i].len))
            return -EINVAL;
    const char *prog = lang == 'p' ? ex->python : lang == 's' ? ex->bash : ex->gcc;
    if (!prog || (iso == EXEC_BUBBLEWRAP && !ex->bwrap))
        return -ENOENT;

    int uid = -1;
    if (geteuid() == 0) {
        unsigned slot = ((unsigned)getpid() * 131u +
                         atomic_fetch_add(&run_counter, 1)) % ex->cfg.run_uid_count;
        uid = (int)(ex->cfg.run_uid_base + slot);
    }
    int nproc_inside = uid < 0 && iso == EXEC_BUBBLEWRAP;

    char nonce[40] = "";
    /* envhome is freed at out:, which the set-up below may jump to
     * before it is made (clang -Wsometimes-uninitialized). */
    char *workdir = NULL, *runner = NULL, *envhome = NULL;
    struct argv a = {0};
    struct step s = {0};
    int stdin_fd = -1, rc;

    if (make_nonce(nonce, sizeof nonce) < 0)
        return -EIO;
    if (asprintf(&workdir, "%s/bt-exec-XXXXXX", ex->work_base) < 0)
        return -ENOMEM;
    if (!mkdtemp(workdir)) {
        rc = -errno;
        free(workdir);
        return rc;
    }
    if (uid >= 0 && chown(workdir, (uid_t)uid, (gid_t)uid) < 0) {
        rc = -errno;
        goto out;
    }

    const char *main_name = lang == 'p' ? "main.py" : lang == 's' ? "main.sh" : "main.c";
    if ((rc = write_file(workdir, main_name, req->code, strlen(req->code), uid)))
        goto out;
    for (size_t i = 0; i < req->nfiles; i++)
        if ((rc = write_file(workdir, req->files[i].name, req->files[i].content,
                             req->files[i].len, uid)))
            goto out;
    if (req->tests) {
        const char *tname = lang == 'p' ? "tests.py" : lang == 's' ? "tests.sh" : "tests.c";
        if ((rc = write_file(workdir, tname, req->tests, strlen(req->tests), uid)))
            goto out;
        if (lang == 'p')
            rc = write_file(workdir, "_bt_harness.py", exec_harness_python,
                            strlen(exec_harness_python), uid);
        else if (lang == 's')
            rc = write_file(workdir, "_bt_harness.sh", exec_harness_sh,
                            strlen(exec_harness_sh), uid);
        else {
            size_t ntests;
            rc = write_file(workdir, "_bt_unit.c", exec_harness_c_unit,
                            strlen(exec_harness_c_unit), uid);
            if (!rc && !(runner = exec_harness_c_runner(req->tests, &ntests)))
                rc = -ENOMEM;
            if (!rc)
                rc = write_file(workdir, "_bt_runner.c", runner, strlen(runner), uid);
        }
        if (rc)
            goto out;
    }

    char *hostenv[5];
    char envpath[] = "PATH=" SANDBOX_PATH, envlang[] = "LANG=C.UTF-8",
         envtmp[] = "TMPDIR=/tmp";
    if (asprintf(&envhome, "HOME=%s", iso == EXEC_NONE ? workdir : SANDBOX_WORK) < 0) {
        envhome = NULL;             /* undefined after a failure */
        rc = -ENOMEM;
        goto out;
    }
    hostenv[0] = envpath;
    hostenv[1] = envlang;
    hostenv[2] = envtmp;
    hostenv[3] = envhome;
    hostenv[4] = NULL;
    /* bwrap's own environment is visible in the sandbox's /proc/1/environ;
     * it gets the same scrubbed one as the code */
    s.envp = hostenv;
    s.cwd = iso == EXEC_NONE ? workdir : NULL;
    s.uid = uid;
    s.set_nproc = uid >= 0;
    s.nonce = nonce;
    s.want_info = iso == EXEC_BUBBLEWRAP;

    if (lang == 'c') {
        /* compile first, in the same sandbox, with room for cc1 */
        struct exec_limits cl = res->limits;
        if (cl.timeout_ms < 20000)
            cl.timeout_ms = 20000;
        if (cl.cpu_s < 20)
            cl.cpu_s = 20;
        if (cl.memory_mb < 1024)
            cl.memory_mb = 1024;
        if (cl.procs < 32)
            cl.procs = 32;
        if (cl.file_mb < 64)
            cl.file_mb = 64;
        if (cl.nofile < 256)
            cl.nofile = 256;
        const char *plain[] = {prog, "-std=gnu11", "-O2", "-o", "main", "main.c", "-lm", NULL};
        const char *tested[] = {prog, "-std=gnu11", "-O2", "-o", "_bt_run",
                                "_bt_unit.c", "_bt_runner.c", "-lm", NULL};
        if ((rc = build_argv(ex, &a, workdir, req->tests ? tested : plain,
                             cl.procs, nproc_inside)))
            goto out;
        if ((stdin_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
            rc = -errno;
            goto out;
        }
        s.argv = a.v;
        s.lim = &cl;
        s.stdin_fd = stdin_fd;
        s.out.limit = s.err.limit = (size_t)res->limits.output_kb * 1024;
        s.res.limit = RESULTS_CAP;
        rc = run_step(&s, iso);
        close(stdin_fd);
        stdin_fd = -1;
        if (rc < 0)
            goto out;
        res->compile_ms = s.wall_ms;
        if (s.exec_errno || !WIFEXITED(s.status) || WEXITSTATUS(s.status) != 0 ||
            s.timed_out) {
            fill_status(res, &s, iso);
            res->compile_failed = 1;
            res->outcome = s.timed_out ? EXEC_TIMEOUT : EXEC_COMPILE_ERROR;
            if (s.exec_errno)
                res->outcome = EXEC_SANDBOX_ERROR;
            res->command = join_argv(a.v);
            /* the compiler's words are what the Builder needs to see */
            res->err = dup_text(&s.err, &res->err_len);
            res->err_truncated = s.err.truncated;
            res->out = dup_text(&s.out, &res->out_len);
            res->out_truncated = s.out.truncated;
            if (req->tests) {
                size_t nt = 0;
                char *r2 = exec_harness_c_runner(req->tests, &nt);
                free(r2);
                res->tests_total = (int)nt;
                if (asprintf(&res->first_failure, "compile error") < 0)
                    res->first_failure = NULL;
            }
            if (!res->err || !res->out || !res->command)
                rc = -ENOMEM;
            goto out;
        }
        free(s.out.data);
        free(s.err.data);
        free(s.res.data);
        free(s.info.data);
        memset(&s.out, 0, sizeof s.out);
        memset(&s.err, 0, sizeof s.err);
        memset(&s.res, 0, sizeof s.res);
        memset(&s.info, 0, sizeof s.info);
        memset(&s.ru, 0, sizeof s.ru);
        s.status = 0;
        argv_free(&a);
    }

    char fdres[16], fdnonce[16];
    snprintf(fdres, sizeof fdres, "%d", RESFD);
    snprintf(fdnonce, sizeof fdnonce, "%d", NONCEFD);
    const char *cmd[8] = {0};
    if (lang == 'p' && !req->tests) {
        cmd[0] = prog; cmd[1] = "main.py";
    } else if (lang == 'p') {
        cmd[0] = prog; cmd[1] = "_bt_harness.py"; cmd[2] = fdres;
        cmd[3] = fdnonce; cmd[4] = "main.py"; cmd[5] = "tests.py";
    } else if (lang == 's' && !req->tests) {
        cmd[0] = prog; cmd[1] = "main.sh";
    } else if (lang == 's') {
        cmd[0] = prog; cmd[1] = "_bt_harness.sh"; cmd[2] = fdres;
        cmd[3] = fdnonce; cmd[4] = "main.sh"; cmd[5] = "tests.sh";
    } else if (!req->tests) {
        cmd[0] = "./main";
    } else {
        cmd[0] = "./_bt_run"; cmd[1] = fdres; cmd[2] = fdnonce;
    }
    if ((rc = build_argv(ex, &a, workdir, cmd, res->limits.procs, nproc_inside)))
        goto out;
    if ((stdin_fd = make_stdin(req)) < 0) {
        rc = stdin_fd;
        stdin_fd = -1;
        goto out;
    }
    s.argv = a.v;
    s.lim = &res->limits;
    s.stdin_fd = stdin_fd;
    s.harness = req->tests != NULL;
    s.out.limit = s.err.limit = (size_t)res->limits.output_kb * 1024;
    s.res.limit = RESULTS_CAP;
    s.timed_out = 0;
    s.exec_errno = 0;
    if ((rc = run_step(&s, iso)) < 0)
        goto out;

    fill_status(res, &s, iso);
    res->command = join_argv(a.v);
    res->out = dup_text(&s.out, &res->out_len);
    res->out_truncated = s.out.truncated;
    res->err = dup_text(&s.err, &res->err_len);
    res->err_truncated = s.err.truncated;
    if (!res->command || !res->out || !res->err) {
        rc = -ENOMEM;
        goto out;
    }
    int syntax = 0;
    if (req->tests && (rc = parse_verdicts(&s.res, nonce, res, &syntax)) < 0)
        goto out;

    if (s.exec_errno || (iso == EXEC_BUBBLEWRAP && res->exited &&
                         res->exit_code == 1 && strncmp(res->err, "bwrap: ", 7) == 0))
        res->outcome = EXEC_SANDBOX_ERROR;
    else if (res->timed_out)
        res->outcome = EXEC_TIMEOUT;
    else if (syntax ||
             (!req->tests && lang == 'p' && res->exited && res->exit_code == 1 &&
              (last_line_starts(res->err, res->err_len, "SyntaxError:") ||
               last_line_starts(res->err, res->err_len, "IndentationError:") ||
               last_line_starts(res->err, res->err_len, "TabError:"))) ||
             (!req->tests && lang == 's' && res->exited && res->exit_code == 2 &&
              strstr(res->err, ": syntax error")))
        res->outcome = EXEC_SYNTAX_ERROR;
    else if (res->signaled)
        res->outcome = EXEC_CRASHED;
    else if (req->tests && (res->tests_total == 0 ||
                            res->tests_passed < res->tests_total))
        res->outcome = EXEC_TESTS_FAILED;
    else if (!res->exited || res->exit_code != 0)
        res->outcome = EXEC_FAILED;
    else
        res->outcome = EXEC_OK;
    if (req->tests && res->tests_total == 0 && !res->first_failure &&
        asprintf(&res->first_failure, "no tests found") < 0)
        res->first_failure = NULL;
    rc = 0;
out:
    if (stdin_fd >= 0)
        close(stdin_fd);
    free(s.out.data);
    free(s.err.data);
    free(s.res.data);
    free(s.info.data);
    argv_free(&a);
    free(runner);
    free(envhome);
    remove_workdir(workdir);
    free(workdir);
    if (rc < 0) {
        char *cmd_keep = res->command;
        res->command = NULL;
        exec_result_free(res);
        res->command = cmd_keep;
    }
    return rc;
}

void exec_result_free(struct exec_result *res)
{
    if (!res)
        return;
    free(res->out);
    free(res->err);
    free(res->first_failure);
    free(res->command);
    memset(res, 0, sizeof *res);
}

char *exec_result_summary(const struct exec_request *req,
                          const struct exec_result *res)
{
    char status[64];
    if (res->timed_out)
        snprintf(status, sizeof status, "killed at timeout");
    else if (res->signaled)
        snprintf(status, sizeof status, "signal=%d", res->signal);
    else
        snprintf(status, sizeof status, "exit=%d", res->exit_code);
    char tests[48] = "";
    if (req && req->tests)
        snprintf(tests, sizeof tests, " tests=%d/%d", res->tests_passed,
                 res->tests_total);
    const struct exec_limits *l = &res->limits;
    char *line;
    if (asprintf(&line,
                 "%s %s timeout=%ldms cpu=%lds mem=%ldM procs=%ld file=%ldM "
                 "out=%ldK nofile=%ld -> %s %s wall=%.1fms cpu=%.1fms "
                 "rss=%ldk%s out=%zuB%s err=%zuB%s%s%s%s",
                 req && req->lang ? req->lang : "?",
                 res->command && strstr(res->command, "--unshare-all") ?
                     "bubblewrap" : "UNSANDBOXED",
                 l->timeout_ms, l->cpu_s, l->memory_mb, l->procs, l->file_mb,
                 l->output_kb, l->nofile, exec_outcome_name(res->outcome),
                 status, res->wall_ms, res->cpu_ms, res->peak_rss_kb,
                 res->compile_ms > 0 ? " (compile timed separately)" : "",
                 res->out_len, res->out_truncated ? "(truncated)" : "",
                 res->err_len, res->err_truncated ? "(truncated)" : "", tests,
                 res->first_failure ? " first_failure=" : "",
                 res->first_failure ? res->first_failure : "") < 0)
        return NULL;
    /* one line: a failure message may hold newlines */
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return line;
}

int exec_probe(struct exec *ex, char *why, size_t len)
{
    set_why(why, len, "ok");
    const char *missing[3];
    size_t nm = 0;
    if (!ex->python)
        missing[nm++] = "python3";
    if (!ex->bash)
        missing[nm++] = "bash";
    if (!ex->gcc)
        missing[nm++] = "gcc";
    if (ex->cfg.isolation == EXEC_BUBBLEWRAP && !ex->bwrap) {
        set_why(why, len, "bwrap not found (%s): apt-get install bubblewrap",
                ex->cfg.bwrap);
        return -ENOENT;
    }
    if (nm) {
        set_why(why, len, "not found in " SANDBOX_PATH ": %s%s%s%s%s "
                "(apt-get install python3 bash gcc)", missing[0],
                nm > 1 ? ", " : "", nm > 1 ? missing[1] : "",
                nm > 2 ? ", " : "", nm > 2 ? missing[2] : "");
        return -ENOEXEC;
    }
    struct exec_limits lim = {.timeout_ms = 10000, .cpu_s = 5, .memory_mb = 256,
                              .procs = 16, .file_mb = 1, .output_kb = 16,
                              .nofile = 64};
    struct exec_request req = {.lang = "sh", .code = "echo bt-probe-ok\n",
                               .limits = &lim};
    struct exec_result res;
    int rc = exec_run(ex, &req, &res);
    if (rc < 0) {
        set_why(why, len, "cannot start a sandboxed run: %s", strerror(-rc));
    } else if (res.outcome == EXEC_OK && res.out &&
               strcmp(res.out, "bt-probe-ok\n") == 0) {
        rc = 0;
    } else {
        const char *msg = res.err && *res.err ? res.err : "no message";
        size_t n = strcspn(msg, "\n");
        /* A container engine masks /proc, and bwrap needs to mount a fresh
         * one; seccomp=unconfined does not lift the mask, this does. */
        if (ex->cfg.isolation == EXEC_BUBBLEWRAP && strstr(msg, "mount proc")) {
            set_why(why, len, "bwrap cannot mount /proc: %.*s; in a container "
                    "run it with --security-opt systempaths=unconfined (as "
                    "docker-compose.yml does)", (int)n, msg);
            rc = -EPERM;
        } else if (ex->cfg.isolation == EXEC_BUBBLEWRAP &&
            (strstr(msg, "namespace") || strstr(msg, "uid map") ||
             strstr(msg, "ermission") || strstr(msg, "not permitted"))) {
            set_why(why, len, "bwrap cannot create namespaces: %.*s; allow "
                    "unprivileged user namespaces (sysctl "
                    "kernel.unprivileged_userns_clone=1, "
                    "user.max_user_namespaces>0) or run with CAP_SYS_ADMIN; in a "
                    "container: --cap-add SYS_ADMIN --security-opt "
                    "systempaths=unconfined (as docker-compose.yml does)",
                    (int)n, msg);
            rc = -EPERM;
        } else {
            set_why(why, len, "the sandbox does not run code (%s, exit %d): %.*s",
                    exec_outcome_name(res.outcome), res.exit_code, (int)n, msg);
            rc = -EIO;
        }
    }
    exec_result_free(&res);
    return rc;
}
