/* One-time set-up shared by the crypto module: fetched OpenSSL algorithms and sodium_init(). */
#include <pthread.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "base/base.h"
#include "base/log.h"
#include "crypto/crypto_internal.h"

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;
static EVP_MD *sha512_md;
static EVP_CIPHER *aes256gcm;

static void fetch_algorithms(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    sha512_md = EVP_MD_fetch(NULL, "SHA512", NULL);
    aes256gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    if (sha256_md == NULL || sha512_md == NULL || aes256gcm == NULL) {
        (void)ts_crypto_openssl_fail("EVP fetch of SHA256/SHA512/AES-256-GCM");
    }
}

const EVP_MD *ts_crypto_sha256_md(void)
{
    pthread_once(&fetch_once, fetch_algorithms);
    return sha256_md;
}

const EVP_MD *ts_crypto_sha512_md(void)
{
    pthread_once(&fetch_once, fetch_algorithms);
    return sha512_md;
}

const EVP_CIPHER *ts_crypto_aes256gcm(void)
{
    pthread_once(&fetch_once, fetch_algorithms);
    return aes256gcm;
}

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_status = -1;

static void sodium_setup(void)
{
    sodium_status = sodium_init(); /* 0 first time, 1 if already done elsewhere, -1 failure */
}

ts_err ts_crypto_sodium_ready(void)
{
    pthread_once(&sodium_once, sodium_setup);
    if (sodium_status < 0) {
        ts_log_error("crypto", "sodium_init failed");
        return TS_ERR_CRYPTO;
    }
    return TS_OK;
}

ts_err ts_crypto_openssl_fail(const char *what)
{
    char detail[256];
    unsigned long e = ERR_get_error();
    ERR_error_string_n(e, detail, sizeof(detail));
    ts_log_error("crypto", "%s failed openssl=\"%s\"", what, e ? detail : "no error queued");
    ERR_clear_error();
    return TS_ERR_CRYPTO;
}
