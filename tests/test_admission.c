/* test_admission.c -- the admission gate: each rule rejects its bad proposal.
 *
 * Every rule has a proposal that breaks it and nothing else, so the verdict
 * names that rule; good Python, C and sh proposals are accepted, which shows
 * the rejections are not the gate refusing everything. Tests that run code
 * skip when exec_probe says bubblewrap is unusable, and the program then
 * exits 77 (meson's skip), never 0; the pure checks (rule 1, the C/sh
 * scanners, the C/sh stubs) always run. The flaky reference needs
 * state that survives from one run to the next, which the sandbox forbids
 * (fresh work directory, private /tmp), so that one test runs without
 * isolation (EXEC_NONE) and keeps its counter in a host directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admission.h"
#include "exec.h"

static struct exec *sandboxed;      /* EXEC_BUBBLEWRAP, or NULL if unusable */
static struct exec *unsandboxed;    /* EXEC_NONE, or NULL if unusable       */
static struct exec *unprobed;       /* never probed: rule 1 needs no runs   */
static int sandbox_missing;         /* bubblewrap unusable here             */

static int group_setup(void **state)
{
    (void)state;
    char why[1024];
    struct exec_config cfg;
    exec_config_default(&cfg);
    if (exec_create(&cfg, &unprobed) != 0 || exec_create(&cfg, &sandboxed) != 0)
        return -1;
    if (exec_probe(sandboxed, why, sizeof why) != 0) {
        fprintf(stderr, "# bubblewrap unusable, sandbox tests skip: %s\n", why);
        exec_free(sandboxed);
        sandboxed = NULL;
        sandbox_missing = 1;
    }
    cfg.isolation = EXEC_NONE;
    if (exec_create(&cfg, &unsandboxed) != 0)
        return -1;
    if (exec_probe(unsandboxed, why, sizeof why) != 0) {
        fprintf(stderr, "# interpreters missing, the flaky test skips: %s\n", why);
        exec_free(unsandboxed);
        unsandboxed = NULL;
        sandbox_missing = 1;    /* a skipped test: the program is skipped */
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    exec_free(sandboxed);
    exec_free(unsandboxed);
    exec_free(unprobed);
    return 0;
}

#define NEED_SANDBOX() do { if (!sandboxed) { skip(); return; } } while (0)

static int contains(const char *hay, const char *needle)
{
    return hay && strstr(hay, needle) != NULL;
}

/* ---- a good Python proposal, and variations of it ----------------------- */

static const char py_reference[] =
    "def add(a, b):\n"
    "    \"\"\"The sum of a and b.\"\"\"\n"
    "    return a + b\n"
    "\n"
    "class Counter:\n"
    "    def __init__(self):\n"
    "        self.n = 0\n"
    "\n"
    "    def bump(self, k=1):\n"
    "        self.n += k\n"
    "        return self.n\n";

static const char py_tests[] =
    "assert add(1, 2) == 3\n"
    "def test_counter():\n"
    "    c = Counter()\n"
    "    assert c.bump() == 1\n";

static const char py_hidden[] =
    "assert add(-1, 1) == 0\n"
    "assert add(10**12, 1) == 10**12 + 1\n"
    "def test_counter_step():\n"
    "    c = Counter()\n"
    "    c.bump(2)\n"
    "    assert c.bump(3) == 5\n";

static struct admission_proposal py_proposal(const char *ref, const char *tests,
                                             const char *hidden)
{
    return (struct admission_proposal){
        .language = "python",
        .goal = "Write add(a, b) returning a + b, and a class Counter whose "
                "bump(k=1) adds k to a count starting at 0 and returns it.",
        .tests = tests, .hidden_tests = hidden, .reference = ref,
        .timeout_ms = 10000};
}

/* Runs the gate, which must judge (return 0), and checks the reason. */
static void expect(struct exec *ex, const struct admission_proposal *p,
                   enum admission_reason reason, struct admission_verdict *v)
{
    int rc = admission_check(ex, p, v);
    if (rc != 0 || v->reason != reason || getenv("TEST_VERBOSE"))
        fprintf(stderr, "# rc %d, %d runs, %.0f ms, verdict: %s\n", rc, v->runs,
                v->total_ms, v->message ? v->message : "(none)");
    assert_int_equal(rc, 0);
    assert_int_equal(v->reason, reason);
    assert_int_equal(v->accepted, reason == ADMISSION_ACCEPTED);
    assert_non_null(v->message);
    assert_null(strchr(v->message, '\n'));
    /* the message starts with the stable name */
    assert_int_equal(strncmp(v->message, admission_reason_name(reason),
                             strlen(admission_reason_name(reason))), 0);
    assert_true(v->total_ms >= 0);
}

/* ---- pure checks --------------------------------------------------------- */

static void test_reason_names(void **state)
{
    (void)state;
    assert_string_equal(admission_reason_name(ADMISSION_ACCEPTED), "accepted");
    assert_string_equal(admission_reason_name(ADMISSION_STUB_PASSES), "stub_passes");
    assert_string_equal(admission_reason_name(ADMISSION_TOO_SLOW), "too_slow");
    assert_string_equal(admission_reason_name(ADMISSION_REASON__COUNT), "unknown");
    /* every reason has a distinct name */
    for (int i = 0; i < ADMISSION_REASON__COUNT; i++)
        for (int j = i + 1; j < ADMISSION_REASON__COUNT; j++)
            assert_string_not_equal(admission_reason_name(i), admission_reason_name(j));
}

/* Rule 1: a missing hidden test set, and the other field limits. */
static void test_rule1_fields(void **state)
{
    (void)state;
    struct admission_verdict v;
    struct admission_proposal p = py_proposal(py_reference, py_tests, NULL);

    /* through the full gate: judged without a single run */
    expect(unprobed, &p, ADMISSION_MISSING_FIELD, &v);
    assert_int_equal(v.rule, 1);
    assert_true(contains(v.message, "hidden_tests"));
    assert_int_equal(v.runs, 0);
    admission_verdict_free(&v);
    assert_null(v.message);

    p.hidden_tests = " \n\t";
    assert_int_equal(admission_check_fields(&p, &v), 0);
    assert_int_equal(v.reason, ADMISSION_MISSING_FIELD);
    assert_true(contains(v.message, "hidden_tests"));
    admission_verdict_free(&v);

    p = py_proposal(py_reference, py_tests, py_hidden);
    assert_int_equal(admission_check_fields(&p, &v), 0);
    assert_true(v.accepted);
    assert_int_equal(v.reason, ADMISSION_ACCEPTED);
    admission_verdict_free(&v);

    char *big = malloc(ADMISSION_MAX_GOAL + 2);
    assert_non_null(big);
    memset(big, 'g', ADMISSION_MAX_GOAL + 1);
    big[ADMISSION_MAX_GOAL + 1] = '\0';
    p.goal = big;
    assert_int_equal(admission_check_fields(&p, &v), 0);
    assert_int_equal(v.reason, ADMISSION_TOO_LARGE);
    assert_true(contains(v.message, "8193"));
    admission_verdict_free(&v);
    big[ADMISSION_MAX_GOAL] = '\0';             /* exactly the limit */
    assert_int_equal(admission_check_fields(&p, &v), 0);
    assert_true(v.accepted);
    admission_verdict_free(&v);
    free(big);

    p = py_proposal(py_reference, py_tests, py_hidden);
    p.language = "cobol";
    assert_int_equal(admission_check_fields(&p, &v), 0);
    assert_int_equal(v.reason, ADMISSION_BAD_LANGUAGE);
    admission_verdict_free(&v);
    p.language = NULL;
    assert_int_equal(admission_check_fields(&p, &v), 0);
    assert_int_equal(v.reason, ADMISSION_MISSING_FIELD);
    admission_verdict_free(&v);

    p = py_proposal(py_reference, py_tests, py_hidden);
    p.timeout_ms = 0;
    assert_int_equal(admission_check_fields(&p, &v), 0);
    assert_int_equal(v.reason, ADMISSION_BAD_TIMEOUT);
    admission_verdict_free(&v);

    p.reference = "";
    p.timeout_ms = 1000;
    assert_int_equal(admission_check_fields(&p, &v), 0);
    assert_int_equal(v.reason, ADMISSION_MISSING_FIELD);
    assert_true(contains(v.message, "reference"));
    admission_verdict_free(&v);

    assert_int_equal(admission_check_fields(NULL, &v), -EINVAL);
    admission_verdict_free(&v);
    assert_int_equal(admission_check(NULL, &p, &v), -EINVAL);
    admission_verdict_free(&v);
}

/* Rule 3 for C and sh is text scanning: each banned construct is found on
 * its line, and the same words in comments or strings are not. */
static void test_rule3_c_sh_scanners(void **state)
{
    (void)state;
    static const struct {
        const char *lang, *src, *expect;     /* expect NULL: clean */
    } cases[] = {
        {"c", "#include <stdlib.h>\nint f(void) { return system(\"ls\"); }\n",
         "line 2: calls system()"},
        {"c", "#include <sys/socket.h>\nint x;\n", "line 1: includes <sys/socket.h>"},
        {"c", "#include <netinet/in.h>\n", "includes <netinet/in.h>"},
        {"c", "int f(void) { return rand() % 6; }\n", "calls rand()"},
        {"c", "int f(void) { srand(42); return rand() % 6; }\n", NULL},
        {"c", "int f(void) { srand(seed); return rand(); }\n", "calls rand()"},
        {"c", "long f(void) { return (long)time(NULL); }\n", "calls time()"},
        {"c", "int f(void) { return fork(); }\n", "processes"},
        {"c", "/* system(\"x\") */\nconst char *s = \"popen(\";\n"
              "struct t { int (*time)(void); };\nint g(struct t *p) { return p->time(); }\n",
         NULL},
        {"sh", "get() { curl -s http://example.com; }\n", "line 1: uses curl"},
        {"sh", "# we do not use curl here\nf() { echo hi; }\n", NULL},
        {"sh", "f() {\n  exec 3<>/dev/tcp/10.0.0.1/80\n}\n", "line 2: uses /dev/tcp/"},
        {"sh", "roll() { echo $(( RANDOM % 6 )); }\nx() { echo $RANDOM; }\n",
         "line 2: uses RANDOM"},
        {"sh", "RANDOM=42\nroll() { echo $(( $RANDOM % 6 )); }\n", NULL},
        {"sh", "now() { t=$(date +%s); echo $t; }\n", "uses date (the clock)"},
        {"sh", "f() { echo \"the due date\"; local nc=3; echo $nc; }\n", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *what = (char *)"unset";
        int rc = admission_find_banned(cases[i].lang, cases[i].src, &what);
        if ((rc == 1) != (cases[i].expect != NULL) ||
            (cases[i].expect && !contains(what, cases[i].expect)))
            fprintf(stderr, "# case %zu: rc %d what %s\n", i, rc, what ? what : "(null)");
        if (cases[i].expect) {
            assert_int_equal(rc, 1);
            assert_true(contains(what, cases[i].expect));
        } else {
            assert_int_equal(rc, 0);
            assert_null(what);
        }
        free(what);
    }
    char *what;
    assert_int_equal(admission_find_banned("python", "import socket\n", &what), -EINVAL);
    assert_int_equal(admission_find_banned("c", "int main(void){return fork();}", NULL), 1);
}

/* Rule 5's C and sh stubs, built as text. */
static void test_rule5_stub_sources(void **state)
{
    (void)state;
    const char *c_ref =
        "#include <string.h>\n"
        "#define TWICE(x) ((x) * 2)\n"
        "struct pair { int lo, hi; };\n"
        "static const int table[] = { 1, 2, 3 };\n"
        "/* a comment with a brace { */\n"
        "static inline int add(int a, int b) { return a + b + table[0] - 1; }\n"
        "struct pair order(int a, int b)\n{\n    struct pair p = { a, b };\n"
        "    if (a > b) { p.lo = b; p.hi = a; }\n    return p;\n}\n"
        "const char *name(void) { return \"}{\"; }\n"
        "void clear(int *a, int n) { memset(a, 0, sizeof *a * (size_t)n); }\n"
        "__attribute__((noinline)) double half(double x) { return x / 2; }\n";
    char *s = NULL;
    assert_int_equal(admission_stub_source("c", c_ref, &s), 0);
    assert_non_null(s);
    /* declarations and data stay, bodies go */
    assert_true(contains(s, "struct pair { int lo, hi; };"));
    assert_true(contains(s, "static const int table[] = { 1, 2, 3 };"));
    assert_true(contains(s, "#define TWICE(x) ((x) * 2)"));
    assert_true(contains(s, "static inline int add(int a, int b) "
                            "{ static int bt__stub_zero; return bt__stub_zero; }"));
    assert_true(contains(s, "{ static struct pair bt__stub_zero; return bt__stub_zero; }"));
    assert_true(contains(s, "{ static const char * bt__stub_zero; return bt__stub_zero; }"));
    assert_true(contains(s, "void clear(int *a, int n) { }"));
    assert_true(contains(s, "{ static double bt__stub_zero; return bt__stub_zero; }"));
    assert_false(contains(s, "a + b"));
    assert_false(contains(s, "memset"));
    assert_false(contains(s, "p.lo = b"));
    free(s);

    const char *sh_ref =
        "# add A B\n"
        "add() {\n  echo $(( $1 + $2 ))\n}\n"
        "function shout {\n  cat <<EOF\n${1^^}!\nEOF\n}\n"
        "add ( ) { echo $(( $1 + $2 )); }   # redefined: one stub\n";
    assert_int_equal(admission_stub_source("sh", sh_ref, &s), 0);
    assert_non_null(s);
    assert_int_equal(strncmp(s, sh_ref, strlen(sh_ref)), 0);   /* kept whole */
    assert_true(contains(s, "function add { return 1; }"));
    assert_true(contains(s, "function shout { return 1; }"));
    const char *first = strstr(s, "function add {");
    assert_null(strstr(first + 1, "function add {"));
    free(s);

    assert_int_equal(admission_stub_source("python", "def f(): pass\n", &s), -EINVAL);
    assert_null(s);
}

/* An executor whose sandbox cannot start is an internal failure, not a
 * rejection of the proposal. */
static void test_internal_failure(void **state)
{
    (void)state;
    struct exec_config cfg;
    exec_config_default(&cfg);
    cfg.bwrap = "/nonexistent/bwrap";
    struct exec *ex;
    assert_int_equal(exec_create(&cfg, &ex), 0);
    struct admission_proposal p = py_proposal(py_reference, py_tests, py_hidden);
    struct admission_verdict v;
    assert_int_equal(admission_check(ex, &p, &v), -EIO);
    assert_false(v.accepted);
    assert_int_equal(v.runs, 1);
    assert_true(contains(v.message, "sandbox"));
    admission_verdict_free(&v);
    exec_free(ex);
}

/* ---- rules that run code ------------------------------------------------ */

static void test_good_python_accepted(void **state)
{
    (void)state;
    NEED_SANDBOX();
    struct admission_proposal p = py_proposal(py_reference, py_tests, py_hidden);
    struct admission_verdict v;
    expect(sandboxed, &p, ADMISSION_ACCEPTED, &v);
    assert_int_equal(v.rule, 0);
    assert_int_equal(v.visible_tests, 2);
    assert_int_equal(v.hidden_tests, 3);
    assert_int_equal(v.ref_visible_passed, 2);
    assert_int_equal(v.ref_hidden_passed, 3);
    assert_int_equal(v.stub_visible_passed, 0);
    assert_int_equal(v.stub_hidden_passed, 0);
    assert_int_equal(v.empty_visible_passed, 0);
    assert_int_equal(v.empty_hidden_passed, 0);
    assert_int_equal(v.runs, 9);      /* check, 2x2 reference, 2 stub, 2 empty */
    assert_true(v.ref_wall_ms > 0 && v.ref_wall_ms < 5000);
    assert_int_equal(v.timeout_ms, 10000);
    admission_verdict_free(&v);
}

static void test_rule2_syntax_error_in_tests(void **state)
{
    (void)state;
    NEED_SANDBOX();
    struct admission_proposal p = py_proposal(
        py_reference, "assert add(1, 2) == 3\nassert add(2 2) == 4\n", py_hidden);
    struct admission_verdict v;
    expect(sandboxed, &p, ADMISSION_SYNTAX_ERROR, &v);
    assert_int_equal(v.rule, 2);
    assert_true(contains(v.message, "tests does not compile"));
    assert_true(contains(v.message, "line 2"));
    assert_int_equal(v.runs, 1);
    admission_verdict_free(&v);

    /* parsing but holding no test is refused too */
    p = py_proposal(py_reference, py_tests, "expected = 3\nprint(add(1, 2))\n");
    expect(sandboxed, &p, ADMISSION_NO_TESTS, &v);
    assert_true(contains(v.message, "hidden_tests holds no test"));
    assert_int_equal(v.visible_tests, 2);
    assert_int_equal(v.hidden_tests, 0);
    admission_verdict_free(&v);
}

static void test_rule3_socket_in_reference(void **state)
{
    (void)state;
    NEED_SANDBOX();
    char ref[sizeof py_reference + 64];
    snprintf(ref, sizeof ref, "import socket\n%s", py_reference);
    struct admission_proposal p = py_proposal(ref, py_tests, py_hidden);
    struct admission_verdict v;
    expect(sandboxed, &p, ADMISSION_BANNED, &v);
    assert_int_equal(v.rule, 3);
    assert_true(contains(v.message, "reference line 1: imports socket"));
    admission_verdict_free(&v);

    /* reached through an alias and a from-import, in the hidden tests */
    p = py_proposal(py_reference, py_tests,
                    "from os import system as run\nassert add(1, 1) == 2\n");
    expect(sandboxed, &p, ADMISSION_BANNED, &v);
    assert_true(contains(v.message, "hidden_tests line 1"));
    assert_true(contains(v.message, "os.system"));
    admission_verdict_free(&v);
}

static void test_rule3_unseeded_random_in_tests(void **state)
{
    (void)state;
    NEED_SANDBOX();
    struct admission_proposal p = py_proposal(
        py_reference,
        "import random\nx = random.random()\nassert add(x, 0) == x\n", py_hidden);
    struct admission_verdict v;
    expect(sandboxed, &p, ADMISSION_BANNED, &v);
    assert_true(contains(v.message, "tests line"));
    assert_true(contains(v.message, "random"));
    admission_verdict_free(&v);

    /* the same with a constant seed is a fine, reproducible test */
    p.tests = "import random\nrandom.seed(7)\nx = random.random()\nassert add(x, 0) == x\n";
    expect(sandboxed, &p, ADMISSION_ACCEPTED, &v);
    admission_verdict_free(&v);

    /* reading the clock is refused however the name was imported */
    p.tests = "from datetime import datetime as dt\nassert add(dt.now().year, 0) > 2000\n";
    expect(sandboxed, &p, ADMISSION_BANNED, &v);
    assert_true(contains(v.message, "datetime.datetime.now"));
    admission_verdict_free(&v);
}

static void test_rule4_reference_fails_hidden(void **state)
{
    (void)state;
    NEED_SANDBOX();
    /* right for the visible tests, wrong for negative numbers */
    const char *ref =
        "def add(a, b):\n    return abs(a) + b\n\n"
        "class Counter:\n    def __init__(self):\n        self.n = 0\n"
        "    def bump(self, k=1):\n        self.n += k\n        return self.n\n";
    struct admission_proposal p = py_proposal(ref, py_tests, py_hidden);
    struct admission_verdict v;
    expect(sandboxed, &p, ADMISSION_REFERENCE_FAILS, &v);
    assert_int_equal(v.rule, 4);
    assert_true(contains(v.message, "passes 2 of 3 hidden tests"));
    assert_true(contains(v.message, "assert_line_1"));
    assert_int_equal(v.ref_visible_passed, 2);
    assert_int_equal(v.ref_hidden_passed, 2);
    assert_int_equal(v.runs, 5);
    admission_verdict_free(&v);
}

/* Removes the flaky test's counter directory and what runs left in it. */
static void remove_dir(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char *f;
            if (asprintf(&f, "%s/%s", path, e->d_name) >= 0) {
                unlink(f);
                free(f);
            }
        }
        closedir(d);
    }
    rmdir(path);
}

/* A reference that passes its first run and fails every later one: it
 * counts its runs in a directory outside the work directory. Inside
 * bubblewrap nothing survives a run, so this runs without isolation; the
 * gate's logic is the same. */
static void test_rule4_flaky_reference(void **state)
{
    (void)state;
    if (!unsandboxed) {
        skip();
        return;
    }
    char dir[] = "/tmp/test_admission.XXXXXX";
    assert_non_null(mkdtemp(dir));
    /* runs use a uid of their own when we are root */
    assert_int_equal(chmod(dir, 0777), 0);
    char ref[1024];
    snprintf(ref, sizeof ref,
             "import os\n"
             "_D = %s%s%s\n"
             "_RUN = len(os.listdir(_D))\n"
             "open(os.path.join(_D, 'run%%d-%%d' %% (_RUN, os.getpid())), 'w').close()\n"
             "def add(a, b):\n    return a + b if _RUN == 0 else a - b\n"
             "class Counter:\n    def __init__(self):\n        self.n = 0\n"
             "    def bump(self, k=1):\n        self.n += k\n        return self.n\n",
             "'", dir, "'");
    struct admission_proposal p = py_proposal(ref, py_tests, py_hidden);
    struct admission_verdict v;
    expect(unsandboxed, &p, ADMISSION_FLAKY, &v);
    assert_int_equal(v.rule, 4);
    assert_true(contains(v.message, "visible tests disagree"));
    assert_true(contains(v.message, "2 of 2 passed (ok), then 1 of 2"));
    admission_verdict_free(&v);
    remove_dir(dir);
}

static void test_rule5_stub_passes(void **state)
{
    (void)state;
    NEED_SANDBOX();
    /* tests that assert nothing about the solution */
    struct admission_proposal p = py_proposal(py_reference, "assert True\nassert 1 + 1 == 2\n",
                                              py_hidden);
    struct admission_verdict v;
    expect(sandboxed, &p, ADMISSION_STUB_PASSES, &v);
    assert_int_equal(v.rule, 5);
    assert_true(contains(v.message, "raises NotImplementedError passes all 2 visible tests"));
    assert_int_equal(v.stub_visible_passed, 2);
    admission_verdict_free(&v);

    /* good visible tests do not excuse hollow hidden ones */
    p = py_proposal(py_reference, py_tests,
                    "def test_exists():\n    assert callable(add)\n");
    expect(sandboxed, &p, ADMISSION_STUB_PASSES, &v);
    assert_true(contains(v.message, "all 1 hidden tests"));
    assert_int_equal(v.stub_visible_passed, 0);
    assert_int_equal(v.stub_hidden_passed, 1);
    admission_verdict_free(&v);
}

static void test_rule5_empty_passes(void **state)
{
    (void)state;
    NEED_SANDBOX();
    /* tests that bring their own answer when the solution has none: the
     * stub's add raises, the empty solution's add is the tests' own */
    struct admission_proposal p = py_proposal(
        py_reference,
        "assert globals().get('add', lambda a, b: a + b)(1, 2) == 3\n",
        "assert globals().get('add', lambda a, b: a + b)(2, 2) == 4\n");
    struct admission_verdict v;
    expect(sandboxed, &p, ADMISSION_EMPTY_PASSES, &v);
    assert_int_equal(v.rule, 5);
    assert_int_equal(v.stub_visible_passed, 0);
    assert_int_equal(v.empty_visible_passed, 1);
    admission_verdict_free(&v);
}

static void test_rule6_too_slow(void **state)
{
    (void)state;
    NEED_SANDBOX();
    /* 400 ms of a 600 ms timeout; on a very loaded machine the run may hit
     * the timeout instead, which is too_slow as well */
    struct admission_proposal p = py_proposal(
        "import time\ndef slow_add(a, b):\n    time.sleep(0.4)\n    return a + b\n",
        "assert slow_add(1, 2) == 3\n", "assert slow_add(2, 2) == 4\n");
    p.timeout_ms = 600;
    struct admission_verdict v;
    expect(sandboxed, &p, ADMISSION_TOO_SLOW, &v);
    assert_int_equal(v.rule, 6);
    assert_true(v.ref_wall_ms >= 400);
    assert_int_equal(v.timeout_ms, 600);
    admission_verdict_free(&v);
}

static const char c_reference[] =
    "#include <stdlib.h>\n"
    "#include <string.h>\n"
    "\n"
    "struct pair { int lo, hi; };\n"
    "\n"
    "/* {smaller, larger} */\n"
    "static struct pair order(int a, int b)\n"
    "{\n"
    "    struct pair p = { a < b ? a : b, a < b ? b : a };\n"
    "    return p;\n"
    "}\n"
    "\n"
    "int add(int a, int b) { return a + b; }\n"
    "\n"
    "char *repeat(const char *s, int n)\n"
    "{\n"
    "    size_t len = strlen(s);\n"
    "    char *out = malloc(len * (size_t)n + 1);\n"
    "    if (!out)\n"
    "        return NULL;\n"
    "    for (int i = 0; i < n; i++)\n"
    "        memcpy(out + len * (size_t)i, s, len);\n"
    "    out[len * (size_t)n] = '\\0';\n"
    "    return out;\n"
    "}\n"
    "\n"
    "void fill(int *a, int n, int v) { for (int i = 0; i < n; i++) a[i] = v; }\n";

static void test_good_c_accepted(void **state)
{
    (void)state;
    NEED_SANDBOX();
    struct admission_proposal p = {
        .language = "c",
        .goal = "Write add, repeat, fill and the static order(a, b) returning a struct pair.",
        .tests = "#include <assert.h>\n#include <string.h>\n"
                 "void test_add(void) { assert(add(2, 3) == 5); }\n"
                 "void test_repeat(void)\n{\n    char *s = repeat(\"ab\", 3);\n"
                 "    assert(s && strcmp(s, \"ababab\") == 0);\n    free(s);\n}\n",
        .hidden_tests = "#include <assert.h>\n"
                        "void test_order(void) { struct pair p = order(5, 2); "
                        "assert(p.lo == 2 && p.hi == 5); }\n"
                        "void test_fill(void) { int a[3] = {0}; fill(a, 3, 7); "
                        "assert(a[0] == 7 && a[2] == 7); }\n"
                        "void test_add_negative(void) { assert(add(-4, 4) == 0); }\n",
        .reference = c_reference,
        .timeout_ms = 10000};
    struct admission_verdict v;
    expect(sandboxed, &p, ADMISSION_ACCEPTED, &v);
    assert_int_equal(v.visible_tests, 2);
    assert_int_equal(v.hidden_tests, 3);
    assert_int_equal(v.stub_visible_passed, 0);
    /* add(-4, 4) == 0 holds for a stub returning 0 too: one passing test
     * is fine as long as another fails */
    assert_int_equal(v.stub_hidden_passed, 1);
    admission_verdict_free(&v);

    /* a test that does not compile with the reference */
    p.tests = "#include <assert.h>\nvoid test_add(void) { assert(add(2, 3) == 5) }\n";
    expect(sandboxed, &p, ADMISSION_SYNTAX_ERROR, &v);
    assert_true(contains(v.message, "tests do not compile with the reference"));
    assert_true(contains(v.message, "tests.c:2"));
    admission_verdict_free(&v);
}

static void test_good_sh_accepted(void **state)
{
    (void)state;
    NEED_SANDBOX();
    struct admission_proposal p = {
        .language = "sh",
        .goal = "Write bash functions add A B (prints the sum) and shout WORD "
                "(prints it in capitals with a '!').",
        .tests = "test_add() { [ \"$(add 2 3)\" = 5 ]; }\n",
        .hidden_tests = "test_add_negative() { [ \"$(add -2 2)\" = 0 ]; }\n"
                        "function test_shout { [ \"$(shout hi)\" = 'HI!' ]; }\n",
        .reference = "# add A B: prints the sum\nadd() {\n    echo $(( $1 + $2 ))\n}\n"
                     "function shout {\n    printf '%s!\\n' \"${1^^}\"\n}\n",
        .timeout_ms = 10000};
    struct admission_verdict v;
    expect(sandboxed, &p, ADMISSION_ACCEPTED, &v);
    assert_int_equal(v.visible_tests, 1);
    assert_int_equal(v.hidden_tests, 2);
    assert_int_equal(v.ref_hidden_passed, 2);
    assert_int_equal(v.stub_hidden_passed, 0);
    admission_verdict_free(&v);

    p.hidden_tests = "test_add_negative() { [ \"$(add -2 2)\" = 0 ]\n";
    expect(sandboxed, &p, ADMISSION_SYNTAX_ERROR, &v);
    assert_true(contains(v.message, "hidden_tests does not parse"));
    admission_verdict_free(&v);

    p.hidden_tests = "test_fetch() { curl -s http://example.com >/dev/null; add 1 1; }\n";
    expect(sandboxed, &p, ADMISSION_BANNED, &v);
    assert_true(contains(v.message, "hidden_tests line 1: uses curl"));
    admission_verdict_free(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reason_names),
        cmocka_unit_test(test_rule1_fields),
        cmocka_unit_test(test_rule3_c_sh_scanners),
        cmocka_unit_test(test_rule5_stub_sources),
        cmocka_unit_test(test_internal_failure),
        cmocka_unit_test(test_good_python_accepted),
        cmocka_unit_test(test_rule2_syntax_error_in_tests),
        cmocka_unit_test(test_rule3_socket_in_reference),
        cmocka_unit_test(test_rule3_unseeded_random_in_tests),
        cmocka_unit_test(test_rule4_reference_fails_hidden),
        cmocka_unit_test(test_rule4_flaky_reference),
        cmocka_unit_test(test_rule5_stub_passes),
        cmocka_unit_test(test_rule5_empty_passes),
        cmocka_unit_test(test_rule6_too_slow),
        cmocka_unit_test(test_good_c_accepted),
        cmocka_unit_test(test_good_sh_accepted),
    };
    int failed = cmocka_run_group_tests(tests, group_setup, group_teardown);
    /* Without a sandbox the containment tests could only skip: report the
     * program as skipped (77, meson's code), not as passed, unless a test
     * that did run failed. */
    return failed ? 1 : sandbox_missing ? 77 : 0;
}
