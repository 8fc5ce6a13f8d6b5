/* admission.c -- the gate a Trainer-proposed task must pass (admission.h).
 *
 * Python is judged from its syntax tree, built by a checker that runs in the
 * sandbox (parsing untrusted text belongs there too, and Python's own parser
 * is the only one that agrees with Python). C and sh are scanned here as
 * text, with comments and string literals blanked first, and compiled or
 * `bash -n`-checked in the sandbox. Every judgement that needs the code to
 * run (reference, stubs, empty solution) goes through exec_run with the
 * task's own test protocol, so the gate sees what the Builder's judge will.
 */
#include "admission.h"

#include "exec.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Excerpts of compiler messages and test failures quoted in a verdict are
 * cut here (with "...") so a message stays one readable line. */
#define EXCERPT_MAX 600

/* The checker run is ours, not the task's: its own generous limits. */
#define CHECK_TIMEOUT_MS 30000
#define CHECK_MEMORY_MB  1024
#define CHECK_OUTPUT_KB  1024

static const char *const reason_names[ADMISSION_REASON__COUNT] = {
    [ADMISSION_ACCEPTED] = "accepted",
    [ADMISSION_MISSING_FIELD] = "missing_field",
    [ADMISSION_TOO_LARGE] = "too_large",
    [ADMISSION_BAD_LANGUAGE] = "bad_language",
    [ADMISSION_BAD_TIMEOUT] = "bad_timeout",
    [ADMISSION_SYNTAX_ERROR] = "syntax_error",
    [ADMISSION_NO_TESTS] = "no_tests",
    [ADMISSION_BANNED] = "banned",
    [ADMISSION_REFERENCE_FAILS] = "reference_fails",
    [ADMISSION_FLAKY] = "flaky",
    [ADMISSION_STUB_PASSES] = "stub_passes",
    [ADMISSION_STUB_UNBUILDABLE] = "stub_unbuildable",
    [ADMISSION_EMPTY_PASSES] = "empty_passes",
    [ADMISSION_TOO_SLOW] = "too_slow",
};

const char *admission_reason_name(enum admission_reason r)
{
    if ((unsigned)r >= ADMISSION_REASON__COUNT)
        return "unknown";
    return reason_names[r];
}

/* The Python checker (admission_checker.py, compiled in by
 * scripts/embed.py; run as main.py with the sources under in/): parses
 * the reference and the tests without running them, counts tests as the
 * harness does, walks the trees for banned modules and calls, and builds
 * the stub. Prints one JSON object:
 *   {"reference": {"error": null|"...", "tests": N, "banned": null|"..."},
 *    "tests": {...}, "hidden_tests": {...}, "stub": "..."|null}
 * Its output can be trusted: nothing of the proposal is executed. */
extern const char admission_python_checker[];

/* ---- small text helpers ------------------------------------------------ */

/* A growing string; the first failed allocation latches oom and frees. */
struct sbuf {
    char *p;                    /* NUL-terminated when len > 0            */
    size_t len;
    size_t cap;
    int oom;                    /* 1: an allocation failed, p is NULL     */
};

static void sb_addn(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            free(b->p);
            b->p = NULL;
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_add(struct sbuf *b, const char *s)
{
    sb_addn(b, s, strlen(s));
}

/* Hands the text over (an empty string when nothing was added), or NULL
 * when out of memory. */
static char *sb_take(struct sbuf *b)
{
    if (!b->oom && !b->p)
        sb_addn(b, "", 0);
    char *p = b->oom ? NULL : b->p;
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int is_blank(const char *s)
{
    if (!s)
        return 1;
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return 0;
    return 1;
}

static int is_ident(int c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* One line of at most EXCERPT_MAX bytes from s: white space runs become
 * one space, the rest is cut with "...". malloc'd; "" for NULL; NULL when
 * out of memory. */
static char *excerpt(const char *s)
{
    struct sbuf b = {0};
    int space = 0;
    if (s) {
        while (isspace((unsigned char)*s))
            s++;
        for (; *s; s++) {
            if (isspace((unsigned char)*s)) {
                space = 1;
                continue;
            }
            if (space)
                sb_addn(&b, " ", 1);
            space = 0;
            /* cut at a character, not inside one: messages go into JSON */
            if (b.len >= EXCERPT_MAX && ((unsigned char)*s & 0xC0) != 0x80) {
                sb_add(&b, "...");
                break;
            }
            sb_addn(&b, s, 1);
        }
    }
    return sb_take(&b);
}

/* The first line of compiler output that reports an error, else its first
 * line: what a task writer needs to fix. malloc'd excerpt or NULL (OOM). */
static char *first_error_line(const char *err)
{
    const char *line = err ? err : "", *pick = NULL;
    for (const char *p = line; p && *p; ) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (!pick && n > 0)
            pick = p;
        const char *e = memmem(p, n, "error", 5);
        if (e) {
            pick = p;
            break;
        }
        p = nl ? nl + 1 : NULL;
    }
    if (!pick)
        return excerpt("");
    const char *nl = strchr(pick, '\n');
    size_t n = nl ? (size_t)(nl - pick) : strlen(pick);
    char *one = strndup(pick, n);
    if (!one)
        return NULL;
    char *x = excerpt(one);
    free(one);
    return x;
}

static int line_of(const char *s, size_t pos)
{
    int line = 1;
    for (size_t i = 0; i < pos && s[i]; i++)
        if (s[i] == '\n')
            line++;
    return line;
}

static int lang_id(const char *lang)
{
    if (!lang)
        return 0;
    if (strcmp(lang, "python") == 0)
        return 'p';
    if (strcmp(lang, "c") == 0)
        return 'c';
    if (strcmp(lang, "sh") == 0)
        return 's';
    return 0;
}

/* ---- verdicts ---------------------------------------------------------- */

static void verdict_init(struct admission_verdict *v)
{
    memset(v, 0, sizeof *v);
    v->reason = ADMISSION_ACCEPTED;
    v->stub_visible_passed = v->stub_hidden_passed = -1;
    v->empty_visible_passed = v->empty_hidden_passed = -1;
}

void admission_verdict_free(struct admission_verdict *v)
{
    if (!v)
        return;
    free(v->message);
    memset(v, 0, sizeof *v);
}

/* Replaces the message by "PREFIX: text" on one line. 0 or -ENOMEM. */
static int __attribute__((format(printf, 3, 0)))
vset_message(struct admission_verdict *v, const char *prefix, const char *fmt,
             va_list ap)
{
    char *text = NULL, *msg = NULL;
    if (vasprintf(&text, fmt, ap) < 0)
        return -ENOMEM;
    int n = asprintf(&msg, "%s: %s", prefix, text);
    free(text);
    if (n < 0)
        return -ENOMEM;
    for (char *c = msg; *c; c++)
        if (*c == '\n' || *c == '\r' || *c == '\t')
            *c = ' ';
    free(v->message);
    v->message = msg;
    return 0;
}

/* Records the first broken rule. Returns 1 (rejected) or -ENOMEM. */
static int __attribute__((format(printf, 4, 5)))
reject(struct admission_verdict *v, enum admission_reason r, int rule,
       const char *fmt, ...)
{
    v->accepted = 0;
    v->reason = r;
    v->rule = rule;
    va_list ap;
    va_start(ap, fmt);
    int rc = vset_message(v, admission_reason_name(r), fmt, ap);
    va_end(ap);
    return rc < 0 ? rc : 1;
}

/* Records why the check itself failed and returns err (negative). */
static int __attribute__((format(printf, 3, 4)))
internal(struct admission_verdict *v, int err, const char *fmt, ...)
{
    v->accepted = 0;
    va_list ap;
    va_start(ap, fmt);
    int rc = vset_message(v, "internal", fmt, ap);
    va_end(ap);
    return rc < 0 ? rc : err;
}

/* ---- rule 1: fields ---------------------------------------------------- */

/* 0 when the field holds, 1 when rejected, -ENOMEM. */
static int check_text(struct admission_verdict *v, const char *name,
                      const char *s, size_t max)
{
    if (is_blank(s))
        return reject(v, ADMISSION_MISSING_FIELD, 1, "%s is missing or empty", name);
    size_t n = strlen(s);
    if (n > max)
        return reject(v, ADMISSION_TOO_LARGE, 1, "%s is %zu bytes; the limit is %zu",
                      name, n, max);
    return 0;
}

static int check_fields(const struct admission_proposal *p,
                        struct admission_verdict *v)
{
    int rc;
    if (is_blank(p->language))
        return reject(v, ADMISSION_MISSING_FIELD, 1, "language is missing");
    if (!lang_id(p->language)) {
        char *x = excerpt(p->language);
        if (!x)
            return -ENOMEM;
        rc = reject(v, ADMISSION_BAD_LANGUAGE, 1,
                    "language \"%s\" is not one of python, c, sh", x);
        free(x);
        return rc;
    }
    if ((rc = check_text(v, "goal", p->goal, ADMISSION_MAX_GOAL)) ||
        (rc = check_text(v, "tests", p->tests, ADMISSION_MAX_SOURCE)) ||
        (rc = check_text(v, "hidden_tests", p->hidden_tests, ADMISSION_MAX_SOURCE)) ||
        (rc = check_text(v, "reference", p->reference, ADMISSION_MAX_SOURCE)))
        return rc;
    if (p->timeout_ms < 1 || p->timeout_ms > ADMISSION_MAX_TIMEOUT_MS)
        return reject(v, ADMISSION_BAD_TIMEOUT, 1,
                      "timeout_ms %ld is outside 1..%ld", p->timeout_ms,
                      ADMISSION_MAX_TIMEOUT_MS);
    return 0;
}

int admission_check_fields(const struct admission_proposal *p,
                           struct admission_verdict *v)
{
    if (!v)
        return -EINVAL;
    verdict_init(v);
    if (!p)
        return -EINVAL;
    int rc = check_fields(p, v);
    if (rc)
        return rc < 0 ? rc : 0;
    v->accepted = 1;
    if (!(v->message = strdup("accepted: the fields are present and within their limits")))
        return -ENOMEM;
    return 0;
}

/* ---- C and sh as text -------------------------------------------------- */

/* A copy of C source with every comment, and with blank_strings the inside
 * of every string and character literal, replaced by spaces. Newlines
 * stay, so offsets and line numbers are the original's. NULL on OOM. */
static char *c_blank(const char *src, int blank_strings)
{
    size_t n = strlen(src);
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    memcpy(s, src, n + 1);
    enum { CODE, LINE, BLOCK, STR, CHR } st = CODE;
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        switch (st) {
        case CODE:
            if (c == '/' && src[i + 1] == '/') {
                st = LINE;
                s[i] = ' ';
            } else if (c == '/' && src[i + 1] == '*') {
                st = BLOCK;
                s[i] = s[i + 1] = ' ';
                i++;
            } else if (c == '"') {
                st = STR;
            } else if (c == '\'') {
                st = CHR;
            }
            break;
        case LINE:
            if (c == '\n')
                st = CODE;
            else
                s[i] = ' ';
            break;
        case BLOCK:
            if (c == '*' && src[i + 1] == '/') {
                s[i] = s[i + 1] = ' ';
                i++;
                st = CODE;
            } else if (c != '\n') {
                s[i] = ' ';
            }
            break;
        case STR:
        case CHR:
            if (c == '\\' && src[i + 1]) {
                if (blank_strings) {
                    s[i] = ' ';
                    if (src[i + 1] != '\n')
                        s[i + 1] = ' ';
                }
                i++;
            } else if ((st == STR && c == '"') || (st == CHR && c == '\'')) {
                st = CODE;
            } else if (c == '\n') {
                st = CODE;      /* unterminated: gcc will say so */
            } else if (blank_strings) {
                s[i] = ' ';
            }
            break;
        }
    }
    return s;
}

/* Index of the '}' matching the '{' at open, or n. */
static size_t match_brace(const char *s, size_t n, size_t open)
{
    int depth = 0;
    for (size_t i = open; i < n; i++) {
        if (s[i] == '{')
            depth++;
        else if (s[i] == '}' && --depth == 0)
            return i;
    }
    return n;
}

/* Skips balanced parentheses starting at s[i] == '('; returns the index
 * after the closing one (or n). */
static size_t skip_parens(const char *s, size_t n, size_t i)
{
    int depth = 0;
    for (; i < n; i++) {
        if (s[i] == '(')
            depth++;
        else if (s[i] == ')' && --depth == 0)
            return i + 1;
    }
    return n;
}

static int word_is(const char *s, size_t n, const char *w)
{
    return strlen(w) == n && memcmp(s, w, n) == 0;
}

/* The body of a stubbed C function whose declaration (from after the
 * previous declaration to the parameters' ')') is d[0..n): a zero of the
 * return type. The return type is what precedes the function's name,
 * without storage classes and attributes. When it cannot be told (a
 * function returning a function pointer, implicit int) the body is
 * `return 0;`, which fits every scalar and pointer. */
static void c_stub_body(struct sbuf *b, const char *d, size_t n)
{
    static const char *const drop[] = {"static", "inline", "__inline",
        "__inline__", "extern", "_Noreturn", "register", "_Thread_local",
        "__extension__", NULL};
    size_t name = n;
    for (size_t i = 0; i < n; i++) {
        if (d[i] != '(')
            continue;
        size_t e = i;
        while (e > 0 && isspace((unsigned char)d[e - 1]))
            e--;
        size_t st = e;
        while (st > 0 && is_ident(d[st - 1]))
            st--;
        if (st == e)
            break;              /* "(" after no name: a declarator in parens */
        if (word_is(d + st, e - st, "__attribute__") ||
            word_is(d + st, e - st, "__attribute")) {
            i = skip_parens(d, n, i) - 1;
            continue;
        }
        name = st;
        break;
    }
    struct sbuf rt = {0};
    for (size_t i = 0; i < name && i < n; ) {
        if (isspace((unsigned char)d[i])) {
            i++;
            continue;
        }
        size_t st = i;
        if (is_ident(d[i])) {
            while (i < name && is_ident(d[i]))
                i++;
        } else {
            i++;
        }
        int dropped = 0;
        for (size_t k = 0; drop[k]; k++)
            if (word_is(d + st, i - st, drop[k]))
                dropped = 1;
        if (word_is(d + st, i - st, "__attribute__") ||
            word_is(d + st, i - st, "__attribute")) {
            while (i < name && isspace((unsigned char)d[i]))
                i++;
            if (i < name && d[i] == '(')
                i = skip_parens(d, name, i);
            dropped = 1;
        }
        if (dropped)
            continue;
        if (rt.len)
            sb_add(&rt, " ");
        sb_addn(&rt, d + st, i - st);
    }
    char *type = sb_take(&rt);
    if (!type) {
        b->oom = 1;
        free(b->p);
        b->p = NULL;
        return;
    }
    if (name == n || !*type || strpbrk(type, "()[]{}=;"))
        sb_add(b, "{ return 0; }");
    else if (strcmp(type, "void") == 0)
        sb_add(b, "{ }");
    else {
        sb_add(b, "{ static ");
        sb_add(b, type);
        sb_add(b, " bt__stub_zero; return bt__stub_zero; }");
    }
    free(type);
}

/* C stub: every function definition at file scope keeps its declaration
 * and gets a body returning zero. A definition is a '{' at file scope whose
 * previous token is ')'; preprocessor lines are skipped. */
static char *c_stub(const char *src)
{
    char *s = c_blank(src, 1);
    if (!s)
        return NULL;
    struct sbuf b = {0};
    size_t n = strlen(src), copied = 0, decl = 0, i = 0;
    int depth = 0, line_start = 1;
    while (i < n) {
        char c = s[i];
        if (c == '\n') {
            line_start = 1;
            i++;
            continue;
        }
        if (line_start && c == '#') {
            while (i < n && !(s[i] == '\n' && s[i - 1] != '\\'))
                i++;
            if (depth == 0)
                decl = i;
            continue;
        }
        if (!isspace((unsigned char)c))
            line_start = 0;
        if (c == '{' && depth == 0) {
            size_t j = i;
            while (j > decl && isspace((unsigned char)s[j - 1]))
                j--;
            if (j > decl && s[j - 1] == ')') {
                size_t end = match_brace(s, n, i);
                sb_addn(&b, src + copied, i - copied);
                c_stub_body(&b, s + decl, j - decl);
                copied = i = end < n ? end + 1 : n;
                decl = i;
                continue;
            }
        }
        if (c == '{') {
            depth++;
        } else if (c == '}') {
            if (depth > 0)
                depth--;
            if (depth == 0)
                decl = i + 1;
        } else if (c == ';' && depth == 0) {
            decl = i + 1;
        }
        i++;
    }
    sb_addn(&b, src + copied, n - copied);
    free(s);
    return sb_take(&b);
}

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
    struct sbuf *out;           /* the stub being built                   */
    struct sbuf seen;           /* "\nNAME\n" for each name already done  */
};

static void sh_stub_one(const char *name, size_t len, void *arg)
{
    struct sh_stub_ctx *c = arg;
    struct sbuf key = {0};
    sb_add(&key, "\n");
    sb_addn(&key, name, len);
    sb_add(&key, "\n");
    char *k = sb_take(&key);
    if (!k) {
        c->out->oom = 1;
        return;
    }
    if (c->seen.p && !strstr(c->seen.p, k)) {
        sb_addn(&c->seen, k + 1, len + 1);      /* seen starts with "\n" */
        sb_add(c->out, "function ");
        sb_addn(c->out, name, len);
        sb_add(c->out, " { return 1; }\n");
    }
    free(k);
}

/* sh stub: the reference as it is, then every function it defines
 * redefined to fail. The code is sourced, so the later definitions win,
 * whatever the bodies hold (here-documents, nested braces). */
static char *sh_stub(const char *src)
{
    char *s = sh_blank(src);
    if (!s)
        return NULL;
    struct sbuf b = {0};
    struct sh_stub_ctx ctx = {.out = &b};
    sb_add(&b, src);
    if (b.len && b.p[b.len - 1] != '\n')
        sb_add(&b, "\n");
    sb_add(&b, "# admission stub: every function the reference defines fails\n");
    sb_add(&ctx.seen, "\n");
    sh_functions(s, sh_stub_one, &ctx);
    free(s);
    free(ctx.seen.p);
    if (ctx.seen.oom) {
        free(b.p);
        return NULL;
    }
    return sb_take(&b);
}

int admission_stub_source(const char *language, const char *reference,
                          char **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!reference)
        return -EINVAL;
    int l = lang_id(language);
    if (l == 'c')
        *out = c_stub(reference);
    else if (l == 's')
        *out = sh_stub(reference);
    else
        return -EINVAL;
    return *out ? 0 : -ENOMEM;
}

/* ---- rule 3 for C and sh ------------------------------------------------ */

struct banned {
    const char *word;
    const char *kind;           /* what the task would depend on          */
};

static const struct banned c_calls[] = {
    {"system", "processes"}, {"popen", "processes"}, {"fork", "processes"},
    {"vfork", "processes"}, {"execl", "processes"}, {"execlp", "processes"},
    {"execle", "processes"}, {"execv", "processes"}, {"execvp", "processes"},
    {"execvpe", "processes"}, {"execve", "processes"}, {"fexecve", "processes"},
    {"posix_spawn", "processes"}, {"posix_spawnp", "processes"},
    {"pthread_create", "threads"}, {"thrd_create", "threads"},
    {"socket", "the network"},
    {"time", "the clock"}, {"clock", "the clock"}, {"gettimeofday", "the clock"},
    {"clock_gettime", "the clock"}, {"ftime", "the clock"},
    {"getrandom", "unseeded randomness"}, {"getentropy", "unseeded randomness"},
    {"arc4random", "unseeded randomness"},
    {NULL, NULL}
};

/* random numbers that are fine after a constant seed */
static const char *const c_rand[] = {"rand", "random", "drand48", "lrand48",
                                     "mrand48", NULL};
static const char *const c_seed[] = {"srand", "srandom", "srand48", NULL};

static const struct banned c_includes[] = {
    {"sys/socket.h", "the network"}, {"netdb.h", "the network"},
    {"sys/un.h", "the network"}, {"ifaddrs.h", "the network"},
    {"netinet/", "the network"}, {"arpa/", "the network"},
    {"pthread.h", "threads"}, {"threads.h", "threads"},
    {"spawn.h", "processes"},
    {NULL, NULL}
};

static const struct banned sh_words[] = {
    {"curl", "the network"}, {"wget", "the network"}, {"nc", "the network"},
    {"ncat", "the network"}, {"netcat", "the network"}, {"socat", "the network"},
    {"ssh", "the network"}, {"scp", "the network"}, {"sftp", "the network"},
    {"telnet", "the network"}, {"ftp", "the network"}, {"rsync", "the network"},
    {NULL, NULL}
};

static const struct banned sh_strings[] = {
    {"/dev/tcp/", "the network"}, {"/dev/udp/", "the network"},
    {"/dev/urandom", "unseeded randomness"}, {"/dev/random", "unseeded randomness"},
    {"SRANDOM", "unseeded randomness"}, {"EPOCHSECONDS", "the clock"},
    {"EPOCHREALTIME", "the clock"},
    {NULL, NULL}
};

static int in_list(const char *const *list, const char *w, size_t n)
{
    for (; *list; list++)
        if (word_is(w, n, *list))
            return 1;
    return 0;
}

static size_t skip_space(const char *s, size_t i)
{
    while (s[i] && isspace((unsigned char)s[i]))
        i++;
    return i;
}

/* 1 when the blanked C text s calls a seed function with an integer
 * literal, e.g. srand(42). */
static int c_seeded(const char *s)
{
    for (size_t i = 0; s[i]; i++) {
        if (!is_ident(s[i]) || (i > 0 && is_ident(s[i - 1])))
            continue;
        size_t st = i;
        while (is_ident(s[i]))
            i++;
        int seed = in_list(c_seed, s + st, i - st);
        size_t k = skip_space(s, i);
        i--;
        if (!seed || s[k] != '(')
            continue;
        k = skip_space(s, k + 1);
        if (!isdigit((unsigned char)s[k]))
            continue;
        while (is_ident(s[k]))
            k++;
        k = skip_space(s, k);
        if (s[k] == ')')
            return 1;
    }
    return 0;
}

/* Sets *what to "line N: ..." for the first banned construct in C source.
 * 1 found, 0 clean, -ENOMEM. */
static int c_banned(const char *src, char **what)
{
    char *s = c_blank(src, 1), *inc = c_blank(src, 0);
    int rc = -ENOMEM;
    size_t best = (size_t)-1;
    char *desc = NULL;
    if (!s || !inc)
        goto out;
    int seeded = c_seeded(s);
    for (size_t i = 0; s[i]; i++) {
        if (!is_ident(s[i]) || (i > 0 && is_ident(s[i - 1])))
            continue;
        size_t st = i;
        while (is_ident(s[i]))
            i++;
        size_t len = i - st, k = skip_space(s, i);
        i--;
        if (s[k] != '(')
            continue;
        size_t p = st;
        while (p > 0 && (s[p - 1] == ' ' || s[p - 1] == '\t'))
            p--;
        if (p > 0 && (s[p - 1] == '.' || (s[p - 1] == '>' && p > 1 && s[p - 2] == '-')))
            continue;           /* a member, not the library's function */
        const char *kind = NULL;
        for (const struct banned *b = c_calls; b->word; b++)
            if (word_is(s + st, len, b->word))
                kind = b->kind;
        if (!kind && !seeded && in_list(c_rand, s + st, len))
            kind = "randomness without srand(<constant>)";
        if (kind) {
            best = st;
            if (asprintf(&desc, "line %d: calls %.*s() (%s)", line_of(src, st),
                         (int)len, s + st, kind) < 0)
                desc = NULL;
            break;
        }
    }
    for (size_t i = 0; inc[i] && i < best; ) {
        size_t k = i;
        while (inc[k] == ' ' || inc[k] == '\t')
            k++;
        if (inc[k] == '#') {
            k++;
            while (inc[k] == ' ' || inc[k] == '\t')
                k++;
            if (strncmp(inc + k, "include", 7) == 0) {
                k = skip_space(inc, k + 7);
                if (inc[k] == '<' || inc[k] == '"') {
                    size_t ps = ++k;
                    while (inc[k] && inc[k] != '>' && inc[k] != '"' && inc[k] != '\n')
                        k++;
                    for (const struct banned *b = c_includes; b->word; b++) {
                        size_t wl = strlen(b->word);
                        int prefix = b->word[wl - 1] == '/';
                        if ((prefix && k - ps > wl && strncmp(inc + ps, b->word, wl) == 0) ||
                            word_is(inc + ps, k - ps, b->word)) {
                            free(desc);
                            best = i;
                            if (asprintf(&desc, "line %d: includes <%.*s> (%s)",
                                         line_of(src, i), (int)(k - ps), inc + ps,
                                         b->kind) < 0)
                                desc = NULL;
                            break;
                        }
                    }
                    if (best == i)
                        break;
                }
            }
        }
        const char *nl = strchr(inc + i, '\n');
        if (!nl)
            break;
        i = (size_t)(nl - inc) + 1;
    }
    if (best == (size_t)-1) {
        rc = 0;
    } else if (desc) {
        *what = desc;
        desc = NULL;
        rc = 1;
    }
out:
    free(desc);
    free(s);
    free(inc);
    return rc;
}

/* The same for bash source. */
static int sh_banned(const char *src, char **what)
{
    char *s = sh_blank(src);
    if (!s)
        return -ENOMEM;
    size_t best = (size_t)-1;
    const char *kind = NULL;
    char *word = NULL;
    for (const struct banned *b = sh_strings; b->word; b++) {
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
        for (const struct banned *b = sh_words; !k && b->word; b++)
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

int admission_find_banned(const char *language, const char *source,
                          char **what)
{
    char *dummy = NULL, **w = what ? what : &dummy;
    *w = NULL;
    if (!source)
        return -EINVAL;
    int l = lang_id(language), rc;
    if (l == 'c')
        rc = c_banned(source, w);
    else if (l == 's')
        rc = sh_banned(source, w);
    else
        return -EINVAL;
    free(dummy);
    return rc;
}

/* ---- rule 2: counting tests of C and sh --------------------------------- */

/* Counts "void test_NAME ( [void] ) {" definitions in blanked C text, as
 * the harness does (a name counted once). -ENOMEM or the count. */
static int c_count_tests(const char *src)
{
    char *s = c_blank(src, 1);
    if (!s)
        return -ENOMEM;
    struct sbuf seen = {0};
    int count = 0;
    sb_add(&seen, "\n");
    for (size_t i = 0; s[i]; i++) {
        if ((i > 0 && is_ident(s[i - 1])) || strncmp(s + i, "void", 4) != 0 ||
            !isspace((unsigned char)s[i + 4]))
            continue;
        size_t k = skip_space(s, i + 4);
        if (strncmp(s + k, "test_", 5) != 0)
            continue;
        size_t ns = k;
        while (is_ident(s[k]))
            k++;
        size_t nl = k - ns;
        k = skip_space(s, k);
        if (s[k] != '(')
            continue;
        k = skip_space(s, k + 1);
        if (strncmp(s + k, "void", 4) == 0 && !is_ident(s[k + 4]))
            k = skip_space(s, k + 4);
        if (s[k] != ')')
            continue;
        k = skip_space(s, k + 1);
        if (s[k] != '{')
            continue;
        struct sbuf key = {0};
        sb_add(&key, "\n");
        sb_addn(&key, s + ns, nl);
        sb_add(&key, "\n");
        char *kk = sb_take(&key);
        if (!kk || !seen.p) {
            free(kk);
            count = -ENOMEM;
            break;
        }
        if (!strstr(seen.p, kk)) {
            sb_addn(&seen, kk + 1, nl + 1);
            count++;
        }
        free(kk);
    }
    if (seen.oom)
        count = -ENOMEM;
    free(seen.p);
    free(s);
    return count;
}

/* Counts test functions in bash tests the way the harness does: lines
 * "function test_X" or "test_X()", white space before, a name once. */
static int sh_count_tests(const char *src)
{
    struct sbuf seen = {0};
    int count = 0;
    sb_add(&seen, "\n");
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
                struct sbuf key = {0};
                sb_add(&key, "\n");
                sb_addn(&key, p, (size_t)(e - p));
                sb_add(&key, "\n");
                char *k = sb_take(&key);
                if (!k || !seen.p) {
                    free(k);
                    count = -ENOMEM;
                    break;
                }
                if (!strstr(seen.p, k)) {
                    sb_addn(&seen, k + 1, (size_t)(e - p) + 1);
                    count++;
                }
                free(k);
            }
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    if (seen.oom)
        count = -ENOMEM;
    free(seen.p);
    return count;
}

/* ---- sandbox runs ------------------------------------------------------- */

static const char *const suite_field[2] = {"tests", "hidden_tests"};
static const char *const suite_label[2] = {"visible", "hidden"};

/* One exec_run. 0 when the code ran (whatever it did); a negative errno,
 * with the verdict's message saying why, when the sandbox did not work.
 * *r is the caller's to free either way. */
static int run(struct exec *ex, struct admission_verdict *v, const char *lang,
               const char *code, const struct exec_file *files, size_t nfiles,
               const char *tests, const struct exec_limits *lim,
               struct exec_result *r)
{
    struct exec_request req = {.lang = lang, .code = code, .files = files,
                               .nfiles = nfiles, .tests = tests, .limits = lim};
    int rc = exec_run(ex, &req, r);
    v->runs++;
    if (rc < 0)
        return internal(v, rc == -ENOMEM ? -ENOMEM : -EIO,
                        "the sandbox could not run the %s code: %s", lang,
                        strerror(-rc));
    if (r->outcome == EXEC_SANDBOX_ERROR) {
        char *x = excerpt(r->err);
        rc = internal(v, -EIO, "sandbox_error: %s", x ? x : "");
        free(x);
        return rc;
    }
    return 0;
}

static void check_limits(struct exec_limits *lim)
{
    memset(lim, 0, sizeof *lim);
    lim->timeout_ms = CHECK_TIMEOUT_MS;
    lim->cpu_s = CHECK_TIMEOUT_MS / 1000;
    lim->memory_mb = CHECK_MEMORY_MB;
    lim->output_kb = CHECK_OUTPUT_KB;
}

/* Rules 2 and 3 for Python through the sandboxed checker; *stub gets the
 * stub source. 0 holds, 1 rejected, negative errno. */
static int python_static(struct exec *ex, const struct admission_proposal *p,
                         struct admission_verdict *v, char **stub)
{
    struct exec_file files[3] = {
        {"in/reference.py", p->reference, strlen(p->reference)},
        {"in/tests.py", p->tests, strlen(p->tests)},
        {"in/hidden_tests.py", p->hidden_tests, strlen(p->hidden_tests)},
    };
    struct exec_limits lim;
    check_limits(&lim);
    struct exec_result r;
    cJSON *root = NULL;
    int rc = run(ex, v, "python", admission_python_checker, files, 3, NULL,
                 &lim, &r);
    if (rc < 0)
        goto out;
    if (r.outcome != EXEC_OK || r.out_truncated) {
        char *x = first_error_line(r.err);
        rc = internal(v, r.outcome != EXEC_OK ? -EIO : -EPROTO,
                      "the Python checker ended %s%s: %s",
                      exec_outcome_name(r.outcome),
                      r.out_truncated ? " with its output cut" : "", x ? x : "");
        free(x);
        goto out;
    }
    root = cJSON_Parse(r.out);
    const char *names[3] = {"reference", "tests", "hidden_tests"};
    cJSON *item[3];
    for (int i = 0; i < 3; i++) {
        item[i] = cJSON_GetObjectItemCaseSensitive(root, names[i]);
        if (!cJSON_IsObject(item[i]) ||
            !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(item[i], "tests"))) {
            rc = internal(v, -EPROTO, "the Python checker's answer is unreadable");
            goto out;
        }
    }
    rc = 0;
    for (int i = 0; i < 3 && !rc; i++) {
        const char *e = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item[i], "error"));
        if (e) {
            char *x = excerpt(e);
            rc = x ? reject(v, ADMISSION_SYNTAX_ERROR, 2, "%s does not compile: %s",
                            names[i], x) : -ENOMEM;
            free(x);
        }
    }
    if (rc)
        goto out;
    v->visible_tests = (int)cJSON_GetObjectItemCaseSensitive(item[1], "tests")->valuedouble;
    v->hidden_tests = (int)cJSON_GetObjectItemCaseSensitive(item[2], "tests")->valuedouble;
    for (int i = 0; i < 2 && !rc; i++)
        if ((i == 0 ? v->visible_tests : v->hidden_tests) < 1)
            rc = reject(v, ADMISSION_NO_TESTS, 2,
                        "%s holds no test: write top-level asserts or "
                        "`def test_name():` functions", suite_field[i]);
    for (int i = 0; i < 3 && !rc; i++) {
        const char *b = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item[i], "banned"));
        if (b) {
            char *x = excerpt(b);
            rc = x ? reject(v, ADMISSION_BANNED, 3, "%s %s", names[i], x) : -ENOMEM;
            free(x);
        }
    }
    if (rc)
        goto out;
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "stub"));
    if (!s) {
        const char *why = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "stub_error"));
        rc = internal(v, -EPROTO, "the Python checker built no stub: %s", why ? why : "?");
        goto out;
    }
    if (!(*stub = strdup(s)))
        rc = -ENOMEM;
out:
    cJSON_Delete(root);
    exec_result_free(&r);
    return rc;
}

/* The shell script that checks each source parses: one line per source,
 * "NAME ok" or "NAME fail MESSAGE" (the compiler's first error line). */
static const char check_script_head[] =
    "chk() {\n"
    "    n=$1; shift\n"
    "    if \"$@\" >/dev/null 2>_bt_err; then\n"
    "        printf '%s ok\\n' \"$n\"\n"
    "    else\n"
    "        m=$(grep -m1 -i 'error' _bt_err || head -n1 _bt_err)\n"
    "        printf '%s fail %s\\n' \"$n\" \"$(printf '%s' \"$m\" | tr '\\n\\r' '  ')\"\n"
    "    fi\n"
    "}\n";

/* The translation unit the C harness compiles, for the tests in file. */
static char *c_unit(const char *tests_file)
{
    char *u = NULL;
    if (asprintf(&u, "#define main bt_solution_main\n#include \"reference.c\"\n"
                 "#undef main\n#include \"%s\"\n", tests_file) < 0)
        return NULL;
    return u;
}

/* Rules 2 and 3 for C and sh: gcc -fsyntax-only or bash -n in the
 * sandbox, then counting and scanning here. 0, 1 rejected, or negative. */
static int script_static(struct exec *ex, const struct admission_proposal *p,
                         struct admission_verdict *v, int lang)
{
    const char *srcs[3] = {p->reference, p->tests, p->hidden_tests};
    const char *names[3] = {"reference", "tests", "hidden_tests"};
    char *unit_t = NULL, *unit_h = NULL, *script = NULL;
    struct exec_result r;
    memset(&r, 0, sizeof r);
    int rc = -ENOMEM;
    struct exec_file files[5];
    size_t nfiles = 3;
    struct sbuf sb = {0};
    sb_add(&sb, check_script_head);
    if (lang == 'c') {
        if (!(unit_t = c_unit("tests.c")) || !(unit_h = c_unit("hidden_tests.c")))
            goto out;
        const char *fn[3] = {"reference.c", "tests.c", "hidden_tests.c"};
        for (int i = 0; i < 3; i++)
            files[i] = (struct exec_file){fn[i], srcs[i], strlen(srcs[i])};
        files[3] = (struct exec_file){"_bt_unit_tests.c", unit_t, strlen(unit_t)};
        files[4] = (struct exec_file){"_bt_unit_hidden_tests.c", unit_h, strlen(unit_h)};
        nfiles = 5;
        sb_add(&sb, "chk reference gcc -std=gnu11 -fsyntax-only reference.c\n"
                    "chk tests gcc -std=gnu11 -fsyntax-only _bt_unit_tests.c\n"
                    "chk hidden_tests gcc -std=gnu11 -fsyntax-only _bt_unit_hidden_tests.c\n");
    } else {
        const char *fn[3] = {"reference.sh", "tests.sh", "hidden_tests.sh"};
        for (int i = 0; i < 3; i++)
            files[i] = (struct exec_file){fn[i], srcs[i], strlen(srcs[i])};
        sb_add(&sb, "chk reference bash -n reference.sh\n"
                    "chk tests bash -n tests.sh\n"
                    "chk hidden_tests bash -n hidden_tests.sh\n");
    }
    sb_add(&sb, "exit 0\n");
    if (!(script = sb_take(&sb)))
        goto out;
    struct exec_limits lim;
    check_limits(&lim);
    lim.procs = 32;
    if ((rc = run(ex, v, "sh", script, files, nfiles, NULL, &lim, &r)) < 0)
        goto out;
    if (r.outcome != EXEC_OK) {
        char *x = excerpt(r.err);
        rc = internal(v, -EIO, "the %s check ended %s: %s",
                      lang == 'c' ? "compiler" : "bash -n",
                      exec_outcome_name(r.outcome), x ? x : "");
        free(x);
        goto out;
    }
    rc = 0;
    for (int i = 0; i < 3 && !rc; i++) {
        const char *line = NULL;
        size_t nl = strlen(names[i]);
        for (const char *q = r.out; q && *q; ) {
            if (strncmp(q, names[i], nl) == 0 && q[nl] == ' ') {
                line = q + nl + 1;
                break;
            }
            q = strchr(q, '\n');
            if (q)
                q++;
        }
        if (!line) {
            rc = internal(v, -EPROTO, "the %s check printed no verdict for %s",
                          lang == 'c' ? "compiler" : "bash -n", names[i]);
        } else if (strncmp(line, "fail", 4) == 0) {
            const char *e = strchr(line, '\n');
            char *one = strndup(line + 4, e ? (size_t)(e - line - 4) : strlen(line + 4));
            char *x = one ? excerpt(one) : NULL;
            if (!x)
                rc = -ENOMEM;
            else if (lang == 'c' && i > 0)
                rc = reject(v, ADMISSION_SYNTAX_ERROR, 2,
                            "%s do not compile with the reference: %s", names[i], x);
            else
                rc = reject(v, ADMISSION_SYNTAX_ERROR, 2, "%s does not %s: %s",
                            names[i], lang == 'c' ? "compile" : "parse", x);
            free(one);
            free(x);
        }
    }
    if (rc)
        goto out;
    for (int i = 0; i < 2 && !rc; i++) {
        int n = lang == 'c' ? c_count_tests(srcs[i + 1]) : sh_count_tests(srcs[i + 1]);
        if (n < 0) {
            rc = n;
            break;
        }
        *(i == 0 ? &v->visible_tests : &v->hidden_tests) = n;
        if (n == 0)
            rc = reject(v, ADMISSION_NO_TESTS, 2, "%s holds no test: write %s",
                        suite_field[i], lang == 'c' ? "`void test_name(void) { ... }` functions"
                                                    : "`test_name() { ... }` functions");
    }
    for (int i = 0; i < 3 && !rc; i++) {
        char *what = NULL;
        int b = admission_find_banned(p->language, srcs[i], &what);
        if (b < 0)
            rc = b;
        else if (b > 0)
            rc = reject(v, ADMISSION_BANNED, 3, "%s %s", names[i], what);
        free(what);
    }
out:
    free(sb.p);
    free(script);
    free(unit_t);
    free(unit_h);
    exec_result_free(&r);
    return rc;
}

/* What went wrong in a test run, for a message: the first failure, or the
 * compiler's first error. malloc'd excerpt or NULL (OOM). */
static char *failure_text(const struct exec_result *r)
{
    if (r->outcome == EXEC_COMPILE_ERROR) {
        char *e = first_error_line(r->err), *t = NULL;
        if (e && asprintf(&t, "compile error: %s", e) < 0)
            t = NULL;
        free(e);
        return t;
    }
    if (r->first_failure)
        return excerpt(r->first_failure);
    return excerpt(exec_outcome_name(r->outcome));
}

/* Rule 4 (and the timeout half of 6) for one suite: two runs of the
 * reference. 0 holds, 1 rejected, negative errno. */
static int reference_suite(struct exec *ex, const struct admission_proposal *p,
                           struct admission_verdict *v,
                           const struct exec_limits *lim, int suite)
{
    const char *tests = suite == 0 ? p->tests : p->hidden_tests;
    struct exec_result r[2];
    memset(r, 0, sizeof r);
    char *f0 = NULL, *f1 = NULL;
    int rc = 0;
    for (int k = 0; k < 2 && !rc; k++) {
        if ((rc = run(ex, v, p->language, p->reference, NULL, 0, tests, lim, &r[k])) < 0)
            goto out;
        if (r[k].wall_ms > v->ref_wall_ms)
            v->ref_wall_ms = r[k].wall_ms;
        if (r[k].outcome == EXEC_TIMEOUT)
            rc = reject(v, ADMISSION_TOO_SLOW, 6,
                        "the reference hit the %ld ms timeout on the %s tests "
                        "(%d of %d passed before)", lim->timeout_ms,
                        suite_label[suite], r[k].tests_passed, r[k].tests_total);
    }
    if (rc)
        goto out;
    *(suite == 0 ? &v->ref_visible_passed : &v->ref_hidden_passed) = r[0].tests_passed;
    if (!(f0 = failure_text(&r[0])) || !(f1 = failure_text(&r[1]))) {
        rc = -ENOMEM;
        goto out;
    }
    if (r[0].outcome != r[1].outcome || r[0].tests_passed != r[1].tests_passed ||
        r[0].tests_total != r[1].tests_total)
        rc = reject(v, ADMISSION_FLAKY, 4,
                    "two runs of the reference on the %s tests disagree: "
                    "%d of %d passed (%s), then %d of %d (%s)", suite_label[suite],
                    r[0].tests_passed, r[0].tests_total,
                    r[0].outcome == EXEC_OK ? "ok" : f0,
                    r[1].tests_passed, r[1].tests_total,
                    r[1].outcome == EXEC_OK ? "ok" : f1);
    else if (r[0].outcome != EXEC_OK)
        rc = reject(v, ADMISSION_REFERENCE_FAILS, 4,
                    "the reference passes %d of %d %s tests; first failure: %s",
                    r[0].tests_passed, r[0].tests_total, suite_label[suite], f0);
out:
    free(f0);
    free(f1);
    exec_result_free(&r[0]);
    exec_result_free(&r[1]);
    return rc;
}

/* Rule 5 for one solution (the stub, or the empty one) on both suites:
 * it must fail a test of each. 0 holds, 1 rejected, negative errno. */
static int must_fail(struct exec *ex, const struct admission_proposal *p,
                     struct admission_verdict *v, const struct exec_limits *lim,
                     const char *code, int empty)
{
    static const char *const what[2][3] = {
        {"a stub that raises NotImplementedError", "a stub whose functions return 0",
         "a stub whose functions return 1"},
        {"the empty solution (`pass`)", "the empty solution (an empty file)",
         "the empty solution (an empty file)"},
    };
    int l = lang_id(p->language);
    const char *who = what[empty][l == 'p' ? 0 : l == 'c' ? 1 : 2];
    for (int suite = 0; suite < 2; suite++) {
        struct exec_result r;
        int rc = run(ex, v, p->language, code, NULL, 0,
                     suite == 0 ? p->tests : p->hidden_tests, lim, &r);
        if (rc < 0) {
            exec_result_free(&r);
            return rc;
        }
        int *slot = empty ? (suite == 0 ? &v->empty_visible_passed : &v->empty_hidden_passed)
                          : (suite == 0 ? &v->stub_visible_passed : &v->stub_hidden_passed);
        *slot = r.tests_passed;
        if (!empty && l == 'c' && r.outcome == EXEC_COMPILE_ERROR) {
            char *x = first_error_line(r.err);
            rc = x ? reject(v, ADMISSION_STUB_UNBUILDABLE, 5,
                            "the stub built from the reference (every function "
                            "returning 0) does not compile with the %s tests: %s; "
                            "write plain function definitions",
                            suite_label[suite], x) : -ENOMEM;
            free(x);
        } else if (r.tests_total > 0 && r.tests_passed == r.tests_total) {
            rc = reject(v, empty ? ADMISSION_EMPTY_PASSES : ADMISSION_STUB_PASSES, 5,
                        "%s passes all %d %s tests: they do not check the "
                        "solution's results", who, r.tests_total, suite_label[suite]);
        }
        exec_result_free(&r);
        if (rc)
            return rc;
    }
    return 0;
}

int admission_check(struct exec *ex, const struct admission_proposal *p,
                    struct admission_verdict *v)
{
    if (!v)
        return -EINVAL;
    verdict_init(v);
    if (!ex || !p)
        return -EINVAL;
    double t0 = mono_ms();
    char *stub = NULL;
    int rc = check_fields(p, v);
    if (rc)
        goto out;

    int l = lang_id(p->language);
    struct exec_limits lim;
    memset(&lim, 0, sizeof lim);
    long max = exec_config(ex)->max.timeout_ms;
    lim.timeout_ms = p->timeout_ms < max ? p->timeout_ms : max;
    v->timeout_ms = lim.timeout_ms;

    /* rules 2 and 3 */
    if (l == 'p')
        rc = python_static(ex, p, v, &stub);
    else
        rc = script_static(ex, p, v, l);
    if (rc)
        goto out;

    /* rule 4 */
    for (int suite = 0; suite < 2 && !rc; suite++)
        rc = reference_suite(ex, p, v, &lim, suite);
    if (rc)
        goto out;

    /* rule 5 */
    if (l != 'p' && (rc = admission_stub_source(p->language, p->reference, &stub)) < 0)
        goto out;
    if ((rc = must_fail(ex, p, v, &lim, stub, 0)) ||
        (rc = must_fail(ex, p, v, &lim, l == 'p' ? "pass\n" : "", 1)))
        goto out;

    /* rule 6 */
    if (v->ref_wall_ms * 2.0 >= (double)lim.timeout_ms) {
        rc = reject(v, ADMISSION_TOO_SLOW, 6,
                    "the reference's slowest run took %.0f ms of the %ld ms "
                    "timeout; it must stay under half (%ld ms)", v->ref_wall_ms,
                    lim.timeout_ms, lim.timeout_ms / 2);
        goto out;
    }

    v->accepted = 1;
    v->reason = ADMISSION_ACCEPTED;
    v->rule = 0;
    free(v->message);
    if (asprintf(&v->message, "accepted: %d visible and %d hidden tests; the "
                 "reference passes all, twice, slowest run %.0f ms of %ld ms; the "
                 "stub passes %d/%d visible and %d/%d hidden, the empty solution "
                 "%d/%d and %d/%d", v->visible_tests, v->hidden_tests,
                 v->ref_wall_ms, lim.timeout_ms,
                 v->stub_visible_passed, v->visible_tests,
                 v->stub_hidden_passed, v->hidden_tests,
                 v->empty_visible_passed, v->visible_tests,
                 v->empty_hidden_passed, v->hidden_tests) < 0) {
        v->message = NULL;
        rc = -ENOMEM;
    }
out:
    free(stub);
    v->total_ms = mono_ms() - t0;
    return rc < 0 ? rc : 0;
}
