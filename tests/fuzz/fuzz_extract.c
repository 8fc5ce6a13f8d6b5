/* fuzz_extract.c -- libFuzzer target for the extractors (agents/llm/extract.c)
 * that take code and JSON out of whatever the model wrote.
 *
 * Invariants: code comes back with a rule, ending in exactly one newline,
 * with no CR LF; no code comes with EXTRACT_CODE_NONE; a JSON answer is an
 * object, and that object printed and extracted again is the same object
 * found as the whole answer (canonical output re-parses to itself); the
 * stripped text has no blank at either end. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_code(const char *text, const char *lang)
{
    char *code = NULL;
    enum extract_code_rule r = extract_code(text, lang, &code);

    if (r == EXTRACT_CODE_NONE) {
        if (code)
            abort();
        return;
    }
    if (!code)
        abort();
    size_t n = strlen(code);
    /* "ends with exactly one newline" (extract.h) */
    if (n == 0 || code[n - 1] != '\n' || (n > 1 && code[n - 2] == '\n')) {
        fprintf(stderr, "code for %s (rule %s) does not end in exactly one "
                "newline:\n%s", lang, extract_code_rule_name(r), code);
        abort();
    }
    if (strstr(code, "\r\n"))
        abort();
    free(code);
}

/* Whether an object (at any depth) names a member twice. cJSON keeps both
 * and cJSON_Compare looks each name up, so such an object need not compare
 * equal to an exact copy of itself: the round trip is checked without. */
static int has_duplicate_keys(const cJSON *o)
{
    const cJSON *a, *b;

    for (a = o ? o->child : NULL; a; a = a->next) {
        if (has_duplicate_keys(a))
            return 1;
        if (!cJSON_IsObject(o) || !a->string)
            continue;
        for (b = a->next; b; b = b->next)
            if (b->string && strcmp(a->string, b->string) == 0)
                return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    enum extract_json_rule rule;
    cJSON *obj;

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';          /* the client hands over C strings */

    char *s = extract_strip_think(text);
    if (s) {
        size_t n = strlen(s);
        if (n && (isspace((unsigned char)s[0]) ||
                  isspace((unsigned char)s[n - 1])))
            abort();
        free(s);
    }
    check_code(text, "python");
    check_code(text, "c");
    check_code(text, "sh");

    obj = extract_json(text, &rule);
    if ((obj == NULL) != (rule == EXTRACT_JSON_NONE))
        abort();
    if (obj) {
        if (!cJSON_IsObject(obj))
            abort();
        char *printed = cJSON_PrintUnformatted(obj);
        if (printed) {
            enum extract_json_rule r2;
            cJSON *again = extract_json(printed, &r2);
            if (!again || r2 != EXTRACT_JSON_WHOLE ||
                (!has_duplicate_keys(obj) && !cJSON_Compare(obj, again, 1))) {
                fprintf(stderr, "re-extracting the printed object gave %s "
                        "(rule %s):\n%s\n", again ? "another" : "nothing",
                        extract_json_rule_name(r2), printed);
                abort();
            }
            cJSON_Delete(again);
            free(printed);
        }
        cJSON_Delete(obj);
    }
    free(text);
    return 0;
}
