/* Root key from a passphrase: HMAC salt mixing, then argon2id (libsodium). */
#include <string.h>

#include <sodium.h>

#include "base/base.h"
#include "base/log.h"
#include "crypto/crypto_internal.h"
#include "crypto/hash.h"
#include "crypto/passphrase.h"

/* Project salts are 16-byte UUIDs or 32-byte SHA-256 digests; 64 leaves room and bounds input. */
#define PROJECT_SALT_MAX 64

_Static_assert(crypto_pwhash_argon2id_SALTBYTES <= TS_SHA256_SIZE, "salt comes from an HMAC");

ts_err ts_root_key_from_passphrase(const char *pass, size_t pass_len, const uint8_t *salt,
                                   size_t salt_len, uint8_t out[32])
{
    if (pass_len == 0 || salt_len == 0 || salt_len > PROJECT_SALT_MAX) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    if (pass_len > TS_PASSPHRASE_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    ts_err err = ts_crypto_sodium_ready();
    if (err != TS_OK) {
        return err;
    }
    uint8_t mixed[TS_SHA256_SIZE];
    uint8_t path_salt[TS_SHA256_SIZE];
    err = ts_hmac_sha256((const uint8_t *)pass, pass_len, salt, salt_len, mixed);
    if (err == TS_OK) {
        /* The default key's path salt uses the empty encrypted path (reference §3.6). */
        err = ts_hmac_sha256(mixed, sizeof(mixed), NULL, 0, path_salt);
    }
    if (err == TS_OK && crypto_pwhash(out, 32, pass, pass_len, path_salt, TS_ARGON2_PASSES,
                                      TS_ARGON2_MEMORY_BYTES, crypto_pwhash_ALG_ARGON2ID13) != 0) {
        ts_log_error("crypto", "argon2id failed (out of memory?) memory_bytes=%u",
                     TS_ARGON2_MEMORY_BYTES);
        err = TS_ERR_NOMEM;
    }
    if (err != TS_OK) {
        ts_wipe(out, 32);
    }
    ts_wipe(mixed, sizeof(mixed));
    ts_wipe(path_salt, sizeof(path_salt));
    return err;
}
