/* bt_report.c -- one row of `bt report` per eval/SET.json.
 *
 * Rates are shown in percent with one decimal, intervals as "LO-HI%": a
 * benchmark of 164 problems moves in steps of 0.6%, so one decimal is all
 * the precision there is. Pass rates are over judged problems (passed and
 * failed); errors are counted apart, since an error is no verdict on the
 * model's code.
 */
#include "bt_report.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The 97.5% point of the standard normal: a two-sided 95% interval. */
#define Z95 1.959963984540054

const char *const bt_report_header[BT_REPORT_NCOLS] = {
    [BT_REPORT_SET] = "SET",           [BT_REPORT_HELD] = "HELD OUT",
    [BT_REPORT_PROBLEMS] = "PROBLEMS", [BT_REPORT_JUDGED] = "JUDGED",
    [BT_REPORT_PENDING] = "PENDING",   [BT_REPORT_ERRORS] = "ERRORS",
    [BT_REPORT_PASS1] = "PASS@1",      [BT_REPORT_PASS1_CI] = "95% CI",
    [BT_REPORT_FINAL] = "FINAL",       [BT_REPORT_FINAL_CI] = "95% CI",
    [BT_REPORT_ATTEMPTS] = "ATTEMPTS", [BT_REPORT_TOKENS] = "TOKENS",
    [BT_REPORT_WALL] = "WALL S",
};
const char bt_report_align[BT_REPORT_NCOLS + 1] = "llrrrrrrrrrrr";

int bt_report_wilson(double k, double n, double *lo, double *hi)
{
    if (!(n > 0) || k < 0 || k > n)
        return -EINVAL;
    double p = k / n, z2 = Z95 * Z95;
    double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
    double half = Z95 * sqrt(p * (1 - p) / n + z2 / (4 * n * n)) /
                  (1 + z2 / n);
    *lo = fmax(0.0, centre - half);
    *hi = fmin(1.0, centre + half);
    return 0;
}

static bool num(const cJSON *doc, const char *name, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, name);

    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return false;
    *out = v->valuedouble;
    return true;
}

/* printf into a new string; NULL on ENOMEM. */
static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static char *fmt(const char *f, ...)
{
    va_list ap;
    char *s;
    int n;

    va_start(ap, f);
    n = vasprintf(&s, f, ap);
    va_end(ap);
    return n < 0 ? NULL : s;
}

static char *count_cell(const cJSON *doc, const char *name)
{
    double v;

    return num(doc, name, &v) ? fmt("%.0f", v) : strdup("-");
}

static char *rate_cell(const cJSON *doc, const char *name)
{
    double v;

    return num(doc, name, &v) ? fmt("%.1f%%", 100.0 * v) : strdup("-");
}

/* The interval doc[name] ([lo, hi]), else the Wilson interval of
 * doc[count] of the judged, else "-". */
static char *ci_cell(const cJSON *doc, const char *name, const char *count,
                     double judged, bool have_judged)
{
    const cJSON *ci = cJSON_GetObjectItemCaseSensitive(doc, name);
    double lo, hi, k;

    if (cJSON_IsArray(ci) && cJSON_GetArraySize(ci) == 2 &&
        cJSON_IsNumber(cJSON_GetArrayItem(ci, 0)) &&
        cJSON_IsNumber(cJSON_GetArrayItem(ci, 1))) {
        lo = cJSON_GetArrayItem(ci, 0)->valuedouble;
        hi = cJSON_GetArrayItem(ci, 1)->valuedouble;
    } else if (!cJSON_IsNull(ci) && have_judged && num(doc, count, &k) &&
               bt_report_wilson(k, judged, &lo, &hi) == 0) {
        /* An older document without the interval: same formula. */
    } else {
        return strdup("-");
    }
    return fmt("%.1f-%.1f%%", 100.0 * lo, 100.0 * hi);
}

static char *mean_cell(const cJSON *doc, const char *name, int decimals)
{
    double v;

    return num(doc, name, &v) ? fmt("%.*f", decimals, v) : strdup("-");
}

int bt_report_row(const cJSON *doc, char **cells)
{
    const cJSON *set = cJSON_GetObjectItemCaseSensitive(doc, "set"),
                *held = cJSON_GetObjectItemCaseSensitive(doc, "held_out");
    double judged = 0, passed, failed, queued, running;
    bool have_judged;

    if (!cJSON_IsObject(doc) || !cJSON_IsString(set))
        return -EINVAL;
    have_judged = num(doc, "judged", &judged) ||
                  (num(doc, "passed", &passed) &&
                   num(doc, "failed", &failed) &&
                   (judged = passed + failed, true));
    cells[BT_REPORT_SET] = strdup(set->valuestring);
    cells[BT_REPORT_HELD] = strdup(cJSON_IsBool(held) ?
                                   (cJSON_IsTrue(held) ? "yes" : "no") : "-");
    cells[BT_REPORT_PROBLEMS] = count_cell(doc, "problems");
    cells[BT_REPORT_JUDGED] = have_judged ? fmt("%.0f", judged)
                                          : strdup("-");
    cells[BT_REPORT_PENDING] = num(doc, "queued", &queued) &&
                               num(doc, "running", &running)
                               ? fmt("%.0f", queued + running) : strdup("-");
    cells[BT_REPORT_ERRORS] = count_cell(doc, "errors");
    cells[BT_REPORT_PASS1] = rate_cell(doc, "pass_at_1");
    cells[BT_REPORT_PASS1_CI] = ci_cell(doc, "pass_at_1_ci95", "passed_first",
                                        judged, have_judged);
    cells[BT_REPORT_FINAL] = rate_cell(doc, "pass_final");
    cells[BT_REPORT_FINAL_CI] = ci_cell(doc, "pass_final_ci95", "passed",
                                        judged, have_judged);
    cells[BT_REPORT_ATTEMPTS] = mean_cell(doc, "mean_attempts", 2);
    cells[BT_REPORT_TOKENS] = mean_cell(doc, "mean_tokens", 0);
    cells[BT_REPORT_WALL] = mean_cell(doc, "mean_wall_s", 1);
    for (size_t i = 0; i < BT_REPORT_NCOLS; i++)
        if (!cells[i]) {
            for (size_t j = 0; j < BT_REPORT_NCOLS; j++) {
                free(cells[j]);
                cells[j] = NULL;
            }
            return -ENOMEM;
        }
    return 0;
}
