/* test_fs.c -- fs/ without a mount: the one-pass JSON reformatter against
 * cJSON_Print, counted sizes against rendered bytes, status.json, config,
 * control and the logs as rendered, and the store's commit hook that
 * drives cache invalidation. The tree's paths, inode numbers and README
 * are tested in test_fs_tree.c, the writable files (tasks/new and control)
 * in test_fs_write.c. */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "fs.h"
#include "fs_internal.h"
#include "status.h"
#include "store.h"
#include "task.h"
#include "temp_store.h"

static const char *const docs[] = {
    "{}",
    "[]",
    "0",
    "\"x\"",
    "{\"a\":1}",
    "{\"a\":{},\"b\":[],\"c\":[{}],\"d\":[[]]}",
    "{\"goal\":\"say \\\"hi\\\"\\n\\ttab \\\\ \\u0001\",\"difficulty\":0.7,"
    "\"priority\":-3,\"skills\":[\"recursion\",\"io\"],\"x\":null,"
    "\"t\":true,\"f\":false,\"big\":1e+300,\"frac\":0.1}",
    "[{\"a\":[1,2,{\"b\":{\"c\":[{\"d\":{}}]}}]},{\"e\":\"[{,:}]\"}]",
    "{\"score\":{\"accuracy\":1,\"speed\":0.5},\"result\":{\"passed\":3,"
    "\"total\":3,\"reason\":null},\"u\":\"\xc3\xa9t\xc3\xa9 \xe2\x9c\x93\"}",
};

/* What cJSON_Print makes of text, canonical compact text re-printed. */
static char *cjson_pretty(const char *text)
{
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    char *s = cJSON_Print(j);
    cJSON_Delete(j);
    assert_non_null(s);
    return s;
}

static char *cjson_compact(const char *text)
{
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    assert_non_null(s);
    return s;
}

static void pretty_matches_cjson(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        char *compact = cjson_compact(docs[i]);
        char *want = cjson_pretty(docs[i]);
        struct fs_buf out = {0}, count = { .count_only = 1 };

        assert_int_equal(fs_json_pretty(&out, compact, strlen(compact), 0),
                         0);
        assert_int_equal(fs_json_pretty(&count, compact, strlen(compact), 0),
                         0);
        assert_int_equal(out.len, strlen(want));
        assert_memory_equal(out.p, want, out.len);
        assert_int_equal(count.len, out.len);
        assert_null(count.p);

        /* Inside a top-level array, as the collections show records. */
        char *arr;
        assert_true(asprintf(&arr, "[%s,%s]", compact, compact) > 0);
        char *warr = cjson_pretty(arr);
        struct fs_buf o2 = {0};
        assert_int_equal(fs_buf_add(&o2, "[", 1), 0);
        assert_int_equal(fs_json_pretty(&o2, compact, strlen(compact), 1), 0);
        assert_int_equal(fs_buf_add(&o2, ", ", 2), 0);
        assert_int_equal(fs_json_pretty(&o2, compact, strlen(compact), 1), 0);
        assert_int_equal(fs_buf_add(&o2, "]", 1), 0);
        assert_int_equal(o2.len, strlen(warr));
        assert_memory_equal(o2.p, warr, o2.len);

        fs_buf_free(&o2);
        fs_buf_free(&out);
        free(arr);
        cJSON_free(warr);
        cJSON_free(want);
        cJSON_free(compact);
    }
}

static void pretty_drops_whitespace_and_refuses_unbalanced(void **state)
{
    (void)state;
    const char *spaced = " { \"a\" : [ 1 , 2 ] ,\n\"b\" : { } } ";
    char *want = cjson_pretty(spaced);
    struct fs_buf out = {0};
    assert_int_equal(fs_json_pretty(&out, spaced, strlen(spaced), 0), 0);
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.p, want, out.len);
    fs_buf_free(&out);
    cJSON_free(want);

    assert_int_equal(fs_json_pretty(&out, "{\"a\":[1}", 8, 0), -EINVAL);
    fs_buf_free(&out);
    assert_int_equal(fs_json_pretty(&out, "]", 1, 0), -EINVAL);
    fs_buf_free(&out);
}

static void json_string_escapes_as_cjson(void **state)
{
    (void)state;
    const char *names[] = {"plain", "quote\"back\\slash", "ctl\x01\x1f\n\t",
                           "\xc3\xa9"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        cJSON *s = cJSON_CreateString(names[i]);
        char *want = cJSON_PrintUnformatted(s);
        struct fs_buf out = {0};
        assert_int_equal(fs_json_string(&out, names[i]), 0);
        assert_int_equal(out.len, strlen(want));
        assert_memory_equal(out.p, want, out.len);
        fs_buf_free(&out);
        cJSON_free(want);
        cJSON_Delete(s);
    }
}

static void json_field_finds_top_level_only(void **state)
{
    (void)state;
    const char *doc = "{\"nested\":{\"status\":\"no\"},\"list\":[\"status\","
                      "{\"status\":1}],\"status\":\"passed\",\"n\":12,"
                      "\"s\":\"a\\\"b\"}";
    const char *v;
    size_t vl;
    assert_int_equal(fs_json_field(doc, strlen(doc), "status", &v, &vl), 0);
    assert_int_equal(vl, 8);
    assert_memory_equal(v, "\"passed\"", 8);
    assert_int_equal(fs_json_field(doc, strlen(doc), "n", &v, &vl), 0);
    assert_memory_equal(v, "12", 2);
    assert_int_equal(vl, 2);
    assert_int_equal(fs_json_field(doc, strlen(doc), "s", &v, &vl), 0);
    assert_int_equal(vl, 6);
    assert_int_equal(fs_json_field(doc, strlen(doc), "missing", &v, &vl),
                     -ENOENT);
    assert_int_equal(fs_json_field("[1]", 3, "a", &v, &vl), -ENOENT);
}

/* ---- On a real store ---------------------------------------------------- */

struct hook_log {
    int calls;
    uint64_t last;
};

static void hook_cb(void *c, uint64_t task)
{
    struct hook_log *h = c;
    h->calls++;
    h->last = task;
}

/* Size by counting == bytes rendered, and the bytes == cJSON_Print of the
 * stored document, for a task, the queue and the skill map. */
static void render_counts_what_it_renders(void **state)
{
    struct store *st = *state;
    struct fs_context ctx = { .store = st };
    struct store_task_new t[3] = {
        { "{\"goal\":\"one\",\"skills\":[\"a\",\"b\"],\"difficulty\":0.25}",
          1, STORE_SOURCE_USER },
        { "{\"goal\":\"two \\\"quoted\\\"\\n\"}", 0, STORE_SOURCE_TRAINER },
        { "{\"goal\":\"three\",\"constraints\":[]}", 0, STORE_SOURCE_USER },
    };
    uint64_t ids[3];
    assert_int_equal(store_task_enqueue(st, t, 3, ids), 0);

    const char *paths[] = { "/tasks/task_000001.json", "/tasks/task_queue.json",
                            "/core/skill_map.json", "/core/score_log.json",
                            "/core/builder_profile.json", "/control" };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct fs_node n;
        struct fs_meta m;
        struct store_view *v;
        struct fs_buf out = {0}, count = { .count_only = 1 };
        assert_int_equal(fs_node_parse(paths[i], &n), 0);
        assert_int_equal(store_view_begin(st, &v), 0);
        assert_int_equal(fs_render(&ctx, v, &n, &out, &m), 0);
        assert_int_equal(fs_render(&ctx, v, &n, &count, &m), 0);
        store_view_end(v);
        assert_int_equal(count.len, out.len);
        assert_true(out.len > 0);
        if (strcmp(paths[i], "/control") != 0) {
            /* Whatever the shape, the file is what cJSON_Print makes. */
            char *text = strndup(out.p, out.len);
            char *want = cjson_pretty(text);
            assert_int_equal(out.len, strlen(want) + 1);
            assert_memory_equal(out.p, want, strlen(want));
            assert_int_equal(out.p[out.len - 1], '\n');
            cJSON_free(want);
            free(text);
        }
        fs_buf_free(&out);
    }

    /* A queued task is not final; its mtime is its creation. */
    struct store_view *v;
    struct fs_meta m;
    assert_int_equal(store_view_begin(st, &v), 0);
    assert_int_equal(fs_task_meta(v, ids[0], &m), 0);
    assert_int_equal(m.immutable, 0);
    assert_true(m.mtime > 0);
    assert_int_equal(fs_task_meta(v, 999, &m), -ENOENT);
    store_view_end(v);
}

/* Renders path as of now into a NUL-terminated malloc'd text (the count
 * checked against the bytes on the way). Returns fs_render's code. */
static int render_path(struct fs_context *ctx, const char *path, char **text,
                       struct fs_meta *m)
{
    struct fs_node n;
    struct store_view *v;
    struct fs_buf out = {0}, count = { .count_only = 1 };
    struct fs_meta mc;

    assert_int_equal(fs_node_parse(path, &n), 0);
    assert_int_equal(store_view_begin(ctx->store, &v), 0);
    int rc = fs_render(ctx, v, &n, &out, m);
    if (rc == 0) {
        assert_int_equal(fs_render(ctx, v, &n, &count, &mc), 0);
        assert_int_equal(count.len, out.len);
    }
    store_view_end(v);
    if (rc == 0)
        assert_int_equal(fs_buf_add(&out, "", 1), 0);
    *text = rc == 0 ? out.p : NULL;
    if (rc)
        fs_buf_free(&out);
    return rc;
}

static cJSON *render_json(struct fs_context *ctx, const char *path)
{
    struct fs_meta m;
    char *text;
    assert_int_equal(render_path(ctx, path, &text, &m), 0);
    cJSON *j = cJSON_Parse(text);
    if (!j)
        fail_msg("%s is not JSON: %s", path, text);
    free(text);
    return j;
}

static const char *jstr(const cJSON *o, const char *name)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* status.json shows the overall state the status module decides, the
 * queue and the builders, as JSON whatever the agents report. */
static void status_json_shows_the_state(void **state)
{
    struct store *st = *state;
    struct status *status;
    struct fs_context ctx = { .store = st, .data_dir = "/data" };
    struct store_task_new t = { "{\"goal\":\"g\"}", 0, STORE_SOURCE_USER };
    uint64_t id;

    /* Without a status object (no agents at all): still a document. */
    cJSON *j = render_json(&ctx, "/status.json");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(
        cJSON_GetObjectItem(j, "llm"), "reachable")));
    assert_string_equal(jstr(j, "data_dir"), "/data");
    cJSON_Delete(j);

    assert_int_equal(status_create(2, &status), 0);
    ctx.status = status;
    status_set_llm(status, "http://127.0.0.1:1/v1", "m");
    status_set_llm_health(status, 1, NULL);
    status_set_sandbox(status, "bubblewrap");
    status_set_builder(status, 1, "working", 9, "running tests");
    assert_int_equal(store_task_enqueue(st, &t, 1, &id), 0);
    j = render_json(&ctx, "/status.json");
    assert_string_equal(jstr(j, "state"), "running");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "reason")));
    assert_int_equal(cJSON_GetObjectItem(j, "queue_depth")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(j, "tasks_total")->valueint, 1);
    cJSON *b = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "builders"), 1);
    assert_string_equal(jstr(b, "task"), "task_000009");
    assert_string_equal(jstr(b, "step"), "running tests");
    assert_string_equal(jstr(cJSON_GetObjectItem(j, "llm"), "url"),
                        "http://127.0.0.1:1/v1");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(
        cJSON_GetObjectItem(j, "disk"), "writable")));
    cJSON_Delete(j);

    status_set_llm_health(status, 0, "connect: refused");
    j = render_json(&ctx, "/status.json");
    assert_string_equal(jstr(j, "state"), "waiting_for_llm");
    assert_string_equal(jstr(j, "reason"), "connect: refused");
    cJSON_Delete(j);

    status_set_sandbox(status, "unavailable");
    j = render_json(&ctx, "/status.json");
    assert_string_equal(jstr(j, "state"), "stalled");
    cJSON_Delete(j);

    assert_int_equal(store_set_paused(st, 1), 0);
    j = render_json(&ctx, "/status.json");
    assert_string_equal(jstr(j, "state"), "paused");
    cJSON_Delete(j);
    char *text;
    struct fs_meta m;
    assert_int_equal(render_path(&ctx, "/control", &text, &m), 0);
    assert_string_equal(text, "paused\n");
    free(text);
    assert_int_equal(store_set_paused(st, 0), 0);
    assert_int_equal(render_path(&ctx, "/control", &text, &m), 0);
    assert_string_equal(text, "running\n");
    free(text);
    status_free(status);
}

/* config.json is the configuration as given, pretty-printed; text that is
 * not JSON is shown as it is rather than hidden. */
static void config_json_as_given(void **state)
{
    struct fs_context ctx = { .store = *state,
                              .config_json = "{\"llm_url\":\"u\",\"n\":2}" };
    struct fs_meta m;
    char *text;

    assert_int_equal(render_path(&ctx, "/config.json", &text, &m), 0);
    assert_string_equal(text, "{\n\t\"llm_url\":\t\"u\",\n\t\"n\":\t2\n}\n");
    assert_int_equal(m.immutable, 1);
    free(text);
    ctx.config_json = "not json";
    assert_int_equal(render_path(&ctx, "/config.json", &text, &m), 0);
    assert_string_equal(text, "not json\n");
    free(text);
    ctx.config_json = NULL;
    assert_int_equal(render_path(&ctx, "/config.json", &text, &m), 0);
    assert_string_equal(text, "{\n}\n");
    free(text);
}

/* What does not exist in a snapshot says so; tasks/new reads empty. */
static void render_missing_and_special(void **state)
{
    struct store *st = *state;
    struct fs_context ctx = { .store = st };
    struct store_task_new t = { "{\"goal\":\"g\"}", 0, STORE_SOURCE_USER };
    static const char *const missing[] = {
        "/tasks/task_000002.json", "/tasks/reflection_000001.json",
        "/tasks/summary_000001.json", "/code_archive/task_000001/attempt_1.py",
        "/advanced/builder_analysis_1.json", "/eval/nosuch.json",
    };
    struct fs_meta m;
    struct fs_node n;
    struct store_view *v;
    uint64_t id;
    time_t mtime;
    char *text;

    assert_int_equal(store_task_enqueue(st, &t, 1, &id), 0);
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++)
        if (render_path(&ctx, missing[i], &text, &m) != -ENOENT)
            fail_msg("%s exists", missing[i]);
    assert_int_equal(render_path(&ctx, "/tasks/new", &text, &m), 0);
    assert_string_equal(text, "");
    free(text);
    /* A document the store lacks still shows, as an empty object. */
    assert_int_equal(render_path(&ctx, "/advanced/trainer_log.json", &text,
                                 &m), 0);
    assert_int_equal(text[strlen(text) - 1], '\n');
    free(text);

    assert_int_equal(store_view_begin(st, &v), 0);
    struct fs_buf out = {0};
    assert_int_equal(fs_node_parse("/core", &n), 0);
    assert_int_equal(fs_render(&ctx, v, &n, &out, &m), -EISDIR);
    assert_int_equal(fs_dir_exists(v, &n, &mtime), 0);
    assert_int_equal(fs_node_parse("/code_archive/task_000001", &n), 0);
    assert_int_equal(fs_dir_exists(v, &n, &mtime), -ENOENT);
    store_view_end(v);
    fs_buf_free(&out);
}

/* system.log as stored, one line each; events.jsonl the same lines as JSON
 * objects; a reader that follows gets only the lines after its last; the
 * mtime is the last line's stamp. */
static void logs_render_and_follow(void **state)
{
    struct store *st = *state;
    struct fs_context ctx = { .store = st };
    struct store_view *v;
    struct fs_meta m;
    struct fs_buf more = {0};
    time_t before = time(NULL);
    char *text;

    assert_int_equal(store_log_append(st, STORE_LOG_SYSTEM, "first line"), 0);
    assert_int_equal(store_log_append(st, STORE_LOG_SYSTEM,
                                      "builder 0: task_000001: passed"), 0);
    assert_int_equal(render_path(&ctx, "/logs/system.log", &text, &m), 0);
    time_t after = time(NULL);
    assert_non_null(strstr(text, " first line\n"));
    assert_non_null(strstr(text, " builder 0: task_000001: passed\n"));
    assert_true(m.mtime >= before && m.mtime <= after);
    uint64_t next = m.log_next;
    free(text);

    assert_int_equal(render_path(&ctx, "/logs/events.jsonl", &text, &m), 0);
    size_t lines = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *j = cJSON_Parse(line);
        if (!cJSON_IsObject(j))
            fail_msg("not an event object: %s", line);
        cJSON_Delete(j);
        lines++;
    }
    assert_int_equal(lines, 2);
    free(text);

    assert_int_equal(store_log_append(st, STORE_LOG_SYSTEM, "third"), 0);
    assert_int_equal(store_view_begin(st, &v), 0);
    uint64_t after_next = next;
    assert_int_equal(fs_render_log_from(v, FS_SYSLOG, next, &more,
                                        &after_next, NULL), 0);
    store_view_end(v);
    assert_true(after_next > next);
    assert_int_equal(fs_buf_add(&more, "", 1), 0);
    assert_non_null(strstr(more.p, " third\n"));
    assert_null(strstr(more.p, "first line"));
    fs_buf_free(&more);
}

static void commit_hook_names_the_task(void **state)
{
    struct store *st = *state;
    struct hook_log h = {0};
    struct store_task_new t = { "{\"goal\":\"g\"}", 0, STORE_SOURCE_USER };
    uint64_t id, got;

    store_set_commit_hook(st, hook_cb, &h);
    assert_int_equal(store_task_enqueue(st, &t, 1, &id), 0);
    assert_int_equal(h.calls, 1);
    assert_true(h.last == 0);           /* new tasks: nothing was cached */
    assert_int_equal(store_task_dequeue(st, &got, NULL), 0);
    assert_int_equal(h.calls, 2);
    assert_true(h.last == got);
    assert_int_equal(store_log_append(st, STORE_LOG_SYSTEM, "x"), 0);
    assert_int_equal(h.calls, 3);
    assert_true(h.last == 0);
    /* A failed write commits nothing and tells nothing. */
    assert_int_equal(store_task_requeue(st, 424242), -ENOENT);
    assert_int_equal(h.calls, 3);
    store_set_commit_hook(st, NULL, NULL);
    assert_int_equal(store_log_append(st, STORE_LOG_SYSTEM, "y"), 0);
    assert_int_equal(h.calls, 3);
}

static char *log_line_cb(void *ctx, uint64_t first, size_t n)
{
    char *s;
    (void)ctx;
    return asprintf(&s, "queued %" PRIu64 " +%zu", first, n) < 0 ? NULL : s;
}

static int copy_cb(void *c, uint64_t key, const char *val, size_t len)
{
    (void)key;
    *(char **)c = strndup(val, len);
    return 0;
}

static int last_cb(void *c, uint64_t key, const char *val, size_t len)
{
    (void)key;
    free(*(char **)c);
    *(char **)c = strndup(val, len);
    return 0;
}

/* The spliced document of a canonical definition is the one the store
 * builds by parsing it, and the log line rides in the same commit. */
static void enqueue_splices_and_logs_in_one_commit(void **state)
{
    struct store *st = *state;
    const char *lines[] = {
        "reverse a list",
        "{\"goal\":\"g \\\"q\\\" \\u00e9\",\"priority\":7,\"skills\":[\"a\"],"
        "\"constraints\":[\"no imports\"],\"tests\":\"assert f(1) == {1: [2]}\","
        "\"difficulty\":0.35,\"language\":\"c\",\"timeout_s\":3}",
        "{\"goal\":\"x\",\"priority\":-2,\"hidden_tests\":\"assert 1\"}",
    };
    const size_t n = sizeof lines / sizeof lines[0];
    struct task_def defs[3];
    struct store_task_new t[3];
    uint64_t a[3], b[3];
    struct hook_log h = {0};
    char err[256];

    for (size_t i = 0; i < n; i++) {
        int rc = task_parse_line(lines[i], strlen(lines[i]), &defs[i], err,
                                 sizeof err);
        if (rc)
            fail_msg("line %zu: %s", i, err);
        t[i] = (struct store_task_new){ defs[i].json, defs[i].priority,
                                        STORE_SOURCE_USER };
    }
    store_set_commit_hook(st, hook_cb, &h);
    assert_int_equal(store_task_enqueue_log(st, t, n, a,
                                            STORE_ENQUEUE_CANONICAL,
                                            log_line_cb, NULL), 0);
    assert_int_equal(h.calls, 1);
    store_set_commit_hook(st, NULL, NULL);
    assert_int_equal(store_task_enqueue(st, t, n, b), 0);

    struct store_view *v;
    assert_int_equal(store_view_begin(st, &v), 0);
    for (size_t i = 0; i < n; i++) {
        char *sa = NULL, *sb = NULL;
        assert_int_equal(store_view_get(v, STORE_COLL_TASKS, a[i], copy_cb,
                                        &sa), 0);
        assert_int_equal(store_view_get(v, STORE_COLL_TASKS, b[i], copy_cb,
                                        &sb), 0);
        cJSON *ja = cJSON_Parse(sa), *jb = cJSON_Parse(sb);
        assert_non_null(ja);
        assert_non_null(jb);
        /* Only the id and (maybe) the second of creation differ. */
        cJSON_ReplaceItemInObject(jb, "id", cJSON_CreateString(
            cJSON_GetObjectItem(ja, "id")->valuestring));
        cJSON_ReplaceItemInObject(jb, "created_at", cJSON_CreateString(
            cJSON_GetObjectItem(ja, "created_at")->valuestring));
        char *pa = cJSON_PrintUnformatted(ja), *pb = cJSON_PrintUnformatted(jb);
        assert_string_equal(pa, pb);
        /* The spliced text is canonical: printing it again changes nothing. */
        assert_string_equal(sa, pa);
        cJSON_free(pa);
        cJSON_free(pb);
        cJSON_Delete(ja);
        cJSON_Delete(jb);
        free(sa);
        free(sb);
    }
    char *last = NULL, want[64];
    assert_int_equal(store_view_range(v, STORE_COLL_SYSLOG, 0, UINT64_MAX,
                                      last_cb, &last), 0);
    store_view_end(v);
    assert_non_null(last);
    snprintf(want, sizeof want, " queued %" PRIu64 " +3", a[0]);
    assert_non_null(strstr(last, want));
    free(last);
    for (size_t i = 0; i < n; i++)
        task_def_free(&defs[i]);

    /* Not an object: refused, nothing stored. */
    struct store_task_new bad = { "[1]", 0, STORE_SOURCE_USER };
    assert_int_equal(store_task_enqueue_log(st, &bad, 1, NULL,
                                            STORE_ENQUEUE_CANONICAL, NULL,
                                            NULL), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pretty_matches_cjson),
        cmocka_unit_test(pretty_drops_whitespace_and_refuses_unbalanced),
        cmocka_unit_test(json_string_escapes_as_cjson),
        cmocka_unit_test(json_field_finds_top_level_only),
        cmocka_unit_test_setup_teardown(status_json_shows_the_state,
                                        temp_store_setup, temp_store_teardown),
        cmocka_unit_test_setup_teardown(config_json_as_given,
                                        temp_store_setup, temp_store_teardown),
        cmocka_unit_test_setup_teardown(render_missing_and_special,
                                        temp_store_setup, temp_store_teardown),
        cmocka_unit_test_setup_teardown(logs_render_and_follow,
                                        temp_store_setup, temp_store_teardown),
        cmocka_unit_test_setup_teardown(render_counts_what_it_renders,
                                        temp_store_setup, temp_store_teardown),
        cmocka_unit_test_setup_teardown(commit_hook_names_the_task,
                                        temp_store_setup, temp_store_teardown),
        cmocka_unit_test_setup_teardown(enqueue_splices_and_logs_in_one_commit,
                                        temp_store_setup, temp_store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
