/*
 * Versioned schema migrations: a table ts_schema_versions records which versions of which named
 * schema were applied. Each step runs in its own transaction together with the row that records
 * it, so a crash leaves a step either fully applied and recorded or not at all.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/log.h"
#include "db/db.h"
#include "db/db_internal.h"

static const char versions_table_sql[] = "CREATE TABLE IF NOT EXISTS ts_schema_versions ("
                                         " schema_name TEXT NOT NULL,"
                                         " version BIGINT NOT NULL,"
                                         " description TEXT NOT NULL,"
                                         " applied_at_s BIGINT NOT NULL,"
                                         " PRIMARY KEY (schema_name, version))";

static ts_err versions_table_create(struct ts_db *db)
{
    ts_err err = ts_db_exec(db, versions_table_sql);
    if (err == TS_ERR_EXISTS) {
        /* Two processes racing on PostgreSQL's catalog: the other one created it. */
        err = ts_db_exec(db, versions_table_sql);
    }
    return err;
}

static ts_err version_read(struct ts_db_conn *conn, const char *schema_name, int64_t *version)
{
    struct ts_db_stmt *st = NULL;
    ts_err err = ts_db_stmt_prepare(
        conn, "SELECT COALESCE(MAX(version), 0) FROM ts_schema_versions WHERE schema_name = $1",
        &st);
    if (err != TS_OK) {
        return err;
    }
    bool row = false;
    err = ts_db_stmt_bind_text(st, 1, schema_name);
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    if (err == TS_OK) {
        *version = row ? ts_db_stmt_column_int64(st, 0) : 0;
    }
    ts_db_stmt_free(st);
    return err;
}

struct version_ctx {
    const char *schema_name;
    int64_t version;
};

static ts_err version_read_fn(struct ts_db_conn *conn, void *ctx)
{
    struct version_ctx *c = ctx;
    return version_read(conn, c->schema_name, &c->version);
}

ts_err ts_db_schema_version(struct ts_db *db, const char *schema_name, int64_t *version)
{
    ts_err err = versions_table_create(db);
    if (err != TS_OK) {
        return err;
    }
    struct version_ctx c = {.schema_name = schema_name};
    err = ts_db_tx_read(db, version_read_fn, &c);
    *version = err == TS_OK ? c.version : 0;
    return err;
}

struct step_ctx {
    const struct ts_db_migration *step;
    const char *schema_name;
    bool applied; /* false when another process applied it first */
};

static ts_err version_record(struct ts_db_conn *conn, const struct step_ctx *c)
{
    struct ts_db_stmt *st = NULL;
    ts_err err = ts_db_stmt_prepare(conn,
                                    "INSERT INTO ts_schema_versions (schema_name, version, "
                                    "description, applied_at_s) VALUES ($1, $2, $3, $4)",
                                    &st);
    if (err != TS_OK) {
        return err;
    }
    bool row = false;
    err = ts_db_stmt_bind_text(st, 1, c->schema_name);
    if (err == TS_OK) {
        err = ts_db_stmt_bind_int64(st, 2, c->step->version);
    }
    if (err == TS_OK) {
        err = ts_db_stmt_bind_text(st, 3, c->step->description ? c->step->description : "");
    }
    if (err == TS_OK) {
        err = ts_db_stmt_bind_int64(st, 4, ts_time_now_s());
    }
    if (err == TS_OK) {
        err = ts_db_stmt_step(st, &row);
    }
    ts_db_stmt_free(st);
    return err;
}

static ts_err step_fn(struct ts_db_conn *conn, void *ctx)
{
    struct step_ctx *c = ctx;
    c->applied = false;
    ts_err err = TS_OK;
    if (ts_db_conn_backend(conn) == TS_DB_POSTGRES) {
        /* Serialize migrators before anything reads (SQLite's BEGIN IMMEDIATE already does). */
        err = ts_db_conn_exec(conn, "LOCK TABLE ts_schema_versions IN EXCLUSIVE MODE");
    }
    int64_t current = 0;
    if (err == TS_OK) {
        err = version_read(conn, c->schema_name, &current);
    }
    if (err != TS_OK || current >= c->step->version) {
        return err;
    }
    if (c->step->sql != NULL) {
        err = ts_db_conn_exec(conn, c->step->sql);
    }
    if (err == TS_OK && c->step->fn != NULL) {
        err = c->step->fn(conn, NULL);
    }
    if (err == TS_OK) {
        err = version_record(conn, c);
    }
    c->applied = err == TS_OK;
    return err;
}

static ts_err steps_check(const struct ts_db_migration *steps, size_t n, const char *schema_name)
{
    if (schema_name == NULL || schema_name[0] == '\0' || n == 0) {
        ts_log_error(DB_LOG, "migrate: a schema name and at least one step are required");
        return TS_ERR_INVALID_ARGUMENT;
    }
    for (size_t i = 0; i < n; i++) {
        if (steps[i].version <= (i > 0 ? steps[i - 1].version : 0)) {
            ts_log_error(DB_LOG, "migrate %s: versions must increase from 1 (step %zu has %lld)",
                         schema_name, i, (long long)steps[i].version);
            return TS_ERR_INVALID_ARGUMENT;
        }
    }
    return TS_OK;
}

ts_err ts_db_migrate(struct ts_db *db, const struct ts_db_migration *steps, size_t n,
                     const char *schema_name)
{
    ts_err err = steps_check(steps, n, schema_name);
    int64_t current = 0;
    if (err == TS_OK) {
        err = ts_db_schema_version(db, schema_name, &current);
    }
    if (err != TS_OK) {
        return err;
    }
    int64_t known = steps[n - 1].version;
    if (current > known) {
        ts_log_error(DB_LOG,
                     "database schema %s is at version %lld, newer than this program "
                     "knows (%lld): run a newer Tessera or restore a matching backup",
                     schema_name, (long long)current, (long long)known);
        return TS_ERR_UNSUPPORTED_VERSION;
    }
    for (size_t i = 0; i < n; i++) {
        if (steps[i].version <= current) {
            continue;
        }
        struct step_ctx c = {.step = &steps[i], .schema_name = schema_name};
        err = ts_db_tx(db, step_fn, &c);
        if (err != TS_OK) {
            ts_log_error(DB_LOG, "migration %s version %lld failed: %s", schema_name,
                         (long long)steps[i].version, ts_strerror(err));
            return err;
        }
        if (c.applied) {
            ts_log_info(DB_LOG, "migrated schema=%s version=%lld (%s)", schema_name,
                        (long long)steps[i].version,
                        steps[i].description ? steps[i].description : "");
        }
    }
    return TS_OK;
}

/* ---- Test support ---- */

static bool schema_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 63 || isdigit((unsigned char)name[0])) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)name[i]) && name[i] != '_') {
            return false;
        }
    }
    return true;
}

ts_err ts_db_pg_fresh_schema_url(const char *url, const char *name, char **out)
{
    *out = NULL;
    if (!schema_name_valid(name)) {
        ts_log_error(DB_LOG, "schema name must be 1-63 letters, digits or '_'");
        return TS_ERR_INVALID_ARGUMENT;
    }
    struct ts_db_options opts = {.pool_size = 1};
    struct ts_db *db = NULL;
    ts_err err = ts_db_open_with(url, &opts, &db);
    if (err != TS_OK) {
        return err;
    }
    if (ts_db_backend_get(db) != TS_DB_POSTGRES) {
        ts_db_close(db);
        return TS_ERR_INVALID_ARGUMENT;
    }
    struct ts_buf b;
    ts_buf_init(&b, TS_DB_URL_MAX);
    err = ts_buf_printf(&b, "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", name, name);
    if (err == TS_OK) {
        err = ts_db_exec(db, (const char *)b.data);
    }
    ts_db_close(db);
    ts_buf_clear(&b);
    if (err == TS_OK) {
        /* libpq's "options" sends -c search_path=<name> at connect; '=' is percent-encoded. */
        err = ts_buf_printf(&b, "%s%soptions=-csearch_path%%3D%s", url,
                            strchr(url, '?') != NULL ? "&" : "?", name);
    }
    if (err == TS_OK) {
        *out = (char *)ts_buf_detach(&b, NULL);
    }
    ts_buf_release(&b);
    return err;
}
