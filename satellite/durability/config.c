/* The durability settings' defaults and local profile (see settings.h; the keys are parsed by
 * satellite/config.c, docs/durability.md). */
#include <string.h>

#include "satellite/durability/settings.h"

void sat_durability_config_defaults(struct sat_durability_config *c)
{
    memset(c, 0, sizeof *c);
    c->enabled = true;
    c->loop_interval_s = 2 * 3600;
    c->loop_page_size = 500;
    c->audit_slots = 3;
    c->audit_workers = 1;
    c->audit_pause_ms = 1000;
    c->idle_poll_ms = 5000;
    c->audit = (struct sat_audit_config){.timeout_ms = 15000,
                                         .concurrency = 32,
                                         .reverify_max = 3,
                                         .reverify_retry_s = 600,
                                         .order_expiration_s = 3600};
    sat_reputation_config_defaults(&c->reputation);
    c->repair_workers = 2;
    c->repair_timeout_ms = 300000;
    c->repair = (struct sat_repair_config){
        .concurrency = 16, .extra_fraction = 0.05, .retry_s = 1800, .order_expiration_s = 3600};
}

void sat_durability_config_local(struct sat_durability_config *c)
{
    c->loop_interval_s = 60;
    c->idle_poll_ms = 1000;
    c->audit.timeout_ms = 5000;
    c->audit.reverify_retry_s = 60;
    c->repair_timeout_ms = 60000;
    c->repair.retry_s = 60;
}
