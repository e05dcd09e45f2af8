/* Helpers of the end-to-end tests (see e2e.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "e2e.h"

#define CHUNK (1024u * 1024)

struct planet e2e_planet;

void e2e_fail(const char *file, int line, const char *what, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "FAIL %s:%d: %s: ", file, line, what);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    fflush(stderr);
    planet_fail(&e2e_planet);
    (void)planet_stop(&e2e_planet);
    exit(1);
}

bool e2e_sanitized(void)
{
    const char *s = getenv("TS_SANITIZED");
    return s != NULL && s[0] != 0 && strcmp(s, "0") != 0;
}

static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

void e2e_fill(uint8_t *buf, size_t len, uint64_t seed, uint64_t offset)
{
    size_t i = 0;
    while (i < len) {
        uint64_t pos = offset + i;
        uint64_t word = mix(seed * 0x100000001B3ull ^ (pos / 8));
        unsigned shift = (unsigned)(pos % 8);
        for (; shift < 8 && i < len; shift++, i++) {
            buf[i] = (uint8_t)(word >> (8 * shift));
        }
    }
}

ul_err e2e_put(struct ul_project *pr, const char *bucket, const char *key, uint64_t size,
               uint64_t seed, e2e_progress_fn progress, void *ctx)
{
    struct ul_upload *up = NULL;
    ul_err err = ul_upload_begin(pr, bucket, key, NULL, &up);
    if (err != UL_OK) {
        return err;
    }
    uint8_t *buf = malloc(CHUNK);
    if (buf == NULL) {
        ul_upload_abort(up);
        return UL_ERR_NOMEM;
    }
    uint64_t done = 0;
    while (err == UL_OK && done < size) {
        size_t n = size - done < CHUNK ? (size_t)(size - done) : CHUNK;
        e2e_fill(buf, n, seed, done);
        err = ul_upload_write(up, buf, n);
        done += n;
        if (err == UL_OK && progress != NULL) {
            progress(done, ctx);
        }
    }
    free(buf);
    if (err != UL_OK) {
        ul_upload_abort(up);
        return err;
    }
    return ul_upload_commit(up, NULL);
}

ul_err e2e_get_verify(struct ul_project *pr, const char *bucket, const char *key, uint64_t offset,
                      int64_t length, uint64_t seed, uint64_t *got, bool *equal)
{
    struct ul_download_options o = {.offset = offset, .length = length};
    struct ul_download *dl = NULL;
    *got = 0;
    *equal = false;
    ul_err err = ul_download_open(pr, bucket, key, &o, &dl);
    if (err != UL_OK) {
        return err;
    }
    uint8_t *buf = malloc(CHUNK), *want = malloc(CHUNK);
    bool same = buf != NULL && want != NULL;
    err = same ? UL_OK : UL_ERR_NOMEM;
    while (err == UL_OK) {
        size_t n = 0;
        err = ul_download_read(dl, buf, CHUNK, &n);
        if (err != UL_OK || n == 0) {
            break;
        }
        e2e_fill(want, n, seed, offset + *got);
        if (memcmp(buf, want, n) != 0) {
            same = false;
        }
        *got += n;
    }
    free(buf);
    free(want);
    ul_download_close(dl);
    *equal = same;
    return err;
}

struct ul_project *e2e_open(const char *grant)
{
    struct ul_access *access = NULL;
    struct ul_project *pr = NULL;
    CHECK_OK(ul_access_parse(grant, &access));
    CHECK_OK(ul_project_open(access, NULL, &pr));
    ul_access_free(access);
    return pr;
}

int64_t e2e_now_s(void)
{
    return (int64_t)time(NULL);
}

void e2e_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}
