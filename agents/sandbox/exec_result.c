/* exec_result.c -- what a run's steps mean: the result and its log line
 * (exec_result.h).
 *
 * A step gives a wait status, resource usage, captured output and, for test
 * runs, the harness's verdict lines. Turning those into one outcome is
 * where sandbox failures, timeouts, syntax errors and crashes are told
 * apart, most specific first, so the Builder retries with the right words.
 */
#include "exec_result.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static const char *const outcome_names[EXEC_OUTCOME__COUNT] = {
    [EXEC_OK] = "ok",
    [EXEC_TESTS_FAILED] = "tests_failed",
    [EXEC_FAILED] = "failed",
    [EXEC_CRASHED] = "crashed",
    [EXEC_TIMEOUT] = "timeout",
    [EXEC_COMPILE_ERROR] = "compile_error",
    [EXEC_SYNTAX_ERROR] = "syntax_error",
    [EXEC_SANDBOX_ERROR] = "sandbox_error",
};

const char *exec_outcome_name(enum exec_outcome o)
{
    if ((unsigned)o >= EXEC_OUTCOME__COUNT)
        return "unknown";
    return outcome_names[o];
}

/* A copy of what the buffer kept, NUL-terminated (malloc'd), or NULL. */
static char *dup_text(const struct exec_capbuf *c, size_t *len)
{
    *len = c->b.len;
    char *s = malloc(c->b.len + 1);
    if (!s)
        return NULL;
    if (c->b.len)
        memcpy(s, c->b.p, c->b.len);
    s[c->b.len] = '\0';
    return s;
}

/* Reads the harness's verdict lines; only lines that start with the nonce
 * count. Sets *syntax when the harness reported that the code does not
 * parse. */
static int parse_verdicts(const struct exec_capbuf *c, const char *nonce,
                          struct exec_result *res, int *syntax)
{
    size_t nl = strlen(nonce);
    const char *p = c->b.p ? c->b.p : "";
    int seen = 0;
    while (*p) {
        const char *end = strchr(p, '\n');
        if (!end)
            break;      /* a cut last line (killed mid-write) does not count */
        if ((size_t)(end - p) > nl && strncmp(p, nonce, nl) == 0 &&
            p[nl] == ' ') {
            const char *w = p + nl + 1;
            size_t rest = (size_t)(end - w);
            if (rest > 6 && strncmp(w, "total ", 6) == 0) {
                res->tests_total = atoi(w + 6);
            } else if (rest > 5 && strncmp(w, "pass ", 5) == 0) {
                res->tests_passed++;
                seen++;
            } else if ((rest > 5 && strncmp(w, "fail ", 5) == 0) ||
                       (rest > 6 && strncmp(w, "error ", 6) == 0) ||
                       (rest > 7 && strncmp(w, "syntax ", 7) == 0)) {
                if (strncmp(w, "syntax ", 7) == 0)
                    *syntax = 1;
                else
                    seen++;
                if (!res->first_failure) {
                    const char *m = strchr(w, ' ') + 1;
                    /* "fail NAME MSG" -> "NAME: MSG" */
                    const char *sp = w[0] == 'f' ? memchr(m, ' ', (size_t)(end - m)) : NULL;
                    int rc = sp ? asprintf(&res->first_failure, "%.*s: %.*s",
                                           (int)(sp - m), m, (int)(end - sp - 1), sp + 1)
                                : asprintf(&res->first_failure, "%.*s",
                                           (int)(end - m), m);
                    if (rc < 0) {
                        res->first_failure = NULL;
                        return -ENOMEM;
                    }
                }
            }
        }
        p = end + 1;
    }
    if (seen < res->tests_total && !res->first_failure) {
        if (asprintf(&res->first_failure,
                     "only %d of %d tests finished: %s", seen,
                     res->tests_total, res->timed_out ? "timed out" :
                     "the test run ended early") < 0) {
            res->first_failure = NULL;
            return -ENOMEM;
        }
    }
    return 0;
}

/* The last non-blank line of text starts with prefix. */
static int last_line_starts(const char *text, size_t len, const char *prefix)
{
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        len--;
    size_t start = len;
    while (start > 0 && text[start - 1] != '\n')
        start--;
    return strncmp(text + start, prefix, strlen(prefix)) == 0;
}

/* Fills the exit fields from a wait status. bwrap reports a command killed
 * by signal N as exit status 128+N (it cannot do otherwise), so in bwrap
 * mode 129..159 reads as a signal, as a shell would read it. */
static void fill_status(struct exec_result *res, const struct exec_step *s,
                        enum exec_isolation iso)
{
    if (WIFSIGNALED(s->status)) {
        res->signaled = 1;
        res->signal = WTERMSIG(s->status);
    } else if (WIFEXITED(s->status)) {
        int code = WEXITSTATUS(s->status);
        if (iso == EXEC_BUBBLEWRAP && code > 128 && code < 160) {
            res->signaled = 1;
            res->signal = code - 128;
        } else {
            res->exited = 1;
            res->exit_code = code;
        }
    }
    res->timed_out = s->timed_out;
    res->wall_ms = s->wall_ms;
    res->cpu_ms = (double)(s->ru.ru_utime.tv_sec + s->ru.ru_stime.tv_sec) * 1000.0 +
                  (double)(s->ru.ru_utime.tv_usec + s->ru.ru_stime.tv_usec) / 1000.0;
    res->peak_rss_kb = s->ru.ru_maxrss;
}

int exec_result_compile_failed(struct exec_result *res,
                               const struct exec_step *s,
                               enum exec_isolation iso)
{
    fill_status(res, s, iso);
    res->compile_failed = 1;
    res->outcome = s->timed_out ? EXEC_TIMEOUT : EXEC_COMPILE_ERROR;
    if (s->exec_errno)
        res->outcome = EXEC_SANDBOX_ERROR;
    /* the compiler's words are what the Builder needs to see */
    res->err = dup_text(&s->err, &res->err_len);
    res->err_truncated = s->err.truncated;
    res->out = dup_text(&s->out, &res->out_len);
    res->out_truncated = s->out.truncated;
    return res->err && res->out ? 0 : -ENOMEM;
}

int exec_result_fill(struct exec_result *res, const struct exec_step *s,
                     enum exec_isolation iso, enum task_lang lang,
                     int tests)
{
    fill_status(res, s, iso);
    res->out = dup_text(&s->out, &res->out_len);
    res->out_truncated = s->out.truncated;
    res->err = dup_text(&s->err, &res->err_len);
    res->err_truncated = s->err.truncated;
    if (!res->out || !res->err)
        return -ENOMEM;
    int syntax = 0, rc;
    if (tests && (rc = parse_verdicts(&s->res, s->nonce, res, &syntax)) < 0)
        return rc;

    if (s->exec_errno || (iso == EXEC_BUBBLEWRAP && res->exited &&
                          res->exit_code == 1 && strncmp(res->err, "bwrap: ", 7) == 0))
        res->outcome = EXEC_SANDBOX_ERROR;
    else if (res->timed_out)
        res->outcome = EXEC_TIMEOUT;
    else if (syntax ||
             (!tests && lang == TASK_LANG_PYTHON && res->exited && res->exit_code == 1 &&
              (last_line_starts(res->err, res->err_len, "SyntaxError:") ||
               last_line_starts(res->err, res->err_len, "IndentationError:") ||
               last_line_starts(res->err, res->err_len, "TabError:"))) ||
             (!tests && lang == TASK_LANG_SH && res->exited && res->exit_code == 2 &&
              strstr(res->err, ": syntax error")))
        res->outcome = EXEC_SYNTAX_ERROR;
    else if (res->signaled)
        res->outcome = EXEC_CRASHED;
    else if (tests && (res->tests_total == 0 ||
                       res->tests_passed < res->tests_total))
        res->outcome = EXEC_TESTS_FAILED;
    else if (!res->exited || res->exit_code != 0)
        res->outcome = EXEC_FAILED;
    else
        res->outcome = EXEC_OK;
    if (tests && res->tests_total == 0 && !res->first_failure &&
        asprintf(&res->first_failure, "no tests found") < 0)
        res->first_failure = NULL;
    return 0;
}

void exec_result_free(struct exec_result *res)
{
    if (!res)
        return;
    free(res->out);
    free(res->err);
    free(res->first_failure);
    free(res->command);
    memset(res, 0, sizeof *res);
}

char *exec_result_summary(const struct exec_request *req,
                          const struct exec_result *res)
{
    char status[64];
    if (res->timed_out)
        snprintf(status, sizeof status, "killed at timeout");
    else if (res->signaled)
        snprintf(status, sizeof status, "signal=%d", res->signal);
    else
        snprintf(status, sizeof status, "exit=%d", res->exit_code);
    char tests[48] = "";
    if (req && req->tests)
        snprintf(tests, sizeof tests, " tests=%d/%d", res->tests_passed,
                 res->tests_total);
    const struct exec_limits *l = &res->limits;
    char *line;
    if (asprintf(&line,
                 "%s %s timeout=%ldms cpu=%lds mem=%ldM procs=%ld file=%ldM "
                 "out=%ldK nofile=%ld -> %s %s wall=%.1fms cpu=%.1fms "
                 "rss=%ldk%s out=%zuB%s err=%zuB%s%s%s%s",
                 req && req->lang ? req->lang : "?",
                 res->command && strstr(res->command, "--unshare-all") ?
                     "bubblewrap" : "UNSANDBOXED",
                 l->timeout_ms, l->cpu_s, l->memory_mb, l->procs, l->file_mb,
                 l->output_kb, l->nofile, exec_outcome_name(res->outcome),
                 status, res->wall_ms, res->cpu_ms, res->peak_rss_kb,
                 res->compile_ms > 0 ? " (compile timed separately)" : "",
                 res->out_len, res->out_truncated ? "(truncated)" : "",
                 res->err_len, res->err_truncated ? "(truncated)" : "", tests,
                 res->first_failure ? " first_failure=" : "",
                 res->first_failure ? res->first_failure : "") < 0)
        return NULL;
    /* one line: a failure message may hold newlines */
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return line;
}
