/* bench_fill.c -- fills a btfs data directory with benchmark tasks.
 *
 *   bench_fill --data DIR --tasks N [--finished] [--batch N] [--sync]
 *
 * Adds N tasks to the store in DIR (created on first use) through the store
 * API, in batches and without fsync (a million tasks take seconds), and with
 * --finished dequeues and finishes each with realistic content (see fill.h).
 * No btfs may be serving DIR meanwhile: the store takes the directory lock.
 * Run `sync` afterwards if the next step measures the disk.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fill.h"

static void usage(FILE *out)
{
    fputs("usage: bench_fill --data DIR --tasks N [--finished] [--batch N] "
          "[--sync]\n"
          "  --data DIR   data directory (must exist; the store is created "
          "on first use)\n"
          "  --tasks N    tasks to add\n"
          "  --finished   dequeue and finish every task added, with score, "
          "code,\n"
          "               reflection and summary\n"
          "  --batch N    tasks per enqueue transaction (default 10000)\n"
          "  --sync       durable commits (default: no fsync, for speed)\n",
          out);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"data", required_argument, NULL, 'd'},
        {"tasks", required_argument, NULL, 'n'},
        {"finished", no_argument, NULL, 'f'},
        {"batch", required_argument, NULL, 'b'},
        {"sync", no_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct fill_options opt = {0};
    struct fill_result res;
    char err[512];
    int c, rc;

    opt.progress = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            opt.data_dir = optarg;
            break;
        case 'n':
            if (fill_parse_count(optarg, &opt.tasks) < 0) {
                fprintf(stderr, "bench_fill: --tasks wants a positive "
                                "count (e.g. 10000, 100k, 1M), got '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case 'f':
            opt.finished = 1;
            break;
        case 'b':
            if (fill_parse_count(optarg, &opt.batch) < 0) {
                fprintf(stderr, "bench_fill: --batch wants a positive "
                                "count, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 's':
            opt.sync = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || !opt.data_dir || !opt.tasks) {
        usage(stderr);
        return 2;
    }
    rc = fill_run(&opt, &res, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "bench_fill: %s\n", err);
        return 1;
    }
    printf("bench_fill: %zu tasks added (ids %llu..%llu), %zu finished, "
           "in %.2f s (%.0f tasks/s)\n", res.enqueued,
           (unsigned long long)res.first_id, (unsigned long long)res.last_id,
           res.finished, res.seconds,
           res.seconds > 0 ? (double)res.enqueued / res.seconds : 0.0);
    return 0;
}
