/* The TTL collector: per-hour expiration index and its pass (see node_ttl.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/fs.h"
#include "base/log.h"
#include "node.h"
#include "node_ttl.h"

#define LOG "node.ttl"
#define RECORD_SIZE 72
#define HOUR_S 3600
/* Hour files one pass looks at (the rest wait for the next pass). */
#define HOURS_PER_PASS 4096

struct node_ttl {
    char dir[PATH_MAX];
    pthread_mutex_t mu; /* appends vs. the pass's rename of an hour file */
};

ts_err node_ttl_open(const char *storage_dir, struct node_ttl **out)
{
    *out = NULL;
    struct node_ttl *t = calloc(1, sizeof *t);
    if (t == NULL) {
        return TS_ERR_NOMEM;
    }
    int len = snprintf(t->dir, sizeof t->dir, "%s/ttl", storage_dir);
    ts_err err =
        len < 0 || (size_t)len >= sizeof t->dir ? TS_ERR_TOO_LARGE : ts_fs_mkdir_p(t->dir, 0700);
    if (err != TS_OK) {
        free(t);
        return err;
    }
    pthread_mutex_init(&t->mu, NULL);
    *out = t;
    return TS_OK;
}

void node_ttl_free(struct node_ttl *t)
{
    if (t == NULL) {
        return;
    }
    pthread_mutex_destroy(&t->mu);
    free(t);
}

static ts_err hour_path(const struct node_ttl *t, int64_t hour_s, const char *ext, char *out)
{
    int len = snprintf(out, PATH_MAX, "%s/%lld.%s", t->dir, (long long)hour_s, ext);
    return len < 0 || len >= PATH_MAX ? TS_ERR_TOO_LARGE : TS_OK;
}

ts_err node_ttl_add(struct node_ttl *t, const uint8_t sat_id[32], const uint8_t piece_id[32],
                    int64_t expiration_s)
{
    char path[PATH_MAX];
    uint8_t rec[RECORD_SIZE];
    TS_ASSERT(expiration_s > 0);
    memcpy(rec, sat_id, 32);
    memcpy(rec + 32, piece_id, 32);
    ts_be64_put(rec + 64, (uint64_t)expiration_s);
    ts_err err = hour_path(t, expiration_s - expiration_s % HOUR_S, "v1", path);
    if (err != TS_OK) {
        return err;
    }
    pthread_mutex_lock(&t->mu);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, rec, sizeof rec) != (ssize_t)sizeof rec) {
        ts_log_warn(LOG, "cannot append to the TTL index errno=%d", errno);
        err = TS_ERR_IO;
    }
    if (fd >= 0) {
        close(fd);
    }
    pthread_mutex_unlock(&t->mu);
    return err;
}

/* Hour start from "<digits>.v1" / "<digits>.collecting"; -1 for anything else. */
static int64_t hour_of(const char *name)
{
    char *end = NULL;
    long long h = strtoll(name, &end, 10);
    if (end == name || h < 0 || h % HOUR_S != 0 ||
        (strcmp(end, ".v1") != 0 && strcmp(end, ".collecting") != 0)) {
        return -1;
    }
    return h;
}

/* Due hours (hour end + grace <= now), each once. */
static size_t due_hours(const struct node_ttl *t, int64_t now_s, int64_t grace_s, int64_t *out,
                        size_t max)
{
    size_t count = 0;
    DIR *d = opendir(t->dir);
    struct dirent *e;
    while (d != NULL && count < max && (e = readdir(d)) != NULL) {
        int64_t h = hour_of(e->d_name);
        bool seen = false;
        for (size_t i = 0; i < count && !seen; i++) {
            seen = out[i] == h;
        }
        if (h >= 0 && !seen && h + HOUR_S + grace_s <= now_s) {
            out[count++] = h;
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    return count;
}

/* Deletes one indexed piece if its header confirms it expired. */
static void collect_one(struct node *n, const uint8_t *rec, int64_t now_s, int64_t grace_s,
                        struct node_ttl_stats *st)
{
    int64_t expiration_s = (int64_t)ts_be64_get(rec + 64), size = 0;
    struct node_blob_reader *r = NULL;
    ts_err err = node_blob_reader_open(n->blobs, rec, rec + 32, &r);
    if (err == TS_ERR_NOT_FOUND) {
        st->missing++;
        return;
    }
    int64_t stored_s = err == TS_OK ? node_blob_reader_header(r)->limit.piece_expiration_s : 0;
    node_blob_reader_free(r);
    if (err != TS_OK || stored_s != expiration_s || stored_s <= 0 || stored_s + grace_s > now_s) {
        st->kept++; /* unreadable, or not this upload's expiration: never delete on a guess */
        return;
    }
    err = node_blob_delete(n->blobs, rec, rec + 32, &size);
    if (err == TS_OK) {
        node_space_delete(&n->space, size);
        st->deleted++;
        st->bytes += size;
    } else if (err == TS_ERR_NOT_FOUND) {
        st->missing++;
    } else {
        st->kept++;
        ts_log_warn(LOG, "cannot delete an expired piece err=%s", ts_errname(err));
    }
}

/* Processes hour h: a leftover .collecting file first, then the .v1 file moved aside. */
static ts_err collect_hour(struct node_ttl *t, struct node *n, int64_t h, int64_t now_s,
                           int64_t grace_s, struct node_ttl_stats *st)
{
    char v1[PATH_MAX], aside[PATH_MAX];
    ts_err err = hour_path(t, h, "v1", v1);
    if (err == TS_OK) {
        err = hour_path(t, h, "collecting", aside);
    }
    for (int round = 0; err == TS_OK && round < 2; round++) {
        if (round == 1) {
            pthread_mutex_lock(&t->mu);
            int rc = rename(v1, aside);
            pthread_mutex_unlock(&t->mu);
            if (rc != 0) {
                return errno == ENOENT ? TS_OK : TS_ERR_IO;
            }
        }
        struct ts_buf b;
        ts_buf_init(&b, TS_NODE_TTL_FILE_MAX);
        err = ts_fs_read_all(aside, TS_NODE_TTL_FILE_MAX, &b);
        if (err == TS_ERR_NOT_FOUND) {
            err = TS_OK; /* no leftover */
        } else if (err == TS_OK) {
            for (size_t off = 0; off + RECORD_SIZE <= b.len; off += RECORD_SIZE) {
                collect_one(n, b.data + off, now_s, grace_s, st); /* a torn tail is skipped */
            }
            err = unlink(aside) == 0 ? TS_OK : TS_ERR_IO;
            st->files++;
        } else if (err == TS_ERR_TOO_LARGE) {
            ts_log_error(LOG, "TTL index file over %u bytes dropped hour=%lld",
                         TS_NODE_TTL_FILE_MAX, (long long)h);
            err = unlink(aside) == 0 ? TS_OK : TS_ERR_IO;
        }
        ts_buf_release(&b);
    }
    return err;
}

ts_err node_ttl_collect(struct node_ttl *t, struct node *n, int64_t now_s, int64_t grace_s,
                        struct node_ttl_stats *out)
{
    int64_t *hours = malloc(HOURS_PER_PASS * sizeof *hours);
    if (hours == NULL) {
        return TS_ERR_NOMEM;
    }
    size_t count = due_hours(t, now_s, grace_s, hours, HOURS_PER_PASS);
    ts_err err = TS_OK;
    for (size_t i = 0; err == TS_OK && i < count; i++) {
        err = collect_hour(t, n, hours[i], now_s, grace_s, out);
    }
    free(hours);
    return err;
}

int64_t node_ttl_pending_files(struct node_ttl *t)
{
    int64_t count = 0;
    DIR *d = opendir(t->dir);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        count += hour_of(e->d_name) >= 0;
    }
    if (d != NULL) {
        closedir(d);
    }
    return count;
}
