#include "proto/keydump.h"

#include "lib/base64.h"
#include "lib/outq.h"
#include "proto/lex.h"

#include <string.h>

static bool
uri_plain(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

size_t
dump_uri_encode(char *out, struct slice key)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;

    for (size_t i = 0; i < key.len; i++) {
        unsigned char c = (unsigned char)key.ptr[i];
        if (uri_plain(c)) {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    return n;
}

/* A signed number in decimal (exp=-1 for no expiry). */
static char *
put_s64(char *p, int64_t v)
{
    if (v < 0) {
        *p++ = '-';
        return lex_put_u64(p, 0 - (uint64_t)v);
    }
    return lex_put_u64(p, (uint64_t)v);
}

/*
 * The line is built by hand rather than with snprintf, which took most of
 * a dump's CPU.
 */
size_t
dump_meta_line(char *out, const struct dump_meta *m)
{
    struct slice key = m->key;

    if (key.len > 250) {
        key.len = 250; /* never longer: items hold at most 250 */
    }
    char *p = lex_put_mem(out, "key=", 4);
    p += dump_uri_encode(p, key);
    p = put_s64(lex_put_mem(p, " exp=", 5), m->exp);
    p = put_s64(lex_put_mem(p, " la=", 4), m->la);
    p = lex_put_u64(lex_put_mem(p, " cas=", 5), m->cas);
    p = m->fetched ? lex_put_mem(p, " fetch=yes", 10)
                   : lex_put_mem(p, " fetch=no", 9);
    p = lex_put_u64(lex_put_mem(p, " cls=", 5), m->cls);
    p = lex_put_u64(lex_put_mem(p, " size=", 6), m->size);
    *p++ = '\n';
    return (size_t)(p - out);
}

size_t
dump_mg_line(char *out, struct slice key, bool binary_key)
{
    size_t n = 3;

    if (key.len > 250) {
        key.len = 250;
    }
    memcpy(out, "mg ", 3);
    if (binary_key) {
        n += base64_encode(key.ptr, key.len, out + n, DUMP_MG_LINE_MAX - n);
        memcpy(out + n, " b", 2);
        n += 2;
    } else {
        memcpy(out + n, key.ptr, key.len);
        n += key.len;
    }
    memcpy(out + n, "\r\n", 2);
    return n + 2;
}

void
dump_compose_meta(struct outq *q, const struct dump_meta *m)
{
    char *p = outq_reserve(q, DUMP_META_LINE_MAX);

    if (p != NULL) {
        outq_commit(q, dump_meta_line(p, m));
    }
}

void
dump_compose_mg(struct outq *q, struct slice key, bool binary_key)
{
    char *p = outq_reserve(q, DUMP_MG_LINE_MAX);

    if (p != NULL) {
        outq_commit(q, dump_mg_line(p, key, binary_key));
    }
}

/* One class id of a list: digits only, 1..63. */
static bool
parse_id(const char *p, size_t len, unsigned *out)
{
    unsigned v = 0;

    if (len == 0 || len > 3) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return false;
        }
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    if (v < 1 || v > 63) {
        return false;
    }
    *out = v;
    return true;
}

enum dump_ids
dump_parse_ids(struct slice arg, uint64_t *classes)
{
    *classes = 0;
    if (arg.len == 3 && memcmp(arg.ptr, "all", 3) == 0) {
        *classes = ~(uint64_t)1;
        return DUMP_IDS_ALL;
    }
    if (arg.len == 4 && memcmp(arg.ptr, "hash", 4) == 0) {
        return DUMP_IDS_HASH;
    }
    size_t i = 0;
    while (i < arg.len) {
        size_t j = i;
        while (j < arg.len && arg.ptr[j] != ',') {
            j++;
        }
        unsigned id;
        if (j > i) {
            if (!parse_id(arg.ptr + i, j - i, &id)) {
                return DUMP_IDS_BAD;
            }
            *classes |= (uint64_t)1 << id;
        }
        i = j + 1;
    }
    return *classes != 0 ? DUMP_IDS_LIST : DUMP_IDS_BAD;
}
