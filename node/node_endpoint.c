/* The piecestore RPC endpoint: translates core/rpc streams into node_piecestore calls. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "node_piecestore.h"
#include "piecestore.pb-c.h"
#include "rpc/rpc.h"

#define LOG "node.piecestore"

typedef Tessera__Piecestore__UploadRequest UploadRequest;
typedef Tessera__Piecestore__DownloadRequest DownloadRequest;

/* Sends msg as the stream's error frame and returns err (the handler's result). */
static ts_err fail(struct ts_rpc_stream *s, ts_err err, const char *msg)
{
    if (ts_rpc_stream_send_error(s, err, msg[0] != 0 ? msg : NULL) != TS_OK) {
        ts_log_debug(LOG, "could not send the error frame (client gone)");
    }
    return err;
}

static void piece_id_short(const uint8_t id[TS_PIECE_ID_SIZE], char out[17])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 8; i++) {
        out[2 * i] = hex[id[i] >> 4];
        out[2 * i + 1] = hex[id[i] & 15];
    }
    out[16] = 0;
}

static ts_err recv_msg(struct ts_rpc_stream *s, const ProtobufCMessageDescriptor *desc,
                       ProtobufCMessage **out, char *msg)
{
    ts_err err = ts_rpc_stream_recv(s, desc, out);
    if (err == TS_ERR_MALFORMED) {
        snprintf(msg, NODE_MSG_SIZE, "message does not parse as %s", desc->name);
    }
    return err;
}

/* One upload message after the first: order, chunk, done (in that order). *done set at the end. */
static ts_err upload_step(struct node_upload *u, const UploadRequest *req, struct ts_piece_hash
                          *receipt, int *done, char *msg)
{
    ts_err err = TS_OK;
    if (req->order != NULL) {
        struct ts_order o;
        err = ts_order_from_proto(req->order, &o);
        err = err != TS_OK ? (snprintf(msg, NODE_MSG_SIZE, "malformed order"), err)
                           : node_upload_order(u, &o, msg);
    }
    if (err == TS_OK && req->chunk != NULL) {
        err = node_upload_chunk(u, req->chunk->offset, req->chunk->data.data,
                                req->chunk->data.len, msg);
    }
    if (err == TS_OK && req->done != NULL) {
        struct ts_piece_hash h;
        err = ts_piece_hash_from_proto(req->done, &h);
        err = err != TS_OK ? (snprintf(msg, NODE_MSG_SIZE, "malformed piece hash"), err)
                           : node_upload_finish(u, &h, receipt, msg);
        *done = err == TS_OK;
    }
    return err;
}

/* The fast path for data messages (order + chunk, parsed in place; see node_piecestore.h). */
static ts_err upload_fast_step(struct node_upload *u, const struct node_upload_msg *m, char *msg)
{
    ts_err err = TS_OK;
    if (m->order != NULL) {
        struct ts_order o;
        err = ts_order_decode(m->order, m->order_len, &o);
        err = err != TS_OK ? (snprintf(msg, NODE_MSG_SIZE, "malformed order"), err)
                           : node_upload_order(u, &o, msg);
    }
    if (err == TS_OK && m->has_chunk) {
        err = node_upload_chunk(u, m->offset, m->data, m->data_len, msg);
    }
    return err;
}

static ts_err upload_loop(struct ts_rpc_stream *s, struct node_upload *u, UploadRequest *req,
                          struct ts_piece_hash *receipt, char *msg)
{
    ts_err err = TS_OK;
    int done = 0;
    while (err == TS_OK && !done) {
        if (req != NULL) {
            err = upload_step(u, req, receipt, &done, msg);
            protobuf_c_message_free_unpacked(&req->base, NULL);
            req = NULL;
        }
        if (err != TS_OK || done) {
            break;
        }
        const uint8_t *data = NULL;
        size_t len = 0;
        struct node_upload_msg m;
        err = ts_rpc_stream_recv_raw(s, &data, &len);
        if (err == TS_ERR_END_OF_STREAM) {
            snprintf(msg, NODE_MSG_SIZE, "upload ended without the final piece hash");
            err = TS_ERR_PROTOCOL;
        } else if (err == TS_OK && node_upload_message_parse(data, len, &m)) {
            err = upload_fast_step(u, &m, msg);
        } else if (err == TS_OK) {
            req = (UploadRequest *)protobuf_c_message_unpack(
                &tessera__piecestore__upload_request__descriptor, NULL, len, data);
            if (req == NULL) {
                snprintf(msg, NODE_MSG_SIZE, "message does not parse as %s",
                         tessera__piecestore__upload_request__descriptor.name);
                err = TS_ERR_MALFORMED;
            }
        }
    }
    return err;
}

static ts_err handle_upload(struct ts_rpc_stream *s, void *ctx)
{
    struct node *n = ctx;
    char msg[NODE_MSG_SIZE] = "";
    int64_t start_ms = ts_monotonic_ms();
    UploadRequest *req = NULL;
    ts_err err = recv_msg(s, &tessera__piecestore__upload_request__descriptor,
                          (ProtobufCMessage **)&req, msg);
    if (err != TS_OK) {
        return err == TS_ERR_MALFORMED ? fail(s, err, msg) : err;
    }
    struct ts_order_limit limit;
    if (req->limit == NULL) {
        snprintf(msg, NODE_MSG_SIZE, "the first upload message must carry the order limit");
        err = TS_ERR_PROTOCOL;
    } else if ((err = ts_order_limit_from_proto(req->limit, &limit)) != TS_OK) {
        snprintf(msg, NODE_MSG_SIZE, "malformed order limit");
    }
    struct node_upload *u = NULL;
    if (err == TS_OK) {
        err = node_upload_begin(n, &limit, &u, msg);
    }
    if (err != TS_OK) {
        protobuf_c_message_free_unpacked(&req->base, NULL);
        return fail(s, err, msg);
    }
    struct ts_piece_hash receipt;
    err = upload_loop(s, u, req, &receipt, msg);
    char pid[17];
    piece_id_short(limit.piece_id, pid);
    if (err == TS_OK) {
        Tessera__Orders__PieceHash pb;
        ts_piece_hash_to_proto(&receipt, &pb);
        Tessera__Piecestore__UploadResponse resp;
        tessera__piecestore__upload_response__init(&resp);
        resp.done = &pb;
        err = ts_rpc_stream_send(s, &resp.base);
        ts_log_info(LOG, "upload stored piece=%s action=%s size=%lld ms=%lld", pid,
                    ts_piece_action_name(limit.action), (long long)receipt.piece_size,
                    (long long)(ts_monotonic_ms() - start_ms));
    } else {
        ts_log_info(LOG, "upload failed piece=%s err=%s why=\"%s\"", pid, ts_errname(err), msg);
    }
    node_upload_free(u);
    return err == TS_OK || msg[0] == 0 ? err : fail(s, err, msg);
}

/* Waits for the next order from the client (the data it paid for has been sent). */
static ts_err download_next_order(struct ts_rpc_stream *s, struct node_download *d, char *msg)
{
    DownloadRequest *req = NULL;
    ts_err err = recv_msg(s, &tessera__piecestore__download_request__descriptor,
                          (ProtobufCMessage **)&req, msg);
    if (err != TS_OK) {
        return err;
    }
    struct ts_order o;
    if (req->order == NULL) {
        snprintf(msg, NODE_MSG_SIZE, "download message without an order");
        err = TS_ERR_PROTOCOL;
    } else if ((err = ts_order_from_proto(req->order, &o)) != TS_OK) {
        snprintf(msg, NODE_MSG_SIZE, "malformed order");
    } else {
        err = node_download_order(d, &o, msg);
    }
    protobuf_c_message_free_unpacked(&req->base, NULL);
    return err;
}

/* Streams the range: chunks of at most chunk_max bytes, never more than ordered. */
static ts_err download_send(struct ts_rpc_stream *s, struct node_download *d, size_t chunk_max,
                            char *msg)
{
    uint8_t *buf = malloc(chunk_max);
    if (buf == NULL) {
        return TS_ERR_NOMEM;
    }
    struct ts_piece_hash hash;
    struct ts_order_limit original;
    Tessera__Orders__PieceHash hash_pb;
    Tessera__Orders__OrderLimit limit_pb;
    int first = node_download_whole_piece(d, &hash, &original);
    if (first) {
        ts_piece_hash_to_proto(&hash, &hash_pb);
        ts_order_limit_to_proto(&original, &limit_pb);
    }
    ts_err err = TS_OK;
    while (err == TS_OK && (node_download_remaining(d) > 0 || first)) {
        int64_t allowed = node_download_allowed(d);
        if (allowed == 0 && node_download_remaining(d) > 0) {
            err = download_next_order(s, d, msg);
            continue;
        }
        size_t len = (size_t)allowed < chunk_max ? (size_t)allowed : chunk_max;
        Tessera__Piecestore__Chunk chunk;
        Tessera__Piecestore__DownloadResponse resp;
        tessera__piecestore__chunk__init(&chunk);
        tessera__piecestore__download_response__init(&resp);
        err = node_download_read(d, buf, len, &chunk.offset);
        chunk.data.data = buf;
        chunk.data.len = len;
        resp.chunk = &chunk;
        if (first) {
            resp.hash = &hash_pb;
            resp.limit = &limit_pb;
            first = 0;
        }
        if (err == TS_OK) {
            err = ts_rpc_stream_send(s, &resp.base);
        }
    }
    free(buf);
    return err;
}

static ts_err handle_download(struct ts_rpc_stream *s, void *ctx)
{
    struct node *n = ctx;
    char msg[NODE_MSG_SIZE] = "";
    DownloadRequest *req = NULL;
    ts_err err = recv_msg(s, &tessera__piecestore__download_request__descriptor,
                          (ProtobufCMessage **)&req, msg);
    if (err != TS_OK) {
        return err == TS_ERR_MALFORMED ? fail(s, err, msg) : err;
    }
    struct ts_order_limit limit;
    struct node_download *d = NULL;
    if (req->limit == NULL || req->chunk == NULL) {
        snprintf(msg, NODE_MSG_SIZE, "the first download message must carry limit and range");
        err = TS_ERR_PROTOCOL;
    } else if ((err = ts_order_limit_from_proto(req->limit, &limit)) != TS_OK) {
        snprintf(msg, NODE_MSG_SIZE, "malformed order limit");
    } else {
        err = node_download_begin(n, &limit, req->chunk->offset, req->chunk->size, &d, msg);
    }
    if (err == TS_OK && req->order != NULL) {
        struct ts_order o;
        err = ts_order_from_proto(req->order, &o);
        err = err != TS_OK ? (snprintf(msg, NODE_MSG_SIZE, "malformed order"), err)
                           : node_download_order(d, &o, msg);
    }
    size_t chunk_max = TS_RPC_CHUNK_SIZE;
    if (req->maximum_chunk_size > 0 && req->maximum_chunk_size < chunk_max) {
        chunk_max = req->maximum_chunk_size;
    }
    protobuf_c_message_free_unpacked(&req->base, NULL);
    if (err == TS_OK) {
        err = download_send(s, d, chunk_max, msg);
        if (err == TS_ERR_END_OF_STREAM) {
            err = TS_OK; /* the client stopped early (it had what it needed) */
        }
    }
    if (err != TS_OK && msg[0] != 0) {
        ts_log_info(LOG, "download failed err=%s why=\"%s\"", ts_errname(err), msg);
    }
    node_download_free(d);
    return err == TS_OK || msg[0] == 0 ? err : fail(s, err, msg);
}

static ts_err handle_delete(struct ts_rpc_stream *s, void *ctx)
{
    struct node *n = ctx;
    char msg[NODE_MSG_SIZE] = "";
    Tessera__Piecestore__DeleteRequest *req = NULL;
    ts_err err = recv_msg(s, &tessera__piecestore__delete_request__descriptor,
                          (ProtobufCMessage **)&req, msg);
    if (err != TS_OK) {
        return err == TS_ERR_MALFORMED ? fail(s, err, msg) : err;
    }
    struct ts_order_limit limit;
    if (req->limit == NULL || ts_order_limit_from_proto(req->limit, &limit) != TS_OK) {
        snprintf(msg, NODE_MSG_SIZE, "delete needs a well-formed DELETE order limit");
        err = TS_ERR_MALFORMED;
    } else {
        err = node_piece_delete(n, &limit, msg);
    }
    protobuf_c_message_free_unpacked(&req->base, NULL);
    if (err != TS_OK) {
        return fail(s, err, msg);
    }
    Tessera__Piecestore__DeleteResponse resp;
    tessera__piecestore__delete_response__init(&resp);
    return ts_rpc_stream_send(s, &resp.base);
}

static ts_err exists_run(struct node *n, const struct ts_node_id *sat,
                         const Tessera__Piecestore__ExistsRequest *req, struct ts_rpc_stream *s,
                         char *msg)
{
    size_t count = req->n_piece_ids;
    if (count > TS_EXISTS_PIECES_MAX) {
        snprintf(msg, NODE_MSG_SIZE, "at most %d piece IDs per request", TS_EXISTS_PIECES_MAX);
        return TS_ERR_TOO_LARGE;
    }
    uint8_t(*ids)[TS_PIECE_ID_SIZE] = calloc(count + 1, TS_PIECE_ID_SIZE);
    uint32_t *missing = calloc(count + 1, sizeof *missing);
    ts_err err = ids == NULL || missing == NULL ? TS_ERR_NOMEM : TS_OK;
    for (size_t i = 0; err == TS_OK && i < count; i++) {
        if (req->piece_ids[i].len != TS_PIECE_ID_SIZE) {
            snprintf(msg, NODE_MSG_SIZE, "piece ID %zu is not 32 bytes", i);
            err = TS_ERR_MALFORMED;
        } else {
            memcpy(ids[i], req->piece_ids[i].data, TS_PIECE_ID_SIZE);
        }
    }
    size_t missing_count = 0;
    if (err == TS_OK) {
        err = node_pieces_exist(n, sat, (const uint8_t(*)[TS_PIECE_ID_SIZE])ids, count, missing,
                                &missing_count, msg);
    }
    if (err == TS_OK) {
        Tessera__Piecestore__ExistsResponse resp;
        tessera__piecestore__exists_response__init(&resp);
        resp.missing = missing;
        resp.n_missing = missing_count;
        err = ts_rpc_stream_send(s, &resp.base);
    }
    free(ids);
    free(missing);
    return err;
}

static ts_err handle_exists(struct ts_rpc_stream *s, void *ctx)
{
    struct node *n = ctx;
    char msg[NODE_MSG_SIZE] = "";
    Tessera__Piecestore__ExistsRequest *req = NULL;
    ts_err err = recv_msg(s, &tessera__piecestore__exists_request__descriptor,
                          (ProtobufCMessage **)&req, msg);
    if (err != TS_OK) {
        return err == TS_ERR_MALFORMED ? fail(s, err, msg) : err;
    }
    err = exists_run(n, &ts_rpc_stream_peer(s)->id, req, s, msg);
    protobuf_c_message_free_unpacked(&req->base, NULL);
    return err == TS_OK || msg[0] == 0 ? err : fail(s, err, msg);
}

ts_err node_piecestore_register(struct node *n, struct ts_rpc_server *srv)
{
    ts_err err = ts_rpc_server_register(srv, TS_PIECESTORE_UPLOAD, handle_upload, n);
    if (err == TS_OK) {
        err = ts_rpc_server_register(srv, TS_PIECESTORE_DOWNLOAD, handle_download, n);
    }
    if (err == TS_OK) {
        err = ts_rpc_server_register(srv, TS_PIECESTORE_DELETE, handle_delete, n);
    }
    if (err == TS_OK) {
        err = ts_rpc_server_register(srv, TS_PIECESTORE_EXISTS, handle_exists, n);
    }
    return err;
}
