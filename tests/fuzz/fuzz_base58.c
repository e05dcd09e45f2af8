/* libFuzzer target: base58check decoding of arbitrary text. Whatever decodes must re-encode to the
 * same text (the encoding is canonical), and nothing may crash or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "encoding/encoding.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ts_buf payload, text;
    ts_buf_init(&payload, TS_BASE58_TEXT_MAX);
    ts_buf_init(&text, TS_BASE58_TEXT_MAX);
    uint8_t version = 0;
    if (ts_base58check_decode((const char *)data, size, &version, &payload) == TS_OK) {
        TS_ASSERT(ts_base58check_encode(version, payload.data, payload.len, &text) == TS_OK);
        TS_ASSERT(text.len == size && memcmp(text.data, data, size) == 0);
    }
    ts_buf_clear(&payload);
    ts_buf_clear(&text);
    if (ts_base58_decode((const char *)data, size, &payload) == TS_OK) {
        TS_ASSERT(ts_base58_encode(payload.data, payload.len, &text) == TS_OK);
        TS_ASSERT(text.len == size && memcmp(text.data, data, size) == 0);
    }
    ts_buf_release(&payload);
    ts_buf_release(&text);
    return 0;
}
