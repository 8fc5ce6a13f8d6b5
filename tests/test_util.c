/* test_util.c -- util/: the growable buffer, the clocks, the JSON scanner
 * and the URL list reader. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "clock.h"
#include "json_scan.h"
#include "url_list.h"

static void test_buf_grows_and_takes(void **state)
{
    struct buf b = { 0 };
    (void)state;

    for (int i = 0; i < 1000; i++)
        assert_int_equal(buf_add(&b, "abc", 3), 0);
    assert_int_equal(b.len, 3000);
    assert_int_equal(strlen(b.p), 3000);
    assert_int_equal(buf_printf(&b, "%d-%s", 42, "x"), 0);
    assert_string_equal(b.p + 3000, "42-x");
    char *s = buf_take(&b);
    assert_non_null(s);
    assert_int_equal(strlen(s), 3004);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    free(s);
}

static void test_buf_empty_take(void **state)
{
    struct buf b = { 0 };
    (void)state;
    char *s = buf_take(&b);
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
}

static void test_buf_binary(void **state)
{
    struct buf b = { 0 };
    (void)state;
    assert_int_equal(buf_add(&b, "a\0b", 3), 0);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.p, "a\0b", 4);
    buf_free(&b);
    assert_null(b.p);
}

static void test_buf_failure_latches(void **state)
{
    struct buf b = { 0 };
    (void)state;
    assert_int_equal(buf_adds(&b, "x"), 0);
    /* more than any allocation can give: the buffer fails and stays so */
    assert_int_equal(buf_reserve(&b, SIZE_MAX - 1), -ENOMEM);
    assert_true(b.failed);
    assert_null(b.p);
    assert_int_equal(buf_adds(&b, "y"), -ENOMEM);
    assert_null(buf_take(&b));
    /* taken: usable again */
    assert_int_equal(buf_adds(&b, "z"), 0);
    assert_string_equal(b.p, "z");
    buf_free(&b);
}

static void test_mono_ms_advances(void **state)
{
    (void)state;
    double a = clock_mono_ms();
    struct timespec ts = { 0, 2000000 };
    nanosleep(&ts, NULL);
    double b = clock_mono_ms();
    assert_true(b - a >= 2.0);
}

static void test_rfc3339_round_trip(void **state)
{
    char s[CLOCK_RFC3339_SIZE];
    time_t t;
    (void)state;

    assert_int_equal(clock_rfc3339(0, s), 0);
    assert_string_equal(s, "1970-01-01T00:00:00Z");
    assert_int_equal(clock_rfc3339(1764667200, s), 0);
    assert_string_equal(s, "2025-12-02T09:20:00Z");
    assert_int_equal(clock_parse_rfc3339(s, 1, &t), 0);
    assert_int_equal(t, 1764667200);
}

static void test_rfc3339_forms(void **state)
{
    time_t t;
    (void)state;

    /* offsets, fractions and lower case only when not strict */
    assert_int_equal(clock_parse_rfc3339("2025-12-02T10:20:00.123+01:00", 0,
                                         &t), 0);
    assert_int_equal(t, 1764667200);
    assert_int_equal(clock_parse_rfc3339("2025-12-02t09:20:00z", 0, &t), 0);
    assert_int_equal(t, 1764667200);
    assert_int_equal(clock_parse_rfc3339("2025-12-02T10:20:00+01:00", 1, &t),
                     -EINVAL);
    assert_int_equal(clock_parse_rfc3339("2025-12-02T09:20:00.5Z", 1, &t),
                     -EINVAL);
    /* out of range, cut short, trailing text, not a time */
    assert_int_equal(clock_parse_rfc3339("2025-13-02T09:20:00Z", 0, &t),
                     -EINVAL);
    assert_int_equal(clock_parse_rfc3339("2025-02-30T09:20:00Z", 0, &t),
                     -EINVAL);
    assert_int_equal(clock_parse_rfc3339("2025-12-02T24:00:00Z", 0, &t),
                     -EINVAL);
    assert_int_equal(clock_parse_rfc3339("2025-12-02T09:20", 0, &t), -EINVAL);
    assert_int_equal(clock_parse_rfc3339("2025-12-02T09:20:00Zx", 0, &t),
                     -EINVAL);
    assert_int_equal(clock_parse_rfc3339("yesterday", 0, &t), -EINVAL);
    assert_int_equal(clock_parse_rfc3339(NULL, 0, &t), -EINVAL);
}

static void test_json_skip(void **state)
{
    const char *s = "{\"a\":\"x\\\"y\",\"b\":[1,{\"c\":2}],\"d\":true}";
    size_t n = strlen(s);
    (void)state;

    /* "a": a string with an escaped quote */
    assert_int_equal(json_skip_string(s, n, 1), 4);
    assert_int_equal(json_skip_value(s, n, 5), 11);
    assert_int_equal(s[11], ',');
    /* "b": an array holding an object */
    assert_int_equal(json_skip_value(s, n, 16), 27);
    assert_int_equal(s[27], ',');
    /* "d": a literal, up to the closing brace */
    assert_int_equal(json_skip_value(s, n, 32), n - 1);
    /* unclosed: stops at n */
    assert_int_equal(json_skip_string("\"abc", 4, 0), 4);
    assert_int_equal(json_skip_value("[1,2", 4, 0), 4);
}

/* Both readers of BT_LLM_URL (the configuration and the LLM client) go
 * through url_list_next: every comma starts an item, blanks around one do
 * not count, and an empty item is seen, never skipped. */
static char *items_of(const char *list)
{
    static char out[256];
    const char *cursor = list, *p;
    size_t n, used = 0;

    out[0] = '\0';
    while (url_list_next(&cursor, &p, &n))
        used += (size_t)snprintf(out + used, sizeof out - used, "[%.*s]",
                                 (int)n, p);
    return out;
}

static void test_url_list(void **state)
{
    (void)state;
    assert_string_equal(items_of("http://a/v1"), "[http://a/v1]");
    assert_string_equal(items_of(" http://a , https://b\t"),
                        "[http://a][https://b]");
    assert_string_equal(items_of(""), "[]");
    assert_string_equal(items_of("http://a,,http://b"),
                        "[http://a][][http://b]");
    assert_string_equal(items_of("http://a,"), "[http://a][]");
    assert_string_equal(items_of(" , "), "[][]");
    assert_true(url_is_http("http://x", 8));
    assert_true(url_is_http("https://x", 9));
    assert_false(url_is_http("http:/", 6));
    assert_false(url_is_http("http://", 6));     /* only within len */
    assert_false(url_is_http("ftp://x", 7));
    assert_false(url_is_http("user:pw@host/v1", 15));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_grows_and_takes),
        cmocka_unit_test(test_buf_empty_take),
        cmocka_unit_test(test_buf_binary),
        cmocka_unit_test(test_buf_failure_latches),
        cmocka_unit_test(test_mono_ms_advances),
        cmocka_unit_test(test_rfc3339_round_trip),
        cmocka_unit_test(test_rfc3339_forms),
        cmocka_unit_test(test_json_skip),
        cmocka_unit_test(test_url_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
