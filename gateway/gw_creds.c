/* Credential store: sealed records on disk, decrypted credentials and projects in memory. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <tessera/uplink.h>

#include "base/base.h"
#include "base/fs.h"
#include "base/log.h"
#include "crypto/aead.h"
#include "crypto/hash.h"
#include "encoding/encoding.h"
#include "gw_creds.h"

#define LOG "gw.creds"
#define MAGIC "TSGWCR01"
#define SALT_SIZE 16
#define SECRET_LABEL "tessera-gw secret key"
#define GRANT_LABEL "tessera-gw grant key"
#define FLAG_PUBLIC 1u
/* Nonces are stored as the 12 bytes AES-GCM reads (the rest of the 24-byte form is zero), so
 * every stored byte is authenticated or used. */
#define NONCE_STORED TS_GCM_NONCE_SIZE
/* Whole record: header, sealed secret, sealed grant. */
#define RECORD_MAX (TS_ACCESS_GRANT_TEXT_MAX + 1024)

struct gw_creds {
    char *dir; /* NULL: memory only */
    pthread_mutex_t lock;
    struct gw_cred *items[GW_TENANTS_MAX];
    size_t count;
};

/* ---- record format ---------------------------------------------------------------------- */

static ts_err derive(const char *key, const char *label, const uint8_t salt[SALT_SIZE],
                     const char *extra, uint8_t out[32])
{
    uint8_t msg[64 + SALT_SIZE + GW_ACCESS_KEY_ID_MAX];
    size_t llen = strlen(label), elen = extra ? strlen(extra) : 0;
    TS_ASSERT(llen <= 64 && elen <= GW_ACCESS_KEY_ID_MAX);
    memcpy(msg, label, llen);
    memcpy(msg + llen, salt, SALT_SIZE);
    if (elen > 0) {
        memcpy(msg + llen + SALT_SIZE, extra, elen);
    }
    return ts_hmac_sha256((const uint8_t *)key, strlen(key), msg, llen + SALT_SIZE + elen, out);
}

ts_err gw_cred_record_seal(const char *akid, const char *secret, const char *grant,
                           bool public_link, struct ts_buf *out)
{
    size_t slen = strlen(secret), glen = strlen(grant);
    if (slen > GW_SECRET_KEY_MAX || glen > TS_ACCESS_GRANT_TEXT_MAX ||
        strlen(akid) > GW_ACCESS_KEY_ID_MAX) {
        return TS_ERR_TOO_LARGE;
    }
    uint8_t salt[SALT_SIZE], ns[TS_AESGCM_NONCE_SIZE], ng[TS_AESGCM_NONCE_SIZE], ks[32], kg[32];
    uint8_t sec[1 + GW_SECRET_KEY_MAX + TS_AESGCM_TAG_SIZE], hdr[4];
    uint8_t *enc_grant = malloc(glen + TS_AESGCM_TAG_SIZE);
    ts_err err = enc_grant ? TS_OK : TS_ERR_NOMEM;
    if (err == TS_OK) {
        err = ts_random_bytes(salt, sizeof salt);
    }
    memset(ns, 0, sizeof ns);
    memset(ng, 0, sizeof ng);
    if (err == TS_OK) {
        err = ts_random_bytes(ns, NONCE_STORED);
    }
    if (err == TS_OK) {
        err = ts_random_bytes(ng, NONCE_STORED);
    }
    if (err == TS_OK) {
        err = derive(akid, SECRET_LABEL, salt, NULL, ks);
    }
    if (err == TS_OK) {
        err = derive(secret, GRANT_LABEL, salt, akid, kg);
    }
    if (err == TS_OK) {
        sec[0] = public_link ? FLAG_PUBLIC : 0;
        memcpy(sec + 1, secret, slen);
        err = ts_aesgcm_seal(ks, ns, sec, 1 + slen, sec);
    }
    if (err == TS_OK) {
        err = ts_aesgcm_seal(kg, ng, (const uint8_t *)grant, glen, enc_grant);
    }
    if (err == TS_OK) {
        err = ts_buf_append(out, MAGIC, 8);
    }
    if (err == TS_OK) {
        err = ts_buf_append(out, salt, SALT_SIZE);
    }
    if (err == TS_OK) {
        err = ts_buf_append(out, ns, NONCE_STORED);
    }
    if (err == TS_OK) {
        hdr[0] = (uint8_t)((1 + slen + TS_AESGCM_TAG_SIZE) >> 8);
        hdr[1] = (uint8_t)(1 + slen + TS_AESGCM_TAG_SIZE);
        err = ts_buf_append(out, hdr, 2);
    }
    if (err == TS_OK) {
        err = ts_buf_append(out, sec, 1 + slen + TS_AESGCM_TAG_SIZE);
    }
    if (err == TS_OK) {
        err = ts_buf_append(out, ng, NONCE_STORED);
    }
    if (err == TS_OK) {
        ts_be32_put(hdr, (uint32_t)(glen + TS_AESGCM_TAG_SIZE));
        err = ts_buf_append(out, hdr, 4);
    }
    if (err == TS_OK) {
        err = ts_buf_append(out, enc_grant, glen + TS_AESGCM_TAG_SIZE);
    }
    ts_wipe(ks, sizeof ks);
    ts_wipe(kg, sizeof kg);
    ts_wipe(sec, sizeof sec);
    free(enc_grant);
    return err;
}

struct record {
    const uint8_t *salt, *enc_s, *enc_g;
    uint8_t nonce_s[TS_AESGCM_NONCE_SIZE], nonce_g[TS_AESGCM_NONCE_SIZE];
    size_t enc_s_len, enc_g_len;
};

static ts_err record_parse(const uint8_t *rec, size_t len, struct record *r)
{
    size_t fixed = 8 + SALT_SIZE + NONCE_STORED + 2;
    memset(r, 0, sizeof *r);
    if (len < 8 || memcmp(rec, MAGIC, 6) != 0) {
        return TS_ERR_MALFORMED;
    }
    if (memcmp(rec, MAGIC, 8) != 0) {
        return TS_ERR_UNSUPPORTED_VERSION;
    }
    if (len < fixed) {
        return TS_ERR_MALFORMED;
    }
    r->salt = rec + 8;
    memcpy(r->nonce_s, r->salt + SALT_SIZE, NONCE_STORED);
    r->enc_s_len = ((size_t)rec[fixed - 2] << 8) | rec[fixed - 1];
    r->enc_s = rec + fixed;
    if (r->enc_s_len < 1 + TS_AESGCM_TAG_SIZE ||
        r->enc_s_len > 1 + GW_SECRET_KEY_MAX + TS_AESGCM_TAG_SIZE ||
        len - fixed < r->enc_s_len + NONCE_STORED + 4) {
        return TS_ERR_MALFORMED;
    }
    const uint8_t *ng = r->enc_s + r->enc_s_len;
    memcpy(r->nonce_g, ng, NONCE_STORED);
    r->enc_g_len = ts_be32_get(ng + NONCE_STORED);
    r->enc_g = ng + NONCE_STORED + 4;
    size_t used = (size_t)(r->enc_g - rec);
    if (r->enc_g_len < TS_AESGCM_TAG_SIZE || r->enc_g_len != len - used) {
        return TS_ERR_MALFORMED;
    }
    return TS_OK;
}

ts_err gw_cred_record_open_grant(const uint8_t *rec, size_t len, const char *akid,
                                 const char *secret, struct ts_buf *grant_out)
{
    struct record r;
    uint8_t kg[32];
    ts_err err = record_parse(rec, len, &r);
    if (err == TS_OK) {
        err = derive(secret, GRANT_LABEL, r.salt, akid, kg);
    }
    size_t plen = r.enc_g_len - TS_AESGCM_TAG_SIZE;
    if (err == TS_OK) {
        err = ts_buf_reserve(grant_out, plen + 1);
    }
    if (err == TS_OK) {
        err = ts_aesgcm_open(kg, r.nonce_g, r.enc_g, r.enc_g_len, grant_out->data + grant_out->len);
    }
    if (err == TS_OK) {
        grant_out->len += plen;
        grant_out->data[grant_out->len] = 0;
    }
    ts_wipe(kg, sizeof kg);
    return err;
}

ts_err gw_cred_record_open(const uint8_t *rec, size_t len, const char *akid,
                           char secret_out[GW_SECRET_KEY_MAX + 1], bool *public_link,
                           struct ts_buf *grant_out)
{
    struct record r;
    uint8_t ks[32], sec[1 + GW_SECRET_KEY_MAX + TS_AESGCM_TAG_SIZE];
    ts_err err = record_parse(rec, len, &r);
    if (err == TS_OK) {
        err = derive(akid, SECRET_LABEL, r.salt, NULL, ks);
    }
    if (err == TS_OK) {
        err = ts_aesgcm_open(ks, r.nonce_s, r.enc_s, r.enc_s_len, sec);
    }
    if (err == TS_OK) {
        size_t slen = r.enc_s_len - TS_AESGCM_TAG_SIZE - 1;
        memcpy(secret_out, sec + 1, slen);
        secret_out[slen] = 0;
        *public_link = (sec[0] & FLAG_PUBLIC) != 0;
        err = gw_cred_record_open_grant(rec, len, akid, secret_out, grant_out);
        if (err != TS_OK) {
            ts_wipe(secret_out, GW_SECRET_KEY_MAX + 1);
        }
    }
    ts_wipe(ks, sizeof ks);
    ts_wipe(sec, sizeof sec);
    return err;
}

/* ---- the store -------------------------------------------------------------------------- */

ts_err gw_creds_open(const char *dir, struct gw_creds **out)
{
    *out = NULL;
    struct gw_creds *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return TS_ERR_NOMEM;
    }
    pthread_mutex_init(&s->lock, NULL);
    if (dir != NULL) {
        s->dir = strdup(dir);
        ts_err err = s->dir ? ts_fs_mkdir_p(dir, 0700) : TS_ERR_NOMEM;
        if (err != TS_OK) {
            ts_log_error(LOG, "cannot create credential store dir=%s err=%s", dir,
                         ts_strerror(err));
            gw_creds_free(s);
            return err == TS_ERR_NOMEM ? err : TS_ERR_IO;
        }
    }
    *out = s;
    return TS_OK;
}

static void cred_free(struct gw_cred *c)
{
    if (c != NULL) {
        ul_project_close(c->project);
        ts_wipe(c, sizeof *c);
        free(c);
    }
}

void gw_creds_trim(struct gw_creds *s, int idle_ms)
{
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->count; i++) {
        ul_project_trim(s->items[i]->project, idle_ms);
    }
    pthread_mutex_unlock(&s->lock);
}

void gw_creds_free(struct gw_creds *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->count; i++) {
        cred_free(s->items[i]);
    }
    pthread_mutex_destroy(&s->lock);
    free(s->dir);
    free(s);
}

static ts_err record_path(const struct gw_creds *s, const char *akid, char *out, size_t cap)
{
    uint8_t h[32];
    char hex[65];
    ts_err err = ts_sha256(akid, strlen(akid), h);
    if (err != TS_OK) {
        return err;
    }
    gw_hex(h, 32, hex);
    int n = snprintf(out, cap, "%s/%s.cred", s->dir, hex);
    return n > 0 && (size_t)n < cap ? TS_OK : TS_ERR_TOO_LARGE;
}

/* Builds an in-memory credential with its project. */
static ts_err cred_new(const char *akid, const char *secret, const char *grant, bool public_link,
                       struct gw_cred **out)
{
    struct ul_access *access = NULL;
    struct gw_cred *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return TS_ERR_NOMEM;
    }
    snprintf(c->access_key_id, sizeof c->access_key_id, "%s", akid);
    snprintf(c->secret, sizeof c->secret, "%s", secret);
    c->public_link = public_link;
    ts_err err = (ts_err)ul_access_parse(grant, &access);
    if (err == TS_OK) {
        err = (ts_err)ul_project_open(access, NULL, &c->project);
    }
    ul_access_free(access);
    if (err != TS_OK) {
        cred_free(c);
        return err;
    }
    *out = c;
    return TS_OK;
}

static struct gw_cred *find_locked(struct gw_creds *s, const char *akid)
{
    for (size_t i = 0; i < s->count; i++) {
        if (strcmp(s->items[i]->access_key_id, akid) == 0) {
            return s->items[i];
        }
    }
    return NULL;
}

/* Adds c unless the key ID is present already (then c is freed and the existing one returned).
 * TS_ERR_EXISTS instead when exclusive. */
static ts_err insert(struct gw_creds *s, struct gw_cred *c, bool exclusive,
                     const struct gw_cred **out)
{
    ts_err err = TS_OK;
    pthread_mutex_lock(&s->lock);
    struct gw_cred *have = find_locked(s, c->access_key_id);
    if (have != NULL) {
        err = exclusive ? TS_ERR_EXISTS : TS_OK;
        cred_free(c);
        c = have;
    } else if (s->count == GW_TENANTS_MAX) {
        err = TS_ERR_BUSY;
        cred_free(c);
        c = NULL;
    } else {
        s->items[s->count++] = c;
    }
    pthread_mutex_unlock(&s->lock);
    if (out != NULL) {
        *out = c;
    }
    return err;
}

static bool valid_id(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n < 3 || n > max) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] <= ' ' || s[i] > '~' || s[i] == '/') {
            return false;
        }
    }
    return true;
}

static ts_err random_text(enum ts_base32_alphabet alphabet, size_t bytes, char *out, size_t cap)
{
    uint8_t r[32];
    TS_ASSERT(bytes <= sizeof r);
    ts_err err = ts_random_bytes(r, bytes);
    if (err == TS_OK) {
        err = ts_base32_encode_to(alphabet, r, bytes, out, cap);
    }
    ts_wipe(r, sizeof r);
    return err;
}

static ts_err persist(struct gw_creds *s, const char *akid, const char *secret, const char *grant,
                      bool public_link)
{
    char path[4096];
    struct ts_buf rec;
    ts_buf_init(&rec, RECORD_MAX);
    ts_err err = record_path(s, akid, path, sizeof path);
    struct stat st;
    if (err == TS_OK && stat(path, &st) == 0) {
        err = TS_ERR_EXISTS;
    }
    if (err == TS_OK) {
        err = gw_cred_record_seal(akid, secret, grant, public_link, &rec);
    }
    if (err == TS_OK) {
        err = ts_fs_write_atomic(path, rec.data, rec.len, 0600);
    }
    ts_buf_release(&rec);
    return err;
}

ts_err gw_creds_register(struct gw_creds *s, const char *grant, bool public_link, const char *akid,
                         const char *secret, char *akid_out, char *secret_out)
{
    ts_err err = TS_OK;
    if (akid != NULL) {
        err = valid_id(akid, GW_ACCESS_KEY_ID_MAX) ? TS_OK : TS_ERR_INVALID_ARGUMENT;
        snprintf(akid_out, GW_ACCESS_KEY_ID_MAX + 1, "%s", akid);
    } else {
        err = random_text(TS_BASE32_STD, 20, akid_out, GW_ACCESS_KEY_ID_MAX + 1);
    }
    if (err == TS_OK && secret != NULL) {
        err = valid_id(secret, GW_SECRET_KEY_MAX) ? TS_OK : TS_ERR_INVALID_ARGUMENT;
        snprintf(secret_out, GW_SECRET_KEY_MAX + 1, "%s", secret);
    } else if (err == TS_OK) {
        err = random_text(TS_BASE32_LOWER, 25, secret_out, GW_SECRET_KEY_MAX + 1);
    }
    struct gw_cred *c = NULL;
    if (err == TS_OK) {
        /* parses the grant and opens the project: a bad grant never reaches the disk */
        err = cred_new(akid_out, secret_out, grant, public_link, &c);
    }
    if (err == TS_OK && s->dir != NULL) {
        err = persist(s, akid_out, secret_out, grant, public_link);
        if (err != TS_OK) {
            cred_free(c);
            c = NULL;
        }
    }
    if (err == TS_OK) {
        err = insert(s, c, true, NULL);
    }
    return err;
}

static ts_err load(struct gw_creds *s, const char *akid, struct gw_cred **out)
{
    char path[4096], secret[GW_SECRET_KEY_MAX + 1];
    bool public_link = false;
    struct ts_buf rec, grant;
    ts_buf_init(&rec, RECORD_MAX);
    ts_buf_init(&grant, TS_ACCESS_GRANT_TEXT_MAX + 1);
    ts_err err = record_path(s, akid, path, sizeof path);
    if (err == TS_OK) {
        err = ts_fs_read_all(path, RECORD_MAX, &rec);
    }
    if (err == TS_OK) {
        err = gw_cred_record_open(rec.data, rec.len, akid, secret, &public_link, &grant);
        if (err != TS_OK) {
            ts_log_warn(LOG, "credential record does not open path=%s err=%s", path,
                        ts_errname(err));
            err = TS_ERR_AUTH_FAILED;
        }
    }
    if (err == TS_OK) {
        err = cred_new(akid, secret, (const char *)grant.data, public_link, out);
    }
    ts_wipe(secret, sizeof secret);
    ts_buf_release(&rec);
    ts_buf_release_secret(&grant);
    return err;
}

ts_err gw_creds_get(struct gw_creds *s, const char *akid, const struct gw_cred **out)
{
    *out = NULL;
    pthread_mutex_lock(&s->lock);
    const struct gw_cred *have = find_locked(s, akid);
    pthread_mutex_unlock(&s->lock);
    if (have != NULL) {
        *out = have;
        return TS_OK;
    }
    if (s->dir == NULL || !valid_id(akid, GW_ACCESS_KEY_ID_MAX)) {
        return TS_ERR_NOT_FOUND;
    }
    struct gw_cred *c = NULL;
    ts_err err = load(s, akid, &c);
    if (err != TS_OK) {
        return err;
    }
    return insert(s, c, false, out);
}
