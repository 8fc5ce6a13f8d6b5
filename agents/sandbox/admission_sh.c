/* admission_sh.c -- the admission gate's reading of bash source
 * (admission_scan.h).
 *
 * As for C, bash is read as text with its comments blanked: the functions
 * it defines (the stub of rule 5 redefines them after the reference), the
 * words and strings that reach the network, the clock or unseeded
 * randomness (rule 3), and the test functions the harness will find
 * (rule 2). Whether the source parses is `bash -n`'s to say, in the
 * sandbox.
 */
#include "admission_scan.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A copy of bash source with comments blanked: a '#' that starts a word
 * outside quotes, to the end of its line. Quotes are followed across
 * lines; here-documents are not understood (an apostrophe in one may hide
 * a later comment, which only makes the banned scan stricter). */
static char *sh_blank(const char *src)
{
    size_t n = strlen(src);
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    memcpy(s, src, n + 1);
    int sq = 0, dq = 0;
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        if (sq) {
            if (c == '\'')
                sq = 0;
        } else if (c == '\\' && src[i + 1]) {
            i++;
        } else if (dq) {
            if (c == '"')
                dq = 0;
        } else if (c == '\'') {
            sq = 1;
        } else if (c == '"') {
            dq = 1;
        } else if (c == '#' && (i == 0 || isspace((unsigned char)src[i - 1]) ||
                                strchr(";&|()", src[i - 1]))) {
            while (i < n && src[i] != '\n')
                s[i++] = ' ';
        }
    }
    return s;
}

static int sh_name_char(int c)
{
    return is_ident(c) || c == ':' || c == '.' || c == '-';
}

/* Calls fn(name, len, arg) for every function the bash source defines:
 * "function NAME" and "NAME ()" where NAME starts a word. s is blanked. */
static void sh_functions(const char *s, void (*fn)(const char *, size_t, void *),
                         void *arg)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        if (!sh_name_char(s[i]) || (i > 0 && (sh_name_char(s[i - 1]) ||
                                              !strchr(" \t\n;&|(){", s[i - 1]))))
            continue;
        size_t st = i;
        while (i < n && sh_name_char(s[i]))
            i++;
        size_t len = i - st;
        if (word_is(s + st, len, "function")) {
            size_t k = i;
            while (k < n && (s[k] == ' ' || s[k] == '\t'))
                k++;
            size_t ns = k;
            while (k < n && sh_name_char(s[k]))
                k++;
            if (k > ns && k > i)
                fn(s + ns, k - ns, arg);
            i = k > i ? k - 1 : i - 1;
            continue;
        }
        size_t k = i;
        while (k < n && (s[k] == ' ' || s[k] == '\t'))
            k++;
        if (k < n && s[k] == '(') {
            k++;
            while (k < n && (s[k] == ' ' || s[k] == '\t'))
                k++;
            if (k < n && s[k] == ')' && !isdigit((unsigned char)s[st]))
                fn(s + st, len, arg);
        }
        i--;
    }
}

struct sh_stub_ctx {
    struct buf *out;           /* the stub being built                   */
    struct buf seen;           /* "\nNAME\n" for each name already done  */
};

static void sh_stub_one(const char *name, size_t len, void *arg)
{
    struct sh_stub_ctx *c = arg;
    struct buf key = {0};
    buf_adds(&key, "\n");
    buf_add(&key, name, len);
    buf_adds(&key, "\n");
    char *k = buf_take(&key);
    if (!k) {
        scan_fail(c->out);
        return;
    }
    if (c->seen.p && !strstr(c->seen.p, k)) {
        buf_add(&c->seen, k + 1, len + 1);      /* seen starts with "\n" */
        buf_adds(c->out, "function ");
        buf_add(c->out, name, len);
        buf_adds(c->out, " { return 1; }\n");
    }
    free(k);
}

/* sh stub: the reference as it is, then every function it defines
 * redefined to fail. The code is sourced, so the later definitions win,
 * whatever the bodies hold (here-documents, nested braces). */
char *admission_sh_stub(const char *src)
{
    char *s = sh_blank(src);
    if (!s)
        return NULL;
    struct buf b = {0};
    struct sh_stub_ctx ctx = {.out = &b};
    buf_adds(&b, src);
    if (b.len && b.p[b.len - 1] != '\n')
        buf_adds(&b, "\n");
    buf_adds(&b, "# admission stub: every function the reference defines fails\n");
    buf_adds(&ctx.seen, "\n");
    sh_functions(s, sh_stub_one, &ctx);
    free(s);
    int failed = ctx.seen.failed;
    buf_free(&ctx.seen);
    if (failed) {
        buf_free(&b);
        return NULL;
    }
    return buf_take(&b);
}

static const struct scan_banned sh_words[] = {
    {"curl", "the network"}, {"wget", "the network"}, {"nc", "the network"},
    {"ncat", "the network"}, {"netcat", "the network"}, {"socat", "the network"},
    {"ssh", "the network"}, {"scp", "the network"}, {"sftp", "the network"},
    {"telnet", "the network"}, {"ftp", "the network"}, {"rsync", "the network"},
    {NULL, NULL}
};

static const struct scan_banned sh_strings[] = {
    {"/dev/tcp/", "the network"}, {"/dev/udp/", "the network"},
    {"/dev/urandom", "unseeded randomness"}, {"/dev/random", "unseeded randomness"},
    {"SRANDOM", "unseeded randomness"}, {"EPOCHSECONDS", "the clock"},
    {"EPOCHREALTIME", "the clock"},
    {NULL, NULL}
};

/* The same for bash source. */
int admission_sh_banned(const char *src, char **what)
{
    char *s = sh_blank(src);
    if (!s)
        return -ENOMEM;
    size_t best = (size_t)-1;
    const char *kind = NULL;
    char *word = NULL;
    for (const struct scan_banned *b = sh_strings; b->word; b++) {
        const char *p = strstr(s, b->word);
        if (p && (size_t)(p - s) < best) {
            best = (size_t)(p - s);
            kind = b->kind;
            free(word);
            word = strdup(b->word);
            if (!word)
                goto oom;
        }
    }
    int seeded = 0;
    for (const char *p = s; (p = strstr(p, "RANDOM=")); p++) {
        int starts = p == s || (!sh_name_char(p[-1]) && p[-1] != '$' && p[-1] != '{');
        if (starts && isdigit((unsigned char)p[7]))
            seeded = 1;
    }
    for (size_t i = 0; s[i] && i < best; i++) {
        if (!sh_name_char(s[i]) || (i > 0 && sh_name_char(s[i - 1])))
            continue;
        size_t st = i;
        while (sh_name_char(s[i]))
            i++;
        size_t len = i - st;
        char before = st > 0 ? s[st - 1] : '\n', after = s[i];
        i--;
        const char *k = NULL;
        if (word_is(s + st, len, "RANDOM") && !seeded &&
            (before == '$' || (before == '{' && st > 1 && s[st - 2] == '$')))
            k = "unseeded randomness: $RANDOM without RANDOM=<integer>";
        else if (before == '$' || before == '{' || after == '=')
            continue;           /* a variable of that name */
        for (const struct scan_banned *b = sh_words; !k && b->word; b++)
            if (word_is(s + st, len, b->word))
                k = b->kind;
        if (!k && word_is(s + st, len, "date")) {
            size_t p = st;
            while (p > 0 && (s[p - 1] == ' ' || s[p - 1] == '\t'))
                p--;
            if (p == 0 || strchr("\n(`|;&{!", s[p - 1]))
                k = "the clock";
        }
        if (k) {
            best = st;
            kind = k;
            free(word);
            if (!(word = strndup(s + st, len)))
                goto oom;
            break;
        }
    }
    free(s);
    if (best == (size_t)-1) {
        free(word);
        return 0;
    }
    int n = asprintf(what, "line %d: uses %s (%s)", line_of(src, best), word, kind);
    free(word);
    if (n < 0) {
        *what = NULL;
        return -ENOMEM;
    }
    return 1;
oom:
    free(word);
    free(s);
    return -ENOMEM;
}

/* Counts test functions in bash tests the way the harness does: lines
 * "function test_X" or "test_X()", white space before, a name once. */
int admission_sh_count_tests(const char *src)
{
    struct buf seen = {0};
    int count = 0;
    buf_adds(&seen, "\n");
    for (const char *line = src; line && *line; ) {
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        int fn = 0;
        if (strncmp(p, "function", 8) == 0 && (p[8] == ' ' || p[8] == '\t')) {
            p += 8;
            while (*p == ' ' || *p == '\t')
                p++;
            fn = 1;
        }
        if (strncmp(p, "test_", 5) == 0) {
            const char *e = p;
            while (is_ident(*e))
                e++;
            const char *q = e;
            while (*q == ' ' || *q == '\t')
                q++;
            if (fn || (q[0] == '(' && q[1] == ')')) {
                struct buf key = {0};
                buf_adds(&key, "\n");
                buf_add(&key, p, (size_t)(e - p));
                buf_adds(&key, "\n");
                char *k = buf_take(&key);
                if (!k || !seen.p) {
                    free(k);
                    count = -ENOMEM;
                    break;
                }
                if (!strstr(seen.p, k)) {
                    buf_add(&seen, k + 1, (size_t)(e - p) + 1);
                    count++;
                }
                free(k);
            }
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    if (seen.failed)
        count = -ENOMEM;
    buf_free(&seen);
    return count;
}
