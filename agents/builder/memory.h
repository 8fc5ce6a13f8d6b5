/* memory.h -- what the Builder remembers between tasks, in the store.
 *
 * Recall: the past tasks closest to this one by their goal and visible
 * tests (BM25 over the store's text index, the task's skills as a boost:
 * see recall.h), shown as their lessons first and then, for the few most
 * relevant passed tasks, their solved code. The index is read through
 * capped postings, so recall costs about the same at any history length.
 *
 * Held-out (evaluation) tasks are never indexed and never enter a skill
 * record's "recent" list: nothing of their text, tests or code reaches
 * another task's prompt. Their results still count in the ratings,
 * success rates, score log and profile.
 *
 * Commit: a finished task's result, code, score, reflection and summary
 * go to the store together with the updated skill records (rating, counts,
 * trend, recent), the builder profile and the learned concepts, in one
 * transaction (store_task_finish_with). Skill records and documents are
 * read, changed and written back inside that one write transaction: two
 * builders finishing at once never lose each other's update, and a read
 * failure fails the commit instead of restarting a document from nothing.
 *
 * One interface, two files: recall is memory_recall.c, commit memory.c.
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

/* What recall looks for. */
struct memory_query {
    uint64_t self;                  /* the asking task: never recalled    */
    const char *goal;
    const char *tests;              /* visible tests; NULL or "" if none  */
    const char *const *skills;
    size_t nskills;
    size_t max_items;               /* items returned, at most            */
};

/* Recalls up to q->max_items: lessons of the most relevant past tasks,
 * best first, then the solved code of at most RECALL_CODE_MAX of them
 * (recall.h says which). An empty memory, or nothing close enough, gives
 * an empty recall. Returns 0, -ENOMEM, or a store error. */
int memory_recall(struct store *st, const struct memory_query *q,
                  struct memory_recall *out);

void memory_recall_free(struct memory_recall *r);

/* Everything the Builder learned from one task. */
struct memory_outcome {
    uint64_t id;
    const char *status;             /* "passed", "failed" or "error"      */
    const char *goal;               /* indexed for recall                 */
    const char *tests;              /* visible tests, indexed; may be NULL */
    int held_out;                   /* 1: an evaluation task: not indexed,
                                       not in "recent"                    */
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

/* The learned concepts kept at most. The document is read and rewritten
 * whole with every result, so it must not grow with the concepts the
 * reflections ever named (free text from the LLM): past this many, a new
 * concept takes the place of the least taught one (the lowest count; of
 * equal counts, the first seen). */
#define MEMORY_CONCEPTS_MAX 500

/* Commits the outcome (see above). Returns 0, -ENOMEM, or a store error;
 * on error nothing was written. */
int memory_commit(struct store *st, const struct memory_outcome *o);

#endif /* BT_MEMORY_H */
