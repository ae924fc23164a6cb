/*
 * fuzz_meta - meta_parse() over arbitrary bytes, driven the way
 * cmd/session.c drives it: route a line with meta_is_meta(), parse it,
 * consume *used, skip an ms data block (or the bytes an ms error
 * swallows), repeat. Checks the parser's contract on every call and
 * composes a reply echoing the request; ASan and UBSan check the memory
 * both touch.
 */
#include "fuzz.h"
#include "lib/base64.h"
#include "lib/outq.h"
#include "proto/meta.h"
#include "proto/text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool
inside(struct slice s, const char *lo, const char *hi)
{
    return s.len == 0 || (s.ptr >= lo && s.ptr + s.len <= hi);
}

static bool
is_int32(int64_t v)
{
    return v >= INT32_MIN && v <= INT32_MAX;
}

static void
check_key(const struct meta_request *req, const char *lo, const char *hi)
{
    if (req->binary) {
        FUZZ_CHECK(req->key.ptr == req->keybuf);
        FUZZ_CHECK(req->key.len >= 1 &&
                   req->key.len <= base64_decoded_max(META_KEY_MAX));
        return;
    }
    FUZZ_CHECK(inside(req->key, lo, hi) && req->key.len <= META_KEY_MAX);
    FUZZ_CHECK(memchr(req->key.ptr, ' ', req->key.len) == NULL);
    FUZZ_CHECK(memchr(req->key.ptr, '\n', req->key.len) == NULL);
    FUZZ_CHECK(memchr(req->key.ptr, '\0', req->key.len) == NULL);
}

static void
check_flags(const struct meta_request *req, const char *lo, const char *hi)
{
    uint64_t has = 0;
    size_t max = req->cmd == META_SET ? META_FLAGS_MAX - 1 : META_FLAGS_MAX;

    FUZZ_CHECK(req->nflags <= max);
    for (size_t i = 0; i < req->nflags; i++) {
        char c = req->flags[i].name;
        FUZZ_CHECK(memchr("bcfhklqstuvCDFIJLMNOPRT", c, 23) != NULL);
        FUZZ_CHECK((has & META_BIT(c)) == 0);
        has |= META_BIT(c);
        FUZZ_CHECK(inside(req->flags[i].arg, lo, hi));
    }
    FUZZ_CHECK(has == req->has);
    FUZZ_CHECK(META_HAS(req, 'b') == req->binary || req->cmd == META_DEBUG);
    FUZZ_CHECK(inside(req->opaque, lo, hi));
    FUZZ_CHECK(META_HAS(req, 'O') == (req->opaque.len > 0));
    FUZZ_CHECK(req->opaque.len <= META_OPAQUE_MAX);
    FUZZ_CHECK(is_int32(req->exptime) && is_int32(req->vivify) &&
               is_int32(req->recache));
    FUZZ_CHECK(META_HAS(req, 'D') || req->delta == 1);
    if (req->cmd == META_SET) {
        FUZZ_CHECK(memchr("SEAPR", req->mode, 5) != NULL && req->mode != 0);
        FUZZ_CHECK(req->datalen <= INT32_MAX - 2);
    } else if (req->cmd == META_ARITH) {
        FUZZ_CHECK(req->mode == '+' || req->mode == '-');
    }
}

/* Echoes the request the way cmd/ would, so the composers run too. */
static void
compose(const struct meta_request *req)
{
    struct outq q;
    struct meta_line l;
    static const char value[] = "value";
    struct slice seg = {value, sizeof(value) - 1};

    outq_init(&q);
    meta_line_init_value(&l, seg.len);
    for (size_t i = 0; i < req->nflags; i++) {
        switch (req->flags[i].name) {
        case 'k':
            meta_line_key(&l, req->key, req->binary);
            break;
        case 'O':
            meta_line_token(&l, req->opaque);
            break;
        case 'c':
            meta_line_num(&l, 'c', req->cas);
            break;
        case 't':
            meta_line_ttl(&l, 't', req->exptime);
            break;
        default:
            meta_line_char(&l, req->flags[i].name);
            break;
        }
    }
    meta_compose_value(&q, &l, &seg, 1);
    meta_compose_debug(&q, req->key, req->binary, req->exptime, req->initial,
                       req->cas, req->binary, req->client_flags, req->datalen);
    FUZZ_CHECK(!outq_failed(&q) && outq_pending(&q) > l.len);
    outq_deinit(&q);
}

/* Checks one result; returns how many bytes the session would consume. */
static size_t
check(const char *in, size_t len, enum parse_status st,
      const struct meta_request *req, size_t used)
{
    const char *hi = in + used;
    size_t skip = 0;

    FUZZ_CHECK(used <= len);
    if (st == PARSE_AGAIN || st == PARSE_CLOSE) {
        FUZZ_CHECK(used == 0 && memchr(in, '\n', len) == NULL);
        FUZZ_CHECK((st == PARSE_CLOSE) == (len > TEXT_LINE_MAX));
        return 0;
    }
    FUZZ_CHECK(used > 0 && in[used - 1] == '\n');
    FUZZ_CHECK(memchr(in, '\n', used - 1) == NULL);
    if (st == PARSE_ERROR) {
        FUZZ_CHECK(req->cmd == META_NONE && req->error == NULL &&
                   req->swallow == 0);
        return used;
    }
    FUZZ_CHECK(req->cmd != META_NONE);
    if (st == PARSE_CLIENT_ERROR) {
        FUZZ_CHECK(req->error != NULL && req->error[0] != '\0');
        FUZZ_CHECK(
            req->swallow == 0 ||
            (req->cmd == META_SET && req->swallow == (size_t)req->datalen + 2));
        skip = req->swallow;
    } else {
        FUZZ_CHECK(st == PARSE_OK && req->error == NULL && req->swallow == 0);
        if (req->cmd != META_NOOP) {
            check_key(req, in, hi);
            FUZZ_CHECK(req->key.len > 0);
        }
        check_flags(req, in, hi);
        compose(req);
        if (req->cmd == META_SET) {
            skip = (size_t)req->datalen + 2;
        }
    }
    return used + (skip < len - used ? skip : len - used);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    size_t off = 0;

    while (off < size) {
        struct meta_request req;
        struct meta_request again;
        size_t used = SIZE_MAX;
        size_t used_again = SIZE_MAX;
        enum parse_status st;
        size_t step;

        if (!meta_is_meta(in + off, size - off)) {
            /* Not ours: text_parse() must agree when it cannot tell yet. */
            const char *nl = memchr(in + off, '\n', size - off);
            if (nl == NULL) {
                struct request treq;
                st = text_parse(in + off, size - off, &treq, &used);
                FUZZ_CHECK(st == PARSE_AGAIN || st == PARSE_CLOSE);
                break;
            }
            off = (size_t)(nl - in) + 1;
            continue;
        }
        st = meta_parse(in + off, size - off, &req, &used);
        step = check(in + off, size - off, st, &req, used);
        if (step == 0) {
            break;
        }
        /* The line alone gives the same answer; one byte less waits. */
        FUZZ_CHECK(meta_is_meta(in + off, used));
        FUZZ_CHECK(meta_parse(in + off, used, &again, &used_again) == st);
        FUZZ_CHECK(used_again == used && again.cmd == req.cmd &&
                   again.error == req.error && again.swallow == req.swallow &&
                   again.nflags == req.nflags && again.has == req.has);
        st = meta_parse(in + off, used - 1, &again, &used_again);
        FUZZ_CHECK(used_again == 0);
        FUZZ_CHECK(st == PARSE_AGAIN ||
                   (st == PARSE_CLOSE && used - 1 > TEXT_LINE_MAX));
        off += step;
    }
    return 0;
}
