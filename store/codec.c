/* codec.c -- how the store writes what it keeps: the keys of the queue,
 * the sets index and the text postings, task ids and source names, RFC 3339
 * stamps, the JSON helpers every write path uses, and the store's error
 * codes (the one place where LMDB's become ours).
 *
 * These are pure functions of their arguments: no transaction, no struct
 * store. Keeping them in one file keeps each format written once.
 */
#include "store_internal.h"

#include "clock.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Keys ---------------------------------------------------------------- */

/* The queue class of a source: user tasks run before all others. */
int source_class(enum store_source src)
{
    return src == STORE_SOURCE_USER ? 0 : 1;
}

void qkey_make(unsigned char k[QKEY_LEN], int cls, int priority,
               uint64_t id)
{
    /* For every int, 0x7fffffff - priority lies in 0..0xffffffff. */
    uint32_t rank = (uint32_t)(INT64_C(0x7fffffff) - (int64_t)priority);

    k[0] = (unsigned char)cls;
    be32_put(k + 1, rank);
    be64_put(k + 5, id);
}

size_t set_key(const char *set, uint64_t id, unsigned char *k)
{
    size_t n = strlen(set);

    memcpy(k, set, n);
    k[n] = '\0';
    be64_put(k + n + 1, id);
    return n + 9;
}

void posting_make(unsigned char p[POSTING_LEN], uint64_t id,
                  uint32_t tf, uint32_t length)
{
    be64_put(p, UINT64_MAX - id);
    be32_put(p + 8, tf);
    be32_put(p + 12, length);
}

void posting_read(const unsigned char *p, struct store_posting *out)
{
    out->doc = UINT64_MAX - be64_get(p);
    out->tf = be32_get(p + 8);
    out->length = be32_get(p + 12);
}

/* ---- Errors -------------------------------------------------------------- */

/* The one place where LMDB codes become ours. */
int store_mdb_err(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return 0;
    case MDB_NOTFOUND:
        return -ENOENT;
    case MDB_MAP_FULL:
        return STORE_EMAPFULL;
    case MDB_MAP_RESIZED:
        return STORE_ERESIZED;
    case MDB_KEYEXIST:
        return -EEXIST;
    case ENOMEM:
        return -ENOMEM;
    case ENOSPC:
    case EDQUOT:
    case EROFS:
        return -rc;
    default:
        fprintf(stderr, "btfs: store: LMDB error: %s\n", mdb_strerror(rc));
        return -EIO;
    }
}

const char *store_strerror(int err)
{
    const char *s;

    switch (err) {
    case 0:
        return "success";
    case STORE_ESCHEMA:
        return "store written by a newer version of btfs";
    case STORE_ECORRUPT:
        return "store is damaged (a record is missing or does not parse)";
    case STORE_ELOCKED:
        return "data directory is in use by another btfs";
    }
    if (err < 0 && err > -4096) {
        s = strerrordesc_np(-err);
        if (s)
            return s;
    }
    return "unknown error";
}

/* ---- JSON ---------------------------------------------------------------- */

/* Parses 'in' as JSON (of any kind, or an object when want_object) and
 * returns the tree, or NULL: then *err is -EINVAL or -ENOMEM. */
cJSON *json_parse(const char *in, int want_object, int *err)
{
    cJSON *j;

    if (in == NULL) {
        *err = -EINVAL;
        return NULL;
    }
    j = cJSON_ParseWithOpts(in, NULL, 1);
    if (j == NULL || (want_object && !cJSON_IsObject(j))) {
        cJSON_Delete(j);
        *err = -EINVAL;
        return NULL;
    }
    return j;
}

/* Validates 'in' and returns its compact form in *out (malloc'd). */
int json_compact(const char *in, int want_object, char **out)
{
    int err = 0;
    cJSON *j = json_parse(in, want_object, &err);

    *out = NULL;
    if (j == NULL)
        return err;
    *out = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return *out ? 0 : -ENOMEM;
}

/* A name usable as an LMDB key (skills, documents). */
int name_ok(const char *name)
{
    size_t n;

    if (name == NULL)
        return 0;
    n = strlen(name);
    return n > 0 && n <= 511;
}

/* Sets doc[key] to item (consumed), keeping the field's place if it exists. */
int json_set(cJSON *doc, const char *key, cJSON *item)
{
    cJSON *old;

    if (item == NULL)
        return -ENOMEM;
    /* ReplaceItemViaPointer would leave the new item nameless; the
     * ...InObject form names it. */
    old = cJSON_GetObjectItemCaseSensitive(doc, key);
    if (old ? cJSON_ReplaceItemInObjectCaseSensitive(doc, key, item)
            : cJSON_AddItemToObject(doc, key, item))
        return 0;
    cJSON_Delete(item);
    return -ENOMEM;
}

const char *json_str(const cJSON *doc, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(doc, key);

    return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* ---- Ids, sources, time -------------------------------------------------- */

char *store_time_format(time_t t, char *buf)
{
    /* A time with no such form (outside the years 0..9999) reads as the
     * epoch rather than as nothing: every stamp the store writes parses. */
    if (clock_rfc3339(t, buf) < 0)
        strcpy(buf, "1970-01-01T00:00:00Z");
    return buf;
}

char *store_id_format(uint64_t id, char *buf)
{
    snprintf(buf, STORE_ID_MAX, "task_%06" PRIu64, id);
    return buf;
}

int store_id_parse(const char *s, size_t len, uint64_t *id)
{
    uint64_t v = 0;
    size_t ndig;

    if (s == NULL || len < 5 + 6 || memcmp(s, "task_", 5) != 0)
        return -EINVAL;
    ndig = len - 5;
    /* Seven digits or more only when six would not do: one name per id. */
    if (ndig > 6 && s[5] == '0')
        return -EINVAL;
    for (size_t i = 5; i < len; i++) {
        unsigned d;

        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -EINVAL;
        v = v * 10 + d;
    }
    if (id)
        *id = v;
    return 0;
}

const char *store_source_name(enum store_source src)
{
    switch (src) {
    case STORE_SOURCE_USER:
        return "user";
    case STORE_SOURCE_TRAINER:
        return "trainer";
    case STORE_SOURCE_SEED:
        return "seed";
    }
    return "user";
}

int source_parse(const char *s, enum store_source *src)
{
    if (s == NULL)
        return -1;
    if (strcmp(s, "user") == 0)
        *src = STORE_SOURCE_USER;
    else if (strcmp(s, "trainer") == 0)
        *src = STORE_SOURCE_TRAINER;
    else if (strcmp(s, "seed") == 0)
        *src = STORE_SOURCE_SEED;
    else
        return -1;
    return 0;
}
