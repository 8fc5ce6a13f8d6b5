/* bt_report.h -- the rows of `bt report`, made from eval/SET.json documents.
 *
 * Pure text work on a parsed document (docs/evaluation.md describes it):
 * no I/O, no global state, safe from any thread. A document written by an
 * older or newer btfs may lack a field or hold null; its cell is then "-",
 * never a made-up figure. The one figure computed here rather than read is
 * a Wilson interval missing from a document that has the counts for it.
 */
#ifndef BT_REPORT_H
#define BT_REPORT_H

#include <stddef.h>

#include <cjson/cJSON.h>

enum {
    BT_REPORT_SET, BT_REPORT_HELD, BT_REPORT_PROBLEMS, BT_REPORT_JUDGED,
    BT_REPORT_PENDING, BT_REPORT_ERRORS, BT_REPORT_PASS1, BT_REPORT_PASS1_CI,
    BT_REPORT_FINAL, BT_REPORT_FINAL_CI, BT_REPORT_ATTEMPTS,
    BT_REPORT_TOKENS, BT_REPORT_WALL,
    BT_REPORT_NCOLS     /* number of columns, not one */
};

/* The column headers, BT_REPORT_NCOLS of them, and their alignment ('l' or
 * 'r' per column, as one string). */
extern const char *const bt_report_header[BT_REPORT_NCOLS];
extern const char bt_report_align[BT_REPORT_NCOLS + 1];

/* Fills cells[0..BT_REPORT_NCOLS) with the row of one set's document
 * (malloc'd strings; the caller frees each). Returns 0, -EINVAL if doc is
 * not an object naming its set (no cell set), or -ENOMEM (no cell left
 * set). */
int bt_report_row(const cJSON *doc, char **cells);

/* The 95% Wilson score interval of k successes in n trials, as fractions:
 * *lo and *hi in [0, 1]. Returns 0, or -EINVAL when n is 0 or k > n
 * (nothing set). */
int bt_report_wilson(double k, double n, double *lo, double *hi);

#endif /* BT_REPORT_H */
