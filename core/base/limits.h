/*
 * Every limit of Tessera in one place, each with its unit and the reason for its value.
 * Modules enforce these with a clear error (TS_ERR_TOO_LARGE, ...) instead of growing a buffer.
 * Related limits are tied together with _Static_assert at the bottom.
 */
#ifndef TS_BASE_LIMITS_H
#define TS_BASE_LIMITS_H

/* ---- Erasure coding (reference §2) ---- */
/* GF(2^8) has 256 elements and evaluation points must be distinct; 255 keeps share numbers in a
 * byte with room for a sentinel. */
#define TS_EC_SHARES_MAX 255
/* Production share size; a piece is share i of every stripe. */
#define TS_EC_SHARE_SIZE_DEFAULT 256
/* Share sizes above 64 KiB buy nothing (stripes already fill caches) and bound decode buffers. */
#define TS_EC_SHARE_SIZE_MAX 65536
/* The padding rule appends zeros and a 4-byte big-endian count (reference §1). */
#define TS_PAD_COUNT_SIZE 4

/* ---- Segments and encryption (reference §1, §3) ---- */
/* Plaintext per segment; the uplink and satellite must agree (order limits depend on it). */
#define TS_SEGMENT_SIZE_MAX (64u * 1024 * 1024)
/* Objects whose plaintext is below this are stored inline in the satellite DB. */
#define TS_INLINE_SIZE_MAX 4096
/* AES-256-GCM: 32-byte keys, 12-byte nonces (the first 12 of a 24-byte storj nonce), 16-byte tags. */
#define TS_KEY_SIZE 32
#define TS_NONCE_SIZE 24
#define TS_GCM_NONCE_SIZE 12
#define TS_GCM_TAG_SIZE 16
/* Ciphertext block = one production stripe (29 x 256), so a range read decrypts whole stripes. */
#define TS_ENCRYPTION_BLOCK_SIZE 7424
/* Plain object keys are bounded so encrypted keys (about 1.4x plus per-component overhead) stay
 * under the satellite's 4000-byte column limit. */
#define TS_OBJECT_KEY_MAX 1024
#define TS_ENCRYPTED_KEY_MAX 4000
/* Bucket names follow S3: 3..63 characters. */
#define TS_BUCKET_NAME_MIN 3
#define TS_BUCKET_NAME_MAX 63
/* Encrypted user metadata per object (satellite limit). */
#define TS_METADATA_ENCRYPTED_MAX 2048

/* ---- Access and API keys (reference §4, §5) ---- */
/* A serialized macaroon: head, caveats and tail. 64 KiB allows hundreds of caveats yet bounds
 * parsing of hostile input. */
#define TS_MACAROON_SIZE_MAX 65536
#define TS_MACAROON_CAVEATS_MAX 256
#define TS_CAVEAT_SIZE_MAX 8192
#define TS_CAVEAT_PATHS_MAX 64
/* A caveat's nonce only has to make identical restrictions distinct (Storj uses 4 bytes). */
#define TS_CAVEAT_NONCE_MAX 32
/* A serialized access grant (base58 text) and its decoded payload. */
#define TS_ACCESS_GRANT_TEXT_MAX 262144
#define TS_ACCESS_STORE_ENTRIES_MAX 256
/* Node URL "nodeid@host:port": base58 ID (~50) + host (253) + port. */
#define TS_NODE_URL_MAX 512
/* Argon2id root-key derivation (reference §3.6): 64 MiB, one pass. */
#define TS_ARGON2_MEMORY_BYTES (64u * 1024 * 1024)
#define TS_ARGON2_PASSES 1
#define TS_PASSPHRASE_MAX 1024

/* ---- Encodings ---- */
/* base58 is quadratic in length; decoding hostile text is capped here. */
#define TS_BASE58_TEXT_MAX 262144

/* ---- Identity and transport (reference §6, §10) ---- */
#define TS_NODE_ID_SIZE 32
/* Minimum proof-of-work for production storage nodes; local networks configure ~8-12. */
#define TS_ID_DIFFICULTY_PRODUCTION 36
/* One RPC message; a piece chunk is at most 256 KiB plus framing. Larger frames are refused. */
#define TS_RPC_FRAME_MAX (4u * 1024 * 1024)
/* Piece data chunk sent per upload/download message; large writes amortise TLS records. */
#define TS_RPC_CHUNK_SIZE (256u * 1024)
/* Highest difficulty identity creation accepts: 2^(64-8) key generations is already infeasible. */
#define TS_ID_DIFFICULTY_MAX 64
/* Node ID text: base58 of 1 + 32 + 4 bytes is at most 51 characters, plus the NUL. */
#define TS_NODE_ID_TEXT_MAX 64
/* DNS names are at most 253 characters (RFC 1035); IPv6 literals are shorter. */
#define TS_HOST_NAME_MAX 253
/* A P-256 SubjectPublicKeyInfo is 91 bytes DER; 128 leaves room without being unbounded. */
#define TS_PUBLIC_KEY_DER_MAX 128
/* A DER ECDSA P-256 signature is at most 72 bytes. */
#define TS_SIGNATURE_MAX 72
/* identity.cert / identity.key / ca.* PEM files: two P-256 certificates are ~1.5 KiB. */
#define TS_IDENTITY_FILE_MAX (64u * 1024)
/* TLS: one read(2) pulls up to this much ciphertext (many 16 KiB records per syscall). */
#define TS_TLS_READ_BUFFER_SIZE (256u * 1024)
/* TLS: encrypted records are gathered until this many bytes, then written in one go. */
#define TS_TLS_WRITE_COALESCE_SIZE (256u * 1024)
/* RPC method names ("/piecestore.Piecestore/Upload"). */
#define TS_RPC_METHOD_MAX 128
/* Methods one server may register. */
#define TS_RPC_METHODS_MAX 128
/* Text carried by an RPC error frame. */
#define TS_RPC_ERROR_MESSAGE_MAX 1024
/* Server connections (one thread each) unless configured: a node serving 110-piece uploads from
 * a few uplinks at once, with 256 KiB stacks about 64 MiB of address space. */
#define TS_RPC_CONNECTIONS_DEFAULT 256
/* Stack of a connection thread: handlers keep big buffers on the heap. */
#define TS_RPC_THREAD_STACK_SIZE (256u * 1024)
/* Server: a connection idle between streams this long is closed; longer than the client pool's
 * idle expiry so the client normally closes first. */
#define TS_RPC_IDLE_TIMEOUT_MS 120000
/* Each read/write inside a stream (a stalled peer frees its thread after this). */
#define TS_RPC_IO_TIMEOUT_MS 30000
/* TCP connect + TLS handshake. */
#define TS_RPC_DIAL_TIMEOUT_MS 10000
/* Client pool: idle connections kept in total, per node, and for how long. */
#define TS_RPC_POOL_IDLE_MAX 256
#define TS_RPC_POOL_IDLE_PER_NODE 4
#define TS_RPC_POOL_IDLE_TIMEOUT_MS 60000
/* A canceled stream's connection is kept only if the server's final frame arrives within this
 * many bytes and milliseconds (else closing is cheaper than draining). */
#define TS_RPC_CANCEL_DRAIN_BYTES_MAX (8u * 1024 * 1024)
#define TS_RPC_CANCEL_DRAIN_MS 2000
/* Busy answer: time the acceptor spends on a connection past the cap. */
#define TS_RPC_BUSY_TIMEOUT_MS 1000

/* ---- Orders and the storage node (reference §7, §9) ---- */
/* One serialized order limit, order or piece hash: all fields are fixed-size (ids 32 B, DER
 * signature <= 72 B), so ~330 bytes is the real maximum; 1 KiB bounds hostile input. */
#define TS_ORDER_LIMIT_ENCODED_MAX 1024
/* Piece files start with this many bytes: uint16 BE length + PieceHeader, zero-filled. */
#define TS_PIECE_HEADER_SIZE 512
/* Order limits created more than this far from the node's clock are refused (clock skew). */
#define TS_ORDER_GRACE_S 3600
/* Node-side replay table of used serials: bytes of memory it may use (reference §7.6: 1 MB). */
#define TS_USED_SERIALS_BYTES_MAX (1u << 20)
/* Largest piece a node accepts: a 64 MiB segment at k=1 plus padding, with headroom. */
#define TS_PIECE_SIZE_MAX (TS_SEGMENT_SIZE_MAX + 1024u * 1024)
/* Piece IDs one Exists request may ask about. */
#define TS_EXISTS_PIECES_MAX 10000
/* A config file of the node (or any program using key = value files). */
#define TS_CONFIG_FILE_MAX (64u * 1024)
/* Trusted satellites one node may list. */
#define TS_TRUSTED_SATELLITES_MAX 64
/* Check-in retries back off exponentially up to this (or the check-in interval if shorter). */
#define TS_NODE_CHECKIN_BACKOFF_MAX_MS (10 * 60 * 1000)
/* Entries one settlement request carries: one frame at ~350 bytes each. Must not exceed the
 * satellite's SAT_SETTLEMENT_ITEMS_MAX (proto/settlement.proto). */
#define TS_NODE_SETTLEMENT_ITEMS_MAX 8192
/* One settlement file (orders of one satellite and hour) is read whole; bounded. */
#define TS_NODE_ORDERS_FILE_MAX (256u * 1024 * 1024)
/* Settled orders files are kept this long for the operator (reference §7.6: 7 days). */
#define TS_NODE_ORDERS_ARCHIVE_KEEP_S (7 * 24 * 3600)
/* Pieces are deleted this long after their piece_expiration (reference §9.4: 1 h grace). */
#define TS_NODE_TTL_GRACE_S 3600
/* One hour's TTL index file (node/node_ttl.h, 72 bytes per piece) is read whole: 1 M pieces
 * expiring in one hour; entries past it stay until GC finds the pieces. */
#define TS_NODE_TTL_FILE_MAX (72u * 1024 * 1024)

/* ---- Database (core/db) ---- */
/* Connections per ts_db pool: enough for the satellite's RPC threads to overlap on PostgreSQL,
 * small enough that several processes stay under the server's max_connections (default 100). */
#define TS_DB_POOL_SIZE_DEFAULT 8
#define TS_DB_POOL_SIZE_MAX 64
/* Longest wait for a free pooled connection before TS_ERR_BUSY. */
#define TS_DB_POOL_WAIT_MS 30000
/* SQLite: how long a writer waits for the database lock before SQLITE_BUSY. */
#define TS_DB_BUSY_TIMEOUT_MS 5000
/* ts_db_tx runs its function at most this often when transactions conflict (SERIALIZABLE
 * conflicts are normal under contention; the backoff grows to ~100 ms, so this is seconds). */
#define TS_DB_TX_ATTEMPTS_MAX 30
/* PostgreSQL connect timeout (libpq connect_timeout), seconds. */
#define TS_DB_CONNECT_TIMEOUT_S 10
/* Parameters $1..$N per statement; bulk work uses several statements in one transaction. */
#define TS_DB_PARAMS_MAX 256
/* A database URL (libpq conninfo or SQLite path). */
#define TS_DB_URL_MAX 4096

/* ---- S3 gateway (gateway/, docs/gateway.md) ---- */
/* Request line + headers one connection may hold; MHD's per-connection memory pool also buffers
 * body reads, so 512 KiB lets ul_upload_write see large writes yet bounds hundreds of clients. */
#define GW_CONNECTION_MEMORY_BYTES (512u * 1024)
/* Concurrent connections (one thread each) unless --connections-max says otherwise. */
#define GW_CONNECTIONS_DEFAULT 512
/* Stack of a connection thread: handlers keep buffers on the heap; uplink workers have their own. */
#define GW_THREAD_STACK_SIZE (512u * 1024)
/* A connection idle this long (seconds) is closed. */
#define GW_IDLE_TIMEOUT_S 300
/* Headers and query parameters one request may carry (S3 requests use ~15 headers). */
#define GW_REQUEST_HEADERS_MAX 128
#define GW_QUERY_PARAMS_MAX 64
/* Raw request URI: a 1024-byte key percent-encodes to ~3 KiB, plus presigned parameters. */
#define GW_URI_MAX 8192
/* SigV4: signed headers per request; allowed clock skew (S3: 15 minutes); presigned URL lifetime
 * (S3: 7 days). */
#define GW_SIGNED_HEADERS_MAX 64
#define GW_CLOCK_SKEW_S 900
#define GW_PRESIGN_EXPIRES_MAX_S 604800
/* aws-chunked: one chunk's data and its header line ("<hex>;chunk-signature=<64 hex>"). */
#define GW_CHUNK_SIZE_MAX (16u * 1024 * 1024)
#define GW_CHUNK_LINE_MAX 256
/* S3's own limits: one PUT, part sizes, parts per upload, keys per DeleteObjects / listing page. */
#define GW_PUT_SIZE_MAX (5ull * 1024 * 1024 * 1024)
#define GW_PART_SIZE_MIN (5u * 1024 * 1024)
#define GW_PARTS_MAX 10000
#define GW_DELETE_OBJECTS_MAX 1000
#define GW_LIST_KEYS_MAX 1000
/* Request bodies the gateway parses (DeleteObjects of 1000 1 KiB keys, CompleteMultipartUpload of
 * 10000 parts) are buffered up to this size. */
#define GW_XML_BODY_MAX (2u * 1024 * 1024)
/* Keys are listed in ciphertext order, so an S3 listing (sorted by plaintext) gathers one whole
 * directory level (or subtree) and sorts it; past this many entries the listing is refused. */
#define GW_LIST_SCAN_MAX 100000
/* Credentials held in memory (decrypted grants with their open projects). */
#define GW_TENANTS_MAX 4096
/* Copy buffer for server-side copy, multipart assembly and GET responses. */
#define GW_COPY_BUFFER_SIZE (256u * 1024)

/* ---- Garbage collection bloom filters (core/bloom, reference §8.8) ---- */
/* Smallest table (bytes): a node holding nothing still gets a well-formed filter. */
#define TS_BLOOM_TABLE_SIZE_MIN 8
/* Largest table a filter may have (bytes) and that a node decodes: 3 MiB covers ~5 M pieces at
 * 10% FPR and, with the Retain envelope, stays inside one TS_RPC_FRAME_MAX frame. */
#define TS_BLOOM_TABLE_SIZE_MAX (3u * 1024 * 1024)
/* Default cap the satellite sizes filters to (Storj's "2m"); past it the FPR rises. */
#define TS_BLOOM_TABLE_SIZE_DEFAULT (2u * 1024 * 1024)
/* Hashes per element: each reads a distinct window of the 32-byte piece ID. */
#define TS_BLOOM_HASHES_MAX 32

/* ---- Human-written quantities (core/base/parse.h) ---- */
/* Longest duration any configuration key takes: 100 years, in milliseconds. */
#define TS_PARSE_DURATION_MS_MAX (100ll * 366 * 86400 * 1000)
/* Largest size in bytes: just under INT64_MAX, so every accepted value converts exactly. */
#define TS_PARSE_SIZE_MAX 9000000000000000000ll

/* ---- Logging ---- */
/* One log line; longer messages are cut (with a marker), never split or allocated. */
#define TS_LOG_LINE_MAX 2048

_Static_assert(TS_INLINE_SIZE_MAX < TS_SEGMENT_SIZE_MAX, "inline objects are single segments");
_Static_assert(TS_ENCRYPTION_BLOCK_SIZE > TS_GCM_TAG_SIZE, "a block holds plaintext and tag");
_Static_assert(TS_ENCRYPTION_BLOCK_SIZE % TS_EC_SHARE_SIZE_DEFAULT == 0,
               "an encryption block is a whole number of shares");
_Static_assert(TS_OBJECT_KEY_MAX < TS_ENCRYPTED_KEY_MAX, "encryption grows keys");
_Static_assert(TS_RPC_CHUNK_SIZE < TS_RPC_FRAME_MAX, "a chunk fits a frame with its envelope");
_Static_assert(TS_GCM_NONCE_SIZE <= TS_NONCE_SIZE, "GCM uses a prefix of the nonce");
_Static_assert(TS_BLOOM_TABLE_SIZE_MAX + 4096 < TS_RPC_FRAME_MAX, "a filter fits one RPC frame");

#endif
