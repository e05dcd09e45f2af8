/*
 * Inside core/db: the table of backend operations (as curl hides each TLS backend behind one
 * table) and the structures the common layer (db.c) shares with the backends (sqlite.c,
 * postgres.c). Nothing outside core/db includes this.
 */
#ifndef TS_DB_DB_INTERNAL_H
#define TS_DB_DB_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "db/db.h"

#define DB_LOG "db"

enum db_value_type { DB_VALUE_NULL, DB_VALUE_INT64, DB_VALUE_DOUBLE, DB_VALUE_TEXT, DB_VALUE_BLOB };

/* One bound parameter as the common layer hands it to a backend (borrowed; backends copy). */
struct db_value {
    enum db_value_type type;
    int64_t i;
    double d;
    const void *p; /* text (NUL-terminated) or blob bytes */
    size_t len;    /* blob length; text length without the NUL */
};

struct ts_db_conn {
    struct ts_db *db;
    void *handle;   /* sqlite3 * or PGconn *; NULL until connected */
    bool in_use;    /* lent out by the pool (guarded by db->mu) */
    bool broken;    /* the connection is lost: close it when it comes back to the pool */
    bool in_tx;     /* inside ts_db_tx */
    bool tx_failed; /* a statement failed inside this transaction: it can only roll back */
    bool conflict;  /* the last failure was a serialization conflict: retry the transaction */
    int stmts_open; /* prepared and not yet freed */
};

struct ts_db_stmt {
    struct ts_db_conn *conn;
    void *backend; /* the backend's statement state */
};

struct db_ops {
    const char *begin_write_sql;
    const char *begin_read_sql;
    const char *end_read_sql; /* run after a read transaction ends; may be NULL */
    /* Opens conn->handle to target (a SQLite path or a libpq URL). */
    ts_err (*connect)(struct ts_db_conn *conn, const char *target,
                      const struct ts_db_options *opts);
    void (*disconnect)(struct ts_db_conn *conn);
    ts_err (*exec)(struct ts_db_conn *conn, const char *sql);
    ts_err (*prepare)(struct ts_db_stmt *stmt, const char *sql);
    ts_err (*bind)(struct ts_db_stmt *stmt, int index, const struct db_value *v);
    ts_err (*step)(struct ts_db_stmt *stmt, bool *row);
    int64_t (*rows_affected)(const struct ts_db_stmt *stmt);
    void (*reset)(struct ts_db_stmt *stmt);
    void (*finalize)(struct ts_db_stmt *stmt);
    int (*column_count)(const struct ts_db_stmt *stmt);
    bool (*column_is_null)(struct ts_db_stmt *stmt, int col);
    int64_t (*column_int64)(struct ts_db_stmt *stmt, int col);
    double (*column_double)(struct ts_db_stmt *stmt, int col);
    const char *(*column_text)(struct ts_db_stmt *stmt, int col);
    const uint8_t *(*column_blob)(struct ts_db_stmt *stmt, int col, size_t *len);
};

extern const struct db_ops db_sqlite_ops;
extern const struct db_ops db_postgres_ops;

/* Counts the distinct parameter numbers $1..$N in sql (outside quotes and comments) into *max,
 * failing with INVALID_ARGUMENT past TS_DB_PARAMS_MAX, on "$0" or on a gap ($1, $3 without $2). */
ts_err db_sql_params_max(const char *sql, int *max);

/* Logs sql shortened to one readable fragment (for error lines). */
const char *db_sql_excerpt(const char *sql, char *buf, size_t size);

#endif
