/* extract_code.c -- pull the code out of what a language model wrote: the
 * fenced block tagged with the task's language, else the largest fenced
 * block, else the whole answer when it looks like code in that language
 * (extract_code). The cleaning and the fences are extract.c's.
 */
#include "extract.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "extract_internal.h"
#include "task_lang.h"

const char *extract_code_rule_name(enum extract_code_rule rule)
{
    switch (rule) {
    case EXTRACT_CODE_LANG_FENCE:    return "language_fence";
    case EXTRACT_CODE_LARGEST_FENCE: return "largest_fence";
    case EXTRACT_CODE_WHOLE:         return "whole";
    case EXTRACT_CODE_NONE:          break;
    }
    return "none";
}

static const char *const PY_WORDS[] = {
    "def", "class", "import", "from", "return", "if", "elif", "else", "for",
    "while", "try", "except", "finally", "with", "assert", "raise", "pass",
    "break", "continue", "yield", "async", "await", "global", "nonlocal",
    "lambda", "print", "del", "@", NULL,
};

static const char *const SH_WORDS[] = {
    "#!", "echo", "printf", "if", "then", "else", "elif", "fi", "for",
    "while", "until", "do", "done", "case", "esac", "export", "set",
    "local", "function", "cd", "exit", "return", "read", "shift", "trap",
    "source", "test", "[", "[[", "cat", "grep", "sed", "awk", "mkdir", "rm",
    "cp", "mv", "ls", "find", "sort", "uniq", "wc", "tr", "cut", "head",
    "tail", "xargs", "touch", "chmod", NULL,
};

static const char *const C_WORDS[] = {
    "#include", "#define", "#if", "#ifdef", "#ifndef", "#else", "#endif",
    "#pragma", "int", "void", "char", "short", "long", "unsigned", "signed",
    "float", "double", "bool", "size_t", "static", "const", "extern",
    "inline", "struct", "union", "enum", "typedef", "return", "if", "else",
    "for", "while", "do", "switch", "case", "default", "break", "continue",
    "goto", "printf", "free", NULL,
};

/* How code of a language looks, for telling it from prose; which fence
 * tags mean it is task_lang.h's. */
struct lang {
    enum task_lang id;
    const char *const *words;       /* keywords that start a code line    */
    int hash_comments;              /* '#' starts a comment               */
    int c_comments;                 /* comment with slash-star, '//'      */
    int shell;                      /* command lines: "ls -l", pipes      */
    int docstrings;                 /* lines opening a triple-quoted str  */
};

static const struct lang LANGS[] = {
    { TASK_LANG_PYTHON, PY_WORDS, 1, 0, 0, 1 },
    { TASK_LANG_SH, SH_WORDS, 1, 0, 1, 0 },
    { TASK_LANG_C, C_WORDS, 0, 1, 0, 0 },
};

#define N_LANGS (sizeof(LANGS) / sizeof(LANGS[0]))

/* The language a name or fence tag means (any case), or NULL. */
static const struct lang *lang_find(const char *name, size_t n)
{
    enum task_lang id;

    if (task_lang_from_tag(name, n, true, &id) < 0)
        return NULL;
    for (size_t i = 0; i < N_LANGS; i++)
        if (LANGS[i].id == id)
            return &LANGS[i];
    return NULL;
}

static int tag_matches(const struct fence *f, const struct lang *want,
                       const char *lang)
{
    if (f->tag_len == 0 || !lang)
        return 0;
    if (want)
        return lang_find(f->tag, f->tag_len) == want;
    return strlen(lang) == f->tag_len &&
           strncasecmp(lang, f->tag, f->tag_len) == 0;
}

/* ---- does it look like code? --------------------------------------------
 *
 * Used only when the answer has no fenced block: then the whole answer is
 * the code if its lines read like code. Each non-blank line is one of:
 *   keyword  starts with a keyword of the language ("def", "#include",
 *            "echo", ...) followed by a non-identifier character, unless
 *            the line is a sentence ("return the sum of the list.");
 *   prose    three or more tokens, at least 80% of them plain words, none
 *            of "= { } < > $ | & [ ] \" and no "name(" in it, not ending in
 *            ';', '{' or '}'; or a capitalised line ending in ':' without
 *            '(' ("Here is the code:", "Output:");
 *            an indented sentence is "other", not prose: in code it is
 *            a docstring or a comment's continuation;
 *   code     a comment of the language; a python line opening a
 *            triple-quoted string; or indented; or ending in ':', ';',
 *            '{', '}', '(', ')', '[', ']', ',' or '\'; or an assignment
 *            ("x = 1", "n += 2", "PATH=/bin"); for sh, a pipe, a '$', a
 *            "&&" or an option ("ls -l");
 *   other    anything else.
 * The answer is code when at least one line is a keyword line, keyword and
 * code lines are at least 75% of the non-blank lines, and prose lines at
 * most 10% (so a short answer may hold none). This is deliberately
 * conservative: a wrong "whole" hands prose to the interpreter, while
 * "none" lets the caller ask again.
 */

enum line_kind { LINE_BLANK, LINE_KEYWORD, LINE_CODE, LINE_PROSE,
                 LINE_OTHER };

static int starts_with_word(const char *s, size_t n, const char *w)
{
    size_t k = strlen(w);

    if (k > n || memcmp(s, w, k) != 0)
        return 0;
    /* "#include" and "[" end in a non-identifier already. */
    return k == n || !is_ident(s[k]) || !is_ident(w[k - 1]);
}

static int starts_with_keyword(const char *s, size_t n,
                               const char *const *words)
{
    for (; *words; words++)
        if (starts_with_word(s, n, *words))
            return 1;
    return 0;
}

/* A word of prose: letters, inner apostrophes and hyphens, maybe wrapped in
 * brackets, quotes or backticks, maybe followed by punctuation. */
static int is_word(const char *t, size_t n)
{
    size_t i = 0, letters = 0;

    while (i < n && (t[i] == '(' || t[i] == '"' || t[i] == '\'' ||
                     t[i] == '`' || t[i] == '*'))
        i++;
    for (; i < n; i++) {
        if (is_alpha(t[i]) || (unsigned char)t[i] >= 0x80)
            letters++;
        else if (!((t[i] == '\'' || t[i] == '-') && letters))
            break;
    }
    if (!letters)
        return 0;
    for (; i < n; i++)
        if (!in_set(t[i], ".,;:!?)\"'`*"))
            return 0;
    return 1;
}

static int is_bullet(const char *t, size_t n)
{
    size_t i = 0;

    if (n == 1 && (t[0] == '-' || t[0] == '*' || t[0] == '+'))
        return 1;
    while (i < n && t[i] >= '0' && t[i] <= '9')
        i++;
    return i > 0 && i + 1 == n && (t[i] == '.' || t[i] == ')');
}

static int is_prose(const char *s, size_t n)
{
    size_t tokens = 0, words = 0, i = 0;
    char last = s[n - 1];

    if (last == ';' || last == '{' || last == '}')
        return 0;
    for (size_t k = 0; k < n; k++) {
        if (in_set(s[k], "={}<>$|&[]\\"))
            return 0;
        if (s[k] == '(' && k > 0 && is_ident(s[k - 1]))
            return 0;
    }
    while (i < n) {
        size_t t;

        while (i < n && is_blank(s[i]))
            i++;
        for (t = i; t < n && !is_blank(s[t]); t++)
            ;
        if (t == i)
            break;
        if (!(tokens == 0 && words == 0 && is_bullet(s + i, t - i))) {
            tokens++;
            words += (size_t)is_word(s + i, t - i);
        }
        i = t;
    }
    if (tokens >= 3 && words * 5 >= tokens * 4)
        return 1;
    return s[0] >= 'A' && s[0] <= 'Z' && last == ':' && !memchr(s, '(', n);
}

static int is_assignment(const char *s, size_t n)
{
    size_t i = 0;

    if (!is_ident(s[0]))
        return 0;
    while (i < n && (is_ident(s[i]) || in_set(s[i], " \t.,[]*")))
        i++;
    if (i < n && in_set(s[i], "+-*/%|&^"))
        i++;
    return i < n && s[i] == '=' && (i + 1 == n || s[i + 1] != '=');
}

static int sh_command(const char *s, size_t n)
{
    size_t first_blank = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] == '|' || s[i] == '$' ||
            (s[i] == '&' && i + 1 < n && s[i + 1] == '&'))
            return 1;
        if (!first_blank && s[i] == ' ')
            first_blank = i;
    }
    return first_blank && first_blank + 1 < n && s[first_blank + 1] == '-';
}

static enum line_kind line_classify(const char *l, size_t n,
                                    const struct lang *lg, int *in_comment)
{
    size_t lead = 0;
    const char *s;
    char last;
    int prose;

    while (n && is_space(l[n - 1]))
        n--;
    while (lead < n && is_blank(l[lead]))
        lead++;
    if (lead == n)
        return LINE_BLANK;
    s = l + lead;
    n -= lead;
    last = s[n - 1];

    if (lg->c_comments) {
        if (*in_comment) {
            if (memmem(s, n, "*/", 2))
                *in_comment = 0;
            return LINE_CODE;
        }
        if (n >= 2 && s[0] == '/' && s[1] == '/')
            return LINE_CODE;
        if (n >= 2 && s[0] == '/' && s[1] == '*') {
            *in_comment = !memmem(s + 2, n - 2, "*/", 2);
            return LINE_CODE;
        }
    }
    if (starts_with_keyword(s, n, lg->words)) {
        if (is_prose(s, n) && (last == '.' || last == '!' || last == '?'))
            return LINE_PROSE;
        return LINE_KEYWORD;
    }
    if (lg->hash_comments && s[0] == '#')
        return LINE_CODE;
    if (lg->docstrings && n >= 3 &&
        (memcmp(s, "\"\"\"", 3) == 0 || memcmp(s, "'''", 3) == 0))
        return LINE_CODE;
    prose = is_prose(s, n);
    if (prose)
        return lead > 0 ? LINE_OTHER : LINE_PROSE;
    if (lead > 0 || in_set(last, ":;{}()[],\\") || is_assignment(s, n))
        return LINE_CODE;
    if (lg->shell && sh_command(s, n))
        return LINE_CODE;
    return LINE_OTHER;
}

static int looks_like_code(const char *s, const struct lang *lg)
{
    size_t total = 0, keyword = 0, code = 0, prose = 0;
    int in_comment = 0;

    while (*s) {
        size_t n = extract_line_len(s);

        switch (line_classify(s, n, lg, &in_comment)) {
        case LINE_BLANK:                        break;
        case LINE_KEYWORD: total++; keyword++;  break;
        case LINE_CODE:    total++; code++;     break;
        case LINE_PROSE:   total++; prose++;    break;
        case LINE_OTHER:   total++;             break;
        }
        s += n + (s[n] == '\n');
    }
    return keyword > 0 && (keyword + code) * 4 >= total * 3 &&
           prose * 10 <= total;
}

/* A malloc'd copy of the code in s[0..n): 'indent' leading blanks taken off
 * each line, leading blank lines and trailing white space dropped, one
 * final LF. NULL when out of memory. */
static char *code_copy(const char *s, size_t n, size_t indent)
{
    const char *end = s + n, *p;
    struct buf out = { 0 };

    /* Start at the first line with text, keeping its indentation. */
    for (p = s; p < end; p++) {
        if (*p == '\n')
            s = p + 1;
        else if (!is_space(*p))
            break;
    }
    while (end > s && is_space(end[-1]))
        end--;

    for (p = s; p < end; ) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        size_t k = 0;

        while (k < indent && p + k < eol && is_blank(p[k]))
            k++;
        if (buf_add(&out, p + k, (size_t)(eol - p - k)) ||
            buf_add(&out, "\n", 1)) {
            buf_free(&out);
            return NULL;
        }
        p = nl ? nl + 1 : end;
    }
    /* Callers pass text with something in it; stay total all the same. */
    return out.p ? buf_take(&out) : strdup("\n");
}

enum extract_code_rule extract_code(const char *text, const char *lang,
                                    char **code)
{
    enum extract_code_rule rule = EXTRACT_CODE_NONE;
    const struct lang *want = lang ? lang_find(lang, strlen(lang)) : NULL;
    const struct fence *best = NULL;
    struct fences fs = { 0 };
    char *s, *res = NULL;

    *code = NULL;
    s = extract_clean_answer(text);
    if (!s || extract_fences_find(s, &fs))
        goto oom;

    /* Ties go to the first block: models put the answer before variants. */
    for (size_t i = 0; i < fs.n; i++) {
        const struct fence *f = &fs.v[i];

        if (tag_matches(f, want, lang) &&
            extract_has_text(f->body, f->body_len) &&
            (!best || f->body_len > best->body_len))
            best = f;
    }
    if (best) {
        rule = EXTRACT_CODE_LANG_FENCE;
    } else {
        for (size_t i = 0; i < fs.n; i++) {
            const struct fence *f = &fs.v[i];

            if (extract_has_text(f->body, f->body_len) &&
                (!best || f->body_len > best->body_len))
                best = f;
        }
        if (best)
            rule = EXTRACT_CODE_LARGEST_FENCE;
    }

    if (best) {
        res = code_copy(best->body, best->body_len, best->indent);
    } else if (*s) {
        /* An unknown language is judged by the keywords of all three. */
        int yes = 0;

        if (want) {
            yes = looks_like_code(s, want);
        } else {
            for (size_t i = 0; i < N_LANGS && !yes; i++)
                yes = looks_like_code(s, &LANGS[i]);
        }
        if (!yes)
            goto none;
        rule = EXTRACT_CODE_WHOLE;
        res = code_copy(s, strlen(s), 0);
    } else {
        goto none;
    }
    if (!res)
        goto oom;

    free(fs.v);
    free(s);
    *code = res;
    return rule;

none:
    free(fs.v);
    free(s);
    errno = 0;
    return EXTRACT_CODE_NONE;

oom:
    free(fs.v);
    free(s);
    errno = ENOMEM;
    return EXTRACT_CODE_NONE;
}
