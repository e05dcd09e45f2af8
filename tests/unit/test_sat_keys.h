/* Macaroon helpers for the satellite tests (see test_sat_keys.c). */
#ifndef TEST_SAT_KEYS_H
#define TEST_SAT_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct test_restriction {
    bool disallow_reads, disallow_writes, disallow_lists, disallow_deletes;
    const char *bucket; /* allowed path: bucket (NULL = no path restriction) */
    const char *prefix; /* and encrypted prefix (may be NULL) */
    int64_t not_after_s;
    int64_t max_object_ttl_s;
};

/* API key text -> raw macaroon bytes (malloc'd). 0 on success. */
int test_key_raw(const char *text, uint8_t **raw, size_t *len);
/* raw + one caveat -> new raw bytes (malloc'd). 0 on success. */
int test_key_restrict(const uint8_t *raw, size_t len, const struct test_restriction *r,
                      uint8_t **out, size_t *out_len);

#endif
