/*
 * keydump - the lines of `lru_crawler metadump` and `lru_crawler mgdump`,
 * and the parsing of their class lists. Pure functions over bytes: no
 * allocation, no engine.
 *
 * metadump (memcached 1.6.18), one line per item, '\n' only:
 *   key=<uri key> exp=<unix or -1> la=<unix> cas=<n> fetch=<yes|no>
 *   cls=<id> size=<bytes>
 * then "END\r\n". The key is URI-encoded: bytes other than A-Z a-z 0-9
 * and - . _ ~ become %XX (upper-case hex).
 *
 * mgdump (memcached 1.6.19 and later): "mg <key>\r\n", or for a key
 * stored in binary (meta's b flag) "mg <base64 key> b\r\n", then
 * "EN\r\n".
 */
#pragma once

#include "lib/slice.h"

struct outq;

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a metadump line says of an item. */
struct dump_meta {
    struct slice key;
    int64_t exp; /* absolute Unix time, -1 without expiry */
    int64_t la;  /* absolute Unix time of the last access */
    uint64_t cas;
    bool fetched;
    unsigned cls;
    size_t size;
};

/* The longest metadump line: a 250-byte key fully encoded, plus fields. */
#define DUMP_META_LINE_MAX (3 * 250 + 160)
/* The longest mgdump line: "mg ", a 250-byte key in base64, " b\r\n". */
#define DUMP_MG_LINE_MAX   (3 + 336 + 4)

/* Writes key URI-encoded into out (3 * key.len bytes at most). */
size_t dump_uri_encode(char *out, struct slice key);

/* Writes the item's metadump line into out (DUMP_META_LINE_MAX bytes). */
size_t dump_meta_line(char *out, const struct dump_meta *m);

/*
 * Writes the item's mgdump line into out (DUMP_MG_LINE_MAX bytes); a
 * binary key is base64-encoded and flagged " b".
 */
size_t dump_mg_line(char *out, struct slice key, bool binary_key);

/* The same lines queued on q (nothing on allocation failure: q->oom). */
void dump_compose_meta(struct outq *q, const struct dump_meta *m);
void dump_compose_mg(struct outq *q, struct slice key, bool binary_key);

/* What an `lru_crawler crawl|metadump|mgdump` class argument names. */
enum dump_ids {
    DUMP_IDS_LIST = 0, /* the classes set in *classes */
    DUMP_IDS_ALL,      /* "all": every class (*classes all set) */
    DUMP_IDS_HASH,     /* "hash": the hash table's order */
    DUMP_IDS_BAD,      /* an id outside 1..63, or not a number */
};

/*
 * Parses "all", "hash" or a comma list of class ids 1..63 (empty items
 * skipped, as memcached does) into *classes (bit i for class i).
 */
enum dump_ids dump_parse_ids(struct slice arg, uint64_t *classes);
