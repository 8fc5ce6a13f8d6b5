/* docs.c -- named JSON documents (profile, difficulty, trainer state, ...;
 * the list is in docs/store.md): put one or several in one transaction,
 * read-modify-write, get, delete; and the pause switch, which is the
 * "control" document mirrored in memory.
 */
#include "store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct named_arg {
    const char *name;
    const char *json;
};

static int doc_put_body(struct store *st, MDB_txn *txn, void *varg)
{
    struct named_arg *a = varg;

    return put_named(txn, st->dbi[DB_DOCS], a->name, a->json, strlen(a->json));
}

int store_doc_put(struct store *st, const char *name, const char *json)
{
    struct named_arg a = { name, NULL };
    char *compact;
    int rc;

    if (st == NULL || !name_ok(name))
        return -EINVAL;
    rc = json_compact(json, 0, &compact);
    if (rc < 0)
        return rc;
    a.json = compact;
    rc = store_write(st, doc_put_body, &a);
    free(compact);
    return rc;
}

static int doc_del_body(struct store *st, MDB_txn *txn, void *varg)
{
    const char *name = varg;
    MDB_val k = { strlen(name), (void *)name };

    return store_mdb_err(mdb_del(txn, st->dbi[DB_DOCS], &k, NULL));
}

int store_doc_del(struct store *st, const char *name)
{
    if (st == NULL || !name_ok(name))
        return -EINVAL;
    return store_write(st, doc_del_body, (void *)name);
}

int store_doc_get(struct store *st, const char *name, char **json, size_t *len)
{
    MDB_txn *txn;
    MDB_val k, v;
    int rc;

    if (json)
        *json = NULL;
    if (st == NULL || json == NULL || !name_ok(name))
        return -EINVAL;
    rc = store_txn_begin(st, MDB_RDONLY, &txn, NULL);
    if (rc < 0)
        return rc;
    k.mv_size = strlen(name);
    k.mv_data = (void *)name;
    rc = store_mdb_err(mdb_get(txn, st->dbi[DB_DOCS], &k, &v));
    if (rc == 0) {
        *json = malloc(v.mv_size + 1);
        if (*json == NULL) {
            rc = -ENOMEM;
        } else {
            memcpy(*json, v.mv_data, v.mv_size);
            (*json)[v.mv_size] = '\0';
            if (len)
                *len = v.mv_size;
        }
    }
    store_txn_abort(st, txn);
    return rc;
}

struct docs_arg {
    const struct store_named *docs;
    char **compact;                /* n compact copies                      */
    size_t n;
};

static int docs_put_body(struct store *st, MDB_txn *txn, void *varg)
{
    struct docs_arg *a = varg;
    int rc = 0;

    for (size_t i = 0; i < a->n && rc == 0; i++)
        rc = put_named(txn, st->dbi[DB_DOCS], a->docs[i].name, a->compact[i],
                       strlen(a->compact[i]));
    return rc;
}

int store_docs_put(struct store *st, const struct store_named *docs, size_t n)
{
    struct docs_arg a = { docs, NULL, n };
    int rc = 0;

    if (st == NULL || (n > 0 && docs == NULL))
        return -EINVAL;
    if (n == 0)
        return 0;
    if (!(a.compact = calloc(n, sizeof *a.compact)))
        return -ENOMEM;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = !name_ok(docs[i].name) ? -EINVAL
                                    : json_compact(docs[i].json, 0, &a.compact[i]);
    if (rc == 0)
        rc = store_write(st, docs_put_body, &a);
    for (size_t i = 0; i < n; i++)
        free(a.compact[i]);
    free(a.compact);
    return rc;
}

struct update_arg {
    const char *name;
    store_doc_update_fn fn;
    void *ctx;
};

static int doc_update_body(struct store *st, MDB_txn *txn, void *varg)
{
    struct update_arg *a = varg;
    MDB_val k = { strlen(a->name), (void *)a->name }, v;
    char *old = NULL, *out = NULL, *compact = NULL;
    int rc = store_mdb_err(mdb_get(txn, st->dbi[DB_DOCS], &k, &v));

    if (rc < 0 && rc != -ENOENT)
        return rc;                  /* never mistaken for "no document" */
    if (rc == 0) {
        /* A NUL-terminated copy: fn may parse it as a C string, and LMDB's
         * memory must not be touched after a put in this transaction. */
        if (!(old = malloc(v.mv_size + 1)))
            return -ENOMEM;
        memcpy(old, v.mv_data, v.mv_size);
        old[v.mv_size] = '\0';
    }
    rc = a->fn(a->ctx, old, old ? v.mv_size : 0, &out);
    free(old);
    if (rc < 0 || out == NULL) {
        free(out);
        return rc;
    }
    rc = json_compact(out, 0, &compact);
    free(out);
    if (rc == 0)
        rc = put_named(txn, st->dbi[DB_DOCS], a->name, compact, strlen(compact));
    free(compact);
    return rc;
}

int store_doc_update(struct store *st, const char *name,
                     store_doc_update_fn fn, void *ctx)
{
    struct update_arg a = { name, fn, ctx };

    if (st == NULL || fn == NULL || !name_ok(name))
        return -EINVAL;
    return store_write(st, doc_update_body, &a);
}

/* ---- Control -------------------------------------------------------------- */

int store_set_paused(struct store *st, int paused)
{
    int rc;

    if (st == NULL)
        return -EINVAL;
    rc = store_doc_put(st, "control", paused ? "{\"state\":\"paused\"}"
                                             : "{\"state\":\"running\"}");
    if (rc == 0)
        atomic_store(&st->paused, paused ? 1 : 0);
    return rc;
}

int store_paused(struct store *st)
{
    return st ? atomic_load(&st->paused) : 0;
}

struct docs_update_arg {
    const char *const *names;
    size_t n;
    store_docs_update_fn fn;
    void *ctx;
};

static int docs_update_body(struct store *st, MDB_txn *txn, void *varg)
{
    struct docs_update_arg *a = varg;
    char **old = calloc(a->n, sizeof *old), **out = calloc(a->n, sizeof *out);
    size_t *len = calloc(a->n, sizeof *len);
    int rc = old && out && len ? 0 : -ENOMEM;

    /* Copies, NUL-terminated: LMDB's memory must not be read after a put
     * in this transaction, and fn may parse them as C strings. */
    for (size_t i = 0; i < a->n && rc == 0; i++) {
        MDB_val k = { strlen(a->names[i]), (void *)a->names[i] }, v;

        rc = store_mdb_err(mdb_get(txn, st->dbi[DB_DOCS], &k, &v));
        if (rc == -ENOENT) {
            rc = 0;                 /* a missing document: NULL, 0 */
        } else if (rc == 0) {
            if (!(old[i] = malloc(v.mv_size + 1))) {
                rc = -ENOMEM;
                break;
            }
            memcpy(old[i], v.mv_data, v.mv_size);
            old[i][v.mv_size] = '\0';
            len[i] = v.mv_size;
        }
        /* any other code: a read failure, never "no document" */
    }
    if (rc == 0)
        rc = a->fn(a->ctx, (const char *const *)old, len, out, a->n);
    for (size_t i = 0; i < a->n && rc == 0; i++) {
        char *compact;

        if (out[i] == NULL)
            continue;
        if ((rc = json_compact(out[i], 0, &compact)) == 0) {
            rc = put_named(txn, st->dbi[DB_DOCS], a->names[i], compact,
                           strlen(compact));
            free(compact);
        }
    }
    for (size_t i = 0; i < a->n; i++) {
        if (old)
            free(old[i]);
        if (out)
            free(out[i]);
    }
    free(old);
    free(out);
    free(len);
    return rc;
}

int store_docs_update(struct store *st, const char *const *names, size_t n,
                      store_docs_update_fn fn, void *ctx)
{
    struct docs_update_arg a = { names, n, fn, ctx };

    if (st == NULL || fn == NULL || (n > 0 && names == NULL))
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!name_ok(names[i]))
            return -EINVAL;
    if (n == 0)
        return 0;
    return store_write(st, docs_update_body, &a);
}
