/* readme.c -- the prose of README at the top of the mount: what the tree
 * is for, how to write tasks, how to steer the agents.
 *
 * The list of files in the middle is not written here: it is printed from
 * the tree table (fs_tree_render, tree.c), the same rows that listings and
 * inode numbers come from, so README cannot name a file that is not there
 * or miss one that is. The prose is kept as arrays of lines because ISO C
 * only promises string literals of 4095 bytes (and -Wpedantic says so).
 */
#include "fs_internal.h"

/* Before the list of files. */
static const char *const readme_head[] = {
"Builder-Trainer FS",
"==================",
"",
"A self-improving coding agent whose whole memory is this tree. The Builder",
"takes tasks, asks the LLM for code, runs it with the task's tests in a",
"sandbox, scores it and reflects. The Trainer reads the results and writes",
"new challenge tasks aimed at weak skills. Everything is plain files: cat,",
"ls, grep, jq and tail work. Every read sees one consistent snapshot taken",
"when the file was opened; open it again to see what changed.",
"",
"The tree",
"--------",
};

/* After it. */
static const char *const readme_tail[] = {
"",
"Task ids are 'task_' and a number zero-padded to six digits (task_000042,",
"and past six digits as needed). Only that exact spelling names a file:",
"tasks/task_42.json does not exist. Reflection, summary and code files exist",
"once the task has produced them. JSON files are pretty-printed and end in a",
"newline; `ls -l` shows their exact size.",
"",
"Writing tasks",
"-------------",
"Write one task per line to tasks/new. A plain line is the goal:",
"",
"  echo 'reverse a singly linked list' > tasks/new",
"",
"A line that starts with '{' is a JSON object (one line, no newlines inside):",
"",
"  {\"goal\": \"square a number\", \"difficulty\": 0.3, \"priority\": 1,",
"   \"skills\": [\"arithmetic\"], \"language\": \"python\",",
"   \"tests\": \"assert f(2) == 4\", \"hidden_tests\": \"assert f(3) == 9\",",
"   \"constraints\": [\"no imports\"], \"timeout_s\": 10}",
"",
"  goal          required, non-empty text",
"  difficulty    number from 0 to 1 (default 0.5)",
"  priority      integer from -1000 to 1000 (default 0); higher runs first",
"  skills        list of skill names the task exercises",
"  language      python (default), c or sh",
"  tests         test code shown to the LLM",
"  hidden_tests  test code never shown to the LLM; decides final accuracy",
"  constraints   list of rules the solution must follow",
"  timeout_s     seconds the tests may run, 1 to 3600 (default 10)",
"",
"Unknown fields, wrong types and out-of-range values are rejected by name.",
"",
"Each write(2) is all or nothing: every complete line in it is checked, and",
"either all of them are queued in one durable transaction before the write",
"returns, or none is and the write fails with EINVAL ('Invalid argument';",
"EFBIG 'File too large' for a line over 256 KiB). So `echo bad > tasks/new`",
"prints an error, and a file of tasks can be queued with",
"`cat tasks.txt > tasks/new` (a file larger than 1 MiB is written in several",
"writes, each all or nothing). Text after the last newline waits for the",
"rest of its line, or is queued when the file is closed (an error then",
"makes close fail).",
"",
"Reading tasks/new on the same open file gives the ids created, one a line,",
"or 'error: line K: REASON' (K counts lines within that write):",
"",
"  exec 3<>tasks/new; echo 'fizzbuzz' >&3; cat <&3; exec 3>&-",
"  task_000007",
"",
"Accepted and rejected writes are also logged in logs/system.log. User tasks",
"run before Trainer tasks; then higher priority first, then oldest first.",
"",
"A task file holds the definition plus id, source (user, trainer, seed),",
"status (queued, running, passed, failed, error, cancelled), attempts,",
"created_at, started_at, finished_at (RFC 3339), score (accuracy, speed,",
"elegance, difficulty, total) and result (tests passed of total, and why it",
"failed). 'error' means the task could not be judged, and says why.",
"",
"Control",
"-------",
"  echo pause > control      builders stop taking new tasks (kept on restart)",
"  echo resume > control     they go on",
"  cat control               running or paused",
"",
"Nothing else can be written, created, renamed or removed: writes to other",
"files fail with 'Permission denied', everything else with 'Read-only file",
"system'.",
};

static int put_lines(struct fs_buf *out, const char *const *lines,
                     size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = fs_buf_adds(out, lines[i]);
        if (rc == 0)
            rc = fs_buf_add(out, "\n", 1);
        if (rc)
            return rc;
    }
    return 0;
}

int fs_readme_render(struct fs_buf *out)
{
    int rc = put_lines(out, readme_head,
                       sizeof readme_head / sizeof readme_head[0]);
    if (rc == 0)
        rc = fs_tree_render(out);
    if (rc == 0)
        rc = put_lines(out, readme_tail,
                       sizeof readme_tail / sizeof readme_tail[0]);
    return rc;
}
