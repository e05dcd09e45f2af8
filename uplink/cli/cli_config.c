/* The CLI's config directory and named accesses (see cli_config.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "base/fs.h"
#include "base/log.h"
#include "cli/cli_config.h"

#define ACCESS_DIR "accesses"
#define IN_USE_FILE "access-in-use"

static ts_err join(char *out, size_t size, const char *a, const char *b, const char *c)
{
    int n =
        snprintf(out, size, "%s%s%s%s%s", a, b ? "/" : "", b ? b : "", c ? "/" : "", c ? c : "");
    return n < 0 || (size_t)n >= size ? TS_ERR_TOO_LARGE : TS_OK;
}

ts_err cli_config_open(struct cli_config *c, const char *override)
{
    const char *env = getenv("TESSERA_CONFIG_DIR");
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    if (override != NULL && override[0] != 0) {
        return join(c->dir, sizeof c->dir, override, NULL, NULL);
    }
    if (env != NULL && env[0] != 0) {
        return join(c->dir, sizeof c->dir, env, NULL, NULL);
    }
    if (xdg != NULL && xdg[0] != 0) {
        return join(c->dir, sizeof c->dir, xdg, "tessera", NULL);
    }
    if (home != NULL && home[0] != 0) {
        return join(c->dir, sizeof c->dir, home, ".config/tessera", NULL);
    }
    return TS_ERR_CONFIG;
}

bool cli_access_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > CLI_ACCESS_NAME_MAX || name[0] == '.') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
        if (!ok) {
            return false;
        }
    }
    return true;
}

static ts_err access_path(const struct cli_config *c, const char *name, char *out, size_t size)
{
    if (!cli_access_name_valid(name)) {
        return TS_ERR_INVALID_ARGUMENT;
    }
    return join(out, size, c->dir, ACCESS_DIR, name);
}

/* Appends the file's text without surrounding whitespace. */
static ts_err read_trimmed(const char *path, size_t max, struct ts_buf *out)
{
    struct ts_buf b;
    ts_buf_init(&b, max);
    ts_err err = ts_fs_read_all(path, max, &b);
    size_t start = 0, end = b.len;
    while (start < end && (b.data[start] <= ' ')) {
        start++;
    }
    while (end > start && (b.data[end - 1] <= ' ')) {
        end--;
    }
    if (err == TS_OK) {
        err = ts_buf_append(out, b.data + start, end - start);
    }
    ts_buf_release_secret(&b);
    return err;
}

ts_err cli_access_save(const struct cli_config *c, const char *name, const char *grant,
                       bool overwrite)
{
    char dir[PATH_MAX], path[PATH_MAX];
    ts_err err = access_path(c, name, path, sizeof path);
    if (err == TS_OK) {
        err = join(dir, sizeof dir, c->dir, ACCESS_DIR, NULL);
    }
    if (err == TS_OK) {
        err = ts_fs_mkdir_p(dir, 0700);
    }
    if (err == TS_OK && !overwrite && access(path, F_OK) == 0) {
        err = TS_ERR_EXISTS;
    }
    struct ts_buf text;
    ts_buf_init(&text, TS_ACCESS_GRANT_TEXT_MAX + 2);
    if (err == TS_OK) {
        err = ts_buf_printf(&text, "%s\n", grant);
    }
    if (err == TS_OK) {
        err = ts_fs_write_atomic(path, text.data, text.len, 0600);
    }
    ts_buf_release_secret(&text);
    return err;
}

ts_err cli_access_load(const struct cli_config *c, const char *name, struct ts_buf *out)
{
    char path[PATH_MAX];
    ts_err err = access_path(c, name, path, sizeof path);
    return err != TS_OK ? err : read_trimmed(path, TS_ACCESS_GRANT_TEXT_MAX + 2, out);
}

ts_err cli_access_in_use(const struct cli_config *c, char name[CLI_ACCESS_NAME_MAX + 1])
{
    char path[PATH_MAX], grant_path[PATH_MAX];
    ts_err err = join(path, sizeof path, c->dir, IN_USE_FILE, NULL);
    struct ts_buf b;
    ts_buf_init(&b, CLI_ACCESS_NAME_MAX + 2);
    if (err == TS_OK) {
        err = read_trimmed(path, CLI_ACCESS_NAME_MAX + 2, &b);
    }
    if (err == TS_OK && (b.data == NULL || !cli_access_name_valid((const char *)b.data))) {
        err = TS_ERR_NOT_FOUND; /* empty or garbage: treat as nothing in use */
    }
    if (err == TS_OK) {
        err = access_path(c, (const char *)b.data, grant_path, sizeof grant_path);
    }
    if (err == TS_OK && access(grant_path, F_OK) != 0) {
        err = TS_ERR_NOT_FOUND;
    }
    if (err == TS_OK) {
        memcpy(name, b.data, b.len + 1);
    }
    ts_buf_release(&b);
    return err == TS_ERR_TOO_LARGE ? TS_ERR_NOT_FOUND : err;
}

ts_err cli_access_use(const struct cli_config *c, const char *name)
{
    char path[PATH_MAX], grant_path[PATH_MAX], text[CLI_ACCESS_NAME_MAX + 2];
    ts_err err = access_path(c, name, grant_path, sizeof grant_path);
    if (err == TS_OK && access(grant_path, F_OK) != 0) {
        err = TS_ERR_NOT_FOUND;
    }
    if (err == TS_OK) {
        err = join(path, sizeof path, c->dir, IN_USE_FILE, NULL);
    }
    if (err == TS_OK) {
        int n = snprintf(text, sizeof text, "%s\n", name);
        err = ts_fs_write_atomic(path, text, (size_t)n, 0600);
    }
    return err;
}

ts_err cli_access_remove(const struct cli_config *c, const char *name)
{
    char path[PATH_MAX], in_use[CLI_ACCESS_NAME_MAX + 1], in_use_path[PATH_MAX];
    ts_err err = access_path(c, name, path, sizeof path);
    bool was_in_use =
        err == TS_OK && cli_access_in_use(c, in_use) == TS_OK && strcmp(in_use, name) == 0;
    if (err == TS_OK && unlink(path) != 0) {
        err = errno == ENOENT ? TS_ERR_NOT_FOUND : TS_ERR_IO;
        if (err == TS_ERR_IO) {
            ts_log_error("cli.config", "unlink failed path=%s errno=%d", path, errno);
        }
    }
    if (err == TS_OK && was_in_use &&
        join(in_use_path, sizeof in_use_path, c->dir, IN_USE_FILE, NULL) == TS_OK) {
        (void)unlink(in_use_path);
    }
    return err;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(a, b);
}

ts_err cli_access_list(const struct cli_config *c, struct cli_access_names *out)
{
    out->count = 0;
    char dir[PATH_MAX];
    ts_err err = join(dir, sizeof dir, c->dir, ACCESS_DIR, NULL);
    if (err != TS_OK) {
        return err;
    }
    DIR *d = opendir(dir);
    if (d == NULL) {
        return errno == ENOENT ? TS_OK : TS_ERR_IO;
    }
    struct dirent *e;
    while (err == TS_OK && (e = readdir(d)) != NULL) {
        /* Skip ".", "..", and the temp files of an interrupted atomic write. */
        if (!cli_access_name_valid(e->d_name) || strstr(e->d_name, ".tmp-") != NULL) {
            continue;
        }
        if (out->count >= CLI_ACCESSES_MAX) {
            err = TS_ERR_TOO_LARGE;
            break;
        }
        size_t n = strlen(e->d_name); /* <= CLI_ACCESS_NAME_MAX: the name is valid */
        memcpy(out->name[out->count++], e->d_name, n + 1);
    }
    closedir(d);
    qsort(out->name, out->count, sizeof out->name[0], compare_names);
    return err;
}

ts_err cli_access_resolve(const struct cli_config *c, const char *arg, struct ts_buf *grant_out,
                          char *why, size_t why_size)
{
    char name[CLI_ACCESS_NAME_MAX + 1];
    if (arg == NULL) {
        ts_err err = cli_access_in_use(c, name);
        if (err == TS_ERR_NOT_FOUND) {
            snprintf(why, why_size,
                     "no access in use in %s: create one (tessera access create), import one "
                     "(tessera access import) or pass --access",
                     c->dir);
        }
        arg = name;
        if (err != TS_OK) {
            return err;
        }
    }
    if (cli_access_name_valid(arg)) {
        ts_err err = cli_access_load(c, arg, grant_out);
        if (err == TS_ERR_NOT_FOUND) {
            snprintf(why, why_size, "no access named \"%s\" in %s (tessera access list)", arg,
                     c->dir);
        }
        return err;
    }
    return ts_buf_append_str(grant_out, arg);
}
