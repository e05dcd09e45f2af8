/*
 * The segment loop (reference §8.1): one ranged pass over every remote segment, in (stream_id,
 * position) order, read in pages of page_size rows (never one huge query), feeding each segment
 * to the registered observers (audit sampling, repair checker, and any other: GC bloom filters,
 * storage tallies). The cursor is persisted after every page (table loop_cursors), so a pass
 * interrupted by a stop or a crash resumes where it was; a pass that reaches the end resets it.
 *
 * Observers also get a snapshot of the node table taken at the start of the pass (sat_loop_nodes),
 * indexed by node alias, so classifying pieces costs no query per segment.
 * Threads: run_pass runs on the caller's thread and calls observers there; register observers
 * before the first pass.
 */
#ifndef SAT_SEGMENTLOOP_SEGMENTLOOP_H
#define SAT_SEGMENTLOOP_SEGMENTLOOP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "db/db.h"
#include "satellite/db/satdb.h"
#include "satellite/metainfo/pieces.h"
#include "satellite/metainfo/redundancy.h"

/* Observers one loop feeds. */
#define SAT_LOOP_OBSERVERS_MAX 8
/* Segments per page (a bound on one query's result). */
#define SAT_LOOP_PAGE_MAX 10000
/* Nodes a snapshot holds (bounds its memory: ~200 bytes each). */
#define SAT_LOOP_NODES_MAX 1000000

/* One remote segment as observers see it. */
struct sat_loop_segment {
    uint8_t stream_id[SAT_ID_SIZE];
    int64_t position;
    uint8_t root_piece_id[32];
    int64_t encrypted_size;
    struct sat_redundancy redundancy;
    struct sat_alias_piece pieces[TS_EC_SHARES_MAX];
    size_t piece_count;
    uint8_t pieces_raw[SAT_PIECES_ENCODED_MAX]; /* the stored encoding (for compare-and-swap) */
    size_t pieces_raw_len;
    int64_t created_at;
    int64_t expires_at; /* 0 = never */
};

/* What the loop knows of a node at the start of a pass. */
struct sat_loop_node {
    uint32_t alias; /* 0 = no node has this alias */
    uint8_t id[TS_NODE_ID_SIZE];
    char address[SAT_ADDRESS_MAX];
    char last_net[SAT_LAST_NET_MAX];
    int64_t last_contact_success, last_contact_failure;
    int64_t disqualified_at, exit_initiated_at, suspended_at;
    bool contained; /* has pending reverifications */
};

/* Nodes by alias: nodes[alias] for alias < count. */
struct sat_loop_nodes {
    struct sat_loop_node *nodes;
    size_t count;
};

/* Loads every node (with its reputation's suspension and containment) into a fresh snapshot;
 * release with sat_loop_nodes_release. TS_ERR_TOO_LARGE past SAT_LOOP_NODES_MAX aliases. */
TS_WARN_UNUSED ts_err sat_loop_nodes_load(struct ts_db *db, struct sat_loop_nodes *out);
void sat_loop_nodes_release(struct sat_loop_nodes *n);
/* The node with that alias, or NULL. */
const struct sat_loop_node *sat_loop_nodes_get(const struct sat_loop_nodes *n, uint32_t alias);
/* Online: a contact success within online_window_s of now and none failed since. */
bool sat_loop_node_online(const struct sat_loop_node *n, int64_t now_s, int64_t online_window_s);

/* An observer. Every callback may be NULL. begin is called at the start of a pass (or resumed
 * pass); segment for each segment; end once the pass is over: complete is false when it stopped
 * early (stop requested or an error). An error from begin/segment stops the pass. */
struct sat_loop_observer {
    const char *name;
    ts_err (*begin)(void *ctx, const struct sat_loop_nodes *nodes, int64_t now_s);
    ts_err (*segment)(void *ctx, const struct sat_loop_segment *s);
    void (*end)(void *ctx, bool complete, int64_t pass);
    void *ctx;
};

struct sat_segment_loop;

/* name keys the persisted cursor (several loops may share a DB: "main", or one per range). db is
 * borrowed. page_size 1..SAT_LOOP_PAGE_MAX (TS_ERR_INVALID_ARGUMENT otherwise). */
TS_WARN_UNUSED ts_err sat_segment_loop_new(struct ts_db *db, const char *name, size_t page_size,
                                           struct sat_segment_loop **out);
void sat_segment_loop_free(struct sat_segment_loop *loop);
/* Adds an observer (copied). TS_ERR_TOO_LARGE past SAT_LOOP_OBSERVERS_MAX. */
TS_WARN_UNUSED ts_err sat_segment_loop_register(struct sat_segment_loop *loop,
                                                const struct sat_loop_observer *obs);

/* Runs one pass from the persisted cursor to the end, checking *stop between segments
 * (stop may be NULL). On a stop the cursor stays where it was and TS_ERR_CANCELED is returned.
 * *segments (may be NULL) counts the segments fed in this call. */
TS_WARN_UNUSED ts_err sat_segment_loop_run_pass(struct sat_segment_loop *loop,
                                                const atomic_bool *stop, int64_t *segments);
/* Passes completed so far (persisted). */
TS_WARN_UNUSED ts_err sat_segment_loop_passes(struct sat_segment_loop *loop, int64_t *passes);

/* ---- Segment rows used by audit and repair ---- */
/* Reads one remote segment into out. TS_ERR_NOT_FOUND when gone (deleted or now inline). */
TS_WARN_UNUSED ts_err sat_loop_segment_get(struct ts_db *db, const uint8_t stream_id[SAT_ID_SIZE],
                                           int64_t position, struct sat_loop_segment *out);

#endif
