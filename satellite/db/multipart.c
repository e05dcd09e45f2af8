/* Multipart uploads: segment scans for part listing and assembly, abort, and metadata updates
 * (the pending-object listing is in objects.c). Parts live in the segment position
 * (part << 32 | index). */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "satellite/db/satdb.h"
#include "satellite/db/sql.h"

#define ID_ARG(p) (p), (size_t)SAT_ID_SIZE

ts_err sat_db_segments_scan_brief(struct ts_db_conn *c, const uint8_t stream_id[SAT_ID_SIZE],
                                  int64_t from, int64_t to, sat_segment_brief_fn fn, void *ctx)
{
    struct ts_db_stmt *st = NULL;
    struct sat_segment_brief *s = malloc(sizeof *s);
    if (s == NULL) {
        return TS_ERR_NOMEM;
    }
    ts_err err = sat_sql_prepare(c,
                                 "SELECT position, plain_size, created_at, encrypted_key_nonce, "
                                 "encrypted_key, encrypted_etag FROM segments WHERE stream_id = $1 "
                                 "AND position >= $2 AND position <= $3 ORDER BY position",
                                 &st, "bii", ID_ARG(stream_id), from, to);
    bool stop = false;
    while (err == TS_OK && !stop) {
        bool row = false;
        err = ts_db_stmt_step(st, &row);
        if (err != TS_OK || !row) {
            break;
        }
        memset(s, 0, sizeof *s);
        s->position = ts_db_stmt_column_int64(st, 0);
        s->plain_size = ts_db_stmt_column_int64(st, 1);
        s->created_at = ts_db_stmt_column_int64(st, 2);
        err = sat_sql_col_var(st, 3, s->key_nonce, sizeof s->key_nonce, &s->key_nonce_len);
        if (err == TS_OK) {
            err = sat_sql_col_var(st, 4, s->encrypted_key, sizeof s->encrypted_key,
                                  &s->encrypted_key_len);
        }
        if (err == TS_OK) {
            err = sat_sql_col_var(st, 5, s->etag, sizeof s->etag, &s->etag_len);
        }
        if (err == TS_OK) {
            err = fn(s, ctx, &stop);
        }
    }
    ts_db_stmt_free(st);
    free(s);
    return err;
}

ts_err sat_db_segments_delete_range(struct ts_db_conn *c, const uint8_t stream_id[SAT_ID_SIZE],
                                    int64_t from, int64_t to, int64_t *deleted)
{
    return sat_sql_exec(c, deleted,
                        "DELETE FROM segments WHERE stream_id = $1 AND position >= $2 AND "
                        "position <= $3",
                        "bii", ID_ARG(stream_id), from, to);
}

ts_err sat_db_object_delete_pending(struct ts_db_conn *c, const uint8_t stream_id[SAT_ID_SIZE],
                                    int64_t *segments)
{
    int64_t n = 0, segs = 0;
    ts_err err = sat_sql_exec(c, &n, "DELETE FROM objects WHERE stream_id = $1 AND status = 1", "b",
                              ID_ARG(stream_id));
    if (err == TS_OK && n == 0) {
        err = TS_ERR_NOT_FOUND;
    }
    if (err == TS_OK) {
        err = sat_sql_exec(c, &segs, "DELETE FROM segments WHERE stream_id = $1", "b",
                           ID_ARG(stream_id));
    }
    if (err == TS_OK && segments != NULL) {
        *segments = segs;
    }
    return err;
}

ts_err sat_db_object_update_metadata(struct ts_db_conn *c, const uint8_t project[SAT_ID_SIZE],
                                     const uint8_t *bucket, size_t bucket_len, const uint8_t *key,
                                     size_t key_len, const uint8_t *stream_id,
                                     const struct sat_object *meta)
{
    static const uint8_t none[SAT_ID_SIZE] = {0};
    int64_t n = 0;
    ts_err err = sat_sql_exec(
        c, &n,
        "UPDATE objects SET encrypted_metadata = $1, encrypted_metadata_key = $2, "
        "encrypted_metadata_nonce = $3 WHERE project_id = $4 AND bucket_name = $5 AND "
        "object_key = $6 AND status = 3 AND ($7 = 0 OR stream_id = $8)",
        "bbbbbbib", meta->metadata, meta->metadata_len, meta->metadata_key, meta->metadata_key_len,
        meta->metadata_nonce, meta->metadata_nonce_len, ID_ARG(project), bucket, bucket_len, key,
        key_len, (int64_t)(stream_id != NULL), ID_ARG(stream_id != NULL ? stream_id : none));
    if (err == TS_OK && n == 0) {
        err = TS_ERR_NOT_FOUND;
    }
    return err;
}
