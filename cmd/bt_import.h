/* bt_import.h -- a benchmark's JSONL file turned into task lines for tasks/new.
 *
 * Pure text work for `bt import`: no I/O, no global state, safe from any
 * thread. One source line becomes at most one task line (compact JSON, or
 * the line itself for --format tasks without --set). The checks here mirror
 * the limits of store/task.h so that a file is judged before anything is
 * written; btfs still validates every line it is given.
 *
 * What the formats become (docs/import.md has the worked examples):
 *   tasks      a task line as tasks/new takes it, passed through;
 *   humaneval  {"task_id","prompt","test","entry_point",...}: a Python task
 *              whose goal holds the prompt verbatim and whose hidden tests
 *              are `test` plus a top-level test_check() calling
 *              check(ENTRY_POINT); canonical_solution is never read;
 *   mbpp       {"task_id","text","test_list","test_setup_code",
 *              "challenge_test_list",...}: goal = text plus the function's
 *              name and a call taken from test_list[0]; hidden tests = the
 *              set-up code and every assert; `code` is only searched for the
 *              names it defines, never copied.
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
    bool dropped;       /* the caller gave up on it (refused by btfs)    */
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

/* Checks a set name given with --set: it becomes a skill, so it must be
 * 1..TASK_MAX_SKILL_LEN characters of a-z A-Z 0-9 _ -. Returns 0 or
 * -EINVAL. */
int bt_import_set_name_check(const char *name);

/* Converts one source line (len bytes, no '\n'; a trailing '\r' is
 * ignored) of format fmt. set, if not NULL, is added to the task's skills
 * (it must pass bt_import_set_name_check).
 *
 * Returns 0 and sets *task (malloc'd, NUL-terminated, no newline) and
 * *source_id (malloc'd, or NULL if the line names none); 1 for a blank
 * line (nothing set); -EINVAL with *reason set to a malloc'd one-line
 * message naming the field and the problem (and *source_id set if the line
 * named one); -ENOMEM with nothing set. The caller frees what was set. */
int bt_import_convert(enum bt_import_format fmt, const char *line,
                      size_t len, const char *set, char **task,
                      char **source_id, char **reason);

/* Converts a whole file held in buf[0..len) into *out (which must be
 * zeroed; free with bt_import_set_free, also on failure). Lines end with
 * '\n'; the last one may lack it. Every line is looked at, so every
 * problem of a file is reported at once. Returns 0 (problems are in
 * out->problems, not an error here) or -ENOMEM. */
int bt_import_parse(const char *buf, size_t len, enum bt_import_format fmt,
                    const char *set, struct bt_import_set *out);

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
