/* fuzz_env.c -- libFuzzer target for the .env parser of btfs's
 * configuration (cmd/config.c), through config_load as btfs calls it.
 *
 * The input is the .env file. Invariants: it loads or is refused with
 * -EINVAL and a one-line message (or -ENOMEM); a loaded configuration
 * renders as a JSON object; loading the same file twice gives the same
 * configuration (the parser keeps no state between loads). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern char **environ;

static int fd = -1;
static char path[64];

static int load(struct config *cfg, char *err, size_t errlen, char **json)
{
    char arg0[] = "btfs", mnt[] = "/mnt";
    char *argv[] = {arg0, mnt, NULL};
    enum config_action action;
    int rc = config_load(cfg, 2, argv, path, &action, err, errlen);

    *json = rc == 0 ? config_to_json(cfg) : NULL;
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config a, b;
    char err[512] = "", err2[512] = "";
    char *ja, *jb;
    int ra, rb;

    if (fd < 0) {
        /* BT_* variables of the caller would mask the file's values. */
        for (char **e = environ; e && *e;) {
            if (strncmp(*e, "BT_", 3) == 0) {
                char name[256];
                snprintf(name, sizeof name, "%.*s",
                         (int)strcspn(*e, "="), *e);
                unsetenv(name);
            } else {
                e++;
            }
        }
        /* BT_LLM_API_KEY_FILE=/dev/stdin must not wait for a terminal. */
        int null = open("/dev/null", O_RDONLY);
        if (null < 0 || dup2(null, STDIN_FILENO) < 0)
            abort();
        close(null);
        fd = memfd_create("fuzz.env", 0);
        if (fd < 0)
            abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 ||
        pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    ra = load(&a, err, sizeof err, &ja);
    rb = load(&b, err2, sizeof err2, &jb);
    if (ra != rb || strcmp(err, err2) != 0)
        abort();
    if (ra == 0) {
        cJSON *o = ja ? cJSON_Parse(ja) : NULL;
        if (ja && (!o || !cJSON_IsObject(o)))
            abort();
        if (ja && jb && strcmp(ja, jb) != 0)
            abort();
        cJSON_Delete(o);
    } else if (ra == -EINVAL) {
        if (!err[0] || strchr(err, '\n')) {
            fprintf(stderr, "bad message: [%s]\n", err);
            abort();
        }
    } else if (ra != -ENOMEM) {
        abort();
    }
    free(ja);
    free(jb);
    config_free(&a);
    config_free(&b);
    return 0;
}
