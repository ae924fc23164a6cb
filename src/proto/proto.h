/*
 * proto - what every wire protocol shares: the parsed request and the
 * parse status. Parsers are pure functions over a byte range: no I/O, no
 * allocation, no hidden state. A request borrows slices of the input; they
 * stay valid until the caller consumes those bytes.
 *
 * proto/ never includes an engine/ header: cmd/ turns a request into
 * engine calls and engine results into compose calls.
 */
#pragma once

#include "lib/slice.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum parse_status {
    PARSE_OK = 0,
    PARSE_AGAIN,        /* incomplete; nothing consumed, call again later */
    PARSE_ERROR,        /* reply "ERROR"; *used covers the bad line */
    PARSE_CLIENT_ERROR, /* reply "CLIENT_ERROR <req->error>" */
    PARSE_CLOSE,        /* close the connection without a reply */
};

/* clang-format off */
/*      verb           wire name    */
#define PROTO_VERBS(X)                \
    X(GET,            "get")          \
    X(GETS,           "gets")         \
    X(GAT,            "gat")          \
    X(GATS,           "gats")         \
    X(SET,            "set")          \
    X(ADD,            "add")          \
    X(REPLACE,        "replace")      \
    X(APPEND,         "append")       \
    X(PREPEND,        "prepend")      \
    X(CAS,            "cas")          \
    X(DELETE,         "delete")       \
    X(INCR,           "incr")         \
    X(DECR,           "decr")         \
    X(TOUCH,          "touch")        \
    X(FLUSH_ALL,      "flush_all")    \
    X(VERSION,        "version")      \
    X(VERBOSITY,      "verbosity")    \
    X(QUIT,           "quit")         \
    X(STATS,          "stats")        \
    X(SHUTDOWN,       "shutdown")       \
    X(WATCH,          "watch")        \
    X(SLABS_REASSIGN, "slabs")        \
    X(SLABS_AUTOMOVE, "slabs")        \
    X(SLABS_RATIO,    "slabs")        \
    X(CACHE_MEMLIMIT, "cache_memlimit") \
    X(LRU_CRAWLER,    "lru_crawler")  \
    X(LRU,            "lru")          \
    X(REFRESH_CERTS,  "refresh_certs")
/* clang-format on */

/* lru_crawler's sub-commands. */
enum crawler_sub {
    CRAWLER_NONE = 0,
    CRAWLER_ENABLE,
    CRAWLER_DISABLE,
    CRAWLER_SLEEP,
    CRAWLER_TOCRAWL,
    CRAWLER_CRAWL,
    CRAWLER_METADUMP,
    CRAWLER_MGDUMP,
};

enum verb {
    VERB_NONE = 0,
#define PROTO_VERB_ENUM(name, wire) VERB_##name,
    PROTO_VERBS(PROTO_VERB_ENUM)
#undef PROTO_VERB_ENUM
};

/*
 * One parsed command. Which fields are meaningful depends on the verb:
 *
 *   get/gets/bget      keys
 *   gat/gats           exptime, keys
 *   set/add/replace/
 *   append/prepend     key, flags, exptime, nbytes, noreply
 *   cas                ... and cas
 *   delete             key, noreply
 *   incr/decr          key, delta, noreply
 *   touch              key, exptime, noreply
 *   flush_all          exptime (the delay; 0 when absent), noreply
 *   verbosity          level, noreply
 *   stats              args (the rest of the line after "stats", trimmed)
 *   shutdown           args
 *   watch              args, noreply (the last token was "noreply")
 *   slabs reassign     src, dst (memcached class ids, -1 and 0 included)
 *   slabs automove     level (0..2; anything else is ERROR), noreply
 *   slabs automove ratio  ratio, noreply
 *   cache_memlimit     delta (megabytes; UINT64_MAX: not a number), noreply
 *   lru_crawler        sub; sleep/tocrawl: level (the value, cut to 32
 *                      bits as memcached does); crawl/metadump/mgdump:
 *                      args (the class list, proto/keydump.h parses it)
 *   lru                args (text_parse_lru reads them), noreply
 *
 * For a storage verb the data block (nbytes + 2 bytes) follows the line
 * and is NOT consumed by the parser: *used covers the command line only.
 */
struct request {
    enum verb verb;
    bool noreply;
    struct slice key;
    struct slice keys; /* get family: raw key list; see text_next_key() */
    uint32_t flags;
    int64_t exptime; /* already truncated to signed 32 bits */
    uint32_t nbytes;
    uint64_t cas;
    uint64_t delta;
    uint32_t level;
    struct slice args;
    int32_t src; /* slabs reassign */
    int32_t dst;
    double ratio;         /* slabs automove ratio */
    enum crawler_sub sub; /* lru_crawler */
    const char *error;    /* PARSE_CLIENT_ERROR: text after "CLIENT_ERROR " */
};
