/* config.c -- btfs configuration: one table of settings, four sources.
 *
 * Each setting is read as text from the highest-priority source that has it
 * (argv > environment > .env > default) and only then converted and checked,
 * so that an error can say exactly where a bad value came from.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "redact.h"
#include "url_list.h"

extern char **environ;

enum setting_type { T_STR, T_INT, T_DBL, T_BOOL, T_ENUM };

struct setting {
    const char *env;          /* BT_... variable                            */
    const char *opt;          /* long option without "--"                   */
    enum setting_type type;
    size_t off;               /* offset of the field in struct config       */
    const char *def;          /* default, as text                           */
    double min, max;          /* range for T_INT and T_DBL                  */
    const char *choices;      /* '|'-separated for T_ENUM                   */
    int secret;               /* redacted in config.json                    */
    const char *help;
};

#define F(field) offsetof(struct config, field)

static const struct setting settings[] = {
    {"BT_DATA", "data", T_STR, F(data_dir), "./data", 0, 0, NULL, 0,
     "data directory holding the LMDB store (created if missing)"},
    {"BT_LLM_URL", "llm-url", T_STR, F(llm_url), "http://localhost:1234/v1",
     0, 0, NULL, 0, "base URL of an OpenAI-compatible server"},
    {"BT_LLM_MODEL", "llm-model", T_STR, F(llm_model),
     "deepseek-coder-7b-instruct", 0, 0, NULL, 0, "model name to ask for"},
    {"BT_LLM_API_KEY", "llm-api-key", T_STR, F(llm_api_key), "", 0, 0, NULL,
     1, "API key sent as a Bearer token (optional; never shown in the tree "
     "or the logs, but as an option every local user sees it in ps: prefer "
     "the file or the environment)"},
    {"BT_LLM_API_KEY_FILE", "llm-api-key-file", T_STR, F(llm_api_key_file),
     "", 0, 0, NULL, 0, "file holding the API key (one line; keeps it out "
     "of the environment and of ps)"},
    {"BT_LLM_CONNECT_TIMEOUT_S", "llm-connect-timeout", T_INT,
     F(llm_connect_timeout_s), "10", 1, 600, NULL, 0,
     "seconds to establish a connection"},
    {"BT_LLM_IDLE_TIMEOUT_S", "llm-idle-timeout", T_INT,
     F(llm_idle_timeout_s), "120", 1, 3600, NULL, 0,
     "seconds without a byte before a request is abandoned"},
    {"BT_LLM_TOTAL_TIMEOUT_S", "llm-total-timeout", T_INT,
     F(llm_total_timeout_s), "900", 1, 86400, NULL, 0,
     "seconds a whole request may take"},
    {"BT_LLM_CONTEXT", "llm-context", T_INT, F(llm_context), "0", 0,
     1048576, NULL, 0, "context window of the model, in tokens; 0: as the "
     "server says (llama-server, LM Studio, Ollama), else 4096; any value >= 128 "
     "overrides the server"},
    {"BT_LLM_SLOTS", "llm-slots", T_INT, F(llm_slots), "1", 1, 256, NULL, 0,
     "requests each endpoint runs at once when the server does not say "
     "(llama-server's /props does)"},
    {"BT_TRAINER_LLM_URL", "trainer-llm-url", T_STR, F(trainer_llm_url), "",
     0, 0, NULL, 0, "the Trainer's own server (a stronger teacher model); "
     "empty: the Builder's"},
    {"BT_TRAINER_LLM_MODEL", "trainer-llm-model", T_STR,
     F(trainer_llm_model), "", 0, 0, NULL, 0,
     "the Trainer's model; empty: BT_LLM_MODEL"},
    {"BT_TRAINER_LLM_API_KEY", "trainer-llm-api-key", T_STR,
     F(trainer_llm_api_key), "", 0, 0, NULL, 1,
     "API key for the Trainer's server; empty: BT_LLM_API_KEY (never "
     "shown in the tree or the logs; as an option every local user sees it "
     "in ps: prefer the environment)"},
    {"BT_LLM_MAX_TOKENS", "llm-max-tokens", T_INT, F(llm_max_tokens),
     "1024", 16, 1048576, NULL, 0, "tokens an answer may use"},
    {"BT_LLM_TEMPERATURE", "llm-temperature", T_DBL, F(llm_temperature),
     "0.2", 0, 2, NULL, 0, "sampling temperature"},
    {"BT_BUILDERS", "builders", T_INT, F(builders), "1", 0, 64, NULL, 0,
     "Builder threads (0 for none)"},
    {"BT_TRAINER", "trainer", T_BOOL, F(trainer), "1", 0, 1, NULL, 0,
     "run the Trainer (1) or not (0)"},
    {"BT_SEED", "seed", T_BOOL, F(seed), "1", 0, 1, NULL, 0,
     "queue the seed curriculum on a store's first start (1) or not (0)"},
    {"BT_MAX_ATTEMPTS", "max-attempts", T_INT, F(max_attempts), "3", 1, 20,
     NULL, 0, "attempts per task before it fails"},
    {"BT_TARGET_SUCCESS", "target-success", T_DBL, F(target_success), "0.75",
     0.05, 0.95, NULL, 0, "success rate the Trainer aims for"},
    {"BT_SCORE_WEIGHTS", "score-weights", T_STR, F(score_weights), "", 0, 0,
     NULL, 0, "scoring weights over the defaults, e.g. "
     "'accuracy=0.7,elegance=0.1' (docs/scoring.md)"},
    {"BT_SANDBOX", "sandbox", T_ENUM, F(sandbox), "bubblewrap", 0, 0,
     "bubblewrap|none", 0,
     "isolation for generated code; 'none' runs it unisolated"},
    {"BT_SANDBOX_BWRAP", "sandbox-bwrap", T_STR, F(sandbox_bwrap), "bwrap",
     0, 0, NULL, 0, "the bubblewrap program (a name is looked up in PATH, "
     "then /usr/bin)"},
    {"BT_SANDBOX_TIMEOUT_S", "sandbox-timeout", T_INT, F(sandbox_timeout_s),
     "10", 1, 3600, NULL, 0, "wall-clock seconds per run by default"},
    {"BT_SANDBOX_MAX_TIMEOUT_S", "sandbox-max-timeout", T_INT,
     F(sandbox_max_timeout_s), "60", 1, 3600, NULL, 0,
     "largest timeout_s a task may ask for"},
    {"BT_SANDBOX_MEMORY_MB", "sandbox-memory", T_INT, F(sandbox_memory_mb),
     "512", 16, 65536, NULL, 0, "address-space limit per run, MiB"},
    {"BT_SANDBOX_CPU_S", "sandbox-cpu", T_INT, F(sandbox_cpu_s), "10", 1,
     3600, NULL, 0, "CPU seconds per run"},
    {"BT_SANDBOX_PROCS", "sandbox-procs", T_INT, F(sandbox_procs), "64", 1,
     4096, NULL, 0, "processes per run"},
    {"BT_SANDBOX_FILE_MB", "sandbox-file", T_INT, F(sandbox_file_mb), "16", 1,
     4096, NULL, 0, "largest file a run may write, MiB"},
    {"BT_SANDBOX_OUTPUT_KB", "sandbox-output", T_INT, F(sandbox_output_kb),
     "256", 1, 65536, NULL, 0, "stdout and stderr kept per run, KiB"},
    {"BT_GROUP", "group", T_STR, F(group), "", 0, 0, NULL, 0,
     "group whose members may write tasks/new and control (with "
     "-o allow_other; docs/tasks.md)"},
    {"BT_LOG_KEEP", "log-keep", T_INT, F(log_keep), "100000", 100,
     100000000, NULL, 0, "lines kept in system.log and in shell.log (the "
     "oldest go first)"},
    {"BT_ANALYSES_KEEP", "analyses-keep", T_INT, F(analyses_keep), "200", 1,
     1000000, NULL, 0, "advanced/builder_analysis_N.json files kept"},
};

#define NSETTINGS (sizeof settings / sizeof settings[0])

/* Settings that .env.example shows commented out, and why: their right
 * value depends on where btfs runs, and docker compose reads the same .env,
 * where a value would override the compose file's default for the
 * container (localhost there is the container itself). */
static const struct {
    const char *env;
    const char *why;
} example_unset[] = {
    {"BT_LLM_URL", "Unset, docker-compose.yml points the container at the host\n"
                   "# (http://host.docker.internal:1234/v1); btfs run directly "
                   "uses the\n# default below."},
};

/* Variables that are ours but not btfs's: accepted without a warning, in
 * .env too, which bt users and docker compose share with btfs (a podman
 * user told to put BT_HOST_GATEWAY there must still be able to run btfs
 * on the host). .env.example shows them commented out. */
static const struct {
    const char *env;
    const char *help;
} foreign_vars[] = {
    {"BT_MOUNT", "the mount bt uses without --mount (read by bt, not by btfs)"},
    {"BT_HOST_GATEWAY", "docker-compose.yml only: the host's address for "
                        "host.docker.internal where\n# the engine rejects "
                        "host-gateway (podman before 4.7); not read by btfs"},
};

/* Where each setting's text came from, for error messages. */
struct source {
    const char *text;     /* points into argv/environ or owned_text */
    char *what;           /* "option --builders", "BT_BUILDERS in .env line
                             3" (malloc'd; NULL when out of memory) */
    char *owned_text;     /* malloc'd copy when read from .env */
};

static int err_fmt(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int err_fmt(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
        /* A quoted .env value may hold a newline ("a\nb"); the message is
         * one line (found by tests/fuzz/fuzz_env). */
        for (char *c = err; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                *c = ' ';
    }
    return -EINVAL;
}

static const struct setting *setting_by_env(const char *name, size_t len)
{
    for (size_t i = 0; i < NSETTINGS; i++)
        if (strlen(settings[i].env) == len &&
            memcmp(settings[i].env, name, len) == 0)
            return &settings[i];
    return NULL;
}

/* The index in settings[] of a variable the table holds. */
static size_t index_of(const char *env)
{
    return (size_t)(setting_by_env(env, strlen(env)) - settings);
}

static int is_foreign(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof foreign_vars / sizeof foreign_vars[0]; i++)
        if (strlen(foreign_vars[i].env) == len &&
            memcmp(foreign_vars[i].env, name, len) == 0)
            return 1;
    return 0;
}

static void source_set(struct source *src, const char *text, char *owned,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void source_set(struct source *src, const char *text, char *owned,
                       const char *fmt, ...)
{
    va_list ap;

    free(src->owned_text);
    free(src->what);
    src->owned_text = owned;
    src->text = text;
    va_start(ap, fmt);
    if (vasprintf(&src->what, fmt, ap) < 0)
        src->what = NULL;
    va_end(ap);
}

static const char *source_what(const struct source *src)
{
    return src->what ? src->what : "a setting";
}

static char *trim(char *s)
{
    char *end;

    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

/* Takes the value part of a .env line: unquoted (a '#' after a blank starts
 * a comment), 'single-quoted' (literal) or "double-quoted" (\" \\ \n \t).
 * Decodes in place and returns the value, or NULL with *why set when a quote
 * is not closed or text follows the closing quote. */
static char *env_value(char *v, const char **why)
{
    char *r, *w, q;

    v = trim(v);
    q = *v;
    if (q != '"' && q != '\'') {
        for (char *h = v; (h = strchr(h, '#')); h++)
            if (h > v && (h[-1] == ' ' || h[-1] == '\t')) {
                *h = '\0';
                break;
            }
        return trim(v);
    }
    for (r = v + 1, w = v; *r && *r != q; r++) {
        if (q == '"' && *r == '\\' && r[1]) {
            r++;
            *w++ = *r == 'n' ? '\n' : *r == 't' ? '\t' : *r;
        } else {
            *w++ = *r;
        }
    }
    if (*r != q) {
        *why = "unterminated quote";
        return NULL;
    }
    *w = '\0';
    r = trim(r + 1);
    if (*r && *r != '#') {
        *why = "text after the closing quote";
        return NULL;
    }
    return v;
}

/* Reads KEY=VALUE lines of a .env file. Keys not starting with BT_ belong to
 * other tools (docker compose reads the same file) and are skipped; an
 * unknown BT_ key is an error, since it is most likely a typo. */
static int load_env_file(const char *path, struct source *srcs, char *err,
                         size_t errlen)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    unsigned lineno = 0;
    int rc = 0;

    if (!f) {
        if (errno == ENOENT)
            return 0;
        return err_fmt(err, errlen, "cannot read %s: %s", path,
                       strerror(errno));
    }
    while (rc == 0 && getline(&line, &cap, f) >= 0) {
        char *s = trim(line), *eq, *key, *val;
        const char *why = NULL;
        const struct setting *set;

        lineno++;
        if (*s == '\0' || *s == '#')
            continue;
        if (strncmp(s, "export ", 7) == 0)
            s = trim(s + 7);
        eq = strchr(s, '=');
        if (!eq) {
            rc = err_fmt(err, errlen, "%s line %u: expected KEY=VALUE",
                         path, lineno);
            break;
        }
        *eq = '\0';
        key = trim(s);
        if (strncmp(key, "BT_", 3) != 0 || is_foreign(key, strlen(key)))
            continue;
        set = setting_by_env(key, strlen(key));
        if (!set) {
            rc = err_fmt(err, errlen,
                         "%s line %u: unknown setting %s (btfs --help lists "
                         "them)", path, lineno, key);
            break;
        }
        val = env_value(eq + 1, &why);
        if (!val) {
            rc = err_fmt(err, errlen, "%s line %u: %s in %s", path, lineno,
                         why, key);
            break;
        }
        char *copy = strdup(val);
        if (!copy) {
            rc = -ENOMEM;
            break;
        }
        source_set(&srcs[set - settings], copy, copy, "%s in %s line %u",
                   key, path, lineno);
    }
    if (rc == 0 && ferror(f))
        rc = err_fmt(err, errlen, "cannot read %s: %s", path,
                     strerror(errno));
    free(line);
    fclose(f);
    return rc;
}

static void load_environment(struct source *srcs)
{
    for (char **e = environ; e && *e; e++) {    /* NULL after clearenv() */
        const char *eq = strchr(*e, '=');
        const struct setting *set;

        if (!eq || strncmp(*e, "BT_", 3) != 0)
            continue;
        set = setting_by_env(*e, (size_t)(eq - *e));
        if (set)
            source_set(&srcs[set - settings], eq + 1, NULL,
                       "%s in the environment", set->env);
        else if (!is_foreign(*e, (size_t)(eq - *e)))
            fprintf(stderr, "btfs: warning: ignoring unknown variable %.*s\n",
                    (int)(eq - *e), *e);
    }
}

/* Converts and checks one setting's text into its field. */
static int apply(struct config *cfg, const struct setting *set,
                 const struct source *src, char *err, size_t errlen)
{
    const char *t = src->text;
    void *field = (char *)cfg + set->off;
    char *end;

    switch (set->type) {
    case T_STR: {
        char *copy = strdup(t);
        if (!copy)
            return -ENOMEM;
        free(*(char **)field);
        *(char **)field = copy;
        if (set->off == F(data_dir) && *copy == '\0')
            return err_fmt(err, errlen, "%s: the data directory is empty",
                           source_what(src));
        return 0;
    }
    case T_ENUM: {
        size_t n = strlen(t);
        for (const char *c = set->choices; c && *c;) {
            const char *bar = strchr(c, '|');
            size_t clen = bar ? (size_t)(bar - c) : strlen(c);
            if (clen == n && memcmp(c, t, n) == 0) {
                char *copy = strdup(t);
                if (!copy)
                    return -ENOMEM;
                free(*(char **)field);
                *(char **)field = copy;
                return 0;
            }
            c = bar ? bar + 1 : c + clen;
        }
        return err_fmt(err, errlen, "%s: '%s' is not one of %s", source_what(src), t,
                       set->choices);
    }
    case T_BOOL:
        if (strcmp(t, "1") == 0 || strcmp(t, "0") == 0) {
            *(int *)field = t[0] == '1';
            return 0;
        }
        return err_fmt(err, errlen, "%s: '%s' must be 1 or 0", source_what(src), t);
    case T_INT: {
        long v;
        errno = 0;
        v = strtol(t, &end, 10);
        if (*t == '\0' || *end != '\0' || errno || v < set->min ||
            v > set->max)
            return err_fmt(err, errlen,
                           "%s: '%s' must be an integer from %.0f to %.0f",
                           source_what(src), t, set->min, set->max);
        *(int *)field = (int)v;
        return 0;
    }
    case T_DBL: {
        double v;
        errno = 0;
        v = strtod(t, &end);
        if (*t == '\0' || *end != '\0' || errno || !isfinite(v) ||
            v < set->min || v > set->max)
            return err_fmt(err, errlen,
                           "%s: '%s' must be a number from %g to %g",
                           source_what(src), t, set->min, set->max);
        *(double *)field = v;
        return 0;
    }
    }
    return -EINVAL;
}

/* The longest key file read; real keys are well under 1 KiB. */
#define KEY_FILE_MAX 4096

/* Reads the API key from cfg->llm_api_key_file into cfg->llm_api_key: one
 * line, trailing blanks and newline dropped. 'src' names where the path came
 * from, for messages. */
static int read_key_file(struct config *cfg, const struct source *src,
                         char *err, size_t errlen)
{
    const char *path = cfg->llm_api_key_file;
    char buf[KEY_FILE_MAX + 1];
    struct stat sb;
    size_t n;
    FILE *f;

    if (!(f = fopen(path, "r")))
        return err_fmt(err, errlen, "%s: cannot read the key file %s: %s",
                       source_what(src), path, strerror(errno));
    n = fread(buf, 1, sizeof buf, f);
    if (ferror(f)) {
        int e = errno;
        fclose(f);
        return err_fmt(err, errlen, "%s: cannot read the key file %s: %s",
                       source_what(src), path, strerror(e));
    }
    if (fstat(fileno(f), &sb) == 0 && (sb.st_mode & 077))
        fprintf(stderr, "btfs: warning: the key file %s can be read by "
                "other users; make it private: chmod 600 %s\n", path, path);
    fclose(f);
    if (n > KEY_FILE_MAX)
        return err_fmt(err, errlen, "%s: the key file %s is over %d bytes; "
                       "it must hold only the key", source_what(src), path,
                       KEY_FILE_MAX);
    while (n > 0 && isspace((unsigned char)buf[n - 1]))
        n--;
    buf[n] = '\0';
    if (n == 0)
        return err_fmt(err, errlen, "%s: the key file %s is empty",
                       source_what(src), path);
    for (size_t i = 0; i < n; i++)
        if (iscntrl((unsigned char)buf[i])) {
            memset(buf, 0, sizeof buf);
            return err_fmt(err, errlen, "%s: the key file %s must hold the "
                           "key on one line, with no control characters",
                           source_what(src), path);
        }
    free(cfg->llm_api_key);
    cfg->llm_api_key = strdup(buf);
    memset(buf, 0, sizeof buf);
    return cfg->llm_api_key ? 0 : -ENOMEM;
}

/* Checks a list of LLM URLs (comma-separated) as the LLM client will take
 * them: each one http:// or https://. Here rather than there so that a
 * bad one stops start-up naming the setting, and shows without its
 * credentials: a URL without a scheme ("user:pw@host/v1", which curl
 * would take) has no "://" for redact_buf to find, so it is masked here
 * up to its last '@'. */
static int check_urls(const char *list, const struct source *src, char *err,
                      size_t errlen)
{
    const char *cursor = list, *p;
    size_t n;

    while (url_list_next(&cursor, &p, &n)) {
        if (n == 0)
            return err_fmt(err, errlen, "%s holds an empty URL; give one "
                           "http:// or https:// URL, or several separated "
                           "by commas", source_what(src));
        if (!url_is_http(p, n)) {
            char item[512], shown[512];
            const char *at;

            snprintf(item, sizeof item, "%.*s", (int)n, p);
            redact_buf(shown, sizeof shown, item);
            /* Without a scheme nothing says where the host starts: all
             * before the last '@' goes (too much, at worst). */
            at = strrchr(shown, '@');
            if (!strstr(shown, "://") && at) {
                memmove(shown + 3, at, strlen(at) + 1);
                memcpy(shown, "***", 3);
            }
            return err_fmt(err, errlen, "%s: \"%s\" is not an http:// or "
                           "https:// URL", source_what(src), shown);
        }
    }
    return 0;
}

int config_load(struct config *cfg, int argc, char **argv,
                const char *env_file, enum config_action *action, char *err,
                size_t errlen)
{
    struct source srcs[NSETTINGS];
    struct option longopts[NSETTINGS + 4];
    int rc = 0, c, idx;

    memset(cfg, 0, sizeof *cfg);
    memset(srcs, 0, sizeof srcs);
    *action = CONFIG_RUN;

    for (size_t i = 0; i < NSETTINGS; i++) {
        source_set(&srcs[i], settings[i].def, NULL, "default of %s",
                   settings[i].env);
        longopts[i] = (struct option){settings[i].opt, required_argument,
                                      NULL, 1000 + (int)i};
    }
    longopts[NSETTINGS] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[NSETTINGS + 1] = (struct option){"version", no_argument, NULL,
                                              'V'};
    longopts[NSETTINGS + 2] = (struct option){"env-example", no_argument,
                                              NULL, 'E'};
    longopts[NSETTINGS + 3] = (struct option){NULL, 0, NULL, 0};

    if (env_file && (rc = load_env_file(env_file, srcs, err, errlen)) < 0)
        goto out;
    load_environment(srcs);

    /* 0, not 1: only that makes glibc forget where it stopped in a previous
     * argv (a cluster like -fd), so that config_load can be called again. */
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":fdho:V", longopts, &idx)) != -1) {
        switch (c) {
        case 'f':
            cfg->foreground = 1;
            break;
        case 'd':
            cfg->debug = cfg->foreground = 1;
            break;
        case 'o':
            if (cfg->fuse_opts) {
                /* several -o accumulate, as mount(8) does */
                char *joined;
                if (asprintf(&joined, "%s,%s", cfg->fuse_opts, optarg) < 0) {
                    rc = -ENOMEM;
                    goto out;
                }
                free(cfg->fuse_opts);
                cfg->fuse_opts = joined;
            } else if (!(cfg->fuse_opts = strdup(optarg))) {
                rc = -ENOMEM;
                goto out;
            }
            break;
        case 'h':
            *action = CONFIG_HELP;
            goto out;
        case 'V':
            *action = CONFIG_VERSION;
            goto out;
        case 'E':
            *action = CONFIG_ENV_EXAMPLE;
            goto out;
        case ':':
            rc = err_fmt(err, errlen, "option %s needs a value",
                         argv[optind - 1]);
            goto out;
        case '?':
            /* For a long option glibc may set optopt to its short twin
             * (--help=x gives 'h'): name what the user typed instead. */
            if (strncmp(argv[optind - 1], "--", 2) == 0)
                rc = err_fmt(err, errlen, "unknown option or unexpected "
                             "value: %s", argv[optind - 1]);
            else
                rc = err_fmt(err, errlen, "unknown option -%c", optopt);
            goto out;
        default:
            if (c >= 1000 && c < 1000 + (int)NSETTINGS)
                source_set(&srcs[c - 1000], optarg, NULL, "option --%s",
                           settings[c - 1000].opt);
            break;
        }
    }
    if (optind >= argc) {
        rc = err_fmt(err, errlen, "missing MOUNTPOINT (try: btfs --data "
                                  "./data ./mountpoint)");
        goto out;
    }
    if (optind + 1 < argc) {
        rc = err_fmt(err, errlen, "unexpected argument '%s' (only one "
                                  "MOUNTPOINT is taken)", argv[optind + 1]);
        goto out;
    }
    if (!(cfg->mountpoint = strdup(argv[optind]))) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < NSETTINGS && rc == 0; i++)
        rc = apply(cfg, &settings[i], &srcs[i], err, errlen);
    const struct source *key_src = &srcs[index_of("BT_LLM_API_KEY")];
    const struct source *file_src = &srcs[index_of("BT_LLM_API_KEY_FILE")];
    if (rc == 0 && *cfg->llm_api_key_file) {
        if (*cfg->llm_api_key)
            rc = err_fmt(err, errlen, "%s and %s both give the API key; "
                         "keep one", source_what(key_src),
                         source_what(file_src));
        else
            rc = read_key_file(cfg, file_src, err, errlen);
    }
    /* Only an option shows in ps; the environment is private to us. */
    if (rc == 0 && *cfg->llm_api_key &&
        strncmp(source_what(key_src), "option ", 7) == 0)
        fprintf(stderr, "btfs: warning: --llm-api-key shows the key to every "
                "local user (ps, /proc/PID/cmdline); use --llm-api-key-file "
                "PATH or BT_LLM_API_KEY_FILE instead\n");
    /* The Trainer's key leaks the same way. */
    if (rc == 0 && *cfg->trainer_llm_api_key &&
        strncmp(source_what(&srcs[index_of("BT_TRAINER_LLM_API_KEY")]),
                "option ", 7) == 0)
        fprintf(stderr, "btfs: warning: --trainer-llm-api-key shows the key "
                "to every local user (ps, /proc/PID/cmdline); set "
                "BT_TRAINER_LLM_API_KEY in the environment or in .env "
                "instead\n");
    if (rc == 0)
        rc = check_urls(cfg->llm_url, &srcs[index_of("BT_LLM_URL")], err,
                        errlen);
    if (rc == 0 && *cfg->trainer_llm_url)
        rc = check_urls(cfg->trainer_llm_url,
                        &srcs[index_of("BT_TRAINER_LLM_URL")], err, errlen);
    if (rc == 0 && cfg->sandbox_timeout_s > cfg->sandbox_max_timeout_s)
        rc = err_fmt(err, errlen, "BT_SANDBOX_TIMEOUT_S (%d) is larger than "
                     "BT_SANDBOX_MAX_TIMEOUT_S (%d)", cfg->sandbox_timeout_s,
                     cfg->sandbox_max_timeout_s);
    if (rc == 0 && cfg->llm_context > 0 && cfg->llm_context < 128)
        rc = err_fmt(err, errlen, "BT_LLM_CONTEXT (%d) must be 0 (learn it "
                     "from the server) or at least 128", cfg->llm_context);
    if (rc == 0 && cfg->llm_idle_timeout_s > cfg->llm_total_timeout_s)
        rc = err_fmt(err, errlen, "BT_LLM_IDLE_TIMEOUT_S (%d) is larger than "
                     "BT_LLM_TOTAL_TIMEOUT_S (%d)", cfg->llm_idle_timeout_s,
                     cfg->llm_total_timeout_s);
out:
    for (size_t i = 0; i < NSETTINGS; i++) {
        free(srcs[i].owned_text);
        free(srcs[i].what);
    }
    if (rc == -ENOMEM)
        err_fmt(err, errlen, "out of memory");
    return rc;
}

void config_free(struct config *cfg)
{
    for (size_t i = 0; i < NSETTINGS; i++)
        if (settings[i].type == T_STR || settings[i].type == T_ENUM) {
            char **p = (char **)((char *)cfg + settings[i].off);
            free(*p);
            *p = NULL;
        }
    free(cfg->mountpoint);
    free(cfg->fuse_opts);
    cfg->mountpoint = cfg->fuse_opts = NULL;
}

void config_usage(const char *prog, FILE *out)
{
    fprintf(out,
            "usage: %s [options] MOUNTPOINT\n"
            "\n"
            "Mounts the Builder-Trainer memory at MOUNTPOINT (an empty "
            "directory)\nand runs the agents in the background.\n"
            "\n"
            "  -f                 stay in the foreground\n"
            "  -d                 FUSE debug output (implies -f)\n"
            "  -o OPT[,OPT...]    FUSE mount options (e.g. allow_other)\n"
            "  -h, --help         this help\n"
            "  -V, --version      version\n"
            "  --env-example      print a .env with every setting\n"
            "\n"
            "Settings: option, environment variable (also read from ./.env), "
            "default.\n",
            prog);
    for (size_t i = 0; i < NSETTINGS; i++) {
        const struct setting *s = &settings[i];
        char opt[64];

        snprintf(opt, sizeof opt, "--%s=X", s->opt);
        fprintf(out, "  %-26s %-25s %s\n      %s\n", opt, s->env,
                s->secret ? "(none)" : *s->def ? s->def : "\"\"", s->help);
    }
    fprintf(out, "\nSIGINT or SIGTERM unmounts and exits. "
                 "Command-line options override the environment,\n"
                 "which overrides .env.\n");
}

void config_print_env_example(FILE *out)
{
    fprintf(out, "# Builder-Trainer FS settings (btfs --help). Values here are"
                 " the defaults;\n# the environment and command-line options "
                 "override this file.\n");
    for (size_t i = 0; i < NSETTINGS; i++) {
        const char *why = NULL;

        for (size_t k = 0; k < sizeof example_unset / sizeof example_unset[0];
             k++)
            if (strcmp(example_unset[k].env, settings[i].env) == 0)
                why = example_unset[k].why;
        fprintf(out, "\n# %s\n", settings[i].help);
        if (why)
            fprintf(out, "# %s\n", why);
        fprintf(out, "%s%s=%s\n", settings[i].secret || why ? "# " : "",
                settings[i].env, settings[i].def);
    }
    for (size_t i = 0; i < sizeof foreign_vars / sizeof foreign_vars[0]; i++)
        fprintf(out, "\n# %s\n# %s=\n", foreign_vars[i].help,
                foreign_vars[i].env);
}

/* Adds a text setting as config.json shows it: any URL in it (BT_LLM_URL,
 * and whatever setting holds one) without its credentials. */
static cJSON *add_shown(cJSON *o, const char *key, const char *value)
{
    char *shown = redact_dup(value ? value : "");
    cJSON *item = shown ? cJSON_AddStringToObject(o, key, shown) : NULL;

    free(shown);
    return item;
}

char *config_to_json(const struct config *cfg)
{
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;

    if (!o)
        return NULL;
    if (!(cfg->mountpoint
              ? cJSON_AddStringToObject(o, "mountpoint", cfg->mountpoint)
              : cJSON_AddNullToObject(o, "mountpoint")))
        goto out;
    for (size_t i = 0; i < NSETTINGS; i++) {
        const struct setting *s = &settings[i];
        const void *field = (const char *)cfg + s->off;
        char key[64];
        cJSON *item;
        size_t k;

        /* BT_LLM_URL -> llm_url */
        for (k = 0; s->env[k + 3] && k + 1 < sizeof key; k++)
            key[k] = (char)tolower((unsigned char)s->env[k + 3]);
        key[k] = '\0';
        switch (s->type) {
        case T_STR:
        case T_ENUM:
            if (s->secret)
                item = *(char *const *)field && **(char *const *)field
                           ? cJSON_AddStringToObject(o, key, "(redacted)")
                           : cJSON_AddNullToObject(o, key);
            else
                item = add_shown(o, key, *(char *const *)field);
            break;
        case T_BOOL:
            item = cJSON_AddBoolToObject(o, key, *(const int *)field);
            break;
        case T_INT:
            item = cJSON_AddNumberToObject(o, key, *(const int *)field);
            break;
        default:
            item = cJSON_AddNumberToObject(o, key, *(const double *)field);
            break;
        }
        if (!item)
            goto out;
    }
    text = cJSON_Print(o);
out:
    cJSON_Delete(o);
    return text;
}
