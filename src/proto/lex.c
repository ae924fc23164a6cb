#include "proto/lex.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

const char *
lex_find_line(const char *in, size_t len, size_t *n)
{
    const char *nl = len > 0 ? memchr(in, '\n', len) : NULL;
    const char *nul;

    if (nl == NULL) {
        return NULL;
    }
    *n = (size_t)(nl - in);
    if (*n > 1 && in[*n - 1] == '\r') {
        (*n)--;
    }
    nul = memchr(in, '\0', *n);
    if (nul != NULL) {
        *n = (size_t)(nul - in);
    }
    return nl;
}

void
lex_tokenize(const char *p, const char *end, struct lex_line *l)
{
    l->ntok = 0;
    l->end = end;
    while (l->ntok < LEX_TOKENS_MAX) {
        const char *start;
        while (p < end && *p == ' ') {
            p++;
        }
        if (p == end) {
            return;
        }
        start = p;
        p = memchr(start, ' ', (size_t)(end - start));
        if (p == NULL) {
            p = end;
        }
        l->tok[l->ntok++] = slice_make(start, (size_t)(p - start));
    }
}

char *
lex_put_u64(char *p, uint64_t v)
{
    char tmp[LEX_U64_DIGITS];
    size_t n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0) {
        *p++ = tmp[--n];
    }
    return p;
}
