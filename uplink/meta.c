/*
 * Object metadata (reference §3.3). User metadata is serialized as the protobuf
 * SerializableMeta{map<string,string> user_defined = 1} (hand-encoded: it is the only message
 * and it stays private to the uplink), sealed with a fresh random metadata key under an all-zero
 * nonce; the metadata key is sealed under the object's content key with a random nonce. The
 * satellite stores the three blobs and never sees the key. Object infos are built here too.
 */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "crypto/aead.h"
#include "crypto/hash.h"
#include "encoding/encoding.h"
#include "internal.h"

/* Protobuf tags: field 1 length-delimited (0x0a), field 2 length-delimited (0x12). */
#define TAG_1 0x0a
#define TAG_2 0x12

static ts_err put_field(struct ts_buf *b, uint8_t tag, const void *data, size_t len)
{
    ts_err err = ts_buf_append_byte(b, tag);
    if (err == TS_OK) {
        err = ts_uvarint_append(b, len);
    }
    if (err == TS_OK) {
        err = ts_buf_append(b, data, len);
    }
    return err;
}

static ts_err meta_serialize(const struct ul_metadata_entry *e, size_t count, struct ts_buf *out)
{
    struct ts_buf entry;
    ts_buf_init(&entry, TS_METADATA_ENCRYPTED_MAX);
    ts_err err = TS_OK;
    for (size_t i = 0; i < count && err == TS_OK; i++) {
        if (e[i].key == NULL || e[i].value == NULL) {
            err = TS_ERR_INVALID_ARGUMENT;
            break;
        }
        ts_buf_clear(&entry);
        err = put_field(&entry, TAG_1, e[i].key, strlen(e[i].key));
        if (err == TS_OK) {
            err = put_field(&entry, TAG_2, e[i].value, strlen(e[i].value));
        }
        if (err == TS_OK) {
            err = put_field(out, TAG_1, entry.data, entry.len);
        }
    }
    ts_buf_release(&entry);
    return err;
}

ts_err ul_meta_seal(const uint8_t content_key[32], const struct ul_metadata_entry *entries,
                    size_t count, struct ts_buf *enc, uint8_t wrapped_key[48], uint8_t nonce[24])
{
    static const uint8_t zero_nonce[24];
    uint8_t key[32];
    struct ts_buf plain;
    ts_buf_init(&plain, TS_METADATA_ENCRYPTED_MAX - TS_GCM_TAG_SIZE);
    ts_err err = meta_serialize(entries, count, &plain);
    if (err == TS_OK) {
        err = ts_random_bytes(key, sizeof(key));
    }
    if (err == TS_OK) {
        err = ts_random_bytes(nonce, 24);
    }
    if (err == TS_OK) {
        err = ts_key_wrap(content_key, nonce, key, wrapped_key);
    }
    if (err == TS_OK) {
        err = ts_buf_reserve(enc, plain.len + TS_GCM_TAG_SIZE);
    }
    if (err == TS_OK) {
        err = ts_aesgcm_seal(key, zero_nonce, plain.data, plain.len, enc->data + enc->len);
    }
    if (err == TS_OK) {
        enc->len += plain.len + TS_GCM_TAG_SIZE;
    }
    ts_wipe(key, sizeof(key));
    ts_buf_release_secret(&plain);
    return err;
}

/* Reads one length-delimited field with the expected tag at *pos. */
static ts_err get_field(const uint8_t *in, size_t len, size_t *pos, uint8_t tag,
                        const uint8_t **data, size_t *data_len)
{
    if (*pos >= len || in[*pos] != tag) {
        return TS_ERR_MALFORMED;
    }
    uint64_t v = 0;
    size_t used = 0;
    ts_err err = ts_uvarint_get(in + *pos + 1, len - *pos - 1, &v, &used);
    if (err != TS_OK) {
        return TS_ERR_MALFORMED;
    }
    size_t start = *pos + 1 + used;
    if (v > len - start) {
        return TS_ERR_MALFORMED;
    }
    *data = in + start;
    *data_len = (size_t)v;
    *pos = start + (size_t)v;
    return TS_OK;
}

/* Counts entries and string bytes of serialized metadata, checking its shape. */
static ts_err meta_measure(const uint8_t *in, size_t len, size_t *count, size_t *bytes)
{
    size_t pos = 0;
    *count = 0;
    *bytes = 0;
    while (pos < len) {
        const uint8_t *entry, *k, *v;
        size_t entry_len, k_len, v_len, epos = 0;
        ts_err err = get_field(in, len, &pos, TAG_1, &entry, &entry_len);
        if (err == TS_OK) {
            err = get_field(entry, entry_len, &epos, TAG_1, &k, &k_len);
        }
        if (err == TS_OK) {
            err = get_field(entry, entry_len, &epos, TAG_2, &v, &v_len);
        }
        if (err != TS_OK || epos != entry_len) {
            return TS_ERR_MALFORMED;
        }
        (*count)++;
        *bytes += k_len + v_len + 2;
    }
    return TS_OK;
}

/* Lays out key, entries and strings in one allocation owned by info. */
static ts_err info_build(struct ul_object_info *info, const char *key, size_t key_len,
                         const uint8_t *meta, size_t meta_len)
{
    size_t count = 0, bytes = 0;
    ts_err err = meta_measure(meta, meta_len, &count, &bytes);
    if (err != TS_OK) {
        return err;
    }
    size_t entries_size = count * sizeof(struct ul_metadata_entry);
    uint8_t *mem = malloc(entries_size + key_len + 1 + bytes + 1);
    if (mem == NULL) {
        return TS_ERR_NOMEM;
    }
    struct ul_metadata_entry *entries = (struct ul_metadata_entry *)mem;
    char *text = (char *)mem + entries_size;
    memcpy(text, key, key_len);
    text[key_len] = '\0';
    info->key = text;
    text += key_len + 1;
    size_t pos = 0;
    for (size_t i = 0; i < count; i++) {
        const uint8_t *entry, *k, *v;
        size_t entry_len, k_len, v_len, epos = 0;
        (void)get_field(meta, meta_len, &pos, TAG_1, &entry, &entry_len); /* measured above */
        (void)get_field(entry, entry_len, &epos, TAG_1, &k, &k_len);
        (void)get_field(entry, entry_len, &epos, TAG_2, &v, &v_len);
        memcpy(text, k, k_len);
        text[k_len] = '\0';
        entries[i].key = text;
        text += k_len + 1;
        memcpy(text, v, v_len);
        text[v_len] = '\0';
        entries[i].value = text;
        text += v_len + 1;
    }
    info->metadata = count ? entries : NULL;
    info->metadata_count = count;
    info->storage_ = mem;
    return TS_OK;
}

ts_err ul_info_fill(struct ul_object_info *info, const char *key, size_t key_len,
                    const uint8_t content_key[32], const uint8_t *enc, size_t enc_len,
                    const uint8_t *wrapped_key, size_t wrapped_len, const uint8_t *nonce,
                    size_t nonce_len)
{
    static const uint8_t zero_nonce[24];
    memset(info, 0, sizeof(*info));
    if (content_key == NULL || enc_len == 0) {
        return info_build(info, key, key_len, NULL, 0); /* metadata not asked for or absent */
    }
    if (enc_len < TS_GCM_TAG_SIZE || enc_len > TS_METADATA_ENCRYPTED_MAX ||
        wrapped_len != TS_WRAPPED_KEY_SIZE || nonce_len != 24) {
        return TS_ERR_MALFORMED;
    }
    uint8_t mkey[32];
    uint8_t plain[TS_METADATA_ENCRYPTED_MAX];
    ts_err err = ts_key_unwrap(content_key, nonce, wrapped_key, mkey);
    if (err == TS_OK) {
        err = ts_aesgcm_open(mkey, zero_nonce, enc, enc_len, plain);
    }
    if (err == TS_OK) {
        err = info_build(info, key, key_len, plain, enc_len - TS_GCM_TAG_SIZE);
    }
    ts_wipe(mkey, sizeof(mkey));
    ts_wipe(plain, sizeof(plain));
    return err;
}

void ul_object_info_release(struct ul_object_info *info)
{
    if (info == NULL) {
        return;
    }
    free(info->storage_);
    memset(info, 0, sizeof(*info));
}
