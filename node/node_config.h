/*
 * Configuration of tessera-node: a "key = value" file (# comments) and command-line flags
 * "--key=value" / "--key value", flags winning over the file. Keys:
 *   config           path of the config file (flag only)
 *   identity-dir     identity.cert + identity.key                       (required)
 *   storage-dir      blobs/, temp/, trash/, orders/, satellites/         (required)
 *   listen           RPC address host:port (port 0 = pick one)           default 127.0.0.1:28967
 *   allocated        space for pieces: bytes or with a unit (KB MB GB TB, KiB MiB GiB TiB)
 *                                                                        default 1TB
 *   trust            a trusted satellite as node URL id@host:port; repeat or comma-separate
 *   wallet, email    operator payout address and contact (stored, reported)
 *   dashboard        metrics/dashboard HTTP address host:port ("" = off) default 127.0.0.1:14002
 *   max-concurrent   transfers served at once; past it clients get BUSY   default 500
 *   min-difficulty   refuse peers with lower identity difficulty          default 0
 *   ready-file       after start, write "rpc_port dashboard_port\n" here (tests, launchers)
 *   external-address host:port satellites should dial back (check-in)   default listen address
 *   checkin-interval between check-ins                                   default 1h
 *   checkin-free-space-min  check in at once when free space drops below default 5GB
 *   settlement-interval     seconds between settlement passes            default 3600
 *   settlement-delay        seconds after an hour ends before its orders are sent
 *                                                                        default 7200
 *   ttl-interval     between passes of the expired-piece collector       default 1h
 *   ttl-grace        pieces are deleted this long after their expiration  default 1h
 *   retain-skew      GC never trashes pieces younger than filter time - this  default 72h
 *   trash-keep       trash is deleted this long after the day it was trashed  default 7d
 *   trash-interval   between trash expiry passes                          default 1h
 *   local            the local-network profile (--local): minutes instead of hours and days
 *                    for check-in, settlement, TTL, retain skew, trash; explicit keys still win
 * One table in node_config.c lists the keys; an unknown key is refused. Durations take units
 * (30s, 5m, 2h, 7d, 1w, 1h30m; a bare number is seconds), sizes too (5GB, 1GiB; bare = bytes).
 * Errors are TS_ERR_CONFIG with a one-line explanation in err_msg.
 */
#ifndef NODE_CONFIG_H
#define NODE_CONFIG_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "identity/identity.h"

struct node_config {
    char identity_dir[PATH_MAX];
    char storage_dir[PATH_MAX];
    char listen_host[TS_HOST_NAME_MAX + 1];
    uint16_t listen_port;
    int64_t allocated_bytes;
    struct ts_node_url trusted[TS_TRUSTED_SATELLITES_MAX];
    int trusted_count;
    char wallet[128];
    char email[256];
    char dashboard_host[TS_HOST_NAME_MAX + 1]; /* "" = dashboard off */
    uint16_t dashboard_port;
    int max_concurrent;
    int difficulty_min;
    char ready_file[PATH_MAX];
    char external_address[TS_HOST_NAME_MAX + 16]; /* "" = the listen address */
    int64_t checkin_interval_s;
    int64_t checkin_free_space_min_bytes;
    int64_t settlement_interval_s;
    int64_t settlement_delay_s;
    int64_t ttl_interval_s;
    int64_t ttl_grace_s;      /* delete pieces this long after their piece_expiration */
    int64_t retain_skew_s;    /* GC keeps pieces created after filter time - this */
    int64_t trash_keep_s;     /* trash kept this long after its day ends */
    int64_t trash_interval_s; /* between trash expiry passes */
    int local;                /* 1: local-network profile defaults */
};

/* Fills cfg with defaults, then the config file (if --config is given), then the flags.
 * err_msg (err_msg_size bytes) receives a sentence on TS_ERR_CONFIG. */
TS_WARN_UNUSED ts_err node_config_load(struct node_config *cfg, int argc, char **argv,
                                       char *err_msg, size_t err_msg_size);

/* Parses "30s", "5m", "2h", "7d", "1w", "1h30m" or a bare number of seconds. */
TS_WARN_UNUSED ts_err node_config_parse_duration(const char *text, int64_t *out_s);
/* Parses "1TB", "500 MiB", "1048576" into bytes (decimal and binary units). */
TS_WARN_UNUSED ts_err node_config_parse_size(const char *text, int64_t *out);

#endif
