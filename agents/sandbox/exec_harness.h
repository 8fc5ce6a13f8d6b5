/* exec_harness.h -- the test harnesses exec.c writes into a work directory.
 *
 * Private to the sandbox: the executor writes them into work directories,
 * and the admission gate gives the Python one to its checker, so both count
 * tests by one definition. The protocol they implement is documented in
 * docs/sandbox.md. Every harness is started as
 *     HARNESS RESFD NONCEFD CODE TESTS
 * reads a random nonce from NONCEFD (then closes it), and writes lines
 *     NONCE total N | NONCE pass NAME | NONCE fail NAME MESSAGE |
 *     NONCE syntax MESSAGE | NONCE error MESSAGE
 * to RESFD, each test's verdict after the test ended in a process of its own.
 *
 * The harnesses are programs kept as such (harness.py, harness.sh,
 * harness_unit.c.in, harness_runner.c.in beside this file) and compiled in
 * as NUL-terminated texts by scripts/embed.py, so btfs needs no data files.
 */
#ifndef BT_EXEC_HARNESS_H
#define BT_EXEC_HARNESS_H

#include <stddef.h>

/* The Python harness (harness.py), run as "python3 _bt_harness.py ...". */
extern const char exec_harness_python[];

/* The bash harness (harness.sh), run as "bash _bt_harness.sh ...". */
extern const char exec_harness_sh[];

/* The C translation unit that compiles the code and the tests together,
 * with the code's main renamed so the runner's main wins
 * (harness_unit.c.in). */
extern const char exec_harness_c_unit[];

/* Builds the C runner's source (harness_runner.c.in) for the tests in
 * 'tests': every definition "void test_NAME(void) {" (or "()") is one test,
 * in source order. Returns the malloc'd text (caller frees), or NULL when
 * out of memory. *ntests receives the count (0 is allowed: the runner
 * reports total 0). */
char *exec_harness_c_runner(const char *tests, size_t *ntests);

#endif /* BT_EXEC_HARNESS_H */
