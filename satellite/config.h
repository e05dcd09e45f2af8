/*
 * The satellite's configuration: a text file "<dir>/config" of "key = value" lines ('#' starts a
 * comment), written by `tessera-satellite setup` and read by `run` and the admin commands. Every
 * key has a default; unknown keys and bad values are refused with a message naming the line, so a
 * typo never silently falls back to a default.
 */
#ifndef SAT_CONFIG_H
#define SAT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "base/buf.h"
#include "satellite/metainfo/redundancy.h"
#include "satellite/overlay/select.h"

#define SAT_CONFIG_FILE "config"
#define SAT_CONFIG_FILE_MAX (64u * 1024)
#define SAT_PATH_MAX 4096

struct sat_config {
    char dir[SAT_PATH_MAX];               /* the satellite directory (not in the file) */
    char db_url[TS_DB_URL_MAX];           /* default sqlite://<dir>/satellite.db */
    char listen[SAT_ADDRESS_MAX];         /* host:port; port 0 picks a free one */
    char public_address[SAT_ADDRESS_MAX]; /* host:port nodes and uplinks dial; "" = listen */
    struct sat_redundancy redundancy;
    int64_t segment_size_max;   /* bytes of plaintext per segment */
    int64_t online_window_s;    /* a node is online if contacted within this (4 h) */
    int64_t free_disk_min;      /* bytes a node needs to receive uploads (5 GB) */
    double new_node_fraction;   /* share of upload slots for unvetted nodes */
    int distinct_nets;          /* 1: one piece per /24 subnet */
    int fill_unvetted;          /* 1: use unvetted nodes when vetted ones run out */
    int64_t zombie_deadline_s;  /* pending objects live this long (1 day) */
    int64_t commit_interval_s;  /* CommitSegment within this of BeginSegment (48 h) */
    int64_t order_expiration_s; /* order limits expire after this (24 h) */
    int64_t cleanup_interval_s; /* zombie/expired/serial cleanup period */
    int64_t node_cache_s;       /* selection cache refresh period */
    int node_difficulty_min;    /* identity difficulty required of storage nodes */
    int64_t buckets_max;        /* per project */
    int64_t list_limit_max;     /* objects per ListObjects page */
    int ping_timeout_ms;        /* check-in ping-back dial + call */
    int max_connections;        /* RPC server */
    /* Object features (metainfo): per-project request rate (token bucket, 1 s of burst; 0 = no
     * limit), the smallest multipart part but the last (bytes), pending multipart lifetime. */
    int64_t rate_limit_per_s;
    int64_t part_size_min;
    int64_t multipart_deadline_s;
};

/* Fills c with the defaults (production-safe values) for dir. */
void sat_config_defaults(struct sat_config *c, const char *dir);
/* The local-network profile `setup` writes by default: 4/6/8/10, no subnet rule, unvetted fill,
 * low node difficulty, no free-space minimum. */
void sat_config_local(struct sat_config *c);
/* Reads <dir>/config over the defaults. TS_ERR_NOT_FOUND when the file is missing,
 * TS_ERR_CONFIG (with a logged line number and reason) for a bad line. */
TS_WARN_UNUSED ts_err sat_config_load(struct sat_config *c, const char *dir);
/* Parses text over the values in c (the file parser, exposed for tests). */
TS_WARN_UNUSED ts_err sat_config_parse(struct sat_config *c, const char *text, size_t len);
/* Writes every setting to <dir>/config atomically. */
TS_WARN_UNUSED ts_err sat_config_save(const struct sat_config *c);

#endif
