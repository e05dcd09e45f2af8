/*
 * RPC wire frames (see docs/rpc.md). After the TLS handshake the client sends the 8-byte preface
 * TS_RPC_PREFACE once; then both sides exchange frames:
 *
 *   offset 0  kind        u8   (enum ts_rpc_frame_kind)
 *   offset 1  flags       u8   0 (reserved; nonzero is refused)
 *   offset 2  reserved    u16  0
 *   offset 4  stream id   u32  big-endian; > 0, increasing per connection (0 = connection-level)
 *   offset 8  length      u32  big-endian payload length, <= TS_RPC_FRAME_MAX
 *   offset 12 payload
 *
 * Payloads: INVOKE = method name ("/pkg.Service/Method"), MESSAGE = protobuf-c bytes (or raw
 * bytes), ERROR = u32 big-endian ts_err code + UTF-8 message (<= TS_RPC_ERROR_MESSAGE_MAX),
 * CANCEL / CLOSE_SEND / CLOSE = empty. This file is pure parsing (no sockets) so it can be fuzzed.
 */
#ifndef TS_RPC_FRAME_H
#define TS_RPC_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

#define TS_RPC_PREFACE "TSRPC!!1"
#define TS_RPC_PREFACE_SIZE 8
#define TS_RPC_FRAME_HEADER_SIZE 12

enum ts_rpc_frame_kind {
    TS_RPC_FRAME_INVOKE = 1,     /* client: start stream, payload = method */
    TS_RPC_FRAME_MESSAGE = 2,    /* either: one message */
    TS_RPC_FRAME_ERROR = 3,      /* server: stream failed (terminates the stream) */
    TS_RPC_FRAME_CANCEL = 4,     /* client: abandon the stream now */
    TS_RPC_FRAME_CLOSE_SEND = 5, /* client: no more messages from me */
    TS_RPC_FRAME_CLOSE = 6,      /* server: stream finished successfully (terminates it) */
};

struct ts_rpc_frame_header {
    enum ts_rpc_frame_kind kind;
    uint32_t stream_id;
    uint32_t length; /* payload bytes, <= TS_RPC_FRAME_MAX */
};

/* Decodes a header from the first TS_RPC_FRAME_HEADER_SIZE bytes of buf. Errors:
 * TS_ERR_TRUNCATED (len too short), TS_ERR_MALFORMED (unknown kind, nonzero flags/reserved, a
 * nonempty CANCEL/CLOSE_SEND/CLOSE), TS_ERR_TOO_LARGE (length > TS_RPC_FRAME_MAX). */
TS_WARN_UNUSED ts_err ts_rpc_frame_header_decode(const uint8_t *buf, size_t len,
                                                 struct ts_rpc_frame_header *out);
/* Encodes a header into out[TS_RPC_FRAME_HEADER_SIZE]. */
void ts_rpc_frame_header_encode(const struct ts_rpc_frame_header *h, uint8_t *out);

/* Checks an INVOKE payload: 2..TS_RPC_METHOD_MAX printable ASCII bytes starting with '/'. */
TS_WARN_UNUSED ts_err ts_rpc_method_check(const uint8_t *payload, size_t len);

/* Decodes an ERROR payload into *code (a code this build does not know becomes TS_ERR_PROTOCOL)
 * and msg (NUL-terminated, cut to msg_size - 1 bytes). Errors: TS_ERR_TRUNCATED (under 4 bytes),
 * TS_ERR_TOO_LARGE (message over TS_RPC_ERROR_MESSAGE_MAX), TS_ERR_MALFORMED (code 0: OK is not an
 * error). */
TS_WARN_UNUSED ts_err ts_rpc_frame_error_decode(const uint8_t *payload, size_t len, ts_err *code,
                                                char *msg, size_t msg_size);

#endif
