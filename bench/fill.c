/* fill.c -- fills a data directory with benchmark tasks through the store API.
 *
 * Speed matters more than durability here (a million tasks must go in within
 * seconds), so the store is opened with no_sync and tasks are enqueued in
 * batches; the caller syncs the disk afterwards if it needs to. Every string
 * is built by asprintf, never in a fixed buffer, and every JSON text is
 * built from fixed ASCII templates with no characters that need escaping.
 */
#include <errno.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fill.h"
#include "store.h"
#include "task.h"

#define NSKILLS 10

static const char *const SKILLS[NSKILLS] = {
    "recursion", "strings", "sorting", "hashing", "dynamic_programming",
    "graphs", "math", "parsing", "linked_lists", "bit_manipulation",
};

/* One goal per skill, so that a task reads like what a user would write. */
static const char *const GOALS[NSKILLS] = {
    "compute the n-th Catalan number recursively with memoisation",
    "return the longest palindromic substring of a string",
    "sort a list of intervals and merge the ones that overlap",
    "group words that are anagrams of each other",
    "find the length of the longest increasing subsequence",
    "return the shortest path length between two nodes of a grid graph",
    "return the greatest common divisor of a list of integers",
    "evaluate an arithmetic expression with + - * / and parentheses",
    "reverse a singly linked list in place and return the new head",
    "count the set bits of every integer from 0 to n",
};

/* Per-skill counters, so that skill records evolve as the Builder's would. */
struct skill_stat {
    unsigned attempts;
    unsigned successes;
};

struct filler {
    struct store *st;
    struct skill_stat skills[NSKILLS];
    uint64_t rng;               /* xorshift64* state */
    char *err;
    size_t errlen;
};

static uint64_t rnd(struct filler *f)
{
    f->rng ^= f->rng >> 12;
    f->rng ^= f->rng << 25;
    f->rng ^= f->rng >> 27;
    return f->rng * 2685821657736338717ULL;
}

/* A number in [0, 1) with two decimals' worth of variety. */
static double rnd01(struct filler *f)
{
    return (double)(rnd(f) % 1000) / 1000.0;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(struct filler *f, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct filler *f, int rc, const char *fmt, ...)
{
    va_list ap;

    if (f->err && f->errlen) {
        va_start(ap, fmt);
        vsnprintf(f->err, f->errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* The task line a user could have written to tasks/new for task number n. */
static char *make_line(struct filler *f, size_t n, unsigned skill)
{
    char *line = NULL;

    if (asprintf(&line,
                 "{\"goal\": \"Write a Python function solve(x) to %s "
                 "(variant %zu)\", \"difficulty\": %.2f, \"skills\": [\"%s\"], "
                 "\"language\": \"python\", \"tests\": \"assert solve(%zu) "
                 "is not None\", \"hidden_tests\": \"assert solve(%zu) == "
                 "solve(%zu)\", \"constraints\": [\"no imports\"], "
                 "\"timeout_s\": 10}",
                 GOALS[skill], n, 0.1 + 0.8 * rnd01(f), SKILLS[skill], n, n,
                 n) < 0)
        return NULL;
    return line;
}

/* Enqueues count tasks in one transaction; skill_of[i] gets the skill of
 * the i-th, ids[i] its id. */
static int enqueue_batch(struct filler *f, size_t base, size_t count,
                         unsigned *skill_of, uint64_t *ids)
{
    struct task_def *defs = calloc(count, sizeof *defs);
    struct store_task_new *tasks = calloc(count, sizeof *tasks);
    char perr[256];
    size_t i;
    int rc = 0;

    if (!defs || !tasks) {
        rc = fail(f, -ENOMEM, "out of memory for a batch of %zu", count);
        goto out;
    }
    for (i = 0; i < count; i++) {
        char *line;

        skill_of[i] = (unsigned)(rnd(f) % NSKILLS);
        line = make_line(f, base + i, skill_of[i]);
        if (!line) {
            rc = fail(f, -ENOMEM, "out of memory");
            goto out;
        }
        rc = task_parse_line(line, strlen(line), &defs[i], perr, sizeof perr);
        free(line);
        if (rc < 0) {
            rc = fail(f, rc, "task_parse_line refused a bench task: %s", perr);
            goto out;
        }
        tasks[i].def_json = defs[i].json;
        tasks[i].priority = defs[i].priority;
        tasks[i].source = STORE_SOURCE_USER;
    }
    rc = store_task_enqueue(f->st, tasks, count, ids);
    if (rc < 0)
        rc = fail(f, rc, "store_task_enqueue of %zu tasks: %s", count,
                  store_strerror(rc));
out:
    if (defs)
        for (i = 0; i < count; i++)
            task_def_free(&defs[i]);
    free(defs);
    free(tasks);
    return rc;
}

/* About 1 KiB of plausible Python for one attempt. */
static char *make_code(struct filler *f, const char *sid, unsigned skill,
                       unsigned attempt)
{
    char *code = NULL, *next;
    size_t len;
    unsigned line = 0;

    if (asprintf(&code,
                 "# %s attempt %u: %s\n"
                 "def solve(x):\n"
                 "    \"\"\"Solution for the %s task.\"\"\"\n"
                 "    if x is None:\n"
                 "        return None\n"
                 "    acc = []\n",
                 sid, attempt, SKILLS[skill], SKILLS[skill]) < 0)
        return NULL;
    for (len = strlen(code); len < 1000; len = strlen(code)) {
        if (asprintf(&next, "%s    acc.append(step_%u(x, %u))  "
                     "# keep partial result %llu\n", code, line, line,
                     (unsigned long long)(rnd(f) % 100000)) < 0) {
            free(code);
            return NULL;
        }
        free(code);
        code = next;
        line++;
    }
    if (asprintf(&next, "%s    return acc[-1] if acc else x\n", code) < 0) {
        free(code);
        return NULL;
    }
    free(code);
    return next;
}

/* Finishes task 'id' with the whole outcome the Builder would commit. */
static int finish_one(struct filler *f, uint64_t id, unsigned skill)
{
    char sid[STORE_ID_MAX], when[32];
    int passed = rnd(f) % 10 < 7, attempts = 1 + (int)(rnd(f) % 2);
    double acc = passed ? 1.0 : 0.25 * (double)(rnd(f) % 4);
    double speed = rnd01(f), eleg = rnd01(f), diff = 0.1 + 0.8 * rnd01(f);
    double total = 0.6 * acc + 0.15 * speed + 0.1 * eleg + 0.15 * diff;
    char *score = NULL, *result = NULL, *refl = NULL, *summ = NULL;
    char *entry = NULL, *skillrec = NULL, *code[2] = {NULL, NULL};
    struct store_code codes[2];
    struct store_named named;
    struct store_task_outcome out;
    struct skill_stat *ss = &f->skills[skill];
    const char *status = passed ? "passed" : "failed";
    int rc, i;

    store_id_format(id, sid);
    store_time_format(time(NULL), when);
    ss->attempts++;
    ss->successes += passed;
    for (i = 0; i < attempts; i++)
        if (!(code[i] = make_code(f, sid, skill, (unsigned)i + 1)))
            goto oom;
    if (asprintf(&score, "{\"accuracy\":%.2f,\"speed\":%.2f,\"elegance\":%.2f,"
                 "\"difficulty\":%.2f,\"total\":%.3f}",
                 acc, speed, eleg, diff, total) < 0 ||
        asprintf(&result, "{\"tests_passed\":%d,\"tests_total\":4,"
                 "\"reason\":%s}", (int)(acc * 4),
                 passed ? "null" : "\"AssertionError: hidden test 3 failed: "
                                   "solve(7) returned 12, expected 13\"") < 0 ||
        asprintf(&refl, "{\"task\":\"%s\",\"skill\":\"%s\",\"outcome\":\"%s\","
                 "\"attempts\":%d,\"what_worked\":\"Splitting the problem "
                 "into a helper that handles one step kept the main loop "
                 "short and easy to test.\",\"what_failed\":\"%s\","
                 "\"lesson\":\"Check the empty input and the single element "
                 "case before the general case; they are where the tests "
                 "look first.\",\"next_time\":\"Write the edge-case asserts "
                 "first, then the loop.\",\"confidence\":%.2f}",
                 sid, SKILLS[skill], status, attempts,
                 passed ? "The first attempt mishandled an off-by-one at the "
                          "end of the range."
                        : "The hidden tests found an off-by-one that the "
                          "visible tests did not cover.",
                 rnd01(f)) < 0 ||
        asprintf(&summ, "{\"task\":\"%s\",\"title\":\"%s practice\","
                 "\"skill\":\"%s\",\"status\":\"%s\",\"score\":%.3f,"
                 "\"attempts\":%d,\"summary\":\"The Builder solved a %s task "
                 "of difficulty %.2f in %d attempt(s). It reused the pattern "
                 "of an earlier solution of the same skill, then adjusted the "
                 "loop bounds after reading the failing test output. The "
                 "result is %s.\",\"concepts\":[\"edge cases\",\"loop "
                 "invariants\",\"%s\"]}",
                 sid, SKILLS[skill], SKILLS[skill], status, total, attempts,
                 SKILLS[skill], diff, attempts, status, SKILLS[skill]) < 0 ||
        asprintf(&entry, "{\"task\":\"%s\",\"skill\":\"%s\",\"status\":\"%s\","
                 "\"total\":%.3f,\"difficulty\":%.2f,\"finished_at\":\"%s\"}",
                 sid, SKILLS[skill], status, total, diff, when) < 0 ||
        asprintf(&skillrec, "{\"level\":%u,\"rating\":%.1f,\"attempts\":%u,"
                 "\"successes\":%u,\"last_practised\":\"%s\","
                 "\"trend\":\"%s\"}",
                 1 + ss->successes / 50, 1000.0 + 400.0 * ss->successes /
                 ss->attempts, ss->attempts, ss->successes, when,
                 passed ? "up" : "down") < 0)
        goto oom;

    for (i = 0; i < attempts; i++) {
        codes[i].attempt = (unsigned)i + 1;
        codes[i].ext = "py";
        codes[i].text = code[i];
        codes[i].len = strlen(code[i]);
    }
    named.name = SKILLS[skill];
    named.json = skillrec;
    memset(&out, 0, sizeof out);
    out.status = status;
    out.attempts = attempts;
    out.score_json = score;
    out.result_json = result;
    out.code = codes;
    out.ncode = (size_t)attempts;
    out.reflection_json = refl;
    out.summary_json = summ;
    out.score_entry_json = entry;
    out.skills = &named;
    out.nskills = 1;
    rc = store_task_finish(f->st, id, &out);
    if (rc < 0)
        rc = fail(f, rc, "store_task_finish(%s): %s", sid, store_strerror(rc));
    goto out;
oom:
    rc = fail(f, -ENOMEM, "out of memory");
out:
    free(score);
    free(result);
    free(refl);
    free(summ);
    free(entry);
    free(skillrec);
    free(code[0]);
    free(code[1]);
    return rc;
}

int fill_run(const struct fill_options *opt, struct fill_result *res,
             char *err, size_t errlen)
{
    struct store_options so = {0};
    struct filler f;
    struct fill_result r = {0};
    size_t batch = opt->batch ? opt->batch : FILL_DEFAULT_BATCH;
    unsigned *skill_of = NULL;
    uint64_t *ids = NULL;
    double t0 = now_s(), last_report = t0;
    int rc;

    memset(&f, 0, sizeof f);
    f.err = err;
    f.errlen = errlen;
    f.rng = 0x9E3779B97F4A7C15ULL;
    if (batch > STORE_MAX_BATCH)
        batch = STORE_MAX_BATCH;
    so.no_sync = !opt->sync;
    rc = store_open(opt->data_dir, &so, &f.st, err, errlen);
    if (rc < 0)
        return rc;
    skill_of = calloc(batch, sizeof *skill_of);
    ids = calloc(batch, sizeof *ids);
    if (!skill_of || !ids) {
        rc = fail(&f, -ENOMEM, "out of memory");
        goto out;
    }
    while (r.enqueued < opt->tasks) {
        size_t n = opt->tasks - r.enqueued, i;

        if (n > batch)
            n = batch;
        rc = enqueue_batch(&f, r.enqueued, n, skill_of, ids);
        if (rc < 0)
            goto out;
        if (!r.first_id)
            r.first_id = ids[0];
        r.last_id = ids[n - 1];
        r.enqueued += n;
        for (i = 0; opt->finished && i < n; i++) {
            uint64_t id;
            unsigned skill;

            rc = store_task_dequeue(f.st, &id, NULL);
            if (rc < 0) {
                rc = fail(&f, rc, "store_task_dequeue: %s",
                          store_strerror(rc));
                goto out;
            }
            /* Tasks queued before this run come out first and have no
             * remembered skill; any skill will do for them. */
            skill = id >= ids[0] && id - ids[0] < n
                        ? skill_of[id - ids[0]] : (unsigned)(id % NSKILLS);
            rc = finish_one(&f, id, skill);
            if (rc < 0)
                goto out;
            r.finished++;
        }
        if (opt->progress && now_s() - last_report >= 2.0) {
            last_report = now_s();
            fprintf(stderr, "bench_fill: %zu/%zu tasks (%.1f s)\n",
                    r.enqueued, opt->tasks, last_report - t0);
        }
    }
    rc = 0;
out:
    free(skill_of);
    free(ids);
    store_close(f.st);
    r.seconds = now_s() - t0;
    if (res)
        *res = r;
    return rc;
}

/* Parses a positive count; accepts suffixes k and M for thousands and
 * millions, which is how sizes are talked about here. */
int fill_parse_count(const char *s, size_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s || s[0] == '-')
        return -EINVAL;
    if (*end == 'k' && !end[1])
        v *= 1000;
    else if (*end == 'M' && !end[1])
        v *= 1000000;
    else if (*end)
        return -EINVAL;
    if (v == 0 || v > SIZE_MAX / 2)
        return -EINVAL;
    *out = (size_t)v;
    return 0;
}
