/* Unit tests for the satellite's schema and queries (satellite/db). Every test runs against
 * SQLite (a temp file) and PostgreSQL (the throwaway server named by TS_TEST_POSTGRES_URL; the
 * PostgreSQL runs skip when it is unset), so the SQL is proven on both backends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "db/db.h"
#include "test_db_fixture.h"
#include "satellite/db/satdb.h"
#include "satellite/metainfo/redundancy.h"

/* Migrations run twice (idempotent) and reach the latest version; one connection is held. */
static void migrate(struct test_db_fixture *f)
{
    assert_int_equal(sat_db_migrate(f->db), TS_OK);
    assert_int_equal(sat_db_migrate(f->db), TS_OK); /* idempotent */
    int64_t v = 0;
    assert_int_equal(ts_db_schema_version(f->db, "satellite", &v), TS_OK);
    assert_int_equal(v, sat_db_schema_latest());
    assert_int_equal(ts_db_conn_acquire(f->db, &f->c), TS_OK);
}

static int setup_sqlite(void **state)
{
    return test_db_fixture_setup_sqlite(state, "/tmp/ts-test-satdb.XXXXXX", "s.db", migrate);
}

static int setup_postgres(void **state)
{
    return test_db_fixture_setup_postgres(state, "test_sat_db", migrate);
}

static int teardown(void **state)
{
    return test_db_fixture_teardown(state);
}

static const uint8_t PROJECT[SAT_ID_SIZE] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void add_project(struct ts_db_conn *c)
{
    struct sat_project p = {.created_at = 1000};
    memcpy(p.id, PROJECT, SAT_ID_SIZE);
    snprintf(p.name, sizeof p.name, "proj");
    memset(p.salt, 0x5a, sizeof p.salt);
    assert_int_equal(sat_db_project_insert(c, &p), TS_OK);
}

static void test_projects_and_keys(void **state)
{
    struct test_db_fixture *f = test_db_fixture_get(state);
    struct sat_project p;
    add_project(f->c);
    assert_int_equal(sat_db_project_get(f->c, PROJECT, &p), TS_OK);
    assert_string_equal(p.name, "proj");
    assert_int_equal(p.salt[15], 0x5a);
    assert_int_equal(p.created_at, 1000);
    uint8_t other[SAT_ID_SIZE] = {9};
    assert_int_equal(sat_db_project_get(f->c, other, &p), TS_ERR_NOT_FOUND);

    struct sat_api_key k = {.created_at = 5}, got;
    memset(k.id, 1, sizeof k.id);
    memset(k.head, 2, sizeof k.head);
    memset(k.secret, 3, sizeof k.secret);
    memcpy(k.project_id, PROJECT, SAT_ID_SIZE);
    snprintf(k.name, sizeof k.name, "default");
    assert_int_equal(sat_db_api_key_insert(f->c, &k), TS_OK);
    k.id[0] = 7;
    assert_int_equal(sat_db_api_key_insert(f->c, &k), TS_ERR_EXISTS); /* same head */
    assert_int_equal(sat_db_api_key_get_by_head(f->c, k.head, &got), TS_OK);
    assert_int_equal(got.secret[31], 3);
    assert_int_equal(got.id[0], 1);
    assert_string_equal(got.name, "default");
    uint8_t head2[SAT_HEAD_SIZE] = {0};
    assert_int_equal(sat_db_api_key_get_by_head(f->c, head2, &got), TS_ERR_NOT_FOUND);

    uint8_t tails[3][SAT_TAIL_SIZE];
    memset(tails, 0, sizeof tails);
    tails[1][0] = 1;
    tails[2][0] = 2;
    bool revoked = true;
    assert_int_equal(sat_db_revocation_any(f->c, &tails[0][0], 3, &revoked), TS_OK);
    assert_false(revoked);
    assert_int_equal(sat_db_revocation_insert(f->c, tails[1], k.id), TS_OK);
    assert_int_equal(sat_db_revocation_insert(f->c, tails[1], k.id), TS_OK); /* idempotent */
    assert_int_equal(sat_db_revocation_any(f->c, &tails[0][0], 3, &revoked), TS_OK);
    assert_true(revoked);
    assert_int_equal(sat_db_revocation_any(f->c, &tails[2][0], 1, &revoked), TS_OK);
    assert_false(revoked);
}

static ts_err count_key(const struct sat_api_key *k, void *ctx)
{
    (void)k;
    (*(int *)ctx)++;
    return TS_OK;
}

static void test_api_key_list(void **state)
{
    struct test_db_fixture *f = test_db_fixture_get(state);
    add_project(f->c);
    for (int i = 0; i < 3; i++) {
        struct sat_api_key k = {.created_at = i};
        k.id[0] = (uint8_t)i;
        k.head[0] = (uint8_t)i;
        memcpy(k.project_id, PROJECT, SAT_ID_SIZE);
        snprintf(k.name, sizeof k.name, "k%d", i);
        assert_int_equal(sat_db_api_key_insert(f->c, &k), TS_OK);
    }
    int n = 0;
    assert_int_equal(sat_db_api_key_list(f->c, PROJECT, count_key, &n), TS_OK);
    assert_int_equal(n, 3);
    n = 0;
    uint8_t other[SAT_ID_SIZE] = {9};
    assert_int_equal(sat_db_api_key_list(f->c, other, count_key, &n), TS_OK);
    assert_int_equal(n, 0);
}

static void add_bucket(struct ts_db_conn *c, const char *name)
{
    struct sat_bucket b = {.created_at = 10, .placement = 0};
    memcpy(b.project_id, PROJECT, SAT_ID_SIZE);
    b.name_len = strlen(name);
    memcpy(b.name, name, b.name_len);
    assert_int_equal(sat_db_bucket_insert(c, &b), TS_OK);
}

static void test_buckets_paginate(void **state)
{
    struct test_db_fixture *f = test_db_fixture_get(state);
    add_project(f->c);
    const char *names[] = {"delta", "alpha", "echo", "bravo", "charlie"};
    for (size_t i = 0; i < TS_ARRAY_LEN(names); i++) {
        add_bucket(f->c, names[i]);
    }
    struct sat_bucket b = {0};
    memcpy(b.project_id, PROJECT, SAT_ID_SIZE);
    memcpy(b.name, "alpha", 5);
    b.name_len = 5;
    assert_int_equal(sat_db_bucket_insert(f->c, &b), TS_ERR_EXISTS);
    int64_t count = 0;
    assert_int_equal(sat_db_bucket_count(f->c, PROJECT, &count), TS_OK);
    assert_int_equal(count, 5);

    struct sat_bucket page[2];
    size_t n = 0;
    bool more = false;
    const char *expect[] = {"alpha", "bravo", "charlie", "delta", "echo"};
    size_t seen = 0;
    uint8_t cursor[64];
    size_t cursor_len = 0;
    do {
        assert_int_equal(sat_db_bucket_list(f->c, PROJECT, cursor, cursor_len, 2, page, &n, &more),
                         TS_OK);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(page[i].name_len, strlen(expect[seen]));
            assert_memory_equal(page[i].name, expect[seen], page[i].name_len);
            seen++;
        }
        if (n > 0) {
            memcpy(cursor, page[n - 1].name, page[n - 1].name_len);
            cursor_len = page[n - 1].name_len;
        }
    } while (more);
    assert_int_equal(seen, 5);

    assert_int_equal(sat_db_bucket_get(f->c, PROJECT, (const uint8_t *)"echo", 4, &b), TS_OK);
    assert_int_equal(b.created_at, 10);
    assert_int_equal(sat_db_bucket_delete(f->c, PROJECT, (const uint8_t *)"echo", 4), TS_OK);
    assert_int_equal(sat_db_bucket_delete(f->c, PROJECT, (const uint8_t *)"echo", 4),
                     TS_ERR_NOT_FOUND);
    assert_int_equal(sat_db_bucket_get(f->c, PROJECT, (const uint8_t *)"echo", 4, &b),
                     TS_ERR_NOT_FOUND);
}

static struct sat_object *new_object(const char *bucket, const char *key, uint8_t stream)
{
    struct sat_object *o = calloc(1, sizeof *o);
    assert_non_null(o);
    memcpy(o->project_id, PROJECT, SAT_ID_SIZE);
    o->bucket_len = strlen(bucket);
    memcpy(o->bucket, bucket, o->bucket_len);
    o->key_len = strlen(key);
    memcpy(o->key, key, o->key_len);
    memset(o->stream_id, stream, SAT_ID_SIZE);
    o->created_at = 100;
    o->zombie_deadline = 200;
    struct sat_redundancy r;
    assert_int_equal(sat_redundancy_parse(SAT_REDUNDANCY_LOCAL, &r), TS_OK);
    o->redundancy = sat_redundancy_pack(&r);
    o->encryption = (2ll << 32) | 7424;
    return o;
}

static void put_segment(struct ts_db_conn *c, uint8_t stream, int64_t position, int64_t plain,
                        bool is_inline)
{
    struct sat_segment *s = calloc(1, sizeof *s);
    assert_non_null(s);
    memset(s->stream_id, stream, SAT_ID_SIZE);
    s->position = position;
    s->key_nonce_len = 24;
    s->encrypted_key_len = 48;
    memset(s->encrypted_key, 0xee, 48);
    s->plain_size = plain;
    s->encrypted_size = plain + 16;
    s->plain_offset = 999; /* renumbered by commit */
    s->is_inline = is_inline;
    if (is_inline) {
        s->inline_len = (size_t)plain + 16;
    } else {
        memset(s->root_piece_id, 0x77, 32);
        s->pieces[0] = 1;
        s->pieces[1] = 0;
        s->pieces[2] = 5;
        s->pieces_len = 3;
    }
    assert_int_equal(sat_db_segment_put(c, s), TS_OK);
    free(s);
}

static void commit(struct ts_db_conn *c, struct sat_object *o, const char *meta)
{
    o->metadata_len = strlen(meta);
    memcpy(o->metadata, meta, o->metadata_len);
    o->metadata_key_len = 48;
    o->metadata_nonce_len = 24;
    assert_int_equal(sat_db_object_commit(c, o), TS_OK);
}

static void test_object_lifecycle(void **state)
{
    struct test_db_fixture *f = test_db_fixture_get(state);
    add_project(f->c);
    add_bucket(f->c, "bkt");
    struct sat_object *o = new_object("bkt", "k1", 1);
    struct sat_object *got = calloc(1, sizeof *got);
    assert_non_null(got);
    assert_int_equal(sat_db_object_insert_pending(f->c, o), TS_OK);
    assert_int_equal(o->version, 1);
    /* A pending object is invisible to readers. */
    assert_int_equal(sat_db_object_get_committed(f->c, PROJECT, o->bucket, 3, o->key, 2, got),
                     TS_ERR_NOT_FOUND);
    put_segment(f->c, 1, 1, 300, false);
    put_segment(f->c, 1, 0, 1000, false);
    put_segment(f->c, 1, 0, 1000, false); /* a retried commit replaces the row */
    put_segment(f->c, 1, 2, 10, true);
    commit(f->c, o, "meta-1");
    assert_int_equal(o->status, SAT_OBJECT_COMMITTED);
    assert_int_equal(o->segment_count, 3);
    assert_int_equal(o->total_plain_size, 1310);
    assert_int_equal(o->total_encrypted_size, 1310 + 48);
    assert_int_equal(o->zombie_deadline, 0);
    /* Offsets numbered in position order. */
    struct sat_segment *segs = calloc(3, sizeof *segs);
    size_t n = 0;
    bool more = true;
    assert_int_equal(sat_db_segments_list(f->c, o->stream_id, 0, 3, segs, &n, &more), TS_OK);
    assert_int_equal(n, 3);
    assert_false(more);
    assert_int_equal(segs[0].plain_offset, 0);
    assert_int_equal(segs[1].plain_offset, 1000);
    assert_int_equal(segs[2].plain_offset, 1300);
    assert_false(segs[0].is_inline);
    assert_int_equal(segs[0].pieces_len, 3);
    assert_int_equal(segs[0].root_piece_id[5], 0x77);
    assert_true(segs[2].is_inline);
    assert_int_equal(segs[2].inline_len, 26);
    assert_int_equal(sat_db_segments_list(f->c, o->stream_id, 1, 1, segs, &n, &more), TS_OK);
    assert_int_equal(n, 1);
    assert_true(more);
    assert_int_equal(segs[0].position, 1);
    /* Committing twice is refused (no pending object with that stream). */
    assert_int_equal(sat_db_object_commit(f->c, o), TS_ERR_NOT_FOUND);

    /* A second upload of the same key replaces the first on commit. */
    struct sat_object *o2 = new_object("bkt", "k1", 2);
    assert_int_equal(sat_db_object_insert_pending(f->c, o2), TS_OK);
    assert_int_equal(o2->version, 2);
    assert_int_equal(sat_db_object_get_committed(f->c, PROJECT, o->bucket, 3, o->key, 2, got),
                     TS_OK);
    assert_memory_equal(got->metadata, "meta-1", 6);
    put_segment(f->c, 2, 0, 5, true);
    commit(f->c, o2, "meta-2");
    assert_int_equal(sat_db_object_get_committed(f->c, PROJECT, o->bucket, 3, o->key, 2, got),
                     TS_OK);
    assert_int_equal(got->version, 2);
    assert_memory_equal(got->metadata, "meta-2", 6);
    assert_int_equal(sat_db_object_get_by_stream(f->c, o->stream_id, got), TS_ERR_NOT_FOUND);
    assert_int_equal(sat_db_segments_list(f->c, o->stream_id, 0, 3, segs, &n, &more), TS_OK);
    assert_int_equal(n, 0); /* the old version's segments went with it */

    bool empty = true;
    assert_int_equal(sat_db_bucket_is_empty(f->c, PROJECT, o->bucket, 3, &empty), TS_OK);
    assert_false(empty);
    assert_int_equal(sat_db_object_delete_committed(f->c, PROJECT, o->bucket, 3, o->key, 2, got),
                     TS_OK);
    assert_int_equal(got->version, 2);
    assert_int_equal(sat_db_object_delete_committed(f->c, PROJECT, o->bucket, 3, o->key, 2, got),
                     TS_ERR_NOT_FOUND);
    assert_int_equal(sat_db_bucket_is_empty(f->c, PROJECT, o->bucket, 3, &empty), TS_OK);
    assert_true(empty);
    free(segs);
    free(o);
    free(o2);
    free(got);
}

static void test_zombies_and_expired_are_cleaned(void **state)
{
    struct test_db_fixture *f = test_db_fixture_get(state);
    add_project(f->c);
    add_bucket(f->c, "bkt");
    struct sat_object *a = new_object("bkt", "a", 1); /* pending, deadline 200 */
    struct sat_object *b = new_object("bkt", "b", 2); /* pending, deadline 500 */
    struct sat_object *e = new_object("bkt", "e", 3); /* committed, expires 300 */
    b->zombie_deadline = 500;
    e->expires_at = 300;
    assert_int_equal(sat_db_object_insert_pending(f->c, a), TS_OK);
    assert_int_equal(sat_db_object_insert_pending(f->c, b), TS_OK);
    assert_int_equal(sat_db_object_insert_pending(f->c, e), TS_OK);
    put_segment(f->c, 1, 0, 10, false);
    put_segment(f->c, 3, 0, 10, false);
    commit(f->c, e, "m");
    int64_t deleted = 0;
    assert_int_equal(sat_db_objects_delete_zombies(f->c, 300, 100, &deleted), TS_OK);
    assert_int_equal(deleted, 1);
    assert_int_equal(sat_db_object_get_by_stream(f->c, a->stream_id, a), TS_ERR_NOT_FOUND);
    assert_int_equal(sat_db_object_get_by_stream(f->c, b->stream_id, b), TS_OK);
    struct sat_segment *s = calloc(1, sizeof *s);
    size_t n = 0;
    bool more = false;
    assert_int_equal(sat_db_segments_list(f->c, a->stream_id, 0, 1, s, &n, &more), TS_OK);
    assert_int_equal(n, 0);
    assert_int_equal(sat_db_objects_delete_expired(f->c, 299, 100, &deleted), TS_OK);
    assert_int_equal(deleted, 0);
    assert_int_equal(sat_db_objects_delete_expired(f->c, 301, 100, &deleted), TS_OK);
    assert_int_equal(deleted, 1);
    assert_int_equal(sat_db_object_get_by_stream(f->c, e->stream_id, e), TS_ERR_NOT_FOUND);
    free(s);
    free(a);
    free(b);
    free(e);
}

struct scan_ctx {
    char keys[16][16];
    int n;
};

static ts_err collect(const struct sat_object *o, void *ctx, bool *stop)
{
    struct scan_ctx *sc = ctx;
    (void)stop;
    assert_true(sc->n < 16 && o->key_len < 16);
    memcpy(sc->keys[sc->n], o->key, o->key_len);
    sc->keys[sc->n][o->key_len] = 0;
    sc->n++;
    return TS_OK;
}

static void test_objects_scan_ranges(void **state)
{
    struct test_db_fixture *f = test_db_fixture_get(state);
    add_project(f->c);
    add_bucket(f->c, "bkt");
    add_bucket(f->c, "other");
    const char *keys[] = {"a/1", "a/2", "b", "a/", "c/x/y", "a0"};
    for (size_t i = 0; i < TS_ARRAY_LEN(keys); i++) {
        struct sat_object *o = new_object("bkt", keys[i], (uint8_t)(10 + i));
        assert_int_equal(sat_db_object_insert_pending(f->c, o), TS_OK);
        commit(f->c, o, "m");
        free(o);
    }
    struct sat_object *p = new_object("bkt", "a/3", 30); /* pending: never listed */
    assert_int_equal(sat_db_object_insert_pending(f->c, p), TS_OK);
    struct sat_object *ob = new_object("other", "a/1", 31);
    assert_int_equal(sat_db_object_insert_pending(f->c, ob), TS_OK);
    commit(f->c, ob, "m");
    free(p);
    free(ob);

    struct scan_ctx sc = {0};
    const uint8_t *bkt = (const uint8_t *)"bkt";
    assert_int_equal(sat_db_objects_scan(f->c, PROJECT, bkt, 3, (const uint8_t *)"", 0, false, NULL,
                                         0, 100, collect, &sc),
                     TS_OK);
    assert_int_equal(sc.n, 6);
    assert_string_equal(sc.keys[0], "a/");
    assert_string_equal(sc.keys[1], "a/1");
    assert_string_equal(sc.keys[2], "a/2");
    assert_string_equal(sc.keys[3], "a0");
    assert_string_equal(sc.keys[4], "b");
    assert_string_equal(sc.keys[5], "c/x/y");
    /* Prefix range [a/, a0) exclusive of the cursor "a/1". */
    memset(&sc, 0, sizeof sc);
    assert_int_equal(sat_db_objects_scan(f->c, PROJECT, bkt, 3, (const uint8_t *)"a/1", 3, true,
                                         (const uint8_t *)"a0", 2, 100, collect, &sc),
                     TS_OK);
    assert_int_equal(sc.n, 1);
    assert_string_equal(sc.keys[0], "a/2");
    /* Limit. */
    memset(&sc, 0, sizeof sc);
    assert_int_equal(sat_db_objects_scan(f->c, PROJECT, bkt, 3, (const uint8_t *)"a/", 2, false,
                                         NULL, 0, 2, collect, &sc),
                     TS_OK);
    assert_int_equal(sc.n, 2);
    assert_string_equal(sc.keys[1], "a/1");

    /* Forced bucket deletion removes objects (committed and pending) and segments. */
    int64_t deleted = 0;
    assert_int_equal(sat_db_bucket_delete_objects(f->c, PROJECT, bkt, 3, &deleted), TS_OK);
    assert_int_equal(deleted, 6);
    bool empty = false;
    assert_int_equal(sat_db_bucket_is_empty(f->c, PROJECT, bkt, 3, &empty), TS_OK);
    assert_true(empty);
    assert_int_equal(sat_db_bucket_is_empty(f->c, PROJECT, (const uint8_t *)"other", 5, &empty),
                     TS_OK);
    assert_false(empty);
}

static void checkin(struct ts_db_conn *c, uint8_t id, const char *net, int64_t free_disk, bool ok,
                    int64_t now)
{
    struct sat_node n = {.free_disk = free_disk};
    memset(n.id, id, sizeof n.id);
    snprintf(n.address, sizeof n.address, "%s.%u:7777", net, id);
    snprintf(n.last_net, sizeof n.last_net, "%s", net);
    n.public_key_len = 3;
    snprintf(n.version, sizeof n.version, "0.1.0");
    snprintf(n.wallet, sizeof n.wallet, "0xabc");
    assert_int_equal(sat_db_node_checkin(c, &n, ok, now), TS_OK);
}

static void test_nodes_checkin_aliases_and_selection_filter(void **state)
{
    struct test_db_fixture *f = test_db_fixture_get(state);
    const int64_t now = 100000;
    checkin(f->c, 1, "10.0.1", 10000, true, now);         /* good */
    checkin(f->c, 2, "10.0.2", 10000, true, now - 20000); /* offline: last seen 5.5 h ago */
    checkin(f->c, 3, "10.0.3", 10, true, now);            /* too little space */
    checkin(f->c, 4, "10.0.4", 10000, true, now);         /* disqualified below */
    checkin(f->c, 5, "10.0.5", 10000, true, now - 10);    /* ping failed afterwards */
    checkin(f->c, 5, "10.0.5", 10000, false, now);
    checkin(f->c, 6, "10.0.6", 10000, true, now); /* vetted below */
    checkin(f->c, 1, "10.0.1", 20000, true, now); /* a second check-in updates */
    uint8_t id4[32], id6[32], id1[32];
    memset(id4, 4, 32);
    memset(id6, 6, 32);
    memset(id1, 1, 32);
    assert_int_equal(sat_db_node_set_disqualified(f->c, id4, now), TS_OK);
    assert_int_equal(sat_db_node_set_vetted(f->c, id6, now), TS_OK);
    uint8_t none[32] = {0};
    assert_int_equal(sat_db_node_set_vetted(f->c, none, now), TS_ERR_NOT_FOUND);

    struct sat_node n;
    assert_int_equal(sat_db_node_get(f->c, id1, &n), TS_OK);
    assert_int_equal(n.free_disk, 20000);
    assert_int_equal(n.alias, 1); /* kept across check-ins */
    assert_string_equal(n.wallet, "0xabc");
    assert_int_equal(n.last_contact_success, now);
    uint32_t alias = 0;
    assert_int_equal(sat_db_node_alias_get(f->c, id6, &alias), TS_OK);
    assert_int_equal(alias, 6);
    assert_int_equal(sat_db_node_alias_get(f->c, none, &alias), TS_ERR_NOT_FOUND);

    struct sat_node_candidate *cands = NULL;
    size_t count = 0;
    assert_int_equal(sat_db_nodes_selectable(f->c, now - 4 * 3600, 1000, 100, &cands, &count),
                     TS_OK);
    assert_int_equal(count, 2);
    int seen1 = 0, seen6 = 0;
    for (size_t i = 0; i < count; i++) {
        if (cands[i].id[0] == 1) {
            seen1 = 1;
            assert_false(cands[i].vetted);
            assert_string_equal(cands[i].last_net, "10.0.1");
        }
        if (cands[i].id[0] == 6) {
            seen6 = 1;
            assert_true(cands[i].vetted);
        }
    }
    assert_true(seen1 && seen6);
    free(cands);

    uint32_t aliases[3] = {6, 99, 1};
    struct sat_node out[3];
    assert_int_equal(sat_db_nodes_by_alias(f->c, aliases, 3, out), TS_OK);
    assert_int_equal(out[0].id[0], 6);
    assert_int_equal(out[1].alias, 0);
    assert_int_equal(out[2].id[0], 1);
    assert_string_equal(out[2].address, "10.0.1.1:7777");
}

static void test_bandwidth_rollups_and_windows(void **state)
{
    struct test_db_fixture *f = test_db_fixture_get(state);
    const uint8_t *bkt = (const uint8_t *)"bkt";
    uint8_t serial[16] = {42}, project[SAT_ID_SIZE], bucket[TS_BUCKET_NAME_MAX];
    size_t bucket_len = 0;
    assert_int_equal(sat_db_serial_insert(f->c, serial, PROJECT, bkt, 3, 500), TS_OK);
    assert_int_equal(sat_db_serial_insert(f->c, serial, PROJECT, bkt, 3, 500), TS_OK);
    assert_int_equal(sat_db_serial_get(f->c, serial, project, bucket, &bucket_len), TS_OK);
    assert_memory_equal(project, PROJECT, SAT_ID_SIZE);
    assert_int_equal(bucket_len, 3);
    int64_t deleted = 0;
    assert_int_equal(sat_db_serials_delete_expired(f->c, 501, &deleted), TS_OK);
    assert_int_equal(deleted, 1);
    assert_int_equal(sat_db_serial_get(f->c, serial, project, bucket, &bucket_len),
                     TS_ERR_NOT_FOUND);

    assert_int_equal(sat_db_bucket_bandwidth_add(f->c, PROJECT, bkt, 3, 3600, 2, 100, 0), TS_OK);
    assert_int_equal(sat_db_bucket_bandwidth_add(f->c, PROJECT, bkt, 3, 3600, 2, 50, 30), TS_OK);
    assert_int_equal(sat_db_bucket_bandwidth_add(f->c, PROJECT, bkt, 3, 7200, 1, 7, 7), TS_OK);
    int64_t alloc = 0, settled = 0;
    assert_int_equal(
        sat_db_bucket_bandwidth_total(f->c, PROJECT, bkt, 3, 0, 7200, 2, &alloc, &settled), TS_OK);
    assert_int_equal(alloc, 150);
    assert_int_equal(settled, 30);
    assert_int_equal(
        sat_db_bucket_bandwidth_total(f->c, PROJECT, bkt, 3, 0, 9999, -1, &alloc, &settled), TS_OK);
    assert_int_equal(alloc, 157);

    uint8_t node[32];
    memset(node, 9, sizeof node);
    bool found = true;
    int64_t total = 0, items = 0;
    assert_int_equal(sat_db_node_window_get(f->c, node, 3600, &found, &total, &items), TS_OK);
    assert_false(found);
    assert_int_equal(sat_db_node_window_insert(f->c, node, 3600, 900, 3, 4000), TS_OK);
    assert_int_equal(sat_db_node_window_insert(f->c, node, 3600, 900, 3, 4000), TS_ERR_EXISTS);
    assert_int_equal(sat_db_node_window_get(f->c, node, 3600, &found, &total, &items), TS_OK);
    assert_true(found);
    assert_int_equal(total, 900);
    assert_int_equal(items, 3);
    assert_int_equal(sat_db_node_bandwidth_add(f->c, node, 3600, 2, 600), TS_OK);
    assert_int_equal(sat_db_node_bandwidth_add(f->c, node, 3600, 1, 300), TS_OK);
    assert_int_equal(sat_db_node_bandwidth_add(f->c, node, 7200, 2, 5), TS_OK);
    assert_int_equal(sat_db_node_bandwidth_total(f->c, node, 0, 7200, -1, &total), TS_OK);
    assert_int_equal(total, 900);
    assert_int_equal(sat_db_node_bandwidth_total(f->c, node, 0, 10000, 2, &total), TS_OK);
    assert_int_equal(total, 605);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST_DB_BOTH(test_projects_and_keys),
        TEST_DB_BOTH(test_api_key_list),
        TEST_DB_BOTH(test_buckets_paginate),
        TEST_DB_BOTH(test_object_lifecycle),
        TEST_DB_BOTH(test_zombies_and_expired_are_cleaned),
        TEST_DB_BOTH(test_objects_scan_ranges),
        TEST_DB_BOTH(test_nodes_checkin_aliases_and_selection_filter),
        TEST_DB_BOTH(test_bandwidth_rollups_and_windows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
