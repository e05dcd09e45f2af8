/* The database fixture shared by the unit tests that run each case on both backends (test_db,
 * test_sat_db, test_sat_reputation, test_sat_repair): SQLite in a fresh temp dir, or a fresh
 * PostgreSQL schema on the throwaway server named by TS_TEST_POSTGRES_URL. When that variable is
 * unset the PostgreSQL setup leaves *state NULL and test_db_fixture_get skips the case. An
 * optional hook runs right after the database opens (migrations, backend checks). */
#ifndef TEST_DB_FIXTURE_H
#define TEST_DB_FIXTURE_H

#include "db/db.h"

struct test_db_fixture {
    struct ts_db *db;
    struct ts_db_conn *c; /* a connection the hook may hold; released by teardown */
    char dir[64];         /* SQLite temp dir, "" for PostgreSQL */
    char file[16];        /* SQLite file name inside dir */
    char *url;            /* the URL the db was opened with (malloc'd) */
};

typedef void (*test_db_opened_fn)(struct test_db_fixture *f);

/* Opens SQLite at <mkdtemp(dir_template)>/<file> into a new fixture in *state, then calls
 * opened (may be NULL). Fails the test on error. */
int test_db_fixture_setup_sqlite(void **state, const char *dir_template, const char *file,
                                 test_db_opened_fn opened);
/* Opens a fresh PostgreSQL schema named schema (or sets *state NULL without a server). */
int test_db_fixture_setup_postgres(void **state, const char *schema, test_db_opened_fn opened);
/* Closes and frees the fixture in *state (NULL: nothing) and removes the SQLite files. */
int test_db_fixture_teardown(void **state);
/* The fixture in *state; skips the running test when it is NULL (no PostgreSQL server). */
struct test_db_fixture *test_db_fixture_get(void **state);

/* Registers test t twice, on SQLite and on PostgreSQL, with the including file's setup_sqlite,
 * setup_postgres and teardown (which call the functions above). */
#define TEST_DB_BOTH(t)                                                                            \
    cmocka_unit_test_setup_teardown(t, setup_sqlite, teardown),                                    \
        cmocka_unit_test_setup_teardown(t, setup_postgres, teardown)

#endif
