/* stopper.c -- a stop flag that sleeping threads wake up for. */
#include "stopper.h"

#include <errno.h>
#include <time.h>

void stopper_init(struct stopper *s)
{
    pthread_condattr_t ca;

    atomic_init(&s->stop, 0);
    s->kicked = 0;
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &ca);
    pthread_condattr_destroy(&ca);
}

void stopper_destroy(struct stopper *s)
{
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
}

int stopper_nap(struct stopper *s, long ms)
{
    struct timespec until;
    int woken = 0, rc = 0;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->lock);
    while (!atomic_load(&s->stop) && !s->kicked && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&s->wake, &s->lock, &until);
    woken = atomic_load(&s->stop) || s->kicked;
    s->kicked = 0;
    pthread_mutex_unlock(&s->lock);
    return woken;
}

void stopper_kick(struct stopper *s)
{
    pthread_mutex_lock(&s->lock);
    s->kicked = 1;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
}

void stopper_stop(struct stopper *s)
{
    pthread_mutex_lock(&s->lock);
    atomic_store(&s->stop, 1);
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->lock);
}

int stopper_stopped(struct stopper *s)
{
    return atomic_load(&s->stop);
}
