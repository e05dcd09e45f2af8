/*
 * Used-space accounting of the storage node. Counts bytes on disk (whole piece files, headers
 * included) of committed pieces and of trash, plus bytes reserved by uploads in progress (each
 * reserves its order limit). A reservation that would take the total past the allocation fails
 * with TS_ERR_NO_SPACE, so concurrent uploads can never overfill it. Seeded at start by a walk of
 * the blobstore, then updated incrementally. Thread-safe (one mutex, never held across I/O).
 */
#ifndef NODE_SPACE_H
#define NODE_SPACE_H

#include <pthread.h>
#include <stdint.h>

#include "base/error.h"

struct node_space {
    pthread_mutex_t mu;
    int64_t allocated_bytes;
    int64_t pieces_bytes; /* committed piece files */
    int64_t pieces_count;
    int64_t trash_bytes;
    int64_t reserved_bytes; /* uploads in progress */
};

struct node_space_stats {
    int64_t allocated_bytes, pieces_bytes, pieces_count, trash_bytes, reserved_bytes;
    int64_t free_bytes; /* allocated - pieces - trash - reserved, >= 0 */
};

void node_space_init(struct node_space *sp, int64_t allocated_bytes);
void node_space_release(struct node_space *sp);

/* Sets the totals found by a blobstore walk. */
void node_space_set(struct node_space *sp, int64_t pieces_bytes, int64_t pieces_count,
                    int64_t trash_bytes);

/* Reserves bytes for an upload; TS_ERR_NO_SPACE when they do not fit. */
TS_WARN_UNUSED ts_err node_space_reserve(struct node_space *sp, int64_t bytes);
/* Returns a reservation (upload failed). */
void node_space_unreserve(struct node_space *sp, int64_t bytes);
/* Returns a reservation and counts a committed piece file of file_bytes. */
void node_space_commit(struct node_space *sp, int64_t reserved_bytes, int64_t file_bytes);
/* A piece file of file_bytes moved to trash. */
void node_space_trash(struct node_space *sp, int64_t file_bytes);

/* A committed piece was deleted (not trashed): its file bytes leave the pieces total. */
void node_space_delete(struct node_space *sp, int64_t file_bytes);
void node_space_stats(struct node_space *sp, struct node_space_stats *out);

#endif
