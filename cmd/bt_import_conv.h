/* bt_import_conv.h -- what the converters of bt import share: building a
 * task line from a benchmark's problem, reading the problem's JSON fields,
 * refusing with a reason, and scanning Python text.
 *
 * Private to the import files (bt_import*.c). Pure text work: no I/O, no
 * global state, safe from any thread. The functions that refuse set
 * *reason (malloc'd, one line) and return -EINVAL, or return -ENOMEM with
 * *reason NULL; the caller frees *reason.
 */
#ifndef BT_IMPORT_CONV_H
#define BT_IMPORT_CONV_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "bt_import.h"
#include "util/buf.h"

/* ---- Refusing, options ---- */

/* Sets *reason and returns -EINVAL (or -ENOMEM if the message cannot be
 * made), so that callers can say "return bt_imp_refuse(...)". */
int bt_imp_refuse(char **reason, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Whether any option asks to change a task line. */
bool bt_imp_opts_given(const struct bt_import_opts *o);

/* Sets the fields the import options ask for on a task object: set,
 * held_out (removed with --train), max_attempts, memory. Returns 0 or
 * -ENOMEM. */
int bt_imp_apply_opts(cJSON *t, const struct bt_import_opts *o,
                      const char *set, bool held_out);

/* ---- Text ---- */

/* Appends s with CRLF and lone CR turned into LF (a failure latches in
 * b, as every buf call). */
void bt_imp_add_text(struct buf *b, const char *s);

/* Ensures the text ends with exactly the newline it needs to be followed
 * by more code (nothing is added to an empty buffer). */
void bt_imp_end_line(struct buf *b);

/* Whether c is a space, tab, newline, CR, VT or FF. */
bool bt_imp_is_space(char c);

/* Length of s once spaces, tabs and newlines at both ends are gone, the
 * way btfs trims a goal. */
size_t bt_imp_trimmed_len(const char *s);

/* ---- A problem's JSON ---- */

/* The JSON type of v in words ("a number", "null"...), for reasons. */
const char *bt_imp_type_name(const cJSON *v);

/* Parses the line as exactly one JSON object (*out, the caller deletes
 * it); 'what' names the line in reasons. Returns 0 or refuses. */
int bt_imp_parse_object(const char *line, size_t len, const char *what,
                        cJSON **out, char **reason);

/* The problem's task_id as text, control characters replaced; NULL if the
 * line has none (or memory ran out: the id is only for messages). */
char *bt_imp_source_id(const cJSON *o);

/* Looks up a string field. A missing field is refused if required
 * (*out = NULL otherwise); so is any type but a string. 'needs' is the
 * reason for a missing one. */
int bt_imp_get_string(const cJSON *o, const char *name, bool required,
                      const char *needs, const char **out, char **reason);

/* Looks up an array of strings; missing is refused if required (*out =
 * NULL otherwise). */
int bt_imp_get_string_array(const cJSON *o, const char *name, bool required,
                            const char *needs, const cJSON **out,
                            char **reason);

/* ---- The task line ---- */

/* Says which part of the text we built is too large for tasks/new, in
 * the converted problem's terms (the task parser, run on the line in
 * bt_imp_task_json, names only the task's fields). */
int bt_imp_check_text(const char *goal, const char *tests,
                      const char *hidden, char **reason);

/* Prints the task line of a benchmark's problem (*task, malloc'd): goal,
 * skills (from skill_text by the tagger), language, tests, hidden_tests,
 * set (--set or the format's name), problem_id, held_out (unless
 * --train), max_attempts, memory. Returns 0, -EINVAL (too long) or
 * -ENOMEM. */
int bt_imp_task_json(const char *goal, const char *tests, const char *hidden,
                     const char *skill_text, enum bt_import_format fmt,
                     const char *sid, const struct bt_import_opts *o,
                     char **task, char **reason);

/* ---- Python text ---- */

/* Whether code defines 'def NAME(' (at any indentation). */
bool bt_imp_code_defines(const char *code, const char *name, size_t n);

/* Skips a Python string literal starting at s[i] (a quote); returns the
 * index after it (or n if it does not end). */
size_t bt_imp_skip_string(const char *s, size_t i, size_t n);

/* Length of the call whose '(' is at s[open]: up to its matching ')'. */
size_t bt_imp_call_end(const char *s, size_t open, size_t n);

/* Whether s[0..n) is one of the NULL-terminated list. */
bool bt_imp_in_names(const char *const *list, const char *s, size_t n);

/* ---- The formats: one problem (o, its task_id sid) to *task ---- */

/* bt_import_humaneval.c */
int bt_imp_humaneval(const cJSON *o, const char *sid,
                     const struct bt_import_opts *opts, char **task,
                     char **reason);

/* bt_import_mbpp.c */
int bt_imp_mbpp(const cJSON *o, const char *sid,
                const struct bt_import_opts *opts, char **task,
                char **reason);

/* bt_import_tasks.c: a line of --format tasks, passed as written (or with
 * the options applied) once the task parser, btfs's own, takes it. */
int bt_imp_tasks(const char *line, size_t len,
                 const struct bt_import_opts *opts, char **task,
                 char **reason);

#endif /* BT_IMPORT_CONV_H */
