/* extract.h -- pull JSON and code out of what a language model wrote.
 *
 * Local models wrap their answers in prose, Markdown fences and reasoning
 * ("<think>...</think>", or a lone "...</think>" when the opening tag was
 * part of the prompt template). These functions find the part a caller
 * wants and say which rule found it, so that logs can tell a clean answer
 * from a rescued one. Pure text functions: no I/O, no global state, safe
 * from any thread (cJSON parsing is used without cJSON_GetErrorPtr).
 */
#ifndef BT_EXTRACT_H
#define BT_EXTRACT_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Returns a malloc'd copy of text without its reasoning: every
 * "<think>...</think>" block removed, an unclosed "<think>" dropping the rest,
 * and when a "</think>" appears with no "<think>" before it, everything up to
 * and including it removed. Leading and trailing white space is trimmed.
 * NULL when out of memory. */
char *extract_strip_think(const char *text);

/* How extract_json found its object. */
enum extract_json_rule {
    EXTRACT_JSON_NONE = 0,      /* nothing found                            */
    EXTRACT_JSON_WHOLE,         /* the whole (stripped) answer parsed       */
    EXTRACT_JSON_FENCE,         /* inside a ```json (or bare ```) fence     */
    EXTRACT_JSON_EMBEDDED,      /* a balanced {...} found in prose          */
};

/* "none", "whole", "fence", "embedded". Never NULL. */
const char *extract_json_rule_name(enum extract_json_rule rule);

/* Finds the JSON object in an answer: think tags stripped, then the whole
 * text; else the first fenced block (```json preferred, then any fence)
 * whose content parses as an object; else the first balanced {...} (braces
 * inside strings ignored) that parses. Only objects count, not arrays or
 * scalars. Returns the parsed object, owned by the caller (cJSON_Delete),
 * and sets *rule when rule is non-NULL; NULL when there is none or when out
 * of memory (then *rule is EXTRACT_JSON_NONE). */
cJSON *extract_json(const char *text, enum extract_json_rule *rule);

/* Checks that obj has every member named in the NULL-terminated list
 * 'fields' and that none is JSON null. Returns NULL when all are there,
 * else the first missing name (a pointer into 'fields'). */
const char *extract_json_missing(const cJSON *obj, const char *const *fields);

/* How extract_code found its code. */
enum extract_code_rule {
    EXTRACT_CODE_NONE = 0,      /* nothing that looks like code             */
    EXTRACT_CODE_LANG_FENCE,    /* a fence tagged with the wanted language  */
    EXTRACT_CODE_LARGEST_FENCE, /* the largest fenced block of any tag      */
    EXTRACT_CODE_WHOLE,         /* the whole answer, which looks like code  */
};

/* "none", "language_fence", "largest_fence", "whole". Never NULL. */
const char *extract_code_rule_name(enum extract_code_rule rule);

/* Finds the code in an answer for language 'lang' ("python", "sh" or "c";
 * aliases py/python3, bash/shell/zsh, c/h are accepted in fence tags):
 * think tags stripped, then the largest fenced block tagged with the
 * language (several tagged blocks: the largest one), else the largest fenced
 * block of any tag, else the whole answer when it looks like code in that
 * language (a heuristic over its lines: keywords, punctuation, little
 * prose). Fences are ``` or ~~~ lines, three or more, closing with the same
 * kind and at least as many; an unclosed fence runs to the end. CRLF line
 * ends are turned into LF. The code ends with exactly one newline.
 *
 * Returns the rule and sets *code to a malloc'd string the caller frees, or
 * EXTRACT_CODE_NONE with *code NULL (errno is then ENOMEM when memory ran
 * out, else 0). */
enum extract_code_rule extract_code(const char *text, const char *lang,
                                    char **code);

#endif /* BT_EXTRACT_H */
