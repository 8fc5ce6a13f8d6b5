/* json_scan.h -- stepping over JSON text without parsing it.
 *
 * For text already known to be valid JSON (the store holds only what cJSON
 * accepted): the store splices fields into a task's canonical text and fs/
 * reformats and searches stored documents, both in one pass with no tree.
 * On text that is not valid JSON the functions still stop within n.
 */
#ifndef BT_UTIL_JSON_SCAN_H
#define BT_UTIL_JSON_SCAN_H

#include <stddef.h>

/* Index just past the string that starts at s[i] == '"' (n if unclosed). */
size_t json_skip_string(const char *s, size_t n, size_t i);

/* Index just past the value that starts at s[i] (no whitespace before it):
 * a string, an object or array with everything in it, or a scalar up to
 * the ',' or ':' or closing bracket that ends it at its own level. At a
 * closing bracket of the enclosing container, i itself. */
size_t json_skip_value(const char *s, size_t n, size_t i);

#endif
