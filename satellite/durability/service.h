/*
 * The durability service: the satellite's background work that keeps data alive, started by
 * satellite/peer.c next to the RPC server. Threads (each bounded, all stopped by
 * sat_durability_stop):
 *   - the segment loop, every loop_interval_s, feeding the audit collector and the repair checker
 *     (and any observer registered before start), then the absence sweep (offline DQ);
 *   - audit_workers auditors: stripe audits from the collector's queue, then due reverifications;
 *   - repair_workers repairers: jobs from the repair queue.
 * Settings come from the optional file <dir>/durability ("key = value" lines, docs/durability.md);
 * every key has a production default and unknown keys are refused.
 */
#ifndef SAT_DURABILITY_SERVICE_H
#define SAT_DURABILITY_SERVICE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/base.h"
#include "db/db.h"
#include "identity/identity.h"
#include "satellite/audit/audit.h"
#include "satellite/config.h"
#include "satellite/repair/repairer.h"
#include "satellite/reputation/reputation.h"

#define SAT_DURABILITY_FILE "durability"
/* Worker threads of each kind. */
#define SAT_DURABILITY_WORKERS_MAX 16

struct sat_durability_config {
    bool enabled;
    int64_t loop_interval_s; /* between segment loop passes */
    int64_t loop_page_size;  /* segments per query */
    int audit_slots;         /* reservoir slots per node */
    int audit_workers;
    int64_t audit_pause_ms; /* between two audits of one worker (spreads the load) */
    int64_t idle_poll_ms;   /* how often idle workers look for work */
    struct sat_audit_config audit;
    struct sat_reputation_config reputation;
    int repair_workers;
    int repair_timeout_ms; /* per piece transfer */
    struct sat_repair_config repair;
};

void sat_durability_config_defaults(struct sat_durability_config *c);
/* Reads <dir>/durability over the defaults; a missing file is fine. TS_ERR_CONFIG (logged with
 * the line) for an unknown key or a bad value. */
TS_WARN_UNUSED ts_err sat_durability_config_load(struct sat_durability_config *c, const char *dir);
/* Parses text over c (exposed for tests). */
TS_WARN_UNUSED ts_err sat_durability_config_parse(struct sat_durability_config *c, const char *text,
                                                  size_t len);

struct sat_durability;

/* Loads the settings from sat->dir and starts the threads (nothing when enabled = 0). db,
 * identity and sat are borrowed and must outlive the service. */
TS_WARN_UNUSED ts_err sat_durability_start(struct ts_db *db, const struct ts_identity *identity,
                                           const struct sat_config *sat,
                                           struct sat_durability **out);
/* Stops every thread (in-flight transfers end at their timeouts) and frees. NULL is a no-op. */
void sat_durability_stop(struct sat_durability *d);

/* ---- Reporting (tessera-satellite status) ---- */
/* Prints the health histogram, repair queue, repaired/lost counts, audit outcomes and every
 * node's reputation, as text or as one JSON object. */
TS_WARN_UNUSED ts_err sat_durability_status_print(struct ts_db *db,
                                                  const struct sat_durability_config *c, bool json,
                                                  FILE *out);

/* `tessera-satellite status|durability ...` (argv[1] is the command); returns the exit code. */
int sat_durability_cli(int argc, char **argv);

#endif
