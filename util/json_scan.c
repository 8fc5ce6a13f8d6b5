/* json_scan.c -- stepping over JSON text without parsing it (json_scan.h). */
#include "json_scan.h"

size_t json_skip_string(const char *s, size_t n, size_t i)
{
    for (i++; i < n; i++) {
        if (s[i] == '\\')
            i++;
        else if (s[i] == '"')
            return i + 1;
    }
    return n;
}

size_t json_skip_value(const char *s, size_t n, size_t i)
{
    int level = 0;

    while (i < n) {
        char c = s[i];
        if (c == '"') {
            i = json_skip_string(s, n, i);
            if (level == 0)
                return i;
            continue;
        }
        if (c == '{' || c == '[') {
            level++;
        } else if (c == '}' || c == ']') {
            if (level == 0)
                return i;       /* end of the enclosing container */
            if (--level == 0)
                return i + 1;
        } else if (level == 0 && (c == ',' || c == ':')) {
            return i;
        }
        i++;
    }
    return n;
}
