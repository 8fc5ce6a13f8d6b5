/* test_resume.c -- a task's progress kept in the store (agents/builder/resume.c),
 * and the store's logs in time order whatever order lines are written in.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "resume.h"
#include "store.h"

struct fixture {
    char dir[64];
    struct store *st;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char err[256];

    if (!f)
        return -1;
    strcpy(f->dir, "/tmp/test_resume.XXXXXX");
    if (!mkdtemp(f->dir) ||
        store_open(f->dir, NULL, &f->st, err, sizeof err) != 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    DIR *d;
    struct dirent *e;

    store_close(f->st);
    if ((d = opendir(f->dir))) {
        while ((e = readdir(d))) {
            char path[PATH_MAX];
            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "%s/%s", f->dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Saved, loaded back the same (strings, NULLs, counts, usage), cleared. */
static void test_round_trip(void **state)
{
    struct fixture *f = *state;
    struct resume_attempt att[2] = {
        { "def f():\n    return 1\n", "Tests: 0 of 1 passed\n\"quoted\"", 1 },
        { NULL, "Your answer contained no code block.", 3 },
    };
    struct resume r = { .tests_done = 1, .tests = "assert f() == 2",
                        .natt = 2, .att = att, .llm_failures = 1,
                        .usage = { .llm_calls = 3, .llm_requests = 5,
                                   .prompt_tokens = 1234,
                                   .completion_tokens = 99,
                                   .prompt_cached = 800, .timed_calls = 2,
                                   .llm_ms = 4567, .sandbox_runs = 2,
                                   .sandbox_ms = 12.5,
                                   .work_ms = 6789.5 } };
    struct resume back;

    assert_int_equal(resume_load(f->st, 7, 5, &back), -ENOENT);
    assert_int_equal(resume_save(f->st, 7, &r), 0);
    assert_int_equal(resume_load(f->st, 7, 5, &back), 0);
    assert_int_equal(back.tests_done, 1);
    assert_string_equal(back.tests, "assert f() == 2");
    assert_int_equal(back.natt, 2);
    assert_string_equal(back.att[0].code, att[0].code);
    assert_string_equal(back.att[0].problem, att[0].problem);
    assert_int_equal(back.att[0].rule, 1);
    assert_null(back.att[1].code);
    assert_string_equal(back.att[1].problem, att[1].problem);
    assert_int_equal(back.llm_failures, 1);
    assert_int_equal(back.usage.llm_calls, 3);
    assert_int_equal(back.usage.llm_requests, 5);
    assert_int_equal(back.usage.prompt_tokens, 1234);
    assert_int_equal(back.usage.completion_tokens, 99);
    assert_int_equal(back.usage.prompt_cached, 800);
    assert_int_equal(back.usage.timed_calls, 2);
    assert_true(back.usage.sandbox_ms == 12.5);
    assert_true(back.usage.work_ms == 6789.5);
    resume_free(&back);

    /* fewer attempts allowed now: the first ones are kept */
    assert_int_equal(resume_load(f->st, 7, 1, &back), 0);
    assert_int_equal(back.natt, 1);
    resume_free(&back);

    /* another task's progress is its own */
    assert_int_equal(resume_load(f->st, 8, 5, &back), -ENOENT);

    assert_int_equal(resume_clear(f->st, 7), 0);
    assert_int_equal(resume_load(f->st, 7, 5, &back), -ENOENT);
    assert_int_equal(resume_clear(f->st, 7), 0);    /* nothing: still ok */
}

/* Something that is not progress is refused, not half-read. */
static void test_bad_document(void **state)
{
    struct fixture *f = *state;
    struct resume back;

    assert_int_equal(store_doc_put(f->st, "resume_task_000009", "[1,2]"), 0);
    assert_int_equal(resume_load(f->st, 9, 5, &back), -EINVAL);
    assert_int_equal(store_doc_put(f->st, "resume_task_000009",
                                   "{\"attempts\": [{\"code\": 5}]}"), 0);
    assert_int_equal(resume_load(f->st, 9, 5, &back), -EINVAL);
    assert_null(back.att);
    assert_int_equal(store_doc_del(f->st, "resume_task_000009"), 0);
    assert_int_equal(store_doc_del(f->st, "resume_task_000009"), -ENOENT);
}

/* A task cancelled while it waited in the queue keeps the progress its
 * last builder wrote until the Builder's start sweeps it; the progress of
 * a task still queued is kept, and so is a document that is not a task's. */
static void test_sweep(void **state)
{
    struct fixture *f = *state;
    struct store_task_new t[2] = {
        { "{\"goal\":\"one\"}", 0, STORE_SOURCE_USER },
        { "{\"goal\":\"two\"}", 0, STORE_SOURCE_USER },
    };
    uint64_t ids[2];
    struct resume r = { .tests_done = 1, .tests = "assert True" };
    struct resume back;
    size_t removed = 99;

    assert_int_equal(store_task_enqueue(f->st, t, 2, ids), 0);
    assert_int_equal(resume_save(f->st, ids[0], &r), 0);
    assert_int_equal(resume_save(f->st, ids[1], &r), 0);
    assert_int_equal(resume_save(f->st, 424242, &r), 0);   /* no such task */
    assert_int_equal(store_doc_put(f->st, "resume_notes", "{}"), 0);
    assert_int_equal(store_task_cancel_queued(f->st, ids[0], "test"), 0);

    assert_int_equal(resume_sweep(f->st, &removed), 0);
    assert_int_equal(removed, 2);
    assert_int_equal(resume_load(f->st, ids[0], 5, &back), -ENOENT);
    assert_int_equal(resume_load(f->st, 424242, 5, &back), -ENOENT);
    assert_int_equal(resume_load(f->st, ids[1], 5, &back), 0);
    resume_free(&back);
    char *doc = NULL;
    assert_int_equal(store_doc_get(f->st, "resume_notes", &doc, NULL), 0);
    free(doc);
    /* nothing left to do: nothing removed */
    assert_int_equal(resume_sweep(f->st, &removed), 0);
    assert_int_equal(removed, 0);
}

struct stamps {
    char first[32][32];
    int n;
};

static int stamp_fn(void *ctx, uint64_t key, const char *val, size_t len)
{
    struct stamps *s = ctx;
    (void)key;
    if (s->n < 32 && len >= 20)
        snprintf(s->first[s->n++], sizeof s->first[0], "%.20s", val);
    return 0;
}

/* A line written late with its own earlier time does not go before the
 * lines already in the log: system.log reads in time order. */
static void test_log_time_order(void **state)
{
    struct fixture *f = *state;
    struct store_view *v;
    struct stamps s = { .n = 0 };
    time_t now = time(NULL);
    struct store_log_entry late[2] = {
        { STORE_LOG_SYSTEM, now - 100, "happened earlier, written late" },
        { STORE_LOG_SYSTEM, now + 100, "from the future" },
    };

    assert_int_equal(store_log_append(f->st, STORE_LOG_SYSTEM, "now"), 0);
    assert_int_equal(store_log_append_many(f->st, late, 2), 0);
    assert_int_equal(store_log_append(f->st, STORE_LOG_SYSTEM, "after"), 0);
    assert_int_equal(store_view_begin(f->st, &v), 0);
    assert_int_equal(store_view_range(v, STORE_COLL_SYSLOG, 0, UINT64_MAX,
                                      stamp_fn, &s), 0);
    store_view_end(v);
    assert_int_equal(s.n, 4);
    for (int i = 1; i < s.n; i++)
        assert_true(strcmp(s.first[i - 1], s.first[i]) <= 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_round_trip),
        T(test_bad_document),
        T(test_sweep),
        T(test_log_time_order),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
