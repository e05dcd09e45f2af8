/*
 * Contact (reference §8.3): the node checks in with every trusted satellite at start, every
 * interval (1 h by default) and at once when its free space drops below a threshold. A check-in
 * (proto/contact.proto, tessera.contact.Node/CheckIn) carries the node's external address, free
 * bytes, version, wallet and email; the satellite dials that address back and calls
 * tessera.contact.Contact/PingNode, which node_contact_register serves. A failed check-in (no
 * answer, or the ping-back failed) is retried with exponential backoff from
 * NODE_CHECKIN_BACKOFF_MIN_MS, capped at min(interval, TS_NODE_CHECKIN_BACKOFF_MAX_MS).
 * Every check-in is logged with its result. One chore thread serves all satellites in turn.
 */
#ifndef NODE_CONTACT_H
#define NODE_CONTACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "identity/identity.h"
#include "node_space.h"

#define NODE_CONTACT_METHOD_CHECKIN "/tessera.contact.Node/CheckIn"
#define NODE_CONTACT_METHOD_PING "/tessera.contact.Contact/PingNode"
#define NODE_CHECKIN_BACKOFF_MIN_MS 1000

struct ts_rpc_pool;
struct ts_rpc_server;
struct node_contact;

struct node_contact_config {
    struct ts_rpc_pool *pool;                /* borrowed, thread-safe; dials the satellites */
    const struct ts_node_url *satellites;    /* borrowed array of satellite_count */
    int satellite_count;
    const char *address;                     /* external host:port (copied) */
    const char *version, *wallet, *email;    /* copied; may be "" */
    struct node_space *space;                /* borrowed: free space to report */
    int64_t interval_ms;                     /* between successful check-ins, > 0 */
    int64_t free_space_min_bytes;            /* check in at once when free space drops below */
};

/* One satellite's check-in state, for logs, the dashboard and tests. */
struct node_contact_status {
    int64_t successes, failures;  /* check-ins so far */
    int consecutive_failures;
    bool last_ping_ok;
    int64_t last_backoff_ms;      /* the retry delay after the latest failure (0 after success) */
};

/* Lifecycle: _start copies cfg and starts the chore (first check-ins right away). _stop waits
 * for a check-in in progress (bounded by the pool's timeouts) and frees. NULL is a no-op. */
TS_WARN_UNUSED ts_err node_contact_start(const struct node_contact_config *cfg,
                                         struct node_contact **out);
void node_contact_stop(struct node_contact *c);

/* Checks in with satellite i now on the calling thread. TS_OK only when the satellite answered
 * and its ping-back reached this node; TS_ERR_UNAVAILABLE when it answered with a failed ping
 * (its reason in msg); else the RPC error. msg: msg_size bytes, "" on success. */
TS_WARN_UNUSED ts_err node_contact_checkin(struct node_contact *c, int i, char *msg,
                                           size_t msg_size);
void node_contact_status(struct node_contact *c, int i, struct node_contact_status *out);

/* Registers the PingNode handler on the node's RPC server. */
TS_WARN_UNUSED ts_err node_contact_register(struct ts_rpc_server *srv);

#endif
