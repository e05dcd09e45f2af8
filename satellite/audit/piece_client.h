/*
 * The satellite's piecestore client, used by audits, reverification and repair (proto/
 * piecestore.proto, docs/node.md). The satellite signs the order limit itself and spends it with
 * orders signed by a piece key pair it made for the operation, exactly as an uplink would.
 *
 * Downloads report where they failed, which audits need: *dialed is false when no connection
 * could be made (the node is offline), true once the stream opened (a later TS_ERR_TIMEOUT means
 * the node answered the dial but not the request: containment). A whole-piece read also returns
 * the uplink-signed hash and the original order limit the node keeps in the piece header, and
 * sat_piece_verify checks all three links (reference §7.5).
 */
#ifndef SAT_AUDIT_PIECE_CLIENT_H
#define SAT_AUDIT_PIECE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "identity/identity.h"
#include "orders/orders.h"
#include "rpc/rpc.h"

/* What a whole-piece read returns besides the data. */
struct sat_piece_proof {
    bool present;                /* the node sent hash and limit */
    struct ts_piece_hash hash;   /* uplink-signed */
    struct ts_order_limit limit; /* the original (PUT or PUT_REPAIR) limit */
};

/* Fills url from a node ID and its "host:port" address. TS_ERR_MALFORMED for a bad address. */
TS_WARN_UNUSED ts_err sat_node_url_make(const uint8_t node_id[TS_NODE_ID_SIZE], const char *address,
                                        struct ts_node_url *url);

/* How an audit reads a transfer error: not dialed (or the connection dropped) = offline,
 * TS_ERR_NOT_FOUND = failure, TS_ERR_TIMEOUT after dialing = contained, else unknown. Returns an
 * enum sat_audit_outcome value (satellite/reputation/reputation.h). */
int sat_piece_outcome(ts_err err, bool dialed);

/* Downloads [offset, offset + size) of the piece limit authorises from url into out (size bytes),
 * signing orders with piece_private_key. proof (may be NULL) receives the stored hash and limit
 * when the node sends them. Errors: the node's verdict (TS_ERR_NOT_FOUND, ...), transport errors
 * (TS_ERR_TIMEOUT, TS_ERR_CONNECT, TS_ERR_CLOSED, ...), TS_ERR_PROTOCOL for out-of-range data. */
TS_WARN_UNUSED ts_err sat_piece_download(struct ts_rpc_pool *pool, const struct ts_node_url *url,
                                         const struct ts_order_limit *limit,
                                         const uint8_t piece_private_key[64], int64_t offset,
                                         int64_t size, uint8_t *out, struct sat_piece_proof *proof,
                                         bool *dialed);

/* Uploads data (size bytes) under limit (PUT_REPAIR), with orders and the final hash signed by
 * piece_private_key. receipt (may be NULL) gets the node-signed hash, which must match what was
 * sent (TS_ERR_HASH_MISMATCH otherwise). */
TS_WARN_UNUSED ts_err sat_piece_upload(struct ts_rpc_pool *pool, const struct ts_node_url *url,
                                       const struct ts_order_limit *limit,
                                       const uint8_t piece_private_key[64], const uint8_t *data,
                                       size_t size, struct ts_piece_hash *receipt);

/* Checks a whole piece: the original limit is signed by satellite and names node_id and
 * piece_id; the hash is signed by the limit's piece public key, names the same piece and size;
 * and SHA-256(data) equals it. TS_ERR_AUTH_FAILED or TS_ERR_HASH_MISMATCH (the node lied or lost
 * data), TS_ERR_PROTOCOL when the proof is missing. */
TS_WARN_UNUSED ts_err sat_piece_verify(const struct ts_peer_identity *satellite,
                                       const uint8_t node_id[TS_NODE_ID_SIZE],
                                       const uint8_t piece_id[TS_PIECE_ID_SIZE],
                                       const uint8_t *data, size_t size,
                                       const struct sat_piece_proof *proof);

#endif
