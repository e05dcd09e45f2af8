#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "base/fs.h"
#include "base/log.h"

ts_err ts_fs_write_full(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno == ENOSPC || errno == EDQUOT ? TS_ERR_NO_SPACE : TS_ERR_IO;
        }
        p += n;
        len -= (size_t)n;
    }
    return TS_OK;
}

ts_err ts_fs_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        ts_log_error("fs", "open dir for fsync failed dir=%s errno=%s", dir, strerror(errno));
        return TS_ERR_IO;
    }
    int rc = fsync(fd);
    close(fd);
    return rc == 0 ? TS_OK : TS_ERR_IO;
}

static void dir_of(const char *path, char *out, size_t out_len)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        snprintf(out, out_len, ".");
    } else if (slash == path) {
        snprintf(out, out_len, "/");
    } else {
        snprintf(out, out_len, "%.*s", (int)(slash - path), path);
    }
}

ts_err ts_fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    char tmp[PATH_MAX];
    char dir[PATH_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp) {
        return TS_ERR_TOO_LARGE;
    }
    dir_of(path, dir, sizeof dir);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        ts_log_error("fs", "create failed path=%s errno=%s", tmp, strerror(errno));
        return errno == ENOSPC ? TS_ERR_NO_SPACE : TS_ERR_IO;
    }
    ts_err err = ts_fs_write_full(fd, data, len);
    if (err == TS_OK && fsync(fd) != 0) {
        err = TS_ERR_IO;
    }
    if (close(fd) != 0 && err == TS_OK) {
        err = TS_ERR_IO;
    }
    if (err == TS_OK && rename(tmp, path) != 0) {
        ts_log_error("fs", "rename failed path=%s errno=%s", path, strerror(errno));
        err = TS_ERR_IO;
    }
    if (err != TS_OK) {
        unlink(tmp);
        return err;
    }
    return ts_fs_sync_dir(dir);
}

ts_err ts_fs_read_all(const char *path, size_t max_len, struct ts_buf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? TS_ERR_NOT_FOUND : TS_ERR_IO;
    }
    ts_err err = TS_OK;
    size_t total = 0;
    uint8_t chunk[16384];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            err = TS_ERR_IO;
            break;
        }
        if (n == 0) {
            break;
        }
        total += (size_t)n;
        if (total > max_len) {
            err = TS_ERR_TOO_LARGE;
            break;
        }
        err = ts_buf_append(out, chunk, (size_t)n);
        if (err != TS_OK) {
            break;
        }
    }
    ts_wipe(chunk, sizeof chunk);
    close(fd);
    return err;
}

ts_err ts_fs_mkdir_p(const char *dir, mode_t mode)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s", dir);
    if (n < 0 || (size_t)n >= sizeof path) {
        return TS_ERR_TOO_LARGE;
    }
    for (char *p = path + 1; *p != 0; p++) {
        if (*p != '/') {
            continue;
        }
        *p = 0;
        if (mkdir(path, mode) != 0 && errno != EEXIST) {
            return TS_ERR_IO;
        }
        *p = '/';
    }
    if (mkdir(path, mode) != 0 && errno != EEXIST) {
        return TS_ERR_IO;
    }
    return TS_OK;
}
