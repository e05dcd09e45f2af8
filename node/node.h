/*
 * The storage node's shared state: one struct node per process, built by node_main.c and borrowed
 * by every subsystem (piecestore endpoint, dashboard). Fields are set once at start; everything
 * that changes is owned by its subsystem's object (thread-safe) or is an atomic counter here.
 */
#ifndef NODE_NODE_H
#define NODE_NODE_H

#include <stdatomic.h>
#include <stdint.h>

#include "identity/identity.h"
#include "node_blobstore.h"
#include "node_config.h"
#include "node_orders.h"
#include "node_space.h"
#include "node_trust.h"

/* Counters exported on /metrics (monotonic unless noted). */
struct node_metrics {
    atomic_llong uploads_ok, uploads_failed;
    atomic_llong downloads_ok, downloads_failed;
    atomic_llong deletes, exists_calls;
    atomic_llong bytes_received, bytes_sent; /* piece data */
    atomic_llong refused_limits;             /* order limits refused (any reason) */
    atomic_llong transfers_active;           /* gauge */
};

struct node_ttl;

struct node {
    const struct node_config *cfg;
    const struct ts_identity *identity;
    struct node_blobstore *blobs;
    struct node_space space;
    struct node_serials *serials;
    struct node_orders_store *orders;
    struct node_trust *trust;
    struct node_ttl *ttl; /* expiration index (node_ttl.h); NULL = pieces are not indexed */
    struct node_metrics metrics;
    int64_t started_s;
};

#endif
