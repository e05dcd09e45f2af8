/* Node check-in with ping-back (see contact.h). */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/base.h"
#include "base/log.h"
#include "contact.pb-c.h"
#include "satellite/contact/contact.h"
#include "satellite/db/satdb.h"

/* Splits "host:port" / "[v6]:port" into host and port. */
static ts_err split_address(const char *address, char *host, size_t host_size, uint16_t *port)
{
    const char *colon = strrchr(address, ':');
    const char *h = address;
    size_t hlen = colon == NULL ? 0 : (size_t)(colon - address);
    if (colon == NULL || hlen == 0) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    char *end = NULL;
    long p = strtol(colon + 1, &end, 10);
    if (hlen == 0 || hlen >= host_size || end == colon + 1 || *end != 0 || p < 1 || p > 65535) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    memcpy(host, h, hlen);
    host[hlen] = 0;
    *port = (uint16_t)p;
    return TS_OK;
}

/* last_net of host: literal addresses directly, names through the resolver (first IPv4). */
static ts_err resolve_last_net(const char *host, char *out, size_t out_size)
{
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1) {
        return sat_last_net(host, out, out_size);
    }
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL) {
        return sat_last_net(host, out, out_size); /* unresolvable: the name stands for itself */
    }
    char text[INET_ADDRSTRLEN];
    const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)res->ai_addr;
    inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text);
    freeaddrinfo(res);
    return sat_last_net(text, out, out_size);
}

static bool ping(struct sat_contact *c, const struct ts_peer_identity *peer, const char *host,
                 uint16_t port, char *msg, size_t msg_size)
{
    struct ts_node_url url;
    memset(&url, 0, sizeof url);
    url.id = peer->id;
    snprintf(url.host, sizeof url.host, "%s", host);
    url.port = port;
    Tessera__Contact__PingNodeRequest req = TESSERA__CONTACT__PING_NODE_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    ts_err err =
        ts_rpc_call(c->pool, &url, SAT_CONTACT_METHOD_PING, &req.base,
                    &tessera__contact__ping_node_response__descriptor, &resp, msg, msg_size);
    if (resp != NULL) {
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    if (err != TS_OK && msg[0] == 0) {
        snprintf(msg, msg_size, "%s", ts_strerror(err));
    }
    return err == TS_OK;
}

struct checkin_ctx {
    const struct sat_node *node;
    bool ping_ok;
    int64_t now;
    bool is_new;
};

static ts_err checkin_fn(struct ts_db_conn *c, void *ctx)
{
    struct checkin_ctx *cc = ctx;
    uint32_t alias = 0;
    ts_err err = sat_db_node_alias_get(c, cc->node->id, &alias);
    cc->is_new = err == TS_ERR_NOT_FOUND;
    if (err == TS_OK || err == TS_ERR_NOT_FOUND) {
        err = sat_db_node_checkin(c, cc->node, cc->ping_ok, cc->now);
    }
    return err;
}

static ts_err check_text(const char *s, size_t max)
{
    return s == NULL || strlen(s) <= max ? TS_OK : TS_ERR_INVALID_ARGUMENT;
}

ts_err sat_contact_checkin(struct sat_contact *c, const struct ts_peer_identity *peer,
                           const char *address, int64_t free_disk, const char *version,
                           const char *wallet, const char *email, bool *ping_ok, char *ping_error,
                           size_t ping_error_size)
{
    char host[TS_HOST_NAME_MAX + 1];
    uint16_t port = 0;
    struct sat_node *n = calloc(1, sizeof *n);
    *ping_ok = false;
    ping_error[0] = 0;
    ts_err err = n == NULL ? TS_ERR_NOMEM : TS_OK;
    if (err == TS_OK && peer->difficulty < c->cfg->node_difficulty_min) {
        err = TS_ERR_DIFFICULTY;
    }
    if (err == TS_OK &&
        (address == NULL || strlen(address) >= SAT_ADDRESS_MAX || free_disk < 0 ||
         check_text(version, SAT_VERSION_TEXT_MAX - 1) != TS_OK ||
         check_text(wallet, SAT_WALLET_MAX) != TS_OK || check_text(email, SAT_EMAIL_MAX) != TS_OK ||
         peer->leaf_public_key_len > sizeof n->public_key)) {
        err = TS_ERR_INVALID_ARGUMENT;
    }
    if (err == TS_OK) {
        err = split_address(address, host, sizeof host, &port);
    }
    if (err == TS_OK) {
        err = resolve_last_net(host, n->last_net, sizeof n->last_net);
    }
    if (err == TS_OK) {
        *ping_ok = ping(c, peer, host, port, ping_error, ping_error_size);
        memcpy(n->id, peer->id.bytes, TS_NODE_ID_SIZE);
        snprintf(n->address, sizeof n->address, "%s", address);
        memcpy(n->public_key, peer->leaf_public_key, peer->leaf_public_key_len);
        n->public_key_len = peer->leaf_public_key_len;
        n->free_disk = free_disk;
        snprintf(n->version, sizeof n->version, "%s", version == NULL ? "" : version);
        snprintf(n->wallet, sizeof n->wallet, "%s", wallet == NULL ? "" : wallet);
        snprintf(n->email, sizeof n->email, "%s", email == NULL ? "" : email);
        struct checkin_ctx cc = {n, *ping_ok, ts_time_now_s(), false};
        /* Two new nodes may race for the next alias: retry the transaction a few times. */
        for (int attempt = 0; attempt < 5; attempt++) {
            err = ts_db_tx(c->db, checkin_fn, &cc);
            if (err != TS_ERR_EXISTS) {
                break;
            }
        }
        if (err == TS_OK && (cc.is_new || *ping_ok)) {
            sat_overlay_invalidate(c->overlay);
        }
    }
    free(n);
    return err;
}

static ts_err h_checkin(struct ts_rpc_stream *s, void *ctx)
{
    struct sat_contact *c = ctx;
    ProtobufCMessage *in = NULL;
    ts_err err = ts_rpc_stream_recv(s, &tessera__contact__check_in_request__descriptor, &in);
    if (err != TS_OK) {
        return err == TS_ERR_END_OF_STREAM ? TS_ERR_PROTOCOL : err;
    }
    const Tessera__Contact__CheckInRequest *req = (const Tessera__Contact__CheckInRequest *)in;
    char msg[TS_RPC_ERROR_MESSAGE_MAX];
    bool ok = false;
    err = sat_contact_checkin(c, ts_rpc_stream_peer(s), req->address, req->free_disk_bytes,
                              req->version, req->wallet, req->email, &ok, msg, sizeof msg);
    if (err == TS_OK) {
        Tessera__Contact__CheckInResponse resp = TESSERA__CONTACT__CHECK_IN_RESPONSE__INIT;
        resp.ping_node_success = ok;
        resp.ping_error_message = msg;
        err = ts_rpc_stream_send(s, &resp.base);
        ts_log_info("satellite.contact", "check-in address=%s ping=%s%s%s", req->address,
                    ok ? "ok" : "failed", ok ? "" : " error=", ok ? "" : msg);
    }
    protobuf_c_message_free_unpacked(in, NULL);
    return err;
}

static ts_err h_get_time(struct ts_rpc_stream *s, void *ctx)
{
    ProtobufCMessage *in = NULL;
    (void)ctx;
    ts_err err = ts_rpc_stream_recv(s, &tessera__contact__get_time_request__descriptor, &in);
    if (err != TS_OK) {
        return err == TS_ERR_END_OF_STREAM ? TS_ERR_PROTOCOL : err;
    }
    protobuf_c_message_free_unpacked(in, NULL);
    Tessera__Contact__GetTimeResponse resp = TESSERA__CONTACT__GET_TIME_RESPONSE__INIT;
    resp.time_ms = ts_time_now_ms();
    return ts_rpc_stream_send(s, &resp.base);
}

ts_err sat_contact_register(struct ts_rpc_server *srv, struct sat_contact *c)
{
    ts_err err = ts_rpc_server_register(srv, SAT_CONTACT_METHOD_CHECKIN, h_checkin, c);
    if (err == TS_OK) {
        err = ts_rpc_server_register(srv, SAT_CONTACT_METHOD_GETTIME, h_get_time, c);
    }
    return err;
}
