/*
 * detail - `stats detail on|off|dump`: per key prefix counts of gets,
 * hits, sets and deletes (memcached's "detail stats"). A key's prefix is
 * what precedes the first delimiter in it (-D, ':' by default); a key
 * without the delimiter is not counted. Which commands count is listed in
 * docs/COMPAT.md#stats-detail: the text get family per key, the text
 * storage commands, text delete; no meta command, incr, decr or touch.
 *
 * Owns the prefix table. It is bounded (CMD_DETAIL_PREFIXES_MAX distinct
 * prefixes; memcached's grows without limit): once full, keys of new
 * prefixes are not counted, only tallied in cmd_detail_dropped(). Any
 * thread may call any function but create and destroy: one mutex guards
 * the table, as one lock guards memcached's. Detail is off by default,
 * and while it is off the hot path pays only the relaxed load of
 * cmd_server.detail_on in cmd_detail_count().
 *
 * Created by main once -D is known and kept in cmd_server.detail; the
 * workers record through cmd_detail_count() (cmd.c); `stats detail` is
 * cmd_detail_run(), `stats reset` calls cmd_detail_reset().
 */
#pragma once

#include "cmd/cmd.h"
#include "lib/slice.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Distinct prefixes kept; see docs/COMPAT.md#stats-detail. */
#define CMD_DETAIL_PREFIXES_MAX 1024

/*
 * The longest dump line: a key has at most 250 bytes, one of them the
 * delimiter, so a prefix has at most 249; four counters of at most 20
 * digits. The whole dump is at most CMD_DETAIL_PREFIXES_MAX of these
 * plus "END\r\n" (366,597 bytes).
 */
#define CMD_DETAIL_PREFIX_MAX 249
#define CMD_DETAIL_LINE_MAX                                                  \
    (sizeof("PREFIX  get  hit  set  del \r\n") - 1 + CMD_DETAIL_PREFIX_MAX + \
     (size_t)4 * 20)

/* What one command did to one key. */
enum cmd_detail_op {
    CMD_DETAIL_GET = 0, /* a get-family key that missed: get + 1 */
    CMD_DETAIL_HIT,     /* a get-family key that hit: get + 1, hit + 1 */
    CMD_DETAIL_SET,     /* a storage command, whatever its outcome */
    CMD_DETAIL_DEL,     /* a delete, whatever its outcome */
};

/* One prefix's counts, as a dump reports them. */
struct cmd_detail_line {
    struct slice prefix; /* borrowed from the table: valid during the call */
    uint64_t gets;
    uint64_t hits;
    uint64_t sets;
    uint64_t dels;
};

typedef void (*cmd_detail_fn)(void *ctx, const struct cmd_detail_line *l);

/*
 * An empty table for keys whose prefix ends at `delimiter` (the first
 * byte of -D, as memcached uses only that). NULL when out of memory.
 */
struct cmd_detail *cmd_detail_create(char delimiter);

/* Frees the table; accepts NULL. No thread may be recording. */
void cmd_detail_destroy(struct cmd_detail *d);

/*
 * Counts op for key's prefix (see the file comment for which keys have
 * one); any thread. Does nothing when d is NULL.
 */
void cmd_detail_record(struct cmd_detail *d, struct slice key,
                       enum cmd_detail_op op);

/* The hook at each counting point: costs a relaxed load while off. */
static inline void
cmd_detail_count(struct cmd_server *srv, struct slice key,
                 enum cmd_detail_op op)
{
    if (atomic_load_explicit(&srv->detail_on, memory_order_relaxed)) {
        cmd_detail_record(srv->detail, key, op);
    }
}

/*
 * Calls fn once per prefix, in memcached's order (see detail.c), with the
 * table locked: fn must not call into the table. Returns how many
 * prefixes it reported. Whether detail is on does not matter: counts
 * collected earlier stay until reset. d may be NULL (nothing to report).
 */
size_t cmd_detail_dump(struct cmd_detail *d, cmd_detail_fn fn, void *ctx);

/* Forgets every prefix (`stats reset`); d may be NULL. */
void cmd_detail_reset(struct cmd_detail *d);

/*
 * Records not counted because the table was full, since start or reset;
 * memoria's own figure (memcached has none), for /metrics.
 */
uint64_t cmd_detail_dropped(struct cmd_detail *d);

/*
 * `stats detail <rest>`: rest is the line after "detail", whose first
 * token only matters (further tokens are ignored, as memcached does):
 * "on" and "off" set c->srv->detail_on and answer OK; "dump" answers one
 * PREFIX line per prefix then END; anything else, or nothing, answers
 * CLIENT_ERROR usage: stats detail on|off|dump.
 */
void cmd_detail_run(struct cmd_ctx *c, struct slice rest);
