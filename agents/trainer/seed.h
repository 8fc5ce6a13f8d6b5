/* seed.h -- the seed curriculum: tasks that give the loop work on day one.
 *
 * About forty small Python tasks over ten skills, each with visible and
 * hidden tests and a reference solution (agents/trainer/seed/curriculum.jsonl,
 * compiled into the program; docs/curriculum.md). They are enqueued once,
 * on the first start of a store, as source "seed", behind every user task;
 * the Trainer also draws on them as a fallback and a regression set.
 */
#ifndef BT_SEED_H
#define BT_SEED_H

#include <stddef.h>

#include "store.h"

/* The curriculum as JSON lines (NUL-terminated, compiled in). */
extern const char seed_curriculum[];

/* Enqueues the curriculum unless this store already has it (the document
 * "seed" records when it was loaded). Sets *added to the number of tasks
 * enqueued (0 when already loaded). Every line goes through the task
 * parser; one it refuses (a build defect) is logged and left out. Returns
 * 0, -ENOMEM, or a store error. */
int seed_load(struct store *st, size_t *added);

/* Calls fn for each task of the curriculum whose skills include 'skill'
 * (every task when skill is NULL), with its JSON line (NUL-terminated,
 * valid during the call). Stops when fn returns non-zero and returns that
 * value; returns 0 at the end. */
int seed_each(const char *skill, int (*fn)(void *ctx, const char *json),
              void *ctx);

#endif /* BT_SEED_H */
