/* The grant string: base58check(version 0, tessera.access.Scope), strict and bounded on parse. */
#include <stdlib.h>
#include <string.h>

#include "access.pb-c.h"
#include "access/access.h"
#include "access/access_internal.h"
#include "base/base.h"
#include "encoding/encoding.h"

typedef Tessera__Access__Scope ScopePb;
typedef Tessera__Access__EncryptionAccess EncPb;
typedef Tessera__Access__EncryptionAccess__StoreEntry EntryPb;

/* Packs the scope into payload (the caller wipes it: it holds keys). */
static ts_err scope_pack(const struct ts_access *a, struct ts_buf *api_key, struct ts_buf *payload)
{
    ts_err err = ts_macaroon_serialize(a->api_key, api_key);
    if (err != TS_OK) {
        return err;
    }
    EntryPb *entries = calloc(a->count + 1, sizeof *entries);
    EntryPb **ptrs = calloc(a->count + 1, sizeof *ptrs);
    err = TS_ERR_NOMEM;
    if (entries == NULL || ptrs == NULL) {
        goto done;
    }
    for (size_t i = 0; i < a->count; i++) {
        const struct access_entry *e = &a->entries[i];
        tessera__access__encryption_access__store_entry__init(&entries[i]);
        entries[i].bucket.data = (uint8_t *)e->bucket;
        entries[i].bucket.len = strlen(e->bucket);
        entries[i].unencrypted_path.data = (uint8_t *)e->plain;
        entries[i].unencrypted_path.len = e->plain_len;
        entries[i].encrypted_path.data = e->enc;
        entries[i].encrypted_path.len = e->enc_len;
        entries[i].key.data = (uint8_t *)e->key;
        entries[i].key.len = sizeof e->key;
        entries[i].path_cipher = (Tessera__Access__CipherSuite)e->cipher;
        ptrs[i] = &entries[i];
    }
    EncPb enc = TESSERA__ACCESS__ENCRYPTION_ACCESS__INIT;
    if (a->has_default_key) {
        enc.default_key.data = (uint8_t *)a->default_key;
        enc.default_key.len = sizeof a->default_key;
    }
    enc.n_store_entries = a->count;
    enc.store_entries = ptrs;
    enc.default_path_cipher = (Tessera__Access__CipherSuite)a->default_cipher;
    ScopePb scope = TESSERA__ACCESS__SCOPE__INIT;
    scope.satellite_addr = a->satellite_url;
    scope.api_key.data = api_key->data;
    scope.api_key.len = api_key->len;
    scope.encryption_access = &enc;
    size_t size = tessera__access__scope__get_packed_size(&scope);
    err = ts_buf_reserve(payload, size);
    if (err == TS_OK) {
        TS_ASSERT(tessera__access__scope__pack(&scope, payload->data) == size);
        payload->len = size;
        payload->data[size] = 0;
    }
done:
    free(entries);
    free(ptrs);
    return err;
}

ts_err ts_access_serialize(const struct ts_access *a, struct ts_buf *out)
{
    struct ts_buf api_key, payload;
    ts_buf_init(&api_key, TS_MACAROON_SIZE_MAX);
    ts_buf_init(&payload, TS_ACCESS_GRANT_TEXT_MAX);
    ts_err err = scope_pack(a, &api_key, &payload);
    size_t old_len = out->len;
    if (err == TS_OK) {
        err = ts_base58check_encode(TS_ACCESS_GRANT_VERSION, payload.data, payload.len, out);
    }
    if (err == TS_OK && out->len - old_len > TS_ACCESS_GRANT_TEXT_MAX) {
        ts_buf_truncate(out, old_len);
        err = TS_ERR_TOO_LARGE;
    }
    ts_buf_release_secret(&api_key);
    ts_buf_release_secret(&payload);
    return err;
}

static ts_err cipher_from_pb(Tessera__Access__CipherSuite pb, enum ts_path_cipher *out)
{
    switch ((int)pb) {
    case TESSERA__ACCESS__CIPHER_SUITE__ENC_UNSPECIFIED:
    case TESSERA__ACCESS__CIPHER_SUITE__ENC_AESGCM:
        *out = TS_PATH_CIPHER_AESGCM;
        return TS_OK;
    case TESSERA__ACCESS__CIPHER_SUITE__ENC_NULL:
        *out = TS_PATH_CIPHER_NULL;
        return TS_OK;
    default:
        return TS_ERR_MALFORMED;
    }
}

static ts_err entry_from_pb(const EntryPb *p, struct ts_access *a)
{
    char bucket[TS_BUCKET_NAME_MAX + 1];
    enum ts_path_cipher cipher = TS_PATH_CIPHER_AESGCM;
    if (!ts_access_bucket_valid((const char *)p->bucket.data, p->bucket.len) || p->key.len != 32 ||
        cipher_from_pb(p->path_cipher, &cipher) != TS_OK) {
        return TS_ERR_MALFORMED;
    }
    memcpy(bucket, p->bucket.data, p->bucket.len);
    bucket[p->bucket.len] = 0;
    ts_err err = ts_access_add_entry(a, bucket, (const char *)p->unencrypted_path.data,
                                     p->unencrypted_path.len, p->encrypted_path.data,
                                     p->encrypted_path.len, p->key.data, cipher);
    return err == TS_ERR_INVALID_ARGUMENT ? TS_ERR_MALFORMED : err;
}

static ts_err access_from_pb(const ScopePb *s, struct ts_access **out)
{
    const EncPb *enc = s->encryption_access;
    if (s->satellite_addr == NULL || s->satellite_addr[0] == 0 || s->api_key.len == 0) {
        return TS_ERR_MALFORMED;
    }
    if (strnlen(s->satellite_addr, TS_NODE_URL_MAX + 1) > TS_NODE_URL_MAX ||
        (enc != NULL && enc->n_store_entries > TS_ACCESS_STORE_ENTRIES_MAX)) {
        return TS_ERR_TOO_LARGE;
    }
    struct ts_macaroon *key = NULL;
    ts_err err = ts_macaroon_parse(s->api_key.data, s->api_key.len, &key);
    if (err == TS_OK) {
        err = ts_access_new(s->satellite_addr, key, out);
    }
    ts_macaroon_free(key);
    if (err != TS_OK || enc == NULL) {
        return err;
    }
    struct ts_access *a = *out;
    if (enc->default_key.len == 32) {
        ts_access_set_default_key(a, enc->default_key.data);
    } else if (enc->default_key.len != 0) {
        err = TS_ERR_MALFORMED;
    }
    if (err == TS_OK) {
        err = cipher_from_pb(enc->default_path_cipher, &a->default_cipher);
    }
    for (size_t i = 0; i < enc->n_store_entries && err == TS_OK; i++) {
        err = entry_from_pb(enc->store_entries[i], a);
    }
    /* Entries must be distinct: a duplicate (bucket, prefix) was merged by add_entry. */
    if (err == TS_OK && a->count != enc->n_store_entries) {
        err = TS_ERR_MALFORMED;
    }
    if (err != TS_OK) {
        ts_access_free(a);
        *out = NULL;
    }
    return err;
}

/* Overwrites the key bytes inside an unpacked scope before protobuf-c frees it. */
static void scope_wipe(ScopePb *s)
{
    EncPb *enc = s->encryption_access;
    if (enc == NULL) {
        return;
    }
    ts_wipe(enc->default_key.data, enc->default_key.len);
    for (size_t i = 0; i < enc->n_store_entries; i++) {
        ts_wipe(enc->store_entries[i]->key.data, enc->store_entries[i]->key.len);
    }
}

ts_err ts_access_parse(const char *text, size_t text_len, struct ts_access **out)
{
    *out = NULL;
    if (text_len > TS_ACCESS_GRANT_TEXT_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    struct ts_buf payload;
    ts_buf_init(&payload, TS_ACCESS_GRANT_TEXT_MAX);
    uint8_t version = 0;
    ts_err err = ts_base58check_decode(text, text_len, &version, &payload);
    if (err == TS_OK && version != TS_ACCESS_GRANT_VERSION) {
        err = TS_ERR_UNSUPPORTED_VERSION;
    }
    ScopePb *scope = NULL;
    if (err == TS_OK) {
        scope = tessera__access__scope__unpack(NULL, payload.len, payload.data);
        err = scope == NULL ? TS_ERR_MALFORMED : TS_OK;
    }
    if (err == TS_OK) {
        err = access_from_pb(scope, out);
        scope_wipe(scope);
        tessera__access__scope__free_unpacked(scope, NULL);
    }
    ts_buf_release_secret(&payload);
    return err;
}
