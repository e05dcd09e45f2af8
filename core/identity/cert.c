/* Identity certificates: making the CA and leaf certificates, validating a peer's pair, computing
 * node IDs from CA keys, and signatures with leaf keys. OpenSSL 3 EVP APIs only. */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/base.h"
#include "base/log.h"
#include "identity/identity.h"
#include "identity/identity_internal.h"
#include "identity/identity_openssl.h"

static void log_openssl(const char *what)
{
    unsigned long e = ERR_get_error();
    char msg[256] = "no detail";
    if (e != 0) {
        ERR_error_string_n(e, msg, sizeof msg);
    }
    ERR_clear_error();
    ts_log_error("identity", "%s failed openssl=\"%s\"", what, msg);
}

EVP_PKEY *ts_identity_keygen(void)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (k == NULL) {
        log_openssl("P-256 key generation");
    }
    return k;
}

ts_err ts_identity_id_from_key(EVP_PKEY *ca_key, struct ts_node_id *out)
{
    unsigned char *der = NULL;
    int len = i2d_PUBKEY(ca_key, &der);
    if (len <= 0) {
        log_openssl("i2d_PUBKEY");
        return TS_ERR_CRYPTO;
    }
    unsigned char h1[32];
    unsigned int n1 = 0, n2 = 0;
    int ok = EVP_Digest(der, (size_t)len, h1, &n1, EVP_sha256(), NULL) &&
             EVP_Digest(h1, n1, out->bytes, &n2, EVP_sha256(), NULL);
    OPENSSL_free(der);
    if (!ok || n2 != TS_NODE_ID_SIZE) {
        return TS_ERR_CRYPTO;
    }
    out->bytes[TS_NODE_ID_SIZE - 1] = TS_NODE_ID_VERSION;
    return TS_OK;
}

static int key_is_p256(EVP_PKEY *k)
{
    char group[64];
    size_t glen = 0;
    if (k == NULL || !EVP_PKEY_is_a(k, "EC")) {
        return 0;
    }
    if (!EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                        &glen)) {
        return 0;
    }
    return strcmp(group, "prime256v1") == 0;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL) {
        return 0;
    }
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

static int set_serial_and_names(X509 *cert, const char *org)
{
    BIGNUM *bn = BN_new();
    int ok = bn != NULL && BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
             BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
    BN_free(bn);
    X509_NAME *name = X509_get_subject_name(cert);
    ok = ok && X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)org, -1,
                                          -1, 0);
    /* Identities do not expire (reference §6: rotation is by re-signing the leaf). */
    ok = ok && X509_gmtime_adj(X509_getm_notBefore(cert), -3600) != NULL &&
         X509_gmtime_adj(X509_getm_notAfter(cert), 100L * 365 * 24 * 3600) != NULL;
    return ok;
}

/* Makes a certificate for subject_key signed by issuer_key; issuer_cert NULL = self-signed CA. */
ts_err ts_identity_cert_make(EVP_PKEY *subject_key, EVP_PKEY *issuer_key, X509 *issuer_cert,
                             X509 **out)
{
    *out = NULL;
    int is_ca = issuer_cert == NULL;
    X509 *cert = X509_new();
    int ok = cert != NULL && X509_set_version(cert, X509_VERSION_3) &&
             set_serial_and_names(cert, "Tessera") && X509_set_pubkey(cert, subject_key);
    ok = ok && X509_set_issuer_name(cert, is_ca ? X509_get_subject_name(cert)
                                                : X509_get_subject_name(issuer_cert));
    X509 *issuer = is_ca ? cert : issuer_cert;
    if (is_ca) {
        ok = ok && add_ext(cert, issuer, NID_basic_constraints, "critical,CA:TRUE") &&
             add_ext(cert, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        ok = ok && add_ext(cert, issuer, NID_basic_constraints, "critical,CA:FALSE") &&
             add_ext(cert, issuer, NID_key_usage, "critical,digitalSignature,keyEncipherment") &&
             add_ext(cert, issuer, NID_ext_key_usage, "serverAuth,clientAuth");
    }
    ok = ok && X509_sign(cert, issuer_key, EVP_sha256()) > 0;
    if (!ok) {
        log_openssl("certificate creation");
        X509_free(cert);
        return TS_ERR_CRYPTO;
    }
    *out = cert;
    return TS_OK;
}

ts_err ts_peer_identity_from_x509(X509 *leaf, X509 *ca, struct ts_peer_identity *out)
{
    memset(out, 0, sizeof *out);
    EVP_PKEY *ca_key = ca != NULL ? X509_get0_pubkey(ca) : NULL;
    EVP_PKEY *leaf_key = leaf != NULL ? X509_get0_pubkey(leaf) : NULL;
    if (!key_is_p256(ca_key) || !key_is_p256(leaf_key) || X509_check_ca(ca) == 0) {
        ERR_clear_error();
        return TS_ERR_MALFORMED;
    }
    if (X509_verify(ca, ca_key) != 1 || X509_verify(leaf, ca_key) != 1) {
        ERR_clear_error();
        return TS_ERR_AUTH_FAILED;
    }
    ts_err err = ts_identity_id_from_key(ca_key, &out->id);
    if (err != TS_OK) {
        return err;
    }
    out->difficulty = ts_node_id_difficulty(&out->id);
    int len = i2d_PUBKEY(leaf_key, NULL);
    if (len <= 0 || (size_t)len > sizeof out->leaf_public_key) {
        memset(out, 0, sizeof *out);
        return TS_ERR_MALFORMED;
    }
    unsigned char *p = out->leaf_public_key;
    out->leaf_public_key_len = (size_t)i2d_PUBKEY(leaf_key, &p);
    return TS_OK;
}

ts_err ts_peer_identity_from_der(const uint8_t *leaf_der, size_t leaf_len, const uint8_t *ca_der,
                                 size_t ca_len, struct ts_peer_identity *out)
{
    memset(out, 0, sizeof *out);
    if (leaf_len > TS_IDENTITY_FILE_MAX || ca_len > TS_IDENTITY_FILE_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    const unsigned char *lp = leaf_der, *cp = ca_der;
    X509 *leaf = d2i_X509(NULL, &lp, (long)leaf_len);
    X509 *ca = d2i_X509(NULL, &cp, (long)ca_len);
    ts_err err = TS_ERR_MALFORMED;
    if (leaf != NULL && ca != NULL && lp == leaf_der + leaf_len && cp == ca_der + ca_len) {
        err = ts_peer_identity_from_x509(leaf, ca, out);
    }
    ERR_clear_error();
    X509_free(leaf);
    X509_free(ca);
    return err;
}

ts_err ts_identity_sign_with(EVP_PKEY *key, const void *data, size_t len, uint8_t *sig,
                             size_t *sig_len)
{
    *sig_len = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t n = TS_SIGNATURE_MAX;
    int ok = md != NULL && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestSign(md, sig, &n, data, len) == 1;
    EVP_MD_CTX_free(md);
    if (!ok) {
        log_openssl("ECDSA sign");
        return TS_ERR_CRYPTO;
    }
    *sig_len = n;
    return TS_OK;
}

ts_err ts_peer_identity_verify(const struct ts_peer_identity *peer, const void *data, size_t len,
                               const uint8_t *sig, size_t sig_len)
{
    if (sig_len == 0 || sig_len > TS_SIGNATURE_MAX ||
        peer->leaf_public_key_len > sizeof peer->leaf_public_key) {
        return TS_ERR_AUTH_FAILED;
    }
    const unsigned char *p = peer->leaf_public_key;
    EVP_PKEY *key = d2i_PUBKEY(NULL, &p, (long)peer->leaf_public_key_len);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = key != NULL && key_is_p256(key) && md != NULL &&
             EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestVerify(md, sig, sig_len, data, len) == 1;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return ok ? TS_OK : TS_ERR_AUTH_FAILED;
}
