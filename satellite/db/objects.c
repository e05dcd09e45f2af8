/* Objects (pending and committed versions), the listing of pending multipart uploads, and the
 * commit that makes one visible. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "satellite/db/satdb.h"
#include "satellite/db/sql.h"

#define ID_ARG(p) (p), (size_t)SAT_ID_SIZE
#define OBJ_COLS                                                                                   \
    "project_id, bucket_name, object_key, version, stream_id, status, created_at, expires_at, "    \
    "zombie_deadline, segment_count, total_plain_size, total_encrypted_size, "                     \
    "encrypted_metadata, encrypted_metadata_key, encrypted_metadata_nonce, encryption, "           \
    "redundancy, multipart"

static ts_err read_object(struct ts_db_stmt *st, struct sat_object *o)
{
    memset(o, 0, sizeof *o);
    ts_err err = sat_sql_col_fixed(st, 0, o->project_id, SAT_ID_SIZE);
    if (err == TS_OK) {
        err = sat_sql_col_var(st, 1, o->bucket, sizeof o->bucket, &o->bucket_len);
    }
    if (err == TS_OK) {
        err = sat_sql_col_var(st, 2, o->key, sizeof o->key, &o->key_len);
    }
    o->version = ts_db_stmt_column_int64(st, 3);
    if (err == TS_OK) {
        err = sat_sql_col_fixed(st, 4, o->stream_id, SAT_ID_SIZE);
    }
    o->status = (int)ts_db_stmt_column_int64(st, 5);
    o->created_at = ts_db_stmt_column_int64(st, 6);
    o->expires_at = ts_db_stmt_column_int64(st, 7);
    o->zombie_deadline = ts_db_stmt_column_int64(st, 8);
    o->segment_count = ts_db_stmt_column_int64(st, 9);
    o->total_plain_size = ts_db_stmt_column_int64(st, 10);
    o->total_encrypted_size = ts_db_stmt_column_int64(st, 11);
    if (err == TS_OK) {
        err = sat_sql_col_var(st, 12, o->metadata, sizeof o->metadata, &o->metadata_len);
    }
    if (err == TS_OK) {
        err =
            sat_sql_col_var(st, 13, o->metadata_key, sizeof o->metadata_key, &o->metadata_key_len);
    }
    if (err == TS_OK) {
        err = sat_sql_col_var(st, 14, o->metadata_nonce, sizeof o->metadata_nonce,
                              &o->metadata_nonce_len);
    }
    o->encryption = ts_db_stmt_column_int64(st, 15);
    o->redundancy = ts_db_stmt_column_int64(st, 16);
    o->multipart = (int)ts_db_stmt_column_int64(st, 17);
    return err;
}

/* Hands each row of st to fn (through o, the caller's buffer) until the rows end, fn sets
 * *stop or an error occurs. */
static ts_err each_object(struct ts_db_stmt *st, struct sat_object *o, sat_object_fn fn, void *ctx)
{
    ts_err err = TS_OK;
    bool stop = false;
    while (err == TS_OK && !stop) {
        bool row = false;
        err = ts_db_stmt_step(st, &row);
        if (err != TS_OK || !row) {
            break;
        }
        err = read_object(st, o);
        if (err == TS_OK) {
            err = fn(o, ctx, &stop);
        }
    }
    return err;
}

/* Runs a prepared single-row object query into out. */
static ts_err fetch_one(struct ts_db_stmt *st, ts_err prep_err, struct sat_object *out)
{
    bool row = false;
    ts_err err = prep_err;
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    if (err == TS_OK && !row) {
        err = TS_ERR_NOT_FOUND;
    }
    if (err == TS_OK) {
        err = read_object(st, out);
    }
    ts_db_stmt_free(st);
    return err;
}

ts_err sat_db_object_insert_pending(struct ts_db_conn *c, struct sat_object *o)
{
    struct ts_db_stmt *st = NULL;
    bool row = false;
    ts_err err = sat_sql_prepare(c,
                                 "SELECT COALESCE(MAX(version), 0) FROM objects WHERE "
                                 "project_id = $1 AND bucket_name = $2 AND object_key = $3",
                                 &st, "bbb", ID_ARG(o->project_id), o->bucket, o->bucket_len,
                                 o->key, o->key_len);
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    if (err == TS_OK) {
        o->version = (row ? ts_db_stmt_column_int64(st, 0) : 0) + 1;
    }
    ts_db_stmt_free(st);
    if (err != TS_OK) {
        return err;
    }
    o->status = SAT_OBJECT_PENDING;
    return sat_sql_exec(c, NULL,
                        "INSERT INTO objects (" OBJ_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, "
                        "$8, $9, 0, 0, 0, $10, $11, $12, $13, $14, $15)",
                        "bbbibiiiibbbiii", ID_ARG(o->project_id), o->bucket, o->bucket_len, o->key,
                        o->key_len, o->version, ID_ARG(o->stream_id), (int64_t)o->status,
                        o->created_at, o->expires_at, o->zombie_deadline, o->metadata,
                        o->metadata_len, o->metadata_key, o->metadata_key_len, o->metadata_nonce,
                        o->metadata_nonce_len, o->encryption, o->redundancy,
                        (int64_t)(o->multipart != 0));
}

ts_err sat_db_object_get_committed(struct ts_db_conn *c, const uint8_t project[SAT_ID_SIZE],
                                   const uint8_t *bucket, size_t bucket_len, const uint8_t *key,
                                   size_t key_len, struct sat_object *out)
{
    struct ts_db_stmt *st = NULL;
    ts_err err = sat_sql_prepare(c,
                                 "SELECT " OBJ_COLS " FROM objects WHERE project_id = $1 AND "
                                 "bucket_name = $2 AND object_key = $3 AND status = 3 "
                                 "ORDER BY version DESC LIMIT 1",
                                 &st, "bbb", ID_ARG(project), bucket, bucket_len, key, key_len);
    return fetch_one(st, err, out);
}

ts_err sat_db_object_get_by_stream(struct ts_db_conn *c, const uint8_t stream_id[SAT_ID_SIZE],
                                   struct sat_object *out)
{
    struct ts_db_stmt *st = NULL;
    ts_err err = sat_sql_prepare(c, "SELECT " OBJ_COLS " FROM objects WHERE stream_id = $1", &st,
                                 "b", ID_ARG(stream_id));
    return fetch_one(st, err, out);
}

/* Numbers the plain offsets of a stream's segments in position order and sums the sizes. */
static ts_err number_segments(struct ts_db_conn *c, const uint8_t stream_id[SAT_ID_SIZE],
                              int64_t *count, int64_t *plain, int64_t *encrypted)
{
    struct ts_db_stmt *st = NULL;
    struct ts_db_stmt *upd = NULL;
    *count = *plain = *encrypted = 0;
    ts_err err = sat_sql_prepare(c,
                                 "SELECT position, plain_size, encrypted_size, plain_offset FROM "
                                 "segments WHERE stream_id = $1 ORDER BY position",
                                 &st, "b", ID_ARG(stream_id));
    if (err == TS_OK) {
        err = ts_db_stmt_prepare(c,
                                 "UPDATE segments SET plain_offset = $1 WHERE stream_id = $2 AND "
                                 "position = $3",
                                 &upd);
    }
    while (err == TS_OK) {
        bool row = false;
        err = ts_db_stmt_step(st, &row);
        if (err != TS_OK || !row) {
            break;
        }
        int64_t pos = ts_db_stmt_column_int64(st, 0);
        int64_t psize = ts_db_stmt_column_int64(st, 1);
        int64_t esize = ts_db_stmt_column_int64(st, 2);
        if (ts_db_stmt_column_int64(st, 3) != *plain) {
            /* PostgreSQL buffers the whole SELECT, SQLite tolerates updates of rows already
             * read: updating inside the scan is safe on both. */
            err = ts_db_stmt_reset(upd);
            if (err == TS_OK) {
                err = ts_db_stmt_bind_int64(upd, 1, *plain);
            }
            if (err == TS_OK) {
                err = ts_db_stmt_bind_blob(upd, 2, stream_id, SAT_ID_SIZE);
            }
            if (err == TS_OK) {
                err = ts_db_stmt_bind_int64(upd, 3, pos);
            }
            bool urow = false;
            if (err == TS_OK) {
                err = ts_db_stmt_step(upd, &urow);
            }
        }
        (*count)++;
        *plain += psize;
        *encrypted += esize;
    }
    ts_db_stmt_free(upd);
    ts_db_stmt_free(st);
    return err;
}

static ts_err delete_committed_at_key(struct ts_db_conn *c, const struct sat_object *o,
                                      int64_t *deleted)
{
    ts_err err =
        sat_sql_exec(c, NULL,
                     "DELETE FROM segments WHERE stream_id IN (SELECT stream_id FROM "
                     "objects WHERE project_id = $1 AND bucket_name = $2 AND "
                     "object_key = $3 AND status = 3)",
                     "bbb", ID_ARG(o->project_id), o->bucket, o->bucket_len, o->key, o->key_len);
    if (err == TS_OK) {
        err = sat_sql_exec(c, deleted,
                           "DELETE FROM objects WHERE project_id = $1 AND bucket_name = $2 AND "
                           "object_key = $3 AND status = 3",
                           "bbb", ID_ARG(o->project_id), o->bucket, o->bucket_len, o->key,
                           o->key_len);
    }
    return err;
}

ts_err sat_db_object_commit(struct ts_db_conn *c, struct sat_object *o)
{
    struct sat_object *cur = malloc(sizeof *cur);
    if (cur == NULL) {
        return TS_ERR_NOMEM;
    }
    int64_t count = 0, plain = 0, encrypted = 0;
    ts_err err = sat_db_object_get_by_stream(c, o->stream_id, cur);
    if (err == TS_OK && cur->status != SAT_OBJECT_PENDING) {
        err = TS_ERR_NOT_FOUND;
    }
    if (err == TS_OK) {
        err = number_segments(c, o->stream_id, &count, &plain, &encrypted);
    }
    if (err == TS_OK) {
        err = delete_committed_at_key(c, cur, NULL);
    }
    if (err == TS_OK) {
        err = sat_sql_exec(
            c, NULL,
            "UPDATE objects SET status = 3, zombie_deadline = 0, segment_count = $1, "
            "total_plain_size = $2, total_encrypted_size = $3, "
            "encrypted_metadata = $4, encrypted_metadata_key = $5, "
            "encrypted_metadata_nonce = $6 WHERE stream_id = $7",
            "iiibbbb", count, plain, encrypted, o->metadata, o->metadata_len, o->metadata_key,
            o->metadata_key_len, o->metadata_nonce, o->metadata_nonce_len, ID_ARG(o->stream_id));
    }
    if (err == TS_OK) {
        err = sat_db_object_get_by_stream(c, o->stream_id, o);
    }
    free(cur);
    return err;
}

ts_err sat_db_object_delete_committed(struct ts_db_conn *c, const uint8_t project[SAT_ID_SIZE],
                                      const uint8_t *bucket, size_t bucket_len, const uint8_t *key,
                                      size_t key_len, struct sat_object *out)
{
    struct sat_object *o = malloc(sizeof *o);
    if (o == NULL) {
        return TS_ERR_NOMEM;
    }
    ts_err err = sat_db_object_get_committed(c, project, bucket, bucket_len, key, key_len, o);
    if (err == TS_OK) {
        err = delete_committed_at_key(c, o, NULL);
    }
    if (err == TS_OK && out != NULL) {
        *out = *o;
    }
    free(o);
    return err;
}

ts_err sat_db_objects_scan(struct ts_db_conn *c, const uint8_t project[SAT_ID_SIZE],
                           const uint8_t *bucket, size_t bucket_len, const uint8_t *start,
                           size_t start_len, bool start_exclusive, const uint8_t *end,
                           size_t end_len, size_t limit, sat_object_fn fn, void *ctx)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT " OBJ_COLS " FROM objects WHERE project_id = $1 AND bucket_name = $2 AND "
             "status = 3 AND object_key %s $3 AND ($5 = 0 OR object_key < $4) "
             "ORDER BY object_key LIMIT $6",
             start_exclusive ? ">" : ">=");
    struct ts_db_stmt *st = NULL;
    struct sat_object *o = malloc(sizeof *o);
    if (o == NULL) {
        return TS_ERR_NOMEM;
    }
    ts_err err = sat_sql_prepare(c, sql, &st, "bbbbii", ID_ARG(project), bucket, bucket_len, start,
                                 start_len, end, end_len, (int64_t)(end != NULL), (int64_t)limit);
    if (err == TS_OK) {
        err = each_object(st, o, fn, ctx);
    }
    ts_db_stmt_free(st);
    free(o);
    return err;
}

/* Deletes the objects (and segments) whose stream ids the query returns, up to limit. */
static ts_err delete_streams(struct ts_db_conn *c, const char *select_sql, int64_t now,
                             size_t limit, int64_t *deleted)
{
    uint8_t(*ids)[SAT_ID_SIZE] = calloc(limit + 1, SAT_ID_SIZE);
    size_t n = 0;
    struct ts_db_stmt *st = NULL;
    *deleted = 0;
    if (ids == NULL) {
        return TS_ERR_NOMEM;
    }
    ts_err err = sat_sql_prepare(c, select_sql, &st, "ii", now, (int64_t)limit);
    while (err == TS_OK && n < limit) {
        bool row = false;
        err = ts_db_stmt_step(st, &row);
        if (err != TS_OK || !row) {
            break;
        }
        err = sat_sql_col_fixed(st, 0, ids[n], SAT_ID_SIZE);
        n++;
    }
    ts_db_stmt_free(st);
    for (size_t i = 0; err == TS_OK && i < n; i++) {
        err =
            sat_sql_exec(c, NULL, "DELETE FROM segments WHERE stream_id = $1", "b", ID_ARG(ids[i]));
        if (err == TS_OK) {
            err = sat_sql_exec(c, NULL, "DELETE FROM objects WHERE stream_id = $1", "b",
                               ID_ARG(ids[i]));
        }
    }
    if (err == TS_OK) {
        *deleted = (int64_t)n;
    }
    free(ids);
    return err;
}

ts_err sat_db_objects_delete_zombies(struct ts_db_conn *c, int64_t now, size_t limit,
                                     int64_t *deleted)
{
    return delete_streams(c,
                          "SELECT stream_id FROM objects WHERE status = 1 AND "
                          "zombie_deadline < $1 LIMIT $2",
                          now, limit, deleted);
}

ts_err sat_db_objects_delete_expired(struct ts_db_conn *c, int64_t now, size_t limit,
                                     int64_t *deleted)
{
    return delete_streams(c,
                          "SELECT stream_id FROM objects WHERE expires_at > 0 AND "
                          "expires_at < $1 LIMIT $2",
                          now, limit, deleted);
}

/* The smallest byte string greater than every string starting with p (false: none exists). */
static bool successor(const uint8_t *p, size_t len, uint8_t *out, size_t *out_len)
{
    if (len == 0) {
        return false;
    }
    memcpy(out, p, len);
    while (len > 0 && out[len - 1] == 0xff) {
        len--;
    }
    if (len == 0) {
        return false;
    }
    out[len - 1]++;
    *out_len = len;
    return true;
}

ts_err sat_db_objects_pending_scan(struct ts_db_conn *c, const uint8_t project[SAT_ID_SIZE],
                                   const uint8_t *bucket, size_t bucket_len, const uint8_t *prefix,
                                   size_t prefix_len, const uint8_t *cursor_key, size_t cursor_len,
                                   int64_t cursor_version, size_t limit, sat_object_fn fn,
                                   void *ctx)
{
    if (prefix_len > TS_ENCRYPTED_KEY_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    uint8_t *end = malloc(TS_ENCRYPTED_KEY_MAX + 1);
    size_t end_len = 0;
    struct sat_object *o = malloc(sizeof *o);
    struct ts_db_stmt *st = NULL;
    ts_err err = end == NULL || o == NULL ? TS_ERR_NOMEM : TS_OK;
    bool bounded = err == TS_OK && successor(prefix, prefix_len, end, &end_len);
    /* After the cursor: key > cursor, or key = cursor and version > cursor_version. */
    if (err == TS_OK) {
        err = sat_sql_prepare(
            c,
            "SELECT " OBJ_COLS " FROM objects WHERE project_id = $1 AND bucket_name = $2 AND "
            "status = 1 AND multipart = 1 AND object_key >= $3 AND ($4 = 0 OR object_key < $5) "
            "AND (object_key > $6 OR (object_key = $6 AND version > $7)) "
            "ORDER BY object_key, version LIMIT $8",
            &st, "bbbibbii", ID_ARG(project), bucket, bucket_len, prefix, prefix_len,
            (int64_t)bounded, end, end_len, cursor_key, cursor_len, cursor_version, (int64_t)limit);
    }
    if (err == TS_OK) {
        err = each_object(st, o, fn, ctx);
    }
    ts_db_stmt_free(st);
    free(o);
    free(end);
    return err;
}
