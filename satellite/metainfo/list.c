/* ListObjects: committed objects under an encrypted prefix, recursive or collapsed at the next
 * '/' into prefixes, with cursor pagination (reference §8.1: '/' survives path encryption, so
 * delimiting works on encrypted keys). */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "satellite/metainfo/internal.h"

struct list_ctx {
    struct sat_arena *a;
    size_t prefix_len;
    bool recursive;
    bool with_metadata;
    size_t limit;
    Tessera__Metainfo__ObjectListItem **items; /* limit + 1 slots */
    size_t count;
    uint8_t last[TS_ENCRYPTED_KEY_MAX]; /* last key seen by the scan */
    size_t last_len;
    size_t rows;
    bool restart; /* skip a collapsed prefix: continue from restart_key */
    uint8_t restart_key[TS_ENCRYPTED_KEY_MAX + 1];
    size_t restart_len;
    bool full;
    ts_err err;
};

/* The smallest key greater than every key starting with p: p with its last non-0xff byte
 * incremented and what follows dropped. Returns false when none exists (p is empty or all 0xff). */
static bool prefix_successor(const uint8_t *p, size_t len, uint8_t *out, size_t *out_len)
{
    while (len > 0 && p[len - 1] == 0xff) {
        len--;
    }
    if (len == 0) {
        return false;
    }
    memcpy(out, p, len);
    out[len - 1]++;
    *out_len = len;
    return true;
}

static Tessera__Metainfo__ObjectListItem *add_item(struct list_ctx *lc, const uint8_t *rel,
                                                   size_t rel_len)
{
    Tessera__Metainfo__ObjectListItem *it = sat_arena_alloc(lc->a, sizeof *it);
    if (it == NULL) {
        return NULL;
    }
    tessera__metainfo__object_list_item__init(it);
    it->encrypted_key = PB_BYTES(sat_arena_dup(lc->a, rel, rel_len), rel_len);
    if (it->encrypted_key.data == NULL) {
        return NULL;
    }
    lc->items[lc->count++] = it;
    lc->full = lc->count > lc->limit;
    return it;
}

static ts_err on_row(const struct sat_object *o, void *ctx, bool *stop)
{
    struct list_ctx *lc = ctx;
    const uint8_t *rel = o->key + lc->prefix_len;
    size_t rel_len = o->key_len - lc->prefix_len;
    memcpy(lc->last, o->key, o->key_len);
    lc->last_len = o->key_len;
    lc->rows++;
    const uint8_t *slash = lc->recursive ? NULL : memchr(rel, '/', rel_len);
    if (slash != NULL) {
        size_t dir_len = (size_t)(slash - rel) + 1;
        Tessera__Metainfo__ObjectListItem *it = add_item(lc, rel, dir_len);
        if (it == NULL) {
            return TS_ERR_NOMEM;
        }
        it->is_prefix = true;
        /* Everything below this prefix collapses into it: jump past it. */
        lc->restart =
            prefix_successor(o->key, lc->prefix_len + dir_len, lc->restart_key, &lc->restart_len);
        *stop = true;
        return TS_OK;
    }
    Tessera__Metainfo__ObjectListItem *it = add_item(lc, rel, rel_len);
    if (it == NULL) {
        return TS_ERR_NOMEM;
    }
    it->version = o->version;
    it->created_at = o->created_at;
    it->expires_at = o->expires_at;
    it->total_plain_size = o->total_plain_size;
    if (lc->with_metadata) {
        it->encrypted_metadata =
            PB_BYTES(sat_arena_dup(lc->a, o->metadata, o->metadata_len), o->metadata_len);
        it->encrypted_metadata_key = PB_BYTES(
            sat_arena_dup(lc->a, o->metadata_key, o->metadata_key_len), o->metadata_key_len);
        it->encrypted_metadata_nonce = PB_BYTES(
            sat_arena_dup(lc->a, o->metadata_nonce, o->metadata_nonce_len), o->metadata_nonce_len);
    }
    *stop = lc->full;
    return TS_OK;
}

struct scan_args {
    const uint8_t *project;
    ProtobufCBinaryData bucket;
    uint8_t *start;
    size_t start_len;
    bool exclusive;
    const uint8_t *end;
    size_t end_len;
    size_t batch;
    struct list_ctx *lc;
};

static ts_err scan_fn(struct ts_db_conn *c, void *ctx)
{
    struct scan_args *s = ctx;
    return sat_db_objects_scan(c, s->project, s->bucket.data, s->bucket.len, s->start, s->start_len,
                               s->exclusive, s->end, s->end_len, s->batch, on_row, s->lc);
}

/* Where the listing starts: after prefix+cursor, or after the collapsed prefix it names. */
static void start_key(const Tessera__Metainfo__ListObjectsRequest *req, struct scan_args *s)
{
    sat_mi_copy(s->start, req->prefix);
    sat_mi_copy(s->start + req->prefix.len, req->cursor);
    s->start_len = req->prefix.len + req->cursor.len;
    s->exclusive = req->cursor.len > 0;
    if (!req->recursive && req->cursor.len > 0 && req->cursor.data[req->cursor.len - 1] == '/') {
        size_t n = 0;
        if (prefix_successor(s->start, s->start_len, s->start, &n)) {
            s->start_len = n;
            s->exclusive = false;
        }
    }
}

static ts_err run_listing(struct sat_metainfo *m, struct scan_args *s, struct list_ctx *lc)
{
    ts_err err = TS_OK;
    /* Each pass either fills the page, ends the range, or skips one collapsed prefix; bound the
     * passes so a hostile layout cannot keep us looping (each pass makes progress anyway). */
    for (size_t pass = 0; err == TS_OK && pass < 4 * lc->limit + 16; pass++) {
        lc->rows = 0;
        lc->restart = false;
        err = ts_db_tx_read(m->db, scan_fn, s);
        if (err != TS_OK || lc->full) {
            break;
        }
        if (lc->restart) {
            memcpy(s->start, lc->restart_key, lc->restart_len);
            s->start_len = lc->restart_len;
            s->exclusive = false; /* past the range end the next scan finds no rows */
            continue;
        }
        if (lc->rows < s->batch) {
            break;
        }
        memcpy(s->start, lc->last, lc->last_len);
        s->start_len = lc->last_len;
        s->exclusive = true;
    }
    return err;
}

ts_err sat_metainfo_list_objects(struct sat_metainfo *m,
                                 const Tessera__Metainfo__ListObjectsRequest *req,
                                 Tessera__Metainfo__ListObjectsResponse *resp, struct sat_arena *a)
{
    struct sat_auth auth;
    ts_err err = sat_mi_auth(m, req->header, SAT_OP_LIST, req->bucket, req->prefix, &auth);
    if (err == TS_OK) {
        err = sat_mi_check_bucket_name(req->bucket);
    }
    if (err == TS_OK && (req->prefix.len + req->cursor.len > TS_ENCRYPTED_KEY_MAX)) {
        err = TS_ERR_TOO_LARGE;
    }
    if (err == TS_OK && !req->recursive && req->prefix.len > 0 &&
        req->prefix.data[req->prefix.len - 1] != '/') {
        err = TS_ERR_INVALID_ARGUMENT;
    }
    if (err != TS_OK) {
        return err;
    }
    size_t limit = (size_t)m->cfg->list_limit_max;
    if (req->limit > 0 && req->limit < limit) {
        limit = req->limit;
    }
    struct list_ctx *lc = calloc(1, sizeof *lc);
    uint8_t *start = malloc(TS_ENCRYPTED_KEY_MAX + 1);
    uint8_t end[TS_ENCRYPTED_KEY_MAX];
    size_t end_len = 0;
    bool bounded = prefix_successor(req->prefix.data, req->prefix.len, end, &end_len);
    struct scan_args s = {auth.project_id,      req->bucket, start,     0, false,
                          bounded ? end : NULL, end_len,     limit + 1, lc};
    if (lc == NULL || start == NULL) {
        err = TS_ERR_NOMEM;
    } else {
        *lc = (struct list_ctx){.a = a,
                                .prefix_len = req->prefix.len,
                                .recursive = req->recursive,
                                .with_metadata = req->include_metadata,
                                .limit = limit};
        lc->items = sat_arena_alloc(a, (limit + 1) * sizeof *lc->items);
        err = lc->items == NULL ? TS_ERR_NOMEM : TS_OK;
    }
    if (err == TS_OK) {
        start_key(req, &s);
        err = run_listing(m, &s, lc);
    }
    if (err == TS_OK) {
        resp->more = lc->full;
        resp->n_items = lc->full ? limit : lc->count;
        resp->items = lc->items;
    }
    free(start);
    free(lc);
    return err;
}
