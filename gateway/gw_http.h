/*
 * The HTTP server: libmicrohttpd glue, and the only gateway file that includes microhttpd.h.
 *
 * Model: one thread per connection (MHD_USE_THREAD_PER_CONNECTION) with small stacks, capped at
 * connections_max (MHD refuses connections past it); handlers may block on the network inside
 * their thread. Bodies stream both ways: each piece of an upload reaches gw_router_body as MHD
 * reads it (per-connection memory GW_CONNECTION_MEMORY_BYTES), and responses with a
 * gw_body_stream are pulled GW_COPY_BUFFER_SIZE bytes at a time, so memory does not depend on
 * object size. `Expect: 100-continue` is answered by MHD only when the router has not already
 * refused the request.
 */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include <stdint.h>

#include "base/error.h"

struct gw_server;
struct gw_http;

struct gw_http_config {
    const char *host;         /* IPv4 literal to bind ("127.0.0.1", "0.0.0.0") */
    uint16_t port;            /* 0 = any free port (read it back with gw_http_port) */
    unsigned connections_max; /* 0 = GW_CONNECTIONS_DEFAULT */
};

/* Starts serving srv. TS_ERR_CONFIG for a bad address, TS_ERR_IO when the port cannot be bound. */
TS_WARN_UNUSED ts_err gw_http_start(const struct gw_http_config *cfg, struct gw_server *srv,
                                    struct gw_http **out);
uint16_t gw_http_port(const struct gw_http *h);
/* Stops accepting, waits for connection threads, frees h. NULL is a no-op. */
void gw_http_stop(struct gw_http *h);

#endif
