/*
 * The OpenSSL side of identities, for core/tls only (the one other module allowed to touch
 * OpenSSL for identities). Everyone else uses identity.h.
 */
#ifndef TS_IDENTITY_IDENTITY_OPENSSL_H
#define TS_IDENTITY_IDENTITY_OPENSSL_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "identity/identity.h"

/* Borrowed objects owned by the identity (do not free; valid until ts_identity_free). */
X509 *ts_identity_leaf_cert(const struct ts_identity *identity);
X509 *ts_identity_ca_cert(const struct ts_identity *identity);
EVP_PKEY *ts_identity_leaf_key(const struct ts_identity *identity);

/* Validates a peer's leaf + CA certificates (as ts_peer_identity_from_der) and fills out. */
TS_WARN_UNUSED ts_err ts_peer_identity_from_x509(X509 *leaf, X509 *ca,
                                                 struct ts_peer_identity *out);

#endif
