/* test_redact.c -- unit tests for util/redact.c: URL credentials are masked
 * wherever a URL stands in a text, known secrets everywhere, and nothing
 * else changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "redact.h"

static void check(const char *in, const char *want)
{
    char out[512];
    char *dup = redact_dup(in);

    redact_buf(out, sizeof out, in);
    if (strcmp(out, want) != 0)
        fail_msg("redact(\"%s\") = \"%s\", want \"%s\"", in, out, want);
    assert_non_null(dup);
    assert_string_equal(dup, want);
    free(dup);
}

static void test_userinfo(void **state)
{
    (void)state;
    check("http://admin:pw@host/v1", "http://***@host/v1");
    check("https://user@host:8443/v1/", "https://***@host:8443/v1/");
    /* '@' in the password: the last '@' ends the userinfo */
    check("http://a:p@ss@h/v1", "http://***@h/v1");
    check("http://host/v1", "http://host/v1");
    check("http://h/path@x", "http://h/path@x");
}

static void test_query(void **state)
{
    (void)state;
    check("http://h/v1?key=abc", "http://h/v1?key=***");
    check("http://h/v1?x=1&api_key=abc&TOKEN=t#frag",
          "http://h/v1?x=1&api_key=***&TOKEN=***#frag");
    check("http://h/v1?access_token=zz&model=m",
          "http://h/v1?access_token=***&model=m");
    check("http://h/v1?key=&q", "http://h/v1?key=&q");
    check("http://h/v1?name=value", "http://h/v1?name=value");
}

static void test_in_text(void **state)
{
    (void)state;
    /* as curl's and our messages quote them */
    check("refused: http://u:secret@127.0.0.1:9/v1/models: Failed to "
          "connect", "refused: http://***@127.0.0.1:9/v1/models: Failed "
          "to connect");
    check("\"url\": \"http://u:p@h/v1\", \"x\": 1",
          "\"url\": \"http://***@h/v1\", \"x\": 1");
    /* a comma-separated list of endpoints */
    check("http://a:b@h1/v1,https://c:d@h2/v1?token=t",
          "http://***@h1/v1,https://***@h2/v1?token=***");
    check("no url here: key=abc", "no url here: key=abc");
    check("", "");
    check("://@", "://***@");
}

static void test_known(void **state)
{
    char out[256];

    (void)state;
    assert_int_equal(redact_known(out, sizeof out, "could not log in as "
                                  "admin with hunter22",
                                  "http://admin:hunter22@h/v1"), 1);
    assert_string_equal(out, "could not log in as *** with ***");
    /* too short to hide outside a URL */
    assert_int_equal(redact_known(out, sizeof out, "a pw b", "http://u:pw@h"),
                     0);
    assert_string_equal(out, "a pw b");
    assert_int_equal(redact_known(out, sizeof out, "bad key SeCr3t",
                                  "http://h/v1?key=SeCr3t"), 1);
    assert_string_equal(out, "bad key ***");
    assert_int_equal(redact_known(out, sizeof out, "nothing", NULL), 0);
}

static void test_buffers(void **state)
{
    char buf[64] = "http://admin:pw@host/v1";
    char tiny[8];

    (void)state;
    /* in place */
    assert_int_equal(redact_buf(buf, sizeof buf, buf), 1);
    assert_string_equal(buf, "http://***@host/v1");
    /* truncated, still terminated, never the secret */
    redact_buf(tiny, sizeof tiny, "http://a:SECRET@h");
    assert_int_equal(strlen(tiny), sizeof tiny - 1);
    assert_null(strstr(tiny, "SEC"));
    assert_null(redact_dup(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_userinfo),
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_in_text),
        cmocka_unit_test(test_known),
        cmocka_unit_test(test_buffers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
