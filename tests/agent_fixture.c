/* agent_fixture.c -- the surroundings of an agent in a unit test (agent_fixture.h). */
#include "agent_fixture.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

void agent_fixture_open(struct agent_fixture *e)
{
    struct llm_config lc;
    struct exec_config ec;
    char why[256];

    memset(e, 0, sizeof *e);
    temp_store_open(&e->ts);
    e->st = e->ts.st;
    assert_int_equal(status_create(1, &e->status), 0);
    assert_int_equal(fakellm_start(&e->fake), 0);

    llm_config_default(&lc);
    lc.url = fakellm_url(e->fake);
    lc.connect_timeout_ms = 2000;
    lc.idle_timeout_ms = 5000;
    lc.total_timeout_ms = 20000;
    lc.backoff_initial_ms = 10;
    lc.backoff_max_ms = 500;
    assert_int_equal(llm_create(&lc, &e->llm), 0);

    /* Work directories stay in /tmp: as root the runs take another uid,
     * which the private test directory would lock out. */
    exec_config_default(&ec);
    ec.isolation = EXEC_NONE;
    assert_int_equal(exec_create(&ec, &e->ex), 0);
    if (exec_probe(e->ex, why, sizeof why) < 0)
        fail_msg("the sandbox cannot run code here: %s", why);
    status_set_sandbox(e->status, exec_isolation_name(ec.isolation));
    assert_int_equal(llm_monitor_start(e->llm, e->ex, e->status, e->st,
                                       &e->monitor), 0);
    /* As in btfs, where mounting takes longer than the monitor's first
     * check: agents that start before it see no LLM and fall back. */
    struct status_snapshot *snap = calloc(1, sizeof *snap);
    assert_non_null(snap);
    for (int i = 0; i < 200; i++) {
        status_snapshot(e->status, snap);
        if (snap->llm_reachable == 1)
            break;
        usleep(50 * 1000);
    }
    if (snap->llm_reachable != 1)
        fail_msg("the LLM monitor did not find the fake in 10 s: %s",
                 snap->llm_error);
    free(snap);
    e->agents = (struct agent_env){ e->st, e->status, e->llm, e->ex,
                                    e->monitor };
}

void agent_fixture_cancel(struct agent_fixture *e)
{
    llm_cancel(e->llm);
}

int agent_fixture_close(struct agent_fixture *e)
{
    llm_monitor_stop(e->monitor);
    llm_free(e->llm);
    exec_free(e->ex);
    fakellm_stop(e->fake);
    status_free(e->status);
    return temp_store_close(&e->ts);
}

void agent_fixture_reply(struct agent_fixture *e, const char *match, const char *text,
                     unsigned times)
{
    struct fakellm_rule r = { .kind = FAKE_REPLY, .match = match,
                              .content = text, .times = times };
    assert_int_equal(fakellm_add(e->fake, &r), 0);
}

static int parse_cb(void *c, uint64_t key, const char *val, size_t len)
{
    (void)key;
    cJSON_Delete(*(cJSON **)c);
    *(cJSON **)c = cJSON_ParseWithLength(val, len);
    return 0;
}

/* One record (collection coll, key) or, with name set, one document, as
 * of now and parsed; NULL when there is none. */
static cJSON *read_json(struct store *st, enum store_coll coll, uint64_t key,
                        const char *name)
{
    struct store_view *v;
    cJSON *j = NULL;

    assert_int_equal(store_view_begin(st, &v), 0);
    int rc = name ? store_view_doc(v, name, parse_cb, &j)
                  : store_view_get(v, coll, key, parse_cb, &j);
    store_view_end(v);
    if (rc == -ENOENT)
        return NULL;
    assert_int_equal(rc, 0);
    assert_non_null(j);
    return j;
}

cJSON *agent_fixture_record(struct agent_fixture *e, enum store_coll coll,
                        uint64_t key)
{
    return read_json(e->st, coll, key, NULL);
}

cJSON *agent_fixture_doc(struct agent_fixture *e, const char *name)
{
    return read_json(e->st, STORE_COLL_TASKS, 0, name);
}

int agent_fixture_asked(struct agent_fixture *e, const char *s)
{
    unsigned n = fakellm_requests(e->fake);
    int found = 0;

    for (unsigned i = 0; i < n && !found; i++) {
        char *body = fakellm_request_body(e->fake, i);
        found = body && strstr(body, s);
        free(body);
    }
    return found;
}
