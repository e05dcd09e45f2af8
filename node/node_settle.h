/*
 * Settlement (reference §7.6): every interval the node sends each finished hour window of stored
 * (limit, highest order) entries (node_orders_store) to its satellite with
 * tessera.settlement.Orders/SettlementWithWindow (proto/settlement.proto). A window is finished
 * delay_s after its hour ends, so transfers whose limits were created in that hour (accepted up
 * to TS_ORDER_GRACE_S later) have recorded their orders. Outcomes:
 *   ACCEPTED (also a re-send of an already settled window) -> file archived "accepted";
 *   REJECTED (the satellite holds a different total)        -> logged, archived "rejected";
 *   no answer, an error, or INVALID                          -> kept and sent again next pass.
 * Re-sending is safe: the satellite counts a window once. Archived files are deleted after
 * archive_keep_s. A window holds at most TS_NODE_SETTLEMENT_ITEMS_MAX entries (one frame);
 * entries past that are logged and not sent.
 */
#ifndef NODE_SETTLE_H
#define NODE_SETTLE_H

#include <stdint.h>

#include "base/base.h"
#include "node_orders.h"
#include "node_trust.h"

#define NODE_SETTLE_METHOD "/tessera.settlement.Orders/SettlementWithWindow"

struct ts_rpc_pool;
struct node_settle;

struct node_settle_config {
    struct ts_rpc_pool *pool;        /* borrowed, thread-safe */
    struct node_orders_store *orders; /* borrowed */
    struct node_trust *trust;         /* borrowed: satellite addresses */
    int64_t interval_ms;              /* between passes, > 0 */
    int64_t delay_s;                  /* a window is sent delay_s after its hour ends */
    int64_t archive_keep_s;           /* archived files are deleted after this */
};

/* What one pass did (for logs and tests). */
struct node_settle_stats {
    int windows_sent, accepted, rejected, failed;
    int64_t items_sent;
    int archive_removed;
};

/* Runs one pass at now_s on the calling thread: sends every finished window, archives the
 * settled ones, deletes old archives. Per-window failures are counted, not returned; the result
 * is TS_ERR_IO only when the orders directory cannot be listed. */
TS_WARN_UNUSED ts_err node_settle_run(const struct node_settle_config *cfg, int64_t now_s,
                                      struct node_settle_stats *out);

/* Starts the chore (a first pass right away, then every interval); _stop waits for a pass in
 * progress and frees (NULL is a no-op). */
TS_WARN_UNUSED ts_err node_settle_start(const struct node_settle_config *cfg,
                                        struct node_settle **out);
void node_settle_stop(struct node_settle *s);

#endif
