/* llm_sched.c -- the queue every LLM request passes through.
 *
 * One list of nodes holds both the callers waiting for a slot and those
 * holding one; the waiting ones are kept in service order (priority, then
 * arrival), so the head of the waiting part is always the next served. A
 * freed slot wakes only that head (each waiter sleeps on its own condition
 * variable): on a busy machine, waking every waiter to find the one that
 * may go costs the slot's next holder several scheduling delays.
 */
#include "llm_sched.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "redact.h"

#define MAX_ENDPOINTS 64
#define WHO_MAX 48

struct endpoint {
    char *url;                      /* for the JSON; may be NULL          */
    unsigned slots;                 /* >= 1                               */
    unsigned in_flight;
    int up;                         /* 1 up, 0 down                       */
    uint64_t served;                /* slots given since creation         */
};

struct node {
    char who[WHO_MAX];
    enum llm_priority prio;
    uint64_t seq;
    int ep;                         /* -1 while waiting                   */
    double since_ms;                /* when it began to wait              */
    pthread_cond_t cv;              /* its turn may have come (lock)      */
    struct node *next;
};

struct llm_sched {
    pthread_mutex_t lock;           /* guards everything below            */
    unsigned nep;
    struct endpoint ep[MAX_ENDPOINTS];
    struct node *nodes;             /* waiting (service order), running   */
    uint64_t next_seq;
    llm_sched_observer observer;
    void *observer_arg;
};

const char *llm_priority_name(enum llm_priority p)
{
    switch (p) {
    case LLM_PRIO_USER:
        return "user";
    case LLM_PRIO_LOW:
        return "trainer";
    case LLM_PRIO_NORMAL:
    default:
        return "builder";
    }
}

/* Service rank: lower first. */
static int rank(enum llm_priority p)
{
    return p == LLM_PRIO_USER ? 0 : p == LLM_PRIO_LOW ? 2 : 1;
}

int llm_sched_create(unsigned nendpoints, const char *const *urls,
                     unsigned slots, struct llm_sched **out)
{
    struct llm_sched *q;

    *out = NULL;
    if (nendpoints == 0 || nendpoints > MAX_ENDPOINTS)
        return -EINVAL;
    q = calloc(1, sizeof *q);
    if (!q)
        return -ENOMEM;
    q->nep = nendpoints;
    for (unsigned i = 0; i < nendpoints; i++) {
        q->ep[i].slots = slots ? slots : 1;
        q->ep[i].up = 1;            /* until a request says otherwise */
        if (urls && urls[i] && !(q->ep[i].url = strdup(urls[i]))) {
            llm_sched_free(q);
            return -ENOMEM;
        }
    }
    pthread_mutex_init(&q->lock, NULL);
    q->next_seq = 1;
    *out = q;
    return 0;
}

void llm_sched_free(struct llm_sched *q)
{
    if (!q)
        return;
    while (q->nodes) {
        struct node *n = q->nodes;
        q->nodes = n->next;
        pthread_cond_destroy(&n->cv);
        free(n);
    }
    for (unsigned i = 0; i < q->nep; i++)
        free(q->ep[i].url);
    pthread_mutex_destroy(&q->lock);
    free(q);
}

void llm_sched_observe(struct llm_sched *q, llm_sched_observer fn, void *arg)
{
    pthread_mutex_lock(&q->lock);
    q->observer = fn;
    q->observer_arg = arg;
    pthread_mutex_unlock(&q->lock);
}

static cJSON *json_locked(struct llm_sched *q)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *eps = cJSON_AddArrayToObject(o, "endpoints");
    cJSON *running = cJSON_AddArrayToObject(o, "running");
    cJSON *waiting = cJSON_AddArrayToObject(o, "waiting");
    double now = clock_mono_ms();
    int bad = !o || !eps || !running || !waiting, place = 0;

    for (unsigned i = 0; !bad && i < q->nep; i++) {
        cJSON *e = cJSON_CreateObject();
        bad |= !e || !cJSON_AddItemToArray(eps, e);
        if (bad) {
            cJSON_Delete(e);
            break;
        }
        /* status.json shows it: never with its credentials. */
        char *shown = redact_dup(q->ep[i].url);
        bad |= !(shown ? cJSON_AddStringToObject(e, "url", shown)
                       : cJSON_AddNullToObject(e, "url"));
        free(shown);
        bad |= !cJSON_AddNumberToObject(e, "slots", q->ep[i].slots);
        bad |= !cJSON_AddNumberToObject(e, "in_flight", q->ep[i].in_flight);
        bad |= !cJSON_AddBoolToObject(e, "up", q->ep[i].up);
        bad |= !cJSON_AddNumberToObject(e, "served",
                                        (double)q->ep[i].served);
    }
    for (struct node *n = q->nodes; !bad && n; n = n->next) {
        cJSON *e = cJSON_CreateObject();
        bad |= !e || !cJSON_AddItemToArray(n->ep < 0 ? waiting : running, e);
        if (bad) {
            cJSON_Delete(e);
            break;
        }
        bad |= !cJSON_AddStringToObject(e, "who", n->who);
        bad |= !cJSON_AddStringToObject(e, "priority",
                                        llm_priority_name(n->prio));
        if (n->ep >= 0) {
            bad |= !cJSON_AddNumberToObject(e, "endpoint", n->ep);
        } else {
            bad |= !cJSON_AddNumberToObject(e, "place", ++place);
            bad |= !cJSON_AddNumberToObject(
                e, "waited_s", round((now - n->since_ms) / 100) / 10);
        }
    }
    if (bad) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *llm_sched_json(struct llm_sched *q)
{
    cJSON *o;

    pthread_mutex_lock(&q->lock);
    o = json_locked(q);
    pthread_mutex_unlock(&q->lock);
    return o;
}

static void notify_locked(struct llm_sched *q)
{
    cJSON *o;
    char *s;

    if (!q->observer)
        return;
    o = json_locked(q);
    s = o ? cJSON_PrintUnformatted(o) : NULL;
    if (s)
        q->observer(q->observer_arg, s);
    free(s);
    cJSON_Delete(o);
}

/* The endpoint a slot should be taken on now, or -1 when none is free:
 * the fewest in flight relative to slots among the endpoints that are up
 * (among all when none is: a request then finds out whether one is back),
 * the one served least on a tie so that idle endpoints share the work. */
static int pick_locked(struct llm_sched *q)
{
    int any_up = 0, best = -1;
    double best_load = 0;

    for (unsigned i = 0; i < q->nep; i++)
        any_up |= q->ep[i].up;
    for (unsigned i = 0; i < q->nep; i++) {
        const struct endpoint *e = &q->ep[i];
        if ((any_up && !e->up) || e->in_flight >= e->slots)
            continue;
        double load = (double)e->in_flight / e->slots;
        if (best < 0 || load < best_load ||
            (load == best_load && e->served < q->ep[best].served)) {
            best = (int)i;
            best_load = load;
        }
    }
    return best;
}

/* Wakes the first waiter: the one a freed slot is for. */
static void wake_head_locked(struct llm_sched *q)
{
    for (struct node *m = q->nodes; m; m = m->next)
        if (m->ep < 0) {
            pthread_cond_signal(&m->cv);
            return;
        }
}

/* Whether n is the first waiter in service order. */
static int first_waiting_locked(struct llm_sched *q, const struct node *n)
{
    for (struct node *m = q->nodes; m; m = m->next)
        if (m->ep < 0)
            return m == n;
    return 0;
}

/* Inserts a waiting node at its place: after every node served before it
 * (running ones come first in the list too, as they are older or ahead). */
static void insert_locked(struct llm_sched *q, struct node *n)
{
    struct node **pp = &q->nodes;

    while (*pp) {
        const struct node *m = *pp;
        if (m->ep < 0 && (rank(m->prio) > rank(n->prio) ||
                          (rank(m->prio) == rank(n->prio) &&
                           m->seq > n->seq)))
            break;
        pp = &(*pp)->next;
    }
    n->next = *pp;
    *pp = n;
}

static void unlink_locked(struct llm_sched *q, struct node *n)
{
    for (struct node **pp = &q->nodes; *pp; pp = &(*pp)->next)
        if (*pp == n) {
            *pp = n->next;
            return;
        }
}

int llm_sched_acquire(struct llm_sched *q, enum llm_priority prio,
                      const char *who, struct llm_sched_ticket *ticket,
                      const atomic_int *cancelled)
{
    struct node *n = calloc(1, sizeof *n);
    pthread_condattr_t ca;
    int ep = -1;

    ticket->ep = -1;
    ticket->node = NULL;
    if (!n)
        return -ENOMEM;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&n->cv, &ca);
    pthread_condattr_destroy(&ca);
    snprintf(n->who, sizeof n->who, "%s", who ? who : "?");
    n->prio = prio;
    n->ep = -1;
    n->since_ms = clock_mono_ms();
    pthread_mutex_lock(&q->lock);
    if (!ticket->seq)
        ticket->seq = q->next_seq++;
    n->seq = ticket->seq;
    insert_locked(q, n);
    notify_locked(q);
    for (;;) {
        if (cancelled && atomic_load(cancelled))
            break;
        if (first_waiting_locked(q, n) && (ep = pick_locked(q)) >= 0)
            break;
        /* A timed wait as a backstop: a cancel flag set without
         * llm_sched_wake is still seen within a second. */
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&n->cv, &q->lock, &until);
    }
    if (ep < 0) {
        unlink_locked(q, n);
        pthread_cond_destroy(&n->cv);
        free(n);
        notify_locked(q);
        /* The next waiter may be able to go now that this one left. */
        wake_head_locked(q);
        pthread_mutex_unlock(&q->lock);
        return -ECANCELED;
    }
    /* Running nodes go to the front so the waiting part stays in order. */
    unlink_locked(q, n);
    n->ep = ep;
    n->next = q->nodes;
    q->nodes = n;
    q->ep[ep].in_flight++;
    q->ep[ep].served++;
    ticket->ep = ep;
    ticket->node = n;
    notify_locked(q);
    /* Another endpoint may have a free slot for the next waiter. */
    wake_head_locked(q);
    pthread_mutex_unlock(&q->lock);
    return ep;
}

void llm_sched_release(struct llm_sched *q, struct llm_sched_ticket *ticket,
                       int reached)
{
    struct node *n = ticket->node;
    int ep = ticket->ep;

    if (ep < 0)
        return;
    pthread_mutex_lock(&q->lock);
    if (q->ep[ep].in_flight > 0)
        q->ep[ep].in_flight--;
    if (reached >= 0)
        q->ep[ep].up = reached;
    if (n) {
        unlink_locked(q, n);
        pthread_cond_destroy(&n->cv);
        free(n);
    }
    ticket->ep = -1;
    ticket->node = NULL;
    wake_head_locked(q);
    notify_locked(q);
    pthread_mutex_unlock(&q->lock);
}

void llm_sched_wake(struct llm_sched *q)
{
    pthread_mutex_lock(&q->lock);
    for (struct node *m = q->nodes; m; m = m->next)
        if (m->ep < 0)
            pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&q->lock);
}

void llm_sched_set_endpoint(struct llm_sched *q, int ep, int up,
                            unsigned slots)
{
    if (ep < 0 || (unsigned)ep >= q->nep)
        return;
    pthread_mutex_lock(&q->lock);
    q->ep[ep].up = up != 0;
    if (slots)
        q->ep[ep].slots = slots;
    notify_locked(q);
    wake_head_locked(q);
    pthread_mutex_unlock(&q->lock);
}

int llm_sched_endpoint_up(struct llm_sched *q, int ep)
{
    int up;

    if (ep < 0 || (unsigned)ep >= q->nep)
        return 0;
    pthread_mutex_lock(&q->lock);
    up = q->ep[ep].up;
    pthread_mutex_unlock(&q->lock);
    return up;
}

unsigned llm_sched_endpoints(const struct llm_sched *q)
{
    return q->nep;
}

uint64_t llm_sched_served(struct llm_sched *q, int ep)
{
    uint64_t n;

    if (ep < 0 || (unsigned)ep >= q->nep)
        return 0;
    pthread_mutex_lock(&q->lock);
    n = q->ep[ep].served;
    pthread_mutex_unlock(&q->lock);
    return n;
}
