/* The satellite's piecestore client (see piece_client.h). */
#include <string.h>

#include "base/base.h"
#include "crypto/hash.h"
#include "piecestore.pb-c.h"
#include "satellite/audit/piece_client.h"
#include "satellite/reputation/reputation.h"

/* Each order covers this many more bytes than received so far (few round trips, small risk). */
#define ORDER_STEP (1024u * 1024)

static ts_err order_pb(const struct ts_order_limit *l, const uint8_t priv[64], int64_t amount,
                       struct ts_order *o, Tessera__Orders__Order *pb)
{
    memset(o, 0, sizeof *o);
    memcpy(o->serial, l->serial, TS_SERIAL_SIZE);
    o->amount = amount;
    ts_err err = ts_order_sign(o, priv);
    if (err == TS_OK) {
        ts_order_to_proto(o, pb);
    }
    return err;
}

static int64_t next_amount(int64_t received, int64_t size)
{
    int64_t want = received + ORDER_STEP;
    return want < size ? want : size;
}

/* Takes one response: checks the chunk continues the range, copies it, keeps the proof. */
static ts_err take(const Tessera__Piecestore__DownloadResponse *r, int64_t offset, int64_t size,
                   int64_t *received, uint8_t *out, struct sat_piece_proof *proof)
{
    if (r->hash != NULL && r->limit != NULL && proof != NULL && !proof->present) {
        ts_err err = ts_piece_hash_from_proto(r->hash, &proof->hash);
        if (err == TS_OK) {
            err = ts_order_limit_from_proto(r->limit, &proof->limit);
        }
        if (err != TS_OK) {
            return TS_ERR_PROTOCOL;
        }
        proof->present = true;
    }
    if (r->chunk == NULL) {
        return TS_ERR_PROTOCOL;
    }
    int64_t len = (int64_t)r->chunk->data.len;
    if (r->chunk->offset != offset + *received || len == 0 || len > size - *received) {
        return TS_ERR_PROTOCOL;
    }
    memcpy(out + *received, r->chunk->data.data, (size_t)len);
    *received += len;
    return TS_OK;
}

static ts_err download_body(struct ts_rpc_stream *s, const struct ts_order_limit *limit,
                            const uint8_t priv[64], int64_t offset, int64_t size, uint8_t *out,
                            struct sat_piece_proof *proof)
{
    Tessera__Orders__OrderLimit limit_pb = TESSERA__ORDERS__ORDER_LIMIT__INIT;
    Tessera__Piecestore__ChunkRange range = TESSERA__PIECESTORE__CHUNK_RANGE__INIT;
    Tessera__Piecestore__DownloadRequest req = TESSERA__PIECESTORE__DOWNLOAD_REQUEST__INIT;
    Tessera__Orders__Order opb = TESSERA__ORDERS__ORDER__INIT;
    struct ts_order order;
    ts_order_limit_to_proto(limit, &limit_pb);
    range.offset = offset;
    range.size = size;
    req.limit = &limit_pb;
    req.chunk = &range;
    req.maximum_chunk_size = TS_RPC_CHUNK_SIZE;
    int64_t ordered = next_amount(0, size), received = 0;
    ts_err err = order_pb(limit, priv, ordered, &order, &opb);
    req.order = &opb;
    if (err == TS_OK) {
        err = ts_rpc_stream_send(s, &req.base);
    }
    while (err == TS_OK && received < size) {
        ProtobufCMessage *msg = NULL;
        err = ts_rpc_stream_recv(s, &tessera__piecestore__download_response__descriptor, &msg);
        if (err == TS_ERR_END_OF_STREAM) {
            err = TS_ERR_TRUNCATED;
        }
        if (err != TS_OK) {
            break;
        }
        err =
            take((Tessera__Piecestore__DownloadResponse *)msg, offset, size, &received, out, proof);
        protobuf_c_message_free_unpacked(msg, NULL);
        if (err == TS_OK && received < size && ordered - received < (int64_t)ORDER_STEP / 2 &&
            ordered < size) {
            Tessera__Piecestore__DownloadRequest more = TESSERA__PIECESTORE__DOWNLOAD_REQUEST__INIT;
            ordered = next_amount(received, size);
            err = order_pb(limit, priv, ordered, &order, &opb);
            more.order = &opb;
            if (err == TS_OK) {
                err = ts_rpc_stream_send(s, &more.base);
            }
        }
    }
    if (err == TS_OK) {
        err = ts_rpc_stream_close_send(s);
    }
    return err;
}

ts_err sat_piece_download(struct ts_rpc_pool *pool, const struct ts_node_url *url,
                          const struct ts_order_limit *limit, const uint8_t piece_private_key[64],
                          int64_t offset, int64_t size, uint8_t *out, struct sat_piece_proof *proof,
                          bool *dialed)
{
    struct ts_rpc_stream *s = NULL;
    *dialed = false;
    if (proof != NULL) {
        memset(proof, 0, sizeof *proof);
    }
    if (size <= 0 || offset < 0 || size > limit->limit_bytes) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    ts_err err = ts_rpc_pool_open_stream(pool, url, TS_PIECESTORE_DOWNLOAD, &s);
    if (err != TS_OK) {
        return err;
    }
    *dialed = true;
    err = download_body(s, limit, piece_private_key, offset, size, out, proof);
    if (err != TS_OK) {
        ts_rpc_stream_cancel(s);
    }
    ts_rpc_stream_finish(s);
    return err;
}

static ts_err upload_data(struct ts_rpc_stream *s, const struct ts_order_limit *limit,
                          const uint8_t priv[64], const uint8_t *data, size_t size)
{
    Tessera__Orders__OrderLimit limit_pb = TESSERA__ORDERS__ORDER_LIMIT__INIT;
    Tessera__Piecestore__UploadRequest first = TESSERA__PIECESTORE__UPLOAD_REQUEST__INIT;
    ts_order_limit_to_proto(limit, &limit_pb);
    first.limit = &limit_pb;
    first.hash_algorithm = TESSERA__ORDERS__HASH_ALGORITHM__SHA256;
    ts_err err = ts_rpc_stream_send(s, &first.base);
    for (size_t sent = 0; err == TS_OK && sent < size;) {
        size_t len = size - sent < TS_RPC_CHUNK_SIZE ? size - sent : TS_RPC_CHUNK_SIZE;
        Tessera__Piecestore__UploadRequest req = TESSERA__PIECESTORE__UPLOAD_REQUEST__INIT;
        Tessera__Piecestore__Chunk chunk = TESSERA__PIECESTORE__CHUNK__INIT;
        Tessera__Orders__Order opb = TESSERA__ORDERS__ORDER__INIT;
        struct ts_order order;
        err = order_pb(limit, priv, (int64_t)(sent + len), &order, &opb);
        req.order = &opb;
        chunk.offset = (int64_t)sent;
        chunk.data.data = (uint8_t *)data + sent;
        chunk.data.len = len;
        req.chunk = &chunk;
        if (err == TS_OK) {
            err = ts_rpc_stream_send(s, &req.base);
        }
        sent += len;
    }
    return err;
}

static ts_err upload_finish(struct ts_rpc_stream *s, const struct ts_piece_hash *h,
                            struct ts_piece_hash *receipt)
{
    Tessera__Orders__PieceHash hash_pb = TESSERA__ORDERS__PIECE_HASH__INIT;
    Tessera__Piecestore__UploadRequest req = TESSERA__PIECESTORE__UPLOAD_REQUEST__INIT;
    ts_piece_hash_to_proto(h, &hash_pb);
    req.done = &hash_pb;
    ts_err err = ts_rpc_stream_send(s, &req.base);
    if (err == TS_OK) {
        err = ts_rpc_stream_close_send(s);
    }
    ProtobufCMessage *msg = NULL;
    if (err == TS_OK) {
        err = ts_rpc_stream_recv(s, &tessera__piecestore__upload_response__descriptor, &msg);
    }
    if (err != TS_OK) {
        return err;
    }
    Tessera__Piecestore__UploadResponse *resp = (Tessera__Piecestore__UploadResponse *)msg;
    struct ts_piece_hash got;
    err = resp->done != NULL ? ts_piece_hash_from_proto(resp->done, &got) : TS_ERR_PROTOCOL;
    if (err == TS_OK && (memcmp(got.hash, h->hash, TS_PIECE_HASH_SIZE) != 0 ||
                         memcmp(got.piece_id, h->piece_id, TS_PIECE_ID_SIZE) != 0 ||
                         got.piece_size != h->piece_size)) {
        err = TS_ERR_HASH_MISMATCH;
    }
    if (err == TS_OK && receipt != NULL) {
        *receipt = got;
    }
    protobuf_c_message_free_unpacked(msg, NULL);
    return err;
}

ts_err sat_piece_upload(struct ts_rpc_pool *pool, const struct ts_node_url *url,
                        const struct ts_order_limit *limit, const uint8_t piece_private_key[64],
                        const uint8_t *data, size_t size, struct ts_piece_hash *receipt)
{
    struct ts_piece_hash h;
    struct ts_rpc_stream *s = NULL;
    memset(&h, 0, sizeof h);
    memcpy(h.piece_id, limit->piece_id, TS_PIECE_ID_SIZE);
    h.piece_size = (int64_t)size;
    h.timestamp_s = limit->order_creation_s;
    h.hash_algorithm = TS_HASH_SHA256;
    ts_err err = ts_sha256(data, size, h.hash);
    if (err == TS_OK) {
        err = ts_piece_hash_sign_uplink(&h, piece_private_key);
    }
    if (err == TS_OK) {
        err = ts_rpc_pool_open_stream(pool, url, TS_PIECESTORE_UPLOAD, &s);
    }
    if (err != TS_OK) {
        return err;
    }
    err = upload_data(s, limit, piece_private_key, data, size);
    if (err == TS_OK) {
        err = upload_finish(s, &h, receipt);
    }
    if (err != TS_OK) {
        ts_rpc_stream_cancel(s); /* the node drops its partial piece */
    }
    ts_rpc_stream_finish(s);
    return err;
}

ts_err sat_piece_verify(const struct ts_peer_identity *satellite,
                        const uint8_t node_id[TS_NODE_ID_SIZE],
                        const uint8_t piece_id[TS_PIECE_ID_SIZE], const uint8_t *data, size_t size,
                        const struct sat_piece_proof *proof)
{
    uint8_t digest[TS_SHA256_SIZE];
    if (proof == NULL || !proof->present) {
        return TS_ERR_PROTOCOL;
    }
    const struct ts_order_limit *l = &proof->limit;
    const struct ts_piece_hash *h = &proof->hash;
    if (ts_order_limit_verify(l, satellite) != TS_OK ||
        memcmp(l->storage_node_id.bytes, node_id, TS_NODE_ID_SIZE) != 0 ||
        memcmp(l->piece_id, piece_id, TS_PIECE_ID_SIZE) != 0 ||
        (l->action != TS_PIECE_ACTION_PUT && l->action != TS_PIECE_ACTION_PUT_REPAIR)) {
        return TS_ERR_AUTH_FAILED;
    }
    if (ts_piece_hash_verify_uplink(h, l->uplink_public_key) != TS_OK ||
        memcmp(h->piece_id, piece_id, TS_PIECE_ID_SIZE) != 0) {
        return TS_ERR_AUTH_FAILED;
    }
    if (h->piece_size != (int64_t)size || ts_sha256(data, size, digest) != TS_OK ||
        !ts_ct_equal(digest, h->hash, TS_PIECE_HASH_SIZE)) {
        return TS_ERR_HASH_MISMATCH;
    }
    return TS_OK;
}

ts_err sat_node_url_make(const uint8_t node_id[TS_NODE_ID_SIZE], const char *address,
                         struct ts_node_url *url)
{
    memset(url, 0, sizeof *url);
    memcpy(url->id.bytes, node_id, TS_NODE_ID_SIZE);
    const char *colon = strrchr(address, ':');
    if (colon == NULL || colon == address || (size_t)(colon - address) > TS_HOST_NAME_MAX) {
        return TS_ERR_MALFORMED;
    }
    long port = 0;
    for (const char *p = colon + 1; *p != 0; p++) {
        if (*p < '0' || *p > '9' || port > 65535) {
            return TS_ERR_MALFORMED;
        }
        port = port * 10 + (*p - '0');
    }
    if (port < 1 || port > 65535) {
        return TS_ERR_MALFORMED;
    }
    memcpy(url->host, address, (size_t)(colon - address));
    url->host[colon - address] = 0;
    url->port = (uint16_t)port;
    return TS_OK;
}

int sat_piece_outcome(ts_err err, bool dialed)
{
    if (err == TS_OK) {
        return SAT_AUDIT_SUCCESS;
    }
    if (!dialed || err == TS_ERR_CONNECT || err == TS_ERR_CLOSED || err == TS_ERR_TLS) {
        return SAT_AUDIT_OFFLINE;
    }
    if (err == TS_ERR_NOT_FOUND) {
        return SAT_AUDIT_FAILURE;
    }
    return err == TS_ERR_TIMEOUT ? SAT_AUDIT_CONTAINED : SAT_AUDIT_UNKNOWN;
}
