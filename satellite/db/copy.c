/* Server-side copy and move of committed objects. Only wrapped keys change: a copy's segment rows
 * are the source's rows (same root piece IDs, same piece lists) under a new stream id with keys
 * re-wrapped by the uplink; a move rewrites the object's key and the wrapped keys in place. */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "satellite/db/satdb.h"
#include "satellite/db/sql.h"

#define ID_ARG(p) (p), (size_t)SAT_ID_SIZE

/* The source must be a committed object with exactly the positions of keys (in order). */
static ts_err check_source(struct ts_db_conn *c, const uint8_t src[SAT_ID_SIZE],
                           struct sat_object *o, const struct sat_segment_key *keys, size_t n)
{
    ts_err err = sat_db_object_get_by_stream(c, src, o);
    if (err == TS_OK && o->status != SAT_OBJECT_COMMITTED) {
        err = TS_ERR_NOT_FOUND;
    }
    struct ts_db_stmt *st = NULL;
    if (err == TS_OK) {
        err = sat_sql_prepare(c,
                              "SELECT position FROM segments WHERE stream_id = $1 ORDER BY "
                              "position",
                              &st, "b", ID_ARG(src));
    }
    size_t i = 0;
    while (err == TS_OK) {
        bool row = false;
        err = ts_db_stmt_step(st, &row);
        if (err != TS_OK || !row) {
            break;
        }
        if (i >= n || keys[i].position != ts_db_stmt_column_int64(st, 0)) {
            err = TS_ERR_INVALID_ARGUMENT;
        }
        i++;
    }
    ts_db_stmt_free(st);
    if (err == TS_OK && i != n) {
        err = TS_ERR_INVALID_ARGUMENT;
    }
    return err;
}

static ts_err set_keys(struct ts_db_conn *c, const uint8_t stream[SAT_ID_SIZE],
                       const struct sat_segment_key *keys, size_t n)
{
    ts_err err = TS_OK;
    for (size_t i = 0; err == TS_OK && i < n; i++) {
        int64_t changed = 0;
        err = sat_sql_exec(c, &changed,
                           "UPDATE segments SET encrypted_key_nonce = $1, encrypted_key = $2 "
                           "WHERE stream_id = $3 AND position = $4",
                           "bbbi", keys[i].key_nonce, keys[i].key_nonce_len, keys[i].encrypted_key,
                           keys[i].encrypted_key_len, ID_ARG(stream), keys[i].position);
        if (err == TS_OK && changed != 1) {
            err = TS_ERR_INVALID_ARGUMENT;
        }
    }
    return err;
}

/* Deletes the committed objects at dst's key (and their segments) except stream `keep`. */
static ts_err replace_destination(struct ts_db_conn *c, const struct sat_object *dst,
                                  const uint8_t keep[SAT_ID_SIZE])
{
    ts_err err = sat_sql_exec(c, NULL,
                              "DELETE FROM segments WHERE stream_id IN (SELECT stream_id FROM "
                              "objects WHERE project_id = $1 AND bucket_name = $2 AND "
                              "object_key = $3 AND status = 3 AND stream_id <> $4)",
                              "bbbb", ID_ARG(dst->project_id), dst->bucket, dst->bucket_len,
                              dst->key, dst->key_len, ID_ARG(keep));
    if (err == TS_OK) {
        err = sat_sql_exec(c, NULL,
                           "DELETE FROM objects WHERE project_id = $1 AND bucket_name = $2 AND "
                           "object_key = $3 AND status = 3 AND stream_id <> $4",
                           "bbbb", ID_ARG(dst->project_id), dst->bucket, dst->bucket_len, dst->key,
                           dst->key_len, ID_ARG(keep));
    }
    return err;
}

ts_err sat_db_object_copy(struct ts_db_conn *c, const uint8_t src_stream[SAT_ID_SIZE],
                          struct sat_object *dst, const struct sat_segment_key *keys, size_t n)
{
    struct sat_object *src = malloc(sizeof *src);
    if (src == NULL) {
        return TS_ERR_NOMEM;
    }
    ts_err err = check_source(c, src_stream, src, keys, n);
    if (err == TS_OK) {
        /* A pending row first (next version at the destination), so replacing the destination's
         * committed object below cannot touch it, then flipped to committed. */
        dst->expires_at = src->expires_at;
        dst->encryption = src->encryption;
        dst->redundancy = src->redundancy;
        dst->multipart = 0;
        dst->zombie_deadline = dst->created_at + 3600;
        err = sat_db_object_insert_pending(c, dst);
    }
    if (err == TS_OK) {
        err = sat_sql_exec(
            c, NULL,
            "INSERT INTO segments (stream_id, position, root_piece_id, encrypted_key_nonce, "
            "encrypted_key, encrypted_size, plain_offset, plain_size, redundancy, inline_data, "
            "remote_alias_pieces, created_at, expires_at, encrypted_etag) SELECT $1, position, "
            "root_piece_id, encrypted_key_nonce, encrypted_key, encrypted_size, plain_offset, "
            "plain_size, redundancy, inline_data, remote_alias_pieces, created_at, expires_at, "
            "NULL FROM segments WHERE stream_id = $2",
            "bb", ID_ARG(dst->stream_id), ID_ARG(src_stream));
    }
    if (err == TS_OK) {
        err = set_keys(c, dst->stream_id, keys, n);
    }
    if (err == TS_OK) {
        err = replace_destination(c, dst, dst->stream_id);
    }
    if (err == TS_OK) {
        err = sat_sql_exec(c, NULL,
                           "UPDATE objects SET status = 3, zombie_deadline = 0, segment_count = "
                           "$1, total_plain_size = $2, total_encrypted_size = $3 WHERE "
                           "stream_id = $4",
                           "iiib", src->segment_count, src->total_plain_size,
                           src->total_encrypted_size, ID_ARG(dst->stream_id));
    }
    if (err == TS_OK) {
        err = sat_db_object_get_by_stream(c, dst->stream_id, dst);
    }
    free(src);
    return err;
}

ts_err sat_db_object_move(struct ts_db_conn *c, const uint8_t src_stream[SAT_ID_SIZE],
                          struct sat_object *dst, const struct sat_segment_key *keys, size_t n)
{
    struct sat_object *src = malloc(sizeof *src);
    struct ts_db_stmt *st = NULL;
    if (src == NULL) {
        return TS_ERR_NOMEM;
    }
    ts_err err = check_source(c, src_stream, src, keys, n);
    if (err == TS_OK) {
        err = set_keys(c, src_stream, keys, n);
    }
    if (err == TS_OK) {
        memcpy(dst->project_id, src->project_id, SAT_ID_SIZE);
        err = replace_destination(c, dst, src_stream);
    }
    if (err == TS_OK) {
        err = sat_sql_prepare(c,
                              "SELECT COALESCE(MAX(version), 0) FROM objects WHERE project_id = "
                              "$1 AND bucket_name = $2 AND object_key = $3",
                              &st, "bbb", ID_ARG(dst->project_id), dst->bucket, dst->bucket_len,
                              dst->key, dst->key_len);
    }
    bool row = false;
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    int64_t version = err == TS_OK && row ? ts_db_stmt_column_int64(st, 0) + 1 : 1;
    ts_db_stmt_free(st);
    if (err == TS_OK) {
        err = sat_sql_exec(c, NULL,
                           "UPDATE objects SET bucket_name = $1, object_key = $2, version = $3, "
                           "encrypted_metadata_key = $4, encrypted_metadata_nonce = $5 WHERE "
                           "stream_id = $6",
                           "bbibbb", dst->bucket, dst->bucket_len, dst->key, dst->key_len, version,
                           dst->metadata_key, dst->metadata_key_len, dst->metadata_nonce,
                           dst->metadata_nonce_len, ID_ARG(src_stream));
    }
    if (err == TS_OK) {
        err = sat_db_object_get_by_stream(c, src_stream, dst);
    }
    free(src);
    return err;
}
