/*
 * The storage node's piece files (reference §9.1-9.2). Layout under the storage dir:
 *   storage-dir-verification               raw node ID; a node refuses another node's dir
 *   blobs/<sat b32>/<2 chars>/<50 chars>.sj1 committed pieces (lower-case unpadded base32 IDs)
 *   temp/blob-<pid>-<n>.partial            uploads in progress, removed at start
 *   trash/<sat b32>/<YYYY-MM-DD>/<2>/<50>.sj1 deleted pieces
 * A piece file starts with a TS_PIECE_HEADER_SIZE area (uint16 BE length + PieceHeader protobuf,
 * zero-filled); data follows. A writer streams data into a temp file while hashing it (SHA-256),
 * then writes the header, fsyncs, renames into blobs/ without replacing an existing piece and
 * fsyncs the directory: a crash never leaves a partial piece servable.
 * Thread-safe: a blobstore is shared; writers and readers belong to one thread each.
 */
#ifndef NODE_BLOBSTORE_H
#define NODE_BLOBSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "orders/orders.h"

#define NODE_PIECE_FORMAT_VERSION 1

/* The decoded header of a piece file. */
struct node_piece_header {
    uint32_t format_version;
    uint8_t hash[TS_PIECE_HASH_SIZE]; /* SHA-256 of the piece data */
    enum ts_hash_algorithm hash_algorithm;
    int64_t creation_time_s;
    uint8_t uplink_signature[TS_ORDER_SIGNATURE_MAX]; /* the uplink's PieceHash signature */
    size_t uplink_signature_len;
    struct ts_order_limit limit; /* the original satellite-signed limit */
};

/* Header encoding: out gets exactly TS_PIECE_HEADER_SIZE bytes. TS_ERR_TOO_LARGE when the
 * header does not fit (cannot happen with valid fixed-size fields, but is checked). */
TS_WARN_UNUSED ts_err node_piece_header_encode(const struct node_piece_header *h,
                                               uint8_t out[TS_PIECE_HEADER_SIZE]);
/* Decodes len (>= TS_PIECE_HEADER_SIZE) bytes: TS_ERR_TRUNCATED when shorter, TS_ERR_MALFORMED
 * for a bad length or protobuf, TS_ERR_UNSUPPORTED_VERSION for another format version. */
TS_WARN_UNUSED ts_err node_piece_header_decode(const uint8_t *in, size_t len,
                                               struct node_piece_header *out);

struct node_blobstore;
struct node_blob_writer;
struct node_blob_reader;

/* Opens (creating the layout on first use) the store in storage_dir for node_id. Fails with
 * TS_ERR_CONFIG when the dir belongs to another node, TS_ERR_IO when it cannot be created.
 * Removes leftover temp files. */
TS_WARN_UNUSED ts_err node_blobstore_open(const char *storage_dir, const uint8_t node_id[32],
                                          struct node_blobstore **out);
void node_blobstore_free(struct node_blobstore *bs);
const char *node_blobstore_dir(const struct node_blobstore *bs);

/* Writing a piece. _new creates the temp file; _write appends and hashes; _hash finishes the
 * SHA-256 (call once, after the last _write); _commit writes the header, fsyncs and renames into
 * place (TS_ERR_EXISTS when the piece already exists); _free removes an uncommitted temp file.
 * TS_ERR_NO_SPACE when the disk is full, TS_ERR_IO otherwise. */
TS_WARN_UNUSED ts_err node_blob_writer_new(struct node_blobstore *bs, const uint8_t sat_id[32],
                                           const uint8_t piece_id[32],
                                           struct node_blob_writer **out);
TS_WARN_UNUSED ts_err node_blob_writer_write(struct node_blob_writer *w, const void *data,
                                             size_t len);
int64_t node_blob_writer_size(const struct node_blob_writer *w);
TS_WARN_UNUSED ts_err node_blob_writer_hash(struct node_blob_writer *w,
                                            uint8_t out[TS_PIECE_HASH_SIZE]);
TS_WARN_UNUSED ts_err node_blob_writer_commit(struct node_blob_writer *w,
                                              const struct node_piece_header *h);
void node_blob_writer_free(struct node_blob_writer *w);

/* Reading a piece: TS_ERR_NOT_FOUND when absent; header errors when the file is damaged. */
TS_WARN_UNUSED ts_err node_blob_reader_open(struct node_blobstore *bs, const uint8_t sat_id[32],
                                            const uint8_t piece_id[32],
                                            struct node_blob_reader **out);
const struct node_piece_header *node_blob_reader_header(const struct node_blob_reader *r);
int64_t node_blob_reader_size(const struct node_blob_reader *r); /* data bytes */
/* Reads exactly len bytes of data at offset (TS_ERR_TRUNCATED past the end). */
TS_WARN_UNUSED ts_err node_blob_reader_read(struct node_blob_reader *r, int64_t offset, void *buf,
                                            size_t len);
void node_blob_reader_free(struct node_blob_reader *r);

/* TS_OK when the piece exists, TS_ERR_NOT_FOUND when not. */
TS_WARN_UNUSED ts_err node_blob_exists(struct node_blobstore *bs, const uint8_t sat_id[32],
                                       const uint8_t piece_id[32]);
/* Moves the piece to trash/<sat>/<UTC date of now_s>/; *size_out gets its file size. */
TS_WARN_UNUSED ts_err node_blob_trash(struct node_blobstore *bs, const uint8_t sat_id[32],
                                      const uint8_t piece_id[32], int64_t now_s,
                                      int64_t *size_out);

/* Deletes the piece for good (expired pieces: no trash); *size_out gets its file size.
 * TS_ERR_NOT_FOUND when it is not in blobs/ (trashed or deleted already). */
TS_WARN_UNUSED ts_err node_blob_delete(struct node_blobstore *bs, const uint8_t sat_id[32],
                                       const uint8_t piece_id[32], int64_t *size_out);

/* Bytes on disk (whole files, headers included) of committed pieces and of trash. */
TS_WARN_UNUSED ts_err node_blobstore_walk(struct node_blobstore *bs, int64_t *pieces_bytes,
                                          int64_t *pieces_count, int64_t *trash_bytes);

#endif
