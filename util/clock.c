/* clock.c -- monotonic milliseconds and RFC 3339 UTC stamps (clock.h). */
#include "clock.h"

#include <errno.h>
#include <string.h>

double clock_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int clock_rfc3339(time_t t, char out[CLOCK_RFC3339_SIZE])
{
    struct tm tm;

    out[0] = '\0';
    if (!gmtime_r(&t, &tm) || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900)
        return -ERANGE;
    if (strftime(out, CLOCK_RFC3339_SIZE, "%Y-%m-%dT%H:%M:%SZ", &tm) !=
        CLOCK_RFC3339_SIZE - 1) {
        out[0] = '\0';
        return -ERANGE;
    }
    return 0;
}

/* Reads exactly n digits at *p into *v and moves *p past them. */
static int digits(const char **p, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -EINVAL;
        *v = *v * 10 + (c - '0');
    }
    *p += n;
    return 0;
}

static int expect(const char **p, char a, char b)
{
    if (**p != a && **p != b)
        return -EINVAL;
    (*p)++;
    return 0;
}

int clock_parse_rfc3339(const char *s, int strict, time_t *out)
{
    static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30,
                                 31 };
    struct tm tm;
    const char *p = s;
    int y, mo, d, h, mi, sec;
    long off = 0;

    if (!s)
        return -EINVAL;
    if (digits(&p, 4, &y) || expect(&p, '-', '-') || digits(&p, 2, &mo) ||
        expect(&p, '-', '-') || digits(&p, 2, &d) ||
        expect(&p, 'T', strict ? 'T' : 't') || digits(&p, 2, &h) ||
        expect(&p, ':', ':') || digits(&p, 2, &mi) || expect(&p, ':', ':') ||
        digits(&p, 2, &sec))
        return -EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
        mi > 59 || sec > 60)
        return -EINVAL;
    if (!strict && *p == '.') {
        const char *f = ++p;
        while (*p >= '0' && *p <= '9')
            p++;
        if (p == f)
            return -EINVAL;
    }
    if (*p == 'Z' || (!strict && *p == 'z')) {
        p++;
    } else if (!strict && (*p == '+' || *p == '-')) {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if (digits(&p, 2, &oh) || expect(&p, ':', ':') || digits(&p, 2, &om) ||
            oh > 23 || om > 59)
            return -EINVAL;
        off = sign * (oh * 3600L + om * 60L);
    } else {
        return -EINVAL;
    }
    if (*p != '\0')
        return -EINVAL;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    if (t == (time_t)-1 && !(y == 1969 && mo == 12 && d == 31))
        return -EINVAL;
    *out = t - off;
    return 0;
}
