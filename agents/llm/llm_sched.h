/* llm_sched.h -- one queue for every LLM request: slots per endpoint,
 * priorities, and who waits where.
 *
 * Local servers run a fixed number of requests at once (llama-server's
 * slots, LM Studio one per model). A request sent while every slot is busy
 * sits on the wire receiving nothing, so the client's idle timeout fires
 * and the retry makes it worse. The scheduler keeps such a request off the
 * wire instead: a caller takes a slot (llm_sched_acquire) before it sends
 * and gives it back (llm_sched_release) when the answer has ended. Waiting
 * callers are served by priority (user tasks' calls, then the Builder's
 * other calls, then the Trainer), then in arrival order; a retry keeps the
 * place its call first had.
 *
 * With several endpoints a slot is taken on the endpoint with the fewest
 * requests in flight relative to its slots, among those that are up; an
 * endpoint whose connection failed is down until it answers again (a health
 * check, or a request made while every endpoint is down).
 *
 * It uses nothing of ours. Threads: every function may be called from any
 * thread; one mutex guards everything. The change callback is called with
 * that mutex held and must not call back into the scheduler.
 */
#ifndef BT_LLM_SCHED_H
#define BT_LLM_SCHED_H

#include <stdatomic.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* Who a request is for. The zero value is the Builder's ordinary calls. */
enum llm_priority {
    LLM_PRIO_NORMAL = 0,    /* "builder": tests, reflections, seed tasks  */
    LLM_PRIO_USER,          /* "user": a user task's calls, served first   */
    LLM_PRIO_LOW,           /* "trainer": served when nobody else waits    */
};

/* The stable name of a priority ("user", "builder", "trainer"). */
const char *llm_priority_name(enum llm_priority p);

struct llm_sched;

/* Called after every change of the queue with its JSON (llm_sched_json's
 * shape, as compact text). */
typedef void (*llm_sched_observer)(void *arg, const char *json);

/* Creates a scheduler for 'nendpoints' endpoints (1..64), each with
 * 'slots' slots (0 counts as 1) until told otherwise. 'urls' name them for
 * the JSON (copied; may be NULL). Returns 0, -EINVAL or -ENOMEM. */
int llm_sched_create(unsigned nendpoints, const char *const *urls,
                     unsigned slots, struct llm_sched **out);

/* Frees it. No caller may be waiting. Accepts NULL. */
void llm_sched_free(struct llm_sched *q);

/* Sets the observer (NULL: none). */
void llm_sched_observe(struct llm_sched *q, llm_sched_observer fn,
                       void *arg);

/* A caller's place: zero it before the first llm_sched_acquire of a call
 * and pass the same ticket to the retries, which then keep the place. */
struct llm_sched_ticket {
    uint64_t seq;           /* arrival order; 0 until first queued        */
    int ep;                 /* the endpoint of the slot held, or -1       */
    void *node;             /* the scheduler's record of the holder       */
};

/* Waits until a slot is free for this caller and takes it. 'who' names
 * the caller in the JSON ("builder 1"; copied). Returns the endpoint's
 * index (>= 0, also in ticket->ep), or -ECANCELED once *cancelled is set
 * (llm_sched_wake makes waiters look at it), or -ENOMEM. */
int llm_sched_acquire(struct llm_sched *q, enum llm_priority prio,
                      const char *who, struct llm_sched_ticket *ticket,
                      const atomic_int *cancelled);

/* Gives back the slot the ticket holds (nothing when it holds none).
 * 'reached' says how the request ended: 1 the server answered (the
 * endpoint is up), 0 it could not be reached (the endpoint is down), -1 no
 * news (cancelled, ...). Can't fail. */
void llm_sched_release(struct llm_sched *q, struct llm_sched_ticket *ticket,
                       int reached);

/* Wakes every waiter (to notice cancellation). Can't fail. */
void llm_sched_wake(struct llm_sched *q);

/* What a health check learned of endpoint 'ep': up or not, and its slots
 * when the server says (0: keep the current count). */
void llm_sched_set_endpoint(struct llm_sched *q, int ep, int up,
                            unsigned slots);

/* Whether endpoint 'ep' is up (1), down (0). */
int llm_sched_endpoint_up(struct llm_sched *q, int ep);

/* Number of endpoints. */
unsigned llm_sched_endpoints(const struct llm_sched *q);

/* Requests each endpoint has been given since creation. */
uint64_t llm_sched_served(struct llm_sched *q, int ep);

/* The queue as JSON, owned by the caller (NULL when out of memory):
 * {"endpoints": [{"url", "slots", "in_flight", "up", "served"}...],
 *  "running": [{"who", "priority", "endpoint"}...],
 *  "waiting": [{"who", "priority", "place", "waited_s"}...]}
 * 'place' counts from 1: the next caller served. */
cJSON *llm_sched_json(struct llm_sched *q);

#endif /* BT_LLM_SCHED_H */
