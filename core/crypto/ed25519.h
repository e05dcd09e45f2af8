/*
 * Ed25519 signatures (libsodium) for uplink-signed orders and piece hashes (reference §7.3,
 * §7.4): the satellite hands the uplink a fresh piece key per segment. Private keys are libsodium's
 * 64-byte form (seed || public key); wipe them with ts_wipe when done. Thread-safe.
 */
#ifndef TS_CRYPTO_ED25519_H
#define TS_CRYPTO_ED25519_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define TS_ED25519_PUBLIC_SIZE 32
#define TS_ED25519_PRIVATE_SIZE 64
#define TS_ED25519_SEED_SIZE 32
#define TS_ED25519_SIGNATURE_SIZE 64

/* A fresh random key pair. TS_ERR_CRYPTO if libsodium cannot initialise. */
TS_WARN_UNUSED ts_err ts_ed25519_keypair(uint8_t pub[32], uint8_t priv[64]);
/* The key pair of a 32-byte seed (RFC 8032 secret key), deterministic. */
TS_WARN_UNUSED ts_err ts_ed25519_keypair_from_seed(const uint8_t seed[32], uint8_t pub[32],
                                                   uint8_t priv[64]);

/* Signs len bytes of msg (NULL allowed when len is 0) into sig. */
TS_WARN_UNUSED ts_err ts_ed25519_sign(const uint8_t priv[64], const void *msg, size_t len,
                                      uint8_t sig[64]);
/* TS_OK when sig is pub's signature of msg, else TS_ERR_AUTH_FAILED (also for a malformed or
 * small-order public key or a non-canonical signature). */
TS_WARN_UNUSED ts_err ts_ed25519_verify(const uint8_t pub[32], const void *msg, size_t len,
                                        const uint8_t sig[64]);

#endif
