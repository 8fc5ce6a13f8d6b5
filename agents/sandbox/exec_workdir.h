/* exec_workdir.h -- the private work directory of one run (private to the
 * executor).
 *
 * Each run gets a fresh directory (mode 0700, owned by the run's uid when
 * we are root) holding the code, its extra files and the harness; it is the
 * only host path the code can write. Removing it must never follow what
 * the code left there: a planted symlink must not make us delete outside.
 */
#ifndef BT_EXEC_WORKDIR_H
#define BT_EXEC_WORKDIR_H

#include <stddef.h>

/* Makes base/bt-exec-XXXXXX, owned by uid when uid >= 0. *path gets the
 * malloc'd path (the caller removes it with exec_workdir_remove and frees
 * it). 0, -ENOMEM or -errno of mkdtemp/chown (then nothing is left). */
int exec_workdir_make(const char *base, int uid, char **path);

/* Removes the directory and everything in it, never following a symlink
 * or leaving its file system. Accepts NULL. Can't fail (what cannot be
 * removed stays). */
void exec_workdir_remove(const char *path);

/* 1 when name is relative and stays inside: no ".." or "." component, no
 * empty one, no leading '/', at most 255 bytes. */
int exec_workdir_name_ok(const char *name);

/* Writes len bytes as dir/name (creating parent directories), owned by uid
 * when uid >= 0. 0, -ENOMEM or -errno. */
int exec_workdir_write(const char *dir, const char *name, const char *data,
                       size_t len, int uid);

#endif /* BT_EXEC_WORKDIR_H */
