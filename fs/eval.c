/* eval.c -- eval/SET.json: one benchmark set's report, from its tasks.
 *
 * A set's figures are computed on read from the set's task documents (the
 * store's sets index finds them without reading other tasks), so they
 * follow the results as they arrive and can never disagree with the tasks.
 *
 * Definitions (docs/evaluation.md says the same for readers):
 *   judged       passed + failed: the Builder gave a verdict.
 *   errors       status "error": the task could not be judged; counted
 *                apart, never as a failure of the model.
 *   passed_first passed with the code of attempt 1 (result.final_attempt).
 *   pass_at_1    passed_first / judged; pass_final = passed / judged.
 *   *_ci95       the 95% Wilson score interval of that proportion.
 *   mean_*       over judged tasks (attempts) or finished tasks (tokens,
 *                wall time), from result.usage and result.wall_ms.
 *   updated_at   the newest finished_at: the file is a function of the
 *                tasks alone, so two renders of one snapshot are equal.
 */
#include "eval.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "fs_internal.h"
#include "store.h"

#define WILSON_Z 1.959963984540054  /* the normal quantile of 0.975 */

int eval_wilson(unsigned k, unsigned n, double *lo, double *hi)
{
    if (n == 0 || k > n)
        return -EINVAL;
    double p = (double)k / n, z2 = WILSON_Z * WILSON_Z;
    double denom = 1 + z2 / n;
    double centre = (p + z2 / (2.0 * n)) / denom;
    double half = WILSON_Z * sqrt(p * (1 - p) / n + z2 / (4.0 * n * n)) / denom;

    *lo = centre - half < 0 ? 0 : centre - half;
    *hi = centre + half > 1 ? 1 : centre + half;
    return 0;
}

static const cJSON *member(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

static double number(const cJSON *o, const char *name, double def)
{
    const cJSON *v = member(o, name);
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

static const char *string(const cJSON *o, const char *name)
{
    const cJSON *v = member(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Rounds to 4 decimals so that the report reads well and sizes stay
 * stable between renders of the same data. */
static double r4(double x)
{
    return round(x * 1e4) / 1e4;
}

void eval_acc_init(struct eval_acc *a)
{
    memset(a, 0, sizeof *a);
    a->all_held_out = 1;
}

int eval_acc_add(struct eval_acc *a, const cJSON *task)
{
    const char *status = string(task, "status");
    const cJSON *result = member(task, "result");
    const cJSON *usage = member(result, "usage");
    const char *problem = string(task, "problem_id");
    int finished = 0, first = 0;
    cJSON *row;

    if (!status)
        return -EINVAL;
    a->problems++;
    if (!cJSON_IsTrue(member(task, "held_out")))
        a->all_held_out = 0;
    if (strcmp(status, "queued") == 0) {
        a->queued++;
    } else if (strcmp(status, "running") == 0) {
        a->running++;
    } else if (strcmp(status, "cancelled") == 0) {
        a->cancelled++;
    } else if (strcmp(status, "passed") == 0 || strcmp(status, "failed") == 0) {
        int passed = status[0] == 'p';
        finished = 1;
        a->judged++;
        a->passed += passed;
        first = passed && number(result, "final_attempt", 0) == 1;
        a->passed_first += first;
        a->attempts_sum += number(task, "attempts", 0);
    } else if (strcmp(status, "error") == 0) {
        finished = 1;
        a->errors++;
    }
    double tokens = number(usage, "prompt_tokens", 0) +
                    number(usage, "completion_tokens", 0);
    double wall_s = number(result, "wall_ms", 0) / 1000;
    if (finished) {
        a->finished++;
        a->tokens_sum += tokens;
        a->wall_sum += wall_s;
    }
    if (!a->rows && !(a->rows = cJSON_CreateArray()))
        return -ENOMEM;
    if (!(row = cJSON_CreateObject()) || !cJSON_AddItemToArray(a->rows, row)) {
        cJSON_Delete(row);
        return -ENOMEM;
    }
    int ok = cJSON_AddStringToObject(row, "task", string(task, "id") ?
                                     string(task, "id") : "") &&
             (problem ? cJSON_AddStringToObject(row, "problem_id", problem)
                      : cJSON_AddNullToObject(row, "problem_id")) &&
             cJSON_AddStringToObject(row, "status", status) &&
             cJSON_AddNumberToObject(row, "attempts",
                                     number(task, "attempts", 0));
    if (ok && finished)
        ok = (strcmp(status, "error") == 0
                  ? cJSON_AddNullToObject(row, "first_attempt_passed")
                  : cJSON_AddBoolToObject(row, "first_attempt_passed", first)) &&
             cJSON_AddNumberToObject(row, "tokens", tokens) &&
             cJSON_AddNumberToObject(row, "wall_s", r4(wall_s));
    else if (ok)
        ok = cJSON_AddNullToObject(row, "first_attempt_passed") &&
             cJSON_AddNullToObject(row, "tokens") &&
             cJSON_AddNullToObject(row, "wall_s");
    const char *at = string(task, "finished_at");
    /* RFC 3339 UTC times of one width sort as strings. */
    if (at && strlen(at) < sizeof a->last_finished &&
        strcmp(at, a->last_finished) > 0)
        strcpy(a->last_finished, at);
    if (ok)
        ok = at ? cJSON_AddStringToObject(row, "finished_at", at) != NULL
                : cJSON_AddNullToObject(row, "finished_at") != NULL;
    return ok ? 0 : -ENOMEM;
}

/* Adds name = x, or null when there is nothing to divide by. */
static int add_ratio(cJSON *o, const char *name, double num, unsigned den)
{
    return den ? cJSON_AddNumberToObject(o, name, r4(num / den)) != NULL
               : cJSON_AddNullToObject(o, name) != NULL;
}

static int add_interval(cJSON *o, const char *name, unsigned k, unsigned n)
{
    double lo, hi;
    cJSON *a;

    if (eval_wilson(k, n, &lo, &hi) < 0)
        return cJSON_AddNullToObject(o, name) != NULL;
    a = cJSON_AddArrayToObject(o, name);
    return a && cJSON_AddItemToArray(a, cJSON_CreateNumber(r4(lo))) &&
           cJSON_AddItemToArray(a, cJSON_CreateNumber(r4(hi)));
}

cJSON *eval_acc_json(struct eval_acc *a, const char *set)
{
    cJSON *o = cJSON_CreateObject();

    if (!o)
        return NULL;
    int ok = cJSON_AddStringToObject(o, "set", set) &&
             cJSON_AddBoolToObject(o, "held_out",
                                   a->problems && a->all_held_out) &&
             cJSON_AddNumberToObject(o, "problems", a->problems) &&
             cJSON_AddNumberToObject(o, "queued", a->queued) &&
             cJSON_AddNumberToObject(o, "running", a->running) &&
             cJSON_AddNumberToObject(o, "cancelled", a->cancelled) &&
             cJSON_AddNumberToObject(o, "finished", a->finished) &&
             cJSON_AddNumberToObject(o, "judged", a->judged) &&
             cJSON_AddNumberToObject(o, "errors", a->errors) &&
             cJSON_AddNumberToObject(o, "passed_first", a->passed_first) &&
             cJSON_AddNumberToObject(o, "passed", a->passed) &&
             cJSON_AddNumberToObject(o, "failed", a->judged - a->passed) &&
             add_ratio(o, "pass_at_1", a->passed_first, a->judged) &&
             add_interval(o, "pass_at_1_ci95", a->passed_first, a->judged) &&
             add_ratio(o, "pass_final", a->passed, a->judged) &&
             add_interval(o, "pass_final_ci95", a->passed, a->judged) &&
             add_ratio(o, "mean_attempts", a->attempts_sum, a->judged) &&
             add_ratio(o, "mean_tokens", a->tokens_sum, a->finished) &&
             add_ratio(o, "mean_wall_s", a->wall_sum, a->finished) &&
             (a->last_finished[0]
                  ? cJSON_AddStringToObject(o, "updated_at", a->last_finished)
                  : cJSON_AddNullToObject(o, "updated_at")) != NULL;
    if (ok) {
        if (!a->rows)
            a->rows = cJSON_CreateArray();
        ok = a->rows && cJSON_AddItemToObject(o, "tasks", a->rows);
        if (ok)
            a->rows = NULL;     /* o owns them now */
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

void eval_acc_free(struct eval_acc *a)
{
    cJSON_Delete(a->rows);
    a->rows = NULL;
}

static int add_cb(void *ctx, uint64_t key, const char *val, size_t len)
{
    cJSON *task = cJSON_ParseWithLength(val, len);
    int rc;

    (void)key;
    if (!task)
        return STORE_ECORRUPT;
    rc = eval_acc_add(ctx, task);
    cJSON_Delete(task);
    return rc;
}

int eval_render(struct store_view *v, const char *set, struct fs_buf *out)
{
    struct eval_acc a;
    cJSON *o;
    int rc;

    eval_acc_init(&a);
    rc = store_view_set_tasks(v, set, add_cb, &a);
    if (rc < 0) {
        eval_acc_free(&a);
        return rc;
    }
    o = eval_acc_json(&a, set);
    eval_acc_free(&a);
    rc = o ? fs_buf_add_json(out, o, 1) : -ENOMEM;
    cJSON_Delete(o);
    return rc;
}
