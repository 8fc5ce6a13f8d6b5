/* bt.c -- the command-line client of Builder-Trainer FS: main and the
 * command table.
 *
 * bt knows nothing of the store: every command is a plain read or write of
 * a file under the mount (see docs/DESIGN "The tree"), so whatever bt shows,
 * cat and jq show too, and bt keeps working with any btfs that honours the
 * tree. The commands live by family in bt_tasks.c, bt_progress.c,
 * bt_import_write.c, bt_eval.c, bt_status.c, bt_watch.c, bt_logs.c and
 * bt_cancel.c; the command line in bt_args.c, the mount in bt_mount.c, the
 * output in bt_render.c (bt.h is the seam between them).
 *
 * Exit status: 0 success, 1 the operation failed, 2 usage error or no mount.
 */
#include "bt.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bt_err.h"
#include "bt_help.h"
#include "bt_mount.h"
#include "bt_version.h"

#define DEFAULT_MOUNT     "./mountpoint"

/* ---- Messages -------------------------------------------------------------- */

/* Every diagnostic goes through here so that each starts with "bt: ". */
void bt_err(const char *fmt, ...)
{
    va_list ap;

    fputs("bt: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int bt_oom(void)
{
    bt_err("out of memory");
    return EXIT_FAIL;
}

static const char USAGE[] =
"usage: bt [--mount DIR] [--json] COMMAND [ARGS]\n"
"\n"
"Commands:\n"
"  add-task \"GOAL\" [--difficulty X] [--priority N] [--skill S]...\n"
"           [--language L] [--tests T] [--hidden-tests T] [--timeout S]\n"
"                        enqueue one task and print its id\n"
"  list-tasks [--count N]  the last N tasks (default 20)\n"
"  get-task ID           one task (ID: task_000042, 000042 or 42)\n"
"  get-profile           the builder's profile\n"
"  get-skills            per-skill level, rating and success rate\n"
"  get-trend [--skill S] pass rate and mean score per 10 finished tasks;\n"
"                        with --skill S: the status counts and pass rate\n"
"                        of the tasks with skill S; with --set S: of the\n"
"                        tasks of set S (eval/S.json)\n"
"  import FILE.jsonl [--format tasks|humaneval|mbpp] [--set NAME] [--train]\n"
"         [--max-attempts N] [--no-memory] [--dry-run] [--skip-bad]\n"
"                        enqueue a benchmark's problems as tasks\n"
"  report [--set S]...   one row per benchmark set (eval/*.json): pass@1,\n"
"                        pass after repair, 95% intervals, costs\n"
"  status                live state of the running btfs\n"
"  pause | resume        stop or restart the agents' work\n"
"  help [COMMAND]        one command's options (also: bt COMMAND --help)\n"
"  watch [--count N]     one screen, refreshed every second (q quits);\n"
"                        one line a second when not on a terminal\n"
"  logs [-f] [--task ID] logs/system.log (--json: logs/events.jsonl);\n"
"                        -f follows it, --task keeps one task's lines\n"
"  cancel ID... | --set S | --source SRC\n"
"                        cancel queued tasks; running ones stop at\n"
"                        their next step\n"
"\n"
"Options (before or after the command):\n"
"  --mount DIR    the btfs mount (default: $BT_MOUNT, then ./mountpoint)\n"
"  --json         machine-readable output (the documents as JSON)\n"
"  --help         this help\n"
"  --version      print the version\n"
"\n"
"add-task options:\n"
"  --difficulty X   0 to 1                 --priority N   -1000 to 1000\n"
"  --skill S        a skill (repeatable)   --language L   python, c or sh\n"
"  --tests T        tests shown to the model\n"
"  --hidden-tests T tests that decide the final accuracy, never shown\n"
"  --timeout S      seconds per run, 1 to 3600\n"
"\n"
"import options:\n"
"  --format F       tasks (default: task lines), humaneval or mbpp\n"
"  --set NAME       the tasks' set (default: the format's name; a new\n"
"                   name runs the same problems again, side by side)\n"
"  --train          a benchmark's set is not held out: its tasks may be\n"
"                   recalled for other tasks (default: held out)\n"
"  --max-attempts N attempts per task, 1 (single shot) to 100\n"
"  --no-memory      no recall of past tasks in these tasks' prompts\n"
"  --dry-run        print the task lines instead of writing them\n"
"  --skip-bad       import the good problems when some cannot be\n"
"                   (default: a file with a bad problem imports nothing)\n";

/* ---- help -------------------------------------------------------------------------- */

/* Prints one command's help; a command without an entry in bt_help.c falls
 * back to the whole usage rather than to nothing. */
static int help_command(const char *name)
{
    const struct bt_help *h = bt_help_find(name);

    if (!h) {
        fputs(USAGE, stdout);
        return 0;
    }
    return bt_help_print(h, stdout) < 0 ? EXIT_FAIL : 0;
}

static int cmd_help(const struct ctx *c, const struct args *a)
{
    (void)c;
    if (a->npos == 0) {
        fputs(USAGE, stdout);
        return 0;
    }
    if (!bt_command_find(a->pos[0])) {
        bt_err("unknown command '%s'", a->pos[0]);
        return bt_usage_hint();
    }
    return help_command(a->pos[0]);
}

/* ---- Signals ---- */

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

void bt_catch_stop(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

bool bt_stopped(void)
{
    return stop_requested != 0;
}

/* ---- The command table, main ---------------------------------------------------- */

static const enum opt_id ADD_OPTS[] = { OPT_DIFFICULTY, OPT_PRIORITY,
    OPT_SKILL, OPT_LANGUAGE, OPT_TESTS, OPT_HIDDEN, OPT_TIMEOUT, -1 };
static const enum opt_id LIST_OPTS[] = { OPT_COUNT, -1 };
static const enum opt_id TREND_OPTS[] = { OPT_SKILL, OPT_SET, -1 };
static const enum opt_id IMPORT_OPTS[] = { OPT_FORMAT, OPT_SET, OPT_DRY_RUN,
    OPT_SKIP_BAD, OPT_TRAIN, OPT_MAX_ATTEMPTS, OPT_NO_MEMORY, -1 };
static const enum opt_id REPORT_OPTS[] = { OPT_SET, -1 };
static const enum opt_id NO_OPTS[] = { -1 };
static const enum opt_id WATCH_OPTS[] = { OPT_COUNT, -1 };
static const enum opt_id LOGS_OPTS[] = { OPT_FOLLOW, OPT_TASK, -1 };
static const enum opt_id CANCEL_OPTS[] = { OPT_SET, OPT_SOURCE, -1 };

static const struct command COMMANDS[] = {
    { "add-task",    cmd_add_task,    ADD_OPTS,  1, 1, "GOAL" },
    { "list-tasks",  cmd_list_tasks,  LIST_OPTS, 0, 0, NULL },
    { "get-task",    cmd_get_task,    NO_OPTS,   1, 1, "ID" },
    { "get-profile", cmd_get_profile, NO_OPTS,   0, 0, NULL },
    { "get-skills",  cmd_get_skills,  NO_OPTS,   0, 0, NULL },
    { "get-trend",   cmd_get_trend,   TREND_OPTS, 0, 0, NULL },
    { "import",      cmd_import,      IMPORT_OPTS, 1, 1, "FILE.jsonl" },
    { "report",      cmd_report,      REPORT_OPTS, 0, 0, NULL },
    { "status",      cmd_status,      NO_OPTS,   0, 0, NULL },
    { "pause",       cmd_pause,       NO_OPTS,   0, 0, NULL },
    { "resume",      cmd_resume,      NO_OPTS,   0, 0, NULL },
    { "help",        cmd_help,        NO_OPTS,   0, 1, "COMMAND" },
    { "watch",       cmd_watch,       WATCH_OPTS, 0, 0, NULL },
    { "logs",        cmd_logs,        LOGS_OPTS, 0, 0, NULL },
    { "cancel",      cmd_cancel,      CANCEL_OPTS, 0, SIZE_MAX, "ID" },
};
#define NCOMMANDS (sizeof(COMMANDS) / sizeof(COMMANDS[0]))

const struct command *bt_command_find(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(COMMANDS[i].name, name) == 0)
            return &COMMANDS[i];
    return NULL;
}

int main(int argc, char **argv)
{
    struct args a = { 0 };
    struct ctx c = { 0 };
    const struct command *cmd;
    int rc;

    if ((rc = bt_args_parse(argc, argv, &a, &cmd)))
        goto out;
    if (a.help) {
        if (cmd)
            rc = help_command(cmd->name);
        else
            fputs(USAGE, stdout);
        goto out;
    }
    if (a.version) {
        printf("bt %s\n", BT_VERSION);
        goto out;
    }
    if (!cmd) {
        fputs(USAGE, stderr);
        rc = EXIT_USAGE;
        goto out;
    }
    c.mount = a.mount ? a.mount : getenv("BT_MOUNT");
    if (!c.mount || !*c.mount)
        c.mount = DEFAULT_MOUNT;
    c.json = a.json;
    /* A dry run of import only converts a file: it needs no mount. */
    if (cmd->run != cmd_help &&
        !(cmd->run == cmd_import && a.opt[OPT_DRY_RUN]) &&
        (rc = bt_mount_check(c.mount)))
        goto out;
    rc = cmd->run(&c, &a);
out:
    /* Output that never reached its reader is a failure too (full disk,
     * closed pipe with SIGPIPE ignored). */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        bt_err("write error: %s", strerror(errno));
        if (!rc)
            rc = EXIT_FAIL;
    }
    bt_args_free(&a);
    return rc;
}
