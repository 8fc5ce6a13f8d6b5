/* bench_eval.c -- benchmark sets through the loop: throughput and the
 * harness's own time per problem (issue 10).
 *
 *   bench_eval [--problems N] [--memory M,M,...] [--humaneval FILE]
 *              [--builders K] [--dir DIR] [--quick]
 *
 * Each row is one set run through the real loop in-process, as btfs would
 * run it: a durable store, the fake OpenAI server answering at once
 * (tests/fakellm), the real sandbox and K builder threads (default 1). The
 * fake answers every problem with its correct solution, so every problem
 * must pass; the program exits 1 when one does not.
 *
 * Rows:
 *  - the HumanEval-format file the tests use (tests/data/humaneval_sample.jsonl
 *    unless --humaneval names another): each line converted by `bt import`'s
 *    converter (cmd/bt_import.c), held out in set "humaneval"; the fake's
 *    answer is the line's prompt followed by its canonical solution;
 *  - a synthetic set of N generated problems (default 1,000; each with its
 *    own function name and words, five kinds over the curriculum's skills,
 *    visible and hidden tests), held out in set "synthetic", once for each
 *    memory size M (default 0, 1,000 and 10,000): before the run the store
 *    already holds M finished training tasks of the same skills, committed
 *    through memory_commit() as the Builder commits (no_sync while filling;
 *    the store is then reopened durable for the run).
 *
 * Overhead per problem = (wall x builders - sandbox time - LLM time) /
 * problems, where the sandbox time is what exec_stats counts as whole
 * runs (total_ms: the work directory made, compile and run, the directory
 * removed) and the LLM time is the client's own latency total
 * (llm_usage_get: request to last byte, the fake's work included). What
 * remains is the harness: queue, prompts (recall included), extraction,
 * scoring, the durable commits. Target (issue 10): <= 5 ms, flat as memory
 * grows. On a shared machine that figure also holds the time spent waiting
 * for a core, so the table also gives the process's CPU time per problem
 * (the waiting thread left out), which does not depend on the load, and
 * how many code prompts carried recalled memory (a memory row that recalls
 * nothing measures nothing). docs/benchmarks.md has the figures.
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "builder.h"
#include "cmd/bt_import.h"
#include "exec.h"
#include "fakellm.h"
#include "llm.h"
#include "llm_monitor.h"
#include "memory.h"
#include "status.h"
#include "store.h"
#include "task/task.h"

#ifndef BT_SOURCE_ROOT
#define BT_SOURCE_ROOT "."
#endif

#define HUMANEVAL_DEFAULT BT_SOURCE_ROOT "/tests/data/humaneval_sample.jsonl"
#define TARGET_MS 5.0
/* The target is per problem "from 100 to 10,000 problems": a smaller row
 * (the HumanEval sample's 3) is mostly the builder's start-up and the last
 * poll of the wait, so its overhead is printed without a verdict. */
#define VERDICT_MIN_PROBLEMS 100
#define MAX_MEMORY_SIZES 8
/* A run that finishes nothing for this long is stuck (a missing fake rule,
 * a sandbox that hangs): it is reported rather than waited for. */
#define STALL_MS (120 * 1000.0)
/* Names are five syllables of 4 bits: held-out problems use numbers from 0,
 * training tasks from TRAIN_BASE, so no name is shared. */
#define NAME_SPACE (1u << 20)
#define TRAIN_BASE (NAME_SPACE / 2)

static double tv_ms(const struct timeval *u, const struct timeval *s)
{
    return (double)(u->tv_sec + s->tv_sec) * 1e3 +
           (double)(u->tv_usec + s->tv_usec) / 1e3;
}

/* CPU time (user + system) of the threads of this process but the calling
 * one, which only waits: the builders, the fake server and the clients;
 * not the sandboxed children. */
static double cpu_ms(void)
{
    struct rusage all, self;

    getrusage(RUSAGE_SELF, &all);
    getrusage(RUSAGE_THREAD, &self);
    return tv_ms(&all.ru_utime, &all.ru_stime) -
           tv_ms(&self.ru_utime, &self.ru_stime);
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_eval: %s%s%s\n", what, rc ? ": " : "",
            rc ? store_strerror(rc) : "");
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p)
        die("out of memory", 0);
    return p;
}

static char *xasprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        die("out of memory", 0);
    return s;
}

static int rm_one(const char *path, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* The scratch directory made when no --dir is given: removed at exit,
 * also when a run fails half-way. */
static char scratch_dir[4096];

static void scratch_remove(void)
{
    if (scratch_dir[0])
        nftw(scratch_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- generated vocabulary ------------------------------------------------ */

static const char *const syllables[16] = {
    "ka", "lo", "mi", "nu", "pe", "ri", "so", "tu",
    "va", "ze", "bo", "di", "fa", "gu", "he", "jo",
};

/* A made-up word for number k (< NAME_SPACE), distinct for each k: the
 * number is scrambled (an odd multiplier is a bijection mod 2^20) so that
 * neighbours do not share their first syllables. */
static void word(unsigned k, char out[16])
{
    unsigned x = (k * 0x9E3B5u) & (NAME_SPACE - 1);
    size_t n = 0;

    for (int i = 0; i < 5; i++, x >>= 4) {
        memcpy(out + n, syllables[x & 15], 2);
        n += 2;
    }
    out[n] = '\0';
}

static const char *const skill_names[] = {
    "math", "strings", "lists", "sorting", "recursion",
};
#define NKINDS (sizeof skill_names / sizeof *skill_names)

static const char *const concept_names[] = {
    "arithmetic", "string concatenation", "list comprehension",
    "stable sort", "key functions", "base case", "recursion depth",
    "edge cases", "empty input", "negative numbers", "modulo",
    "accumulators", "slicing", "immutability", "early return",
};
#define NCONCEPTS (sizeof concept_names / sizeof *concept_names)

/* One generated problem: its text, tests and correct solution. */
struct problem {
    const char *skill;
    char name[16];
    char *goal, *tests, *hidden, *code;
};

/* Problem number k (a word number, see word()) of one of five kinds, with
 * parameters of its own, so that goals and code differ in name, words and
 * numbers. 'verb' starts the goal: held-out problems say "Write", which
 * the fake's rules look for; training tasks say something else. */
static void problem_make(unsigned k, const char *verb, struct problem *p)
{
    char w1[16], w2[16];
    unsigned a = 2 + k % 7, b = k % 11;

    word(k, p->name);
    word((k + 7919) % NAME_SPACE, w1);
    word((k + 104729) % NAME_SPACE, w2);
    p->skill = skill_names[k % NKINDS];
    const char *n = p->name;
    switch (k % NKINDS) {
    case 0:
        p->goal = xasprintf("%s %s(x) that returns the %s %s score of an "
                            "integer x: x times %u plus %u.", verb, n, w1,
                            w2, a, b);
        p->tests = xasprintf("assert %s(1) == %u", n, a + b);
        p->hidden = xasprintf("assert %s(0) == %u\nassert %s(-2) == %d", n,
                              b, n, -2 * (int)a + (int)b);
        p->code = xasprintf("def %s(x):\n    return x * %u + %u\n", n, a,
                            b);
        break;
    case 1:
        p->goal = xasprintf("%s %s(s) that returns the string s followed "
                            "by the %s marker '%s'.", verb, n, w1, w2);
        p->tests = xasprintf("assert %s('x') == 'x%s'", n, w2);
        p->hidden = xasprintf("assert %s('') == '%s'\nassert %s('%s') == "
                              "'%s%s'", n, w2, n, w1, w1, w2);
        p->code = xasprintf("def %s(s):\n    return s + '%s'\n", n, w2);
        break;
    case 2:
        p->goal = xasprintf("%s %s(xs) that returns a new list of the %s "
                            "values: each element of xs plus %u, the %s "
                            "order kept.", verb, n, w1, a, w2);
        p->tests = xasprintf("assert %s([1]) == [%u]", n, 1 + a);
        p->hidden = xasprintf("assert %s([]) == []\nassert %s([0, -%u]) == "
                              "[%u, 0]", n, n, a, a);
        p->code = xasprintf("def %s(xs):\n    return [x + %u for x in xs]\n",
                            n, a);
        break;
    case 3:
        p->goal = xasprintf("%s %s(xs) that returns the %s integers of xs "
                            "sorted by their remainder modulo %u, equal "
                            "remainders keeping their %s order.", verb, n,
                            w1, a, w2);
        p->tests = xasprintf("assert %s([%u, 1]) == [%u, 1]", n, a, a);
        p->hidden = xasprintf("assert %s([]) == []\nassert %s([1, %u, %u]) "
                              "== [%u, 1, %u]", n, n, a, a + 1, a, a + 1);
        p->code = xasprintf("def %s(xs):\n    return sorted(xs, key=lambda "
                            "x: x %% %u)\n", n, a);
        break;
    default:
        p->goal = xasprintf("%s %s(n) that returns, computed recursively, "
                            "the %s sum n + (n - 1) + ... + 1 plus the %s "
                            "constant %u (just %u when n <= 0).", verb, n, w1,
                            w2, b, b);
        p->tests = xasprintf("assert %s(3) == %u", n, 6 + b);
        p->hidden = xasprintf("assert %s(0) == %u\nassert %s(10) == %u", n,
                              b, n, 55 + b);
        p->code = xasprintf("def %s(n):\n    if n <= 0:\n        return %u\n"
                            "    return n + %s(n - 1)\n", n, b, n);
        break;
    }
}

static void problem_free(struct problem *p)
{
    free(p->goal);
    free(p->tests);
    free(p->hidden);
    free(p->code);
}

/* ---- enqueueing ---------------------------------------------------------- */

/* Task lines, parsed (task_parse_line, as tasks/new does) and enqueued in
 * batches. */
struct queue {
    struct store *st;
    struct store_task_new *batch;
    struct task_def *defs;
    size_t n, cap;
};

static void queue_flush(struct queue *q)
{
    int rc;

    if (q->n && (rc = store_task_enqueue(q->st, q->batch, q->n, NULL)) < 0)
        die("cannot enqueue", rc);
    for (size_t i = 0; i < q->n; i++)
        task_def_free(&q->defs[i]);
    q->n = 0;
}

static void queue_add(struct queue *q, const char *line, enum store_source src)
{
    char err[512];
    int rc;

    if (q->n == q->cap)
        queue_flush(q);
    rc = task_parse_line(line, strlen(line), &q->defs[q->n], err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "bench_eval: a generated task line is refused: %s\n"
                        "  %s\n", err, line);
        exit(1);
    }
    q->batch[q->n] = (struct store_task_new){ q->defs[q->n].json,
                                              q->defs[q->n].priority, src };
    q->n++;
}

static void queue_init(struct queue *q, struct store *st, size_t cap)
{
    q->st = st;
    q->cap = cap;
    q->n = 0;
    q->batch = xmalloc(cap * sizeof *q->batch);
    q->defs = xmalloc(cap * sizeof *q->defs);
}

static void queue_done(struct queue *q)
{
    queue_flush(q);
    free(q->batch);
    free(q->defs);
}

/* A held-out task line of set 'set' for problem id 'pid' from a task line
 * without them. Returns a malloc'd line. */
static char *held_out_line(const char *task, const char *set, const char *pid)
{
    cJSON *o = cJSON_Parse(task);
    char *s;

    if (!cJSON_IsObject(o))
        die("a converted task line is not a JSON object", 0);
    cJSON_DeleteItemFromObjectCaseSensitive(o, "set");
    cJSON_DeleteItemFromObjectCaseSensitive(o, "problem_id");
    cJSON_DeleteItemFromObjectCaseSensitive(o, "held_out");
    if (!cJSON_AddStringToObject(o, "set", set) ||
        !cJSON_AddStringToObject(o, "problem_id", pid) ||
        !cJSON_AddTrueToObject(o, "held_out") ||
        !(s = cJSON_PrintUnformatted(o)))
        die("out of memory", 0);
    cJSON_Delete(o);
    return s;
}

/* ---- the fake's answers -------------------------------------------------- */

/* Rules every run needs, before the problems' own: a reflection (the
 * reflection prompt quotes the goal, so it must match first) and tests for
 * a task without visible ones (the HumanEval conversion has none yet). */
static void fake_common(struct fakellm *fake)
{
    struct fakellm_rule refl = {
        .kind = FAKE_REPLY, .match = "review your own work",
        .content = "{\"summary\":\"solves it directly\",\"what_went_wrong\":"
                   "\"\",\"lessons\":[\"read the examples first\"],"
                   "\"concepts\":[\"edge cases\"]}" };
    struct fakellm_rule tests = {
        .kind = FAKE_REPLY, .match = "You write tests",
        .content = "{\"tests\":\"def test_runs():\\n    assert True\\n\"}" };

    fakellm_clear(fake);
    if (fakellm_add(fake, &refl) < 0 || fakellm_add(fake, &tests) < 0)
        die("out of memory", 0);
}

/* The answer to the prompt holding 'match': 'code' in a fenced block. Used
 * once: problems run in id order, so the first unspent rule is the next
 * problem's and the fake finds it at once however many there are. */
static void fake_answer(struct fakellm *fake, const char *match,
                        const char *code)
{
    char *content = xasprintf("```python\n%s```\n", code);
    struct fakellm_rule r = { .kind = FAKE_REPLY, .match = match,
                              .times = 1, .chunk_bytes = 256,
                              .content = content };

    if (fakellm_add(fake, &r) < 0)
        die("out of memory", 0);
    free(content);
}

/* ---- memory: finished training tasks ------------------------------------- */

/* Fills the store in 'dir' with m finished, passed training tasks,
 * committed with memory_commit() as the Builder commits them, without
 * fsync. Returns the seconds it took; *first and *last get the mean ms of
 * one take-and-commit over the first and the last 1,000 tasks (whether a
 * commit slows down as memory grows). */
static double prefill(const char *dir, size_t m, double *first, double *last)
{
    struct store_options opt = { .no_sync = 1 };
    struct store *st;
    struct queue q;
    char err[512];
    double t0 = now_ms();
    int rc;

    if ((rc = store_open(dir, &opt, &st, err, sizeof err)) < 0)
        die(err, 0);
    for (size_t done = 0; done < m;) {
        size_t chunk = m - done < 1000 ? m - done : 1000;

        queue_init(&q, st, chunk);
        for (size_t i = 0; i < chunk; i++) {
            struct problem p;
            problem_make(TRAIN_BASE + (unsigned)(done + i), "Practice: define",
                         &p);
            cJSON *o = cJSON_CreateObject();
            cJSON *sk = cJSON_AddArrayToObject(o, "skills");
            cJSON_AddItemToArray(sk, cJSON_CreateString(p.skill));
            cJSON_AddStringToObject(o, "goal", p.goal);
            cJSON_AddStringToObject(o, "tests", p.tests);
            cJSON_AddStringToObject(o, "hidden_tests", p.hidden);
            char *line = cJSON_PrintUnformatted(o);
            if (!line)
                die("out of memory", 0);
            queue_add(&q, line, STORE_SOURCE_TRAINER);
            free(line);
            cJSON_Delete(o);
            problem_free(&p);
        }
        queue_done(&q);

        double c0 = now_ms();
        for (size_t i = 0; i < chunk; i++) {
            unsigned k = TRAIN_BASE + (unsigned)(done + i);
            struct problem p;
            uint64_t id;
            char name[STORE_ID_MAX];

            if ((rc = store_task_dequeue(st, &id, NULL)) < 0)
                die("cannot take a training task", rc);
            problem_make(k, "Practice: define", &p);
            store_id_format(id, name);
            /* What a Builder's commit holds: the code with a comment, as
             * models write it, a reflection with lessons and concepts, the
             * result, the score, the summary and its log lines. */
            char *code = xasprintf("# %s: %s\n%s\n\nif __name__ == "
                                   "'__main__':\n    print(%s)\n", p.name,
                                   p.goal, p.code, p.name);
            const char *skills[1] = { p.skill };
            const char *concepts[2] = { concept_names[k % NCONCEPTS],
                                        concept_names[(k / 3) % NCONCEPTS] };
            char *refl = xasprintf(
                "{\"summary\":\"%s solved with a direct %s\","
                "\"what_went_wrong\":\"\",\"lessons\":[\"For %s tasks, "
                "check the example %s before coding.\",\"Keep %s short.\"],"
                "\"concepts\":[\"%s\",\"%s\"],\"task\":\"%s\","
                "\"status\":\"passed\"}", p.name, p.skill, p.skill,
                p.name, p.name, concepts[0], concepts[1], name);
            char *summary = xasprintf(
                "{\"task\":\"%s\",\"goal\":\"Practice %s\",\"status\":"
                "\"passed\",\"attempts\":1,\"tests\":\"2/2\",\"summary\":"
                "\"%s solved with a direct %s\"}", name, p.name, p.name,
                p.skill);
            const char *result =
                "{\"tests_passed\":2,\"tests_total\":2,\"visible\":"
                "{\"passed\":1,\"total\":1},\"hidden\":{\"passed\":2,"
                "\"total\":2},\"tests_self_written\":false,\"reason\":null,"
                "\"final_attempt\":1,\"outcome\":\"ok\",\"run_ms\":40.0,"
                "\"wall_ms\":150,\"usage\":{\"llm_calls\":2,"
                "\"llm_requests\":2,\"prompt_tokens\":600,"
                "\"completion_tokens\":120,\"llm_ms\":1,\"sandbox_runs\":3,"
                "\"sandbox_ms\":130}}";
            const char *score =
                "{\"accuracy\":1,\"speed\":0.9,\"quality\":0.8,"
                "\"efficiency\":1,\"total\":0.93}";
            struct store_code sc = { 1, "py", code, strlen(code) };
            char *l1 = xasprintf("%s: started: %s", name, p.goal);
            char *l2 = xasprintf("%s: passed after 1 attempt", name);
            time_t now = time(NULL);
            struct store_log_entry logs[2] = {
                { STORE_LOG_SYSTEM, now, l1 }, { STORE_LOG_SYSTEM, now, l2 },
            };
            struct memory_outcome mo = {
                .id = id, .status = "passed", .attempts = 1,
                .skills = skills, .nskills = 1, .difficulty = 0.3,
                .final_attempt = 1, .score_json = score,
                .result_json = result, .code = &sc, .ncode = 1,
                .reflection_json = refl, .summary_json = summary,
                .concepts = concepts, .nconcepts = 2, .model = "bench",
                .now = now, .logs = logs, .nlogs = 2,
            };
            if ((rc = memory_commit(st, &mo)) < 0)
                die("cannot commit a training task", rc);
            free(code);
            free(refl);
            free(summary);
            free(l1);
            free(l2);
            problem_free(&p);
        }
        double each = (now_ms() - c0) / (double)chunk;
        if (done == 0)
            *first = each;
        *last = each;
        done += chunk;
        fprintf(stderr, "bench_eval:   %zu committed, %.2f ms each over "
                        "the last %zu\n", done, each, chunk);
    }
    store_close(st);
    return (now_ms() - t0) / 1000;
}

/* prefill() in a child process, so that what filling leaves in this
 * process's heap does not make the runs' forks of the sandbox dearer: the
 * rows differ only by what the store holds. Nothing else runs meanwhile
 * (the previous row's threads are joined), so forking here is safe. */
static double prefill_apart(const char *dir, size_t m, double *first,
                            double *last)
{
    double v[3] = { 0, 0, 0 };
    int fd[2], status;
    pid_t pid;

    if (pipe(fd) < 0 || (pid = fork()) < 0)
        die("cannot start the filling process", 0);
    if (pid == 0) {
        close(fd[0]);
        v[0] = prefill(dir, m, &v[1], &v[2]);
        _exit(write(fd[1], v, sizeof v) == (ssize_t)sizeof v ? 0 : 1);
    }
    close(fd[1]);
    ssize_t got = read(fd[0], v, sizeof v);
    close(fd[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (got != (ssize_t)sizeof v || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
        die("filling the memory failed", 0);
    *first = v[1];
    *last = v[2];
    return v[0];
}

/* ---- one run ------------------------------------------------------------- */

struct row {
    const char *label;
    size_t problems;
    size_t memory;
    double prefill_s;
    double commit_first_ms, commit_last_ms;
    double wall_ms;
    double sandbox_ms;
    double llm_ms;
    double cpu_ms;                  /* this process's CPU time (all threads) */
    unsigned long runs;
    unsigned long llm_calls;
    size_t finished;
    size_t passed;
    size_t recalled;                /* code prompts that carried memory */
    double prompt_bytes;            /* mean size of a code request      */
    int stalled;
};

struct set_count {
    size_t finished, passed;
};

static int count_set(void *ctx, uint64_t key, const char *val, size_t len)
{
    struct set_count *c = ctx;
    cJSON *o = cJSON_ParseWithLength(val, len);
    const char *s = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(o, "status"));

    (void)key;
    if (s && (strcmp(s, "passed") == 0 || strcmp(s, "failed") == 0 ||
              strcmp(s, "error") == 0))
        c->finished++;
    if (s && strcmp(s, "passed") == 0)
        c->passed++;
    cJSON_Delete(o);
    return 0;
}

/* How a run's problems get in: fills the queue and the fake's rules. */
typedef void (*load_fn)(void *ctx, struct queue *q, struct fakellm *fake);

/* Runs the set 'set' that 'load' enqueues, with 'builders' threads, on
 * the store in 'dir' (which may hold memory already), and measures it. */
static void run_set(const char *dir, const char *set, unsigned builders,
                    load_fn load, void *ctx, struct row *r)
{
    struct fakellm *fake;
    struct store *st;
    struct status *status;
    struct llm_config lc;
    struct llm *llm;
    struct exec_config ec;
    struct exec *ex;
    struct llm_monitor *mon;
    struct builder_config bc;
    struct builder_pool *pool;
    struct exec_stats ex0, ex1;
    struct llm_usage u0, u1;
    struct store_view *v;
    struct queue q;
    size_t before;
    char err[512];
    int rc;

    if ((rc = store_open(dir, NULL, &st, err, sizeof err)) < 0)
        die(err, 0);
    if (store_view_begin(st, &v) < 0)
        die("cannot read the store", 0);
    before = store_view_count(v, STORE_COLL_SUMMARIES);
    store_view_end(v);

    /* A fake of its own: the fake logs every request in this process, and
     * a process that grows makes each fork of the sandbox dearer, so one
     * row must not pay for the requests of the rows before it. */
    if (fakellm_start(&fake) < 0)
        die("cannot start the fake server", 0);
    fake_common(fake);
    queue_init(&q, st, 1000);
    load(ctx, &q, fake);
    queue_done(&q);

    if (status_create(builders, &status) < 0)
        die("out of memory", 0);
    llm_config_default(&lc);
    lc.url = fakellm_url(fake);
    if (llm_create(&lc, &llm) < 0)
        die("cannot create the LLM client", 0);
    exec_config_default(&ec);
    if (exec_create(&ec, &ex) < 0 || exec_probe(ex, err, sizeof err) < 0)
        die("the sandbox does not work here", 0);
    if (llm_monitor_start(llm, ex, status, st, &mon) < 0)
        die("cannot start the monitor", 0);
    while (!llm_monitor_healthy(mon))
        usleep(1000);

    exec_stats_get(ex, &ex0);
    llm_usage_get(llm, &u0);
    builder_config_default(&bc);
    bc.threads = builders;
    double c0 = cpu_ms(), t0 = now_ms(), last_progress = t0;
    size_t last_done = 0;
    if (builder_start(&bc, &(struct agent_env){ st, status, llm, ex, mon },
                      &pool) < 0)
        die("cannot start the builders", 0);
    /* Every finished task, errors included, gets a summary: counting them
     * is O(1), so waiting costs the builders nothing. */
    for (;;) {
        size_t done;
        if (store_view_begin(st, &v) < 0)
            die("cannot read the store", 0);
        done = store_view_count(v, STORE_COLL_SUMMARIES) - before;
        store_view_end(v);
        if (done >= r->problems)
            break;
        if (done != last_done) {
            last_done = done;
            last_progress = now_ms();
        } else if (now_ms() - last_progress > STALL_MS) {
            r->stalled = 1;
            break;
        }
        /* A read transaction is not free on a loaded machine: every 5 ms
         * costs the builders little and the wall time at most 5 ms. */
        usleep(5000);
    }
    r->wall_ms = now_ms() - t0;
    r->cpu_ms = cpu_ms() - c0;
    llm_usage_get(llm, &u1);
    exec_stats_get(ex, &ex1);
    llm_cancel(llm);
    builder_stop(pool);
    r->sandbox_ms = ex1.total_ms - ex0.total_ms;
    r->runs = (unsigned long)(ex1.runs - ex0.runs);
    r->llm_ms = u1.latency_ms_total - u0.latency_ms_total;
    r->llm_calls = (unsigned long)(u1.calls - u0.calls);

    struct set_count c = { 0, 0 };
    if (store_view_begin(st, &v) == 0) {
        store_view_set_tasks(v, set, count_set, &c);
        store_view_end(v);
    }
    r->finished = c.finished;
    r->passed = c.passed;
    /* Whether recall had anything to give: memory rows that recall
     * nothing would measure nothing. */
    size_t ncode = 0, bytes = 0;
    for (unsigned i = 0, n = fakellm_requests(fake); i < n; i++) {
        char *body = fakellm_request_body(fake, i);
        if (!body || strstr(body, "review your own work") ||
            strstr(body, "You write tests")) {
            free(body);
            continue;
        }
        ncode++;
        bytes += strlen(body);
        r->recalled += strstr(body, "From your memory of similar tasks") !=
                       NULL;
        free(body);
    }
    r->prompt_bytes = ncode ? (double)bytes / (double)ncode : 0;
    llm_monitor_stop(mon);
    llm_free(llm);
    exec_free(ex);
    status_free(status);
    store_close(st);
    fakellm_stop(fake);
}

/* ---- the two kinds of set ------------------------------------------------ */

struct humaneval {
    char *buf;                      /* the whole file */
    size_t len;
    const char *path;
};

/* Converts every line of the file; with q and fake, enqueues the problems
 * and gives the fake their answers, else only checks them (before anything
 * runs). Returns the number of problems; exits on a line it cannot use. */
static size_t humaneval_walk(const struct humaneval *h, struct queue *q,
                             struct fakellm *fake)
{
    size_t lineno = 0, problems = 0;

    for (char *p = h->buf, *end = h->buf + h->len; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char *task = NULL, *sid = NULL, *reason = NULL;
        char *line = p;
        int rc;

        p += len + (nl != NULL);
        lineno++;
        rc = bt_import_convert(BT_IMPORT_HUMANEVAL, line, len, NULL, &task,
                               &sid, &reason);
        if (rc == 1)
            continue;
        if (rc < 0) {
            fprintf(stderr, "bench_eval: %s line %zu: %s\n", h->path, lineno,
                    reason ? reason : "out of memory");
            exit(1);
        }
        char *held = held_out_line(task, "humaneval",
                                   sid ? sid : "unnamed");
        if (q)
            queue_add(q, held, STORE_SOURCE_USER);
        problems++;

        /* The fake's answer: the prompt completed by the canonical
         * solution, which is what a model solving it returns. */
        cJSON *o = cJSON_ParseWithLength(line, len);
        const char *prompt = cJSON_GetStringValue(
            cJSON_GetObjectItemCaseSensitive(o, "prompt"));
        const char *sol = cJSON_GetStringValue(
            cJSON_GetObjectItemCaseSensitive(o, "canonical_solution"));
        const char *entry = cJSON_GetStringValue(
            cJSON_GetObjectItemCaseSensitive(o, "entry_point"));
        if (!prompt || !sol || !entry) {
            fprintf(stderr, "bench_eval: %s line %zu: the fake needs "
                            "prompt, canonical_solution and entry_point\n",
                    h->path, lineno);
            exit(1);
        }
        if (fake) {
            char *match = xasprintf("def %s(", entry);
            char *code = xasprintf("%s%s", prompt, sol);
            fake_answer(fake, match, code);
            free(match);
            free(code);
        }
        cJSON_Delete(o);
        free(held);
        free(task);
        free(sid);
        free(reason);
    }
    return problems;
}

static void load_humaneval(void *ctx, struct queue *q, struct fakellm *fake)
{
    humaneval_walk(ctx, q, fake);
}

struct synthetic {
    size_t n;
};

static void load_synthetic(void *ctx, struct queue *q, struct fakellm *fake)
{
    struct synthetic *s = ctx;

    for (size_t i = 0; i < s->n; i++) {
        struct problem p;
        char pid[32];

        problem_make((unsigned)i, "Write", &p);
        snprintf(pid, sizeof pid, "Synthetic/%zu", i);
        cJSON *o = cJSON_CreateObject();
        cJSON *sk = cJSON_AddArrayToObject(o, "skills");
        cJSON_AddItemToArray(sk, cJSON_CreateString(p.skill));
        cJSON_AddStringToObject(o, "goal", p.goal);
        cJSON_AddStringToObject(o, "tests", p.tests);
        cJSON_AddStringToObject(o, "hidden_tests", p.hidden);
        cJSON_AddStringToObject(o, "set", "synthetic");
        cJSON_AddStringToObject(o, "problem_id", pid);
        cJSON_AddTrueToObject(o, "held_out");
        char *line = cJSON_PrintUnformatted(o);
        if (!line)
            die("out of memory", 0);
        queue_add(q, line, STORE_SOURCE_USER);
        char *match = xasprintf("Write %s(", p.name);
        fake_answer(fake, match, p.code);
        free(match);
        free(line);
        cJSON_Delete(o);
        problem_free(&p);
    }
}

/* ---- main ---------------------------------------------------------------- */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0, got;

    if (!f) {
        fprintf(stderr, "bench_eval: cannot open %s: %s\n", path,
                strerror(errno));
        exit(1);
    }
    do {
        if (cap - n < 65536) {
            cap = cap ? cap * 2 : 65536;
            if (!(buf = realloc(buf, cap)))
                die("out of memory", 0);
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    if (ferror(f)) {
        fprintf(stderr, "bench_eval: cannot read %s\n", path);
        exit(1);
    }
    fclose(f);
    *len = n;
    return buf;
}

/* "0,1000,10k" into sizes[]; returns how many, or -1. */
static int parse_sizes(const char *s, size_t *sizes, int max)
{
    int n = 0;

    while (*s) {
        char *end;
        unsigned long long v;

        if (n == max || *s < '0' || *s > '9')
            return -1;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || end == s)
            return -1;
        if (*end == 'k') {
            v *= 1000;
            end++;
        }
        if (v > TRAIN_BASE || (*end && *end != ','))
            return -1;
        sizes[n++] = (size_t)v;
        s = *end ? end + 1 : end;
    }
    return n;
}

static double overhead_of(const struct row *r, unsigned builders)
{
    double n = r->problems ? (double)r->problems : 1;

    return (r->wall_ms * builders - r->sandbox_ms - r->llm_ms) / n;
}

static void print_row(const struct row *r, unsigned builders)
{
    double n = r->problems ? (double)r->problems : 1;
    double overhead = overhead_of(r, builders);

    printf("%-10s %8zu %7zu %7zu %7.1f %8.2f %8.2f %8.1f %8.2f %9.2f %8.2f "
           "%7s %5s\n", r->label, r->problems, r->memory, r->recalled,
           r->prompt_bytes / 1024, r->wall_ms / 1000,
           r->problems / (r->wall_ms / 1000), r->sandbox_ms / n,
           r->llm_ms / n, overhead, r->cpu_ms / n, "<= 5",
           builders > 1 ? "info" :
           r->problems < VERDICT_MIN_PROBLEMS ? "-" :
           overhead <= TARGET_MS ? "PASS" : "MISS");
}

static void usage(FILE *f)
{
    fputs("usage: bench_eval [--problems N] [--memory M,M,...] "
          "[--humaneval FILE]\n"
          "                  [--builders K] [--dir DIR] [--quick]\n"
          "  --problems N   synthetic problems per row (default 1000; "
          "--quick: 20)\n"
          "  --memory LIST  finished training tasks in memory before each\n"
          "                 synthetic row (default 0,1000,10000; --quick: "
          "0,100,1000)\n"
          "  --humaneval F  the HumanEval-format file of the first row\n"
          "                 (default tests/data/humaneval_sample.jsonl)\n"
          "  --builders K   builder threads (default 1; the target is for "
          "one)\n"
          "  --dir DIR      where the stores go (default: a scratch "
          "directory in /tmp,\n"
          "                 removed at the end)\n", f);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"problems", required_argument, NULL, 'n'},
        {"memory", required_argument, NULL, 'm'},
        {"humaneval", required_argument, NULL, 'e'},
        {"builders", required_argument, NULL, 'b'},
        {"dir", required_argument, NULL, 'd'},
        {"quick", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    size_t n = 0, sizes[MAX_MEMORY_SIZES];
    int nsizes = -1, quick = 0, c;
    unsigned builders = 1;
    const char *base = NULL, *he_path = HUMANEVAL_DEFAULT;
    char tmpl[] = "/tmp/bench_eval_XXXXXX", dir[4096];
    char *end;

    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            errno = 0;
            n = strtoul(optarg, &end, 10);
            if (errno || *end || n == 0 || n > TRAIN_BASE)
                die("--problems wants a number from 1 to 524288", 0);
            break;
        case 'm':
            nsizes = parse_sizes(optarg, sizes, MAX_MEMORY_SIZES);
            if (nsizes < 1)
                die("--memory wants up to 8 sizes like 0,1000,10k "
                    "(each at most 524288)", 0);
            break;
        case 'e':
            he_path = optarg;
            break;
        case 'b':
            errno = 0;
            builders = (unsigned)strtoul(optarg, &end, 10);
            if (errno || *end || builders < 1 || builders > 16)
                die("--builders wants a number from 1 to 16", 0);
            break;
        case 'd':
            base = optarg;
            break;
        case 'q':
            quick = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 2;
    }
    if (!n)
        n = quick ? 20 : 1000;
    if (nsizes < 0) {
        static const size_t full[] = { 0, 1000, 10000 }, smoke[] = { 0, 100,
                                                                     1000 };
        memcpy(sizes, quick ? smoke : full, sizeof full);
        nsizes = 3;
    }

    struct humaneval he = { .path = he_path };
    he.buf = read_file(he_path, &he.len);
    size_t he_problems = humaneval_walk(&he, NULL, NULL);
    if (he_problems == 0) {
        fprintf(stderr, "bench_eval: %s holds no problem\n", he_path);
        return 1;
    }
    if (!base) {
        if (!(base = mkdtemp(tmpl)))
            die("cannot make a scratch directory", 0);
        snprintf(scratch_dir, sizeof scratch_dir, "%s", base);
        atexit(scratch_remove);
    }
    printf("Sets through the loop: instant fake LLM answering correctly, real "
           "sandbox,\n%u builder%s, durable store in %s\n\n", builders,
           builders == 1 ? "" : "s", base);
    printf("%-10s %8s %7s %7s %7s %8s %8s %8s %8s %9s %8s %7s %5s\n",
           "set", "problems", "memory", "recall", "prompt", "wall s",
           "probs/s", "sandbox", "LLM", "overhead", "CPU", "target", "");
    printf("%-10s %8s %7s %7s %7s %8s %8s %8s %8s %9s %8s %7s %5s\n", "",
           "", "tasks", "prompts", "KiB", "", "", "ms/prob", "ms/prob",
           "ms/prob", "ms/prob", "ms", "");
    fflush(stdout);

    struct row rows[1 + MAX_MEMORY_SIZES];
    int nrows = 0, failed = 0;

    /* Row 1: the HumanEval-format file. */
    struct row *r = &rows[nrows++];
    *r = (struct row){ .label = "humaneval" };
    r->problems = he_problems;
    snprintf(dir, sizeof dir, "%s/humaneval", base);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        die("cannot make the store directory", 0);
    run_set(dir, "humaneval", builders, load_humaneval, &he, r);
    print_row(r, builders);
    fflush(stdout);

    /* Then the synthetic set with memory of growing size. */
    struct synthetic syn = { n };
    for (int i = 0; i < nsizes; i++) {
        r = &rows[nrows++];
        *r = (struct row){ .label = "synthetic", .problems = n,
                           .memory = sizes[i] };
        snprintf(dir, sizeof dir, "%s/synthetic_%zu", base, sizes[i]);
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
            die("cannot make the store directory", 0);
        if (sizes[i]) {
            fprintf(stderr, "bench_eval: committing %zu training tasks...\n",
                    sizes[i]);
            r->prefill_s = prefill_apart(dir, sizes[i], &r->commit_first_ms,
                                         &r->commit_last_ms);
            fprintf(stderr, "bench_eval: done in %.1f s\n", r->prefill_s);
        }
        run_set(dir, "synthetic", builders, load_synthetic, &syn, r);
        print_row(r, builders);
        fflush(stdout);
    }

    printf("\nms/prob are per problem. recall prompts: code prompts that "
           "carried recalled memory;\nprompt KiB: mean size of a code "
           "request.\noverhead = (wall x builders - sandbox "
           "time - LLM time) / problems: queue, prompts\nand recall, "
           "extraction, scoring, the store's durable commits (and, on a busy "
           "machine,\ntime spent waiting for a core); sandbox time is "
           "whole runs (work directory, steps,\nremoval). Rows of fewer "
           "than 100 problems get no verdict (start-up dominates).\n"
           "CPU: this process's "
           "CPU time per problem (builders,\nfake server, clients; not the "
           "sandboxed runs), the harness's work whatever the load.\n");
    if (nrows > 2) {
        /* Flat as memory grows: the largest memory against the first. */
        const struct row *lo = &rows[1], *hi = &rows[nrows - 1];
        printf("memory %zu -> %zu tasks: overhead x%.2f, CPU x%.2f\n",
               lo->memory, hi->memory,
               overhead_of(hi, builders) / overhead_of(lo, builders),
               (hi->cpu_ms / (double)hi->problems) /
                   (lo->cpu_ms / (double)lo->problems));
    }
    for (int i = 0; i < nrows; i++)
        if (rows[i].memory)
            printf("filling %zu tasks: %.2f ms per take-and-commit over the "
                   "first %zu, %.2f over the last (no fsync)\n",
                   rows[i].memory, rows[i].commit_first_ms,
                   rows[i].memory < 1000 ? rows[i].memory : 1000,
                   rows[i].commit_last_ms);
    for (int i = 0; i < nrows; i++) {
        r = &rows[i];
        if (r->stalled)
            fprintf(stderr, "bench_eval: %s (memory %zu): no progress for "
                            "%.0f s, stopped waiting\n", r->label, r->memory,
                    STALL_MS / 1000);
        if (r->passed != r->problems) {
            fprintf(stderr, "bench_eval: %s (memory %zu): %zu of %zu "
                            "problems passed (%zu finished)\n", r->label,
                    r->memory, r->passed, r->problems, r->finished);
            failed = 1;
        }
    }
    free(he.buf);
    return failed;
}
