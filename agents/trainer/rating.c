/* rating.c -- the skill rating (model and update rule in rating.h).
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "agents/trainer/rating.h"
#include "util/clock.h"

static double logistic(double x)
{
    /* exp() of a large positive argument overflows to inf, which still
     * gives the right limit 0; no branch needed for the other side. */
    return 1.0 / (1.0 + exp(-x));
}

static double scaled(double difficulty)
{
    return RATING_SCALE * (difficulty - 0.5);
}

static double clamp01(double x)
{
    return x < 0 ? 0 : x > 1 ? 1 : x;
}

void rating_init(struct rating *r)
{
    *r = (struct rating){
        .ability = 0.0,
        .variance = RATING_INITIAL_VAR,
    };
}

int rating_check(const struct rating *r)
{
    if (!r)
        return -EINVAL;
    if (!isfinite(r->ability) || fabs(r->ability) > RATING_ABILITY_MAX)
        return -EINVAL;
    if (!isfinite(r->variance) || r->variance <= 0)
        return -EINVAL;
    if (r->successes > r->attempts || r->last_practised < 0)
        return -EINVAL;
    if (!(r->trend >= -1 && r->trend <= 1))
        return -EINVAL;
    return 0;
}

double rating_predict(const struct rating *r, double difficulty)
{
    if (isnan(difficulty))
        return NAN;
    return logistic(r->ability - scaled(clamp01(difficulty)));
}

double rating_level(const struct rating *r)
{
    return clamp01(r->ability / RATING_SCALE + 0.5);
}

int rating_difficulty_for(const struct rating *r, double target_p,
                          double *difficulty)
{
    double b;

    if (!difficulty || rating_check(r) < 0)
        return -EINVAL;
    if (!(target_p > 0 && target_p < 1))
        return -EINVAL;
    /* ability - b = logit(target) */
    b = r->ability - log(target_p / (1 - target_p));
    *difficulty = clamp01(b / RATING_SCALE + 0.5);
    return 0;
}

static void mastery(struct rating *r)
{
    double sd = sqrt(r->variance);
    double p_mid = logistic(r->ability);
    double p_low = logistic(r->ability - sd);

    if (r->mastered) {
        if (p_mid < RATING_UNMASTERY_P || r->trend < RATING_REGRESSION_TREND)
            r->mastered = 0;
    } else if (r->attempts >= RATING_MASTERY_ATTEMPTS &&
               p_low >= RATING_MASTERY_P &&
               r->trend >= RATING_REGRESSION_TREND) {
        r->mastered = 1;
        r->ever_mastered = 1;
    }
}

int rating_update(struct rating *r, double difficulty, int success,
                  time_t now)
{
    struct rating n;
    double y = success ? 1.0 : 0.0;
    double p, v;

    if (rating_check(r) < 0)
        return -EINVAL;
    if (!(difficulty >= 0 && difficulty <= 1))
        return -EINVAL;
    n = *r;
    v = n.variance;
    if (n.last_practised > 0 && now > n.last_practised) {
        double days = difftime(now, n.last_practised) / 86400.0;
        double grown = v + RATING_IDLE_VAR_PER_DAY * days;
        double cap = v > RATING_INITIAL_VAR ? v : RATING_INITIAL_VAR;

        v = grown < cap ? grown : cap;
    }
    v += RATING_STEP_VAR;
    p = logistic(n.ability - scaled(difficulty));
    n.trend = (1 - RATING_TREND_ALPHA) * n.trend + RATING_TREND_ALPHA * (y - p);
    v = 1.0 / (1.0 / v + p * (1 - p));
    if (v < RATING_MIN_VAR)
        v = RATING_MIN_VAR;
    n.variance = v;
    n.ability += v * (y - p);
    if (n.ability > RATING_ABILITY_MAX)
        n.ability = RATING_ABILITY_MAX;
    else if (n.ability < -RATING_ABILITY_MAX)
        n.ability = -RATING_ABILITY_MAX;
    n.attempts++;
    if (success)
        n.successes++;
    if (now > n.last_practised)
        n.last_practised = now;
    mastery(&n);
    *r = n;
    return 0;
}

/* ---- JSON ---------------------------------------------------------------- */

static int add_num(cJSON *o, const char *k, double v)
{
    return cJSON_AddNumberToObject(o, k, v) ? 0 : -ENOMEM;
}

cJSON *rating_to_json(const struct rating *r)
{
    cJSON *o;
    int rc;

    if (!r)
        return NULL;
    o = cJSON_CreateObject();
    if (!o)
        return NULL;
    rc = add_num(o, "rating", r->ability);
    rc = rc ? rc : add_num(o, "variance", r->variance);
    rc = rc ? rc : add_num(o, "uncertainty", sqrt(r->variance));
    rc = rc ? rc : add_num(o, "level", rating_level(r));
    rc = rc ? rc : add_num(o, "attempts", (double)r->attempts);
    rc = rc ? rc : add_num(o, "successes", (double)r->successes);
    if (!rc) {
        char buf[CLOCK_RFC3339_SIZE];

        if (r->last_practised <= 0) {
            rc = cJSON_AddNullToObject(o, "last_practised") ? 0 : -ENOMEM;
        } else if (clock_rfc3339(r->last_practised, buf) != 0) {
            /* a time_t beyond year 9999 cannot be written in RFC 3339;
             * seconds are still exact */
            rc = add_num(o, "last_practised", (double)r->last_practised);
        } else {
            rc = cJSON_AddStringToObject(o, "last_practised", buf) ?
                0 : -ENOMEM;
        }
    }
    rc = rc ? rc : add_num(o, "trend", r->trend);
    rc = rc ? rc : (cJSON_AddBoolToObject(o, "mastered", r->mastered != 0) ?
                    0 : -ENOMEM);
    rc = rc ? rc : (cJSON_AddBoolToObject(o, "ever_mastered",
                                          r->ever_mastered != 0) ?
                    0 : -ENOMEM);
    if (rc) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* "YYYY-MM-DDTHH:MM:SSZ" exactly (what rating_to_json and the store
 * write), not before 1970. */
static int parse_time(const char *s, time_t *out)
{
    time_t t;

    if (clock_parse_rfc3339(s, 1, &t) != 0 || t < 0)
        return -EINVAL;
    *out = t;
    return 0;
}

/* A missing field is fine; a present one must be a number. */
static int get_num(const cJSON *o, const char *k, double *v)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);

    if (!it)
        return 0;
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
        return -EINVAL;
    *v = it->valuedouble;
    return 0;
}

/* 2^53: every count below is exact in a double. */
#define COUNT_MAX 9007199254740992.0

static int get_count(const cJSON *o, const char *k, unsigned long *v)
{
    double d = -1;
    int rc = get_num(o, k, &d);

    if (rc < 0)
        return rc;
    if (!cJSON_GetObjectItemCaseSensitive(o, k))
        return 0;
    if (d < 0 || d != floor(d) || d > COUNT_MAX || d > (double)(~0UL))
        return -EINVAL;
    *v = (unsigned long)d;
    return 0;
}

static int get_bool(const cJSON *o, const char *k, int *v)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);

    if (!it)
        return 0;
    if (!cJSON_IsBool(it))
        return -EINVAL;
    *v = cJSON_IsTrue(it) ? 1 : 0;
    return 0;
}

static int get_time(const cJSON *o, const char *k, time_t *v)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);

    if (!it || cJSON_IsNull(it)) {
        if (it)
            *v = 0;
        return 0;
    }
    if (cJSON_IsString(it))
        return parse_time(it->valuestring, v);
    if (cJSON_IsNumber(it)) {
        double d = it->valuedouble;

        if (!isfinite(d) || d < 0 || d != floor(d) || d > COUNT_MAX)
            return -EINVAL;
        *v = (time_t)d;
        return 0;
    }
    return -EINVAL;
}

int rating_from_json(const cJSON *json, struct rating *r)
{
    struct rating n;

    if (!r || !cJSON_IsObject(json))
        return -EINVAL;
    rating_init(&n);
    if (get_num(json, "rating", &n.ability) < 0 ||
        get_num(json, "variance", &n.variance) < 0 ||
        get_count(json, "attempts", &n.attempts) < 0 ||
        get_count(json, "successes", &n.successes) < 0 ||
        get_time(json, "last_practised", &n.last_practised) < 0 ||
        get_num(json, "trend", &n.trend) < 0 ||
        get_bool(json, "mastered", &n.mastered) < 0 ||
        get_bool(json, "ever_mastered", &n.ever_mastered) < 0)
        return -EINVAL;
    if (n.mastered)
        n.ever_mastered = 1;
    if (rating_check(&n) < 0)
        return -EINVAL;
    *r = n;
    return 0;
}
