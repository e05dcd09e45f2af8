/* Settlement of one node's hour window (reference §7.6). */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "satellite/db/satdb.h"
#include "satellite/orders/orders.h"

/* Actions are small integers (PUT 1 .. DELETE 6). */
#define ACTIONS_MAX 8

struct item {
    uint8_t serial[TS_SERIAL_SIZE];
    int action;
    int64_t amount;
};

struct settle_ctx {
    const uint8_t *node_id;
    int64_t window;
    int64_t now;
    const struct item *items;
    size_t count;
    int64_t per_action[ACTIONS_MAX];
    int64_t total;
    bool replay;   /* same total already settled */
    bool rejected; /* a different total already settled */
};

static int serial_seen(const struct item *items, size_t n, const uint8_t *serial)
{
    for (size_t i = 0; i < n; i++) {
        if (memcmp(items[i].serial, serial, TS_SERIAL_SIZE) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Checks one item; on success fills it. */
static ts_err check_item(const Tessera__Settlement__SettlementItem *it,
                         const struct ts_identity *satellite, const struct ts_peer_identity *node,
                         int64_t window, int64_t now, struct item *out)
{
    struct ts_order_limit l;
    struct ts_order o;
    if (it == NULL || ts_order_limit_decode(it->limit.data, it->limit.len, &l) != TS_OK ||
        ts_order_decode(it->order.data, it->order.len, &o) != TS_OK) {
        return TS_ERR_MALFORMED;
    }
    if (memcmp(l.satellite_id.bytes, ts_identity_id(satellite)->bytes, TS_NODE_ID_SIZE) != 0 ||
        ts_order_limit_verify(&l, ts_identity_peer(satellite)) != TS_OK) {
        return TS_ERR_UNTRUSTED;
    }
    if (memcmp(l.storage_node_id.bytes, node->id.bytes, TS_NODE_ID_SIZE) != 0) {
        return TS_ERR_WRONG_NODE;
    }
    if (now >= l.order_expiration_s) {
        return TS_ERR_EXPIRED;
    }
    if (l.order_creation_s - l.order_creation_s % SAT_SETTLEMENT_WINDOW_S != window) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    if ((int)l.action <= 0 || (int)l.action >= ACTIONS_MAX) {
        return TS_ERR_MALFORMED;
    }
    ts_err err = ts_order_check(&l, &o, 0);
    if (err != TS_OK) {
        return err;
    }
    memcpy(out->serial, l.serial, TS_SERIAL_SIZE);
    out->action = (int)l.action;
    out->amount = o.amount;
    return TS_OK;
}

static ts_err attribute_to_buckets(struct ts_db_conn *c, const struct settle_ctx *sc)
{
    uint8_t project[SAT_ID_SIZE], bucket[TS_BUCKET_NAME_MAX];
    for (size_t i = 0; i < sc->count; i++) {
        size_t bucket_len = 0;
        ts_err err = sat_db_serial_get(c, sc->items[i].serial, project, bucket, &bucket_len);
        if (err == TS_ERR_NOT_FOUND) {
            continue; /* the serial's record expired: the node's total still counts */
        }
        if (err == TS_OK) {
            err = sat_db_bucket_bandwidth_add(c, project, bucket, bucket_len, sc->window,
                                              sc->items[i].action, 0, sc->items[i].amount);
        }
        if (err != TS_OK) {
            return err;
        }
    }
    return TS_OK;
}

static ts_err settle_fn(struct ts_db_conn *c, void *ctx)
{
    struct settle_ctx *sc = ctx;
    bool found = false;
    int64_t total = 0, items = 0;
    sc->replay = sc->rejected = false;
    ts_err err = sat_db_node_window_get(c, sc->node_id, sc->window, &found, &total, &items);
    if (err != TS_OK) {
        return err;
    }
    if (found) {
        sc->replay = total == sc->total && items == (int64_t)sc->count;
        sc->rejected = !sc->replay;
        return TS_OK;
    }
    err = sat_db_node_window_insert(c, sc->node_id, sc->window, sc->total, (int64_t)sc->count,
                                    sc->now);
    for (int a = 0; err == TS_OK && a < ACTIONS_MAX; a++) {
        if (sc->per_action[a] > 0) {
            err = sat_db_node_bandwidth_add(c, sc->node_id, sc->window, a, sc->per_action[a]);
        }
    }
    if (err == TS_OK) {
        err = attribute_to_buckets(c, sc);
    }
    return err;
}

ts_err sat_orders_settle(struct ts_db *db, const struct ts_identity *satellite,
                         const struct ts_peer_identity *node,
                         const Tessera__Settlement__SettlementRequest *req, int64_t now_s,
                         Tessera__Settlement__SettlementResponse *resp)
{
    resp->status = TESSERA__SETTLEMENT__SETTLEMENT_STATUS__SETTLEMENT_INVALID;
    resp->items_counted = resp->items_dropped = 0;
    if (req->window_start < 0 || req->window_start % SAT_SETTLEMENT_WINDOW_S != 0 ||
        req->window_start > now_s) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    if (req->n_items > SAT_SETTLEMENT_ITEMS_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    struct item *items = calloc(req->n_items + 1, sizeof *items);
    if (items == NULL) {
        return TS_ERR_NOMEM;
    }
    struct settle_ctx sc = {.node_id = node->id.bytes, .window = req->window_start, .now = now_s};
    size_t n = 0;
    for (size_t i = 0; i < req->n_items; i++) {
        ts_err e = check_item(req->items[i], satellite, node, req->window_start, now_s, &items[n]);
        if (e != TS_OK || serial_seen(items, n, items[n].serial)) {
            resp->items_dropped++;
            continue;
        }
        sc.per_action[items[n].action] += items[n].amount;
        sc.total += items[n].amount;
        n++;
    }
    sc.items = items;
    sc.count = n;
    ts_err err = TS_OK;
    if (n > 0) {
        err = ts_db_tx(db, settle_fn, &sc);
    }
    if (err == TS_OK) {
        if (sc.rejected) {
            resp->status = TESSERA__SETTLEMENT__SETTLEMENT_STATUS__SETTLEMENT_REJECTED;
            ts_log_warn("satellite.orders", "settlement rejected window=%lld: different total",
                        (long long)req->window_start);
        } else {
            resp->status = TESSERA__SETTLEMENT__SETTLEMENT_STATUS__SETTLEMENT_ACCEPTED;
            resp->items_counted = sc.replay ? 0 : (uint32_t)n;
        }
    }
    free(items);
    return err;
}
