/*
 * ct - comparing secrets in constant time. ct_equal() takes as long for
 * any two byte strings of the given lengths, whatever their contents and
 * wherever they first differ, so a client timing failed logins learns at
 * most the lengths. Leaf helper: no state, any thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * True when (a, alen) and (b, blen) hold the same bytes. Runs over
 * max(alen, blen) bytes every time: past the end of the shorter string it
 * compares zeros, and a length mismatch alone makes the result false.
 * Only the lengths decide which bytes are read; the contents never
 * decide a branch. The accumulator is volatile so that the compiler does
 * not stop the loop at the first difference.
 */
static inline bool
ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    const unsigned char *x = a;
    const unsigned char *y = b;
    size_t n = alen > blen ? alen : blen;
    volatile unsigned char diff = (unsigned char)(alen != blen);

    for (size_t i = 0; i < n; i++) {
        unsigned char cx = i < alen ? x[i] : 0;
        unsigned char cy = i < blen ? y[i] : 0;
        diff = (unsigned char)(diff | (cx ^ cy));
    }
    return diff == 0;
}
