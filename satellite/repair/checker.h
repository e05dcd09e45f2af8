/*
 * The repair checker (reference §8.5): a segment-loop observer that classifies every piece of
 * every segment and queues the segments that need repair.
 *
 * A piece is healthy unless its node is: missing (unknown alias, offline: no successful contact
 * within online_window_s or a failure since), disqualified (its pieces are lost for good),
 * exiting (graceful exit started), or clumped (a second piece in a /24 that already holds one;
 * only when distinct_nets is on). Suspended nodes keep healthy pieces (they still serve them).
 * Retrievable = not missing and not disqualified (clumped and exiting pieces can still be read).
 *
 * A segment is queued when healthy <= m and healthy < o, with priority "fewest healthy first";
 * it is lost when retrievable < k: recorded in lost_segments and counted, never dropped silently.
 * At the end of a complete pass the health histogram (segments per healthy count) is stored and
 * queue entries the pass did not refresh (now healthy, or deleted) are removed.
 */
#ifndef SAT_REPAIR_CHECKER_H
#define SAT_REPAIR_CHECKER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/base.h"
#include "db/db.h"
#include "satellite/segmentloop/segmentloop.h"

enum sat_piece_health {
    SAT_PIECE_HEALTHY,
    SAT_PIECE_MISSING,      /* offline or unknown node */
    SAT_PIECE_DISQUALIFIED, /* node disqualified: lost */
    SAT_PIECE_EXITING,      /* node in graceful exit */
    SAT_PIECE_CLUMPED,      /* another piece of this segment sits in the same /24 */
};

struct sat_piece_class {
    enum sat_piece_health health[TS_EC_SHARES_MAX]; /* by index into the segment's pieces */
    int healthy, retrievable, missing, disqualified, exiting, clumped;
};

struct sat_checker_config {
    int64_t online_window_s;
    bool distinct_nets;
};

/* Classifies s's pieces at now_s; holders[i] is the node of s->pieces[i] (NULL: no such node).
 * Pure. */
void sat_checker_classify(const struct sat_checker_config *cfg, const struct sat_loop_segment *s,
                          const struct sat_loop_node *const *holders, int64_t now_s,
                          struct sat_piece_class *out);
/* true when the segment must be queued: healthy <= m and healthy < o (and not lost). */
bool sat_checker_needs_repair(const struct sat_redundancy *r, const struct sat_piece_class *c);
/* true when the segment has pieces on gracefully exiting nodes (and is not lost): those pieces
 * are moved to other nodes while their holders still serve them (reference §8.7), whatever the
 * healthy count. Such segments queue behind unhealthier ones (the queue orders by healthy). */
bool sat_checker_needs_exit_repair(const struct sat_redundancy *r, const struct sat_piece_class *c);
/* true when fewer than k pieces can be retrieved. */
bool sat_checker_is_lost(const struct sat_redundancy *r, const struct sat_piece_class *c);

/* The observer. Holds a histogram and counters for one pass; thread-confined to the loop. */
struct sat_checker {
    struct ts_db *db; /* borrowed */
    struct sat_checker_config cfg;
    const struct sat_loop_nodes *nodes; /* during a pass */
    int64_t now_s, pass_started_s;
    int64_t histogram[TS_EC_SHARES_MAX + 1]; /* segments by healthy count this pass */
    int64_t queued, lost, segments;
};

void sat_checker_init(struct sat_checker *ch, struct ts_db *db,
                      const struct sat_checker_config *cfg);
/* Fills obs with the checker's callbacks (ctx = ch). */
void sat_checker_observer(struct sat_checker *ch, struct sat_loop_observer *obs);

#endif
