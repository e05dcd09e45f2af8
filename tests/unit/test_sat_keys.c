/* Macaroon helpers for test_sat_metainfo (a separate file because core/macaroon and core/orders
 * both define TS_ACTION_DELETE and cannot share a translation unit). */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "macaroon/macaroon.h"
#include "test_sat_keys.h"

int test_key_raw(const char *text, uint8_t **raw, size_t *len)
{
    struct ts_macaroon *m = NULL;
    struct ts_buf b;
    ts_buf_init(&b, TS_MACAROON_SIZE_MAX);
    if (ts_macaroon_api_key_parse(text, strlen(text), &m) != TS_OK ||
        ts_macaroon_serialize(m, &b) != TS_OK) {
        ts_macaroon_free(m);
        ts_buf_release(&b);
        return -1;
    }
    ts_macaroon_free(m);
    *raw = ts_buf_detach(&b, len);
    return 0;
}

int test_key_restrict(const uint8_t *raw, size_t len, const struct test_restriction *r,
                      uint8_t **out, size_t *out_len)
{
    struct ts_macaroon *m = NULL;
    struct ts_caveat c;
    struct ts_buf b;
    int rc = -1;
    ts_caveat_init(&c);
    ts_buf_init(&b, TS_MACAROON_SIZE_MAX);
    c.disallow_reads = r->disallow_reads;
    c.disallow_writes = r->disallow_writes;
    c.disallow_lists = r->disallow_lists;
    c.disallow_deletes = r->disallow_deletes;
    c.not_after_s = r->not_after_s;
    c.max_object_ttl_s = r->max_object_ttl_s;
    if (ts_macaroon_parse(raw, len, &m) == TS_OK &&
        (r->bucket == NULL || ts_caveat_add_path(&c, (const uint8_t *)r->bucket, strlen(r->bucket),
                                                 (const uint8_t *)r->prefix,
                                                 r->prefix ? strlen(r->prefix) : 0) == TS_OK) &&
        ts_macaroon_restrict(m, &c) == TS_OK && ts_macaroon_serialize(m, &b) == TS_OK) {
        *out = ts_buf_detach(&b, out_len);
        rc = 0;
    }
    ts_caveat_release(&c);
    ts_macaroon_free(m);
    ts_buf_release(&b);
    return rc;
}
