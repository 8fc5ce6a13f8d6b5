/* test_log_batch.c -- the agents' shared log batcher (agents/log_batch.c)
 * on a real store: lines wait for a flush or for the commit that takes
 * them, go to their own logs in order, and a batch whose oldest line has
 * waited its delay writes itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "log_batch.h"
#include "temp_store.h"

/* Held until flushed, then written in one go to each line's own log. */
static void lines_wait_for_the_flush(void **state)
{
    struct store *st = *state;
    struct log_batch l;

    log_batch_init(&l, st, 60 * 1000);
    log_batch_add(&l, STORE_LOG_SYSTEM, "one");
    log_batch_addf(&l, STORE_LOG_SHELL, "two %d", 2);
    log_batch_add(&l, STORE_LOG_SYSTEM, "three");
    assert_int_equal(temp_store_count(st, STORE_COLL_SYSLOG), 0);
    log_batch_flush(&l);
    assert_int_equal(temp_store_count(st, STORE_COLL_SYSLOG), 2);
    assert_int_equal(temp_store_count(st, STORE_COLL_SHELLLOG), 1);
    log_batch_flush(&l);                /* nothing held: nothing written */
    assert_int_equal(temp_store_count(st, STORE_COLL_SYSLOG), 2);
    log_batch_free(&l);
}

/* A commit that writes the lines itself takes them; forgetting them then
 * writes nothing twice. */
static void a_commit_takes_the_lines(void **state)
{
    struct store *st = *state;
    struct log_batch l;
    const struct store_log_entry *e;
    size_t n = 99;

    log_batch_init(&l, st, 60 * 1000);
    e = log_batch_lines(&l, &n);
    assert_int_equal(n, 0);
    log_batch_add(&l, STORE_LOG_SYSTEM, "alpha");
    log_batch_add(&l, STORE_LOG_SYSTEM, "beta");
    e = log_batch_lines(&l, &n);
    assert_int_equal(n, 2);
    assert_string_equal(e[0].line, "alpha");
    assert_string_equal(e[1].line, "beta");
    assert_int_equal(store_log_append_many(st, e, n), 0);
    log_batch_forget(&l);
    log_batch_flush(&l);
    assert_int_equal(temp_store_count(st, STORE_COLL_SYSLOG), 2);
    log_batch_free(&l);
}

/* With no delay every line is written as it comes. */
static void no_delay_writes_at_once(void **state)
{
    struct store *st = *state;
    struct log_batch l;

    log_batch_init(&l, st, 0);
    log_batch_add(&l, STORE_LOG_SYSTEM, "now");
    assert_int_equal(temp_store_count(st, STORE_COLL_SYSLOG), 1);
    log_batch_add(&l, STORE_LOG_SYSTEM, "and now");
    assert_int_equal(temp_store_count(st, STORE_COLL_SYSLOG), 2);
    log_batch_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(lines_wait_for_the_flush,
                                        temp_store_setup, temp_store_teardown),
        cmocka_unit_test_setup_teardown(a_commit_takes_the_lines,
                                        temp_store_setup, temp_store_teardown),
        cmocka_unit_test_setup_teardown(no_delay_writes_at_once,
                                        temp_store_setup, temp_store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
