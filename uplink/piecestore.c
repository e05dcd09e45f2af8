/* The uplink's piecestore client: upload or download one piece over a pooled RPC stream. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "crypto/hash.h"
#include "internal.h"
#include "piecestore.h"
#include "piecestore.pb-c.h"
#include "rpc/rpc.h"

#define METHOD_UPLOAD TS_PIECESTORE_UPLOAD
#define METHOD_DOWNLOAD TS_PIECESTORE_DOWNLOAD

/* Order stepping (reference §7.3): the first order covers 256 KiB, each next one steps 1.5x
 * further, up to 550 KiB per step. */
#define ORDER_STEP_FIRST (256u * 1024)
#define ORDER_STEP_MAX (550u * 1024)
/* Largest chunk we ask a node to send in one message when downloading. */
#define DOWNLOAD_CHUNK_MAX (256u * 1024)

ts_err ul_limit_parse(const uint8_t *limit, size_t limit_len, const uint8_t *node_id,
                      size_t node_id_len, const char *address, uint32_t piece_num,
                      struct ul_limit *out)
{
    memset(out, 0, sizeof(*out));
    if (node_id_len != TS_NODE_ID_SIZE || address == NULL || piece_num >= TS_EC_SHARES_MAX) {
        return TS_ERR_MALFORMED;
    }
    ts_err err = ts_order_limit_decode(limit, limit_len, &out->limit);
    if (err != TS_OK) {
        return err;
    }
    if (memcmp(out->limit.storage_node_id.bytes, node_id, TS_NODE_ID_SIZE) != 0) {
        return TS_ERR_MALFORMED;
    }
    struct ts_node_id id;
    memcpy(id.bytes, node_id, sizeof(id.bytes));
    char id_text[TS_NODE_URL_MAX + 1];
    err = ts_node_id_to_string(&id, id_text, sizeof(id_text));
    if (err != TS_OK) {
        return err;
    }
    char url[TS_NODE_URL_MAX + 1];
    int w = snprintf(url, sizeof(url), "%s@%s", id_text, address);
    if (w < 0 || (size_t)w >= sizeof(url)) {
        return TS_ERR_TOO_LARGE;
    }
    err = ts_node_url_parse(url, &out->url);
    if (err != TS_OK) {
        return TS_ERR_MALFORMED;
    }
    out->piece_num = piece_num;
    return TS_OK;
}

/* The next cumulative amount to order so that `need` bytes are covered, stepping ahead. */
static int64_t order_next(int64_t ordered, int64_t need, int64_t limit, size_t *step)
{
    int64_t amount = ordered + (int64_t)*step;
    if (amount < need) {
        amount = need;
    }
    if (amount > limit) {
        amount = limit;
    }
    size_t next = *step + *step / 2;
    *step = next > ORDER_STEP_MAX ? ORDER_STEP_MAX : next;
    return amount;
}

static ts_err order_make(const struct ul_limit *lim, const uint8_t priv[64], int64_t amount,
                         struct ts_order *o)
{
    memset(o, 0, sizeof(*o));
    memcpy(o->serial, lim->limit.serial, TS_SERIAL_SIZE);
    o->amount = amount;
    return ts_order_sign(o, priv);
}

/* ------------------------------------------------------------------------------------------ */
/* Upload                                                                                      */

struct upload_state {
    struct ts_rpc_stream *s;
    const struct ul_limit *lim;
    const uint8_t *priv;
    struct ts_sha256_ctx *sha;
    int64_t ordered;
    size_t step;
};

/* Sends bytes [sent, sent + len) of the piece, with a new order first when they pass the amount
 * ordered so far. */
static ts_err send_chunk(struct upload_state *u, const uint8_t *data, size_t sent, size_t len)
{
    Tessera__Piecestore__UploadRequest req = TESSERA__PIECESTORE__UPLOAD_REQUEST__INIT;
    Tessera__Piecestore__Chunk chunk = TESSERA__PIECESTORE__CHUNK__INIT;
    Tessera__Orders__Order order_pb = TESSERA__ORDERS__ORDER__INIT;
    struct ts_order order;
    int64_t need = (int64_t)(sent + len);
    if (need > u->lim->limit.limit_bytes) {
        return TS_ERR_LIMIT_EXCEEDED;
    }
    if (need > u->ordered) {
        u->ordered = order_next(u->ordered, need, u->lim->limit.limit_bytes, &u->step);
        ts_err err = order_make(u->lim, u->priv, u->ordered, &order);
        if (err != TS_OK) {
            return err;
        }
        ts_order_to_proto(&order, &order_pb);
        req.order = &order_pb;
    }
    chunk.offset = (int64_t)sent;
    chunk.data.data = (uint8_t *)data + sent;
    chunk.data.len = len;
    req.chunk = &chunk;
    ts_err err = ts_sha256_ctx_update(u->sha, data + sent, len);
    if (err != TS_OK) {
        return err;
    }
    return ts_rpc_stream_send(u->s, &req.base);
}

/* Sends the uplink-signed PieceHash, then reads and checks the node's receipt. */
static ts_err finish_upload(struct upload_state *u, size_t size, struct ts_buf *receipt)
{
    struct ts_piece_hash h;
    memset(&h, 0, sizeof(h));
    memcpy(h.piece_id, u->lim->limit.piece_id, TS_PIECE_ID_SIZE);
    ts_err err = ts_sha256_ctx_final(u->sha, h.hash);
    if (err != TS_OK) {
        return err;
    }
    h.piece_size = (int64_t)size;
    h.timestamp_s = u->lim->limit.order_creation_s;
    h.hash_algorithm = TS_HASH_SHA256;
    err = ts_piece_hash_sign_uplink(&h, u->priv);
    if (err != TS_OK) {
        return err;
    }
    Tessera__Orders__PieceHash hash_pb = TESSERA__ORDERS__PIECE_HASH__INIT;
    ts_piece_hash_to_proto(&h, &hash_pb);
    Tessera__Piecestore__UploadRequest req = TESSERA__PIECESTORE__UPLOAD_REQUEST__INIT;
    req.done = &hash_pb;
    err = ts_rpc_stream_send(u->s, &req.base);
    if (err == TS_OK) {
        err = ts_rpc_stream_close_send(u->s);
    }
    ProtobufCMessage *msg = NULL;
    if (err == TS_OK) {
        err = ts_rpc_stream_recv(u->s, &tessera__piecestore__upload_response__descriptor, &msg);
    }
    if (err != TS_OK) {
        return err;
    }
    Tessera__Piecestore__UploadResponse *resp = (Tessera__Piecestore__UploadResponse *)msg;
    struct ts_piece_hash got;
    err = resp->done ? ts_piece_hash_from_proto(resp->done, &got) : TS_ERR_PROTOCOL;
    if (err == TS_OK && (memcmp(got.hash, h.hash, sizeof(h.hash)) != 0 ||
                         memcmp(got.piece_id, h.piece_id, sizeof(h.piece_id)) != 0 ||
                         got.piece_size != h.piece_size)) {
        err = TS_ERR_HASH_MISMATCH;
    }
    if (err == TS_OK) {
        err = ts_piece_hash_encode(&got, receipt);
    }
    protobuf_c_message_free_unpacked(msg, NULL);
    return err;
}

static ts_err upload_body(struct upload_state *u, const struct ul_piece_source *src,
                          const atomic_bool *cancel, struct ts_buf *receipt)
{
    Tessera__Orders__OrderLimit limit_pb = TESSERA__ORDERS__ORDER_LIMIT__INIT;
    ts_order_limit_to_proto(&u->lim->limit, &limit_pb);
    Tessera__Piecestore__UploadRequest first = TESSERA__PIECESTORE__UPLOAD_REQUEST__INIT;
    first.limit = &limit_pb;
    first.hash_algorithm = TESSERA__ORDERS__HASH_ALGORITHM__SHA256;
    ts_err err = ts_rpc_stream_send(u->s, &first.base);
    size_t sent = 0;
    bool complete = false;
    while (err == TS_OK && !complete) {
        size_t avail = 0;
        err = src->wait(src->ctx, sent, &avail, &complete);
        while (err == TS_OK && sent < avail) {
            if (atomic_load(cancel)) {
                return TS_ERR_CANCELED;
            }
            size_t len = avail - sent;
            len = len < TS_RPC_CHUNK_SIZE ? len : TS_RPC_CHUNK_SIZE;
            err = send_chunk(u, src->data, sent, len);
            sent += len;
        }
        if (err == TS_OK && !complete) {
            err = ts_rpc_stream_flush(u->s); /* the node gets what exists before we wait */
        }
    }
    if (err == TS_OK && src->commit != NULL) {
        err = ts_rpc_stream_flush(u->s);
        err = err == TS_OK ? src->commit(src->ctx) : err;
    }
    if (err == TS_OK && atomic_load(cancel)) {
        err = TS_ERR_CANCELED;
    }
    if (err == TS_OK) {
        err = finish_upload(u, sent, receipt);
    }
    return err;
}

ts_err ul_piece_upload(struct ts_rpc_pool *pool, const struct ul_limit *lim,
                       const uint8_t piece_private_key[64], const struct ul_piece_source *src,
                       const atomic_bool *cancel, struct ul_worker *worker, struct ts_buf *receipt)
{
    struct upload_state u = {.lim = lim, .priv = piece_private_key, .step = ORDER_STEP_FIRST};
    ts_err err = ts_sha256_ctx_new(&u.sha);
    if (err != TS_OK) {
        return err;
    }
    err = ts_rpc_pool_open_stream(pool, &lim->url, METHOD_UPLOAD, &u.s);
    if (err == TS_OK) {
        ul_worker_stream_set(worker, u.s);
        err = upload_body(&u, src, cancel, receipt);
        if (err != TS_OK) {
            ts_rpc_stream_cancel(u.s); /* the node drops its partial piece */
        }
        ul_worker_stream_clear(worker, u.s);
        ts_rpc_stream_finish(u.s);
    }
    ts_sha256_ctx_free(u.sha);
    return err;
}

/* ------------------------------------------------------------------------------------------ */
/* Download                                                                                    */

struct download_state {
    struct ts_rpc_stream *s;
    const struct ul_limit *lim;
    const uint8_t *priv;
    int64_t ordered;
    size_t step;
    size_t offset;
    size_t size;
};

/* Keeps the amount ordered at least one step ahead of what was received. */
static ts_err order_ahead(struct download_state *d, size_t received, bool first,
                          Tessera__Piecestore__DownloadRequest *req,
                          Tessera__Orders__Order *order_pb, struct ts_order *order)
{
    int64_t want = (int64_t)received + (int64_t)d->step;
    if (want > (int64_t)d->size) {
        want = (int64_t)d->size;
    }
    if (!first && (d->ordered >= want || d->ordered >= (int64_t)d->size)) {
        return TS_OK;
    }
    d->ordered = order_next(d->ordered, want, (int64_t)d->size, &d->step);
    ts_err err = order_make(d->lim, d->priv, d->ordered, order);
    if (err != TS_OK) {
        return err;
    }
    ts_order_to_proto(order, order_pb);
    req->order = order_pb;
    if (!first) {
        err = ts_rpc_stream_send(d->s, &req->base);
    }
    return err;
}

/* Copies one chunk into the sink after checking it continues the range. */
static ts_err take_chunk(struct download_state *d, const Tessera__Piecestore__DownloadResponse *r,
                         const struct ul_piece_sink *sink, size_t *received)
{
    if (r->chunk == NULL) {
        return TS_ERR_PROTOCOL;
    }
    size_t len = r->chunk->data.len;
    if (r->chunk->offset != (int64_t)(d->offset + *received) || len > d->size - *received ||
        len == 0) {
        return TS_ERR_PROTOCOL;
    }
    memcpy(sink->buf + *received, r->chunk->data.data, len);
    *received += len;
    sink->progress(sink->ctx, *received);
    return TS_OK;
}

static ts_err download_body(struct download_state *d, const struct ul_piece_sink *sink,
                            const atomic_bool *cancel)
{
    Tessera__Orders__OrderLimit limit_pb = TESSERA__ORDERS__ORDER_LIMIT__INIT;
    ts_order_limit_to_proto(&d->lim->limit, &limit_pb);
    Tessera__Piecestore__ChunkRange range = TESSERA__PIECESTORE__CHUNK_RANGE__INIT;
    range.offset = (int64_t)d->offset;
    range.size = (int64_t)d->size;
    Tessera__Piecestore__DownloadRequest req = TESSERA__PIECESTORE__DOWNLOAD_REQUEST__INIT;
    Tessera__Orders__Order order_pb = TESSERA__ORDERS__ORDER__INIT;
    struct ts_order order;
    req.limit = &limit_pb;
    req.chunk = &range;
    req.maximum_chunk_size = DOWNLOAD_CHUNK_MAX;
    d->step = 2 * ORDER_STEP_FIRST; /* the first order covers two steps: no stall at start */
    ts_err err = order_ahead(d, 0, true, &req, &order_pb, &order);
    if (err == TS_OK) {
        err = ts_rpc_stream_send(d->s, &req.base);
    }
    size_t received = 0;
    while (err == TS_OK && received < d->size) {
        if (atomic_load(cancel)) {
            return TS_ERR_CANCELED;
        }
        ProtobufCMessage *msg = NULL;
        err = ts_rpc_stream_recv(d->s, &tessera__piecestore__download_response__descriptor, &msg);
        if (err == TS_ERR_END_OF_STREAM) {
            err = TS_ERR_TRUNCATED;
        }
        if (err != TS_OK) {
            break;
        }
        err = take_chunk(d, (Tessera__Piecestore__DownloadResponse *)msg, sink, &received);
        protobuf_c_message_free_unpacked(msg, NULL);
        if (err == TS_OK && received < d->size) {
            Tessera__Piecestore__DownloadRequest more = TESSERA__PIECESTORE__DOWNLOAD_REQUEST__INIT;
            err = order_ahead(d, received, false, &more, &order_pb, &order);
        }
    }
    if (err == TS_OK) {
        err = ts_rpc_stream_close_send(d->s);
    }
    return err;
}

ts_err ul_piece_download(struct ts_rpc_pool *pool, const struct ul_limit *lim,
                         const uint8_t piece_private_key[64], size_t offset, size_t size,
                         const struct ul_piece_sink *sink, const atomic_bool *cancel,
                         struct ul_worker *worker)
{
    if (size == 0 || (int64_t)size > lim->limit.limit_bytes) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    struct download_state d = {
        .lim = lim, .priv = piece_private_key, .offset = offset, .size = size};
    ts_err err = ts_rpc_pool_open_stream(pool, &lim->url, METHOD_DOWNLOAD, &d.s);
    if (err != TS_OK) {
        return err;
    }
    ul_worker_stream_set(worker, d.s);
    err = download_body(&d, sink, cancel);
    if (err != TS_OK) {
        ts_rpc_stream_cancel(d.s);
    }
    ul_worker_stream_clear(worker, d.s);
    ts_rpc_stream_finish(d.s);
    return err;
}
