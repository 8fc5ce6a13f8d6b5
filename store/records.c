/* records.c -- reading and writing single records inside a transaction:
 * u64 keys, named keys, sequences (append, retention) and the meta
 * records (schema, next id, the text index's totals).
 *
 * The caller owns the transaction; nothing here begins or ends one.
 */
#include "store_internal.h"

#include <errno.h>
#include <string.h>

int get_u64key(MDB_txn *txn, MDB_dbi dbi, uint64_t key, MDB_val *val)
{
    unsigned char kb[8];
    MDB_val k = { sizeof kb, kb };

    be64_put(kb, key);
    return store_mdb_err(mdb_get(txn, dbi, &k, val));
}

int put_u64key(MDB_txn *txn, MDB_dbi dbi, uint64_t key,
               const void *val, size_t len, unsigned flags)
{
    unsigned char kb[8];
    MDB_val k = { sizeof kb, kb };
    MDB_val v = { len, (void *)val };

    be64_put(kb, key);
    return store_mdb_err(mdb_put(txn, dbi, &k, &v, flags));
}

int del_u64key(MDB_txn *txn, MDB_dbi dbi, uint64_t key)
{
    unsigned char kb[8];
    MDB_val k = { sizeof kb, kb };

    be64_put(kb, key);
    return store_mdb_err(mdb_del(txn, dbi, &k, NULL));
}

int put_named(MDB_txn *txn, MDB_dbi dbi, const char *name,
              const char *val, size_t len)
{
    MDB_val k = { strlen(name), (void *)name };
    MDB_val v = { len, (void *)val };

    return store_mdb_err(mdb_put(txn, dbi, &k, &v, 0));
}

/* The last u64 key of a sequence database, 0 when empty. */
static int seq_last(MDB_txn *txn, MDB_dbi dbi, uint64_t *last)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = store_mdb_err(mdb_cursor_open(txn, dbi, &cur));

    if (rc < 0)
        return rc;
    rc = store_mdb_err(mdb_cursor_get(cur, &k, &v, MDB_LAST));
    mdb_cursor_close(cur);
    if (rc == -ENOENT) {
        *last = 0;
        return 0;
    }
    if (rc < 0)
        return rc;
    if (k.mv_size != 8)
        return STORE_ECORRUPT;
    *last = be64_get(k.mv_data);
    return 0;
}

/* Appends a record under key last + 1 and returns that key in *key. */
int seq_append(MDB_txn *txn, MDB_dbi dbi, const void *val, size_t len,
               uint64_t *key)
{
    uint64_t last;
    int rc = seq_last(txn, dbi, &last);

    if (rc < 0)
        return rc;
    rc = put_u64key(txn, dbi, last + 1, val, len, MDB_APPEND);
    if (rc == 0 && key)
        *key = last + 1;
    return rc;
}

/* Retention: deletes the oldest records of a sequence database until at
 * most 'keep' remain, but no more than STORE_TRIM_STEP in one call, so that
 * a store that grew before a smaller limit was set shrinks over the next
 * appends instead of in one long transaction. Keys never move: a reader
 * following a log by key (tail -f) just skips what was trimmed. */
#define STORE_TRIM_STEP 64

int seq_trim(MDB_txn *txn, MDB_dbi dbi, size_t keep)
{
    MDB_stat ms;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = store_mdb_err(mdb_stat(txn, dbi, &ms));

    if (rc < 0 || keep == 0 || ms.ms_entries <= keep)
        return rc;
    size_t excess = ms.ms_entries - keep;
    if (excess > STORE_TRIM_STEP)
        excess = STORE_TRIM_STEP;
    rc = store_mdb_err(mdb_cursor_open(txn, dbi, &cur));
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < excess && rc == 0; i++) {
        rc = store_mdb_err(mdb_cursor_get(cur, &k, &v, MDB_FIRST));
        if (rc == 0)
            rc = store_mdb_err(mdb_cursor_del(cur, 0));
    }
    mdb_cursor_close(cur);
    return rc == -ENOENT ? 0 : rc;
}

/* ---- Meta records -------------------------------------------------------- */

int meta_get(struct store *st, MDB_txn *txn, const char *name,
             MDB_val *v)
{
    MDB_val k = { strlen(name), (void *)name };

    return store_mdb_err(mdb_get(txn, st->dbi[DB_META], &k, v));
}

int meta_put(struct store *st, MDB_txn *txn, const char *name,
             const void *val, size_t len)
{
    return put_named(txn, st->dbi[DB_META], name, val, len);
}

int meta_get_u64(struct store *st, MDB_txn *txn, const char *name,
                 uint64_t *out)
{
    MDB_val v;
    int rc = meta_get(st, txn, name, &v);

    if (rc == -ENOENT)
        return STORE_ECORRUPT;
    if (rc < 0)
        return rc;
    if (v.mv_size != 8)
        return STORE_ECORRUPT;
    *out = be64_get(v.mv_data);
    return 0;
}

int meta_put_u64(struct store *st, MDB_txn *txn, const char *name,
                 uint64_t val)
{
    unsigned char b[8];

    be64_put(b, val);
    return meta_put(st, txn, name, b, sizeof b);
}

/* A meta counter that older stores lack: absent reads as 0. */
int meta_counter(struct store *st, MDB_txn *txn, const char *name,
                 uint64_t *out)
{
    MDB_val v;
    int rc = meta_get(st, txn, name, &v);

    *out = 0;
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    if (v.mv_size != 8)
        return STORE_ECORRUPT;
    *out = be64_get(v.mv_data);
    return 0;
}
