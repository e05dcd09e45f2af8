/*
 * TTL collector of the storage node (reference §9.4): pieces uploaded with a piece_expiration
 * (the object's expiration, in the stored order limit) are deleted once that time plus a grace
 * period has passed, without walking every piece file. At upload commit the piece is appended to
 * an index file per expiration hour, ttl/<hour start unix s>.v1, as 72-byte records
 * (satellite ID, piece ID, expiration BE64). A pass (node_chore, every ttl-interval) takes each
 * hour file whose whole hour plus the grace is over, renames it aside (so appends during the pass
 * start a new file), deletes every piece it names whose stored header really carries an expired
 * piece_expiration, and removes the file. Deleted pieces skip the trash (they are expired).
 * A crash between the append and the rename loses at most an index entry: the piece then stays
 * until GC, as the satellite drops expired objects too. Thread-safe.
 */
#ifndef NODE_TTL_H
#define NODE_TTL_H

#include <stdint.h>

#include "base/base.h"

struct node;
struct node_ttl;

struct node_ttl_stats {
    int64_t files;   /* hour files finished */
    int64_t deleted; /* pieces deleted */
    int64_t bytes;   /* their file bytes */
    int64_t missing; /* already gone (trashed by GC, deleted) */
    int64_t kept;    /* header says not (yet) expired, or unreadable: left alone */
};

/* Opens (creating) storage_dir/ttl/. TS_ERR_IO when it cannot be created. */
TS_WARN_UNUSED ts_err node_ttl_open(const char *storage_dir, struct node_ttl **out);
void node_ttl_free(struct node_ttl *t); /* NULL is a no-op */

/* Records that piece (of sat) expires at expiration_s (> 0). */
TS_WARN_UNUSED ts_err node_ttl_add(struct node_ttl *t, const uint8_t sat_id[32],
                                   const uint8_t piece_id[32], int64_t expiration_s);

/* One pass at now_s: deletes the pieces of every hour file with hour end + grace_s <= now_s
 * (counts added to *out). Stops at the first I/O error on the index (TS_ERR_IO). */
TS_WARN_UNUSED ts_err node_ttl_collect(struct node_ttl *t, struct node *n, int64_t now_s,
                                       int64_t grace_s, struct node_ttl_stats *out);

/* Index files (hours) waiting (tests and /metrics). */
int64_t node_ttl_pending_files(struct node_ttl *t);

#endif
