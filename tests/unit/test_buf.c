#include "unit.h"

#include "lib/buf.h"

#include <string.h>

static void
reserve_moves_unread_bytes_to_front_before_growing(void **state)
{
    struct buf b;
    (void)state;
    assert_int_equal(buf_init(&b, 8), BUF_OK);
    memcpy(buf_wptr(&b), "abcdefgh", 8);
    buf_commit(&b, 8);
    buf_consume(&b, 6);
    assert_int_equal(buf_reserve(&b, 6), BUF_OK);
    assert_int_equal(b.cap, 8);
    assert_int_equal(b.rpos, 0);
    assert_memory_equal(buf_rptr(&b), "gh", 2);
    assert_int_equal(buf_reserve(&b, 100), BUF_OK);
    assert_true(buf_wlen(&b) >= 100);
    assert_memory_equal(buf_rptr(&b), "gh", 2);
    buf_deinit(&b);
}

static void
consume_of_everything_resets_positions(void **state)
{
    struct buf b;
    (void)state;
    assert_int_equal(buf_init(&b, 16), BUF_OK);
    buf_commit(&b, 5);
    buf_consume(&b, 5);
    assert_int_equal(b.rpos, 0);
    assert_int_equal(b.wpos, 0);
    buf_deinit(&b);
}

static void
shrink_returns_grown_empty_buffer_to_its_size(void **state)
{
    struct buf b;
    (void)state;
    assert_int_equal(buf_init(&b, 16), BUF_OK);
    assert_int_equal(buf_reserve(&b, 1000), BUF_OK);
    buf_shrink(&b, 16);
    assert_int_equal(b.cap, 16);
    buf_deinit(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reserve_moves_unread_bytes_to_front_before_growing),
        cmocka_unit_test(consume_of_everything_resets_positions),
        cmocka_unit_test(shrink_returns_grown_empty_buffer_to_its_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
