/* access restrict / share (see cli_restrict.h). */
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "cli/cli.h"
#include "cli/cli_args.h"
#include "cli/cli_exit.h"
#include "cli/cli_parse.h"
#include "cli/cli_restrict.h"
#include "cli/cli_session.h"

enum {
    O_READONLY,
    O_WRITEONLY,
    O_READWRITE,
    O_NO_READS,
    O_NO_WRITES,
    O_NO_LISTS,
    O_NO_DELETES,
    O_PREFIX,
    O_NOT_BEFORE,
    O_NOT_AFTER,
    O_ACCESS,
    O_CONFIG_DIR,
    O_COUNT
};

static const struct cli_opt restrict_opts[O_COUNT] = {
    [O_READONLY] = {"readonly", 0, CLI_FLAG, NULL, "allow only downloads and listing"},
    [O_WRITEONLY] = {"writeonly", 0, CLI_FLAG, NULL, "allow only uploads and deletes"},
    [O_READWRITE] = {"readwrite", 0, CLI_FLAG, NULL,
                     "allow everything (share: default is "
                     "read-only)"},
    [O_NO_READS] = {"disallow-reads", 0, CLI_FLAG, NULL, "forbid downloads"},
    [O_NO_WRITES] = {"disallow-writes", 0, CLI_FLAG, NULL, "forbid uploads"},
    [O_NO_LISTS] = {"disallow-lists", 0, CLI_FLAG, NULL, "forbid listing"},
    [O_NO_DELETES] = {"disallow-deletes", 0, CLI_FLAG, NULL, "forbid deletes"},
    [O_PREFIX] = {"prefix", 0, CLI_REPEAT, "ts://B/P", "only this bucket or key prefix"},
    [O_NOT_BEFORE] = {"not-before", 0, CLI_VALUE, "T", "valid from T (RFC 3339, +1h, now)"},
    [O_NOT_AFTER] = {"not-after", 0, CLI_VALUE, "T", "valid until T (RFC 3339, +7d, now)"},
    [O_ACCESS] = CLI_OPT_ACCESS,
    [O_CONFIG_DIR] = CLI_OPT_CONFIG_DIR,
};

static const char TIME_NOTES[] =
    "Times: RFC 3339 (2026-12-01T00:00:00Z), relative to now (+1h, +7d, +1h30m, -5m) or \"now\".\n"
    "The new grant is printed on stdout; nothing is sent to the satellite. Prefixes are whole\n"
    "path components: ts://photos/2024 shares ts://photos/2024/... only.\n";

static const struct cli_spec restrict_spec = {
    .usage = "access restrict [options] [ts://bucket[/prefix] ...]",
    .summary = "Derive a restricted access grant from an access, offline.",
    .opts = restrict_opts,
    .opt_count = O_COUNT,
    .positional_max = CLI_OPT_VALUES_MAX,
    .notes = TIME_NOTES,
};

static const struct cli_spec share_spec = {
    .usage = "share [options] ts://bucket[/prefix] ...",
    .summary = "Share prefixes: print a restricted grant (read-only unless told otherwise).",
    .opts = restrict_opts,
    .opt_count = O_COUNT,
    .positional_max = CLI_OPT_VALUES_MAX,
    .notes = TIME_NOTES,
};

/* Permissions from the flags; -1 (after a message) when they contradict or allow nothing. */
static int permissions(const struct cli_args *a, bool share, struct ul_permission *perm)
{
    int modes = a->set[O_READONLY] + a->set[O_WRITEONLY] + a->set[O_READWRITE];
    if (modes > 1) {
        fprintf(stderr, "tessera: choose one of --readonly, --writeonly, --readwrite\n");
        return -1;
    }
    bool ro = a->set[O_READONLY] || (share && modes == 0);
    bool wo = a->set[O_WRITEONLY];
    perm->allow_download = !wo && !a->set[O_NO_READS];
    perm->allow_list = !wo && !a->set[O_NO_LISTS];
    perm->allow_upload = !ro && !a->set[O_NO_WRITES];
    perm->allow_delete = !ro && !a->set[O_NO_DELETES];
    if (!perm->allow_download && !perm->allow_list && !perm->allow_upload && !perm->allow_delete) {
        fprintf(stderr, "tessera: these options allow nothing\n");
        return -1;
    }
    return 0;
}

static int times(const struct cli_args *a, struct ul_permission *perm)
{
    int64_t now = ts_time_now_s();
    const char *nb = cli_args_get(a, O_NOT_BEFORE), *na = cli_args_get(a, O_NOT_AFTER);
    if (nb != NULL && cli_time_parse(nb, now, &perm->not_before_s) != TS_OK) {
        fprintf(stderr, "tessera: --not-before: cannot read the time \"%s\"\n", nb);
        return -1;
    }
    if (na != NULL && cli_time_parse(na, now, &perm->not_after_s) != TS_OK) {
        fprintf(stderr, "tessera: --not-after: cannot read the time \"%s\"\n", na);
        return -1;
    }
    if (na != NULL && perm->not_after_s < now) {
        fprintf(stderr, "tessera: --not-after is in the past: the grant would never work\n");
        return -1;
    }
    if (nb != NULL && na != NULL && perm->not_after_s < perm->not_before_s) {
        fprintf(stderr, "tessera: --not-after is before --not-before\n");
        return -1;
    }
    return 0;
}

/* Prefixes from --prefix and positional arguments into locs/out. Returns the count or -1. */
static int prefixes(const struct cli_args *a, struct cli_loc *locs, struct ul_share_prefix *out)
{
    size_t n = 0;
    size_t total = a->value_count[O_PREFIX] + a->positional_count;
    if (total > TS_CAVEAT_PATHS_MAX) {
        fprintf(stderr, "tessera: at most %d prefixes\n", TS_CAVEAT_PATHS_MAX);
        return -1;
    }
    for (size_t i = 0; i < total; i++) {
        const char *arg = i < a->value_count[O_PREFIX]
                              ? a->value[O_PREFIX][i]
                              : a->positional[i - a->value_count[O_PREFIX]];
        char why[160] = "";
        if (cli_loc_parse(arg, &locs[n], why, sizeof why) != TS_OK ||
            locs[n].kind != CLI_LOC_REMOTE) {
            fprintf(stderr, "tessera: prefix \"%s\": %s\n", arg,
                    why[0] ? why : "not a ts://bucket/prefix URL");
            return -1;
        }
        out[n] = (struct ul_share_prefix){.bucket = locs[n].bucket, .prefix = locs[n].key};
        n++;
    }
    return (int)n;
}

static void summary(const struct ul_permission *p, const struct cli_loc *locs, int n)
{
    fprintf(stderr, "allowed:%s%s%s%s", p->allow_download ? " download" : "",
            p->allow_upload ? " upload" : "", p->allow_list ? " list" : "",
            p->allow_delete ? " delete" : "");
    for (int i = 0; i < n; i++) {
        fprintf(stderr, "%s ts://%s/%s", i == 0 ? "; under" : ",", locs[i].bucket, locs[i].key);
    }
    char t[40];
    if (p->not_before_s != 0) {
        cli_time_format(p->not_before_s, t, sizeof t);
        fprintf(stderr, "; from %s", t);
    }
    if (p->not_after_s != 0) {
        cli_time_format(p->not_after_s, t, sizeof t);
        fprintf(stderr, "; until %s", t);
    }
    fprintf(stderr, "\n");
}

int cli_restrict_main(int argc, char **argv, int first, bool share)
{
    return cli_restrict_run(argc, argv, first, share, NULL, NULL);
}

int cli_restrict_run(int argc, char **argv, int first, bool share, cli_restrict_sink sink,
                     void *cls)
{
    const struct cli_spec *spec = share ? &share_spec : &restrict_spec;
    struct cli_args a;
    int rc;
    if (!cli_args_run(spec, argc, argv, first, &a, &rc)) {
        return rc;
    }
    struct ul_permission perm = {0};
    struct cli_loc locs[TS_CAVEAT_PATHS_MAX];
    struct ul_share_prefix pre[TS_CAVEAT_PATHS_MAX];
    int n = -1;
    if (permissions(&a, share, &perm) == 0 && times(&a, &perm) == 0) {
        n = prefixes(&a, locs, pre);
    }
    if (n == 0 && share) {
        fprintf(stderr, "tessera: share needs at least one ts://bucket[/prefix]\n");
        n = -1;
    }
    if (n < 0) {
        return CLI_EXIT_USAGE;
    }
    struct cli_session s;
    rc = cli_session_open(&s, cli_args_get(&a, O_CONFIG_DIR), cli_args_get(&a, O_ACCESS), false);
    if (rc != CLI_EXIT_OK) {
        return rc;
    }
    struct ul_access *out = NULL;
    char *text = NULL;
    ts_err err = ul_access_share(s.access, &perm, pre, (size_t)n, &out);
    if (err == TS_OK) {
        err = ul_access_serialize(out, &text);
    }
    if (err != TS_OK) {
        rc = cli_session_fail(&s, err, share ? "sharing" : "restricting the access");
    } else {
        if (sink != NULL) {
            rc = sink(text, locs, n, cls);
        } else {
            printf("%s\n", text);
        }
        summary(&perm, locs, n);
        ts_wipe(text, strlen(text));
    }
    ul_free(text);
    ul_access_free(out);
    cli_session_close(&s);
    return rc;
}
