/* fakellm.c -- a scriptable fake OpenAI-compatible HTTP server for tests.
 *
 * Threads: one accept thread, one thread per connection. Every blocking
 * step of a connection thread (reading, writing, sleeping) polls the read
 * end of a "stop pipe" besides its socket; fakellm_stop writes one byte
 * there and never drains it, so every thread, however many, wakes up and
 * unwinds. Only the connection thread ever touches its socket, so it alone
 * closes it (which is what lets FAKE_RESET set SO_LINGER safely).
 *
 * Shutdown order (fakellm_stop): raise the stop flag and write the stop
 * byte; join the accept thread (no new connections after that); join every
 * connection thread; free rules, log and models.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "fakellm.h"

#define CHAT_PATH "/v1/chat/completions"
#define MODELS_PATH "/v1/models"
#define MAX_HEAD (1u << 20)          /* request line + headers           */
#define MAX_BODY (256u << 20)        /* request body                     */
#define DEFAULT_CHUNK 16u
#define NO_RULE_MSG "fakellm: no rule for this request"

/* A rule as stored: the public struct with owned string copies. */
struct rule {
    struct fakellm_rule r;
    unsigned used;                   /* how many requests it answered    */
};

struct logent {
    char *method;
    char *path;
    char *body;                      /* NUL-terminated copy              */
    char *auth;                      /* NULL: no Authorization header    */
};

struct conn {
    struct fakellm *f;
    int fd;                          /* owned by the connection thread   */
    pthread_t thr;
    atomic_int done;                 /* set as the thread's last act     */
    struct conn *next;               /* in f->conns, guarded by f->mu    */
    int count_at_send;               /* a slot taken: count the answers
                                        in flight at its first byte      */
};

struct fakellm {
    int lfd;                         /* listening socket                 */
    int port;
    int stop_rd, stop_wr;            /* the stop pipe                    */
    atomic_int stopping;
    atomic_uint next_id;             /* completion ids                   */
    pthread_t accept_thr;
    char url[64];
    pthread_mutex_t mu;              /* guards everything below          */
    struct rule *rules;
    size_t nrules, caprules;
    char **models;                   /* NULL-terminated                  */
    struct logent *log;
    size_t nlog, caplog;
    unsigned nconn;                  /* connections accepted             */
    struct conn *conns;              /* live (or not yet joined) threads */
    struct fakellm_server srv;       /* server behaviour                 */
    unsigned in_flight;              /* chat answers being sent          */
    unsigned max_in_flight;
    unsigned answered;               /* chat requests given a slot       */
    char *cached;                    /* the last prompt's text (cache)   */
    pthread_cond_t slot_cv;          /* a slot was freed (mu)            */
};

/* One parsed request. Strings point into a private copy. */
struct request {
    char *method;
    char *target;                    /* as sent, query included          */
    char *path;                      /* target without the query         */
    char *body;                      /* NUL-terminated                   */
    size_t body_len;
    char *auth;                      /* NULL when absent                 */
    int keep_alive;
};

/* ---- buffers (util/buf.h) ---------------------------------------------- */

/* Drops the first n bytes (a request that was handled). */
static void buf_consume(struct buf *b, size_t n)
{
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
    if (b->p)
        b->p[b->len] = '\0';
}

/* ---- rules ------------------------------------------------------------ */

static void rule_free_strings(struct fakellm_rule *r)
{
    free((char *)r->method);
    free((char *)r->path);
    free((char *)r->match);
    free((char *)r->body);
    free((char *)r->content);
    free((char *)r->finish_reason);
}

static int dup_opt(const char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : -ENOMEM;
}

/* Deep copy; on failure dst holds nothing to free. */
static int rule_copy(struct fakellm_rule *dst, const struct fakellm_rule *src)
{
    *dst = *src;
    dst->method = dst->path = dst->match = NULL;
    dst->body = dst->content = dst->finish_reason = NULL;
    if (dup_opt(&dst->method, src->method) < 0 ||
        dup_opt(&dst->path, src->path) < 0 ||
        dup_opt(&dst->match, src->match) < 0 ||
        dup_opt(&dst->body, src->body) < 0 ||
        dup_opt(&dst->content, src->content) < 0 ||
        dup_opt(&dst->finish_reason, src->finish_reason) < 0) {
        rule_free_strings(dst);
        return -ENOMEM;
    }
    return 0;
}

static int rule_matches(const struct fakellm_rule *r, const char *method,
                        const char *path, const char *body)
{
    if (strcmp(r->path ? r->path : CHAT_PATH, path) != 0)
        return 0;
    /* Without a method, a rule on the default chat path answers POST only;
     * a rule on a path of its own answers any method. */
    if (r->method) {
        if (strcasecmp(r->method, method) != 0)
            return 0;
    } else if (!r->path && strcmp(method, "POST") != 0) {
        return 0;
    }
    if (r->match && !strstr(body, r->match))
        return 0;
    return 1;
}

int fakellm_add(struct fakellm *f, const struct fakellm_rule *rule)
{
    struct fakellm_rule copy;
    int rc = 0;

    if (rule_copy(&copy, rule) < 0)
        return -ENOMEM;
    pthread_mutex_lock(&f->mu);
    if (f->nrules == f->caprules) {
        size_t cap = f->caprules ? f->caprules * 2 : 8;
        struct rule *p = realloc(f->rules, cap * sizeof(*p));

        if (!p) {
            rc = -ENOMEM;
            goto out;
        }
        f->rules = p;
        f->caprules = cap;
    }
    f->rules[f->nrules].r = copy;
    f->rules[f->nrules].used = 0;
    f->nrules++;
out:
    pthread_mutex_unlock(&f->mu);
    if (rc < 0)
        rule_free_strings(&copy);
    return rc;
}

void fakellm_clear(struct fakellm *f)
{
    size_t i;

    pthread_mutex_lock(&f->mu);
    for (i = 0; i < f->nrules; i++)
        rule_free_strings(&f->rules[i].r);
    f->nrules = 0;
    pthread_mutex_unlock(&f->mu);
}

/* Takes the first matching rule with uses left and copies it to *out.
 * Returns 1 when one was found, 0 when none, -ENOMEM. */
static int rule_take(struct fakellm *f, const struct request *rq,
                     struct fakellm_rule *out)
{
    size_t i;
    int rc = 0;

    pthread_mutex_lock(&f->mu);
    for (i = 0; i < f->nrules; i++) {
        struct rule *r = &f->rules[i];

        if (r->r.times && r->used >= r->r.times)
            continue;
        if (!rule_matches(&r->r, rq->method, rq->path, rq->body))
            continue;
        r->used++;
        rc = rule_copy(out, &r->r) < 0 ? -ENOMEM : 1;
        break;
    }
    pthread_mutex_unlock(&f->mu);
    return rc;
}

/* ---- rules from JSON ---------------------------------------------------- */

static const char *const kind_names[] = {
    [FAKE_REPLY] = "reply",     [FAKE_STATUS] = "status",
    [FAKE_RAW] = "raw",         [FAKE_HANG] = "hang",
    [FAKE_RESET] = "reset",     [FAKE_CUT] = "cut",
    [FAKE_GARBAGE] = "garbage",
};

/* Reads one rule object into *r. Strings point into the tree, except a
 * non-string "body" (an object, say), printed into *owned_body for the
 * caller to free. On error says why in *why and returns -EINVAL. */
static int rule_from_json(const cJSON *o, struct fakellm_rule *r,
                          char **owned_body, struct buf *why)
{
    static const char *const str_fields[] = {
        "method", "path", "match", "content", "finish_reason",
    };
    static const char *const num_fields[] = {
        "times", "status", "retry_after_s", "chunk_bytes", "delay_ms",
        "first_delay_ms", "no_usage", "no_done", "cut_after",
    };
    const cJSON *it;
    size_t i;

    memset(r, 0, sizeof(*r));
    *owned_body = NULL;
    if (!cJSON_IsObject(o)) {
        buf_adds(why, "a rule must be a JSON object");
        return -EINVAL;
    }
    cJSON_ArrayForEach(it, o) {
        const char *k = it->string;
        const char **sdst = NULL;
        int known = 0;

        for (i = 0; i < sizeof(str_fields) / sizeof(*str_fields); i++)
            if (strcmp(k, str_fields[i]) == 0)
                known = 1;
        for (i = 0; i < sizeof(num_fields) / sizeof(*num_fields); i++)
            if (strcmp(k, num_fields[i]) == 0)
                known = 2;
        if (strcmp(k, "kind") == 0) {
            int found = 0;

            if (cJSON_IsString(it))
                for (i = 0; i < sizeof(kind_names) / sizeof(*kind_names); i++)
                    if (strcmp(it->valuestring, kind_names[i]) == 0) {
                        r->kind = (enum fakellm_kind)i;
                        found = 1;
                    }
            if (!found) {
                buf_adds(why, "unknown \"kind\"; use reply, status, raw, "
                             "hang, reset, cut or garbage");
                return -EINVAL;
            }
        } else if (strcmp(k, "body") == 0) {
            if (cJSON_IsString(it)) {
                r->body = it->valuestring;
            } else if (!cJSON_IsNull(it)) {
                free(*owned_body);
                *owned_body = cJSON_PrintUnformatted(it);
                if (!*owned_body)
                    return -ENOMEM;
                r->body = *owned_body;
            }
        } else if (known == 1) {
            if (strcmp(k, "method") == 0) sdst = &r->method;
            else if (strcmp(k, "path") == 0) sdst = &r->path;
            else if (strcmp(k, "match") == 0) sdst = &r->match;
            else if (strcmp(k, "content") == 0) sdst = &r->content;
            else sdst = &r->finish_reason;
            if (cJSON_IsString(it)) {
                *sdst = it->valuestring;
            } else if (!cJSON_IsNull(it)) {
                buf_printf(why, "\"%s\" must be a string", k);
                goto fail;
            }
        } else if (known == 2) {
            double v;

            if (cJSON_IsBool(it)) {
                v = cJSON_IsTrue(it);
            } else if (cJSON_IsNumber(it) && it->valuedouble >= 0 &&
                       it->valuedouble <= 1e9) {
                v = it->valuedouble;
            } else {
                buf_printf(why, "\"%s\" must be a number in 0..1e9", k);
                goto fail;
            }
            if (strcmp(k, "times") == 0) r->times = (unsigned)v;
            else if (strcmp(k, "status") == 0) r->status = (int)v;
            else if (strcmp(k, "retry_after_s") == 0) r->retry_after_s = (int)v;
            else if (strcmp(k, "chunk_bytes") == 0) r->chunk_bytes = (unsigned)v;
            else if (strcmp(k, "delay_ms") == 0) r->delay_ms = (unsigned)v;
            else if (strcmp(k, "first_delay_ms") == 0)
                r->first_delay_ms = (unsigned)v;
            else if (strcmp(k, "no_usage") == 0) r->no_usage = (int)v;
            else if (strcmp(k, "no_done") == 0) r->no_done = (int)v;
            else r->cut_after = (unsigned)v;
        } else {
            /* A typo in a shell test's rule should fail loudly. */
            buf_printf(why, "unknown rule field \"%s\"", k);
            goto fail;
        }
    }
    if (r->kind == FAKE_STATUS && (r->status < 100 || r->status > 999)) {
        buf_adds(why, "a \"status\" rule needs \"status\" in 100..999");
        goto fail;
    }
    return 0;
fail:
    free(*owned_body);
    *owned_body = NULL;
    return -EINVAL;
}

/* Appends the rule or array of rules in 'json': all of them or none. */
static int rules_add_json(struct fakellm *f, const char *json, struct buf *why)
{
    cJSON *root = cJSON_Parse(json);
    const cJSON *it;
    struct fakellm_rule r;
    char *owned;
    int rc = 0, pass;

    if (!root) {
        buf_adds(why, "rules are not valid JSON");
        return -EINVAL;
    }
    /* Pass 0 checks every rule, pass 1 adds them, so a bad rule in an
     * array leaves the server's rules as they were. */
    for (pass = 0; pass < 2 && rc == 0; pass++) {
        const cJSON *arr = cJSON_IsArray(root) ? root : NULL;

        it = arr ? arr->child : root;
        for (; it && rc == 0; it = arr ? it->next : NULL) {
            rc = rule_from_json(it, &r, &owned, why);
            if (rc == 0 && pass == 1)
                rc = fakellm_add(f, &r);
            free(owned);
        }
    }
    cJSON_Delete(root);
    return rc;
}

int fakellm_add_json(struct fakellm *f, const char *json)
{
    struct buf why = { 0 };
    int rc = rules_add_json(f, json, &why);

    buf_free(&why);
    return rc;
}

/* ---- models and log --------------------------------------------------- */

static void models_free(char **m)
{
    size_t i;

    for (i = 0; m && m[i]; i++)
        free(m[i]);
    free(m);
}

int fakellm_set_models(struct fakellm *f, const char *const *ids)
{
    size_t n = 0, i;
    char **m, **old;

    while (ids && ids[n])
        n++;
    m = calloc(n + 1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    for (i = 0; i < n; i++) {
        m[i] = strdup(ids[i]);
        if (!m[i]) {
            models_free(m);
            return -ENOMEM;
        }
    }
    pthread_mutex_lock(&f->mu);
    old = f->models;
    f->models = m;
    pthread_mutex_unlock(&f->mu);
    models_free(old);
    return 0;
}

static void logent_free(struct logent *e)
{
    free(e->method);
    free(e->path);
    free(e->body);
    free(e->auth);
}

static int log_request(struct fakellm *f, const struct request *rq)
{
    struct logent e = { 0 };
    int rc = 0;

    e.method = strdup(rq->method);
    e.path = strdup(rq->target);
    e.body = strdup(rq->body);
    e.auth = rq->auth ? strdup(rq->auth) : NULL;
    if (!e.method || !e.path || !e.body || (rq->auth && !e.auth)) {
        logent_free(&e);
        return -ENOMEM;
    }
    pthread_mutex_lock(&f->mu);
    if (f->nlog == f->caplog) {
        size_t cap = f->caplog ? f->caplog * 2 : 16;
        struct logent *p = realloc(f->log, cap * sizeof(*p));

        if (!p) {
            rc = -ENOMEM;
            goto out;
        }
        f->log = p;
        f->caplog = cap;
    }
    f->log[f->nlog++] = e;
out:
    pthread_mutex_unlock(&f->mu);
    if (rc < 0)
        logent_free(&e);
    return rc;
}

unsigned fakellm_requests(struct fakellm *f)
{
    unsigned n;

    pthread_mutex_lock(&f->mu);
    n = (unsigned)f->nlog;
    pthread_mutex_unlock(&f->mu);
    return n;
}

static char *log_field(struct fakellm *f, unsigned i, int auth)
{
    char *s = NULL;

    pthread_mutex_lock(&f->mu);
    if (i < f->nlog) {
        const char *v = auth ? f->log[i].auth : f->log[i].body;

        s = v ? strdup(v) : NULL;
    }
    pthread_mutex_unlock(&f->mu);
    return s;
}

char *fakellm_request_body(struct fakellm *f, unsigned i)
{
    return log_field(f, i, 0);
}

char *fakellm_request_auth(struct fakellm *f, unsigned i)
{
    return log_field(f, i, 1);
}

unsigned fakellm_connections(struct fakellm *f)
{
    unsigned n;

    pthread_mutex_lock(&f->mu);
    n = f->nconn;
    pthread_mutex_unlock(&f->mu);
    return n;
}

int fakellm_port(const struct fakellm *f)
{
    return f->port;
}

const char *fakellm_url(const struct fakellm *f)
{
    return f->url;
}

/* ---- socket I/O, all interruptible by the stop pipe ------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps ms milliseconds. Returns 0, or -ECANCELED when stopped. */
static int sleep_ms(struct fakellm *f, unsigned ms)
{
    int64_t end = now_ms() + ms;

    for (;;) {
        struct pollfd p = { .fd = f->stop_rd, .events = POLLIN };
        int64_t left = end - now_ms();
        int n;

        if (atomic_load(&f->stopping))
            return -ECANCELED;
        if (left <= 0)
            return 0;
        n = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
        if (n > 0)
            return -ECANCELED;
        if (n < 0 && errno != EINTR)
            return -errno;
    }
}

/* Waits until fd is ready for 'events'. 0, -ECANCELED or -errno. */
static int wait_fd(struct fakellm *f, int fd, short events)
{
    for (;;) {
        struct pollfd p[2] = {
            { .fd = fd, .events = events },
            { .fd = f->stop_rd, .events = POLLIN },
        };
        int n = poll(p, 2, -1);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (p[1].revents || atomic_load(&f->stopping))
            return -ECANCELED;
        if (p[0].revents)
            return 0;
    }
}

/* The answers being sent at once are counted when one starts to be sent,
 * not when its request arrives: a client may send its next request the
 * moment the last byte of an answer reaches it, before the thread that
 * sent that byte has given its slot back, and that is no overlap. An
 * answer is never sent before its first delay, by which time such a
 * thread is long done. */
static void count_in_flight(struct conn *c)
{
    struct fakellm *f = c->f;

    c->count_at_send = 0;
    pthread_mutex_lock(&f->mu);
    if (f->in_flight > f->max_in_flight)
        f->max_in_flight = f->in_flight;
    pthread_mutex_unlock(&f->mu);
}

static int send_all(struct conn *c, const void *data, size_t n)
{
    const char *p = data;

    if (c->count_at_send)
        count_in_flight(c);
    while (n > 0) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);

        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int rc = wait_fd(c->f, c->fd, POLLOUT);

            if (rc < 0)
                return rc;
        } else if (w < 0 && errno != EINTR) {
            return -errno;
        }
    }
    return 0;
}

/* Reads what is there into 'in'. 1: got bytes, 0: peer closed, < 0. */
static int recv_some(struct conn *c, struct buf *in)
{
    char tmp[16384];

    for (;;) {
        ssize_t r = recv(c->fd, tmp, sizeof(tmp), 0);

        if (r > 0)
            return buf_add(in, tmp, (size_t)r) < 0 ? -ENOMEM : 1;
        if (r == 0)
            return 0;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int rc = wait_fd(c->f, c->fd, POLLIN);

            if (rc < 0)
                return rc;
        } else if (errno != EINTR) {
            return -errno;
        }
    }
}

/* ---- HTTP requests ----------------------------------------------------- */

static void request_free(struct request *rq)
{
    free(rq->method);
    free(rq->target);
    free(rq->path);
    free(rq->body);
    free(rq->auth);
    memset(rq, 0, sizeof(*rq));
}

static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        *--e = '\0';
    return s;
}

/* Parses the request line and headers in head[0..len) (CRLFs included).
 * Fills rq (method, target, path, auth, keep_alive) and the body's
 * length. Returns 0, or an HTTP status to answer before closing. */
static int parse_head(const char *head, size_t len, struct request *rq,
                      size_t *body_len, int *expect_continue)
{
    char *copy = strndup(head, len), *line, *save = NULL, *sp1, *sp2, *q;
    int http11, rc = 0, chunked = 0;

    *body_len = 0;
    *expect_continue = 0;
    if (!copy)
        return 500;
    line = strtok_r(copy, "\r\n", &save);
    sp1 = line ? strchr(line, ' ') : NULL;
    sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
        rc = 400;
        goto out;
    }
    *sp1 = *sp2 = '\0';
    http11 = strcmp(sp2 + 1, "HTTP/1.0") != 0;
    rq->keep_alive = http11;
    rq->method = strdup(line);
    rq->target = strdup(sp1 + 1);
    rq->path = strdup(sp1 + 1);
    if (!rq->method || !rq->target || !rq->path) {
        rc = 500;
        goto out;
    }
    q = strchr(rq->path, '?');
    if (q)
        *q = '\0';
    while ((line = strtok_r(NULL, "\r\n", &save)) != NULL) {
        char *colon = strchr(line, ':'), *v;

        if (!colon) {
            rc = 400;
            goto out;
        }
        *colon = '\0';
        v = trim(colon + 1);
        if (strcasecmp(line, "Content-Length") == 0) {
            char *end;
            unsigned long long n;

            errno = 0;
            n = strtoull(v, &end, 10);
            if (errno || end == v || *end || v[0] == '-') {
                rc = 400;
                goto out;
            }
            if (n > MAX_BODY) {
                rc = 413;
                goto out;
            }
            *body_len = (size_t)n;
        } else if (strcasecmp(line, "Transfer-Encoding") == 0) {
            chunked = strcasecmp(v, "identity") != 0;
        } else if (strcasecmp(line, "Expect") == 0) {
            *expect_continue = strcasecmp(v, "100-continue") == 0;
        } else if (strcasecmp(line, "Authorization") == 0) {
            free(rq->auth);
            rq->auth = strdup(v);
            if (!rq->auth) {
                rc = 500;
                goto out;
            }
        } else if (strcasecmp(line, "Connection") == 0) {
            if (strcasecmp(v, "close") == 0)
                rq->keep_alive = 0;
            else if (strcasecmp(v, "keep-alive") == 0)
                rq->keep_alive = 1;
        }
    }
    /* The clients under test send Content-Length; a chunked request body
     * is refused rather than misread. */
    if (chunked)
        rc = 411;
out:
    free(copy);
    return rc;
}

/* ---- HTTP responses ---------------------------------------------------- */

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
    }
}

/* Sends a status line and headers. content_length < 0 means chunked. */
static int send_head(struct conn *c, int status, const char *ctype,
                     long long content_length, int retry_after_s,
                     int keep_alive)
{
    struct buf h = { 0 };
    int rc;

    rc = buf_printf(&h, "HTTP/1.1 %d %s\r\nServer: fakellm\r\n"
                        "Content-Type: %s\r\n", status, reason(status), ctype);
    if (rc == 0 && content_length >= 0)
        rc = buf_printf(&h, "Content-Length: %lld\r\n", content_length);
    if (rc == 0 && content_length < 0)
        rc = buf_adds(&h, "Transfer-Encoding: chunked\r\n"
                         "Cache-Control: no-cache\r\n");
    if (rc == 0 && retry_after_s > 0)
        rc = buf_printf(&h, "Retry-After: %d\r\n", retry_after_s);
    if (rc == 0 && !keep_alive)
        rc = buf_adds(&h, "Connection: close\r\n");
    if (rc == 0)
        rc = buf_adds(&h, "\r\n");
    if (rc == 0)
        rc = send_all(c, h.p, h.len);
    buf_free(&h);
    return rc;
}

static int send_simple(struct conn *c, int status, const char *ctype,
                       const char *body, int retry_after_s, int keep_alive)
{
    size_t n = strlen(body);
    int rc = send_head(c, status, ctype, (long long)n, retry_after_s,
                       keep_alive);

    return rc < 0 ? rc : send_all(c, body, n);
}

/* An OpenAI-shaped error body. */
static int send_error(struct conn *c, int status, const char *type,
                      const char *msg, int keep_alive)
{
    cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error");
    char *s;
    int rc;

    if (!e || !cJSON_AddStringToObject(e, "message", msg) ||
        !cJSON_AddStringToObject(e, "type", type) ||
        !cJSON_AddNullToObject(e, "param") ||
        !cJSON_AddNullToObject(e, "code")) {
        cJSON_Delete(o);
        return -ENOMEM;
    }
    s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        return -ENOMEM;
    rc = send_simple(c, status, "application/json", s, 0, keep_alive);
    free(s);
    return rc;
}

static int send_chunk(struct conn *c, const char *data, size_t n)
{
    struct buf b = { 0 };
    int rc;

    rc = buf_printf(&b, "%zx\r\n", n);
    if (rc == 0)
        rc = buf_add(&b, data, n);
    if (rc == 0)
        rc = buf_adds(&b, "\r\n");
    if (rc == 0)
        rc = send_all(c, b.p, b.len);
    buf_free(&b);
    return rc;
}

/* ---- completions --------------------------------------------------------- */

/* The pieces of one answer: what a reply needs from the request. */
struct answer {
    char id[48];
    long created;
    char *model;                     /* the request's, else the first one */
    size_t prompt_bytes;
    int llama;                       /* send timings, count the text     */
    unsigned prompt_tokens;          /* llama: counted from the text     */
    unsigned prompt_n, cache_n;      /* llama: evaluated, reused         */
    int truncated;                   /* llama: cut silently              */
};

/* The messages' text of a chat request, concatenated (malloc'd; "" when
 * there is none). */
static char *prompt_text(const cJSON *req)
{
    const cJSON *m;
    struct buf b = { 0 };

    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(req, "messages")) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (cJSON_IsString(c) && buf_adds(&b, c->valuestring) < 0) {
            buf_free(&b);
            return NULL;
        }
    }
    return b.p ? b.p : strdup("");
}

/* The prompt's size in the fake's tokens. */
static unsigned count_tokens(const struct fakellm_server *srv, size_t bytes)
{
    return (unsigned)(bytes / (srv->bytes_per_token ? srv->bytes_per_token
                                                    : 4));
}

static int answer_init(struct fakellm *f, const struct request *rq,
                       struct answer *a, int *stream)
{
    cJSON *req = cJSON_ParseWithLength(rq->body, rq->body_len);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(req, "model");

    *stream = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "stream"));
    snprintf(a->id, sizeof(a->id), "chatcmpl-fake%u",
             atomic_fetch_add(&f->next_id, 1u));
    a->created = (long)time(NULL);
    a->prompt_bytes = rq->body_len;
    pthread_mutex_lock(&f->mu);
    if (f->srv.llama || f->srv.n_ctx) {
        char *text = prompt_text(req);
        size_t same = 0, n = text ? strlen(text) : 0;

        a->llama = 1;
        a->prompt_tokens = count_tokens(&f->srv, n);
        /* A one-prompt cache, as one llama-server slot keeps: the part
         * shared with the last prompt is not evaluated again. */
        while (f->cached && text && f->cached[same] &&
               f->cached[same] == text[same])
            same++;
        a->cache_n = count_tokens(&f->srv, same);
        a->prompt_n = a->prompt_tokens - a->cache_n;
        if (f->srv.n_ctx && f->srv.truncate &&
            a->prompt_tokens > f->srv.n_ctx) {
            a->truncated = 1;
            a->prompt_tokens = f->srv.n_ctx / 2;
            a->prompt_n = a->prompt_tokens;
            a->cache_n = 0;
        }
        if (text) {
            free(f->cached);
            f->cached = text;
        }
    }
    pthread_mutex_unlock(&f->mu);
    if (cJSON_IsString(m)) {
        a->model = strdup(m->valuestring);
    } else {
        pthread_mutex_lock(&f->mu);
        a->model = strdup(f->models && f->models[0] ? f->models[0]
                                                    : "fakellm");
        pthread_mutex_unlock(&f->mu);
    }
    cJSON_Delete(req);
    return a->model ? 0 : -ENOMEM;
}

static cJSON *completion_base(const struct answer *a, const char *object)
{
    cJSON *o = cJSON_CreateObject();

    if (!cJSON_AddStringToObject(o, "id", a->id) ||
        !cJSON_AddStringToObject(o, "object", object) ||
        !cJSON_AddNumberToObject(o, "created", (double)a->created) ||
        !cJSON_AddStringToObject(o, "model", a->model)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static int add_usage(cJSON *o, const struct answer *a, size_t content_len)
{
    cJSON *u = cJSON_AddObjectToObject(o, "usage");
    double p = a->llama ? (double)a->prompt_tokens
                        : (double)(a->prompt_bytes / 4);
    double cpl = (double)(content_len / 4 + 1);

    if (!u || !cJSON_AddNumberToObject(u, "prompt_tokens", p) ||
        !cJSON_AddNumberToObject(u, "completion_tokens", cpl) ||
        !cJSON_AddNumberToObject(u, "total_tokens", p + cpl))
        return -ENOMEM;
    return 0;
}

/* llama.cpp's timings: prompt tokens evaluated and taken from the cache,
 * and whether the prompt was cut to fit. */
static int add_timings(cJSON *o, const struct answer *a)
{
    cJSON *t;

    if (!a->llama)
        return 0;
    t = cJSON_AddObjectToObject(o, "timings");
    if (!t || !cJSON_AddNumberToObject(t, "prompt_n", a->prompt_n) ||
        !cJSON_AddNumberToObject(t, "cache_n", a->cache_n) ||
        !cJSON_AddNumberToObject(t, "predicted_n", 1) ||
        (a->truncated && !cJSON_AddTrueToObject(t, "truncated")))
        return -ENOMEM;
    return 0;
}

static int add_finish(cJSON *choice, const char *finish_reason)
{
    if (!finish_reason)
        finish_reason = "stop";
    if (!*finish_reason)
        return cJSON_AddNullToObject(choice, "finish_reason") ? 0 : -ENOMEM;
    return cJSON_AddStringToObject(choice, "finish_reason", finish_reason)
               ? 0 : -ENOMEM;
}

/* The whole non-streamed chat.completion body, malloc'd. */
static char *completion_json(const struct answer *a,
                             const struct fakellm_rule *r)
{
    const char *content = r->content ? r->content : "";
    cJSON *o = completion_base(a, "chat.completion");
    cJSON *choices = o ? cJSON_AddArrayToObject(o, "choices") : NULL;
    cJSON *ch = cJSON_CreateObject(), *msg;
    char *s = NULL;

    if (!choices || !ch) {
        cJSON_Delete(ch);
        goto out;
    }
    cJSON_AddItemToArray(choices, ch);
    if (!cJSON_AddNumberToObject(ch, "index", 0))
        goto out;
    msg = cJSON_AddObjectToObject(ch, "message");
    if (!msg ||
        !cJSON_AddStringToObject(msg, "role", "assistant") ||
        !cJSON_AddStringToObject(msg, "content", content) ||
        add_finish(ch, r->finish_reason) < 0)
        goto out;
    if (!r->no_usage && add_usage(o, a, strlen(content)) < 0)
        goto out;
    if (add_timings(o, a) < 0)
        goto out;
    s = cJSON_PrintUnformatted(o);
out:
    cJSON_Delete(o);
    return s;
}

/* One chat.completion.chunk event. kind: 0 role, 1 content piece,
 * 2 finish, 3 usage. */
static int chunk_event(struct buf *out, const struct answer *a,
                       const struct fakellm_rule *r, int kind,
                       const char *piece, size_t piece_len, size_t total)
{
    cJSON *o = completion_base(a, "chat.completion.chunk");
    cJSON *choices = o ? cJSON_AddArrayToObject(o, "choices") : NULL;
    cJSON *ch = NULL, *delta;
    char *s = NULL, *tmp = NULL;
    int rc = -ENOMEM;

    if (!choices)
        goto out;
    if (kind == 3) {
        if (add_usage(o, a, total) < 0)
            goto out;
    } else {
        ch = cJSON_CreateObject();
        if (!ch)
            goto out;
        cJSON_AddItemToArray(choices, ch);
        if (!cJSON_AddNumberToObject(ch, "index", 0))
            goto out;
        delta = cJSON_AddObjectToObject(ch, "delta");
        if (!delta)
            goto out;
        if (kind == 0 && !cJSON_AddStringToObject(delta, "role", "assistant"))
            goto out;
        if (kind == 1) {
            tmp = strndup(piece, piece_len);
            if (!tmp || !cJSON_AddStringToObject(delta, "content", tmp))
                goto out;
        }
        if (kind == 2 ? add_finish(ch, r->finish_reason) < 0
                      : !cJSON_AddNullToObject(ch, "finish_reason"))
            goto out;
        /* llama-server sends its timings with the last chunk. */
        if (kind == 2 && add_timings(o, a) < 0)
            goto out;
    }
    s = cJSON_PrintUnformatted(o);
    if (s && buf_adds(out, "data: ") == 0 && buf_adds(out, s) == 0 &&
        buf_adds(out, "\n\n") == 0)
        rc = 0;
out:
    free(tmp);
    free(s);
    cJSON_Delete(o);
    return rc;
}

/* Events of a stream, each one SSE event (or raw piece). */
struct events {
    struct buf *v;
    size_t n, cap;
};

static struct buf *events_new(struct events *ev)
{
    if (ev->n == ev->cap) {
        size_t cap = ev->cap ? ev->cap * 2 : 16;
        struct buf *p = realloc(ev->v, cap * sizeof(*p));

        if (!p)
            return NULL;
        ev->v = p;
        ev->cap = cap;
    }
    memset(&ev->v[ev->n], 0, sizeof(ev->v[0]));
    return &ev->v[ev->n++];
}

static void events_free(struct events *ev)
{
    size_t i;

    for (i = 0; i < ev->n; i++)
        buf_free(&ev->v[i]);
    free(ev->v);
}

/* Length of the piece starting at s[0] of at most 'want' bytes, grown to
 * the end of a UTF-8 sequence so no character is split across chunks. */
static size_t utf8_piece(const char *s, size_t left, size_t want)
{
    size_t n = want < left ? want : left;

    while (n < left && ((unsigned char)s[n] & 0xC0) == 0x80)
        n++;
    return n;
}

static int stream_events(struct events *ev, const struct answer *a,
                         const struct fakellm_rule *r)
{
    const char *content = r->content ? r->content : "";
    size_t len = strlen(content), off = 0;
    size_t step = r->chunk_bytes ? r->chunk_bytes : DEFAULT_CHUNK;
    struct buf *b;

    if (!(b = events_new(ev)) || chunk_event(b, a, r, 0, NULL, 0, 0) < 0)
        return -ENOMEM;
    while (off < len) {
        size_t n = utf8_piece(content + off, len - off, step);

        if (!(b = events_new(ev)) ||
            chunk_event(b, a, r, 1, content + off, n, 0) < 0)
            return -ENOMEM;
        off += n;
    }
    if (!(b = events_new(ev)) || chunk_event(b, a, r, 2, NULL, 0, 0) < 0)
        return -ENOMEM;
    if (!r->no_usage &&
        (!(b = events_new(ev)) || chunk_event(b, a, r, 3, NULL, 0, len) < 0))
        return -ENOMEM;
    if (!r->no_done &&
        (!(b = events_new(ev)) || buf_adds(b, "data: [DONE]\n\n") < 0))
        return -ENOMEM;
    return 0;
}

static int raw_events(struct events *ev, const struct fakellm_rule *r)
{
    const char *body = r->body ? r->body : "";
    size_t len = strlen(body), off = 0;
    size_t step = r->chunk_bytes ? r->chunk_bytes : len;

    while (off < len) {
        size_t n = step < len - off ? step : len - off;
        struct buf *b = events_new(ev);

        if (!b || buf_add(b, body + off, n) < 0)
            return -ENOMEM;
        off += n;
    }
    return 0;
}

/* Sends the events as chunks, each after delay_ms. With cut >= 0, stops
 * after that many body bytes and leaves the stream unterminated.
 * Returns 0 (finished, keep-alive possible), 1 (cut: close), < 0. */
static int send_events(struct conn *c, const struct events *ev,
                       unsigned delay_ms, long long cut)
{
    size_t i;
    int rc;

    for (i = 0; i < ev->n; i++) {
        size_t n = ev->v[i].len;

        if (delay_ms && (rc = sleep_ms(c->f, delay_ms)) < 0)
            return rc;
        if (cut >= 0 && (long long)n >= cut) {
            if (cut > 0 && (rc = send_chunk(c, ev->v[i].p, (size_t)cut)) < 0)
                return rc;
            return 1;
        }
        if ((rc = send_chunk(c, ev->v[i].p, n)) < 0)
            return rc;
        if (cut >= 0)
            cut -= (long long)n;
    }
    if (cut >= 0)
        return 1;
    rc = send_all(c, "0\r\n\r\n", 5);
    return rc;
}

/* 1: keep the connection, 0: close it, < 0: error (close). */
static int answer_completion(struct conn *c, const struct request *rq,
                             const struct fakellm_rule *r)
{
    struct answer a = { .model = NULL };
    struct events ev = { 0 };
    int stream, rc;
    long long cut = r->kind == FAKE_CUT ? (long long)r->cut_after : -1;

    rc = answer_init(c->f, rq, &a, &stream);
    if (rc < 0)
        goto out;
    if (stream) {
        rc = stream_events(&ev, &a, r);
        if (rc == 0)
            rc = send_head(c, 200, "text/event-stream", -1, 0,
                           rq->keep_alive && cut < 0);
        if (rc == 0)
            rc = send_events(c, &ev, r->delay_ms, cut);
        if (rc == 0)
            rc = rq->keep_alive;
        else if (rc == 1)
            rc = 0;
    } else {
        char *s = completion_json(&a, r);
        size_t n;

        if (!s) {
            rc = -ENOMEM;
            goto out;
        }
        n = strlen(s);
        rc = send_head(c, 200, "application/json", (long long)n, 0,
                       rq->keep_alive && cut < 0);
        /* Unstreamed answers are slow in one go: one delay, not a drip. */
        if (rc == 0 && r->delay_ms)
            rc = sleep_ms(c->f, r->delay_ms);
        if (rc == 0)
            rc = send_all(c, s, cut >= 0 && (size_t)cut < n ? (size_t)cut : n);
        free(s);
        if (rc == 0)
            rc = cut >= 0 ? 0 : rq->keep_alive;
    }
out:
    free(a.model);
    events_free(&ev);
    return rc;
}

/* Waits, sending nothing, until the server stops or the client leaves. */
static int hang(struct conn *c)
{
    struct buf sink = { 0 };
    int rc;

    do {
        rc = recv_some(c, &sink);
        sink.len = 0;
    } while (rc > 0);
    buf_free(&sink);
    return 0;
}

static int reset(struct conn *c)
{
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };

    /* A zero linger makes close() send RST instead of FIN. */
    if (setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0)
        return -errno;
    return 0;
}

/* Answers with rule r. 1: keep the connection, 0: close, < 0. */
static int apply_rule(struct conn *c, const struct request *rq,
                      const struct fakellm_rule *r)
{
    int rc;

    if (r->first_delay_ms && (rc = sleep_ms(c->f, r->first_delay_ms)) < 0)
        return rc;
    switch (r->kind) {
    case FAKE_REPLY:
    case FAKE_CUT:
        return answer_completion(c, rq, r);
    case FAKE_STATUS: {
        char *def = NULL;
        const char *body = r->body;

        if (!body) {
            if (asprintf(&def, "{\"error\":{\"message\":\"fakellm: status "
                               "%d\",\"type\":\"fakellm\"}}", r->status) < 0)
                return -ENOMEM;
            body = def;
        }
        rc = send_simple(c, r->status, "application/json", body,
                         r->retry_after_s, rq->keep_alive);
        free(def);
        return rc < 0 ? rc : rq->keep_alive;
    }
    case FAKE_RAW: {
        struct events ev = { 0 };

        rc = raw_events(&ev, r);
        if (rc == 0)
            rc = send_head(c, 200, "text/event-stream", -1,
                           r->retry_after_s, rq->keep_alive);
        if (rc == 0)
            rc = send_events(c, &ev, r->delay_ms, -1);
        events_free(&ev);
        return rc < 0 ? rc : rq->keep_alive;
    }
    case FAKE_GARBAGE:
        rc = send_simple(c, 200, "application/json",
                         r->body ? r->body : "<html>this is not JSON{",
                         0, rq->keep_alive);
        return rc < 0 ? rc : rq->keep_alive;
    case FAKE_HANG:
        return hang(c);
    case FAKE_RESET:
        rc = reset(c);
        return rc < 0 ? rc : 0;
    }
    return send_error(c, 500, "fakellm", "fakellm: unknown rule kind", 0);
}

static int answer_models(struct conn *c, const struct request *rq)
{
    cJSON *o = cJSON_CreateObject(), *data, *m;
    char *s = NULL;
    size_t i;
    int rc = -ENOMEM;

    data = cJSON_AddArrayToObject(o, "data");
    if (!data || !cJSON_AddStringToObject(o, "object", "list"))
        goto out;
    pthread_mutex_lock(&c->f->mu);
    for (i = 0; c->f->models && c->f->models[i]; i++) {
        m = cJSON_CreateObject();
        cJSON_AddItemToArray(data, m);
        if (!cJSON_AddStringToObject(m, "id", c->f->models[i]) ||
            !cJSON_AddStringToObject(m, "object", "model") ||
            !cJSON_AddStringToObject(m, "owned_by", "fakellm"))
            break;
    }
    pthread_mutex_unlock(&c->f->mu);
    s = cJSON_PrintUnformatted(o);
    if (s)
        rc = send_simple(c, 200, "application/json", s, 0, rq->keep_alive);
out:
    free(s);
    cJSON_Delete(o);
    return rc < 0 ? rc : rq->keep_alive;
}

/* ---- control endpoints ---------------------------------------------------- */

static char *requests_json(struct fakellm *f)
{
    cJSON *arr = cJSON_CreateArray();
    char *s = NULL;
    size_t i;
    int ok = arr != NULL;

    pthread_mutex_lock(&f->mu);
    for (i = 0; ok && i < f->nlog; i++) {
        cJSON *o = cJSON_CreateObject();

        ok = o && cJSON_AddItemToArray(arr, o);
        ok = ok && cJSON_AddStringToObject(o, "method", f->log[i].method) &&
             cJSON_AddStringToObject(o, "path", f->log[i].path) &&
             cJSON_AddStringToObject(o, "body", f->log[i].body) &&
             (f->log[i].auth
                  ? cJSON_AddStringToObject(o, "authorization", f->log[i].auth)
                  : cJSON_AddNullToObject(o, "authorization"));
    }
    pthread_mutex_unlock(&f->mu);
    if (ok)
        s = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    return s;
}

static int models_from_json(struct fakellm *f, const char *json)
{
    cJSON *root = cJSON_Parse(json);
    const cJSON *it;
    const char **ids;
    size_t n = 0;
    int rc = 0;

    if (!cJSON_IsArray(root)) {
        cJSON_Delete(root);
        return -EINVAL;
    }
    ids = calloc((size_t)cJSON_GetArraySize(root) + 1, sizeof(*ids));
    if (!ids) {
        cJSON_Delete(root);
        return -ENOMEM;
    }
    cJSON_ArrayForEach(it, root) {
        if (!cJSON_IsString(it)) {
            rc = -EINVAL;
            break;
        }
        ids[n++] = it->valuestring;
    }
    if (rc == 0)
        rc = fakellm_set_models(f, ids);
    free(ids);
    cJSON_Delete(root);
    return rc;
}

static int server_from_json(struct fakellm *f, const char *json);

static int answer_control(struct conn *c, const struct request *rq)
{
    struct fakellm *f = c->f;
    int ka = rq->keep_alive, rc;
    const char *ok = "{\"ok\":true}";

    if (strcmp(rq->path, "/fake/rules") == 0 &&
        strcmp(rq->method, "POST") == 0) {
        struct buf why = { 0 };

        rc = rules_add_json(f, rq->body, &why);
        if (rc == -EINVAL)
            rc = send_error(c, 400, "invalid_request_error",
                            why.p ? why.p : "bad rule", ka);
        else if (rc < 0)
            rc = send_error(c, 500, "fakellm", "out of memory", ka);
        else
            rc = send_simple(c, 200, "application/json", ok, 0, ka);
        buf_free(&why);
    } else if (strcmp(rq->path, "/fake/rules") == 0 &&
               strcmp(rq->method, "DELETE") == 0) {
        fakellm_clear(f);
        rc = send_simple(c, 200, "application/json", ok, 0, ka);
    } else if (strcmp(rq->path, "/fake/requests") == 0 &&
               strcmp(rq->method, "GET") == 0) {
        char *s = requests_json(f);

        rc = s ? send_simple(c, 200, "application/json", s, 0, ka)
               : send_error(c, 500, "fakellm", "out of memory", ka);
        free(s);
    } else if (strcmp(rq->path, "/fake/server") == 0 &&
               strcmp(rq->method, "POST") == 0) {
        rc = server_from_json(f, rq->body);
        rc = rc < 0 ? send_error(c, 400, "invalid_request_error",
                                 "server: an object of slots, n_ctx, "
                                 "bytes_per_token (numbers), truncate, "
                                 "llama (booleans)", ka)
                    : send_simple(c, 200, "application/json", ok, 0, ka);
    } else if (strcmp(rq->path, "/fake/models") == 0 &&
               strcmp(rq->method, "POST") == 0) {
        rc = models_from_json(f, rq->body);
        if (rc == -EINVAL)
            rc = send_error(c, 400, "invalid_request_error",
                            "models must be a JSON array of strings", ka);
        else if (rc < 0)
            rc = send_error(c, 500, "fakellm", "out of memory", ka);
        else
            rc = send_simple(c, 200, "application/json", ok, 0, ka);
    } else {
        rc = send_error(c, 404, "not_found", "fakellm: unknown control path",
                        ka);
    }
    return rc < 0 ? rc : ka;
}

int fakellm_set_server(struct fakellm *f, const struct fakellm_server *srv)
{
    pthread_mutex_lock(&f->mu);
    f->srv = *srv;
    pthread_cond_broadcast(&f->slot_cv);
    pthread_mutex_unlock(&f->mu);
    return 0;
}

unsigned fakellm_max_in_flight(struct fakellm *f)
{
    unsigned n;

    pthread_mutex_lock(&f->mu);
    n = f->max_in_flight;
    pthread_mutex_unlock(&f->mu);
    return n;
}

unsigned fakellm_chat_answered(struct fakellm *f)
{
    unsigned n;

    pthread_mutex_lock(&f->mu);
    n = f->answered;
    pthread_mutex_unlock(&f->mu);
    return n;
}

static int server_from_json(struct fakellm *f, const char *json)
{
    cJSON *o = cJSON_Parse(json), *v;
    struct fakellm_server srv = { 0 };
    int rc = 0;

    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return -EINVAL;
    }
    cJSON_ArrayForEach(v, o) {
        unsigned n = cJSON_IsNumber(v) && v->valuedouble >= 0
                         ? (unsigned)v->valuedouble : 0;
        if (strcmp(v->string, "slots") == 0 && cJSON_IsNumber(v))
            srv.slots = n;
        else if (strcmp(v->string, "n_ctx") == 0 && cJSON_IsNumber(v))
            srv.n_ctx = n;
        else if (strcmp(v->string, "bytes_per_token") == 0 &&
                 cJSON_IsNumber(v))
            srv.bytes_per_token = n;
        else if (strcmp(v->string, "truncate") == 0 && cJSON_IsBool(v))
            srv.truncate = cJSON_IsTrue(v);
        else if (strcmp(v->string, "llama") == 0 && cJSON_IsBool(v))
            srv.llama = cJSON_IsTrue(v);
        else
            rc = -EINVAL;
    }
    cJSON_Delete(o);
    if (rc == 0)
        fakellm_set_server(f, &srv);
    return rc;
}

/* Waits for a chat slot (with srv.slots), sending nothing meanwhile.
 * Returns 0, or -ECANCELED when the server stops. */
static int slot_take(struct conn *c)
{
    struct fakellm *f = c->f;

    pthread_mutex_lock(&f->mu);
    while (f->srv.slots && f->in_flight >= f->srv.slots &&
           !atomic_load(&f->stopping)) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 50 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&f->slot_cv, &f->mu, &until);
    }
    if (atomic_load(&f->stopping)) {
        pthread_mutex_unlock(&f->mu);
        return -ECANCELED;
    }
    f->in_flight++;
    f->answered++;
    c->count_at_send = 1;
    pthread_mutex_unlock(&f->mu);
    return 0;
}

static void slot_give(struct conn *c)
{
    struct fakellm *f = c->f;

    c->count_at_send = 0;
    pthread_mutex_lock(&f->mu);
    f->in_flight--;
    pthread_cond_broadcast(&f->slot_cv);
    pthread_mutex_unlock(&f->mu);
}

/* llama-server's /props and /tokenize. 1/0/<0 as dispatch, or 2 when the
 * request is not one of them. */
static int answer_llama(struct conn *c, const struct request *rq)
{
    struct fakellm_server srv;
    char *s = NULL;
    int rc;

    pthread_mutex_lock(&c->f->mu);
    srv = c->f->srv;
    pthread_mutex_unlock(&c->f->mu);
    if (!srv.llama)
        return 2;
    if (strcmp(rq->path, "/props") == 0 && strcmp(rq->method, "GET") == 0) {
        if (asprintf(&s, "{\"total_slots\":%u,\"default_generation_settings"
                     "\":{\"n_ctx\":%u},\"model_path\":\"/models/fake."
                     "gguf\"}", srv.slots ? srv.slots : 1,
                     srv.n_ctx ? srv.n_ctx : 4096) < 0)
            return -ENOMEM;
    } else if (strcmp(rq->path, "/tokenize") == 0 &&
               strcmp(rq->method, "POST") == 0) {
        cJSON *o = cJSON_Parse(rq->body), *toks = cJSON_CreateObject();
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(o, "content");
        cJSON *a = toks ? cJSON_AddArrayToObject(toks, "tokens") : NULL;
        unsigned n = count_tokens(&srv, cJSON_IsString(content)
                                            ? strlen(content->valuestring)
                                            : 0);
        for (unsigned i = 0; a && i < n; i++)
            cJSON_AddItemToArray(a, cJSON_CreateNumber(i % 30000));
        s = a ? cJSON_PrintUnformatted(toks) : NULL;
        cJSON_Delete(o);
        cJSON_Delete(toks);
        if (!s)
            return -ENOMEM;
    } else {
        return 2;
    }
    rc = send_simple(c, 200, "application/json", s, 0, rq->keep_alive);
    free(s);
    return rc < 0 ? rc : rq->keep_alive;
}

/* A chat request over the context: llama.cpp's error, naming both sizes.
 * 1/0/<0 as dispatch, or 2 when it fits (or there is no context). */
static int over_context(struct conn *c, const struct request *rq)
{
    struct fakellm_server srv;
    cJSON *req;
    char *text, *body = NULL;
    unsigned n;
    int rc;

    pthread_mutex_lock(&c->f->mu);
    srv = c->f->srv;
    pthread_mutex_unlock(&c->f->mu);
    if (!srv.n_ctx || srv.truncate)
        return 2;
    req = cJSON_ParseWithLength(rq->body, rq->body_len);
    text = prompt_text(req);
    cJSON_Delete(req);
    if (!text)
        return -ENOMEM;
    n = count_tokens(&srv, strlen(text));
    free(text);
    if (n <= srv.n_ctx)
        return 2;
    if (asprintf(&body, "{\"error\":{\"code\":400,\"message\":\"the request "
                 "exceeds the available context size, try increasing it\","
                 "\"type\":\"exceed_context_size_error\",\"n_prompt_tokens\":"
                 "%u,\"n_ctx\":%u}}", n, srv.n_ctx) < 0)
        return -ENOMEM;
    rc = send_simple(c, 400, "application/json", body, 0, rq->keep_alive);
    free(body);
    return rc < 0 ? rc : rq->keep_alive;
}

/* 1: keep the connection, 0: close, < 0: error. */
static int dispatch(struct conn *c, const struct request *rq)
{
    struct fakellm_rule r;
    int rc, chat;

    if (strncmp(rq->path, "/fake/", 6) == 0)
        return answer_control(c, rq);
    /* Logged before answering, so a test sees a request that hangs. */
    if ((rc = log_request(c->f, rq)) < 0)
        return rc;
    if ((rc = answer_llama(c, rq)) != 2)
        return rc;
    chat = strcmp(rq->path, CHAT_PATH) == 0 && strcmp(rq->method, "POST") == 0;
    if (chat && (rc = over_context(c, rq)) != 2)
        return rc;
    rc = rule_take(c->f, rq, &r);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        /* One slot is one answer: the rule's delays run inside it. */
        if (chat && (rc = slot_take(c)) < 0) {
            rule_free_strings(&r);
            return rc;
        }
        rc = apply_rule(c, rq, &r);
        if (chat)
            slot_give(c);
        rule_free_strings(&r);
        return rc;
    }
    if (strcmp(rq->path, MODELS_PATH) == 0 && strcmp(rq->method, "GET") == 0)
        return answer_models(c, rq);
    if (strcmp(rq->path, CHAT_PATH) == 0 && strcmp(rq->method, "POST") == 0)
        rc = send_error(c, 500, "fakellm", NO_RULE_MSG, rq->keep_alive);
    else
        rc = send_error(c, 404, "not_found", "fakellm: unknown path",
                        rq->keep_alive);
    return rc < 0 ? rc : rq->keep_alive;
}

/* Reads one request off the connection. 1: got one, 0: the client closed
 * between requests, < 0: error or stop (the connection is closed). */
static int read_request(struct conn *c, struct buf *in, struct request *rq)
{
    const char *end;
    size_t head_len, body_len;
    int expect, status, rc;

    while (!(end = in->len ? memmem(in->p, in->len, "\r\n\r\n", 4) : NULL)) {
        if (in->len > MAX_HEAD) {
            send_error(c, 431, "invalid_request_error", "headers too big", 0);
            return -EMSGSIZE;
        }
        rc = recv_some(c, in);
        if (rc <= 0)
            return rc == 0 && in->len ? -EPROTO : rc;
    }
    head_len = (size_t)(end - in->p) + 4;
    status = parse_head(in->p, head_len, rq, &body_len, &expect);
    if (status) {
        send_error(c, status, "invalid_request_error",
                   "fakellm: cannot read this request", 0);
        return -EPROTO;
    }
    if (expect && in->len - head_len < body_len &&
        (rc = send_all(c, "HTTP/1.1 100 Continue\r\n\r\n", 25)) < 0)
        return rc;
    while (in->len - head_len < body_len) {
        rc = recv_some(c, in);
        if (rc <= 0)
            return rc == 0 ? -EPROTO : rc;
    }
    rq->body = strndup(in->p + head_len, body_len);
    if (!rq->body)
        return -ENOMEM;
    rq->body_len = body_len;
    buf_consume(in, head_len + body_len);
    return 1;
}

static void *conn_main(void *arg)
{
    struct conn *c = arg;
    struct buf in = { 0 };
    struct request rq = { 0 };

    for (;;) {
        int rc = read_request(c, &in, &rq);

        if (rc <= 0)
            break;
        rc = dispatch(c, &rq);
        request_free(&rq);
        if (rc <= 0)
            break;
    }
    request_free(&rq);
    buf_free(&in);
    close(c->fd);
    c->fd = -1;
    atomic_store(&c->done, 1);
    return NULL;
}

/* ---- server ----------------------------------------------------------- */

/* Joins the connection threads that have finished. Caller holds f->mu. */
static void reap_done(struct fakellm *f)
{
    struct conn **pp = &f->conns;

    while (*pp) {
        struct conn *c = *pp;

        if (atomic_load(&c->done)) {
            *pp = c->next;
            pthread_join(c->thr, NULL);
            free(c);
        } else {
            pp = &c->next;
        }
    }
}

static void *accept_main(void *arg)
{
    struct fakellm *f = arg;

    while (!atomic_load(&f->stopping)) {
        struct conn *c;
        int fd, one = 1;

        if (wait_fd(f, f->lfd, POLLIN) < 0)
            break;
        fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            /* EAGAIN and ECONNABORTED pass; EMFILE and the like would spin
             * on a listener that stays readable, so pause a little. */
            if (errno != EAGAIN && errno != EWOULDBLOCK &&
                errno != ECONNABORTED && errno != EINTR)
                sleep_ms(f, 50);
            continue;
        }
        /* SSE pieces must leave at once, not wait on Nagle. */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        c = calloc(1, sizeof(*c));
        if (!c) {
            close(fd);
            continue;
        }
        c->f = f;
        c->fd = fd;
        pthread_mutex_lock(&f->mu);
        reap_done(f);
        f->nconn++;
        if (pthread_create(&c->thr, NULL, conn_main, c) != 0) {
            pthread_mutex_unlock(&f->mu);
            close(fd);
            free(c);
            continue;
        }
        c->next = f->conns;
        f->conns = c;
        pthread_mutex_unlock(&f->mu);
    }
    return NULL;
}

int fakellm_start_port(int port, struct fakellm **out)
{
    struct fakellm *f;
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t sl = sizeof(sa);
    int pfd[2], one = 1, rc;
    static const char *const def_models[] = {
        "deepseek-coder-7b-instruct", NULL,
    };

    *out = NULL;
    if (port < 0 || port > 65535)
        return -EINVAL;
    f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->lfd = f->stop_rd = f->stop_wr = -1;
    if ((rc = pthread_mutex_init(&f->mu, NULL)) != 0) {
        free(f);
        return -rc;
    }
    pthread_cond_init(&f->slot_cv, NULL);
    if ((rc = fakellm_set_models(f, def_models)) < 0)
        goto fail;
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        rc = -errno;
        goto fail;
    }
    f->stop_rd = pfd[0];
    f->stop_wr = pfd[1];
    f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (f->lfd < 0) {
        rc = -errno;
        goto fail;
    }
    setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);
    if (bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(f->lfd, 128) < 0 ||
        getsockname(f->lfd, (struct sockaddr *)&sa, &sl) < 0) {
        rc = -errno;
        goto fail;
    }
    f->port = ntohs(sa.sin_port);
    snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d/v1", f->port);
    if ((rc = pthread_create(&f->accept_thr, NULL, accept_main, f)) != 0) {
        rc = -rc;
        goto fail;
    }
    *out = f;
    return 0;
fail:
    if (f->lfd >= 0)
        close(f->lfd);
    if (f->stop_rd >= 0) {
        close(f->stop_rd);
        close(f->stop_wr);
    }
    models_free(f->models);
    pthread_cond_destroy(&f->slot_cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
    return rc;
}

int fakellm_start(struct fakellm **out)
{
    return fakellm_start_port(0, out);
}

void fakellm_stop(struct fakellm *f)
{
    struct conn *c, *next;
    size_t i;

    if (!f)
        return;
    atomic_store(&f->stopping, 1);
    /* Never drained: it keeps every poll in every thread awake. */
    while (write(f->stop_wr, "x", 1) < 0 && errno == EINTR)
        ;
    pthread_join(f->accept_thr, NULL);
    /* The accept thread is gone, so the list no longer changes. */
    for (c = f->conns; c; c = next) {
        next = c->next;
        pthread_join(c->thr, NULL);
        free(c);
    }
    close(f->lfd);
    close(f->stop_rd);
    close(f->stop_wr);
    for (i = 0; i < f->nrules; i++)
        rule_free_strings(&f->rules[i].r);
    free(f->rules);
    for (i = 0; i < f->nlog; i++)
        logent_free(&f->log[i]);
    free(f->log);
    models_free(f->models);
    free(f->cached);
    pthread_cond_destroy(&f->slot_cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
}
