/* Buckets. Names are stored as bytes (they are plain, validated by metainfo). */
#include <string.h>

#include "base/base.h"
#include "satellite/db/satdb.h"
#include "satellite/db/sql.h"

#define ID_ARG(p) (p), (size_t)SAT_ID_SIZE

ts_err sat_db_bucket_insert(struct ts_db_conn *c, const struct sat_bucket *b)
{
    return sat_sql_exec(c, NULL,
                        "INSERT INTO buckets (project_id, name, created_at, placement) "
                        "VALUES ($1, $2, $3, $4)",
                        "bbii", ID_ARG(b->project_id), b->name, b->name_len, b->created_at,
                        b->placement);
}

static ts_err read_bucket(struct ts_db_stmt *st, struct sat_bucket *out)
{
    memset(out, 0, sizeof *out);
    ts_err err = sat_sql_col_fixed(st, 0, out->project_id, SAT_ID_SIZE);
    if (err == TS_OK) {
        err = sat_sql_col_var(st, 1, out->name, sizeof out->name, &out->name_len);
    }
    out->created_at = ts_db_stmt_column_int64(st, 2);
    out->placement = ts_db_stmt_column_int64(st, 3);
    return err;
}

ts_err sat_db_bucket_get(struct ts_db_conn *c, const uint8_t project[SAT_ID_SIZE],
                         const uint8_t *name, size_t name_len, struct sat_bucket *out)
{
    struct ts_db_stmt *st = NULL;
    bool row = false;
    memset(out, 0, sizeof *out);
    ts_err err = sat_sql_prepare(c,
                                 "SELECT project_id, name, created_at, placement FROM buckets "
                                 "WHERE project_id = $1 AND name = $2",
                                 &st, "bb", ID_ARG(project), name, name_len);
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    if (err == TS_OK && !row) {
        err = TS_ERR_NOT_FOUND;
    }
    if (err == TS_OK) {
        err = read_bucket(st, out);
    }
    ts_db_stmt_free(st);
    return err;
}

ts_err sat_db_bucket_list(struct ts_db_conn *c, const uint8_t project[SAT_ID_SIZE],
                          const uint8_t *cursor, size_t cursor_len, size_t limit,
                          struct sat_bucket *out, size_t *count, bool *more)
{
    struct ts_db_stmt *st = NULL;
    *count = 0;
    *more = false;
    ts_err err =
        sat_sql_prepare(c,
                        "SELECT project_id, name, created_at, placement FROM buckets "
                        "WHERE project_id = $1 AND name > $2 ORDER BY name LIMIT $3",
                        &st, "bbi", ID_ARG(project), cursor, cursor_len, (int64_t)limit + 1);
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
        err = read_bucket(st, &out[*count]);
        (*count)++;
    }
    ts_db_stmt_free(st);
    return err;
}

ts_err sat_db_bucket_count(struct ts_db_conn *c, const uint8_t project[SAT_ID_SIZE], int64_t *count)
{
    struct ts_db_stmt *st = NULL;
    bool row = false;
    *count = 0;
    ts_err err = sat_sql_prepare(c, "SELECT COUNT(*) FROM buckets WHERE project_id = $1", &st, "b",
                                 ID_ARG(project));
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    if (err == TS_OK && row) {
        *count = ts_db_stmt_column_int64(st, 0);
    }
    ts_db_stmt_free(st);
    return err;
}

ts_err sat_db_bucket_delete(struct ts_db_conn *c, const uint8_t project[SAT_ID_SIZE],
                            const uint8_t *name, size_t name_len)
{
    int64_t n = 0;
    ts_err err = sat_sql_exec(c, &n, "DELETE FROM buckets WHERE project_id = $1 AND name = $2",
                              "bb", ID_ARG(project), name, name_len);
    if (err == TS_OK && n == 0) {
        err = TS_ERR_NOT_FOUND;
    }
    return err;
}

ts_err sat_db_bucket_is_empty(struct ts_db_conn *c, const uint8_t project[SAT_ID_SIZE],
                              const uint8_t *name, size_t name_len, bool *empty)
{
    struct ts_db_stmt *st = NULL;
    bool row = false;
    *empty = false;
    ts_err err = sat_sql_prepare(c,
                                 "SELECT 1 FROM objects WHERE project_id = $1 AND bucket_name = $2 "
                                 "LIMIT 1",
                                 &st, "bb", ID_ARG(project), name, name_len);
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    if (err == TS_OK) {
        *empty = !row;
    }
    ts_db_stmt_free(st);
    return err;
}

ts_err sat_db_bucket_delete_objects(struct ts_db_conn *c, const uint8_t project[SAT_ID_SIZE],
                                    const uint8_t *name, size_t name_len, int64_t *deleted)
{
    ts_err err = sat_sql_exec(c, NULL,
                              "DELETE FROM segments WHERE stream_id IN (SELECT stream_id FROM "
                              "objects WHERE project_id = $1 AND bucket_name = $2)",
                              "bb", ID_ARG(project), name, name_len);
    int64_t n = 0;
    if (err == TS_OK) {
        err = sat_sql_exec(c, &n,
                           "DELETE FROM objects WHERE project_id = $1 AND bucket_name = $2 "
                           "AND status = 3",
                           "bb", ID_ARG(project), name, name_len);
    }
    if (err == TS_OK) {
        err =
            sat_sql_exec(c, NULL, "DELETE FROM objects WHERE project_id = $1 AND bucket_name = $2",
                         "bb", ID_ARG(project), name, name_len);
    }
    if (deleted != NULL) {
        *deleted = err == TS_OK ? n : 0;
    }
    return err;
}
