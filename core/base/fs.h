/*
 * Durable file helpers. Every write that matters goes through ts_fs_write_atomic: write a temp file
 * in the same directory, fsync it, rename it over the target, fsync the directory. A crash leaves
 * either the old file or the new one, never a partial one.
 */
#ifndef TS_BASE_FS_H
#define TS_BASE_FS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/buf.h"
#include "base/error.h"

/* Writes data to path atomically and durably with the given mode (e.g. 0600 for keys). */
TS_WARN_UNUSED ts_err ts_fs_write_atomic(const char *path, const void *data, size_t len,
                                         mode_t mode);

/* Reads a whole file into out (appending), failing with TS_ERR_TOO_LARGE past max_len bytes and
 * TS_ERR_NOT_FOUND when it does not exist. */
TS_WARN_UNUSED ts_err ts_fs_read_all(const char *path, size_t max_len, struct ts_buf *out);

/* Creates dir and its missing parents with mode. Existing directories are fine. */
TS_WARN_UNUSED ts_err ts_fs_mkdir_p(const char *dir, mode_t mode);

/* fsyncs a directory so a rename or create inside it is durable. */
TS_WARN_UNUSED ts_err ts_fs_sync_dir(const char *dir);

/* Writes all len bytes to fd, retrying short writes and EINTR. */
TS_WARN_UNUSED ts_err ts_fs_write_full(int fd, const void *data, size_t len);

#endif
