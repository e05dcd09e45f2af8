/*
 * Unit tests for the gateway's SigV4: the examples of the AWS S3 documentation ("Signature
 * Calculations for the Authorization Header", "Query String Authentication" and "Signature
 * Calculations in Multiple Chunks") with their published signatures, plus refusals: a changed
 * byte, the wrong secret, a stale date, an expired presigned URL, a tampered chunk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "gw_chunked.h"
#include "gw_req.h"
#include "gw_sigv4.h"
#include "gw_test_req.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define AKID "AKIAIOSFODNN7EXAMPLE"
#define EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define T_2013 1369353600 /* 20130524T000000Z */

static char *auth_header(const char *signed_headers, const char *sig)
{
    static char h[512];
    snprintf(h, sizeof h,
             "AWS4-HMAC-SHA256 Credential=" AKID "/20130524/us-east-1/s3/aws4_request,"
             "SignedHeaders=%s,Signature=%s",
             signed_headers, sig);
    return h;
}

static void test_get_object_example(void **state)
{
    (void)state;
    const char *sig = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";
    const char *hdrs[] = {"Host",
                          "examplebucket.s3.amazonaws.com",
                          "Range",
                          "bytes=0-9",
                          "x-amz-content-sha256",
                          EMPTY,
                          "x-amz-date",
                          "20130524T000000Z",
                          "Authorization",
                          auth_header("host;range;x-amz-content-sha256;x-amz-date", sig),
                          NULL};
    struct gw_req r;
    req_build(&r, "GET", "/test.txt", hdrs);
    struct gw_sigv4_auth a;
    assert_int_equal(gw_sigv4_parse(&r, &a), TS_OK);
    assert_string_equal(a.access_key_id, AKID);
    assert_string_equal(a.scope, "20130524/us-east-1/s3/aws4_request");
    assert_int_equal(a.payload, GW_PAYLOAD_SIGNED);

    struct ts_buf canon, sts;
    ts_buf_init(&canon, 65536);
    ts_buf_init(&sts, 4096);
    assert_int_equal(gw_sigv4_canonical_request(&r, &a, &canon), TS_OK);
    assert_string_equal((char *)canon.data,
                        "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
                        "x-amz-content-sha256:" EMPTY "\nx-amz-date:20130524T000000Z\n\n"
                        "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY);
    assert_int_equal(gw_sigv4_string_to_sign(&a, (char *)canon.data, &sts), TS_OK);
    assert_string_equal((char *)sts.data,
                        "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
                        "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
    char out[GW_SIG_HEX_SIZE];
    assert_int_equal(gw_sigv4_sign(&r, &a, SECRET, out), TS_OK);
    assert_string_equal(out, sig);
    assert_int_equal(gw_sigv4_verify(&r, &a, SECRET, T_2013 + 60), TS_OK);
    /* wrong secret, stale and future dates */
    assert_int_equal(gw_sigv4_verify(&r, &a, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEZ", T_2013),
                     TS_ERR_AUTH_FAILED);
    assert_int_equal(gw_sigv4_verify(&r, &a, SECRET, T_2013 + 3600), TS_ERR_EXPIRED);
    assert_int_equal(gw_sigv4_verify(&r, &a, SECRET, T_2013 - 3600), TS_ERR_NOT_YET_VALID);
    ts_buf_release(&canon);
    ts_buf_release(&sts);
    gw_req_release(&r);

    /* a different range header (same signature) no longer verifies */
    const char *hdrs2[] = {"Host",
                           "examplebucket.s3.amazonaws.com",
                           "Range",
                           "bytes=0-10",
                           "x-amz-content-sha256",
                           EMPTY,
                           "x-amz-date",
                           "20130524T000000Z",
                           "Authorization",
                           auth_header("host;range;x-amz-content-sha256;x-amz-date", sig),
                           NULL};
    req_build(&r, "GET", "/test.txt", hdrs2);
    assert_int_equal(gw_sigv4_parse(&r, &a), TS_OK);
    assert_int_equal(gw_sigv4_verify(&r, &a, SECRET, T_2013), TS_ERR_AUTH_FAILED);
    gw_req_release(&r);
}

static void check_example(const char *method, const char *uri, const char *const *hdrs,
                          const char *want)
{
    struct gw_req r;
    struct gw_sigv4_auth a;
    char out[GW_SIG_HEX_SIZE];
    req_build(&r, method, uri, hdrs);
    assert_int_equal(gw_sigv4_parse(&r, &a), TS_OK);
    assert_int_equal(gw_sigv4_sign(&r, &a, SECRET, out), TS_OK);
    assert_string_equal(out, want);
    assert_int_equal(gw_sigv4_verify(&r, &a, SECRET, T_2013), TS_OK);
    gw_req_release(&r);
}

static void test_put_object_example(void **state)
{
    (void)state;
    const char *sig = "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd";
    const char *hdrs[] = {
        "Host",
        "examplebucket.s3.amazonaws.com",
        "Date",
        "Fri, 24 May 2013 00:00:00 GMT",
        "x-amz-date",
        "20130524T000000Z",
        "x-amz-storage-class",
        "REDUCED_REDUNDANCY",
        "x-amz-content-sha256",
        "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
        "Authorization",
        auth_header("date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class", sig),
        NULL};
    /* '$' arrives percent-encoded or not; either way it is canonicalized as %24 */
    check_example("PUT", "/test%24file.text", hdrs, sig);
    check_example("PUT", "/test$file.text", hdrs, sig);
}

static void test_bucket_examples(void **state)
{
    (void)state;
    const char *sig1 = "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543";
    const char *h1[] = {"Host",
                        "examplebucket.s3.amazonaws.com",
                        "x-amz-date",
                        "20130524T000000Z",
                        "x-amz-content-sha256",
                        EMPTY,
                        "Authorization",
                        auth_header("host;x-amz-content-sha256;x-amz-date", sig1),
                        NULL};
    check_example("GET", "/?lifecycle", h1, sig1);
    const char *sig2 = "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7";
    const char *h2[] = {"Host",
                        "examplebucket.s3.amazonaws.com",
                        "x-amz-date",
                        "20130524T000000Z",
                        "x-amz-content-sha256",
                        EMPTY,
                        "Authorization",
                        auth_header("host;x-amz-content-sha256;x-amz-date", sig2),
                        NULL};
    /* query order does not matter: it is sorted */
    check_example("GET", "/?max-keys=2&prefix=J", h2, sig2);
    check_example("GET", "/?prefix=J&max-keys=2", h2, sig2);
}

static void test_presigned_example(void **state)
{
    (void)state;
    const char *uri =
        "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F"
        "20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"
        "&X-Amz-SignedHeaders=host&X-Amz-Signature="
        "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
    const char *hdrs[] = {"Host", "examplebucket.s3.amazonaws.com", NULL};
    struct gw_req r;
    struct gw_sigv4_auth a;
    req_build(&r, "GET", uri, hdrs);
    assert_int_equal(gw_sigv4_parse(&r, &a), TS_OK);
    assert_true(a.presigned);
    assert_int_equal(a.expires_s, 86400);
    assert_int_equal(a.payload, GW_PAYLOAD_UNSIGNED);
    assert_int_equal(gw_sigv4_verify(&r, &a, SECRET, T_2013 + 86000), TS_OK);
    assert_int_equal(gw_sigv4_verify(&r, &a, SECRET, T_2013 + 86401), TS_ERR_EXPIRED);
    assert_int_equal(gw_sigv4_verify(&r, &a, "x" SECRET, T_2013), TS_ERR_AUTH_FAILED);
    gw_req_release(&r);
    /* the same URL for another key */
    char other[1024];
    snprintf(other, sizeof other, "/test2.txt%s", strchr(uri, '?'));
    req_build(&r, "GET", other, hdrs);
    assert_int_equal(gw_sigv4_parse(&r, &a), TS_OK);
    assert_int_equal(gw_sigv4_verify(&r, &a, SECRET, T_2013), TS_ERR_AUTH_FAILED);
    gw_req_release(&r);
}

static void test_parse_refusals(void **state)
{
    (void)state;
    struct gw_sigv4_auth a;
    struct gw_req r;
    const char *none[] = {"Host", "h", NULL};
    req_build(&r, "GET", "/b/k", none);
    assert_int_equal(gw_sigv4_parse(&r, &a), TS_ERR_NOT_FOUND);
    gw_req_release(&r);
    const char *v2[] = {"Host", "h", "Authorization", "AWS AKID:c2lnbmF0dXJl", NULL};
    req_build(&r, "GET", "/b/k", v2);
    assert_int_equal(gw_sigv4_parse(&r, &a), TS_ERR_UNSUPPORTED_VERSION);
    gw_req_release(&r);
    const char *bad[] = {"Host",
                         "h",
                         "x-amz-date",
                         "20130524T000000Z",
                         "x-amz-content-sha256",
                         EMPTY,
                         "Authorization",
                         "AWS4-HMAC-SHA256 Credential=A/2013/us-east-1/s3/aws4_request,"
                         "SignedHeaders=host,Signature=00",
                         NULL};
    req_build(&r, "GET", "/b/k", bad);
    assert_int_equal(gw_sigv4_parse(&r, &a), TS_ERR_MALFORMED);
    gw_req_release(&r);
    /* a signed header that is missing from the request */
    const char *missing[] = {"Host",
                             "h",
                             "x-amz-date",
                             "20130524T000000Z",
                             "x-amz-content-sha256",
                             EMPTY,
                             "Authorization",
                             auth_header("host;range;x-amz-date", EMPTY),
                             NULL};
    req_build(&r, "GET", "/b/k", missing);
    assert_int_equal(gw_sigv4_parse(&r, &a), TS_OK);
    assert_int_equal(gw_sigv4_verify(&r, &a, SECRET, T_2013), TS_ERR_MALFORMED);
    gw_req_release(&r);
}

/* ---- aws-chunked (the S3 documentation's 64 KiB + 1 KiB example) ---- */

struct sink {
    size_t bytes;
    int bad;
};

static ts_err count_sink(void *cls, const uint8_t *data, size_t len)
{
    struct sink *s = cls;
    for (size_t i = 0; i < len; i++) {
        s->bad += data[i] != 'a';
    }
    s->bytes += len;
    return TS_OK;
}

static size_t build_chunked(uint8_t *body)
{
    static const struct {
        size_t size;
        const char *sig;
    } chunks[] = {{65536, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"},
                  {1024, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"},
                  {0, "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"}};
    size_t n = 0;
    for (size_t i = 0; i < 3; i++) {
        n += (size_t)snprintf((char *)body + n, 200, "%zx;chunk-signature=%s\r\n", chunks[i].size,
                              chunks[i].sig);
        memset(body + n, 'a', chunks[i].size);
        n += chunks[i].size;
        if (chunks[i].size > 0) {
            memcpy(body + n, "\r\n", 2);
            n += 2;
        }
    }
    memcpy(body + n, "\r\n", 2);
    return n + 2;
}

static void test_chunked_example(void **state)
{
    (void)state;
    const char *seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
    const char *hdrs[] = {
        "Host",
        "s3.amazonaws.com",
        "x-amz-date",
        "20130524T000000Z",
        "x-amz-storage-class",
        "REDUCED_REDUNDANCY",
        "x-amz-content-sha256",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "Content-Encoding",
        "aws-chunked",
        "x-amz-decoded-content-length",
        "66560",
        "Content-Length",
        "66824",
        "Authorization",
        auth_header("content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
                    "x-amz-decoded-content-length;x-amz-storage-class",
                    seed),
        NULL};
    struct gw_req r;
    struct gw_sigv4_auth a;
    char out[GW_SIG_HEX_SIZE];
    req_build(&r, "PUT", "/examplebucket/chunkObject.txt", hdrs);
    assert_int_equal(gw_sigv4_parse(&r, &a), TS_OK);
    assert_int_equal(a.payload, GW_PAYLOAD_STREAMING);
    assert_int_equal(gw_sigv4_sign(&r, &a, SECRET, out), TS_OK);
    assert_string_equal(out, seed);
    gw_req_release(&r);

    uint8_t key[32];
    assert_int_equal(gw_sigv4_signing_key(SECRET, "20130524", "us-east-1", "s3", key), TS_OK);
    uint8_t *body = malloc(70000);
    size_t len = build_chunked(body);
    assert_int_equal(len, 66824);
    /* whole, and split at every awkward boundary size */
    const size_t splits[] = {len, 1, 7, 88, 4096};
    for (size_t s = 0; s < TS_ARRAY_LEN(splits); s++) {
        struct gw_chunked c;
        struct sink sk = {0};
        assert_int_equal(gw_chunked_init(&c, key, "20130524T000000Z",
                                         "20130524/us-east-1/s3/aws4_request", seed, count_sink,
                                         &sk),
                         TS_OK);
        for (size_t off = 0; off < len; off += splits[s]) {
            size_t n = len - off < splits[s] ? len - off : splits[s];
            assert_int_equal(gw_chunked_feed(&c, body + off, n), TS_OK);
        }
        assert_int_equal(gw_chunked_finish(&c), TS_OK);
        assert_int_equal(sk.bytes, 66560);
        assert_int_equal(sk.bad, 0);
        gw_chunked_release(&c);
    }
    /* one changed data byte: the first chunk's signature fails */
    body[100] = 'b';
    struct gw_chunked c;
    struct sink sk = {0};
    assert_int_equal(gw_chunked_init(&c, key, "20130524T000000Z",
                                     "20130524/us-east-1/s3/aws4_request", seed, count_sink, &sk),
                     TS_OK);
    assert_int_equal(gw_chunked_feed(&c, body, len), TS_ERR_AUTH_FAILED);
    gw_chunked_release(&c);
    body[100] = 'a';
    /* a body cut before the final chunk */
    assert_int_equal(gw_chunked_init(&c, key, "20130524T000000Z",
                                     "20130524/us-east-1/s3/aws4_request", seed, count_sink, &sk),
                     TS_OK);
    assert_int_equal(gw_chunked_feed(&c, body, 65000), TS_OK);
    assert_int_equal(gw_chunked_finish(&c), TS_ERR_TRUNCATED);
    gw_chunked_release(&c);
    /* a chunk header claiming more than the limit, and garbage framing */
    const char *huge = "7fffffff;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade"
                       "35a65485a288648\r\n";
    assert_int_equal(gw_chunked_init(&c, key, "d", "s", seed, count_sink, &sk), TS_OK);
    assert_int_equal(gw_chunked_feed(&c, (const uint8_t *)huge, strlen(huge)), TS_ERR_TOO_LARGE);
    gw_chunked_release(&c);
    assert_int_equal(gw_chunked_init(&c, key, "d", "s", seed, count_sink, &sk), TS_OK);
    assert_int_equal(gw_chunked_feed(&c, (const uint8_t *)"zz\r\n", 4), TS_ERR_MALFORMED);
    gw_chunked_release(&c);
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_object_example), cmocka_unit_test(test_put_object_example),
        cmocka_unit_test(test_bucket_examples),    cmocka_unit_test(test_presigned_example),
        cmocka_unit_test(test_parse_refusals),     cmocka_unit_test(test_chunked_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
