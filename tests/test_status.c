/* test_status.c -- unit tests of the live status object (store/status.c). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "status.h"

static char *repeat(const char *unit, size_t times)
{
    size_t n = strlen(unit);
    char *s = malloc(n * times + 1);
    size_t i;

    assert_non_null(s);
    for (i = 0; i < times; i++)
        memcpy(s + i * n, unit, n);
    s[n * times] = '\0';
    return s;
}

/* True if s is 'len' bytes, all equal to c. */
static int uniform(const char *s, char c, size_t len)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++)
        if (s[i] != c)
            return 0;
    return i == len;
}

static void test_create(void **state)
{
    struct status *s = NULL;
    struct status_snapshot *snap = malloc(sizeof(*snap));
    time_t before = time(NULL), after;
    unsigned i;

    (void)state;
    assert_non_null(snap);
    assert_int_equal(status_create(3, &s), 0);
    after = time(NULL);
    assert_non_null(s);
    memset(snap, 0x55, sizeof(*snap));
    status_snapshot(s, snap);
    assert_true(snap->started >= before && snap->started <= after);
    assert_int_equal(snap->llm_reachable, -1);
    assert_string_equal(snap->llm_url, "");
    assert_string_equal(snap->llm_model, "");
    assert_string_equal(snap->llm_error, "");
    assert_string_equal(snap->sandbox, "");
    assert_string_equal(snap->agents_note, "");
    assert_string_equal(snap->last_error, "");
    assert_int_equal(snap->nbuilders, 3);
    for (i = 0; i < 3; i++) {
        assert_string_equal(snap->builders[i].state, "idle");
        assert_string_equal(snap->builders[i].step, "");
        assert_int_equal(snap->builders[i].task, 0);
        assert_int_equal(snap->builders[i].since, snap->started);
    }
    /* Entries past nbuilders are zero, not garbage. */
    assert_string_equal(snap->builders[3].state, "");
    status_free(s);

    assert_int_equal(status_create(0, &s), 0);
    status_snapshot(s, snap);
    assert_int_equal(snap->nbuilders, 0);
    status_free(s);

    assert_int_equal(status_create(1000, &s), 0);
    status_snapshot(s, snap);
    assert_int_equal(snap->nbuilders, STATUS_MAX_BUILDERS);
    assert_string_equal(snap->builders[STATUS_MAX_BUILDERS - 1].state, "idle");
    status_free(s);

    status_free(NULL);
    free(snap);
}

static void test_setters(void **state)
{
    struct status *s = NULL;
    struct status_snapshot snap;

    (void)state;
    assert_int_equal(status_create(2, &s), 0);
    status_set_llm(s, "http://localhost:1234/v1", "deepseek-coder-7b-instruct");
    status_set_llm_health(s, 0, "connection refused");
    status_set_sandbox(s, "bubblewrap");
    status_set_agents_note(s, "BT_BUILDERS=0");
    status_set_builder(s, 1, "working", 42, "running tests");
    status_set_error(s, "task_000042: sandbox timeout");
    status_snapshot(s, &snap);
    assert_string_equal(snap.llm_url, "http://localhost:1234/v1");
    assert_string_equal(snap.llm_model, "deepseek-coder-7b-instruct");
    assert_int_equal(snap.llm_reachable, 0);
    assert_string_equal(snap.llm_error, "connection refused");
    assert_string_equal(snap.sandbox, "bubblewrap");
    assert_string_equal(snap.agents_note, "BT_BUILDERS=0");
    assert_string_equal(snap.builders[1].state, "working");
    assert_int_equal(snap.builders[1].task, 42);
    assert_string_equal(snap.builders[1].step, "running tests");
    assert_string_equal(snap.last_error, "task_000042: sandbox timeout");
    /* The other builder is untouched. */
    assert_string_equal(snap.builders[0].state, "idle");
    assert_int_equal(snap.builders[0].task, 0);

    /* Health back to good clears the error; NULL strings read as "". */
    status_set_llm_health(s, 1, NULL);
    status_set_error(s, "");
    status_set_builder(s, 1, "idle", 0, NULL);
    status_snapshot(s, &snap);
    assert_int_equal(snap.llm_reachable, 1);
    assert_string_equal(snap.llm_error, "");
    assert_string_equal(snap.last_error, "");
    assert_string_equal(snap.builders[1].state, "idle");
    assert_string_equal(snap.builders[1].step, "");
    assert_int_equal(snap.builders[1].task, 0);
    status_free(s);
}

static void test_builder_out_of_range(void **state)
{
    struct status *s = NULL;
    struct status_snapshot *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));

    (void)state;
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(status_create(2, &s), 0);
    memset(a, 0, sizeof(*a));
    memset(b, 0, sizeof(*b));
    status_snapshot(s, a);
    status_set_builder(s, 2, "working", 1, "x");
    status_set_builder(s, STATUS_MAX_BUILDERS, "working", 1, "x");
    status_set_builder(s, (unsigned)-1, "working", 1, "x");
    status_snapshot(s, b);
    assert_memory_equal(a, b, sizeof(*a));
    assert_string_equal(b->builders[2].state, "");
    status_free(s);
    free(a);
    free(b);
}

/* 'since' is when the current step began: a repeated report keeps it, a
 * new step moves it. */
static void test_builder_since(void **state)
{
    struct status *s = NULL;
    struct status_snapshot snap;
    time_t first, t0;

    (void)state;
    assert_int_equal(status_create(1, &s), 0);
    status_set_builder(s, 0, "working", 7, "prompting");
    status_snapshot(s, &snap);
    first = snap.builders[0].since;
    /* Wait for the clock to tick (at most a second). */
    t0 = time(NULL);
    while (time(NULL) == t0)
        usleep(10 * 1000);
    status_set_builder(s, 0, "working", 7, "prompting");
    status_snapshot(s, &snap);
    assert_int_equal(snap.builders[0].since, first);
    status_set_builder(s, 0, "working", 7, "running tests");
    status_snapshot(s, &snap);
    assert_true(snap.builders[0].since > first);
    status_free(s);
}

/* One string field of the snapshot, reached through its setter. */
struct field {
    const char *name;
    size_t offset;             /* of the char array in the snapshot */
    size_t size;               /* of that array                    */
};

#define SNAP_FIELD(f) #f, offsetof(struct status_snapshot, f), \
    sizeof(((struct status_snapshot *)0)->f)

static const struct field fields[] = {
    { SNAP_FIELD(llm_url) },
    { SNAP_FIELD(llm_model) },
    { SNAP_FIELD(llm_error) },
    { SNAP_FIELD(sandbox) },
    { SNAP_FIELD(agents_note) },
    { SNAP_FIELD(last_error) },
    { SNAP_FIELD(builders[0].state) },
    { SNAP_FIELD(builders[0].step) },
};

static void set_field(struct status *s, const char *name, const char *v)
{
    if (strcmp(name, "llm_url") == 0)
        status_set_llm(s, v, "");
    else if (strcmp(name, "llm_model") == 0)
        status_set_llm(s, "", v);
    else if (strcmp(name, "llm_error") == 0)
        status_set_llm_health(s, 0, v);
    else if (strcmp(name, "sandbox") == 0)
        status_set_sandbox(s, v);
    else if (strcmp(name, "agents_note") == 0)
        status_set_agents_note(s, v);
    else if (strcmp(name, "last_error") == 0)
        status_set_error(s, v);
    else if (strcmp(name, "builders[0].state") == 0)
        status_set_builder(s, 0, v, 1, "");
    else if (strcmp(name, "builders[0].step") == 0)
        status_set_builder(s, 0, "working", 1, v);
    else
        fail_msg("no setter for %s", name);
}

/* Sets field f to 'value' and returns what the snapshot holds. */
static const char *roundtrip(struct status *s, const struct field *f, const char *value,
                             struct status_snapshot *snap)
{
    set_field(s, f->name, value);
    status_snapshot(s, snap);
    return (const char *)snap + f->offset;
}

static void test_truncation(void **state)
{
    struct status *s = NULL;
    struct status_snapshot snap;
    size_t i, cap, want;
    char *v;
    const char *got;

    (void)state;
    assert_int_equal(status_create(1, &s), 0);
    for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        const struct field *f = &fields[i];
        cap = f->size - 1;

        /* Fits exactly. */
        v = repeat("a", cap);
        got = roundtrip(s, f, v, &snap);
        if (!uniform(got, 'a', cap))
            fail_msg("%s: %zu bytes did not fit", f->name, cap);
        free(v);

        /* Much too long: cut at the field size. */
        v = repeat("b", cap * 4 + 1);
        got = roundtrip(s, f, v, &snap);
        if (!uniform(got, 'b', cap))
            fail_msg("%s: long value kept %zu bytes, want %zu", f->name, strlen(got), cap);
        free(v);

        /* Never half a character: 2-, 3- and 4-byte characters. */
        v = repeat("\xc3\xa9", cap);
        got = roundtrip(s, f, v, &snap);
        want = cap / 2 * 2;
        if (strlen(got) != want || strncmp(got, v, want) != 0)
            fail_msg("%s: 2-byte chars cut to %zu bytes, want %zu", f->name, strlen(got), want);
        free(v);
        v = repeat("\xe2\x82\xac", cap);
        got = roundtrip(s, f, v, &snap);
        want = cap / 3 * 3;
        if (strlen(got) != want || strncmp(got, v, want) != 0)
            fail_msg("%s: 3-byte chars cut to %zu bytes, want %zu", f->name, strlen(got), want);
        free(v);
        v = repeat("\xf0\x9f\x98\x80", cap);
        got = roundtrip(s, f, v, &snap);
        want = cap / 4 * 4;
        if (strlen(got) != want || strncmp(got, v, want) != 0)
            fail_msg("%s: 4-byte chars cut to %zu bytes, want %zu", f->name, strlen(got), want);
        free(v);
    }
    status_free(s);
}

static void test_snapshot_is_a_copy(void **state)
{
    struct status *s = NULL;
    struct status_snapshot old, now;

    (void)state;
    assert_int_equal(status_create(1, &s), 0);
    status_set_sandbox(s, "none");
    status_set_builder(s, 0, "working", 5, "prompting");
    status_snapshot(s, &old);
    status_set_sandbox(s, "bubblewrap");
    status_set_builder(s, 0, "idle", 0, "");
    status_snapshot(s, &now);
    assert_string_equal(old.sandbox, "none");
    assert_string_equal(old.builders[0].state, "working");
    assert_int_equal(old.builders[0].task, 5);
    assert_string_equal(now.sandbox, "bubblewrap");
    assert_string_equal(now.builders[0].state, "idle");
    status_free(s);
}

/* ---- concurrency ---------------------------------------------------- */

#define WRITERS 4
#define WRITES  20000
#define OVERLAPS 100    /* snapshots that must fall inside the writing */

struct writer {
    pthread_t thread;
    struct status *s;
    char c;                    /* this writer's character */
};

static atomic_int writers_done;
static atomic_long snaps_taken;     /* by the reader, so far */
static atomic_long writes_made;     /* by all writers, so far */
static atomic_long overlaps;        /* snapshots taken while every writer
                                       was between two of its writes */

/* Writes strings of one repeated character, of changing lengths; fields set
 * in one call all get the same character, so a reader can tell a torn
 * string and a torn update apart from a whole one. */
static void *writer_main(void *arg)
{
    struct writer *w = arg;
    char buf[600];
    size_t len;
    int i;

    /* Start only once the reader reads: a race with no reader tests
     * nothing, and a fast machine could finish every write first. */
    while (atomic_load(&snaps_taken) == 0)
        sched_yield();
    /* And go on until the reader has seen enough of the writing: on a
     * loaded machine the reader may sleep through all WRITES, and then the
     * race was never run at all. */
    for (i = 0; i < WRITES || atomic_load(&overlaps) < OVERLAPS; i++) {
        len = 1 + (size_t)(i * 7 + w->c) % (sizeof(buf) - 1);
        memset(buf, w->c, len);
        buf[len] = '\0';
        status_set_llm(w->s, buf, buf);
        status_set_builder(w->s, 0, buf, (uint64_t)(unsigned char)w->c, buf);
        status_set_error(w->s, buf);
        status_set_llm_health(w->s, w->c & 1, buf);
        atomic_fetch_add(&writes_made, 1);
    }
    atomic_fetch_add(&writers_done, 1);
    return NULL;
}

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* True if s is non-empty and all one character; stores it in *c. */
static int one_char(const char *s, char *c)
{
    size_t i;

    *c = s[0];
    if (*c == '\0')
        return 0;
    for (i = 1; s[i] != '\0'; i++)
        if (s[i] != *c)
            return 0;
    return 1;
}

static void test_concurrent(void **state)
{
    struct writer w[WRITERS];
    struct status *s = NULL;
    struct status_snapshot snap;
    char cu = 0, cm = 0, cs = 0, ct = 0, ce = 0, cl = 0;
    long snaps = 0;
    int i;

    (void)state;
    assert_int_equal(status_create(1, &s), 0);
    status_set_llm(s, "z", "z");
    status_set_builder(s, 0, "z", 'z', "z");
    status_set_error(s, "z");
    status_set_llm_health(s, 0, "z");
    atomic_store(&writers_done, 0);
    atomic_store(&snaps_taken, 0);
    atomic_store(&writes_made, 0);
    atomic_store(&overlaps, 0);
    for (i = 0; i < WRITERS; i++) {
        w[i].s = s;
        w[i].c = (char)('a' + i);
        assert_int_equal(pthread_create(&w[i].thread, NULL, writer_main, &w[i]), 0);
    }
    do {
        /* A write done before the snapshot and no writer finished after
         * it: the snapshot fell inside the writing. */
        long before = atomic_load(&writes_made);
        status_snapshot(s, &snap);
        if (before > 0 && atomic_load(&writers_done) == 0)
            atomic_fetch_add(&overlaps, 1);
        snaps++;
        atomic_store(&snaps_taken, snaps);
        if (!one_char(snap.llm_url, &cu) || !one_char(snap.llm_model, &cm) ||
            !one_char(snap.builders[0].state, &cs) || !one_char(snap.builders[0].step, &ct) ||
            !one_char(snap.last_error, &ce) || !one_char(snap.llm_error, &cl))
            fail_msg("torn string after %ld snapshots: url '%.20s' model '%.20s' "
                     "state '%s' step '%.20s' error '%.20s'", snaps, snap.llm_url,
                     snap.llm_model, snap.builders[0].state, snap.builders[0].step,
                     snap.last_error);
        /* Fields set by one call come from the same call. */
        if (cu != cm || strlen(snap.llm_model) != min_size(strlen(snap.llm_url),
                                                           sizeof(snap.llm_model) - 1))
            fail_msg("torn status_set_llm: url %c/%zu model %c/%zu", cu,
                     strlen(snap.llm_url), cm, strlen(snap.llm_model));
        if (cs != ct || snap.builders[0].task != (uint64_t)(unsigned char)cs)
            fail_msg("torn status_set_builder: state %c step %c task %llu", cs, ct,
                     (unsigned long long)snap.builders[0].task);
        if (snap.llm_reachable != (cl & 1))
            fail_msg("torn status_set_llm_health: error %c reachable %d", cl,
                     snap.llm_reachable);
    } while (atomic_load(&writers_done) < WRITERS);
    /* The race ran: snapshots were taken in the middle of the writes
     * (the writers keep going until there were enough). */
    if (atomic_load(&overlaps) < OVERLAPS)
        fail_msg("only %ld of %ld snapshots fell inside the writing",
                 atomic_load(&overlaps), snaps);
    assert_true(atomic_load(&writes_made) >= (long)WRITERS * WRITES);
    for (i = 0; i < WRITERS; i++)
        assert_int_equal(pthread_join(w[i].thread, NULL), 0);
    /* Each field ends with some writer's last value. */
    status_snapshot(s, &snap);
    assert_true(one_char(snap.llm_url, &cu) && cu >= 'a' && cu < 'a' + WRITERS);
    print_message("%ld snapshots, %ld inside %ld writes\n", snaps,
                  atomic_load(&overlaps), atomic_load(&writes_made));
    status_free(s);
}

/* Cancel requests: asked once or twice is one request, taken once; only
 * STATUS_MAX_CANCELS wait at once; id 0 is never a task. */
static void test_cancel_requests(void **state)
{
    struct status *s;

    (void)state;
    assert_int_equal(status_create(1, &s), 0);
    assert_int_equal(status_cancel_take(s, 7), 0);
    assert_int_equal(status_cancel_request(s, 7), 0);
    assert_int_equal(status_cancel_request(s, 7), 0);
    assert_int_equal(status_cancel_take(s, 8), 0);
    assert_int_equal(status_cancel_take(s, 7), 1);
    assert_int_equal(status_cancel_take(s, 7), 0);
    assert_int_equal(status_cancel_request(s, 0), -EINVAL);
    for (uint64_t i = 1; i <= STATUS_MAX_CANCELS; i++)
        assert_int_equal(status_cancel_request(s, i), 0);
    assert_int_equal(status_cancel_request(s, STATUS_MAX_CANCELS + 1),
                     -ENOSPC);
    assert_int_equal(status_cancel_take(s, 100), 1);
    assert_int_equal(status_cancel_request(s, STATUS_MAX_CANCELS + 1), 0);
    assert_int_equal(status_cancel_take(s, STATUS_MAX_CANCELS + 1), 1);
    status_free(s);
}

/* The agents note holds a whole explanation (the sandbox's is ~500
 * bytes), not the first 255 bytes of it. */
static void test_long_agents_note(void **state)
{
    struct status *s;
    struct status_snapshot *snap = calloc(1, sizeof *snap);
    char note[900];

    (void)state;
    assert_non_null(snap);
    memset(note, 'x', sizeof note - 2);
    note[sizeof note - 2] = '.';
    note[sizeof note - 1] = '\0';
    assert_int_equal(status_create(0, &s), 0);
    status_set_agents_note(s, note);
    status_snapshot(s, snap);
    assert_string_equal(snap->agents_note, note);
    status_free(s);
    free(snap);
}

/* ---- the overall state ---------------------------------------------- */

/* A snapshot of a healthy btfs with two builders, one at work. */
static void healthy(struct status_snapshot *snap)
{
    memset(snap, 0, sizeof *snap);
    snap->llm_reachable = 1;
    strcpy(snap->sandbox, "bubblewrap");
    snap->nbuilders = 2;
    strcpy(snap->builders[0].state, "working");
    strcpy(snap->builders[1].state, "idle");
}

static void expect_state(const struct status_snapshot *snap, int paused,
                         int disk, const char *state, const char *reason)
{
    const char *got = status_overall_state(snap, paused, disk);
    const char *why = status_overall_reason(snap, got, disk);

    assert_string_equal(got, state);
    if (!reason)
        assert_null(why);
    else if (!why || !strstr(why, reason))
        fail_msg("state %s: reason '%s' does not hold '%s'", got,
                 why ? why : "(null)", reason);
}

/* Each rule, and the order in which they win over each other. */
static void test_overall_state(void **state)
{
    struct status_snapshot *snap = calloc(1, sizeof *snap);

    (void)state;
    assert_non_null(snap);
    healthy(snap);
    expect_state(snap, 0, 0, "running", NULL);
    expect_state(snap, 1, 0, "paused", "bt resume");

    /* The LLM: waiting, by itself or as a builder saw it. */
    snap->llm_reachable = -1;
    expect_state(snap, 0, 0, "running", NULL);   /* not checked yet */
    snap->llm_reachable = 0;
    expect_state(snap, 0, 0, "waiting_for_llm", "not available");
    snap->llm_reachable = 1;
    strcpy(snap->llm_error, "rate_limited: HTTP 429");
    expect_state(snap, 0, 0, "waiting_for_llm", "rate_limited");
    snap->llm_error[0] = '\0';
    strcpy(snap->builders[1].state, "waiting_for_llm");
    expect_state(snap, 0, 0, "waiting_for_llm", "not available");

    /* Stalled: someone must act; it wins over waiting, not over paused. */
    strcpy(snap->llm_error, "no_model: the server does not serve it");
    expect_state(snap, 0, 0, "stalled", "no_model: the server");
    expect_state(snap, 1, 0, "paused", "bt resume");
    healthy(snap);
    snap->llm_reachable = 0;
    expect_state(snap, 0, -ENOSPC, "stalled", "data directory is full");
    expect_state(snap, 0, -EDQUOT, "stalled", "free space there");
    expect_state(snap, 0, -EIO, "stalled", "cannot write");
    healthy(snap);
    strcpy(snap->sandbox, "unavailable");
    expect_state(snap, 0, 0, "stalled", "sandbox is unavailable");
    strcpy(snap->agents_note, "bubblewrap cannot create namespaces: see docs");
    expect_state(snap, 0, 0, "stalled", "bubblewrap cannot create");
    healthy(snap);
    snap->nbuilders = 0;
    expect_state(snap, 0, 0, "stalled", "BT_BUILDERS=0");
    free(snap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create),
        cmocka_unit_test(test_setters),
        cmocka_unit_test(test_builder_out_of_range),
        cmocka_unit_test(test_builder_since),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_snapshot_is_a_copy),
        cmocka_unit_test(test_concurrent),
        cmocka_unit_test(test_cancel_requests),
        cmocka_unit_test(test_long_agents_note),
        cmocka_unit_test(test_overall_state),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
