/*
 * The uplink's piecestore client: one piece to or from one storage node over a pooled RPC
 * connection (proto/piecestore.proto, reference §7.3-7.4, §10.3-10.4).
 *
 * Upload sends the satellite-signed order limit, then the piece in TS_RPC_CHUNK_SIZE chunks with
 * uplink-signed cumulative orders stepping ahead of the data (256 KiB growing x1.5 up to 550 KiB),
 * then the uplink-signed PieceHash (SHA-256 computed while sending); it returns the node's signed
 * receipt. The bytes come from a source that may still be growing (the segment encoder fills the
 * piece while it is being sent). Download asks for a byte range of a piece, keeps orders ahead of
 * the data, and reports progress after every chunk.
 *
 * Both run on the calling thread and stop early when *cancel becomes true (checked between
 * messages). A worker of a crew (internal.h) publishes its open stream, so aborting the crew
 * interrupts a blocked read or write at once; without a crew (worker NULL) a blocked read or
 * write ends at the pool's I/O timeout.
 */
#ifndef UL_PIECESTORE_H
#define UL_PIECESTORE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "base/buf.h"
#include "identity/identity.h"
#include "orders/orders.h"

struct ts_rpc_pool;
struct ul_worker;

/* One addressed order limit as the satellite handed it out, parsed and checked for shape. */
struct ul_limit {
    struct ts_node_url url;      /* node ID + address to dial */
    struct ts_order_limit limit; /* decoded satellite-signed limit */
    uint32_t piece_num;
};

/* Parses an AddressedOrderLimit's parts: limit bytes, 32-byte node ID, "host:port", piece
 * number. TS_ERR_MALFORMED when they do not fit together (the limit's node differs, ...). */
TS_WARN_UNUSED ts_err ul_limit_parse(const uint8_t *limit, size_t limit_len, const uint8_t *node_id,
                                     size_t node_id_len, const char *address, uint32_t piece_num,
                                     struct ul_limit *out);

/* Where an upload's bytes come from. wait blocks until more than `sent` bytes are available or
 * the piece is complete (*complete then true and *avail final); it returns TS_ERR_CANCELED when
 * the upload was abandoned. data is the start of the piece. commit, when set, is asked once all
 * bytes are sent and before the PieceHash that makes the node keep the piece: it may block, and
 * TS_ERR_CANCELED from it ends the upload without the node storing anything. */
struct ul_piece_source {
    const uint8_t *data;
    ts_err (*wait)(void *ctx, size_t sent, size_t *avail, bool *complete);
    ts_err (*commit)(void *ctx);
    void *ctx;
};

/* Uploads one piece. On TS_OK the node's serialized, node-signed PieceHash is appended to
 * receipt. Errors: the node's verdict (TS_ERR_EXPIRED, TS_ERR_NO_SPACE, ...), transport errors,
 * TS_ERR_HASH_MISMATCH when the receipt does not match what was sent, TS_ERR_CANCELED. */
TS_WARN_UNUSED ts_err ul_piece_upload(struct ts_rpc_pool *pool, const struct ul_limit *lim,
                                      const uint8_t piece_private_key[64],
                                      const struct ul_piece_source *src, const atomic_bool *cancel,
                                      struct ul_worker *worker, struct ts_buf *receipt);

/* Receives piece bytes: buf holds size bytes for the range; progress(ctx, received) is called
 * after each chunk lands (received bytes are contiguous from the range start). */
struct ul_piece_sink {
    uint8_t *buf;
    void (*progress)(void *ctx, size_t received);
    void *ctx;
};

/* Downloads bytes [offset, offset + size) of a piece. TS_ERR_PROTOCOL when the node sends bytes
 * out of order or beyond the range, transport and node errors otherwise, TS_ERR_CANCELED. */
TS_WARN_UNUSED ts_err ul_piece_download(struct ts_rpc_pool *pool, const struct ul_limit *lim,
                                        const uint8_t piece_private_key[64], size_t offset,
                                        size_t size, const struct ul_piece_sink *sink,
                                        const atomic_bool *cancel, struct ul_worker *worker);

#endif
