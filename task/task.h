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
#define TASK_MAX_REFERENCE   TASK_MAX_TESTS  /* bytes of reference        */
#define TASK_MAX_ID_HINT     64
#define TASK_MAX_TRAINER_NOTE 1024         /* bytes of trainer.reason    */

#define TASK_DEFAULT_DIFFICULTY 0.5
#define TASK_DEFAULT_LANGUAGE   "python"
#define TASK_DEFAULT_TIMEOUT_S  10

/* The fields of a task definition, in canonical order: goal, difficulty,
 * priority, skills, language, tests, hidden_tests, constraints, timeout_s;
 * then, only when given (or not default), set, problem_id, held_out,
 * max_attempts, memory; then the internal ones, reference, id_hint and
 * trainer. docs/tasks.md says what each holds. */
#define TASK_FIELD_COUNT 17

#define TASK_FIELD_OPTIONAL 1u  /* in the definition only when given       */
#define TASK_FIELD_CODE     2u  /* program text, kept as written: tests,
                                   hidden_tests, reference                 */
#define TASK_FIELD_INTERNAL 4u  /* set only with TASK_PARSE_INTERNAL: what
                                   no user may write (the reference
                                   solution, the Trainer's note)           */

struct task_field_info {
    const char *name;
    unsigned flags;             /* TASK_FIELD_*                            */
};

/* The i-th field in canonical order, or NULL past the last. */
const struct task_field_info *task_field(size_t i);

/* The field called 'name' (exactly), or NULL for NULL or no such field. */
const struct task_field_info *task_field_find(const char *name);

struct task_def {
    char *json;        /* canonical compact JSON of the definition: goal,
                          difficulty, priority, skills, language, tests,
                          hidden_tests, constraints, timeout_s, and set,
                          problem_id, held_out, max_attempts, memory,
                          reference, id_hint, trainer when given and not
                          default (malloc'd) */
    int priority;      /* copy of the field, for the queue key */
};

/* Parses one line (without its '\n'; a trailing '\r' is ignored) of 'len'
 * bytes, as a user writes it to tasks/new. On success returns 0 and fills
 * *out (free with task_def_free). On failure returns -EINVAL (bad content)
 * or -EFBIG (line too large) or -ENOMEM, and writes a one-line reason naming
 * the field and the problem into err (e.g. "field 'difficulty' must be a
 * number from 0 to 1, got 7"). Valid lines are non-empty UTF-8 with no
 * control characters. The internal fields are refused. */
int task_parse_line(const char *line, size_t len, struct task_def *out,
                    char *err, size_t errlen);

/* Flags of task_parse_line_flags. */
#define TASK_PARSE_INTERNAL 1u  /* also take the internal fields (reference,
                                   id_hint, trainer): for the tasks that the
                                   Trainer and the seed curriculum write */

/* task_parse_line with flags: the one parser of every task, whoever writes
 * it, so that every task passes the same checks. Same results. */
int task_parse_line_flags(const char *line, size_t len, unsigned flags,
                          struct task_def *out, char *err, size_t errlen);

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
