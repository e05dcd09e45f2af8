/*
 * Object features over a real network (tessera-sim via planet: a satellite and 13 storage node
 * processes, RS 4/6/8/10), driven through the public uplink API only:
 *   multipart   parts uploaded out of order (remote and inline-sized, one with the caller's ETag,
 *               one replaced by a second upload), list parts / uploads, complete of a subset
 *               assembles byte-identical in part order (full and ranged reads across a part
 *               boundary), metadata from begin kept; a small middle part gives TOO_SMALL; abort
 *               removes the upload; an upload ID used with another key is NOT_FOUND
 *   copy/move   server-side copy (metadata replaced) to another bucket, source deleted, copy still
 *               readable; move; metadata update
 *   retries     3 of the 10 nodes receiving a segment are killed mid-upload: the upload still
 *               stores 8 pieces thanks to RetryBeginSegmentPieces, and downloads byte-identical
 * Usage: test_uplink_objects <sqlite|postgres> <ip_base>. Env as for the e2e tests.
 */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"

static const char *test_db = "sqlite";
static int test_ip_base = 40;

#define PART_MIN (256 * 1024) /* the satellite's part_size_min for this test */

static void put_ok(struct ul_project *pr, const char *bucket, const char *key, uint64_t size,
                   uint64_t seed)
{
    ul_err err = e2e_put(pr, bucket, key, size, seed, NULL, NULL);
    CHECK(err == UL_OK, "upload %s/%s: %s (%s)", bucket, key, ul_errname(err), ul_error_detail());
}

static void get_ok(struct ul_project *pr, const char *bucket, const char *key, uint64_t size,
                   uint64_t seed)
{
    uint64_t got = 0;
    bool equal = false;
    ul_err err = e2e_get_verify(pr, bucket, key, 0, -1, seed, &got, &equal);
    CHECK(err == UL_OK, "download %s/%s: %s (%s)", bucket, key, ul_errname(err), ul_error_detail());
    CHECK(got == size && equal, "download %s/%s: %llu bytes, equal=%d", bucket, key,
          (unsigned long long)got, equal);
}

/* Uploads part number of size bytes: bytes [offset, offset + size) of the object named seed. */
static void part_put(struct ul_project *pr, const char *bucket, const char *key, const char *id,
                     uint32_t number, uint64_t offset, size_t size, uint64_t seed, const char *etag,
                     struct ul_part_info *info)
{
    struct ul_part_upload *pu = NULL;
    CHECK_OK(ul_multipart_part_upload(pr, bucket, key, id, number, &pu));
    uint8_t *buf = malloc(size + 1);
    CHECK(buf != NULL, "malloc");
    e2e_fill(buf, size, seed, offset);
    for (size_t at = 0; at < size;) {
        size_t n = size - at < 300000 ? size - at : 300000;
        CHECK_OK(ul_part_upload_write(pu, buf + at, n));
        at += n;
    }
    free(buf);
    if (etag != NULL) {
        CHECK_OK(ul_part_upload_set_etag(pu, etag));
    }
    CHECK_OK(ul_part_upload_commit(pu, info));
}

/* Reads the whole object and compares it with the concatenation of generated ranges. */
static void get_parts_ok(struct ul_project *pr, const char *bucket, const char *key,
                         uint64_t offset, int64_t length, const uint64_t *seeds,
                         const uint64_t *sizes, size_t count)
{
    struct ul_download_options o = {.offset = offset, .length = length};
    struct ul_download *d = NULL;
    CHECK_OK(ul_download_open(pr, bucket, key, &o, &d));
    uint64_t total = 0;
    for (size_t i = 0; i < count; i++) {
        total += sizes[i];
    }
    uint64_t end = length < 0 ? total : offset + (uint64_t)length;
    uint8_t *got = malloc(1 << 16), *want = malloc(1 << 16);
    uint64_t pos = offset;
    for (;;) {
        size_t n = 0;
        CHECK_OK(ul_download_read(d, got, 1 << 16, &n));
        if (n == 0) {
            break;
        }
        for (size_t j = 0; j < n; j++, pos++) {
            uint64_t base = 0;
            size_t part = 0;
            while (pos >= base + sizes[part]) {
                base += sizes[part++];
            }
            e2e_fill(want, 1, seeds[part], pos - base);
            CHECK(got[j] == want[0], "byte %llu differs", (unsigned long long)pos);
        }
    }
    CHECK(pos == end, "read %llu bytes, want %llu", (unsigned long long)(pos - offset),
          (unsigned long long)(end - offset));
    free(got);
    free(want);
    ul_download_close(d);
}

static void scenario_multipart(struct ul_project *pr)
{
    CHECK_OK(ul_bucket_create(pr, "mpu", NULL));
    struct ul_metadata_entry meta[] = {{"content-type", "video/mp4"}};
    struct ul_multipart_options mo = {.metadata = meta, .metadata_count = 1};
    char *id = NULL;
    CHECK_OK(ul_multipart_begin(pr, "mpu", "dir/movie", &mo, &id));
    CHECK(strspn(id, "abcdefghijklmnopqrstuvwxyz234567") == strlen(id), "upload ID not text");

    /* Parts out of order; part 2 first uploaded with other bytes, then replaced; part 3 is
     * inline-sized; part 4 is never listed at completion. */
    uint64_t seeds[3] = {101, 102, 103}, sizes[3] = {PART_MIN + 77777, PART_MIN, 3000};
    struct ul_part_info pi;
    part_put(pr, "mpu", "dir/movie", id, 2, 0, PART_MIN + 4096 * 3, 999, NULL, &pi);
    part_put(pr, "mpu", "dir/movie", id, 3, 0, sizes[2], seeds[2], NULL, &pi);
    part_put(pr, "mpu", "dir/movie", id, 1, 0, sizes[0], seeds[0], NULL, &pi);
    CHECK(pi.part_number == 1 && pi.size == sizes[0] && strlen(pi.etag) == 64, "part 1 info");
    char etag1[UL_ETAG_MAX + 1];
    memcpy(etag1, pi.etag, sizeof etag1);
    part_put(pr, "mpu", "dir/movie", id, 2, 0, sizes[1], seeds[1],
             "d41d8cd98f00b204e9800998ecf8427e", &pi);
    part_put(pr, "mpu", "dir/movie", id, 4, 0, 5000, 104, NULL, &pi);

    struct ul_part_iter *pit = NULL;
    CHECK_OK(ul_multipart_part_list(pr, "mpu", "dir/movie", id, 0, &pit));
    const struct ul_part_info *item = NULL;
    uint32_t n = 0;
    for (;;) {
        CHECK_OK(ul_part_iter_next(pit, &item));
        if (item == NULL) {
            break;
        }
        n++;
        CHECK(item->part_number == n, "parts listed in order: got %u", item->part_number);
        if (n <= 3) {
            CHECK(item->size == sizes[n - 1], "part %u size %llu", n,
                  (unsigned long long)item->size);
        }
        if (n == 1) {
            CHECK(strcmp(item->etag, etag1) == 0, "part 1 etag %s", item->etag);
        }
        if (n == 2) {
            CHECK(strcmp(item->etag, "d41d8cd98f00b204e9800998ecf8427e") == 0, "caller etag");
        }
    }
    ul_part_iter_free(pit);
    CHECK(n == 4, "%u parts listed", n);

    struct ul_multipart_iter *mit = NULL;
    const struct ul_multipart_info *up = NULL;
    CHECK_OK(ul_multipart_list(pr, "mpu", NULL, &mit));
    CHECK_OK(ul_multipart_iter_next(mit, &up));
    CHECK(up != NULL && strcmp(up->key, "dir/movie") == 0 && strcmp(up->upload_id, id) == 0,
          "pending upload listed");
    CHECK_OK(ul_multipart_iter_next(mit, &up));
    CHECK(up == NULL, "one pending upload");
    ul_multipart_iter_free(mit);

    /* The ID only works with its own key; a bad order is refused. */
    struct ul_part_upload *pu = NULL;
    CHECK(ul_multipart_part_upload(pr, "mpu", "other", id, 1, &pu) == UL_ERR_NOT_FOUND,
          "upload ID with another key");
    uint32_t bad[] = {2, 1};
    CHECK(ul_multipart_complete(pr, "mpu", "dir/movie", id, bad, 2, NULL, NULL) ==
              UL_ERR_INVALID_ARGUMENT,
          "parts out of order");
    uint32_t parts[] = {1, 2, 3};
    struct ul_object_info info;
    CHECK_OK(ul_multipart_complete(pr, "mpu", "dir/movie", id, parts, 3, NULL, &info));
    CHECK(info.size == sizes[0] + sizes[1] + sizes[2], "assembled size %llu",
          (unsigned long long)info.size);
    CHECK(info.metadata_count == 1 && strcmp(info.metadata[0].value, "video/mp4") == 0,
          "metadata from begin");
    ul_object_info_release(&info);
    get_parts_ok(pr, "mpu", "dir/movie", 0, -1, seeds, sizes, 3);
    get_parts_ok(pr, "mpu", "dir/movie", sizes[0] - 100, 300, seeds, sizes, 3);
    get_parts_ok(pr, "mpu", "dir/movie", sizes[0] + sizes[1] + 10, -1, seeds, sizes, 3);
    CHECK_OK(ul_multipart_list(pr, "mpu", NULL, &mit));
    CHECK_OK(ul_multipart_iter_next(mit, &up));
    CHECK(up == NULL, "no pending upload after complete");
    ul_multipart_iter_free(mit);
    free(id);

    /* A small middle part, then abort. */
    CHECK_OK(ul_multipart_begin(pr, "mpu", "small", NULL, &id));
    part_put(pr, "mpu", "small", id, 1, 0, 10000, 7, NULL, NULL);
    part_put(pr, "mpu", "small", id, 2, 0, 10000, 8, NULL, NULL);
    uint32_t both[] = {1, 2};
    ul_err err = ul_multipart_complete(pr, "mpu", "small", id, both, 2, NULL, NULL);
    CHECK(err == UL_ERR_TOO_SMALL, "small part: %s", ul_errname(err));
    CHECK_OK(ul_multipart_abort(pr, "mpu", "small", id));
    CHECK(ul_multipart_abort(pr, "mpu", "small", id) == UL_ERR_NOT_FOUND, "abort twice");
    CHECK(ul_multipart_part_upload(pr, "mpu", "small", id, 3, &pu) == UL_OK, "opening is local");
    CHECK_OK(ul_part_upload_write(pu, "x", 1));
    CHECK(ul_part_upload_commit(pu, NULL) == UL_ERR_NOT_FOUND, "part of an aborted upload");
    struct ul_object_info st;
    CHECK(ul_object_stat(pr, "mpu", "small", &st) == UL_ERR_NOT_FOUND, "aborted: no object");
    free(id);
}

static void scenario_copy_move(struct ul_project *pr)
{
    CHECK_OK(ul_bucket_create(pr, "src", NULL));
    CHECK_OK(ul_bucket_create(pr, "dst", NULL));
    uint64_t size = 2 * MiB + 12345;
    put_ok(pr, "src", "a/b", size, 55);
    put_ok(pr, "src", "tiny", 100, 56);
    struct ul_metadata_entry meta[] = {{"k", "replaced"}};
    struct ul_copy_options co = {.replace_metadata = true, .metadata = meta, .metadata_count = 1};
    struct ul_object_info info;
    CHECK_OK(ul_object_copy(pr, "src", "a/b", "dst", "copy", &co, &info));
    CHECK(info.size == size && info.metadata_count == 1 &&
              strcmp(info.metadata[0].value, "replaced") == 0,
          "copy info");
    ul_object_info_release(&info);
    CHECK_OK(ul_object_copy(pr, "src", "tiny", "src", "tiny2", NULL, NULL));
    get_ok(pr, "src", "a/b", size, 55);
    get_ok(pr, "dst", "copy", size, 55);
    get_ok(pr, "src", "tiny2", 100, 56);
    CHECK_OK(ul_object_delete(pr, "src", "a/b"));
    get_ok(pr, "dst", "copy", size, 55);
    CHECK(ul_object_copy(pr, "src", "a/b", "dst", "x", NULL, NULL) == UL_ERR_NOT_FOUND,
          "copy of a deleted object");

    CHECK_OK(ul_object_move(pr, "dst", "copy", "src", "moved/here"));
    struct ul_object_info st;
    CHECK(ul_object_stat(pr, "dst", "copy", &st) == UL_ERR_NOT_FOUND, "moved away");
    get_ok(pr, "src", "moved/here", size, 55);
    CHECK_OK(ul_object_stat(pr, "src", "moved/here", &st));
    CHECK(st.metadata_count == 1 && strcmp(st.metadata[0].value, "replaced") == 0,
          "metadata moves with the object");
    ul_object_info_release(&st);

    struct ul_metadata_entry upd[] = {{"a", "1"}, {"b", "2"}};
    CHECK_OK(ul_object_update_metadata(pr, "src", "moved/here", upd, 2));
    CHECK_OK(ul_object_stat(pr, "src", "moved/here", &st));
    CHECK(st.metadata_count == 2 && st.size == size, "updated metadata");
    ul_object_info_release(&st);
    get_ok(pr, "src", "moved/here", size, 55);
}

/* Nodes holding an upload in progress (a file under storage/temp). */
static int nodes_uploading(int *out, int max)
{
    int n = 0;
    for (int i = 1; i <= e2e_planet.nodes && n < max; i++) {
        char dir[PLANET_PATH_MAX + 16];
        planet_node_storage(&e2e_planet, i, dir);
        strncat(dir, "/temp", sizeof dir - strlen(dir) - 1);
        DIR *d = opendir(dir);
        struct dirent *e;
        bool busy = false;
        while (d != NULL && (e = readdir(d)) != NULL) {
            busy = busy || e->d_name[0] != '.';
        }
        if (d != NULL) {
            closedir(d);
        }
        if (busy && e2e_planet.node_pids[i] > 0) {
            out[n++] = i;
        }
    }
    return n;
}

static void scenario_retries(struct ul_project *pr)
{
    CHECK_OK(ul_bucket_create(pr, "retry", NULL));
    struct ul_upload *u = NULL;
    struct ul_upload_options uo = {.parallelism = 1};
    CHECK_OK(ul_upload_begin(pr, "retry", "obj", &uo, &u));
    uint64_t size = 6 * MiB, written = 0;
    uint8_t *buf = malloc(MiB);
    CHECK(buf != NULL, "malloc");
    int busy[16], count = 0;
    /* Write until the ten nodes of the segment have data in flight, then kill three. */
    for (int round = 0; round < 3 && count < 10; round++) {
        e2e_fill(buf, MiB, 77, written);
        CHECK_OK(ul_upload_write(u, buf, MiB));
        written += MiB;
        for (int i = 0; i < 200 && (count = nodes_uploading(busy, 16)) < 10; i++) {
            e2e_sleep_ms(25);
        }
    }
    CHECK(count >= 3, "only %d nodes are receiving pieces", count);
    for (int i = 0; i < 3; i++) {
        CHECK(planet_kill_node(&e2e_planet, busy[i], SIGKILL) == 0, "kill node %d", busy[i]);
    }
    while (written < size) {
        e2e_fill(buf, MiB, 77, written);
        CHECK_OK(ul_upload_write(u, buf, MiB));
        written += MiB;
    }
    free(buf);
    ul_err err = ul_upload_commit(u, NULL);
    CHECK(err == UL_OK, "upload with 3 nodes killed: %s (%s)", ul_errname(err), ul_error_detail());
    get_ok(pr, "retry", "obj", size, 77);
}

/* Three uploads at once hold three buffer slots; once they are committed the project keeps them
 * for reuse, and ul_project_trim hands back all but two. Uploads work as before afterwards. */
static void scenario_trim(struct ul_project *pr)
{
    CHECK_OK(ul_bucket_create(pr, "trim", NULL));
    struct ul_upload *u[3] = {NULL};
    uint8_t *buf = malloc(MiB);
    CHECK(buf != NULL, "malloc");
    for (int i = 0; i < 3; i++) {
        char key[16];
        snprintf(key, sizeof key, "t%d", i);
        CHECK_OK(ul_upload_begin(pr, "trim", key, NULL, &u[i]));
        e2e_fill(buf, MiB, 90 + (uint64_t)i, 0);
        CHECK_OK(ul_upload_write(u[i], buf, MiB));
    }
    for (int i = 0; i < 3; i++) {
        CHECK_OK(ul_upload_commit(u[i], NULL));
    }
    free(buf);
    struct ul_stats st;
    ul_project_stats(pr, &st);
    CHECK(st.buffer_slots >= 3, "three concurrent uploads held %llu slots",
          (unsigned long long)st.buffer_slots);
    ul_project_trim(pr, 60000);
    ul_project_stats(pr, &st);
    CHECK(st.buffer_slots >= 3, "slots idle for less than a minute were freed: %llu left",
          (unsigned long long)st.buffer_slots);
    ul_project_trim(pr, 0);
    ul_project_stats(pr, &st);
    CHECK(st.buffer_slots == 2, "after trim %llu slots are kept, not 2",
          (unsigned long long)st.buffer_slots);
    for (int i = 0; i < 3; i++) {
        char key[16];
        snprintf(key, sizeof key, "t%d", i);
        get_ok(pr, "trim", key, MiB, 90 + (uint64_t)i);
    }
}

int main(int argc, char **argv)
{
    if (argc >= 2) {
        test_db = argv[1];
    }
    if (argc >= 3) {
        test_ip_base = (int)strtol(argv[2], NULL, 10);
    }
    char name[96];
    snprintf(name, sizeof name, "uplink.objects.%s", test_db);
    char part_min[64];
    snprintf(part_min, sizeof part_min, "part_size_min=%d", PART_MIN);
    struct planet_opts o = {.test_name = name,
                            .nodes = 13,
                            .postgres = strcmp(test_db, "postgres") == 0,
                            .ip_base = test_ip_base,
                            .settings = {part_min, NULL}};
    CHECK(planet_start(&e2e_planet, &o) == 0, "the network did not start");
    struct ul_project *pr = e2e_open(e2e_planet.grant);
    scenario_multipart(pr);
    scenario_copy_move(pr);
    scenario_retries(pr);
    scenario_trim(pr);
    ul_project_close(pr);
    planet_stop(&e2e_planet);
    printf("ok: multipart, copy/move, retries, buffer trim\n");
    return 0;
}
