/* trainer.h -- the Trainer: study the Builder, write checked challenges,
 * steer difficulty and strategy.
 *
 * One thread. It wakes every poll interval and works only when there is
 * reason to: fewer than 'pending' of its tasks wait in the queue, or
 * 'every' results came in since its last analysis. It never delays user
 * tasks: its tasks queue behind theirs (store order), and it asks the LLM
 * for a new task only while no user task waits, so the two never compete
 * for a local model.
 *
 * Each wake: read the results finished since the last wake (the score log,
 * from where it stopped: never the whole history) into the plan (plan.h);
 * write the analysis, difficulty, strategy weights and biases documents;
 * then, while tasks are needed: choose (strategy, skill, difficulty), ask
 * the LLM for a task with tests and a reference (JSON schema), refuse
 * duplicates of earlier goals, and pass it through the admission gate
 * (admission.h). A rejected proposal is logged with its reason and retried
 * up to 'proposals' times; then a seed-curriculum task of the skill is used
 * instead. Every choice and its reason goes to trainer_log.json and
 * motivation_log.json. The plan's state and the position in the score log
 * are kept in the store ("trainer_state"), so a restart resumes.
 */
#ifndef BT_TRAINER_H
#define BT_TRAINER_H

#include "agent_env.h"
#include "exec.h"
#include "llm.h"
#include "llm_monitor.h"
#include "status.h"
#include "store.h"

struct trainer_config {
    double target_success;          /* BT_TARGET_SUCCESS (0.75)           */
    unsigned pending;               /* trainer tasks to keep queued (3)   */
    unsigned every;                 /* results between analyses (5)       */
    unsigned proposals;             /* LLM proposals per task before the
                                       seed fallback (3)                  */
    long poll_ms;                   /* wake interval (500)                */
    unsigned long long seed;        /* random state seed; 0: from time    */
};

/* Fills the defaults above. Can't fail. */
void trainer_config_default(struct trainer_config *cfg);

struct trainer;

/* Starts the thread on env's handles (ex may be NULL only where no
 * proposal is ever checked: tests), which must outlive it. Returns 0,
 * -EINVAL for a bad configuration, -ENOMEM, or pthread_create's error. */
int trainer_start(const struct trainer_config *cfg,
                  const struct agent_env *env, struct trainer **out);

/* Stops and joins the thread (after llm_cancel, a call in flight ends at
 * once; an admission check ends at its sandbox timeout at the latest),
 * saves the state and frees the trainer. Accepts NULL. */
void trainer_stop(struct trainer *t);

#endif /* BT_TRAINER_H */
