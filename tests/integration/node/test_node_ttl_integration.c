/*
 * The TTL collector in a real tessera-node process (docs/node.md), 1 s ttl-interval. Four pieces
 * are uploaded (a node refuses a piece_expiration already past): one expiring in a minute, one
 * in 30 days, one without expiration, one two hours and a bit from now. The node is restarted with
 * its clock two hours ahead (TS_TEST_CLOCK_OFFSET_S, honoured by ts_time_now_s): only the first
 * piece disappears (within a few passes, polled with a deadline); the others still download. Usage:
 * test_node_ttl_integration <tessera-node>
 */
#include <dirent.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/base.h"
#include "crypto/ed25519.h"
#include "node_client.h"

#define OFFSET_S 7200
#define PIECES 4

static struct nc_sat sat;
static struct nc_node node;
static char root[64];

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAILED line %d: %s\n", __LINE__, #cond);                              \
            nc_node_dump_log(&node);                                                               \
            nc_node_stop(&node, SIGKILL);                                                          \
            fprintf(stderr, "node files kept in %s\n", root);                                      \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static int pieces_found;

static int count_fn(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)ftw;
    size_t n = strlen(path);
    pieces_found += type == FTW_F && n > 4 && strcmp(path + n - 4, ".sj1") == 0;
    return 0;
}

static int piece_files(void)
{
    char dir[128];
    snprintf(dir, sizeof dir, "%s/storage/blobs", root);
    pieces_found = 0;
    return nftw(dir, count_fn, 16, FTW_PHYS) == 0 ? pieces_found : -1;
}

/* A limit as the node's (shifted) clock expects it, with a piece expiration (0 = none). */
static int64_t clock_offset_s; /* the node's */

static struct ts_order_limit limit_at(enum ts_piece_action action, int i, int64_t expiration_s,
                                      const struct nc_piece_key *key)
{
    uint8_t pid[32] = {0x77, (uint8_t)i};
    struct ts_order_limit l =
        nc_limit(sat.identity, &sat.url.id, &node.url.id, action, pid, 4096, key);
    int64_t now = ts_time_now_s() + clock_offset_s;
    l.order_creation_s = now;
    l.order_expiration_s = now + 24 * 3600;
    l.piece_expiration_s = expiration_s;
    CHECK(ts_serial_new(l.order_expiration_s, l.serial) == TS_OK);
    CHECK(ts_order_limit_sign(&l, sat.identity) == TS_OK);
    return l;
}

static ts_err get(struct ts_rpc_pool *pool, int i, const struct nc_piece_key *key)
{
    uint8_t back[1000];
    char msg[256];
    struct ts_order_limit l = limit_at(TS_PIECE_ACTION_GET, i, 0, key);
    return nc_download(pool, &node.url, &l, key, 0, sizeof back, back, NULL, NULL, msg);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s <tessera-node>\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int64_t real_now = ts_time_now_s(); /* this process keeps the real clock */
    snprintf(root, sizeof root, "/tmp/ts-node-ttl-it-XXXXXX");
    CHECK(mkdtemp(root) != NULL);
    CHECK(nc_sat_start(&sat) == TS_OK);
    struct ts_identity *uplink = NULL;
    struct ts_rpc_pool *pool = NULL;
    struct nc_piece_key key;
    CHECK(ts_identity_create_ephemeral(&uplink) == TS_OK);
    CHECK(ts_ed25519_keypair(key.pub, key.priv) == TS_OK);
    CHECK(ts_rpc_pool_new(uplink, NULL, &pool) == TS_OK);
    const char *args[] = {"--ttl-interval=1s", "--ttl-grace=10m", NULL};
    CHECK(nc_node_start(&node, argv[1], root, &sat, args) == TS_OK);
    const int64_t expirations[PIECES] = {real_now + 60, real_now + 30 * 86400, 0,
                                         real_now + OFFSET_S + 5};
    uint8_t data[1000];
    memset(data, 0x5c, sizeof data);
    for (int i = 0; i < PIECES; i++) {
        char msg[256] = "";
        struct ts_piece_hash receipt;
        struct ts_order_limit l = limit_at(TS_PIECE_ACTION_PUT, i, expirations[i], &key);
        ts_err err = nc_upload(pool, &node.url, &l, &key, data, sizeof data, NULL, &receipt, msg);
        if (err != TS_OK) {
            fprintf(stderr, "upload %d: %s %s\n", i, ts_errname(err), msg);
        }
        CHECK(err == TS_OK);
    }
    usleep(1500 * 1000); /* a pass or two at the real time: nothing is due yet */
    CHECK(piece_files() == PIECES);
    int status = nc_node_stop(&node, SIGTERM);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* Two hours later, as far as the node knows. */
    char offset[32];
    snprintf(offset, sizeof offset, "%d", OFFSET_S);
    setenv("TS_TEST_CLOCK_OFFSET_S", offset, 1); /* inherited by the node only */
    CHECK(nc_node_start(&node, argv[1], root, &sat, args) == TS_OK);
    unsetenv("TS_TEST_CLOCK_OFFSET_S");
    clock_offset_s = OFFSET_S;
    /* The expired piece goes within a few 1 s passes; poll with a deadline. */
    int64_t deadline = ts_monotonic_ms() + 30000;
    while (piece_files() != PIECES - 1 && ts_monotonic_ms() < deadline) {
        usleep(100 * 1000);
    }
    CHECK(piece_files() == PIECES - 1);
    CHECK(get(pool, 0, &key) == TS_ERR_NOT_FOUND);
    for (int i = 1; i < PIECES; i++) {
        CHECK(get(pool, i, &key) == TS_OK);
    }
    /* Several more passes: nothing else goes (piece 3 expires within the grace). */
    usleep(2500 * 1000);
    CHECK(piece_files() == PIECES - 1);
    status = nc_node_stop(&node, SIGTERM);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ts_rpc_pool_free(pool);
    ts_identity_free(uplink);
    nc_sat_stop(&sat);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    CHECK(system(cmd) == 0);
    printf("PASS ttl: the expired piece was deleted, the other three kept\n");
    return 0;
}
