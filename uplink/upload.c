/*
 * Streaming upload. The caller's thread encrypts and erasure-codes (uplink/segment.c) straight
 * into the n piece buffers of a slot while one thread per piece stream (capped) sends each piece
 * as its stripes appear. A segment is "decided" when o pieces are stored (the rest are canceled:
 * long-tail cancellation) or when o can no longer be reached. At most o pieces at a time are
 * committed (their PieceHash sent); a stream that has sent everything waits at the commit gate,
 * so the canceled tail leaves no stored piece behind even when all nodes are equally fast. The caller's thread commits decided
 * segments in order, up to `parallelism` segments being in flight. A run (one remote segment) owns
 * a crew of joinable piece threads; its slot returns to the project when the upload and the last
 * piece thread let go of it. A committed run whose canceled tail streams are still winding down
 * is "retired": joined once they end (keeping their connections for the next segment), aborted
 * and joined past UL_RETIRED_MAX, and in every case before commit or abort returns.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "crypto/aead.h"
#include "crypto/hash.h"
#include "crypto/segment.h"
#include "ec/ec.h"
#include "internal.h"
#include "piecestore.h"
#include "segment.h"

#define LOG "uplink.upload"
/* Piece streams are woken when this many new stripes exist (or the segment ends). */
#define PUBLISH_STRIPES 256
/* Plaintext handed to the encoder per step, so stripes are published while a big write runs. */
#define WRITE_STEP (1u << 20)
/* RetryBeginSegmentPieces calls per segment (each asks a replacement for one failed piece). */
#define UL_PIECE_RETRIES_MAX 8
/* Committed segments per upload whose tail streams may still be ending. */
#define UL_RETIRED_MAX 2

struct run {
    struct ul_project *p;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct ul_crew crew; /* the piece threads */
    int slot_refs;       /* the upload (until sealed) + each piece thread; guarded by mu */
    bool upload_holds;   /* the upload's slot reference is still held (upload thread only) */
    struct ul_slot *slot;
    uint32_t index;
    int k, o, n;
    size_t share_size;
    struct ul_limit *limits;
    int limit_count;
    uint8_t piece_key[64];
    struct ts_buf segment_id;
    /* Progress, guarded by mu. */
    size_t stripes_ready;
    bool sealed;
    atomic_bool cancel;
    int next_limit;
    int successes;
    int committing; /* pieces past the commit gate whose receipt has not come back */
    int failures;
    int retries;     /* replacement nodes asked for */
    bool retry_busy; /* one RetryBeginSegmentPieces at a time: each builds on the last SegmentID */
    bool last;       /* a part's last segment: its commit carries the part's ETag */
    ts_err last_error;
    struct ts_buf *receipts; /* limit_count; non-empty = stored */
    /* What CommitSegment needs. */
    uint8_t wrapped_key[TS_WRAPPED_KEY_SIZE];
    uint8_t key_nonce[24];
    size_t encrypted_size;
    size_t plain_size;
};

struct ul_upload {
    struct ul_project *p;
    char bucket[TS_BUCKET_NAME_MAX + 1];
    char key[TS_OBJECT_KEY_MAX + 1];
    struct ts_buf enc_key;
    uint8_t kek[32];
    int64_t expires_s;
    struct ts_buf meta;
    uint8_t meta_key[TS_WRAPPED_KEY_SIZE];
    uint8_t meta_nonce[24];
    int parallelism;
    struct ts_buf stream_id; /* empty until BeginObject */
    struct ts_ec *ec;
    int k, m, o, n;
    struct ul_seg_encoder *enc;
    uint8_t head[TS_INLINE_SIZE_MAX]; /* a segment's first bytes: inline if it ends here */
    size_t head_fill;
    uint8_t seg_key[32];
    struct run *cur;
    size_t published;
    uint32_t seg_index;
    struct run *inflight[UL_PARALLELISM_MAX]; /* sealed, not yet committed, oldest first */
    int inflight_count;
    struct run *retired[UL_RETIRED_MAX]; /* committed, tail threads maybe running, oldest first */
    int retired_count;
    ts_err err; /* sticky */
    /* Part mode (multipart): segments at (part, index); no BeginObject or CommitObject; the
     * encrypted ETag travels with the part's last segment. */
    uint32_t part;
    bool part_mode;
    struct ts_sha256_ctx *sha;  /* plaintext hash: the default part ETag */
    char etag[UL_ETAG_MAX + 1]; /* caller's ETag ("" = hex SHA-256 of the plaintext) */
    uint64_t plain_total;
    struct ts_buf etag_sealed;
};

/* ------------------------------------------------------------------------------------------ */
/* Runs                                                                                        */

/* Drops one reference to the slot; the last one gives it back to the project. */
static void run_slot_put(struct run *r)
{
    pthread_mutex_lock(&r->mu);
    int left = --r->slot_refs;
    pthread_mutex_unlock(&r->mu);
    if (left == 0) {
        ul_slot_release(r->p, r->slot);
    }
}

/* The upload is done writing into the slot (the segment is sealed or abandoned). */
static void run_slot_drop(struct run *r)
{
    if (r->upload_holds) {
        r->upload_holds = false;
        run_slot_put(r);
    }
}

/* Joins the piece threads and frees the run (no lock held). */
static void run_end(struct run *r)
{
    ul_crew_join(&r->crew);
    ul_crew_release(&r->crew);
    run_slot_drop(r);
    for (int i = 0; i < r->limit_count; i++) {
        ts_buf_release(&r->receipts[i]);
    }
    free(r->receipts);
    free(r->limits);
    ts_buf_release(&r->segment_id);
    ts_wipe(r->piece_key, sizeof(r->piece_key));
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cond);
    free(r);
}

static void run_publish(struct run *r, size_t stripes, bool sealed)
{
    pthread_mutex_lock(&r->mu);
    r->stripes_ready = stripes;
    r->sealed = sealed;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->mu);
}

/* Cancels every piece stream now: waiting threads are woken and streams blocked in I/O are
 * aborted, so joining the run takes no longer than the threads need to unwind. */
static void run_abort(struct run *r)
{
    pthread_mutex_lock(&r->mu);
    atomic_store(&r->cancel, true);
    ul_crew_abort_locked(&r->crew);
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->mu);
}

/* Takes a committed run off the upload's hands: runs whose tail threads have all ended are
 * joined now; past UL_RETIRED_MAX the oldest still running is aborted and joined. */
static void run_retire(struct ul_upload *u, struct run *r)
{
    if (u->retired_count == UL_RETIRED_MAX) {
        struct run *oldest = u->retired[0];
        memmove(&u->retired[0], &u->retired[1], (size_t)(u->retired_count - 1) * sizeof(r));
        u->retired_count--;
        run_abort(oldest);
        run_end(oldest);
    }
    u->retired[u->retired_count++] = r;
    int kept = 0;
    for (int i = 0; i < u->retired_count; i++) {
        struct run *x = u->retired[i];
        pthread_mutex_lock(&x->mu);
        bool idle = ul_crew_idle_locked(&x->crew);
        pthread_mutex_unlock(&x->mu);
        if (idle) {
            run_end(x); /* every thread has returned: the join does not block */
        } else {
            u->retired[kept++] = x;
        }
    }
    u->retired_count = kept;
}

/* One piece stream's view of its run: the source callbacks' context. */
struct piece_ctx {
    struct run *r;
    bool holds_commit; /* passed the commit gate: counted in r->committing */
};

static ts_err source_wait(void *ctx, size_t sent, size_t *avail, bool *complete)
{
    struct run *r = ((struct piece_ctx *)ctx)->r;
    pthread_mutex_lock(&r->mu);
    while (r->stripes_ready * r->share_size <= sent && !r->sealed && !atomic_load(&r->cancel)) {
        pthread_cond_wait(&r->cond, &r->mu);
    }
    *avail = r->stripes_ready * r->share_size;
    *complete = r->sealed;
    bool canceled = atomic_load(&r->cancel);
    pthread_mutex_unlock(&r->mu);
    return canceled ? TS_ERR_CANCELED : TS_OK;
}

/* The commit gate: a piece whose bytes are all sent asks the node to keep it only while fewer
 * than o pieces are stored or on their way to be. The rest wait, and are canceled once o are
 * stored, so on a network where every node is equally fast the long tail still ends as canceled
 * temp files rather than n - o pieces nobody will ever list (garbage until GC finds it). A
 * committing piece that fails makes room for a waiting one. */
static ts_err commit_gate(void *ctx)
{
    struct piece_ctx *pc = ctx;
    struct run *r = pc->r;
    pthread_mutex_lock(&r->mu);
    while (r->successes + r->committing >= r->o && !atomic_load(&r->cancel)) {
        pthread_cond_wait(&r->cond, &r->mu);
    }
    bool canceled = atomic_load(&r->cancel);
    if (!canceled) {
        r->committing++;
        pc->holds_commit = true;
    }
    pthread_mutex_unlock(&r->mu);
    return canceled ? TS_ERR_CANCELED : TS_OK;
}

/* Gives back a commit slot (mu held). */
static void commit_release_locked(struct run *r, struct piece_ctx *pc)
{
    if (pc->holds_commit) {
        pc->holds_commit = false;
        r->committing--;
        pthread_cond_broadcast(&r->cond);
    }
}

/* Takes the next limit to upload, or -1 when there is none or the segment is decided. */
static int next_piece(struct run *r)
{
    pthread_mutex_lock(&r->mu);
    int i = -1;
    if (!atomic_load(&r->cancel) && r->next_limit < r->limit_count) {
        i = r->next_limit++;
    }
    pthread_mutex_unlock(&r->mu);
    return i;
}

static void piece_stored(struct run *r, struct piece_ctx *pc, int i, struct ts_buf *receipt)
{
    pthread_mutex_lock(&r->mu);
    commit_release_locked(r, pc);
    r->receipts[i] = *receipt; /* moves ownership */
    ts_buf_init(receipt, TS_ORDER_LIMIT_ENCODED_MAX);
    if (++r->successes >= r->o) {
        atomic_store(&r->cancel, true); /* long tail: the rest are no longer needed */
    }
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->mu);
}

/* Counts a failed piece that gets no replacement (mu held). */
static void piece_count_failure_locked(struct run *r, ts_err err)
{
    r->failures++;
    r->last_error = err;
    pthread_cond_broadcast(&r->cond);
}

/* Asks the satellite for a new node for limit i's piece number (RetryBeginSegmentPieces) and
 * installs the new limit and SegmentID. Called without r->mu held. */
static ts_err piece_replace(struct run *r, int i, const struct ts_buf *segment_id)
{
    Tessera__Metainfo__RequestHeader h;
    ul_meta_header(r->p, &h);
    Tessera__Metainfo__RetryBeginSegmentPiecesRequest req =
        TESSERA__METAINFO__RETRY_BEGIN_SEGMENT_PIECES_REQUEST__INIT;
    uint32_t num = r->limits[i].piece_num;
    req.header = &h;
    req.segment_id.data = segment_id->data;
    req.segment_id.len = segment_id->len;
    req.retry_piece_numbers = &num;
    req.n_retry_piece_numbers = 1;
    Tessera__Metainfo__RetryBeginSegmentPiecesResponse *resp = NULL;
    ts_err err = ul_meta_call(r->p, "RetryBeginSegmentPieces", &req.base,
                              &tessera__metainfo__retry_begin_segment_pieces_response__descriptor,
                              (ProtobufCMessage **)&resp);
    struct ul_limit lim;
    if (err == TS_OK &&
        (resp->n_limits != 1 || resp->limits[0]->piece_num != num || resp->segment_id.len == 0)) {
        err = TS_ERR_PROTOCOL;
    }
    if (err == TS_OK) {
        const Tessera__Metainfo__AddressedOrderLimit *a = resp->limits[0];
        err = ul_limit_parse(a->limit.data, a->limit.len, a->node_id.data, a->node_id.len,
                             a->address, a->piece_num, &lim);
    }
    pthread_mutex_lock(&r->mu);
    if (err == TS_OK) {
        ts_buf_clear(&r->segment_id);
        err = ts_buf_append(&r->segment_id, resp->segment_id.data, resp->segment_id.len);
    }
    if (err == TS_OK) {
        r->limits[i] = lim;
    }
    pthread_mutex_unlock(&r->mu);
    if (resp != NULL) {
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    }
    return err;
}

/* A piece failed. When, without it, the segment could no longer reach o, asks for a replacement
 * node (reference §2.1): true means limit i now names a new node to upload the piece to. false
 * means the failure has been counted. The decision and the count happen under one lock, so
 * pieces failing together (several nodes dying at once) are not all refused a replacement by
 * counts that none of them had updated yet. */
static bool piece_failed(struct run *r, struct piece_ctx *pc, int i, ts_err failure)
{
    pthread_mutex_lock(&r->mu);
    commit_release_locked(r, pc);
    while (r->retry_busy && !atomic_load(&r->cancel)) {
        pthread_cond_wait(&r->cond, &r->mu);
    }
    bool want = !atomic_load(&r->cancel) && r->retries < UL_PIECE_RETRIES_MAX &&
                r->limit_count - r->failures - 1 < r->o;
    struct ts_buf sid;
    ts_buf_init(&sid, UL_SIGNED_ID_MAX);
    if (want) {
        r->retry_busy = true;
        r->retries++;
        want = ts_buf_append(&sid, r->segment_id.data, r->segment_id.len) == TS_OK;
        r->retry_busy = want;
    }
    if (!want) {
        piece_count_failure_locked(r, failure);
    }
    pthread_mutex_unlock(&r->mu);
    if (!want) {
        ts_buf_release(&sid);
        return false;
    }
    ts_err err = piece_replace(r, i, &sid);
    ts_buf_release(&sid);
    if (err == TS_OK) {
        ts_log_info(LOG, "piece moved to a new node segment=%u piece=%u", r->index,
                    r->limits[i].piece_num);
    } else {
        ts_log_info(LOG, "no replacement node segment=%u piece=%u err=%s", r->index,
                    r->limits[i].piece_num, ts_errname(err));
    }
    pthread_mutex_lock(&r->mu);
    r->retry_busy = false;
    if (err != TS_OK) {
        piece_count_failure_locked(r, failure);
    }
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->mu);
    return err == TS_OK;
}

static void piece_thread(struct ul_worker *w)
{
    struct run *r = w->job;
    struct ul_project *p = r->p;
    struct ts_buf receipt;
    ts_buf_init(&receipt, TS_ORDER_LIMIT_ENCODED_MAX);
    for (int i = next_piece(r); i >= 0;) {
        struct piece_ctx pc = {.r = r};
        struct ul_piece_source src = {
            .data = r->slot->pieces[i], .wait = source_wait, .commit = commit_gate, .ctx = &pc};
        ts_buf_clear(&receipt);
        ts_err err =
            ul_piece_upload(p->pool, &r->limits[i], r->piece_key, &src, &r->cancel, w, &receipt);
        if (err == TS_OK) {
            piece_stored(r, &pc, i, &receipt);
        } else if (err != TS_ERR_CANCELED) {
            ts_log_debug(LOG, "piece failed segment=%u piece=%u err=%s", r->index,
                         r->limits[i].piece_num, ts_errname(err));
            if (piece_failed(r, &pc, i, err)) {
                continue; /* the same piece, to its new node */
            }
        } else {
            pthread_mutex_lock(&r->mu);
            commit_release_locked(r, &pc);
            pthread_mutex_unlock(&r->mu);
        }
        i = next_piece(r);
    }
    ts_buf_release(&receipt);
    run_slot_put(r);
}

/* Blocks until o pieces are stored (TS_OK) or o cannot be reached any more. */
static ts_err run_wait_decided(struct run *r)
{
    pthread_mutex_lock(&r->mu);
    while (r->successes < r->o && r->limit_count - r->failures >= r->o) {
        pthread_cond_wait(&r->cond, &r->mu);
    }
    ts_err err = TS_OK;
    if (r->successes < r->o) {
        err = ul_fail(TS_ERR_NOT_ENOUGH_SHARES,
                      "segment %u: only %d of the %d pieces needed were stored (%d nodes failed, "
                      "last error: %s): not enough storage nodes accepted the upload",
                      r->index, r->successes, r->o, r->failures, ts_strerror(r->last_error));
    }
    atomic_store(&r->cancel, true);
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->mu);
    return err;
}

/* ------------------------------------------------------------------------------------------ */
/* Satellite calls                                                                             */

static void position_set(Tessera__Metainfo__SegmentPosition *pos, uint32_t part, uint32_t index)
{
    tessera__metainfo__segment_position__init(pos);
    pos->part = part;
    pos->index = index;
}

static void begin_object_fill(struct ul_upload *u, Tessera__Metainfo__BeginObjectRequest *bo,
                              Tessera__Metainfo__EncryptionParameters *ep,
                              Tessera__Metainfo__RequestHeader *h)
{
    tessera__metainfo__begin_object_request__init(bo);
    tessera__metainfo__encryption_parameters__init(ep);
    ep->cipher_suite = 2; /* AES-256-GCM */
    ep->block_size = TS_ENCRYPTION_BLOCK_SIZE;
    bo->header = h;
    bo->bucket.data = (uint8_t *)u->bucket;
    bo->bucket.len = strlen(u->bucket);
    bo->encrypted_key.data = u->enc_key.data;
    bo->encrypted_key.len = u->enc_key.len;
    bo->expires_at = u->expires_s;
    bo->encryption = ep;
}

/* Checks the satellite's redundancy and builds the code once per upload. */
static ts_err code_setup(struct ul_upload *u, const Tessera__Metainfo__RedundancyScheme *rs)
{
    if (rs == NULL || rs->required < 1 || rs->required > rs->success || rs->success > rs->total ||
        rs->total > TS_EC_SHARES_MAX || rs->share_size == 0 ||
        rs->share_size > TS_EC_SHARE_SIZE_MAX) {
        return ul_fail(TS_ERR_PROTOCOL, "the satellite sent an invalid redundancy scheme");
    }
    if (u->ec != NULL) {
        bool same = u->k == (int)rs->required && u->n == (int)rs->total &&
                    ts_ec_share_size(u->ec) == rs->share_size;
        return same ? TS_OK : ul_fail(TS_ERR_PROTOCOL, "redundancy changed within an object");
    }
    u->k = (int)rs->required;
    u->m = (int)rs->repair;
    u->o = (int)rs->success;
    u->n = (int)rs->total;
    ts_err err = ts_ec_new(u->k, u->n, rs->share_size, &u->ec);
    if (err == TS_OK) {
        err = ul_seg_encoder_new(u->ec, &u->enc);
    }
    return err;
}

/* Fills a run from a BeginSegment response: limits, piece key, segment ID. */
static ts_err run_take_limits(struct run *r, const Tessera__Metainfo__BeginSegmentResponse *bs)
{
    if (bs->piece_private_key.len != 64 || bs->n_limits > (size_t)r->n || bs->segment_id.len == 0) {
        return ul_fail(TS_ERR_PROTOCOL, "BeginSegment returned %zu limits for n=%d", bs->n_limits,
                       r->n);
    }
    /* A satellite with fewer than n eligible nodes offers between o and n limits; below o the
     * segment could never be committed. */
    if (bs->n_limits < (size_t)r->o) {
        return ul_fail(TS_ERR_NOT_ENOUGH_SHARES,
                       "the satellite offered %zu storage nodes, %d are needed: not enough "
                       "storage nodes are available",
                       bs->n_limits, r->o);
    }
    memcpy(r->piece_key, bs->piece_private_key.data, 64);
    r->limits = calloc(bs->n_limits, sizeof(*r->limits));
    r->receipts = calloc(bs->n_limits, sizeof(*r->receipts));
    if (r->limits == NULL || r->receipts == NULL) {
        return TS_ERR_NOMEM;
    }
    r->limit_count = (int)bs->n_limits;
    for (size_t i = 0; i < bs->n_limits; i++) {
        ts_buf_init(&r->receipts[i], TS_ORDER_LIMIT_ENCODED_MAX);
        const Tessera__Metainfo__AddressedOrderLimit *a = bs->limits[i];
        ts_err err = ul_limit_parse(a->limit.data, a->limit.len, a->node_id.data, a->node_id.len,
                                    a->address, a->piece_num, &r->limits[i]);
        if (err != TS_OK || a->piece_num >= (uint32_t)r->n) {
            return ul_fail(TS_ERR_PROTOCOL, "BeginSegment limit %zu is malformed", i);
        }
    }
    return ts_buf_append(&r->segment_id, bs->segment_id.data, bs->segment_id.len);
}

/* BeginSegment, batched with BeginObject for the object's first segment. */
static ts_err begin_segment_call(struct ul_upload *u, uint32_t index,
                                 Tessera__Metainfo__BatchResponse **batch_out,
                                 Tessera__Metainfo__BeginSegmentResponse **bs_out)
{
    Tessera__Metainfo__RequestHeader h;
    ul_meta_header(u->p, &h);
    Tessera__Metainfo__SegmentPosition pos;
    position_set(&pos, u->part, index);
    Tessera__Metainfo__BeginSegmentRequest bs = TESSERA__METAINFO__BEGIN_SEGMENT_REQUEST__INIT;
    bs.header = &h;
    bs.position = &pos;
    bs.stream_id.data = u->stream_id.data;
    bs.stream_id.len = u->stream_id.len;
    if (u->stream_id.len > 0) {
        return ul_meta_call(u->p, "BeginSegment", &bs.base,
                            &tessera__metainfo__begin_segment_response__descriptor,
                            (ProtobufCMessage **)bs_out);
    }
    Tessera__Metainfo__BeginObjectRequest bo;
    Tessera__Metainfo__EncryptionParameters ep;
    begin_object_fill(u, &bo, &ep, &h);
    Tessera__Metainfo__BatchRequestItem items[2] = {TESSERA__METAINFO__BATCH_REQUEST_ITEM__INIT,
                                                    TESSERA__METAINFO__BATCH_REQUEST_ITEM__INIT};
    items[0].request_case = TESSERA__METAINFO__BATCH_REQUEST_ITEM__REQUEST_BEGIN_OBJECT;
    items[0].begin_object = &bo;
    items[1].request_case = TESSERA__METAINFO__BATCH_REQUEST_ITEM__REQUEST_BEGIN_SEGMENT;
    items[1].begin_segment = &bs;
    Tessera__Metainfo__BatchRequestItem *ptrs[2] = {&items[0], &items[1]};
    Tessera__Metainfo__BatchRequest req = TESSERA__METAINFO__BATCH_REQUEST__INIT;
    req.header = &h;
    req.items = ptrs;
    req.n_items = 2;
    ts_err err =
        ul_meta_call(u->p, "Batch", &req.base, &tessera__metainfo__batch_response__descriptor,
                     (ProtobufCMessage **)batch_out);
    if (err != TS_OK) {
        return err;
    }
    Tessera__Metainfo__BatchResponse *br = *batch_out;
    if (br->n_items != 2 ||
        br->items[0]->response_case !=
            TESSERA__METAINFO__BATCH_RESPONSE_ITEM__RESPONSE_BEGIN_OBJECT ||
        br->items[1]->response_case !=
            TESSERA__METAINFO__BATCH_RESPONSE_ITEM__RESPONSE_BEGIN_SEGMENT ||
        br->items[0]->begin_object == NULL || br->items[1]->begin_segment == NULL) {
        return ul_fail(TS_ERR_PROTOCOL, "the satellite's Batch answer is incomplete");
    }
    Tessera__Metainfo__BeginObjectResponse *bor = br->items[0]->begin_object;
    err = code_setup(u, bor->redundancy);
    if (err == TS_OK) {
        err = ts_buf_append(&u->stream_id, bor->stream_id.data, bor->stream_id.len);
    }
    *bs_out = br->items[1]->begin_segment;
    return err;
}

/* ------------------------------------------------------------------------------------------ */
/* Segments                                                                                    */

static ts_err run_new(struct ul_upload *u, struct run **out)
{
    struct run *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return TS_ERR_NOMEM;
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cond, NULL);
    r->p = u->p;
    r->slot_refs = 1;
    r->index = u->seg_index;
    ts_buf_init(&r->segment_id, UL_SIGNED_ID_MAX);
    atomic_init(&r->cancel, false);
    *out = r;
    return TS_OK;
}

static ts_err run_start_threads(struct run *r, int streams_max)
{
    int threads = r->limit_count < streams_max ? r->limit_count : streams_max;
    ts_err err = ul_crew_init(&r->crew, r->p, &r->mu, threads);
    if (err != TS_OK) {
        return err;
    }
    pthread_mutex_lock(&r->mu);
    r->slot_refs += threads; /* taken before they start: a fast thread cannot free the slot */
    pthread_mutex_unlock(&r->mu);
    err = ul_crew_start(&r->crew, threads, piece_thread, r);
    pthread_mutex_lock(&r->mu);
    r->slot_refs -= threads - r->crew.started;
    pthread_mutex_unlock(&r->mu);
    return err; /* fewer streams than asked still work, just slower */
}

/* Starts a remote segment: BeginSegment, a slot, the piece threads, the encoder. */
static ts_err segment_start(struct ul_upload *u)
{
    Tessera__Metainfo__BatchResponse *batch = NULL;
    Tessera__Metainfo__BeginSegmentResponse *bs = NULL;
    struct run *r = NULL;
    ts_err err = begin_segment_call(u, u->seg_index, &batch, &bs);
    if (err == TS_OK && batch == NULL) {
        err = code_setup(u, bs->redundancy);
    }
    if (err == TS_OK) {
        err = run_new(u, &r);
    }
    if (err == TS_OK) {
        r->k = u->k;
        r->o = u->o;
        r->n = u->n;
        r->share_size = ts_ec_share_size(u->ec);
        err = run_take_limits(r, bs);
    }
    struct ul_seg_layout full;
    if (err == TS_OK) {
        ul_seg_layout_init(&full, u->ec, TS_SEGMENT_SIZE_MAX);
        err = ul_slot_acquire(u->p, u->n, full.piece_size, &r->slot);
        r->upload_holds = err == TS_OK;
    }
    uint8_t nonce[24];
    if (err == TS_OK) {
        err = ts_random_bytes(u->seg_key, sizeof(u->seg_key));
    }
    if (err == TS_OK) {
        err = ts_random_bytes(r->key_nonce, sizeof(r->key_nonce));
    }
    if (err == TS_OK) {
        err = ts_key_wrap(u->kek, r->key_nonce, u->seg_key, r->wrapped_key);
    }
    if (err == TS_OK) {
        ts_segment_start_nonce((int32_t)u->part, (int32_t)u->seg_index, nonce);
        ul_seg_encoder_begin(u->enc, r->slot->pieces, r->slot->piece_cap, u->seg_key, nonce);
        u->published = 0;
        err = run_start_threads(r, u->p->piece_streams_max);
    }
    protobuf_c_message_free_unpacked(batch ? &batch->base : (bs ? &bs->base : NULL), NULL);
    if (err != TS_OK) {
        if (r != NULL) {
            run_abort(r);
            run_end(r);
        }
        return err;
    }
    u->cur = r;
    return TS_OK;
}

/* Copies the receipts stored so far (the tail may still add some while we call out). */
static ts_err receipts_snapshot(struct run *r, struct ts_buf *all, size_t *ends, int *idx,
                                size_t *count, struct ts_buf *segment_id)
{
    *count = 0;
    pthread_mutex_lock(&r->mu);
    /* Taken with the receipts: a receipt from a replacement node only verifies against the
     * SegmentID that names it, and both change together under mu. */
    ts_err err = ts_buf_append(segment_id, r->segment_id.data, r->segment_id.len);
    for (int i = 0; i < r->limit_count && err == TS_OK; i++) {
        if (r->receipts[i].len > 0) {
            err = ts_buf_append(all, r->receipts[i].data, r->receipts[i].len);
            ends[*count] = all->len;
            idx[(*count)++] = i;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return err;
}

static ts_err commit_segment(struct ul_upload *u, struct run *r)
{
    Tessera__Metainfo__RequestHeader h;
    ul_meta_header(u->p, &h);
    Tessera__Metainfo__CommitSegmentRequest req = TESSERA__METAINFO__COMMIT_SEGMENT_REQUEST__INIT;
    req.header = &h;
    req.encrypted_key_nonce.data = r->key_nonce;
    req.encrypted_key_nonce.len = sizeof(r->key_nonce);
    req.encrypted_key.data = r->wrapped_key;
    req.encrypted_key.len = sizeof(r->wrapped_key);
    req.encrypted_size = (int64_t)r->encrypted_size;
    req.plain_size = (int64_t)r->plain_size;
    size_t n = (size_t)r->limit_count, count = 0;
    Tessera__Metainfo__UploadResult *res = calloc(n, sizeof(*res));
    Tessera__Metainfo__UploadResult **ptrs = calloc(n, sizeof(*ptrs));
    size_t *ends = calloc(n, sizeof(*ends));
    int *idx = calloc(n, sizeof(*idx));
    struct ts_buf all, sid;
    ts_buf_init(&all, n * TS_ORDER_LIMIT_ENCODED_MAX);
    ts_buf_init(&sid, UL_SIGNED_ID_MAX);
    ts_err err = res && ptrs && ends && idx ? TS_OK : TS_ERR_NOMEM;
    if (err == TS_OK) {
        err = receipts_snapshot(r, &all, ends, idx, &count, &sid);
    }
    req.segment_id.data = sid.data;
    req.segment_id.len = sid.len;
    if (r->last && u->etag_sealed.len > 0) {
        req.encrypted_etag.data = u->etag_sealed.data;
        req.encrypted_etag.len = u->etag_sealed.len;
    }
    for (size_t j = 0; j < count && err == TS_OK; j++) {
        Tessera__Metainfo__UploadResult *x = &res[j];
        tessera__metainfo__upload_result__init(x);
        x->piece_num = r->limits[idx[j]].piece_num;
        x->node_id.data = r->limits[idx[j]].url.id.bytes;
        x->node_id.len = TS_NODE_ID_SIZE;
        size_t start = j == 0 ? 0 : ends[j - 1];
        x->hash.data = all.data + start;
        x->hash.len = ends[j] - start;
        ptrs[j] = x;
    }
    req.results = ptrs;
    req.n_results = count;
    ProtobufCMessage *resp = NULL;
    if (err == TS_OK) {
        err = ul_meta_call(u->p, "CommitSegment", &req.base,
                           &tessera__metainfo__commit_segment_response__descriptor, &resp);
    }
    if (resp != NULL) {
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    ts_buf_release(&all);
    ts_buf_release(&sid);
    free(res);
    free(ptrs);
    free(ends);
    free(idx);
    return err;
}

/* Waits for the oldest sealed segment to be decided and commits it. */
static ts_err finalize_oldest(struct ul_upload *u)
{
    struct run *r = u->inflight[0];
    memmove(&u->inflight[0], &u->inflight[1], (size_t)(u->inflight_count - 1) * sizeof(r));
    u->inflight_count--;
    ts_err err = run_wait_decided(r);
    if (err == TS_OK) {
        err = commit_segment(u, r);
    }
    run_retire(u, r);
    return err;
}

/* Pads and encodes the current segment's tail and hands it to the in-flight queue. */
static ts_err segment_seal(struct ul_upload *u)
{
    struct run *r = u->cur;
    struct ul_seg_layout l;
    u->cur = NULL;
    ts_err err = ul_seg_encoder_finish(u->enc, &l);
    ts_wipe(u->seg_key, sizeof(u->seg_key));
    if (err != TS_OK) {
        run_abort(r);
        run_end(r);
        return err;
    }
    run_slot_drop(r); /* only the piece threads read the slot from now on */
    r->encrypted_size = l.encrypted_size;
    r->plain_size = l.plain_len;
    run_publish(r, l.stripes, true);
    u->inflight[u->inflight_count++] = r;
    u->seg_index++;
    return TS_OK;
}

/* Feeds plaintext to the current remote segment, publishing stripes to the piece streams. */
static ts_err segment_feed(struct ul_upload *u, const uint8_t *data, size_t len)
{
    while (len > 0) {
        size_t take = len < WRITE_STEP ? len : WRITE_STEP;
        ts_err err = ul_seg_encoder_write(u->enc, data, take);
        if (err != TS_OK) {
            return err;
        }
        data += take;
        len -= take;
        size_t s = ul_seg_encoder_stripes(u->enc);
        if (s - u->published >= PUBLISH_STRIPES) {
            run_publish(u->cur, s, false);
            u->published = s;
        }
    }
    return TS_OK;
}

/* Turns the buffered head of a segment into a remote segment (making room in flight first). */
static ts_err segment_go_remote(struct ul_upload *u)
{
    ts_err err = TS_OK;
    while (err == TS_OK && u->inflight_count >= u->parallelism) {
        err = finalize_oldest(u);
    }
    if (err == TS_OK) {
        err = segment_start(u);
    }
    if (err == TS_OK) {
        err = segment_feed(u, u->head, u->head_fill);
        u->head_fill = 0;
    }
    return err;
}

static ts_err write_some(struct ul_upload *u, const uint8_t *data, size_t len, size_t *used)
{
    if (u->cur == NULL) {
        size_t take = sizeof(u->head) - u->head_fill;
        take = take < len ? take : len;
        memcpy(u->head + u->head_fill, data, take);
        u->head_fill += take;
        *used = take;
        return u->head_fill == sizeof(u->head) ? segment_go_remote(u) : TS_OK;
    }
    size_t room = TS_SEGMENT_SIZE_MAX - ul_seg_encoder_plain_len(u->enc);
    size_t take = room < len ? room : len;
    ts_err err = segment_feed(u, data, take);
    *used = take;
    if (err == TS_OK && ul_seg_encoder_plain_len(u->enc) == TS_SEGMENT_SIZE_MAX) {
        err = segment_seal(u);
    }
    return err;
}

/* ------------------------------------------------------------------------------------------ */
/* Public API                                                                                  */

ul_err ul_upload_begin(struct ul_project *p, const char *bucket, const char *key,
                       const struct ul_upload_options *opts, struct ul_upload **out)
{
    ul_detail_clear();
    if (p == NULL || bucket == NULL || key == NULL || out == NULL) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    *out = NULL;
    size_t key_len = strlen(key);
    if (key_len == 0 || key_len > TS_OBJECT_KEY_MAX || strlen(bucket) > TS_BUCKET_NAME_MAX) {
        return ul_fail(TS_ERR_INVALID_ARGUMENT, "object key must be 1..%d bytes",
                       TS_OBJECT_KEY_MAX);
    }
    struct ul_upload *u = calloc(1, sizeof(*u));
    if (u == NULL) {
        return TS_ERR_NOMEM;
    }
    u->p = p;
    snprintf(u->bucket, sizeof(u->bucket), "%s", bucket);
    memcpy(u->key, key, key_len + 1);
    ts_buf_init(&u->enc_key, TS_ENCRYPTED_KEY_MAX);
    ts_buf_init(&u->meta, TS_METADATA_ENCRYPTED_MAX);
    ts_buf_init(&u->stream_id, UL_SIGNED_ID_MAX);
    ts_buf_init(&u->etag_sealed, UL_ETAG_SEALED_MAX);
    u->parallelism = UL_PARALLELISM_DEFAULT;
    if (opts != NULL) {
        u->expires_s = opts->expires_s;
        if (opts->parallelism > 0) {
            u->parallelism =
                opts->parallelism < UL_PARALLELISM_MAX ? opts->parallelism : UL_PARALLELISM_MAX;
        }
    }
    ts_err err = ul_key_encrypt(p, bucket, key, key_len, &u->enc_key, u->kek);
    if (err == TS_OK) {
        err = ul_meta_seal(u->kek, opts ? opts->metadata : NULL, opts ? opts->metadata_count : 0,
                           &u->meta, u->meta_key, u->meta_nonce);
        if (err == TS_ERR_TOO_LARGE) {
            err = ul_fail(err, "user metadata exceeds %d bytes once encrypted",
                          TS_METADATA_ENCRYPTED_MAX);
        }
    }
    if (err != TS_OK) {
        ul_upload_abort(u);
        return err;
    }
    *out = u;
    return TS_OK;
}

ul_err ul_upload_write(struct ul_upload *u, const void *data, size_t len)
{
    ul_detail_clear();
    if (u == NULL || (data == NULL && len > 0)) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    if (u->err != TS_OK) {
        return ul_fail(u->err, "the upload already failed: abort it");
    }
    if (u->sha != NULL && len > 0) {
        u->err = ts_sha256_ctx_update(u->sha, data, len);
    }
    u->plain_total += len;
    const uint8_t *d = data;
    while (len > 0 && u->err == TS_OK) {
        size_t used = 0;
        u->err = write_some(u, d, len, &used);
        d += used;
        len -= used;
    }
    return u->err;
}

ul_err ul_upload_set_metadata(struct ul_upload *u, const struct ul_metadata_entry *metadata,
                              size_t metadata_count)
{
    ul_detail_clear();
    if (u == NULL || u->part_mode || (metadata == NULL && metadata_count > 0)) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    /* Sealed aside first, so a map that does not fit leaves the begin's metadata in place. */
    struct ts_buf meta;
    uint8_t meta_key[TS_WRAPPED_KEY_SIZE], meta_nonce[24];
    ts_buf_init(&meta, TS_METADATA_ENCRYPTED_MAX);
    ts_err err = ul_meta_seal(u->kek, metadata, metadata_count, &meta, meta_key, meta_nonce);
    if (err == TS_OK) {
        ts_buf_release(&u->meta);
        u->meta = meta;
        memcpy(u->meta_key, meta_key, sizeof(meta_key));
        memcpy(u->meta_nonce, meta_nonce, sizeof(meta_nonce));
        return TS_OK;
    }
    ts_buf_release(&meta);
    if (err == TS_ERR_TOO_LARGE) {
        err = ul_fail(err, "user metadata exceeds %d bytes once encrypted",
                      TS_METADATA_ENCRYPTED_MAX);
    }
    return err;
}

/* MakeInlineSegment for the buffered head (with BeginObject first if the object has no stream
 * yet), in one batch with CommitObject when it is the object's only segment. */
static ts_err inline_and_commit(struct ul_upload *u, ProtobufCMessage **commit_resp);

/* Points a CommitObject request at the stream and the sealed metadata u holds. */
static void commit_object_fill(struct ul_upload *u, Tessera__Metainfo__RequestHeader *h,
                               Tessera__Metainfo__CommitObjectRequest *req)
{
    req->header = h;
    req->stream_id.data = u->stream_id.data;
    req->stream_id.len = u->stream_id.len;
    req->encrypted_metadata.data = u->meta.data;
    req->encrypted_metadata.len = u->meta.len;
    req->encrypted_metadata_key.data = u->meta_key;
    req->encrypted_metadata_key.len = sizeof(u->meta_key);
    req->encrypted_metadata_nonce.data = u->meta_nonce;
    req->encrypted_metadata_nonce.len = sizeof(u->meta_nonce);
}

static ts_err commit_object_call(struct ul_upload *u, ProtobufCMessage **resp)
{
    Tessera__Metainfo__RequestHeader h;
    ul_meta_header(u->p, &h);
    Tessera__Metainfo__CommitObjectRequest req = TESSERA__METAINFO__COMMIT_OBJECT_REQUEST__INIT;
    commit_object_fill(u, &h, &req);
    return ul_meta_call(u->p, "CommitObject", &req.base,
                        &tessera__metainfo__commit_object_response__descriptor, resp);
}

/* The buffered head sealed as an inline segment under a fresh key wrapped by the KEK; a
 * MakeInlineSegment request filled by inline_segment_fill points into it. */
struct inline_seg {
    uint8_t wrapped[TS_WRAPPED_KEY_SIZE];
    uint8_t key_nonce[24];
    uint8_t cipher[TS_INLINE_SIZE_MAX + TS_GCM_TAG_SIZE];
    Tessera__Metainfo__SegmentPosition pos;
};

/* Encrypts u->head into s and points mi (an initialised request) at it; h is the caller's
 * header, filled here. The plain key is wiped before returning. */
static ts_err inline_segment_fill(struct ul_upload *u, struct inline_seg *s,
                                  Tessera__Metainfo__RequestHeader *h,
                                  Tessera__Metainfo__MakeInlineSegmentRequest *mi)
{
    uint8_t key[32], nonce[24];
    ts_err err = ts_random_bytes(key, sizeof(key));
    err = err ? err : ts_random_bytes(s->key_nonce, sizeof(s->key_nonce));
    err = err ? err : ts_key_wrap(u->kek, s->key_nonce, key, s->wrapped);
    ts_segment_start_nonce((int32_t)u->part, (int32_t)u->seg_index, nonce);
    err = err ? err : ts_inline_encrypt(key, nonce, u->head, u->head_fill, s->cipher);
    ts_wipe(key, sizeof(key));
    if (err != TS_OK) {
        return err;
    }
    ul_meta_header(u->p, h);
    position_set(&s->pos, u->part, u->seg_index);
    mi->header = h;
    mi->stream_id.data = u->stream_id.data;
    mi->stream_id.len = u->stream_id.len;
    mi->position = &s->pos;
    mi->encrypted_key_nonce.data = s->key_nonce;
    mi->encrypted_key_nonce.len = sizeof(s->key_nonce);
    mi->encrypted_key.data = s->wrapped;
    mi->encrypted_key.len = sizeof(s->wrapped);
    mi->encrypted_inline_data.data = s->cipher;
    mi->encrypted_inline_data.len = u->head_fill + TS_GCM_TAG_SIZE;
    mi->plain_size = (int64_t)u->head_fill;
    return TS_OK;
}

static ts_err inline_and_commit(struct ul_upload *u, ProtobufCMessage **commit_resp)
{
    struct inline_seg seg;
    Tessera__Metainfo__RequestHeader h;
    Tessera__Metainfo__MakeInlineSegmentRequest mi =
        TESSERA__METAINFO__MAKE_INLINE_SEGMENT_REQUEST__INIT;
    ts_err err = inline_segment_fill(u, &seg, &h, &mi);
    if (err != TS_OK) {
        return err;
    }
    Tessera__Metainfo__BeginObjectRequest bo;
    Tessera__Metainfo__EncryptionParameters ep;
    begin_object_fill(u, &bo, &ep, &h);
    Tessera__Metainfo__CommitObjectRequest co = TESSERA__METAINFO__COMMIT_OBJECT_REQUEST__INIT;
    commit_object_fill(u, &h, &co);
    Tessera__Metainfo__BatchRequestItem items[3] = {TESSERA__METAINFO__BATCH_REQUEST_ITEM__INIT,
                                                    TESSERA__METAINFO__BATCH_REQUEST_ITEM__INIT,
                                                    TESSERA__METAINFO__BATCH_REQUEST_ITEM__INIT};
    Tessera__Metainfo__BatchRequestItem *ptrs[3];
    size_t count = 0;
    if (u->stream_id.len == 0) {
        items[count].request_case = TESSERA__METAINFO__BATCH_REQUEST_ITEM__REQUEST_BEGIN_OBJECT;
        items[count++].begin_object = &bo;
    }
    items[count].request_case = TESSERA__METAINFO__BATCH_REQUEST_ITEM__REQUEST_MAKE_INLINE_SEGMENT;
    items[count++].make_inline_segment = &mi;
    items[count].request_case = TESSERA__METAINFO__BATCH_REQUEST_ITEM__REQUEST_COMMIT_OBJECT;
    items[count++].commit_object = &co;
    for (size_t i = 0; i < count; i++) {
        ptrs[i] = &items[i];
    }
    Tessera__Metainfo__BatchRequest req = TESSERA__METAINFO__BATCH_REQUEST__INIT;
    req.header = &h;
    req.items = ptrs;
    req.n_items = count;
    *commit_resp = NULL;
    return ul_meta_call(u->p, "Batch", &req.base, &tessera__metainfo__batch_response__descriptor,
                        commit_resp);
}

/* Fills the caller's info from CommitObject's object (key = the plaintext key we hold). */
static const Tessera__Metainfo__Object *committed_object(ProtobufCMessage *resp, bool batch)
{
    if (resp == NULL) {
        return NULL;
    }
    if (!batch) {
        return ((Tessera__Metainfo__CommitObjectResponse *)resp)->object;
    }
    Tessera__Metainfo__BatchResponse *br = (Tessera__Metainfo__BatchResponse *)resp;
    if (br->n_items == 0 || br->items[br->n_items - 1]->response_case !=
                                TESSERA__METAINFO__BATCH_RESPONSE_ITEM__RESPONSE_COMMIT_OBJECT) {
        return NULL;
    }
    return br->items[br->n_items - 1]->commit_object->object;
}

ul_err ul_upload_commit(struct ul_upload *u, struct ul_object_info *info)
{
    ul_detail_clear();
    if (u == NULL) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    if (info != NULL) {
        memset(info, 0, sizeof(*info));
    }
    ts_err err = u->err;
    if (err == TS_OK && u->cur != NULL) {
        err = segment_seal(u);
    }
    while (err == TS_OK && u->inflight_count > 0) {
        err = finalize_oldest(u);
    }
    ProtobufCMessage *resp = NULL;
    bool batch = u->head_fill > 0 || u->seg_index == 0;
    if (err == TS_OK) {
        err = batch ? inline_and_commit(u, &resp) : commit_object_call(u, &resp);
    }
    const Tessera__Metainfo__Object *obj = committed_object(resp, batch);
    if (err == TS_OK && info != NULL) {
        err = ul_info_fill(info, u->key, strlen(u->key), u->kek, u->meta.data, u->meta.len,
                           u->meta_key, sizeof(u->meta_key), u->meta_nonce, sizeof(u->meta_nonce));
        if (err == TS_OK && obj != NULL) {
            info->size = (uint64_t)obj->total_plain_size;
            info->created_s = obj->created_at;
            info->expires_s = obj->expires_at;
        }
    }
    if (resp != NULL) {
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    if (err != TS_OK) {
        u->err = err;
    }
    ul_upload_abort(u);
    return err;
}

void ul_upload_abort(struct ul_upload *u)
{
    if (u == NULL) {
        return;
    }
    /* Abort every run first (their threads unwind in parallel), then join them. */
    struct run *runs[1 + UL_PARALLELISM_MAX + UL_RETIRED_MAX];
    int count = 0;
    if (u->cur != NULL) {
        runs[count++] = u->cur;
    }
    for (int i = 0; i < u->inflight_count; i++) {
        runs[count++] = u->inflight[i];
    }
    for (int i = 0; i < u->retired_count; i++) {
        runs[count++] = u->retired[i];
    }
    for (int i = 0; i < count; i++) {
        run_abort(runs[i]);
    }
    for (int i = 0; i < count; i++) {
        run_end(runs[i]);
    }
    ul_seg_encoder_free(u->enc);
    ts_ec_free(u->ec);
    ts_buf_release(&u->enc_key);
    ts_buf_release(&u->meta);
    ts_buf_release(&u->stream_id);
    ts_buf_release(&u->etag_sealed);
    ts_sha256_ctx_free(u->sha);
    ts_wipe(u->kek, sizeof(u->kek));
    ts_wipe(u->head, sizeof(u->head));
    ts_wipe(u->seg_key, sizeof(u->seg_key));
    free(u);
}

/* ------------------------------------------------------------------------------------------ */
/* Multipart parts (uplink/multipart.c drives them)                                            */

ts_err ul_upload_part_begin(struct ul_project *p, const char *bucket, const char *key,
                            const uint8_t *stream_id, size_t stream_id_len, uint32_t part,
                            struct ul_upload **out)
{
    ts_err err = ul_upload_begin(p, bucket, key, NULL, out);
    struct ul_upload *u = *out;
    if (err == TS_OK) {
        u->part = part;
        u->part_mode = true;
        err = ts_buf_append(&u->stream_id, stream_id, stream_id_len);
    }
    if (err == TS_OK) {
        err = ts_sha256_ctx_new(&u->sha);
    }
    if (err != TS_OK && u != NULL) {
        ul_upload_abort(u);
        *out = NULL;
    }
    return err;
}

ts_err ul_upload_part_set_etag(struct ul_upload *u, const char *etag)
{
    size_t len = strlen(etag);
    if (len == 0 || len > UL_ETAG_MAX) {
        return ul_fail(TS_ERR_INVALID_ARGUMENT, "a part ETag is 1..%d bytes", UL_ETAG_MAX);
    }
    memcpy(u->etag, etag, len + 1);
    return TS_OK;
}

/* The part's ETag (the caller's, else hex SHA-256 of the plaintext) sealed under a key derived
 * from the object's content key: nonce (24) || AES-GCM(etag). */
static ts_err part_etag_seal(struct ul_upload *u)
{
    uint8_t digest[TS_SHA256_SIZE], mac[TS_SHA512_SIZE], nonce[24];
    ts_err err = TS_OK;
    if (u->etag[0] == '\0') {
        err = ts_sha256_ctx_final(u->sha, digest);
        for (size_t i = 0; err == TS_OK && i < sizeof(digest); i++) {
            snprintf(u->etag + 2 * i, 3, "%02x", digest[i]);
        }
    }
    size_t len = strlen(u->etag);
    uint8_t sealed[24 + UL_ETAG_MAX + TS_GCM_TAG_SIZE];
    err = err ? err : ul_part_etag_key(u->kek, mac);
    err = err ? err : ts_random_bytes(nonce, sizeof(nonce));
    memcpy(sealed, nonce, sizeof(nonce));
    err = err ? err : ts_aesgcm_seal(mac, nonce, (const uint8_t *)u->etag, len, sealed + 24);
    ts_wipe(mac, sizeof(mac));
    ts_buf_clear(&u->etag_sealed);
    return err ? err : ts_buf_append(&u->etag_sealed, sealed, 24 + len + TS_GCM_TAG_SIZE);
}

/* A part that ends in (or is) a small segment: MakeInlineSegment with the ETag. */
static ts_err part_inline(struct ul_upload *u)
{
    struct inline_seg seg;
    Tessera__Metainfo__RequestHeader h;
    Tessera__Metainfo__MakeInlineSegmentRequest mi =
        TESSERA__METAINFO__MAKE_INLINE_SEGMENT_REQUEST__INIT;
    ts_err err = inline_segment_fill(u, &seg, &h, &mi);
    if (err != TS_OK) {
        return err;
    }
    mi.encrypted_etag.data = u->etag_sealed.data;
    mi.encrypted_etag.len = u->etag_sealed.len;
    ProtobufCMessage *resp = NULL;
    err = ul_meta_call(u->p, "MakeInlineSegment", &mi.base,
                       &tessera__metainfo__make_inline_segment_response__descriptor, &resp);
    if (resp != NULL) {
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    return err;
}

ts_err ul_upload_part_commit(struct ul_upload *u, uint64_t *size, char etag[UL_ETAG_MAX + 1])
{
    bool inline_last = u->head_fill > 0 || (u->seg_index == 0 && u->cur == NULL);
    ts_err err = u->err;
    if (err == TS_OK && u->cur != NULL) {
        err = segment_seal(u);
    }
    if (err == TS_OK) {
        err = part_etag_seal(u);
    }
    if (err == TS_OK && !inline_last && u->inflight_count > 0) {
        u->inflight[u->inflight_count - 1]->last = true;
    }
    while (err == TS_OK && u->inflight_count > 0) {
        err = finalize_oldest(u);
    }
    if (err == TS_OK && inline_last) {
        err = part_inline(u);
    }
    if (err == TS_OK) {
        *size = u->plain_total;
        memcpy(etag, u->etag, UL_ETAG_MAX + 1);
    }
    if (err != TS_OK) {
        u->err = err;
    }
    ul_upload_abort(u);
    return err;
}
