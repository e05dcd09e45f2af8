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

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "db/db.h"
#include "identity/identity.h"
#include "metainfo.pb-c.h"
#include "satellite/arena.h"
#include "satellite/config.h"
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

struct sat_metainfo {
    struct ts_db *db;                   /* borrowed */
    const struct sat_config *cfg;       /* borrowed */
    const struct ts_identity *identity; /* the satellite's; signs order limits */
    struct sat_overlay *overlay;        /* borrowed */
    uint8_t id_key[SAT_ID_KEY_SIZE];    /* MACs stream and segment IDs */
};

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
