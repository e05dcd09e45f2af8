/*
 * The durability service: the satellite's background work that keeps data alive, started by
 * satellite/peer.c next to the RPC server. Threads (each bounded, all stopped by
 * sat_durability_stop):
 *   - the segment loop, every loop_interval_s, feeding the audit collector and the repair checker
 *     (and any observer registered before start), then the absence sweep (offline DQ);
 *   - audit_workers auditors: stripe audits from the collector's queue, then due reverifications;
 *   - repair_workers repairers: jobs from the repair queue.
 * Settings are the satellite config keys "durability.*" (struct sat_config's durability member,
 * docs/durability.md); every key has a production default and unknown keys are refused.
 */
#ifndef SAT_DURABILITY_SERVICE_H
#define SAT_DURABILITY_SERVICE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/base.h"
#include "db/db.h"
#include "identity/identity.h"
#include "satellite/config.h"
#include "satellite/durability/settings.h"
#include "satellite/repair/repairer.h"

struct sat_durability;

/* Starts the threads with sat->durability (nothing when enabled = 0). db,
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
