/* Unsigned LEB128 varints: 7 bits per byte, least significant first, high bit = more follows. */
#include "base/base.h"
#include "encoding/encoding.h"

size_t ts_uvarint_put(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

ts_err ts_uvarint_append(struct ts_buf *out, uint64_t v)
{
    uint8_t tmp[TS_UVARINT_SIZE_MAX];
    return ts_buf_append(out, tmp, ts_uvarint_put(tmp, v));
}

ts_err ts_uvarint_get(const uint8_t *in, size_t len, uint64_t *v, size_t *used)
{
    TS_ASSERT(v != NULL && used != NULL && (in != NULL || len == 0));
    uint64_t x = 0;
    for (size_t i = 0; i < TS_UVARINT_SIZE_MAX; i++) {
        if (i == len) {
            return TS_ERR_TRUNCATED;
        }
        uint8_t b = in[i];
        /* The tenth byte carries bit 63 only. */
        if (i == TS_UVARINT_SIZE_MAX - 1 && b > 1) {
            return TS_ERR_MALFORMED;
        }
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if ((b & 0x80) == 0) {
            if (b == 0 && i > 0) {
                return TS_ERR_MALFORMED; /* overlong: a zero final byte adds nothing */
            }
            *v = x;
            *used = i + 1;
            return TS_OK;
        }
    }
    return TS_ERR_MALFORMED;
}
