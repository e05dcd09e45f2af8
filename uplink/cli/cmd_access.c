/* tessera access create|import|list|use|inspect|remove|restrict: named access grants in the
 * config directory (cli_config.h). Only `create` touches the network (ProjectInfo for the salt). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "access/access.h"
#include "base/base.h"
#include "base/fs.h"
#include "cli/cli.h"
#include "cli/cli_args.h"
#include "cli/cli_exit.h"
#include "cli/cli_inspect.h"
#include "cli/cli_restrict.h"
#include "cli/cli_session.h"

#define DEFAULT_NAME "main"

/* ---- Passphrase input ---- */

/* Reads one line from fd into out (without the newline). -1 on EOF before any byte or a line
 * longer than cap - 1 bytes (the rest of that line is consumed). */
static int read_line(int fd, char *out, size_t cap)
{
    size_t n = 0;
    bool any = false, too_long = false;
    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0 || c == '\n') {
            break;
        }
        any = true;
        if (n + 1 < cap) {
            out[n++] = c;
        } else {
            too_long = true;
        }
    }
    if (n > 0 && out[n - 1] == '\r') {
        n--;
    }
    out[n] = 0;
    return any && !too_long ? 0 : -1;
}

/* Prompts on stderr and reads a line from the terminal on stdin with echo off. */
static int prompt_hidden(const char *prompt, char *out, size_t cap)
{
    struct termios old, quiet;
    fprintf(stderr, "%s", prompt);
    fflush(stderr);
    bool restore = tcgetattr(STDIN_FILENO, &old) == 0;
    if (restore) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    int rc = read_line(STDIN_FILENO, out, cap);
    if (restore) {
        (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    }
    return rc;
}

/* The passphrase: asked twice on a terminal, else the first line of stdin. Returns 0 or prints
 * why and returns -1. Never from argv, so it shows in no process list or shell history. */
static int read_passphrase(char *out, size_t cap)
{
    if (!isatty(STDIN_FILENO)) {
        if (read_line(STDIN_FILENO, out, cap) != 0 || out[0] == 0) {
            fprintf(stderr,
                    "tessera: expected the passphrase on the first line of stdin (1..%d "
                    "bytes)\n",
                    TS_PASSPHRASE_MAX);
            ts_wipe(out, cap);
            return -1;
        }
        return 0;
    }
    char again[TS_PASSPHRASE_MAX + 2];
    int rc = -1;
    if (prompt_hidden("Passphrase: ", out, cap) != 0 || out[0] == 0) {
        fprintf(stderr, "tessera: an empty passphrase is not allowed\n");
    } else if (prompt_hidden("Passphrase again: ", again, sizeof again) != 0 ||
               strcmp(out, again) != 0) {
        fprintf(stderr, "tessera: the passphrases do not match\n");
    } else {
        rc = 0;
    }
    ts_wipe(again, sizeof again);
    if (rc != 0) {
        ts_wipe(out, cap);
    }
    return rc;
}

/* ---- Shared steps ---- */

/* Saves grant text under name and makes it the access in use when none is. */
static int save_access(struct cli_session *s, const char *name, const char *grant, bool force)
{
    ts_err err = cli_access_save(&s->config, name, grant, force);
    if (err == TS_ERR_EXISTS) {
        fprintf(stderr,
                "tessera: an access named \"%s\" exists already (use --force to replace "
                "it)\n",
                name);
        return CLI_EXIT_ERROR;
    }
    if (err != TS_OK) {
        return cli_report(err, "saving the access", NULL, s->config.dir);
    }
    char in_use[CLI_ACCESS_NAME_MAX + 1];
    bool now_in_use = cli_access_in_use(&s->config, in_use) == TS_ERR_NOT_FOUND &&
                      cli_access_use(&s->config, name) == TS_OK;
    if (!now_in_use) {
        now_in_use = cli_access_in_use(&s->config, in_use) == TS_OK && strcmp(in_use, name) == 0;
    }
    printf("access \"%s\" saved in %s/accesses%s\n", name, s->config.dir,
           now_in_use ? " (in use)" : "");
    return CLI_EXIT_OK;
}

static int bad_name(const char *name)
{
    fprintf(stderr,
            "tessera: bad access name \"%s\": 1-%d characters of A-Z a-z 0-9 - _ ., not "
            "starting with '.'\n",
            name, CLI_ACCESS_NAME_MAX);
    return CLI_EXIT_USAGE;
}

/* ---- create ---- */

enum { C_SATELLITE, C_API_KEY, C_NAME, C_FORCE, C_CONFIG_DIR, C_COUNT };
static const struct cli_opt create_opts[C_COUNT] = {
    [C_SATELLITE] = {"satellite", 0, CLI_VALUE, "URL", "satellite node URL nodeid@host:port"},
    [C_API_KEY] = {"api-key", 0, CLI_VALUE, "KEY", "API key from the satellite's console"},
    [C_NAME] = {"name", 0, CLI_VALUE, "N", "name to save the access under (default main)"},
    [C_FORCE] = {"force", 'f', CLI_FLAG, NULL, "replace an access of the same name"},
    [C_CONFIG_DIR] = CLI_OPT_CONFIG_DIR,
};
static const struct cli_spec create_spec = {
    .usage = "access create --satellite URL --api-key KEY [--name N]",
    .summary = "Create an access grant from an API key and a passphrase, and save it.",
    .opts = create_opts,
    .opt_count = C_COUNT,
    .notes = "The passphrase is read from the terminal (twice, not echoed) or, when stdin is not\n"
             "a terminal, from the first line of stdin; never from the command line. The same\n"
             "passphrase and project always give the same encryption keys.\n",
};

static int access_create(int argc, char **argv)
{
    struct cli_args a;
    int rc;
    if (!cli_args_run(&create_spec, argc, argv, 2, &a, &rc)) {
        return rc;
    }
    const char *sat = cli_args_get(&a, C_SATELLITE), *key = cli_args_get(&a, C_API_KEY);
    const char *name = cli_args_get(&a, C_NAME) ? cli_args_get(&a, C_NAME) : DEFAULT_NAME;
    if (sat == NULL || key == NULL) {
        fprintf(stderr, "tessera: access create needs --satellite and --api-key\n");
        return CLI_EXIT_USAGE;
    }
    if (!cli_access_name_valid(name)) {
        return bad_name(name);
    }
    struct cli_session s;
    if ((rc = cli_session_config(&s, cli_args_get(&a, C_CONFIG_DIR))) != CLI_EXIT_OK) {
        return rc;
    }
    char pass[TS_PASSPHRASE_MAX + 2];
    if (read_passphrase(pass, sizeof pass) != 0) {
        return CLI_EXIT_USAGE;
    }
    struct ul_access *access = NULL;
    char *text = NULL;
    ts_err err = ul_access_request(sat, key, pass, &access);
    ts_wipe(pass, sizeof pass);
    if (err == TS_OK) {
        err = ul_access_serialize(access, &text);
    }
    if (err == TS_ERR_MALFORMED || err == TS_ERR_CHECKSUM || err == TS_ERR_TRUNCATED ||
        err == TS_ERR_UNSUPPORTED_VERSION || err == TS_ERR_TOO_LARGE) {
        fprintf(stderr, "tessera: the API key or the satellite URL does not parse: %s\n",
                ul_error_detail()[0] ? ul_error_detail() : ts_strerror(err));
        rc = CLI_EXIT_USAGE;
    } else if (err != TS_OK) {
        rc = cli_report(err, "creating the access", sat, ul_error_detail());
    } else {
        rc = save_access(&s, name, text, a.set[C_FORCE]);
        ts_wipe(text, strlen(text));
    }
    ul_free(text);
    ul_access_free(access);
    return rc;
}

/* ---- import ---- */

enum { I_FORCE, I_CONFIG_DIR, I_COUNT };
static const struct cli_opt import_opts[I_COUNT] = {
    [I_FORCE] = {"force", 'f', CLI_FLAG, NULL, "replace an access of the same name"},
    [I_CONFIG_DIR] = CLI_OPT_CONFIG_DIR,
};
static const struct cli_spec import_spec = {
    .usage = "access import NAME GRANT|FILE",
    .summary = "Save an access grant (given as text or as a file holding it) under NAME.",
    .opts = import_opts,
    .opt_count = I_COUNT,
    .positional_min = 2,
    .positional_max = 2,
};

static int access_import(int argc, char **argv)
{
    struct cli_args a;
    int rc;
    if (!cli_args_run(&import_spec, argc, argv, 2, &a, &rc)) {
        return rc;
    }
    const char *name = a.positional[0], *src = a.positional[1];
    if (!cli_access_name_valid(name)) {
        return bad_name(name);
    }
    struct cli_session s;
    if ((rc = cli_session_config(&s, cli_args_get(&a, I_CONFIG_DIR))) != CLI_EXIT_OK) {
        return rc;
    }
    struct ts_buf text;
    ts_buf_init(&text, TS_ACCESS_GRANT_TEXT_MAX + 2);
    struct stat st;
    ts_err err = stat(src, &st) == 0 && S_ISREG(st.st_mode)
                     ? ts_fs_read_all(src, TS_ACCESS_GRANT_TEXT_MAX + 2, &text)
                     : ts_buf_append_str(&text, src);
    while (err == TS_OK && text.len > 0 && text.data[text.len - 1] <= ' ') {
        ts_buf_truncate(&text, text.len - 1);
    }
    struct ul_access *parsed = NULL;
    if (err == TS_OK && text.len > 0 && ul_access_parse((char *)text.data, &parsed) == UL_OK) {
        rc = save_access(&s, name, (char *)text.data, a.set[I_FORCE]);
    } else if (err != TS_OK) {
        rc = cli_report(err, "reading the grant", NULL, src);
    } else {
        fprintf(stderr, "tessera: \"%.40s\" is neither a file nor an access grant that parses\n",
                src);
        rc = CLI_EXIT_USAGE;
    }
    ul_access_free(parsed);
    ts_buf_release_secret(&text);
    return rc;
}

/* ---- list, use, remove ---- */

enum { L_CONFIG_DIR, L_COUNT };
static const struct cli_opt config_only_opts[L_COUNT] = {[L_CONFIG_DIR] = CLI_OPT_CONFIG_DIR};
static const struct cli_spec list_spec = {
    .usage = "access list",
    .summary = "List saved accesses with their satellites; '*' marks the one in use.",
    .opts = config_only_opts,
    .opt_count = L_COUNT,
};
static const struct cli_spec use_spec = {
    .usage = "access use NAME",
    .summary = "Make NAME the access commands use when --access is not given.",
    .opts = config_only_opts,
    .opt_count = L_COUNT,
    .positional_min = 1,
    .positional_max = 1,
};
static const struct cli_spec remove_spec = {
    .usage = "access remove NAME",
    .summary = "Delete the saved access NAME (the grant itself stays valid wherever it was "
               "copied).",
    .opts = config_only_opts,
    .opt_count = L_COUNT,
    .positional_min = 1,
    .positional_max = 1,
};

static int access_list(int argc, char **argv)
{
    struct cli_args a;
    struct cli_session s;
    int rc;
    if (!cli_args_run(&list_spec, argc, argv, 2, &a, &rc) ||
        (rc = cli_session_config(&s, cli_args_get(&a, L_CONFIG_DIR))) != CLI_EXIT_OK) {
        return rc;
    }
    static struct cli_access_names names;
    char in_use[CLI_ACCESS_NAME_MAX + 1] = "";
    ts_err err = cli_access_list(&s.config, &names);
    if (err != TS_OK) {
        return cli_report(err, "listing accesses", NULL, s.config.dir);
    }
    if (cli_access_in_use(&s.config, in_use) != TS_OK) {
        in_use[0] = 0;
    }
    for (size_t i = 0; i < names.count; i++) {
        struct ts_buf text;
        ts_buf_init(&text, TS_ACCESS_GRANT_TEXT_MAX + 2);
        struct ul_access *acc = NULL;
        const char *sat = "(unreadable grant)";
        if (cli_access_load(&s.config, names.name[i], &text) == TS_OK && text.data != NULL &&
            ul_access_parse((char *)text.data, &acc) == UL_OK) {
            sat = ul_access_satellite_url(acc);
        }
        printf("%c %-20s %s\n", strcmp(in_use, names.name[i]) == 0 ? '*' : ' ', names.name[i], sat);
        ul_access_free(acc);
        ts_buf_release_secret(&text);
    }
    if (names.count == 0) {
        fprintf(stderr, "no accesses in %s (tessera access create / import)\n", s.config.dir);
    }
    return CLI_EXIT_OK;
}

static int access_use_or_remove(int argc, char **argv, bool use)
{
    struct cli_args a;
    struct cli_session s;
    int rc;
    if (!cli_args_run(use ? &use_spec : &remove_spec, argc, argv, 2, &a, &rc) ||
        (rc = cli_session_config(&s, cli_args_get(&a, L_CONFIG_DIR))) != CLI_EXIT_OK) {
        return rc;
    }
    const char *name = a.positional[0];
    if (!cli_access_name_valid(name)) {
        return bad_name(name);
    }
    ts_err err = use ? cli_access_use(&s.config, name) : cli_access_remove(&s.config, name);
    if (err == TS_ERR_NOT_FOUND) {
        fprintf(stderr, "tessera: no access named \"%s\" in %s (tessera access list)\n", name,
                s.config.dir);
        return CLI_EXIT_NOT_FOUND;
    }
    if (err != TS_OK) {
        return cli_report(err, use ? "choosing the access" : "removing the access", NULL,
                          s.config.dir);
    }
    printf(use ? "now using access \"%s\"\n" : "removed access \"%s\"\n", name);
    return CLI_EXIT_OK;
}

/* ---- inspect ---- */

static const struct cli_spec inspect_spec = {
    .usage = "access inspect [NAME|GRANT]",
    .summary = "Show what an access holds (default: the one in use), as JSON: satellite, API key "
               "head and caveats, encryption store entries (never the keys).",
    .opts = config_only_opts,
    .opt_count = L_COUNT,
    .positional_max = 1,
};

static int access_inspect(int argc, char **argv)
{
    struct cli_args a;
    struct cli_session s;
    int rc;
    if (!cli_args_run(&inspect_spec, argc, argv, 2, &a, &rc) ||
        (rc = cli_session_config(&s, cli_args_get(&a, L_CONFIG_DIR))) != CLI_EXIT_OK) {
        return rc;
    }
    struct ts_buf text, out;
    ts_buf_init(&text, TS_ACCESS_GRANT_TEXT_MAX + 2);
    ts_buf_init(&out, 4u * 1024 * 1024);
    char why[PATH_MAX + 160] = "";
    struct ts_access *core = NULL;
    const char *arg = a.positional_count > 0 ? a.positional[0] : NULL;
    ts_err err = cli_access_resolve(&s.config, arg, &text, why, sizeof why);
    if (err == TS_OK) {
        err = ts_access_parse((const char *)text.data, text.len, &core);
        if (err != TS_OK) {
            snprintf(why, sizeof why, "the access grant does not parse: %s", ts_strerror(err));
            err = TS_ERR_INVALID_ARGUMENT;
        }
    }
    if (err == TS_OK) {
        err = cli_inspect_json(core, &out);
    }
    if (err == TS_OK) {
        fwrite(out.data, 1, out.len, stdout);
        rc = CLI_EXIT_OK;
    } else if (why[0] != 0) {
        fprintf(stderr, "tessera: %s\n", why);
        rc = cli_exit_code(err);
    } else {
        rc = cli_report(err, "inspecting the access", NULL, NULL);
    }
    ts_access_free(core);
    ts_buf_release_secret(&text);
    ts_buf_release(&out);
    return rc;
}

/* ---- dispatch ---- */

static int access_restrict(int argc, char **argv)
{
    return cli_restrict_main(argc, argv, 2, false);
}
static int access_use(int argc, char **argv)
{
    return access_use_or_remove(argc, argv, true);
}
static int access_remove(int argc, char **argv)
{
    return access_use_or_remove(argc, argv, false);
}

static const struct {
    const char *name;
    const struct cli_spec *spec; /* NULL: restrict prints its own */
    int (*run)(int argc, char **argv);
} subcommands[] = {
    {"create", &create_spec, access_create},    {"import", &import_spec, access_import},
    {"list", &list_spec, access_list},          {"use", &use_spec, access_use},
    {"inspect", &inspect_spec, access_inspect}, {"remove", &remove_spec, access_remove},
    {"restrict", NULL, access_restrict},
};

static void access_usage(FILE *out)
{
    fprintf(out, "usage: tessera access <subcommand> [options]   (each takes --help)\n");
    for (size_t i = 0; i < TS_ARRAY_LEN(subcommands); i++) {
        fprintf(out, "  tessera %s\n",
                subcommands[i].spec ? subcommands[i].spec->usage
                                    : "access restrict [options] [ts://bucket[/prefix] ...]");
    }
}

int cmd_access(int argc, char **argv)
{
    if (argc >= 2) {
        for (size_t i = 0; i < TS_ARRAY_LEN(subcommands); i++) {
            if (strcmp(argv[1], subcommands[i].name) == 0) {
                return subcommands[i].run(argc, argv);
            }
        }
    }
    bool help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
    if (!help && argc >= 2) {
        fprintf(stderr, "tessera: unknown access subcommand \"%s\"\n", argv[1]);
    }
    access_usage(help ? stdout : stderr);
    return help ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}
