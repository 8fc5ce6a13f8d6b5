/* bt_watch.h -- bt's commands for following and steering the work:
 * watch, logs, cancel, and the sparkline of get-trend.
 *
 * Like the rest of bt they only read and write files under the mount. Each
 * command function returns bt's exit status (0 success, 1 the operation
 * failed, 2 usage) after printing any message itself ("bt: ..." on stderr).
 */
#ifndef BT_WATCH_H
#define BT_WATCH_H

#include <stdbool.h>
#include <stddef.h>

/* bt watch: one screen refreshed every second on a terminal (q or Ctrl-C
 * ends it), one line a second otherwise. count > 0 stops after that many
 * refreshes. */
int bt_watch(const char *mount, bool json, long count);

/* bt logs: logs/system.log (with json: logs/events.jsonl), only the lines
 * of task 'task' (a canonical id, or NULL for all); follow keeps reading
 * as lines are added until interrupted. */
int bt_logs(const char *mount, bool json, bool follow, const char *task);

/* bt cancel: the tasks named by ids (as given: task_000042, 000042 or 42),
 * plus every queued or running task of benchmark set 'set' (its "set" or
 * one of its skills) and of source 'source' (user, trainer, seed); either
 * may be NULL. Writes "cancel ..." lines to control. */
int bt_cancel(const char *mount, bool json, const char *const *ids,
              size_t nids, const char *set, const char *source);

/* Prints "LABEL  ▁▃▅█  first .. last" for values in [0, 1] (NaN: a gap). */
void bt_sparkline(const char *label, const double *v, size_t n);

#endif /* BT_WATCH_H */
