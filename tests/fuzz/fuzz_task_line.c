/* fuzz_task_line.c -- libFuzzer target for the task-line parser
 * (task/task.c), the code behind every write to tasks/new.
 *
 * Invariants: a line is accepted or refused with -EINVAL/-EFBIG and a
 * one-line reason; an accepted line's canonical JSON is itself an accepted
 * line whose canonical JSON is the same string (canonical output re-parses
 * to itself) with the same priority. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct task_def a = {0}, b = {0};
    char err[512] = "", err2[512] = "";
    int rc;

    rc = task_parse_line((const char *)data, size, &a, err, sizeof err);
    if (rc < 0) {
        if (rc != -EINVAL && rc != -EFBIG && rc != -ENOMEM)
            abort();
        if (rc != -ENOMEM && (err[0] == '\0' || strchr(err, '\n')))
            abort();                /* the reason is one non-empty line */
        return 0;
    }
    if (!a.json || a.json[0] != '{')
        abort();
    rc = task_parse_line(a.json, strlen(a.json), &b, err2, sizeof err2);
    if (rc == -ENOMEM) {
        task_def_free(&a);
        return 0;
    }
    if (rc != 0) {
        fprintf(stderr, "canonical line refused (%s):\n%s\n", err2, a.json);
        abort();
    }
    if (strcmp(a.json, b.json) != 0 || a.priority != b.priority) {
        fprintf(stderr, "canonical line changed:\n%s\n%s\n", a.json, b.json);
        abort();
    }
    task_def_free(&a);
    task_def_free(&b);
    return 0;
}
