/* log_batch.c -- log lines held back and written together (log_batch.h). */
#include "log_batch.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

#define LOG_BATCH_LINE 1024

void log_batch_init(struct log_batch *l, struct store *st, long delay_ms)
{
    memset(l, 0, sizeof *l);
    l->st = st;
    l->delay_ms = delay_ms;
}

void log_batch_forget(struct log_batch *l)
{
    for (size_t i = 0; i < l->n; i++)
        free((char *)l->e[i].line);
    l->n = 0;
}

void log_batch_flush(struct log_batch *l)
{
    if (l->n == 0)
        return;
    (void)store_log_append_many(l->st, l->e, l->n);
    log_batch_forget(l);
}

void log_batch_add(struct log_batch *l, enum store_log log, const char *line)
{
    char *copy = strdup(line);

    if (l->n == l->cap && copy) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct store_log_entry *e = realloc(l->e, cap * sizeof *e);
        if (e) {
            l->e = e;
            l->cap = cap;
        }
    }
    if (!copy || l->n == l->cap) {
        free(copy);
        (void)store_log_append(l->st, log, line);
        return;
    }
    if (l->n == 0)
        l->since = clock_mono_ms();
    l->e[l->n++] = (struct store_log_entry){ log, time(NULL), copy };
    if (clock_mono_ms() - l->since >= (double)l->delay_ms)
        log_batch_flush(l);
}

void log_batch_addf(struct log_batch *l, enum store_log log, const char *fmt,
                    ...)
{
    char line[LOG_BATCH_LINE];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    log_batch_add(l, log, line);
}

const struct store_log_entry *log_batch_lines(const struct log_batch *l,
                                              size_t *n)
{
    *n = l->n;
    return l->e;
}

void log_batch_free(struct log_batch *l)
{
    log_batch_forget(l);
    free(l->e);
    l->e = NULL;
    l->cap = 0;
}
