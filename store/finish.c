/* finish.c -- the end of a task: its status, score and result, and
 * everything it produced (code, reflection, summary, score entry, skills,
 * documents, log lines, text) in one transaction; and the cancel of a
 * queued task, which is a finish checked in the same transaction.
 */
#include "store_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A finish call's inputs, validated and made compact before the write. */
struct finish_arg {
    uint64_t id;
    const struct store_task_outcome *out;
    cJSON *score;                  /* NULL: store null                      */
    cJSON *result;
    char *reflection, *summary, *score_entry;
    char **skills;                 /* nskills compact records               */
    char **docs;                   /* ndocs compact documents               */
};

static int finish_prepare(struct finish_arg *a)
{
    const struct store_task_outcome *o = a->out;
    static const char *const statuses[] = {
        "passed", "failed", "error", "cancelled",
    };
    int ok = 0, rc = 0;

    if (o->status)
        for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
            ok |= strcmp(o->status, statuses[i]) == 0;
    if (!ok || o->attempts < 0 || (o->ncode && o->code == NULL) ||
        (o->nskills && o->skills == NULL) || (o->ndocs && o->docs == NULL) ||
        (o->nlogs && o->logs == NULL))
        return -EINVAL;
    /* The code key holds the attempt in its low 8 bits. */
    if (a->id > (UINT64_MAX >> 8))
        return -EINVAL;
    for (size_t i = 0; i < o->ncode; i++) {
        const struct store_code *c = &o->code[i];

        if (c->attempt < 1 || c->attempt > STORE_MAX_ATTEMPT ||
            c->ext == NULL || (c->text == NULL && c->len > 0))
            return -EINVAL;
    }
    if (o->text && (rc = text_check(o->text)) < 0)
        return rc;
    if (o->score_json && (a->score = json_parse(o->score_json, 1, &rc)) == NULL)
        return rc;
    if (o->result_json &&
        (a->result = json_parse(o->result_json, 1, &rc)) == NULL)
        return rc;
    if ((o->reflection_json &&
         (rc = json_compact(o->reflection_json, 0, &a->reflection)) < 0) ||
        (o->summary_json &&
         (rc = json_compact(o->summary_json, 0, &a->summary)) < 0) ||
        (o->score_entry_json &&
         (rc = json_compact(o->score_entry_json, 0, &a->score_entry)) < 0))
        return rc;
    if (o->nskills && (a->skills = calloc(o->nskills, sizeof(char *))) == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < o->nskills; i++) {
        if (!name_ok(o->skills[i].name))
            return -EINVAL;
        if ((rc = json_compact(o->skills[i].json, 0, &a->skills[i])) < 0)
            return rc;
    }
    if (o->ndocs && (a->docs = calloc(o->ndocs, sizeof(char *))) == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < o->ndocs; i++) {
        if (!name_ok(o->docs[i].name))
            return -EINVAL;
        if ((rc = json_compact(o->docs[i].json, 0, &a->docs[i])) < 0)
            return rc;
    }
    return 0;
}

static void finish_free(struct finish_arg *a)
{
    cJSON_Delete(a->score);
    cJSON_Delete(a->result);
    free(a->reflection);
    free(a->summary);
    free(a->score_entry);
    for (size_t i = 0; a->skills && i < a->out->nskills; i++)
        free(a->skills[i]);
    free(a->skills);
    for (size_t i = 0; a->docs && i < a->out->ndocs; i++)
        free(a->docs[i]);
    free(a->docs);
}

/* Puts a copy of a prepared tree (NULL: null) into doc[key]. */
static int json_set_copy(cJSON *doc, const char *key, const cJSON *val)
{
    return json_set(doc, key, val ? cJSON_Duplicate(val, 1) : cJSON_CreateNull());
}

static int finish_artefacts(struct store *st, MDB_txn *txn,
                            const struct finish_arg *a)
{
    const struct store_task_outcome *o = a->out;
    int rc = 0;

    for (size_t i = 0; i < o->ncode && rc == 0; i++) {
        const struct store_code *c = &o->code[i];
        size_t el = strlen(c->ext);
        char *buf = malloc(el + 1 + c->len);

        if (buf == NULL)
            return -ENOMEM;
        memcpy(buf, c->ext, el + 1);
        if (c->len)
            memcpy(buf + el + 1, c->text, c->len);
        rc = put_u64key(txn, st->dbi[DB_CODE], STORE_CODE_KEY(a->id, c->attempt),
                        buf, el + 1 + c->len, 0);
        free(buf);
    }
    if (rc == 0 && a->reflection)
        rc = put_u64key(txn, st->dbi[DB_REFLECTIONS], a->id, a->reflection,
                        strlen(a->reflection), 0);
    if (rc == 0 && a->summary)
        rc = put_u64key(txn, st->dbi[DB_SUMMARIES], a->id, a->summary,
                        strlen(a->summary), 0);
    if (rc == 0 && a->score_entry)
        rc = seq_append(txn, st->dbi[DB_SCORES], a->score_entry,
                        strlen(a->score_entry), NULL);
    for (size_t i = 0; i < o->nskills && rc == 0; i++)
        rc = put_named(txn, st->dbi[DB_SKILLS], o->skills[i].name,
                       a->skills[i], strlen(a->skills[i]));
    for (size_t i = 0; i < o->ndocs && rc == 0; i++)
        rc = put_named(txn, st->dbi[DB_DOCS], o->docs[i].name, a->docs[i],
                       strlen(a->docs[i]));
    if (rc == 0)
        rc = put_entries(st, txn, o->logs, o->nlogs);
    if (rc == 0 && o->text)
        rc = text_put(st, txn, a->id, o->text);
    return rc;
}

static int finish_body(struct store *st, MDB_txn *txn, void *varg)
{
    struct finish_arg *a = varg;
    const struct store_task_outcome *o = a->out;
    cJSON *doc;
    const char *status;
    char now[32];
    int rc = task_load(st, txn, a->id, &doc);

    if (rc < 0)
        return rc;
    status = json_str(doc, "status");
    if (status && strcmp(status, "queued") == 0) {
        rc = queue_del(st, txn, doc, a->id);
    } else if (status && strcmp(status, "running") == 0) {
        rc = del_u64key(txn, st->dbi[DB_RUNNING], a->id);
        if (rc == -ENOENT)
            rc = 0;
    } else {
        /* A task ends once: a second result would append a second score. */
        rc = -EINVAL;
    }
    if (rc < 0)
        goto out;
    store_time_format(time(NULL), now);
    if ((rc = json_set(doc, "status", cJSON_CreateString(o->status))) < 0 ||
        (rc = json_set(doc, "attempts", cJSON_CreateNumber(o->attempts))) < 0 ||
        (rc = json_set(doc, "finished_at", cJSON_CreateString(now))) < 0 ||
        (rc = json_set_copy(doc, "score", a->score)) < 0 ||
        (rc = json_set_copy(doc, "result", a->result)) < 0 ||
        (rc = task_store(st, txn, a->id, doc, NULL)) < 0)
        goto out;
    rc = finish_artefacts(st, txn, a);
out:
    cJSON_Delete(doc);
    return rc;
}

int store_task_finish(struct store *st, uint64_t id,
                      const struct store_task_outcome *out)
{
    struct finish_arg a = { .id = id, .out = out };
    int rc;

    if (st == NULL || out == NULL)
        return -EINVAL;
    rc = finish_prepare(&a);
    if (rc == 0)
        rc = store_write(st, finish_body, &a);
    finish_free(&a);
    return rc;
}

struct cancel_arg {
    struct finish_arg fin;
    struct store_task_outcome out;
    struct store_log_entry log;
    char line[128];
};

/* Finishes a queued task as cancelled, in the transaction that checked it
 * is queued: a builder that dequeues it a moment later cannot also hold
 * it. */
static int cancel_body(struct store *st, MDB_txn *txn, void *varg)
{
    struct cancel_arg *a = varg;
    const cJSON *att;
    const char *status;
    cJSON *doc;
    int rc = task_load(st, txn, a->fin.id, &doc);

    if (rc < 0)
        return rc;
    status = json_str(doc, "status");
    att = cJSON_GetObjectItemCaseSensitive(doc, "attempts");
    a->out.attempts = cJSON_IsNumber(att) && att->valuedouble >= 0
                          ? (int)att->valuedouble : 0;
    if (status && strcmp(status, "running") == 0)
        rc = -EBUSY;
    else if (!status || strcmp(status, "queued") != 0)
        rc = -EALREADY;
    cJSON_Delete(doc);
    return rc ? rc : finish_body(st, txn, &a->fin);
}

int store_task_cancel_queued(struct store *st, uint64_t id, const char *why)
{
    struct cancel_arg *a;
    char name[STORE_ID_MAX];
    int rc;

    if (st == NULL || why == NULL)
        return -EINVAL;
    a = calloc(1, sizeof *a);
    if (a == NULL)
        return -ENOMEM;
    a->out.status = "cancelled";
    a->out.result_json = NULL;
    snprintf(a->line, sizeof a->line, "cancel: %s: cancelled while queued",
             store_id_format(id, name));
    a->log = (struct store_log_entry){ STORE_LOG_SYSTEM, 0, a->line };
    a->out.logs = &a->log;
    a->out.nlogs = 1;
    a->fin.id = id;
    a->fin.out = &a->out;
    cJSON *result = cJSON_CreateObject();
    if (!result || !cJSON_AddStringToObject(result, "reason", why)) {
        cJSON_Delete(result);
        free(a);
        return -ENOMEM;
    }
    a->fin.result = result;     /* freed by finish_free */
    rc = store_write(st, cancel_body, a);
    finish_free(&a->fin);
    free(a);
    return rc;
}

struct finish_with_arg {
    uint64_t id;
    const struct store_task_outcome *base;
    store_finish_fn fn;
    void *ctx;
};

/* The caller's fn reads through a view on the write transaction itself, so
 * that what it reads is what the commit replaces: no other writer comes
 * between. The view is not counted in store_tls_views (it holds no read
 * transaction of its own) and is never ended: the write ends it. */
static int finish_with_body(struct store *st, MDB_txn *txn, void *varg)
{
    struct finish_with_arg *a = varg;
    struct store_view v = { st, txn };
    struct store_task_outcome o = *a->base;
    struct finish_arg f = { .id = a->id, .out = &o };
    int rc = a->fn(a->ctx, &v, &o);

    if (rc < 0)
        return rc;
    if ((rc = finish_prepare(&f)) == 0)
        rc = finish_body(st, txn, &f);
    finish_free(&f);
    return rc;
}

int store_task_finish_with(struct store *st, uint64_t id,
                           const struct store_task_outcome *base,
                           store_finish_fn fn, void *ctx)
{
    struct finish_with_arg a = { id, base, fn, ctx };

    if (st == NULL || base == NULL || fn == NULL)
        return -EINVAL;
    return store_write(st, finish_with_body, &a);
}
