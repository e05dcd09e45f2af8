/*
 * Audits (reference §8.4). The segment loop feeds a collector that keeps, per node, a weighted
 * reservoir (A-Res: each segment gets key u^(1/w), w = its encrypted size, and the `slots`
 * largest keys stay), so big segments are audited more often and every node gets audits in
 * proportion to what it holds. At the end of a pass the picked segments (deduplicated) form the
 * audit queue (in memory, bounded).
 *
 * A stripe audit of a segment picks a random stripe and asks EVERY piece holder (not
 * disqualified, not contained) for that stripe's share with a GET_AUDIT limit (share_size bytes
 * at stripe * share_size), in parallel, then runs Berlekamp-Welch (ts_ec_correct) over the shares
 * that arrived: nodes whose share had to be corrected failed. Outcomes: correct share = success;
 * wrong share or piece not found = failure; cannot dial = offline; dialed but timed out =
 * contained (a whole-piece reverification is queued; the node gets no new pieces until it is
 * resolved); anything else = unknown. If the segment changed while being audited, nothing is
 * recorded. Reverification downloads the whole piece (GET_AUDIT) and checks the original limit's
 * signature (ours), the uplink-signed hash and the data; after reverify_max timeouts it counts
 * as a failure.
 */
#ifndef SAT_AUDIT_AUDIT_H
#define SAT_AUDIT_AUDIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "db/db.h"
#include "identity/identity.h"
#include "rpc/rpc.h"
#include "satellite/overlay/select.h"
#include "satellite/reputation/reputation.h"
#include "satellite/segmentloop/segmentloop.h"

#define SAT_RESERVOIR_SLOTS_MAX 8
/* Segments the audit queue holds; a pass that picks more keeps the first ones. */
#define SAT_AUDIT_QUEUE_MAX 100000

struct sat_audit_pick {
    uint8_t stream_id[SAT_ID_SIZE];
    int64_t position;
};

/* ---- Weighted reservoir (pure) ---- */
struct sat_reservoir {
    int slots; /* 1..SAT_RESERVOIR_SLOTS_MAX */
    int count;
    double keys[SAT_RESERVOIR_SLOTS_MAX]; /* log(u) / w: larger is better */
    struct sat_audit_pick picks[SAT_RESERVOIR_SLOTS_MAX];
};
void sat_reservoir_init(struct sat_reservoir *r, int slots);
/* Offers a segment of weight (> 0; its size) to the reservoir. */
void sat_reservoir_offer(struct sat_reservoir *r, struct sat_rng *rng, double weight,
                         const struct sat_audit_pick *pick);

/* ---- The audit queue (thread-safe) ---- */
struct sat_audit_queue {
    pthread_mutex_t mu;
    struct sat_audit_pick *picks; /* owned */
    size_t count, next;
};
void sat_audit_queue_init(struct sat_audit_queue *q);
void sat_audit_queue_release(struct sat_audit_queue *q);
/* Replaces the queue's contents with picks (takes ownership of the malloc'd array). */
void sat_audit_queue_replace(struct sat_audit_queue *q, struct sat_audit_pick *picks, size_t count);
/* Takes the next pick; false when empty. */
bool sat_audit_queue_pop(struct sat_audit_queue *q, struct sat_audit_pick *out);
size_t sat_audit_queue_length(struct sat_audit_queue *q);

/* ---- The collector (segment-loop observer) ---- */
struct sat_audit_collector {
    int slots;
    struct sat_reservoir *by_alias; /* grown as aliases appear */
    size_t alias_cap;
    struct sat_rng rng;
    struct sat_audit_queue *queue; /* borrowed: receives the picks at the end of a pass */
};
TS_WARN_UNUSED ts_err sat_audit_collector_init(struct sat_audit_collector *c, int slots,
                                               struct sat_audit_queue *queue);
void sat_audit_collector_release(struct sat_audit_collector *c);
void sat_audit_collector_observer(struct sat_audit_collector *c, struct sat_loop_observer *obs);

/* ---- The auditor ---- */
struct sat_audit_config {
    int timeout_ms;           /* per share or piece transfer (the pool's I/O timeout) */
    int concurrency;          /* piece holders asked at once, 1..TS_EC_SHARES_MAX */
    int reverify_max;         /* timeouts before a contained piece counts as a failure (3) */
    int64_t reverify_retry_s; /* wait between reverification attempts */
    int64_t order_expiration_s;
};

struct sat_auditor {
    struct ts_db *db;                   /* borrowed */
    const struct ts_identity *identity; /* the satellite's (signs limits, verifies proofs) */
    struct ts_rpc_pool *pool;           /* borrowed; I/O timeout = cfg.timeout_ms */
    const struct sat_reputation_config *rep;
    struct sat_audit_config cfg;
};

/* What one stripe audit found, per piece holder asked. */
struct sat_audit_report {
    bool skipped; /* segment gone or changed during the audit: nothing recorded */
    size_t count;
    uint8_t node_ids[TS_EC_SHARES_MAX][TS_NODE_ID_SIZE];
    uint32_t piece_nums[TS_EC_SHARES_MAX];
    enum sat_audit_outcome outcomes[TS_EC_SHARES_MAX];
    int64_t stripe;
    int64_t bytes; /* share bytes downloaded */
};

/* Audits one segment and records the outcomes (reputation, counters, containment). report may
 * be NULL. */
TS_WARN_UNUSED ts_err sat_audit_segment(struct sat_auditor *a, const struct sat_audit_pick *pick,
                                        struct sat_audit_report *report);

/* Runs one pending reverification if one is due; *did says whether one ran, *outcome (may be
 * NULL) what it concluded (SAT_AUDIT_CONTAINED while it stays pending). */
TS_WARN_UNUSED ts_err sat_reverify_next(struct sat_auditor *a, bool *did,
                                        enum sat_audit_outcome *outcome);
/* Pending reverifications. */
TS_WARN_UNUSED ts_err sat_reverify_pending(struct ts_db *db, int64_t *count);

#endif
