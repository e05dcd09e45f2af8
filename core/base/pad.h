/*
 * The padding rule shared by the encryption and erasure layers (reference §1): data is followed by
 * zero bytes and a 4-byte big-endian count of all padding bytes, so that data + padding is a whole
 * number of blocks and the padding is always at least 4 bytes. Block-aligned input therefore gains
 * a whole extra block. Piece sizes and order limits depend on this exact formula.
 */
#ifndef TS_BASE_PAD_H
#define TS_BASE_PAD_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* Size of data_len bytes once padded to block_size: ceil((data_len + 4) / block_size) * block_size.
 * block_size must be >= 4. */
size_t ts_pad_padded_size(size_t data_len, size_t block_size);

/* Writes pad_len (>= 4) padding bytes at out: zeros, then the count as uint32 big-endian. */
void ts_pad_write(uint8_t *out, size_t pad_len);

/* Given padded data of padded_len bytes, returns the length without padding in *data_len.
 * TS_ERR_MALFORMED when the trailing count is < 4, > padded_len, or the padding is not zeros. */
TS_WARN_UNUSED ts_err ts_pad_strip(const uint8_t *padded, size_t padded_len, size_t *data_len);

#endif
