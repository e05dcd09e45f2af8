#include <stdarg.h>
#include <string.h>

#include "base/base.h"
#include "satellite/db/sql.h"

static ts_err bind_all(struct ts_db_stmt *stmt, const char *types, va_list ap)
{
    ts_err err = TS_OK;
    for (int i = 0; err == TS_OK && types[i] != 0; i++) {
        int index = i + 1;
        switch (types[i]) {
        case 'i':
            err = ts_db_stmt_bind_int64(stmt, index, va_arg(ap, int64_t));
            break;
        case 'd':
            err = ts_db_stmt_bind_double(stmt, index, va_arg(ap, double));
            break;
        case 't': {
            const char *s = va_arg(ap, const char *);
            err = s == NULL ? ts_db_stmt_bind_null(stmt, index)
                            : ts_db_stmt_bind_text(stmt, index, s);
            break;
        }
        case 'b': {
            const void *p = va_arg(ap, const void *);
            size_t len = va_arg(ap, size_t);
            err = ts_db_stmt_bind_blob(stmt, index, p, len);
            break;
        }
        default:
            TS_ASSERT(!"unknown bind type");
        }
    }
    return err;
}

ts_err sat_sql_prepare(struct ts_db_conn *conn, const char *sql, struct ts_db_stmt **out,
                       const char *types, ...)
{
    struct ts_db_stmt *stmt = NULL;
    *out = NULL;
    ts_err err = ts_db_stmt_prepare(conn, sql, &stmt);
    if (err != TS_OK) {
        return err;
    }
    va_list ap;
    va_start(ap, types);
    err = bind_all(stmt, types, ap);
    va_end(ap);
    if (err != TS_OK) {
        ts_db_stmt_free(stmt);
        return err;
    }
    *out = stmt;
    return TS_OK;
}

ts_err sat_sql_exec(struct ts_db_conn *conn, int64_t *affected, const char *sql, const char *types,
                    ...)
{
    struct ts_db_stmt *stmt = NULL;
    ts_err err = ts_db_stmt_prepare(conn, sql, &stmt);
    if (err != TS_OK) {
        return err;
    }
    va_list ap;
    va_start(ap, types);
    err = bind_all(stmt, types, ap);
    va_end(ap);
    bool row = true;
    while (err == TS_OK && row) {
        err = ts_db_stmt_step(stmt, &row);
    }
    if (err == TS_OK && affected != NULL) {
        *affected = ts_db_stmt_rows_affected(stmt);
    }
    ts_db_stmt_free(stmt);
    return err;
}

ts_err sat_sql_col_fixed(struct ts_db_stmt *stmt, int col, void *out, size_t size)
{
    size_t len = 0;
    const uint8_t *p = ts_db_stmt_column_blob(stmt, col, &len);
    if (len != size || (size > 0 && p == NULL)) {
        memset(out, 0, size);
        return TS_ERR_MALFORMED;
    }
    memcpy(out, p, size);
    return TS_OK;
}

ts_err sat_sql_col_var(struct ts_db_stmt *stmt, int col, void *out, size_t max, size_t *len)
{
    size_t n = 0;
    const uint8_t *p = ts_db_stmt_column_blob(stmt, col, &n);
    *len = 0;
    if (n > max) {
        return TS_ERR_MALFORMED;
    }
    if (n > 0) {
        memcpy(out, p, n);
    }
    *len = n;
    return TS_OK;
}

ts_err sat_sql_col_text(struct ts_db_stmt *stmt, int col, char *out, size_t out_size)
{
    const char *s = ts_db_stmt_column_text(stmt, col);
    size_t n = s == NULL ? 0 : strlen(s);
    if (n + 1 > out_size) {
        out[0] = 0;
        return TS_ERR_MALFORMED;
    }
    memcpy(out, s == NULL ? "" : s, n);
    out[n] = 0;
    return TS_OK;
}
