/*
 * base58 and base58check (Bitcoin alphabet). The conversion works on 32-bit limbs in groups of
 * five base58 digits (58^5 < 2^30) or four bytes, so the quadratic cost of a base change is about
 * 20x lower than digit-by-digit code; TS_BASE58_TEXT_MAX still bounds it for hostile input.
 */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "crypto/hash.h"
#include "encoding/encoding.h"

static const char ALPHABET[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

#define DIGITS_PER_LIMB 5
#define LIMB_BASE 656356768u /* 58^5 */

/* Value of a base58 character, or -1 when it is not in the alphabet. */
static int digit_value(char c)
{
    const char *p = (c == 0) ? NULL : memchr(ALPHABET, c, sizeof ALPHABET - 1);
    return p == NULL ? -1 : (int)(p - ALPHABET);
}

/* Multiplies the little-endian number limbs[0..*used) by mult and adds add, in base 2^32. */
static void limbs_mul_add_2_32(uint32_t *limbs, size_t *used, size_t cap, uint64_t mult,
                               uint64_t add)
{
    uint64_t carry = add;
    for (size_t j = 0; j < *used; j++) {
        uint64_t t = (uint64_t)limbs[j] * mult + carry;
        limbs[j] = (uint32_t)t;
        carry = t >> 32;
    }
    while (carry != 0) {
        TS_ASSERT(*used < cap);
        limbs[(*used)++] = (uint32_t)carry;
        carry >>= 32;
    }
}

/* The same in base 58^5 (used by the encoder). */
static void limbs_mul_add_58_5(uint32_t *limbs, size_t *used, size_t cap, uint64_t mult,
                               uint64_t add)
{
    uint64_t carry = add;
    for (size_t j = 0; j < *used; j++) {
        uint64_t t = (uint64_t)limbs[j] * mult + carry;
        limbs[j] = (uint32_t)(t % LIMB_BASE);
        carry = t / LIMB_BASE;
    }
    while (carry != 0) {
        TS_ASSERT(*used < cap);
        limbs[(*used)++] = (uint32_t)(carry % LIMB_BASE);
        carry /= LIMB_BASE;
    }
}

ts_err ts_base58_encode(const uint8_t *data, size_t len, struct ts_buf *out)
{
    TS_ASSERT(out != NULL && (data != NULL || len == 0));
    size_t zeros = 0;
    while (zeros < len && data[zeros] == 0) {
        zeros++;
    }
    size_t m = len - zeros;
    /* 8 bits per byte over log2(58^5) = 29.29 bits per limb; also bounds the text length. */
    if (len > TS_BASE58_TEXT_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    size_t cap = m * 8 / 29 + 2;
    uint32_t *limbs = calloc(cap, sizeof *limbs);
    char *text = malloc(zeros + cap * DIGITS_PER_LIMB + 1);
    ts_err err = TS_ERR_NOMEM;
    if (limbs == NULL || text == NULL) {
        goto done;
    }
    size_t used = 0;
    for (size_t i = zeros; i < len;) {
        size_t g = (len - i) % 4 != 0 && i == zeros ? (len - i) % 4 : 4;
        uint64_t v = 0;
        for (size_t k = 0; k < g; k++) {
            v = (v << 8) | data[i + k];
        }
        limbs_mul_add_58_5(limbs, &used, cap, (uint64_t)1 << (8 * g), v);
        i += g;
    }
    /* Digits least significant first, then drop the high zero digits of the top limb. */
    size_t n = 0;
    char *digits = text + zeros;
    for (size_t j = 0; j < used; j++) {
        uint32_t x = limbs[j];
        for (int k = 0; k < DIGITS_PER_LIMB; k++) {
            digits[n++] = ALPHABET[x % 58];
            x /= 58;
        }
    }
    while (n > 0 && digits[n - 1] == ALPHABET[0]) {
        n--;
    }
    for (size_t a = 0, b = n; a + 1 < b; a++, b--) {
        char t = digits[a];
        digits[a] = digits[b - 1];
        digits[b - 1] = t;
    }
    memset(text, ALPHABET[0], zeros);
    err = TS_ERR_TOO_LARGE;
    if (zeros + n <= TS_BASE58_TEXT_MAX) {
        err = ts_buf_append(out, text, zeros + n);
    }
done:
    /* The input may be key material (API keys, access grants). */
    if (limbs != NULL) {
        ts_wipe(limbs, cap * sizeof *limbs);
    }
    if (text != NULL) {
        ts_wipe(text, zeros + cap * DIGITS_PER_LIMB + 1);
    }
    free(limbs);
    free(text);
    return err;
}

ts_err ts_base58_decode(const char *text, size_t text_len, struct ts_buf *out)
{
    TS_ASSERT(out != NULL && (text != NULL || text_len == 0));
    if (text_len > TS_BASE58_TEXT_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    for (size_t i = 0; i < text_len; i++) {
        if (digit_value(text[i]) < 0) {
            return TS_ERR_MALFORMED;
        }
    }
    size_t zeros = 0;
    while (zeros < text_len && text[zeros] == ALPHABET[0]) {
        zeros++;
    }
    size_t m = text_len - zeros;
    /* log2(58) / 32 = 0.18306 limbs per character. */
    size_t cap = m * 733 / 4000 + 2;
    uint32_t *limbs = calloc(cap, sizeof *limbs);
    uint8_t *bytes = malloc(zeros + cap * 4 + 1);
    ts_err err = TS_ERR_NOMEM;
    if (limbs == NULL || bytes == NULL) {
        goto done;
    }
    size_t used = 0;
    for (size_t i = zeros; i < text_len;) {
        size_t g = text_len - i < DIGITS_PER_LIMB ? text_len - i : DIGITS_PER_LIMB;
        uint64_t mult = 1, v = 0;
        for (size_t k = 0; k < g; k++) {
            mult *= 58;
            v = v * 58 + (uint64_t)digit_value(text[i + k]);
        }
        limbs_mul_add_2_32(limbs, &used, cap, mult, v);
        i += g;
    }
    memset(bytes, 0, zeros);
    size_t n = zeros;
    int started = 0;
    for (size_t j = used; j-- > 0;) {
        for (int shift = 24; shift >= 0; shift -= 8) {
            uint8_t b = (uint8_t)(limbs[j] >> shift);
            started |= b != 0;
            if (started) {
                bytes[n++] = b;
            }
        }
    }
    err = ts_buf_append(out, bytes, n);
done:
    if (limbs != NULL) {
        ts_wipe(limbs, cap * sizeof *limbs);
    }
    if (bytes != NULL) {
        ts_wipe(bytes, zeros + cap * 4 + 1);
    }
    free(limbs);
    free(bytes);
    return err;
}

static ts_err checksum(const uint8_t *data, size_t len, uint8_t sum[TS_BASE58CHECK_CHECKSUM_SIZE])
{
    uint8_t h[TS_SHA256_SIZE];
    ts_err err = ts_sha256(data, len, h);
    if (err == TS_OK) {
        err = ts_sha256(h, sizeof h, h);
    }
    memcpy(sum, h, TS_BASE58CHECK_CHECKSUM_SIZE);
    return err;
}

ts_err ts_base58check_encode(uint8_t version, const uint8_t *payload, size_t len,
                             struct ts_buf *out)
{
    TS_ASSERT(payload != NULL || len == 0);
    if (len > TS_BASE58_TEXT_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    struct ts_buf raw;
    ts_buf_init(&raw, len + TS_BASE58CHECK_VERSION_SIZE + TS_BASE58CHECK_CHECKSUM_SIZE);
    uint8_t sum[TS_BASE58CHECK_CHECKSUM_SIZE];
    /* One allocation of the final size, so the wipe below reaches every copy. */
    ts_err err = ts_buf_reserve(&raw, raw.cap_max);
    if (err == TS_OK) {
        err = ts_buf_append_byte(&raw, version);
    }
    if (err == TS_OK && len > 0) {
        err = ts_buf_append(&raw, payload, len);
    }
    if (err == TS_OK) {
        err = checksum(raw.data, raw.len, sum);
    }
    if (err == TS_OK) {
        err = ts_buf_append(&raw, sum, sizeof sum);
    }
    if (err == TS_OK) {
        err = ts_base58_encode(raw.data, raw.len, out);
    }
    /* The payload may be an API key or an access grant: do not leave copies behind. */
    ts_buf_release_secret(&raw);
    return err;
}

ts_err ts_base58check_decode(const char *text, size_t text_len, uint8_t *version,
                             struct ts_buf *payload_out)
{
    TS_ASSERT(version != NULL && payload_out != NULL);
    struct ts_buf raw;
    ts_buf_init(&raw, TS_BASE58_TEXT_MAX);
    uint8_t sum[TS_BASE58CHECK_CHECKSUM_SIZE];
    ts_err err = ts_base58_decode(text, text_len, &raw);
    if (err != TS_OK) {
        goto done;
    }
    err = TS_ERR_TRUNCATED;
    if (raw.len < TS_BASE58CHECK_VERSION_SIZE + TS_BASE58CHECK_CHECKSUM_SIZE) {
        goto done;
    }
    size_t body = raw.len - TS_BASE58CHECK_CHECKSUM_SIZE;
    err = checksum(raw.data, body, sum);
    if (err != TS_OK) {
        goto done;
    }
    err = TS_ERR_CHECKSUM;
    if (memcmp(sum, raw.data + body, sizeof sum) != 0) {
        goto done;
    }
    err = ts_buf_append(payload_out, raw.data + 1, body - 1);
    if (err == TS_OK) {
        *version = raw.data[0];
    }
done:
    ts_buf_release_secret(&raw);
    return err;
}
