/* exec_harness.c -- the C runner built around a task's C tests.
 *
 * The harness programs themselves are files beside this one, compiled in
 * by scripts/embed.py (exec_harness.h). What is left here is the one part
 * that depends on the tests: the runner's table of test functions, found
 * in the test source the way docs/sandbox.md says, put where
 * harness_runner.c.in marks it.
 */
#include "exec_harness.h"

#include "buf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The runner (harness_runner.c.in): each test runs in a forked child with
 * its stderr captured; a test passes only when the child returns from the
 * function and writes the marker on a pipe of its own, so exit(0), abort()
 * (a failed assert) or a crash is a failure, whatever the test printed. */
extern const char exec_harness_c_runner_text[];

/* The line of the runner text that the tests' table replaces. */
#define TESTS_MARK "/* @BT_TESTS@"

static int is_ident(int c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* Matches "void test_NAME ( [void] ) {" at p (p at the 'v' of a word
 * start). Returns the name's length and sets *name, or 0. */
static size_t match_test_def(const char *p, const char **name)
{
    if (strncmp(p, "void", 4) != 0 || !isspace((unsigned char)p[4]))
        return 0;
    p += 4;
    while (isspace((unsigned char)*p))
        p++;
    if (strncmp(p, "test_", 5) != 0)
        return 0;
    const char *start = p;
    while (is_ident(*p))
        p++;
    size_t n = (size_t)(p - start);
    while (isspace((unsigned char)*p))
        p++;
    if (*p++ != '(')
        return 0;
    while (isspace((unsigned char)*p))
        p++;
    if (strncmp(p, "void", 4) == 0 && !is_ident(p[4]))
        p += 4;
    while (isspace((unsigned char)*p))
        p++;
    if (*p++ != ')')
        return 0;
    while (isspace((unsigned char)*p))
        p++;
    if (*p != '{')
        return 0;
    *name = start;
    return n;
}

char *exec_harness_c_runner(const char *tests, size_t *ntests)
{
    struct buf decls = {0}, table = {0}, out = {0};
    size_t count = 0;

    buf_adds(&table, "");
    for (const char *p = tests; *p; p++) {
        if (p != tests && is_ident(p[-1]))
            continue;
        const char *name;
        size_t n = match_test_def(p, &name);
        if (!n || n >= 256)
            continue;   /* no sane test has a 256-character name */
        /* a test defined twice would not link; count it once anyway */
        char probe[300];
        snprintf(probe, sizeof probe, "{\"%.*s\",", (int)n, name);
        if (table.p && strstr(table.p, probe))
            continue;
        buf_printf(&decls, "void %.*s(void);\n", (int)n, name);
        buf_printf(&table, "    {\"%.*s\", %.*s},\n", (int)n, name, (int)n, name);
        count++;
    }
    const char *text = exec_harness_c_runner_text;
    const char *mark = strstr(text, TESTS_MARK);
    const char *after = mark ? strchr(mark, '\n') : NULL;
    if (!mark || !after) {
        /* the build embedded a runner without its mark: nothing to run */
        buf_free(&decls);
        buf_free(&table);
        return NULL;
    }
    buf_add(&out, text, (size_t)(mark - text));
    if (decls.p)
        buf_add(&out, decls.p, decls.len);
    buf_adds(&out, "static const struct bt__test bt__tests[] = {\n");
    if (table.p)
        buf_add(&out, table.p, table.len);
    buf_adds(&out, "    {NULL, NULL}\n};\n");
    buf_adds(&out, after + 1);
    int failed = decls.failed || table.failed;
    buf_free(&decls);
    buf_free(&table);
    if (failed) {
        buf_free(&out);
        return NULL;
    }
    *ntests = count;
    return buf_take(&out);
}
