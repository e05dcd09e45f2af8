/* core/rpc glue for tessera.settlement.Orders/SettlementWithWindow. */
#include "base/base.h"
#include "base/log.h"
#include "rpc/rpc.h"
#include "satellite/orders/endpoint.h"

static ts_err h_settle(struct ts_rpc_stream *s, void *ctx)
{
    struct sat_orders_service *svc = ctx;
    ProtobufCMessage *in = NULL;
    ts_err err = ts_rpc_stream_recv(s, &tessera__settlement__settlement_request__descriptor, &in);
    if (err != TS_OK) {
        return err == TS_ERR_END_OF_STREAM ? TS_ERR_PROTOCOL : err;
    }
    Tessera__Settlement__SettlementResponse resp = TESSERA__SETTLEMENT__SETTLEMENT_RESPONSE__INIT;
    err = sat_orders_settle(svc->db, svc->identity, ts_rpc_stream_peer(s),
                            (const Tessera__Settlement__SettlementRequest *)in, ts_time_now_s(),
                            &resp);
    if (err == TS_OK) {
        err = ts_rpc_stream_send(s, &resp.base);
    }
    protobuf_c_message_free_unpacked(in, NULL);
    return err;
}

ts_err sat_orders_register(struct ts_rpc_server *srv, struct sat_orders_service *svc)
{
    return ts_rpc_server_register(srv, SAT_ORDERS_METHOD_SETTLE, h_settle, svc);
}
