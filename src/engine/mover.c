/*
 * mover - memory moving between slab classes: page stealing when a class
 * must grow and memory is at its limit, the automover (age-based
 * rebalancing, or a move on every eviction), slabs reassign, and
 * emptying pages for a lowered memory limit (lru.h and engine.h describe
 * them; docs/ENGINE.md#the-page-mover). Uses the hand's primitives
 * (lru.h) to empty a page.
 */
#include "engine/engine_internal.h"
#include "engine/item.h"
#include "engine/lru.h"

#include <string.h>

/* Classes tried by one steal, and pages tried in each. */
#define LRU_STEAL_DONORS    3
#define LRU_STEAL_PAGES     4
/* Passes over a draining page one steal makes (see steal_pass). */
#define LRU_STEAL_PASSES    3
/* Seconds a donor must be older than the evicting class's age / ratio. */
#define LRU_REBALANCE_SLACK 2
/* engine_mover_tick calls a move may wait for pinned items, then gives up. */
#define MOVER_TICKS_MAX     30
/* Pages engine_set_mem_limit empties at once; the tick does the rest. */
#define MOVER_SHRINK_PAGES  4096

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

static void
count(_Atomic uint64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/*
 * Copies an unpinned, live, unchunked item of class v to a free chunk of
 * v (never one of the draining page: the slab keeps those off the free
 * list) and puts the copy in its place in the hash table; the old chunk
 * is freed. Same key, value, CAS, flags and times, so no counter moves.
 */
static bool
rescue_locked(struct engine *e, unsigned v, struct item *it)
{
    if (item_has(it, ITEM_CHUNKED | ITEM_DATA) || !item_has(it, ITEM_LINKED)) {
        return false;
    }
    uint64_t hv = hash_bytes(item_key(it), it->nkey);
    if (!hashtable_trylock(&e->ht, hv)) {
        return false;
    }
    struct item *n = NULL;
    if (item_has(it, ITEM_LINKED) &&
        atomic_load_explicit(&it->refcount, memory_order_acquire) == 1) {
        n = slab_alloc_free_locked(&e->slab, v);
    }
    if (n != NULL) {
        memcpy((void *)n, (const void *)it, slab_chunk_size(&e->slab, v));
        hashtable_replace_locked(&e->ht, hv, it, n);
        item_clear_iflags(it, ITEM_LINKED);
        atomic_store_explicit(&it->refcount, 0, memory_order_relaxed);
        slab_free_locked(&e->slab, v, it);
    }
    hashtable_unlock(&e->ht, hv);
    return n != NULL;
}

/*
 * Frees the chunk i of draining page p (class v) if it can: a dead item
 * is reclaimed, a live one rescued (with `rescue`) or evicted; a pinned
 * one is left for a later pass. Counts what it did.
 */
static void
empty_chunk_locked(struct engine *e, unsigned v, const struct slab_page *p,
                   uint32_t i, bool rescue, struct reclaim *r)
{
    struct mover *m = &e->mover;
    unsigned how = TAKE_FORCE | (e->cfg.evictions ? 0 : TAKE_DEAD_ONLY);
    struct item *it;
    enum chunk_kind k = lru_chunk_item(e, v, p, i, &it);

    if (k == CHUNK_FREE) {
        return;
    }
    if (lru_take(e, it, TAKE_FORCE | TAKE_DEAD_ONLY, true, r) == TAKE_DEAD) {
        count(&m->inline_reclaim);
        return;
    }
    if (rescue && k == CHUNK_HEADER && rescue_locked(e, v, it)) {
        count(&m->rescues);
        return;
    }
    switch (lru_take(e, it, how, true, r)) {
    case TAKE_LIVE:
        count(&m->evictions_nomem);
        break;
    case TAKE_DEAD:
        count(&m->inline_reclaim);
        break;
    default:
        count(item_has(it, ITEM_LINKED) ? &m->busy_items : &m->busy_deletes);
        break;
    }
}

/* Takes every item with a chunk in draining page p, as far as it can. */
static void
evacuate_locked(struct engine *e, unsigned v, const struct slab_page *p,
                bool rescue, struct reclaim *r)
{
    uint32_t n = slab_ncut_locked(p);

    /* The page leaves the class (and may be reused) once it is empty. */
    for (uint32_t i = 0; i < n && slab_draining_locked(&e->slab, v) == p; i++) {
        empty_chunk_locked(e, v, p, i, rescue, r);
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
        evacuate_locked(e, v, p, true, &r);
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

/* Reads an atomic double (stored as its bits). */
static double
load_ratio(const struct mover *m)
{
    uint64_t bits = atomic_load_explicit(&m->ratio_bits, memory_order_relaxed);
    double d;

    memcpy(&d, &bits, sizeof(d));
    return d;
}

/* Moves automove may make: reassign allowed and the mode asked for. */
static unsigned
automove_mode(const struct engine *e)
{
    if (!e->cfg.slab_reassign) {
        return 0;
    }
    return atomic_load_explicit(&e->mover.automove, memory_order_relaxed);
}

/* Automove 1: the age test, at most once a second (see lru.h). */
static void
rebalance_by_age(struct engine *e, unsigned id)
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
    double mine = class_age(e, id, now) + LRU_REBALANCE_SLACK;
    if (oldest != 0 && (double)oldest_age * load_ratio(&e->mover) > mine) {
        if (e->cfg.on_move != NULL) {
            e->cfg.on_move(e->cfg.on_move_ctx, engine_pages_class(e, oldest),
                           engine_pages_class(e, id));
        }
        steal_from(e, oldest);
    }
}

void
lru_rebalance(struct engine *e, unsigned id)
{
    switch (automove_mode(e)) {
    case 1:
        rebalance_by_age(e, id);
        break;
    case 2:
        /* memcached's aggressive mode: a page for every eviction */
        if (slab_pool_pages(&e->slab) == 0) {
            lru_steal_page(e, id);
        }
        break;
    default:
        break;
    }
}

/* ---- slabs reassign ------------------------------------------------- */

void
mover_init(struct engine *e)
{
    struct mover *m = &e->mover;
    double ratio = e->cfg.slab_automove_ratio;
    uint64_t bits;

    pthread_mutex_init(&m->lock, NULL);
    memcpy(&bits, &ratio, sizeof(bits));
    atomic_store_explicit(&m->ratio_bits, bits, memory_order_relaxed);
    atomic_store_explicit(&m->automove, e->cfg.slab_automove,
                          memory_order_relaxed);
}

void
mover_deinit(struct engine *e)
{
    pthread_mutex_destroy(&e->mover.lock);
}

void
engine_set_automove(struct engine *e, unsigned mode)
{
    atomic_store_explicit(&e->mover.automove, mode, memory_order_relaxed);
}

unsigned
engine_automove(const struct engine *e)
{
    return atomic_load_explicit(&e->mover.automove, memory_order_relaxed);
}

void
engine_set_automove_ratio(struct engine *e, double ratio)
{
    uint64_t bits;

    memcpy(&bits, &ratio, sizeof(bits));
    atomic_store_explicit(&e->mover.ratio_bits, bits, memory_order_relaxed);
}

double
engine_automove_ratio(const struct engine *e)
{
    return load_ratio(&e->mover);
}

/* Pages shown in memcached class mc (0: the pool). */
static uint64_t
mc_pages(const struct engine *e, unsigned mc)
{
    uint64_t n = 0;

    if (mc == 0) {
        return slab_pool_pages(&e->slab);
    }
    for (unsigned f = 1; f <= e->slab.nclasses; f++) {
        if (engine_pages_class(e, f) == mc) {
            n += slab_npages(&e->slab, f);
        }
    }
    return n;
}

/* The engine class shown in mc with the most pages (0 if none has one). */
static unsigned
richest_in(const struct engine *e, unsigned mc)
{
    unsigned best = 0;
    uint32_t most = 0;

    for (unsigned f = 1; f <= e->slab.nclasses; f++) {
        uint32_t np = slab_npages(&e->slab, f);
        if (np > most && engine_pages_class(e, f) == mc) {
            best = f;
            most = np;
        }
    }
    return best;
}

/*
 * The engine class that receives a page given to memcached class mc: the
 * largest whose pages are shown in mc, so the page shows there too.
 */
static unsigned
receiver_of(const struct engine *e, unsigned mc)
{
    unsigned best = 0;

    for (unsigned f = 1; f <= e->slab.nclasses; f++) {
        if (engine_pages_class(e, f) == mc) {
            best = f;
        }
    }
    return best;
}

/* slabs reassign -1: the first class but dst with two pages or more. */
static int
pick_any(const struct engine *e, int dst)
{
    for (unsigned mc = 1; mc <= e->slab.mc_nclasses; mc++) {
        if ((int)mc != dst && mc_pages(e, mc) >= 2) {
            return (int)mc;
        }
    }
    return -1;
}

/* The page of class f a move empties: the one under its hand, else any. */
static struct slab_page *
move_page_locked(struct engine *e, unsigned f)
{
    const struct lru *l = &e->lru[f];
    uint32_t np = slab_npages(&e->slab, f);
    uint32_t start = l->hand_page + (l->hand_chunk > 0);

    return np == 0 ? NULL : slab_page_locked(&e->slab, f, start % np);
}

/* Hands the pool page of a finished move to its receiver. */
static void
deliver(struct engine *e, struct slab_page *p, unsigned dst)
{
    if (dst == 0) {
        return;
    }
    slab_lock(&e->slab, dst);
    slab_pool_give_locked(&e->slab, dst, p, p == NULL);
    slab_unlock(&e->slab, dst);
}

/*
 * Empties the move's page as far as it can now (a few passes); when it is
 * empty, gives it to the receiver and ends the move. Needs mover.lock.
 */
static void
move_step_locked(struct engine *e)
{
    struct mover *m = &e->mover;
    bool pending = true;

    for (int pass = 0; pass < LRU_STEAL_PASSES && pending; pass++) {
        struct reclaim r = {m->src, NULL};
        slab_lock(&e->slab, m->src);
        if (slab_draining_locked(&e->slab, m->src) == m->page) {
            evacuate_locked(e, m->src, m->page, true, &r);
        }
        slab_unlock(&e->slab, m->src);
        item_reclaim_finish(e, &r);
        slab_lock(&e->slab, m->src);
        pending = slab_draining_locked(&e->slab, m->src) == m->page;
        slab_unlock(&e->slab, m->src);
    }
    if (pending && ++m->ticks <= MOVER_TICKS_MAX) {
        return;
    }
    if (pending) {
        /* pinned for too long: give up, as the page is now */
        slab_lock(&e->slab, m->src);
        slab_undrain_locked(&e->slab, m->src, m->page);
        slab_unlock(&e->slab, m->src);
    } else {
        deliver(e, m->page, m->dst);
    }
    m->src = 0;
    m->page = NULL;
    atomic_store_explicit(&m->running, false, memory_order_relaxed);
}

/* Starts moving a page of engine class f to engine class dst (0: pool). */
static void
move_start_locked(struct engine *e, unsigned f, unsigned dst)
{
    struct mover *m = &e->mover;

    slab_lock(&e->slab, f);
    struct slab_page *p = slab_draining_locked(&e->slab, f);
    if (p == NULL) {
        p = move_page_locked(e, f);
        if (p != NULL) {
            slab_drain_locked(&e->slab, f, p);
        }
    }
    slab_unlock(&e->slab, f);
    if (p == NULL) {
        return;
    }
    m->src = f;
    m->page = p;
    m->dst = dst;
    m->ticks = 0;
    atomic_store_explicit(&m->running, true, memory_order_relaxed);
    move_step_locked(e);
}

static enum engine_reassign
reassign_locked(struct engine *e, int src, int dst)
{
    int max = (int)e->slab.mc_nclasses;

    if (e->mover.src != 0) {
        move_step_locked(e);
        if (e->mover.src != 0) {
            return ENGINE_REASSIGN_RUNNING;
        }
    }
    if (src == dst) {
        return ENGINE_REASSIGN_SAME;
    }
    if (src == -1) {
        src = pick_any(e, dst);
    }
    if (src < 0 || src > max || dst < 0 || dst > max) {
        return ENGINE_REASSIGN_BADCLASS;
    }
    if (mc_pages(e, (unsigned)src) < 2) {
        return ENGINE_REASSIGN_NOSPARE;
    }
    unsigned to = dst == 0 ? 0 : receiver_of(e, (unsigned)dst);
    if (src == 0) {
        if (to != 0) {
            deliver(e, NULL, to);
        }
        return ENGINE_REASSIGN_OK;
    }
    move_start_locked(e, richest_in(e, (unsigned)src), to);
    return ENGINE_REASSIGN_OK;
}

enum engine_reassign
engine_slabs_reassign(struct engine *e, int src, int dst)
{
    pthread_mutex_lock(&e->mover.lock);
    enum engine_reassign r = reassign_locked(e, src, dst);
    pthread_mutex_unlock(&e->mover.lock);
    return r;
}

void
engine_mover_stats(struct engine *e, struct engine_stats *out)
{
    const struct mover *m = &e->mover;

    out->slab_reassign_rescues = lru_stat(&m->rescues);
    out->slab_reassign_chunk_rescues = 0; /* chunked items are evicted */
    out->slab_reassign_evictions_nomem = lru_stat(&m->evictions_nomem);
    out->slab_reassign_inline_reclaim = lru_stat(&m->inline_reclaim);
    out->slab_reassign_busy_items = lru_stat(&m->busy_items);
    out->slab_reassign_busy_deletes = lru_stat(&m->busy_deletes);
    out->slab_reassign_running =
        atomic_load_explicit(&m->running, memory_order_relaxed);
}

/* ---- the memory limit ----------------------------------------------- */

/*
 * Empties pages (the class with the most, two at least) until memory is
 * within the limit or `budget` pages were tried; slab.c gives each
 * emptied page back to the kernel while memory is over the limit.
 */
static void
shrink(struct engine *e, unsigned budget)
{
    size_t limit = slab_limit(&e->slab);

    while (budget-- > 0 && limit != 0 &&
           slab_total_malloced(&e->slab) > limit) {
        unsigned donors[LRU_STEAL_DONORS];
        if (pick_donors(e, 0, donors) == 0) {
            break;
        }
        uint64_t before = slab_total_malloced(&e->slab);
        steal_from(e, donors[0]);
        if (slab_total_malloced(&e->slab) == before) {
            break; /* pinned: the tick tries again */
        }
    }
}

enum engine_memlimit
engine_set_mem_limit(struct engine *e, size_t bytes)
{
    if (slab_preallocated(&e->slab)) {
        return ENGINE_MEMLIMIT_PREALLOCATED;
    }
    slab_set_limit(&e->slab, bytes);
    pthread_mutex_lock(&e->mover.lock);
    shrink(e, MOVER_SHRINK_PAGES);
    pthread_mutex_unlock(&e->mover.lock);
    return ENGINE_MEMLIMIT_OK;
}

size_t
engine_mem_limit(const struct engine *e)
{
    return slab_limit(&e->slab);
}

void
engine_mover_tick(struct engine *e)
{
    struct mover *m = &e->mover;

    if (pthread_mutex_trylock(&m->lock) != 0) {
        return;
    }
    if (m->src != 0) {
        move_step_locked(e);
    }
    if (slab_limit(&e->slab) != 0 &&
        slab_total_malloced(&e->slab) > slab_limit(&e->slab)) {
        shrink(e, MOVER_SHRINK_PAGES);
    }
    pthread_mutex_unlock(&m->lock);
}
