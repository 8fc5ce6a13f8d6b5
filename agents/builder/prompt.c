/* prompt.c -- the words the Builder says to the model.
 *
 * Prompts are short and literal: a 7B coder model follows a plain list of
 * rules and one example of the answer's shape better than prose. Every
 * prompt asks for exactly one fenced block (or one JSON object), which is
 * what extract.c looks for first.
 */
#include "prompt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm.h"
#include "task_lang.h"

const char prompt_tests_schema[] =
    "{\"type\":\"object\",\"properties\":{\"tests\":{\"type\":\"string\"}},"
    "\"required\":[\"tests\"]}";

const char prompt_reflection_schema[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"summary\":{\"type\":\"string\"},"
    "\"what_went_wrong\":{\"type\":\"string\"},"
    "\"lessons\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
    "\"concepts\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}},"
    "\"required\":[\"summary\",\"what_went_wrong\",\"lessons\","
    "\"concepts\"]}";

/* How each language's answer is run, in the sandbox's test protocol
 * (docs/sandbox.md); the model needs to know what the tests will call.
 * The languages, their names and fence tags are task_lang.h's. */
static const struct {
    const char *rules;
    const char *test_rules;
} langs[TASK_LANG_COUNT] = {
    [TASK_LANG_PYTHON] = {
      "- Reply with the complete solution in ONE ```python code block.\n"
      "- Define the functions and classes the task names, with exactly those "
      "names and parameters. The tests import your code as a module and call "
      "them.\n"
      "- Do not read input and do not print unless the task asks for it.\n"
      "- Use only the Python standard library. No network, no subprocess.\n",
      "Write Python tests: top-level `assert` statements, or functions named "
      "`test_*` taking no arguments, that call the functions the task "
      "names. Each assert and each test_* function is counted as one test. "
      "Use only the standard library; be deterministic." },
    [TASK_LANG_SH] = {
      "- Reply with the complete solution in ONE ```bash code block.\n"
      "- Define the bash functions the task names. The tests source your "
      "script and call them, so do not call `exit` at the top level.\n"
      "- Write results to stdout; return non-zero on error.\n",
      "Write bash tests: functions named `test_*` that call the functions "
      "the task names and fail (return non-zero) when a result is wrong, "
      "e.g. `test_add() { [ \"$(add 1 2)\" = 3 ]; }`. Each test_* function "
      "is counted as one test." },
    [TASK_LANG_C] = {
      "- Reply with the complete solution in ONE ```c code block (C11, "
      "standard library only).\n"
      "- Define the functions the task names with exactly those signatures. "
      "The tests are compiled with your code in one file; a `main` of yours "
      "is renamed, so it is optional.\n"
      "- Include the headers you use.\n",
      "Write C tests: functions `void test_NAME(void)` that call the "
      "functions the task names and check results with assert() from "
      "<assert.h>. Each test_ function is counted as one test." },
};

static enum task_lang lang_index(const char *lang)
{
    enum task_lang l = TASK_LANG_PYTHON;    /* the task parser's default */

    (void)task_lang_from_name(lang, &l);
    return l;
}

static const char *fence(enum task_lang l)
{
    return task_lang_info(l)->fence;
}

void prompt_free(struct prompt *p)
{
    free(p->system);
    free(p->user);
    memset(p, 0, sizeof *p);
}

/* A text builder on open_memstream: the stream's own buffer grows, and a
 * write error (out of memory) is remembered by the stream and seen at
 * close. */
struct text {
    FILE *f;
    char *buf;
    size_t len;
};

static int text_open(struct text *t)
{
    t->buf = NULL;
    t->len = 0;
    t->f = open_memstream(&t->buf, &t->len);
    return t->f ? 0 : -ENOMEM;
}

/* Closes the stream and hands over its text, or NULL on a write error. */
static char *text_close(struct text *t)
{
    int bad = ferror(t->f);

    if (fclose(t->f) != 0 || bad) {
        free(t->buf);
        return NULL;
    }
    return t->buf;
}

static void put_list(FILE *f, const char *title, const char *const *items,
                     size_t n)
{
    if (n == 0)
        return;
    fprintf(f, "%s:\n", title);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "- %s\n", items[i]);
}

/* Quotes error output, keeping the head and the tail of a long one. */
static void put_problem(FILE *f, const char *p)
{
    size_t n = strlen(p);
    const size_t head = PROMPT_MAX_PROBLEM * 2 / 5;
    const size_t tail = PROMPT_MAX_PROBLEM - head;

    if (n <= PROMPT_MAX_PROBLEM) {
        fputs(p, f);
    } else {
        fwrite(p, 1, head, f);
        fprintf(f, "\n[... %zu bytes cut ...]\n", n - head - tail);
        fwrite(p + n - tail, 1, tail, f);
    }
    if (n == 0 || p[n - 1] != '\n')
        fputc('\n', f);
}

static void put_task(FILE *f, const struct prompt_task *t, enum task_lang li)
{
    fprintf(f, "Task:\n%s\n\n", t->goal);
    put_list(f, "Constraints", t->constraints, t->nconstraints);
    if (t->tests && *t->tests) {
        fprintf(f, "%s\n```%s\n%s%s```\n\n",
                t->tests_self_written
                    ? "Tests (written for this task, not given by the "
                      "user; your code must pass them):"
                    : "Your code must pass these tests:",
                fence(li), t->tests,
                t->tests[strlen(t->tests) - 1] == '\n' ? "" : "\n");
    }
}

static char *system_text(enum task_lang li)
{
    struct text t;

    if (text_open(&t) < 0)
        return NULL;
    fprintf(t.f, "You are an expert %s programmer. You write correct, "
                 "simple, readable code.\nRules:\n%s",
            task_lang_name(li), langs[li].rules);
    return text_close(&t);
}

int prompt_code(const struct prompt_task *t, const struct prompt_memory *mem,
                size_t nmem, const struct prompt_feedback *fb,
                unsigned budget_tokens, struct prompt *out)
{
    enum task_lang li = lang_index(t->language);
    struct text tx;
    unsigned used;

    memset(out, 0, sizeof *out);
    out->system = system_text(li);
    if (!out->system)
        return -ENOMEM;
    /* Add memory while it fits: build the text with k items for the
     * largest k that does, starting from all of them. Memory is small (a
     * few items), so rebuilding is cheaper than being clever. */
    for (size_t k = nmem + 1; k-- > 0;) {
        if (text_open(&tx) < 0)
            goto nomem;
        put_task(tx.f, t, li);
        if (k > 0)
            fputs("From your memory of similar tasks (use what helps):\n",
                  tx.f);
        for (size_t i = 0; i < k; i++) {
            if (strcmp(mem[i].kind, "solved") == 0)
                fprintf(tx.f, "* You solved \"%s\" with:\n```%s\n%s\n```\n",
                        mem[i].goal, fence(li), mem[i].text);
            else
                fprintf(tx.f, "* Lesson from \"%s\": %s\n", mem[i].goal,
                        mem[i].text);
        }
        if (k > 0)
            fputc('\n', tx.f);
        if (fb) {
            fprintf(tx.f, "Your attempt %u failed.\n", fb->attempt);
            if (fb->code && *fb->code)
                fprintf(tx.f, "Its code:\n```%s\n%s\n```\n",
                        fence(li), fb->code);
            fputs("What went wrong:\n", tx.f);
            put_problem(tx.f, fb->problem ? fb->problem : "(unknown)");
            fputs("Find the cause and write a corrected, complete "
                  "solution.\n", tx.f);
        } else {
            fputs("Write the solution.\n", tx.f);
        }
        char *user = text_close(&tx);
        if (!user)
            goto nomem;
        /* The client's own estimate, so that what fits here fits there. */
        used = llm_estimate_tokens(&(struct llm_request){
            .messages = (struct llm_message[]){ { "system", out->system },
                                                { "user", user } },
            .nmessages = 2 });
        if (used <= budget_tokens) {
            out->user = user;
            out->nmemory = k;
            return 0;
        }
        free(user);
    }
    prompt_free(out);
    return -E2BIG;
nomem:
    prompt_free(out);
    return -ENOMEM;
}

int prompt_tests(const struct prompt_task *t, struct prompt *out)
{
    enum task_lang li = lang_index(t->language);
    struct text tx;

    memset(out, 0, sizeof *out);
    if (text_open(&tx) < 0)
        return -ENOMEM;
    fprintf(tx.f, "You write tests for programming tasks. %s\nAnswer with "
                  "one JSON object: {\"tests\": \"<the test code>\"}.",
            langs[li].test_rules);
    out->system = text_close(&tx);
    if (!out->system || text_open(&tx) < 0)
        goto nomem;
    fprintf(tx.f, "Task:\n%s\n\n", t->goal);
    put_list(tx.f, "Constraints", t->constraints, t->nconstraints);
    fputs("Write 3 to 6 tests of the behaviour this task asks for, "
          "including an edge case. If the task does not name a function, "
          "choose a short descriptive name and use it consistently.\n",
          tx.f);
    out->user = text_close(&tx);
    if (!out->user)
        goto nomem;
    return 0;
nomem:
    prompt_free(out);
    return -ENOMEM;
}

int prompt_reflection(const struct prompt_task *t, const char *outcome,
                      int passed, int total, const char *const *problems,
                      const char *final_code, struct prompt *out)
{
    enum task_lang li = lang_index(t->language);
    struct text tx;

    memset(out, 0, sizeof *out);
    if (text_open(&tx) < 0)
        return -ENOMEM;
    fputs("You review your own work on a programming task, to learn from "
          "it. Answer with one JSON object: {\"summary\": \"one sentence "
          "on what the code does\", \"what_went_wrong\": \"the causes of "
          "failed attempts, or an empty string\", \"lessons\": [\"short, "
          "general lessons for similar tasks\"], \"concepts\": [\"one- to "
          "three-word programming concepts the task used\"]}.", tx.f);
    out->system = text_close(&tx);
    if (!out->system || text_open(&tx) < 0)
        goto nomem;
    fprintf(tx.f, "Task:\n%s\n\nOutcome: %s, %d of %d tests passed.\n",
            t->goal, outcome, passed, total);
    if (problems && problems[0]) {
        fputs("Problems in the attempts:\n", tx.f);
        for (size_t i = 0; problems[i]; i++) {
            fprintf(tx.f, "- attempt %zu: ", i + 1);
            /* One line each, and short: the lesson is in the gist. */
            size_t n = strcspn(problems[i], "\n");
            fprintf(tx.f, "%.*s\n", (int)(n < 300 ? n : 300), problems[i]);
        }
    }
    if (final_code && *final_code)
        fprintf(tx.f, "Final code:\n```%s\n%s\n```\n", fence(li),
                final_code);
    out->user = text_close(&tx);
    if (!out->user)
        goto nomem;
    return 0;
nomem:
    prompt_free(out);
    return -ENOMEM;
}
