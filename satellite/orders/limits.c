/* Order limit creation for upload and download. */
#include <string.h>

#include "base/base.h"
#include "satellite/orders/orders.h"

ts_err sat_limit_params_init(struct sat_limit_params *p, enum ts_piece_action action, int64_t now_s,
                             int64_t expiration_s)
{
    memset(p, 0, sizeof *p);
    p->action = action;
    p->order_creation_s = now_s;
    p->order_expiration_s = now_s + expiration_s;
    return ts_serial_new(p->order_expiration_s, p->serial);
}

ts_err sat_limit_create(const struct sat_limit_params *p, const struct ts_identity *satellite,
                        const uint8_t node_id[TS_NODE_ID_SIZE], uint32_t piece_num,
                        struct ts_buf *out)
{
    struct ts_order_limit l;
    memset(&l, 0, sizeof l);
    memcpy(l.serial, p->serial, TS_SERIAL_SIZE);
    memcpy(l.satellite_id.bytes, ts_identity_id(satellite)->bytes, TS_NODE_ID_SIZE);
    memcpy(l.uplink_public_key, p->piece_public_key, 32);
    memcpy(l.storage_node_id.bytes, node_id, TS_NODE_ID_SIZE);
    l.limit_bytes = p->limit_bytes;
    l.action = p->action;
    l.piece_expiration_s = p->piece_expiration_s;
    l.order_expiration_s = p->order_expiration_s;
    l.order_creation_s = p->order_creation_s;
    ts_err err = ts_piece_id_derive(
        p->root_piece_id, (const struct ts_node_id *)(const void *)node_id, piece_num, l.piece_id);
    if (err == TS_OK) {
        err = ts_order_limit_sign(&l, satellite);
    }
    if (err == TS_OK) {
        err = ts_order_limit_encode(&l, out);
    }
    return err;
}
