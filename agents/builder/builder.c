/* builder.c -- the Builder's threads and the work on one task.
 *
 * build() is the whole life of a task in one function of steps: tests (if
 * the task has none) -> memory -> attempts (LLM -> extract -> sandbox with
 * the visible tests -> feedback) -> judging with the hidden tests -> score
 * -> reflection -> commit. Each step says what it does in status.json and
 * logs/system.log. An LLM call ends one of four ways (ask()): an answer,
 * "stop" (btfs is stopping), "requeue" (the LLM is not available: the task
 * waits in the queue), or "fail" (it answers with errors; counted against
 * llm_tries).
 */
#include "builder.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "extract.h"
#include "failure.h"
#include "log_batch.h"
#include "memory.h"
#include "metrics.h"
#include "prompt.h"
#include "prompt_fit.h"
#include "resume.h"
#include "stopper.h"
#include "task.h"
#include "task_doc.h"

#define BACKOFF_MAX_MS 30000    /* longest pause after the LLM went away */
#define LOG_LINE 1024

struct builder_pool;

struct builder {
    struct builder_pool *pool;
    unsigned index;
    pthread_t thread;
    struct llm_session *session;    /* this thread's own                 */
    long backoff_ms;                /* after availability failures       */
    struct log_batch log;           /* this thread's unwritten lines:
                                       written with the task's result    */
    struct task_usage usage;        /* of the task being built           */
    double task_t0;                 /* when its work began (now_ms)      */
    int save_err;                   /* why the last result could not be
                                       saved (a full disk), 0 if it was  */
};

struct builder_pool {
    struct builder_config cfg;
    struct agent_env env;           /* the handles (the caller's)        */
    struct stopper stopper;         /* stop flag and wake-ups            */
    unsigned started;               /* threads created                   */
    struct builder *b;              /* cfg.threads of them               */
};

/* How a task's work ended, short of a verdict. */
enum build_end {
    BUILD_DONE,             /* committed: passed, failed or error        */
    BUILD_REQUEUE,          /* back to the queue: the LLM is unavailable */
    BUILD_STOP,             /* back to the queue: btfs is stopping       */
};

/* The task, as decoded from its document (task_doc.h); strings point
 * into 'doc'. */
struct task {
    struct task_doc doc;
    uint64_t id;
    char name[STORE_ID_MAX];
    const char *goal;
    const char *language;
    const char *tests;              /* visible; "" if none               */
    const char *hidden;             /* hidden; "" if none                */
    const char *reference;          /* seed/trainer tasks; NULL          */
    const char **skills;
    size_t nskills;
    const char **constraints;
    size_t nconstraints;
    double difficulty;
    long timeout_ms;
    unsigned max_attempts;          /* 0: the pool's setting             */
    int memory;                     /* 0: no recall (field "memory")     */
    int held_out;                   /* never recalled for other tasks    */
};

/* One attempt's record. */
struct attempt {
    char *code;                     /* NULL: no code in the answer       */
    char *problem;                  /* NULL: it passed the visible tests */
    enum extract_code_rule rule;
};

void builder_config_default(struct builder_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->threads = 1;
    cfg->max_attempts = 3;
    cfg->llm_tries = 3;
    cfg->memory_items = 4;
    cfg->idle_poll_ms = 200;
    score_weights_default(&cfg->weights);
}

/* --- small helpers ---------------------------------------------------------- */

static void logf_(struct builder *b, const struct task *t, const char *fmt,
                  ...) __attribute__((format(printf, 3, 4)));

/* One line of logs/system.log: "builder N: task_X: ...". */
static void logf_(struct builder *b, const struct task *t, const char *fmt,
                  ...)
{
    char line[LOG_LINE];
    int n;
    va_list ap;

    n = snprintf(line, sizeof line, "builder %u: %s%s", b->index,
                 t ? t->name : "", t ? ": " : "");
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof line)
        vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    log_batch_add(&b->log, STORE_LOG_SYSTEM, line);
}

static void step(struct builder *b, const struct task *t, const char *state,
                 const char *what)
{
    status_set_builder(b->pool->env.status, b->index, state, t ? t->id : 0, what);
}

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

static const char *jstr(const cJSON *o, const char *name, const char *def)
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
    t->goal = d->goal;
    t->language = d->language;
    t->tests = d->tests;
    t->hidden = d->hidden_tests;
    t->reference = d->reference;
    t->difficulty = d->difficulty;
    t->timeout_ms = d->timeout_s ? d->timeout_s * 1000L : default_timeout_ms;
    if (d->max_attempts <= STORE_MAX_ATTEMPT)
        t->max_attempts = (unsigned)d->max_attempts;
    t->memory = d->memory;
    t->held_out = d->held_out;
    t->skills = d->skills;
    t->nskills = d->nskills;
    t->constraints = d->constraints;
    t->nconstraints = d->nconstraints;
    return 0;
}

/* The extension of the task's archived code; a language the parser would
 * not take (a document from elsewhere) is archived as the default's. */
static const char *code_ext(const struct task *t)
{
    const char *ext = task_language_ext(t->language);

    return ext ? ext : task_language_ext(TASK_DEFAULT_LANGUAGE);
}

static void prompt_task_of(const struct task *t, const char *tests,
                           int self_written, struct prompt_task *pt)
{
    memset(pt, 0, sizeof *pt);
    pt->goal = t->goal;
    pt->language = t->language;
    pt->tests = tests;
    pt->tests_self_written = self_written;
    pt->constraints = t->constraints;
    pt->nconstraints = t->nconstraints;
    pt->skills = t->skills;
    pt->nskills = t->nskills;
    pt->difficulty = t->difficulty;
}

/* --- LLM calls ------------------------------------------------------------- */

enum ask_end { ASK_OK, ASK_STOP, ASK_REQUEUE, ASK_FAIL };

/* One LLM call with its outcome sorted. On ASK_FAIL and ASK_REQUEUE,
 * 'why' says what happened ("server_error: HTTP 500 ..."). */
static enum ask_end ask(struct builder *b, const struct task *t,
                        const struct prompt *p, const char *schema,
                        struct llm_result *r, char *why, size_t whylen)
{
    struct llm_message m[2] = { { "system", p->system },
                                { "user", p->user } };
    struct llm_request req = { .messages = m, .nmessages = 2,
                               .schema = schema };

    /* A user's task goes ahead of everything else in the LLM's queue. */
    if (t && t->doc.source && strcmp(t->doc.source, "user") == 0)
        req.priority = LLM_PRIO_USER;
    enum llm_err err = llm_chat(b->session, &req, r);

    b->usage.llm_calls++;
    b->usage.llm_requests += r->attempts;
    b->usage.prompt_tokens += r->prompt_tokens;
    b->usage.completion_tokens += r->completion_tokens;
    b->usage.prompt_evaluated += r->prompt_evaluated;
    b->usage.prompt_cached += r->prompt_cached;
    b->usage.timed_calls += r->have_timings != 0;
    b->usage.llm_ms += r->latency_ms;
    if (err == LLM_OK)
        return ASK_OK;
    /* An answer cut at max_tokens is still an answer: its code may be
     * whole, and if not, the sandbox will say so in the next prompt. */
    if (r->err == LLM_E_TRUNCATED && r->content && !schema)
        return ASK_OK;
    snprintf(why, whylen, "%s: %s", llm_err_name(r->err), r->error);
    if (r->err == LLM_E_CANCELLED || stopper_stopped(&b->pool->stopper))
        return ASK_STOP;
    if (llm_err_unavailable(r->err)) {
        llm_monitor_kick(b->pool->env.monitor);
        status_set_llm_health(b->pool->env.status, r->err != LLM_E_REFUSED &&
                              r->err != LLM_E_CONNECT_TIMEOUT, why);
        logf_(b, t, "the LLM is not available: %s", why);
        return ASK_REQUEUE;
    }
    logf_(b, t, "LLM call failed: %s", why);
    return ASK_FAIL;
}

/* --- the sandbox ------------------------------------------------------------- */

/* Runs code with tests (NULL: a plain run) and logs the run to shell.log. */
static int run_code(struct builder *b, const struct task *t, const char *what,
                    const char *code, const char *tests,
                    struct exec_result *res)
{
    struct exec_limits lim;
    struct exec_request req = { .lang = t->language, .code = code,
                                .tests = tests && *tests ? tests : NULL,
                                .limits = &lim };
    char *summary;
    int rc;

    memset(&lim, 0, sizeof lim);
    lim.timeout_ms = t->timeout_ms;
    rc = exec_run(b->pool->env.ex, &req, res);
    if (rc == 0) {
        b->usage.sandbox_runs++;
        b->usage.sandbox_ms += res->wall_ms + res->compile_ms;
    }
    summary = rc == 0 ? exec_result_summary(&req, res) : NULL;
    {
        char line[LOG_LINE];
        snprintf(line, sizeof line, "%s %s: %s", t->name, what,
                 summary ? summary : rc < 0 ? strerror(-rc) : "?");
        log_batch_add(&b->log, STORE_LOG_SHELL, line);
    }
    free(summary);
    return rc;
}

/* Whether a run passed: every test passed (at least one), or for a plain
 * run, exit 0. */
static int run_passed(const struct exec_result *r, int with_tests)
{
    if (with_tests)
        return r->outcome == EXEC_OK && r->tests_total > 0 &&
               r->tests_passed == r->tests_total;
    return r->outcome == EXEC_OK;
}

/* What went wrong in a run, for the next prompt: the outcome, the first
 * failing test, and the end of the error output. malloc'd. */
static char *describe_failure(const struct exec_result *r, int with_tests)
{
    char *s = NULL;
    const char *err = r->err ? r->err : "";
    const char *out = r->out ? r->out : "";
    size_t errn = strlen(err), outn = strlen(out);
    /* The end of the output holds the traceback's cause. */
    const char *err_tail = errn > 1500 ? err + errn - 1500 : err;
    const char *out_tail = outn > 400 ? out + outn - 400 : out;

    if (asprintf(&s, "%s%s%s%s%s%s%s%s%s",
                 r->timed_out ? "The run was killed at the time limit.\n"
                              : "",
                 with_tests ? "Tests: " : "Outcome: ",
                 with_tests ? "" : exec_outcome_name(r->outcome),
                 with_tests ? "" : "\n",
                 with_tests ? (r->first_failure ? r->first_failure
                                                : exec_outcome_name(
                                                      r->outcome))
                            : "",
                 with_tests ? "\n" : "",
                 *err_tail ? "stderr:\n" : "", err_tail,
                 *out_tail && !*err_tail ? out_tail : "") < 0)
        return NULL;
    if (with_tests) {
        char *t = NULL;
        if (asprintf(&t, "%d of %d tests passed. %s", r->tests_passed,
                     r->tests_total, s) >= 0) {
            free(s);
            s = t;
        }
    }
    return s;
}

/* Lint warnings for the final code: pyflakes for Python, gcc -Wall
 * -Wextra for C, run in the sandbox (the code is untrusted even to a
 * linter). -1 when no linter is available. */
static int lint(struct builder *b, const struct task *t, const char *code)
{
    struct exec_file f = { NULL, code, strlen(code) };
    struct exec_request req = { .lang = "sh", .files = &f, .nfiles = 1 };
    struct exec_result r;
    int n = -1;

    if (t->doc.lang_known && t->doc.lang == TASK_LANG_PYTHON) {
        f.name = "solution.py";
        req.code = "python3 -m pyflakes solution.py 2>&1; true\n";
    } else if (t->doc.lang_known && t->doc.lang == TASK_LANG_C) {
        f.name = "solution.c";
        req.code = "gcc -std=gnu11 -Wall -Wextra -fsyntax-only solution.c "
                   "2>&1 | grep -c 'warning:'; true\n";
    } else {
        return 0;
    }
    int rc = exec_run(b->pool->env.ex, &req, &r);
    if (rc == 0) {
        b->usage.sandbox_runs++;
        b->usage.sandbox_ms += r.wall_ms + r.compile_ms;
    }
    if (rc == 0) {
        char *summary = exec_result_summary(&req, &r);
        char line[LOG_LINE];
        snprintf(line, sizeof line, "%s lint: %s", t->name,
                 summary ? summary : "?");
        log_batch_add(&b->log, STORE_LOG_SHELL, line);
        free(summary);
    }
    if (rc == 0 && r.out) {
        if (strstr(r.out, "No module named pyflakes")) {
            n = -1;
        } else if (t->doc.lang == TASK_LANG_C) {
            n = atoi(r.out);
        } else {
            n = 0;
            for (const char *p = r.out; *p; p++)
                n += *p == '\n';
        }
    }
    exec_result_free(&r);
    return n;
}

/* --- one task ---------------------------------------------------------------- */

/* Asks for tests of a task that has no visible ones. Sets *tests (malloc'd)
 * or leaves it NULL when the model gave none usable. A failure here costs
 * the task nothing: the attempts run anyway (judged by a plain run and the
 * hidden tests), with their own count of LLM failures. */
static enum ask_end write_tests(struct builder *b, const struct task *t,
                                char **tests)
{
    struct prompt_task pt;
    struct prompt p;
    struct llm_result r;
    char why[700];
    enum ask_end e;

    *tests = NULL;
    prompt_task_of(t, NULL, 0, &pt);
    if (prompt_tests(&pt, &p) < 0)
        return ASK_FAIL;
    step(b, t, "working", "writing tests");
    e = ask(b, t, &p, prompt_tests_schema, &r, why, sizeof why);
    prompt_free(&p);
    if (e == ASK_OK) {
        const char *s = jstr(r.json, "tests", "");
        if (*s && !(*tests = strdup(s)))
            e = ASK_FAIL;
        logf_(b, t, "wrote its own tests (%zu bytes)", strlen(s));
    } else if (e == ASK_FAIL) {
        logf_(b, t, "could not write tests: %s", why);
        e = ASK_OK;                 /* go on without: judged by a plain run */
    }
    llm_result_free(&r);
    return e;
}

/* Asks for a reflection; never fails the task. Returns the reflection
 * object (owned by the caller), {"missing": true, "reason": ...} when the
 * model botched it. */
static cJSON *reflect(struct builder *b, const struct task *t,
                      const struct prompt_task *pt, const char *outcome,
                      int passed, int total, struct attempt *att,
                      unsigned natt, const char *final_code)
{
    const char *problems[256];
    struct prompt p;
    struct llm_result r;
    char why[700] = "";
    cJSON *o = NULL;
    size_t np = 0;

    for (unsigned i = 0; i < natt && np + 1 < sizeof problems /
                                                 sizeof *problems; i++)
        if (att[i].problem)
            problems[np++] = att[i].problem;
    problems[np] = NULL;
    step(b, t, "working", "reflecting");
    if (prompt_reflection(pt, outcome, passed, total, problems, final_code,
                          &p) == 0) {
        if (ask(b, t, &p, prompt_reflection_schema, &r, why, sizeof why) ==
                ASK_OK) {
            o = cJSON_Duplicate(r.json, 1);
        }
        llm_result_free(&r);
        prompt_free(&p);
    }
    if (!o) {
        o = cJSON_CreateObject();
        if (o) {
            cJSON_AddTrueToObject(o, "missing");
            cJSON_AddStringToObject(o, "reason", why[0] ? why
                                                        : "out of memory");
        }
        logf_(b, t, "reflection missing: %s", why);
    }
    return o;
}

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

static char *print_free(cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;

    cJSON_Delete(o);
    return s;
}

/* Everything build() gathered, for the commit. */
struct verdict {
    const char *status;             /* passed, failed, error             */
    char reason[512];               /* why not passed ("" if passed)     */
    int visible_passed, visible_total;
    int hidden_passed, hidden_total;
    int self_written;
    int final_attempt;              /* 0: no code at all                 */
    const char *outcome;            /* of the judging run                */
    enum failure_kind failure;      /* FAILURE_NONE unless "failed"      */
    double run_ms;
    double limit_ms;
    int timed_out;
    double wall_ms;                 /* the task's work, start to commit  */
};

static int commit(struct builder *b, const struct task *t, unsigned natt,
                  struct attempt *att, const struct verdict *v,
                  const char *score_json, cJSON *reflection)
{
    struct store_code code[STORE_MAX_ATTEMPT];
    size_t ncode = 0;
    const char *concepts[32];
    size_t nconcepts = concepts_of(reflection, concepts, 32);
    const char *ext = code_ext(t);
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
        cJSON_AddStringToObject(summary, "goal", t->goal);
        cJSON_AddStringToObject(summary, "status", v->status);
        cJSON_AddNumberToObject(summary, "attempts", natt);
        cJSON_AddStringToObject(summary, "tests", tests);
        cJSON_AddStringToObject(summary, "summary",
                                jstr(reflection, "summary", v->reason));
    }
    cJSON_AddStringToObject(reflection, "task", t->name);
    cJSON_AddStringToObject(reflection, "status", v->status);
    result_json = print_free(result);
    summary_json = print_free(summary);
    reflection_json = cJSON_PrintUnformatted(reflection);

    struct memory_outcome mo = {
        .id = t->id, .status = v->status, .attempts = (int)natt,
        .goal = t->goal, .tests = t->tests,
        .held_out = t->held_out,
        .skills = t->skills, .nskills = t->nskills,
        .difficulty = t->difficulty, .final_attempt = v->final_attempt,
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

/* Scores the judged code (see score.h). Returns a malloc'd JSON object. */
static char *score_it(struct builder *b, const struct task *t,
                      const struct verdict *v, const char *code,
                      unsigned natt, double *total)
{
    struct score_input in;
    struct score s;
    enum metrics_lang ml;
    int warnings;

    memset(&in, 0, sizeof in);
    if (metrics_lang_parse(t->language, &ml) < 0)
        ml = METRICS_PYTHON;
    in.visible_passed = v->visible_passed;
    in.visible_total = v->visible_total;
    in.hidden_passed = v->hidden_passed;
    in.hidden_total = v->hidden_total;
    in.tests_self_written = v->self_written && v->hidden_total == 0;
    in.run_ms = v->run_ms;
    in.limit_ms = v->limit_ms > 0 ? v->limit_ms : (double)t->timeout_ms;
    in.timed_out = v->timed_out;
    in.attempts = (int)natt;
    in.max_attempts = (int)(t->max_attempts ? t->max_attempts
                                            : b->pool->cfg.max_attempts);
    if (in.attempts > in.max_attempts)
        in.max_attempts = in.attempts;
    if (code)
        metrics_measure(ml, code, strlen(code), &in.code);
    if (t->reference &&
        metrics_measure(ml, t->reference, strlen(t->reference),
                        &in.reference) == 0)
        in.have_reference = 1;
    warnings = code ? lint(b, t, code) : 0;
    in.lint_warnings = warnings > 0 ? warnings : 0;
    in.difficulty = t->difficulty;
    if (score_compute(&in, &b->pool->cfg.weights, &s) < 0)
        return NULL;
    *total = s.total;
    cJSON *j = score_to_json(&s, 1);
    cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "details");
    if (d)
        cJSON_AddNumberToObject(d, "lint_warnings", warnings);
    return print_free(j);
}

/* Finishes a task as "error" (the LLM kept failing, the task could not be
 * read, ...). */
static enum build_end give_up(struct builder *b, const struct task *t,
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
    rc = refl ? commit(b, t, natt, att, &v, NULL, refl) : -ENOMEM;
    cJSON_Delete(refl);
    if (rc < 0) {
        logf_(b, t, "cannot record the error (%s); back to the queue",
              store_strerror(rc));
        return BUILD_REQUEUE;
    }
    logf_(b, t, "error: %s", why);
    return BUILD_DONE;
}

/* Records a task as cancelled (control's "cancel ID", taken at one of
 * build()'s steps): the code so far is kept, nothing is scored and the
 * skill map and profile do not change -- nothing was judged. */
static enum build_end cancel(struct builder *b, const struct task *t,
                             unsigned natt, struct attempt *att,
                             const char *where)
{
    struct store_code code[STORE_MAX_ATTEMPT];
    size_t ncode = 0;
    const char *ext = code_ext(t);
    char result[256];
    int rc;

    for (unsigned i = 0; att && i < natt && ncode < STORE_MAX_ATTEMPT; i++)
        if (att[i].code)
            code[ncode++] = (struct store_code){ i + 1, ext, att[i].code,
                                                 strlen(att[i].code) };
    snprintf(result, sizeof result, "{\"reason\":\"cancelled by control "
             "%s\"}", where);
    logf_(b, t, "cancelled %s, after %u attempt%s", where, natt,
          natt == 1 ? "" : "s");
    struct store_task_outcome out = {
        .status = "cancelled", .attempts = (int)natt,
        .result_json = result, .code = code, .ncode = ncode,
    };
    out.logs = log_batch_lines(&b->log, &out.nlogs);
    rc = store_task_finish(b->pool->env.st, t->id, &out);
    if (rc < 0) {
        logf_(b, t, "cannot record the cancel (%s); back to the queue",
              store_strerror(rc));
        return BUILD_REQUEUE;
    }
    log_batch_forget(&b->log);
    return BUILD_DONE;
}

/* Keeps where the task got to (resume.h). Failing to keep it costs only
 * work done again, so it is logged, not fatal. */
static void progress_save(struct builder *b, const struct task *t,
                          int tests_done, const char *own_tests,
                          const struct attempt *att, unsigned natt,
                          unsigned llm_failures)
{
    struct resume_attempt ra[STORE_MAX_ATTEMPT];
    struct resume r = { .tests_done = tests_done, .tests = (char *)own_tests,
                        .natt = natt, .att = ra,
                        .llm_failures = llm_failures, .usage = b->usage };
    int rc;

    for (unsigned i = 0; i < natt && i < STORE_MAX_ATTEMPT; i++)
        ra[i] = (struct resume_attempt){ att[i].code, att[i].problem,
                                         (int)att[i].rule };
    if ((rc = resume_save(b->pool->env.st, t->id, &r)) < 0 ||
        (rc = store_task_set_attempts(b->pool->env.st, t->id, (int)natt)) < 0)
        logf_(b, t, "cannot keep its progress (%s); a restart begins it "
              "again", store_strerror(rc));
}

/* The kind of a failed judging run, from the sandbox's outcome. */
static enum failure_kind failure_of_outcome(enum exec_outcome o)
{
    switch (o) {
    case EXEC_SYNTAX_ERROR:
    case EXEC_COMPILE_ERROR:
        return FAILURE_SYNTAX;
    case EXEC_TESTS_FAILED:
        return FAILURE_WRONG;
    case EXEC_FAILED:
    case EXEC_CRASHED:
        return FAILURE_EXCEPTION;
    case EXEC_TIMEOUT:
        return FAILURE_TIMEOUT;
    default:
        return FAILURE_OTHER;
    }
}

/* Why a task cannot fit even bare, with both numbers. */
static void context_reason(struct llm *llm, const struct prompt_task *pt,
                           const struct prompt_feedback *fb, char *out,
                           size_t len)
{
    struct prompt bare;
    unsigned need = 0, budget = llm_prompt_budget(llm, 0);

    if (prompt_code(pt, NULL, 0, fb, UINT_MAX, &bare) == 0) {
        struct llm_message m[2] = { { "system", bare.system },
                                    { "user", bare.user } };
        need = llm_estimate_tokens(&(struct llm_request){ .messages = m,
                                                          .nmessages = 2 });
        prompt_free(&bare);
    }
    snprintf(out, len, "the task alone needs about %u tokens of prompt but "
             "the model's context (%u tokens, %u kept for the answer) "
             "leaves %u: give the server a larger context, or set "
             "BT_LLM_CONTEXT / BT_LLM_MAX_TOKENS", need, llm_context(llm),
             llm_config(llm)->max_tokens, budget);
}

static enum build_end build(struct builder *b, uint64_t id, const char *json)
{
    struct builder_pool *p = b->pool;
    unsigned max = p->cfg.max_attempts;
    struct task t;
    struct attempt *att = NULL;
    unsigned natt = 0, llm_failures = 0;
    struct memory_recall mem = { 0 };
    struct prompt_task pt;
    char *own_tests = NULL, why[700];
    const char *tests;
    int self_written = 0, passed_attempt = 0, tests_done = 0;
    int last_attempt = 0;           /* whose run 'last' holds         */
    struct resume res;
    struct prompt_fit fit = { 0 };  /* the task's long parts, cut to fit */
    enum build_end end = BUILD_DONE;
    struct verdict v = { .status = "failed" };
    struct exec_result last = { 0 };
    double t0 = clock_mono_ms();

    b->task_t0 = t0;
    memset(&b->usage, 0, sizeof b->usage);
    if (task_parse(id, json, exec_config(p->env.ex)->limits.timeout_ms,
                   &t) < 0) {
        store_id_format(id, t.name);
        end = give_up(b, &t, 0, NULL, "the task document cannot be read");
        task_free(&t);
        return end;
    }
    if (t.max_attempts)
        max = t.max_attempts;       /* the task's own loop setting */
    att = calloc(max, sizeof *att);
    if (!att) {
        end = BUILD_REQUEUE;
        goto out;
    }
    /* A task that went back to the queue mid-way goes on from there. */
    if (resume_load(p->env.st, id, max, &res) == 0) {
        tests_done = res.tests_done;
        own_tests = res.tests;
        res.tests = NULL;
        for (natt = 0; natt < res.natt; natt++) {
            att[natt] = (struct attempt){ res.att[natt].code,
                                          res.att[natt].problem,
                                          (enum extract_code_rule)
                                              res.att[natt].rule };
            res.att[natt].code = res.att[natt].problem = NULL;
            if (att[natt].code && !att[natt].problem)
                passed_attempt = (int)natt + 1;
        }
        llm_failures = res.llm_failures;
        b->usage = res.usage;
        resume_free(&res);
        logf_(b, &t, "resumed after %u attempt%s (%u LLM calls so far): "
              "%.*s%s", natt, natt == 1 ? "" : "s", b->usage.llm_calls,
              (int)goal_cut(t.goal, 80), t.goal,
              t.goal[goal_cut(t.goal, 80)] ? "..." : "");
    } else {
        /* The goal may be a whole benchmark prompt: it is in the task
         * file, so the log names it by its start only. */
        logf_(b, &t, "started: %.*s%s", (int)goal_cut(t.goal, 80), t.goal,
              t.goal[goal_cut(t.goal, 80)] ? "..." : "");
    }

    /* Tests first: without visible ones there is nothing to repair
     * against, so the model writes its own (shown as such). */
    tests = t.tests;
    if (status_cancel_take(p->env.status, t.id)) {
        end = cancel(b, &t, natt, att, "before its first step");
        goto out;
    }
    if (!*tests && !tests_done) {
        enum ask_end e = write_tests(b, &t, &own_tests);
        if (e == ASK_STOP || e == ASK_REQUEUE) {
            end = e == ASK_STOP ? BUILD_STOP : BUILD_REQUEUE;
            goto out;
        }
        tests_done = 1;
    }
    if (!*tests && own_tests) {
        tests = own_tests;
        self_written = 1;
    }
    prompt_task_of(&t, tests, self_written, &pt);
    prompt_fit_init(&fit, pt.goal, pt.tests);

    step(b, &t, "working", "recalling memory");
    struct memory_query mq = {
        .self = t.id, .goal = t.goal, .tests = t.tests, .skills = t.skills,
        .nskills = t.nskills, .max_items = p->cfg.memory_items,
    };
    if (t.memory && memory_recall(p->env.st, &mq, &mem) < 0)
        memset(&mem, 0, sizeof mem);    /* memory helps; it is not needed */

    while (!passed_attempt && natt < max) {
        struct prompt pr;
        struct llm_result r;
        struct prompt_feedback fb = { 0 };
        struct attempt *a = &att[natt];
        char stepname[64];
        int rc;

        if (status_cancel_take(p->env.status, t.id)) {
            snprintf(stepname, sizeof stepname, "before attempt %u",
                     natt + 1);
            end = cancel(b, &t, natt, att, stepname);
            goto out;
        }
        if (natt > 0) {
            fb = (struct prompt_feedback){ natt, att[natt - 1].code,
                                           att[natt - 1].problem };
        }
        rc = prompt_code(&pt, mem.items, mem.n, natt > 0 ? &fb : NULL,
                         llm_prompt_budget(p->env.llm, 0), &pr);
        /* Without memory it still does not fit: the middle of the long
         * tests and goal goes next, marked as cut (prompt_fit.h). */
        if (rc == -E2BIG) {
            int cut = 0;
            while (rc == -E2BIG && prompt_fit_step(&fit) == 1) {
                cut = 1;
                pt.goal = prompt_fit_goal(&fit);
                pt.tests = prompt_fit_tests(&fit);
                rc = prompt_code(&pt, NULL, 0, natt > 0 ? &fb : NULL,
                                 llm_prompt_budget(p->env.llm, 0), &pr);
            }
            if (cut && rc == 0)
                logf_(b, &t, "the prompt was cut to fit the model's context "
                      "(goal %zu of %zu bytes, tests %zu of %zu)",
                      strlen(pt.goal), strlen(fit.goal0),
                      pt.tests ? strlen(pt.tests) : (size_t)0,
                      strlen(fit.tests0));
        }
        if (rc == -E2BIG) {
            char reason[512];
            context_reason(p->env.llm, &pt, natt > 0 ? &fb : NULL, reason,
                           sizeof reason);
            end = give_up(b, &t, natt, att, reason);
            goto out;
        } else if (rc < 0) {
            end = BUILD_REQUEUE;
            goto out;
        }
        snprintf(stepname, sizeof stepname, "attempt %u: asking the LLM",
                 natt + 1);
        step(b, &t, "working", stepname);
        enum ask_end e = ask(b, &t, &pr, NULL, &r, why, sizeof why);
        prompt_free(&pr);
        /* Too long for the server: the client has learned its context
         * when the server said it, and memory is what can be spared. */
        if (e == ASK_REQUEUE && r.err == LLM_E_CONTEXT && mem.n > 0) {
            mem.n = 0;
            llm_result_free(&r);
            continue;
        }
        if (e != ASK_OK) {
            /* A prompt the server finds too long goes again without the
             * memory, which is what can be spared. */
            if (r.err == LLM_E_CONTEXT || r.err == LLM_E_BUDGET)
                mem.n = 0;
            llm_result_free(&r);
            if (e == ASK_FAIL && ++llm_failures < p->cfg.llm_tries)
                continue;           /* the same attempt again */
            if (e == ASK_FAIL) {
                char reason[800];
                snprintf(reason, sizeof reason, "the LLM kept failing (%u "
                         "times); last: %s", llm_failures, why);
                end = give_up(b, &t, natt, att, reason);
            } else {
                end = e == ASK_STOP ? BUILD_STOP : BUILD_REQUEUE;
            }
            goto out;
        }
        natt++;
        if (natt > 1)       /* the first is cheap to redo */
            progress_save(b, &t, tests_done, own_tests, att, natt - 1,
                          llm_failures);
        a->rule = extract_code(r.content, t.language, &a->code);
        if (r.err == LLM_E_TRUNCATED)
            logf_(b, &t, "attempt %u: the answer was cut at max_tokens",
                  natt);
        llm_result_free(&r);
        if (!a->code) {
            a->problem = strdup("Your answer contained no code block. "
                                "Reply with the complete solution in one "
                                "fenced code block.");
            logf_(b, &t, "attempt %u: no code in the answer", natt);
            continue;
        }
        snprintf(stepname, sizeof stepname, "attempt %u: running tests",
                 natt);
        step(b, &t, "working", stepname);
        exec_result_free(&last);
        last_attempt = (int)natt;
        if (run_code(b, &t, stepname, a->code, tests, &last) < 0) {
            last_attempt = 0;
            a->problem = strdup("The sandbox could not run the code.");
            logf_(b, &t, "attempt %u: the sandbox failed", natt);
            continue;
        }
        logf_(b, &t, "attempt %u: %s, %d/%d tests (code by rule %s)", natt,
              exec_outcome_name(last.outcome), last.tests_passed,
              last.tests_total, extract_code_rule_name(a->rule));
        if (run_passed(&last, *tests != '\0')) {
            passed_attempt = (int)natt;
            break;
        }
        a->problem = describe_failure(&last, *tests != '\0');
        if (stopper_stopped(&p->stopper)) {
            end = BUILD_STOP;
            goto out;
        }
    }

    if (status_cancel_take(p->env.status, t.id)) {
        end = cancel(b, &t, natt, att, "before judging");
        goto out;
    }
    /* Judge: the code that passed the visible tests, else the last code;
     * the hidden tests decide when there are any. */
    int judged = passed_attempt;
    for (int i = (int)natt; !judged && i > 0; i--)
        if (att[i - 1].code)
            judged = i;
    v.self_written = self_written;
    v.final_attempt = judged;
    if (!judged) {
        snprintf(v.reason, sizeof v.reason, "no code in any of %u answers",
                 natt);
        v.failure = FAILURE_NO_CODE;
    } else {
        enum exec_outcome judged_outcome;
        const char *code = att[judged - 1].code;
        if (judged != last_attempt) {
            /* 'last' belongs to another attempt: run the judged code. */
            exec_result_free(&last);
            if (run_code(b, &t, "visible tests", code, tests, &last) < 0)
                memset(&last, 0, sizeof last);
        }
        v.visible_passed = last.tests_passed;
        v.visible_total = last.tests_total;
        v.outcome = exec_outcome_name(last.outcome);
        judged_outcome = last.outcome;
        v.run_ms = last.wall_ms;
        v.limit_ms = (double)last.limits.timeout_ms;
        v.timed_out = last.timed_out;
        int ok = run_passed(&last, *tests != '\0');
        if (*t.hidden) {
            step(b, &t, "working", "running hidden tests");
            exec_result_free(&last);
            if (run_code(b, &t, "hidden tests", code, t.hidden, &last) == 0) {
                v.hidden_passed = last.tests_passed;
                v.hidden_total = last.tests_total > 0 ? last.tests_total : 1;
                v.outcome = exec_outcome_name(last.outcome);
                judged_outcome = last.outcome;
                v.run_ms = last.wall_ms;
                v.timed_out = last.timed_out;
                ok = run_passed(&last, 1);
            } else {
                ok = 0;
            }
            if (!ok)
                snprintf(v.reason, sizeof v.reason, "hidden tests: %d of %d "
                         "passed%s%s", v.hidden_passed, v.hidden_total,
                         last.first_failure ? "; first failure: " : "",
                         last.first_failure ? last.first_failure : "");
        } else if (!ok) {
            snprintf(v.reason, sizeof v.reason, "%s",
                     att[judged - 1].problem ? att[judged - 1].problem
                                             : "the tests failed");
        }
        if (ok && !*tests && !*t.hidden) {
            ok = 0;
            snprintf(v.reason, sizeof v.reason, "no tests could be written, "
                     "so the code ran but could not be judged");
        }
        v.status = ok ? "passed" : "failed";
        v.failure = ok ? FAILURE_NONE : failure_of_outcome(judged_outcome);
    }

    if (status_cancel_take(p->env.status, t.id)) {
        end = cancel(b, &t, natt, att, "before scoring");
        goto out;
    }
    double total = 0;
    char *score_json = score_it(b, &t, &v, judged ? att[judged - 1].code
                                                  : NULL, natt ? natt : 1,
                                &total);
    cJSON *refl = reflect(b, &t, &pt, v.status,
                          v.hidden_total ? v.hidden_passed : v.visible_passed,
                          v.hidden_total ? v.hidden_total : v.visible_total,
                          att, natt, judged ? att[judged - 1].code : NULL);
    step(b, &t, "working", "saving");
    v.wall_ms = clock_mono_ms() - t0;
    /* The verdict's line goes into the same commit as the verdict. */
    logf_(b, &t, "%s after %u attempt%s, score %.3f (%.1f s)%s%s", v.status,
          natt, natt == 1 ? "" : "s", total, (clock_mono_ms() - t0) / 1000,
          v.reason[0] ? ": " : "", v.reason);
    int rc = refl ? commit(b, &t, natt, att, &v, score_json, refl) : -ENOMEM;
    cJSON_Delete(refl);
    free(score_json);
    if (rc < 0) {
        logf_(b, &t, "cannot save the result (%s); back to the queue",
              store_strerror(rc));
        b->save_err = rc;
        end = BUILD_REQUEUE;
    }

out:
    /* Back to the queue: keep what was reached. Done: nothing to keep. */
    if (end != BUILD_DONE && att)
        progress_save(b, &t, tests_done, own_tests, att, natt, llm_failures);
    else if (end == BUILD_DONE)
        resume_clear(p->env.st, id);
    exec_result_free(&last);
    for (unsigned i = 0; att && i < max; i++) {
        free(att[i].code);
        free(att[i].problem);
    }
    free(att);
    free(own_tests);
    prompt_fit_free(&fit);
    memory_recall_free(&mem);
    task_free(&t);
    return end;
}

/* --- threads ------------------------------------------------------------------- */

static void *run(void *arg)
{
    struct builder *b = arg;
    struct builder_pool *p = b->pool;

    while (!stopper_stopped(&p->stopper)) {
        uint64_t id;
        char *json = NULL;
        int rc;

        if (store_paused(p->env.st)) {
            step(b, NULL, "paused", "paused by control");
            stopper_nap(&p->stopper, p->cfg.idle_poll_ms);
            continue;
        }
        if (!llm_monitor_healthy(p->env.monitor)) {
            step(b, NULL, "waiting_for_llm", "waiting for the LLM");
            stopper_nap(&p->stopper, p->cfg.idle_poll_ms);
            continue;
        }
        rc = store_task_dequeue(p->env.st, &id, &json);
        if (rc == -ENOENT) {
            step(b, NULL, "idle", "waiting for tasks");
            stopper_nap(&p->stopper, p->cfg.idle_poll_ms);
            continue;
        } else if (rc < 0) {
            logf_(b, NULL, "cannot take a task: %s", store_strerror(rc));
            log_batch_flush(&b->log);
            stopper_nap(&p->stopper, 1000);
            continue;
        }
        enum build_end end = build(b, id, json);
        free(json);
        if (end == BUILD_DONE) {
            /* A request that came as the task ended is moot now. */
            (void)status_cancel_take(p->env.status, id);
            log_batch_flush(&b->log);           /* lines the commit did not take */
            b->backoff_ms = 0;
            continue;
        }
        char name[STORE_ID_MAX];
        store_id_format(id, name);
        /* Asked to stop while it waited for the LLM: it ends here rather
         * than going back to the queue. */
        if (end == BUILD_REQUEUE && status_cancel_take(p->env.status, id)) {
            rc = store_task_requeue(p->env.st, id);
            if (rc == 0)
                rc = store_task_cancel_queued(p->env.st, id, "cancelled by "
                                              "control while waiting for "
                                              "the LLM");
            /* Its progress was kept for a resume that will never come:
             * the cancelled task's resume document goes with it. */
            if (rc == 0 && (rc = resume_clear(p->env.st, id)) < 0)
                logf_(b, NULL, "%s: cannot drop its kept progress: %s",
                      name, store_strerror(rc));
            if (rc == -EBUSY)       /* another builder took it meanwhile */
                (void)status_cancel_request(p->env.status, id);
            else if (rc < 0)
                logf_(b, NULL, "%s: cannot cancel it: %s", name,
                      store_strerror(rc));
            log_batch_flush(&b->log);
            continue;
        }
        rc = store_task_requeue(p->env.st, id);
        /* A disk that cannot save the result may not take the requeue
         * either; keep trying until it does (space freed) or btfs stops,
         * when the next start requeues it. */
        while (rc < 0 && end == BUILD_REQUEUE && b->save_err &&
               !stopper_stopped(&p->stopper)) {
            step(b, NULL, "waiting", "the store cannot write");
            stopper_nap(&p->stopper, 2000);
            rc = store_task_requeue(p->env.st, id);
        }
        if (rc < 0)
            logf_(b, NULL, "%s: cannot put it back on the queue: %s (the "
                  "next start will)", name, store_strerror(rc));
        else
            logf_(b, NULL, "%s: back on the queue (%s)", name,
                  end == BUILD_STOP ? "btfs is stopping"
                  : b->save_err     ? store_strerror(b->save_err)
                                    : "the LLM is not available");
        log_batch_flush(&b->log);
        if (end == BUILD_REQUEUE && b->save_err) {
            /* Not the LLM's fault: wait for the disk, not for it. */
            b->save_err = 0;
            step(b, NULL, "waiting", "the store cannot write");
            stopper_nap(&p->stopper, 2000);
            continue;
        }
        if (end == BUILD_REQUEUE) {
            /* Give the monitor time to see what we saw. */
            b->backoff_ms = b->backoff_ms ? b->backoff_ms * 2 : 1000;
            if (b->backoff_ms > BACKOFF_MAX_MS)
                b->backoff_ms = BACKOFF_MAX_MS;
            step(b, NULL, "waiting_for_llm", "the LLM is not available");
            stopper_nap(&p->stopper, b->backoff_ms);
        }
    }
    log_batch_flush(&b->log);
    step(b, NULL, "stopped", "btfs is stopping");
    return NULL;
}

int builder_start(const struct builder_config *cfg,
                  const struct agent_env *env, struct builder_pool **out)
{
    struct builder_pool *p;
    int rc = 0;

    *out = NULL;
    if (cfg->threads == 0 || cfg->threads > STATUS_MAX_BUILDERS ||
        cfg->max_attempts == 0 || cfg->max_attempts > STORE_MAX_ATTEMPT ||
        cfg->llm_tries == 0 || score_weights_check(&cfg->weights) < 0)
        return -EINVAL;
    p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->cfg = *cfg;
    if (p->cfg.idle_poll_ms <= 0)
        p->cfg.idle_poll_ms = 200;
    p->env = *env;
    stopper_init(&p->stopper);
    p->b = calloc(cfg->threads, sizeof *p->b);
    if (!p->b) {
        builder_stop(p);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < cfg->threads; i++) {
        struct builder *b = &p->b[i];
        b->pool = p;
        b->index = i;
        log_batch_init(&b->log, env->st, LOG_BATCH_DELAY_MS);
        if ((rc = llm_session_open(env->llm, &b->session)) < 0)
            break;
        char name[32];
        snprintf(name, sizeof name, "builder %u", i);
        llm_session_set_name(b->session, name);
        if ((rc = -pthread_create(&b->thread, NULL, run, b)) < 0) {
            llm_session_close(b->session);
            b->session = NULL;
            break;
        }
        p->started++;
    }
    if (rc < 0) {
        builder_stop(p);
        return rc;
    }
    *out = p;
    return 0;
}

void builder_stop(struct builder_pool *p)
{
    if (!p)
        return;
    stopper_stop(&p->stopper);
    for (unsigned i = 0; i < p->started; i++) {
        pthread_join(p->b[i].thread, NULL);
        llm_session_close(p->b[i].session);
        log_batch_free(&p->b[i].log);
    }
    stopper_destroy(&p->stopper);
    free(p->b);
    free(p);
}
