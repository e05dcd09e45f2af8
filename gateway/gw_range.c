/* Range, conditional requests, HTTP dates. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/base.h"
#include "gw_range.h"

static bool parse_u64(const char *s, size_t len, uint64_t *out)
{
    if (len == 0 || len > 19) {
        return false;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

ts_err gw_range_parse(const char *header, uint64_t size, struct gw_range *out)
{
    memset(out, 0, sizeof *out);
    out->length = size;
    if (header == NULL) {
        return TS_OK;
    }
    while (*header == ' ') {
        header++;
    }
    if (strncasecmp(header, "bytes=", 6) != 0 || strchr(header, ',') != NULL) {
        return TS_OK;
    }
    const char *spec = header + 6;
    size_t len = strlen(spec);
    while (len > 0 && spec[len - 1] == ' ') {
        len--;
    }
    const char *dash = memchr(spec, '-', len);
    if (dash == NULL) {
        return TS_OK;
    }
    uint64_t first = 0, last = 0;
    size_t flen = (size_t)(dash - spec), llen = len - flen - 1;
    if (flen == 0) { /* suffix: the last N bytes */
        if (!parse_u64(dash + 1, llen, &last)) {
            return TS_OK;
        }
        if (last == 0 || size == 0) {
            return TS_ERR_INVALID_ARGUMENT;
        }
        out->partial = true;
        out->length = last < size ? last : size;
        out->offset = size - out->length;
        return TS_OK;
    }
    if (!parse_u64(spec, flen, &first) || (llen > 0 && !parse_u64(dash + 1, llen, &last))) {
        return TS_OK;
    }
    if (llen > 0 && last < first) {
        return TS_OK; /* syntactically invalid: ignored */
    }
    if (first >= size) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    if (llen == 0 || last >= size) {
        last = size - 1;
    }
    out->partial = true;
    out->offset = first;
    out->length = last - first + 1;
    return TS_OK;
}

/* Does the comma-separated list of entity tags contain etag (or "*")? Weak tags compare by
 * their opaque part. */
static bool etag_list_matches(const char *list, const char *etag)
{
    size_t elen = strlen(etag);
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',') {
            p++;
        }
        if (*p == 0) {
            break;
        }
        size_t n = strcspn(p, ",");
        size_t end = n;
        while (end > 0 && p[end - 1] == ' ') {
            end--;
        }
        const char *t = p;
        size_t tlen = end;
        if (tlen >= 2 && t[0] == 'W' && t[1] == '/') {
            t += 2;
            tlen -= 2;
        }
        if ((tlen == 1 && t[0] == '*') || (tlen == elen && memcmp(t, etag, elen) == 0)) {
            return true;
        }
        /* tolerate an unquoted tag (some clients strip the quotes) */
        if (elen >= 2 && tlen == elen - 2 && memcmp(t, etag + 1, tlen) == 0) {
            return true;
        }
        p += n;
    }
    return false;
}

enum gw_cond_result gw_cond_eval(const char *if_match, const char *if_none_match,
                                 const char *if_modified_since, const char *if_unmodified_since,
                                 const char *etag, int64_t modified_s)
{
    int64_t t;
    if (if_match != NULL) {
        if (!etag_list_matches(if_match, etag)) {
            return GW_COND_PRECONDITION_FAILED;
        }
    } else if (if_unmodified_since != NULL &&
               gw_http_date_parse(if_unmodified_since, &t) == TS_OK && modified_s > t) {
        return GW_COND_PRECONDITION_FAILED;
    }
    if (if_none_match != NULL) {
        if (etag_list_matches(if_none_match, etag)) {
            return GW_COND_NOT_MODIFIED;
        }
    } else if (if_modified_since != NULL && gw_http_date_parse(if_modified_since, &t) == TS_OK &&
               modified_s <= t) {
        return GW_COND_NOT_MODIFIED;
    }
    return GW_COND_OK;
}

static const char *const wday[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void gw_http_date_format(int64_t t, char out[48])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    snprintf(out, 48, "%s, %02d %s %04d %02d:%02d:%02d GMT", wday[tm.tm_wday], tm.tm_mday,
             mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void gw_iso_date_format(int64_t t, char out[48])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    snprintf(out, 48, "%04d-%02d-%02dT%02d:%02d:%02d.000Z", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

ts_err gw_http_date_parse(const char *s, int64_t *out)
{
    static const char *const formats[] = {"%a, %d %b %Y %H:%M:%S GMT", "%a, %d %b %Y %H:%M:%S +0000",
                                          "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"};
    if (strlen(s) > 64) {
        return TS_ERR_MALFORMED;
    }
    for (size_t i = 0; i < TS_ARRAY_LEN(formats); i++) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *end = strptime(s, formats[i], &tm);
        if (end != NULL && *end == 0) {
            *out = (int64_t)timegm(&tm);
            return TS_OK;
        }
    }
    return TS_ERR_MALFORMED;
}
