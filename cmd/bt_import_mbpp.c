/* bt_import_mbpp.c -- bt import --format mbpp: one MBPP problem (text,
 * test_list, set-up code) as a task that names the function under test,
 * found in the problem's own asserts.
 */
#include "bt_import_conv.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "task/task.h"
#include "task/task_text.h"
#include "tagger.h"

/* ---- MBPP ------------------------------------------------------------------- */

static const char MBPP_NEEDS[] = "an MBPP line needs text and test_list";

/* Names that a test calls around the function under test. */
static const char *const NOT_THE_FUNCTION[] = {
    "abs", "all", "any", "assert", "bin", "bool", "bytes", "callable",
    "chr", "complex", "dict", "divmod", "enumerate", "filter", "float",
    "format", "frozenset", "getattr", "hasattr", "hash", "hex", "id", "if",
    "in", "int", "is", "isinstance", "issubclass", "iter", "lambda", "len",
    "list", "map", "max", "min", "next", "not", "oct", "or", "and", "ord",
    "pow", "print", "range", "repr", "reversed", "round", "set", "sorted",
    "str", "sum", "tuple", "type", "zip", NULL
};

struct call {
    const char *name;   /* into the test string */
    size_t name_len;
    size_t len;         /* of the whole call, name to ')' */
};

/* Finds the function under test in an MBPP assert: among the names called
 * in it (outside string literals), the first one that 'code' defines;
 * failing that, the first that is neither a builtin nor a dotted name
 * (math.isclose). Returns false if there is none. */
static bool find_call(const char *test, const char *code, struct call *out)
{
    size_t n = strlen(test);
    bool have_guess = false;

    for (size_t i = 0; i < n; ) {
        char c = test[i];
        if (c == '\'' || c == '"') {
            i = bt_imp_skip_string(test, i, n);
            continue;
        }
        if (!(isalpha((unsigned char)c) || c == '_')) {
            i++;
            continue;
        }
        size_t b = i;
        while (i < n && (isalnum((unsigned char)test[i]) || test[i] == '_'))
            i++;
        /* A name that is a prefix or attribute of another is not ours to
         * call plainly: x.f( or f.x(. */
        bool dotted = (b > 0 && test[b - 1] == '.') ||
                      (i < n && test[i] == '.');
        size_t k = i;
        while (k < n && (test[k] == ' ' || test[k] == '\t'))
            k++;
        if (k >= n || test[k] != '(' || dotted ||
            bt_imp_in_names(NOT_THE_FUNCTION, test + b, i - b))
            continue;
        struct call cand = { test + b, i - b, bt_imp_call_end(test, k, n) - b };
        if (code && bt_imp_code_defines(code, cand.name, cand.name_len)) {
            *out = cand;
            return true;
        }
        if (!have_guess) {
            *out = cand;
            have_guess = true;
        }
    }
    return have_guess;
}

/* Appends the strings of arr, each trimmed and on its own line. */
static void add_lines(struct buf *b, const cJSON *arr)
{
    const cJSON *e;

    cJSON_ArrayForEach(e, arr) {
        const char *s = e->valuestring;
        size_t len = strlen(s);
        while (len && bt_imp_is_space(s[len - 1]))
            len--;
        while (len && bt_imp_is_space(*s)) {
            s++;
            len--;
        }
        if (!len)
            continue;
        char *t = strndup(s, len);
        if (!t) {
            b->failed = true;
            return;
        }
        bt_imp_add_text(b, t);
        buf_add(b, "\n", 1);
        free(t);
    }
}

int bt_imp_mbpp(const cJSON *o, const char *sid,
                const struct bt_import_opts *opts, char **task,
                char **reason)
{
    const char *text, *setup, *code;
    const cJSON *tests, *challenge, *imports;
    struct buf goal = { 0 }, hidden = { 0 }, visible = { 0 };
    struct call call;
    int rc;

    /* The sanitized MBPP calls the text "prompt" and the set-up lines
     * "test_imports"; both shapes are taken. */
    if (!cJSON_GetObjectItemCaseSensitive(o, "text") &&
        cJSON_GetObjectItemCaseSensitive(o, "prompt"))
        rc = bt_imp_get_string(o, "prompt", true, MBPP_NEEDS, &text, reason);
    else
        rc = bt_imp_get_string(o, "text", true, MBPP_NEEDS, &text, reason);
    if (rc ||
        (rc = bt_imp_get_string_array(o, "test_list", true, MBPP_NEEDS, &tests,
                                      reason)) ||
        (rc = bt_imp_get_string(o, "test_setup_code", false, NULL, &setup,
                                reason)) ||
        (rc = bt_imp_get_string_array(o, "challenge_test_list", false, NULL,
                                      &challenge, reason)) ||
        (rc = bt_imp_get_string_array(o, "test_imports", false, NULL, &imports,
                                      reason)) ||
        (rc = bt_imp_get_string(o, "code", false, NULL, &code, reason)))
        return rc;
    const char *first = cJSON_GetArrayItem(tests, 0)->valuestring;
    if (!find_call(first, code, &call))
        return bt_imp_refuse(reason,
                             "no function call found in test_list item 0 "
                             "(\"%.60s\"): cannot tell the function's name",
                             first);

    bt_imp_add_text(&goal, text);
    bt_imp_end_line(&goal);
    buf_adds(&goal, "\nThe function is called `");
    buf_add(&goal, call.name, call.name_len);
    buf_adds(&goal, "`, called as `");
    char *c = strndup(call.name, call.len);
    if (!c)
        goal.failed = true;
    else
        bt_imp_add_text(&goal, c);
    free(c);
    buf_adds(&goal, "`. Return the function, together with the imports and "
             "helpers it needs, in one code block.");

    if (imports)
        add_lines(&visible, imports);
    if (setup && bt_imp_trimmed_len(setup)) {
        bt_imp_add_text(&visible, setup);
        bt_imp_end_line(&visible);
    }
    /* One assert a line: each is one test under our protocol. test_list is
     * what MBPP's own prompt shows the model, so it is shown here too and
     * judges as well; challenge_test_list only judges. */
    add_lines(&visible, tests);
    buf_add(&hidden, visible.p ? visible.p : "", visible.len);
    if (challenge)
        add_lines(&hidden, challenge);

    if (goal.failed || hidden.failed || visible.failed)
        rc = -ENOMEM;
    else if (!(rc = bt_imp_check_text(goal.p, visible.p, hidden.p, reason)))
        rc = bt_imp_task_json(goal.p, visible.p, hidden.p, goal.p,
                              BT_IMPORT_MBPP,
                              sid, opts, task, reason);
    free(goal.p);
    free(hidden.p);
    free(visible.p);
    return rc;
}

