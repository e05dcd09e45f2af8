/*
 * Background chores of the storage node (check-in, settlement, TTL collection, archive cleanup):
 * one thread each that runs a function, sleeps for the delay the function returns, and wakes
 * early when triggered or stopped. The function runs on the chore's thread only, so a chore's own
 * state needs no lock; anything shared with other threads is guarded by its owner.
 */
#ifndef NODE_CHORE_H
#define NODE_CHORE_H

#include <stdint.h>

#include "base/base.h"

/* Runs one pass; returns the delay in milliseconds until the next pass (>= 0). */
typedef int64_t (*node_chore_fn)(void *ctx);

struct node_chore;

/* Starts a thread running fn(ctx) now, then after each returned delay. name (borrowed, static)
 * appears in logs. TS_ERR_NOMEM or TS_ERR_INTERNAL when the thread cannot start. */
TS_WARN_UNUSED ts_err node_chore_start(const char *name, node_chore_fn fn, void *ctx,
                                       struct node_chore **out);
/* Makes the chore run its next pass now (after a pass in progress ends). Thread-safe. */
void node_chore_trigger(struct node_chore *c);
/* Passes completed so far (tests poll this instead of sleeping). Thread-safe. */
int64_t node_chore_passes(struct node_chore *c);
/* Stops the thread (waits for a pass in progress) and frees. NULL is a no-op. */
void node_chore_stop(struct node_chore *c);

#endif
