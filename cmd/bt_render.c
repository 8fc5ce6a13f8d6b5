/* bt_render.c -- bt's text output: document values as text for people,
 * aligned tables, JSON for programs (bt_render.h).
 *
 * One place decides how a missing value, a number or a control character
 * looks, so every command shows them alike.
 */
#include "bt_render.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "bt_err.h"
#include "bt.h"
#include "util/buf.h"

/* Prints a document as the filesystem gave it, with a final newline. */
void bt_print_raw(const char *text)
{
    size_t len = strlen(text);

    fwrite(text, 1, len, stdout);
    if (len == 0 || text[len - 1] != '\n')
        putchar('\n');
}

/* Prints a cJSON tree compactly on one line. */
int bt_print_json(const cJSON *j)
{
    char *s = cJSON_PrintUnformatted(j);

    if (!s)
        return bt_oom();
    puts(s);
    cJSON_free(s);
    return 0;
}

/* Prints {"key":"value"} with value escaped as JSON requires. */
int bt_print_json_kv(const char *key, const char *value)
{
    cJSON *o = cJSON_CreateObject();
    int rc;

    if (!o || !cJSON_AddStringToObject(o, key, value)) {
        cJSON_Delete(o);
        return bt_oom();
    }
    rc = bt_print_json(o);
    cJSON_Delete(o);
    return rc;
}

/* ---- Rendering values ------------------------------------------------------------ */

const cJSON *bt_jget(const cJSON *obj, const char *name)
{
    return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, name)
                               : NULL;
}

/* The first of the names (NULL-terminated) that obj holds and is not null:
 * documents are still taking shape, so a field may go by a few names. */
const cJSON *bt_jget_any(const cJSON *obj, ...)
{
    va_list ap;
    const char *name;
    const cJSON *found = NULL;

    va_start(ap, obj);
    while (!found && (name = va_arg(ap, const char *)) != NULL) {
        const cJSON *v = bt_jget(obj, name);
        if (v && !cJSON_IsNull(v))
            found = v;
    }
    va_end(ap);
    return found;
}

bool bt_jnum(const cJSON *v, double *out)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return false;
    *out = v->valuedouble;
    return true;
}

const char *bt_jstr(const cJSON *o, const char *name, const char *def)
{
    const cJSON *v = bt_jget(o, name);

    return cJSON_IsString(v) && *v->valuestring ? v->valuestring : def;
}

double bt_jnum_or(const cJSON *o, const char *name, double def)
{
    const cJSON *v = bt_jget(o, name);

    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

/* Formats a number for people: integers as such, fractions with up to three
 * decimals and no trailing zeros. */
static char *fmt_number(double v)
{
    char *s;

    if (v > -1e15 && v < 1e15 && v == (double)(long long)v) {
        if (asprintf(&s, "%lld", (long long)v) < 0)
            return NULL;
        return s;
    }
    if (asprintf(&s, "%.3f", v) < 0)
        return NULL;
    char *end = s + strlen(s) - 1;
    while (end > s && *end == '0')
        *end-- = '\0';
    if (*end == '.')
        *end = '\0';
    if (strcmp(s, "-0") == 0)
        strcpy(s, "0");
    return s;
}

/* Copies s, replacing control characters so a document cannot drive the
 * terminal; 'oneline' also flattens newlines and tabs. */
char *bt_clean_text(const char *s, bool oneline)
{
    char *d = strdup(s);

    if (!d)
        return NULL;
    for (unsigned char *p = (unsigned char *)d; *p; p++) {
        if ((*p == '\n' || *p == '\t') && !oneline)
            continue;
        if (*p < 0x20 || *p == 0x7f)
            *p = (*p == '\n' || *p == '\t' || *p == '\r') ? ' ' : '?';
    }
    return d;
}

/* A value as one line of text, malloc'd (NULL on ENOMEM): "-" for missing
 * or null, strings as they are, arrays of scalars joined by ", ", anything
 * else as compact JSON. */
char *bt_fmt_value(const cJSON *v)
{
    char *s;

    if (!v || cJSON_IsNull(v))
        return strdup("-");
    if (cJSON_IsString(v))
        return bt_clean_text(v->valuestring, true);
    if (cJSON_IsNumber(v))
        return fmt_number(v->valuedouble);
    if (cJSON_IsBool(v))
        return strdup(cJSON_IsTrue(v) ? "true" : "false");
    if (cJSON_IsArray(v)) {
        bool scalars = true;
        const cJSON *e;
        cJSON_ArrayForEach(e, v)
            if (cJSON_IsArray(e) || cJSON_IsObject(e))
                scalars = false;
        if (scalars) {
            struct buf out = { 0 };
            if (!cJSON_GetArraySize(v))
                return strdup("-");
            cJSON_ArrayForEach(e, v) {
                char *one = bt_fmt_value(e);
                if (!one) {
                    buf_free(&out);
                    return NULL;
                }
                /* No separator after a leading empty string: as before. */
                if (out.len)
                    buf_adds(&out, ", ");
                buf_adds(&out, one);
                free(one);
            }
            return buf_take(&out);
        }
    }
    s = cJSON_PrintUnformatted(v);
    if (!s)
        return NULL;
    char *d = bt_clean_text(s, true);
    cJSON_free(s);
    return d;
}

/* Number of UTF-8 code points in s (continuation bytes are not counted). */
static size_t u8_len(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* Cuts s in place to at most 'max' code points, ending in "..." if cut;
 * never splits a multi-byte character. */
void bt_u8_truncate(char *s, size_t max)
{
    size_t n = 0, keep = max > 3 ? max - 3 : 0;

    if (u8_len(s) <= max)
        return;
    for (char *p = s; *p; p++) {
        if (((unsigned char)*p & 0xC0) != 0x80) {
            if (n == keep) {
                strcpy(p, max > 3 ? "..." : "");
                return;
            }
            n++;
        }
    }
}

/* Prints "key: value" with value possibly on several lines: a multi-line
 * value goes under the key, indented, so that code reads as code. */
int bt_print_field(const char *key, int width, const cJSON *v)
{
    if (cJSON_IsString(v) && strchr(v->valuestring, '\n')) {
        char *t = bt_clean_text(v->valuestring, false);
        if (!t)
            return bt_oom();
        printf("%s:\n", key);
        for (char *line = t, *nl; line && *line; line = nl) {
            nl = strchr(line, '\n');
            if (nl)
                *nl++ = '\0';
            printf("    %s\n", line);
        }
        free(t);
        return 0;
    }
    char *s = bt_fmt_value(v);
    if (!s)
        return bt_oom();
    printf("%s:%*s %s\n", key, width > (int)strlen(key) ?
           width - (int)strlen(key) : 0, "", s);
    free(s);
    return 0;
}

/* Widest key of an object, for aligning its values. */
static int key_width(const cJSON *obj)
{
    int w = 0;
    const cJSON *e;

    cJSON_ArrayForEach(e, obj)
        if (e->string && (int)strlen(e->string) > w)
            w = (int)strlen(e->string);
    return w;
}

/* Prints any document as indented "key: value" lines: objects nest, arrays
 * of objects become "- " items. Used where the layout is not fixed yet. */
int bt_print_tree(const cJSON *obj, int indent)
{
    int w = key_width(obj);
    const cJSON *e;

    cJSON_ArrayForEach(e, obj) {
        char *key = bt_clean_text(e->string ? e->string : "?", true);
        int rc = 0;
        bool has_objects = false;
        const cJSON *x;

        if (!key)
            return bt_oom();
        if (cJSON_IsArray(e))
            cJSON_ArrayForEach(x, e)
                if (cJSON_IsObject(x))
                    has_objects = true;
        if (cJSON_IsObject(e) && cJSON_GetArraySize(e) > 0) {
            printf("%*s%s:\n", indent, "", key);
            rc = bt_print_tree(e, indent + 2);
        } else if (has_objects) {
            printf("%*s%s:\n", indent, "", key);
            cJSON_ArrayForEach(x, e) {
                char *s = bt_fmt_value(x);
                if (!s) {
                    rc = bt_oom();
                    break;
                }
                printf("%*s- %s\n", indent + 2, "", s);
                free(s);
            }
        } else {
            printf("%*s", indent, "");
            rc = bt_print_field(key, w, e);
        }
        free(key);
        if (rc)
            return rc;
    }
    return 0;
}

void bt_sparkline(const char *label, const double *v, size_t n)
{
    static const char *const bars[] = { "\u2581", "\u2582", "\u2583",
                                        "\u2584", "\u2585", "\u2586",
                                        "\u2587", "\u2588" };
    double first = NAN, last = NAN;

    printf("%-11s ", label);
    for (size_t i = 0; i < n; i++) {
        if (isnan(v[i])) {
            putchar(' ');
            continue;
        }
        double x = v[i] < 0 ? 0 : v[i] > 1 ? 1 : v[i];
        fputs(bars[(int)(x * 7 + 0.5)], stdout);
        if (isnan(first))
            first = v[i];
        last = v[i];
    }
    if (!isnan(first))
        printf("  %.2f .. %.2f", first, last);
    putchar('\n');
}

/* Orders names as people do: task_9 before task_10. */
int bt_cmp_str(const void *a, const void *b)
{
    return strverscmp(*(char *const *)a, *(char *const *)b);
}

/* ---- Tables ------------------------------------------------------------------------ */

/* Adds one cell; takes ownership of s. Returns 0 or -ENOMEM (s freed). */
int bt_table_put(struct bt_table *t, char *s)
{
    if (!s)
        return -ENOMEM;
    if (t->ncells == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 64;
        char **nc = realloc(t->cells, ncap * sizeof(*nc));
        if (!nc) {
            free(s);
            return -ENOMEM;
        }
        t->cells = nc;
        t->cap = ncap;
    }
    t->cells[t->ncells++] = s;
    return 0;
}

int bt_table_put_str(struct bt_table *t, const char *s)
{
    return bt_table_put(t, bt_clean_text(s, true));
}

int bt_table_put_value(struct bt_table *t, const cJSON *v)
{
    return bt_table_put(t, bt_fmt_value(v));
}

void bt_table_print(const struct bt_table *t)
{
    size_t *w = calloc(t->ncols, sizeof(*w));

    if (!w) {
        bt_oom();
        return;
    }
    for (size_t i = 0; i < t->ncells; i++) {
        size_t l = u8_len(t->cells[i]);
        if (l > w[i % t->ncols])
            w[i % t->ncols] = l;
    }
    for (size_t i = 0; i < t->ncells; i++) {
        size_t col = i % t->ncols;
        const char *s = t->cells[i];
        int pad = (int)(w[col] - u8_len(s));
        bool last = col == t->ncols - 1;

        if (t->align[col] == 'r')
            printf("%*s%s", pad, "", s);
        else
            printf("%s%*s", s, last ? 0 : pad, "");
        fputs(last ? "\n" : "  ", stdout);
    }
    free(w);
}

void bt_table_free(struct bt_table *t)
{
    for (size_t i = 0; i < t->ncells; i++)
        free(t->cells[i]);
    free(t->cells);
}

