/* bt_status.c -- the running btfs: bt status, and bt pause / resume
 * through the control file.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bt.h"
#include "bt_err.h"
#include "bt_mount.h"
#include "bt_render.h"

/* ---- status, pause, resume --------------------------------------------------------- */

static void print_duration(const char *key, double s)
{
    long long v = (long long)s, d = v / 86400, h = v % 86400 / 3600,
              m = v % 3600 / 60, sec = v % 60;

    printf("%-14s ", key);
    if (d)
        printf("%lldd %lldh %lldm\n", d, h, m);
    else if (h)
        printf("%lldh %lldm %llds\n", h, m, sec);
    else if (m)
        printf("%lldm %llds\n", m, sec);
    else
        printf("%llds\n", sec);
}

static int status_line(const char *key, const cJSON *v)
{
    char *s;

    if (cJSON_IsBool(v))
        s = strdup(cJSON_IsTrue(v) ? "yes" : "no");
    else if (!v || cJSON_IsNull(v) ||
             (cJSON_IsString(v) && !*v->valuestring))
        s = strdup("-");
    else
        s = bt_fmt_value(v);
    if (!s)
        return bt_oom();
    printf("%-14s %s\n", key, s);
    free(s);
    return 0;
}

/* "  #0 working on task_000042: running tests (since 12s)". The task is a
 * number (0 for none) or an id string; a field may be missing. */
static int builder_line(int i, const cJSON *b)
{
    const cJSON *st = bt_jget(b, "state"), *task = bt_jget(b, "task"),
                *step = bt_jget(b, "step"), *since = bt_jget(b, "since");
    char *state = bt_fmt_value(st), *what = NULL;
    double n;
    int rc = 0;

    if (!state)
        return bt_oom();
    printf("  #%d %s", i, state);
    if (bt_jnum(task, &n) && n > 0 && n < 1e19)
        printf(" on task_%06" PRIu64, (uint64_t)n);
    else if (cJSON_IsString(task) && *task->valuestring &&
             (what = bt_clean_text(task->valuestring, true)))
        printf(" on %s", what);
    free(what);
    what = NULL;
    if (cJSON_IsString(step) && *step->valuestring) {
        if (!(what = bt_clean_text(step->valuestring, true)))
            rc = bt_oom();
        else
            printf(": %s", what);
    }
    if (bt_jnum(since, &n) && n > 0 && n < 1e15 && time(NULL) >= (time_t)n) {
        printf(" (%llds)", (long long)(time(NULL) - (time_t)n));
    } else if (!rc && cJSON_IsString(since) && *since->valuestring) {
        free(what);
        if (!(what = bt_clean_text(since->valuestring, true)))
            rc = bt_oom();
        else
            printf(" (since %s)", what);
    }
    putchar('\n');
    free(what);
    free(state);
    return rc;
}

int cmd_status(const struct ctx *c, const struct args *a)
{
    cJSON *doc;
    bool done;
    int rc = bt_mount_load_doc(c, "status.json", &doc, &done);
    const cJSON *llm, *v, *b;
    double up;

    if (rc || done)
        return rc;
    llm = bt_jget(doc, "llm");
    if (!cJSON_IsObject(llm))
        llm = doc;
    rc = status_line("state:", bt_jget(doc, "state"));
    if (!rc && (v = bt_jget(doc, "reason")) && cJSON_IsString(v))
        rc = status_line("reason:", v);
    v = bt_jget_any(doc, "uptime_s", "uptime", NULL);
    if (!rc && bt_jnum(v, &up) && up >= 0)
        print_duration("uptime:", up);
    else if (!rc)
        rc = status_line("uptime:", v);
    if (!rc)
        rc = status_line("queue depth:",
                         bt_jget_any(doc, "queue_depth", "queued", NULL));
    if (!rc)
        rc = status_line("tasks total:",
                         bt_jget_any(doc, "tasks_total", "tasks", NULL));
    if (!rc) {
        /* The counts live in the profile; a status without them is still
         * a status. */
        char *ptext = NULL;
        cJSON *prof = bt_mount_read(c, "core/builder_profile.json", &ptext,
                                    NULL) == 0 ? cJSON_Parse(ptext) : NULL;
        double np, nf, ne;
        if (bt_jnum(bt_jget(prof, "passed"), &np) &&
            bt_jnum(bt_jget(prof, "failed"), &nf) &&
            bt_jnum(bt_jget(prof, "errors"), &ne))
            printf("%-14s %.0f passed, %.0f failed, %.0f error\n",
                   "results:", np, nf, ne);
        cJSON_Delete(prof);
        free(ptext);
    }
    if (!rc)
        rc = status_line("llm url:", bt_jget_any(llm, "url", "llm_url", NULL));
    if (!rc)
        rc = status_line("llm model:",
                         bt_jget_any(llm, "model", "llm_model", NULL));
    v = bt_jget_any(llm, "reachable", "llm_reachable", NULL);
    if (!rc && !v)
        printf("%-14s %s\n", "llm reachable:", "not checked yet");
    else if (!rc)
        rc = status_line("llm reachable:", v);
    if (!rc)
        rc = status_line("llm error:",
                         bt_jget_any(llm, "last_error", "error", "llm_error",
                                     NULL));
    if (!rc && (v = bt_jget(doc, "sandbox")))
        rc = status_line("sandbox:", v);
    if (!rc && (v = bt_jget_any(doc, "agents", "agents_note", NULL)) &&
        cJSON_IsString(v) && *v->valuestring)
        rc = status_line("agents:", v);
    if (!rc && (v = bt_jget(doc, "last_error")) && llm != doc)
        rc = status_line("last error:", v);
    if (!rc && (v = bt_jget(doc, "data_dir")))
        rc = status_line("data:", v);
    if (!rc && (v = bt_jget(doc, "started_at")))
        rc = status_line("started:", v);
    b = bt_jget(doc, "builders");
    if (!rc && cJSON_IsArray(b)) {
        int i = 0;
        printf("%-14s %d\n", "builders:", cJSON_GetArraySize(b));
        cJSON_ArrayForEach(v, b)
            if ((rc = builder_line(i++, v)))
                break;
    }
    cJSON_Delete(doc);
    return rc;
}

static int control_write(const struct ctx *c, const char *word)
{
    char *path, *state = NULL;
    size_t len = strlen(word);
    int fd, rc;
    ssize_t n;

    /* No O_TRUNC: control is not a file with content to replace. */
    if ((rc = bt_mount_open(c, "control", O_WRONLY, &fd, &path)))
        return rc;
    do
        n = write(fd, word, len);
    while (n < 0 && errno == EINTR);
    if (n < 0 || (size_t)n != len) {
        bt_err("cannot %.*s: %s", (int)len - 1, word,
               n < 0 ? strerror(errno) : "short write");
        rc = EXIT_FAIL;
    }
    if (close(fd) < 0 && !rc) {
        bt_err("cannot %.*s: %s", (int)len - 1, word, strerror(errno));
        rc = EXIT_FAIL;
    }
    if (!rc) {
        int e = bt_mount_read(c, "control", &state, NULL);
        if (e) {
            bt_err("cannot read %s: %s", path, strerror(-e));
            rc = EXIT_FAIL;
        } else {
            size_t l = strlen(state);
            while (l && isspace((unsigned char)state[l - 1]))
                state[--l] = '\0';
            char *s = bt_clean_text(state, true);
            if (!s)
                rc = bt_oom();
            else if (c->json)
                rc = bt_print_json_kv("state", s);
            else
                printf("%s\n", s);
            free(s);
        }
    }
    free(state);
    free(path);
    return rc;
}

int cmd_pause(const struct ctx *c, const struct args *a)
{
    return control_write(c, "pause\n");
}

int cmd_resume(const struct ctx *c, const struct args *a)
{
    return control_write(c, "resume\n");
}

