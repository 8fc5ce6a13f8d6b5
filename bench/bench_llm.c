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
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "fakellm.h"
#include "llm.h"

#define ANSWER "def add(a, b):\n    return a + b\n"

static const struct llm_message messages[] = {
    { "system", "You are a careful Python programmer." },
    { "user", "Write add(a, b)." },
};

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

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
    t0 = now_ms();
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
    t0 = now_ms() - t0;
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
    t0 = now_ms();
    for (unsigned i = 0; i < n; i++)
        if (curl_easy_perform(e) != CURLE_OK)
            die("libcurl request failed");
    t0 = now_ms() - t0;
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
    double t0 = now_ms();

    for (unsigned i = 0; i < n; i++) {
        struct llm_result r;
        if (llm_chat(s, &req, &r) != LLM_OK || strcmp(r.content, ANSWER))
            die(r.error[0] ? r.error : "llm_chat gave a wrong answer");
        llm_result_free(&r);
    }
    return now_ms() - t0;
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
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    unsigned n = 1000, rounds = 5;
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
        default:
            fputs("usage: bench_llm [--requests N] [--rounds R]\n",
                  c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    if (n == 0 || rounds == 0 || rounds > 99)
        die("--requests and --rounds want positive numbers (rounds <= 99)");

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
    return 0;
}
