/* share --url: one HTTP POST to a gateway's /-/register (see cli_gateway.h). */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/limits.h"
#include "cli/cli_gateway.h"

struct gw_url {
    char host[256];
    char port[8];
    char base[512]; /* path prefix without the trailing '/' ("" for the root) */
};

static ts_err url_parse(const char *url, struct gw_url *out)
{
    const char *p = strncmp(url, "http://", 7) == 0 ? url + 7 : NULL;
    if (p == NULL) {
        fprintf(stderr, "tessera: the gateway URL must start with http:// (got \"%s\")\n", url);
        return TS_ERR_INVALID_ARGUMENT;
    }
    size_t hostport = strcspn(p, "/"), host = strcspn(p, ":/");
    const char *path = p + hostport;
    size_t path_len = strlen(path);
    while (path_len > 0 && path[path_len - 1] == '/') {
        path_len--;
    }
    size_t port_len = host < hostport ? hostport - host - 1 : 0;
    if (host == 0 || host >= sizeof out->host || port_len >= sizeof out->port ||
        path_len >= sizeof out->base || (host < hostport && port_len == 0)) {
        fprintf(stderr, "tessera: cannot read the gateway URL \"%s\"\n", url);
        return TS_ERR_INVALID_ARGUMENT;
    }
    snprintf(out->host, sizeof out->host, "%.*s", (int)host, p);
    snprintf(out->port, sizeof out->port, "%.*s", (int)port_len, p + host + 1);
    if (port_len == 0) {
        snprintf(out->port, sizeof out->port, "80");
    }
    snprintf(out->base, sizeof out->base, "%.*s", (int)path_len, path);
    return TS_OK;
}

static ts_err dial(const struct gw_url *u, int *fd_out)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(u->host, u->port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "tessera: gateway %s: %s\n", u->host, gai_strerror(rc));
        return TS_ERR_CONNECT;
    }
    struct timeval tv = {CLI_GATEWAY_TIMEOUT_MS / 1000, 0};
    int fd = -1;
    for (struct addrinfo *a = res; a != NULL && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0 ||
                        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
                        connect(fd, a->ai_addr, a->ai_addrlen) != 0)) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        fprintf(stderr, "tessera: cannot connect to the gateway %s:%s: %s\n", u->host, u->port,
                strerror(errno));
        return errno == EINPROGRESS || errno == ETIMEDOUT ? TS_ERR_TIMEOUT : TS_ERR_CONNECT;
    }
    *fd_out = fd;
    return TS_OK;
}

static ts_err send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return errno == EAGAIN || errno == EWOULDBLOCK ? TS_ERR_TIMEOUT : TS_ERR_IO;
        }
        data += n;
        len -= (size_t)n;
    }
    return TS_OK;
}

/* Reads the whole response (Connection: close) into resp (NUL-terminated). */
static ts_err recv_all(int fd, struct ts_buf *resp)
{
    char chunk[4096];
    for (;;) {
        ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return errno == EAGAIN || errno == EWOULDBLOCK ? TS_ERR_TIMEOUT : TS_ERR_IO;
        }
        if (n == 0) {
            return ts_buf_reserve(resp, 0); /* makes data NUL-terminated */
        }
        ts_err err = ts_buf_append(resp, chunk, (size_t)n);
        if (err != TS_OK) {
            return err;
        }
    }
}

/* The string value of "name" in a flat JSON object, or NULL; *len gets its length. */
static const char *json_value(const char *doc, const char *name, size_t *len)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", name);
    const char *p = strstr(doc, pat);
    if (p == NULL) {
        return NULL;
    }
    p += strlen(pat);
    const char *end = strchr(p, '"');
    *len = end ? (size_t)(end - p) : 0;
    return end ? p : NULL;
}

/* Checks the status line and extracts the share URL from the JSON answer. */
static ts_err answer_read(const struct gw_url *u, const char *resp, char *out, size_t cap)
{
    const char *body = strstr(resp, "\r\n\r\n");
    body = body ? body + 4 : "";
    long status = strncmp(resp, "HTTP/1.", 7) == 0 ? strtol(resp + 9, NULL, 10) : 0;
    if (status != 200) {
        fprintf(stderr, "tessera: the gateway refused the registration (HTTP %ld): %.200s", status,
                body);
        return status == 403 ? TS_ERR_PERMISSION_DENIED : TS_ERR_PROTOCOL;
    }
    size_t len = 0;
    const char *v = json_value(body, "share_url", &len);
    int n;
    if (v != NULL) {
        n = snprintf(out, cap, "%.*s", (int)len, v);
    } else if ((v = json_value(body, "access_key_id", &len)) != NULL) {
        n = snprintf(out, cap, "http://%s:%s%s/s/%.*s/", u->host, u->port, u->base, (int)len, v);
    } else {
        fprintf(stderr, "tessera: the gateway's answer holds no access key ID\n");
        return TS_ERR_PROTOCOL;
    }
    return n > 0 && (size_t)n < cap ? TS_OK : TS_ERR_TOO_LARGE;
}

ts_err cli_gateway_register(const char *gateway_url, const char *grant, char *share_url,
                            size_t share_url_size)
{
    struct gw_url u;
    struct ts_buf req, resp;
    int fd = -1;
    ts_buf_init(&req, TS_ACCESS_GRANT_TEXT_MAX + 2048);
    ts_buf_init(&resp, CLI_GATEWAY_RESPONSE_MAX);
    ts_err err = url_parse(gateway_url, &u);
    if (err == TS_OK) {
        err = dial(&u, &fd);
    }
    if (err == TS_OK) {
        char head[1024];
        size_t body_len = strlen("{\"access_grant\":\"\",\"public\":true}") + strlen(grant);
        snprintf(head, sizeof head,
                 "POST %s/-/register HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                 u.base, u.host, u.port, body_len);
        err = ts_buf_append_str(&req, head);
        err = err ? err : ts_buf_append_str(&req, "{\"access_grant\":\"");
        err = err ? err : ts_buf_append_str(&req, grant);
        err = err ? err : ts_buf_append_str(&req, "\",\"public\":true}");
    }
    if (err == TS_OK) {
        err = send_all(fd, (const char *)req.data, req.len);
    }
    if (err == TS_OK) {
        err = recv_all(fd, &resp);
    }
    if (err == TS_OK) {
        err = answer_read(&u, resp.data ? (const char *)resp.data : "", share_url, share_url_size);
    } else if (fd >= 0) {
        fprintf(stderr, "tessera: talking to the gateway %s: %s\n", gateway_url, ts_strerror(err));
    }
    if (fd >= 0) {
        close(fd);
    }
    ts_buf_release_secret(&req);
    ts_buf_release_secret(&resp);
    return err;
}
