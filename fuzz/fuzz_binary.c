/*
 * fuzz_binary - binary_parse() over arbitrary bytes, driven the way a
 * binary session drives it: parse a request, consume *used, skip the
 * value the command reads (or the bytes an unknown opcode swallows),
 * stop where the connection would close, repeat. Checks the parser's
 * contract on every call against the header decoded here independently,
 * and composes the replies cmd/ would, decoding them back; ASan and
 * UBSan check the memory both touch.
 */
#include "fuzz.h"
#include "lib/outq.h"
#include "proto/binary.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

static uint32_t
be(const char *p, size_t n)
{
    uint32_t v = 0;

    for (size_t i = 0; i < n; i++) {
        v = v << 8 | (unsigned char)p[i];
    }
    return v;
}

static bool
same(const struct binary_request *a, const struct binary_request *b)
{
    return a->opcode == b->opcode && a->cmd == b->cmd && a->quiet == b->quiet &&
           a->extlen == b->extlen && a->keylen == b->keylen &&
           a->bodylen == b->bodylen && a->opaque == b->opaque &&
           a->cas == b->cas && a->key.ptr == b->key.ptr &&
           a->key.len == b->key.len && a->flags == b->flags &&
           a->exptime == b->exptime && a->delta == b->delta &&
           a->initial == b->initial && a->has_exptime == b->has_exptime &&
           a->vlen == b->vlen && a->fault == b->fault;
}

/* The fault memcached's order gives, from the raw header. */
static enum binary_fault
expected_fault(const struct binary_request *req)
{
    if ((uint32_t)req->keylen + req->extlen > req->bodylen) {
        return BINARY_FAULT_BODY;
    }
    if (req->keylen > BINARY_KEY_MAX) {
        return BINARY_FAULT_KEY_TOO_LONG;
    }
    if (!binary_is_known(req->opcode)) {
        return BINARY_FAULT_UNKNOWN;
    }
    return req->fault == BINARY_FAULT_SHAPE ? BINARY_FAULT_SHAPE
                                            : BINARY_FAULT_NONE;
}

static void
check_ok(const char *in, size_t len, const struct binary_request *req,
         size_t used)
{
    size_t head =
        BINARY_HEADER_LEN + (size_t)(unsigned char)in[4] + be(in + 2, 2);

    FUZZ_CHECK((unsigned char)in[0] == BINARY_REQ_MAGIC && used == head);
    FUZZ_CHECK(used <= len);
    FUZZ_CHECK(req->opcode == (unsigned char)in[1]);
    FUZZ_CHECK(req->keylen == be(in + 2, 2) && req->extlen == (uint8_t)in[4]);
    FUZZ_CHECK(req->bodylen == be(in + 8, 4) && req->opaque == be(in + 12, 4));
    FUZZ_CHECK(req->cas == ((uint64_t)be(in + 16, 4) << 32 | be(in + 20, 4)));
    FUZZ_CHECK(req->cmd == binary_loud(req->opcode));
    FUZZ_CHECK(req->quiet == binary_is_quiet(req->opcode));
    FUZZ_CHECK(!req->quiet || binary_is_known(req->cmd));
    FUZZ_CHECK(req->key.ptr == in + BINARY_HEADER_LEN + req->extlen);
    FUZZ_CHECK(req->key.len == req->keylen &&
               req->key.ptr + req->key.len <= in + used);
    FUZZ_CHECK(req->fault == expected_fault(req));
    if (req->fault == BINARY_FAULT_BODY) {
        FUZZ_CHECK(req->vlen == 0);
    } else {
        FUZZ_CHECK(req->vlen == req->bodylen - req->extlen - req->keylen);
    }
    if (req->fault != BINARY_FAULT_NONE) {
        FUZZ_CHECK(req->flags == 0 && req->exptime == 0 && req->delta == 0 &&
                   req->initial == 0 && !req->has_exptime);
        FUZZ_CHECK(!binary_wants_whole_value(req));
    } else {
        FUZZ_CHECK(!req->has_exptime || req->extlen == 4 || req->extlen == 8 ||
                   req->extlen == 20);
        FUZZ_CHECK(req->cmd != BINARY_OP_FLUSH ||
                   req->has_exptime == (req->extlen == 4));
    }
}

/* Walks the composed packets: headers well formed, lengths add up. */
static void
check_replies(struct outq *q, const struct binary_request *req)
{
    struct iovec iov[64];
    int n = outq_iov(q, iov, 64);
    char *out = malloc(outq_pending(q));
    size_t len = 0;
    size_t off = 0;

    FUZZ_CHECK(!outq_failed(q) && out != NULL);
    for (int i = 0; i < n; i++) {
        FUZZ_CHECK(len + iov[i].iov_len <= outq_pending(q));
        memcpy(out + len, iov[i].iov_base, iov[i].iov_len);
        len += iov[i].iov_len;
    }
    FUZZ_CHECK(len == outq_pending(q));
    while (off < len) {
        const char *h = out + off;
        uint32_t bodylen;
        FUZZ_CHECK(len - off >= BINARY_HEADER_LEN);
        bodylen = be(h + 8, 4);
        FUZZ_CHECK((unsigned char)h[0] == BINARY_RES_MAGIC && h[5] == 0);
        FUZZ_CHECK((unsigned char)h[1] == req->opcode ||
                   (unsigned char)h[1] == BINARY_OP_STAT);
        FUZZ_CHECK(be(h + 12, 4) == req->opaque);
        FUZZ_CHECK(be(h + 2, 2) + (uint32_t)(unsigned char)h[4] <= bodylen);
        FUZZ_CHECK(bodylen <= len - off - BINARY_HEADER_LEN);
        off += BINARY_HEADER_LEN + bodylen;
    }
    FUZZ_CHECK(off == len);
    free(out);
}

/* Composes what cmd/ might answer, so the composers run too. */
static void
compose(const struct binary_request *req, const char *value, size_t vlen)
{
    struct outq q;
    struct slice seg = {value, vlen};
    struct slice key =
        req->keylen <= BINARY_KEY_MAX ? req->key : slice_make("", 0);
    enum binary_status st = BINARY_STATUS_OK;

    switch (req->fault) {
    case BINARY_FAULT_BODY:
    case BINARY_FAULT_UNKNOWN:
        st = BINARY_STATUS_UNKNOWN_COMMAND;
        break;
    case BINARY_FAULT_KEY_TOO_LONG:
    case BINARY_FAULT_SHAPE:
        st = BINARY_STATUS_INVALID;
        break;
    case BINARY_FAULT_NONE:
        break;
    }
    outq_init(&q);
    binary_compose_status(&q, req->opcode, req->opaque, st, NULL);
    binary_compose_ok(&q, req->opcode, req->opaque, req->cas);
    binary_compose_value(&q, req->opcode, req->opaque, req->flags, key, vlen,
                         &seg, 1, req->cas);
    binary_compose_miss_key(&q, req->opcode, req->opaque, key);
    binary_compose_number(&q, req->opcode, req->opaque, req->delta,
                          req->initial);
    binary_compose_stat(&q, req->opaque, key.ptr, key.len, value, vlen);
    binary_compose_stat_end(&q, req->opaque);
    binary_compose_body(&q, req->opcode, req->opaque,
                        BINARY_STATUS_AUTH_CONTINUE, seg);
    check_replies(&q, req);
    outq_deinit(&q);
}

/*
 * Checks one call; returns how many bytes the session consumes, 0 when it
 * would stop (waiting for more, or closing).
 */
static size_t
step(const char *in, size_t len)
{
    struct binary_request req;
    struct binary_request again;
    size_t used = SIZE_MAX;
    size_t used_again = SIZE_MAX;
    enum parse_status st = binary_parse(in, len, &req, &used);
    size_t skip = 0;
    size_t rest;

    FUZZ_CHECK(used <= len);
    if (st == PARSE_AGAIN) {
        FUZZ_CHECK(used == 0);
        FUZZ_CHECK(len < BINARY_HEADER_LEN ||
                   ((unsigned char)in[0] == BINARY_REQ_MAGIC &&
                    len < BINARY_HEADER_LEN + (size_t)(unsigned char)in[4] +
                              be(in + 2, 2)));
        return 0;
    }
    if (st == PARSE_CLOSE) {
        FUZZ_CHECK(used == 0 && len >= BINARY_HEADER_LEN &&
                   (unsigned char)in[0] != BINARY_REQ_MAGIC);
        return 0;
    }
    FUZZ_CHECK(st == PARSE_OK);
    check_ok(in, len, &req, used);
    /* Bytes after the request change nothing; one byte less waits. */
    FUZZ_CHECK(binary_parse(in, used, &again, &used_again) == PARSE_OK);
    FUZZ_CHECK(used_again == used && same(&req, &again));
    FUZZ_CHECK(binary_parse(in, used - 1, &again, &used_again) == PARSE_AGAIN &&
               used_again == 0);
    rest = len - used;
    compose(&req, in + used, req.vlen < rest ? req.vlen : rest);
    switch (req.fault) {
    case BINARY_FAULT_NONE:
        switch (req.cmd) {
        case BINARY_OP_SET:
        case BINARY_OP_ADD:
        case BINARY_OP_REPLACE:
        case BINARY_OP_APPEND:
        case BINARY_OP_PREPEND:
        case BINARY_OP_SASL_AUTH:
        case BINARY_OP_SASL_STEP:
            skip = req.vlen;
            break;
        case BINARY_OP_QUIT:
            return 0;
        default:
            break; /* a value, if any, is the next packet */
        }
        break;
    case BINARY_FAULT_UNKNOWN:
        skip = req.bodylen; /* memcached's swallow quirk */
        break;
    default:
        return 0; /* the connection closes */
    }
    return used + (skip < rest ? skip : rest);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    size_t off = 0;

    while (off < size) {
        size_t n = step(in + off, size - off);
        if (n == 0) {
            break;
        }
        off += n;
    }
    return 0;
}
