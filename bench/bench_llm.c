/* bench_llm.c -- the LLM client's overhead against curl on the same server.
 *
 *   bench_llm [--requests N] [--rounds R]
 *
 * Starts the fake OpenAI-compatible server (tests/fakellm) on 127.0.0.1,
 * then makes N short chat completions over one kept-alive connection, three
 * ways, R rounds each (the median round is reported):
 *   curl      the curl program, one process, N URLs (it keeps the
 *             connection alive and does nothing with the answers);
 *   libcurl   a bare libcurl easy-handle loop: the floor for any client;
 *   llm_chat  our client, streamed and not, parsing and checking each
 *             answer as the Builder would.
 * The target (issue #3) is llm_chat <= 1.05x curl.
 *
 * Then the request queue (issue #11), against fakes that answer after
 * 50 ms of "thinking" inside their slot:
 *   one slot     4 builders and the Trainer, each making --sched-calls
 *                calls, against a one-slot server: answers per second
 *                against the ideal of one per 50 ms (target >= 0.95);
 *   4 endpoints  8 callers against four one-slot servers given as one
 *                BT_LLM_URL list: throughput against one endpoint
 *                (target >= 3.6x);
 *   reuse        a task's three attempts (prompts built by prompt.c, with
 *                memory and feedback) against a llama-server fake with a
 *                prompt cache: prompt tokens sent, evaluated and cached.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "clock.h"
#include "fakellm.h"
#include "llm.h"
#include "prompt.h"

#define ANSWER "def add(a, b):\n    return a + b\n"

static const struct llm_message messages[] = {
    { "system", "You are a careful Python programmer." },
    { "user", "Write add(a, b)." },
};

static void die(const char *what)
{
    fprintf(stderr, "bench_llm: %s\n", what);
    exit(1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* The request body our client sends, so that every contender sends the
 * same bytes. */
static const char *body_for(int stream)
{
    return stream
        ? "{\"model\":\"deepseek-coder-7b-instruct\",\"messages\":[{\"role\":"
          "\"system\",\"content\":\"You are a careful Python programmer.\"},"
          "{\"role\":\"user\",\"content\":\"Write add(a, b).\"}],"
          "\"temperature\":0.2,\"max_tokens\":1024,\"stream\":true}"
        : "{\"model\":\"deepseek-coder-7b-instruct\",\"messages\":[{\"role\":"
          "\"system\",\"content\":\"You are a careful Python programmer.\"},"
          "{\"role\":\"user\",\"content\":\"Write add(a, b).\"}],"
          "\"temperature\":0.2,\"max_tokens\":1024,\"stream\":false}";
}

/* curl(1): one process, N requests on one connection, read from a config
 * file (N URLs do not fit in argv comfortably). */
static double run_curl_cli(const char *url, unsigned n, int stream)
{
    char cfg[] = "/tmp/bench_llm_XXXXXX";
    int fd = mkstemp(cfg);
    FILE *f;
    double t0;
    pid_t pid;
    int st;

    if (fd < 0 || !(f = fdopen(fd, "w")))
        die("cannot write the curl config");
    fprintf(f, "silent\nshow-error\nfail\n"
               "header = \"Content-Type: application/json\"\n"
               "data = \"%s\"\n", stream ? "@/tmp/bench_llm_body_s"
                                         : "@/tmp/bench_llm_body_n");
    for (unsigned i = 0; i < n; i++)
        fprintf(f, "url = \"%s/chat/completions\"\n", url);
    fclose(f);
    fflush(stdout);     /* or the child's freopen writes our buffer again */
    t0 = clock_mono_ms();
    pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout))
            _exit(126);
        execlp("curl", "curl", "-K", cfg, (char *)NULL);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
        WEXITSTATUS(st) != 0)
        die("curl failed (is curl installed?)");
    t0 = clock_mono_ms() - t0;
    unlink(cfg);
    return t0;
}

static size_t sink(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

static double run_libcurl(const char *url, unsigned n, int stream)
{
    CURL *e = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL,
                                             "Content-Type: application/json");
    char full[256];
    double t0;

    snprintf(full, sizeof full, "%s/chat/completions", url);
    if (!e || !h)
        die("out of memory");
    curl_easy_setopt(e, CURLOPT_URL, full);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body_for(stream));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
    t0 = clock_mono_ms();
    for (unsigned i = 0; i < n; i++)
        if (curl_easy_perform(e) != CURLE_OK)
            die("libcurl request failed");
    t0 = clock_mono_ms() - t0;
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    return t0;
}

static double run_llm(struct llm_session *s, unsigned n, int stream)
{
    struct llm_request req = {
        .messages = messages, .nmessages = 2,
        .stream = stream ? LLM_STREAM_ON : LLM_STREAM_OFF,
    };
    double t0 = clock_mono_ms();

    for (unsigned i = 0; i < n; i++) {
        struct llm_result r;
        if (llm_chat(s, &req, &r) != LLM_OK || strcmp(r.content, ANSWER))
            die(r.error[0] ? r.error : "llm_chat gave a wrong answer");
        llm_result_free(&r);
    }
    return clock_mono_ms() - t0;
}

/* ---- the request queue ------------------------------------------------------ */

#define THINK_MS 50

struct caller {
    struct llm *llm;
    enum llm_priority prio;
    char name[32];
    atomic_int *left;               /* calls still to make, shared       */
    unsigned ok;
};

static void *caller_main(void *arg)
{
    struct caller *c = arg;
    struct llm_session *s;
    struct llm_request req = { .messages = messages, .nmessages = 2,
                               .stream = LLM_STREAM_OFF,
                               .priority = c->prio };

    if (llm_session_open(c->llm, &s) < 0)
        return NULL;
    llm_session_set_name(s, c->name);
    /* The callers share the work, so that all of them stay busy until
     * the end: the Trainer's calls, served last, do not make a tail. */
    while (atomic_fetch_sub(c->left, 1) > 0) {
        struct llm_result r;
        c->ok += llm_chat(s, &req, &r) == LLM_OK;
        llm_result_free(&r);
    }
    llm_session_close(s);
    return NULL;
}

/* ncallers threads (the first at a user task's priority, the last at the
 * Trainer's) make ncallers * calls calls between them against the fakes,
 * given as one URL list; returns the elapsed ms. */
static double run_callers(struct fakellm **fakes, unsigned nfakes,
                          unsigned ncallers, unsigned calls,
                          unsigned *answered, double *latency_ms)
{
    struct llm_usage u;
    char urls[1024] = "";
    struct llm_config cfg;
    struct llm *llm;
    struct caller c[16];
    pthread_t t[16];
    atomic_int left;
    double t0;

    for (unsigned i = 0; i < nfakes; i++) {
        struct fakellm_server srv = { .slots = 1 };
        struct fakellm_rule rule = { .kind = FAKE_REPLY, .content = ANSWER,
                                     .first_delay_ms = THINK_MS };
        fakellm_clear(fakes[i]);
        if (fakellm_set_server(fakes[i], &srv) < 0 ||
            fakellm_add(fakes[i], &rule) < 0)
            die("cannot script the fake");
        if (i)
            strcat(urls, ",");
        strcat(urls, fakellm_url(fakes[i]));
    }
    llm_config_default(&cfg);
    cfg.url = urls;
    if (llm_create(&cfg, &llm) < 0)
        die("cannot create the client");
    atomic_init(&left, (int)(ncallers * calls));
    t0 = clock_mono_ms();
    for (unsigned i = 0; i < ncallers; i++) {
        c[i] = (struct caller){ .llm = llm, .left = &left,
                                .prio = i + 1 == ncallers ? LLM_PRIO_LOW
                                        : i == 0 ? LLM_PRIO_USER
                                                 : LLM_PRIO_NORMAL };
        if (i + 1 == ncallers)
            snprintf(c[i].name, sizeof c[i].name, "trainer");
        else
            snprintf(c[i].name, sizeof c[i].name, "builder %u", i);
        if (pthread_create(&t[i], NULL, caller_main, &c[i]) != 0)
            die("cannot start a thread");
    }
    *answered = 0;
    for (unsigned i = 0; i < ncallers; i++) {
        pthread_join(t[i], NULL);
        *answered += c[i].ok;
    }
    double ms = clock_mono_ms() - t0;
    llm_usage_get(llm, &u);
    /* a call's time on the wire: its whole latency less its wait for a
     * slot is not known here, so this is the time from asking to answer */
    *latency_ms = u.calls ? u.latency_ms_total / (double)u.calls : 0;
    llm_free(llm);
    return ms;
}

static void bench_queue(unsigned calls)
{
    struct fakellm *fakes[4];
    unsigned answered1, answered4, want1 = 5 * calls, want4 = 8 * calls;

    for (int i = 0; i < 4; i++)
        if (fakellm_start(&fakes[i]) < 0)
            die("cannot start a fake server");
    double lat0, lat1, lat4;
    unsigned answered0;
    /* The floor: one caller alone, so nothing waits for the queue; what
     * it loses to the ideal is the machine's, not the scheduler's. */
    double ms0 = run_callers(fakes, 1, 1, calls, &answered0, &lat0);
    double ms1 = run_callers(fakes, 1, 5, calls, &answered1, &lat1);
    double ms4 = run_callers(fakes, 4, 8, calls, &answered4, &lat4);
    for (int i = 0; i < 4; i++)
        fakellm_stop(fakes[i]);
    if (answered0 != calls || answered1 != want1 || answered4 != want4)
        die("some calls failed");

    double per0 = answered0 / ms0 * 1000;
    double per1 = answered1 / ms1 * 1000, per4 = answered4 / ms4 * 1000;
    double ideal1 = 1000.0 / THINK_MS;
    printf("\nthe request queue: servers answer after %d ms in their "
           "slot\n\n", THINK_MS);
    printf("%-32s %7s %8s %9s %8s %7s\n", "case", "answers", "seconds",
           "answers/s", "call ms", "ratio");
    printf("%-32s %7u %8.2f %9.2f %8.1f %7.3f   (the floor: no queue)\n",
           "1 slot, 1 caller alone", answered0, ms0 / 1000, per0, lat0,
           per0 / ideal1);
    printf("%-32s %7u %8.2f %9.2f %8.1f %7.3f   (vs the ideal %.0f/s; "
           "target >= 0.95)\n", "1 slot, 4 builders + Trainer", answered1,
           ms1 / 1000, per1, lat1, per1 / ideal1, ideal1);
    printf("%-32s %7u %8.2f %9.2f %8.1f %7.2fx  (vs 1 endpoint; target "
           ">= 3.6x)\n", "4 endpoints x 1 slot, 8 callers", answered4,
           ms4 / 1000, per4, lat4, per4 / per1);
}

/* A task's three attempts, their prompts built as the Builder builds them,
 * against a llama-server fake that keeps its last prompt. */
static void bench_reuse(void)
{
    static const char *const skills[] = { "strings" };
    struct prompt_task pt = {
        .goal = "Write is_palindrome(s) that says whether s reads the same "
                "backwards, ignoring case, spaces and punctuation.",
        .language = "python",
        .tests = "assert is_palindrome('A man, a plan, a canal: Panama')\n"
                 "assert not is_palindrome('hello')\n"
                 "assert is_palindrome('')\n",
        .skills = skills, .nskills = 1, .difficulty = 0.4,
    };
    static const struct prompt_memory mem[] = {
        { "lesson", "Write reverse_words(s)",
          "Split on whitespace with str.split() without arguments; it drops "
          "empty strings and handles tabs and newlines." },
        { "solved", "Write count_vowels(s)",
          "def count_vowels(s):\n    return sum(1 for c in s.lower() if c "
          "in 'aeiou')\n" },
        { "lesson", "Write normalise(s)",
          "Filter with str.isalnum() before comparing, and lower-case "
          "first: casefold() is stricter still for non-ASCII text." },
    };
    static const char *const codes[] = {
        "def is_palindrome(s):\n    return s == s[::-1]\n",
        "def is_palindrome(s):\n    t = s.lower()\n    return t == t[::-1]\n",
    };
    static const char *const problems[] = {
        "0 of 3 tests passed. Tests: assert is_palindrome('A man, a plan, a "
        "canal: Panama') failed\nAssertionError",
        "2 of 3 tests passed. Tests: assert is_palindrome('A man, a plan, a "
        "canal: Panama') failed\nAssertionError",
    };
    struct fakellm *fake;
    struct fakellm_server srv = { .llama = 1 };
    struct fakellm_rule rule = { .kind = FAKE_REPLY, .content = ANSWER };
    struct llm_config cfg;
    struct llm *llm;
    struct llm_session *s;
    struct llm_health h;
    unsigned long sent = 0, evaluated = 0, cached = 0, one[3];

    if (fakellm_start(&fake) < 0 || fakellm_set_server(fake, &srv) < 0 ||
        fakellm_add(fake, &rule) < 0)
        die("cannot start the fake server");
    llm_config_default(&cfg);
    cfg.url = fakellm_url(fake);
    if (llm_create(&cfg, &llm) < 0 || llm_session_open(llm, &s) < 0)
        die("cannot create the client");
    llm_health(s, &h);      /* learns that the server keeps a cache */
    for (unsigned a = 0; a < 3; a++) {
        struct prompt_feedback fb = { a, a ? codes[a - 1] : NULL,
                                      a ? problems[a - 1] : NULL };
        struct prompt p;
        struct llm_result r;
        if (prompt_code(&pt, mem, 3, a ? &fb : NULL,
                        llm_prompt_budget(llm, 0), &p) < 0)
            die("cannot build a prompt");
        struct llm_message m[2] = { { "system", p.system },
                                    { "user", p.user } };
        struct llm_request req = { .messages = m, .nmessages = 2 };
        if (llm_chat(s, &req, &r) != LLM_OK || !r.have_timings)
            die("the fake gave no timings");
        one[a] = r.prompt_tokens;
        sent += r.prompt_tokens;
        evaluated += r.prompt_evaluated;
        cached += r.prompt_cached;
        llm_result_free(&r);
        prompt_free(&p);
    }
    printf("\nprompt reuse over one task's 3 attempts (stable parts first, "
           "feedback last, cache_prompt)\n\n");
    printf("%-26s %8s\n", "prompt tokens", "count");
    printf("%-26s %8lu  (%lu + %lu + %lu)\n", "sent (sum of 3 prompts)",
           sent, one[0], one[1], one[2]);
    printf("%-26s %8lu\n", "evaluated by the server", evaluated);
    printf("%-26s %8lu  (%.0f%% of the sum)\n", "taken from its cache",
           cached, sent ? 100.0 * cached / sent : 0);
    llm_session_close(s);
    llm_free(llm);
    fakellm_stop(fake);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        die("cannot write a request body file");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"requests", required_argument, NULL, 'n'},
        {"rounds", required_argument, NULL, 'r'},
        {"sched-calls", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    unsigned n = 1000, rounds = 5, sched_calls = 20;
    struct fakellm *fake;
    struct llm_config cfg;
    struct llm *llm;
    struct llm_session *s;
    int c;

    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            n = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'r':
            rounds = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'c':
            sched_calls = (unsigned)strtoul(optarg, NULL, 10);
            break;
        default:
            fputs("usage: bench_llm [--requests N] [--rounds R] "
                  "[--sched-calls C]\n", c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    if (n == 0 || rounds == 0 || rounds > 99 || sched_calls == 0)
        die("--requests, --rounds and --sched-calls want positive numbers "
            "(rounds <= 99)");

    if (fakellm_start(&fake) < 0)
        die("cannot start the fake server");
    struct fakellm_rule rule = { .kind = FAKE_REPLY, .content = ANSWER,
                                 .chunk_bytes = 64 };
    if (fakellm_add(fake, &rule) < 0)
        die("out of memory");
    llm_config_default(&cfg);
    cfg.url = fakellm_url(fake);
    if (llm_create(&cfg, &llm) < 0 || llm_session_open(llm, &s) < 0)
        die("cannot create the client");
    write_file("/tmp/bench_llm_body_s", body_for(1));
    write_file("/tmp/bench_llm_body_n", body_for(0));

    printf("%u short completions on one kept-alive connection, median of "
           "%u rounds\n\n", n, rounds);
    printf("%-10s %-9s %10s %12s %8s\n", "client", "mode", "total ms",
           "us/request", "vs curl");
    for (int stream = 0; stream < 2; stream++) {
        double cli[99], raw[99], ours[99];
        for (unsigned r = 0; r < rounds; r++) {
            cli[r] = run_curl_cli(fakellm_url(fake), n, stream);
            raw[r] = run_libcurl(fakellm_url(fake), n, stream);
            ours[r] = run_llm(s, n, stream);
        }
        qsort(cli, rounds, sizeof *cli, cmp_double);
        qsort(raw, rounds, sizeof *raw, cmp_double);
        qsort(ours, rounds, sizeof *ours, cmp_double);
        double mc = cli[rounds / 2], mr = raw[rounds / 2],
               mo = ours[rounds / 2];
        const char *mode = stream ? "streamed" : "plain";
        printf("%-10s %-9s %10.1f %12.1f %7.2fx\n", "curl", mode, mc,
               mc * 1e3 / n, 1.0);
        printf("%-10s %-9s %10.1f %12.1f %7.2fx\n", "libcurl", mode, mr,
               mr * 1e3 / n, mr / mc);
        printf("%-10s %-9s %10.1f %12.1f %7.2fx\n", "llm_chat", mode, mo,
               mo * 1e3 / n, mo / mc);
    }
    printf("\nconnections accepted by the server: %u (one per contender "
           "and round)\n", fakellm_connections(fake));
    unlink("/tmp/bench_llm_body_s");
    unlink("/tmp/bench_llm_body_n");
    llm_session_close(s);
    llm_free(llm);
    fakellm_stop(fake);
    bench_queue(sched_calls);
    bench_reuse();
    return 0;
}
