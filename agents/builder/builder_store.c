/* builder_store.c -- what a task's work leaves in the store: the result
 * with its code, score, reflection, summary and log lines in one commit
 * (memory_commit), an "error" when it cannot go on, a cancel, and the
 * progress kept when it goes back to the queue (resume.h).
 */
#include "builder_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

/* The strings of a reflection's "concepts", pointers into o. */
static size_t concepts_of(const cJSON *o, const char **out, size_t max)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "concepts"), *c;
    size_t n = 0;

    cJSON_ArrayForEach(c, a)
        if (cJSON_IsString(c) && *c->valuestring && n < max)
            out[n++] = c->valuestring;
    return n;
}

/* Prints o (compact) and frees it; NULL when o is NULL or on no memory. */
char *builder_print_free(cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;

    cJSON_Delete(o);
    return s;
}

int builder_commit(struct builder *b, const struct task *t, unsigned natt,
                   struct attempt *att, const struct verdict *v,
                   const char *score_json, cJSON *reflection)
{
    struct store_code code[STORE_MAX_ATTEMPT];
    size_t ncode = 0;
    const char *concepts[32];
    size_t nconcepts = concepts_of(reflection, concepts, 32);
    const char *ext = builder_code_ext(t);
    cJSON *result = cJSON_CreateObject(), *summary = cJSON_CreateObject();
    char *result_json, *summary_json, *reflection_json;
    char tests[64];
    int rc;

    for (unsigned i = 0; i < natt && ncode < STORE_MAX_ATTEMPT; i++)
        if (att[i].code)
            code[ncode++] = (struct store_code){ i + 1, ext, att[i].code,
                                                 strlen(att[i].code) };
    if (result) {
        int p = v->hidden_total ? v->hidden_passed : v->visible_passed;
        int n = v->hidden_total ? v->hidden_total : v->visible_total;
        cJSON_AddNumberToObject(result, "tests_passed", p);
        cJSON_AddNumberToObject(result, "tests_total", n);
        cJSON *vis = cJSON_AddObjectToObject(result, "visible");
        cJSON_AddNumberToObject(vis, "passed", v->visible_passed);
        cJSON_AddNumberToObject(vis, "total", v->visible_total);
        if (v->hidden_total) {
            cJSON *hid = cJSON_AddObjectToObject(result, "hidden");
            cJSON_AddNumberToObject(hid, "passed", v->hidden_passed);
            cJSON_AddNumberToObject(hid, "total", v->hidden_total);
        } else {
            cJSON_AddNullToObject(result, "hidden");
        }
        cJSON_AddBoolToObject(result, "tests_self_written", v->self_written);
        if (v->reason[0])
            cJSON_AddStringToObject(result, "reason", v->reason);
        else
            cJSON_AddNullToObject(result, "reason");
        cJSON_AddNumberToObject(result, "final_attempt", v->final_attempt);
        if (v->outcome)
            cJSON_AddStringToObject(result, "outcome", v->outcome);
        /* The Trainer reads the kind by this name (failure.h). */
        if (v->failure != FAILURE_NONE)
            cJSON_AddStringToObject(result, "failure",
                                    failure_kind_name(v->failure));
        else
            cJSON_AddNullToObject(result, "failure");
        cJSON_AddNumberToObject(result, "run_ms", round(v->run_ms * 10) / 10);
        cJSON_AddNumberToObject(result, "wall_ms", round(v->wall_ms));
        cJSON *u = cJSON_AddObjectToObject(result, "usage");
        cJSON_AddNumberToObject(u, "llm_calls", b->usage.llm_calls);
        cJSON_AddNumberToObject(u, "llm_requests", b->usage.llm_requests);
        cJSON_AddNumberToObject(u, "prompt_tokens",
                                (double)b->usage.prompt_tokens);
        cJSON_AddNumberToObject(u, "completion_tokens",
                                (double)b->usage.completion_tokens);
        if (b->usage.timed_calls) {
            cJSON_AddNumberToObject(u, "prompt_tokens_evaluated",
                                    (double)b->usage.prompt_evaluated);
            cJSON_AddNumberToObject(u, "prompt_tokens_cached",
                                    (double)b->usage.prompt_cached);
        }
        cJSON_AddNumberToObject(u, "llm_ms", round(b->usage.llm_ms));
        cJSON_AddNumberToObject(u, "sandbox_runs", b->usage.sandbox_runs);
        cJSON_AddNumberToObject(u, "sandbox_ms", round(b->usage.sandbox_ms));
        snprintf(tests, sizeof tests, "%d/%d", p, n);
    }
    if (summary) {
        cJSON_AddStringToObject(summary, "task", t->name);
        cJSON_AddStringToObject(summary, "goal", t->doc.goal);
        cJSON_AddStringToObject(summary, "status", v->status);
        cJSON_AddNumberToObject(summary, "attempts", natt);
        cJSON_AddStringToObject(summary, "tests", tests);
        cJSON_AddStringToObject(summary, "summary",
                                builder_jstr(reflection, "summary",
                                             v->reason));
    }
    cJSON_AddStringToObject(reflection, "task", t->name);
    cJSON_AddStringToObject(reflection, "status", v->status);
    result_json = builder_print_free(result);
    summary_json = builder_print_free(summary);
    reflection_json = cJSON_PrintUnformatted(reflection);

    struct memory_outcome mo = {
        .id = t->id, .status = v->status, .attempts = (int)natt,
        .goal = t->doc.goal, .tests = t->doc.tests,
        .held_out = t->doc.held_out,
        .skills = t->doc.skills, .nskills = t->doc.nskills,
        .difficulty = t->doc.difficulty, .final_attempt = v->final_attempt,
        .score_json = score_json, .result_json = result_json,
        .code = code, .ncode = ncode, .reflection_json = reflection_json,
        .summary_json = summary_json, .concepts = concepts,
        .nconcepts = nconcepts, .model = llm_config(b->pool->env.llm)->model,
        .now = time(NULL),
    };
    mo.logs = log_batch_lines(&b->log, &mo.nlogs);
    rc = result_json && summary_json && reflection_json
             ? memory_commit(b->pool->env.st, &mo) : -ENOMEM;
    if (rc == 0)
        log_batch_forget(&b->log);     /* written with the result */
    free(result_json);
    free(summary_json);
    free(reflection_json);
    return rc;
}

/* Finishes a task as "error" (the LLM kept failing, the task could not be
 * read, ...). */
enum build_end builder_give_up(struct builder *b, const struct task *t,
                               unsigned natt, struct attempt *att,
                               const char *why)
{
    struct verdict v = { .status = "error",
                         .wall_ms = clock_mono_ms() - b->task_t0 };
    cJSON *refl = cJSON_CreateObject();
    int rc;

    snprintf(v.reason, sizeof v.reason, "%s", why);
    cJSON_AddTrueToObject(refl, "missing");
    cJSON_AddStringToObject(refl, "reason", "the task ended in an error");
    rc = refl ? builder_commit(b, t, natt, att, &v, NULL, refl) : -ENOMEM;
    cJSON_Delete(refl);
    if (rc < 0) {
        builder_logf(b, t, "cannot record the error (%s); back to the queue",
                     store_strerror(rc));
        return BUILD_REQUEUE;
    }
    builder_logf(b, t, "error: %s", why);
    return BUILD_DONE;
}

/* Records a task as cancelled (control's "cancel ID", taken at one of
 * builder_build()'s steps): the code so far is kept, nothing is scored and the
 * skill map and profile do not change -- nothing was judged. */
enum build_end builder_cancel(struct builder *b, const struct task *t,
                              unsigned natt, struct attempt *att,
                              const char *where)
{
    struct store_code code[STORE_MAX_ATTEMPT];
    size_t ncode = 0;
    const char *ext = builder_code_ext(t);
    char result[256];
    int rc;

    for (unsigned i = 0; att && i < natt && ncode < STORE_MAX_ATTEMPT; i++)
        if (att[i].code)
            code[ncode++] = (struct store_code){ i + 1, ext, att[i].code,
                                                 strlen(att[i].code) };
    snprintf(result, sizeof result, "{\"reason\":\"cancelled by control "
             "%s\"}", where);
    builder_logf(b, t, "cancelled %s, after %u attempt%s", where, natt,
                 natt == 1 ? "" : "s");
    struct store_task_outcome out = {
        .status = "cancelled", .attempts = (int)natt,
        .result_json = result, .code = code, .ncode = ncode,
    };
    out.logs = log_batch_lines(&b->log, &out.nlogs);
    rc = store_task_finish(b->pool->env.st, t->id, &out);
    if (rc < 0) {
        builder_logf(b, t, "cannot record the cancel (%s); back to the queue",
                     store_strerror(rc));
        return BUILD_REQUEUE;
    }
    log_batch_forget(&b->log);
    return BUILD_DONE;
}

/* Keeps where the task got to (resume.h). Failing to keep it costs only
 * work done again, so it is logged, not fatal. */
void builder_progress_save(struct builder *b, const struct task *t,
                           int tests_done, const char *own_tests,
                           const struct attempt *att, unsigned natt,
                           unsigned llm_failures)
{
    struct resume_attempt ra[STORE_MAX_ATTEMPT];
    struct resume r = { .tests_done = tests_done, .tests = (char *)own_tests,
                        .natt = natt, .att = ra,
                        .llm_failures = llm_failures, .usage = b->usage };
    int rc;

    r.usage.work_ms = clock_mono_ms() - b->task_t0;

    for (unsigned i = 0; i < natt && i < STORE_MAX_ATTEMPT; i++)
        ra[i] = (struct resume_attempt){ att[i].code, att[i].problem,
                                         (int)att[i].rule };
    if ((rc = resume_save(b->pool->env.st, t->id, &r)) < 0 ||
        (rc = store_task_set_attempts(b->pool->env.st, t->id, (int)natt)) < 0)
        builder_logf(b, t, "cannot keep its progress (%s); a restart "
                     "begins it again", store_strerror(rc));
}
