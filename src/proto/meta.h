/*
 * meta - memcached's meta commands (mg ms md ma mn me): parsing one
 * command line into struct meta_request, and composing reply lines into
 * an outq. Pure and thread-agnostic like text.h; cmd/ runs the request.
 *
 * Exact behaviour: memcached 1.6.18 as it runs, which is protocol.txt's
 * Meta Commands sections plus the differences in
 * docs/COMPAT.md#meta-protocol.
 */
#pragma once

#include "lib/slice.h"
#include "proto/proto.h"
#include "proto/reply.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct outq;

enum meta_cmd {
    META_NONE = 0,
    META_GET,    /* mg */
    META_SET,    /* ms */
    META_DELETE, /* md */
    META_ARITH,  /* ma */
    META_NOOP,   /* mn */
    META_DEBUG,  /* me */
};

#define META_KEY_MAX    250 /* key token as sent, before base64 decoding */
#define META_FLAGS_MAX  17  /* flag tokens after the key (ms: 16) */
#define META_OPAQUE_MAX 32  /* O token, the 'O' included */
/* Longest reply line a composer builds (without the value block). */
#define META_LINE_MAX   1024

/* One flag token as sent: its first byte and the rest of the token. */
struct meta_flag {
    char name;
    struct slice arg;
};

/* Bit for flag byte c ('A'..'z') in meta_request.has. */
#define META_BIT(c)      ((uint64_t)1 << ((unsigned)(c) - 'A'))
#define META_HAS(req, c) (((req)->has & META_BIT(c)) != 0)

/*
 * One parsed meta command. `flags` lists every flag token in request
 * order (replies echo them in that order); the typed fields hold the
 * arguments of the flags named in `has`:
 *
 *   T exptime   N vivify   R recache    (int32 wire values, 0 = never)
 *   C cas       F client_flags          J initial   D delta (default 1)
 *   M mode: ms 'S' (default) 'E' 'A' 'P' 'R'; ma '+' (default) or '-'
 *     (the parser maps 'I' to '+' and 'D' to '-')
 *   O opaque: the whole token, 'O' included, echoed as " <opaque>"
 *
 * key is the key as the engine sees it: the token itself, or its base64
 * decoding (in keybuf) when `binary` (flag b; me: a bare "b" token).
 * Decoded keys are at most 186 bytes and never empty.
 */
struct meta_request {
    enum meta_cmd cmd;
    struct slice key;
    bool binary;
    uint32_t datalen; /* ms: bytes in the data block, CRLF excluded */
    uint64_t has;
    size_t nflags;
    struct meta_flag flags[META_FLAGS_MAX];
    int64_t exptime;
    int64_t vivify;
    int64_t recache;
    uint64_t cas;
    uint32_t client_flags;
    char mode;
    uint64_t initial;
    uint64_t delta;
    struct slice opaque;
    /*
     * PARSE_CLIENT_ERROR: the text after "CLIENT_ERROR ", and for ms the
     * bytes the caller must then skip (datalen + 2) when memcached
     * swallows the data block, 0 when it does not.
     *
     * "opaque token too long" (opaque.len > META_OPAQUE_MAX) is the
     * last check, so every other field is filled in. mg and ma make it
     * only after running the command: a T touch, an N vivify or the
     * arithmetic still happen, and an error the run itself gives (ma:
     * non-numeric value) is sent instead. md and ms make it before.
     */
    const char *error;
    size_t swallow;
    char keybuf[META_KEY_MAX];
};

/*
 * The error text of an over-long O token (req->error points at it): mg
 * and ma run before they report it, see struct meta_request.
 */
extern const char meta_err_opaque[];

/*
 * True when the line at in[0..len) starts a meta command: its first token
 * is exactly two bytes and the first is 'm' ("mg ", "mn\r\n", "mz\n"...).
 * Needs at least 3 bytes to say yes; text_parse() handles the rest.
 */
bool meta_is_meta(const char *in, size_t len);

/*
 * Parses one meta command line, like text_parse(): on PARSE_OK,
 * PARSE_ERROR and PARSE_CLIENT_ERROR *used covers the line and its '\n'
 * (for ms the data block is NOT consumed); PARSE_AGAIN: no '\n' yet;
 * PARSE_CLOSE: more than 2048 bytes without '\n'. PARSE_ERROR is the bare
 * "ERROR" reply (unknown m? command, missing key). Only call it when
 * meta_is_meta() said yes.
 */
enum parse_status meta_parse(const char *in, size_t len,
                             struct meta_request *req, size_t *used);

/*
 * Reply lines. A line is built in a struct meta_line and then queued;
 * every append puts one space before what it adds.
 *
 *   meta_line_init(&l, "HD");          "HD"
 *   meta_line_init_value(&l, 3);       "VA 3"
 *   meta_line_num(&l, 'c', 41);        " c41"
 *   meta_line_ttl(&l, 't', -1);        " t-1"
 *   meta_line_key(&l, key, true);      " kZm9v b"  (base64 and " b")
 *   meta_line_key(&l, key, false);     " kfoo"
 *   meta_line_token(&l, req->opaque);  " O123"
 *   meta_line_char(&l, 'W');           " W"
 */
struct meta_line {
    size_t len;
    char buf[META_LINE_MAX];
};

void meta_line_init(struct meta_line *l, const char *code);
void meta_line_init_value(struct meta_line *l, size_t nbytes);
void meta_line_num(struct meta_line *l, char flag, uint64_t v);
void meta_line_ttl(struct meta_line *l, char flag, int64_t v);
void meta_line_key(struct meta_line *l, struct slice key, bool binary);
void meta_line_token(struct meta_line *l, struct slice token);
void meta_line_char(struct meta_line *l, char c);

/*
 * The code a meta reply line starts with for an outcome: "HD" (stored,
 * deleted, a hit without v), "NS", "EX", "NF", "EN" (a miss). NULL for
 * the errors, which meta sends as the text protocol's lines
 * (text_compose_result).
 */
const char *meta_code(enum reply_status st);

/* meta_line_init(l, meta_code(st)) for an outcome that has a code. */
void meta_line_init_status(struct meta_line *l, enum reply_status st);

/* mn's "MN\r\n". */
void meta_compose_noop(struct outq *q);

/* Queues the line and "\r\n". */
void meta_compose_line(struct outq *q, const struct meta_line *l);

/*
 * Queues the line, "\r\n", the value by reference (nseg segments, kept
 * pinned by the caller until sent) and "\r\n".
 */
void meta_compose_value(struct outq *q, const struct meta_line *l,
                        const struct slice *segs, size_t nseg);

/*
 * me's hit line: "ME <key> exp=<exp> la=<la> cas=<cas> fetch=<yes|no>
 * cls=<cls> size=<size>\r\n", the key base64 when binary.
 */
void meta_compose_debug(struct outq *q, struct slice key, bool binary,
                        int64_t exp, uint64_t la, uint64_t cas, bool fetched,
                        unsigned cls, size_t size);
