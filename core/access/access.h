/*
 * Access grants (reference §3.5, §4): everything an uplink needs to reach a project, in one
 * string. A grant is base58check(version 0, tessera.access.Scope protobuf) holding the satellite's
 * node URL, a macaroon API key (core/macaroon) and an encryption store: entries
 * {bucket, unencrypted prefix, encrypted prefix, key, path cipher} plus an optional default (root)
 * key and a default path cipher. Object keys are encrypted from the entry with the longest
 * matching prefix, deriving downward (core/crypto/path.h), or from the default key.
 * Sharing (ts_access_share) is offline: it appends one caveat to the API key and hands over only
 * the derived keys of the shared prefixes, never the default key. See docs/access.md.
 */
#ifndef TS_ACCESS_ACCESS_H
#define TS_ACCESS_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/limits.h"
#include "crypto/path.h"
#include "macaroon/macaroon.h"

/* base58check version byte of a serialized grant. */
#define TS_ACCESS_GRANT_VERSION 0

struct ts_access; /* opaque heap object */

/* A borrowed view of one store entry, valid until the access is changed or freed. Prefixes are
 * whole path components without a trailing '/' ("" = the whole bucket). */
struct ts_access_entry {
    const char *bucket;             /* NUL-terminated, 1..TS_BUCKET_NAME_MAX bytes */
    const char *unencrypted_prefix; /* NUL-terminated; may hold other bytes too, see _len */
    size_t unencrypted_prefix_len;
    const uint8_t *encrypted_prefix;
    size_t encrypted_prefix_len;
    const uint8_t *key; /* 32 bytes: the derived key of the prefix */
    enum ts_path_cipher cipher;
};

/* What a shared grant may do. Times are Unix seconds, 0 = unbounded. */
struct ts_access_permission {
    bool allow_read, allow_write, allow_list, allow_delete;
    int64_t not_before_s, not_after_s;
    int64_t max_object_ttl_s; /* 0 = no limit */
};

/* One plaintext prefix to share. One trailing '/' is ignored ("a/b/" shares "a/b"); "" shares
 * the whole bucket. */
struct ts_access_prefix {
    const char *bucket;
    const char *prefix;
    size_t prefix_len;
};

/* ---- Lifecycle ---- */

/* A grant for satellite_url (1..TS_NODE_URL_MAX bytes, else TS_ERR_INVALID_ARGUMENT/TOO_LARGE)
 * holding a copy of api_key, an empty store and AES-GCM as default path cipher. */
TS_WARN_UNUSED ts_err ts_access_new(const char *satellite_url, const struct ts_macaroon *api_key,
                                    struct ts_access **out);
/* Wipes the keys and frees; NULL is a no-op. */
void ts_access_free(struct ts_access *a);

/* ---- Reading ---- */

const char *ts_access_satellite_url(const struct ts_access *a);
const struct ts_macaroon *ts_access_api_key(const struct ts_access *a);
bool ts_access_has_default_key(const struct ts_access *a);
enum ts_path_cipher ts_access_default_cipher(const struct ts_access *a);
size_t ts_access_entry_count(const struct ts_access *a);
void ts_access_entry_get(const struct ts_access *a, size_t i, struct ts_access_entry *view);

/* ---- Building the encryption store ---- */

/* Sets the root key (from a passphrase, reference §3.6) used where no entry applies. */
void ts_access_set_default_key(struct ts_access *a, const uint8_t key[32]);
/* TS_ERR_INVALID_ARGUMENT for an unknown cipher. */
TS_WARN_UNUSED ts_err ts_access_set_default_cipher(struct ts_access *a, enum ts_path_cipher cipher);
/* Adds an entry (copies everything), replacing one with the same bucket and unencrypted prefix.
 * TS_ERR_TOO_LARGE past TS_ACCESS_STORE_ENTRIES_MAX entries, TS_OBJECT_KEY_MAX or
 * TS_ENCRYPTED_KEY_MAX bytes; TS_ERR_INVALID_ARGUMENT for a bad bucket name or cipher. */
TS_WARN_UNUSED ts_err ts_access_add_entry(struct ts_access *a, const char *bucket,
                                          const char *unencrypted_prefix, size_t unencrypted_len,
                                          const uint8_t *encrypted_prefix, size_t encrypted_len,
                                          const uint8_t key[32], enum ts_path_cipher cipher);

/* ---- Using the store ---- */

/* Resolves a plaintext object key or prefix of bucket: appends its encrypted form to enc_out and
 * writes the key of its last component to path_key (the key a share of this prefix hands out)
 * and the cipher used to *cipher (either may be NULL). TS_ERR_PERMISSION_DENIED when no entry
 * covers it and there is no default key; the errors of ts_path_encrypt otherwise. */
TS_WARN_UNUSED ts_err ts_access_resolve(const struct ts_access *a, const char *bucket,
                                        const char *path, size_t path_len, struct ts_buf *enc_out,
                                        uint8_t path_key[32], enum ts_path_cipher *cipher);
/* ts_access_resolve for an object key, plus its content key (may be NULL): the key that wraps
 * the object's segment and metadata keys. */
TS_WARN_UNUSED ts_err ts_access_encrypt_key(const struct ts_access *a, const char *bucket,
                                            const char *key, size_t key_len, struct ts_buf *enc_out,
                                            uint8_t content_key[32]);
/* Decrypts a full encrypted object key of bucket (as listed by the satellite) and appends the
 * plaintext to plain_out. TS_ERR_PERMISSION_DENIED when no entry covers it and there is no default
 * key; TS_ERR_AUTH_FAILED / TS_ERR_MALFORMED from ts_path_decrypt (nothing is appended then). */
TS_WARN_UNUSED ts_err ts_access_decrypt_key(const struct ts_access *a, const char *bucket,
                                            const uint8_t *enc, size_t enc_len,
                                            struct ts_buf *plain_out);

/* ---- Sharing (offline) ---- */

/* A new grant restricted to perm and to the given prefixes (count <= TS_CAVEAT_PATHS_MAX; 0 keeps
 * every bucket and the whole store, default key included, and restricts only permissions and
 * time). The API key gets one caveat {disallow_* for what perm does not allow, the time window,
 * max TTL, allowed (bucket, encrypted prefix) pairs, a random nonce}; the store gets one entry per
 * prefix with its derived key, plus the source's entries inside the shared prefixes, and no
 * default key. TS_ERR_INVALID_ARGUMENT for a bad bucket, a "." or ".." component in a prefix, or
 * not_after before not_before; TS_ERR_PERMISSION_DENIED when a prefix is outside this grant's
 * keys. a is not changed. */
TS_WARN_UNUSED ts_err ts_access_share(const struct ts_access *a,
                                      const struct ts_access_permission *perm,
                                      const struct ts_access_prefix *prefixes, size_t count,
                                      struct ts_access **out);

/* ---- Wire form ---- */

/* Appends the grant text to out. TS_ERR_TOO_LARGE past TS_ACCESS_GRANT_TEXT_MAX characters. */
TS_WARN_UNUSED ts_err ts_access_serialize(const struct ts_access *a, struct ts_buf *out);
/* Parses grant text. TS_ERR_TOO_LARGE past TS_ACCESS_GRANT_TEXT_MAX or the store/URL limits,
 * the errors of ts_base58check_decode, TS_ERR_UNSUPPORTED_VERSION for another version byte,
 * TS_ERR_MALFORMED for a bad protobuf, key size, bucket name or cipher, and the errors of
 * ts_macaroon_parse for the API key. *out is NULL on error. */
TS_WARN_UNUSED ts_err ts_access_parse(const char *text, size_t text_len, struct ts_access **out);

#endif
