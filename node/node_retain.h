/*
 * Garbage collection on the storage node (reference §8.8, docs/gc.md). A trusted satellite sends
 * Retain{creation_time, bloom filter of the piece IDs this node should hold}; the node stores the
 * filter durably (storage_dir/retain/<sat b32>.filter), answers, and a background thread then
 * walks blobs/<sat>/ moving to trash every piece created before creation_time - skew margin
 * (72 h by default) that the filter does not contain. The walk records the last finished
 * two-character prefix directory (<sat b32>.progress), so a restart resumes where it stopped; the
 * filter file is removed when the walk completes. A newer filter replaces an older pending one.
 * The same thread empties trash day directories past the keep period (node_trash.h).
 * RestoreTrash (trusted satellite only) drops that satellite's pending filter and moves its trash
 * back. Service: /tessera.retain.Retain/{Retain,RestoreTrash} (proto/retain.proto).
 */
#ifndef NODE_RETAIN_H
#define NODE_RETAIN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/base.h"
#include "bloom/bloom.h"
#include "node.h"

#define NODE_RETAIN_METHOD "/tessera.retain.Retain/Retain"
#define NODE_RESTORE_TRASH_METHOD "/tessera.retain.Retain/RestoreTrash"
/* Pieces created less than this before the filter are never trashed (clock skew, uploads still
 * being committed: the satellite allows 48 h between BeginSegment and CommitSegment). */
#define NODE_RETAIN_SKEW_S_DEFAULT (72 * 3600)
#define NODE_TRASH_INTERVAL_S_DEFAULT 3600

struct ts_rpc_server;

struct node_retain_config {
    int64_t skew_margin_s;  /* see NODE_RETAIN_SKEW_S_DEFAULT */
    int64_t trash_keep_s;   /* NODE_TRASH_KEEP_S_DEFAULT (7 days) */
    int64_t trash_interval_s; /* between trash expiry passes (1 h) */
};

/* From the node's config keys retain-skew, trash-keep, trash-interval (node_config.h). */
void node_retain_config_from(struct node_retain_config *out, const struct node_config *cfg);

struct node_retain_stats {
    int64_t checked;        /* piece files looked at */
    int64_t kept_recent;    /* created after the cutoff */
    int64_t kept_in_filter; /* in the filter (needed, or a false positive) */
    int64_t trashed, trashed_bytes;
    int64_t damaged;        /* unreadable header or name: left alone */
};

/* ---- The walk (no thread; tests call it directly) ----
 * Walks blobs/<sat>/ prefix directories in sorted order, skipping those <= resume_after ("" =
 * from the start), trashing pieces created before cutoff_s that f does not contain. After each
 * directory, prefix_done(ctx, name) is called (may be NULL); its error stops the walk. *stop
 * (may be NULL) is checked between directories: the walk then returns TS_ERR_CANCELED. */
typedef ts_err (*node_retain_prefix_fn)(void *ctx, const char *prefix);
TS_WARN_UNUSED ts_err node_retain_walk(struct node *n, const uint8_t sat_id[32],
                                       const struct ts_bloom *f, int64_t cutoff_s,
                                       const char *resume_after, node_retain_prefix_fn prefix_done,
                                       void *ctx, const atomic_bool *stop,
                                       struct node_retain_stats *out);

/* ---- The service ---- */
struct node_retain;

/* Creates storage_dir/retain/ and starts the thread, which first resumes filters left by a
 * previous run. n and cfg are borrowed and outlive the service. */
TS_WARN_UNUSED ts_err node_retain_start(struct node *n, const struct node_retain_config *cfg,
                                        struct node_retain **out);
/* Stops the thread (a walk in progress stops after its current directory) and frees. NULL ok. */
void node_retain_stop(struct node_retain *r);

/* Stores a filter of sat (created at created_s) durably and wakes the thread. Refused:
 * TS_ERR_NOT_YET_VALID when created_s is more than TS_ORDER_GRACE_S ahead of this node's clock,
 * the ts_bloom_decode errors for bad filter bytes. A filter not newer than the pending one of sat
 * is ignored (TS_OK). msg (NODE_RETAIN_MSG_SIZE bytes) explains a refusal. */
#define NODE_RETAIN_MSG_SIZE 256
TS_WARN_UNUSED ts_err node_retain_queue(struct node_retain *r, const uint8_t sat_id[32],
                                        int64_t created_s, const uint8_t *filter, size_t len,
                                        char *msg);
/* Drops sat's pending filter and restores its trash (waits for a walk in progress). */
TS_WARN_UNUSED ts_err node_retain_restore_trash(struct node_retain *r, const uint8_t sat_id[32],
                                                int64_t *restored);
/* Wakes the thread for a pass now (runs pending filters and the trash expiry). */
void node_retain_trigger(struct node_retain *r);
/* Completed passes and totals so far (tests and /metrics poll these). Thread-safe. */
int64_t node_retain_passes(struct node_retain *r);
int64_t node_retain_pending(struct node_retain *r); /* filters stored and not yet finished */
void node_retain_totals(struct node_retain *r, struct node_retain_stats *out);

/* Registers Retain and RestoreTrash; callers must be trusted satellites (TS_ERR_UNTRUSTED). */
TS_WARN_UNUSED ts_err node_retain_register(struct node_retain *r, struct ts_rpc_server *srv);

#endif
