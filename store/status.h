/* status.h -- live, non-durable state shared by the agents and the filesystem.
 *
 * Agents write what they are doing now and whether the LLM answers; fs/
 * renders it as status.json. Everything durable goes through store.h; this
 * object is lost at exit on purpose. One mutex guards all fields; readers
 * take a copy with status_snapshot() so that rendering never holds the lock.
 * status_overall_state() is the one rule for the state a user reads.
 */
#ifndef BT_STATUS_H
#define BT_STATUS_H

#include <stdint.h>
#include <time.h>

#define STATUS_MAX_BUILDERS 64

struct status;

struct status_builder {
    char state[16];          /* "idle", "working", "waiting_for_llm", ... */
    uint64_t task;           /* task id being worked on, 0 if none        */
    char step[64];           /* "prompting", "running tests", ...         */
    time_t since;            /* when the current step began               */
};

struct status_snapshot {
    time_t started;          /* when btfs started                          */
    char llm_url[256];
    char llm_model[128];
    int llm_reachable;       /* 1 yes, 0 no, -1 not checked yet            */
    char llm_error[256];     /* last LLM error, "" if none                 */
    char llm_info[1024];     /* JSON object text merged into status.json's
                                "llm" (context, slots, model in use, note,
                                the Trainer's endpoint), "" if none        */
    char llm_queue[4096];    /* JSON text of the LLM request queue (who
                                runs, who waits, in which place), ""       */
    char trainer_llm[2048];  /* JSON object text: the Trainer's LLM (url,
                                model, reachable, last_error, ...), ""     */
    char sandbox[32];        /* "bubblewrap", "none", "unavailable", ...   */
    char agents_note[1024];  /* why agents are not running, "" if they are;
                                whole sentences with what to do fit     */
    unsigned nbuilders;      /* entries used in builders[]                 */
    struct status_builder builders[STATUS_MAX_BUILDERS];
    char last_error[256];    /* last error any agent reported, "" if none  */
};

/* Creates the status object with 'nbuilders' idle builders (clamped to
 * STATUS_MAX_BUILDERS). Returns 0 or -ENOMEM. */
int status_create(unsigned nbuilders, struct status **out);

/* Frees it. Accepts NULL. */
void status_free(struct status *s);

/* Setters copy their strings (truncating to the field size). Can't fail. */
void status_set_llm(struct status *s, const char *url, const char *model);
void status_set_llm_health(struct status *s, int reachable, const char *error);
/* JSON texts, stored as given (a text that does not fit is dropped, not
 * cut, so that what is stored always parses). */
void status_set_llm_info(struct status *s, const char *json);
void status_set_llm_queue(struct status *s, const char *json);
void status_set_trainer_llm(struct status *s, const char *json);
void status_set_sandbox(struct status *s, const char *sandbox);
void status_set_agents_note(struct status *s, const char *note);
void status_set_builder(struct status *s, unsigned i, const char *state,
                        uint64_t task, const char *step);
void status_set_error(struct status *s, const char *error);

/* Cancel requests for running tasks: control's "cancel ID" asks, the
 * builder holding the task takes the request at its next step. Requests
 * are live state: at a restart the task is simply queued again. At most
 * STATUS_MAX_CANCELS wait at once.
 * status_cancel_request: 0, -EINVAL for id 0, or -ENOSPC when that many
 * wait already (asking twice for one task is one request). status_cancel_take: 1 and forgets
 * the request if there was one for the task, else 0. Can't fail. */
#define STATUS_MAX_CANCELS 256
int status_cancel_request(struct status *s, uint64_t task);
int status_cancel_take(struct status *s, uint64_t task);

/* Copies the whole state into *out. Can't fail. */
void status_snapshot(struct status *s, struct status_snapshot *out);

/* The overall state as a user must read it (status.json's "state"), from
 * a snapshot and what only the caller knows: whether btfs is paused, and
 * the store's write health (0, or the negative errno of its last failed
 * write). "paused" wins over everything; "stalled" means no task can
 * finish until someone acts (the disk, no sandbox, no builders, a server
 * that does not serve the model); "waiting_for_llm" means it should pass
 * by itself (the server is down or busy); else "running". A static
 * string. Can't fail. */
const char *status_overall_state(const struct status_snapshot *s, int paused,
                                 int disk_err);

/* Why the state is not "running", in words for status.json's "reason":
 * NULL when it is. 'state' is what status_overall_state returned for the
 * same arguments. The text is static or points into s. Can't fail. */
const char *status_overall_reason(const struct status_snapshot *s,
                                  const char *state, int disk_err);

#endif /* BT_STATUS_H */
