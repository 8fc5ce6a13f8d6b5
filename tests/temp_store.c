/* temp_store.c -- a store in a temporary directory for tests (temp_store.h). */
#include "temp_store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

void temp_store_open(struct temp_store *t)
{
    struct store_options o = { .no_sync = 1 };
    char err[256];

    strcpy(t->dir, "/tmp/btfs_test.XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    if (store_open(t->dir, &o, &t->st, err, sizeof err) != 0)
        fail_msg("store_open %s: %s", t->dir, err);
}

int temp_store_close(struct temp_store *t)
{
    char cmd[128];

    store_close(t->st);
    t->st = NULL;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The store of the test running now (cmocka runs one at a time). */
static struct temp_store current;

int temp_store_setup(void **state)
{
    temp_store_open(&current);
    *state = current.st;
    return 0;
}

int temp_store_teardown(void **state)
{
    *state = NULL;
    return temp_store_close(&current);
}

size_t temp_store_count(struct store *st, enum store_coll c)
{
    struct store_view *v;

    assert_int_equal(store_view_begin(st, &v), 0);
    size_t n = (size_t)store_view_count(v, c);
    store_view_end(v);
    return n;
}

size_t temp_store_queue_depth(struct store *st)
{
    struct store_view *v;

    assert_int_equal(store_view_begin(st, &v), 0);
    size_t n = store_view_queue_depth(v);
    store_view_end(v);
    return n;
}
