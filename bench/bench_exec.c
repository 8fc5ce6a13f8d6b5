/* bench_exec.c -- the sandbox's cost: print(1) in Python through exec_run
 * against python3 -c 'print(1)' run directly, and runs per second with two
 * runs at once.
 *
 *     bench_exec [N]      (N runs per measurement, default 30)
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* python3 -c 'print(1)' by fork/exec, output to /dev/null, as a baseline */
static double direct_once(void)
{
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout))
            _exit(126);
        char *argv[] = {"python3", "-c", "print(1)", NULL};
        char *envp[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", NULL};
        execve("/usr/bin/python3", argv, envp);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    return now_ms() - t0;
}

static double sandbox_once(struct exec *ex)
{
    struct exec_request req = {.lang = "python", .code = "print(1)\n"};
    struct exec_result r;
    double t0 = now_ms();
    int rc = exec_run(ex, &req, &r);
    double t = now_ms() - t0;
    int ok = rc == 0 && r.outcome == EXEC_OK && r.out && strcmp(r.out, "1\n") == 0;
    exec_result_free(&r);
    return ok ? t : -1;
}

struct worker {
    struct exec *ex;
    int n, failed;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < w->n; i++)
        if (sandbox_once(w->ex) < 0)
            w->failed++;
    return NULL;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 30;
    if (n < 1)
        n = 30;
    struct exec_config cfg;
    exec_config_default(&cfg);
    struct exec *ex;
    char why[512];
    if (exec_create(&cfg, &ex) != 0 || exec_probe(ex, why, sizeof why) != 0) {
        fprintf(stderr, "bench_exec: sandbox unusable: %s\n", why);
        return 77;
    }
    double *d = calloc((size_t)n, sizeof *d), *s = calloc((size_t)n, sizeof *s);
    if (!d || !s)
        return 1;
    direct_once();      /* warm the page cache for both */
    sandbox_once(ex);
    for (int i = 0; i < n; i++) {
        /* interleaved, so drift in machine load hits both alike */
        if ((d[i] = direct_once()) < 0 || (s[i] = sandbox_once(ex)) < 0) {
            fprintf(stderr, "bench_exec: a run failed\n");
            return 1;
        }
    }
    double md = median(d, n), ms = median(s, n);

    struct worker w[2] = {{ex, n, 0}, {ex, n, 0}};
    pthread_t t[2];
    double t0 = now_ms();
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, work, &w[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    double el = now_ms() - t0;

    char head[64];
    snprintf(head, sizeof head, "measurement (N=%d)", n);
    printf("%-44s %10s\n", head, "value");
    printf("%-44s %8.1f ms\n", "python3 -c 'print(1)' direct, median", md);
    printf("%-44s %8.1f ms\n", "print(1) through exec_run (bwrap), median", ms);
    printf("%-44s %8.2f x   (target <= 1.50)\n", "ratio sandbox / direct", ms / md);
    printf("%-44s %8.1f /s  (%d runs, %d failed)\n",
           "runs per second, two threads at once", 2.0 * n / (el / 1000.0),
           2 * n, w[0].failed + w[1].failed);
    free(d);
    free(s);
    exec_free(ex);
    return 0;
}
