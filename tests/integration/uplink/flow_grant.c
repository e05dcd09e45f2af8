/* Builds a test access grant (fresh API key + random root key) for the uplink flow test. Kept
 * apart from test_uplink_flow.c because macaroon.h and orders.h both define TS_ACTION_* names. */
#include <stdlib.h>

#include "access/access.h"
#include "base/base.h"
#include "crypto/hash.h"
#include "macaroon/macaroon.h"

char *flow_grant(const char *satellite_url);

char *flow_grant(const char *satellite_url)
{
    uint8_t secret[32], root_key[32];
    struct ts_macaroon *mac = NULL;
    struct ts_access *a = NULL;
    struct ts_buf text;
    ts_buf_init(&text, TS_ACCESS_GRANT_TEXT_MAX + 1);
    char *out = NULL;
    if (ts_macaroon_new(secret, &mac) == TS_OK && ts_access_new(satellite_url, mac, &a) == TS_OK &&
        ts_random_bytes(root_key, sizeof(root_key)) == TS_OK) {
        ts_access_set_default_key(a, root_key);
        if (ts_access_serialize(a, &text) == TS_OK) {
            out = (char *)ts_buf_detach(&text, NULL);
        }
    }
    ts_wipe(root_key, sizeof(root_key));
    ts_wipe(secret, sizeof(secret));
    ts_buf_release(&text);
    ts_access_free(a);
    ts_macaroon_free(mac);
    return out;
}
