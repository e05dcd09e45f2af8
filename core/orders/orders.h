/*
 * Orders (reference §7): the satellite-signed order limit that authorises one piece transfer on
 * one node, the uplink-signed cumulative orders that spend it, signed piece hashes (the uplink's
 * hash of a piece and the node's upload receipt), serial numbers and per-node piece IDs.
 *
 * Signing rule for every message here: serialize it (proto/orders.proto, protobuf-c, fields in
 * number order, zero values omitted) with its signature field empty, then sign those bytes:
 * ECDSA P-256 over SHA-256 (core/identity) for satellite and node signatures, ed25519 for uplink
 * signatures. Verification re-serializes the decoded fields, so unknown fields are not signed.
 * The C structs below are fixed-size (no allocation); decoding checks every size.
 */
#ifndef TS_ORDERS_ORDERS_H
#define TS_ORDERS_ORDERS_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"
#include "identity/identity.h"
#include "orders.pb-c.h"


#define TS_SERIAL_SIZE 16
#define TS_PIECE_ID_SIZE 32
#define TS_PIECE_HASH_SIZE 32 /* SHA-256 */
/* An ECDSA P-256 ASN.1 DER signature is at most 72 bytes; ed25519 is 64. */
#define TS_ORDER_SIGNATURE_MAX TS_SIGNATURE_MAX

/* Storage-node RPC methods (proto/piecestore.proto; the protocol is described in docs/node.md). */
#define TS_PIECESTORE_UPLOAD "/tessera.piecestore.Piecestore/Upload"
#define TS_PIECESTORE_DOWNLOAD "/tessera.piecestore.Piecestore/Download"
#define TS_PIECESTORE_DELETE "/tessera.piecestore.Piecestore/Delete"
#define TS_PIECESTORE_EXISTS "/tessera.piecestore.Piecestore/Exists"

enum ts_piece_action {
    TS_PIECE_ACTION_INVALID = 0,
    TS_PIECE_ACTION_PUT = 1,
    TS_PIECE_ACTION_GET = 2,
    TS_PIECE_ACTION_GET_AUDIT = 3,
    TS_PIECE_ACTION_GET_REPAIR = 4,
    TS_PIECE_ACTION_PUT_REPAIR = 5,
    TS_PIECE_ACTION_DELETE = 6,
};

enum ts_hash_algorithm { TS_HASH_SHA256 = 0 };

struct ts_order_limit {
    uint8_t serial[TS_SERIAL_SIZE]; /* 8-byte BE order_expiration_s || 8 random bytes */
    struct ts_node_id satellite_id;
    uint8_t uplink_public_key[32]; /* ed25519 piece public key */
    struct ts_node_id storage_node_id;
    uint8_t piece_id[TS_PIECE_ID_SIZE]; /* already derived for storage_node_id */
    int64_t limit_bytes;                /* >= 0 */
    enum ts_piece_action action;
    int64_t piece_expiration_s; /* 0: none */
    int64_t order_expiration_s;
    int64_t order_creation_s;
    uint8_t satellite_signature[TS_ORDER_SIGNATURE_MAX]; /* DER */
    size_t satellite_signature_len;                      /* 0: unsigned */
};

struct ts_order {
    uint8_t serial[TS_SERIAL_SIZE];
    int64_t amount; /* cumulative bytes authorised for this serial, >= 0 */
    uint8_t uplink_signature[64];
    size_t uplink_signature_len; /* 64 once signed */
};

struct ts_piece_hash {
    uint8_t piece_id[TS_PIECE_ID_SIZE];
    uint8_t hash[TS_PIECE_HASH_SIZE];
    int64_t piece_size; /* bytes of piece data */
    int64_t timestamp_s; /* = limit.order_creation_s */
    enum ts_hash_algorithm hash_algorithm;
    uint8_t signature[TS_ORDER_SIGNATURE_MAX]; /* ed25519 (uplink) or ECDSA DER (node) */
    size_t signature_len;
};

/* ---- Serial numbers and piece IDs ---- */

/* A fresh serial: order_expiration_s as 8 bytes big-endian, then 8 random bytes. */
TS_WARN_UNUSED ts_err ts_serial_new(int64_t order_expiration_s, uint8_t out[TS_SERIAL_SIZE]);
/* The expiration embedded in a serial. */
int64_t ts_serial_expiration_s(const uint8_t serial[TS_SERIAL_SIZE]);

/* Piece ID of piece piece_num on node node_id (reference §7.2):
 * HMAC-SHA512(key = root_piece_id, node_id || uint32_be(piece_num))[:32]. */
TS_WARN_UNUSED ts_err ts_piece_id_derive(const uint8_t root_piece_id[TS_PIECE_ID_SIZE],
                                         const struct ts_node_id *node_id, uint32_t piece_num,
                                         uint8_t out[TS_PIECE_ID_SIZE]);

/* ---- Protobuf conversion (no allocation) ----
 * _to_proto fills pb with pointers into the C struct, which must outlive pb.
 * _from_proto copies and checks: TS_ERR_MALFORMED for a field of the wrong size, a negative size
 * or amount, or an unknown action/algorithm. */
void ts_order_limit_to_proto(const struct ts_order_limit *l, Tessera__Orders__OrderLimit *pb);
TS_WARN_UNUSED ts_err ts_order_limit_from_proto(const Tessera__Orders__OrderLimit *pb,
                                                struct ts_order_limit *out);
void ts_order_to_proto(const struct ts_order *o, Tessera__Orders__Order *pb);
TS_WARN_UNUSED ts_err ts_order_from_proto(const Tessera__Orders__Order *pb, struct ts_order *out);
void ts_piece_hash_to_proto(const struct ts_piece_hash *h, Tessera__Orders__PieceHash *pb);
TS_WARN_UNUSED ts_err ts_piece_hash_from_proto(const Tessera__Orders__PieceHash *pb,
                                               struct ts_piece_hash *out);

/* ---- Wire bytes ----
 * _encode appends the serialization (signature included) to out. _decode parses at most
 * TS_ORDER_LIMIT_ENCODED_MAX bytes (TS_ERR_TOO_LARGE past it), TS_ERR_MALFORMED otherwise. */
TS_WARN_UNUSED ts_err ts_order_limit_encode(const struct ts_order_limit *l, struct ts_buf *out);
TS_WARN_UNUSED ts_err ts_order_limit_decode(const uint8_t *data, size_t len,
                                            struct ts_order_limit *out);
TS_WARN_UNUSED ts_err ts_order_encode(const struct ts_order *o, struct ts_buf *out);
TS_WARN_UNUSED ts_err ts_order_decode(const uint8_t *data, size_t len, struct ts_order *out);
TS_WARN_UNUSED ts_err ts_piece_hash_encode(const struct ts_piece_hash *h, struct ts_buf *out);
TS_WARN_UNUSED ts_err ts_piece_hash_decode(const uint8_t *data, size_t len,
                                           struct ts_piece_hash *out);

/* ---- Signing and verification ----
 * _sign fills the signature field; _verify returns TS_OK or TS_ERR_AUTH_FAILED (also for an
 * empty or malformed signature). ECDSA signatures are made with a ts_identity
 * (its leaf key) and checked against the signer's ts_peer_identity (leaf public key). */
TS_WARN_UNUSED ts_err ts_order_limit_sign(struct ts_order_limit *l,
                                          const struct ts_identity *satellite);
TS_WARN_UNUSED ts_err ts_order_limit_verify(const struct ts_order_limit *l,
                                            const struct ts_peer_identity *satellite);
TS_WARN_UNUSED ts_err ts_order_sign(struct ts_order *o, const uint8_t piece_private_key[64]);
TS_WARN_UNUSED ts_err ts_order_verify(const struct ts_order *o,
                                      const uint8_t piece_public_key[32]);
TS_WARN_UNUSED ts_err ts_piece_hash_sign_uplink(struct ts_piece_hash *h,
                                                const uint8_t piece_private_key[64]);
TS_WARN_UNUSED ts_err ts_piece_hash_verify_uplink(const struct ts_piece_hash *h,
                                                  const uint8_t piece_public_key[32]);
TS_WARN_UNUSED ts_err ts_piece_hash_sign_node(struct ts_piece_hash *h,
                                              const struct ts_identity *node);
TS_WARN_UNUSED ts_err ts_piece_hash_verify_node(const struct ts_piece_hash *h,
                                                const struct ts_peer_identity *node);

/* ---- Checks shared by nodes (transfers) and satellites (settlement) ---- */

/* Time rules: TS_ERR_EXPIRED when now_s >= order_expiration_s (or the serial's expiration
 * differs from order_expiration_s: TS_ERR_MALFORMED), TS_ERR_EXPIRED when order_creation_s is
 * more than grace_s in the past, TS_ERR_NOT_YET_VALID when more than grace_s in the future. */
TS_WARN_UNUSED ts_err ts_order_limit_check_time(const struct ts_order_limit *l, int64_t now_s,
                                                int64_t grace_s);

/* One order spending limit l, the previous accepted amount being prev_amount (0 at first):
 * TS_ERR_MALFORMED when the serial differs, TS_ERR_PROTOCOL when the amount decreases,
 * TS_ERR_LIMIT_EXCEEDED above l->limit_bytes, TS_ERR_AUTH_FAILED for a bad uplink signature. */
TS_WARN_UNUSED ts_err ts_order_check(const struct ts_order_limit *l, const struct ts_order *o,
                                     int64_t prev_amount);

/* Names for logs ("PUT"); "INVALID" for anything unknown. */
const char *ts_piece_action_name(enum ts_piece_action action);

#endif
