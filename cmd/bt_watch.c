/* bt_watch.c -- bt watch, bt logs, bt cancel and get-trend's sparkline.
 *
 * Everything here is plain reads and writes under the mount, as in bt.c:
 * watch reads status.json, the profile, the score log and the Trainer's
 * log once a second; logs reads logs/system.log (or logs/events.jsonl) and,
 * with -f, keeps reading the same open file, which btfs extends as lines
 * are added; cancel writes "cancel ID..." lines to control.
 */
#include "bt_watch.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "bt_err.h"

#define EXIT_FAIL  1
#define EXIT_USAGE 2
#define WATCH_RESULTS 5         /* last results shown by watch           */
#define CANCEL_BATCH 200        /* ids per write to control              */


/* ---- Files under the mount ------------------------------------------------- */

/* Reads MOUNT/rel whole into a NUL-terminated malloc'd buffer. 0 or -errno. */
static int slurp(const char *mount, const char *rel, char **out)
{
    char *path;
    size_t len = 0, cap = 8192;
    char *buf;
    int fd;

    if (asprintf(&path, "%s/%s", mount, rel) < 0)
        return -ENOMEM;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0)
        return -errno;
    buf = malloc(cap);
    for (;;) {
        if (!buf) {
            close(fd);
            return -ENOMEM;
        }
        if (cap - len < 2) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                continue;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return -e;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    *out = buf;
    return 0;
}

/* Reads and parses MOUNT/rel; NULL (and *err set) on failure. */
static cJSON *load(const char *mount, const char *rel, int *err)
{
    char *text = NULL;
    int rc = slurp(mount, rel, &text);
    cJSON *j;

    if (rc < 0) {
        *err = rc;
        return NULL;
    }
    j = cJSON_Parse(text);
    free(text);
    if (!j)
        *err = -EBADMSG;
    return j;
}

static const cJSON *jget(const cJSON *o, const char *name)
{
    return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, name)
                             : NULL;
}

static const char *jstr(const cJSON *o, const char *name, const char *def)
{
    const cJSON *v = jget(o, name);
    return cJSON_IsString(v) && *v->valuestring ? v->valuestring : def;
}

static double jnum(const cJSON *o, const char *name, double def)
{
    const cJSON *v = jget(o, name);
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

/* "task_000042" from "task_000042", "000042" or "42"; -EINVAL otherwise. */
static int canonical_id(const char *s, char *out, size_t size)
{
    uint64_t v = 0;
    const char *p = strncmp(s, "task_", 5) == 0 ? s + 5 : s;

    if (!*p)
        return -EINVAL;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' ||
            v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            return -EINVAL;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v == 0)
        return -EINVAL;
    snprintf(out, size, "task_%06" PRIu64, v);
    return 0;
}

/* ---- sparkline --------------------------------------------------------------- */

void bt_sparkline(const char *label, const double *v, size_t n)
{
    static const char *const bars[] = { "\u2581", "\u2582", "\u2583",
                                        "\u2584", "\u2585", "\u2586",
                                        "\u2587", "\u2588" };
    double first = NAN, last = NAN;

    printf("%-11s ", label);
    for (size_t i = 0; i < n; i++) {
        if (isnan(v[i])) {
            putchar(' ');
            continue;
        }
        double x = v[i] < 0 ? 0 : v[i] > 1 ? 1 : v[i];
        fputs(bars[(int)(x * 7 + 0.5)], stdout);
        if (isnan(first))
            first = v[i];
        last = v[i];
    }
    if (!isnan(first))
        printf("  %.2f .. %.2f", first, last);
    putchar('\n');
}

/* ---- watch -------------------------------------------------------------------- */

static volatile sig_atomic_t watch_stop;

static void on_signal(int sig)
{
    (void)sig;
    watch_stop = 1;
}

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

static void view_load(const char *mount, struct view *v)
{
    int err = 0;

    memset(v, 0, sizeof *v);
    v->status = load(mount, "status.json", &v->status_err);
    v->profile = load(mount, "core/builder_profile.json", &err);
    v->scores = load(mount, "core/score_log.json", &err);
    v->trainer = load(mount, "advanced/trainer_log.json", &err);
}

/* The Trainer's last decision, in a few words. */
static void trainer_last(const struct view *v, char *buf, size_t size)
{
    const cJSON *e = jget(v->trainer, "entries");
    int n = cJSON_IsArray(e) ? cJSON_GetArraySize(e) : 0;
    const cJSON *last = n ? cJSON_GetArrayItem(e, n - 1) : NULL;

    if (!last) {
        snprintf(buf, size, "-");
        return;
    }
    snprintf(buf, size, "%s %s for %s at difficulty %.2f (%s)",
             jstr(last, "at", jstr(last, "time", "")),
             jstr(last, "task", "no task"), jstr(last, "skill", "?"),
             jnum(last, "difficulty", NAN), jstr(last, "strategy", "?"));
}

static void llm_health(const struct view *v, char *buf, size_t size)
{
    const cJSON *llm = jget(v->status, "llm");
    const cJSON *r = jget(llm, "reachable");
    const char *err = jstr(llm, "last_error", NULL);

    snprintf(buf, size, "%s %s: %s%s%s", jstr(llm, "url", "?"),
             jstr(llm, "model", "?"),
             cJSON_IsTrue(r) ? "reachable" : cJSON_IsFalse(r)
                                                 ? "unreachable"
                                                 : "not checked yet",
             err ? ", " : "", err ? err : "");
}

static void counts(const struct view *v, char *buf, size_t size)
{
    snprintf(buf, size, "%.0f passed, %.0f failed, %.0f error",
             jnum(v->profile, "passed", 0), jnum(v->profile, "failed", 0),
             jnum(v->profile, "errors", 0));
}

/* Builder i as "#i state task: step". */
static void builder_desc(const cJSON *b, int i, char *buf, size_t size)
{
    const char *task = jstr(b, "task", NULL);

    snprintf(buf, size, "#%d %s%s%s: %s", i, jstr(b, "state", "?"),
             task ? " " : "", task ? task : "", jstr(b, "step", "-"));
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
        const char *reason = jstr(st, "reason", NULL);
        OUT("state      %s%s%s", jstr(st, "state", "?"),
            reason ? ": " : "", reason ? reason : "");
        OUT("queue      %.0f queued, %.0f tasks in all",
            jnum(st, "queue_depth", 0), jnum(st, "tasks_total", 0));
        counts(v, line, sizeof line);
        OUT("results    %s", line);
        llm_health(v, line, sizeof line);
        OUT("llm        %s", line);
        OUT("sandbox    %s", jstr(st, "sandbox", "-"));
        trainer_last(v, line, sizeof line);
        OUT("trainer    %s", line);
        OUT("%s", "builders");
        cJSON_ArrayForEach(b, jget(st, "builders")) {
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
        OUT("  %s %-7s score %.2f  %s", jstr(e, "task", "?"),
            jstr(e, "status", "?"), jnum(e, "total", NAN),
            jstr(e, "at", ""));
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

    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    if (json) {
        cJSON *o = cJSON_CreateObject();
        if (!o)
            return;
        cJSON_AddStringToObject(o, "time", when);
        if (st)
            cJSON_AddItemToObject(o, "status", cJSON_Duplicate(st, 1));
        cJSON_AddNumberToObject(o, "passed", jnum(v->profile, "passed", 0));
        cJSON_AddNumberToObject(o, "failed", jnum(v->profile, "failed", 0));
        cJSON_AddNumberToObject(o, "errors", jnum(v->profile, "errors", 0));
        const cJSON *e = jget(v->trainer, "entries");
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
           "trainer=[%s]", when, jstr(st, "state", "?"),
           jnum(st, "queue_depth", 0), res, jstr(st, "sandbox", "-"), llm,
           trainer);
    cJSON_ArrayForEach(b, jget(st, "builders")) {
        char d[256];
        builder_desc(b, i++, d, sizeof d);
        printf(" builder=[%s]", d);
    }
    putchar('\n');
    fflush(stdout);
}

int bt_watch(const char *mount, bool json, long count)
{
    bool tty = !json && isatty(STDOUT_FILENO);
    bool keys = tty && isatty(STDIN_FILENO);
    struct termios saved, raw;
    struct sigaction sa;
    long done = 0;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
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
    while (!watch_stop) {
        struct view v;
        view_load(mount, &v);
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
            char c;
            if (read(STDIN_FILENO, &c, 1) == 1 && (c == 'q' || c == 'Q'))
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

/* ---- logs ---------------------------------------------------------------------- */

/* Whether a line names task id (a whole id: task_000001 is not a part of
 * task_0000010). */
static bool names_task(const char *line, size_t len, const char *id)
{
    size_t il = strlen(id);

    for (const char *p = line; p + il <= line + len; p++) {
        p = memmem(p, (size_t)(line + len - p), id, il);
        if (!p)
            return false;
        if (p + il == line + len || p[il] < '0' || p[il] > '9')
            return true;
    }
    return false;
}

/* Prints the complete lines of buf[0..*len) that pass the filter and
 * keeps the partial last line at the start of buf. */
static void emit_lines(char *buf, size_t *len, const char *task)
{
    size_t start = 0;

    for (;;) {
        char *nl = memchr(buf + start, '\n', *len - start);
        if (!nl)
            break;
        size_t ll = (size_t)(nl - (buf + start));
        if (!task || names_task(buf + start, ll, task))
            fwrite(buf + start, 1, ll + 1, stdout);
        start += ll + 1;
    }
    memmove(buf, buf + start, *len - start);
    *len -= start;
}

int bt_logs(const char *mount, bool json, bool follow, const char *task)
{
    const char *rel = json ? "logs/events.jsonl" : "logs/system.log";
    char id[40], *path, *buf;
    size_t len = 0, cap = 65536;
    struct sigaction sa;
    int fd, rc = 0;

    if (task && canonical_id(task, id, sizeof id) < 0) {
        bt_err("'%s' is not a task id (task_000042, 000042 or 42)", task);
        return EXIT_USAGE;
    }
    if (asprintf(&path, "%s/%s", mount, rel) < 0)
        return EXIT_FAIL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        bt_err("cannot open %s: %s", path, strerror(errno));
        free(path);
        return EXIT_FAIL;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    if (follow) {
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
    }
    buf = malloc(cap);
    while (buf && !watch_stop) {
        if (len == cap) {       /* a line longer than the buffer */
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            bt_err("cannot read %s: %s", path, strerror(errno));
            rc = EXIT_FAIL;
            break;
        }
        if (n == 0) {
            if (!follow)
                break;
            fflush(stdout);
            if (ferror(stdout))
                break;
            /* btfs extends the open file when read past its end. */
            poll(NULL, 0, 300);
            continue;
        }
        len += (size_t)n;
        emit_lines(buf, &len, task ? id : NULL);
    }
    if (!buf) {
        bt_err("out of memory");
        rc = EXIT_FAIL;
    }
    free(buf);
    free(path);
    close(fd);
    fflush(stdout);
    return rc;
}

/* ---- cancel ---------------------------------------------------------------------- */

struct cancel_list {
    char (*id)[40];
    const char **how;           /* "queued", "running", or a final status */
    size_t n, cap;
};

static int list_add(struct cancel_list *l, const char *id, const char *how)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->id[i], id) == 0)
            return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        void *a = realloc(l->id, cap * sizeof *l->id);
        if (!a)
            return -ENOMEM;
        l->id = a;
        void *b = realloc(l->how, cap * sizeof *l->how);
        if (!b)
            return -ENOMEM;
        l->how = b;
        l->cap = cap;
    }
    snprintf(l->id[l->n], sizeof l->id[l->n], "%s", id);
    l->how[l->n++] = how;
    return 0;
}

/* Whether a task document matches --set and --source. */
static bool task_matches(const cJSON *t, const char *set, const char *source)
{
    if (set && strcmp(jstr(t, "set", ""), set) != 0)
        return false;
    if (source && strcmp(jstr(t, "source", ""), source) != 0)
        return false;
    return true;
}

/* Status of one task, as a static string ("queued", ...), or NULL with
 * *err set. */
static const char *task_status(const char *mount, const char *id, int *err)
{
    static const char *const known[] = { "queued", "running", "passed",
                                         "failed", "error", "cancelled" };
    char rel[64];
    cJSON *t;
    const char *st = "unknown";

    snprintf(rel, sizeof rel, "tasks/%s.json", id);
    t = load(mount, rel, err);
    if (!t)
        return NULL;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(jstr(t, "status", ""), known[i]) == 0)
            st = known[i];
    cJSON_Delete(t);
    return st;
}

static int control_send(const char *mount, const struct cancel_list *l)
{
    char *path;
    int rc = 0;

    if (asprintf(&path, "%s/control", mount) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < l->n && rc == 0;) {
        char *line = NULL;
        size_t ll = 0;
        FILE *m = open_memstream(&line, &ll);
        size_t k = 0;
        if (!m) {
            rc = -ENOMEM;
            break;
        }
        fputs("cancel", m);
        for (; i < l->n && k < CANCEL_BATCH; i++) {
            if (strcmp(l->how[i], "queued") != 0 &&
                strcmp(l->how[i], "running") != 0)
                continue;
            fprintf(m, " %s", l->id[i]);
            k++;
        }
        fputc('\n', m);
        fclose(m);
        if (k) {
            int fd = open(path, O_WRONLY | O_CLOEXEC);
            if (fd < 0) {
                rc = -errno;
            } else {
                ssize_t n = write(fd, line, ll);
                if (n < 0)
                    rc = -errno;
                else if ((size_t)n != ll)
                    rc = -EIO;
                if (close(fd) < 0 && rc == 0)
                    rc = -errno;
            }
        }
        free(line);
    }
    free(path);
    return rc;
}

int bt_cancel(const char *mount, bool json, const char *const *ids,
              size_t nids, const char *set, const char *source)
{
    struct cancel_list l = { 0 };
    int rc = 0, err = 0;
    cJSON *queue = NULL, *status = NULL;

    if (!nids && !set && !source) {
        bt_err("cancel needs task ids, --set S or --source SOURCE");
        return EXIT_USAGE;
    }
    if (source && strcmp(source, "user") != 0 &&
        strcmp(source, "trainer") != 0 && strcmp(source, "seed") != 0) {
        bt_err("--source must be user, trainer or seed, not '%s'", source);
        return EXIT_USAGE;
    }
    for (size_t i = 0; i < nids; i++) {
        char id[40];
        if (canonical_id(ids[i], id, sizeof id) < 0) {
            bt_err("'%s' is not a task id (task_000042, 000042 or 42)",
                 ids[i]);
            rc = EXIT_USAGE;
            goto out;
        }
        const char *st = task_status(mount, id, &err);
        if (!st) {
            bt_err("no task %s: %s", id, err == -ENOENT ? "it does not exist"
                                                      : strerror(-err));
            rc = EXIT_FAIL;
            goto out;
        }
        if (list_add(&l, id, st) < 0)
            goto nomem;
    }
    if (set || source) {
        const cJSON *t, *b;
        if (!(queue = load(mount, "tasks/task_queue.json", &err)) ||
            !(status = load(mount, "status.json", &err))) {
            bt_err("cannot read the queue or status.json under %s: %s", mount,
                 strerror(-err));
            rc = EXIT_FAIL;
            goto out;
        }
        cJSON_ArrayForEach(t, queue)
            if (task_matches(t, set, source) &&
                list_add(&l, jstr(t, "id", "?"), "queued") < 0)
                goto nomem;
        cJSON_ArrayForEach(b, jget(status, "builders")) {
            const char *id = jstr(b, "task", NULL);
            char rel[64];
            cJSON *doc;
            if (!id)
                continue;
            snprintf(rel, sizeof rel, "tasks/%s.json", id);
            if ((doc = load(mount, rel, &err)) &&
                strcmp(jstr(doc, "status", ""), "running") == 0 &&
                task_matches(doc, set, source) &&
                list_add(&l, id, "running") < 0) {
                cJSON_Delete(doc);
                goto nomem;
            }
            cJSON_Delete(doc);
        }
    }
    if ((err = control_send(mount, &l)) < 0) {
        bt_err("cannot write %s/control: %s", mount, strerror(-err));
        rc = EXIT_FAIL;
        goto out;
    }
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON *c = cJSON_AddArrayToObject(o, "cancelled");
        cJSON *s = cJSON_AddArrayToObject(o, "stopping");
        cJSON *u = cJSON_AddArrayToObject(o, "unchanged");
        for (size_t i = 0; o && c && s && u && i < l.n; i++) {
            cJSON *item = cJSON_CreateString(l.id[i]);
            cJSON_AddItemToArray(strcmp(l.how[i], "queued") == 0    ? c
                                 : strcmp(l.how[i], "running") == 0 ? s
                                                                    : u,
                                 item);
        }
        char *txt = o ? cJSON_PrintUnformatted(o) : NULL;
        if (txt)
            puts(txt);
        cJSON_free(txt);
        cJSON_Delete(o);
    } else {
        for (size_t i = 0; i < l.n; i++) {
            if (strcmp(l.how[i], "queued") == 0)
                printf("%s cancelled\n", l.id[i]);
            else if (strcmp(l.how[i], "running") == 0)
                printf("%s running: stops at its next step\n", l.id[i]);
        }
        if (l.n == 0)
            printf("no queued or running task matches\n");
    }
    for (size_t i = 0; i < l.n; i++)
        if (strcmp(l.how[i], "queued") != 0 &&
            strcmp(l.how[i], "running") != 0) {
            bt_err("%s is %s already: left as it is", l.id[i], l.how[i]);
            rc = EXIT_FAIL;
        }
    goto out;
nomem:
    bt_err("out of memory");
    rc = EXIT_FAIL;
out:
    cJSON_Delete(queue);
    cJSON_Delete(status);
    free(l.id);
    free(l.how);
    return rc;
}
