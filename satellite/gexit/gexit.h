/*
 * Graceful exit, satellite side (reference §8.7, time-based; docs/gc.md). A node calls
 * /tessera.gexit.GracefulExit/InitiateExit (it is the mutual-TLS peer, so it can only exit
 * itself). The satellite records the exit (table graceful_exits, schema "gexit", and
 * nodes.exit_initiated_at, which node selection and the repair checker already honour: the node
 * gets no new pieces and its pieces count as "exiting", i.e. unhealthy but retrievable, so repair
 * moves them away while the node still serves them). Every interval the satellite dials each
 * exiting node (PingNode) and counts whether it answered; once the duration has passed the exit
 * succeeds when the online score (answered / checks) is at least online_min, else it fails.
 * Either way nodes.exit_finished_at is set and the node stays out of node selection.
 */
#ifndef SAT_GEXIT_GEXIT_H
#define SAT_GEXIT_GEXIT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/base.h"
#include "db/db.h"
#include "rpc/rpc.h"

#define SAT_GEXIT_METHOD_INITIATE "/tessera.gexit.GracefulExit/InitiateExit"
#define SAT_GEXIT_METHOD_STATUS "/tessera.gexit.GracefulExit/GetExitStatus"
#define SAT_GEXIT_REASON_MAX 200

/* Settings: satellite config keys "gexit.<field>" (satellite/config.c, docs/gc.md). */
struct sat_gexit_config {
    int64_t duration_s;     /* gexit.duration_s (30 days) */
    int64_t node_age_min_s; /* gexit.node_age_min_s (180 days) */
    int64_t interval_s;     /* between online checks: gexit.interval_s (1 h) */
    double online_min;      /* gexit.online_min (0.8) */
};

/* Production defaults (reference §8.7). */
void sat_gexit_config_defaults(struct sat_gexit_config *c);

/* Values of tessera.gexit.ExitState. */
enum sat_gexit_state {
    SAT_GEXIT_NONE = 0,
    SAT_GEXIT_RUNNING = 1,
    SAT_GEXIT_SUCCEEDED = 2,
    SAT_GEXIT_FAILED = 3,
};

struct sat_gexit_status {
    enum sat_gexit_state state;
    int64_t initiated_at_s, completes_at_s, finished_at_s;
    int64_t checks_total, checks_online;
    double online_score; /* checks_online / checks_total; 1 before the first check */
    char reason[SAT_GEXIT_REASON_MAX + 1];
};

/* Applies the "gexit" schema migrations (graceful_exits table). */
TS_WARN_UNUSED ts_err sat_gexit_migrate(struct ts_db *db);

struct sat_gexit;

/* db, pool (dials nodes for the online checks) and cfg are borrowed. _start_loop starts the
 * checking thread; without it (tests) call sat_gexit_check. */
TS_WARN_UNUSED ts_err sat_gexit_new(struct ts_db *db, struct ts_rpc_pool *pool,
                                    const struct sat_gexit_config *cfg, struct sat_gexit **out);
TS_WARN_UNUSED ts_err sat_gexit_start_loop(struct sat_gexit *g);
void sat_gexit_free(struct sat_gexit *g); /* stops the thread; NULL is a no-op */

/* Starts node_id's exit at now_s (idempotent: an existing exit is returned as it is).
 * TS_ERR_NOT_FOUND for a node that never checked in; TS_ERR_PERMISSION_DENIED for a disqualified
 * node or one younger than node_age_min_s (reason says which). */
TS_WARN_UNUSED ts_err sat_gexit_initiate(struct sat_gexit *g, const uint8_t node_id[32],
                                         int64_t now_s, struct sat_gexit_status *out);
/* The exit status (state NONE when the node never started one). */
TS_WARN_UNUSED ts_err sat_gexit_status_get(struct sat_gexit *g, const uint8_t node_id[32],
                                           struct sat_gexit_status *out);
/* One check pass at now_s: pings every running exit's node, then judges those whose duration is
 * over. *finished (may be NULL) counts exits that ended. */
TS_WARN_UNUSED ts_err sat_gexit_check(struct sat_gexit *g, int64_t now_s, int64_t *finished);
/* Check passes completed by the thread (tests poll this). */
int64_t sat_gexit_passes(struct sat_gexit *g);

/* Upload selection to refresh when an exit starts, so an exiting node gets no new pieces even
 * from a selection cache filled before its exit (borrowed; may stay unset in tests). */
struct sat_overlay;
void sat_gexit_set_overlay(struct sat_gexit *g, struct sat_overlay *ov);

/* Registers InitiateExit and GetExitStatus; g outlives the server. */
TS_WARN_UNUSED ts_err sat_gexit_register(struct ts_rpc_server *srv, struct sat_gexit *g);

#endif
