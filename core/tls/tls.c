/*
 * Mutual TLS 1.3 with our own peer verification. Design notes:
 * - The socket is non-blocking; every wait is a poll() bounded by the operation's deadline, and
 *   ts_tls_conn_abort wakes it by shutting the socket down.
 * - Reads: OpenSSL reads from a socket BIO with read-ahead into a TS_TLS_READ_BUFFER_SIZE buffer,
 *   so one read(2) brings many records.
 * - Writes: OpenSSL writes encrypted records into our write BIO (an append-only buffer); we send
 *   its contents with one send(2) per TS_TLS_WRITE_COALESCE_SIZE (instead of one per 16 KiB
 *   record) and on flush. Not OpenSSL's memory BIO: its reset clears the whole buffer with
 *   memset, which cost one extra pass over every byte sent.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/log.h"
#include "identity/identity.h"
#include "identity/identity_openssl.h"
#include "tls/tls.h"

/* close_notify is sent without waiting longer than this. */
#define CLOSE_NOTIFY_TIMEOUT_MS 100
#define CIPHER_SUITES "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

struct ts_tls_ctx {
    SSL_CTX *server;
    SSL_CTX *client;
    int difficulty_min;
    atomic_uint_fast64_t handshakes;
};

/* Encrypted bytes waiting to be sent: SSL_write_ex of one TS_TLS_WRITE_COALESCE_SIZE piece on
 * top of less than that already waiting, plus record overhead. */
#define WRITE_BUFFER_MAX (4 * TS_TLS_WRITE_COALESCE_SIZE)

struct ts_tls_conn {
    struct ts_tls_ctx *ctx;
    SSL *ssl;
    BIO *wbio;        /* our write BIO (owned by ssl), appending to out */
    struct ts_buf out; /* encrypted bytes waiting to be sent */
    int fd;
    int timeout_ms;
    int broken;
    atomic_int aborted;
    int has_expected;
    struct ts_node_id expected; /* client: the ID we dialed */
    ts_err verify_err;          /* why our verify callback refused the peer */
    struct ts_peer_identity peer;
};

static int conn_index = -1;
static BIO_METHOD *out_method;
static pthread_once_t conn_index_once = PTHREAD_ONCE_INIT;

/* ---- Write BIO: OpenSSL's records appended to the connection's out buffer ---- */

static int out_write(BIO *b, const char *data, int len)
{
    struct ts_buf *out = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (len < 0 || ts_buf_append(out, data, (size_t)len) != TS_OK) {
        return -1;
    }
    return len;
}

static long out_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)num;
    (void)ptr;
    const struct ts_buf *out = BIO_get_data(b);
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1; /* we send on our own schedule (flush_until) */
    case BIO_CTRL_PENDING:
    case BIO_CTRL_WPENDING:
        return (long)out->len;
    default:
        return 0;
    }
}

static int out_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static void conn_index_init(void)
{
    conn_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    out_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "tessera out");
    if (out_method != NULL &&
        (!BIO_meth_set_write(out_method, out_write) || !BIO_meth_set_ctrl(out_method, out_ctrl) ||
         !BIO_meth_set_create(out_method, out_create))) {
        BIO_meth_free(out_method);
        out_method = NULL;
    }
}

static ts_err log_tls(const char *what)
{
    unsigned long e = ERR_get_error();
    char msg[256] = "no detail";
    if (e != 0) {
        ERR_error_string_n(e, msg, sizeof msg);
    }
    ERR_clear_error();
    ts_log_warn("tls", "%s failed openssl=\"%s\"", what, msg);
    return TS_ERR_TLS;
}

static void id_text(const struct ts_node_id *id, char *out, size_t n)
{
    if (ts_node_id_to_string(id, out, n) != TS_OK) {
        snprintf(out, n, "?");
    }
}

/* Checks the peer's identity against our rules; returns TS_OK or the reason. */
static ts_err verify_peer(struct ts_tls_conn *c, X509 *leaf, STACK_OF(X509) *chain)
{
    X509 *ca = NULL;
    int others = 0;
    for (int i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
        X509 *x = sk_X509_value(chain, i);
        if (X509_cmp(x, leaf) != 0) {
            ca = x;
            others++;
        }
    }
    if (leaf == NULL || others != 1) {
        ts_log_warn("tls", "peer sent %d CA certificates, want exactly 1", others);
        return TS_ERR_TLS;
    }
    ts_err err = ts_peer_identity_from_x509(leaf, ca, &c->peer);
    if (err != TS_OK) {
        ts_log_warn("tls", "peer certificate chain refused err=%s", ts_errname(err));
        return TS_ERR_TLS;
    }
    char got[TS_NODE_ID_TEXT_MAX], want[TS_NODE_ID_TEXT_MAX];
    if (c->has_expected && !ts_node_id_equal(&c->peer.id, &c->expected)) {
        id_text(&c->expected, want, sizeof want);
        id_text(&c->peer.id, got, sizeof got);
        ts_log_warn("tls", "peer is not the node dialed expected=%s got=%s", want, got);
        return TS_ERR_WRONG_NODE;
    }
    if (c->peer.difficulty < c->ctx->difficulty_min) {
        id_text(&c->peer.id, got, sizeof got);
        ts_log_warn("tls", "peer identity difficulty too low node=%s difficulty=%d minimum=%d",
                    got, c->peer.difficulty, c->ctx->difficulty_min);
        return TS_ERR_DIFFICULTY;
    }
    return TS_OK;
}

/* Replaces X.509 path validation (SSL_CTX_set_cert_verify_callback). */
static int verify_callback(X509_STORE_CTX *store, void *arg)
{
    (void)arg;
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct ts_tls_conn *c = ssl != NULL ? SSL_get_ex_data(ssl, conn_index) : NULL;
    if (c == NULL) {
        return 0;
    }
    c->verify_err = verify_peer(c, X509_STORE_CTX_get0_cert(store),
                                X509_STORE_CTX_get0_untrusted(store));
    if (c->verify_err != TS_OK) {
        memset(&c->peer, 0, sizeof c->peer);
        X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
        return 0;
    }
    X509_STORE_CTX_set_error(store, X509_V_OK);
    return 1;
}

static SSL_CTX *ssl_ctx_make(const struct ts_tls_config *cfg, int server, struct ts_tls_ctx *t)
{
    SSL_CTX *s = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (s == NULL) {
        return NULL;
    }
    const struct ts_identity *id = cfg->identity;
    int ok = SSL_CTX_set_min_proto_version(s, TLS1_3_VERSION) &&
             SSL_CTX_set_max_proto_version(s, TLS1_3_VERSION) &&
             SSL_CTX_set_ciphersuites(s, CIPHER_SUITES) &&
             SSL_CTX_use_certificate(s, ts_identity_leaf_cert(id)) == 1 &&
             SSL_CTX_use_PrivateKey(s, ts_identity_leaf_key(id)) == 1 &&
             SSL_CTX_add1_chain_cert(s, ts_identity_ca_cert(id)) == 1 &&
             SSL_CTX_check_private_key(s) == 1 && SSL_CTX_set_num_tickets(s, 0) == 1;
    if (!ok) {
        SSL_CTX_free(s);
        return NULL;
    }
    SSL_CTX_set_options(s, SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF |
                               SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_verify(s, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_cert_verify_callback(s, verify_callback, t);
    SSL_CTX_set_read_ahead(s, 1);
    SSL_CTX_set_default_read_buffer_len(s, TS_TLS_READ_BUFFER_SIZE);
    return s;
}

ts_err ts_tls_ctx_new(const struct ts_tls_config *cfg, struct ts_tls_ctx **out)
{
    *out = NULL;
    pthread_once(&conn_index_once, conn_index_init);
    if (conn_index < 0 || out_method == NULL || cfg->identity == NULL) {
        return cfg->identity != NULL ? TS_ERR_TLS : TS_ERR_INVALID_ARGUMENT;
    }
    struct ts_tls_ctx *t = calloc(1, sizeof *t);
    if (t == NULL) {
        return TS_ERR_NOMEM;
    }
    t->difficulty_min = cfg->difficulty_min;
    t->server = ssl_ctx_make(cfg, 1, t);
    t->client = ssl_ctx_make(cfg, 0, t);
    if (t->server == NULL || t->client == NULL) {
        ts_err err = log_tls("TLS context setup");
        ts_tls_ctx_free(t);
        return err;
    }
    *out = t;
    return TS_OK;
}

void ts_tls_ctx_free(struct ts_tls_ctx *ctx)
{
    if (ctx == NULL) {
        return;
    }
    SSL_CTX_free(ctx->server);
    SSL_CTX_free(ctx->client);
    free(ctx);
}

uint64_t ts_tls_ctx_handshakes(const struct ts_tls_ctx *ctx)
{
    return (uint64_t)atomic_load(&((struct ts_tls_ctx *)ctx)->handshakes);
}

/* ---- Waiting ---- */

static int64_t deadline_after(int timeout_ms)
{
    return timeout_ms > 0 ? ts_monotonic_ms() + timeout_ms : INT64_MAX;
}

/* Waits until fd is readable (or writable). TS_ERR_TIMEOUT past deadline_ms. */
static ts_err wait_fd(struct ts_tls_conn *c, short events, int64_t deadline_ms)
{
    for (;;) {
        if (atomic_load(&c->aborted)) {
            return TS_ERR_CANCELED;
        }
        int64_t left = deadline_ms == INT64_MAX ? -1 : deadline_ms - ts_monotonic_ms();
        if (deadline_ms != INT64_MAX && left <= 0) {
            return TS_ERR_TIMEOUT;
        }
        struct pollfd p = {.fd = c->fd, .events = events};
        int rc = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
        if (rc > 0) {
            return atomic_load(&c->aborted) ? TS_ERR_CANCELED : TS_OK;
        }
        if (rc < 0 && errno != EINTR) {
            return TS_ERR_IO;
        }
    }
}

/* Sends every byte waiting in the out buffer. */
static ts_err flush_until(struct ts_tls_conn *c, int64_t deadline_ms)
{
    const uint8_t *data = c->out.data;
    size_t len = c->out.len;
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(c->fd, data + off, len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        ts_err err = TS_ERR_CLOSED;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            err = wait_fd(c, POLLOUT, deadline_ms);
            if (err == TS_OK) {
                continue;
            }
        }
        c->broken = 1;
        return atomic_load(&c->aborted) ? TS_ERR_CANCELED : err;
    }
    ts_buf_clear(&c->out);
    return TS_OK;
}

/* After an SSL call returned rc <= 0: waits for the socket when OpenSSL wants more input, else
 * maps the failure. Returns TS_OK when the call should be retried. */
static ts_err ssl_retry(struct ts_tls_conn *c, int rc, const char *what, int64_t deadline_ms)
{
    int e = SSL_get_error(c->ssl, rc);
    ts_err err;
    if (e == SSL_ERROR_WANT_READ) {
        err = flush_until(c, deadline_ms);
        if (err == TS_OK) {
            err = wait_fd(c, POLLIN, deadline_ms);
        }
        if (err == TS_OK) {
            return TS_OK;
        }
    } else if (atomic_load(&c->aborted)) {
        err = TS_ERR_CANCELED;
    } else if (c->verify_err != TS_OK) {
        err = c->verify_err;
    } else if (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL) {
        err = TS_ERR_CLOSED;
    } else {
        err = log_tls(what);
    }
    ERR_clear_error();
    if (err != TS_ERR_CANCELED && !c->broken) {
        /* Best effort: let the peer read our alert instead of a bare EOF. */
        (void)flush_until(c, deadline_after(CLOSE_NOTIFY_TIMEOUT_MS));
    }
    c->broken = 1;
    return err;
}

/* ---- Connections ---- */

static ts_err conn_new(struct ts_tls_ctx *ctx, int fd, int server, struct ts_tls_conn **out)
{
    *out = NULL;
    struct ts_tls_conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        close(fd);
        return TS_ERR_NOMEM;
    }
    c->ctx = ctx;
    c->fd = fd;
    ts_buf_init(&c->out, WRITE_BUFFER_MAX);
    c->ssl = SSL_new(server ? ctx->server : ctx->client);
    BIO *rbio = BIO_new_socket(fd, BIO_NOCLOSE);
    c->wbio = BIO_new(out_method);
    if (c->wbio != NULL) {
        BIO_set_data(c->wbio, &c->out);
    }
    if (c->ssl == NULL || rbio == NULL || c->wbio == NULL ||
        !SSL_set_ex_data(c->ssl, conn_index, c)) {
        BIO_free(rbio);
        BIO_free(c->wbio);
        c->wbio = NULL;
        ts_tls_conn_close(c);
        return log_tls("connection setup");
    }
    SSL_set_bio(c->ssl, rbio, c->wbio);
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    *out = c;
    return TS_OK;
}

static ts_err handshake(struct ts_tls_conn *c, int server, int timeout_ms)
{
    int64_t deadline = deadline_after(timeout_ms);
    if (server) {
        SSL_set_accept_state(c->ssl);
    } else {
        SSL_set_connect_state(c->ssl);
    }
    for (;;) {
        int rc = SSL_do_handshake(c->ssl);
        if (rc == 1) {
            break;
        }
        ts_err err = ssl_retry(c, rc, "TLS handshake", deadline);
        if (err != TS_OK) {
            return err;
        }
    }
    ts_err err = flush_until(c, deadline);
    if (err == TS_OK && ts_node_id_is_zero(&c->peer.id)) {
        err = TS_ERR_TLS; /* the verify callback never accepted a peer */
    }
    if (err == TS_OK) {
        atomic_fetch_add(&c->ctx->handshakes, 1);
    }
    return err;
}

ts_err ts_tls_accept(struct ts_tls_ctx *ctx, int fd, int timeout_ms, struct ts_tls_conn **out)
{
    *out = NULL;
    struct ts_tls_conn *c = NULL;
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        close(fd);
        return TS_ERR_IO;
    }
    ts_err err = conn_new(ctx, fd, 1, &c);
    if (err == TS_OK) {
        err = handshake(c, 1, timeout_ms);
    }
    if (err != TS_OK) {
        ts_tls_conn_close(c);
        return err;
    }
    *out = c;
    return TS_OK;
}

/* Non-blocking connect to one address, waiting until deadline_ms. Returns the fd or -1. */
static int connect_one(const struct addrinfo *ai, int64_t deadline_ms, int *err_no)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err_no = errno;
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        return fd;
    }
    int e = errno;
    while (e == EINPROGRESS || e == EINTR) {
        int64_t left = deadline_ms - ts_monotonic_ms();
        if (left <= 0) {
            e = ETIMEDOUT;
            break;
        }
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int rc = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
        if (rc > 0) {
            socklen_t len = sizeof e;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0) {
                e = errno;
            }
            break;
        }
        e = rc < 0 ? errno : EINPROGRESS;
    }
    if (e == 0) {
        return fd;
    }
    close(fd);
    *err_no = e;
    return -1;
}

static ts_err tcp_connect(const struct ts_node_url *url, int64_t deadline_ms, int *fd_out)
{
    char port[8];
    snprintf(port, sizeof port, "%u", (unsigned)url->port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(url->host, port, &hints, &res);
    if (rc != 0) {
        ts_log_warn("tls", "cannot resolve host=%s err=\"%s\"", url->host, gai_strerror(rc));
        return TS_ERR_CONNECT;
    }
    int fd = -1, err_no = 0;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = connect_one(ai, deadline_ms, &err_no);
    }
    freeaddrinfo(res);
    if (fd < 0) {
        ts_log_warn("tls", "cannot connect host=%s port=%u errno=%s", url->host,
                    (unsigned)url->port, strerror(err_no));
        return err_no == ETIMEDOUT ? TS_ERR_TIMEOUT : TS_ERR_CONNECT;
    }
    *fd_out = fd;
    return TS_OK;
}

ts_err ts_tls_connect(struct ts_tls_ctx *ctx, const struct ts_node_url *url, int timeout_ms,
                      struct ts_tls_conn **out)
{
    *out = NULL;
    int64_t deadline = deadline_after(timeout_ms);
    int fd = -1;
    ts_err err = tcp_connect(url, deadline, &fd);
    if (err != TS_OK) {
        return err;
    }
    struct ts_tls_conn *c = NULL;
    err = conn_new(ctx, fd, 0, &c);
    if (err != TS_OK) {
        return err;
    }
    c->has_expected = 1;
    c->expected = url->id;
    int64_t left = deadline == INT64_MAX ? 0 : deadline - ts_monotonic_ms();
    err = handshake(c, 0, deadline == INT64_MAX ? 0 : (left > 0 ? (int)left : 1));
    if (err != TS_OK) {
        ts_tls_conn_close(c);
        return err;
    }
    *out = c;
    return TS_OK;
}

void ts_tls_conn_set_timeout(struct ts_tls_conn *conn, int timeout_ms)
{
    conn->timeout_ms = timeout_ms;
}

ts_err ts_tls_conn_flush(struct ts_tls_conn *conn)
{
    if (conn->broken) {
        return atomic_load(&conn->aborted) ? TS_ERR_CANCELED : TS_ERR_CLOSED;
    }
    return flush_until(conn, deadline_after(conn->timeout_ms));
}

ts_err ts_tls_conn_read(struct ts_tls_conn *conn, void *buf, size_t len, size_t *got)
{
    *got = 0;
    if (conn->broken) {
        return atomic_load(&conn->aborted) ? TS_ERR_CANCELED : TS_ERR_CLOSED;
    }
    int64_t deadline = deadline_after(conn->timeout_ms);
    ts_err err = conn->out.len > 0 ? flush_until(conn, deadline) : TS_OK;
    while (err == TS_OK) {
        size_t n = 0;
        int rc = SSL_read_ex(conn->ssl, buf, len, &n);
        if (rc == 1) {
            *got = n;
            return TS_OK;
        }
        err = ssl_retry(conn, rc, "TLS read", deadline);
    }
    return err;
}

ts_err ts_tls_conn_read_full(struct ts_tls_conn *conn, void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len > 0) {
        size_t n = 0;
        ts_err err = ts_tls_conn_read(conn, p, len, &n);
        if (err != TS_OK) {
            return err;
        }
        p += n;
        len -= n;
    }
    return TS_OK;
}

int ts_tls_conn_readable(struct ts_tls_conn *conn)
{
    if (conn->broken || SSL_has_pending(conn->ssl)) {
        return 1;
    }
    struct pollfd p = {.fd = conn->fd, .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

ts_err ts_tls_conn_write(struct ts_tls_conn *conn, const void *buf, size_t len)
{
    if (conn->broken) {
        return atomic_load(&conn->aborted) ? TS_ERR_CANCELED : TS_ERR_CLOSED;
    }
    int64_t deadline = deadline_after(conn->timeout_ms);
    const uint8_t *p = buf;
    while (len > 0) {
        size_t chunk = len < TS_TLS_WRITE_COALESCE_SIZE ? len : TS_TLS_WRITE_COALESCE_SIZE;
        size_t n = 0;
        int rc = SSL_write_ex(conn->ssl, p, chunk, &n);
        if (rc != 1) {
            ts_err err = ssl_retry(conn, rc, "TLS write", deadline);
            if (err != TS_OK) {
                return err;
            }
            continue;
        }
        p += n;
        len -= n;
        if (conn->out.len >= TS_TLS_WRITE_COALESCE_SIZE) {
            ts_err err = flush_until(conn, deadline);
            if (err != TS_OK) {
                return err;
            }
        }
    }
    return TS_OK;
}

const struct ts_peer_identity *ts_tls_conn_peer(const struct ts_tls_conn *conn)
{
    return &conn->peer;
}

int ts_tls_conn_broken(const struct ts_tls_conn *conn)
{
    return conn->broken || atomic_load(&((struct ts_tls_conn *)conn)->aborted);
}

void ts_tls_conn_abort(struct ts_tls_conn *conn)
{
    atomic_store(&conn->aborted, 1);
    (void)shutdown(conn->fd, SHUT_RDWR);
}

void ts_tls_conn_close(struct ts_tls_conn *conn)
{
    if (conn == NULL) {
        return;
    }
    if (conn->ssl != NULL && !ts_tls_conn_broken(conn) && SSL_is_init_finished(conn->ssl)) {
        (void)SSL_shutdown(conn->ssl); /* queues close_notify in the memory BIO */
        (void)flush_until(conn, deadline_after(CLOSE_NOTIFY_TIMEOUT_MS));
    }
    ERR_clear_error();
    SSL_free(conn->ssl); /* frees both BIOs */
    if (conn->fd >= 0) {
        close(conn->fd);
    }
    ts_buf_release(&conn->out);
    free(conn);
}
