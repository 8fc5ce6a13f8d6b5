/* fs.h -- the FUSE filesystem: paths of the mount as views of the store.
 *
 * fs/ uses store/ and libfuse (high-level API, FUSE_USE_VERSION 35) and
 * nothing else of ours. The program fills a struct fs_context and passes it
 * as fuse_new()'s user_data; every operation reads it through
 * fuse_get_context()->private_data.
 */
#ifndef BT_FS_H
#define BT_FS_H

#define FUSE_USE_VERSION 35
#include <fuse.h>
#include <sys/types.h>

struct store;
struct status;

struct fs_context {
    struct store *store;       /* required; may be set after fuse_new() but
                                  before the session loop starts          */
    struct status *status;     /* live state for status.json; required    */
    const char *config_json;   /* effective configuration, secrets already
                                  redacted (owned by the caller, must
                                  outlive the session)                     */
    const char *data_dir;      /* shown in status.json                     */
    int group_set;             /* 1: tasks/new and control belong to group
                                  and are group-writable (btfs --group)   */
    gid_t group;
};

/* The operations table (designated initializers, one handler per op). */
const struct fuse_operations *fs_operations(void);

/* Largest write(2) the filesystem asks the kernel to pass in one request
 * (set as conn->max_write in init; the kernel's max_pages follows): a write up
 * to this size to tasks/new is validated and committed as a whole. */
#define FS_MAX_WRITE (1024 * 1024)

#endif /* BT_FS_H */
