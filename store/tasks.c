/* tasks.c -- task documents and the queue: a new task's document (built,
 * or spliced from a canonical definition), enqueue with its queue key and
 * sets index entry, dequeue into the running set, requeue, attempts.
 *
 * The end of a task (its result and what it produced, or a cancel) is
 * finish.c's.
 */
#include "store_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_scan.h"

/* Loads and parses a task document; -ENOENT if there is none. */
int task_load(struct store *st, MDB_txn *txn, uint64_t id, cJSON **doc)
{
    MDB_val v;
    int rc = get_u64key(txn, st->dbi[DB_TASKS], id, &v);

    *doc = NULL;
    if (rc < 0)
        return rc;
    *doc = cJSON_ParseWithLength(v.mv_data, v.mv_size);
    if (*doc == NULL || !cJSON_IsObject(*doc)) {
        cJSON_Delete(*doc);
        *doc = NULL;
        return STORE_ECORRUPT;
    }
    return 0;
}

/* Stores a task document; *printed (may be NULL) receives its text. */
int task_store(struct store *st, MDB_txn *txn, uint64_t id,
               const cJSON *doc, char **printed)
{
    char *s = cJSON_PrintUnformatted(doc);
    int rc;

    if (s == NULL)
        return -ENOMEM;
    rc = put_u64key(txn, st->dbi[DB_TASKS], id, s, strlen(s), 0);
    if (rc == 0)
        store_tls_touched = store_tls_touched && store_tls_touched != id
                                ? UINT64_MAX : id;
    if (rc == 0 && printed)
        *printed = s;
    else
        free(s);
    return rc;
}

/* Rebuilds a task's queue key from its document. */
static int task_qkey(const cJSON *doc, uint64_t id, unsigned char k[QKEY_LEN])
{
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(doc, "priority");
    enum store_source src;
    double p;

    if (source_parse(json_str(doc, "source"), &src) < 0 || !cJSON_IsNumber(pr))
        return STORE_ECORRUPT;
    p = pr->valuedouble;
    if (!(p >= INT_MIN && p <= INT_MAX) || p != (double)(int)p)
        return STORE_ECORRUPT;
    qkey_make(k, source_class(src), (int)p, id);
    return 0;
}

static int queue_put(struct store *st, MDB_txn *txn, const cJSON *doc,
                     uint64_t id)
{
    unsigned char kb[QKEY_LEN];
    MDB_val k = { sizeof kb, kb };
    MDB_val v = { 0, NULL };
    int rc = task_qkey(doc, id, kb);

    if (rc < 0)
        return rc;
    return store_mdb_err(mdb_put(txn, st->dbi[DB_QUEUE], &k, &v, 0));
}

int queue_del(struct store *st, MDB_txn *txn, const cJSON *doc,
              uint64_t id)
{
    unsigned char kb[QKEY_LEN];
    MDB_val k = { sizeof kb, kb };
    int rc = task_qkey(doc, id, kb);

    if (rc < 0)
        return rc;
    return store_mdb_err(mdb_del(txn, st->dbi[DB_QUEUE], &k, NULL));
}

/* Moves a running task back to the queue within txn. */
int task_requeue_txn(struct store *st, MDB_txn *txn, uint64_t id)
{
    cJSON *doc;
    const char *status;
    int rc = task_load(st, txn, id, &doc);

    if (rc < 0)
        return rc;
    status = json_str(doc, "status");
    if (status == NULL || strcmp(status, "running") != 0) {
        rc = -EINVAL;
        goto out;
    }
    if ((rc = json_set(doc, "status", cJSON_CreateString("queued"))) < 0 ||
        (rc = json_set(doc, "started_at", cJSON_CreateNull())) < 0 ||
        (rc = task_store(st, txn, id, doc, NULL)) < 0 ||
        (rc = queue_put(st, txn, doc, id)) < 0)
        goto out;
    rc = del_u64key(txn, st->dbi[DB_RUNNING], id);
    if (rc == -ENOENT)
        rc = 0;
out:
    cJSON_Delete(doc);
    return rc;
}

/* ---- New tasks ----------------------------------------------------------- */

/* Fields the store owns in a task document; a definition's own copy of any
 * of them is replaced. */
static int reserved_field(const char *k)
{
    static const char *const names[] = {
        "id", "source", "status", "priority", "attempts", "created_at",
        "started_at", "finished_at", "score", "result",
    };

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(k, names[i]) == 0)
            return 1;
    return 0;
}

/* Builds the document of a new task, its id left blank. */
static int task_doc_new(const struct store_task_new *t, const char *now,
                        cJSON **out)
{
    int err = 0;
    cJSON *def, *doc, *it;

    *out = NULL;
    if ((unsigned)t->source > STORE_SOURCE_SEED)
        return -EINVAL;
    def = json_parse(t->def_json, 1, &err);
    if (def == NULL)
        return err;
    doc = cJSON_CreateObject();
    if (doc == NULL ||
        !cJSON_AddStringToObject(doc, "id", "task_000000") ||
        !cJSON_AddStringToObject(doc, "source", store_source_name(t->source)) ||
        !cJSON_AddStringToObject(doc, "status", "queued") ||
        !cJSON_AddNumberToObject(doc, "priority", t->priority) ||
        !cJSON_AddNumberToObject(doc, "attempts", 0))
        goto nomem;
    cJSON_ArrayForEach(it, def) {
        cJSON *copy;

        if (it->string == NULL || reserved_field(it->string))
            continue;
        copy = cJSON_Duplicate(it, 1);
        if (copy == NULL || !cJSON_AddItemToObject(doc, it->string, copy)) {
            cJSON_Delete(copy);
            goto nomem;
        }
    }
    if (!cJSON_AddStringToObject(doc, "created_at", now) ||
        !cJSON_AddNullToObject(doc, "started_at") ||
        !cJSON_AddNullToObject(doc, "finished_at") ||
        !cJSON_AddNullToObject(doc, "score") ||
        !cJSON_AddNullToObject(doc, "result"))
        goto nomem;
    cJSON_Delete(def);
    *out = doc;
    return 0;
nomem:
    cJSON_Delete(def);
    cJSON_Delete(doc);
    return -ENOMEM;
}

/* The sets index: see SET_KEY_MAX in store_internal.h. */
static int set_put(struct store *st, MDB_txn *txn, const char *set,
                   uint64_t id)
{
    unsigned char kb[SET_KEY_MAX + 9];
    MDB_val k, v = { 0, NULL };

    if (set == NULL || *set == '\0')
        return 0;
    if (strlen(set) > SET_KEY_MAX || memchr(set, '\0', 1) != NULL)
        return -EINVAL;
    k.mv_size = set_key(set, id, kb);
    k.mv_data = kb;
    return store_mdb_err(mdb_put(txn, st->dbi[DB_SETS], &k, &v, 0));
}

/* The "set" of a canonical definition (task_parse_line's text), copied
 * into out, or "" when it has none. In that text a '"' inside a string is
 * always escaped, so ,"set":" can only be the member itself, and set names
 * hold no quote or backslash. */
static void canonical_set(const char *def, char *out, size_t outlen)
{
    const char *p = strstr(def, ",\"set\":\"");
    const char *e;

    out[0] = '\0';
    if (!p)
        return;
    p += 8;
    e = strchr(p, '"');
    if (e && (size_t)(e - p) < outlen) {
        memcpy(out, p, (size_t)(e - p));
        out[e - p] = '\0';
    }
}

/* The text of a new task's document after its id, made from a canonical
 * definition without parsing it (task_parse_line already did): the store's
 * fields, the definition's members but the reserved ones, in the order
 * task_doc_new gives them. -EINVAL if def is not an object. */
static int task_tail_splice(const struct store_task_new *t, const char *now,
                            char **out)
{
    const char *d = t->def_json;
    size_t n = strlen(d), len, i = 1;
    char *buf;

    *out = NULL;
    if ((unsigned)t->source > STORE_SOURCE_SEED)
        return -EINVAL;
    if (n < 2 || d[0] != '{' || d[n - 1] != '}')
        return -EINVAL;
    buf = malloc(n + 320);
    if (buf == NULL)
        return -ENOMEM;
    len = (size_t)sprintf(buf, "\",\"source\":\"%s\",\"status\":\"queued\","
                          "\"priority\":%d,\"attempts\":0",
                          store_source_name(t->source), t->priority);
    while (i < n - 1) {
        if (d[i] == ',') {
            i++;
            continue;
        }
        size_t ke = d[i] == '"' ? json_skip_string(d, n - 1, i) : 0;
        if (ke == 0 || ke >= n - 1 || d[ke] != ':') {
            free(buf);
            return -EINVAL;
        }
        size_t ve = json_skip_value(d, n - 1, ke + 1);
        char key[32];
        size_t kl = ke - i - 2;
        int reserved = 0;
        if (kl < sizeof key) {
            memcpy(key, d + i + 1, kl);
            key[kl] = '\0';
            reserved = reserved_field(key);
        }
        if (!reserved) {
            buf[len++] = ',';
            memcpy(buf + len, d + i, ve - i);
            len += ve - i;
        }
        i = ve;
    }
    sprintf(buf + len, ",\"created_at\":\"%s\",\"started_at\":null,"
                       "\"finished_at\":null,\"score\":null,\"result\":null}",
            now);
    *out = buf;
    return 0;
}

struct enqueue_arg {
    cJSON **docs;                  /* n prepared documents, or NULL where
                                      tails holds a spliced text instead    */
    char **tails;                  /* canonical tasks: text after the id    */
    const struct store_task_new *tasks;
    size_t n;
    uint64_t first;                /* out: the first id given               */
    store_enqueue_log_fn log_line; /* NULL: no log line                     */
    void *log_ctx;
};

static int enqueue_body(struct store *st, MDB_txn *txn, void *varg)
{
    struct enqueue_arg *a = varg;
    uint64_t next;
    int rc = meta_get_u64(st, txn, "next_id", &next);

    if (rc < 0)
        return rc;
    if (next == 0 || next > (UINT64_MAX >> 8) - a->n)
        return next == 0 ? STORE_ECORRUPT : -EOVERFLOW;
    for (size_t i = 0; i < a->n; i++) {
        char name[STORE_ID_MAX];
        uint64_t id = next + i;
        char *s;

        store_id_format(id, name);
        if (a->tails[i]) {
            size_t il = strlen(name), tl = strlen(a->tails[i]);
            s = malloc(7 + il + tl + 1);
            if (s == NULL)
                return -ENOMEM;
            memcpy(s, "{\"id\":\"", 7);
            memcpy(s + 7, name, il);
            memcpy(s + 7 + il, a->tails[i], tl + 1);
        } else {
            if (cJSON_SetValuestring(cJSON_GetObjectItemCaseSensitive(
                    a->docs[i], "id"), name) == NULL)
                return -ENOMEM;
            s = cJSON_PrintUnformatted(a->docs[i]);
            if (s == NULL)
                return -ENOMEM;
        }
        rc = put_u64key(txn, st->dbi[DB_TASKS], id, s, strlen(s), MDB_APPEND);
        free(s);
        /* ids only grow: an existing later key means next_id went back. */
        if (rc == -EEXIST)
            return STORE_ECORRUPT;
        if (rc < 0)
            return rc;
        if (a->tails[i]) {
            unsigned char kb[QKEY_LEN];
            MDB_val k = { sizeof kb, kb }, v = { 0, NULL };
            qkey_make(kb, source_class(a->tasks[i].source),
                      a->tasks[i].priority, id);
            rc = store_mdb_err(mdb_put(txn, st->dbi[DB_QUEUE], &k, &v, 0));
        } else {
            rc = queue_put(st, txn, a->docs[i], id);
        }
        if (rc == 0) {
            char set[SET_KEY_MAX + 1];
            if (a->tails[i])
                canonical_set(a->tasks[i].def_json, set, sizeof set);
            else
                snprintf(set, sizeof set, "%s",
                         json_str(a->docs[i], "set") ? json_str(a->docs[i], "set") : "");
            rc = set_put(st, txn, set, id);
        }
        if (rc < 0)
            return rc;
    }
    a->first = next;
    if (a->log_line) {
        /* The ids are known only here; the line rides in this commit. */
        char *line = a->log_line(a->log_ctx, next, a->n);
        if (line == NULL)
            return -ENOMEM;
        rc = log_put(st, txn, DB_SYSLOG, line, 0);
        free(line);
        if (rc < 0)
            return rc;
    }
    return meta_put_u64(st, txn, "next_id", next + a->n);
}

int store_task_enqueue(struct store *st, const struct store_task_new *tasks,
                       size_t n, uint64_t *ids_out)
{
    return store_task_enqueue_log(st, tasks, n, ids_out, 0, NULL, NULL);
}

int store_task_enqueue_log(struct store *st,
                           const struct store_task_new *tasks, size_t n,
                           uint64_t *ids_out, unsigned flags,
                           store_enqueue_log_fn log_line, void *log_ctx)
{
    struct enqueue_arg a = { .log_line = log_line, .log_ctx = log_ctx };
    char now[32];
    int rc = 0;

    if (st == NULL || (n > 0 && tasks == NULL) || n > STORE_MAX_BATCH)
        return -EINVAL;
    if (n == 0)
        return 0;
    a.docs = calloc(n, sizeof *a.docs);
    a.tails = calloc(n, sizeof *a.tails);
    if (a.docs == NULL || a.tails == NULL) {
        free(a.docs);
        free(a.tails);
        return -ENOMEM;
    }
    a.n = n;
    a.tasks = tasks;
    /* Parse before the write transaction so that it stays short. */
    store_time_format(time(NULL), now);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = (flags & STORE_ENQUEUE_CANONICAL)
                 ? task_tail_splice(&tasks[i], now, &a.tails[i])
                 : task_doc_new(&tasks[i], now, &a.docs[i]);
    if (rc == 0)
        rc = store_write(st, enqueue_body, &a);
    if (rc == 0 && ids_out)
        for (size_t i = 0; i < n; i++)
            ids_out[i] = a.first + i;
    for (size_t i = 0; i < n; i++) {
        cJSON_Delete(a.docs[i]);
        free(a.tails[i]);
    }
    free(a.docs);
    free(a.tails);
    return rc;
}

struct dequeue_arg {
    uint64_t id;                   /* out */
    char *json;                    /* out: the updated document             */
};

static int dequeue_body(struct store *st, MDB_txn *txn, void *varg)
{
    struct dequeue_arg *a = varg;
    MDB_cursor *cur;
    MDB_val k, v;
    cJSON *doc = NULL;
    char now[32];
    int rc;

    free(a->json);
    a->json = NULL;
    rc = store_mdb_err(mdb_cursor_open(txn, st->dbi[DB_QUEUE], &cur));
    if (rc < 0)
        return rc;
    rc = store_mdb_err(mdb_cursor_get(cur, &k, &v, MDB_FIRST));
    if (rc == 0 && k.mv_size != QKEY_LEN)
        rc = STORE_ECORRUPT;
    if (rc == 0) {
        a->id = be64_get((const unsigned char *)k.mv_data + 5);
        rc = store_mdb_err(mdb_cursor_del(cur, 0));
    }
    mdb_cursor_close(cur);
    if (rc < 0)
        return rc;
    rc = task_load(st, txn, a->id, &doc);
    if (rc == -ENOENT)
        rc = STORE_ECORRUPT;
    if (rc < 0)
        return rc;
    store_time_format(time(NULL), now);
    if ((rc = json_set(doc, "status", cJSON_CreateString("running"))) == 0 &&
        (rc = json_set(doc, "started_at", cJSON_CreateString(now))) == 0 &&
        (rc = task_store(st, txn, a->id, doc, &a->json)) == 0)
        rc = put_u64key(txn, st->dbi[DB_RUNNING], a->id, NULL, 0, 0);
    cJSON_Delete(doc);
    return rc;
}

int store_task_dequeue(struct store *st, uint64_t *id, char **task_json)
{
    struct dequeue_arg a = { 0 };
    int rc;

    if (task_json)
        *task_json = NULL;
    if (st == NULL)
        return -EINVAL;
    rc = store_write(st, dequeue_body, &a);
    if (rc < 0) {
        free(a.json);
        return rc;
    }
    if (id)
        *id = a.id;
    if (task_json)
        *task_json = a.json;
    else
        free(a.json);
    return 0;
}

static int requeue_body(struct store *st, MDB_txn *txn, void *varg)
{
    return task_requeue_txn(st, txn, *(const uint64_t *)varg);
}

int store_task_requeue(struct store *st, uint64_t id)
{
    if (st == NULL)
        return -EINVAL;
    return store_write(st, requeue_body, &id);
}

struct attempts_arg {
    uint64_t id;
    int attempts;
};

static int attempts_body(struct store *st, MDB_txn *txn, void *varg)
{
    struct attempts_arg *a = varg;
    cJSON *doc;
    int rc = task_load(st, txn, a->id, &doc);

    if (rc < 0)
        return rc;
    rc = json_set(doc, "attempts", cJSON_CreateNumber(a->attempts));
    if (rc == 0)
        rc = task_store(st, txn, a->id, doc, NULL);
    cJSON_Delete(doc);
    return rc;
}

int store_task_set_attempts(struct store *st, uint64_t id, int attempts)
{
    struct attempts_arg a = { id, attempts };

    if (st == NULL || attempts < 0)
        return -EINVAL;
    return store_write(st, attempts_body, &a);
}

struct marked_arg {
    struct enqueue_arg enq;
    const char *marker;            /* document that says it was done        */
    const char *marker_json;       /* compact                               */
};

static int marked_body(struct store *st, MDB_txn *txn, void *varg)
{
    struct marked_arg *a = varg;
    MDB_val k = { strlen(a->marker), (void *)a->marker }, v;
    int rc = store_mdb_err(mdb_get(txn, st->dbi[DB_DOCS], &k, &v));

    if (rc == 0)
        return -EEXIST;
    if (rc != -ENOENT)
        return rc;
    if (a->enq.n > 0 && (rc = enqueue_body(st, txn, &a->enq)) < 0)
        return rc;
    return put_named(txn, st->dbi[DB_DOCS], a->marker, a->marker_json,
                     strlen(a->marker_json));
}

int store_task_enqueue_marked(struct store *st,
                              const struct store_task_new *tasks, size_t n,
                              uint64_t *ids_out, const char *marker,
                              const char *marker_json)
{
    struct marked_arg a = { .marker = marker };
    char now[32], *compact = NULL;
    int rc;

    if (st == NULL || (n > 0 && tasks == NULL) || n > STORE_MAX_BATCH ||
        !name_ok(marker))
        return -EINVAL;
    if ((rc = json_compact(marker_json, 0, &compact)) < 0)
        return rc;
    a.marker_json = compact;
    a.enq.n = n;
    a.enq.tasks = tasks;
    if (n > 0) {
        a.enq.docs = calloc(n, sizeof *a.enq.docs);
        a.enq.tails = calloc(n, sizeof *a.enq.tails);
        if (a.enq.docs == NULL || a.enq.tails == NULL)
            rc = -ENOMEM;
    }
    store_time_format(time(NULL), now);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = task_doc_new(&tasks[i], now, &a.enq.docs[i]);
    if (rc == 0)
        rc = store_write(st, marked_body, &a);
    if (rc == 0 && ids_out)
        for (size_t i = 0; i < n; i++)
            ids_out[i] = a.enq.first + i;
    for (size_t i = 0; a.enq.docs && i < n; i++)
        cJSON_Delete(a.enq.docs[i]);
    free(a.enq.docs);
    free(a.enq.tails);
    free(compact);
    return rc;
}
