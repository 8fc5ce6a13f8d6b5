/* test_metrics.c -- unit tests for agents/builder/metrics.c.
 *
 * Each language gets a realistic program (checked with python3's ast,
 * gcc -fsyntax-only and sh -n when written) whose numbers were counted by
 * hand; the comments above each expectation say what counts. Then the
 * traps: keywords in strings and comments, docstrings, continuation lines,
 * here-documents, CRLF, UTF-8, unterminated text and very large input.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agents/builder/metrics.h"

static const char py_module[] =
    "#!/usr/bin/env python3\n"
    "\"\"\"Module docstring.\n"
    "\n"
    "More text with if and for words.\n"
    "\"\"\"\n"
    "import sys\n"
    "\n"
    "\n"
    "def count_words(text):\n"
    "    \"\"\"Count words; 'if' here is prose.\"\"\"\n"
    "    counts = {}\n"
    "    for word in text.split():  # for each word\n"
    "        word = word.strip(\".,!?\").lower()\n"
    "        if word and not word.isdigit():\n"
    "            counts[word] = counts.get(word, 0) + 1\n"
    "        elif word == \"or\":\n"
    "            pass\n"
    "    return counts\n"
    "\n"
    "\n"
    "class Stack:\n"
    "    def __init__(self):\n"
    "        self.items = []\n"
    "\n"
    "    def pop(self):\n"
    "        try:\n"
    "            return self.items.pop()\n"
    "        except IndexError:\n"
    "            return None\n"
    "\n"
    "\n"
    "if __name__ == \"__main__\":\n"
    "    data = sys.stdin.read() if len(sys.argv) < 2 else open(\n"
    "        sys.argv[1]).read()\n"
    "    print(count_words(data))\n";

static const char py_tricky[] =
    "def classify(x):\n"
    "    match x:\n"
    "        case 0:\n"
    "            return \"zero # not a comment\"\n"
    "        case [a, b] if a > b:\n"
    "            return 'desc'\n"
    "        case _:\n"
    "            s = f\"{x!r} while {'or'}\"\n"
    "            return s\n"
    "\n"
    "\n"
    "case = 3\n"
    "total = (1 +\n"
    "         2 +  # if in a comment\n"
    "         3)\n"
    "msg = \"\"\"first line\n"
    "if this counted it would be wrong\n"
    "\"\"\"\n"
    "value = r'\\'' + \"\\\\\" and x \\\n"
    "    or y\n";

static const char c_program[] =
    "/* sum.c -- if this were code, it would count */\n"
    "#include <stdio.h>\n"
    "#include <string.h>\n"
    "\n"
    "#define MAX(a, b) ((a) > (b) ? (a) : (b))\n"
    "\n"
    "static int parse(const char *s, int *out)\n"
    "{\n"
    "    int n = 0;\n"
    "\n"
    "    if (!s || !*s)\n"
    "        return -1;\n"
    "    for (; *s; s++) {\n"
    "        if (*s < '0' || *s > '9') {\n"
    "            return -1; // while (bad)\n"
    "        }\n"
    "        n = n * 10 + (*s - '0');\n"
    "    }\n"
    "    *out = n;\n"
    "    return 0;\n"
    "}\n"
    "\n"
    "int main(int argc, char **argv)\n"
    "{\n"
    "    const char *msg = \"if (x && y) { while }\";\n"
    "    int best = 0, i, v;\n"
    "\n"
    "    for (i = 1; i < argc; i++) {\n"
    "        switch (parse(argv[i], &v)) {\n"
    "        case 0:\n"
    "            best = MAX(best, v);\n"
    "            break;\n"
    "        default:\n"
    "            fprintf(stderr, \"bad: %s\\n\", argv[i]);\n"
    "        }\n"
    "    }\n"
    "#if 0\n"
    "    puts(msg);\n"
    "#endif\n"
    "    printf(\"%d '%c'\\n\", best, '{');\n"
    "    return best > 0 && msg[0] ? 0 : 1;\n"
    "}\n";

static const char sh_script[] =
    "#!/bin/sh\n"
    "# backup.sh -- if this counted, it would be wrong\n"
    "set -eu\n"
    "\n"
    "usage() {\n"
    "    echo \"usage: $0 [-v] DIR\" >&2   # while here is a comment\n"
    "    exit 2\n"
    "}\n"
    "\n"
    "verbose=0\n"
    "while getopts v opt; do\n"
    "    case $opt in\n"
    "        v) verbose=1 ;;\n"
    "        *) usage ;;\n"
    "    esac\n"
    "done\n"
    "shift $((OPTIND - 1))\n"
    "\n"
    "[ $# -eq 1 ] || usage\n"
    "for f in \"$1\"/*; do\n"
    "    if [ -f \"$f\" ] && [ \"$verbose\" = 1 ]; then\n"
    "        echo \"copying $f: if for while\"\n"
    "    elif [ -d \"$f\" ]; then\n"
    "        continue\n"
    "    fi\n"
    "    cp \"$f\" /tmp/backup/ || exit 1\n"
    "done\n"
    "cat <<EOF\n"
    "if this were code\n"
    "done\n"
    "EOF\n"
    "echo \"${#opt} items # not a comment\"\n";

static struct metrics measure(enum metrics_lang lang, const char *text)
{
    struct metrics m;

    memset(&m, 0xA5, sizeof(m));
    assert_int_equal(metrics_measure(lang, text, strlen(text), &m), 0);
    return m;
}

static void expect(const struct metrics *m, size_t lines, size_t total,
                   size_t depth, size_t cx, size_t longest)
{
    if (m->lines != lines || m->total_lines != total ||
        m->max_depth != depth || m->complexity != cx ||
        m->longest_line != longest)
        fail_msg("got lines %zu total %zu depth %zu complexity %zu "
                 "longest %zu; expected %zu %zu %zu %zu %zu",
                 m->lines, m->total_lines, m->max_depth, m->complexity,
                 m->longest_line, lines, total, depth, cx, longest);
}

/* The same text with CRLF line ends must measure the same. */
static void expect_crlf_same(enum metrics_lang lang, const char *text)
{
    size_t n = strlen(text), i, j = 0;
    char *crlf = malloc(2 * n + 1);
    struct metrics a, b;

    assert_non_null(crlf);
    for (i = 0; i < n; i++) {
        if (text[i] == '\n')
            crlf[j++] = '\r';
        crlf[j++] = text[i];
    }
    crlf[j] = '\0';
    a = measure(lang, text);
    b = measure(lang, crlf);
    assert_int_equal(a.lines, b.lines);
    assert_int_equal(a.total_lines, b.total_lines);
    assert_int_equal(a.max_depth, b.max_depth);
    assert_int_equal(a.complexity, b.complexity);
    assert_int_equal(a.longest_line, b.longest_line);
    assert_int_equal(b.bytes, j);
    free(crlf);
}

/* ---- python ---------------------------------------------------------------- */

static void test_python_module(void **state)
{
    struct metrics m = measure(METRICS_PYTHON, py_module);

    (void)state;
    /* 22 code lines: the shebang, the module and function docstrings and
     * the blank lines do not count; the wrapped 'data = ...' counts 2.
     * Depth 3: class > def > try body (and def > for > if body).
     * Decisions 7: for, if, and, elif, except, if __name__, the
     * conditional expression's if; not "or" in a string, not 'if' in the
     * docstrings or "for" in a comment. Longest: the 'data = ' line. */
    expect(&m, 22, 35, 3, 8, 59);
    assert_int_equal(m.bytes, strlen(py_module));
    expect_crlf_same(METRICS_PYTHON, py_module);
}

static void test_python_tricky(void **state)
{
    struct metrics m = measure(METRICS_PYTHON, py_tricky);

    (void)state;
    /* 18 code lines: all but the two blanks; the lines of the
     * triple-quoted string assigned to msg are code, not docstring.
     * Depth 3: def > match > case body. Decisions 6: three case arms, the
     * guard's if, and, or (after a backslash continuation); not
     * "case = 3", not the f-string's while/or, not "# if" in a comment
     * inside brackets, not the string's 'if'. */
    expect(&m, 18, 20, 3, 7, 41);
    expect_crlf_same(METRICS_PYTHON, py_tricky);
}

static void test_python_indent(void **state)
{
    struct metrics m;

    (void)state;
    /* tabs reach the next multiple of 8; a dedent to an outer level
     * closes blocks; comment lines at odd indentation change nothing */
    m = measure(METRICS_PYTHON,
                "def f(x):\n"
                "\tif x:\n"
                "\t\twhile x:\n"
                "   # a comment at 3\n"
                "\t\t\tx -= 1\n"
                "\treturn x\n"
                "def g():\n"
                "    return [i for i in range(3) if i]\n");
    expect(&m, 7, 8, 3, 5, 37);

    /* a statement that is only a string is a docstring at any depth;
     * a string followed by more code is not */
    m = measure(METRICS_PYTHON,
                "def f():\n"
                "    '''one\n"
                "    two'''\n"
                "    x = 1\n"
                "    '''a''' + x\n"
                "    \"\"\"multi\n"
                "    line\"\"\".strip()\n");
    expect(&m, 5, 7, 1, 1, 19);

    /* CPython itself stops at 100 levels; deeper text still measures */
    {
        size_t depth = 300, i, k, len = 0;
        char *src = malloc(depth * (depth + 16));

        assert_non_null(src);
        for (i = 0; i < depth; i++) {
            for (k = 0; k < i; k++)
                src[len++] = ' ';
            memcpy(src + len, "if x:\n", 6);
            len += 6;
        }
        assert_int_equal(metrics_measure(METRICS_PYTHON, src, len, &m), 0);
        assert_int_equal(m.lines, depth);
        assert_int_equal(m.complexity, depth + 1);
        assert_true(m.max_depth >= 100 && m.max_depth < depth);
        free(src);
    }
}

/* ---- c --------------------------------------------------------------------- */

static void test_c_program(void **state)
{
    struct metrics m = measure(METRICS_C, c_program);

    (void)state;
    /* 36 code lines: all but the comment line and the blanks.
     * Depth 3: main { for { switch { (and parse { for { if {); the '{'
     * in a string and a char literal do not count. Decisions 10: the
     * macro's ?, if, ||, for, if, ||, for, case, &&, ?; not "#if 0",
     * not the string's if/&&/while, not 'while' in a // comment. */
    expect(&m, 36, 42, 3, 11, 50);
    expect_crlf_same(METRICS_C, c_program);
}

static void test_c_corners(void **state)
{
    struct metrics m;

    (void)state;
    m = measure(METRICS_C,
                "/* a block comment\n"
                "   over lines: if (a) { */\n"
                "int x = 1; /* trailing */ int y = '\\'' ? 2 : 3;\n"
                "char *s = \"a\\\"{if}\";\n"
                "#  ifdef FOO\n"
                "#  elif defined(BAR) && BAR\n"
                "#endif\n"
                "// a line comment with a brace {\n"
                "int z = x || y;\n");
    /* the directives' names are not branches; '&&' after one is */
    expect(&m, 6, 9, 0, 4, 47);

    /* an unterminated comment and string end at the end of the text */
    m = measure(METRICS_C, "int a; /* never closed {\nif (a) {\n");
    expect(&m, 1, 2, 0, 1, 24);
    m = measure(METRICS_C, "char *s = \"open\nif (x) {\n");
    expect(&m, 2, 2, 1, 2, 15);
}

/* ---- sh -------------------------------------------------------------------- */

static void test_sh_script(void **state)
{
    struct metrics m = measure(METRICS_SH, sh_script);

    (void)state;
    /* 27 code lines: all but the shebang, the comment and the blanks; the
     * here-document's body and delimiter count. Depth 2: while > case and
     * for > if. Decisions 9: while, two ;; arms, ||, for, if, &&, elif,
     * ||; not the words inside quotes or the here-document (whose "done"
     * closes nothing), not '#' inside $# or "${#opt}". */
    expect(&m, 27, 32, 2, 10, 61);
    expect_crlf_same(METRICS_SH, sh_script);
}

static void test_sh_corners(void **state)
{
    struct metrics m;

    (void)state;
    /* keywords only in command position; 'function NAME {' and '<<-' */
    m = measure(METRICS_SH,
                "echo if then fi while\n"
                "function greet {\n"
                "\tcat <<-'END'\n"
                "\t\tif done\n"
                "\tEND\n"
                "\tuntil false; do :; done\n"
                "}\n"
                "x=1 # if\n");
    expect(&m, 8, 8, 2, 2, 24);

    /* a line continuation joins a command; case arms with ;& and ;;& */
    m = measure(METRICS_SH,
                "case \"$1\" in\n"
                "  a|b) echo \\\n"
                "     one ;&\n"
                "  c) echo two ;;&\n"
                "  *) ;;\n"
                "esac\n");
    expect(&m, 6, 6, 1, 4, 17);
}

/* ---- common ---------------------------------------------------------------- */

static void test_empty_and_args(void **state)
{
    struct metrics m;
    enum metrics_lang l;

    (void)state;
    assert_int_equal(metrics_measure(METRICS_PYTHON, NULL, 0, &m), 0);
    expect(&m, 0, 0, 0, 1, 0);
    assert_int_equal(m.bytes, 0);
    m = measure(METRICS_C, "\n\n   \n// only a comment\n");
    expect(&m, 0, 4, 0, 1, 17);
    m = measure(METRICS_SH, "no newline at the end");
    expect(&m, 1, 1, 0, 1, 21);

    assert_int_equal(metrics_measure(METRICS_C, NULL, 3, &m), -EINVAL);
    assert_int_equal(metrics_measure(METRICS_C, "x", 1, NULL), -EINVAL);
    assert_int_equal(metrics_measure((enum metrics_lang)7, "x", 1, &m),
                     -EINVAL);

    assert_int_equal(metrics_lang_parse("python", &l), 0);
    assert_int_equal(l, METRICS_PYTHON);
    assert_int_equal(metrics_lang_parse("py", &l), 0);
    assert_int_equal(l, METRICS_PYTHON);
    assert_int_equal(metrics_lang_parse("c", &l), 0);
    assert_int_equal(l, METRICS_C);
    assert_int_equal(metrics_lang_parse("bash", &l), 0);
    assert_int_equal(l, METRICS_SH);
    assert_int_equal(metrics_lang_parse("Python", &l), -EINVAL);
    assert_int_equal(metrics_lang_parse("", &l), -EINVAL);
    assert_int_equal(metrics_lang_parse(NULL, &l), -EINVAL);
    assert_string_equal(metrics_lang_name(METRICS_SH), "sh");
    assert_string_equal(metrics_lang_name((enum metrics_lang)9), "?");
}

static void test_width_and_bytes(void **state)
{
    struct metrics m;
    static const char nul[] = "x = 1\0if y\n";

    (void)state;
    /* code points, not bytes: "é" is 2 bytes, "€" 3 */
    m = measure(METRICS_PYTHON, "s = '\xc3\xa9\xe2\x82\xac'\nx\n");
    expect(&m, 2, 2, 0, 1, 8);
    assert_int_equal(m.bytes, 14);
    /* a NUL byte is just a byte */
    assert_int_equal(metrics_measure(METRICS_PYTHON, nul, sizeof(nul) - 1,
                                     &m), 0);
    expect(&m, 1, 1, 0, 2, 10);
}

/* A megabyte of code in each language: linear, and nothing overflows. */
static void test_large(void **state)
{
    static const char *const unit[] = {
        [METRICS_PYTHON] = "if a and b:\n    x = '{'  # }\n",
        [METRICS_C] = "{ if (a && b) x = \"}\"; /* { */\n",
        [METRICS_SH] = "if a && b; then x='{'; fi # {\n",
    };
    size_t reps = 30000, i, k;

    (void)state;
    for (k = 0; k < 3; k++) {
        size_t ulen = strlen(unit[k]), len = 0;
        char *src = malloc(ulen * reps);
        struct metrics m;

        assert_non_null(src);
        for (i = 0; i < reps; i++) {
            memcpy(src + len, unit[k], ulen);
            len += ulen;
        }
        assert_int_equal(metrics_measure((enum metrics_lang)k, src, len, &m),
                         0);
        assert_int_equal(m.bytes, len);
        assert_int_equal(m.complexity, 1 + 2 * reps);
        if (k == METRICS_C)
            assert_int_equal(m.max_depth, reps);    /* never closed */
        else
            assert_int_equal(m.max_depth, 1);
        free(src);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_python_module),
        cmocka_unit_test(test_python_tricky),
        cmocka_unit_test(test_python_indent),
        cmocka_unit_test(test_c_program),
        cmocka_unit_test(test_c_corners),
        cmocka_unit_test(test_sh_script),
        cmocka_unit_test(test_sh_corners),
        cmocka_unit_test(test_empty_and_args),
        cmocka_unit_test(test_width_and_bytes),
        cmocka_unit_test(test_large),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
