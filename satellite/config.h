/*
 * The satellite's configuration: a text file "<dir>/config" of "key = value" lines ('#' starts a
 * comment), written by `tessera-satellite setup` and read by `run` and the admin commands; any key
 * may also be given on the command line as --key=value (flags win over the file). One table in
 * config.c lists every key: the core keys, "gc.*" (garbage collection), "gexit.*" (graceful exit)
 * and "durability.*" (segment loop, audits, reputation, repair). Every key has a default; unknown
 * keys and bad values are refused with a message naming the key (and the line), so a typo never
 * silently falls back to a default. Durations take units (30s, 5m, 2h, 7d, 1h30m, 500ms; a bare
 * number is the key's unit, _s or _ms), sizes too (5GB, 1GiB, 2MiB; a bare number is bytes).
 */
#ifndef SAT_CONFIG_H
#define SAT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "base/buf.h"
#include "satellite/durability/settings.h"
#include "satellite/gc/gc.h"
#include "satellite/gexit/gexit.h"
#include "satellite/metainfo/redundancy.h"
#include "satellite/overlay/select.h"

#define SAT_CONFIG_FILE "config"
/* Where the durability.* settings lived before they became config keys (same names without the
 * prefix); still read after the config file when present, so its values win. */
#define SAT_DURABILITY_LEGACY_FILE "durability"
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
    /* Background services, each with its own key prefix. */
    struct sat_gc_config gc;                 /* gc.* */
    struct sat_gexit_config gexit;           /* gexit.* */
    struct sat_durability_config durability; /* durability.* */
};

/* Fills c with the defaults (production-safe values) for dir. */
void sat_config_defaults(struct sat_config *c, const char *dir);
/* The local-network profile `setup` writes by default: 4/6/8/10, no subnet rule, unvetted fill,
 * low node difficulty, no free-space minimum, and minutes instead of hours or days for the
 * background services (GC every 5 min, graceful exit over 10 min with no age minimum, a segment
 * loop pass every minute). Production values stay the defaults. */
void sat_config_local(struct sat_config *c);
/* Reads <dir>/config over the defaults, then the legacy <dir>/durability file if present (its
 * keys get the "durability." prefix). TS_ERR_NOT_FOUND when the config file is missing,
 * TS_ERR_CONFIG (with a logged line number and reason) for a bad line. */
TS_WARN_UNUSED ts_err sat_config_load(struct sat_config *c, const char *dir);
/* Parses text over the values in c (the file parser, exposed for tests). */
TS_WARN_UNUSED ts_err sat_config_parse(struct sat_config *c, const char *text, size_t len);
/* Sets one key from its text form (a command-line flag). TS_ERR_CONFIG (logged: unknown key or
 * why the value is bad) leaves c unchanged. */
TS_WARN_UNUSED ts_err sat_config_set(struct sat_config *c, const char *key, const char *value);
/* Checks cross-key rules (a redundancy is set, ...). TS_ERR_CONFIG (logged) when broken. */
TS_WARN_UNUSED ts_err sat_config_check(const struct sat_config *c);
/* Writes every setting to <dir>/config atomically. */
TS_WARN_UNUSED ts_err sat_config_save(const struct sat_config *c);

/* Value parsers shared by the table (exposed for tests). A duration is one or more
 * <number><unit> terms (ms s m h d w; "1h30m") or a bare number of unit_ms milliseconds; *out is
 * in unit_ms (TS_ERR_CONFIG when not a whole number of them, negative or absurdly large). A size
 * is a number with an optional unit (B KB MB GB TB KiB MiB GiB TiB, any case). */
TS_WARN_UNUSED ts_err sat_config_parse_duration(const char *text, int64_t unit_ms, int64_t *out);
TS_WARN_UNUSED ts_err sat_config_parse_size(const char *text, int64_t *out);

#endif
