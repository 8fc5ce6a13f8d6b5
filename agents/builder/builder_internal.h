/* builder_internal.h -- what the Builder's files share: the pool and its
 * threads, a task as the Builder reads it, the record of one task's work,
 * and the steps that builder_task.c walks through.
 *
 * The files, one concept each:
 *   builder.c        the pool: threads, claiming tasks, putting them back,
 *                    stopping
 *   builder_task.c   one task's walk: prepare -> tests -> recall ->
 *                    attempts -> judge -> score and reflect -> store
 *   builder_ask.c    the LLM calls: code, tests, reflection
 *   builder_run.c    the sandbox runs: tests, the judging run, lint
 *   builder_store.c  what a task leaves: the result's commit, an error, a
 *                    cancel, the progress kept for a resume
 * Not a public header: only agents/builder/builder*.c include it.
 */
#ifndef BT_BUILDER_INTERNAL_H
#define BT_BUILDER_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "builder.h"
#include "extract.h"
#include "failure.h"
#include "log_batch.h"
#include "memory.h"
#include "prompt.h"
#include "prompt_fit.h"
#include "resume.h"
#include "stopper.h"
#include "task_doc.h"

#define BACKOFF_MAX_MS 30000    /* longest pause after the LLM went away */
#define LOG_LINE 1024

struct builder_pool;

struct builder {
    struct builder_pool *pool;
    unsigned index;
    pthread_t thread;
    struct llm_session *session;    /* this thread's own                 */
    long backoff_ms;                /* after availability failures       */
    struct log_batch log;           /* this thread's unwritten lines:
                                       written with the task's result    */
    struct task_usage usage;        /* of the task being built           */
    double task_t0;                 /* when its work began (now_ms)      */
    int save_err;                   /* why the last result could not be
                                       saved (a full disk), 0 if it was  */
};

struct builder_pool {
    struct builder_config cfg;
    struct agent_env env;           /* the handles (the caller's)        */
    struct stopper stopper;         /* stop flag and wake-ups            */
    unsigned started;               /* threads created                   */
    struct builder *b;              /* cfg.threads of them               */
};

/* How a task's work ended, short of a verdict. */
enum build_end {
    BUILD_DONE,             /* committed: passed, failed or error        */
    BUILD_REQUEUE,          /* back to the queue: the LLM is unavailable */
    BUILD_STOP,             /* back to the queue: btfs is stopping       */
};

/* The task, as decoded from its document (task_doc.h); strings point
 * into 'doc'. */
struct task {
    struct task_doc doc;            /* the fields, with the model's defaults */
    uint64_t id;
    char name[STORE_ID_MAX];
    long timeout_ms;                /* doc.timeout_s, or the pool's default */
    unsigned max_attempts;          /* 0: the pool's setting             */
};

/* One attempt's record. */
struct attempt {
    char *code;                     /* NULL: no code in the answer       */
    char *problem;                  /* NULL: it passed the visible tests */
    enum extract_code_rule rule;
};

/* How an LLM call ended (builder_ask). */
enum ask_end {
    ASK_OK,                 /* an answer                                 */
    ASK_STOP,               /* btfs is stopping                          */
    ASK_REQUEUE,            /* the LLM is not available: the task waits  */
    ASK_FAIL,               /* it answered with errors (llm_tries)       */
};

/* Everything build() gathered, for the commit. */
struct verdict {
    const char *status;             /* passed, failed, error             */
    char reason[512];               /* why not passed ("" if passed)     */
    int visible_passed, visible_total;
    int hidden_passed, hidden_total;
    int self_written;
    int final_attempt;              /* 0: no code at all                 */
    const char *outcome;            /* of the judging run                */
    enum failure_kind failure;      /* FAILURE_NONE unless "failed"      */
    double run_ms;
    double limit_ms;
    int timed_out;
    double wall_ms;                 /* the task's work, start to commit  */
};

/* One task's work, from its document to its commit (builder_task.c):
 * what the steps hand on to each other. Owned by the builder thread. */
struct build {
    struct builder *b;
    struct task t;
    unsigned max;                   /* attempts allowed                  */
    struct attempt *att;            /* max of them                       */
    unsigned natt;                  /* attempts made                     */
    unsigned llm_failures;          /* calls that failed (llm_tries)     */
    struct memory_recall mem;       /* recalled lessons and code         */
    struct prompt_task pt;          /* what the prompts show             */
    struct prompt_fit fit;          /* the task's long parts, cut to fit */
    char *own_tests;                /* tests the model wrote; malloc'd   */
    const char *tests;              /* the visible tests used ("": none) */
    int self_written;               /* 'tests' are the model's own       */
    int tests_done;                 /* asked for tests already           */
    int passed_attempt;             /* 1-based; 0: none passed yet       */
    int last_attempt;               /* whose run 'last' holds            */
    struct exec_result last;        /* the latest sandbox run            */
    struct verdict v;               /* the judgement                     */
    double t0;                      /* clock_mono_ms at the start        */
    char why[700];                  /* the last LLM failure              */
};

/* --- builder.c: the pool ------------------------------------------------- */

/* One line of logs/system.log: "builder N: task_X: ..." (t may be NULL). */
void builder_logf(struct builder *b, const struct task *t, const char *fmt,
                  ...) __attribute__((format(printf, 3, 4)));

/* This builder's line in status.json. */
void builder_step(struct builder *b, const struct task *t, const char *state,
                  const char *what);

/* --- builder_task.c: one task -------------------------------------------- */

/* Works task 'id' (its document 'json') to its end. */
enum build_end builder_build(struct builder *b, uint64_t id,
                             const char *json);

/* The string member 'name' of o, or def. */
const char *builder_jstr(const cJSON *o, const char *name, const char *def);

/* The extension of the task's archived code. */
const char *builder_code_ext(const struct task *t);

/* What the prompts show of t, with 'tests' as its visible tests. */
void builder_prompt_task_of(const struct task *t, const char *tests,
                            int self_written, struct prompt_task *pt);

/* --- builder_ask.c: the LLM calls ---------------------------------------- */

/* One LLM call with its outcome sorted. On ASK_FAIL and ASK_REQUEUE,
 * 'why' says what happened ("server_error: HTTP 500 ..."). */
enum ask_end builder_ask(struct builder *b, const struct task *t,
                         const struct prompt *p, const char *schema,
                         struct llm_result *r, char *why, size_t whylen);

/* Asks for tests of a task that has no visible ones (see the file). */
enum ask_end builder_write_tests(struct builder *b, const struct task *t,
                                 char **tests);

/* Asks for a reflection; never fails the task (see the file). */
cJSON *builder_reflect(struct builder *b, const struct task *t,
                       const struct prompt_task *pt, const char *outcome,
                       int passed, int total, struct attempt *att,
                       unsigned natt, const char *final_code);

/* Why a task cannot fit even bare, with both numbers. */
void builder_context_reason(struct llm *llm, const struct prompt_task *pt,
                            const struct prompt_feedback *fb, char *out,
                            size_t len);

/* --- builder_run.c: the sandbox ------------------------------------------ */

/* Runs code with tests (NULL: a plain run), logged to shell.log. Returns
 * exec_run's code. */
int builder_run_code(struct builder *b, const struct task *t,
                     const char *what, const char *code, const char *tests,
                     struct exec_result *res);

/* Whether a run passed (see the file). */
int builder_run_passed(const struct exec_result *r, int with_tests);

/* What went wrong in a run, for the next prompt; malloc'd (or NULL). */
char *builder_describe_failure(const struct exec_result *r, int with_tests);

/* Judges the code of the best attempt into w->v (see the file). */
void builder_judge(struct build *w);

/* Scores the judged code; a malloc'd JSON object, *total its total. */
char *builder_score(struct builder *b, const struct task *t,
                    const struct verdict *v, const char *code, unsigned natt,
                    double *total);

/* --- builder_store.c: what a task leaves --------------------------------- */

/* Commits the result and everything with it (memory_commit). Returns 0 or
 * a store error (nothing written). */
int builder_commit(struct builder *b, const struct task *t, unsigned natt,
                   struct attempt *att, const struct verdict *v,
                   const char *score_json, cJSON *reflection);

/* Prints o (compact) and frees it; NULL when o is NULL or on no memory. */
char *builder_print_free(cJSON *o);

/* Finishes a task as "error" with 'why'. */
enum build_end builder_give_up(struct builder *b, const struct task *t,
                               unsigned natt, struct attempt *att,
                               const char *why);

/* Records a task as cancelled at step 'where'. */
enum build_end builder_cancel(struct builder *b, const struct task *t,
                              unsigned natt, struct attempt *att,
                              const char *where);

/* Keeps where the task got to (resume.h); logged, not fatal, on error. */
void builder_progress_save(struct builder *b, const struct task *t,
                           int tests_done, const char *own_tests,
                           const struct attempt *att, unsigned natt,
                           unsigned llm_failures);

#endif /* BT_BUILDER_INTERNAL_H */
