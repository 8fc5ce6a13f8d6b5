/* bt_args.h -- bt's command line: the options every command may take,
 * what one invocation asked for, and the parser that says what is wrong.
 *
 * Options may come before or after the command, "--" ends them; a command
 * option given to a command that does not take it is a usage error. Every
 * function here prints its own message ("bt: ..." on stderr).
 */
#ifndef BT_ARGS_H
#define BT_ARGS_H

#include <stdbool.h>
#include <stddef.h>

enum opt_id {
    OPT_MOUNT, OPT_JSON, OPT_HELP, OPT_VERSION,
    OPT_DIFFICULTY, OPT_PRIORITY, OPT_SKILL, OPT_LANGUAGE, OPT_TESTS,
    OPT_HIDDEN, OPT_TIMEOUT, OPT_COUNT, OPT_FORMAT, OPT_SET, OPT_DRY_RUN,
    OPT_SKIP_BAD, OPT_FOLLOW, OPT_TASK, OPT_SOURCE, OPT_TRAIN,
    OPT_MAX_ATTEMPTS, OPT_NO_MEMORY,
    OPT_NUM     /* number of options, not one */
};

struct args {
    const char *mount;          /* --mount, NULL if not given            */
    bool json, help, version;
    const char *opt[OPT_NUM];   /* last value of each option, or NULL;
                                   "" for a flag that was given          */
    const char **skills;        /* every --skill, in order (argv strings) */
    size_t nskills;
    const char **sets;          /* every --set, in order (argv strings)   */
    size_t nsets;
    const char **pos;           /* positional arguments after the command */
    size_t npos;
};

struct command;

/* Parses argv into *a (zeroed by the caller) and finds the command (*cmdp
 * NULL if none was given). Returns 0, EXIT_USAGE after saying what is
 * wrong, or EXIT_FAIL on ENOMEM. Whatever it returns, bt_args_free(a)
 * must follow; the strings in *a point into argv. */
int bt_args_parse(int argc, char **argv, struct args *a,
                  const struct command **cmdp);

/* Frees what bt_args_parse allocated; the strings are argv's. */
void bt_args_free(struct args *a);

/* Parses the value s of option --opt as a whole number in [min, max].
 * Returns 0 and sets *out, or says what is wrong and returns EXIT_USAGE. */
int bt_parse_long(const char *opt, const char *s, long min, long max,
                  long *out);

/* Prints "Try 'bt --help' ..." and returns EXIT_USAGE. */
int bt_usage_hint(void);

#endif /* BT_ARGS_H */
