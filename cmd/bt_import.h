/* bt_import.h -- a benchmark's JSONL file turned into task lines for tasks/new.
 *
 * Pure text work for `bt import`: no I/O, no global state, safe from any
 * thread. One source line becomes at most one task line (compact JSON, or
 * the line itself for --format tasks without --set). Every line made is
 * judged by the task parser (task/task.h, the one btfs runs), so that a
 * file is judged before anything is written.
 *
 * What the formats become (docs/import.md has the worked examples):
 *   tasks      a task line as tasks/new takes it, passed through unless an
 *              import option (set, train, max_attempts, memory) applies;
 *   humaneval  {"task_id","prompt","test","entry_point",...}: a Python task
 *              whose goal holds the prompt verbatim, whose visible tests
 *              are the docstring's >>> examples and whose hidden tests are
 *              `test` plus a top-level test_check() calling
 *              check(ENTRY_POINT); canonical_solution is never read;
 *   mbpp       {"task_id","text","test_list","test_setup_code",
 *              "challenge_test_list",...}: goal = text plus the function's
 *              name and a call taken from test_list[0]; visible tests = the
 *              set-up code and test_list (as MBPP's own prompt shows them);
 *              hidden tests = those and challenge_test_list; `code` is only
 *              searched for the names it defines, never copied.
 * A benchmark's problem gets set (default: the format's name), problem_id
 * (its task_id), held_out (unless --train) and skills from its text
 * (tagger.h); set names never become skills.
 */
#ifndef BT_IMPORT_H
#define BT_IMPORT_H

#include <stdbool.h>
#include <stddef.h>

enum bt_import_format {
    BT_IMPORT_TASKS,
    BT_IMPORT_HUMANEVAL,
    BT_IMPORT_MBPP,
};

/* The import options that become task fields. A zeroed struct is "no
 * option given". */
struct bt_import_opts {
    const char *set;    /* --set NAME (must pass task_set_name_ok), or
                           NULL: the format's name for humaneval and mbpp,
                           the line's own for tasks                      */
    bool train;         /* --train: the set is not held out              */
    int max_attempts;   /* --max-attempts N, 1..TASK_MAX_ATTEMPTS; 0 none */
    bool no_memory;     /* --no-memory: "memory": false                  */
};

/* One converted problem. */
struct bt_import_item {
    size_t line;        /* 1-based line of the source file              */
    char *task;         /* the task line, no '\n' (malloc'd)             */
    size_t len;         /* strlen(task)                                  */
    char *source_id;    /* the problem's task_id as text, or NULL        */
    char *id;           /* the id btfs gave it ("task_000042"), or NULL;
                           set by the caller, freed with the set          */
    char *refusal;      /* why btfs refused it, or NULL; set by the
                           caller, freed with the set                    */
    char *set;          /* the task's set (lower case), or NULL          */
    char *problem_id;   /* the task's problem_id, or NULL                */
    char *present;      /* the task already holding (set, problem_id), set
                           by bt_import_skip_present, or NULL            */
    size_t repeat_of;   /* line of an earlier item with the same (set,
                           problem_id), or 0                             */
    bool dropped;       /* the caller gave up on it (refused by btfs, or
                           already present)                              */
};

/* One problem of a set as eval/SET.json lists it. */
struct bt_import_present {
    const char *problem_id;
    const char *task;   /* "task_000042" */
};

/* One source line that could not be converted. */
struct bt_import_problem {
    size_t line;        /* 1-based line of the source file              */
    char *source_id;    /* the problem's task_id if it was readable     */
    char *reason;       /* one line, no "line K:" prefix (malloc'd)      */
};

/* A whole file, converted: items and problems each in source order. */
struct bt_import_set {
    struct bt_import_item *items;
    size_t nitems, items_cap;
    struct bt_import_problem *problems;
    size_t nproblems, problems_cap;
    size_t blank;       /* blank lines skipped                          */
};

/* Parses "tasks", "humaneval" or "mbpp" (exact, lower case). Returns 0, or
 * -EINVAL for any other name (*out untouched). */
int bt_import_format_parse(const char *name, enum bt_import_format *out);

/* The name of a format, as bt_import_format_parse takes it. Never NULL. */
const char *bt_import_format_name(enum bt_import_format fmt);

/* Converts one source line (len bytes, no '\n'; a trailing '\r' is
 * ignored) of format fmt with the options opts (NULL: none given).
 *
 * Returns 0 and sets *task (malloc'd, NUL-terminated, no newline) and
 * *source_id (malloc'd, or NULL if the line names none); 1 for a blank
 * line (nothing set); -EINVAL with *reason set to a malloc'd one-line
 * message naming the field and the problem (and *source_id set if the line
 * named one); -ENOMEM with nothing set. The caller frees what was set. */
int bt_import_convert(enum bt_import_format fmt, const char *line,
                      size_t len, const struct bt_import_opts *opts,
                      char **task,
                      char **source_id, char **reason);

/* Converts a whole file held in buf[0..len) into *out (which must be
 * zeroed; free with bt_import_set_free, also on failure). Lines end with
 * '\n'; the last one may lack it. Every line is looked at, so every
 * problem of a file is reported at once. Returns 0 (problems are in
 * out->problems, not an error here) or -ENOMEM. */
int bt_import_parse(const char *buf, size_t len, enum bt_import_format fmt,
                    const struct bt_import_opts *opts,
                    struct bt_import_set *out);

/* Re-import: drops every item of set 'set' whose problem_id is among the
 * n problems already present (the "tasks" of eval/SET.json), setting its
 * 'present' to the task that holds it. Items without a problem_id are
 * never dropped (nothing tells them apart). Returns how many it dropped,
 * or -ENOMEM (some may be dropped). */
long bt_import_skip_present(struct bt_import_set *s, const char *set,
                            const struct bt_import_present *p, size_t n);

/* Drops every item whose (set, problem_id) repeats an earlier item's,
 * setting its repeat_of to that item's line: one problem is one task of a
 * set. Returns how many it dropped, or -ENOMEM (none dropped). */
long bt_import_skip_repeats(struct bt_import_set *s);

/* Frees what *s holds and zeroes it. Accepts a zeroed set. */
void bt_import_set_free(struct bt_import_set *s);

/* Where the batch that starts at items[first] ends: the returned index
 * 'end' is the first item not in it. The batch holds at most max_lines
 * items that are not dropped, whose lines (each with its '\n') add up to at
 * most max_bytes -- except that it always holds at least one such item, so
 * that a caller always makes progress. Dropped items inside the range are
 * simply passed over. Returns s->nitems when nothing is left. */
size_t bt_import_batch_end(const struct bt_import_set *s, size_t first,
                           size_t max_lines, size_t max_bytes);

#endif /* BT_IMPORT_H */
