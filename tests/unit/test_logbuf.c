#include "unit.h"

#include "lib/logbuf.h"

#include <string.h>

static void
entries_come_out_in_order_with_their_types(void **state)
{
    struct logbuf b;
    char out[LOGBUF_ENTRY_MAX];
    uint16_t type = 0;
    (void)state;
    assert_int_equal(logbuf_init(&b, 0), 0);
    assert_true(logbuf_put(&b, 1, "one\n", 4));
    assert_true(logbuf_put(&b, 8, "two!\n", 5));
    assert_int_equal(logbuf_take(&b, &type, out), 4);
    assert_int_equal(type, 1);
    assert_memory_equal(out, "one\n", 4);
    assert_int_equal(logbuf_take(&b, &type, out), 5);
    assert_int_equal(type, 8);
    assert_memory_equal(out, "two!\n", 5);
    assert_int_equal(logbuf_take(&b, &type, out), 0);
    assert_int_equal(b.written, 2);
    assert_int_equal(b.dropped, 0);
    logbuf_deinit(&b);
}

static void
full_ring_drops_and_counts_instead_of_blocking(void **state)
{
    struct logbuf b;
    char line[1000];
    char out[LOGBUF_ENTRY_MAX];
    uint16_t type;
    size_t put = 0;
    (void)state;
    memset(line, 'x', sizeof(line));
    assert_int_equal(logbuf_init(&b, 8192), 0);
    for (int i = 0; i < 20; i++) {
        put += logbuf_put(&b, 1, line, sizeof(line));
    }
    assert_int_equal(put, 8); /* 8 * 1004 fits in 8192, a 9th does not */
    assert_int_equal(b.dropped, 12);
    assert_int_equal(logbuf_take(&b, &type, out), sizeof(line));
    assert_true(logbuf_put(&b, 1, line, sizeof(line)));
    assert_int_equal(b.dropped, 12);
    logbuf_deinit(&b);
}

static void
entries_wrap_around_the_end_of_the_ring_intact(void **state)
{
    struct logbuf b;
    char line[777];
    char out[LOGBUF_ENTRY_MAX];
    uint16_t type;
    (void)state;
    assert_int_equal(logbuf_init(&b, 8192), 0);
    for (int i = 0; i < 100; i++) {
        memset(line, 'a' + i % 26, sizeof(line));
        assert_true(logbuf_put(&b, (uint16_t)i, line, sizeof(line) - i % 7));
        assert_int_equal(logbuf_take(&b, &type, out), sizeof(line) - i % 7);
        assert_int_equal(type, i);
        assert_memory_equal(out, line, sizeof(line) - i % 7);
    }
    logbuf_deinit(&b);
}

static void
entry_longer_than_the_maximum_is_dropped(void **state)
{
    struct logbuf b;
    static char big[LOGBUF_ENTRY_MAX + 1];
    (void)state;
    assert_int_equal(logbuf_init(&b, 0), 0);
    assert_false(logbuf_put(&b, 1, big, sizeof(big)));
    assert_int_equal(b.dropped, 1);
    logbuf_deinit(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(entries_come_out_in_order_with_their_types),
        cmocka_unit_test(full_ring_drops_and_counts_instead_of_blocking),
        cmocka_unit_test(entries_wrap_around_the_end_of_the_ring_intact),
        cmocka_unit_test(entry_longer_than_the_maximum_is_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
