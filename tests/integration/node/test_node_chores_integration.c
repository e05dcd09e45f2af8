/*
 * Integration test of tessera-node's chores with a real node process: the stand-in satellite of
 * node_client.c answers CheckIn (pinging the node back over mutual TLS) and SettlementWithWindow.
 * Orders of a finished hour window are written into the node's storage dir before it starts; the
 * satellite fails the first settlement attempt, so the node must send the window again on its next
 * pass and then archive it. Intervals are one second. Usage: test_node_chores_integration <node>
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/base.h"
#include "base/fs.h"
#include "node_client.h"
#include "node_orders.h"

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

static int count_files(const char *sub)
{
    char path[256];
    snprintf(path, sizeof path, "%s/storage/orders/%s", root, sub);
    DIR *d = opendir(path);
    int n = 0;
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }
    if (d != NULL) {
        closedir(d);
    }
    return n;
}

/* Writes count orders of a window two hours ago, as earlier transfers would have left them. */
static void write_orders(const struct ts_node_id *node_id, int count)
{
    char storage[128];
    snprintf(storage, sizeof storage, "%s/storage", root);
    struct node_orders_store *st = NULL;
    CHECK(node_orders_store_open(storage, &st) == TS_OK);
    int64_t now = ts_time_now_s();
    for (int i = 0; i < count; i++) {
        struct ts_order_limit l;
        memset(&l, 0, sizeof l);
        l.order_creation_s = now - now % 3600 - 2 * 3600 + i;
        l.order_expiration_s = now + 24 * 3600;
        CHECK(ts_serial_new(l.order_expiration_s, l.serial) == TS_OK);
        l.satellite_id = sat.url.id;
        l.storage_node_id = *node_id;
        l.piece_id[0] = (uint8_t)i;
        l.limit_bytes = 1 << 20;
        l.action = TS_PIECE_ACTION_GET;
        CHECK(ts_order_limit_sign(&l, sat.identity) == TS_OK);
        struct ts_order o;
        memset(&o, 0, sizeof o);
        memcpy(o.serial, l.serial, TS_SERIAL_SIZE);
        o.amount = 4096;
        CHECK(node_orders_store_add(st, &l, &o) == TS_OK);
    }
    node_orders_store_free(st);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s <tessera-node>\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    snprintf(root, sizeof root, "/tmp/ts-node-chores-it-XXXXXX");
    CHECK(mkdtemp(root) != NULL);
    CHECK(nc_sat_start(&sat) == TS_OK);
    /* Start once to create the identity and storage dir, then add orders while it is stopped. */
    const char *quiet[] = {"--checkin-interval=3600", "--settlement-interval=3600", NULL};
    CHECK(nc_node_start(&node, argv[1], root, &sat, quiet) == TS_OK);
    CHECK(WIFEXITED(nc_node_stop(&node, SIGTERM)));
    write_orders(&node.url.id, 5);
    CHECK(count_files("unsent") == 1);
    pthread_mutex_lock(&sat.rec.mu);
    sat.rec.settle_fail_next = 1;
    int checkins_before = sat.rec.checkins;
    pthread_mutex_unlock(&sat.rec.mu);
    CHECK(checkins_before >= 1);

    const char *fast[] = {"--checkin-interval=1", "--settlement-interval=1",
                          "--settlement-delay=0", "--wallet=0x00000000000000000000000000000000000000aa",
                          "--email=op@example.org", NULL};
    CHECK(nc_node_start(&node, argv[1], root, &sat, fast) == TS_OK);
    struct nc_sat_record r;
    int64_t deadline = ts_monotonic_ms() + 60000;
    do {
        usleep(20000);
        nc_sat_record_get(&sat, &r);
    } while ((r.pings_ok < checkins_before + 2 || r.windows_count < 1 ||
              count_files("archive") < 1) &&
             ts_monotonic_ms() < deadline);
    /* Check-ins: repeated every second, each pinged back successfully at the claimed address. */
    CHECK(r.pings_ok >= checkins_before + 2);
    CHECK(r.pings_failed == 0);
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1:%u", node.url.port);
    CHECK(strcmp(r.address, want) == 0);
    CHECK(strcmp(r.email, "op@example.org") == 0);
    CHECK(strcmp(r.wallet, "0x00000000000000000000000000000000000000aa") == 0);
    CHECK(r.free_disk_bytes > 0 && r.free_disk_bytes <= 64 << 20);
    printf("ok check-ins with ping-back: %d\n", r.pings_ok);
    /* Settlement: the failed attempt and the re-send both carried the 5 orders; counted once. */
    CHECK(r.windows_count == 1);
    CHECK(r.window_items[0] == 5);
    CHECK(r.items_received == 10);
    CHECK(count_files("unsent") == 0);
    CHECK(count_files("archive") == 1);
    printf("ok settlement re-sent after a failure, then archived\n");

    int status = nc_node_stop(&node, SIGTERM);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    nc_sat_stop(&sat);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    CHECK(system(cmd) == 0);
    printf("ok node chores integration\n");
    return 0;
}
