/*
 * Small helpers over core/db for the satellite's queries: prepare-and-bind in one call with a
 * type string, and column copies that check sizes. Internal to satellite/db.
 *
 * Type string characters, one per $N in order:
 *   'i' int64_t   'd' double   't' const char * (NULL binds SQL NULL)
 *   'b' const void *, size_t (a byte string; NULL with length 0 binds an empty blob)
 */
#ifndef SAT_DB_SQL_H
#define SAT_DB_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "db/db.h"

/* Prepares sql on conn and binds the arguments described by types. On error nothing is left
 * prepared. */
TS_WARN_UNUSED ts_err sat_sql_prepare(struct ts_db_conn *conn, const char *sql,
                                      struct ts_db_stmt **out, const char *types, ...);
/* Prepares, binds, runs to completion and frees; *affected (may be NULL) gets the row count. */
TS_WARN_UNUSED ts_err sat_sql_exec(struct ts_db_conn *conn, int64_t *affected, const char *sql,
                                   const char *types, ...);
/* Copies a blob column that must be exactly size bytes (TS_ERR_MALFORMED otherwise). */
TS_WARN_UNUSED ts_err sat_sql_col_fixed(struct ts_db_stmt *stmt, int col, void *out, size_t size);
/* Copies a blob column of at most max bytes (TS_ERR_MALFORMED past it) and stores its length. */
TS_WARN_UNUSED ts_err sat_sql_col_var(struct ts_db_stmt *stmt, int col, void *out, size_t max,
                                      size_t *len);
/* Copies a text column into out (out_size bytes incl. NUL; TS_ERR_MALFORMED if it does not fit). */
TS_WARN_UNUSED ts_err sat_sql_col_text(struct ts_db_stmt *stmt, int col, char *out,
                                       size_t out_size);

#endif
