/*
 * Graceful exit, node side (reference §8.7, docs/gc.md): the operator commands
 *   tessera-node exit-satellite --satellite ID [node flags or --config FILE]
 *   tessera-node exit-status [--satellite ID] [node flags or --config FILE]
 * load the node's configuration (identity and trust list), dial the satellite with the node's
 * identity (the satellite knows the node by its TLS identity) and call
 * /tessera.gexit.GracefulExit/{InitiateExit,GetExitStatus} (proto/gexit.proto). The satellite
 * then stops giving the node new pieces and repairs its pieces elsewhere; the node keeps serving
 * until the exit completes. exit-status prints one line per satellite.
 */
#ifndef NODE_GEXIT_H
#define NODE_GEXIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "identity/identity.h"

#define NODE_GEXIT_METHOD_INITIATE "/tessera.gexit.GracefulExit/InitiateExit"
#define NODE_GEXIT_METHOD_STATUS "/tessera.gexit.GracefulExit/GetExitStatus"

struct ts_rpc_pool;

/* An exit's state as the satellite reports it (values of tessera.gexit.ExitState). */
enum node_gexit_state {
    NODE_GEXIT_NONE = 0,
    NODE_GEXIT_RUNNING = 1,
    NODE_GEXIT_SUCCEEDED = 2,
    NODE_GEXIT_FAILED = 3,
};

struct node_gexit_status {
    enum node_gexit_state state;
    int64_t initiated_at_s, completes_at_s, finished_at_s; /* 0 = not yet */
    double online_score;
    char reason[256];
};

/* Calls the satellite: initiate = true starts the exit (idempotent), false only asks. On a
 * refusal returns the satellite's code and its text in msg (msg_size bytes). */
TS_WARN_UNUSED ts_err node_gexit_call(struct ts_rpc_pool *pool, const struct ts_node_url *sat,
                                      bool initiate, struct node_gexit_status *out, char *msg,
                                      size_t msg_size);

/* The name of a state ("none", "running", "succeeded", "failed"). */
const char *node_gexit_state_name(enum node_gexit_state state);

/* True when argv[1] of tessera-node is one of the commands above. */
bool node_gexit_is_command(const char *arg);
/* Runs the command in argv[1] with the node flags that follow; returns the process exit status
 * (0 ok, 1 the satellite refused or could not be reached, 2 bad usage or configuration). */
int node_gexit_main(int argc, char **argv);

#endif
