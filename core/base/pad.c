#include <string.h>

#include "base/base.h"
#include "base/pad.h"

size_t ts_pad_padded_size(size_t data_len, size_t block_size)
{
    TS_ASSERT(block_size >= TS_PAD_COUNT_SIZE);
    size_t blocks = (data_len + TS_PAD_COUNT_SIZE + block_size - 1) / block_size;
    return blocks * block_size;
}

void ts_pad_write(uint8_t *out, size_t pad_len)
{
    TS_ASSERT(pad_len >= TS_PAD_COUNT_SIZE && pad_len <= UINT32_MAX);
    memset(out, 0, pad_len - TS_PAD_COUNT_SIZE);
    ts_be32_put(out + pad_len - TS_PAD_COUNT_SIZE, (uint32_t)pad_len);
}

ts_err ts_pad_strip(const uint8_t *padded, size_t padded_len, size_t *data_len)
{
    if (padded_len < TS_PAD_COUNT_SIZE) {
        return TS_ERR_MALFORMED;
    }
    uint32_t pad_len = ts_be32_get(padded + padded_len - TS_PAD_COUNT_SIZE);
    if (pad_len < TS_PAD_COUNT_SIZE || pad_len > padded_len) {
        return TS_ERR_MALFORMED;
    }
    for (size_t i = padded_len - pad_len; i < padded_len - TS_PAD_COUNT_SIZE; i++) {
        if (padded[i] != 0) {
            return TS_ERR_MALFORMED;
        }
    }
    *data_len = padded_len - pad_len;
    return TS_OK;
}
