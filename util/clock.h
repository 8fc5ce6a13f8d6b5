/* clock.h -- time as the project's modules need it: a monotonic clock for
 * durations and deadlines, and RFC 3339 UTC stamps for documents. */
#ifndef BT_UTIL_CLOCK_H
#define BT_UTIL_CLOCK_H

#include <stddef.h>
#include <time.h>

/* Milliseconds on CLOCK_MONOTONIC: only differences mean anything. */
double clock_mono_ms(void);

/* The length of "YYYY-MM-DDTHH:MM:SSZ" with its NUL. */
#define CLOCK_RFC3339_SIZE 21

/* Writes t as "YYYY-MM-DDTHH:MM:SSZ" into out. 0, or -ERANGE for a time
 * that has no such form (before year 0 or after 9999); out is then "". */
int clock_rfc3339(time_t t, char out[CLOCK_RFC3339_SIZE]);

/* Parses an RFC 3339 date-time ("YYYY-MM-DDTHH:MM:SS", optional fraction,
 * then "Z" or "+hh:mm"/"-hh:mm"; 't' and 'z' accepted) into *out, seconds
 * since the epoch in UTC (the fraction is dropped). With strict set only
 * the exact form clock_rfc3339 writes is taken. 0, or -EINVAL naming
 * nothing: the text is not such a time, or a field is out of range. */
int clock_parse_rfc3339(const char *s, int strict, time_t *out);

#endif
