/* Unit tests for core/macaroon: the HMAC chain (removing, reordering or altering anything breaks
 * it), the exact binary layout, strict parsing of hostile bytes, caveat encoding, and the
 * table of which actions a caveat allows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "base/buf.h"
#include "crypto/hash.h"
#include "macaroon/macaroon.h"

static const uint8_t SECRET[32] = {0x5e, 0xc7, 0x37, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

static struct ts_macaroon *root_key(void)
{
    uint8_t head[32];
    memset(head, 0x11, sizeof head);
    struct ts_macaroon *m = NULL;
    assert_int_equal(ts_macaroon_new_from(head, SECRET, &m), TS_OK);
    return m;
}

static struct ts_macaroon *key_with_caveats(const char *const *caveats, size_t n)
{
    struct ts_macaroon *m = root_key();
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ts_macaroon_add_caveat(m, (const uint8_t *)caveats[i], strlen(caveats[i])),
                         TS_OK);
    }
    return m;
}

/* Builds the binary form from parts with the test's own encoder (all lengths < 128). */
static void build_wire(struct ts_buf *b, const uint8_t *head, size_t head_len,
                       const char *const *caveats, size_t n, const uint8_t *tail)
{
    ts_buf_init(b, 1u << 20);
    uint8_t hdr[] = {2, 2, (uint8_t)head_len};
    assert_int_equal(ts_buf_append(b, hdr, sizeof hdr), TS_OK);
    assert_int_equal(ts_buf_append(b, head, head_len), TS_OK);
    assert_int_equal(ts_buf_append_byte(b, 0), TS_OK);
    for (size_t i = 0; i < n; i++) {
        uint8_t p[] = {2, (uint8_t)strlen(caveats[i])};
        assert_int_equal(ts_buf_append(b, p, sizeof p), TS_OK);
        assert_int_equal(ts_buf_append_str(b, caveats[i]), TS_OK);
        assert_int_equal(ts_buf_append_byte(b, 0), TS_OK);
    }
    uint8_t end[] = {0, 6, 32};
    assert_int_equal(ts_buf_append(b, end, sizeof end), TS_OK);
    assert_int_equal(ts_buf_append(b, tail, 32), TS_OK);
}

static ts_err verify_wire(const struct ts_buf *b)
{
    struct ts_macaroon *m = NULL;
    ts_err err = ts_macaroon_parse(b->data, b->len, &m);
    assert_int_equal(err, TS_OK);
    err = ts_macaroon_verify(m, SECRET);
    ts_macaroon_free(m);
    return err;
}

static void test_chain_verifies_and_exposes_every_tail(void **state)
{
    (void)state;
    static const char *const cav[] = {"first", "second", "third"};
    struct ts_macaroon *m = key_with_caveats(cav, 3);
    assert_int_equal(ts_macaroon_verify(m, SECRET), TS_OK);
    uint8_t wrong[32];
    memcpy(wrong, SECRET, 32);
    wrong[0] ^= 1;
    assert_int_equal(ts_macaroon_verify(m, wrong), TS_ERR_AUTH_FAILED);

    uint8_t tails[4][32], expect[32];
    assert_int_equal(ts_macaroon_tails(m, SECRET, tails, 3), TS_ERR_INVALID_ARGUMENT);
    assert_int_equal(ts_macaroon_tails(m, SECRET, tails, 4), TS_OK);
    assert_int_equal(ts_hmac_sha256(SECRET, 32, ts_macaroon_head(m), 32, expect), TS_OK);
    assert_memory_equal(tails[0], expect, 32);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ts_hmac_sha256(tails[i], 32, cav[i], strlen(cav[i]), expect), TS_OK);
        assert_memory_equal(tails[i + 1], expect, 32);
    }
    assert_memory_equal(tails[3], ts_macaroon_tail(m), 32);
    ts_macaroon_free(m);
    ts_macaroon_free(NULL);
}

static void test_new_keys_are_random_and_verify(void **state)
{
    (void)state;
    uint8_t s1[32], s2[32];
    struct ts_macaroon *a = NULL, *b = NULL;
    assert_int_equal(ts_macaroon_new(s1, &a), TS_OK);
    assert_int_equal(ts_macaroon_new(s2, &b), TS_OK);
    assert_memory_not_equal(ts_macaroon_head(a), ts_macaroon_head(b), 32);
    assert_memory_not_equal(s1, s2, 32);
    assert_int_equal(ts_macaroon_verify(a, s1), TS_OK);
    assert_int_equal(ts_macaroon_verify(b, s1), TS_ERR_AUTH_FAILED);
    struct ts_macaroon *c = NULL;
    assert_int_equal(ts_macaroon_clone(a, &c), TS_OK);
    assert_int_equal(ts_macaroon_add_caveat(c, (const uint8_t *)"x", 1), TS_OK);
    assert_int_equal(ts_macaroon_caveat_count(a), 0);
    assert_int_equal(ts_macaroon_verify(c, s1), TS_OK);
    ts_macaroon_free(a);
    ts_macaroon_free(b);
    ts_macaroon_free(c);
}

static void test_binary_layout_is_exact_and_round_trips(void **state)
{
    (void)state;
    static const char *const cav[] = {"abc", ""};
    struct ts_macaroon *m = key_with_caveats(cav, 2);
    struct ts_buf got, want;
    ts_buf_init(&got, 4096);
    assert_int_equal(ts_macaroon_serialize(m, &got), TS_OK);
    build_wire(&want, ts_macaroon_head(m), 32, cav, 2, ts_macaroon_tail(m));
    assert_int_equal(got.len, want.len);
    assert_memory_equal(got.data, want.data, want.len);

    struct ts_macaroon *back = NULL;
    assert_int_equal(ts_macaroon_parse(got.data, got.len, &back), TS_OK);
    assert_int_equal(ts_macaroon_caveat_count(back), 2);
    size_t len = 0;
    const uint8_t *c0 = ts_macaroon_caveat(back, 0, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(c0, "abc", 3);
    (void)ts_macaroon_caveat(back, 1, &len);
    assert_int_equal(len, 0);
    assert_int_equal(ts_macaroon_verify(back, SECRET), TS_OK);

    /* API key text round trip, and a wrong version byte. */
    struct ts_buf text;
    ts_buf_init(&text, 1u << 20);
    assert_int_equal(ts_macaroon_api_key(m, &text), TS_OK);
    struct ts_macaroon *parsed = NULL;
    assert_int_equal(ts_macaroon_api_key_parse((char *)text.data, text.len, &parsed), TS_OK);
    assert_memory_equal(ts_macaroon_tail(parsed), ts_macaroon_tail(m), 32);
    assert_int_equal(ts_macaroon_verify(parsed, SECRET), TS_OK);
    text.data[text.len / 2] = text.data[text.len / 2] == 'z' ? 'y' : 'z';
    struct ts_macaroon *bad = NULL;
    assert_int_equal(ts_macaroon_api_key_parse((char *)text.data, text.len, &bad), TS_ERR_CHECKSUM);
    assert_null(bad);
    ts_macaroon_free(parsed);
    ts_macaroon_free(back);
    ts_macaroon_free(m);
    ts_buf_release(&got);
    ts_buf_release(&want);
    ts_buf_release(&text);
}

static void test_removed_reordered_or_altered_parts_fail_verification(void **state)
{
    (void)state;
    static const char *const cav[] = {"deny-writes", "bucket=photos", "until=2030"};
    struct ts_macaroon *m = key_with_caveats(cav, 3);
    const uint8_t *head = ts_macaroon_head(m);
    const uint8_t *tail = ts_macaroon_tail(m);
    struct ts_buf b;

    build_wire(&b, head, 32, cav, 3, tail);
    assert_int_equal(verify_wire(&b), TS_OK); /* the untouched key */
    ts_buf_release(&b);

    static const char *const drop_last[] = {"deny-writes", "bucket=photos"};
    static const char *const drop_first[] = {"bucket=photos", "until=2030"};
    static const char *const reordered[] = {"bucket=photos", "deny-writes", "until=2030"};
    static const char *const altered[] = {"deny-writes", "bucket=photoz", "until=2030"};
    static const char *const *const variants[] = {drop_last, drop_first, reordered, altered};
    static const size_t counts[] = {2, 2, 3, 3};
    for (size_t i = 0; i < TS_ARRAY_LEN(variants); i++) {
        build_wire(&b, head, 32, variants[i], counts[i], tail);
        assert_int_equal(verify_wire(&b), TS_ERR_AUTH_FAILED);
        ts_buf_release(&b);
    }
    uint8_t head2[32], tail2[32];
    memcpy(head2, head, 32);
    head2[5] ^= 0x40;
    build_wire(&b, head2, 32, cav, 3, tail);
    assert_int_equal(verify_wire(&b), TS_ERR_AUTH_FAILED);
    ts_buf_release(&b);
    memcpy(tail2, tail, 32);
    tail2[31] ^= 1;
    build_wire(&b, head, 32, cav, 3, tail2);
    assert_int_equal(verify_wire(&b), TS_ERR_AUTH_FAILED);
    ts_buf_release(&b);

    /* Dropping the last caveat together with the tail before it is the parent key: only a holder
     * of the parent knows that tail, since HMAC does not run backwards. */
    uint8_t tails[4][32];
    assert_int_equal(ts_macaroon_tails(m, SECRET, tails, 4), TS_OK);
    build_wire(&b, head, 32, drop_last, 2, tails[2]);
    assert_int_equal(verify_wire(&b), TS_OK);
    ts_buf_release(&b);
    ts_macaroon_free(m);
}

static void test_parse_rejects_hostile_bytes(void **state)
{
    (void)state;
    static const char *const cav[] = {"abc"};
    struct ts_macaroon *m = key_with_caveats(cav, 1);
    struct ts_buf good;
    build_wire(&good, ts_macaroon_head(m), 32, cav, 1, ts_macaroon_tail(m));
    struct ts_macaroon *out = (struct ts_macaroon *)&good; /* must be reset to NULL */

    /* Every strict prefix is refused. */
    for (size_t n = 0; n < good.len; n++) {
        ts_err err = ts_macaroon_parse(good.data, n, &out);
        assert_true(err == TS_ERR_TRUNCATED || err == TS_ERR_MALFORMED);
        assert_null(out);
    }
    /* A trailing byte, a wrong version. */
    uint8_t buf[512];
    memcpy(buf, good.data, good.len);
    buf[good.len] = 0;
    assert_int_equal(ts_macaroon_parse(buf, good.len + 1, &out), TS_ERR_MALFORMED);
    buf[0] = 1;
    assert_int_equal(ts_macaroon_parse(buf, good.len, &out), TS_ERR_UNSUPPORTED_VERSION);

    struct ts_buf b;
    build_wire(&b, ts_macaroon_head(m), 31, cav, 1, ts_macaroon_tail(m)); /* short head */
    assert_int_equal(ts_macaroon_parse(b.data, b.len, &out), TS_ERR_MALFORMED);
    ts_buf_release(&b);
    build_wire(&b, ts_macaroon_head(m), 32, cav, 1, ts_macaroon_tail(m));
    b.data[b.len - 33] = 31; /* tail length 31, one byte left over */
    assert_int_equal(ts_macaroon_parse(b.data, b.len, &out), TS_ERR_MALFORMED);
    b.data[b.len - 33] = 33; /* tail length past the end */
    assert_int_equal(ts_macaroon_parse(b.data, b.len, &out), TS_ERR_TRUNCATED);
    b.data[b.len - 33] = 32;
    assert_int_equal(b.data[36], 2); /* the caveat's identifier field */
    b.data[36] = 4;                  /* turned into a verification id (third-party caveat) */
    assert_int_equal(ts_macaroon_parse(b.data, b.len, &out), TS_ERR_MALFORMED);
    b.data[36] = 3; /* an unknown field type */
    assert_int_equal(ts_macaroon_parse(b.data, b.len, &out), TS_ERR_MALFORMED);
    b.data[36] = 0x82; /* an overlong varint for 2 */
    b.data[37] = 0x00;
    assert_int_equal(ts_macaroon_parse(b.data, b.len, &out), TS_ERR_MALFORMED);
    ts_buf_release(&b);

    /* A location packet is accepted and dropped; two identifiers are refused. */
    static const uint8_t located_head[] = {2, 1, 3, 'l', 'o', 'c', 2, 32};
    ts_buf_init(&b, 1024);
    assert_int_equal(ts_buf_append(&b, located_head, sizeof located_head), TS_OK);
    assert_int_equal(ts_buf_append(&b, good.data + 3, good.len - 3), TS_OK);
    assert_int_equal(ts_macaroon_parse(b.data, b.len, &out), TS_OK);
    assert_int_equal(ts_macaroon_verify(out, SECRET), TS_OK);
    ts_macaroon_free(out);
    b.data[1] = 2; /* identifier then identifier */
    assert_int_equal(ts_macaroon_parse(b.data, b.len, &out), TS_ERR_MALFORMED);
    ts_buf_release(&b);

    uint8_t *big = calloc(1, TS_MACAROON_SIZE_MAX + 1);
    big[0] = 2;
    assert_int_equal(ts_macaroon_parse(big, TS_MACAROON_SIZE_MAX + 1, &out), TS_ERR_TOO_LARGE);
    free(big);
    assert_null(out);
    ts_buf_release(&good);
    ts_macaroon_free(m);
}

static void test_caveat_count_and_size_limits(void **state)
{
    (void)state;
    struct ts_macaroon *m = root_key();
    uint8_t *big = calloc(1, TS_CAVEAT_SIZE_MAX + 1);
    assert_int_equal(ts_macaroon_add_caveat(m, big, TS_CAVEAT_SIZE_MAX + 1), TS_ERR_TOO_LARGE);
    for (int i = 0; i < TS_MACAROON_CAVEATS_MAX; i++) {
        assert_int_equal(ts_macaroon_add_caveat(m, big, 16), TS_OK);
    }
    uint8_t tail[32];
    memcpy(tail, ts_macaroon_tail(m), 32);
    assert_int_equal(ts_macaroon_add_caveat(m, big, 16), TS_ERR_TOO_LARGE);
    assert_memory_equal(tail, ts_macaroon_tail(m), 32); /* unchanged on failure */
    assert_int_equal(ts_macaroon_verify(m, SECRET), TS_OK);
    /* The maximum round trips; the parser refuses one caveat more. */
    struct ts_buf b;
    ts_buf_init(&b, TS_MACAROON_SIZE_MAX + 64);
    assert_int_equal(ts_macaroon_serialize(m, &b), TS_OK);
    struct ts_macaroon *back = NULL;
    assert_int_equal(ts_macaroon_parse(b.data, b.len, &back), TS_OK);
    ts_macaroon_free(back);
    size_t end = b.len - 35; /* the caveat list's EOS */
    assert_int_equal(b.data[end], 0);
    static const uint8_t extra[] = {2, 1, 'x', 0, 0, 6, 32};
    ts_buf_truncate(&b, end);
    assert_int_equal(ts_buf_append(&b, extra, sizeof extra), TS_OK);
    assert_int_equal(ts_buf_append(&b, tail, 32), TS_OK);
    assert_int_equal(ts_macaroon_parse(b.data, b.len, &back), TS_ERR_TOO_LARGE);
    ts_buf_release(&b);
    /* The serialized size bound holds even with few caveats. */
    struct ts_macaroon *fat = root_key();
    int added = 0;
    while (ts_macaroon_add_caveat(fat, big, TS_CAVEAT_SIZE_MAX) == TS_OK) {
        added++;
    }
    assert_int_equal(added, TS_MACAROON_SIZE_MAX / TS_CAVEAT_SIZE_MAX - 1);
    free(big);
    ts_macaroon_free(fat);
    ts_macaroon_free(m);
}

static void test_caveat_encoding_round_trip_and_rejections(void **state)
{
    (void)state;
    struct ts_caveat c, d;
    ts_caveat_init(&c);
    c.disallow_writes = true;
    c.disallow_deletes = true;
    c.not_before_s = 1000;
    c.not_after_s = 2000;
    c.max_object_ttl_s = 3600;
    c.nonce_len = 4;
    memcpy(c.nonce, "\x01\x02\x03\x04", 4);
    assert_int_equal(ts_caveat_add_path(&c, (const uint8_t *)"photos", 6, (const uint8_t *)"E1", 2),
                     TS_OK);
    assert_int_equal(ts_caveat_add_path(&c, (const uint8_t *)"docs", 4, NULL, 0), TS_OK);
    assert_int_equal(ts_caveat_add_path(&c, NULL, 0, NULL, 0), TS_ERR_INVALID_ARGUMENT);
    struct ts_buf b;
    ts_buf_init(&b, TS_CAVEAT_SIZE_MAX);
    assert_int_equal(ts_caveat_encode(&c, &b), TS_OK);
    assert_int_equal(ts_caveat_decode(b.data, b.len, &d), TS_OK);
    assert_true(d.disallow_writes && d.disallow_deletes && !d.disallow_reads && !d.disallow_lists);
    assert_true(d.not_before_s == 1000 && d.not_after_s == 2000 && d.max_object_ttl_s == 3600);
    assert_int_equal(d.nonce_len, 4);
    assert_int_equal(d.path_count, 2);
    assert_int_equal(d.paths[0].prefix_len, 2);
    assert_memory_equal(d.paths[1].bucket, "docs", 4);
    assert_null(d.paths[1].prefix);
    ts_caveat_release(&d);

    /* An unknown field (number 5, varint 1) makes the caveat refuse to decode. */
    assert_int_equal(ts_buf_append(&b, "\x28\x01", 2), TS_OK);
    assert_int_equal(ts_caveat_decode(b.data, b.len, &d), TS_ERR_MALFORMED);
    ts_caveat_release(&d);
    static const uint8_t negative_ttl[] = {0xb0, 0x01, 0xff, 0xff, 0xff, 0xff,
                                           0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    assert_int_equal(ts_caveat_decode(negative_ttl, sizeof negative_ttl, &d), TS_ERR_MALFORMED);
    static const uint8_t empty_bucket[] = {0x52, 0x02, 0x12, 0x00};
    assert_int_equal(ts_caveat_decode(empty_bucket, sizeof empty_bucket, &d), TS_ERR_MALFORMED);
    static const uint8_t garbage[] = {0xff, 0xff, 0xff};
    assert_int_equal(ts_caveat_decode(garbage, sizeof garbage, &d), TS_ERR_MALFORMED);
    assert_int_equal(ts_caveat_decode(NULL, 0, &d), TS_OK); /* the empty caveat restricts nothing */
    ts_caveat_release(&d);
    ts_buf_release(&b);
    ts_caveat_release(&c);
}

#define OK TS_OK
#define DENY TS_ERR_PERMISSION_DENIED
static const struct {
    enum ts_action_op op;
    const char *bucket, *path;
    int64_t time_s;
    ts_err want;
    const char *why;
} ACTIONS[] = {
    {TS_ACTION_READ, "photos", "E1/E2/E3", 1500, OK, "inside the prefix"},
    {TS_ACTION_READ, "photos", "E1/E2", 1500, OK, "the prefix itself"},
    {TS_ACTION_READ, "photos", "E1/E2x", 1500, DENY, "sibling sharing the prefix's bytes"},
    {TS_ACTION_READ, "photos", "E1/E3/E2", 1500, DENY, "sibling subtree"},
    {TS_ACTION_READ, "photos", "E1", 1500, DENY, "the parent"},
    {TS_ACTION_READ, "photos", "E2/E1/E2", 1500, DENY, "prefix appearing later in the path"},
    {TS_ACTION_READ, "photo", "E1/E2/E3", 1500, DENY, "bucket name is a prefix"},
    {TS_ACTION_READ, "photoss", "E1/E2/E3", 1500, DENY, "bucket name extends"},
    {TS_ACTION_READ, "docs", "E1/E2/E3", 1500, DENY, "other bucket"},
    {TS_ACTION_WRITE, "photos", "E1/E2/E3", 1500, DENY, "writes disallowed"},
    {TS_ACTION_DELETE, "photos", "E1/E2/E3", 1500, OK, "deletes allowed"},
    {TS_ACTION_LIST, "photos", "E1/E2/", 1500, OK, "list the prefix"},
    {TS_ACTION_LIST, "photos", "E1/E2", 1500, OK, "list the prefix without slash"},
    {TS_ACTION_LIST, "photos", "E1/E2/E3/", 1500, OK, "list below the prefix"},
    {TS_ACTION_LIST, "photos", "E1/", 1500, DENY, "list the parent"},
    {TS_ACTION_LIST, "photos", "", 1500, DENY, "list the bucket root"},
    {TS_ACTION_READ, "photos", "", 1500, OK, "bucket metadata of a listed bucket"},
    {TS_ACTION_READ, "docs", "", 1500, DENY, "bucket metadata of another bucket"},
    {TS_ACTION_READ, "", "", 1500, OK, "list buckets (filtered per bucket)"},
    {TS_ACTION_WRITE, "photos", "", 1500, DENY, "create or change the bucket"},
    {TS_ACTION_DELETE, "photos", "", 1500, DENY, "delete the bucket"},
    {TS_ACTION_PROJECT_INFO, "", "", 1500, OK, "project info"},
    {TS_ACTION_READ, "photos", "E1/E2/E3", 999, TS_ERR_NOT_YET_VALID, "before the window"},
    {TS_ACTION_READ, "photos", "E1/E2/E3", 1000, OK, "window start"},
    {TS_ACTION_READ, "photos", "E1/E2/E3", 2000, OK, "window end"},
    {TS_ACTION_READ, "photos", "E1/E2/E3", 2001, TS_ERR_EXPIRED, "after the window"},
    {TS_ACTION_PROJECT_INFO, "", "", 2001, TS_ERR_EXPIRED, "expiry applies to everything"},
    {(enum ts_action_op)99, "photos", "E1/E2/E3", 1500, DENY, "unknown operation"},
};

static void check_actions(const struct ts_macaroon *m, const struct ts_caveat *c)
{
    for (size_t i = 0; i < TS_ARRAY_LEN(ACTIONS); i++) {
        struct ts_action a = {
            .op = ACTIONS[i].op,
            .bucket = (const uint8_t *)ACTIONS[i].bucket,
            .bucket_len = strlen(ACTIONS[i].bucket),
            .encrypted_path = (const uint8_t *)ACTIONS[i].path,
            .encrypted_path_len = strlen(ACTIONS[i].path),
            .time_s = ACTIONS[i].time_s,
        };
        ts_err got = m != NULL ? ts_macaroon_allows(m, &a) : ts_caveat_allows(c, &a);
        if (got != ACTIONS[i].want) {
            fail_msg("row %zu (%s): got %s, want %s", i, ACTIONS[i].why, ts_errname(got),
                     ts_errname(ACTIONS[i].want));
        }
    }
}

static void test_caveat_allows_table(void **state)
{
    (void)state;
    struct ts_caveat c;
    ts_caveat_init(&c);
    c.disallow_writes = true;
    c.not_before_s = 1000;
    c.not_after_s = 2000;
    assert_int_equal(
        ts_caveat_add_path(&c, (const uint8_t *)"photos", 6, (const uint8_t *)"E1/E2", 5), TS_OK);
    check_actions(NULL, &c);

    /* The same through a key, with an unrestricted caveat added: the table must not change. */
    struct ts_macaroon *m = root_key();
    assert_int_equal(ts_macaroon_restrict(m, &c), TS_OK);
    struct ts_caveat open;
    ts_caveat_init(&open);
    assert_int_equal(ts_macaroon_restrict(m, &open), TS_OK);
    check_actions(m, NULL);

    /* A caveat that does not decode refuses everything, even project info. */
    assert_int_equal(ts_macaroon_add_caveat(m, (const uint8_t *)"\xff\xff", 2), TS_OK);
    struct ts_action info = {.op = TS_ACTION_PROJECT_INFO, .time_s = 1500};
    assert_int_equal(ts_macaroon_allows(m, &info), DENY);
    ts_macaroon_free(m);
    ts_caveat_release(&c);
}

static void test_caveats_intersect_and_whole_bucket_paths(void **state)
{
    (void)state;
    struct ts_macaroon *m = root_key();
    struct ts_caveat c;
    ts_caveat_init(&c);
    assert_int_equal(ts_caveat_add_path(&c, (const uint8_t *)"photos", 6, NULL, 0), TS_OK);
    assert_int_equal(ts_caveat_add_path(&c, (const uint8_t *)"docs", 4, (const uint8_t *)"D/", 2),
                     TS_OK);
    assert_int_equal(ts_macaroon_restrict(m, &c), TS_OK);
    struct ts_action a = {.op = TS_ACTION_WRITE,
                          .bucket = (const uint8_t *)"photos",
                          .bucket_len = 6,
                          .encrypted_path = (const uint8_t *)"",
                          .time_s = 5};
    assert_int_equal(ts_macaroon_allows(m, &a), OK); /* whole bucket: bucket-level writes */
    a.op = TS_ACTION_LIST;
    assert_int_equal(ts_macaroon_allows(m, &a), OK);
    a.bucket = (const uint8_t *)"docs";
    a.bucket_len = 4;
    a.encrypted_path = (const uint8_t *)"D/x";
    a.encrypted_path_len = 3;
    assert_int_equal(ts_macaroon_allows(m, &a), OK); /* prefix ending in '/' */
    a.encrypted_path = (const uint8_t *)"Dx";
    a.encrypted_path_len = 2;
    assert_int_equal(ts_macaroon_allows(m, &a), DENY);
    ts_caveat_release(&c);

    /* A second caveat narrows the first: docs only, reads only. */
    ts_caveat_init(&c);
    c.disallow_lists = true;
    c.max_object_ttl_s = 60;
    assert_int_equal(ts_caveat_add_path(&c, (const uint8_t *)"docs", 4, NULL, 0), TS_OK);
    assert_int_equal(ts_macaroon_restrict(m, &c), TS_OK);
    a.op = TS_ACTION_READ;
    a.encrypted_path = (const uint8_t *)"D/x";
    a.encrypted_path_len = 3;
    assert_int_equal(ts_macaroon_allows(m, &a), OK);
    a.op = TS_ACTION_LIST;
    assert_int_equal(ts_macaroon_allows(m, &a), DENY);
    a.op = TS_ACTION_WRITE;
    a.bucket = (const uint8_t *)"photos";
    a.bucket_len = 6;
    a.encrypted_path = (const uint8_t *)"P";
    a.encrypted_path_len = 1;
    assert_int_equal(ts_macaroon_allows(m, &a), DENY);
    ts_caveat_release(&c);

    ts_caveat_init(&c);
    c.max_object_ttl_s = 600;
    assert_int_equal(ts_macaroon_restrict(m, &c), TS_OK);
    int64_t ttl = -1;
    assert_int_equal(ts_macaroon_max_object_ttl(m, &ttl), TS_OK);
    assert_int_equal(ttl, 60);
    ts_caveat_release(&c);
    ts_macaroon_free(m);
}

/* A key computed independently (Python's hmac and a hand-written protobuf): zero secret, head of
 * 0x11 bytes, one caveat {disallow_writes, (photos, "E1/E2"), not_after 2000, not_before 1000,
 * nonce 01020304}. */
static const char INDEPENDENT_KEY_HEX[] =
    "02022011111111111111111111111111111111111111111111111111111111111111110002221001520f0a06"
    "70686f746f73120545312f4532a001d00fa801e807f2010401020304000006201526e0f30187eb1f2a871ab1"
    "75f2a93ae2f3baceb7efe89ec43eab44dcd2f9bf";

static void test_independently_computed_key(void **state)
{
    (void)state;
    uint8_t bin[sizeof INDEPENDENT_KEY_HEX / 2];
    size_t n = strlen(INDEPENDENT_KEY_HEX) / 2;
    for (size_t i = 0; i < n; i++) {
        char pair[3] = {INDEPENDENT_KEY_HEX[2 * i], INDEPENDENT_KEY_HEX[2 * i + 1], 0};
        bin[i] = (uint8_t)strtoul(pair, NULL, 16);
    }
    struct ts_macaroon *m = NULL;
    assert_int_equal(ts_macaroon_parse(bin, n, &m), TS_OK);
    static const uint8_t zero_secret[32] = {0};
    assert_int_equal(ts_macaroon_verify(m, zero_secret), TS_OK);
    assert_int_equal(ts_macaroon_verify(m, SECRET), TS_ERR_AUTH_FAILED);
    size_t len = 0;
    const uint8_t *raw = ts_macaroon_caveat(m, 0, &len);
    struct ts_caveat c;
    assert_int_equal(ts_caveat_decode(raw, len, &c), TS_OK);
    assert_true(c.disallow_writes && c.not_after_s == 2000 && c.not_before_s == 1000);
    assert_int_equal(c.nonce_len, 4);
    ts_caveat_release(&c);
    check_actions(m, NULL);
    struct ts_buf b;
    ts_buf_init(&b, 1024);
    assert_int_equal(ts_macaroon_serialize(m, &b), TS_OK);
    assert_int_equal(b.len, n);
    assert_memory_equal(b.data, bin, n);
    ts_buf_release(&b);
    ts_macaroon_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_verifies_and_exposes_every_tail),
        cmocka_unit_test(test_new_keys_are_random_and_verify),
        cmocka_unit_test(test_binary_layout_is_exact_and_round_trips),
        cmocka_unit_test(test_removed_reordered_or_altered_parts_fail_verification),
        cmocka_unit_test(test_parse_rejects_hostile_bytes),
        cmocka_unit_test(test_caveat_count_and_size_limits),
        cmocka_unit_test(test_caveat_encoding_round_trip_and_rejections),
        cmocka_unit_test(test_caveat_allows_table),
        cmocka_unit_test(test_caveats_intersect_and_whole_bucket_paths),
        cmocka_unit_test(test_independently_computed_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
