/* ino.c -- inode numbers computed from nodes, and nodes from them.
 *
 * The low-level FUSE API names files by inode number. Rather than keep a
 * table of every name the kernel looked up (a million entries after `ls -l`
 * of a big tasks/), the number is the node itself: a class in the top six
 * bits and the task id below. Nothing needs to be remembered or forgotten,
 * and the same file always has the same number, across remounts too.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs_internal.h"
#include "store.h"

#define INO_SHIFT   58
#define INO_PAYLOAD ((UINT64_C(1) << INO_SHIFT) - 1)

enum ino_class {
    INO_FIXED = 0,          /* 1 + index in fs_entries[]                   */
    INO_TASK,               /* task id                                     */
    INO_REFLECTION,
    INO_SUMMARY,
    INO_CODE_DIR,
    INO_CODE_FILE,          /* id << 8 | attempt                           */
    INO_ANALYSIS,           /* N                                           */
    INO_EVAL,               /* fs_set_hash of the set's name               */
};

static uint64_t ino_make(enum ino_class c, uint64_t payload)
{
    if (payload > INO_PAYLOAD)
        return 0;
    return (uint64_t)c << INO_SHIFT | payload;
}

uint64_t fs_set_hash(const char *name, size_t len)
{
    uint64_t h = UINT64_C(1469598103934665603);     /* FNV-1a */

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)name[i];
        h *= UINT64_C(1099511628211);
    }
    h &= INO_PAYLOAD;
    return h ? h : 1;
}

uint64_t fs_node_ino(const struct fs_node *n)
{
    if (n->entry >= 0)
        return (uint64_t)n->entry + 1;
    switch (n->kind) {
    case FS_TASK:
        return ino_make(INO_TASK, n->id);
    case FS_TASK_REFLECTION:
        return ino_make(INO_REFLECTION, n->id);
    case FS_TASK_SUMMARY:
        return ino_make(INO_SUMMARY, n->id);
    case FS_DIR_CODE_TASK:
        return ino_make(INO_CODE_DIR, n->id);
    case FS_CODE_FILE:
        if (n->id > INO_PAYLOAD >> 8)
            return 0;
        return ino_make(INO_CODE_FILE, STORE_CODE_KEY(n->id, n->attempt));
    case FS_ANALYSIS:
        return ino_make(INO_ANALYSIS, n->id);
    case FS_EVAL:
        return ino_make(INO_EVAL, n->set[0] ? fs_set_hash(n->set,
                                                          strlen(n->set))
                                            : n->id);
    default:
        return 0;
    }
}

int fs_ino_node(uint64_t ino, struct fs_node *n)
{
    uint64_t payload = ino & INO_PAYLOAD;

    memset(n, 0, sizeof *n);
    n->entry = -1;
    n->id = payload;
    switch ((enum ino_class)(ino >> INO_SHIFT)) {
    case INO_FIXED:
        if (ino == 0 || ino > fs_nentries)
            return -ENOENT;
        n->entry = (int)(ino - 1);
        n->kind = fs_entries[n->entry].kind;
        n->doc = fs_entries[n->entry].doc;
        n->id = 0;
        return 0;
    case INO_TASK:
        n->kind = FS_TASK;
        break;
    case INO_REFLECTION:
        n->kind = FS_TASK_REFLECTION;
        break;
    case INO_SUMMARY:
        n->kind = FS_TASK_SUMMARY;
        break;
    case INO_CODE_DIR:
        n->kind = FS_DIR_CODE_TASK;
        break;
    case INO_CODE_FILE:
        n->kind = FS_CODE_FILE;
        n->id = payload >> 8;
        n->attempt = (unsigned)(payload & 0xff);
        if (n->attempt == 0)
            return -ENOENT;
        break;
    case INO_ANALYSIS:
        n->kind = FS_ANALYSIS;
        break;
    case INO_EVAL:
        n->kind = FS_EVAL;      /* the name is found at render */
        break;
    default:
        return -ENOENT;
    }
    return n->id ? 0 : -ENOENT;
}

int fs_node_child(const struct fs_node *dir, const char *name,
                  struct fs_node *n)
{
    char path[512];
    int len;

    if (!fs_node_is_dir(dir) || strchr(name, '/') || !strcmp(name, ".") ||
        !strcmp(name, ".."))
        return -ENOENT;
    if (dir->kind == FS_DIR_CODE_TASK) {
        char id[STORE_ID_MAX];
        len = snprintf(path, sizeof path, "/code_archive/%s/%s",
                       store_id_format(dir->id, id), name);
    } else if (dir->kind == FS_DIR_ROOT) {
        len = snprintf(path, sizeof path, "/%s", name);
    } else {
        len = snprintf(path, sizeof path, "%s/%s",
                       fs_entries[dir->entry].path, name);
    }
    if (len < 0 || (size_t)len >= sizeof path)
        return -ENOENT;     /* longer than any name of the tree */
    int rc = fs_node_parse(path, n);
    /* The ext of a code file points into path: keep only its length. */
    if (rc == 0 && n->kind == FS_CODE_FILE)
        n->ext = name + (n->ext - (path + len - strlen(name)));
    return rc;
}
