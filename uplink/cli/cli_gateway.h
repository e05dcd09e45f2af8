/*
 * `tessera share --url`: registers a grant with a tessera-gateway as public (POST /-/register,
 * see docs/gateway.md) and returns the base of its share links. Plain HTTP/1.1 over one TCP
 * connection; the gateway is the user's own (https:// would go through a TLS-terminating proxy
 * in front of it, which this client does not speak).
 */
#ifndef TS_CLI_GATEWAY_H
#define TS_CLI_GATEWAY_H

#include <stddef.h>

#include "base/error.h"

/* The response read from the gateway is bounded (a JSON line); the whole exchange times out. */
#define CLI_GATEWAY_RESPONSE_MAX (64 * 1024)
#define CLI_GATEWAY_TIMEOUT_MS 30000

/* Registers grant at gateway_url ("http://host[:port][/base]") as a public share and writes
 * "<base>/s/<access key id>/" into share_url. Errors (a sentence on stderr first):
 * TS_ERR_INVALID_ARGUMENT (not an http:// URL), TS_ERR_CONNECT / TS_ERR_TIMEOUT,
 * TS_ERR_PERMISSION_DENIED (the gateway refuses registration: started without
 * --allow-register), TS_ERR_PROTOCOL (any other answer), TS_ERR_TOO_LARGE (share_url too small). */
TS_WARN_UNUSED ts_err cli_gateway_register(const char *gateway_url, const char *grant,
                                           char *share_url, size_t share_url_size);

#endif
