/*
 * libtessera: the uplink library, Tessera's public C API.
 *
 * An application opens a project from an access grant (a string holding the satellite's address,
 * an API key and the encryption keys), then creates buckets and uploads, downloads, lists and
 * deletes objects. Everything is encrypted on this machine before it leaves: object keys with
 * keys derived from the grant, contents with a random key per 64 MiB segment. Segments are
 * erasure-coded into pieces that stream straight to storage nodes; the satellite only ever sees
 * ciphertext, encrypted keys and sizes. See docs/uplink.md for the pipelines and memory bounds.
 *
 * Conventions: every fallible call returns ul_err (UL_OK is 0; other values are the codes of
 * Tessera's error table, named UL_ERR_* below for the ones callers commonly test). ul_strerror()
 * gives the sentence, ul_error_detail() the specifics of the calling thread's last failure.
 * Handles are opaque; whoever opens/_new's a handle closes/_free's it; _free(NULL) is a no-op.
 * Strings are NUL-terminated UTF-8. A project may be used from several threads at once; one
 * upload, download or iterator belongs to one thread at a time.
 */
#ifndef TESSERA_UPLINK_H
#define TESSERA_UPLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UL_WARN_UNUSED __attribute__((warn_unused_result))

/* ------------------------------------------------------------------------------------------ */
/* Errors                                                                                      */

typedef int ul_err;

/* The codes callers usually branch on (same numbers as core/base/error.h; checked at build). */
enum {
    UL_OK = 0,
    UL_ERR_NOMEM = 1,
    UL_ERR_INVALID_ARGUMENT = 2,
    UL_ERR_TOO_LARGE = 3,
    UL_ERR_MALFORMED = 5,
    UL_ERR_AUTH_FAILED = 9,      /* data failed authentication (wrong key or tampering) */
    UL_ERR_NOT_ENOUGH_SHARES = 11, /* too few nodes answered to rebuild or store a segment */
    UL_ERR_NOT_FOUND = 13,       /* bucket or object does not exist */
    UL_ERR_EXISTS = 14,          /* bucket already exists */
    UL_ERR_PERMISSION_DENIED = 15, /* the access grant does not allow this */
    UL_ERR_TIMEOUT = 22,
    UL_ERR_CONNECT = 23,
    UL_ERR_CANCELED = 26,
    UL_ERR_NOT_EMPTY = 35,       /* bucket still holds objects (delete with force) */
    UL_ERR_BUSY = 21,            /* the satellite is rate limiting this project: retry later */
    UL_ERR_TOO_SMALL = 38,       /* a multipart part other than the last is below 5 MiB */
};

/* The sentence for err ("not found"); never NULL. */
const char *ul_strerror(ul_err err);
/* The symbolic name ("NOT_FOUND"); never NULL. */
const char *ul_errname(ul_err err);
/* Details of the calling thread's most recent failed call ("bucket \"photos\": not found",
 * "segment 3: 5 of 8 pieces stored, not enough nodes"), or "" when there are none. Valid until
 * the thread's next call into the library. */
const char *ul_error_detail(void);

/* Frees a string or buffer the library returned (serialized grants). NULL is a no-op. */
void ul_free(void *p);

/* ------------------------------------------------------------------------------------------ */
/* Access grants                                                                               */

/* A parsed access grant: satellite URL, API key (macaroon) and encryption store. Immutable. */
struct ul_access;

/* Parses a serialized grant (base58check text, at most 256 KiB). UL_ERR_MALFORMED for bad text
 * or checksum. *out is owned by the caller (ul_access_free). */
UL_WARN_UNUSED ul_err ul_access_parse(const char *grant, struct ul_access **out);

/* Creates a grant from an API key: dials satellite_url ("nodeid@host:port"), fetches the
 * project's salt and derives the root encryption key from passphrase with argon2id (64 MiB,
 * a fraction of a second). The same passphrase and project give the same keys anywhere.
 * Errors: UL_ERR_MALFORMED (API key or URL), UL_ERR_CONNECT / UL_ERR_TIMEOUT, the satellite's
 * verdict on the key (UL_ERR_PERMISSION_DENIED, ...). */
UL_WARN_UNUSED ul_err ul_access_request(const char *satellite_url, const char *api_key,
                                        const char *passphrase, struct ul_access **out);

/* Serializes a grant; *out is a NUL-terminated string freed with ul_free. */
UL_WARN_UNUSED ul_err ul_access_serialize(const struct ul_access *access, char **out);

/* The satellite URL the grant points at (owned by access). */
const char *ul_access_satellite_url(const struct ul_access *access);

/* What a derived grant may do. Zero-initialise and set what is allowed; times are Unix seconds,
 * 0 meaning unbounded. */
struct ul_permission {
    bool allow_download;
    bool allow_upload;
    bool allow_list;
    bool allow_delete;
    int64_t not_before_s;
    int64_t not_after_s;
};

/* A bucket and an optional key prefix ("" or NULL = the whole bucket). The prefix is cut at
 * whole '/' components: "photos/2024" shares "photos/2024/..." (a trailing '/' is ignored). */
struct ul_share_prefix {
    const char *bucket;
    const char *prefix;
};

/* Offline restriction ("share"): derives a grant that can do at most perm, only under the given
 * prefixes (none = every bucket the parent can reach), and carries only the keys for those
 * prefixes. Nothing is sent to the satellite; the restriction is a caveat nobody can remove.
 * UL_ERR_INVALID_ARGUMENT when perm allows nothing or a prefix lies outside the parent's keys. */
UL_WARN_UNUSED ul_err ul_access_share(const struct ul_access *access,
                                      const struct ul_permission *perm,
                                      const struct ul_share_prefix *prefixes, size_t prefix_count,
                                      struct ul_access **out);

void ul_access_free(struct ul_access *access);

/* ------------------------------------------------------------------------------------------ */
/* Projects                                                                                    */

struct ul_project;

/* Optional tuning; zero-initialise, 0 means the default. */
struct ul_config {
    const char *user_agent; /* sent with every satellite request; default "tessera-uplink" */
    int dial_timeout_ms;    /* per TCP+TLS dial; default 10,000 */
    int request_timeout_ms; /* per satellite request or idle piece stream; default 60,000 */
    int piece_streams_max;  /* concurrent piece streams per upload/download; default 120 */
};

/* Opens a project: creates a throwaway TLS identity and the connection pool. The satellite is
 * dialled lazily, so this only fails on bad arguments or resources. config may be NULL.
 * The project keeps its own copy of access. Close uploads, downloads and iterators first, then
 * the project with ul_project_close. Every thread the library starts for an upload or download
 * is joined before that upload's commit/abort or that download's close returns, so no library
 * code runs once ul_project_close has returned. */
UL_WARN_UNUSED ul_err ul_project_open(const struct ul_access *access,
                                      const struct ul_config *config, struct ul_project **out);
void ul_project_close(struct ul_project *project);

/* A project's counters since ul_project_open, for tools and benchmarks (e.g. `TESSERA_STATS=1
 * tessera cp ...`). Fields may be added at the end. */
struct ul_stats {
    uint64_t tls_handshakes;   /* full TLS handshakes with the satellite and nodes (a pooled
                                  connection reused does not count) */
    uint64_t connections_idle; /* pooled idle connections right now */
    uint64_t buffer_slots;     /* segment buffer slots held: in use + kept for reuse (each
                                  holds one in-flight segment's pieces) */
};

/* Fills *out. Thread-safe, no I/O. */
void ul_project_stats(struct ul_project *project, struct ul_stats *out);

/* Gives back to the system the segment buffers (beyond the two always kept) that no transfer
 * has used for idle_ms milliseconds; 0 = all of them. A project does this by itself when a
 * buffer comes back after 30 s of idleness of others; a long-lived process (a gateway) calls it
 * now and then so a past burst does not stay resident. Thread-safe, no I/O; NULL is a no-op. */
void ul_project_trim(struct ul_project *project, int idle_ms);

/* ------------------------------------------------------------------------------------------ */
/* Buckets (names are 3..63 characters: lower-case letters, digits, '-' and '.')              */

#define UL_BUCKET_NAME_MAX 63

struct ul_bucket_info {
    char name[UL_BUCKET_NAME_MAX + 1];
    int64_t created_s; /* Unix seconds */
};

/* info may be NULL. UL_ERR_EXISTS when the bucket exists (info is then filled if possible). */
UL_WARN_UNUSED ul_err ul_bucket_create(struct ul_project *project, const char *name,
                                       struct ul_bucket_info *info);
/* UL_ERR_NOT_FOUND when absent. */
UL_WARN_UNUSED ul_err ul_bucket_stat(struct ul_project *project, const char *name,
                                     struct ul_bucket_info *info);
/* UL_ERR_NOT_EMPTY when it holds objects and force is false; force deletes the objects too. */
UL_WARN_UNUSED ul_err ul_bucket_delete(struct ul_project *project, const char *name, bool force);

/* Iterates buckets in name order, fetching pages from the satellite as needed. */
struct ul_bucket_iter;
/* cursor: list names after this one (NULL or "" = from the start). */
UL_WARN_UNUSED ul_err ul_bucket_list(struct ul_project *project, const char *cursor,
                                     struct ul_bucket_iter **out);
/* *item points into it (valid until the next call); *item is NULL at the end. */
UL_WARN_UNUSED ul_err ul_bucket_iter_next(struct ul_bucket_iter *it,
                                          const struct ul_bucket_info **item);
void ul_bucket_iter_free(struct ul_bucket_iter *it);

/* ------------------------------------------------------------------------------------------ */
/* Objects: information, listing, deletion                                                    */

#define UL_OBJECT_KEY_MAX 1024

/* One user metadata pair (both NUL-terminated; at most ~2 KiB in total once encrypted). */
struct ul_metadata_entry {
    const char *key;
    const char *value;
};

struct ul_object_info {
    const char *key;      /* plaintext key; for a prefix it ends with '/' */
    bool is_prefix;       /* non-recursive listing: a "directory" holding more keys */
    uint64_t size;        /* plaintext bytes */
    int64_t created_s;    /* Unix seconds */
    int64_t expires_s;    /* Unix seconds, 0 = never */
    const struct ul_metadata_entry *metadata; /* metadata_count entries */
    size_t metadata_count;
    void *storage_; /* private: one allocation holding the strings above */
};

/* Frees what info points to (for infos filled by ul_object_stat) and zeroes it. */
void ul_object_info_release(struct ul_object_info *info);

/* Fills a caller-owned info (release with ul_object_info_release). UL_ERR_NOT_FOUND when the
 * object (or the bucket) does not exist. */
UL_WARN_UNUSED ul_err ul_object_stat(struct ul_project *project, const char *bucket,
                                     const char *key, struct ul_object_info *info);
/* Deletes the object; UL_ERR_NOT_FOUND when absent. Pieces are reclaimed by the nodes later. */
UL_WARN_UNUSED ul_err ul_object_delete(struct ul_project *project, const char *bucket,
                                       const char *key);

struct ul_list_options {
    const char *prefix; /* only keys under this prefix; must be "" or end with '/' */
    const char *cursor; /* continue after this key (from a previous listing) */
    bool recursive;     /* false: keys below the next '/' are folded into one prefix item */
    bool metadata;      /* also decrypt user metadata (costs more per item) */
};

struct ul_object_iter;
/* opts may be NULL (whole bucket, non-recursive). Object keys are encrypted component by
 * component, so the order is that of the ciphertexts, not alphabetical. */
UL_WARN_UNUSED ul_err ul_object_list(struct ul_project *project, const char *bucket,
                                     const struct ul_list_options *opts,
                                     struct ul_object_iter **out);
/* *item points into it (valid until the next call); *item is NULL at the end. An object whose
 * key does not decrypt with this grant's keys is skipped. */
UL_WARN_UNUSED ul_err ul_object_iter_next(struct ul_object_iter *it,
                                          const struct ul_object_info **item);
void ul_object_iter_free(struct ul_object_iter *it);

/* ------------------------------------------------------------------------------------------ */
/* Upload                                                                                      */

struct ul_upload_options {
    int64_t expires_s; /* Unix seconds after which nodes may drop the object; 0 = never */
    const struct ul_metadata_entry *metadata;
    size_t metadata_count;
    int parallelism; /* segments in flight at once, 1..4; default 2. Each in-flight segment
                        holds its n pieces in reusable buffers (about n/k x 64 MiB), see
                        docs/uplink.md for the memory bound */
};

struct ul_upload;

/* Starts an upload of bucket/key (key 1..1024 bytes). opts may be NULL. Nothing is visible
 * until ul_upload_commit. */
UL_WARN_UNUSED ul_err ul_upload_begin(struct ul_project *project, const char *bucket,
                                      const char *key, const struct ul_upload_options *opts,
                                      struct ul_upload **out);
/* Appends len bytes. Data is encrypted, erasure-coded and sent as each 64 MiB segment fills,
 * so memory stays bounded whatever the object size. After an error the upload can only be
 * aborted. */
UL_WARN_UNUSED ul_err ul_upload_write(struct ul_upload *upload, const void *data, size_t len);
/* Replaces the user metadata given to ul_upload_begin, for values known only once the data has
 * streamed (an S3 gateway's MD5 ETag); the metadata travels with the commit, so the object never
 * appears without it. Call before ul_upload_commit. UL_ERR_TOO_LARGE (the old metadata is kept,
 * the upload stays usable) past ~2 KiB encrypted; UL_ERR_INVALID_ARGUMENT for a part upload. */
UL_WARN_UNUSED ul_err ul_upload_set_metadata(struct ul_upload *upload,
                                             const struct ul_metadata_entry *metadata,
                                             size_t metadata_count);
/* Sends the last segment and commits: the object appears atomically (replacing an older object
 * of the same key). Always frees upload, whether it succeeds or not. info may be NULL; when
 * given it is filled on success and must be released with ul_object_info_release. */
UL_WARN_UNUSED ul_err ul_upload_commit(struct ul_upload *upload, struct ul_object_info *info);
/* Abandons the upload and frees it; pieces already stored are reclaimed by garbage collection.
 * NULL is a no-op. */
void ul_upload_abort(struct ul_upload *upload);

/* ------------------------------------------------------------------------------------------ */
/* Download                                                                                    */

struct ul_download_options {
    uint64_t offset; /* first plaintext byte */
    int64_t length;  /* bytes to read; < 0 = to the end. Ranges past the end are cut short. */
};

struct ul_download;

/* Opens bucket/key for reading (opts NULL = the whole object). Only the stripes covering the
 * range are fetched. UL_ERR_NOT_FOUND when the object does not exist. */
UL_WARN_UNUSED ul_err ul_download_open(struct ul_project *project, const char *bucket,
                                       const char *key, const struct ul_download_options *opts,
                                       struct ul_download **out);
/* Reads up to cap bytes into buf; *got is 0 only at the end of the range. Data is returned only
 * after it was authenticated (AES-GCM), so a lying node cannot inject bytes: it is detected and
 * other pieces are used. UL_ERR_NOT_ENOUGH_SHARES when too few honest nodes answer. */
UL_WARN_UNUSED ul_err ul_download_read(struct ul_download *download, void *buf, size_t cap,
                                       size_t *got);
/* The object's information (owned by download). */
const struct ul_object_info *ul_download_info(const struct ul_download *download);
void ul_download_close(struct ul_download *download);

/* ------------------------------------------------------------------------------------------ */
/* Server-side copy, move and metadata updates                                                 */

/* What a copy does with the user metadata: by default the destination gets the source's. */
struct ul_copy_options {
    bool replace_metadata; /* store metadata[0..metadata_count) instead (S3 REPLACE directive) */
    const struct ul_metadata_entry *metadata;
    size_t metadata_count;
};

/* Copies src_bucket/src_key to dst_bucket/dst_key without moving data: the satellite hands over
 * the source's wrapped keys, this library re-wraps them for the destination path, and the new
 * object shares the source's pieces (deleting either one leaves the other readable). An object
 * at the destination is replaced atomically. opts and info may be NULL (info as for
 * ul_object_stat, released with ul_object_info_release). Errors: UL_ERR_NOT_FOUND (source or
 * destination bucket), UL_ERR_PERMISSION_DENIED (read on the source, write on the destination),
 * UL_ERR_TOO_LARGE (more than 10,000 segments). */
UL_WARN_UNUSED ul_err ul_object_copy(struct ul_project *project, const char *src_bucket,
                                     const char *src_key, const char *dst_bucket,
                                     const char *dst_key, const struct ul_copy_options *opts,
                                     struct ul_object_info *info);
/* Renames src to dst (any bucket of the project) in one step, data untouched; an object at dst is
 * replaced. Needs read + delete on the source and write on the destination. */
UL_WARN_UNUSED ul_err ul_object_move(struct ul_project *project, const char *src_bucket,
                                     const char *src_key, const char *dst_bucket,
                                     const char *dst_key);
/* Replaces the user metadata of a committed object (count 0 clears it). */
UL_WARN_UNUSED ul_err ul_object_update_metadata(struct ul_project *project, const char *bucket,
                                                const char *key,
                                                const struct ul_metadata_entry *metadata,
                                                size_t metadata_count);

/* ------------------------------------------------------------------------------------------ */
/* Multipart uploads (S3 shaped)                                                               */
/*
 * begin -> upload parts (any order, in parallel from several threads or processes, again to
 * replace one) -> complete with the ordered part numbers, or abort. The upload ID is text
 * (lower-case base32) naming the pending upload; it is all a later call needs, with the same
 * bucket and key. Parts are numbered 1..UL_PART_NUMBER_MAX; at completion every listed part but
 * the last must hold at least 5 MiB (the satellite's part_size_min), parts not listed are
 * dropped, and the object appears atomically. Each part has an ETag: by default the hex SHA-256
 * of its plaintext, or the caller's (ul_part_upload_set_etag, e.g. an S3 gateway's MD5); it is
 * stored encrypted. A pending upload is deleted by the satellite after 7 days.
 */

#define UL_PART_NUMBER_MAX 10000
#define UL_ETAG_MAX 128

struct ul_multipart_options {
    int64_t expires_s; /* as for ul_upload_options */
    const struct ul_metadata_entry *metadata; /* the object's metadata (complete may replace it) */
    size_t metadata_count;
};

/* Starts a multipart upload of bucket/key; *upload_id is freed with ul_free. opts may be NULL. */
UL_WARN_UNUSED ul_err ul_multipart_begin(struct ul_project *project, const char *bucket,
                                         const char *key, const struct ul_multipart_options *opts,
                                         char **upload_id);

struct ul_part_info {
    uint32_t part_number;
    uint64_t size;      /* plaintext bytes */
    int64_t modified_s; /* Unix seconds of its last segment */
    char etag[UL_ETAG_MAX + 1];
};

/* A part being uploaded: a streaming writer like ul_upload_*. */
struct ul_part_upload;
/* UL_ERR_NOT_FOUND when upload_id does not belong to bucket/key (or is unreadable). */
UL_WARN_UNUSED ul_err ul_multipart_part_upload(struct ul_project *project, const char *bucket,
                                               const char *key, const char *upload_id,
                                               uint32_t part_number, struct ul_part_upload **out);
UL_WARN_UNUSED ul_err ul_part_upload_write(struct ul_part_upload *part, const void *data,
                                           size_t len);
/* Sets the ETag stored with the part (1..UL_ETAG_MAX bytes), before commit. */
UL_WARN_UNUSED ul_err ul_part_upload_set_etag(struct ul_part_upload *part, const char *etag);
/* Sends the rest of the part; always frees part. info (may be NULL) gets number, size, ETag. */
UL_WARN_UNUSED ul_err ul_part_upload_commit(struct ul_part_upload *part, struct ul_part_info *info);
/* Abandons the part (its pieces are reclaimed by garbage collection). NULL is a no-op. */
void ul_part_upload_abort(struct ul_part_upload *part);

/* Completed parts with a number greater than cursor (0 = from the first), in number order. */
struct ul_part_iter;
UL_WARN_UNUSED ul_err ul_multipart_part_list(struct ul_project *project, const char *bucket,
                                             const char *key, const char *upload_id,
                                             uint32_t cursor, struct ul_part_iter **out);
/* *item points into it (valid until the next call); NULL at the end. */
UL_WARN_UNUSED ul_err ul_part_iter_next(struct ul_part_iter *it, const struct ul_part_info **item);
void ul_part_iter_free(struct ul_part_iter *it);

/* Pending multipart uploads of a bucket. */
struct ul_multipart_info {
    const char *key;       /* plaintext key */
    const char *upload_id;
    int64_t created_s;
    int64_t expires_s;
};
struct ul_multipart_list_options {
    const char *prefix;           /* "" or ending with '/' */
    const char *cursor_key;       /* continue after this key ... */
    const char *cursor_upload_id; /* ... and this upload of it (NULL: after every upload of it) */
};
struct ul_multipart_iter;
/* opts may be NULL. Order is that of the encrypted keys, then upload age. */
UL_WARN_UNUSED ul_err ul_multipart_list(struct ul_project *project, const char *bucket,
                                        const struct ul_multipart_list_options *opts,
                                        struct ul_multipart_iter **out);
UL_WARN_UNUSED ul_err ul_multipart_iter_next(struct ul_multipart_iter *it,
                                             const struct ul_multipart_info **item);
void ul_multipart_iter_free(struct ul_multipart_iter *it);

struct ul_multipart_complete_options {
    bool replace_metadata; /* store metadata instead of the one given at begin */
    const struct ul_metadata_entry *metadata;
    size_t metadata_count;
};
/* Assembles parts[0..count) (strictly increasing part numbers) into the object, atomically
 * replacing an object at the key. UL_ERR_INVALID_ARGUMENT for a bad order or a missing part,
 * UL_ERR_TOO_SMALL for a part under the minimum, UL_ERR_NOT_FOUND for an unknown upload. opts and
 * info may be NULL. */
UL_WARN_UNUSED ul_err ul_multipart_complete(struct ul_project *project, const char *bucket,
                                            const char *key, const char *upload_id,
                                            const uint32_t *parts, size_t count,
                                            const struct ul_multipart_complete_options *opts,
                                            struct ul_object_info *info);
/* Deletes the pending upload and its parts. UL_ERR_NOT_FOUND when it is not pending. */
UL_WARN_UNUSED ul_err ul_multipart_abort(struct ul_project *project, const char *bucket,
                                         const char *key, const char *upload_id);

#ifdef __cplusplus
}
#endif

#endif
