/*
 * logger - the producer side of `watch` (memcached's live log stream).
 * Owns one log ring per worker (lib/logbuf.h: each worker is its ring's
 * only producer) plus one shared ring, guarded by a mutex, for events that
 * do not come from a worker's request path (evictions, reported by the
 * engine from whichever thread evicted).
 *
 * Every producer first checks logger_wants(): one relaxed atomic load of
 * the mask of types some watcher asked for. With no watcher nothing is
 * formatted. The watch thread (net/watch.c) is the rings' only consumer;
 * it sets the mask as watchers come and go.
 *
 * Lines are memcached 1.6.18's (doc/protocol.txt, "Watchers"), '\n'
 * terminated: "ts=<sec>.<usec> gid=<n> type=<...> ...".
 */
#pragma once

#include "lib/logbuf.h"
#include "lib/slice.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct engine_evicted;
struct engine_crawled;

/* clang-format off */
/*      name           bit  (memcached 1.6.18's watch types) */
#define LOGGER_TYPES(X)      \
    X(fetchers,        0)    \
    X(mutations,       1)    \
    X(evictions,       2)    \
    X(connevents,      3)    \
    X(sysevents,       4)    \
    X(rawcmds,         5)    \
    X(proxyreqs,       6)    \
    X(proxyevents,     7)    \
    X(proxyuser,       8)
/* clang-format on */

enum logger_type {
#define LOGGER_TYPE_ENUM(name, bit) LOG_##name = 1u << (bit),
    LOGGER_TYPES(LOGGER_TYPE_ENUM)
#undef LOGGER_TYPE_ENUM
};

/* memcached's limit on concurrent watchers. */
#define LOGGER_MAX_WATCHERS 20

struct logger {
    _Atomic unsigned mask;      /* types at least one watcher wants */
    _Atomic unsigned nwatchers; /* taken by `watch`, given back by net */
    _Atomic uint64_t gid;       /* the last entry's global id */
    /* Written by the watch thread only. */
    _Atomic uint64_t watcher_sent;    /* entries given to a watcher */
    _Atomic uint64_t watcher_skipped; /* entries a full watcher lost */
    size_t nrings;                    /* workers + 1; the last is shared */
    struct logbuf *rings;
    pthread_mutex_t shared_lock; /* producers of the shared ring */
};

/* nworkers rings of ring_bytes each, plus the shared one. */
struct logger *logger_create(size_t nworkers, size_t ring_bytes);
void logger_destroy(struct logger *lg);

static inline bool
logger_wants(struct logger *lg, unsigned types)
{
    return lg != NULL &&
           (atomic_load_explicit(&lg->mask, memory_order_relaxed) & types) != 0;
}

/* memcached's log_* counters in `stats`. */
struct logger_totals {
    uint64_t worker_dropped; /* entries a full ring refused */
    uint64_t worker_written; /* entries the rings took */
    uint64_t watcher_skipped;
    uint64_t watcher_sent;
    uint64_t watchers;
};

/* Sums the counters; all zero for a NULL logger (-W). */
void logger_totals(struct logger *lg, struct logger_totals *out);

/* The type bit for a watch argument, 0 if it names none. */
unsigned logger_type_named(struct slice name);

/*
 * Producers on worker `ring`'s request path. status and cmd are memcached's
 * words ("found", "stored", "set"...); fd is the client's socket.
 */
void logger_item_get(struct logger *lg, size_t ring, struct slice key,
                     const char *status, unsigned cls, int fd, size_t nbytes);
void logger_item_store(struct logger *lg, size_t ring, struct slice key,
                       const char *status, const char *cmd, uint32_t ttl,
                       unsigned cls, int fd, size_t nbytes);
/* conn_new when reason is NULL, else conn_close. */
void logger_conn_event(struct logger *lg, size_t ring, const char *rip,
                       int rport, const char *transport, const char *reason,
                       int fd);

/* An engine_evict_fn: ctx is the logger. Writes to the shared ring. */
void logger_on_evict(void *ctx, const struct engine_evicted *ev);

/* An engine_move_fn (an automove decision): "type=slab_move src= dst=". */
void logger_on_slab_move(void *ctx, unsigned src, unsigned dst);
/*
 * An engine_crawl_fn: ctx is the logger. memcached's sysevents line for a
 * class an automatic crawl has done; writes to the shared ring.
 */
void logger_on_crawl(void *ctx, const struct engine_crawled *c);
