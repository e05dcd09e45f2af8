#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/log.h"
#include "node_chore.h"
#include "node_settle.h"
#include "rpc/rpc.h"
#include "settlement.pb-c.h"

#define LOG "node.settle"
/* Windows handled per pass; the rest wait for the next pass. */
#define WINDOWS_PER_PASS_MAX 4096

typedef Tessera__Settlement__SettlementItem Item;

/* The entries of one window, encoded for the request. Encoded bytes live in one arena; items
 * record offsets until the arena stops growing. */
struct batch {
    struct ts_buf arena;
    size_t *offsets; /* 4 per item: limit start, limit len, order start, order len */
    size_t count;
    int dropped; /* entries past TS_NODE_SETTLEMENT_ITEMS_MAX */
};

static ts_err collect(const struct ts_order_limit *limit, const struct ts_order *order, void *ctx)
{
    struct batch *b = ctx;
    if (b->count >= TS_NODE_SETTLEMENT_ITEMS_MAX) {
        b->dropped++;
        return TS_OK;
    }
    size_t *o = &b->offsets[4 * b->count];
    o[0] = b->arena.len;
    ts_err err = ts_order_limit_encode(limit, &b->arena);
    o[1] = b->arena.len - o[0];
    o[2] = b->arena.len;
    if (err == TS_OK) {
        err = ts_order_encode(order, &b->arena);
    }
    o[3] = b->arena.len - o[2];
    if (err == TS_OK) {
        b->count++;
    }
    return err;
}

static const struct ts_node_url *satellite_url(struct node_trust *t, const struct ts_node_id *id)
{
    for (int i = 0; i < node_trust_count(t); i++) {
        if (ts_node_id_equal(&node_trust_url(t, i)->id, id)) {
            return node_trust_url(t, i);
        }
    }
    return NULL;
}

/* Sends the batch; *status gets the satellite's verdict on TS_OK. */
static ts_err send_batch(const struct node_settle_config *cfg, const struct ts_node_url *url,
                         int64_t hour_s, const struct batch *b, int *status,
                         Tessera__Settlement__SettlementResponse **resp_out, char *msg,
                         size_t msg_size)
{
    Item *items = calloc(b->count + 1, sizeof *items);
    Item **ptrs = calloc(b->count + 1, sizeof *ptrs);
    ts_err err = items == NULL || ptrs == NULL ? TS_ERR_NOMEM : TS_OK;
    for (size_t i = 0; err == TS_OK && i < b->count; i++) {
        const size_t *o = &b->offsets[4 * i];
        tessera__settlement__settlement_item__init(&items[i]);
        items[i].limit.data = b->arena.data + o[0];
        items[i].limit.len = o[1];
        items[i].order.data = b->arena.data + o[2];
        items[i].order.len = o[3];
        ptrs[i] = &items[i];
    }
    if (err == TS_OK) {
        Tessera__Settlement__SettlementRequest req =
            TESSERA__SETTLEMENT__SETTLEMENT_REQUEST__INIT;
        req.window_start = hour_s;
        req.items = ptrs;
        req.n_items = b->count;
        err = ts_rpc_call(cfg->pool, url, NODE_SETTLE_METHOD, &req.base,
                          &tessera__settlement__settlement_response__descriptor,
                          (ProtobufCMessage **)resp_out, msg, msg_size);
    }
    if (err == TS_OK) {
        *status = (*resp_out)->status;
    }
    free(items);
    free(ptrs);
    return err;
}

/* Reads, sends and (when settled) archives one window. Counts the outcome in out. */
static void settle_window(const struct node_settle_config *cfg, const struct node_orders_window *w,
                          int64_t now_s, struct node_settle_stats *out)
{
    char sat[TS_NODE_ID_TEXT_MAX], msg[TS_RPC_ERROR_MESSAGE_MAX] = "";
    if (ts_node_id_to_string(&w->satellite, sat, sizeof sat) != TS_OK) {
        snprintf(sat, sizeof sat, "?");
    }
    const struct ts_node_url *url = satellite_url(cfg->trust, &w->satellite);
    if (url == NULL) {
        ts_log_warn(LOG, "orders of a satellite no longer trusted kept unsent satellite=%s "
                         "window=%lld", sat, (long long)w->hour_s);
        out->failed++;
        return;
    }
    struct batch b = {.offsets = calloc(4 * (size_t)TS_NODE_SETTLEMENT_ITEMS_MAX, sizeof(size_t))};
    ts_buf_init(&b.arena, TS_NODE_ORDERS_FILE_MAX);
    ts_err err = b.offsets == NULL ? TS_ERR_NOMEM
                                   : node_orders_store_read(cfg->orders, &w->satellite, w->hour_s,
                                                            collect, &b);
    if (err == TS_ERR_CHECKSUM) {
        ts_log_warn(LOG, "orders file has a damaged tail; sending the intact entries "
                         "satellite=%s window=%lld entries=%zu", sat, (long long)w->hour_s,
                    b.count);
        err = TS_OK;
    }
    if (b.dropped > 0) {
        ts_log_warn(LOG, "window has more entries than one settlement carries; the rest are "
                         "not sent satellite=%s window=%lld sent=%zu unsent=%d", sat,
                    (long long)w->hour_s, b.count, b.dropped);
    }
    int status = 0;
    Tessera__Settlement__SettlementResponse *resp = NULL;
    const char *archive_as = NULL;
    if (err == TS_OK && b.count == 0) {
        archive_as = "empty";
    } else if (err == TS_OK) {
        out->windows_sent++;
        out->items_sent += (int64_t)b.count;
        err = send_batch(cfg, url, w->hour_s, &b, &status, &resp, msg, sizeof msg);
    }
    if (err == TS_OK && archive_as == NULL) {
        if (status == TESSERA__SETTLEMENT__SETTLEMENT_STATUS__SETTLEMENT_ACCEPTED) {
            archive_as = "accepted";
            out->accepted++;
            ts_log_info(LOG, "window settled satellite=%s window=%lld items=%zu counted=%u "
                             "dropped=%u", sat, (long long)w->hour_s, b.count,
                        resp->items_counted, resp->items_dropped);
        } else if (status == TESSERA__SETTLEMENT__SETTLEMENT_STATUS__SETTLEMENT_REJECTED) {
            archive_as = "rejected";
            out->rejected++;
            ts_log_warn(LOG, "window rejected by the satellite (it settled a different total) "
                             "satellite=%s window=%lld items=%zu", sat, (long long)w->hour_s,
                        b.count);
        } else {
            err = TS_ERR_PROTOCOL;
            snprintf(msg, sizeof msg, "settlement status %d", status);
        }
    }
    if (err != TS_OK) {
        out->failed++;
        ts_log_warn(LOG, "settlement failed, will retry satellite=%s window=%lld err=%s "
                         "why=\"%s\"", sat, (long long)w->hour_s, ts_errname(err), msg);
    } else if ((err = node_orders_store_archive(cfg->orders, &w->satellite, w->hour_s,
                                                archive_as, now_s)) != TS_OK) {
        ts_log_error(LOG, "cannot archive a settled window satellite=%s window=%lld err=%s", sat,
                     (long long)w->hour_s, ts_errname(err));
    }
    if (resp != NULL) {
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    }
    free(b.offsets);
    ts_buf_release(&b.arena);
}

ts_err node_settle_run(const struct node_settle_config *cfg, int64_t now_s,
                       struct node_settle_stats *out)
{
    memset(out, 0, sizeof *out);
    struct node_orders_window *w = calloc(WINDOWS_PER_PASS_MAX, sizeof *w);
    if (w == NULL) {
        return TS_ERR_NOMEM;
    }
    size_t count = 0;
    ts_err err = node_orders_store_windows(cfg->orders, w, WINDOWS_PER_PASS_MAX, &count);
    for (size_t i = 0; err == TS_OK && i < count; i++) {
        if (now_s >= w[i].hour_s + 3600 + cfg->delay_s) {
            settle_window(cfg, &w[i], now_s, out);
        }
    }
    free(w);
    if (err == TS_OK && node_orders_store_cleanup(cfg->orders, now_s - cfg->archive_keep_s,
                                                  &out->archive_removed) != TS_OK) {
        ts_log_warn(LOG, "cannot clean the orders archive");
    }
    if (out->windows_sent > 0 || out->failed > 0 || out->archive_removed > 0) {
        ts_log_info(LOG, "settlement pass windows=%d accepted=%d rejected=%d failed=%d "
                         "items=%lld archive_removed=%d", out->windows_sent, out->accepted,
                    out->rejected, out->failed, (long long)out->items_sent,
                    out->archive_removed);
    }
    return err;
}

struct node_settle {
    struct node_settle_config cfg;
    struct node_chore *chore;
};

static int64_t settle_pass(void *ctx)
{
    struct node_settle *s = ctx;
    struct node_settle_stats st;
    if (node_settle_run(&s->cfg, ts_time_now_s(), &st) != TS_OK) {
        ts_log_warn(LOG, "settlement pass could not list the orders");
    }
    return s->cfg.interval_ms;
}

ts_err node_settle_start(const struct node_settle_config *cfg, struct node_settle **out)
{
    *out = NULL;
    TS_ASSERT(cfg->interval_ms > 0);
    struct node_settle *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return TS_ERR_NOMEM;
    }
    s->cfg = *cfg;
    ts_err err = node_chore_start("settlement", settle_pass, s, &s->chore);
    if (err != TS_OK) {
        free(s);
        return err;
    }
    *out = s;
    return TS_OK;
}

void node_settle_stop(struct node_settle *s)
{
    if (s == NULL) {
        return;
    }
    node_chore_stop(s->chore);
    free(s);
}
