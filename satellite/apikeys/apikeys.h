/*
 * API keys on the satellite (reference §5): creating root keys for a project, and authorising
 * every metainfo request before any work is done: parse the macaroon, look up its head, recompute
 * the HMAC tail chain with the stored secret, refuse if any intermediate tail is revoked, and ask
 * every caveat whether it allows the action (operation, bucket, encrypted path, time).
 *
 * Deliberately independent of core/orders: macaroon.h and orders.h both define TS_ACTION_DELETE,
 * so this module speaks its own sat_op enum and is the only satellite file including macaroon.h
 * besides the admin commands.
 */
#ifndef SAT_APIKEYS_APIKEYS_H
#define SAT_APIKEYS_APIKEYS_H

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "base/buf.h"
#include "db/db.h"
#include "satellite/db/satdb.h"

enum sat_op {
    SAT_OP_READ = 1,
    SAT_OP_WRITE = 2,
    SAT_OP_LIST = 3,
    SAT_OP_DELETE = 4,
    SAT_OP_PROJECT_INFO = 5,
};

/* What a request wants to do; borrowed pointers. Empty bucket = project-level (list buckets,
 * project info); empty path = bucket-level. */
struct sat_request_action {
    enum sat_op op;
    const uint8_t *bucket;
    size_t bucket_len;
    const uint8_t *path; /* encrypted object key, or the listing prefix for SAT_OP_LIST */
    size_t path_len;
};

/* The outcome of a successful authorisation. */
struct sat_auth {
    uint8_t project_id[SAT_ID_SIZE];
    uint8_t api_key_id[SAT_ID_SIZE];
    int64_t max_object_ttl_s; /* smallest max_object_ttl over the caveats; 0 = none */
};

/* Two steps, for requests that check several actions with one key (ListBuckets filters each
 * bucket): _verify parses raw macaroon bytes (at most TS_MACAROON_SIZE_MAX), looks up the head,
 * checks the tail chain and revocations, and fills auth (max_object_ttl included); _allows asks
 * the caveats about one action. _free(NULL) is a no-op. Errors as sat_apikey_authorize. */
struct sat_verified_key;
TS_WARN_UNUSED ts_err sat_apikey_verify(struct ts_db *db, const uint8_t *raw, size_t raw_len,
                                        struct sat_verified_key **out, struct sat_auth *auth);
TS_WARN_UNUSED ts_err sat_apikey_allows(const struct sat_verified_key *key,
                                        const struct sat_request_action *action, int64_t now_s);
void sat_apikey_verified_free(struct sat_verified_key *key);

/* Authorises raw macaroon bytes (RequestHeader.api_key, at most TS_MACAROON_SIZE_MAX) for one
 * action at time now_s. Errors, in the order checked:
 *   TS_ERR_AUTH_FAILED   unparseable key, unknown head, or a tail that does not verify;
 *   TS_ERR_REVOKED       the key or one of its ancestors was revoked;
 *   TS_ERR_EXPIRED / TS_ERR_NOT_YET_VALID / TS_ERR_PERMISSION_DENIED   a caveat refuses;
 *   and database errors. On error *out is zeroed. */
TS_WARN_UNUSED ts_err sat_apikey_authorize(struct ts_db *db, const uint8_t *raw, size_t raw_len,
                                           const struct sat_request_action *action, int64_t now_s,
                                           struct sat_auth *out);

/* Creates a root key for project (which must exist: TS_ERR_NOT_FOUND) named name (at most
 * SAT_NAME_MAX bytes) and appends its text form (base58check) to key_text. The secret never
 * leaves the database. */
TS_WARN_UNUSED ts_err sat_apikey_create(struct ts_db *db, const uint8_t project_id[SAT_ID_SIZE],
                                        const char *name, struct ts_buf *key_text);

/* Revokes a key given as text: verifies it against its record and records its final tail, which
 * also revokes every key derived from it. TS_ERR_AUTH_FAILED for an unknown or forged key. */
TS_WARN_UNUSED ts_err sat_apikey_revoke_text(struct ts_db *db, const char *key_text);

/* RevokeAPIKey RPC: the caller's key (raw, already authorised for the project) may revoke target
 * (raw) when it is an ancestor of it or the same key: same head and the caller's tail appears in
 * target's tail chain. TS_ERR_PERMISSION_DENIED otherwise. */
TS_WARN_UNUSED ts_err sat_apikey_revoke_by_ancestor(struct ts_db *db, const uint8_t *caller,
                                                    size_t caller_len, const uint8_t *target,
                                                    size_t target_len);

#endif
