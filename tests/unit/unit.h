/*
 * unit - what every cmocka unit test includes, in the order cmocka needs
 * its prerequisite headers.
 */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * A repository file (a doc the test checks against the code), read from
 * the repository root, where make runs the tests; NUL-terminated, the
 * caller frees it. At most 256 KiB.
 */
static inline char *
unit_read_file(const char *path)
{
    const size_t cap = (size_t)256 * 1024;
    FILE *f = fopen(path, "r");
    char *text = calloc(1, cap);
    size_t n;

    assert_non_null(f);
    assert_non_null(text);
    n = fread(text, 1, cap - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}
