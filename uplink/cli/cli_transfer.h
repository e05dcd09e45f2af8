/*
 * Object transfers for cp and mv: local file or stdin -> object, object -> local file or stdout,
 * object -> object (download piped into an upload; the library has no server-side copy), each
 * streamed through one 1 MiB buffer with a progress bar on stderr when it is a terminal. Downloads
 * to a file go to "<file>.part-<pid>" first and are renamed into place on success, so a failed
 * copy never leaves a truncated file under the real name.
 */
#ifndef TS_CLI_TRANSFER_H
#define TS_CLI_TRANSFER_H

#include <stdbool.h>

#include "cli/cli_parse.h"
#include "cli/cli_session.h"

#define CLI_TRANSFER_BUFFER_SIZE (1u << 20)

struct cli_transfer {
    struct cli_session *s;
    struct ul_upload_options upload;                     /* expiry, metadata, parallelism */
    struct ul_metadata_entry meta[CLI_META_ENTRIES_MAX]; /* upload.metadata points here */
    bool meta_given; /* --metadata/--meta: replaces the source's metadata on remote copies */
    struct cli_range range;
    bool range_given;
    bool quiet;   /* no progress bar */
    uint8_t *buf; /* CLI_TRANSFER_BUFFER_SIZE bytes */
};

/* Each returns an exit code after printing what went wrong (cli_exit.h). */
int cli_upload_file(struct cli_transfer *t, const char *path, const char *bucket, const char *key);
int cli_download_file(struct cli_transfer *t, const char *bucket, const char *key,
                      const char *path);
int cli_copy_object(struct cli_transfer *t, const char *src_bucket, const char *src_key,
                    const char *dst_bucket, const char *dst_key);

/* "no such object" or "no such bucket" (one stat to tell which) for a NOT_FOUND, else the cause. */
int cli_object_fail(struct cli_session *s, ul_err err, const char *bucket, const char *key,
                    const char *doing);

#endif
