/*
 * Erasure coding: the systematic Vandermonde Reed-Solomon code of zfec/infectious over GF(2^8)
 * (polynomial 0x11D), computed with Intel ISA-L kernels on our own encode matrix.
 *
 * A stripe is k * share_size bytes; encoding turns it into n shares of share_size bytes, where
 * share i < k is bytes [i*s, (i+1)*s) of the stripe and shares k..n-1 are parity. Any k shares
 * rebuild the stripe. A piece is share i of every stripe of a segment, concatenated: the
 * functions below all work on `stripes` consecutive stripes, so a caller may pass a whole segment
 * or any run of stripes (piece buffers then point at the matching offset, stripe * share_size).
 * Padding to whole stripes is the caller's job (base/pad.h). docs/ec.md has the details.
 *
 * A struct ts_ec is safe to share between threads: every function takes it const, and its
 * internal decode-table cache is locked.
 */
#ifndef TS_EC_EC_H
#define TS_EC_EC_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

struct ts_ec;

/* ---- Lifecycle ---- */

/* Creates a code with k required shares out of n (1 <= k <= n <= TS_EC_SHARES_MAX) and
 * 1 <= share_size <= TS_EC_SHARE_SIZE_MAX bytes. TS_ERR_INVALID_ARGUMENT on bad parameters,
 * TS_ERR_NOMEM. On success *out owns the code; release it with ts_ec_free. */
TS_WARN_UNUSED ts_err ts_ec_new(int k, int n, size_t share_size, struct ts_ec **out);

/* Frees the code; NULL is a no-op. */
void ts_ec_free(struct ts_ec *ec);

/* ---- Parameters ---- */
int ts_ec_k(const struct ts_ec *ec);
int ts_ec_n(const struct ts_ec *ec);
size_t ts_ec_share_size(const struct ts_ec *ec);
size_t ts_ec_stripe_size(const struct ts_ec *ec); /* k * share_size */

/* The coefficient of data share `col` in share `row` (the n x k encode matrix, identity on top).
 * Exposed for tests and documentation; row < n, col < k. */
uint8_t ts_ec_matrix_at(const struct ts_ec *ec, int row, int col);

/* ---- Encoding ---- */

/* Encodes `stripes` consecutive stripes at data (stripes * stripe_size bytes) into all n pieces:
 * pieces[i] (piece_count must equal n) receives share i of every stripe, stripes * share_size
 * bytes. Data shares are a strided copy; parity is computed in cache-sized groups of stripes.
 * Buffers must not overlap. TS_ERR_INVALID_ARGUMENT on a wrong count or NULL buffer. */
TS_WARN_UNUSED ts_err ts_ec_encode(const struct ts_ec *ec, const uint8_t *data, size_t stripes,
                                   uint8_t *const *pieces, size_t piece_count);

/* Computes only piece `piece_num` (0 <= piece_num < n) for `stripes` stripes at data into out
 * (stripes * share_size bytes): what one upload stream needs. TS_ERR_INVALID_ARGUMENT on a bad
 * piece number or NULL buffer. */
TS_WARN_UNUSED ts_err ts_ec_encode_piece(const struct ts_ec *ec, int piece_num,
                                         const uint8_t *data, size_t stripes, uint8_t *out);

/* ---- Decoding and repair ---- */

/* Rebuilds `stripes` stripes of data into out (stripes * stripe_size bytes) from `count` pieces:
 * pieces[j] holds stripes * share_size bytes of piece piece_nums[j]. Any k distinct pieces
 * suffice; with more, the lowest-numbered k are used (data pieces first: least work) and the
 * rest are ignored (use ts_ec_correct to check them). TS_ERR_NOT_ENOUGH_SHARES with fewer than
 * k pieces; TS_ERR_INVALID_ARGUMENT on a piece number outside 0..n-1, a duplicate, a NULL
 * buffer or count > n. */
TS_WARN_UNUSED ts_err ts_ec_decode(const struct ts_ec *ec, const uint8_t *const *pieces,
                                   const int *piece_nums, size_t count, size_t stripes,
                                   uint8_t *out);

/* Repair: from `count` pieces as in ts_ec_decode, computes only the pieces listed in want_nums
 * (want_count distinct numbers in 0..n-1) into out_pieces[j] (stripes * share_size bytes each).
 * Wanted pieces that are also given are copied. Errors as ts_ec_decode. */
TS_WARN_UNUSED ts_err ts_ec_rebuild(const struct ts_ec *ec, const uint8_t *const *pieces,
                                    const int *piece_nums, size_t count, size_t stripes,
                                    const int *want_nums, size_t want_count,
                                    uint8_t *const *out_pieces);

/* ---- Error correction (audits) ---- */

/* Berlekamp-Welch correction of ONE stripe from count >= k shares: shares[j] (share_size bytes,
 * modified in place) is share number share_nums[j]. Each byte column is corrected independently
 * when it has at most floor((count-k)/2) wrong shares. On TS_OK the shares form a codeword again
 * and bad_nums[0..*bad_count) lists, ascending, every share number that was changed (bad_nums
 * has room for count entries). TS_ERR_TOO_MANY_ERRORS when some column has no codeword within
 * that distance (shares are then partly corrected: treat them as garbage). Beyond the bound a
 * column may also be "corrected" to a wrong codeword; that is inherent to the code.
 * TS_ERR_NOT_ENOUGH_SHARES with count < k; TS_ERR_INVALID_ARGUMENT as for ts_ec_decode. */
TS_WARN_UNUSED ts_err ts_ec_correct(const struct ts_ec *ec, uint8_t *const *shares,
                                    const int *share_nums, size_t count, int *bad_nums,
                                    size_t *bad_count);

#endif
