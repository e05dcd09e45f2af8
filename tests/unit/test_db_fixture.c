/* SQLite / PostgreSQL fixture for the database unit tests (see test_db_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "db/db.h"
#include "test_db_fixture.h"

static int fixture_open(struct test_db_fixture *f, test_db_opened_fn opened, void **state)
{
    assert_int_equal(ts_db_open(f->url, &f->db), TS_OK);
    if (opened != NULL) {
        opened(f);
    }
    *state = f;
    return 0;
}

int test_db_fixture_setup_sqlite(void **state, const char *dir_template, const char *file,
                                 test_db_opened_fn opened)
{
    struct test_db_fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_true(strlen(dir_template) < sizeof f->dir && strlen(file) < sizeof f->file);
    snprintf(f->dir, sizeof f->dir, "%s", dir_template);
    snprintf(f->file, sizeof f->file, "%s", file);
    assert_non_null(mkdtemp(f->dir));
    size_t n = strlen(f->dir) + strlen(f->file) + 32;
    f->url = malloc(n);
    assert_non_null(f->url);
    snprintf(f->url, n, "sqlite://%s/%s", f->dir, f->file);
    return fixture_open(f, opened, state);
}

int test_db_fixture_setup_postgres(void **state, const char *schema, test_db_opened_fn opened)
{
    const char *base = getenv("TS_TEST_POSTGRES_URL");
    *state = NULL;
    if (base == NULL || base[0] == '\0') {
        return 0; /* each test skips */
    }
    struct test_db_fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(ts_db_pg_fresh_schema_url(base, schema, &f->url), TS_OK);
    return fixture_open(f, opened, state);
}

int test_db_fixture_teardown(void **state)
{
    struct test_db_fixture *f = *state;
    if (f == NULL) {
        return 0;
    }
    if (f->c != NULL) {
        ts_db_conn_release(f->db, f->c);
    }
    ts_db_close(f->db);
    if (f->dir[0] != '\0') {
        char path[128];
        const char *suffixes[] = {"", "-wal", "-shm"};
        for (size_t i = 0; i < TS_ARRAY_LEN(suffixes); i++) {
            snprintf(path, sizeof path, "%s/%s%s", f->dir, f->file, suffixes[i]);
            unlink(path);
        }
        rmdir(f->dir);
    }
    free(f->url);
    free(f);
    return 0;
}

struct test_db_fixture *test_db_fixture_get(void **state)
{
    if (*state == NULL) {
        skip(); /* PostgreSQL tests outside ctest: no TS_TEST_POSTGRES_URL */
    }
    return *state;
}
