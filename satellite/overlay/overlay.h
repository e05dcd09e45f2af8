/*
 * The overlay: the satellite's view of storage nodes. Upload selection reads a cached list of
 * eligible nodes (online within the online window, not disqualified or exiting, enough free
 * space), refreshed every node_cache_s seconds, at once when a new node checks in, and at most
 * once a second when the cache cannot satisfy a request; then sat_select_nodes picks distinct
 * subnets with the unvetted fraction. Thread-safe (one mutex; no lock held across DB I/O other
 * than the refresh itself, which runs outside it).
 */
#ifndef SAT_OVERLAY_OVERLAY_H
#define SAT_OVERLAY_OVERLAY_H

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "db/db.h"
#include "satellite/config.h"
#include "satellite/overlay/select.h"

/* Candidates the cache holds at most (a full table would be 100k+ in a large network; the cache
 * needs only enough to choose from). */
#define SAT_OVERLAY_CACHE_MAX 50000

struct sat_overlay;

/* db and cfg are borrowed and outlive the overlay. */
TS_WARN_UNUSED ts_err sat_overlay_new(struct ts_db *db, const struct sat_config *cfg,
                                      struct sat_overlay **out);
void sat_overlay_free(struct sat_overlay *ov);

/* Selects up to count (<= TS_EC_SHARES_MAX) nodes for an upload, copying them into out; *n gets
 * how many (fewer when the network is too small). */
TS_WARN_UNUSED ts_err sat_overlay_select(struct sat_overlay *ov, int count,
                                         struct sat_node_candidate *out, size_t *n);

/* Forces a refresh before the next selection (a new node checked in). */
void sat_overlay_invalidate(struct sat_overlay *ov);

#endif
