/* bt_args.c -- bt's command line: the option table and the parser
 * (bt_args.h).
 *
 * One table of options for every command, each command listing the ones
 * it takes (bt.c), so that an option means the same wherever it is given
 * and may come before or after the command.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bt_args.h"
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

static bool is_option(const char *arg)
{
    return arg[0] == '-' && arg[1] != '\0';
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

/* Parses argv into *a and finds the command (NULL if none was given).
 * Options may come before or after the command; "--" ends them. Returns 0
 * or EXIT_USAGE after saying what is wrong; bt_args_free(a) follows it
 * whatever it returns. */
int bt_args_parse(int argc, char **argv, struct args *a,
                  const struct command **cmdp)
{
    const struct command *cmd = NULL;
    bool opts_done = false;

    *cmdp = NULL;
    a->skills = calloc((size_t)argc, sizeof(*a->skills));
    a->pos = calloc((size_t)argc, sizeof(*a->pos));
    a->sets = calloc((size_t)argc, sizeof(*a->sets));
    if (!a->skills || !a->pos || !a->sets)
        return bt_oom();
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = NULL;

        if (opts_done || !is_option(arg)) {
            if (!cmd) {
                if (!(cmd = bt_command_find(arg))) {
                    bt_err("unknown command '%s'", arg);
                    return bt_usage_hint();
                }
            } else {
                a->pos[a->npos++] = arg;
            }
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            opts_done = true;
            continue;
        }
        const char *eq = strchr(arg, '=');
        size_t nlen = eq && arg[1] == '-' ? (size_t)(eq - arg) : strlen(arg);
        const struct opt_spec *o = opt_find(arg, nlen);
        if (!o) {
            bt_err("unknown option '%.*s'", (int)nlen, arg);
            return bt_usage_hint();
        }
        if (o->has_arg) {
            if (nlen < strlen(arg)) {
                val = arg + nlen + 1;
            } else if (i + 1 < argc) {
                val = argv[++i];
            } else {
                bt_err("option --%s needs a value", o->name);
                return bt_usage_hint();
            }
        } else if (nlen < strlen(arg)) {
            bt_err("option --%s takes no value", o->name);
            return bt_usage_hint();
        }
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
    /* Checked after the loop: a command option may precede the command. */
    for (size_t i = 0; i < NOPTS; i++) {
        enum opt_id id = OPTS[i].id;
        bool given = id == OPT_SKILL ? a->nskills > 0
                   : !OPTS[i].global && a->opt[id] != NULL;
        if (given && (!cmd || !command_takes(cmd, id))) {
            bt_err("option --%s does not apply to %s", OPTS[i].name,
                   cmd ? cmd->name : "bt without a command");
            return bt_usage_hint();
        }
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
