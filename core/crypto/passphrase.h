/*
 * Root encryption key from a passphrase (reference §3.6). The project's salt is mixed in with
 * HMAC first, so a malicious satellite cannot choose the effective argon2 salt:
 *   mixed = HMAC-SHA256(passphrase, project_salt); pathsalt = HMAC-SHA256(mixed, "")
 *   root  = Argon2id(passphrase, salt = pathsalt[:16], t = 1, m = 64 MiB, lanes = 1, 32 bytes)
 * libsodium's crypto_pwhash takes a 16-byte salt and runs one lane, whereas libuplink uses the
 * whole 32-byte salt and parallelism 8: our root keys differ from Storj's for the same
 * passphrase, which is fine because Tessera needs no wire compatibility. Costs ~0.1-0.3 s CPU.
 */
#ifndef TS_CRYPTO_PASSPHRASE_H
#define TS_CRYPTO_PASSPHRASE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* pass: 1..TS_PASSPHRASE_MAX bytes (TS_ERR_INVALID_ARGUMENT when empty, TS_ERR_TOO_LARGE past
 * the limit); salt: the project salt, 1..64 bytes (TS_ERR_INVALID_ARGUMENT otherwise).
 * TS_ERR_NOMEM when argon2 cannot get its 64 MiB. The same inputs give the same key anywhere. */
TS_WARN_UNUSED ts_err ts_root_key_from_passphrase(const char *pass, size_t pass_len,
                                                  const uint8_t *salt, size_t salt_len,
                                                  uint8_t out[32]);

#endif
