/*
 * Errors: one table makes the enum and the messages, so no code lacks a message.
 *
 * Every fallible function in Tessera returns ts_err (TS_OK is 0). A foreign library's detail
 * (errno, OpenSSL's queue, sqlite3_errmsg) is logged once where it happens; the category below is
 * what travels. Edges translate: the CLI to an exit code and message, the gateway to an S3 error,
 * RPC to an error frame carrying the code and ts_strerror() text.
 */
#ifndef TS_BASE_ERROR_H
#define TS_BASE_ERROR_H

#define TS_WARN_UNUSED __attribute__((warn_unused_result))

/* X(name, message): message is a full sentence a user can act on. Codes are stable on the wire:
 * append new ones at the end of their group, never renumber. */
#define TS_ERROR_TABLE(X)                                                                          \
    X(OK, "success")                                                                               \
    X(NOMEM, "out of memory")                                                                      \
    X(INVALID_ARGUMENT, "invalid argument")                                                        \
    X(TOO_LARGE, "input exceeds its size limit")                                                   \
    X(TRUNCATED, "input ends before its declared length")                                          \
    X(MALFORMED, "input is malformed")                                                             \
    X(CHECKSUM, "checksum mismatch: the data was corrupted or mistyped")                           \
    X(UNSUPPORTED_VERSION, "unsupported format version")                                           \
    X(CRYPTO, "cryptographic library failure")                                                     \
    X(AUTH_FAILED, "authentication failed: signature, MAC or tag does not verify")                 \
    X(TOO_MANY_ERRORS, "too many corrupted shares to correct")                                     \
    X(NOT_ENOUGH_SHARES, "not enough pieces or shares to rebuild the data")                        \
    X(IO, "input/output error")                                                                    \
    X(NOT_FOUND, "not found")                                                                      \
    X(EXISTS, "already exists")                                                                    \
    X(PERMISSION_DENIED, "permission denied by the access's restrictions")                         \
    X(EXPIRED, "expired")                                                                          \
    X(NOT_YET_VALID, "not yet valid: created in the future or before its start time")              \
    X(REPLAYED, "replayed: this serial number was already used")                                   \
    X(WRONG_NODE, "addressed to a different node")                                                 \
    X(UNTRUSTED, "signed by an untrusted satellite or peer")                                       \
    X(BUSY, "busy: too many concurrent requests, retry later")                                     \
    X(TIMEOUT, "timed out")                                                                        \
    X(CONNECT, "could not connect to the peer")                                                    \
    X(TLS, "TLS handshake or record failure")                                                      \
    X(PROTOCOL, "protocol violation by the peer")                                                  \
    X(CANCELED, "canceled")                                                                        \
    X(CLOSED, "connection closed by the peer")                                                     \
    X(NO_SPACE, "not enough storage space")                                                        \
    X(DB, "database failure")                                                                      \
    X(CONFIG, "invalid configuration")                                                             \
    X(DIFFICULTY, "identity proof-of-work difficulty below the required minimum")                  \
    X(LIMIT_EXCEEDED, "request exceeds the amount its order allows")                               \
    X(HASH_MISMATCH, "data does not match its signed hash")                                        \
    X(REVOKED, "the API key was revoked")                                                          \
    X(NOT_EMPTY, "not empty")                                                                      \
    X(UNAVAILABLE, "service unavailable")                                                          \
    X(END_OF_STREAM, "end of stream: the peer has nothing more to send")                           \
    X(TOO_SMALL, "input is below its minimum size (e.g. a multipart part other than the last)")    \
    X(INTERNAL, "internal error (a bug): please report it")

typedef enum {
#define TS_ERROR_ENUM(name, msg) TS_ERR_##name,
    TS_ERROR_TABLE(TS_ERROR_ENUM)
#undef TS_ERROR_ENUM
        TS_ERR__COUNT
} ts_err;

#define TS_OK TS_ERR_OK

/* Returns the message for err; never NULL (unknown codes get a fixed text). */
const char *ts_strerror(ts_err err);

/* Returns the symbolic name ("NOT_FOUND") for err; never NULL. */
const char *ts_errname(ts_err err);

#endif
