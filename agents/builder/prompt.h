/* prompt.h -- the words the Builder says to the model.
 *
 * Three conversations: writing code for a task (with memory and, after a
 * failure, the failing test and the error output), writing tests for a task
 * that has none, and reflecting on a finished task. Each builds a system and
 * a user message. Pure text: no I/O, no store, no LLM; the caller sends the
 * messages and decides what to do with the answer.
 *
 * Hidden tests never reach these functions: struct prompt_task has no field
 * for them, so no prompt can carry them by mistake.
 */
#ifndef BT_PROMPT_H
#define BT_PROMPT_H

#include <stddef.h>

/* What of a task the model may see. */
struct prompt_task {
    const char *goal;
    const char *language;           /* "python", "c" or "sh"             */
    const char *tests;              /* visible tests, or NULL / ""       */
    int tests_self_written;         /* 1: the tests came from the model  */
    const char *const *constraints;
    size_t nconstraints;
    const char *const *skills;
    size_t nskills;
    double difficulty;              /* 0..1                              */
};

/* One piece of memory offered to the model, most useful first. */
struct prompt_memory {
    const char *kind;               /* "lesson" or "solved"              */
    const char *goal;               /* of the task it comes from         */
    const char *text;               /* the lesson, or the solved code    */
};

/* The previous attempt, when it failed. */
struct prompt_feedback {
    unsigned attempt;               /* its number (1-based)              */
    const char *code;               /* its code, or NULL if none found   */
    const char *problem;            /* what went wrong: the first failing
                                       test, error output, or "no code"  */
};

/* A built prompt: two malloc'd strings, freed by prompt_free. */
struct prompt {
    char *system;
    char *user;
    size_t nmemory;                 /* memory items that fitted          */
};

/* Longest error output quoted back to the model, in bytes; longer output
 * keeps its head and tail (the traceback's end is where the cause is). */
#define PROMPT_MAX_PROBLEM 2000

/* Builds the prompt for an attempt at the task. Memory items are added in
 * order while the estimated size (bytes/3 tokens) of the whole stays within
 * budget_tokens; fb may be NULL. Returns 0, -ENOMEM, or -E2BIG when even
 * the task and feedback alone do not fit budget_tokens (out->nmemory is
 * then 0 and out holds nothing). */
int prompt_code(const struct prompt_task *t, const struct prompt_memory *mem,
                size_t nmem, const struct prompt_feedback *fb,
                unsigned budget_tokens, struct prompt *out);

/* The JSON schema (text) of prompt_tests's answer: {"tests": string}. */
extern const char prompt_tests_schema[];

/* Builds the prompt asking for tests of a task that has none, in the
 * sandbox's test protocol for the language. Returns 0 or -ENOMEM. */
int prompt_tests(const struct prompt_task *t, struct prompt *out);

/* The JSON schema (text) of a reflection: {"summary": string,
 * "what_went_wrong": string, "lessons": [string], "concepts": [string]}. */
extern const char prompt_reflection_schema[];

/* Builds the prompt asking for a reflection on a finished task: its
 * outcome ("passed"/"failed"), tests passed of total, the attempts' problems
 * (NULL-terminated list, may be empty) and the final code (may be NULL).
 * Returns 0 or -ENOMEM. */
int prompt_reflection(const struct prompt_task *t, const char *outcome,
                      int passed, int total, const char *const *problems,
                      const char *final_code, struct prompt *out);

/* Frees the strings and zeroes the prompt. Accepts a zeroed prompt. */
void prompt_free(struct prompt *p);

#endif /* BT_PROMPT_H */
