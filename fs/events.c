/* events.c -- logs/events.jsonl: the lines of logs/system.log as JSON.
 *
 * The events are the system log's own lines, converted when the file is
 * read rather than stored twice: the two files always hold the same events
 * in the same order, and the writers (agents, fs, btfs) keep logging plain
 * text. Each line becomes one compact object:
 *
 *   {"time": "2026-12-02T04:00:00Z", "kind": "attempt", "task":
 *    "task_000007", "fields": {"builder": 0, "attempt": 1, ...},
 *    "message": "attempt 1: ok, 3/3 tests (code by rule fenced)"}
 *
 * "kind" names what happened (docs/tasks.md lists them), "task" is the
 * first task id the line names (null if none), "fields" holds what could be
 * read from the line's known shapes, and "message" the text after the
 * speaker's prefix, so nothing of the line is lost whatever its shape.
 */
#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "fs_internal.h"
#include "store.h"

/* Known shapes of a line (after "builder N: task_X: " or the speaker's
 * prefix), in the order they are tried. */
struct shape {
    const char *speaker;    /* prefix the line starts with                */
    const char *pattern;    /* POSIX ERE on the message; NULL: any        */
    const char *kind;
    const char *fields[4];  /* names of the pattern's groups 1..4; a name
                               ending in '#' is a number                  */
};

static const struct shape shapes[] = {
    { "builder", "^started: (.*)$", "task_started", { "goal" } },
    { "builder", "^attempt ([0-9]+): ([a-z_]+), ([0-9]+)/([0-9]+) tests",
      "attempt", { "attempt#", "outcome", "tests_passed#", "tests_total#" } },
    { "builder", "^(passed|failed|error) after ([0-9]+) attempts?, "
                 "score ([0-9.]+) \\(([0-9.]+) s\\)",
      "task_finished", { "status", "attempts#", "score#", "seconds#" } },
    { "builder", "^error: (.*)$", "task_error", { "reason" } },
    { "builder", "^cancelled (.*), after ([0-9]+) attempts?",
      "task_cancelled", { "where", "attempts#" } },
    { "builder", "back on the queue \\((.*)\\)$", "task_requeued",
      { "reason" } },
    { "builder", "^attempt ([0-9]+): (.*)$", "attempt_problem",
      { "attempt#", "problem" } },
    { "builder", NULL, "builder", { 0 } },
    { "cancel", NULL, "task_cancelled", { 0 } },
    { "control", "^cancel", "cancel_requested", { 0 } },
    { "control", "^(paused|resumed)$", "control", { "action" } },
    { "control", NULL, "control", { 0 } },
    { "tasks/new", "^queued", "tasks_queued", { 0 } },
    { "tasks/new", "^rejected: (.*)$", "tasks_rejected", { "reason" } },
    { "tasks/new", NULL, "tasks", { 0 } },
    { "trainer", "^(queued|could not queue) (task_[0-9]+|a task): (.*) at "
                 "difficulty ([0-9.]+)",
      "trainer_task", { "action", NULL, "skill", "difficulty#" } },
    { "trainer", "^proposal ([0-9]+) for (.*) rejected: (.*)$",
      "trainer_rejected", { "proposal#", "skill", "reason" } },
    { "trainer", NULL, "trainer", { 0 } },
    { "llm", "^not ready: ([a-z_]+): (.*)$", "llm_down",
      { "error", "detail" } },
    { "llm", NULL, "llm", { 0 } },
    { "sandbox", NULL, "sandbox", { 0 } },
    { "btfs", NULL, "btfs", { 0 } },
    { "seed", NULL, "seed", { 0 } },
    { "WARNING", NULL, "warning", { 0 } },
};
#define NSHAPES (sizeof shapes / sizeof shapes[0])

/* Compiled once; regcomp of these constants fails only without memory,
 * and a shape that did not compile is simply never matched. */
static regex_t shape_re[NSHAPES];
static int shape_ok[NSHAPES];
static pthread_once_t shapes_once = PTHREAD_ONCE_INIT;

static void shapes_compile(void)
{
    for (size_t i = 0; i < NSHAPES; i++)
        shape_ok[i] = shapes[i].pattern &&
                      regcomp(&shape_re[i], shapes[i].pattern,
                              REG_EXTENDED) == 0;
}

/* Whether s starts with the speaker word (followed by ':' or ' '). */
static int spoken_by(const char *s, const char *speaker)
{
    size_t n = strlen(speaker);
    return strncmp(s, speaker, n) == 0 && (s[n] == ':' || s[n] == ' ' ||
                                           s[n] == '\0');
}

/* The first "task_" + at least six digits in s, copied into id. */
static int find_task(const char *s, char *id, size_t size)
{
    for (const char *p = strstr(s, "task_"); p; p = strstr(p + 1, "task_")) {
        size_t d = strspn(p + 5, "0123456789");
        if (d >= 6 && d + 6 <= size && (p == s || p[-1] == ' ' ||
                                        p[-1] == '(' || p[-1] == '/')) {
            memcpy(id, p, 5 + d);
            id[5 + d] = '\0';
            return 1;
        }
    }
    return 0;
}

static int add_field(cJSON *fields, const char *name, const char *s,
                     size_t len)
{
    size_t nl = strlen(name);
    char *v = strndup(s, len);
    cJSON *item;

    if (!v)
        return -ENOMEM;
    if (nl && name[nl - 1] == '#') {
        char key[32];
        snprintf(key, sizeof key, "%.*s", (int)(nl - 1), name);
        item = cJSON_AddNumberToObject(fields, key, strtod(v, NULL));
    } else {
        item = cJSON_AddStringToObject(fields, name, v);
    }
    free(v);
    return item ? 0 : -ENOMEM;
}

/* Builds the event object of one log line (as stored: "STAMP text"). */
static cJSON *event_of(const char *line)
{
    const char *sp = strchr(line, ' ');
    const char *text = sp ? sp + 1 : line, *msg = text;
    char stamp[40] = "", task[STORE_ID_MAX];
    cJSON *o = cJSON_CreateObject(), *fields = cJSON_CreateObject();
    const char *kind = "log";
    unsigned builder;
    int n = 0;

    if (!o || !fields)
        goto fail;
    if (sp && (size_t)(sp - line) < sizeof stamp)
        snprintf(stamp, sizeof stamp, "%.*s", (int)(sp - line), line);
    /* "builder N: " and then, usually, "task_X: " */
    if (sscanf(text, "builder %u: %n", &builder, &n) == 1 && n > 0) {
        if (!cJSON_AddNumberToObject(fields, "builder", builder))
            goto fail;
        msg = text + n;
        size_t d = strncmp(msg, "task_", 5) == 0 ? strspn(msg + 5,
                                                          "0123456789") : 0;
        if (d >= 6 && msg[5 + d] == ':' && msg[6 + d] == ' ')
            msg += 7 + d;
    }
    for (size_t i = 0; i < NSHAPES; i++) {
        regmatch_t m[5];
        const struct shape *sh = &shapes[i];
        if (!spoken_by(text, sh->speaker))
            continue;
        const char *body = msg;
        if (msg == text) {          /* not a builder line: skip "speaker: " */
            body = text + strlen(sh->speaker);
            body += strspn(body, ": ");
        }
        if (sh->pattern && (!shape_ok[i] ||
                            regexec(&shape_re[i], body, 5, m, 0) != 0))
            continue;
        kind = sh->kind;
        msg = body;
        for (int g = 0; sh->pattern && g < 4; g++)
            if (sh->fields[g] && m[g + 1].rm_so >= 0 &&
                add_field(fields, sh->fields[g], body + m[g + 1].rm_so,
                          (size_t)(m[g + 1].rm_eo - m[g + 1].rm_so)) < 0)
                goto fail;
        break;
    }
    if (!cJSON_AddStringToObject(o, "time", stamp) ||
        !cJSON_AddStringToObject(o, "kind", kind) ||
        !(find_task(text, task, sizeof task)
              ? cJSON_AddStringToObject(o, "task", task)
              : cJSON_AddNullToObject(o, "task")))
        goto fail;
    cJSON_AddItemToObject(o, "fields", fields);
    fields = NULL;
    if (!cJSON_AddStringToObject(o, "message", msg))
        goto fail;
    return o;
fail:
    cJSON_Delete(fields);
    cJSON_Delete(o);
    return NULL;
}

int fs_event_render(const char *line, size_t len, struct fs_buf *out)
{
    char *copy = strndup(line, len);
    cJSON *o;
    int rc;

    if (!copy)
        return -ENOMEM;
    pthread_once(&shapes_once, shapes_compile);
    o = event_of(copy);
    free(copy);
    rc = o ? fs_buf_add_json(out, o, 0) : -ENOMEM;
    cJSON_Delete(o);
    return rc;
}
