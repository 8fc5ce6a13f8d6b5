/* bt_args.c -- bt's command line: the option table and the parser
 * (bt_args.h).
 *
 * One table of options for every command, each command listing the ones
 * it takes (bt.c), so that an option means the same wherever it is given
 * and may come before or after the command.
 */
#include "bt_args.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bt.h"
#include "bt_err.h"

int bt_usage_hint(void)
{
    fputs("Try 'bt --help' for more information.\n", stderr);
    return EXIT_USAGE;
}

struct opt_spec {
    const char *name;       /* long name without "--" */
    bool has_arg;
    enum opt_id id;
    bool global;            /* accepted by every command */
};

static const struct opt_spec OPTS[] = {
    { "mount",        true,  OPT_MOUNT,      true  },
    { "json",         false, OPT_JSON,       true  },
    { "help",         false, OPT_HELP,       true  },
    { "version",      false, OPT_VERSION,    true  },
    { "difficulty",   true,  OPT_DIFFICULTY, false },
    { "priority",     true,  OPT_PRIORITY,   false },
    { "skill",        true,  OPT_SKILL,      false },
    { "language",     true,  OPT_LANGUAGE,   false },
    { "tests",        true,  OPT_TESTS,      false },
    { "hidden-tests", true,  OPT_HIDDEN,     false },
    { "timeout",      true,  OPT_TIMEOUT,    false },
    { "count",        true,  OPT_COUNT,      false },
    { "format",       true,  OPT_FORMAT,     false },
    { "set",          true,  OPT_SET,        false },
    { "dry-run",      false, OPT_DRY_RUN,    false },
    { "skip-bad",     false, OPT_SKIP_BAD,   false },
    { "follow",       false, OPT_FOLLOW,     false },
    { "task",         true,  OPT_TASK,       false },
    { "source",       true,  OPT_SOURCE,     false },
    { "train",        false, OPT_TRAIN,      false },
    { "max-attempts", true,  OPT_MAX_ATTEMPTS, false },
    { "no-memory",    false, OPT_NO_MEMORY,  false },
};
#define NOPTS (sizeof(OPTS) / sizeof(OPTS[0]))

/* 'a' short aliases that users type by habit. */
static const struct opt_spec *opt_find(const char *arg, size_t len)
{
    if (len == 2 && arg[0] == '-' && arg[1] == 'h')
        return &OPTS[OPT_HELP];
    if (len == 2 && arg[0] == '-' && arg[1] == 'V')
        return &OPTS[OPT_VERSION];
    if (len == 2 && arg[0] == '-' && arg[1] == 'f')     /* as tail -f */
        return &OPTS[OPT_FOLLOW];
    if (len < 3 || arg[0] != '-' || arg[1] != '-')
        return NULL;
    for (size_t i = 0; i < NOPTS; i++)
        if (strlen(OPTS[i].name) == len - 2 &&
            memcmp(OPTS[i].name, arg + 2, len - 2) == 0)
            return &OPTS[i];
    return NULL;
}

/* ---- Number options ---- */

int bt_parse_long(const char *opt, const char *s, long min, long max,
                  long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < min || v > max) {
        if (max == LONG_MAX)
            bt_err("--%s must be a whole number from %ld up, got '%s'",
                   opt, min, s);
        else
            bt_err("--%s must be a whole number from %ld to %ld, got '%s'",
                   opt, min, max, s);
        return EXIT_USAGE;
    }
    *out = v;
    return 0;
}

static bool command_takes(const struct command *cmd, enum opt_id id)
{
    for (const enum opt_id *o = cmd->opts; (int)*o >= 0; o++)
        if (*o == id)
            return true;
    return false;
}

/* getopt_long's value for an option of OPTS: above every char, so that no
 * long option is mistaken for a short one. */
#define LONG_VAL(id) (0x100 + (int)(id))

/* The getopt_long table of every option bt has ('all'), or of the global
 * options and those cmd takes (cmd NULL: bt without a command). */
static void long_options(bool all, const struct command *cmd,
                         struct option out[NOPTS + 1])
{
    size_t n = 0;

    for (size_t i = 0; i < NOPTS; i++)
        if (all || OPTS[i].global ||
            (cmd && command_takes(cmd, OPTS[i].id)))
            out[n++] = (struct option){
                OPTS[i].name, OPTS[i].has_arg ? required_argument
                                              : no_argument,
                NULL, LONG_VAL(OPTS[i].id) };
    out[n] = (struct option){ NULL, 0, NULL, 0 };
}

/* The option the argv element arg names, exactly as bt spells it (NULL if
 * none: getopt_long would also take a prefix, or "-hV" as -h -V; bt takes
 * neither), and in *nlen the length of its name part. */
static const struct opt_spec *element_option(const char *arg, size_t *nlen)
{
    const char *eq = strchr(arg, '=');

    *nlen = eq && arg[1] == '-' ? (size_t)(eq - arg) : strlen(arg);
    return opt_find(arg, *nlen);
}

/* The first pass, over every option bt has: finds the command and says
 * what is malformed, in the order given. RETURN_IN_ORDER ("-" leading the
 * option string) hands the non-options back in place, so the first is the
 * command wherever the options stand; ':' after it reports a missing value
 * apart from an unknown option. Returns 0 or EXIT_USAGE. */
static int find_command(int argc, char **argv, const struct command **cmdp)
{
    struct option lo[NOPTS + 1];
    const struct command *cmd = NULL;

    long_options(true, NULL, lo);
    opterr = 0;
    optind = 0;                 /* 0: getopt starts afresh */
    for (;;) {
        int at = optind ? optind : 1;    /* the element getopt reads */
        int r = getopt_long(argc, argv, "-:hVf", lo, NULL);
        size_t nlen;

        if (r == -1)
            break;
        if (r == 1) {
            if (!cmd && !(cmd = bt_command_find(optarg))) {
                bt_err("unknown command '%s'", optarg);
                return bt_usage_hint();
            }
            continue;
        }
        const struct opt_spec *o = element_option(argv[at], &nlen);
        if (!o) {
            bt_err("unknown option '%.*s'", (int)nlen, argv[at]);
            return bt_usage_hint();
        }
        if (r == ':') {
            bt_err("option --%s needs a value", o->name);
            return bt_usage_hint();
        }
        if (r == '?') {         /* bt has it: a value it does not take */
            bt_err("option --%s takes no value", o->name);
            return bt_usage_hint();
        }
    }
    /* After "--" everything is an argument. */
    for (int i = optind; i < argc && !cmd; i++)
        if (!(cmd = bt_command_find(argv[i]))) {
            bt_err("unknown command '%s'", argv[i]);
            return bt_usage_hint();
        }
    *cmdp = cmd;
    return 0;
}

/* Parses argv into *a and finds the command (NULL if none was given).
 * Options may come before or after the command; "--" ends them. getopt_long
 * runs twice: over every option bt has, to find the command and say what
 * is malformed in the order given (find_command); then over the options of
 * that command only, filling *a, where an option bt has but the command
 * does not take is noted and then said in the table's order. Returns 0 or
 * EXIT_USAGE after saying what is wrong; bt_args_free(a) follows it
 * whatever it returns. */
int bt_args_parse(int argc, char **argv, struct args *a,
                  const struct command **cmdp)
{
    struct option lo[NOPTS + 1];
    const struct command *cmd;
    bool wrong[OPT_NUM] = { false }, cmd_seen = false;
    int rc;

    *cmdp = NULL;
    a->skills = calloc((size_t)argc, sizeof(*a->skills));
    a->pos = calloc((size_t)argc, sizeof(*a->pos));
    a->sets = calloc((size_t)argc, sizeof(*a->sets));
    if (!a->skills || !a->pos || !a->sets)
        return bt_oom();
    if ((rc = find_command(argc, argv, &cmd)))
        return rc;
    long_options(false, cmd, lo);
    optind = 0;
    for (;;) {
        int at = optind ? optind : 1;
        int r = getopt_long(argc, argv,
                            cmd && command_takes(cmd, OPT_FOLLOW) ? "-:hVf"
                                                                  : "-:hV",
                            lo, NULL);
        const char *val;
        size_t nlen;

        if (r == -1)
            break;
        if (r == 1) {
            if (cmd_seen)
                a->pos[a->npos++] = optarg;
            cmd_seen = true;
            continue;
        }
        /* The first pass took every element: o is never NULL here. */
        const struct opt_spec *o = element_option(argv[at], &nlen);
        if (r == '?') {         /* not this command's */
            wrong[o->id] = true;
            if (o->has_arg && nlen == strlen(argv[at]) && optind < argc)
                optind++;       /* its value is none of the command's */
            continue;
        }
        val = o->has_arg ? optarg : NULL;
        switch (o->id) {
        case OPT_MOUNT:   a->mount = val; break;
        case OPT_JSON:    a->json = true; break;
        case OPT_HELP:    a->help = true; break;
        case OPT_VERSION: a->version = true; break;
        case OPT_SKILL:   a->skills[a->nskills++] = val; break;
        case OPT_SET:     a->sets[a->nsets++] = val; a->opt[OPT_SET] = val;
                          break;
        default:          a->opt[o->id] = val ? val : ""; break;
        }
    }
    for (int i = optind; i < argc; i++) {
        if (cmd_seen)
            a->pos[a->npos++] = argv[i];
        cmd_seen = true;
    }
    /* Said after the loop, in the table's order: a command option may
     * precede the command. */
    for (size_t i = 0; i < NOPTS; i++)
        if (wrong[OPTS[i].id]) {
            bt_err("option --%s does not apply to %s", OPTS[i].name,
                   cmd ? cmd->name : "bt without a command");
            return bt_usage_hint();
        }
    if (cmd && !a->help && !a->version) {
        if (a->npos < cmd->min_pos) {
            bt_err("%s needs %s", cmd->name, cmd->pos_name);
            return bt_usage_hint();
        }
        if (a->npos > cmd->max_pos) {
            if (cmd->max_pos)
                bt_err("%s takes one %s, got %zu arguments (quote it?)",
                       cmd->name, cmd->pos_name, a->npos);
            else
                bt_err("%s takes no arguments, got '%s'", cmd->name,
                       a->pos[0]);
            return bt_usage_hint();
        }
    }
    *cmdp = cmd;
    return 0;
}

void bt_args_free(struct args *a)
{
    free(a->skills);
    free(a->pos);
    free(a->sets);
}
