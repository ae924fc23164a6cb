#include "unit.h"

#include "outq_gather.h"

#include "lib/base64.h"
#include "lib/outq.h"
#include "proto/meta.h"
#include "proto/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

/*
 * Parser cases: input bytes and the request memcached 1.6.18 would act
 * on (every error text and check order was replayed against Debian's
 * memcached 1.6.18). Every case is also fed split at every byte offset: a
 * prefix without the line's '\n' must give PARSE_AGAIN (PARSE_CLOSE past
 * 2048 bytes), and a prefix holding the whole line exactly the same
 * result. Where meta_is_meta() cannot tell yet, text_parse() must be
 * waiting too, so the session may route either way.
 *
 * A field left out is expected to be zero / empty, except the defaults:
 * mode 'S' for ms and '+' for ma, delta 1 unless a D flag is listed.
 * `used` 0 means the whole input.
 */
struct meta_case {
    const char *in;
    size_t len;
    enum parse_status status;
    size_t used;
    enum meta_cmd cmd;
    const char *key;
    size_t nkey; /* 0: strlen(key) */
    bool binary;
    uint32_t datalen;
    const char *flags; /* the flag tokens, joined by one space */
    int64_t exptime;
    int64_t vivify;
    int64_t recache;
    uint64_t cas;
    uint32_t client_flags;
    char mode;
    uint64_t initial;
    uint64_t delta;
    const char *opaque;
    const char *error;
    size_t swallow;
    bool filled; /* PARSE_CLIENT_ERROR that still fills every field */
};

#define IN(s) .in = (s), .len = sizeof(s) - 1
/* A command line followed by bytes it does not consume (a data block). */
#define IN2(line, rest) \
    .in = line rest, .len = sizeof(line rest) - 1, .used = sizeof(line) - 1

#define A10  "aaaaaaaaaa"
#define A50  A10 A10 A10 A10 A10
#define A250 A50 A50 A50 A50 A50
#define A251 A250 "a"

/* 17 distinct flags without b: the most mg, md and ma take; ms takes 16. */
#define F16 "c f h k l q s t u v C1 D1 F1 I J1 L"
#define F17 F16 " P"
/* 23 tokens and more are more than any command's limit. */
#define T30                                                           \
    "c1 c2 c3 c4 c5 c6 c7 c8 c9 c10 c11 c12 c13 c14 c15 c16 c17 c18 " \
    "c19 c20 c21 c22 c23 c24 c25 c26 c27 c28 c29 c30"
/* The longest opaque token (32 bytes, its O included) and one longer. */
#define OMAX  "O1234567890123456789012345678901"
#define OLONG OMAX "1"

#define E_FORMAT   "bad command line format"
#define E_TOO_LONG "options flags too long"
#define E_MG_LONG  "options flags are too long"
#define E_DUP      "duplicate flag"
#define E_INVALID  "invalid flag"
#define E_TOKEN    "bad token in command line format"
#define E_M_LEN    "incorrect length for M token"
#define E_INITIAL  "invalid numeric initial value"
#define E_DELTA    "invalid numeric delta value"
#define E_DECODE   "error decoding key"
#define E_OPAQUE   "opaque token too long"
#define E_MS_MODE  "invalid mode for ms M token"
#define E_MA_MODE  "invalid mode for ma M token"
#define E_MDMA     "invalid or duplicate flag"

static void
describe(const char *in, size_t len, char *out, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < len && n + 8 < cap; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
            out[n++] = (char)ch;
        } else {
            n += (size_t)snprintf(out + n, cap - n, "\\x%02x", ch);
        }
    }
    out[n] = '\0';
}

static bool
slice_is(struct slice s, const char *want)
{
    if (want == NULL) {
        return s.len == 0;
    }
    return s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

/* The request's flag tokens joined by one space, as a case spells them. */
static bool
flags_are(const struct meta_request *req, const char *want)
{
    char joined[4096];
    size_t n = 0;
    uint64_t has = 0;

    for (size_t i = 0; i < req->nflags; i++) {
        const struct meta_flag *f = &req->flags[i];
        if (n + f->arg.len + 2 >= sizeof(joined)) {
            return false;
        }
        if (i > 0) {
            joined[n++] = ' ';
        }
        joined[n++] = f->name;
        memcpy(joined + n, f->arg.ptr, f->arg.len);
        n += f->arg.len;
        has |= META_BIT(f->name);
    }
    joined[n] = '\0';
    return has == req->has && strcmp(joined, want != NULL ? want : "") == 0;
}

static char
default_mode(const struct meta_case *c)
{
    if (c->mode != '\0') {
        return c->mode;
    }
    return c->cmd == META_SET ? 'S' : c->cmd == META_ARITH ? '+' : '\0';
}

static uint64_t
want_delta(const struct meta_case *c)
{
    bool has_d = c->flags != NULL && (strncmp(c->flags, "D", 1) == 0 ||
                                      strstr(c->flags, " D") != NULL);
    return has_d ? c->delta : 1;
}

#define CHECK(cond)                                                      \
    do {                                                                 \
        if (!(cond)) {                                                   \
            describe(c->in, len, what, sizeof(what));                    \
            fail_msg("\"%s\" (%zu of %zu bytes): %s", what, len, c->len, \
                     #cond);                                             \
        }                                                                \
    } while (0)

/* Compares the fields of a filled request with the case. */
static void
check_fields(const struct meta_case *c, size_t len,
             const struct meta_request *req, const char *lo, const char *hi)
{
    char what[8192];
    size_t nkey = c->nkey != 0 ? c->nkey : strlen(c->key);

    CHECK(req->key.len == nkey);
    CHECK(nkey == 0 || memcmp(req->key.ptr, c->key, nkey) == 0);
    CHECK(req->binary == c->binary);
    if (req->binary) {
        CHECK(req->key.ptr == req->keybuf);
    } else if (nkey > 0) {
        CHECK(req->key.ptr >= lo && req->key.ptr + req->key.len <= hi);
    }
    CHECK(req->datalen == c->datalen);
    CHECK(flags_are(req, c->flags));
    CHECK(req->exptime == c->exptime);
    CHECK(req->vivify == c->vivify);
    CHECK(req->recache == c->recache);
    CHECK(req->cas == c->cas);
    CHECK(req->client_flags == c->client_flags);
    CHECK(req->mode == default_mode(c));
    CHECK(req->initial == c->initial);
    CHECK(req->delta == want_delta(c));
    CHECK(slice_is(req->opaque, c->opaque));
}

/* Compares one meta_parse() result over in[0..len) with the case. */
static void
check_result(const struct meta_case *c, size_t len, enum parse_status st,
             const struct meta_request *req, size_t used, const char *in)
{
    char what[8192];
    size_t want_used = c->used != 0 ? c->used : c->len;

    CHECK(st == c->status);
    if (st == PARSE_AGAIN || st == PARSE_CLOSE) {
        CHECK(used == 0);
        return;
    }
    CHECK(used == want_used);
    if (st == PARSE_ERROR) {
        CHECK(req->cmd == META_NONE && req->error == NULL);
        CHECK(req->swallow == 0);
        return;
    }
    CHECK(req->cmd == c->cmd);
    CHECK(req->swallow == c->swallow);
    if (st == PARSE_CLIENT_ERROR) {
        CHECK(req->error != NULL && strcmp(req->error, c->error) == 0);
        if (c->filled) {
            check_fields(c, len, req, in, in + used);
        }
        return;
    }
    CHECK(req->error == NULL);
    check_fields(c, len, req, in, in + used);
}

/* Parses in[0..len) from an exact-size copy, so ASan sees any over-read. */
static char *
copy_of(const char *in, size_t len)
{
    char *copy = malloc(len != 0 ? len : 1);

    assert_non_null(copy);
    memcpy(copy, in, len);
    return copy;
}

/* A prefix without the whole line: both parsers must wait (or close). */
static void
check_prefix(const struct meta_case *c, const char *in, size_t len)
{
    struct meta_request req;
    struct request treq;
    size_t used = 7;
    enum parse_status want = len > TEXT_LINE_MAX ? PARSE_CLOSE : PARSE_AGAIN;
    enum parse_status st = meta_parse(in, len, &req, &used);
    char what[8192];

    if (st != want || used != 0) {
        describe(c->in, len, what, sizeof(what));
        fail_msg("prefix \"%s\" (%zu bytes): status %d, used %zu", what, len,
                 st, used);
    }
    if (!meta_is_meta(in, len)) {
        st = text_parse(in, len, &treq, &used);
        CHECK(st == want && used == 0);
    }
}

static void
run_case(const struct meta_case *c)
{
    const char *nl = memchr(c->in, '\n', c->len);
    size_t line_end = nl != NULL ? (size_t)(nl - c->in) + 1 : c->len + 1;

    for (size_t len = 0; len <= c->len; len++) {
        char *in = copy_of(c->in, len);
        struct meta_request req;
        size_t used = 7;

        if (len < line_end) {
            check_prefix(c, in, len);
        } else {
            char what[8192];
            enum parse_status st;
            CHECK(meta_is_meta(in, len));
            st = meta_parse(in, len, &req, &used);
            check_result(c, len, st, &req, used, in);
        }
        free(in);
    }
}

static void
run_table(const struct meta_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        run_case(&cases[i]);
    }
}

#define RUN_TABLE(t) run_table((t), sizeof(t) / sizeof((t)[0]))

/* ---- commands ----------------------------------------------------------- */

static const struct meta_case command_cases[] = {
    {IN("mn\r\n"), .cmd = META_NOOP, .key = ""},
    {IN("mn\n"), .cmd = META_NOOP, .key = ""},
    {IN("mn x y " T30 "\r\n"), .cmd = META_NOOP, .key = ""},
    {IN("mg foo\r\n"), .cmd = META_GET, .key = "foo"},
    {IN("mg foo v\r\n"), .cmd = META_GET, .key = "foo", .flags = "v"},
    {IN("mg foo k v c f s t h l u q O999 T30 N40 R50\r\n"), .cmd = META_GET,
     .key = "foo", .flags = "k v c f s t h l u q O999 T30 N40 R50",
     .exptime = 30, .vivify = 40, .recache = 50, .opaque = "O999"},
    /* Flags of the other commands are accepted (and ignored) by mg. */
    {IN("mg foo C5 M5 J1 D9 I P L F7\r\n"), .cmd = META_GET, .key = "foo",
     .flags = "C5 M5 J1 D9 I P L F7", .cas = 5, .mode = '5', .initial = 1,
     .delta = 9, .client_flags = 7},
    {IN("mg Zm9v b k v\r\n"), .cmd = META_GET, .key = "foo", .binary = true,
     .flags = "b k v"},
    {IN("mg foo k b\r\n"), .status = PARSE_CLIENT_ERROR, .cmd = META_GET,
     .error = E_DECODE},
    {IN2("ms foo 3\r\n", "abc\r\n"), .cmd = META_SET, .key = "foo",
     .datalen = 3},
    {IN("ms foo 0 T30 F5 C9 I MR k c O1 q b\r\n"), .status = PARSE_CLIENT_ERROR,
     .cmd = META_SET, .error = E_DECODE, .swallow = 2},
    {IN("ms Zm9v 0 T30 F5 C9 I MR k c O1 q b\r\n"), .cmd = META_SET,
     .key = "foo", .binary = true, .flags = "T30 F5 C9 I MR k c O1 q b",
     .exptime = 30, .client_flags = 5, .cas = 9, .mode = 'R', .opaque = "O1"},
    {IN("ms foo 3 MS\r\n"), .cmd = META_SET, .key = "foo", .datalen = 3,
     .flags = "MS"},
    {IN("ms foo 3 ME\r\n"), .cmd = META_SET, .key = "foo", .datalen = 3,
     .flags = "ME", .mode = 'E'},
    {IN("ms foo 3 MA\r\n"), .cmd = META_SET, .key = "foo", .datalen = 3,
     .flags = "MA", .mode = 'A'},
    {IN("ms foo 3 MP\r\n"), .cmd = META_SET, .key = "foo", .datalen = 3,
     .flags = "MP", .mode = 'P'},
    {IN("ms foo 3 v h l s t u f N5 R6 D7 J8 P L\r\n"), .cmd = META_SET,
     .key = "foo", .datalen = 3, .flags = "v h l s t u f N5 R6 D7 J8 P L",
     .vivify = 5, .recache = 6, .delta = 7, .initial = 8},
    {IN("ms foo 2147483645\r\n"), .cmd = META_SET, .key = "foo",
     .datalen = 2147483645},
    {IN("md foo\r\n"), .cmd = META_DELETE, .key = "foo"},
    {IN("md foo q k O1 C5 I T30\r\n"), .cmd = META_DELETE, .key = "foo",
     .flags = "q k O1 C5 I T30", .opaque = "O1", .cas = 5, .exptime = 30},
    /* md does not look at the mode. */
    {IN("md foo MX\r\n"), .cmd = META_DELETE, .key = "foo", .flags = "MX",
     .mode = 'X'},
    {IN("ma foo\r\n"), .cmd = META_ARITH, .key = "foo"},
    {IN("ma foo N0 J42 D10 MD T50 v t c k O9 q\r\n"), .cmd = META_ARITH,
     .key = "foo", .flags = "N0 J42 D10 MD T50 v t c k O9 q", .initial = 42,
     .delta = 10, .mode = '-', .exptime = 50, .opaque = "O9"},
    {IN("ma foo D0\r\n"), .cmd = META_ARITH, .key = "foo", .flags = "D0"},
    {IN("me foo\r\n"), .cmd = META_DEBUG, .key = "foo"},
    {IN("me Zm9v b\r\n"), .cmd = META_DEBUG, .key = "foo", .binary = true},
    {IN("me Zm9v b x " T30 "\r\n"), .cmd = META_DEBUG, .key = "foo",
     .binary = true},
    /* Only a "b" right after the key counts. */
    {IN("me Zm9v x b\r\n"), .cmd = META_DEBUG, .key = "Zm9v"},
    {IN("me Zm9 bb\r\n"), .cmd = META_DEBUG, .key = "Zm9"},
};

static void
parses_each_command_into_its_request(void **state)
{
    (void)state;
    RUN_TABLE(command_cases);
}

/* ---- framing ------------------------------------------------------------ */

static const struct meta_case framing_cases[] = {
    {IN("mg foo\n"), .cmd = META_GET, .key = "foo"},
    {IN("  mg  foo   k   \r\n"), .cmd = META_GET, .key = "foo", .flags = "k"},
    {IN("mg foo\r\r\n"), .cmd = META_GET, .key = "foo\r"},
    {IN("mg foo\0 v\r\n"), .cmd = META_GET, .key = "foo"},
    {IN("mn\0x\r\n"), .cmd = META_NOOP, .key = ""},
    {IN("mg a\r\nmg b\r\n"), .used = 6, .cmd = META_GET, .key = "a"},
    {IN("mn\nmn\n"), .used = 3, .cmd = META_NOOP, .key = ""},
    /* TAB is not a separator; strtol skips it inside a number. */
    {IN("mg f\to\r\n"), .cmd = META_GET, .key = "f\to"},
    {IN("mg foo k\tv\r\n"), .cmd = META_GET, .key = "foo", .flags = "k\tv"},
    {IN("mg foo T\t5\r\n"), .cmd = META_GET, .key = "foo", .flags = "T\t5",
     .exptime = 5},
    {IN("mg foo T5\t\r\n"), .cmd = META_GET, .key = "foo", .flags = "T5\t",
     .exptime = 5},
    {IN("mg \x01\xff\x80 k\r\n"), .cmd = META_GET, .key = "\x01\xff\x80",
     .flags = "k"},
};

static void
frames_lines_like_the_text_protocol(void **state)
{
    (void)state;
    RUN_TABLE(framing_cases);
}

/* ---- ERROR and the first checks ----------------------------------------- */

static const struct meta_case error_cases[] = {
    {IN("mg\r\n"), .status = PARSE_ERROR},
    {IN("ms\r\n"), .status = PARSE_ERROR},
    {IN("md\r\n"), .status = PARSE_ERROR},
    {IN("ma\r\n"), .status = PARSE_ERROR},
    {IN("mg    \r\n"), .status = PARSE_ERROR},
    {IN("mg\0 foo\r\n"), .status = PARSE_ERROR},
    {IN("mz foo\r\n"), .status = PARSE_ERROR},
    {IN("mG foo\r\n"), .status = PARSE_ERROR},
    {IN("m\xff foo\r\n"), .status = PARSE_ERROR},
    {IN("m\r \r\n"), .status = PARSE_ERROR},
    {IN("me\r\n"), .status = PARSE_CLIENT_ERROR, .cmd = META_DEBUG,
     .error = E_FORMAT},
    {IN("ms foo\r\n"), .status = PARSE_CLIENT_ERROR, .cmd = META_SET,
     .error = E_FORMAT},
    {IN2("ms foo \r\n", "abc\r\n"), .status = PARSE_CLIENT_ERROR,
     .cmd = META_SET, .error = E_FORMAT},
};

static void
answers_error_for_unknown_commands_and_missing_keys(void **state)
{
    (void)state;
    RUN_TABLE(error_cases);
}

/* ---- key length, flag count, datalen ------------------------------------ */

static const struct meta_case limit_cases[] = {
    {IN("mg " A250 " k\r\n"), .cmd = META_GET, .key = A250, .flags = "k"},
    {IN("mg " A251 "\r\n"), .status = PARSE_CLIENT_ERROR, .cmd = META_GET,
     .error = E_FORMAT},
    {IN("md " A251 "\r\n"), .status = PARSE_CLIENT_ERROR, .cmd = META_DELETE,
     .error = E_FORMAT},
    {IN("ma " A251 "\r\n"), .status = PARSE_CLIENT_ERROR, .cmd = META_ARITH,
     .error = E_FORMAT},
    {IN("me " A251 "\r\n"), .status = PARSE_CLIENT_ERROR, .cmd = META_DEBUG,
     .error = E_FORMAT},
    {IN("me " A251 " b\r\n"), .status = PARSE_CLIENT_ERROR, .cmd = META_DEBUG,
     .error = E_FORMAT},
    {IN("me " A250 "\r\n"), .cmd = META_DEBUG, .key = A250},
    /* Length as sent, before base64 decoding. */
    {IN("mg " A251 " b\r\n"), .status = PARSE_CLIENT_ERROR, .cmd = META_GET,
     .error = E_FORMAT},
    /* The key is checked before the flag count... */
    {IN("mg " A251 " " F17 " O1\r\n"), .status = PARSE_CLIENT_ERROR,
     .cmd = META_GET, .error = E_FORMAT},
    {IN("ms " A251 " x " F17 "\r\n"), .status = PARSE_CLIENT_ERROR,
     .cmd = META_SET, .error = E_FORMAT},
    {IN2("ms " A251 " 3\r\n", "abc\r\n"), .status = PARSE_CLIENT_ERROR,
     .cmd = META_SET, .error = E_FORMAT},
    {IN("ms " A251 "\r\n"), .status = PARSE_CLIENT_ERROR, .cmd = META_SET,
     .error = E_FORMAT},
    /* ... the flag count before the datalen and the flags ... */
    {IN("mg foo " F17 "\r\n"), .cmd = META_GET, .key = "foo", .flags = F17,
     .cas = 1, .delta = 1, .client_flags = 1, .initial = 1},
    {IN("mg foo " F17 " O1\r\n"), .status = PARSE_CLIENT_ERROR, .cmd = META_GET,
     .error = E_MG_LONG},
    {IN("mg foo " T30 "\r\n"), .status = PARSE_CLIENT_ERROR, .cmd = META_GET,
     .error = E_MG_LONG},
    {IN("md foo " F17 "\r\n"), .cmd = META_DELETE, .key = "foo", .flags = F17,
     .cas = 1, .delta = 1, .client_flags = 1, .initial = 1},
    {IN("md foo " F17 " O1\r\n"), .status = PARSE_CLIENT_ERROR,
     .cmd = META_DELETE, .error = E_TOO_LONG},
    {IN("ma foo " F17 "\r\n"), .cmd = META_ARITH, .key = "foo", .flags = F17,
     .cas = 1, .delta = 1, .client_flags = 1, .initial = 1},
    {IN("ma foo " F17 " O1\r\n"), .status = PARSE_CLIENT_ERROR,
     .cmd = META_ARITH, .error = E_TOO_LONG},
    {IN("ma foo " F17 " E E\r\n"), .status = PARSE_CLIENT_ERROR,
     .cmd = META_ARITH, .error = E_TOO_LONG},
    {IN2("ms foo 3 " F16 "\r\n", "abc\r\n"), .cmd = META_SET, .key = "foo",
     .datalen = 3, .flags = F16, .cas = 1, .delta = 1, .client_flags = 1,
     .initial = 1},
    {IN2("ms foo 3 " F17 "\r\n", "abc\r\n"), .status = PARSE_CLIENT_ERROR,
     .cmd = META_SET, .error = E_TOO_LONG},
    {IN("ms foo x " F17 "\r\n"), .status = PARSE_CLIENT_ERROR, .cmd = META_SET,
     .error = E_TOO_LONG},
    {IN("ms foo 3 " T30 "\r\n"), .status = PARSE_CLIENT_ERROR, .cmd = META_SET,
     .error = E_TOO_LONG},
    /* ... and a bad datalen before the flags: nothing swallowed. */
    {IN("ms foo x Tx\r\n"), .status = PARSE_CLIENT_ERROR, .cmd = META_SET,
     .error = E_FORMAT},
    {IN2("ms foo -1\r\n", "abc\r\n"), .status = PARSE_CLIENT_ERROR,
     .cmd = META_SET, .error = E_FORMAT},
    {IN("ms foo 2147483646\r\n"), .status = PARSE_CLIENT_ERROR, .cmd = META_SET,
     .error = E_FORMAT},
    {IN("ms foo 3x\r\n"), .status = PARSE_CLIENT_ERROR, .cmd = META_SET,
     .error = E_FORMAT},
    {IN("ms foo 4294967295\r\n"), .status = PARSE_CLIENT_ERROR, .cmd = META_SET,
     .error = E_FORMAT},
    {IN("ms foo 99999999999999999999\r\n"), .status = PARSE_CLIENT_ERROR,
     .cmd = META_SET, .error = E_FORMAT},
    /* The length is positional: there is no S flag. */
    {IN2("ms foo S3\r\n", "abc\r\n"), .status = PARSE_CLIENT_ERROR,
     .cmd = META_SET, .error = E_FORMAT},
    /* strtol rules, truncated to 32 bits. */
    {IN("ms foo +3\r\n"), .cmd = META_SET, .key = "foo", .datalen = 3},
    {IN("ms foo 4294967299\r\n"), .cmd = META_SET, .key = "foo", .datalen = 3},
    {IN("ms foo -4294967293\r\n"), .cmd = META_SET, .key = "foo", .datalen = 3},
    {IN("ms foo 3\t\r\n"), .cmd = META_SET, .key = "foo", .datalen = 3},
};

static void
checks_key_flag_count_and_datalen_in_memcached_order(void **state)
{
    (void)state;
    RUN_TABLE(limit_cases);
}

/* ---- flag errors -------------------------------------------------------- */

/* clang-format off */
#define MG_ERR(line, err) \
    {IN("mg foo " line "\r\n"), .status = PARSE_CLIENT_ERROR, \
     .cmd = META_GET, .error = (err)}
static const struct meta_case flag_error_cases[] = {
    MG_ERR("T", E_TOKEN),
    MG_ERR("Tx", E_TOKEN),
    MG_ERR("T5x", E_TOKEN),
    MG_ERR("N", E_TOKEN),
    MG_ERR("N-", E_TOKEN),
    MG_ERR("Rx", E_TOKEN),
    MG_ERR("T9223372036854775808", E_TOKEN),
    MG_ERR("C", E_TOKEN),
    MG_ERR("Cx", E_TOKEN),
    MG_ERR("C-1", E_TOKEN),
    MG_ERR("C18446744073709551616", E_TOKEN),
    MG_ERR("F", E_FORMAT),
    MG_ERR("Fx", E_FORMAT),
    MG_ERR("F-1", E_FORMAT),
    MG_ERR("M", E_M_LEN),
    MG_ERR("MXY", E_M_LEN),
    MG_ERR("J", E_INITIAL),
    MG_ERR("Jx", E_INITIAL),
    MG_ERR("D", E_DELTA),
    MG_ERR("D-1", E_DELTA),
    MG_ERR("b", E_DECODE),
    MG_ERR("T1 T2", E_DUP),
    MG_ERR("k v k", E_DUP),
    MG_ERR("\x7f", E_DUP),
    MG_ERR("\x80", E_DUP),
    MG_ERR("\xff", E_DUP),
    /* E and the other later-version flags do not exist in 1.6.18. */
    MG_ERR("E", E_INVALID),
    MG_ERR("S3", E_INVALID),
    MG_ERR("a", E_INVALID),
    MG_ERR("x", E_INVALID),
    MG_ERR("Z", E_INVALID),
    MG_ERR("W", E_INVALID),
    MG_ERR("X", E_INVALID),
    MG_ERR("0", E_INVALID),
    MG_ERR("+", E_INVALID),
    MG_ERR("\x01", E_INVALID),
    MG_ERR("\t", E_INVALID),
    /* Bad arguments: the scan goes on and the last text wins... */
    MG_ERR("T- Jx", E_INITIAL),
    MG_ERR("Jx T-", E_TOKEN),
    MG_ERR("Jx Dx", E_DELTA),
    MG_ERR("Dx Jx", E_INITIAL),
    MG_ERR("Dx MXX", E_M_LEN),
    MG_ERR("MXX Dx", E_DELTA),
    MG_ERR("b Tx", E_TOKEN),
    MG_ERR("Tx b", E_DECODE),
    /* ... except F, which sets no text of its own ... */
    MG_ERR("T- Fx", E_TOKEN),
    MG_ERR("Fx T-", E_TOKEN),
    MG_ERR("Fx v", E_FORMAT),
    /* ... and duplicate or unknown flags end the scan at once. */
    MG_ERR("T- zz", E_INVALID),
    MG_ERR("T- T1", E_DUP),
    MG_ERR("Tx E T1", E_INVALID),
    MG_ERR("Tx T1 E", E_DUP),
    MG_ERR(OLONG " Tx", E_TOKEN),
    MG_ERR("Tx " OLONG, E_TOKEN),
};
#undef MG_ERR
/* clang-format on */

static void
reports_flag_errors_with_memcached_texts(void **state)
{
    (void)state;
    RUN_TABLE(flag_error_cases);
}

/* ms: the same texts, and the data block is swallowed. */
/* clang-format off */
#define MS_ERR(line, err) \
    {IN2("ms foo 3 " line "\r\n", "abc\r\n"), \
     .status = PARSE_CLIENT_ERROR, .cmd = META_SET, .error = (err), \
     .swallow = 5}
static const struct meta_case ms_flag_error_cases[] = {
    MS_ERR("Tx", E_TOKEN),
    MS_ERR("Cx", E_TOKEN),
    MS_ERR("Fx", E_FORMAT),
    MS_ERR("F-1", E_FORMAT),
    MS_ERR("MSS", E_M_LEN),
    MS_ERR("Jx", E_INITIAL),
    MS_ERR("Dx", E_DELTA),
    MS_ERR("b", E_DECODE),
    MS_ERR("T1 T1", E_DUP),
    MS_ERR("\xff", E_DUP),
    MS_ERR("E", E_INVALID),
    MS_ERR("S3", E_INVALID),
    MS_ERR("T- Fx", E_TOKEN),
    MS_ERR("Jx T-", E_TOKEN),
    MS_ERR("MX", E_MS_MODE),
    MS_ERR("Ms", E_MS_MODE),
    MS_ERR("Me", E_MS_MODE),
    MS_ERR("Ma", E_MS_MODE),
    MS_ERR("Mp", E_MS_MODE),
    MS_ERR("Mr", E_MS_MODE),
    MS_ERR("M+", E_MS_MODE),
    MS_ERR("MI", E_MS_MODE),
    MS_ERR("MX Tx", E_TOKEN),
    MS_ERR("MX " OLONG, E_MS_MODE),
    MS_ERR(OLONG " MX", E_MS_MODE),
    MS_ERR(OLONG, E_OPAQUE),
    {IN2("ms foo 0 Tx\r\n", "\r\n"), .status = PARSE_CLIENT_ERROR,
     .cmd = META_SET, .error = E_TOKEN, .swallow = 2},
    {IN("ms foo 2147483645 Tx\r\n"), .status = PARSE_CLIENT_ERROR,
     .cmd = META_SET, .error = E_TOKEN, .swallow = 2147483647},
};
#undef MS_ERR
/* clang-format on */

static void
swallows_the_ms_data_block_once_datalen_is_read(void **state)
{
    (void)state;
    RUN_TABLE(ms_flag_error_cases);
}

/* md and ma: one text for every flag error. */
/* clang-format off */
#define MD_ERR(line) \
    {IN("md foo " line "\r\n"), .status = PARSE_CLIENT_ERROR, \
     .cmd = META_DELETE, .error = E_MDMA}
#define MA_ERR(line) \
    {IN("ma foo " line "\r\n"), .status = PARSE_CLIENT_ERROR, \
     .cmd = META_ARITH, .error = E_MDMA}
static const struct meta_case md_ma_flag_error_cases[] = {
    MD_ERR("Tx"),
    MD_ERR("Cx"),
    MD_ERR("Fx"),
    MD_ERR("MXX"),
    MD_ERR("Jx"),
    MD_ERR("Dx"),
    MD_ERR("b"),
    MD_ERR("k k"),
    MD_ERR("\xff"),
    MD_ERR("E"),
    MD_ERR("Tx " OLONG),
    MD_ERR(OLONG " Tx"),
    MA_ERR("Tx"),
    MA_ERR("N-"),
    MA_ERR("Fx"),
    MA_ERR("MII"),
    MA_ERR("Jx"),
    MA_ERR("Dx"),
    MA_ERR("b"),
    MA_ERR("T1 T1"),
    MA_ERR("\x80"),
    MA_ERR("E"),
    MA_ERR("MX Dx"),
};
#undef MD_ERR
#undef MA_ERR
/* clang-format on */

static void
collapses_md_and_ma_flag_errors_into_one_text(void **state)
{
    (void)state;
    RUN_TABLE(md_ma_flag_error_cases);
}

/* ---- modes -------------------------------------------------------------- */

static const struct meta_case mode_cases[] = {
    {IN("ma foo MI\r\n"), .cmd = META_ARITH, .key = "foo", .flags = "MI",
     .mode = '+'},
    {IN("ma foo M+\r\n"), .cmd = META_ARITH, .key = "foo", .flags = "M+",
     .mode = '+'},
    {IN("ma foo MD\r\n"), .cmd = META_ARITH, .key = "foo", .flags = "MD",
     .mode = '-'},
    {IN("ma foo M-\r\n"), .cmd = META_ARITH, .key = "foo", .flags = "M-",
     .mode = '-'},
    {IN("ma foo Mi\r\n"), .status = PARSE_CLIENT_ERROR, .cmd = META_ARITH,
     .error = E_MA_MODE},
    {IN("ma foo Md\r\n"), .status = PARSE_CLIENT_ERROR, .cmd = META_ARITH,
     .error = E_MA_MODE},
    {IN("ma foo MS\r\n"), .status = PARSE_CLIENT_ERROR, .cmd = META_ARITH,
     .error = E_MA_MODE},
    {IN("ma foo MX " OLONG "\r\n"), .status = PARSE_CLIENT_ERROR,
     .cmd = META_ARITH, .error = E_MA_MODE},
    {IN("ms foo 3 MR\r\n"), .cmd = META_SET, .key = "foo", .datalen = 3,
     .flags = "MR", .mode = 'R'},
    {IN("mg foo MX\r\n"), .cmd = META_GET, .key = "foo", .flags = "MX",
     .mode = 'X'},
    {IN("mg foo M~\r\n"), .cmd = META_GET, .key = "foo", .flags = "M~",
     .mode = '~'},
};

static void
checks_and_normalises_the_mode_of_ms_and_ma(void **state)
{
    (void)state;
    RUN_TABLE(mode_cases);
}

/* ---- numbers ------------------------------------------------------------ */

/* clang-format off */
#define MG_NUM(flag, ...) \
    {IN("mg k " flag "\r\n"), .cmd = META_GET, .key = "k", .flags = flag, \
     __VA_ARGS__}
static const struct meta_case number_cases[] = {
    MG_NUM("T4294967396", .exptime = 100),
    MG_NUM("T-4294967196", .exptime = 100),
    MG_NUM("T2147483648", .exptime = INT32_MIN),
    MG_NUM("T-1", .exptime = -1),
    MG_NUM("T+5", .exptime = 5),
    MG_NUM("T-0", .exptime = 0),
    MG_NUM("T-9223372036854775808", .exptime = 0),
    MG_NUM("T9223372036854775807", .exptime = -1),
    MG_NUM("N-1", .vivify = -1),
    MG_NUM("R2147483647", .recache = INT32_MAX),
    MG_NUM("C18446744073709551615", .cas = UINT64_MAX),
    MG_NUM("C-18446744073709551615", .cas = 1),
    MG_NUM("C-0", .cas = 0),
    MG_NUM("F4294967297", .client_flags = 1),
    MG_NUM("F4294967295", .client_flags = UINT32_MAX),
    MG_NUM("F-0", .client_flags = 0),
    MG_NUM("J18446744073709551615", .initial = UINT64_MAX),
    MG_NUM("D18446744073709551615", .delta = UINT64_MAX),
    MG_NUM("D-0", .delta = 0),
    MG_NUM("D+7", .delta = 7),
};
#undef MG_NUM
/* clang-format on */

static void
reads_numbers_as_strtol_and_strtoull_would(void **state)
{
    (void)state;
    RUN_TABLE(number_cases);
}

/* ---- base64 keys -------------------------------------------------------- */

static const struct meta_case base64_cases[] = {
    {IN("mg Zg== b k\r\n"), .cmd = META_GET, .key = "f", .binary = true,
     .flags = "b k"},
    {IN("mg Zg=v b\r\n"), .cmd = META_GET, .key = "f\0", .nkey = 2,
     .binary = true, .flags = "b"},
    {IN("mg Z!m9v b\r\n"), .cmd = META_GET, .key = "foo", .binary = true,
     .flags = "b"},
    {IN("mg Zg==Zm9v b\r\n"), .cmd = META_GET, .key = "f", .binary = true,
     .flags = "b"},
    {IN("mg AAAA b\r\n"), .cmd = META_GET, .key = "\0\0\0", .nkey = 3,
     .binary = true, .flags = "b"},
    {IN("mg Zm9v==== b\r\n"), .status = PARSE_CLIENT_ERROR, .cmd = META_GET,
     .error = E_DECODE},
    {IN("mg A=== b\r\n"), .status = PARSE_CLIENT_ERROR, .cmd = META_GET,
     .error = E_DECODE},
    {IN("mg !!!! b\r\n"), .status = PARSE_CLIENT_ERROR, .cmd = META_GET,
     .error = E_DECODE},
    {IN("mg Zm9 b\r\n"), .status = PARSE_CLIENT_ERROR, .cmd = META_GET,
     .error = E_DECODE},
    {IN2("ms Zm9 3 b\r\n", "abc\r\n"), .status = PARSE_CLIENT_ERROR,
     .cmd = META_SET, .error = E_DECODE, .swallow = 5},
    {IN2("ms Zm9v 3 b\r\n", "abc\r\n"), .cmd = META_SET, .key = "foo",
     .binary = true, .datalen = 3, .flags = "b"},
    {IN("md Zm9v b q\r\n"), .cmd = META_DELETE, .key = "foo", .binary = true,
     .flags = "b q"},
    {IN("md Zm9 b\r\n"), .status = PARSE_CLIENT_ERROR, .cmd = META_DELETE,
     .error = E_MDMA},
    {IN("ma Zm9v b\r\n"), .cmd = META_ARITH, .key = "foo", .binary = true,
     .flags = "b"},
    {IN("ma Zm9 b\r\n"), .status = PARSE_CLIENT_ERROR, .cmd = META_ARITH,
     .error = E_MDMA},
    {IN("me Zm9 b\r\n"), .status = PARSE_CLIENT_ERROR, .cmd = META_DEBUG,
     .error = E_FORMAT},
    {IN("me !!!! b\r\n"), .status = PARSE_CLIENT_ERROR, .cmd = META_DEBUG,
     .error = E_FORMAT},
};

static void
decodes_base64_keys_with_memcached_rules(void **state)
{
    (void)state;
    RUN_TABLE(base64_cases);
}

/* ---- opaque ------------------------------------------------------------- */

static const struct meta_case opaque_cases[] = {
    {IN("mg foo " OMAX "\r\n"), .cmd = META_GET, .key = "foo", .flags = OMAX,
     .opaque = OMAX},
    {IN("mg foo O\r\n"), .cmd = META_GET, .key = "foo", .flags = "O",
     .opaque = "O"},
    /* The last check: every other field is filled in (see meta.h). */
    {IN("mg foo k T30 " OLONG "\r\n"), .status = PARSE_CLIENT_ERROR,
     .cmd = META_GET, .error = E_OPAQUE, .filled = true, .key = "foo",
     .flags = "k T30 " OLONG, .exptime = 30, .opaque = OLONG},
    {IN("mg foo q " OLONG "\r\n"), .status = PARSE_CLIENT_ERROR,
     .cmd = META_GET, .error = E_OPAQUE},
    {IN("ma foo N0 J7 " OLONG "\r\n"), .status = PARSE_CLIENT_ERROR,
     .cmd = META_ARITH, .error = E_OPAQUE, .filled = true, .key = "foo",
     .flags = "N0 J7 " OLONG, .initial = 7, .opaque = OLONG},
    {IN("md foo " OLONG "\r\n"), .status = PARSE_CLIENT_ERROR,
     .cmd = META_DELETE, .error = E_OPAQUE},
    {IN2("ms foo 1 " OLONG "\r\n", "5\r\n"), .status = PARSE_CLIENT_ERROR,
     .cmd = META_SET, .error = E_OPAQUE, .swallow = 3, .filled = true,
     .key = "foo", .datalen = 1, .flags = OLONG, .opaque = OLONG},
};

static void
limits_the_opaque_token_to_32_bytes_with_its_o(void **state)
{
    (void)state;
    RUN_TABLE(opaque_cases);
}

/* ---- meta_is_meta ------------------------------------------------------- */

static void
recognises_a_meta_line_by_its_first_token(void **state)
{
    static const struct {
        const char *in;
        size_t len;
        bool meta;
    } cases[] = {
#define IS(s, m) {(s), sizeof(s) - 1, (m)}
        IS("mg foo\r\n", true),
        IS("mn\r\n", true),
        IS("mn\n", true),
        IS("mz\n", true),
        IS("mn\0", true),
        IS("mg ", true),
        IS("  mn\r\n", true),
        IS("m\r \r\n", true),
        IS("m\r\r\n", true),
        IS("mn\r\r\n", false),
        IS("mn\r", false), /* cannot tell yet */
        IS("mn", false),
        IS("m", false),
        IS("", false),
        IS("   ", false),
        IS("m \r\n", false),
        IS("m\r\n", false),
        IS("m\n", false),
        IS("m\0x\r\n", false),
        IS("mgx foo\r\n", false),
        IS("get foo\r\n", false),
        IS("MG foo\r\n", false),
        IS("mn\tx\r\n", false),
        IS("\tmn\r\n", false),
        IS(" \nmg foo\n", false),
        IS("\0mg foo\n", false),
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *in = copy_of(cases[i].in, cases[i].len);
        char what[64];
        if (meta_is_meta(in, cases[i].len) != cases[i].meta) {
            describe(cases[i].in, cases[i].len, what, sizeof(what));
            fail_msg("meta_is_meta(\"%s\") != %d", what, cases[i].meta);
        }
        free(in);
    }
}

/* ---- long lines --------------------------------------------------------- */

static char *
put_str(char *dst, const char *s)
{
    while (*s != '\0') {
        *dst++ = *s++;
    }
    return dst;
}

/* Runs a case whose input is head, nfill copies of fill, then tail. */
static void
run_built(const char *head, size_t nfill, char fill, const char *tail,
          struct meta_case c)
{
    size_t len = strlen(head) + nfill + strlen(tail);
    char *in = malloc(len);
    char *p;

    assert_non_null(in);
    p = put_str(in, head);
    memset(p, fill, nfill);
    put_str(p + nfill, tail);
    c.in = in;
    c.len = len;
    run_case(&c);
    free(in);
}

static enum parse_status
parse_filled(const char *head, size_t len, char fill)
{
    char *in = malloc(len);
    struct meta_request req;
    size_t used = 7;
    enum parse_status st;

    assert_non_null(in);
    memset(in, fill, len);
    put_str(in, head);
    st = meta_parse(in, len, &req, &used);
    assert_int_equal(used, 0);
    free(in);
    return st;
}

static void
closes_an_unterminated_line_longer_than_2048_bytes(void **state)
{
    (void)state;
    assert_int_equal(parse_filled("mg ", TEXT_LINE_MAX, 'a'), PARSE_AGAIN);
    assert_int_equal(parse_filled("mg ", TEXT_LINE_MAX + 1, 'a'), PARSE_CLOSE);
    assert_int_equal(parse_filled("ms k 1 ", 3000, ' '), PARSE_CLOSE);
    assert_int_equal(parse_filled("mn ", 3000, 'a'), PARSE_CLOSE);
}

static void
parses_long_lines_that_arrive_whole(void **state)
{
    (void)state;
    run_built("mg ", 3000, ' ', "foo v\r\n",
              (struct meta_case){.cmd = META_GET, .key = "foo", .flags = "v"});
    run_built("mn", 3000, ' ', "x\r\n",
              (struct meta_case){.cmd = META_NOOP, .key = ""});
    run_built("mg foo O", 3000, 'x', "\r\n",
              (struct meta_case){.status = PARSE_CLIENT_ERROR,
                                 .cmd = META_GET,
                                 .error = E_OPAQUE});
}

/* The longest key base64 can carry in 250 bytes decodes to 186 bytes. */
static void
decodes_the_longest_base64_key(void **state)
{
    unsigned char raw[187];
    char line[300];
    char want[200];
    size_t n;
    (void)state;

    for (size_t i = 0; i < sizeof(raw); i++) {
        raw[i] = (unsigned char)(255 - i);
    }
    memcpy(want, raw, 186);
    memcpy(line, "mg ", 3);
    n = 3 + base64_encode(raw, 186, line + 3, 248);
    assert_int_equal(n, 3 + 248);
    n = (size_t)(put_str(line + n, "!! b\r\n") - line);
    run_case(&(struct meta_case){.in = line,
                                 .len = n,
                                 .cmd = META_GET,
                                 .key = want,
                                 .nkey = 186,
                                 .binary = true,
                                 .flags = "b"});
    /* 187 bytes need 252 characters: the key token is too long. */
    n = 3 + base64_encode(raw, 187, line + 3, 252);
    n = (size_t)(put_str(line + n, " b\r\n") - line);
    run_case(&(struct meta_case){.in = line,
                                 .len = n,
                                 .status = PARSE_CLIENT_ERROR,
                                 .cmd = META_GET,
                                 .error = E_FORMAT});
}

static void
fills_every_field_on_each_call(void **state)
{
    struct meta_request req;
    size_t used;
    (void)state;

    memset(&req, 0x5a, sizeof(req));
    assert_int_equal(meta_parse("mn\r\n", 4, &req, &used), PARSE_OK);
    assert_int_equal(used, 4);
    assert_int_equal(req.cmd, META_NOOP);
    assert_int_equal(req.key.len, 0);
    assert_false(req.binary);
    assert_int_equal(req.datalen, 0);
    assert_int_equal(req.has, 0);
    assert_int_equal(req.nflags, 0);
    assert_int_equal(req.exptime, 0);
    assert_int_equal(req.vivify, 0);
    assert_int_equal(req.recache, 0);
    assert_int_equal(req.cas, 0);
    assert_int_equal(req.client_flags, 0);
    assert_int_equal(req.mode, 0);
    assert_int_equal(req.initial, 0);
    assert_int_equal(req.delta, 1);
    assert_int_equal(req.opaque.len, 0);
    assert_null(req.error);
    assert_int_equal(req.swallow, 0);
    memset(&req, 0x5a, sizeof(req));
    used = 7;
    assert_int_equal(meta_parse("mg k", 4, &req, &used), PARSE_AGAIN);
    assert_int_equal(used, 0);
    assert_int_equal(meta_parse(NULL, 0, &req, &used), PARSE_AGAIN);
    /* A request reused after an ms error carries nothing over. */
    assert_int_equal(meta_parse("ms k 3 Tx\r\n", 11, &req, &used),
                     PARSE_CLIENT_ERROR);
    assert_int_equal(req.swallow, 5);
    assert_int_equal(meta_parse("mg k\r\n", 6, &req, &used), PARSE_OK);
    assert_int_equal(req.swallow, 0);
    assert_null(req.error);
}

/* ---- composing ---------------------------------------------------------- */

static void
assert_queued(struct outq *q, const char *want, size_t nwant)
{
    char got[2048];
    size_t n = outq_gather(q, got, sizeof(got));

    assert_false(outq_failed(q));
    assert_int_equal(n, nwant);
    assert_memory_equal(got, want, nwant);
}

#define ASSERT_QUEUED(q, s) assert_queued(q, s, sizeof(s) - 1)

static void
composes_a_line_flag_by_flag(void **state)
{
    struct outq q;
    struct meta_line l;
    (void)state;

    outq_init(&q);
    meta_line_init(&l, "HD");
    meta_compose_line(&q, &l);
    meta_line_init(&l, "EN");
    meta_line_key(&l, slice_make("nope", 4), false);
    meta_line_token(&l, slice_make("O5", 2));
    meta_compose_line(&q, &l);
    meta_line_init(&l, "HD");
    meta_line_num(&l, 'c', 41);
    meta_line_ttl(&l, 't', -1);
    meta_line_key(&l, slice_make("foo", 3), false);
    meta_line_token(&l, slice_make("O123", 4));
    meta_line_num(&l, 'h', 0);
    meta_line_char(&l, 'Z');
    meta_line_char(&l, 'X');
    meta_line_char(&l, 'W');
    meta_compose_line(&q, &l);
    meta_line_init(&l, "MN");
    meta_compose_line(&q, &l);
    ASSERT_QUEUED(&q, "HD\r\n"
                      "EN knope O5\r\n"
                      "HD c41 t-1 kfoo O123 h0 Z X W\r\n"
                      "MN\r\n");
    outq_deinit(&q);
}

static void
composes_extreme_numbers(void **state)
{
    struct outq q;
    struct meta_line l;
    (void)state;

    outq_init(&q);
    meta_line_init_value(&l, 0);
    meta_line_num(&l, 'c', UINT64_MAX);
    meta_line_num(&l, 'f', 0);
    meta_line_ttl(&l, 't', INT64_MIN);
    meta_line_ttl(&l, 't', INT64_MAX);
    meta_line_ttl(&l, 't', 0);
    meta_compose_value(&q, &l, NULL, 0);
    ASSERT_QUEUED(&q, "VA 0 c18446744073709551615 f0 t-9223372036854775808 "
                      "t9223372036854775807 t0\r\n\r\n");
    outq_deinit(&q);
}

static void
composes_value_header_by_copy_and_value_by_reference(void **state)
{
    struct outq q;
    struct meta_line l;
    struct iovec iov[8];
    static const char value[] = "hello";
    struct slice segs[2] = {{value, 3}, {value + 3, 2}};
    (void)state;

    outq_init(&q);
    meta_line_init_value(&l, 5);
    meta_line_key(&l, slice_make("foo", 3), true);
    meta_line_num(&l, 's', 5);
    meta_compose_value(&q, &l, segs, 2);
    ASSERT_QUEUED(&q, "VA 5 kZm9v b s5\r\nhello\r\n");
    assert_int_equal(outq_iov(&q, iov, 8), 4);
    assert_ptr_equal(iov[1].iov_base, value);
    assert_ptr_equal(iov[2].iov_base, value + 3);
    outq_deinit(&q);
}

static void
composes_binary_keys_as_base64_then_b(void **state)
{
    struct outq q;
    struct meta_line l;
    (void)state;

    outq_init(&q);
    meta_line_init(&l, "HD");
    meta_line_key(&l, slice_make("\0\xff", 2), true);
    meta_line_key(&l, slice_make("f", 1), true);
    meta_line_key(&l, slice_make("fo", 2), true);
    meta_compose_line(&q, &l);
    ASSERT_QUEUED(&q, "HD kAP8= b kZg== b kZm8= b\r\n");
    outq_deinit(&q);
}

static void
composes_the_debug_line(void **state)
{
    struct outq q;
    (void)state;

    outq_init(&q);
    meta_compose_debug(&q, slice_make("dbg", 3), false, -100, 0, 12, false, 1,
                       65);
    meta_compose_debug(&q, slice_make("foo", 3), true, -1, 7, 13, true, 42,
                       1048576);
    meta_compose_debug(&q, slice_make("k", 1), false, INT64_MIN, UINT64_MAX,
                       UINT64_MAX, true, 4294967295u, SIZE_MAX);
    ASSERT_QUEUED(&q, "ME dbg exp=-100 la=0 cas=12 fetch=no cls=1 size=65\r\n"
                      "ME Zm9v exp=-1 la=7 cas=13 fetch=yes cls=42 "
                      "size=1048576\r\n"
                      "ME k exp=-9223372036854775808 "
                      "la=18446744073709551615 cas=18446744073709551615 "
                      "fetch=yes cls=4294967295 size=18446744073709551615\r\n");
    outq_deinit(&q);
}

/* Found by fuzz_meta: mn's request has an empty key with a NULL ptr. */
static void
composes_an_empty_key(void **state)
{
    struct outq q;
    struct meta_line l;
    struct meta_request req;
    size_t used;
    (void)state;

    assert_int_equal(meta_parse("mn\r\n", 4, &req, &used), PARSE_OK);
    outq_init(&q);
    meta_line_init(&l, "HD");
    meta_line_key(&l, req.key, false);
    meta_line_key(&l, req.key, true);
    meta_line_token(&l, req.opaque);
    meta_compose_line(&q, &l);
    meta_compose_debug(&q, req.key, false, 0, 0, 0, false, 0, 0);
    meta_compose_debug(&q, req.key, true, 0, 0, 0, false, 0, 0);
    ASSERT_QUEUED(&q, "HD k k b \r\n"
                      "ME  exp=0 la=0 cas=0 fetch=no cls=0 size=0\r\n"
                      "ME  exp=0 la=0 cas=0 fetch=no cls=0 size=0\r\n");
    outq_deinit(&q);
}

/* The longest reply a request can ask for still fits one meta_line. */
static void
fits_the_longest_reply_in_a_line(void **state)
{
    struct meta_line l;
    char key[META_KEY_MAX];
    (void)state;

    memset(key, 'k', sizeof(key));
    meta_line_init_value(&l, INT32_MAX);
    meta_line_key(&l, slice_make(key, sizeof(key)), true);
    meta_line_token(&l, slice_make(OMAX, sizeof(OMAX) - 1));
    for (const char *f = "cfsthl"; *f != '\0'; f++) {
        meta_line_ttl(&l, *f, INT64_MIN);
    }
    meta_line_char(&l, 'Z');
    meta_line_char(&l, 'X');
    meta_line_char(&l, 'W');
    assert_int_equal(l.len, 3 + 10 + 2 + 336 + 2 + 1 + 32 + 6 * 22 + 6);
    assert_true(l.len <= META_LINE_MAX);
}

/* Round trip: a key echoed by meta_line_key(), sent back, is the same key. */
static void
echoed_binary_keys_parse_back_to_the_same_bytes(void **state)
{
    unsigned char raw[186];
    (void)state;

    for (size_t i = 0; i < sizeof(raw); i++) {
        raw[i] = (unsigned char)(i * 131 + 7);
    }
    for (size_t n = 1; n <= sizeof(raw); n++) {
        struct meta_line l;
        struct meta_request req;
        char in[META_LINE_MAX + 8];
        size_t used;

        meta_line_init(&l, "mg");
        meta_line_key(&l, slice_make((const char *)raw, n), true);
        /* "mg k<b64> b" -> "mg <b64> b" */
        memcpy(in, l.buf, l.len);
        in[3] = ' ';
        memcpy(in + l.len, "\r\n", 2);
        assert_int_equal(meta_parse(in, l.len + 2, &req, &used), PARSE_OK);
        assert_int_equal(used, l.len + 2);
        assert_true(req.binary);
        assert_int_equal(req.key.len, n);
        assert_memory_equal(req.key.ptr, raw, n);
    }
}

/* Round trip: numbers a line prints parse back as flag arguments. */
static void
echoed_numbers_parse_back_as_flag_arguments(void **state)
{
    static const int64_t ttls[] = {0, 1, -1, INT32_MAX, INT32_MIN, 2592000};
    static const uint64_t nums[] = {0, 1, 9, 10, UINT32_MAX, UINT64_MAX};
    (void)state;

    for (size_t i = 0; i < 6; i++) {
        struct meta_line l;
        struct meta_request req;
        char in[META_LINE_MAX + 8];
        size_t used;

        meta_line_init(&l, "ma k");
        meta_line_ttl(&l, 'T', ttls[i]);
        meta_line_num(&l, 'C', nums[i]);
        meta_line_num(&l, 'J', nums[i]);
        meta_line_num(&l, 'D', nums[i]);
        memcpy(in, l.buf, l.len);
        memcpy(in + l.len, "\n", 1);
        assert_int_equal(meta_parse(in, l.len + 1, &req, &used), PARSE_OK);
        assert_true(req.exptime == ttls[i]);
        assert_true(req.cas == nums[i]);
        assert_true(req.initial == nums[i]);
        assert_true(req.delta == nums[i]);
    }
}

static void
maps_outcomes_to_meta_codes(void **state)
{
    struct outq q;
    (void)state;

    assert_string_equal(meta_code(REPLY_STORED), "HD");
    assert_string_equal(meta_code(REPLY_NOT_STORED), "NS");
    assert_string_equal(meta_code(REPLY_EXISTS), "EX");
    assert_string_equal(meta_code(REPLY_NOT_FOUND), "NF");
    assert_string_equal(meta_code(REPLY_DELETED), "HD");
    assert_string_equal(meta_code(REPLY_MISS), "EN");
    /* errors go out as the text protocol's lines */
    assert_null(meta_code(REPLY_TOO_LARGE));
    assert_null(meta_code(REPLY_NOT_NUMBER));
    assert_null(meta_code(REPLY_UNKNOWN));
    outq_init(&q);
    meta_compose_noop(&q);
    assert_int_equal(outq_pending(&q), 4);
    outq_deinit(&q);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_each_command_into_its_request),
        cmocka_unit_test(frames_lines_like_the_text_protocol),
        cmocka_unit_test(answers_error_for_unknown_commands_and_missing_keys),
        cmocka_unit_test(checks_key_flag_count_and_datalen_in_memcached_order),
        cmocka_unit_test(reports_flag_errors_with_memcached_texts),
        cmocka_unit_test(swallows_the_ms_data_block_once_datalen_is_read),
        cmocka_unit_test(collapses_md_and_ma_flag_errors_into_one_text),
        cmocka_unit_test(checks_and_normalises_the_mode_of_ms_and_ma),
        cmocka_unit_test(reads_numbers_as_strtol_and_strtoull_would),
        cmocka_unit_test(decodes_base64_keys_with_memcached_rules),
        cmocka_unit_test(limits_the_opaque_token_to_32_bytes_with_its_o),
        cmocka_unit_test(recognises_a_meta_line_by_its_first_token),
        cmocka_unit_test(closes_an_unterminated_line_longer_than_2048_bytes),
        cmocka_unit_test(parses_long_lines_that_arrive_whole),
        cmocka_unit_test(decodes_the_longest_base64_key),
        cmocka_unit_test(fills_every_field_on_each_call),
        cmocka_unit_test(composes_a_line_flag_by_flag),
        cmocka_unit_test(composes_extreme_numbers),
        cmocka_unit_test(composes_value_header_by_copy_and_value_by_reference),
        cmocka_unit_test(composes_binary_keys_as_base64_then_b),
        cmocka_unit_test(composes_the_debug_line),
        cmocka_unit_test(composes_an_empty_key),
        cmocka_unit_test(fits_the_longest_reply_in_a_line),
        cmocka_unit_test(echoed_binary_keys_parse_back_to_the_same_bytes),
        cmocka_unit_test(echoed_numbers_parse_back_as_flag_arguments),
        cmocka_unit_test(maps_outcomes_to_meta_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
