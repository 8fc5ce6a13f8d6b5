/* bench_fs.c -- measures btfs against plain files on the same disk and prints
 * one table (rows: measurement; columns: ours, baseline, ratio, target,
 * verdict). docs/benchmarks.md says what each row means and holds the
 * figures measured on the reference machine.
 *
 *   bench_fs [--btfs PATH] [--work DIR] [--repeat N] [--only LIST] [--keep]
 *            [--read-tasks N] [--enqueue-tasks N]
 *            [--dir-sizes LIST] [--startup-sizes LIST] [--tree-sizes LIST]
 *
 * Everything happens in a scratch directory made under --work (default
 * /var/tmp, which must be on the disk being measured, not tmpfs): data
 * directories filled through the store API (fill.c), mountpoints, and the
 * local copies the baselines read. Cold measurements drop the page cache
 * (sync; echo 3 > /proc/sys/vm/drop_caches), so the program must run as
 * root. Each btfs runs in the foreground as our child with the agents off
 * (BT_BUILDERS=0 BT_TRAINER=0), in the scratch directory (so that no stray
 * .env is read), its output going to btfs.log there; SIGTERM stops it.
 *
 * Small measurements are repeated --repeat times (default 3) and the median
 * is reported; times come from CLOCK_MONOTONIC.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fill.h"

#define FUSE_SUPER_MAGIC 0x65735546
#define START_TIMEOUT_S 60.0
#define STOP_TIMEOUT_S 30.0
#define MAX_SIZES 16

/* ---- Small utilities ----------------------------------------------------- */

static const char *g_btfs;     /* path of the btfs program                  */
static char *g_work;           /* scratch directory (ours, removed at end)  */
static char *g_log;            /* btfs.log in the scratch directory         */
static pid_t g_pid;            /* running btfs, 0 if none                   */
static const char *g_mnt;      /* its mountpoint                            */
static int g_repeat = 3;
static int g_keep;              /* --keep: leave every tree in place       */
static int g_pin_cpu = -1;      /* >= 0: btfs_start pins btfs to this CPU   */

static void btfs_stop(void);

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
                                                     noreturn));

/* One line "bench_fs: ..." on stderr: progress and fatal errors alike. */
static void vnote(const char *fmt, va_list ap)
{
    fputs("bench_fs: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

static void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vnote(fmt, ap);
    va_end(ap);
    if (g_pid)
        btfs_stop();
    if (g_work)
        fprintf(stderr, "bench_fs: scratch directory left in %s\n", g_work);
    exit(1);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Progress goes to stderr so that stdout holds only the table. */
static void note(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vnote(fmt, ap);
    va_end(ap);
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

/* asprintf that cannot fail (the bench has nothing to do without memory). */
static char *fmt(const char *f, ...)
{
    va_list ap;
    char *s;
    int rc;

    va_start(ap, f);
    rc = vasprintf(&s, f, ap);
    va_end(ap);
    if (rc < 0)
        die("out of memory");
    return s;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Sorts v in place and returns its median. */
static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void make_dir(const char *path)
{
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        die("mkdir %s: %s", path, strerror(errno));
}

/* Empties the page cache, dentries and inodes, so that the next read comes
 * from the disk. */
static void drop_caches(void)
{
    int fd;

    sync();
    fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
    if (fd < 0 || write(fd, "3\n", 2) != 2)
        die("cannot drop the page cache (/proc/sys/vm/drop_caches: %s); "
            "run as root", strerror(errno));
    close(fd);
}

/* 1 for a FUSE mount, also one whose daemon died (ENOTCONN). */
static int is_fuse(const char *path)
{
    struct statfs sf;

    if (statfs(path, &sf) != 0)
        return errno == ENOTCONN;
    return sf.f_type == FUSE_SUPER_MAGIC;
}

/* A status field ("RssAnon:") of a process in KiB, or -1. */
static long status_kib(pid_t pid, const char *field)
{
    char path[64], line[256];
    size_t fl = strlen(field);
    FILE *f;
    long kib = -1;

    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    if (!(f = fopen(path, "r")))
        return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, fl) && sscanf(line + fl, "%ld", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* VmRSS of a process in KiB, or -1. */
static long rss_kib(pid_t pid)
{
    return status_kib(pid, "VmRSS:");
}

/* Peak VmRSS (VmHWM): what it held at most during everything so far. */
static long hwm_kib(pid_t pid)
{
    return status_kib(pid, "VmHWM:");
}

/* Reads the whole file at path, discarding the bytes, the way cat would;
 * adds the size to *bytes. Returns 0 or -errno. */
static int read_through(const char *path, uint64_t *bytes)
{
    static char buf[64 * 1024];
    ssize_t n;
    int fd = open(path, O_RDONLY), rc = 0;

    if (fd < 0)
        return -errno;
    while ((n = read(fd, buf, sizeof buf)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        *bytes += (uint64_t)n;
    }
    close(fd);
    return rc;
}

/* Copies src to the new file dst. */
static void copy_file(const char *src, const char *dst)
{
    static char buf[64 * 1024];
    int in = open(src, O_RDONLY), out;
    ssize_t n;

    if (in < 0)
        die("open %s: %s", src, strerror(errno));
    out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0)
        die("create %s: %s", dst, strerror(errno));
    while ((n = read(in, buf, sizeof buf)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("read %s: %s", src, strerror(errno));
        }
        if (write(out, buf, (size_t)n) != n)
            die("write %s: %s", dst, strerror(errno));
    }
    close(in);
    if (close(out) < 0)
        die("close %s: %s", dst, strerror(errno));
}

static int rm_one(const char *path, const struct stat *sb, int type,
                  struct FTW *ftw)
{
    if (type == FTW_DP ? rmdir(path) : unlink(path))
        note("cannot remove %s: %s", path, strerror(errno));
    return 0;
}

/* rm -rf that never crosses into a mount (a left-over btfs mount). */
static void rm_rf(const char *path)
{
    nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/* ---- A growable list of names ------------------------------------------- */

struct names {
    char **v;
    size_t n, cap;
};

static void names_add(struct names *ns, const char *s)
{
    if (ns->n == ns->cap) {
        size_t cap = ns->cap ? 2 * ns->cap : 1024;
        char **v = realloc(ns->v, cap * sizeof *v);

        if (!v)
            die("out of memory");
        ns->v = v;
        ns->cap = cap;
    }
    if (!(ns->v[ns->n] = strdup(s)))
        die("out of memory");
    ns->n++;
}

static void names_free(struct names *ns)
{
    size_t i;

    for (i = 0; i < ns->n; i++)
        free(ns->v[i]);
    free(ns->v);
    memset(ns, 0, sizeof *ns);
}

/* True for PREFIX_DIGITS.json with one of the per-task prefixes, that is
 * for the files of one task and not for task_queue.json or new. */
static int is_task_file(const char *name)
{
    static const char *const prefixes[] = {"task_", "reflection_",
                                           "summary_"};
    size_t i, len;

    for (i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
        len = strlen(prefixes[i]);
        if (strncmp(name, prefixes[i], len) != 0)
            continue;
        name += len;
        if (*name < '0' || *name > '9')
            return 0;
        while (*name >= '0' && *name <= '9')
            name++;
        return strcmp(name, ".json") == 0;
    }
    return 0;
}

static int is_task_doc(const char *name)
{
    return strncmp(name, "task_", 5) == 0 && is_task_file(name);
}

/* Lists dir; with keep non-NULL, adds the names it accepts to *ns. Returns
 * the number of entries readdir gave (without . and ..). */
static size_t list_dir(const char *dir, int (*keep)(const char *),
                       struct names *ns)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;

    if (!d)
        die("opendir %s: %s", dir, strerror(errno));
    errno = 0;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        n++;
        if (keep && keep(de->d_name))
            names_add(ns, de->d_name);
    }
    if (errno)
        die("readdir %s: %s", dir, strerror(errno));
    closedir(d);
    return n;
}

/* ---- Running btfs -------------------------------------------------------- */

struct start_info {
    double ready_s;     /* exec to status.json read in full              */
    long rss_mounted;   /* VmRSS (KiB) once the mount answers            */
    long rss_ready;     /* VmRSS (KiB) after status.json was read        */
};

/* Starts btfs on data/mnt and waits until status.json reads in full. */
static void btfs_start(const char *data, const char *mnt,
                       struct start_info *si)
{
    char *status = fmt("%s/status.json", mnt);
    double t0 = now_s();
    uint64_t bytes;
    int st, rc;
    pid_t pid;

    if (g_pid)
        die("internal: btfs already running");
    if (is_fuse(mnt))
        die("%s is already a FUSE mount", mnt);
    fflush(NULL);
    pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        int log = open(g_log, O_WRONLY | O_CREAT | O_APPEND, 0644);

        if (log < 0 || dup2(log, STDOUT_FILENO) < 0 ||
            dup2(log, STDERR_FILENO) < 0 || chdir(g_work) < 0 ||
            setenv("BT_BUILDERS", "0", 1) < 0 ||
            setenv("BT_TRAINER", "0", 1) < 0)
            _exit(127);
        if (g_pin_cpu >= 0) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(g_pin_cpu, &set);
            if (sched_setaffinity(0, sizeof set, &set) < 0)
                _exit(127);
        }
        execl(g_btfs, "btfs", "-f", "--data", data, mnt, (char *)NULL);
        fprintf(stderr, "bench_fs: exec %s: %s\n", g_btfs, strerror(errno));
        _exit(127);
    }
    g_pid = pid;
    g_mnt = mnt;
    while (!is_fuse(mnt)) {
        if (waitpid(pid, &st, WNOHANG) == pid) {
            g_pid = 0;
            die("btfs exited (status %d) before mounting; see %s", st, g_log);
        }
        if (now_s() - t0 > START_TIMEOUT_S)
            die("btfs did not mount %s within %.0f s", mnt, START_TIMEOUT_S);
        sleep_s(0.0002);
    }
    si->rss_mounted = rss_kib(pid);
    for (;;) {
        bytes = 0;
        rc = read_through(status, &bytes);
        if (rc == 0 && bytes > 0)
            break;
        if (now_s() - t0 > START_TIMEOUT_S)
            die("%s not readable within %.0f s: %s", status, START_TIMEOUT_S,
                rc ? strerror(-rc) : "empty");
        sleep_s(0.0002);
    }
    si->ready_s = now_s() - t0;
    si->rss_ready = rss_kib(pid);
    free(status);
}

/* Stops the running btfs with SIGTERM (it unmounts), SIGKILL as a last
 * resort, and makes sure the mount is gone. */
static void btfs_stop(void)
{
    pid_t pid = g_pid;
    double t0 = now_s();
    int st = 0, killed = 0;

    if (!pid)
        return;
    g_pid = 0;
    kill(pid, SIGTERM);
    while (waitpid(pid, &st, WNOHANG) != pid) {
        if (!killed && now_s() - t0 > STOP_TIMEOUT_S) {
            note("btfs did not stop on SIGTERM within %.0f s; killing it",
                 STOP_TIMEOUT_S);
            kill(pid, SIGKILL);
            killed = 1;
        }
        sleep_s(0.001);
    }
    if (!killed && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
        note("btfs ended with status %d on SIGTERM; see %s", st, g_log);
    if (is_fuse(g_mnt)) {
        char *cmd = fmt("fusermount3 -u -z '%s'", g_mnt);

        note("%s still mounted after btfs ended; unmounting it", g_mnt);
        if (system(cmd) != 0)
            note("%s failed", cmd);
        free(cmd);
    }
}

/* ---- Filling ------------------------------------------------------------- */

static void fill(const char *data, size_t n, int finished)
{
    struct fill_options opt = {0};
    struct fill_result res;
    char err[512];

    opt.data_dir = data;
    opt.tasks = n;
    opt.finished = finished;
    opt.progress = 1;
    note("filling %s with %zu %s tasks", data, n,
         finished ? "finished" : "queued");
    if (fill_run(&opt, &res, err, sizeof err) < 0)
        die("fill %s: %s", data, err);
    /* Flushed now so that writeback does not run during a measurement. */
    sync();
    note("filled in %.1f s (%.0f tasks/s)", res.seconds,
         (double)res.enqueued / res.seconds);
}

/* ---- The table ----------------------------------------------------------- */

enum { COL_WHAT, COL_OURS, COL_BASE, COL_RATIO, COL_TARGET, COL_VERDICT,
       NCOLS };

struct row {
    char *col[NCOLS];
};

static struct row *g_rows;
static size_t g_nrows;

/* Adds a row; takes ownership of the strings (all from fmt()). */
static void row_add(char *what, char *ours, char *base, char *ratio,
                    char *target, char *verdict)
{
    struct row *r = realloc(g_rows, (g_nrows + 1) * sizeof *r);

    if (!r)
        die("out of memory");
    g_rows = r;
    r = &g_rows[g_nrows++];
    r->col[COL_WHAT] = what;
    r->col[COL_OURS] = ours;
    r->col[COL_BASE] = base;
    r->col[COL_RATIO] = ratio;
    r->col[COL_TARGET] = target;
    r->col[COL_VERDICT] = verdict;
}

/* A formatted number: small and bounded, so it lives on the stack and is
 * used as tstr(x).s within one expression. */
struct num {
    char s[48];
};

static struct num tstr(double sec)
{
    struct num n;

    if (sec >= 1.0)
        snprintf(n.s, sizeof n.s, "%.2f s", sec);
    else if (sec >= 0.01)
        snprintf(n.s, sizeof n.s, "%.1f ms", sec * 1e3);
    else if (sec >= 0.001)
        snprintf(n.s, sizeof n.s, "%.2f ms", sec * 1e3);
    else
        snprintf(n.s, sizeof n.s, "%.1f us", sec * 1e6);
    return n;
}

/* unit is a short literal ("tasks", "entries"). */
static struct num rstr(double per_s, const char *unit)
{
    struct num n;

    if (per_s >= 1e6)
        snprintf(n.s, sizeof n.s, "%.2fM %s/s", per_s / 1e6, unit);
    else if (per_s >= 1e4)
        snprintf(n.s, sizeof n.s, "%.0fk %s/s", per_s / 1e3, unit);
    else
        snprintf(n.s, sizeof n.s, "%.0f %s/s", per_s, unit);
    return n;
}

static struct num mstr(long kib)
{
    struct num n;

    if (kib < 0)
        snprintf(n.s, sizeof n.s, "?");
    else
        snprintf(n.s, sizeof n.s, "%.1f MiB", (double)kib / 1024.0);
    return n;
}

static char *verdict(int ok)
{
    return fmt("%s", ok ? "PASS" : "MISS");
}

/* The 1-minute load average, to show whether something else ran. */
static double loadavg(void)
{
    double l = -1.0;
    FILE *f = fopen("/proc/loadavg", "r");

    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1.0;
        fclose(f);
    }
    return l;
}

static void table_print(double load_start, double seconds)
{
    static const char *const head[NCOLS] = {
        "measurement", "ours", "baseline", "ratio", "target", "verdict"};
    size_t w[NCOLS], i, c;
    struct utsname u;

    for (c = 0; c < NCOLS; c++)
        w[c] = strlen(head[c]);
    for (i = 0; i < g_nrows; i++)
        for (c = 0; c < NCOLS; c++)
            if (strlen(g_rows[i].col[c]) > w[c])
                w[c] = strlen(g_rows[i].col[c]);
    if (uname(&u) == 0)
        printf("btfs benchmark: %s %s, %ld CPUs, medians of %d runs, "
               "%.0f s, load average %.2f at start, %.2f at end\n\n",
               u.sysname, u.release, sysconf(_SC_NPROCESSORS_ONLN),
               g_repeat, seconds, load_start, loadavg());
    for (c = 0; c < NCOLS; c++)
        printf("| %-*s ", (int)w[c], head[c]);
    printf("|\n");
    for (c = 0; c < NCOLS; c++) {
        printf("|");
        for (i = 0; i < w[c] + 2; i++)
            putchar('-');
    }
    printf("|\n");
    for (i = 0; i < g_nrows; i++) {
        for (c = 0; c < NCOLS; c++)
            printf("| %-*s ", (int)w[c], g_rows[i].col[c]);
        printf("|\n");
    }
    fflush(stdout);
    for (i = 0; i < g_nrows; i++)
        for (c = 0; c < NCOLS; c++)
            free(g_rows[i].col[c]);
    free(g_rows);
    g_rows = NULL;
    g_nrows = 0;
}

/* ---- a. Reading every JSON file of finished tasks ----------------------- */

/* Reads every named file under dir once; returns the seconds taken and
 * checks that the byte count is what it was the first time (*bytes 0). */
/* btfs's own memory at its peak during a measurement: RssAnon (heap,
 * stacks) sampled every 2 ms by a thread. VmHWM also counts the pages of
 * data.mdb that LMDB maps and a walk touched, which are the kernel's page
 * cache (shared, clean, reclaimable) and grow with the store, not with
 * what btfs holds; both are printed. */
static struct {
    pthread_t thread;
    pid_t pid;
    atomic_int stop;
    long peak;
} g_sampler;

static void *sampler_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&g_sampler.stop)) {
        long k = status_kib(g_sampler.pid, "RssAnon:");
        if (k > g_sampler.peak)
            g_sampler.peak = k;
        struct timespec ts = { 0, 2000000 };
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void sampler_start(pid_t pid)
{
    g_sampler.pid = pid;
    g_sampler.peak = status_kib(pid, "RssAnon:");
    atomic_store(&g_sampler.stop, 0);
    if (pthread_create(&g_sampler.thread, NULL, sampler_main, NULL) != 0)
        die("pthread_create");
}

/* Stops the sampler: the peak RssAnon in KiB. */
static long sampler_stop(void)
{
    atomic_store(&g_sampler.stop, 1);
    pthread_join(g_sampler.thread, NULL);
    long k = status_kib(g_sampler.pid, "RssAnon:");
    return k > g_sampler.peak ? k : g_sampler.peak;
}

/* CPU seconds (user + system) a process has used so far, or -1. */
static double cpu_s(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long ut, st;
    FILE *f;
    int ok;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (!(f = fopen(path, "r")))
        return -1;
    p = fgets(buf, sizeof buf, f);
    fclose(f);
    /* The name field may hold spaces: fields count from its ')'. */
    if (!p || !(p = strrchr(buf, ')')))
        return -1;
    ok = sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                &ut, &st) == 2;
    return ok ? (double)(ut + st) / (double)sysconf(_SC_CLK_TCK) : -1;
}

/* Runs a shell command line, output discarded, and returns its time.
 * Exit statuses in ok_mask (bit per status) are accepted. */
static double time_sh(const char *cmd, unsigned ok_mask)
{
    double t0 = now_s();
    int st = system(cmd);
    double t = now_s() - t0;

    if (st < 0 || !WIFEXITED(st) || !(ok_mask >> WEXITSTATUS(st) & 1))
        die("'%s' failed (status %d)", cmd, st);
    return t;
}

/* Median time of a command run g_repeat times after one warm-up run. */
static double time_sh_warm(const char *cmd, unsigned ok_mask)
{
    double *t = calloc((size_t)g_repeat, sizeof *t), m;
    int r;

    if (!t)
        die("out of memory");
    time_sh(cmd, ok_mask);
    for (r = 0; r < g_repeat; r++)
        t[r] = time_sh(cmd, ok_mask);
    m = median(t, (size_t)g_repeat);
    free(t);
    return m;
}

static void bench_grep(const char *data, const char *mnt, const char *dir);

static double read_pass(const char *dir, const struct names *ns,
                        uint64_t *bytes)
{
    uint64_t total = 0;
    double t0 = now_s(), t;
    size_t i;
    int rc;

    for (i = 0; i < ns->n; i++) {
        char *path = fmt("%s/%s", dir, ns->v[i]);

        rc = read_through(path, &total);
        if (rc < 0)
            die("read %s: %s", path, strerror(-rc));
        free(path);
    }
    t = now_s() - t0;
    if (*bytes && total != *bytes)
        die("read %llu bytes under %s, %llu before",
            (unsigned long long)total, dir, (unsigned long long)*bytes);
    *bytes = total;
    return t;
}

static void bench_read(size_t ntasks)
{
    char *dir = fmt("%s/read", g_work), *data = fmt("%s/data", dir);
    char *mnt = fmt("%s/mnt", dir), *local = fmt("%s/local", dir);
    char *mtasks = fmt("%s/tasks", mnt);
    double *t = calloc((size_t)g_repeat, sizeof *t);
    double warm_ours, warm_local, cold_ours, cold_local;
    struct start_info si;
    struct names ns = {0};
    uint64_t bytes = 0;
    size_t i;
    int r;

    if (!t)
        die("out of memory");
    make_dir(dir);
    make_dir(data);
    make_dir(mnt);
    make_dir(local);
    fill(data, ntasks, 1);

    btfs_start(data, mnt, &si);
    list_dir(mtasks, is_task_file, &ns);
    /* A finished task shows a task, a reflection and a summary file. */
    if (ns.n != 3 * ntasks)
        die("%s lists %zu task files for %zu finished tasks, not %zu",
            mtasks, ns.n, ntasks, 3 * ntasks);
    note("copying %zu files to %s", ns.n, local);
    for (i = 0; i < ns.n; i++) {
        char *src = fmt("%s/%s", mtasks, ns.v[i]);
        char *dst = fmt("%s/%s", local, ns.v[i]);

        copy_file(src, dst);
        free(src);
        free(dst);
    }
    sync();

    note("reading %zu files through the mount, warm", ns.n);
    read_pass(mtasks, &ns, &bytes);             /* fills the caches */
    for (r = 0; r < g_repeat; r++)
        t[r] = read_pass(mtasks, &ns, &bytes);
    warm_ours = median(t, (size_t)g_repeat);

    note("reading them through the mount, cold");
    for (r = 0; r < g_repeat; r++) {
        btfs_stop();
        drop_caches();
        btfs_start(data, mnt, &si);
        t[r] = read_pass(mtasks, &ns, &bytes);
    }
    cold_ours = median(t, (size_t)g_repeat);
    btfs_stop();

    note("reading the local copy, warm and cold");
    read_pass(local, &ns, &bytes);
    for (r = 0; r < g_repeat; r++)
        t[r] = read_pass(local, &ns, &bytes);
    warm_local = median(t, (size_t)g_repeat);
    for (r = 0; r < g_repeat; r++) {
        drop_caches();
        t[r] = read_pass(local, &ns, &bytes);
    }
    cold_local = median(t, (size_t)g_repeat);

    row_add(fmt("read all %zu JSON files of %zu finished tasks (%.1f MiB), "
                "warm", ns.n, ntasks, (double)bytes / 1048576.0),
            fmt("%s (%.0f files/s)", tstr(warm_ours).s,
                (double)ns.n / warm_ours),
            fmt("%s", tstr(warm_local).s), fmt("%.2fx", warm_ours / warm_local),
            fmt("<= 1.2x"), verdict(warm_ours / warm_local <= 1.2));
    row_add(fmt("same, cold (page cache dropped, btfs restarted)"),
            fmt("%s (%.0f files/s)", tstr(cold_ours).s,
                (double)ns.n / cold_ours),
            fmt("%s", tstr(cold_local).s), fmt("%.2fx", cold_ours / cold_local),
            fmt("<= 2x"), verdict(cold_ours / cold_local <= 2.0));
    bench_grep(data, mnt, dir);
    names_free(&ns);
    free(t);
    free(dir);
    free(data);
    free(mnt);
    free(local);
    free(mtasks);
}

/* grep -r of a word that is nowhere (so every byte is read) over the whole
 * tree, against a cp -r copy of the tree on the local disk, warm. */
static void bench_grep(const char *data, const char *mnt, const char *dir)
{
    char *copy = fmt("%s/tree-copy", dir), *cmd;
    struct start_info si;
    double ours, local;

    btfs_start(data, mnt, &si);
    note("copying the whole tree with cp -r to %s", copy);
    cmd = fmt("cp -r '%s' '%s'", mnt, copy);
    time_sh(cmd, 1);
    free(cmd);
    sync();
    note("grep -r over the mount and over the copy, warm");
    cmd = fmt("grep -r -F -q xyzzy-nowhere '%s'", mnt);
    ours = time_sh_warm(cmd, 2);        /* 1: nothing found */
    free(cmd);
    cmd = fmt("grep -r -F -q xyzzy-nowhere '%s'", copy);
    local = time_sh_warm(cmd, 2);
    free(cmd);
    btfs_stop();
    row_add(fmt("grep -r of a word over the whole tree, warm"),
            fmt("%s", tstr(ours).s), fmt("%s (cp -r copy)", tstr(local).s),
            fmt("%.2fx", ours / local), fmt("<= 1.5x"),
            verdict(ours / local <= 1.5));
    free(copy);
}

/* ---- b. Enqueueing through tasks/new ------------------------------------ */

static void write_all(int fd, const char *buf, size_t len, const char *what)
{
    ssize_t n = write(fd, buf, len);

    if (n < 0)
        die("write to %s: %s", what, strerror(errno));
    if ((size_t)n != len)
        die("short write to %s: %zd of %zu bytes", what, n, len);
}

static void bench_enqueue(size_t n)
{
    char *dir = fmt("%s/enqueue", g_work), *data = fmt("%s/data", dir);
    char *mnt = fmt("%s/mnt", dir), *mtasks = fmt("%s/tasks", mnt);
    char *newf = fmt("%s/new", mtasks), *base = fmt("%s/baseline.log", dir);
    double *t = calloc((size_t)g_repeat, sizeof *t);
    double t0, single, plain, bulk;
    struct start_info si;
    struct names ns = {0};
    char line[64], *buf = NULL;
    size_t i, len, blen = 0;
    int fd, r;

    if (!t)
        die("out of memory");
    make_dir(dir);
    make_dir(data);
    make_dir(mnt);
    btfs_start(data, mnt, &si);

    note("enqueueing %zu tasks, one write(2) each", n);
    t0 = now_s();
    if ((fd = open(newf, O_WRONLY)) < 0)
        die("open %s: %s", newf, strerror(errno));
    for (i = 0; i < n; i++) {
        len = (size_t)snprintf(line, sizeof line, "bench task %zu\n", i);
        write_all(fd, line, len, newf);
    }
    if (close(fd) < 0)
        die("close %s: %s", newf, strerror(errno));
    single = now_s() - t0;

    note("baseline: %zu write(2)+fdatasync on %s", n, base);
    t0 = now_s();
    fd = open(base, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    if (fd < 0)
        die("create %s: %s", base, strerror(errno));
    for (i = 0; i < n; i++) {
        len = (size_t)snprintf(line, sizeof line, "bench task %zu\n", i);
        write_all(fd, line, len, base);
        if (fdatasync(fd) < 0)
            die("fdatasync %s: %s", base, strerror(errno));
    }
    close(fd);
    plain = now_s() - t0;

    /* One buffer of n short lines, well under the 1 MiB a write may hold. */
    if (!(buf = malloc(n * 32)))
        die("out of memory");
    for (i = 0; i < n; i++)
        blen += (size_t)sprintf(buf + blen, "bulk task %zu\n", i);
    note("enqueueing %zu tasks in one write(2) of %zu bytes, %d times", n,
         blen, g_repeat);
    double cpu0 = cpu_s(g_pid);
    for (r = 0; r < g_repeat; r++) {
        t0 = now_s();
        if ((fd = open(newf, O_WRONLY)) < 0)
            die("open %s: %s", newf, strerror(errno));
        write_all(fd, buf, blen, newf);
        if (close(fd) < 0)
            die("close %s: %s", newf, strerror(errno));
        t[r] = now_s() - t0;
    }
    bulk = median(t, (size_t)g_repeat);
    /* On a busy machine the wall time says more about the others; the CPU
     * time btfs spent says what a write costs it. */
    double bulk_cpu = (cpu_s(g_pid) - cpu0) / g_repeat;

    list_dir(mtasks, is_task_doc, &ns);
    if (ns.n != n * (size_t)(1 + g_repeat))
        die("%s lists %zu tasks, %zu were written", mtasks, ns.n,
            n * (size_t)(1 + g_repeat));
    btfs_stop();

    row_add(fmt("enqueue %zu tasks, one write(2) of one line each "
                "(each a durable commit)", n),
            fmt("%s", rstr((double)n / single, "tasks").s),
            fmt("%s (write+fdatasync)", rstr((double)n / plain, "lines").s),
            fmt("%.3f", plain / single), fmt(">= 0.45"),
            verdict(plain / single >= 0.45));
    row_add(fmt("enqueue %zu tasks in one write(2) of %zu bytes (btfs CPU "
                "%.0f ms a write: %s per CPU-second)", n, blen,
                bulk_cpu * 1000.0, rstr((double)n / bulk_cpu, "tasks").s),
            fmt("%s", rstr((double)n / bulk, "tasks").s), fmt("-"), fmt("-"),
            fmt(">= 150k tasks/s"), verdict((double)n / bulk >= 150000.0));
    names_free(&ns);
    free(buf);
    free(t);
    free(dir);
    free(data);
    free(mnt);
    free(mtasks);
    free(newf);
    free(base);
}

/* ---- c. stat and readdir of tasks/; d. start-up ------------------------- */

struct dir_times {
    double stat_s;      /* stat of tasks/ */
    double readdir_s;   /* opendir + readdir all + closedir */
    size_t entries;
};

static void time_dir(const char *dir, struct dir_times *dt)
{
    struct stat sb;
    double t0 = now_s();

    if (stat(dir, &sb) < 0)
        die("stat %s: %s", dir, strerror(errno));
    dt->stat_s = now_s() - t0;
    t0 = now_s();
    dt->entries = list_dir(dir, NULL, NULL);
    dt->readdir_s = now_s() - t0;
}

/* The local baseline: a directory of as many empty files. */
static void local_dir_grow(const char *local, size_t *have, size_t want)
{
    for (; *have < want; (*have)++) {
        char *p = fmt("%s/task_%06zu.json", local, *have + 1);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);

        if (fd < 0)
            die("create %s: %s", p, strerror(errno));
        close(fd);
        free(p);
    }
    sync();
}

static void bench_dir(const char *data, const char *mnt, const char *local,
                      size_t *local_have, size_t ntasks)
{
    char *mtasks = fmt("%s/tasks", mnt);
    double *st = calloc((size_t)g_repeat, sizeof *st);
    double *rd = calloc((size_t)g_repeat, sizeof *rd);
    double ours_stat, ours_rd, loc_stat, loc_rd;
    size_t ours_n = 0, loc_n = 0;
    struct start_info si;
    struct dir_times dt;
    int r;

    if (!st || !rd)
        die("out of memory");
    note("stat and readdir of tasks/ with %zu tasks", ntasks);
    /* A fresh mount each time: the first stat is a real lookup, not an
     * answer from the kernel's attribute cache. */
    for (r = 0; r < g_repeat; r++) {
        btfs_start(data, mnt, &si);
        time_dir(mtasks, &dt);
        btfs_stop();
        st[r] = dt.stat_s;
        rd[r] = dt.readdir_s;
        ours_n = dt.entries;
    }
    ours_stat = median(st, (size_t)g_repeat);
    ours_rd = median(rd, (size_t)g_repeat);

    local_dir_grow(local, local_have, ntasks);
    time_dir(local, &dt);                       /* warms the dentries */
    for (r = 0; r < g_repeat; r++) {
        time_dir(local, &dt);
        st[r] = dt.stat_s;
        rd[r] = dt.readdir_s;
        loc_n = dt.entries;
    }
    loc_stat = median(st, (size_t)g_repeat);
    loc_rd = median(rd, (size_t)g_repeat);

    row_add(fmt("stat tasks/ (first after mount), %zu tasks", ntasks),
            fmt("%s", tstr(ours_stat).s),
            fmt("%s (local dir)", tstr(loc_stat).s),
            fmt("%.1fx", ours_stat / loc_stat), fmt("-"), fmt("info"));
    row_add(fmt("readdir tasks/ (%zu entries), %zu tasks", ours_n, ntasks),
            fmt("%s (%s)", tstr(ours_rd).s,
                rstr((double)ours_n / ours_rd, "entries").s),
            fmt("%s (%s)", tstr(loc_rd).s,
                rstr((double)loc_n / loc_rd, "entries").s),
            fmt("%.1fx", ours_rd / loc_rd), fmt("-"), fmt("info"));
    free(st);
    free(rd);
    free(mtasks);
}

/* ---- e. A changing file while commits go on ------------------------------
 * A write to tasks/new is a durable commit that changes status.json
 * (queue_depth); every open of status.json after the write returns must
 * show the new depth and be whole JSON. 20 commits a second, as a busy
 * Builder makes them. */
static void bench_live(size_t n)
{
    char *dir = fmt("%s/live", g_work), *data = fmt("%s/data", dir);
    char *mnt = fmt("%s/mnt", dir), *newf = fmt("%s/tasks/new", mnt);
    char *status = fmt("%s/status.json", mnt);
    static char buf[1 << 16];
    struct start_info si;
    size_t i, good = 0, parsed = 0;
    double t0, next;

    make_dir(dir);
    make_dir(data);
    make_dir(mnt);
    btfs_start(data, mnt, &si);
    note("%zu commits at 20/s, status.json read after each", n);
    t0 = next = now_s();
    for (i = 1; i <= n; i++) {
        char line[64], want[64];
        int fd = open(newf, O_WRONLY);
        ssize_t len;

        if (fd < 0)
            die("open %s: %s", newf, strerror(errno));
        len = snprintf(line, sizeof line, "live task %zu\n", i);
        write_all(fd, line, (size_t)len, newf);
        close(fd);
        /* Two reads: the one right after the commit, and one a moment
         * later, both must be whole and current. */
        for (int k = 0; k < 2; k++) {
            if ((fd = open(status, O_RDONLY)) < 0)
                die("open %s: %s", status, strerror(errno));
            size_t got = 0;
            while ((len = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
                got += (size_t)len;
            close(fd);
            buf[got] = '\0';
            snprintf(want, sizeof want, "\"queue_depth\":\t%zu,", i);
            parsed += got > 2 && buf[0] == '{' && buf[got - 2] == '}' &&
                      buf[got - 1] == '\n';
            good += strstr(buf, want) != NULL;
        }
        next += 0.05;
        if (next > now_s())
            sleep_s(next - now_s());
    }
    btfs_stop();
    row_add(fmt("cat status.json after each of %zu commits at %.0f/s: whole, "
                "and showing the commit", n, (double)n / (now_s() - t0)),
            fmt("%.1f%% whole, %.1f%% current", 50.0 * (double)parsed / (double)n,
                50.0 * (double)good / (double)n),
            fmt("-"), fmt("-"), fmt("100%%"),
            verdict(parsed == 2 * n && good == 2 * n));
    free(dir);
    free(data);
    free(mnt);
    free(newf);
    free(status);
}

/* One row of the tree: command ours (through btfs) against command base (on
 * the local copy), warm (one priming run, median of g_repeat) or once, with
 * btfs's peak RssAnon during ours. Frees what, ours and base. */
static void tree_row(char *what, char *ours_cmd, char *base_cmd, int warm)
{
    double ours, base;
    long anon, hwm;

    note("%s", what);
    sampler_start(g_pid);
    ours = warm ? time_sh_warm(ours_cmd, 1) : time_sh(ours_cmd, 1);
    anon = sampler_stop();
    hwm = hwm_kib(g_pid);
    sync();
    base = warm ? time_sh_warm(base_cmd, 1) : time_sh(base_cmd, 1);
    row_add(fmt("%s (btfs peak RssAnon %s, VmHWM %s)", what, mstr(anon).s,
                mstr(hwm).s),
            fmt("%s", tstr(ours).s), fmt("%s (local copy)", tstr(base).s),
            fmt("%.2fx", ours / base), fmt("<= 3x; RSS <= 64 MiB"),
            verdict(ours / base <= 3.0 && anon <= 65536));
    free(what);
    free(ours_cmd);
    free(base_cmd);
}

/* ---- f. The tree at scale (issue #16) --------------------------------------
 * With N queued tasks: ls -l, find -name, cp -r of tasks/ and cat of
 * task_queue.json, against the cp -r copy of the same files on the local
 * disk, warm; btfs's peak RSS after each. */
static void bench_tree(size_t ntasks)
{
    char *dir = fmt("%s/tree-%zu", g_work, ntasks), *data = fmt("%s/data", dir);
    char *mnt = fmt("%s/mnt", dir), *mtasks = fmt("%s/tasks", mnt);
    char *local = fmt("%s/local", dir), *local2 = fmt("%s/local2", dir);
    char *queue = fmt("%s/task_queue.json", mtasks), *cmd, *cmd2;
    struct start_info si;
    double ours, t0;
    uint64_t bytes = 0;
    long hwm, anon;
    const char *what = ntasks >= 1000000 ? "1M" : NULL;
    char *label = what ? fmt("%s", what) : fmt("%zuk", ntasks / 1000);

    make_dir(dir);
    make_dir(data);
    make_dir(mnt);
    fill(data, ntasks, 0);
    btfs_start(data, mnt, &si);

    /* cp -r makes the local copy the other rows compare with; its own
     * baseline is a cp -r of that copy. A fresh btfs for each row, so that
     * each VmHWM is its own (cp -r also reads task_queue.json whole). */
    cmd = fmt("cp -r '%s' '%s'", mtasks, local);
    cmd2 = fmt("cp -r '%s' '%s'", local, local2);
    tree_row(fmt("cp -r tasks/, %s tasks", label), cmd, cmd2, 0);
    btfs_stop();
    btfs_start(data, mnt, &si);
    cmd = fmt("ls -l '%s' >/dev/null", mtasks);
    cmd2 = fmt("ls -l '%s' >/dev/null", local);
    tree_row(fmt("ls -l tasks/, %s tasks, warm", label), cmd, cmd2, 1);
    btfs_stop();
    btfs_start(data, mnt, &si);
    cmd = fmt("find '%s' -name 'task_0999*' >/dev/null", mtasks);
    cmd2 = fmt("find '%s' -name 'task_0999*' >/dev/null", local);
    tree_row(fmt("find tasks -name 'task_0999*', %s tasks, warm", label), cmd,
             cmd2, 1);

    btfs_stop();
    btfs_start(data, mnt, &si);
    note("cat tasks/task_queue.json");
    sampler_start(g_pid);
    t0 = now_s();
    if (read_through(queue, &bytes) < 0)
        die("read %s", queue);
    ours = now_s() - t0;
    anon = sampler_stop();
    hwm = hwm_kib(g_pid);
    row_add(fmt("cat tasks/task_queue.json, %s tasks (%.0f MiB; btfs peak "
                "RssAnon %s, VmHWM %s)", label, (double)bytes / 1048576.0,
                mstr(anon).s, mstr(hwm).s),
            fmt("%s (%.0f MB/s)", tstr(ours).s, (double)bytes / ours / 1e6),
            fmt("-"), fmt("-"), fmt(">= 200 MB/s; RSS <= 64 MiB"),
            verdict((double)bytes / ours >= 200e6 && anon <= 65536));
    btfs_stop();
    /* A 1M tree is about 600 MB of store and two local copies: gone before
     * the next size, unless kept. */
    if (!g_keep)
        rm_rf(dir);
    free(label);
    free(dir);
    free(data);
    free(mnt);
    free(mtasks);
    free(local);
    free(local2);
    free(queue);
}

/* Start-up figures of the first size measured, to show growth against. */
struct startup_ref {
    size_t ntasks;      /* 0 until the first size is measured */
    double warm_s, cold_s;
    long rss_mounted, rss_ready;
};

static void bench_startup(const char *data, const char *mnt, size_t ntasks,
                          struct startup_ref *ref)
{
    double *w = calloc((size_t)g_repeat, sizeof *w);
    double *c = calloc((size_t)g_repeat, sizeof *c);
    char *mtasks = fmt("%s/tasks", mnt);
    double warm, cold, list_t0, list_s;
    long rss_m = 0, rss_r = 0, rss_l, anon_during, anon_after;
    struct start_info si;
    size_t listed;
    int r, first = !ref->ntasks;

    if (!w || !c)
        die("out of memory");
    note("start-up with %zu tasks, warm and cold", ntasks);
    for (r = 0; r < g_repeat; r++) {
        btfs_start(data, mnt, &si);
        btfs_stop();
        w[r] = si.ready_s;
        if (si.rss_mounted > rss_m)
            rss_m = si.rss_mounted;
        if (si.rss_ready > rss_r)
            rss_r = si.rss_ready;
    }
    for (r = 0; r < g_repeat; r++) {
        drop_caches();
        btfs_start(data, mnt, &si);
        btfs_stop();
        c[r] = si.ready_s;
        if (si.rss_mounted > rss_m)
            rss_m = si.rss_mounted;
        if (si.rss_ready > rss_r)
            rss_r = si.rss_ready;
    }
    warm = median(w, (size_t)g_repeat);
    cold = median(c, (size_t)g_repeat);

    /* Listing tasks/ is the one operation allowed to cost time in
     * proportion to the tasks; whether it costs memory that stays is worth
     * knowing too. */
    btfs_start(data, mnt, &si);
    sampler_start(g_pid);
    list_t0 = now_s();
    listed = list_dir(mtasks, NULL, NULL);
    list_s = now_s() - list_t0;
    anon_during = sampler_stop();
    sleep_s(0.5);       /* RELEASEDIR is sent after closedir returns */
    rss_l = rss_kib(g_pid);
    anon_after = status_kib(g_pid, "RssAnon:");
    btfs_stop();
    if (first) {
        ref->ntasks = ntasks;
        ref->warm_s = warm;
        ref->cold_s = cold;
        ref->rss_mounted = rss_m;
        ref->rss_ready = rss_r;
    }

/* Rows after the first size show that size's figure as the baseline, and
 * the ratio is the growth. */
#define REF(str) (first ? fmt("-") : fmt("%s at %zu", (str), ref->ntasks))
#define GROWTH(x, x0) (first ? fmt("-") : fmt("%.2fx", (double)(x) / \
                                                       (double)(x0)))
    row_add(fmt("btfs start-up to status.json read, %zu tasks, warm cache",
                ntasks),
            fmt("%s", tstr(warm).s), REF(tstr(ref->warm_s).s),
            GROWTH(warm, ref->warm_s), fmt("<= 1 s"), verdict(warm <= 1.0));
    row_add(fmt("btfs start-up to status.json read, %zu tasks, cold cache",
                ntasks),
            fmt("%s", tstr(cold).s), REF(tstr(ref->cold_s).s),
            GROWTH(cold, ref->cold_s), fmt("<= 1 s"), verdict(cold <= 1.0));
    row_add(fmt("btfs VmRSS once mounted, %zu tasks", ntasks),
            fmt("%s", mstr(rss_m).s), REF(mstr(ref->rss_mounted).s),
            GROWTH(rss_m, ref->rss_mounted), fmt("<= 64 MiB"),
            verdict(rss_m >= 0 && rss_m <= 64 * 1024));
    row_add(fmt("btfs VmRSS after reading status.json, %zu tasks", ntasks),
            fmt("%s", mstr(rss_r).s), REF(mstr(ref->rss_ready).s),
            GROWTH(rss_r, ref->rss_ready), fmt("<= 64 MiB"),
            verdict(rss_r >= 0 && rss_r <= 64 * 1024));
    row_add(fmt("btfs RssAnon during and after listing tasks/ (%zu entries "
                "in %s; VmRSS after %s), %zu tasks", listed, tstr(list_s).s,
                mstr(rss_l).s, ntasks),
            fmt("%s, %s", mstr(anon_during).s, mstr(anon_after).s),
            fmt("-"), fmt("-"), fmt("<= 64 MiB"),
            verdict(anon_during >= 0 && anon_during <= 64 * 1024 &&
                    anon_after <= 64 * 1024));
#undef REF
#undef GROWTH
    free(mtasks);
    free(w);
    free(c);
}

/* ---- g. The cost of one open (issue #12) -----------------------------------
 * What is left of a warm read once the kernel caches names, attributes and
 * pages is the OPEN request (RELEASE is sent in the background): one round
 * trip to btfs. These rows measure it alone, against a local open, with the
 * reader and btfs free to run on any CPU and then both on one CPU, because
 * on a VM a wake-up on another CPU costs far more than the work. */

/* Microseconds per open+close (with read: open, read to EOF, close) of
 * path, over n rounds. */
static double open_us(const char *path, int with_read, int n)
{
    char buf[65536];
    double t0 = now_s();

    for (int i = 0; i < n; i++) {
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            die("open %s: %s", path, strerror(errno));
        if (with_read)
            while (read(fd, buf, sizeof buf) > 0) {}
        close(fd);
    }
    return (now_s() - t0) * 1e6 / n;
}

static double open_us_median(const char *path, int with_read)
{
    double v[99];
    for (int r = 0; r < g_repeat; r++)
        v[r] = open_us(path, with_read, 20000);
    return median(v, (size_t)g_repeat);
}

static void bench_rtt(void)
{
    char *dir = fmt("%s/rtt", g_work), *data = fmt("%s/data", dir);
    char *mnt = fmt("%s/mnt", dir), *local = fmt("%s/local.json", dir);
    char *file = fmt("%s/tasks/task_000001.json", mnt);
    struct start_info si;
    cpu_set_t all, one;
    int pinned;

    make_dir(dir);
    make_dir(data);
    make_dir(mnt);
    fill(data, 10, 1);
    if (sched_getaffinity(0, sizeof all, &all) < 0)
        die("sched_getaffinity: %s", strerror(errno));
    for (pinned = 0; pinned < 2; pinned++) {
        const char *how = pinned ? "btfs and the reader on one CPU"
                                 : "any CPU";
        if (pinned) {
            if (CPU_COUNT(&all) < 2)
                break;
            CPU_ZERO(&one);
            CPU_SET(0, &one);
            if (sched_setaffinity(0, sizeof one, &one) < 0)
                die("sched_setaffinity: %s", strerror(errno));
            g_pin_cpu = 0;
        }
        btfs_start(data, mnt, &si);
        if (!pinned)
            copy_file(file, local);
        note("open+close, %s", how);
        open_us(file, 1, 2000);         /* names, attributes, pages cached */
        open_us(local, 1, 2000);
        for (int with_read = 0; with_read < 2; with_read++) {
            double ours = open_us_median(file, with_read);
            double base = open_us_median(local, with_read);
            row_add(fmt("open%s+close of a finished task's cached file, %s",
                        with_read ? "+read" : "", how),
                    fmt("%.1f us", ours), fmt("%.2f us (local file)", base),
                    fmt("%.1fx", ours / base), fmt("-"), fmt("info"));
        }
        btfs_stop();
        g_pin_cpu = -1;
        if (pinned && sched_setaffinity(0, sizeof all, &all) < 0)
            die("sched_setaffinity: %s", strerror(errno));
    }
    if (!g_keep)
        rm_rf(dir);
    free(dir);
    free(data);
    free(mnt);
    free(local);
    free(file);
}

static int has_size(const size_t *v, size_t n, size_t x)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (v[i] == x)
            return 1;
    return 0;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;

    return (x > y) - (x < y);
}

/* One tree grows through every size asked for, so that the million-task
 * tree costs one fill, not three. */
static void bench_grow(const size_t *dirs, size_t ndirs, const size_t *starts,
                       size_t nstarts)
{
    char *dir = fmt("%s/grow", g_work), *data = fmt("%s/data", dir);
    char *mnt = fmt("%s/mnt", dir), *local = fmt("%s/local", dir);
    size_t all[2 * MAX_SIZES], nall = 0, have = 0, local_have = 0, i;
    struct startup_ref ref = {0};

    make_dir(dir);
    make_dir(data);
    make_dir(mnt);
    make_dir(local);
    for (i = 0; i < ndirs; i++)
        all[nall++] = dirs[i];
    for (i = 0; i < nstarts; i++)
        if (!has_size(dirs, ndirs, starts[i]))
            all[nall++] = starts[i];
    qsort(all, nall, sizeof *all, cmp_size);
    for (i = 0; i < nall; i++) {
        if (all[i] > have)
            fill(data, all[i] - have, 0);
        have = all[i];
        if (has_size(dirs, ndirs, all[i]))
            bench_dir(data, mnt, local, &local_have, all[i]);
        if (has_size(starts, nstarts, all[i]))
            bench_startup(data, mnt, all[i], &ref);
    }
    free(dir);
    free(data);
    free(mnt);
    free(local);
}

/* ---- main ---------------------------------------------------------------- */

/* Parses "10k,100k" into v (at most MAX_SIZES sizes). */
static size_t parse_sizes(const char *opt, const char *s, size_t *v)
{
    char *copy = strdup(s), *tok, *save = NULL;
    size_t n = 0;

    if (!copy)
        die("out of memory");
    for (tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (n == MAX_SIZES || fill_parse_count(tok, &v[n]) < 0)
            die("%s wants up to %d counts separated by commas (e.g. "
                "10k,100k), got '%s'", opt, MAX_SIZES, s);
        if (!has_size(v, n, v[n]))
            n++;
    }
    free(copy);
    return n;
}

static void usage(FILE *out)
{
    fputs("usage: bench_fs [options]   (as root: cold runs drop the page "
          "cache)\n"
          "  --btfs PATH           btfs program (default: ../cmd/btfs next "
          "to bench_fs)\n"
          "  --work DIR            where the scratch directory goes (default "
          "/var/tmp);\n"
          "                        must be on the disk to measure\n"
          "  --repeat N            runs per small measurement, median "
          "reported (default 3)\n"
          "  --only LIST           some of read,enqueue,live,tree,dir,"
          "startup,rtt\n"
          "                        (default all)\n"
          "  --read-tasks N        finished tasks read in full (default "
          "10k)\n"
          "  --enqueue-tasks N     tasks enqueued per run (default 10k)\n"
          "  --dir-sizes LIST      task counts for stat/readdir (default "
          "10k,100k)\n"
          "  --startup-sizes LIST  task counts for start-up (default "
          "100k,1M)\n"
          "  --tree-sizes LIST     queued task counts for ls -l, find, cp -r "
          "and\n"
          "                        cat task_queue.json (default 100k,1M)\n"
          "  --keep                keep the scratch directory\n", out);
}

/* Finds ../cmd/btfs relative to this program in the build directory. */
static char *default_btfs(void)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    char *slash;

    if (n < 0 || (size_t)n >= sizeof self - 1)
        die("cannot find myself (/proc/self/exe); use --btfs");
    self[n] = 0;
    if (!(slash = strrchr(self, '/')))
        die("odd /proc/self/exe '%s'; use --btfs", self);
    *slash = 0;
    return fmt("%s/../cmd/btfs", self);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"btfs", required_argument, NULL, 'b'},
        {"work", required_argument, NULL, 'w'},
        {"repeat", required_argument, NULL, 'r'},
        {"only", required_argument, NULL, 'o'},
        {"read-tasks", required_argument, NULL, 'R'},
        {"enqueue-tasks", required_argument, NULL, 'E'},
        {"dir-sizes", required_argument, NULL, 'D'},
        {"startup-sizes", required_argument, NULL, 'S'},
        {"tree-sizes", required_argument, NULL, 'T'},
        {"keep", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *work = "/var/tmp",
               *only = "read,enqueue,live,tree,dir,startup,rtt";
    char *btfs = NULL, *tmpl;
    size_t read_n = 10000, enq_n = 10000, cnt;
    size_t dirs[MAX_SIZES] = {10000, 100000}, ndirs = 2;
    size_t starts[MAX_SIZES] = {100000, 1000000}, nstarts = 2;
    size_t trees[MAX_SIZES] = {100000, 1000000}, ntrees = 2;
    int c, keep = 0, do_read, do_enq, do_dir, do_start, do_live, do_tree,
        do_rtt;
    double t0 = now_s(), load0 = loadavg();

    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'b':
            free(btfs);
            btfs = fmt("%s", optarg);
            break;
        case 'w':
            work = optarg;
            break;
        case 'r':
            if (fill_parse_count(optarg, &cnt) < 0 || cnt > 99)
                die("--repeat wants 1 to 99, got '%s'", optarg);
            g_repeat = (int)cnt;
            break;
        case 'o':
            only = optarg;
            break;
        case 'R':
            if (fill_parse_count(optarg, &read_n) < 0)
                die("--read-tasks wants a count, got '%s'", optarg);
            break;
        case 'E':
            if (fill_parse_count(optarg, &enq_n) < 0 || enq_n > 20000)
                die("--enqueue-tasks wants a count up to 20k (one write "
                    "must stay under 1 MiB), got '%s'", optarg);
            break;
        case 'D':
            ndirs = parse_sizes("--dir-sizes", optarg, dirs);
            break;
        case 'S':
            nstarts = parse_sizes("--startup-sizes", optarg, starts);
            break;
        case 'T':
            ntrees = parse_sizes("--tree-sizes", optarg, trees);
            break;
        case 'k':
            keep = g_keep = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    do_read = strstr(only, "read") != NULL;
    do_enq = strstr(only, "enqueue") != NULL;
    do_dir = strstr(only, "dir") != NULL;
    do_start = strstr(only, "startup") != NULL;
    do_live = strstr(only, "live") != NULL;
    do_tree = strstr(only, "tree") != NULL;
    do_rtt = strstr(only, "rtt") != NULL;
    if (!do_read && !do_enq && !do_dir && !do_start && !do_live && !do_tree &&
        !do_rtt)
        die("--only wants some of read,enqueue,live,tree,dir,startup,rtt, "
            "got '%s'", only);
    if (!do_dir)
        ndirs = 0;
    if (!do_start)
        nstarts = 0;

    g_btfs = btfs ? btfs : (btfs = default_btfs());
    if (access(g_btfs, X_OK) < 0)
        die("cannot run %s: %s (use --btfs)", g_btfs, strerror(errno));
    if ((do_read || do_start) && access("/proc/sys/vm/drop_caches", W_OK) < 0)
        die("cold runs need to write /proc/sys/vm/drop_caches: %s (run as "
            "root, or --only enqueue,dir)", strerror(errno));
    tmpl = fmt("%s/btfs-bench.XXXXXX", work);
    if (!mkdtemp(tmpl))
        die("mkdtemp %s: %s", tmpl, strerror(errno));
    g_work = tmpl;
    g_log = fmt("%s/btfs.log", g_work);
    note("btfs %s, scratch directory %s", g_btfs, g_work);

    if (do_read)
        bench_read(read_n);
    if (do_rtt)
        bench_rtt();
    if (do_enq)
        bench_enqueue(enq_n);
    if (do_live)
        bench_live(200);
    for (size_t i = 0; do_tree && i < ntrees; i++)
        bench_tree(trees[i]);
    if (ndirs || nstarts)
        bench_grow(dirs, ndirs, starts, nstarts);

    note("done in %.0f s", now_s() - t0);
    table_print(load0, now_s() - t0);
    if (keep) {
        note("scratch directory kept: %s", g_work);
    } else {
        rm_rf(g_work);
    }
    free(g_log);
    free(g_work);
    free(btfs);
    return 0;
}
