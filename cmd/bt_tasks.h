/* bt_tasks.h -- task ids as bt reads them, and the ids of the tasks under
 * the mount; shared by the task commands, get-trend and import.
 */
#ifndef BT_TASKS_H
#define BT_TASKS_H

#include <stddef.h>
#include <stdint.h>

#include "bt.h"

/* Accepts "task_000042", "000042" or "42" (and "task_42"). Returns 0 and
 * the number, or -EINVAL. */
int bt_task_id_parse(const char *s, uint64_t *id);

/* Writes the canonical "task_000042" of "task_000042", "000042" or "42"
 * (not 0) into out. Returns 0, or -EINVAL (out untouched). */
int bt_task_id_canon(const char *s, char *out, size_t size);

/* Collects the ids of tasks/task_*.json in ascending order (*ids malloc'd,
 * the caller frees it, also on failure). Returns 0 or an exit status after
 * saying what failed. */
int bt_task_ids(const struct ctx *c, uint64_t **ids, size_t *n);

#endif /* BT_TASKS_H */
