/* Streaming transfers for cp and mv (see cli_transfer.h). A NULL path means stdin or stdout. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "base/fs.h"
#include "cli/cli.h"
#include "cli/cli_exit.h"
#include "cli/cli_progress.h"
#include "cli/cli_transfer.h"

/* ---- The part file of a download in progress: removed if the process is interrupted ---- */

static char part_path[PATH_MAX];
static volatile sig_atomic_t part_armed;
static const int part_signals[] = {SIGINT, SIGTERM, SIGHUP};

/* Async-signal-safe: removes the part file, then dies of the signal as if it had no handler
 * (SA_RESETHAND restored the default; the raised signal is delivered once this returns). */
static void part_on_signal(int sig)
{
    if (part_armed) {
        (void)unlink(part_path);
    }
    (void)raise(sig);
}

/* From now until part_disarm, a SIGINT/SIGTERM/SIGHUP removes path before the process dies. */
static void part_arm(const char *path)
{
    part_armed = 0;
    snprintf(part_path, sizeof part_path, "%s", path);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = part_on_signal;
    sa.sa_flags = (int)SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < TS_ARRAY_LEN(part_signals); i++) {
        sigaddset(&sa.sa_mask, part_signals[i]); /* one cleanup at a time */
    }
    for (size_t i = 0; i < TS_ARRAY_LEN(part_signals); i++) {
        struct sigaction old;
        /* A signal the shell told us to ignore (nohup, `&` without job control) stays ignored. */
        if (sigaction(part_signals[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN) {
            (void)sigaction(part_signals[i], &sa, NULL);
        }
    }
    part_armed = 1;
}

static void part_disarm(void)
{
    part_armed = 0;
}

/* A local file error: the errno's text, and an exit code by category. */
static int local_fail(const char *doing, const char *path, int errnum)
{
    fprintf(stderr, "tessera: %s \"%s\": %s\n", doing, path, strerror(errnum));
    if (errnum == ENOENT || errnum == ENOTDIR) {
        return CLI_EXIT_NOT_FOUND;
    }
    return errnum == EACCES || errnum == EPERM ? CLI_EXIT_DENIED : CLI_EXIT_ERROR;
}

int cli_object_fail(struct cli_session *s, ul_err err, const char *bucket, const char *key,
                    const char *doing)
{
    if (err == UL_ERR_NOT_FOUND) {
        struct ul_bucket_info info;
        if (ul_bucket_stat(s->project, bucket, &info) == UL_ERR_NOT_FOUND) {
            fprintf(stderr, "tessera: no such bucket \"%s\"\n", bucket);
        } else {
            fprintf(stderr, "tessera: no such object \"ts://%s/%s\"\n", bucket, key);
        }
        return CLI_EXIT_NOT_FOUND;
    }
    char what[TS_OBJECT_KEY_MAX + 128];
    snprintf(what, sizeof what, "%s ts://%s/%s", doing, bucket, key);
    return cli_session_fail(s, err, what);
}

/* Reads up to cap bytes, retrying EINTR; 0 at the end. */
static ssize_t read_some(int fd, uint8_t *buf, size_t cap)
{
    ssize_t n;
    do {
        n = read(fd, buf, cap);
    } while (n < 0 && errno == EINTR);
    return n;
}

int cli_upload_file(struct cli_transfer *t, const char *path, const char *bucket, const char *key)
{
    int fd = path == NULL ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return local_fail("cannot open", path, errno);
    }
    struct stat st;
    bool have_stat = fstat(fd, &st) == 0;
    bool sized = have_stat && S_ISREG(st.st_mode);
    if (have_stat && S_ISDIR(st.st_mode)) {
        close(fd);
        fprintf(stderr, "tessera: \"%s\" is a directory (use -r)\n", path);
        return CLI_EXIT_USAGE;
    }
    struct ul_upload *up = NULL;
    ul_err err = ul_upload_begin(t->s->project, bucket, key, &t->upload, &up);
    struct cli_progress bar;
    cli_progress_start(&bar, key, sized ? (uint64_t)st.st_size : 0, sized, t->quiet);
    int rc = CLI_EXIT_OK;
    while (err == UL_OK) {
        ssize_t n = read_some(fd, t->buf, CLI_TRANSFER_BUFFER_SIZE);
        if (n < 0) {
            rc = local_fail("cannot read", path ? path : "stdin", errno);
            break;
        }
        if (n == 0) {
            cli_progress_note(&bar, "committing"); /* every byte is sent: not done yet */
            err = ul_upload_commit(up, NULL);      /* frees up whatever happens */
            up = NULL;
            break;
        }
        err = ul_upload_write(up, t->buf, (size_t)n);
        cli_progress_add(&bar, (uint64_t)n);
    }
    ul_upload_abort(up);
    cli_progress_finish(&bar, rc == CLI_EXIT_OK && err == UL_OK);
    if (fd != STDIN_FILENO) {
        close(fd);
    }
    if (rc == CLI_EXIT_OK && err != UL_OK) {
        rc = cli_object_fail(t->s, err, bucket, key, "uploading to");
    }
    return rc;
}

/* Resolves the range against the object's size (suffix ranges need it). */
static ul_err download_options(struct cli_transfer *t, const char *bucket, const char *key,
                               struct ul_download_options *o)
{
    o->offset = 0;
    o->length = -1;
    if (!t->range_given) {
        return UL_OK;
    }
    o->offset = t->range.offset;
    o->length = t->range.length;
    if (!t->range.suffix) {
        return UL_OK;
    }
    struct ul_object_info info;
    ul_err err = ul_object_stat(t->s->project, bucket, key, &info);
    if (err == UL_OK) {
        uint64_t want = (uint64_t)t->range.length;
        o->offset = info.size > want ? info.size - want : 0;
        o->length = (int64_t)(info.size - o->offset);
        ul_object_info_release(&info);
    }
    return err;
}

/* Streams an open download into fd. */
static int pump_download(struct cli_transfer *t, struct ul_download *d, int fd, const char *key,
                         const char *path, ul_err *err)
{
    const struct ul_object_info *info = ul_download_info(d);
    uint64_t total = info->size;
    if (t->range_given) {
        uint64_t start = t->range.suffix ? 0 : t->range.offset;
        total = start >= total ? 0 : total - start;
        if (t->range.length >= 0 && (uint64_t)t->range.length < total) {
            total = (uint64_t)t->range.length;
        }
    }
    struct cli_progress bar;
    /* Piped stdout still gets a bar on stderr; a terminal on stdout would mix it with data. */
    cli_progress_start(&bar, key, total, true,
                       t->quiet || (fd == STDOUT_FILENO && isatty(STDOUT_FILENO)));
    int rc = CLI_EXIT_OK;
    for (;;) {
        size_t got = 0;
        *err = ul_download_read(d, t->buf, CLI_TRANSFER_BUFFER_SIZE, &got);
        if (*err != UL_OK || got == 0) {
            break;
        }
        if (ts_fs_write_full(fd, t->buf, got) != TS_OK) {
            rc = local_fail("cannot write", path ? path : "stdout", errno);
            break;
        }
        cli_progress_add(&bar, got);
    }
    cli_progress_finish(&bar, rc == CLI_EXIT_OK && *err == UL_OK);
    return rc;
}

int cli_download_file(struct cli_transfer *t, const char *bucket, const char *key, const char *path)
{
    struct ul_download_options o;
    struct ul_download *d = NULL;
    ul_err err = download_options(t, bucket, key, &o);
    if (err == UL_OK) {
        err = ul_download_open(t->s->project, bucket, key, &o, &d);
    }
    if (err != UL_OK) {
        return cli_object_fail(t->s, err, bucket, key, "downloading");
    }
    char part[PATH_MAX];
    int fd = STDOUT_FILENO;
    if (path != NULL) {
        int n = snprintf(part, sizeof part, "%s.part-%ld", path, (long)getpid());
        bool fits = n > 0 && (size_t)n < sizeof part;
        if (fits) {
            part_arm(part); /* before it exists: no window where a signal leaves it behind */
        }
        fd = fits ? open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666) : -1;
        if (fd < 0) {
            part_disarm();
            ul_download_close(d);
            return local_fail("cannot create", path,
                              n > 0 && (size_t)n < sizeof part ? errno : ENAMETOOLONG);
        }
    }
    int rc = pump_download(t, d, fd, key, path, &err);
    ul_download_close(d);
    if (rc == CLI_EXIT_OK && err != UL_OK) {
        rc = cli_object_fail(t->s, err, bucket, key, "downloading");
    }
    if (path != NULL) {
        if (close(fd) != 0 && rc == CLI_EXIT_OK) {
            rc = local_fail("cannot write", path, errno);
        }
        if (rc == CLI_EXIT_OK && rename(part, path) != 0) {
            rc = local_fail("cannot rename the download to", path, errno);
        }
        if (rc != CLI_EXIT_OK) {
            (void)unlink(part);
        }
        part_disarm();
    } else if (fflush(stdout) != 0) {
        rc = local_fail("cannot write", "stdout", errno);
    }
    return rc;
}

/* The upload options of a remote copy: the source's expiry and metadata unless given. */
static void copy_options(const struct cli_transfer *t, const struct ul_object_info *src,
                         struct ul_upload_options *o)
{
    *o = t->upload;
    if (!t->meta_given) {
        o->metadata = src->metadata;
        o->metadata_count = src->metadata_count;
    }
    if (o->expires_s == 0) {
        o->expires_s = src->expires_s;
    }
}

/* Object -> object through this machine: a download piped into an upload (only needed to set
 * a new expiry: the satellite's copy keeps the source's). */
static int copy_streamed(struct cli_transfer *t, const char *src_bucket, const char *src_key,
                         const char *dst_bucket, const char *dst_key)
{
    struct ul_download *d = NULL;
    struct ul_upload *up = NULL;
    struct ul_download_options whole = {.offset = 0, .length = -1};
    ul_err err = ul_download_open(t->s->project, src_bucket, src_key, &whole, &d);
    if (err != UL_OK) {
        return cli_object_fail(t->s, err, src_bucket, src_key, "reading");
    }
    const struct ul_object_info *info = ul_download_info(d);
    struct ul_upload_options o;
    copy_options(t, info, &o);
    err = ul_upload_begin(t->s->project, dst_bucket, dst_key, &o, &up);
    struct cli_progress bar;
    cli_progress_start(&bar, src_key, info->size, true, t->quiet);
    bool read_failed = false;
    while (err == UL_OK) {
        size_t got = 0;
        err = ul_download_read(d, t->buf, CLI_TRANSFER_BUFFER_SIZE, &got);
        read_failed = err != UL_OK;
        if (err == UL_OK && got == 0) {
            cli_progress_note(&bar, "committing");
            err = ul_upload_commit(up, NULL);
            up = NULL;
            break;
        }
        if (err == UL_OK) {
            err = ul_upload_write(up, t->buf, got);
            cli_progress_add(&bar, got);
        }
    }
    cli_progress_finish(&bar, err == UL_OK);
    ul_upload_abort(up);
    ul_download_close(d);
    if (err == UL_OK) {
        return CLI_EXIT_OK;
    }
    return read_failed ? cli_object_fail(t->s, err, src_bucket, src_key, "reading")
                       : cli_object_fail(t->s, err, dst_bucket, dst_key, "writing");
}

/* A server-side copy or move failed: NOT_FOUND may mean the destination bucket. */
static int server_side_fail(struct cli_transfer *t, ul_err err, const char *src_bucket,
                            const char *src_key, const char *dst_bucket, const char *doing)
{
    struct ul_bucket_info info;
    if (err == UL_ERR_NOT_FOUND && strcmp(src_bucket, dst_bucket) != 0 &&
        ul_bucket_stat(t->s->project, dst_bucket, &info) == UL_ERR_NOT_FOUND) {
        fprintf(stderr, "tessera: no such bucket \"%s\"\n", dst_bucket);
        return CLI_EXIT_NOT_FOUND;
    }
    return cli_object_fail(t->s, err, src_bucket, src_key, doing);
}

int cli_copy_object(struct cli_transfer *t, const char *src_bucket, const char *src_key,
                    const char *dst_bucket, const char *dst_key)
{
    if (t->upload.expires_s != 0) {
        return copy_streamed(t, src_bucket, src_key, dst_bucket, dst_key);
    }
    struct ul_copy_options o = {.replace_metadata = t->meta_given,
                                .metadata = t->upload.metadata,
                                .metadata_count = t->upload.metadata_count};
    ul_err err = ul_object_copy(t->s->project, src_bucket, src_key, dst_bucket, dst_key, &o, NULL);
    return err == UL_OK ? CLI_EXIT_OK
                        : server_side_fail(t, err, src_bucket, src_key, dst_bucket, "copying");
}

int cli_move_object(struct cli_transfer *t, const char *src_bucket, const char *src_key,
                    const char *dst_bucket, const char *dst_key, bool *source_gone)
{
    *source_gone = false;
    if (t->upload.expires_s != 0 || t->meta_given) {
        return cli_copy_object(t, src_bucket, src_key, dst_bucket, dst_key);
    }
    ul_err err = ul_object_move(t->s->project, src_bucket, src_key, dst_bucket, dst_key);
    if (err != UL_OK) {
        return server_side_fail(t, err, src_bucket, src_key, dst_bucket, "moving");
    }
    *source_gone = true;
    return CLI_EXIT_OK;
}
