/*
 * Contact: storage nodes check in (proto/contact.proto, service tessera.contact.Node). The node
 * is the mutual-TLS peer; the satellite dials the address it claims, expecting that same node
 * ID, and calls tessera.contact.Contact/PingNode on it. The check-in is recorded either way:
 * last_contact_success on a good ping, last_contact_failure otherwise (so an unreachable node
 * stops receiving uploads). last_net is the /24 of the address's IPv4 (resolved when a name).
 */
#ifndef SAT_CONTACT_CONTACT_H
#define SAT_CONTACT_CONTACT_H

#include "base/base.h"
#include "db/db.h"
#include "rpc/rpc.h"
#include "satellite/config.h"
#include "satellite/overlay/overlay.h"

#define SAT_CONTACT_METHOD_CHECKIN "/tessera.contact.Node/CheckIn"
#define SAT_CONTACT_METHOD_GETTIME "/tessera.contact.Node/GetTime"
#define SAT_CONTACT_METHOD_PING "/tessera.contact.Contact/PingNode"

struct sat_contact {
    struct ts_db *db;             /* borrowed */
    const struct sat_config *cfg; /* borrowed */
    struct sat_overlay *overlay;  /* borrowed; invalidated when a new node appears */
    struct ts_rpc_pool *pool;     /* borrowed; dials nodes for the ping-back */
};

/* Registers CheckIn and GetTime; c must outlive the server. */
TS_WARN_UNUSED ts_err sat_contact_register(struct ts_rpc_server *srv, struct sat_contact *c);

/* The check-in itself (exposed for tests): records node (the peer) at the claimed address with
 * the ping result. TS_ERR_DIFFICULTY below the configured identity difficulty,
 * TS_ERR_INVALID_ARGUMENT for a bad address or field. resp gets the ping outcome. */
TS_WARN_UNUSED ts_err sat_contact_checkin(struct sat_contact *c,
                                          const struct ts_peer_identity *peer, const char *address,
                                          int64_t free_disk, const char *version,
                                          const char *wallet, const char *email, bool *ping_ok,
                                          char *ping_error, size_t ping_error_size);

#endif
