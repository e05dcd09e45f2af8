/* tessera cp / mv: copy between local files (or stdin/stdout) and objects, or between objects;
 * -r walks a directory or an object prefix. mv copies, then deletes the source. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "base/fs.h"
#include "cli/cli.h"
#include "cli/cli_args.h"
#include "cli/cli_exit.h"
#include "cli/cli_parse.h"
#include "cli/cli_session.h"
#include "cli/cli_transfer.h"

#define WALK_DEPTH_MAX 64 /* directory levels a recursive upload descends */

enum {
    P_RECURSIVE,
    P_RANGE,
    P_PARALLELISM,
    P_EXPIRES,
    P_METADATA,
    P_META,
    P_NO_PROGRESS,
    P_ACCESS,
    P_CONFIG_DIR,
    P_COUNT
};
static const struct cli_opt cp_opts[P_COUNT] = {
    [P_RECURSIVE] = {"recursive", 'r', CLI_FLAG, NULL, "copy a directory or an object prefix"},
    [P_RANGE] = {"range", 0, CLI_VALUE, "R",
                 "download only bytes START-END (or START-, -N, "
                 "bytes=...)"},
    [P_PARALLELISM] = {"parallelism", 'p', CLI_VALUE, "N",
                       "segments uploaded at once, 1-4 "
                       "(default 2)"},
    [P_EXPIRES] = {"expires", 0, CLI_VALUE, "T", "the object expires at T (RFC 3339, +7d)"},
    [P_METADATA] = {"metadata", 0, CLI_VALUE, "JSON", "user metadata {\"key\":\"value\",...}"},
    [P_META] = {"meta", 0, CLI_REPEAT, "K=V", "one user metadata entry"},
    [P_NO_PROGRESS] = {"no-progress", 0, CLI_FLAG, NULL, "no progress bar"},
    [P_ACCESS] = CLI_OPT_ACCESS,
    [P_CONFIG_DIR] = CLI_OPT_CONFIG_DIR,
};
static const struct cli_spec cp_spec = {
    .usage = "cp SRC DST [options]",
    .summary = "Copy a file to an object, an object to a file, or an object to an object.",
    .opts = cp_opts,
    .opt_count = P_COUNT,
    .positional_min = 2,
    .positional_max = 2,
    .notes = "SRC and DST are ts://bucket/key URLs, local paths, or - for stdin/stdout. A DST\n"
             "ending in '/' (or an existing directory) receives the source's last name. With -r,\n"
             "a directory's files land under the DST prefix with their relative paths, and the\n"
             "objects under a prefix land in the DST directory. Object to object copies are made\n"
             "by the satellite (no data crosses this machine; --metadata/--meta replace the\n"
             "metadata) unless --expires is given. A progress bar (bytes, rate, ETA) is drawn\n"
             "on stderr when it is a terminal.\n",
};
static const struct cli_spec mv_spec = {
    .usage = "mv SRC DST [options]",
    .summary = "Move: copy like cp (one object or file), then delete the source.",
    .opts = cp_opts,
    .opt_count = P_COUNT,
    .positional_min = 2,
    .positional_max = 2,
    .notes = "An object moved to another object is renamed on the satellite (no data moves);\n"
             "with --metadata/--meta it is copied there with the new metadata, with --expires\n"
             "copied through this machine, and the source deleted only if the copy succeeded.\n"
             "A file is uploaded (or an object downloaded), then the source is deleted.\n",
};

struct cp {
    struct cli_args a;
    struct cli_loc src, dst;
    struct cli_session s;
    struct cli_transfer t;
    struct cli_meta meta;
    int failures;     /* recursive copies: entries that failed or were skipped */
    bool source_gone; /* mv: the move itself removed the source */
};

/* The last path component of p (ignoring trailing '/'), into out. */
static void last_name(const char *p, char *out, size_t size)
{
    size_t end = strlen(p);
    while (end > 1 && p[end - 1] == '/') {
        end--;
    }
    size_t start = end;
    while (start > 0 && p[start - 1] != '/') {
        start--;
    }
    snprintf(out, size, "%.*s", (int)(end - start), p + start);
}

/* dir + name, with a '/' between when dir is non-empty and lacks one. -1 when too long. */
static int join(char *out, size_t size, const char *dir, const char *name)
{
    size_t n = strlen(dir);
    int w = snprintf(out, size, "%s%s%s", dir, n > 0 && dir[n - 1] != '/' ? "/" : "", name);
    return w < 0 || (size_t)w >= size ? -1 : 0;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- Options into the transfer ---- */

static int upload_options(struct cp *c)
{
    const char *v;
    char why[160] = "";
    if ((v = cli_args_get(&c->a, P_PARALLELISM)) != NULL) {
        char *end = NULL;
        long n = strtol(v, &end, 10);
        if (end == v || *end != 0 || n < 1 || n > 4) {
            fprintf(stderr, "tessera: --parallelism takes 1 to 4\n");
            return -1;
        }
        c->t.upload.parallelism = (int)n;
    }
    if ((v = cli_args_get(&c->a, P_EXPIRES)) != NULL) {
        int64_t now = ts_time_now_s();
        if (cli_time_parse(v, now, &c->t.upload.expires_s) != TS_OK ||
            c->t.upload.expires_s <= now) {
            fprintf(stderr, "tessera: --expires: \"%s\" is not a future time\n", v);
            return -1;
        }
    }
    if ((v = cli_args_get(&c->a, P_METADATA)) != NULL &&
        cli_meta_add_json(&c->meta, v, why, sizeof why) != TS_OK) {
        fprintf(stderr, "tessera: --metadata: %s\n", why);
        return -1;
    }
    for (size_t i = 0; i < c->a.value_count[P_META]; i++) {
        if (cli_meta_add_pair(&c->meta, c->a.value[P_META][i], why, sizeof why) != TS_OK) {
            fprintf(stderr, "tessera: --meta \"%s\": %s\n", c->a.value[P_META][i], why);
            return -1;
        }
    }
    for (size_t i = 0; i < c->meta.count; i++) {
        c->t.meta[i] = (struct ul_metadata_entry){.key = c->meta.key[i], .value = c->meta.value[i]};
    }
    c->t.meta_given = c->meta.count > 0;
    c->t.upload.metadata = c->t.meta;
    c->t.upload.metadata_count = c->meta.count;
    return 0;
}

/* Checks the combination of SRC, DST and options; -1 after a message. */
static int check_combination(struct cp *c, bool move)
{
    bool rec = c->a.set[P_RECURSIVE];
    const char *range = cli_args_get(&c->a, P_RANGE);
    if (c->src.kind != CLI_LOC_REMOTE && c->dst.kind != CLI_LOC_REMOTE) {
        fprintf(stderr, "tessera: one of SRC and DST must be a ts://bucket/key URL\n");
        return -1;
    }
    if (rec && (c->src.kind == CLI_LOC_STDIO || c->dst.kind == CLI_LOC_STDIO || move)) {
        fprintf(stderr, "tessera: -r copies directories and prefixes, not stdin/stdout%s\n",
                move ? "; mv moves one object or file" : "");
        return -1;
    }
    if (range != NULL) {
        if (c->src.kind != CLI_LOC_REMOTE || c->dst.kind == CLI_LOC_REMOTE || rec || move) {
            fprintf(stderr, "tessera: --range applies to downloading one object\n");
            return -1;
        }
        if (cli_range_parse(range, &c->t.range) != TS_OK) {
            fprintf(stderr,
                    "tessera: --range \"%s\": expected START-END, START-, -N or "
                    "bytes=START-END\n",
                    range);
            return -1;
        }
        c->t.range_given = true;
    }
    if (c->src.kind == CLI_LOC_REMOTE && !rec &&
        (c->src.key[0] == 0 || c->src.key[strlen(c->src.key) - 1] == '/')) {
        fprintf(stderr, "tessera: \"ts://%s/%s\" names a prefix, not an object (use -r)\n",
                c->src.bucket, c->src.key);
        return -1;
    }
    if (c->src.kind == CLI_LOC_REMOTE && c->dst.kind == CLI_LOC_REMOTE &&
        strcmp(c->src.bucket, c->dst.bucket) == 0 && strcmp(c->src.key, c->dst.key) == 0) {
        fprintf(stderr, "tessera: source and destination are the same object\n");
        return -1;
    }
    if (move && c->src.kind == CLI_LOC_STDIO) {
        fprintf(stderr, "tessera: mv cannot move stdin\n");
        return -1;
    }
    return 0;
}

/* ---- One entry ---- */

/* Upload of one local file (NULL = stdin) to the DST URL, naming the object as cp does. */
static int upload_one(struct cp *c, const char *path)
{
    char key[TS_OBJECT_KEY_MAX + 1], name[PATH_MAX];
    const char *k = c->dst.key;
    if (k[0] == 0 || k[strlen(k) - 1] == '/') {
        if (path == NULL) {
            fprintf(stderr, "tessera: name the object to write stdin to (ts://bucket/key)\n");
            return CLI_EXIT_USAGE;
        }
        last_name(path, name, sizeof name);
        if (join(key, sizeof key, k, name) != 0) {
            fprintf(stderr, "tessera: the object key would exceed 1024 bytes\n");
            return CLI_EXIT_USAGE;
        }
        k = key;
    }
    return cli_upload_file(&c->t, path, c->dst.bucket, k);
}

static int download_one(struct cp *c)
{
    char path[PATH_MAX], name[PATH_MAX];
    if (c->dst.kind == CLI_LOC_STDIO) {
        return cli_download_file(&c->t, c->src.bucket, c->src.key, NULL);
    }
    const char *p = c->dst.path;
    if (p[strlen(p) - 1] == '/' || is_dir(p)) {
        last_name(c->src.key, name, sizeof name);
        if (join(path, sizeof path, p, name) != 0) {
            fprintf(stderr, "tessera: the destination path is too long\n");
            return CLI_EXIT_USAGE;
        }
        p = path;
    }
    return cli_download_file(&c->t, c->src.bucket, c->src.key, p);
}

static int copy_one(struct cp *c, bool move)
{
    char key[TS_OBJECT_KEY_MAX + 1], name[TS_OBJECT_KEY_MAX + 1];
    const char *k = c->dst.key;
    if (k[0] == 0 || k[strlen(k) - 1] == '/') {
        last_name(c->src.key, name, sizeof name);
        if (join(key, sizeof key, k, name) != 0) {
            fprintf(stderr, "tessera: the object key would exceed 1024 bytes\n");
            return CLI_EXIT_USAGE;
        }
        k = key;
    }
    if (move) {
        return cli_move_object(&c->t, c->src.bucket, c->src.key, c->dst.bucket, k, &c->source_gone);
    }
    return cli_copy_object(&c->t, c->src.bucket, c->src.key, c->dst.bucket, k);
}

/* ---- Recursive: local directory -> prefix ---- */

/* Uploads every file under dir (relative path rel, "" at the top) below the DST prefix. */
static int walk(struct cp *c, const char *dir, const char *rel, int depth)
{
    if (depth > WALK_DEPTH_MAX) {
        fprintf(stderr, "tessera: \"%s\": more than %d directory levels, skipped\n", dir,
                WALK_DEPTH_MAX);
        c->failures++;
        return CLI_EXIT_OK;
    }
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "tessera: cannot read directory \"%s\": %s\n", dir, strerror(errno));
        return errno == ENOENT ? CLI_EXIT_NOT_FOUND : CLI_EXIT_ERROR;
    }
    int rc = CLI_EXIT_OK;
    struct dirent *e;
    while (rc == CLI_EXIT_OK && (e = readdir(d)) != NULL) {
        char path[PATH_MAX], sub[TS_OBJECT_KEY_MAX + 1], key[TS_OBJECT_KEY_MAX + 1];
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        if (join(path, sizeof path, dir, e->d_name) != 0 ||
            join(sub, sizeof sub, rel, e->d_name) != 0 || join(key, sizeof key, c->dst.key, sub)) {
            fprintf(stderr, "tessera: \"%s/%s\": name too long, skipped\n", dir, e->d_name);
            c->failures++;
            continue;
        }
        if (stat(path, &st) != 0) {
            fprintf(stderr, "tessera: \"%s\": %s, skipped\n", path, strerror(errno));
            c->failures++;
        } else if (S_ISDIR(st.st_mode)) {
            rc = walk(c, path, sub, depth + 1);
        } else if (S_ISREG(st.st_mode)) {
            rc = cli_upload_file(&c->t, path, c->dst.bucket, key);
        }
    }
    closedir(d);
    return rc;
}

/* ---- Recursive: prefix -> directory or prefix ---- */

/* Whether a key's part below the listed prefix is safe as a relative local path. */
static bool safe_relative(const char *rel)
{
    if (rel[0] == 0 || rel[0] == '/') {
        return false;
    }
    for (const char *p = rel; *p != 0;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
            return false;
        }
        p += n + (slash ? 1 : 0);
    }
    return true;
}

static int fetch_entry(struct cp *c, const char *key, const char *rel)
{
    char path[PATH_MAX], dst_key[TS_OBJECT_KEY_MAX + 1], parent[PATH_MAX];
    if (c->dst.kind == CLI_LOC_REMOTE) {
        if (join(dst_key, sizeof dst_key, c->dst.key, rel) != 0) {
            fprintf(stderr, "tessera: \"%s\": key too long, skipped\n", key);
            c->failures++;
            return CLI_EXIT_OK;
        }
        return cli_copy_object(&c->t, c->src.bucket, key, c->dst.bucket, dst_key);
    }
    if (!safe_relative(rel) || join(path, sizeof path, c->dst.path, rel) != 0) {
        fprintf(stderr, "tessera: \"%s\": not a safe local file name, skipped\n", key);
        c->failures++;
        return CLI_EXIT_OK;
    }
    snprintf(parent, sizeof parent, "%s", path);
    *strrchr(parent, '/') = 0;
    if (ts_fs_mkdir_p(parent, 0777) != TS_OK) {
        fprintf(stderr, "tessera: cannot create directory \"%s\"\n", parent);
        return CLI_EXIT_ERROR;
    }
    return cli_download_file(&c->t, c->src.bucket, key, path);
}

static int fetch_prefix(struct cp *c)
{
    char prefix[TS_OBJECT_KEY_MAX + 2];
    size_t n = strlen(c->src.key);
    snprintf(prefix, sizeof prefix, "%s%s", c->src.key,
             n > 0 && c->src.key[n - 1] != '/' ? "/" : "");
    struct ul_list_options opts = {.prefix = prefix, .recursive = true};
    struct ul_object_iter *it = NULL;
    ul_err err = ul_object_list(c->s.project, c->src.bucket, &opts, &it);
    const struct ul_object_info *o = NULL;
    int rc = CLI_EXIT_OK;
    while (rc == CLI_EXIT_OK && err == UL_OK && (err = ul_object_iter_next(it, &o)) == UL_OK &&
           o != NULL) {
        if (!o->is_prefix) {
            rc = fetch_entry(c, o->key, o->key + strlen(prefix));
        }
    }
    ul_object_iter_free(it);
    if (rc == CLI_EXIT_OK && err != UL_OK) {
        rc = cli_object_fail(&c->s, err, c->src.bucket, prefix, "listing");
    }
    return rc;
}

/* ---- Command ---- */

static int run_copy(struct cp *c, bool move)
{
    bool rec = c->a.set[P_RECURSIVE];
    if (c->src.kind != CLI_LOC_REMOTE) {
        if (rec) {
            return walk(c, c->src.path, "", 0);
        }
        return upload_one(c, c->src.kind == CLI_LOC_STDIO ? NULL : c->src.path);
    }
    if (rec) {
        return fetch_prefix(c);
    }
    return c->dst.kind == CLI_LOC_REMOTE ? copy_one(c, move) : download_one(c);
}

/* mv: the source goes once the copy succeeded. */
static int remove_source(struct cp *c)
{
    if (c->src.kind == CLI_LOC_LOCAL) {
        if (unlink(c->src.path) != 0) {
            fprintf(stderr, "tessera: copied, but cannot delete \"%s\": %s\n", c->src.path,
                    strerror(errno));
            return CLI_EXIT_ERROR;
        }
        return CLI_EXIT_OK;
    }
    ul_err err = ul_object_delete(c->s.project, c->src.bucket, c->src.key);
    return err == UL_OK ? CLI_EXIT_OK
                        : cli_object_fail(&c->s, err, c->src.bucket, c->src.key,
                                          "copied, but deleting the source");
}

static int cp_main(int argc, char **argv, bool move)
{
    static struct cp c; /* large (argument table); one per process */
    memset(&c, 0, sizeof c);
    cli_meta_init(&c.meta);
    int rc;
    if (!cli_args_run(move ? &mv_spec : &cp_spec, argc, argv, 1, &c.a, &rc)) {
        return rc;
    }
    char why[160] = "";
    const char *bad = NULL;
    if (cli_loc_parse(c.a.positional[0], &c.src, why, sizeof why) != TS_OK) {
        bad = c.a.positional[0];
    } else if (cli_loc_parse(c.a.positional[1], &c.dst, why, sizeof why) != TS_OK) {
        bad = c.a.positional[1];
    }
    if (bad != NULL) {
        fprintf(stderr, "tessera: \"%s\": %s\n", bad, why);
        return CLI_EXIT_USAGE;
    }
    if (check_combination(&c, move) != 0 || upload_options(&c) != 0) {
        cli_meta_release(&c.meta);
        return CLI_EXIT_USAGE;
    }
    c.t.quiet = c.a.set[P_NO_PROGRESS];
    c.t.buf = malloc(CLI_TRANSFER_BUFFER_SIZE);
    rc = c.t.buf == NULL ? cli_report(TS_ERR_NOMEM, "cp", NULL, NULL)
                         : cli_session_open(&c.s, cli_args_get(&c.a, P_CONFIG_DIR),
                                            cli_args_get(&c.a, P_ACCESS), true);
    if (rc == CLI_EXIT_OK) {
        c.t.s = &c.s;
        rc = run_copy(&c, move);
        if (rc == CLI_EXIT_OK && c.failures > 0) {
            fprintf(stderr, "tessera: %d entries skipped\n", c.failures);
            rc = CLI_EXIT_ERROR;
        }
        if (rc == CLI_EXIT_OK && move && !c.source_gone) {
            rc = remove_source(&c);
        }
        cli_session_close(&c.s);
    }
    free(c.t.buf);
    cli_meta_release(&c.meta);
    return rc;
}

int cmd_cp(int argc, char **argv)
{
    return cp_main(argc, argv, false);
}

int cmd_mv(int argc, char **argv)
{
    return cp_main(argc, argv, true);
}
