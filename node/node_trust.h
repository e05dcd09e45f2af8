/*
 * Trusted satellites of the storage node (reference §9.7). The trust list holds satellite node
 * URLs (id@host:port). To check an order limit's signature the node needs the satellite's leaf
 * public key: it dials the satellite's TLS address once, and core/tls verifies that the ID computed
 * from the presented CA key equals the trusted ID, so a key is only ever accepted from the
 * satellite itself. Fetched keys are cached in memory and in storage_dir/satellites/<id b32>.key
 * (32-byte ID, then the leaf key DER) so a restart does not need the satellite online.
 * Thread-safe; no lock is held while dialing.
 */
#ifndef NODE_TRUST_H
#define NODE_TRUST_H

#include "base/base.h"
#include "identity/identity.h"

struct node_trust;

/* urls: count trusted satellites (copied). identity: this node's (borrowed, outlives trust). */
TS_WARN_UNUSED ts_err node_trust_new(const struct ts_node_url *urls, int count,
                                     const struct ts_identity *identity, const char *storage_dir,
                                     struct node_trust **out);
void node_trust_free(struct node_trust *t);

/* 1 when sat is on the trust list. */
int node_trust_is_trusted(struct node_trust *t, const struct ts_node_id *sat);

/* The satellite's public identity: TS_ERR_UNTRUSTED when not on the list, else from the cache or
 * by dialing (TS_ERR_CONNECT, TS_ERR_TIMEOUT, TS_ERR_TLS, TS_ERR_WRONG_NODE; TS_ERR_UNAVAILABLE
 * when a dial failed less than a minute ago). refresh = 1 asks for a new fetch (after a signature
 * failed: the satellite may have rotated its leaf key); dials are rate-limited to one per minute
 * per satellite, and a failed refresh returns the cached key. */
TS_WARN_UNUSED ts_err node_trust_key(struct node_trust *t, const struct ts_node_id *sat,
                                     int refresh, struct ts_peer_identity *out);

/* The trusted satellite URLs (for logs and the dashboard). */
int node_trust_count(struct node_trust *t);
const struct ts_node_url *node_trust_url(struct node_trust *t, int i);

#endif
