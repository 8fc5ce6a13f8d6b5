/* fakellm_main.c -- the fake OpenAI-compatible server as a program.
 *
 *   fakellm [--port N] [--rules FILE.json] [--port-file F]
 *
 * Listens on 127.0.0.1 (port N, else an ephemeral one), loads the rules in
 * FILE.json (one rule or an array, as POST /fake/rules takes them), writes
 * the port to F (atomically) and to stdout, and serves until SIGTERM or
 * SIGINT, when it stops cleanly and exits 0. Shell tests script it over
 * HTTP: curl -d @rules.json http://127.0.0.1:$PORT/fake/rules
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakellm.h"

static void usage(FILE *to)
{
    fprintf(to, "usage: fakellm [--port N] [--rules FILE.json] "
                "[--port-file F]\n");
}

/* Reads a whole file into a malloc'd NUL-terminated string, or NULL with
 * errno set. */
static char *read_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    char *s = NULL, *p;
    size_t len = 0, cap = 0, n;
    int saved;

    if (!fp)
        return NULL;
    for (;;) {
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 8192;
            p = realloc(s, cap);
            if (!p) {
                errno = ENOMEM;
                goto fail;
            }
            s = p;
        }
        n = fread(s + len, 1, cap - len - 1, fp);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(fp)) {
        errno = EIO;
        goto fail;
    }
    fclose(fp);
    s[len] = '\0';
    return s;
fail:
    saved = errno;
    fclose(fp);
    free(s);
    errno = saved;
    return NULL;
}

/* Writes "PORT\n" to path through a temporary file and rename(), so a
 * shell test polling for the file never reads it half-written. */
static int write_port_file(const char *path, int port)
{
    char *tmp = NULL;
    FILE *fp;
    int rc = 0;

    if (asprintf(&tmp, "%s.tmp.%ld", path, (long)getpid()) < 0)
        return -ENOMEM;
    fp = fopen(tmp, "w");
    if (!fp) {
        rc = -errno;
        goto out;
    }
    if (fprintf(fp, "%d\n", port) < 0)
        rc = -EIO;
    if (fclose(fp) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp);
out:
    free(tmp);
    return rc;
}

int main(int argc, char **argv)
{
    const char *rules_path = NULL, *port_file = NULL;
    struct fakellm *f = NULL;
    sigset_t set;
    long port = 0;
    int i, rc, sig;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            usage(stderr);
            return 2;
        }
        if (strcmp(a, "--port") == 0) {
            char *end;

            errno = 0;
            port = strtol(argv[++i], &end, 10);
            if (errno || *end || end == argv[i] || port < 0 || port > 65535) {
                fprintf(stderr, "fakellm: bad port '%s'\n", argv[i]);
                return 2;
            }
        } else if (strcmp(a, "--rules") == 0) {
            rules_path = argv[++i];
        } else if (strcmp(a, "--port-file") == 0) {
            port_file = argv[++i];
        } else {
            usage(stderr);
            return 2;
        }
    }

    /* Blocked before any thread starts, so the server's threads inherit
     * the mask and sigwait() below is the only place the signals land. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if ((rc = pthread_sigmask(SIG_BLOCK, &set, NULL)) != 0) {
        fprintf(stderr, "fakellm: pthread_sigmask: %s\n", strerror(rc));
        return 1;
    }
    rc = fakellm_start_port((int)port, &f);
    if (rc < 0) {
        fprintf(stderr, "fakellm: cannot listen on 127.0.0.1:%ld: %s\n",
                port, strerror(-rc));
        return 1;
    }
    if (rules_path) {
        char *json = read_file(rules_path);

        if (!json) {
            fprintf(stderr, "fakellm: %s: %s\n", rules_path, strerror(errno));
            goto fail;
        }
        rc = fakellm_add_json(f, json);
        free(json);
        if (rc < 0) {
            fprintf(stderr, "fakellm: %s: %s\n", rules_path,
                    rc == -EINVAL ? "not a valid rule or array of rules"
                                  : strerror(-rc));
            goto fail;
        }
    }
    if (port_file && (rc = write_port_file(port_file, fakellm_port(f))) < 0) {
        fprintf(stderr, "fakellm: %s: %s\n", port_file, strerror(-rc));
        goto fail;
    }
    printf("%d\n", fakellm_port(f));
    fflush(stdout);

    do {
        rc = sigwait(&set, &sig);
    } while (rc == EINTR);
    fakellm_stop(f);
    return 0;
fail:
    fakellm_stop(f);
    return 1;
}
