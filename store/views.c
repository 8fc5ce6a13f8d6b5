/* views.c -- read views: consistent snapshots of the store (one LMDB read
 * transaction each) and everything read through them: collections by key,
 * range and tail, the queue, sets, skills, documents, the text index.
 */
#include "store_internal.h"

#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const enum store_db coll_db[STORE_COLL_COUNT] = {
    [STORE_COLL_TASKS] = DB_TASKS,
    [STORE_COLL_REFLECTIONS] = DB_REFLECTIONS,
    [STORE_COLL_SUMMARIES] = DB_SUMMARIES,
    [STORE_COLL_SCORES] = DB_SCORES,
    [STORE_COLL_ANALYSES] = DB_ANALYSES,
    [STORE_COLL_SYSLOG] = DB_SYSLOG,
    [STORE_COLL_SHELLLOG] = DB_SHELLLOG,
    [STORE_COLL_CODE] = DB_CODE,
};

/* ---- Read views ----------------------------------------------------------- */

int store_view_begin(struct store *st, struct store_view **out)
{
    struct store_view *v;
    int rc;

    if (out)
        *out = NULL;
    if (st == NULL || out == NULL)
        return -EINVAL;
    v = malloc(sizeof *v);
    if (v == NULL)
        return -ENOMEM;
    v->st = st;
    rc = store_txn_begin(st, MDB_RDONLY, &v->txn, NULL);
    if (rc < 0) {
        free(v);
        return rc;
    }
    store_tls_views++;
    *out = v;
    return 0;
}

void store_view_end(struct store_view *v)
{
    if (v == NULL)
        return;
    store_txn_abort(v->st, v->txn);
    store_tls_views--;
    free(v);
}

static int coll_dbi(struct store_view *v, enum store_coll c, MDB_dbi *dbi)
{
    if (v == NULL || (unsigned)c >= STORE_COLL_COUNT)
        return -EINVAL;
    *dbi = v->st->dbi[coll_db[c]];
    return 0;
}

int store_view_get(struct store_view *v, enum store_coll c, uint64_t key,
                   store_each_fn fn, void *ctx)
{
    MDB_dbi dbi;
    MDB_val val;
    int rc = coll_dbi(v, c, &dbi);

    if (rc < 0 || fn == NULL)
        return rc < 0 ? rc : -EINVAL;
    rc = get_u64key(v->txn, dbi, key, &val);
    if (rc < 0)
        return rc;
    return fn(ctx, key, val.mv_data, val.mv_size);
}

/* Walks from the cursor's position (k, v already fetched with result rc)
 * forward while key <= last. */
static int walk(MDB_cursor *cur, int rc, MDB_val *k, MDB_val *v, uint64_t last,
                store_each_fn fn, void *ctx)
{
    for (; rc == 0; rc = store_mdb_err(mdb_cursor_get(cur, k, v, MDB_NEXT))) {
        uint64_t key;
        int r;

        if (k->mv_size != 8)
            return STORE_ECORRUPT;
        key = be64_get(k->mv_data);
        if (key > last)
            return 0;
        r = fn(ctx, key, v->mv_data, v->mv_size);
        if (r != 0)
            return r;
    }
    return rc == -ENOENT ? 0 : rc;
}

int store_view_range(struct store_view *v, enum store_coll c, uint64_t first,
                     uint64_t last, store_each_fn fn, void *ctx)
{
    MDB_dbi dbi;
    MDB_cursor *cur;
    MDB_val k, val;
    unsigned char kb[8];
    int rc = coll_dbi(v, c, &dbi);

    if (rc < 0 || fn == NULL)
        return rc < 0 ? rc : -EINVAL;
    if (first > last)
        return 0;
    rc = store_mdb_err(mdb_cursor_open(v->txn, dbi, &cur));
    if (rc < 0)
        return rc;
    be64_put(kb, first);
    k.mv_size = sizeof kb;
    k.mv_data = kb;
    rc = store_mdb_err(mdb_cursor_get(cur, &k, &val, MDB_SET_RANGE));
    rc = walk(cur, rc, &k, &val, last, fn, ctx);
    mdb_cursor_close(cur);
    return rc;
}

int store_view_tail(struct store_view *v, enum store_coll c, size_t n,
                    store_each_fn fn, void *ctx)
{
    MDB_dbi dbi;
    MDB_cursor *cur;
    MDB_val k, val;
    int rc = coll_dbi(v, c, &dbi);

    if (rc < 0 || fn == NULL)
        return rc < 0 ? rc : -EINVAL;
    if (n == 0)
        return 0;
    rc = store_mdb_err(mdb_cursor_open(v->txn, dbi, &cur));
    if (rc < 0)
        return rc;
    rc = store_mdb_err(mdb_cursor_get(cur, &k, &val, MDB_LAST));
    /* Step back to the n-th record from the end, or to the first one. */
    for (size_t i = 1; rc == 0 && i < n; i++) {
        rc = store_mdb_err(mdb_cursor_get(cur, &k, &val, MDB_PREV));
        if (rc == -ENOENT) {
            rc = store_mdb_err(mdb_cursor_get(cur, &k, &val, MDB_FIRST));
            break;
        }
    }
    rc = walk(cur, rc, &k, &val, UINT64_MAX, fn, ctx);
    mdb_cursor_close(cur);
    return rc;
}

size_t store_view_count(struct store_view *v, enum store_coll c)
{
    MDB_dbi dbi;
    MDB_stat ms;

    if (coll_dbi(v, c, &dbi) < 0 || store_mdb_err(mdb_stat(v->txn, dbi, &ms)))
        return 0;
    return ms.ms_entries;
}

int store_view_queue(struct store_view *v, store_each_fn fn, void *ctx)
{
    MDB_cursor *cur;
    MDB_val k, val;
    int rc;

    if (v == NULL || fn == NULL)
        return -EINVAL;
    rc = store_mdb_err(mdb_cursor_open(v->txn, v->st->dbi[DB_QUEUE], &cur));
    if (rc < 0)
        return rc;
    for (rc = store_mdb_err(mdb_cursor_get(cur, &k, &val, MDB_FIRST)); rc == 0;
         rc = store_mdb_err(mdb_cursor_get(cur, &k, &val, MDB_NEXT))) {
        MDB_val doc;
        uint64_t id;
        int r;

        if (k.mv_size != QKEY_LEN) {
            rc = STORE_ECORRUPT;
            break;
        }
        id = be64_get((const unsigned char *)k.mv_data + 5);
        r = get_u64key(v->txn, v->st->dbi[DB_TASKS], id, &doc);
        if (r < 0) {
            rc = r == -ENOENT ? STORE_ECORRUPT : r;
            break;
        }
        r = fn(ctx, id, doc.mv_data, doc.mv_size);
        if (r != 0) {
            rc = r;
            break;
        }
    }
    mdb_cursor_close(cur);
    return rc == -ENOENT ? 0 : rc;
}

int store_view_sets(struct store_view *v, store_each_fn fn, void *ctx)
{
    unsigned char kb[SET_KEY_MAX + 2];
    MDB_cursor *cur;
    MDB_val k, val;
    uint64_t index = 0;
    int rc;

    if (v == NULL || fn == NULL)
        return -EINVAL;
    rc = store_mdb_err(mdb_cursor_open(v->txn, v->st->dbi[DB_SETS], &cur));
    if (rc < 0)
        return rc;
    rc = store_mdb_err(mdb_cursor_get(cur, &k, &val, MDB_FIRST));
    while (rc == 0) {
        const char *name = k.mv_data;
        size_t n = strnlen(name, k.mv_size);

        if (n + 9 != k.mv_size || n > SET_KEY_MAX) {
            rc = STORE_ECORRUPT;
            break;
        }
        memcpy(kb, name, n);
        if ((rc = fn(ctx, index++, name, n)) != 0)
            break;
        /* Skip the rest of this set: "NAME\x01" sorts after every
         * "NAME\0..." key and before the next name. */
        kb[n] = '\x01';
        k.mv_data = kb;
        k.mv_size = n + 1;
        rc = store_mdb_err(mdb_cursor_get(cur, &k, &val, MDB_SET_RANGE));
    }
    mdb_cursor_close(cur);
    return rc == -ENOENT ? 0 : rc;
}

int store_view_set_tasks(struct store_view *v, const char *set,
                         store_each_fn fn, void *ctx)
{
    unsigned char kb[SET_KEY_MAX + 9];
    size_t n;
    MDB_cursor *cur;
    MDB_val k, val;
    int rc;

    if (v == NULL || set == NULL || fn == NULL)
        return -EINVAL;
    n = strlen(set);
    if (n == 0 || n > SET_KEY_MAX)
        return -ENOENT;
    rc = store_mdb_err(mdb_cursor_open(v->txn, v->st->dbi[DB_SETS], &cur));
    if (rc < 0)
        return rc;
    k.mv_size = set_key(set, 0, kb);
    k.mv_data = kb;
    int found = 0;
    for (rc = store_mdb_err(mdb_cursor_get(cur, &k, &val, MDB_SET_RANGE));
         rc == 0; rc = store_mdb_err(mdb_cursor_get(cur, &k, &val, MDB_NEXT))) {
        MDB_val doc;
        uint64_t id;
        int r;

        if (k.mv_size != n + 9 || memcmp(k.mv_data, kb, n + 1) != 0)
            break;
        found = 1;
        id = be64_get((const unsigned char *)k.mv_data + n + 1);
        r = get_u64key(v->txn, v->st->dbi[DB_TASKS], id, &doc);
        if (r < 0) {
            rc = r == -ENOENT ? STORE_ECORRUPT : r;
            break;
        }
        if ((r = fn(ctx, id, doc.mv_data, doc.mv_size)) != 0) {
            rc = r;
            break;
        }
    }
    mdb_cursor_close(cur);
    if (rc == -ENOENT)
        rc = 0;
    return rc == 0 && !found ? -ENOENT : rc;
}

size_t store_view_queue_depth(struct store_view *v)
{
    MDB_stat ms;

    if (v == NULL || store_mdb_err(mdb_stat(v->txn, v->st->dbi[DB_QUEUE], &ms)))
        return 0;
    return ms.ms_entries;
}

int store_view_skills(struct store_view *v, store_each_fn fn, void *ctx)
{
    MDB_cursor *cur;
    MDB_val k, val;
    uint64_t idx = 0;
    int rc;

    if (v == NULL || fn == NULL)
        return -EINVAL;
    rc = store_mdb_err(mdb_cursor_open(v->txn, v->st->dbi[DB_SKILLS], &cur));
    if (rc < 0)
        return rc;
    for (rc = store_mdb_err(mdb_cursor_get(cur, &k, &val, MDB_FIRST)); rc == 0;
         rc = store_mdb_err(mdb_cursor_get(cur, &k, &val, MDB_NEXT))) {
        /* name NUL json, and buf's own NUL after it, not counted. */
        struct buf rec = { 0 };
        int r;

        buf_add(&rec, k.mv_data, k.mv_size);
        buf_add(&rec, "", 1);
        buf_add(&rec, val.mv_data, val.mv_size);
        if (rec.failed) {
            rc = -ENOMEM;
            break;
        }
        r = fn(ctx, idx++, rec.p, rec.len);
        buf_free(&rec);
        if (r != 0) {
            rc = r;
            break;
        }
    }
    mdb_cursor_close(cur);
    return rc == -ENOENT ? 0 : rc;
}

/* Splits "head NUL tail"; without a NUL the head is empty. */
static void split_nul(const char *val, size_t len, const char **head,
                      const char **tail, size_t *tail_len)
{
    const char *nul = val ? memchr(val, '\0', len) : NULL;

    if (nul == NULL) {
        *head = "";
        *tail = val ? val : "";
        *tail_len = val ? len : 0;
        return;
    }
    *head = val;
    *tail = nul + 1;
    *tail_len = len - (size_t)(nul + 1 - val);
}

void store_named_split(const char *val, size_t len, const char **name,
                       const char **json, size_t *json_len)
{
    split_nul(val, len, name, json, json_len);
}

void store_code_split(const char *val, size_t len, const char **ext,
                      const char **text, size_t *text_len)
{
    split_nul(val, len, ext, text, text_len);
}

int store_view_doc_names(struct store_view *v, const char *prefix,
                         store_each_fn fn, void *ctx)
{
    size_t plen = prefix ? strlen(prefix) : 0;
    MDB_cursor *cur;
    MDB_val k = { plen, (void *)prefix }, val;
    int rc;

    if (v == NULL || fn == NULL || prefix == NULL)
        return -EINVAL;
    rc = store_mdb_err(mdb_cursor_open(v->txn, v->st->dbi[DB_DOCS], &cur));
    if (rc < 0)
        return rc;
    rc = store_mdb_err(mdb_cursor_get(cur, &k, &val,
                                      plen ? MDB_SET_RANGE : MDB_FIRST));
    while (rc == 0 && k.mv_size >= plen &&
           memcmp(k.mv_data, prefix, plen) == 0) {
        int stop = fn(ctx, 0, k.mv_data, k.mv_size);
        if (stop) {
            mdb_cursor_close(cur);
            return stop;
        }
        rc = store_mdb_err(mdb_cursor_get(cur, &k, &val, MDB_NEXT));
    }
    mdb_cursor_close(cur);
    return rc == -ENOENT ? 0 : rc;     /* -ENOENT: past the last name */
}

int store_view_doc(struct store_view *v, const char *name, store_each_fn fn,
                   void *ctx)
{
    MDB_val k, val;
    int rc;

    if (v == NULL || fn == NULL || !name_ok(name))
        return -EINVAL;
    k.mv_size = strlen(name);
    k.mv_data = (void *)name;
    rc = store_mdb_err(mdb_get(v->txn, v->st->dbi[DB_DOCS], &k, &val));
    if (rc < 0)
        return rc;
    return fn(ctx, 0, val.mv_data, val.mv_size);
}

int store_view_text_stats(struct store_view *v, struct store_text_stats *out)
{
    int rc;

    if (v == NULL || out == NULL)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    if ((rc = meta_counter(v->st, v->txn, "text_docs", &out->docs)) < 0 ||
        (rc = meta_counter(v->st, v->txn, "text_length", &out->length)) < 0)
        memset(out, 0, sizeof *out);
    return rc;
}

int store_view_text_postings(struct store_view *v, const char *term,
                             struct store_posting *out, size_t max,
                             size_t *n, uint64_t *df)
{
    MDB_cursor *cur;
    MDB_val k, val;
    size_t count = 0;
    size_t got = 0;
    int rc;

    if (n)
        *n = 0;
    if (df)
        *df = 0;
    if (v == NULL || term == NULL || *term == '\0' || n == NULL ||
        df == NULL || (max > 0 && out == NULL))
        return -EINVAL;
    if (strlen(term) > STORE_TERM_MAX)
        return 0;                   /* never stored */
    rc = store_mdb_err(mdb_cursor_open(v->txn, v->st->dbi[DB_TEXT], &cur));
    if (rc < 0)
        return rc;
    k.mv_size = strlen(term);
    k.mv_data = (void *)term;
    rc = store_mdb_err(mdb_cursor_get(cur, &k, &val, MDB_SET));
    if (rc == 0)
        rc = store_mdb_err(mdb_cursor_count(cur, &count));
    /* Whole pages of postings at a time, from the first (newest). */
    for (MDB_cursor_op op = MDB_GET_MULTIPLE; rc == 0 && got < max;
         op = MDB_NEXT_MULTIPLE) {
        rc = store_mdb_err(mdb_cursor_get(cur, &k, &val, op));
        if (rc < 0)
            break;
        if (val.mv_size % POSTING_LEN != 0) {
            rc = STORE_ECORRUPT;
            break;
        }
        for (size_t i = 0; i < val.mv_size / POSTING_LEN && got < max; i++)
            posting_read((const unsigned char *)val.mv_data + i * POSTING_LEN,
                         &out[got++]);
    }
    mdb_cursor_close(cur);
    if (rc == -ENOENT)
        rc = 0;
    if (rc < 0)
        return rc;
    *n = got;
    *df = count;
    return 0;
}

uint64_t store_view_version(const struct store_view *v)
{
    return (uint64_t)mdb_txn_id(v->txn);
}


/* ---- Task state, atomic read-modify-write -------------------------------- *
 *
 * Appended for issue 14 (structured results, atomic document updates): the
 * questions the agents used to answer by searching task JSON for text, and
 * the writes they used to split over several commits. Everything here runs
 * through store_write(), so map growth retries the whole body: the
 * callbacks below may run more than once and say so in store.h. */

const char *store_status_name(enum store_status s)
{
    static const char *const names[] = {
        [STORE_STATUS_QUEUED] = "queued",
        [STORE_STATUS_RUNNING] = "running",
        [STORE_STATUS_PASSED] = "passed",
        [STORE_STATUS_FAILED] = "failed",
        [STORE_STATUS_ERROR] = "error",
        [STORE_STATUS_CANCELLED] = "cancelled",
    };

    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

static int status_parse(const char *s, enum store_status *out)
{
    for (unsigned i = 0; s && i <= STORE_STATUS_CANCELLED; i++)
        if (strcmp(s, store_status_name((enum store_status)i)) == 0) {
            *out = (enum store_status)i;
            return 0;
        }
    return -1;
}

int store_view_task_state(struct store_view *v, uint64_t id,
                          enum store_status *status,
                          enum store_source *source)
{
    enum store_status s;
    enum store_source src;
    cJSON *doc;
    int rc;

    if (v == NULL)
        return -EINVAL;
    if ((rc = task_load(v->st, v->txn, id, &doc)) < 0)
        return rc;
    if (status_parse(json_str(doc, "status"), &s) < 0 ||
        source_parse(json_str(doc, "source"), &src) < 0)
        rc = STORE_ECORRUPT;
    cJSON_Delete(doc);
    if (rc == 0 && status)
        *status = s;
    if (rc == 0 && source)
        *source = src;
    return rc;
}

int store_view_queue_first(struct store_view *v, uint64_t *id,
                           enum store_source *source)
{
    MDB_cursor *cur;
    MDB_val k, val;
    uint64_t first;
    int rc;

    if (v == NULL)
        return -EINVAL;
    rc = store_mdb_err(mdb_cursor_open(v->txn, v->st->dbi[DB_QUEUE], &cur));
    if (rc < 0)
        return rc;
    rc = store_mdb_err(mdb_cursor_get(cur, &k, &val, MDB_FIRST));
    mdb_cursor_close(cur);
    if (rc < 0)
        return rc;
    if (k.mv_size != QKEY_LEN)
        return STORE_ECORRUPT;
    first = be64_get((const unsigned char *)k.mv_data + 5);
    if (source) {
        rc = store_view_task_state(v, first, NULL, source);
        if (rc < 0)
            return rc == -ENOENT ? STORE_ECORRUPT : rc;
    }
    if (id)
        *id = first;
    return 0;
}
