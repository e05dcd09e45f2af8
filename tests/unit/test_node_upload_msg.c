/* Unit test of the in-place parser of upload data messages (node_upload_message_parse): it must
 * agree with protobuf-c on every message it accepts, and hand everything unusual back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "node_piecestore.h"
#include "piecestore.pb-c.h"

static size_t pack(const Tessera__Piecestore__UploadRequest *req, uint8_t *out)
{
    return tessera__piecestore__upload_request__pack(req, out);
}

static void test_parses_order_and_chunk_in_place(void **state)
{
    (void)state;
    static uint8_t data[300000], buf[400000];
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (uint8_t)(i * 7);
    }
    const int64_t offsets[] = {0, 1, 262144, INT64_MAX / 2};
    const size_t lens[] = {0, 1, 65536, sizeof data};
    for (size_t k = 0; k < TS_ARRAY_LEN(offsets); k++) {
        for (int with_order = 0; with_order < 2; with_order++) {
            Tessera__Piecestore__UploadRequest req = TESSERA__PIECESTORE__UPLOAD_REQUEST__INIT;
            Tessera__Piecestore__Chunk chunk = TESSERA__PIECESTORE__CHUNK__INIT;
            Tessera__Orders__Order order = TESSERA__ORDERS__ORDER__INIT;
            uint8_t serial[16] = {9};
            order.serial_number.data = serial;
            order.serial_number.len = sizeof serial;
            order.amount = 12345;
            chunk.offset = offsets[k];
            chunk.data.data = data;
            chunk.data.len = lens[k];
            req.chunk = &chunk;
            req.order = with_order ? &order : NULL;
            size_t n = pack(&req, buf);
            struct node_upload_msg m;
            assert_int_equal(node_upload_message_parse(buf, n, &m), 1);
            assert_int_equal(m.has_chunk, 1);
            assert_int_equal(m.offset, offsets[k]);
            assert_int_equal(m.data_len, lens[k]);
            assert_true(lens[k] == 0 || (m.data >= buf && m.data + m.data_len <= buf + n));
            assert_memory_equal(m.data, data, lens[k]);
            if (with_order) {
                Tessera__Orders__Order *o = tessera__orders__order__unpack(NULL, m.order_len,
                                                                           m.order);
                assert_non_null(o);
                assert_int_equal(o->amount, 12345);
                tessera__orders__order__free_unpacked(o, NULL);
            } else {
                assert_null(m.order);
            }
        }
    }
}

static void test_hands_back_everything_else(void **state)
{
    (void)state;
    uint8_t buf[4096];
    Tessera__Piecestore__UploadRequest req = TESSERA__PIECESTORE__UPLOAD_REQUEST__INIT;
    Tessera__Orders__PieceHash done = TESSERA__ORDERS__PIECE_HASH__INIT;
    done.piece_size = 5;
    req.done = &done;
    struct node_upload_msg m;
    size_t n = pack(&req, buf);
    assert_int_equal(node_upload_message_parse(buf, n, &m), 0); /* the final hash */
    req.done = NULL;
    req.hash_algorithm = 1;
    n = pack(&req, buf);
    assert_int_equal(node_upload_message_parse(buf, n, &m), 0); /* another field */
    /* Truncated, wrong wire type, a field twice, non-minimal varint, length past the end. */
    static const uint8_t bad[][8] = {{0x1a, 0x05, 0x08},       {0x18, 0x01},
                                     {0x12, 0x00, 0x12, 0x00}, {0x1a, 0x80, 0x00},
                                     {0x1a, 0x02, 0x12, 0x09}, {0x1a, 0x02, 0x10, 0x01}};
    static const size_t bad_len[] = {3, 2, 4, 3, 4, 4};
    for (size_t i = 0; i < TS_ARRAY_LEN(bad); i++) {
        assert_int_equal(node_upload_message_parse(bad[i], bad_len[i], &m), 0);
    }
    /* The empty message is a valid (empty) request, as for protobuf-c. */
    assert_int_equal(node_upload_message_parse(buf, 0, &m), 1);
    assert_int_equal(m.has_chunk, 0);
    assert_null(m.order);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parses_order_and_chunk_in_place),
        cmocka_unit_test(test_hands_back_everything_else),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
