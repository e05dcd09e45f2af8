/* API key creation, authorisation and revocation (see apikeys.h). */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "crypto/hash.h"
#include "macaroon/macaroon.h"
#include "satellite/apikeys/apikeys.h"
#include "satellite/db/satdb.h"

#define TAILS_MAX (TS_MACAROON_CAVEATS_MAX + 1)

struct lookup {
    const struct ts_macaroon *m;
    struct sat_api_key rec;
    uint8_t (*tails)[TS_MACAROON_TAIL_SIZE];
    bool revoked;
};

/* Head lookup, chain check and revocation check, in one read transaction. */
static ts_err lookup_fn(struct ts_db_conn *c, void *ctx)
{
    struct lookup *l = ctx;
    ts_err err = sat_db_api_key_get_by_head(c, ts_macaroon_head(l->m), &l->rec);
    if (err == TS_ERR_NOT_FOUND) {
        return TS_ERR_AUTH_FAILED;
    }
    if (err != TS_OK) {
        return err;
    }
    if (ts_macaroon_verify(l->m, l->rec.secret) != TS_OK) {
        return TS_ERR_AUTH_FAILED;
    }
    size_t n = ts_macaroon_caveat_count(l->m) + 1;
    err = ts_macaroon_tails(l->m, l->rec.secret, l->tails, TAILS_MAX);
    if (err == TS_OK) {
        err = sat_db_revocation_any(c, &l->tails[0][0], n, &l->revoked);
    }
    return err;
}

/* Parses raw bytes and runs the lookup; on success *m and l are filled (caller frees both). */
static ts_err parse_and_check(struct ts_db *db, const uint8_t *raw, size_t raw_len,
                              struct ts_macaroon **m, struct lookup *l)
{
    *m = NULL;
    memset(l, 0, sizeof *l);
    if (raw == NULL || raw_len == 0 || raw_len > TS_MACAROON_SIZE_MAX ||
        ts_macaroon_parse(raw, raw_len, m) != TS_OK) {
        return TS_ERR_AUTH_FAILED;
    }
    l->m = *m;
    l->tails = calloc(TAILS_MAX, TS_MACAROON_TAIL_SIZE);
    if (l->tails == NULL) {
        return TS_ERR_NOMEM;
    }
    ts_err err = ts_db_tx_read(db, lookup_fn, l);
    if (err == TS_OK && l->revoked) {
        err = TS_ERR_REVOKED;
    }
    return err;
}

static void lookup_release(struct lookup *l)
{
    ts_wipe(&l->rec, sizeof l->rec);
    free(l->tails);
    l->tails = NULL;
}

struct sat_verified_key {
    struct ts_macaroon *m;
};

ts_err sat_apikey_verify(struct ts_db *db, const uint8_t *raw, size_t raw_len,
                         struct sat_verified_key **out, struct sat_auth *auth)
{
    struct ts_macaroon *m = NULL;
    struct lookup l;
    *out = NULL;
    memset(auth, 0, sizeof *auth);
    ts_err err = parse_and_check(db, raw, raw_len, &m, &l);
    if (err == TS_OK && ts_macaroon_max_object_ttl(m, &auth->max_object_ttl_s) != TS_OK) {
        err = TS_ERR_PERMISSION_DENIED; /* a caveat that does not decode allows nothing */
    }
    struct sat_verified_key *vk = NULL;
    if (err == TS_OK) {
        vk = calloc(1, sizeof *vk);
        err = vk == NULL ? TS_ERR_NOMEM : TS_OK;
    }
    if (err == TS_OK) {
        memcpy(auth->project_id, l.rec.project_id, SAT_ID_SIZE);
        memcpy(auth->api_key_id, l.rec.id, SAT_ID_SIZE);
        vk->m = m;
        m = NULL;
        *out = vk;
    } else {
        memset(auth, 0, sizeof *auth);
    }
    lookup_release(&l);
    ts_macaroon_free(m);
    return err;
}

ts_err sat_apikey_allows(const struct sat_verified_key *key,
                         const struct sat_request_action *action, int64_t now_s)
{
    struct ts_action a = {
        .op = (enum ts_action_op)action->op,
        .bucket = action->bucket,
        .bucket_len = action->bucket_len,
        .encrypted_path = action->path,
        .encrypted_path_len = action->path_len,
        .time_s = now_s,
    };
    return ts_macaroon_allows(key->m, &a);
}

void sat_apikey_verified_free(struct sat_verified_key *key)
{
    if (key != NULL) {
        ts_macaroon_free(key->m);
        free(key);
    }
}

ts_err sat_apikey_authorize(struct ts_db *db, const uint8_t *raw, size_t raw_len,
                            const struct sat_request_action *action, int64_t now_s,
                            struct sat_auth *out)
{
    struct sat_verified_key *vk = NULL;
    ts_err err = sat_apikey_verify(db, raw, raw_len, &vk, out);
    if (err == TS_OK) {
        err = sat_apikey_allows(vk, action, now_s);
    }
    if (err != TS_OK) {
        memset(out, 0, sizeof *out);
    }
    sat_apikey_verified_free(vk);
    return err;
}

struct create_ctx {
    const struct sat_api_key *rec;
};

static ts_err create_fn(struct ts_db_conn *c, void *ctx)
{
    struct create_ctx *cc = ctx;
    struct sat_project p;
    ts_err err = sat_db_project_get(c, cc->rec->project_id, &p);
    if (err == TS_OK) {
        err = sat_db_api_key_insert(c, cc->rec);
    }
    return err;
}

ts_err sat_apikey_create(struct ts_db *db, const uint8_t project_id[SAT_ID_SIZE], const char *name,
                         struct ts_buf *key_text)
{
    struct sat_api_key rec = {.created_at = ts_time_now_s()};
    struct ts_macaroon *m = NULL;
    if (name == NULL || strlen(name) > SAT_NAME_MAX) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    memcpy(rec.project_id, project_id, SAT_ID_SIZE);
    memcpy(rec.name, name, strlen(name) + 1);
    ts_err err = ts_random_bytes(rec.id, sizeof rec.id);
    if (err == TS_OK) {
        err = ts_macaroon_new(rec.secret, &m);
    }
    if (err == TS_OK) {
        memcpy(rec.head, ts_macaroon_head(m), SAT_HEAD_SIZE);
        struct create_ctx cc = {&rec};
        err = ts_db_tx(db, create_fn, &cc);
    }
    if (err == TS_OK) {
        err = ts_macaroon_api_key(m, key_text);
    }
    ts_wipe(&rec, sizeof rec);
    ts_macaroon_free(m);
    return err;
}

struct revoke_ctx {
    const uint8_t *tail;
    const uint8_t *api_key_id;
};

static ts_err revoke_fn(struct ts_db_conn *c, void *ctx)
{
    struct revoke_ctx *rc = ctx;
    return sat_db_revocation_insert(c, rc->tail, rc->api_key_id);
}

ts_err sat_apikey_revoke_text(struct ts_db *db, const char *key_text)
{
    struct ts_macaroon *m = NULL;
    struct ts_buf raw;
    struct lookup l;
    memset(&l, 0, sizeof l);
    ts_buf_init(&raw, TS_MACAROON_SIZE_MAX);
    ts_err err = ts_macaroon_api_key_parse(key_text, strlen(key_text), &m);
    if (err != TS_OK) {
        return TS_ERR_AUTH_FAILED;
    }
    err = ts_macaroon_serialize(m, &raw);
    ts_macaroon_free(m);
    m = NULL;
    if (err == TS_OK) {
        err = parse_and_check(db, raw.data, raw.len, &m, &l);
    }
    if (err == TS_OK || err == TS_ERR_REVOKED) {
        struct revoke_ctx rc = {ts_macaroon_tail(m), l.rec.id};
        err = ts_db_tx(db, revoke_fn, &rc);
    }
    lookup_release(&l);
    ts_macaroon_free(m);
    ts_buf_release(&raw);
    return err;
}

ts_err sat_apikey_revoke_by_ancestor(struct ts_db *db, const uint8_t *caller, size_t caller_len,
                                     const uint8_t *target, size_t target_len)
{
    struct ts_macaroon *mc = NULL, *mt = NULL;
    struct lookup lc, lt;
    ts_err err = parse_and_check(db, caller, caller_len, &mc, &lc);
    ts_err err_t = parse_and_check(db, target, target_len, &mt, &lt);
    if (err == TS_OK && err_t != TS_OK && err_t != TS_ERR_REVOKED) {
        err = err_t;
    }
    if (err == TS_OK) {
        size_t depth = ts_macaroon_caveat_count(mc);
        bool ancestor = memcmp(ts_macaroon_head(mc), ts_macaroon_head(mt), SAT_HEAD_SIZE) == 0 &&
                        depth <= ts_macaroon_caveat_count(mt) &&
                        ts_ct_equal(lt.tails[depth], ts_macaroon_tail(mc), SAT_TAIL_SIZE);
        err = ancestor ? TS_OK : TS_ERR_PERMISSION_DENIED;
    }
    if (err == TS_OK) {
        struct revoke_ctx rc = {ts_macaroon_tail(mt), lt.rec.id};
        err = ts_db_tx(db, revoke_fn, &rc);
    }
    lookup_release(&lc);
    lookup_release(&lt);
    ts_macaroon_free(mc);
    ts_macaroon_free(mt);
    return err;
}
