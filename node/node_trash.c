/* Trash restore, expiry and counting (see node_trash.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "base/fs.h"
#include "base/log.h"
#include "encoding/encoding.h"
#include "node_trash.h"

#define LOG "node.trash"
#define B32_ID_LEN 52
#define DAY_S 86400

/* node_space has no call for pieces leaving the trash; its fields are adjusted under its own
 * mutex, the way its functions do. */
static void space_adjust(struct node_space *sp, int64_t pieces_bytes, int64_t pieces_count,
                         int64_t trash_bytes)
{
    pthread_mutex_lock(&sp->mu);
    sp->pieces_bytes += pieces_bytes;
    sp->pieces_count += pieces_count;
    sp->trash_bytes += trash_bytes;
    if (sp->trash_bytes < 0) {
        sp->trash_bytes = 0;
    }
    pthread_mutex_unlock(&sp->mu);
}

static ts_err join(char *out, const char *a, const char *b)
{
    int len = snprintf(out, PATH_MAX, "%s/%s", a, b);
    return len < 0 || len >= PATH_MAX ? TS_ERR_TOO_LARGE : TS_OK;
}

static ts_err sat_trash_dir(struct node *n, const uint8_t sat_id[32], char *out)
{
    char sat[B32_ID_LEN + 1];
    ts_err err = ts_base32_encode_to(TS_BASE32_LOWER, sat_id, 32, sat, sizeof sat);
    int len = snprintf(out, PATH_MAX, "%s/trash/%s", node_blobstore_dir(n->blobs), sat);
    return err != TS_OK ? err : len < 0 || len >= PATH_MAX ? TS_ERR_TOO_LARGE : TS_OK;
}

static int is_entry(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

/* ---- Restore ---- */

/* Moves the piece files of one trash/<sat>/<date>/<k2> directory into blobs/<sat>/<k2>. */
static ts_err restore_prefix(struct node *n, const char *from, const char *to,
                             struct node_trash_stats *st)
{
    DIR *d = opendir(from);
    if (d == NULL) {
        return TS_ERR_IO;
    }
    ts_err err = ts_fs_mkdir_p(to, 0700);
    int64_t moved_bytes = 0, moved = 0, dropped_bytes = 0;
    struct dirent *e;
    while (err == TS_OK && (e = readdir(d)) != NULL) {
        struct stat sb;
        if (!is_entry(e) || fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(sb.st_mode)) {
            continue;
        }
        char dst[PATH_MAX];
        err = join(dst, to, e->d_name);
        if (err != TS_OK) {
            break;
        }
        if (renameat2(dirfd(d), e->d_name, AT_FDCWD, dst, RENAME_NOREPLACE) == 0) {
            moved_bytes += (int64_t)sb.st_size;
            moved++;
        } else if (errno == EEXIST && unlinkat(dirfd(d), e->d_name, 0) == 0) {
            dropped_bytes += (int64_t)sb.st_size; /* blobs/ already holds the piece */
        } else {
            ts_log_error(LOG, "restore rename failed dir=%s file=%s errno=%s", from, e->d_name,
                         strerror(errno));
            err = TS_ERR_IO;
        }
    }
    closedir(d);
    if (moved > 0 && ts_fs_sync_dir(to) != TS_OK) {
        err = err == TS_OK ? TS_ERR_IO : err;
    }
    space_adjust(&n->space, moved_bytes, moved, -(moved_bytes + dropped_bytes));
    st->pieces += moved;
    st->bytes += moved_bytes;
    if (err == TS_OK) {
        (void)rmdir(from);
    }
    return err;
}

/* Restores one trash/<sat>/<date> directory. */
static ts_err restore_day(struct node *n, const char *day_dir, const char *blobs_dir,
                          struct node_trash_stats *st)
{
    DIR *d = opendir(day_dir);
    if (d == NULL) {
        return TS_ERR_IO;
    }
    ts_err err = TS_OK;
    struct dirent *e;
    while (err == TS_OK && (e = readdir(d)) != NULL) {
        char from[PATH_MAX], to[PATH_MAX];
        if (!is_entry(e)) {
            continue;
        }
        err = join(from, day_dir, e->d_name);
        if (err == TS_OK) {
            err = join(to, blobs_dir, e->d_name);
        }
        if (err == TS_OK) {
            err = restore_prefix(n, from, to, st);
        }
    }
    closedir(d);
    if (err == TS_OK) {
        (void)rmdir(day_dir);
    }
    return err;
}

ts_err node_trash_restore(struct node *n, const uint8_t sat_id[32], struct node_trash_stats *out)
{
    char trash[PATH_MAX], blobs[PATH_MAX], sat[B32_ID_LEN + 1];
    memset(out, 0, sizeof *out);
    ts_err err = sat_trash_dir(n, sat_id, trash);
    if (err == TS_OK) {
        err = ts_base32_encode_to(TS_BASE32_LOWER, sat_id, 32, sat, sizeof sat);
    }
    int len = snprintf(blobs, sizeof blobs, "%s/blobs/%s", node_blobstore_dir(n->blobs), sat);
    if (err != TS_OK || len < 0 || (size_t)len >= sizeof blobs) {
        return err != TS_OK ? err : TS_ERR_TOO_LARGE;
    }
    DIR *d = opendir(trash);
    if (d == NULL) {
        return errno == ENOENT ? TS_OK : TS_ERR_IO;
    }
    struct dirent *e;
    while (err == TS_OK && (e = readdir(d)) != NULL) {
        char day[PATH_MAX];
        if (is_entry(e) && (err = join(day, trash, e->d_name)) == TS_OK) {
            err = restore_day(n, day, blobs, out);
        }
    }
    closedir(d);
    ts_log_info(LOG, "trash restored pieces=%lld bytes=%lld err=%s", (long long)out->pieces,
                (long long)out->bytes, ts_errname(err));
    return err;
}

/* ---- Expire and count ---- */

/* Removes everything under path (depth-limited: trash days are <date>/<k2>/<file>), adding the
 * sizes of removed files to st. */
static void remove_tree(const char *path, int depth, struct node_trash_stats *st)
{
    DIR *d = opendir(path);
    if (d == NULL) {
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        struct stat sb;
        if (!is_entry(e) || fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
            continue;
        }
        char sub[PATH_MAX];
        if (S_ISDIR(sb.st_mode) && depth > 0 && join(sub, path, e->d_name) == TS_OK) {
            remove_tree(sub, depth - 1, st);
            (void)unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
        } else if (!S_ISDIR(sb.st_mode) && unlinkat(dirfd(d), e->d_name, 0) == 0) {
            st->pieces++;
            st->bytes += (int64_t)sb.st_size;
        }
    }
    closedir(d);
}

/* Counts files under path (same depth rule). */
static void count_tree(const char *path, int depth, struct node_trash_stats *st)
{
    DIR *d = opendir(path);
    if (d == NULL) {
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        struct stat sb;
        char sub[PATH_MAX];
        if (!is_entry(e) || fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
            continue;
        }
        if (S_ISDIR(sb.st_mode) && depth > 0 && join(sub, path, e->d_name) == TS_OK) {
            count_tree(sub, depth - 1, st);
        } else if (S_ISREG(sb.st_mode)) {
            st->pieces++;
            st->bytes += (int64_t)sb.st_size;
        }
    }
    closedir(d);
}

/* "YYYY-MM-DD" -> Unix seconds of that day's start (UTC); -1 when not a date. */
static int64_t parse_day(const char *name)
{
    int y = 0, m = 0, d = 0, used = 0;
    if (strlen(name) != 10 || sscanf(name, "%4d-%2d-%2d%n", &y, &m, &d, &used) != 3 ||
        used != 10 || y < 1970 || m < 1 || m > 12 || d < 1 || d > 31) {
        return -1;
    }
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};
    return (int64_t)timegm(&tm);
}

static void expire_sat(const char *sat_dir, int64_t now_s, int64_t keep_s,
                       struct node_trash_stats *st)
{
    DIR *d = opendir(sat_dir);
    if (d == NULL) {
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_entry(e)) {
            continue;
        }
        int64_t day_s = parse_day(e->d_name);
        char day[PATH_MAX];
        if (day_s < 0) {
            ts_log_warn(LOG, "trash directory is not a date, left alone dir=%s/%s", sat_dir,
                        e->d_name);
        } else if (now_s >= day_s + DAY_S + keep_s && join(day, sat_dir, e->d_name) == TS_OK) {
            remove_tree(day, 1, st);
            (void)unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
        }
    }
    closedir(d);
}

ts_err node_trash_expire(struct node *n, int64_t now_s, int64_t keep_s,
                         struct node_trash_stats *out)
{
    char trash[PATH_MAX];
    memset(out, 0, sizeof *out);
    ts_err err = join(trash, node_blobstore_dir(n->blobs), "trash");
    DIR *d = err == TS_OK ? opendir(trash) : NULL;
    if (d == NULL) {
        return err != TS_OK ? err : errno == ENOENT ? TS_OK : TS_ERR_IO;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char sat_dir[PATH_MAX];
        if (is_entry(e) && join(sat_dir, trash, e->d_name) == TS_OK) {
            expire_sat(sat_dir, now_s, keep_s, out);
        }
    }
    closedir(d);
    space_adjust(&n->space, 0, 0, -out->bytes);
    if (out->pieces > 0) {
        ts_log_info(LOG, "trash emptied pieces=%lld bytes=%lld keep_s=%lld",
                    (long long)out->pieces, (long long)out->bytes, (long long)keep_s);
    }
    return TS_OK;
}

ts_err node_trash_count(struct node *n, const uint8_t sat_id[32], struct node_trash_stats *out)
{
    char trash[PATH_MAX];
    memset(out, 0, sizeof *out);
    ts_err err = sat_trash_dir(n, sat_id, trash);
    if (err == TS_OK) {
        count_tree(trash, 2, out);
    }
    return err;
}
