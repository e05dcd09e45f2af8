/*
 * Assertions for programmer errors. Always compiled in (release builds too): a broken invariant
 * stops the process with file and line instead of corrupting data. Anything a peer, a disk or a
 * user can cause is an operating error and must return a ts_err instead.
 */
#ifndef TS_BASE_ASSERT_H
#define TS_BASE_ASSERT_H

_Noreturn void ts_assert_fail(const char *expr, const char *file, int line);

#define TS_ASSERT(expr)                                                                            \
    do {                                                                                           \
        if (!(expr)) {                                                                             \
            ts_assert_fail(#expr, __FILE__, __LINE__);                                             \
        }                                                                                          \
    } while (0)

#define TS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
