/*
 * The SQLite backend. Each pooled connection is its own sqlite3 handle opened without SQLite's
 * internal mutex (the pool lends a connection to one thread at a time). Parameters are written
 * $1..$N: SQLite takes them as named parameters, so binds look their slot up by name, and prepare
 * refuses any other parameter style so the SQL also runs on PostgreSQL.
 */
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "db/db_internal.h"

struct sq_stmt {
    sqlite3_stmt *st;
    bool done; /* stepped to SQLITE_DONE (or failed): further steps return no row */
    int64_t changes;
    int nparams;                         /* distinct parameters in the SQL: $1..$nparams */
    uint8_t bound[TS_DB_PARAMS_MAX + 1]; /* by $N */
};

/* Maps an error of handle h to a ts_err, logging the detail once, and marks conflicts. */
static ts_err sq_error(struct ts_db_conn *conn, int rc, const char *sql)
{
    sqlite3 *h = conn->handle;
    char ex[160];
    const char *msg = h != NULL ? sqlite3_errmsg(h) : sqlite3_errstr(rc);
    int primary = rc & 0xff;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
        conn->conflict = true;
        ts_log_debug(DB_LOG, "sqlite busy: %s", msg);
        return TS_ERR_BUSY;
    }
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        ts_log_debug(DB_LOG, "sqlite unique violation: %s", msg);
        return TS_ERR_EXISTS;
    }
    ts_log_error(DB_LOG, "sqlite: %s (code %d) sql=\"%s\"", msg, rc,
                 sql != NULL ? db_sql_excerpt(sql, ex, sizeof ex) : "");
    return primary == SQLITE_FULL ? TS_ERR_NO_SPACE : TS_ERR_DB;
}

static ts_err sq_exec(struct ts_db_conn *conn, const char *sql)
{
    if (strcmp(sql, "ROLLBACK") == 0 && sqlite3_get_autocommit(conn->handle)) {
        return TS_OK; /* nothing open (BEGIN failed, or SQLite already rolled back) */
    }
    int rc = sqlite3_exec(conn->handle, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? TS_OK : sq_error(conn, sqlite3_extended_errcode(conn->handle), sql);
}

static ts_err sq_connect(struct ts_db_conn *conn, const char *target,
                         const struct ts_db_options *opts)
{
    sqlite3 *h = NULL;
    int rc = sqlite3_open_v2(
        target, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        ts_log_error(DB_LOG, "sqlite: cannot open %s: %s", target,
                     h != NULL ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
        sqlite3_close(h);
        return TS_ERR_DB;
    }
    conn->handle = h;
    sqlite3_extended_result_codes(h, 1);
    sqlite3_busy_timeout(h, opts->busy_timeout_ms);
    /* WAL: readers never block the writer. synchronous: see enum ts_db_durability. */
    const char *sync = opts->durability == TS_DB_DURABLE_FULL ? "PRAGMA synchronous=FULL"
                                                              : "PRAGMA synchronous=NORMAL";
    ts_err err = sq_exec(conn, "PRAGMA journal_mode=WAL");
    if (err == TS_OK) {
        err = sq_exec(conn, sync);
    }
    if (err == TS_OK) {
        err = sq_exec(conn, "PRAGMA foreign_keys=ON");
    }
    if (err != TS_OK) {
        sqlite3_close(h);
        conn->handle = NULL;
        return err == TS_ERR_BUSY ? TS_ERR_BUSY : TS_ERR_DB;
    }
    return TS_OK;
}

static void sq_disconnect(struct ts_db_conn *conn)
{
    sqlite3_close(conn->handle); /* every statement was finalized: the pool checks */
    conn->handle = NULL;
}

/* Accepts only "$<n>" parameters numbered 1..count without gaps (what PostgreSQL needs). */
static ts_err sq_check_params(sqlite3_stmt *st, const char *sql, int *nparams)
{
    int count = sqlite3_bind_parameter_count(st);
    int max = 0;
    ts_err err = db_sql_params_max(sql, &max);
    if (err != TS_OK) {
        return err;
    }
    for (int i = 1; i <= count; i++) {
        const char *name = sqlite3_bind_parameter_name(st, i);
        if (name == NULL || name[0] != '$' || name[1] < '1' || name[1] > '9') {
            ts_log_error(DB_LOG, "SQL parameter %s: write parameters as $1, $2, ...",
                         name != NULL ? name : "?");
            return TS_ERR_INVALID_ARGUMENT;
        }
    }
    if (count != max) {
        ts_log_error(DB_LOG, "SQL parameters must be numbered $1..$%d without gaps", max);
        return TS_ERR_INVALID_ARGUMENT;
    }
    *nparams = count;
    return TS_OK;
}

static ts_err sq_prepare(struct ts_db_stmt *stmt, const char *sql)
{
    struct ts_db_conn *conn = stmt->conn;
    struct sq_stmt *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return TS_ERR_NOMEM;
    }
    const char *tail = NULL;
    int rc = sqlite3_prepare_v2(conn->handle, sql, -1, &s->st, &tail);
    ts_err err = TS_OK;
    if (rc != SQLITE_OK) {
        err = sq_error(conn, sqlite3_extended_errcode(conn->handle), sql);
    } else if (s->st == NULL || (tail != NULL && strspn(tail, " \t\r\n;") != strlen(tail))) {
        ts_log_error(DB_LOG, "a prepared statement holds exactly one SQL statement");
        err = TS_ERR_INVALID_ARGUMENT;
    } else {
        err = sq_check_params(s->st, sql, &s->nparams);
    }
    if (err != TS_OK) {
        sqlite3_finalize(s->st);
        free(s);
        return err;
    }
    stmt->backend = s;
    return TS_OK;
}

static ts_err sq_bind(struct ts_db_stmt *stmt, int index, const struct db_value *v)
{
    struct sq_stmt *s = stmt->backend;
    char name[16];
    snprintf(name, sizeof name, "$%d", index);
    int slot = sqlite3_bind_parameter_index(s->st, name);
    if (slot == 0) {
        ts_log_error(DB_LOG, "bind $%d: the statement has no such parameter", index);
        return TS_ERR_INVALID_ARGUMENT;
    }
    int rc = SQLITE_OK;
    switch (v->type) {
    case DB_VALUE_NULL:
        rc = sqlite3_bind_null(s->st, slot);
        break;
    case DB_VALUE_INT64:
        rc = sqlite3_bind_int64(s->st, slot, v->i);
        break;
    case DB_VALUE_DOUBLE:
        rc = sqlite3_bind_double(s->st, slot, v->d);
        break;
    case DB_VALUE_TEXT:
        rc = sqlite3_bind_text64(s->st, slot, v->p, v->len, SQLITE_TRANSIENT, SQLITE_UTF8);
        break;
    case DB_VALUE_BLOB:
        /* A zero-length blob bound from a pointer stays a blob (not NULL) in SQLite. */
        rc = sqlite3_bind_blob64(s->st, slot, v->p, v->len, SQLITE_TRANSIENT);
        break;
    }
    if (rc != SQLITE_OK) {
        return rc == SQLITE_NOMEM ? TS_ERR_NOMEM : sq_error(stmt->conn, rc, NULL);
    }
    s->bound[index] = 1;
    return TS_OK;
}

static ts_err sq_step(struct ts_db_stmt *stmt, bool *row)
{
    struct sq_stmt *s = stmt->backend;
    if (s->done) {
        return TS_OK;
    }
    for (int i = 1; i <= s->nparams; i++) {
        if (!s->bound[i]) {
            ts_log_error(DB_LOG, "parameter $%d was not bound", i);
            return TS_ERR_INVALID_ARGUMENT;
        }
    }
    int rc = sqlite3_step(s->st);
    if (rc == SQLITE_ROW) {
        *row = true;
        return TS_OK;
    }
    s->done = true;
    if (rc == SQLITE_DONE) {
        /* sqlite3_changes64 keeps the last write's count: a SELECT changed nothing. */
        s->changes = sqlite3_stmt_readonly(s->st) ? 0 : sqlite3_changes64(stmt->conn->handle);
        return TS_OK;
    }
    ts_err err =
        sq_error(stmt->conn, sqlite3_extended_errcode(stmt->conn->handle), sqlite3_sql(s->st));
    sqlite3_reset(s->st);
    return err;
}

static int64_t sq_rows_affected(const struct ts_db_stmt *stmt)
{
    const struct sq_stmt *s = stmt->backend;
    return s->changes;
}

static void sq_reset(struct ts_db_stmt *stmt)
{
    struct sq_stmt *s = stmt->backend;
    sqlite3_reset(s->st);
    s->done = false;
    s->changes = 0;
}

static void sq_finalize(struct ts_db_stmt *stmt)
{
    struct sq_stmt *s = stmt->backend;
    sqlite3_finalize(s->st);
    free(s);
}

static int sq_column_count(const struct ts_db_stmt *stmt)
{
    const struct sq_stmt *s = stmt->backend;
    return sqlite3_column_count(s->st);
}

static sqlite3_stmt *sq_st(struct ts_db_stmt *stmt)
{
    return ((struct sq_stmt *)stmt->backend)->st;
}

static bool sq_column_is_null(struct ts_db_stmt *stmt, int col)
{
    return sqlite3_column_type(sq_st(stmt), col) == SQLITE_NULL;
}

static int64_t sq_column_int64(struct ts_db_stmt *stmt, int col)
{
    return sqlite3_column_int64(sq_st(stmt), col);
}

static double sq_column_double(struct ts_db_stmt *stmt, int col)
{
    return sqlite3_column_double(sq_st(stmt), col);
}

static const char *sq_column_text(struct ts_db_stmt *stmt, int col)
{
    return (const char *)sqlite3_column_text(sq_st(stmt), col);
}

static const uint8_t *sq_column_blob(struct ts_db_stmt *stmt, int col, size_t *len)
{
    sqlite3_stmt *st = sq_st(stmt);
    if (sqlite3_column_type(st, col) == SQLITE_NULL) {
        *len = 0;
        return NULL;
    }
    const uint8_t *p = sqlite3_column_blob(st, col);
    *len = (size_t)sqlite3_column_bytes(st, col);
    return p != NULL ? p : (const uint8_t *)""; /* an empty blob is not NULL */
}

const struct db_ops db_sqlite_ops = {
    .begin_write_sql = "BEGIN IMMEDIATE",
    /* query_only makes writes in ts_db_tx_read fail as PostgreSQL's READ ONLY does. */
    .begin_read_sql = "PRAGMA query_only=1; BEGIN DEFERRED",
    .end_read_sql = "PRAGMA query_only=0",
    .connect = sq_connect,
    .disconnect = sq_disconnect,
    .exec = sq_exec,
    .prepare = sq_prepare,
    .bind = sq_bind,
    .step = sq_step,
    .rows_affected = sq_rows_affected,
    .reset = sq_reset,
    .finalize = sq_finalize,
    .column_count = sq_column_count,
    .column_is_null = sq_column_is_null,
    .column_int64 = sq_column_int64,
    .column_double = sq_column_double,
    .column_text = sq_column_text,
    .column_blob = sq_column_blob,
};
