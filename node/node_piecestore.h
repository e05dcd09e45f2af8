/*
 * The piecestore: what a storage node does with order limits, orders and piece data
 * (reference §7, §9.5, §10.3-10.4), independent of the transport so that every rule can be
 * tested without sockets. node_piecestore_register() wires it to core/rpc as the service
 * "/tessera.piecestore.Piecestore/{Upload,Download,Delete,Exists}" (protocol in
 * proto/piecestore.proto and docs/node.md).
 *
 * Every refusal returns a specific code and writes a one-line explanation into msg
 * (NODE_MSG_SIZE bytes), which the endpoint sends to the client. A failed upload stores nothing.
 * Order limit rules (all transfers): action allowed for the call, addressed to this node
 * (TS_ERR_WRONG_NODE), from a trusted satellite (TS_ERR_UNTRUSTED), not expired and created
 * within TS_ORDER_GRACE_S of now (TS_ERR_EXPIRED / TS_ERR_NOT_YET_VALID), signed by that
 * satellite (TS_ERR_AUTH_FAILED), serial never seen before (TS_ERR_REPLAYED).
 */
#ifndef NODE_PIECESTORE_H
#define NODE_PIECESTORE_H

#include <stddef.h>
#include <stdint.h>

#include "node.h"
#include "orders/orders.h"

#define NODE_MSG_SIZE 256

struct ts_rpc_server;
struct node_upload;
struct node_download;

/* Checks limit for one of the allowed actions (a bitmask of 1 << action) and records its serial. */
TS_WARN_UNUSED ts_err node_limit_verify(struct node *n, const struct ts_order_limit *limit,
                                        unsigned actions_allowed, char *msg);

/* ---- Upload ----
 * _begin verifies the limit (PUT, PUT_REPAIR), refuses an existing piece (TS_ERR_EXISTS) and
 * reserves the limit's bytes (TS_ERR_NO_SPACE). _order accepts an uplink-signed order (same
 * serial, non-decreasing, <= limit, valid signature). _chunk accepts data at offset == bytes so far
 * and only up to the ordered amount (TS_ERR_LIMIT_EXCEEDED). _finish checks the uplink-signed
 * PieceHash (signature, piece ID, size, TS_ERR_HASH_MISMATCH), commits the piece durably, records
 * the order for settlement and fills receipt (node-signed). _free aborts an unfinished upload
 * (nothing stays on disk). */
TS_WARN_UNUSED ts_err node_upload_begin(struct node *n, const struct ts_order_limit *limit,
                                        struct node_upload **out, char *msg);
TS_WARN_UNUSED ts_err node_upload_order(struct node_upload *u, const struct ts_order *order,
                                        char *msg);
TS_WARN_UNUSED ts_err node_upload_chunk(struct node_upload *u, int64_t offset, const void *data,
                                        size_t len, char *msg);
TS_WARN_UNUSED ts_err node_upload_finish(struct node_upload *u,
                                         const struct ts_piece_hash *uplink_hash,
                                         struct ts_piece_hash *receipt, char *msg);
void node_upload_free(struct node_upload *u);

/* ---- Download ----
 * _begin verifies the limit (GET, GET_AUDIT, GET_REPAIR), opens the piece (TS_ERR_NOT_FOUND) and
 * checks the range lies inside it (TS_ERR_INVALID_ARGUMENT). _order as for uploads; _allowed is
 * how many bytes may be sent now (ordered - sent, capped by what is left of the range); _read
 * reads the next len <= _allowed bytes. _free records the order for settlement. */
TS_WARN_UNUSED ts_err node_download_begin(struct node *n, const struct ts_order_limit *limit,
                                          int64_t offset, int64_t size,
                                          struct node_download **out, char *msg);
TS_WARN_UNUSED ts_err node_download_order(struct node_download *d, const struct ts_order *order,
                                          char *msg);
int64_t node_download_allowed(const struct node_download *d);
int64_t node_download_remaining(const struct node_download *d);
TS_WARN_UNUSED ts_err node_download_read(struct node_download *d, void *buf, size_t len,
                                         int64_t *offset_out);
/* 1 when the range is the whole piece; then hash_out gets the stored uplink-signed PieceHash and
 * limit_out the original order limit. */
int node_download_whole_piece(const struct node_download *d, struct ts_piece_hash *hash_out,
                              struct ts_order_limit *limit_out);
void node_download_free(struct node_download *d);

/* ---- Delete and Exists ---- */
/* limit: action DELETE for the piece; moves it to trash. */
TS_WARN_UNUSED ts_err node_piece_delete(struct node *n, const struct ts_order_limit *limit,
                                        char *msg);
/* sat must be trusted; missing[] gets the indexes of absent pieces (*missing_count of them). */
TS_WARN_UNUSED ts_err node_pieces_exist(struct node *n, const struct ts_node_id *sat,
                                        const uint8_t (*piece_ids)[TS_PIECE_ID_SIZE], size_t count,
                                        uint32_t *missing, size_t *missing_count, char *msg);

/* ---- Upload messages without copies ----
 * Data messages of an upload carry only an order and a chunk. node_upload_message_parse reads
 * such an UploadRequest in place: order points at the serialized Order (or is NULL), data at
 * the chunk bytes inside msg (valid as long as msg). Returns 1 when it parsed the message, 0 when
 * the message holds anything else or is unusual (other fields, a field twice, bad wire types or
 * lengths): the caller then unpacks it with protobuf-c, which decides what is malformed. */
struct node_upload_msg {
    const uint8_t *order;
    size_t order_len;
    int has_chunk;
    int64_t offset;
    const uint8_t *data;
    size_t data_len;
};
int node_upload_message_parse(const uint8_t *msg, size_t len, struct node_upload_msg *out);

/* ---- RPC ---- */
TS_WARN_UNUSED ts_err node_piecestore_register(struct node *n, struct ts_rpc_server *srv);

#endif
