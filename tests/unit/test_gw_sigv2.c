/*
 * Unit tests for the gateway's SigV2: the examples of the AWS S3 documentation ("Signing and
 * Authenticating REST Requests": object GET and PUT, an upload with repeated x-amz-meta headers
 * on a CNAME bucket, a listing, ?acl virtual-host and path-style, and the query-string example)
 * with their published signatures, plus refusals: a changed path, the wrong secret, a stale
 * date, an expired URL, and malformed credentials.
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
#include "gw_req.h"
#include "gw_sigv2.h"
#include "gw_test_req.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define T_GET 1175024202 /* Tue, 27 Mar 2007 19:36:42 +0000 */

/* Parses r, checks the published signature and that it verifies at now_s. */
static void expect_signature(struct gw_req *r, const char *bucket, const char *want,
                             int64_t now_s)
{
    struct gw_sigv2_auth a;
    assert_int_equal(gw_sigv2_parse(r, &a), TS_OK);
    assert_string_equal(a.access_key_id, "AKIAIOSFODNN7EXAMPLE");
    char sig[GW_SIGV2_SIG_MAX + 1];
    assert_int_equal(gw_sigv2_sign(r, &a, bucket, SECRET, sig), TS_OK);
    assert_string_equal(sig, want);
    assert_int_equal(gw_sigv2_verify(r, &a, bucket, SECRET, now_s), TS_OK);
}

static void test_get_object(void **state)
{
    (void)state;
    const char *h[] = {"Host", "johnsmith.s3.amazonaws.com", "Date",
                       "Tue, 27 Mar 2007 19:36:42 +0000", "Authorization",
                       "AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU=", NULL};
    struct gw_req r;
    req_build(&r, "GET", "/photos/puppy.jpg", h);
    expect_signature(&r, "johnsmith", "bWq2s1WEIj+Ydj0vQ697zp+IXMU=", T_GET + 60);
    struct gw_sigv2_auth a;
    assert_int_equal(gw_sigv2_parse(&r, &a), TS_OK);
    assert_int_equal(gw_sigv2_verify(&r, &a, "johnsmith", "not-the-secret", T_GET),
                     TS_ERR_AUTH_FAILED);
    assert_int_equal(gw_sigv2_verify(&r, &a, "johnsmit", SECRET, T_GET), TS_ERR_AUTH_FAILED);
    assert_int_equal(gw_sigv2_verify(&r, &a, "johnsmith", SECRET, T_GET + 3600), TS_ERR_EXPIRED);
    assert_int_equal(gw_sigv2_verify(&r, &a, "johnsmith", SECRET, T_GET - 3600),
                     TS_ERR_NOT_YET_VALID);
    gw_req_release(&r);
    req_build(&r, "GET", "/photos/puppy.jpeg", h);
    assert_int_equal(gw_sigv2_parse(&r, &a), TS_OK);
    assert_int_equal(gw_sigv2_verify(&r, &a, "johnsmith", SECRET, T_GET), TS_ERR_AUTH_FAILED);
    gw_req_release(&r);
}

static void test_put_object(void **state)
{
    (void)state;
    const char *h[] = {"Content-Type", "image/jpeg", "Content-Length", "94328", "Host",
                       "johnsmith.s3.amazonaws.com", "Date", "Tue, 27 Mar 2007 21:15:45 +0000",
                       "Authorization", "AWS AKIAIOSFODNN7EXAMPLE:MyyxeRY7whkBe+bq8fHCL/2kKUg=",
                       NULL};
    struct gw_req r;
    req_build(&r, "PUT", "/photos/puppy.jpg", h);
    expect_signature(&r, "johnsmith", "MyyxeRY7whkBe+bq8fHCL/2kKUg=", 1175030145);
    gw_req_release(&r);
}

/* Repeated x-amz-meta-reviewedby lines join with ',', names sort lower-cased; the bucket is the
 * CNAME host. */
static void test_upload_with_amz_headers(void **state)
{
    (void)state;
    const char *h[] = {"Host", "static.johnsmith.net:8080", "Date",
                       "Tue, 27 Mar 2007 21:06:08 +0000", "x-amz-acl", "public-read",
                       "content-type", "application/x-download", "Content-MD5",
                       "4gJE4saaMU4BqNR0kLY+lw==", "X-Amz-Meta-ReviewedBy", "joe@johnsmith.net",
                       "X-Amz-Meta-ReviewedBy", "jane@johnsmith.net", "X-Amz-Meta-FileChecksum",
                       "0x02661779", "X-Amz-Meta-ChecksumAlgorithm", "crc32",
                       "Content-Disposition", "attachment; filename=database.dat",
                       "Content-Encoding", "gzip", "Content-Length", "5913339", "Authorization",
                       "AWS AKIAIOSFODNN7EXAMPLE:ilyl83RwaSoYIEdixDQcA4OnAnc=", NULL};
    struct gw_req r;
    req_build(&r, "PUT", "/db-backup.dat.gz", h);
    expect_signature(&r, "static.johnsmith.net", "ilyl83RwaSoYIEdixDQcA4OnAnc=", 1175029568);
    gw_req_release(&r);
}

/* Listing parameters are not subresources; ?acl is. */
static void test_list_and_acl(void **state)
{
    (void)state;
    const char *list[] = {"User-Agent", "Mozilla/5.0", "Host", "johnsmith.s3.amazonaws.com",
                          "Date", "Tue, 27 Mar 2007 19:42:41 +0000", "Authorization",
                          "AWS AKIAIOSFODNN7EXAMPLE:htDYFYduRNen8P9ZfE/s9SuKy0U=", NULL};
    struct gw_req r;
    req_build(&r, "GET", "/?prefix=photos&max-keys=50&marker=puppy", list);
    expect_signature(&r, "johnsmith", "htDYFYduRNen8P9ZfE/s9SuKy0U=", 1175024561);
    gw_req_release(&r);
    const char *acl[] = {"Host", "johnsmith.s3.amazonaws.com", "Date",
                         "Tue, 27 Mar 2007 19:44:46 +0000", "Authorization",
                         "AWS AKIAIOSFODNN7EXAMPLE:c2WLPFtWHVgbEmeEG93a4cG37dM=", NULL};
    req_build(&r, "GET", "/?acl", acl);
    expect_signature(&r, "johnsmith", "c2WLPFtWHVgbEmeEG93a4cG37dM=", 1175024686);
    gw_req_release(&r);
    /* The same request path-style: "/johnsmith" is signed as "/johnsmith/". */
    req_build(&r, "GET", "/johnsmith?acl", acl);
    expect_signature(&r, NULL, "c2WLPFtWHVgbEmeEG93a4cG37dM=", 1175024686);
    gw_req_release(&r);
}

static void test_presigned(void **state)
{
    (void)state;
    const char *h[] = {"Host", "johnsmith.s3.amazonaws.com", NULL};
    struct gw_req r;
    req_build(&r, "GET",
              "/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&"
              "Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D",
              h);
    expect_signature(&r, "johnsmith", "NpgCjnDzrM+WFzoENXmpNDUsSn8=", 1175139620);
    struct gw_sigv2_auth a;
    assert_int_equal(gw_sigv2_parse(&r, &a), TS_OK);
    assert_true(a.presigned);
    assert_int_equal(gw_sigv2_verify(&r, &a, "johnsmith", SECRET, 1175139621), TS_ERR_EXPIRED);
    gw_req_release(&r);
}

static void test_malformed(void **state)
{
    (void)state;
    struct gw_sigv2_auth a;
    struct gw_req r;
    const char *no_colon[] = {"Date", "Tue, 27 Mar 2007 19:36:42 +0000", "Authorization",
                              "AWS AKIAIOSFODNN7EXAMPLE", NULL};
    req_build(&r, "GET", "/b/k", no_colon);
    assert_int_equal(gw_sigv2_parse(&r, &a), TS_ERR_MALFORMED);
    gw_req_release(&r);
    const char *no_date[] = {"Authorization", "AWS AKIAIOSFODNN7EXAMPLE:abc=", NULL};
    req_build(&r, "GET", "/b/k", no_date);
    assert_int_equal(gw_sigv2_parse(&r, &a), TS_ERR_MALFORMED);
    gw_req_release(&r);
    const char *v4[] = {"Authorization", "AWS4-HMAC-SHA256 Credential=x", NULL};
    req_build(&r, "GET", "/b/k", v4);
    assert_int_equal(gw_sigv2_parse(&r, &a), TS_ERR_NOT_FOUND);
    gw_req_release(&r);
    const char *none[] = {NULL};
    req_build(&r, "GET", "/b/k?Signature=abc&AWSAccessKeyId=x", none);
    assert_int_equal(gw_sigv2_parse(&r, &a), TS_ERR_MALFORMED); /* no Expires */
    gw_req_release(&r);
    req_build(&r, "GET", "/b/k?Signature=abc&AWSAccessKeyId=x&Expires=12x", none);
    assert_int_equal(gw_sigv2_parse(&r, &a), TS_ERR_MALFORMED);
    gw_req_release(&r);
    req_build(&r, "GET", "/b/k", none);
    assert_int_equal(gw_sigv2_parse(&r, &a), TS_ERR_NOT_FOUND);
    gw_req_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_object),          cmocka_unit_test(test_put_object),
        cmocka_unit_test(test_upload_with_amz_headers), cmocka_unit_test(test_list_and_acl),
        cmocka_unit_test(test_presigned),           cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
