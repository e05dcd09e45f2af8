/*
 * Integration test of tessera-node: a real node process on 127.0.0.1 (port 0) with a temp dir,
 * this process playing both the satellite (signing order limits, answering the node's key-fetch
 * dial) and the uplink (piecestore client over core/rpc). Every failure prints the node's log and
 * kills the node by PID; the temp dir is removed only on success.
 * Usage: test_node_integration <path to tessera-node>
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <dirent.h>

#include "base/base.h"
#include "crypto/ed25519.h"
#include "node_client.h"
#include "piecestore.pb-c.h"
#include "rpc/frame.h"
#include "tls/tls.h"

static struct nc_sat sat;
static struct nc_node node;
static char root[64];
static const char *node_exe;
static struct ts_identity *uplink_id, *forger;
static struct ts_rpc_pool *pool, *sat_pool;
static struct nc_piece_key key;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fail_now(#cond, __LINE__);                                                             \
        }                                                                                          \
    } while (0)
#define CHECK_ERR(expr, want)                                                                      \
    do {                                                                                           \
        ts_err got_ = (expr);                                                                      \
        if (got_ != (want)) {                                                                      \
            fprintf(stderr, "line %d: got %s, want %s\n", __LINE__, ts_errname(got_),             \
                    ts_errname(want));                                                             \
            fail_now(#expr, __LINE__);                                                             \
        }                                                                                          \
    } while (0)

static _Noreturn void fail_now(const char *what, int line)
{
    fprintf(stderr, "FAILED line %d: %s\n", line, what);
    nc_node_dump_log(&node);
    nc_node_stop(&node, SIGKILL);
    fprintf(stderr, "node files kept in %s\n", root);
    exit(1);
}

static void kill_node_at_exit(void)
{
    if (node.pid > 0) {
        kill(node.pid, SIGKILL);
    }
}

static uint8_t *pattern(size_t len, uint32_t seed)
{
    uint8_t *p = malloc(len + 1);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        p[i] = (uint8_t)x;
    }
    return p;
}

static void piece_id(uint32_t n, uint8_t out[32])
{
    memset(out, 0, 32);
    ts_be32_put(out, n);
    out[31] = 0x5a;
}

static struct ts_order_limit limit_for(enum ts_piece_action action, uint32_t piece,
                                       int64_t limit_bytes)
{
    uint8_t pid[32];
    piece_id(piece, pid);
    return nc_limit(sat.identity, &sat.url.id, &node.url.id, action, pid, limit_bytes, &key);
}

/* Asks the node (as the satellite) whether piece exists: TS_OK or TS_ERR_NOT_FOUND. */
static ts_err exists(uint32_t piece)
{
    uint8_t pid[32];
    piece_id(piece, pid);
    ProtobufCBinaryData ids[1] = {{32, pid}};
    Tessera__Piecestore__ExistsRequest req;
    tessera__piecestore__exists_request__init(&req);
    req.piece_ids = ids;
    req.n_piece_ids = 1;
    Tessera__Piecestore__ExistsResponse *resp = NULL;
    ts_err err = ts_rpc_call(sat_pool, &node.url, TS_PIECESTORE_EXISTS, &req.base,
                             &tessera__piecestore__exists_response__descriptor,
                             (ProtobufCMessage **)&resp, NULL, 0);
    if (err == TS_OK) {
        err = resp->n_missing == 0 ? TS_OK : TS_ERR_NOT_FOUND;
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    }
    return err;
}

static int temp_files(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/storage/temp", root);
    DIR *d = opendir(path);
    int n = 0;
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }
    if (d != NULL) {
        closedir(d);
    }
    return n;
}

static void roundtrip(uint32_t piece, size_t len)
{
    uint8_t *data = pattern(len, piece);
    struct ts_order_limit l = limit_for(TS_PIECE_ACTION_PUT, piece, (int64_t)len);
    struct ts_piece_hash receipt, stored;
    char msg[256];
    CHECK_ERR(nc_upload(pool, &node.url, &l, &key, data, len, NULL, &receipt, msg), TS_OK);
    CHECK(receipt.piece_size == (int64_t)len);
    uint8_t *back = malloc(len + 1);
    int have_hash = 0;
    l = limit_for(TS_PIECE_ACTION_GET, piece, (int64_t)len);
    CHECK_ERR(nc_download(pool, &node.url, &l, &key, 0, (int64_t)len, back, &stored, &have_hash,
                          msg),
              TS_OK);
    CHECK(len == 0 || memcmp(back, data, len) == 0);
    CHECK(have_hash);
    CHECK(memcmp(stored.hash, receipt.hash, 32) == 0);
    CHECK(ts_piece_hash_verify_uplink(&stored, key.pub) == TS_OK);
    free(back);
    free(data);
    printf("ok roundtrip %zu bytes\n", len);
}

static void ranged(uint32_t piece, size_t len, int64_t offset, int64_t size)
{
    uint8_t *data = pattern(len, piece);
    uint8_t *back = malloc((size_t)size + 1);
    struct ts_order_limit l = limit_for(TS_PIECE_ACTION_GET_REPAIR, piece, size);
    char msg[256];
    CHECK_ERR(nc_download(pool, &node.url, &l, &key, offset, size, back, NULL, NULL, msg), TS_OK);
    CHECK(memcmp(back, data + offset, (size_t)size) == 0);
    free(back);
    free(data);
    printf("ok ranged offset=%lld size=%lld\n", (long long)offset, (long long)size);
}

static void refused(const char *name, uint32_t piece, struct ts_order_limit *l,
                    const struct nc_upload_opts *opts, ts_err want)
{
    size_t len = 300000;
    uint8_t *data = pattern(len, piece);
    struct ts_piece_hash receipt;
    char msg[256] = "";
    CHECK_ERR(nc_upload(pool, &node.url, l, &key, data, len, opts, &receipt, msg), want);
    CHECK(strlen(msg) > 10);
    CHECK_ERR(exists(piece), TS_ERR_NOT_FOUND);
    CHECK(temp_files() == 0);
    free(data);
    printf("ok refused %s: %s: %s\n", name, ts_errname(want), msg);
}

static void refusals(void)
{
    struct ts_order_limit l;
    l = limit_for(TS_PIECE_ACTION_PUT, 100, 1 << 20);
    CHECK(ts_order_limit_sign(&l, forger) == TS_OK);
    refused("forged limit", 100, &l, NULL, TS_ERR_AUTH_FAILED);

    l = limit_for(TS_PIECE_ACTION_PUT, 101, 1 << 20);
    l.order_creation_s -= 2 * 24 * 3600;
    l.order_expiration_s = ts_time_now_s() - 60;
    ts_be64_put(l.serial, (uint64_t)l.order_expiration_s);
    CHECK(ts_order_limit_sign(&l, sat.identity) == TS_OK);
    refused("expired limit", 101, &l, NULL, TS_ERR_EXPIRED);

    l = limit_for(TS_PIECE_ACTION_PUT, 102, 1 << 20);
    l.order_creation_s += 2 * TS_ORDER_GRACE_S;
    CHECK(ts_order_limit_sign(&l, sat.identity) == TS_OK);
    refused("future-dated limit", 102, &l, NULL, TS_ERR_NOT_YET_VALID);

    l = limit_for(TS_PIECE_ACTION_PUT, 103, 1 << 20);
    l.storage_node_id = *ts_identity_id(forger);
    CHECK(ts_order_limit_sign(&l, sat.identity) == TS_OK);
    refused("mis-addressed limit", 103, &l, NULL, TS_ERR_WRONG_NODE);

    l = limit_for(TS_PIECE_ACTION_PUT, 104, 1 << 20);
    l.satellite_id = *ts_identity_id(forger);
    CHECK(ts_order_limit_sign(&l, forger) == TS_OK);
    refused("untrusted satellite", 104, &l, NULL, TS_ERR_UNTRUSTED);

    l = limit_for(TS_PIECE_ACTION_PUT, 105, 1 << 20);
    struct nc_upload_opts deficit = {.order_deficit = 256 * 1024 + 1000, .chunk_size = 64 * 1024};
    refused("bytes past the ordered amount", 105, &l, &deficit, TS_ERR_LIMIT_EXCEEDED);

    l = limit_for(TS_PIECE_ACTION_PUT, 106, 1 << 20);
    struct nc_upload_opts bad_hash = {.corrupt_hash = 1};
    refused("wrong final hash", 106, &l, &bad_hash, TS_ERR_HASH_MISMATCH);

    l = limit_for(TS_PIECE_ACTION_PUT, 107, 1 << 20);
    uint8_t small[10] = {1};
    struct ts_piece_hash r;
    char msg[256];
    CHECK_ERR(nc_upload(pool, &node.url, &l, &key, small, sizeof small, NULL, &r, msg), TS_OK);
    l.piece_id[0] ^= 0x80; /* same serial, another piece: still a replay */
    CHECK(ts_order_limit_sign(&l, sat.identity) == TS_OK);
    refused("replayed serial", 108, &l, NULL, TS_ERR_REPLAYED);

    /* A client that expects another node ID refuses the node's certificate. */
    struct ts_node_url wrong = node.url;
    wrong.id = *ts_identity_id(forger);
    l = limit_for(TS_PIECE_ACTION_PUT, 109, 1 << 20);
    CHECK_ERR(nc_upload(pool, &wrong, &l, &key, small, sizeof small, NULL, &r, msg),
              TS_ERR_WRONG_NODE);
    /* Exists is for trusted satellites only: an uplink's certificate is refused. */
    ProtobufCBinaryData ids[1] = {{32, l.piece_id}};
    Tessera__Piecestore__ExistsRequest req;
    tessera__piecestore__exists_request__init(&req);
    req.piece_ids = ids;
    req.n_piece_ids = 1;
    ProtobufCMessage *resp = NULL;
    CHECK_ERR(ts_rpc_call(pool, &node.url, TS_PIECESTORE_EXISTS, &req.base,
                          &tessera__piecestore__exists_response__descriptor, &resp, msg,
                          sizeof msg),
              TS_ERR_UNTRUSTED);
    printf("ok refused client with wrong node ID and uplink Exists: %s\n", msg);
}

/* Raw bytes on a fresh TCP connection, with or without TLS: the node must drop them. */
static void garbage(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(node.url.port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    uint8_t junk[4096];
    memset(junk, 0x16, sizeof junk); /* looks like a TLS record type, then nonsense */
    CHECK(write(fd, junk, sizeof junk) > 0);
    char buf[256];
    while (read(fd, buf, sizeof buf) > 0) {
    }
    close(fd);

    struct ts_tls_config cfg = {.identity = uplink_id};
    struct ts_tls_ctx *ctx = NULL;
    CHECK(ts_tls_ctx_new(&cfg, &ctx) == TS_OK);
    for (int kind = 0; kind < 2; kind++) {
        struct ts_tls_conn *conn = NULL;
        CHECK_ERR(ts_tls_connect(ctx, &node.url, 5000, &conn), TS_OK);
        ts_tls_conn_set_timeout(conn, 5000);
        uint8_t frame[TS_RPC_PREFACE_SIZE + TS_RPC_FRAME_HEADER_SIZE + 16];
        memcpy(frame, TS_RPC_PREFACE, TS_RPC_PREFACE_SIZE);
        if (kind == 0) { /* garbage frame */
            memset(frame + TS_RPC_PREFACE_SIZE, 0xee, sizeof frame - TS_RPC_PREFACE_SIZE);
        } else { /* an INVOKE frame claiming more than TS_RPC_FRAME_MAX bytes */
            uint8_t *h = frame + TS_RPC_PREFACE_SIZE;
            memset(h, 0, TS_RPC_FRAME_HEADER_SIZE);
            h[0] = TS_RPC_FRAME_INVOKE;
            ts_be32_put(h + 4, 1);
            ts_be32_put(h + 8, TS_RPC_FRAME_MAX + 1);
        }
        CHECK(ts_tls_conn_write(conn, frame, sizeof frame) == TS_OK);
        CHECK(ts_tls_conn_flush(conn) == TS_OK);
        size_t got = 0;
        ts_err err = TS_OK;
        for (int i = 0; i < 100 && err == TS_OK; i++) {
            err = ts_tls_conn_read(conn, buf, sizeof buf, &got);
        }
        CHECK(err == TS_ERR_CLOSED || err == TS_ERR_TLS); /* the node hung up */
        ts_tls_conn_close(conn);
    }
    ts_tls_ctx_free(ctx);
    roundtrip(200, 1000); /* and keeps serving */
    printf("ok garbage and oversized frames dropped\n");
}

static void no_space(void)
{
    struct ts_order_limit l = limit_for(TS_PIECE_ACTION_PUT, 300, 6 << 20);
    refused("upload past the allocation", 300, &l, NULL, TS_ERR_NO_SPACE);
}

/* Holds max-concurrent streams open, then one more connection must get BUSY. */
static void busy(int cap)
{
    struct ts_rpc_pool *p = NULL;
    CHECK(ts_rpc_pool_new(uplink_id, NULL, &p) == TS_OK);
    struct ts_rpc_stream *held[64] = {0};
    int busy_seen = 0, opened = 0;
    for (int i = 0; i < cap + 8 && i < 64 && !busy_seen; i++) {
        CHECK(ts_rpc_pool_open_stream(p, &node.url, TS_PIECESTORE_UPLOAD, &held[i]) == TS_OK);
        struct ts_order_limit l = limit_for(TS_PIECE_ACTION_PUT, 400 + (uint32_t)i, 1000);
        Tessera__Orders__OrderLimit pb;
        ts_order_limit_to_proto(&l, &pb);
        Tessera__Piecestore__UploadRequest req;
        tessera__piecestore__upload_request__init(&req);
        req.limit = &pb;
        ts_err err = ts_rpc_stream_send(held[i], &req.base);
        if (err == TS_OK) {
            err = ts_rpc_stream_flush(held[i]);
        }
        if (i >= cap - 1) {
            /* Past the cap the node answers at once: a recv sees BUSY, not a hang. */
            ProtobufCMessage *m = NULL;
            if (i >= cap) {
                err = ts_rpc_stream_recv(held[i], &tessera__piecestore__upload_response__descriptor,
                                         &m);
            }
            busy_seen = err == TS_ERR_BUSY;
        }
        opened++;
    }
    CHECK(busy_seen);
    for (int i = 0; i < opened; i++) {
        ts_rpc_stream_cancel(held[i]);
        ts_rpc_stream_finish(held[i]);
    }
    ts_rpc_pool_free(p);
    printf("ok busy past %d concurrent transfers\n", cap);
}

/* kill -9 in the middle of an upload: after a restart the piece is not servable and temp/ is
 * empty. Returns with the node restarted using extra args. */
static void kill_mid_upload(const char *const *restart_args)
{
    size_t len = 2 << 20;
    uint8_t *data = pattern(len, 500);
    struct ts_order_limit l = limit_for(TS_PIECE_ACTION_PUT, 500, (int64_t)len);
    struct ts_rpc_stream *s = NULL;
    CHECK(ts_rpc_pool_open_stream(pool, &node.url, TS_PIECESTORE_UPLOAD, &s) == TS_OK);
    Tessera__Orders__OrderLimit limit_pb;
    ts_order_limit_to_proto(&l, &limit_pb);
    Tessera__Piecestore__UploadRequest req;
    tessera__piecestore__upload_request__init(&req);
    req.limit = &limit_pb;
    CHECK(ts_rpc_stream_send(s, &req.base) == TS_OK);
    struct ts_order o = {.amount = (int64_t)len};
    memcpy(o.serial, l.serial, TS_SERIAL_SIZE);
    CHECK(ts_order_sign(&o, key.priv) == TS_OK);
    Tessera__Orders__Order order_pb;
    Tessera__Piecestore__Chunk chunk_pb;
    ts_order_to_proto(&o, &order_pb);
    tessera__piecestore__upload_request__init(&req);
    tessera__piecestore__chunk__init(&chunk_pb);
    req.order = &order_pb;
    chunk_pb.data.data = data;
    chunk_pb.data.len = len / 2;
    req.chunk = &chunk_pb;
    CHECK(ts_rpc_stream_send(s, &req.base) == TS_OK);
    CHECK(ts_rpc_stream_flush(s) == TS_OK);
    /* Wait until the node has the temp file, then kill it. */
    int64_t deadline = ts_monotonic_ms() + 10000;
    while (temp_files() == 0 && ts_monotonic_ms() < deadline) {
        usleep(5000);
    }
    CHECK(temp_files() == 1);
    nc_node_stop(&node, SIGKILL);
    ts_rpc_stream_cancel(s);
    ts_rpc_stream_finish(s);
    CHECK_ERR(nc_node_start(&node, node_exe, root, &sat, restart_args), TS_OK);
    CHECK(temp_files() == 0);
    CHECK_ERR(exists(500), TS_ERR_NOT_FOUND);
    uint8_t one;
    char msg[256];
    l = limit_for(TS_PIECE_ACTION_GET, 500, 1);
    CHECK_ERR(nc_download(pool, &node.url, &l, &key, 0, 1, &one, NULL, NULL, msg),
              TS_ERR_NOT_FOUND);
    free(data);
    printf("ok kill -9 mid-upload leaves no servable piece (%s)\n", msg);
}

struct worker {
    pthread_t thread;
    pthread_barrier_t *start;
    uint32_t piece;
    size_t len;
    ts_err err;
};

static void *worker_run(void *arg)
{
    struct worker *w = arg;
    uint8_t *data = pattern(w->len, w->piece);
    uint8_t *back = malloc(w->len);
    struct ts_order_limit l = limit_for(TS_PIECE_ACTION_PUT, w->piece, (int64_t)w->len);
    struct ts_piece_hash r;
    char msg[256];
    pthread_barrier_wait(w->start);
    w->err = nc_upload(pool, &node.url, &l, &key, data, w->len, NULL, &r, msg);
    if (w->err == TS_OK) {
        l = limit_for(TS_PIECE_ACTION_GET, w->piece, (int64_t)w->len);
        w->err = nc_download(pool, &node.url, &l, &key, 0, (int64_t)w->len, back, NULL, NULL, msg);
    }
    if (w->err == TS_OK && memcmp(back, data, w->len) != 0) {
        w->err = TS_ERR_CHECKSUM;
    }
    if (w->err != TS_OK) {
        fprintf(stderr, "worker %u: %s %s\n", w->piece, ts_errname(w->err), msg);
    }
    free(back);
    free(data);
    return NULL;
}

static void concurrent(int count, size_t len)
{
    struct worker *w = calloc((size_t)count, sizeof *w);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)count);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    int64_t t0 = ts_monotonic_ms();
    for (int i = 0; i < count; i++) {
        w[i].start = &start;
        w[i].piece = 10000 + (uint32_t)i;
        w[i].len = len;
        CHECK(pthread_create(&w[i].thread, &attr, worker_run, &w[i]) == 0);
    }
    int failed = 0;
    for (int i = 0; i < count; i++) {
        pthread_join(w[i].thread, NULL);
        failed += w[i].err != TS_OK;
    }
    pthread_attr_destroy(&attr);
    pthread_barrier_destroy(&start);
    free(w);
    CHECK(failed == 0);
    printf("ok %d concurrent uploads+downloads of %zu bytes in %lld ms\n", count, len,
           (long long)(ts_monotonic_ms() - t0));
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s <tessera-node>\n", argv[0]);
        return 2;
    }
    node_exe = argv[1];
    setvbuf(stdout, NULL, _IOLBF, 0);
    int sanitized = getenv("TS_SANITIZED") != NULL;
    signal(SIGPIPE, SIG_IGN);
    atexit(kill_node_at_exit);
    snprintf(root, sizeof root, "/tmp/ts-node-it-XXXXXX");
    CHECK(mkdtemp(root) != NULL);
    CHECK(nc_sat_start(&sat) == TS_OK);
    CHECK(ts_identity_create_ephemeral(&uplink_id) == TS_OK);
    CHECK(ts_identity_create_ephemeral(&forger) == TS_OK);
    CHECK(ts_ed25519_keypair(key.pub, key.priv) == TS_OK);
    struct ts_rpc_pool_opts popts = {.idle_per_node_max = 64, .idle_max = 600};
    CHECK(ts_rpc_pool_new(uplink_id, &popts, &pool) == TS_OK);
    CHECK(ts_rpc_pool_new(sat.identity, NULL, &sat_pool) == TS_OK);

    const char *first[] = {"--allocated=8MiB", "--max-concurrent=24", NULL};
    CHECK_ERR(nc_node_start(&node, node_exe, root, &sat, first), TS_OK);
    static const size_t sizes[] = {0, 1, 255, 256, 1 << 20, 2306867 /* 2.2 MiB */};
    for (uint32_t i = 0; i < TS_ARRAY_LEN(sizes); i++) {
        roundtrip(i + 1, sizes[i]);
    }
    ranged(5, 1 << 20, 1000, 300000);
    ranged(5, 1 << 20, (1 << 20) - 1, 1);
    ranged(6, 2306867, 1 << 20, 1000000);
    refusals();
    garbage();
    no_space();
    busy(24);

    const char *second[] = {"--allocated=1GiB", "--max-concurrent=700", NULL};
    kill_mid_upload(second);
    roundtrip(600, 1000); /* earlier pieces and new ones still work after the restart */
    ranged(6, 2306867, 0, 2306867);
    concurrent(sanitized ? 100 : 500, 64 * 1024);

    int status = nc_node_stop(&node, SIGTERM);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ts_rpc_pool_free(pool);
    ts_rpc_pool_free(sat_pool);
    ts_identity_free(uplink_id);
    ts_identity_free(forger);
    nc_sat_stop(&sat);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    CHECK(system(cmd) == 0);
    printf("ok clean shutdown; all node integration checks passed\n");
    return 0;
}
