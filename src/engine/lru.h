/*
 * lru - one recency list per slab class, and the eviction policy that
 * walks it. Owns no memory: items are linked through their prev/next
 * fields. New and replaced items go to the head; eviction looks at the
 * tail.
 *
 * Reads never touch the list: they set ITEM_ACTIVE (a relaxed atomic
 * bit). At eviction time an active tail item gets a second chance, CLOCK
 * style: its bit is cleared and it moves to the head. So the list order
 * is "last stored or last given a second chance", and an item read at
 * least once per trip around the list is never evicted.
 *
 * Threads: the list of class i is guarded by slab class i's lock; every
 * function needs it held (hence _locked). The per-class counters below are
 * written only under that lock and read with relaxed loads (stats).
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct engine;
struct item;

struct lru {
    _Alignas(64) struct item *head; /* most recent */
    struct item *tail;              /* next to evict */
    _Atomic uint64_t curr_items;
    _Atomic uint64_t bytes; /* memcached-equivalent item sizes */
    _Atomic uint64_t total_items;
    _Atomic uint64_t evictions;
    _Atomic uint64_t evicted_unfetched;
    _Atomic uint64_t reclaimed;
    _Atomic uint64_t expired_unfetched;
};

/* Adds a counter under the lock that guards it (no atomic RMW needed). */
static inline void
lru_stat_add(_Atomic uint64_t *c, uint64_t delta)
{
    uint64_t v = atomic_load_explicit(c, memory_order_relaxed);
    atomic_store_explicit(c, v + delta, memory_order_relaxed);
}

static inline uint64_t
lru_stat(const _Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

/*
 * Puts a newly linked item at the head and counts it; new_item also counts
 * it in total_items (false for a stand-in of an in-place rewrite).
 */
void lru_link_locked(struct lru *l, struct item *it, bool new_item);
/* Takes a linked item off the list and uncounts it. */
void lru_unlink_locked(struct lru *l, struct item *it);

/*
 * Frees at least one chunk's worth of memory in class `id` by taking one
 * item off that class's LRU: first an expired or flushed item among the
 * few at the tail (counted as reclaimed), otherwise (if evictions are on)
 * the tail-most item that is neither pinned, locked nor active (counted
 * as an eviction). Active items met on the way get their second chance.
 * Returns false if nothing could be freed.
 */
bool lru_evict_locked(struct engine *e, unsigned id);
