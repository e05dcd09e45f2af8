/* RPC frame encoding and decoding: pure functions over byte buffers (fuzzed). */
#include <string.h>

#include "base/base.h"
#include "rpc/frame.h"

ts_err ts_rpc_frame_header_decode(const uint8_t *buf, size_t len, struct ts_rpc_frame_header *out)
{
    memset(out, 0, sizeof *out);
    if (len < TS_RPC_FRAME_HEADER_SIZE) {
        return TS_ERR_TRUNCATED;
    }
    uint8_t kind = buf[0];
    if (kind < TS_RPC_FRAME_INVOKE || kind > TS_RPC_FRAME_CLOSE || buf[1] != 0 || buf[2] != 0 ||
        buf[3] != 0) {
        return TS_ERR_MALFORMED;
    }
    uint32_t length = ts_be32_get(buf + 8);
    if (length > TS_RPC_FRAME_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    int empty_kind = kind == TS_RPC_FRAME_CANCEL || kind == TS_RPC_FRAME_CLOSE_SEND ||
                     kind == TS_RPC_FRAME_CLOSE;
    if (empty_kind && length != 0) {
        return TS_ERR_MALFORMED;
    }
    out->kind = (enum ts_rpc_frame_kind)kind;
    out->stream_id = ts_be32_get(buf + 4);
    out->length = length;
    return TS_OK;
}

void ts_rpc_frame_header_encode(const struct ts_rpc_frame_header *h, uint8_t *out)
{
    TS_ASSERT(h->length <= TS_RPC_FRAME_MAX);
    out[0] = (uint8_t)h->kind;
    out[1] = 0;
    out[2] = 0;
    out[3] = 0;
    ts_be32_put(out + 4, h->stream_id);
    ts_be32_put(out + 8, h->length);
}

ts_err ts_rpc_method_check(const uint8_t *payload, size_t len)
{
    if (len < 2 || len > TS_RPC_METHOD_MAX || payload[0] != '/') {
        return TS_ERR_MALFORMED;
    }
    for (size_t i = 0; i < len; i++) {
        if (payload[i] <= ' ' || payload[i] > '~') {
            return TS_ERR_MALFORMED;
        }
    }
    return TS_OK;
}

ts_err ts_rpc_frame_error_decode(const uint8_t *payload, size_t len, ts_err *code, char *msg,
                                 size_t msg_size)
{
    *code = TS_OK;
    if (msg_size > 0) {
        msg[0] = 0;
    }
    if (len < 4) {
        return TS_ERR_TRUNCATED;
    }
    if (len - 4 > TS_RPC_ERROR_MESSAGE_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    uint32_t c = ts_be32_get(payload);
    if (c == TS_OK) {
        return TS_ERR_MALFORMED;
    }
    *code = c < (uint32_t)TS_ERR__COUNT ? (ts_err)c : TS_ERR_PROTOCOL;
    if (msg_size > 0) {
        size_t n = len - 4 < msg_size - 1 ? len - 4 : msg_size - 1;
        memcpy(msg, payload + 4, n);
        msg[n] = 0;
    }
    return TS_OK;
}
