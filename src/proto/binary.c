#include "proto/binary.h"

#include "lib/outq.h"
#include "lib/slice.h"

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * How memcached 1.6.18 takes a binary request, which binary_parse()
 * reproduces without its code: it waits for the 24-byte header, closes
 * on a bad magic, waits for the extras and the key, and only then checks
 * anything else (enum binary_fault lists the order). The value is read
 * later, by the command, so it is never ours.
 */

/* ---- tables ------------------------------------------------------------ */

struct status_entry {
    uint16_t code;
    const char *text;
};

static const struct status_entry statuses[] = {
#define BINARY_STATUS_ENTRY(name, code, text) {(code), (text)},
    BINARY_STATUSES(BINARY_STATUS_ENTRY)
#undef BINARY_STATUS_ENTRY
};

#define NSTATUSES (sizeof(statuses) / sizeof(statuses[0]))

/* Indexed by opcode; name NULL: not implemented. */
struct opcode_entry {
    const char *name;
    enum binary_opcode loud;
};

static const struct opcode_entry opcodes[256] = {
#define BINARY_OPCODE_ENTRY(name, value, loud) \
    [(value)] = {#name, BINARY_OP_##loud},
    BINARY_OPCODES(BINARY_OPCODE_ENTRY)
#undef BINARY_OPCODE_ENTRY
};

/* What memcached accepts for each loud opcode (quiet twins use theirs). */
enum key_rule {
    KEY_NONE,     /* keylen == 0 */
    KEY_REQUIRED, /* keylen > 0 */
    KEY_OPTIONAL,
};

enum value_rule {
    VALUE_NONE, /* bodylen == extlen + keylen */
    VALUE_ANY,  /* the value is read by the command, or not checked */
};

struct shape {
    bool known;
    uint8_t extlen;    /* required extras length */
    bool flush_extlen; /* FLUSH: extlen 0 or 4 */
    enum key_rule key;
    enum value_rule value;
};

/* Indexed by the loud opcode. */
static const struct shape shapes[256] = {
    [BINARY_OP_GET] = {true, 0, false, KEY_REQUIRED, VALUE_NONE},
    [BINARY_OP_GETK] = {true, 0, false, KEY_REQUIRED, VALUE_NONE},
    [BINARY_OP_DELETE] = {true, 0, false, KEY_REQUIRED, VALUE_NONE},
    [BINARY_OP_SET] = {true, 8, false, KEY_REQUIRED, VALUE_ANY},
    [BINARY_OP_ADD] = {true, 8, false, KEY_REQUIRED, VALUE_ANY},
    [BINARY_OP_REPLACE] = {true, 8, false, KEY_REQUIRED, VALUE_ANY},
    [BINARY_OP_APPEND] = {true, 0, false, KEY_REQUIRED, VALUE_ANY},
    [BINARY_OP_PREPEND] = {true, 0, false, KEY_REQUIRED, VALUE_ANY},
    [BINARY_OP_INCREMENT] = {true, 20, false, KEY_REQUIRED, VALUE_NONE},
    [BINARY_OP_DECREMENT] = {true, 20, false, KEY_REQUIRED, VALUE_NONE},
    [BINARY_OP_TOUCH] = {true, 4, false, KEY_REQUIRED, VALUE_ANY},
    [BINARY_OP_GAT] = {true, 4, false, KEY_REQUIRED, VALUE_ANY},
    [BINARY_OP_GATK] = {true, 4, false, KEY_REQUIRED, VALUE_ANY},
    [BINARY_OP_FLUSH] = {true, 0, true, KEY_NONE, VALUE_NONE},
    [BINARY_OP_STAT] = {true, 0, false, KEY_OPTIONAL, VALUE_ANY},
    [BINARY_OP_QUIT] = {true, 0, false, KEY_NONE, VALUE_NONE},
    [BINARY_OP_NOOP] = {true, 0, false, KEY_NONE, VALUE_NONE},
    [BINARY_OP_VERSION] = {true, 0, false, KEY_NONE, VALUE_NONE},
    [BINARY_OP_SASL_LIST_MECHS] = {true, 0, false, KEY_NONE, VALUE_NONE},
    [BINARY_OP_SASL_AUTH] = {true, 0, false, KEY_REQUIRED, VALUE_ANY},
    [BINARY_OP_SASL_STEP] = {true, 0, false, KEY_REQUIRED, VALUE_ANY},
};

uint16_t
binary_status_code(enum binary_status st)
{
    assert((size_t)st < NSTATUSES);
    return statuses[st].code;
}

const char *
binary_status_text(enum binary_status st)
{
    assert((size_t)st < NSTATUSES);
    return statuses[st].text;
}

const char *
binary_opcode_name(uint8_t opcode)
{
    return opcodes[opcode].name;
}

bool
binary_is_known(uint8_t opcode)
{
    return opcodes[opcode].name != NULL;
}

enum binary_opcode
binary_loud(uint8_t opcode)
{
    if (opcodes[opcode].name == NULL) {
        return (enum binary_opcode)opcode;
    }
    return opcodes[opcode].loud;
}

bool
binary_is_quiet(uint8_t opcode)
{
    return binary_is_known(opcode) && binary_loud(opcode) != opcode;
}

bool
binary_allowed_unauthenticated(uint8_t opcode)
{
    return opcode == BINARY_OP_SASL_LIST_MECHS ||
           opcode == BINARY_OP_SASL_AUTH || opcode == BINARY_OP_SASL_STEP ||
           opcode == BINARY_OP_VERSION;
}

/* ---- parsing ----------------------------------------------------------- */

static uint16_t
get_u16(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint16_t)((unsigned)u[0] << 8 | u[1]);
}

static uint32_t
get_u32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 |
           u[3];
}

static uint64_t
get_u64(const char *p)
{
    return (uint64_t)get_u32(p) << 32 | get_u32(p + 4);
}

static bool
shape_ok(const struct shape *s, const struct binary_request *req)
{
    size_t head = (size_t)req->extlen + req->keylen;

    if (s->flush_extlen ? req->extlen != 0 && req->extlen != 4
                        : req->extlen != s->extlen) {
        return false;
    }
    if ((s->key == KEY_NONE && req->keylen != 0) ||
        (s->key == KEY_REQUIRED && req->keylen == 0)) {
        return false;
    }
    return s->value == VALUE_ANY || req->bodylen == head;
}

/* The extras of a request whose shape was checked. */
static void
decode_extras(const char *ext, struct binary_request *req)
{
    switch (req->cmd) {
    case BINARY_OP_SET:
    case BINARY_OP_ADD:
    case BINARY_OP_REPLACE:
        req->flags = get_u32(ext);
        req->exptime = get_u32(ext + 4);
        req->has_exptime = true;
        break;
    case BINARY_OP_INCREMENT:
    case BINARY_OP_DECREMENT:
        req->delta = get_u64(ext);
        req->initial = get_u64(ext + 8);
        req->exptime = get_u32(ext + 16);
        req->has_exptime = true;
        break;
    case BINARY_OP_TOUCH:
    case BINARY_OP_GAT:
    case BINARY_OP_GATK:
        req->exptime = get_u32(ext);
        req->has_exptime = true;
        break;
    case BINARY_OP_FLUSH:
        if (req->extlen == 4) {
            req->exptime = get_u32(ext);
            req->has_exptime = true;
        }
        break;
    default:
        break;
    }
}

/* The first fault in memcached's order, SASL's check left to the caller. */
static enum binary_fault
classify(const struct binary_request *req)
{
    const struct shape *s = &shapes[req->cmd];

    if (req->keylen > req->bodylen ||
        (uint32_t)req->keylen + req->extlen > req->bodylen) {
        return BINARY_FAULT_BODY;
    }
    if (req->keylen > BINARY_KEY_MAX) {
        return BINARY_FAULT_KEY_TOO_LONG;
    }
    if (!binary_is_known(req->opcode)) {
        return BINARY_FAULT_UNKNOWN;
    }
    assert(s->known);
    return shape_ok(s, req) ? BINARY_FAULT_NONE : BINARY_FAULT_SHAPE;
}

enum parse_status
binary_parse(const char *in, size_t len, struct binary_request *req,
             size_t *used)
{
    size_t head;

    memset(req, 0, sizeof(*req));
    *used = 0;
    if (len < BINARY_HEADER_LEN) {
        /* A wrong first byte is enough to know, but memcached waits. */
        return PARSE_AGAIN;
    }
    if ((unsigned char)in[0] != BINARY_REQ_MAGIC) {
        return PARSE_CLOSE;
    }
    req->opcode = (uint8_t)in[1];
    req->keylen = get_u16(in + 2);
    req->extlen = (uint8_t)in[4];
    req->bodylen = get_u32(in + 8);
    req->opaque = get_u32(in + 12);
    req->cas = get_u64(in + 16);
    head = BINARY_HEADER_LEN + (size_t)req->extlen + req->keylen;
    if (len < head) {
        memset(req, 0, sizeof(*req));
        return PARSE_AGAIN;
    }
    req->cmd = binary_loud(req->opcode);
    req->quiet = binary_is_quiet(req->opcode);
    req->key = slice_make(in + BINARY_HEADER_LEN + req->extlen, req->keylen);
    req->fault = classify(req);
    if (req->fault != BINARY_FAULT_BODY) {
        req->vlen = req->bodylen - req->extlen - req->keylen;
    }
    if (req->fault == BINARY_FAULT_NONE) {
        decode_extras(in + BINARY_HEADER_LEN, req);
    }
    *used = head;
    return PARSE_OK;
}

bool
binary_wants_whole_value(const struct binary_request *req)
{
    return req->fault == BINARY_FAULT_NONE &&
           (req->cmd == BINARY_OP_SASL_AUTH || req->cmd == BINARY_OP_SASL_STEP);
}

/* ---- composing --------------------------------------------------------- */

static char *
put_u16(char *p, uint16_t v)
{
    p[0] = (char)(v >> 8);
    p[1] = (char)v;
    return p + 2;
}

static char *
put_u32(char *p, uint32_t v)
{
    p[0] = (char)(v >> 24);
    p[1] = (char)(v >> 16);
    p[2] = (char)(v >> 8);
    p[3] = (char)v;
    return p + 4;
}

static char *
put_u64(char *p, uint64_t v)
{
    return put_u32(put_u32(p, (uint32_t)(v >> 32)), (uint32_t)v);
}

/*
 * Writes a header at p and returns the byte after it. A response's body
 * can exceed 4 GiB only through a caller bug (values are at most -I).
 */
static char *
put_header(char *p, uint8_t opcode, uint16_t status, uint16_t keylen,
           uint8_t extlen, uint32_t bodylen, uint32_t opaque, uint64_t cas)
{
    *p++ = (char)BINARY_RES_MAGIC;
    *p++ = (char)opcode;
    p = put_u16(p, keylen);
    *p++ = (char)extlen;
    *p++ = 0; /* datatype */
    p = put_u16(p, status);
    p = put_u32(p, bodylen);
    p = put_u32(p, opaque);
    return put_u64(p, cas);
}

void
binary_compose_header(struct outq *q, uint8_t opcode, uint16_t status,
                      uint16_t keylen, uint8_t extlen, uint32_t bodylen,
                      uint32_t opaque, uint64_t cas)
{
    char *start = outq_reserve(q, BINARY_HEADER_LEN);

    if (start == NULL) {
        return;
    }
    put_header(start, opcode, status, keylen, extlen, bodylen, opaque, cas);
    outq_commit(q, BINARY_HEADER_LEN);
}

/* Header, then key and value copied, CAS as given. */
static void
compose_copy(struct outq *q, uint8_t opcode, uint16_t status, uint32_t opaque,
             struct slice key, struct slice value, uint64_t cas)
{
    size_t total = BINARY_HEADER_LEN + key.len + value.len;
    char *start;
    char *p;

    assert(key.len <= UINT16_MAX && key.len + value.len <= UINT32_MAX);
    start = outq_reserve(q, total);
    if (start == NULL) {
        return;
    }
    p = put_header(start, opcode, status, (uint16_t)key.len, 0,
                   (uint32_t)(key.len + value.len), opaque, cas);
    if (key.len > 0) {
        memcpy(p, key.ptr, key.len);
        p += key.len;
    }
    if (value.len > 0) {
        memcpy(p, value.ptr, value.len);
    }
    outq_commit(q, total);
}

void
binary_compose_body(struct outq *q, uint8_t opcode, uint32_t opaque,
                    enum binary_status st, struct slice body)
{
    compose_copy(q, opcode, binary_status_code(st), opaque, slice_make("", 0),
                 body, 0);
}

void
binary_compose_status(struct outq *q, uint8_t opcode, uint32_t opaque,
                      enum binary_status st, const char *body)
{
    const char *text = body != NULL ? body : binary_status_text(st);

    binary_compose_body(q, opcode, opaque, st, slice_make(text, strlen(text)));
}

void
binary_compose_ok(struct outq *q, uint8_t opcode, uint32_t opaque, uint64_t cas)
{
    binary_compose_header(q, opcode, 0, 0, 0, 0, opaque, cas);
}

void
binary_compose_value(struct outq *q, uint8_t opcode, uint32_t opaque,
                     uint32_t flags, struct slice key, size_t nbytes,
                     const struct slice *segs, size_t nseg, uint64_t cas)
{
    size_t head = BINARY_HEADER_LEN + 4 + key.len;
    size_t check = 0;
    char *start;
    char *p;

    for (size_t i = 0; i < nseg; i++) {
        check += segs[i].len;
    }
    assert(check == nbytes);
    (void)check;
    assert(key.len <= UINT16_MAX && 4 + key.len + nbytes <= UINT32_MAX);
    start = outq_reserve(q, head);
    if (start == NULL) {
        return;
    }
    p = put_header(start, opcode, 0, (uint16_t)key.len, 4,
                   (uint32_t)(4 + key.len + nbytes), opaque, cas);
    p = put_u32(p, flags);
    if (key.len > 0) {
        memcpy(p, key.ptr, key.len);
    }
    outq_commit(q, head);
    for (size_t i = 0; i < nseg; i++) {
        outq_ref(q, segs[i].ptr, segs[i].len);
    }
}

void
binary_compose_miss_key(struct outq *q, uint8_t opcode, uint32_t opaque,
                        struct slice key)
{
    compose_copy(q, opcode, binary_status_code(BINARY_STATUS_NOT_FOUND), opaque,
                 key, slice_make("", 0), 0);
}

void
binary_compose_number(struct outq *q, uint8_t opcode, uint32_t opaque,
                      uint64_t value, uint64_t cas)
{
    char body[8];

    put_u64(body, value);
    compose_copy(q, opcode, 0, opaque, slice_make("", 0),
                 slice_make(body, sizeof(body)), cas);
}

void
binary_compose_stat(struct outq *q, uint32_t opaque, const char *name,
                    size_t nlen, const char *value, size_t vlen)
{
    compose_copy(q, BINARY_OP_STAT, 0, opaque, slice_make(name, nlen),
                 slice_make(value, vlen), 0);
}

void
binary_compose_stat_end(struct outq *q, uint32_t opaque)
{
    binary_compose_header(q, BINARY_OP_STAT, 0, 0, 0, 0, opaque, 0);
}

void
binary_compose_version(struct outq *q, uint32_t opaque, const char *version)
{
    binary_compose_body(q, BINARY_OP_VERSION, opaque, BINARY_STATUS_OK,
                        slice_make(version, strlen(version)));
}

/* ---- outcomes (proto/reply.h) ----------------------------------------- */

/*
 * The reply layer's table for binary: each outcome's status and, where
 * memcached sends another text than the status's, that text. NOT_STORED
 * depends on the command (binary_result_status).
 */
static const struct {
    enum binary_status st;
    const char *text;
} results[REPLY_NSTATUS] = {
    [REPLY_STORED] = {BINARY_STATUS_OK, NULL},
    [REPLY_NOT_STORED] = {BINARY_STATUS_NOT_STORED, NULL},
    [REPLY_EXISTS] = {BINARY_STATUS_EXISTS, NULL},
    [REPLY_NOT_FOUND] = {BINARY_STATUS_NOT_FOUND, NULL},
    [REPLY_DELETED] = {BINARY_STATUS_OK, NULL},
    [REPLY_TOUCHED] = {BINARY_STATUS_OK, NULL},
    [REPLY_OK] = {BINARY_STATUS_OK, NULL},
    [REPLY_MISS] = {BINARY_STATUS_NOT_FOUND, NULL},
    [REPLY_VALUE] = {BINARY_STATUS_OK, NULL},
    [REPLY_NUMBER] = {BINARY_STATUS_OK, NULL},
    [REPLY_TOO_LARGE] = {BINARY_STATUS_TOO_LARGE, NULL},
    [REPLY_NO_MEMORY_STORE] = {BINARY_STATUS_NO_MEMORY, NULL},
    [REPLY_NO_MEMORY] = {BINARY_STATUS_NO_MEMORY,
                         "Out of memory incrementing value"},
    [REPLY_NO_MEMORY_NEW] = {BINARY_STATUS_NO_MEMORY,
                             "Out of memory allocating new item"},
    [REPLY_NO_MEMORY_READ] = {BINARY_STATUS_NO_MEMORY,
                              "Out of memory during read"},
    [REPLY_NOT_NUMBER] = {BINARY_STATUS_NOT_NUMBER, NULL},
    [REPLY_BAD_CHUNK] = {BINARY_STATUS_INVALID, NULL},
    [REPLY_FLUSH_DISABLED] = {BINARY_STATUS_AUTH_ERROR, NULL},
    [REPLY_UNKNOWN] = {BINARY_STATUS_UNKNOWN_COMMAND, NULL},
};

enum binary_status
binary_result_status(uint8_t opcode, enum reply_status st)
{
    assert((size_t)st < REPLY_NSTATUS);
    if (st == REPLY_NOT_STORED) {
        /* memcached answers a refused add as a clash, a replace as a miss */
        switch (binary_loud(opcode)) {
        case BINARY_OP_ADD:
            return BINARY_STATUS_EXISTS;
        case BINARY_OP_REPLACE:
            return BINARY_STATUS_NOT_FOUND;
        default:
            break;
        }
    }
    return results[st].st;
}

void
binary_compose_result(struct outq *q, uint8_t opcode, uint32_t opaque,
                      const struct reply *r)
{
    enum binary_opcode cmd = binary_loud(opcode);
    bool with_key = cmd == BINARY_OP_GETK || cmd == BINARY_OP_GATK;
    bool quiet = binary_is_quiet(opcode);

    switch (r->status) {
    case REPLY_VALUE:
        binary_compose_value(q, opcode, opaque, r->flags,
                             with_key ? r->key : slice_make(NULL, 0),
                             cmd == BINARY_OP_TOUCH ? 0 : r->nbytes, r->segs,
                             cmd == BINARY_OP_TOUCH ? 0 : r->nseg, r->cas);
        return;
    case REPLY_MISS:
        if (quiet) {
            return; /* GETQ, GETKQ, GATQ, GATKQ: misses are not sent */
        }
        if (with_key) {
            binary_compose_miss_key(q, opcode, opaque, r->key);
            return;
        }
        break;
    case REPLY_NUMBER:
        if (!quiet) {
            binary_compose_number(q, opcode, opaque, r->number, r->cas);
        }
        return;
    case REPLY_STORED:
        if (!quiet) {
            binary_compose_ok(q, opcode, opaque, r->cas);
        }
        return;
    default:
        break;
    }
    enum binary_status st = binary_result_status(opcode, r->status);
    if (st == BINARY_STATUS_OK && quiet) {
        return; /* a quiet command's success is not sent */
    }
    binary_compose_status(q, opcode, opaque, st, results[r->status].text);
}

void
binary_compose_authenticated(struct outq *q, uint8_t opcode, uint32_t opaque)
{
    static const char text[] = "Authenticated";

    binary_compose_body(q, opcode, opaque, BINARY_STATUS_OK,
                        slice_make(text, sizeof(text) - 1));
}

void
binary_compose_no_memory(struct outq *q, uint8_t opcode, uint32_t opaque,
                         enum binary_oom which)
{
    static const char *const texts[] = {
        [BINARY_OOM_SASL] = "Out of memory",
        [BINARY_OOM_STATS] = "Out of memory generating stats",
    };

    binary_compose_status(q, opcode, opaque, BINARY_STATUS_NO_MEMORY,
                          texts[which]);
}

void
binary_compose_detail_dump(struct outq *q, uint32_t opaque, const char *text,
                           size_t len)
{
    static const char key[] = "detailed";

    binary_compose_stat(q, opaque, key, sizeof(key) - 1, text, len);
}
