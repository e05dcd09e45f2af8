/*
 * Metainfo: the satellite's bucket / object / segment service (proto/metainfo.proto, flows in
 * docs/satellite.md). Each RPC is a function taking the decoded request and filling the response
 * from the request arena, so tests call them in-process and endpoint.c only glues them to
 * core/rpc. Every function authorises the request's API key for its action BEFORE any other work.
 *
 * The upload protocol is stateless between BeginSegment and CommitSegment: stream and segment IDs
 * are protobufs MAC'd with the satellite's id key (HMAC-SHA256), so the satellite stores only the
 * pending object row until segments commit. Errors are ts_err codes (they travel in RPC error
 * frames): AUTH_FAILED / REVOKED / PERMISSION_DENIED / EXPIRED for keys, INVALID_ARGUMENT and
 * TOO_LARGE for bad fields, NOT_FOUND, EXISTS, NOT_EMPTY, UNAVAILABLE (not enough nodes),
 * NOT_ENOUGH_SHARES (too few valid receipts or reachable pieces).
 */
#ifndef SAT_METAINFO_METAINFO_H
#define SAT_METAINFO_METAINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "db/db.h"
#include "identity/identity.h"
#include "metainfo.pb-c.h"
#include "satellite/arena.h"
#include "satellite/config.h"
#include "satellite/db/satdb.h"
#include "satellite/overlay/overlay.h"

#define SAT_ID_KEY_SIZE 32
/* A signed stream or segment ID the uplink hands back (110 pieces with IDs are ~4.5 KB). */
#define SAT_SIGNED_ID_MAX (16u * 1024)
/* Requests per Batch. */
#define SAT_BATCH_ITEMS_MAX 16
/* Segments per DownloadObject response unless the request asks for fewer. */
#define SAT_DOWNLOAD_SEGMENTS_DEFAULT 16
#define SAT_DOWNLOAD_SEGMENTS_MAX 64
/* Buckets per ListBuckets page. */
#define SAT_LIST_BUCKETS_MAX 1000
/* Multipart: part numbers 1..SAT_PARTS_MAX (S3's limit); parts per ListParts page. */
#define SAT_PARTS_MAX 10000
#define SAT_LIST_PARTS_DEFAULT 1000
/* Segments a server-side copy or move re-wraps in one call (the keys travel in one message:
 * ~100 bytes each, so 10,000 stay well under the 4 MiB RPC frame). Larger objects are refused
 * with TOO_LARGE. */
#define SAT_COPY_SEGMENTS_MAX 10000
/* A copy/move ticket must be finished within this. */
#define SAT_COPY_TICKET_TTL_S 3600
/* RetryBeginSegmentPieces calls per segment, and nodes excluded by them in total. */
#define SAT_SEGMENT_RETRIES_MAX 16
#define SAT_SEGMENT_EXCLUDED_MAX 64

struct sat_metainfo {
    struct ts_db *db;                   /* borrowed */
    const struct sat_config *cfg;       /* borrowed */
    const struct ts_identity *identity; /* the satellite's; signs order limits */
    struct sat_overlay *overlay;        /* borrowed */
    uint8_t id_key[SAT_ID_KEY_SIZE];    /* MACs stream and segment IDs */
    struct sat_mi_limiter *limiter;     /* per-project request rate; NULL = unlimited */
};

/* ---- Per-project request rate (token bucket, ratelimit.c) ----
 * Every authorised request (a Batch counts once) takes a token from its project's bucket, which
 * holds at most rate tokens and refills at rate per second. Past it the request fails with
 * TS_ERR_BUSY before any work ("rate limited" in the error frame). Projects live in a fixed
 * 4-way set-associative table (4096 entries, least recently used evicted, an evicted project
 * starts again with a full bucket), so memory is bounded whatever the number of projects. */
TS_WARN_UNUSED ts_err sat_mi_limiter_new(int64_t rate_per_s, struct sat_mi_limiter **out);
void sat_mi_limiter_free(struct sat_mi_limiter *l);
/* Takes one token for project at now_ms: TS_OK or TS_ERR_BUSY. NULL limiter: always TS_OK. */
TS_WARN_UNUSED ts_err sat_mi_limiter_take(struct sat_mi_limiter *l,
                                          const uint8_t project[SAT_ID_SIZE], int64_t now_ms);
/* True (once) when the calling thread's last failure was a rate limit (endpoint error text). */
bool sat_mi_rate_limited_take(void);

/* ---- Buckets ---- */
TS_WARN_UNUSED ts_err sat_metainfo_create_bucket(struct sat_metainfo *m,
                                                 const Tessera__Metainfo__CreateBucketRequest *req,
                                                 Tessera__Metainfo__CreateBucketResponse *resp,
                                                 struct sat_arena *a);
TS_WARN_UNUSED ts_err sat_metainfo_get_bucket(struct sat_metainfo *m,
                                              const Tessera__Metainfo__GetBucketRequest *req,
                                              Tessera__Metainfo__GetBucketResponse *resp,
                                              struct sat_arena *a);
TS_WARN_UNUSED ts_err sat_metainfo_list_buckets(struct sat_metainfo *m,
                                                const Tessera__Metainfo__ListBucketsRequest *req,
                                                Tessera__Metainfo__ListBucketsResponse *resp,
                                                struct sat_arena *a);
TS_WARN_UNUSED ts_err sat_metainfo_delete_bucket(struct sat_metainfo *m,
                                                 const Tessera__Metainfo__DeleteBucketRequest *req,
                                                 Tessera__Metainfo__DeleteBucketResponse *resp,
                                                 struct sat_arena *a);

/* ---- Upload ---- */
TS_WARN_UNUSED ts_err sat_metainfo_begin_object(struct sat_metainfo *m,
                                                const Tessera__Metainfo__BeginObjectRequest *req,
                                                Tessera__Metainfo__BeginObjectResponse *resp,
                                                struct sat_arena *a);
TS_WARN_UNUSED ts_err sat_metainfo_begin_segment(struct sat_metainfo *m,
                                                 const Tessera__Metainfo__BeginSegmentRequest *req,
                                                 Tessera__Metainfo__BeginSegmentResponse *resp,
                                                 struct sat_arena *a);
TS_WARN_UNUSED ts_err sat_metainfo_commit_segment(
    struct sat_metainfo *m, const Tessera__Metainfo__CommitSegmentRequest *req,
    Tessera__Metainfo__CommitSegmentResponse *resp, struct sat_arena *a);
TS_WARN_UNUSED ts_err sat_metainfo_make_inline_segment(
    struct sat_metainfo *m, const Tessera__Metainfo__MakeInlineSegmentRequest *req,
    Tessera__Metainfo__MakeInlineSegmentResponse *resp, struct sat_arena *a);
TS_WARN_UNUSED ts_err sat_metainfo_commit_object(struct sat_metainfo *m,
                                                 const Tessera__Metainfo__CommitObjectRequest *req,
                                                 Tessera__Metainfo__CommitObjectResponse *resp,
                                                 struct sat_arena *a);

/* ---- Read, list, delete ---- */
TS_WARN_UNUSED ts_err sat_metainfo_get_object(struct sat_metainfo *m,
                                              const Tessera__Metainfo__GetObjectRequest *req,
                                              Tessera__Metainfo__GetObjectResponse *resp,
                                              struct sat_arena *a);
TS_WARN_UNUSED ts_err sat_metainfo_download_object(
    struct sat_metainfo *m, const Tessera__Metainfo__DownloadObjectRequest *req,
    Tessera__Metainfo__DownloadObjectResponse *resp, struct sat_arena *a);
TS_WARN_UNUSED ts_err sat_metainfo_list_objects(struct sat_metainfo *m,
                                                const Tessera__Metainfo__ListObjectsRequest *req,
                                                Tessera__Metainfo__ListObjectsResponse *resp,
                                                struct sat_arena *a);
TS_WARN_UNUSED ts_err sat_metainfo_delete_object(struct sat_metainfo *m,
                                                 const Tessera__Metainfo__DeleteObjectRequest *req,
                                                 Tessera__Metainfo__DeleteObjectResponse *resp,
                                                 struct sat_arena *a);

/* ---- Project and keys ---- */
TS_WARN_UNUSED ts_err sat_metainfo_project_info(struct sat_metainfo *m,
                                                const Tessera__Metainfo__ProjectInfoRequest *req,
                                                Tessera__Metainfo__ProjectInfoResponse *resp,
                                                struct sat_arena *a);
TS_WARN_UNUSED ts_err sat_metainfo_revoke_api_key(struct sat_metainfo *m,
                                                  const Tessera__Metainfo__RevokeAPIKeyRequest *req,
                                                  Tessera__Metainfo__RevokeAPIKeyResponse *resp,
                                                  struct sat_arena *a);

/* ---- Multipart (multipart.c): the upload ID is the signed StreamID of a BeginObject with
 * multipart set. Parts are segments at positions (part << 32 | index), part 1..SAT_PARTS_MAX;
 * the last segment of a part carries its encrypted ETag, which marks the part complete. ---- */
TS_WARN_UNUSED ts_err sat_metainfo_list_parts(struct sat_metainfo *m,
                                              const Tessera__Metainfo__ListPartsRequest *req,
                                              Tessera__Metainfo__ListPartsResponse *resp,
                                              struct sat_arena *a);
TS_WARN_UNUSED ts_err sat_metainfo_list_pending_objects(
    struct sat_metainfo *m, const Tessera__Metainfo__ListPendingObjectsRequest *req,
    Tessera__Metainfo__ListPendingObjectsResponse *resp, struct sat_arena *a);
TS_WARN_UNUSED ts_err sat_metainfo_delete_pending_object(
    struct sat_metainfo *m, const Tessera__Metainfo__DeletePendingObjectRequest *req,
    Tessera__Metainfo__DeletePendingObjectResponse *resp, struct sat_arena *a);

/* ---- Copy, move, metadata (copy.c): only wrapped keys change; see docs/satellite.md ---- */
TS_WARN_UNUSED ts_err sat_metainfo_begin_copy_object(
    struct sat_metainfo *m, const Tessera__Metainfo__BeginCopyObjectRequest *req,
    Tessera__Metainfo__BeginCopyObjectResponse *resp, struct sat_arena *a);
TS_WARN_UNUSED ts_err sat_metainfo_finish_copy_object(
    struct sat_metainfo *m, const Tessera__Metainfo__FinishCopyObjectRequest *req,
    Tessera__Metainfo__FinishCopyObjectResponse *resp, struct sat_arena *a);
TS_WARN_UNUSED ts_err sat_metainfo_begin_move_object(
    struct sat_metainfo *m, const Tessera__Metainfo__BeginMoveObjectRequest *req,
    Tessera__Metainfo__BeginMoveObjectResponse *resp, struct sat_arena *a);
TS_WARN_UNUSED ts_err sat_metainfo_finish_move_object(
    struct sat_metainfo *m, const Tessera__Metainfo__FinishMoveObjectRequest *req,
    Tessera__Metainfo__FinishMoveObjectResponse *resp, struct sat_arena *a);
TS_WARN_UNUSED ts_err sat_metainfo_update_object_metadata(
    struct sat_metainfo *m, const Tessera__Metainfo__UpdateObjectMetadataRequest *req,
    Tessera__Metainfo__UpdateObjectMetadataResponse *resp, struct sat_arena *a);

/* ---- Replacement nodes for failed piece uploads (retry.c) ---- */
TS_WARN_UNUSED ts_err sat_metainfo_retry_begin_segment_pieces(
    struct sat_metainfo *m, const Tessera__Metainfo__RetryBeginSegmentPiecesRequest *req,
    Tessera__Metainfo__RetryBeginSegmentPiecesResponse *resp, struct sat_arena *a);

/* ---- Batch ---- */
TS_WARN_UNUSED ts_err sat_metainfo_batch(struct sat_metainfo *m,
                                         const Tessera__Metainfo__BatchRequest *req,
                                         Tessera__Metainfo__BatchResponse *resp,
                                         struct sat_arena *a);

/* ---- Background cleanup ----
 * Deletes expired pending uploads (zombie deadline), objects past their expiration, and serial
 * records past their order expiration, at most batch rows each per call; *deleted sums them. */
TS_WARN_UNUSED ts_err sat_metainfo_cleanup(struct sat_metainfo *m, int64_t now_s, size_t batch,
                                           int64_t *deleted);

#endif
