/* test_fs_write.c -- the writable files of fs/ without a mount: the writer
 * behind tasks/new (lines in, tasks queued all or nothing, ids or errors
 * read back) and the control file (pause, resume, cancel), on a real store
 * in a temporary directory, called as the FUSE handlers call them. */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "fs.h"
#include "fs_internal.h"
#include "status.h"
#include "store.h"
#include "task.h"
#include "temp_store.h"

/* ---- Helpers ------------------------------------------------------------- */

static int copy_cb(void *c, uint64_t key, const char *val, size_t len)
{
    (void)key;
    *(cJSON **)c = cJSON_ParseWithLength(val, len);
    return 0;
}

/* The stored document of task id, parsed (the caller frees it). */
static cJSON *task_doc(struct store *st, uint64_t id)
{
    struct store_view *v;
    cJSON *j = NULL;
    assert_int_equal(store_view_begin(st, &v), 0);
    assert_int_equal(store_view_get(v, STORE_COLL_TASKS, id, copy_cb, &j), 0);
    store_view_end(v);
    assert_non_null(j);
    return j;
}

static const char *goal_of(cJSON *doc)
{
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(doc, "goal");
    return cJSON_IsString(g) ? g->valuestring : "";
}

/* Everything read(2) would return now, NUL-terminated (static buffer). */
static const char *response(struct fs_writer *w)
{
    static char buf[4096];
    size_t n = 0, k;
    /* In small reads, as a reader with a small buffer makes them. */
    while ((k = fs_writer_read(w, buf + n, 7)) > 0 && n < sizeof buf - 8)
        n += k;
    buf[n] = '\0';
    return buf;
}

static int write_str(struct store *st, struct fs_writer *w, const char *s)
{
    return fs_writer_write(st, w, s, strlen(s));
}

static int last_log_cb(void *c, uint64_t key, const char *val, size_t len)
{
    (void)key;
    free(*(char **)c);
    *(char **)c = strndup(val, len);
    return 0;
}

/* The last line of system.log (the caller frees it). */
static char *last_log(struct store *st)
{
    struct store_view *v;
    char *last = NULL;
    assert_int_equal(store_view_begin(st, &v), 0);
    assert_int_equal(store_view_range(v, STORE_COLL_SYSLOG, 0, UINT64_MAX,
                                      last_log_cb, &last), 0);
    store_view_end(v);
    assert_non_null(last);
    return last;
}

/* ---- tasks/new ----------------------------------------------------------- */

/* echo GOAL > tasks/new: one task, its id read back and logged. */
static void one_line_queues_one_task(void **state)
{
    struct store *st = *state;
    struct fs_writer *w;
    const char *line = "reverse a linked list\n";

    assert_int_equal(fs_writer_new(&w), 0);
    assert_int_equal(write_str(st, w, line), (int)strlen(line));
    assert_string_equal(response(w), "task_000001\n");
    assert_string_equal(response(w), "");     /* read once */
    assert_int_equal(fs_writer_flush(st, w), 0);
    fs_writer_free(w);

    cJSON *doc = task_doc(st, 1);
    assert_string_equal(goal_of(doc), "reverse a linked list");
    assert_string_equal(cJSON_GetObjectItem(doc, "status")->valuestring,
                        "queued");
    assert_string_equal(cJSON_GetObjectItem(doc, "source")->valuestring,
                        "user");
    cJSON_Delete(doc);
    char *log = last_log(st);
    assert_non_null(strstr(log, "tasks/new: queued task_000001"));
    free(log);
}

/* A JSON line: its fields are the task's. */
static void json_line_keeps_its_fields(void **state)
{
    struct store *st = *state;
    struct fs_writer *w;
    const char *line = "{\"goal\": \"square\", \"difficulty\": 0.7, "
                       "\"priority\": 3, \"skills\": [\"math\"], "
                       "\"language\": \"c\", \"tests\": \"t\", "
                       "\"timeout_s\": 5}\n";

    assert_int_equal(fs_writer_new(&w), 0);
    assert_int_equal(write_str(st, w, line), (int)strlen(line));
    assert_string_equal(response(w), "task_000001\n");
    fs_writer_free(w);
    cJSON *doc = task_doc(st, 1);
    assert_true(cJSON_GetObjectItem(doc, "difficulty")->valuedouble == 0.7);
    assert_int_equal(cJSON_GetObjectItem(doc, "priority")->valueint, 3);
    assert_string_equal(cJSON_GetObjectItem(doc, "language")->valuestring,
                        "c");
    assert_int_equal(cJSON_GetObjectItem(doc, "timeout_s")->valueint, 5);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "skills"),
                                           0)->valuestring, "math");
    cJSON_Delete(doc);
}

/* Several lines in one write: all queued, or, when one is bad, none, with
 * the bad line named; the writer can go on afterwards. */
static void a_write_is_all_or_nothing(void **state)
{
    struct store *st = *state;
    struct fs_writer *w;

    assert_int_equal(fs_writer_new(&w), 0);
    assert_int_equal(write_str(st, w, "one\n{\"goal\": 5}\nthree\n"),
                     -EINVAL);
    assert_int_equal(temp_store_count(st, STORE_COLL_TASKS), 0);
    const char *r = response(w);
    if (strncmp(r, "error: line 2: ", 15) != 0 || !strstr(r, "goal"))
        fail_msg("response: %s", r);
    char *log = last_log(st);
    assert_non_null(strstr(log, "tasks/new: rejected: line 2: "));
    free(log);

    assert_int_equal(write_str(st, w, "{\"goal\": \"x\", \"colour\": 1}\n"),
                     -EINVAL);
    assert_non_null(strstr(response(w), "colour"));
    assert_int_equal(write_str(st, w, "\n"), -EINVAL);   /* empty line */
    (void)response(w);
    assert_int_equal(temp_store_count(st, STORE_COLL_TASKS), 0);

    assert_int_equal(write_str(st, w, "one\ntwo\nthree\n"), 14);
    assert_string_equal(response(w),
                        "task_000001\ntask_000002\ntask_000003\n");
    assert_int_equal(temp_store_count(st, STORE_COLL_TASKS), 3);
    cJSON *doc = task_doc(st, 3);
    assert_string_equal(goal_of(doc), "three");
    cJSON_Delete(doc);
    fs_writer_free(w);
}

/* Text after the last newline waits for the rest of its line or for
 * close; a bad line at close makes close fail and is gone. */
static void partial_lines_wait(void **state)
{
    struct store *st = *state;
    struct fs_writer *w;

    assert_int_equal(fs_writer_new(&w), 0);
    assert_int_equal(write_str(st, w, "rev"), 3);
    assert_int_equal(temp_store_count(st, STORE_COLL_TASKS), 0);
    assert_string_equal(response(w), "");
    assert_int_equal(write_str(st, w, "erse\nsor"), 8);
    assert_int_equal(temp_store_count(st, STORE_COLL_TASKS), 1);
    assert_string_equal(response(w), "task_000001\n");
    cJSON *doc = task_doc(st, 1);
    assert_string_equal(goal_of(doc), "reverse");
    cJSON_Delete(doc);
    /* A failed write keeps the pending part as it was. */
    assert_int_equal(write_str(st, w, "t\n{\n"), -EINVAL);
    (void)response(w);
    assert_int_equal(write_str(st, w, "t a list"), 8);
    assert_int_equal(fs_writer_flush(st, w), 0);
    assert_string_equal(response(w), "task_000002\n");
    doc = task_doc(st, 2);
    assert_string_equal(goal_of(doc), "sort a list");
    cJSON_Delete(doc);
    fs_writer_free(w);

    assert_int_equal(fs_writer_new(&w), 0);
    assert_int_equal(write_str(st, w, "{\"goal\": "), 9);
    assert_int_equal(fs_writer_flush(st, w), -EINVAL);
    assert_non_null(strstr(response(w), "error: line 1: "));
    assert_int_equal(fs_writer_flush(st, w), 0);      /* gone */
    assert_int_equal(temp_store_count(st, STORE_COLL_TASKS), 2);
    fs_writer_free(w);
}

/* A line over TASK_MAX_LINE fails with EFBIG and all of it is dropped, up
 * to its newline: its tail never becomes a task of its own. */
static void an_overlong_line_is_dropped_whole(void **state)
{
    struct store *st = *state;
    struct fs_writer *w;
    size_t n = TASK_MAX_LINE + 1;
    char *big = malloc(n);

    assert_non_null(big);
    memset(big, 'x', n);
    assert_int_equal(fs_writer_new(&w), 0);
    assert_int_equal(fs_writer_write(st, w, big, n), -EFBIG);
    assert_non_null(strstr(response(w), "line longer than"));
    assert_int_equal(fs_writer_write(st, w, big, 100), -EFBIG);
    assert_int_equal(write_str(st, w, "tail of it\nnext task\n"), 21);
    assert_string_equal(response(w), "task_000001\n");
    assert_int_equal(temp_store_count(st, STORE_COLL_TASKS), 1);
    cJSON *doc = task_doc(st, 1);
    assert_string_equal(goal_of(doc), "next task");
    cJSON_Delete(doc);
    fs_writer_free(w);
    free(big);
}

/* ---- control ------------------------------------------------------------- */

static void control_parses_commands(void **state)
{
    struct fs_control c;
    const char *text = "pause\n\ncancel task_000042 7 000009\n  resume  \n";

    (void)state;
    assert_int_equal(fs_control_parse(text, strlen(text), &c), 0);
    assert_int_equal(c.pause, 0);               /* the last one wins */
    assert_int_equal(c.ncancel, 3);
    assert_true(c.cancel[0] == 42 && c.cancel[1] == 7 && c.cancel[2] == 9);
    fs_control_free(&c);

    assert_int_equal(fs_control_parse("pause", 5, &c), 0);
    assert_int_equal(c.pause, 1);
    assert_int_equal(c.ncancel, 0);
    fs_control_free(&c);

    static const char *const bad[] = {
        "", "\n\n", "stop\n", "pause now\n", "cancel\n", "cancel 0\n",
        "cancel task_1\n", "cancel x7\n", "Pause\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (fs_control_parse(bad[i], strlen(bad[i]), &c) != -EINVAL)
            fail_msg("'%s' was taken", bad[i]);
        fs_control_free(&c);
    }
}

/* Applying: a queued task is cancelled at once; a running one is asked to
 * stop through the status object; an unknown id fails the whole write
 * before anything is done; pause is durable. */
static void control_applies_them(void **state)
{
    struct store *st = *state;
    struct status *status;
    struct fs_context ctx = { .store = st };
    struct store_task_new t[2] = {
        { "{\"goal\":\"a\"}", 0, STORE_SOURCE_USER },
        { "{\"goal\":\"b\"}", 0, STORE_SOURCE_USER },
    };
    struct fs_control c;
    uint64_t ids[2], got;

    assert_int_equal(status_create(1, &status), 0);
    ctx.status = status;
    assert_int_equal(store_task_enqueue(st, t, 2, ids), 0);
    assert_int_equal(store_task_dequeue(st, &got, NULL), 0);    /* runs */
    assert_true(got == ids[0]);

    const char *bad = "pause\ncancel 2 99\n";
    assert_int_equal(fs_control_parse(bad, strlen(bad), &c), 0);
    assert_int_equal(fs_control_apply(&ctx, &c), -ENOENT);
    fs_control_free(&c);
    assert_int_equal(store_paused(st), 0);
    cJSON *doc = task_doc(st, ids[1]);
    assert_string_equal(cJSON_GetObjectItem(doc, "status")->valuestring,
                        "queued");
    cJSON_Delete(doc);

    const char *good = "cancel 1 2\npause\n";
    assert_int_equal(fs_control_parse(good, strlen(good), &c), 0);
    assert_int_equal(fs_control_apply(&ctx, &c), 0);
    fs_control_free(&c);
    assert_int_equal(store_paused(st), 1);
    doc = task_doc(st, ids[1]);
    assert_string_equal(cJSON_GetObjectItem(doc, "status")->valuestring,
                        "cancelled");
    cJSON_Delete(doc);
    /* The running one is left to its builder, which takes the request. */
    doc = task_doc(st, ids[0]);
    assert_string_equal(cJSON_GetObjectItem(doc, "status")->valuestring,
                        "running");
    cJSON_Delete(doc);
    assert_int_equal(status_cancel_take(status, ids[0]), 1);
    char *log = last_log(st);
    assert_string_equal(strchr(log, ' ') + 1, "control: paused");
    free(log);

    assert_int_equal(fs_control_parse("resume\n", 7, &c), 0);
    assert_int_equal(fs_control_apply(&ctx, &c), 0);
    fs_control_free(&c);
    assert_int_equal(store_paused(st), 0);
    status_free(status);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(one_line_queues_one_task,
                                        temp_store_setup, temp_store_teardown),
        cmocka_unit_test_setup_teardown(json_line_keeps_its_fields,
                                        temp_store_setup, temp_store_teardown),
        cmocka_unit_test_setup_teardown(a_write_is_all_or_nothing,
                                        temp_store_setup, temp_store_teardown),
        cmocka_unit_test_setup_teardown(partial_lines_wait,
                                        temp_store_setup, temp_store_teardown),
        cmocka_unit_test_setup_teardown(an_overlong_line_is_dropped_whole,
                                        temp_store_setup, temp_store_teardown),
        cmocka_unit_test(control_parses_commands),
        cmocka_unit_test_setup_teardown(control_applies_them,
                                        temp_store_setup, temp_store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
