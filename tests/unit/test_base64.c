#include "unit.h"

#include "lib/base64.h"

#include <stdio.h>
#include <string.h>

#define S(s) (s), sizeof(s) - 1

static void
encodes_rfc4648_vectors_with_padding(void **state)
{
    static const struct {
        const char *in;
        const char *out;
    } cases[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[16];
        size_t n = strlen(cases[i].in);
        size_t w = base64_encode(cases[i].in, n, out, sizeof(out));
        assert_int_equal(w, strlen(cases[i].out));
        assert_int_equal(w, base64_encoded_len(n));
        assert_memory_equal(out, cases[i].out, w);
    }
}

static void
encodes_every_byte_value_in_the_standard_alphabet(void **state)
{
    unsigned char in[3] = {0xfb, 0xff, 0xbf};
    unsigned char zero[2] = {0, 0};
    char out[8];
    (void)state;

    assert_int_equal(base64_encode(in, 3, out, sizeof(out)), 4);
    assert_memory_equal(out, "+/+/", 4);
    assert_int_equal(base64_encode(zero, 2, out, sizeof(out)), 4);
    assert_memory_equal(out, "AAA=", 4);
}

static void
encode_writes_nothing_when_capacity_is_short(void **state)
{
    char out[8];
    (void)state;

    memset(out, '#', sizeof(out));
    assert_int_equal(base64_encode("foo", 3, out, 3), 0);
    assert_int_equal(base64_encode("f", 1, out, 3), 0);
    assert_int_equal(out[0], '#');
    assert_int_equal(base64_encode("f", 1, out, 4), 4);
    assert_int_equal(base64_encode("", 0, NULL, 0), 0);
}

/* Decodes a C string; returns the length, the bytes in out. */
static size_t
decode(const char *s, size_t len, char *out, size_t cap)
{
    return base64_decode(s, len, out, cap);
}

static void
decodes_standard_input(void **state)
{
    char out[16];
    (void)state;

    assert_int_equal(decode(S("Zm9v"), out, sizeof(out)), 3);
    assert_memory_equal(out, "foo", 3);
    assert_int_equal(decode(S("Zg=="), out, sizeof(out)), 1);
    assert_memory_equal(out, "f", 1);
    assert_int_equal(decode(S("Zm8="), out, sizeof(out)), 2);
    assert_memory_equal(out, "fo", 2);
    assert_int_equal(decode(S("Zm9vYmFy"), out, sizeof(out)), 6);
    assert_memory_equal(out, "foobar", 6);
    assert_int_equal(decode(S("+/+/"), out, sizeof(out)), 3);
    assert_memory_equal(out, "\xfb\xff\xbf", 3);
}

/*
 * memcached 1.6.18's decoder, as the running server shows through
 * "mg <token> b k" (which echoes the decoded bytes re-encoded).
 */
static void
skips_bytes_outside_the_alphabet(void **state)
{
    char out[16];
    (void)state;

    assert_int_equal(decode(S("Z!m9v"), out, sizeof(out)), 3);
    assert_memory_equal(out, "foo", 3);
    assert_int_equal(decode(S("Zm9v!"), out, sizeof(out)), 3);
    assert_int_equal(decode(S("\tZm\r9v\x80\xff-_"), out, sizeof(out)), 3);
    assert_memory_equal(out, "foo", 3);
    assert_int_equal(decode(S("!!!!"), out, sizeof(out)), 0);
    assert_int_equal(decode(S(""), out, sizeof(out)), 0);
}

static void
rejects_alphabet_counts_not_a_multiple_of_four(void **state)
{
    char out[16];
    (void)state;

    assert_int_equal(decode(S("Zm9"), out, sizeof(out)), 0);
    assert_int_equal(decode(S("Zg"), out, sizeof(out)), 0);
    assert_int_equal(decode(S("Zm9v="), out, sizeof(out)), 0);
    assert_int_equal(decode(S("Zg==A"), out, sizeof(out)), 0);
    assert_int_equal(decode(S("Zg==AAA"), out, sizeof(out)), 0);
}

static void
treats_padding_as_zero_and_stops_after_the_padded_group(void **state)
{
    char out[16];
    (void)state;

    /* '=' anywhere in a group counts: one drops a byte, two drop two. */
    assert_int_equal(decode(S("Zg=v"), out, sizeof(out)), 2);
    assert_memory_equal(out, "f\0", 2);
    assert_int_equal(decode(S("Z=9v"), out, sizeof(out)), 2);
    assert_memory_equal(out, "d\x0f", 2);
    assert_int_equal(decode(S("=m9v"), out, sizeof(out)), 2);
    assert_memory_equal(out, "\x02\x6f", 2);
    assert_int_equal(decode(S("Zm=v"), out, sizeof(out)), 2);
    assert_memory_equal(out, "f`", 2);
    /* Whatever follows the first padded group is ignored. */
    assert_int_equal(decode(S("Zg==Zm9v"), out, sizeof(out)), 1);
    assert_memory_equal(out, "f", 1);
    assert_int_equal(decode(S("Zg==AA=="), out, sizeof(out)), 1);
    assert_int_equal(decode(S("Zm9vZg=="), out, sizeof(out)), 4);
    assert_memory_equal(out, "foof", 4);
    /* Three or four '=' in one group is an error. */
    assert_int_equal(decode(S("A==="), out, sizeof(out)), 0);
    assert_int_equal(decode(S("===="), out, sizeof(out)), 0);
    assert_int_equal(decode(S("Zm9v===="), out, sizeof(out)), 0);
}

static void
decode_fails_when_capacity_is_short(void **state)
{
    char out[8];
    (void)state;

    /* Like memcached: the bound is 3 bytes per group, padding or not. */
    assert_int_equal(decode(S("Zg=="), out, 2), 0);
    assert_int_equal(decode(S("Zg=="), out, 3), 1);
    assert_int_equal(decode(S("Zm9vYmFy"), out, 5), 0);
    assert_int_equal(base64_decoded_max(8), 6);
    assert_int_equal(base64_decoded_max(250), 186);
}

static void
decodes_in_place(void **state)
{
    char buf[] = "Z m 9 v Y m F y";
    (void)state;

    assert_int_equal(base64_decode(buf, strlen(buf), buf, strlen(buf)), 6);
    assert_memory_equal(buf, "foobar", 6);
}

static void
round_trips_every_length_up_to_a_long_key(void **state)
{
    unsigned char in[190];
    char enc[256];
    unsigned char dec[256];
    (void)state;

    for (size_t i = 0; i < sizeof(in); i++) {
        in[i] = (unsigned char)(i * 37 + 11);
    }
    for (size_t n = 1; n <= sizeof(in); n++) {
        size_t e = base64_encode(in, n, enc, sizeof(enc));
        assert_int_equal(e, base64_encoded_len(n));
        assert_int_equal(base64_decode(enc, e, dec, sizeof(dec)), n);
        assert_memory_equal(dec, in, n);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encodes_rfc4648_vectors_with_padding),
        cmocka_unit_test(encodes_every_byte_value_in_the_standard_alphabet),
        cmocka_unit_test(encode_writes_nothing_when_capacity_is_short),
        cmocka_unit_test(decodes_standard_input),
        cmocka_unit_test(skips_bytes_outside_the_alphabet),
        cmocka_unit_test(rejects_alphabet_counts_not_a_multiple_of_four),
        cmocka_unit_test(
            treats_padding_as_zero_and_stops_after_the_padded_group),
        cmocka_unit_test(decode_fails_when_capacity_is_short),
        cmocka_unit_test(decodes_in_place),
        cmocka_unit_test(round_trips_every_length_up_to_a_long_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
