/* bench_crash.c -- the kill -9 soak: writers add tasks through tasks/new
 * while btfs is killed with SIGKILL at a random moment, then btfs is started
 * again on the stale mount, and every task is counted. Prints one table row
 * per cycle and a total row: writes and tasks acknowledged, present, lost,
 * duplicated, torn (a multi-line write found in part), and what the writes
 * in flight left behind. docs/benchmarks.md holds the figures.
 *
 *   bench_crash [--btfs PATH] [--work DIR] [--cycles N] [--writers N]
 *               [--min-ms MS] [--max-ms MS] [--seed N] [--keep]
 *
 * Each writer thread loops: open tasks/new, write, close, with goals
 * "soak c<cycle> w<writer> n<write> l<line>" that name where they came
 * from. Every fifth write holds 10 lines in one write(2), which btfs must
 * commit whole or not at all. A write counts as acknowledged when write(2)
 * returned its length and close(2) returned 0. A writer stops at its first
 * failure (the mount is gone), so its last write may have been in flight:
 * that one may be present or not, but never in part and never twice.
 *
 * btfs runs as our child in the foreground with the agents off
 * (BT_BUILDERS=0 BT_TRAINER=0 BT_SEED=0) in the scratch directory under
 * --work (default /var/tmp, on the disk), which is removed at the end unless
 * --keep. Exit status: 0 when nothing acknowledged was lost, duplicated or
 * torn and no task appeared that nobody wrote; 1 otherwise.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define FUSE_SUPER_MAGIC 0x65735546
#define START_TIMEOUT_S 30.0
#define BATCH_EVERY 5          /* every fifth write holds BATCH_LINES lines */
#define BATCH_LINES 10
#define MAX_WRITERS 64

static const char *g_btfs = "cmd/btfs";
static char *g_work;           /* scratch directory                         */
static char g_data[512], g_mnt[512], g_log[512];
static pid_t g_pid;            /* running btfs, 0 if none                   */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
                                                     noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;

    fputs("bench_crash: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (g_pid) {
        kill(g_pid, SIGTERM);
        waitpid(g_pid, NULL, 0);
    }
    if (g_work)
        fprintf(stderr, "bench_crash: scratch directory left in %s\n",
                g_work);
    exit(2);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int is_fuse(const char *path)
{
    struct statfs sf;

    return statfs(path, &sf) == 0 && sf.f_type == FUSE_SUPER_MAGIC;
}

/* Starts btfs on the (possibly stale) mount and waits until status.json
 * reads. Returns the seconds it took. */
static double btfs_start(void)
{
    char status[600];
    double t0 = now_s();
    pid_t pid;
    int fd;

    snprintf(status, sizeof status, "%s/status.json", g_mnt);
    if ((pid = fork()) < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        if ((fd = open(g_log, O_WRONLY | O_CREAT | O_APPEND, 0600)) >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        setenv("BT_BUILDERS", "0", 1);
        setenv("BT_TRAINER", "0", 1);
        setenv("BT_SEED", "0", 1);
        execl(g_btfs, g_btfs, "-f", "--data", g_data, g_mnt, (char *)NULL);
        _exit(127);
    }
    g_pid = pid;
    while (now_s() - t0 < START_TIMEOUT_S) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            g_pid = 0;
            die("btfs exited before mounting (status %d); see %s", st,
                g_log);
        }
        if (is_fuse(g_mnt) && (fd = open(status, O_RDONLY)) >= 0) {
            close(fd);
            return now_s() - t0;
        }
        sleep_ms(20);
    }
    die("btfs did not mount %s within %.0f s; see %s", g_mnt,
        START_TIMEOUT_S, g_log);
}

static void btfs_kill9(void)
{
    kill(g_pid, SIGKILL);
    waitpid(g_pid, NULL, 0);
    g_pid = 0;
}

static void btfs_stop(void)
{
    kill(g_pid, SIGTERM);
    waitpid(g_pid, NULL, 0);
    g_pid = 0;
}

/* ---- Writers ------------------------------------------------------------- */

struct writer {
    pthread_t thread;
    int cycle, index;
    atomic_int stop;            /* set after the kill, in case writes hang */
    unsigned acked;             /* writes acknowledged: 0..acked-1         */
    unsigned tried;             /* writes started: acked, or acked + 1     */
    unsigned long acked_lines;
};

static unsigned write_lines(unsigned n)
{
    return n % BATCH_EVERY == BATCH_EVERY - 1 ? BATCH_LINES : 1;
}

static void *writer_run(void *arg)
{
    struct writer *w = arg;
    char path[600], buf[BATCH_LINES * 64];

    snprintf(path, sizeof path, "%s/tasks/new", g_mnt);
    for (unsigned n = 0; !atomic_load(&w->stop); n++) {
        size_t len = 0;
        unsigned lines = write_lines(n);
        int fd, ok;

        for (unsigned l = 0; l < lines; l++)
            len += (size_t)snprintf(buf + len, sizeof buf - len,
                                    "soak c%d w%d n%u l%u\n", w->cycle,
                                    w->index, n, l);
        w->tried = n + 1;
        if ((fd = open(path, O_WRONLY)) < 0)
            break;
        ok = write(fd, buf, len) == (ssize_t)len;
        ok &= close(fd) == 0;
        if (!ok)
            break;
        w->acked = n + 1;
        w->acked_lines += lines;
    }
    return NULL;
}

/* ---- Counting ------------------------------------------------------------ */

/* How often each line of each write of the cycle was found:
 * seen[writer][write * BATCH_LINES + line]. */
struct tally {
    unsigned char *seen[MAX_WRITERS];
    unsigned cap[MAX_WRITERS];  /* writes each array covers              */
    unsigned long strays;       /* goals nobody of this cycle wrote       */
};

/* Reads the file at path into a malloc'd string, or NULL. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (!f)
        return NULL;
    do {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *p = realloc(buf, cap);
            if (!p)
                die("out of memory");
            buf = p;
        }
        n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
    } while (n > 0);
    fclose(f);
    buf[len] = '\0';
    return buf;
}

/* Reads every task file with an id above *max_id, tallies its goal, and
 * raises *max_id. Returns the number of task files read. */
static unsigned long read_new_tasks(int cycle, struct tally *t,
                                    unsigned long *max_id)
{
    char dir[600], path[900];
    unsigned long n = 0, top = *max_id, id;
    DIR *d;
    struct dirent *de;

    snprintf(dir, sizeof dir, "%s/tasks", g_mnt);
    if (!(d = opendir(dir)))
        die("cannot list %s: %s", dir, strerror(errno));
    while ((de = readdir(d))) {
        int c, w;
        unsigned wr, l;
        char *text, tail;
        cJSON *o;
        const char *goal;

        if (sscanf(de->d_name, "task_%lu.json%c", &id, &tail) != 1 ||
            id <= *max_id)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (!(text = slurp(path)) || !(o = cJSON_Parse(text)))
            die("cannot read or parse %s", path);
        goal = cJSON_GetStringValue(cJSON_GetObjectItem(o, "goal"));
        if (goal && sscanf(goal, "soak c%d w%d n%u l%u", &c, &w, &wr, &l) ==
                        4 && c == cycle && w >= 0 && w < MAX_WRITERS &&
            l < BATCH_LINES && wr < t->cap[w])
            t->seen[w][wr * BATCH_LINES + l]++;
        else
            t->strays++;
        cJSON_Delete(o);
        free(text);
        if (id > top)
            top = id;
        n++;
    }
    closedir(d);
    *max_id = top;
    return n;
}

static long status_tasks_total(void)
{
    char path[600];
    char *text;
    cJSON *o;
    long n = -1;

    snprintf(path, sizeof path, "%s/status.json", g_mnt);
    if ((text = slurp(path)) && (o = cJSON_Parse(text))) {
        cJSON *it = cJSON_GetObjectItem(o, "tasks_total");
        if (cJSON_IsNumber(it))
            n = (long)it->valuedouble;
        cJSON_Delete(o);
    }
    free(text);
    return n;
}

/* ---- Main ---------------------------------------------------------------- */

struct row {
    long kill_ms;
    unsigned long writes, tasks, present, lost, dup, torn;
    unsigned long inflight, inflight_present, strays;
    double restart_s;
};

static void print_row(const char *name, const struct row *r)
{
    char kill_ms[24] = "-";

    if (r->kill_ms >= 0)
        snprintf(kill_ms, sizeof kill_ms, "%ld", r->kill_ms);
    printf("%-6s %7s %7lu %7lu %8lu %5lu %5lu %5lu %9lu/%-3lu %6lu %8.2f\n",
           name, kill_ms, r->writes, r->tasks, r->present,
           r->lost, r->dup, r->torn, r->inflight_present, r->inflight,
           r->strays, r->restart_s);
}

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: bench_crash [--btfs PATH] [--work DIR] [--cycles N] "
                 "[--writers N]\n                   [--min-ms MS] [--max-ms "
                 "MS] [--seed N] [--keep]\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"btfs", required_argument, NULL, 'b'},
        {"work", required_argument, NULL, 'w'},
        {"cycles", required_argument, NULL, 'c'},
        {"writers", required_argument, NULL, 'n'},
        {"min-ms", required_argument, NULL, 'm'},
        {"max-ms", required_argument, NULL, 'M'},
        {"seed", required_argument, NULL, 's'},
        {"keep", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *work = "/var/tmp";
    int cycles = 10, nwriters = 4, keep = 0, c;
    long min_ms = 200, max_ms = 1500;
    unsigned seed = 1;
    unsigned long max_id = 0, total_tasks = 0;
    struct row sum = {0};
    char tmpl[600];

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'b': g_btfs = optarg; break;
        case 'w': work = optarg; break;
        case 'c': cycles = atoi(optarg); break;
        case 'n': nwriters = atoi(optarg); break;
        case 'm': min_ms = atol(optarg); break;
        case 'M': max_ms = atol(optarg); break;
        case 's': seed = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'k': keep = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (cycles < 1 || nwriters < 1 || nwriters > MAX_WRITERS ||
        min_ms < 0 || max_ms < min_ms) {
        usage(stderr);
        return 2;
    }
    if (access(g_btfs, X_OK) != 0 || !(g_btfs = realpath(g_btfs, NULL)))
        die("%s is not executable; give --btfs PATH (run from the build "
            "directory: ./bench/bench_crash)", g_btfs);
    snprintf(tmpl, sizeof tmpl, "%s/bench_crash.XXXXXX", work);
    if (!(g_work = mkdtemp(tmpl)))
        die("cannot make a scratch directory in %s: %s", work,
            strerror(errno));
    snprintf(g_data, sizeof g_data, "%s/data", g_work);
    snprintf(g_mnt, sizeof g_mnt, "%s/mnt", g_work);
    snprintf(g_log, sizeof g_log, "%s/btfs.log", g_work);
    if (mkdir(g_mnt, 0700) != 0 || chdir(g_work) != 0)
        die("cannot prepare %s: %s", g_work, strerror(errno));
    srand(seed);

    printf("kill -9 soak: %d cycles, %d writers, kill after %ld..%ld ms, "
           "every %dth write %d lines\n", cycles, nwriters, min_ms, max_ms,
           BATCH_EVERY, BATCH_LINES);
    printf("%-6s %7s %7s %7s %8s %5s %5s %5s %13s %6s %8s\n", "cycle",
           "kill_ms", "writes", "tasks", "present", "lost", "dup", "torn",
           "inflight_in", "stray", "restart_s");
    btfs_start();
    for (int cy = 1; cy <= cycles; cy++) {
        struct writer w[MAX_WRITERS];
        struct tally t;
        struct row r = {0};

        memset(w, 0, sizeof w);
        memset(&t, 0, sizeof t);
        for (int i = 0; i < nwriters; i++) {
            w[i].cycle = cy;
            w[i].index = i;
            atomic_init(&w[i].stop, 0);
            if (pthread_create(&w[i].thread, NULL, writer_run, &w[i]) != 0)
                die("pthread_create failed");
        }
        r.kill_ms = min_ms + (max_ms > min_ms
                                  ? rand() % (max_ms - min_ms + 1) : 0);
        sleep_ms(r.kill_ms);
        btfs_kill9();
        for (int i = 0; i < nwriters; i++) {
            atomic_store(&w[i].stop, 1);
            pthread_join(w[i].thread, NULL);
        }
        r.restart_s = btfs_start();

        for (int i = 0; i < nwriters; i++) {
            t.cap[i] = w[i].tried;
            t.seen[i] = calloc((size_t)w[i].tried * BATCH_LINES + 1, 1);
            if (!t.seen[i])
                die("out of memory");
        }
        unsigned long read = read_new_tasks(cy, &t, &max_id);
        total_tasks += read;
        for (int i = 0; i < nwriters; i++) {
            r.writes += w[i].acked;
            r.tasks += w[i].acked_lines;
            for (unsigned n = 0; n < w[i].tried; n++) {
                unsigned lines = write_lines(n), found = 0;
                for (unsigned l = 0; l < lines; l++) {
                    unsigned char k = t.seen[i][n * BATCH_LINES + l];
                    found += k > 0;
                    if (k > 1)
                        r.dup += k - 1u;
                    if (n < w[i].acked)
                        r.present += k > 0, r.lost += k == 0;
                }
                if (n >= w[i].acked) {      /* the write in flight */
                    r.inflight++;
                    r.inflight_present += found == lines;
                }
                if (found > 0 && found < lines)
                    r.torn++;
            }
            free(t.seen[i]);
        }
        r.strays = t.strays;
        long total = status_tasks_total();
        if (total != (long)total_tasks) {
            fprintf(stderr, "bench_crash: cycle %d: status.json counts %ld "
                    "tasks, %lu were read\n", cy, total, total_tasks);
            r.strays += 1;
        }
        char name[16];
        snprintf(name, sizeof name, "%d", cy);
        print_row(name, &r);
        fflush(stdout);
        sum.writes += r.writes;
        sum.tasks += r.tasks;
        sum.present += r.present;
        sum.lost += r.lost;
        sum.dup += r.dup;
        sum.torn += r.torn;
        sum.inflight += r.inflight;
        sum.inflight_present += r.inflight_present;
        sum.strays += r.strays;
        sum.restart_s += r.restart_s / cycles;
    }
    sum.kill_ms = -1;
    print_row("total", &sum);
    printf("restart_s of the total row is the mean; inflight_in: writes in "
           "flight at the kill found whole / writes in flight\n");
    btfs_stop();
    int bad = sum.lost || sum.dup || sum.torn || sum.strays;
    printf("verdict: %s\n", bad ? "FAIL (acknowledged tasks lost, "
                                  "duplicated or torn)"
                                : "ok (no acknowledged task lost, "
                                  "duplicated or torn)");
    if (!keep && !bad) {
        if (chdir("/") == 0)
            nftw(g_work, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    } else {
        fprintf(stderr, "bench_crash: scratch directory kept in %s\n",
                g_work);
    }
    return bad;
}
