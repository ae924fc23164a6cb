/*
 * lex - the line framing and number formatting the text and meta
 * protocols share: where a command line ends, how memcached 1.6.18 cuts
 * it into tokens, and decimal output. Pure functions.
 */
#pragma once

#include "lib/slice.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* memcached's 24 token slots, minus the terminator it keeps in one. */
#define LEX_TOKENS_MAX 23
/* Longest decimal uint64_t. */
#define LEX_U64_DIGITS 20

/*
 * One command line, cut into tokens: runs of non-space bytes (only 0x20
 * separates). At most LEX_TOKENS_MAX are cut; anything after them is
 * left uncut (the get family reads it as more keys, up to `end`).
 */
struct lex_line {
    struct slice tok[LEX_TOKENS_MAX];
    size_t ntok;
    const char *end; /* just past the line's last byte */
};

/*
 * The line at in[0..len): NULL when it has no '\n' yet; else the '\n',
 * with *n the bytes that count as the line: a '\r' right before the '\n'
 * is dropped, and an embedded NUL ends the line early (memcached handles
 * it as a C string).
 */
const char *lex_find_line(const char *in, size_t len, size_t *n);

void lex_tokenize(const char *p, const char *end, struct lex_line *l);

/* Writes v in decimal at p (at most LEX_U64_DIGITS bytes); returns the end. */
char *lex_put_u64(char *p, uint64_t v);

/* An empty slice may have a NULL ptr, which memcpy must not see. */
static inline char *
lex_put_mem(char *p, const void *src, size_t len)
{
    if (len > 0) {
        memcpy(p, src, len);
    }
    return p + len;
}
