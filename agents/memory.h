/* memory.h -- what the Builder remembers between tasks, in the store.
 *
 * Recall: for a task's skills, the most recent reflections' lessons and the
 * code of recently passed tasks of the same skills (the skill library),
 * newest first, a few items. Each skill record keeps the ids of its last
 * tasks ("recent") so that recall reads a handful of records, never the
 * whole history.
 *
 * Commit: a finished task's result, code, score, reflection and summary
 * go to the store together with the updated skill records (rating, counts,
 * trend, recent), the builder profile and the learned concepts, in one
 * transaction (store_task_finish). Skill records and documents are
 * read-modified-written, so commits are serialised by a mutex inside this
 * module: two builders finishing at once never lose each other's update.
 */
#ifndef BT_MEMORY_H
#define BT_MEMORY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "prompt.h"
#include "store.h"

/* Recalled memory: items point into storage owned by the struct. */
struct memory_recall {
    struct prompt_memory *items;
    size_t n;
    char **strings;                 /* what items point into */
    size_t nstrings;
};

/* Recalls up to max_items for the given skills (lessons and solved code,
 * alternating, newest first; nothing from task 'self'). No skills, or
 * skills never practised, give an empty recall. Returns 0, -ENOMEM, or a
 * store error. */
int memory_recall(struct store *st, const char *const *skills, size_t nskills,
                  uint64_t self, size_t max_items, struct memory_recall *out);

void memory_recall_free(struct memory_recall *r);

/* Everything the Builder learned from one task. */
struct memory_outcome {
    uint64_t id;
    const char *status;             /* "passed", "failed" or "error"      */
    int attempts;
    const char *const *skills;
    size_t nskills;
    double difficulty;              /* 0..1                              */
    int final_attempt;              /* the attempt whose code was judged  */
    const char *score_json;         /* object; NULL for errors            */
    const char *result_json;        /* object                             */
    const struct store_code *code;
    size_t ncode;
    const char *reflection_json;    /* object (or {"missing":...})        */
    const char *summary_json;       /* object                             */
    const char *const *concepts;    /* from the reflection, may be empty  */
    size_t nconcepts;
    const char *model;              /* the LLM model used                 */
    time_t now;
    const struct store_log_entry *logs; /* log lines written with it      */
    size_t nlogs;
};

/* Commits the outcome (see above). Returns 0, -ENOMEM, or a store error;
 * on error nothing was written. */
int memory_commit(struct store *st, const struct memory_outcome *o);

#endif /* BT_MEMORY_H */
