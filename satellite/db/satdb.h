/*
 * The satellite's database: schema migrations and every query, over core/db (SQLite by default,
 * PostgreSQL for scale; the SQL is the subset both accept). Logic lives in the services
 * (metainfo, overlay, orders); this layer only moves rows. Every function takes a connection so
 * callers compose several of them inside one ts_db_tx transaction.
 *
 * Tables: projects, api_keys, revocations, buckets, objects, segments, node_aliases, nodes,
 * serials, node_windows, node_bandwidth, bucket_bandwidth. docs/satellite.md has the schema.
 * Byte strings are BYTEA; times are Unix seconds (BIGINT, 0 = none); ids are random 16 bytes.
 * Errors: TS_ERR_NOT_FOUND (no such row), TS_ERR_EXISTS (unique key taken), TS_ERR_MALFORMED (a
 * stored value fails its size check: corrupt DB), and core/db's DB/BUSY/UNAVAILABLE.
 */
#ifndef SAT_DB_SATDB_H
#define SAT_DB_SATDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "db/db.h"
#include "satellite/overlay/select.h"

#define SAT_ID_SIZE 16
#define SAT_SALT_SIZE 16
#define SAT_HEAD_SIZE 32
#define SAT_SECRET_SIZE 32
#define SAT_TAIL_SIZE 32
#define SAT_NAME_MAX 100       /* project and API key names, bytes */
#define SAT_WRAPPED_KEY_MAX 64 /* encrypted 32-byte keys (48 with the GCM tag) */
/* Inline segment ciphertext: the 4 KiB plaintext limit plus the AES-GCM tag and slack. */
#define SAT_INLINE_ENCRYPTED_MAX (TS_INLINE_SIZE_MAX + 64)
#define SAT_PIECES_ENCODED_MAX (1 + TS_EC_SHARES_MAX * 8)
#define SAT_VERSION_TEXT_MAX 32
#define SAT_WALLET_MAX 64
#define SAT_EMAIL_MAX 254
/* A part's encrypted ETag as the uplink sends it (nonce + sealed text), bytes. */
#define SAT_ETAG_ENCRYPTED_MAX 256

enum sat_object_status { SAT_OBJECT_PENDING = 1, SAT_OBJECT_COMMITTED = 3 };

struct sat_project {
    uint8_t id[SAT_ID_SIZE];
    char name[SAT_NAME_MAX + 1];
    uint8_t salt[SAT_SALT_SIZE];
    int64_t created_at;
};

struct sat_api_key {
    uint8_t id[SAT_ID_SIZE];
    uint8_t head[SAT_HEAD_SIZE];
    uint8_t secret[SAT_SECRET_SIZE]; /* wipe after use */
    uint8_t project_id[SAT_ID_SIZE];
    char name[SAT_NAME_MAX + 1];
    int64_t created_at;
};

struct sat_bucket {
    uint8_t project_id[SAT_ID_SIZE];
    uint8_t name[TS_BUCKET_NAME_MAX];
    size_t name_len;
    int64_t created_at;
    int64_t placement;
};

/* One object version. ~6.3 KB: keep it on the heap in loops. */
struct sat_object {
    uint8_t project_id[SAT_ID_SIZE];
    uint8_t bucket[TS_BUCKET_NAME_MAX];
    size_t bucket_len;
    uint8_t key[TS_ENCRYPTED_KEY_MAX]; /* encrypted object key */
    size_t key_len;
    int64_t version;
    uint8_t stream_id[SAT_ID_SIZE];
    int status; /* enum sat_object_status */
    int64_t created_at;
    int64_t expires_at;      /* 0 = never */
    int64_t zombie_deadline; /* pending objects are deleted after this; 0 once committed */
    int64_t segment_count;
    int64_t total_plain_size;
    int64_t total_encrypted_size;
    uint8_t metadata[TS_METADATA_ENCRYPTED_MAX];
    size_t metadata_len;
    uint8_t metadata_key[SAT_WRAPPED_KEY_MAX];
    size_t metadata_key_len;
    uint8_t metadata_nonce[TS_NONCE_SIZE];
    size_t metadata_nonce_len;
    int64_t encryption; /* cipher_suite << 32 | block_size */
    int64_t redundancy; /* sat_redundancy_pack */
    int multipart;      /* 1: a multipart upload (listable while pending; parts in positions) */
};

struct sat_segment {
    uint8_t stream_id[SAT_ID_SIZE];
    int64_t position;          /* part << 32 | index */
    uint8_t root_piece_id[32]; /* zero for inline segments */
    uint8_t key_nonce[TS_NONCE_SIZE];
    size_t key_nonce_len;
    uint8_t encrypted_key[SAT_WRAPPED_KEY_MAX];
    size_t encrypted_key_len;
    int64_t encrypted_size;
    int64_t plain_offset;
    int64_t plain_size;
    int64_t redundancy;
    uint8_t inline_data[SAT_INLINE_ENCRYPTED_MAX];
    size_t inline_len;
    bool is_inline;
    uint8_t pieces[SAT_PIECES_ENCODED_MAX]; /* sat_alias_pieces encoding; remote only */
    size_t pieces_len;
    int64_t created_at;
    int64_t expires_at;
    uint8_t etag[SAT_ETAG_ENCRYPTED_MAX]; /* multipart: set on a part's last segment only */
    size_t etag_len;
};

/* The part of a segment row that part listing and copies need (no piece list, no inline data). */
struct sat_segment_brief {
    int64_t position;
    int64_t plain_size;
    int64_t created_at;
    uint8_t key_nonce[TS_NONCE_SIZE];
    size_t key_nonce_len;
    uint8_t encrypted_key[SAT_WRAPPED_KEY_MAX];
    size_t encrypted_key_len;
    uint8_t etag[SAT_ETAG_ENCRYPTED_MAX];
    size_t etag_len;
};

/* A segment's wrapped content key, re-wrapped by the uplink for a copy or move. */
struct sat_segment_key {
    int64_t position;
    uint8_t key_nonce[TS_NONCE_SIZE];
    size_t key_nonce_len;
    uint8_t encrypted_key[SAT_WRAPPED_KEY_MAX];
    size_t encrypted_key_len;
};

struct sat_node {
    uint8_t id[TS_NODE_ID_SIZE];
    char address[SAT_ADDRESS_MAX];
    char last_net[SAT_LAST_NET_MAX];
    uint8_t public_key[TS_PUBLIC_KEY_DER_MAX]; /* leaf key DER, verifies receipts */
    size_t public_key_len;
    int64_t free_disk;
    char version[SAT_VERSION_TEXT_MAX];
    char wallet[SAT_WALLET_MAX + 1];
    char email[SAT_EMAIL_MAX + 1];
    int64_t last_contact_success;
    int64_t last_contact_failure;
    int64_t vetted_at;       /* 0 = unvetted */
    int64_t disqualified_at; /* 0 = in good standing */
    int64_t exit_initiated_at;
    int64_t exit_finished_at;
    double audit_alpha;
    double audit_beta;
    int64_t created_at;
    uint32_t alias;
};

/* ---- Schema ---- */
/* Applies every migration not yet applied (schema name "satellite"). */
TS_WARN_UNUSED ts_err sat_db_migrate(struct ts_db *db);
/* The newest schema version this build knows. */
int64_t sat_db_schema_latest(void);

/* ---- Projects, API keys, revocations ---- */
TS_WARN_UNUSED ts_err sat_db_project_insert(struct ts_db_conn *c, const struct sat_project *p);
TS_WARN_UNUSED ts_err sat_db_project_get(struct ts_db_conn *c, const uint8_t id[SAT_ID_SIZE],
                                         struct sat_project *out);
TS_WARN_UNUSED ts_err sat_db_api_key_insert(struct ts_db_conn *c, const struct sat_api_key *k);
TS_WARN_UNUSED ts_err sat_db_api_key_get_by_head(struct ts_db_conn *c,
                                                 const uint8_t head[SAT_HEAD_SIZE],
                                                 struct sat_api_key *out);
/* Calls fn for every key (of one project when project_id is not NULL), ordered by creation.
 * The secret is not read (zeroed). fn's error stops the walk and is returned. */
typedef ts_err (*sat_api_key_fn)(const struct sat_api_key *k, void *ctx);
TS_WARN_UNUSED ts_err sat_db_api_key_list(struct ts_db_conn *c, const uint8_t *project_id,
                                          sat_api_key_fn fn, void *ctx);
/* Records a revoked tail (idempotent). */
TS_WARN_UNUSED ts_err sat_db_revocation_insert(struct ts_db_conn *c,
                                               const uint8_t tail[SAT_TAIL_SIZE],
                                               const uint8_t api_key_id[SAT_ID_SIZE]);
/* *revoked = true when any of the count tails (32 bytes each, contiguous) is revoked. A "not
 * revoked" answer is cached per final tail (the last one) for SAT_REVOCATION_CACHE_TTL_S
 * (revcache.c): a revocation inserted by another process takes effect within that time. */
TS_WARN_UNUSED ts_err sat_db_revocation_any(struct ts_db_conn *c, const uint8_t *tails,
                                            size_t count, bool *revoked);
/* The revocation cache (process-wide, 1024 entries). ttl 0 disables it; clear empties it. */
#define SAT_REVOCATION_CACHE_TTL_S 5
void sat_db_revocation_cache_set_ttl(int64_t ttl_s);
void sat_db_revocation_cache_clear(void);
bool sat_db_revocation_cache_hit(const uint8_t tail[SAT_TAIL_SIZE], int64_t now_s);
void sat_db_revocation_cache_store(const uint8_t tail[SAT_TAIL_SIZE], int64_t now_s);

/* ---- Buckets ---- */
TS_WARN_UNUSED ts_err sat_db_bucket_insert(struct ts_db_conn *c, const struct sat_bucket *b);
TS_WARN_UNUSED ts_err sat_db_bucket_get(struct ts_db_conn *c, const uint8_t project[SAT_ID_SIZE],
                                        const uint8_t *name, size_t name_len,
                                        struct sat_bucket *out);
/* Buckets with name > cursor in name order, at most limit (out holds limit entries); *more says
 * whether another page exists. */
TS_WARN_UNUSED ts_err sat_db_bucket_list(struct ts_db_conn *c, const uint8_t project[SAT_ID_SIZE],
                                         const uint8_t *cursor, size_t cursor_len, size_t limit,
                                         struct sat_bucket *out, size_t *count, bool *more);
TS_WARN_UNUSED ts_err sat_db_bucket_count(struct ts_db_conn *c, const uint8_t project[SAT_ID_SIZE],
                                          int64_t *count);
/* TS_ERR_NOT_FOUND when absent. Does not touch objects. */
TS_WARN_UNUSED ts_err sat_db_bucket_delete(struct ts_db_conn *c, const uint8_t project[SAT_ID_SIZE],
                                           const uint8_t *name, size_t name_len);
/* *empty = true when the bucket holds no object (pending or committed). */
TS_WARN_UNUSED ts_err sat_db_bucket_is_empty(struct ts_db_conn *c,
                                             const uint8_t project[SAT_ID_SIZE],
                                             const uint8_t *name, size_t name_len, bool *empty);
/* Deletes every object of the bucket and their segments; *deleted (may be NULL) counts objects. */
TS_WARN_UNUSED ts_err sat_db_bucket_delete_objects(struct ts_db_conn *c,
                                                   const uint8_t project[SAT_ID_SIZE],
                                                   const uint8_t *name, size_t name_len,
                                                   int64_t *deleted);

/* ---- Objects ---- */
/* Inserts a pending object at the next free version of its key (stored into o->version). */
TS_WARN_UNUSED ts_err sat_db_object_insert_pending(struct ts_db_conn *c, struct sat_object *o);
/* The committed object at a key (there is at most one). */
TS_WARN_UNUSED ts_err sat_db_object_get_committed(struct ts_db_conn *c,
                                                  const uint8_t project[SAT_ID_SIZE],
                                                  const uint8_t *bucket, size_t bucket_len,
                                                  const uint8_t *key, size_t key_len,
                                                  struct sat_object *out);
/* An object (any status) by its stream id. */
TS_WARN_UNUSED ts_err sat_db_object_get_by_stream(struct ts_db_conn *c,
                                                  const uint8_t stream_id[SAT_ID_SIZE],
                                                  struct sat_object *out);
/* Commits the pending object with o->stream_id: numbers its segments' plain offsets, sums sizes,
 * stores the metadata fields of o, deletes any other committed version at the key (with its
 * segments) and flips the status. Call inside one transaction. TS_ERR_NOT_FOUND when no pending
 * object has that stream id. On success o is the committed row. */
TS_WARN_UNUSED ts_err sat_db_object_commit(struct ts_db_conn *c, struct sat_object *o);
/* Deletes the committed object at a key and its segments; the deleted row goes to out (may be
 * NULL). TS_ERR_NOT_FOUND when there is none. */
TS_WARN_UNUSED ts_err sat_db_object_delete_committed(struct ts_db_conn *c,
                                                     const uint8_t project[SAT_ID_SIZE],
                                                     const uint8_t *bucket, size_t bucket_len,
                                                     const uint8_t *key, size_t key_len,
                                                     struct sat_object *out);
/* Committed objects of a bucket with start <= key (start_exclusive: start < key) and, when end is
 * not NULL, key < end, in key order, at most limit rows; fn gets each (o is reused between
 * calls). fn sets *stop to end early. */
typedef ts_err (*sat_object_fn)(const struct sat_object *o, void *ctx, bool *stop);
TS_WARN_UNUSED ts_err sat_db_objects_scan(struct ts_db_conn *c, const uint8_t project[SAT_ID_SIZE],
                                          const uint8_t *bucket, size_t bucket_len,
                                          const uint8_t *start, size_t start_len,
                                          bool start_exclusive, const uint8_t *end, size_t end_len,
                                          size_t limit, sat_object_fn fn, void *ctx);
/* Deletes up to limit pending objects whose zombie deadline is before now, with their segments.
 * *deleted counts objects. */
TS_WARN_UNUSED ts_err sat_db_objects_delete_zombies(struct ts_db_conn *c, int64_t now, size_t limit,
                                                    int64_t *deleted);
/* Deletes up to limit committed objects whose expires_at (non-zero) is before now. */
TS_WARN_UNUSED ts_err sat_db_objects_delete_expired(struct ts_db_conn *c, int64_t now, size_t limit,
                                                    int64_t *deleted);

/* ---- Segments ---- */
/* Stores a segment, replacing one at the same (stream_id, position) (an uplink retry). */
TS_WARN_UNUSED ts_err sat_db_segment_put(struct ts_db_conn *c, const struct sat_segment *s);
/* Segments of a stream with position >= from in position order, at most limit (out holds
 * limit); *more says whether another exists. */
TS_WARN_UNUSED ts_err sat_db_segments_list(struct ts_db_conn *c,
                                           const uint8_t stream_id[SAT_ID_SIZE], int64_t from,
                                           size_t limit, struct sat_segment *out, size_t *count,
                                           bool *more);

/* The position of the committed segment holding plain byte plain_offset (the last segment
 * starting at or before it; 0 when the stream has none). */
TS_WARN_UNUSED ts_err sat_db_segment_at_offset(struct ts_db_conn *c,
                                               const uint8_t stream_id[SAT_ID_SIZE],
                                               int64_t plain_offset, int64_t *position);

/* ---- Multipart uploads, copies, moves (multipart.c, copy.c) ---- */
/* Calls fn for each segment of a stream with from <= position <= to, in position order (s is
 * reused between calls); fn sets *stop to end early. */
typedef ts_err (*sat_segment_brief_fn)(const struct sat_segment_brief *s, void *ctx, bool *stop);
TS_WARN_UNUSED ts_err sat_db_segments_scan_brief(struct ts_db_conn *c,
                                                 const uint8_t stream_id[SAT_ID_SIZE], int64_t from,
                                                 int64_t to, sat_segment_brief_fn fn, void *ctx);
/* Deletes a stream's segments with from <= position <= to; *deleted (may be NULL) counts them. */
TS_WARN_UNUSED ts_err sat_db_segments_delete_range(struct ts_db_conn *c,
                                                   const uint8_t stream_id[SAT_ID_SIZE],
                                                   int64_t from, int64_t to, int64_t *deleted);
/* Pending multipart objects of a bucket whose key starts with prefix (prefix_len 0 = all), after
 * (cursor_key, cursor_version) in (key, version) order, at most limit; fn as sat_db_objects_scan.
 */
TS_WARN_UNUSED ts_err sat_db_objects_pending_scan(
    struct ts_db_conn *c, const uint8_t project[SAT_ID_SIZE], const uint8_t *bucket,
    size_t bucket_len, const uint8_t *prefix, size_t prefix_len, const uint8_t *cursor_key,
    size_t cursor_len, int64_t cursor_version, size_t limit, sat_object_fn fn, void *ctx);
/* Deletes the pending object with stream_id and its segments (*segments may be NULL).
 * TS_ERR_NOT_FOUND when no pending object has that stream id. */
TS_WARN_UNUSED ts_err sat_db_object_delete_pending(struct ts_db_conn *c,
                                                   const uint8_t stream_id[SAT_ID_SIZE],
                                                   int64_t *segments);
/* Replaces the metadata fields of the committed object at a key with those of meta (and only if
 * its stream id is stream_id, when not NULL). TS_ERR_NOT_FOUND otherwise. */
TS_WARN_UNUSED ts_err sat_db_object_update_metadata(struct ts_db_conn *c,
                                                    const uint8_t project[SAT_ID_SIZE],
                                                    const uint8_t *bucket, size_t bucket_len,
                                                    const uint8_t *key, size_t key_len,
                                                    const uint8_t *stream_id,
                                                    const struct sat_object *meta);
/* Server-side copy, in the caller's transaction: the committed object with src_stream gets a new
 * object row at dst's project/bucket/key (dst->stream_id fresh, metadata fields from dst; sizes,
 * counts, encryption, redundancy and expiration from the source) whose segment rows copy the
 * source's (same root piece IDs and piece lists: the pieces are shared, see docs/satellite.md)
 * with the n re-wrapped keys, one per source segment (TS_ERR_INVALID_ARGUMENT when they do not
 * match the source's positions). Any committed object at the destination is replaced. On success
 * dst is the committed row. TS_ERR_NOT_FOUND when the source is gone. */
TS_WARN_UNUSED ts_err sat_db_object_copy(struct ts_db_conn *c,
                                         const uint8_t src_stream[SAT_ID_SIZE],
                                         struct sat_object *dst, const struct sat_segment_key *keys,
                                         size_t n);
/* Server-side move: the committed object with src_stream takes the key of dst (bucket, key) at
 * the next version there, with the metadata key/nonce of dst and the n re-wrapped segment keys;
 * any other committed object at the destination is replaced. On success dst is the moved row. */
TS_WARN_UNUSED ts_err sat_db_object_move(struct ts_db_conn *c,
                                         const uint8_t src_stream[SAT_ID_SIZE],
                                         struct sat_object *dst, const struct sat_segment_key *keys,
                                         size_t n);

/* ---- Nodes and aliases ---- */
/* Creates or refreshes a node from a check-in: address, last_net, public key, free disk,
 * version, wallet, email, and last_contact_success (ping ok) or _failure = now. Gives a new node
 * an alias. */
TS_WARN_UNUSED ts_err sat_db_node_checkin(struct ts_db_conn *c, const struct sat_node *n,
                                          bool ping_ok, int64_t now);
TS_WARN_UNUSED ts_err sat_db_node_get(struct ts_db_conn *c, const uint8_t id[TS_NODE_ID_SIZE],
                                      struct sat_node *out);
/* Admin and reputation updates (0 clears). */
TS_WARN_UNUSED ts_err sat_db_node_set_vetted(struct ts_db_conn *c,
                                             const uint8_t id[TS_NODE_ID_SIZE], int64_t at);
TS_WARN_UNUSED ts_err sat_db_node_set_disqualified(struct ts_db_conn *c,
                                                   const uint8_t id[TS_NODE_ID_SIZE], int64_t at);
TS_WARN_UNUSED ts_err sat_db_node_set_exit_initiated(struct ts_db_conn *c,
                                                     const uint8_t id[TS_NODE_ID_SIZE], int64_t at);
/* Candidates for uploads: contact success at or after online_since and newer than the last
 * failure, not disqualified, not exiting, free_disk >= free_min. A malloc'd array (caller frees)
 * of at most max entries. */
TS_WARN_UNUSED ts_err sat_db_nodes_selectable(struct ts_db_conn *c, int64_t online_since,
                                              int64_t free_min, size_t max,
                                              struct sat_node_candidate **out, size_t *count);
/* The alias of a node (TS_ERR_NOT_FOUND if it never checked in). */
TS_WARN_UNUSED ts_err sat_db_node_alias_get(struct ts_db_conn *c, const uint8_t id[TS_NODE_ID_SIZE],
                                            uint32_t *alias);
/* Nodes by alias: out[i] describes aliases[i] (count <= TS_EC_SHARES_MAX); an alias with no node
 * leaves out[i].alias = 0. */
TS_WARN_UNUSED ts_err sat_db_nodes_by_alias(struct ts_db_conn *c, const uint32_t *aliases,
                                            size_t count, struct sat_node *out);

/* ---- Serials and bandwidth ---- */
/* Remembers which bucket a serial's traffic belongs to, until expires_at. */
TS_WARN_UNUSED ts_err sat_db_serial_insert(struct ts_db_conn *c, const uint8_t serial[16],
                                           const uint8_t project[SAT_ID_SIZE],
                                           const uint8_t *bucket, size_t bucket_len,
                                           int64_t expires_at);
TS_WARN_UNUSED ts_err sat_db_serial_get(struct ts_db_conn *c, const uint8_t serial[16],
                                        uint8_t project[SAT_ID_SIZE], uint8_t *bucket,
                                        size_t *bucket_len);
TS_WARN_UNUSED ts_err sat_db_serials_delete_expired(struct ts_db_conn *c, int64_t now,
                                                    int64_t *deleted);
/* Adds amount bytes of action to a bucket's hour: allocated (order limits issued) or settled. */
TS_WARN_UNUSED ts_err sat_db_bucket_bandwidth_add(struct ts_db_conn *c,
                                                  const uint8_t project[SAT_ID_SIZE],
                                                  const uint8_t *bucket, size_t bucket_len,
                                                  int64_t hour, int action, int64_t allocated,
                                                  int64_t settled);
/* Sums over hours in [from, to). */
TS_WARN_UNUSED ts_err sat_db_bucket_bandwidth_total(struct ts_db_conn *c,
                                                    const uint8_t project[SAT_ID_SIZE],
                                                    const uint8_t *bucket, size_t bucket_len,
                                                    int64_t from, int64_t to, int action,
                                                    int64_t *allocated, int64_t *settled);
/* A settled window: found = false when the node never settled it. */
TS_WARN_UNUSED ts_err sat_db_node_window_get(struct ts_db_conn *c,
                                             const uint8_t node[TS_NODE_ID_SIZE], int64_t window,
                                             bool *found, int64_t *total, int64_t *items);
TS_WARN_UNUSED ts_err sat_db_node_window_insert(struct ts_db_conn *c,
                                                const uint8_t node[TS_NODE_ID_SIZE], int64_t window,
                                                int64_t total, int64_t items, int64_t now);
TS_WARN_UNUSED ts_err sat_db_node_bandwidth_add(struct ts_db_conn *c,
                                                const uint8_t node[TS_NODE_ID_SIZE], int64_t window,
                                                int action, int64_t amount);
/* Settled bytes of a node over windows in [from, to); action < 0 sums every action. */
TS_WARN_UNUSED ts_err sat_db_node_bandwidth_total(struct ts_db_conn *c,
                                                  const uint8_t node[TS_NODE_ID_SIZE], int64_t from,
                                                  int64_t to, int action, int64_t *total);

#endif
