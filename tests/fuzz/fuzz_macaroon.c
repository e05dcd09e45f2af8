/* libFuzzer target: macaroon binary parsing, caveat decoding and evaluation of hostile keys.
 * Whatever parses must serialize back to bytes that parse to the same key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "macaroon/macaroon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ts_caveat c;
    if (ts_caveat_decode(data, size, &c) == TS_OK) {
        struct ts_action a = {.op = TS_ACTION_READ,
                              .bucket = (const uint8_t *)"b",
                              .bucket_len = 1,
                              .encrypted_path = data,
                              .encrypted_path_len = size};
        ts_err e = ts_caveat_allows(&c, &a);
        TS_ASSERT(e == TS_OK || e == TS_ERR_PERMISSION_DENIED || e == TS_ERR_EXPIRED ||
                  e == TS_ERR_NOT_YET_VALID);
    }
    ts_caveat_release(&c);

    struct ts_macaroon *m = NULL;
    if (ts_macaroon_parse(data, size, &m) != TS_OK) {
        TS_ASSERT(m == NULL);
        return 0;
    }
    struct ts_buf b;
    ts_buf_init(&b, TS_MACAROON_SIZE_MAX);
    TS_ASSERT(ts_macaroon_serialize(m, &b) == TS_OK);
    struct ts_macaroon *again = NULL;
    TS_ASSERT(ts_macaroon_parse(b.data, b.len, &again) == TS_OK);
    TS_ASSERT(ts_macaroon_caveat_count(again) == ts_macaroon_caveat_count(m));
    TS_ASSERT(memcmp(ts_macaroon_tail(again), ts_macaroon_tail(m), TS_MACAROON_TAIL_SIZE) == 0);
    static const uint8_t secret[TS_MACAROON_SECRET_SIZE] = {1};
    ts_err e = ts_macaroon_verify(m, secret);
    TS_ASSERT(e == TS_OK || e == TS_ERR_AUTH_FAILED);
    struct ts_action a = {.op = TS_ACTION_LIST,
                          .bucket = (const uint8_t *)"bucket",
                          .bucket_len = 6,
                          .encrypted_path = (const uint8_t *)"x/y",
                          .encrypted_path_len = 3,
                          .time_s = 1700000000};
    e = ts_macaroon_allows(m, &a);
    TS_ASSERT(e == TS_OK || e == TS_ERR_PERMISSION_DENIED || e == TS_ERR_EXPIRED ||
              e == TS_ERR_NOT_YET_VALID);
    int64_t ttl = -1;
    e = ts_macaroon_max_object_ttl(m, &ttl);
    TS_ASSERT((e == TS_OK && ttl >= 0) || e == TS_ERR_MALFORMED);
    ts_macaroon_free(again);
    ts_macaroon_free(m);
    ts_buf_release(&b);
    return 0;
}
