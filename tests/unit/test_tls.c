/* Unit tests for core/tls over real loopback sockets: the mutual handshake, bulk data both ways,
 * refusal of the wrong node, of low difficulty and of a leaf its CA did not sign, timeouts, and
 * abort waking a blocked reader. */
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "base/base.h"
#include "identity/identity.h"
#include "identity/identity_openssl.h"
#include "tls/tls.h"

static struct ts_identity *id_server, *id_client, *id_other;

static int setup(void **state)
{
    (void)state;
    struct ts_identity_create_opts opts = {.difficulty_min = 10, .threads = 1};
    return ts_identity_create(&opts, &id_server) || ts_identity_create_ephemeral(&id_client) ||
           ts_identity_create_ephemeral(&id_other);
}

static int teardown(void **state)
{
    (void)state;
    ts_identity_free(id_server);
    ts_identity_free(id_client);
    ts_identity_free(id_other);
    return 0;
}

static int listen_loopback(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 8), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* The server side of one connection, run on its own thread. */
struct server {
    int listen_fd;
    struct ts_tls_ctx *ctx;
    ts_err accept_err;
    struct ts_peer_identity peer;
    size_t echo_bytes; /* read this many bytes and send them back */
    ts_err io_err;
};

static void *server_main(void *arg)
{
    struct server *s = arg;
    int fd = accept(s->listen_fd, NULL, NULL);
    struct ts_tls_conn *c = NULL;
    s->accept_err = ts_tls_accept(s->ctx, fd, 5000, &c);
    if (s->accept_err != TS_OK) {
        return NULL;
    }
    s->peer = *ts_tls_conn_peer(c);
    ts_tls_conn_set_timeout(c, 5000);
    uint8_t *buf = malloc(s->echo_bytes + 1);
    s->io_err = ts_tls_conn_read_full(c, buf, s->echo_bytes);
    if (s->io_err == TS_OK) {
        s->io_err = ts_tls_conn_write(c, buf, s->echo_bytes);
    }
    if (s->io_err == TS_OK) {
        s->io_err = ts_tls_conn_flush(c);
    }
    /* wait for the client to close so our data is not cut by a reset */
    uint8_t one;
    size_t got;
    if (ts_tls_conn_read(c, &one, 1, &got) == TS_OK) {
        s->io_err = TS_ERR_PROTOCOL; /* the client sends nothing more */
    }
    free(buf);
    ts_tls_conn_close(c);
    return NULL;
}

static struct ts_tls_ctx *ctx_for(const struct ts_identity *id, int difficulty_min)
{
    struct ts_tls_config cfg = {.identity = id, .difficulty_min = difficulty_min};
    struct ts_tls_ctx *ctx = NULL;
    assert_int_equal(ts_tls_ctx_new(&cfg, &ctx), TS_OK);
    return ctx;
}

static void url_for(const struct ts_identity *id, uint16_t port, struct ts_node_url *u)
{
    memset(u, 0, sizeof *u);
    u->id = *ts_identity_id(id);
    snprintf(u->host, sizeof u->host, "127.0.0.1");
    u->port = port;
}

static void test_mutual_handshake_and_bulk_echo(void **state)
{
    (void)state;
    uint16_t port;
    struct server s = {.listen_fd = listen_loopback(&port), .ctx = ctx_for(id_server, 0),
                       .echo_bytes = 3u << 20};
    pthread_t t;
    pthread_create(&t, NULL, server_main, &s);
    struct ts_tls_ctx *cctx = ctx_for(id_client, 10);
    struct ts_node_url u;
    url_for(id_server, port, &u);
    struct ts_tls_conn *c = NULL;
    assert_int_equal(ts_tls_connect(cctx, &u, 5000, &c), TS_OK);
    assert_true(ts_node_id_equal(&ts_tls_conn_peer(c)->id, ts_identity_id(id_server)));
    assert_true(ts_tls_conn_peer(c)->difficulty >= 10);
    ts_tls_conn_set_timeout(c, 5000);

    uint8_t *out = malloc(s.echo_bytes), *in = malloc(s.echo_bytes);
    for (size_t i = 0; i < s.echo_bytes; i++) {
        out[i] = (uint8_t)(i * 131 + (i >> 12));
    }
    /* several uneven writes, coalesced */
    size_t off = 0, step = 1000;
    while (off < s.echo_bytes) {
        size_t n = s.echo_bytes - off < step ? s.echo_bytes - off : step;
        assert_int_equal(ts_tls_conn_write(c, out + off, n), TS_OK);
        off += n;
        step = step * 3 + 7;
    }
    assert_int_equal(ts_tls_conn_read_full(c, in, s.echo_bytes), TS_OK); /* read flushes */
    assert_memory_equal(in, out, s.echo_bytes);
    ts_tls_conn_close(c);
    pthread_join(t, NULL);
    assert_int_equal(s.accept_err, TS_OK);
    assert_int_equal(s.io_err, TS_OK);
    assert_true(ts_node_id_equal(&s.peer.id, ts_identity_id(id_client)));
    assert_int_equal(s.peer.leaf_public_key_len, ts_identity_peer(id_client)->leaf_public_key_len);
    assert_int_equal(ts_tls_ctx_handshakes(cctx), 1);
    assert_int_equal(ts_tls_ctx_handshakes(s.ctx), 1);
    free(out);
    free(in);
    ts_tls_ctx_free(cctx);
    ts_tls_ctx_free(s.ctx);
    close(s.listen_fd);
}

static void test_wrong_node_is_refused(void **state)
{
    (void)state;
    uint16_t port;
    struct server s = {.listen_fd = listen_loopback(&port), .ctx = ctx_for(id_server, 0)};
    pthread_t t;
    pthread_create(&t, NULL, server_main, &s);
    struct ts_tls_ctx *cctx = ctx_for(id_client, 0);
    struct ts_node_url u;
    url_for(id_other, port, &u); /* expects another node at that address */
    struct ts_tls_conn *c = NULL;
    assert_int_equal(ts_tls_connect(cctx, &u, 5000, &c), TS_ERR_WRONG_NODE);
    assert_null(c);
    pthread_join(t, NULL);
    assert_int_not_equal(s.accept_err, TS_OK);
    assert_int_equal(ts_tls_ctx_handshakes(cctx), 0);
    ts_tls_ctx_free(cctx);
    ts_tls_ctx_free(s.ctx);
    close(s.listen_fd);
}

static void test_low_difficulty_is_refused_both_ways(void **state)
{
    (void)state;
    /* The client requires more than the server has. */
    uint16_t port;
    struct server s = {.listen_fd = listen_loopback(&port), .ctx = ctx_for(id_server, 0)};
    pthread_t t;
    pthread_create(&t, NULL, server_main, &s);
    struct ts_tls_ctx *cctx = ctx_for(id_client, ts_identity_difficulty(id_server) + 1);
    struct ts_node_url u;
    url_for(id_server, port, &u);
    struct ts_tls_conn *c = NULL;
    assert_int_equal(ts_tls_connect(cctx, &u, 5000, &c), TS_ERR_DIFFICULTY);
    pthread_join(t, NULL);
    assert_int_not_equal(s.accept_err, TS_OK);
    ts_tls_ctx_free(cctx);
    ts_tls_ctx_free(s.ctx);

    /* The server requires more than the (ephemeral) client has. */
    s = (struct server){.listen_fd = s.listen_fd, .ctx = ctx_for(id_server, 200), .echo_bytes = 1};
    pthread_create(&t, NULL, server_main, &s);
    cctx = ctx_for(id_client, 0);
    ts_err err = ts_tls_connect(cctx, &u, 5000, &c);
    if (err == TS_OK) { /* TLS 1.3: the client learns of the refusal on its first read */
        ts_tls_conn_set_timeout(c, 5000);
        uint8_t b = 0;
        size_t got = 0;
        err = ts_tls_conn_write(c, &b, 1);
        if (err == TS_OK) {
            err = ts_tls_conn_read(c, &b, 1, &got);
        }
        ts_tls_conn_close(c);
    }
    assert_true(err == TS_ERR_TLS || err == TS_ERR_CLOSED);
    pthread_join(t, NULL);
    assert_int_equal(s.accept_err, TS_ERR_DIFFICULTY);
    ts_tls_ctx_free(cctx);
    ts_tls_ctx_free(s.ctx);
    close(s.listen_fd);
}

/* A raw OpenSSL client presenting identity A's leaf with identity B's CA certificate. */
static void test_leaf_not_signed_by_ca_is_refused(void **state)
{
    (void)state;
    uint16_t port;
    struct server s = {.listen_fd = listen_loopback(&port), .ctx = ctx_for(id_server, 0),
                       .echo_bytes = 1};
    pthread_t t;
    pthread_create(&t, NULL, server_main, &s);

    SSL_CTX *sc = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(sc, TLS1_3_VERSION);
    assert_int_equal(SSL_CTX_use_certificate(sc, ts_identity_leaf_cert(id_client)), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(sc, ts_identity_leaf_key(id_client)), 1);
    assert_int_equal(SSL_CTX_add1_chain_cert(sc, ts_identity_ca_cert(id_other)), 1);
    SSL_CTX_set_verify(sc, SSL_VERIFY_NONE, NULL);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    SSL *ssl = SSL_new(sc);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) == 1) {
        char b = 0;
        (void)SSL_write(ssl, &b, 1);
        assert_true(SSL_read(ssl, &b, 1) <= 0);
    }
    ERR_clear_error();
    pthread_join(t, NULL);
    assert_int_equal(s.accept_err, TS_ERR_TLS);
    SSL_free(ssl);
    SSL_CTX_free(sc);
    close(fd);
    ts_tls_ctx_free(s.ctx);
    close(s.listen_fd);
}

static void test_handshake_timeout(void **state)
{
    (void)state;
    uint16_t port;
    int lfd = listen_loopback(&port); /* accepts TCP in the backlog, never speaks TLS */
    struct ts_tls_ctx *cctx = ctx_for(id_client, 0);
    struct ts_node_url u;
    url_for(id_server, port, &u);
    struct ts_tls_conn *c = NULL;
    assert_int_equal(ts_tls_connect(cctx, &u, 200, &c), TS_ERR_TIMEOUT);
    close(lfd);
    /* nothing listens there now */
    assert_int_equal(ts_tls_connect(cctx, &u, 2000, &c), TS_ERR_CONNECT);
    ts_tls_ctx_free(cctx);
}

struct reader {
    struct ts_tls_conn *c;
    ts_err err;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    uint8_t b[16];
    size_t got;
    r->err = ts_tls_conn_read(r->c, b, sizeof b, &got);
    return NULL;
}

static void test_abort_wakes_blocked_reader(void **state)
{
    (void)state;
    uint16_t port;
    struct server s = {.listen_fd = listen_loopback(&port), .ctx = ctx_for(id_server, 0),
                       .echo_bytes = 1 << 20}; /* waits for data that never comes */
    pthread_t t, rt;
    pthread_create(&t, NULL, server_main, &s);
    struct ts_tls_ctx *cctx = ctx_for(id_client, 0);
    struct ts_node_url u;
    url_for(id_server, port, &u);
    struct reader r = {0};
    assert_int_equal(ts_tls_connect(cctx, &u, 5000, &r.c), TS_OK);
    ts_tls_conn_set_timeout(r.c, 0); /* forever: only the abort can end it */
    pthread_create(&rt, NULL, reader_main, &r);
    usleep(20000);
    ts_tls_conn_abort(r.c);
    pthread_join(rt, NULL);
    assert_int_equal(r.err, TS_ERR_CANCELED);
    assert_true(ts_tls_conn_broken(r.c));
    ts_tls_conn_close(r.c);
    pthread_join(t, NULL);
    assert_int_equal(s.io_err, TS_ERR_CLOSED);
    ts_tls_ctx_free(cctx);
    ts_tls_ctx_free(s.ctx);
    close(s.listen_fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mutual_handshake_and_bulk_echo),
        cmocka_unit_test(test_wrong_node_is_refused),
        cmocka_unit_test(test_low_difficulty_is_refused_both_ways),
        cmocka_unit_test(test_leaf_not_signed_by_ca_is_refused),
        cmocka_unit_test(test_handshake_timeout),
        cmocka_unit_test(test_abort_wakes_blocked_reader),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
