/*
 * lru - eviction: a CLOCK hand per slab class, page stealing between
 * classes, and the per-class item counters. Owns no memory and keeps no
 * list: the "ring" the hand walks is the class's chunks, page by page in
 * the order the class got its pages (slab.h), so an item costs no link
 * fields at all.
 *
 * Segmented mode (the default; docs/ENGINE.md#eviction): a new item
 * starts on probation (SEG_HOT), in a per-class FIFO ring of pointers.
 * While probation holds more than hot_pct of the class, its oldest item
 * is judged first: read (ITEM_ACTIVE) -> WARM, unread -> evicted (quick
 * demotion). Otherwise the hand below walks the main area: WARM read ->
 * stays WARM, WARM unread -> COLD, COLD read -> WARM, COLD unread ->
 * evicted; TEMP items are only reclaimed when dead. Flat mode (`lru mode
 * flat`, -o no_lru_maintainer) is the plain CLOCK below.
 *
 * Reads never take a lock here: they set ITEM_ACTIVE (a relaxed atomic
 * bit). When a class is full the flat hand moves chunk by chunk:
 *
 *   free chunk, an item being created or pinned, a busy stripe -> skip
 *   expired or flushed                 -> reclaim (reclaimed, and
 *                                         expired_unfetched if never read)
 *   ITEM_ACTIVE set                    -> clear it, move on (second chance)
 *   otherwise                          -> evict (evictions,
 *                                         evicted_unfetched if never read)
 *
 * A chunk freed by the hand is reused at once (the free list is LIFO),
 * so a new item lands just behind the hand and gets a whole turn before
 * it is looked at. Before evicting, the next few chunks ahead of the hand
 * are searched for a dead item, as memcached searches its LRU tail, so
 * expired memory goes first. With evictions off (-M) only dead items are
 * taken. Chunked items (and their segments) are evicted only by the
 * largest class's hand, as if they lived there; the other classes skip
 * their headers and last segments.
 *
 * Page stealing: when memory is at its limit and a class must grow (it
 * owns no page, or its hand found nothing to free), lru_steal_page()
 * empties one page of the class that has the most pages (at least two),
 * starting with the page under that class's hand (the coldest in CLOCK
 * order) and skipping pages with pinned or half-made items, then hands
 * the page over through the slab's pool. So item memory never exceeds
 * the limit; see item.c for the one exception (a class that owns no page
 * when nothing can be stolen).
 *
 * Rebalancing: a class that keeps evicting while another holds much
 * older items should get some of that class's memory, or pages stay
 * where an old workload left them. A class's age is how long its items
 * live before the hand evicts them: the age (now - last store) of the
 * last item it evicted, plus the time since that eviction; for a class
 * that never evicted, the time since its first item. With automove 1 (the
 * default), at most once a second, a class that has just evicted
 * compares its age with the oldest class that has two pages or more, and
 * if that one's age x the automove ratio (0.8) is over its own age plus
 * LRU_REBALANCE_SLACK seconds, one of its pages is stolen for the pool,
 * as memcached's slab automover does once a second. Automove 2 steals a
 * page on every eviction that finds the pool empty; automove 0 (or
 * -o no_slab_reassign) never rebalances. mover.c has these and the
 * page mover (slabs reassign, cache_memlimit).
 *
 * Threads: the hand of class i is guarded by slab class i's lock.
 * Counters are relaxed atomics (stores only link under a stripe lock).
 *
 * Counters: every linked item is counted in one struct lru_cell, by its
 * class here and the memcached class of its memcached size, so that
 * per-class statistics speak memcached's class ids (engine.h) while the
 * CLOCK and rebalancing still see their own classes.
 */
#pragma once

#include "engine/engine.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct engine;
struct item;
struct reclaim;
struct slab_page;

/*
 * Item counters of one (class, memcached class) pair: the items of
 * class id whose memcached size (item_msize) falls in one memcached
 * class. A class's items fall in a short run of memcached classes (the
 * fine table is finer than memcached's, and our items are smaller than
 * memcached's), so each class owns one cell per memcached class of its
 * run (lru.mc_lo..mc_hi). A store touches only its own cell, as it
 * touched its own class's counters before: no extra atomic, no shared
 * line; `stats items` and `stats` sum cells (docs/ENGINE.md#class-ids).
 */
struct lru_cell {
    _Alignas(64) _Atomic uint64_t number; /* linked items */
    _Atomic uint64_t bytes;               /* their memcached sizes */
    _Atomic uint64_t total_items;         /* stores linked (stats reset) */
    _Atomic uint64_t evicted;
    _Atomic uint64_t evicted_nonzero; /* evicted with an expiry set */
    _Atomic uint64_t evicted_unfetched;
    _Atomic uint64_t reclaimed;
    _Atomic uint64_t expired_unfetched;
    /* items per segment (item.h enum item_seg), COLD's unused: the rest */
    _Atomic uint64_t nseg[4];
    _Atomic uint64_t moves_to_cold;    /* HOT or WARM -> COLD */
    _Atomic uint64_t moves_to_warm;    /* HOT or COLD -> WARM (read) */
    _Atomic uint64_t moves_within_lru; /* WARM read, kept WARM */
    _Atomic uint64_t evicted_active;   /* evicted although read */
    _Atomic uint64_t direct_reclaims;  /* evicted or reclaimed by a store */
};

struct lru {
    _Alignas(64) uint32_t hand_page; /* index into the class's pages */
    uint32_t hand_chunk;             /* next chunk the hand looks at */
    uint32_t cell0;                  /* this class's first cell */
    uint8_t mc_lo;                   /* memcached classes its items fall */
    uint8_t mc_hi;                   /* in: cells cell0 .. + hi - lo */
    uint8_t mc_pages;                /* the one its pages are shown in */
    _Atomic uint32_t since;          /* time of the first item ever linked */
    _Atomic uint32_t evict_age;      /* age of the last item evicted */
    _Atomic uint32_t evict_when;     /* time of that eviction; 0 = never */
    /*
     * The probation FIFO (SEG_HOT items, oldest at ring_head), allocated
     * at the class's first segmented eviction; class lock. ring_cap is
     * its size (0 before), a quarter over probation's share.
     */
    struct item **ring;
    uint32_t ring_cap;
    uint32_t ring_head;
    uint32_t ring_count;
};

static inline void
lru_stat_add(_Atomic uint64_t *c, uint64_t delta)
{
    atomic_fetch_add_explicit(c, delta, memory_order_relaxed);
}

static inline uint64_t
lru_stat(const _Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

/*
 * Builds the cells and the memcached-class lookup (engine.c's
 * engine_msize_class) once the slab's tables exist. False when out of
 * memory.
 */
bool lru_init_cells(struct engine *e);
void lru_deinit_cells(struct engine *e);

/* The cell counting a linked item. */
struct lru_cell *lru_cell_of(const struct engine *e, const struct item *it);

/* Items linked in class id (all its cells). */
uint64_t lru_class_items(const struct engine *e, unsigned id);

/*
 * Counts a newly linked item; new_item also counts it in total_items
 * (false for a stand-in of an in-place rewrite). The item's CAS must be
 * set (stats sizes compares it).
 */
void lru_count_link(struct engine *e, const struct item *it, bool new_item);
/*
 * Uncounts an item being unlinked (under its stripe lock); its segment
 * becomes COLD, so a probation entry left for it is known stale.
 */
void lru_count_unlink(struct engine *e, struct item *it);

/*
 * A chunk of class id was just handed out for an item header (class
 * lock held): sets its segment word, HOT and queued on probation when
 * the class's segmented eviction has started, else COLD.
 */
void lru_claim_header_locked(struct engine *e, unsigned id, struct item *it);

/*
 * The segment of a new, unlinked item once its header is written:
 * chunked items start COLD (no probation), short-TTL items TEMP with
 * -o temporary_ttl (exptime is a rel_time).
 */
void lru_place_new(struct engine *e, struct item *it, uint32_t exptime);

/*
 * Ghost of recently demoted keys: fingerprints of the keys probation
 * evicted unread, in a direct-mapped table of one 16-bit tag per slot
 * (a power of two slots, about as many as items fit in memory), made at
 * the first segmented eviction. A new item whose key is there skips
 * probation (it came back soon after losing its place, so it is worth a
 * turn in the main area), as S3-FIFO's ghost queue does. Relaxed
 * atomics, no lock; a collision only misjudges one item.
 */
struct lru_ghost {
    uint64_t mask;
    _Atomic uint16_t tags[];
};

/* Frees the probation rings and the ghost (engine_destroy). */
void lru_deinit_rings(struct engine *e);

/*
 * Seconds since the last store of the oldest item of memcached class mc
 * in class id's segment seg (HOT: the probation head; others: the first
 * such item ahead of the hand; segs = bit mask of enum item_seg values),
 * or 0 when none is found within a bounded look. Takes the class lock.
 */
uint32_t lru_seg_age(struct engine *e, unsigned id, unsigned mc, unsigned segs);

/* Chunks handed out (in use) in class id's pages. Takes the class lock. */
uint64_t lru_used_chunks(struct engine *e, unsigned id);

/* engine_cachedump (engine.h) for memcached class mc. */
void lru_dump(struct engine *e, unsigned mc, unsigned limit, engine_dump_fn fn,
              void *ctx);

enum lru_result {
    LRU_NONE = 0, /* nothing could be taken */
    LRU_FREED,    /* a chunk of the class is free now */
    LRU_DEFERRED, /* an item was taken; r frees its chunks after unlock */
};

/*
 * Moves class id's hand until it has taken one item (see above). Holds
 * the class lock; r->held must be id.
 */
enum lru_result lru_evict_locked(struct engine *e, unsigned id,
                                 struct reclaim *r);

/*
 * Empties one page of another class into the pool for class id. Returns
 * true if the pool has a page now. Call with no class lock held.
 */
bool lru_steal_page(struct engine *e, unsigned id);

/*
 * Called after class id evicted to make room: the automover (see above;
 * nothing with automove 0). Call with no class lock held.
 */
void lru_rebalance(struct engine *e, unsigned id);

/*
 * ---- the hand's primitives, shared with mover.c (page stealing), dump.c
 * (stats cachedump) and any other walker of a class's chunks. All take
 * or need class id's lock (slab_lock), except where noted.
 */

/* How lru_take() may take an item. */
#define TAKE_DEAD_ONLY  0x1u /* only expired or flushed items */
#define TAKE_FORCE      0x2u /* no second chance */
#define TAKE_NO_CHUNKED 0x4u /* leave chunked items to the largest class */
#define TAKE_CRAWLER    0x8u /* the crawler: counted in crawler_reclaimed */

enum lru_take {
    TAKE_NO = 0, /* skipped: pinned, busy, not linked, live with -M */
    TAKE_CHANCE, /* active: bit cleared, left alone */
    TAKE_DEAD,   /* reclaimed */
    TAKE_LIVE,   /* evicted */
};

/* What a chunk holds, as the class lock holder sees it. */
enum chunk_kind {
    CHUNK_FREE = 0,
    CHUNK_HEADER, /* an item header (maybe not linked yet, or anymore) */
    CHUNK_DATA,   /* value bytes of a chunked item (its owner) */
};

/* A position of the hand: page index and chunk index. */
struct lru_cursor {
    uint32_t page;
    uint32_t chunk;
};

/*
 * Chunk i of page p of class id, and in *out the item to take to free
 * it: the chunk itself if it is a header, or the owner of a data chunk
 * (whose header is freed only after all its data chunks, see
 * engine_internal.h, so it is safe to read while we hold this chunk's
 * class lock).
 */
enum chunk_kind lru_chunk_item(const struct engine *e, unsigned id,
                               const struct slab_page *p, uint32_t i,
                               struct item **out);

/*
 * Looks at a linked item without its stripe lock, then, if it may be
 * taken, trylocks the stripe and judges it there. With `act`, a second
 * chance is given (the item's bit cleared) and a take unlinks the item
 * (freeing its chunks, or queueing them on r) and counts it. Returns
 * what taking it was (or would be).
 */
enum lru_take lru_take(struct engine *e, struct item *it, unsigned how,
                       bool act, struct reclaim *r);

/* The chunk at *c, moving *c past it; false if no chunk is cut yet. */
bool lru_cursor_next(const struct engine *e, unsigned id, struct lru_cursor *c,
                     struct slab_page **pp, uint32_t *ip);

/*
 * The item the hand of class id may take for chunk i of p, or NULL: a
 * chunked item only at the first chunk of each run of its chunks.
 */
struct item *lru_hand_item(const struct engine *e, unsigned id,
                           const struct slab_page *p, uint32_t i);
