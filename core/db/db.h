/*
 * The database interface: one API, two backends. SQLite ("sqlite:///abs/path.db", the embedded
 * default, WAL) and PostgreSQL through libpq ("postgres://..." or "postgresql://...", also the
 * route to CockroachDB). This module is the only one that touches sqlite3 or libpq.
 *
 * SQL is written once, in the subset both engines accept (docs/db.md lists the rules): parameters
 * are $1, $2 ... on both backends, integers are BIGINT, byte strings BYTEA, no BOOLEAN, no
 * SERIAL/AUTOINCREMENT. A ts_db is a bounded pool of connections shared by all threads; work runs
 * inside ts_db_tx, which retries the whole function on serialization conflicts. docs/db.md has the
 * rules, the durability choices and the throwaway PostgreSQL server tests use.
 *
 * Threads: ts_db_* functions taking a struct ts_db are thread-safe. A ts_db_conn (and its
 * statements) belongs to the one thread that acquired it until it is released.
 */
#ifndef TS_DB_DB_H
#define TS_DB_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

struct ts_db;      /* a connection pool; thread-safe */
struct ts_db_conn; /* one connection, lent to one thread at a time by the pool */
struct ts_db_stmt; /* a prepared statement on one connection */

enum ts_db_backend { TS_DB_SQLITE, TS_DB_POSTGRES };

/* SQLite durability. FULL (default) fsyncs the WAL at every commit: a transaction that returned
 * TS_OK survives power loss, which the satellite needs (an acknowledged upload must not vanish).
 * NORMAL fsyncs only at checkpoints: never corrupt, but the last commits may roll back after a
 * power cut; acceptable for caches. PostgreSQL durability is the server's configuration. */
enum ts_db_durability { TS_DB_DURABLE_FULL, TS_DB_DURABLE_NORMAL };

struct ts_db_options {
    int pool_size;       /* connections, 1..TS_DB_POOL_SIZE_MAX; 0 = TS_DB_POOL_SIZE_DEFAULT */
    int busy_timeout_ms; /* SQLite lock wait; 0 = TS_DB_BUSY_TIMEOUT_MS */
    int tx_attempts_max; /* ts_db_tx attempts on conflicts; 0 = TS_DB_TX_ATTEMPTS_MAX */
    enum ts_db_durability durability; /* SQLite only */
};

/* ---- Lifecycle ----
 * ts_db_open: url is "sqlite:///abs/path.db", "sqlite://:memory:" (private to this ts_db; its pool
 * has one connection), or a libpq URL "postgres://..."/"postgresql://...". A SQLite URL may end
 * in "?synchronous=normal" (or "=full"), which overrides opts->durability. One connection is opened
 * at once to validate the URL; the rest open on demand. SQLite connections use WAL,
 * busy_timeout, foreign_keys=ON and synchronous=FULL (see ts_db_durability).
 * Errors: INVALID_ARGUMENT (unknown scheme, relative path, URL longer than TS_DB_URL_MAX),
 * UNAVAILABLE (PostgreSQL server unreachable or refusing us), DB (SQLite cannot open the file).
 * The backend's detail is logged once. ts_db_close waits for nothing: every connection must have
 * been returned; ts_db_close(NULL) is a no-op. */
TS_WARN_UNUSED ts_err ts_db_open(const char *url, struct ts_db **out);
TS_WARN_UNUSED ts_err ts_db_open_with(const char *url, const struct ts_db_options *opts,
                                      struct ts_db **out);
void ts_db_close(struct ts_db *db);
enum ts_db_backend ts_db_backend_get(const struct ts_db *db);

/* ---- Transactions ----
 * ts_db_tx runs fn(conn, ctx) inside BEGIN ... COMMIT on a pooled connection. If fn returns an
 * error, the transaction rolls back and that error is returned. If fn or COMMIT hits a
 * serialization conflict (PostgreSQL/CockroachDB SQLSTATE 40001 or 40P01, SQLite BUSY/LOCKED),
 * the transaction rolls back and fn runs again from the start, up to tx_attempts_max times with a
 * short randomized backoff; past that it returns TS_ERR_BUSY. fn must therefore be idempotent
 * apart from its database effects (no side effects outside the DB, or ones safe to repeat), and
 * must free every statement it prepared before returning.
 * Isolation: PostgreSQL SERIALIZABLE (the same guarantee SQLite gives and CockroachDB's default,
 * so read-modify-write logic is correct on every backend); SQLite BEGIN IMMEDIATE (writers
 * serialize on the database lock, waiting up to busy_timeout_ms).
 * ts_db_tx_read is for read-only work: PostgreSQL REPEATABLE READ READ ONLY (one consistent
 * snapshot, no conflicts), SQLite BEGIN DEFERRED (readers run concurrently with the writer); a
 * write inside it fails with TS_ERR_DB on both.
 * A statement that fails inside a transaction ends it on PostgreSQL; the same is enforced on
 * SQLite: later statements fail with TS_ERR_DB, and if fn still returns TS_OK the transaction
 * rolls back and TS_ERR_DB is returned. To tolerate duplicates use ON CONFLICT DO NOTHING and
 * ts_db_stmt_rows_affected instead of catching TS_ERR_EXISTS.
 * Do not call ts_db_tx from inside fn: it would take a second connection and, on SQLite, wait for
 * its own lock. Waiting for a free pooled connection is bounded by TS_DB_POOL_WAIT_MS (BUSY). */
typedef ts_err (*ts_db_tx_fn)(struct ts_db_conn *conn, void *ctx);
TS_WARN_UNUSED ts_err ts_db_tx(struct ts_db *db, ts_db_tx_fn fn, void *ctx);
TS_WARN_UNUSED ts_err ts_db_tx_read(struct ts_db *db, ts_db_tx_fn fn, void *ctx);

/* Runs sql (one or more ';'-separated statements, no parameters, e.g. DDL) in its own
 * transaction. */
TS_WARN_UNUSED ts_err ts_db_exec(struct ts_db *db, const char *sql);

/* ---- Connections outside ts_db_tx ----
 * For work that needs no transaction (each statement autocommits). Release every acquired
 * connection, after freeing its statements. */
TS_WARN_UNUSED ts_err ts_db_conn_acquire(struct ts_db *db, struct ts_db_conn **out);
void ts_db_conn_release(struct ts_db *db, struct ts_db_conn *conn);
enum ts_db_backend ts_db_conn_backend(const struct ts_db_conn *conn);
/* Runs sql (one or more ';'-separated statements, no parameters) on conn. */
TS_WARN_UNUSED ts_err ts_db_conn_exec(struct ts_db_conn *conn, const char *sql);

/* ---- Statements ----
 * Parameters are written $1 .. $N (N <= TS_DB_PARAMS_MAX) and may repeat; bind every number used.
 * Binds copy their data (the caller's buffers may be reused at once) and are 1-based like $N.
 * Bind the type the column has: PostgreSQL refuses bigint = text where SQLite would coerce.
 * Bind errors: INVALID_ARGUMENT (index out of range or not in the SQL), NOMEM.
 * ts_db_stmt_step executes on the first call and then moves to the next row: *row is true when a
 * row is available, false when done. Errors: EXISTS (unique or primary-key violation), DB (any
 * other failure, detail logged), UNAVAILABLE (connection lost), BUSY (conflict; inside ts_db_tx
 * return it and the transaction is retried).
 * PostgreSQL results are buffered whole: page through large tables with keyset pagination and
 * LIMIT (both backends accept LIMIT $n).
 * ts_db_stmt_reset makes the statement executable again (bindings kept, rebind what changes).
 * ts_db_stmt_free(NULL) is a no-op. */
TS_WARN_UNUSED ts_err ts_db_stmt_prepare(struct ts_db_conn *conn, const char *sql,
                                         struct ts_db_stmt **out);
TS_WARN_UNUSED ts_err ts_db_stmt_bind_int64(struct ts_db_stmt *stmt, int index, int64_t value);
TS_WARN_UNUSED ts_err ts_db_stmt_bind_double(struct ts_db_stmt *stmt, int index, double value);
TS_WARN_UNUSED ts_err ts_db_stmt_bind_text(struct ts_db_stmt *stmt, int index, const char *text);
TS_WARN_UNUSED ts_err ts_db_stmt_bind_blob(struct ts_db_stmt *stmt, int index, const void *data,
                                           size_t len); /* len 0: an empty blob, not NULL */
TS_WARN_UNUSED ts_err ts_db_stmt_bind_null(struct ts_db_stmt *stmt, int index);
TS_WARN_UNUSED ts_err ts_db_stmt_step(struct ts_db_stmt *stmt, bool *row);
/* Rows inserted, updated or deleted by the last completed execution; 0 for a SELECT. */
int64_t ts_db_stmt_rows_affected(const struct ts_db_stmt *stmt);
TS_WARN_UNUSED ts_err ts_db_stmt_reset(struct ts_db_stmt *stmt);
void ts_db_stmt_free(struct ts_db_stmt *stmt);

/* ---- Columns of the current row (0-based) ----
 * Valid after ts_db_stmt_step set *row. Pointers returned stay valid until the next step, reset or
 * free. NULL reads as 0, NULL text and NULL blob (len 0); an empty blob reads as a non-NULL
 * pointer with len 0. Asking for a column out of range is a programmer error (assertion). */
int ts_db_stmt_column_count(const struct ts_db_stmt *stmt);
bool ts_db_stmt_column_is_null(struct ts_db_stmt *stmt, int col);
int64_t ts_db_stmt_column_int64(struct ts_db_stmt *stmt, int col);
double ts_db_stmt_column_double(struct ts_db_stmt *stmt, int col);
const char *ts_db_stmt_column_text(struct ts_db_stmt *stmt, int col);
const uint8_t *ts_db_stmt_column_blob(struct ts_db_stmt *stmt, int col, size_t *len);

/* ---- Migrations ----
 * Versions are applied in order, each in its own transaction: its sql (one or more statements,
 * may be NULL), then fn(conn, NULL) (may be NULL) for data changes, then a row in
 * ts_schema_versions (schema_name, version). Versions are 1, 2, 3 ... strictly increasing;
 * schema_name lets several components keep their own history in one database. Running again is a
 * no-op; two processes migrating at once are safe. A database whose schema is newer than the last
 * step is refused with TS_ERR_UNSUPPORTED_VERSION and a log line naming both versions. */
struct ts_db_migration {
    int64_t version;
    const char *description; /* one line, stored with the version */
    const char *sql;
    ts_db_tx_fn fn;
};
TS_WARN_UNUSED ts_err ts_db_migrate(struct ts_db *db, const struct ts_db_migration *steps, size_t n,
                                    const char *schema_name);
/* The applied version of schema_name (0 when none) into *version. */
TS_WARN_UNUSED ts_err ts_db_schema_version(struct ts_db *db, const char *schema_name,
                                           int64_t *version);

/* ---- Test support ----
 * Lets test programs share one throwaway PostgreSQL server (see docs/db.md): drops and recreates
 * the schema `name` (letters, digits, '_' only) on the server at url and returns in *out (malloc'd,
 * caller frees) a URL whose connections use that schema (search_path). */
TS_WARN_UNUSED ts_err ts_db_pg_fresh_schema_url(const char *url, const char *name, char **out);

#endif
