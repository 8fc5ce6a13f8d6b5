/* resume.h -- where a task had got to, kept while it waits in the queue.
 *
 * A task goes back to the queue when the LLM goes away or btfs stops. What
 * it had reached -- the tests it wrote, each attempt's code and what went
 * wrong with it, the LLM failures counted against it, and what it cost --
 * is stored as the document "resume_task_NNNNNN" after every attempt and
 * when it is put back, so that the next builder to take it goes on from
 * there: the attempt count never resets and the usage of the first run is
 * not lost. The document is removed when the task is finished.
 *
 * Uses the store only. Functions may be called from any thread; two
 * threads never work on the same task.
 */
#ifndef BT_RESUME_H
#define BT_RESUME_H

#include <stdint.h>

#include "store.h"

/* What one task cost so far, recorded in its result. */
struct task_usage {
    unsigned llm_calls;
    unsigned llm_requests;          /* retries included                  */
    unsigned long prompt_tokens;
    unsigned long completion_tokens;
    unsigned long prompt_evaluated; /* of prompt_tokens, read by the
                                       server (llama.cpp timings)        */
    unsigned long prompt_cached;    /* and taken from its prompt cache   */
    unsigned timed_calls;           /* calls that reported those two     */
    double llm_ms;
    unsigned sandbox_runs;
    double sandbox_ms;
    double work_ms;                 /* the task's work up to the save, so
                                       that a resumed run goes on counting
                                       its wall time (result.wall_ms)    */
};

/* One attempt as kept: its code (NULL: there was none in the answer) and
 * what went wrong (NULL: it passed the visible tests). */
struct resume_attempt {
    char *code;
    char *problem;
    int rule;                       /* enum extract_code_rule            */
};

struct resume {
    int tests_done;                 /* the test-writing step is over     */
    char *tests;                    /* the tests it wrote, or NULL       */
    unsigned natt;                  /* attempts made                     */
    struct resume_attempt *att;     /* natt of them (malloc'd)           */
    unsigned llm_failures;          /* failed LLM calls counted          */
    struct task_usage usage;
};

/* Stores r for task id (replacing what was there). Returns 0, -ENOMEM or
 * a store error. */
int resume_save(struct store *st, uint64_t id, const struct resume *r);

/* Loads what was stored for task id into *r (zeroed first; the caller
 * frees it with resume_free). 'max_att' caps the attempts taken. Returns
 * 0, -ENOENT when nothing was stored, -EINVAL when what was stored cannot
 * be read (the task then starts afresh), -ENOMEM. */
int resume_load(struct store *st, uint64_t id, unsigned max_att,
                struct resume *r);

/* Removes what was stored for task id. Returns 0 also when there was
 * nothing. */
int resume_clear(struct store *st, uint64_t id);

/* Removes the documents of tasks that will not be taken up again: a task
 * cancelled through `control` while it waited in the queue keeps the
 * document its last builder wrote, since no builder takes it again. The
 * Builder calls this at start. *removed gets how many went. Returns 0 or a
 * store error (what was removed before it stays removed). */
int resume_sweep(struct store *st, size_t *removed);

/* Frees r's strings and array and zeroes it. Accepts a zeroed r. */
void resume_free(struct resume *r);

#endif /* BT_RESUME_H */
