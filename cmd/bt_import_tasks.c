/* bt_import_tasks.c -- bt import --format tasks: task lines as tasks/new
 * takes them, checked by the task parser and given the import options.
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

/* ---- tasks ------------------------------------------------------------------ */

/* A line with fields of a benchmark's format instead of a task's: the
 * user most likely forgot --format. Returns the hint, or "". */
static const char *format_hint(const cJSON *o)
{
    static const char *const he[] = { "entry_point", "canonical_solution",
                                      "prompt", NULL };
    static const char *const mb[] = { "test_list", "challenge_test_list",
                                      "test_setup_code", NULL };
    const cJSON *e;

    cJSON_ArrayForEach(e, o)
        if (bt_imp_in_names(mb, e->string, strlen(e->string)))
            return " (an MBPP line? use --format mbpp)";
    cJSON_ArrayForEach(e, o)
        if (bt_imp_in_names(he, e->string, strlen(e->string)))
            return " (a HumanEval line? use --format humaneval)";
    return "";
}

/* The line with the import options applied: the JSON object's own fields
 * overridden, or a plain goal turned into the JSON form of the same task
 * (a task line is no benchmark's, so nothing is held out that the line
 * does not say). o is the parsed object, NULL for a plain line. NULL when
 * out of memory. */
static char *with_opts(const char *line, size_t len, cJSON *o,
                       const struct bt_import_opts *opts)
{
    cJSON *plain = NULL;
    char *p, *out = NULL;
    size_t b = 0, e = len;

    if (!o) {
        while (b < e && (line[b] == ' ' || line[b] == '\t'))
            b++;
        while (e > b && (line[e - 1] == ' ' || line[e - 1] == '\t'))
            e--;
        char *g = strndup(line + b, e - b);
        if (g && (plain = cJSON_CreateObject()))
            cJSON_AddStringToObject(plain, "goal", g);
        free(g);
        o = plain;
    }
    if (o && bt_imp_apply_opts(o, opts, opts->set, false) == 0 &&
        (p = cJSON_PrintUnformatted(o))) {
        out = strdup(p);
        cJSON_free(p);
    }
    cJSON_Delete(plain);
    return out;
}

/* A line of --format tasks: passed as written (or with the options
 * applied) once the task parser, btfs's own, takes it. */
int bt_imp_tasks(const char *line, size_t len,
                 const struct bt_import_opts *opts, char **task,
                 char **reason)
{
    struct task_def def = { 0 };
    const char *hint = "";
    char err[300], *t;
    cJSON *o = NULL;
    size_t b = 0;
    int rc;

    while (b < len && (line[b] == ' ' || line[b] == '\t'))
        b++;
    if (b < len && line[b] == '{') {
        o = cJSON_ParseWithLength(line, len);
        if (cJSON_IsObject(o))
            hint = format_hint(o);
    }
    if (!bt_imp_opts_given(opts))
        t = strndup(line, len);
    else if (!o || cJSON_IsObject(o))
        t = with_opts(line, len, o, opts);
    else
        t = strndup(line, len);     /* not an object: the parser says so */
    cJSON_Delete(o);
    if (!t)
        return -ENOMEM;
    rc = task_parse_line(t, strlen(t), &def, err, sizeof err);
    task_def_free(&def);
    if (rc == 0) {
        *task = t;
        return 0;
    }
    if (rc == -EFBIG)
        rc = bt_imp_refuse(reason, "the line is %zu bytes, the limit is %d",
                           strlen(t), TASK_MAX_LINE);
    else if (rc != -ENOMEM)
        rc = bt_imp_refuse(reason, "%s%s", err, hint);
    free(t);
    return rc;
}

