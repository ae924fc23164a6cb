#include "unit.h"

#include "outq_gather.h"

#include "lib/outq.h"
#include "proto/binary.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

/*
 * Parser cases: a request header, the bytes after it, and what memcached
 * 1.6.18 does with it (every shape and fault here was replayed against
 * Debian's memcached 1.6.18). A case names the header fields; the builder
 * lays out extras (`ext`, zeros if NULL), key (`key`, 'k's if NULL) and
 * then `tail` more bytes: value bytes, or the start of the next packet.
 *
 * Every case is fed split at every byte offset, each prefix from an
 * exact-size copy (ASan sees any over-read): a prefix shorter than header
 * + extras + key gives PARSE_AGAIN with nothing consumed, and every
 * longer prefix exactly the same result.
 */
struct bin_case {
    uint8_t opcode;
    uint16_t keylen;
    uint8_t extlen;
    uint32_t bodylen;
    const char *ext; /* extlen bytes, or NULL for zeros */
    const char *key; /* keylen bytes, or NULL for 'k's */
    size_t tail;     /* bytes sent after the key */
    enum binary_fault fault;
    uint32_t flags;
    uint32_t exptime;
    uint64_t delta;
    uint64_t initial;
    bool has_exptime;
};

/* A key given as a literal: its bytes and length. */
#define KEY(s) .key = (s), .keylen = sizeof(s) - 1
#define NUL4   "\0\0\0\0"

#define A10  "aaaaaaaaaa"
#define A50  A10 A10 A10 A10 A10
#define A250 A50 A50 A50 A50 A50
#define A251 A250 "a"

#define SHAPE   .fault = BINARY_FAULT_SHAPE
#define BODY    .fault = BINARY_FAULT_BODY
#define UNKNOWN .fault = BINARY_FAULT_UNKNOWN
#define TOOLONG .fault = BINARY_FAULT_KEY_TOO_LONG

/* Storage extras: flags 0xdeadbeef, exptime 0x01020304. */
#define STORE_EXT "\xde\xad\xbe\xef\x01\x02\x03\x04"
/* Arithmetic extras: delta 1<<56|5, initial 7, exptime 0xffffffff. */
#define ARITH_EXT          \
    "\x01\0\0\0\0\0\0\x05" \
    "\0\0\0\0\0\0\0\x07"   \
    "\xff\xff\xff\xff"
#define STORE_DECODED \
    .flags = 0xdeadbeef, .exptime = 0x01020304, .has_exptime = true
#define ARITH_DECODED                                                    \
    .delta = (uint64_t)1 << 56 | 5, .initial = 7, .exptime = 0xffffffff, \
    .has_exptime = true

static const uint32_t test_opaque = 0xa1b2c3d4;
static const uint64_t test_cas = 0x0102030405060708;

/* The case's packet, `tail` bytes included; *len is its size. */
static char *
build(const struct bin_case *c, size_t *len)
{
    size_t head = BINARY_HEADER_LEN + (size_t)c->extlen + c->keylen;
    char *p = malloc(head + c->tail + 1);
    char *q;

    assert_non_null(p);
    p[0] = (char)0x80;
    p[1] = (char)c->opcode;
    p[2] = (char)(c->keylen >> 8);
    p[3] = (char)c->keylen;
    p[4] = (char)c->extlen;
    p[5] = 0x7f;       /* datatype: ignored */
    p[6] = (char)0xab; /* vbucket: ignored */
    p[7] = (char)0xcd;
    for (int i = 0; i < 4; i++) {
        p[8 + i] = (char)(c->bodylen >> (24 - 8 * i));
        p[12 + i] = (char)(test_opaque >> (24 - 8 * i));
    }
    for (int i = 0; i < 8; i++) {
        p[16 + i] = (char)(test_cas >> (56 - 8 * i));
    }
    q = p + BINARY_HEADER_LEN;
    if (c->ext != NULL) {
        memcpy(q, c->ext, c->extlen);
    } else {
        memset(q, 0, c->extlen);
    }
    q += c->extlen;
    if (c->key != NULL) {
        memcpy(q, c->key, c->keylen);
    } else {
        memset(q, 'k', c->keylen);
    }
    q += c->keylen;
    memset(q, 'v', c->tail);
    *len = head + c->tail;
    return p;
}

static void
describe(const struct bin_case *c, char *out, size_t cap)
{
    snprintf(out, cap, "op 0x%02x keylen %u extlen %u bodylen %u tail %zu",
             c->opcode, c->keylen, c->extlen, c->bodylen, c->tail);
}

#define CHECK(cond)                                            \
    do {                                                       \
        if (!(cond)) {                                         \
            describe(c, what, sizeof(what));                   \
            fail_msg("%s (prefix %zu): %s", what, len, #cond); \
        }                                                      \
    } while (0)

static void
check_result(const struct bin_case *c, const char *in, size_t len,
             enum parse_status st, const struct binary_request *req,
             size_t used)
{
    char what[256];
    size_t head = BINARY_HEADER_LEN + (size_t)c->extlen + c->keylen;
    bool body = c->fault == BINARY_FAULT_BODY;

    CHECK(st == PARSE_OK);
    CHECK(used == head);
    CHECK(req->fault == c->fault);
    CHECK(req->opcode == c->opcode);
    CHECK(req->cmd == binary_loud(c->opcode));
    CHECK(req->quiet == binary_is_quiet(c->opcode));
    CHECK(req->keylen == c->keylen && req->extlen == c->extlen);
    CHECK(req->bodylen == c->bodylen);
    CHECK(req->opaque == test_opaque && req->cas == test_cas);
    CHECK(req->key.ptr == in + BINARY_HEADER_LEN + c->extlen);
    CHECK(req->key.len == c->keylen);
    CHECK(req->vlen == (body ? 0 : c->bodylen - c->extlen - c->keylen));
    CHECK(req->flags == c->flags && req->exptime == c->exptime);
    CHECK(req->delta == c->delta && req->initial == c->initial);
    CHECK(req->has_exptime == c->has_exptime);
}

static void
run_case(const struct bin_case *c)
{
    size_t total;
    char *pkt = build(c, &total);
    size_t head = BINARY_HEADER_LEN + (size_t)c->extlen + c->keylen;

    for (size_t len = 0; len <= total; len++) {
        char *copy = malloc(len != 0 ? len : 1);
        struct binary_request req;
        size_t used = 99;
        enum parse_status st;
        char what[256];

        assert_non_null(copy);
        memcpy(copy, pkt, len);
        st = binary_parse(copy, len, &req, &used);
        CHECK(memcmp(copy, pkt, len) == 0);
        if (len < head) {
            CHECK(st == PARSE_AGAIN && used == 0);
        } else {
            check_result(c, copy, len, st, &req, used);
        }
        free(copy);
    }
    free(pkt);
}

#define RUN_TABLE(t)                                              \
    do {                                                          \
        for (size_t i = 0; i < sizeof(t) / sizeof((t)[0]); i++) { \
            run_case(&(t)[i]);                                    \
        }                                                         \
    } while (0)

/* ---- shapes: what every implemented opcode accepts ---------------------- */

static const struct bin_case valid_cases[] = {
    /* GET family: key, nothing else; bytes after it are the next packet */
    {BINARY_OP_GET, KEY("foo"), .bodylen = 3, .tail = 24},
    {BINARY_OP_GETQ, KEY("foo"), .bodylen = 3},
    {BINARY_OP_GETK, KEY("foo"), .bodylen = 3},
    {BINARY_OP_GETKQ, KEY("foo"), .bodylen = 3},
    /* storage: 8 bytes of extras, key, value (may be empty) */
    {BINARY_OP_SET, KEY("bk"), .extlen = 8, .ext = STORE_EXT, .bodylen = 15,
     .tail = 5, STORE_DECODED},
    {BINARY_OP_SET, KEY("bk"), .extlen = 8, .ext = STORE_EXT, .bodylen = 10,
     STORE_DECODED},
    {BINARY_OP_SETQ, KEY("bk"), .extlen = 8, .ext = STORE_EXT, .bodylen = 11,
     .tail = 1, STORE_DECODED},
    {BINARY_OP_ADD, KEY("bk"), .extlen = 8, .ext = STORE_EXT, .bodylen = 11,
     STORE_DECODED},
    {BINARY_OP_ADDQ, KEY("bk"), .extlen = 8, .ext = STORE_EXT, .bodylen = 11,
     STORE_DECODED},
    {BINARY_OP_REPLACE, KEY("bk"), .extlen = 8, .ext = STORE_EXT, .bodylen = 11,
     STORE_DECODED},
    {BINARY_OP_REPLACEQ, KEY("bk"), .extlen = 8, .ext = STORE_EXT,
     .bodylen = 1000000, .tail = 3, STORE_DECODED},
    {BINARY_OP_SET, KEY("k"), .extlen = 8, .ext = "\xff\xff\xff\xff" NUL4,
     .bodylen = UINT32_MAX, .flags = UINT32_MAX, .has_exptime = true},
    /* append/prepend: key and a value, no extras */
    {BINARY_OP_APPEND, KEY("k"), .bodylen = 1},
    {BINARY_OP_APPEND, KEY("k"), .bodylen = 6, .tail = 5},
    {BINARY_OP_APPENDQ, KEY("k"), .bodylen = 6},
    {BINARY_OP_PREPEND, KEY("k"), .bodylen = 2},
    {BINARY_OP_PREPENDQ, KEY("k"), .bodylen = 2},
    /* delete: key only */
    {BINARY_OP_DELETE, KEY("k"), .bodylen = 1},
    {BINARY_OP_DELETEQ, KEY("k"), .bodylen = 1},
    /* arithmetic: 20 bytes of extras, key, no value */
    {BINARY_OP_INCREMENT, KEY("n"), .extlen = 20, .ext = ARITH_EXT,
     .bodylen = 21, ARITH_DECODED},
    {BINARY_OP_INCREMENTQ, KEY("n"), .extlen = 20, .ext = ARITH_EXT,
     .bodylen = 21, ARITH_DECODED},
    {BINARY_OP_DECREMENT, KEY("n"), .extlen = 20, .ext = ARITH_EXT,
     .bodylen = 21, ARITH_DECODED},
    {BINARY_OP_DECREMENTQ, KEY("n"), .extlen = 20, .ext = ARITH_EXT,
     .bodylen = 21, .tail = 8, ARITH_DECODED},
    /* touch family: 4 bytes of exptime, key; a value is not checked */
    {BINARY_OP_TOUCH, KEY("k"), .extlen = 4, .ext = "\0\0\x01\0", .bodylen = 5,
     .exptime = 256, .has_exptime = true},
    {BINARY_OP_TOUCH, KEY("k"), .extlen = 4, .ext = "\0\0\x01\0", .bodylen = 9,
     .tail = 4, .exptime = 256, .has_exptime = true},
    {BINARY_OP_GAT, KEY("k"), .extlen = 4, .bodylen = 5, .has_exptime = true},
    {BINARY_OP_GATQ, KEY("k"), .extlen = 4, .bodylen = 5, .has_exptime = true},
    {BINARY_OP_GATK, KEY("k"), .extlen = 4, .bodylen = 5, .has_exptime = true},
    {BINARY_OP_GATKQ, KEY("k"), .extlen = 4, .bodylen = 7, .tail = 2,
     .has_exptime = true},
    /* flush: no extras, or a 4-byte delay */
    {BINARY_OP_FLUSH, .bodylen = 0},
    {BINARY_OP_FLUSHQ, .bodylen = 0, .tail = 24},
    {BINARY_OP_FLUSH, .extlen = 4, .ext = "\0\0\0\x0a", .bodylen = 4,
     .exptime = 10, .has_exptime = true},
    {BINARY_OP_FLUSHQ, .extlen = 4, .ext = NUL4, .bodylen = 4,
     .has_exptime = true},
    /* stat: key optional; a value is not checked */
    {BINARY_OP_STAT, .bodylen = 0},
    {BINARY_OP_STAT, KEY("items"), .bodylen = 5},
    {BINARY_OP_STAT, KEY("detail dump"), .bodylen = 11},
    {BINARY_OP_STAT, KEY("nope"), .bodylen = 28, .tail = 24},
    {BINARY_OP_STAT, .bodylen = 3, .tail = 3},
    /* no extras, key or value at all */
    {BINARY_OP_QUIT, .bodylen = 0},
    {BINARY_OP_QUITQ, .bodylen = 0},
    {BINARY_OP_NOOP, .bodylen = 0, .tail = 24},
    {BINARY_OP_VERSION, .bodylen = 0},
    {BINARY_OP_SASL_LIST_MECHS, .bodylen = 0},
    /* SASL exchanges: mechanism as key, response as value */
    {BINARY_OP_SASL_AUTH, KEY("PLAIN"), .bodylen = 18, .tail = 13},
    {BINARY_OP_SASL_AUTH, KEY("PLAIN"), .bodylen = 5},
    {BINARY_OP_SASL_STEP, KEY("PLAIN"), .bodylen = 6, .tail = 1},
    /* keys are arbitrary bytes, 1 to 250 of them */
    {BINARY_OP_GET, KEY("a b"), .bodylen = 3},
    {BINARY_OP_GET, KEY("a\0b"), .bodylen = 3},
    {BINARY_OP_GET, KEY("\r\n"), .bodylen = 2},
    {BINARY_OP_GET, KEY("\0"), .bodylen = 1},
    {BINARY_OP_GETK, KEY("\x80\x81\xff"), .bodylen = 3},
    {BINARY_OP_GET, KEY(A250), .bodylen = 250},
    {BINARY_OP_SET, KEY(A250), .extlen = 8, .ext = STORE_EXT, .bodylen = 260,
     .tail = 2, STORE_DECODED},
    {BINARY_OP_SASL_AUTH, KEY(A250), .bodylen = 250},
};

static void
accepts_every_opcode_in_its_shape(void **state)
{
    (void)state;
    RUN_TABLE(valid_cases);
}

static const struct bin_case shape_cases[] = {
    {BINARY_OP_GET, KEY("k"), .extlen = 4, .bodylen = 5, SHAPE},
    {BINARY_OP_GET, .bodylen = 0, SHAPE},
    {BINARY_OP_GET, KEY("k"), .bodylen = 2, .tail = 1, SHAPE},
    {BINARY_OP_GETQ, KEY("k"), .extlen = 1, .bodylen = 2, SHAPE},
    {BINARY_OP_GETK, KEY("k"), .bodylen = 2, SHAPE},
    {BINARY_OP_GETKQ, .bodylen = 0, SHAPE},
    {BINARY_OP_SET, KEY("k"), .extlen = 4, .bodylen = 6, SHAPE},
    {BINARY_OP_SET, KEY("k"), .extlen = 0, .bodylen = 2, SHAPE},
    {BINARY_OP_SET, KEY("k"), .extlen = 20, .bodylen = 21, SHAPE},
    {BINARY_OP_SET, .extlen = 8, .bodylen = 9, .tail = 1, SHAPE},
    {BINARY_OP_ADDQ, KEY("k"), .extlen = 9, .bodylen = 10, SHAPE},
    {BINARY_OP_REPLACE, .extlen = 8, .bodylen = 8, SHAPE},
    {BINARY_OP_APPEND, KEY("k"), .extlen = 4, .bodylen = 6, SHAPE},
    {BINARY_OP_APPEND, .bodylen = 1, .tail = 1, SHAPE},
    {BINARY_OP_PREPENDQ, KEY("k"), .extlen = 8, .bodylen = 9, SHAPE},
    {BINARY_OP_DELETE, KEY("k"), .bodylen = 2, .tail = 1, SHAPE},
    {BINARY_OP_DELETE, KEY("k"), .extlen = 4, .bodylen = 5, SHAPE},
    {BINARY_OP_DELETEQ, .bodylen = 0, SHAPE},
    {BINARY_OP_INCREMENT, KEY("k"), .extlen = 8, .bodylen = 9, SHAPE},
    {BINARY_OP_INCREMENT, KEY("k"), .extlen = 20, .bodylen = 22, .tail = 1,
     SHAPE},
    {BINARY_OP_DECREMENT, .extlen = 20, .bodylen = 20, SHAPE},
    {BINARY_OP_DECREMENTQ, KEY("k"), .bodylen = 1, SHAPE},
    {BINARY_OP_TOUCH, KEY("k"), .bodylen = 1, SHAPE},
    {BINARY_OP_TOUCH, KEY("k"), .extlen = 8, .bodylen = 9, SHAPE},
    {BINARY_OP_GAT, .extlen = 4, .bodylen = 4, SHAPE},
    {BINARY_OP_GATQ, KEY("k"), .extlen = 3, .bodylen = 4, SHAPE},
    {BINARY_OP_GATK, KEY("k"), .extlen = 5, .bodylen = 6, SHAPE},
    {BINARY_OP_GATKQ, .extlen = 4, .bodylen = 5, .tail = 1, SHAPE},
    {BINARY_OP_FLUSH, .extlen = 8, .bodylen = 8, SHAPE},
    {BINARY_OP_FLUSH, .extlen = 1, .bodylen = 1, SHAPE},
    {BINARY_OP_FLUSH, .extlen = 4, .bodylen = 5, .tail = 1, SHAPE},
    {BINARY_OP_FLUSH, .bodylen = 1, .tail = 1, SHAPE},
    {BINARY_OP_FLUSHQ, KEY("k"), .bodylen = 1, SHAPE},
    {BINARY_OP_STAT, .extlen = 4, .bodylen = 4, SHAPE},
    {BINARY_OP_STAT, KEY("items"), .extlen = 1, .bodylen = 6, SHAPE},
    {BINARY_OP_QUIT, KEY("k"), .bodylen = 1, SHAPE},
    {BINARY_OP_QUIT, .extlen = 4, .bodylen = 4, SHAPE},
    {BINARY_OP_QUITQ, .bodylen = 1, .tail = 1, SHAPE},
    {BINARY_OP_NOOP, .bodylen = 1, .tail = 1, SHAPE},
    {BINARY_OP_NOOP, KEY("k"), .bodylen = 1, SHAPE},
    {BINARY_OP_VERSION, .extlen = 1, .bodylen = 1, SHAPE},
    {BINARY_OP_SASL_LIST_MECHS, KEY("k"), .bodylen = 1, SHAPE},
    {BINARY_OP_SASL_LIST_MECHS, .bodylen = 1, .tail = 1, SHAPE},
    {BINARY_OP_SASL_AUTH, .bodylen = 4, .tail = 4, SHAPE},
    {BINARY_OP_SASL_AUTH, KEY("PLAIN"), .extlen = 1, .bodylen = 10, SHAPE},
    {BINARY_OP_SASL_STEP, .bodylen = 0, SHAPE},
};

static void
rejects_every_other_shape(void **state)
{
    (void)state;
    RUN_TABLE(shape_cases);
}

/* ---- faults in memcached's order ---------------------------------------- */

static const struct bin_case fault_cases[] = {
    /* the body does not hold extras and key: first of all */
    {BINARY_OP_GET, KEY("ab"), .bodylen = 1, BODY},
    {BINARY_OP_GET, KEY("ab"), .bodylen = 0, .tail = 5, BODY},
    {BINARY_OP_SET, KEY("ab"), .extlen = 8, .bodylen = 9, BODY},
    {BINARY_OP_SET, KEY("ab"), .extlen = 8, .bodylen = 2, BODY},
    {BINARY_OP_NOOP, .extlen = 1, .bodylen = 0, BODY},
    {0x1b, .extlen = 4, .bodylen = 3, BODY},
    {0xff, KEY("k"), .bodylen = 0, BODY},
    {BINARY_OP_GET, KEY(A251), .bodylen = 250, BODY},
    {BINARY_OP_FLUSH, .extlen = 255, .bodylen = 254, BODY},
    /* then (after the caller's SASL check) the key length */
    {BINARY_OP_GET, KEY(A251), .bodylen = 251, TOOLONG},
    {BINARY_OP_SET, KEY(A251), .extlen = 8, .bodylen = 300, .tail = 41,
     TOOLONG},
    {BINARY_OP_SET, KEY(A251), .extlen = 4, .bodylen = 255, TOOLONG},
    {BINARY_OP_NOOP, KEY(A251), .bodylen = 251, TOOLONG},
    {BINARY_OP_SASL_AUTH, KEY(A251), .bodylen = 251, TOOLONG},
    {0x1b, KEY(A251), .bodylen = 251, TOOLONG},
    {0x30, KEY(A251), .extlen = 3, .bodylen = 300, TOOLONG},
    /* unknown opcodes have no shape */
    {0x1b, .extlen = 4, .ext = "\0\0\0\x01", .bodylen = 4, UNKNOWN},
    {0x1b, .bodylen = 0, .tail = 24, UNKNOWN},
    {0x1b, .bodylen = 5, .tail = 5, UNKNOWN},
    {0x30, KEY("k"), .bodylen = 2, .tail = 1, UNKNOWN},
    {0x3c, KEY("k"), .extlen = 20, .bodylen = 21, UNKNOWN},
    {0x1f, .bodylen = 0, UNKNOWN},
    {0x25, KEY(A250), .bodylen = 250, UNKNOWN},
    {0x80, .extlen = 255, .bodylen = 255, UNKNOWN},
    {0xff, .bodylen = UINT32_MAX, UNKNOWN},
};

static void
classifies_faults_in_memcacheds_order(void **state)
{
    (void)state;
    RUN_TABLE(fault_cases);
}

/* The example exchange of docs/COMPAT.md#binary-protocol, requests. */
static void
parses_the_example_requests(void **state)
{
    static const char set[] = "\x80\x01\x00\x02\x08\x00\x00\x00"
                              "\x00\x00\x00\x0f\x00\x00\x00\x07"
                              "\x00\x00\x00\x00\x00\x00\x00\x00"
                              "\xde\xad\xbe\xef\x00\x00\x00\x00"
                              "bk"
                              "hello";
    static const char getk[] = "\x80\x0c\x00\x02\x00\x00\x00\x00"
                               "\x00\x00\x00\x02\x00\x00\x00\x00"
                               "\x00\x00\x00\x00\x00\x00\x00\x00"
                               "bk";
    struct binary_request req;
    size_t used;
    (void)state;

    assert_int_equal(binary_parse(set, sizeof(set) - 1, &req, &used), PARSE_OK);
    assert_int_equal(used, 34);
    assert_int_equal(req.cmd, BINARY_OP_SET);
    assert_int_equal(req.fault, BINARY_FAULT_NONE);
    assert_int_equal(req.opaque, 7);
    assert_int_equal(req.flags, 0xdeadbeef);
    assert_int_equal(req.exptime, 0);
    assert_int_equal(req.vlen, 5);
    assert_memory_equal(req.key.ptr, "bk", 2);
    assert_memory_equal(set + used, "hello", req.vlen);
    assert_false(binary_wants_whole_value(&req));

    assert_int_equal(binary_parse(getk, sizeof(getk) - 1, &req, &used),
                     PARSE_OK);
    assert_int_equal(used, 26);
    assert_int_equal(req.cmd, BINARY_OP_GETK);
    assert_int_equal(req.vlen, 0);
    assert_int_equal(req.cas, 0);
}

static void
closes_on_bad_magic_once_the_header_is_in(void **state)
{
    char pkt[48] = {0};
    struct binary_request req;
    size_t used;
    (void)state;

    for (int magic = 0; magic < 256; magic++) {
        if (magic == BINARY_REQ_MAGIC) {
            continue;
        }
        pkt[0] = (char)magic;
        for (size_t len = 0; len <= sizeof(pkt); len++) {
            char *copy = malloc(len != 0 ? len : 1);
            assert_non_null(copy);
            memcpy(copy, pkt, len);
            used = 5;
            assert_int_equal(binary_parse(copy, len, &req, &used),
                             len < BINARY_HEADER_LEN ? PARSE_AGAIN
                                                     : PARSE_CLOSE);
            assert_int_equal(used, 0);
            free(copy);
        }
    }
    /* the response magic is not a request either */
    pkt[0] = (char)BINARY_RES_MAGIC;
    assert_int_equal(binary_parse(pkt, sizeof(pkt), &req, &used), PARSE_CLOSE);
}

/*
 * The largest head memcached waits for: 24 + 255 + 65535 bytes (a fault
 * either way). One byte short is still PARSE_AGAIN.
 */
static void
waits_for_the_longest_extras_and_key(void **state)
{
    size_t head = BINARY_HEAD_MAX;
    char *buf = calloc(1, head);
    char *copy;
    struct binary_request req;
    size_t used;
    (void)state;

    assert_non_null(buf);
    assert_int_equal(head, 24 + 255 + 65535);
    buf[0] = (char)0x80;
    buf[2] = (char)0xff;
    buf[3] = (char)0xff;
    buf[4] = (char)0xff;
    buf[8] = (char)0xff; /* bodylen 0xff000000: holds extras and key */
    copy = malloc(head - 1);
    assert_non_null(copy);
    memcpy(copy, buf, head - 1);
    assert_int_equal(binary_parse(copy, head - 1, &req, &used), PARSE_AGAIN);
    assert_int_equal(used, 0);
    free(copy);
    assert_int_equal(binary_parse(buf, head, &req, &used), PARSE_OK);
    assert_int_equal(used, head);
    assert_int_equal(req.fault, BINARY_FAULT_KEY_TOO_LONG);
    assert_int_equal(req.vlen, 0xff000000u - 255 - 65535);
    buf[8] = 0; /* bodylen 0: too short for them */
    assert_int_equal(binary_parse(buf, head, &req, &used), PARSE_OK);
    assert_int_equal(req.fault, BINARY_FAULT_BODY);
    assert_int_equal(req.vlen, 0);
    free(buf);
}

static void
fills_every_field_on_each_call(void **state)
{
    static const char noop[24] = "\x80\x0a";
    struct binary_request req;
    size_t used;
    (void)state;

    memset(&req, 0x5a, sizeof(req));
    assert_int_equal(binary_parse(noop, sizeof(noop), &req, &used), PARSE_OK);
    assert_int_equal(req.flags, 0);
    assert_int_equal(req.exptime, 0);
    assert_int_equal(req.delta, 0);
    assert_int_equal(req.initial, 0);
    assert_false(req.has_exptime);
    assert_false(req.quiet);
    assert_int_equal(req.key.len, 0);
    memset(&req, 0x5a, sizeof(req));
    used = 3;
    assert_int_equal(binary_parse(noop, 10, &req, &used), PARSE_AGAIN);
    assert_int_equal(used, 0);
    assert_int_equal(req.fault, BINARY_FAULT_NONE);
    assert_int_equal(binary_parse(NULL, 0, &req, &used), PARSE_AGAIN);
}

/* ---- opcode and status tables ------------------------------------------- */

static void
maps_quiet_opcodes_to_their_loud_twins(void **state)
{
    static const uint8_t quiet[][2] = {
        {0x09, 0x00}, {0x0d, 0x0c}, {0x11, 0x01}, {0x12, 0x02}, {0x13, 0x03},
        {0x14, 0x04}, {0x15, 0x05}, {0x16, 0x06}, {0x17, 0x07}, {0x18, 0x08},
        {0x19, 0x0e}, {0x1a, 0x0f}, {0x1e, 0x1d}, {0x24, 0x23},
    };
    static const uint8_t loud[] = {
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0a, 0x0b,
        0x0c, 0x0e, 0x0f, 0x10, 0x1c, 0x1d, 0x20, 0x21, 0x22, 0x23,
    };
    int known = 0;
    (void)state;

    for (int op = 0; op < 256; op++) {
        int want_loud = op;
        bool want_quiet = false;
        bool want_known = false;
        for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++) {
            if (quiet[i][0] == op) {
                want_loud = quiet[i][1];
                want_quiet = want_known = true;
            }
        }
        for (size_t i = 0; i < sizeof(loud); i++) {
            want_known = want_known || loud[i] == op;
        }
        assert_int_equal(binary_loud((uint8_t)op), want_loud);
        assert_int_equal(binary_is_quiet((uint8_t)op), want_quiet);
        assert_int_equal(binary_is_known((uint8_t)op), want_known);
        assert_int_equal(binary_opcode_name((uint8_t)op) != NULL, want_known);
        known += want_known;
    }
    assert_int_equal(known, 35);
    assert_string_equal(binary_opcode_name(0x0d), "GETKQ");
    assert_string_equal(binary_opcode_name(0x20), "SASL_LIST_MECHS");
    assert_null(binary_opcode_name(0x1b)); /* VERBOSITY: not implemented */
}

static void
allows_only_sasl_and_version_before_authentication(void **state)
{
    (void)state;
    for (int op = 0; op < 256; op++) {
        bool want = op == 0x20 || op == 0x21 || op == 0x22 || op == 0x0b;
        assert_int_equal(binary_allowed_unauthenticated((uint8_t)op), want);
    }
}

static void
wants_the_whole_value_only_for_sasl_exchanges(void **state)
{
    static const char auth[] = "\x80\x21\x00\x05\x00\x00\x00\x00"
                               "\x00\x00\x00\x07\x00\x00\x00\x00"
                               "\x00\x00\x00\x00\x00\x00\x00\x00"
                               "PLAIN"
                               "xy";
    char pkt[sizeof(auth)];
    struct binary_request req;
    size_t used;
    (void)state;

    memcpy(pkt, auth, sizeof(pkt));
    assert_int_equal(binary_parse(pkt, sizeof(pkt) - 1, &req, &used), PARSE_OK);
    assert_true(binary_wants_whole_value(&req));
    assert_int_equal(req.vlen, 2);
    pkt[1] = 0x22; /* SASL_STEP */
    assert_int_equal(binary_parse(pkt, sizeof(pkt) - 1, &req, &used), PARSE_OK);
    assert_true(binary_wants_whole_value(&req));
    pkt[4] = 1; /* extras: a bad shape wants nothing */
    assert_int_equal(binary_parse(pkt, sizeof(pkt) - 1, &req, &used), PARSE_OK);
    assert_int_equal(req.fault, BINARY_FAULT_SHAPE);
    assert_false(binary_wants_whole_value(&req));
    pkt[4] = 0;
    pkt[1] = 0x0e; /* APPEND streams its value instead */
    assert_int_equal(binary_parse(pkt, sizeof(pkt) - 1, &req, &used), PARSE_OK);
    assert_false(binary_wants_whole_value(&req));
}

static void
maps_statuses_to_codes_and_texts(void **state)
{
    static const struct {
        enum binary_status st;
        uint16_t code;
        const char *text;
    } want[] = {
        {BINARY_STATUS_OK, 0x0000, ""},
        {BINARY_STATUS_NOT_FOUND, 0x0001, "Not found"},
        {BINARY_STATUS_EXISTS, 0x0002, "Data exists for key."},
        {BINARY_STATUS_TOO_LARGE, 0x0003, "Too large."},
        {BINARY_STATUS_INVALID, 0x0004, "Invalid arguments"},
        {BINARY_STATUS_NOT_STORED, 0x0005, "Not stored."},
        {BINARY_STATUS_NOT_NUMBER, 0x0006,
         "Non-numeric server-side value for incr or decr"},
        {BINARY_STATUS_AUTH_ERROR, 0x0020, "Auth failure."},
        {BINARY_STATUS_AUTH_CONTINUE, 0x0021, ""},
        {BINARY_STATUS_UNKNOWN_COMMAND, 0x0081, "Unknown command"},
        {BINARY_STATUS_NO_MEMORY, 0x0082, "Out of memory allocating item"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_int_equal(binary_status_code(want[i].st), want[i].code);
        assert_string_equal(binary_status_text(want[i].st), want[i].text);
    }
}

/* ---- composing ---------------------------------------------------------- */

/*
 * Expected bytes are written as hex (spaces ignored) followed by plain
 * bytes: HEX("81 01 0000") then "Not found".
 */
static size_t
unhex(const char *hex, const char *plain, size_t nplain, char *out, size_t cap)
{
    size_t n = 0;
    unsigned hi = 0;
    bool half = false;

    for (const char *p = hex; *p != '\0'; p++) {
        unsigned v;
        if (*p == ' ') {
            continue;
        }
        v = (unsigned)(*p >= 'a' ? *p - 'a' + 10 : *p - '0');
        assert_true(v < 16);
        if (half) {
            assert_true(n < cap);
            out[n++] = (char)(hi << 4 | v);
        } else {
            hi = v;
        }
        half = !half;
    }
    assert_false(half);
    assert_true(n + nplain <= cap);
    memcpy(out + n, plain, nplain);
    return n + nplain;
}

static void
assert_queued(struct outq *q, const char *hex, const char *plain, size_t nplain)
{
    char want[1024];
    char got[1024];
    size_t nwant = unhex(hex, plain, nplain, want, sizeof(want));
    size_t n = outq_gather(q, got, sizeof(got));

    assert_false(outq_failed(q));
    assert_int_equal(n, nwant);
    assert_memory_equal(got, want, nwant);
    outq_sent(q, n);
}

#define ASSERT_QUEUED(q, hex, plain) \
    assert_queued(q, hex, plain, sizeof(plain) - 1)

/* The example exchange of docs/COMPAT.md#binary-protocol, responses. */
static void
composes_the_example_responses(void **state)
{
    struct outq q;
    struct iovec iov[8];
    static const char value[] = "hello";
    struct slice seg = {value, 5};
    (void)state;

    outq_init(&q);
    binary_compose_ok(&q, BINARY_OP_SET, 7, 0x53);
    ASSERT_QUEUED(
        &q, "81 01 0000 00 00 0000 00000000 00000007 0000000000000053", "");
    binary_compose_value(&q, BINARY_OP_GETK, 0, 0xdeadbeef, slice_make("bk", 2),
                         5, &seg, 1, 0x53);
    assert_int_equal(outq_iov(&q, iov, 8), 2);
    assert_ptr_equal(iov[1].iov_base, value); /* by reference */
    ASSERT_QUEUED(&q,
                  "81 0c 0002 04 00 0000 0000000b 00000000 0000000000000053"
                  " deadbeef",
                  "bkhello");
    binary_compose_status(&q, BINARY_OP_GET, 5, BINARY_STATUS_NOT_FOUND, NULL);
    ASSERT_QUEUED(&q,
                  "81 00 0000 00 00 0001 00000009 00000005 0000000000000000",
                  "Not found");
    outq_deinit(&q);
}

static void
composes_every_error_from_the_table(void **state)
{
    struct outq q;
    char hex[128];
    (void)state;

    outq_init(&q);
    for (int st = BINARY_STATUS_NOT_FOUND; st <= BINARY_STATUS_NO_MEMORY;
         st++) {
        const char *text = binary_status_text((enum binary_status)st);
        binary_compose_status(&q, 0x12, 0xfffffffe, (enum binary_status)st,
                              NULL);
        snprintf(hex, sizeof(hex),
                 "81 12 0000 00 00 %04x %08zx fffffffe 0000000000000000",
                 binary_status_code((enum binary_status)st), strlen(text));
        assert_queued(&q, hex, text, strlen(text));
    }
    binary_compose_status(&q, 0x21, 1, BINARY_STATUS_NO_MEMORY,
                          "Out of memory");
    ASSERT_QUEUED(&q,
                  "81 21 0000 00 00 0082 0000000d 00000001 0000000000000000",
                  "Out of memory");
    binary_compose_status(&q, 0x04, 1, BINARY_STATUS_OK, NULL);
    ASSERT_QUEUED(
        &q, "81 04 0000 00 00 0000 00000000 00000001 0000000000000000", "");
    outq_deinit(&q);
}

static void
composes_miss_with_the_key_as_body(void **state)
{
    struct outq q;
    (void)state;

    outq_init(&q);
    binary_compose_miss_key(&q, BINARY_OP_GETK, 0x11223344,
                            slice_make("k y\r\n\0", 6));
    assert_queued(&q,
                  "81 0c 0006 00 00 0001 00000006 11223344 0000000000000000",
                  "k y\r\n\0", 6);
    binary_compose_miss_key(&q, BINARY_OP_GATK, 9, slice_make("kk", 2));
    ASSERT_QUEUED(
        &q, "81 23 0002 00 00 0001 00000002 00000009 0000000000000000", "kk");
    outq_deinit(&q);
}

static void
composes_touch_hit_and_split_values(void **state)
{
    struct outq q;
    static const char value[] = "abcdef";
    struct slice segs[3] = {{value, 2}, {value + 2, 0}, {value + 2, 4}};
    (void)state;

    outq_init(&q);
    binary_compose_value(&q, BINARY_OP_TOUCH, 3, 0x01020304, slice_make("", 0),
                         0, NULL, 0, UINT64_MAX);
    ASSERT_QUEUED(&q,
                  "81 1c 0000 04 00 0000 00000004 00000003 ffffffffffffffff"
                  " 01020304",
                  "");
    binary_compose_value(&q, BINARY_OP_GETQ, 4, 0, slice_make("", 0), 6, segs,
                         3, 1);
    ASSERT_QUEUED(&q,
                  "81 09 0000 04 00 0000 0000000a 00000004 0000000000000001"
                  " 00000000",
                  "abcdef");
    outq_deinit(&q);
}

static void
composes_numbers_stats_version_and_bodies(void **state)
{
    struct outq q;
    (void)state;

    outq_init(&q);
    binary_compose_number(&q, BINARY_OP_INCREMENTQ, 2, 0x0102030405060708, 6);
    ASSERT_QUEUED(&q,
                  "81 15 0000 00 00 0000 00000008 00000002 0000000000000006"
                  " 0102030405060708",
                  "");
    binary_compose_stat(&q, 8, "pid", 3, "1234", 4);
    binary_compose_stat(&q, 8, "x", 1, "", 0);
    binary_compose_stat_end(&q, 8);
    ASSERT_QUEUED(&q,
                  "81 10 0003 00 00 0000 00000007 00000008 0000000000000000"
                  " 706964 31323334"
                  " 81 10 0001 00 00 0000 00000001 00000008 0000000000000000"
                  " 78"
                  " 81 10 0000 00 00 0000 00000000 00000008 0000000000000000",
                  "");
    binary_compose_version(&q, 5, "1.6.18");
    ASSERT_QUEUED(&q,
                  "81 0b 0000 00 00 0000 00000006 00000005 0000000000000000",
                  "1.6.18");
    binary_compose_body(&q, BINARY_OP_SASL_AUTH, 1, BINARY_STATUS_AUTH_CONTINUE,
                        slice_make("a\0b", 3));
    assert_queued(&q,
                  "81 21 0000 00 00 0021 00000003 00000001 0000000000000000",
                  "a\0b", 3);
    binary_compose_header(&q, 0xfe, 0xbeef, 0xfffe, 0xfd, 0xfffffffc,
                          0xfffffffb, 0xfffffffffffffffa);
    ASSERT_QUEUED(
        &q, "81 fe fffe fd 00 beef fffffffc fffffffb fffffffffffffffa", "");
    outq_deinit(&q);
}

/* What the composers write parses back as a request once the magic is. */
static void
composed_header_parses_back_as_a_request(void **state)
{
    struct outq q;
    char got[64];
    size_t n;
    struct binary_request req;
    size_t used;
    (void)state;

    outq_init(&q);
    binary_compose_stat(&q, 0x01020304, "items", 5, "v", 1);
    n = outq_gather(&q, got, sizeof(got));
    got[0] = (char)BINARY_REQ_MAGIC;
    assert_int_equal(binary_parse(got, n, &req, &used), PARSE_OK);
    assert_int_equal(req.cmd, BINARY_OP_STAT);
    assert_int_equal(req.keylen, 5);
    assert_int_equal(req.bodylen, 6);
    assert_int_equal(req.vlen, 1);
    assert_int_equal(req.opaque, 0x01020304);
    assert_int_equal(used, 29);
    assert_memory_equal(req.key.ptr, "items", 5);
    outq_deinit(&q);
}

static void
maps_outcomes_to_statuses_by_command(void **state)
{
    (void)state;

    assert_int_equal(binary_result_status(BINARY_OP_SET, REPLY_STORED),
                     BINARY_STATUS_OK);
    assert_int_equal(binary_result_status(BINARY_OP_SET, REPLY_EXISTS),
                     BINARY_STATUS_EXISTS);
    /* a refused add is a clash, a refused replace a miss */
    assert_int_equal(binary_result_status(BINARY_OP_ADDQ, REPLY_NOT_STORED),
                     BINARY_STATUS_EXISTS);
    assert_int_equal(binary_result_status(BINARY_OP_REPLACE, REPLY_NOT_STORED),
                     BINARY_STATUS_NOT_FOUND);
    assert_int_equal(binary_result_status(BINARY_OP_APPEND, REPLY_NOT_STORED),
                     BINARY_STATUS_NOT_STORED);
    assert_int_equal(binary_result_status(BINARY_OP_GET, REPLY_MISS),
                     BINARY_STATUS_NOT_FOUND);
    assert_int_equal(binary_result_status(BINARY_OP_SET, REPLY_TOO_LARGE),
                     BINARY_STATUS_TOO_LARGE);
    assert_int_equal(
        binary_result_status(BINARY_OP_INCREMENT, REPLY_NOT_NUMBER),
        BINARY_STATUS_NOT_NUMBER);
    assert_int_equal(
        binary_result_status(BINARY_OP_FLUSH, REPLY_FLUSH_DISABLED),
        BINARY_STATUS_AUTH_ERROR);
}

static void
composes_results_and_keeps_quiet_successes_silent(void **state)
{
    struct outq q;
    static const char value[] = "hi";
    struct slice seg = {value, 2};
    struct reply hit = {.status = REPLY_VALUE,
                        .key = slice_make("k", 1),
                        .flags = 5,
                        .nbytes = 2,
                        .segs = &seg,
                        .nseg = 1,
                        .cas = 7};
    struct reply miss = {.status = REPLY_MISS, .key = slice_make("k", 1)};
    struct reply stored = {.status = REPLY_STORED, .cas = 9};
    struct reply num = {.status = REPLY_NUMBER, .number = 3, .cas = 4};
    struct reply oom = {.status = REPLY_NO_MEMORY_NEW};
    (void)state;

    outq_init(&q);
    /* quiet: misses and successes queue nothing, hits do */
    binary_compose_result(&q, BINARY_OP_GETQ, 1, &miss);
    binary_compose_result(&q, BINARY_OP_SETQ, 1, &stored);
    binary_compose_result(&q, BINARY_OP_INCREMENTQ, 1, &num);
    assert_int_equal(outq_pending(&q), 0);
    binary_compose_result(&q, BINARY_OP_GETKQ, 2, &hit);
    ASSERT_QUEUED(&q,
                  "81 0d 0001 04 00 0000 00000007 00000002 0000000000000007",
                  "\0\0\0\5khi");
    outq_deinit(&q);

    outq_init(&q);
    binary_compose_result(&q, BINARY_OP_TOUCH, 3, &hit); /* no value */
    ASSERT_QUEUED(&q,
                  "81 1c 0000 04 00 0000 00000004 00000003 0000000000000007",
                  "\0\0\0\5");
    outq_deinit(&q);

    outq_init(&q);
    binary_compose_result(&q, BINARY_OP_GATK, 4, &miss); /* key as body */
    ASSERT_QUEUED(
        &q, "81 23 0001 00 00 0001 00000001 00000004 0000000000000000", "k");
    outq_deinit(&q);

    outq_init(&q);
    binary_compose_result(&q, BINARY_OP_SET, 5, &stored);
    ASSERT_QUEUED(
        &q, "81 01 0000 00 00 0000 00000000 00000005 0000000000000009", "");
    outq_deinit(&q);

    outq_init(&q);
    /* an error is sent even for a quiet opcode, with its own text */
    binary_compose_result(&q, BINARY_OP_INCREMENTQ, 6, &oom);
    ASSERT_QUEUED(&q,
                  "81 15 0000 00 00 0082 00000021 00000006 0000000000000000",
                  "Out of memory allocating new item");
    outq_deinit(&q);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts_every_opcode_in_its_shape),
        cmocka_unit_test(rejects_every_other_shape),
        cmocka_unit_test(classifies_faults_in_memcacheds_order),
        cmocka_unit_test(parses_the_example_requests),
        cmocka_unit_test(closes_on_bad_magic_once_the_header_is_in),
        cmocka_unit_test(waits_for_the_longest_extras_and_key),
        cmocka_unit_test(fills_every_field_on_each_call),
        cmocka_unit_test(maps_quiet_opcodes_to_their_loud_twins),
        cmocka_unit_test(allows_only_sasl_and_version_before_authentication),
        cmocka_unit_test(wants_the_whole_value_only_for_sasl_exchanges),
        cmocka_unit_test(maps_statuses_to_codes_and_texts),
        cmocka_unit_test(composes_the_example_responses),
        cmocka_unit_test(composes_every_error_from_the_table),
        cmocka_unit_test(composes_miss_with_the_key_as_body),
        cmocka_unit_test(composes_touch_hit_and_split_values),
        cmocka_unit_test(composes_numbers_stats_version_and_bodies),
        cmocka_unit_test(composed_header_parses_back_as_a_request),
        cmocka_unit_test(maps_outcomes_to_statuses_by_command),
        cmocka_unit_test(composes_results_and_keeps_quiet_successes_silent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
