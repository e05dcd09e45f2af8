/* Public error functions and the per-thread detail of the last failure. */
#include <stdarg.h>
#include <stdio.h>

#include "base/base.h"
#include "internal.h"

/* The public codes are the table's codes; a renumbering breaks the build, not the callers. */
_Static_assert(UL_OK == (int)TS_OK, "code");
_Static_assert(UL_ERR_NOMEM == (int)TS_ERR_NOMEM, "code");
_Static_assert(UL_ERR_INVALID_ARGUMENT == (int)TS_ERR_INVALID_ARGUMENT, "code");
_Static_assert(UL_ERR_TOO_LARGE == (int)TS_ERR_TOO_LARGE, "code");
_Static_assert(UL_ERR_MALFORMED == (int)TS_ERR_MALFORMED, "code");
_Static_assert(UL_ERR_AUTH_FAILED == (int)TS_ERR_AUTH_FAILED, "code");
_Static_assert(UL_ERR_NOT_ENOUGH_SHARES == (int)TS_ERR_NOT_ENOUGH_SHARES, "code");
_Static_assert(UL_ERR_NOT_FOUND == (int)TS_ERR_NOT_FOUND, "code");
_Static_assert(UL_ERR_EXISTS == (int)TS_ERR_EXISTS, "code");
_Static_assert(UL_ERR_PERMISSION_DENIED == (int)TS_ERR_PERMISSION_DENIED, "code");
_Static_assert(UL_ERR_TIMEOUT == (int)TS_ERR_TIMEOUT, "code");
_Static_assert(UL_ERR_CONNECT == (int)TS_ERR_CONNECT, "code");
_Static_assert(UL_ERR_CANCELED == (int)TS_ERR_CANCELED, "code");
_Static_assert(UL_ERR_NOT_EMPTY == (int)TS_ERR_NOT_EMPTY, "code");
_Static_assert(UL_ERR_BUSY == (int)TS_ERR_BUSY, "code");
_Static_assert(UL_ERR_TOO_SMALL == (int)TS_ERR_TOO_SMALL, "code");
_Static_assert(UL_BUCKET_NAME_MAX == TS_BUCKET_NAME_MAX, "limit");
_Static_assert(UL_OBJECT_KEY_MAX == TS_OBJECT_KEY_MAX, "limit");

static _Thread_local char detail[UL_DETAIL_MAX];

const char *ul_strerror(ul_err err)
{
    return ts_strerror((ts_err)err);
}

const char *ul_errname(ul_err err)
{
    return ts_errname((ts_err)err);
}

const char *ul_error_detail(void)
{
    return detail;
}

void ul_detail_clear(void)
{
    detail[0] = '\0';
}

ts_err ul_fail(ts_err err, const char *fmt, ...)
{
    if (err == TS_OK) {
        return err;
    }
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    if (w < 0) {
        detail[0] = '\0';
    }
    return err;
}
