/*
 * End-to-end test of libtessera's upload and download flows against 10 real tessera-node
 * processes and a minimal in-process metainfo service (one object at a time, in memory, 4/6/8/10
 * code with 256-byte shares) that signs real order limits. It drives the public API only:
 * sizes 0, 1, 4095, 4096 and multi-stripe objects round-trip, ranged reads return the exact
 * bytes, user metadata survives, and with two nodes stopped uploads still succeed (8 of 10)
 * while with three stopped they fail with NOT_ENOUGH_SHARES. The real satellite has its own
 * tests; this one pins the uplink's side of the protocol.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "metainfo.pb-c.h"
#include "node_client.h"
#include "tessera/uplink.h"

#define NODES 10
#define K 4
#define O 8
#define SHARE 256
#define SEGMENTS_MAX 64

static const char *node_exe;

struct fake_segment {
    bool used;
    uint32_t index;
    Tessera__Metainfo__SegmentDownload *dl; /* what DownloadObject returns (without limits) */
    uint8_t root[32];
    int64_t piece_size;
    bool have[NODES]; /* pieces committed, by piece number = node index */
};

struct fake_sat {
    struct nc_sat *sat;
    struct nc_node *nodes;
    struct ts_rpc_server *srv;
    struct ts_node_url url;
    pthread_mutex_t mu;
    Tessera__Metainfo__Object obj;
    uint8_t key[TS_ENCRYPTED_KEY_MAX];
    size_t key_len;
    uint8_t meta[4][TS_METADATA_ENCRYPTED_MAX];
    bool committed;
    struct fake_segment segs[SEGMENTS_MAX];
    int commit_segment_calls;
    int pieces_reported;
};

static struct fake_sat fs;
static char root_dir[256];
static struct nc_sat test_sat;
static struct nc_node nodes[NODES];

/* ---- The in-memory metainfo service ---- */

static void redundancy(Tessera__Metainfo__RedundancyScheme *rs)
{
    tessera__metainfo__redundancy_scheme__init(rs);
    rs->required = K;
    rs->repair = 6;
    rs->success = O;
    rs->total = NODES;
    rs->share_size = SHARE;
}

static void segment_free(struct fake_segment *s)
{
    if (s->dl != NULL) {
        free(s->dl->encrypted_key.data);
        free(s->dl->encrypted_key_nonce.data);
        free(s->dl->inline_data.data);
        free(s->dl->position);
        free(s->dl);
    }
    memset(s, 0, sizeof(*s));
}

static uint8_t *dup_bytes(ProtobufCBinaryData b)
{
    uint8_t *p = malloc(b.len + 1);
    memcpy(p, b.data, b.len);
    return p;
}

static struct fake_segment *segment_at(uint32_t index)
{
    TS_ASSERT(index < SEGMENTS_MAX);
    struct fake_segment *s = &fs.segs[index];
    if (s->dl == NULL) {
        s->dl = calloc(1, sizeof(*s->dl));
        tessera__metainfo__segment_download__init(s->dl);
        s->dl->position = calloc(1, sizeof(*s->dl->position));
        tessera__metainfo__segment_position__init(s->dl->position);
        s->dl->position->index = index;
    }
    s->index = index;
    return s;
}

/* n signed limits (one per node) for piece `root`; the piece key goes to priv. */
static void make_limits(const uint8_t root[32], enum ts_piece_action action, int64_t bytes,
                        const bool *only, Tessera__Metainfo__AddressedOrderLimit **out,
                        struct ts_buf *bufs, uint8_t priv[64])
{
    struct nc_piece_key key;
    TS_ASSERT(ts_ed25519_keypair(key.pub, key.priv) == TS_OK);
    memcpy(priv, key.priv, 64);
    for (int i = 0; i < NODES; i++) {
        out[i] = calloc(1, sizeof(**out));
        tessera__metainfo__addressed_order_limit__init(out[i]);
        ts_buf_init(&bufs[i], TS_ORDER_LIMIT_ENCODED_MAX);
        if (only != NULL && !only[i]) {
            continue; /* a nil limit, as for pieces the segment does not have */
        }
        uint8_t pid[32];
        TS_ASSERT(ts_piece_id_derive(root, &nodes[i].url.id, (uint32_t)i, pid) == TS_OK);
        struct ts_order_limit l = nc_limit(test_sat.identity, ts_identity_id(test_sat.identity),
                                           &nodes[i].url.id, action, pid, bytes, &key);
        TS_ASSERT(ts_order_limit_encode(&l, &bufs[i]) == TS_OK);
        out[i]->limit.data = bufs[i].data;
        out[i]->limit.len = bufs[i].len;
        out[i]->node_id.data = nodes[i].url.id.bytes;
        out[i]->node_id.len = 32;
        out[i]->address = calloc(1, 32);
        snprintf(out[i]->address, 32, "127.0.0.1:%u", nodes[i].url.port);
        out[i]->piece_num = (uint32_t)i;
    }
}

static void limits_free(Tessera__Metainfo__AddressedOrderLimit **l, struct ts_buf *bufs)
{
    for (int i = 0; i < NODES; i++) {
        if (l[i]->limit.len > 0) {
            free(l[i]->address); /* nil entries keep protobuf-c's static empty string */
        }
        free(l[i]);
        ts_buf_release(&bufs[i]);
    }
}

static void do_begin_object(const Tessera__Metainfo__BeginObjectRequest *r,
                            Tessera__Metainfo__BeginObjectResponse *resp,
                            Tessera__Metainfo__RedundancyScheme *rs)
{
    for (int i = 0; i < SEGMENTS_MAX; i++) {
        segment_free(&fs.segs[i]);
    }
    fs.committed = false;
    memcpy(fs.key, r->encrypted_key.data, r->encrypted_key.len);
    fs.key_len = r->encrypted_key.len;
    fs.obj.expires_at = r->expires_at;
    tessera__metainfo__begin_object_response__init(resp);
    resp->stream_id.data = (uint8_t *)"stream";
    resp->stream_id.len = 6;
    redundancy(rs);
    resp->redundancy = rs;
}

/* BeginSegment: 10 PUT limits. The segment ID is the index as 4 bytes. */
static void do_begin_segment(const Tessera__Metainfo__BeginSegmentRequest *r,
                             Tessera__Metainfo__BeginSegmentResponse *resp,
                             Tessera__Metainfo__RedundancyScheme *rs,
                             Tessera__Metainfo__AddressedOrderLimit **limits, struct ts_buf *bufs,
                             uint8_t *priv, uint8_t *seg_id)
{
    struct fake_segment *s = segment_at(r->position->index);
    TS_ASSERT(ts_random_bytes(s->root, 32) == TS_OK);
    make_limits(s->root, TS_PIECE_ACTION_PUT, 17 * 1024 * 1024, NULL, limits, bufs, priv);
    tessera__metainfo__begin_segment_response__init(resp);
    ts_be32_put(seg_id, s->index);
    resp->segment_id.data = seg_id;
    resp->segment_id.len = 4;
    resp->limits = limits;
    resp->n_limits = NODES;
    resp->piece_private_key.data = priv;
    resp->piece_private_key.len = 64;
    redundancy(rs);
    resp->redundancy = rs;
}

static void do_make_inline(const Tessera__Metainfo__MakeInlineSegmentRequest *r)
{
    struct fake_segment *s = segment_at(r->position->index);
    s->used = true;
    s->dl->encrypted_key = r->encrypted_key;
    s->dl->encrypted_key.data = dup_bytes(r->encrypted_key);
    s->dl->encrypted_key_nonce = r->encrypted_key_nonce;
    s->dl->encrypted_key_nonce.data = dup_bytes(r->encrypted_key_nonce);
    s->dl->inline_data = r->encrypted_inline_data;
    s->dl->inline_data.data = dup_bytes(r->encrypted_inline_data);
    s->dl->plain_size = r->plain_size;
    s->dl->encrypted_size = (int64_t)r->encrypted_inline_data.len;
}

static void do_commit_object(const Tessera__Metainfo__CommitObjectRequest *r,
                             Tessera__Metainfo__CommitObjectResponse *resp)
{
    int64_t offset = 0;
    uint32_t count = 0;
    for (int i = 0; i < SEGMENTS_MAX && fs.segs[i].used; i++) {
        fs.segs[i].dl->plain_offset = offset;
        offset += fs.segs[i].dl->plain_size;
        count++;
    }
    fs.obj.total_plain_size = offset;
    fs.obj.segment_count = count;
    fs.obj.created_at = ts_time_now_s();
    memcpy(fs.meta[0], r->encrypted_metadata.data, r->encrypted_metadata.len);
    fs.obj.encrypted_metadata.data = fs.meta[0];
    fs.obj.encrypted_metadata.len = r->encrypted_metadata.len;
    memcpy(fs.meta[1], r->encrypted_metadata_key.data, r->encrypted_metadata_key.len);
    fs.obj.encrypted_metadata_key.data = fs.meta[1];
    fs.obj.encrypted_metadata_key.len = r->encrypted_metadata_key.len;
    memcpy(fs.meta[2], r->encrypted_metadata_nonce.data, r->encrypted_metadata_nonce.len);
    fs.obj.encrypted_metadata_nonce.data = fs.meta[2];
    fs.obj.encrypted_metadata_nonce.len = r->encrypted_metadata_nonce.len;
    fs.committed = true;
    tessera__metainfo__commit_object_response__init(resp);
    resp->object = &fs.obj;
}

static ts_err recv_req(struct ts_rpc_stream *s, const ProtobufCMessageDescriptor *d,
                       ProtobufCMessage **out)
{
    return ts_rpc_stream_recv(s, d, out);
}

static ts_err handle_batch(struct ts_rpc_stream *s, void *ctx)
{
    (void)ctx;
    Tessera__Metainfo__BatchRequest *req = NULL;
    ts_err err = recv_req(s, &tessera__metainfo__batch_request__descriptor,
                          (ProtobufCMessage **)&req);
    if (err != TS_OK) {
        return err;
    }
    pthread_mutex_lock(&fs.mu);
    Tessera__Metainfo__BatchResponseItem items[3], *ptrs[3];
    Tessera__Metainfo__BeginObjectResponse bo;
    Tessera__Metainfo__BeginSegmentResponse bs;
    Tessera__Metainfo__MakeInlineSegmentResponse mi;
    Tessera__Metainfo__CommitObjectResponse co;
    Tessera__Metainfo__RedundancyScheme rs1, rs2;
    Tessera__Metainfo__AddressedOrderLimit *limits[NODES];
    struct ts_buf bufs[NODES];
    uint8_t priv[64], seg_id[4];
    bool made_limits = false;
    TS_ASSERT(req->n_items <= 3);
    for (size_t i = 0; i < req->n_items; i++) {
        Tessera__Metainfo__BatchRequestItem *x = req->items[i];
        tessera__metainfo__batch_response_item__init(&items[i]);
        ptrs[i] = &items[i];
        if (x->request_case == TESSERA__METAINFO__BATCH_REQUEST_ITEM__REQUEST_BEGIN_OBJECT) {
            do_begin_object(x->begin_object, &bo, &rs1);
            items[i].response_case = TESSERA__METAINFO__BATCH_RESPONSE_ITEM__RESPONSE_BEGIN_OBJECT;
            items[i].begin_object = &bo;
        } else if (x->request_case == TESSERA__METAINFO__BATCH_REQUEST_ITEM__REQUEST_BEGIN_SEGMENT) {
            do_begin_segment(x->begin_segment, &bs, &rs2, limits, bufs, priv, seg_id);
            made_limits = true;
            items[i].response_case =
                TESSERA__METAINFO__BATCH_RESPONSE_ITEM__RESPONSE_BEGIN_SEGMENT;
            items[i].begin_segment = &bs;
        } else if (x->request_case ==
                   TESSERA__METAINFO__BATCH_REQUEST_ITEM__REQUEST_MAKE_INLINE_SEGMENT) {
            do_make_inline(x->make_inline_segment);
            tessera__metainfo__make_inline_segment_response__init(&mi);
            items[i].response_case =
                TESSERA__METAINFO__BATCH_RESPONSE_ITEM__RESPONSE_MAKE_INLINE_SEGMENT;
            items[i].make_inline_segment = &mi;
        } else if (x->request_case == TESSERA__METAINFO__BATCH_REQUEST_ITEM__REQUEST_COMMIT_OBJECT) {
            do_commit_object(x->commit_object, &co);
            items[i].response_case =
                TESSERA__METAINFO__BATCH_RESPONSE_ITEM__RESPONSE_COMMIT_OBJECT;
            items[i].commit_object = &co;
        }
    }
    Tessera__Metainfo__BatchResponse resp = TESSERA__METAINFO__BATCH_RESPONSE__INIT;
    resp.items = ptrs;
    resp.n_items = req->n_items;
    err = ts_rpc_stream_send(s, &resp.base);
    if (made_limits) {
        limits_free(limits, bufs);
    }
    pthread_mutex_unlock(&fs.mu);
    protobuf_c_message_free_unpacked(&req->base, NULL);
    return err;
}

static ts_err handle_begin_segment(struct ts_rpc_stream *s, void *ctx)
{
    (void)ctx;
    Tessera__Metainfo__BeginSegmentRequest *req = NULL;
    ts_err err = recv_req(s, &tessera__metainfo__begin_segment_request__descriptor,
                          (ProtobufCMessage **)&req);
    if (err != TS_OK) {
        return err;
    }
    pthread_mutex_lock(&fs.mu);
    Tessera__Metainfo__BeginSegmentResponse bs;
    Tessera__Metainfo__RedundancyScheme rs;
    Tessera__Metainfo__AddressedOrderLimit *limits[NODES];
    struct ts_buf bufs[NODES];
    uint8_t priv[64], seg_id[4];
    do_begin_segment(req, &bs, &rs, limits, bufs, priv, seg_id);
    err = ts_rpc_stream_send(s, &bs.base);
    limits_free(limits, bufs);
    pthread_mutex_unlock(&fs.mu);
    protobuf_c_message_free_unpacked(&req->base, NULL);
    return err;
}

static ts_err handle_commit_segment(struct ts_rpc_stream *s, void *ctx)
{
    (void)ctx;
    Tessera__Metainfo__CommitSegmentRequest *req = NULL;
    ts_err err = recv_req(s, &tessera__metainfo__commit_segment_request__descriptor,
                          (ProtobufCMessage **)&req);
    if (err != TS_OK) {
        return err;
    }
    pthread_mutex_lock(&fs.mu);
    struct fake_segment *seg = segment_at(ts_be32_get(req->segment_id.data));
    seg->used = true;
    seg->dl->encrypted_key.data = dup_bytes(req->encrypted_key);
    seg->dl->encrypted_key.len = req->encrypted_key.len;
    seg->dl->encrypted_key_nonce.data = dup_bytes(req->encrypted_key_nonce);
    seg->dl->encrypted_key_nonce.len = req->encrypted_key_nonce.len;
    seg->dl->plain_size = req->plain_size;
    seg->dl->encrypted_size = req->encrypted_size;
    for (size_t i = 0; i < req->n_results; i++) {
        struct ts_piece_hash h;
        TS_ASSERT(ts_piece_hash_decode(req->results[i]->hash.data, req->results[i]->hash.len,
                                       &h) == TS_OK);
        seg->have[req->results[i]->piece_num] = true;
        seg->piece_size = h.piece_size;
        fs.pieces_reported++;
    }
    fs.commit_segment_calls++;
    pthread_mutex_unlock(&fs.mu);
    Tessera__Metainfo__CommitSegmentResponse resp = TESSERA__METAINFO__COMMIT_SEGMENT_RESPONSE__INIT;
    resp.pieces_kept = (uint32_t)req->n_results;
    protobuf_c_message_free_unpacked(&req->base, NULL);
    return ts_rpc_stream_send(s, &resp.base);
}

static ts_err handle_commit_object(struct ts_rpc_stream *s, void *ctx)
{
    (void)ctx;
    Tessera__Metainfo__CommitObjectRequest *req = NULL;
    ts_err err = recv_req(s, &tessera__metainfo__commit_object_request__descriptor,
                          (ProtobufCMessage **)&req);
    if (err != TS_OK) {
        return err;
    }
    pthread_mutex_lock(&fs.mu);
    Tessera__Metainfo__CommitObjectResponse resp;
    do_commit_object(req, &resp);
    err = ts_rpc_stream_send(s, &resp.base);
    pthread_mutex_unlock(&fs.mu);
    protobuf_c_message_free_unpacked(&req->base, NULL);
    return err;
}

static ts_err handle_download_object(struct ts_rpc_stream *s, void *ctx)
{
    (void)ctx;
    Tessera__Metainfo__DownloadObjectRequest *req = NULL;
    ts_err err = recv_req(s, &tessera__metainfo__download_object_request__descriptor,
                          (ProtobufCMessage **)&req);
    if (err != TS_OK) {
        return err;
    }
    pthread_mutex_lock(&fs.mu);
    if (!fs.committed || req->encrypted_key.len != fs.key_len ||
        memcmp(req->encrypted_key.data, fs.key, fs.key_len) != 0) {
        pthread_mutex_unlock(&fs.mu);
        protobuf_c_message_free_unpacked(&req->base, NULL);
        return TS_ERR_NOT_FOUND;
    }
    /* Two segments per page, to exercise the uplink's paging. */
    Tessera__Metainfo__SegmentDownload *segs[2];
    Tessera__Metainfo__AddressedOrderLimit *limits[2][NODES];
    struct ts_buf bufs[2][NODES];
    uint8_t priv[2][64];
    Tessera__Metainfo__RedundancyScheme rs;
    redundancy(&rs);
    size_t count = 0;
    uint32_t at = (uint32_t)req->segment_cursor;
    while (count < 2 && at < SEGMENTS_MAX && fs.segs[at].used) {
        struct fake_segment *seg = &fs.segs[at++];
        seg->dl->redundancy = &rs;
        if (seg->dl->inline_data.len == 0) {
            make_limits(seg->root, TS_PIECE_ACTION_GET, seg->piece_size, seg->have, limits[count],
                        bufs[count], priv[count]);
            seg->dl->limits = limits[count];
            seg->dl->n_limits = NODES;
            seg->dl->piece_private_key.data = priv[count];
            seg->dl->piece_private_key.len = 64;
        }
        segs[count++] = seg->dl;
    }
    Tessera__Metainfo__DownloadObjectResponse resp =
        TESSERA__METAINFO__DOWNLOAD_OBJECT_RESPONSE__INIT;
    resp.object = &fs.obj;
    resp.segments = segs;
    resp.n_segments = count;
    resp.more = at < SEGMENTS_MAX && fs.segs[at].used;
    err = ts_rpc_stream_send(s, &resp.base);
    for (size_t i = 0; i < count; i++) {
        if (segs[i]->n_limits > 0) {
            limits_free(limits[i], bufs[i]);
            segs[i]->limits = NULL;
            segs[i]->n_limits = 0;
        }
        segs[i]->redundancy = NULL;
    }
    pthread_mutex_unlock(&fs.mu);
    protobuf_c_message_free_unpacked(&req->base, NULL);
    return err;
}

static ts_err fake_start(void)
{
    memset(&fs, 0, sizeof(fs));
    pthread_mutex_init(&fs.mu, NULL);
    tessera__metainfo__object__init(&fs.obj);
    struct ts_rpc_server_config cfg = {.identity = test_sat.identity, .host = "127.0.0.1"};
    ts_err err = ts_rpc_server_new(&cfg, &fs.srv);
    struct {
        const char *m;
        ts_rpc_handler h;
    } methods[] = {{"Batch", handle_batch},
                   {"BeginSegment", handle_begin_segment},
                   {"CommitSegment", handle_commit_segment},
                   {"CommitObject", handle_commit_object},
                   {"DownloadObject", handle_download_object}};
    for (size_t i = 0; i < TS_ARRAY_LEN(methods) && err == TS_OK; i++) {
        char path[128];
        snprintf(path, sizeof(path), "/tessera.metainfo.Metainfo/%s", methods[i].m);
        err = ts_rpc_server_register(fs.srv, path, methods[i].h, NULL);
    }
    if (err == TS_OK) {
        err = ts_rpc_server_start(fs.srv);
    }
    fs.url = test_sat.url;
    fs.url.port = ts_rpc_server_port(fs.srv);
    return err;
}

/* ---- Fixture ---- */

static char *grant_text;
char *flow_grant(const char *satellite_url);

static int group_setup(void **state)
{
    (void)state;
    snprintf(root_dir, sizeof(root_dir), "/tmp/ul_flow_XXXXXX");
    if (mkdtemp(root_dir) == NULL || nc_sat_start(&test_sat) != TS_OK) {
        return -1;
    }
    for (int i = 0; i < NODES; i++) {
        char dir[300];
        snprintf(dir, sizeof(dir), "%s/node%d", root_dir, i);
        if (nc_node_start(&nodes[i], node_exe, dir, &test_sat, NULL) != TS_OK) {
            return -1;
        }
    }
    if (fake_start() != TS_OK) {
        return -1;
    }
    /* A grant with a root key pointing at the fake metainfo service. */
    char url[TS_NODE_URL_MAX + 1];
    if (ts_node_url_format(&fs.url, url, sizeof(url)) != TS_OK) {
        return -1;
    }
    grant_text = flow_grant(url);
    return grant_text != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    ts_rpc_server_free(fs.srv);
    for (int i = 0; i < SEGMENTS_MAX; i++) {
        segment_free(&fs.segs[i]);
    }
    for (int i = 0; i < NODES; i++) {
        nc_node_stop(&nodes[i], SIGTERM);
    }
    nc_sat_stop(&test_sat);
    free(grant_text);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root_dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot remove %s\n", root_dir);
    }
    return 0;
}

static struct ul_project *open_project_streams(int streams)
{
    struct ul_access *a = NULL;
    struct ul_project *p = NULL;
    assert_int_equal(ul_access_parse(grant_text, &a), UL_OK);
    struct ul_config cfg = {.request_timeout_ms = 20000, .piece_streams_max = streams};
    assert_int_equal(ul_project_open(a, &cfg, &p), UL_OK);
    ul_access_free(a);
    return p;
}

static struct ul_project *open_project(void)
{
    return open_project_streams(0);
}

static uint8_t *pattern(size_t len, unsigned seed)
{
    uint8_t *d = malloc(len + 1);
    uint64_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        d[i] = (uint8_t)(x >> 56);
    }
    return d;
}

static ul_err upload(struct ul_project *p, const char *key, const uint8_t *data, size_t len,
                     size_t chunk)
{
    struct ul_metadata_entry meta[2] = {{"content-type", "application/x-test"}, {"k", ""}};
    struct ul_upload_options opts = {.metadata = meta, .metadata_count = 2};
    struct ul_upload *u = NULL;
    ul_err err = ul_upload_begin(p, "bucket1", key, &opts, &u);
    for (size_t off = 0; err == UL_OK && off < len; off += chunk) {
        err = ul_upload_write(u, data + off, len - off < chunk ? len - off : chunk);
    }
    if (err != UL_OK) {
        ul_upload_abort(u);
        return err;
    }
    struct ul_object_info info;
    err = ul_upload_commit(u, &info);
    if (err == UL_OK) {
        assert_string_equal(info.key, key);
        assert_int_equal(info.metadata_count, 2);
        ul_object_info_release(&info);
    }
    return err;
}

static void check_read(struct ul_project *p, const char *key, const uint8_t *data, size_t len,
                       uint64_t off, int64_t want)
{
    struct ul_download_options o = {.offset = off, .length = want};
    struct ul_download *d = NULL;
    ul_err err = ul_download_open(p, "bucket1", key, &o, &d);
    if (err != UL_OK) {
        fprintf(stderr, "download_open: %s: %s\n", ul_errname(err), ul_error_detail());
    }
    assert_int_equal(err, UL_OK);
    const struct ul_object_info *info = ul_download_info(d);
    assert_int_equal(info->size, len);
    assert_int_equal(info->metadata_count, 2);
    assert_string_equal(info->metadata[0].key, "content-type");
    assert_string_equal(info->metadata[0].value, "application/x-test");
    size_t expect = off >= len ? 0 : len - off;
    if (want >= 0 && (size_t)want < expect) {
        expect = (size_t)want;
    }
    uint8_t *out = malloc(expect + 1);
    size_t total = 0, got = 0;
    do {
        size_t cap = expect - total < 77777 ? expect - total : 77777;
        err = ul_download_read(d, out + total, cap ? cap : 1, &got);
        if (err != UL_OK) {
            fprintf(stderr, "read: %s: %s\n", ul_errname(err), ul_error_detail());
        }
        assert_int_equal(err, UL_OK);
        total += got;
    } while (got > 0 && total <= expect);
    assert_int_equal(total, expect);
    assert_memory_equal(out, data + (off < len ? off : len), expect);
    free(out);
    ul_download_close(d);
}

static void test_sizes_round_trip(void **state)
{
    (void)state;
    struct ul_project *p = open_project();
    static const size_t sizes[] = {0, 1, 4095, 4096, 7408 * 3 + 5, 1 << 20, 3 * (1 << 20) + 12345};
    for (size_t i = 0; i < TS_ARRAY_LEN(sizes); i++) {
        size_t len = sizes[i];
        uint8_t *data = pattern(len, (unsigned)i);
        ul_err err = upload(p, "dir/obj", data, len, 65536 + i);
        if (err != UL_OK) {
            fprintf(stderr, "size %zu: %s: %s\n", len, ul_errname(err), ul_error_detail());
        }
        assert_int_equal(err, UL_OK);
        check_read(p, "dir/obj", data, len, 0, -1);
        if (len > 10) {
            check_read(p, "dir/obj", data, len, len / 3, (int64_t)(len / 4 + 1));
            check_read(p, "dir/obj", data, len, len - 1, 100);
        }
        check_read(p, "dir/obj", data, len, len + 5, 10);
        free(data);
    }
    ul_project_close(p);
}

/* Flips one byte after the 512-byte header of every piece file node i holds. */
static int corrupt_node_pieces(int i)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "find '%s/node%d/storage' -type f -path '*blobs*' -size +1k",
             root_dir, i);
    FILE *f = popen(cmd, "r");
    int count = 0;
    char path[1024];
    while (f != NULL && fgets(path, sizeof(path), f) != NULL) {
        path[strcspn(path, "\n")] = '\0';
        FILE *b = fopen(path, "r+b");
        if (b == NULL) {
            continue;
        }
        int c = 0;
        if (fseek(b, 512 + 300, SEEK_SET) == 0 && (c = fgetc(b)) != EOF &&
            fseek(b, 512 + 300, SEEK_SET) == 0 && fputc(c ^ 0x5a, b) != EOF) {
            count++;
        }
        fclose(b);
    }
    if (f != NULL) {
        pclose(f);
    }
    return count;
}

static void test_corrupted_piece_does_not_corrupt_the_download(void **state)
{
    (void)state;
    struct ul_project *p = open_project();
    size_t len = 200000;
    uint8_t *data = pattern(len, 7);
    assert_int_equal(upload(p, "corrupt/me", data, len, len), UL_OK);
    /* Node 0 holds piece 0, a data piece: the decoder's first choice. */
    assert_true(corrupt_node_pieces(0) > 0);
    check_read(p, "corrupt/me", data, len, 0, -1);
    check_read(p, "corrupt/me", data, len, 1000, 5000);
    ul_project_close(p);
    /* One stream at a time: pieces 0..3 arrive first, the tail is canceled, the window fails
     * to authenticate, and the download must refetch with every piece to get past it. */
    p = open_project_streams(1);
    check_read(p, "corrupt/me", data, len, 0, -1);
    free(data);
    ul_project_close(p);
}

static void test_long_tail_and_not_enough_nodes(void **state)
{
    (void)state;
    struct ul_project *p = open_project();
    size_t len = 500000;
    uint8_t *data = pattern(len, 99);
    /* Two nodes down: 8 of 10 pieces still reach the success threshold. */
    nc_node_stop(&nodes[1], SIGKILL);
    nc_node_stop(&nodes[6], SIGKILL);
    int reported = fs.pieces_reported;
    ul_err err = upload(p, "tail", data, len, len);
    if (err != UL_OK) {
        fprintf(stderr, "%s: %s\n", ul_errname(err), ul_error_detail());
    }
    assert_int_equal(err, UL_OK);
    assert_true(fs.pieces_reported - reported >= O);
    check_read(p, "tail", data, len, 0, -1);
    /* A third node down: o = 8 is out of reach. */
    nc_node_stop(&nodes[8], SIGKILL);
    err = upload(p, "tail2", data, len, len);
    assert_int_equal(err, UL_ERR_NOT_ENOUGH_SHARES);
    assert_non_null(strstr(ul_error_detail(), "not enough storage nodes"));
    free(data);
    ul_project_close(p);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    node_exe = argc > 1 ? argv[1] : getenv("TS_NODE_EXE");
    if (node_exe == NULL) {
        fprintf(stderr, "usage: test_uplink_flow <path to tessera-node>\n");
        return 2;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes_round_trip),
        cmocka_unit_test(test_corrupted_piece_does_not_corrupt_the_download),
        cmocka_unit_test(test_long_tail_and_not_enough_nodes),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
