/* core/rpc glue for the Metainfo service: every method is unary (one request, one response);
 * the response is built in a request arena and freed after sending. */
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "rpc/rpc.h"
#include "satellite/metainfo/endpoint.h"
#include "satellite/metainfo/metainfo.h"

/* A request refused by the per-project rate limit says so (BUSY alone could be the DB). */
static void send_rate_limited(struct ts_rpc_stream *s, ts_err err)
{
    if (sat_mi_rate_limited_take() && err == TS_ERR_BUSY) {
        /* Best effort: when the frame cannot be sent the handler's code still goes out. */
        ts_err sent = ts_rpc_stream_send_error(s, err,
                                               "rate limited: too many requests for this "
                                               "project, retry later");
        (void)sent;
    }
}

/* Receives the request, runs fn, sends the response. Errors travel to the client as error
 * frames (the handler's return value). */
#define UNARY(name, Req, Resp, req_desc, resp_init, fn)                                            \
    static ts_err h_##name(struct ts_rpc_stream *s, void *ctx)                                     \
    {                                                                                              \
        struct sat_metainfo *m = ctx;                                                              \
        ProtobufCMessage *in = NULL;                                                               \
        ts_err err = ts_rpc_stream_recv(s, &(req_desc), &in);                                      \
        if (err != TS_OK) {                                                                        \
            return err == TS_ERR_END_OF_STREAM ? TS_ERR_PROTOCOL : err;                            \
        }                                                                                          \
        struct sat_arena a;                                                                        \
        sat_arena_init(&a, SAT_ARENA_MAX_DEFAULT);                                                 \
        Resp resp;                                                                                 \
        resp_init(&resp);                                                                          \
        err = fn(m, (const Req *)in, &resp, &a);                                                   \
        if (err == TS_OK) {                                                                        \
            err = ts_rpc_stream_send(s, &resp.base);                                               \
        } else {                                                                                   \
            ts_log_debug("satellite.metainfo", "%s failed: %s", #name, ts_errname(err));           \
            send_rate_limited(s, err);                                                             \
        }                                                                                          \
        sat_arena_release(&a);                                                                     \
        protobuf_c_message_free_unpacked(in, NULL);                                                \
        return err;                                                                                \
    }

#define MI(x) Tessera__Metainfo__##x
UNARY(create_bucket, MI(CreateBucketRequest), MI(CreateBucketResponse),
      tessera__metainfo__create_bucket_request__descriptor,
      tessera__metainfo__create_bucket_response__init, sat_metainfo_create_bucket)
UNARY(get_bucket, MI(GetBucketRequest), MI(GetBucketResponse),
      tessera__metainfo__get_bucket_request__descriptor,
      tessera__metainfo__get_bucket_response__init, sat_metainfo_get_bucket)
UNARY(list_buckets, MI(ListBucketsRequest), MI(ListBucketsResponse),
      tessera__metainfo__list_buckets_request__descriptor,
      tessera__metainfo__list_buckets_response__init, sat_metainfo_list_buckets)
UNARY(delete_bucket, MI(DeleteBucketRequest), MI(DeleteBucketResponse),
      tessera__metainfo__delete_bucket_request__descriptor,
      tessera__metainfo__delete_bucket_response__init, sat_metainfo_delete_bucket)
UNARY(begin_object, MI(BeginObjectRequest), MI(BeginObjectResponse),
      tessera__metainfo__begin_object_request__descriptor,
      tessera__metainfo__begin_object_response__init, sat_metainfo_begin_object)
UNARY(begin_segment, MI(BeginSegmentRequest), MI(BeginSegmentResponse),
      tessera__metainfo__begin_segment_request__descriptor,
      tessera__metainfo__begin_segment_response__init, sat_metainfo_begin_segment)
UNARY(commit_segment, MI(CommitSegmentRequest), MI(CommitSegmentResponse),
      tessera__metainfo__commit_segment_request__descriptor,
      tessera__metainfo__commit_segment_response__init, sat_metainfo_commit_segment)
UNARY(make_inline_segment, MI(MakeInlineSegmentRequest), MI(MakeInlineSegmentResponse),
      tessera__metainfo__make_inline_segment_request__descriptor,
      tessera__metainfo__make_inline_segment_response__init, sat_metainfo_make_inline_segment)
UNARY(commit_object, MI(CommitObjectRequest), MI(CommitObjectResponse),
      tessera__metainfo__commit_object_request__descriptor,
      tessera__metainfo__commit_object_response__init, sat_metainfo_commit_object)
UNARY(get_object, MI(GetObjectRequest), MI(GetObjectResponse),
      tessera__metainfo__get_object_request__descriptor,
      tessera__metainfo__get_object_response__init, sat_metainfo_get_object)
UNARY(download_object, MI(DownloadObjectRequest), MI(DownloadObjectResponse),
      tessera__metainfo__download_object_request__descriptor,
      tessera__metainfo__download_object_response__init, sat_metainfo_download_object)
UNARY(list_objects, MI(ListObjectsRequest), MI(ListObjectsResponse),
      tessera__metainfo__list_objects_request__descriptor,
      tessera__metainfo__list_objects_response__init, sat_metainfo_list_objects)
UNARY(delete_object, MI(DeleteObjectRequest), MI(DeleteObjectResponse),
      tessera__metainfo__delete_object_request__descriptor,
      tessera__metainfo__delete_object_response__init, sat_metainfo_delete_object)
UNARY(project_info, MI(ProjectInfoRequest), MI(ProjectInfoResponse),
      tessera__metainfo__project_info_request__descriptor,
      tessera__metainfo__project_info_response__init, sat_metainfo_project_info)
UNARY(revoke_api_key, MI(RevokeAPIKeyRequest), MI(RevokeAPIKeyResponse),
      tessera__metainfo__revoke_apikey_request__descriptor,
      tessera__metainfo__revoke_apikey_response__init, sat_metainfo_revoke_api_key)
UNARY(batch, MI(BatchRequest), MI(BatchResponse), tessera__metainfo__batch_request__descriptor,
      tessera__metainfo__batch_response__init, sat_metainfo_batch)
UNARY(list_parts, MI(ListPartsRequest), MI(ListPartsResponse),
      tessera__metainfo__list_parts_request__descriptor,
      tessera__metainfo__list_parts_response__init, sat_metainfo_list_parts)
UNARY(list_pending_objects, MI(ListPendingObjectsRequest), MI(ListPendingObjectsResponse),
      tessera__metainfo__list_pending_objects_request__descriptor,
      tessera__metainfo__list_pending_objects_response__init, sat_metainfo_list_pending_objects)
UNARY(delete_pending_object, MI(DeletePendingObjectRequest), MI(DeletePendingObjectResponse),
      tessera__metainfo__delete_pending_object_request__descriptor,
      tessera__metainfo__delete_pending_object_response__init, sat_metainfo_delete_pending_object)
UNARY(begin_copy_object, MI(BeginCopyObjectRequest), MI(BeginCopyObjectResponse),
      tessera__metainfo__begin_copy_object_request__descriptor,
      tessera__metainfo__begin_copy_object_response__init, sat_metainfo_begin_copy_object)
UNARY(finish_copy_object, MI(FinishCopyObjectRequest), MI(FinishCopyObjectResponse),
      tessera__metainfo__finish_copy_object_request__descriptor,
      tessera__metainfo__finish_copy_object_response__init, sat_metainfo_finish_copy_object)
UNARY(begin_move_object, MI(BeginMoveObjectRequest), MI(BeginMoveObjectResponse),
      tessera__metainfo__begin_move_object_request__descriptor,
      tessera__metainfo__begin_move_object_response__init, sat_metainfo_begin_move_object)
UNARY(finish_move_object, MI(FinishMoveObjectRequest), MI(FinishMoveObjectResponse),
      tessera__metainfo__finish_move_object_request__descriptor,
      tessera__metainfo__finish_move_object_response__init, sat_metainfo_finish_move_object)
UNARY(update_object_metadata, MI(UpdateObjectMetadataRequest), MI(UpdateObjectMetadataResponse),
      tessera__metainfo__update_object_metadata_request__descriptor,
      tessera__metainfo__update_object_metadata_response__init, sat_metainfo_update_object_metadata)
UNARY(retry_begin_segment_pieces, MI(RetryBeginSegmentPiecesRequest),
      MI(RetryBeginSegmentPiecesResponse),
      tessera__metainfo__retry_begin_segment_pieces_request__descriptor,
      tessera__metainfo__retry_begin_segment_pieces_response__init,
      sat_metainfo_retry_begin_segment_pieces)
#undef MI

static const struct {
    const char *method;
    ts_rpc_handler handler;
} METHODS[] = {
    {SAT_METAINFO_METHOD("CreateBucket"), h_create_bucket},
    {SAT_METAINFO_METHOD("GetBucket"), h_get_bucket},
    {SAT_METAINFO_METHOD("ListBuckets"), h_list_buckets},
    {SAT_METAINFO_METHOD("DeleteBucket"), h_delete_bucket},
    {SAT_METAINFO_METHOD("BeginObject"), h_begin_object},
    {SAT_METAINFO_METHOD("BeginSegment"), h_begin_segment},
    {SAT_METAINFO_METHOD("CommitSegment"), h_commit_segment},
    {SAT_METAINFO_METHOD("MakeInlineSegment"), h_make_inline_segment},
    {SAT_METAINFO_METHOD("CommitObject"), h_commit_object},
    {SAT_METAINFO_METHOD("GetObject"), h_get_object},
    {SAT_METAINFO_METHOD("DownloadObject"), h_download_object},
    {SAT_METAINFO_METHOD("ListObjects"), h_list_objects},
    {SAT_METAINFO_METHOD("DeleteObject"), h_delete_object},
    {SAT_METAINFO_METHOD("ProjectInfo"), h_project_info},
    {SAT_METAINFO_METHOD("RevokeAPIKey"), h_revoke_api_key},
    {SAT_METAINFO_METHOD("Batch"), h_batch},
    {SAT_METAINFO_METHOD("ListParts"), h_list_parts},
    {SAT_METAINFO_METHOD("ListPendingObjects"), h_list_pending_objects},
    {SAT_METAINFO_METHOD("DeletePendingObject"), h_delete_pending_object},
    {SAT_METAINFO_METHOD("BeginCopyObject"), h_begin_copy_object},
    {SAT_METAINFO_METHOD("FinishCopyObject"), h_finish_copy_object},
    {SAT_METAINFO_METHOD("BeginMoveObject"), h_begin_move_object},
    {SAT_METAINFO_METHOD("FinishMoveObject"), h_finish_move_object},
    {SAT_METAINFO_METHOD("UpdateObjectMetadata"), h_update_object_metadata},
    {SAT_METAINFO_METHOD("RetryBeginSegmentPieces"), h_retry_begin_segment_pieces},
};

ts_err sat_metainfo_register(struct ts_rpc_server *srv, struct sat_metainfo *m)
{
    for (size_t i = 0; i < TS_ARRAY_LEN(METHODS); i++) {
        ts_err err = ts_rpc_server_register(srv, METHODS[i].method, METHODS[i].handler, m);
        if (err != TS_OK) {
            return err;
        }
    }
    return TS_OK;
}
