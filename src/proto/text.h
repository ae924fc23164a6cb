/*
 * text - memcached's classic text protocol: parsing command lines into
 * struct request, and composing replies into an outq. Pure and
 * thread-agnostic; state lives in the caller (cmd/session.c).
 *
 * Exact behaviour: memcached 1.6.18 as it runs, which is memcached's
 * doc/protocol.txt plus the differences in docs/COMPAT.md#text-protocol.
 */
#pragma once

#include "proto/proto.h"
#include "proto/reply.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct outq;

/* Longest command line kept waiting for its '\n' (except get/gets). */
#define TEXT_LINE_MAX     2048
/* Longest get/gets line we buffer; longer ones close the connection. */
#define TEXT_GET_LINE_MAX ((size_t)2 * 1024 * 1024)
#define TEXT_KEY_MAX      250

/*
 * Parses one command line at in[0..len). On PARSE_OK, PARSE_ERROR and
 * PARSE_CLIENT_ERROR, *used is the length of the line including its '\n';
 * on PARSE_AGAIN and PARSE_CLOSE it is 0. req->noreply is set even on
 * PARSE_CLIENT_ERROR when the line ended in "noreply" (memcached then
 * suppresses the error), and req->verb names the command (flush_all is
 * counted even when its delay is bad); on PARSE_ERROR it is VERB_NONE.
 * PARSE_CLOSE: an unterminated line longer than TEXT_LINE_MAX (get/gets:
 * TEXT_GET_LINE_MAX), or an unknown command whose last token starts with
 * "HTTP/". Meta commands ("mg", "ms", ...) are not text commands: they
 * give PARSE_ERROR here, so route them before calling this.
 */
enum parse_status text_parse(const char *in, size_t len, struct request *req,
                             size_t *used);

/*
 * Iterates the key list of a get-family request: cuts the next key from
 * *rest into *key and returns true, or returns false when none is left.
 * Keys were already validated by text_parse().
 */
bool text_next_key(struct slice *rest, struct slice *key);

/*
 * The reply to a request's outcome (proto/reply.h): one table in text.c
 * maps each status to its line; NUMBER is composed from r->number. A
 * MISS queues nothing. A hit (VALUE) is text_compose_value()'s: the get
 * family calls it directly, once per key, so that it inlines there.
 */
void text_compose_result(struct outq *q, const struct reply *r);

/*
 * lru tune <hot%> <warm%> <hot_factor> <warm_factor> | mode flat|segmented
 * | temp_ttl <ttl>, from the words after "lru" (req->args): memcached
 * checks only the tokens it needs, so extra ones are ignored. Anything
 * wrong is TEXT_LRU_BAD (ERROR); the limits are cmd's to check.
 */
struct text_lru {
    enum text_lru_op {
        TEXT_LRU_BAD = 0,   /* ERROR: unknown, too few tokens, bad number */
        TEXT_LRU_TUNE,      /* tune <hot%> <warm%> <hot_f> <warm_f> */
        TEXT_LRU_FLAT,      /* mode flat */
        TEXT_LRU_SEGMENTED, /* mode segmented */
        TEXT_LRU_TEMP_TTL,  /* temp_ttl <ttl> */
    } op;
    uint32_t hot_pct, warm_pct;     /* safe_strtoul, truncated to 32 bits */
    double hot_factor, warm_factor; /* safe_strtod */
    int32_t ttl; /* safe_strtol, truncated to 32 bits; < 0: TEMP off */
};

void text_parse_lru(struct slice args, struct text_lru *out);

/* The fixed line of a status (nothing for MISS, VALUE, NUMBER). */
void text_compose_status(struct outq *q, enum reply_status st);

/* A status's fixed line, CRLF included (empty for MISS, VALUE, NUMBER). */
struct slice text_result_line(enum reply_status st);

/*
 * Fixed lines of the commands only the text protocol has (stats, watch,
 * shutdown) and of the -Y handshake (proto/ascii_auth.h). One table in text.c
 * maps these to wire bytes.
 */
/* clang-format off */
#define TEXT_REPLIES(X)                                                   \
    X(END,               "END\r\n")                                        \
    X(RESET,             "RESET\r\n")                                      \
    X(SHUTDOWN_DISABLED, "ERROR: shutdown not enabled\r\n")                \
    X(SHUTDOWN_MODE,     "CLIENT_ERROR invalid shutdown mode\r\n")         \
    X(WATCH_DISABLED,    "CLIENT_ERROR watch commands not allowed\r\n")    \
    X(WATCHER_TOO_MANY,  "WATCHER_TOO_MANY log watcher limit reached\r\n") \
    X(DUMP_DISABLED,     "CLIENT_ERROR stats cachedump not allowed\r\n")   \
    X(BAD_LINE,          "CLIENT_ERROR bad command line\r\n")              \
    X(BAD_LINE_FORMAT,   "CLIENT_ERROR bad command line format\r\n")       \
    X(BAD_SLAB_ID,       "CLIENT_ERROR Illegal slab id\r\n")               \
    X(DETAIL_USAGE,      "CLIENT_ERROR usage: stats detail on|off|dump\r\n") \
    X(REASSIGN_DISABLED, "CLIENT_ERROR slab reassignment disabled\r\n")  \
    X(REASSIGN_BUSY,     "BUSY currently processing reassign request\r\n") \
    X(REASSIGN_BADCLASS, "BADCLASS invalid src or dst class id\r\n")     \
    X(REASSIGN_NOSPARE,  "NOSPARE source class has no spare pages\r\n")  \
    X(REASSIGN_SAME,     "SAME src and dst class are identical\r\n")     \
    X(MEMLIMIT_TOO_SMALL,                                                 \
      "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n")      \
    X(MEMLIMIT_NOT_BYTES,                                                 \
      "MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n")   \
    X(MEMLIMIT_FAILED,                                                    \
      "MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust\r\n")    \
    X(WATCH_PIPELINED,   "ERROR cannot pipeline other commands before watch\r\n") \
    X(DUMP_PIPELINED,    "ERROR cannot pipeline other commands before metadump\r\n") \
    X(METADUMP_DISABLED, "ERROR metadump not allowed\r\n")              \
    X(CRAWLER_DISABLED,  "CLIENT_ERROR lru crawler disabled\r\n")       \
    X(CRAWLER_NO_START,  "ERROR failed to start lru crawler thread\r\n") \
    X(CRAWLER_BADCLASS,  "BADCLASS invalid class id\r\n")               \
    X(CRAWLER_UNKNOWN,   "ERROR an unknown error happened\r\n")         \
    X(MGDUMP_END,        "EN\r\n")                                     \
    X(LRU_PCTS,          "ERROR hot and warm pcts must not exceed 80\r\n") \
    X(LRU_FACTORS,       "ERROR hot/warm age factors must be greater than 0\r\n") \
    X(TLS_DISABLED,      "Error TLS not enabled\r\n")                   \
    X(AUTH_REFUSED,      "CLIENT_ERROR unauthenticated\r\n")               \
    X(AUTH_BAD_END,      "CLIENT_ERROR bad command line termination\r\n")  \
    X(AUTH_BAD_FORMAT,   "CLIENT_ERROR bad authentication token format\r\n") \
    X(AUTH_FAILURE,      "CLIENT_ERROR authentication failure\r\n")        \
    X(AUTH_OK,           "STORED\r\n")
/* clang-format on */

enum text_reply {
#define TEXT_REPLY_ENUM(name, wire) TEXT_##name,
    TEXT_REPLIES(TEXT_REPLY_ENUM)
#undef TEXT_REPLY_ENUM
};

void text_compose_reply(struct outq *q, enum text_reply r);

/* The reply's wire bytes, CRLF included (for -vv logs). */
struct slice text_reply_line(enum text_reply r);

/* "CLIENT_ERROR <msg>\r\n": a parse error's message (req->error). */
void text_compose_client_error(struct outq *q, const char *msg);

/*
 * "VALUE <key> <flags> <nbytes>[ <cas>]\r\n<value>\r\n". The value is
 * queued by reference (nseg segments); the caller keeps it pinned until
 * the queue has sent it.
 */
void text_compose_value(struct outq *q, struct slice key, uint32_t flags,
                        size_t nbytes, const struct slice *segs, size_t nseg,
                        bool with_cas, uint64_t cas);

/*
 * "<line>\r\n": a line whose text another layer made (a failed
 * refresh_certs: OpenSSL's words).
 */
void text_compose_line(struct outq *q, const char *line);

/* A decimal number line: incr/decr results. */
void text_compose_number(struct outq *q, uint64_t n);

/* "STAT <name> <value>\r\n". */
void text_compose_stat(struct outq *q, const char *name, const char *value);

/* Length of "END\r\n", for replies bounded in bytes. */
#define TEXT_END_LEN 5

/*
 * stats cachedump's "ITEM <key> [<nbytes> b; <exptime> s]\r\n", exptime
 * an absolute Unix time or 0; _len is the line's length in bytes.
 */
size_t text_dump_item_len(struct slice key, size_t nbytes, int64_t exptime);
void text_compose_dump_item(struct outq *q, struct slice key, size_t nbytes,
                            int64_t exptime);

/*
 * "PREFIX <prefix> get <gets> hit <hits> set <sets> del <dels>\r\n": one
 * line of `stats detail dump` (at most prefix.len + 109 bytes).
 */
void text_compose_prefix(struct outq *q, struct slice prefix, uint64_t gets,
                         uint64_t hits, uint64_t sets, uint64_t dels);

/* "VERSION <version>\r\n". */
void text_compose_version(struct outq *q, const char *version);
