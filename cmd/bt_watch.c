/* bt_watch.c -- bt watch: the running btfs at a glance, refreshed every
 * second.
 *
 * Each refresh reads status.json, the profile, the score log and the
 * Trainer's log, and shows what it can: a document missing or being
 * rewritten costs its lines, never the screen.
 */
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bt.h"
#include "bt_err.h"
#include "bt_mount.h"
#include "bt_render.h"
#include "bt_tasks.h"
#include "util/clock.h"

#define WATCH_RESULTS 5         /* last results shown by watch           */

/* One refresh's worth of what the tree says. */
struct view {
    cJSON *status, *profile, *scores, *trainer;
    int status_err;
};

static void view_free(struct view *v)
{
    cJSON_Delete(v->status);
    cJSON_Delete(v->profile);
    cJSON_Delete(v->scores);
    cJSON_Delete(v->trainer);
    memset(v, 0, sizeof *v);
}

static void view_load(const struct ctx *c, struct view *v)
{
    int err = 0;

    memset(v, 0, sizeof *v);
    v->status = bt_mount_parse(c, "status.json", &v->status_err);
    v->profile = bt_mount_parse(c, "core/builder_profile.json", &err);
    v->scores = bt_mount_parse(c, "core/score_log.json", &err);
    v->trainer = bt_mount_parse(c, "advanced/trainer_log.json", &err);
}

/* The Trainer's last decision, in a few words. */
static void trainer_last(const struct view *v, char *buf, size_t size)
{
    const cJSON *e = bt_jget(v->trainer, "entries");
    int n = cJSON_IsArray(e) ? cJSON_GetArraySize(e) : 0;
    const cJSON *last = n ? cJSON_GetArrayItem(e, n - 1) : NULL;

    if (!last) {
        snprintf(buf, size, "-");
        return;
    }
    snprintf(buf, size, "%s %s for %s at difficulty %.2f (%s)",
             bt_jstr(last, "at", bt_jstr(last, "time", "")),
             bt_jstr(last, "task", "no task"), bt_jstr(last, "skill", "?"),
             bt_jnum_or(last, "difficulty", NAN),
             bt_jstr(last, "strategy", "?"));
}

static void llm_health(const struct view *v, char *buf, size_t size)
{
    const cJSON *llm = bt_jget(v->status, "llm");
    const cJSON *r = bt_jget(llm, "reachable");
    const char *err = bt_jstr(llm, "last_error", NULL);

    snprintf(buf, size, "%s %s: %s%s%s", bt_jstr(llm, "url", "?"),
             bt_jstr(llm, "model", "?"),
             cJSON_IsTrue(r) ? "reachable" : cJSON_IsFalse(r)
                                                 ? "unreachable"
                                                 : "not checked yet",
             err ? ", " : "", err ? err : "");
}

static void counts(const struct view *v, char *buf, size_t size)
{
    snprintf(buf, size, "%.0f passed, %.0f failed, %.0f error",
             bt_jnum_or(v->profile, "passed", 0),
             bt_jnum_or(v->profile, "failed", 0),
             bt_jnum_or(v->profile, "errors", 0));
}

/* Builder i as "#i state task: step". */
static void builder_desc(const cJSON *b, int i, char *buf, size_t size)
{
    const char *task = bt_jstr(b, "task", NULL);

    snprintf(buf, size, "#%d %s%s%s: %s", i, bt_jstr(b, "state", "?"),
             task ? " " : "", task ? task : "", bt_jstr(b, "step", "-"));
}

/* Prints s cut to 'cols' characters: a line that wrapped would push the
 * screen down and break the refresh in place. */
static void put_cut(const char *s, int cols)
{
    int n = 0;
    const char *p = s;

    while (*p && n < cols) {
        p++;
        while (((unsigned char)*p & 0xC0) == 0x80)
            p++;                /* the rest of a UTF-8 character */
        n++;
    }
    fwrite(s, 1, (size_t)(p - s), stdout);
}

static void screen(const struct view *v, int rows, int cols)
{
    char line[1024], text[1200];
    const cJSON *st = v->status, *b;
    int used = 0, i = 0;

    /* Home, then each line cleared to its end: no flicker, nothing left
     * over from a longer previous screen. */
    fputs("\033[H", stdout);
#define OUT(...) do { if (used < rows - 1) { \
                      snprintf(text, sizeof text, __VA_ARGS__); \
                      put_cut(text, cols); \
                      fputs("\033[K\n", stdout); used++; } } while (0)
    time_t now = time(NULL);
    char when[32];
    strftime(when, sizeof when, "%H:%M:%S", localtime(&now));
    OUT("bt watch -- %s -- q or Ctrl-C to quit", when);
    if (!st) {
        OUT("status.json: %s", strerror(-v->status_err));
    } else {
        const char *reason = bt_jstr(st, "reason", NULL);
        OUT("state      %s%s%s", bt_jstr(st, "state", "?"),
            reason ? ": " : "", reason ? reason : "");
        OUT("queue      %.0f queued, %.0f tasks in all",
            bt_jnum_or(st, "queue_depth", 0), bt_jnum_or(st, "tasks_total", 0));
        counts(v, line, sizeof line);
        OUT("results    %s", line);
        llm_health(v, line, sizeof line);
        OUT("llm        %s", line);
        OUT("sandbox    %s", bt_jstr(st, "sandbox", "-"));
        trainer_last(v, line, sizeof line);
        OUT("trainer    %s", line);
        OUT("%s", "builders");
        cJSON_ArrayForEach(b, bt_jget(st, "builders")) {
            builder_desc(b, i++, line, sizeof line);
            OUT("  %s", line);
        }
        if (i == 0)
            OUT("%s", "  none");
    }
    OUT("%s", "last results");
    int n = cJSON_IsArray(v->scores) ? cJSON_GetArraySize(v->scores) : 0;
    for (int k = n > WATCH_RESULTS ? n - WATCH_RESULTS : 0; k < n; k++) {
        const cJSON *e = cJSON_GetArrayItem(v->scores, k);
        OUT("  %s %-7s score %.2f  %s", bt_jstr(e, "task", "?"),
            bt_jstr(e, "status", "?"), bt_jnum_or(e, "total", NAN),
            bt_jstr(e, "at", ""));
    }
    if (n == 0)
        OUT("%s", "  none yet");
#undef OUT
    fputs("\033[J", stdout);    /* clear what is below */
    fflush(stdout);
}

/* One line: what changed is easy to see in a log of these. */
static void plain_line(const struct view *v, bool json)
{
    char when[32], llm[512], res[128], trainer[512];
    time_t now = time(NULL);
    const cJSON *st = v->status, *b;
    int i = 0;

    clock_rfc3339(now, when);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        if (!o)
            return;
        cJSON_AddStringToObject(o, "time", when);
        if (st)
            cJSON_AddItemToObject(o, "status", cJSON_Duplicate(st, 1));
        static const char *const COUNTS[] = { "passed", "failed", "errors" };
        for (size_t k = 0; k < 3; k++)
            cJSON_AddNumberToObject(o, COUNTS[k],
                                    bt_jnum_or(v->profile, COUNTS[k], 0));
        const cJSON *e = bt_jget(v->trainer, "entries");
        int n = cJSON_IsArray(e) ? cJSON_GetArraySize(e) : 0;
        if (n)
            cJSON_AddItemToObject(o, "trainer", cJSON_Duplicate(
                                      cJSON_GetArrayItem(e, n - 1), 1));
        char *s = cJSON_PrintUnformatted(o);
        if (s)
            puts(s);
        cJSON_free(s);
        cJSON_Delete(o);
        fflush(stdout);
        return;
    }
    if (!st) {
        printf("%s status.json: %s\n", when, strerror(-v->status_err));
        fflush(stdout);
        return;
    }
    counts(v, res, sizeof res);
    llm_health(v, llm, sizeof llm);
    trainer_last(v, trainer, sizeof trainer);
    printf("%s state=%s queue=%.0f results=[%s] sandbox=%s llm=[%s] "
           "trainer=[%s]", when, bt_jstr(st, "state", "?"),
           bt_jnum_or(st, "queue_depth", 0), res, bt_jstr(st, "sandbox", "-"),
           llm, trainer);
    cJSON_ArrayForEach(b, bt_jget(st, "builders")) {
        char d[256];
        builder_desc(b, i++, d, sizeof d);
        printf(" builder=[%s]", d);
    }
    putchar('\n');
    fflush(stdout);
}

/* The loop of bt watch: one screen refreshed every second on a terminal
 * (q or Ctrl-C ends it), one line a second otherwise; count > 0 stops
 * after that many refreshes. */
static int watch(const struct ctx *c, long count)
{
    bool json = c->json;
    bool tty = !json && isatty(STDOUT_FILENO);
    bool keys = tty && isatty(STDIN_FILENO);
    struct termios saved, raw;
    long done = 0;

    bt_catch_stop();
    if (keys && tcgetattr(STDIN_FILENO, &saved) == 0) {
        /* Keys without Enter, not echoed; Ctrl-C still a signal. */
        raw = saved;
        raw.c_lflag &= (tcflag_t)~(ICANON | ECHO);
        raw.c_cc[VMIN] = 0;
        raw.c_cc[VTIME] = 0;
        tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    } else {
        keys = false;
    }
    if (tty)
        fputs("\033[?1049h\033[?25l", stdout);   /* own screen, no cursor */
    while (!bt_stopped()) {
        struct view v;
        view_load(c, &v);
        if (tty) {
            struct winsize ws;
            int ok = ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0;
            int rows = ok && ws.ws_row > 2 ? ws.ws_row : 24;
            int cols = ok && ws.ws_col > 10 ? ws.ws_col : 80;
            screen(&v, rows, cols);
        } else {
            plain_line(&v, json);
        }
        view_free(&v);
        if (ferror(stdout) || (count > 0 && ++done >= count))
            break;
        /* Wait a second, or for a key. */
        struct pollfd p = { keys ? STDIN_FILENO : -1, POLLIN, 0 };
        if (poll(&p, 1, 1000) > 0 && (p.revents & POLLIN)) {
            char key;
            if (read(STDIN_FILENO, &key, 1) == 1 &&
                (key == 'q' || key == 'Q'))
                break;
        }
    }
    if (tty)
        fputs("\033[?25h\033[?1049l", stdout);
    if (keys)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    fflush(stdout);
    return ferror(stdout) ? EXIT_FAIL : 0;
}

int cmd_watch(const struct ctx *c, const struct args *a)
{
    long count = 0;

    if (a->opt[OPT_COUNT] &&
        bt_parse_long("count", a->opt[OPT_COUNT], 1, 1000000, &count))
        return bt_usage_hint();
    return watch(c, count);
}
