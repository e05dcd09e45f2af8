/* Segments: one row per (stream, position), inline bytes or a compact alias piece list. */
#include <string.h>

#include "base/base.h"
#include "satellite/db/satdb.h"
#include "satellite/db/sql.h"

#define ID_ARG(p) (p), (size_t)SAT_ID_SIZE
#define SEG_COLS                                                                                   \
    "stream_id, position, root_piece_id, encrypted_key_nonce, encrypted_key, encrypted_size, "     \
    "plain_offset, plain_size, redundancy, inline_data, remote_alias_pieces, created_at, "         \
    "expires_at, encrypted_etag"

ts_err sat_db_segment_put(struct ts_db_conn *c, const struct sat_segment *s)
{
    ts_err err =
        sat_sql_exec(c, NULL, "DELETE FROM segments WHERE stream_id = $1 AND position = $2", "bi",
                     ID_ARG(s->stream_id), s->position);
    if (err != TS_OK) {
        return err;
    }
    /* Inline segments have NULL pieces, remote ones NULL inline data: bind through 't' NULL. */
    if (s->is_inline) {
        return sat_sql_exec(c, NULL,
                            "INSERT INTO segments (" SEG_COLS ") VALUES ($1, $2, $3, $4, $5, $6, "
                            "$7, $8, $9, $10, NULL, $11, $12, $13)",
                            "bibbbiiiibiib", ID_ARG(s->stream_id), s->position, s->root_piece_id,
                            sizeof s->root_piece_id, s->key_nonce, s->key_nonce_len,
                            s->encrypted_key, s->encrypted_key_len, s->encrypted_size,
                            s->plain_offset, s->plain_size, s->redundancy, s->inline_data,
                            s->inline_len, s->created_at, s->expires_at, s->etag, s->etag_len);
    }
    return sat_sql_exec(c, NULL,
                        "INSERT INTO segments (" SEG_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, "
                        "$8, $9, NULL, $10, $11, $12, $13)",
                        "bibbbiiiibiib", ID_ARG(s->stream_id), s->position, s->root_piece_id,
                        sizeof s->root_piece_id, s->key_nonce, s->key_nonce_len, s->encrypted_key,
                        s->encrypted_key_len, s->encrypted_size, s->plain_offset, s->plain_size,
                        s->redundancy, s->pieces, s->pieces_len, s->created_at, s->expires_at,
                        s->etag, s->etag_len);
}

static ts_err read_segment(struct ts_db_stmt *st, struct sat_segment *s)
{
    memset(s, 0, sizeof *s);
    ts_err err = sat_sql_col_fixed(st, 0, s->stream_id, SAT_ID_SIZE);
    s->position = ts_db_stmt_column_int64(st, 1);
    if (err == TS_OK) {
        err = sat_sql_col_fixed(st, 2, s->root_piece_id, sizeof s->root_piece_id);
    }
    if (err == TS_OK) {
        err = sat_sql_col_var(st, 3, s->key_nonce, sizeof s->key_nonce, &s->key_nonce_len);
    }
    if (err == TS_OK) {
        err = sat_sql_col_var(st, 4, s->encrypted_key, sizeof s->encrypted_key,
                              &s->encrypted_key_len);
    }
    s->encrypted_size = ts_db_stmt_column_int64(st, 5);
    s->plain_offset = ts_db_stmt_column_int64(st, 6);
    s->plain_size = ts_db_stmt_column_int64(st, 7);
    s->redundancy = ts_db_stmt_column_int64(st, 8);
    s->is_inline = !ts_db_stmt_column_is_null(st, 9);
    if (err == TS_OK && s->is_inline) {
        err = sat_sql_col_var(st, 9, s->inline_data, sizeof s->inline_data, &s->inline_len);
    }
    if (err == TS_OK && !s->is_inline) {
        err = sat_sql_col_var(st, 10, s->pieces, sizeof s->pieces, &s->pieces_len);
    }
    s->created_at = ts_db_stmt_column_int64(st, 11);
    s->expires_at = ts_db_stmt_column_int64(st, 12);
    if (err == TS_OK) {
        err = sat_sql_col_var(st, 13, s->etag, sizeof s->etag, &s->etag_len);
    }
    return err;
}

ts_err sat_db_segments_list(struct ts_db_conn *c, const uint8_t stream_id[SAT_ID_SIZE],
                            int64_t from, size_t limit, struct sat_segment *out, size_t *count,
                            bool *more)
{
    struct ts_db_stmt *st = NULL;
    *count = 0;
    *more = false;
    ts_err err = sat_sql_prepare(c,
                                 "SELECT " SEG_COLS " FROM segments WHERE stream_id = $1 AND "
                                 "position >= $2 ORDER BY position LIMIT $3",
                                 &st, "bii", ID_ARG(stream_id), from, (int64_t)limit + 1);
    while (err == TS_OK) {
        bool row = false;
        err = ts_db_stmt_step(st, &row);
        if (err != TS_OK || !row) {
            break;
        }
        if (*count == limit) {
            *more = true;
            break;
        }
        err = read_segment(st, &out[*count]);
        (*count)++;
    }
    ts_db_stmt_free(st);
    return err;
}

ts_err sat_db_segment_at_offset(struct ts_db_conn *c, const uint8_t stream_id[SAT_ID_SIZE],
                                int64_t plain_offset, int64_t *position)
{
    struct ts_db_stmt *st = NULL;
    bool row = false;
    *position = 0;
    ts_err err = sat_sql_prepare(c,
                                 "SELECT position FROM segments WHERE stream_id = $1 AND "
                                 "plain_offset <= $2 ORDER BY position DESC LIMIT 1",
                                 &st, "bi", ID_ARG(stream_id), plain_offset);
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    if (err == TS_OK && row) {
        *position = ts_db_stmt_column_int64(st, 0);
    }
    ts_db_stmt_free(st);
    return err;
}
