/*
 * A request arena: every allocation made while building one RPC response (protobuf-c structs,
 * arrays, byte copies) comes from here and is freed at once when the response has been sent, so
 * handlers never walk a message tree to free it. Bounded by max_bytes: past it allocation fails
 * (NULL), and the handler answers TS_ERR_TOO_LARGE / TS_ERR_NOMEM.
 */
#ifndef SAT_ARENA_H
#define SAT_ARENA_H

#include <stddef.h>
#include <stdint.h>

struct sat_arena_block;

struct sat_arena {
    struct sat_arena_block *head;
    size_t used;      /* bytes handed out (plus headers) */
    size_t max_bytes; /* limit on used */
};

/* A response never needs more than a few frames. */
#define SAT_ARENA_MAX_DEFAULT (16u * 1024 * 1024)

void sat_arena_init(struct sat_arena *a, size_t max_bytes);
/* Zeroed memory aligned for any type, or NULL (out of memory or past max_bytes). */
void *sat_arena_alloc(struct sat_arena *a, size_t size);
/* A copy of len bytes (len 0 returns a non-NULL empty allocation). */
void *sat_arena_dup(struct sat_arena *a, const void *data, size_t len);
/* Frees everything; the arena is empty and reusable. Memory is wiped first (keys pass through). */
void sat_arena_release(struct sat_arena *a);

#endif
