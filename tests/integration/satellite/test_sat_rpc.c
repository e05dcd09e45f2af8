/* Loopback test of the satellite's RPC surface: a real satellite peer (setup dir, SQLite, TLS
 * server on 127.0.0.1 port 0) in this process, 8 fake storage nodes (each an RPC server answering
 * PingNode), nodes checking in over mutual TLS (ping-back proven), an uplink client creating a
 * bucket, beginning an upload in one Batch, committing with node-signed receipts, downloading
 * limits and listing, a node settling its orders, and error codes crossing the wire. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/fs.h"
#include "contact.pb-c.h"
#include "encoding/encoding.h"
#include "identity/identity.h"
#include "metainfo.pb-c.h"
#include "orders/orders.h"
#include "rpc/rpc.h"
#include "satellite/apikeys/apikeys.h"
#include "satellite/contact/contact.h"
#include "satellite/db/satdb.h"
#include "satellite/metainfo/endpoint.h"
#include "satellite/orders/endpoint.h"
#include "satellite/peer.h"
#include "sat_test_harness.h"
#include "settlement.pb-c.h"

#define NODES 8
#define BIN(p, l) ((ProtobufCBinaryData){.len = (l), .data = (uint8_t *)(p)})

struct fx {
    char dir[64];
    struct sat_peer *sat;
    struct ts_node_url sat_url;
    struct ts_identity *node_ids[NODES];
    struct ts_rpc_server *node_srv[NODES];
    struct ts_rpc_pool *node_pool[NODES];
    struct ts_identity *uplink_id;
    struct ts_rpc_pool *uplink;
    char api_key[512];
    struct ts_buf raw_key;
};

static ts_err h_ping(struct ts_rpc_stream *s, void *ctx)
{
    (void)ctx;
    ProtobufCMessage *in = NULL;
    ts_err err = ts_rpc_stream_recv(s, &tessera__contact__ping_node_request__descriptor, &in);
    if (err != TS_OK) {
        return err;
    }
    protobuf_c_message_free_unpacked(in, NULL);
    Tessera__Contact__PingNodeResponse resp = TESSERA__CONTACT__PING_NODE_RESPONSE__INIT;
    return ts_rpc_stream_send(s, &resp.base);
}

static ts_err project_fn(struct ts_db_conn *c, void *ctx)
{
    return sat_db_project_insert(c, ctx);
}

/* Creates a project and a key through the admin path, before the server starts. */
static void make_key(struct fx *f)
{
    struct sat_config *cfg = calloc(1, sizeof *cfg);
    struct ts_db *db = NULL;
    assert_int_equal(sat_peer_open_db(f->dir, cfg, &db), TS_OK);
    struct sat_project p = {.created_at = 1};
    memset(p.id, 7, sizeof p.id);
    memset(p.salt, 9, sizeof p.salt);
    snprintf(p.name, sizeof p.name, "p");
    assert_int_equal(ts_db_tx(db, project_fn, &p), TS_OK);
    struct ts_buf text;
    ts_buf_init(&text, sizeof f->api_key - 1);
    assert_int_equal(sat_apikey_create(db, p.id, "k", &text), TS_OK);
    memcpy(f->api_key, text.data, text.len + 1);
    ts_buf_release(&text);
    ts_db_close(db);
    free(cfg);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/ts-test-satrpc.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(sat_peer_setup(f->dir, NULL, "127.0.0.1:0", 0, false), TS_OK);
    make_key(f);
    assert_int_equal(sat_peer_open(f->dir, &f->sat), TS_OK);
    assert_int_equal(sat_peer_start(f->sat), TS_OK);
    char path[128];
    struct ts_buf url;
    ts_buf_init(&url, 1024);
    snprintf(path, sizeof path, "%s/%s", f->dir, SAT_URL_FILE);
    assert_int_equal(ts_fs_read_all(path, 1024, &url), TS_OK);
    url.data[url.len - 1] = 0; /* newline */
    assert_int_equal(ts_node_url_parse((const char *)url.data, &f->sat_url), TS_OK);
    ts_buf_release(&url);
    for (int i = 0; i < NODES; i++) {
        assert_int_equal(ts_identity_create_ephemeral(&f->node_ids[i]), TS_OK);
        struct ts_rpc_server_config sc = {.identity = f->node_ids[i], .host = "127.0.0.1"};
        assert_int_equal(ts_rpc_server_new(&sc, &f->node_srv[i]), TS_OK);
        assert_int_equal(
            ts_rpc_server_register(f->node_srv[i], SAT_CONTACT_METHOD_PING, h_ping, NULL), TS_OK);
        assert_int_equal(ts_rpc_server_start(f->node_srv[i]), TS_OK);
        assert_int_equal(ts_rpc_pool_new(f->node_ids[i], NULL, &f->node_pool[i]), TS_OK);
    }
    assert_int_equal(ts_identity_create_ephemeral(&f->uplink_id), TS_OK);
    assert_int_equal(ts_rpc_pool_new(f->uplink_id, NULL, &f->uplink), TS_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    ts_rpc_pool_free(f->uplink);
    ts_identity_free(f->uplink_id);
    for (int i = 0; i < NODES; i++) {
        ts_rpc_pool_free(f->node_pool[i]);
        ts_rpc_server_free(f->node_srv[i]);
        ts_identity_free(f->node_ids[i]);
    }
    sat_peer_close(f->sat);
    ts_buf_release(&f->raw_key);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static ts_err checkin(struct fx *f, int i, uint16_t port, bool *ok)
{
    char address[64];
    snprintf(address, sizeof address, "127.0.0.1:%u", port);
    Tessera__Contact__CheckInRequest req = TESSERA__CONTACT__CHECK_IN_REQUEST__INIT;
    req.address = address;
    req.free_disk_bytes = 1ll << 40;
    req.version = "0.1.0";
    req.wallet = "0x0000000000000000000000000000000000000001";
    req.email = "op@example.com";
    ProtobufCMessage *resp = NULL;
    ts_err err = ts_rpc_call(f->node_pool[i], &f->sat_url, SAT_CONTACT_METHOD_CHECKIN, &req.base,
                             &tessera__contact__check_in_response__descriptor, &resp, NULL, 0);
    if (err == TS_OK) {
        *ok = ((Tessera__Contact__CheckInResponse *)resp)->ping_node_success;
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    return err;
}

static ts_err call(struct fx *f, const char *method, const ProtobufCMessage *req,
                   const ProtobufCMessageDescriptor *desc, ProtobufCMessage **resp)
{
    char msg[256];
    return ts_rpc_call(f->uplink, &f->sat_url, method, req, desc, resp, msg, sizeof msg);
}

static void test_checkin_ping_back(void **state)
{
    struct fx *f = *state;
    bool ok = false;
    assert_int_equal(checkin(f, 0, ts_rpc_server_port(f->node_srv[0]), &ok), TS_OK);
    assert_true(ok);
    /* Claiming another node's address: the TLS handshake finds the wrong ID, the ping fails. */
    assert_int_equal(checkin(f, 1, ts_rpc_server_port(f->node_srv[0]), &ok), TS_OK);
    assert_false(ok);
    /* Nobody listening there. */
    ts_rpc_server_stop(f->node_srv[2]);
    assert_int_equal(checkin(f, 2, ts_rpc_server_port(f->node_srv[2]), &ok), TS_OK);
    assert_false(ok);
    /* A garbage address is refused outright. */
    Tessera__Contact__CheckInRequest req = TESSERA__CONTACT__CHECK_IN_REQUEST__INIT;
    req.address = "no-port";
    ProtobufCMessage *resp = NULL;
    assert_int_equal(ts_rpc_call(f->node_pool[3], &f->sat_url, SAT_CONTACT_METHOD_CHECKIN,
                                 &req.base, &tessera__contact__check_in_response__descriptor, &resp,
                                 NULL, 0),
                     TS_ERR_INVALID_ARGUMENT);
}

/* Raw macaroon bytes of the API key text (base58check payload). */
static void raw_key(struct fx *f, Tessera__Metainfo__RequestHeader *h)
{
    uint8_t version = 0;
    if (f->raw_key.len == 0) {
        ts_buf_init(&f->raw_key, 4096);
        assert_int_equal(
            ts_base58check_decode(f->api_key, strlen(f->api_key), &version, &f->raw_key), TS_OK);
    }
    tessera__metainfo__request_header__init(h);
    h->api_key = BIN(f->raw_key.data, f->raw_key.len);
}

static void test_upload_over_rpc(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < NODES; i++) {
        bool ok = false;
        assert_int_equal(checkin(f, i, ts_rpc_server_port(f->node_srv[i]), &ok), TS_OK);
        assert_true(ok);
    }
    Tessera__Metainfo__RequestHeader h;
    raw_key(f, &h);
    Tessera__Metainfo__CreateBucketRequest cb = TESSERA__METAINFO__CREATE_BUCKET_REQUEST__INIT;
    cb.header = &h;
    cb.name = BIN("bkt", 3);
    ProtobufCMessage *resp = NULL;
    assert_int_equal(call(f, SAT_METAINFO_METHOD("CreateBucket"), &cb.base,
                          &tessera__metainfo__create_bucket_response__descriptor, &resp),
                     TS_OK);
    protobuf_c_message_free_unpacked(resp, NULL);
    assert_int_equal(call(f, SAT_METAINFO_METHOD("CreateBucket"), &cb.base,
                          &tessera__metainfo__create_bucket_response__descriptor, &resp),
                     TS_ERR_EXISTS);

    /* BeginObject + BeginSegment in one round trip. */
    struct sat_test_begin_batch begin;
    sat_test_begin_batch_init(&begin, &h, BIN("bkt", 3), BIN("enc/key", 7));
    Tessera__Metainfo__BatchRequest br = begin.req;
    ProtobufCMessage *bresp_msg = NULL;
    assert_int_equal(call(f, SAT_METAINFO_METHOD("Batch"), &br.base,
                          &tessera__metainfo__batch_response__descriptor, &bresp_msg),
                     TS_OK);
    Tessera__Metainfo__BatchResponse *bresp = (Tessera__Metainfo__BatchResponse *)bresp_msg;
    assert_int_equal(bresp->n_items, 2);
    Tessera__Metainfo__BeginSegmentResponse *seg = bresp->items[1]->begin_segment;
    assert_int_equal(seg->n_limits, NODES); /* 8 nodes online: n = 10 wanted, o = 8 enough */

    /* Each node's receipt for a 2000-byte encrypted segment: 2 stripes of 1 KiB -> 512 B. */
    int64_t enc_size = 2000, piece_size = ((enc_size + 4 + 1023) / 1024) * 256;
    Tessera__Metainfo__UploadResult res[NODES], *res_ptrs[NODES];
    struct ts_buf hashes[NODES];
    for (size_t i = 0; i < seg->n_limits; i++) {
        struct ts_order_limit l;
        assert_int_equal(
            ts_order_limit_decode(seg->limits[i]->limit.data, seg->limits[i]->limit.len, &l),
            TS_OK);
        int who = -1;
        for (int k = 0; k < NODES; k++) {
            if (ts_node_id_equal(ts_identity_id(f->node_ids[k]), &l.storage_node_id)) {
                who = k;
            }
        }
        assert_true(who >= 0);
        struct ts_piece_hash ph;
        memset(&ph, 0, sizeof ph);
        memcpy(ph.piece_id, l.piece_id, TS_PIECE_ID_SIZE);
        ph.piece_size = piece_size;
        ph.timestamp_s = ts_time_now_s();
        assert_int_equal(ts_piece_hash_sign_node(&ph, f->node_ids[who]), TS_OK);
        ts_buf_init(&hashes[i], 1024);
        assert_int_equal(ts_piece_hash_encode(&ph, &hashes[i]), TS_OK);
        tessera__metainfo__upload_result__init(&res[i]);
        res[i].piece_num = seg->limits[i]->piece_num;
        res[i].node_id = seg->limits[i]->node_id;
        res[i].hash = BIN(hashes[i].data, hashes[i].len);
        res_ptrs[i] = &res[i];
    }
    Tessera__Metainfo__CommitSegmentRequest cs = TESSERA__METAINFO__COMMIT_SEGMENT_REQUEST__INIT;
    uint8_t nonce[24] = {1}, key[48] = {2};
    cs.header = &h;
    cs.segment_id = seg->segment_id;
    cs.encrypted_key_nonce = BIN(nonce, sizeof nonce);
    cs.encrypted_key = BIN(key, sizeof key);
    cs.encrypted_size = enc_size;
    cs.plain_size = 1900;
    cs.results = res_ptrs;
    cs.n_results = seg->n_limits;
    Tessera__Metainfo__CommitObjectRequest co = TESSERA__METAINFO__COMMIT_OBJECT_REQUEST__INIT;
    co.stream_id = bresp->items[0]->begin_object->stream_id;
    Tessera__Metainfo__BatchRequestItem c1 = TESSERA__METAINFO__BATCH_REQUEST_ITEM__INIT;
    Tessera__Metainfo__BatchRequestItem c2 = TESSERA__METAINFO__BATCH_REQUEST_ITEM__INIT;
    c1.request_case = TESSERA__METAINFO__BATCH_REQUEST_ITEM__REQUEST_COMMIT_SEGMENT;
    c1.commit_segment = &cs;
    c2.request_case = TESSERA__METAINFO__BATCH_REQUEST_ITEM__REQUEST_COMMIT_OBJECT;
    c2.commit_object = &co;
    Tessera__Metainfo__BatchRequestItem *citems[2] = {&c1, &c2};
    br.items = citems;
    ProtobufCMessage *cresp = NULL;
    assert_int_equal(call(f, SAT_METAINFO_METHOD("Batch"), &br.base,
                          &tessera__metainfo__batch_response__descriptor, &cresp),
                     TS_OK);
    Tessera__Metainfo__BatchResponse *cr = (Tessera__Metainfo__BatchResponse *)cresp;
    assert_int_equal(cr->items[0]->commit_segment->pieces_kept, NODES);
    assert_int_equal(cr->items[1]->commit_object->object->total_plain_size, 1900);
    protobuf_c_message_free_unpacked(cresp, NULL);
    for (size_t i = 0; i < seg->n_limits; i++) {
        ts_buf_release(&hashes[i]);
    }
    protobuf_c_message_free_unpacked(bresp_msg, NULL);

    /* Download limits and listing over the wire. */
    Tessera__Metainfo__DownloadObjectRequest dr = TESSERA__METAINFO__DOWNLOAD_OBJECT_REQUEST__INIT;
    dr.header = &h;
    dr.bucket = BIN("bkt", 3);
    dr.encrypted_key = BIN("enc/key", 7);
    ProtobufCMessage *dresp = NULL;
    assert_int_equal(call(f, SAT_METAINFO_METHOD("DownloadObject"), &dr.base,
                          &tessera__metainfo__download_object_response__descriptor, &dresp),
                     TS_OK);
    Tessera__Metainfo__DownloadObjectResponse *d =
        (Tessera__Metainfo__DownloadObjectResponse *)dresp;
    assert_int_equal(d->n_segments, 1);
    assert_int_equal(d->segments[0]->n_limits, 5);

    /* The node holding the first GET limit settles it (500 of its 512 bytes served). */
    struct ts_order_limit gl;
    const Tessera__Metainfo__AddressedOrderLimit *al = d->segments[0]->limits[0];
    assert_int_equal(ts_order_limit_decode(al->limit.data, al->limit.len, &gl), TS_OK);
    int who = 0;
    for (int k = 0; k < NODES; k++) {
        if (ts_node_id_equal(ts_identity_id(f->node_ids[k]), &gl.storage_node_id)) {
            who = k;
        }
    }
    struct ts_order o;
    memset(&o, 0, sizeof o);
    memcpy(o.serial, gl.serial, TS_SERIAL_SIZE);
    o.amount = 500;
    assert_int_equal(ts_order_sign(&o, d->segments[0]->piece_private_key.data), TS_OK);
    struct ts_buf ob;
    ts_buf_init(&ob, 1024);
    assert_int_equal(ts_order_encode(&o, &ob), TS_OK);
    Tessera__Settlement__SettlementItem it = TESSERA__SETTLEMENT__SETTLEMENT_ITEM__INIT;
    it.limit = al->limit;
    it.order = BIN(ob.data, ob.len);
    Tessera__Settlement__SettlementItem *its[1] = {&it};
    Tessera__Settlement__SettlementRequest sr = TESSERA__SETTLEMENT__SETTLEMENT_REQUEST__INIT;
    sr.window_start = gl.order_creation_s - gl.order_creation_s % 3600;
    sr.items = its;
    sr.n_items = 1;
    ProtobufCMessage *sresp = NULL;
    assert_int_equal(ts_rpc_call(f->node_pool[who], &f->sat_url, SAT_ORDERS_METHOD_SETTLE, &sr.base,
                                 &tessera__settlement__settlement_response__descriptor, &sresp,
                                 NULL, 0),
                     TS_OK);
    assert_int_equal(((Tessera__Settlement__SettlementResponse *)sresp)->items_counted, 1);
    protobuf_c_message_free_unpacked(sresp, NULL);
    ts_buf_release(&ob);
    protobuf_c_message_free_unpacked(dresp, NULL);

    Tessera__Metainfo__ListObjectsRequest lr = TESSERA__METAINFO__LIST_OBJECTS_REQUEST__INIT;
    lr.header = &h;
    lr.bucket = BIN("bkt", 3);
    ProtobufCMessage *lresp = NULL;
    assert_int_equal(call(f, SAT_METAINFO_METHOD("ListObjects"), &lr.base,
                          &tessera__metainfo__list_objects_response__descriptor, &lresp),
                     TS_OK);
    Tessera__Metainfo__ListObjectsResponse *l = (Tessera__Metainfo__ListObjectsResponse *)lresp;
    assert_int_equal(l->n_items, 1);
    assert_true(l->items[0]->is_prefix);
    assert_memory_equal(l->items[0]->encrypted_key.data, "enc/", 4);
    protobuf_c_message_free_unpacked(lresp, NULL);

    /* A bad key's error code crosses the wire. */
    uint8_t junk[8] = {0};
    h.api_key = BIN(junk, sizeof junk);
    assert_int_equal(call(f, SAT_METAINFO_METHOD("ListObjects"), &lr.base,
                          &tessera__metainfo__list_objects_response__descriptor, &lresp),
                     TS_ERR_AUTH_FAILED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_checkin_ping_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upload_over_rpc, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
