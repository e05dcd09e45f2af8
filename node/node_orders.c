#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/fs.h"
#include "base/log.h"
#include "crypto/hash.h"
#include "encoding/encoding.h"
#include "node_orders.h"

#define LOG "node.orders"

/* ---- Used serials ---- */

struct serial_slot {
    uint8_t serial[TS_SERIAL_SIZE];
    int64_t expiration_s; /* 0: empty slot */
};

struct node_serials {
    pthread_mutex_t mu;
    struct serial_slot *slots;
    size_t slots_len; /* power of two */
    size_t count;
    size_t count_max; /* 3/4 of slots_len */
};

ts_err node_serials_new(size_t bytes_max, struct node_serials **out)
{
    *out = NULL;
    size_t slots_len = 16;
    while (slots_len * 2 * sizeof(struct serial_slot) <= bytes_max) {
        slots_len *= 2;
    }
    struct node_serials *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return TS_ERR_NOMEM;
    }
    s->slots = calloc(slots_len, sizeof *s->slots);
    if (s->slots == NULL) {
        free(s);
        return TS_ERR_NOMEM;
    }
    pthread_mutex_init(&s->mu, NULL);
    s->slots_len = slots_len;
    s->count_max = slots_len / 4 * 3;
    *out = s;
    return TS_OK;
}

void node_serials_free(struct node_serials *s)
{
    if (s == NULL) {
        return;
    }
    pthread_mutex_destroy(&s->mu);
    free(s->slots);
    free(s);
}

/* Bytes 8..15 of a serial are random: a fine hash. */
static size_t slot_of(const struct node_serials *s, const uint8_t serial[TS_SERIAL_SIZE])
{
    return (size_t)ts_be64_get(serial + 8) & (s->slots_len - 1);
}

static void insert_slot(struct node_serials *s, const struct serial_slot *e)
{
    size_t i = slot_of(s, e->serial);
    while (s->slots[i].expiration_s != 0) {
        i = (i + 1) & (s->slots_len - 1);
    }
    s->slots[i] = *e;
    s->count++;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Rebuilds the table keeping entries that expire after cutoff_s. */
static void rebuild(struct node_serials *s, int64_t cutoff_s, struct serial_slot *scratch)
{
    memcpy(scratch, s->slots, s->slots_len * sizeof *scratch);
    memset(s->slots, 0, s->slots_len * sizeof *s->slots);
    s->count = 0;
    for (size_t i = 0; i < s->slots_len; i++) {
        if (scratch[i].expiration_s > cutoff_s) {
            insert_slot(s, &scratch[i]);
        }
    }
}

/* Makes room: drops expired entries, then (if still 7/8 full) the soonest-expiring quarter. */
static ts_err make_room(struct node_serials *s, int64_t now_s)
{
    struct serial_slot *scratch = malloc(s->slots_len * sizeof *scratch);
    if (scratch == NULL) {
        return TS_ERR_NOMEM;
    }
    rebuild(s, now_s, scratch);
    if (s->count >= s->count_max / 8 * 7) {
        int64_t *exp = (int64_t *)scratch; /* reuse: slots are larger than int64 */
        size_t n = 0;
        for (size_t i = 0; i < s->slots_len; i++) {
            if (s->slots[i].expiration_s != 0) {
                exp[n++] = s->slots[i].expiration_s;
            }
        }
        qsort(exp, n, sizeof *exp, cmp_i64);
        int64_t cutoff = exp[n / 4];
        ts_log_warn(LOG, "used-serial table full, forgetting the oldest quarter count=%zu", n);
        rebuild(s, cutoff, scratch);
    }
    free(scratch);
    return TS_OK;
}

ts_err node_serials_add(struct node_serials *s, const uint8_t serial[TS_SERIAL_SIZE],
                        int64_t expiration_s, int64_t now_s)
{
    if (expiration_s <= 0) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    ts_err err = TS_OK;
    pthread_mutex_lock(&s->mu);
    for (size_t i = slot_of(s, serial); s->slots[i].expiration_s != 0;
         i = (i + 1) & (s->slots_len - 1)) {
        if (memcmp(s->slots[i].serial, serial, TS_SERIAL_SIZE) == 0) {
            err = TS_ERR_REPLAYED;
            goto done;
        }
    }
    if (s->count >= s->count_max) {
        err = make_room(s, now_s);
    }
    if (err == TS_OK) {
        struct serial_slot e;
        memcpy(e.serial, serial, TS_SERIAL_SIZE);
        e.expiration_s = expiration_s;
        insert_slot(s, &e);
    }
done:
    pthread_mutex_unlock(&s->mu);
    return err;
}

size_t node_serials_count(struct node_serials *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->count;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* ---- Settlement files ---- */

#define ENTRY_MAGIC "TSO1"
#define ENTRY_HEADER_SIZE 12
#define ENTRY_PAYLOAD_MAX (2 * TS_ORDER_LIMIT_ENCODED_MAX)

struct node_orders_store {
    char dir[PATH_MAX];     /* orders/unsent */
    char archive[PATH_MAX]; /* orders/archive */
    pthread_mutex_t mu; /* serialises appends so entries never interleave */
};

ts_err node_orders_store_open(const char *storage_dir, struct node_orders_store **out)
{
    *out = NULL;
    struct node_orders_store *st = calloc(1, sizeof *st);
    if (st == NULL) {
        return TS_ERR_NOMEM;
    }
    int n = snprintf(st->dir, sizeof st->dir, "%s/orders/unsent", storage_dir);
    int m = snprintf(st->archive, sizeof st->archive, "%s/orders/archive", storage_dir);
    ts_err err = n < 0 || (size_t)n >= sizeof st->dir || m < 0 || (size_t)m >= sizeof st->archive
                     ? TS_ERR_TOO_LARGE
                     : TS_OK;
    if (err == TS_OK) {
        err = ts_fs_mkdir_p(st->dir, 0700);
    }
    if (err == TS_OK) {
        err = ts_fs_mkdir_p(st->archive, 0700);
    }
    if (err != TS_OK) {
        free(st);
        return err;
    }
    pthread_mutex_init(&st->mu, NULL);
    *out = st;
    return TS_OK;
}

void node_orders_store_free(struct node_orders_store *st)
{
    if (st == NULL) {
        return;
    }
    pthread_mutex_destroy(&st->mu);
    free(st);
}

static ts_err file_path(const struct node_orders_store *st, const struct ts_node_id *sat,
                        int64_t hour_s, char *out, size_t out_len)
{
    char b32[64];
    ts_err err = ts_base32_encode_to(TS_BASE32_LOWER, sat->bytes, 32, b32, sizeof b32);
    if (err != TS_OK) {
        return err;
    }
    int n = snprintf(out, out_len, "%s/%s-%lld.v1", st->dir, b32, (long long)hour_s);
    return n < 0 || (size_t)n >= out_len ? TS_ERR_TOO_LARGE : TS_OK;
}

static ts_err encode_entry(const struct ts_order_limit *limit, const struct ts_order *order,
                           uint8_t *out, size_t *out_len)
{
    Tessera__Orders__OrderLimit pl;
    Tessera__Orders__Order po;
    Tessera__Orders__SettlementEntry pe;
    ts_order_limit_to_proto(limit, &pl);
    ts_order_to_proto(order, &po);
    tessera__orders__settlement_entry__init(&pe);
    pe.limit = &pl;
    pe.order = &po;
    size_t n = tessera__orders__settlement_entry__get_packed_size(&pe);
    if (n > ENTRY_PAYLOAD_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    tessera__orders__settlement_entry__pack(&pe, out + ENTRY_HEADER_SIZE);
    uint8_t sum[TS_SHA256_SIZE];
    ts_err err = ts_sha256(out + ENTRY_HEADER_SIZE, n, sum);
    if (err != TS_OK) {
        return err;
    }
    memcpy(out, ENTRY_MAGIC, 4);
    ts_be32_put(out + 4, (uint32_t)n);
    memcpy(out + 8, sum, 4);
    *out_len = ENTRY_HEADER_SIZE + n;
    return TS_OK;
}

ts_err node_orders_store_add(struct node_orders_store *st, const struct ts_order_limit *limit,
                             const struct ts_order *order)
{
    uint8_t entry[ENTRY_HEADER_SIZE + ENTRY_PAYLOAD_MAX];
    size_t len = 0;
    char path[PATH_MAX];
    int64_t hour_s = limit->order_creation_s - limit->order_creation_s % 3600;
    ts_err err = encode_entry(limit, order, entry, &len);
    if (err == TS_OK) {
        err = file_path(st, &limit->satellite_id, hour_s, path, sizeof path);
    }
    if (err != TS_OK) {
        return err;
    }
    pthread_mutex_lock(&st->mu);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        ts_log_error(LOG, "open orders file failed path=%s errno=%s", path, strerror(errno));
        err = TS_ERR_IO;
    } else {
        err = ts_fs_write_full(fd, entry, len);
        close(fd);
    }
    pthread_mutex_unlock(&st->mu);
    return err;
}

static ts_err parse_entries(const uint8_t *p, size_t len, node_orders_entry_fn fn, void *ctx)
{
    while (len > 0) {
        if (len < ENTRY_HEADER_SIZE || memcmp(p, ENTRY_MAGIC, 4) != 0) {
            return TS_ERR_CHECKSUM;
        }
        size_t n = ts_be32_get(p + 4);
        uint8_t sum[TS_SHA256_SIZE];
        if (n > ENTRY_PAYLOAD_MAX || n > len - ENTRY_HEADER_SIZE ||
            ts_sha256(p + ENTRY_HEADER_SIZE, n, sum) != TS_OK || memcmp(sum, p + 8, 4) != 0) {
            return TS_ERR_CHECKSUM;
        }
        Tessera__Orders__SettlementEntry *pe =
            tessera__orders__settlement_entry__unpack(NULL, n, p + ENTRY_HEADER_SIZE);
        if (pe == NULL) {
            return TS_ERR_CHECKSUM;
        }
        struct ts_order_limit l;
        struct ts_order o;
        ts_err err = ts_order_limit_from_proto(pe->limit, &l);
        if (err == TS_OK) {
            err = ts_order_from_proto(pe->order, &o);
        }
        tessera__orders__settlement_entry__free_unpacked(pe, NULL);
        if (err == TS_OK) {
            err = fn(&l, &o, ctx);
        }
        if (err != TS_OK) {
            return err;
        }
        p += ENTRY_HEADER_SIZE + n;
        len -= ENTRY_HEADER_SIZE + n;
    }
    return TS_OK;
}

ts_err node_orders_store_read(struct node_orders_store *st, const struct ts_node_id *sat,
                              int64_t hour_s, node_orders_entry_fn fn, void *ctx)
{
    char path[PATH_MAX];
    ts_err err = file_path(st, sat, hour_s, path, sizeof path);
    if (err != TS_OK) {
        return err;
    }
    struct ts_buf b;
    ts_buf_init(&b, TS_NODE_ORDERS_FILE_MAX);
    err = ts_fs_read_all(path, b.cap_max, &b);
    if (err == TS_OK) {
        err = parse_entries(b.data, b.len, fn, ctx);
    }
    ts_buf_release(&b);
    return err;
}

/* ---- Windows, archive, cleanup ---- */

#define B32_ID_LEN 52 /* ts_base32_encoded_len(32) */

/* Parses "<sat b32>-<hour>.v1". */
static int parse_window_name(const char *name, struct node_orders_window *w)
{
    size_t len = strlen(name);
    if (len < B32_ID_LEN + 5 || name[B32_ID_LEN] != '-' || strcmp(name + len - 3, ".v1") != 0) {
        return 0;
    }
    struct ts_buf b;
    ts_buf_init(&b, 32);
    int ok = ts_base32_decode(TS_BASE32_LOWER, name, B32_ID_LEN, &b) == TS_OK && b.len == 32;
    if (ok) {
        memcpy(w->satellite.bytes, b.data, 32);
    }
    ts_buf_release(&b);
    char *end = NULL;
    long long hour = strtoll(name + B32_ID_LEN + 1, &end, 10);
    if (!ok || end != name + len - 3 || hour < 0 || hour % 3600 != 0) {
        return 0;
    }
    w->hour_s = hour;
    return 1;
}

ts_err node_orders_store_windows(struct node_orders_store *st, struct node_orders_window *out,
                                 size_t max, size_t *count)
{
    *count = 0;
    DIR *d = opendir(st->dir);
    if (d == NULL) {
        ts_log_error(LOG, "cannot list orders dir=%s errno=%s", st->dir, strerror(errno));
        return TS_ERR_IO;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL && *count < max) {
        if (e->d_name[0] != '.' && parse_window_name(e->d_name, &out[*count])) {
            (*count)++;
        }
    }
    closedir(d);
    return TS_OK;
}

ts_err node_orders_store_archive(struct node_orders_store *st, const struct ts_node_id *sat,
                                 int64_t hour_s, const char *status, int64_t now_s)
{
    char from[PATH_MAX], to[PATH_MAX + 128], b32[64];
    ts_err err = file_path(st, sat, hour_s, from, sizeof from);
    if (err == TS_OK) {
        err = ts_base32_encode_to(TS_BASE32_LOWER, sat->bytes, 32, b32, sizeof b32);
    }
    int n = snprintf(to, sizeof to, "%s/%s-%lld.%s.%lld.v1", st->archive, b32, (long long)hour_s,
                     status, (long long)now_s);
    if (err == TS_OK && (n < 0 || n >= PATH_MAX)) {
        err = TS_ERR_TOO_LARGE;
    }
    if (err != TS_OK) {
        return err;
    }
    pthread_mutex_lock(&st->mu);
    if (rename(from, to) != 0) {
        err = errno == ENOENT ? TS_ERR_NOT_FOUND : TS_ERR_IO;
        if (err == TS_ERR_IO) {
            ts_log_error(LOG, "cannot archive orders file path=%s errno=%s", from,
                         strerror(errno));
        }
    }
    pthread_mutex_unlock(&st->mu);
    return err;
}

/* The archive time of "<sat>-<hour>.<status>.<archived>.v1", or -1. */
static int64_t archived_at(const char *name)
{
    size_t len = strlen(name);
    if (len < 4 || strcmp(name + len - 3, ".v1") != 0) {
        return -1;
    }
    const char *dot = name + len - 4;
    while (dot > name && *dot != '.') {
        dot--;
    }
    char *end = NULL;
    long long t = strtoll(dot + 1, &end, 10);
    return *dot == '.' && end == name + len - 3 && end != dot + 1 ? (int64_t)t : -1;
}

ts_err node_orders_store_cleanup(struct node_orders_store *st, int64_t cutoff_s, int *removed)
{
    *removed = 0;
    DIR *d = opendir(st->archive);
    if (d == NULL) {
        return TS_ERR_IO;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int64_t t = e->d_name[0] == '.' ? -1 : archived_at(e->d_name);
        if (t >= 0 && t < cutoff_s && unlinkat(dirfd(d), e->d_name, 0) == 0) {
            (*removed)++;
        }
    }
    closedir(d);
    return TS_OK;
}
