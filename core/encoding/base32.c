/*
 * Unpadded base32 (RFC 4648 §6 alphabet, or its lower-case variant for file names). Decoding is
 * strict: one alphabet, no padding, no whitespace, and the unused low bits of the last character
 * must be zero, so a decoded name always re-encodes to the same text.
 */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "encoding/encoding.h"

static const char *alphabet_chars(enum ts_base32_alphabet alphabet)
{
    TS_ASSERT(alphabet == TS_BASE32_STD || alphabet == TS_BASE32_LOWER);
    return alphabet == TS_BASE32_STD ? "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
                                     : "abcdefghijklmnopqrstuvwxyz234567";
}

static int char_value(enum ts_base32_alphabet alphabet, char c)
{
    char first = alphabet == TS_BASE32_STD ? 'A' : 'a';
    if (c >= first && c < first + 26) {
        return c - first;
    }
    if (c >= '2' && c <= '7') {
        return c - '2' + 26;
    }
    return -1;
}

size_t ts_base32_encoded_len(size_t len)
{
    TS_ASSERT(len <= SIZE_MAX / 8);
    return (len * 8 + 4) / 5;
}

ts_err ts_base32_encode_to(enum ts_base32_alphabet alphabet, const uint8_t *data, size_t len,
                           char *out, size_t out_size)
{
    TS_ASSERT(out != NULL && (data != NULL || len == 0));
    const char *chars = alphabet_chars(alphabet);
    if (len > SIZE_MAX / 8 || out_size < ts_base32_encoded_len(len) + 1) {
        return TS_ERR_TOO_LARGE;
    }
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        acc = (acc << 8) | data[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[n++] = chars[(acc >> bits) & 31];
        }
    }
    if (bits > 0) {
        out[n++] = chars[(acc << (5 - bits)) & 31];
    }
    out[n] = 0;
    return TS_OK;
}

ts_err ts_base32_encode(enum ts_base32_alphabet alphabet, const uint8_t *data, size_t len,
                        struct ts_buf *out)
{
    if (len > (SIZE_MAX - 1) / 8 || ts_base32_encoded_len(len) > out->cap_max - out->len) {
        return TS_ERR_TOO_LARGE;
    }
    size_t size = ts_base32_encoded_len(len) + 1;
    char *text = malloc(size);
    if (text == NULL) {
        return TS_ERR_NOMEM;
    }
    ts_err err = ts_base32_encode_to(alphabet, data, len, text, size);
    if (err == TS_OK) {
        err = ts_buf_append(out, text, size - 1);
    }
    free(text);
    return err;
}

ts_err ts_base32_decode(enum ts_base32_alphabet alphabet, const char *text, size_t text_len,
                        struct ts_buf *out)
{
    TS_ASSERT(out != NULL && (text != NULL || text_len == 0));
    (void)alphabet_chars(alphabet);
    size_t tail = text_len % 8;
    if (tail == 1 || tail == 3 || tail == 6) {
        return TS_ERR_MALFORMED;
    }
    size_t n_bytes = text_len / 8 * 5 + tail * 5 / 8;
    if (n_bytes > out->cap_max) {
        return TS_ERR_TOO_LARGE;
    }
    uint8_t *bytes = malloc(n_bytes + 1);
    if (bytes == NULL) {
        return TS_ERR_NOMEM;
    }
    ts_err err = TS_ERR_MALFORMED;
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < text_len; i++) {
        int v = char_value(alphabet, text[i]);
        if (v < 0) {
            goto done;
        }
        acc = (acc << 5) | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            bytes[n++] = (uint8_t)(acc >> bits);
        }
    }
    /* Leftover bits (< 5) are padding of the last character and must be zero. */
    if ((acc & ((1u << bits) - 1)) != 0) {
        goto done;
    }
    TS_ASSERT(n == n_bytes);
    err = ts_buf_append(out, bytes, n);
done:
    free(bytes);
    return err;
}
