/* plan_state.c -- persistence: the plan's state as JSON and back. Reading
 * checks every field and builds a new plan, so that a bad document changes
 * nothing.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plan_internal.h"

/* ---- persistence: writing ------------------------------------------------ */

static cJSON *skill_state(const struct plan *p, const struct skill *s)
{
    cJSON *o = cJSON_CreateObject(), *rec, *low;
    int bad = 0;
    unsigned k;
    size_t i;

    if (!o)
        return NULL;
    plan_jstr(o, "name", s->name, &bad);
    plan_jput(o, "rating", rating_to_json(&s->r), &bad);
    rec = plan_jarr(o, "recent", &bad);
    for (k = 0; k < s->recent_n && rec; k++)
        plan_jpush(rec, cJSON_CreateNumber((s->recent >> k) & 1), &bad);
    plan_failure_counts(o, "failures", s->failures, &bad);
    low = plan_jobj(o, "lowered", &bad);
    for (i = 0; i < p->nreasons && low; i++)
        if (s->lowered[i])
            plan_jnum(low, p->reasons[i], (double)s->lowered[i], &bad);
    plan_jnum(o, "last_seen", (double)s->last_seen, &bad);
    plan_jnum(o, "review_interval", s->review_interval, &bad);
    plan_jbool(o, "lapse", s->lapse, &bad);
    plan_jbool(o, "regressed", s->regressed, &bad);
    plan_jnum(o, "review_debt", s->review_debt, &bad);
    plan_jnum(o, "regressions", (double)s->regressions, &bad);
    plan_jnum(o, "chosen", (double)s->chosen, &bad);
    plan_jnum(o, "suspicion", s->suspicion, &bad);
    return plan_jfinish(o, bad);
}

cJSON *plan_state_to_json(const struct plan *p)
{
    cJSON *o, *src, *sk, *sts, *hist;
    int bad = 0, s;
    unsigned k;
    size_t i;

    if (!p)
        return NULL;
    o = cJSON_CreateObject();
    if (!o)
        return NULL;
    plan_jnum(o, "version", 1, &bad);
    plan_jnum(o, "tasks", (double)p->tasks, &bad);
    plan_jnum(o, "passed", (double)p->passed, &bad);
    plan_jnum(o, "choices", (double)p->choices, &bad);
    plan_jnum(o, "stretch_share", p->stretch_share, &bad);
    src = plan_jobj(o, "sources", &bad);
    for (i = 0; i < PLAN_SRC__COUNT && src; i++)
        plan_jnum(src, plan_source_name(i), (double)p->sources[i], &bad);
    plan_failure_counts(o, "failures", p->failures, &bad);
    sk = plan_jarr(o, "skills", &bad);
    for (i = 0; i < p->nskills && sk; i++)
        plan_jpush(sk, skill_state(p, &p->skills[i]), &bad);
    sts = plan_jobj(o, "strategies", &bad);
    for (s = 1; s < PLAN_S__COUNT && sts; s++) {
        const struct strat *st = &p->st[s];
        unsigned pw = p->cfg.progress_window;
        cJSON *so = cJSON_CreateObject(), *win;

        if (so) {
            win = plan_jarr(so, "window", &bad);
            /* oldest first: the ring's oldest entry is at head - n */
            for (k = 0; k < st->n && win; k++) {
                unsigned at = (st->head + pw - st->n + k) % pw;

                plan_jpush(win, cJSON_CreateNumber(st->win[at]), &bad);
            }
            plan_jnum(so, "results", (double)st->results, &bad);
            plan_jnum(so, "chosen", (double)st->chosen, &bad);
            plan_jnum(so, "at_floor", (double)st->at_floor, &bad);
        }
        plan_jput(sts, plan_strategy_name(s), so, &bad);
    }
    hist = plan_jarr(o, "history", &bad);
    for (k = 0; k < p->hist_n && hist; k++) {
        unsigned at = (p->hist_head + PLAN_HISTORY - p->hist_n + k) %
                      PLAN_HISTORY;

        plan_jpush(hist, cJSON_CreateString(p->skills[p->hist[at]].name),
                   &bad);
    }
    return plan_jfinish(o, bad);
}

/* ---- persistence: reading ------------------------------------------------ */

/* 2^53: every count below is exact in a double. */
#define COUNT_MAX 9007199254740992.0

static int get_item(const cJSON *o, const char *k, const cJSON **it)
{
    *it = cJSON_GetObjectItemCaseSensitive(o, k);
    return *it != NULL;
}

static int get_count(const cJSON *o, const char *k, unsigned long *v,
                     double max)
{
    const cJSON *it;
    double d;

    if (!get_item(o, k, &it))
        return 0;
    if (!cJSON_IsNumber(it))
        return -EINVAL;
    d = it->valuedouble;
    if (!isfinite(d) || d < 0 || d != floor(d) || d > max ||
        d > (double)(~0UL))
        return -EINVAL;
    *v = (unsigned long)d;
    return 0;
}

static int get_uint(const cJSON *o, const char *k, unsigned *v, double max)
{
    unsigned long u = *v;
    int rc = get_count(o, k, &u, max);

    if (rc == 0)
        *v = (unsigned)u;
    return rc;
}

static int get_bool(const cJSON *o, const char *k, int *v)
{
    const cJSON *it;

    if (!get_item(o, k, &it))
        return 0;
    if (!cJSON_IsBool(it))
        return -EINVAL;
    *v = cJSON_IsTrue(it) ? 1 : 0;
    return 0;
}

/* A present member must be an object (or array, when 'array'). */
static int get_container(const cJSON *o, const char *k, int array,
                         const cJSON **out)
{
    const cJSON *it;

    *out = NULL;
    if (!get_item(o, k, &it))
        return 0;
    if (array ? !cJSON_IsArray(it) : !cJSON_IsObject(it))
        return -EINVAL;
    *out = it;
    return 0;
}

static int read_failures(const cJSON *o, const char *k, unsigned long *f)
{
    const cJSON *c, *it;
    enum failure_kind kind;
    int rc = get_container(o, k, 0, &c);

    if (rc < 0 || !c)
        return rc;
    cJSON_ArrayForEach(it, c) {
        unsigned long v = 0;

        if (failure_kind_parse(it->string, &kind) < 0 ||
            kind == FAILURE_NONE)
            return -EINVAL;
        rc = get_count(c, it->string, &v, COUNT_MAX);
        if (rc < 0)
            return rc;
        f[kind] = v;
    }
    return 0;
}

static int read_skill(struct plan *n, const cJSON *js, unsigned char *seen)
{
    const struct plan_config *c = &n->cfg;
    const cJSON *name, *rj, *rec, *low, *it;
    struct skill *s;
    unsigned k;
    long at;
    int rc;

    if (!cJSON_IsObject(js))
        return -EINVAL;
    name = cJSON_GetObjectItemCaseSensitive(js, "name");
    if (!cJSON_IsString(name) || plan_skill_name_check(name->valuestring) < 0)
        return -EINVAL;
    rc = plan_add_skill(n, name->valuestring);
    if (rc < 0)
        return rc;
    at = plan_find_skill(n, name->valuestring);
    s = &n->skills[at];
    if (seen[at]++)
        return -EINVAL;         /* the JSON names it twice */
    if ((rc = get_container(js, "rating", 0, &rj)) < 0)
        return rc;
    if (rj && rating_from_json(rj, &s->r) < 0)
        return -EINVAL;
    if ((rc = get_container(js, "recent", 1, &rec)) < 0)
        return rc;
    if (rec) {
        unsigned len = (unsigned)cJSON_GetArraySize(rec);

        /* newest first: keep the first recent_window */
        for (k = 0; k < len && k < c->recent_window; k++) {
            it = cJSON_GetArrayItem(rec, (int)k);
            if (!cJSON_IsNumber(it) ||
                (it->valuedouble != 0 && it->valuedouble != 1))
                return -EINVAL;
            s->recent |= (uint32_t)(it->valuedouble == 1) << k;
        }
        for (; k < len; k++) {
            it = cJSON_GetArrayItem(rec, (int)k);
            if (!cJSON_IsNumber(it))
                return -EINVAL;
        }
        s->recent_n = len < c->recent_window ? len : c->recent_window;
    }
    if ((rc = read_failures(js, "failures", s->failures)) < 0)
        return rc;
    if ((rc = get_container(js, "lowered", 0, &low)) < 0)
        return rc;
    if (low) {
        cJSON_ArrayForEach(it, low) {
            unsigned long v = 0;
            long r;

            if (plan_reason_name_check(it->string) < 0)
                return -EINVAL;
            r = plan_find_reason(n, it->string);
            if (r < 0) {
                if (n->nreasons >= PLAN_REASONS_MAX)
                    return -ENOSPC;
                memcpy(n->reasons[n->nreasons], it->string,
                       strlen(it->string) + 1);
                r = (long)n->nreasons++;
            }
            if ((rc = get_count(low, it->string, &v, COUNT_MAX)) < 0)
                return rc;
            s->lowered[r] = v;
        }
    }
    if ((rc = get_count(js, "last_seen", &s->last_seen, COUNT_MAX)) < 0 ||
        (rc = get_uint(js, "review_interval", &s->review_interval,
                       4294967295.0)) < 0 ||
        (rc = get_bool(js, "lapse", &s->lapse)) < 0 ||
        (rc = get_bool(js, "regressed", &s->regressed)) < 0 ||
        (rc = get_uint(js, "review_debt", &s->review_debt,
                       4294967295.0)) < 0 ||
        (rc = get_count(js, "regressions", &s->regressions, COUNT_MAX)) < 0 ||
        (rc = get_count(js, "chosen", &s->chosen, COUNT_MAX)) < 0)
        return rc;
    if (get_item(js, "suspicion", &it)) {
        /* a little above the cap: the double may come back 1 ulp up */
        if (!cJSON_IsNumber(it) ||
            !(it->valuedouble >= 0 &&
              it->valuedouble <= plan_suspicion_max() + 1e-9))
            return -EINVAL;
        s->suspicion = fmin(it->valuedouble, plan_suspicion_max());
    }
    if (s->last_seen > n->tasks)
        return -EINVAL;
    return 0;
}

static int read_strategy(struct plan *n, const cJSON *so, struct strat *st)
{
    const cJSON *win, *it;
    unsigned pw = n->cfg.progress_window, len, k, skip;
    int rc;

    if (!cJSON_IsObject(so))
        return -EINVAL;
    memset(st, 0, sizeof(*st));     /* a repeated key starts over */
    if ((rc = get_container(so, "window", 1, &win)) < 0)
        return rc;
    if (win) {
        len = (unsigned)cJSON_GetArraySize(win);
        /* oldest first: keep the newest progress_window */
        skip = len > pw ? len - pw : 0;
        k = 0;
        cJSON_ArrayForEach(it, win) {
            if (!cJSON_IsNumber(it) || !(it->valuedouble >= -1 &&
                                         it->valuedouble <= 1))
                return -EINVAL;
            if (k++ >= skip)
                st->win[st->n++] = it->valuedouble;
        }
        st->head = st->n % pw;
    }
    if ((rc = get_count(so, "results", &st->results, COUNT_MAX)) < 0 ||
        (rc = get_count(so, "chosen", &st->chosen, COUNT_MAX)) < 0 ||
        (rc = get_count(so, "at_floor", &st->at_floor, COUNT_MAX)) < 0)
        return rc;
    return 0;
}

static int read_state(struct plan *n, const cJSON *json)
{
    const cJSON *src, *sk, *sts, *hist, *it;
    unsigned char seen[PLAN_SKILLS_MAX] = { 0 };
    unsigned long version = 1;
    int rc, s;
    size_t i;

    if ((rc = get_count(json, "version", &version, COUNT_MAX)) < 0)
        return rc;
    if (version != 1)
        return -EINVAL;
    if ((rc = get_count(json, "tasks", &n->tasks, COUNT_MAX)) < 0 ||
        (rc = get_count(json, "passed", &n->passed, COUNT_MAX)) < 0 ||
        (rc = get_count(json, "choices", &n->choices, COUNT_MAX)) < 0)
        return rc;
    if (n->passed > n->tasks)
        return -EINVAL;
    if (get_item(json, "stretch_share", &it)) {
        if (!cJSON_IsNumber(it) || !(it->valuedouble >= 0 &&
                                     it->valuedouble <= 1))
            return -EINVAL;
        n->stretch_share = it->valuedouble;
    }
    if ((rc = get_container(json, "sources", 0, &src)) < 0)
        return rc;
    for (i = 0; i < PLAN_SRC__COUNT && src; i++)
        if ((rc = get_count(src, plan_source_name(i), &n->sources[i],
                            COUNT_MAX)) < 0)
            return rc;
    if ((rc = read_failures(json, "failures", n->failures)) < 0)
        return rc;
    if ((rc = get_container(json, "skills", 1, &sk)) < 0)
        return rc;
    cJSON_ArrayForEach(it, sk) {
        if ((rc = read_skill(n, it, seen)) < 0)
            return rc;
    }
    if ((rc = get_container(json, "strategies", 0, &sts)) < 0)
        return rc;
    cJSON_ArrayForEach(it, sts) {
        enum plan_strategy st;

        if (plan_strategy_from_name(it->string, &st) < 0 ||
            st == PLAN_S_NONE)
            return -EINVAL;
        if ((rc = read_strategy(n, it, &n->st[st])) < 0)
            return rc;
    }
    for (s = 1; s < PLAN_S__COUNT; s++)
        if (n->st[s].head >= n->cfg.progress_window)
            return -EINVAL;
    if ((rc = get_container(json, "history", 1, &hist)) < 0)
        return rc;
    if (hist) {
        int len = cJSON_GetArraySize(hist), k = 0;
        int skip = len > PLAN_HISTORY ? len - PLAN_HISTORY : 0;

        cJSON_ArrayForEach(it, hist) {
            long at;

            if (!cJSON_IsString(it))
                return -EINVAL;
            at = plan_find_skill(n, it->valuestring);
            if (at < 0)
                return -EINVAL;
            if (k++ < skip)
                continue;
            n->hist[n->hist_n++] = (unsigned short)at;
        }
        n->hist_head = n->hist_n % PLAN_HISTORY;
    }
    return 0;
}

int plan_state_from_json(struct plan *p, const cJSON *json)
{
    struct plan *n;
    int rc;

    if (!p || !cJSON_IsObject(json))
        return -EINVAL;
    rc = plan_create(&p->cfg, &n);
    if (rc < 0)
        return rc;
    rc = read_state(n, json);
    if (rc < 0) {
        plan_free(n);
        return rc;
    }
    free(p->skills);
    *p = *n;
    free(n);
    return 0;
}
