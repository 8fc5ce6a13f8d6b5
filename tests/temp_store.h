/* temp_store.h -- a store in a fresh temporary directory, for the unit
 * tests that need a real one: opened without fsync (a test has no crash to
 * survive), and removed with everything in it afterwards. */
#ifndef BT_TESTS_TEMP_STORE_H
#define BT_TESTS_TEMP_STORE_H

#include <stddef.h>

#include "store.h"

struct temp_store {
    char dir[64];       /* the directory, made by mkdtemp */
    struct store *st;
};

/* Makes the directory and opens the store in it; fails the test (cmocka)
 * when either cannot be done. */
void temp_store_open(struct temp_store *t);

/* Closes the store and removes the directory. 0, or -1 if the directory
 * could not be removed. */
int temp_store_close(struct temp_store *t);

/* A cmocka setup and teardown around temp_store_open/_close that leave
 * the struct store * itself in *state. One test at a time (cmocka runs
 * them so): the directory is remembered between the two. */
int temp_store_setup(void **state);
int temp_store_teardown(void **state);

/* The number of records in collection c now. Fails the test on error. */
size_t temp_store_count(struct store *st, enum store_coll c);

/* The number of tasks on the queue now. */
size_t temp_store_queue_depth(struct store *st);

#endif
