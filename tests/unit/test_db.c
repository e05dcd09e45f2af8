/* Unit tests for core/db. Every behaviour test runs twice, against SQLite (a file in a temp dir)
 * and against PostgreSQL (the throwaway server of scripts/pg-throwaway.sh, found through
 * TS_TEST_POSTGRES_URL; skipped when that is unset), so the SQL subset and the error mapping are
 * proven identical on both backends. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "db/db.h"
#include "test_db_fixture.h"

/* The URL picked the backend: SQLite for a temp dir, PostgreSQL otherwise. */
static void check_backend(struct test_db_fixture *f)
{
    assert_int_equal(ts_db_backend_get(f->db), f->dir[0] != '\0' ? TS_DB_SQLITE : TS_DB_POSTGRES);
}

static int setup_sqlite(void **state)
{
    return test_db_fixture_setup_sqlite(state, "/tmp/ts-test-db.XXXXXX", "t.db", check_backend);
}

static int setup_postgres(void **state)
{
    return test_db_fixture_setup_postgres(state, "test_db", check_backend);
}

static int teardown(void **state)
{
    return test_db_fixture_teardown(state);
}

/* ---- Helpers ---- */

static void exec_ok(struct ts_db *db, const char *sql)
{
    assert_int_equal(ts_db_exec(db, sql), TS_OK);
}

static int64_t query_int64(struct ts_db *db, const char *sql)
{
    struct ts_db_conn *c = NULL;
    struct ts_db_stmt *st = NULL;
    bool row = false;
    assert_int_equal(ts_db_conn_acquire(db, &c), TS_OK);
    assert_int_equal(ts_db_stmt_prepare(c, sql, &st), TS_OK);
    assert_int_equal(ts_db_stmt_step(st, &row), TS_OK);
    assert_true(row);
    int64_t v = ts_db_stmt_column_int64(st, 0);
    ts_db_stmt_free(st);
    ts_db_conn_release(db, c);
    return v;
}

/* ---- CRUD with every type ---- */

static const uint8_t blob_with_nuls[] = {0x00, 0x01, 0x00, 0xff, 0x5c, 0x78, 0x00};

static ts_err insert_rows(struct ts_db_conn *c, void *ctx)
{
    (void)ctx;
    struct ts_db_stmt *st = NULL;
    bool row = false;
    ts_err err = ts_db_stmt_prepare(
        c, "INSERT INTO items (id, name, data, score, note) VALUES ($1, $2, $3, $4, $5)", &st);
    assert_int_equal(err, TS_OK);
    /* Row 1: extremes and a blob full of NULs. */
    assert_int_equal(ts_db_stmt_bind_int64(st, 1, INT64_MAX), TS_OK);
    assert_int_equal(ts_db_stmt_bind_text(st, 2, "max 'quoted' \xc3\xa9"), TS_OK);
    assert_int_equal(ts_db_stmt_bind_blob(st, 3, blob_with_nuls, sizeof blob_with_nuls), TS_OK);
    assert_int_equal(ts_db_stmt_bind_double(st, 4, 0.96), TS_OK);
    assert_int_equal(ts_db_stmt_bind_null(st, 5), TS_OK);
    assert_int_equal(ts_db_stmt_step(st, &row), TS_OK);
    assert_false(row);
    assert_int_equal(ts_db_stmt_rows_affected(st), 1);
    /* Row 2: the statement again with new values; an empty blob stays non-NULL. */
    assert_int_equal(ts_db_stmt_reset(st), TS_OK);
    assert_int_equal(ts_db_stmt_bind_int64(st, 1, INT64_MIN), TS_OK);
    assert_int_equal(ts_db_stmt_bind_text(st, 2, ""), TS_OK);
    assert_int_equal(ts_db_stmt_bind_blob(st, 3, NULL, 0), TS_OK);
    assert_int_equal(ts_db_stmt_bind_double(st, 4, -1.5e300), TS_OK);
    assert_int_equal(ts_db_stmt_bind_text(st, 5, "note"), TS_OK);
    assert_int_equal(ts_db_stmt_step(st, &row), TS_OK);
    ts_db_stmt_free(st);
    return TS_OK;
}

static void check_rows(struct ts_db_conn *c)
{
    struct ts_db_stmt *st = NULL;
    bool row = false;
    size_t len = 99;
    assert_int_equal(ts_db_stmt_prepare(c,
                                        "SELECT id, name, data, score, note FROM items "
                                        "ORDER BY id DESC",
                                        &st),
                     TS_OK);
    assert_int_equal(ts_db_stmt_step(st, &row), TS_OK);
    assert_true(row);
    assert_int_equal(ts_db_stmt_column_count(st), 5);
    assert_true(ts_db_stmt_column_int64(st, 0) == INT64_MAX);
    assert_string_equal(ts_db_stmt_column_text(st, 1), "max 'quoted' \xc3\xa9");
    const uint8_t *p = ts_db_stmt_column_blob(st, 2, &len);
    assert_int_equal(len, sizeof blob_with_nuls);
    assert_memory_equal(p, blob_with_nuls, len);
    assert_true(ts_db_stmt_column_double(st, 3) == 0.96);
    assert_true(ts_db_stmt_column_is_null(st, 4));
    assert_null(ts_db_stmt_column_text(st, 4));
    assert_null(ts_db_stmt_column_blob(st, 4, &len));
    assert_int_equal(len, 0);
    assert_int_equal(ts_db_stmt_column_int64(st, 4), 0);

    assert_int_equal(ts_db_stmt_step(st, &row), TS_OK);
    assert_true(row);
    assert_true(ts_db_stmt_column_int64(st, 0) == INT64_MIN);
    assert_string_equal(ts_db_stmt_column_text(st, 1), "");
    assert_false(ts_db_stmt_column_is_null(st, 2));
    assert_non_null(ts_db_stmt_column_blob(st, 2, &len));
    assert_int_equal(len, 0);
    assert_true(ts_db_stmt_column_double(st, 3) == -1.5e300);
    assert_string_equal(ts_db_stmt_column_text(st, 4), "note");

    assert_int_equal(ts_db_stmt_step(st, &row), TS_OK);
    assert_false(row);
    assert_int_equal(ts_db_stmt_step(st, &row), TS_OK); /* done stays done */
    assert_false(row);
    ts_db_stmt_free(st);
}

static ts_err update_and_delete(struct ts_db_conn *c, void *ctx)
{
    (void)ctx;
    struct ts_db_stmt *st = NULL;
    bool row = false;
    /* $1 used twice, RETURNING, and arithmetic on an int64 parameter. */
    assert_int_equal(ts_db_stmt_prepare(c,
                                        "UPDATE items SET note = $1, score = score + $2 "
                                        "WHERE note = $1 OR note IS NULL RETURNING id",
                                        &st),
                     TS_OK);
    assert_int_equal(ts_db_stmt_bind_text(st, 1, "note"), TS_OK);
    assert_int_equal(ts_db_stmt_bind_int64(st, 2, 1), TS_OK);
    int rows = 0;
    while (ts_db_stmt_step(st, &row) == TS_OK && row) {
        rows++;
    }
    assert_int_equal(rows, 2);
    ts_db_stmt_free(st);
    assert_int_equal(ts_db_stmt_prepare(c, "DELETE FROM items WHERE id = $1", &st), TS_OK);
    assert_int_equal(ts_db_stmt_bind_int64(st, 1, INT64_MIN), TS_OK);
    assert_int_equal(ts_db_stmt_step(st, &row), TS_OK);
    assert_int_equal(ts_db_stmt_rows_affected(st), 1);
    assert_int_equal(ts_db_stmt_reset(st), TS_OK);
    assert_int_equal(ts_db_stmt_step(st, &row), TS_OK);
    assert_int_equal(ts_db_stmt_rows_affected(st), 0);
    ts_db_stmt_free(st);
    return TS_OK;
}

static const char items_sql[] = "CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT NOT NULL, "
                                "data BYTEA NOT NULL, score DOUBLE PRECISION, note TEXT)";

static void test_crud_all_types(void **state)
{
    struct test_db_fixture *f = test_db_fixture_get(state);
    exec_ok(f->db, items_sql);
    assert_int_equal(ts_db_tx(f->db, insert_rows, NULL), TS_OK);
    struct ts_db_conn *c = NULL;
    assert_int_equal(ts_db_conn_acquire(f->db, &c), TS_OK);
    check_rows(c);
    ts_db_conn_release(f->db, c);
    assert_int_equal(ts_db_tx(f->db, update_and_delete, NULL), TS_OK);
    assert_int_equal(query_int64(f->db, "SELECT COUNT(*) FROM items"), 1);
    assert_int_equal(query_int64(f->db, "SELECT SUM(score) FROM items"), 1);
}

/* ---- Unique violations and upserts ---- */

static ts_err insert_key(struct ts_db_conn *c, const char *sql, int64_t k, int64_t *affected)
{
    struct ts_db_stmt *st = NULL;
    bool row = false;
    ts_err err = ts_db_stmt_prepare(c, sql, &st);
    if (err == TS_OK) {
        err = ts_db_stmt_bind_int64(st, 1, k);
    }
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    if (err == TS_OK && affected != NULL) {
        *affected = ts_db_stmt_rows_affected(st);
    }
    ts_db_stmt_free(st);
    return err;
}

static ts_err insert_key_fn(struct ts_db_conn *c, void *ctx)
{
    return insert_key(c, "INSERT INTO keys (k, n) VALUES ($1, 0)", *(int64_t *)ctx, NULL);
}

static ts_err upserts_fn(struct ts_db_conn *c, void *ctx)
{
    (void)ctx;
    int64_t affected = -1;
    ts_err err = insert_key(c, "INSERT INTO keys (k, n) VALUES ($1, 0) ON CONFLICT (k) DO NOTHING",
                            7, &affected);
    assert_int_equal(err, TS_OK);
    assert_int_equal(affected, 0);
    err = insert_key(c,
                     "INSERT INTO keys (k, n) VALUES ($1, 0) ON CONFLICT (k) "
                     "DO UPDATE SET n = keys.n + 1",
                     7, &affected);
    assert_int_equal(err, TS_OK);
    assert_int_equal(affected, 1);
    return TS_OK;
}

static void test_unique_violation_is_exists(void **state)
{
    struct test_db_fixture *f = test_db_fixture_get(state);
    exec_ok(f->db, "CREATE TABLE keys (k BIGINT PRIMARY KEY, n BIGINT NOT NULL)");
    int64_t k = 7;
    assert_int_equal(ts_db_tx(f->db, insert_key_fn, &k), TS_OK);
    assert_int_equal(ts_db_tx(f->db, insert_key_fn, &k), TS_ERR_EXISTS);
    /* Outside a transaction too. */
    struct ts_db_conn *c = NULL;
    assert_int_equal(ts_db_conn_acquire(f->db, &c), TS_OK);
    assert_int_equal(insert_key_fn(c, &k), TS_ERR_EXISTS);
    ts_db_conn_release(f->db, c);
    assert_int_equal(ts_db_tx(f->db, upserts_fn, NULL), TS_OK);
    assert_int_equal(query_int64(f->db, "SELECT n FROM keys WHERE k = 7"), 1);
}

/* ---- Rollback ---- */

static ts_err insert_then_fail(struct ts_db_conn *c, void *ctx)
{
    (void)ctx;
    for (int64_t k = 1; k <= 3; k++) {
        assert_int_equal(insert_key(c, "INSERT INTO keys (k, n) VALUES ($1, 0)", k, NULL), TS_OK);
    }
    return TS_ERR_NOT_FOUND;
}

/* Swallows a failed statement and claims success: must still roll back, on both backends. */
static ts_err insert_ignore_failure(struct ts_db_conn *c, void *ctx)
{
    (void)ctx;
    assert_int_equal(insert_key(c, "INSERT INTO keys (k, n) VALUES ($1, 0)", 10, NULL), TS_OK);
    assert_int_equal(insert_key(c, "INSERT INTO keys (k, n) VALUES ($1, 0)", 10, NULL),
                     TS_ERR_EXISTS);
    /* The transaction is poisoned now (PostgreSQL semantics, enforced on SQLite too). */
    assert_int_equal(insert_key(c, "INSERT INTO keys (k, n) VALUES ($1, 0)", 11, NULL), TS_ERR_DB);
    return TS_OK;
}

static void test_rollback_leaves_nothing(void **state)
{
    struct test_db_fixture *f = test_db_fixture_get(state);
    exec_ok(f->db, "CREATE TABLE keys (k BIGINT PRIMARY KEY, n BIGINT NOT NULL)");
    assert_int_equal(ts_db_tx(f->db, insert_then_fail, NULL), TS_ERR_NOT_FOUND);
    assert_int_equal(query_int64(f->db, "SELECT COUNT(*) FROM keys"), 0);
    assert_int_equal(ts_db_tx(f->db, insert_ignore_failure, NULL), TS_ERR_DB);
    assert_int_equal(query_int64(f->db, "SELECT COUNT(*) FROM keys"), 0);
    /* A syntax error is a DB error and also rolls back the DDL before it. */
    assert_int_equal(ts_db_exec(f->db, "CREATE TABLE gone (x BIGINT); SELEKT 1"), TS_ERR_DB);
    assert_int_equal(ts_db_exec(f->db, "CREATE TABLE gone (x BIGINT)"), TS_OK);
}

static ts_err write_in_read_tx(struct ts_db_conn *c, void *ctx)
{
    int64_t *affected = ctx;
    struct ts_db_stmt *st = NULL;
    bool row = false;
    assert_int_equal(ts_db_stmt_prepare(c, "SELECT k FROM keys", &st), TS_OK);
    assert_int_equal(ts_db_stmt_step(st, &row), TS_OK);
    assert_true(row);
    *affected = ts_db_stmt_rows_affected(st); /* a SELECT changes nothing */
    ts_db_stmt_free(st);
    return insert_key(c, "INSERT INTO keys (k, n) VALUES ($1, 0)", 2, NULL);
}

static void test_read_tx_refuses_writes(void **state)
{
    struct test_db_fixture *f = test_db_fixture_get(state);
    exec_ok(f->db, "CREATE TABLE keys (k BIGINT PRIMARY KEY, n BIGINT NOT NULL);"
                   "INSERT INTO keys (k, n) VALUES (1, 0)");
    int64_t affected = -1;
    assert_int_equal(ts_db_tx_read(f->db, write_in_read_tx, &affected), TS_ERR_DB);
    assert_int_equal(affected, 0);
    assert_int_equal(query_int64(f->db, "SELECT COUNT(*) FROM keys"), 1);
    /* The connection is writable again afterwards. */
    int64_t k = 3;
    assert_int_equal(ts_db_tx(f->db, insert_key_fn, &k), TS_OK);
    assert_int_equal(query_int64(f->db, "SELECT COUNT(*) FROM keys"), 2);
}

/* ---- Concurrency: conflicting read-modify-write transactions from several threads ---- */

enum { COUNTER_THREADS = 4, COUNTER_INCREMENTS = 15 };

struct counter_ctx {
    struct ts_db *db;
    int attempts; /* fn calls by this thread, >= COUNTER_INCREMENTS */
};

static ts_err counter_increment(struct ts_db_conn *c, void *ctx)
{
    struct counter_ctx *cc = ctx;
    cc->attempts++;
    struct ts_db_stmt *st = NULL;
    bool row = false;
    ts_err err = ts_db_stmt_prepare(c, "SELECT n FROM keys WHERE k = 1", &st);
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    int64_t n = err == TS_OK && row ? ts_db_stmt_column_int64(st, 0) : -1;
    ts_db_stmt_free(st);
    if (err != TS_OK) {
        return err;
    }
    err = ts_db_stmt_prepare(c, "UPDATE keys SET n = $1 WHERE k = 1", &st);
    if (err == TS_OK) {
        err = ts_db_stmt_bind_int64(st, 1, n + 1);
    }
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    ts_db_stmt_free(st);
    return err;
}

static void *counter_thread(void *arg)
{
    struct counter_ctx *cc = arg;
    for (int i = 0; i < COUNTER_INCREMENTS; i++) {
        if (ts_db_tx(cc->db, counter_increment, cc) != TS_OK) {
            return (void *)1;
        }
    }
    return NULL;
}

static void test_concurrent_increments_add_up(void **state)
{
    struct test_db_fixture *f = test_db_fixture_get(state);
    exec_ok(f->db, "CREATE TABLE keys (k BIGINT PRIMARY KEY, n BIGINT NOT NULL);"
                   "INSERT INTO keys (k, n) VALUES (1, 0)");
    pthread_t th[COUNTER_THREADS];
    struct counter_ctx cc[COUNTER_THREADS];
    for (int i = 0; i < COUNTER_THREADS; i++) {
        cc[i] = (struct counter_ctx){.db = f->db};
        assert_int_equal(pthread_create(&th[i], NULL, counter_thread, &cc[i]), 0);
    }
    int attempts = 0;
    for (int i = 0; i < COUNTER_THREADS; i++) {
        void *ret = NULL;
        assert_int_equal(pthread_join(th[i], &ret), 0);
        assert_null(ret);
        attempts += cc[i].attempts;
    }
    assert_int_equal(query_int64(f->db, "SELECT n FROM keys WHERE k = 1"),
                     COUNTER_THREADS * COUNTER_INCREMENTS);
    assert_true(attempts >= COUNTER_THREADS * COUNTER_INCREMENTS);
    print_message("%d transactions took %d attempts\n", COUNTER_THREADS * COUNTER_INCREMENTS,
                  attempts);
}

/* ---- Migrations ---- */

static int data_step_calls;

static ts_err migration_data_step(struct ts_db_conn *c, void *ctx)
{
    (void)ctx;
    data_step_calls++;
    return ts_db_conn_exec(c, "INSERT INTO accounts (id, name) VALUES (1, 'first')");
}

static const struct ts_db_migration steps_v2[] = {
    {1, "accounts",
     "CREATE TABLE accounts (id BIGINT PRIMARY KEY, name TEXT NOT NULL);"
     "CREATE INDEX accounts_name ON accounts (name)",
     NULL},
    {2, "first account and email column", "ALTER TABLE accounts ADD COLUMN email TEXT",
     migration_data_step},
};

static void test_migrations_apply_once_and_refuse_newer(void **state)
{
    struct test_db_fixture *f = test_db_fixture_get(state);
    int64_t v = -1;
    assert_int_equal(ts_db_schema_version(f->db, "sat", &v), TS_OK);
    assert_int_equal(v, 0);
    data_step_calls = 0;
    assert_int_equal(ts_db_migrate(f->db, steps_v2, 1, "sat"), TS_OK);
    assert_int_equal(ts_db_schema_version(f->db, "sat", &v), TS_OK);
    assert_int_equal(v, 1);
    assert_int_equal(ts_db_migrate(f->db, steps_v2, 2, "sat"), TS_OK);
    assert_int_equal(ts_db_migrate(f->db, steps_v2, 2, "sat"), TS_OK); /* no-op */
    assert_int_equal(data_step_calls, 1);
    assert_int_equal(query_int64(f->db, "SELECT COUNT(*) FROM accounts"), 1);
    assert_int_equal(ts_db_schema_version(f->db, "sat", &v), TS_OK);
    assert_int_equal(v, 2);
    /* An older program (knows only version 1) refuses the newer database. */
    assert_int_equal(ts_db_migrate(f->db, steps_v2, 1, "sat"), TS_ERR_UNSUPPORTED_VERSION);
    /* Another schema name keeps its own history. */
    assert_int_equal(ts_db_schema_version(f->db, "node", &v), TS_OK);
    assert_int_equal(v, 0);
    /* A failing step rolls back whole and is not recorded. */
    static const struct ts_db_migration bad[] = {
        {1, "ok", "CREATE TABLE b1 (x BIGINT)", NULL},
        {2, "fails", "CREATE TABLE b2 (x BIGINT); INSERT INTO nosuch VALUES (1)", NULL},
    };
    assert_int_equal(ts_db_migrate(f->db, bad, 2, "bad"), TS_ERR_DB);
    assert_int_equal(ts_db_schema_version(f->db, "bad", &v), TS_OK);
    assert_int_equal(v, 1);
    assert_int_equal(ts_db_exec(f->db, "CREATE TABLE b2 (x BIGINT)"), TS_OK);
    static const struct ts_db_migration unordered[] = {{2, "a", NULL, NULL}, {1, "b", NULL, NULL}};
    assert_int_equal(ts_db_migrate(f->db, unordered, 2, "x"), TS_ERR_INVALID_ARGUMENT);
}

/* ---- The SQL dialect checks, keyset pagination, byte ordering ---- */

static ts_err fill_pages(struct ts_db_conn *c, void *ctx)
{
    (void)ctx;
    struct ts_db_stmt *st = NULL;
    bool row = false;
    assert_int_equal(ts_db_stmt_prepare(c, "INSERT INTO objs (key, size) VALUES ($1, $2)", &st),
                     TS_OK);
    for (int i = 0; i < 10; i++) {
        uint8_t key[2] = {(uint8_t)(i % 2 ? 0x80 + i : i), 0x00}; /* bytes above 0x7f */
        assert_int_equal(ts_db_stmt_reset(st), TS_OK);
        assert_int_equal(ts_db_stmt_bind_blob(st, 1, key, sizeof key), TS_OK);
        assert_int_equal(ts_db_stmt_bind_int64(st, 2, i), TS_OK);
        assert_int_equal(ts_db_stmt_step(st, &row), TS_OK);
    }
    ts_db_stmt_free(st);
    return TS_OK;
}

static void test_pagination_orders_bytes_alike(void **state)
{
    struct test_db_fixture *f = test_db_fixture_get(state);
    exec_ok(f->db, "CREATE TABLE objs (key BYTEA PRIMARY KEY, size BIGINT NOT NULL)");
    assert_int_equal(ts_db_tx(f->db, fill_pages, NULL), TS_OK);
    struct ts_db_conn *c = NULL;
    struct ts_db_stmt *st = NULL;
    bool row = false;
    assert_int_equal(ts_db_conn_acquire(f->db, &c), TS_OK);
    assert_int_equal(ts_db_stmt_prepare(c,
                                        "SELECT key, size FROM objs WHERE key > $1 "
                                        "ORDER BY key LIMIT $2",
                                        &st),
                     TS_OK);
    uint8_t cursor[2] = {0, 0};
    size_t cursor_len = 0;
    int64_t seen[10];
    int n = 0;
    for (int page = 0; page < 5; page++) {
        assert_int_equal(ts_db_stmt_reset(st), TS_OK);
        assert_int_equal(ts_db_stmt_bind_blob(st, 1, cursor, cursor_len), TS_OK);
        assert_int_equal(ts_db_stmt_bind_int64(st, 2, 3), TS_OK);
        while (ts_db_stmt_step(st, &row) == TS_OK && row) {
            size_t len = 0;
            const uint8_t *k = ts_db_stmt_column_blob(st, 0, &len);
            assert_int_equal(len, 2);
            memcpy(cursor, k, 2);
            cursor_len = 2;
            assert_true(n < 10);
            seen[n++] = ts_db_stmt_column_int64(st, 1);
        }
    }
    ts_db_stmt_free(st);
    /* memcmp order: even i (keys 0x00..0x08) before odd i (0x81..0x89). */
    const int64_t want[10] = {0, 2, 4, 6, 8, 1, 3, 5, 7, 9};
    assert_int_equal(n, 10);
    assert_memory_equal(seen, want, sizeof want);
    /* Parameter style is checked on both backends. */
    assert_int_equal(ts_db_stmt_prepare(c, "SELECT $0", &st), TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(ts_db_stmt_prepare(c, "SELECT size FROM objs WHERE size = $2", &st),
                     TS_ERR_INVALID_ARGUMENT); /* a gap: $1 missing */
    assert_int_equal(ts_db_stmt_prepare(c, "SELECT size FROM objs WHERE size = $1", &st), TS_OK);
    assert_int_equal(ts_db_stmt_bind_int64(st, 2, 1), TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(ts_db_stmt_step(st, &row), TS_ERR_INVALID_ARGUMENT); /* $1 unbound */
    ts_db_stmt_free(st);
    /* "$n" inside literals and comments is not a parameter. */
    assert_int_equal(ts_db_stmt_prepare(c,
                                        "SELECT '$9', size /* $8 */ FROM objs -- $7\n"
                                        "WHERE size = $1",
                                        &st),
                     TS_OK);
    assert_int_equal(ts_db_stmt_bind_int64(st, 1, 4), TS_OK);
    assert_int_equal(ts_db_stmt_step(st, &row), TS_OK);
    assert_true(row);
    assert_string_equal(ts_db_stmt_column_text(st, 0), "$9");
    assert_int_equal(ts_db_stmt_column_int64(st, 1), 4);
    ts_db_stmt_free(st);
    ts_db_conn_release(f->db, c);
}

/* ---- Lost connections ---- */

static ts_err kill_own_backend(struct ts_db_conn *c, void *ctx)
{
    (void)ctx;
    return ts_db_conn_exec(c, "SELECT pg_terminate_backend(pg_backend_pid())");
}

static void test_lost_connection_reconnects(void **state)
{
    struct test_db_fixture *f = test_db_fixture_get(state);
    if (ts_db_backend_get(f->db) != TS_DB_POSTGRES) {
        skip();
    }
    assert_int_equal(ts_db_tx(f->db, kill_own_backend, NULL), TS_ERR_UNAVAILABLE);
    assert_int_equal(query_int64(f->db, "SELECT 41 + 1"), 42); /* the pool reconnected */
}

static ts_err read_app_name(struct ts_db_conn *c, void *ctx)
{
    struct ts_db_stmt *st = NULL;
    bool row = false;
    assert_int_equal(
        ts_db_stmt_prepare(c, "SELECT current_setting('application_name'), $1 + 1", &st), TS_OK);
    assert_int_equal(ts_db_stmt_bind_int64(st, 1, INT64_C(5000000000)), TS_OK);
    assert_int_equal(ts_db_stmt_step(st, &row), TS_OK);
    assert_true(row);
    snprintf(ctx, 64, "%s", ts_db_stmt_column_text(st, 0));
    assert_true(ts_db_stmt_column_int64(st, 1) == INT64_C(5000000001)); /* int8, not int4 */
    ts_db_stmt_free(st);
    return TS_OK;
}

static void test_postgres_url_settings_win(void **state)
{
    struct test_db_fixture *f = test_db_fixture_get(state);
    if (ts_db_backend_get(f->db) != TS_DB_POSTGRES) {
        skip();
    }
    char name[64] = "";
    assert_int_equal(ts_db_tx_read(f->db, read_app_name, name), TS_OK);
    assert_string_equal(name, "tessera"); /* our default */
    size_t n = strlen(f->url) + 64;
    char *url = malloc(n);
    assert_non_null(url);
    snprintf(url, n, "%s&application_name=mine", f->url);
    struct ts_db *db = NULL;
    assert_int_equal(ts_db_open(url, &db), TS_OK);
    assert_int_equal(ts_db_tx_read(db, read_app_name, name), TS_OK);
    assert_string_equal(name, "mine"); /* the URL overrides it */
    ts_db_close(db);
    free(url);
}

/* ---- Backend-independent tests ---- */

static void test_open_refuses_bad_urls(void **state)
{
    (void)state;
    struct ts_db *db = (struct ts_db *)1;
    assert_int_equal(ts_db_open("mysql://x", &db), TS_ERR_INVALID_ARGUMENT);
    assert_null(db);
    assert_int_equal(ts_db_open("sqlite://relative.db", &db), TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(ts_db_open("sqlite://:memory:?cache=shared", &db), TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(ts_db_open("sqlite://:memory:?synchronous=normal", &db), TS_OK);
    ts_db_close(db);
    assert_int_equal(ts_db_open("sqlite:///nonexistent-dir/x/y.db", &db), TS_ERR_DB);
    struct ts_db_options o = {.pool_size = TS_DB_POOL_SIZE_MAX + 1};
    assert_int_equal(ts_db_open_with("sqlite://:memory:", &o, &db), TS_ERR_INVALID_ARGUMENT);
    ts_db_close(NULL);
}

static void test_unreachable_postgres_is_unavailable(void **state)
{
    (void)state;
    /* A loopback port nobody listens on: bind port 0, note it, close. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    close(fd);
    char url[128];
    snprintf(url, sizeof url, "postgresql://tessera@127.0.0.1:%d/x?connect_timeout=5",
             ntohs(a.sin_port));
    struct ts_db *db = NULL;
    assert_int_equal(ts_db_open(url, &db), TS_ERR_UNAVAILABLE);
    assert_null(db);
}

static ts_err memory_fn(struct ts_db_conn *c, void *ctx)
{
    (void)ctx;
    return ts_db_conn_exec(c, "INSERT INTO m VALUES (5)");
}

static void test_sqlite_memory_is_shared_by_the_pool(void **state)
{
    (void)state;
    struct ts_db *db = NULL;
    assert_int_equal(ts_db_open("sqlite://:memory:", &db), TS_OK);
    exec_ok(db, "CREATE TABLE m (x BIGINT)");
    assert_int_equal(ts_db_tx(db, memory_fn, NULL), TS_OK);
    assert_int_equal(query_int64(db, "SELECT x FROM m"), 5);
    ts_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST_DB_BOTH(test_crud_all_types),
        TEST_DB_BOTH(test_unique_violation_is_exists),
        TEST_DB_BOTH(test_rollback_leaves_nothing),
        TEST_DB_BOTH(test_read_tx_refuses_writes),
        TEST_DB_BOTH(test_concurrent_increments_add_up),
        TEST_DB_BOTH(test_migrations_apply_once_and_refuse_newer),
        TEST_DB_BOTH(test_pagination_orders_bytes_alike),
        TEST_DB_BOTH(test_lost_connection_reconnects),
        TEST_DB_BOTH(test_postgres_url_settings_win),
        cmocka_unit_test(test_open_refuses_bad_urls),
        cmocka_unit_test(test_unreachable_postgres_is_unavailable),
        cmocka_unit_test(test_sqlite_memory_is_shared_by_the_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
