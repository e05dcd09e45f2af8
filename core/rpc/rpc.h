/*
 * RPC over mutual TLS (reference §10, DRPC-like; wire format in rpc/frame.h, guide in
 * docs/rpc.md). A connection carries one stream at a time; streams run one after another. A stream
 * is opened by the client with a method name ("/piecestore.Piecestore/Upload"); then both sides
 * send protobuf-c messages (or raw bytes) until the server's handler returns: TS_OK ends the
 * stream cleanly (the client's recv then yields TS_ERR_END_OF_STREAM), an error code travels to the
 * client as the return value of its recv. The client may cancel: the server's handler then sees
 * TS_ERR_CANCELED on its next recv/send.
 *
 * Server: a thread per connection (small stacks), at most max_connections; one more connection
 * past the cap is accepted, answered with one TS_ERR_BUSY error frame and closed.
 * Client: a pool of idle connections keyed by node ID, so calls to the same node reuse one TLS
 * session instead of paying a handshake each (~1.7 ms CPU).
 */
#ifndef TS_RPC_RPC_H
#define TS_RPC_RPC_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "base/base.h"
#include "identity/identity.h"

struct ts_rpc_server;
struct ts_rpc_stream;
struct ts_rpc_pool;

/* ---- Streams (both sides; a stream is used by one thread at a time) ---- */

/* Sends one message (packed with protobuf-c). The bytes are buffered and leave in large writes;
 * recv, close_send, finish and the end of a handler flush them. Errors: TS_ERR_TOO_LARGE (packed
 * size > TS_RPC_FRAME_MAX; the stream stays usable), TS_ERR_CANCELED, TS_ERR_TIMEOUT,
 * TS_ERR_CLOSED, TS_ERR_TLS, or the code of an error the server already sent. */
TS_WARN_UNUSED ts_err ts_rpc_stream_send(struct ts_rpc_stream *s, const ProtobufCMessage *msg);
/* Sends one message of raw bytes (len <= TS_RPC_FRAME_MAX); for bulk data. */
TS_WARN_UNUSED ts_err ts_rpc_stream_send_raw(struct ts_rpc_stream *s, const void *data, size_t len);
/* Sends everything buffered now. */
TS_WARN_UNUSED ts_err ts_rpc_stream_flush(struct ts_rpc_stream *s);

/* Receives the next message and unpacks it with desc; the caller frees *out with
 * protobuf_c_message_free_unpacked(*out, NULL). Returns TS_ERR_END_OF_STREAM when the peer has
 * finished sending (client closed its send side / server handler returned TS_OK), the code from
 * the server's error frame (client side; text via ts_rpc_stream_error_message), TS_ERR_MALFORMED
 * when the bytes do not unpack (the stream stays usable), TS_ERR_CANCELED, TS_ERR_TIMEOUT,
 * TS_ERR_CLOSED, TS_ERR_TLS, TS_ERR_PROTOCOL. *out is NULL on any error. */
TS_WARN_UNUSED ts_err ts_rpc_stream_recv(struct ts_rpc_stream *s,
                                         const ProtobufCMessageDescriptor *desc,
                                         ProtobufCMessage **out);
/* Receives the next message as raw bytes; *data points into the stream's buffer and stays valid
 * until the next call on s. Same errors. */
TS_WARN_UNUSED ts_err ts_rpc_stream_recv_raw(struct ts_rpc_stream *s, const uint8_t **data,
                                             size_t *len);

/* The verified identity of the other side; valid for the stream's life. */
const struct ts_peer_identity *ts_rpc_stream_peer(const struct ts_rpc_stream *s);
/* The method this stream invoked ("/pkg.Service/Method"). */
const char *ts_rpc_stream_method(const struct ts_rpc_stream *s);

/* ---- Server side ---- */

/* A handler runs on the connection's thread. Return TS_OK to end the stream cleanly; any other
 * code is sent to the client as an error frame (with ts_strerror text) unless the handler already
 * called ts_rpc_stream_send_error. The stream is freed when the handler returns. */
typedef ts_err (*ts_rpc_handler)(struct ts_rpc_stream *s, void *ctx);

/* Ends the stream with an error frame carrying code (!= TS_OK) and msg (NULL = ts_strerror(code);
 * cut to TS_RPC_ERROR_MESSAGE_MAX). Later sends fail; the handler's return value is then ignored.
 */
TS_WARN_UNUSED ts_err ts_rpc_stream_send_error(struct ts_rpc_stream *s, ts_err code,
                                               const char *msg);

struct ts_rpc_server_config {
    const struct ts_identity *identity; /* borrowed; outlives the server */
    const char *host;                   /* listen address, e.g. "127.0.0.1"; NULL = "0.0.0.0" */
    uint16_t port;                      /* 0 = pick a free port (see ts_rpc_server_port) */
    int difficulty_min;                 /* refuse peers below this (0 accepts uplinks) */
    int max_connections;                /* 0 = TS_RPC_CONNECTIONS_DEFAULT */
    int idle_timeout_ms;                /* between streams; 0 = TS_RPC_IDLE_TIMEOUT_MS */
    int io_timeout_ms;                  /* each read/write inside a stream; 0 = default */
    size_t thread_stack_size;           /* 0 = TS_RPC_THREAD_STACK_SIZE */
};

/* Creates a server and binds/listens (so the port is known) but does not accept yet.
 * Errors: TS_ERR_CONFIG (bad host), TS_ERR_IO (bind/listen; logged), TS_ERR_NOMEM, TS_ERR_TLS. */
TS_WARN_UNUSED ts_err ts_rpc_server_new(const struct ts_rpc_server_config *cfg,
                                        struct ts_rpc_server **out);
/* Registers a handler before _start. method must be a valid name; duplicates -> TS_ERR_EXISTS;
 * more than TS_RPC_METHODS_MAX -> TS_ERR_TOO_LARGE. */
TS_WARN_UNUSED ts_err ts_rpc_server_register(struct ts_rpc_server *srv, const char *method,
                                             ts_rpc_handler handler, void *ctx);
/* Starts the accept thread. */
TS_WARN_UNUSED ts_err ts_rpc_server_start(struct ts_rpc_server *srv);
/* The bound TCP port. */
uint16_t ts_rpc_server_port(const struct ts_rpc_server *srv);
/* Connections currently being served (for metrics). */
int ts_rpc_server_active(struct ts_rpc_server *srv);
/* Stops: closes the listener, cancels every in-flight stream (handlers see TS_ERR_CANCELED), and
 * joins every thread. Safe to call from a signal-watching thread; idempotent. */
void ts_rpc_server_stop(struct ts_rpc_server *srv);
/* Stops if needed and frees. NULL is a no-op. */
void ts_rpc_server_free(struct ts_rpc_server *srv);

/* ---- Client side: connection pool ---- */

struct ts_rpc_pool_opts {
    int difficulty_min;    /* refuse nodes below this */
    int dial_timeout_ms;   /* TCP connect + handshake; 0 = TS_RPC_DIAL_TIMEOUT_MS */
    int io_timeout_ms;     /* each read/write; 0 = TS_RPC_IO_TIMEOUT_MS */
    int idle_max;          /* idle connections kept in total; 0 = TS_RPC_POOL_IDLE_MAX */
    int idle_per_node_max; /* idle connections kept per node; 0 = TS_RPC_POOL_IDLE_PER_NODE */
    int idle_timeout_ms;   /* idle connections older than this are closed; 0 = default */
};

/* Creates a pool dialing with identity (borrowed; outlives the pool). opts may be NULL. */
TS_WARN_UNUSED ts_err ts_rpc_pool_new(const struct ts_identity *identity,
                                      const struct ts_rpc_pool_opts *opts,
                                      struct ts_rpc_pool **out);
/* Closes idle connections and frees. Every stream must be finished first. NULL is a no-op. */
void ts_rpc_pool_free(struct ts_rpc_pool *pool);

/* Opens a stream to url invoking method, reusing an idle connection to url->id when there is one,
 * else dialing (errors as ts_tls_connect). Thread-safe. The INVOKE frame is buffered with the
 * first messages. */
TS_WARN_UNUSED ts_err ts_rpc_pool_open_stream(struct ts_rpc_pool *pool,
                                              const struct ts_node_url *url, const char *method,
                                              struct ts_rpc_stream **out);
/* Client: no more messages will be sent (flushes). */
TS_WARN_UNUSED ts_err ts_rpc_stream_close_send(struct ts_rpc_stream *s);
/* Client: abandons the stream now; the server's handler sees TS_ERR_CANCELED. Call _finish next. */
void ts_rpc_stream_cancel(struct ts_rpc_stream *s);
/* Client, thread-safe: the one call another thread may make on s while its owner is inside a send,
 * recv or flush. Shuts the connection down at once, so blocked and later I/O on s fails with
 * TS_ERR_CANCELED instead of waiting for the I/O timeout; the server's handler sees the client
 * leave (TS_ERR_CANCELED). The connection is not reused. The owner still calls _finish, and the
 * caller must keep s alive meanwhile (e.g. publish s under a lock the owner takes before _finish).
 * Repeating it is harmless. */
void ts_rpc_stream_abort(struct ts_rpc_stream *s);
/* Client: the text of the server's error frame after recv returned its code ("" if none). */
const char *ts_rpc_stream_error_message(const struct ts_rpc_stream *s);
/* Client: ends the stream and frees it. A stream the server finished (END_OF_STREAM or an error
 * frame was received) returns its connection to the pool; an unfinished one is canceled and the
 * connection kept only if the server confirms within a short drain budget. NULL is a no-op. */
void ts_rpc_stream_finish(struct ts_rpc_stream *s);

/* Unary call: sends req, closes the send side, receives exactly one response of resp_desc and the
 * end of stream. The caller frees *resp. On a server error returns its code and copies its text
 * into err_msg (may be NULL; err_msg_size bytes including the NUL). */
TS_WARN_UNUSED ts_err ts_rpc_call(struct ts_rpc_pool *pool, const struct ts_node_url *url,
                                  const char *method, const ProtobufCMessage *req,
                                  const ProtobufCMessageDescriptor *resp_desc,
                                  ProtobufCMessage **resp, char *err_msg, size_t err_msg_size);

/* Full TLS handshakes this pool has performed (reused connections do not count). */
uint64_t ts_rpc_pool_handshakes(const struct ts_rpc_pool *pool);
/* Idle connections currently held. */
int ts_rpc_pool_idle(struct ts_rpc_pool *pool);

#endif
