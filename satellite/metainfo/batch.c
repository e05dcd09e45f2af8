/* Batch: several upload requests in one round trip (BeginObject + BeginSegment, CommitSegment +
 * CommitObject, ...). Items run in order under the batch's API key; an empty stream_id means the
 * stream of the previous BeginObject in the batch; the first failure ends the batch. */
#include <string.h>

#include "base/base.h"
#include "satellite/metainfo/internal.h"

/* Declares var, a zero-initialised response of type T from the arena (NULL when exhausted). */
#define RESP_NEW(T, var, init)                                                                     \
    T *var = sat_arena_alloc(a, sizeof(T));                                                        \
    if (var != NULL) {                                                                             \
        init(var);                                                                                 \
    }

static ts_err run_item(struct sat_metainfo *m, Tessera__Metainfo__RequestHeader *header,
                       const Tessera__Metainfo__BatchRequestItem *in,
                       Tessera__Metainfo__BatchResponseItem *out, ProtobufCBinaryData *stream,
                       struct sat_arena *a)
{
    ts_err err = TS_ERR_NOMEM;
    switch (in->request_case) {
    case TESSERA__METAINFO__BATCH_REQUEST_ITEM__REQUEST_BEGIN_OBJECT: {
        Tessera__Metainfo__BeginObjectRequest req = *in->begin_object;
        RESP_NEW(Tessera__Metainfo__BeginObjectResponse, r,
                 tessera__metainfo__begin_object_response__init)
        req.header = header;
        if (r != NULL && (err = sat_metainfo_begin_object(m, &req, r, a)) == TS_OK) {
            out->response_case = TESSERA__METAINFO__BATCH_RESPONSE_ITEM__RESPONSE_BEGIN_OBJECT;
            out->begin_object = r;
            *stream = r->stream_id;
        }
        break;
    }
    case TESSERA__METAINFO__BATCH_REQUEST_ITEM__REQUEST_BEGIN_SEGMENT: {
        Tessera__Metainfo__BeginSegmentRequest req = *in->begin_segment;
        RESP_NEW(Tessera__Metainfo__BeginSegmentResponse, r,
                 tessera__metainfo__begin_segment_response__init)
        req.header = header;
        req.stream_id = req.stream_id.len == 0 ? *stream : req.stream_id;
        if (r != NULL && (err = sat_metainfo_begin_segment(m, &req, r, a)) == TS_OK) {
            out->response_case = TESSERA__METAINFO__BATCH_RESPONSE_ITEM__RESPONSE_BEGIN_SEGMENT;
            out->begin_segment = r;
        }
        break;
    }
    case TESSERA__METAINFO__BATCH_REQUEST_ITEM__REQUEST_COMMIT_SEGMENT: {
        Tessera__Metainfo__CommitSegmentRequest req = *in->commit_segment;
        RESP_NEW(Tessera__Metainfo__CommitSegmentResponse, r,
                 tessera__metainfo__commit_segment_response__init)
        req.header = header;
        if (r != NULL && (err = sat_metainfo_commit_segment(m, &req, r, a)) == TS_OK) {
            out->response_case = TESSERA__METAINFO__BATCH_RESPONSE_ITEM__RESPONSE_COMMIT_SEGMENT;
            out->commit_segment = r;
        }
        break;
    }
    case TESSERA__METAINFO__BATCH_REQUEST_ITEM__REQUEST_MAKE_INLINE_SEGMENT: {
        Tessera__Metainfo__MakeInlineSegmentRequest req = *in->make_inline_segment;
        RESP_NEW(Tessera__Metainfo__MakeInlineSegmentResponse, r,
                 tessera__metainfo__make_inline_segment_response__init)
        req.header = header;
        req.stream_id = req.stream_id.len == 0 ? *stream : req.stream_id;
        if (r != NULL && (err = sat_metainfo_make_inline_segment(m, &req, r, a)) == TS_OK) {
            out->response_case =
                TESSERA__METAINFO__BATCH_RESPONSE_ITEM__RESPONSE_MAKE_INLINE_SEGMENT;
            out->make_inline_segment = r;
        }
        break;
    }
    case TESSERA__METAINFO__BATCH_REQUEST_ITEM__REQUEST_COMMIT_OBJECT: {
        Tessera__Metainfo__CommitObjectRequest req = *in->commit_object;
        RESP_NEW(Tessera__Metainfo__CommitObjectResponse, r,
                 tessera__metainfo__commit_object_response__init)
        req.header = header;
        req.stream_id = req.stream_id.len == 0 ? *stream : req.stream_id;
        if (r != NULL && (err = sat_metainfo_commit_object(m, &req, r, a)) == TS_OK) {
            out->response_case = TESSERA__METAINFO__BATCH_RESPONSE_ITEM__RESPONSE_COMMIT_OBJECT;
            out->commit_object = r;
        }
        break;
    }
    default:
        err = TS_ERR_INVALID_ARGUMENT;
        break;
    }
    return err;
}

ts_err sat_metainfo_batch(struct sat_metainfo *m, const Tessera__Metainfo__BatchRequest *req,
                          Tessera__Metainfo__BatchResponse *resp, struct sat_arena *a)
{
    if (req->header == NULL) {
        return TS_ERR_AUTH_FAILED;
    }
    if (req->n_items == 0 || req->n_items > SAT_BATCH_ITEMS_MAX) {
        return req->n_items == 0 ? TS_ERR_INVALID_ARGUMENT : TS_ERR_TOO_LARGE;
    }
    ProtobufCBinaryData stream = {0, NULL};
    resp->items = sat_arena_alloc(a, req->n_items * sizeof *resp->items);
    if (resp->items == NULL) {
        return TS_ERR_NOMEM;
    }
    /* A batch takes one rate-limit token: the first item's authorisation takes it, the others
     * run against a copy without the limiter. */
    struct sat_metainfo unlimited = *m;
    unlimited.limiter = NULL;
    ts_err err = TS_OK;
    for (size_t i = 0; err == TS_OK && i < req->n_items; i++) {
        Tessera__Metainfo__BatchResponseItem *out = sat_arena_alloc(a, sizeof *out);
        if (out == NULL || req->items[i] == NULL) {
            err = out == NULL ? TS_ERR_NOMEM : TS_ERR_MALFORMED;
            break;
        }
        tessera__metainfo__batch_response_item__init(out);
        err = run_item(i == 0 ? m : &unlimited, req->header, req->items[i], out, &stream, a);
        if (err == TS_OK) {
            resp->items[resp->n_items++] = out;
        }
    }
    ts_wipe(unlimited.id_key, sizeof unlimited.id_key);
    return err;
}
