/* fill.h -- fills a data directory with benchmark tasks through the store API.
 *
 * Shared by bench_fill (the command-line tool) and bench_fs (which grows its
 * trees in place). The content is deterministic for a given seed and task
 * number, and shaped like what the Builder will write: a task definition as
 * task_parse_line() makes it, and for finished tasks a score, a result, one
 * or two archived code attempts (about 1 KiB of Python each), a reflection
 * and a summary (about 500 bytes each), a score-log entry and the updated
 * record of the task's skill.
 */
#ifndef BT_BENCH_FILL_H
#define BT_BENCH_FILL_H

#include <stddef.h>
#include <stdint.h>

#define FILL_DEFAULT_BATCH 10000

struct fill_options {
    const char *data_dir;   /* existing directory; the store is created on
                               first use                                  */
    size_t tasks;           /* tasks to add (to whatever is there)        */
    int finished;           /* 1: dequeue and finish every task added     */
    size_t batch;           /* tasks per enqueue transaction; 0: default  */
    int sync;               /* 1: durable commits (default is no_sync)    */
    int progress;           /* 1: print progress to stderr                */
};

struct fill_result {
    size_t enqueued;        /* tasks stored                               */
    size_t finished;        /* tasks finished (0 unless opt.finished)     */
    uint64_t first_id;      /* id of the first task added (0 if none)     */
    uint64_t last_id;       /* id of the last task added                  */
    double seconds;         /* wall time of the whole fill                */
};

/* Opens the store in opt->data_dir, adds opt->tasks tasks in batches and,
 * with opt->finished, finishes each of them; then closes the store.
 * Returns 0 and fills *res (may be NULL), or a negative code of the store
 * API (see store_strerror) after writing a one-line reason into err.
 * On error, the batches committed before the failure stay in the store. */
int fill_run(const struct fill_options *opt, struct fill_result *res,
             char *err, size_t errlen);

/* Parses a positive count with an optional k (thousands) or M (millions)
 * suffix, as sizes are given on the command line. Returns 0 or -EINVAL. */
int fill_parse_count(const char *s, size_t *out);

#endif /* BT_BENCH_FILL_H */
