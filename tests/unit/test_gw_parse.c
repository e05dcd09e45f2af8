/*
 * Unit tests for the gateway's parsers and writers: XML escaping and the body scanner, Range and
 * conditional headers, HTTP dates, URI percent-coding, MD5 (RFC 1321 vectors), Content-MD5.
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
#include "gw_md5.h"
#include "gw_range.h"
#include "gw_req.h"
#include "gw_s3.h"
#include "gw_sigv4.h"
#include "gw_xml.h"

static void test_xml_escaping(void **state)
{
    (void)state;
    struct ts_buf b;
    ts_buf_init(&b, 4096);
    assert_int_equal(gw_xml_escape(&b, "a<b>&\"c'd\x01\te"), TS_OK);
    assert_string_equal((char *)b.data, "a&lt;b&gt;&amp;&quot;c&apos;d&#x1;&#x9;e");
    ts_buf_clear(&b);
    /* UTF-8 passes through */
    assert_int_equal(gw_xml_escape(&b, "caf\xc3\xa9/\xe2\x82\xac"), TS_OK);
    assert_string_equal((char *)b.data, "caf\xc3\xa9/\xe2\x82\xac");
    ts_buf_release(&b);

    /* the writer nests, escapes and refuses to end unbalanced */
    struct gw_xml x;
    ts_buf_init(&b, 4096);
    gw_xml_begin(&x, &b);
    gw_xml_open(&x, "R", GW_S3_XMLNS);
    gw_xml_text(&x, "Key", "x&y");
    gw_xml_u64(&x, "Size", 42);
    gw_xml_bool(&x, "T", true);
    gw_xml_close(&x);
    assert_int_equal(gw_xml_end(&x), TS_OK);
    assert_non_null(strstr((char *)b.data, "<R xmlns=\"" GW_S3_XMLNS "\"><Key>x&amp;y</Key>"
                                           "<Size>42</Size><T>true</T></R>"));
    ts_buf_clear(&b);
    gw_xml_begin(&x, &b);
    gw_xml_open(&x, "R", NULL);
    assert_int_equal(gw_xml_end(&x), TS_ERR_INTERNAL);
    ts_buf_release(&b);
    /* a full buffer is reported, not truncated silently */
    ts_buf_init(&b, 50);
    gw_xml_begin(&x, &b);
    gw_xml_text(&x, "Key", "0123456789012345678901234567890123456789");
    assert_int_equal(gw_xml_end(&x), TS_ERR_TOO_LARGE);
    ts_buf_release(&b);
}

static void test_xml_scanner(void **state)
{
    (void)state;
    const char *doc = "<Delete><Quiet>true</Quiet><Object><Key>a&amp;b</Key></Object>"
                      "<Object><Keys>no</Keys><Key>c&#x41;&#66;&lt;</Key></Object>"
                      "<Object><Key/></Object></Delete>";
    size_t pos = 0, len = strlen(doc), in_len;
    const char *in;
    struct ts_buf k;
    ts_buf_init(&k, 1024);
    assert_int_equal(gw_xml_find(doc, len, "Object", &pos, &in, &in_len), TS_OK);
    size_t kp = 0;
    const char *kin;
    size_t klen;
    assert_int_equal(gw_xml_find(in, in_len, "Key", &kp, &kin, &klen), TS_OK);
    assert_int_equal(gw_xml_unescape(kin, klen, &k), TS_OK);
    assert_string_equal((char *)k.data, "a&b");
    assert_int_equal(gw_xml_find(doc, len, "Object", &pos, &in, &in_len), TS_OK);
    kp = 0;
    assert_int_equal(gw_xml_find(in, in_len, "Key", &kp, &kin, &klen), TS_OK);
    ts_buf_clear(&k);
    assert_int_equal(gw_xml_unescape(kin, klen, &k), TS_OK);
    assert_string_equal((char *)k.data, "cAB<");
    assert_int_equal(gw_xml_find(doc, len, "Object", &pos, &in, &in_len), TS_OK);
    kp = 0;
    assert_int_equal(gw_xml_find(in, in_len, "Key", &kp, &kin, &klen), TS_OK);
    assert_int_equal(klen, 0);
    assert_int_equal(gw_xml_find(doc, len, "Object", &pos, &in, &in_len), TS_ERR_NOT_FOUND);
    /* unclosed, bad entities, markup in text */
    pos = 0;
    assert_int_equal(gw_xml_find("<Key>abc", 8, "Key", &pos, &in, &in_len), TS_ERR_MALFORMED);
    ts_buf_clear(&k);
    assert_int_equal(gw_xml_unescape("&bogus;", 7, &k), TS_ERR_MALFORMED);
    assert_int_equal(gw_xml_unescape("&#0;", 4, &k), TS_ERR_MALFORMED);
    assert_int_equal(gw_xml_unescape("&#x110000;", 10, &k), TS_ERR_MALFORMED);
    assert_int_equal(gw_xml_unescape("a<b", 3, &k), TS_ERR_MALFORMED);
    assert_int_equal(gw_xml_unescape("&amp", 4, &k), TS_ERR_MALFORMED);
    ts_buf_release(&k);
}

static void test_range(void **state)
{
    (void)state;
    struct gw_range r;
    const struct {
        const char *h;
        uint64_t size;
        ts_err err;
        bool partial;
        uint64_t off, len;
    } cases[] = {
        {NULL, 100, TS_OK, false, 0, 100},
        {"bytes=0-9", 100, TS_OK, true, 0, 10},
        {"bytes=90-", 100, TS_OK, true, 90, 10},
        {"bytes=90-1000", 100, TS_OK, true, 90, 10},
        {"bytes=-10", 100, TS_OK, true, 90, 10},
        {"bytes=-1000", 100, TS_OK, true, 0, 100},
        {"bytes=99-99", 100, TS_OK, true, 99, 1},
        {"bytes=100-", 100, TS_ERR_INVALID_ARGUMENT, false, 0, 0},
        {"bytes=-0", 100, TS_ERR_INVALID_ARGUMENT, false, 0, 0},
        {"bytes=0-0", 0, TS_ERR_INVALID_ARGUMENT, false, 0, 0},
        {"bytes=5-2", 100, TS_OK, false, 0, 100},     /* invalid: ignored */
        {"bytes=0-1,5-6", 100, TS_OK, false, 0, 100}, /* multi-range: whole object */
        {"items=0-1", 100, TS_OK, false, 0, 100},
        {"bytes=x-1", 100, TS_OK, false, 0, 100},
        {"bytes=99999999999999999999-", 100, TS_OK, false, 0, 100},
    };
    for (size_t i = 0; i < TS_ARRAY_LEN(cases); i++) {
        ts_err err = gw_range_parse(cases[i].h, cases[i].size, &r);
        assert_int_equal(err, cases[i].err);
        if (err == TS_OK) {
            assert_int_equal(r.partial, cases[i].partial);
            assert_int_equal(r.offset, cases[i].off);
            assert_int_equal(r.length, cases[i].len);
        }
    }
}

static void test_conditionals_and_dates(void **state)
{
    (void)state;
    int64_t t = 0;
    assert_int_equal(gw_http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", &t), TS_OK);
    assert_int_equal(t, 784111777);
    assert_int_equal(gw_http_date_parse("Sunday, 06-Nov-94 08:49:37 GMT", &t), TS_OK);
    assert_int_equal(t, 784111777);
    assert_int_equal(gw_http_date_parse("Sun Nov  6 08:49:37 1994", &t), TS_OK);
    assert_int_equal(t, 784111777);
    assert_int_equal(gw_http_date_parse("yesterday", &t), TS_ERR_MALFORMED);
    char out[48];
    gw_http_date_format(784111777, out);
    assert_string_equal(out, "Sun, 06 Nov 1994 08:49:37 GMT");
    gw_iso_date_format(784111777, out);
    assert_string_equal(out, "1994-11-06T08:49:37.000Z");
    assert_int_equal(gw_amz_date_parse("19941106T084937Z", &t), TS_OK);
    assert_int_equal(t, 784111777);
    assert_int_equal(gw_amz_date_parse("19941306T084937Z", &t), TS_ERR_MALFORMED);

    const char *etag = "\"abc\"";
    const char *before = "Sun, 06 Nov 1994 08:49:36 GMT", *at = "Sun, 06 Nov 1994 08:49:37 GMT";
    int64_t m = 784111777;
    assert_int_equal(gw_cond_eval(NULL, NULL, NULL, NULL, etag, m), GW_COND_OK);
    assert_int_equal(gw_cond_eval("\"abc\"", NULL, NULL, NULL, etag, m), GW_COND_OK);
    assert_int_equal(gw_cond_eval("\"x\", \"abc\"", NULL, NULL, NULL, etag, m), GW_COND_OK);
    assert_int_equal(gw_cond_eval("*", NULL, NULL, NULL, etag, m), GW_COND_OK);
    assert_int_equal(gw_cond_eval("abc", NULL, NULL, NULL, etag, m), GW_COND_OK);
    assert_int_equal(gw_cond_eval("\"x\"", NULL, NULL, NULL, etag, m), GW_COND_PRECONDITION_FAILED);
    assert_int_equal(gw_cond_eval(NULL, "\"abc\"", NULL, NULL, etag, m), GW_COND_NOT_MODIFIED);
    assert_int_equal(gw_cond_eval(NULL, "W/\"abc\"", NULL, NULL, etag, m), GW_COND_NOT_MODIFIED);
    assert_int_equal(gw_cond_eval(NULL, "\"x\"", NULL, NULL, etag, m), GW_COND_OK);
    assert_int_equal(gw_cond_eval(NULL, NULL, at, NULL, etag, m), GW_COND_NOT_MODIFIED);
    assert_int_equal(gw_cond_eval(NULL, NULL, before, NULL, etag, m), GW_COND_OK);
    assert_int_equal(gw_cond_eval(NULL, NULL, NULL, before, etag, m), GW_COND_PRECONDITION_FAILED);
    assert_int_equal(gw_cond_eval(NULL, NULL, NULL, at, etag, m), GW_COND_OK);
    /* If-Match wins over If-Unmodified-Since; If-None-Match over If-Modified-Since (RFC 9110) */
    assert_int_equal(gw_cond_eval("\"abc\"", NULL, NULL, before, etag, m), GW_COND_OK);
    assert_int_equal(gw_cond_eval(NULL, "\"x\"", at, NULL, etag, m), GW_COND_OK);
    /* an unparseable date is ignored */
    assert_int_equal(gw_cond_eval(NULL, NULL, "garbage", "garbage", etag, m), GW_COND_OK);
}

static void test_uri_coding(void **state)
{
    (void)state;
    struct gw_req r;
    gw_req_init(&r, "GET");
    assert_int_equal(gw_req_parse_uri(&r, "/b/a%20b%2Fc?prefix=x+y&flag&k=%3D"), TS_OK);
    assert_string_equal(r.path, "/b/a b/c");
    assert_string_equal(r.raw_path, "/b/a%20b%2Fc");
    assert_string_equal(gw_req_query(&r, "prefix"), "x y");
    assert_string_equal(gw_req_query(&r, "flag"), "");
    assert_string_equal(gw_req_query(&r, "k"), "=");
    assert_true(gw_req_has_query(&r, "flag"));
    assert_null(gw_req_query(&r, "nope"));
    assert_int_equal(gw_req_add_header(&r, "X-Amz-Meta-Color", "red"), TS_OK);
    assert_string_equal(gw_req_header(&r, "x-amz-meta-color"), "red");
    assert_string_equal(r.headers[0].key, "x-amz-meta-color");
    gw_req_release(&r);
    const char *bad[] = {"b/k", "/a%2", "/a%zz", "/a%00b", "", "/?a=%"};
    for (size_t i = 0; i < TS_ARRAY_LEN(bad); i++) {
        gw_req_init(&r, "GET");
        assert_int_not_equal(gw_req_parse_uri(&r, bad[i]), TS_OK);
        gw_req_release(&r);
    }
    struct ts_buf b;
    ts_buf_init(&b, 100);
    assert_int_equal(gw_uri_encode("a b/~-_.*+\xc3\xa9", 12, true, &b), TS_OK);
    assert_string_equal((char *)b.data, "a%20b/~-_.%2A%2B%C3%A9");
    ts_buf_clear(&b);
    assert_int_equal(gw_uri_encode("a/b", 3, false, &b), TS_OK);
    assert_string_equal((char *)b.data, "a%2Fb");
    ts_buf_release(&b);
    /* too many query parameters */
    char uri[4096] = "/b?";
    for (int i = 0; i < GW_QUERY_PARAMS_MAX + 1; i++) {
        size_t n = strlen(uri);
        snprintf(uri + n, sizeof uri - n, "p%d=1&", i);
    }
    gw_req_init(&r, "GET");
    assert_int_equal(gw_req_parse_uri(&r, uri), TS_ERR_TOO_LARGE);
    gw_req_release(&r);
}

static void md5_hex(const char *s, char out[33])
{
    uint8_t d[16];
    gw_md5(s, strlen(s), d);
    gw_hex(d, 16, out);
}

static void test_md5(void **state)
{
    (void)state;
    static const char *const vectors[][2] = {
        {"", "d41d8cd98f00b204e9800998ecf8427e"},
        {"a", "0cc175b9c0f1b6a831c399e269772661"},
        {"abc", "900150983cd24fb0d6963f7d28e17f72"},
        {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
        {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
        {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
         "d174ab98d277d9f5a5611c2c9f419d9f"},
        {"1234567890123456789012345678901234567890"
         "1234567890123456789012345678901234567890",
         "57edf4a22be3c955ac49da2e2107b67a"}};
    char hex[33];
    for (size_t i = 0; i < TS_ARRAY_LEN(vectors); i++) {
        md5_hex(vectors[i][0], hex);
        assert_string_equal(hex, vectors[i][1]);
    }
    /* streaming in odd pieces equals one shot */
    const char *s = vectors[6][0];
    struct gw_md5 m;
    uint8_t d[16];
    gw_md5_init(&m);
    for (size_t i = 0, n = strlen(s); i < n; i += 7) {
        gw_md5_update(&m, s + i, n - i < 7 ? n - i : 7);
    }
    gw_md5_final(&m, d);
    gw_hex(d, 16, hex);
    assert_string_equal(hex, vectors[6][1]);
    /* Content-MD5 of "" is 1B2M2Y8AsgTpgAmY7PhCfg== */
    assert_true(gw_base64_md5_decode("1B2M2Y8AsgTpgAmY7PhCfg==", d));
    gw_hex(d, 16, hex);
    assert_string_equal(hex, "d41d8cd98f00b204e9800998ecf8427e");
    assert_false(gw_base64_md5_decode("1B2M2Y8AsgTpgAmY7PhCfg", d));
    assert_false(gw_base64_md5_decode("1B2M2Y8AsgTpgAmY7Ph!fg==", d));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xml_escaping), cmocka_unit_test(test_xml_scanner),
        cmocka_unit_test(test_range),        cmocka_unit_test(test_conditionals_and_dates),
        cmocka_unit_test(test_uri_coding),   cmocka_unit_test(test_md5),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
