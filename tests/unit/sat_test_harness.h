/* Shared fixture for the in-process metainfo tests (test_sat_metainfo.c,
 * test_sat_metainfo_objects.c): a SQLite satellite database in a temp dir, a satellite identity,
 * checked-in nodes with real identities, one project with a root API key, and helpers that drive
 * an upload through the metainfo service with node-signed receipts (optionally forged).
 * sat_test_begin_batch_init builds the BeginObject + BeginSegment batch request and is also used
 * by the loopback RPC test. Every helper fails the running cmocka test on unexpected errors. */
#ifndef SAT_TEST_HARNESS_H
#define SAT_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "identity/identity.h"
#include "orders/orders.h"
#include "satellite/db/satdb.h"
#include "satellite/metainfo/internal.h"
#include "satellite/metainfo/metainfo.h"

/* Most nodes one fixture checks in: 10 per segment plus 4 spares for piece retries. */
#define SAT_TEST_NODES_MAX 14

struct sat_test_fx {
    char dir[64];
    struct sat_config cfg;
    struct ts_db *db;
    struct ts_identity *sat;
    struct ts_identity *nodes[SAT_TEST_NODES_MAX];
    int n_nodes; /* nodes[0..n_nodes) are created and checked in */
    struct sat_overlay *ov;
    struct sat_metainfo m;
    uint8_t project[SAT_ID_SIZE];
    uint8_t *key; /* raw root API key */
    size_t key_len;
    Tessera__Metainfo__RequestHeader header;
    struct sat_arena a;
};

/* ---- Lifecycle (cmocka group/test setup and teardown) ---- */

/* Creates the fixture with n_nodes (1..SAT_TEST_NODES_MAX) checked-in nodes into *state. */
int sat_test_fx_setup(void **state, int n_nodes);
/* Frees the fixture in *state and removes its temp dir. */
int sat_test_fx_teardown(void **state);

/* ---- Requests ---- */

/* s as protobuf bytes (borrowed, no terminating NUL). */
ProtobufCBinaryData sat_test_bytes(const char *s);
ts_err sat_test_create_bucket(struct sat_test_fx *f, Tessera__Metainfo__RequestHeader *h,
                              const char *name);

/* The pieces of a BeginObject + BeginSegment batch; its pointers point into the struct itself, so
 * it must stay in place while req (which may be copied) is in use. */
struct sat_test_begin_batch {
    Tessera__Metainfo__EncryptionParameters enc;
    Tessera__Metainfo__BeginObjectRequest bo;
    Tessera__Metainfo__SegmentPosition pos;
    Tessera__Metainfo__BeginSegmentRequest bs;
    Tessera__Metainfo__BatchRequestItem i1, i2;
    Tessera__Metainfo__BatchRequestItem *items[2];
    Tessera__Metainfo__BatchRequest req;
};

/* Fills b with a two-item batch beginning object key (borrowed) in bucket (borrowed). */
void sat_test_begin_batch_init(struct sat_test_begin_batch *b, Tessera__Metainfo__RequestHeader *h,
                               ProtobufCBinaryData bucket, ProtobufCBinaryData key);

/* ---- Upload flow ---- */

struct sat_test_upload {
    Tessera__Metainfo__BeginObjectResponse *bo;
    Tessera__Metainfo__BeginSegmentResponse *bs;
};

enum sat_test_forge {
    SAT_TEST_FORGE_NONE,
    SAT_TEST_FORGE_SIGNER,
    SAT_TEST_FORGE_PIECE_ID,
    SAT_TEST_FORGE_SIZE
};

ts_err sat_test_begin_upload(struct sat_test_fx *f, Tessera__Metainfo__RequestHeader *h,
                             const char *bucket, const char *key, struct sat_test_upload *u);
/* Index in f->nodes of the node limit l is for; fails the test if none. */
int sat_test_node_index(struct sat_test_fx *f, const struct ts_order_limit *l);
/* The receipt the node of limit al would return for a piece of piece_size bytes (in f->a). */
ProtobufCBinaryData sat_test_receipt(struct sat_test_fx *f,
                                     const Tessera__Metainfo__AddressedOrderLimit *al,
                                     int64_t piece_size, enum sat_test_forge forge);
/* Commits the segment of u with receipts from the first `good` limits plus `bad` forged ones. */
ts_err sat_test_commit_segment(struct sat_test_fx *f, Tessera__Metainfo__RequestHeader *h,
                               struct sat_test_upload *u, int good, int bad,
                               enum sat_test_forge forge, int64_t enc_size);
/* Commits the object of u; *out (may be NULL) gets the committed object (in f->a). */
ts_err sat_test_commit_object(struct sat_test_fx *f, Tessera__Metainfo__RequestHeader *h,
                              struct sat_test_upload *u, Tessera__Metainfo__Object **out);
/* One-segment object (8 good receipts, 5000 bytes) under f->header; asserts success. */
void sat_test_upload_object(struct sat_test_fx *f, const char *bucket, const char *key);

#endif
