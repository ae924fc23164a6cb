/*
 * mover - memory moving between slab classes: page stealing when a class
 * must grow and memory is at its limit, and the age-based rebalancing
 * (lru.h describes both). Uses the hand's primitives (lru.h) to empty a
 * page.
 */
#include "engine/engine_internal.h"
#include "engine/item.h"
#include "engine/lru.h"

/* Classes tried by one steal, and pages tried in each. */
#define LRU_STEAL_DONORS    3
#define LRU_STEAL_PAGES     4
/* Passes over a draining page one steal makes (see steal_pass). */
#define LRU_STEAL_PASSES    3
/* Seconds a donor must be older than twice the evicting class's age. */
#define LRU_REBALANCE_SLACK 2

/*
 * The (up to) LRU_STEAL_DONORS classes other than id with the most pages,
 * two or more, most first; returns how many.
 */
static unsigned
pick_donors(const struct engine *e, unsigned id, unsigned *donors)
{
    uint32_t pages[LRU_STEAL_DONORS];
    unsigned n = 0;

    for (unsigned v = 1; v <= e->slab.nclasses; v++) {
        uint32_t np = slab_npages(&e->slab, v);
        if (v == id || np < 2 ||
            (n == LRU_STEAL_DONORS && np <= pages[n - 1])) {
            continue;
        }
        unsigned k = n < LRU_STEAL_DONORS ? n++ : n - 1;
        for (; k > 0 && pages[k - 1] < np; k--) {
            donors[k] = donors[k - 1];
            pages[k] = pages[k - 1];
        }
        donors[k] = v;
        pages[k] = np;
    }
    return n;
}

/* True if every chunk of p is free or holds an item we may take now. */
static bool
evacuable_locked(struct engine *e, unsigned v, const struct slab_page *p)
{
    unsigned how = TAKE_FORCE | (e->cfg.evictions ? 0 : TAKE_DEAD_ONLY);
    uint32_t n = slab_ncut_locked(p);

    for (uint32_t i = 0; i < n; i++) {
        struct item *it;
        if (lru_chunk_item(e, v, p, i, &it) != CHUNK_FREE &&
            lru_take(e, it, how, false, NULL) < TAKE_DEAD) {
            return false;
        }
    }
    return true;
}

/*
 * A page of v to empty: the one under v's hand (or the next, if the hand
 * is inside it), else one of the few after it. Never the page being cut.
 */
static struct slab_page *
pick_page_locked(struct engine *e, unsigned v)
{
    const struct lru *l = &e->lru[v];
    uint32_t np = slab_npages(&e->slab, v);
    uint32_t start = l->hand_page + (l->hand_chunk > 0);

    for (uint32_t k = 0; k < LRU_STEAL_PAGES && k < np; k++) {
        struct slab_page *p = slab_page_locked(&e->slab, v, (start + k) % np);
        if (p != e->slab.classes[v].carve && evacuable_locked(e, v, p)) {
            return p;
        }
    }
    return NULL;
}

/* Takes every item with a chunk in draining page p, as far as it can. */
static void
evacuate_locked(struct engine *e, unsigned v, const struct slab_page *p,
                struct reclaim *r)
{
    unsigned how = TAKE_FORCE | (e->cfg.evictions ? 0 : TAKE_DEAD_ONLY);
    uint32_t n = slab_ncut_locked(p);

    /* The page leaves the class (and may be reused) once it is empty. */
    for (uint32_t i = 0; i < n && slab_draining_locked(&e->slab, v) == p; i++) {
        struct item *it;
        if (lru_chunk_item(e, v, p, i, &it) != CHUNK_FREE) {
            lru_take(e, it, how, true, r);
        }
    }
}

/*
 * Starts (or carries on) emptying a page of class v, then takes what it
 * can from it. Returns true while a drain is still under way (an item we
 * just missed: its stripe was busy, or it was pinned meanwhile).
 */
static bool
steal_pass(struct engine *e, unsigned v)
{
    struct reclaim r = {v, NULL};

    slab_lock(&e->slab, v);
    struct slab_page *p = slab_draining_locked(&e->slab, v);
    if (p == NULL && slab_npages(&e->slab, v) >= 2) {
        p = pick_page_locked(e, v);
        if (p != NULL) {
            slab_drain_locked(&e->slab, v, p);
        }
    }
    if (p != NULL && slab_draining_locked(&e->slab, v) == p) {
        evacuate_locked(e, v, p, &r);
    }
    slab_unlock(&e->slab, v);
    item_reclaim_finish(e, &r); /* frees into the page, may complete it */
    slab_lock(&e->slab, v);
    bool pending = p != NULL && slab_draining_locked(&e->slab, v) == p;
    slab_unlock(&e->slab, v);
    return pending;
}

/* Empties one page of class v into the pool, as far as it can now. */
static void
steal_from(struct engine *e, unsigned v)
{
    for (int pass = 0; pass < LRU_STEAL_PASSES; pass++) {
        if (!steal_pass(e, v)) {
            break;
        }
    }
}

bool
lru_steal_page(struct engine *e, unsigned id)
{
    unsigned donors[LRU_STEAL_DONORS];
    unsigned n = pick_donors(e, id, donors);

    for (unsigned i = 0; i < n && slab_pool_pages(&e->slab) == 0; i++) {
        steal_from(e, donors[i]);
    }
    return slab_pool_pages(&e->slab) > 0;
}

/* How long items of class id live before eviction (see lru.h). */
static uint32_t
class_age(const struct engine *e, unsigned id, uint32_t now)
{
    const struct lru *l = &e->lru[id];
    uint32_t when = atomic_load_explicit(&l->evict_when, memory_order_relaxed);
    uint32_t base;

    if (when != 0) {
        base = atomic_load_explicit(&l->evict_age, memory_order_relaxed);
    } else {
        when = atomic_load_explicit(&l->since, memory_order_relaxed);
        base = 0;
    }
    return base + (now > when ? now - when : 0);
}

void
lru_rebalance(struct engine *e, unsigned id)
{
    uint32_t now = engine_clock(e);
    uint32_t last = atomic_load_explicit(&e->rebalanced, memory_order_relaxed);

    if (last == now || !atomic_compare_exchange_strong_explicit(
                           &e->rebalanced, &last, now, memory_order_relaxed,
                           memory_order_relaxed)) {
        return;
    }
    unsigned oldest = 0;
    uint32_t oldest_age = 0;
    /*
     * A class without items of its own (only chunked items' headers or
     * last segments, which live and die with the largest class) has no
     * age to compare and is left alone.
     */
    for (unsigned v = 1; v <= e->slab.nclasses; v++) {
        uint32_t age = class_age(e, v, now);
        if (v != id && slab_npages(&e->slab, v) >= 2 &&
            lru_class_items(e, v) > 0 && age > oldest_age) {
            oldest = v;
            oldest_age = age;
        }
    }
    uint32_t mine = class_age(e, id, now);
    if (oldest != 0 && oldest_age > 2 * mine + LRU_REBALANCE_SLACK) {
        steal_from(e, oldest);
    }
}
