/*
 * HTTP semantics S3 GETs need: the Range header (one byte range; S3 answers multi-range requests
 * with the whole object, so do we), the four conditional headers evaluated in RFC 9110 order,
 * and HTTP dates (IMF-fixdate written; IMF-fixdate, RFC 850 and asctime read).
 */
#ifndef GW_RANGE_H
#define GW_RANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

struct gw_range {
    bool partial;    /* false: the whole object */
    uint64_t offset; /* first byte */
    uint64_t length; /* bytes */
};

/* Resolves header (NULL = none) against an object of size bytes. A header that is not a single
 * "bytes=" range is ignored (whole object). TS_ERR_INVALID_ARGUMENT when the range is
 * unsatisfiable (416 InvalidRange): first byte at or past the end, or a zero-length suffix. */
TS_WARN_UNUSED ts_err gw_range_parse(const char *header, uint64_t size, struct gw_range *out);

enum gw_cond_result {
    GW_COND_OK,                 /* serve normally */
    GW_COND_NOT_MODIFIED,       /* 304 */
    GW_COND_PRECONDITION_FAILED /* 412 */
};

/* Evaluates If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since (any may be NULL)
 * against the object's quoted etag and modification time. Unparseable dates are ignored, as
 * HTTP requires. */
enum gw_cond_result gw_cond_eval(const char *if_match, const char *if_none_match,
                                 const char *if_modified_since, const char *if_unmodified_since,
                                 const char *etag, int64_t modified_s);

/* Writes "Sun, 06 Nov 1994 08:49:37 GMT" (30 bytes with NUL). */
void gw_http_date_format(int64_t t, char out[48]);
/* Parses the three HTTP date forms (and RFC 1123 with "+0000", as SigV2 clients send);
 * TS_ERR_MALFORMED otherwise. */
TS_WARN_UNUSED ts_err gw_http_date_parse(const char *s, int64_t *out);
/* ISO 8601 as S3 XML writes it: "2009-10-12T17:50:30.000Z". */
void gw_iso_date_format(int64_t t, char out[48]);

#endif
