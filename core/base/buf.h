/*
 * ts_buf: a growable byte buffer created with a maximum size. Appending past the maximum fails
 * with TS_ERR_TOO_LARGE instead of growing, so a peer can never make us allocate without bound.
 * The contents are always followed by a NUL byte (not counted in len) so text can be read in place.
 */
#ifndef TS_BASE_BUF_H
#define TS_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

struct ts_buf {
    uint8_t *data; /* NULL until the first append; NUL-terminated after */
    size_t len;    /* bytes in use, <= cap_max */
    size_t cap;    /* bytes allocated (excluding the terminator) */
    size_t cap_max; /* hard limit on len */
};

/* Lifecycle. _init never allocates; _release frees and leaves the buffer empty (reusable).
 * _release on a zeroed or already released buffer is a no-op. _release_secret wipes first. */
void ts_buf_init(struct ts_buf *b, size_t cap_max);
void ts_buf_release(struct ts_buf *b);
void ts_buf_release_secret(struct ts_buf *b);

/* Growing. Each fails with TS_ERR_TOO_LARGE past cap_max (and leaves b unchanged) or NOMEM. */
TS_WARN_UNUSED ts_err ts_buf_reserve(struct ts_buf *b, size_t extra);
TS_WARN_UNUSED ts_err ts_buf_append(struct ts_buf *b, const void *data, size_t len);
TS_WARN_UNUSED ts_err ts_buf_append_byte(struct ts_buf *b, uint8_t byte);
TS_WARN_UNUSED ts_err ts_buf_append_str(struct ts_buf *b, const char *s);
/* Appends code point cp (<= 0x10FFFF, else TS_ERR_INVALID_ARGUMENT) encoded as UTF-8. Callers
 * that must refuse NUL or surrogates check that first. */
TS_WARN_UNUSED ts_err ts_buf_append_utf8(struct ts_buf *b, uint32_t cp);
TS_WARN_UNUSED ts_err ts_buf_printf(struct ts_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
TS_WARN_UNUSED ts_err ts_buf_vprintf(struct ts_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Shrinking. */
void ts_buf_clear(struct ts_buf *b);
void ts_buf_truncate(struct ts_buf *b, size_t len);

/* Moves the allocation out (caller frees with free(); *len_out may be NULL) and empties b.
 * Returns NULL for an empty buffer that never allocated. */
uint8_t *ts_buf_detach(struct ts_buf *b, size_t *len_out);

#endif
