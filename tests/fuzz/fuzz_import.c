/* fuzz_import.c -- libFuzzer target for the HumanEval and MBPP line
 * converters of `bt import` (cmd/bt_import.c).
 *
 * The first byte picks the format (even: humaneval, odd: mbpp) and the
 * import options (a set name, --train, --max-attempts, --no-memory); the
 * rest is one source line. Invariants: a line is
 * converted, blank, or refused with a one-line reason; a converted line is
 * one line that btfs's own parser (task/task.c) accepts, since bt_import
 * promises to judge a file before anything is written. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bt_import.h"
#include "task/task.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum bt_import_format fmt;
    struct bt_import_opts opts = { 0 };
    char *task = NULL, *sid = NULL, *reason = NULL;
    int rc;

    if (size < 1)
        return 0;
    fmt = data[0] & 1 ? BT_IMPORT_MBPP : BT_IMPORT_HUMANEVAL;
    opts.set = data[0] & 2 ? "fuzz-set" : NULL;
    opts.train = (data[0] & 4) != 0;
    opts.max_attempts = data[0] & 8 ? 1 : 0;
    opts.no_memory = (data[0] & 16) != 0;
    rc = bt_import_convert(fmt, (const char *)data + 1, size - 1, &opts,
                           &task, &sid, &reason);
    if (rc == 0) {
        struct task_def def = {0};
        char err[512] = "";

        if (!task || strlen(task) == 0 || strchr(task, '\n') || reason)
            abort();
        int prc = task_parse_line(task, strlen(task), &def, err, sizeof err);
        if (prc != 0 && prc != -ENOMEM) {
            fprintf(stderr, "converted %s line refused by btfs (%s):\n%s\n",
                    bt_import_format_name(fmt), err, task);
            abort();
        }
        task_def_free(&def);
    } else if (rc == -EINVAL) {
        if (!reason || !*reason || strchr(reason, '\n') || task)
            abort();
    } else if (rc != 1 && rc != -ENOMEM) {
        abort();
    }
    free(task);
    free(sid);
    free(reason);
    return 0;
}
