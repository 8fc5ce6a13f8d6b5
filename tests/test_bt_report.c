/* test_bt_report.c -- unit tests of the rows of `bt report`
 * (cmd/bt_report.c) made from eval/SET.json texts, and of its Wilson
 * interval, checked against values computed apart (python3, the formula
 * of Wilson 1927 with z = 1.959963984540054).
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "bt_report.h"

static void wilson_is(double k, double n, double lo, double hi)
{
    double l, h;

    assert_int_equal(bt_report_wilson(k, n, &l, &h), 0);
    if (fabs(l - lo) > 1e-9 || fabs(h - hi) > 1e-9)
        fail_msg("wilson(%g, %g) = [%.12f, %.12f], want [%.12f, %.12f]", k, n,
                 l, h, lo, hi);
}

static void test_wilson(void **state)
{
    double l = 7, h = 7;

    (void)state;
    wilson_is(3, 4, 0.300641842582, 0.954412739190);
    wilson_is(0, 4, 0.0, 0.489890836455);
    wilson_is(4, 4, 0.510109163545, 1.0);
    wilson_is(90, 160, 0.485060212820, 0.637009012784);
    wilson_is(1, 1, 0.206549314377, 1.0);
    assert_int_equal(bt_report_wilson(0, 0, &l, &h), -EINVAL);
    assert_int_equal(bt_report_wilson(5, 4, &l, &h), -EINVAL);
    assert_int_equal(bt_report_wilson(-1, 4, &l, &h), -EINVAL);
    assert_true(l == 7 && h == 7);
}

static char **row(const char *json)
{
    static char *cells[BT_REPORT_NCOLS];
    cJSON *doc = cJSON_Parse(json);

    assert_non_null(doc);
    assert_int_equal(bt_report_row(doc, cells), 0);
    cJSON_Delete(doc);
    return cells;
}

static void row_free(char **cells)
{
    for (size_t i = 0; i < BT_REPORT_NCOLS; i++)
        free(cells[i]);
}

/* A set of 4 judged problems: 2 passed at once, 3 in the end, 1 error. */
static void test_row(void **state)
{
    char **c = row("{\"set\":\"he-full\",\"held_out\":true,\"problems\":5,"
        "\"queued\":0,\"running\":0,\"cancelled\":0,\"finished\":5,"
        "\"judged\":4,\"errors\":1,\"passed_first\":2,\"passed\":3,"
        "\"failed\":1,\"pass_at_1\":0.5,\"pass_at_1_ci95\":[0.15003898915,"
        "0.84996101085],\"pass_final\":0.75,\"pass_final_ci95\":"
        "[0.300641842582,0.954412739190],\"mean_attempts\":1.75,"
        "\"mean_tokens\":1234.5,\"mean_wall_s\":3.25,\"tasks\":[]}");

    (void)state;
    assert_string_equal(c[BT_REPORT_SET], "he-full");
    assert_string_equal(c[BT_REPORT_HELD], "yes");
    assert_string_equal(c[BT_REPORT_PROBLEMS], "5");
    assert_string_equal(c[BT_REPORT_JUDGED], "4");
    assert_string_equal(c[BT_REPORT_PENDING], "0");
    assert_string_equal(c[BT_REPORT_ERRORS], "1");
    assert_string_equal(c[BT_REPORT_PASS1], "50.0%");
    assert_string_equal(c[BT_REPORT_PASS1_CI], "15.0-85.0%");
    assert_string_equal(c[BT_REPORT_FINAL], "75.0%");
    assert_string_equal(c[BT_REPORT_FINAL_CI], "30.1-95.4%");
    assert_string_equal(c[BT_REPORT_ATTEMPTS], "1.75");
    assert_string_equal(c[BT_REPORT_TOKENS], "1234");   /* %.0f: to even */
    assert_string_equal(c[BT_REPORT_WALL], "3.2");
    row_free(c);
}

/* Nothing judged yet: the rates and intervals are null, shown as "-". */
static void test_row_pending(void **state)
{
    char **c = row("{\"set\":\"mbpp\",\"held_out\":false,\"problems\":3,"
        "\"queued\":2,\"running\":1,\"finished\":0,\"judged\":0,"
        "\"errors\":0,\"passed_first\":0,\"passed\":0,\"failed\":0,"
        "\"pass_at_1\":null,\"pass_at_1_ci95\":null,\"pass_final\":null,"
        "\"pass_final_ci95\":null,\"mean_attempts\":null,"
        "\"mean_tokens\":null,\"mean_wall_s\":null,\"tasks\":[]}");

    (void)state;
    assert_string_equal(c[BT_REPORT_HELD], "no");
    assert_string_equal(c[BT_REPORT_PENDING], "3");
    assert_string_equal(c[BT_REPORT_JUDGED], "0");
    for (int k = BT_REPORT_PASS1; k <= BT_REPORT_WALL; k++)
        assert_string_equal(c[k], "-");
    row_free(c);
}

/* A document without intervals (or with fields missing) still shows the
 * interval computed from its counts, and "-" where nothing is known. */
static void test_row_partial(void **state)
{
    char **c = row("{\"set\":\"old\",\"passed\":3,\"failed\":1,"
                   "\"passed_first\":0,\"pass_final\":0.75}");

    (void)state;
    assert_string_equal(c[BT_REPORT_HELD], "-");
    assert_string_equal(c[BT_REPORT_PROBLEMS], "-");
    assert_string_equal(c[BT_REPORT_JUDGED], "4");
    assert_string_equal(c[BT_REPORT_PENDING], "-");
    assert_string_equal(c[BT_REPORT_PASS1], "-");
    assert_string_equal(c[BT_REPORT_PASS1_CI], "0.0-49.0%");
    assert_string_equal(c[BT_REPORT_FINAL], "75.0%");
    assert_string_equal(c[BT_REPORT_FINAL_CI], "30.1-95.4%");
    row_free(c);
}

static void test_row_refused(void **state)
{
    char *cells[BT_REPORT_NCOLS] = { 0 };
    cJSON *a = cJSON_Parse("[1]"), *b = cJSON_Parse("{\"problems\":3}");

    (void)state;
    assert_int_equal(bt_report_row(a, cells), -EINVAL);
    assert_int_equal(bt_report_row(b, cells), -EINVAL);
    for (size_t i = 0; i < BT_REPORT_NCOLS; i++)
        assert_null(cells[i]);
    assert_int_equal(strlen(bt_report_align), BT_REPORT_NCOLS);
    for (size_t i = 0; i < BT_REPORT_NCOLS; i++)
        assert_non_null(bt_report_header[i]);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wilson),
        cmocka_unit_test(test_row),
        cmocka_unit_test(test_row_pending),
        cmocka_unit_test(test_row_partial),
        cmocka_unit_test(test_row_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
