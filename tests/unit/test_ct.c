#include "unit.h"

#include "lib/ct.h"

#include <string.h>

static void
equal_strings_compare_equal(void **state)
{
    (void)state;
    assert_true(ct_equal("secret", 6, "secret", 6));
    assert_true(ct_equal("", 0, "", 0));
    assert_true(ct_equal(NULL, 0, "", 0));
    assert_true(ct_equal("a\0b", 3, "a\0b", 3));
}

static void
a_difference_in_any_byte_is_found(void **state)
{
    char a[64], b[64];
    (void)state;

    memset(a, 'x', sizeof(a));
    for (size_t i = 0; i < sizeof(b); i++) {
        memcpy(b, a, sizeof(b));
        b[i] ^= 1;
        assert_false(ct_equal(a, sizeof(a), b, sizeof(b)));
        b[i] ^= (char)0x81;
        assert_false(ct_equal(a, sizeof(a), b, sizeof(b)));
    }
}

static void
different_lengths_never_compare_equal(void **state)
{
    (void)state;
    assert_false(ct_equal("secret", 6, "secre", 5));
    assert_false(ct_equal("secre", 5, "secret", 6));
    assert_false(ct_equal("", 0, "s", 1));
    assert_false(ct_equal("s", 1, "", 0));
    /* trailing NULs are bytes like any other */
    assert_false(ct_equal("ab\0", 3, "ab", 2));
    assert_false(ct_equal("ab", 2, "ab\0", 3));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(equal_strings_compare_equal),
        cmocka_unit_test(a_difference_in_any_byte_is_found),
        cmocka_unit_test(different_lengths_never_compare_equal),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
