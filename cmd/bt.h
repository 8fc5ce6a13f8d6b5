/* bt.h -- what every command of bt shares: the exit statuses, the context
 * a command runs in, the command table's entry and the commands themselves.
 *
 * bt is split by concept (bt.c: main and the command table; bt_args.c: the
 * command line; bt_mount.c: files under the mount; bt_render.c: text and
 * tables; one file per family of commands), and this header is the seam:
 * private to bt, never included outside cmd/bt*.c.
 *
 * Every cmd_* function returns bt's exit status (0 success, EXIT_FAIL the
 * operation failed, EXIT_USAGE usage error or no mount) after printing any
 * message itself ("bt: ..." on stderr, see bt_err.h).
 */
#ifndef BT_H
#define BT_H

#include <stdbool.h>
#include <stddef.h>

#include "bt_args.h"

#define EXIT_FAIL  1
#define EXIT_USAGE 2

struct ctx {
    const char *mount;          /* mount directory, never NULL */
    bool json;                  /* --json given                */
};

struct command {
    const char *name;
    int (*run)(const struct ctx *c, const struct args *a);
    const enum opt_id *opts;    /* command options it takes, -1 ends */
    size_t min_pos, max_pos;    /* positional arguments it takes     */
    const char *pos_name;       /* named in "needs" messages         */
};

/* The command named 'name', or NULL when bt has none (bt.c). */
const struct command *bt_command_find(const char *name);

/* bt_tasks.c: add-task, list-tasks, get-task. */
int cmd_add_task(const struct ctx *c, const struct args *a);
int cmd_list_tasks(const struct ctx *c, const struct args *a);
int cmd_get_task(const struct ctx *c, const struct args *a);

/* bt_progress.c: get-profile, get-skills, get-trend. */
int cmd_get_profile(const struct ctx *c, const struct args *a);
int cmd_get_skills(const struct ctx *c, const struct args *a);
int cmd_get_trend(const struct ctx *c, const struct args *a);

/* bt_import_write.c: import. */
int cmd_import(const struct ctx *c, const struct args *a);

/* bt_eval.c: report. */
int cmd_report(const struct ctx *c, const struct args *a);

/* bt_status.c: status, pause, resume. */
int cmd_status(const struct ctx *c, const struct args *a);
int cmd_pause(const struct ctx *c, const struct args *a);
int cmd_resume(const struct ctx *c, const struct args *a);

/* bt_watch.c: bt watch [--count N]: one screen refreshed every second on a
 * terminal (q or Ctrl-C ends it), one line a second otherwise. */
int cmd_watch(const struct ctx *c, const struct args *a);

/* bt_logs.c: bt logs [-f] [--task ID]: logs/system.log (--json:
 * logs/events.jsonl), only one task's lines with --task; -f keeps reading
 * as lines are added until interrupted. */
int cmd_logs(const struct ctx *c, const struct args *a);

/* bt_cancel.c: bt cancel ID... | --set S | --source SRC: writes "cancel
 * ..." lines to control for the tasks named and every queued or running
 * task of the set or source. */
int cmd_cancel(const struct ctx *c, const struct args *a);

/* Makes SIGINT and SIGTERM ask the running command to stop rather than
 * end bt, so that a command that follows the mount (watch, logs -f) can
 * put the terminal back and exit 0; bt_stopped() then says so (bt.c). */
void bt_catch_stop(void);
bool bt_stopped(void);

#endif /* BT_H */
