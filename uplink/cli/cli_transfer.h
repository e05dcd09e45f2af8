/*
 * Object transfers for cp and mv: local file or stdin -> object, object -> local file or stdout,
 * streamed through one 1 MiB buffer with a progress bar on stderr when it is a terminal; object ->
 * object on the satellite (ul_object_copy / ul_object_move: no data crosses this machine), or as a
 * download piped into an upload when a new expiry is asked for. Downloads to a file go to
 * "<file>.part-<pid>" first and are renamed into place on success; the part file is removed when
 * the download fails or the process gets SIGINT, SIGTERM or SIGHUP, so an interrupted copy leaves
 * nothing behind. An upload's bar shows "committing" (not 100%) until the object is committed.
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
/* Server-side copy (metadata replaced when given); streamed when an expiry is given. */
int cli_copy_object(struct cli_transfer *t, const char *src_bucket, const char *src_key,
                    const char *dst_bucket, const char *dst_key);
/* Server-side move; with metadata or an expiry given it copies instead and leaves the source
 * (*source_gone false) for the caller to delete once the copy succeeded. */
int cli_move_object(struct cli_transfer *t, const char *src_bucket, const char *src_key,
                    const char *dst_bucket, const char *dst_key, bool *source_gone);

/* "no such object" or "no such bucket" (one stat to tell which) for a NOT_FOUND, else the cause. */
int cli_object_fail(struct cli_session *s, ul_err err, const char *bucket, const char *key,
                    const char *doing);

#endif
