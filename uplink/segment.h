/*
 * The in-process segment pipeline of the uplink, with no network: plaintext -> AES-256-GCM blocks
 * (core/crypto/segment.h, 7,424-byte ciphertext blocks) -> erasure padding -> Reed-Solomon per
 * stripe (core/ec) into n piece buffers, and back: any k pieces -> decoded stripes -> decrypted,
 * authenticated blocks.
 *
 * Encoding is streaming: plaintext arrives in any pieces, whole blocks are encrypted into a small
 * staging area and each cache-sized group of stripes is encoded while it is still in cache, so a
 * piece stream can send stripes as soon as they exist (ul_seg_encoder_stripes). Decoding works on
 * windows of blocks, so a ranged read touches only the stripes it needs. When a window fails
 * authentication (a node served corrupted bytes), the decoder tries other subsets of the pieces it
 * was given and reports which piece was bad (see docs/uplink.md, "Corrupted pieces").
 *
 * Buffers are allocated once per encoder/decoder and reused for every segment.
 */
#ifndef UL_SEGMENT_H
#define UL_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "crypto/segment.h"

struct ts_ec;
struct ts_segment_cipher;

/* Plaintext bytes per encryption block (7,408) and ciphertext bytes per block (7,424). */
#define UL_PLAIN_BLOCK TS_ENCRYPTION_PLAIN_BLOCK_SIZE
#define UL_CIPHER_BLOCK TS_ENCRYPTION_BLOCK_SIZE

/* Sizes of one segment of plain_len bytes under a code (reference §1: both padding layers). */
struct ul_seg_layout {
    size_t plain_len;      /* plaintext bytes */
    size_t blocks;         /* encryption blocks: ceil((plain_len + 4) / 7,408) */
    size_t encrypted_size; /* blocks * 7,424 */
    size_t stripe_size;    /* k * share_size */
    size_t share_size;
    size_t stripes;        /* ceil((encrypted_size + 4) / stripe_size) */
    size_t piece_size;     /* stripes * share_size: bytes each node stores */
};

void ul_seg_layout_init(struct ul_seg_layout *l, const struct ts_ec *ec, size_t plain_len);

/* ---- Encoding ---- */

struct ul_seg_encoder;

/* An encoder for code ec (borrowed, outlives it). */
TS_WARN_UNUSED ts_err ul_seg_encoder_new(const struct ts_ec *ec, struct ul_seg_encoder **out);
void ul_seg_encoder_free(struct ul_seg_encoder *e);

/* Starts a segment with its content key and starting nonce (copied), writing into n piece
 * buffers of piece_cap bytes each (borrowed until the next begin; piece_cap must be at least the
 * piece size of the segment, a full segment's when the size is not known yet). */
void ul_seg_encoder_begin(struct ul_seg_encoder *e, uint8_t *const *pieces, size_t piece_cap,
                          const uint8_t key[32], const uint8_t start_nonce[24]);
/* Adds plaintext. TS_ERR_TOO_LARGE past TS_SEGMENT_SIZE_MAX bytes in this segment or past the
 * piece buffers. TS_ERR_CRYPTO on a cipher failure. */
TS_WARN_UNUSED ts_err ul_seg_encoder_write(struct ul_seg_encoder *e, const void *data, size_t len);
/* Pads and encodes the tail; afterwards the layout is final. */
TS_WARN_UNUSED ts_err ul_seg_encoder_finish(struct ul_seg_encoder *e, struct ul_seg_layout *out);
/* Stripes fully written into every piece buffer so far (piece bytes = stripes * share_size). */
size_t ul_seg_encoder_stripes(const struct ul_seg_encoder *e);
/* Plaintext bytes accepted in this segment. */
size_t ul_seg_encoder_plain_len(const struct ul_seg_encoder *e);

/* ---- Decoding ---- */

/* The stripes [first_stripe, first_stripe + stripe_count) that hold encryption blocks
 * [first_block, first_block + block_count) of a segment with layout l. */
void ul_seg_blocks_to_stripes(const struct ul_seg_layout *l, size_t first_block, size_t block_count,
                              size_t *first_stripe, size_t *stripe_count);

struct ul_seg_decoder;

/* A decoder for code ec (borrowed). Windows hold at most UL_DECODE_WINDOW_BLOCKS blocks. */
#define UL_DECODE_WINDOW_BLOCKS 64
TS_WARN_UNUSED ts_err ul_seg_decoder_new(const struct ts_ec *ec, struct ul_seg_decoder **out);
void ul_seg_decoder_free(struct ul_seg_decoder *d);

/* Pieces as the decoder sees them: count buffers, buffer j holding piece piece_nums[j] from
 * stripe base_stripe on, with avail[j] stripes present (a piece still arriving has fewer). Pieces
 * flagged bad[j] are never used; the decoder sets bad[j] when it proves piece j corrupt. */
struct ul_seg_pieces {
    const uint8_t *const *bufs;
    const int *piece_nums;
    const size_t *avail;
    bool *bad;
    size_t count;
    size_t base_stripe;
};

/* Decrypts blocks [first_block, first_block + block_count) (block_count <= window) of a segment
 * (layout l, key, start nonce) into out (block_count * 7,408 bytes), using k of the pieces that
 * hold every stripe needed. If the blocks do not authenticate, other subsets are tried (bounded)
 * and a piece shown to be corrupt is flagged in p->bad.
 * TS_ERR_NOT_ENOUGH_SHARES: fewer than k usable pieces cover the window (more may still arrive:
 * the caller waits and retries); TS_ERR_AUTH_FAILED: no subset tried authenticates (out wiped). */
TS_WARN_UNUSED ts_err ul_seg_decoder_blocks(struct ul_seg_decoder *d,
                                            const struct ul_seg_layout *l, const uint8_t key[32],
                                            const uint8_t start_nonce[24],
                                            struct ul_seg_pieces *p, size_t first_block,
                                            size_t block_count, uint8_t *out);

#endif
