/*
 * The satellite's side of orders (reference §7): creating satellite-signed order limits for the
 * nodes of one segment operation (PUT on upload, GET on download), and settling the orders nodes
 * report each hour window (idempotently: a window is counted once; the same window re-sent with
 * the same total is ACCEPTED again without counting; a different total is REJECTED).
 */
#ifndef SAT_ORDERS_ORDERS_H
#define SAT_ORDERS_ORDERS_H

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "base/buf.h"
#include "db/db.h"
#include "identity/identity.h"
#include "orders/orders.h"
#include "settlement.pb-c.h"

/* Settlement requests carry at most this many items (one frame: ~350 bytes each). */
#define SAT_SETTLEMENT_ITEMS_MAX 8192
/* Settlement windows are whole hours. */
#define SAT_SETTLEMENT_WINDOW_S 3600

/* What is common to the limits of one segment operation. */
struct sat_limit_params {
    enum ts_piece_action action;
    uint8_t serial[TS_SERIAL_SIZE];
    uint8_t root_piece_id[TS_PIECE_ID_SIZE];
    uint8_t piece_public_key[32];
    int64_t limit_bytes;
    int64_t piece_expiration_s; /* 0: none */
    int64_t order_creation_s;
    int64_t order_expiration_s;
};

/* Fills p's serial (expiring at now + expiration_s), creation and expiration times. */
TS_WARN_UNUSED ts_err sat_limit_params_init(struct sat_limit_params *p, enum ts_piece_action action,
                                            int64_t now_s, int64_t expiration_s);

/* Creates the limit for piece piece_num on node_id (the piece ID derived from the root), signs it
 * with the satellite identity and appends its serialization to out. */
TS_WARN_UNUSED ts_err sat_limit_create(const struct sat_limit_params *p,
                                       const struct ts_identity *satellite,
                                       const uint8_t node_id[TS_NODE_ID_SIZE], uint32_t piece_num,
                                       struct ts_buf *out);

/* Settles one window for the node (the mutual-TLS peer). Items are dropped when the limit does
 * not decode, is not signed by this satellite, names another node, has expired by now_s, was
 * created outside the window, or its order fails ts_order_check; duplicate serials count once.
 * resp gets the status and counts. Errors: TS_ERR_INVALID_ARGUMENT (window not a whole hour or
 * in the future), TS_ERR_TOO_LARGE (too many items), database errors. */
TS_WARN_UNUSED ts_err sat_orders_settle(struct ts_db *db, const struct ts_identity *satellite,
                                        const struct ts_peer_identity *node,
                                        const Tessera__Settlement__SettlementRequest *req,
                                        int64_t now_s,
                                        Tessera__Settlement__SettlementResponse *resp);

#endif
