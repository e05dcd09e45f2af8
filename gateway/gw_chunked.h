/*
 * aws-chunked body decoding with per-chunk SigV4 verification
 * (x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD).
 *
 * The body is "<hex size>;chunk-signature=<64 hex>\r\n<data>\r\n" repeated, ending with a
 * zero-size chunk. Each chunk's signature chains from the previous one (the first from the seed
 * signature of the Authorization header). A push parser: bytes arrive in any split from the HTTP
 * layer; chunk data is handed to the sink as it arrives and the chunk's signature is checked when
 * the chunk ends. The sink must therefore treat data as provisional until gw_chunked_finish
 * returns TS_OK (the gateway only commits an upload then). Memory is constant: a header line of
 * GW_CHUNK_LINE_MAX bytes and one running SHA-256.
 */
#ifndef GW_CHUNKED_H
#define GW_CHUNKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/limits.h"
#include "gw_sigv4.h"

typedef ts_err (*gw_chunk_sink)(void *cls, const uint8_t *data, size_t len);

struct ts_sha256_ctx;

struct gw_chunked {
    int state;
    char line[GW_CHUNK_LINE_MAX + 1];
    size_t line_len;
    uint64_t remaining;              /* data bytes left in the current chunk */
    uint64_t decoded_size;           /* data bytes delivered so far */
    char chunk_sig[GW_SIG_HEX_SIZE]; /* signature announced for the current chunk */
    char prev_sig[GW_SIG_HEX_SIZE];
    uint8_t key[32]; /* SigV4 signing key (wiped on release) */
    char amz_date[17];
    char scope[128];
    struct ts_sha256_ctx *sha;
    gw_chunk_sink sink;
    void *sink_cls;
};

/* Starts a decoder; seed_sig is the request's Authorization signature (hex). key is copied.
 * TS_ERR_NOMEM / TS_ERR_CRYPTO. */
TS_WARN_UNUSED ts_err gw_chunked_init(struct gw_chunked *c, const uint8_t key[32],
                                      const char *amz_date, const char *scope, const char *seed_sig,
                                      gw_chunk_sink sink, void *sink_cls);
/* Consumes len bytes. TS_ERR_MALFORMED for bad framing, TS_ERR_TOO_LARGE for a chunk above
 * GW_CHUNK_SIZE_MAX, TS_ERR_AUTH_FAILED for a chunk whose signature does not verify, or the
 * sink's error. After an error the decoder refuses more input. */
TS_WARN_UNUSED ts_err gw_chunked_feed(struct gw_chunked *c, const uint8_t *data, size_t len);
/* Call at the end of the body: TS_ERR_TRUNCATED unless the final zero chunk was seen. */
TS_WARN_UNUSED ts_err gw_chunked_finish(const struct gw_chunked *c);
void gw_chunked_release(struct gw_chunked *c);

#endif
