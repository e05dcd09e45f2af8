#include <string.h>

#include "base/base.h"
#include "crypto/ed25519.h"
#include "crypto/hash.h"
#include "identity/identity.h"
#include "orders/orders.h"

/* ---- Serial numbers and piece IDs ---- */

ts_err ts_serial_new(int64_t order_expiration_s, uint8_t out[TS_SERIAL_SIZE])
{
    ts_be64_put(out, (uint64_t)order_expiration_s);
    return ts_random_bytes(out + 8, TS_SERIAL_SIZE - 8);
}

int64_t ts_serial_expiration_s(const uint8_t serial[TS_SERIAL_SIZE])
{
    return (int64_t)ts_be64_get(serial);
}

ts_err ts_piece_id_derive(const uint8_t root_piece_id[TS_PIECE_ID_SIZE], const struct ts_node_id *node_id,
                          uint32_t piece_num, uint8_t out[TS_PIECE_ID_SIZE])
{
    uint8_t msg[32 + 4];
    uint8_t mac[TS_SHA512_SIZE];
    memcpy(msg, node_id->bytes, 32);
    ts_be32_put(msg + 32, piece_num);
    ts_err err = ts_hmac_sha512(root_piece_id, TS_PIECE_ID_SIZE, msg, sizeof msg, mac);
    if (err == TS_OK) {
        memcpy(out, mac, TS_PIECE_ID_SIZE);
    }
    ts_wipe(mac, sizeof mac);
    return err;
}

/* ---- Protobuf conversion ---- */

static ProtobufCBinaryData bin(const uint8_t *p, size_t len)
{
    ProtobufCBinaryData b = {.len = len, .data = len > 0 ? (uint8_t *)p : NULL};
    return b;
}

/* Copies a bytes field that must be exactly len bytes long. */
static ts_err copy_exact(ProtobufCBinaryData b, uint8_t *out, size_t len)
{
    if (b.len != len) {
        return TS_ERR_MALFORMED;
    }
    memcpy(out, b.data, len);
    return TS_OK;
}

static ts_err copy_signature(ProtobufCBinaryData b, uint8_t *out, size_t *out_len, size_t max)
{
    if (b.len > max) {
        return TS_ERR_MALFORMED;
    }
    if (b.len > 0) {
        memcpy(out, b.data, b.len);
    }
    *out_len = b.len;
    return TS_OK;
}

void ts_order_limit_to_proto(const struct ts_order_limit *l, Tessera__Orders__OrderLimit *pb)
{
    tessera__orders__order_limit__init(pb);
    pb->serial_number = bin(l->serial, TS_SERIAL_SIZE);
    pb->satellite_id = bin(l->satellite_id.bytes, 32);
    pb->storage_node_id = bin(l->storage_node_id.bytes, 32);
    pb->piece_id = bin(l->piece_id, TS_PIECE_ID_SIZE);
    pb->limit = l->limit_bytes;
    pb->action = (Tessera__Orders__PieceAction)l->action;
    pb->piece_expiration = l->piece_expiration_s;
    pb->order_expiration = l->order_expiration_s;
    pb->satellite_signature = bin(l->satellite_signature, l->satellite_signature_len);
    pb->order_creation = l->order_creation_s;
    pb->uplink_public_key = bin(l->uplink_public_key, 32);
}

ts_err ts_order_limit_from_proto(const Tessera__Orders__OrderLimit *pb, struct ts_order_limit *out)
{
    struct ts_order_limit l;
    memset(&l, 0, sizeof l);
    if (pb == NULL || pb->limit < 0 || (int)pb->action <= 0 || (int)pb->action > (int)TS_PIECE_ACTION_DELETE) {
        return TS_ERR_MALFORMED;
    }
    ts_err err = copy_exact(pb->serial_number, l.serial, TS_SERIAL_SIZE);
    if (err == TS_OK) {
        err = copy_exact(pb->satellite_id, l.satellite_id.bytes, 32);
    }
    if (err == TS_OK) {
        err = copy_exact(pb->storage_node_id, l.storage_node_id.bytes, 32);
    }
    if (err == TS_OK) {
        err = copy_exact(pb->piece_id, l.piece_id, TS_PIECE_ID_SIZE);
    }
    if (err == TS_OK) {
        err = copy_exact(pb->uplink_public_key, l.uplink_public_key, 32);
    }
    if (err == TS_OK) {
        err = copy_signature(pb->satellite_signature, l.satellite_signature,
                             &l.satellite_signature_len, TS_ORDER_SIGNATURE_MAX);
    }
    if (err != TS_OK) {
        return err;
    }
    l.limit_bytes = pb->limit;
    l.action = (enum ts_piece_action)pb->action;
    l.piece_expiration_s = pb->piece_expiration;
    l.order_expiration_s = pb->order_expiration;
    l.order_creation_s = pb->order_creation;
    *out = l;
    return TS_OK;
}

void ts_order_to_proto(const struct ts_order *o, Tessera__Orders__Order *pb)
{
    tessera__orders__order__init(pb);
    pb->serial_number = bin(o->serial, TS_SERIAL_SIZE);
    pb->amount = o->amount;
    pb->uplink_signature = bin(o->uplink_signature, o->uplink_signature_len);
}

ts_err ts_order_from_proto(const Tessera__Orders__Order *pb, struct ts_order *out)
{
    struct ts_order o;
    memset(&o, 0, sizeof o);
    if (pb == NULL || pb->amount < 0) {
        return TS_ERR_MALFORMED;
    }
    ts_err err = copy_exact(pb->serial_number, o.serial, TS_SERIAL_SIZE);
    if (err == TS_OK) {
        err = copy_signature(pb->uplink_signature, o.uplink_signature, &o.uplink_signature_len,
                             TS_ED25519_SIGNATURE_SIZE);
    }
    if (err != TS_OK) {
        return err;
    }
    o.amount = pb->amount;
    *out = o;
    return TS_OK;
}

void ts_piece_hash_to_proto(const struct ts_piece_hash *h, Tessera__Orders__PieceHash *pb)
{
    tessera__orders__piece_hash__init(pb);
    pb->piece_id = bin(h->piece_id, TS_PIECE_ID_SIZE);
    pb->hash = bin(h->hash, TS_PIECE_HASH_SIZE);
    pb->signature = bin(h->signature, h->signature_len);
    pb->piece_size = h->piece_size;
    pb->timestamp = h->timestamp_s;
    pb->hash_algorithm = (Tessera__Orders__HashAlgorithm)h->hash_algorithm;
}

ts_err ts_piece_hash_from_proto(const Tessera__Orders__PieceHash *pb, struct ts_piece_hash *out)
{
    struct ts_piece_hash h;
    memset(&h, 0, sizeof h);
    if (pb == NULL || pb->piece_size < 0 || (int)pb->hash_algorithm != (int)TS_HASH_SHA256) {
        return TS_ERR_MALFORMED;
    }
    ts_err err = copy_exact(pb->piece_id, h.piece_id, TS_PIECE_ID_SIZE);
    if (err == TS_OK) {
        err = copy_exact(pb->hash, h.hash, TS_PIECE_HASH_SIZE);
    }
    if (err == TS_OK) {
        err = copy_signature(pb->signature, h.signature, &h.signature_len,
                             TS_ORDER_SIGNATURE_MAX);
    }
    if (err != TS_OK) {
        return err;
    }
    h.piece_size = pb->piece_size;
    h.timestamp_s = pb->timestamp;
    h.hash_algorithm = TS_HASH_SHA256;
    *out = h;
    return TS_OK;
}

/* ---- Wire bytes ---- */

static ts_err pack_append(const ProtobufCMessage *m, struct ts_buf *out)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    if (n > TS_ORDER_LIMIT_ENCODED_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    ts_err err = ts_buf_reserve(out, n);
    if (err != TS_OK) {
        return err;
    }
    size_t packed = protobuf_c_message_pack(m, out->data + out->len);
    TS_ASSERT(packed == n);
    out->len += n;
    out->data[out->len] = 0;
    return TS_OK;
}

/* Unpacks one message of type d from at most TS_ORDER_LIMIT_ENCODED_MAX bytes; the caller frees
 * *out with protobuf_c_message_free_unpacked. */
static ts_err unpack_bounded(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t len,
                             ProtobufCMessage **out)
{
    if (len > TS_ORDER_LIMIT_ENCODED_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    *out = protobuf_c_message_unpack(d, NULL, len, data);
    return *out == NULL ? TS_ERR_MALFORMED : TS_OK;
}

ts_err ts_order_limit_encode(const struct ts_order_limit *l, struct ts_buf *out)
{
    Tessera__Orders__OrderLimit pb;
    ts_order_limit_to_proto(l, &pb);
    return pack_append(&pb.base, out);
}

ts_err ts_order_limit_decode(const uint8_t *data, size_t len, struct ts_order_limit *out)
{
    ProtobufCMessage *pb = NULL;
    ts_err err = unpack_bounded(&tessera__orders__order_limit__descriptor, data, len, &pb);
    if (err == TS_OK) {
        err = ts_order_limit_from_proto((const Tessera__Orders__OrderLimit *)pb, out);
        protobuf_c_message_free_unpacked(pb, NULL);
    }
    return err;
}

ts_err ts_order_encode(const struct ts_order *o, struct ts_buf *out)
{
    Tessera__Orders__Order pb;
    ts_order_to_proto(o, &pb);
    return pack_append(&pb.base, out);
}

ts_err ts_order_decode(const uint8_t *data, size_t len, struct ts_order *out)
{
    ProtobufCMessage *pb = NULL;
    ts_err err = unpack_bounded(&tessera__orders__order__descriptor, data, len, &pb);
    if (err == TS_OK) {
        err = ts_order_from_proto((const Tessera__Orders__Order *)pb, out);
        protobuf_c_message_free_unpacked(pb, NULL);
    }
    return err;
}

ts_err ts_piece_hash_encode(const struct ts_piece_hash *h, struct ts_buf *out)
{
    Tessera__Orders__PieceHash pb;
    ts_piece_hash_to_proto(h, &pb);
    return pack_append(&pb.base, out);
}

ts_err ts_piece_hash_decode(const uint8_t *data, size_t len, struct ts_piece_hash *out)
{
    ProtobufCMessage *pb = NULL;
    ts_err err = unpack_bounded(&tessera__orders__piece_hash__descriptor, data, len, &pb);
    if (err == TS_OK) {
        err = ts_piece_hash_from_proto((const Tessera__Orders__PieceHash *)pb, out);
        protobuf_c_message_free_unpacked(pb, NULL);
    }
    return err;
}

/* ---- Signing bytes: the message serialized with its signature field empty ---- */

struct signing_bytes {
    uint8_t data[TS_ORDER_LIMIT_ENCODED_MAX];
    size_t len;
};

static void pack_fixed(const ProtobufCMessage *m, struct signing_bytes *out)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    /* Every field is fixed-size once converted, so this is a programmer error. */
    TS_ASSERT(n <= sizeof out->data);
    out->len = protobuf_c_message_pack(m, out->data);
}

static void limit_signing_bytes(const struct ts_order_limit *l, struct signing_bytes *out)
{
    Tessera__Orders__OrderLimit pb;
    ts_order_limit_to_proto(l, &pb);
    pb.satellite_signature = bin(NULL, 0);
    pack_fixed(&pb.base, out);
}

static void order_signing_bytes(const struct ts_order *o, struct signing_bytes *out)
{
    Tessera__Orders__Order pb;
    ts_order_to_proto(o, &pb);
    pb.uplink_signature = bin(NULL, 0);
    pack_fixed(&pb.base, out);
}

static void hash_signing_bytes(const struct ts_piece_hash *h, struct signing_bytes *out)
{
    Tessera__Orders__PieceHash pb;
    ts_piece_hash_to_proto(h, &pb);
    pb.signature = bin(NULL, 0);
    pack_fixed(&pb.base, out);
}

/* ---- ECDSA via core/identity ---- */

static ts_err ecdsa_sign(const struct ts_identity *id, const struct signing_bytes *m, uint8_t *sig,
                         size_t *sig_len)
{
    size_t len = 0;
    ts_err err = ts_identity_sign(id, m->data, m->len, sig, &len);
    *sig_len = err == TS_OK ? len : 0;
    return err;
}

static ts_err ecdsa_verify(const struct ts_peer_identity *key, const struct signing_bytes *m,
                           const uint8_t *sig, size_t sig_len)
{
    if (key == NULL || sig_len == 0) {
        return TS_ERR_AUTH_FAILED;
    }
    ts_err err = ts_peer_identity_verify(key, m->data, m->len, sig, sig_len);
    return err == TS_OK ? TS_OK : TS_ERR_AUTH_FAILED;
}

ts_err ts_order_limit_sign(struct ts_order_limit *l, const struct ts_identity *satellite)
{
    struct signing_bytes m;
    limit_signing_bytes(l, &m);
    return ecdsa_sign(satellite, &m, l->satellite_signature, &l->satellite_signature_len);
}

ts_err ts_order_limit_verify(const struct ts_order_limit *l,
                             const struct ts_peer_identity *satellite)
{
    struct signing_bytes m;
    limit_signing_bytes(l, &m);
    return ecdsa_verify(satellite, &m, l->satellite_signature, l->satellite_signature_len);
}

ts_err ts_piece_hash_sign_node(struct ts_piece_hash *h, const struct ts_identity *node)
{
    struct signing_bytes m;
    hash_signing_bytes(h, &m);
    return ecdsa_sign(node, &m, h->signature, &h->signature_len);
}

ts_err ts_piece_hash_verify_node(const struct ts_piece_hash *h, const struct ts_peer_identity *node)
{
    struct signing_bytes m;
    hash_signing_bytes(h, &m);
    return ecdsa_verify(node, &m, h->signature, h->signature_len);
}

/* ---- ed25519 (uplink piece key) ---- */

ts_err ts_order_sign(struct ts_order *o, const uint8_t piece_private_key[64])
{
    struct signing_bytes m;
    order_signing_bytes(o, &m);
    ts_err err = ts_ed25519_sign(piece_private_key, m.data, m.len, o->uplink_signature);
    o->uplink_signature_len = err == TS_OK ? TS_ED25519_SIGNATURE_SIZE : 0;
    return err;
}

ts_err ts_order_verify(const struct ts_order *o, const uint8_t piece_public_key[32])
{
    if (o->uplink_signature_len != TS_ED25519_SIGNATURE_SIZE) {
        return TS_ERR_AUTH_FAILED;
    }
    struct signing_bytes m;
    order_signing_bytes(o, &m);
    return ts_ed25519_verify(piece_public_key, m.data, m.len, o->uplink_signature);
}

ts_err ts_piece_hash_sign_uplink(struct ts_piece_hash *h, const uint8_t piece_private_key[64])
{
    struct signing_bytes m;
    hash_signing_bytes(h, &m);
    ts_err err = ts_ed25519_sign(piece_private_key, m.data, m.len, h->signature);
    h->signature_len = err == TS_OK ? TS_ED25519_SIGNATURE_SIZE : 0;
    return err;
}

ts_err ts_piece_hash_verify_uplink(const struct ts_piece_hash *h,
                                   const uint8_t piece_public_key[32])
{
    if (h->signature_len != TS_ED25519_SIGNATURE_SIZE) {
        return TS_ERR_AUTH_FAILED;
    }
    struct signing_bytes m;
    hash_signing_bytes(h, &m);
    return ts_ed25519_verify(piece_public_key, m.data, m.len, h->signature);
}

/* ---- Checks ---- */

ts_err ts_order_limit_check_time(const struct ts_order_limit *l, int64_t now_s, int64_t grace_s)
{
    if (ts_serial_expiration_s(l->serial) != l->order_expiration_s) {
        return TS_ERR_MALFORMED;
    }
    if (now_s >= l->order_expiration_s) {
        return TS_ERR_EXPIRED;
    }
    if (l->order_creation_s < now_s - grace_s) {
        return TS_ERR_EXPIRED;
    }
    if (l->order_creation_s > now_s + grace_s) {
        return TS_ERR_NOT_YET_VALID;
    }
    if (l->piece_expiration_s != 0 && l->piece_expiration_s <= now_s &&
        (l->action == TS_PIECE_ACTION_PUT || l->action == TS_PIECE_ACTION_PUT_REPAIR)) {
        return TS_ERR_EXPIRED;
    }
    return TS_OK;
}

ts_err ts_order_check(const struct ts_order_limit *l, const struct ts_order *o, int64_t prev_amount)
{
    if (!ts_ct_equal(l->serial, o->serial, TS_SERIAL_SIZE)) {
        return TS_ERR_MALFORMED;
    }
    if (o->amount < prev_amount) {
        return TS_ERR_PROTOCOL;
    }
    if (o->amount > l->limit_bytes) {
        return TS_ERR_LIMIT_EXCEEDED;
    }
    return ts_order_verify(o, l->uplink_public_key) == TS_OK ? TS_OK : TS_ERR_AUTH_FAILED;
}

const char *ts_piece_action_name(enum ts_piece_action action)
{
    static const char *const names[] = {"INVALID", "PUT",        "GET",       "GET_AUDIT",
                                        "GET_REPAIR", "PUT_REPAIR", "DELETE"};
    if ((unsigned)action >= TS_ARRAY_LEN(names)) {
        return names[0];
    }
    return names[action];
}
