/* extract.c -- pull JSON and code out of what a language model wrote.
 *
 * Both extractors work on one cleaned copy of the answer: reasoning removed
 * (extract_strip_think) and every CRLF or lone CR turned into LF, so that
 * fence lines, JSON and code are found the same way whatever the server or
 * the model's template did with line ends.
 *
 * Fences follow CommonMark closely enough for model output: an opening line
 * is optional white space, then three or more backticks or tildes, then an
 * info string whose first word is the tag (a backtick fence's info string
 * may hold no backtick, which keeps "```x```" on one line from counting).
 * The block closes at a line of the same character, at least as many, and
 * nothing else but white space; without one it runs to the end, as a
 * truncated answer does. When the opening fence is indented (a fence inside
 * a Markdown list item), that much indentation is taken off each line of
 * the block.
 *
 * This file: the cleaning, the fences and JSON; code is extract_code.c's.
 */
#include "extract.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "extract_internal.h"

#define THINK_OPEN      "<think>"
#define THINK_CLOSE     "</think>"

/* The embedded-object search tries each '{' in turn, so a pathological
 * answer (thousands of unbalanced braces) could cost time quadratic in its
 * length. This many scanned bytes in total is far beyond any real answer
 * (a 64 KiB answer with a thousand stray braces) and bounds the rest. */
#define EMBED_BUDGET    ((size_t)64 << 20)

/* ---- small text helpers ------------------------------------------------ */

/* Turns CRLF and lone CR into LF, in place. */
static void to_lf(char *s)
{
    char *w = s;

    for (const char *r = s; *r; r++) {
        if (*r == '\r') {
            *w++ = '\n';
            if (r[1] == '\n')
                r++;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

/* ---- think tags -------------------------------------------------------- */

char *extract_strip_think(const char *text)
{
    struct buf out = { 0 };
    const char *pos = text ? text : "", *open, *close, *start, *end;
    char *res;

    /* The template opened the block, the model only closed it. */
    open = strstr(pos, THINK_OPEN);
    close = strstr(pos, THINK_CLOSE);
    if (close && (!open || close < open))
        pos = close + strlen(THINK_CLOSE);

    for (;;) {
        open = strstr(pos, THINK_OPEN);
        if (!open) {
            if (buf_add(&out, pos, strlen(pos)))
                goto oom;
            break;
        }
        if (buf_add(&out, pos, (size_t)(open - pos)))
            goto oom;
        close = strstr(open + strlen(THINK_OPEN), THINK_CLOSE);
        if (!close)
            break;                      /* still thinking when it stopped */
        pos = close + strlen(THINK_CLOSE);
    }

    start = out.p ? out.p : "";
    end = start + out.len;
    while (start < end && is_space(*start))
        start++;
    while (end > start && is_space(end[-1]))
        end--;
    res = strndup(start, (size_t)(end - start));
    buf_free(&out);
    return res;

oom:
    buf_free(&out);
    return NULL;
}

/* The stripped answer with LF line ends; NULL when out of memory. */
char *extract_clean_answer(const char *text)
{
    char *s = extract_strip_think(text);

    if (s)
        to_lf(s);
    return s;
}

/* ---- fences ------------------------------------------------------------ */

/* Length of the line starting at s, without its LF. */
size_t extract_line_len(const char *s)
{
    const char *nl = strchr(s, '\n');

    return nl ? (size_t)(nl - s) : strlen(s);
}

/* If the line s[0..n) opens a fence, returns the fence length and sets
 * *ch, *indent and the tag; else 0. */
static size_t fence_open(const char *s, size_t n, char *ch, size_t *indent,
                         const char **tag, size_t *tag_len)
{
    size_t i = 0, run, t;

    while (i < n && is_blank(s[i]))
        i++;
    if (i == n || (s[i] != '`' && s[i] != '~'))
        return 0;
    *ch = s[i];
    *indent = i;
    for (run = 0; i + run < n && s[i + run] == *ch; run++)
        ;
    if (run < 3)
        return 0;
    i += run;
    if (*ch == '`' && memchr(s + i, '`', n - i))
        return 0;
    while (i < n && is_blank(s[i]))
        i++;
    for (t = i; t < n && !is_space(s[t]) && s[t] != '{'; t++)
        ;
    *tag = s + i;
    *tag_len = t - i;
    return run;
}

/* Does the line s[0..n) close a fence of 'run' characters 'ch'? */
static int fence_close(const char *s, size_t n, char ch, size_t run)
{
    size_t i = 0, k = 0;

    while (i < n && is_blank(s[i]))
        i++;
    while (i < n && s[i] == ch) {
        i++;
        k++;
    }
    if (k < run)
        return 0;
    while (i < n && is_space(s[i]))
        i++;
    return i == n;
}

/* Lists the fenced blocks of s (LF line ends), in order. 0 or -ENOMEM. */
int extract_fences_find(const char *s, struct fences *out)
{
    const char *p = s;

    memset(out, 0, sizeof(*out));
    while (*p) {
        size_t n = extract_line_len(p), run, indent = 0, tag_len = 0;
        const char *tag = NULL, *body, *q;
        struct fence *f;
        char ch = 0;

        run = fence_open(p, n, &ch, &indent, &tag, &tag_len);
        p += n + (p[n] == '\n');
        if (!run)
            continue;

        body = p;
        for (q = p; *q; ) {
            size_t m = extract_line_len(q);

            if (fence_close(q, m, ch, run))
                break;
            q += m + (q[m] == '\n');
        }

        if (out->n == out->cap) {
            size_t ncap = out->cap ? out->cap * 2 : 8;
            struct fence *nv = realloc(out->v, ncap * sizeof(*nv));

            if (!nv) {
                free(out->v);
                memset(out, 0, sizeof(*out));
                return -ENOMEM;
            }
            out->v = nv;
            out->cap = ncap;
        }
        f = &out->v[out->n++];
        f->tag = tag;
        f->tag_len = tag_len;
        f->body = body;
        f->body_len = (size_t)(q - body);
        f->indent = indent;

        p = q;
        if (*p)                         /* skip the closing line */
            p += extract_line_len(p) + (p[extract_line_len(p)] == '\n');
    }
    return 0;
}

int extract_has_text(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_space(s[i]))
            return 1;
    return 0;
}

/* ---- JSON -------------------------------------------------------------- */

const char *extract_json_rule_name(enum extract_json_rule rule)
{
    switch (rule) {
    case EXTRACT_JSON_WHOLE:    return "whole";
    case EXTRACT_JSON_FENCE:    return "fence";
    case EXTRACT_JSON_EMBEDDED: return "embedded";
    case EXTRACT_JSON_NONE:     break;
    }
    return "none";
}

/* Parses s[0..n) as one JSON object and nothing else but white space. */
static cJSON *parse_object(const char *s, size_t n)
{
    const char *end = NULL;
    cJSON *obj;

    while (n && is_space(*s)) {
        s++;
        n--;
    }
    while (n && is_space(s[n - 1]))
        n--;
    if (n == 0 || *s != '{')
        return NULL;
    obj = cJSON_ParseWithLengthOpts(s, n, &end, 0);
    if (!obj)
        return NULL;
    if (end != s + n || !cJSON_IsObject(obj)) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

/* The first '{' whose balanced span parses as an object. Quotes are
 * tracked from each candidate '{' on, not from the start of the text,
 * because prose before the object has unpaired quotes and apostrophes. */
static cJSON *json_embedded(const char *s, size_t n)
{
    size_t budget = EMBED_BUDGET;

    for (size_t i = 0; i < n; i++) {
        int depth = 0, in_str = 0, esc = 0;
        size_t j;
        cJSON *obj;

        if (s[i] != '{')
            continue;
        for (j = i; j < n; j++) {
            char c = s[j];

            if (budget-- == 0)
                return NULL;
            if (in_str) {
                if (esc)
                    esc = 0;
                else if (c == '\\')
                    esc = 1;
                else if (c == '"')
                    in_str = 0;
            } else if (c == '"') {
                in_str = 1;
            } else if (c == '{') {
                depth++;
            } else if (c == '}' && --depth == 0) {
                break;
            }
        }
        if (j == n)
            continue;                   /* never closed: truncated */
        obj = parse_object(s + i, j - i + 1);
        if (obj)
            return obj;
    }
    return NULL;
}

static int tag_is_json(const struct fence *f)
{
    return f->tag_len == 4 && strncasecmp(f->tag, "json", 4) == 0;
}

cJSON *extract_json(const char *text, enum extract_json_rule *rule)
{
    enum extract_json_rule found = EXTRACT_JSON_NONE;
    struct fences fs = { 0 };
    cJSON *obj;
    char *s;

    /* An answer that is one object as it stands is taken before any think
     * tag is stripped: a "</think>" inside one of its strings is content,
     * not reasoning (found by tests/fuzz/fuzz_extract). */
    obj = parse_object(text, strlen(text));
    if (obj) {
        if (rule)
            *rule = EXTRACT_JSON_WHOLE;
        return obj;
    }
    s = extract_clean_answer(text);
    if (!s)
        goto out_none;

    obj = parse_object(s, strlen(s));
    if (obj) {
        found = EXTRACT_JSON_WHOLE;
        goto out;
    }

    if (extract_fences_find(s, &fs))
        goto out_none;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < fs.n; i++) {
            if (pass == 0 && !tag_is_json(&fs.v[i]))
                continue;
            obj = parse_object(fs.v[i].body, fs.v[i].body_len);
            if (obj) {
                found = EXTRACT_JSON_FENCE;
                goto out;
            }
        }
    }

    obj = json_embedded(s, strlen(s));
    if (obj)
        found = EXTRACT_JSON_EMBEDDED;

out:
    free(fs.v);
    free(s);
    if (rule)
        *rule = found;
    return obj;

out_none:
    free(fs.v);
    free(s);
    if (rule)
        *rule = EXTRACT_JSON_NONE;
    return NULL;
}

const char *extract_json_missing(const cJSON *obj, const char *const *fields)
{
    for (size_t i = 0; fields && fields[i]; i++) {
        const cJSON *item = cJSON_IsObject(obj) ?
            cJSON_GetObjectItemCaseSensitive(obj, fields[i]) : NULL;

        if (!item || cJSON_IsNull(item))
            return fields[i];
    }
    return NULL;
}
