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

struct sat_gc_config {
    bool enabled;            /* TESSERA_SAT_GC_ENABLED (1) */
    int64_t interval_s;      /* between passes: TESSERA_SAT_GC_INTERVAL_S (24 h) */
    double fpr;              /* TESSERA_SAT_GC_FPR (0.1) */
    size_t filter_size_max;  /* table bytes: TESSERA_SAT_GC_FILTER_SIZE_MAX (2 MiB) */
    int64_t pieces_max;      /* piece IDs one pass may hold: TESSERA_SAT_GC_PIECES_MAX (8 M) */
    size_t page_size;        /* segment loop page: TESSERA_SAT_GC_PAGE_SIZE (1000) */
    int64_t online_window_s; /* a node is online if contacted within this (from sat_config) */
};

/* Defaults, then the environment variables named above (until the satellite config file grows
 * these keys). TS_ERR_CONFIG (logged) for a bad value. */
TS_WARN_UNUSED ts_err sat_gc_config_load(struct sat_gc_config *c, int64_t online_window_s);

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
