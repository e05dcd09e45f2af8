/*
 * The node's local HTTP port (libmicrohttpd, one internal polling thread, bounded connections):
 *   GET /metrics   Prometheus text: space, transfers, bytes, refusals
 *   GET /          JSON summary for the dashboard: node ID, wallet, satellites, space, counters
 */
#ifndef NODE_DASHBOARD_H
#define NODE_DASHBOARD_H

#include <stdint.h>

#include "base/base.h"
#include "node.h"

struct node_dashboard;

/* Listens on host:port (port 0 picks one). TS_ERR_IO when it cannot bind. */
TS_WARN_UNUSED ts_err node_dashboard_start(struct node *n, const char *host, uint16_t port,
                                           struct node_dashboard **out);
uint16_t node_dashboard_port(const struct node_dashboard *d);
/* Stops and frees. NULL is a no-op. */
void node_dashboard_stop(struct node_dashboard *d);

#endif
