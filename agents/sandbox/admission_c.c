/* admission_c.c -- the admission gate's reading of C source (admission_scan.h).
 *
 * The Python checker judges Python from its syntax tree; for C there is no
 * parser at hand that runs outside the sandbox, so C is read as text with
 * comments and string literals blanked first (offsets and line numbers
 * stay the original's). That is enough for what the gate asks: which
 * functions are defined (the stub of rule 5), which calls and includes
 * appear (rule 3), which tests the harness will find (rule 2). Anything
 * cleverer than that is left to gcc, in the sandbox.
 */
#include "admission_scan.h"
#include "exec_harness.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The body of a stubbed C function whose declaration (from after the
 * previous declaration to the parameters' ')') is d[0..n): a zero of the
 * return type. The return type is what precedes the function's name,
 * without storage classes and attributes. When it cannot be told (a
 * function returning a function pointer, implicit int) the body is
 * `return 0;`, which fits every scalar and pointer. */
static void c_stub_body(struct buf *b, const char *d, size_t n)
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
    struct buf rt = {0};
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
            buf_adds(&rt, " ");
        buf_add(&rt, d + st, i - st);
    }
    char *type = buf_take(&rt);
    if (!type) {
        scan_fail(b);
        return;
    }
    if (name == n || !*type || strpbrk(type, "()[]{}=;"))
        buf_adds(b, "{ return 0; }");
    else if (strcmp(type, "void") == 0)
        buf_adds(b, "{ }");
    else {
        buf_adds(b, "{ static ");
        buf_adds(b, type);
        buf_adds(b, " bt__stub_zero; return bt__stub_zero; }");
    }
    free(type);
}

/* C stub: every function definition at file scope keeps its declaration
 * and gets a body returning zero. A definition is a '{' at file scope whose
 * previous token is ')'; preprocessor lines are skipped. */
char *admission_c_stub(const char *src)
{
    char *s = c_blank(src, 1);
    if (!s)
        return NULL;
    struct buf b = {0};
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
                buf_add(&b, src + copied, i - copied);
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
    buf_add(&b, src + copied, n - copied);
    free(s);
    return buf_take(&b);
}

static const struct scan_banned c_calls[] = {
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

static const struct scan_banned c_includes[] = {
    {"sys/socket.h", "the network"}, {"netdb.h", "the network"},
    {"sys/un.h", "the network"}, {"ifaddrs.h", "the network"},
    {"netinet/", "the network"}, {"arpa/", "the network"},
    {"pthread.h", "threads"}, {"threads.h", "threads"},
    {"spawn.h", "processes"},
    {NULL, NULL}
};

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
int admission_c_banned(const char *src, char **what)
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
        for (const struct scan_banned *b = c_calls; b->word; b++)
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
                    for (const struct scan_banned *b = c_includes; b->word; b++) {
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

/* Counts the tests as the harness finds them (exec_harness_c_runner, the
 * one definition), in the text with comments and strings blanked, so a
 * test in a comment does not count. -ENOMEM or the count. */
int admission_c_count_tests(const char *src)
{
    char *s = c_blank(src, 1);
    if (!s)
        return -ENOMEM;
    size_t n = 0;
    char *runner = exec_harness_c_runner(s, &n);
    free(s);
    if (!runner)
        return -ENOMEM;
    free(runner);
    return n > INT_MAX ? INT_MAX : (int)n;
}
