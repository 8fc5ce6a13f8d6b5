/* test_fs_buf.c -- fs/'s render buffer: counting, and spilling a large
 * snapshot to an unlinked file so that an open collection holds little of
 * btfs's memory. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fs/fs_internal.h"

/* Appends the numbers 0..count-1 as "N," in pieces of every size. */
static void fill(struct fs_buf *b, int count)
{
    char s[32];
    for (int i = 0; i < count; i++) {
        int n = snprintf(s, sizeof s, "%d,", i);
        assert_int_equal(fs_buf_add(b, s, (size_t)n), 0);
    }
}

static void test_count_only(void **state)
{
    struct fs_buf c = { .count_only = 1 }, m = { 0 };
    (void)state;
    fill(&c, 5000);
    fill(&m, 5000);
    assert_null(c.p);
    assert_int_equal(c.len, m.len);
    fs_buf_free(&m);
}

static void test_spill_keeps_bytes(void **state)
{
    struct fs_buf mem = { 0 };
    struct fs_buf sp = { .spill_at = 4096, .spill_dir = "/tmp" };
    char big[10000];
    (void)state;

    fill(&mem, 20000);
    fill(&sp, 20000);
    /* a piece larger than spill_at goes straight to the file */
    memset(big, 'x', sizeof big);
    assert_int_equal(fs_buf_add(&mem, big, sizeof big), 0);
    assert_int_equal(fs_buf_add(&sp, big, sizeof big), 0);
    fill(&mem, 10);
    fill(&sp, 10);
    assert_true(sp.has_file);
    assert_true(sp.len - sp.spilled <= 4096);
    assert_int_equal(sp.len, mem.len);
    assert_int_equal(fs_buf_finish(&sp), 0);
    assert_null(sp.p);
    assert_int_equal(sp.spilled, sp.len);

    /* every byte reads back, from any offset, in pieces of any size */
    char *got = malloc(mem.len);
    assert_non_null(got);
    for (size_t off = 0; off < mem.len; off += 777) {
        ssize_t r = fs_buf_read(&sp, off, got, 1000);
        size_t want = mem.len - off < 1000 ? mem.len - off : 1000;
        assert_int_equal(r, (ssize_t)want);
        assert_memory_equal(got, mem.p + off, want);
    }
    assert_int_equal(fs_buf_read(&sp, mem.len, got, 10), 0);
    free(got);
    fs_buf_free(&sp);
    fs_buf_free(&mem);
    assert_false(sp.has_file);
}

/* A log's snapshot grows after open and an append that failed half-way is
 * undone: truncation works across the file and memory parts. */
static void test_truncate_and_grow(void **state)
{
    struct fs_buf sp = { .spill_at = 1024, .spill_dir = "/tmp" };
    char got[64];
    (void)state;

    fill(&sp, 1000);                    /* spilled */
    size_t mark = sp.len;
    fill(&sp, 1000);
    assert_int_equal(fs_buf_truncate(&sp, mark), 0);
    assert_int_equal(sp.len, mark);
    assert_int_equal(fs_buf_add(&sp, "end", 3), 0);
    assert_int_equal(fs_buf_read(&sp, mark, got, sizeof got), 3);
    assert_memory_equal(got, "end", 3);
    /* back into the file part */
    assert_int_equal(fs_buf_truncate(&sp, 10), 0);
    assert_int_equal(sp.len, 10);
    assert_int_equal(fs_buf_add(&sp, "Z", 1), 0);
    assert_int_equal(fs_buf_read(&sp, 0, got, sizeof got), 11);
    assert_memory_equal(got, "0,1,2,3,4,Z", 11);
    fs_buf_free(&sp);
}

/* With nowhere to spill to (a missing, full or read-only directory) the
 * buffer goes on in memory: a full disk does not make a file unreadable. */
static void test_spill_dir_missing(void **state)
{
    struct fs_buf sp = { .spill_at = 16, .spill_dir = "/nonexistent/btfs" };
    char got[64];
    (void)state;
    assert_int_equal(fs_buf_add(&sp, "0123456789", 10), 0);
    assert_int_equal(fs_buf_add(&sp, "abcdefghij", 10), 0);
    assert_int_equal(fs_buf_add(&sp, "0123456789abcdefghij", 20), 0);
    assert_false(sp.has_file);
    assert_int_equal(fs_buf_finish(&sp), 0);
    assert_int_equal(sp.len, 40);
    assert_int_equal(fs_buf_read(&sp, 0, got, sizeof got), 40);
    assert_memory_equal(got, "0123456789abcdefghij0123456789abcdefghij", 40);
    fs_buf_free(&sp);
}

/* A file that stops taking bytes half-way (here: its descriptor is not
 * writable) is read back into memory and the rendering goes on. */
static void test_spill_write_fails(void **state)
{
    struct fs_buf sp = { .spill_at = 1024, .spill_dir = "/tmp" };
    struct fs_buf mem = { 0 };
    (void)state;
    fill(&sp, 1000);
    fill(&mem, 1000);
    assert_true(sp.has_file);
    /* swap in a read-only descriptor of the same bytes */
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", sp.spill_fd);
    int ro = open(path, O_RDONLY);
    assert_true(ro >= 0);
    close(sp.spill_fd);
    sp.spill_fd = ro;
    fill(&sp, 1000);
    fill(&mem, 1000);
    assert_false(sp.has_file);
    assert_int_equal(sp.len, mem.len);
    assert_memory_equal(sp.p, mem.p, mem.len);
    fs_buf_free(&sp);
    fs_buf_free(&mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_only),
        cmocka_unit_test(test_spill_keeps_bytes),
        cmocka_unit_test(test_truncate_and_grow),
        cmocka_unit_test(test_spill_dir_missing),
        cmocka_unit_test(test_spill_write_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
