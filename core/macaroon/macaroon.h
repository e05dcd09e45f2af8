/*
 * Macaroon API keys (reference §5). A key is (head, caveats c_1..c_n, tail) with
 * tail_0 = HMAC-SHA256(secret, head) and tail_i = HMAC-SHA256(tail_{i-1}, c_i). The satellite keeps
 * the 32-byte secret per head; anyone holding a key can append a caveat offline, nobody can remove,
 * reorder or alter one without the secret. Caveats are tessera.macaroon.Caveat protobufs
 * (proto/macaroon.proto) that restrict operations, buckets, encrypted path prefixes, a time window
 * and object TTLs; every caveat must allow an action. Wire form: a libmacaroons-v2-like binary
 * (docs/macaroon.md); API key text = base58check(version 0, binary).
 */
#ifndef TS_MACAROON_MACAROON_H
#define TS_MACAROON_MACAROON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/limits.h"

#define TS_MACAROON_HEAD_SIZE 32
#define TS_MACAROON_SECRET_SIZE 32
#define TS_MACAROON_TAIL_SIZE 32
/* base58check version byte of API key text. */
#define TS_MACAROON_API_KEY_VERSION 0

struct ts_macaroon; /* opaque heap object */

/* ---- Lifecycle ---- */

/* A new root key with a random head and a random secret (written to secret_out, which the caller
 * stores and wipes). TS_ERR_CRYPTO when randomness fails. */
TS_WARN_UNUSED ts_err ts_macaroon_new(uint8_t secret_out[TS_MACAROON_SECRET_SIZE],
                                      struct ts_macaroon **out);
/* A root key from a known head and secret (the satellite re-creating a key, tests). */
TS_WARN_UNUSED ts_err ts_macaroon_new_from(const uint8_t head[TS_MACAROON_HEAD_SIZE],
                                           const uint8_t secret[TS_MACAROON_SECRET_SIZE],
                                           struct ts_macaroon **out);
TS_WARN_UNUSED ts_err ts_macaroon_clone(const struct ts_macaroon *m, struct ts_macaroon **out);
/* Wipes and frees; NULL is a no-op. */
void ts_macaroon_free(struct ts_macaroon *m);

/* ---- Reading ---- */

const uint8_t *ts_macaroon_head(const struct ts_macaroon *m);
const uint8_t *ts_macaroon_tail(const struct ts_macaroon *m);
size_t ts_macaroon_caveat_count(const struct ts_macaroon *m);
/* Borrowed bytes of caveat i (< count), valid until m is changed or freed. */
const uint8_t *ts_macaroon_caveat(const struct ts_macaroon *m, size_t i, size_t *len);

/* ---- Restricting (offline, no secret needed) ---- */

/* Appends raw caveat bytes and advances the tail. TS_ERR_TOO_LARGE past TS_CAVEAT_SIZE_MAX bytes,
 * TS_MACAROON_CAVEATS_MAX caveats or TS_MACAROON_SIZE_MAX serialized bytes (m unchanged). */
TS_WARN_UNUSED ts_err ts_macaroon_add_caveat(struct ts_macaroon *m, const uint8_t *caveat,
                                             size_t len);

/* ---- Wire forms ---- */

/* Appends the binary form to out. */
TS_WARN_UNUSED ts_err ts_macaroon_serialize(const struct ts_macaroon *m, struct ts_buf *out);
/* Parses the binary form. TS_ERR_TOO_LARGE past the limits above, TS_ERR_TRUNCATED when it ends
 * early, TS_ERR_UNSUPPORTED_VERSION for a first byte other than 2, TS_ERR_MALFORMED for anything
 * else out of place (head not 32 bytes, tail not 32 bytes, unknown fields, third-party caveats,
 * trailing bytes). Location fields are accepted and dropped. *out is NULL on error. */
TS_WARN_UNUSED ts_err ts_macaroon_parse(const uint8_t *data, size_t len, struct ts_macaroon **out);
/* API key text: base58check(TS_MACAROON_API_KEY_VERSION, binary), appended to out. */
TS_WARN_UNUSED ts_err ts_macaroon_api_key(const struct ts_macaroon *m, struct ts_buf *out);
/* Parses API key text: the errors of ts_base58check_decode and ts_macaroon_parse, and
 * TS_ERR_UNSUPPORTED_VERSION for another version byte. */
TS_WARN_UNUSED ts_err ts_macaroon_api_key_parse(const char *text, size_t text_len,
                                                struct ts_macaroon **out);

/* ---- Verification (satellite side) ---- */

/* Recomputes the chain from secret and compares the tail in constant time: TS_OK or
 * TS_ERR_AUTH_FAILED. */
TS_WARN_UNUSED ts_err ts_macaroon_verify(const struct ts_macaroon *m,
                                         const uint8_t secret[TS_MACAROON_SECRET_SIZE]);
/* Writes tail_0..tail_n (n = caveat count, so n + 1 tails) to tails[0..n] for revocation checks:
 * revoking tail_i revokes every key derived from that key. The last one equals the key's tail only
 * if ts_macaroon_verify succeeds; check that first. TS_ERR_INVALID_ARGUMENT when tails_max <= n. */
TS_WARN_UNUSED ts_err ts_macaroon_tails(const struct ts_macaroon *m,
                                        const uint8_t secret[TS_MACAROON_SECRET_SIZE],
                                        uint8_t (*tails)[TS_MACAROON_TAIL_SIZE], size_t tails_max);

/* ---- Caveats ---- */

struct ts_caveat_path {
    uint8_t bucket[TS_BUCKET_NAME_MAX]; /* bucket name bytes, no NUL */
    size_t bucket_len;                  /* 1..TS_BUCKET_NAME_MAX */
    uint8_t *prefix;                    /* encrypted path prefix (owned; NULL when empty) */
    size_t prefix_len;                  /* <= TS_ENCRYPTED_KEY_MAX */
};

/* A decoded caveat. Times are Unix seconds; 0 means "not set". */
struct ts_caveat {
    bool disallow_reads, disallow_writes, disallow_lists, disallow_deletes;
    struct ts_caveat_path *paths; /* owned array of path_count entries */
    size_t path_count;            /* <= TS_CAVEAT_PATHS_MAX; 0 = every bucket and path */
    int64_t not_before_s;         /* actions before this time are refused */
    int64_t not_after_s;          /* actions after this time are refused */
    int64_t max_object_ttl_s;     /* >= 0 */
    uint8_t nonce[TS_CAVEAT_NONCE_MAX];
    size_t nonce_len;
};

/* _init zeroes (no restriction); _release frees the paths and leaves c initialised. */
void ts_caveat_init(struct ts_caveat *c);
void ts_caveat_release(struct ts_caveat *c);
/* Copies (bucket, encrypted prefix) into c. TS_ERR_TOO_LARGE past TS_CAVEAT_PATHS_MAX entries,
 * TS_BUCKET_NAME_MAX or TS_ENCRYPTED_KEY_MAX bytes; TS_ERR_INVALID_ARGUMENT for an empty bucket. */
TS_WARN_UNUSED ts_err ts_caveat_add_path(struct ts_caveat *c, const uint8_t *bucket,
                                         size_t bucket_len, const uint8_t *prefix,
                                         size_t prefix_len);
/* Protobuf encoding, appended to out. TS_ERR_TOO_LARGE past TS_CAVEAT_SIZE_MAX. */
TS_WARN_UNUSED ts_err ts_caveat_encode(const struct ts_caveat *c, struct ts_buf *out);
/* Decodes into c (initialised by the call; release it even on error). TS_ERR_TOO_LARGE past the
 * limits, TS_ERR_MALFORMED for bad protobuf, unknown fields, a negative TTL or an empty bucket. */
TS_WARN_UNUSED ts_err ts_caveat_decode(const uint8_t *data, size_t len, struct ts_caveat *c);
/* Encodes c and appends it to m. */
TS_WARN_UNUSED ts_err ts_macaroon_restrict(struct ts_macaroon *m, const struct ts_caveat *c);

/* ---- Authorising actions ---- */

enum ts_action_op {
    TS_ACTION_READ = 1,
    TS_ACTION_WRITE = 2,
    TS_ACTION_LIST = 3,
    TS_ACTION_DELETE = 4,
    TS_ACTION_PROJECT_INFO = 5,
};

/* What a request wants to do (borrowed pointers). Bucket-level operations (create, delete, get
 * bucket, list a bucket's root) have an empty path; listing buckets has an empty bucket too. */
struct ts_action {
    enum ts_action_op op;
    const uint8_t *bucket;
    size_t bucket_len;
    const uint8_t *encrypted_path; /* the object key, or the listing prefix for TS_ACTION_LIST */
    size_t encrypted_path_len;
    int64_t time_s; /* when the request happens (the satellite's clock) */
};

/* Whether one caveat allows the action (rules in docs/macaroon.md): TS_OK, TS_ERR_EXPIRED (after
 * not_after), TS_ERR_NOT_YET_VALID (before not_before) or TS_ERR_PERMISSION_DENIED. */
TS_WARN_UNUSED ts_err ts_caveat_allows(const struct ts_caveat *c, const struct ts_action *a);
/* Whether every caveat of m allows the action; the first refusal is returned. A caveat that does
 * not decode refuses everything (TS_ERR_PERMISSION_DENIED). Does not verify the chain. */
TS_WARN_UNUSED ts_err ts_macaroon_allows(const struct ts_macaroon *m, const struct ts_action *a);
/* The smallest max_object_ttl_s over all caveats into *ttl_s (0 when none sets one).
 * TS_ERR_MALFORMED when a caveat does not decode. */
TS_WARN_UNUSED ts_err ts_macaroon_max_object_ttl(const struct ts_macaroon *m, int64_t *ttl_s);

#endif
