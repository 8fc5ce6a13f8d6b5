/* text.c -- the text index's write side: checking a document's terms and
 * adding its postings and the totals, within a task's finish. The reads
 * are views (views.c); the posting format is codec.c's.
 */
#include "store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int by_term(const void *a, const void *b)
{
    return strcmp(((const struct store_term *)a)->term,
                  ((const struct store_term *)b)->term);
}

/* Checks a document of the index before any write. */
int text_check(const struct store_text *t)
{
    struct store_term *sorted;
    int rc = 0;

    if (t->terms == NULL || t->nterms == 0 ||
        t->nterms > STORE_TEXT_TERMS_MAX)
        return -EINVAL;
    for (size_t i = 0; i < t->nterms; i++) {
        const char *w = t->terms[i].term;
        size_t n = w ? strnlen(w, STORE_TERM_MAX + 1) : 0;

        if (n == 0 || n > STORE_TERM_MAX || t->terms[i].tf == 0)
            return -EINVAL;
    }
    /* A term twice would be two postings of one document. */
    sorted = malloc(t->nterms * sizeof *sorted);
    if (sorted == NULL)
        return -ENOMEM;
    memcpy(sorted, t->terms, t->nterms * sizeof *sorted);
    qsort(sorted, t->nterms, sizeof *sorted, by_term);
    for (size_t i = 1; i < t->nterms && rc == 0; i++)
        if (strcmp(sorted[i - 1].term, sorted[i].term) == 0)
            rc = -EINVAL;
    free(sorted);
    return rc;
}

/* Adds document 'id' to the index and to the totals, within txn. */
int text_put(struct store *st, MDB_txn *txn, uint64_t id,
             const struct store_text *t)
{
    uint64_t docs, length;
    int rc;

    for (size_t i = 0; i < t->nterms; i++) {
        unsigned char p[POSTING_LEN];
        MDB_val k = { strlen(t->terms[i].term), (void *)t->terms[i].term };
        MDB_val v = { sizeof p, p };

        posting_make(p, id, t->terms[i].tf, t->length);
        if ((rc = store_mdb_err(mdb_put(txn, st->dbi[DB_TEXT], &k, &v, 0))) < 0)
            return rc;
    }
    if ((rc = meta_counter(st, txn, "text_docs", &docs)) < 0 ||
        (rc = meta_counter(st, txn, "text_length", &length)) < 0 ||
        (rc = meta_put_u64(st, txn, "text_docs", docs + 1)) < 0)
        return rc;
    return meta_put_u64(st, txn, "text_length", length + t->length);
}
