/* exec.c -- the executor: configuration, the probe, and one run's steps.
 *
 * One run: prepare (check the request, pick the run's uid and a nonce, make
 * the private work directory and write the code, extra files and, for test
 * runs, the harness into it), compile (C only, in the same sandbox), run
 * (the code or the harness, with the request's limits) and read the
 * result. The parts have files of their own: the work directory
 * (exec_workdir.c), the forked child and its supervision (exec_child.c),
 * bubblewrap's command line (exec_bwrap.c), the result (exec_result.c) and
 * the harnesses (exec_harness.c and the programs beside it).
 *
 * The languages are task/task_lang.h's; what the sandbox adds of its own is
 * below (LANG_RUN): the program that runs each one and its harness.
 */
#include "exec.h"

#include "clock.h"
#include "exec_bwrap.h"
#include "exec_child.h"
#include "exec_harness.h"
#include "exec_result.h"
#include "exec_workdir.h"
#include "task_lang.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

struct exec {
    struct exec_config cfg;     /* strings below are owned copies      */
    char *bwrap;                /* resolved path, or NULL if not found */
    char *work_base;
    char *prog[TASK_LANG_COUNT];    /* LANG_RUN's program, resolved in
                                       SANDBOX_PATH, or NULL           */
    struct exec_argv sysargs;   /* bwrap's view of the system          */
    pthread_mutex_t stats_lock; /* guards stats                        */
    struct exec_stats stats;
};

static atomic_uint run_counter; /* picks per-run uids; the only global */

/* How the sandbox runs each task language. The code is written as
 * main.EXT and the tests as tests.EXT (EXT from task_lang.h). An
 * interpreted language runs "PROG main.EXT", or for a test run "PROG
 * HARNESS RESFD NONCEFD main.EXT tests.EXT" (exec_harness.h); a compiled
 * one is built into ./main, or with the tests into ./_bt_run (run_compile),
 * and run as that. A language added to task_lang.c needs its row here. */
static const struct lang_run {
    const char *prog;           /* interpreter or compiler, in SANDBOX_PATH
                                   (also the Debian package that has it) */
    bool compiled;              /* built by run_compile before it runs   */
    const char *harness;        /* interpreted: the harness's file name  */
    const char *harness_text;   /*   and its text (exec_harness.h)       */
} LANG_RUN[TASK_LANG_COUNT] = {
    [TASK_LANG_PYTHON] = {"python3", false, "_bt_harness.py", exec_harness_python},
    [TASK_LANG_C] = {"gcc", true, NULL, NULL},
    [TASK_LANG_SH] = {"bash", false, "_bt_harness.sh", exec_harness_sh},
};

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
    for (unsigned i = 0; i < TASK_LANG_COUNT; i++)
        ex->prog[i] = find_program(LANG_RUN[i].prog, SANDBOX_PATH);
    if (!ex->work_base || exec_bwrap_system(&ex->sysargs) < 0) {
        exec_free(ex);
        return -ENOMEM;
    }
    /* see exec_step_run: bwrap's namespace init is reaped here (process-wide,
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
    exec_argv_free(&ex->sysargs);
    free(ex->bwrap);
    free(ex->work_base);
    for (unsigned i = 0; i < TASK_LANG_COUNT; i++)
        free(ex->prog[i]);
    pthread_mutex_destroy(&ex->stats_lock);
    free(ex);
}

const struct exec_config *exec_config(const struct exec *ex)
{
    return &ex->cfg;
}

/* ---- one run ---------------------------------------------------------- */

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
static int build_argv(const struct exec *ex, struct exec_argv *a,
                      const char *workdir, const char *const *cmd, long procs,
                      int nproc_inside)
{
    if (ex->cfg.isolation == EXEC_BUBBLEWRAP)
        exec_bwrap_prefix(a, ex->bwrap, &ex->sysargs, workdir, procs,
                          nproc_inside);
    for (; *cmd; cmd++)
        exec_argv_add(a, *cmd);
    return a->oom ? -ENOMEM : 0;
}

/* One run in progress: what its steps share. */
struct run {
    struct exec *ex;
    const struct exec_request *req;
    struct exec_result *res;
    enum exec_isolation iso;
    enum task_lang lang;
    const char *prog;           /* the interpreter, or the compiler       */
    int uid;                    /* the run's own uid, or -1               */
    int nproc_inside;           /* 1: RLIMIT_NPROC is set inside bwrap    */
    char nonce[40];
    char *workdir;              /* on the host, malloc'd                  */
    char *envhome;              /* "HOME=...", malloc'd                   */
    char envpath[sizeof "PATH=" SANDBOX_PATH];
    char envlang[sizeof "LANG=C.UTF-8"];
    char envtmp[sizeof "TMPDIR=/tmp"];
    char *hostenv[5];           /* the environment of both steps          */
    struct exec_argv a;         /* the current step's command line        */
    struct exec_step s;
};

/* Checks the request, picks the uid and the nonce, makes the work
 * directory and writes everything the run needs into it. */
static int run_prepare(struct run *r)
{
    struct exec *ex = r->ex;
    const struct exec_request *req = r->req;
    struct exec_result *res = r->res;
    enum exec_isolation iso = r->iso;
    apply_limits(ex, req->limits, &res->limits);
    if (!req->lang || !req->code)
        return -EINVAL;
    enum task_lang lang;
    if (task_lang_from_name(req->lang, &lang) < 0)
        return -EINVAL;
    r->lang = lang;
    const struct lang_run *lr = &LANG_RUN[lang];
    for (size_t i = 0; i < req->nfiles; i++)
        if (!exec_workdir_name_ok(req->files[i].name) ||
            (!req->files[i].content && req->files[i].len))
            return -EINVAL;
    const char *prog = ex->prog[lang];
    if (!prog || (iso == EXEC_BUBBLEWRAP && !ex->bwrap))
        return -ENOENT;
    r->prog = prog;

    int uid = -1;
    if (geteuid() == 0) {
        unsigned slot = ((unsigned)getpid() * 131u +
                         atomic_fetch_add(&run_counter, 1)) % ex->cfg.run_uid_count;
        uid = (int)(ex->cfg.run_uid_base + slot);
    }
    r->uid = uid;
    r->nproc_inside = uid < 0 && iso == EXEC_BUBBLEWRAP;

    if (make_nonce(r->nonce, sizeof r->nonce) < 0)
        return -EIO;
    int rc = exec_workdir_make(ex->work_base, uid, &r->workdir);
    if (rc)
        return rc;
    const char *workdir = r->workdir;

    char name[32];
    snprintf(name, sizeof name, "main.%s", task_lang_ext(lang));
    if ((rc = exec_workdir_write(workdir, name, req->code, strlen(req->code), uid)))
        return rc;
    for (size_t i = 0; i < req->nfiles; i++)
        if ((rc = exec_workdir_write(workdir, req->files[i].name,
                                     req->files[i].content, req->files[i].len,
                                     uid)))
            return rc;
    if (req->tests) {
        snprintf(name, sizeof name, "tests.%s", task_lang_ext(lang));
        if ((rc = exec_workdir_write(workdir, name, req->tests, strlen(req->tests), uid)))
            return rc;
        if (!lr->compiled) {
            rc = exec_workdir_write(workdir, lr->harness, lr->harness_text,
                                    strlen(lr->harness_text), uid);
        } else {
            size_t ntests;
            char *runner = NULL;
            rc = exec_workdir_write(workdir, "_bt_unit.c", exec_harness_c_unit,
                                    strlen(exec_harness_c_unit), uid);
            if (!rc && !(runner = exec_harness_c_runner(req->tests, &ntests)))
                rc = -ENOMEM;
            if (!rc)
                rc = exec_workdir_write(workdir, "_bt_runner.c", runner,
                                        strlen(runner), uid);
            free(runner);
        }
        if (rc)
            return rc;
    }

    if (asprintf(&r->envhome, "HOME=%s", iso == EXEC_NONE ? workdir : SANDBOX_WORK) < 0) {
        r->envhome = NULL;          /* undefined after a failure */
        return -ENOMEM;
    }
    memcpy(r->envpath, "PATH=" SANDBOX_PATH, sizeof r->envpath);
    memcpy(r->envlang, "LANG=C.UTF-8", sizeof r->envlang);
    memcpy(r->envtmp, "TMPDIR=/tmp", sizeof r->envtmp);
    r->hostenv[0] = r->envpath;
    r->hostenv[1] = r->envlang;
    r->hostenv[2] = r->envtmp;
    r->hostenv[3] = r->envhome;
    r->hostenv[4] = NULL;
    /* bwrap's own environment is visible in the sandbox's /proc/1/environ;
     * it gets the same scrubbed one as the code */
    r->s.envp = r->hostenv;
    r->s.cwd = iso == EXEC_NONE ? workdir : NULL;
    r->s.uid = uid;
    r->s.set_nproc = uid >= 0;
    r->s.nonce = r->nonce;
    r->s.want_info = iso == EXEC_BUBBLEWRAP;
    return 0;
}

/* C only: compiles in the same sandbox, with room for cc1. Returns 0 to go
 * on, 1 when the compiler failed (the result is complete), or -errno. */
static int run_compile(struct run *r)
{
    const struct exec_request *req = r->req;
    struct exec_result *res = r->res;
    struct exec_step *s = &r->s;
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
    const char *prog = r->prog;
    const char *plain[] = {prog, "-std=gnu11", "-O2", "-o", "main", "main.c", "-lm", NULL};
    const char *tested[] = {prog, "-std=gnu11", "-O2", "-o", "_bt_run",
                            "_bt_unit.c", "_bt_runner.c", "-lm", NULL};
    int rc = build_argv(r->ex, &r->a, r->workdir, req->tests ? tested : plain,
                        cl.procs, r->nproc_inside);
    if (rc)
        return rc;
    int stdin_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (stdin_fd < 0)
        return -errno;
    s->argv = r->a.v;
    s->lim = &cl;
    s->stdin_fd = stdin_fd;
    s->out.limit = s->err.limit = (size_t)res->limits.output_kb * 1024;
    s->res.limit = EXEC_RESULTS_CAP;
    rc = exec_step_run(s, r->iso);
    close(stdin_fd);
    if (rc < 0)
        return rc;
    res->compile_ms = s->wall_ms;
    if (s->exec_errno || !WIFEXITED(s->status) || WEXITSTATUS(s->status) != 0 ||
        s->timed_out) {
        rc = exec_result_compile_failed(res, s, r->iso);
        res->command = exec_argv_join(r->a.v);
        if (req->tests) {
            size_t nt = 0;
            char *r2 = exec_harness_c_runner(req->tests, &nt);
            free(r2);
            res->tests_total = (int)nt;
            if (asprintf(&res->first_failure, "compile error") < 0)
                res->first_failure = NULL;
        }
        return rc < 0 || !res->command ? -ENOMEM : 1;
    }
    exec_capbuf_free(&s->out);
    exec_capbuf_free(&s->err);
    exec_capbuf_free(&s->res);
    exec_capbuf_free(&s->info);
    memset(&s->ru, 0, sizeof s->ru);
    s->status = 0;
    exec_argv_free(&r->a);
    return 0;
}

/* Runs the code, or the harness on the code and the tests, and reads the
 * result. */
static int run_execute(struct run *r)
{
    const struct exec_request *req = r->req;
    struct exec_result *res = r->res;
    struct exec_step *s = &r->s;
    const struct lang_run *lr = &LANG_RUN[r->lang];
    const char *prog = r->prog;
    char fdres[16], fdnonce[16], main_name[32], tests_name[32];
    snprintf(fdres, sizeof fdres, "%d", EXEC_RESFD);
    snprintf(fdnonce, sizeof fdnonce, "%d", EXEC_NONCEFD);
    snprintf(main_name, sizeof main_name, "main.%s", task_lang_ext(r->lang));
    snprintf(tests_name, sizeof tests_name, "tests.%s", task_lang_ext(r->lang));
    const char *cmd[8] = {0};
    if (!lr->compiled && !req->tests) {
        cmd[0] = prog; cmd[1] = main_name;
    } else if (!lr->compiled) {
        cmd[0] = prog; cmd[1] = lr->harness; cmd[2] = fdres;
        cmd[3] = fdnonce; cmd[4] = main_name; cmd[5] = tests_name;
    } else if (!req->tests) {
        cmd[0] = "./main";
    } else {
        cmd[0] = "./_bt_run"; cmd[1] = fdres; cmd[2] = fdnonce;
    }
    int rc = build_argv(r->ex, &r->a, r->workdir, cmd, res->limits.procs,
                        r->nproc_inside);
    if (rc)
        return rc;
    int stdin_fd = make_stdin(req);
    if (stdin_fd < 0)
        return stdin_fd;
    s->argv = r->a.v;
    s->lim = &res->limits;
    s->stdin_fd = stdin_fd;
    s->harness = req->tests != NULL;
    s->out.limit = s->err.limit = (size_t)res->limits.output_kb * 1024;
    s->res.limit = EXEC_RESULTS_CAP;
    s->timed_out = 0;
    s->exec_errno = 0;
    rc = exec_step_run(s, r->iso);
    close(stdin_fd);
    if (rc < 0)
        return rc;
    res->command = exec_argv_join(r->a.v);
    if (!res->command)
        return -ENOMEM;
    return exec_result_fill(res, s, r->iso, r->lang, req->tests != NULL);
}

static int run_request(struct exec *ex, const struct exec_request *req,
                       struct exec_result *res)
{
    memset(res, 0, sizeof *res);
    struct run r = {.ex = ex, .req = req, .res = res,
                    .iso = ex->cfg.isolation, .uid = -1};
    int rc = run_prepare(&r);
    if (!rc && LANG_RUN[r.lang].compiled)
        rc = run_compile(&r);
    if (!rc)
        rc = run_execute(&r);
    if (rc > 0)
        rc = 0;             /* the compiler failed: that is the result */

    exec_capbuf_free(&r.s.out);
    exec_capbuf_free(&r.s.err);
    exec_capbuf_free(&r.s.res);
    exec_capbuf_free(&r.s.info);
    exec_argv_free(&r.a);
    free(r.envhome);
    exec_workdir_remove(r.workdir);
    free(r.workdir);
    if (rc < 0) {
        char *cmd_keep = res->command;
        res->command = NULL;
        exec_result_free(res);
        res->command = cmd_keep;
    }
    return rc;
}

int exec_run(struct exec *ex, const struct exec_request *req,
             struct exec_result *res)
{
    double t0 = clock_mono_ms();
    int rc = run_request(ex, req, res);

    if (rc == 0) {
        pthread_mutex_lock(&ex->stats_lock);
        ex->stats.runs++;
        ex->stats.timeouts += res->timed_out != 0;
        ex->stats.wall_ms += res->wall_ms + res->compile_ms;
        ex->stats.total_ms += clock_mono_ms() - t0;
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

int exec_probe(struct exec *ex, char *why, size_t len)
{
    set_why(why, len, "ok");
    if (ex->cfg.isolation == EXEC_BUBBLEWRAP && !ex->bwrap) {
        set_why(why, len, "bwrap not found (%s): apt-get install bubblewrap",
                ex->cfg.bwrap);
        return -ENOENT;
    }
    /* LANG_RUN's programs are short names; were they not, the lists
     * would only be cut short */
    char missing[128] = "", all[128] = "";
    size_t nm = 0, na = 0;
    for (unsigned i = 0; i < TASK_LANG_COUNT; i++) {
        /* a language without its row here is named, not skipped */
        const char *prog = LANG_RUN[i].prog ? LANG_RUN[i].prog
                                            : task_lang_name((enum task_lang)i);
        if (na < sizeof all)
            na += (size_t)snprintf(all + na, sizeof all - na, "%s%s",
                                   i ? " " : "", prog);
        if (!ex->prog[i] && nm < sizeof missing)
            nm += (size_t)snprintf(missing + nm, sizeof missing - nm, "%s%s",
                                   nm ? ", " : "", prog);
    }
    if (nm) {
        set_why(why, len, "not found in " SANDBOX_PATH ": %s "
                "(apt-get install %s)", missing, all);
        return -ENOEXEC;
    }
    struct exec_limits lim = {.timeout_ms = 10000, .cpu_s = 5, .memory_mb = 256,
                              .procs = 16, .file_mb = 1, .output_kb = 16,
                              .nofile = 64};
    struct exec_request req = {.lang = task_lang_name(TASK_LANG_SH),
                               .code = "echo bt-probe-ok\n",
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
