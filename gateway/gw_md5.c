/* MD5 per RFC 1321: 64 steps over 16 little-endian words per 64-byte block. */
#include <string.h>

#include "base/base.h"
#include "gw_md5.h"

/* The four auxiliary functions of RFC 1321 (F and G in their cheaper equivalent forms). */
#define F(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define G(x, y, z) ((y) ^ ((z) & ((x) ^ (y))))
#define H(x, y, z) ((x) ^ (y) ^ (z))
#define I(x, y, z) ((y) ^ ((x) | ~(z)))
/* a = b + ((a + f(b,c,d) + word + constant) <<< s); the constants are floor(|sin(i+1)| * 2^32). */
#define STEP(f, a, b, c, d, x, t, s)                                                               \
    do {                                                                                           \
        (a) += f((b), (c), (d)) + (x) + (t);                                                       \
        (a) = ((a) << (s)) | ((a) >> (32 - (s)));                                                  \
        (a) += (b);                                                                                \
    } while (0)

/* One 64-byte block, fully unrolled: 64 steps, 16 per round. */
static void transform(uint32_t st[4], const uint8_t *p)
{
    uint32_t w[16];
    for (int i = 0; i < 16; i++) {
        w[i] = (uint32_t)p[4 * i] | ((uint32_t)p[4 * i + 1] << 8) | ((uint32_t)p[4 * i + 2] << 16) |
               ((uint32_t)p[4 * i + 3] << 24);
    }
    uint32_t a = st[0], b = st[1], c = st[2], d = st[3];
    STEP(F, a, b, c, d, w[0], 0xd76aa478u, 7);
    STEP(F, d, a, b, c, w[1], 0xe8c7b756u, 12);
    STEP(F, c, d, a, b, w[2], 0x242070dbu, 17);
    STEP(F, b, c, d, a, w[3], 0xc1bdceeeu, 22);
    STEP(F, a, b, c, d, w[4], 0xf57c0fafu, 7);
    STEP(F, d, a, b, c, w[5], 0x4787c62au, 12);
    STEP(F, c, d, a, b, w[6], 0xa8304613u, 17);
    STEP(F, b, c, d, a, w[7], 0xfd469501u, 22);
    STEP(F, a, b, c, d, w[8], 0x698098d8u, 7);
    STEP(F, d, a, b, c, w[9], 0x8b44f7afu, 12);
    STEP(F, c, d, a, b, w[10], 0xffff5bb1u, 17);
    STEP(F, b, c, d, a, w[11], 0x895cd7beu, 22);
    STEP(F, a, b, c, d, w[12], 0x6b901122u, 7);
    STEP(F, d, a, b, c, w[13], 0xfd987193u, 12);
    STEP(F, c, d, a, b, w[14], 0xa679438eu, 17);
    STEP(F, b, c, d, a, w[15], 0x49b40821u, 22);
    STEP(G, a, b, c, d, w[1], 0xf61e2562u, 5);
    STEP(G, d, a, b, c, w[6], 0xc040b340u, 9);
    STEP(G, c, d, a, b, w[11], 0x265e5a51u, 14);
    STEP(G, b, c, d, a, w[0], 0xe9b6c7aau, 20);
    STEP(G, a, b, c, d, w[5], 0xd62f105du, 5);
    STEP(G, d, a, b, c, w[10], 0x02441453u, 9);
    STEP(G, c, d, a, b, w[15], 0xd8a1e681u, 14);
    STEP(G, b, c, d, a, w[4], 0xe7d3fbc8u, 20);
    STEP(G, a, b, c, d, w[9], 0x21e1cde6u, 5);
    STEP(G, d, a, b, c, w[14], 0xc33707d6u, 9);
    STEP(G, c, d, a, b, w[3], 0xf4d50d87u, 14);
    STEP(G, b, c, d, a, w[8], 0x455a14edu, 20);
    STEP(G, a, b, c, d, w[13], 0xa9e3e905u, 5);
    STEP(G, d, a, b, c, w[2], 0xfcefa3f8u, 9);
    STEP(G, c, d, a, b, w[7], 0x676f02d9u, 14);
    STEP(G, b, c, d, a, w[12], 0x8d2a4c8au, 20);
    STEP(H, a, b, c, d, w[5], 0xfffa3942u, 4);
    STEP(H, d, a, b, c, w[8], 0x8771f681u, 11);
    STEP(H, c, d, a, b, w[11], 0x6d9d6122u, 16);
    STEP(H, b, c, d, a, w[14], 0xfde5380cu, 23);
    STEP(H, a, b, c, d, w[1], 0xa4beea44u, 4);
    STEP(H, d, a, b, c, w[4], 0x4bdecfa9u, 11);
    STEP(H, c, d, a, b, w[7], 0xf6bb4b60u, 16);
    STEP(H, b, c, d, a, w[10], 0xbebfbc70u, 23);
    STEP(H, a, b, c, d, w[13], 0x289b7ec6u, 4);
    STEP(H, d, a, b, c, w[0], 0xeaa127fau, 11);
    STEP(H, c, d, a, b, w[3], 0xd4ef3085u, 16);
    STEP(H, b, c, d, a, w[6], 0x04881d05u, 23);
    STEP(H, a, b, c, d, w[9], 0xd9d4d039u, 4);
    STEP(H, d, a, b, c, w[12], 0xe6db99e5u, 11);
    STEP(H, c, d, a, b, w[15], 0x1fa27cf8u, 16);
    STEP(H, b, c, d, a, w[2], 0xc4ac5665u, 23);
    STEP(I, a, b, c, d, w[0], 0xf4292244u, 6);
    STEP(I, d, a, b, c, w[7], 0x432aff97u, 10);
    STEP(I, c, d, a, b, w[14], 0xab9423a7u, 15);
    STEP(I, b, c, d, a, w[5], 0xfc93a039u, 21);
    STEP(I, a, b, c, d, w[12], 0x655b59c3u, 6);
    STEP(I, d, a, b, c, w[3], 0x8f0ccc92u, 10);
    STEP(I, c, d, a, b, w[10], 0xffeff47du, 15);
    STEP(I, b, c, d, a, w[1], 0x85845dd1u, 21);
    STEP(I, a, b, c, d, w[8], 0x6fa87e4fu, 6);
    STEP(I, d, a, b, c, w[15], 0xfe2ce6e0u, 10);
    STEP(I, c, d, a, b, w[6], 0xa3014314u, 15);
    STEP(I, b, c, d, a, w[13], 0x4e0811a1u, 21);
    STEP(I, a, b, c, d, w[4], 0xf7537e82u, 6);
    STEP(I, d, a, b, c, w[11], 0xbd3af235u, 10);
    STEP(I, c, d, a, b, w[2], 0x2ad7d2bbu, 15);
    STEP(I, b, c, d, a, w[9], 0xeb86d391u, 21);
    st[0] += a;
    st[1] += b;
    st[2] += c;
    st[3] += d;
}

void gw_md5_init(struct gw_md5 *m)
{
    m->state[0] = 0x67452301;
    m->state[1] = 0xefcdab89;
    m->state[2] = 0x98badcfe;
    m->state[3] = 0x10325476;
    m->bytes = 0;
    m->block_len = 0;
}

void gw_md5_update(struct gw_md5 *m, const void *data, size_t len)
{
    const uint8_t *p = data;
    m->bytes += len;
    if (m->block_len > 0) {
        size_t take = 64 - m->block_len < len ? 64 - m->block_len : len;
        memcpy(m->block + m->block_len, p, take);
        m->block_len += take;
        p += take;
        len -= take;
        if (m->block_len < 64) {
            return;
        }
        transform(m->state, m->block);
        m->block_len = 0;
    }
    for (; len >= 64; p += 64, len -= 64) {
        transform(m->state, p);
    }
    memcpy(m->block, p, len);
    m->block_len = len;
}

void gw_md5_final(struct gw_md5 *m, uint8_t out[GW_MD5_SIZE])
{
    uint64_t bits = m->bytes * 8;
    static const uint8_t pad[64] = {0x80};
    size_t padlen = m->block_len < 56 ? 56 - m->block_len : 120 - m->block_len;
    gw_md5_update(m, pad, padlen);
    uint8_t len_le[8];
    for (int i = 0; i < 8; i++) {
        len_le[i] = (uint8_t)(bits >> (8 * i));
    }
    gw_md5_update(m, len_le, 8);
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 4; j++) {
            out[4 * i + j] = (uint8_t)(m->state[i] >> (8 * j));
        }
    }
}

void gw_md5(const void *data, size_t len, uint8_t out[GW_MD5_SIZE])
{
    struct gw_md5 m;
    gw_md5_init(&m);
    gw_md5_update(&m, data, len);
    gw_md5_final(&m, out);
}
