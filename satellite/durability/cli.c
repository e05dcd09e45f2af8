/* `tessera-satellite status [--json] --dir D` and
 * `tessera-satellite durability --rs k/m/o/n --churn R [--interval-h T]` (see service.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "satellite/durability/model.h"
#include "satellite/durability/service.h"
#include "satellite/metainfo/redundancy.h"
#include "satellite/peer.h"

#define DEFAULT_INTERVAL_H 24.0

static int usage(void)
{
    fprintf(stderr, "usage:\n"
                    "  tessera-satellite status [--json] --dir D\n"
                    "  tessera-satellite durability [--rs k/m/o/n] [--churn R] [--interval-h T]\n"
                    "    R: annual node churn (fraction leaving per year, default 0.3)\n"
                    "    T: hours from a piece's loss to its repair (default 24)\n");
    return 2;
}

static int cmd_status(int argc, char **argv)
{
    const char *dir = getenv("TESSERA_SATELLITE_DIR");
    bool json = false;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else {
            return usage();
        }
    }
    if (dir == NULL) {
        return usage();
    }
    struct sat_config *cfg = calloc(1, sizeof *cfg);
    struct ts_db *db = NULL;
    ts_err err = cfg == NULL ? TS_ERR_NOMEM : sat_peer_open_db(dir, cfg, &db);
    if (err == TS_OK) {
        err = sat_durability_status_print(db, &cfg->durability, json, stdout);
    }
    ts_db_close(db);
    free(cfg);
    if (err != TS_OK) {
        fprintf(stderr, "tessera-satellite: status: %s\n", ts_strerror(err));
        return 1;
    }
    return 0;
}

static void print_row(const char *label, const struct sat_redundancy *r, double churn,
                      double interval_h)
{
    struct sat_durability_params p = {r->required, r->repair, r->success,
                                      r->total,    churn,     interval_h};
    double loss = 0.0, repairs = 0.0;
    if (sat_durability_annual_loss(&p, &loss) != TS_OK ||
        sat_durability_annual_repairs(&p, &repairs) != TS_OK) {
        printf("  %-16s invalid parameters\n", label);
        return;
    }
    char rs[SAT_REDUNDANCY_TEXT_MAX];
    snprintf(rs, sizeof rs, "%d/%d/%d/%d", r->required, r->repair, r->success, r->total);
    printf("  %-16s %-14s %12.3e %8.2f %10.2f %8.2f\n", label, rs, loss, sat_durability_nines(loss),
           repairs, (double)r->success / r->required);
}

static void print_model(const struct sat_redundancy *user, double churn, double interval_h)
{
    static const struct {
        const char *label, *rs;
    } ROWS[] = {
        {"seed", "29/52/80/110-256B"},
        {"storj release", "29/35/80/110-256B"},
        {"storj current", "29/54/80/110-256B"},
        {"local", "4/6/8/10-256B"},
    };
    printf("annual churn R=%.3f, repair interval T=%.1f h, per-piece loss per interval "
           "p=%.3e\n",
           churn, interval_h, sat_durability_piece_failure(churn, interval_h));
    printf("  %-16s %-14s %12s %8s %10s %8s\n", "", "k/m/o/n", "annual loss", "nines", "repairs/yr",
           "expand");
    if (user != NULL) {
        print_row("requested", user, churn, interval_h);
    }
    for (size_t i = 0; i < TS_ARRAY_LEN(ROWS); i++) {
        struct sat_redundancy r;
        if (sat_redundancy_parse(ROWS[i].rs, &r) == TS_OK) {
            print_row(ROWS[i].label, &r, churn, interval_h);
        }
    }
    printf("whitepaper check (Poisson, 10%% monthly churn, no repair within the month):\n");
    static const int WP[][2] = {{20, 40}, {32, 64}};
    static const char *const WP_PAPER[] = {"99.9999998%", "99.99999999999%"};
    for (size_t i = 0; i < TS_ARRAY_LEN(WP); i++) {
        double loss = sat_durability_poisson_loss(WP[i][0], WP[i][1], 0.1);
        printf("  k=%d n=%d: loss %.3e per month, durability %.13f%% (paper: %s)\n", WP[i][0],
               WP[i][1], loss, 100.0 * (1.0 - loss), WP_PAPER[i]);
    }
}

static int cmd_durability(int argc, char **argv)
{
    struct sat_redundancy user;
    bool have_user = false;
    double churn = 0.3, interval_h = DEFAULT_INTERVAL_H;
    for (int i = 2; i + 1 < argc; i += 2) {
        char *end = NULL;
        if (strcmp(argv[i], "--rs") == 0) {
            char text[64];
            snprintf(text, sizeof text, "%s%s", argv[i + 1],
                     strchr(argv[i + 1], '-') != NULL ? "" : "-256B");
            if (sat_redundancy_parse(text, &user) != TS_OK) {
                fprintf(stderr, "tessera-satellite: --rs wants k/m/o/n with k<=m<=o<=n\n");
                return 2;
            }
            have_user = true;
        } else if (strcmp(argv[i], "--churn") == 0) {
            churn = strtod(argv[i + 1], &end);
            if (*end != 0 || !(churn >= 0.0 && churn < 1.0)) {
                return usage();
            }
        } else if (strcmp(argv[i], "--interval-h") == 0) {
            interval_h = strtod(argv[i + 1], &end);
            if (*end != 0 || !(interval_h > 0.0 && interval_h <= SAT_DURABILITY_HOURS_PER_YEAR)) {
                return usage();
            }
        } else {
            return usage();
        }
    }
    if (argc % 2 != 0) {
        return usage();
    }
    print_model(have_user ? &user : NULL, churn, interval_h);
    return 0;
}

int sat_durability_cli(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "status") == 0) {
        return cmd_status(argc, argv);
    }
    if (argc >= 2 && strcmp(argv[1], "durability") == 0) {
        return cmd_durability(argc, argv);
    }
    return usage();
}
