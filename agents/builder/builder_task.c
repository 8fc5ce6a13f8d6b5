/* builder_task.c -- one task's walk through the Builder, step by step:
 *
 *   prepare  decode the task; take up its kept progress (resume.h)
 *   tests    without visible tests, the model writes its own
 *   recall   past lessons and solved code (memory.h)
 *   attempt  prompt (cut to fit) -> LLM -> extract -> sandbox -> feedback,
 *            until one passes the visible tests or max_attempts
 *   judge    the chosen code, with the hidden tests (builder_run.c)
 *   finish   score, reflect, and commit it all (builder_store.c)
 *
 * Each step says what it does in status.json and logs/system.log. A step
 * ends the walk early by returning a build_end in *end: the task was
 * cancelled at that step (control's "cancel ID"), goes back to the queue
 * (the LLM is not available, btfs is stopping) or ends as "error".
 */
#include "builder_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "task.h"

/* Bytes of s to show in at most max bytes: its first line, cut on a
 * character boundary. */
static size_t goal_cut(const char *s, size_t max)
{
    size_t n = strcspn(s, "\r\n");

    if (n <= max)
        return n;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

const char *builder_jstr(const cJSON *o, const char *name, const char *def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsString(v) ? v->valuestring : def;
}

static void task_free(struct task *t)
{
    task_doc_free(&t->doc);
    memset(t, 0, sizeof *t);
}

static int task_parse(uint64_t id, const char *json, long default_timeout_ms,
                      struct task *t)
{
    const struct task_doc *d = &t->doc;
    int rc;

    memset(t, 0, sizeof *t);
    t->id = id;
    store_id_format(id, t->name);
    if ((rc = task_doc_decode(json, strlen(json), &t->doc)) < 0)
        return rc;
    t->timeout_ms = d->timeout_s ? d->timeout_s * 1000L : default_timeout_ms;
    if (d->max_attempts <= STORE_MAX_ATTEMPT)
        t->max_attempts = (unsigned)d->max_attempts;
    return 0;
}

/* The extension of the task's archived code; a language the parser would
 * not take (a document from elsewhere) is archived as the default's. */
const char *builder_code_ext(const struct task *t)
{
    const char *ext = task_language_ext(t->doc.language);

    return ext ? ext : task_language_ext(TASK_DEFAULT_LANGUAGE);
}

void builder_prompt_task_of(const struct task *t, const char *tests,
                            int self_written, struct prompt_task *pt)
{
    memset(pt, 0, sizeof *pt);
    pt->goal = t->doc.goal;
    pt->language = t->doc.language;
    pt->tests = tests;
    pt->tests_self_written = self_written;
    pt->constraints = t->doc.constraints;
    pt->nconstraints = t->doc.nconstraints;
    pt->skills = t->doc.skills;
    pt->nskills = t->doc.nskills;
    pt->difficulty = t->doc.difficulty;
}

/* A cancel asked for at this step ends the walk here. */
static int cancelled(struct build *w, const char *where, enum build_end *end)
{
    if (!status_cancel_take(w->b->pool->env.status, w->t.id))
        return 0;
    *end = builder_cancel(w->b, &w->t, w->natt, w->att, where);
    return 1;
}

/* Decodes the task and takes up its kept progress. 0 to go on, else -1
 * with *end set. */
static int prepare(struct build *w, uint64_t id, const char *json,
                   enum build_end *end)
{
    struct builder *b = w->b;
    struct builder_pool *p = b->pool;
    struct task *t = &w->t;
    struct resume res;

    if (task_parse(id, json, exec_config(p->env.ex)->limits.timeout_ms,
                   t) < 0) {
        store_id_format(id, t->name);
        *end = builder_give_up(b, t, 0, NULL,
                               "the task document cannot be read");
        return -1;
    }
    w->max = t->max_attempts ? t->max_attempts  /* the task's own setting */
                             : p->cfg.max_attempts;
    w->att = calloc(w->max, sizeof *w->att);
    if (!w->att) {
        *end = BUILD_REQUEUE;
        return -1;
    }
    /* The goal may be a whole benchmark prompt: it is in the task file,
     * so the log names it by its start only. */
    const char *goal = t->doc.goal;
    size_t cut = goal_cut(goal, 80);
    /* A task that went back to the queue mid-way goes on from there. */
    if (resume_load(p->env.st, id, w->max, &res) == 0) {
        w->tests_done = res.tests_done;
        w->own_tests = res.tests;
        res.tests = NULL;
        for (w->natt = 0; w->natt < res.natt; w->natt++) {
            unsigned i = w->natt;
            w->att[i] = (struct attempt){ res.att[i].code,
                                          res.att[i].problem,
                                          (enum extract_code_rule)
                                              res.att[i].rule };
            res.att[i].code = res.att[i].problem = NULL;
            if (w->att[i].code && !w->att[i].problem)
                w->passed_attempt = (int)i + 1;
        }
        w->llm_failures = res.llm_failures;
        b->usage = res.usage;
        /* The wall time goes on from where the last run left it: the
         * time in the queue between the runs is no work of the task. */
        w->t0 = b->task_t0 = clock_mono_ms() - res.usage.work_ms;
        resume_free(&res);
        builder_logf(b, t, "resumed after %u attempt%s (%u LLM calls so "
                     "far): %.*s%s", w->natt, w->natt == 1 ? "" : "s",
                     b->usage.llm_calls, (int)cut, goal,
                     goal[cut] ? "..." : "");
    } else {
        builder_logf(b, t, "started: %.*s%s", (int)cut, goal,
                     goal[cut] ? "..." : "");
    }
    return 0;
}

/* Tests first: without visible ones there is nothing to repair against,
 * so the model writes its own (shown as such). 0 to go on, else -1 with
 * *end set. */
static int tests(struct build *w, enum build_end *end)
{
    const struct task *t = &w->t;

    w->tests = t->doc.tests;
    if (cancelled(w, "before its first step", end))
        return -1;
    if (!*w->tests && !w->tests_done) {
        enum ask_end e = builder_write_tests(w->b, t, &w->own_tests);
        if (e == ASK_STOP || e == ASK_REQUEUE) {
            *end = e == ASK_STOP ? BUILD_STOP : BUILD_REQUEUE;
            return -1;
        }
        w->tests_done = 1;
    }
    if (!*w->tests && w->own_tests) {
        w->tests = w->own_tests;
        w->self_written = 1;
    }
    builder_prompt_task_of(t, w->tests, w->self_written, &w->pt);
    prompt_fit_init(&w->fit, w->pt.goal, w->pt.tests);
    return 0;
}

/* Past lessons and solved code for the prompt; memory helps, it is not
 * needed, so a failure here costs only the recall. */
static void recall(struct build *w)
{
    struct builder_pool *p = w->b->pool;
    const struct task *t = &w->t;
    struct memory_query mq = {
        .self = t->id, .goal = t->doc.goal, .tests = t->doc.tests,
        .skills = t->doc.skills, .nskills = t->doc.nskills,
        .max_items = p->cfg.memory_items,
    };

    builder_step(w->b, t, "working", "recalling memory");
    if (t->doc.memory && memory_recall(p->env.st, &mq, &w->mem) < 0)
        memset(&w->mem, 0, sizeof w->mem);
}

/* The code prompt of the next attempt, cut to fit the model's context
 * when even without memory it does not. 0, or -1 with *end set. */
static int attempt_prompt(struct build *w, const struct prompt_feedback *fb,
                          struct prompt *pr, enum build_end *end)
{
    struct builder *b = w->b;
    struct llm *llm = b->pool->env.llm;
    struct prompt_feedback cutfb;
    int rc;

    rc = prompt_code(&w->pt, w->mem.items, w->mem.n, fb,
                     llm_prompt_budget(llm, 0), pr);
    /* Without memory it still does not fit: the middle of the long tests,
     * goal and test output quoted back goes next, the longest first,
     * marked as cut (prompt_fit.h). */
    if (rc == -E2BIG) {
        int cut = 0;
        if (fb) {
            cutfb = *fb;
            prompt_fit_set_output(&w->fit, fb->problem, PROMPT_MAX_PROBLEM);
            fb = &cutfb;
        }
        while (rc == -E2BIG && prompt_fit_step(&w->fit) == 1) {
            cut = 1;
            w->pt.goal = prompt_fit_goal(&w->fit);
            w->pt.tests = prompt_fit_tests(&w->fit);
            if (fb)
                cutfb.problem = prompt_fit_output(&w->fit);
            rc = prompt_code(&w->pt, NULL, 0, fb, llm_prompt_budget(llm, 0),
                             pr);
        }
        if (cut && rc == 0)
            builder_logf(b, &w->t, "the prompt was cut to fit the model's "
                         "context (goal %zu of %zu bytes, tests %zu of %zu, "
                         "test output %zu of %zu)",
                         strlen(w->pt.goal), strlen(w->fit.goal0),
                         w->pt.tests ? strlen(w->pt.tests) : (size_t)0,
                         strlen(w->fit.tests0),
                         fb && fb->problem ? strlen(fb->problem) : (size_t)0,
                         fb && fb->problem ? strlen(w->fit.out0) : (size_t)0);
    }
    if (rc == -E2BIG) {
        char reason[512];
        builder_context_reason(llm, &w->pt, fb, reason, sizeof reason);
        *end = builder_give_up(b, &w->t, w->natt, w->att, reason);
        return -1;
    } else if (rc < 0) {
        *end = BUILD_REQUEUE;
        return -1;
    }
    return 0;
}

enum attempt_end {
    ATTEMPT_NEXT,           /* go on: another attempt (or the same again) */
    ATTEMPT_PASSED,         /* it passed the visible tests                */
    ATTEMPT_END,            /* the walk ends: *end says how               */
};

/* One attempt: prompt -> LLM -> extract -> sandbox -> feedback. */
static enum attempt_end attempt(struct build *w, enum build_end *end)
{
    struct builder *b = w->b;
    struct builder_pool *p = b->pool;
    const struct task *t = &w->t;
    struct prompt pr;
    struct llm_result r;
    struct prompt_feedback fb = { 0 };
    struct attempt *a = &w->att[w->natt];
    char stepname[64];

    snprintf(stepname, sizeof stepname, "before attempt %u", w->natt + 1);
    if (cancelled(w, stepname, end))
        return ATTEMPT_END;
    if (w->natt > 0)
        fb = (struct prompt_feedback){ w->natt, w->att[w->natt - 1].code,
                                       w->att[w->natt - 1].problem };
    if (attempt_prompt(w, w->natt > 0 ? &fb : NULL, &pr, end) < 0)
        return ATTEMPT_END;
    snprintf(stepname, sizeof stepname, "attempt %u: asking the LLM",
             w->natt + 1);
    builder_step(b, t, "working", stepname);
    enum ask_end e = builder_ask(b, t, &pr, NULL, &r, w->why, sizeof w->why);
    prompt_free(&pr);
    /* Too long for the server: the client has learned its context when
     * the server said it, and memory is what can be spared. */
    if (e == ASK_REQUEUE && r.err == LLM_E_CONTEXT && w->mem.n > 0) {
        w->mem.n = 0;
        llm_result_free(&r);
        return ATTEMPT_NEXT;
    }
    if (e != ASK_OK) {
        /* A prompt the server finds too long goes again without the
         * memory, which is what can be spared. */
        if (r.err == LLM_E_CONTEXT || r.err == LLM_E_BUDGET)
            w->mem.n = 0;
        llm_result_free(&r);
        if (e == ASK_FAIL && ++w->llm_failures < p->cfg.llm_tries)
            return ATTEMPT_NEXT;    /* the same attempt again */
        if (e == ASK_FAIL) {
            char reason[800];
            snprintf(reason, sizeof reason, "the LLM kept failing (%u "
                     "times); last: %s", w->llm_failures, w->why);
            *end = builder_give_up(b, t, w->natt, w->att, reason);
        } else {
            *end = e == ASK_STOP ? BUILD_STOP : BUILD_REQUEUE;
        }
        return ATTEMPT_END;
    }
    w->natt++;
    if (w->natt > 1)        /* the first is cheap to redo */
        builder_progress_save(b, t, w->tests_done, w->own_tests, w->att,
                              w->natt - 1, w->llm_failures);
    a->rule = extract_code(r.content, t->doc.language, &a->code);
    if (r.err == LLM_E_TRUNCATED)
        builder_logf(b, t, "attempt %u: the answer was cut at max_tokens",
                     w->natt);
    llm_result_free(&r);
    if (!a->code) {
        a->problem = strdup("Your answer contained no code block. Reply "
                            "with the complete solution in one fenced code "
                            "block.");
        builder_logf(b, t, "attempt %u: no code in the answer", w->natt);
        return ATTEMPT_NEXT;
    }
    snprintf(stepname, sizeof stepname, "attempt %u: running tests",
             w->natt);
    builder_step(b, t, "working", stepname);
    exec_result_free(&w->last);
    w->last_attempt = (int)w->natt;
    if (builder_run_code(b, t, stepname, a->code, w->tests, &w->last) < 0) {
        w->last_attempt = 0;
        a->problem = strdup("The sandbox could not run the code.");
        builder_logf(b, t, "attempt %u: the sandbox failed", w->natt);
        return ATTEMPT_NEXT;
    }
    builder_logf(b, t, "attempt %u: %s, %d/%d tests (code by rule %s)",
                 w->natt, exec_outcome_name(w->last.outcome),
                 w->last.tests_passed, w->last.tests_total,
                 extract_code_rule_name(a->rule));
    if (builder_run_passed(&w->last, *w->tests != '\0')) {
        w->passed_attempt = (int)w->natt;
        return ATTEMPT_PASSED;
    }
    a->problem = builder_describe_failure(&w->last, *w->tests != '\0');
    if (stopper_stopped(&p->stopper)) {
        *end = BUILD_STOP;
        return ATTEMPT_END;
    }
    return ATTEMPT_NEXT;
}

/* Scores and reflects on the judged code and commits everything. */
static enum build_end finish(struct build *w)
{
    struct builder *b = w->b;
    const struct task *t = &w->t;
    struct verdict *v = &w->v;
    const char *code = v->final_attempt ? w->att[v->final_attempt - 1].code
                                        : NULL;
    double total = 0;
    char *score_json = builder_score(b, t, v, code, w->natt ? w->natt : 1,
                                     &total);
    cJSON *refl = builder_reflect(b, t, &w->pt, v->status,
                                  v->hidden_total ? v->hidden_passed
                                                  : v->visible_passed,
                                  v->hidden_total ? v->hidden_total
                                                  : v->visible_total,
                                  w->att, w->natt, code);
    int rc;

    builder_step(b, t, "working", "saving");
    v->wall_ms = clock_mono_ms() - w->t0;
    /* The verdict's line goes into the same commit as the verdict. */
    builder_logf(b, t, "%s after %u attempt%s, score %.3f (%.1f s)%s%s",
                 v->status, w->natt, w->natt == 1 ? "" : "s", total,
                 (clock_mono_ms() - w->t0) / 1000, v->reason[0] ? ": " : "",
                 v->reason);
    rc = refl ? builder_commit(b, t, w->natt, w->att, v, score_json, refl)
              : -ENOMEM;
    cJSON_Delete(refl);
    free(score_json);
    if (rc < 0) {
        builder_logf(b, t, "cannot save the result (%s); back to the queue",
                     store_strerror(rc));
        b->save_err = rc;
        return BUILD_REQUEUE;
    }
    return BUILD_DONE;
}

enum build_end builder_build(struct builder *b, uint64_t id,
                             const char *json)
{
    struct build *w = calloc(1, sizeof *w);
    enum build_end end = BUILD_DONE;

    if (!w)
        return BUILD_REQUEUE;
    w->b = b;
    w->v.status = "failed";
    w->t0 = b->task_t0 = clock_mono_ms();
    memset(&b->usage, 0, sizeof b->usage);
    if (prepare(w, id, json, &end) < 0 || tests(w, &end) < 0)
        goto out;
    recall(w);
    for (enum attempt_end a = ATTEMPT_NEXT;
         a == ATTEMPT_NEXT && !w->passed_attempt && w->natt < w->max;)
        if ((a = attempt(w, &end)) == ATTEMPT_END)
            goto out;
    if (cancelled(w, "before judging", &end))
        goto out;
    builder_judge(w);
    if (cancelled(w, "before scoring", &end))
        goto out;
    end = finish(w);

out:
    /* Back to the queue: keep what was reached. Done: nothing to keep. */
    if (end != BUILD_DONE && w->att)
        builder_progress_save(b, &w->t, w->tests_done, w->own_tests, w->att,
                              w->natt, w->llm_failures);
    else if (end == BUILD_DONE)
        resume_clear(b->pool->env.st, id);
    exec_result_free(&w->last);
    for (unsigned i = 0; w->att && i < w->max; i++) {
        free(w->att[i].code);
        free(w->att[i].problem);
    }
    free(w->att);
    free(w->own_tests);
    prompt_fit_free(&w->fit);
    memory_recall_free(&w->mem);
    task_free(&w->t);
    free(w);
    return end;
}
