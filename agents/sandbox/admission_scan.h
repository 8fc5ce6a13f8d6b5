/* admission_scan.h -- the gate's text scanners for C and bash (private to
 * the admission gate).
 *
 * Rules 2, 3 and 5 of admission.h for the languages the Python checker
 * does not cover: counting tests the way the harness does, finding banned
 * constructs, building the stub. Pure text work, no sandbox. The Trainer
 * proposes Python only today; C and sh stay because admission.h promises
 * them and a user of the gate (tests, a future Trainer) may ask.
 */
#ifndef BT_ADMISSION_SCAN_H
#define BT_ADMISSION_SCAN_H

#include "buf.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>

/* A construct rule 3 refuses, and what a task using it would depend on. */
struct scan_banned {
    const char *word;
    const char *kind;
};

/* C (admission_c.c). The stub: every function definition returns a zero
 * of its type; malloc'd, NULL when out of memory. */
char *admission_c_stub(const char *src);
/* Rule 3: 1 with *what = "line N: ..." (malloc'd), 0 clean, -ENOMEM. */
int admission_c_banned(const char *src, char **what);
/* The tests the harness will find ("void test_NAME(void) {", once each),
 * by the harness's own finder, comments and strings blanked; or -ENOMEM. */
int admission_c_count_tests(const char *src);

/* bash (admission_sh.c), the same three. */
char *admission_sh_stub(const char *src);
int admission_sh_banned(const char *src, char **what);
int admission_sh_count_tests(const char *src);

/* ---- small helpers both scanners use ---------------------------------- */

static inline int is_ident(int c)
{
    return isalnum((unsigned char)c) || c == '_';
}

static inline int word_is(const char *s, size_t n, const char *w)
{
    return strlen(w) == n && memcmp(s, w, n) == 0;
}

static inline int in_list(const char *const *list, const char *w, size_t n)
{
    for (; *list; list++)
        if (word_is(w, n, *list))
            return 1;
    return 0;
}

static inline size_t skip_space(const char *s, size_t i)
{
    while (s[i] && isspace((unsigned char)s[i]))
        i++;
    return i;
}

/* The 1-based line of offset pos in s. */
static inline int line_of(const char *s, size_t pos)
{
    int line = 1;
    for (size_t i = 0; i < pos && s[i]; i++)
        if (s[i] == '\n')
            line++;
    return line;
}

/* Latches an out-of-memory failure on b the way buf.h's own calls do. */
static inline void scan_fail(struct buf *b)
{
    buf_free(b);
    b->failed = 1;
}

#endif /* BT_ADMISSION_SCAN_H */
