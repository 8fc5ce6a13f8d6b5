/* stopper.h -- a stop flag that sleeping threads wake up for.
 *
 * The agents' threads (builders, the Trainer, the LLM monitor) sleep
 * between polls; at shutdown they must wake at once, not at the end of
 * their nap. A stopper is a stop flag, a mutex and a condition variable on
 * the monotonic clock (so that setting the clock cannot stretch a nap).
 */
#ifndef BT_STOPPER_H
#define BT_STOPPER_H

#include <pthread.h>
#include <stdatomic.h>

struct stopper {
    atomic_int stop;            /* set once, by stopper_stop             */
    int kicked;                 /* a wake-up not yet consumed (lock)     */
    pthread_mutex_t lock;
    pthread_cond_t wake;        /* on CLOCK_MONOTONIC                    */
};

/* Initialises a stopper (not stopped). Can't fail. */
void stopper_init(struct stopper *s);

/* Destroys it. No thread may be in stopper_nap. */
void stopper_destroy(struct stopper *s);

/* Sleeps up to ms milliseconds; returns early (with 1) when the stopper
 * is stopped or kicked, else 0. A kick is consumed by the nap it wakes. */
int stopper_nap(struct stopper *s, long ms);

/* Wakes one napping thread (or the next nap) without stopping. */
void stopper_kick(struct stopper *s);

/* Sets the flag and wakes every napping thread. Can't fail. */
void stopper_stop(struct stopper *s);

/* Whether stopper_stop was called. */
int stopper_stopped(struct stopper *s);

#endif /* BT_STOPPER_H */
