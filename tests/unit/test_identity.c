/* Unit tests for core/identity: creation with proof of work, files, loading with validation,
 * signatures, difficulty counting, the node ID text form and node URLs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/x509.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/fs.h"
#include "encoding/encoding.h"
#include "identity/identity.h"
#include "identity/identity_openssl.h"

static char tmp_root[256];

static int setup_tmp(void **state)
{
    (void)state;
    snprintf(tmp_root, sizeof tmp_root, "/tmp/ts-test-identity-XXXXXX");
    return mkdtemp(tmp_root) == NULL ? -1 : 0;
}

static int teardown_tmp(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    return system(cmd) == 0 ? 0 : -1;
}

static void subdir(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", tmp_root, name);
}

struct progress_seen {
    int calls;
};

static void on_progress(uint64_t tries, int best, void *ctx)
{
    (void)tries;
    (void)best;
    ((struct progress_seen *)ctx)->calls++;
}

static void test_create_save_load_round_trip(void **state)
{
    (void)state;
    struct progress_seen seen = {0};
    struct ts_identity_create_opts opts = {
        .difficulty_min = 11, .threads = 2, .progress = on_progress, .progress_ctx = &seen};
    struct ts_identity *id = NULL;
    assert_int_equal(ts_identity_create(&opts, &id), TS_OK);
    assert_true(ts_identity_difficulty(id) >= 11);
    assert_int_equal(ts_node_id_difficulty(ts_identity_id(id)), ts_identity_difficulty(id));
    assert_int_equal(ts_identity_id(id)->bytes[TS_NODE_ID_SIZE - 1], 0);

    char dir[512], path[600];
    subdir(dir, sizeof dir, "a/nested");
    assert_int_equal(ts_identity_save(id, dir), TS_OK);
    const char *files[] = {"ca.cert", "ca.key", "identity.cert", "identity.key"};
    const unsigned modes[] = {0644, 0600, 0644, 0600};
    for (int i = 0; i < 4; i++) {
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, modes[i]);
    }
    assert_int_equal(ts_identity_save(id, dir), TS_ERR_EXISTS);

    struct ts_identity *loaded = NULL;
    assert_int_equal(ts_identity_load(dir, &loaded), TS_OK);
    assert_true(ts_node_id_equal(ts_identity_id(id), ts_identity_id(loaded)));
    assert_int_equal(ts_identity_peer(loaded)->leaf_public_key_len,
                     ts_identity_peer(id)->leaf_public_key_len);
    assert_memory_equal(ts_identity_peer(loaded)->leaf_public_key,
                        ts_identity_peer(id)->leaf_public_key,
                        ts_identity_peer(id)->leaf_public_key_len);
    ts_identity_free(loaded);
    ts_identity_free(id);
}

static void test_load_errors(void **state)
{
    (void)state;
    char dir[512];
    struct ts_identity *id = NULL;
    subdir(dir, sizeof dir, "missing");
    assert_int_equal(ts_identity_load(dir, &id), TS_ERR_NOT_FOUND);
    assert_null(id);

    /* identity.cert holding A's leaf with B's CA: the leaf is not signed by that CA. */
    struct ts_identity *a = NULL, *b = NULL;
    assert_int_equal(ts_identity_create_ephemeral(&a), TS_OK);
    assert_int_equal(ts_identity_create_ephemeral(&b), TS_OK);
    char da[512], db[512], path[600];
    subdir(da, sizeof da, "ea");
    subdir(db, sizeof db, "eb");
    assert_int_equal(ts_identity_save(a, da), TS_OK);
    assert_int_equal(ts_identity_save(b, db), TS_OK);
    snprintf(path, sizeof path, "%s/ca.key", da);
    assert_int_not_equal(access(path, F_OK), 0); /* ephemeral identities keep no CA key */

    struct ts_buf leaf_a, ca_b;
    ts_buf_init(&leaf_a, 1 << 16);
    ts_buf_init(&ca_b, 1 << 16);
    snprintf(path, sizeof path, "%s/identity.cert", da);
    assert_int_equal(ts_fs_read_all(path, 1 << 16, &leaf_a), TS_OK);
    const char *end = strstr((char *)leaf_a.data, "-----END CERTIFICATE-----\n");
    assert_non_null(end);
    ts_buf_truncate(&leaf_a, (size_t)(end - (char *)leaf_a.data) + 26);
    snprintf(path, sizeof path, "%s/ca.cert", db);
    assert_int_equal(ts_fs_read_all(path, 1 << 16, &ca_b), TS_OK);
    assert_int_equal(ts_buf_append(&leaf_a, ca_b.data, ca_b.len), TS_OK);
    snprintf(path, sizeof path, "%s/identity.cert", da);
    assert_int_equal(ts_fs_write_atomic(path, leaf_a.data, leaf_a.len, 0644), TS_OK);
    assert_int_equal(ts_identity_load(da, &id), TS_ERR_AUTH_FAILED);

    /* garbage certificate file */
    assert_int_equal(ts_fs_write_atomic(path, "not a pem", 9, 0644), TS_OK);
    assert_int_equal(ts_identity_load(da, &id), TS_ERR_MALFORMED);
    assert_null(id);
    ts_buf_release(&leaf_a);
    ts_buf_release(&ca_b);
    ts_identity_free(a);
    ts_identity_free(b);
}

static void test_sign_and_verify(void **state)
{
    (void)state;
    struct ts_identity *a = NULL, *b = NULL;
    assert_int_equal(ts_identity_create_ephemeral(&a), TS_OK);
    assert_int_equal(ts_identity_create_ephemeral(&b), TS_OK);
    assert_false(ts_node_id_equal(ts_identity_id(a), ts_identity_id(b)));
    uint8_t sig[TS_SIGNATURE_MAX];
    size_t sig_len = 0;
    const char msg[] = "order limit bytes";
    assert_int_equal(ts_identity_sign(a, msg, sizeof msg, sig, &sig_len), TS_OK);
    assert_true(sig_len > 8 && sig_len <= TS_SIGNATURE_MAX);
    assert_int_equal(ts_peer_identity_verify(ts_identity_peer(a), msg, sizeof msg, sig, sig_len),
                     TS_OK);
    assert_int_equal(ts_peer_identity_verify(ts_identity_peer(b), msg, sizeof msg, sig, sig_len),
                     TS_ERR_AUTH_FAILED);
    assert_int_equal(ts_peer_identity_verify(ts_identity_peer(a), msg, sizeof msg - 1, sig,
                                             sig_len),
                     TS_ERR_AUTH_FAILED);
    sig[sig_len - 1] ^= 1;
    assert_int_equal(ts_peer_identity_verify(ts_identity_peer(a), msg, sizeof msg, sig, sig_len),
                     TS_ERR_AUTH_FAILED);
    assert_int_equal(ts_peer_identity_verify(ts_identity_peer(a), msg, sizeof msg, sig, 0),
                     TS_ERR_AUTH_FAILED);
    ts_identity_free(a);
    ts_identity_free(b);
}

static void test_peer_identity_from_der(void **state)
{
    (void)state;
    struct ts_identity *a = NULL, *b = NULL;
    assert_int_equal(ts_identity_create_ephemeral(&a), TS_OK);
    assert_int_equal(ts_identity_create_ephemeral(&b), TS_OK);
    unsigned char *leaf = NULL, *ca = NULL, *ca_b = NULL;
    int leaf_len = i2d_X509(ts_identity_leaf_cert(a), &leaf);
    int ca_len = i2d_X509(ts_identity_ca_cert(a), &ca);
    int ca_b_len = i2d_X509(ts_identity_ca_cert(b), &ca_b);
    struct ts_peer_identity p;
    assert_int_equal(ts_peer_identity_from_der(leaf, (size_t)leaf_len, ca, (size_t)ca_len, &p),
                     TS_OK);
    assert_true(ts_node_id_equal(&p.id, ts_identity_id(a)));
    assert_int_equal(ts_peer_identity_from_der(leaf, (size_t)leaf_len, ca_b, (size_t)ca_b_len, &p),
                     TS_ERR_AUTH_FAILED);
    assert_true(ts_node_id_is_zero(&p.id));
    /* the leaf is not a CA: using it as one is refused */
    assert_int_equal(ts_peer_identity_from_der(leaf, (size_t)leaf_len, leaf, (size_t)leaf_len, &p),
                     TS_ERR_MALFORMED);
    assert_int_equal(ts_peer_identity_from_der(leaf, (size_t)leaf_len - 1, ca, (size_t)ca_len, &p),
                     TS_ERR_MALFORMED);
    OPENSSL_free(leaf);
    OPENSSL_free(ca);
    OPENSSL_free(ca_b);
    ts_identity_free(a);
    ts_identity_free(b);
}

static void test_difficulty_counts_trailing_zero_bits(void **state)
{
    (void)state;
    static const struct {
        int index;
        uint8_t value;
        int want;
    } cases[] = {
        {30, 0x01, 8}, {30, 0x02, 9}, {30, 0x80, 15}, {29, 0x01, 16},
        {29, 0x04, 18}, {0, 0x01, 248}, {0, 0x80, 255}, {-1, 0, 256},
    };
    for (size_t i = 0; i < TS_ARRAY_LEN(cases); i++) {
        struct ts_node_id id;
        memset(id.bytes, 0, sizeof id.bytes);
        if (cases[i].index >= 0) {
            id.bytes[cases[i].index] = cases[i].value;
            id.bytes[0] |= (uint8_t)(cases[i].index == 0 ? 0 : 0xff);
        }
        assert_int_equal(ts_node_id_difficulty(&id), cases[i].want);
    }
    /* The version byte never counts against the difficulty. */
    struct ts_node_id v;
    memset(v.bytes, 0xff, sizeof v.bytes);
    v.bytes[TS_NODE_ID_SIZE - 1] = 0xff;
    assert_int_equal(ts_node_id_difficulty(&v), 8);
}

static void test_node_id_text_round_trip(void **state)
{
    (void)state;
    struct ts_node_id id, back;
    for (int i = 0; i < TS_NODE_ID_SIZE; i++) {
        id.bytes[i] = (uint8_t)(i * 37 + 1);
    }
    id.bytes[TS_NODE_ID_SIZE - 1] = 0;
    char text[TS_NODE_ID_TEXT_MAX];
    assert_int_equal(ts_node_id_to_string(&id, text, sizeof text), TS_OK);
    assert_true(strlen(text) >= 40 && strlen(text) <= 51);
    assert_int_equal(ts_node_id_from_string(text, &back), TS_OK);
    assert_memory_equal(id.bytes, back.bytes, TS_NODE_ID_SIZE);

    char small[10];
    assert_int_equal(ts_node_id_to_string(&id, small, sizeof small), TS_ERR_TOO_LARGE);

    char bad[TS_NODE_ID_TEXT_MAX];
    memcpy(bad, text, sizeof bad);
    bad[5] = bad[5] == 'z' ? 'y' : 'z';
    assert_int_equal(ts_node_id_from_string(bad, &back), TS_ERR_CHECKSUM);
    assert_true(ts_node_id_is_zero(&back));
    bad[5] = '0'; /* not in the base58 alphabet */
    assert_int_equal(ts_node_id_from_string(bad, &back), TS_ERR_MALFORMED);
    assert_int_equal(ts_node_id_from_string("", &back), TS_ERR_MALFORMED);

    /* version 1 is not known */
    struct ts_buf b;
    ts_buf_init(&b, 128);
    uint8_t payload[TS_NODE_ID_SIZE] = {1, 2, 3};
    assert_int_equal(ts_base58check_encode(1, payload, sizeof payload, &b), TS_OK);
    assert_int_equal(ts_node_id_from_string((char *)b.data, &back), TS_ERR_UNSUPPORTED_VERSION);
    /* a 31-byte payload is no node ID */
    ts_buf_clear(&b);
    assert_int_equal(ts_base58check_encode(0, payload, sizeof payload - 1, &b), TS_OK);
    assert_int_equal(ts_node_id_from_string((char *)b.data, &back), TS_ERR_MALFORMED);
    ts_buf_release(&b);
}

static void test_node_url_parse_and_format(void **state)
{
    (void)state;
    struct ts_node_id id;
    memset(id.bytes, 0x5a, sizeof id.bytes);
    id.bytes[TS_NODE_ID_SIZE - 1] = 0;
    char idtext[TS_NODE_ID_TEXT_MAX], in[TS_NODE_URL_MAX + 64], out[TS_NODE_URL_MAX + 1];
    assert_int_equal(ts_node_id_to_string(&id, idtext, sizeof idtext), TS_OK);

    struct ts_node_url u;
    snprintf(in, sizeof in, "%s@127.0.0.1:7777", idtext);
    assert_int_equal(ts_node_url_parse(in, &u), TS_OK);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 7777);
    assert_true(ts_node_id_equal(&u.id, &id));
    assert_int_equal(ts_node_url_format(&u, out, sizeof out), TS_OK);
    assert_string_equal(out, in);

    snprintf(in, sizeof in, "%s@[::1]:65535", idtext);
    assert_int_equal(ts_node_url_parse(in, &u), TS_OK);
    assert_string_equal(u.host, "::1");
    assert_int_equal(ts_node_url_format(&u, out, sizeof out), TS_OK);
    assert_string_equal(out, in);
    assert_int_equal(ts_node_url_format(&u, out, 20), TS_ERR_TOO_LARGE);

    static const char *const bad_tails[] = {
        "@127.0.0.1",   "@127.0.0.1:0", "@127.0.0.1:65536", "@127.0.0.1:", "@:80",
        "@host:80x",    "@a b:80",      "@[::1:80",         "@::1:80",     "127.0.0.1:80",
    };
    for (size_t i = 0; i < TS_ARRAY_LEN(bad_tails); i++) {
        snprintf(in, sizeof in, "%s%s", idtext, bad_tails[i]);
        assert_int_equal(ts_node_url_parse(in, &u), TS_ERR_MALFORMED);
        assert_int_equal(u.port, 0);
    }
    assert_int_equal(ts_node_url_parse("@127.0.0.1:80", &u), TS_ERR_MALFORMED);
    char longtext[TS_NODE_URL_MAX + 10];
    memset(longtext, 'a', sizeof longtext - 1);
    longtext[sizeof longtext - 1] = 0;
    assert_int_equal(ts_node_url_parse(longtext, &u), TS_ERR_TOO_LARGE);
}

static void test_create_rejects_bad_difficulty(void **state)
{
    (void)state;
    struct ts_identity_create_opts opts = {.difficulty_min = TS_ID_DIFFICULTY_MAX + 1};
    struct ts_identity *id = NULL;
    assert_int_equal(ts_identity_create(&opts, &id), TS_ERR_INVALID_ARGUMENT);
    opts.difficulty_min = -1;
    assert_int_equal(ts_identity_create(&opts, &id), TS_ERR_INVALID_ARGUMENT);
    assert_null(id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_save_load_round_trip),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_sign_and_verify),
        cmocka_unit_test(test_peer_identity_from_der),
        cmocka_unit_test(test_difficulty_counts_trailing_zero_bits),
        cmocka_unit_test(test_node_id_text_round_trip),
        cmocka_unit_test(test_node_url_parse_and_format),
        cmocka_unit_test(test_create_rejects_bad_difficulty),
    };
    return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
