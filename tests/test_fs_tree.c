/* test_fs_tree.c -- the tree of the mount without a mount: paths parse to
 * their nodes and only canonical names parse; inode numbers round-trip;
 * README lists every file of the tree table (fs/tree.c), in lines that fit
 * a terminal. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fs_internal.h"

static void inode_numbers_round_trip(void **state)
{
    (void)state;
    struct fs_node n, back;

    /* Every fixed entry, the root first as FUSE_ROOT_ID. */
    for (size_t i = 0; i < fs_nentries; i++) {
        assert_int_equal(fs_node_parse(fs_entries[i].path, &n), 0);
        uint64_t ino = fs_node_ino(&n);
        assert_int_equal(ino, i + 1);
        assert_int_equal(fs_ino_node(ino, &back), 0);
        assert_int_equal(back.kind, n.kind);
        assert_int_equal(back.entry, (int)i);
    }
    const char *paths[] = {
        "/tasks/task_000001.json", "/tasks/reflection_000001.json",
        "/tasks/summary_1234567.json", "/code_archive/task_000042",
        "/code_archive/task_000042/attempt_3.py",
        "/advanced/builder_analysis_7.json",
    };
    uint64_t seen[sizeof paths / sizeof paths[0]];
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        assert_int_equal(fs_node_parse(paths[i], &n), 0);
        seen[i] = fs_node_ino(&n);
        assert_true(seen[i] > fs_nentries);
        for (size_t k = 0; k < i; k++)
            assert_true(seen[k] != seen[i]);
        assert_int_equal(fs_ino_node(seen[i], &back), 0);
        assert_int_equal(back.kind, n.kind);
        assert_true(back.id == n.id);
        assert_int_equal(back.attempt, n.attempt);
    }
    /* A child found by name is the node its path names. */
    struct fs_node dir, child;
    assert_int_equal(fs_node_parse("/code_archive/task_000042", &dir), 0);
    assert_int_equal(fs_node_child(&dir, "attempt_3.py", &child), 0);
    assert_int_equal(fs_node_ino(&child), seen[4]);
    assert_int_equal(child.ext_len, 2);
    assert_memory_equal(child.ext, "py", 2);
    assert_int_equal(fs_node_parse("/", &dir), 0);
    assert_int_equal(fs_node_child(&dir, "status.json", &child), 0);
    assert_int_equal(child.kind, FS_STATUS);
    assert_int_equal(fs_node_child(&dir, "nope", &child), -ENOENT);
    assert_int_equal(fs_node_child(&dir, "..", &child), -ENOENT);
    /* Numbers this filesystem never hands out. */
    assert_int_equal(fs_ino_node(0, &back), -ENOENT);
    assert_int_equal(fs_ino_node(fs_nentries + 1, &back), -ENOENT);
    assert_int_equal(fs_ino_node(UINT64_MAX, &back), -ENOENT);
}

/* ---- Paths --------------------------------------------------------------- */

struct path_case {
    const char *path;
    enum fs_kind kind;
    uint64_t id;
    unsigned attempt;
};

static void paths_parse_to_their_nodes(void **state)
{
    static const struct path_case ok[] = {
        { "/", FS_DIR_ROOT, 0, 0 },
        { "/README", FS_README, 0, 0 },
        { "/tasks", FS_DIR_TASKS, 0, 0 },
        { "/tasks/new", FS_NEW, 0, 0 },
        { "/tasks/task_000001.json", FS_TASK, 1, 0 },
        { "/tasks/task_1234567.json", FS_TASK, 1234567, 0 },
        { "/tasks/reflection_000042.json", FS_TASK_REFLECTION, 42, 0 },
        { "/tasks/summary_999999.json", FS_TASK_SUMMARY, 999999, 0 },
        { "/code_archive/task_000007", FS_DIR_CODE_TASK, 7, 0 },
        { "/code_archive/task_000007/attempt_12.c", FS_CODE_FILE, 7, 12 },
        { "/advanced/builder_analysis_3.json", FS_ANALYSIS, 3, 0 },
        { "/eval/humaneval.json", FS_EVAL, 0, 0 },
        { "/logs/events.jsonl", FS_EVENTS, 0, 0 },
    };
    struct fs_node n;

    (void)state;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (fs_node_parse(ok[i].path, &n) != 0)
            fail_msg("%s does not parse", ok[i].path);
        assert_int_equal(n.kind, ok[i].kind);
        assert_true(n.id == ok[i].id);
        assert_int_equal(n.attempt, ok[i].attempt);
        assert_int_equal(fs_node_is_dir(&n), ok[i].kind <= FS_DIR_ADVANCED);
    }
    assert_int_equal(fs_node_parse("/core/builder_profile.json", &n), 0);
    assert_int_equal(n.kind, FS_DOC);
    assert_string_equal(n.doc, "builder_profile");
    assert_int_equal(fs_node_parse("/code_archive/task_000007/attempt_1.py",
                                   &n), 0);
    assert_int_equal(n.ext_len, 2);
    assert_memory_equal(n.ext, "py", 2);
    assert_int_equal(fs_node_parse("/eval/he-plus.json", &n), 0);
    assert_string_equal(n.set, "he-plus");
}

/* Only the canonical spelling names a file: no aliases, no guessing. */
static void paths_refuse_what_is_not_canonical(void **state)
{
    static const char *const bad[] = {
        "", "README", "/readme", "/README/", "//README", "/nope",
        "/core/", "/core/nope.json",
        "/tasks/task_1.json", "/tasks/task_00001.json",
        "/tasks/task_0000001.json",
        "/tasks/task_000001", "/tasks/task_000001.JSON",
        "/tasks/task_-00001.json", "/tasks/task_+00001.json",
        "/tasks/task_99999999999999999999999.json",
        "/tasks/reflection_1.json", "/tasks/summary_.json",
        "/tasks/task_000001.json/x",
        "/code_archive/task_1", "/code_archive/task_000001/attempt_0.py",
        "/code_archive/task_000001/attempt_01.py",
        "/code_archive/task_000001/attempt_1.",
        "/code_archive/task_000001/attempt_1",
        "/code_archive/task_000001/attempt_256.py",
        "/code_archive/task_000001/x/attempt_1.py",
        "/advanced/builder_analysis_0.json",
        "/advanced/builder_analysis_01.json",
        "/advanced/builder_analysis_.json",
        "/eval/HE.json", "/eval/.json", "/eval/a b.json", "/eval/x",
    };
    struct fs_node n;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (fs_node_parse(bad[i], &n) != -ENOENT)
            fail_msg("'%s' parsed as kind %d", bad[i], (int)n.kind);
}

/* ---- README -------------------------------------------------------------- */

/* Whether text has a line starting with "  " + name + a space. */
static int has_row(const char *text, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (strncmp(p, "  ", 2) == 0 && strncmp(p + 2, name, nl) == 0 &&
            (p[2 + nl] == ' ' || p[2 + nl] == '\n'))
            return 1;
    return 0;
}

/* README lists every file of the tree table, and the families of files
 * tasks produce, in lines that fit a terminal. */
static void readme_lists_the_tree(void **state)
{
    static const char *const families[] = {
        "tasks/task_NNNNNN.json", "tasks/reflection_NNNNNN.json",
        "tasks/summary_NNNNNN.json", "code_archive/task_NNNNNN/attempt_K.EXT",
        "eval/SET.json", "advanced/builder_analysis_N.json",
    };
    struct fs_buf out = {0}, count = { .count_only = 1 };
    struct fs_node n;
    struct fs_meta m;

    (void)state;
    assert_int_equal(fs_node_parse("/README", &n), 0);
    assert_int_equal(fs_render(NULL, NULL, &n, &out, &m), 0);
    assert_int_equal(fs_render(NULL, NULL, &n, &count, &m), 0);
    assert_int_equal(count.len, out.len);
    assert_int_equal(m.immutable, 1);
    assert_int_equal(fs_buf_add(&out, "", 1), 0);
    const char *text = out.p;
    assert_non_null(strstr(text, "Builder-Trainer FS\n"));
    assert_non_null(strstr(text, "Writing tasks"));
    for (size_t i = 0; i < fs_nentries; i++) {
        if (fs_entries[i].kind <= FS_DIR_ADVANCED) {
            assert_null(fs_entries[i].about);
            continue;
        }
        assert_non_null(fs_entries[i].about);
        if (!has_row(text, fs_entries[i].path + 1))
            fail_msg("README has no row for %s", fs_entries[i].path);
    }
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (!has_row(text, families[i]))
            fail_msg("README has no row for %s", families[i]);
    /* The rows come in the table's order, each family after its
     * directory's fixed files. */
    assert_true(strstr(text, "  tasks/task_queue.json") <
                strstr(text, "  tasks/task_NNNNNN.json"));
    assert_true(strstr(text, "  logs/system.log") <
                strstr(text, "  logs/shell.log"));
    assert_true(strstr(text, "  advanced/motivation_log.json") <
                strstr(text, "  advanced/builder_analysis_N.json"));
    /* A description that wraps goes on in its column. */
    assert_non_null(strstr(text, "waiting_for_llm /\n" "                   "
                                 "           stalled"));
    for (const char *p = text; *p;) {
        size_t ll = strcspn(p, "\n");
        if (ll > 78)
            fail_msg("README line over 78 columns: %.*s", (int)ll, p);
        p += ll + (p[ll] == '\n');
    }
    assert_int_equal(text[out.len - 2], '\n');
    fs_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(paths_parse_to_their_nodes),
        cmocka_unit_test(paths_refuse_what_is_not_canonical),
        cmocka_unit_test(inode_numbers_round_trip),
        cmocka_unit_test(readme_lists_the_tree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
