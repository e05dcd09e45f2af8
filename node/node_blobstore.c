#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/fs.h"
#include "base/log.h"
#include "crypto/hash.h"
#include "encoding/encoding.h"
#include "node_blobstore.h"
#include "piecestore.pb-c.h"

#define LOG "node.blobstore"
#define VERIFICATION_FILE "storage-dir-verification"
#define B32_ID_LEN 52 /* ts_base32_encoded_len(32) */

struct node_blobstore {
    char dir[PATH_MAX];
    atomic_uint_fast64_t temp_counter;
};

struct node_blob_writer {
    struct node_blobstore *bs;
    int fd;
    char temp_path[PATH_MAX];
    uint8_t sat_id[32];
    uint8_t piece_id[32];
    int64_t size;        /* data bytes written */
    int64_t flushed;     /* data bytes handed to writeback (sync_file_range) */
    struct ts_sha256_ctx *sha;
};

/* Written data is handed to the kernel's writeback every WRITEBACK_STEP bytes, so the disk works
 * while the rest of the piece arrives and the final fdatasync only waits for the tail (a 64 MiB
 * piece would otherwise wait ~150 ms for its whole flush at commit). */
#define WRITEBACK_STEP (4 << 20)

struct node_blob_reader {
    int fd;
    int64_t size;
    struct node_piece_header header;
};

/* ---- Header ---- */

ts_err node_piece_header_encode(const struct node_piece_header *h,
                                uint8_t out[TS_PIECE_HEADER_SIZE])
{
    Tessera__Orders__OrderLimit limit;
    ts_order_limit_to_proto(&h->limit, &limit);
    Tessera__Piecestore__PieceHeader pb;
    tessera__piecestore__piece_header__init(&pb);
    pb.format_version = h->format_version;
    pb.hash.data = (uint8_t *)h->hash;
    pb.hash.len = TS_PIECE_HASH_SIZE;
    pb.hash_algorithm = (Tessera__Orders__HashAlgorithm)h->hash_algorithm;
    pb.creation_time = h->creation_time_s;
    pb.signature.data = (uint8_t *)h->uplink_signature;
    pb.signature.len = h->uplink_signature_len;
    pb.order_limit = &limit;
    size_t n = tessera__piecestore__piece_header__get_packed_size(&pb);
    if (n > TS_PIECE_HEADER_SIZE - 2) {
        ts_log_error(LOG, "piece header too large size=%zu max=%d", n, TS_PIECE_HEADER_SIZE - 2);
        return TS_ERR_TOO_LARGE;
    }
    memset(out, 0, TS_PIECE_HEADER_SIZE);
    out[0] = (uint8_t)(n >> 8);
    out[1] = (uint8_t)n;
    tessera__piecestore__piece_header__pack(&pb, out + 2);
    return TS_OK;
}

ts_err node_piece_header_decode(const uint8_t *in, size_t len, struct node_piece_header *out)
{
    if (len < TS_PIECE_HEADER_SIZE) {
        return TS_ERR_TRUNCATED;
    }
    size_t n = ((size_t)in[0] << 8) | in[1];
    if (n == 0 || n > TS_PIECE_HEADER_SIZE - 2) {
        return TS_ERR_MALFORMED;
    }
    Tessera__Piecestore__PieceHeader *pb =
        tessera__piecestore__piece_header__unpack(NULL, n, in + 2);
    if (pb == NULL) {
        return TS_ERR_MALFORMED;
    }
    struct node_piece_header h;
    memset(&h, 0, sizeof h);
    ts_err err = TS_OK;
    if (pb->format_version != NODE_PIECE_FORMAT_VERSION) {
        err = TS_ERR_UNSUPPORTED_VERSION;
    } else if (pb->hash.len != TS_PIECE_HASH_SIZE || pb->signature.len > TS_ORDER_SIGNATURE_MAX ||
               (int)pb->hash_algorithm != (int)TS_HASH_SHA256) {
        err = TS_ERR_MALFORMED;
    } else {
        err = ts_order_limit_from_proto(pb->order_limit, &h.limit);
    }
    if (err == TS_OK) {
        h.format_version = pb->format_version;
        memcpy(h.hash, pb->hash.data, TS_PIECE_HASH_SIZE);
        h.hash_algorithm = TS_HASH_SHA256;
        h.creation_time_s = pb->creation_time;
        if (pb->signature.len > 0) {
            memcpy(h.uplink_signature, pb->signature.data, pb->signature.len);
        }
        h.uplink_signature_len = pb->signature.len;
        *out = h;
    }
    tessera__piecestore__piece_header__free_unpacked(pb, NULL);
    return err;
}

/* ---- Paths ---- */

static ts_err path_join(char *out, size_t out_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static ts_err path_join(char *out, size_t out_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, out_len, fmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= out_len ? TS_ERR_TOO_LARGE : TS_OK;
}

static void id_b32(const uint8_t id[32], char out[B32_ID_LEN + 1])
{
    ts_err err = ts_base32_encode_to(TS_BASE32_LOWER, id, 32, out, B32_ID_LEN + 1);
    TS_ASSERT(err == TS_OK);
}

/* blobs/<sat>/<k2> (the directory) and blobs/<sat>/<k2>/<rest>.sj1 (the file). */
static ts_err blob_paths(const struct node_blobstore *bs, const char *area, const char *date,
                         const uint8_t sat_id[32], const uint8_t piece_id[32], char *dir,
                         char *file)
{
    char sat[B32_ID_LEN + 1], key[B32_ID_LEN + 1];
    id_b32(sat_id, sat);
    id_b32(piece_id, key);
    ts_err err = date == NULL
                     ? path_join(dir, PATH_MAX, "%s/%s/%s/%.2s", bs->dir, area, sat, key)
                     : path_join(dir, PATH_MAX, "%s/%s/%s/%s/%.2s", bs->dir, area, sat, date, key);
    if (err == TS_OK) {
        err = path_join(file, PATH_MAX, "%s/%s.sj1", dir, key + 2);
    }
    return err;
}

/* ---- Opening ---- */

static ts_err check_verification(const char *dir, const uint8_t node_id[32])
{
    char path[PATH_MAX];
    ts_err err = path_join(path, sizeof path, "%s/%s", dir, VERIFICATION_FILE);
    if (err != TS_OK) {
        return err;
    }
    struct ts_buf b;
    ts_buf_init(&b, 64);
    err = ts_fs_read_all(path, 64, &b);
    if (err == TS_ERR_NOT_FOUND) {
        ts_buf_release(&b);
        ts_log_info(LOG, "new storage dir, writing verification file dir=%s", dir);
        return ts_fs_write_atomic(path, node_id, 32, 0600);
    }
    if (err == TS_OK && (b.len != 32 || !ts_ct_equal(b.data, node_id, 32))) {
        ts_log_error(LOG, "storage dir belongs to another node (its %s does not hold this "
                          "node's ID): refusing to start dir=%s", VERIFICATION_FILE, dir);
        err = TS_ERR_CONFIG;
    }
    ts_buf_release(&b);
    return err;
}

static void clean_temp(const char *dir)
{
    char temp[PATH_MAX];
    if (path_join(temp, sizeof temp, "%s/temp", dir) != TS_OK) {
        return;
    }
    DIR *d = opendir(temp);
    if (d == NULL) {
        return;
    }
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.' && unlinkat(dirfd(d), e->d_name, 0) == 0) {
            removed++;
        }
    }
    closedir(d);
    if (removed > 0) {
        ts_log_info(LOG, "removed leftover temp files count=%d", removed);
    }
}

ts_err node_blobstore_open(const char *storage_dir, const uint8_t node_id[32],
                           struct node_blobstore **out)
{
    *out = NULL;
    struct node_blobstore *bs = calloc(1, sizeof *bs);
    if (bs == NULL) {
        return TS_ERR_NOMEM;
    }
    ts_err err = path_join(bs->dir, sizeof bs->dir, "%s", storage_dir);
    static const char *const subdirs[] = {"", "/blobs", "/temp", "/trash"};
    for (size_t i = 0; err == TS_OK && i < TS_ARRAY_LEN(subdirs); i++) {
        char p[PATH_MAX];
        err = path_join(p, sizeof p, "%s%s", storage_dir, subdirs[i]);
        if (err == TS_OK) {
            err = ts_fs_mkdir_p(p, 0700);
        }
        if (err != TS_OK) {
            ts_log_error(LOG, "cannot create storage dir path=%s errno=%s", p, strerror(errno));
        }
    }
    if (err == TS_OK) {
        err = check_verification(storage_dir, node_id);
    }
    if (err != TS_OK) {
        free(bs);
        return err;
    }
    clean_temp(storage_dir);
    *out = bs;
    return TS_OK;
}

void node_blobstore_free(struct node_blobstore *bs)
{
    free(bs);
}

const char *node_blobstore_dir(const struct node_blobstore *bs)
{
    return bs->dir;
}

/* ---- Writing ---- */

static ts_err errno_to_err(void)
{
    return errno == ENOSPC || errno == EDQUOT ? TS_ERR_NO_SPACE : TS_ERR_IO;
}

ts_err node_blob_writer_new(struct node_blobstore *bs, const uint8_t sat_id[32],
                            const uint8_t piece_id[32], struct node_blob_writer **out)
{
    *out = NULL;
    struct node_blob_writer *w = calloc(1, sizeof *w);
    if (w == NULL) {
        return TS_ERR_NOMEM;
    }
    w->bs = bs;
    w->fd = -1;
    memcpy(w->sat_id, sat_id, 32);
    memcpy(w->piece_id, piece_id, 32);
    uint64_t n = atomic_fetch_add(&bs->temp_counter, 1);
    ts_err err = path_join(w->temp_path, sizeof w->temp_path, "%s/temp/blob-%ld-%llu.partial",
                           bs->dir, (long)getpid(), (unsigned long long)n);
    if (err == TS_OK) {
        err = ts_sha256_ctx_new(&w->sha);
    }
    if (err == TS_OK) {
        w->fd = open(w->temp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (w->fd < 0) {
            ts_log_error(LOG, "create temp failed path=%s errno=%s", w->temp_path,
                         strerror(errno));
            err = errno_to_err();
            w->temp_path[0] = 0;
        }
    }
    if (err == TS_OK && lseek(w->fd, TS_PIECE_HEADER_SIZE, SEEK_SET) < 0) {
        err = TS_ERR_IO;
    }
    if (err != TS_OK) {
        node_blob_writer_free(w);
        return err;
    }
    *out = w;
    return TS_OK;
}

ts_err node_blob_writer_write(struct node_blob_writer *w, const void *data, size_t len)
{
    if (len == 0) {
        return TS_OK;
    }
    ts_err err = ts_sha256_ctx_update(w->sha, data, len);
    if (err == TS_OK) {
        err = ts_fs_write_full(w->fd, data, len);
    }
    if (err == TS_OK) {
        w->size += (int64_t)len;
    }
    if (err == TS_OK && w->size - w->flushed >= WRITEBACK_STEP) {
        /* Start writeback only; errors surface at fdatasync in _commit. */
        (void)sync_file_range(w->fd, TS_PIECE_HEADER_SIZE + w->flushed, w->size - w->flushed,
                              SYNC_FILE_RANGE_WRITE);
        w->flushed = w->size;
    }
    return err;
}

int64_t node_blob_writer_size(const struct node_blob_writer *w)
{
    return w->size;
}

ts_err node_blob_writer_hash(struct node_blob_writer *w, uint8_t out[TS_PIECE_HASH_SIZE])
{
    return ts_sha256_ctx_final(w->sha, out);
}

/* Renames temp to file without replacing an existing piece; creates the 2-char dir on demand. */
static ts_err rename_noreplace(const char *temp, const char *dir, const char *file)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (renameat2(AT_FDCWD, temp, AT_FDCWD, file, RENAME_NOREPLACE) == 0) {
            return TS_OK;
        }
        if (errno == EEXIST) {
            return TS_ERR_EXISTS;
        }
        if (errno == EINVAL || errno == ENOSYS) {
            /* File systems without RENAME_NOREPLACE: link fails on an existing name too. */
            if (link(temp, file) == 0) {
                unlink(temp);
                return TS_OK;
            }
            if (errno == EEXIST) {
                return TS_ERR_EXISTS;
            }
        }
        if (errno != ENOENT || attempt > 0) {
            break;
        }
        ts_err err = ts_fs_mkdir_p(dir, 0700);
        if (err != TS_OK) {
            return err;
        }
    }
    ts_log_error(LOG, "rename into blobs failed path=%s errno=%s", file, strerror(errno));
    return errno_to_err();
}

ts_err node_blob_writer_commit(struct node_blob_writer *w, const struct node_piece_header *h)
{
    uint8_t header[TS_PIECE_HEADER_SIZE];
    char dir[PATH_MAX], file[PATH_MAX];
    ts_err err = node_piece_header_encode(h, header);
    if (err == TS_OK) {
        err = blob_paths(w->bs, "blobs", NULL, w->sat_id, w->piece_id, dir, file);
    }
    if (err == TS_OK && pwrite(w->fd, header, sizeof header, 0) != (ssize_t)sizeof header) {
        err = errno_to_err();
    }
    if (err == TS_OK && fdatasync(w->fd) != 0) {
        err = errno_to_err();
    }
    if (err == TS_OK) {
        err = rename_noreplace(w->temp_path, dir, file);
    }
    if (err == TS_OK) {
        w->temp_path[0] = 0; /* committed: nothing to remove */
        err = ts_fs_sync_dir(dir);
    }
    return err;
}

void node_blob_writer_free(struct node_blob_writer *w)
{
    if (w == NULL) {
        return;
    }
    if (w->fd >= 0) {
        close(w->fd);
    }
    if (w->temp_path[0] != 0) {
        unlink(w->temp_path);
    }
    ts_sha256_ctx_free(w->sha);
    free(w);
}

/* ---- Reading ---- */

ts_err node_blob_reader_open(struct node_blobstore *bs, const uint8_t sat_id[32],
                             const uint8_t piece_id[32], struct node_blob_reader **out)
{
    *out = NULL;
    char dir[PATH_MAX], file[PATH_MAX];
    ts_err err = blob_paths(bs, "blobs", NULL, sat_id, piece_id, dir, file);
    if (err != TS_OK) {
        return err;
    }
    struct node_blob_reader *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return TS_ERR_NOMEM;
    }
    r->fd = open(file, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        err = errno == ENOENT ? TS_ERR_NOT_FOUND : TS_ERR_IO;
        free(r);
        return err;
    }
    uint8_t header[TS_PIECE_HEADER_SIZE];
    struct stat st;
    if (fstat(r->fd, &st) != 0) {
        err = TS_ERR_IO;
    } else if (st.st_size < TS_PIECE_HEADER_SIZE ||
               pread(r->fd, header, sizeof header, 0) != (ssize_t)sizeof header) {
        err = TS_ERR_TRUNCATED;
    } else {
        err = node_piece_header_decode(header, sizeof header, &r->header);
    }
    if (err != TS_OK) {
        ts_log_warn(LOG, "damaged piece file path=%s err=%s", file, ts_errname(err));
        node_blob_reader_free(r);
        return err;
    }
    r->size = (int64_t)st.st_size - TS_PIECE_HEADER_SIZE;
    *out = r;
    return TS_OK;
}

const struct node_piece_header *node_blob_reader_header(const struct node_blob_reader *r)
{
    return &r->header;
}

int64_t node_blob_reader_size(const struct node_blob_reader *r)
{
    return r->size;
}

ts_err node_blob_reader_read(struct node_blob_reader *r, int64_t offset, void *buf, size_t len)
{
    if (offset < 0 || (uint64_t)offset > (uint64_t)r->size ||
        len > (uint64_t)(r->size - offset)) {
        return TS_ERR_TRUNCATED;
    }
    uint8_t *p = buf;
    off_t pos = (off_t)(offset + TS_PIECE_HEADER_SIZE);
    while (len > 0) {
        ssize_t n = pread(r->fd, p, len, pos);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return n == 0 ? TS_ERR_TRUNCATED : TS_ERR_IO;
        }
        p += n;
        pos += n;
        len -= (size_t)n;
    }
    return TS_OK;
}

void node_blob_reader_free(struct node_blob_reader *r)
{
    if (r == NULL) {
        return;
    }
    if (r->fd >= 0) {
        close(r->fd);
    }
    free(r);
}

/* ---- Exists, trash ---- */

ts_err node_blob_exists(struct node_blobstore *bs, const uint8_t sat_id[32],
                        const uint8_t piece_id[32])
{
    char dir[PATH_MAX], file[PATH_MAX];
    ts_err err = blob_paths(bs, "blobs", NULL, sat_id, piece_id, dir, file);
    if (err != TS_OK) {
        return err;
    }
    struct stat st;
    if (stat(file, &st) != 0) {
        return errno == ENOENT ? TS_ERR_NOT_FOUND : TS_ERR_IO;
    }
    return TS_OK;
}

ts_err node_blob_trash(struct node_blobstore *bs, const uint8_t sat_id[32],
                       const uint8_t piece_id[32], int64_t now_s, int64_t *size_out)
{
    char dir[PATH_MAX], file[PATH_MAX], tdir[PATH_MAX], tfile[PATH_MAX], date[48];
    struct tm tm;
    time_t t = (time_t)now_s;
    gmtime_r(&t, &tm);
    snprintf(date, sizeof date, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    ts_err err = blob_paths(bs, "blobs", NULL, sat_id, piece_id, dir, file);
    if (err == TS_OK) {
        err = blob_paths(bs, "trash", date, sat_id, piece_id, tdir, tfile);
    }
    if (err != TS_OK) {
        return err;
    }
    struct stat st;
    if (stat(file, &st) != 0) {
        return errno == ENOENT ? TS_ERR_NOT_FOUND : TS_ERR_IO;
    }
    err = ts_fs_mkdir_p(tdir, 0700);
    if (err == TS_OK && rename(file, tfile) != 0) {
        err = errno == ENOENT ? TS_ERR_NOT_FOUND : TS_ERR_IO;
    }
    if (err == TS_OK) {
        *size_out = (int64_t)st.st_size;
        err = ts_fs_sync_dir(dir);
    }
    return err;
}

ts_err node_blob_delete(struct node_blobstore *bs, const uint8_t sat_id[32],
                        const uint8_t piece_id[32], int64_t *size_out)
{
    char dir[PATH_MAX], file[PATH_MAX];
    struct stat st;
    ts_err err = blob_paths(bs, "blobs", NULL, sat_id, piece_id, dir, file);
    if (err != TS_OK) {
        return err;
    }
    if (stat(file, &st) != 0 || unlink(file) != 0) {
        return errno == ENOENT ? TS_ERR_NOT_FOUND : TS_ERR_IO;
    }
    *size_out = (int64_t)st.st_size;
    return TS_OK;
}

/* ---- Walking ---- */

/* Adds the sizes of regular files under path (depth-limited) to *bytes and *count. */
static void walk_dir(const char *path, int depth, int64_t *bytes, int64_t *count)
{
    DIR *d = opendir(path);
    if (d == NULL) {
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            continue;
        }
        if (S_ISDIR(st.st_mode) && depth > 0) {
            char sub[PATH_MAX];
            if (path_join(sub, sizeof sub, "%s/%s", path, e->d_name) == TS_OK) {
                walk_dir(sub, depth - 1, bytes, count);
            }
        } else if (S_ISREG(st.st_mode)) {
            *bytes += (int64_t)st.st_size;
            *count += 1;
        }
    }
    closedir(d);
}

ts_err node_blobstore_walk(struct node_blobstore *bs, int64_t *pieces_bytes,
                           int64_t *pieces_count, int64_t *trash_bytes)
{
    char path[PATH_MAX];
    int64_t trash_count = 0;
    *pieces_bytes = *pieces_count = *trash_bytes = 0;
    ts_err err = path_join(path, sizeof path, "%s/blobs", bs->dir);
    if (err == TS_OK) {
        walk_dir(path, 2, pieces_bytes, pieces_count);
        err = path_join(path, sizeof path, "%s/trash", bs->dir);
    }
    if (err == TS_OK) {
        walk_dir(path, 3, trash_bytes, &trash_count);
    }
    return err;
}
