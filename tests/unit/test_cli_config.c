/* Unit tests for the tessera CLI's config directory (which directory wins, access save / list /
 * use / resolve / remove round trip in a temp dir, file modes, bad names), the exit-code mapping,
 * and `access inspect` output for a real grant and a shared one (no key bytes in it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "access/access.h"
#include "base/base.h"
#include "base/buf.h"
#include "cli/cli.h"
#include "cli/cli_config.h"
#include "cli/cli_exit.h"
#include "cli/cli_inspect.h"
#include "macaroon/macaroon.h"
#include "tessera/uplink.h"

#define SAT "12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S@127.0.0.1:7777"

/* A serialized root grant (default key set) whose head is filled with head_byte. */
static char *make_grant(uint8_t head_byte)
{
    uint8_t head[32], secret[32] = {1, 2, 3}, root[32] = {0xaa, 0xbb, 0xcc};
    memset(head, head_byte, sizeof head);
    struct ts_macaroon *m = NULL;
    struct ts_access *a = NULL;
    struct ts_buf b;
    ts_buf_init(&b, TS_ACCESS_GRANT_TEXT_MAX);
    assert_int_equal(ts_macaroon_new_from(head, secret, &m), TS_OK);
    assert_int_equal(ts_access_new(SAT, m, &a), TS_OK);
    ts_access_set_default_key(a, root);
    assert_int_equal(ts_access_serialize(a, &b), TS_OK);
    ts_macaroon_free(m);
    ts_access_free(a);
    return (char *)ts_buf_detach(&b, NULL);
}

static char tmpdir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_cli_config.XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_config_dir_precedence(void **state)
{
    (void)state;
    struct cli_config c;
    setenv("HOME", "/home/h", 1);
    unsetenv("XDG_CONFIG_HOME");
    unsetenv("TESSERA_CONFIG_DIR");
    assert_int_equal(cli_config_open(&c, NULL), TS_OK);
    assert_string_equal(c.dir, "/home/h/.config/tessera");
    setenv("XDG_CONFIG_HOME", "/xdg", 1);
    assert_int_equal(cli_config_open(&c, NULL), TS_OK);
    assert_string_equal(c.dir, "/xdg/tessera");
    setenv("TESSERA_CONFIG_DIR", "/env/dir", 1);
    assert_int_equal(cli_config_open(&c, NULL), TS_OK);
    assert_string_equal(c.dir, "/env/dir");
    assert_int_equal(cli_config_open(&c, "/flag/dir"), TS_OK);
    assert_string_equal(c.dir, "/flag/dir");
    unsetenv("TESSERA_CONFIG_DIR");
    unsetenv("XDG_CONFIG_HOME");
    unsetenv("HOME");
    assert_int_equal(cli_config_open(&c, NULL), TS_ERR_CONFIG);
    char longdir[PATH_MAX + 10];
    memset(longdir, 'd', sizeof longdir - 1);
    longdir[sizeof longdir - 1] = 0;
    assert_int_equal(cli_config_open(&c, longdir), TS_ERR_TOO_LARGE);
}

static void test_access_names(void **state)
{
    (void)state;
    assert_true(cli_access_name_valid("main"));
    assert_true(cli_access_name_valid("Prod_2.backup-1"));
    static const char *bad[] = {"", ".hidden", "..", "a/b", "../x", "sp ace", "tab\t", "é"};
    for (size_t i = 0; i < TS_ARRAY_LEN(bad); i++) {
        assert_false(cli_access_name_valid(bad[i]));
    }
    char n65[66];
    memset(n65, 'n', 65);
    n65[65] = 0;
    assert_false(cli_access_name_valid(n65));
    n65[64] = 0;
    assert_true(cli_access_name_valid(n65));
}

static void test_access_round_trip(void **state)
{
    (void)state;
    struct cli_config c;
    char dir[128], in_use[CLI_ACCESS_NAME_MAX + 1], why[512];
    snprintf(dir, sizeof dir, "%s/cfg", tmpdir);
    assert_int_equal(cli_config_open(&c, dir), TS_OK);
    char *g1 = make_grant(1), *g2 = make_grant(2);
    static struct cli_access_names names;

    /* nothing yet: empty list, nothing in use, resolve(NULL) explains */
    assert_int_equal(cli_access_list(&c, &names), TS_OK);
    assert_int_equal(names.count, 0);
    assert_int_equal(cli_access_in_use(&c, in_use), TS_ERR_NOT_FOUND);
    struct ts_buf b;
    ts_buf_init(&b, TS_ACCESS_GRANT_TEXT_MAX + 2);
    why[0] = 0;
    assert_int_equal(cli_access_resolve(&c, NULL, &b, why, sizeof why), TS_ERR_NOT_FOUND);
    assert_non_null(strstr(why, "no access in use"));

    /* save two, 0600 files in a 0700 directory, names listed sorted */
    assert_int_equal(cli_access_save(&c, "zeta", g2, false), TS_OK);
    assert_int_equal(cli_access_save(&c, "main", g1, false), TS_OK);
    assert_int_equal(cli_access_save(&c, "main", g2, false), TS_ERR_EXISTS);
    assert_int_equal(cli_access_save(&c, "../evil", g2, false), TS_ERR_INVALID_ARGUMENT);
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/accesses/main", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(path, sizeof path, "%s/accesses", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(cli_access_list(&c, &names), TS_OK);
    assert_int_equal(names.count, 2);
    assert_string_equal(names.name[0], "main");
    assert_string_equal(names.name[1], "zeta");

    /* load returns exactly what was saved */
    assert_int_equal(cli_access_load(&c, "main", &b), TS_OK);
    assert_string_equal((char *)b.data, g1);
    ts_buf_clear(&b);

    /* use + resolve: NULL is the one in use, a name its file, long text is taken as a grant */
    assert_int_equal(cli_access_use(&c, "nope"), TS_ERR_NOT_FOUND);
    assert_int_equal(cli_access_use(&c, "zeta"), TS_OK);
    assert_int_equal(cli_access_in_use(&c, in_use), TS_OK);
    assert_string_equal(in_use, "zeta");
    assert_int_equal(cli_access_resolve(&c, NULL, &b, why, sizeof why), TS_OK);
    assert_string_equal((char *)b.data, g2);
    ts_buf_clear(&b);
    assert_int_equal(cli_access_resolve(&c, "main", &b, why, sizeof why), TS_OK);
    assert_string_equal((char *)b.data, g1);
    ts_buf_clear(&b);
    assert_int_equal(cli_access_resolve(&c, g2, &b, why, sizeof why), TS_OK);
    assert_string_equal((char *)b.data, g2);
    ts_buf_clear(&b);
    why[0] = 0;
    assert_int_equal(cli_access_resolve(&c, "missing", &b, why, sizeof why), TS_ERR_NOT_FOUND);
    assert_non_null(strstr(why, "no access named \"missing\""));

    /* overwrite replaces; removing the one in use leaves none in use */
    assert_int_equal(cli_access_save(&c, "main", g2, true), TS_OK);
    assert_int_equal(cli_access_load(&c, "main", &b), TS_OK);
    assert_string_equal((char *)b.data, g2);
    ts_buf_clear(&b);
    assert_int_equal(cli_access_remove(&c, "zeta"), TS_OK);
    assert_int_equal(cli_access_remove(&c, "zeta"), TS_ERR_NOT_FOUND);
    assert_int_equal(cli_access_in_use(&c, in_use), TS_ERR_NOT_FOUND);
    assert_int_equal(cli_access_list(&c, &names), TS_OK);
    assert_int_equal(names.count, 1);
    /* a hand-edited in-use file naming garbage counts as nothing in use */
    snprintf(path, sizeof path, "%s/access-in-use", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("../../etc/passwd\n", f);
    fclose(f);
    assert_int_equal(cli_access_in_use(&c, in_use), TS_ERR_NOT_FOUND);

    ts_buf_release(&b);
    free(g1);
    free(g2);
}

static void test_exit_codes(void **state)
{
    (void)state;
    struct {
        ts_err err;
        int code;
    } map[] = {
        {TS_OK, 0},
        {TS_ERR_INVALID_ARGUMENT, CLI_EXIT_USAGE},
        {TS_ERR_NOT_FOUND, 3},
        {TS_ERR_PERMISSION_DENIED, 4},
        {TS_ERR_EXPIRED, 4},
        {TS_ERR_NOT_YET_VALID, 4},
        {TS_ERR_REVOKED, 4},
        {TS_ERR_AUTH_FAILED, 4},
        {TS_ERR_CONNECT, 5},
        {TS_ERR_TIMEOUT, 5},
        {TS_ERR_TLS, 5},
        {TS_ERR_CLOSED, 5},
        {TS_ERR_NOT_ENOUGH_SHARES, 6},
        {TS_ERR_IO, 1},
        {TS_ERR_MALFORMED, 1},
        {TS_ERR_INTERNAL, 1},
    };
    for (size_t i = 0; i < TS_ARRAY_LEN(map); i++) {
        assert_int_equal(cli_exit_code(map[i].err), map[i].code);
    }
    assert_int_equal(CLI_EXIT_USAGE, 2);
    assert_int_equal(CLI_EXIT_NODES, 6);
    assert_string_equal(cli_cause(TS_ERR_PERMISSION_DENIED), "denied by the access's restrictions");
    assert_string_equal(cli_cause(TS_ERR_NOT_ENOUGH_SHARES), "not enough storage nodes");
    /* every error has some cause text */
    for (int e = 0; e < TS_ERR__COUNT; e++) {
        assert_true(strlen(cli_cause((ts_err)e)) > 3);
    }
}

/* Hex of n bytes, for checking that key bytes never appear in inspect output. */
static void to_hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(out + 2 * i, 3, "%02x", p[i]);
    }
}

static void test_inspect_shows_caveats_but_no_keys(void **state)
{
    (void)state;
    char *g = make_grant(7);
    struct ul_access *root = NULL, *shared = NULL;
    assert_int_equal(ul_access_parse(g, &root), UL_OK);
    struct ul_permission perm = {
        .allow_download = true, .allow_list = true, .not_after_s = 1796083200};
    struct ul_share_prefix pre = {.bucket = "photos", .prefix = "2024/"};
    assert_int_equal(ul_access_share(root, &perm, &pre, 1, &shared), UL_OK);
    char *text = NULL;
    assert_int_equal(ul_access_serialize(shared, &text), UL_OK);
    struct ts_access *core = NULL;
    assert_int_equal(ts_access_parse(text, strlen(text), &core), TS_OK);

    struct ts_buf out;
    ts_buf_init(&out, 1u << 20);
    assert_int_equal(cli_inspect_json(core, &out), TS_OK);
    const char *j = (const char *)out.data;
    assert_non_null(strstr(j, "\"satellite\": \"" SAT "\""));
    assert_non_null(strstr(j, "\"head\": \"0707070707"));
    assert_non_null(strstr(j, "\"disallow_writes\": true"));
    assert_non_null(strstr(j, "\"disallow_reads\": false"));
    assert_non_null(strstr(j, "\"disallow_deletes\": true"));
    assert_non_null(strstr(j, "\"bucket\": \"photos\""));
    assert_non_null(strstr(j, "\"not_after\": \"2026-12-01T00:00:00Z\""));
    assert_non_null(strstr(j, "\"default_key\": false"));
    assert_non_null(strstr(j, "\"prefix\": \"2024\""));
    /* the store entry's key is never printed */
    assert_true(ts_access_entry_count(core) >= 1);
    struct ts_access_entry e;
    ts_access_entry_get(core, 0, &e);
    char hex[65];
    to_hex(e.key, 32, hex);
    assert_null(strstr(j, hex));
    to_hex(e.key, 8, hex);
    assert_null(strstr(j, hex));

    ts_buf_release(&out);
    ts_access_free(core);
    ul_free(text);
    ul_access_free(shared);
    ul_access_free(root);
    free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_dir_precedence),
        cmocka_unit_test(test_access_names),
        cmocka_unit_test(test_access_round_trip),
        cmocka_unit_test(test_exit_codes),
        cmocka_unit_test(test_inspect_shows_caveats_but_no_keys),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
