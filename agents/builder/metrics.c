/* metrics.c -- measures source text for the elegance score (see metrics.h).
 *
 * Three small lexers share one cursor. Each knows only enough of its
 * language to tell code from strings and comments, to see the keywords that
 * branch and to follow nesting; none of them validates anything. Wrong
 * input still gives numbers, just less meaningful ones.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "agents/builder/metrics.h"

/* CPython refuses more than 100 indentation levels ("too many levels of
 * indentation"), so deeper text is not Python; past this the depth just
 * stops growing. */
#define PY_MAX_INDENT 128

/* Here-documents started on one line; more than this on a single line is
 * not seen in real scripts, and the extra bodies are then read as code. */
#define SH_MAX_HEREDOCS 8

struct scan {
    const char *s;
    size_t len;
    size_t pos;
    int code;               /* the current line holds code              */
    struct metrics m;
};

static int at(const struct scan *sc, size_t off)
{
    return sc->pos + off < sc->len ? (unsigned char)sc->s[sc->pos + off] : -1;
}

/* The current line ends (the caller has consumed or is at the '\n'). */
static void end_line(struct scan *sc)
{
    if (sc->code)
        sc->m.lines++;
    sc->code = 0;
}

static int is_word_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c >= 0x80;
}

static int word_is(const char *w, size_t n, const char *kw)
{
    return strlen(kw) == n && memcmp(w, kw, n) == 0;
}

static int word_in(const char *w, size_t n, const char *const *list)
{
    for (; *list; list++)
        if (word_is(w, n, *list))
            return 1;
    return 0;
}

static size_t scan_word(struct scan *sc)
{
    size_t start = sc->pos;

    while (sc->pos < sc->len && is_word_char(at(sc, 0)))
        sc->pos++;
    return sc->pos - start;
}

/* total_lines and longest_line need no lexing. */
static void measure_lines(struct scan *sc)
{
    size_t width = 0, i;

    for (i = 0; i < sc->len; i++) {
        unsigned char c = (unsigned char)sc->s[i];

        if (c == '\n') {
            sc->m.total_lines++;
            width = 0;
            continue;
        }
        /* A CR of a CRLF ending takes no column. */
        if (c == '\r' && i + 1 < sc->len && sc->s[i + 1] == '\n')
            continue;
        if (c < 0x80 || c >= 0xC0)
            width++;
        if (width > sc->m.longest_line)
            sc->m.longest_line = width;
    }
    if (sc->len > 0 && sc->s[sc->len - 1] != '\n')
        sc->m.total_lines++;
}

/* ---- python ------------------------------------------------------------ */

static const char *const py_branch[] = {
    "if", "elif", "for", "while", "and", "or", "except", NULL
};

struct py {
    size_t indent[PY_MAX_INDENT];   /* widths of the open blocks; [0] is 0 */
    size_t nindent;
    size_t paren;                   /* open ( [ {                          */
    int logical_start;              /* the next physical line starts a
                                       logical line                         */
};

static int py_is_prefix(const char *w, size_t n)
{
    size_t i;

    if (n == 0 || n > 2)
        return 0;
    for (i = 0; i < n; i++)
        if (!strchr("rRbBfFuU", w[i]))
            return 0;
    return 1;
}

/* Scans a string whose opening quote is at pos. With 'defer', the lines it
 * spans are not marked as code but counted into *pending, so the caller can
 * decide afterwards whether it was a docstring. */
static void py_string(struct scan *sc, int defer, size_t *pending)
{
    int q = at(sc, 0);
    int triple = at(sc, 1) == q && at(sc, 2) == q;

    sc->pos += triple ? 3 : 1;
    if (!defer)
        sc->code = 1;
    while (sc->pos < sc->len) {
        int c = at(sc, 0);

        if (c == '\\') {
            if (at(sc, 1) == '\n') {
                sc->pos++;
                c = '\n';
            } else {
                sc->pos += 2;
                continue;
            }
        }
        if (c == '\n') {
            if (!triple)
                return;         /* unterminated: Python stops here too */
            sc->pos++;
            if (defer) {
                (*pending)++;
                sc->code = 0;
            } else {
                end_line(sc);
                sc->code = 1;
            }
            continue;
        }
        sc->pos++;
        if (c == q && (!triple || (at(sc, 0) == q && at(sc, 1) == q))) {
            if (triple)
                sc->pos += 2;
            return;
        }
    }
}

/* Measures the indentation at the start of a physical line and, when the
 * line holds a statement, opens or closes blocks. Returns 1 when the line
 * holds a statement. */
static int py_indent(struct scan *sc, struct py *py)
{
    size_t width = 0;
    int c;

    for (;;) {
        c = at(sc, 0);
        if (c == ' ')
            width++;
        else if (c == '\t')
            width = (width / 8 + 1) * 8;
        else if (c == '\f')
            width = 0;
        else if (c != '\r')
            break;
        sc->pos++;
    }
    if (c == -1 || c == '\n' || c == '#')
        return 0;
    while (py->nindent > 1 && py->indent[py->nindent - 1] > width)
        py->nindent--;
    if (py->indent[py->nindent - 1] < width) {
        if (py->nindent < PY_MAX_INDENT)
            py->indent[py->nindent++] = width;
    }
    if (py->nindent - 1 > sc->m.max_depth)
        sc->m.max_depth = py->nindent - 1;
    return 1;
}

static void measure_python(struct scan *sc)
{
    struct py py = { .nindent = 1, .logical_start = 1 };
    int first = 0;              /* at the first token of a logical line */

    while (sc->pos < sc->len) {
        int c;

        if (py.logical_start) {
            py.logical_start = 0;
            first = py_indent(sc, &py);
            if (!first) {
                /* blank or comment-only: the next line starts over */
                py.logical_start = 1;
                while (sc->pos < sc->len && at(sc, 0) != '\n')
                    sc->pos++;
                if (sc->pos < sc->len) {
                    sc->pos++;
                    end_line(sc);
                }
                continue;
            }
        }
        c = at(sc, 0);
        if (c == '\n') {
            sc->pos++;
            end_line(sc);
            if (py.paren == 0)
                py.logical_start = 1;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f') {
            sc->pos++;
            continue;
        }
        if (c == '#') {
            while (sc->pos < sc->len && at(sc, 0) != '\n')
                sc->pos++;
            continue;
        }
        if (c == '\\' && (at(sc, 1) == '\n' ||
                          (at(sc, 1) == '\r' && at(sc, 2) == '\n'))) {
            /* an explicit continuation: same logical line */
            sc->pos += at(sc, 1) == '\r' ? 3 : 2;
            end_line(sc);
            continue;
        }
        if (c == '"' || c == '\'') {
            if (first) {
                size_t pending = 0;
                int d;

                py_string(sc, 1, &pending);
                while ((d = at(sc, 0)) == ' ' || d == '\t' || d == '\r')
                    sc->pos++;
                if (d == -1 || d == '\n' || d == '#') {
                    /* a docstring: its lines are comments */
                } else {
                    sc->m.lines += pending;
                    sc->code = 1;
                }
                first = 0;
            } else {
                py_string(sc, 0, NULL);
            }
            continue;
        }
        sc->code = 1;
        if (is_word_char(c)) {
            const char *w = sc->s + sc->pos;
            size_t n = scan_word(sc);
            int was_first = first;

            first = 0;
            if ((at(sc, 0) == '"' || at(sc, 0) == '\'') && py_is_prefix(w, n)) {
                py_string(sc, 0, NULL);
                continue;
            }
            if (word_in(w, n, py_branch)) {
                sc->m.complexity++;
            } else if (was_first && word_is(w, n, "case")) {
                /* 'case' is a keyword only where a match arm can start:
                 * not in "case = 1", "case.x", "case(...)" calls etc. */
                size_t p = sc->pos;
                int d;

                while (p < sc->len && (sc->s[p] == ' ' || sc->s[p] == '\t'))
                    p++;
                d = p < sc->len ? (unsigned char)sc->s[p] : -1;
                /* "case [a, b]:" and "case (x, y):" are patterns, but
                 * "case[0] = 1" and "case(x)" are a name in use */
                if ((d == '(' || d == '[') && p == sc->pos)
                    d = '=';
                if (d != -1 && d != '\n' && d != '\r' && !strchr("=.,:);", d))
                    sc->m.complexity++;
            }
            continue;
        }
        first = 0;
        if (c == '(' || c == '[' || c == '{')
            py.paren++;
        else if ((c == ')' || c == ']' || c == '}') && py.paren > 0)
            py.paren--;
        sc->pos++;
    }
    end_line(sc);
}

/* ---- c ----------------------------------------------------------------- */

static const char *const c_branch[] = { "if", "for", "while", "case", NULL };

static void c_literal(struct scan *sc)
{
    int q = at(sc, 0);

    sc->pos++;
    while (sc->pos < sc->len) {
        int c = at(sc, 0);

        if (c == '\\') {
            if (at(sc, 1) == '\n') {
                sc->pos += 2;
                end_line(sc);
                sc->code = 1;
            } else {
                sc->pos += 2;
            }
            continue;
        }
        if (c == '\n')
            return;             /* unterminated */
        sc->pos++;
        if (c == q)
            return;
    }
}

static void measure_c(struct scan *sc)
{
    size_t depth = 0;

    while (sc->pos < sc->len) {
        int c = at(sc, 0);

        if (c == '\n') {
            sc->pos++;
            end_line(sc);
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            sc->pos++;
            continue;
        }
        if (c == '/' && at(sc, 1) == '/') {
            while (sc->pos < sc->len && at(sc, 0) != '\n')
                sc->pos++;
            continue;
        }
        if (c == '/' && at(sc, 1) == '*') {
            sc->pos += 2;
            while (sc->pos < sc->len &&
                   !(at(sc, 0) == '*' && at(sc, 1) == '/')) {
                if (at(sc, 0) == '\n')
                    end_line(sc);
                sc->pos++;
            }
            sc->pos = sc->pos + 2 <= sc->len ? sc->pos + 2 : sc->len;
            continue;
        }
        if (c == '#' && !sc->code) {
            /* a directive: its name (#if, #else) is not a branch */
            sc->code = 1;
            sc->pos++;
            while (at(sc, 0) == ' ' || at(sc, 0) == '\t')
                sc->pos++;
            scan_word(sc);
            continue;
        }
        sc->code = 1;
        if (c == '"' || c == '\'') {
            c_literal(sc);
            continue;
        }
        if (is_word_char(c)) {
            const char *w = sc->s + sc->pos;
            size_t n = scan_word(sc);

            if (word_in(w, n, c_branch))
                sc->m.complexity++;
            continue;
        }
        if ((c == '&' && at(sc, 1) == '&') || (c == '|' && at(sc, 1) == '|')) {
            sc->m.complexity++;
            sc->pos += 2;
            continue;
        }
        if (c == '?')
            sc->m.complexity++;
        else if (c == '{' && ++depth > sc->m.max_depth)
            sc->m.max_depth = depth;
        else if (c == '}' && depth > 0)
            depth--;
        sc->pos++;
    }
    end_line(sc);
}

/* ---- sh ---------------------------------------------------------------- */

struct heredoc {
    const char *word;           /* the delimiter, a slice of the text     */
    size_t len;
    int strip_tabs;             /* <<- : leading tabs are ignored         */
};

struct sh {
    size_t depth;
    int cmd;                    /* the next word is in command position  */
    int after_function;         /* the last word was 'function'          */
    struct heredoc hd[SH_MAX_HEREDOCS];
    size_t nhd;
};

static int sh_meta(int c)
{
    return c == -1 || c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
           c == ';' || c == '&' || c == '|' || c == '(' || c == ')' ||
           c == '<' || c == '>' || c == '`';
}

/* Skips a quoted part of a word; newlines inside belong to the code. */
static void sh_quoted(struct scan *sc)
{
    int q = at(sc, 0);

    sc->pos++;
    while (sc->pos < sc->len) {
        int c = at(sc, 0);

        if (c == '\\' && q == '"' && at(sc, 1) != -1) {
            if (at(sc, 1) == '\n') {
                sc->pos++;
                c = '\n';
            } else {
                sc->pos += 2;
                continue;
            }
        }
        sc->pos++;
        if (c == '\n') {
            end_line(sc);
            sc->code = 1;
        } else if (c == q) {
            return;
        }
    }
}

/* Scans one word; returns 1 when it is a plain word (no quoting), the only
 * kind that can be a reserved word. */
static int sh_word(struct scan *sc)
{
    int plain = 1;

    while (!sh_meta(at(sc, 0))) {
        int c = at(sc, 0);

        if (c == '\'' || c == '"') {
            plain = 0;
            sh_quoted(sc);
        } else if (c == '\\') {
            plain = 0;
            if (at(sc, 1) == '\n')
                break;          /* a line continuation ends the word */
            sc->pos += at(sc, 1) == -1 ? 1 : 2;
        } else {
            sc->pos++;
        }
    }
    return plain;
}

/* After '<<' (and an optional '-'): remembers the delimiter word. */
static void sh_heredoc_start(struct scan *sc, struct sh *sh, int strip)
{
    const char *w;
    size_t start;

    while (at(sc, 0) == ' ' || at(sc, 0) == '\t')
        sc->pos++;
    start = sc->pos;
    sh_word(sc);
    w = sc->s + start;
    if (sc->pos == start || sh->nhd == SH_MAX_HEREDOCS)
        return;
    sh->hd[sh->nhd].word = w;
    sh->hd[sh->nhd].len = sc->pos - start;
    /* 'EOF', "EOF" and \EOF all mean EOF (and no expansion, which does
     * not matter here). */
    if (sh->hd[sh->nhd].len >= 2 && (w[0] == '\'' || w[0] == '"') &&
        w[sh->hd[sh->nhd].len - 1] == w[0]) {
        sh->hd[sh->nhd].word++;
        sh->hd[sh->nhd].len -= 2;
    } else if (w[0] == '\\') {
        sh->hd[sh->nhd].word++;
        sh->hd[sh->nhd].len--;
    }
    sh->hd[sh->nhd].strip_tabs = strip;
    sh->nhd++;
}

/* At the start of the line after a here-document's '<<': skips each body
 * up to and including its delimiter line. Body lines are the program's
 * data and count as code when not blank. */
static void sh_heredoc_bodies(struct scan *sc, struct sh *sh)
{
    size_t i;

    for (i = 0; i < sh->nhd; i++) {
        const struct heredoc *h = &sh->hd[i];

        while (sc->pos < sc->len) {
            size_t b = sc->pos, e;
            int blank = 1;

            if (h->strip_tabs)
                while (b < sc->len && sc->s[b] == '\t')
                    b++;
            for (e = sc->pos; e < sc->len && sc->s[e] != '\n'; e++)
                if (sc->s[e] != ' ' && sc->s[e] != '\t' && sc->s[e] != '\r')
                    blank = 0;
            sc->pos = e < sc->len ? e + 1 : e;
            sc->code = !blank;
            end_line(sc);
            {
                size_t n = e - b;

                if (n > 0 && sc->s[e - 1] == '\r' && e > b)
                    n--;
                if (n == h->len && memcmp(sc->s + b, h->word, n) == 0)
                    break;
            }
        }
    }
    sh->nhd = 0;
}

static void sh_reserved(struct scan *sc, struct sh *sh, const char *w,
                        size_t n)
{
    if (sh->after_function) {
        /* 'function NAME' is followed by the body's '{' */
        sh->after_function = 0;
        sh->cmd = 1;
        return;
    }
    if (!sh->cmd) {
        return;
    } else if (word_is(w, n, "if") || word_is(w, n, "while") ||
               word_is(w, n, "until")) {
        sh->depth++;
        sc->m.complexity++;
    } else if (word_is(w, n, "for") || word_is(w, n, "select")) {
        sh->depth++;
        sc->m.complexity++;
        sh->cmd = 0;
    } else if (word_is(w, n, "case")) {
        sh->depth++;
        sh->cmd = 0;
    } else if (word_is(w, n, "elif")) {
        sc->m.complexity++;
    } else if (word_is(w, n, "{")) {
        sh->depth++;
    } else if (word_is(w, n, "then") || word_is(w, n, "do") ||
               word_is(w, n, "else") || word_is(w, n, "!")) {
        /* the next word is a command again */
    } else if (word_is(w, n, "fi") || word_is(w, n, "done") ||
               word_is(w, n, "esac") || word_is(w, n, "}")) {
        if (sh->depth > 0)
            sh->depth--;
        sh->cmd = 0;
    } else if (word_is(w, n, "function")) {
        sh->after_function = 1;
        sh->cmd = 0;
    } else {
        sh->cmd = 0;
    }
    if (sh->depth > sc->m.max_depth)
        sc->m.max_depth = sh->depth;
}

static void measure_sh(struct scan *sc)
{
    struct sh sh = { .cmd = 1 };

    while (sc->pos < sc->len) {
        int c = at(sc, 0);

        if (c == '\n') {
            sc->pos++;
            end_line(sc);
            sh.cmd = 1;
            if (sh.nhd > 0)
                sh_heredoc_bodies(sc, &sh);
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r') {
            sc->pos++;
            continue;
        }
        if (c == '#') {
            /* words are consumed whole, so a '#' here starts a word */
            while (sc->pos < sc->len && at(sc, 0) != '\n')
                sc->pos++;
            continue;
        }
        if (c == '\\' && at(sc, 1) == '\n') {
            sc->pos += 2;
            end_line(sc);
            continue;
        }
        sc->code = 1;
        if (c == ';') {
            if (at(sc, 1) == ';' || at(sc, 1) == '&') {
                sc->m.complexity++;     /* a case arm ends */
                sc->pos += at(sc, 1) == ';' && at(sc, 2) == '&' ? 3 : 2;
            } else {
                sc->pos++;
            }
            sh.cmd = 1;
            continue;
        }
        if ((c == '&' || c == '|') && at(sc, 1) == c) {
            sc->m.complexity++;
            sc->pos += 2;
            sh.cmd = 1;
            continue;
        }
        if (c == '&' || c == '|' || c == '(' || c == ')' || c == '`') {
            sc->pos++;
            sh.cmd = 1;
            continue;
        }
        if (c == '<' && at(sc, 1) == '<' && at(sc, 2) != '<') {
            int strip = at(sc, 2) == '-';

            sc->pos += strip ? 3 : 2;
            sh_heredoc_start(sc, &sh, strip);
            continue;
        }
        if (c == '<' || c == '>') {
            sc->pos++;
            continue;
        }
        {
            const char *w = sc->s + sc->pos;
            size_t start = sc->pos;
            int plain = sh_word(sc);

            if (sc->pos == start) {
                sc->pos++;      /* a lone backslash before a line end */
                continue;
            }
            if (plain)
                sh_reserved(sc, &sh, w, sc->pos - start);
            else
                sh.cmd = 0;
        }
    }
    end_line(sc);
}

/* ---- public ------------------------------------------------------------ */

int metrics_lang_parse(const char *name, enum metrics_lang *out)
{
    enum task_lang lang;

    if (!name || !out || task_lang_from_tag(name, strlen(name), false,
                                            &lang) < 0)
        return -EINVAL;
    *out = (enum metrics_lang)lang;
    return 0;
}

const char *metrics_lang_name(enum metrics_lang lang)
{
    return task_lang_name((enum task_lang)lang);
}

int metrics_measure(enum metrics_lang lang, const char *src, size_t len,
                    struct metrics *out)
{
    struct scan sc = { .s = src, .len = len };

    if (!out || (!src && len > 0))
        return -EINVAL;
    if (lang != METRICS_PYTHON && lang != METRICS_C && lang != METRICS_SH)
        return -EINVAL;
    sc.m.bytes = len;
    sc.m.complexity = 1;
    measure_lines(&sc);
    switch (lang) {
    case METRICS_PYTHON:
        measure_python(&sc);
        break;
    case METRICS_C:
        measure_c(&sc);
        break;
    case METRICS_SH:
        measure_sh(&sc);
        break;
    }
    *out = sc.m;
    return 0;
}
