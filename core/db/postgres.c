/*
 * The PostgreSQL backend over libpq. A statement keeps its SQL and parameters and runs with
 * PQexecParams (one round trip: parse, bind, execute) the first time it is stepped; parameters
 * carry explicit types (int8, float8, text, bytea) so "$1 + 1" means the same as in SQLite.
 * Results come back in text format and are buffered whole; bytea arrives hex-encoded ("\x..")
 * and is decoded per column on demand.
 */
#include <errno.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "db/db_internal.h"

/* Type OIDs from PostgreSQL's catalog (pg_type.dat); stable across versions. */
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_TEXT 25
#define OID_FLOAT8 701

struct pg_param {
    char *data; /* heap copy (text or blob) or points at num */
    int len;
    int format; /* 0 text, 1 binary */
    Oid type;
    bool bound;
    bool owned;   /* data is a heap copy */
    char num[32]; /* decimal text of an int64 or double */
};

struct pg_blob {
    uint8_t *data; /* decoded bytea of column col in row `row` */
    size_t cap;
    size_t len;
    int row; /* -1: nothing decoded */
};

struct pg_stmt {
    char *sql;
    int nparams;
    struct pg_param *params; /* [nparams] */
    PGresult *res;           /* NULL until executed */
    int row;                 /* current row, -1 before the first */
    int nrows;
    int64_t changes;
    struct pg_blob *blobs; /* [PQnfields(res)] */
};

/* ---- Errors ---- */

static bool sqlstate_is(const char *state, const char *want)
{
    return state != NULL && strcmp(state, want) == 0;
}

/* Maps a failed result (or NULL: the connection failed) to a ts_err, logging the detail once. */
static ts_err pg_error(struct ts_db_conn *conn, const PGresult *res, const char *sql)
{
    PGconn *h = conn->handle;
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(h);
    char ex[160];
    size_t mlen = strcspn(msg, "\n");
    if (PQstatus(h) != CONNECTION_OK || (state != NULL && strncmp(state, "08", 2) == 0) ||
        sqlstate_is(state, "57P01") || sqlstate_is(state, "57P02") || sqlstate_is(state, "57P03")) {
        conn->broken = true;
        ts_log_error(DB_LOG, "postgres: connection lost: %.*s", (int)mlen, msg);
        return TS_ERR_UNAVAILABLE;
    }
    if (sqlstate_is(state, "40001") || sqlstate_is(state, "40P01")) {
        conn->conflict = true;
        ts_log_debug(DB_LOG, "postgres conflict sqlstate=%s: %.*s", state, (int)mlen, msg);
        return TS_ERR_BUSY;
    }
    if (sqlstate_is(state, "23505")) {
        ts_log_debug(DB_LOG, "postgres unique violation: %.*s", (int)mlen, msg);
        return TS_ERR_EXISTS;
    }
    ts_log_error(DB_LOG, "postgres: %.*s sqlstate=%s sql=\"%s\"", (int)mlen, msg,
                 state != NULL ? state : "-",
                 sql != NULL ? db_sql_excerpt(sql, ex, sizeof ex) : "");
    return sqlstate_is(state, "53100") ? TS_ERR_NO_SPACE : TS_ERR_DB;
}

static ts_err pg_result_check(struct ts_db_conn *conn, PGresult *res, const char *sql)
{
    ExecStatusType st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        return TS_OK;
    }
    return pg_error(conn, res, sql);
}

/* ---- Connections ---- */

static void pg_notice(void *arg, const char *message)
{
    (void)arg;
    ts_log_debug(DB_LOG, "postgres notice: %.*s", (int)strcspn(message, "\n"), message);
}

static ts_err pg_connect(struct ts_db_conn *conn, const char *target,
                         const struct ts_db_options *opts)
{
    (void)opts;
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", TS_DB_CONNECT_TIMEOUT_S);
    /* Later entries win: the URL (expanded from dbname) overrides our defaults. */
    const char *const keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *const values[] = {timeout, "tessera", target, NULL};
    PGconn *h = PQconnectdbParams(keys, values, 1);
    if (h == NULL) {
        return TS_ERR_NOMEM;
    }
    if (PQstatus(h) != CONNECTION_OK) {
        const char *msg = PQerrorMessage(h);
        ts_log_error(DB_LOG, "postgres: cannot connect: %.*s", (int)strcspn(msg, "\n"), msg);
        PQfinish(h);
        return TS_ERR_UNAVAILABLE;
    }
    PQsetNoticeProcessor(h, pg_notice, NULL);
    conn->handle = h;
    return TS_OK;
}

static void pg_disconnect(struct ts_db_conn *conn)
{
    PQfinish(conn->handle);
    conn->handle = NULL;
}

static ts_err pg_exec(struct ts_db_conn *conn, const char *sql)
{
    PGresult *res = PQexec(conn->handle, sql);
    ts_err err = pg_result_check(conn, res, sql);
    PQclear(res);
    return err;
}

/* ---- Statements ---- */

static ts_err pg_prepare(struct ts_db_stmt *stmt, const char *sql)
{
    int n = 0;
    ts_err err = db_sql_params_max(sql, &n);
    if (err != TS_OK) {
        return err;
    }
    struct pg_stmt *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return TS_ERR_NOMEM;
    }
    s->sql = strdup(sql);
    s->params = calloc((size_t)(n > 0 ? n : 1), sizeof *s->params);
    if (s->sql == NULL || s->params == NULL) {
        free(s->sql);
        free(s->params);
        free(s);
        return TS_ERR_NOMEM;
    }
    s->nparams = n;
    s->row = -1;
    stmt->backend = s;
    return TS_OK;
}

static void param_clear(struct pg_param *p)
{
    if (p->owned) {
        free(p->data);
    }
    memset(p, 0, sizeof *p);
}

static ts_err param_copy(struct pg_param *p, const void *data, size_t len)
{
    if (len > INT32_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    p->data = malloc(len + 1);
    if (p->data == NULL) {
        return TS_ERR_NOMEM;
    }
    memcpy(p->data, data, len);
    p->data[len] = '\0';
    p->len = (int)len;
    p->owned = true;
    return TS_OK;
}

static ts_err pg_bind(struct ts_db_stmt *stmt, int index, const struct db_value *v)
{
    struct pg_stmt *s = stmt->backend;
    if (index > s->nparams) {
        ts_log_error(DB_LOG, "bind $%d: the statement has no such parameter", index);
        return TS_ERR_INVALID_ARGUMENT;
    }
    struct pg_param *p = &s->params[index - 1];
    param_clear(p);
    ts_err err = TS_OK;
    switch (v->type) {
    case DB_VALUE_NULL:
        break; /* data NULL, type 0: the server infers it */
    case DB_VALUE_INT64:
        p->type = OID_INT8;
        p->len = snprintf(p->num, sizeof p->num, "%lld", (long long)v->i);
        p->data = p->num;
        break;
    case DB_VALUE_DOUBLE:
        p->type = OID_FLOAT8;
        p->len = snprintf(p->num, sizeof p->num, "%.17g", v->d);
        p->data = p->num;
        break;
    case DB_VALUE_TEXT:
        p->type = OID_TEXT;
        err = param_copy(p, v->p, v->len);
        break;
    case DB_VALUE_BLOB:
        p->type = OID_BYTEA;
        p->format = 1;
        err = param_copy(p, v->p, v->len);
        break;
    }
    if (err != TS_OK) {
        param_clear(p);
        return err;
    }
    p->bound = true;
    return TS_OK;
}

static ts_err pg_execute(struct ts_db_stmt *stmt)
{
    struct pg_stmt *s = stmt->backend;
    const char *values[TS_DB_PARAMS_MAX];
    int lengths[TS_DB_PARAMS_MAX], formats[TS_DB_PARAMS_MAX];
    Oid types[TS_DB_PARAMS_MAX];
    for (int i = 0; i < s->nparams; i++) {
        const struct pg_param *p = &s->params[i];
        if (!p->bound) {
            ts_log_error(DB_LOG, "parameter $%d was not bound", i + 1);
            return TS_ERR_INVALID_ARGUMENT;
        }
        values[i] = p->data;
        lengths[i] = p->len;
        formats[i] = p->format;
        types[i] = p->type;
    }
    PGresult *res =
        PQexecParams(stmt->conn->handle, s->sql, s->nparams, types, values, lengths, formats, 0);
    ts_err err = pg_result_check(stmt->conn, res, s->sql);
    if (err != TS_OK) {
        PQclear(res);
        return err;
    }
    int nf = PQnfields(res);
    s->blobs = calloc((size_t)(nf > 0 ? nf : 1), sizeof *s->blobs);
    if (s->blobs == NULL) {
        PQclear(res);
        return TS_ERR_NOMEM;
    }
    for (int i = 0; i < nf; i++) {
        s->blobs[i].row = -1;
    }
    s->res = res;
    s->nrows = PQntuples(res);
    const char *tuples = PQcmdTuples(res);
    bool write = PQresultStatus(res) == PGRES_COMMAND_OK || strncmp(PQcmdStatus(res), "SELECT", 6);
    s->changes = write && tuples[0] != '\0' ? strtoll(tuples, NULL, 10) : 0;
    return TS_OK;
}

static ts_err pg_step(struct ts_db_stmt *stmt, bool *row)
{
    struct pg_stmt *s = stmt->backend;
    if (s->res == NULL) {
        if (s->row >= 0) {
            return TS_OK; /* failed execution: done until reset */
        }
        s->row = 0;
        ts_err err = pg_execute(stmt);
        if (err != TS_OK) {
            return err;
        }
        s->row = -1;
    }
    if (s->row < s->nrows) {
        s->row++;
    }
    *row = s->row < s->nrows;
    return TS_OK;
}

static int64_t pg_rows_affected(const struct ts_db_stmt *stmt)
{
    const struct pg_stmt *s = stmt->backend;
    return s->changes;
}

static void pg_result_free(struct pg_stmt *s)
{
    if (s->blobs != NULL) {
        int nf = s->res != NULL ? PQnfields(s->res) : 0;
        for (int i = 0; i < nf; i++) {
            free(s->blobs[i].data);
        }
        free(s->blobs);
        s->blobs = NULL;
    }
    PQclear(s->res);
    s->res = NULL;
}

static void pg_reset(struct ts_db_stmt *stmt)
{
    struct pg_stmt *s = stmt->backend;
    pg_result_free(s);
    s->row = -1;
    s->nrows = 0;
    s->changes = 0;
}

static void pg_finalize(struct ts_db_stmt *stmt)
{
    struct pg_stmt *s = stmt->backend;
    pg_result_free(s);
    for (int i = 0; i < s->nparams; i++) {
        param_clear(&s->params[i]);
    }
    free(s->params);
    free(s->sql);
    free(s);
}

/* ---- Columns ---- */

static int pg_column_count(const struct ts_db_stmt *stmt)
{
    const struct pg_stmt *s = stmt->backend;
    return s->res != NULL ? PQnfields(s->res) : 0;
}

/* The current row; a getter without a current row is a programmer error. */
static const struct pg_stmt *pg_current(struct ts_db_stmt *stmt)
{
    const struct pg_stmt *s = stmt->backend;
    TS_ASSERT(s->res != NULL && s->row >= 0 && s->row < s->nrows);
    return s;
}

static bool pg_column_is_null(struct ts_db_stmt *stmt, int col)
{
    const struct pg_stmt *s = pg_current(stmt);
    return PQgetisnull(s->res, s->row, col) != 0;
}

static int64_t pg_column_int64(struct ts_db_stmt *stmt, int col)
{
    const struct pg_stmt *s = pg_current(stmt);
    if (PQgetisnull(s->res, s->row, col)) {
        return 0;
    }
    const char *v = PQgetvalue(s->res, s->row, col);
    if (strcmp(v, "t") == 0 || strcmp(v, "f") == 0) {
        return v[0] == 't'; /* a boolean expression such as EXISTS (...) */
    }
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno == 0 && end != v && *end == '\0') {
        return n;
    }
    /* A real number (e.g. SUM over DOUBLE PRECISION): truncate toward zero as SQLite does. */
    double d = strtod(v, &end);
    if (end != v && *end == '\0' && d > -9.2e18 && d < 9.2e18) {
        return (int64_t)d;
    }
    ts_log_warn(DB_LOG, "column %d is not an int64: \"%.40s\"", col, v);
    return 0;
}

static double pg_column_double(struct ts_db_stmt *stmt, int col)
{
    const struct pg_stmt *s = pg_current(stmt);
    if (PQgetisnull(s->res, s->row, col)) {
        return 0;
    }
    return strtod(PQgetvalue(s->res, s->row, col), NULL);
}

static const char *pg_column_text(struct ts_db_stmt *stmt, int col)
{
    const struct pg_stmt *s = pg_current(stmt);
    if (PQgetisnull(s->res, s->row, col)) {
        return NULL;
    }
    return PQgetvalue(s->res, s->row, col);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Decodes the hex bytea output format "\x0a1b..." (the server default since 9.0) into b. */
static bool bytea_decode(const char *text, size_t len, struct pg_blob *b)
{
    if (len < 2 || text[0] != '\\' || text[1] != 'x' || len % 2 != 0) {
        return false;
    }
    size_t n = (len - 2) / 2;
    if (n + 1 > b->cap) {
        uint8_t *p = realloc(b->data, n + 1);
        if (p == NULL) {
            return false;
        }
        b->data = p;
        b->cap = n + 1;
    }
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value(text[2 + 2 * i]), lo = hex_value(text[3 + 2 * i]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        b->data[i] = (uint8_t)(hi << 4 | lo);
    }
    b->len = n;
    return true;
}

static const uint8_t *pg_column_blob(struct ts_db_stmt *stmt, int col, size_t *len)
{
    struct pg_stmt *s = stmt->backend;
    pg_current(stmt);
    *len = 0;
    if (PQgetisnull(s->res, s->row, col)) {
        return NULL;
    }
    const char *v = PQgetvalue(s->res, s->row, col);
    size_t vlen = (size_t)PQgetlength(s->res, s->row, col);
    if (PQftype(s->res, col) != OID_BYTEA) {
        *len = vlen; /* text and other types: their text form */
        return (const uint8_t *)v;
    }
    struct pg_blob *b = &s->blobs[col];
    if (b->row != s->row) {
        if (!bytea_decode(v, vlen, b)) {
            ts_log_error(DB_LOG, "column %d: bytea value is not in hex format", col);
            return NULL;
        }
        b->row = s->row;
    }
    *len = b->len;
    return b->data;
}

const struct db_ops db_postgres_ops = {
    .begin_write_sql = "BEGIN ISOLATION LEVEL SERIALIZABLE",
    .begin_read_sql = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .exec = pg_exec,
    .prepare = pg_prepare,
    .bind = pg_bind,
    .step = pg_step,
    .rows_affected = pg_rows_affected,
    .reset = pg_reset,
    .finalize = pg_finalize,
    .column_count = pg_column_count,
    .column_is_null = pg_column_is_null,
    .column_int64 = pg_column_int64,
    .column_double = pg_column_double,
    .column_text = pg_column_text,
    .column_blob = pg_column_blob,
};
