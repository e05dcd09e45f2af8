#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "contact.pb-c.h"
#include "node_chore.h"
#include "node_contact.h"
#include "rpc/rpc.h"

#define LOG "node.contact"
/* Free space is checked this often between check-ins (one mutex; cheap). */
#define SPACE_POLL_MS 1000

struct satellite_state {
    int64_t due_ms; /* monotonic time of the next check-in */
    struct node_contact_status st;
};

struct node_contact {
    struct node_contact_config cfg;
    char address[TS_HOST_NAME_MAX + 16];
    char version[32], wallet[128], email[256];
    pthread_mutex_t mu; /* guards sats[].st */
    struct satellite_state *sats;
    int64_t reported_free_bytes; /* free space sent in the latest check-in (chore thread only) */
    struct node_chore *chore;
};

static ts_err copy_text(char *dst, size_t size, const char *src)
{
    int n = snprintf(dst, size, "%s", src == NULL ? "" : src);
    return n < 0 || (size_t)n >= size ? TS_ERR_TOO_LARGE : TS_OK;
}

static int64_t free_bytes(struct node_contact *c)
{
    struct node_space_stats st;
    node_space_stats(c->cfg.space, &st);
    return st.free_bytes;
}

/* Sends one CheckIn and interprets the answer (see node_contact_checkin). */
static ts_err checkin_call(struct node_contact *c, const struct ts_node_url *sat, int64_t free_b,
                           char *msg, size_t msg_size)
{
    Tessera__Contact__CheckInRequest req = TESSERA__CONTACT__CHECK_IN_REQUEST__INIT;
    req.address = c->address;
    req.free_disk_bytes = free_b;
    req.version = c->version;
    req.wallet = c->wallet;
    req.email = c->email;
    Tessera__Contact__CheckInResponse *resp = NULL;
    msg[0] = 0;
    ts_err err = ts_rpc_call(c->cfg.pool, sat, NODE_CONTACT_METHOD_CHECKIN, &req.base,
                             &tessera__contact__check_in_response__descriptor,
                             (ProtobufCMessage **)&resp, msg, msg_size);
    if (err == TS_OK && !resp->ping_node_success) {
        snprintf(msg, msg_size, "the satellite could not reach this node at %s: %s", c->address,
                 resp->ping_error_message != NULL ? resp->ping_error_message : "");
        err = TS_ERR_UNAVAILABLE;
    } else if (err != TS_OK && msg[0] == 0) {
        snprintf(msg, msg_size, "%s", ts_strerror(err));
    }
    if (resp != NULL) {
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    }
    return err;
}

/* Retry delay after the n-th consecutive failure: doubling from the minimum, capped. */
static int64_t backoff_ms(const struct node_contact *c, int failures)
{
    int64_t cap = c->cfg.interval_ms < TS_NODE_CHECKIN_BACKOFF_MAX_MS
                      ? c->cfg.interval_ms
                      : TS_NODE_CHECKIN_BACKOFF_MAX_MS;
    int64_t d = NODE_CHECKIN_BACKOFF_MIN_MS;
    for (int i = 1; i < failures && d < cap; i++) {
        d *= 2;
    }
    return d < cap ? d : cap;
}

ts_err node_contact_checkin(struct node_contact *c, int i, char *msg, size_t msg_size)
{
    TS_ASSERT(i >= 0 && i < c->cfg.satellite_count);
    const struct ts_node_url *sat = &c->cfg.satellites[i];
    int64_t free_b = free_bytes(c);
    int64_t start_ms = ts_monotonic_ms();
    ts_err err = checkin_call(c, sat, free_b, msg, msg_size);
    char url[TS_NODE_URL_MAX + 1];
    if (ts_node_url_format(sat, url, sizeof url) != TS_OK) {
        snprintf(url, sizeof url, "?");
    }
    pthread_mutex_lock(&c->mu);
    struct node_contact_status *st = &c->sats[i].st;
    st->last_ping_ok = err == TS_OK;
    if (err == TS_OK) {
        st->successes++;
        st->consecutive_failures = 0;
        st->last_backoff_ms = 0;
    } else {
        st->failures++;
        st->consecutive_failures++;
        st->last_backoff_ms = backoff_ms(c, st->consecutive_failures);
    }
    struct node_contact_status copy = *st;
    pthread_mutex_unlock(&c->mu);
    if (err == TS_OK) {
        c->reported_free_bytes = free_b;
        ts_log_info(LOG, "check-in ok satellite=%s address=%s free_bytes=%lld ms=%lld", url,
                    c->address, (long long)free_b, (long long)(ts_monotonic_ms() - start_ms));
    } else {
        ts_log_warn(LOG, "check-in failed satellite=%s err=%s why=\"%s\" failures=%d "
                         "retry_ms=%lld", url, ts_errname(err), msg, copy.consecutive_failures,
                    (long long)copy.last_backoff_ms);
    }
    return err;
}

void node_contact_status(struct node_contact *c, int i, struct node_contact_status *out)
{
    TS_ASSERT(i >= 0 && i < c->cfg.satellite_count);
    pthread_mutex_lock(&c->mu);
    *out = c->sats[i].st;
    pthread_mutex_unlock(&c->mu);
}

/* The chore: check in with every satellite that is due; all of them when free space just fell
 * below the threshold. Returns the time until the next due check-in or space poll. */
static int64_t contact_pass(void *ctx)
{
    struct node_contact *c = ctx;
    int64_t free_b = free_bytes(c);
    int low_space = free_b < c->cfg.free_space_min_bytes &&
                    c->reported_free_bytes >= c->cfg.free_space_min_bytes;
    if (low_space) {
        ts_log_info(LOG, "free space fell below the threshold: checking in now free_bytes=%lld "
                         "threshold=%lld", (long long)free_b,
                    (long long)c->cfg.free_space_min_bytes);
        c->reported_free_bytes = free_b; /* once per drop, even if the check-ins fail */
    }
    int64_t next_ms = SPACE_POLL_MS;
    for (int i = 0; i < c->cfg.satellite_count; i++) {
        struct satellite_state *s = &c->sats[i];
        if (low_space || ts_monotonic_ms() >= s->due_ms) {
            char msg[TS_RPC_ERROR_MESSAGE_MAX];
            ts_err err = node_contact_checkin(c, i, msg, sizeof msg);
            struct node_contact_status st;
            node_contact_status(c, i, &st);
            s->due_ms = ts_monotonic_ms() + (err == TS_OK ? c->cfg.interval_ms : st.last_backoff_ms);
        }
        int64_t wait = s->due_ms - ts_monotonic_ms();
        next_ms = wait < next_ms ? wait : next_ms;
    }
    return next_ms;
}

ts_err node_contact_start(const struct node_contact_config *cfg, struct node_contact **out)
{
    *out = NULL;
    TS_ASSERT(cfg->interval_ms > 0 && cfg->satellite_count >= 0);
    struct node_contact *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return TS_ERR_NOMEM;
    }
    c->cfg = *cfg;
    c->sats = calloc((size_t)cfg->satellite_count + 1, sizeof *c->sats);
    pthread_mutex_init(&c->mu, NULL);
    ts_err err = c->sats == NULL ? TS_ERR_NOMEM : TS_OK;
    if (err == TS_OK) {
        err = copy_text(c->address, sizeof c->address, cfg->address);
    }
    if (err == TS_OK) {
        err = copy_text(c->version, sizeof c->version, cfg->version);
    }
    if (err == TS_OK) {
        err = copy_text(c->wallet, sizeof c->wallet, cfg->wallet);
    }
    if (err == TS_OK) {
        err = copy_text(c->email, sizeof c->email, cfg->email);
    }
    c->reported_free_bytes = INT64_MAX; /* no check-in yet: the first pass checks in anyway */
    if (err == TS_OK) {
        err = node_chore_start("contact", contact_pass, c, &c->chore);
    }
    if (err != TS_OK) {
        node_contact_stop(c);
        return err;
    }
    *out = c;
    return TS_OK;
}

void node_contact_stop(struct node_contact *c)
{
    if (c == NULL) {
        return;
    }
    node_chore_stop(c->chore);
    pthread_mutex_destroy(&c->mu);
    free(c->sats);
    free(c);
}

/* ---- PingNode: answering proves this node is reachable at the address it claimed ---- */

static ts_err handle_ping(struct ts_rpc_stream *s, void *ctx)
{
    (void)ctx;
    ProtobufCMessage *req = NULL;
    ts_err err = ts_rpc_stream_recv(s, &tessera__contact__ping_node_request__descriptor, &req);
    if (err != TS_OK) {
        return err == TS_ERR_END_OF_STREAM ? TS_ERR_PROTOCOL : err;
    }
    protobuf_c_message_free_unpacked(req, NULL);
    char id[TS_NODE_ID_TEXT_MAX];
    if (ts_node_id_to_string(&ts_rpc_stream_peer(s)->id, id, sizeof id) != TS_OK) {
        snprintf(id, sizeof id, "?");
    }
    ts_log_debug(LOG, "pinged by peer=%s", id);
    Tessera__Contact__PingNodeResponse resp = TESSERA__CONTACT__PING_NODE_RESPONSE__INIT;
    return ts_rpc_stream_send(s, &resp.base);
}

ts_err node_contact_register(struct ts_rpc_server *srv)
{
    return ts_rpc_server_register(srv, NODE_CONTACT_METHOD_PING, handle_ping, NULL);
}
