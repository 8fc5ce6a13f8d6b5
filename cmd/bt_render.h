/* bt_render.h -- bt's text output: values of documents as text for
 * people, aligned tables, and JSON for programs.
 *
 * Documents written by agents may lack fields or hold nulls; every lookup
 * here tolerates that and a missing value prints as "-". Text from a
 * document never reaches the terminal with its control characters. The
 * functions that return an int return 0 or an exit status after printing
 * "bt: out of memory"; those that return a string return NULL on ENOMEM.
 */
#ifndef BT_RENDER_H
#define BT_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

/* ---- JSON out ---- */

/* Prints a document as the filesystem gave it, with a final newline. */
void bt_print_raw(const char *text);

/* Prints a cJSON tree compactly on one line. */
int bt_print_json(const cJSON *j);

/* Prints {"key":"value"} with value escaped as JSON requires. */
int bt_print_json_kv(const char *key, const char *value);

/* ---- Values ---- */

/* obj's member 'name', or NULL when obj is no object or has none. */
const cJSON *bt_jget(const cJSON *obj, const char *name);

/* The first of the names (NULL-terminated) that obj holds and is not
 * null. */
const cJSON *bt_jget_any(const cJSON *obj, ...);

/* Whether v is a finite number; if so, sets *out. */
bool bt_jnum(const cJSON *v, double *out);

/* o's member 'name' if it is a non-empty string, else def. */
const char *bt_jstr(const cJSON *o, const char *name, const char *def);

/* o's member 'name' if it is a number, else def. */
double bt_jnum_or(const cJSON *o, const char *name, double def);

/* Copies s, replacing control characters so a document cannot drive the
 * terminal; 'oneline' also flattens newlines and tabs. */
char *bt_clean_text(const char *s, bool oneline);

/* A value as one line of text, malloc'd: "-" for missing or null, strings
 * as they are, arrays of scalars joined by ", ", anything else as compact
 * JSON. */
char *bt_fmt_value(const cJSON *v);

/* Cuts s in place to at most 'max' code points, ending in "..." if cut;
 * never splits a multi-byte character. */
void bt_u8_truncate(char *s, size_t max);

/* Prints "key: value" (the value at column width + 2); a multi-line
 * string goes under the key, indented. */
int bt_print_field(const char *key, int width, const cJSON *v);

/* Prints any document as indented "key: value" lines: objects nest,
 * arrays of objects become "- " items. */
int bt_print_tree(const cJSON *obj, int indent);

/* qsort comparator of char *: names in version order (task_9, task_10). */
int bt_cmp_str(const void *a, const void *b);

/* Prints "LABEL  ▁▃▅█  first .. last" for values in [0, 1] (NaN: a
 * gap). */
void bt_sparkline(const char *label, const double *v, size_t n);

/* ---- Tables ---- */

struct bt_table {
    size_t ncols;
    const char *align;          /* per column: 'l' or 'r'            */
    char **cells;               /* row-major, owned, header included */
    size_t ncells, cap;
};

/* Adds one cell; takes ownership of s (NULL: the ENOMEM of the call that
 * made it). Returns 0 or -ENOMEM (s freed); prints nothing. */
int bt_table_put(struct bt_table *t, char *s);

/* Adds a copy of s, cleaned; a value formatted by bt_fmt_value. Return as
 * bt_table_put. */
int bt_table_put_str(struct bt_table *t, const char *s);
int bt_table_put_value(struct bt_table *t, const cJSON *v);

/* Prints the table, columns padded to their widest cell. */
void bt_table_print(const struct bt_table *t);

/* Frees the cells; the struct itself is the caller's. */
void bt_table_free(struct bt_table *t);

#endif /* BT_RENDER_H */
