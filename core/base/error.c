#include "base/error.h"

static const char *const messages[] = {
#define TS_ERROR_MSG(name, msg) msg,
    TS_ERROR_TABLE(TS_ERROR_MSG)
#undef TS_ERROR_MSG
};

static const char *const names[] = {
#define TS_ERROR_NAME(name, msg) #name,
    TS_ERROR_TABLE(TS_ERROR_NAME)
#undef TS_ERROR_NAME
};

_Static_assert(sizeof(messages) / sizeof(messages[0]) == TS_ERR__COUNT, "message per error");

const char *ts_strerror(ts_err err)
{
    if ((unsigned)err >= TS_ERR__COUNT) {
        return "unknown error code";
    }
    return messages[err];
}

const char *ts_errname(ts_err err)
{
    if ((unsigned)err >= TS_ERR__COUNT) {
        return "UNKNOWN";
    }
    return names[err];
}
