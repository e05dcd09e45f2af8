/* Serial -> bucket attribution, settled node windows, and bandwidth rollups. */
#include <string.h>

#include "base/base.h"
#include "satellite/db/satdb.h"
#include "satellite/db/sql.h"

#define ID_ARG(p) (p), (size_t)SAT_ID_SIZE
#define NID_ARG(p) (p), (size_t)TS_NODE_ID_SIZE

ts_err sat_db_serial_insert(struct ts_db_conn *c, const uint8_t serial[16],
                            const uint8_t project[SAT_ID_SIZE], const uint8_t *bucket,
                            size_t bucket_len, int64_t expires_at)
{
    return sat_sql_exec(c, NULL,
                        "INSERT INTO serials (serial, project_id, bucket_name, expires_at) "
                        "VALUES ($1, $2, $3, $4) ON CONFLICT (serial) DO NOTHING",
                        "bbbi", serial, (size_t)16, ID_ARG(project), bucket, bucket_len,
                        expires_at);
}

ts_err sat_db_serial_get(struct ts_db_conn *c, const uint8_t serial[16],
                         uint8_t project[SAT_ID_SIZE], uint8_t *bucket, size_t *bucket_len)
{
    struct ts_db_stmt *st = NULL;
    bool row = false;
    *bucket_len = 0;
    ts_err err = sat_sql_prepare(c, "SELECT project_id, bucket_name FROM serials WHERE serial = $1",
                                 &st, "b", serial, (size_t)16);
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    if (err == TS_OK && !row) {
        err = TS_ERR_NOT_FOUND;
    }
    if (err == TS_OK) {
        err = sat_sql_col_fixed(st, 0, project, SAT_ID_SIZE);
    }
    if (err == TS_OK) {
        err = sat_sql_col_var(st, 1, bucket, TS_BUCKET_NAME_MAX, bucket_len);
    }
    ts_db_stmt_free(st);
    return err;
}

ts_err sat_db_serials_delete_expired(struct ts_db_conn *c, int64_t now, int64_t *deleted)
{
    return sat_sql_exec(c, deleted, "DELETE FROM serials WHERE expires_at < $1", "i", now);
}

ts_err sat_db_bucket_bandwidth_add(struct ts_db_conn *c, const uint8_t project[SAT_ID_SIZE],
                                   const uint8_t *bucket, size_t bucket_len, int64_t hour,
                                   int action, int64_t allocated, int64_t settled)
{
    return sat_sql_exec(c, NULL,
                        "INSERT INTO bucket_bandwidth (project_id, bucket_name, interval_start, "
                        "action, allocated, settled) VALUES ($1, $2, $3, $4, $5, $6) "
                        "ON CONFLICT (project_id, bucket_name, interval_start, action) DO UPDATE "
                        "SET allocated = bucket_bandwidth.allocated + excluded.allocated, "
                        "settled = bucket_bandwidth.settled + excluded.settled",
                        "bbiiii", ID_ARG(project), bucket, bucket_len, hour, (int64_t)action,
                        allocated, settled);
}

ts_err sat_db_bucket_bandwidth_total(struct ts_db_conn *c, const uint8_t project[SAT_ID_SIZE],
                                     const uint8_t *bucket, size_t bucket_len, int64_t from,
                                     int64_t to, int action, int64_t *allocated, int64_t *settled)
{
    struct ts_db_stmt *st = NULL;
    bool row = false;
    *allocated = *settled = 0;
    ts_err err = sat_sql_prepare(c,
                                 "SELECT COALESCE(SUM(allocated), 0), COALESCE(SUM(settled), 0) "
                                 "FROM bucket_bandwidth WHERE project_id = $1 AND bucket_name = $2 "
                                 "AND interval_start >= $3 AND interval_start < $4 AND "
                                 "($5 < 0 OR action = $5)",
                                 &st, "bbiii", ID_ARG(project), bucket, bucket_len, from, to,
                                 (int64_t)action);
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    if (err == TS_OK && row) {
        *allocated = ts_db_stmt_column_int64(st, 0);
        *settled = ts_db_stmt_column_int64(st, 1);
    }
    ts_db_stmt_free(st);
    return err;
}

ts_err sat_db_node_window_get(struct ts_db_conn *c, const uint8_t node[TS_NODE_ID_SIZE],
                              int64_t window, bool *found, int64_t *total, int64_t *items)
{
    struct ts_db_stmt *st = NULL;
    *found = false;
    *total = *items = 0;
    ts_err err = sat_sql_prepare(c,
                                 "SELECT total, items FROM node_windows WHERE node_id = $1 AND "
                                 "window_start = $2",
                                 &st, "bi", NID_ARG(node), window);
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, found);
    }
    if (err == TS_OK && *found) {
        *total = ts_db_stmt_column_int64(st, 0);
        *items = ts_db_stmt_column_int64(st, 1);
    }
    ts_db_stmt_free(st);
    return err;
}

ts_err sat_db_node_window_insert(struct ts_db_conn *c, const uint8_t node[TS_NODE_ID_SIZE],
                                 int64_t window, int64_t total, int64_t items, int64_t now)
{
    return sat_sql_exec(c, NULL,
                        "INSERT INTO node_windows (node_id, window_start, total, items, "
                        "settled_at) VALUES ($1, $2, $3, $4, $5)",
                        "biiii", NID_ARG(node), window, total, items, now);
}

ts_err sat_db_node_bandwidth_add(struct ts_db_conn *c, const uint8_t node[TS_NODE_ID_SIZE],
                                 int64_t window, int action, int64_t amount)
{
    return sat_sql_exec(c, NULL,
                        "INSERT INTO node_bandwidth (node_id, window_start, action, amount) "
                        "VALUES ($1, $2, $3, $4) ON CONFLICT (node_id, window_start, action) "
                        "DO UPDATE SET amount = node_bandwidth.amount + excluded.amount",
                        "biii", NID_ARG(node), window, (int64_t)action, amount);
}

ts_err sat_db_node_bandwidth_total(struct ts_db_conn *c, const uint8_t node[TS_NODE_ID_SIZE],
                                   int64_t from, int64_t to, int action, int64_t *total)
{
    struct ts_db_stmt *st = NULL;
    bool row = false;
    *total = 0;
    ts_err err = sat_sql_prepare(c,
                                 "SELECT COALESCE(SUM(amount), 0) FROM node_bandwidth WHERE "
                                 "node_id = $1 AND window_start >= $2 AND window_start < $3 AND "
                                 "($4 < 0 OR action = $4)",
                                 &st, "biii", NID_ARG(node), from, to, (int64_t)action);
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    if (err == TS_OK && row) {
        *total = ts_db_stmt_column_int64(st, 0);
    }
    ts_db_stmt_free(st);
    return err;
}
