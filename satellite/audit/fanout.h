/*
 * Bounded fan-out: runs fn(ctx, i) for i in [0, count) on at most `threads` threads (small
 * stacks) and returns when all are done. Audits ask every piece holder at once this way and
 * repair downloads and uploads pieces in parallel. If a thread cannot be created the remaining
 * work runs on the threads that exist (at worst on the caller's).
 */
#ifndef SAT_AUDIT_FANOUT_H
#define SAT_AUDIT_FANOUT_H

#include <stddef.h>

/* Stack of one fan-out thread: transfers keep their buffers on the heap. */
#define SAT_FANOUT_STACK_SIZE (256u * 1024)

void sat_fanout_run(size_t count, int threads, void (*fn)(void *ctx, size_t i), void *ctx);

#endif
