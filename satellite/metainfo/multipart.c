/* Multipart uploads: ListParts, ListPendingObjects, DeletePendingObject (abort), and the part
 * checks of a multipart CommitObject. A part is the run of segments at positions
 * (part << 32 | 0..); its last segment carries the encrypted ETag, which marks it complete. */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "satellite/metainfo/internal.h"

#define LOG "satellite.metainfo"
#define PART_OF(pos) ((uint32_t)((uint64_t)(pos) >> 32))

/* ---- Assembly (CommitObject) ---- */

struct assemble_ctx {
    uint8_t *listed; /* [SAT_PARTS_MAX + 1]: 1 listed, 2 listed and found complete */
    uint32_t last;   /* the last listed part (no size minimum) */
    int64_t size_min;
    uint32_t cur; /* part being summed (0 = none yet) */
    int64_t cur_size;
    bool cur_complete;
    uint32_t *drop; /* unlisted parts to delete */
    size_t drop_count;
    ts_err err; /* first part rule broken */
};

static void part_close(struct assemble_ctx *ac)
{
    if (ac->cur == 0) {
        return;
    }
    if (ac->listed[ac->cur] == 0) {
        ac->drop[ac->drop_count++] = ac->cur;
        return;
    }
    if (!ac->cur_complete) {
        return; /* reported below as missing */
    }
    if (ac->cur != ac->last && ac->cur_size < ac->size_min && ac->err == TS_OK) {
        ts_log_info(LOG, "multipart commit refused: part %u has %lld bytes, minimum %lld", ac->cur,
                    (long long)ac->cur_size, (long long)ac->size_min);
        ac->err = TS_ERR_TOO_SMALL;
    }
    ac->listed[ac->cur] = 2;
}

static ts_err assemble_fn(const struct sat_segment_brief *s, void *ctx, bool *stop)
{
    struct assemble_ctx *ac = ctx;
    uint32_t part = PART_OF(s->position);
    (void)stop;
    if (part == 0 || part > SAT_PARTS_MAX) {
        return TS_ERR_MALFORMED; /* BeginSegment never allows this */
    }
    if (part != ac->cur) {
        part_close(ac);
        ac->cur = part;
        ac->cur_size = 0;
    }
    ac->cur_size += s->plain_size;
    ac->cur_complete = s->etag_len > 0; /* only the last segment's flag counts */
    return TS_OK;
}

ts_err sat_mi_parts_assemble(struct ts_db_conn *c, const uint8_t stream_id[SAT_ID_SIZE],
                             const uint32_t *parts, size_t count, int64_t part_size_min)
{
    if (count == 0 || count > SAT_PARTS_MAX) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    struct assemble_ctx ac = {.listed = calloc(SAT_PARTS_MAX + 1, 1),
                              .drop = calloc(SAT_PARTS_MAX + 1, sizeof(uint32_t)),
                              .last = parts[count - 1],
                              .size_min = part_size_min};
    ts_err err = ac.listed == NULL || ac.drop == NULL ? TS_ERR_NOMEM : TS_OK;
    for (size_t i = 0; err == TS_OK && i < count; i++) {
        if (parts[i] < 1 || parts[i] > SAT_PARTS_MAX || (i > 0 && parts[i] <= parts[i - 1])) {
            err = TS_ERR_INVALID_ARGUMENT; /* S3 InvalidPartOrder */
        } else {
            ac.listed[parts[i]] = 1;
        }
    }
    if (err == TS_OK) {
        err = sat_db_segments_scan_brief(c, stream_id, 0, INT64_MAX, assemble_fn, &ac);
    }
    if (err == TS_OK) {
        part_close(&ac);
        err = ac.err;
    }
    for (size_t i = 0; err == TS_OK && i < count; i++) {
        if (ac.listed[parts[i]] != 2) {
            ts_log_info(LOG, "multipart commit refused: part %u missing or incomplete", parts[i]);
            err = TS_ERR_INVALID_ARGUMENT; /* S3 InvalidPart */
        }
    }
    for (size_t i = 0; err == TS_OK && i < ac.drop_count; i++) {
        int64_t from = (int64_t)ac.drop[i] << 32;
        err = sat_db_segments_delete_range(c, stream_id, from, from | 0xffffffff, NULL);
    }
    free(ac.listed);
    free(ac.drop);
    return err;
}

/* ---- ListParts ---- */

struct parts_ctx {
    Tessera__Metainfo__ListPartsResponse *resp;
    struct sat_arena *a;
    size_t limit;
    Tessera__Metainfo__PartInfo cur;
    ts_err err;
};

/* Emits the part being summed if it is complete. */
static void parts_emit(struct parts_ctx *pc)
{
    if (pc->cur.part_number == 0 || pc->cur.encrypted_etag.len == 0 || pc->err != TS_OK) {
        return;
    }
    Tessera__Metainfo__PartInfo *p = sat_arena_alloc(pc->a, sizeof *p);
    uint8_t *etag = sat_arena_dup(pc->a, pc->cur.encrypted_etag.data, pc->cur.encrypted_etag.len);
    if (p == NULL || etag == NULL) {
        pc->err = TS_ERR_NOMEM;
        return;
    }
    *p = pc->cur;
    p->encrypted_etag = PB_BYTES(etag, pc->cur.encrypted_etag.len);
    pc->resp->items[pc->resp->n_items++] = p;
}

static ts_err parts_fn(const struct sat_segment_brief *s, void *ctx, bool *stop)
{
    struct parts_ctx *pc = ctx;
    uint32_t part = PART_OF(s->position);
    if (part != pc->cur.part_number) {
        parts_emit(pc);
        if (pc->resp->n_items == pc->limit) {
            pc->resp->more = true;
            *stop = true;
            return pc->err;
        }
        tessera__metainfo__part_info__init(&pc->cur);
        pc->cur.part_number = part;
    }
    pc->cur.plain_size += s->plain_size;
    pc->cur.segment_count++;
    pc->cur.created_at = s->created_at;
    /* The ETag is the last segment's; the scan's buffer is reused, so point at a copy. */
    pc->cur.encrypted_etag = PB_BYTES(NULL, 0);
    if (s->etag_len > 0) {
        uint8_t *etag = sat_arena_dup(pc->a, s->etag, s->etag_len);
        if (etag == NULL) {
            return TS_ERR_NOMEM;
        }
        pc->cur.encrypted_etag = PB_BYTES(etag, s->etag_len);
    }
    return pc->err;
}

struct parts_tx {
    const uint8_t *stream_id;
    int64_t from;
    struct parts_ctx *pc;
};

static ts_err parts_tx_fn(struct ts_db_conn *c, void *ctx)
{
    struct parts_tx *t = ctx;
    struct sat_object *o = malloc(sizeof *o);
    ts_err err = o == NULL ? TS_ERR_NOMEM : sat_db_object_get_by_stream(c, t->stream_id, o);
    if (err == TS_OK && o->status != SAT_OBJECT_PENDING) {
        err = TS_ERR_NOT_FOUND; /* completed or aborted: no such upload */
    }
    free(o);
    if (err == TS_OK) {
        err = sat_db_segments_scan_brief(c, t->stream_id, t->from, INT64_MAX, parts_fn, t->pc);
    }
    if (err == TS_OK && !t->pc->resp->more) {
        parts_emit(t->pc);
    }
    return err == TS_OK ? t->pc->err : err;
}

ts_err sat_metainfo_list_parts(struct sat_metainfo *m,
                               const Tessera__Metainfo__ListPartsRequest *req,
                               Tessera__Metainfo__ListPartsResponse *resp, struct sat_arena *a)
{
    struct sat_auth auth;
    Tessera__Metainfo__StreamID *sid = NULL;
    ts_err err = sat_mi_stream_open(m, req->header, req->stream_id, &sid, &auth);
    if (err != TS_OK) {
        return err;
    }
    size_t limit = req->limit == 0 || req->limit > SAT_LIST_PARTS_DEFAULT ? SAT_LIST_PARTS_DEFAULT
                                                                          : req->limit;
    struct parts_ctx pc = {.resp = resp, .a = a, .limit = limit};
    tessera__metainfo__part_info__init(&pc.cur);
    if (!sid->multipart || req->cursor >= SAT_PARTS_MAX) {
        err = sid->multipart ? TS_OK : TS_ERR_INVALID_ARGUMENT;
    } else {
        resp->items = sat_arena_alloc(a, (limit + 1) * sizeof *resp->items);
        struct parts_tx t = {sid->stream_id.data, (int64_t)(req->cursor + 1) << 32, &pc};
        err = resp->items == NULL ? TS_ERR_NOMEM : ts_db_tx_read(m->db, parts_tx_fn, &t);
    }
    protobuf_c_message_free_unpacked(&sid->base, NULL);
    return err;
}

/* ---- ListPendingObjects ---- */

struct pending_ctx {
    struct sat_metainfo *m;
    Tessera__Metainfo__ListPendingObjectsResponse *resp;
    struct sat_arena *a;
    size_t limit;
    int64_t placement;
    ts_err err;
};

static ts_err pending_fn(const struct sat_object *o, void *ctx, bool *stop)
{
    struct pending_ctx *pc = ctx;
    if (pc->resp->n_items == pc->limit) {
        pc->resp->more = true;
        *stop = true;
        return TS_OK;
    }
    Tessera__Metainfo__PendingObject *p = sat_arena_alloc(pc->a, sizeof *p);
    if (p == NULL) {
        return TS_ERR_NOMEM;
    }
    tessera__metainfo__pending_object__init(p);
    p->encrypted_key = PB_BYTES(sat_arena_dup(pc->a, o->key, o->key_len), o->key_len);
    p->version = o->version;
    p->created_at = o->created_at;
    p->expires_at = o->expires_at;
    p->encrypted_metadata =
        PB_BYTES(sat_arena_dup(pc->a, o->metadata, o->metadata_len), o->metadata_len);
    p->encrypted_metadata_key =
        PB_BYTES(sat_arena_dup(pc->a, o->metadata_key, o->metadata_key_len), o->metadata_key_len);
    p->encrypted_metadata_nonce = PB_BYTES(
        sat_arena_dup(pc->a, o->metadata_nonce, o->metadata_nonce_len), o->metadata_nonce_len);
    if (p->encrypted_key.data == NULL || p->encrypted_metadata.data == NULL ||
        p->encrypted_metadata_key.data == NULL || p->encrypted_metadata_nonce.data == NULL) {
        return TS_ERR_NOMEM;
    }
    ts_err err = sat_mi_stream_id_sign(pc->m, o, pc->placement, pc->a, &p->stream_id);
    if (err == TS_OK) {
        pc->resp->items[pc->resp->n_items++] = p;
    }
    return err;
}

struct pending_tx {
    const uint8_t *project;
    const Tessera__Metainfo__ListPendingObjectsRequest *req;
    struct pending_ctx *pc;
};

static ts_err pending_tx_fn(struct ts_db_conn *c, void *ctx)
{
    struct pending_tx *t = ctx;
    struct sat_bucket b;
    ts_err err = sat_db_bucket_get(c, t->project, t->req->bucket.data, t->req->bucket.len, &b);
    if (err == TS_OK) {
        t->pc->placement = b.placement;
        err = sat_db_objects_pending_scan(
            c, t->project, t->req->bucket.data, t->req->bucket.len, t->req->prefix.data,
            t->req->prefix.len, t->req->cursor_key.data, t->req->cursor_key.len,
            t->req->cursor_version, t->pc->limit + 1, pending_fn, t->pc);
    }
    return err;
}

ts_err sat_metainfo_list_pending_objects(struct sat_metainfo *m,
                                         const Tessera__Metainfo__ListPendingObjectsRequest *req,
                                         Tessera__Metainfo__ListPendingObjectsResponse *resp,
                                         struct sat_arena *a)
{
    struct sat_auth auth;
    ts_err err = sat_mi_auth(m, req->header, SAT_OP_LIST, req->bucket, req->prefix, &auth);
    if (err == TS_OK) {
        err = sat_mi_check_bucket_name(req->bucket);
    }
    if (err == TS_OK &&
        (req->prefix.len > TS_ENCRYPTED_KEY_MAX || req->cursor_key.len > TS_ENCRYPTED_KEY_MAX)) {
        err = TS_ERR_TOO_LARGE;
    }
    if (err == TS_OK && req->prefix.len > 0 && req->prefix.data[req->prefix.len - 1] != '/') {
        err = TS_ERR_INVALID_ARGUMENT;
    }
    if (err != TS_OK) {
        return err;
    }
    int64_t max = m->cfg->list_limit_max > 0 ? m->cfg->list_limit_max : 1000;
    size_t limit = req->limit == 0 || req->limit > max ? (size_t)max : req->limit;
    struct pending_ctx pc = {.m = m, .resp = resp, .a = a, .limit = limit};
    resp->items = sat_arena_alloc(a, (limit + 1) * sizeof *resp->items);
    if (resp->items == NULL) {
        return TS_ERR_NOMEM;
    }
    struct pending_tx t = {auth.project_id, req, &pc};
    return ts_db_tx_read(m->db, pending_tx_fn, &t);
}

/* ---- DeletePendingObject (abort) ---- */

struct abort_ctx {
    const uint8_t *stream_id;
    int64_t segments;
};

static ts_err abort_fn(struct ts_db_conn *c, void *ctx)
{
    struct abort_ctx *ac = ctx;
    return sat_db_object_delete_pending(c, ac->stream_id, &ac->segments);
}

ts_err sat_metainfo_delete_pending_object(struct sat_metainfo *m,
                                          const Tessera__Metainfo__DeletePendingObjectRequest *req,
                                          Tessera__Metainfo__DeletePendingObjectResponse *resp,
                                          struct sat_arena *a)
{
    struct sat_auth auth;
    Tessera__Metainfo__StreamID *sid = NULL;
    (void)a;
    ts_err err = sat_mi_stream_open(m, req->header, req->stream_id, &sid, &auth);
    if (err != TS_OK) {
        return err;
    }
    struct abort_ctx ac = {sid->stream_id.data, 0};
    err = ts_db_tx(m->db, abort_fn, &ac);
    if (err == TS_OK) {
        resp->deleted_segments = (uint32_t)ac.segments;
    }
    protobuf_c_message_free_unpacked(&sid->base, NULL);
    return err;
}
