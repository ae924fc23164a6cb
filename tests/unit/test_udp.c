#include "unit.h"

#include "proto/udp.h"

#include <string.h>

struct parse_case {
    const char *name;
    const char *bytes;
    size_t len;
    enum udp_status status;
    struct udp_header h; /* checked when status is not UDP_SHORT */
};

/* clang-format off */
static const struct parse_case parse_cases[] = {
    {"a plain request", "\x00\x07\x00\x00\x00\x01\x00\x00get a\r\n", 15,
     UDP_OK, {7, 0, 1, 0}},
    {"sequence and reserved are read but not checked",
     "\x12\x34\x00\x05\x00\x01\xab\xcd" "v", 9, UDP_OK,
     {0x1234, 5, 1, 0xabcd}},
    {"the largest id", "\xff\xff\x00\x00\x00\x01\x00\x00" "x", 9, UDP_OK,
     {0xffff, 0, 1, 0}},
    {"total 2 is dropped", "\x00\x01\x00\x00\x00\x02\x00\x00" "x", 9,
     UDP_NOT_ONE, {1, 0, 2, 0}},
    {"total 0 is dropped", "\x00\x01\x00\x00\x00\x00\x00\x00" "x", 9,
     UDP_NOT_ONE, {1, 0, 0, 0}},
    {"total 0x0101 is dropped (both bytes count)",
     "\x00\x01\x00\x00\x01\x01\x00\x00" "x", 9, UDP_NOT_ONE, {1, 0, 257, 0}},
    {"total 0x0100 is dropped", "\x00\x01\x00\x00\x01\x00\x00\x00" "x", 9,
     UDP_NOT_ONE, {1, 0, 256, 0}},
    {"a header alone is ignored", "\x00\x01\x00\x00\x00\x01\x00\x00", 8,
     UDP_SHORT, {0, 0, 0, 0}},
    {"seven bytes are ignored", "\x00\x01\x00\x00\x00\x01\x00", 7,
     UDP_SHORT, {0, 0, 0, 0}},
    {"an empty datagram is ignored", "", 0, UDP_SHORT, {0, 0, 0, 0}},
};
/* clang-format on */

static void
parses_every_header_in_the_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
        const struct parse_case *c = &parse_cases[i];
        struct udp_header h = {0};
        enum udp_status st = udp_parse(c->bytes, c->len, &h);
        if (st != c->status) {
            fail_msg("%s: status %d, want %d", c->name, st, c->status);
        }
        if (st == UDP_SHORT) {
            continue;
        }
        if (h.id != c->h.id || h.seq != c->h.seq || h.total != c->h.total ||
            h.reserved != c->h.reserved) {
            fail_msg("%s: header %u %u %u %u", c->name, h.id, h.seq, h.total,
                     h.reserved);
        }
    }
}

static void
composes_big_endian_fields(void **state)
{
    struct udp_header h = {0x0102, 0x0304, 0x0506, 0};
    unsigned char out[UDP_HEADER_LEN];
    static const unsigned char want[] = {1, 2, 3, 4, 5, 6, 0, 0};
    (void)state;

    udp_compose(out, &h);
    assert_memory_equal(out, want, sizeof(want));
}

static void
composed_header_parses_back(void **state)
{
    unsigned char dgram[UDP_HEADER_LEN + 1] = {0};
    struct udp_header h = {0xbeef, 0, 1, 0};
    struct udp_header back;
    (void)state;

    udp_compose(dgram, &h);
    assert_int_equal(udp_parse(dgram, sizeof(dgram), &back), UDP_OK);
    assert_int_equal(back.id, 0xbeef);
    assert_int_equal(back.total, 1);
}

struct total_case {
    size_t len;
    uint16_t total;
};

static void
counts_datagrams_of_1392_payload_bytes(void **state)
{
    static const struct total_case cases[] = {
        {0, 0},
        {1, 1},
        {1392, 1},
        {1393, 2},
        {5023, 4}, /* get of a 5000-byte value: 1392 * 3 + 847 */
        {2784, 2},
        {(size_t)1392 * 65535, 65535},
        {(size_t)1392 * 65535 + 1, 65535},
        {(size_t)1 << 40, 65535},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (udp_total(cases[i].len) != cases[i].total) {
            fail_msg("len %zu: total %u, want %u", cases[i].len,
                     udp_total(cases[i].len), cases[i].total);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_every_header_in_the_table),
        cmocka_unit_test(composes_big_endian_fields),
        cmocka_unit_test(composed_header_parses_back),
        cmocka_unit_test(counts_datagrams_of_1392_payload_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
