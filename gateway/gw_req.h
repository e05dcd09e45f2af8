/*
 * The gateway's view of one HTTP request and its response, independent of the HTTP library:
 * gw_http fills a gw_req from libmicrohttpd, the S3 code reads it and fills a gw_resp, and
 * gw_http turns that into bytes. Keeping MHD out of here makes SigV4, routing and the handlers
 * testable and fuzzable on plain strings.
 *
 * Strings in a gw_req are owned by it (gw_req_release frees them). Header names are lower-case;
 * query keys and values are percent-decoded, and the raw (as received) forms are kept because
 * SigV4 signs a canonical re-encoding of them.
 */
#ifndef GW_REQ_H
#define GW_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/limits.h"

struct gw_param {
    char *key;   /* decoded (query) or lower-cased (header) */
    char *value; /* decoded (query) or as received (header) */
};

struct gw_req {
    char method[16];
    char *raw_path; /* percent-encoded path as received, starts with '/' */
    char *path;     /* decoded path */
    struct gw_param query[GW_QUERY_PARAMS_MAX];
    size_t query_count;
    struct gw_param headers[GW_REQUEST_HEADERS_MAX];
    size_t header_count;
};

/* Lifecycle. _parse_uri splits "path?query" (raw, at most GW_URI_MAX bytes) into raw_path, path
 * and query: TS_ERR_MALFORMED for bad percent-encoding or a path not starting with '/',
 * TS_ERR_TOO_LARGE past the limits. _add_header appends one header (name lower-cased;
 * TS_ERR_TOO_LARGE past GW_REQUEST_HEADERS_MAX). _release frees everything (zeroed req ok). */
void gw_req_init(struct gw_req *req, const char *method);
TS_WARN_UNUSED ts_err gw_req_parse_uri(struct gw_req *req, const char *uri);
TS_WARN_UNUSED ts_err gw_req_add_header(struct gw_req *req, const char *name, const char *value);
void gw_req_release(struct gw_req *req);

/* Lookups (case-insensitive for headers). Return NULL when absent; a query key without '='
 * has value "". The first occurrence wins. */
const char *gw_req_header(const struct gw_req *req, const char *name);
const char *gw_req_query(const struct gw_req *req, const char *key);
bool gw_req_has_query(const struct gw_req *req, const char *key);

/* Percent-decodes len bytes of in into out (appending). plus_is_space turns '+' into ' '
 * (query strings). TS_ERR_MALFORMED for a bad escape or a decoded NUL. */
TS_WARN_UNUSED ts_err gw_uri_decode(const char *in, size_t len, bool plus_is_space,
                                    struct ts_buf *out);
/* Percent-encodes s the way SigV4 canonicalizes (RFC 3986 unreserved kept; '/' kept when
 * keep_slash), appending to out. */
TS_WARN_UNUSED ts_err gw_uri_encode(const char *s, size_t len, bool keep_slash, struct ts_buf *out);

/* ------------------------------------------------------------------------------------------ */
/* Responses                                                                                   */

#define GW_RESP_HEADERS_MAX 48

/* A streamed body: read is called until it returns 0 (end) or a negative value (abort the
 * connection: the client sees a short body). free releases cls exactly once, whether or not the
 * body was sent. */
struct gw_body_stream {
    uint64_t size; /* exact body size (Content-Length) */
    long (*read)(void *cls, uint8_t *buf, size_t cap);
    void (*free)(void *cls);
    void *cls;
};

struct gw_resp {
    int status; /* 0 = not set yet */
    struct gw_param headers[GW_RESP_HEADERS_MAX];
    size_t header_count;
    struct ts_buf body; /* used when stream.read is NULL */
    struct gw_body_stream stream;
    bool has_head_length; /* HEAD: announce this Content-Length, send no body */
    uint64_t head_length;
    const char *error_code; /* S3 error code for the log line, or NULL */
};

void gw_resp_init(struct gw_resp *resp);
/* Frees headers and body; calls stream.free if a stream was set and never handed over. */
void gw_resp_release(struct gw_resp *resp);
/* Sets a header (replacing one of the same name, case-insensitive), copying name and value.
 * Drops the header (logging) past GW_RESP_HEADERS_MAX. */
void gw_resp_header(struct gw_resp *resp, const char *name, const char *value);
/* Resets status, headers and body (an error replacing a half-built answer). */
void gw_resp_reset(struct gw_resp *resp);

#endif
