/* test_events_svg.c -- fs/events.c and fs/svg.c alone: system.log lines as
 * event objects, and the two pictures drawn from a real store (per-set
 * lines included, with sets written straight into task documents).
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <cJSON.h>

#include "fs_internal.h"
#include "store.h"

/* ---- events ------------------------------------------------------------------ */

static cJSON *event(const char *line)
{
    struct fs_buf b = { 0 };

    assert_int_equal(fs_event_render(line, strlen(line), &b), 0);
    assert_true(b.len > 1);
    assert_int_equal(b.p[b.len - 1], '\n');
    assert_null(memchr(b.p, '\n', b.len - 1));      /* one line */
    cJSON *o = cJSON_ParseWithLength(b.p, b.len);
    assert_non_null(o);
    fs_buf_free(&b);
    return o;
}

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static const cJSON *fields(const cJSON *o)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "fields");
    assert_true(cJSON_IsObject(f));
    return f;
}

static void test_event_shapes(void **state)
{
    (void)state;
    cJSON *o = event("2026-12-02T04:00:00Z builder 1: task_000007: attempt "
                     "2: ok, 3/4 tests (code by rule fenced)");
    assert_string_equal(str(o, "time"), "2026-12-02T04:00:00Z");
    assert_string_equal(str(o, "kind"), "attempt");
    assert_string_equal(str(o, "task"), "task_000007");
    assert_int_equal((int)num(fields(o), "builder"), 1);
    assert_int_equal((int)num(fields(o), "attempt"), 2);
    assert_string_equal(str(fields(o), "outcome"), "ok");
    assert_int_equal((int)num(fields(o), "tests_passed"), 3);
    assert_int_equal((int)num(fields(o), "tests_total"), 4);
    assert_string_equal(str(o, "message"),
                        "attempt 2: ok, 3/4 tests (code by rule fenced)");
    cJSON_Delete(o);

    o = event("2026-12-02T04:00:01Z builder 0: task_000007: failed after 3 "
              "attempts, score 0.412 (12.5 s): hidden tests: 1 of 2 passed");
    assert_string_equal(str(o, "kind"), "task_finished");
    assert_string_equal(str(fields(o), "status"), "failed");
    assert_int_equal((int)num(fields(o), "attempts"), 3);
    assert_true(fabs(num(fields(o), "score") - 0.412) < 1e-9);
    assert_true(fabs(num(fields(o), "seconds") - 12.5) < 1e-9);
    cJSON_Delete(o);

    o = event("2026-12-02T04:00:02Z builder 0: task_000008: started: "
              "Write \"quoted\" code");
    assert_string_equal(str(o, "kind"), "task_started");
    assert_string_equal(str(fields(o), "goal"), "Write \"quoted\" code");
    cJSON_Delete(o);

    o = event("2026-12-02T04:00:03Z cancel: task_000009: cancelled while "
              "queued");
    assert_string_equal(str(o, "kind"), "task_cancelled");
    assert_string_equal(str(o, "task"), "task_000009");
    cJSON_Delete(o);

    o = event("2026-12-02T04:00:04Z trainer: queued task_000010: recursion "
              "at difficulty 0.45 (weakness)");
    assert_string_equal(str(o, "kind"), "trainer_task");
    assert_string_equal(str(fields(o), "skill"), "recursion");
    assert_true(fabs(num(fields(o), "difficulty") - 0.45) < 1e-9);
    assert_string_equal(str(o, "task"), "task_000010");
    cJSON_Delete(o);

    o = event("2026-12-02T04:00:05Z control: paused");
    assert_string_equal(str(o, "kind"), "control");
    assert_string_equal(str(fields(o), "action"), "paused");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "task")));
    cJSON_Delete(o);

    /* A line of no known shape keeps all its text. */
    o = event("2026-12-02T04:00:06Z something new \x01 happened");
    assert_string_equal(str(o, "kind"), "log");
    assert_string_equal(str(o, "message"), "something new \x01 happened");
    cJSON_Delete(o);

    /* task_1000001 is not task_100000: the id is found whole. */
    o = event("2026-12-02T04:00:07Z tasks/new: queued task_1000001");
    assert_string_equal(str(o, "task"), "task_1000001");
    cJSON_Delete(o);
}

/* ---- pictures ----------------------------------------------------------------- */

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
    strcpy(f->dir, "/tmp/test_svg.XXXXXX");
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
    char path[128];

    store_close(f->st);
    for (const char *const *n = (const char *const[]){ "data.mdb", "lock.mdb",
                                                       "btfs.lock", NULL };
         *n; n++) {
        snprintf(path, sizeof path, "%s/%s", f->dir, *n);
        unlink(path);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Finishes one task of set 'set' (NULL: none) as passed or failed. */
static void result(struct store *st, const char *set, int passed,
                   double total)
{
    char def[128], entry[256], name[STORE_ID_MAX];
    uint64_t id;

    if (set)
        snprintf(def, sizeof def, "{\"goal\":\"g\",\"set\":\"%s\"}", set);
    else
        snprintf(def, sizeof def, "{\"goal\":\"g\"}");
    struct store_task_new t = { def, 0, STORE_SOURCE_USER };
    assert_int_equal(store_task_enqueue(st, &t, 1, &id), 0);
    snprintf(entry, sizeof entry, "{\"task\":\"%s\",\"status\":\"%s\","
             "\"total\":%g}", store_id_format(id, name),
             passed ? "passed" : "failed", total);
    struct store_task_outcome o = { .status = passed ? "passed" : "failed",
                                    .attempts = 1,
                                    .score_entry_json = entry };
    assert_int_equal(store_task_finish(st, id, &o), 0);
}

static char *render(struct store *st, int skills)
{
    struct store_view *v;
    struct fs_buf b = { 0 };

    assert_int_equal(store_view_begin(st, &v), 0);
    assert_int_equal(skills ? fs_svg_skills(v, &b) : fs_svg_trend(v, &b), 0);
    store_view_end(v);
    assert_int_equal(fs_buf_add(&b, "", 1), 0);
    return b.p;
}

static int count(const char *s, const char *what)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, what)); p++)
        n++;
    return n;
}

static void test_trend_empty(void **state)
{
    struct fixture *f = *state;
    char *svg = render(f->st, 0);

    assert_non_null(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_non_null(strstr(svg, "id=\"empty\""));
    assert_int_equal(count(svg, "<polyline"), 0);
    assert_non_null(strstr(svg, "</svg>\n"));
    free(svg);
}

/* 12 results overall, 4 of them in set "a<b" (escaped), 3 in "c": a line
 * each for pass rate and mean score, overall and per set (the set's score
 * line dashed), the names escaped, and the overall pass-rate line has a
 * point per result, a set's lines a point per result of the set. */
static void test_trend_sets(void **state)
{
    struct fixture *f = *state;

    for (int i = 0; i < 12; i++)
        result(f->st, i % 3 == 0 ? "a<b" : i % 4 == 1 ? "c" : NULL, i % 2,
               i / 12.0);
    char *svg = render(f->st, 0);
    assert_int_equal(count(svg, "<polyline"), 6);
    assert_non_null(strstr(svg, "id=\"pass_rate\""));
    assert_non_null(strstr(svg, "id=\"mean_score\""));
    assert_non_null(strstr(svg, "id=\"set_0\""));
    assert_non_null(strstr(svg, "id=\"set_1\""));
    assert_non_null(strstr(svg, "id=\"set_0_score\""));
    assert_non_null(strstr(svg, "id=\"set_1_score\""));
    assert_int_equal(count(svg, "stroke-dasharray"), 2);
    assert_non_null(strstr(svg, "mean score (dashed), set a&lt;b"));
    assert_null(strstr(svg, "a<b"));
    assert_non_null(strstr(svg, "finished tasks (12)"));
    const char *pr = strstr(svg, "id=\"pass_rate\"");
    const char *pts = strstr(pr, "points=\"");
    const char *end = strchr(pts + 8, '"');
    int commas = 0;
    for (const char *p = pts; p < end; p++)
        commas += *p == ',';
    assert_int_equal(commas, 12);
    pts = strstr(strstr(svg, "id=\"set_0_score\""), "points=\"");
    end = strchr(pts + 8, '"');
    commas = 0;
    for (const char *p = pts; p < end; p++)
        commas += *p == ',';
    assert_int_equal(commas, 4);
    free(svg);
}

static void test_skill_map(void **state)
{
    struct fixture *f = *state;
    struct store_named sk[2] = {
        { "lists", "{\"rating\":1.5,\"uncertainty\":0.5,\"level\":0.75,"
                   "\"attempts\":4,\"successes\":3}" },
        { "x&y", "{\"rating\":-9,\"uncertainty\":2,\"level\":0,"
                 "\"attempts\":1,\"successes\":0}" },
    };
    char *svg = render(f->st, 1);
    assert_non_null(strstr(svg, "id=\"empty\""));
    free(svg);

    uint64_t id;
    struct store_task_new t = { "{\"goal\":\"g\"}", 0, STORE_SOURCE_USER };
    assert_int_equal(store_task_enqueue(f->st, &t, 1, &id), 0);
    struct store_task_outcome o = { .status = "passed", .skills = sk,
                                    .nskills = 2 };
    assert_int_equal(store_task_finish(f->st, id, &o), 0);
    svg = render(f->st, 1);
    assert_int_equal(count(svg, "<g class=\"skill\">"), 2);
    assert_int_equal(count(svg, "class=\"rating\""), 2);
    assert_int_equal(count(svg, "class=\"uncertainty\""), 2);
    assert_non_null(strstr(svg, ">lists<"));
    assert_non_null(strstr(svg, ">x&amp;y<"));
    assert_non_null(strstr(svg, "level 0.75, 3/4 passed"));
    free(svg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_shapes),
        cmocka_unit_test_setup_teardown(test_trend_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trend_sets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_skill_map, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
