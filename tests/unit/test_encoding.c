/* Unit tests for core/encoding: base58 (Bitcoin vectors), base58check, base32 (RFC 4648 vectors
 * and the lower-case variant), varints; round trips of random data and rejection of bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "base/buf.h"
#include "encoding/encoding.h"

static uint64_t rng_state = 0x243F6A8885A308D3ull;

static uint8_t rng_byte(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint8_t)(rng_state >> 24);
}

static size_t hex_decode(const char *hex, uint8_t *out)
{
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        char pair[3] = {hex[2 * i], hex[2 * i + 1], 0};
        out[i] = (uint8_t)strtoul(pair, NULL, 16);
    }
    return n;
}

/* Bitcoin Core's base58_encode_decode.json. */
static const struct {
    const char *hex;
    const char *text;
} BASE58_VECTORS[] = {
    {"", ""},
    {"61", "2g"},
    {"626262", "a3gV"},
    {"636363", "aPEr"},
    {"73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2"},
    {"00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"},
    {"516b6fcd0f", "ABnLTmg"},
    {"bf4f89001e670274dd", "3SEo3LWLoPntC"},
    {"572e4794", "3EFU7m"},
    {"ecac89cad93923c02321", "EJDM8drfXA6uyA"},
    {"10c8511e", "Rt5zm"},
    {"00000000000000000000", "1111111111"},
    {"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "JEKNVnkbo3jma5nREBBJCDoXFVeKkD56V3xKrvRmWxFG"},
};

static void test_base58_known_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < TS_ARRAY_LEN(BASE58_VECTORS); i++) {
        uint8_t raw[64];
        size_t n = hex_decode(BASE58_VECTORS[i].hex, raw);
        struct ts_buf b;
        ts_buf_init(&b, 1024);
        assert_int_equal(ts_base58_encode(raw, n, &b), TS_OK);
        assert_string_equal((char *)b.data, BASE58_VECTORS[i].text);
        ts_buf_clear(&b);
        const char *t = BASE58_VECTORS[i].text;
        assert_int_equal(ts_base58_decode(t, strlen(t), &b), TS_OK);
        assert_int_equal(b.len, n);
        if (n > 0) {
            assert_memory_equal(b.data, raw, n);
        }
        ts_buf_release(&b);
    }
}

static void test_base58_round_trips_random_data(void **state)
{
    (void)state;
    for (size_t len = 0; len < 200; len += 1 + len / 8) {
        for (int zeros = 0; zeros < 3; zeros++) {
            uint8_t raw[256];
            for (size_t i = 0; i < len; i++) {
                raw[i] = (int)i < zeros ? 0 : rng_byte();
            }
            struct ts_buf text, back;
            ts_buf_init(&text, 4096);
            ts_buf_init(&back, 4096);
            assert_int_equal(ts_base58_encode(raw, len, &text), TS_OK);
            assert_int_equal(ts_base58_decode((char *)text.data, text.len, &back), TS_OK);
            assert_int_equal(back.len, len);
            if (len > 0) {
                assert_memory_equal(back.data, raw, len);
            }
            ts_buf_release(&text);
            ts_buf_release(&back);
        }
    }
}

static void test_base58_rejects_foreign_characters_and_oversize(void **state)
{
    (void)state;
    static const char *bad[] = {"0", "O", "I", "l", "2g ", " 2g", "2g\n", "a+b", "\xc3\xa9"};
    struct ts_buf b;
    ts_buf_init(&b, 1024);
    for (size_t i = 0; i < TS_ARRAY_LEN(bad); i++) {
        assert_int_equal(ts_base58_decode(bad[i], strlen(bad[i]), &b), TS_ERR_MALFORMED);
        assert_int_equal(b.len, 0);
    }
    assert_int_equal(ts_base58_decode("2g\0", 3, &b), TS_ERR_MALFORMED);
    char *big = malloc(TS_BASE58_TEXT_MAX + 1);
    memset(big, 'z', TS_BASE58_TEXT_MAX + 1);
    assert_int_equal(ts_base58_decode(big, TS_BASE58_TEXT_MAX + 1, &b), TS_ERR_TOO_LARGE);
    free(big);
    /* The output buffer's own maximum applies too. */
    struct ts_buf small;
    ts_buf_init(&small, 2);
    assert_int_equal(ts_base58_decode("a3gV", 4, &small), TS_ERR_TOO_LARGE);
    ts_buf_release(&small);
    ts_buf_release(&b);
}

static void test_base58check_vectors_and_errors(void **state)
{
    (void)state;
    struct ts_buf b;
    ts_buf_init(&b, 1024);
    uint8_t zero20[20] = {0};
    assert_int_equal(ts_base58check_encode(0, zero20, sizeof zero20, &b), TS_OK);
    assert_string_equal((char *)b.data, "1111111111111111111114oLvT2");
    ts_buf_clear(&b);
    assert_int_equal(ts_base58check_encode(0, (const uint8_t *)"hello", 5, &b), TS_OK);
    assert_string_equal((char *)b.data, "12L5B5yqsf7vwb");
    ts_buf_clear(&b);
    assert_int_equal(ts_base58check_encode(5, NULL, 0, &b), TS_OK);
    assert_string_equal((char *)b.data, "dDc8z6");

    uint8_t version = 99;
    struct ts_buf payload;
    ts_buf_init(&payload, 1024);
    assert_int_equal(ts_base58check_decode("12L5B5yqsf7vwb", 14, &version, &payload), TS_OK);
    assert_int_equal(version, 0);
    assert_int_equal(payload.len, 5);
    assert_memory_equal(payload.data, "hello", 5);
    ts_buf_clear(&payload);
    assert_int_equal(ts_base58check_decode("dDc8z6", 6, &version, &payload), TS_OK);
    assert_int_equal(version, 5);
    assert_int_equal(payload.len, 0);

    /* One changed character breaks the checksum; short text is truncated. */
    char text[] = "12L5B5yqsf7vwb";
    for (size_t i = 0; i < strlen(text); i++) {
        char saved = text[i];
        text[i] = saved == 'z' ? 'y' : 'z';
        ts_err err = ts_base58check_decode(text, strlen(text), &version, &payload);
        assert_true(err == TS_ERR_CHECKSUM || err == TS_ERR_TRUNCATED);
        text[i] = saved;
    }
    assert_int_equal(ts_base58check_decode("", 0, &version, &payload), TS_ERR_TRUNCATED);
    assert_int_equal(ts_base58check_decode("2g", 2, &version, &payload), TS_ERR_TRUNCATED);
    assert_int_equal(ts_base58check_decode("12L5B5yqsf7vw", 13, &version, &payload),
                     TS_ERR_CHECKSUM);
    assert_int_equal(ts_base58check_decode("12L5B5yqsf7vw0", 14, &version, &payload),
                     TS_ERR_MALFORMED);
    assert_int_equal(payload.len, 0);
    ts_buf_release(&payload);
    ts_buf_release(&b);
}

static const struct {
    const char *plain;
    const char *text;
} BASE32_VECTORS[] = {
    {"", ""},
    {"f", "MY"},
    {"fo", "MZXQ"},
    {"foo", "MZXW6"},
    {"foob", "MZXW6YQ"},
    {"fooba", "MZXW6YTB"},
    {"foobar", "MZXW6YTBOI"},
};

static void test_base32_rfc4648_vectors_both_alphabets(void **state)
{
    (void)state;
    for (size_t i = 0; i < TS_ARRAY_LEN(BASE32_VECTORS); i++) {
        const char *p = BASE32_VECTORS[i].plain;
        const char *t = BASE32_VECTORS[i].text;
        char lower[32];
        size_t n = strlen(t);
        for (size_t j = 0; j <= n; j++) {
            lower[j] = (t[j] >= 'A' && t[j] <= 'Z') ? (char)(t[j] - 'A' + 'a') : t[j];
        }
        char out[32];
        assert_int_equal(ts_base32_encoded_len(strlen(p)), n);
        assert_int_equal(
            ts_base32_encode_to(TS_BASE32_STD, (const uint8_t *)p, strlen(p), out, sizeof out),
            TS_OK);
        assert_string_equal(out, t);
        assert_int_equal(
            ts_base32_encode_to(TS_BASE32_LOWER, (const uint8_t *)p, strlen(p), out, sizeof out),
            TS_OK);
        assert_string_equal(out, lower);
        struct ts_buf b;
        ts_buf_init(&b, 64);
        assert_int_equal(ts_base32_decode(TS_BASE32_STD, t, n, &b), TS_OK);
        assert_int_equal(b.len, strlen(p));
        assert_memory_equal(b.data, p, b.len);
        ts_buf_clear(&b);
        assert_int_equal(ts_base32_decode(TS_BASE32_LOWER, lower, n, &b), TS_OK);
        assert_memory_equal(b.data, p, b.len);
        ts_buf_clear(&b);
        assert_int_equal(ts_base32_encode(TS_BASE32_STD, (const uint8_t *)p, strlen(p), &b), TS_OK);
        assert_string_equal((char *)b.data, t);
        ts_buf_release(&b);
    }
}

static void test_base32_piece_id_is_52_chars_and_round_trips(void **state)
{
    (void)state;
    for (int round = 0; round < 50; round++) {
        uint8_t id[32];
        for (size_t i = 0; i < sizeof id; i++) {
            id[i] = rng_byte();
        }
        char text[53];
        assert_int_equal(ts_base32_encode_to(TS_BASE32_LOWER, id, sizeof id, text, sizeof text),
                         TS_OK);
        assert_int_equal(strlen(text), 52);
        struct ts_buf b;
        ts_buf_init(&b, 32);
        assert_int_equal(ts_base32_decode(TS_BASE32_LOWER, text, 52, &b), TS_OK);
        assert_memory_equal(b.data, id, 32);
        ts_buf_release(&b);
    }
    char small[52];
    uint8_t id[32] = {0};
    assert_int_equal(ts_base32_encode_to(TS_BASE32_STD, id, 32, small, sizeof small),
                     TS_ERR_TOO_LARGE);
}

static void test_base32_rejects_bad_text(void **state)
{
    (void)state;
    static const struct {
        enum ts_base32_alphabet alphabet;
        const char *text;
    } bad[] = {
        {TS_BASE32_STD, "my"},       /* wrong case for the alphabet */
        {TS_BASE32_LOWER, "MY"},     /* and the other way round */
        {TS_BASE32_STD, "MY======"}, /* padding is not accepted */
        {TS_BASE32_STD, "M"},        /* lengths no byte string encodes to */
        {TS_BASE32_STD, "MZX"},      {TS_BASE32_STD, "MZXW6Y"},
        {TS_BASE32_STD, "MZ"}, /* non-zero unused bits ("f" is "MY") */
        {TS_BASE32_STD, "MZXR"},     {TS_BASE32_STD, "MZ1Q"}, /* '1' and '8' are not base32 */
        {TS_BASE32_STD, "MZ8Q"},     {TS_BASE32_LOWER, "mz q"},
    };
    struct ts_buf b;
    ts_buf_init(&b, 64);
    for (size_t i = 0; i < TS_ARRAY_LEN(bad); i++) {
        assert_int_equal(ts_base32_decode(bad[i].alphabet, bad[i].text, strlen(bad[i].text), &b),
                         TS_ERR_MALFORMED);
        assert_int_equal(b.len, 0);
    }
    struct ts_buf tiny;
    ts_buf_init(&tiny, 2);
    assert_int_equal(ts_base32_decode(TS_BASE32_STD, "MZXW6", 5, &tiny), TS_ERR_TOO_LARGE);
    ts_buf_release(&tiny);
    ts_buf_release(&b);
}

static void test_uvarint_values_and_rejections(void **state)
{
    (void)state;
    static const struct {
        uint64_t v;
        const char *hex;
    } ok[] = {
        {0, "00"},
        {1, "01"},
        {127, "7f"},
        {128, "8001"},
        {300, "ac02"},
        {16384, "808001"},
        {UINT64_MAX, "ffffffffffffffffff01"},
    };
    for (size_t i = 0; i < TS_ARRAY_LEN(ok); i++) {
        uint8_t want[16], got[TS_UVARINT_SIZE_MAX];
        size_t n = hex_decode(ok[i].hex, want);
        assert_int_equal(ts_uvarint_put(got, ok[i].v), n);
        assert_memory_equal(got, want, n);
        uint64_t v = 0;
        size_t used = 0;
        assert_int_equal(ts_uvarint_get(want, n, &v, &used), TS_OK);
        assert_true(v == ok[i].v);
        assert_int_equal(used, n);
        /* A prefix of the encoding is truncated. */
        assert_int_equal(ts_uvarint_get(want, n - 1, &v, &used), TS_ERR_TRUNCATED);
    }
    static const struct {
        const char *hex;
        ts_err err;
    } bad[] = {
        {"8000", TS_ERR_MALFORMED},                 /* overlong zero */
        {"ff00", TS_ERR_MALFORMED},                 /* overlong 127 */
        {"ffffffffffffffffff02", TS_ERR_MALFORMED}, /* 2^64: overflow */
        {"ffffffffffffffffff7f", TS_ERR_MALFORMED},
        {"ffffffffffffffffffff01", TS_ERR_MALFORMED}, /* eleven bytes */
        {"80", TS_ERR_TRUNCATED},
        {"ffff", TS_ERR_TRUNCATED},
    };
    for (size_t i = 0; i < TS_ARRAY_LEN(bad); i++) {
        uint8_t in[16];
        size_t n = hex_decode(bad[i].hex, in);
        uint64_t v = 0;
        size_t used = 0;
        assert_int_equal(ts_uvarint_get(in, n, &v, &used), bad[i].err);
    }
    uint64_t v = 0;
    size_t used = 0;
    assert_int_equal(ts_uvarint_get(NULL, 0, &v, &used), TS_ERR_TRUNCATED);
    struct ts_buf b;
    ts_buf_init(&b, 16);
    assert_int_equal(ts_uvarint_append(&b, 300), TS_OK);
    assert_int_equal(b.len, 2);
    ts_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base58_known_vectors),
        cmocka_unit_test(test_base58_round_trips_random_data),
        cmocka_unit_test(test_base58_rejects_foreign_characters_and_oversize),
        cmocka_unit_test(test_base58check_vectors_and_errors),
        cmocka_unit_test(test_base32_rfc4648_vectors_both_alphabets),
        cmocka_unit_test(test_base32_piece_id_is_52_chars_and_round_trips),
        cmocka_unit_test(test_base32_rejects_bad_text),
        cmocka_unit_test(test_uvarint_values_and_rejections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
