/* btfs.c -- the btfs program: wires the store, the filesystem and the agents.
 *
 * main() goes: configuration -> checks of the mountpoint and data directory
 * -> (detach) -> store -> FUSE session -> signal handlers -> mount -> loop,
 * and unwinds in reverse through the labels at its end.
 *
 * Detaching happens before the store is opened because LMDB refuses an
 * environment used across fork(). So that start-up errors still reach the
 * terminal, the detached child's stderr is a pipe that the waiting parent
 * copies out; the child writes one NUL byte when the mount is ready, and the
 * parent then exits 0 (or, on EOF without it, with the child's status).
 */
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <limits.h>
#include <mntent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bt_version.h"
#include "builder.h"
#include "config.h"
#include "exec.h"
#include "fs.h"
#include "llm.h"
#include "llm_monitor.h"
#include "redact.h"
#include "seed.h"
#include "status.h"
#include "store.h"
#include "trainer.h"

/* Exit codes: refusals of the configuration or environment, and failures. */
#define EXIT_REFUSED 2
#define EXIT_FAILED 1

static void die(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

static void die(int code, const char *fmt, ...)
{
    va_list ap;

    fputs("btfs: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(code);
}

/* Runs "fusermount3 -u -z PATH" and returns its exit status (or -1). */
static int run_fusermount(const char *path)
{
    pid_t pid = fork();
    int st;

    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
        }
        execlp("fusermount3", "fusermount3", "-u", "-z", path, (char *)NULL);
        _exit(127);
    }
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A btfs killed with -9 leaves its mount behind, answering ENOTCONN. It is
 * ours to clear: nothing can be using it any more. */
static void clear_stale_mount(const char *path)
{
    struct stat sb;

    if (stat(path, &sb) == 0 || errno != ENOTCONN)
        return;
    fprintf(stderr, "btfs: %s is a stale mount left by a btfs that died; "
                    "clearing it\n", path);
    if (geteuid() == 0 && umount2(path, MNT_DETACH) == 0)
        return;
    if (run_fusermount(path) == 0)
        return;
    die(EXIT_REFUSED, "%s is a stale mount and could not be cleared; run: "
        "fusermount3 -u %s", path, path);
}

/* Whether a live btfs is mounted at 'abs'. Other mounts are fine: in a
 * container the mountpoint is itself a bind mount. */
static int mounted_btfs(const char *abs)
{
    FILE *f = setmntent("/proc/self/mounts", "r");
    struct mntent *m;
    int found = 0;

    if (!f)
        return 0;
    while (!found && (m = getmntent(f)))
        found = strcmp(m->mnt_dir, abs) == 0 &&
                strcmp(m->mnt_type, "fuse.btfs") == 0;
    endmntent(f);
    return found;
}

/* The mountpoint must be an existing, empty directory (a lone .gitkeep, as
 * the repository's mountpoint/ holds, is allowed) that is not mounted yet.
 * Returns its absolute path (malloc'd). */
static char *check_mountpoint(const char *path)
{
    struct stat sb;
    char *abs;
    DIR *d;
    struct dirent *de;

    clear_stale_mount(path);
    if (stat(path, &sb) < 0) {
        if (errno == ENOENT)
            die(EXIT_REFUSED, "mountpoint %s does not exist; create it with: "
                "mkdir -p %s", path, path);
        die(EXIT_REFUSED, "cannot use mountpoint %s: %s", path,
            strerror(errno));
    }
    if (!S_ISDIR(sb.st_mode))
        die(EXIT_REFUSED, "mountpoint %s is not a directory", path);
    if (!(abs = realpath(path, NULL)))
        die(EXIT_REFUSED, "cannot resolve mountpoint %s: %s", path,
            strerror(errno));
    if (mounted_btfs(abs))
        die(EXIT_REFUSED, "%s is already mounted by btfs; stop that btfs, "
            "or unmount with: fusermount3 -u %s", path, path);
    if (!(d = opendir(abs)))
        die(EXIT_REFUSED, "cannot read mountpoint %s: %s", path,
            strerror(errno));
    while ((errno = 0, de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            strcmp(de->d_name, ".gitkeep") == 0)
            continue;
        die(EXIT_REFUSED, "mountpoint %s is not empty (it holds '%s'); use "
            "an empty directory", path, de->d_name);
    }
    closedir(d);
    return abs;
}

/* Creates the data directory (and its parents) if missing; returns its
 * absolute path (malloc'd). */
static char *prepare_data_dir(const char *path)
{
    char *copy = strdup(path), *abs;
    struct stat sb;

    if (!copy)
        die(EXIT_FAILED, "out of memory");
    for (char *p = copy + 1; ; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(copy, 0700) < 0 && errno != EEXIST) {
            if (errno == EROFS)
                die(EXIT_REFUSED, "cannot create data directory %s: it is on "
                    "a read-only filesystem; remount it read-write or pass "
                    "another --data", copy);
            die(EXIT_REFUSED, "cannot create data directory %s: %s", copy,
                strerror(errno));
        }
        *p = c;
        if (c == '\0')
            break;
    }
    free(copy);
    if (stat(path, &sb) < 0)
        die(EXIT_REFUSED, "cannot use data directory %s: %s", path,
            strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        die(EXIT_REFUSED, "data directory %s is not a directory; pass "
            "--data with a directory (it is created if missing)", path);
    if (access(path, R_OK | W_OK | X_OK) < 0) {
        if (errno == EROFS)
            die(EXIT_REFUSED, "data directory %s is on a read-only "
                "filesystem; btfs writes its store there: remount it "
                "read-write or pass another --data", path);
        die(EXIT_REFUSED, "data directory %s is not writable: %s", path,
            strerror(errno));
    }
    if (!(abs = realpath(path, NULL)))
        die(EXIT_REFUSED, "cannot resolve data directory %s: %s", path,
            strerror(errno));
    return abs;
}

/* The store's files are private (store_open makes them 0600), but a data
 * directory others can enter still shows who works on what, and anything
 * put beside the store. Refusing it would break every setup made with a
 * plain mkdir (and Docker's volumes), so the warning is loud instead: on
 * stderr, in system.log and in status.json. Writes the warning into buf and
 * returns 1, or returns 0 when the directory is private. */
static int data_dir_warning(const char *path, char *buf, size_t len)
{
    struct stat sb;

    if (stat(path, &sb) < 0 || !(sb.st_mode & 077))
        return 0;
    snprintf(buf, len, "WARNING: data directory %s can be %s by other users "
             "(mode %03o); make it private: chmod 700 %s", path,
             sb.st_mode & 044 ? "read" : "entered",
             (unsigned)(sb.st_mode & 0777), path);
    return 1;
}

/* ---- Detaching ------------------------------------------------------------ */

static int ready_fd = -1; /* child's end of the start-up pipe, or -1 */

/* Forks; the parent relays the child's start-up messages and exits with its
 * verdict, the child returns with stderr connected to the parent. */
static void detach(void)
{
    int p[2];
    pid_t pid;
    char buf[512];
    ssize_t n;

    if (pipe(p) < 0)
        die(EXIT_FAILED, "pipe: %s", strerror(errno));
    fflush(NULL);
    if ((pid = fork()) < 0)
        die(EXIT_FAILED, "fork: %s", strerror(errno));
    if (pid > 0) {
        close(p[1]);
        while ((n = read(p[0], buf, sizeof buf)) != 0) {
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                break;
            }
            char *nul = memchr(buf, '\0', (size_t)n);
            if (fwrite(buf, 1, nul ? (size_t)(nul - buf) : (size_t)n,
                       stderr) == 0 && ferror(stderr))
                break;
            if (nul)
                _exit(0);
        }
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        _exit(WIFEXITED(st) ? WEXITSTATUS(st) : EXIT_FAILED);
    }
    close(p[0]);
    setsid();
    dup2(p[1], STDERR_FILENO);
    ready_fd = STDERR_FILENO;
    close(p[1]);
}

/* Tells the waiting parent that the mount is up and lets go of the
 * terminal. */
static void detach_done(void)
{
    int null;

    if (ready_fd < 0)
        return;
    if (write(ready_fd, "", 1) < 0) {
        /* the parent is gone; nobody is waiting for the verdict */
    }
    if ((null = open("/dev/null", O_RDWR)) >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        if (null > STDERR_FILENO)
            close(null);
    }
    ready_fd = -1;
    if (chdir("/") < 0) {
        /* paths are absolute by now; staying put is harmless */
    }
}

/* Creates the LLM client from the configuration and starts the thread that
 * watches its health for status.json. */
static int start_llm(const struct config *cfg, struct exec *ex,
                     struct status *status,
                     struct store *st, struct llm **llm,
                     struct llm_monitor **monitor)
{
    struct llm_config lc;
    int rc;

    llm_config_default(&lc);
    lc.url = cfg->llm_url;
    lc.model = cfg->llm_model;
    lc.api_key = cfg->llm_api_key;
    lc.connect_timeout_ms = cfg->llm_connect_timeout_s * 1000L;
    lc.idle_timeout_ms = cfg->llm_idle_timeout_s * 1000L;
    lc.total_timeout_ms = cfg->llm_total_timeout_s * 1000L;
    if (cfg->llm_context > 0) {
        lc.context_tokens = (unsigned)cfg->llm_context;
        lc.context_fixed = 1;
    }
    lc.slots = (unsigned)cfg->llm_slots;
    lc.max_tokens = (unsigned)cfg->llm_max_tokens;
    lc.temperature = cfg->llm_temperature;
    if ((rc = llm_create(&lc, llm)) < 0) {
        char url[512];
        redact_buf(url, sizeof url, cfg->llm_url);
        fprintf(stderr, "btfs: cannot create the LLM client for %s: %s\n",
                url, strerror(-rc));
        return rc;
    }
    if ((rc = llm_monitor_start(*llm, ex, status, st, monitor)) < 0) {
        fprintf(stderr, "btfs: cannot start the LLM monitor: %s\n",
                strerror(-rc));
        return rc;
    }
    return 0;
}

/* The Trainer's own LLM (a teacher model on its own server), when any
 * BT_TRAINER_LLM_* is set: the Builder's settings with those replaced,
 * its own request queue, and a monitor of its own. Otherwise the Trainer
 * shares the Builder's client (and queue) and status.json says so. */
static int start_trainer_llm(const struct config *cfg, struct status *status,
                             struct store *st, struct llm **llm,
                             struct llm_monitor **monitor)
{
    struct llm_config lc;
    char *shared = NULL;
    int rc;

    if (!cfg->trainer || (!cfg->trainer_llm_url[0] &&
                          !cfg->trainer_llm_model[0] &&
                          !cfg->trainer_llm_api_key[0])) {
        cJSON *o = cJSON_CreateObject();
        char *url = redact_dup(cfg->llm_url);
        cJSON_AddStringToObject(o, "url", url ? url : "");
        free(url);
        cJSON_AddStringToObject(o, "model", cfg->llm_model);
        cJSON_AddTrueToObject(o, "shared_with_builders");
        if ((shared = cJSON_PrintUnformatted(o)))
            status_set_trainer_llm(status, shared);
        free(shared);
        cJSON_Delete(o);
        return 0;
    }
    llm_config_default(&lc);
    lc.url = cfg->trainer_llm_url[0] ? cfg->trainer_llm_url : cfg->llm_url;
    lc.model = cfg->trainer_llm_model[0] ? cfg->trainer_llm_model
                                         : cfg->llm_model;
    lc.api_key = cfg->trainer_llm_api_key[0] ? cfg->trainer_llm_api_key
                                             : cfg->llm_api_key;
    lc.connect_timeout_ms = cfg->llm_connect_timeout_s * 1000L;
    lc.idle_timeout_ms = cfg->llm_idle_timeout_s * 1000L;
    lc.total_timeout_ms = cfg->llm_total_timeout_s * 1000L;
    lc.slots = (unsigned)cfg->llm_slots;
    lc.max_tokens = (unsigned)cfg->llm_max_tokens;
    lc.temperature = cfg->llm_temperature;
    if ((rc = llm_create(&lc, llm)) < 0) {
        char url[512];
        /* Its own URL may hold a password as well as the Builder's. */
        redact_buf(url, sizeof url, lc.url);
        fprintf(stderr, "btfs: cannot create the Trainer's LLM client for "
                "%s: %s\n", url, strerror(-rc));
        return rc;
    }
    if ((rc = llm_monitor_start_trainer(*llm, status, st, monitor)) < 0) {
        fprintf(stderr, "btfs: cannot start the Trainer's LLM monitor: %s\n",
                strerror(-rc));
        return rc;
    }
    return 0;
}

/* Creates the sandbox executor from the configuration and checks that it
 * works here. Builders may only start when it does: a sandbox that cannot
 * isolate is reported (stderr, system.log, status.json) and the mount runs
 * without them. BT_SANDBOX=none is said loudly everywhere it shows. Returns
 * 0 when builders may run, 1 when they may not, <0 on a hard failure. */
static int start_sandbox(const struct config *cfg, struct status *status,
                         struct store *st, struct exec **ex)
{
    struct exec_config ec;
    char why[512], line[700];
    int rc;

    exec_config_default(&ec);
    ec.isolation = strcmp(cfg->sandbox, "none") == 0 ? EXEC_NONE
                                                     : EXEC_BUBBLEWRAP;
    ec.bwrap = cfg->sandbox_bwrap;
    ec.limits.timeout_ms = cfg->sandbox_timeout_s * 1000L;
    ec.limits.cpu_s = cfg->sandbox_cpu_s;
    ec.limits.memory_mb = cfg->sandbox_memory_mb;
    ec.limits.procs = cfg->sandbox_procs;
    ec.limits.file_mb = cfg->sandbox_file_mb;
    ec.limits.output_kb = cfg->sandbox_output_kb;
    /* The settings are ceilings too; only the timeout has its own, since
     * a task may ask for a longer one (timeout_s). */
    ec.max = ec.limits;
    ec.max.nofile = ec.limits.nofile ? ec.limits.nofile : 256;
    ec.max.timeout_ms = cfg->sandbox_max_timeout_s * 1000L;
    if ((rc = exec_create(&ec, ex)) < 0) {
        fprintf(stderr, "btfs: cannot create the sandbox: %s\n",
                strerror(-rc));
        return rc;
    }
    if (exec_probe(*ex, why, sizeof why) < 0) {
        status_set_sandbox(status, "unavailable");
        snprintf(line, sizeof line, "sandbox %s unavailable, builders will "
                 "not start: %s", cfg->sandbox, why);
        fprintf(stderr, "btfs: %s\n", line);
        store_log_append(st, STORE_LOG_SYSTEM, line);
        status_set_agents_note(status, line);
        return 1;
    }
    if (ec.isolation == EXEC_NONE) {
        status_set_sandbox(status, "none (UNSAFE)");
        snprintf(line, sizeof line, "WARNING: BT_SANDBOX=none: generated "
                 "code runs unisolated, with this process's rights");
        fprintf(stderr, "btfs: %s\n", line);
        store_log_append(st, STORE_LOG_SYSTEM, line);
        status_set_error(status, line);
    } else {
        status_set_sandbox(status, exec_isolation_name(ec.isolation));
    }
    return 0;
}

/* BT_GROUP: a group name or number. The group's members get write access
 * to tasks/new and control; reaching the mount at all takes allow_other. */
static void set_group(const struct config *cfg, struct fs_context *ctx)
{
    struct group *g = getgrnam(cfg->group);
    char *end;
    unsigned long n = strtoul(cfg->group, &end, 10);

    if (!g && *end == '\0')
        g = getgrgid((gid_t)n);
    if (!g)
        die(EXIT_REFUSED, "BT_GROUP: no group named '%s' (create it with "
            "groupadd, or give an existing name or number)", cfg->group);
    ctx->group = g->gr_gid;
    ctx->group_set = 1;
    if (!cfg->fuse_opts || !strstr(cfg->fuse_opts, "allow_other"))
        fprintf(stderr, "btfs: BT_GROUP=%s without -o allow_other: only "
                "this user can reach the mount\n", cfg->group);
}

/* BT_SCORE_WEIGHTS is parsed by the scoring engine, which config.c does
 * not link; a bad value still stops start-up with a message naming it. */
static void check_score_weights(const struct config *cfg)
{
    struct score_weights w;
    char err[256];

    score_weights_default(&w);
    if (score_weights_parse(cfg->score_weights, &w, err, sizeof err) < 0)
        die(EXIT_REFUSED, "BT_SCORE_WEIGHTS: %s", err);
}

/* Loads the seed curriculum on a store's first start and starts the
 * builder threads. */
static int start_builders(const struct config *cfg, struct store *st,
                          struct status *status, struct llm *llm,
                          struct exec *ex, struct llm_monitor *monitor,
                          struct builder_pool **pool)
{
    struct builder_config bc;
    char line[256];
    size_t added;
    int rc;

    added = 0;
    if (cfg->seed && (rc = seed_load(st, &added)) < 0) {
        fprintf(stderr, "btfs: cannot load the seed curriculum: %s\n",
                store_strerror(rc));
        return rc;
    }
    if (added > 0) {
        snprintf(line, sizeof line, "seed curriculum: %zu tasks queued "
                 "behind user tasks", added);
        store_log_append(st, STORE_LOG_SYSTEM, line);
    }
    builder_config_default(&bc);
    bc.threads = (unsigned)cfg->builders;
    bc.max_attempts = (unsigned)cfg->max_attempts;
    /* Checked at start-up already (check_score_weights). */
    score_weights_parse(cfg->score_weights, &bc.weights, line, sizeof line);
    if ((rc = builder_start(&bc, &(struct agent_env){ st, status, llm, ex,
                                                      monitor }, pool)) < 0) {
        fprintf(stderr, "btfs: cannot start the builders: %s\n",
                strerror(-rc));
        return rc;
    }
    snprintf(line, sizeof line, "%d builder%s started", cfg->builders,
             cfg->builders == 1 ? "" : "s");
    store_log_append(st, STORE_LOG_SYSTEM, line);
    return 0;
}

/* Tells whoever started btfs where the mount is and what to do next; a
 * detached btfs says it through the start-up pipe before letting go. */
static void print_ready(const char *mnt, const char *data, int foreground)
{
    fprintf(stderr,
            "btfs: mounted at %s (data in %s)\n"
            "  add a task: echo \"reverse a linked list\" > %s/tasks/new\n"
            "  watch:      bt --mount %s watch; tail -f %s/logs/system.log\n"
            "  stop:       %sfusermount3 -u %s\n",
            mnt, data, mnt, mnt, mnt, foreground ? "Ctrl-C, or " : "", mnt);
}

/* Starts the Trainer thread. */
static int start_trainer(const struct config *cfg, struct store *st,
                         struct status *status, struct llm *llm,
                         struct exec *ex, struct llm_monitor *monitor,
                         struct trainer **trainer)
{
    struct trainer_config tc;
    int rc;

    trainer_config_default(&tc);
    tc.target_success = cfg->target_success;
    if ((rc = trainer_start(&tc, &(struct agent_env){ st, status, llm, ex,
                                                      monitor },
                            trainer)) < 0) {
        fprintf(stderr, "btfs: cannot start the trainer: %s\n",
                strerror(-rc));
        return rc;
    }
    store_log_append(st, STORE_LOG_SYSTEM, "trainer started");
    return 0;
}

int main(int argc, char **argv)
{
    struct config cfg;
    enum config_action action;
    char err[512], *mnt = NULL, *data = NULL, *config_json = NULL;
    char *opts = NULL;
    struct store *st = NULL;
    struct status *status = NULL;
    struct llm *llm = NULL;
    struct llm_monitor *monitor = NULL;
    struct llm *tllm = NULL;            /* the Trainer's own, or NULL */
    struct llm_monitor *tmonitor = NULL;
    struct exec *ex = NULL;
    struct builder_pool *builders = NULL;
    struct trainer *trainer = NULL;
    struct fs_context ctx = {0};
    struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
    struct fuse_session *se = NULL;
    struct fuse_loop_config loop = {.clone_fd = 0, .max_idle_threads = 10};
    int rc = EXIT_FAILED;
    int sandbox_ok = 1;

    if (config_load(&cfg, argc, argv, ".env", &action, err, sizeof err) < 0) {
        fprintf(stderr, "btfs: %s\n", err);
        config_free(&cfg);
        return EXIT_REFUSED;
    }
    if (action == CONFIG_HELP) {
        config_usage(argv[0], stdout);
        config_free(&cfg);
        return 0;
    }
    if (action == CONFIG_ENV_EXAMPLE) {
        config_print_env_example(stdout);
        config_free(&cfg);
        return 0;
    }
    if (action == CONFIG_VERSION) {
        printf("btfs %s (FUSE %d, schema %d)\n", BT_VERSION, fuse_version(),
               STORE_SCHEMA_VERSION);
        config_free(&cfg);
        return 0;
    }

    check_score_weights(&cfg);
    if (cfg.group && *cfg.group)
        set_group(&cfg, &ctx);
    mnt = check_mountpoint(cfg.mountpoint);
    data = prepare_data_dir(cfg.data_dir);
    free(cfg.data_dir);
    cfg.data_dir = data;    /* config.json shows the absolute path */
    data = NULL;
    if (!cfg.foreground)
        detach();

    struct store_options so = { .log_keep = (size_t)cfg.log_keep,
                                .analyses_keep = (size_t)cfg.analyses_keep };
    if (store_open(cfg.data_dir, &so, &st, err, sizeof err) < 0) {
        fprintf(stderr, "btfs: %s\n", err);
        rc = EXIT_REFUSED;
        goto out_config;
    }
    if (status_create((unsigned)cfg.builders, &status) < 0 ||
        !(config_json = config_to_json(&cfg))) {
        fprintf(stderr, "btfs: out of memory\n");
        goto out_store;
    }
    redact_buf(err, sizeof err, cfg.llm_url);
    status_set_llm(status, err, cfg.llm_model);
    if (cfg.builders == 0)
        status_set_agents_note(status, "no builders (BT_BUILDERS=0): tasks "
                                       "stay queued");

    if (data_dir_warning(cfg.data_dir, err, sizeof err)) {
        fprintf(stderr, "btfs: %s\n", err);
        store_log_append(st, STORE_LOG_SYSTEM, err);
        status_set_error(status, err);
    }
    if ((sandbox_ok = start_sandbox(&cfg, status, st, &ex)) < 0 ||
        start_llm(&cfg, ex, status, st, &llm, &monitor) < 0 ||
        start_trainer_llm(&cfg, status, st, &tllm, &tmonitor) < 0)
        goto out_status;

    ctx.store = st;
    ctx.status = status;
    ctx.config_json = config_json;
    ctx.data_dir = cfg.data_dir;

    /* No default_permissions: the kernel's checks cost a GETATTR per path
     * component and fs/ enforces the modes itself (fs/fs.c). */
    if (asprintf(&opts, "fsname=btfs,subtype=btfs%s%s",
                 cfg.fuse_opts ? "," : "",
                 cfg.fuse_opts ? cfg.fuse_opts : "") < 0 ||
        fuse_opt_add_arg(&args, argv[0]) < 0 ||
        fuse_opt_add_arg(&args, "-o") < 0 ||
        fuse_opt_add_arg(&args, opts) < 0 ||
        (cfg.debug && fuse_opt_add_arg(&args, "-d") < 0)) {
        fprintf(stderr, "btfs: out of memory\n");
        goto out_status;
    }
    se = fuse_session_new(&args, fs_operations(),
                          sizeof(struct fuse_lowlevel_ops), &ctx);
    if (!se) {
        fprintf(stderr, "btfs: cannot create the FUSE session (bad -o "
                        "option?)\n");
        rc = EXIT_REFUSED;
        goto out_status;
    }
    ctx.session = se;
    if (fuse_session_mount(se, mnt) != 0) {
        fprintf(stderr, "btfs: cannot mount on %s (is /dev/fuse available "
                        "and fusermount3 installed?)\n", mnt);
        rc = EXIT_REFUSED;
        goto out_fuse;
    }
    if (fuse_set_signal_handlers(se) != 0) {
        fprintf(stderr, "btfs: cannot install signal handlers\n");
        goto out_unmount;
    }

    snprintf(err, sizeof err, "btfs %s started: mounted at %s, data in %s",
             BT_VERSION, mnt, cfg.data_dir);
    store_log_append(st, STORE_LOG_SYSTEM, err);
    /* Builders start once the mount is up, so that a failure to mount
     * never leaves a task half-done. */
    if (cfg.builders > 0 && sandbox_ok == 0 &&
        start_builders(&cfg, st, status, llm, ex, monitor, &builders) < 0)
        goto out_handlers;
    /* The Trainer checks its tasks in the sandbox, so it needs one too. */
    if (cfg.trainer && sandbox_ok == 0 &&
        start_trainer(&cfg, st, status, tllm ? tllm : llm, ex,
                      tmonitor ? tmonitor : monitor, &trainer) < 0)
        goto out_handlers;
    print_ready(mnt, cfg.data_dir, cfg.foreground);
    detach_done();

    /* The loop returns the number of the signal that ended it (SIGINT,
     * SIGTERM: a clean stop), 0 after an unmount, or -errno on failure. */
    rc = fuse_session_loop_mt(se, &loop) < 0 ? EXIT_FAILED : 0;

    /* Shutdown order: stop taking requests (the loop has returned), end
     * the LLM calls in flight and stop the threads that make them (their
     * last writes still reach the store), unmount so that no client sees a
     * half-closed store, then close the store. */
    store_log_append(st, STORE_LOG_SYSTEM, "btfs stopping: unmounting");
out_handlers:
    fuse_remove_signal_handlers(se);
out_unmount:
    llm_cancel(llm);
    if (tllm)
        llm_cancel(tllm);
    trainer_stop(trainer);
    builder_stop(builders);
    llm_monitor_stop(monitor);
    monitor = NULL;
    llm_monitor_stop(tmonitor);
    tmonitor = NULL;
    fuse_session_unmount(se);
out_fuse:
    fuse_session_destroy(se);
out_status:
    if (llm)
        llm_cancel(llm);
    llm_monitor_stop(monitor);
    llm_free(llm);
    if (tllm)
        llm_cancel(tllm);
    llm_monitor_stop(tmonitor);
    llm_free(tllm);
    exec_free(ex);
    fuse_opt_free_args(&args);
    free(opts);
    free(config_json);
    status_free(status);
out_store:
    store_close(st);
out_config:
    free(mnt);
    config_free(&cfg);
    return rc;
}
