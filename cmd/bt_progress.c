/* bt_progress.c -- what bt shows of the Builder's progress: get-profile,
 * get-skills and get-trend (overall, --skill S, --set S).
 *
 * Read-only views of core/ documents, tasks/ and eval/; with --json the
 * documents themselves. The documents are still taking shape, so a field
 * may go by a few names and every one may be missing.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "bt.h"
#include "bt_err.h"
#include "bt_mount.h"
#include "bt_render.h"
#include "bt_tasks.h"
#include "task/task.h"   /* set name rules */

#define TREND_WINDOW      10    /* tasks per row of get-trend              */

int cmd_get_profile(const struct ctx *c, const struct args *a)
{
    cJSON *doc;
    bool done;
    int rc = bt_mount_load_doc(c, "core/builder_profile.json", &doc, &done);

    if (rc || done)
        return rc;
    if (cJSON_IsObject(doc) && cJSON_GetArraySize(doc))
        rc = bt_print_tree(doc, 0);
    else if (cJSON_IsObject(doc))
        puts("no profile yet");
    else
        rc = bt_print_json(doc);
    cJSON_Delete(doc);
    return rc;
}

/* One skill row; 'name' may come from the map key or the record. */
static int skill_row(struct bt_table *t, const char *name, const cJSON *s)
{
    const cJSON *att = bt_jget(s, "attempts"), *suc = bt_jget(s, "successes");
    double na, ns;
    char *rate;

    if (!name) {
        const cJSON *n = bt_jget_any(s, "skill", "name", NULL);
        name = cJSON_IsString(n) ? n->valuestring : "?";
    }
    if (bt_jnum(att, &na) && bt_jnum(suc, &ns) && na > 0) {
        if (asprintf(&rate, "%.0f%%", 100.0 * ns / na) < 0)
            rate = NULL;
    } else {
        rate = strdup("-");
    }
    const cJSON *trend = bt_jget(s, "trend");
    char *tr = bt_fmt_value(trend);
    if (tr && cJSON_IsNumber(trend) && trend->valuedouble > 0) {
        char *p;
        if (asprintf(&p, "+%s", tr) < 0)
            p = NULL;
        free(tr);
        tr = p;
    }
    if (bt_table_put_str(t, name) ||
        bt_table_put_value(t, bt_jget(s, "level")) ||
        bt_table_put_value(t, bt_jget(s, "rating")) ||
        bt_table_put_value(t, att) ||
        bt_table_put_value(t, suc) ||
        bt_table_put(t, rate) ||
        bt_table_put_value(t, bt_jget_any(s, "last_practised",
                                          "last_practiced", "last", NULL)) ||
        bt_table_put(t, tr))
        return -ENOMEM;
    return 0;
}

int cmd_get_skills(const struct ctx *c, const struct args *a)
{
    cJSON *doc;
    bool done;
    int rc = bt_mount_load_doc(c, "core/skill_map.json", &doc, &done);
    struct bt_table t = { .ncols = 8, .align = "lrrrrrll" };
    const cJSON *map, *e;

    if (rc || done)
        return rc;
    /* Either {"skill": {...}, ...}, {"skills": that} or a list of records. */
    map = bt_jget(doc, "skills");
    if (!cJSON_IsObject(map) && !cJSON_IsArray(map))
        map = doc;
    if (!cJSON_IsObject(map) && !cJSON_IsArray(map)) {
        bt_err("%s/core/skill_map.json is neither an object nor a list",
               c->mount);
        cJSON_Delete(doc);
        return EXIT_FAIL;
    }
    if (cJSON_GetArraySize(map) == 0) {
        puts("no skills practised yet");
        cJSON_Delete(doc);
        return 0;
    }
    static const char *const HEAD[] = { "SKILL", "LEVEL", "RATING",
        "ATTEMPTS", "SUCCESSES", "RATE", "LAST", "TREND" };
    for (size_t i = 0; i < 8 && !rc; i++)
        if (bt_table_put_str(&t, HEAD[i]))
            rc = bt_oom();
    cJSON_ArrayForEach(e, map) {
        if (rc)
            break;
        if (skill_row(&t, cJSON_IsObject(map) ? e->string : NULL, e))
            rc = bt_oom();
    }
    if (!rc)
        bt_table_print(&t);
    bt_table_free(&t);
    cJSON_Delete(doc);
    return rc;
}

/* ---- get-trend --------------------------------------------------------------------- */

struct trend_acc {
    size_t tasks, judged, passed, scored;
    double sum;
};

/* Whether an entry passed: 1, 0, or -1 if it does not say. */
static int entry_passed(const cJSON *e)
{
    const cJSON *p = bt_jget(e, "passed"), *s = bt_jget(e, "status");

    if (cJSON_IsBool(p))
        return cJSON_IsTrue(p);
    if (cJSON_IsString(s))
        return strcmp(s->valuestring, "passed") == 0;
    return -1;
}

static bool entry_total(const cJSON *e, double *v)
{
    const cJSON *sc = bt_jget(e, "score");

    if (bt_jnum(bt_jget(e, "total"), v))
        return true;
    if (cJSON_IsObject(sc))
        return bt_jnum(bt_jget(sc, "total"), v);
    return bt_jnum(sc, v);
}

static void trend_add(struct trend_acc *t, const cJSON *e)
{
    int p = entry_passed(e);
    double v;

    t->tasks++;
    if (p >= 0) {
        t->judged++;
        t->passed += (size_t)p;
    }
    if (entry_total(e, &v)) {
        t->scored++;
        t->sum += v;
    }
}

/* Adds one row (label, pass rate, mean) to the table or the JSON list. */
static int trend_row(const struct ctx *c, struct bt_table *t, cJSON *list,
                     size_t first, size_t last, const struct trend_acc *acc)
{
    char *label, *rate, *mean;

    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        if (!o)
            return -ENOMEM;
        cJSON_AddItemToArray(list, o);
        if (first == 0) {
            if (!cJSON_AddStringToObject(o, "window", "all"))
                return -ENOMEM;
        } else if (!cJSON_AddNumberToObject(o, "first", (double)first) ||
                   !cJSON_AddNumberToObject(o, "last", (double)last)) {
            return -ENOMEM;
        }
        if (!cJSON_AddNumberToObject(o, "tasks", (double)acc->tasks) ||
            !(acc->judged ? cJSON_AddNumberToObject(o, "pass_rate",
                              (double)acc->passed / (double)acc->judged)
                          : cJSON_AddNullToObject(o, "pass_rate")) ||
            !(acc->scored ? cJSON_AddNumberToObject(o, "mean_score",
                              acc->sum / (double)acc->scored)
                          : cJSON_AddNullToObject(o, "mean_score")))
            return -ENOMEM;
        return 0;
    }
    if (first == 0)
        label = strdup("all");
    else if (asprintf(&label, "%zu-%zu", first, last) < 0)
        label = NULL;
    if (!acc->judged)
        rate = strdup("-");
    else if (asprintf(&rate, "%.0f%%",
                      100.0 * (double)acc->passed / (double)acc->judged) < 0)
        rate = NULL;
    if (!acc->scored)
        mean = strdup("-");
    else if (asprintf(&mean, "%.2f", acc->sum / (double)acc->scored) < 0)
        mean = NULL;
    if (bt_table_put(t, label)) {
        free(rate);
        free(mean);
        return -ENOMEM;
    }
    if (bt_table_put(t, rate)) {
        free(mean);
        return -ENOMEM;
    }
    return bt_table_put(t, mean);
}

static int trend_skill(const struct ctx *c, const char *skill);
static int trend_set(const struct ctx *c, const char *set);

/* One window's pass rate and mean score for the sparklines (NaN: none). */
static void trend_spark(const struct trend_acc *w, double *rates,
                        double *means, size_t *n)
{
    rates[*n] = w->judged ? (double)w->passed / (double)w->judged : NAN;
    means[*n] = w->scored ? w->sum / (double)w->scored : NAN;
    (*n)++;
}

int cmd_get_trend(const struct ctx *c, const struct args *a)
{
    cJSON *doc, *list = NULL;
    const cJSON *log, *e;
    struct bt_table t = { .ncols = 3, .align = "lrr" };
    struct trend_acc win = { 0 }, all = { 0 };
    size_t i = 0, nspark = 0;
    double *rates = NULL, *means = NULL;   /* per window, for sparklines */
    int rc;

    if (a->nskills + a->nsets > 1) {
        bt_err("get-trend takes one --skill or --set");
        return bt_usage_hint();
    }
    if (a->nskills)
        return trend_skill(c, a->skills[0]);
    if (a->nsets)
        return trend_set(c, a->sets[0]);
    if ((rc = bt_mount_load_json(c, "core/score_log.json", &doc, NULL)))
        return rc;
    log = cJSON_IsArray(doc) ? doc
                             : bt_jget_any(doc, "entries", "scores", NULL);
    if (!cJSON_IsArray(log)) {
        bt_err("%s/core/score_log.json holds no list of scores", c->mount);
        cJSON_Delete(doc);
        return EXIT_FAIL;
    }
    if (c->json) {
        if (!(list = cJSON_CreateArray()))
            goto nomem;
    } else if (cJSON_GetArraySize(log) == 0) {
        puts("no finished tasks yet");
        goto out;
    } else if (bt_table_put_str(&t, "TASKS") ||
               bt_table_put_str(&t, "PASS RATE") ||
               bt_table_put_str(&t, "MEAN SCORE")) {
        goto nomem;
    }
    size_t nwin = (size_t)cJSON_GetArraySize(log) / TREND_WINDOW + 1;
    if (!(rates = calloc(nwin, sizeof *rates)) ||
        !(means = calloc(nwin, sizeof *means)))
        goto nomem;
    cJSON_ArrayForEach(e, log) {
        trend_add(&win, e);
        trend_add(&all, e);
        if (++i % TREND_WINDOW == 0) {
            if (trend_row(c, &t, list, i - TREND_WINDOW + 1, i, &win))
                goto nomem;
            trend_spark(&win, rates, means, &nspark);
            memset(&win, 0, sizeof(win));
        }
    }
    if (win.tasks && trend_row(c, &t, list, i - win.tasks + 1, i, &win))
        goto nomem;
    if (win.tasks)
        trend_spark(&win, rates, means, &nspark);
    if (i && trend_row(c, &t, list, 0, i, &all))
        goto nomem;
    if (c->json) {
        rc = bt_print_json(list);
    } else {
        bt_table_print(&t);
        putchar('\n');
        bt_sparkline("pass rate", rates, nspark);
        bt_sparkline("mean score", means, nspark);
    }
    goto out;
nomem:
    rc = bt_oom();
out:
    free(rates);
    free(means);
    cJSON_Delete(list);
    bt_table_free(&t);
    cJSON_Delete(doc);
    return rc;
}

/* ---- get-trend --skill ------------------------------------------------------------- */

/* Status counts of the tasks that carry one skill, or of one set. */
struct set_counts {
    size_t tasks, queued, running, passed, failed, error, cancelled, other;
    size_t scored;
    double sum;
};

static bool has_skill(const cJSON *doc, const char *skill)
{
    const cJSON *e;

    cJSON_ArrayForEach(e, bt_jget(doc, "skills"))
        if (cJSON_IsString(e) && strcasecmp(e->valuestring, skill) == 0)
            return true;
    return false;
}

static void set_count(struct set_counts *n, const cJSON *doc)
{
    static const struct { const char *name; size_t off; } ST[] = {
        { "queued",    offsetof(struct set_counts, queued) },
        { "running",   offsetof(struct set_counts, running) },
        { "passed",    offsetof(struct set_counts, passed) },
        { "failed",    offsetof(struct set_counts, failed) },
        { "error",     offsetof(struct set_counts, error) },
        { "cancelled", offsetof(struct set_counts, cancelled) },
    };
    const cJSON *st = bt_jget(doc, "status");
    size_t *slot = &n->other;
    double v;

    n->tasks++;
    for (size_t i = 0; i < sizeof(ST) / sizeof(ST[0]); i++)
        if (cJSON_IsString(st) && strcmp(st->valuestring, ST[i].name) == 0)
            slot = (size_t *)((char *)n + ST[i].off);
    (*slot)++;
    if ((slot == &n->passed || slot == &n->failed) && entry_total(doc, &v)) {
        n->scored++;
        n->sum += v;
    }
}

static int set_print_json(const char *kind, const char *name,
                          const struct set_counts *n)
{
    cJSON *o = cJSON_CreateObject();
    size_t judged = n->passed + n->failed;
    int rc;

    if (!o || !cJSON_AddStringToObject(o, kind, name) ||
        !cJSON_AddNumberToObject(o, "tasks", (double)n->tasks) ||
        !cJSON_AddNumberToObject(o, "passed", (double)n->passed) ||
        !cJSON_AddNumberToObject(o, "failed", (double)n->failed) ||
        !cJSON_AddNumberToObject(o, "error", (double)n->error) ||
        !cJSON_AddNumberToObject(o, "running", (double)n->running) ||
        !cJSON_AddNumberToObject(o, "queued", (double)n->queued) ||
        !cJSON_AddNumberToObject(o, "cancelled", (double)n->cancelled) ||
        !(judged ? cJSON_AddNumberToObject(o, "pass_rate",
                       (double)n->passed / (double)judged)
                 : cJSON_AddNullToObject(o, "pass_rate")) ||
        !(n->scored ? cJSON_AddNumberToObject(o, "mean_score",
                          n->sum / (double)n->scored)
                    : cJSON_AddNullToObject(o, "mean_score"))) {
        cJSON_Delete(o);
        return bt_oom();
    }
    rc = bt_print_json(o);
    cJSON_Delete(o);
    return rc;
}

/* Prints the counts of the tasks with skill or set (kind) 'name'. Returns
 * 0 or an exit code. */
static int counts_print(const struct ctx *c, const char *kind,
                        const char *name_in, const struct set_counts *np)
{
    struct set_counts n = *np;     /* a copy: the code below reads n.x */

    if (c->json)
        return set_print_json(kind, name_in, &n);
    char *name = bt_clean_text(name_in, true);
    if (!name)
        return bt_oom();
    if (n.tasks == 0) {
        printf("no tasks %s '%s'\n", strcmp(kind, "set") ? "with skill"
               : "in set", name);
        free(name);
        return 0;
    }
    size_t judged = n.passed + n.failed;
    printf("%s %s: %zu task%s\n", kind, name, n.tasks,
           n.tasks == 1 ? "" : "s");
    free(name);
    printf("  %-10s %6zu\n", "passed", n.passed);
    printf("  %-10s %6zu\n", "failed", n.failed);
    printf("  %-10s %6zu\n", "error", n.error);
    printf("  %-10s %6zu\n", "running", n.running);
    printf("  %-10s %6zu\n", "queued", n.queued);
    if (n.cancelled)
        printf("  %-10s %6zu\n", "cancelled", n.cancelled);
    if (n.other)
        printf("  %-10s %6zu\n", "other", n.other);
    if (judged)
        printf("pass rate    %.1f%% (%zu of %zu judged; errors not counted)"
               "\n", 100.0 * (double)n.passed / (double)judged, n.passed,
               judged);
    else
        printf("pass rate    - (none judged yet)\n");
    if (n.scored)
        printf("mean score   %.2f\n", n.sum / (double)n.scored);
    return 0;
}

/* get-trend --skill S: reads every task file. The pass rate counts passed
 * and failed tasks only: an error says the LLM could not be reached or
 * answered nothing usable, which is no verdict on the model's code. */
static int trend_skill(const struct ctx *c, const char *skill)
{
    struct set_counts n = { 0 };
    uint64_t *ids;
    size_t nids;
    int rc, failed = 0;

    if ((rc = bt_task_ids(c, &ids, &nids)))
        return rc;
    for (size_t i = 0; i < nids; i++) {
        char rel[64];
        cJSON *doc;

        snprintf(rel, sizeof(rel), "tasks/task_%06" PRIu64 ".json", ids[i]);
        if (bt_mount_load_json(c, rel, &doc, NULL)) {
            failed = 1;     /* named on stderr; count the others */
            continue;
        }
        if (has_skill(doc, skill))
            set_count(&n, doc);
        cJSON_Delete(doc);
    }
    free(ids);
    rc = counts_print(c, "skill", skill, &n);
    return rc ? rc : failed ? EXIT_FAIL : 0;
}

/* get-trend --set S: the tasks of S exactly, as eval/S.json lists them --
 * no Trainer or seed task is ever in a set, whatever its skills. */
static int trend_set(const struct ctx *c, const char *set)
{
    struct set_counts n = { 0 };
    char *name, *rel = NULL, *buf = NULL;
    const cJSON *tasks, *e;
    cJSON *doc;
    int rc;

    if (!task_set_name_ok(set)) {
        bt_err("--set must be 1 to %d characters of a-z, 0-9, '_', '-' and "
               "'.', the first a letter or digit, got '%s'", TASK_MAX_SET_LEN,
               set);
        return EXIT_USAGE;
    }
    if (!(name = strdup(set)))
        return bt_oom();
    for (char *p = name; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (asprintf(&rel, "eval/%s.json", name) < 0) {
        free(name);
        return bt_oom();
    }
    rc = bt_mount_read(c, rel, &buf, NULL);
    if (rc == -ENOENT) {
        bt_err("no set '%s' (bt report lists the sets)", name);
        rc = EXIT_FAIL;
    } else if (rc) {
        bt_err("cannot read %s/%s: %s", c->mount, rel, strerror(-rc));
        rc = EXIT_FAIL;
    } else if (!(doc = cJSON_Parse(buf))) {
        bt_err("%s/%s is not valid JSON", c->mount, rel);
        rc = EXIT_FAIL;
    } else {
        tasks = bt_jget(doc, "tasks");
        if (!cJSON_IsArray(tasks)) {
            bt_err("%s/%s holds no list of tasks", c->mount, rel);
            rc = EXIT_FAIL;
        } else {
            cJSON_ArrayForEach(e, tasks)
                set_count(&n, e);
            rc = counts_print(c, "set", name, &n);
        }
        cJSON_Delete(doc);
    }
    free(buf);
    free(rel);
    free(name);
    return rc;
}

