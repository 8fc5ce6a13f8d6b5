/* admission.h -- the gate a Trainer-proposed task must pass before it is queued.
 *
 * The Trainer asks the LLM for a task: a goal, visible tests, hidden tests,
 * a reference solution. An LLM writes broken tests, tests that prove nothing
 * and references that do not work, and a bad task teaches the Builder the
 * wrong thing or scores it unfairly. This module checks a proposal by running
 * it in the sandbox (exec.h) and either accepts it or names the first rule it
 * breaks. It uses exec.h and cJSON only: nothing of the store, the LLM or the
 * file system. docs/admission.md is the same rules written as a guide to
 * writing tasks.
 *
 * The rules, checked in this order; the first one broken is the verdict:
 *
 *  1. Fields. language is "python", "c" or "sh"; goal is 1..8192 bytes;
 *     tests, hidden_tests and reference are 1..65536 bytes each and not only
 *     white space; timeout_ms is 1..3600000. (missing_field, too_large,
 *     bad_language, bad_timeout)
 *  2. Parsing. The reference, the visible tests and the hidden tests parse:
 *     Python through compile (ast.parse) in the sandbox; C through
 *     `gcc -fsyntax-only` of the reference alone and of the reference joined
 *     with each test file the way the harness joins them; sh through
 *     `bash -n`. The message carries the compiler's words and the line.
 *     (syntax_error) Then each test file holds at least one test under the
 *     protocol of docs/sandbox.md: Python top-level asserts and `def test_*`,
 *     C `void test_NAME(void) {`, sh functions `test_*`. (no_tests)
 *  3. Banned constructs in the reference and both test files, which make a
 *     task depend on the network, other processes, the clock or unseeded
 *     randomness. Python is checked by an AST walk in the sandbox: imports of
 *     socket, ssl, http, urllib, requests (and other network modules),
 *     subprocess, multiprocessing, threading, _thread, concurrent, ctypes,
 *     cffi, secrets; calls os.system, os.popen, os.exec*, os.spawn*, os.fork,
 *     os.posix_spawn*, os.kill, os.urandom, time.time (and the other clock
 *     reads of time), datetime.now / utcnow / today, date.today, uuid1/uuid4,
 *     random.SystemRandom; __import__ / importlib.import_module of a banned
 *     module or of a name computed at run time; and any use of `random`
 *     without a random.seed(<constant>) or random.Random(<constant>) call in
 *     the same file or the reference (the tests run in the solution's
 *     namespace, so they see its imports and its seed). C, scanned here
 *     without comments and strings: includes of
 *     <sys/socket.h>, <netinet/...>, <arpa/...>, <netdb.h>, <sys/un.h>,
 *     <ifaddrs.h>, <pthread.h>, <threads.h>, <spawn.h>; calls system,
 *     popen, fork, vfork, exec*, posix_spawn*, pthread_create, thrd_create,
 *     socket, time, clock, gettimeofday, clock_gettime, ftime, getrandom,
 *     getentropy, arc4random; rand/random/[dlm]rand48 without a call of
 *     srand/srandom/srand48 with an integer literal. sh, without
 *     comments: the words curl, wget, nc, ncat, netcat, socat, ssh, scp,
 *     sftp, telnet, ftp, rsync; /dev/tcp, /dev/udp, /dev/urandom,
 *     /dev/random; $RANDOM without RANDOM=<integer>; $SRANDOM,
 *     $EPOCHSECONDS, $EPOCHREALTIME; `date` as a command. (banned)
 *  4. The reference passes every visible and every hidden test, run twice
 *     each (four sandbox runs, with the proposal's timeout). When the two
 *     runs of a suite disagree (outcome or tests passed) the verdict is
 *     flaky, otherwise a failing run is reference_fails with the first
 *     failure. A run that hits the timeout is too_slow (rule 6) at once.
 *     Python runs get a random hash seed each, so a test that depends on the
 *     iteration order of a set of strings may show up as flaky.
 *  5. Stubs fail the tests. The stub is the reference with every function
 *     body replaced: Python, every def (methods included) keeps its
 *     signature and docstring and its body becomes
 *     `raise NotImplementedError`; C, every function definition returns a
 *     zero of its return type (0, NULL, a zeroed struct, nothing for void);
 *     sh, every function the reference defines is redefined after it as
 *     `{ return 1; }`. It must fail at least one visible AND at least one
 *     hidden test (stub_passes); a C stub that does not compile is
 *     stub_unbuildable. The empty solution (Python `pass`, an empty C or sh
 *     file) must fail at least one visible and one hidden test too
 *     (empty_passes).
 *  6. Time. The slowest of the reference's four runs (wall time of the run,
 *     not of compiling) is under half the timeout. (too_slow)
 *
 * The timeout the runs use is the proposal's, clamped to the executor's
 * maximum (exec_config(ex)->max.timeout_ms); rule 6 compares with that.
 *
 * Threads: admission_check may run in any thread, concurrently on the same
 * executor (exec.h allows it). There is no global state.
 */
#ifndef BT_ADMISSION_H
#define BT_ADMISSION_H

#include <stddef.h>

struct exec;

/* Limits of rule 1 (bytes, milliseconds). */
#define ADMISSION_MAX_GOAL        8192
#define ADMISSION_MAX_SOURCE      65536     /* tests, hidden_tests, reference */
#define ADMISSION_MAX_TIMEOUT_MS  3600000L

/* A proposed task. Every string is NUL-terminated and owned by the caller;
 * admission_check only reads them. */
struct admission_proposal {
    const char *language;       /* "python", "c" or "sh"                    */
    const char *goal;           /* what the Builder is asked to do          */
    const char *tests;          /* visible tests (docs/sandbox.md protocol) */
    const char *hidden_tests;   /* hidden tests, same protocol              */
    const char *reference;      /* a solution; never shown to the Builder   */
    long timeout_ms;            /* the task's wall-clock limit per run      */
};

/* Why a proposal was refused. Names are stable (trainer_log.json). */
enum admission_reason {
    ADMISSION_ACCEPTED = 0,     /* "accepted"                                */
    ADMISSION_MISSING_FIELD,    /* "missing_field": NULL, empty or blank     */
    ADMISSION_TOO_LARGE,        /* "too_large": over its byte limit          */
    ADMISSION_BAD_LANGUAGE,     /* "bad_language": not python, c or sh       */
    ADMISSION_BAD_TIMEOUT,      /* "bad_timeout": outside 1..3600000 ms      */
    ADMISSION_SYNTAX_ERROR,     /* "syntax_error": a source does not parse   */
    ADMISSION_NO_TESTS,         /* "no_tests": a test file holds no test     */
    ADMISSION_BANNED,           /* "banned": network, processes, clock...    */
    ADMISSION_REFERENCE_FAILS,  /* "reference_fails": a test fails           */
    ADMISSION_FLAKY,            /* "flaky": two runs disagree                */
    ADMISSION_STUB_PASSES,      /* "stub_passes": the stub passes a suite    */
    ADMISSION_STUB_UNBUILDABLE, /* "stub_unbuildable": C stub won't compile  */
    ADMISSION_EMPTY_PASSES,     /* "empty_passes": an empty solution passes  */
    ADMISSION_TOO_SLOW,         /* "too_slow": >= half the timeout, or over  */
    ADMISSION_REASON__COUNT
};

/* The stable name of a reason, e.g. "stub_passes"; "unknown" when out of
 * range. Never NULL. */
const char *admission_reason_name(enum admission_reason r);

/* What admission_check found. admission_verdict_free() releases it. */
struct admission_verdict {
    int accepted;               /* 1: every rule holds                      */
    enum admission_reason reason;   /* ADMISSION_ACCEPTED when accepted      */
    int rule;                   /* the rule (1..6) broken; 0 when accepted  */
    char *message;              /* malloc'd, one line: "stub_passes: a stub
                                   that raises NotImplementedError passes
                                   all 5 hidden tests"; for an accepted one
                                   a summary; NULL only after an internal
                                   failure that left no words               */
    int visible_tests;          /* tests counted by the protocol (rule 2)   */
    int hidden_tests;
    int ref_visible_passed;     /* the reference's first run of each suite  */
    int ref_hidden_passed;
    int stub_visible_passed;    /* rule 5; -1 when not run                   */
    int stub_hidden_passed;
    int empty_visible_passed;
    int empty_hidden_passed;
    double ref_wall_ms;         /* slowest reference run (rule 6)           */
    long timeout_ms;            /* the timeout the runs used                */
    double total_ms;            /* the whole check, wall clock              */
    int runs;                   /* sandbox runs made                        */
};

/* Checks a proposal against the rules above, in order, stopping at the
 * first one broken. Blocks the calling thread for the sandbox runs: up to
 * 9 of them (one check run, four reference runs, two stub runs, two runs
 * of the empty solution), each bounded by the task's timeout (the check
 * run by 30 s; C compiles get exec.h's 20 s floor on top). A good Python
 * proposal takes about 0.3 s on 2 cores, a C one about 1.2 s.
 *
 * Returns 0 whenever the proposal could be judged, accepted or not: see
 * v->accepted, v->reason and v->message. Returns a negative errno only when
 * the check itself failed; then v->accepted is 0, v->reason means nothing
 * and v->message ("internal: ...") says why when it could: -EINVAL for a
 * NULL argument, -ENOMEM, -EIO when the sandbox could not run (an exec_run
 * error, the outcome sandbox_error, or the checker itself failing),
 * -EPROTO when the sandboxed checker printed something unreadable. *v is
 * always initialised (if v is non-NULL) and is the caller's to free with
 * admission_verdict_free, whatever the return. Nothing of the proposal is
 * kept. */
int admission_check(struct exec *ex, const struct admission_proposal *p,
                    struct admission_verdict *v);

/* Rule 1 alone: pure, no sandbox. Fills *v like admission_check (rule 1
 * broken, or accepted meaning "rule 1 holds"). Returns 0, -EINVAL for a
 * NULL argument, or -ENOMEM. */
int admission_check_fields(const struct admission_proposal *p,
                           struct admission_verdict *v);

/* Releases what a verdict holds and zeroes it. Accepts a zeroed verdict. */
void admission_verdict_free(struct admission_verdict *v);

/* The stub of rule 5 for a C or sh reference: pure text work. *out gets a
 * malloc'd NUL-terminated source (caller frees). Returns 0, -ENOMEM, or
 * -EINVAL for a NULL argument or another language (Python stubs are built
 * by the sandboxed checker, from the real syntax tree). */
int admission_stub_source(const char *language, const char *reference,
                          char **out);

/* Rule 3 for a C or sh source: pure text work. Returns 1 when a banned
 * construct is found, with *what (if what is non-NULL) a malloc'd
 * description such as "line 4: calls system()"; 0 when clean (*what NULL);
 * -EINVAL for a NULL source or another language; -ENOMEM. */
int admission_find_banned(const char *language, const char *source,
                          char **what);

#endif /* BT_ADMISSION_H */
