/* libFuzzer target: base32 decoding in both alphabets. Decoding is strict, so whatever decodes
 * must re-encode to exactly the input text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "encoding/encoding.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum ts_base32_alphabet alphabets[] = {TS_BASE32_STD, TS_BASE32_LOWER};
    for (size_t i = 0; i < TS_ARRAY_LEN(alphabets); i++) {
        struct ts_buf bytes, text;
        ts_buf_init(&bytes, 1u << 20);
        ts_buf_init(&text, 2u << 20);
        if (ts_base32_decode(alphabets[i], (const char *)data, size, &bytes) == TS_OK) {
            TS_ASSERT(ts_base32_encode(alphabets[i], bytes.data, bytes.len, &text) == TS_OK);
            TS_ASSERT(text.len == size && memcmp(text.data, data, size) == 0);
        }
        ts_buf_release(&bytes);
        ts_buf_release(&text);
    }
    return 0;
}
