/* log_batch.h -- an agent thread's log lines, held back and written
 * together.
 *
 * Each durable append costs an fsync (about a millisecond), so the
 * Builder and the Trainer do not write their lines one by one: a batch
 * is written with the commit that ends the work it tells of (the commit
 * takes the lines: log_batch_lines, then log_batch_forget), or on its
 * own when the oldest line has waited the batch's delay, so that
 * `tail -f logs/system.log` still follows a slow model step by step.
 *
 * A batch belongs to one thread: no lock. Lines never get lost to a
 * failure here: a line that cannot be held (no memory) is written at once.
 */
#ifndef BT_LOG_BATCH_H
#define BT_LOG_BATCH_H

#include <stddef.h>

#include "store.h"

/* How long a line may wait for the commit that would take it. */
#define LOG_BATCH_DELAY_MS 1000

struct log_batch {
    struct store *st;               /* where the lines go                */
    struct store_log_entry *e;      /* held lines; each line malloc'd    */
    size_t n;
    size_t cap;
    double since;                   /* clock_mono_ms of the oldest       */
    long delay_ms;                  /* see LOG_BATCH_DELAY_MS            */
};

/* An empty batch writing to st. Can't fail (allocates on first use). */
void log_batch_init(struct log_batch *l, struct store *st, long delay_ms);

/* Holds one line of 'log' (timestamped now); writes the batch when its
 * oldest line has waited delay_ms. Can't fail (see above). */
void log_batch_add(struct log_batch *l, enum store_log log, const char *line);

/* log_batch_add with a printf format; lines are cut at 1 KiB. */
void log_batch_addf(struct log_batch *l, enum store_log log, const char *fmt,
                    ...) __attribute__((format(printf, 3, 4)));

/* Writes the held lines in one commit and forgets them. A failed write
 * drops them (the store logs nothing else either: the disk is full or
 * broken). */
void log_batch_flush(struct log_batch *l);

/* The held lines, for a commit that writes them itself; valid until the
 * next call on l. *n is set to their count. */
const struct store_log_entry *log_batch_lines(const struct log_batch *l,
                                              size_t *n);

/* The caller's commit wrote the held lines: forget them. */
void log_batch_forget(struct log_batch *l);

/* Frees the held lines without writing them. Accepts a zeroed batch. */
void log_batch_free(struct log_batch *l);

#endif /* BT_LOG_BATCH_H */
