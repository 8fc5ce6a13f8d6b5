/* url_list.h -- stepping through a comma-separated list of URLs.
 *
 * BT_LLM_URL and BT_TRAINER_LLM_URL may name several endpoints; the
 * configuration checks the list when it loads (to name the setting and
 * mask credentials) and the LLM client splits it again to make its
 * endpoints. Both must read the list the same way, hence one reader.
 */
#ifndef BT_URL_LIST_H
#define BT_URL_LIST_H

#include <stddef.h>

/* The next item of the list at *cursor (start with the list itself),
 * without the blanks (spaces, tabs) around it: 1 with *item and *len set
 * and *cursor moved past it (NULL after the last); 0 once *cursor is NULL.
 * Every comma starts another item, so "", "a,,b" and "a," hold an empty
 * one (len 0), which both readers refuse. */
int url_list_next(const char **cursor, const char **item, size_t *len);

/* Whether the len bytes at p begin with http:// or https://. */
int url_is_http(const char *p, size_t len);

#endif /* BT_URL_LIST_H */
