/*
 * number - decimal tokens read exactly the way memcached 1.6.18 reads
 * them with its safe_strto* wrappers around strtoull/strtol (base 10):
 * C-locale spaces first, an optional sign, at least one digit, then the
 * token ends or goes on with a space character ("5\tjunk" is 5). Shared
 * by the text and meta parsers. Pure functions.
 */
#pragma once

#include "lib/slice.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * safe_strtoull: "-N" wraps to 2^64 - N, rejected only when the result
 * looks negative as a signed number ("-1" fails, "-0" is 0,
 * "-18446744073709551615" is 1). False on overflow or junk.
 */
bool num_parse_u64(struct slice t, uint64_t *out);

/* safe_strtoul on LP64: the 64-bit result, truncated to 32 bits. */
bool num_parse_u32(struct slice t, uint32_t *out);

/*
 * safe_strtol on LP64: a signed 64-bit parse (fails outside it), then
 * truncated to signed 32 bits ("4294967297" is 1, "-4294967295" is 1).
 */
bool num_parse_s32(struct slice t, int64_t *out);

/* Longest token num_parse_double reads. */
#define NUM_DOUBLE_MAX 255

/*
 * safe_strtod: strtod in the C locale over the whole token (decimal,
 * exponent, hex, inf, nan as strtod reads them); false on junk, an empty
 * token or a result out of range.
 */
bool num_parse_double(struct slice t, double *out);
