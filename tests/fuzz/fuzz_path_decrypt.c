/*
 * Fuzz target: arbitrary bytes as an encrypted path. The first byte picks the cipher (even:
 * AES-GCM, odd: EncNull) and the key variant; the rest is the encrypted path. Decryption must
 * return an error or a plaintext, never crash, and on error leave the output buffer as it was. When
 * it succeeds, re-encrypting the plaintext must give the input back (paths encrypt
 * deterministically, and every component has exactly one escaped form), except for a lone empty
 * component, which decrypts to "" (see below).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "crypto/path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    enum ts_path_cipher cipher = (data[0] & 1) ? TS_PATH_CIPHER_NULL : TS_PATH_CIPHER_AESGCM;
    uint8_t key[32];
    memset(key, data[0] >> 1, sizeof(key));
    struct ts_buf plain;
    struct ts_buf again;
    ts_buf_init(&plain, TS_ENCRYPTED_KEY_MAX);
    ts_buf_init(&again, TS_ENCRYPTED_KEY_MAX);
    uint8_t last[32];
    ts_err err = ts_path_decrypt(cipher, key, data + 1, size - 1, &plain, last);
    if (err != TS_OK) {
        TS_ASSERT(plain.len == 0);
    } else if (plain.len == 0) {
        /* A lone empty component: whole paths never encrypt to it ("" encrypts to nothing), but
         * it is the valid encryption of the part after a shared prefix ("a/b/" under "a/b"). */
        TS_ASSERT(size == 1 || memchr(data + 1, '/', size - 1) == NULL);
    } else if (plain.len <= TS_OBJECT_KEY_MAX) {
        uint8_t last2[32];
        TS_ASSERT(ts_path_encrypt(cipher, key, (const char *)plain.data, plain.len, &again,
                                  last2) == TS_OK);
        TS_ASSERT(again.len == size - 1);
        TS_ASSERT(size == 1 || memcmp(again.data, data + 1, size - 1) == 0);
        TS_ASSERT(memcmp(last, last2, sizeof(last)) == 0);
    }
    ts_buf_release(&plain);
    ts_buf_release(&again);
    return 0;
}
