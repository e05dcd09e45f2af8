/* Registers tessera.settlement.Orders/SettlementWithWindow (unary; the node is the TLS peer). */
#ifndef SAT_ORDERS_ENDPOINT_H
#define SAT_ORDERS_ENDPOINT_H

#include "base/base.h"
#include "rpc/rpc.h"
#include "satellite/orders/orders.h"

#define SAT_ORDERS_METHOD_SETTLE "/tessera.settlement.Orders/SettlementWithWindow"

struct sat_orders_service {
    struct ts_db *db;                   /* borrowed */
    const struct ts_identity *identity; /* borrowed: the satellite's */
};

TS_WARN_UNUSED ts_err sat_orders_register(struct ts_rpc_server *srv,
                                          struct sat_orders_service *svc);

#endif
