#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/log.h"
#include "node_dashboard.h"

#define LOG "node.dashboard"
#define PAGE_MAX (64u * 1024)
#define HTTP_CONNECTIONS_MAX 16

struct node_dashboard {
    struct node *n;
    struct MHD_Daemon *daemon;
    uint16_t port;
};

static ts_err metric(struct ts_buf *b, const char *name, const char *type, const char *help,
                     long long v)
{
    return ts_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %lld\n", name, help, name, type, name,
                         v);
}

static ts_err render_metrics(struct node *n, struct ts_buf *b)
{
    struct node_space_stats st;
    node_space_stats(&n->space, &st);
    const struct node_metrics *m = &n->metrics;
    ts_err err = metric(b, "tessera_node_allocated_bytes", "gauge", "space allocated to pieces",
                        st.allocated_bytes);
    if (err == TS_OK) {
        err = metric(b, "tessera_node_pieces_bytes", "gauge", "bytes of stored piece files",
                     st.pieces_bytes);
    }
    if (err == TS_OK) {
        err = metric(b, "tessera_node_pieces", "gauge", "stored pieces", st.pieces_count);
    }
    if (err == TS_OK) {
        err = metric(b, "tessera_node_trash_bytes", "gauge", "bytes in trash", st.trash_bytes);
    }
    if (err == TS_OK) {
        err = metric(b, "tessera_node_reserved_bytes", "gauge", "bytes reserved by uploads",
                     st.reserved_bytes);
    }
    if (err == TS_OK) {
        err = metric(b, "tessera_node_free_bytes", "gauge", "allocated bytes still free",
                     st.free_bytes);
    }
    struct {
        const char *name, *type, *help;
        long long v;
    } rows[] = {
        {"tessera_node_uploads_ok_total", "counter", "pieces stored", m->uploads_ok},
        {"tessera_node_uploads_failed_total", "counter", "uploads refused or broken",
         m->uploads_failed},
        {"tessera_node_downloads_ok_total", "counter", "ranges served", m->downloads_ok},
        {"tessera_node_downloads_failed_total", "counter", "downloads not completed",
         m->downloads_failed},
        {"tessera_node_deletes_total", "counter", "pieces moved to trash", m->deletes},
        {"tessera_node_exists_total", "counter", "exists requests", m->exists_calls},
        {"tessera_node_received_bytes_total", "counter", "piece bytes received",
         m->bytes_received},
        {"tessera_node_sent_bytes_total", "counter", "piece bytes sent", m->bytes_sent},
        {"tessera_node_refused_limits_total", "counter", "order limits refused",
         m->refused_limits},
        {"tessera_node_transfers_active", "gauge", "transfers in progress", m->transfers_active},
        {"tessera_node_used_serials", "gauge", "serials in the replay table",
         (long long)node_serials_count(n->serials)},
        {"tessera_node_uptime_seconds", "gauge", "seconds since start",
         ts_time_now_s() - n->started_s},
    };
    for (size_t i = 0; err == TS_OK && i < TS_ARRAY_LEN(rows); i++) {
        err = metric(b, rows[i].name, rows[i].type, rows[i].help, rows[i].v);
    }
    return err;
}

static ts_err render_summary(struct node *n, struct ts_buf *b)
{
    char id[TS_NODE_ID_TEXT_MAX];
    if (ts_node_id_to_string(ts_identity_id(n->identity), id, sizeof id) != TS_OK) {
        id[0] = 0;
    }
    struct node_space_stats st;
    node_space_stats(&n->space, &st);
    /* wallet and email come from the operator's own config; quotes are not escaped beyond
     * refusing them, which keeps the JSON well-formed. */
    const char *wallet = strchr(n->cfg->wallet, '"') ? "" : n->cfg->wallet;
    const char *email = strchr(n->cfg->email, '"') ? "" : n->cfg->email;
    ts_err err = ts_buf_printf(
        b,
        "{\"node_id\":\"%s\",\"wallet\":\"%s\",\"email\":\"%s\",\"uptime_s\":%lld,"
        "\"space\":{\"allocated\":%lld,\"used\":%lld,\"pieces\":%lld,\"trash\":%lld,"
        "\"free\":%lld},\"bandwidth\":{\"ingress\":%lld,\"egress\":%lld},\"satellites\":[",
        id, wallet, email, (long long)(ts_time_now_s() - n->started_s),
        (long long)st.allocated_bytes, (long long)st.pieces_bytes, (long long)st.pieces_count,
        (long long)st.trash_bytes, (long long)st.free_bytes, (long long)n->metrics.bytes_received,
        (long long)n->metrics.bytes_sent);
    for (int i = 0; err == TS_OK && i < node_trust_count(n->trust); i++) {
        char url[TS_NODE_URL_MAX + 1];
        if (ts_node_url_format(node_trust_url(n->trust, i), url, sizeof url) != TS_OK) {
            url[0] = 0;
        }
        err = ts_buf_printf(b, "%s\"%s\"", i > 0 ? "," : "", url);
    }
    if (err == TS_OK) {
        err = ts_buf_append_str(b, "]}\n");
    }
    return err;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **req_cls)
{
    struct node_dashboard *d = cls;
    if (strcmp(method, "GET") != 0) {
        return MHD_NO;
    }
    struct ts_buf b;
    ts_buf_init(&b, PAGE_MAX);
    unsigned status = MHD_HTTP_OK;
    const char *type = "text/plain; version=0.0.4";
    ts_err err = TS_OK;
    if (strcmp(url, "/metrics") == 0) {
        err = render_metrics(d->n, &b);
    } else if (strcmp(url, "/") == 0 || strcmp(url, "/api/summary") == 0) {
        type = "application/json";
        err = render_summary(d->n, &b);
    } else {
        status = MHD_HTTP_NOT_FOUND;
        err = ts_buf_append_str(&b, "not found\n");
    }
    if (err != TS_OK) {
        ts_buf_release(&b);
        return MHD_NO;
    }
    size_t len = 0;
    uint8_t *body = ts_buf_detach(&b, &len);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, body ? body : (uint8_t *)"", MHD_RESPMEM_MUST_COPY);
    free(body);
    if (r == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

ts_err node_dashboard_start(struct node *n, const char *host, uint16_t port,
                            struct node_dashboard **out)
{
    *out = NULL;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        ts_log_error(LOG, "dashboard address must be an IPv4 address host=%s", host);
        return TS_ERR_CONFIG;
    }
    struct node_dashboard *d = calloc(1, sizeof *d);
    if (d == NULL) {
        return TS_ERR_NOMEM;
    }
    d->n = n;
    d->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, port, NULL, NULL,
                                 answer, d, MHD_OPTION_SOCK_ADDR, &addr,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNECTIONS_MAX,
                                 MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    if (d->daemon == NULL) {
        ts_log_error(LOG, "cannot listen for the dashboard host=%s port=%u", host, port);
        free(d);
        return TS_ERR_IO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d->daemon, MHD_DAEMON_INFO_BIND_PORT);
    d->port = info != NULL ? info->port : port;
    *out = d;
    return TS_OK;
}

uint16_t node_dashboard_port(const struct node_dashboard *d)
{
    return d->port;
}

void node_dashboard_stop(struct node_dashboard *d)
{
    if (d == NULL) {
        return;
    }
    MHD_stop_daemon(d->daemon);
    free(d);
}
