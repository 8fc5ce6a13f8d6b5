/* bt_mount.h -- bt's way to the filesystem: finding the mount, reading its
 * files whole, loading its JSON documents.
 *
 * bt knows nothing of the store: every command is a plain read or write of
 * a file under the mount (docs/DESIGN "The tree"). The functions that say
 * so print their problem ("bt: ..." on stderr) and return an exit status;
 * the others return -errno and print nothing, for the caller to word.
 */
#ifndef BT_MOUNT_H
#define BT_MOUNT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "bt.h"

/* Returns MOUNT/rel, malloc'd, or NULL on ENOMEM. */
char *bt_mount_path(const struct ctx *c, const char *rel);

/* Opens MOUNT/rel with flags (O_CLOEXEC added): 0 with *fd and *path
 * (MOUNT/rel, for messages; the caller frees it), or an exit status after
 * saying "cannot open PATH: ..." (*path NULL, nothing to free). */
int bt_mount_open(const struct ctx *c, const char *rel, int flags, int *fd,
                  char **path);

/* Reads everything from fd until EOF into a NUL-terminated malloc'd
 * buffer (*outlen, if not NULL, its length). Returns 0 or -errno; on error
 * *out is untouched. */
int bt_read_fd(int fd, char **out, size_t *outlen);

/* Reads MOUNT/rel whole. Returns 0 or -errno (nothing printed). */
int bt_mount_read(const struct ctx *c, const char *rel, char **out,
                  size_t *len);

/* Reads and parses MOUNT/rel. Prints the problem and returns EXIT_FAIL on
 * failure; on success *text (if not NULL) keeps the raw bytes (the caller
 * frees both). */
int bt_mount_load_json(const struct ctx *c, const char *rel, cJSON **out,
                       char **text);

/* Reads and parses MOUNT/rel, saying nothing: NULL and *err set (-errno,
 * or -EBADMSG when it is not JSON) on failure. For views that show what
 * they can, such as watch. */
cJSON *bt_mount_parse(const struct ctx *c, const char *rel, int *err);

/* Loads a document; with --json prints it as is and sets *done (then *doc
 * is NULL). Returns 0 or an exit status, as bt_mount_load_json. */
int bt_mount_load_doc(const struct ctx *c, const char *rel, cJSON **doc,
                      bool *done);

/* Checks that dir is a btfs mount (it shows status.json and tasks/new).
 * Returns 0, EXIT_USAGE when there is no mount, EXIT_FAIL when there is
 * one that cannot be used; says which. */
int bt_mount_check(const char *dir);

#endif /* BT_MOUNT_H */
