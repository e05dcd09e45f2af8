#include <pthread.h>
#include <string.h>

#include "base/base.h"
#include "node_space.h"

void node_space_init(struct node_space *sp, int64_t allocated_bytes)
{
    memset(sp, 0, sizeof *sp);
    pthread_mutex_init(&sp->mu, NULL);
    sp->allocated_bytes = allocated_bytes;
}

void node_space_release(struct node_space *sp)
{
    pthread_mutex_destroy(&sp->mu);
}

void node_space_set(struct node_space *sp, int64_t pieces_bytes, int64_t pieces_count,
                    int64_t trash_bytes)
{
    pthread_mutex_lock(&sp->mu);
    sp->pieces_bytes = pieces_bytes;
    sp->pieces_count = pieces_count;
    sp->trash_bytes = trash_bytes;
    pthread_mutex_unlock(&sp->mu);
}

ts_err node_space_reserve(struct node_space *sp, int64_t bytes)
{
    TS_ASSERT(bytes >= 0);
    ts_err err = TS_OK;
    pthread_mutex_lock(&sp->mu);
    int64_t used = sp->pieces_bytes + sp->trash_bytes + sp->reserved_bytes;
    if (used > sp->allocated_bytes || bytes > sp->allocated_bytes - used) {
        err = TS_ERR_NO_SPACE;
    } else {
        sp->reserved_bytes += bytes;
    }
    pthread_mutex_unlock(&sp->mu);
    return err;
}

void node_space_unreserve(struct node_space *sp, int64_t bytes)
{
    pthread_mutex_lock(&sp->mu);
    sp->reserved_bytes -= bytes;
    TS_ASSERT(sp->reserved_bytes >= 0);
    pthread_mutex_unlock(&sp->mu);
}

void node_space_commit(struct node_space *sp, int64_t reserved_bytes, int64_t file_bytes)
{
    pthread_mutex_lock(&sp->mu);
    sp->reserved_bytes -= reserved_bytes;
    TS_ASSERT(sp->reserved_bytes >= 0);
    sp->pieces_bytes += file_bytes;
    sp->pieces_count += 1;
    pthread_mutex_unlock(&sp->mu);
}

void node_space_trash(struct node_space *sp, int64_t file_bytes)
{
    pthread_mutex_lock(&sp->mu);
    sp->pieces_bytes -= file_bytes;
    sp->pieces_count -= 1;
    sp->trash_bytes += file_bytes;
    pthread_mutex_unlock(&sp->mu);
}

void node_space_delete(struct node_space *sp, int64_t file_bytes)
{
    pthread_mutex_lock(&sp->mu);
    sp->pieces_bytes -= file_bytes;
    sp->pieces_count -= 1;
    pthread_mutex_unlock(&sp->mu);
}

void node_space_stats(struct node_space *sp, struct node_space_stats *out)
{
    pthread_mutex_lock(&sp->mu);
    out->allocated_bytes = sp->allocated_bytes;
    out->pieces_bytes = sp->pieces_bytes;
    out->pieces_count = sp->pieces_count;
    out->trash_bytes = sp->trash_bytes;
    out->reserved_bytes = sp->reserved_bytes;
    pthread_mutex_unlock(&sp->mu);
    int64_t free_bytes =
        out->allocated_bytes - out->pieces_bytes - out->trash_bytes - out->reserved_bytes;
    out->free_bytes = free_bytes > 0 ? free_bytes : 0;
}
