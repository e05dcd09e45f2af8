/* Fuzz target: decode an order limit, an order and a piece hash from hostile bytes, then run the
 * verification paths on whatever decodes (they must fail cleanly, never crash). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "orders/orders.h"

static volatile int sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t pub[32] = {1};
    struct ts_order_limit l;
    struct ts_order o;
    struct ts_piece_hash h;
    int have_limit = ts_order_limit_decode(data, size, &l) == TS_OK;
    if (have_limit) {
        struct ts_buf b;
        ts_buf_init(&b, TS_ORDER_LIMIT_ENCODED_MAX);
        ts_err err = ts_order_limit_encode(&l, &b);
        TS_ASSERT(err == TS_OK);
        struct ts_order_limit again;
        TS_ASSERT(ts_order_limit_decode(b.data, b.len, &again) == TS_OK);
        TS_ASSERT(again.limit_bytes == l.limit_bytes);
        ts_buf_release(&b);
        sink += ts_order_limit_check_time(&l, 1700000000, TS_ORDER_GRACE_S);
    }
    if (ts_order_decode(data, size, &o) == TS_OK) {
        sink += ts_order_verify(&o, pub);
        if (have_limit) {
            sink += ts_order_check(&l, &o, 0);
        }
    }
    if (ts_piece_hash_decode(data, size, &h) == TS_OK) {
        sink += ts_piece_hash_verify_uplink(&h, pub);
    }
    return 0;
}
