/* tessera-node: the storage node program. Wiring only: load config and identity, open the piece
 * store, start the RPC server (piecestore, PingNode) and the dashboard, start the chores
 * (check-in, settlement), wait for SIGTERM/SIGINT, shut down. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/fs.h"
#include "base/log.h"
#include "node.h"
#include "node_contact.h"
#include "node_dashboard.h"
#include "node_gexit.h"
#include "node_piecestore.h"
#include "node_retain.h"
#include "node_settle.h"
#include "node_chore.h"
#include "node_ttl.h"
#include "rpc/rpc.h"

#ifndef NODE_VERSION
#define NODE_VERSION "0.0.0"
#endif

#define LOG "node"

struct running {
    struct node n;
    struct ts_identity *identity;
    struct ts_rpc_server *rpc;
    struct node_dashboard *dashboard;
    struct ts_rpc_pool *pool; /* dials satellites: check-in, settlement */
    struct node_contact *contact;
    struct node_settle *settle;
    struct node_retain_config retain_cfg;
    struct node_retain *retain; /* GC: Retain, RestoreTrash, trash expiry */
    struct node_chore *ttl_chore; /* deletes expired pieces */
    char address[TS_HOST_NAME_MAX + 16];
};

static ts_err open_state(struct running *r, const struct node_config *cfg)
{
    struct node *n = &r->n;
    n->cfg = cfg;
    n->started_s = ts_time_now_s();
    node_space_init(&n->space, cfg->allocated_bytes);
    ts_err err = ts_identity_load(cfg->identity_dir, &r->identity);
    if (err != TS_OK) {
        ts_log_error(LOG, "cannot load the identity dir=%s err=%s", cfg->identity_dir,
                     ts_strerror(err));
        return err;
    }
    n->identity = r->identity;
    err = node_blobstore_open(cfg->storage_dir, ts_identity_id(r->identity)->bytes, &n->blobs);
    if (err == TS_OK) {
        int64_t bytes = 0, count = 0, trash = 0;
        err = node_blobstore_walk(n->blobs, &bytes, &count, &trash);
        node_space_set(&n->space, bytes, count, trash);
        ts_log_info(LOG, "used space pieces=%lld bytes=%lld trash=%lld allocated=%lld",
                    (long long)count, (long long)bytes, (long long)trash,
                    (long long)cfg->allocated_bytes);
    }
    if (err == TS_OK) {
        err = node_serials_new(TS_USED_SERIALS_BYTES_MAX, &n->serials);
    }
    if (err == TS_OK) {
        err = node_ttl_open(cfg->storage_dir, &n->ttl);
    }
    if (err == TS_OK) {
        err = node_orders_store_open(cfg->storage_dir, &n->orders);
    }
    if (err == TS_OK) {
        err = node_trust_new(cfg->trusted, cfg->trusted_count, r->identity, cfg->storage_dir,
                             &n->trust);
    }
    /* Fetch satellite keys now so the first uploads do not all wait on (or race) the dial. A
     * satellite that is offline is retried when its first order limit arrives. */
    for (int i = 0; err == TS_OK && i < cfg->trusted_count; i++) {
        struct ts_peer_identity key;
        if (node_trust_key(n->trust, &cfg->trusted[i].id, 0, &key) != TS_OK) {
            ts_log_warn(LOG, "satellite key not available yet satellite_index=%d", i);
        }
    }
    return err;
}

static ts_err start_services(struct running *r, const struct node_config *cfg)
{
    struct ts_rpc_server_config rc = {.identity = r->identity,
                                      .host = cfg->listen_host,
                                      .port = cfg->listen_port,
                                      .difficulty_min = cfg->difficulty_min,
                                      .max_connections = cfg->max_concurrent,
                                      .thread_stack_size = 128u * 1024};
    ts_err err = ts_rpc_server_new(&rc, &r->rpc);
    if (err == TS_OK) {
        err = node_piecestore_register(&r->n, r->rpc);
    }
    if (err == TS_OK) {
        err = node_contact_register(r->rpc);
    }
    node_retain_config_from(&r->retain_cfg, cfg);
    if (err == TS_OK) {
        err = node_retain_start(&r->n, &r->retain_cfg, &r->retain);
    }
    if (err == TS_OK) {
        err = node_retain_register(r->retain, r->rpc);
    }
    if (err == TS_OK) {
        err = ts_rpc_server_start(r->rpc);
    }
    if (err == TS_OK && cfg->dashboard_host[0] != 0) {
        err = node_dashboard_start(&r->n, cfg->dashboard_host, cfg->dashboard_port,
                                   &r->dashboard);
    }
    if (err != TS_OK) {
        return err;
    }
    char id[TS_NODE_ID_TEXT_MAX];
    if (ts_node_id_to_string(ts_identity_id(r->identity), id, sizeof id) != TS_OK) {
        id[0] = 0;
    }
    unsigned dash_port = r->dashboard ? node_dashboard_port(r->dashboard) : 0;
    ts_log_info(LOG, "node started id=%s rpc=%s:%u dashboard_port=%u satellites=%d", id,
                cfg->listen_host, ts_rpc_server_port(r->rpc), dash_port, cfg->trusted_count);
    if (cfg->ready_file[0] != 0) {
        char line[64];
        int len = snprintf(line, sizeof line, "%u %u\n", ts_rpc_server_port(r->rpc), dash_port);
        err = ts_fs_write_atomic(cfg->ready_file, line, (size_t)len, 0644);
    }
    return err;
}

/* One pass of the TTL collector; returns the delay until the next. */
static int64_t ttl_pass(void *ctx)
{
    struct running *r = ctx;
    struct node_ttl_stats st;
    memset(&st, 0, sizeof st);
    ts_err err = node_ttl_collect(r->n.ttl, &r->n, ts_time_now_s(), r->n.cfg->ttl_grace_s, &st);
    if (err != TS_OK || st.files > 0) {
        ts_log_info(LOG, "ttl pass err=%s hours=%lld deleted=%lld bytes=%lld missing=%lld "
                         "kept=%lld",
                    ts_errname(err), (long long)st.files, (long long)st.deleted,
                    (long long)st.bytes, (long long)st.missing, (long long)st.kept);
    }
    return r->n.cfg->ttl_interval_s * 1000;
}

/* Check-in and settlement chores; they start after the RPC server so PingNode is answered. */
static ts_err start_chores(struct running *r, const struct node_config *cfg)
{
    if (cfg->external_address[0] != 0) {
        snprintf(r->address, sizeof r->address, "%s", cfg->external_address);
    } else {
        int v6 = strchr(cfg->listen_host, ':') != NULL;
        snprintf(r->address, sizeof r->address, "%s%s%s:%u", v6 ? "[" : "", cfg->listen_host,
                 v6 ? "]" : "", ts_rpc_server_port(r->rpc));
    }
    ts_err err = ts_rpc_pool_new(r->identity, NULL, &r->pool);
    if (err == TS_OK) {
        struct node_contact_config cc = {.pool = r->pool,
                                         .satellites = cfg->trusted,
                                         .satellite_count = cfg->trusted_count,
                                         .address = r->address,
                                         .version = NODE_VERSION,
                                         .wallet = cfg->wallet,
                                         .email = cfg->email,
                                         .space = &r->n.space,
                                         .interval_ms = cfg->checkin_interval_s * 1000,
                                         .free_space_min_bytes =
                                             cfg->checkin_free_space_min_bytes};
        err = node_contact_start(&cc, &r->contact);
    }
    if (err == TS_OK) {
        struct node_settle_config sc = {.pool = r->pool,
                                        .orders = r->n.orders,
                                        .trust = r->n.trust,
                                        .interval_ms = cfg->settlement_interval_s * 1000,
                                        .delay_s = cfg->settlement_delay_s,
                                        .archive_keep_s = TS_NODE_ORDERS_ARCHIVE_KEEP_S};
        err = node_settle_start(&sc, &r->settle);
    }
    if (err == TS_OK) {
        err = node_chore_start("ttl", ttl_pass, r, &r->ttl_chore);
    }
    return err;
}

static void shutdown_all(struct running *r)
{
    node_chore_stop(r->ttl_chore);
    node_contact_stop(r->contact);
    node_settle_stop(r->settle);
    ts_rpc_pool_free(r->pool);
    ts_rpc_server_free(r->rpc); /* stops and joins every connection first */
    node_retain_stop(r->retain);
    node_dashboard_stop(r->dashboard);
    node_trust_free(r->n.trust);
    node_orders_store_free(r->n.orders);
    node_ttl_free(r->n.ttl);
    node_serials_free(r->n.serials);
    node_blobstore_free(r->n.blobs);
    node_space_release(&r->n.space);
    ts_identity_free(r->identity);
}

int main(int argc, char **argv)
{
    if (argc > 1 && node_gexit_is_command(argv[1])) {
        return node_gexit_main(argc, argv);
    }
    static struct node_config cfg;
    char msg[512] = "";
    if (node_config_load(&cfg, argc, argv, msg, sizeof msg) != TS_OK) {
        fprintf(stderr, "tessera-node: %s\n", msg);
        return 2;
    }
    /* Block the stop signals in every thread (they inherit the mask); main waits for them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    static struct running r;
    ts_err err = open_state(&r, &cfg);
    if (err == TS_OK) {
        err = start_services(&r, &cfg);
    }
    if (err == TS_OK) {
        err = start_chores(&r, &cfg);
    }
    if (err == TS_OK) {
        int sig = 0;
        sigwait(&stop, &sig);
        ts_log_info(LOG, "stopping signal=%d", sig);
    } else {
        ts_log_error(LOG, "cannot start: %s", ts_strerror(err));
    }
    shutdown_all(&r);
    if (err == TS_OK) {
        ts_log_info(LOG, "stopped cleanly");
    }
    return err == TS_OK ? 0 : 1;
}
