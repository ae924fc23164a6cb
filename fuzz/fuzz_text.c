/*
 * fuzz_text - text_parse() over arbitrary bytes, driven the way
 * cmd/session.c drives it: parse a line, consume *used, skip a storage
 * command's data block, repeat. Checks the parser's contract on every
 * call; ASan and UBSan check the memory it touches.
 */
#include "fuzz.h"
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
is_storage(enum verb v)
{
    return v == VERB_SET || v == VERB_ADD || v == VERB_REPLACE ||
           v == VERB_APPEND || v == VERB_PREPEND || v == VERB_CAS;
}

static void
check_keys(const struct request *req, const char *lo, const char *hi)
{
    struct slice rest = req->keys;
    struct slice key;
    size_t nkeys = 0;

    while (text_next_key(&rest, &key)) {
        FUZZ_CHECK(key.len >= 1 && key.len <= TEXT_KEY_MAX);
        FUZZ_CHECK(inside(key, lo, hi));
        FUZZ_CHECK(memchr(key.ptr, ' ', key.len) == NULL);
        FUZZ_CHECK(memchr(key.ptr, '\n', key.len) == NULL);
        FUZZ_CHECK(memchr(key.ptr, '\0', key.len) == NULL);
        nkeys++;
    }
    FUZZ_CHECK(nkeys > 0 || req->verb == VERB_GAT || req->verb == VERB_GATS);
}

/* Checks one result; returns how many bytes the session would consume. */
static size_t
check(const char *in, size_t len, enum parse_status st,
      const struct request *req, size_t used)
{
    const char *hi = in + used;

    FUZZ_CHECK(used <= len);
    if (st == PARSE_AGAIN || st == PARSE_CLOSE) {
        FUZZ_CHECK(used == 0);
        FUZZ_CHECK(st == PARSE_CLOSE ||
                   (len <= TEXT_GET_LINE_MAX && memchr(in, '\n', len) == NULL));
        return 0;
    }
    FUZZ_CHECK(st == PARSE_OK || st == PARSE_ERROR || st == PARSE_CLIENT_ERROR);
    FUZZ_CHECK(used > 0 && in[used - 1] == '\n');
    FUZZ_CHECK(memchr(in, '\n', used - 1) == NULL);
    FUZZ_CHECK(inside(req->key, in, hi));
    FUZZ_CHECK(inside(req->keys, in, hi));
    FUZZ_CHECK(inside(req->args, in, hi));
    if (st == PARSE_ERROR) {
        FUZZ_CHECK(req->verb == VERB_NONE);
        return used;
    }
    if (st == PARSE_CLIENT_ERROR) {
        FUZZ_CHECK(req->error != NULL && req->error[0] != '\0');
        return used;
    }
    FUZZ_CHECK(req->error == NULL && req->verb != VERB_NONE);
    FUZZ_CHECK(req->exptime >= INT32_MIN && req->exptime <= INT32_MAX);
    if (req->verb == VERB_GET || req->verb == VERB_GETS ||
        req->verb == VERB_GAT || req->verb == VERB_GATS) {
        check_keys(req, in, hi);
    } else if (req->key.len > 0) {
        FUZZ_CHECK(req->key.len <= TEXT_KEY_MAX);
        FUZZ_CHECK(memchr(req->key.ptr, ' ', req->key.len) == NULL);
    }
    if (is_storage(req->verb)) {
        FUZZ_CHECK(req->key.len > 0 && req->nbytes <= INT32_MAX - 2);
        size_t block = (size_t)req->nbytes + 2;
        return used + (block < len - used ? block : len - used);
    }
    return used;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    size_t off = 0;

    while (off < size) {
        struct request req;
        struct request again;
        size_t used = SIZE_MAX;
        size_t used_again = SIZE_MAX;
        enum parse_status st = text_parse(in + off, size - off, &req, &used);
        size_t step = check(in + off, size - off, st, &req, used);

        if (step == 0) {
            break;
        }
        /* The line alone gives the same answer; one byte less waits. */
        FUZZ_CHECK(text_parse(in + off, used, &again, &used_again) == st);
        FUZZ_CHECK(used_again == used && again.verb == req.verb &&
                   again.noreply == req.noreply);
        st = text_parse(in + off, used - 1, &again, &used_again);
        FUZZ_CHECK(used_again == 0);
        FUZZ_CHECK(st == PARSE_AGAIN ||
                   (st == PARSE_CLOSE && used - 1 > TEXT_LINE_MAX));
        off += step;
    }
    return 0;
}
