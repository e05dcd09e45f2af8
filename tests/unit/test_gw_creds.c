/*
 * Unit tests for the gateway credential store: the sealed record round-trips; the wrong secret,
 * the wrong key ID and any flipped byte are refused; neither the secret nor the grant appears in
 * plaintext on disk; a fresh store finds registered keys; duplicates and non-grants are refused.
 */
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

#include "access/access.h"
#include "base/base.h"
#include "base/fs.h"
#include "crypto/hash.h"
#include "gw_creds.h"
#include "identity/identity.h"
#include "macaroon/macaroon.h"

/* A syntactically valid grant (random API key and root key). */
static char *make_grant(void)
{
    uint8_t secret[TS_MACAROON_SECRET_SIZE], root[32];
    struct ts_macaroon *mac = NULL;
    struct ts_access *a = NULL;
    struct ts_buf text;
    ts_buf_init(&text, TS_ACCESS_GRANT_TEXT_MAX + 1);
    /* a well-formed satellite URL with a random node ID; nothing dials it */
    struct ts_node_url url;
    memset(&url, 0, sizeof url);
    assert_int_equal(ts_random_bytes(url.id.bytes, sizeof url.id.bytes), TS_OK);
    url.id.bytes[sizeof url.id.bytes - 1] = 0;
    snprintf(url.host, sizeof url.host, "127.0.0.1");
    url.port = 7777;
    char sat[TS_NODE_URL_MAX + 1];
    assert_int_equal(ts_node_url_format(&url, sat, sizeof sat), TS_OK);
    assert_int_equal(ts_macaroon_new(secret, &mac), TS_OK);
    assert_int_equal(ts_access_new(sat, mac, &a), TS_OK);
    assert_int_equal(ts_random_bytes(root, sizeof root), TS_OK);
    ts_access_set_default_key(a, root);
    assert_int_equal(ts_access_serialize(a, &text), TS_OK);
    ts_access_free(a);
    ts_macaroon_free(mac);
    return (char *)ts_buf_detach(&text, NULL);
}

static void test_record_round_trip_and_refusals(void **state)
{
    (void)state;
    const char *akid = "AKIDEXAMPLE0123456789", *secret = "s3cr3t-value-for-tests-0123456789";
    const char *grant = "grant-text-that-must-not-appear-on-disk";
    struct ts_buf rec, g;
    ts_buf_init(&rec, 1u << 20);
    ts_buf_init(&g, 1u << 20);
    assert_int_equal(gw_cred_record_seal(akid, secret, grant, true, &rec), TS_OK);
    assert_null(memmem(rec.data, rec.len, grant, strlen(grant)));
    assert_null(memmem(rec.data, rec.len, secret, strlen(secret)));

    char got[GW_SECRET_KEY_MAX + 1];
    bool pub = false;
    assert_int_equal(gw_cred_record_open(rec.data, rec.len, akid, got, &pub, &g), TS_OK);
    assert_string_equal(got, secret);
    assert_true(pub);
    assert_string_equal((char *)g.data, grant);
    ts_buf_clear(&g);
    assert_int_equal(gw_cred_record_open_grant(rec.data, rec.len, akid, secret, &g), TS_OK);
    assert_string_equal((char *)g.data, grant);

    /* the wrong secret, the wrong key ID */
    ts_buf_clear(&g);
    assert_int_equal(gw_cred_record_open_grant(rec.data, rec.len, akid,
                                               "s3cr3t-value-for-tests-"
                                               "0123456788",
                                               &g),
                     TS_ERR_AUTH_FAILED);
    assert_int_equal(g.len, 0);
    assert_int_equal(
        gw_cred_record_open_grant(rec.data, rec.len, "AKIDEXAMPLE0123456788", secret, &g),
        TS_ERR_AUTH_FAILED);
    assert_int_equal(gw_cred_record_open(rec.data, rec.len, "AKIDEXAMPLE0123456788", got, &pub, &g),
                     TS_ERR_AUTH_FAILED);

    /* every flipped byte is caught */
    for (size_t i = 0; i < rec.len; i++) {
        rec.data[i] ^= 0x20;
        ts_buf_clear(&g);
        ts_err err = gw_cred_record_open(rec.data, rec.len, akid, got, &pub, &g);
        if (err == TS_OK) {
            fail_msg("flipped byte %zu of %zu accepted", i, rec.len);
        }
        rec.data[i] ^= 0x20;
    }
    /* truncation and another version */
    assert_int_equal(gw_cred_record_open(rec.data, rec.len - 1, akid, got, &pub, &g),
                     TS_ERR_MALFORMED);
    assert_int_equal(gw_cred_record_open(rec.data, 20, akid, got, &pub, &g), TS_ERR_MALFORMED);
    rec.data[7] = '9';
    assert_int_equal(gw_cred_record_open(rec.data, rec.len, akid, got, &pub, &g),
                     TS_ERR_UNSUPPORTED_VERSION);
    ts_buf_release(&rec);
    ts_buf_release(&g);
}

static void test_store_register_and_reload(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_gw_creds_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char store_dir[256];
    snprintf(store_dir, sizeof store_dir, "%s/store", dir);
    char *grant = make_grant();
    struct gw_creds *s = NULL;
    char akid[GW_ACCESS_KEY_ID_MAX + 1], secret[GW_SECRET_KEY_MAX + 1];
    assert_int_equal(gw_creds_open(store_dir, &s), TS_OK);
    assert_int_equal(gw_creds_register(s, grant, false, NULL, NULL, akid, secret), TS_OK);
    assert_int_equal(strlen(akid), 32);
    assert_int_equal(strlen(secret), 40);
    const struct gw_cred *c = NULL;
    assert_int_equal(gw_creds_get(s, akid, &c), TS_OK);
    assert_string_equal(c->secret, secret);
    assert_non_null(c->project);
    /* not a grant; a duplicate key ID */
    char a2[GW_ACCESS_KEY_ID_MAX + 1], s2[GW_SECRET_KEY_MAX + 1];
    assert_int_equal(gw_creds_register(s, "not-a-grant", false, NULL, NULL, a2, s2),
                     TS_ERR_MALFORMED);
    assert_int_equal(gw_creds_register(s, grant, true, "MYKEY", "mysecretvalue", a2, s2), TS_OK);
    assert_int_equal(gw_creds_register(s, grant, true, "MYKEY", "other", a2, s2), TS_ERR_EXISTS);
    assert_int_equal(gw_creds_register(s, grant, true, "bad/key", "x12", a2, s2),
                     TS_ERR_INVALID_ARGUMENT);
    gw_creds_free(s);

    /* the file: named by hash, mode 0600, no plaintext */
    uint8_t h[32];
    char hex[65], path[512];
    assert_int_equal(ts_sha256(akid, strlen(akid), h), TS_OK);
    gw_hex(h, 32, hex);
    snprintf(path, sizeof path, "%s/%s.cred", store_dir, hex);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    struct ts_buf file;
    ts_buf_init(&file, 1u << 20);
    assert_int_equal(ts_fs_read_all(path, 1u << 20, &file), TS_OK);
    assert_null(memmem(file.data, file.len, grant, strlen(grant)));
    assert_null(memmem(file.data, file.len, secret, strlen(secret)));
    assert_null(memmem(file.data, file.len, akid, strlen(akid)));

    /* a fresh store finds both keys; unknown ones are NOT_FOUND */
    assert_int_equal(gw_creds_open(store_dir, &s), TS_OK);
    assert_int_equal(gw_creds_get(s, akid, &c), TS_OK);
    assert_string_equal(c->secret, secret);
    assert_false(c->public_link);
    assert_int_equal(gw_creds_get(s, "MYKEY", &c), TS_OK);
    assert_string_equal(c->secret, "mysecretvalue");
    assert_true(c->public_link);
    assert_int_equal(gw_creds_get(s, "UNKNOWNKEYID", &c), TS_ERR_NOT_FOUND);
    assert_int_equal(gw_creds_get(s, "../../etc", &c), TS_ERR_NOT_FOUND);
    gw_creds_free(s);

    /* a damaged record is refused, not trusted */
    file.data[file.len - 1] ^= 1;
    assert_int_equal(ts_fs_write_atomic(path, file.data, file.len, 0600), TS_OK);
    assert_int_equal(gw_creds_open(store_dir, &s), TS_OK);
    assert_int_equal(gw_creds_get(s, akid, &c), TS_ERR_AUTH_FAILED);
    gw_creds_free(s);

    /* memory-only store */
    assert_int_equal(gw_creds_open(NULL, &s), TS_OK);
    assert_int_equal(gw_creds_register(s, grant, false, "SINGLE", "tenantsecret", a2, s2), TS_OK);
    assert_int_equal(gw_creds_get(s, "SINGLE", &c), TS_OK);
    assert_int_equal(gw_creds_get(s, akid, &c), TS_ERR_NOT_FOUND);
    gw_creds_free(s);

    ts_buf_release(&file);
    free(grant);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_round_trip_and_refusals),
        cmocka_unit_test(test_store_register_and_reload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
