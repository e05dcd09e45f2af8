/*
 * Mutual TLS 1.3 between Tessera peers (reference §6). Both sides present their identity's leaf +
 * CA chain; X.509 path validation is replaced by our own check: the leaf is signed by the CA, the
 * CA is self-signed, the node ID is computed from the CA key, its difficulty reaches the configured
 * minimum, and a dialer's computed ID equals the ID in the node URL it dialed. No session tickets.
 *
 * Connections use non-blocking sockets driven with poll(), so every operation has a timeout.
 * Reads go through a large (TS_TLS_READ_BUFFER_SIZE) read-ahead buffer and writes are coalesced
 * into large socket writes (TS_TLS_WRITE_COALESCE_SIZE): bulk transfer runs near raw TLS speed.
 * Written bytes stay buffered until ts_tls_conn_flush (or until the buffer fills).
 *
 * A ts_tls_ctx is shared by many threads; a ts_tls_conn is used by one thread at a time, except
 * ts_tls_conn_abort, which any thread may call to wake a blocked reader or writer.
 */
#ifndef TS_TLS_TLS_H
#define TS_TLS_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "identity/identity.h"

struct ts_tls_ctx;
struct ts_tls_conn;

struct ts_tls_config {
    const struct ts_identity *identity; /* borrowed; must outlive the context */
    int difficulty_min;                 /* peers below this are refused (TS_ERR_DIFFICULTY) */
};

/* ---- Context (one per identity; thread-safe) ---- */
TS_WARN_UNUSED ts_err ts_tls_ctx_new(const struct ts_tls_config *cfg, struct ts_tls_ctx **out);
void ts_tls_ctx_free(struct ts_tls_ctx *ctx); /* NULL is a no-op; free all conns first */

/* Total full handshakes completed by this context (client and server side). */
uint64_t ts_tls_ctx_handshakes(const struct ts_tls_ctx *ctx);

/* ---- Connections ---- */

/* Connects to url->host:url->port and handshakes, all within timeout_ms. The peer's computed ID
 * must equal url->id. Errors: TS_ERR_CONNECT, TS_ERR_TIMEOUT, TS_ERR_TLS, TS_ERR_WRONG_NODE (logged
 * with both IDs), TS_ERR_DIFFICULTY. Note (TLS 1.3): a server that refuses *our* certificate is
 * only noticed on the first read, which then fails with TS_ERR_TLS or TS_ERR_CLOSED. */
TS_WARN_UNUSED ts_err ts_tls_connect(struct ts_tls_ctx *ctx, const struct ts_node_url *url,
                                     int timeout_ms, struct ts_tls_conn **out);

/* Server side: takes ownership of the accepted socket fd (closed on failure too) and handshakes
 * within timeout_ms, requiring a client certificate. Errors as ts_tls_connect. */
TS_WARN_UNUSED ts_err ts_tls_accept(struct ts_tls_ctx *ctx, int fd, int timeout_ms,
                                    struct ts_tls_conn **out);

/* Timeout for each later read, write and flush (milliseconds; <= 0 means wait forever). */
void ts_tls_conn_set_timeout(struct ts_tls_conn *conn, int timeout_ms);

/* Reads 1..len bytes into buf (*got receives the count). Errors: TS_ERR_CLOSED (the peer closed,
 * cleanly or not), TS_ERR_TIMEOUT, TS_ERR_TLS, TS_ERR_CANCELED (after ts_tls_conn_abort). Any
 * buffered written bytes are flushed first, so a request is never left waiting in our buffer. */
TS_WARN_UNUSED ts_err ts_tls_conn_read(struct ts_tls_conn *conn, void *buf, size_t len,
                                       size_t *got);
/* Reads exactly len bytes (same errors; TS_ERR_CLOSED if the peer closes in the middle). */
TS_WARN_UNUSED ts_err ts_tls_conn_read_full(struct ts_tls_conn *conn, void *buf, size_t len);

/* 1 when bytes can be read without blocking (decrypted bytes pending or the socket readable,
 * which includes EOF), else 0. */
int ts_tls_conn_readable(struct ts_tls_conn *conn);

/* Buffers len bytes for sending (encrypting them now); writes to the socket whenever the buffer
 * passes TS_TLS_WRITE_COALESCE_SIZE. Errors: TS_ERR_CLOSED, TS_ERR_TIMEOUT, TS_ERR_TLS,
 * TS_ERR_CANCELED. After any error the connection is broken: only _close it. */
TS_WARN_UNUSED ts_err ts_tls_conn_write(struct ts_tls_conn *conn, const void *buf, size_t len);
/* Sends everything buffered. */
TS_WARN_UNUSED ts_err ts_tls_conn_flush(struct ts_tls_conn *conn);

/* The peer's verified identity; valid until ts_tls_conn_close. */
const struct ts_peer_identity *ts_tls_conn_peer(const struct ts_tls_conn *conn);

/* 1 after any I/O error or abort (the connection must not be reused), else 0. */
int ts_tls_conn_broken(const struct ts_tls_conn *conn);

/* Thread-safe: makes blocked and later I/O on conn fail with TS_ERR_CANCELED (shuts the socket
 * down). Does not free anything. */
void ts_tls_conn_abort(struct ts_tls_conn *conn);

/* Sends close_notify (best effort, without waiting) unless broken, closes the socket and frees.
 * NULL is a no-op. */
void ts_tls_conn_close(struct ts_tls_conn *conn);

#endif
