/*
 * Text and integer encodings used on the wire and on disk:
 *   - base58 (Bitcoin alphabet) and base58check (version byte + 4-byte double-SHA-256 checksum),
 *     used for API keys, access grants and node IDs (reference §4, §5.1, §6);
 *   - unpadded base32, in the RFC 4648 upper-case alphabet (piece IDs, §7.2) or the lower-case
 *     variant `abcdefghijklmnopqrstuvwxyz234567` (blob file names, §9.1);
 *   - unsigned LEB128 varints, at most 10 bytes (macaroon packets, §5.1).
 * Every decoder is bounded, rejects characters outside its alphabet and non-canonical forms, and
 * returns an error for hostile input; scratch memory is proportional to the (bounded) input.
 */
#ifndef TS_ENCODING_ENCODING_H
#define TS_ENCODING_ENCODING_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"

/* ---- base58 / base58check ---- */

/* Bytes added by base58check around the payload: one version byte and a 4-byte checksum. */
#define TS_BASE58CHECK_VERSION_SIZE 1
#define TS_BASE58CHECK_CHECKSUM_SIZE 4

/* Appends the base58 text of data[0..len) to out (the buffer keeps it NUL-terminated). Each
 * leading zero byte becomes a '1'; the empty input encodes to the empty string.
 * TS_ERR_TOO_LARGE when the text would exceed TS_BASE58_TEXT_MAX or out's maximum. */
TS_WARN_UNUSED ts_err ts_base58_encode(const uint8_t *data, size_t len, struct ts_buf *out);

/* Appends the bytes of base58 text[0..text_len) to out. TS_ERR_TOO_LARGE past TS_BASE58_TEXT_MAX
 * characters, TS_ERR_MALFORMED for a character outside the alphabet (including NUL and spaces).
 * On error out is left as it was. */
TS_WARN_UNUSED ts_err ts_base58_decode(const char *text, size_t text_len, struct ts_buf *out);

/* Appends base58(version || payload || checksum) to out, where checksum is the first 4 bytes of
 * SHA-256(SHA-256(version || payload)). */
TS_WARN_UNUSED ts_err ts_base58check_encode(uint8_t version, const uint8_t *payload, size_t len,
                                            struct ts_buf *out);

/* Decodes base58check text: stores the version byte in *version and appends the payload to
 * payload_out. TS_ERR_TRUNCATED when fewer than 5 bytes decode, TS_ERR_CHECKSUM when the checksum
 * does not match, else the errors of ts_base58_decode. On error payload_out is left as it was. */
TS_WARN_UNUSED ts_err ts_base58check_decode(const char *text, size_t text_len, uint8_t *version,
                                            struct ts_buf *payload_out);

/* ---- base32 (unpadded) ---- */

enum ts_base32_alphabet {
    TS_BASE32_STD,   /* RFC 4648 "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567": piece IDs */
    TS_BASE32_LOWER, /* "abcdefghijklmnopqrstuvwxyz234567": blob paths on disk */
};

/* Characters of the unpadded base32 text of len bytes: ceil(len * 8 / 5). 32 bytes -> 52. */
size_t ts_base32_encoded_len(size_t len);

/* Writes the base32 text of data[0..len) and a NUL into out[0..out_size).
 * TS_ERR_TOO_LARGE when out_size < ts_base32_encoded_len(len) + 1 (out untouched). */
TS_WARN_UNUSED ts_err ts_base32_encode_to(enum ts_base32_alphabet alphabet, const uint8_t *data,
                                          size_t len, char *out, size_t out_size);

/* Appends the base32 text of data[0..len) to out. */
TS_WARN_UNUSED ts_err ts_base32_encode(enum ts_base32_alphabet alphabet, const uint8_t *data,
                                       size_t len, struct ts_buf *out);

/* Appends the bytes of unpadded base32 text[0..text_len) to out. Only the given alphabet is
 * accepted (no case folding, no '=' padding). TS_ERR_MALFORMED for a foreign character, a length
 * that no byte string encodes to (text_len % 8 in {1, 3, 6}) or non-zero unused trailing bits
 * (so every byte string has exactly one accepted text). On error out is left as it was. */
TS_WARN_UNUSED ts_err ts_base32_decode(enum ts_base32_alphabet alphabet, const char *text,
                                       size_t text_len, struct ts_buf *out);

/* ---- unsigned varints (LEB128) ---- */

#define TS_UVARINT_SIZE_MAX 10

/* Writes v to out (at least TS_UVARINT_SIZE_MAX bytes) in the minimal number of bytes; returns
 * how many (1..10). */
size_t ts_uvarint_put(uint8_t *out, uint64_t v);

/* Appends the varint encoding of v to out. */
TS_WARN_UNUSED ts_err ts_uvarint_append(struct ts_buf *out, uint64_t v);

/* Reads one varint from in[0..len): stores the value in *v and the bytes consumed in *used.
 * TS_ERR_TRUNCATED when the input ends inside the varint; TS_ERR_MALFORMED when it is longer
 * than 10 bytes, overflows 64 bits, or is not minimal (a final 0x00 byte after another byte). */
TS_WARN_UNUSED ts_err ts_uvarint_get(const uint8_t *in, size_t len, uint64_t *v, size_t *used);

#endif
