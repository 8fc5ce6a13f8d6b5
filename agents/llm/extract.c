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
 */
#include "extract.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "task_lang.h"

#define THINK_OPEN      "<think>"
#define THINK_CLOSE     "</think>"

/* The embedded-object search tries each '{' in turn, so a pathological
 * answer (thousands of unbalanced braces) could cost time quadratic in its
 * length. This many scanned bytes in total is far beyond any real answer
 * (a 64 KiB answer with a thousand stray braces) and bounds the rest. */
#define EMBED_BUDGET    ((size_t)64 << 20)

/* ---- small text helpers ------------------------------------------------ */

struct xbuf {
    char *s;            /* malloc'd, NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
};

static int xbuf_add(struct xbuf *b, const char *s, size_t n)
{
    if (n >= SIZE_MAX - b->len)
        return -ENOMEM;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 64;
        char *ns;

        while (ncap < b->len + n + 1) {
            if (ncap > SIZE_MAX / 2)
                return -ENOMEM;
            ncap *= 2;
        }
        ns = realloc(b->s, ncap);
        if (!ns)
            return -ENOMEM;
        b->s = ns;
        b->cap = ncap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_ident(char c)
{
    return is_alpha(c) || (c >= '0' && c <= '9') || c == '_';
}

/* strchr() would find the terminator for c == 0. */
static int in_set(char c, const char *set)
{
    return c != '\0' && strchr(set, c) != NULL;
}

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
    struct xbuf out = { 0 };
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
            if (xbuf_add(&out, pos, strlen(pos)))
                goto oom;
            break;
        }
        if (xbuf_add(&out, pos, (size_t)(open - pos)))
            goto oom;
        close = strstr(open + strlen(THINK_OPEN), THINK_CLOSE);
        if (!close)
            break;                      /* still thinking when it stopped */
        pos = close + strlen(THINK_CLOSE);
    }

    start = out.s ? out.s : "";
    end = start + out.len;
    while (start < end && is_space(*start))
        start++;
    while (end > start && is_space(end[-1]))
        end--;
    res = strndup(start, (size_t)(end - start));
    free(out.s);
    return res;

oom:
    free(out.s);
    return NULL;
}

/* The stripped answer with LF line ends; NULL when out of memory. */
static char *clean_answer(const char *text)
{
    char *s = extract_strip_think(text);

    if (s)
        to_lf(s);
    return s;
}

/* ---- fences ------------------------------------------------------------ */

struct fence {
    const char *tag;    /* first word of the info string (not NUL-ended)  */
    size_t tag_len;     /* 0 for a bare fence                            */
    const char *body;   /* first byte after the opening line             */
    size_t body_len;    /* up to the closing line, or to the end         */
    size_t indent;      /* white space before the opening fence          */
};

struct fences {
    struct fence *v;    /* malloc'd */
    size_t n;
    size_t cap;
};

/* Length of the line starting at s, without its LF. */
static size_t line_len(const char *s)
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
static int fences_find(const char *s, struct fences *out)
{
    const char *p = s;

    memset(out, 0, sizeof(*out));
    while (*p) {
        size_t n = line_len(p), run, indent = 0, tag_len = 0;
        const char *tag = NULL, *body, *q;
        struct fence *f;
        char ch = 0;

        run = fence_open(p, n, &ch, &indent, &tag, &tag_len);
        p += n + (p[n] == '\n');
        if (!run)
            continue;

        body = p;
        for (q = p; *q; ) {
            size_t m = line_len(q);

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
            p += line_len(p) + (p[line_len(p)] == '\n');
    }
    return 0;
}

static int has_text(const char *s, size_t n)
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
    s = clean_answer(text);
    if (!s)
        goto out_none;

    obj = parse_object(s, strlen(s));
    if (obj) {
        found = EXTRACT_JSON_WHOLE;
        goto out;
    }

    if (fences_find(s, &fs))
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

/* ---- code -------------------------------------------------------------- */

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
        size_t n = line_len(s);

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
    struct xbuf out = { 0 };

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
        if (xbuf_add(&out, p + k, (size_t)(eol - p - k)) ||
            xbuf_add(&out, "\n", 1)) {
            free(out.s);
            return NULL;
        }
        p = nl ? nl + 1 : end;
    }
    /* Callers pass text with something in it; stay total all the same. */
    return out.s ? out.s : strdup("\n");
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
    s = clean_answer(text);
    if (!s || fences_find(s, &fs))
        goto oom;

    /* Ties go to the first block: models put the answer before variants. */
    for (size_t i = 0; i < fs.n; i++) {
        const struct fence *f = &fs.v[i];

        if (tag_matches(f, want, lang) && has_text(f->body, f->body_len) &&
            (!best || f->body_len > best->body_len))
            best = f;
    }
    if (best) {
        rule = EXTRACT_CODE_LANG_FENCE;
    } else {
        for (size_t i = 0; i < fs.n; i++) {
            const struct fence *f = &fs.v[i];

            if (has_text(f->body, f->body_len) &&
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
