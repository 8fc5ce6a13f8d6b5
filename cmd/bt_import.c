/* bt_import.c -- a benchmark's JSONL file turned into task lines for
 * tasks/new: the formats by name, one line through its format's converter,
 * a whole file into a set of items and problems, and the items that must
 * not be queued twice.
 *
 * The converters live by format (bt_import_humaneval.c, bt_import_mbpp.c,
 * bt_import_tasks.c) on what they share (bt_import_conv.c); the writing to
 * the mount is bt's (bt_import_write.c). Every line made goes through the
 * task parser btfs runs on tasks/new, so a file with a bad problem is
 * refused before any task is written.
 */
#include "bt_import.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "bt_import_conv.h"
#include "task/task.h"
#include "task/task_text.h"

/* ---- The formats ---------------------------------------------------------- */

static const char *const FORMAT_NAMES[] = {
    [BT_IMPORT_TASKS] = "tasks",
    [BT_IMPORT_HUMANEVAL] = "humaneval",
    [BT_IMPORT_MBPP] = "mbpp",
};

int bt_import_format_parse(const char *name, enum bt_import_format *out)
{
    for (size_t i = 0; i < sizeof(FORMAT_NAMES) / sizeof(FORMAT_NAMES[0]);
         i++)
        if (strcmp(name, FORMAT_NAMES[i]) == 0) {
            *out = (enum bt_import_format)i;
            return 0;
        }
    return -EINVAL;
}

const char *bt_import_format_name(enum bt_import_format fmt)
{
    if ((size_t)fmt < sizeof(FORMAT_NAMES) / sizeof(FORMAT_NAMES[0]))
        return FORMAT_NAMES[fmt];
    return "?";
}

static const struct bt_import_opts NO_OPTS;

/* ---- One line, a whole file -------------------------------------------------- */

int bt_import_convert(enum bt_import_format fmt, const char *line,
                      size_t len, const struct bt_import_opts *opts,
                      char **task, char **source_id, char **reason)
{
    cJSON *o = NULL;
    size_t pos;
    uint32_t cp;
    int rc;

    *task = NULL;
    *source_id = NULL;
    *reason = NULL;
    if (!opts)
        opts = &NO_OPTS;
    if (len && line[len - 1] == '\r')
        len--;
    size_t i = 0;
    while (i < len && bt_imp_is_space(line[i]))
        i++;
    if (i == len)
        return 1;
    if (fmt == BT_IMPORT_TASKS) {
        rc = bt_imp_tasks(line, len, opts, task, reason);
        goto out;
    }
    if (task_text_scan(line, len, true, &pos, &cp) == TASK_TEXT_BAD_UTF8)
        return bt_imp_refuse(reason, "not valid UTF-8 at byte %zu", pos);
    if ((rc = bt_imp_parse_object(line, len, fmt == BT_IMPORT_HUMANEVAL ?
                                  "a HumanEval line" : "an MBPP line", &o,
                                  reason)))
        goto out;
    *source_id = bt_imp_source_id(o);
    if (fmt == BT_IMPORT_HUMANEVAL)
        rc = bt_imp_humaneval(o, *source_id, opts, task, reason);
    else
        rc = bt_imp_mbpp(o, *source_id, opts, task, reason);
out:
    cJSON_Delete(o);
    if (rc == -ENOMEM) {
        free(*task);
        free(*source_id);
        free(*reason);
        *task = *source_id = *reason = NULL;
    }
    return rc;
}

/* The (set, problem_id) of a task line, read back from what will be
 * written (set lower-cased, problem_id trimmed, as btfs stores them).
 * Plain-text lines have neither. Returns 0 or -ENOMEM. */
static int item_key(struct bt_import_item *it)
{
    const char *p = it->task;
    cJSON *o, *v;
    int rc = 0;

    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '{' || !(o = cJSON_Parse(p)))
        return 0;   /* btfs says what is wrong with a bad line */
    v = cJSON_GetObjectItemCaseSensitive(o, "set");
    if (cJSON_IsString(v) && !(it->set = strdup(v->valuestring)))
        rc = -ENOMEM;
    for (char *q = it->set; q && *q; q++)
        *q = (char)tolower((unsigned char)*q);
    v = cJSON_GetObjectItemCaseSensitive(o, "problem_id");
    if (!rc && cJSON_IsString(v)) {
        const char *b = v->valuestring;
        size_t n;
        while (*b == ' ' || *b == '\t' || *b == '\n')
            b++;
        n = strlen(b);
        while (n && (b[n - 1] == ' ' || b[n - 1] == '\t' ||
                     b[n - 1] == '\n'))
            n--;
        if (n && !(it->problem_id = strndup(b, n)))
            rc = -ENOMEM;
    }
    cJSON_Delete(o);
    return rc;
}

static int add_item(struct bt_import_set *s, size_t line, char *task,
                    char *source_id)
{
    if (s->nitems == s->items_cap) {
        size_t ncap = s->items_cap ? s->items_cap * 2 : 64;
        struct bt_import_item *n = realloc(s->items, ncap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        s->items = n;
        s->items_cap = ncap;
    }
    s->items[s->nitems] = (struct bt_import_item){
        .line = line, .task = task, .len = strlen(task),
        .source_id = source_id,
    };
    if (item_key(&s->items[s->nitems])) {
        free(s->items[s->nitems].set);
        return -ENOMEM;
    }
    s->nitems++;
    return 0;
}

static int add_problem(struct bt_import_set *s, size_t line, char *reason,
                       char *source_id)
{
    if (s->nproblems == s->problems_cap) {
        size_t ncap = s->problems_cap ? s->problems_cap * 2 : 16;
        struct bt_import_problem *n = realloc(s->problems, ncap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        s->problems = n;
        s->problems_cap = ncap;
    }
    s->problems[s->nproblems++] = (struct bt_import_problem){
        .line = line, .reason = reason, .source_id = source_id,
    };
    return 0;
}

int bt_import_parse(const char *buf, size_t len, enum bt_import_format fmt,
                    const struct bt_import_opts *opts,
                    struct bt_import_set *out)
{
    size_t lineno = 0;

    for (const char *p = buf, *end = buf + len; p < end; ) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char *task, *sid, *reason;
        int rc;

        lineno++;
        rc = bt_import_convert(fmt, p, ll, opts, &task, &sid, &reason);
        p = nl ? nl + 1 : end;
        if (rc == 1) {
            out->blank++;
            continue;
        }
        if (rc == -ENOMEM)
            return rc;
        if (rc == 0)
            rc = add_item(out, lineno, task, sid);
        else
            rc = add_problem(out, lineno, reason, sid);
        if (rc) {
            free(task);
            free(sid);
            free(reason);
            return rc;
        }
    }
    return 0;
}

void bt_import_set_free(struct bt_import_set *s)
{
    for (size_t i = 0; i < s->nitems; i++) {
        free(s->items[i].task);
        free(s->items[i].source_id);
        free(s->items[i].id);
        free(s->items[i].refusal);
        free(s->items[i].set);
        free(s->items[i].problem_id);
        free(s->items[i].present);
    }
    for (size_t i = 0; i < s->nproblems; i++) {
        free(s->problems[i].reason);
        free(s->problems[i].source_id);
    }
    free(s->items);
    free(s->problems);
    memset(s, 0, sizeof(*s));
}

static int cmp_present(const void *a, const void *b)
{
    const struct bt_import_present *x = a, *y = b;

    return strcmp(x->problem_id, y->problem_id);
}

long bt_import_skip_present(struct bt_import_set *s, const char *set,
                            const struct bt_import_present *p, size_t n)
{
    struct bt_import_present *sorted;
    long dropped = 0;

    if (n == 0)
        return 0;
    /* Sorted once, so that a 10,000-problem file against a 10,000-problem
     * set costs n log n, not n * n. */
    if (!(sorted = malloc(n * sizeof(*sorted))))
        return -ENOMEM;
    memcpy(sorted, p, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), cmp_present);
    for (size_t i = 0; i < s->nitems; i++) {
        struct bt_import_item *it = &s->items[i];
        struct bt_import_present key = { .problem_id = it->problem_id };
        const struct bt_import_present *hit;

        if (it->dropped || !it->set || !it->problem_id ||
            strcmp(it->set, set) != 0)
            continue;
        hit = bsearch(&key, sorted, n, sizeof(*sorted), cmp_present);
        if (!hit)
            continue;
        if (!(it->present = strdup(hit->task ? hit->task : "?"))) {
            free(sorted);
            return -ENOMEM;
        }
        it->dropped = true;
        dropped++;
    }
    free(sorted);
    return dropped;
}

/* Items by (set, problem_id), then line: equal keys end up side by side. */
static int cmp_key(const void *a, const void *b, void *ctx)
{
    const struct bt_import_set *s = ctx;
    const struct bt_import_item *x = &s->items[*(const size_t *)a],
                                *y = &s->items[*(const size_t *)b];
    int c = strcmp(x->set, y->set);

    if (!c)
        c = strcmp(x->problem_id, y->problem_id);
    if (!c)
        c = x->line < y->line ? -1 : x->line > y->line;
    return c;
}

long bt_import_skip_repeats(struct bt_import_set *s)
{
    size_t *idx, n = 0;
    long dropped = 0;

    if (!(idx = malloc((s->nitems ? s->nitems : 1) * sizeof(*idx))))
        return -ENOMEM;
    for (size_t i = 0; i < s->nitems; i++)
        if (s->items[i].set && s->items[i].problem_id)
            idx[n++] = i;
    qsort_r(idx, n, sizeof(*idx), cmp_key, s);
    for (size_t k = 1, first = 0; k < n; k++) {
        struct bt_import_item *a = &s->items[idx[first]],
                              *b = &s->items[idx[k]];
        if (strcmp(a->set, b->set) || strcmp(a->problem_id, b->problem_id)) {
            first = k;
            continue;
        }
        if (!b->dropped) {
            b->dropped = true;
            b->repeat_of = a->line;
            dropped++;
        }
    }
    free(idx);
    return dropped;
}

size_t bt_import_batch_end(const struct bt_import_set *s, size_t first,
                           size_t max_lines, size_t max_bytes)
{
    size_t i = first, lines = 0, bytes = 0;

    for (; i < s->nitems; i++) {
        const struct bt_import_item *it = &s->items[i];
        if (it->dropped)
            continue;
        if (lines > 0 && (lines == max_lines ||
                          bytes + it->len + 1 > max_bytes))
            break;
        lines++;
        bytes += it->len + 1;
    }
    return i;
}

