/*
 * Internals of libtessera shared by its files: the project (identity, connection pool,
 * satellite client, buffer slots), error details, and the metainfo client. Not installed.
 */
#ifndef UL_INTERNAL_H
#define UL_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "base/base.h"
#include "base/buf.h"
#include "identity/identity.h"
#include "metainfo.pb-c.h"
#include "tessera/uplink.h"

struct ts_rpc_pool;
struct ts_ec;

/* ---- Limits of the uplink (see docs/uplink.md) ---- */
/* Segments of one upload in flight at once (each holds a slot of n piece buffers). */
#define UL_PARALLELISM_DEFAULT 2
#define UL_PARALLELISM_MAX 4
/* Buffer slots a project keeps for reuse, and the most it has at once across uploads and
 * downloads; acquiring past it waits for a slot to come back. */
#define UL_SLOTS_MAX 8
/* Free slots kept however long they sit unused (an upload's default parallelism), and how long
 * any further one may sit before its memory goes back to the system. */
#define UL_SLOTS_KEPT 2
#define UL_SLOT_IDLE_MS 30000
/* Piece streams (threads) per segment unless configured. */
#define UL_PIECE_STREAMS_DEFAULT 120
#define UL_PIECE_STREAMS_MAX 256
/* Stack of a piece-stream thread: it keeps no big buffers on the stack. */
#define UL_THREAD_STACK_SIZE (256u * 1024)
/* Items asked per listing page. */
#define UL_LIST_PAGE 256
/* Satellite calls refused as BUSY (rate limited) are tried again this many times, after
 * 50, 100, 200, 400 ms. */
#define UL_BUSY_RETRIES 4
#define UL_BUSY_BACKOFF_MS 50
/* Satellite responses whose error text we keep for ul_error_detail. */
#define UL_DETAIL_MAX 512
/* A satellite-signed StreamID or SegmentID (the satellite's bound: 110 pieces with their node
 * IDs are ~4.5 KB, a stream ID carries an encrypted key of up to 4,000 bytes). */
#define UL_SIGNED_ID_MAX (16u * 1024)

/* ---- Errors ---- */

/* Records a detail for ul_error_detail (printf-style) and returns err. */
ts_err ul_fail(ts_err err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Clears the calling thread's detail (at the start of each public call). */
void ul_detail_clear(void);

/* ---- Buffer slots: n piece buffers of piece_cap bytes, reused across segments ---- */

struct ul_slot {
    uint8_t **pieces; /* count buffers */
    int count;
    size_t piece_cap;
    int64_t idle_since_ms; /* monotonic time it came back to the free list */
    struct ul_slot *next;  /* in the project's free list (most recently released first) */
};

/* ---- Project ---- */

struct ul_project {
    struct ul_access *access; /* own copy */
    struct ts_identity *identity;
    struct ts_rpc_pool *pool;
    struct ts_node_url satellite;
    uint8_t *api_key; /* raw macaroon bytes */
    size_t api_key_len;
    char user_agent[128];
    int piece_streams_max;
    int request_timeout_ms;

    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct ul_slot *free_slots;
    int slots_out;    /* slots handed out */
    int threads_live; /* worker threads started and not yet joined */
};

/* Takes a slot with at least count buffers of piece_cap bytes (reallocating a pooled one that is
 * smaller), waiting while UL_SLOTS_MAX are out. */
TS_WARN_UNUSED ts_err ul_slot_acquire(struct ul_project *p, int count, size_t piece_cap,
                                      struct ul_slot **out);
void ul_slot_release(struct ul_project *p, struct ul_slot *slot);

/* ---- Worker crews: the threads of one job (a segment's piece streams) ---- */
/*
 * Every thread the library starts belongs to a crew and is joined (ul_crew_join) before the call
 * that owns the job returns: upload commit/abort, download close. Each worker publishes the RPC
 * stream it is using, so ul_crew_abort_locked can abort them all at once (ts_rpc_stream_abort)
 * instead of waiting for a blocked read or write to time out. A crew borrows its job's mutex:
 * `running`, `aborted` and `streams` are guarded by it.
 */
struct ul_crew;
struct ul_worker {
    struct ul_crew *crew;
    int index;
    void *job;
};
struct ul_crew {
    struct ul_project *p;
    pthread_mutex_t *mu; /* the job's lock (borrowed) */
    void (*fn)(struct ul_worker *);
    struct ul_worker *workers;      /* capacity entries */
    pthread_t *threads;             /* started entries */
    struct ts_rpc_stream **streams; /* streams[i]: worker i's open stream, or NULL */
    int capacity;
    int started;  /* threads started (all joinable) */
    int running;  /* started and not yet returned from fn */
    bool aborted; /* every stream was aborted; streams published later are aborted at once */
};

/* Prepares a crew of at most capacity threads guarded by mu. */
TS_WARN_UNUSED ts_err ul_crew_init(struct ul_crew *c, struct ul_project *p, pthread_mutex_t *mu,
                                   int capacity);
/* Starts count (<= capacity) threads running fn(worker) with worker->job = job, small stacks.
 * Starting fewer is not an error (fewer streams are only slower): TS_ERR_NOMEM only when none
 * started. Call once. */
TS_WARN_UNUSED ts_err ul_crew_start(struct ul_crew *c, int count, void (*fn)(struct ul_worker *),
                                    void *job);
/* With c->mu held: aborts every published stream now and marks the crew so later ones are
 * aborted as they are published. The job's own cancel flag and condition are the caller's. */
void ul_crew_abort_locked(struct ul_crew *c);
/* With c->mu held: true when no worker is still running its function. */
bool ul_crew_idle_locked(const struct ul_crew *c);
/* Joins every started thread (c->mu must NOT be held: workers take it on their way out). */
void ul_crew_join(struct ul_crew *c);
/* Frees the arrays; the crew must be joined (or never started). */
void ul_crew_release(struct ul_crew *c);

/* Called by a worker around each RPC stream it opens (the piecestore client): after opening and
 * before ts_rpc_stream_finish. A stream published to an aborted crew is aborted at once, and one
 * withdrawn from an aborted crew is aborted too, so finishing it does not wait for a drain.
 * w may be NULL (no crew: nothing to do). */
void ul_worker_stream_set(struct ul_worker *w, struct ts_rpc_stream *s);
void ul_worker_stream_clear(struct ul_worker *w, struct ts_rpc_stream *s);

/* ---- Metainfo client ---- */

/* Fills the request header for every satellite request. */
void ul_meta_header(struct ul_project *p, Tessera__Metainfo__RequestHeader *h);
/* One unary call to the satellite's Metainfo service. On a satellite error, the error's text
 * becomes the thread's detail. */
TS_WARN_UNUSED ts_err ul_meta_call(struct ul_project *p, const char *method,
                                   const ProtobufCMessage *req,
                                   const ProtobufCMessageDescriptor *resp_desc,
                                   ProtobufCMessage **resp);

/* ---- Keys ---- */

/* The encrypted form of key in bucket and the object's content key (wraps segment and metadata
 * keys). TS_ERR_PERMISSION_DENIED when the grant holds no key for that path. */
TS_WARN_UNUSED ts_err ul_key_encrypt(struct ul_project *p, const char *bucket, const char *key,
                                     size_t key_len, struct ts_buf *enc, uint8_t content_key[32]);

/* ---- Object metadata (reference §3.3) ---- */

/* Serializes and encrypts user metadata: a fresh metadata key sealed under content_key. */
TS_WARN_UNUSED ts_err ul_meta_seal(const uint8_t content_key[32],
                                   const struct ul_metadata_entry *entries, size_t count,
                                   struct ts_buf *enc, uint8_t wrapped_key[48], uint8_t nonce[24]);
/* Decrypts metadata into info (allocating its storage with key as the info's key). */
TS_WARN_UNUSED ts_err ul_info_fill(struct ul_object_info *info, const char *key, size_t key_len,
                                   const uint8_t content_key[32], const uint8_t *enc,
                                   size_t enc_len, const uint8_t *wrapped_key, size_t wrapped_len,
                                   const uint8_t *nonce, size_t nonce_len);

/* ---- Multipart parts (upload.c part mode, driven by multipart.c) ---- */

/* A sealed part ETag: nonce (24) + text (at most UL_ETAG_MAX) + GCM tag. */
#define UL_ETAG_SEALED_MAX (24 + UL_ETAG_MAX + 16)
/* An upload of one part: segments at (part, index) of the multipart stream stream_id (a signed
 * StreamID). Write with ul_upload_write; finish with ul_upload_part_commit (always frees) or
 * ul_upload_abort. */
TS_WARN_UNUSED ts_err ul_upload_part_begin(struct ul_project *p, const char *bucket,
                                           const char *key, const uint8_t *stream_id,
                                           size_t stream_id_len, uint32_t part,
                                           struct ul_upload **out);
/* Replaces the default ETag (hex SHA-256 of the part's plaintext); 1..UL_ETAG_MAX bytes. */
TS_WARN_UNUSED ts_err ul_upload_part_set_etag(struct ul_upload *u, const char *etag);
/* Sends the rest; the last segment carries the sealed ETag. *size and etag describe the part. */
TS_WARN_UNUSED ts_err ul_upload_part_commit(struct ul_upload *u, uint64_t *size,
                                            char etag[UL_ETAG_MAX + 1]);
/* The key that seals part ETags: HMAC-SHA512(content key, "tessera part etag")[:32] in out[64]. */
TS_WARN_UNUSED ts_err ul_part_etag_key(const uint8_t content_key[32], uint8_t out[64]);

#endif
