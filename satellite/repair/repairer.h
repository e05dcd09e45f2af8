/*
 * The repair worker (reference §8.6). For a queued segment it:
 *  1. re-reads the segment and classifies its pieces (checker rules); a lost segment is recorded,
 *     one that no longer needs repair leaves the queue;
 *  2. downloads k whole pieces with GET_REPAIR limits it signs, healthy holders first, a batch in
 *     parallel, and verifies each (our limit signature, the uplink-signed hash, the data hash); a
 *     bad or missing piece is an audit failure for its node and another holder is tried;
 *  3. decodes and re-encodes ONLY the missing piece numbers (ts_ec_rebuild), enough to bring the
 *     segment back to the success threshold o (plus extra_fraction to absorb the long tail);
 *  4. uploads them with PUT_REPAIR limits to new nodes (not holding a piece of this segment, and
 *     with distinct_nets in /24s no healthy piece uses); a piece a node refused or failed to take
 *     goes to another new node (up to SAT_REPAIR_UPLOAD_ROUNDS rounds), because a segment left
 *     between m and o is never queued again;
 *  5. swaps the piece list with compare-and-swap (UPDATE ... WHERE remote_alias_pieces = old), so
 *     a concurrent change (re-upload, another repairer) is never overwritten: on a conflict the
 *     new pieces become garbage for GC and the job is retried later.
 * Bounded: `concurrency` transfers at once per segment, pool I/O timeouts per transfer.
 */
#ifndef SAT_REPAIR_REPAIRER_H
#define SAT_REPAIR_REPAIRER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/base.h"
#include "db/db.h"
#include "identity/identity.h"
#include "rpc/rpc.h"
#include "satellite/config.h"
#include "satellite/durability/settings.h"
#include "satellite/repair/checker.h"
#include "satellite/repair/queue.h"
#include "satellite/reputation/reputation.h"

/* Upload rounds per repair: the first, then retries of the pieces that failed on other nodes.
 * A refusal is common: a node that kept a long-tail upload of a piece number answers EXISTS when
 * that number is repaired onto it (piece IDs derive from the node ID and the number). */
#define SAT_REPAIR_UPLOAD_ROUNDS 3

/* struct sat_repair_config (concurrency, extra_fraction, retry_s, order_expiration_s) lives in
 * durability/settings.h with the other durability settings. */

struct sat_repairer {
    struct ts_db *db;                   /* borrowed */
    const struct ts_identity *identity; /* the satellite's */
    struct ts_rpc_pool *pool;           /* borrowed; its I/O timeout bounds each transfer */
    const struct sat_config *sat;       /* selection settings, online window */
    const struct sat_reputation_config *rep;
    struct sat_repair_config cfg;
};

struct sat_repair_result {
    bool skipped;  /* gone, or no longer needs repair */
    bool lost;     /* fewer than k retrievable pieces */
    bool conflict; /* the piece list changed meanwhile: nothing swapped */
    int healthy_before, healthy_after;
    int pieces_uploaded;
    int64_t bytes_downloaded, bytes_uploaded;
    int64_t piece_size;
};

/* Repairs one segment. TS_ERR_NOT_ENOUGH_SHARES when k good pieces could not be read,
 * TS_ERR_UNAVAILABLE when no new node took a piece, TS_ERR_BUSY on a swap conflict. */
TS_WARN_UNUSED ts_err sat_repair_segment(struct sat_repairer *rp, const uint8_t *stream_id,
                                         int64_t position, struct sat_repair_result *res);

/* Pops the next due job and repairs it; the job leaves the queue when done, skipped or lost, and
 * stays (retried after retry_s) on failure. *did false when the queue had nothing due. */
TS_WARN_UNUSED ts_err sat_repair_next(struct sat_repairer *rp, bool *did,
                                      struct sat_repair_result *res);

/* Compare-and-swap of a segment's encoded piece list: *swapped false when the stored list is not
 * old (or the segment is gone). */
TS_WARN_UNUSED ts_err sat_repair_pieces_swap(struct ts_db *db, const uint8_t *stream_id,
                                             int64_t position, const uint8_t *old_raw,
                                             size_t old_len, const uint8_t *new_raw, size_t new_len,
                                             bool *swapped);

#endif
