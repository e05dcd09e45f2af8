/*
 * Fuzz target for the gateway's request parsing: the input is a request in a simple text form
 *   METHOD URI\n
 *   Name: value\n ...   (headers)
 *   \n
 *   body
 * The URI goes through the path/query parser, the headers through SigV4 and SigV2 parsing,
 * canonicalization and verification (fixed secret and clock), Range and conditional parsing;
 * the body through the aws-chunked decoder and the XML scanner used for DeleteObjects/CompleteMultipartUpload.
 * Nothing may crash, leak or read out of bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "gw_chunked.h"
#include "gw_range.h"
#include "gw_req.h"
#include "gw_sigv2.h"
#include "gw_sigv4.h"
#include "gw_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Results are not checked: only crashes, leaks and UB matter here. */
static volatile int result_sink;
#define IGNORE(x) (result_sink += (int)(x))

static ts_err sink(void *cls, const uint8_t *d, size_t len)
{
    (void)cls;
    (void)d;
    (void)len;
    return TS_OK;
}

/* Next line of text[*pos..len) into a NUL-terminated copy; NULL at the end. */
static char *next_line(const char *text, size_t len, size_t *pos)
{
    if (*pos >= len) {
        return NULL;
    }
    const char *nl = memchr(text + *pos, '\n', len - *pos);
    size_t end = nl ? (size_t)(nl - text) : len;
    char *line = strndup(text + *pos, end - *pos);
    *pos = nl ? end + 1 : len;
    return line;
}

static void body_checks(const struct gw_sigv4_auth *a, const uint8_t *body, size_t len)
{
    uint8_t key[32] = {1};
    struct gw_chunked c;
    if (gw_chunked_init(&c, key, a->amz_date, a->scope, "seed", sink, NULL) == TS_OK) {
        size_t half = len / 2;
        if (gw_chunked_feed(&c, body, half) == TS_OK) {
            IGNORE(gw_chunked_feed(&c, body + half, len - half));
        }
        IGNORE(gw_chunked_finish(&c));
    }
    gw_chunked_release(&c);
    const char *doc = (const char *)body, *in, *kin;
    size_t pos = 0, in_len, klen;
    struct ts_buf out;
    ts_buf_init(&out, 4096);
    for (int i = 0; i < 64 && gw_xml_find(doc, len, "Object", &pos, &in, &in_len) == TS_OK; i++) {
        size_t kp = 0;
        if (gw_xml_find(in, in_len, "Key", &kp, &kin, &klen) == TS_OK) {
            ts_buf_clear(&out);
            IGNORE(gw_xml_unescape(kin, klen, &out));
        }
    }
    ts_buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    size_t pos = 0;
    struct gw_req req;
    char *first = next_line(text, size, &pos);
    if (first == NULL) {
        return 0;
    }
    char *sp = strchr(first, ' ');
    if (sp == NULL) {
        free(first);
        return 0;
    }
    *sp = 0;
    gw_req_init(&req, first);
    ts_err err = gw_req_parse_uri(&req, sp + 1);
    free(first);
    char *line;
    while (err == TS_OK && (line = next_line(text, size, &pos)) != NULL) {
        char *colon = strchr(line, ':');
        bool end = line[0] == 0 || line[0] == '\r';
        if (!end && colon != NULL) {
            *colon = 0;
            const char *v = colon + 1;
            while (*v == ' ') {
                v++;
            }
            err = gw_req_add_header(&req, line, v);
        }
        free(line);
        if (end) {
            break;
        }
    }
    struct gw_sigv4_auth a;
    memset(&a, 0, sizeof a);
    if (err == TS_OK && gw_sigv4_parse(&req, &a) == TS_OK) {
        IGNORE(gw_sigv4_verify(&req, &a, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", 1369353600));
    }
    struct gw_sigv2_auth a2;
    if (err == TS_OK && gw_sigv2_parse(&req, &a2) == TS_OK) {
        IGNORE(gw_sigv2_verify(&req, &a2, (size & 1) ? "bucket" : NULL,
                               "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", 1175024202));
    }
    struct gw_range r;
    IGNORE(gw_range_parse(gw_req_header(&req, "range"), 1000, &r));
    IGNORE(gw_cond_eval(gw_req_header(&req, "if-match"), gw_req_header(&req, "if-none-match"),
                        gw_req_header(&req, "if-modified-since"),
                        gw_req_header(&req, "if-unmodified-since"), "\"e\"", 1369353600));
    body_checks(&a, data + pos, size - pos);
    gw_req_release(&req);
    return 0;
}
