/* Internals shared by the files of core/access (not part of the API). */
#ifndef TS_ACCESS_INTERNAL_H
#define TS_ACCESS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access/access.h"

struct access_entry {
    char bucket[TS_BUCKET_NAME_MAX + 1];
    char *plain; /* unencrypted prefix, NUL-terminated copy of plain_len bytes */
    size_t plain_len;
    uint8_t *enc; /* encrypted prefix; NULL when enc_len is 0 */
    size_t enc_len;
    uint8_t key[32];
    enum ts_path_cipher cipher;
};

struct ts_access {
    char *satellite_url;
    struct ts_macaroon *api_key;
    struct access_entry *entries; /* count entries, <= TS_ACCESS_STORE_ENTRIES_MAX */
    size_t count;
    bool has_default_key;
    uint8_t default_key[32];
    enum ts_path_cipher default_cipher;
};

/* Whether name is a usable bucket name for the store: 1..TS_BUCKET_NAME_MAX bytes (len given). */
bool ts_access_bucket_valid(const char *name, size_t len);
bool ts_access_cipher_valid(enum ts_path_cipher cipher);

/* Whether prefix covers path on whole '/'-separated components ("" covers everything). */
bool ts_access_prefix_covers(const uint8_t *prefix, size_t prefix_len, const uint8_t *path,
                             size_t path_len);

#endif
