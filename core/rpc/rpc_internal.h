/* Shared by the files of core/rpc: a framed connection and a stream on it (not part of the API). */
#ifndef TS_RPC_RPC_INTERNAL_H
#define TS_RPC_RPC_INTERNAL_H

#include <stdint.h>

#include "base/buf.h"
#include "rpc/frame.h"
#include "rpc/rpc.h"
#include "tls/tls.h"

/* A TLS connection carrying frames. Used by one thread at a time. */
struct rpc_conn {
    struct ts_tls_conn *tls;
    int broken;              /* a framing error happened: never reuse */
    uint32_t last_stream_id; /* highest stream id opened (client) or served (server) */
    struct ts_buf payload;   /* payload of the frame just read */
    struct ts_buf out;       /* scratch for building small frames */
    int has_pending;         /* one frame read ahead while sending (cancel detection) */
    struct ts_rpc_frame_header pending;
    struct ts_buf pending_payload;
    /* pool bookkeeping (client) */
    struct ts_node_id node;
    int64_t idle_since_ms;
    struct rpc_conn *next;
};

struct ts_rpc_stream {
    struct rpc_conn *conn;
    struct ts_rpc_pool *pool; /* client streams only */
    int server;
    uint32_t id;
    char method[TS_RPC_METHOD_MAX + 1];
    int remote_done;  /* server: client sent CLOSE_SEND */
    int terminated;   /* client: the server's CLOSE or ERROR arrived */
    int canceled;     /* server: client canceled or left; client: we canceled */
    int error_sent;   /* server: an ERROR frame ended the stream */
    int close_sent;   /* client: CLOSE_SEND sent */
    int reused;       /* client: the connection came from the idle pool */
    int frames_seen;  /* client: frames received for this stream (any kind) */
    ts_err remote_err; /* client: code of the server's ERROR frame */
    char error_message[TS_RPC_ERROR_MESSAGE_MAX + 1];
};

/* Connection lifecycle (takes ownership of tls). */
TS_WARN_UNUSED ts_err rpc_conn_new(struct ts_tls_conn *tls, struct rpc_conn **out);
void rpc_conn_free(struct rpc_conn *c);
int rpc_conn_reusable(const struct rpc_conn *c);

/* Reads the next frame (the read-ahead one first); its payload lands in c->payload.
 * Errors: transport errors, TS_ERR_PROTOCOL / TS_ERR_TOO_LARGE (c->broken set). */
TS_WARN_UNUSED ts_err rpc_conn_read_frame(struct rpc_conn *c, struct ts_rpc_frame_header *h);
/* Buffers one frame. */
TS_WARN_UNUSED ts_err rpc_conn_write_frame(struct rpc_conn *c, enum ts_rpc_frame_kind kind,
                                           uint32_t stream_id, const void *payload, size_t len);
/* Buffers an ERROR frame carrying code and msg (NULL = ts_strerror(code)). */
TS_WARN_UNUSED ts_err rpc_conn_write_error(struct rpc_conn *c, uint32_t stream_id, ts_err code,
                                           const char *msg);

/* Server: ends a stream after its handler returned err (sends CLOSE or ERROR, flushes). */
void rpc_stream_server_end(struct ts_rpc_stream *s, ts_err err);

#endif
