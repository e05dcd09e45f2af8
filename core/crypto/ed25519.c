/* Ed25519 signatures through libsodium. */
#include <sodium.h>

#include "base/base.h"
#include "crypto/crypto_internal.h"
#include "crypto/ed25519.h"

_Static_assert(crypto_sign_PUBLICKEYBYTES == TS_ED25519_PUBLIC_SIZE, "public key size");
_Static_assert(crypto_sign_SECRETKEYBYTES == TS_ED25519_PRIVATE_SIZE, "private key size");
_Static_assert(crypto_sign_SEEDBYTES == TS_ED25519_SEED_SIZE, "seed size");
_Static_assert(crypto_sign_BYTES == TS_ED25519_SIGNATURE_SIZE, "signature size");

static const uint8_t empty_msg[1];

ts_err ts_ed25519_keypair(uint8_t pub[32], uint8_t priv[64])
{
    ts_err err = ts_crypto_sodium_ready();
    if (err != TS_OK) {
        return err;
    }
    return crypto_sign_keypair(pub, priv) == 0 ? TS_OK : TS_ERR_CRYPTO;
}

ts_err ts_ed25519_keypair_from_seed(const uint8_t seed[32], uint8_t pub[32], uint8_t priv[64])
{
    ts_err err = ts_crypto_sodium_ready();
    if (err != TS_OK) {
        return err;
    }
    return crypto_sign_seed_keypair(pub, priv, seed) == 0 ? TS_OK : TS_ERR_CRYPTO;
}

ts_err ts_ed25519_sign(const uint8_t priv[64], const void *msg, size_t len, uint8_t sig[64])
{
    ts_err err = ts_crypto_sodium_ready();
    if (err != TS_OK) {
        return err;
    }
    return crypto_sign_detached(sig, NULL, len ? msg : empty_msg, len, priv) == 0 ? TS_OK
                                                                                  : TS_ERR_CRYPTO;
}

ts_err ts_ed25519_verify(const uint8_t pub[32], const void *msg, size_t len, const uint8_t sig[64])
{
    ts_err err = ts_crypto_sodium_ready();
    if (err != TS_OK) {
        return err;
    }
    return crypto_sign_verify_detached(sig, len ? msg : empty_msg, len, pub) == 0
               ? TS_OK
               : TS_ERR_AUTH_FAILED;
}
