/* extract_internal.h -- what the two extractors share (extract.c: the
 * cleaning, fences and JSON; extract_code.c: code): the cleaned answer,
 * its fenced blocks and a few character classes. Not a public header.
 */
#ifndef BT_EXTRACT_INTERNAL_H
#define BT_EXTRACT_INTERNAL_H

#include <stddef.h>
#include <string.h>

struct fence {
    const char *tag;    /* first word of the info string (not NUL-ended)  */
    size_t tag_len;     /* 0 for a bare fence                            */
    const char *body;   /* first byte after the opening line             */
    size_t body_len;    /* up to the closing line, or to the end         */
    size_t indent;      /* white space before the opening fence          */
};

struct fences {
    struct fence *v;    /* malloc'd */
    size_t n;
    size_t cap;
};

/* The stripped answer (extract_strip_think) with LF line ends; malloc'd,
 * NULL when out of memory. */
char *extract_clean_answer(const char *text);

/* Every fenced block of s, in order, into out (out->v malloc'd). Returns
 * 0, or -ENOMEM. */
int extract_fences_find(const char *s, struct fences *out);

/* Whether s[0..n) holds anything but white space. */
int extract_has_text(const char *s, size_t n);

/* Length of the line starting at s, without its LF. */
size_t extract_line_len(const char *s);

static inline int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

static inline int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static inline int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline int is_ident(char c)
{
    return is_alpha(c) || (c >= '0' && c <= '9') || c == '_';
}

/* strchr() would find the terminator for c == 0. */
static inline int in_set(char c, const char *set)
{
    return c != '\0' && strchr(set, c) != NULL;
}

#endif /* BT_EXTRACT_INTERNAL_H */
