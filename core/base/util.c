#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"

void ts_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "FATAL assertion failed: %s at %s:%d\n", expr, file, line);
    fflush(stderr);
    abort();
}

void ts_wipe(void *p, size_t len)
{
    if (p != NULL && len > 0) {
        explicit_bzero(p, len);
    }
}

int ts_ct_equal(const void *a, const void *b, size_t len)
{
    const volatile uint8_t *x = a;
    const volatile uint8_t *y = b;
    uint8_t diff = 0;
    for (size_t i = 0; i < len; i++) {
        diff |= (uint8_t)(x[i] ^ y[i]);
    }
    return diff == 0;
}

static int64_t clock_offset_s; /* written once under clock_offset_once */
static pthread_once_t clock_offset_once = PTHREAD_ONCE_INIT;

static void clock_offset_load(void)
{
    const char *s = getenv("TS_TEST_CLOCK_OFFSET_S");
    if (s == NULL) {
        return;
    }
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (end != s && *end == 0) {
        clock_offset_s = v;
    }
}

/* The offset is read from the environment once per process; pthread_once makes the first read
 * safe when several threads ask the time at once. */
static int64_t test_clock_offset_s(void)
{
    pthread_once(&clock_offset_once, clock_offset_load);
    return clock_offset_s;
}

int64_t ts_time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + test_clock_offset_s() * 1000;
}

int64_t ts_time_now_s(void)
{
    return ts_time_now_ms() / 1000;
}

int64_t ts_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t ts_monotonic_ms(void)
{
    return ts_monotonic_ns() / 1000000;
}
