/* Access grants for the public API: parse, serialize, share (offline, core/access), and request
 * a grant from an API key and a passphrase (ProjectInfo salt + argon2id root key). */
#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "base/base.h"
#include "crypto/passphrase.h"
#include "internal.h"
#include "macaroon/macaroon.h"

struct ul_access {
    struct ts_access *a;
};

/* Used by project.c. */
ts_err ul_access_clone(const struct ul_access *a, struct ul_access **out);
ts_err ul_access_api_key_raw(const struct ul_access *a, struct ts_buf *out);
const struct ts_access *ul_access_core(const struct ul_access *a);

static ts_err wrap(struct ts_access *core, struct ul_access **out)
{
    struct ul_access *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        ts_access_free(core);
        return TS_ERR_NOMEM;
    }
    a->a = core;
    *out = a;
    return TS_OK;
}

const struct ts_access *ul_access_core(const struct ul_access *a)
{
    return a->a;
}

ul_err ul_access_parse(const char *grant, struct ul_access **out)
{
    ul_detail_clear();
    if (grant == NULL || out == NULL) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    *out = NULL;
    struct ts_access *core = NULL;
    ts_err err = ts_access_parse(grant, strlen(grant), &core);
    if (err != TS_OK) {
        return ul_fail(err, "access grant does not parse: %s", ts_strerror(err));
    }
    return wrap(core, out);
}

ul_err ul_access_serialize(const struct ul_access *access, char **out)
{
    ul_detail_clear();
    if (access == NULL || out == NULL) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    struct ts_buf b;
    ts_buf_init(&b, TS_ACCESS_GRANT_TEXT_MAX + 1);
    ts_err err = ts_access_serialize(access->a, &b);
    if (err == TS_OK && b.data == NULL) {
        err = ts_buf_append_str(&b, "");
    }
    *out = err == TS_OK ? (char *)ts_buf_detach(&b, NULL) : NULL;
    ts_buf_release_secret(&b);
    return err;
}

ts_err ul_access_clone(const struct ul_access *a, struct ul_access **out)
{
    char *text = NULL;
    ts_err err = ul_access_serialize(a, &text);
    if (err == TS_OK) {
        err = ul_access_parse(text, out);
        ts_wipe(text, strlen(text));
    }
    free(text);
    return err;
}

ts_err ul_access_api_key_raw(const struct ul_access *a, struct ts_buf *out)
{
    return ts_macaroon_serialize(ts_access_api_key(a->a), out);
}

const char *ul_access_satellite_url(const struct ul_access *access)
{
    return ts_access_satellite_url(access->a);
}

void ul_access_free(struct ul_access *access)
{
    if (access == NULL) {
        return;
    }
    ts_access_free(access->a);
    free(access);
}

void ul_free(void *p)
{
    free(p);
}

ul_err ul_access_share(const struct ul_access *access, const struct ul_permission *perm,
                       const struct ul_share_prefix *prefixes, size_t prefix_count,
                       struct ul_access **out)
{
    ul_detail_clear();
    if (access == NULL || perm == NULL || out == NULL || (prefix_count > 0 && prefixes == NULL) ||
        prefix_count > TS_CAVEAT_PATHS_MAX) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    *out = NULL;
    if (!perm->allow_download && !perm->allow_upload && !perm->allow_list &&
        !perm->allow_delete) {
        return ul_fail(TS_ERR_INVALID_ARGUMENT, "a shared access must allow something");
    }
    struct ts_access_permission p = {.allow_read = perm->allow_download,
                                     .allow_write = perm->allow_upload,
                                     .allow_list = perm->allow_list,
                                     .allow_delete = perm->allow_delete,
                                     .not_before_s = perm->not_before_s,
                                     .not_after_s = perm->not_after_s};
    struct ts_access_prefix pre[TS_CAVEAT_PATHS_MAX];
    for (size_t i = 0; i < prefix_count; i++) {
        const char *text = prefixes[i].prefix ? prefixes[i].prefix : "";
        pre[i] = (struct ts_access_prefix){.bucket = prefixes[i].bucket, .prefix = text,
                                           .prefix_len = strlen(text)};
        if (pre[i].bucket == NULL) {
            return TS_ERR_INVALID_ARGUMENT;
        }
    }
    struct ts_access *core = NULL;
    ts_err err = ts_access_share(access->a, &p, pre, prefix_count, &core);
    if (err != TS_OK) {
        return ul_fail(err, "cannot share: %s", ts_strerror(err));
    }
    return wrap(core, out);
}

/* Asks the satellite for the project's salt with a key-less grant. */
static ts_err project_salt(const struct ul_access *bare, uint8_t *salt, size_t *salt_len)
{
    struct ul_project *p = NULL;
    ts_err err = ul_project_open(bare, NULL, &p);
    if (err != TS_OK) {
        return err;
    }
    Tessera__Metainfo__RequestHeader h;
    ul_meta_header(p, &h);
    Tessera__Metainfo__ProjectInfoRequest req = TESSERA__METAINFO__PROJECT_INFO_REQUEST__INIT;
    req.header = &h;
    Tessera__Metainfo__ProjectInfoResponse *resp = NULL;
    err = ul_meta_call(p, "ProjectInfo", &req.base,
                       &tessera__metainfo__project_info_response__descriptor,
                       (ProtobufCMessage **)&resp);
    if (err == TS_OK && (resp->project_salt.len == 0 || resp->project_salt.len > 64)) {
        err = ul_fail(TS_ERR_PROTOCOL, "the satellite sent a project salt of %zu bytes",
                      resp->project_salt.len);
    }
    if (err == TS_OK) {
        memcpy(salt, resp->project_salt.data, resp->project_salt.len);
        *salt_len = resp->project_salt.len;
    }
    if (resp != NULL) {
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    }
    ul_project_close(p);
    return err;
}

ul_err ul_access_request(const char *satellite_url, const char *api_key, const char *passphrase,
                         struct ul_access **out)
{
    ul_detail_clear();
    if (satellite_url == NULL || api_key == NULL || passphrase == NULL || out == NULL) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    *out = NULL;
    struct ts_macaroon *mac = NULL;
    ts_err err = ts_macaroon_api_key_parse(api_key, strlen(api_key), &mac);
    if (err != TS_OK) {
        return ul_fail(err, "API key does not parse: %s", ts_strerror(err));
    }
    struct ts_access *core = NULL;
    err = ts_access_new(satellite_url, mac, &core);
    ts_macaroon_free(mac);
    struct ul_access *a = NULL;
    if (err == TS_OK) {
        err = wrap(core, &a);
    }
    uint8_t salt[64], root[32];
    size_t salt_len = 0;
    if (err == TS_OK) {
        err = project_salt(a, salt, &salt_len);
    }
    if (err == TS_OK) {
        err = ts_root_key_from_passphrase(passphrase, strlen(passphrase), salt, salt_len, root);
        if (err != TS_OK) {
            err = ul_fail(err, "cannot derive the root key from the passphrase: %s",
                          ts_strerror(err));
        }
    }
    if (err == TS_OK) {
        ts_access_set_default_key(a->a, root);
    }
    ts_wipe(root, sizeof(root));
    if (err != TS_OK) {
        ul_access_free(a);
        return err;
    }
    *out = a;
    return TS_OK;
}

ts_err ul_key_encrypt(struct ul_project *p, const char *bucket, const char *key, size_t key_len,
                      struct ts_buf *enc, uint8_t content_key[32])
{
    ts_err err = ts_access_encrypt_key(p->access->a, bucket, key, key_len, enc, content_key);
    if (err == TS_ERR_PERMISSION_DENIED) {
        return ul_fail(err, "this access holds no encryption key for %s/%s", bucket, key);
    }
    return err;
}
