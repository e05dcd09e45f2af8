/*
 * The credential store: S3 access key IDs mapped to access grants, for many tenants.
 *
 * `tessera-gateway register` turns a grant into an access key ID (32 base32 characters, 160
 * random bits) and a secret (40 characters, 200 bits). The record on disk is one file per key,
 * named by SHA-256(key ID) so the store does not list its key IDs, holding:
 *   the secret (and the public-link flag) sealed under HMAC-SHA256(key ID, label || salt), and
 *   the grant sealed under HMAC-SHA256(secret, label || salt || key ID),
 * both AES-256-GCM with random nonces. Neither appears in plaintext; the store alone reveals
 * nothing without a key ID. SigV4 is an HMAC, so the gateway must recover the secret from the key
 * ID a request names, as Storj's auth service does; the grant then needs the secret.
 *
 * Loaded credentials are cached in memory with an open uplink project each (GW_TENANTS_MAX).
 * Lookups are thread-safe; a gw_cred stays valid until gw_creds_free.
 */
#ifndef GW_CREDS_H
#define GW_CREDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"
#include "gw_sigv4.h"

struct ul_project;

struct gw_cred {
    char access_key_id[GW_ACCESS_KEY_ID_MAX + 1];
    char secret[GW_SECRET_KEY_MAX + 1];
    bool public_link;           /* may serve /s/<key id>/... without a signature */
    struct ul_project *project; /* opened from the grant; shared by every request */
};

struct gw_creds;

/* Opens the store in dir (created 0700 if missing), or a memory-only store when dir is NULL.
 * TS_ERR_IO when dir cannot be created or read. */
TS_WARN_UNUSED ts_err gw_creds_open(const char *dir, struct gw_creds **out);
/* Closes every project, wipes secrets. NULL is a no-op. */
void gw_creds_free(struct gw_creds *s);

/* Gives back the segment buffers every cached project has not used for idle_ms
 * (ul_project_trim), so a past burst of transfers does not stay resident. */
void gw_creds_trim(struct gw_creds *s, int idle_ms);

/* Registers grant. akid / secret may be NULL (generated) or given (single-tenant mode with
 * chosen credentials: 3..128 printable characters without '/'). The grant is parsed first
 * (TS_ERR_MALFORMED when it is not a grant). With a directory the record is written durably
 * (TS_ERR_EXISTS when the key ID is taken); memory-only stores keep it in memory. The chosen
 * key ID and secret are written to akid_out / secret_out (GW_*_MAX + 1 bytes each). */
TS_WARN_UNUSED ts_err gw_creds_register(struct gw_creds *s, const char *grant, bool public_link,
                                        const char *akid, const char *secret, char *akid_out,
                                        char *secret_out);

/* Finds a key ID: memory first, then the directory. TS_ERR_NOT_FOUND when unknown,
 * TS_ERR_AUTH_FAILED when its record does not decrypt (corrupted), TS_ERR_BUSY past
 * GW_TENANTS_MAX cached credentials. */
TS_WARN_UNUSED ts_err gw_creds_get(struct gw_creds *s, const char *akid,
                                   const struct gw_cred **out);

/* Record format, exposed for tests. _seal appends a record to out. _open recovers the secret
 * and flag with the key ID, then the grant with that secret. _open_grant decrypts the grant with
 * a secret the caller supplies: TS_ERR_AUTH_FAILED when it is the wrong one. TS_ERR_MALFORMED /
 * TS_ERR_UNSUPPORTED_VERSION for a damaged or foreign record. */
TS_WARN_UNUSED ts_err gw_cred_record_seal(const char *akid, const char *secret, const char *grant,
                                          bool public_link, struct ts_buf *out);
TS_WARN_UNUSED ts_err gw_cred_record_open(const uint8_t *rec, size_t len, const char *akid,
                                          char secret_out[GW_SECRET_KEY_MAX + 1], bool *public_link,
                                          struct ts_buf *grant_out);
TS_WARN_UNUSED ts_err gw_cred_record_open_grant(const uint8_t *rec, size_t len, const char *akid,
                                                const char *secret, struct ts_buf *grant_out);

#endif
