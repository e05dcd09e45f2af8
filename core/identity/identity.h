/*
 * Node identity (reference §6): every satellite, storage node and uplink has an ECDSA P-256 CA
 * certificate (self-signed, the root of its identity) and a leaf certificate signed by that CA (the
 * key it uses for TLS and for signing receipts and orders). The node ID is
 * SHA-256(SHA-256(DER SubjectPublicKeyInfo of the CA key)) with the last byte replaced by the
 * identity version (0); its proof-of-work difficulty is the number of trailing zero bits (counted
 * from byte 30 down, plus 8 for the version byte). Uplinks use an ephemeral, in-memory identity of
 * difficulty 0. See docs/identity.md.
 *
 * struct ts_identity is opaque and holds private keys; struct ts_peer_identity is a plain value
 * (ID + the leaf public key as DER) that anyone may copy, store and verify signatures against.
 * Only this module and core/tls touch OpenSSL for identities.
 */
#ifndef TS_IDENTITY_IDENTITY_H
#define TS_IDENTITY_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

/* ---- Node IDs ---- */

struct ts_node_id {
    uint8_t bytes[TS_NODE_ID_SIZE]; /* last byte = identity version (always 0 today) */
};

#define TS_NODE_ID_VERSION 0

/* Trailing zero bits of id (bytes 30..0 scanned as a big-endian number) plus 8 for the version
 * byte; an all-zero ID counts 256. */
int ts_node_id_difficulty(const struct ts_node_id *id);

/* 1 when a and b are the same ID, else 0. */
int ts_node_id_equal(const struct ts_node_id *a, const struct ts_node_id *b);

/* 1 when every byte is zero (the "no node" value), else 0. */
int ts_node_id_is_zero(const struct ts_node_id *id);

/* String form: base58check(payload = ID with the version byte zeroed, version byte = version).
 * _to_string writes a NUL-terminated string into out (out_size >= TS_NODE_ID_TEXT_MAX always
 * suffices); TS_ERR_TOO_LARGE if out is too small. _from_string fails with TS_ERR_MALFORMED,
 * TS_ERR_CHECKSUM or TS_ERR_UNSUPPORTED_VERSION and leaves *out zeroed. */
TS_WARN_UNUSED ts_err ts_node_id_to_string(const struct ts_node_id *id, char *out, size_t out_size);
TS_WARN_UNUSED ts_err ts_node_id_from_string(const char *text, struct ts_node_id *out);

/* ---- Node URLs: "nodeid@host:port" ("nodeid@[v6addr]:port" for IPv6) ---- */

struct ts_node_url {
    struct ts_node_id id;
    char host[TS_HOST_NAME_MAX + 1]; /* NUL-terminated, no brackets */
    uint16_t port;                   /* 1..65535 */
};

/* Parses text (at most TS_NODE_URL_MAX bytes). The ID and the port are required.
 * Errors: TS_ERR_TOO_LARGE, TS_ERR_MALFORMED (and the node-ID errors above). */
TS_WARN_UNUSED ts_err ts_node_url_parse(const char *text, struct ts_node_url *out);
/* Formats url into out (TS_NODE_URL_MAX + 1 bytes always suffice); TS_ERR_TOO_LARGE if smaller. */
TS_WARN_UNUSED ts_err ts_node_url_format(const struct ts_node_url *url, char *out,
                                         size_t out_size);

/* ---- Peer identities (public part, a plain value) ---- */

struct ts_peer_identity {
    struct ts_node_id id;                         /* computed from the CA key, never trusted as sent */
    int difficulty;                               /* ts_node_id_difficulty(&id) */
    uint8_t leaf_public_key[TS_PUBLIC_KEY_DER_MAX]; /* DER SubjectPublicKeyInfo of the leaf key */
    size_t leaf_public_key_len;
};

/* Builds a peer identity from DER certificates: checks the CA is self-signed and a CA, the leaf is
 * signed by the CA, both keys are P-256, and computes the ID. Errors: TS_ERR_MALFORMED (not
 * certificates / wrong key type), TS_ERR_AUTH_FAILED (a signature does not verify). */
TS_WARN_UNUSED ts_err ts_peer_identity_from_der(const uint8_t *leaf_der, size_t leaf_len,
                                                const uint8_t *ca_der, size_t ca_len,
                                                struct ts_peer_identity *out);

/* Verifies an ECDSA P-256 signature (DER, over SHA-256 of data) made with the peer's leaf key.
 * Returns TS_OK or TS_ERR_AUTH_FAILED (also for a malformed signature or key). */
TS_WARN_UNUSED ts_err ts_peer_identity_verify(const struct ts_peer_identity *peer,
                                              const void *data, size_t len,
                                              const uint8_t *sig, size_t sig_len);

/* ---- Full identities (with private keys) ---- */

struct ts_identity;

/* Progress of ts_identity_create: called from the calling thread about every 250 ms with the
 * number of CA keys tried so far and the best difficulty seen. */
typedef void (*ts_identity_progress_fn)(uint64_t tries, int best_difficulty, void *ctx);

struct ts_identity_create_opts {
    int difficulty_min;              /* keep generating CA keys until the ID reaches this */
    int threads;                     /* 0 = one per online CPU */
    ts_identity_progress_fn progress; /* may be NULL */
    void *progress_ctx;
};

/* Creates a new identity (CA key + cert, leaf key + cert) whose ID difficulty is at least
 * opts->difficulty_min (0..TS_ID_DIFFICULTY_MAX; TS_ERR_INVALID_ARGUMENT beyond). Expected work is
 * 2^(difficulty-8) key generations. The result holds the CA private key (needed only by _save). */
TS_WARN_UNUSED ts_err ts_identity_create(const struct ts_identity_create_opts *opts,
                                         struct ts_identity **out);

/* An in-memory identity of difficulty >= 0 for uplinks; no CA private key is kept. */
TS_WARN_UNUSED ts_err ts_identity_create_ephemeral(struct ts_identity **out);

/* Writes dir/ca.cert, dir/ca.key (if this identity holds the CA key), dir/identity.cert (leaf then
 * CA, PEM) and dir/identity.key, each atomically; keys with mode 0600. Creates dir (0700). Refuses
 * with TS_ERR_EXISTS if dir/identity.cert already exists. */
TS_WARN_UNUSED ts_err ts_identity_save(const struct ts_identity *identity, const char *dir);

/* Loads dir/identity.cert and dir/identity.key (ca.key is not read), validating as
 * ts_peer_identity_from_der does and checking the key matches the leaf.
 * Errors: TS_ERR_NOT_FOUND, TS_ERR_MALFORMED, TS_ERR_AUTH_FAILED, TS_ERR_TOO_LARGE, TS_ERR_IO. */
TS_WARN_UNUSED ts_err ts_identity_load(const char *dir, struct ts_identity **out);

/* Frees an identity, wiping its private keys. NULL is a no-op. */
void ts_identity_free(struct ts_identity *identity);

/* Borrowed views; valid until ts_identity_free. */
const struct ts_node_id *ts_identity_id(const struct ts_identity *identity);
int ts_identity_difficulty(const struct ts_identity *identity);
/* The public part, as a peer sees it after a handshake. */
const struct ts_peer_identity *ts_identity_peer(const struct ts_identity *identity);

/* Signs data with the leaf key: ECDSA P-256 over SHA-256, DER encoded, at most TS_SIGNATURE_MAX
 * bytes. sig must hold TS_SIGNATURE_MAX bytes; *sig_len receives the length. Thread-safe. */
TS_WARN_UNUSED ts_err ts_identity_sign(const struct ts_identity *identity, const void *data,
                                       size_t len, uint8_t *sig, size_t *sig_len);

#endif
