/*
 * tessera-gateway: the S3-compatible gateway and public share links.
 *
 *   tessera-gateway run [--listen HOST:PORT] [--store DIR] [--access GRANT | --access-file F]
 *                       [--access-key-id ID] [--secret-key S] [--public] [--domain D]
 *                       [--public-url URL] [--region R] [--ready-file F] [--connections-max N]
 *                       [--allow-register]
 *   tessera-gateway register --store DIR (--access GRANT | --access-file F) [--public]
 *                       [--access-key-id ID] [--secret-key S] [--public-url URL]
 *
 * `register` prints access_key_id=, secret_key= (and share_url= for --public with --public-url)
 * lines. `run` with --access serves that grant (single tenant; the credentials are printed when
 * generated) besides any registered in --store. Readiness: the ready file receives the base URL
 * once the port is bound, and GET /-/health answers "ok". Exit codes: 0 ok, 1 failure, 2 usage.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/fs.h"
#include "base/log.h"
#include "gw_creds.h"
#include "gw_http.h"
#include "gw_s3.h"

#define LOG "gw"
/* How often the main thread hands back transfer buffers idle that long (seconds). */
#define GW_TRIM_INTERVAL_S 30

struct args {
    const char *cmd, *listen, *store, *access, *access_file, *akid, *secret, *domain, *public_url,
        *region, *ready_file;
    unsigned connections_max;
    bool public_link, allow_register;
};

static int usage(void)
{
    fprintf(stderr,
            "usage:\n"
            "  tessera-gateway run [--listen HOST:PORT] [--store DIR]\n"
            "      [--access GRANT | --access-file FILE] [--access-key-id ID] [--secret-key S]\n"
            "      [--public] [--domain D] [--public-url URL] [--region R] [--ready-file FILE]\n"
            "      [--connections-max N] [--allow-register]\n"
            "  tessera-gateway register --store DIR (--access GRANT | --access-file FILE)\n"
            "      [--public] [--access-key-id ID] [--secret-key S] [--public-url URL]\n");
    return 2;
}

static int parse_args(int argc, char **argv, struct args *a)
{
    memset(a, 0, sizeof *a);
    a->listen = "127.0.0.1:7777";
    a->region = "us-east-1";
    if (argc < 2) {
        return -1;
    }
    a->cmd = argv[1];
    static const char *const names[] = {
        "--listen",     "--store",  "--access",     "--access-file", "--access-key-id",
        "--secret-key", "--domain", "--public-url", "--region",      "--ready-file"};
    for (int i = 2; i < argc; i++) {
        const char **slots[] = {&a->listen, &a->store,     &a->access, &a->access_file,
                                &a->akid,   &a->secret,    &a->domain, &a->public_url,
                                &a->region, &a->ready_file};
        bool matched = false;
        for (size_t n = 0; n < TS_ARRAY_LEN(names); n++) {
            if (strcmp(argv[i], names[n]) == 0 && i + 1 < argc) {
                *slots[n] = argv[++i];
                matched = true;
            }
        }
        if (matched) {
            continue;
        }
        if (strcmp(argv[i], "--public") == 0) {
            a->public_link = true;
        } else if (strcmp(argv[i], "--allow-register") == 0) {
            a->allow_register = true;
        } else if (strcmp(argv[i], "--connections-max") == 0 && i + 1 < argc) {
            char *end = NULL;
            long v = strtol(argv[++i], &end, 10);
            if (*end != 0 || v < 1 || v > 65536) {
                return -1;
            }
            a->connections_max = (unsigned)v;
        } else {
            return -1;
        }
    }
    return 0;
}

/* The grant text from --access or --access-file (trailing whitespace trimmed). */
static ts_err read_grant(const struct args *a, struct ts_buf *out)
{
    if (a->access != NULL) {
        return ts_buf_append_str(out, a->access);
    }
    ts_err err = ts_fs_read_all(a->access_file, TS_ACCESS_GRANT_TEXT_MAX, out);
    while (err == TS_OK && out->len > 0 &&
           (out->data[out->len - 1] == '\n' || out->data[out->len - 1] == ' ' ||
            out->data[out->len - 1] == '\r')) {
        ts_buf_truncate(out, out->len - 1);
    }
    return err == TS_OK ? ts_buf_reserve(out, 0) : err;
}

static void print_credentials(const char *akid, const char *secret, const struct args *a)
{
    printf("access_key_id=%s\nsecret_key=%s\n", akid, secret);
    if (a->public_url != NULL) {
        printf("endpoint=%s\n", a->public_url);
        if (a->public_link) {
            printf("share_url=%s/s/%s/\n", a->public_url, akid);
        }
    }
    fflush(stdout);
}

static int cmd_register(const struct args *a)
{
    if (a->store == NULL || (a->access == NULL) == (a->access_file == NULL)) {
        return usage();
    }
    struct gw_creds *creds = NULL;
    struct ts_buf grant;
    char akid[GW_ACCESS_KEY_ID_MAX + 1], secret[GW_SECRET_KEY_MAX + 1];
    ts_buf_init(&grant, TS_ACCESS_GRANT_TEXT_MAX + 1);
    ts_err err = read_grant(a, &grant);
    if (err == TS_OK) {
        err = gw_creds_open(a->store, &creds);
    }
    if (err == TS_OK) {
        err = gw_creds_register(creds, (const char *)grant.data, a->public_link, a->akid, a->secret,
                                akid, secret);
    }
    if (err == TS_OK) {
        print_credentials(akid, secret, a);
    } else {
        fprintf(stderr, "tessera-gateway: register failed: %s%s\n", ts_strerror(err),
                err == TS_ERR_MALFORMED ? " (is --access an access grant?)" : "");
    }
    ts_wipe(secret, sizeof secret);
    ts_buf_release_secret(&grant);
    gw_creds_free(creds);
    return err == TS_OK ? 0 : 1;
}

static ts_err parse_listen(const char *s, char *host, size_t cap, uint16_t *port)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || (size_t)(colon - s) >= cap) {
        return TS_ERR_CONFIG;
    }
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    char *end = NULL;
    long p = strtol(colon + 1, &end, 10);
    if (*end != 0 || p < 0 || p > 65535) {
        return TS_ERR_CONFIG;
    }
    *port = (uint16_t)p;
    return TS_OK;
}

static ts_err single_tenant(const struct args *a, struct gw_creds *creds)
{
    struct ts_buf grant;
    char akid[GW_ACCESS_KEY_ID_MAX + 1], secret[GW_SECRET_KEY_MAX + 1];
    ts_buf_init(&grant, TS_ACCESS_GRANT_TEXT_MAX + 1);
    ts_err err = read_grant(a, &grant);
    if (err == TS_OK) {
        err = gw_creds_register(creds, (const char *)grant.data, a->public_link, a->akid, a->secret,
                                akid, secret);
    }
    if (err == TS_OK && (a->akid == NULL || a->secret == NULL)) {
        print_credentials(akid, secret, a);
    }
    if (err != TS_OK) {
        fprintf(stderr, "tessera-gateway: --access: %s\n", ts_strerror(err));
    }
    ts_wipe(secret, sizeof secret);
    ts_buf_release_secret(&grant);
    return err;
}

/* Waits for a stop signal; meanwhile, every GW_TRIM_INTERVAL_S, hands back the upload and
 * download buffers idle for that long. */
static int wait_for_stop(const sigset_t *stop, struct gw_creds *creds)
{
    for (;;) {
        struct timespec interval = {GW_TRIM_INTERVAL_S, 0};
        int sig = sigtimedwait(stop, NULL, &interval);
        if (sig > 0) {
            return sig;
        }
        gw_creds_trim(creds, GW_TRIM_INTERVAL_S * 1000);
    }
}

static int cmd_run(const struct args *a)
{
    char host[64];
    struct gw_http_config hc = {host, 0, a->connections_max};
    if ((a->store == NULL && a->access == NULL && a->access_file == NULL) ||
        (a->access != NULL && a->access_file != NULL) ||
        parse_listen(a->listen, host, sizeof host, &hc.port) != TS_OK) {
        return usage();
    }
    struct gw_server srv = {NULL, a->domain, a->public_url, a->region, a->allow_register};
    struct gw_http *http = NULL;
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL); /* every thread inherits the mask */
    signal(SIGPIPE, SIG_IGN);
    ts_err err = gw_creds_open(a->store, &srv.creds);
    if (err == TS_OK && (a->access != NULL || a->access_file != NULL)) {
        err = single_tenant(a, srv.creds);
    }
    if (err == TS_OK) {
        err = gw_http_start(&hc, &srv, &http);
    }
    if (err == TS_OK) {
        char url[128];
        int n = snprintf(url, sizeof url, "http://%s:%u\n", host, gw_http_port(http));
        ts_log_info(LOG, "gateway listening url=http://%s:%u store=%s domain=%s", host,
                    gw_http_port(http), a->store ? a->store : "-", a->domain ? a->domain : "-");
        if (a->ready_file != NULL) {
            err = ts_fs_write_atomic(a->ready_file, url, (size_t)n, 0644);
        }
    }
    if (err == TS_OK) {
        int sig = wait_for_stop(&stop, srv.creds);
        ts_log_info(LOG, "stopping signal=%d", sig);
    } else {
        fprintf(stderr, "tessera-gateway: cannot start: %s\n", ts_strerror(err));
    }
    gw_http_stop(http);
    gw_creds_free(srv.creds);
    return err == TS_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct args a;
    if (parse_args(argc, argv, &a) != 0) {
        return usage();
    }
    if (strcmp(a.cmd, "run") == 0) {
        return cmd_run(&a);
    }
    if (strcmp(a.cmd, "register") == 0) {
        return cmd_register(&a);
    }
    return usage();
}
