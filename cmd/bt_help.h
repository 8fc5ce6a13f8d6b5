/* bt_help.h -- per-command help of bt: one table entry per command.
 *
 * `bt help COMMAND` and `bt COMMAND --help` print an entry; `bt help` lists
 * every command bt has with its summary. A command gets its help by adding
 * an entry to the table in bt_help.c; entries for commands this build does
 * not have are never shown (bt asks bt_help_find only for names it knows).
 * Pure data and stdio: no global state besides the table, safe from any
 * thread.
 */
#ifndef BT_HELP_H
#define BT_HELP_H

#include <stdio.h>

struct bt_help {
    const char *name;       /* the command, as typed                       */
    const char *synopsis;   /* its arguments and options, after the name   */
    const char *summary;    /* one line: what it does                      */
    const char *details;    /* its options and behaviour, lines of text
                               ending in '\n'; "" when there is nothing
                               more to say                                 */
};

/* The entry for 'name', or NULL when the table has none. */
const struct bt_help *bt_help_find(const char *name);

/* Prints "usage: bt NAME SYNOPSIS", the summary and the details to 'out'.
 * Returns 0, or -1 when writing failed (errno set). */
int bt_help_print(const struct bt_help *h, FILE *out);

#endif /* BT_HELP_H */
