#include "proto/text.h"

#include "lib/outq.h"
#include "lib/slice.h"
#include "proto/lex.h"
#include "proto/number.h"

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/*
 * How memcached 1.6.18 reads a command line, which this file reproduces
 * without its code (it NUL-terminates tokens in place; we never write to
 * the input and never run past `len`):
 *
 *   in: |set k 0 0 5 noreply\r\n|<data block: not ours>|
 *        `- line ------------'   `- *used ends here
 *
 * The line ends at the first '\n'; a '\r' before it is dropped, and an
 * embedded NUL ends the line early (memcached handles it as a C string).
 * Tokens are runs of non-space bytes (only 0x20 separates). At most
 * LEX_TOKENS_MAX are cut; anything after them is left in one piece, and
 * only the get family reads it (as more keys). lex.c does the cutting.
 */

/* A long unterminated line may start with this many spaces, then "get ". */
#define TEXT_GET_SPACES_MAX 100

/* CLIENT_ERROR texts a parse can produce (the text after the code word). */
static const char ERR_FORMAT[] = "bad command line format";
static const char ERR_DELETE[] =
    "bad command line format.  Usage: delete <key> [noreply]";
static const char ERR_EXPTIME[] = "invalid exptime argument";
static const char ERR_DELTA[] = "invalid numeric delta argument";

typedef enum parse_status (*parse_args_fn)(const struct lex_line *l,
                                           struct request *req);

struct command {
    const char *name;
    size_t nname;
    enum verb verb;
    size_t min_tok; /* token counts, the command included */
    size_t max_tok;
    parse_args_fn parse; /* NULL: memcached knows it, we answer ERROR */
};

/* ---- argument parsers -------------------------------------------------- */

static enum parse_status
client_error(struct request *req, const char *msg)
{
    req->error = msg;
    return PARSE_CLIENT_ERROR;
}

/* memcached's set_noreply_maybe: the last cut token is exactly "noreply". */
static bool
ends_in_noreply(const struct lex_line *l)
{
    return slice_eq_str(l->tok[l->ntok - 1], "noreply");
}

static struct slice
trim_spaces(const char *p, const char *end)
{
    while (p < end && *p == ' ') {
        p++;
    }
    while (end > p && end[-1] == ' ') {
        end--;
    }
    return slice_make(p, (size_t)(end - p));
}

/*
 * get/gets/bget <key>+, gat/gats <exptime> <key>*. The key list is the
 * rest of the line, past the token limit too. One over-long key anywhere
 * fails the whole command (memcached discards what it gathered).
 */
static enum parse_status
parse_retrieval(const struct lex_line *l, struct request *req)
{
    size_t first = 1;
    struct slice rest;
    struct slice key;

    if (req->verb == VERB_GAT || req->verb == VERB_GATS) {
        if (!num_parse_s32(l->tok[1], &req->exptime)) {
            return client_error(req, ERR_EXPTIME);
        }
        first = 2;
    }
    if (first < l->ntok) {
        req->keys = trim_spaces(l->tok[first].ptr, l->end);
    } else {
        req->keys = slice_make(l->end, 0);
    }
    rest = req->keys;
    while (text_next_key(&rest, &key)) {
        if (key.len > TEXT_KEY_MAX) {
            return client_error(req, ERR_FORMAT);
        }
    }
    return PARSE_OK;
}

/*
 * <cmd> <key> <flags> <exptime> <bytes> [<cas>] [noreply]. Checked in
 * memcached's order: key length, the three numbers, cas, byte range.
 * A trailing token other than "noreply" is ignored.
 */
static enum parse_status
parse_storage(const struct lex_line *l, struct request *req)
{
    int64_t nbytes;

    req->noreply = ends_in_noreply(l);
    req->key = l->tok[1];
    if (req->key.len > TEXT_KEY_MAX) {
        return client_error(req, ERR_FORMAT);
    }
    if (!num_parse_u32(l->tok[2], &req->flags) ||
        !num_parse_s32(l->tok[3], &req->exptime) ||
        !num_parse_s32(l->tok[4], &nbytes)) {
        return client_error(req, ERR_FORMAT);
    }
    if (req->verb == VERB_CAS && !num_parse_u64(l->tok[5], &req->cas)) {
        return client_error(req, ERR_FORMAT);
    }
    if (nbytes < 0 || nbytes > INT32_MAX - 2) {
        return client_error(req, ERR_FORMAT);
    }
    req->nbytes = (uint32_t)nbytes;
    return PARSE_OK;
}

/*
 * delete <key> [0] [noreply]: the legacy hold time must be exactly "0".
 * The usage check comes before the key-length check.
 */
static enum parse_status
parse_delete(const struct lex_line *l, struct request *req)
{
    req->key = l->tok[1];
    if (l->ntok > 2) {
        bool hold_zero = slice_eq_str(l->tok[2], "0");
        req->noreply = ends_in_noreply(l);
        if (!((l->ntok == 3 && (hold_zero || req->noreply)) ||
              (l->ntok == 4 && hold_zero && req->noreply))) {
            return client_error(req, ERR_DELETE);
        }
    }
    if (req->key.len > TEXT_KEY_MAX) {
        return client_error(req, ERR_FORMAT);
    }
    return PARSE_OK;
}

/* incr|decr <key> <delta> [noreply] */
static enum parse_status
parse_arith(const struct lex_line *l, struct request *req)
{
    req->noreply = ends_in_noreply(l);
    req->key = l->tok[1];
    if (req->key.len > TEXT_KEY_MAX) {
        return client_error(req, ERR_FORMAT);
    }
    if (!num_parse_u64(l->tok[2], &req->delta)) {
        return client_error(req, ERR_DELTA);
    }
    return PARSE_OK;
}

/* touch <key> <exptime> [noreply] */
static enum parse_status
parse_touch(const struct lex_line *l, struct request *req)
{
    req->noreply = ends_in_noreply(l);
    req->key = l->tok[1];
    if (req->key.len > TEXT_KEY_MAX) {
        return client_error(req, ERR_FORMAT);
    }
    if (!num_parse_s32(l->tok[2], &req->exptime)) {
        return client_error(req, ERR_EXPTIME);
    }
    return PARSE_OK;
}

/*
 * flush_all [delay] [noreply]: the delay is read unless the line is just
 * "flush_all" or "flush_all noreply"; a third token is ignored.
 */
static enum parse_status
parse_flush_all(const struct lex_line *l, struct request *req)
{
    req->noreply = ends_in_noreply(l);
    if (l->ntok != (req->noreply ? 2 : 1) &&
        !num_parse_s32(l->tok[1], &req->exptime)) {
        return client_error(req, ERR_EXPTIME);
    }
    return PARSE_OK;
}

/* verbosity <level> [noreply]; a third token is ignored. */
static enum parse_status
parse_verbosity(const struct lex_line *l, struct request *req)
{
    req->noreply = ends_in_noreply(l);
    if (!num_parse_u32(l->tok[1], &req->level)) {
        return client_error(req, ERR_FORMAT);
    }
    return PARSE_OK;
}

/* version, quit: extra tokens are ignored. */
static enum parse_status
parse_nothing(const struct lex_line *l, struct request *req)
{
    (void)l;
    (void)req;
    return PARSE_OK;
}

/* refresh_certs [...] [noreply]: only a last "noreply" counts. */
static enum parse_status
parse_noreply(const struct lex_line *l, struct request *req)
{
    req->noreply = ends_in_noreply(l);
    return PARSE_OK;
}

/* stats, shutdown: cmd/ reads the sub-command from the rest of the line. */
static enum parse_status
parse_rest(const struct lex_line *l, struct request *req)
{
    req->args = trim_spaces(l->tok[0].ptr + l->tok[0].len, l->end);
    return PARSE_OK;
}

/* watch [types]: cmd/ reads the types; noreply is still recognised. */
static enum parse_status
parse_watch(const struct lex_line *l, struct request *req)
{
    req->noreply = ends_in_noreply(l);
    return parse_rest(l, req);
}

/*
 * slabs reassign <src> <dst> (exactly four tokens; never noreply) and
 * slabs automove <0|1|2> [..] / slabs automove ratio <f> [..]: memcached
 * reads "noreply" at the end of an automove line, which then silences
 * even its ERROR and CLIENT_ERROR. A line answered with ERROR (another
 * sub-command, a bad ratio, no level) comes out as automove level
 * UINT32_MAX, which cmd/ refuses (parsers here return no PARSE_ERROR).
 */
static enum parse_status
parse_slabs(const struct lex_line *l, struct request *req)
{
    int64_t src;
    int64_t dst;

    if (l->ntok == 4 && slice_eq_str(l->tok[1], "reassign")) {
        req->verb = VERB_SLABS_REASSIGN;
        if (!num_parse_s32(l->tok[2], &src) ||
            !num_parse_s32(l->tok[3], &dst)) {
            return client_error(req, ERR_FORMAT);
        }
        req->src = (int32_t)src;
        req->dst = (int32_t)dst;
        return PARSE_OK;
    }
    req->verb = VERB_SLABS_AUTOMOVE;
    req->level = UINT32_MAX;
    if (l->ntok < 3 || !slice_eq_str(l->tok[1], "automove")) {
        return PARSE_OK; /* ERROR, whatever the last token */
    }
    req->noreply = ends_in_noreply(l);
    if (slice_eq_str(l->tok[2], "ratio")) {
        if (l->ntok >= 4 && num_parse_double(l->tok[3], &req->ratio)) {
            req->verb = VERB_SLABS_RATIO;
            req->level = 0;
        }
        return PARSE_OK;
    }
    if (!num_parse_u32(l->tok[2], &req->level)) {
        return client_error(req, ERR_FORMAT);
    }
    return PARSE_OK;
}

/* cache_memlimit <megabytes> [noreply]: a bad number is ERROR (cmd/). */
static enum parse_status
parse_memlimit(const struct lex_line *l, struct request *req)
{
    uint32_t mb;

    req->noreply = ends_in_noreply(l);
    req->delta = num_parse_u32(l->tok[1], &mb) ? mb : UINT64_MAX;
    return PARSE_OK;
}

/*
 * lru_crawler <sub> [<arg>]: memcached's exact token counts (no noreply:
 * a trailing "noreply" is one token too many, so ERROR). The values of
 * sleep and tocrawl are cut to 32 bits as memcached's safe_strtoul does.
 */
static enum parse_status
parse_lru_crawler(const struct lex_line *l, struct request *req)
{
    static const struct {
        const char *name;
        enum crawler_sub sub;
        size_t ntok;
    } subs[] = {
        {"enable", CRAWLER_ENABLE, 2}, {"disable", CRAWLER_DISABLE, 2},
        {"sleep", CRAWLER_SLEEP, 3},   {"tocrawl", CRAWLER_TOCRAWL, 3},
        {"crawl", CRAWLER_CRAWL, 3},   {"metadump", CRAWLER_METADUMP, 3},
        {"mgdump", CRAWLER_MGDUMP, 3},
    };

    for (size_t i = 0; l->ntok >= 2 && i < sizeof(subs) / sizeof(subs[0]);
         i++) {
        if (!slice_eq_str(l->tok[1], subs[i].name)) {
            continue;
        }
        if (l->ntok != subs[i].ntok) {
            return PARSE_ERROR;
        }
        req->sub = subs[i].sub;
        if (l->ntok == 3) {
            req->args = l->tok[2];
        }
        if (req->sub == CRAWLER_SLEEP || req->sub == CRAWLER_TOCRAWL) {
            uint64_t v;
            if (!num_parse_u64(l->tok[2], &v)) {
                return client_error(req, ERR_FORMAT);
            }
            req->level = (uint32_t)v;
            if (req->sub == CRAWLER_SLEEP && req->level > 1000000) {
                return client_error(req, "sleep must be one second or less");
            }
        }
        return PARSE_OK;
    }
    return PARSE_ERROR;
}

void
text_parse_lru(struct slice args, struct text_lru *o)
{
    struct lex_line line;
    const struct lex_line *l = &line;
    int64_t ttl;

    lex_tokenize(args.ptr, args.ptr + args.len, &line);
    o->op = TEXT_LRU_BAD;
    if (l->ntok == 0) {
        return;
    }
    struct slice sub = l->tok[0];
    if (slice_eq_str(sub, "tune") && l->ntok >= 5) {
        if (num_parse_u32(l->tok[1], &o->hot_pct) &&
            num_parse_u32(l->tok[2], &o->warm_pct) &&
            num_parse_double(l->tok[3], &o->hot_factor) &&
            num_parse_double(l->tok[4], &o->warm_factor)) {
            o->op = TEXT_LRU_TUNE;
        }
    } else if (slice_eq_str(sub, "mode") && l->ntok >= 2) {
        if (slice_eq_str(l->tok[1], "flat")) {
            o->op = TEXT_LRU_FLAT;
        } else if (slice_eq_str(l->tok[1], "segmented")) {
            o->op = TEXT_LRU_SEGMENTED;
        }
    } else if (slice_eq_str(sub, "temp_ttl") && l->ntok >= 2) {
        if (num_parse_s32(l->tok[1], &ttl)) {
            o->ttl = (int32_t)ttl;
            o->op = TEXT_LRU_TEMP_TTL;
        }
    }
}

/* ---- the command table ------------------------------------------------ */

#define TEXT_ANY SIZE_MAX
#define TEXT_CMD(name, verb, min, max, fn)                \
    {                                                     \
        name, sizeof(name) - 1, VERB_##verb, min, max, fn \
    }

/*
 * Every command name memcached 1.6.18 answers to (meta commands are
 * routed elsewhere), with memcached's token-count checks: a count outside
 * [min, max] is ERROR before any argument is read. The names without a
 * parser exist so that "lru_crawler ... HTTP/1.1" gets ERROR, as it does
 * in memcached, rather than a silent close.
 */
/* clang-format off */
static const struct command commands[] = {
    /*       name              verb        min  max       arguments */
    TEXT_CMD("get",            GET,        2,   TEXT_ANY, parse_retrieval),
    TEXT_CMD("set",            SET,        5,   6,        parse_storage),
    TEXT_CMD("gets",           GETS,       2,   TEXT_ANY, parse_retrieval),
    TEXT_CMD("delete",         DELETE,     2,   4,        parse_delete),
    TEXT_CMD("incr",           INCR,       3,   4,        parse_arith),
    TEXT_CMD("decr",           DECR,       3,   4,        parse_arith),
    TEXT_CMD("touch",          TOUCH,      3,   4,        parse_touch),
    TEXT_CMD("gat",            GAT,        2,   TEXT_ANY, parse_retrieval),
    TEXT_CMD("gats",           GATS,       2,   TEXT_ANY, parse_retrieval),
    TEXT_CMD("add",            ADD,        5,   6,        parse_storage),
    TEXT_CMD("replace",        REPLACE,    5,   6,        parse_storage),
    TEXT_CMD("append",         APPEND,     5,   6,        parse_storage),
    TEXT_CMD("prepend",        PREPEND,    5,   6,        parse_storage),
    TEXT_CMD("cas",            CAS,        6,   7,        parse_storage),
    TEXT_CMD("bget",           GET,        2,   TEXT_ANY, parse_retrieval),
    TEXT_CMD("flush_all",      FLUSH_ALL,  1,   3,        parse_flush_all),
    TEXT_CMD("version",        VERSION,    1,   TEXT_ANY, parse_nothing),
    TEXT_CMD("verbosity",      VERBOSITY,  2,   3,        parse_verbosity),
    TEXT_CMD("quit",           QUIT,       1,   TEXT_ANY, parse_nothing),
    TEXT_CMD("stats",          STATS,      1,   TEXT_ANY, parse_rest),
    TEXT_CMD("shutdown",       SHUTDOWN,   1,   TEXT_ANY, parse_rest),
    TEXT_CMD("slabs",          SLABS_AUTOMOVE, 2, TEXT_ANY, parse_slabs),
    TEXT_CMD("cache_memlimit", CACHE_MEMLIMIT, 2, 3,      parse_memlimit),
    TEXT_CMD("lru_crawler",    LRU_CRAWLER, 1,  TEXT_ANY, parse_lru_crawler),
    TEXT_CMD("lru",            LRU,        2,   TEXT_ANY, parse_watch),
    TEXT_CMD("watch",          WATCH,      1,   TEXT_ANY, parse_watch),
    TEXT_CMD("extstore",       NONE,       1,   TEXT_ANY, NULL),
    TEXT_CMD("refresh_certs",  REFRESH_CERTS, 1, TEXT_ANY, parse_noreply),
};
/* clang-format on */

#undef TEXT_CMD
#undef TEXT_ANY

/* ---- dispatch ----------------------------------------------------------- */

static const struct command *
find_command(struct slice name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (commands[i].nname == name.len &&
            memcmp(commands[i].name, name.ptr, name.len) == 0) {
            return &commands[i];
        }
    }
    return NULL;
}

/*
 * memcached closes silently on an unknown command whose last token starts
 * with "HTTP/" (a web request on the cache port) - but only in the last
 * branch of its dispatch: names starting with g s a c i d t, and two-byte
 * names starting with m (meta), were already answered with ERROR.
 */
static bool
is_http(const struct lex_line *l)
{
    struct slice name = l->tok[0];
    struct slice last = l->tok[l->ntok - 1];

    switch (name.ptr[0]) {
    case 'g':
    case 's':
    case 'a':
    case 'c':
    case 'i':
    case 'd':
    case 't':
        return false;
    case 'm':
        if (name.len == 2) {
            return false;
        }
        break;
    default:
        break;
    }
    return last.len >= 5 && memcmp(last.ptr, "HTTP/", 5) == 0;
}

static enum parse_status
parse_line(const struct lex_line *l, struct request *req)
{
    const struct command *cmd;
    enum parse_status st;

    if (l->ntok == 0 || l->tok[0].len < 2) {
        return PARSE_ERROR;
    }
    cmd = find_command(l->tok[0]);
    if (cmd == NULL) {
        return is_http(l) ? PARSE_CLOSE : PARSE_ERROR;
    }
    if (cmd->parse == NULL || l->ntok < cmd->min_tok ||
        l->ntok > cmd->max_tok) {
        return PARSE_ERROR;
    }
    req->verb = cmd->verb;
    st = cmd->parse(l, req);
    assert(st == PARSE_OK || st == PARSE_CLIENT_ERROR || st == PARSE_ERROR);
    if (st == PARSE_ERROR) {
        req->verb = VERB_NONE; /* lru_crawler's sub-command checks */
    }
    return st;
}

/*
 * No '\n' yet. memcached gives up on more than TEXT_LINE_MAX bytes unless
 * they start (after at most 100 spaces) with "get " or "gets ", a huge
 * multi-get; TEXT_GET_LINE_MAX is our own bound on those.
 */
static enum parse_status
unterminated(const char *in, size_t len)
{
    size_t i = 0;

    if (len <= TEXT_LINE_MAX) {
        return PARSE_AGAIN;
    }
    while (i <= TEXT_GET_SPACES_MAX && in[i] == ' ') {
        i++;
    }
    if (i > TEXT_GET_SPACES_MAX) {
        return PARSE_CLOSE;
    }
    if (memcmp(in + i, "get ", 4) != 0 && memcmp(in + i, "gets ", 5) != 0) {
        return PARSE_CLOSE;
    }
    return len > TEXT_GET_LINE_MAX ? PARSE_CLOSE : PARSE_AGAIN;
}

enum parse_status
text_parse(const char *in, size_t len, struct request *req, size_t *used)
{
    size_t n = 0;
    const char *nl = lex_find_line(in, len, &n);
    struct lex_line l;
    enum parse_status st;

    memset(req, 0, sizeof(*req));
    *used = 0;
    if (nl == NULL) {
        return unterminated(in, len);
    }
    lex_tokenize(in, in + n, &l);
    st = parse_line(&l, req);
    if (st != PARSE_CLOSE) {
        *used = (size_t)(nl - in) + 1;
    }
    return st;
}

bool
text_next_key(struct slice *rest, struct slice *key)
{
    const char *p = rest->ptr;
    const char *end = rest->ptr + rest->len;
    const char *start;

    while (p < end && *p == ' ') {
        p++;
    }
    if (p == end) {
        *rest = slice_make(end, 0);
        return false;
    }
    start = p;
    /* memchr: a few instructions per 32 bytes rather than per byte */
    p = memchr(start, ' ', (size_t)(end - start));
    if (p == NULL) {
        p = end;
    }
    *key = slice_make(start, (size_t)(p - start));
    *rest = slice_make(p, (size_t)(end - p));
    return true;
}

/* ---- composing replies ------------------------------------------------- */

static const struct slice replies[] = {
#define TEXT_REPLY_SLICE(name, wire) {wire, sizeof(wire) - 1},
    TEXT_REPLIES(TEXT_REPLY_SLICE)
#undef TEXT_REPLY_SLICE
};

static char *
put_crlf(char *p)
{
    p[0] = '\r';
    p[1] = '\n';
    return p + 2;
}

/* Queues "<word><a>[ <b>]\r\n" as one copied segment. */
static void
put_line(struct outq *q, const char *word, size_t nword, const char *a,
         const char *b)
{
    size_t na = strlen(a);
    size_t nb = b != NULL ? strlen(b) : 0;
    size_t max = nword + na + 1 + nb + 2;
    char *start = outq_reserve(q, max);
    char *p;

    if (start == NULL) {
        return;
    }
    p = lex_put_mem(start, word, nword);
    p = lex_put_mem(p, a, na);
    if (b != NULL) {
        *p++ = ' ';
        p = lex_put_mem(p, b, nb);
    }
    p = put_crlf(p);
    outq_commit(q, (size_t)(p - start));
}

/* The outcome's line; VALUE and NUMBER are built by text_compose_result. */
#define L(wire)                \
    {                          \
        wire, sizeof(wire) - 1 \
    }
static const struct slice results[REPLY_NSTATUS] = {
    [REPLY_STORED] = L("STORED\r\n"),
    [REPLY_NOT_STORED] = L("NOT_STORED\r\n"),
    [REPLY_EXISTS] = L("EXISTS\r\n"),
    [REPLY_NOT_FOUND] = L("NOT_FOUND\r\n"),
    [REPLY_DELETED] = L("DELETED\r\n"),
    [REPLY_TOUCHED] = L("TOUCHED\r\n"),
    [REPLY_OK] = L("OK\r\n"),
    [REPLY_MISS] = L(""),
    [REPLY_VALUE] = L(""),
    [REPLY_NUMBER] = L(""),
    [REPLY_TOO_LARGE] = L("SERVER_ERROR object too large for cache\r\n"),
    [REPLY_NO_MEMORY_STORE] =
        L("SERVER_ERROR out of memory storing object\r\n"),
    [REPLY_NO_MEMORY] = L("SERVER_ERROR out of memory\r\n"),
    [REPLY_NO_MEMORY_NEW] =
        L("SERVER_ERROR Out of memory allocating new item\r\n"),
    [REPLY_NO_MEMORY_READ] = L("SERVER_ERROR Out of memory during read\r\n"),
    [REPLY_NOT_NUMBER] =
        L("CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"),
    [REPLY_BAD_CHUNK] = L("CLIENT_ERROR bad data chunk\r\n"),
    [REPLY_FLUSH_DISABLED] = L("CLIENT_ERROR flush_all not allowed\r\n"),
    [REPLY_UNKNOWN] = L("ERROR\r\n"),
};
#undef L

struct slice
text_result_line(enum reply_status st)
{
    assert((size_t)st < REPLY_NSTATUS);
    return results[st];
}

void
text_compose_status(struct outq *q, enum reply_status st)
{
    assert((size_t)st < REPLY_NSTATUS);
    if (results[st].len > 0) {
        outq_copy(q, results[st].ptr, results[st].len);
    }
}

void
text_compose_result(struct outq *q, const struct reply *r)
{
    assert(r->status != REPLY_VALUE); /* see text.h */
    if (r->status == REPLY_NUMBER) {
        text_compose_number(q, r->number);
    } else {
        text_compose_status(q, r->status);
    }
}

void
text_compose_reply(struct outq *q, enum text_reply r)
{
    assert((size_t)r < sizeof(replies) / sizeof(replies[0]));
    outq_copy(q, replies[r].ptr, replies[r].len);
}

struct slice
text_reply_line(enum text_reply r)
{
    assert((size_t)r < sizeof(replies) / sizeof(replies[0]));
    return replies[r];
}

void
text_compose_client_error(struct outq *q, const char *msg)
{
    static const char word[] = "CLIENT_ERROR ";
    put_line(q, word, sizeof(word) - 1, msg, NULL);
}

/*
 *   copied: "VALUE <key> <flags> <nbytes>[ <cas>]\r\n"
 *   referenced: segs[0] ... segs[nseg-1]     (nbytes in all)
 *   copied: "\r\n"
 */
void
text_compose_value(struct outq *q, struct slice key, uint32_t flags,
                   size_t nbytes, const struct slice *segs, size_t nseg,
                   bool with_cas, uint64_t cas)
{
    static const char word[] = "VALUE ";
    size_t max =
        sizeof(word) - 1 + key.len + 3 * (size_t)(1 + LEX_U64_DIGITS) + 2;
    char *start = outq_reserve(q, max);
    char *p;

    if (start == NULL) {
        return;
    }
    p = lex_put_mem(start, word, sizeof(word) - 1);
    p = lex_put_mem(p, key.ptr, key.len);
    *p++ = ' ';
    p = lex_put_u64(p, flags);
    *p++ = ' ';
    p = lex_put_u64(p, nbytes);
    if (with_cas) {
        *p++ = ' ';
        p = lex_put_u64(p, cas);
    }
    p = put_crlf(p);
    outq_commit(q, (size_t)(p - start));
    for (size_t i = 0; i < nseg; i++) {
        outq_ref(q, segs[i].ptr, segs[i].len);
    }
    outq_copy(q, "\r\n", 2);
}

void
text_compose_number(struct outq *q, uint64_t n)
{
    char *start = outq_reserve(q, LEX_U64_DIGITS + 2);
    char *p;

    if (start == NULL) {
        return;
    }
    p = put_crlf(lex_put_u64(start, n));
    outq_commit(q, (size_t)(p - start));
}

void
text_compose_stat(struct outq *q, const char *name, const char *value)
{
    static const char word[] = "STAT ";
    put_line(q, word, sizeof(word) - 1, name, value);
}

/* The variable part of a cachedump line: " [<nbytes> b; <exptime> s]". */
static size_t
dump_item_tail(char *buf, size_t cap, size_t nbytes, int64_t exptime)
{
    int n =
        snprintf(buf, cap, " [%zu b; %lld s]\r\n", nbytes, (long long)exptime);
    return n < 0 ? 0 : (size_t)n;
}

size_t
text_dump_item_len(struct slice key, size_t nbytes, int64_t exptime)
{
    char tail[64];
    static const char word[] = "ITEM ";

    return sizeof(word) - 1 + key.len +
           dump_item_tail(tail, sizeof(tail), nbytes, exptime);
}

void
text_compose_dump_item(struct outq *q, struct slice key, size_t nbytes,
                       int64_t exptime)
{
    char tail[64];
    static const char word[] = "ITEM ";
    size_t n = dump_item_tail(tail, sizeof(tail), nbytes, exptime);

    outq_copy(q, word, sizeof(word) - 1);
    outq_copy(q, key.ptr, key.len);
    outq_copy(q, tail, n);
}

void
text_compose_prefix(struct outq *q, struct slice prefix, uint64_t gets,
                    uint64_t hits, uint64_t sets, uint64_t dels)
{
    static const char word[] = "PREFIX ";
    static const char *const names[] = {" get ", " hit ", " set ", " del "};
    const uint64_t counts[] = {gets, hits, sets, dels};
    size_t max =
        sizeof(word) - 1 + prefix.len + (size_t)4 * (5 + LEX_U64_DIGITS) + 2;
    char *start = outq_reserve(q, max);
    char *p;

    if (start == NULL) {
        return;
    }
    p = lex_put_mem(start, word, sizeof(word) - 1);
    p = lex_put_mem(p, prefix.ptr, prefix.len);
    for (size_t i = 0; i < 4; i++) {
        p = lex_put_mem(p, names[i], 5);
        p = lex_put_u64(p, counts[i]);
    }
    p = put_crlf(p);
    outq_commit(q, (size_t)(p - start));
}

void
text_compose_line(struct outq *q, const char *line)
{
    put_line(q, "", 0, line, NULL);
}

void
text_compose_version(struct outq *q, const char *version)
{
    static const char word[] = "VERSION ";
    put_line(q, word, sizeof(word) - 1, version, NULL);
}
