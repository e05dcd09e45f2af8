/*
 * Operator commands of tessera-satellite that read or change node state directly in the database
 * (main.c parses the command line; docs/satellite.md "Admin"):
 *   node list            one line per node: ID, address, state, audit/unknown/online scores, exit
 *   node disqualify ID   marks a node disqualified now (its pieces count as lost; idempotent)
 *   exit list            one line per graceful exit with its state, times and online checks
 * `gc restore-trash NODE` dials the node and lives in satellite/gc (sat_gc_restore_trash).
 */
#ifndef SAT_ADMIN_ADMIN_H
#define SAT_ADMIN_ADMIN_H

#include <stdint.h>
#include <stdio.h>

#include "base/base.h"
#include "db/db.h"
#include "satellite/config.h"

/* Prints every node (ordered by ID): "<id> <address> state=<online|offline|disqualified|
 * suspended|exiting|exited> audit=<score> unknown=<score> online=<score> vetted=<0|1>
 * exit=<none|running|succeeded|failed>". A node is online when contacted within
 * cfg->online_window_s of now_s with no failure since. */
TS_WARN_UNUSED ts_err sat_admin_node_list(struct ts_db *db, const struct sat_config *cfg,
                                          int64_t now_s, FILE *out);
/* Disqualifies node id at now_s. TS_ERR_NOT_FOUND for an unknown node; a node disqualified
 * before keeps its first time. */
TS_WARN_UNUSED ts_err sat_admin_node_disqualify(struct ts_db *db, const uint8_t id[32],
                                                int64_t now_s);
/* Prints every graceful exit: "<id> state=<running|succeeded|failed> initiated_at=..
 * completes_at=.. finished_at=.. checks=<online>/<total> [reason=..]". */
TS_WARN_UNUSED ts_err sat_admin_exit_list(struct ts_db *db, FILE *out);

#endif
