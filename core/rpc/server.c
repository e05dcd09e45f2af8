/*
 * RPC server: one accept thread, one thread per connection (small stacks) up to max_connections.
 * A connection past the cap is answered inline by the accept thread with one BUSY error frame.
 * Stop wakes the accept thread through a pipe, then aborts every connection's socket so blocked
 * handlers see TS_ERR_CANCELED, and joins every thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/base.h"
#include "base/log.h"
#include "rpc/rpc_internal.h"

/* Bytes of a refused (busy) connection we read and drop before closing, so the client sees our
 * error frame rather than a reset. */
#define BUSY_DRAIN_BYTES_MAX (64u * 1024)
#define LISTEN_BACKLOG 128

struct handler_entry {
    char method[TS_RPC_METHOD_MAX + 1];
    ts_rpc_handler fn;
    void *ctx;
};

struct conn_rec {
    struct ts_rpc_server *srv;
    pthread_t thread;
    int fd;                  /* the accepted socket (TLS runs on a dup); closed at thread end */
    struct ts_tls_conn *tls; /* set while established; under srv->mu */
    int done;                /* thread finished; under srv->mu */
    struct conn_rec *next;
};

struct ts_rpc_server {
    struct ts_rpc_server_config cfg;
    struct ts_tls_ctx *tls;
    int listen_fd;
    int wake[2]; /* pipe: written by stop to wake the accept thread */
    uint16_t port;
    struct handler_entry handlers[TS_RPC_METHODS_MAX];
    int handler_count;
    pthread_t acceptor;
    int started;
    atomic_int stopping;
    pthread_mutex_t stop_mu; /* serializes stop */
    pthread_mutex_t mu;      /* guards conns and active */
    struct conn_rec *conns;
    int active;
};

static int listen_on(const char *host, uint16_t port, uint16_t *bound)
{
    char service[8];
    snprintf(service, sizeof service, "%u", (unsigned)port);
    struct addrinfo hints = {
        .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, service, &hints, &res) != 0 || res == NULL) {
        return -2;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0) {
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    }
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, LISTEN_BACKLOG)) {
        ts_log_error("rpc", "cannot listen host=%s port=%u errno=%s", host, (unsigned)port,
                     strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    struct sockaddr_storage a;
    socklen_t len = sizeof a;
    (void)getsockname(fd, (struct sockaddr *)&a, &len);
    *bound = ntohs(a.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&a)->sin6_port
                                           : ((struct sockaddr_in *)&a)->sin_port);
    return fd;
}

ts_err ts_rpc_server_new(const struct ts_rpc_server_config *cfg, struct ts_rpc_server **out)
{
    *out = NULL;
    struct ts_rpc_server *srv = calloc(1, sizeof *srv);
    if (srv == NULL) {
        return TS_ERR_NOMEM;
    }
    srv->cfg = *cfg;
    srv->cfg.host = NULL; /* borrowed only during _new */
    if (srv->cfg.max_connections <= 0) {
        srv->cfg.max_connections = TS_RPC_CONNECTIONS_DEFAULT;
    }
    if (srv->cfg.idle_timeout_ms <= 0) {
        srv->cfg.idle_timeout_ms = TS_RPC_IDLE_TIMEOUT_MS;
    }
    if (srv->cfg.io_timeout_ms <= 0) {
        srv->cfg.io_timeout_ms = TS_RPC_IO_TIMEOUT_MS;
    }
    if (srv->cfg.thread_stack_size == 0) {
        srv->cfg.thread_stack_size = TS_RPC_THREAD_STACK_SIZE;
    }
    srv->listen_fd = -1;
    srv->wake[0] = srv->wake[1] = -1;
    pthread_mutex_init(&srv->mu, NULL);
    pthread_mutex_init(&srv->stop_mu, NULL);
    struct ts_tls_config tc = {.identity = cfg->identity, .difficulty_min = cfg->difficulty_min};
    ts_err err = ts_tls_ctx_new(&tc, &srv->tls);
    if (err == TS_OK && pipe2(srv->wake, O_CLOEXEC) != 0) {
        err = TS_ERR_IO;
    }
    if (err == TS_OK) {
        srv->listen_fd = listen_on(cfg->host != NULL ? cfg->host : "0.0.0.0", cfg->port,
                                   &srv->port);
        err = srv->listen_fd == -2 ? TS_ERR_CONFIG : srv->listen_fd < 0 ? TS_ERR_IO : TS_OK;
    }
    if (err != TS_OK) {
        ts_rpc_server_free(srv);
        return err;
    }
    *out = srv;
    return TS_OK;
}

ts_err ts_rpc_server_register(struct ts_rpc_server *srv, const char *method,
                              ts_rpc_handler handler, void *ctx)
{
    TS_ASSERT(!srv->started);
    size_t len = strlen(method);
    if (ts_rpc_method_check((const uint8_t *)method, len) != TS_OK) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    for (int i = 0; i < srv->handler_count; i++) {
        if (strcmp(srv->handlers[i].method, method) == 0) {
            return TS_ERR_EXISTS;
        }
    }
    if (srv->handler_count == TS_RPC_METHODS_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    struct handler_entry *e = &srv->handlers[srv->handler_count++];
    memcpy(e->method, method, len + 1);
    e->fn = handler;
    e->ctx = ctx;
    return TS_OK;
}

uint16_t ts_rpc_server_port(const struct ts_rpc_server *srv)
{
    return srv->port;
}

int ts_rpc_server_active(struct ts_rpc_server *srv)
{
    pthread_mutex_lock(&srv->mu);
    int n = srv->active;
    pthread_mutex_unlock(&srv->mu);
    return n;
}

static const struct handler_entry *handler_find(const struct ts_rpc_server *srv,
                                                const char *method)
{
    for (int i = 0; i < srv->handler_count; i++) {
        if (strcmp(srv->handlers[i].method, method) == 0) {
            return &srv->handlers[i];
        }
    }
    return NULL;
}

/* ---- Serving one connection ---- */

static void log_peer(struct rpc_conn *c, const char *what, ts_err err)
{
    char id[TS_NODE_ID_TEXT_MAX];
    if (ts_node_id_to_string(&ts_tls_conn_peer(c->tls)->id, id, sizeof id) != TS_OK) {
        snprintf(id, sizeof id, "?");
    }
    ts_log_warn("rpc", "%s peer=%s err=%s", what, id, ts_errname(err));
}

/* Answers a framing error with a connection-level error frame before dropping the connection. */
static void refuse(struct rpc_conn *c, ts_err err)
{
    log_peer(c, "dropping connection after a framing error", err);
    if (rpc_conn_write_error(c, 0, err, NULL) != TS_OK || ts_tls_conn_flush(c->tls) != TS_OK) {
        ts_log_debug("rpc", "could not send the refusal");
    }
    c->broken = 1;
}

static ts_err read_preface(struct rpc_conn *c)
{
    uint8_t p[TS_RPC_PREFACE_SIZE];
    ts_err err = ts_tls_conn_read_full(c->tls, p, sizeof p);
    if (err == TS_OK && memcmp(p, TS_RPC_PREFACE, sizeof p) != 0) {
        refuse(c, TS_ERR_PROTOCOL);
        return TS_ERR_PROTOCOL;
    }
    return err;
}

/* Runs the handler for one INVOKE (already validated). */
static void serve_stream(struct ts_rpc_server *srv, struct rpc_conn *c, uint32_t id)
{
    struct ts_rpc_stream s = {.conn = c, .server = 1, .id = id};
    memcpy(s.method, c->payload.data, c->payload.len + 1);
    const struct handler_entry *e = handler_find(srv, s.method);
    if (e == NULL) {
        char msg[TS_RPC_METHOD_MAX + 32];
        snprintf(msg, sizeof msg, "unknown method %s", s.method);
        s.error_sent = 1;
        if (rpc_conn_write_error(c, id, TS_ERR_NOT_FOUND, msg) != TS_OK ||
            ts_tls_conn_flush(c->tls) != TS_OK) {
            c->broken = 1;
        }
        return;
    }
    ts_err err = e->fn(&s, e->ctx);
    rpc_stream_server_end(&s, err);
}

static void serve(struct ts_rpc_server *srv, struct rpc_conn *c)
{
    ts_tls_conn_set_timeout(c->tls, srv->cfg.io_timeout_ms);
    if (read_preface(c) != TS_OK) {
        return;
    }
    while (!atomic_load(&srv->stopping) && !c->broken && !ts_tls_conn_broken(c->tls)) {
        struct ts_rpc_frame_header h;
        ts_tls_conn_set_timeout(c->tls, srv->cfg.idle_timeout_ms);
        ts_err err = rpc_conn_read_frame(c, &h);
        ts_tls_conn_set_timeout(c->tls, srv->cfg.io_timeout_ms);
        if (err == TS_ERR_PROTOCOL || err == TS_ERR_TOO_LARGE) {
            refuse(c, err);
        }
        if (err != TS_OK) {
            return;
        }
        if (h.stream_id <= c->last_stream_id && h.kind != TS_RPC_FRAME_INVOKE) {
            continue; /* frames of a stream that already ended */
        }
        if (h.kind != TS_RPC_FRAME_INVOKE || h.stream_id <= c->last_stream_id ||
            ts_rpc_method_check(c->payload.data, c->payload.len) != TS_OK) {
            refuse(c, TS_ERR_PROTOCOL);
            return;
        }
        c->last_stream_id = h.stream_id;
        serve_stream(srv, c, h.stream_id);
    }
}

static void conn_set_tls(struct conn_rec *rec, struct ts_tls_conn *tls)
{
    pthread_mutex_lock(&rec->srv->mu);
    rec->tls = tls;
    if (tls != NULL && atomic_load(&rec->srv->stopping)) {
        ts_tls_conn_abort(tls);
    }
    pthread_mutex_unlock(&rec->srv->mu);
}

static void *conn_main(void *arg)
{
    struct conn_rec *rec = arg;
    struct ts_rpc_server *srv = rec->srv;
    int fd = dup(rec->fd);
    struct ts_tls_conn *tls = NULL;
    ts_err err = fd < 0 ? TS_ERR_IO : ts_tls_accept(srv->tls, fd, srv->cfg.io_timeout_ms, &tls);
    struct rpc_conn *c = NULL;
    if (err == TS_OK) {
        conn_set_tls(rec, tls);
        err = rpc_conn_new(tls, &c);
    }
    if (err == TS_OK) {
        serve(srv, c);
    } else {
        ts_log_debug("rpc", "handshake failed err=%s", ts_errname(err));
    }
    conn_set_tls(rec, NULL);
    rpc_conn_free(c);
    pthread_mutex_lock(&srv->mu);
    close(rec->fd);
    rec->fd = -1;
    rec->done = 1;
    srv->active--;
    pthread_mutex_unlock(&srv->mu);
    return NULL;
}

/* ---- Accepting ---- */

static void answer_busy(struct ts_rpc_server *srv, int fd)
{
    struct ts_tls_conn *tls = NULL;
    struct rpc_conn *c = NULL;
    if (ts_tls_accept(srv->tls, fd, TS_RPC_BUSY_TIMEOUT_MS, &tls) != TS_OK ||
        rpc_conn_new(tls, &c) != TS_OK) {
        return;
    }
    ts_tls_conn_set_timeout(c->tls, TS_RPC_BUSY_TIMEOUT_MS);
    if (rpc_conn_write_error(c, 0, TS_ERR_BUSY, NULL) == TS_OK &&
        ts_tls_conn_flush(c->tls) == TS_OK) {
        uint8_t drop[4096];
        size_t total = 0, got = 0;
        int64_t deadline = ts_monotonic_ms() + TS_RPC_BUSY_TIMEOUT_MS;
        while (total < BUSY_DRAIN_BYTES_MAX && ts_monotonic_ms() < deadline &&
               ts_tls_conn_read(c->tls, drop, sizeof drop, &got) == TS_OK) {
            total += got;
        }
    }
    c->broken = 1;
    rpc_conn_free(c);
}

/* Joins and frees the records of finished connection threads. */
static void reap(struct ts_rpc_server *srv, int all)
{
    pthread_mutex_lock(&srv->mu);
    struct conn_rec *done = NULL, **p = &srv->conns;
    while (*p != NULL) {
        struct conn_rec *r = *p;
        if (all || r->done) {
            *p = r->next;
            r->next = done;
            done = r;
        } else {
            p = &r->next;
        }
    }
    pthread_mutex_unlock(&srv->mu);
    while (done != NULL) {
        struct conn_rec *r = done;
        done = r->next;
        pthread_join(r->thread, NULL);
        free(r);
    }
}

static void spawn(struct ts_rpc_server *srv, int fd)
{
    pthread_mutex_lock(&srv->mu);
    int full = srv->active >= srv->cfg.max_connections;
    struct conn_rec *rec = full ? NULL : calloc(1, sizeof *rec);
    if (rec != NULL) {
        rec->srv = srv;
        rec->fd = fd;
        rec->next = srv->conns;
        srv->conns = rec;
        srv->active++;
    }
    pthread_mutex_unlock(&srv->mu);
    if (rec == NULL) {
        if (full) {
            answer_busy(srv, fd); /* closes fd */
        } else {
            close(fd);
        }
        return;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, srv->cfg.thread_stack_size);
    int rc = pthread_create(&rec->thread, &attr, conn_main, rec);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        ts_log_error("rpc", "cannot start a connection thread errno=%s", strerror(rc));
        pthread_mutex_lock(&srv->mu);
        srv->conns = rec->next; /* still first: only this thread inserts */
        srv->active--;
        pthread_mutex_unlock(&srv->mu);
        close(fd);
        free(rec);
    }
}

static void *accept_main(void *arg)
{
    struct ts_rpc_server *srv = arg;
    while (!atomic_load(&srv->stopping)) {
        struct pollfd p[2] = {{.fd = srv->listen_fd, .events = POLLIN},
                              {.fd = srv->wake[0], .events = POLLIN}};
        int rc = poll(p, 2, -1);
        reap(srv, 0);
        if (rc < 0 || p[1].revents != 0 || atomic_load(&srv->stopping)) {
            if (rc < 0 && errno == EINTR) {
                continue;
            }
            break;
        }
        int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOMEM) {
                ts_log_warn("rpc", "accept failed errno=%s", strerror(errno));
                poll(NULL, 0, 50); /* let connections finish instead of spinning */
            }
            continue;
        }
        spawn(srv, fd);
    }
    return NULL;
}

ts_err ts_rpc_server_start(struct ts_rpc_server *srv)
{
    TS_ASSERT(!srv->started);
    if (pthread_create(&srv->acceptor, NULL, accept_main, srv) != 0) {
        return TS_ERR_NOMEM;
    }
    srv->started = 1;
    return TS_OK;
}

void ts_rpc_server_stop(struct ts_rpc_server *srv)
{
    pthread_mutex_lock(&srv->stop_mu);
    if (!atomic_exchange(&srv->stopping, 1) && srv->started) {
        ssize_t n = write(srv->wake[1], "x", 1);
        (void)n;
        pthread_join(srv->acceptor, NULL);
        pthread_mutex_lock(&srv->mu);
        for (struct conn_rec *r = srv->conns; r != NULL; r = r->next) {
            if (r->tls != NULL) {
                ts_tls_conn_abort(r->tls);
            }
            if (r->fd >= 0) {
                (void)shutdown(r->fd, SHUT_RDWR);
            }
        }
        pthread_mutex_unlock(&srv->mu);
        reap(srv, 1);
    }
    if (srv->listen_fd >= 0) {
        close(srv->listen_fd);
        srv->listen_fd = -1;
    }
    pthread_mutex_unlock(&srv->stop_mu);
}

void ts_rpc_server_free(struct ts_rpc_server *srv)
{
    if (srv == NULL) {
        return;
    }
    ts_rpc_server_stop(srv);
    for (int i = 0; i < 2; i++) {
        if (srv->wake[i] >= 0) {
            close(srv->wake[i]);
        }
    }
    ts_tls_ctx_free(srv->tls);
    pthread_mutex_destroy(&srv->mu);
    pthread_mutex_destroy(&srv->stop_mu);
    free(srv);
}
