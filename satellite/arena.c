#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "satellite/arena.h"

struct sat_arena_block {
    struct sat_arena_block *next;
    size_t size;
    max_align_t data[];
};

void sat_arena_init(struct sat_arena *a, size_t max_bytes)
{
    a->head = NULL;
    a->used = 0;
    a->max_bytes = max_bytes;
}

void *sat_arena_alloc(struct sat_arena *a, size_t size)
{
    size_t total = sizeof(struct sat_arena_block) + size;
    if (size > a->max_bytes || a->used + total > a->max_bytes) {
        return NULL;
    }
    struct sat_arena_block *b = calloc(1, total);
    if (b == NULL) {
        return NULL;
    }
    b->size = size;
    b->next = a->head;
    a->head = b;
    a->used += total;
    return b->data;
}

void *sat_arena_dup(struct sat_arena *a, const void *data, size_t len)
{
    void *p = sat_arena_alloc(a, len);
    if (p != NULL && len > 0) {
        memcpy(p, data, len);
    }
    return p;
}

void sat_arena_release(struct sat_arena *a)
{
    struct sat_arena_block *b = a->head;
    while (b != NULL) {
        struct sat_arena_block *next = b->next;
        ts_wipe(b->data, b->size);
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used = 0;
}
