/* pretty.c -- stored compact JSON shown pretty-printed, in one pass.
 *
 * The store keeps compact JSON that cJSON printed. The tree shows it as
 * cJSON_Print would (tabs, one member a line, arrays on one line), but
 * re-parsing every record into a tree and printing it again cost most of
 * the time of a read and allocated per value. This file reformats the
 * stored text token by token instead: strings, numbers and literals are
 * copied verbatim, only the punctuation gets whitespace. With an fs_buf in
 * counting mode the same code yields the exact size and allocates nothing,
 * so a file's size and its bytes always come from one function.
 *
 * The input must be valid JSON (the store validated it when it was written);
 * whitespace between tokens is dropped. For text cJSON printed, the output is
 * byte for byte cJSON_Print's (tests/test_fs.c checks that).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs_internal.h"
#include "json_scan.h"

static const char fs_tabs[64] =
    "\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t"
    "\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t";

/* Appends a newline (if nl) and depth tabs. */
static int put_indent(struct fs_buf *out, int nl, unsigned depth)
{
    int rc = nl ? fs_buf_add(out, "\n", 1) : 0;
    while (rc == 0 && depth > 0) {
        unsigned n = depth < sizeof fs_tabs ? depth : sizeof fs_tabs;
        rc = fs_buf_add(out, fs_tabs, n);
        depth -= n;
    }
    return rc;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* cJSON refuses deeper documents, so the store never holds one. */
#define PRETTY_MAX_DEPTH 1024

int fs_json_pretty(struct fs_buf *out, const char *s, size_t n,
                   unsigned depth)
{
    /* One bit per open container: 1 object, 0 array. */
    unsigned char is_obj[PRETTY_MAX_DEPTH / 8] = {0};
    unsigned level = 0;         /* containers open in this call        */
    size_t i = 0, run = 0;      /* s[run..i) is verbatim text pending   */
    int rc = 0;

#define FLUSH() \
    do { if (i > run && (rc = fs_buf_add(out, s + run, i - run))) return rc; \
    } while (0)

    while (i < n) {
        char c = s[i];
        if (c == '"') {
            i = json_skip_string(s, n, i);
            continue;
        }
        if (c != '{' && c != '}' && c != '[' && c != ']' && c != ':' &&
            c != ',' && !is_ws(c)) {
            i++;                /* number or literal: verbatim */
            continue;
        }
        FLUSH();
        i++;
        run = i;
        switch (c) {
        case '{': {
            size_t j = i;
            while (j < n && is_ws(s[j]))
                j++;
            if (j < n && s[j] == '}') {     /* {} prints as "{\n}" */
                rc = fs_buf_add(out, "{", 1);
                if (rc == 0)
                    rc = put_indent(out, 1, depth);
                if (rc == 0)
                    rc = fs_buf_add(out, "}", 1);
                i = run = j + 1;
                break;
            }
            if (level >= PRETTY_MAX_DEPTH)
                return -EINVAL;
            is_obj[level / 8] |= (unsigned char)(1u << (level % 8));
            level++;
            depth++;
            rc = fs_buf_add(out, "{", 1);
            if (rc == 0)
                rc = put_indent(out, 1, depth);
            break;
        }
        case '[':
            if (level >= PRETTY_MAX_DEPTH)
                return -EINVAL;
            is_obj[level / 8] &= (unsigned char)~(1u << (level % 8));
            level++;
            depth++;
            rc = fs_buf_add(out, "[", 1);
            break;
        case '}':
            if (level == 0 || depth == 0)
                return -EINVAL;
            level--;
            depth--;
            rc = put_indent(out, 1, depth);
            if (rc == 0)
                rc = fs_buf_add(out, "}", 1);
            break;
        case ']':
            if (level == 0 || depth == 0)
                return -EINVAL;
            level--;
            depth--;
            rc = fs_buf_add(out, "]", 1);
            break;
        case ':':
            rc = fs_buf_add(out, ":\t", 2);
            break;
        case ',':
            if (level > 0 &&
                (is_obj[(level - 1) / 8] >> ((level - 1) % 8) & 1)) {
                rc = fs_buf_add(out, ",", 1);
                if (rc == 0)
                    rc = put_indent(out, 1, depth);
            } else {
                rc = fs_buf_add(out, ", ", 2);
            }
            break;
        default:
            break;              /* whitespace between tokens */
        }
        if (rc)
            return rc;
    }
    FLUSH();
#undef FLUSH
    return level == 0 ? 0 : -EINVAL;
}

int fs_json_string(struct fs_buf *out, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    int rc = fs_buf_add(out, "\"", 1);
    size_t run = 0, i = 0;

    for (; rc == 0 && s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[6];
        size_t el = 2;
        if (c >= 32 && c != '"' && c != '\\')
            continue;
        esc[0] = '\\';
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            el = 6;
        }
        rc = fs_buf_add(out, s + run, i - run);
        if (rc == 0)
            rc = fs_buf_add(out, esc, el);
        run = i + 1;
    }
    if (rc == 0)
        rc = fs_buf_add(out, s + run, i - run);
    return rc ? rc : fs_buf_add(out, "\"", 1);
}


int fs_json_field(const char *s, size_t n, const char *key,
                  const char **val, size_t *vlen)
{
    size_t kl = strlen(key), i = 0;

    while (i < n && is_ws(s[i]))
        i++;
    if (i >= n || s[i] != '{')
        return -ENOENT;
    i++;
    while (i < n) {
        while (i < n && (is_ws(s[i]) || s[i] == ','))
            i++;
        if (i >= n || s[i] != '"')
            return -ENOENT;
        size_t ks = i + 1, ke = json_skip_string(s, n, i);
        i = ke;
        while (i < n && (is_ws(s[i]) || s[i] == ':'))
            i++;
        size_t vs = i;
        i = json_skip_value(s, n, i);
        if (ke - ks - 1 == kl && memcmp(s + ks, key, kl) == 0) {
            *val = s + vs;
            *vlen = i - vs;
            return 0;
        }
    }
    return -ENOENT;
}
