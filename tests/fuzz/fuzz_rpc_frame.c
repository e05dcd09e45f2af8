/* libFuzzer target: decodes a byte buffer as a sequence of RPC frames (header, then the payload
 * checks the server and client apply per kind). A decoded header must re-encode to the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "rpc/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;
    while (off < size) {
        struct ts_rpc_frame_header h;
        if (ts_rpc_frame_header_decode(data + off, size - off, &h) != TS_OK) {
            break;
        }
        uint8_t again[TS_RPC_FRAME_HEADER_SIZE];
        ts_rpc_frame_header_encode(&h, again);
        if (memcmp(again, data + off, sizeof again) != 0 || h.length > TS_RPC_FRAME_MAX) {
            abort();
        }
        off += TS_RPC_FRAME_HEADER_SIZE;
        if (size - off < h.length) {
            break; /* a real connection would wait for the rest */
        }
        const uint8_t *payload = data + off;
        if (h.kind == TS_RPC_FRAME_INVOKE) {
            if (ts_rpc_method_check(payload, h.length) == TS_OK && payload[0] != '/') {
                abort();
            }
        } else if (h.kind == TS_RPC_FRAME_ERROR) {
            ts_err code;
            char msg[64];
            if (ts_rpc_frame_error_decode(payload, h.length, &code, msg, sizeof msg) == TS_OK &&
                (code == TS_OK || code >= TS_ERR__COUNT || strlen(msg) >= sizeof msg)) {
                abort();
            }
        }
        off += h.length;
    }
    return 0;
}
