#include "proto/meta.h"

#include "lib/base64.h"
#include "lib/outq.h"
#include "lib/slice.h"
#include "proto/lex.h"
#include "proto/number.h"
#include "proto/text.h"

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * How memcached 1.6.18 reads a meta command, reproduced in its order
 * (checked against the running server where protocol.txt is silent):
 *
 *   ms <key> <datalen> <flag>*\r\n       mg|md|ma <key> <flag>*\r\n
 *
 *   1. Framing and tokens exactly as the text protocol (text.c): at most
 *      23 tokens are cut, and memcached counts one more, a terminator.
 *   2. No key: ERROR (me: CLIENT_ERROR bad command line format).
 *   3. Key token longer than 250 bytes as sent.
 *   4. ms: no datalen token.
 *   5. More than 19 tokens: mg "options flags are too long", the others
 *      "options flags too long" (17 flags; ms 16).
 *   6. ms: datalen not a number in [0, INT32_MAX - 2]. Up to here an ms
 *      error leaves its data block to be read as commands.
 *   7. The flags, left to right (memcached's _meta_flag_preparse). A
 *      repeated flag or a byte >= 127 is "duplicate flag" and an unknown
 *      one "invalid flag", at once; a bad argument records its text and
 *      the scan goes on, so the last one wins ("T- Jx" reports J). A bad
 *      F records nothing: it reports the default text, or an earlier one.
 *      md and ma answer every flag error with "invalid or duplicate flag".
 *   8. The M mode (ms, ma).
 *   9. The O token's length: longer than 32 bytes, 'O' included.
 *
 * From step 7 on, an ms error swallows the data block (req->swallow).
 */

/* memcached's MFLAG_MAX_OPT_LENGTH (20) less its terminator token. */
#define META_TOKENS_LIMIT 19

/* CLIENT_ERROR texts (the text after the code word). */
static const char ERR_FORMAT[] = "bad command line format";
static const char ERR_TOO_LONG[] = "options flags too long";
static const char ERR_TOO_LONG_MG[] = "options flags are too long";
static const char ERR_DUPLICATE[] = "duplicate flag";
static const char ERR_INVALID[] = "invalid flag";
static const char ERR_TOKEN[] = "bad token in command line format";
static const char ERR_M_LENGTH[] = "incorrect length for M token";
static const char ERR_INITIAL[] = "invalid numeric initial value";
static const char ERR_DELTA[] = "invalid numeric delta value";
static const char ERR_DECODE[] = "error decoding key";
const char meta_err_opaque[] = "opaque token too long";
static const char ERR_MS_MODE[] = "invalid mode for ms M token";
static const char ERR_MA_MODE[] = "invalid mode for ma M token";
static const char ERR_MD_MA_FLAG[] = "invalid or duplicate flag";

/* The flags 1.6.18 knows, shared by mg ms md ma (E and later are not). */
#define META_KNOWN                                                   \
    (META_BIT('b') | META_BIT('c') | META_BIT('f') | META_BIT('h') | \
     META_BIT('k') | META_BIT('l') | META_BIT('q') | META_BIT('s') | \
     META_BIT('t') | META_BIT('u') | META_BIT('v') | META_BIT('C') | \
     META_BIT('D') | META_BIT('F') | META_BIT('I') | META_BIT('J') | \
     META_BIT('L') | META_BIT('M') | META_BIT('N') | META_BIT('O') | \
     META_BIT('P') | META_BIT('R') | META_BIT('T'))

/* ---- flags -------------------------------------------------------------- */

static enum parse_status
client_error(struct meta_request *req, const char *msg)
{
    req->error = msg;
    return PARSE_CLIENT_ERROR;
}

static bool
is_known(unsigned char c)
{
    return c >= 'A' && c <= 'z' && (META_KNOWN & META_BIT(c)) != 0;
}

/* Flag b: the key token is base64; the decoded key lives in keybuf. */
static bool
decode_key(struct meta_request *req, struct slice token)
{
    size_t n =
        base64_decode(token.ptr, token.len, req->keybuf, sizeof(req->keybuf));

    if (n == 0) {
        return false;
    }
    req->key = slice_make(req->keybuf, n);
    req->binary = true;
    return true;
}

/*
 * Step 7: reads tok[first..] into req. Returns NULL, or the error text
 * memcached gives mg and ms.
 */
static const char *
read_flags(const struct lex_line *l, size_t first, struct meta_request *req)
{
    const char *err = ERR_FORMAT; /* what a bad F reports */
    bool failed = false;

    for (size_t i = first; i < l->ntok; i++) {
        struct slice t = l->tok[i];
        unsigned char c = (unsigned char)t.ptr[0];
        struct slice arg = slice_make(t.ptr + 1, t.len - 1);
        bool ok = true;

        if (c >= 127 || (is_known(c) && META_HAS(req, c))) {
            return ERR_DUPLICATE;
        }
        if (!is_known(c)) {
            return ERR_INVALID;
        }
        assert(req->nflags < META_FLAGS_MAX);
        req->has |= META_BIT(c);
        req->flags[req->nflags].name = (char)c;
        req->flags[req->nflags].arg = arg;
        req->nflags++;
        switch (c) {
        case 'b':
            if (!decode_key(req, l->tok[1])) {
                err = ERR_DECODE;
                ok = false;
            }
            break;
        case 'N':
        case 'T':
        case 'R':
            ok = num_parse_s32(arg, c == 'N'   ? &req->vivify
                                    : c == 'T' ? &req->exptime
                                               : &req->recache);
            err = ok ? err : ERR_TOKEN;
            break;
        case 'C':
            ok = num_parse_u64(arg, &req->cas);
            err = ok ? err : ERR_TOKEN;
            break;
        case 'F':
            ok = num_parse_u32(arg, &req->client_flags);
            break;
        case 'M':
            ok = t.len == 2;
            req->mode = ok ? arg.ptr[0] : '\0';
            err = ok ? err : ERR_M_LENGTH;
            break;
        case 'J':
            ok = num_parse_u64(arg, &req->initial);
            err = ok ? err : ERR_INITIAL;
            break;
        case 'D':
            ok = num_parse_u64(arg, &req->delta);
            err = ok ? err : ERR_DELTA;
            break;
        case 'O':
            req->opaque = t;
            break;
        default:
            break;
        }
        failed = failed || !ok;
    }
    return failed ? err : NULL;
}

/* Step 8: ms and ma check their mode and get their default. */
static const char *
read_mode(struct meta_request *req)
{
    bool given = META_HAS(req, 'M');

    if (req->cmd == META_SET) {
        switch (given ? req->mode : 'S') {
        case 'S':
        case 'E':
        case 'A':
        case 'P':
        case 'R':
            req->mode = given ? req->mode : 'S';
            return NULL;
        default:
            return ERR_MS_MODE;
        }
    }
    if (req->cmd == META_ARITH) {
        switch (given ? req->mode : '+') {
        case 'I':
        case '+':
            req->mode = '+';
            return NULL;
        case 'D':
        case '-':
            req->mode = '-';
            return NULL;
        default:
            return ERR_MA_MODE;
        }
    }
    return NULL;
}

/* ---- commands ----------------------------------------------------------- */

/* ms <key> <datalen>: datalen as memcached's safe_strtol, then its range. */
static bool
read_datalen(struct slice t, uint32_t *out)
{
    int64_t v;

    if (!num_parse_s32(t, &v) || v < 0 || v > INT32_MAX - 2) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

/* mg ms md ma: steps 2 to 9 of the comment at the top. */
static enum parse_status
parse_command(const struct lex_line *l, struct meta_request *req)
{
    bool set = req->cmd == META_SET;
    size_t first = set ? 3 : 2;
    size_t max = set ? META_FLAGS_MAX - 1 : META_FLAGS_MAX;
    const char *err;

    req->key = l->tok[1];
    if (req->key.len > META_KEY_MAX || (set && l->ntok == 2)) {
        return client_error(req, ERR_FORMAT);
    }
    if (l->ntok - first > max) {
        assert(l->ntok > META_TOKENS_LIMIT);
        return client_error(req, req->cmd == META_GET ? ERR_TOO_LONG_MG
                                                      : ERR_TOO_LONG);
    }
    if (set) {
        if (!read_datalen(l->tok[2], &req->datalen)) {
            return client_error(req, ERR_FORMAT);
        }
        req->swallow = (size_t)req->datalen + 2;
    }
    err = read_flags(l, first, req);
    if (err != NULL) {
        bool collapse = req->cmd == META_DELETE || req->cmd == META_ARITH;
        return client_error(req, collapse ? ERR_MD_MA_FLAG : err);
    }
    err = read_mode(req);
    if (err != NULL) {
        return client_error(req, err);
    }
    /*
     * mg and ma run the command before memcached looks at this (see
     * meta.h); everything else in req is already filled in.
     */
    if (req->opaque.len > META_OPAQUE_MAX) {
        return client_error(req, meta_err_opaque);
    }
    return PARSE_OK;
}

/*
 * me <key> [b]: "b" only right after the key; other tokens are ignored.
 * Every failure has the one text.
 */
static enum parse_status
parse_debug(const struct lex_line *l, struct meta_request *req)
{
    if (l->ntok < 2 || l->tok[1].len > META_KEY_MAX) {
        return client_error(req, ERR_FORMAT);
    }
    req->key = l->tok[1];
    if (l->ntok >= 3 && slice_eq_str(l->tok[2], "b") &&
        !decode_key(req, l->tok[1])) {
        return client_error(req, ERR_FORMAT);
    }
    return PARSE_OK;
}

static enum parse_status
parse_line(const struct lex_line *l, struct meta_request *req)
{
    static const enum meta_cmd by_letter[] = {
        ['g'] = META_GET,   ['s'] = META_SET,  ['d'] = META_DELETE,
        ['a'] = META_ARITH, ['n'] = META_NOOP, ['e'] = META_DEBUG,
    };
    unsigned char c;

    if (l->ntok == 0 || l->tok[0].len != 2 || l->tok[0].ptr[0] != 'm') {
        return PARSE_ERROR; /* not meta: the caller broke the contract */
    }
    c = (unsigned char)l->tok[0].ptr[1];
    if (c >= sizeof(by_letter) / sizeof(by_letter[0]) ||
        by_letter[c] == META_NONE) {
        return PARSE_ERROR;
    }
    if (by_letter[c] == META_NOOP) {
        req->cmd = META_NOOP; /* extra tokens are ignored */
        return PARSE_OK;
    }
    if (by_letter[c] == META_DEBUG) {
        req->cmd = META_DEBUG;
        return parse_debug(l, req);
    }
    if (l->ntok < 2) {
        return PARSE_ERROR;
    }
    req->cmd = by_letter[c];
    return parse_command(l, req);
}

/* Every field but the flag array and keybuf, which only grow as used. */
static void
request_init(struct meta_request *req)
{
    req->cmd = META_NONE;
    req->key = slice_make(NULL, 0);
    req->binary = false;
    req->datalen = 0;
    req->has = 0;
    req->nflags = 0;
    req->exptime = 0;
    req->vivify = 0;
    req->recache = 0;
    req->cas = 0;
    req->client_flags = 0;
    req->mode = '\0';
    req->initial = 0;
    req->delta = 1;
    req->opaque = slice_make(NULL, 0);
    req->error = NULL;
    req->swallow = 0;
}

bool
meta_is_meta(const char *in, size_t len)
{
    size_t i = 0;
    char end;

    while (i < len && in[i] == ' ') {
        i++;
    }
    if (len - i < 3 || in[i] != 'm') {
        return false;
    }
    /* The token "m" alone: the second byte ends it. */
    if (in[i + 1] == ' ' || in[i + 1] == '\0' || in[i + 1] == '\n' ||
        (in[i + 1] == '\r' && in[i + 2] == '\n')) {
        return false;
    }
    end = in[i + 2];
    if (end == '\r') {
        /* Stripped only right before '\n' ("mn\r\r\n" is not meta). */
        return len - i >= 4 && in[i + 3] == '\n';
    }
    return end == ' ' || end == '\0' || end == '\n';
}

enum parse_status
meta_parse(const char *in, size_t len, struct meta_request *req, size_t *used)
{
    size_t n = 0;
    const char *nl = lex_find_line(in, len, &n);
    struct lex_line l;
    enum parse_status st;

    request_init(req);
    *used = 0;
    if (nl == NULL) {
        return len > TEXT_LINE_MAX ? PARSE_CLOSE : PARSE_AGAIN;
    }
    lex_tokenize(in, in + n, &l);
    st = parse_line(&l, req);
    if (st == PARSE_ERROR) {
        req->cmd = META_NONE;
    }
    if (st != PARSE_CLIENT_ERROR) {
        req->swallow = 0;
    }
    *used = (size_t)(nl - in) + 1;
    return st;
}

/* ---- composing replies -------------------------------------------------- */

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
 * Where the next `need` bytes of the line go, or NULL if they do not fit.
 * Replies are bounded (keys, opaque and flag count are), so not fitting
 * is a caller's bug.
 */
static char *
line_room(struct meta_line *l, size_t need)
{
    bool fits = need <= META_LINE_MAX - l->len;

    assert(fits);
    return fits ? l->buf + l->len : NULL;
}

static void
line_done(struct meta_line *l, const char *end)
{
    l->len = (size_t)(end - l->buf);
}

void
meta_line_init(struct meta_line *l, const char *code)
{
    size_t n = strlen(code);

    assert(n <= META_LINE_MAX);
    memcpy(l->buf, code, n);
    l->len = n;
}

void
meta_line_init_value(struct meta_line *l, size_t nbytes)
{
    l->len = 0;
    line_done(l, lex_put_u64(lex_put_mem(l->buf, "VA ", 3), nbytes));
}

void
meta_line_num(struct meta_line *l, char flag, uint64_t v)
{
    char *p = line_room(l, 2 + LEX_U64_DIGITS);

    if (p != NULL) {
        p[0] = ' ';
        p[1] = flag;
        line_done(l, lex_put_u64(p + 2, v));
    }
}

void
meta_line_ttl(struct meta_line *l, char flag, int64_t v)
{
    char *p = line_room(l, 3 + LEX_U64_DIGITS);

    if (p != NULL) {
        p[0] = ' ';
        p[1] = flag;
        line_done(l, put_s64(p + 2, v));
    }
}

void
meta_line_key(struct meta_line *l, struct slice key, bool binary)
{
    size_t nkey = binary ? base64_encoded_len(key.len) : key.len;
    char *p = line_room(l, 2 + nkey + (binary ? 2 : 0));

    if (p == NULL) {
        return;
    }
    *p++ = ' ';
    *p++ = 'k';
    if (binary) {
        p += base64_encode(key.ptr, key.len, p, nkey);
        p = lex_put_mem(p, " b", 2);
    } else {
        p = lex_put_mem(p, key.ptr, key.len);
    }
    line_done(l, p);
}

void
meta_line_token(struct meta_line *l, struct slice token)
{
    char *p = line_room(l, 1 + token.len);

    if (p != NULL) {
        *p = ' ';
        line_done(l, lex_put_mem(p + 1, token.ptr, token.len));
    }
}

void
meta_line_char(struct meta_line *l, char c)
{
    char *p = line_room(l, 2);

    if (p != NULL) {
        p[0] = ' ';
        p[1] = c;
        l->len += 2;
    }
}

static const char *const codes[REPLY_NSTATUS] = {
    [REPLY_STORED] = "HD",    [REPLY_NOT_STORED] = "NS", [REPLY_EXISTS] = "EX",
    [REPLY_NOT_FOUND] = "NF", [REPLY_DELETED] = "HD",    [REPLY_TOUCHED] = "HD",
    [REPLY_OK] = "HD",        [REPLY_MISS] = "EN",       [REPLY_VALUE] = "HD",
    [REPLY_NUMBER] = "HD",
};

const char *
meta_code(enum reply_status st)
{
    assert((size_t)st < REPLY_NSTATUS);
    return codes[st];
}

void
meta_line_init_status(struct meta_line *l, enum reply_status st)
{
    assert((size_t)st < REPLY_NSTATUS && codes[st] != NULL);
    memcpy(l->buf, codes[st], 2); /* every code is two letters */
    l->len = 2;
}

void
meta_compose_noop(struct outq *q)
{
    outq_copy(q, "MN\r\n", 4);
}

void
meta_compose_line(struct outq *q, const struct meta_line *l)
{
    char *start = outq_reserve(q, l->len + 2);
    char *p;

    if (start == NULL) {
        return;
    }
    p = lex_put_mem(start, l->buf, l->len);
    p = lex_put_mem(p, "\r\n", 2);
    outq_commit(q, (size_t)(p - start));
}

/*
 *   copied: "<line>\r\n"
 *   referenced: segs[0] ... segs[nseg-1]
 *   copied: "\r\n"
 */
void
meta_compose_value(struct outq *q, const struct meta_line *l,
                   const struct slice *segs, size_t nseg)
{
    meta_compose_line(q, l);
    for (size_t i = 0; i < nseg; i++) {
        outq_ref(q, segs[i].ptr, segs[i].len);
    }
    outq_copy(q, "\r\n", 2);
}

void
meta_compose_debug(struct outq *q, struct slice key, bool binary, int64_t exp,
                   uint64_t la, uint64_t cas, bool fetched, unsigned cls,
                   size_t size)
{
    static const char fixed[] = "ME  exp= la= cas= fetch=yes cls= size=\r\n";
    size_t nkey = binary ? base64_encoded_len(key.len) : key.len;
    char *start = outq_reserve(q, sizeof(fixed) + nkey +
                                      5 * (size_t)(1 + LEX_U64_DIGITS));
    char *p;

    if (start == NULL) {
        return;
    }
    p = lex_put_mem(start, "ME ", 3);
    if (binary) {
        p += base64_encode(key.ptr, key.len, p, nkey);
    } else {
        p = lex_put_mem(p, key.ptr, key.len);
    }
    p = put_s64(lex_put_mem(p, " exp=", 5), exp);
    p = lex_put_u64(lex_put_mem(p, " la=", 4), la);
    p = lex_put_u64(lex_put_mem(p, " cas=", 5), cas);
    p = fetched ? lex_put_mem(p, " fetch=yes", 10)
                : lex_put_mem(p, " fetch=no", 9);
    p = lex_put_u64(lex_put_mem(p, " cls=", 5), cls);
    p = lex_put_u64(lex_put_mem(p, " size=", 6), size);
    p = lex_put_mem(p, "\r\n", 2);
    outq_commit(q, (size_t)(p - start));
}
