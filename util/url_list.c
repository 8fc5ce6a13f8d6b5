/* url_list.c -- stepping through a comma-separated list of URLs
 * (url_list.h). */
#include "url_list.h"

#include <string.h>

int url_list_next(const char **cursor, const char **item, size_t *len)
{
    const char *p = *cursor, *end;
    size_t n;

    if (!p)
        return 0;
    end = strchr(p, ',');
    n = end ? (size_t)(end - p) : strlen(p);
    *cursor = end ? end + 1 : NULL;
    while (n > 0 && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    *item = p;
    *len = n;
    return 1;
}

int url_is_http(const char *p, size_t len)
{
    return (len >= 7 && strncmp(p, "http://", 7) == 0) ||
           (len >= 8 && strncmp(p, "https://", 8) == 0);
}
