/*
 * MD5 (RFC 1321), only because S3 defines an object's ETag as the hex MD5 of its bytes and
 * clients (s3cmd, rclone) compare it; it protects nothing here. core/crypto deliberately offers
 * no MD5 and OpenSSL stays behind core/crypto, so this small portable version lives in the
 * gateway. About 0.5-0.7 GB/s on one core, computed while a body streams.
 */
#ifndef GW_MD5_H
#define GW_MD5_H

#include <stddef.h>
#include <stdint.h>

#define GW_MD5_SIZE 16

struct gw_md5 {
    uint32_t state[4];
    uint64_t bytes;    /* total length so far */
    uint8_t block[64]; /* pending partial block */
    size_t block_len;
};

void gw_md5_init(struct gw_md5 *m);
void gw_md5_update(struct gw_md5 *m, const void *data, size_t len);
/* Writes the digest; m must be re-initialised before reuse. */
void gw_md5_final(struct gw_md5 *m, uint8_t out[GW_MD5_SIZE]);
/* One shot. */
void gw_md5(const void *data, size_t len, uint8_t out[GW_MD5_SIZE]);

#endif
