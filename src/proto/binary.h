/*
 * binary - memcached's binary protocol: parsing one request header (and
 * its extras and key) into struct binary_request, and composing response
 * packets into an outq. Pure and thread-agnostic like text.h; state
 * (SASL, swallowing, closing) lives in the caller (cmd/).
 *
 * Exact behaviour: memcached 1.6.18 as it runs; see
 * docs/COMPAT.md#binary-protocol and, for SASL, docs/COMPAT.md#sasl.
 *
 * A request on the wire, every number big-endian:
 *
 *   0      1       2      4      5        6        8         12       16
 *   | 0x80 | opcode | keylen | extlen | datatype | vbucket | bodylen | opaque
 *   | cas (8) | extras (extlen) | key (keylen) | value (vlen) |
 *   `--------- header, 24 bytes --------------'               `- not ours
 *
 * vlen = bodylen - extlen - keylen. The parser consumes the header, the
 * extras and the key; the value is the caller's, exactly as a text
 * storage command's data block is. Responses have the same layout with
 * magic 0x81 and the status in place of the vbucket.
 */
#pragma once

#include "lib/slice.h"
#include "proto/proto.h"
#include "proto/reply.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct outq;

#define BINARY_REQ_MAGIC     0x80
#define BINARY_RES_MAGIC     0x81
#define BINARY_HEADER_LEN    24
#define BINARY_KEY_MAX       250
/* The most binary_parse() waits for: header, extras and key at their max. */
#define BINARY_HEAD_MAX      (BINARY_HEADER_LEN + UINT8_MAX + UINT16_MAX)
/* SASL_AUTH / SASL_STEP: a longer mechanism name is 0x0004 (see below). */
#define BINARY_SASL_MECH_MAX 32

/*
 * Every opcode memcached 1.6.18 implements, with its loud twin (itself
 * for a loud opcode). Anything else is unknown (0x0081), VERBOSITY
 * (0x1B) and the range opcodes (0x30-0x3C) included.
 */
/* clang-format off */
/*      name                value  loud twin */
#define BINARY_OPCODES(X)                               \
    X(GET,                  0x00,  GET)                 \
    X(SET,                  0x01,  SET)                 \
    X(ADD,                  0x02,  ADD)                 \
    X(REPLACE,              0x03,  REPLACE)             \
    X(DELETE,               0x04,  DELETE)              \
    X(INCREMENT,            0x05,  INCREMENT)           \
    X(DECREMENT,            0x06,  DECREMENT)           \
    X(QUIT,                 0x07,  QUIT)                \
    X(FLUSH,                0x08,  FLUSH)               \
    X(GETQ,                 0x09,  GET)                 \
    X(NOOP,                 0x0A,  NOOP)                \
    X(VERSION,              0x0B,  VERSION)             \
    X(GETK,                 0x0C,  GETK)                \
    X(GETKQ,                0x0D,  GETK)                \
    X(APPEND,               0x0E,  APPEND)              \
    X(PREPEND,              0x0F,  PREPEND)             \
    X(STAT,                 0x10,  STAT)                \
    X(SETQ,                 0x11,  SET)                 \
    X(ADDQ,                 0x12,  ADD)                 \
    X(REPLACEQ,             0x13,  REPLACE)             \
    X(DELETEQ,              0x14,  DELETE)              \
    X(INCREMENTQ,           0x15,  INCREMENT)           \
    X(DECREMENTQ,           0x16,  DECREMENT)           \
    X(QUITQ,                0x17,  QUIT)                \
    X(FLUSHQ,               0x18,  FLUSH)               \
    X(APPENDQ,              0x19,  APPEND)              \
    X(PREPENDQ,             0x1A,  PREPEND)             \
    X(TOUCH,                0x1C,  TOUCH)               \
    X(GAT,                  0x1D,  GAT)                 \
    X(GATQ,                 0x1E,  GAT)                 \
    X(SASL_LIST_MECHS,      0x20,  SASL_LIST_MECHS)     \
    X(SASL_AUTH,            0x21,  SASL_AUTH)           \
    X(SASL_STEP,            0x22,  SASL_STEP)           \
    X(GATK,                 0x23,  GATK)                \
    X(GATKQ,                0x24,  GATK)
/* clang-format on */

enum binary_opcode {
#define BINARY_OPCODE_ENUM(name, value, loud) BINARY_OP_##name = (value),
    BINARY_OPCODES(BINARY_OPCODE_ENUM)
#undef BINARY_OPCODE_ENUM
};

/*
 * The one table from status to wire: code and the error body memcached
 * sends with it (no extras, no key, no terminator). OK and AUTH_CONTINUE
 * have no fixed text: their bodies are the command's.
 *
 * NO_MEMORY has several texts in memcached: the server's message minus
 * "SERVER_ERROR ". The table holds the one storage commands send; others
 * are passed to the composers as an override: "Out of memory" (SASL_AUTH
 * whose value does not fit one item), "Out of memory incrementing value",
 * "Out of memory allocating new item", "Out of memory generating stats",
 * "Out of memory preparing to send stats", "Out of memory during read",
 * "out of memory reading request".
 */
/* clang-format off */
/*      name              code    error body */
#define BINARY_STATUSES(X)                                                   \
    X(OK,                 0x0000, "")                                        \
    X(NOT_FOUND,          0x0001, "Not found")                               \
    X(EXISTS,             0x0002, "Data exists for key.")                    \
    X(TOO_LARGE,          0x0003, "Too large.")                              \
    X(INVALID,            0x0004, "Invalid arguments")                       \
    X(NOT_STORED,         0x0005, "Not stored.")                             \
    X(NOT_NUMBER,         0x0006,                                            \
      "Non-numeric server-side value for incr or decr")                      \
    X(AUTH_ERROR,         0x0020, "Auth failure.")                           \
    X(AUTH_CONTINUE,      0x0021, "")                                        \
    X(UNKNOWN_COMMAND,    0x0081, "Unknown command")                         \
    X(NO_MEMORY,          0x0082, "Out of memory allocating item")
/* clang-format on */

enum binary_status {
#define BINARY_STATUS_ENUM(name, code, text) BINARY_STATUS_##name,
    BINARY_STATUSES(BINARY_STATUS_ENUM)
#undef BINARY_STATUS_ENUM
};

/* The status's wire code and its table text ("" for OK, AUTH_CONTINUE). */
uint16_t binary_status_code(enum binary_status st);
const char *binary_status_text(enum binary_status st);

/* The opcode's name as in BINARY_OPCODES ("GETKQ"), NULL if unknown. */
const char *binary_opcode_name(uint8_t opcode);

/* True for the opcodes of BINARY_OPCODES. */
bool binary_is_known(uint8_t opcode);

/* The loud twin of a quiet opcode; any other opcode is returned as is. */
enum binary_opcode binary_loud(uint8_t opcode);

/*
 * True for the quiet opcodes: GETQ GETKQ GATQ GATKQ (misses are not
 * sent), SETQ ADDQ REPLACEQ APPENDQ PREPENDQ DELETEQ INCREMENTQ
 * DECREMENTQ FLUSHQ (successes are not sent), QUITQ (no reply at all).
 * Errors are always sent.
 */
bool binary_is_quiet(uint8_t opcode);

/*
 * True for the opcodes an unauthenticated connection may send when SASL
 * is on (-S): SASL_LIST_MECHS, SASL_AUTH, SASL_STEP and VERSION. Any
 * other (unknown ones too) gets 0x0020 "Auth failure." and the
 * connection closes after the write.
 */
bool binary_allowed_unauthenticated(uint8_t opcode);

/*
 * What is wrong with a request, as binary_parse() classifies it. At most
 * one is set: the first in memcached's order of checks. The caller runs
 * the one check the parser cannot make, SASL's, between BODY and the
 * rest:
 *
 *   1. BODY           0x0081 "Unknown command", close after writing
 *   2. (caller) -S, not authenticated and not
 *      binary_allowed_unauthenticated()       0x0020, close after writing
 *   3. KEY_TOO_LONG   0x0004 "Invalid arguments", close after writing
 *   4. SHAPE          0x0004 "Invalid arguments", close after writing
 *   5. UNKNOWN        0x0081 "Unknown command"; then discard `bodylen`
 *                     more bytes (after *used), connection kept
 *
 * KEY_TOO_LONG applies to unknown opcodes too; SHAPE never does: an
 * unknown opcode has no shape. Step 5's skip is memcached's quirk: it
 * already consumed the extras and key, and skips bodylen on top of them,
 * so with extlen or keylen > 0 it eats the start of the next packet.
 */
enum binary_fault {
    BINARY_FAULT_NONE = 0,
    BINARY_FAULT_BODY,         /* keylen + extlen > bodylen */
    BINARY_FAULT_KEY_TOO_LONG, /* keylen > BINARY_KEY_MAX */
    BINARY_FAULT_SHAPE,        /* extlen/keylen/bodylen not the opcode's */
    BINARY_FAULT_UNKNOWN,      /* opcode not in BINARY_OPCODES */
};

/*
 * One parsed request header. Shapes a known opcode must have (else
 * BINARY_FAULT_SHAPE), and the extras decoded for it:
 *
 *   GET GETK DELETE           no extras, key, no value
 *   SET ADD REPLACE           8: flags, exptime; key; value
 *   APPEND PREPEND            no extras, key, value (may be empty)
 *   INCREMENT DECREMENT       20: delta, initial, exptime; key; no value
 *   TOUCH GAT GATK            4: exptime; key; value not checked
 *   FLUSH                     0 or 4: exptime; no key, no value
 *   STAT                      no extras; key optional; value not checked
 *   QUIT NOOP VERSION
 *   SASL_LIST_MECHS           nothing at all (bodylen 0)
 *   SASL_AUTH SASL_STEP       no extras, key (the mechanism), value
 *
 * (quiet twins as their loud twin). "value not checked": any value bytes
 * are NOT part of the request; the caller parses them as the next packet.
 *
 * Without -S, the SASL opcodes are still shape-checked (a bad shape
 * closes the connection); a good one is answered 0x0081 with the value
 * (vlen bytes) discarded, which keeps the stream in step.
 *
 * Extras are decoded only when fault is BINARY_FAULT_NONE; otherwise
 * they, and has_exptime, are zero. exptime is the raw u32 (cmd/ applies
 * the text protocol's rules); has_exptime says the extras carried one
 * (FLUSH with 4 bytes; always for the storage, arithmetic and touch
 * families).
 */
struct binary_request {
    uint8_t opcode;         /* as sent; every response echoes it */
    enum binary_opcode cmd; /* binary_loud(opcode) */
    bool quiet;             /* binary_is_quiet(opcode) */
    uint8_t extlen;
    uint16_t keylen;
    uint32_t bodylen;
    uint32_t opaque; /* echoed in every response */
    uint64_t cas;
    struct slice key; /* in the input; keylen bytes (even when faulty) */
    uint32_t flags;
    uint32_t exptime;
    uint64_t delta;
    uint64_t initial;
    bool has_exptime;
    uint32_t vlen; /* bodylen - extlen - keylen; 0 with BINARY_FAULT_BODY */
    enum binary_fault fault;
};

/*
 * Parses one request at in[0..len). Never reads past len, never writes
 * the input.
 *
 *   PARSE_AGAIN  fewer than 24 bytes, or the header is in but not all of
 *                its extras and key (at most BINARY_HEAD_MAX bytes in
 *                all): call again with more; *used is 0.
 *   PARSE_CLOSE  the first byte is not 0x80: close without a reply;
 *                *used is 0.
 *   PARSE_OK     *used = 24 + extlen + keylen, whatever req->fault says
 *                (memcached waits for the extras and key before any
 *                check, BINARY_FAULT_BODY included); the caller acts on
 *                req->fault as described at enum binary_fault.
 *
 * A request with fault NONE whose value the command needs (storage,
 * APPEND/PREPEND, SASL_AUTH/STEP) is followed by vlen value bytes.
 */
enum parse_status binary_parse(const char *in, size_t len,
                               struct binary_request *req, size_t *used);

/*
 * True when the caller must have the whole value buffered before it runs
 * the request (SASL_AUTH, SASL_STEP: the exchange reads it in one piece;
 * storage commands instead stream their value into a reserved item).
 *
 * memcached's bound: it reads a SASL value into one item of key + value
 * + 2 bytes that must fit an unchunked slab chunk (with the default -I 1m:
 * 56 + keylen + 1 + vlen + 2 <= 524288, so vlen <= 524224 for "PLAIN").
 * Larger: 0x0082 "Out of memory", the value discarded, connection kept.
 * Before that, keylen > BINARY_SASL_MECH_MAX: 0x0004 "Invalid arguments",
 * value discarded, connection kept.
 */
bool binary_wants_whole_value(const struct binary_request *req);

/*
 * Response composers. Every one writes a 24-byte header (magic 0x81,
 * datatype 0, big-endian fields) and its body into q, copying everything
 * except the value segments of binary_compose_value(). `opcode` is the
 * request's as sent (quiet opcodes echo as quiet), `opaque` the
 * request's.
 */

/* A bare header; the caller queues the bodylen bytes that follow. */
void binary_compose_header(struct outq *q, uint8_t opcode, uint16_t status,
                           uint16_t keylen, uint8_t extlen, uint32_t bodylen,
                           uint32_t opaque, uint64_t cas);

/*
 * A status with its table text as the body (override: `body` when not
 * NULL, e.g. another NO_MEMORY text), no extras, no key, CAS 0. For OK
 * and AUTH_CONTINUE the table text is empty: OK with body NULL is the
 * empty success of DELETE, FLUSH, NOOP, QUIT and STAT's reset/detail.
 */
void binary_compose_status(struct outq *q, uint8_t opcode, uint32_t opaque,
                           enum binary_status st, const char *body);

/*
 * Any status with an arbitrary body (may hold NUL bytes), CAS 0: SASL
 * mechanism lists, "Authenticated", AUTH_CONTINUE challenges.
 */
void binary_compose_body(struct outq *q, uint8_t opcode, uint32_t opaque,
                         enum binary_status st, struct slice body);

/* Success with an empty body and the new item's CAS (storage commands). */
void binary_compose_ok(struct outq *q, uint8_t opcode, uint32_t opaque,
                       uint64_t cas);

/*
 * A hit: status 0, extras = the 4-byte client flags, the key (pass it for
 * GETK/GATK, an empty slice otherwise), then nbytes of value queued by
 * reference from nseg segments (the caller keeps them pinned until
 * sent). TOUCH: nbytes 0, no segments. CAS = the item's.
 */
void binary_compose_value(struct outq *q, uint8_t opcode, uint32_t opaque,
                          uint32_t flags, struct slice key, size_t nbytes,
                          const struct slice *segs, size_t nseg, uint64_t cas);

/*
 * GETK/GATK miss: status 0x0001, keylen = key.len, and the key is the
 * whole body (bodylen = keylen; no "Not found" text), CAS 0.
 */
void binary_compose_miss_key(struct outq *q, uint8_t opcode, uint32_t opaque,
                             struct slice key);

/* INCREMENT/DECREMENT success: an 8-byte big-endian body, no extras. */
void binary_compose_number(struct outq *q, uint8_t opcode, uint32_t opaque,
                           uint64_t value, uint64_t cas);

/*
 * One STAT packet: opcode STAT, status 0, key = name, body = name then
 * value, CAS 0. binary_compose_stat_end() is the terminator (empty key
 * and body).
 */
void binary_compose_stat(struct outq *q, uint32_t opaque, const char *name,
                         size_t nlen, const char *value, size_t vlen);
void binary_compose_stat_end(struct outq *q, uint32_t opaque);

/* VERSION success: the version string as the body. */
void binary_compose_version(struct outq *q, uint32_t opaque,
                            const char *version);

/*
 * The reply layer's table for binary (proto/reply.h): the status an
 * outcome is answered with. A refused store (NOT_STORED) depends on the
 * command: ADD answers EXISTS, REPLACE NOT_FOUND, others NOT_STORED.
 */
enum binary_status binary_result_status(uint8_t opcode, enum reply_status st);

/*
 * Queues the response to an outcome for the request's opcode (as sent)
 * and opaque: a VALUE as a hit (with the key for GETK/GATK, without the
 * value for TOUCH), a MISS as "Not found" (GETK/GATK: the key as body),
 * a NUMBER as incr/decr's 8 bytes, STORED with the new CAS, any other
 * outcome by binary_result_status(). A quiet opcode's success, and a
 * quiet fetch's miss, queue nothing; errors are always sent.
 */
void binary_compose_result(struct outq *q, uint8_t opcode, uint32_t opaque,
                           const struct reply *r);

/* SASL success: status 0, body "Authenticated". */
void binary_compose_authenticated(struct outq *q, uint8_t opcode,
                                  uint32_t opaque);

/* memcached's NO_MEMORY texts other than the storage commands'. */
enum binary_oom {
    BINARY_OOM_SASL = 0, /* "Out of memory": a SASL value too large */
    BINARY_OOM_STATS,    /* "Out of memory generating stats" */
};

void binary_compose_no_memory(struct outq *q, uint8_t opcode, uint32_t opaque,
                              enum binary_oom which);

/* STAT "detail dump": one packet, key "detailed", the text dump as value. */
void binary_compose_detail_dump(struct outq *q, uint32_t opaque,
                                const char *text, size_t len);
