#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/fs.h"
#include "contact.pb-c.h"
#include "crypto/hash.h"
#include "node_client.h"
#include "piecestore.pb-c.h"
#include "settlement.pb-c.h"

#define STEP (256 * 1024)

/* ---- Satellite ---- */

static int ping_back(struct nc_sat *sat, const struct ts_peer_identity *peer, const char *address)
{
    struct ts_node_url url;
    memset(&url, 0, sizeof url);
    url.id = peer->id;
    const char *colon = strrchr(address, ':');
    if (colon == NULL || (size_t)(colon - address) >= sizeof url.host) {
        return 0;
    }
    memcpy(url.host, address, (size_t)(colon - address));
    url.port = (uint16_t)strtol(colon + 1, NULL, 10);
    Tessera__Contact__PingNodeRequest req = TESSERA__CONTACT__PING_NODE_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    ts_err err = ts_rpc_call(sat->pool, &url, "/tessera.contact.Contact/PingNode", &req.base,
                             &tessera__contact__ping_node_response__descriptor, &resp, NULL, 0);
    if (resp != NULL) {
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    return err == TS_OK;
}

static ts_err h_checkin(struct ts_rpc_stream *s, void *ctx)
{
    struct nc_sat *sat = ctx;
    Tessera__Contact__CheckInRequest *req = NULL;
    ts_err err = ts_rpc_stream_recv(s, &tessera__contact__check_in_request__descriptor,
                                    (ProtobufCMessage **)&req);
    if (err != TS_OK) {
        return err;
    }
    struct nc_sat_record *r = &sat->rec;
    pthread_mutex_lock(&r->mu);
    int fail = r->checkin_fail_next > 0;
    r->checkin_fail_next -= fail;
    r->checkins++;
    snprintf(r->address, sizeof r->address, "%s", req->address);
    snprintf(r->version, sizeof r->version, "%s", req->version);
    snprintf(r->wallet, sizeof r->wallet, "%s", req->wallet);
    snprintf(r->email, sizeof r->email, "%s", req->email);
    r->free_disk_bytes = req->free_disk_bytes;
    pthread_mutex_unlock(&r->mu);
    int ok = fail ? 0 : ping_back(sat, ts_rpc_stream_peer(s), req->address);
    protobuf_c_message_free_unpacked(&req->base, NULL);
    pthread_mutex_lock(&r->mu);
    r->pings_ok += !fail && ok;
    r->pings_failed += !fail && !ok;
    r->checkins_done++;
    pthread_mutex_unlock(&r->mu);
    if (fail) {
        return TS_ERR_UNAVAILABLE;
    }
    Tessera__Contact__CheckInResponse resp = TESSERA__CONTACT__CHECK_IN_RESPONSE__INIT;
    resp.ping_node_success = ok;
    resp.ping_error_message = ok ? "" : "ping failed";
    return ts_rpc_stream_send(s, &resp.base);
}

/* Records a window the first time it is accepted; a re-send with the same count is accepted
 * without counting again, a different count rejected (the satellite's rule). */
static int settle_record(struct nc_sat_record *r, int64_t window, int64_t items)
{
    for (int i = 0; i < r->windows_count; i++) {
        if (r->windows[i] == window) {
            return r->window_items[i] == items ? TESSERA__SETTLEMENT__SETTLEMENT_STATUS__SETTLEMENT_ACCEPTED
                                               : TESSERA__SETTLEMENT__SETTLEMENT_STATUS__SETTLEMENT_REJECTED;
        }
    }
    if (r->windows_count < 64) {
        r->windows[r->windows_count] = window;
        r->window_items[r->windows_count++] = items;
    }
    return TESSERA__SETTLEMENT__SETTLEMENT_STATUS__SETTLEMENT_ACCEPTED;
}

static ts_err h_settle(struct ts_rpc_stream *s, void *ctx)
{
    struct nc_sat *sat = ctx;
    Tessera__Settlement__SettlementRequest *req = NULL;
    ts_err err = ts_rpc_stream_recv(s, &tessera__settlement__settlement_request__descriptor,
                                    (ProtobufCMessage **)&req);
    if (err != TS_OK) {
        return err;
    }
    /* Count only items whose limit verifies with this satellite's key. */
    int64_t valid = 0;
    for (size_t i = 0; i < req->n_items; i++) {
        struct ts_order_limit l;
        if (ts_order_limit_decode(req->items[i]->limit.data, req->items[i]->limit.len, &l) ==
                TS_OK &&
            ts_order_limit_verify(&l, ts_identity_peer(sat->identity)) == TS_OK) {
            valid++;
        }
    }
    struct nc_sat_record *r = &sat->rec;
    pthread_mutex_lock(&r->mu);
    r->items_received += (int64_t)req->n_items;
    int fail = r->settle_fail_next > 0;
    r->settle_fail_next -= fail;
    int status = 0;
    if (!fail) {
        r->settlements++;
        status = r->settle_status == TESSERA__SETTLEMENT__SETTLEMENT_STATUS__SETTLEMENT_REJECTED
                     ? r->settle_status
                     : settle_record(r, req->window_start, valid);
    }
    pthread_mutex_unlock(&r->mu);
    protobuf_c_message_free_unpacked(&req->base, NULL);
    if (fail) {
        return TS_ERR_UNAVAILABLE;
    }
    Tessera__Settlement__SettlementResponse resp = TESSERA__SETTLEMENT__SETTLEMENT_RESPONSE__INIT;
    resp.status = (Tessera__Settlement__SettlementStatus)status;
    resp.items_counted = (uint32_t)valid;
    return ts_rpc_stream_send(s, &resp.base);
}

void nc_sat_record_get(struct nc_sat *sat, struct nc_sat_record *out)
{
    pthread_mutex_lock(&sat->rec.mu);
    *out = sat->rec;
    pthread_mutex_unlock(&sat->rec.mu);
}

ts_err nc_sat_start(struct nc_sat *sat)
{
    memset(sat, 0, sizeof *sat);
    pthread_mutex_init(&sat->rec.mu, NULL);
    sat->rec.settle_status = TESSERA__SETTLEMENT__SETTLEMENT_STATUS__SETTLEMENT_ACCEPTED;
    struct ts_identity_create_opts opts = {.difficulty_min = 0, .threads = 1};
    ts_err err = ts_identity_create(&opts, &sat->identity);
    struct ts_rpc_server_config cfg = {.identity = sat->identity, .host = "127.0.0.1"};
    if (err == TS_OK) {
        err = ts_rpc_pool_new(sat->identity, NULL, &sat->pool);
    }
    if (err == TS_OK) {
        err = ts_rpc_server_new(&cfg, &sat->srv);
    }
    if (err == TS_OK) {
        err = ts_rpc_server_register(sat->srv, "/tessera.contact.Node/CheckIn", h_checkin, sat);
    }
    if (err == TS_OK) {
        err = ts_rpc_server_register(sat->srv, "/tessera.settlement.Orders/SettlementWithWindow",
                                     h_settle, sat);
    }
    if (err == TS_OK) {
        err = ts_rpc_server_start(sat->srv);
    }
    if (err == TS_OK) {
        sat->url.id = *ts_identity_id(sat->identity);
        snprintf(sat->url.host, sizeof sat->url.host, "127.0.0.1");
        sat->url.port = ts_rpc_server_port(sat->srv);
    }
    return err;
}

void nc_sat_stop(struct nc_sat *sat)
{
    ts_rpc_server_free(sat->srv);
    ts_rpc_pool_free(sat->pool);
    ts_identity_free(sat->identity);
    pthread_mutex_destroy(&sat->rec.mu);
    memset(sat, 0, sizeof *sat);
}

/* ---- Node process ---- */

static ts_err ensure_identity(const char *dir, struct ts_node_id *id)
{
    struct ts_identity *ident = NULL;
    ts_err err = ts_identity_load(dir, &ident);
    if (err == TS_ERR_NOT_FOUND) {
        struct ts_identity_create_opts opts = {.difficulty_min = 0, .threads = 1};
        err = ts_identity_create(&opts, &ident);
        if (err == TS_OK) {
            err = ts_identity_save(ident, dir);
        }
    }
    if (err == TS_OK) {
        *id = *ts_identity_id(ident);
    }
    ts_identity_free(ident);
    return err;
}

static void exec_node(const struct nc_node *n, const struct nc_sat *sat, const char *const *extra)
{
    char log[PATH_MAX + 16], id_dir[PATH_MAX + 16], st_dir[PATH_MAX + 16], ready[PATH_MAX + 16];
    char trust[TS_NODE_URL_MAX + 16];
    snprintf(log, sizeof log, "%s/node.log", n->dir);
    snprintf(id_dir, sizeof id_dir, "--identity-dir=%s/identity", n->dir);
    snprintf(st_dir, sizeof st_dir, "--storage-dir=%s/storage", n->dir);
    snprintf(ready, sizeof ready, "--ready-file=%s/ready", n->dir);
    char url[TS_NODE_URL_MAX + 1];
    if (ts_node_url_format(&sat->url, url, sizeof url) != TS_OK) {
        _exit(126);
    }
    snprintf(trust, sizeof trust, "--trust=%s", url);
    const char *argv[64] = {n->exe, id_dir, st_dir, ready, trust, "--listen=127.0.0.1:0",
                            "--dashboard=127.0.0.1:0", "--allocated=64MiB"};
    int argc = 8;
    for (int i = 0; extra != NULL && extra[i] != NULL && argc < 62; i++) {
        argv[argc++] = extra[i];
    }
    argv[argc] = NULL;
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
        dup2(fd, 2);
        dup2(fd, 1);
        close(fd);
    }
    execv(n->exe, (char *const *)argv);
    _exit(127);
}

static ts_err wait_ready(struct nc_node *n)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/ready", n->dir);
    int64_t deadline = ts_monotonic_ms() + 30000;
    while (ts_monotonic_ms() < deadline) {
        int status = 0;
        if (waitpid(n->pid, &status, WNOHANG) == n->pid) {
            n->pid = 0;
            return TS_ERR_CLOSED;
        }
        FILE *f = fopen(path, "r");
        unsigned rpc = 0, dash = 0;
        if (f != NULL) {
            int got = fscanf(f, "%u %u", &rpc, &dash);
            fclose(f);
            if (got == 2) {
                n->url.port = (uint16_t)rpc;
                n->dashboard_port = (uint16_t)dash;
                return TS_OK;
            }
        }
        usleep(20000);
    }
    return TS_ERR_TIMEOUT;
}

ts_err nc_node_start(struct nc_node *n, const char *exe, const char *root,
                     const struct nc_sat *sat, const char *const *extra)
{
    memset(n, 0, sizeof *n);
    snprintf(n->dir, sizeof n->dir, "%s", root);
    snprintf(n->exe, sizeof n->exe, "%s", exe);
    char id_dir[PATH_MAX + 16], ready[PATH_MAX + 16];
    snprintf(id_dir, sizeof id_dir, "%s/identity", root);
    snprintf(ready, sizeof ready, "%s/ready", root);
    unlink(ready);
    ts_err err = ts_fs_mkdir_p(root, 0700);
    if (err == TS_OK) {
        err = ensure_identity(id_dir, &n->url.id);
    }
    if (err != TS_OK) {
        return err;
    }
    snprintf(n->url.host, sizeof n->url.host, "127.0.0.1");
    n->pid = fork();
    if (n->pid < 0) {
        return TS_ERR_IO;
    }
    if (n->pid == 0) {
        exec_node(n, sat, extra);
    }
    err = wait_ready(n);
    if (err != TS_OK) {
        nc_node_dump_log(n);
        nc_node_stop(n, SIGKILL);
    }
    return err;
}

int nc_node_stop(struct nc_node *n, int sig)
{
    if (n->pid <= 0) {
        return -1;
    }
    kill(n->pid, sig);
    int status = -1;
    int64_t deadline = ts_monotonic_ms() + 10000;
    while (waitpid(n->pid, &status, WNOHANG) == 0) {
        if (ts_monotonic_ms() > deadline) {
            kill(n->pid, SIGKILL);
            waitpid(n->pid, &status, 0);
            break;
        }
        usleep(10000);
    }
    n->pid = 0;
    return status;
}

void nc_node_dump_log(const struct nc_node *n)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/node.log", n->dir);
    struct ts_buf b;
    ts_buf_init(&b, 1u << 20);
    if (ts_fs_read_all(path, 1u << 20, &b) == TS_OK && b.len > 0) {
        fprintf(stderr, "---- node log %s ----\n%s---- end of node log ----\n", path, b.data);
    }
    ts_buf_release(&b);
}

/* ---- Orders ---- */

struct ts_order_limit nc_limit(const struct ts_identity *signer, const struct ts_node_id *sat_id,
                               const struct ts_node_id *node_id, enum ts_piece_action action,
                               const uint8_t piece_id[32], int64_t limit_bytes,
                               const struct nc_piece_key *key)
{
    struct ts_order_limit l;
    memset(&l, 0, sizeof l);
    int64_t now = ts_time_now_s();
    l.order_creation_s = now;
    l.order_expiration_s = now + 24 * 3600;
    TS_ASSERT(ts_serial_new(l.order_expiration_s, l.serial) == TS_OK);
    l.satellite_id = *sat_id;
    l.storage_node_id = *node_id;
    memcpy(l.piece_id, piece_id, 32);
    memcpy(l.uplink_public_key, key->pub, 32);
    l.limit_bytes = limit_bytes;
    l.action = action;
    TS_ASSERT(ts_order_limit_sign(&l, signer) == TS_OK);
    return l;
}

static struct ts_order make_order(const struct ts_order_limit *l, const struct nc_piece_key *key,
                                  int64_t amount)
{
    struct ts_order o;
    memset(&o, 0, sizeof o);
    memcpy(o.serial, l->serial, TS_SERIAL_SIZE);
    o.amount = amount;
    TS_ASSERT(ts_order_sign(&o, key->priv) == TS_OK);
    return o;
}

static void copy_msg(struct ts_rpc_stream *s, char *err_msg)
{
    if (err_msg != NULL) {
        snprintf(err_msg, 256, "%s", s ? ts_rpc_stream_error_message(s) : "");
    }
}

/* ---- Upload ---- */

static ts_err upload_body(struct ts_rpc_stream *s, const struct ts_order_limit *limit,
                          const struct nc_piece_key *key, const uint8_t *data, size_t len,
                          const struct nc_upload_opts *opts)
{
    Tessera__Orders__OrderLimit limit_pb;
    ts_order_limit_to_proto(limit, &limit_pb);
    Tessera__Piecestore__UploadRequest req;
    tessera__piecestore__upload_request__init(&req);
    req.limit = &limit_pb;
    ts_err err = ts_rpc_stream_send(s, &req.base);
    size_t chunk = opts->chunk_size > 0 ? opts->chunk_size : TS_RPC_CHUNK_SIZE;
    int64_t ordered = 0;
    /* Hash while sending, as an uplink does, so hashing overlaps the node's work. */
    struct ts_sha256_ctx *sha = NULL;
    if (err == TS_OK) {
        err = ts_sha256_ctx_new(&sha);
    }
    for (size_t off = 0; err == TS_OK && off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        Tessera__Orders__Order order_pb;
        Tessera__Piecestore__Chunk chunk_pb;
        tessera__piecestore__upload_request__init(&req);
        tessera__piecestore__chunk__init(&chunk_pb);
        struct ts_order o;
        if ((int64_t)(off + n) > ordered) {
            ordered = (int64_t)(off + n) + STEP;
            ordered = ordered < limit->limit_bytes ? ordered : limit->limit_bytes;
            o = make_order(limit, key, ordered - opts->order_deficit);
            ts_order_to_proto(&o, &order_pb);
            req.order = &order_pb;
        }
        chunk_pb.offset = (int64_t)off;
        chunk_pb.data.data = (uint8_t *)data + off;
        chunk_pb.data.len = n;
        req.chunk = &chunk_pb;
        err = ts_rpc_stream_send(s, &req.base);
        if (err == TS_OK) {
            err = ts_sha256_ctx_update(sha, data + off, n);
        }
    }
    struct ts_piece_hash h;
    memset(&h, 0, sizeof h);
    memcpy(h.piece_id, limit->piece_id, 32);
    h.piece_size = (int64_t)len;
    h.timestamp_s = limit->order_creation_s;
    if (err == TS_OK) {
        err = ts_sha256_ctx_final(sha, h.hash);
    }
    ts_sha256_ctx_free(sha);
    h.hash[0] ^= (uint8_t)(opts->corrupt_hash ? 1 : 0);
    if (err == TS_OK) {
        err = ts_piece_hash_sign_uplink(&h, key->priv);
    }
    Tessera__Orders__PieceHash hash_pb;
    ts_piece_hash_to_proto(&h, &hash_pb);
    tessera__piecestore__upload_request__init(&req);
    req.done = &hash_pb;
    if (err == TS_OK) {
        err = ts_rpc_stream_send(s, &req.base);
    }
    if (err == TS_OK) {
        err = ts_rpc_stream_close_send(s);
    }
    return err;
}

ts_err nc_upload(struct ts_rpc_pool *pool, const struct ts_node_url *url,
                 const struct ts_order_limit *limit, const struct nc_piece_key *key,
                 const uint8_t *data, size_t len, const struct nc_upload_opts *opts,
                 struct ts_piece_hash *receipt, char *err_msg)
{
    static const struct nc_upload_opts none;
    struct ts_rpc_stream *s = NULL;
    ts_err err = ts_rpc_pool_open_stream(pool, url, TS_PIECESTORE_UPLOAD, &s);
    if (err != TS_OK) {
        copy_msg(NULL, err_msg);
        return err;
    }
    err = upload_body(s, limit, key, data, len, opts ? opts : &none);
    Tessera__Piecestore__UploadResponse *resp = NULL;
    /* Whatever happened while sending, the node's verdict arrives on recv. */
    ts_err rerr = ts_rpc_stream_recv(s, &tessera__piecestore__upload_response__descriptor,
                                     (ProtobufCMessage **)&resp);
    if (rerr != TS_OK || err != TS_OK) {
        err = rerr != TS_OK ? rerr : err;
    } else if (resp->done == NULL) {
        err = TS_ERR_PROTOCOL;
    } else {
        err = ts_piece_hash_from_proto(resp->done, receipt);
        if (err == TS_OK) {
            err = ts_piece_hash_verify_node(receipt, ts_rpc_stream_peer(s));
        }
    }
    if (resp != NULL) {
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    }
    if (err == TS_OK) {
        ProtobufCMessage *extra = NULL;
        ts_err end = ts_rpc_stream_recv(s, &tessera__piecestore__upload_response__descriptor, &extra);
        err = end == TS_ERR_END_OF_STREAM ? TS_OK : TS_ERR_PROTOCOL;
        if (extra != NULL) {
            protobuf_c_message_free_unpacked(extra, NULL);
        }
    }
    copy_msg(s, err_msg);
    ts_rpc_stream_finish(s);
    return err;
}

/* ---- Download ---- */

static ts_err send_order(struct ts_rpc_stream *s, const struct ts_order_limit *limit,
                         const struct nc_piece_key *key, int64_t amount,
                         const Tessera__Piecestore__ChunkRange *range)
{
    struct ts_order o = make_order(limit, key, amount);
    Tessera__Orders__Order order_pb;
    Tessera__Orders__OrderLimit limit_pb;
    ts_order_to_proto(&o, &order_pb);
    Tessera__Piecestore__DownloadRequest req;
    tessera__piecestore__download_request__init(&req);
    req.order = &order_pb;
    if (range != NULL) {
        ts_order_limit_to_proto(limit, &limit_pb);
        req.limit = &limit_pb;
        req.chunk = (Tessera__Piecestore__ChunkRange *)range;
    }
    return ts_rpc_stream_send(s, &req.base);
}

static ts_err download_recv(struct ts_rpc_stream *s, const struct ts_order_limit *limit,
                            const struct nc_piece_key *key, int64_t offset, int64_t size,
                            int64_t ordered, uint8_t *out, struct ts_piece_hash *hash_out,
                            int *have_hash)
{
    int64_t got = 0;
    for (;;) {
        Tessera__Piecestore__DownloadResponse *resp = NULL;
        ts_err err = ts_rpc_stream_recv(s, &tessera__piecestore__download_response__descriptor,
                                        (ProtobufCMessage **)&resp);
        if (err == TS_ERR_END_OF_STREAM) {
            return got == size ? TS_OK : TS_ERR_TRUNCATED;
        }
        if (err != TS_OK) {
            return err;
        }
        if (resp->chunk != NULL) {
            size_t n = resp->chunk->data.len;
            if (resp->chunk->offset != offset + got || (int64_t)n > size - got) {
                err = TS_ERR_PROTOCOL;
            } else if (n > 0) {
                memcpy(out + got, resp->chunk->data.data, n);
                got += (int64_t)n;
            }
        }
        if (err == TS_OK && resp->hash != NULL && hash_out != NULL) {
            err = ts_piece_hash_from_proto(resp->hash, hash_out);
            *have_hash = err == TS_OK;
        }
        protobuf_c_message_free_unpacked(&resp->base, NULL);
        if (err == TS_OK && ordered < size && ordered - got < STEP) {
            ordered = ordered + STEP < size ? ordered + STEP : size;
            err = send_order(s, limit, key, ordered, NULL);
        }
        if (err != TS_OK) {
            return err;
        }
    }
}

ts_err nc_download(struct ts_rpc_pool *pool, const struct ts_node_url *url,
                   const struct ts_order_limit *limit, const struct nc_piece_key *key,
                   int64_t offset, int64_t size, uint8_t *out, struct ts_piece_hash *hash_out,
                   int *have_hash, char *err_msg)
{
    struct ts_rpc_stream *s = NULL;
    if (have_hash != NULL) {
        *have_hash = 0;
    }
    ts_err err = ts_rpc_pool_open_stream(pool, url, TS_PIECESTORE_DOWNLOAD, &s);
    if (err != TS_OK) {
        copy_msg(NULL, err_msg);
        return err;
    }
    Tessera__Piecestore__ChunkRange range;
    tessera__piecestore__chunk_range__init(&range);
    range.offset = offset;
    range.size = size;
    int64_t ordered = size < 2 * STEP ? size : 2 * STEP;
    err = send_order(s, limit, key, ordered, &range);
    if (err == TS_OK) {
        err = download_recv(s, limit, key, offset, size, ordered, out, hash_out, have_hash);
    }
    copy_msg(s, err_msg);
    ts_rpc_stream_finish(s);
    return err;
}
