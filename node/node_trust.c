#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/fs.h"
#include "base/log.h"
#include "encoding/encoding.h"
#include "node_trust.h"
#include "tls/tls.h"

#define LOG "node.trust"
#define DIAL_TIMEOUT_MS 5000
#define REFRESH_INTERVAL_MS 60000

struct trusted {
    struct ts_node_url url;
    int have_key;
    struct ts_peer_identity key;
    int64_t dialed_ms; /* monotonic time of the last dial attempt, 0 = never */
};

struct node_trust {
    pthread_mutex_t mu;
    const struct ts_identity *identity;
    struct ts_tls_ctx *tls; /* created on first dial */
    char cache_dir[PATH_MAX];
    int count;
    struct trusted sats[TS_TRUSTED_SATELLITES_MAX];
};

static ts_err cache_path(const struct node_trust *t, const struct ts_node_id *id, char *out,
                         size_t out_size)
{
    char b32[64];
    ts_err err = ts_base32_encode_to(TS_BASE32_LOWER, id->bytes, 32, b32, sizeof b32);
    if (err != TS_OK) {
        return err;
    }
    int n = snprintf(out, out_size, "%s/%s.key", t->cache_dir, b32);
    return n < 0 || (size_t)n >= out_size ? TS_ERR_TOO_LARGE : TS_OK;
}

static void cache_load(struct node_trust *t, struct trusted *s)
{
    char path[PATH_MAX];
    struct ts_buf b;
    ts_buf_init(&b, 32 + TS_PUBLIC_KEY_DER_MAX);
    if (cache_path(t, &s->url.id, path, sizeof path) == TS_OK &&
        ts_fs_read_all(path, b.cap_max, &b) == TS_OK && b.len > 32 &&
        memcmp(b.data, s->url.id.bytes, 32) == 0) {
        s->key.id = s->url.id;
        s->key.difficulty = ts_node_id_difficulty(&s->url.id);
        s->key.leaf_public_key_len = b.len - 32;
        memcpy(s->key.leaf_public_key, b.data + 32, b.len - 32);
        s->have_key = 1;
    }
    ts_buf_release(&b);
}

static void cache_store(struct node_trust *t, const struct ts_peer_identity *key)
{
    char path[PATH_MAX];
    uint8_t data[32 + TS_PUBLIC_KEY_DER_MAX];
    memcpy(data, key->id.bytes, 32);
    memcpy(data + 32, key->leaf_public_key, key->leaf_public_key_len);
    if (cache_path(t, &key->id, path, sizeof path) != TS_OK ||
        ts_fs_write_atomic(path, data, 32 + key->leaf_public_key_len, 0600) != TS_OK) {
        ts_log_warn(LOG, "could not cache a satellite key (it will be fetched again)");
    }
}

ts_err node_trust_new(const struct ts_node_url *urls, int count,
                      const struct ts_identity *identity, const char *storage_dir,
                      struct node_trust **out)
{
    *out = NULL;
    if (count < 0 || count > TS_TRUSTED_SATELLITES_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    struct node_trust *t = calloc(1, sizeof *t);
    if (t == NULL) {
        return TS_ERR_NOMEM;
    }
    int n = snprintf(t->cache_dir, sizeof t->cache_dir, "%s/satellites", storage_dir);
    ts_err err = n < 0 || (size_t)n >= sizeof t->cache_dir ? TS_ERR_TOO_LARGE : TS_OK;
    if (err == TS_OK) {
        err = ts_fs_mkdir_p(t->cache_dir, 0700);
    }
    if (err != TS_OK) {
        free(t);
        return err;
    }
    pthread_mutex_init(&t->mu, NULL);
    t->identity = identity;
    t->count = count;
    for (int i = 0; i < count; i++) {
        t->sats[i].url = urls[i];
        cache_load(t, &t->sats[i]);
    }
    *out = t;
    return TS_OK;
}

void node_trust_free(struct node_trust *t)
{
    if (t == NULL) {
        return;
    }
    ts_tls_ctx_free(t->tls);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

static struct trusted *find(struct node_trust *t, const struct ts_node_id *sat)
{
    for (int i = 0; i < t->count; i++) {
        if (ts_node_id_equal(&t->sats[i].url.id, sat)) {
            return &t->sats[i];
        }
    }
    return NULL;
}

int node_trust_is_trusted(struct node_trust *t, const struct ts_node_id *sat)
{
    return find(t, sat) != NULL;
}

/* Dials url and returns the peer identity core/tls verified against url->id. */
static ts_err fetch(struct node_trust *t, const struct ts_node_url *url,
                    struct ts_peer_identity *out)
{
    pthread_mutex_lock(&t->mu);
    ts_err err = TS_OK;
    if (t->tls == NULL) {
        struct ts_tls_config cfg = {.identity = t->identity, .difficulty_min = 0};
        err = ts_tls_ctx_new(&cfg, &t->tls);
    }
    struct ts_tls_ctx *ctx = t->tls;
    pthread_mutex_unlock(&t->mu);
    if (err != TS_OK) {
        return err;
    }
    struct ts_tls_conn *conn = NULL;
    err = ts_tls_connect(ctx, url, DIAL_TIMEOUT_MS, &conn);
    if (err == TS_OK) {
        *out = *ts_tls_conn_peer(conn);
        ts_tls_conn_close(conn);
    }
    return err;
}

ts_err node_trust_key(struct node_trust *t, const struct ts_node_id *sat, int refresh,
                      struct ts_peer_identity *out)
{
    struct trusted *s = find(t, sat);
    if (s == NULL) {
        return TS_ERR_UNTRUSTED;
    }
    int64_t now_ms = ts_monotonic_ms();
    pthread_mutex_lock(&t->mu);
    /* Dial when there is no key, or on refresh at most once a minute (a stream of forged limits
     * must not turn into a stream of dials). */
    int may_dial = s->dialed_ms == 0 || now_ms - s->dialed_ms >= REFRESH_INTERVAL_MS;
    int dial = !s->have_key || (refresh && may_dial);
    if (dial && may_dial) {
        s->dialed_ms = now_ms;
    }
    int have_key = s->have_key;
    if (have_key) {
        *out = s->key;
    }
    struct ts_node_url url = s->url;
    pthread_mutex_unlock(&t->mu);
    if (!dial || (!may_dial && have_key)) {
        return TS_OK;
    }
    if (!may_dial) {
        return TS_ERR_UNAVAILABLE; /* no key and a dial failed moments ago */
    }
    struct ts_peer_identity key;
    ts_err err = fetch(t, &url, &key);
    char id_text[TS_NODE_ID_TEXT_MAX];
    if (ts_node_id_to_string(sat, id_text, sizeof id_text) != TS_OK) {
        id_text[0] = 0;
    }
    if (err != TS_OK) {
        ts_log_warn(LOG, "cannot fetch satellite key satellite=%s host=%s port=%u err=%s", id_text,
                    url.host, url.port, ts_errname(err));
        return have_key ? TS_OK : err; /* keep using the cached key */
    }
    ts_log_info(LOG, "fetched satellite key satellite=%s", id_text);
    cache_store(t, &key);
    pthread_mutex_lock(&t->mu);
    s->key = key;
    s->have_key = 1;
    pthread_mutex_unlock(&t->mu);
    *out = key;
    return TS_OK;
}

int node_trust_count(struct node_trust *t)
{
    return t->count;
}

const struct ts_node_url *node_trust_url(struct node_trust *t, int i)
{
    return &t->sats[i].url;
}
