/* libFuzzer target: access grant parsing. Input starting with a 0x00 byte is taken as the raw
 * protobuf payload and wrapped in base58check first, so the fuzzer reaches the Scope decoder
 * without having to forge checksums; other input is parsed as grant text. A grant that parses must
 * serialize and parse again to the same grant, and its store must answer lookups without
 * crashing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "base/base.h"
#include "base/buf.h"
#include "encoding/encoding.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const struct ts_access *a)
{
    struct ts_buf text, enc, plain;
    ts_buf_init(&text, TS_ACCESS_GRANT_TEXT_MAX);
    ts_buf_init(&enc, TS_ENCRYPTED_KEY_MAX);
    ts_buf_init(&plain, TS_OBJECT_KEY_MAX);
    TS_ASSERT(ts_access_serialize(a, &text) == TS_OK);
    struct ts_access *b = NULL;
    TS_ASSERT(ts_access_parse((const char *)text.data, text.len, &b) == TS_OK);
    TS_ASSERT(ts_access_entry_count(b) == ts_access_entry_count(a));
    for (size_t i = 0; i < ts_access_entry_count(a); i++) {
        struct ts_access_entry e;
        ts_access_entry_get(a, i, &e);
        /* A key below the entry is always covered (by it or a longer entry). */
        char key[TS_OBJECT_KEY_MAX + 3];
        memcpy(key, e.unencrypted_prefix, e.unencrypted_prefix_len);
        memcpy(key + e.unencrypted_prefix_len, "/x", 2);
        ts_buf_clear(&enc);
        ts_err err =
            ts_access_encrypt_key(a, e.bucket, key, e.unencrypted_prefix_len + 2, &enc, NULL);
        TS_ASSERT(err == TS_OK || err == TS_ERR_TOO_LARGE);
        ts_buf_clear(&plain);
        err =
            ts_access_decrypt_key(a, e.bucket, e.encrypted_prefix, e.encrypted_prefix_len, &plain);
        TS_ASSERT(err == TS_OK || err == TS_ERR_MALFORMED || err == TS_ERR_AUTH_FAILED);
    }
    ts_access_free(b);
    ts_buf_release(&text);
    ts_buf_release(&enc);
    ts_buf_release(&plain);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ts_buf wrapped;
    ts_buf_init(&wrapped, TS_BASE58_TEXT_MAX);
    const char *text = (const char *)data;
    size_t text_len = size;
    if (size > 0 && data[0] == 0) {
        if (ts_base58check_encode(TS_ACCESS_GRANT_VERSION, data + 1, size - 1, &wrapped) != TS_OK) {
            ts_buf_release(&wrapped);
            return 0;
        }
        text = (const char *)wrapped.data;
        text_len = wrapped.len;
    }
    struct ts_access *a = NULL;
    if (ts_access_parse(text, text_len, &a) == TS_OK) {
        exercise(a);
    } else {
        TS_ASSERT(a == NULL);
    }
    ts_access_free(a);
    ts_buf_release(&wrapped);
    return 0;
}
