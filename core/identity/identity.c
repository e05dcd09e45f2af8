/* Full identities: proof-of-work creation on every core, files on disk, signing. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "base/base.h"
#include "base/fs.h"
#include "base/log.h"
#include "identity/identity.h"
#include "identity/identity_internal.h"
#include "identity/identity_openssl.h"

/* Threads searching for a CA key; more than this buys nothing on any machine we target. */
#define SEARCH_THREADS_MAX 256
#define PROGRESS_INTERVAL_MS 250

struct ts_identity {
    X509 *ca_cert;
    X509 *leaf_cert;
    EVP_PKEY *leaf_key;
    EVP_PKEY *ca_key; /* NULL unless this process created the identity */
    struct ts_peer_identity peer;
};

void ts_identity_free(struct ts_identity *identity)
{
    if (identity == NULL) {
        return;
    }
    X509_free(identity->ca_cert);
    X509_free(identity->leaf_cert);
    EVP_PKEY_free(identity->leaf_key); /* OpenSSL clears EC private scalars when freeing */
    EVP_PKEY_free(identity->ca_key);
    ts_wipe(identity, sizeof *identity);
    free(identity);
}

const struct ts_node_id *ts_identity_id(const struct ts_identity *identity)
{
    return &identity->peer.id;
}

int ts_identity_difficulty(const struct ts_identity *identity)
{
    return identity->peer.difficulty;
}

const struct ts_peer_identity *ts_identity_peer(const struct ts_identity *identity)
{
    return &identity->peer;
}

X509 *ts_identity_leaf_cert(const struct ts_identity *identity)
{
    return identity->leaf_cert;
}

X509 *ts_identity_ca_cert(const struct ts_identity *identity)
{
    return identity->ca_cert;
}

EVP_PKEY *ts_identity_leaf_key(const struct ts_identity *identity)
{
    return identity->leaf_key;
}

ts_err ts_identity_sign(const struct ts_identity *identity, const void *data, size_t len,
                        uint8_t *sig, size_t *sig_len)
{
    return ts_identity_sign_with(identity->leaf_key, data, len, sig, sig_len);
}

/* Builds the identity around a CA key (takes ownership of ca_key in every case). */
static ts_err identity_from_ca_key(EVP_PKEY *ca_key, int keep_ca_key, struct ts_identity **out)
{
    *out = NULL;
    struct ts_identity *id = calloc(1, sizeof *id);
    if (id == NULL) {
        EVP_PKEY_free(ca_key);
        return TS_ERR_NOMEM;
    }
    id->ca_key = ca_key;
    ts_err err = ts_identity_cert_make(ca_key, ca_key, NULL, &id->ca_cert);
    if (err == TS_OK) {
        id->leaf_key = ts_identity_keygen();
        err = id->leaf_key == NULL ? TS_ERR_CRYPTO : TS_OK;
    }
    if (err == TS_OK) {
        err = ts_identity_cert_make(id->leaf_key, ca_key, id->ca_cert, &id->leaf_cert);
    }
    if (err == TS_OK) {
        err = ts_peer_identity_from_x509(id->leaf_cert, id->ca_cert, &id->peer);
    }
    if (err != TS_OK) {
        ts_identity_free(id);
        return err;
    }
    if (!keep_ca_key) {
        EVP_PKEY_free(id->ca_key);
        id->ca_key = NULL;
    }
    *out = id;
    return TS_OK;
}

ts_err ts_identity_create_ephemeral(struct ts_identity **out)
{
    *out = NULL;
    EVP_PKEY *ca = ts_identity_keygen();
    if (ca == NULL) {
        return TS_ERR_CRYPTO;
    }
    return identity_from_ca_key(ca, 0, out);
}

/* ---- Proof-of-work search ---- */

struct search {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int target;
    atomic_uint_fast64_t tries;
    atomic_int best;
    atomic_int stop;
    EVP_PKEY *found; /* under mu */
    ts_err err;      /* under mu */
};

static void search_finish(struct search *s, EVP_PKEY *key, ts_err err)
{
    pthread_mutex_lock(&s->mu);
    if (s->found == NULL && s->err == TS_OK) {
        s->found = key;
        key = NULL;
        s->err = err;
    }
    atomic_store(&s->stop, 1);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    EVP_PKEY_free(key);
}

static void *search_worker(void *arg)
{
    struct search *s = arg;
    while (!atomic_load(&s->stop)) {
        EVP_PKEY *k = ts_identity_keygen();
        struct ts_node_id id;
        if (k == NULL || ts_identity_id_from_key(k, &id) != TS_OK) {
            search_finish(s, NULL, TS_ERR_CRYPTO);
            EVP_PKEY_free(k);
            break;
        }
        int d = ts_node_id_difficulty(&id);
        atomic_fetch_add(&s->tries, 1);
        int best = atomic_load(&s->best);
        while (d > best && !atomic_compare_exchange_weak(&s->best, &best, d)) {
        }
        if (d >= s->target) {
            search_finish(s, k, TS_OK);
        } else {
            EVP_PKEY_free(k);
        }
    }
    return NULL;
}

static void search_wait(struct search *s, const struct ts_identity_create_opts *opts)
{
    pthread_mutex_lock(&s->mu);
    while (!atomic_load(&s->stop)) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += PROGRESS_INTERVAL_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec += 1;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->cv, &s->mu, &until);
        if (opts->progress != NULL && !atomic_load(&s->stop)) {
            pthread_mutex_unlock(&s->mu);
            opts->progress((uint64_t)atomic_load(&s->tries), atomic_load(&s->best),
                           opts->progress_ctx);
            pthread_mutex_lock(&s->mu);
        }
    }
    pthread_mutex_unlock(&s->mu);
}

static int search_threads(const struct ts_identity_create_opts *opts)
{
    long n = opts->threads > 0 ? opts->threads : sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) {
        n = 1;
    }
    return n > SEARCH_THREADS_MAX ? SEARCH_THREADS_MAX : (int)n;
}

ts_err ts_identity_create(const struct ts_identity_create_opts *opts, struct ts_identity **out)
{
    *out = NULL;
    if (opts->difficulty_min < 0 || opts->difficulty_min > TS_ID_DIFFICULTY_MAX) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    struct search s = {.target = opts->difficulty_min};
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    pthread_t threads[SEARCH_THREADS_MAX];
    int started = 0, want = search_threads(opts);
    for (; started < want; started++) {
        if (pthread_create(&threads[started], NULL, search_worker, &s) != 0) {
            break;
        }
    }
    if (started == 0) {
        search_finish(&s, NULL, TS_ERR_NOMEM);
    }
    search_wait(&s, opts);
    for (int i = 0; i < started; i++) {
        pthread_join(threads[i], NULL);
    }
    pthread_cond_destroy(&s.cv);
    pthread_mutex_destroy(&s.mu);
    if (s.err != TS_OK || s.found == NULL) {
        EVP_PKEY_free(s.found);
        return s.err != TS_OK ? s.err : TS_ERR_INTERNAL;
    }
    return identity_from_ca_key(s.found, 1, out);
}

/* ---- Files ---- */

static ts_err path_join(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
    return n < 0 || n >= PATH_MAX ? TS_ERR_TOO_LARGE : TS_OK;
}

/* Writes what fill() puts into a memory BIO to dir/name atomically, wiping the BIO after. */
static ts_err write_pem(const char *dir, const char *name, mode_t mode, int (*fill)(BIO *, void *),
                        void *arg)
{
    char path[PATH_MAX];
    ts_err err = path_join(path, dir, name);
    if (err != TS_OK) {
        return err;
    }
    BIO *b = BIO_new(BIO_s_mem());
    if (b == NULL || !fill(b, arg)) {
        BIO_free(b);
        ERR_clear_error();
        return TS_ERR_CRYPTO;
    }
    char *data = NULL;
    long len = BIO_get_mem_data(b, &data);
    err = ts_fs_write_atomic(path, data, (size_t)len, mode);
    OPENSSL_cleanse(data, (size_t)len);
    BIO_free(b);
    return err;
}

static int fill_cert(BIO *b, void *arg)
{
    return PEM_write_bio_X509(b, arg);
}

static int fill_chain(BIO *b, void *arg)
{
    const struct ts_identity *id = arg;
    return PEM_write_bio_X509(b, id->leaf_cert) && PEM_write_bio_X509(b, id->ca_cert);
}

static int fill_key(BIO *b, void *arg)
{
    return PEM_write_bio_PrivateKey(b, arg, NULL, NULL, 0, NULL, NULL);
}

ts_err ts_identity_save(const struct ts_identity *identity, const char *dir)
{
    char path[PATH_MAX];
    ts_err err = path_join(path, dir, "identity.cert");
    if (err != TS_OK) {
        return err;
    }
    err = ts_fs_mkdir_p(dir, 0700);
    if (err != TS_OK) {
        return err;
    }
    if (access(path, F_OK) == 0) {
        return TS_ERR_EXISTS;
    }
    struct ts_identity *id = (struct ts_identity *)identity; /* fill callbacks take void * */
    err = write_pem(dir, "ca.cert", 0644, fill_cert, id->ca_cert);
    if (err == TS_OK && id->ca_key != NULL) {
        err = write_pem(dir, "ca.key", 0600, fill_key, id->ca_key);
    }
    if (err == TS_OK) {
        err = write_pem(dir, "identity.key", 0600, fill_key, id->leaf_key);
    }
    if (err == TS_OK) { /* last: its presence marks a complete identity */
        err = write_pem(dir, "identity.cert", 0644, fill_chain, id);
    }
    return err;
}

static ts_err read_file(const char *dir, const char *name, struct ts_buf *out)
{
    char path[PATH_MAX];
    ts_err err = path_join(path, dir, name);
    if (err == TS_OK) {
        err = ts_fs_read_all(path, TS_IDENTITY_FILE_MAX, out);
    }
    if (err != TS_OK && err != TS_ERR_NOT_FOUND) {
        ts_log_error("identity", "cannot read identity file path=%s err=%s", path,
                     ts_errname(err));
    }
    return err;
}

static ts_err parse_files(struct ts_identity *id, const struct ts_buf *certs,
                          const struct ts_buf *key)
{
    BIO *cb = BIO_new_mem_buf(certs->data, (int)certs->len);
    BIO *kb = BIO_new_mem_buf(key->data, (int)key->len);
    ts_err err = TS_ERR_MALFORMED;
    if (cb != NULL && kb != NULL) {
        id->leaf_cert = PEM_read_bio_X509(cb, NULL, NULL, NULL);
        id->ca_cert = PEM_read_bio_X509(cb, NULL, NULL, NULL);
        id->leaf_key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
    }
    if (id->leaf_cert != NULL && id->ca_cert != NULL && id->leaf_key != NULL) {
        err = ts_peer_identity_from_x509(id->leaf_cert, id->ca_cert, &id->peer);
        if (err == TS_OK && X509_check_private_key(id->leaf_cert, id->leaf_key) != 1) {
            err = TS_ERR_AUTH_FAILED;
        }
    }
    ERR_clear_error();
    BIO_free(cb);
    BIO_free(kb);
    return err;
}

ts_err ts_identity_load(const char *dir, struct ts_identity **out)
{
    *out = NULL;
    struct ts_buf certs, key;
    ts_buf_init(&certs, TS_IDENTITY_FILE_MAX);
    ts_buf_init(&key, TS_IDENTITY_FILE_MAX);
    struct ts_identity *id = calloc(1, sizeof *id);
    ts_err err = id == NULL ? TS_ERR_NOMEM : TS_OK;
    if (err == TS_OK) {
        err = read_file(dir, "identity.cert", &certs);
    }
    if (err == TS_OK) {
        err = read_file(dir, "identity.key", &key);
    }
    if (err == TS_OK) {
        err = parse_files(id, &certs, &key);
        if (err != TS_OK) {
            ts_log_error("identity", "invalid identity dir=%s err=%s", dir, ts_errname(err));
        }
    }
    ts_buf_release(&certs);
    ts_buf_release_secret(&key);
    if (err != TS_OK) {
        ts_identity_free(id);
        return err;
    }
    *out = id;
    return TS_OK;
}
