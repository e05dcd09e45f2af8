/* libmicrohttpd glue: request contexts, header collection, streamed bodies, responses. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "base/base.h"
#include "base/log.h"
#include "gw_http.h"
#include "gw_s3.h"

#define LOG "gw.http"

struct gw_http {
    struct MHD_Daemon *daemon;
    struct gw_server *srv;
    uint16_t port;
};

/* A streamed response body, owned by the MHD response. */
struct stream {
    struct gw_body_stream s;
};

/* Called by MHD with the raw request URI before parsing: the context starts here, so SigV4 sees
 * the path and query exactly as sent. */
static void *uri_log(void *cls, const char *uri, struct MHD_Connection *con)
{
    struct gw_http *h = cls;
    struct gw_ctx *ctx = malloc(sizeof *ctx);
    if (ctx == NULL) {
        return NULL;
    }
    gw_ctx_init(ctx, h->srv);
    ctx->raw_uri = strdup(uri ? uri : "/");
    return ctx;
}

/* MHD's unescaper runs on the URL it hands us and on query values; we parse the raw URI
 * ourselves, so it leaves everything as is. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    return strlen(s);
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    struct gw_ctx *ctx = cls;
    if (gw_req_add_header(&ctx->req, key, value ? value : "") != TS_OK) {
        ctx->resp.status = -1; /* too many headers: answered below */
        return MHD_NO;
    }
    return MHD_YES;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream *st = cls;
    long n = st->s.read(st->s.cls, (uint8_t *)buf, max);
    if (n <= 0) {
        return MHD_CONTENT_READER_END_WITH_ERROR; /* short: the client sees a truncated body */
    }
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    struct stream *st = cls;
    if (st->s.free != NULL) {
        st->s.free(st->s.cls);
    }
    free(st);
}

static ssize_t never_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    return MHD_CONTENT_READER_END_WITH_ERROR;
}

static struct MHD_Response *make_response(struct gw_ctx *ctx)
{
    struct gw_resp *r = &ctx->resp;
    struct MHD_Response *resp = NULL;
    if (r->stream.read != NULL) {
        struct stream *st = malloc(sizeof *st);
        if (st == NULL) {
            return NULL;
        }
        st->s = r->stream;
        memset(&r->stream, 0, sizeof r->stream); /* the response owns it now */
        ctx->out_bytes = st->s.size;
        resp = MHD_create_response_from_callback(st->s.size, GW_COPY_BUFFER_SIZE, stream_read, st,
                                                 stream_free);
        if (resp == NULL) {
            stream_free(st);
        }
    } else if (r->has_head_length) {
        resp = MHD_create_response_from_callback(r->head_length, 4096, never_read, NULL, NULL);
    } else {
        ctx->out_bytes = r->body.len;
        resp = MHD_create_response_from_buffer(
            r->body.len, r->body.data ? r->body.data : (void *)"", MHD_RESPMEM_MUST_COPY);
    }
    if (resp == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < r->header_count; i++) {
        if (MHD_add_response_header(resp, r->headers[i].key, r->headers[i].value) != MHD_YES) {
            ts_log_warn(LOG, "response header refused name=%s", r->headers[i].key);
        }
    }
    return resp;
}

static enum MHD_Result queue(struct MHD_Connection *con, struct gw_ctx *ctx)
{
    struct MHD_Response *resp = make_response(ctx);
    if (resp == NULL) {
        ts_log_error(LOG, "cannot build a response req=%s", ctx->request_id);
        return MHD_NO;
    }
    enum MHD_Result ret = MHD_queue_response(con, (unsigned)ctx->resp.status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void first_call(struct MHD_Connection *con, const char *method, struct gw_ctx *ctx)
{
    gw_req_init(&ctx->req, method);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci != NULL && ci->client_addr != NULL && ci->client_addr->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ci->client_addr;
        inet_ntop(AF_INET, &sin->sin_addr, ctx->remote, sizeof ctx->remote);
    }
    MHD_get_connection_values(con, MHD_HEADER_KIND, collect_header, ctx);
    if (ctx->resp.status == -1) {
        ctx->resp.status = 0;
        gw_s3_error(ctx, GW_S3_INVALID_REQUEST, "Too many headers.");
        return;
    }
    gw_router_begin(ctx);
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *con, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    struct gw_ctx *ctx = *con_cls;
    if (ctx == NULL) {
        return MHD_NO; /* the URI callback could not allocate */
    }
    if (ctx->req.method[0] == 0) {
        first_call(con, method, ctx);
        /* Answer now when decided (errors before the body, GETs); else read the body. */
        return ctx->resp.status != 0 ? queue(con, ctx) : MHD_YES;
    }
    if (*upload_data_size > 0) {
        gw_router_body(ctx, (const uint8_t *)upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    gw_router_finish(ctx);
    return queue(con, ctx);
}

static void completed(void *cls, struct MHD_Connection *con, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct gw_ctx *ctx = *con_cls;
    if (ctx == NULL) {
        return;
    }
    gw_router_done(ctx, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
    gw_ctx_release(ctx);
    free(ctx);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && line[n - 1] == '\n') {
        line[--n] = 0;
    }
    ts_log_warn(LOG, "libmicrohttpd: %s", line);
}

ts_err gw_http_start(const struct gw_http_config *cfg, struct gw_server *srv, struct gw_http **out)
{
    *out = NULL;
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(cfg->port);
    if (inet_pton(AF_INET, cfg->host, &sin.sin_addr) != 1) {
        ts_log_error(LOG, "listen address must be an IPv4 literal host=%s", cfg->host);
        return TS_ERR_CONFIG;
    }
    struct gw_http *h = calloc(1, sizeof *h);
    if (h == NULL) {
        return TS_ERR_NOMEM;
    }
    h->srv = srv;
    unsigned max = cfg->connections_max ? cfg->connections_max : GW_CONNECTIONS_DEFAULT;
    h->daemon = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, access_handler, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
        MHD_OPTION_CONNECTION_LIMIT, max, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)GW_IDLE_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)GW_CONNECTION_MEMORY_BYTES, MHD_OPTION_THREAD_STACK_SIZE,
        (size_t)GW_THREAD_STACK_SIZE, MHD_OPTION_URI_LOG_CALLBACK, uri_log, h,
        MHD_OPTION_NOTIFY_COMPLETED, completed, h, MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        MHD_OPTION_END);
    if (h->daemon == NULL) {
        ts_log_error(LOG, "cannot listen host=%s port=%u", cfg->host, cfg->port);
        free(h);
        return TS_ERR_IO;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = di ? di->port : cfg->port;
    *out = h;
    return TS_OK;
}

uint16_t gw_http_port(const struct gw_http *h)
{
    return h->port;
}

void gw_http_stop(struct gw_http *h)
{
    if (h != NULL) {
        MHD_stop_daemon(h->daemon);
        free(h);
    }
}
