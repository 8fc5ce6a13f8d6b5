/* failure.h -- how a judged task failed: the kind the Builder records in a
 * task's result and the Trainer reads back.
 *
 * The two agents talk through the store, so the kind travels as its name
 * ("failure": "no_code" in tasks/task_NNNNNN.json's result): a name is for
 * people and jq, the enum for code. Neither agent reads the other's English
 * (a reason's words) or the sandbox's outcome names to find the kind.
 *
 * This is the one table of the kinds' names: the Trainer's plan counts by
 * the same enum and names (trainer_state, builder_analysis_N.json). Header
 * only, so that any agent, and the plan's pure library, can use it without
 * a library of its own.
 */
#ifndef BT_FAILURE_H
#define BT_FAILURE_H

#include <errno.h>
#include <string.h>

enum failure_kind {
    FAILURE_NONE = 0,       /* "none": it passed, or was never judged     */
    FAILURE_SYNTAX,         /* "syntax_error": did not parse or compile   */
    FAILURE_WRONG,          /* "wrong_answer": ran, and tests failed      */
    FAILURE_EXCEPTION,      /* "exception": non-zero exit or a crash      */
    FAILURE_TIMEOUT,        /* "timeout": killed at the time limit        */
    FAILURE_NO_CODE,        /* "no_code": no answer held any code         */
    FAILURE_OTHER,          /* "other": anything else (sandbox, no tests) */
    FAILURE__COUNT
};

/* The stable name of a kind; "other" for a value out of range. Can't
 * fail. */
static inline const char *failure_kind_name(enum failure_kind k)
{
    static const char *const names[FAILURE__COUNT] = {
        [FAILURE_NONE] = "none",
        [FAILURE_SYNTAX] = "syntax_error",
        [FAILURE_WRONG] = "wrong_answer",
        [FAILURE_EXCEPTION] = "exception",
        [FAILURE_TIMEOUT] = "timeout",
        [FAILURE_NO_CODE] = "no_code",
        [FAILURE_OTHER] = "other",
    };

    return (unsigned)k < FAILURE__COUNT ? names[k] : names[FAILURE_OTHER];
}

/* Parses a kind's name into *out. Returns 0, or -EINVAL (*out untouched)
 * for NULL (name or out) or a name that is none of them. */
static inline int failure_kind_parse(const char *name, enum failure_kind *out)
{
    for (unsigned i = 0; name && out && i < FAILURE__COUNT; i++)
        if (strcmp(name, failure_kind_name((enum failure_kind)i)) == 0) {
            *out = (enum failure_kind)i;
            return 0;
        }
    return -EINVAL;
}

#endif /* BT_FAILURE_H */
