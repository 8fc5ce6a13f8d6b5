/* config.h -- btfs configuration: defaults < .env file < BT_* environment <
 * command-line options.
 *
 * Every setting is described once, in the table in config.c; --help, the
 * validation messages, .env.example and config.json all come from it.
 */
#ifndef BT_CONFIG_H
#define BT_CONFIG_H

#include <stddef.h>
#include <stdio.h>

struct config {
    char *data_dir;              /* BT_DATA, --data                         */
    char *mountpoint;            /* the one positional argument             */
    int foreground;              /* -f                                      */
    int debug;                   /* -d: FUSE debug output, implies -f       */
    char *fuse_opts;             /* -o OPTS, passed to FUSE (may be NULL)   */

    char *llm_url;               /* BT_LLM_URL                              */
    char *llm_model;             /* BT_LLM_MODEL                            */
    char *llm_api_key;           /* BT_LLM_API_KEY (secret)                 */
    char *llm_api_key_file;      /* BT_LLM_API_KEY_FILE: the key is read
                                    from it into llm_api_key               */
    int llm_connect_timeout_s;   /* BT_LLM_CONNECT_TIMEOUT_S                */
    int llm_idle_timeout_s;      /* BT_LLM_IDLE_TIMEOUT_S                   */
    int llm_total_timeout_s;     /* BT_LLM_TOTAL_TIMEOUT_S                  */
    int llm_context;             /* BT_LLM_CONTEXT (tokens; 0: the server's) */
    int llm_slots;               /* BT_LLM_SLOTS (per endpoint, fallback)   */
    int llm_max_tokens;          /* BT_LLM_MAX_TOKENS                       */
    double llm_temperature;      /* BT_LLM_TEMPERATURE                      */

    int builders;                /* BT_BUILDERS, 0 for none                 */
    int trainer;                 /* BT_TRAINER, 1 or 0                      */
    int seed;                    /* BT_SEED, 1 or 0                         */
    int max_attempts;            /* BT_MAX_ATTEMPTS                         */
    double target_success;       /* BT_TARGET_SUCCESS                       */
    char *score_weights;         /* BT_SCORE_WEIGHTS: "name=value,..."      */

    char *sandbox;               /* BT_SANDBOX: bubblewrap | none           */
    char *sandbox_bwrap;         /* BT_SANDBOX_BWRAP                        */
    int sandbox_timeout_s;       /* BT_SANDBOX_TIMEOUT_S (default per run)  */
    int sandbox_max_timeout_s;   /* BT_SANDBOX_MAX_TIMEOUT_S (cap)          */
    int sandbox_memory_mb;       /* BT_SANDBOX_MEMORY_MB                    */
    int sandbox_cpu_s;           /* BT_SANDBOX_CPU_S                        */
    int sandbox_procs;           /* BT_SANDBOX_PROCS                        */
    int sandbox_file_mb;         /* BT_SANDBOX_FILE_MB                      */
    int sandbox_output_kb;       /* BT_SANDBOX_OUTPUT_KB                    */

    char *group;                 /* BT_GROUP: may write tasks/new, control  */
    int log_keep;                /* BT_LOG_KEEP: lines kept per log         */
    int analyses_keep;           /* BT_ANALYSES_KEEP: analyses kept         */
};

/* What config_load decided the program should do. */
enum config_action {
    CONFIG_RUN,
    CONFIG_HELP,       /* --help: usage was requested   */
    CONFIG_VERSION,    /* --version                     */
    CONFIG_ENV_EXAMPLE, /* --env-example: print .env.example */
};

/* Loads the configuration from, in rising priority: built-in defaults, the
 * file 'env_file' (KEY=VALUE lines; NULL for none; a missing file is not an
 * error), the process environment, and argv. Every value is validated.
 *
 * Returns 0 and sets *action, or -EINVAL after writing a message that names
 * the bad setting, its source and what is allowed into err. The caller frees
 * cfg with config_free() in both cases. */
int config_load(struct config *cfg, int argc, char **argv,
                const char *env_file, enum config_action *action,
                char *err, size_t errlen);

/* Frees the strings of cfg. Accepts a zeroed config. */
void config_free(struct config *cfg);

/* Prints the usage, with every option and variable and its default. */
void config_usage(const char *prog, FILE *out);

/* Renders the effective configuration as pretty JSON with secrets redacted.
 * Returns a malloc'd string, or NULL when out of memory. */
char *config_to_json(const struct config *cfg);

/* Prints .env.example (every variable, commented, with its default). */
void config_print_env_example(FILE *out);

#endif /* BT_CONFIG_H */
