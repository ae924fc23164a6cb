/*
 * engine_internal - the engine's state and the rules shared by item.c,
 * lru.c and engine.c. Only engine/ (and its unit tests) include this.
 *
 * Locks, and the order they are taken in:
 *
 *   1. stripe lock (hashtable.h), chosen by the key's hash: guards hash
 *      chains, the LINKED bit, exptime, time, cas and (for an unpinned
 *      item) its value. Lookups, stores, deletes, incr/decr, touch.
 *   2. class lock (slab.h), one per slab class: guards the class's
 *      chunks, free list, pages and CLOCK hand. Never two at once.
 *   3. page lock (slab.h): the page pool and accounting, only inside a
 *      class lock.
 *
 * An evictor (the CLOCK hand or page stealing, lru.h) holds a class lock
 * and needs its victim's stripe: it only trylocks (and skips a busy
 * item), so the order above never inverts. What it takes may own chunks
 * in other classes (a chunked item's header, segments and last segment
 * live in up to three classes); freeing those would need a second class
 * lock, so such items go on a `struct reclaim` and are freed once the
 * evictor has dropped its class lock. A chunked item's header chunk is
 * always freed last, so whoever holds the lock of a class with one of
 * its segments may still read the header (the owner) safely.
 *
 * References: refcount counts one for being linked plus one per pin. Pins
 * are taken only under the stripe lock (by a lookup), so the evictor,
 * holding the stripe, sees refcount == 1 mean "nobody else can see it".
 * Whoever drops the count to 0 frees the chunks.
 *
 * The LINKED bit is set with release order once the item's header and
 * key are written, and the CLOCK hand reads it with acquire order: that
 * is what lets the hand read the key of a chunk it finds (to hash it)
 * without the stripe lock. The chunk cannot be freed under the hand,
 * which holds its class lock.
 */
#pragma once

#include "engine/engine.h"
#include "engine/hashtable.h"
#include "engine/lru.h"
#include "engine/slab.h"
#include "lib/hash.h"
#include "lib/slice.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct item;
struct lru_ghost;

/* Relative exptimes above this (30 days) are absolute Unix times. */
#define ENGINE_REALTIME_MAXDELTA (60L * 60 * 24 * 30)
/* `now` at start: process start is 62 s after the epoch, as in memcached. */
#define ENGINE_START_TIME        62

/*
 * Items an evictor took while holding class lock `held` whose chunks it
 * could not free under that lock; chained through h_next (they are
 * unlinked). item_reclaim_finish() frees them.
 */
struct reclaim {
    unsigned held;
    struct item *deferred;
};

/* Counters of one memcached class that belong to no cell (lru.h). */
struct engine_mc_class {
    _Atomic uint64_t outofmemory;       /* stores that found no memory */
    _Atomic uint32_t evicted_time;      /* idle seconds of the last evicted */
    _Atomic uint64_t crawler_reclaimed; /* dead items the crawler freed */
    _Atomic uint64_t crawler_items_checked; /* items crawls and dumps saw */
};

/*
 * The LRU crawler's state (crawler.c). `lock` guards the thread's life
 * and the requests; the knobs and counters are relaxed atomics.
 */
struct engine_crawler {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    bool thread_on;                   /* lock */
    bool stop;                        /* lock */
    bool asked[SLAB_MAX_CLASSES + 1]; /* lock: engine classes to crawl */
    uint32_t next_auto[SLAB_MAX_CLASSES + 1]; /* thread: next automatic crawl */
    uint32_t interval[SLAB_MAX_CLASSES + 1];  /* thread: seconds between them */
    uint32_t last_run[SLAB_MAX_CLASSES + 1];  /* thread: time of the last */
    _Atomic uint32_t sleep;
    _Atomic uint32_t tocrawl;
    _Atomic bool running;
    _Atomic uint64_t starts;
};

/*
 * The page mover (mover.c): the one move under way (slabs reassign,
 * automove, or emptying pages for a lowered memory limit) and its
 * counters. lock serialises moves; it is taken before any class lock and
 * never held while waiting for anything but class locks.
 */
struct mover {
    pthread_mutex_t lock;
    unsigned src;           /* engine class emptying page; 0 = no move */
    struct slab_page *page; /* the page being emptied */
    unsigned dst;           /* engine class to get it; 0 = the pool */
    unsigned ticks;         /* engine_mover_tick calls spent on it */
    _Atomic bool running;
    _Atomic unsigned automove;   /* 0, 1 or 2 */
    _Atomic uint64_t ratio_bits; /* the automove ratio, a double's bits */
    _Atomic uint64_t rescues;
    _Atomic uint64_t evictions_nomem;
    _Atomic uint64_t inline_reclaim;
    _Atomic uint64_t busy_items;
    _Atomic uint64_t busy_deletes;
};

/* The mover's counters into engine_stats (mover.c). */
void engine_mover_stats(struct engine *e, struct engine_stats *out);

/* Sets up and tears down e->mover (mover.c). */
void mover_init(struct engine *e);
void mover_deinit(struct engine *e);

/* The memcached class engine class f's pages are shown in (stats slabs). */
unsigned engine_pages_class(const struct engine *e, unsigned f);

struct engine {
    struct lru lru[SLAB_MAX_CLASSES + 1]; /* [id]: hand under class id */
    struct slab slab;
    struct hashtable ht;
    struct engine_config cfg;

    /*
     * Per-class statistics in memcached's class ids (lru.h, engine.h):
     * cells[lru[id].cell0 + mc - lru[id].mc_lo], and mc_of[(msize + 7) / 8]
     * is the memcached class of a memcached item size up to the largest
     * class's (larger ones are in the largest). Fixed after create.
     */
    struct lru_cell *cells;
    unsigned ncells;
    uint8_t *mc_of;
    size_t nmc_of;
    struct engine_mc_class mc[ENGINE_MAX_CLASS_ID + 1];
    _Atomic uint64_t moved_base; /* slabs_moved at the last stats reset */
    struct mover mover;
    struct engine_crawler crawler;

    /*
     * stats sizes: while sizes_on, items whose CAS is at least
     * sizes_cas_min are counted in sizes_hist[ceil(msize / 32)]
     * (sizes_nbuckets = item_size_max / 32 + 1). The array is allocated at
     * the first enable and kept until destroy; sizes_lock serialises
     * enable and disable.
     */
    _Atomic bool sizes_on;
    _Atomic uint64_t sizes_cas_min;
    _Atomic uint32_t *sizes_hist;
    size_t sizes_nbuckets;
    pthread_mutex_t sizes_lock;

    /*
     * Eviction policy settings (engine_lru_tune, lru.h), each read
     * relaxed by the evictor and by links; juggles counts the policy's
     * moves and takes (lru_maintainer_juggles).
     */
    _Atomic bool lru_segmented;
    _Atomic uint32_t lru_hot_pct;
    _Atomic uint32_t lru_warm_pct;
    _Atomic double lru_hot_factor;
    _Atomic double lru_warm_factor;
    _Atomic bool lru_temp;
    _Atomic uint32_t lru_temp_ttl;
    _Atomic uint64_t lru_juggles;
    _Atomic(struct lru_ghost *) lru_ghost; /* lru.h; made at 1st eviction */

    _Atomic uint64_t cas_last;   /* last CAS unique handed out */
    _Atomic uint32_t now;        /* rel_time: seconds since the epoch */
    _Atomic uint32_t rebalanced; /* when lru_rebalance last looked */
    _Atomic int64_t debug_offset;
    int64_t mono_start; /* CLOCK_MONOTONIC seconds when now was 62 */
    int64_t epoch_unix; /* Unix time when now was 0 */

    /*
     * flush_all state (docs/COMPAT.md#flushing). An item is flushed if its
     * cas < flush_cas, or if flush_time != 0, flush_time <= now and its
     * time <= flush_time. Written under flush_lock, read relaxed.
     */
    pthread_mutex_t flush_lock;
    _Atomic uint32_t flush_time;
    _Atomic uint64_t flush_cas;
};

/*
 * Moves the engine clock forward by `seconds` (tests only). Unit tests
 * never call engine_tick(), so their clock moves only through this.
 */
void engine_debug_advance(struct engine *e, uint32_t seconds);

/*
 * dump.c: the linked item whose header is chunk i of page p of class id
 * (for the largest class: the chunked item whose first segment is that
 * chunk), or NULL. Needs class id's lock.
 */
struct item *dump_item_at(const struct engine *e, unsigned id,
                          const struct slab_page *p, uint32_t i);

/*
 * crawler.c: sets up e->crawler (first thing in engine_create; the
 * thread starts last) and stops and tears it down (first in destroy).
 */
void crawler_init(struct engine *e);
void crawler_deinit(struct engine *e);

/* memcached's class id of a memcached item size (engine_item_class). */
static inline unsigned
engine_msize_class(const struct engine *e, size_t msize)
{
    size_t i = (msize + 7) / 8;
    return i < e->nmc_of ? e->mc_of[i] : e->slab.mc_nclasses;
}

/* Counts a link (+1) or unlink (-1) in the sizes histogram if it is on. */
void engine_sizes_count(struct engine *e, const struct item *it, int delta);

/* A store of memcached size msize found no memory (outofmemory). */
void engine_count_oom(struct engine *e, size_t msize);

static inline uint64_t
engine_hash(struct slice key)
{
    return hash_bytes(key.ptr, key.len);
}

static inline uint32_t
engine_clock(const struct engine *e)
{
    return atomic_load_explicit(&e->now, memory_order_relaxed);
}

/* A new CAS unique, or 0 with CAS disabled. */
uint64_t engine_next_cas(struct engine *e);

/* True if flush_all has made the item invisible. */
bool engine_item_flushed(const struct engine *e, const struct item *it,
                         uint32_t now);

/*
 * Takes a linked item out of the hash table and its class's counts and
 * drops the link reference. The caller holds its stripe lock (hv); `r`
 * is NULL unless the caller also holds a class lock (an evictor).
 */
void engine_unlink_locked(struct engine *e, struct item *it, uint64_t hv,
                          struct reclaim *r);

/*
 * A crawl or a dump looked at a linked item of memcached size msize
 * (crawler_items_checked).
 */
static inline void
engine_crawler_checked(struct engine *e, size_t msize)
{
    atomic_fetch_add_explicit(
        &e->mc[engine_msize_class(e, msize)].crawler_items_checked, 1,
        memory_order_relaxed);
}
