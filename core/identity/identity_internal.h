/* Helpers shared by the files of core/identity (not part of its API). */
#ifndef TS_IDENTITY_IDENTITY_INTERNAL_H
#define TS_IDENTITY_IDENTITY_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "identity/identity.h"

/* A fresh P-256 key, or NULL (logged). */
EVP_PKEY *ts_identity_keygen(void);
/* The node ID of a CA public key: SHA-256(SHA-256(SPKI DER)), last byte = version. */
TS_WARN_UNUSED ts_err ts_identity_id_from_key(EVP_PKEY *ca_key, struct ts_node_id *out);
/* A v3 certificate for subject_key signed by issuer_key; issuer_cert NULL makes the self-signed
 * CA (CA:TRUE, keyCertSign), else a leaf (digitalSignature, server+client EKU). */
TS_WARN_UNUSED ts_err ts_identity_cert_make(EVP_PKEY *subject_key, EVP_PKEY *issuer_key,
                                            X509 *issuer_cert, X509 **out);
/* ECDSA over SHA-256, DER; sig holds TS_SIGNATURE_MAX bytes. */
TS_WARN_UNUSED ts_err ts_identity_sign_with(EVP_PKEY *key, const void *data, size_t len,
                                            uint8_t *sig, size_t *sig_len);

#endif
