/*
 * The durability service's settings (docs/durability.md): segment loop, audits, reputation,
 * repair. They are ordinary satellite config keys named "durability.<name>" (satellite/config.c
 * holds the one key table); this header only defines the struct, its production defaults and the
 * short local-network profile, so satellite/config.h can embed it without pulling in the service.
 */
#ifndef SAT_DURABILITY_SETTINGS_H
#define SAT_DURABILITY_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "satellite/audit/audit.h"
#include "satellite/reputation/reputation.h"

/* Repair worker settings (satellite/repair/repairer.h). */
struct sat_repair_config {
    int concurrency;       /* piece transfers at once, 1..TS_EC_SHARES_MAX */
    double extra_fraction; /* upload ceil(o * this) more than needed (0.05) */
    int64_t retry_s;       /* a failed job waits this long */
    int64_t order_expiration_s;
};

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

/* Production defaults (reference values). */
void sat_durability_config_defaults(struct sat_durability_config *c);
/* The local-network profile over the defaults: a loop pass every minute, a quicker audit pace,
 * repair retried after a minute. Reputation math keeps the production values. */
void sat_durability_config_local(struct sat_durability_config *c);

#endif
