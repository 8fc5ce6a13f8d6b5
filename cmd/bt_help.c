/* bt_help.c -- the help text of each bt command (see bt_help.h).
 *
 * Kept apart from bt.c so that adding a command adds a table row here, and
 * so that man/bt.1.scd, the bash completion and this table can be read side
 * by side. Every option a command takes must be named in its entry:
 * the completion offers what the entry names (tests/bt_help.sh checks).
 */
#include "bt_help.h"

#include <string.h>

static const struct bt_help HELP[] = {
    { "add-task",
      "\"GOAL\" [--difficulty X] [--priority N] [--skill S]... [--language L]\n"
      "        [--tests T] [--hidden-tests T] [--timeout S]",
      "enqueue one task and print its id",
      "  --difficulty X    0 to 1\n"
      "  --priority N      -1000 to 1000; higher runs first (default 0)\n"
      "  --skill S         a skill the task exercises (repeatable)\n"
      "  --language L      python (default), c or sh\n"
      "  --tests T         tests shown to the model\n"
      "  --hidden-tests T  tests that decide the final accuracy, never shown\n"
      "  --timeout S       seconds per sandboxed run, 1 to 3600\n"
      "\nThe task is one line written to tasks/new; btfs checks it and says\n"
      "why when it refuses it (exit 1).\n" },
    { "list-tasks", "[--count N]",
      "the last N tasks: id, status, score, goal (default 20)",
      "  --count N         how many, newest last\n" },
    { "get-task", "ID",
      "one task: definition, status, attempts, score, result, code files",
      "ID is task_000042, 000042 or 42. --json prints the task file.\n" },
    { "get-profile", "",
      "the Builder's profile: totals, level, strengths, weaknesses, model",
      "" },
    { "get-skills", "",
      "per skill: level, rating, attempts, success rate, trend",
      "" },
    { "get-trend", "[--skill S | --set S]",
      "pass rate and mean score per 10 finished tasks",
      "  --skill S         instead: the status counts and pass rate of the\n"
      "                    tasks with skill S\n"
      "  --set S           instead: the same counts for exactly the tasks of\n"
      "                    set S (read from eval/S.json)\n" },
    { "import",
      "FILE.jsonl [--format tasks|humaneval|mbpp] [--set NAME] [--train]\n"
      "        [--max-attempts N] [--no-memory] [--dry-run] [--skip-bad]",
      "enqueue a benchmark's problems as tasks",
      "  --format F        tasks (default: task lines), humaneval or mbpp\n"
      "  --set NAME        the set the tasks belong to (default: the format's\n"
      "                    name); a new name runs the problems again\n"
      "  --train           let the set's tasks appear in other prompts\n"
      "                    (imported sets are held out otherwise)\n"
      "  --max-attempts N  attempts per task, 1 (single shot) to 100\n"
      "  --no-memory       no recall of past tasks in these tasks' prompts\n"
      "  --dry-run         print the task lines instead of writing them\n"
      "                    (needs no mount)\n"
      "  --skip-bad        import the good problems when some cannot be\n"
      "                    (default: a file with a bad problem imports nothing)\n"
      "\nA problem already in its set (eval/SET.json) is skipped with a note.\n"
      "Formats and limits: docs/import.md; running a benchmark:\n"
      "docs/evaluation.md.\n" },
    { "report", "[--set S]... [--json]",
      "one row per benchmark set: pass@1, pass after repair, 95% interval",
      "  --set S           only set S (repeatable)\n"
      "\nReads eval/SET.json. Pass rates are over judged problems; errors are\n"
      "counted apart. How to read it: docs/evaluation.md.\n" },
    { "status", "",
      "live state of the running btfs: state, queue, builders, LLM, sandbox",
      "" },
    { "watch", "[--count N]",
      "one screen that refreshes in place: queue, builders, results, health",
      "  --count N         stop after N refreshes (default: until q)\n"
      "\nq or Ctrl-C exits; one plain line a second when the output is not a\n"
      "terminal (--json: one JSON object a second).\n" },
    { "logs", "[-f] [--task ID]",
      "the system log",
      "  -f, --follow      keep printing new lines as they come (Ctrl-C ends)\n"
      "  --task ID         only the lines of task ID\n"
      "\nWith --json: logs/events.jsonl, the same events as JSON lines.\n" },
    { "pause", "",
      "stop taking tasks; a running task finishes",
      "Written to the control file; kept across restarts.\n" },
    { "resume", "",
      "take tasks again after pause",
      "" },
    { "cancel", "ID... | --set S | --source SRC",
      "cancel tasks: queued ones at once, a running one at its next step",
      "  --set S           every queued or running task of set S\n"
      "  --source SRC      every queued or running task from SRC: user\n"
      "                    (tasks/new, bt), trainer (written by the Trainer)\n"
      "                    or seed (the seed curriculum); with --set, the\n"
      "                    tasks of both\n" },
    { "help", "[COMMAND]",
      "the commands, or one command's help (also: bt COMMAND --help)",
      "man bt and man btfs say more.\n" },
};

#define NHELP (sizeof(HELP) / sizeof(HELP[0]))

const struct bt_help *bt_help_find(const char *name)
{
    for (size_t i = 0; i < NHELP; i++)
        if (strcmp(HELP[i].name, name) == 0)
            return &HELP[i];
    return NULL;
}

int bt_help_print(const struct bt_help *h, FILE *out)
{
    fprintf(out, "usage: bt %s%s%s\n\n%s\n", h->name,
            *h->synopsis ? " " : "", h->synopsis, h->summary);
    if (*h->details)
        fprintf(out, "\n%s", h->details);
    fputs("\nEvery command also takes --mount DIR (default: $BT_MOUNT, then\n"
          "./mountpoint), --json and --help.\n", out);
    return ferror(out) ? -1 : 0;
}
