/*
 * Unit test of the gateway's side worker (gateway/gw_side.h): a large body's MD5 hashed on the
 * side thread, chunk by chunk, while the caller reads the same bytes, equals the one-shot MD5.
 * It lives beside the gateway's integration test because tests/unit belongs to other owners.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "gw_md5.h"
#include "gw_side.h"

static void md5_job(void *arg, const uint8_t *data, size_t len)
{
    gw_md5_update(arg, data, len);
}

/* Chunks hashed on the side thread, while this thread reads the same bytes, give the one-shot
 * digest; the buffer is rewritten between jobs, so a job still running after wait would be seen. */
static void test_side_md5(void **state)
{
    enum { CHUNK = 64 * 1024, CHUNKS = 40 };
    uint8_t *all = malloc((size_t)CHUNK * CHUNKS);
    uint8_t *chunk = malloc(CHUNK);
    assert_non_null(all);
    assert_non_null(chunk);
    for (size_t i = 0; i < (size_t)CHUNK * CHUNKS; i++) {
        all[i] = (uint8_t)(i * 2654435761u >> 13);
    }
    struct gw_side *side = NULL;
    assert_int_equal(gw_side_new(&side), TS_OK);
    struct gw_md5 m;
    gw_md5_init(&m);
    uint64_t sum = 0;
    for (int c = 0; c < CHUNKS; c++) {
        memcpy(chunk, all + (size_t)c * CHUNK, CHUNK);
        gw_side_post(side, md5_job, &m, chunk, CHUNK);
        for (size_t i = 0; i < CHUNK; i++) {
            sum += chunk[i]; /* the caller's own read of the shared bytes */
        }
        gw_side_wait(side);
        memset(chunk, 0xa5, CHUNK);
    }
    gw_side_wait(side); /* nothing posted: returns at once */
    gw_side_free(side);
    gw_side_free(NULL);
    uint8_t want[16], got[16];
    gw_md5_final(&m, got);
    gw_md5(all, (size_t)CHUNK * CHUNKS, want);
    assert_memory_equal(got, want, 16);
    assert_true(sum > 0);
    free(chunk);
    free(all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_side_md5),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
