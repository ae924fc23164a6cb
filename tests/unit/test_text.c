#include "unit.h"

#include "outq_gather.h"

#include "lib/outq.h"
#include "proto/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

/*
 * Parser cases: input bytes and the request memcached 1.6.18 would act
 * on. Every case is also fed split at every byte offset: a prefix without
 * the line's '\n' must give PARSE_AGAIN (PARSE_CLOSE past TEXT_LINE_MAX
 * unless the line is an exempt get), and a prefix holding the whole line
 * must give exactly the same result.
 *
 * A field left out is expected to be zero / empty. `used` 0 means the
 * whole input for PARSE_OK, PARSE_ERROR and PARSE_CLIENT_ERROR.
 */
struct parse_case {
    const char *in;
    size_t len;
    enum parse_status status;
    size_t used;
    enum verb verb;
    bool noreply;
    const char *key;
    const char *keys; /* get family: the keys joined by one space */
    uint32_t flags;
    int64_t exptime;
    uint32_t nbytes;
    uint64_t cas;
    uint64_t delta;
    uint32_t level;
    const char *args;
    const char *error;
    bool get_exempt; /* long prefixes wait instead of closing */
};

#define IN(s) .in = (s), .len = sizeof(s) - 1

#define A10  "aaaaaaaaaa"
#define A50  A10 A10 A10 A10 A10
#define A250 A50 A50 A50 A50 A50
#define A251 A250 "a"

/* 23 tokens: the most memcached cuts before leaving the rest whole. */
#define T22                                                       \
    "t1 t2 t3 t4 t5 t6 t7 t8 t9 t10 t11 t12 t13 t14 t15 t16 t17 " \
    "t18 t19 t20 t21 t22"

#define E_FORMAT  "bad command line format"
#define E_DELETE  "bad command line format.  Usage: delete <key> [noreply]"
#define E_EXPTIME "invalid exptime argument"
#define E_DELTA   "invalid numeric delta argument"

static void
describe(const struct parse_case *c, size_t len, char *out, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < len && n + 8 < cap; i++) {
        unsigned char ch = (unsigned char)c->in[i];
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

/* Joins a key list with single spaces, as `keys` is written in a case. */
static bool
keys_are(struct slice list, const char *want)
{
    char joined[4096];
    size_t n = 0;
    struct slice key;

    while (text_next_key(&list, &key)) {
        if (n + key.len + 1 >= sizeof(joined)) {
            return false;
        }
        if (n > 0) {
            joined[n++] = ' ';
        }
        memcpy(joined + n, key.ptr, key.len);
        n += key.len;
    }
    joined[n] = '\0';
    return strcmp(joined, want != NULL ? want : "") == 0;
}

#define CHECK(cond)                                                      \
    do {                                                                 \
        if (!(cond)) {                                                   \
            describe(c, len, what, sizeof(what));                        \
            fail_msg("\"%s\" (%zu of %zu bytes): %s", what, len, c->len, \
                     #cond);                                             \
        }                                                                \
    } while (0)

/* Compares one text_parse() result over in[0..len) with the case. */
static void
check_result(const struct parse_case *c, size_t len, enum parse_status st,
             const struct request *req, size_t used)
{
    char what[8192];
    size_t want_used = c->used != 0 ? c->used : c->len;

    CHECK(st == c->status);
    if (st == PARSE_AGAIN || st == PARSE_CLOSE) {
        CHECK(used == 0);
        return;
    }
    CHECK(used == want_used);
    CHECK(req->noreply == c->noreply);
    if (st == PARSE_ERROR) {
        CHECK(req->verb == VERB_NONE);
        return;
    }
    CHECK(req->verb == c->verb);
    if (st == PARSE_CLIENT_ERROR) {
        CHECK(req->error != NULL && strcmp(req->error, c->error) == 0);
        return;
    }
    CHECK(req->error == NULL);
    CHECK(slice_is(req->key, c->key));
    CHECK(keys_are(req->keys, c->keys));
    CHECK(req->flags == c->flags);
    CHECK(req->exptime == c->exptime);
    CHECK(req->nbytes == c->nbytes);
    CHECK(req->cas == c->cas);
    CHECK(req->delta == c->delta);
    CHECK(req->level == c->level);
    CHECK(slice_is(req->args, c->args));
}

/* Parses in[0..len) from an exact-size copy, so ASan sees any over-read. */
static enum parse_status
parse_copy(const char *in, size_t len, struct request *req, size_t *used,
           char **copy)
{
    *copy = malloc(len != 0 ? len : 1);
    assert_non_null(*copy);
    memcpy(*copy, in, len);
    return text_parse(*copy, len, req, used);
}

static void
run_case(const struct parse_case *c)
{
    struct request req;
    size_t used;
    char *copy;
    enum parse_status st;
    const char *nl = memchr(c->in, '\n', c->len);
    size_t line_end = nl != NULL ? (size_t)(nl - c->in) + 1 : c->len + 1;

    for (size_t len = 0; len <= c->len; len++) {
        st = parse_copy(c->in, len, &req, &used, &copy);
        if (len >= line_end) {
            /* Slices point into the copy; compare against the case. */
            check_result(c, len, st, &req, used);
        } else {
            enum parse_status want = PARSE_AGAIN;
            char what[8192];
            if (len > TEXT_LINE_MAX && !c->get_exempt) {
                want = PARSE_CLOSE;
            }
            if (st != want || used != 0) {
                describe(c, len, what, sizeof(what));
                fail_msg("prefix \"%s\" (%zu bytes): status %d, used %zu", what,
                         len, st, used);
            }
        }
        free(copy);
    }
}

static void
run_table(const struct parse_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        run_case(&cases[i]);
    }
}

#define RUN_TABLE(t) run_table((t), sizeof(t) / sizeof((t)[0]))

/* ---- commands ---------------------------------------------------------- */

static const struct parse_case command_cases[] = {
    {IN("get foo\r\n"), .verb = VERB_GET, .keys = "foo"},
    {IN("get a b  c \r\n"), .verb = VERB_GET, .keys = "a b c"},
    {IN("gets a\r\n"), .verb = VERB_GETS, .keys = "a"},
    {IN("bget a b\r\n"), .verb = VERB_GET, .keys = "a b"},
    {IN("gat 10 a b\r\n"), .verb = VERB_GAT, .exptime = 10, .keys = "a b"},
    {IN("gats -1 a\r\n"), .verb = VERB_GATS, .exptime = -1, .keys = "a"},
    {IN("gat 10\r\n"), .verb = VERB_GAT, .exptime = 10},
    {IN("gat 10   \r\n"), .verb = VERB_GAT, .exptime = 10},
    {IN("get noreply\r\n"), .verb = VERB_GET, .keys = "noreply"},
    {IN("get / HTTP/1.1\r\n"), .verb = VERB_GET, .keys = "/ HTTP/1.1"},
    {IN("set foo 5 100 3\r\nabc\r\n"), .used = 17, .verb = VERB_SET,
     .key = "foo", .flags = 5, .exptime = 100, .nbytes = 3},
    {IN("set foo 5 100 3 noreply\r\n"), .verb = VERB_SET, .noreply = true,
     .key = "foo", .flags = 5, .exptime = 100, .nbytes = 3},
    {IN("set foo 0 0 3 garbage\r\n"), .verb = VERB_SET, .key = "foo",
     .nbytes = 3},
    {IN("add k 1 2 0\r\n"), .verb = VERB_ADD, .key = "k", .flags = 1,
     .exptime = 2},
    {IN("replace k 0 0 1\r\n"), .verb = VERB_REPLACE, .key = "k", .nbytes = 1},
    {IN("append k 0 0 1\r\n"), .verb = VERB_APPEND, .key = "k", .nbytes = 1},
    {IN("prepend k 0 0 1 noreply\r\n"), .verb = VERB_PREPEND, .key = "k",
     .nbytes = 1, .noreply = true},
    {IN("cas k 1 2 3 99\r\n"), .verb = VERB_CAS, .key = "k", .flags = 1,
     .exptime = 2, .nbytes = 3, .cas = 99},
    {IN("cas k 0 0 1 18446744073709551615 noreply\r\n"), .verb = VERB_CAS,
     .key = "k", .nbytes = 1, .cas = UINT64_MAX, .noreply = true},
    {IN("delete k\r\n"), .verb = VERB_DELETE, .key = "k"},
    {IN("delete k 0\r\n"), .verb = VERB_DELETE, .key = "k"},
    {IN("delete k noreply\r\n"), .verb = VERB_DELETE, .key = "k",
     .noreply = true},
    {IN("delete k 0 noreply\r\n"), .verb = VERB_DELETE, .key = "k",
     .noreply = true},
    {IN("delete noreply\r\n"), .verb = VERB_DELETE, .key = "noreply"},
    {IN("incr k 5\r\n"), .verb = VERB_INCR, .key = "k", .delta = 5},
    {IN("decr k 18446744073709551615 noreply\r\n"), .verb = VERB_DECR,
     .key = "k", .delta = UINT64_MAX, .noreply = true},
    {IN("touch k 10\r\n"), .verb = VERB_TOUCH, .key = "k", .exptime = 10},
    {IN("touch k -1 noreply\r\n"), .verb = VERB_TOUCH, .key = "k",
     .exptime = -1, .noreply = true},
    {IN("flush_all\r\n"), .verb = VERB_FLUSH_ALL},
    {IN("flush_all 10\r\n"), .verb = VERB_FLUSH_ALL, .exptime = 10},
    {IN("flush_all -5\r\n"), .verb = VERB_FLUSH_ALL, .exptime = -5},
    {IN("flush_all noreply\r\n"), .verb = VERB_FLUSH_ALL, .noreply = true},
    {IN("flush_all 10 noreply\r\n"), .verb = VERB_FLUSH_ALL, .exptime = 10,
     .noreply = true},
    {IN("flush_all 10 20\r\n"), .verb = VERB_FLUSH_ALL, .exptime = 10},
    {IN("version\r\n"), .verb = VERB_VERSION},
    {IN("version a b c\r\n"), .verb = VERB_VERSION},
    {IN("verbosity 1\r\n"), .verb = VERB_VERBOSITY, .level = 1},
    {IN("verbosity 5 noreply\r\n"), .verb = VERB_VERBOSITY, .level = 5,
     .noreply = true},
    {IN("verbosity 0 0\r\n"), .verb = VERB_VERBOSITY},
    {IN("quit\r\n"), .verb = VERB_QUIT},
    {IN("quit now\r\n"), .verb = VERB_QUIT},
    {IN("stats\r\n"), .verb = VERB_STATS},
    {IN("stats  \r\n"), .verb = VERB_STATS},
    {IN("stats items\r\n"), .verb = VERB_STATS, .args = "items"},
    {IN("stats  detail   on  \r\n"), .verb = VERB_STATS, .args = "detail   on"},
    {IN("shutdown\r\n"), .verb = VERB_SHUTDOWN},
    {IN("shutdown graceful\r\n"), .verb = VERB_SHUTDOWN, .args = "graceful"},
    {IN("watch fetchers noreply\r\n"), .verb = VERB_WATCH,
     .args = "fetchers noreply", .noreply = true},
};

static void
parses_every_command_into_its_request(void **state)
{
    (void)state;
    RUN_TABLE(command_cases);
}

/* ---- framing ----------------------------------------------------------- */

static const struct parse_case framing_cases[] = {
    {IN("get foo\n"), .verb = VERB_GET, .keys = "foo"},
    {IN("   get   foo  \r\n"), .verb = VERB_GET, .keys = "foo"},
    {IN("get foo\r\r\n"), .verb = VERB_GET, .keys = "foo\r"},
    {IN("get f\to \x01\xff\r\n"), .verb = VERB_GET, .keys = "f\to \x01\xff"},
    {IN("get a\0b c\r\n"), .verb = VERB_GET, .keys = "a"},
    {IN("version\0junk\r\n"), .verb = VERB_VERSION},
    {IN("verbosity 1\0 2 3 4\r\n"), .verb = VERB_VERBOSITY, .level = 1},
    {IN("set a\0b 0 0 1\r\n"), .status = PARSE_ERROR},
    {IN("get a\r\nget b\r\n"), .used = 7, .verb = VERB_GET, .keys = "a"},
    {IN("version\nversion"), .used = 8, .verb = VERB_VERSION},
    {IN("\r\n"), .status = PARSE_ERROR},
    {IN("\n"), .status = PARSE_ERROR},
    {IN("\r\r\n"), .status = PARSE_ERROR},
    {IN("\0\r\n"), .status = PARSE_ERROR},
    {IN("    \r\n"), .status = PARSE_ERROR},
    {IN("\n\n"), .used = 1, .status = PARSE_ERROR},
    {IN("GET foo\r\n"), .status = PARSE_ERROR},
    {IN("Version\r\n"), .status = PARSE_ERROR},
    {IN("g\r\n"), .status = PARSE_ERROR},
    {IN("get\tfoo\r\n"), .status = PARSE_ERROR},
    {IN("mg foo v\r\n"), .status = PARSE_ERROR},
    {IN("slabs automove 1\r\n"), .verb = VERB_SLABS_AUTOMOVE, .level = 1},
    {IN("slabs automove 4294967297 x\r\n"), .verb = VERB_SLABS_AUTOMOVE,
     .level = 1},
    {IN("slabs automove 3 noreply\r\n"), .verb = VERB_SLABS_AUTOMOVE,
     .noreply = true, .level = 3},
    {IN("slabs automove -1\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_SLABS_AUTOMOVE, .error = "bad command line format"},
    {IN("slabs automove ratio\r\n"), .verb = VERB_SLABS_AUTOMOVE,
     .level = UINT32_MAX},
    {IN("slabs automove ratio 0x10 noreply\r\n"), .verb = VERB_SLABS_RATIO,
     .noreply = true},
    {IN("slabs foo noreply\r\n"), .verb = VERB_SLABS_AUTOMOVE,
     .level = UINT32_MAX},
    {IN("slabs\r\n"), .status = PARSE_ERROR},
    {IN("slabs reassign 1 2\r\n"), .verb = VERB_SLABS_REASSIGN},
    {IN("slabs reassign 1 x\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_SLABS_REASSIGN, .error = "bad command line format"},
    {IN("slabs reassign 1 2 noreply\r\n"), .verb = VERB_SLABS_AUTOMOVE,
     .level = UINT32_MAX},
    {IN("cache_memlimit 9 noreply\r\n"), .verb = VERB_CACHE_MEMLIMIT,
     .noreply = true, .delta = 9},
    {IN("cache_memlimit abc\r\n"), .verb = VERB_CACHE_MEMLIMIT,
     .delta = UINT64_MAX},
    {IN("cache_memlimit 8 noreply x\r\n"), .status = PARSE_ERROR},
    {IN("GET / HTTP/1.1\r\n"), .status = PARSE_CLOSE},
    {IN("HTTP/1.1\r\n"), .status = PARSE_CLOSE},
    {IN("xx HTTP/\r\n"), .status = PARSE_CLOSE},
    {IN("POST /x HTTP/1.0\n"), .status = PARSE_CLOSE},
    {IN("xx HTTP\r\n"), .status = PARSE_ERROR},
    {IN("x HTTP/1.1\r\n"), .status = PARSE_ERROR},
    {IN("xx HTTP/1.1 y\r\n"), .status = PARSE_ERROR},
    {IN("gxx / HTTP/1.1\r\n"), .status = PARSE_ERROR},
    {IN("sxx / HTTP/1.1\r\n"), .status = PARSE_ERROR},
    {IN("mx HTTP/1.1\r\n"), .status = PARSE_ERROR},
    /* parsed: cmd answers ERROR to the unknown watch type */
    {IN("watch HTTP/1.1\r\n"), .verb = VERB_WATCH, .args = "HTTP/1.1"},
    {IN("lru_crawler HTTP/1.1\r\n"), .status = PARSE_ERROR},
    {IN("GET\0 HTTP/1.1\r\n"), .status = PARSE_ERROR},
};

static void
frames_lines_like_memcached(void **state)
{
    (void)state;
    RUN_TABLE(framing_cases);
}

/* ---- token counts ------------------------------------------------------ */

static const struct parse_case token_cases[] = {
    {IN("get\r\n"), .status = PARSE_ERROR},
    {IN("get    \r\n"), .status = PARSE_ERROR},
    {IN("gets\r\n"), .status = PARSE_ERROR},
    {IN("bget\r\n"), .status = PARSE_ERROR},
    {IN("gat\r\n"), .status = PARSE_ERROR},
    {IN("gats\r\n"), .status = PARSE_ERROR},
    {IN("set k 0 0\r\n"), .status = PARSE_ERROR},
    {IN("set k 0 0 1 noreply x\r\n"), .status = PARSE_ERROR},
    {IN("set foo abc 0 1 noreply\r\nx\r\n"), .used = 25,
     .status = PARSE_CLIENT_ERROR, .verb = VERB_SET, .noreply = true,
     .error = E_FORMAT},
    {IN("add k 0 0\r\n"), .status = PARSE_ERROR},
    {IN("replace k\r\n"), .status = PARSE_ERROR},
    {IN("append k 0 0 1 2 3\r\n"), .status = PARSE_ERROR},
    {IN("prepend\r\n"), .status = PARSE_ERROR},
    {IN("cas k 0 0 1\r\n"), .status = PARSE_ERROR},
    {IN("cas k 0 0 1 5 6 7\r\n"), .status = PARSE_ERROR},
    {IN("delete\r\n"), .status = PARSE_ERROR},
    {IN("delete a 0 noreply x\r\n"), .status = PARSE_ERROR},
    {IN("incr k\r\n"), .status = PARSE_ERROR},
    {IN("incr k 1 noreply x\r\n"), .status = PARSE_ERROR},
    {IN("decr k\r\n"), .status = PARSE_ERROR},
    {IN("touch k\r\n"), .status = PARSE_ERROR},
    {IN("touch k 1 2 3\r\n"), .status = PARSE_ERROR},
    {IN("flush_all 10 20 30\r\n"), .status = PARSE_ERROR},
    {IN("verbosity\r\n"), .status = PARSE_ERROR},
    {IN("verbosity 0 0 0\r\n"), .status = PARSE_ERROR},
    /* 23 tokens is the limit; more are one untokenized rest. */
    {IN("incr " T22 "\r\n"), .status = PARSE_ERROR},
    {IN("version " T22 " t23 t24 t25\r\n"), .verb = VERB_VERSION},
    {IN("stats " T22 " t23  \r\n"), .verb = VERB_STATS, .args = T22 " t23"},
    {IN("get " T22 " t23 t24  t25 \r\n"), .verb = VERB_GET,
     .keys = T22 " t23 t24 t25"},
    {IN("gat 0 " T22 " t23 t24\r\n"), .verb = VERB_GAT, .keys = T22 " t23 t24"},
    /* The HTTP check looks at the 23rd token when there are more. */
    {IN("xx " T22 "\r\n"), .status = PARSE_ERROR},
    {IN("xx t1 t2 t3 t4 t5 t6 t7 t8 t9 t10 t11 t12 t13 t14 t15 t16 t17 "
        "t18 t19 t20 t21 HTTP/1.1 more\r\n"),
     .status = PARSE_CLOSE},
    {IN("xx " T22 " HTTP/1.1\r\n"), .status = PARSE_ERROR},
};

static void
checks_token_counts_before_arguments(void **state)
{
    (void)state;
    RUN_TABLE(token_cases);
}

/* ---- numbers ----------------------------------------------------------- */

static const struct parse_case number_cases[] = {
    /* flags: strtoul, truncated to 32 bits; '-' only rejected if huge */
    {IN("set k +5 0 1\r\n"), .verb = VERB_SET, .key = "k", .flags = 5,
     .nbytes = 1},
    {IN("set k -0 0 1\r\n"), .verb = VERB_SET, .key = "k", .nbytes = 1},
    {IN("set k 4294967296 0 1\r\n"), .verb = VERB_SET, .key = "k", .nbytes = 1},
    {IN("set k 4294967297 0 1\r\n"), .verb = VERB_SET, .key = "k", .flags = 1,
     .nbytes = 1},
    {IN("set k 18446744073709551615 0 1\r\n"), .verb = VERB_SET, .key = "k",
     .flags = UINT32_MAX, .nbytes = 1},
    {IN("set k -18446744073709551615 0 1\r\n"), .verb = VERB_SET, .key = "k",
     .flags = 1, .nbytes = 1},
    {IN("set k -9223372036854775809 0 1\r\n"), .verb = VERB_SET, .key = "k",
     .flags = UINT32_MAX, .nbytes = 1},
    {IN("set k \t5 0 1\r\n"), .verb = VERB_SET, .key = "k", .flags = 5,
     .nbytes = 1},
    {IN("set k 5\tx\x0b 0 1\r\n"), .verb = VERB_SET, .key = "k", .flags = 5,
     .nbytes = 1},
    {IN("set k 00000000000000000000000000007 0 1\r\n"), .verb = VERB_SET,
     .key = "k", .flags = 7, .nbytes = 1},
    {IN("set k -1 0 1\r\nx\r\n"), .used = 14, .status = PARSE_CLIENT_ERROR,
     .verb = VERB_SET, .error = E_FORMAT},
    {IN("set k 18446744073709551616 0 1\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_SET, .error = E_FORMAT},
    {IN("set k -18446744073709551616 0 1\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_SET, .error = E_FORMAT},
    {IN("set k 18446744073709551615\t- 0 1\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_SET, .error = E_FORMAT},
    {IN("set k 5x 0 1\r\n"), .status = PARSE_CLIENT_ERROR, .verb = VERB_SET,
     .error = E_FORMAT},
    {IN("set k 0x10 0 1\r\n"), .status = PARSE_CLIENT_ERROR, .verb = VERB_SET,
     .error = E_FORMAT},
    {IN("set k + 0 1\r\n"), .status = PARSE_CLIENT_ERROR, .verb = VERB_SET,
     .error = E_FORMAT},
    {IN("set k +-5 0 1\r\n"), .status = PARSE_CLIENT_ERROR, .verb = VERB_SET,
     .error = E_FORMAT},
    {IN("set k \t 0 1\r\n"), .status = PARSE_CLIENT_ERROR, .verb = VERB_SET,
     .error = E_FORMAT},
    /* exptime: strtol, truncated to signed 32 bits */
    {IN("set k 0 4294967297 1\r\n"), .verb = VERB_SET, .key = "k", .exptime = 1,
     .nbytes = 1},
    {IN("set k 0 -4294967297 1\r\n"), .verb = VERB_SET, .key = "k",
     .exptime = -1, .nbytes = 1},
    {IN("set k 0 2147483648 1\r\n"), .verb = VERB_SET, .key = "k",
     .exptime = INT32_MIN, .nbytes = 1},
    {IN("set k 0 9223372036854775807 1\r\n"), .verb = VERB_SET, .key = "k",
     .exptime = -1, .nbytes = 1},
    {IN("set k 0 -9223372036854775808 1\r\n"), .verb = VERB_SET, .key = "k",
     .nbytes = 1},
    {IN("set k 0 9223372036854775808 1\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_SET, .error = E_FORMAT},
    {IN("set k 0 -9223372036854775809 1\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_SET, .error = E_FORMAT},
    {IN("touch k 4294967297\r\n"), .verb = VERB_TOUCH, .key = "k",
     .exptime = 1},
    {IN("touch k \x0b\x0c\r5\r\n"), .verb = VERB_TOUCH, .key = "k",
     .exptime = 5},
    {IN("touch k 9223372036854775808\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_TOUCH, .error = E_EXPTIME},
    {IN("touch k -\r\n"), .status = PARSE_CLIENT_ERROR, .verb = VERB_TOUCH,
     .error = E_EXPTIME},
    /* bytes: strtol truncated to 32 bits, then 0..2147483645 */
    {IN("set k 0 0 2147483645\r\n"), .verb = VERB_SET, .key = "k",
     .nbytes = 2147483645},
    {IN("set k 0 0 4294967297\r\n"), .verb = VERB_SET, .key = "k", .nbytes = 1},
    {IN("set k 0 0 -4294967295\r\n"), .verb = VERB_SET, .key = "k",
     .nbytes = 1},
    {IN("set k 0 0 2147483646\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_SET, .error = E_FORMAT},
    {IN("set k 0 0 4294967295\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_SET, .error = E_FORMAT},
    {IN("set k 0 0 -1\r\n"), .status = PARSE_CLIENT_ERROR, .verb = VERB_SET,
     .error = E_FORMAT},
    {IN("set k 0 0 x noreply\r\nxx\r\n"), .used = 21,
     .status = PARSE_CLIENT_ERROR, .verb = VERB_SET, .noreply = true,
     .error = E_FORMAT},
    /* cas unique: strtoull */
    {IN("cas k 0 0 1 +7\r\n"), .verb = VERB_CAS, .key = "k", .nbytes = 1,
     .cas = 7},
    {IN("cas k 0 0 1 -1\r\n"), .status = PARSE_CLIENT_ERROR, .verb = VERB_CAS,
     .error = E_FORMAT},
    {IN("cas k 0 0 1 18446744073709551616\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_CAS, .error = E_FORMAT},
    {IN("cas k 0 0 1 x noreply\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_CAS, .noreply = true, .error = E_FORMAT},
    /* delta: strtoull */
    {IN("incr k +5\r\n"), .verb = VERB_INCR, .key = "k", .delta = 5},
    {IN("incr k -0\r\n"), .verb = VERB_INCR, .key = "k"},
    {IN("incr k 5\r\r\n"), .verb = VERB_INCR, .key = "k", .delta = 5},
    {IN("incr k 5\t-\r\n"), .verb = VERB_INCR, .key = "k", .delta = 5},
    {IN("incr k -1\r\n"), .status = PARSE_CLIENT_ERROR, .verb = VERB_INCR,
     .error = E_DELTA},
    {IN("incr k 18446744073709551616\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_INCR, .error = E_DELTA},
    {IN("incr k 99999999999999999999999999\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_INCR, .error = E_DELTA},
    {IN("decr k abc\r\n"), .status = PARSE_CLIENT_ERROR, .verb = VERB_DECR,
     .error = E_DELTA},
    {IN("incr k noreply\r\n"), .status = PARSE_CLIENT_ERROR, .verb = VERB_INCR,
     .noreply = true, .error = E_DELTA},
    /* verbosity level: strtoul */
    {IN("verbosity 4294967297\r\n"), .verb = VERB_VERBOSITY, .level = 1},
    {IN("verbosity x\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_VERBOSITY, .error = E_FORMAT},
    {IN("verbosity x noreply\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_VERBOSITY, .noreply = true, .error = E_FORMAT},
    {IN("verbosity noreply\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_VERBOSITY, .noreply = true, .error = E_FORMAT},
    /* flush_all delay: strtol */
    {IN("flush_all x\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_FLUSH_ALL, .error = E_EXPTIME},
    {IN("flush_all noreply 5\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_FLUSH_ALL, .error = E_EXPTIME},
    {IN("flush_all noreply noreply\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_FLUSH_ALL, .noreply = true, .error = E_EXPTIME},
    /* gat exptime */
    {IN("gat x a\r\n"), .status = PARSE_CLIENT_ERROR, .verb = VERB_GAT,
     .error = E_EXPTIME},
    {IN("gats 1.5 a\r\n"), .status = PARSE_CLIENT_ERROR, .verb = VERB_GATS,
     .error = E_EXPTIME},
    {IN("touch k x noreply\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_TOUCH, .noreply = true, .error = E_EXPTIME},
};

static void
reads_numbers_as_strtoul_and_strtol_would(void **state)
{
    (void)state;
    RUN_TABLE(number_cases);
}

/* ---- keys and other argument errors ------------------------------------ */

static const struct parse_case key_cases[] = {
    {IN("get " A250 "\r\n"), .verb = VERB_GET, .keys = A250},
    {IN("get " A251 "\r\n"), .status = PARSE_CLIENT_ERROR, .verb = VERB_GET,
     .error = E_FORMAT},
    {IN("get a b " A251 " c\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_GET, .error = E_FORMAT},
    {IN("gets " T22 " t23 t24 " A251 "\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_GETS, .error = E_FORMAT},
    {IN("gats 10 " A251 "\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_GATS, .error = E_FORMAT},
    {IN("gat x " A251 "\r\n"), .status = PARSE_CLIENT_ERROR, .verb = VERB_GAT,
     .error = E_EXPTIME},
    {IN("set " A250 " 0 0 1\r\n"), .verb = VERB_SET, .key = A250, .nbytes = 1},
    {IN("set " A251 " 0 0 1\r\nx\r\n"), .used = 263,
     .status = PARSE_CLIENT_ERROR, .verb = VERB_SET, .error = E_FORMAT},
    {IN("set " A251 " x 0 1 noreply\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_SET, .noreply = true, .error = E_FORMAT},
    {IN("cas " A251 " 0 0 1 1\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_CAS, .error = E_FORMAT},
    {IN("touch " A251 " x\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_TOUCH, .error = E_FORMAT},
    {IN("incr " A251 " x\r\n"), .status = PARSE_CLIENT_ERROR, .verb = VERB_INCR,
     .error = E_FORMAT},
    {IN("decr " A250 " 1\r\n"), .verb = VERB_DECR, .key = A250, .delta = 1},
    {IN("delete " A251 "\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_DELETE, .error = E_FORMAT},
    {IN("delete " A251 " x\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_DELETE, .error = E_DELETE},
    {IN("delete k x\r\n"), .status = PARSE_CLIENT_ERROR, .verb = VERB_DELETE,
     .error = E_DELETE},
    {IN("delete k 00\r\n"), .status = PARSE_CLIENT_ERROR, .verb = VERB_DELETE,
     .error = E_DELETE},
    {IN("delete k noreply x\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_DELETE, .error = E_DELETE},
    {IN("delete k 1 noreply\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_DELETE, .noreply = true, .error = E_DELETE},
    {IN("delete k noreply noreply\r\n"), .status = PARSE_CLIENT_ERROR,
     .verb = VERB_DELETE, .noreply = true, .error = E_DELETE},
};

static void
rejects_long_keys_and_bad_arguments_with_memcached_texts(void **state)
{
    (void)state;
    RUN_TABLE(key_cases);
}

/* ---- long lines --------------------------------------------------------- */

/* Copies a C string without its NUL; returns the end. */
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
          struct parse_case c)
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

/* Parses len bytes: head, then fill up to len; none of them '\n'. */
static enum parse_status
parse_filled(const char *head, size_t len, char fill)
{
    char *in = malloc(len);
    struct request req;
    size_t used;
    enum parse_status st;

    assert_non_null(in);
    memset(in, fill, len);
    put_str(in, head);
    st = text_parse(in, len, &req, &used);
    assert_int_equal(used, 0);
    free(in);
    return st;
}

static void
closes_unterminated_line_longer_than_line_max(void **state)
{
    (void)state;
    assert_int_equal(parse_filled("", TEXT_LINE_MAX, 'a'), PARSE_AGAIN);
    assert_int_equal(parse_filled("", TEXT_LINE_MAX + 1, 'a'), PARSE_CLOSE);
    assert_int_equal(parse_filled("", 3000, ' '), PARSE_CLOSE);
    assert_int_equal(parse_filled("set ", 3000, 'a'), PARSE_CLOSE);
    assert_int_equal(parse_filled("gat 1 ", 3000, 'a'), PARSE_CLOSE);
    assert_int_equal(parse_filled("get\t", 3000, 'a'), PARSE_CLOSE);
    assert_int_equal(parse_filled("getx ", 3000, 'a'), PARSE_CLOSE);
    assert_int_equal(parse_filled("GET ", 3000, 'a'), PARSE_CLOSE);
}

static void
waits_for_long_get_line_until_get_line_max(void **state)
{
    char spaces[128];
    size_t get_max = (size_t)TEXT_GET_LINE_MAX;
    (void)state;

    assert_int_equal(parse_filled("get ", 3000, 'a'), PARSE_AGAIN);
    assert_int_equal(parse_filled("gets ", 3000, 'a'), PARSE_AGAIN);
    memset(spaces, ' ', 100);
    memcpy(spaces + 100, "get ", 5);
    assert_int_equal(parse_filled(spaces, 3000, 'a'), PARSE_AGAIN);
    memset(spaces, ' ', 101);
    memcpy(spaces + 101, "get ", 5);
    assert_int_equal(parse_filled(spaces, 3000, 'a'), PARSE_CLOSE);
    assert_int_equal(parse_filled("get ", get_max, 'a'), PARSE_AGAIN);
    assert_int_equal(parse_filled("get ", get_max + 1, 'a'), PARSE_CLOSE);
}

static void
parses_long_lines_that_arrive_whole(void **state)
{
    (void)state;
    /* A get line keeps waiting past TEXT_LINE_MAX; others close. */
    run_built(
        "get", 3000, ' ', "k\r\n",
        (struct parse_case){.verb = VERB_GET, .keys = "k", .get_exempt = true});
    run_built("gets ", 3000, 'a', "\n",
              (struct parse_case){.status = PARSE_CLIENT_ERROR,
                                  .verb = VERB_GETS,
                                  .error = E_FORMAT,
                                  .get_exempt = true});
    run_built("set ", 3000, 'a', " 0 0 1\r\n",
              (struct parse_case){.status = PARSE_CLIENT_ERROR,
                                  .verb = VERB_SET,
                                  .error = E_FORMAT});
    run_built("gat 0 ", 3000, ' ', "\r\n",
              (struct parse_case){.verb = VERB_GAT});
    run_built("version", 3000, ' ', "x\r\n",
              (struct parse_case){.verb = VERB_VERSION});
}

static void
iterates_get_keys_past_the_token_limit(void **state)
{
    char line[8192];
    size_t n = 0;
    struct request req;
    size_t used;
    struct slice rest;
    struct slice key;
    size_t nkeys = 0;
    (void)state;

    n += (size_t)snprintf(line + n, sizeof(line) - n, "get");
    for (int i = 0; i < 500; i++) {
        n += (size_t)snprintf(line + n, sizeof(line) - n, " key%d", i);
    }
    n += (size_t)snprintf(line + n, sizeof(line) - n, "\r\n");
    assert_int_equal(text_parse(line, n, &req, &used), PARSE_OK);
    assert_int_equal(used, n);
    rest = req.keys;
    while (text_next_key(&rest, &key)) {
        char want[16];
        snprintf(want, sizeof(want), "key%zu", nkeys);
        assert_true(slice_eq_str(key, want));
        nkeys++;
    }
    assert_int_equal(nkeys, 500);
}

static void
next_key_skips_spaces_and_stops_at_the_end(void **state)
{
    struct slice rest = slice_make("  a  bb c ", 10);
    struct slice key;
    (void)state;

    assert_true(text_next_key(&rest, &key));
    assert_true(slice_eq_str(key, "a"));
    assert_true(text_next_key(&rest, &key));
    assert_true(slice_eq_str(key, "bb"));
    assert_true(text_next_key(&rest, &key));
    assert_true(slice_eq_str(key, "c"));
    assert_false(text_next_key(&rest, &key));
    assert_false(text_next_key(&rest, &key));
    rest = slice_make("", 0);
    assert_false(text_next_key(&rest, &key));
}

static void
fills_every_field_on_each_call(void **state)
{
    struct request req;
    size_t used;
    (void)state;

    memset(&req, 0x5a, sizeof(req));
    assert_int_equal(text_parse("version\r\n", 9, &req, &used), PARSE_OK);
    assert_false(req.noreply);
    assert_int_equal(req.key.len, 0);
    assert_int_equal(req.cas, 0);
    assert_null(req.error);
    memset(&req, 0x5a, sizeof(req));
    used = 7;
    assert_int_equal(text_parse("get", 3, &req, &used), PARSE_AGAIN);
    assert_int_equal(used, 0);
    assert_int_equal(text_parse(NULL, 0, &req, &used), PARSE_AGAIN);
}

/* ---- composing ---------------------------------------------------------- */

static void
assert_queued(struct outq *q, const char *want, size_t nwant)
{
    char got[1024];
    size_t n = outq_gather(q, got, sizeof(got));

    assert_false(outq_failed(q));
    assert_int_equal(n, nwant);
    assert_memory_equal(got, want, nwant);
}

#define ASSERT_QUEUED(q, s) assert_queued(q, s, sizeof(s) - 1)

static void
composes_fixed_replies_from_the_table(void **state)
{
    struct outq q;
    (void)state;

    outq_init(&q);
    for (int st = REPLY_STORED; st <= REPLY_OK; st++) {
        struct reply r = {.status = (enum reply_status)st};
        text_compose_result(&q, &r);
    }
    struct reply miss = {.status = REPLY_MISS};
    text_compose_result(&q, &miss);
    for (int st = REPLY_TOO_LARGE; st < REPLY_NSTATUS; st++) {
        struct reply r = {.status = (enum reply_status)st};
        text_compose_result(&q, &r);
    }
    text_compose_reply(&q, TEXT_END);
    text_compose_reply(&q, TEXT_RESET);
    text_compose_reply(&q, TEXT_SHUTDOWN_DISABLED);
    text_compose_reply(&q, TEXT_WATCHER_TOO_MANY);
    ASSERT_QUEUED(&q, "STORED\r\nNOT_STORED\r\nEXISTS\r\nNOT_FOUND\r\n"
                      "DELETED\r\nTOUCHED\r\nOK\r\n"
                      "SERVER_ERROR object too large for cache\r\n"
                      "SERVER_ERROR out of memory storing object\r\n"
                      "SERVER_ERROR out of memory\r\n"
                      "SERVER_ERROR Out of memory allocating new item\r\n"
                      "SERVER_ERROR Out of memory during read\r\n"
                      "CLIENT_ERROR cannot increment or decrement non-numeric "
                      "value\r\n"
                      "CLIENT_ERROR bad data chunk\r\n"
                      "CLIENT_ERROR flush_all not allowed\r\n"
                      "ERROR\r\nEND\r\nRESET\r\n"
                      "ERROR: shutdown not enabled\r\n"
                      "WATCHER_TOO_MANY log watcher limit reached\r\n");
    outq_deinit(&q);
}

static void
composes_number_results(void **state)
{
    struct outq q;
    struct reply n = {.status = REPLY_NUMBER, .number = 42};
    (void)state;

    outq_init(&q);
    text_compose_result(&q, &n);
    ASSERT_QUEUED(&q, "42\r\n");
    assert_int_equal(text_result_line(REPLY_VALUE).len, 0);
    outq_deinit(&q);
}

static void
composes_value_header_by_copy_and_value_by_reference(void **state)
{
    struct outq q;
    struct iovec iov[8];
    static const char value[] = "hello";
    struct slice segs[2] = {{value, 3}, {value + 3, 2}};
    (void)state;

    outq_init(&q);
    text_compose_value(&q, slice_make("key", 3), 7, 5, segs, 2, false, 0);
    ASSERT_QUEUED(&q, "VALUE key 7 5\r\nhello\r\n");
    assert_int_equal(outq_iov(&q, iov, 8), 4);
    assert_ptr_equal(iov[1].iov_base, value);
    assert_ptr_equal(iov[2].iov_base, value + 3);
    outq_deinit(&q);
}

static void
composes_value_with_cas_and_extreme_numbers(void **state)
{
    struct outq q;
    (void)state;

    outq_init(&q);
    text_compose_value(&q, slice_make("k", 1), UINT32_MAX, 0, NULL, 0, true,
                       UINT64_MAX);
    text_compose_value(&q, slice_make("k", 1), 0, 1, &(struct slice){"x", 1}, 1,
                       true, 0);
    text_compose_reply(&q, TEXT_END);
    ASSERT_QUEUED(&q, "VALUE k 4294967295 0 18446744073709551615\r\n\r\n"
                      "VALUE k 0 1 0\r\nx\r\nEND\r\n");
    outq_deinit(&q);
}

static void
composes_error_number_stat_and_version_lines(void **state)
{
    struct outq q;
    (void)state;

    outq_init(&q);
    text_compose_client_error(&q, "bad data chunk");
    text_compose_number(&q, 0);
    text_compose_number(&q, UINT64_MAX);
    text_compose_number(&q, 1000);
    text_compose_stat(&q, "pid", "42");
    text_compose_version(&q, "1.6.18");
    ASSERT_QUEUED(&q, "CLIENT_ERROR bad data chunk\r\n"
                      "0\r\n18446744073709551615\r\n1000\r\n"
                      "STAT pid 42\r\n"
                      "VERSION 1.6.18\r\n");
    outq_deinit(&q);
}

/*
 * Round trip: the numbers text_compose_value() prints, turned into a cas
 * command, parse back to themselves.
 */
static void
value_header_numbers_parse_back_as_a_cas_command(void **state)
{
    static const uint64_t nums[] = {0,           1,           9,
                                    10,          99,          4294967295u,
                                    4294967296u, 2147483645u, UINT64_MAX - 1,
                                    UINT64_MAX};
    (void)state;

    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        struct outq q;
        char out[256];
        char line[300];
        size_t n;
        size_t used;
        struct request req;
        uint32_t flags = (uint32_t)nums[i];
        size_t nbytes = (size_t)(nums[i] % 2147483646u);

        outq_init(&q);
        text_compose_value(&q, slice_make("rt", 2), flags, nbytes, NULL, 0,
                           true, nums[i]);
        n = outq_gather(&q, out, sizeof(out));
        outq_deinit(&q);
        /* "VALUE rt F N C\r\n\r\n" -> "cas rt F 0 N C\r\n" */
        assert_true(n > 8 && memcmp(out, "VALUE rt ", 9) == 0);
        out[n - 4] = '\0';
        char *f = out + 9;
        char *nb = strchr(f, ' ');
        assert_non_null(nb);
        *nb++ = '\0';
        n = (size_t)snprintf(line, sizeof(line), "cas rt %s 0 %s\r\n", f, nb);
        assert_int_equal(text_parse(line, n, &req, &used), PARSE_OK);
        assert_int_equal(used, n);
        assert_int_equal(req.verb, VERB_CAS);
        assert_int_equal(req.flags, flags);
        assert_int_equal(req.nbytes, nbytes);
        assert_true(req.cas == nums[i]);
    }
}

/* lru's words after the verb, read as memcached 1.6.18 reads them. */
static struct text_lru
lru_of(const char *args)
{
    struct text_lru o;
    memset(&o, 0xee, sizeof(o));
    text_parse_lru(slice_make(args, strlen(args)), &o);
    return o;
}

static void
parses_lru_subcommands_as_memcached(void **state)
{
    struct text_lru o;
    (void)state;

    o = lru_of("tune 10 30 0.5 3");
    assert_int_equal(o.op, TEXT_LRU_TUNE);
    assert_int_equal(o.hot_pct, 10);
    assert_int_equal(o.warm_pct, 30);
    assert_true(o.hot_factor == 0.5 && o.warm_factor == 3.0);
    /* extra tokens are ignored; pcts truncate to 32 bits; 1e1 is 10 */
    o = lru_of("tune 4294967297 0 1e1 2 extra");
    assert_int_equal(o.op, TEXT_LRU_TUNE);
    assert_int_equal(o.hot_pct, 1);
    assert_true(o.hot_factor == 10.0);
    assert_int_equal(lru_of("tune -5 10 0.1 2").op, TEXT_LRU_BAD);
    assert_int_equal(lru_of("tune 10 10 0.1 2x").op, TEXT_LRU_BAD);
    assert_int_equal(lru_of("tune 10 10 0.1").op, TEXT_LRU_BAD);
    assert_int_equal(lru_of("TUNE 10 10 0.1 2").op, TEXT_LRU_BAD);
    assert_int_equal(lru_of("mode flat").op, TEXT_LRU_FLAT);
    assert_int_equal(lru_of("mode segmented noreply").op, TEXT_LRU_SEGMENTED);
    assert_int_equal(lru_of("mode noreply").op, TEXT_LRU_BAD);
    assert_int_equal(lru_of("mode").op, TEXT_LRU_BAD);
    o = lru_of("temp_ttl 99999999999");
    assert_int_equal(o.op, TEXT_LRU_TEMP_TTL);
    assert_int_equal(o.ttl, 1215752191);
    assert_int_equal(lru_of("temp_ttl 4294967295").ttl, -1);
    assert_int_equal(lru_of("temp_ttl +5").ttl, 5);
    assert_int_equal(lru_of("temp_ttl 5x").op, TEXT_LRU_BAD);
    assert_int_equal(lru_of("").op, TEXT_LRU_BAD);
    assert_int_equal(lru_of("foo").op, TEXT_LRU_BAD);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_every_command_into_its_request),
        cmocka_unit_test(frames_lines_like_memcached),
        cmocka_unit_test(checks_token_counts_before_arguments),
        cmocka_unit_test(reads_numbers_as_strtoul_and_strtol_would),
        cmocka_unit_test(
            rejects_long_keys_and_bad_arguments_with_memcached_texts),
        cmocka_unit_test(closes_unterminated_line_longer_than_line_max),
        cmocka_unit_test(waits_for_long_get_line_until_get_line_max),
        cmocka_unit_test(parses_long_lines_that_arrive_whole),
        cmocka_unit_test(iterates_get_keys_past_the_token_limit),
        cmocka_unit_test(next_key_skips_spaces_and_stops_at_the_end),
        cmocka_unit_test(fills_every_field_on_each_call),
        cmocka_unit_test(composes_fixed_replies_from_the_table),
        cmocka_unit_test(composes_number_results),
        cmocka_unit_test(composes_value_header_by_copy_and_value_by_reference),
        cmocka_unit_test(composes_value_with_cas_and_extreme_numbers),
        cmocka_unit_test(composes_error_number_stat_and_version_lines),
        cmocka_unit_test(value_header_numbers_parse_back_as_a_cas_command),
        cmocka_unit_test(parses_lru_subcommands_as_memcached),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
