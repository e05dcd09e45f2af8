/* Unit tests for core/rpc over real loopback TLS: unary and streaming calls, error codes, bad and
 * oversized frames, cancellation, abort from another thread, the busy answer, connection reuse and
 * server stop. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "identity/identity.h"
#include "rpc.pb-c.h"
#include "rpc/frame.h"
#include "rpc/rpc.h"
#include "tls/tls.h"

#define WAIT_MS 10000

static struct ts_identity *id_server, *id_client, *id_other;

/* State the handlers share with the tests. */
struct probe {
    atomic_int entered;
    atomic_int finished;
    atomic_int last_err;
    struct ts_node_id peer;
};

static int wait_until(atomic_int *v, int want)
{
    int64_t deadline = ts_monotonic_ms() + WAIT_MS;
    while (atomic_load(v) != want) {
        if (ts_monotonic_ms() > deadline) {
            return 0;
        }
        usleep(1000);
    }
    return 1;
}

static int wait_active(struct ts_rpc_server *srv, int want)
{
    int64_t deadline = ts_monotonic_ms() + WAIT_MS;
    while (ts_rpc_server_active(srv) != want) {
        if (ts_monotonic_ms() > deadline) {
            return 0;
        }
        usleep(1000);
    }
    return 1;
}

/* ---- Handlers ---- */

static ts_err h_echo(struct ts_rpc_stream *s, void *ctx)
{
    struct probe *p = ctx;
    p->peer = ts_rpc_stream_peer(s)->id;
    ProtobufCMessage *m = NULL;
    ts_err err = ts_rpc_stream_recv(s, &tessera__rpc__ping__descriptor, &m);
    if (err != TS_OK) {
        return err;
    }
    err = ts_rpc_stream_send(s, m);
    protobuf_c_message_free_unpacked(m, NULL);
    return err;
}

/* Client stream: sums raw message bytes until the client closes, answers one Ping. */
static ts_err h_upload(struct ts_rpc_stream *s, void *ctx)
{
    (void)ctx;
    uint64_t count = 0, sum = 0;
    for (;;) {
        const uint8_t *data;
        size_t len;
        ts_err err = ts_rpc_stream_recv_raw(s, &data, &len);
        if (err == TS_ERR_END_OF_STREAM) {
            break;
        }
        if (err != TS_OK) {
            return err;
        }
        count++;
        for (size_t i = 0; i < len; i++) {
            sum += data[i];
        }
    }
    Tessera__Rpc__Ping resp = TESSERA__RPC__PING__INIT;
    resp.sequence = count;
    resp.payload.data = (uint8_t *)&sum;
    resp.payload.len = sizeof sum;
    return ts_rpc_stream_send(s, &resp.base);
}

/* Server stream: request Ping{sequence = n} -> n raw chunks of 256 KiB (n = 0: until canceled). */
static ts_err h_download(struct ts_rpc_stream *s, void *ctx)
{
    struct probe *p = ctx;
    atomic_fetch_add(&p->entered, 1);
    Tessera__Rpc__Ping *req = NULL;
    ts_err err = ts_rpc_stream_recv(s, &tessera__rpc__ping__descriptor, (ProtobufCMessage **)&req);
    uint64_t n = req != NULL ? req->sequence : 0;
    if (req != NULL) {
        protobuf_c_message_free_unpacked(&req->base, NULL);
    }
    static uint8_t chunk[TS_RPC_CHUNK_SIZE];
    for (uint64_t i = 0; err == TS_OK && (n == 0 || i < n); i++) {
        memset(chunk, (int)(i & 0xff), 64);
        err = ts_rpc_stream_send_raw(s, chunk, sizeof chunk);
    }
    atomic_store(&p->last_err, err);
    atomic_store(&p->finished, 1);
    return err;
}

/* Waits in recv until the client sends something, closes, cancels or the server stops. */
static ts_err h_block(struct ts_rpc_stream *s, void *ctx)
{
    struct probe *p = ctx;
    atomic_fetch_add(&p->entered, 1);
    const uint8_t *data;
    size_t len;
    ts_err err = ts_rpc_stream_recv_raw(s, &data, &len);
    atomic_store(&p->last_err, err);
    atomic_store(&p->finished, 1);
    return err == TS_ERR_END_OF_STREAM ? TS_OK : err;
}

static ts_err h_fail_custom(struct ts_rpc_stream *s, void *ctx)
{
    (void)ctx;
    return ts_rpc_stream_send_error(s, TS_ERR_NOT_FOUND, "no such piece");
}

static ts_err h_fail_plain(struct ts_rpc_stream *s, void *ctx)
{
    (void)s;
    (void)ctx;
    return TS_ERR_PERMISSION_DENIED;
}

/* ---- Fixtures ---- */

struct fixture {
    struct ts_rpc_server *srv;
    struct ts_rpc_pool *pool;
    struct ts_node_url url;
    struct probe probe;
};

static struct fixture *fixture_new_idle(int max_connections, int idle_timeout_ms)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct ts_rpc_server_config cfg = {.identity = id_server,
                                       .host = "127.0.0.1",
                                       .max_connections = max_connections,
                                       .idle_timeout_ms = idle_timeout_ms,
                                       .io_timeout_ms = WAIT_MS};
    assert_int_equal(ts_rpc_server_new(&cfg, &f->srv), TS_OK);
    assert_int_equal(ts_rpc_server_register(f->srv, "/rpc.Health/Ping", h_echo, &f->probe), 0);
    assert_int_equal(ts_rpc_server_register(f->srv, "/test.T/Upload", h_upload, NULL), 0);
    assert_int_equal(ts_rpc_server_register(f->srv, "/test.T/Download", h_download, &f->probe), 0);
    assert_int_equal(ts_rpc_server_register(f->srv, "/test.T/Block", h_block, &f->probe), 0);
    assert_int_equal(ts_rpc_server_register(f->srv, "/test.T/FailCustom", h_fail_custom, NULL), 0);
    assert_int_equal(ts_rpc_server_register(f->srv, "/test.T/FailPlain", h_fail_plain, NULL), 0);
    assert_int_equal(ts_rpc_server_register(f->srv, "/test.T/Block", h_block, NULL), TS_ERR_EXISTS);
    assert_int_equal(ts_rpc_server_register(f->srv, "no-slash", h_block, NULL),
                     TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(ts_rpc_server_start(f->srv), TS_OK);
    assert_true(ts_rpc_server_port(f->srv) != 0);
    f->url.id = *ts_identity_id(id_server);
    snprintf(f->url.host, sizeof f->url.host, "127.0.0.1");
    f->url.port = ts_rpc_server_port(f->srv);
    struct ts_rpc_pool_opts opts = {.io_timeout_ms = WAIT_MS};
    assert_int_equal(ts_rpc_pool_new(id_client, &opts, &f->pool), TS_OK);
    return f;
}

static struct fixture *fixture_new(int max_connections)
{
    return fixture_new_idle(max_connections, 0);
}

static void fixture_free(struct fixture *f)
{
    ts_rpc_pool_free(f->pool);
    ts_rpc_server_free(f->srv);
    free(f);
}

static ts_err ping(struct fixture *f, uint64_t seq, const char *method, char *msg, size_t n)
{
    Tessera__Rpc__Ping req = TESSERA__RPC__PING__INIT;
    req.sequence = seq;
    req.payload.data = (uint8_t *)"hello";
    req.payload.len = 5;
    ProtobufCMessage *resp = NULL;
    ts_err err = ts_rpc_call(f->pool, &f->url, method, &req.base, &tessera__rpc__ping__descriptor,
                             &resp, msg, n);
    if (err == TS_OK) {
        Tessera__Rpc__Ping *p = (Tessera__Rpc__Ping *)resp;
        assert_int_equal(p->sequence, seq);
        assert_int_equal(p->payload.len, 5);
        assert_memory_equal(p->payload.data, "hello", 5);
    } else {
        assert_null(resp);
    }
    protobuf_c_message_free_unpacked(resp, NULL);
    return err;
}

/* Messages around the size where send stops copying bytes fields (they then go from the caller's
 * memory to TLS): sizes below, at and above it, and past TS_TLS_WRITE_COALESCE_SIZE, echoed
 * byte-identical both ways with the scalar after the bytes field intact, on one connection. */
static void test_large_messages_echo(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(0);
    static const size_t sizes[] = {0, 1, 16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1, 300 * 1024,
                                   1024 * 1024 + 7};
    uint8_t *data = malloc(1024 * 1024 + 7);
    assert_non_null(data);
    for (size_t i = 0; i < 1024 * 1024 + 7; i++) {
        data[i] = (uint8_t)(i * 7 + (i >> 10));
    }
    for (size_t i = 0; i < TS_ARRAY_LEN(sizes); i++) {
        Tessera__Rpc__Ping req = TESSERA__RPC__PING__INIT;
        req.sequence = 1000 + i;
        req.payload.data = data;
        req.payload.len = sizes[i];
        ProtobufCMessage *resp = NULL;
        assert_int_equal(ts_rpc_call(f->pool, &f->url, "/rpc.Health/Ping", &req.base,
                                     &tessera__rpc__ping__descriptor, &resp, NULL, 0),
                         TS_OK);
        Tessera__Rpc__Ping *p = (Tessera__Rpc__Ping *)resp;
        assert_int_equal(p->sequence, 1000 + i);
        assert_int_equal(p->payload.len, sizes[i]);
        if (sizes[i] > 0) {
            assert_memory_equal(p->payload.data, data, sizes[i]);
        }
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    free(data);
    fixture_free(f);
}

static int setup(void **state)
{
    (void)state;
    struct ts_identity_create_opts opts = {.difficulty_min = 9, .threads = 1};
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

/* ---- Tests ---- */

static void test_unary_echo_and_pool_reuse(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(0);
    for (uint64_t i = 1; i <= 20; i++) {
        assert_int_equal(ping(f, i, "/rpc.Health/Ping", NULL, 0), TS_OK);
    }
    assert_true(ts_node_id_equal(&f->probe.peer, ts_identity_id(id_client)));
    assert_int_equal(ts_rpc_pool_handshakes(f->pool), 1);
    assert_int_equal(ts_rpc_pool_idle(f->pool), 1);
    /* the wrong node at that address is refused */
    struct fixture wrong = {.pool = f->pool, .url = f->url};
    wrong.url.id = *ts_identity_id(id_other);
    assert_int_equal(ping(&wrong, 1, "/rpc.Health/Ping", NULL, 0), TS_ERR_WRONG_NODE);
    fixture_free(f);
}

static void test_error_codes_propagate(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(0);
    char msg[TS_RPC_ERROR_MESSAGE_MAX + 1];
    assert_int_equal(ping(f, 1, "/test.T/FailCustom", msg, sizeof msg), TS_ERR_NOT_FOUND);
    assert_string_equal(msg, "no such piece");
    assert_int_equal(ping(f, 1, "/test.T/FailPlain", msg, sizeof msg), TS_ERR_PERMISSION_DENIED);
    assert_string_equal(msg, ts_strerror(TS_ERR_PERMISSION_DENIED));
    assert_int_equal(ping(f, 1, "/test.T/Nope", msg, sizeof msg), TS_ERR_NOT_FOUND);
    assert_string_equal(msg, "unknown method /test.T/Nope");
    /* errors end streams, not connections */
    assert_int_equal(ping(f, 2, "/rpc.Health/Ping", NULL, 0), TS_OK);
    assert_int_equal(ts_rpc_pool_handshakes(f->pool), 1);
    fixture_free(f);
}

static void test_client_stream_many_messages(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(0);
    for (int round = 0; round < 2; round++) {
        struct ts_rpc_stream *s = NULL;
        assert_int_equal(ts_rpc_pool_open_stream(f->pool, &f->url, "/test.T/Upload", &s), TS_OK);
        static uint8_t buf[70000];
        uint64_t sum = 0;
        const int n = 3000;
        for (int i = 0; i < n; i++) {
            size_t len = (size_t)(i % 50 == 0 ? sizeof buf : (size_t)(i % 97));
            for (size_t j = 0; j < len; j++) {
                buf[j] = (uint8_t)(i + j);
                sum += buf[j];
            }
            assert_int_equal(ts_rpc_stream_send_raw(s, buf, len), TS_OK);
        }
        assert_int_equal(ts_rpc_stream_send_raw(s, buf, TS_RPC_FRAME_MAX + 1), TS_ERR_TOO_LARGE);
        assert_int_equal(ts_rpc_stream_close_send(s), TS_OK);
        Tessera__Rpc__Ping *resp = NULL;
        assert_int_equal(
            ts_rpc_stream_recv(s, &tessera__rpc__ping__descriptor, (ProtobufCMessage **)&resp),
            TS_OK);
        assert_int_equal(resp->sequence, n);
        assert_int_equal(resp->payload.len, sizeof sum);
        assert_memory_equal(resp->payload.data, &sum, sizeof sum);
        protobuf_c_message_free_unpacked(&resp->base, NULL);
        const uint8_t *d;
        size_t len;
        assert_int_equal(ts_rpc_stream_recv_raw(s, &d, &len), TS_ERR_END_OF_STREAM);
        ts_rpc_stream_finish(s);
    }
    assert_int_equal(ts_rpc_pool_handshakes(f->pool), 1);
    fixture_free(f);
}

static void test_server_stream_bulk(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(0);
    struct ts_rpc_stream *s = NULL;
    assert_int_equal(ts_rpc_pool_open_stream(f->pool, &f->url, "/test.T/Download", &s), TS_OK);
    Tessera__Rpc__Ping req = TESSERA__RPC__PING__INIT;
    req.sequence = 40; /* 10 MiB */
    assert_int_equal(ts_rpc_stream_send(s, &req.base), TS_OK);
    assert_int_equal(ts_rpc_stream_close_send(s), TS_OK);
    for (uint64_t i = 0; i < 40; i++) {
        const uint8_t *d;
        size_t len;
        assert_int_equal(ts_rpc_stream_recv_raw(s, &d, &len), TS_OK);
        assert_int_equal(len, TS_RPC_CHUNK_SIZE);
        assert_int_equal(d[0], (uint8_t)i);
    }
    const uint8_t *d;
    size_t len;
    assert_int_equal(ts_rpc_stream_recv_raw(s, &d, &len), TS_ERR_END_OF_STREAM);
    ts_rpc_stream_finish(s);
    assert_true(wait_until(&f->probe.finished, 1));
    assert_int_equal(atomic_load(&f->probe.last_err), TS_OK);
    fixture_free(f);
}

static void test_cancel_frees_the_handler(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(0);
    /* a download that never ends, canceled after a few chunks */
    struct ts_rpc_stream *s = NULL;
    assert_int_equal(ts_rpc_pool_open_stream(f->pool, &f->url, "/test.T/Download", &s), TS_OK);
    Tessera__Rpc__Ping req = TESSERA__RPC__PING__INIT;
    assert_int_equal(ts_rpc_stream_send(s, &req.base), TS_OK);
    for (int i = 0; i < 3; i++) {
        const uint8_t *d;
        size_t len;
        assert_int_equal(ts_rpc_stream_recv_raw(s, &d, &len), TS_OK);
    }
    ts_rpc_stream_cancel(s);
    ts_rpc_stream_finish(s);
    assert_true(wait_until(&f->probe.finished, 1));
    assert_int_equal(atomic_load(&f->probe.last_err), TS_ERR_CANCELED);

    /* an upload-side handler waiting in recv */
    atomic_store(&f->probe.finished, 0);
    assert_int_equal(ts_rpc_pool_open_stream(f->pool, &f->url, "/test.T/Block", &s), TS_OK);
    assert_int_equal(ts_rpc_stream_flush(s), TS_OK);
    assert_true(wait_until(&f->probe.entered, 2));
    ts_rpc_stream_finish(s); /* unfinished: cancels */
    assert_true(wait_until(&f->probe.finished, 1));
    assert_int_equal(atomic_load(&f->probe.last_err), TS_ERR_CANCELED);
    /* the server drained the canceled stream: the connection is reused */
    uint64_t before = ts_rpc_pool_handshakes(f->pool);
    assert_int_equal(ping(f, 7, "/rpc.Health/Ping", NULL, 0), TS_OK);
    assert_int_equal(ts_rpc_pool_handshakes(f->pool), before);
    fixture_free(f);
}

struct blocked_recv {
    struct ts_rpc_stream *s;
    atomic_int inside; /* 1 just before recv */
    ts_err err;
};

static void *recv_blocked(void *arg)
{
    struct blocked_recv *b = arg;
    const uint8_t *d;
    size_t len;
    atomic_store(&b->inside, 1);
    b->err = ts_rpc_stream_recv_raw(b->s, &d, &len); /* the server never answers */
    return NULL;
}

static void test_abort_from_another_thread(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(0);
    /* A client blocked in recv (the handler waits in recv too) is woken by another thread's abort
     * with TS_ERR_CANCELED, long before the pool's I/O timeout (WAIT_MS) would give TIMEOUT. */
    struct blocked_recv b = {0};
    assert_int_equal(ts_rpc_pool_open_stream(f->pool, &f->url, "/test.T/Block", &b.s), TS_OK);
    assert_int_equal(ts_rpc_stream_flush(b.s), TS_OK);
    assert_true(wait_until(&f->probe.entered, 1));
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, recv_blocked, &b), 0);
    assert_true(wait_until(&b.inside, 1));
    ts_rpc_stream_abort(b.s);
    ts_rpc_stream_abort(b.s); /* repeating is harmless */
    pthread_join(t, NULL);
    assert_int_equal(b.err, TS_ERR_CANCELED);
    /* later I/O fails at once too; finish closes the connection instead of pooling it */
    assert_int_equal(
        ts_rpc_stream_send_raw(b.s, "x", 1) == TS_OK && ts_rpc_stream_flush(b.s) == TS_OK, 0);
    ts_rpc_stream_finish(b.s);
    assert_int_equal(ts_rpc_pool_idle(f->pool), 0);
    /* the handler saw the client leave */
    assert_true(wait_until(&f->probe.finished, 1));
    assert_int_equal(atomic_load(&f->probe.last_err), TS_ERR_CANCELED);
    /* the pool dials again for the next call */
    assert_int_equal(ping(f, 9, "/rpc.Health/Ping", NULL, 0), TS_OK);
    assert_int_equal(ts_rpc_pool_handshakes(f->pool), 2);
    fixture_free(f);
}

static void test_busy_past_the_cap(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(1);
    struct ts_rpc_stream *s = NULL;
    assert_int_equal(ts_rpc_pool_open_stream(f->pool, &f->url, "/test.T/Block", &s), TS_OK);
    assert_int_equal(ts_rpc_stream_flush(s), TS_OK);
    assert_true(wait_until(&f->probe.entered, 1));
    assert_int_equal(ts_rpc_server_active(f->srv), 1);

    struct ts_rpc_pool *other = NULL;
    assert_int_equal(ts_rpc_pool_new(id_other, NULL, &other), TS_OK);
    struct fixture view = {.pool = other, .url = f->url};
    char msg[128];
    assert_int_equal(ping(&view, 1, "/rpc.Health/Ping", msg, sizeof msg), TS_ERR_BUSY);
    assert_int_equal(ts_rpc_pool_idle(other), 0); /* a busy connection is not kept */

    assert_int_equal(ts_rpc_stream_close_send(s), TS_OK);
    const uint8_t *d;
    size_t len;
    assert_int_equal(ts_rpc_stream_recv_raw(s, &d, &len), TS_ERR_END_OF_STREAM);
    ts_rpc_stream_finish(s);
    ts_rpc_pool_free(f->pool); /* closes the idle connection: the slot frees */
    f->pool = NULL;
    assert_true(wait_active(f->srv, 0));
    assert_int_equal(ping(&view, 2, "/rpc.Health/Ping", NULL, 0), TS_OK);
    ts_rpc_pool_free(other);
    fixture_free(f);
}

/* Raw TLS client speaking bytes we choose; returns the connection after the preface. */
static struct ts_tls_conn *raw_connect(struct fixture *f, struct ts_tls_ctx **ctx,
                                       const char *preface)
{
    struct ts_tls_config cfg = {.identity = id_other};
    if (*ctx == NULL) {
        assert_int_equal(ts_tls_ctx_new(&cfg, ctx), TS_OK);
    }
    struct ts_tls_conn *c = NULL;
    assert_int_equal(ts_tls_connect(*ctx, &f->url, WAIT_MS, &c), TS_OK);
    ts_tls_conn_set_timeout(c, WAIT_MS);
    assert_int_equal(ts_tls_conn_write(c, preface, TS_RPC_PREFACE_SIZE), TS_OK);
    return c;
}

/* Expects one connection-level error frame with code want, then the end of the connection. */
static void expect_refusal(struct ts_tls_conn *c, ts_err want)
{
    uint8_t hdr[TS_RPC_FRAME_HEADER_SIZE], payload[TS_RPC_ERROR_MESSAGE_MAX + 4];
    assert_int_equal(ts_tls_conn_read_full(c, hdr, sizeof hdr), TS_OK);
    struct ts_rpc_frame_header h;
    assert_int_equal(ts_rpc_frame_header_decode(hdr, sizeof hdr, &h), TS_OK);
    assert_int_equal(h.kind, TS_RPC_FRAME_ERROR);
    assert_int_equal(h.stream_id, 0);
    assert_true(h.length <= sizeof payload);
    assert_int_equal(ts_tls_conn_read_full(c, payload, h.length), TS_OK);
    ts_err code;
    char msg[64];
    assert_int_equal(ts_rpc_frame_error_decode(payload, h.length, &code, msg, sizeof msg), TS_OK);
    assert_int_equal(code, want);
    size_t got;
    assert_int_equal(ts_tls_conn_read(c, payload, 1, &got), TS_ERR_CLOSED);
}

static void test_bad_frames_drop_the_connection(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(0);
    struct ts_tls_ctx *ctx = NULL;
    /* a frame longer than the maximum */
    struct ts_tls_conn *c = raw_connect(f, &ctx, TS_RPC_PREFACE);
    uint8_t hdr[TS_RPC_FRAME_HEADER_SIZE] = {TS_RPC_FRAME_INVOKE, 0, 0, 0, 0, 0, 0, 1};
    ts_be32_put(hdr + 8, TS_RPC_FRAME_MAX + 1);
    assert_int_equal(ts_tls_conn_write(c, hdr, sizeof hdr), TS_OK);
    expect_refusal(c, TS_ERR_TOO_LARGE);
    ts_tls_conn_close(c);
    /* garbage where a frame should be */
    c = raw_connect(f, &ctx, TS_RPC_PREFACE);
    assert_int_equal(ts_tls_conn_write(c, "\x77garbage-bytes!", 15), TS_OK);
    expect_refusal(c, TS_ERR_PROTOCOL);
    ts_tls_conn_close(c);
    /* garbage instead of the preface */
    c = raw_connect(f, &ctx, "GET / HT");
    expect_refusal(c, TS_ERR_PROTOCOL);
    ts_tls_conn_close(c);
    /* a message before any INVOKE */
    c = raw_connect(f, &ctx, TS_RPC_PREFACE);
    uint8_t msg[TS_RPC_FRAME_HEADER_SIZE] = {TS_RPC_FRAME_MESSAGE, 0, 0, 0, 0, 0, 0, 5};
    assert_int_equal(ts_tls_conn_write(c, msg, sizeof msg), TS_OK);
    expect_refusal(c, TS_ERR_PROTOCOL);
    ts_tls_conn_close(c);
    ts_tls_ctx_free(ctx);
    /* the server keeps serving others */
    assert_int_equal(ping(f, 3, "/rpc.Health/Ping", NULL, 0), TS_OK);
    fixture_free(f);
}

static void test_stop_with_active_streams(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(0);
    struct ts_rpc_stream *s = NULL;
    assert_int_equal(ts_rpc_pool_open_stream(f->pool, &f->url, "/test.T/Block", &s), TS_OK);
    assert_int_equal(ts_rpc_stream_flush(s), TS_OK);
    assert_true(wait_until(&f->probe.entered, 1));
    ts_rpc_server_stop(f->srv);
    assert_int_equal(atomic_load(&f->probe.finished), 1); /* stop joined the handler */
    assert_int_equal(atomic_load(&f->probe.last_err), TS_ERR_CANCELED);
    assert_int_equal(ts_rpc_server_active(f->srv), 0);
    const uint8_t *d;
    size_t len;
    ts_err err = ts_rpc_stream_recv_raw(s, &d, &len);
    assert_true(err == TS_ERR_CANCELED || err == TS_ERR_CLOSED || err == TS_ERR_TLS);
    ts_rpc_stream_finish(s);
    ts_rpc_server_stop(f->srv); /* idempotent */
    fixture_free(f);
}

static void test_pool_drops_stale_and_expired_connections(void **state)
{
    (void)state;
    /* the server closes idle connections after 50 ms: the pool notices and dials again */
    struct fixture *f = fixture_new_idle(0, 50);
    assert_int_equal(ping(f, 1, "/rpc.Health/Ping", NULL, 0), TS_OK);
    assert_true(wait_active(f->srv, 0));
    assert_int_equal(ping(f, 2, "/rpc.Health/Ping", NULL, 0), TS_OK);
    assert_int_equal(ts_rpc_pool_handshakes(f->pool), 2);
    /* a pool whose idle expiry is 1 ms closes connections itself */
    ts_rpc_pool_free(f->pool);
    struct ts_rpc_pool_opts opts = {.idle_timeout_ms = 1};
    assert_int_equal(ts_rpc_pool_new(id_client, &opts, &f->pool), TS_OK);
    assert_int_equal(ping(f, 3, "/rpc.Health/Ping", NULL, 0), TS_OK);
    usleep(5000);
    assert_int_equal(ping(f, 4, "/rpc.Health/Ping", NULL, 0), TS_OK);
    assert_int_equal(ts_rpc_pool_handshakes(f->pool), 2);
    assert_int_equal(ts_rpc_pool_idle(f->pool), 1);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unary_echo_and_pool_reuse),
        cmocka_unit_test(test_large_messages_echo),
        cmocka_unit_test(test_error_codes_propagate),
        cmocka_unit_test(test_client_stream_many_messages),
        cmocka_unit_test(test_server_stream_bulk),
        cmocka_unit_test(test_cancel_frees_the_handler),
        cmocka_unit_test(test_abort_from_another_thread),
        cmocka_unit_test(test_busy_past_the_cap),
        cmocka_unit_test(test_bad_frames_drop_the_connection),
        cmocka_unit_test(test_stop_with_active_streams),
        cmocka_unit_test(test_pool_drops_stale_and_expired_connections),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
