/*
 * A side worker: one thread that runs a job on a borrowed buffer while the caller works on the
 * same bytes, then joins. PutObject and UploadPart hash a large body's MD5 (the ETag) on it while
 * the request's own thread checks the SHA-256 and encrypts/encodes: the MD5 alone costs about as
 * much CPU as the uplink's whole per-byte work, and run in line it made the request thread the
 * bottleneck of a big upload. One job at a time; the buffer must stay valid until
 * gw_side_wait returns.
 */
#ifndef GW_SIDE_H
#define GW_SIDE_H

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

struct gw_side;

typedef void (*gw_side_fn)(void *arg, const uint8_t *data, size_t len);

/* Starts the thread. NOMEM, INTERNAL (no thread). */
TS_WARN_UNUSED ts_err gw_side_new(struct gw_side **out);
/* Hands fn(arg, data, len) to the thread; the previous job must have been waited for. */
void gw_side_post(struct gw_side *s, gw_side_fn fn, void *arg, const uint8_t *data, size_t len);
/* Returns once the posted job (if any) has finished. */
void gw_side_wait(struct gw_side *s);
/* Waits for a posted job, stops and joins the thread. NULL is a no-op. */
void gw_side_free(struct gw_side *s);

#endif
