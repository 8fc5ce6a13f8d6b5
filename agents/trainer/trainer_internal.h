/* trainer_internal.h -- what the Trainer's files share: the Trainer's
 * state and the steps its thread runs through.
 *
 * The files, one concept each:
 *   trainer.c          the thread's loop (observe, analyse, look at the
 *                      queue, make a task), starting and stopping it
 *   trainer_observe.c  reading the Builder's results and the analyses
 *   trainer_propose.c  choosing, proposing (LLM) and checking (admission)
 *                      a task, the seed fallback, enqueueing
 *   trainer_state.c    what it keeps: trainer_state, the earlier goals,
 *                      trainer_log and motivation_log
 * The decisions are the plan's (plan.h) and the checks admission's.
 * Not a public header: only agents/trainer/trainer*.c include it.
 */
#ifndef BT_TRAINER_INTERNAL_H
#define BT_TRAINER_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "log_batch.h"
#include "plan.h"
#include "stopper.h"
#include "task_lang.h"
#include "trainer.h"

#define LOG_ENTRIES_MAX 200     /* trainer_log / motivation_log entries    */
#define GOALS_MAX 1000          /* earlier goals kept for the duplicate test */
#define EXAMPLES_MAX 4          /* earlier goals shown in a proposal prompt */
/* The Trainer writes Python exercises (its prompt and the admission
 * checks say so); the language's name and the time limit come from the
 * task model, as a user's task gets them. */
#define PROPOSAL_LANG TASK_LANG_PYTHON
#define PROPOSAL_KEPT 3072      /* bytes of a rejected proposal logged    */

struct trainer {
    struct trainer_config cfg;
    struct agent_env env;           /* the handles (the caller's)         */
    pthread_t thread;
    struct stopper stopper;         /* trainer_stop wakes the thread      */
    /* Everything below belongs to the thread. */
    struct llm_session *session;
    struct log_batch log;           /* lines not yet written             */
    struct plan *plan;
    struct plan_rng rng;
    uint64_t score_seq;             /* last score-log key observed        */
    unsigned since_analysis;        /* results since the last analysis    */
    int dirty;                      /* state changed since last save      */
    uint64_t *pending;              /* its tasks believed still queued    */
    size_t npending;
    unsigned long fallbacks;        /* seed tasks taken so far            */
    char **goals;                   /* normalised earlier goals (ring)    */
    size_t ngoals;
    size_t goals_next;
    char *proposal;                 /* the last proposal's text, cut to
                                       PROPOSAL_KEPT, for trainer_log     */
};


/* --- trainer.c ----------------------------------------------------------- */

/* One line of logs/system.log, "trainer: ...", written with the next
 * batch (log_batch.h): at the latest when the thread next waits. */
void trainer_logf(struct trainer *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The string member 'name' of o, or NULL. */
const char *trainer_jstr(const cJSON *o, const char *name);

/* --- trainer_observe.c --------------------------------------------------- */

/* Reads the results finished since the last wake into the plan. */
void trainer_observe(struct trainer *t);

/* How many analyses the store holds. */
size_t trainer_analyses(struct trainer *t);

/* Writes the analysis and the documents it feeds. */
void trainer_analyse(struct trainer *t);

/* --- trainer_propose.c --------------------------------------------------- */

/* Drops its tasks that are no longer waiting; says whether a user task is
 * first in the queue. */
void trainer_look_at_queue(struct trainer *t, int *user_waiting);

/* Makes one task: choose, propose (a few times), else fall back to the
 * seed curriculum; enqueues and records it. */
void trainer_make_task(struct trainer *t, int llm_ok);

/* --- trainer_state.c ----------------------------------------------------- */

/* Adds "at": now (RFC 3339) to o. */
void trainer_add_time(cJSON *o);

/* A goal reduced for the duplicate test; malloc'd (NULL: no memory). */
char *trainer_goal_key(const char *goal);

/* Whether an earlier goal had this key. */
int trainer_goal_known(const struct trainer *t, const char *key);

/* Remembers a goal for the duplicate test (a ring of GOALS_MAX). */
void trainer_goal_remember(struct trainer *t, const char *goal);

/* seed_each callback: remembers a seed task's goal (ctx: the trainer). */
int trainer_remember_seed_goal(void *ctx, const char *json);

/* trainer_state's text; malloc'd, NULL when out of memory. */
char *trainer_state_text(struct trainer *t);

/* Saves the state; on failure it stays dirty (logged). */
void trainer_state_save(struct trainer *t);

/* Restores what trainer_state_save wrote; a read failure is returned. */
int trainer_state_load(struct trainer *t);

/* Writes a made task's trainer_log and motivation_log entries and the
 * state after it in one commit. */
void trainer_record(struct trainer *t, const cJSON *entry,
                    const cJSON *motive);

#endif /* BT_TRAINER_INTERNAL_H */
