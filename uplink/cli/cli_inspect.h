/*
 * `tessera access inspect`: an access grant as readable JSON, offline (core/access). Shows the
 * satellite, the API key's head (hex) and every caveat decoded (disallowed operations, allowed
 * buckets with the encrypted prefixes' length and hex, time window as RFC 3339, max object TTL),
 * and the encryption store's entries (bucket, plaintext prefix, cipher) without any key.
 */
#ifndef TS_CLI_INSPECT_H
#define TS_CLI_INSPECT_H

#include "access/access.h"
#include "base/buf.h"
#include "base/error.h"

/* Appends the JSON document (ending in a newline) to out. Errors: out's TS_ERR_TOO_LARGE/NOMEM;
 * a caveat that does not decode is shown as {"undecodable": true}. */
TS_WARN_UNUSED ts_err cli_inspect_json(const struct ts_access *a, struct ts_buf *out);

#endif
