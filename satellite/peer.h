/*
 * The satellite process wiring (storj's peer.go): configuration, database, identity, the
 * services (metainfo, contact, settlement) on one RPC server, and the cleanup loop. main.c parses
 * the command line; everything a running satellite owns hangs off struct sat_peer.
 *
 * Satellite directory layout: config, identity/ (ca.cert, identity.cert, identity.key, ca.key),
 * id-key (32 bytes MAC'ing stream/segment IDs), satellite.db (SQLite default), and
 * satellite.url ("nodeid@host:port", written once the server listens).
 */
#ifndef SAT_PEER_H
#define SAT_PEER_H

#include <pthread.h>
#include <stdbool.h>

#include "base/base.h"
#include "satellite/contact/contact.h"
#include "satellite/durability/service.h"
#include "satellite/gc/gc.h"
#include "satellite/gexit/gexit.h"
#include "db/db.h"
#include "identity/identity.h"
#include "rpc/rpc.h"
#include "satellite/config.h"
#include "satellite/metainfo/metainfo.h"
#include "satellite/orders/endpoint.h"
#include "satellite/overlay/overlay.h"

#define SAT_ID_KEY_FILE "id-key"
#define SAT_IDENTITY_DIR "identity"
#define SAT_URL_FILE "satellite.url"

struct sat_peer {
    struct sat_config cfg;
    struct ts_db *db;
    struct ts_identity *identity;
    struct sat_overlay *overlay;
    struct sat_metainfo metainfo;
    struct sat_contact contact;
    struct sat_orders_service orders;
    struct ts_rpc_pool *pool;
    struct ts_rpc_server *server;
    struct sat_gc *gc;       /* garbage collection (satellite/gc), settings cfg.gc */
    struct sat_gexit *gexit; /* graceful exit (satellite/gexit), settings cfg.gexit */
    struct sat_durability *durability; /* audits, reputation, repair (satellite/durability) */
    pthread_t loop;
    bool loop_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
};

/* Creates dir with a config (local profile unless production), an identity of at least
 * difficulty, an id key, and a migrated database (db_url NULL = SQLite in dir). Refuses an
 * existing config (TS_ERR_EXISTS). The listen address may be NULL (default). */
TS_WARN_UNUSED ts_err sat_peer_setup(const char *dir, const char *db_url, const char *listen,
                                     int difficulty, bool production);

/* The same from a config the caller prepared (defaults, profile and overrides applied; cfg->dir
 * set): writes it as dir/config. */
TS_WARN_UNUSED ts_err sat_peer_setup_config(const struct sat_config *cfg, int difficulty);

/* Loads dir (config, identity, id key), opens and migrates the database. */
TS_WARN_UNUSED ts_err sat_peer_open(const char *dir, struct sat_peer **out);
/* The same with an already loaded config (copied; e.g. with command-line overrides). */
TS_WARN_UNUSED ts_err sat_peer_open_config(const struct sat_config *cfg, struct sat_peer **out);
/* Opens only the config and database (admin commands). */
TS_WARN_UNUSED ts_err sat_peer_open_db(const char *dir, struct sat_config *cfg, struct ts_db **out);
/* Opens and migrates cfg's database. */
TS_WARN_UNUSED ts_err sat_peer_db_open(const struct sat_config *cfg, struct ts_db **out);
/* Starts the RPC server and the cleanup loop; writes dir/satellite.url. */
TS_WARN_UNUSED ts_err sat_peer_start(struct sat_peer *p);
/* Stops the server and the loop (idempotent), then frees. NULL is a no-op. */
void sat_peer_close(struct sat_peer *p);

#endif
