/* svg.c -- core/score_trend.svg and core/skill_map.svg, drawn on read.
 *
 * Pictures of what core/score_log.json and core/skill_map.json hold, made
 * from the same view of the store, so a picture and the JSON beside it
 * always agree. Plain SVG 1.1 with no script and no external reference: it
 * opens in any browser and parses as XML. Every text that comes from the
 * store (skill and set names) is escaped.
 *
 * score_trend.svg: x is the finished task (in the score log's order), y is
 * 0..1. One line for the pass rate and one for the mean score over a
 * moving window of TREND_WINDOW results, overall; and the same two per
 * benchmark set (the task's "set", else none), over that set's own
 * results, in the set's colour: pass rate solid, mean score dashed.
 * skill_map.svg: a row per skill, its rating (logits) as a dot and +-1
 * standard deviation of the belief as a bar, with the level and the
 * results it rests on.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "fs_internal.h"
#include "store.h"

#define TREND_WINDOW 10     /* results per point of a moving average   */
#define TREND_MAX_SETS 8    /* sets drawn; the rest are left out, said so */
#define PLOT_W 640          /* plot area, pixels                        */
#define PLOT_H 240
#define MARGIN_L 56
#define MARGIN_T 40

static const char *const palette[] = {
    "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#7f7f7f",
};

static int putf(struct fs_buf *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int putf(struct fs_buf *out, const char *fmt, ...)
{
    char *s;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -ENOMEM;
    int rc = fs_buf_add(out, s, (size_t)n);
    free(s);
    return rc;
}

/* Appends s with &, <, >, " escaped; control characters are dropped (XML
 * 1.0 cannot hold them). */
static int put_text(struct fs_buf *out, const char *s)
{
    int rc = 0;

    for (; *s && rc == 0; s++) {
        switch (*s) {
        case '&': rc = fs_buf_adds(out, "&amp;"); break;
        case '<': rc = fs_buf_adds(out, "&lt;"); break;
        case '>': rc = fs_buf_adds(out, "&gt;"); break;
        case '"': rc = fs_buf_adds(out, "&quot;"); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t')
                rc = fs_buf_add(out, s, 1);
        }
    }
    return rc;
}

static int svg_open(struct fs_buf *out, int w, int h, const char *title)
{
    int rc = putf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
                  "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                  "font-family=\"sans-serif\" font-size=\"12\">\n"
                  "<title>", w, h, w, h);
    if (rc == 0)
        rc = put_text(out, title);
    if (rc == 0)
        rc = putf(out, "</title>\n<rect width=\"%d\" height=\"%d\" "
                  "fill=\"white\"/>\n<text x=\"%d\" y=\"22\" "
                  "font-size=\"15\">", w, h, MARGIN_L);
    if (rc == 0)
        rc = put_text(out, title);
    return rc ? rc : fs_buf_adds(out, "</text>\n");
}

/* ---- score_trend.svg ------------------------------------------------------ */

/* One result of the score log. */
struct point {
    int passed;
    double total;           /* NaN when the entry has no score */
    int set;                /* index into sets, -1: none       */
};

struct trend {
    struct store_view *v;
    struct point *p;
    size_t n, cap;
    char *sets[TREND_MAX_SETS];
    size_t nsets;
    int sets_left_out;
};

/* The benchmark set of task 'name' ("task_000042"), from its document. */
static int set_cb(void *c, uint64_t key, const char *val, size_t len)
{
    /* Documents hold tests and may be large: parse only those that can
     * have the field. */
    if (!memmem(val, len, "\"set\":", 6))
        return 0;
    cJSON *doc = cJSON_ParseWithLength(val, len);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(doc, "set");

    (void)key;
    if (cJSON_IsString(s) && *s->valuestring)
        *(char **)c = strdup(s->valuestring);
    cJSON_Delete(doc);
    return 0;
}

static int set_index(struct trend *t, const cJSON *entry)
{
    const cJSON *task = cJSON_GetObjectItemCaseSensitive(entry, "task");
    uint64_t id;
    char *set = NULL;

    if (!cJSON_IsString(task) ||
        store_id_parse(task->valuestring, strlen(task->valuestring), &id))
        return -1;
    if (store_view_get(t->v, STORE_COLL_TASKS, id, set_cb, &set) < 0 || !set)
        return -1;
    for (size_t i = 0; i < t->nsets; i++)
        if (strcmp(t->sets[i], set) == 0) {
            free(set);
            return (int)i;
        }
    if (t->nsets == TREND_MAX_SETS) {
        t->sets_left_out = 1;
        free(set);
        return -1;
    }
    t->sets[t->nsets] = set;
    return (int)t->nsets++;
}

static int score_cb(void *c, uint64_t key, const char *val, size_t len)
{
    struct trend *t = c;
    cJSON *e = cJSON_ParseWithLength(val, len);
    const cJSON *st, *tot;

    (void)key;
    if (!e)
        return STORE_ECORRUPT;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        struct point *p = realloc(t->p, cap * sizeof *p);
        if (!p) {
            cJSON_Delete(e);
            return -ENOMEM;
        }
        t->p = p;
        t->cap = cap;
    }
    st = cJSON_GetObjectItemCaseSensitive(e, "status");
    tot = cJSON_GetObjectItemCaseSensitive(e, "total");
    t->p[t->n] = (struct point){
        .passed = cJSON_IsString(st) && strcmp(st->valuestring, "passed") == 0,
        .total = cJSON_IsNumber(tot) ? tot->valuedouble : NAN,
        .set = set_index(t, e),
    };
    t->n++;
    cJSON_Delete(e);
    return 0;
}

static double px_x(size_t i, size_t n)
{
    return MARGIN_L + (n > 1 ? (double)i * PLOT_W / (double)(n - 1)
                             : PLOT_W / 2.0);
}

static double px_y(double v)
{
    return MARGIN_T + (1 - v) * PLOT_H;
}

/* One polyline: the moving average over the results of set 'set' (-2:
 * all) of pass (what = 0) or score (what = 1); a set's score line is
 * dashed, so that it shares its set's colour and still reads apart. */
static int trend_line(struct fs_buf *out, const struct trend *t, int set,
                      int what, const char *colour, const char *id)
{
    double win[TREND_WINDOW];
    size_t k = 0, seen = 0;
    double sum = 0;
    int rc = putf(out, "<polyline id=\"%s\" fill=\"none\" stroke=\"%s\" "
                  "stroke-width=\"2\"%s points=\"", id, colour,
                  set != -2 && what == 1 ? " stroke-dasharray=\"6,4\"" : "");

    for (size_t i = 0; i < t->n && rc == 0; i++) {
        const struct point *p = &t->p[i];
        if (set != -2 && p->set != set)
            continue;
        double v = what == 0 ? p->passed : p->total;
        if (isnan(v))
            continue;
        if (seen >= TREND_WINDOW)
            sum -= win[k];
        win[k] = v;
        sum += v;
        k = (k + 1) % TREND_WINDOW;
        seen++;
        size_t m = seen < TREND_WINDOW ? seen : TREND_WINDOW;
        rc = putf(out, "%s%.1f,%.1f", seen > 1 ? " " : "", px_x(i, t->n),
                  px_y(sum / (double)m));
    }
    return rc ? rc : fs_buf_adds(out, "\"/>\n");
}

static int legend(struct fs_buf *out, int row, const char *colour,
                  const char *label, const char *name)
{
    int y = MARGIN_T + PLOT_H + 40 + row * 16;
    int rc = putf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
                  "stroke=\"%s\" stroke-width=\"2\"/><text x=\"%d\" "
                  "y=\"%d\">", MARGIN_L, y - 4, MARGIN_L + 24, y - 4, colour,
                  MARGIN_L + 30, y);
    if (rc == 0)
        rc = put_text(out, label);
    if (rc == 0 && name)
        rc = put_text(out, name);
    return rc ? rc : fs_buf_adds(out, "</text>\n");
}

int fs_svg_trend(struct store_view *v, struct fs_buf *out)
{
    struct trend t = { .v = v };
    int rc = store_view_range(v, STORE_COLL_SCORES, 0, UINT64_MAX, score_cb,
                              &t);
    int rows = 2 + (int)t.nsets + t.sets_left_out;
    int h = MARGIN_T + PLOT_H + 40 + rows * 16 + 8;

    if (rc == 0)
        rc = svg_open(out, MARGIN_L + PLOT_W + 24, h,
                      "Pass rate and mean score over time");
    /* Axes and grid: 0, 0.25, ... 1. */
    for (int g = 0; g <= 4 && rc == 0; g++) {
        double y = px_y(g / 4.0);
        rc = putf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
                  "stroke=\"#dddddd\"/><text x=\"%d\" y=\"%.1f\" "
                  "text-anchor=\"end\">%.2f</text>\n", MARGIN_L, y,
                  MARGIN_L + PLOT_W, y, MARGIN_L - 6, y + 4, g / 4.0);
    }
    if (rc == 0)
        rc = putf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">"
                  "finished tasks (%zu); moving average of %d</text>\n",
                  MARGIN_L + PLOT_W / 2, MARGIN_T + PLOT_H + 20, t.n,
                  TREND_WINDOW);
    if (rc == 0 && t.n == 0)
        rc = putf(out, "<text id=\"empty\" x=\"%d\" y=\"%d\" "
                  "text-anchor=\"middle\">no finished tasks yet</text>\n",
                  MARGIN_L + PLOT_W / 2, MARGIN_T + PLOT_H / 2);
    if (rc == 0 && t.n)
        rc = trend_line(out, &t, -2, 0, "#1f77b4", "pass_rate");
    if (rc == 0 && t.n)
        rc = trend_line(out, &t, -2, 1, "#ff7f0e", "mean_score");
    if (rc == 0)
        rc = legend(out, 0, "#1f77b4", "pass rate, all tasks", NULL);
    if (rc == 0)
        rc = legend(out, 1, "#ff7f0e", "mean score, all tasks", NULL);
    for (size_t s = 0; s < t.nsets && rc == 0; s++) {
        char id[32];
        snprintf(id, sizeof id, "set_%zu", s);
        rc = trend_line(out, &t, (int)s, 0, palette[s], id);
        snprintf(id, sizeof id, "set_%zu_score", s);
        if (rc == 0)
            rc = trend_line(out, &t, (int)s, 1, palette[s], id);
        if (rc == 0)
            rc = legend(out, 2 + (int)s, palette[s],
                        "pass rate (solid), mean score (dashed), set ",
                        t.sets[s]);
    }
    if (rc == 0 && t.sets_left_out)
        rc = putf(out, "<text x=\"%d\" y=\"%d\">more sets than %d: the "
                  "others are only in the overall lines</text>\n", MARGIN_L,
                  MARGIN_T + PLOT_H + 40 + (rows - 1) * 16, TREND_MAX_SETS);
    if (rc == 0)
        rc = fs_buf_adds(out, "</svg>\n");
    for (size_t s = 0; s < t.nsets; s++)
        free(t.sets[s]);
    free(t.p);
    return rc;
}

/* ---- skill_map.svg -------------------------------------------------------- */

#define SKILL_ROW 22
#define SKILL_NAME_W 160
#define SKILL_PLOT_W 360
#define RATING_MIN (-6.0)   /* logits shown; beyond is drawn at the edge */
#define RATING_MAX 6.0

static double num_of(const cJSON *o, const char *name, double def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

static double rating_x(double r)
{
    if (r < RATING_MIN)
        r = RATING_MIN;
    if (r > RATING_MAX)
        r = RATING_MAX;
    return SKILL_NAME_W + (r - RATING_MIN) / (RATING_MAX - RATING_MIN) *
                              SKILL_PLOT_W;
}

struct skill_draw {
    struct fs_buf *out;
    int row;
};

static int skill_cb(void *c, uint64_t key, const char *val, size_t len)
{
    struct skill_draw *d = c;
    const char *name, *json;
    size_t jl;
    int rc;

    (void)key;
    store_named_split(val, len, &name, &json, &jl);
    cJSON *s = cJSON_ParseWithLength(json, jl);
    if (!s)
        return STORE_ECORRUPT;
    double r = num_of(s, "rating", 0), sd = num_of(s, "uncertainty", 0);
    double y = MARGIN_T + 20 + d->row * SKILL_ROW;
    rc = fs_buf_adds(d->out, "<g class=\"skill\"><text x=\"8\" y=\"");
    if (rc == 0)
        rc = putf(d->out, "%.1f\">", y + 4);
    if (rc == 0)
        rc = put_text(d->out, name);
    if (rc == 0)
        rc = putf(d->out, "</text><line class=\"uncertainty\" x1=\"%.1f\" "
                  "y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#1f77b4\" "
                  "stroke-width=\"4\" stroke-opacity=\"0.4\"/>"
                  "<circle class=\"rating\" cx=\"%.1f\" cy=\"%.1f\" r=\"5\" "
                  "fill=\"#1f77b4\"/><text x=\"%d\" y=\"%.1f\">level %.2f, "
                  "%.0f/%.0f passed</text></g>\n",
                  rating_x(r - sd), y, rating_x(r + sd), y, rating_x(r), y,
                  SKILL_NAME_W + SKILL_PLOT_W + 12, y + 4,
                  num_of(s, "level", 0), num_of(s, "successes", 0),
                  num_of(s, "attempts", 0));
    cJSON_Delete(s);
    d->row++;
    return rc;
}

int fs_svg_skills(struct store_view *v, struct fs_buf *out)
{
    /* The skill records are few (tens); counting them first sizes the
     * picture. */
    struct fs_buf rows = { 0 };
    struct skill_draw d = { &rows, 0 };
    int rc = store_view_skills(v, skill_cb, &d);
    int w = SKILL_NAME_W + SKILL_PLOT_W + 160;
    int h = MARGIN_T + 20 + (d.row ? d.row : 1) * SKILL_ROW + 30;

    if (rc == 0)
        rc = svg_open(out, w, h, "Skill ratings (dot) with +-1 sd of the "
                                 "belief (bar)");
    for (int g = (int)RATING_MIN; g <= (int)RATING_MAX && rc == 0; g += 3)
        rc = putf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                  "stroke=\"#dddddd\"/><text x=\"%.1f\" y=\"%d\" "
                  "text-anchor=\"middle\">%+d</text>\n", rating_x(g),
                  MARGIN_T, rating_x(g), h - 24, rating_x(g), h - 10, g);
    if (rc == 0 && d.row == 0)
        rc = putf(out, "<text id=\"empty\" x=\"8\" y=\"%d\">no skill "
                  "practised yet</text>\n", MARGIN_T + 24);
    if (rc == 0)
        rc = fs_buf_add(out, rows.p, rows.len);
    if (rc == 0)
        rc = fs_buf_adds(out, "</svg>\n");
    fs_buf_free(&rows);
    return rc;
}
