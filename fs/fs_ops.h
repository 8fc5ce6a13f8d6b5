/* fs_ops.h -- what the files of the FUSE operations share: fs.c (the
 * session, the commit hook, the table), fs_attr.c (attributes), fs_dir.c
 * (listings) and fs_file.c (open files). Private to fs/.
 */
#ifndef BT_FS_OPS_H
#define BT_FS_OPS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "fs.h"
#include "fs_internal.h"

static inline struct fs_context *fs_ctx(fuse_req_t req)
{
    return fuse_req_userdata(req);
}

/* The two files that take writes. */
static inline int fs_writable(enum fs_kind kind)
{
    return kind == FS_NEW || kind == FS_CONTROL;
}

/* ---- fs_attr.c ---- */

/* The mount begins: its time becomes the mtime of files with no better
 * one, and no size is remembered from an earlier mount. */
void fs_attr_reset(void);

/* How long the kernel may cache node n's attributes. */
double fs_attr_ttl(const struct fs_node *n);

/* Files whose size costs a pass over every task (fs_attr.c says which):
 * listings give their names without attributes. */
int fs_size_costly(enum fs_kind kind);

/* Attributes of node n (inode ino) as of view v, or in a view of its own:
 * 0, -ENOENT or another -errno. */
int fs_stat_in(struct fs_context *ctx, struct store_view *v,
               const struct fs_node *n, uint64_t ino, struct stat *st);
int fs_stat(struct fs_context *ctx, const struct fs_node *n, uint64_t ino,
            struct stat *st);

/* The node of an inode the kernel names; replies ENOENT itself if none. */
int fs_node_of(fuse_req_t req, fuse_ino_t ino, struct fs_node *n);

/* A LOOKUP/CREATE/READDIRPLUS entry for node n with attributes st. */
void fs_fill_entry(struct fuse_entry_param *e, const struct fs_node *n,
                   uint64_t ino, const struct stat *st);

void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void fs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_access(fuse_req_t req, fuse_ino_t ino, int mask);
void fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
                int to_set, struct fuse_file_info *fi);

/* ---- fs_dir.c ---- */

void fs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                struct fuse_file_info *fi);
void fs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi);

/* ---- fs_file.c ---- */

/* If fi is an open file with a snapshot that can differ from a new open's
 * (all but tasks/new and finished tasks' files): 1, with the snapshot's
 * size and mtime. Else 0. */
int fs_handle_snapshot(const struct fuse_file_info *fi, size_t *size,
                       time_t *mtime);

/* fstat(2) names no open file on Linux (the kernel's fuse_getattr passes
 * none), so for a GETATTR without one: if the calling thread holds ino open
 * and has not closed it, as a snapshot that can differ from a new open's
 * (a collection, a document, status.json; not a log, tasks/new or a task's
 * file), 1 with its newest such open's size and mtime, what its reads
 * return; else 0. */
int fs_handle_snapshot_of_caller(fuse_req_t req, fuse_ino_t ino,
                                 size_t *size, time_t *mtime);

/* Frees every open file the kernel did not release (after the session loop
 * has ended: RELEASE is asynchronous and may never come at unmount). */
void fs_files_release_all(void);

void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
               mode_t mode, struct fuse_file_info *fi);
void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
             struct fuse_file_info *fi);
void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
              off_t off, struct fuse_file_info *fi);
void fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);

#endif
