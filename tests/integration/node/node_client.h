/*
 * Test harness for tessera-node integration tests and benchmarks: a test satellite (an identity
 * that signs order limits, answers the node's key-fetch dial, and serves a stand-in of the
 * satellite's CheckIn (with a real ping-back) and SettlementWithWindow, recording what it got), a node
 * process started on 127.0.0.1 with a temp storage dir (readiness polled through its ready file,
 * killed by PID), and an uplink client speaking the piecestore protocol over core/rpc.
 */
#ifndef NODE_CLIENT_H
#define NODE_CLIENT_H

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "identity/identity.h"
#include "orders/orders.h"
#include "rpc/rpc.h"

/* What the stand-in satellite received; guarded by mu. The *_fail_next counters make the next
 * calls fail (check-in: an UNAVAILABLE error; settlement: an UNAVAILABLE error). */
struct nc_sat_record {
    pthread_mutex_t mu;
    int checkins, pings_ok, pings_failed;
    int checkins_done;          /* answered (after the ping-back), failures included */
    char address[300], version[64], wallet[128], email[256];
    int64_t free_disk_bytes;
    int checkin_fail_next;
    int settlements;            /* requests answered with a status */
    int settle_fail_next;
    int settle_status;          /* answer: 1 ACCEPTED (default), 2 REJECTED */
    int64_t windows[64];        /* distinct windows accepted, first time only */
    int64_t window_items[64];   /* items counted for each */
    int windows_count;
    int64_t items_received;     /* over all requests, re-sends included */
};

struct nc_sat {
    struct ts_identity *identity;
    struct ts_rpc_server *srv; /* answers the node's identity-fetch dial, CheckIn, settlement */
    struct ts_rpc_pool *pool;  /* pings nodes back */
    struct ts_node_url url;
    struct nc_sat_record rec;
};

struct nc_node {
    pid_t pid;
    char dir[256];           /* root: identity/, storage/, node.log, ready */
    char exe[PATH_MAX];
    struct ts_node_url url;  /* 127.0.0.1:<rpc port> with the node's ID */
    uint16_t dashboard_port;
};

/* Piece key pair of one test "segment". */
struct nc_piece_key {
    uint8_t pub[32], priv[64];
};

ts_err nc_sat_start(struct nc_sat *sat);
/* Copies the record (under its lock). */
void nc_sat_record_get(struct nc_sat *sat, struct nc_sat_record *out);
void nc_sat_stop(struct nc_sat *sat);

/* Creates root (an identity + storage dir) on first use, then starts exe with
 * --trust <sat> and extra "--key=value" args (NULL-terminated list, may be NULL) and waits up to
 * 30 s for readiness. Logs go to root/node.log. */
ts_err nc_node_start(struct nc_node *n, const char *exe, const char *root,
                     const struct nc_sat *sat, const char *const *extra);
/* Sends sig and waits for the process (SIGKILL after 10 s if sig does not end it). Returns the
 * exit status as from waitpid. */
int nc_node_stop(struct nc_node *n, int sig);
/* Prints the node's log to stderr (for failures). */
void nc_node_dump_log(const struct nc_node *n);

/* A limit signed by signer (usually sat->identity) claiming satellite sat_id. */
struct ts_order_limit nc_limit(const struct ts_identity *signer, const struct ts_node_id *sat_id,
                               const struct ts_node_id *node_id, enum ts_piece_action action,
                               const uint8_t piece_id[32], int64_t limit_bytes,
                               const struct nc_piece_key *key);

struct nc_upload_opts {
    int64_t order_deficit; /* order this many bytes less than sent */
    int corrupt_hash;      /* sign a hash of other bytes */
    size_t chunk_size;     /* 0 = TS_RPC_CHUNK_SIZE */
};

/* Uploads data; on a node refusal returns its code and copies its text into err_msg (256 B). */
ts_err nc_upload(struct ts_rpc_pool *pool, const struct ts_node_url *url,
                 const struct ts_order_limit *limit, const struct nc_piece_key *key,
                 const uint8_t *data, size_t len, const struct nc_upload_opts *opts,
                 struct ts_piece_hash *receipt, char *err_msg);

/* Downloads [offset, offset+size) into out, ordering ahead in 256 KiB steps. When hash_out is
 * non-NULL and the node sent the stored hash (whole-piece reads), it is copied there and
 * *have_hash set. */
ts_err nc_download(struct ts_rpc_pool *pool, const struct ts_node_url *url,
                   const struct ts_order_limit *limit, const struct nc_piece_key *key,
                   int64_t offset, int64_t size, uint8_t *out, struct ts_piece_hash *hash_out,
                   int *have_hash, char *err_msg);

#endif
