/* agent_env.c -- starting an agent thread on the agents' handles
 * (agent_env.h). */
#include "agent_env.h"

#include <stddef.h>

#include "llm.h"

int agent_env_thread_start(const struct agent_env *env, const char *name,
                           void *(*fn)(void *), void *arg,
                           struct llm_session **session, pthread_t *thread)
{
    int rc;

    *session = NULL;
    if ((rc = llm_session_open(env->llm, session)) < 0)
        return rc;
    llm_session_set_name(*session, name);
    if ((rc = -pthread_create(thread, NULL, fn, arg)) < 0) {
        llm_session_close(*session);
        *session = NULL;
    }
    return rc;
}
