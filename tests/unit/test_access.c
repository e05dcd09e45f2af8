/* Unit tests for core/access: the encryption store (longest prefix, derivation downward), grants
 * (round trip, hostile text), and offline sharing: a restricted grant derives exactly the root's
 * keys inside its prefixes and nothing outside, and its caveat limits what the satellite allows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "access.pb-c.h"
#include "access/access.h"
#include "base/base.h"
#include "base/buf.h"
#include "crypto/path.h"
#include "encoding/encoding.h"
#include "macaroon/macaroon.h"

#define SAT "12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S@127.0.0.1:7777"
static const uint8_t SECRET[32] = {9, 8, 7, 6, 5, 4, 3, 2, 1};
static const uint8_t ROOT_KEY[32] = {0xaa, 0xbb, 0xcc, 1, 2, 3};

static struct ts_access *root_access(enum ts_path_cipher cipher)
{
    uint8_t head[32];
    memset(head, 0x42, sizeof head);
    struct ts_macaroon *m = NULL;
    assert_int_equal(ts_macaroon_new_from(head, SECRET, &m), TS_OK);
    struct ts_access *a = NULL;
    assert_int_equal(ts_access_new(SAT, m, &a), TS_OK);
    ts_macaroon_free(m);
    ts_access_set_default_key(a, ROOT_KEY);
    assert_int_equal(ts_access_set_default_cipher(a, cipher), TS_OK);
    return a;
}

/* Encrypted key and content key of key in bucket through a; returns the error. */
static ts_err encrypt(const struct ts_access *a, const char *bucket, const char *key,
                      struct ts_buf *enc, uint8_t content[32])
{
    ts_buf_init(enc, TS_ENCRYPTED_KEY_MAX);
    return ts_access_encrypt_key(a, bucket, key, strlen(key), enc, content);
}

static void test_default_key_matches_direct_derivation(void **state)
{
    (void)state;
    struct ts_access *a = root_access(TS_PATH_CIPHER_AESGCM);
    uint8_t bucket_key[32], last[32], content[32], want_content[32];
    assert_int_equal(ts_path_bucket_key(ROOT_KEY, "photos", bucket_key), TS_OK);
    struct ts_buf want, got, plain;
    ts_buf_init(&want, TS_ENCRYPTED_KEY_MAX);
    assert_int_equal(ts_path_encrypt(TS_PATH_CIPHER_AESGCM, bucket_key, "a/b/c", 5, &want, last),
                     TS_OK);
    assert_int_equal(ts_content_key_derive(last, want_content), TS_OK);
    assert_int_equal(encrypt(a, "photos", "a/b/c", &got, content), TS_OK);
    assert_int_equal(got.len, want.len);
    assert_memory_equal(got.data, want.data, want.len);
    assert_memory_equal(content, want_content, 32);

    ts_buf_init(&plain, TS_OBJECT_KEY_MAX);
    assert_int_equal(ts_access_decrypt_key(a, "photos", got.data, got.len, &plain), TS_OK);
    assert_string_equal((char *)plain.data, "a/b/c");
    ts_buf_clear(&plain);
    /* The bucket is folded into the key: another bucket cannot decrypt it. */
    assert_int_equal(ts_access_decrypt_key(a, "videos", got.data, got.len, &plain),
                     TS_ERR_AUTH_FAILED);
    assert_int_equal(plain.len, 0);
    assert_int_equal(ts_access_encrypt_key(a, "", "x", 1, &got, NULL), TS_ERR_INVALID_ARGUMENT);
    ts_buf_release(&plain);
    ts_buf_release(&want);
    ts_buf_release(&got);
    ts_access_free(a);
    ts_access_free(NULL);
}

static void test_longest_prefix_entry_wins(void **state)
{
    (void)state;
    struct ts_access *a = root_access(TS_PATH_CIPHER_AESGCM);
    uint8_t k1[32], k2[32];
    memset(k1, 1, 32);
    memset(k2, 2, 32);
    /* Entries with keys unrelated to the root key, so it shows which one encrypted. */
    assert_int_equal(ts_access_add_entry(a, "photos", "a", 1, (const uint8_t *)"A", 1, k1,
                                         TS_PATH_CIPHER_AESGCM),
                     TS_OK);
    assert_int_equal(ts_access_add_entry(a, "photos", "a/b", 3, (const uint8_t *)"A/B", 3, k2,
                                         TS_PATH_CIPHER_AESGCM),
                     TS_OK);
    assert_int_equal(ts_access_add_entry(a, "photos", "x", 1, NULL, 0, k2, TS_PATH_CIPHER_AESGCM),
                     TS_ERR_INVALID_ARGUMENT); /* only "" encrypts to "" */
    struct ts_buf enc, want;
    uint8_t content[32];
    assert_int_equal(encrypt(a, "photos", "a/b/c", &enc, content), TS_OK);
    ts_buf_init(&want, TS_ENCRYPTED_KEY_MAX);
    assert_int_equal(ts_buf_append_str(&want, "A/B/"), TS_OK);
    assert_int_equal(ts_path_encrypt(TS_PATH_CIPHER_AESGCM, k2, "c", 1, &want, NULL), TS_OK);
    assert_int_equal(enc.len, want.len);
    assert_memory_equal(enc.data, want.data, want.len);
    ts_buf_release(&enc);
    ts_buf_clear(&want);
    /* "a/bc" is not under "a/b": the entry "a" applies. */
    assert_int_equal(encrypt(a, "photos", "a/bc", &enc, content), TS_OK);
    assert_int_equal(ts_buf_append_str(&want, "A/"), TS_OK);
    assert_int_equal(ts_path_encrypt(TS_PATH_CIPHER_AESGCM, k1, "bc", 2, &want, NULL), TS_OK);
    assert_memory_equal(enc.data, want.data, want.len);
    ts_buf_release(&enc);
    /* Replacing an entry keeps one per (bucket, prefix). */
    assert_int_equal(ts_access_add_entry(a, "photos", "a", 1, (const uint8_t *)"A", 1, k2,
                                         TS_PATH_CIPHER_AESGCM),
                     TS_OK);
    assert_int_equal(ts_access_entry_count(a), 2);
    ts_buf_release(&want);
    ts_access_free(a);
}

/* Keys under the shared prefix, as seen from the root and from the restricted grant. */
static const char *const INSIDE[] = {"a/b",    "a/b/",     "a/b/c",        "a/b/c/d",
                                     "a/b//x", "a/b/../c", "a/b/\xff\x00z"};
static const char *const OUTSIDE[] = {"a", "a/c", "a/bc", "a/b.", "b/a/b", "", "/a/b"};

static void check_restricted_matches_root(const struct ts_access *root,
                                          const struct ts_access *shared)
{
    for (size_t i = 0; i < TS_ARRAY_LEN(INSIDE); i++) {
        struct ts_buf e1, e2, plain;
        uint8_t c1[32], c2[32];
        assert_int_equal(encrypt(root, "photos", INSIDE[i], &e1, c1), TS_OK);
        assert_int_equal(encrypt(shared, "photos", INSIDE[i], &e2, c2), TS_OK);
        assert_int_equal(e1.len, e2.len);
        assert_memory_equal(e1.data, e2.data, e1.len);
        assert_memory_equal(c1, c2, 32);
        ts_buf_init(&plain, TS_OBJECT_KEY_MAX);
        assert_int_equal(ts_access_decrypt_key(shared, "photos", e1.data, e1.len, &plain), TS_OK);
        assert_int_equal(plain.len, strlen(INSIDE[i]));
        assert_memory_equal(plain.data, INSIDE[i], plain.len);
        ts_buf_release(&plain);
        ts_buf_release(&e1);
        ts_buf_release(&e2);
    }
    for (size_t i = 0; i < TS_ARRAY_LEN(OUTSIDE); i++) {
        struct ts_buf e1, e2, plain;
        uint8_t c[32];
        assert_int_equal(encrypt(root, "photos", OUTSIDE[i], &e1, c), TS_OK);
        assert_int_equal(encrypt(shared, "photos", OUTSIDE[i], &e2, c), TS_ERR_PERMISSION_DENIED);
        assert_int_equal(e2.len, 0);
        ts_buf_init(&plain, TS_OBJECT_KEY_MAX);
        ts_err err = ts_access_decrypt_key(shared, "photos", e1.data, e1.len, &plain);
        assert_true(err == TS_ERR_PERMISSION_DENIED);
        assert_int_equal(plain.len, 0);
        ts_buf_release(&plain);
        ts_buf_release(&e1);
        ts_buf_release(&e2);
    }
    struct ts_buf e;
    uint8_t c[32];
    assert_int_equal(encrypt(shared, "videos", "a/b/c", &e, c), TS_ERR_PERMISSION_DENIED);
    ts_buf_release(&e);
}

static void test_share_hands_over_exactly_the_prefix_keys(void **state)
{
    (void)state;
    static const enum ts_path_cipher ciphers[] = {TS_PATH_CIPHER_AESGCM, TS_PATH_CIPHER_NULL};
    for (size_t ci = 0; ci < TS_ARRAY_LEN(ciphers); ci++) {
        struct ts_access *root = root_access(ciphers[ci]);
        struct ts_access_permission perm = {.allow_read = true, .allow_list = true};
        struct ts_access_prefix p = {.bucket = "photos", .prefix = "a/b/", .prefix_len = 4};
        struct ts_access *shared = NULL;
        assert_int_equal(ts_access_share(root, &perm, &p, 1, &shared), TS_OK);
        assert_false(ts_access_has_default_key(shared));
        assert_int_equal(ts_access_default_cipher(shared), ciphers[ci]);
        assert_int_equal(ts_access_entry_count(shared), 1);

        /* The entry: "a/b" (slash trimmed), its root encryption and derived key. */
        struct ts_access_entry e;
        ts_access_entry_get(shared, 0, &e);
        assert_string_equal(e.bucket, "photos");
        assert_string_equal(e.unencrypted_prefix, "a/b");
        uint8_t bucket_key[32], prefix_key[32];
        assert_int_equal(ts_path_bucket_key(ROOT_KEY, "photos", bucket_key), TS_OK);
        assert_int_equal(ts_path_derive_key(bucket_key, "a/b", 3, prefix_key), TS_OK);
        assert_memory_equal(e.key, prefix_key, 32);
        assert_int_equal(e.cipher, ciphers[ci]);
        struct ts_buf enc;
        assert_int_equal(encrypt(root, "photos", "a/b", &enc, NULL), TS_OK);
        assert_int_equal(e.encrypted_prefix_len, enc.len);
        assert_memory_equal(e.encrypted_prefix, enc.data, enc.len);
        ts_buf_release(&enc);

        check_restricted_matches_root(root, shared);
        /* The source grant is unchanged. */
        assert_true(ts_access_has_default_key(root));
        assert_int_equal(ts_macaroon_caveat_count(ts_access_api_key(root)), 0);
        ts_access_free(shared);
        ts_access_free(root);
    }
}

static ts_err allows(const struct ts_access *a, enum ts_action_op op, const char *bucket,
                     const struct ts_buf *enc, const char *suffix, int64_t time_s)
{
    uint8_t path[TS_ENCRYPTED_KEY_MAX + 8];
    size_t n = enc ? enc->len : 0;
    if (n > 0) {
        memcpy(path, enc->data, n);
    }
    memcpy(path + n, suffix, strlen(suffix));
    n += strlen(suffix);
    struct ts_action act = {.op = op,
                            .bucket = (const uint8_t *)bucket,
                            .bucket_len = strlen(bucket),
                            .encrypted_path = path,
                            .encrypted_path_len = n,
                            .time_s = time_s};
    return ts_macaroon_allows(ts_access_api_key(a), &act);
}

static void test_share_caveat_limits_the_satellite(void **state)
{
    (void)state;
    struct ts_access *root = root_access(TS_PATH_CIPHER_AESGCM);
    struct ts_access_permission perm = {.allow_read = true,
                                        .allow_list = true,
                                        .not_before_s = 1000,
                                        .not_after_s = 2000,
                                        .max_object_ttl_s = 86400};
    struct ts_access_prefix p = {.bucket = "photos", .prefix = "a/b", .prefix_len = 3};
    struct ts_access *shared = NULL, *again = NULL;
    assert_int_equal(ts_access_share(root, &perm, &p, 1, &shared), TS_OK);
    assert_int_equal(ts_access_share(root, &perm, &p, 1, &again), TS_OK);
    const struct ts_macaroon *key = ts_access_api_key(shared);
    assert_int_equal(ts_macaroon_caveat_count(key), 1);
    assert_int_equal(ts_macaroon_verify(key, SECRET), TS_OK);
    /* The random nonce makes identical restrictions distinct keys. */
    assert_memory_not_equal(ts_macaroon_tail(key), ts_macaroon_tail(ts_access_api_key(again)), 32);
    int64_t ttl = 0;
    assert_int_equal(ts_macaroon_max_object_ttl(key, &ttl), TS_OK);
    assert_int_equal(ttl, 86400);

    struct ts_buf in, sibling, parent;
    assert_int_equal(encrypt(root, "photos", "a/b/c", &in, NULL), TS_OK);
    assert_int_equal(encrypt(root, "photos", "a/c", &sibling, NULL), TS_OK);
    assert_int_equal(encrypt(root, "photos", "a", &parent, NULL), TS_OK);
    assert_int_equal(allows(shared, TS_ACTION_READ, "photos", &in, "", 1500), TS_OK);
    assert_int_equal(allows(shared, TS_ACTION_LIST, "photos", &in, "/", 1500), TS_OK);
    assert_int_equal(allows(shared, TS_ACTION_WRITE, "photos", &in, "", 1500),
                     TS_ERR_PERMISSION_DENIED);
    assert_int_equal(allows(shared, TS_ACTION_DELETE, "photos", &in, "", 1500),
                     TS_ERR_PERMISSION_DENIED);
    assert_int_equal(allows(shared, TS_ACTION_READ, "photos", &sibling, "", 1500),
                     TS_ERR_PERMISSION_DENIED);
    assert_int_equal(allows(shared, TS_ACTION_LIST, "photos", &parent, "/", 1500),
                     TS_ERR_PERMISSION_DENIED);
    assert_int_equal(allows(shared, TS_ACTION_READ, "videos", &in, "", 1500),
                     TS_ERR_PERMISSION_DENIED);
    assert_int_equal(allows(shared, TS_ACTION_READ, "photos", &in, "", 999), TS_ERR_NOT_YET_VALID);
    assert_int_equal(allows(shared, TS_ACTION_READ, "photos", &in, "", 2001), TS_ERR_EXPIRED);
    /* The root key allows all of it. */
    assert_int_equal(allows(root, TS_ACTION_WRITE, "photos", &sibling, "", 5), TS_OK);
    ts_buf_release(&in);
    ts_buf_release(&sibling);
    ts_buf_release(&parent);
    ts_access_free(again);
    ts_access_free(shared);
    ts_access_free(root);
}

static void test_share_refuses_bad_prefixes_and_permissions(void **state)
{
    (void)state;
    struct ts_access *root = root_access(TS_PATH_CIPHER_AESGCM);
    struct ts_access_permission perm = {.allow_read = true};
    static const struct {
        const char *bucket, *prefix;
        ts_err want;
    } rows[] = {
        {"photos", "a/../c", TS_ERR_INVALID_ARGUMENT},
        {"photos", "..", TS_ERR_INVALID_ARGUMENT},
        {"photos", "a/./b", TS_ERR_INVALID_ARGUMENT},
        {"photos", "./a", TS_ERR_INVALID_ARGUMENT},
        {"photos", "a/..", TS_ERR_INVALID_ARGUMENT},
        {"photos", "a/../", TS_ERR_INVALID_ARGUMENT},
        {"photos", "/", TS_ERR_INVALID_ARGUMENT},
        {"", "a", TS_ERR_INVALID_ARGUMENT},
        {"photos", "a/...", TS_OK},
        {"photos", ".a/b.", TS_OK},
        {"photos", "", TS_OK},
        {"photos", "//", TS_OK},
    };
    for (size_t i = 0; i < TS_ARRAY_LEN(rows); i++) {
        struct ts_access_prefix p = {.bucket = rows[i].bucket,
                                     .prefix = rows[i].prefix,
                                     .prefix_len = strlen(rows[i].prefix)};
        struct ts_access *out = (struct ts_access *)root;
        ts_err err = ts_access_share(root, &perm, &p, 1, &out);
        if (err != rows[i].want) {
            fail_msg("row %zu (%s): got %s", i, rows[i].prefix, ts_errname(err));
        }
        assert_true((err == TS_OK) == (out != NULL));
        ts_access_free(out);
    }
    struct ts_access_prefix p = {.bucket = "photos", .prefix = "a", .prefix_len = 1};
    struct ts_access *out = NULL;
    perm.not_before_s = 2000;
    perm.not_after_s = 1000;
    assert_int_equal(ts_access_share(root, &perm, &p, 1, &out), TS_ERR_INVALID_ARGUMENT);
    perm.not_after_s = 0;
    perm.max_object_ttl_s = -1;
    assert_int_equal(ts_access_share(root, &perm, &p, 1, &out), TS_ERR_INVALID_ARGUMENT);
    perm.max_object_ttl_s = 0;
    struct ts_access_prefix many[TS_CAVEAT_PATHS_MAX + 1];
    for (size_t i = 0; i < TS_ARRAY_LEN(many); i++) {
        many[i] = p;
    }
    assert_int_equal(ts_access_share(root, &perm, many, TS_ARRAY_LEN(many), &out),
                     TS_ERR_TOO_LARGE);
    assert_null(out);
    ts_access_free(root);
}

static void test_reshare_narrows_and_cannot_widen(void **state)
{
    (void)state;
    struct ts_access *root = root_access(TS_PATH_CIPHER_AESGCM);
    struct ts_access_permission perm = {
        .allow_read = true, .allow_list = true, .allow_write = true};
    struct ts_access_prefix p[] = {{.bucket = "photos", .prefix = "a/b", .prefix_len = 3},
                                   {.bucket = "docs", .prefix = "", .prefix_len = 0}};
    struct ts_access *shared = NULL, *narrower = NULL, *wider = NULL;
    assert_int_equal(ts_access_share(root, &perm, p, 2, &shared), TS_OK);
    assert_int_equal(ts_access_entry_count(shared), 2);

    struct ts_access_prefix deeper = {.bucket = "photos", .prefix = "a/b/c", .prefix_len = 5};
    perm.allow_write = false;
    assert_int_equal(ts_access_share(shared, &perm, &deeper, 1, &narrower), TS_OK);
    assert_int_equal(ts_macaroon_caveat_count(ts_access_api_key(narrower)), 2);
    assert_int_equal(ts_macaroon_verify(ts_access_api_key(narrower), SECRET), TS_OK);
    struct ts_buf e1, e2;
    uint8_t c1[32], c2[32];
    assert_int_equal(encrypt(root, "photos", "a/b/c/d", &e1, c1), TS_OK);
    assert_int_equal(encrypt(narrower, "photos", "a/b/c/d", &e2, c2), TS_OK);
    assert_memory_equal(e1.data, e2.data, e1.len);
    assert_memory_equal(c1, c2, 32);
    ts_buf_release(&e1);
    ts_buf_release(&e2);
    assert_int_equal(encrypt(narrower, "photos", "a/b/x", &e2, c2), TS_ERR_PERMISSION_DENIED);
    ts_buf_release(&e2);
    assert_int_equal(encrypt(narrower, "docs", "x", &e2, c2), TS_ERR_PERMISSION_DENIED);
    ts_buf_release(&e2);
    /* The whole docs bucket came along in the first share. */
    assert_int_equal(encrypt(root, "docs", "x/y", &e1, c1), TS_OK);
    assert_int_equal(encrypt(shared, "docs", "x/y", &e2, c2), TS_OK);
    assert_memory_equal(e1.data, e2.data, e1.len);
    assert_memory_equal(c1, c2, 32);
    ts_buf_release(&e1);
    ts_buf_release(&e2);

    struct ts_access_prefix up = {.bucket = "photos", .prefix = "a", .prefix_len = 1};
    assert_int_equal(ts_access_share(shared, &perm, &up, 1, &wider), TS_ERR_PERMISSION_DENIED);
    assert_null(wider);
    ts_access_free(narrower);
    ts_access_free(shared);
    ts_access_free(root);
}

static void test_share_keeps_inner_entries_or_everything(void **state)
{
    (void)state;
    struct ts_access *root = root_access(TS_PATH_CIPHER_AESGCM);
    uint8_t k[32];
    memset(k, 7, 32);
    assert_int_equal(ts_access_add_entry(root, "photos", "a/b/c", 5, (const uint8_t *)"X/Y/Z", 5, k,
                                         TS_PATH_CIPHER_AESGCM),
                     TS_OK);
    assert_int_equal(ts_access_add_entry(root, "photos", "q", 1, (const uint8_t *)"Q", 1, k,
                                         TS_PATH_CIPHER_AESGCM),
                     TS_OK);
    struct ts_access_permission perm = {.allow_read = true};
    struct ts_access_prefix p = {.bucket = "photos", .prefix = "a/b", .prefix_len = 3};
    struct ts_access *shared = NULL;
    assert_int_equal(ts_access_share(root, &perm, &p, 1, &shared), TS_OK);
    assert_int_equal(ts_access_entry_count(shared), 2); /* a/b and a/b/c, not q */
    struct ts_buf e1, e2;
    assert_int_equal(encrypt(root, "photos", "a/b/c/d", &e1, NULL), TS_OK);
    assert_int_equal(encrypt(shared, "photos", "a/b/c/d", &e2, NULL), TS_OK);
    assert_int_equal(e1.len, e2.len);
    assert_memory_equal(e1.data, e2.data, e1.len);
    assert_memory_equal(e1.data, "X/Y/Z/", 6);
    ts_buf_release(&e1);
    ts_buf_release(&e2);
    ts_access_free(shared);

    /* No prefixes: permissions only, the store (default key included) is kept. */
    assert_int_equal(ts_access_share(root, &perm, NULL, 0, &shared), TS_OK);
    assert_true(ts_access_has_default_key(shared));
    assert_int_equal(ts_access_entry_count(shared), 2);
    assert_int_equal(ts_macaroon_caveat_count(ts_access_api_key(shared)), 1);
    ts_access_free(shared);
    ts_access_free(root);
}

static void assert_same_access(const struct ts_access *a, const struct ts_access *b)
{
    assert_string_equal(ts_access_satellite_url(a), ts_access_satellite_url(b));
    assert_memory_equal(ts_macaroon_tail(ts_access_api_key(a)),
                        ts_macaroon_tail(ts_access_api_key(b)), 32);
    assert_int_equal(ts_access_has_default_key(a), ts_access_has_default_key(b));
    assert_int_equal(ts_access_default_cipher(a), ts_access_default_cipher(b));
    assert_int_equal(ts_access_entry_count(a), ts_access_entry_count(b));
    for (size_t i = 0; i < ts_access_entry_count(a); i++) {
        struct ts_access_entry x, y;
        ts_access_entry_get(a, i, &x);
        ts_access_entry_get(b, i, &y);
        assert_string_equal(x.bucket, y.bucket);
        assert_int_equal(x.unencrypted_prefix_len, y.unencrypted_prefix_len);
        assert_memory_equal(x.unencrypted_prefix, y.unencrypted_prefix, x.unencrypted_prefix_len);
        assert_int_equal(x.encrypted_prefix_len, y.encrypted_prefix_len);
        assert_memory_equal(x.key, y.key, 32);
        assert_int_equal(x.cipher, y.cipher);
    }
}

static void test_grant_round_trip(void **state)
{
    (void)state;
    struct ts_access *root = root_access(TS_PATH_CIPHER_NULL);
    struct ts_access_permission perm = {.allow_read = true};
    struct ts_access_prefix p = {.bucket = "photos", .prefix = "a/b", .prefix_len = 3};
    struct ts_access *shared = NULL;
    assert_int_equal(ts_access_share(root, &perm, &p, 1, &shared), TS_OK);
    const struct ts_access *grants[] = {root, shared};
    for (size_t i = 0; i < TS_ARRAY_LEN(grants); i++) {
        struct ts_buf text, again;
        ts_buf_init(&text, TS_ACCESS_GRANT_TEXT_MAX);
        ts_buf_init(&again, TS_ACCESS_GRANT_TEXT_MAX);
        assert_int_equal(ts_access_serialize(grants[i], &text), TS_OK);
        struct ts_access *back = NULL;
        assert_int_equal(ts_access_parse((char *)text.data, text.len, &back), TS_OK);
        assert_same_access(grants[i], back);
        assert_int_equal(ts_access_serialize(back, &again), TS_OK);
        assert_string_equal((char *)text.data, (char *)again.data);
        assert_int_equal(ts_macaroon_verify(ts_access_api_key(back), SECRET), TS_OK);
        ts_access_free(back);
        ts_buf_release(&text);
        ts_buf_release(&again);
    }
    ts_access_free(shared);
    ts_access_free(root);
}

/* Serializes a hand-built scope as grant text (version byte given). */
static void scope_text(const Tessera__Access__Scope *s, uint8_t version, struct ts_buf *text)
{
    size_t n = tessera__access__scope__get_packed_size(s);
    uint8_t *buf = malloc(n + 1);
    tessera__access__scope__pack(s, buf);
    ts_buf_init(text, TS_ACCESS_GRANT_TEXT_MAX + 1024);
    assert_int_equal(ts_base58check_encode(version, buf, n, text), TS_OK);
    free(buf);
}

static ts_err parse_scope(const Tessera__Access__Scope *s, uint8_t version)
{
    struct ts_buf text;
    scope_text(s, version, &text);
    struct ts_access *a = (struct ts_access *)&text;
    ts_err err = ts_access_parse((char *)text.data, text.len, &a);
    assert_true((err == TS_OK) == (a != NULL));
    ts_access_free(a);
    ts_buf_release(&text);
    return err;
}

static void test_grant_parse_rejects_hostile_scopes(void **state)
{
    (void)state;
    struct ts_access *root = root_access(TS_PATH_CIPHER_AESGCM);
    struct ts_buf mac;
    ts_buf_init(&mac, TS_MACAROON_SIZE_MAX);
    assert_int_equal(ts_macaroon_serialize(ts_access_api_key(root), &mac), TS_OK);
    uint8_t key[32] = {1};
    Tessera__Access__EncryptionAccess__StoreEntry entry =
        TESSERA__ACCESS__ENCRYPTION_ACCESS__STORE_ENTRY__INIT;
    entry.bucket = (ProtobufCBinaryData){6, (uint8_t *)"photos"};
    entry.unencrypted_path = (ProtobufCBinaryData){1, (uint8_t *)"a"};
    entry.encrypted_path = (ProtobufCBinaryData){1, (uint8_t *)"A"};
    entry.key = (ProtobufCBinaryData){32, key};
    Tessera__Access__EncryptionAccess__StoreEntry *entries[TS_ACCESS_STORE_ENTRIES_MAX + 1];
    for (size_t i = 0; i < TS_ARRAY_LEN(entries); i++) {
        entries[i] = &entry;
    }
    Tessera__Access__EncryptionAccess enc = TESSERA__ACCESS__ENCRYPTION_ACCESS__INIT;
    enc.n_store_entries = 1;
    enc.store_entries = entries;
    enc.default_key = (ProtobufCBinaryData){32, key};
    Tessera__Access__Scope s = TESSERA__ACCESS__SCOPE__INIT;
    s.satellite_addr = (char *)SAT;
    s.api_key = (ProtobufCBinaryData){mac.len, mac.data};
    s.encryption_access = &enc;
    assert_int_equal(parse_scope(&s, 0), TS_OK);
    assert_int_equal(parse_scope(&s, 1), TS_ERR_UNSUPPORTED_VERSION);

    enc.default_key.len = 31;
    assert_int_equal(parse_scope(&s, 0), TS_ERR_MALFORMED);
    enc.default_key.len = 0; /* no default key is fine */
    assert_int_equal(parse_scope(&s, 0), TS_OK);
    entry.key.len = 31;
    assert_int_equal(parse_scope(&s, 0), TS_ERR_MALFORMED);
    entry.key.len = 32;
    entry.path_cipher = TESSERA__ACCESS__CIPHER_SUITE__ENC_SECRETBOX;
    assert_int_equal(parse_scope(&s, 0), TS_ERR_MALFORMED);
    entry.path_cipher = (Tessera__Access__CipherSuite)77;
    assert_int_equal(parse_scope(&s, 0), TS_ERR_MALFORMED);
    entry.path_cipher = TESSERA__ACCESS__CIPHER_SUITE__ENC_NULL;
    entry.bucket.len = 0;
    assert_int_equal(parse_scope(&s, 0), TS_ERR_MALFORMED);
    entry.bucket = (ProtobufCBinaryData){3, (uint8_t *)"a\0b"};
    assert_int_equal(parse_scope(&s, 0), TS_ERR_MALFORMED);
    entry.bucket = (ProtobufCBinaryData){6, (uint8_t *)"photos"};
    entry.encrypted_path.len = 0; /* "a" cannot encrypt to "" */
    assert_int_equal(parse_scope(&s, 0), TS_ERR_MALFORMED);
    entry.encrypted_path.len = 1;
    enc.n_store_entries = 2; /* the same (bucket, prefix) twice */
    assert_int_equal(parse_scope(&s, 0), TS_ERR_MALFORMED);
    enc.n_store_entries = TS_ACCESS_STORE_ENTRIES_MAX + 1;
    assert_int_equal(parse_scope(&s, 0), TS_ERR_TOO_LARGE);
    enc.n_store_entries = 1;

    char url[TS_NODE_URL_MAX + 2];
    memset(url, 'u', sizeof url - 1);
    url[sizeof url - 1] = 0;
    s.satellite_addr = url;
    assert_int_equal(parse_scope(&s, 0), TS_ERR_TOO_LARGE);
    s.satellite_addr = (char *)"";
    assert_int_equal(parse_scope(&s, 0), TS_ERR_MALFORMED);
    s.satellite_addr = (char *)SAT;
    s.api_key.len = 0;
    assert_int_equal(parse_scope(&s, 0), TS_ERR_MALFORMED);
    s.api_key.len = mac.len - 1;
    assert_int_equal(parse_scope(&s, 0), TS_ERR_TRUNCATED);
    s.api_key.len = mac.len;
    mac.data[0] = 7;
    assert_int_equal(parse_scope(&s, 0), TS_ERR_UNSUPPORTED_VERSION);
    ts_buf_release(&mac);
    ts_access_free(root);
}

static void test_grant_parse_rejects_bad_text(void **state)
{
    (void)state;
    struct ts_access *root = root_access(TS_PATH_CIPHER_AESGCM);
    struct ts_buf text;
    ts_buf_init(&text, TS_ACCESS_GRANT_TEXT_MAX);
    assert_int_equal(ts_access_serialize(root, &text), TS_OK);
    struct ts_access *out = NULL;
    /* Every strict prefix fails cleanly. */
    for (size_t n = 0; n < text.len; n++) {
        ts_err err = ts_access_parse((char *)text.data, n, &out);
        assert_true(err == TS_ERR_CHECKSUM || err == TS_ERR_TRUNCATED);
        assert_null(out);
    }
    /* Any changed character fails. */
    for (size_t i = 0; i < text.len; i += 7) {
        char saved = (char)text.data[i];
        text.data[i] = saved == '2' ? '3' : '2';
        ts_err err = ts_access_parse((char *)text.data, text.len, &out);
        assert_true(err == TS_ERR_CHECKSUM || err == TS_ERR_TRUNCATED);
        text.data[i] = (uint8_t)saved;
    }
    assert_int_equal(ts_access_parse("not base58!", 11, &out), TS_ERR_MALFORMED);
    char *big = malloc(TS_ACCESS_GRANT_TEXT_MAX + 1);
    memset(big, '2', TS_ACCESS_GRANT_TEXT_MAX + 1);
    assert_int_equal(ts_access_parse(big, TS_ACCESS_GRANT_TEXT_MAX + 1, &out), TS_ERR_TOO_LARGE);
    free(big);
    /* Valid base58check around bytes that are no protobuf. */
    struct ts_buf junk;
    ts_buf_init(&junk, 1024);
    assert_int_equal(ts_base58check_encode(0, (const uint8_t *)"\xff\xff\xff\xff", 4, &junk),
                     TS_OK);
    assert_int_equal(ts_access_parse((char *)junk.data, junk.len, &out), TS_ERR_MALFORMED);
    ts_buf_release(&junk);
    assert_null(out);
    ts_buf_release(&text);
    ts_access_free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_key_matches_direct_derivation),
        cmocka_unit_test(test_longest_prefix_entry_wins),
        cmocka_unit_test(test_share_hands_over_exactly_the_prefix_keys),
        cmocka_unit_test(test_share_caveat_limits_the_satellite),
        cmocka_unit_test(test_share_refuses_bad_prefixes_and_permissions),
        cmocka_unit_test(test_reshare_narrows_and_cannot_widen),
        cmocka_unit_test(test_share_keeps_inner_entries_or_everything),
        cmocka_unit_test(test_grant_round_trip),
        cmocka_unit_test(test_grant_parse_rejects_hostile_scopes),
        cmocka_unit_test(test_grant_parse_rejects_bad_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
