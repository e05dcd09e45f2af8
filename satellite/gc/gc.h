/*
 * Garbage collection, satellite side (reference §8.8, docs/gc.md). A segment-loop observer (the
 * builder) derives, for every remote segment, the piece ID each holder should keep
 * (ts_piece_id_derive of the root piece ID, node ID and piece number) and collects them per node;
 * after a complete pass it builds one bloom filter per node (core/bloom, FPR target 0.1, sized
 * for the node's piece count, capped at filter_size_max) and the sender pushes each with
 * /tessera.retain.Retain/Retain, carrying the pass's start time as the filter's creation time.
 * Nodes then trash older pieces that are not in their filter.
 *
 * Safety: a filter must contain every piece its node should keep. So filters are only built from
 * a pass the builder saw from its very first segment (a pass resumed from a persisted cursor after
 * a restart is discarded, and the next, fresh pass is used), a pass that stopped early builds
 * nothing, and a pass holding more than pieces_max piece IDs is abandoned (logged). Pieces
 * uploaded or repaired during the pass are newer than the creation time and nodes never trash
 * those (plus their 72 h skew margin). Nodes that are disqualified or offline get no filter; an
 * online node holding nothing of this satellite gets an empty one (its pieces are all garbage).
 *
 * sat_gc is the service: its own segment loop (cursor "gc") and thread, a pass every interval_s.
 */
#ifndef SAT_GC_GC_H
#define SAT_GC_GC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "bloom/bloom.h"
#include "db/db.h"
#include "satellite/segmentloop/segmentloop.h"

#define SAT_GC_RETAIN_METHOD "/tessera.retain.Retain/Retain"
#define SAT_GC_RESTORE_TRASH_METHOD "/tessera.retain.Retain/RestoreTrash"

struct ts_rpc_pool;

/* Settings: satellite config keys "gc.<field>" (satellite/config.c, docs/gc.md). */
struct sat_gc_config {
    bool enabled;            /* gc.enabled (1) */
    int64_t interval_s;      /* between passes: gc.interval_s (24 h) */
    double fpr;              /* bloom filter false-positive target: gc.fpr (0.1) */
    size_t filter_size_max;  /* table bytes: gc.filter_size_max (2 MiB, at most 3 MiB) */
    int64_t pieces_max;      /* piece IDs one pass may hold: gc.pieces_max (8 M) */
    size_t page_size;        /* segment loop page: gc.page_size (1000) */
    int64_t online_window_s; /* a node is online if contacted within this (copied from the
                              * satellite's online_window_s at start; not a key of its own) */
};

/* Production defaults. */
void sat_gc_config_defaults(struct sat_gc_config *c);

/* ---- Builder (the observer) ---- */

/* One node's filter, ready to send. */
struct sat_gc_filter {
    uint8_t node_id[TS_NODE_ID_SIZE];
    char address[SAT_ADDRESS_MAX];
    int64_t pieces;
    struct ts_bloom *filter; /* owned */
};

struct sat_gc_builder;

TS_WARN_UNUSED ts_err sat_gc_builder_new(const struct sat_gc_config *cfg,
                                         struct sat_gc_builder **out);
void sat_gc_builder_free(struct sat_gc_builder *b);
/* Fills obs with the builder's callbacks (ctx = b). */
void sat_gc_builder_observer(struct sat_gc_builder *b, struct sat_loop_observer *obs);
/* After a usable pass: moves the filters out (caller frees with sat_gc_filters_free) with the
 * pass's creation time; TS_ERR_NOT_FOUND when the last pass cannot be used (partial, resumed,
 * over pieces_max) or its filters were already taken. */
TS_WARN_UNUSED ts_err sat_gc_builder_take(struct sat_gc_builder *b, struct sat_gc_filter **out,
                                          size_t *count, int64_t *created_s);
void sat_gc_filters_free(struct sat_gc_filter *filters, size_t count);

/* ---- Sender ---- */

/* Sends each filter with Retain; *sent and *failed count nodes (a failure is logged and retried
 * with the next pass's filter). */
void sat_gc_send(struct ts_rpc_pool *pool, const struct sat_gc_filter *filters, size_t count,
                 int64_t created_s, int64_t *sent, int64_t *failed);

/* Asks node to move every trashed piece of this satellite back (RestoreTrash; used after the
 * satellite's database was restored from a backup). *restored gets the node's count; msg
 * (msg_size bytes) the node's refusal text. */
struct ts_node_url;
TS_WARN_UNUSED ts_err sat_gc_restore_trash(struct ts_rpc_pool *pool, const struct ts_node_url *node,
                                           int64_t *restored, char *msg, size_t msg_size);

/* ---- Service ---- */
struct sat_gc;

/* Starts the GC thread (nothing when !cfg->enabled: *out is NULL). db, pool, cfg borrowed. */
TS_WARN_UNUSED ts_err sat_gc_start(struct ts_db *db, struct ts_rpc_pool *pool,
                                   const struct sat_gc_config *cfg, struct sat_gc **out);
void sat_gc_stop(struct sat_gc *g); /* NULL is a no-op */
void sat_gc_trigger(struct sat_gc *g);
/* Filters sent so far and passes completed (tests poll these). */
void sat_gc_counters(struct sat_gc *g, int64_t *passes, int64_t *filters_sent);

#endif
