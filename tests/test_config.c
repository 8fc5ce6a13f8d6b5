/* test_config.c -- unit tests for cmd/config.c: defaults, the four sources
 * and their precedence, .env parsing, validation messages, argv handling and
 * the config.json rendering.
 *
 * Every test starts with no BT_* variable in the environment and a fresh
 * temporary directory for its .env files (see setup()).
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "config.h"

extern char **environ;

struct fixture {
    char dir[64];                /* mkdtemp directory, removed in teardown */
    char env_path[128];          /* dir + "/.env"                          */
    struct config cfg;           /* freed before each load and in teardown */
    enum config_action action;
    char err[512];
};

/* ---- fixture ---------------------------------------------------------- */

/* The tests set BT_* variables and the developer running them may have some
 * exported too; either would leak into the next test. */
static void clear_bt_env(void)
{
    for (;;) {
        char **e = environ, *name;

        while (*e && strncmp(*e, "BT_", 3) != 0)
            e++;
        if (!*e)
            return;
        name = strndup(*e, strcspn(*e, "="));
        assert_non_null(name);
        assert_int_equal(unsetenv(name), 0);
        free(name);
    }
}

/* glibc's getopt keeps a pointer into the previous argv (where it stopped
 * in the last short-option cluster) that config_load's 'optind = 1' does not
 * clear; only optind = 0 does. load_v() calls this before each config_load,
 * or a load would go on reading the freed argv of the one before;
 * test_regression_getopt_state shows that problem on its own. */
static void reset_getopt(void)
{
    char arg0[] = "test_config";
    char *argv[] = {arg0, NULL};

    optind = 0;
    opterr = 0;
    while (getopt(1, argv, "") != -1)
        ;
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);

    if (!fx)
        return -1;
    clear_bt_env();
    reset_getopt();
    snprintf(fx->dir, sizeof fx->dir, "/tmp/test_config.XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    snprintf(fx->env_path, sizeof fx->env_path, "%s/.env", fx->dir);
    *state = fx;
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    return remove(path);
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    int rc;

    config_free(&fx->cfg);
    rc = nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    clear_bt_env();
    return rc;
}

/* ---- helpers ---------------------------------------------------------- */

/* Writes text to path (created or truncated). */
static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* Writes the fixture's .env and returns its path. */
static const char *write_env(struct fixture *fx, const char *text)
{
    write_file(fx->env_path, text);
    return fx->env_path;
}

/* Runs config_load on a heap copy of args ("btfs" first, NULL-terminated),
 * so a pointer kept into argv after the call would show up under ASan. The
 * previous result is freed first, so a test may load several times. */
static int load_v(struct fixture *fx, const char *env_file,
                  const char *const *args)
{
    int argc = 0, rc;
    char **argv;

    while (args[argc])
        argc++;
    argv = calloc((size_t)argc + 1, sizeof *argv);
    assert_non_null(argv);
    for (int i = 0; i < argc; i++) {
        argv[i] = strdup(args[i]);
        assert_non_null(argv[i]);
    }
    config_free(&fx->cfg);
    fx->err[0] = '\0';
    fx->action = (enum config_action)-1;
    reset_getopt();
    rc = config_load(&fx->cfg, argc, argv, env_file, &fx->action, fx->err,
                     sizeof fx->err);
    /* getopt permutes the pointers but keeps the set, so all are freed. */
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    free(argv);
    return rc;
}

#define LOAD(fx, env_file, ...)                                             \
    load_v((fx), (env_file), (const char *const[]){"btfs", __VA_ARGS__, NULL})

static void assert_err_has_(const struct fixture *fx, const char *want,
                            const char *file, int line)
{
    if (!strstr(fx->err, want))
        fail_msg("%s:%d: error message \"%s\" lacks \"%s\"", file, line,
                 fx->err, want);
}

#define assert_err_has(fx, want) assert_err_has_((fx), (want), __FILE__, __LINE__)

static void assert_double_eq(double got, double want)
{
    if (got != want)
        fail_msg("expected %.17g, got %.17g", want, got);
}

static void set_env(const char *name, const char *value)
{
    assert_int_equal(setenv(name, value, 1), 0);
}

/* ---- defaults --------------------------------------------------------- */

static void assert_defaults(const struct config *c)
{
    assert_string_equal(c->data_dir, "./data");
    assert_int_equal(c->foreground, 0);
    assert_int_equal(c->debug, 0);
    assert_null(c->fuse_opts);
    assert_string_equal(c->llm_url, "http://localhost:1234/v1");
    assert_string_equal(c->llm_model, "deepseek-coder-7b-instruct");
    assert_non_null(c->llm_api_key);
    assert_string_equal(c->llm_api_key, "");
    assert_int_equal(c->llm_connect_timeout_s, 10);
    assert_int_equal(c->llm_idle_timeout_s, 120);
    assert_int_equal(c->llm_total_timeout_s, 900);
    assert_int_equal(c->llm_context, 0);    /* the server's, else 4096 */
    assert_int_equal(c->llm_slots, 1);
    assert_int_equal(c->llm_max_tokens, 1024);
    assert_double_eq(c->llm_temperature, 0.2);
    assert_int_equal(c->builders, 1);
    assert_int_equal(c->trainer, 1);
    assert_int_equal(c->max_attempts, 3);
    assert_double_eq(c->target_success, 0.75);
    assert_string_equal(c->sandbox, "bubblewrap");
    assert_int_equal(c->sandbox_timeout_s, 10);
    assert_int_equal(c->sandbox_max_timeout_s, 60);
    assert_int_equal(c->sandbox_memory_mb, 512);
    assert_int_equal(c->sandbox_cpu_s, 10);
    assert_int_equal(c->sandbox_procs, 64);
    assert_int_equal(c->sandbox_file_mb, 16);
    assert_int_equal(c->sandbox_output_kb, 256);
}

static void test_defaults(void **state)
{
    struct fixture *fx = *state;

    assert_int_equal(LOAD(fx, NULL, "/mnt/bt"), 0);
    assert_int_equal(fx->action, CONFIG_RUN);
    assert_string_equal(fx->cfg.mountpoint, "/mnt/bt");
    assert_defaults(&fx->cfg);
}

static void test_defaults_missing_env_file(void **state)
{
    struct fixture *fx = *state;

    /* fx->env_path was never written */
    assert_int_equal(LOAD(fx, fx->env_path, "/mnt/bt"), 0);
    assert_int_equal(fx->action, CONFIG_RUN);
    assert_defaults(&fx->cfg);
}

static void test_defaults_empty_env_file(void **state)
{
    struct fixture *fx = *state;

    assert_int_equal(LOAD(fx, write_env(fx, ""), "/mnt/bt"), 0);
    assert_defaults(&fx->cfg);
    assert_int_equal(LOAD(fx, write_env(fx, "# only a comment\n\n   \n"),
                          "/mnt/bt"), 0);
    assert_defaults(&fx->cfg);
}

/* ---- precedence: default < .env < environment < argv ------------------ */

enum ftype { FS, FI, FD };

struct mapping {
    const char *env;
    const char *opt;
    size_t off;
    enum ftype type;
    const char *v[3];           /* for .env, environment, argv; v[0] is not
                                 * the default, each differs from the last */
};

#define OFF(field) offsetof(struct config, field)

/* Every setting with its field: a wrong offset or option name in config.c's
 * table shows up here. Values respect the cross checks (sandbox timeout <=
 * max, idle <= total) against the other fields' defaults. */
static const struct mapping mappings[] = {
    {"BT_DATA", "data", OFF(data_dir), FS, {"/d/env", "/d/environ", "/d/arg"}},
    {"BT_LLM_URL", "llm-url", OFF(llm_url), FS,
     {"http://a/v1", "http://b/v1", "http://c/v1"}},
    {"BT_LLM_MODEL", "llm-model", OFF(llm_model), FS, {"m1", "m2", "m3"}},
    {"BT_LLM_API_KEY", "llm-api-key", OFF(llm_api_key), FS,
     {"k1", "k2", "k3"}},
    {"BT_LLM_CONNECT_TIMEOUT_S", "llm-connect-timeout",
     OFF(llm_connect_timeout_s), FI, {"11", "12", "13"}},
    {"BT_LLM_IDLE_TIMEOUT_S", "llm-idle-timeout", OFF(llm_idle_timeout_s), FI,
     {"121", "122", "123"}},
    {"BT_LLM_TOTAL_TIMEOUT_S", "llm-total-timeout", OFF(llm_total_timeout_s),
     FI, {"901", "902", "903"}},
    {"BT_LLM_CONTEXT", "llm-context", OFF(llm_context), FI,
     {"2048", "8192", "16384"}},
    {"BT_LLM_SLOTS", "llm-slots", OFF(llm_slots), FI, {"2", "3", "4"}},
    {"BT_TRAINER_LLM_URL", "trainer-llm-url", OFF(trainer_llm_url), FS,
     {"http://t1/v1", "http://t2/v1", "http://t3/v1"}},
    {"BT_TRAINER_LLM_MODEL", "trainer-llm-model", OFF(trainer_llm_model), FS,
     {"t1", "t2", "t3"}},
    {"BT_TRAINER_LLM_API_KEY", "trainer-llm-api-key",
     OFF(trainer_llm_api_key), FS, {"tk1", "tk2", "tk3"}},
    {"BT_LLM_MAX_TOKENS", "llm-max-tokens", OFF(llm_max_tokens), FI,
     {"100", "200", "300"}},
    {"BT_LLM_TEMPERATURE", "llm-temperature", OFF(llm_temperature), FD,
     {"0.5", "1.25", "0"}},
    {"BT_BUILDERS", "builders", OFF(builders), FI, {"2", "3", "4"}},
    {"BT_TRAINER", "trainer", OFF(trainer), FI, {"0", "1", "0"}},
    {"BT_SEED", "seed", OFF(seed), FI, {"0", "1", "0"}},
    {"BT_SCORE_WEIGHTS", "score-weights", OFF(score_weights), FS,
     {"accuracy=1", "speed=0.5", "lint=0"}},
    {"BT_MAX_ATTEMPTS", "max-attempts", OFF(max_attempts), FI,
     {"5", "6", "7"}},
    {"BT_TARGET_SUCCESS", "target-success", OFF(target_success), FD,
     {"0.5", "0.6", "0.9"}},
    {"BT_SANDBOX", "sandbox", OFF(sandbox), FS,
     {"none", "bubblewrap", "none"}},
    {"BT_SANDBOX_BWRAP", "sandbox-bwrap", OFF(sandbox_bwrap), FS,
     {"/opt/bw1", "/opt/bw2", "bwrap3"}},
    {"BT_SANDBOX_TIMEOUT_S", "sandbox-timeout", OFF(sandbox_timeout_s), FI,
     {"11", "12", "13"}},
    {"BT_SANDBOX_MAX_TIMEOUT_S", "sandbox-max-timeout",
     OFF(sandbox_max_timeout_s), FI, {"61", "62", "63"}},
    {"BT_SANDBOX_MEMORY_MB", "sandbox-memory", OFF(sandbox_memory_mb), FI,
     {"256", "1024", "2048"}},
    {"BT_SANDBOX_CPU_S", "sandbox-cpu", OFF(sandbox_cpu_s), FI,
     {"20", "30", "40"}},
    {"BT_SANDBOX_PROCS", "sandbox-procs", OFF(sandbox_procs), FI,
     {"1", "2", "4096"}},
    {"BT_SANDBOX_FILE_MB", "sandbox-file", OFF(sandbox_file_mb), FI,
     {"1", "2", "3"}},
    {"BT_SANDBOX_OUTPUT_KB", "sandbox-output", OFF(sandbox_output_kb), FI,
     {"1", "2", "3"}},
    {"BT_GROUP", "group", OFF(group), FS, {"g1", "g2", "g3"}},
    {"BT_LOG_KEEP", "log-keep", OFF(log_keep), FI, {"1000", "2000", "3000"}},
    {"BT_ANALYSES_KEEP", "analyses-keep", OFF(analyses_keep), FI,
     {"10", "20", "30"}},
};

#define NMAPPINGS (sizeof mappings / sizeof mappings[0])

static void assert_field(const struct config *c, const struct mapping *m,
                         const char *want, const char *how)
{
    const char *field = (const char *)c + m->off;

    switch (m->type) {
    case FS: {
        const char *got = *(char *const *)field;
        if (!got || strcmp(got, want) != 0)
            fail_msg("%s via %s: expected \"%s\", got \"%s\"", m->env, how,
                     want, got ? got : "(null)");
        break;
    }
    case FI: {
        int got = *(const int *)field;
        if (got != atoi(want))
            fail_msg("%s via %s: expected %s, got %d", m->env, how, want, got);
        break;
    }
    case FD: {
        double got = *(const double *)field;
        if (got != strtod(want, NULL))
            fail_msg("%s via %s: expected %s, got %.17g", m->env, how, want,
                     got);
        break;
    }
    }
}

/* For each setting alone: .env beats the default, the environment beats
 * .env, argv beats the environment. */
static void test_precedence_every_setting(void **state)
{
    struct fixture *fx = *state;

    for (size_t i = 0; i < NMAPPINGS; i++) {
        const struct mapping *m = &mappings[i];
        char line[128], opt[128];

        snprintf(line, sizeof line, "%s=%s\n", m->env, m->v[0]);
        snprintf(opt, sizeof opt, "--%s=%s", m->opt, m->v[2]);
        write_env(fx, line);

        if (LOAD(fx, fx->env_path, "/mnt") != 0)
            fail_msg("%s from .env: %s", m->env, fx->err);
        assert_field(&fx->cfg, m, m->v[0], ".env");

        set_env(m->env, m->v[1]);
        if (LOAD(fx, fx->env_path, "/mnt") != 0)
            fail_msg("%s from environment: %s", m->env, fx->err);
        assert_field(&fx->cfg, m, m->v[1], "environment over .env");

        if (LOAD(fx, fx->env_path, opt, "/mnt") != 0)
            fail_msg("%s from %s: %s", m->env, opt, fx->err);
        assert_field(&fx->cfg, m, m->v[2], "option over environment");

        /* the environment alone, without .env, also beats the default */
        if (LOAD(fx, NULL, "/mnt") != 0)
            fail_msg("%s from environment: %s", m->env, fx->err);
        assert_field(&fx->cfg, m, m->v[1], "environment");

        assert_int_equal(unsetenv(m->env), 0);
    }
}

/* Sources combine per key: each setting comes from its own highest source. */
static void test_precedence_mixed_keys(void **state)
{
    struct fixture *fx = *state;

    write_env(fx, "BT_BUILDERS=2\nBT_MAX_ATTEMPTS=5\nBT_LLM_MODEL=from-env-file\n"
                  "BT_LLM_CONTEXT=2048\n");
    set_env("BT_BUILDERS", "3");
    set_env("BT_LLM_MODEL", "from-environment");
    assert_int_equal(LOAD(fx, fx->env_path, "--llm-model", "from-argv",
                          "/mnt"), 0);
    assert_int_equal(fx->cfg.builders, 3);
    assert_int_equal(fx->cfg.max_attempts, 5);
    assert_int_equal(fx->cfg.llm_context, 2048);
    assert_string_equal(fx->cfg.llm_model, "from-argv");
    /* untouched settings keep their defaults */
    assert_int_equal(fx->cfg.sandbox_procs, 64);
    assert_string_equal(fx->cfg.llm_url, "http://localhost:1234/v1");
}

/* Only the winning source's text is validated: a bad value that is
 * overridden is harmless. */
static void test_precedence_overridden_bad_value(void **state)
{
    struct fixture *fx = *state;

    write_env(fx, "BT_BUILDERS=lots\n");
    set_env("BT_BUILDERS", "9");
    assert_int_equal(LOAD(fx, fx->env_path, "/mnt"), 0);
    assert_int_equal(fx->cfg.builders, 9);

    set_env("BT_SANDBOX", "docker");
    assert_int_equal(LOAD(fx, NULL, "--sandbox=none", "/mnt"), 0);
    assert_string_equal(fx->cfg.sandbox, "none");
}

/* Within one source the last occurrence wins. */
static void test_precedence_last_wins(void **state)
{
    struct fixture *fx = *state;

    write_env(fx, "BT_LLM_CONTEXT=2048\nBT_LLM_CONTEXT=8192\n");
    assert_int_equal(LOAD(fx, fx->env_path, "--builders=5", "--builders", "6",
                          "/mnt"), 0);
    assert_int_equal(fx->cfg.llm_context, 8192);
    assert_int_equal(fx->cfg.builders, 6);
}

/* ---- .env parsing ----------------------------------------------------- */

static void test_env_file_syntax(void **state)
{
    struct fixture *fx = *state;

    write_env(fx,
              "# btfs settings\n"
              "   # an indented comment\n"
              "\n"
              "\t\n"
              "export BT_LLM_MODEL='m \\n \"q\" #x'\n"
              "BT_LLM_URL=http://h:1/v1#frag\n"
              "BT_LLM_API_KEY=\"a\\\"b\\\\c\\nd\\te\\qf\"\n"
              "BT_DATA=/srv/bt data # an inline comment\n"
              "  BT_BUILDERS  =  7  \n"
              "BT_SANDBOX=\"none\" # comment after a quoted value\n"
              "BT_MAX_ATTEMPTS=4\r\n"
              "BT_SANDBOX_PROCS='100'\n"
              "BT_LLM_TEMPERATURE=\"1.5\"#tight comment\n"
              "PATH=/should/not/matter\n"
              "COMPOSE_PROJECT_NAME=btfs\n"
              "lowercase_bt_thing=1\n"
              "BT_MOUNT=/mnt/elsewhere\n"
              "BT_HOST_GATEWAY=10.0.0.5\n");
    assert_int_equal(LOAD(fx, fx->env_path, "/mnt"), 0);
    assert_string_equal(fx->cfg.llm_model, "m \\n \"q\" #x");
    assert_string_equal(fx->cfg.llm_url, "http://h:1/v1#frag");
    assert_string_equal(fx->cfg.llm_api_key, "a\"b\\c\nd\teqf");
    assert_string_equal(fx->cfg.data_dir, "/srv/bt data");
    assert_int_equal(fx->cfg.builders, 7);
    assert_string_equal(fx->cfg.sandbox, "none");
    assert_int_equal(fx->cfg.max_attempts, 4);
    assert_int_equal(fx->cfg.sandbox_procs, 100);
    assert_double_eq(fx->cfg.llm_temperature, 1.5);
    /* .env is read, not exported */
    assert_null(getenv("COMPOSE_PROJECT_NAME"));
    assert_null(getenv("BT_BUILDERS"));
}

static void test_env_file_quoted_empty_and_equals(void **state)
{
    struct fixture *fx = *state;

    write_env(fx, "BT_LLM_API_KEY=\"\"\nBT_LLM_MODEL=a=b=c\n"
                  "BT_TRAINER_LLM_URL=''\n");
    assert_int_equal(LOAD(fx, fx->env_path, "/mnt"), 0);
    assert_string_equal(fx->cfg.llm_api_key, "");
    assert_string_equal(fx->cfg.llm_model, "a=b=c");
    assert_string_equal(fx->cfg.trainer_llm_url, "");  /* the Builder's */
    /* an empty BT_LLM_URL names no server: refused at load, by name, not
     * left for the LLM client to fail on */
    write_env(fx, "BT_LLM_URL=''\n");
    assert_int_equal(LOAD(fx, fx->env_path, "/mnt"), -EINVAL);
    assert_err_has(fx, "BT_LLM_URL");
    assert_err_has(fx, "holds an empty URL");
}

static void test_env_file_unknown_key(void **state)
{
    struct fixture *fx = *state;
    char want[256];

    write_env(fx, "# settings\nBT_BUILDERS=2\nBT_BUILDERZ=2\n");
    assert_int_equal(LOAD(fx, fx->env_path, "/mnt"), -EINVAL);
    snprintf(want, sizeof want, "%s line 3", fx->env_path);
    assert_err_has(fx, want);
    assert_err_has(fx, "BT_BUILDERZ");
    assert_err_has(fx, "unknown");

    /* reported as unknown whatever its value */
    write_env(fx, "BT_NOPE=\"unterminated\n");
    assert_int_equal(LOAD(fx, fx->env_path, "/mnt"), -EINVAL);
    assert_err_has(fx, "line 1");
    assert_err_has(fx, "BT_NOPE");
}

static void test_env_file_missing_equals(void **state)
{
    struct fixture *fx = *state;
    char want[256];

    write_env(fx, "BT_BUILDERS=2\n\nBT_MAX_ATTEMPTS 3\n");
    assert_int_equal(LOAD(fx, fx->env_path, "/mnt"), -EINVAL);
    snprintf(want, sizeof want, "%s line 3", fx->env_path);
    assert_err_has(fx, want);
    assert_err_has(fx, "KEY=VALUE");

    write_env(fx, "export BT_BUILDERS\n");
    assert_int_equal(LOAD(fx, fx->env_path, "/mnt"), -EINVAL);
    assert_err_has(fx, "line 1");

    /* a non-BT line is still a line of this file and must be well formed */
    write_env(fx, "# ok\nnot a setting\n");
    assert_int_equal(LOAD(fx, fx->env_path, "/mnt"), -EINVAL);
    assert_err_has(fx, "line 2");
}

static void test_env_file_unterminated_quote(void **state)
{
    static const char *const bad[] = {
        "BT_LLM_MODEL=\"abc\n",
        "BT_LLM_MODEL='abc\n",
        "BT_LLM_MODEL=\"abc\\\"\n",        /* the closing quote is escaped */
        "BT_LLM_MODEL=\"abc\" trailing\n", /* text after the closing quote */
    };
    struct fixture *fx = *state;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[128];

        snprintf(text, sizeof text, "# first\n%s", bad[i]);
        write_env(fx, text);
        if (LOAD(fx, fx->env_path, "/mnt") != -EINVAL)
            fail_msg("accepted %s", bad[i]);
        assert_err_has(fx, "line 2");
        assert_err_has(fx, "BT_LLM_MODEL");
        assert_err_has(fx, "quote");
    }
}

/* An unknown BT_ variable in the environment may belong to a newer or older
 * btfs sharing the shell: warned about, not fatal. */
static void test_environment_unknown_is_not_fatal(void **state)
{
    struct fixture *fx = *state;

    set_env("BT_NOT_A_SETTING", "1");
    set_env("BT_MOUNT", "/somewhere");
    assert_int_equal(LOAD(fx, NULL, "/mnt"), 0);
    assert_defaults(&fx->cfg);
}

/* ---- validation ------------------------------------------------------- */

enum src { ENV, DOTENV, ARGV };

struct bad_case {
    enum src src;
    const char *env;             /* the variable                           */
    const char *opt;             /* its option                             */
    const char *val;
    const char *want[2];         /* besides the source (computed)          */
};

static const struct bad_case bad_cases[] = {
    /* integers: not a number, trailing junk, empty, both ends, overflow */
    {ENV, "BT_BUILDERS", "builders", "abc", {"'abc'", "from 0 to 64"}},
    {ENV, "BT_BUILDERS", "builders", "3x", {"'3x'", "from 0 to 64"}},
    {ENV, "BT_BUILDERS", "builders", "", {"''", "from 0 to 64"}},
    {ENV, "BT_BUILDERS", "builders", "-1", {"'-1'", "from 0 to 64"}},
    {ARGV, "BT_BUILDERS", "builders", "65", {"'65'", "from 0 to 64"}},
    {DOTENV, "BT_BUILDERS", "builders", "99999999999999999999",
     {"'99999999999999999999'", "integer"}},
    {ENV, "BT_MAX_ATTEMPTS", "max-attempts", "0", {"'0'", "from 1 to 20"}},
    {ARGV, "BT_MAX_ATTEMPTS", "max-attempts", "21", {"'21'", "from 1 to 20"}},
    {DOTENV, "BT_MAX_ATTEMPTS", "max-attempts", "2.5", {"'2.5'", "integer"}},
    {DOTENV, "BT_LLM_CONTEXT", "llm-context", "-1",
     {"'-1'", "from 0 to 1048576"}},
    {ENV, "BT_LLM_SLOTS", "llm-slots", "0", {"'0'", "from 1 to 256"}},
    {ENV, "BT_LLM_CONNECT_TIMEOUT_S", "llm-connect-timeout", "601",
     {"'601'", "from 1 to 600"}},
    {ARGV, "BT_SANDBOX_PROCS", "sandbox-procs", "4097",
     {"'4097'", "from 1 to 4096"}},
    {ENV, "BT_SANDBOX_MEMORY_MB", "sandbox-memory", "15",
     {"'15'", "from 16 to 65536"}},
    /* doubles */
    {ENV, "BT_TARGET_SUCCESS", "target-success", "abc",
     {"'abc'", "from 0.05 to 0.95"}},
    {ARGV, "BT_TARGET_SUCCESS", "target-success", "0.04",
     {"'0.04'", "from 0.05 to 0.95"}},
    {DOTENV, "BT_TARGET_SUCCESS", "target-success", "0.96",
     {"'0.96'", "from 0.05 to 0.95"}},
    {ENV, "BT_TARGET_SUCCESS", "target-success", "nan", {"'nan'", "number"}},
    {ENV, "BT_TARGET_SUCCESS", "target-success", "inf", {"'inf'", "number"}},
    {ENV, "BT_TARGET_SUCCESS", "target-success", "", {"''", "number"}},
    {ENV, "BT_LLM_TEMPERATURE", "llm-temperature", "2.5",
     {"'2.5'", "from 0 to 2"}},
    {ARGV, "BT_LLM_TEMPERATURE", "llm-temperature", "-0.1",
     {"'-0.1'", "from 0 to 2"}},
    {ENV, "BT_LLM_TEMPERATURE", "llm-temperature", "0.5x", {"'0.5x'", "number"}},
    /* booleans */
    {ENV, "BT_TRAINER", "trainer", "2", {"'2'", "1 or 0"}},
    {ARGV, "BT_TRAINER", "trainer", "yes", {"'yes'", "1 or 0"}},
    {DOTENV, "BT_TRAINER", "trainer", "", {"''", "1 or 0"}},
    /* enumerations */
    {ENV, "BT_SANDBOX", "sandbox", "docker", {"'docker'", "bubblewrap|none"}},
    {ARGV, "BT_SANDBOX", "sandbox", "bubble", {"'bubble'", "bubblewrap|none"}},
    {DOTENV, "BT_SANDBOX", "sandbox", "NONE", {"'NONE'", "bubblewrap|none"}},
    {ENV, "BT_SANDBOX", "sandbox", "bubblewrap|none",
     {"'bubblewrap|none'", "not one of"}},
    /* the data directory may not be empty */
    {ENV, "BT_DATA", "data", "", {"data directory", "empty"}},
    {ARGV, "BT_DATA", "data", "", {"data directory", "empty"}},
    {DOTENV, "BT_DATA", "data", "", {"data directory", "empty"}},
};

static void test_validation_names_setting_and_source(void **state)
{
    struct fixture *fx = *state;

    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *b = &bad_cases[i];
        char src[256], opt[128];
        int rc = 0;

        switch (b->src) {
        case ENV:
            set_env(b->env, b->val);
            rc = LOAD(fx, NULL, "/mnt");
            assert_int_equal(unsetenv(b->env), 0);
            snprintf(src, sizeof src, "%s in the environment", b->env);
            break;
        case DOTENV: {
            char text[256];
            snprintf(text, sizeof text, "# header\n\n%s=%s\n", b->env, b->val);
            rc = LOAD(fx, write_env(fx, text), "/mnt");
            snprintf(src, sizeof src, "%s in %s line 3", b->env, fx->env_path);
            break;
        }
        case ARGV:
            snprintf(opt, sizeof opt, "--%s=%s", b->opt, b->val);
            rc = LOAD(fx, NULL, opt, "/mnt");
            snprintf(src, sizeof src, "option --%s", b->opt);
            break;
        }
        if (rc != -EINVAL)
            fail_msg("case %zu (%s='%s'): rc %d, wanted -EINVAL", i, b->env,
                     b->val, rc);
        assert_err_has(fx, src);
        for (size_t k = 0; k < 2 && b->want[k]; k++)
            assert_err_has(fx, b->want[k]);
    }
}

/* The limits themselves are allowed. */
static void test_validation_bounds_accepted(void **state)
{
    struct fixture *fx = *state;

    assert_int_equal(LOAD(fx, NULL, "--builders=0", "--max-attempts=1",
                          "--target-success=0.05", "--llm-temperature=0",
                          "--trainer=0", "--sandbox=none", "--llm-context=128",
                          "--sandbox-procs=4096", "/mnt"), 0);
    assert_int_equal(fx->cfg.builders, 0);
    assert_int_equal(fx->cfg.max_attempts, 1);
    assert_double_eq(fx->cfg.target_success, 0.05);
    assert_double_eq(fx->cfg.llm_temperature, 0);
    assert_int_equal(fx->cfg.trainer, 0);
    assert_string_equal(fx->cfg.sandbox, "none");
    assert_int_equal(fx->cfg.llm_context, 128);
    assert_int_equal(fx->cfg.sandbox_procs, 4096);

    assert_int_equal(LOAD(fx, NULL, "--builders=64", "--max-attempts=20",
                          "--target-success=0.95", "--llm-temperature=2",
                          "--llm-context=1048576", "/mnt"), 0);
    assert_int_equal(fx->cfg.builders, 64);
    assert_int_equal(fx->cfg.max_attempts, 20);
    assert_double_eq(fx->cfg.target_success, 0.95);
    assert_double_eq(fx->cfg.llm_temperature, 2);
    assert_int_equal(fx->cfg.llm_context, 1048576);
}

/* BT_LLM_CONTEXT: 0 learns it from the server; a set value is at least
 * 128, so that it can match a small server but not nonsense. */
static void test_validation_llm_context(void **state)
{
    struct fixture *fx = *state;

    assert_int_equal(LOAD(fx, NULL, "--llm-context=127", "/mnt"), -EINVAL);
    assert_err_has(fx, "BT_LLM_CONTEXT (127)");
    assert_err_has(fx, "at least 128");
    assert_int_equal(LOAD(fx, NULL, "--llm-context=1", "/mnt"), -EINVAL);
    assert_int_equal(LOAD(fx, NULL, "--llm-context=0", "/mnt"), 0);
    assert_int_equal(fx->cfg.llm_context, 0);
    assert_int_equal(LOAD(fx, NULL, "--llm-context=256", "/mnt"), 0);
    assert_int_equal(fx->cfg.llm_context, 256);
}

static void test_validation_sandbox_timeout_cap(void **state)
{
    struct fixture *fx = *state;

    /* over the default cap of 60 */
    set_env("BT_SANDBOX_TIMEOUT_S", "61");
    assert_int_equal(LOAD(fx, NULL, "/mnt"), -EINVAL);
    assert_err_has(fx, "BT_SANDBOX_TIMEOUT_S (61)");
    assert_err_has(fx, "BT_SANDBOX_MAX_TIMEOUT_S (60)");

    /* a raised cap makes it fine; equal is fine */
    assert_int_equal(LOAD(fx, NULL, "--sandbox-max-timeout=61", "/mnt"), 0);
    assert_int_equal(fx->cfg.sandbox_timeout_s, 61);
    assert_int_equal(fx->cfg.sandbox_max_timeout_s, 61);
    assert_int_equal(unsetenv("BT_SANDBOX_TIMEOUT_S"), 0);

    /* a cap lowered below the default timeout of 10 */
    assert_int_equal(LOAD(fx, NULL, "--sandbox-max-timeout=5", "/mnt"),
                     -EINVAL);
    assert_err_has(fx, "BT_SANDBOX_TIMEOUT_S (10)");
    assert_err_has(fx, "BT_SANDBOX_MAX_TIMEOUT_S (5)");
}

static void test_validation_llm_idle_over_total(void **state)
{
    struct fixture *fx = *state;

    assert_int_equal(LOAD(fx, NULL, "--llm-idle-timeout=1000", "/mnt"),
                     -EINVAL);
    assert_err_has(fx, "BT_LLM_IDLE_TIMEOUT_S (1000)");
    assert_err_has(fx, "BT_LLM_TOTAL_TIMEOUT_S (900)");

    assert_int_equal(LOAD(fx, NULL, "--llm-idle-timeout=900", "/mnt"), 0);
    assert_int_equal(fx->cfg.llm_idle_timeout_s, 900);
}

/* ---- argv ------------------------------------------------------------- */

static void test_argv_foreground_debug(void **state)
{
    struct fixture *fx = *state;

    assert_int_equal(LOAD(fx, NULL, "-f", "/mnt"), 0);
    assert_int_equal(fx->cfg.foreground, 1);
    assert_int_equal(fx->cfg.debug, 0);

    assert_int_equal(LOAD(fx, NULL, "-d", "/mnt"), 0);
    assert_int_equal(fx->cfg.foreground, 1);
    assert_int_equal(fx->cfg.debug, 1);

    /* options may follow the mount point (GNU argument permutation) */
    assert_int_equal(LOAD(fx, NULL, "/mnt/x", "-f"), 0);
    assert_string_equal(fx->cfg.mountpoint, "/mnt/x");
    assert_int_equal(fx->cfg.foreground, 1);
    assert_int_equal(fx->cfg.debug, 0);

    /* clustered short options */
    assert_int_equal(LOAD(fx, NULL, "-fd", "/mnt"), 0);
    assert_int_equal(fx->cfg.debug, 1);
}

static void test_argv_fuse_opts_accumulate(void **state)
{
    struct fixture *fx = *state;

    assert_int_equal(LOAD(fx, NULL, "-o", "allow_other", "/mnt"), 0);
    assert_string_equal(fx->cfg.fuse_opts, "allow_other");

    assert_int_equal(LOAD(fx, NULL, "-o", "allow_other", "/mnt",
                          "-oro,noatime", "-o", "default_permissions"), 0);
    assert_string_equal(fx->cfg.fuse_opts,
                        "allow_other,ro,noatime,default_permissions");
    assert_string_equal(fx->cfg.mountpoint, "/mnt");
}

static void test_argv_mountpoint_errors(void **state)
{
    struct fixture *fx = *state;

    assert_int_equal(LOAD(fx, NULL, NULL), -EINVAL);
    assert_err_has(fx, "missing MOUNTPOINT");

    assert_int_equal(LOAD(fx, NULL, "-f", "--builders=2"), -EINVAL);
    assert_err_has(fx, "missing MOUNTPOINT");

    assert_int_equal(LOAD(fx, NULL, "/mnt/a", "/mnt/b"), -EINVAL);
    assert_err_has(fx, "'/mnt/b'");

    /* "--" ends the options: a mount point may start with '-' */
    assert_int_equal(LOAD(fx, NULL, "-f", "--", "-odd"), 0);
    assert_string_equal(fx->cfg.mountpoint, "-odd");
    assert_null(fx->cfg.fuse_opts);
}

static void test_argv_unknown_option(void **state)
{
    struct fixture *fx = *state;

    assert_int_equal(LOAD(fx, NULL, "--bogus", "/mnt"), -EINVAL);
    assert_err_has(fx, "unknown option");
    assert_err_has(fx, "--bogus");

    assert_int_equal(LOAD(fx, NULL, "-x", "/mnt"), -EINVAL);
    assert_err_has(fx, "unknown option");
    assert_err_has(fx, "-x");

    /* settings are options only in their long form */
    assert_int_equal(LOAD(fx, NULL, "--BT_BUILDERS=2", "/mnt"), -EINVAL);
    assert_err_has(fx, "unknown option");
}

static void test_argv_missing_value(void **state)
{
    struct fixture *fx = *state;

    assert_int_equal(LOAD(fx, NULL, "/mnt", "--builders"), -EINVAL);
    assert_err_has(fx, "--builders");
    assert_err_has(fx, "needs a value");

    assert_int_equal(LOAD(fx, NULL, "/mnt", "-o"), -EINVAL);
    assert_err_has(fx, "-o");
    assert_err_has(fx, "needs a value");
}

static void test_argv_actions(void **state)
{
    static const struct {
        const char *arg;
        enum config_action action;
    } cases[] = {
        {"--help", CONFIG_HELP},
        {"-h", CONFIG_HELP},
        {"--version", CONFIG_VERSION},
        {"-V", CONFIG_VERSION},
        {"--env-example", CONFIG_ENV_EXAMPLE},
    };
    struct fixture *fx = *state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* no mount point needed */
        if (LOAD(fx, NULL, cases[i].arg) != 0)
            fail_msg("%s: %s", cases[i].arg, fx->err);
        assert_int_equal(fx->action, cases[i].action);

        /* and an invalid setting before it does not get in the way */
        set_env("BT_BUILDERS", "many");
        if (LOAD(fx, NULL, "--trainer=7", cases[i].arg, "/a", "/b") != 0)
            fail_msg("%s with bad settings: %s", cases[i].arg, fx->err);
        assert_int_equal(fx->action, cases[i].action);
        assert_int_equal(unsetenv("BT_BUILDERS"), 0);
    }

    /* a plain run says so */
    assert_int_equal(LOAD(fx, NULL, "/mnt"), 0);
    assert_int_equal(fx->action, CONFIG_RUN);
}

/* ---- config.json ------------------------------------------------------ */

static const char *const json_keys[] = {
    "data", "llm_url", "llm_model", "llm_api_key", "llm_api_key_file",
    "llm_connect_timeout_s",
    "llm_idle_timeout_s", "llm_total_timeout_s", "llm_context", "llm_slots",
    "trainer_llm_url", "trainer_llm_model", "trainer_llm_api_key",
    "llm_max_tokens", "llm_temperature", "builders", "trainer",
    "seed", "max_attempts", "target_success", "score_weights", "sandbox",
    "sandbox_bwrap",
    "sandbox_timeout_s",
    "sandbox_max_timeout_s", "sandbox_memory_mb", "sandbox_cpu_s",
    "sandbox_procs", "sandbox_file_mb", "sandbox_output_kb",
    "group", "log_keep", "analyses_keep",
};

static void test_json_contents(void **state)
{
    struct fixture *fx = *state;
    const size_t nkeys = sizeof json_keys / sizeof json_keys[0];
    cJSON *o, *it;
    char *text;

    assert_int_equal(LOAD(fx, NULL, "--builders=5", "--trainer=0",
                          "--llm-url=http://x:9/v1", "/mnt/j"), 0);
    text = config_to_json(&fx->cfg);
    assert_non_null(text);
    o = cJSON_Parse(text);
    if (!o)
        fail_msg("config_to_json is not JSON:\n%s", text);
    assert_true(cJSON_IsObject(o));

    it = cJSON_GetObjectItemCaseSensitive(o, "mountpoint");
    assert_true(cJSON_IsString(it));
    assert_string_equal(it->valuestring, "/mnt/j");
    for (size_t i = 0; i < nkeys; i++)
        if (!cJSON_GetObjectItemCaseSensitive(o, json_keys[i]))
            fail_msg("config.json lacks \"%s\":\n%s", json_keys[i], text);
    /* nothing else: every member is the mount point or a setting */
    assert_int_equal(cJSON_GetArraySize(o), (int)nkeys + 1);

    it = cJSON_GetObjectItemCaseSensitive(o, "llm_url");
    assert_true(cJSON_IsString(it));
    assert_string_equal(it->valuestring, "http://x:9/v1");
    it = cJSON_GetObjectItemCaseSensitive(o, "data");
    assert_string_equal(cJSON_GetStringValue(it), "./data");
    it = cJSON_GetObjectItemCaseSensitive(o, "sandbox");
    assert_string_equal(cJSON_GetStringValue(it), "bubblewrap");
    it = cJSON_GetObjectItemCaseSensitive(o, "builders");
    assert_true(cJSON_IsNumber(it));
    assert_int_equal(it->valueint, 5);
    it = cJSON_GetObjectItemCaseSensitive(o, "trainer");
    assert_true(cJSON_IsBool(it));
    assert_true(cJSON_IsFalse(it));
    it = cJSON_GetObjectItemCaseSensitive(o, "target_success");
    assert_true(cJSON_IsNumber(it));
    assert_double_eq(it->valuedouble, 0.75);
    it = cJSON_GetObjectItemCaseSensitive(o, "sandbox_output_kb");
    assert_int_equal(it->valueint, 256);
    /* no key set: null, not an empty string and not "(redacted)" */
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o,
                                                              "llm_api_key")));
    cJSON_Delete(o);
    free(text);
}

static void assert_key_redacted(struct fixture *fx, const char *secret)
{
    char *text = config_to_json(&fx->cfg);
    cJSON *o, *it;

    assert_non_null(text);
    if (strstr(text, secret))
        fail_msg("config.json shows the API key:\n%s", text);
    o = cJSON_Parse(text);
    assert_non_null(o);
    it = cJSON_GetObjectItemCaseSensitive(o, "llm_api_key");
    assert_true(cJSON_IsString(it));
    assert_string_equal(it->valuestring, "(redacted)");
    cJSON_Delete(o);
    free(text);
}

/* The Trainer's own key is a secret too; its URL and model are shown. */
static void test_json_redacts_trainer_key(void **state)
{
    struct fixture *fx = *state;
    char *text;
    cJSON *o;

    assert_int_equal(LOAD(fx, NULL, "--trainer-llm-api-key=tk-Qw77secret",
                          "--trainer-llm-url=http://teacher:8080/v1",
                          "/mnt"), 0);
    text = config_to_json(&fx->cfg);
    assert_non_null(text);
    if (strstr(text, "Qw77"))
        fail_msg("config.json shows the Trainer's API key:\n%s", text);
    o = cJSON_Parse(text);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(
                            o, "trainer_llm_api_key")->valuestring,
                        "(redacted)");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(
                            o, "trainer_llm_url")->valuestring,
                        "http://teacher:8080/v1");
    cJSON_Delete(o);
    free(text);
}

static void test_json_redacts_api_key(void **state)
{
    struct fixture *fx = *state;
    /* distinctive enough not to occur in JSON by chance */
    const char *secret = "sk-Zq81secretVALUE";

    set_env("BT_LLM_API_KEY", secret);
    assert_int_equal(LOAD(fx, NULL, "/mnt"), 0);
    assert_string_equal(fx->cfg.llm_api_key, secret);
    assert_key_redacted(fx, "Zq81");
    assert_int_equal(unsetenv("BT_LLM_API_KEY"), 0);

    write_env(fx, "BT_LLM_API_KEY='sk-Zq81secretVALUE'\n");
    assert_int_equal(LOAD(fx, fx->env_path, "/mnt"), 0);
    assert_key_redacted(fx, "Zq81");

    assert_int_equal(LOAD(fx, NULL, "--llm-api-key=sk-Zq81secretVALUE",
                          "/mnt"), 0);
    assert_key_redacted(fx, "Zq81");

    /* a one-character key must not leak either */
    assert_int_equal(LOAD(fx, NULL, "--llm-api-key=@", "/mnt"), 0);
    assert_key_redacted(fx, "@");

    /* set but empty counts as not set */
    set_env("BT_LLM_API_KEY", "");
    assert_int_equal(LOAD(fx, NULL, "/mnt"), 0);
    {
        char *text = config_to_json(&fx->cfg);
        cJSON *o = cJSON_Parse(text);

        assert_non_null(o);
        assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(
            o, "llm_api_key")));
        cJSON_Delete(o);
        free(text);
    }
}

/* Credentials in a URL never reach config.json; the rest of it does. */
static void test_json_redacts_url_credentials(void **state)
{
    struct fixture *fx = *state;
    char *text;
    cJSON *o;

    assert_int_equal(LOAD(fx, NULL, "--llm-url=http://admin:Pw9xyz@llm.lan:"
                          "8080/v1?api_key=K3yVal&x=1", "/mnt"), 0);
    /* the client gets the real URL */
    assert_non_null(strstr(fx->cfg.llm_url, "Pw9xyz"));
    text = config_to_json(&fx->cfg);
    assert_non_null(text);
    if (strstr(text, "Pw9xyz") || strstr(text, "admin") ||
        strstr(text, "K3yVal"))
        fail_msg("config.json shows a credential:\n%s", text);
    o = cJSON_Parse(text);
    assert_non_null(o);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                            o, "llm_url")),
                        "http://***@llm.lan:8080/v1?api_key=***&x=1");
    cJSON_Delete(o);
    free(text);
}

/* A URL the LLM client cannot take stops start-up naming the setting,
 * and the message shows it without its credentials, with a scheme or
 * without one (curl takes "user:pw@host/v1"). */
static void test_bad_url_refused_masked(void **state)
{
    struct fixture *fx = *state;
    static const char *const bad[] = {
        "--llm-url=admin:Pw9xyz@llm.lan:8080/v1",
        "--llm-url=http//admin:Pw9xyz@llm.lan/v1",
        "--llm-url=ftp://admin:Pw9xyz@llm.lan/v1",
        "--llm-url=http://a/v1,admin:Pw9xyz@llm.lan/v1",
        "--trainer-llm-url=admin:Pw9xyz@llm.lan/v1",
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(LOAD(fx, NULL, bad[i], "/mnt"), -EINVAL);
        assert_err_has(fx, i < 4 ? "option --llm-url: " :
                                   "option --trainer-llm-url: ");
        assert_err_has(fx, "***@llm.lan");
        assert_err_has(fx, "is not an http:// or https:// URL");
        if (strstr(fx->err, "Pw9xyz") || strstr(fx->err, "admin"))
            fail_msg("%s: the message shows a credential: %s", bad[i],
                     fx->err);
    }
    assert_int_equal(LOAD(fx, NULL, "--llm-url=http://a/v1, ,http://b/v1",
                          "/mnt"), -EINVAL);
    assert_err_has(fx, "holds an empty URL");
    /* The client takes lower-case schemes only (llm_create); good lists
     * load (the control). */
    assert_int_equal(LOAD(fx, NULL, "--llm-url=http://a/v1, https://u:p@b/v1",
                          "--trainer-llm-url=HTTPS://t/v1", "/mnt"), -EINVAL);
    assert_int_equal(LOAD(fx, NULL, "--llm-url=http://a/v1, https://u:p@b/v1",
                          "--trainer-llm-url=https://t/v1", "/mnt"), 0);
}

/* BT_LLM_API_KEY_FILE: the key is read from the file, trimmed, and never
 * shown; the file's path is. */
static void test_key_file(void **state)
{
    struct fixture *fx = *state;
    char path[192], arg[256];
    char *text;

    snprintf(path, sizeof path, "%s/key", fx->dir);
    write_file(path, "sk-FromFile77\n");
    chmod(path, 0600);
    snprintf(arg, sizeof arg, "--llm-api-key-file=%s", path);
    assert_int_equal(LOAD(fx, NULL, arg, "/mnt"), 0);
    assert_string_equal(fx->cfg.llm_api_key, "sk-FromFile77");
    assert_string_equal(fx->cfg.llm_api_key_file, path);
    text = config_to_json(&fx->cfg);
    assert_non_null(text);
    assert_null(strstr(text, "FromFile77"));
    assert_non_null(strstr(text, "(redacted)"));
    assert_non_null(strstr(text, path));
    free(text);

    /* the environment variable works the same */
    set_env("BT_LLM_API_KEY_FILE", path);
    assert_int_equal(LOAD(fx, NULL, "/mnt"), 0);
    assert_string_equal(fx->cfg.llm_api_key, "sk-FromFile77");

    /* a key given twice is refused, naming both */
    set_env("BT_LLM_API_KEY", "sk-other");
    assert_int_equal(LOAD(fx, NULL, "/mnt"), -EINVAL);
    assert_err_has(fx, "BT_LLM_API_KEY in the environment");
    assert_err_has(fx, "BT_LLM_API_KEY_FILE in the environment");
    assert_int_equal(unsetenv("BT_LLM_API_KEY"), 0);

    /* empty, two lines, missing: each refused by name */
    write_file(path, " \n\n");
    assert_int_equal(LOAD(fx, NULL, "/mnt"), -EINVAL);
    assert_err_has(fx, "is empty");
    write_file(path, "sk-one\nsk-two\n");
    assert_int_equal(LOAD(fx, NULL, "/mnt"), -EINVAL);
    assert_err_has(fx, "on one line");
    assert_int_equal(unlink(path), 0);
    assert_int_equal(LOAD(fx, NULL, "/mnt"), -EINVAL);
    assert_err_has(fx, "BT_LLM_API_KEY_FILE in the environment: cannot read "
                       "the key file");
    assert_err_has(fx, "No such file");
}

/* A value with a newline (a double-quoted "\n" in .env) is quoted in the
 * message, which must stay one line. Found by tests/fuzz/fuzz_env. */
static void test_regression_message_one_line(void **state)
{
    struct fixture *fx = *state;

    write_env(fx, "BT_SANDBOX=\"a\\nb\"\n");
    assert_int_equal(LOAD(fx, fx->env_path, "/mnt"), -EINVAL);
    assert_err_has(fx, "'a b' is not one of bubblewrap|none");
    assert_null(strchr(fx->err, '\n'));
}

/* ---- usage and .env.example ------------------------------------------- */

static char *capture_usage(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    assert_non_null(f);
    config_usage("btfs-test", f);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static void test_usage_lists_every_setting(void **state)
{
    char *text = capture_usage();

    assert_non_null(strstr(text, "usage: btfs-test"));
    assert_non_null(strstr(text, "MOUNTPOINT"));
    for (size_t i = 0; i < NMAPPINGS; i++) {
        char opt[128];

        snprintf(opt, sizeof opt, "--%s=", mappings[i].opt);
        if (!strstr(text, opt) || !strstr(text, mappings[i].env))
            fail_msg("usage lacks %s / %s", opt, mappings[i].env);
    }
    /* defaults are shown */
    assert_non_null(strstr(text, "deepseek-coder-7b-instruct"));
    assert_non_null(strstr(text, "http://localhost:1234/v1"));
    free(text);
}

/* .env.example names every variable and, read back as a .env, gives the
 * defaults: it cannot drift from the table. */
static void test_env_example_round_trip(void **state)
{
    struct fixture *fx = *state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    assert_non_null(f);
    config_print_env_example(f);
    assert_int_equal(fclose(f), 0);
    for (size_t i = 0; i < NMAPPINGS; i++)
        if (!strstr(buf, mappings[i].env))
            fail_msg(".env.example lacks %s", mappings[i].env);
    /* the secret is there only as a commented-out line */
    assert_non_null(strstr(buf, "# BT_LLM_API_KEY="));
    /* docker compose reads the same .env: a BT_LLM_URL there would point
     * the container at itself instead of the host */
    assert_non_null(strstr(buf, "\n# BT_LLM_URL=http://localhost:1234/v1\n"));
    assert_null(strstr(buf, "\nBT_LLM_URL="));

    write_env(fx, buf);
    free(buf);
    if (LOAD(fx, fx->env_path, "/mnt") != 0)
        fail_msg(".env.example does not load: %s", fx->err);
    assert_defaults(&fx->cfg);
}

/* ---- config_free ------------------------------------------------------ */

static void test_free_zeroed_and_twice(void **state)
{
    struct fixture *fx = *state;
    struct config zero;

    memset(&zero, 0, sizeof zero);
    config_free(&zero);
    config_free(&zero);

    /* after a full load, and again: pointers are cleared */
    assert_int_equal(LOAD(fx, NULL, "-o", "ro", "/mnt"), 0);
    config_free(&fx->cfg);
    assert_null(fx->cfg.mountpoint);
    assert_null(fx->cfg.fuse_opts);
    assert_null(fx->cfg.data_dir);
    assert_null(fx->cfg.llm_api_key);
    assert_null(fx->cfg.sandbox);
    config_free(&fx->cfg);

    /* after failed loads, half filled in (ASan reports any leak) */
    assert_int_equal(LOAD(fx, NULL, "-o", "ro", "--sandbox=x", "/mnt"),
                     -EINVAL);
    config_free(&fx->cfg);
    assert_int_equal(LOAD(fx, NULL, "-o", "ro", "/a", "/b"), -EINVAL);
    config_free(&fx->cfg);
}

/* ---- regressions ---------------------------------------------------- */

/* With 'optind = 1' glibc kept its pointer into the rest of a cluster, so
 * the next config_load went on parsing the previous argv: the stale 'd'
 * turned on debug and consumed the mount point. */
static void test_regression_getopt_state(void **state)
{
    struct fixture *fx = *state;
    /* the first argv outlives both calls, so a failure is an assertion and
     * not a use-after-free */
    char a0[] = "btfs", a1[] = "-hd";
    char *argv[] = {a0, a1, NULL};
    char b0[] = "btfs", b1[] = "/mnt";
    char *argv2[] = {b0, b1, NULL};
    enum config_action action;
    struct config first;

    assert_int_equal(config_load(&first, 2, argv, NULL, &action, fx->err,
                                 sizeof fx->err), 0);
    assert_int_equal(action, CONFIG_HELP);
    config_free(&first);

    /* not LOAD(): it resets getopt, which is the point here */
    if (config_load(&fx->cfg, 2, argv2, NULL, &action, fx->err,
                    sizeof fx->err) != 0)
        fail_msg("second config_load failed: %s", fx->err);
    assert_string_equal(fx->cfg.mountpoint, "/mnt");
    assert_int_equal(fx->cfg.debug, 0);
    assert_int_equal(fx->cfg.foreground, 0);
}

/* The source text lived in a char[96]: a long .env path cut the line
 * number (and the path) out of the message. */
static void test_regression_long_env_path(void **state)
{
    struct fixture *fx = *state;
    char dir[256], path[300];

    snprintf(dir, sizeof dir, "%s/%s", fx->dir,
             "a-rather-long-directory-name-for-a-deployment-checkout-of-btfs");
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/.env", dir);
    write_file(path, "# settings\nBT_SANDBOX_MAX_TIMEOUT_S=0\n");
    assert_int_equal(LOAD(fx, path, "/mnt"), -EINVAL);
    assert_err_has(fx, path);
    assert_err_has(fx, "line 2");
}

/* "--help=x" was reported as "unknown option -h", an option the user did
 * not type. */
static void test_regression_value_to_flag(void **state)
{
    struct fixture *fx = *state;

    assert_int_equal(LOAD(fx, NULL, "--help=x", "/mnt"), -EINVAL);
    assert_err_has(fx, "--help");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_defaults),
        T(test_defaults_missing_env_file),
        T(test_defaults_empty_env_file),
        T(test_precedence_every_setting),
        T(test_precedence_mixed_keys),
        T(test_precedence_overridden_bad_value),
        T(test_precedence_last_wins),
        T(test_env_file_syntax),
        T(test_env_file_quoted_empty_and_equals),
        T(test_env_file_unknown_key),
        T(test_env_file_missing_equals),
        T(test_env_file_unterminated_quote),
        T(test_environment_unknown_is_not_fatal),
        T(test_validation_names_setting_and_source),
        T(test_validation_bounds_accepted),
        T(test_validation_sandbox_timeout_cap),
        T(test_validation_llm_context),
        T(test_json_redacts_trainer_key),
        T(test_validation_llm_idle_over_total),
        T(test_argv_foreground_debug),
        T(test_argv_fuse_opts_accumulate),
        T(test_argv_mountpoint_errors),
        T(test_argv_unknown_option),
        T(test_argv_missing_value),
        T(test_argv_actions),
        T(test_json_contents),
        T(test_json_redacts_api_key),
        T(test_json_redacts_url_credentials),
    T(test_bad_url_refused_masked),
        T(test_key_file),
        T(test_regression_message_one_line),
        T(test_usage_lists_every_setting),
        T(test_env_example_round_trip),
        T(test_free_zeroed_and_twice),
        T(test_regression_getopt_state),
        T(test_regression_long_env_path),
        T(test_regression_value_to_flag),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
