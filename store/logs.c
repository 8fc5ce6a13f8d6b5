/* logs.c -- the append-only records: system.log and shell.log lines (time
 * stamped, in time order, retention applied) and the Trainer's analyses.
 */
#include "store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Builds "TIMESTAMP line" with line breaks flattened to spaces. */
static char *log_line_make(const char *line, time_t at, size_t *len)
{
    size_t n = strlen(line);
    char ts[32];
    char *buf;
    size_t tl;

    store_time_format(at ? at : time(NULL), ts);
    tl = strlen(ts);
    buf = malloc(tl + 1 + n + 1);
    if (buf == NULL)
        return NULL;
    memcpy(buf, ts, tl);
    buf[tl] = ' ';
    for (size_t i = 0; i < n; i++)
        buf[tl + 1 + i] = (line[i] == '\n' || line[i] == '\r') ? ' ' : line[i];
    buf[tl + 1 + n] = '\0';
    *len = tl + 1 + n;
    return buf;
}

int log_put(struct store *st, MDB_txn *txn, enum store_db db,
            const char *line, time_t at)
{
    size_t len;
    char *buf;
    int rc;

    /* A line written late (a builder batches its lines for up to a
     * second) takes the stamp of the newest line already there, so that
     * the log reads in time order; it is off by that delay at most. */
    if (!at)
        at = time(NULL);
    if (at < st->log_last[db])
        at = st->log_last[db];
    st->log_last[db] = at;
    buf = log_line_make(line, at, &len);

    if (buf == NULL)
        return -ENOMEM;
    rc = seq_append(txn, st->dbi[db], buf, len, NULL);
    free(buf);
    if (rc == 0)
        rc = seq_trim(txn, st->dbi[db], st->log_keep);
    return rc;
}


struct append_arg {
    enum store_db db;
    const char *val;               /* log: the raw line; else compact JSON */
    uint64_t key;                  /* out */
};

static int log_body(struct store *st, MDB_txn *txn, void *varg)
{
    struct append_arg *a = varg;

    return log_put(st, txn, a->db, a->val, 0);
}

static enum store_db log_db(enum store_log log)
{
    return log == STORE_LOG_SHELL ? DB_SHELLLOG : DB_SYSLOG;
}

/* Appends entries in the transaction, in order. */
int put_entries(struct store *st, MDB_txn *txn,
                const struct store_log_entry *e, size_t n)
{
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++)
        rc = log_put(st, txn, log_db(e[i].log), e[i].line, e[i].at);
    return rc;
}

struct entries_arg {
    const struct store_log_entry *e;
    size_t n;
};

static int entries_body(struct store *st, MDB_txn *txn, void *varg)
{
    struct entries_arg *a = varg;

    return put_entries(st, txn, a->e, a->n);
}

int store_log_append_many(struct store *st, const struct store_log_entry *e,
                          size_t n)
{
    struct entries_arg a = { e, n };

    if (st == NULL || (n && e == NULL))
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!e[i].line || (e[i].log != STORE_LOG_SYSTEM &&
                           e[i].log != STORE_LOG_SHELL))
            return -EINVAL;
    return n ? store_write(st, entries_body, &a) : 0;
}

int store_log_append(struct store *st, enum store_log log, const char *line)
{
    struct append_arg a = { 0 };

    if (st == NULL || line == NULL)
        return -EINVAL;
    if (log == STORE_LOG_SYSTEM)
        a.db = DB_SYSLOG;
    else if (log == STORE_LOG_SHELL)
        a.db = DB_SHELLLOG;
    else
        return -EINVAL;
    a.val = line;
    return store_write(st, log_body, &a);
}

static int analysis_body(struct store *st, MDB_txn *txn, void *varg)
{
    struct append_arg *a = varg;

    int rc = seq_append(txn, st->dbi[DB_ANALYSES], a->val, strlen(a->val),
                        &a->key);

    return rc ? rc : seq_trim(txn, st->dbi[DB_ANALYSES], st->analyses_keep);
}

int store_analysis_append(struct store *st, const char *json, uint64_t *n)
{
    struct append_arg a = { .db = DB_ANALYSES };
    char *compact;
    int rc;

    if (st == NULL)
        return -EINVAL;
    rc = json_compact(json, 0, &compact);
    if (rc < 0)
        return rc;
    a.val = compact;
    rc = store_write(st, analysis_body, &a);
    free(compact);
    if (rc == 0 && n)
        *n = a.key;
    return rc;
}
