/* task.h -- what a task definition is: one line of tasks/new, validated.
 *
 * A line is either plain text (the goal) or a JSON object starting with '{'
 * (see docs/tasks.md for every field). The parser fills in defaults and
 * returns the definition as canonical compact JSON, ready for
 * store_task_enqueue(). It does no I/O and keeps no state: safe from any
 * thread.
 */
#ifndef BT_TASK_H
#define BT_TASK_H

#include <stdbool.h>
#include <stddef.h>

#include "task_lang.h"

/* Limits of one task. A line longer than TASK_MAX_LINE is "too large"
 * (EFBIG); the others are validation errors (EINVAL). */
#define TASK_MAX_LINE        (256 * 1024)  /* bytes of one line            */
#define TASK_MAX_GOAL        8192          /* bytes of goal                */
#define TASK_MAX_TESTS       (64 * 1024)   /* bytes of tests, hidden_tests */
#define TASK_MAX_SKILLS      16
#define TASK_MAX_SKILL_LEN   64
#define TASK_MAX_CONSTRAINTS 32
#define TASK_MAX_CONSTRAINT  1024
#define TASK_MIN_PRIORITY    (-1000)
#define TASK_MAX_PRIORITY    1000
#define TASK_MAX_TIMEOUT_S   3600
#define TASK_MAX_SET_LEN     64
#define TASK_MAX_PROBLEM_ID  256
#define TASK_MAX_ATTEMPTS    100

#define TASK_DEFAULT_DIFFICULTY 0.5
#define TASK_DEFAULT_LANGUAGE   "python"
#define TASK_DEFAULT_TIMEOUT_S  10

struct task_def {
    char *json;        /* canonical compact JSON of the definition: goal,
                          difficulty, priority, skills, language, tests,
                          hidden_tests, constraints, timeout_s, and set,
                          problem_id, held_out, max_attempts, memory when
                          not default (malloc'd) */
    int priority;      /* copy of the field, for the queue key */
};

/* Parses one line (without its '\n'; a trailing '\r' is ignored) of 'len'
 * bytes. On success returns 0 and fills *out (free with task_def_free).
 * On failure returns -EINVAL (bad content) or -EFBIG (line too large) or
 * -ENOMEM, and writes a one-line reason naming the field and the problem
 * into err (e.g. "field 'difficulty' must be a number from 0 to 1, got 7").
 * Valid lines are non-empty UTF-8 with no control characters. */
int task_parse_line(const char *line, size_t len, struct task_def *out,
                    char *err, size_t errlen);

/* Frees what task_parse_line allocated. Accepts an empty/zeroed def. */
void task_def_free(struct task_def *def);

/* Whether s is a valid set name (field 'set'): 1..TASK_MAX_SET_LEN
 * characters of a-z, A-Z, 0-9, '_', '-' and '.', the first a letter or
 * digit. The parser lowercases it; callers that take a name from a user
 * (bt import --set) check it with this first. */
bool task_set_name_ok(const char *s);

/* Returns the file extension for a language ("py", "c", "sh"), or NULL for
 * an unknown language. */
const char *task_language_ext(const char *language);

#endif /* BT_TASK_H */
