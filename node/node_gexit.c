/* Graceful exit commands of tessera-node (see node_gexit.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "gexit.pb-c.h"
#include "node_config.h"
#include "node_gexit.h"
#include "rpc/rpc.h"

#define CMD_EXIT "exit-satellite"
#define CMD_STATUS "exit-status"
#define ARGS_MAX 256

const char *node_gexit_state_name(enum node_gexit_state state)
{
    switch (state) {
    case NODE_GEXIT_NONE:
        return "none";
    case NODE_GEXIT_RUNNING:
        return "running";
    case NODE_GEXIT_SUCCEEDED:
        return "succeeded";
    case NODE_GEXIT_FAILED:
        return "failed";
    }
    return "unknown";
}

ts_err node_gexit_call(struct ts_rpc_pool *pool, const struct ts_node_url *sat, bool initiate,
                       struct node_gexit_status *out, char *msg, size_t msg_size)
{
    Tessera__Gexit__InitiateExitRequest ireq = TESSERA__GEXIT__INITIATE_EXIT_REQUEST__INIT;
    Tessera__Gexit__ExitStatusRequest sreq = TESSERA__GEXIT__EXIT_STATUS_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    memset(out, 0, sizeof *out);
    msg[0] = 0;
    ts_err err = ts_rpc_call(pool, sat, initiate ? NODE_GEXIT_METHOD_INITIATE
                                                 : NODE_GEXIT_METHOD_STATUS,
                             initiate ? &ireq.base : &sreq.base,
                             &tessera__gexit__exit_status__descriptor, &resp, msg, msg_size);
    if (err != TS_OK) {
        return err;
    }
    const Tessera__Gexit__ExitStatus *st = (const Tessera__Gexit__ExitStatus *)resp;
    if (st->state < TESSERA__GEXIT__EXIT_STATE__EXIT_NONE ||
        st->state > TESSERA__GEXIT__EXIT_STATE__EXIT_FAILED) {
        err = TS_ERR_PROTOCOL;
    } else {
        out->state = (enum node_gexit_state)st->state;
        out->initiated_at_s = st->initiated_at_s;
        out->completes_at_s = st->completes_at_s;
        out->finished_at_s = st->finished_at_s;
        out->online_score = st->online_score;
        snprintf(out->reason, sizeof out->reason, "%s", st->reason ? st->reason : "");
    }
    protobuf_c_message_free_unpacked(resp, NULL);
    return err;
}

bool node_gexit_is_command(const char *arg)
{
    return arg != NULL && (strcmp(arg, CMD_EXIT) == 0 || strcmp(arg, CMD_STATUS) == 0);
}

/* Splits --satellite out of argv (the rest goes to node_config_load). */
static int split_args(int argc, char **argv, char **rest, const char **satellite)
{
    int n = 0;
    rest[n++] = argv[0];
    for (int i = 2; i < argc && n < ARGS_MAX - 1; i++) {
        if (strcmp(argv[i], "--satellite") == 0 && i + 1 < argc) {
            *satellite = argv[++i];
        } else if (strncmp(argv[i], "--satellite=", 12) == 0) {
            *satellite = argv[i] + 12;
        } else {
            rest[n++] = argv[i];
        }
    }
    rest[n] = NULL;
    return n;
}

static void print_status(const char *sat, const struct node_gexit_status *st)
{
    printf("satellite %s exit %s initiated_at=%lld completes_at=%lld finished_at=%lld "
           "online_score=%.3f%s%s\n",
           sat, node_gexit_state_name(st->state), (long long)st->initiated_at_s,
           (long long)st->completes_at_s, (long long)st->finished_at_s, st->online_score,
           st->reason[0] ? " reason=" : "", st->reason);
}

/* Calls every selected trusted satellite; returns the exit status. */
static int run(const struct node_config *cfg, const char *satellite, bool initiate)
{
    struct ts_identity *id = NULL;
    struct ts_rpc_pool *pool = NULL;
    ts_err err = ts_identity_load(cfg->identity_dir, &id);
    if (err == TS_OK) {
        err = ts_rpc_pool_new(id, NULL, &pool);
    }
    if (err != TS_OK) {
        fprintf(stderr, "tessera-node: cannot load the identity in %s: %s\n", cfg->identity_dir,
                ts_strerror(err));
        ts_identity_free(id);
        return 2;
    }
    int status = 0, matched = 0;
    for (int i = 0; i < cfg->trusted_count; i++) {
        char text[TS_NODE_ID_TEXT_MAX], msg[TS_RPC_ERROR_MESSAGE_MAX];
        if (ts_node_id_to_string(&cfg->trusted[i].id, text, sizeof text) != TS_OK ||
            (satellite != NULL && strcmp(satellite, text) != 0)) {
            continue;
        }
        matched++;
        struct node_gexit_status st;
        err = node_gexit_call(pool, &cfg->trusted[i], initiate, &st, msg, sizeof msg);
        if (err == TS_OK) {
            print_status(text, &st);
        } else {
            fprintf(stderr, "tessera-node: satellite %s: %s%s%s\n", text, ts_strerror(err),
                    msg[0] ? ": " : "", msg);
            status = 1;
        }
    }
    if (matched == 0) {
        fprintf(stderr, "tessera-node: %s is not a trusted satellite of this node\n",
                satellite ? satellite : "(none)");
        status = 2;
    }
    ts_rpc_pool_free(pool);
    ts_identity_free(id);
    return status;
}

int node_gexit_main(int argc, char **argv)
{
    static struct node_config cfg;
    char *rest[ARGS_MAX];
    const char *satellite = NULL;
    bool initiate = strcmp(argv[1], CMD_EXIT) == 0;
    int n = split_args(argc, argv, rest, &satellite);
    char msg[512] = "";
    if (initiate && satellite == NULL) {
        fprintf(stderr, "usage: tessera-node %s --satellite ID [--config FILE | node flags]\n",
                CMD_EXIT);
        return 2;
    }
    if (node_config_load(&cfg, n, rest, msg, sizeof msg) != TS_OK) {
        fprintf(stderr, "tessera-node: %s\n", msg);
        return 2;
    }
    return run(&cfg, satellite, initiate);
}
