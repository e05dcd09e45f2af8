/* Satellite wiring: setup, open, start, stop (see peer.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "base/fs.h"
#include "base/log.h"
#include "crypto/hash.h"
#include "satellite/db/satdb.h"
#include "satellite/metainfo/endpoint.h"
#include "satellite/peer.h"

#define COMPONENT "satellite"
/* Rows each cleanup pass deletes per kind; the loop repeats while passes are full. */
#define CLEANUP_BATCH 1000

static ts_err path_join(char *out, size_t size, const char *dir, const char *name)
{
    int n = snprintf(out, size, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= size ? TS_ERR_TOO_LARGE : TS_OK;
}

ts_err sat_peer_db_open(const struct sat_config *cfg, struct ts_db **out)
{
    ts_err err = ts_db_open(cfg->db_url, out);
    if (err == TS_OK) {
        err = sat_db_migrate(*out);
        if (err != TS_OK) {
            ts_db_close(*out);
            *out = NULL;
        }
    }
    return err;
}

/* Loads dir/config; a missing one is a configuration error with a hint. */
static ts_err config_load(struct sat_config *cfg, const char *dir)
{
    ts_err err = sat_config_load(cfg, dir);
    if (err == TS_ERR_NOT_FOUND) {
        ts_log_error(COMPONENT, "no config in %s: run `tessera-satellite setup --dir %s` first",
                     dir, dir);
        return TS_ERR_CONFIG;
    }
    return err;
}

ts_err sat_peer_open_db(const char *dir, struct sat_config *cfg, struct ts_db **out)
{
    *out = NULL;
    ts_err err = config_load(cfg, dir);
    return err == TS_OK ? sat_peer_db_open(cfg, out) : err;
}

ts_err sat_peer_setup(const char *dir, const char *db_url, const char *listen, int difficulty,
                      bool production)
{
    struct sat_config *cfg = calloc(1, sizeof *cfg);
    if (cfg == NULL) {
        return TS_ERR_NOMEM;
    }
    sat_config_defaults(cfg, dir);
    if (!production) {
        sat_config_local(cfg);
    }
    if (db_url != NULL) {
        snprintf(cfg->db_url, sizeof cfg->db_url, "%s", db_url);
    }
    if (listen != NULL) {
        snprintf(cfg->listen, sizeof cfg->listen, "%s", listen);
    }
    ts_err err = sat_peer_setup_config(cfg, difficulty);
    free(cfg);
    return err;
}

ts_err sat_peer_setup_config(const struct sat_config *cfg, int difficulty)
{
    char path[SAT_PATH_MAX + 32];
    const char *dir = cfg->dir;
    struct ts_identity *id = NULL;
    struct ts_db *db = NULL;
    uint8_t key[SAT_ID_KEY_SIZE];
    struct stat st;
    ts_err err = ts_fs_mkdir_p(dir, 0700);
    if (err == TS_OK && dir[0] != '/') {
        ts_log_error(COMPONENT, "the satellite dir must be an absolute path: %s", dir);
        err = TS_ERR_CONFIG;
    }
    if (err == TS_OK) {
        err = path_join(path, sizeof path, dir, SAT_CONFIG_FILE);
    }
    if (err == TS_OK && stat(path, &st) == 0) {
        ts_log_error(COMPONENT, "%s already exists: refusing to set up over it", path);
        err = TS_ERR_EXISTS;
    }
    if (err == TS_OK) {
        struct ts_identity_create_opts opts = {.difficulty_min = difficulty};
        err = ts_identity_create(&opts, &id);
    }
    if (err == TS_OK) {
        err = path_join(path, sizeof path, dir, SAT_IDENTITY_DIR);
    }
    if (err == TS_OK) {
        err = ts_identity_save(id, path);
    }
    if (err == TS_OK) {
        err = ts_random_bytes(key, sizeof key);
    }
    if (err == TS_OK) {
        err = path_join(path, sizeof path, dir, SAT_ID_KEY_FILE);
    }
    if (err == TS_OK) {
        err = ts_fs_write_atomic(path, key, sizeof key, 0600);
    }
    if (err == TS_OK) {
        err = sat_peer_db_open(cfg, &db);
    }
    if (err == TS_OK) {
        err = sat_config_save(cfg); /* last: its presence marks a complete setup */
    }
    ts_wipe(key, sizeof key);
    ts_db_close(db);
    ts_identity_free(id);
    return err;
}

static ts_err load_id_key(const char *dir, uint8_t key[SAT_ID_KEY_SIZE])
{
    char path[SAT_PATH_MAX + 32];
    struct ts_buf b;
    ts_buf_init(&b, 64);
    ts_err err = path_join(path, sizeof path, dir, SAT_ID_KEY_FILE);
    if (err == TS_OK) {
        err = ts_fs_read_all(path, 64, &b);
    }
    if (err == TS_OK && b.len != SAT_ID_KEY_SIZE) {
        ts_log_error(COMPONENT, "%s must hold %d bytes", path, SAT_ID_KEY_SIZE);
        err = TS_ERR_CONFIG;
    }
    if (err == TS_OK) {
        memcpy(key, b.data, SAT_ID_KEY_SIZE);
    }
    ts_buf_release_secret(&b);
    return err;
}

ts_err sat_peer_open(const char *dir, struct sat_peer **out)
{
    struct sat_config *cfg = calloc(1, sizeof *cfg);
    *out = NULL;
    ts_err err = cfg == NULL ? TS_ERR_NOMEM : config_load(cfg, dir);
    if (err == TS_OK) {
        err = sat_peer_open_config(cfg, out);
    }
    free(cfg);
    return err;
}

ts_err sat_peer_open_config(const struct sat_config *cfg, struct sat_peer **out)
{
    char path[SAT_PATH_MAX + 32];
    struct sat_peer *p = calloc(1, sizeof *p);
    *out = NULL;
    if (p == NULL) {
        return TS_ERR_NOMEM;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->cfg = *cfg;
    p->cfg.gc.online_window_s = p->cfg.online_window_s;
    const char *dir = p->cfg.dir;
    ts_err err = sat_config_check(&p->cfg);
    if (err == TS_OK) {
        err = sat_peer_db_open(&p->cfg, &p->db);
    }
    if (err == TS_OK) {
        err = path_join(path, sizeof path, dir, SAT_IDENTITY_DIR);
    }
    if (err == TS_OK) {
        err = ts_identity_load(path, &p->identity);
    }
    if (err == TS_OK) {
        err = load_id_key(dir, p->metainfo.id_key);
    }
    if (err == TS_OK) {
        err = sat_overlay_new(p->db, &p->cfg, &p->overlay);
    }
    if (err == TS_OK) {
        struct ts_rpc_pool_opts po = {.difficulty_min = p->cfg.node_difficulty_min,
                                      .dial_timeout_ms = p->cfg.ping_timeout_ms,
                                      .io_timeout_ms = p->cfg.ping_timeout_ms};
        err = ts_rpc_pool_new(p->identity, &po, &p->pool);
    }
    if (err != TS_OK) {
        sat_peer_close(p);
        return err;
    }
    p->metainfo.db = p->db;
    p->metainfo.cfg = &p->cfg;
    p->metainfo.identity = p->identity;
    p->metainfo.overlay = p->overlay;
    err = sat_mi_limiter_new(p->cfg.rate_limit_per_s, &p->metainfo.limiter);
    if (err != TS_OK) {
        sat_peer_close(p);
        return err;
    }
    p->contact = (struct sat_contact){p->db, &p->cfg, p->overlay, p->pool};
    p->orders = (struct sat_orders_service){p->db, p->identity};
    *out = p;
    return TS_OK;
}

static void *cleanup_loop(void *arg)
{
    struct sat_peer *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stopping) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += p->cfg.cleanup_interval_s;
        while (!p->stopping && pthread_cond_timedwait(&p->cv, &p->mu, &deadline) != ETIMEDOUT) {
        }
        if (p->stopping) {
            break;
        }
        pthread_mutex_unlock(&p->mu);
        int64_t deleted = 0;
        ts_err err = sat_metainfo_cleanup(&p->metainfo, ts_time_now_s(), CLEANUP_BATCH, &deleted);
        if (err != TS_OK) {
            ts_log_warn(COMPONENT, "cleanup failed: %s", ts_strerror(err));
        } else if (deleted > 0) {
            ts_log_info(COMPONENT, "cleanup deleted=%lld", (long long)deleted);
        }
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static ts_err parse_listen(const char *listen, char *host, size_t host_size, uint16_t *port)
{
    const char *colon = strrchr(listen, ':');
    char *end = NULL;
    if (colon == NULL || (size_t)(colon - listen) >= host_size) {
        return TS_ERR_CONFIG;
    }
    long v = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end != 0 || v < 0 || v > 65535) {
        return TS_ERR_CONFIG;
    }
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = 0;
    *port = (uint16_t)v;
    return TS_OK;
}

static ts_err write_url(struct sat_peer *p, const char *host)
{
    char id[TS_NODE_ID_TEXT_MAX], url[TS_NODE_URL_MAX + 2], path[SAT_PATH_MAX + 32];
    ts_err err = ts_node_id_to_string(ts_identity_id(p->identity), id, sizeof id);
    if (err != TS_OK) {
        return err;
    }
    const char *public_host = p->cfg.public_address[0] != 0 ? NULL : host;
    if (public_host == NULL) {
        snprintf(url, sizeof url, "%s@%s\n", id, p->cfg.public_address);
    } else {
        snprintf(url, sizeof url, "%s@%s:%u\n", id, host, ts_rpc_server_port(p->server));
    }
    err = path_join(path, sizeof path, p->cfg.dir, SAT_URL_FILE);
    if (err == TS_OK) {
        err = ts_fs_write_atomic(path, url, strlen(url), 0644);
    }
    if (err == TS_OK) {
        ts_log_info(COMPONENT, "listening url=%.*s", (int)strlen(url) - 1, url);
    }
    return err;
}

ts_err sat_peer_start(struct sat_peer *p)
{
    char host[TS_HOST_NAME_MAX + 1];
    uint16_t port = 0;
    ts_err err = parse_listen(p->cfg.listen, host, sizeof host, &port);
    if (err != TS_OK) {
        ts_log_error(COMPONENT, "bad listen address '%s' (want host:port)", p->cfg.listen);
        return err;
    }
    struct ts_rpc_server_config sc = {
        .identity = p->identity,
        .host = host,
        .port = port,
        .difficulty_min = 0, /* uplinks use difficulty-0 identities; nodes are checked in CheckIn */
        .max_connections = p->cfg.max_connections,
    };
    err = ts_rpc_server_new(&sc, &p->server);
    if (err == TS_OK) {
        err = sat_metainfo_register(p->server, &p->metainfo);
    }
    if (err == TS_OK) {
        err = sat_contact_register(p->server, &p->contact);
    }
    if (err == TS_OK) {
        err = sat_orders_register(p->server, &p->orders);
    }
    if (err == TS_OK) {
        err = sat_gexit_new(p->db, p->pool, &p->cfg.gexit, &p->gexit);
    }
    if (err == TS_OK) {
        sat_gexit_set_overlay(p->gexit, p->overlay);
        err = sat_gexit_register(p->server, p->gexit);
    }
    if (err == TS_OK) {
        err = ts_rpc_server_start(p->server);
    }
    if (err == TS_OK) {
        err = write_url(p, host);
    }
    if (err == TS_OK) {
        p->loop_started = pthread_create(&p->loop, NULL, cleanup_loop, p) == 0;
        err = p->loop_started ? TS_OK : TS_ERR_NOMEM;
    }
    if (err == TS_OK) {
        err = sat_gexit_start_loop(p->gexit);
    }
    if (err == TS_OK) {
        err = sat_gc_start(p->db, p->pool, &p->cfg.gc, &p->gc);
    }
    if (err == TS_OK) {
        err = sat_durability_start(p->db, p->identity, &p->cfg, &p->durability);
    }
    return err;
}

void sat_peer_close(struct sat_peer *p)
{
    if (p == NULL) {
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (p->loop_started) {
        pthread_join(p->loop, NULL);
    }
    sat_gc_stop(p->gc);
    sat_durability_stop(p->durability);
    ts_rpc_server_free(p->server);
    sat_gexit_free(p->gexit);
    ts_rpc_pool_free(p->pool);
    sat_overlay_free(p->overlay);
    ts_identity_free(p->identity);
    ts_db_close(p->db);
    ts_wipe(p->metainfo.id_key, sizeof p->metainfo.id_key);
    sat_mi_limiter_free(p->metainfo.limiter);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
