#include "proto/number.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* isspace() in the C locale: what strtoul skips before a number. */
static inline bool
is_c_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/*
 * A token read the way memcached's safe_strto* read it with strtoul/strtol
 * (base 10): C-locale spaces, an optional sign, at least one digit, then
 * the token must end or go on with a space character ("5\tjunk" is 5).
 * Past UINT64_MAX the magnitude stops growing and `overflow` is set.
 */
struct number {
    uint64_t mag;
    bool neg;
    bool overflow;
};

static bool
scan_number(struct slice t, struct number *n)
{
    size_t i = 0;
    size_t digits;

    n->mag = 0;
    n->neg = false;
    n->overflow = false;
    while (i < t.len && is_c_space(t.ptr[i])) {
        i++;
    }
    if (i < t.len && (t.ptr[i] == '+' || t.ptr[i] == '-')) {
        n->neg = t.ptr[i] == '-';
        i++;
    }
    digits = i;
    for (; i < t.len && t.ptr[i] >= '0' && t.ptr[i] <= '9'; i++) {
        unsigned d = (unsigned)(t.ptr[i] - '0');
        if (n->mag > (UINT64_MAX - d) / 10) {
            n->overflow = true;
        } else {
            n->mag = n->mag * 10 + d;
        }
    }
    if (i == digits) {
        return false;
    }
    return i == t.len || is_c_space(t.ptr[i]);
}

/*
 * safe_strtoull: strtoull wraps "-N" to 2^64 - N; memcached then rejects
 * the result only if it looks negative as a signed number and the token
 * holds a '-' anywhere (so "-1" fails but "-0" is 0 and
 * "-18446744073709551615" is 1).
 */
bool
num_parse_u64(struct slice t, uint64_t *out)
{
    struct number n;
    uint64_t v;

    if (!scan_number(t, &n) || n.overflow) {
        return false;
    }
    v = n.neg ? 0 - n.mag : n.mag;
    if (v > INT64_MAX && memchr(t.ptr, '-', t.len) != NULL) {
        return false;
    }
    *out = v;
    return true;
}

/* safe_strtoul on LP64: the 64-bit result, truncated to 32 bits. */
bool
num_parse_u32(struct slice t, uint32_t *out)
{
    uint64_t v;

    if (!num_parse_u64(t, &v)) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

/*
 * safe_strtol on LP64: a signed 64-bit parse (ERANGE outside it), then
 * truncated to 32 bits ("4294967297" is 1, "-4294967295" is 1).
 */
bool
num_parse_s32(struct slice t, int64_t *out)
{
    struct number n;
    uint32_t low;

    if (!scan_number(t, &n) || n.overflow) {
        return false;
    }
    if (n.mag > (uint64_t)INT64_MAX + (n.neg ? 1 : 0)) {
        return false;
    }
    low = (uint32_t)(n.neg ? 0 - n.mag : n.mag);
    *out = low <= INT32_MAX ? (int64_t)low : (int64_t)low - 0x100000000;
    return true;
}

bool
num_parse_double(struct slice t, double *out)
{
    char buf[NUM_DOUBLE_MAX + 1];
    char *end;

    if (t.len == 0 || t.len > NUM_DOUBLE_MAX) {
        return false;
    }
    memcpy(buf, t.ptr, t.len);
    buf[t.len] = '\0';
    errno = 0;
    double d = strtod(buf, &end);
    if (errno == ERANGE || end == buf || *end != '\0') {
        return false;
    }
    *out = d;
    return true;
}
