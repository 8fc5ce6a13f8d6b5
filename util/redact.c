/* redact.c -- masks credentials in URLs (see redact.h). */
#include "redact.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* An output that counts what it would need and copies what fits; a NULL
 * p only counts. */
struct sink {
    char *p;
    size_t cap;                 /* bytes p can hold, NUL included       */
    size_t len;                 /* bytes the whole output needs         */
};

static void put(struct sink *s, const char *b, size_t n)
{
    if (s->p && s->len + 1 < s->cap) {
        size_t room = s->cap - 1 - s->len;
        memcpy(s->p + s->len, b, n < room ? n : room);
    }
    s->len += n;
}

static int url_end(char c)
{
    return c == '\0' || isspace((unsigned char)c) || c == '"' || c == '\'' ||
           c == '<' || c == '>' || c == '`';
}

/* Whether p starts a URL: scheme characters and "://". */
static int starts_url(const char *p)
{
    const char *q = p;

    if (!isalpha((unsigned char)*q))
        return 0;
    while (isalnum((unsigned char)*q) || *q == '+' || *q == '-' || *q == '.')
        q++;
    return strncmp(q, "://", 3) == 0;
}

/* A comma may separate URLs in a list (BT_LLM_URL takes several). */
static int at_end(const char *p)
{
    return url_end(*p) || (*p == ',' && starts_url(p + 1));
}

static int secret_name(const char *n, size_t len)
{
    static const char *const names[] = {
        "key", "token", "secret", "password", "passwd", "pwd", "sig",
        "signature",
    };

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t k = strlen(names[i]);
        /* "api_key", "access_token": a suffix is enough; masking a
         * harmless "monkey=" costs nothing. */
        if (len >= k && strncasecmp(n + len - k, names[i], k) == 0)
            return 1;
    }
    return 0;
}

/* The secrets found in a URL, pointing into it. */
struct secrets {
    const char *at[16];
    size_t len[16];
    size_t n;
};

static void note(struct secrets *sec, const char *p, size_t len)
{
    if (sec && len > 0 && sec->n < sizeof sec->at / sizeof sec->at[0]) {
        sec->at[sec->n] = p;
        sec->len[sec->n++] = len;
    }
}

/* Copies in to o with every URL's secrets masked; records them in sec
 * (may be NULL). Returns 1 when something was masked. */
static int scan(const char *in, struct sink *o, struct secrets *sec)
{
    const char *p = in;
    int masked = 0;

    while (*p) {
        if (!(p[0] == ':' && p[1] == '/' && p[2] == '/')) {
            put(o, p++, 1);
            continue;
        }
        put(o, "://", 3);
        p += 3;
        const char *a = p, *end = p, *at = NULL;
        while (!at_end(end) && *end != '/' && *end != '?' && *end != '#') {
            if (*end == '@')
                at = end;
            end++;
        }
        if (at) {
            const char *colon = memchr(a, ':', (size_t)(at - a));
            if (colon) {
                note(sec, a, (size_t)(colon - a));
                note(sec, colon + 1, (size_t)(at - colon - 1));
            } else {
                note(sec, a, (size_t)(at - a));
            }
            put(o, REDACT_MASK, strlen(REDACT_MASK));
            a = at;
            masked = 1;
        }
        put(o, a, (size_t)(end - a));
        p = end;
        while (!at_end(p) && *p != '?' && *p != '#')
            put(o, p++, 1);
        if (*p != '?')
            continue;
        put(o, p++, 1);
        for (;;) {
            const char *n = p;
            while (!at_end(p) && *p != '=' && *p != '&' && *p != '#')
                p++;
            put(o, n, (size_t)(p - n));
            if (*p == '=') {
                const char *v = ++p;
                put(o, "=", 1);
                while (!at_end(p) && *p != '&' && *p != '#')
                    p++;
                if (p > v && secret_name(n, (size_t)(v - 1 - n))) {
                    note(sec, v, (size_t)(p - v));
                    put(o, REDACT_MASK, strlen(REDACT_MASK));
                    masked = 1;
                } else {
                    put(o, v, (size_t)(p - v));
                }
            }
            if (*p != '&')
                break;
            put(o, p++, 1);
        }
    }
    return masked;
}

/* Masks every occurrence of the known secrets in text (a malloc'd string
 * that may be replaced). Returns 1 when something was masked, 0 when not,
 * -1 when out of memory. */
static int mask_known(char **text, const struct secrets *sec)
{
    int masked = 0;

    for (size_t i = 0; i < sec->n; i++) {
        size_t k = sec->len[i], ml = strlen(REDACT_MASK);
        char needle[512];
        struct sink o = {NULL, 0, 0};
        const char *p, *hit;

        if (k < REDACT_MIN_KNOWN || k >= sizeof needle)
            continue;
        memcpy(needle, sec->at[i], k);
        needle[k] = '\0';
        if (!strstr(*text, needle))
            continue;
        for (int pass = 0; pass < 2; pass++) {
            o.len = 0;
            for (p = *text; (hit = strstr(p, needle)); p = hit + k) {
                put(&o, p, (size_t)(hit - p));
                put(&o, REDACT_MASK, ml);
            }
            put(&o, p, strlen(p));
            if (pass == 0 && !(o.p = malloc(o.len + 1)))
                return -1;
            o.cap = o.len + 1;
        }
        o.p[o.len] = '\0';
        free(*text);
        *text = o.p;
        masked = 1;
    }
    return masked;
}

/* The whole redaction into a malloc'd string; NULL when out of memory. */
static char *redact_alloc(const char *in, const char *url, int *masked)
{
    struct sink o = {NULL, 0, 0};
    struct secrets sec = {.n = 0};
    char *copy_url = NULL;
    int m;

    *masked = scan(in, &o, NULL);
    if (!(o.p = malloc(o.len + 1)))
        return NULL;
    o.cap = o.len + 1;
    o.len = 0;
    scan(in, &o, NULL);
    o.p[o.len] = '\0';
    if (url) {
        struct sink none = {NULL, 0, 0};
        /* The secrets point into url, which may be the same text as in. */
        if (!(copy_url = strdup(url))) {
            free(o.p);
            return NULL;
        }
        scan(copy_url, &none, &sec);
        m = mask_known(&o.p, &sec);
        free(copy_url);
        if (m < 0) {
            free(o.p);
            return NULL;
        }
        *masked |= m;
    }
    return o.p;
}

int redact_known(char *out, size_t outlen, const char *in, const char *url)
{
    int masked = 0;
    char *r;

    if (!in)
        in = "";
    r = redact_alloc(in, url, &masked);
    if (outlen == 0)
        goto done;
    if (!r) {
        /* Showing nothing is the only safe answer without memory. */
        snprintf(out, outlen, "%s", "(hidden: out of memory while masking "
                 "credentials)");
        return 1;
    }
    snprintf(out, outlen, "%s", r);
done:
    free(r);
    return masked;
}

int redact_buf(char *out, size_t outlen, const char *in)
{
    return redact_known(out, outlen, in, NULL);
}

char *redact_dup(const char *in)
{
    int masked;

    return in ? redact_alloc(in, NULL, &masked) : NULL;
}
