/* status.c -- live, mutex-guarded status shared by the agents and fs/.
 *
 * The object is one snapshot struct behind one mutex: setters change a few
 * fields under the lock, status_snapshot() copies the whole struct under the
 * lock, so a reader never sees half of an update (a URL from one call and the
 * model from another, or a string being overwritten). Critical sections are
 * short and never block on anything else.
 *
 * The rule that sums the parts up into one overall state lives here too,
 * beside the fields it reads, so that whoever shows the state (status.json
 * today) shows the same one and the rule has one place to change.
 */
#include "status.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct status {
    pthread_mutex_t lock;      /* guards st and cancels                    */
    struct status_snapshot st; /* the state itself; guarded by lock        */
    uint64_t cancels[STATUS_MAX_CANCELS]; /* tasks asked to stop; 0: free
                                              slot; guarded by lock        */
};

/* A default mutex fails to lock or unlock only when it is not initialised
 * or not owned: a bug in this file, not a condition to report. */
static void status_lock(struct status *s)
{
    if (pthread_mutex_lock(&s->lock) != 0)
        abort();
}

static void status_unlock(struct status *s)
{
    if (pthread_mutex_unlock(&s->lock) != 0)
        abort();
}

/* Copies src (NULL counts as "") into dst of 'size' bytes, cut so that the
 * copy holds no partial UTF-8 character: status.json must stay valid UTF-8
 * whatever an agent passes in. */
static void copy_text(char *dst, size_t size, const char *src)
{
    size_t len = src != NULL ? strlen(src) : 0;
    size_t k = 0;

    if (len >= size) {
        /* src[size - 1] is the first byte left out. If it continues a
         * character, that character straddles the cut: drop all of it. */
        len = size - 1;
        while (len > 0 && k < 3 && ((unsigned char)src[len] & 0xC0) == 0x80) {
            len--;
            k++;
        }
    }
    if (len > 0)
        memcpy(dst, src, len);
    dst[len] = '\0';
}

int status_create(unsigned nbuilders, struct status **out)
{
    struct status *s;
    unsigned i;
    int rc;

    *out = NULL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    rc = pthread_mutex_init(&s->lock, NULL);
    if (rc != 0) {
        free(s);
        return -rc;
    }
    s->st.started = time(NULL);
    s->st.llm_reachable = -1;
    s->st.nbuilders = nbuilders < STATUS_MAX_BUILDERS ? nbuilders : STATUS_MAX_BUILDERS;
    for (i = 0; i < s->st.nbuilders; i++) {
        copy_text(s->st.builders[i].state, sizeof(s->st.builders[i].state), "idle");
        s->st.builders[i].since = s->st.started;
    }
    *out = s;
    return 0;
}

void status_free(struct status *s)
{
    if (s == NULL)
        return;
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void status_set_llm(struct status *s, const char *url, const char *model)
{
    status_lock(s);
    copy_text(s->st.llm_url, sizeof(s->st.llm_url), url);
    copy_text(s->st.llm_model, sizeof(s->st.llm_model), model);
    status_unlock(s);
}

void status_set_llm_health(struct status *s, int reachable, const char *error)
{
    status_lock(s);
    s->st.llm_reachable = reachable;
    copy_text(s->st.llm_error, sizeof(s->st.llm_error), error);
    status_unlock(s);
}

/* A JSON text is whole or absent: a cut one would not parse. */
static void copy_json(char *dst, size_t size, const char *src)
{
    size_t len = src != NULL ? strlen(src) : 0;

    if (len >= size)
        len = 0;
    memcpy(dst, src ? src : "", len);
    dst[len] = '\0';
}

void status_set_llm_info(struct status *s, const char *json)
{
    status_lock(s);
    copy_json(s->st.llm_info, sizeof(s->st.llm_info), json);
    status_unlock(s);
}

void status_set_llm_queue(struct status *s, const char *json)
{
    status_lock(s);
    copy_json(s->st.llm_queue, sizeof(s->st.llm_queue), json);
    status_unlock(s);
}

void status_set_trainer_llm(struct status *s, const char *json)
{
    status_lock(s);
    copy_json(s->st.trainer_llm, sizeof(s->st.trainer_llm), json);
    status_unlock(s);
}

void status_set_sandbox(struct status *s, const char *sandbox)
{
    status_lock(s);
    copy_text(s->st.sandbox, sizeof(s->st.sandbox), sandbox);
    status_unlock(s);
}

void status_set_agents_note(struct status *s, const char *note)
{
    status_lock(s);
    copy_text(s->st.agents_note, sizeof(s->st.agents_note), note);
    status_unlock(s);
}

void status_set_builder(struct status *s, unsigned i, const char *state,
                        uint64_t task, const char *step)
{
    struct status_builder *b, next;

    status_lock(s);
    if (i < s->st.nbuilders) {
        b = &s->st.builders[i];
        copy_text(next.state, sizeof(next.state), state);
        copy_text(next.step, sizeof(next.step), step);
        next.task = task;
        /* 'since' is when the current step began: a builder repeating the
         * same report (a heartbeat) must not reset it. */
        if (strcmp(next.state, b->state) != 0 || strcmp(next.step, b->step) != 0 ||
            next.task != b->task)
            next.since = time(NULL);
        else
            next.since = b->since;
        *b = next;
    }
    status_unlock(s);
}

void status_set_error(struct status *s, const char *error)
{
    status_lock(s);
    copy_text(s->st.last_error, sizeof(s->st.last_error), error);
    status_unlock(s);
}

void status_snapshot(struct status *s, struct status_snapshot *out)
{
    status_lock(s);
    *out = s->st;
    status_unlock(s);
}

int status_cancel_request(struct status *s, uint64_t task)
{
    int rc = -ENOSPC;
    size_t i, free_slot = STATUS_MAX_CANCELS;

    if (task == 0)
        return -EINVAL;     /* 0 marks a free slot */
    status_lock(s);
    for (i = 0; i < STATUS_MAX_CANCELS; i++) {
        if (s->cancels[i] == task) {
            rc = 0;
            break;
        }
        if (s->cancels[i] == 0 && free_slot == STATUS_MAX_CANCELS)
            free_slot = i;
    }
    if (rc != 0 && free_slot < STATUS_MAX_CANCELS) {
        s->cancels[free_slot] = task;
        rc = 0;
    }
    status_unlock(s);
    return rc;
}

int status_cancel_take(struct status *s, uint64_t task)
{
    int found = 0;

    status_lock(s);
    for (size_t i = 0; task != 0 && i < STATUS_MAX_CANCELS; i++)
        if (s->cancels[i] == task) {
            s->cancels[i] = 0;
            found = 1;
        }
    status_unlock(s);
    return found;
}

/* ---- The overall state ------------------------------------------------- */

const char *status_overall_state(const struct status_snapshot *s, int paused,
                                 int disk_err)
{
    if (paused)
        return "paused";
    /* Nothing can be saved: agents put their tasks back and wait. The
     * monitor says "no_model" within seconds of a server that does not
     * serve the model, which no waiting mends. */
    if (disk_err || strcmp(s->sandbox, "unavailable") == 0 ||
        s->nbuilders == 0 || strncmp(s->llm_error, "no_model", 8) == 0)
        return "stalled";
    if (s->llm_reachable == 0 || s->llm_error[0])
        return "waiting_for_llm";
    for (unsigned i = 0; i < s->nbuilders; i++)
        if (strcmp(s->builders[i].state, "waiting_for_llm") == 0)
            return "waiting_for_llm";
    return "running";
}

const char *status_overall_reason(const struct status_snapshot *s,
                                  const char *state, int disk_err)
{
    if (strcmp(state, "paused") == 0)
        return "paused by control (write resume to it, or: bt resume)";
    if (strcmp(state, "stalled") == 0) {
        if (disk_err == -ENOSPC || disk_err == -EDQUOT)
            return "the disk of the data directory is full: nothing can be "
                   "saved; free space there, work resumes by itself";
        if (disk_err)
            return "the store cannot write: see \"disk\"";
        if (strcmp(s->sandbox, "unavailable") == 0)
            return s->agents_note[0] ? s->agents_note
                                     : "the sandbox is unavailable";
        if (s->nbuilders == 0)
            return "no builders (BT_BUILDERS=0): tasks stay queued";
        return s->llm_error;        /* no_model: ... */
    }
    if (strcmp(state, "waiting_for_llm") == 0)
        return s->llm_error[0] ? s->llm_error : "the LLM is not available";
    return NULL;
}
