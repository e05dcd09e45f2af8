/*
 * Caveats: the tessera.macaroon.Caveat protobuf and the rules deciding whether a caveat allows an
 * action (reference §5.3 item 3; the exact rules and their reasons are in docs/macaroon.md).
 */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "macaroon.pb-c.h"
#include "macaroon/macaroon.h"

typedef Tessera__Macaroon__Caveat CaveatPb;
typedef Tessera__Macaroon__Caveat__Path PathPb;

void ts_caveat_init(struct ts_caveat *c)
{
    memset(c, 0, sizeof *c);
}

void ts_caveat_release(struct ts_caveat *c)
{
    for (size_t i = 0; i < c->path_count; i++) {
        free(c->paths[i].prefix);
    }
    free(c->paths);
    ts_caveat_init(c);
}

ts_err ts_caveat_add_path(struct ts_caveat *c, const uint8_t *bucket, size_t bucket_len,
                          const uint8_t *prefix, size_t prefix_len)
{
    if (bucket_len == 0) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    if (c->path_count >= TS_CAVEAT_PATHS_MAX || bucket_len > TS_BUCKET_NAME_MAX ||
        prefix_len > TS_ENCRYPTED_KEY_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    struct ts_caveat_path *paths = realloc(c->paths, (c->path_count + 1) * sizeof *paths);
    if (paths == NULL) {
        return TS_ERR_NOMEM;
    }
    c->paths = paths;
    struct ts_caveat_path *p = &paths[c->path_count];
    memset(p, 0, sizeof *p);
    if (prefix_len > 0) {
        p->prefix = malloc(prefix_len);
        if (p->prefix == NULL) {
            return TS_ERR_NOMEM;
        }
        memcpy(p->prefix, prefix, prefix_len);
    }
    memcpy(p->bucket, bucket, bucket_len);
    p->bucket_len = bucket_len;
    p->prefix_len = prefix_len;
    c->path_count++;
    return TS_OK;
}

ts_err ts_caveat_encode(const struct ts_caveat *c, struct ts_buf *out)
{
    TS_ASSERT(c->path_count <= TS_CAVEAT_PATHS_MAX && c->nonce_len <= TS_CAVEAT_NONCE_MAX);
    CaveatPb pb = TESSERA__MACAROON__CAVEAT__INIT;
    PathPb paths[TS_CAVEAT_PATHS_MAX];
    PathPb *path_ptrs[TS_CAVEAT_PATHS_MAX];
    pb.disallow_reads = c->disallow_reads;
    pb.disallow_writes = c->disallow_writes;
    pb.disallow_lists = c->disallow_lists;
    pb.disallow_deletes = c->disallow_deletes;
    for (size_t i = 0; i < c->path_count; i++) {
        tessera__macaroon__caveat__path__init(&paths[i]);
        paths[i].bucket.data = (uint8_t *)c->paths[i].bucket;
        paths[i].bucket.len = c->paths[i].bucket_len;
        paths[i].encrypted_path_prefix.data = c->paths[i].prefix;
        paths[i].encrypted_path_prefix.len = c->paths[i].prefix_len;
        path_ptrs[i] = &paths[i];
    }
    pb.n_allowed_paths = c->path_count;
    pb.allowed_paths = path_ptrs;
    pb.not_after = c->not_after_s;
    pb.not_before = c->not_before_s;
    pb.max_object_ttl = c->max_object_ttl_s;
    pb.nonce.data = (uint8_t *)c->nonce;
    pb.nonce.len = c->nonce_len;
    size_t size = tessera__macaroon__caveat__get_packed_size(&pb);
    if (size > TS_CAVEAT_SIZE_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    ts_err err = ts_buf_reserve(out, size);
    if (err != TS_OK) {
        return err;
    }
    size_t packed = tessera__macaroon__caveat__pack(&pb, out->data + out->len);
    TS_ASSERT(packed == size);
    out->len += packed;
    out->data[out->len] = 0;
    return TS_OK;
}

static ts_err caveat_from_pb(const CaveatPb *pb, struct ts_caveat *c)
{
    if (pb->base.n_unknown_fields != 0 || pb->max_object_ttl < 0) {
        return TS_ERR_MALFORMED;
    }
    if (pb->n_allowed_paths > TS_CAVEAT_PATHS_MAX || pb->nonce.len > TS_CAVEAT_NONCE_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    c->disallow_reads = pb->disallow_reads;
    c->disallow_writes = pb->disallow_writes;
    c->disallow_lists = pb->disallow_lists;
    c->disallow_deletes = pb->disallow_deletes;
    c->not_after_s = pb->not_after;
    c->not_before_s = pb->not_before;
    c->max_object_ttl_s = pb->max_object_ttl;
    if (pb->nonce.len > 0) {
        memcpy(c->nonce, pb->nonce.data, pb->nonce.len);
    }
    c->nonce_len = pb->nonce.len;
    for (size_t i = 0; i < pb->n_allowed_paths; i++) {
        const PathPb *p = pb->allowed_paths[i];
        if (p->base.n_unknown_fields != 0) {
            return TS_ERR_MALFORMED;
        }
        ts_err err =
            ts_caveat_add_path(c, p->bucket.data, p->bucket.len, p->encrypted_path_prefix.data,
                               p->encrypted_path_prefix.len);
        if (err != TS_OK) {
            return err == TS_ERR_INVALID_ARGUMENT ? TS_ERR_MALFORMED : err;
        }
    }
    return TS_OK;
}

ts_err ts_caveat_decode(const uint8_t *data, size_t len, struct ts_caveat *c)
{
    ts_caveat_init(c);
    if (len > TS_CAVEAT_SIZE_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    CaveatPb *pb = tessera__macaroon__caveat__unpack(NULL, len, data);
    if (pb == NULL) {
        return TS_ERR_MALFORMED;
    }
    ts_err err = caveat_from_pb(pb, c);
    tessera__macaroon__caveat__free_unpacked(pb, NULL);
    if (err != TS_OK) {
        ts_caveat_release(c);
    }
    return err;
}

ts_err ts_macaroon_restrict(struct ts_macaroon *m, const struct ts_caveat *c)
{
    struct ts_buf b;
    ts_buf_init(&b, TS_CAVEAT_SIZE_MAX);
    ts_err err = ts_caveat_encode(c, &b);
    if (err == TS_OK) {
        err = ts_macaroon_add_caveat(m, b.data, b.len);
    }
    ts_buf_release(&b);
    return err;
}

/* Whether an allowed prefix covers path, on whole components: path equals the prefix, or
 * continues it after a '/' (the prefix's own trailing '/', or the next byte of path). Plain byte
 * prefixes would let an allowed "a/b" reach a sibling "a/bc" under the null path cipher. */
static bool prefix_covers(const uint8_t *prefix, size_t prefix_len, const uint8_t *path,
                          size_t path_len)
{
    if (prefix_len == 0) {
        return true;
    }
    if (path_len < prefix_len || memcmp(prefix, path, prefix_len) != 0) {
        return false;
    }
    return path_len == prefix_len || prefix[prefix_len - 1] == '/' || path[prefix_len] == '/';
}

static bool bucket_equal(const struct ts_caveat_path *p, const struct ts_action *a)
{
    return p->bucket_len == a->bucket_len && memcmp(p->bucket, a->bucket, a->bucket_len) == 0;
}

static bool paths_allow(const struct ts_caveat *c, const struct ts_action *a)
{
    if (c->path_count == 0) {
        return true;
    }
    for (size_t i = 0; i < c->path_count; i++) {
        const struct ts_caveat_path *p = &c->paths[i];
        if (bucket_equal(p, a) &&
            prefix_covers(p->prefix, p->prefix_len, a->encrypted_path, a->encrypted_path_len)) {
            return true;
        }
    }
    return false;
}

/* Bucket metadata reads (empty path): allowed for any listed bucket, whatever disallow_reads
 * says, so that a write-only key can still look up the bucket it uploads to. With an empty bucket
 * the request lists buckets; the satellite then filters each bucket through this rule. */
static bool bucket_read_allowed(const struct ts_caveat *c, const struct ts_action *a)
{
    if (c->path_count == 0 || a->bucket_len == 0) {
        return true;
    }
    for (size_t i = 0; i < c->path_count; i++) {
        if (bucket_equal(&c->paths[i], a)) {
            return true;
        }
    }
    return false;
}

ts_err ts_caveat_allows(const struct ts_caveat *c, const struct ts_action *a)
{
    TS_ASSERT(a->bucket != NULL || a->bucket_len == 0);
    TS_ASSERT(a->encrypted_path != NULL || a->encrypted_path_len == 0);
    if (c->not_after_s != 0 && a->time_s > c->not_after_s) {
        return TS_ERR_EXPIRED;
    }
    if (c->not_before_s != 0 && a->time_s < c->not_before_s) {
        return TS_ERR_NOT_YET_VALID;
    }
    bool allowed = false;
    switch (a->op) {
    case TS_ACTION_PROJECT_INFO:
        return TS_OK;
    case TS_ACTION_READ:
        if (a->encrypted_path_len == 0) {
            return bucket_read_allowed(c, a) ? TS_OK : TS_ERR_PERMISSION_DENIED;
        }
        allowed = !c->disallow_reads;
        break;
    case TS_ACTION_WRITE:
        allowed = !c->disallow_writes;
        break;
    case TS_ACTION_LIST:
        allowed = !c->disallow_lists;
        break;
    case TS_ACTION_DELETE:
        allowed = !c->disallow_deletes;
        break;
    }
    /* Every action but listing buckets names one. */
    if (allowed && a->bucket_len == 0) {
        allowed = c->path_count == 0 && a->encrypted_path_len == 0;
    }
    return allowed && paths_allow(c, a) ? TS_OK : TS_ERR_PERMISSION_DENIED;
}

ts_err ts_macaroon_allows(const struct ts_macaroon *m, const struct ts_action *a)
{
    for (size_t i = 0; i < ts_macaroon_caveat_count(m); i++) {
        size_t len = 0;
        const uint8_t *data = ts_macaroon_caveat(m, i, &len);
        struct ts_caveat c;
        ts_err err = ts_caveat_decode(data, len, &c);
        if (err == TS_OK) {
            err = ts_caveat_allows(&c, a);
        } else {
            err = TS_ERR_PERMISSION_DENIED;
        }
        ts_caveat_release(&c);
        if (err != TS_OK) {
            return err;
        }
    }
    return TS_OK;
}

ts_err ts_macaroon_max_object_ttl(const struct ts_macaroon *m, int64_t *ttl_s)
{
    int64_t best = 0;
    for (size_t i = 0; i < ts_macaroon_caveat_count(m); i++) {
        size_t len = 0;
        const uint8_t *data = ts_macaroon_caveat(m, i, &len);
        struct ts_caveat c;
        ts_err err = ts_caveat_decode(data, len, &c);
        int64_t ttl = c.max_object_ttl_s;
        ts_caveat_release(&c);
        if (err != TS_OK) {
            return TS_ERR_MALFORMED;
        }
        if (ttl > 0 && (best == 0 || ttl < best)) {
            best = ttl;
        }
    }
    *ttl_s = best;
    return TS_OK;
}
