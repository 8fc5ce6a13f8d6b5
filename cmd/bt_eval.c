/* bt_eval.c -- bt report: one row per benchmark set, from eval/SET.json.
 *
 * The rows themselves are made by bt_report.c (pure text work, tested
 * alone); this file lists and reads the sets under the mount.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "bt.h"
#include "bt_err.h"
#include "bt_mount.h"
#include "bt_render.h"
#include "bt_report.h"
#include "task/task.h"   /* set name rules */

/* ---- report ------------------------------------------------------------------------ */

/* The set names under eval/, sorted. Returns 0 or an exit code. */
static int list_sets(const struct ctx *c, char ***names, size_t *n)
{
    char *path = bt_mount_path(c, "eval");
    size_t cap = 0;
    struct dirent *d;
    DIR *dir;

    *names = NULL;
    *n = 0;
    if (!path)
        return bt_oom();
    if (!(dir = opendir(path))) {
        int e = errno;
        free(path);
        if (e == ENOENT)
            return 0;   /* a btfs from before sets: there are none */
        bt_err("cannot list %s/eval: %s", c->mount, strerror(e));
        return EXIT_FAIL;
    }
    free(path);
    while ((d = readdir(dir))) {
        size_t len = strlen(d->d_name);
        if (len <= 5 || strcmp(d->d_name + len - 5, ".json") != 0)
            continue;
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nn = realloc(*names, ncap * sizeof(*nn));
            if (!nn)
                goto nomem;
            *names = nn;
            cap = ncap;
        }
        if (!((*names)[*n] = strndup(d->d_name, len - 5)))
            goto nomem;
        (*n)++;
    }
    closedir(dir);
    if (*n)
        qsort(*names, *n, sizeof(**names), bt_cmp_str);
    return 0;
nomem:
    closedir(dir);
    for (size_t i = 0; i < *n; i++)
        free((*names)[i]);
    free(*names);
    *names = NULL;
    *n = 0;
    return bt_oom();
}

/* bt report: one row per set, from eval/SET.json; --set picks sets. */
int cmd_report(const struct ctx *c, const struct args *a)
{
    struct bt_table t = { .ncols = BT_REPORT_NCOLS, .align = bt_report_align };
    char **names = NULL;
    size_t n = 0, rows = 0;
    cJSON *list = NULL;
    int rc = 0, failed = 0;

    if (a->nsets) {
        if (!(names = calloc(a->nsets, sizeof(*names))))
            return bt_oom();
        for (size_t k = 0; k < a->nsets; k++) {
            int again = 0;

            if (!task_set_name_ok(a->sets[k])) {
                bt_err("--set must be 1 to %d characters of a-z, 0-9, '_', "
                       "'-' and '.', the first a letter or digit, got '%s'",
                       TASK_MAX_SET_LEN, a->sets[k]);
                rc = EXIT_USAGE;
                goto out;
            }
            if (!(names[n] = strdup(a->sets[k]))) {
                rc = bt_oom();
                goto out;
            }
            for (char *p = names[n]; *p; p++)
                *p = (char)tolower((unsigned char)*p);
            /* One row per set: a set asked for twice (in any case) once,
             * where it was first asked for. */
            for (size_t j = 0; j < n && !again; j++)
                again = strcmp(names[j], names[n]) == 0;
            if (again) {
                free(names[n]);
                names[n] = NULL;
            } else {
                n++;
            }
        }
    } else if ((rc = list_sets(c, &names, &n))) {
        goto out;
    }
    if (c->json && !(list = cJSON_CreateArray())) {
        rc = bt_oom();
        goto out;
    }
    for (size_t i = 0; !c->json && i < BT_REPORT_NCOLS; i++)
        if (bt_table_put_str(&t, bt_report_header[i])) {
            rc = bt_oom();
            goto out;
        }
    for (size_t i = 0; i < n; i++) {
        char rel[TASK_MAX_SET_LEN + 16], *buf = NULL, *cells[BT_REPORT_NCOLS];
        cJSON *doc;

        snprintf(rel, sizeof(rel), "eval/%s.json", names[i]);
        int e = bt_mount_read(c, rel, &buf, NULL);
        if (e == -ENOENT && a->nsets) {
            bt_err("no set '%s' (bt report without --set lists them all)",
                   names[i]);
            failed = 1;
            continue;
        }
        if (e) {
            bt_err("cannot read %s/%s: %s", c->mount, rel, strerror(-e));
            failed = 1;
            continue;
        }
        doc = cJSON_Parse(buf);
        free(buf);
        if (!doc) {
            bt_err("%s/%s is not valid JSON", c->mount, rel);
            failed = 1;
            continue;
        }
        if (c->json) {
            cJSON_AddItemToArray(list, doc);
            rows++;
            continue;
        }
        e = bt_report_row(doc, cells);
        cJSON_Delete(doc);
        if (e == -EINVAL) {
            bt_err("%s/%s names no set", c->mount, rel);
            failed = 1;
            continue;
        }
        for (size_t k = 0; k < BT_REPORT_NCOLS; k++)
            if (e || bt_table_put(&t, cells[k])) {
                for (size_t j = k + 1; !e && j < BT_REPORT_NCOLS; j++)
                    free(cells[j]);
                rc = bt_oom();
                goto out;
            }
        rows++;
    }
    if (c->json)
        rc = bt_print_json(list);
    else if (rows)
        bt_table_print(&t);
    else if (!failed)
        puts("no benchmark sets yet (bt import FILE --format humaneval "
             "makes one)");
out:
    cJSON_Delete(list);
    bt_table_free(&t);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc ? rc : failed ? EXIT_FAIL : 0;
}

