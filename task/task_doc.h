/* task_doc.h -- a stored task document (tasks/task_NNNNNN.json) read into
 * a typed struct.
 *
 * The store writes a task's document as the parser's definition (task.h)
 * plus what the queue and the Builder add: id, source, status, attempts,
 * timestamps, score, result. The agents and bt read its fields here rather
 * than each by name with its own defaults: a field that is missing, of the
 * wrong type or out of range reads as the definition's default (so a
 * document written by an older btfs still reads). No I/O and no state:
 * safe from any thread; one struct belongs to one thread.
 */
#ifndef BT_TASK_DOC_H
#define BT_TASK_DOC_H

#include <stdbool.h>
#include <stddef.h>

#include "task_lang.h"

struct task_doc {
    /* Strings point into the document's own copy, valid until
     * task_doc_free; none is NULL unless it says so. */
    const char *id;             /* "task_000042"; NULL if missing         */
    const char *source;         /* "user", "trainer", "seed"; NULL if
                                   missing                                */
    const char *status;         /* "queued", "running", ...; NULL if
                                   missing                                */
    int attempts;               /* used so far; 0 if missing              */
    const char *goal;           /* required: decoding fails without it    */
    double difficulty;          /* 0..1; TASK_DEFAULT_DIFFICULTY          */
    int priority;               /* 0 if missing                           */
    const char **skills;        /* the strings of "skills" (malloc'd
                                   array); NULL when none                 */
    size_t nskills;
    const char *language;       /* TASK_DEFAULT_LANGUAGE if missing; as
                                   stored otherwise, even if unknown      */
    enum task_lang lang;        /* the language, when lang_known          */
    bool lang_known;            /* 'language' is one of task_lang.h's     */
    const char *tests;          /* visible tests; "" if none              */
    const char *hidden_tests;   /* "" if none                             */
    const char **constraints;   /* as skills                              */
    size_t nconstraints;
    int timeout_s;              /* 1..TASK_MAX_TIMEOUT_S; 0 if missing:
                                   the reader's own default               */
    const char *set;            /* NULL if none                           */
    const char *problem_id;     /* NULL if none                           */
    bool held_out;              /* false if missing                       */
    int max_attempts;           /* 1..TASK_MAX_ATTEMPTS; 0: the reader's
                                   own setting                            */
    bool memory;                /* true if missing                        */
    const char *reference;      /* seed and Trainer tasks; NULL if none   */
    const char *id_hint;        /* seed tasks; NULL if none               */
    const char *strategy;       /* trainer.strategy; NULL if none         */
    void *tree_;                /* the parsed document; private           */
};

/* Decodes len bytes of a stored task document into *out (which it
 * overwrites; free with task_doc_free, also after a failure). Returns 0,
 * -EINVAL when the text is not a JSON object with a string "goal", or
 * -ENOMEM. */
int task_doc_decode(const char *json, size_t len, struct task_doc *out);

/* Frees what task_doc_decode allocated and zeroes *d. Accepts NULL and a
 * zeroed struct. */
void task_doc_free(struct task_doc *d);

#endif /* BT_TASK_DOC_H */
