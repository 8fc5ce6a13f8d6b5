/* eval.h -- a benchmark set's report (eval/SET.json), computed from the
 * set's task documents. The accumulator is pure (no I/O), so the figures
 * can be tested on hand-made tasks; eval_render reads the set from a view.
 */
#ifndef BT_FS_EVAL_H
#define BT_FS_EVAL_H

#include <cJSON.h>

struct fs_buf;
struct store_view;

/* Running totals over a set's tasks. */
struct eval_acc {
    unsigned problems, queued, running, cancelled;
    unsigned finished;              /* judged + errors                    */
    unsigned judged;                /* passed + failed                    */
    unsigned errors, passed, passed_first;
    double attempts_sum;            /* over judged tasks                  */
    double tokens_sum, wall_sum;    /* over finished tasks                */
    int all_held_out;               /* 1 while every task is held out     */
    char last_finished[32];         /* newest finished_at seen, or ""     */
    cJSON *rows;                    /* the "tasks" array being built      */
};

/* The 95% Wilson score interval of k successes in n trials, clamped to
 * [0, 1]. Returns 0, or -EINVAL when n is 0 or k > n. */
int eval_wilson(unsigned k, unsigned n, double *lo, double *hi);

void eval_acc_init(struct eval_acc *a);

/* Adds one task document (as stored). Returns 0, -EINVAL (no status) or
 * -ENOMEM. */
int eval_acc_add(struct eval_acc *a, const cJSON *task);

/* The report object (caller deletes it); it takes the rows. NULL when out
 * of memory. */
cJSON *eval_acc_json(struct eval_acc *a, const char *set);

/* Frees what the accumulator still holds. */
void eval_acc_free(struct eval_acc *a);

/* Appends the pretty-printed report of 'set' as of view v, plus a newline.
 * Returns 0, -ENOENT (no task has that set), -ENOMEM or a store error. */
int eval_render(struct store_view *v, const char *set, struct fs_buf *out);

#endif /* BT_FS_EVAL_H */
