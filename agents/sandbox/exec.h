/* exec.h -- run untrusted generated code in a sandbox, with limits and tests.
 *
 * The Builder runs code an LLM wrote. This module writes the code (and any
 * extra files) into a fresh private work directory, runs it under
 * bubblewrap (bwrap) with no network, its own PID/IPC/UTS/user namespaces, a
 * read-only system, a private /tmp and only the work directory writable,
 * applies resource limits, kills the whole process tree at a wall-clock
 * timeout, captures capped stdout/stderr, and removes the work directory.
 * With tests it runs them through a harness that counts each test on its
 * own (the protocol is in docs/sandbox.md). It knows nothing of the store or
 * the filesystem; the caller logs exec_result_summary() to logs/shell.log.
 *
 * Processes. exec_run forks one child per step (a compile step for C, then
 * the run) and waits for it in the calling thread. The child sets its
 * limits, drops to a per-run uid when the caller is root (RLIMIT_NPROC does
 * not apply to uid 0, and a fresh uid keeps runs apart), closes every
 * inherited descriptor and execs bwrap. At the timeout the calling thread
 * SIGKILLs bwrap's process group; bwrap's --die-with-parent and the end of
 * its PID namespace take every process the code started with it, daemons
 * included.
 *
 * Threads. Every function may be called from any thread; exec_run calls in
 * different threads run concurrently and never share a work directory or a
 * per-run uid (within one process). Nothing is global except an atomic run
 * counter. Descriptors the module creates are close-on-exec, so runs do not
 * leak pipes into one another.
 */
#ifndef BT_EXEC_H
#define BT_EXEC_H

#include <stddef.h>

/* How code is isolated. */
enum exec_isolation {
    EXEC_BUBBLEWRAP = 0,    /* bwrap: namespaces, read-only system, limits */
    EXEC_NONE,              /* limits only; for BT_SANDBOX=none, unsafe    */
};

/* The stable name: "bubblewrap" or "none". Never NULL. */
const char *exec_isolation_name(enum exec_isolation iso);

/* Resource limits for one run. 0 in a field means "use the default" of
 * exec_limits_default(), never "unlimited". */
struct exec_limits {
    long timeout_ms;        /* wall clock for the run (and for the compile
                               step of C, with a floor of 20 s)            */
    long cpu_s;             /* RLIMIT_CPU, seconds                          */
    long memory_mb;         /* RLIMIT_AS, MiB                               */
    long procs;             /* RLIMIT_NPROC: processes of the run           */
    long file_mb;           /* RLIMIT_FSIZE: largest file written, MiB      */
    long output_kb;         /* cap on each of stdout and stderr, KiB        */
    long nofile;            /* RLIMIT_NOFILE                                */
};

/* Defaults: timeout 10 s, cpu 10 s, memory 512 MiB, 64 processes, files
 * 16 MiB, output 64 KiB each, 256 descriptors. Can't fail. */
void exec_limits_default(struct exec_limits *lim);

/* Module settings. exec_config_default() fills the defaults. */
struct exec_config {
    enum exec_isolation isolation;
    const char *bwrap;      /* bwrap program; a name is searched in PATH    */
    const char *work_base;  /* where work directories are made ("/tmp")     */
    unsigned run_uid_base;  /* when root: runs use uids base..base+count-1  */
    unsigned run_uid_count; /* (defaults 200000 and 4096)                   */
    struct exec_limits limits;      /* defaults for requests without their own */
    struct exec_limits max;         /* ceiling: request limits are clamped to it
                                       (a task's timeout_s applies within it) */
};

/* isolation EXEC_BUBBLEWRAP, bwrap "bwrap", work_base "/tmp", uids
 * 200000 x 4096, limits exec_limits_default(), max: timeout 120 s, cpu
 * 120 s, memory 4096 MiB, 256 processes, files 256 MiB, output 1 MiB, 1024
 * descriptors. Can't fail. */
void exec_config_default(struct exec_config *cfg);

struct exec;

/* Creates the executor. cfg's strings are copied and bwrap is resolved to
 * a path now (not in the forked child). With EXEC_BUBBLEWRAP it makes the
 * calling process a child subreaper (PR_SET_CHILD_SUBREAPER): bwrap exits
 * before its namespace's init is reaped, and the init (which holds the
 * code's CPU time and peak memory) must come back to us to be measured.
 * exec_run reaps only its own runs' processes; orphans of any other origin
 * that are re-parented to the process are the caller's to reap. Returns 0, -ENOMEM, or -EINVAL for
 * a zero limit in cfg->max or a uid range that does not fit. Does not
 * check that the sandbox works: call exec_probe. */
int exec_create(const struct exec_config *cfg, struct exec **out);

/* Frees the executor. No exec_run may be in progress. Accepts NULL. */
void exec_free(struct exec *ex);

/* The configuration in use (owned by ex, valid until exec_free). */
const struct exec_config *exec_config(const struct exec *ex);

/* Checks that the configured isolation works here by running a trivial
 * command (/bin/true) the way exec_run would, as the per-run uid. Returns
 * 0, or a negative errno with a message in why saying what to install or
 * allow: -ENOENT "bwrap not found: apt-get install bubblewrap", -EPERM
 * "bwrap cannot create namespaces: ... allow unprivileged user namespaces
 * ... or run with CAP_SYS_ADMIN" (or, when /proc cannot be mounted, the
 * container option that allows it), -ENOEXEC when python3, bash or gcc is
 * missing (which ones is named). EXEC_NONE probes only the interpreters.
 * why is always NUL-terminated (truncated to len); may be NULL. */
int exec_probe(struct exec *ex, char *why, size_t len);

/* One extra file for the work directory. name is relative, with no ".."
 * component and no leading '/'; subdirectories are created. */
struct exec_file {
    const char *name;
    const char *content;    /* len bytes, need not be NUL-terminated */
    size_t len;
};

/* What to run. */
struct exec_request {
    const char *lang;       /* "python", "sh" (bash) or "c"                 */
    const char *code;       /* the program's source, NUL-terminated         */
    const struct exec_file *files;  /* extra files, or NULL                 */
    size_t nfiles;
    const char *stdin_data; /* fed as stdin (a file), or NULL for empty     */
    size_t stdin_len;
    const char *tests;      /* test source (docs/sandbox.md), or NULL for a
                               plain run                                    */
    const struct exec_limits *limits;   /* NULL: the configured defaults;
                                           zero fields take the defaults;
                                           all clamped to the maximum        */
};

/* How a run ended, most specific first. Names are stable (logs). */
enum exec_outcome {
    EXEC_OK = 0,            /* "ok": exit 0 (and, for tests, all passed)    */
    EXEC_TESTS_FAILED,      /* "tests_failed": some test did not pass       */
    EXEC_FAILED,            /* "failed": non-zero exit                      */
    EXEC_CRASHED,           /* "crashed": killed by a signal (segfault...)  */
    EXEC_TIMEOUT,           /* "timeout": wall-clock limit, tree killed     */
    EXEC_COMPILE_ERROR,     /* "compile_error": gcc failed (C only)         */
    EXEC_SYNTAX_ERROR,      /* "syntax_error": python/bash rejected the code */
    EXEC_SANDBOX_ERROR,     /* "sandbox_error": bwrap itself failed         */
    EXEC_OUTCOME__COUNT
};

const char *exec_outcome_name(enum exec_outcome o);

/* The outcome of exec_run. exec_result_free() releases it. */
struct exec_result {
    enum exec_outcome outcome;
    int exited;             /* 1: exited normally, with exit_code           */
    int exit_code;
    int signaled;           /* 1: killed by signal                          */
    int signal;
    int timed_out;          /* 1: the wall-clock timeout killed the tree    */
    int compile_failed;     /* 1: C did not compile; err holds gcc's words  */
    double wall_ms;         /* the run step (C: without compiling)          */
    double cpu_ms;          /* user+system of the run step's process tree   */
    double compile_ms;      /* C: wall time of the compile step, else 0     */
    long peak_rss_kb;       /* largest resident set in the tree             */
    char *out;              /* stdout, NUL-terminated, malloc'd, capped     */
    size_t out_len;
    int out_truncated;      /* 1: more was written and discarded            */
    char *err;              /* stderr (or compiler messages), same rules    */
    size_t err_len;
    int err_truncated;
    int tests_total;        /* test runs: tests found (0 for plain runs)    */
    int tests_passed;
    char *first_failure;    /* test runs: "name: message" of the first test
                               that did not pass, malloc'd, or NULL         */
    char *command;          /* for the log: "bwrap ... python3 main.py"     */
    struct exec_limits limits;  /* the limits actually applied              */
};

/* Runs req in a fresh work directory under the executor's isolation and
 * fills *res (which the caller frees with exec_result_free whatever the
 * return). Blocks the calling thread for at most about the timeout (twice
 * for C: compile, then run). Returns 0 when the code ran, whatever it did
 * (see res->outcome); -EINVAL for an unknown language, a missing code or a
 * bad file name; -ENOMEM; -EIO (or the errno) when the work directory, a
 * pipe or fork failed. On error *res holds no output but may hold command. */
int exec_run(struct exec *ex, const struct exec_request *req,
             struct exec_result *res);

/* Releases what a result holds and zeroes it. Accepts a zeroed result. */
void exec_result_free(struct exec_result *res);

/* Totals over every exec_run that ran code, for logs/runtime.json. */
struct exec_stats {
    unsigned long long runs;
    unsigned long long timeouts;
    double wall_ms;             /* run and compile steps                */
    double total_ms;            /* whole runs: the work directory made,
                                 * the steps, the directory removed      */
    double cpu_ms;
};

/* Copies the totals. Can't fail. */
void exec_stats_get(struct exec *ex, struct exec_stats *out);

/* One line for logs/shell.log: the command, the limits and the outcome,
 * e.g. "python bubblewrap timeout=10000ms cpu=10s mem=512M procs=64
 * -> ok exit=0 wall=23.1ms cpu=18.0ms rss=9012k out=2B err=0B tests=3/3".
 * malloc'd, caller frees; NULL when out of memory. */
char *exec_result_summary(const struct exec_request *req,
                          const struct exec_result *res);

#endif /* BT_EXEC_H */
