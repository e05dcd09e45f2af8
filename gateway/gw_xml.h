/*
 * The little XML S3 needs. Writing: a writer over a ts_buf with a sticky error, so a handler
 * builds a whole document and checks once. Every text and attribute goes through the escaper
 * (& < > " ' and control characters other than tab/LF/CR, which XML 1.0 cannot carry, become
 * numeric references or are refused). Reading: request bodies (DeleteObjects,
 * CompleteMultipartUpload) are small, flat and bounded, so a scanner finds <Name>text</Name>
 * elements in order and unescapes their text; no DTDs, entities or namespaces prefixes.
 */
#ifndef GW_XML_H
#define GW_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"

#define GW_XML_DEPTH_MAX 8
#define GW_S3_XMLNS "http://s3.amazonaws.com/doc/2006-03-01/"

struct gw_xml {
    struct ts_buf *out;
    ts_err err;
    const char *stack[GW_XML_DEPTH_MAX];
    int depth;
};

/* Writing. _begin writes the XML declaration. _open/_close nest elements (names are literals
 * owned by the caller); xmlns may be NULL. _text writes <name>escaped</name>. _end returns the
 * first error met (TS_ERR_TOO_LARGE when out's maximum was reached) and checks nesting. */
void gw_xml_begin(struct gw_xml *x, struct ts_buf *out);
void gw_xml_open(struct gw_xml *x, const char *name, const char *xmlns);
void gw_xml_close(struct gw_xml *x);
void gw_xml_text(struct gw_xml *x, const char *name, const char *text);
void gw_xml_u64(struct gw_xml *x, const char *name, uint64_t v);
void gw_xml_bool(struct gw_xml *x, const char *name, bool v);
TS_WARN_UNUSED ts_err gw_xml_end(struct gw_xml *x);

/* Appends s escaped for XML text or attributes. Invalid UTF-8 is passed through (S3 keys are
 * bytes); characters XML 1.0 cannot represent (controls other than \t \n \r) are written as
 * numeric references, which XML 1.1 readers and S3 clients accept. */
TS_WARN_UNUSED ts_err gw_xml_escape(struct ts_buf *out, const char *s);

/* Reading. Finds the next element <name>...</name> at or after *pos in doc[0..len); on success
 * *inner / *inner_len delimit its raw content and *pos moves past the end tag. TS_ERR_NOT_FOUND
 * when there is none, TS_ERR_MALFORMED when an opening tag has no matching close. Self-closing
 * <name/> yields empty content. */
TS_WARN_UNUSED ts_err gw_xml_find(const char *doc, size_t len, const char *name, size_t *pos,
                                  const char **inner, size_t *inner_len);
/* Unescapes raw element text (&lt; &gt; &amp; &quot; &apos; &#N; &#xH;) into out (appending).
 * TS_ERR_MALFORMED for an unknown entity, a NUL, or markup inside the text. */
TS_WARN_UNUSED ts_err gw_xml_unescape(const char *s, size_t len, struct ts_buf *out);

#endif
