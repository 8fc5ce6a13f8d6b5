/* agent_fixture.h -- what an agent needs around it in a unit test, made the
 * way btfs makes it: a real store in a temporary directory, the live status
 * object, the fake LLM in this process, the LLM client and its monitor, and
 * the sandbox without isolation (the code run is the test's own, and so the
 * tests run where bubblewrap cannot). Shared by test_builder and
 * test_trainer so that the wiring is written once. */
#ifndef BT_TESTS_AGENT_FIXTURE_H
#define BT_TESTS_AGENT_FIXTURE_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "agent_env.h"
#include "exec.h"
#include "fakellm.h"
#include "llm.h"
#include "llm_monitor.h"
#include "status.h"
#include "store.h"
#include "temp_store.h"

struct agent_fixture {
    struct temp_store ts;           /* the store and its directory       */
    struct store *st;               /* ts.st                             */
    struct status *status;          /* one builder slot                  */
    struct fakellm *fake;
    struct llm *llm;
    struct exec *ex;
    struct llm_monitor *monitor;
    struct agent_env agents;        /* the handles above, as the agents
                                       take them                         */
};

/* Makes all of it and waits until the monitor has found the fake (as it
 * has in btfs by the time the agents start); fails the test (cmocka) when
 * something cannot be made. The fake has no rules yet. */
void agent_fixture_open(struct agent_fixture *e);

/* Ends the LLM calls in flight (llm_cancel): call before stopping the
 * agent's threads, as btfs does. */
void agent_fixture_cancel(struct agent_fixture *e);

/* Frees everything and removes the directory (after the agent stopped).
 * Returns 0, or -1 if the directory could not be removed. */
int agent_fixture_close(struct agent_fixture *e);

/* Adds a rule answering requests that hold 'match' with 'text'; 'times'
 * uses (0: forever). */
void agent_fixture_reply(struct agent_fixture *e, const char *match, const char *text,
                     unsigned times);

/* Record 'key' of collection 'coll' parsed (the caller frees it), or NULL
 * when there is none. */
cJSON *agent_fixture_record(struct agent_fixture *e, enum store_coll coll,
                        uint64_t key);

/* Document 'name' parsed (the caller frees it), or NULL when there is
 * none. */
cJSON *agent_fixture_doc(struct agent_fixture *e, const char *name);

/* Whether any request the fake got holds s. */
int agent_fixture_asked(struct agent_fixture *e, const char *s);

#endif
