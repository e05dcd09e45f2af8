/*
 * The common layer of core/db: URL parsing, the bounded connection pool, transactions with retry,
 * and the checks that make both backends behave alike (a failed statement poisons its
 * transaction on SQLite exactly as it does on PostgreSQL).
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "base/log.h"
#include "db/db.h"
#include "db/db_internal.h"

struct ts_db {
    enum ts_db_backend backend;
    const struct db_ops *ops;
    char *target; /* SQLite path (or ":memory:") or the libpq URL */
    struct ts_db_options opts;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled when a connection returns to the pool */
    int size;          /* conns in the pool */
    struct ts_db_conn *conns;
};

/* ---- URL and options ---- */

/* A SQLite URL may end in "?synchronous=normal" or "?synchronous=full" (the default); the
 * query is cut off the path. */
static ts_err sqlite_query_parse(struct ts_db *db)
{
    char *q = strchr(db->target, '?');
    if (q == NULL) {
        return TS_OK;
    }
    *q++ = '\0';
    if (strcmp(q, "synchronous=normal") == 0) {
        db->opts.durability = TS_DB_DURABLE_NORMAL;
    } else if (strcmp(q, "synchronous=full") == 0) {
        db->opts.durability = TS_DB_DURABLE_FULL;
    } else {
        ts_log_error(DB_LOG, "unknown SQLite URL option \"%s\": only synchronous=normal|full", q);
        return TS_ERR_INVALID_ARGUMENT;
    }
    return TS_OK;
}

static ts_err parse_url(const char *url, struct ts_db *db)
{
    static const char sqlite_prefix[] = "sqlite://";
    if (strnlen(url, TS_DB_URL_MAX + 1) > TS_DB_URL_MAX) {
        ts_log_error(DB_LOG, "database URL is longer than %d bytes", TS_DB_URL_MAX);
        return TS_ERR_INVALID_ARGUMENT;
    }
    const char *target = NULL;
    if (strncmp(url, sqlite_prefix, sizeof sqlite_prefix - 1) == 0) {
        target = url + sizeof sqlite_prefix - 1;
        if (strncmp(target, ":memory:", 8) != 0 && target[0] != '/') {
            ts_log_error(DB_LOG, "SQLite URL needs an absolute path (sqlite:///abs/path.db) "
                                 "or sqlite://:memory:");
            return TS_ERR_INVALID_ARGUMENT;
        }
        db->backend = TS_DB_SQLITE;
        db->ops = &db_sqlite_ops;
    } else if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0) {
        target = url;
        db->backend = TS_DB_POSTGRES;
        db->ops = &db_postgres_ops;
    } else {
        ts_log_error(DB_LOG, "unknown database URL scheme: use sqlite:///path, "
                             "sqlite://:memory: or postgres://...");
        return TS_ERR_INVALID_ARGUMENT;
    }
    db->target = strdup(target);
    if (db->target == NULL) {
        return TS_ERR_NOMEM;
    }
    return db->backend == TS_DB_SQLITE ? sqlite_query_parse(db) : TS_OK;
}

static ts_err options_resolve(const struct ts_db_options *in, struct ts_db_options *out)
{
    struct ts_db_options o = {0};
    if (in != NULL) {
        o = *in;
    }
    if (o.pool_size < 0 || o.pool_size > TS_DB_POOL_SIZE_MAX || o.busy_timeout_ms < 0 ||
        o.tx_attempts_max < 0 ||
        (o.durability != TS_DB_DURABLE_FULL && o.durability != TS_DB_DURABLE_NORMAL)) {
        ts_log_error(DB_LOG, "invalid database options pool_size=%d (max %d)", o.pool_size,
                     TS_DB_POOL_SIZE_MAX);
        return TS_ERR_INVALID_ARGUMENT;
    }
    o.pool_size = o.pool_size ? o.pool_size : TS_DB_POOL_SIZE_DEFAULT;
    o.busy_timeout_ms = o.busy_timeout_ms ? o.busy_timeout_ms : TS_DB_BUSY_TIMEOUT_MS;
    o.tx_attempts_max = o.tx_attempts_max ? o.tx_attempts_max : TS_DB_TX_ATTEMPTS_MAX;
    *out = o;
    return TS_OK;
}

/* ---- Lifecycle ---- */

ts_err ts_db_open(const char *url, struct ts_db **out)
{
    return ts_db_open_with(url, NULL, out);
}

static void db_destroy(struct ts_db *db)
{
    for (int i = 0; i < db->size; i++) {
        if (db->conns[i].handle != NULL) {
            db->ops->disconnect(&db->conns[i]);
        }
    }
    pthread_cond_destroy(&db->cv);
    pthread_mutex_destroy(&db->mu);
    free(db->conns);
    free(db->target);
    free(db);
}

static ts_err pool_init(struct ts_db *db)
{
    /* An in-memory SQLite database lives in its connection: a pool of one shares it. */
    if (db->backend == TS_DB_SQLITE && strcmp(db->target, ":memory:") == 0) {
        db->opts.pool_size = 1;
    }
    db->size = db->opts.pool_size;
    db->conns = calloc((size_t)db->size, sizeof *db->conns);
    if (db->conns == NULL) {
        return TS_ERR_NOMEM;
    }
    for (int i = 0; i < db->size; i++) {
        db->conns[i].db = db;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&db->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&db->mu, NULL);
    return TS_OK;
}

ts_err ts_db_open_with(const char *url, const struct ts_db_options *opts, struct ts_db **out)
{
    TS_ASSERT(url != NULL && out != NULL);
    *out = NULL;
    struct ts_db *db = calloc(1, sizeof *db);
    if (db == NULL) {
        return TS_ERR_NOMEM;
    }
    ts_err err = options_resolve(opts, &db->opts);
    if (err == TS_OK) {
        err = parse_url(url, db);
    }
    if (err == TS_OK) {
        err = pool_init(db);
    }
    if (err != TS_OK) {
        free(db->conns);
        free(db->target);
        free(db);
        return err;
    }
    /* Open one connection now so a wrong URL or a dead server shows at start. */
    struct ts_db_conn *conn = NULL;
    err = ts_db_conn_acquire(db, &conn);
    if (err != TS_OK) {
        db_destroy(db);
        return err;
    }
    ts_db_conn_release(db, conn);
    *out = db;
    return TS_OK;
}

void ts_db_close(struct ts_db *db)
{
    if (db == NULL) {
        return;
    }
    for (int i = 0; i < db->size; i++) {
        TS_ASSERT(!db->conns[i].in_use); /* every connection returned before close */
    }
    db_destroy(db);
}

enum ts_db_backend ts_db_backend_get(const struct ts_db *db)
{
    return db->backend;
}

/* ---- The pool ---- */

/* Picks a free connection, preferring one already open. Called with db->mu held. */
static struct ts_db_conn *pool_pick(struct ts_db *db)
{
    struct ts_db_conn *closed = NULL;
    for (int i = 0; i < db->size; i++) {
        struct ts_db_conn *c = &db->conns[i];
        if (c->in_use) {
            continue;
        }
        if (c->handle != NULL) {
            return c;
        }
        if (closed == NULL) {
            closed = c;
        }
    }
    return closed;
}

static void deadline_after_ms(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(ms / 1000);
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

ts_err ts_db_conn_acquire(struct ts_db *db, struct ts_db_conn **out)
{
    struct timespec deadline;
    deadline_after_ms(&deadline, TS_DB_POOL_WAIT_MS);
    *out = NULL;
    pthread_mutex_lock(&db->mu);
    struct ts_db_conn *c;
    while ((c = pool_pick(db)) == NULL) {
        if (pthread_cond_timedwait(&db->cv, &db->mu, &deadline) == ETIMEDOUT) {
            pthread_mutex_unlock(&db->mu);
            ts_log_error(DB_LOG, "no free database connection after %d ms (pool of %d)",
                         TS_DB_POOL_WAIT_MS, db->size);
            return TS_ERR_BUSY;
        }
    }
    c->in_use = true;
    pthread_mutex_unlock(&db->mu);
    c->broken = false;
    c->in_tx = c->tx_failed = c->conflict = false;
    if (c->handle == NULL) {
        /* Connect outside the lock: no lock is held across I/O. */
        ts_err err = db->ops->connect(c, db->target, &db->opts);
        if (err != TS_OK) {
            pthread_mutex_lock(&db->mu);
            c->in_use = false;
            pthread_cond_signal(&db->cv);
            pthread_mutex_unlock(&db->mu);
            return err;
        }
    }
    *out = c;
    return TS_OK;
}

void ts_db_conn_release(struct ts_db *db, struct ts_db_conn *conn)
{
    if (conn == NULL) {
        return;
    }
    TS_ASSERT(conn->db == db && conn->in_use);
    TS_ASSERT(conn->stmts_open == 0); /* statements are freed before their connection returns */
    if (conn->broken && conn->handle != NULL) {
        db->ops->disconnect(conn); /* the next acquire reconnects */
    }
    pthread_mutex_lock(&db->mu);
    conn->in_use = false;
    pthread_cond_signal(&db->cv);
    pthread_mutex_unlock(&db->mu);
}

enum ts_db_backend ts_db_conn_backend(const struct ts_db_conn *conn)
{
    return conn->db->backend;
}

/* ---- Statements: the common checks, then the backend ---- */

/* A statement after a failure in the same transaction: PostgreSQL refuses it ("current
 * transaction is aborted"); refusing it on SQLite too keeps code that works on one backend
 * working on the other. */
static ts_err conn_check_usable(struct ts_db_conn *conn)
{
    if (conn->in_tx && conn->tx_failed) {
        ts_log_error(DB_LOG, "statement after a failed statement in the same transaction: "
                             "return the first error from the transaction function");
        return TS_ERR_DB;
    }
    return TS_OK;
}

static ts_err conn_note(struct ts_db_conn *conn, ts_err err)
{
    if (err != TS_OK && conn->in_tx) {
        conn->tx_failed = true;
    }
    return err;
}

ts_err ts_db_conn_exec(struct ts_db_conn *conn, const char *sql)
{
    ts_err err = conn_check_usable(conn);
    if (err != TS_OK) {
        return err;
    }
    return conn_note(conn, conn->db->ops->exec(conn, sql));
}

ts_err ts_db_stmt_prepare(struct ts_db_conn *conn, const char *sql, struct ts_db_stmt **out)
{
    TS_ASSERT(conn != NULL && sql != NULL && out != NULL);
    *out = NULL;
    ts_err err = conn_check_usable(conn);
    if (err != TS_OK) {
        return err;
    }
    struct ts_db_stmt *stmt = calloc(1, sizeof *stmt);
    if (stmt == NULL) {
        return TS_ERR_NOMEM;
    }
    stmt->conn = conn;
    err = conn_note(conn, conn->db->ops->prepare(stmt, sql));
    if (err != TS_OK) {
        free(stmt);
        return err;
    }
    conn->stmts_open++;
    *out = stmt;
    return TS_OK;
}

static ts_err stmt_bind(struct ts_db_stmt *stmt, int index, const struct db_value *v)
{
    if (index < 1 || index > TS_DB_PARAMS_MAX) {
        ts_log_error(DB_LOG, "bind index %d outside 1..%d", index, TS_DB_PARAMS_MAX);
        return TS_ERR_INVALID_ARGUMENT;
    }
    return stmt->conn->db->ops->bind(stmt, index, v);
}

ts_err ts_db_stmt_bind_int64(struct ts_db_stmt *stmt, int index, int64_t value)
{
    struct db_value v = {.type = DB_VALUE_INT64, .i = value};
    return stmt_bind(stmt, index, &v);
}

ts_err ts_db_stmt_bind_double(struct ts_db_stmt *stmt, int index, double value)
{
    struct db_value v = {.type = DB_VALUE_DOUBLE, .d = value};
    return stmt_bind(stmt, index, &v);
}

ts_err ts_db_stmt_bind_text(struct ts_db_stmt *stmt, int index, const char *text)
{
    if (text == NULL) {
        return ts_db_stmt_bind_null(stmt, index);
    }
    struct db_value v = {.type = DB_VALUE_TEXT, .p = text, .len = strlen(text)};
    return stmt_bind(stmt, index, &v);
}

ts_err ts_db_stmt_bind_blob(struct ts_db_stmt *stmt, int index, const void *data, size_t len)
{
    TS_ASSERT(data != NULL || len == 0);
    struct db_value v = {.type = DB_VALUE_BLOB, .p = data != NULL ? data : "", .len = len};
    return stmt_bind(stmt, index, &v);
}

ts_err ts_db_stmt_bind_null(struct ts_db_stmt *stmt, int index)
{
    struct db_value v = {.type = DB_VALUE_NULL};
    return stmt_bind(stmt, index, &v);
}

ts_err ts_db_stmt_step(struct ts_db_stmt *stmt, bool *row)
{
    *row = false;
    ts_err err = conn_check_usable(stmt->conn);
    if (err != TS_OK) {
        return err;
    }
    return conn_note(stmt->conn, stmt->conn->db->ops->step(stmt, row));
}

int64_t ts_db_stmt_rows_affected(const struct ts_db_stmt *stmt)
{
    return stmt->conn->db->ops->rows_affected(stmt);
}

ts_err ts_db_stmt_reset(struct ts_db_stmt *stmt)
{
    stmt->conn->db->ops->reset(stmt);
    return TS_OK;
}

void ts_db_stmt_free(struct ts_db_stmt *stmt)
{
    if (stmt == NULL) {
        return;
    }
    stmt->conn->db->ops->finalize(stmt);
    stmt->conn->stmts_open--;
    free(stmt);
}

/* ---- Columns ---- */

static void column_check(const struct ts_db_stmt *stmt, int col)
{
    TS_ASSERT(col >= 0 && col < stmt->conn->db->ops->column_count(stmt));
}

int ts_db_stmt_column_count(const struct ts_db_stmt *stmt)
{
    return stmt->conn->db->ops->column_count(stmt);
}

bool ts_db_stmt_column_is_null(struct ts_db_stmt *stmt, int col)
{
    column_check(stmt, col);
    return stmt->conn->db->ops->column_is_null(stmt, col);
}

int64_t ts_db_stmt_column_int64(struct ts_db_stmt *stmt, int col)
{
    column_check(stmt, col);
    return stmt->conn->db->ops->column_int64(stmt, col);
}

double ts_db_stmt_column_double(struct ts_db_stmt *stmt, int col)
{
    column_check(stmt, col);
    return stmt->conn->db->ops->column_double(stmt, col);
}

const char *ts_db_stmt_column_text(struct ts_db_stmt *stmt, int col)
{
    column_check(stmt, col);
    return stmt->conn->db->ops->column_text(stmt, col);
}

const uint8_t *ts_db_stmt_column_blob(struct ts_db_stmt *stmt, int col, size_t *len)
{
    column_check(stmt, col);
    return stmt->conn->db->ops->column_blob(stmt, col, len);
}

/* ---- Transactions ---- */

/* Sleeps a random time up to min(100 ms, 2^attempt ms) so conflicting writers spread out. */
static void backoff(int attempt, const void *salt)
{
    uint64_t x = (uint64_t)ts_monotonic_ns() ^ (uint64_t)(uintptr_t)salt;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    int64_t cap_us = attempt < 7 ? (1000LL << attempt) : 100000;
    if (cap_us > 100000) {
        cap_us = 100000;
    }
    int64_t us = (int64_t)(x % (uint64_t)cap_us);
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)us * 1000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* fn inside the open transaction; returns its result or the first failure. */
static ts_err tx_body(struct ts_db_conn *conn, ts_db_tx_fn fn, void *ctx)
{
    conn->in_tx = true;
    ts_err err = fn(conn, ctx);
    TS_ASSERT(conn->stmts_open == 0); /* the function frees its statements */
    if (err == TS_OK && conn->tx_failed) {
        ts_log_error(DB_LOG, "transaction function returned success after a failed statement: "
                             "rolling back");
        err = TS_ERR_DB;
    }
    conn->in_tx = false;
    return err;
}

/* One attempt: BEGIN, fn, COMMIT; ROLLBACK on any failure. */
static ts_err tx_attempt(struct ts_db_conn *conn, bool write, ts_db_tx_fn fn, void *ctx)
{
    const struct db_ops *ops = conn->db->ops;
    conn->conflict = conn->tx_failed = false;
    ts_err err = ops->exec(conn, write ? ops->begin_write_sql : ops->begin_read_sql);
    if (err == TS_OK) {
        err = tx_body(conn, fn, ctx);
        if (err == TS_OK) {
            err = ops->exec(conn, "COMMIT");
        }
    }
    if (err != TS_OK && !conn->broken) {
        bool conflict = conn->conflict;
        (void)ops->exec(conn, "ROLLBACK"); /* fails harmlessly when nothing is open */
        conn->conflict = conflict;
    }
    if (!write && ops->end_read_sql != NULL && !conn->broken &&
        ops->exec(conn, ops->end_read_sql) != TS_OK) {
        ts_log_error(DB_LOG, "could not end read-only mode on a connection");
    }
    return err;
}

static ts_err tx_run(struct ts_db *db, bool write, ts_db_tx_fn fn, void *ctx)
{
    struct ts_db_conn *conn = NULL;
    ts_err err = ts_db_conn_acquire(db, &conn);
    if (err != TS_OK) {
        return err;
    }
    for (int attempt = 1;; attempt++) {
        err = tx_attempt(conn, write, fn, ctx);
        if (err == TS_OK || !conn->conflict || conn->broken) {
            break;
        }
        if (attempt >= db->opts.tx_attempts_max) {
            ts_log_warn(DB_LOG, "transaction still conflicting after %d attempts", attempt);
            err = TS_ERR_BUSY;
            break;
        }
        ts_log_debug(DB_LOG, "transaction conflict, retrying attempt=%d", attempt + 1);
        backoff(attempt, conn);
    }
    ts_db_conn_release(db, conn);
    return err;
}

ts_err ts_db_tx(struct ts_db *db, ts_db_tx_fn fn, void *ctx)
{
    return tx_run(db, true, fn, ctx);
}

ts_err ts_db_tx_read(struct ts_db *db, ts_db_tx_fn fn, void *ctx)
{
    return tx_run(db, false, fn, ctx);
}

static ts_err exec_fn(struct ts_db_conn *conn, void *ctx)
{
    return ts_db_conn_exec(conn, ctx);
}

ts_err ts_db_exec(struct ts_db *db, const char *sql)
{
    return ts_db_tx(db, exec_fn, (void *)sql);
}

/* ---- Helpers shared by the backends ---- */

/* Skips a quoted literal or identifier starting at s (on the quote); returns the char after it. */
static const char *skip_quoted(const char *s)
{
    char q = *s++;
    while (*s != '\0') {
        if (*s == q && s[1] == q) {
            s += 2; /* doubled quote inside the literal */
        } else if (*s == q) {
            return s + 1;
        } else {
            s++;
        }
    }
    return s;
}

ts_err db_sql_params_max(const char *sql, int *max)
{
    uint8_t used[TS_DB_PARAMS_MAX + 1] = {0};
    int m = 0;
    const char *s = sql;
    while (*s != '\0') {
        if (*s == '\'' || *s == '"') {
            s = skip_quoted(s);
            continue;
        }
        if (s[0] == '-' && s[1] == '-') {
            s += strcspn(s, "\n");
            continue;
        }
        if (s[0] == '/' && s[1] == '*') {
            const char *e = strstr(s + 2, "*/");
            s = e != NULL ? e + 2 : s + strlen(s);
            continue;
        }
        if (*s != '$' || s[1] < '0' || s[1] > '9') {
            s++;
            continue;
        }
        long n = 0;
        for (s++; *s >= '0' && *s <= '9'; s++) {
            n = n * 10 + (*s - '0');
            if (n > TS_DB_PARAMS_MAX) {
                ts_log_error(DB_LOG, "SQL parameter beyond $%d", TS_DB_PARAMS_MAX);
                return TS_ERR_INVALID_ARGUMENT;
            }
        }
        if (n == 0) {
            ts_log_error(DB_LOG, "SQL parameter $0: numbering starts at $1");
            return TS_ERR_INVALID_ARGUMENT;
        }
        m = (int)n > m ? (int)n : m;
        used[n] = 1;
    }
    for (int i = 1; i <= m; i++) {
        if (!used[i]) {
            ts_log_error(DB_LOG,
                         "SQL parameters must be numbered $1..$%d without gaps ($%d "
                         "is missing)",
                         m, i);
            return TS_ERR_INVALID_ARGUMENT;
        }
    }
    *max = m;
    return TS_OK;
}

const char *db_sql_excerpt(const char *sql, char *buf, size_t size)
{
    size_t j = 0;
    for (size_t i = 0; sql[i] != '\0' && j + 4 < size; i++) {
        char c = sql[i];
        if (c == '\n' || c == '\t' || c == '\r') {
            c = ' ';
        }
        if (c == ' ' && j > 0 && buf[j - 1] == ' ') {
            continue;
        }
        buf[j++] = c;
        if (j + 4 == size && sql[i + 1] != '\0') {
            buf[j++] = '.';
            buf[j++] = '.';
            buf[j++] = '.';
            break;
        }
    }
    buf[j] = '\0';
    return buf;
}
