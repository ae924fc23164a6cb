#include "unit.h"

#include "lib/outq.h"
#include "proto/keydump.h"

#include <string.h>

static void
uri_encodes_all_but_unreserved_bytes(void **state)
{
    char out[64];
    size_t n = dump_uri_encode(out, slice_make("aZ09-._~ %/\x01\xff", 13));
    (void)state;

    assert_int_equal(n, 8 + 5 * 3);
    assert_memory_equal(out, "aZ09-._~%20%25%2F%01%FF", n);
}

static void
meta_line_has_memcached_fields(void **state)
{
    char out[DUMP_META_LINE_MAX];
    struct dump_meta m = {
        .key = slice_make("k\x01", 2),
        .exp = -1,
        .la = 1700000000,
        .cas = 42,
        .fetched = true,
        .cls = 3,
        .size = 71,
    };
    (void)state;

    size_t n = dump_meta_line(out, &m);
    const char *want =
        "key=k%01 exp=-1 la=1700000000 cas=42 fetch=yes cls=3 size=71\n";
    assert_int_equal(n, strlen(want));
    assert_memory_equal(out, want, n);
    m.exp = 1700000100;
    m.fetched = false;
    n = dump_meta_line(out, &m);
    want = "key=k%01 exp=1700000100 la=1700000000 cas=42 fetch=no cls=3 "
           "size=71\n";
    assert_memory_equal(out, want, n);
}

static void
longest_meta_line_fits(void **state)
{
    char key[250];
    char out[DUMP_META_LINE_MAX];
    struct dump_meta m = {
        .key = slice_make(key, sizeof(key)),
        .exp = INT64_MIN,
        .la = INT64_MIN,
        .cas = UINT64_MAX,
        .cls = 63,
        .size = SIZE_MAX,
    };
    (void)state;

    memset(key, 0xff, sizeof(key));
    size_t n = dump_meta_line(out, &m);
    assert_true(n < DUMP_META_LINE_MAX);
    assert_int_equal(out[n - 1], '\n');
}

static void
mg_line_base64_for_binary_keys(void **state)
{
    char out[DUMP_MG_LINE_MAX];
    char key[250];
    (void)state;

    size_t n = dump_mg_line(out, slice_make("plain", 5), false);
    assert_int_equal(n, 10);
    assert_memory_equal(out, "mg plain\r\n", n);
    n = dump_mg_line(out, slice_make("bin\0\1", 5), true);
    assert_int_equal(n, 15);
    assert_memory_equal(out, "mg YmluAAE= b\r\n", n);
    memset(key, 0xab, sizeof(key));
    n = dump_mg_line(out, slice_make(key, sizeof(key)), true);
    assert_true(n <= DUMP_MG_LINE_MAX);
    assert_memory_equal(out + n - 4, " b\r\n", 4);
}

static void
parses_class_lists_like_memcached(void **state)
{
    uint64_t c;
    (void)state;

    assert_int_equal(dump_parse_ids(slice_make("all", 3), &c), DUMP_IDS_ALL);
    assert_true(c == ~(uint64_t)1);
    assert_int_equal(dump_parse_ids(slice_make("hash", 4), &c), DUMP_IDS_HASH);
    assert_int_equal(dump_parse_ids(slice_make("1,2", 3), &c), DUMP_IDS_LIST);
    assert_true(c == 6);
    assert_int_equal(dump_parse_ids(slice_make("1,,63", 5), &c), DUMP_IDS_LIST);
    assert_true(c == ((uint64_t)1 << 63 | 2));
    const char *bad[] = {"0", "64", "99", "abc", "1,64", "-1", "1a", "", ","};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(dump_parse_ids(slice_make(bad[i], strlen(bad[i])), &c),
                         DUMP_IDS_BAD);
    }
}

static void
composes_into_the_queue(void **state)
{
    struct outq q;
    char buf[64];
    (void)state;

    outq_init(&q);
    dump_compose_mg(&q, slice_make("a", 1), false);
    struct dump_meta m = {.key = slice_make("b", 1), .exp = -1};
    dump_compose_meta(&q, &m);
    assert_int_equal(outq_pending(&q), 6 + 46);
    assert_int_equal(outq_peek_at(&q, 0, buf, 6), 6);
    assert_memory_equal(buf, "mg a\r\n", 6);
    outq_deinit(&q);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(uri_encodes_all_but_unreserved_bytes),
        cmocka_unit_test(meta_line_has_memcached_fields),
        cmocka_unit_test(longest_meta_line_fits),
        cmocka_unit_test(mg_line_base64_for_binary_keys),
        cmocka_unit_test(parses_class_lists_like_memcached),
        cmocka_unit_test(composes_into_the_queue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
