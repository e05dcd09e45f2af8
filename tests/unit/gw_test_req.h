/* Gateway unit tests: a gw_req built from a method, a URI and NULL-ended name/value header pairs
 * (include after <cmocka.h>). */
#ifndef GW_TEST_REQ_H
#define GW_TEST_REQ_H

#include "gw_req.h"

static inline void req_build(struct gw_req *r, const char *method, const char *uri,
                             const char *const *headers)
{
    gw_req_init(r, method);
    assert_int_equal(gw_req_parse_uri(r, uri), TS_OK);
    for (size_t i = 0; headers[i] != NULL; i += 2) {
        assert_int_equal(gw_req_add_header(r, headers[i], headers[i + 1]), TS_OK);
    }
}

#endif
