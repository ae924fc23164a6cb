#include "engine/lru.h"

#include "engine/engine_internal.h"
#include "engine/item.h"

/* Chunks ahead of the hand searched for a dead item before evicting. */
#define LRU_RECLAIM_SEARCH  5
/*
 * Active items given a second chance in one eviction; past that the hand
 * evicts the next unpinned item whatever its bit, so that one store never
 * walks a huge class that is all hot. The hand keeps its place, so the
 * next eviction carries on where this one stopped.
 */
#define LRU_SECOND_CHANCES  4096
/* Chunks one eviction may look at, at most (pinned, busy, free...). */
#define LRU_SCAN_MAX        65536
/* With evictions off, chunks one store searches for a dead item. */
#define LRU_DEAD_SCAN       1024
/* Classes tried by one steal, and pages tried in each. */
#define LRU_STEAL_DONORS    3
#define LRU_STEAL_PAGES     4
/* Passes over a draining page one steal makes (see steal_pass). */
#define LRU_STEAL_PASSES    3
/* Seconds a donor must be older than twice the evicting class's age. */
#define LRU_REBALANCE_SLACK 2

/* How take() may take an item. */
#define TAKE_DEAD_ONLY  0x1u /* only expired or flushed items */
#define TAKE_FORCE      0x2u /* no second chance */
#define TAKE_NO_CHUNKED 0x4u /* leave chunked items to the largest class */

enum take {
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
struct cursor {
    uint32_t page;
    uint32_t chunk;
};

void
lru_count_link(struct lru *l, const struct item *it, bool new_item)
{
    if (atomic_load_explicit(&l->since, memory_order_relaxed) == 0) {
        atomic_store_explicit(&l->since, item_time(it), memory_order_relaxed);
    }
    lru_stat_add(&l->curr_items, 1);
    if (new_item) {
        lru_stat_add(&l->total_items, 1);
    }
    lru_stat_add(&l->bytes, item_msize(it));
}

void
lru_count_unlink(struct lru *l, const struct item *it)
{
    lru_stat_add(&l->curr_items, (uint64_t)-1);
    lru_stat_add(&l->bytes, (uint64_t)0 - item_msize(it));
}

/* Counts a reclaim or an eviction; an eviction also dates the class. */
static void
count_removal(struct lru *l, const struct item *it, bool dead, uint32_t now)
{
    bool unfetched = !item_has(it, ITEM_FETCHED);

    if (dead) {
        lru_stat_add(&l->reclaimed, 1);
        lru_stat_add(&l->expired_unfetched, unfetched);
    } else {
        lru_stat_add(&l->evictions, 1);
        lru_stat_add(&l->evicted_unfetched, unfetched);
        uint32_t age = now > item_time(it) ? now - item_time(it) : 0;
        atomic_store_explicit(&l->evict_age, age, memory_order_relaxed);
        atomic_store_explicit(&l->evict_when, now, memory_order_relaxed);
    }
}

/* Tells engine_config.on_evict (a watch line) about a live eviction. */
static void
report_eviction(const struct engine *e, const struct item *it)
{
    struct engine_item_info info;
    uint32_t now = engine_clock(e);
    uint32_t time = item_time(it);

    engine_item_info(e, it, &info);
    struct engine_evicted ev = {
        .key = slice_make(item_key(it), it->nkey),
        .nbytes = info.nbytes,
        .cls = info.cls,
        .fetched = item_has(it, ITEM_FETCHED),
        .ttl = item_exptime(it) == 0 ? -1 : (int64_t)(int32_t)info.ttl,
        .la = now > time ? now - time : 0,
    };
    e->cfg.on_evict(e->cfg.on_evict_ctx, &ev);
}

/*
 * Chunk i of page p of class id, and the item to take to free it: the
 * chunk itself if it is a header, or the owner of a data chunk (whose
 * header is freed only after all its data chunks, see engine_internal.h,
 * so it is safe to read while we hold this chunk's class lock).
 */
static enum chunk_kind
chunk_item(const struct engine *e, unsigned id, const struct slab_page *p,
           uint32_t i, struct item **out)
{
    char *chunk = slab_chunk_locked(&e->slab, id, p, i);
    struct item *it = (struct item *)(void *)chunk;

    if (p->owners != NULL) {
        *out = p->owners[i];
        if (*out == NULL) {
            return CHUNK_FREE;
        }
        return (char *)*out == chunk ? CHUNK_HEADER : CHUNK_DATA;
    }
    unsigned f = atomic_load_explicit(&it->iflags, memory_order_relaxed);
    if (f & ITEM_FREE) {
        return CHUNK_FREE;
    }
    if (f & ITEM_DATA) {
        *out = it->h_next; /* set under this lock when the chunk was made */
        return CHUNK_DATA;
    }
    *out = it;
    return CHUNK_HEADER;
}

/* What taking `it` would be, under its stripe lock. */
static enum take
judge_locked(struct engine *e, struct item *it, unsigned how)
{
    if (!item_has(it, ITEM_LINKED) ||
        atomic_load_explicit(&it->refcount, memory_order_acquire) != 1) {
        return TAKE_NO;
    }
    uint32_t now = engine_clock(e);
    if (item_is_expired(it, now) || engine_item_flushed(e, it, now)) {
        return TAKE_DEAD;
    }
    if (how & TAKE_DEAD_ONLY) {
        return TAKE_NO;
    }
    if (!(how & TAKE_FORCE) && item_has(it, ITEM_ACTIVE)) {
        return TAKE_CHANCE;
    }
    return e->cfg.evictions ? TAKE_LIVE : TAKE_NO;
}

/*
 * False if the item is surely alive, judging by fields read without its
 * stripe lock (relaxed atomics); true means "check under the lock".
 */
static bool
maybe_dead(const struct engine *e, const struct item *it)
{
    uint32_t now = engine_clock(e);
    uint32_t ftime = atomic_load_explicit(&e->flush_time, memory_order_relaxed);

    return item_is_expired(it, now) ||
           atomic_load_explicit(&e->flush_cas, memory_order_relaxed) != 0 ||
           (ftime != 0 && ftime <= now && item_time(it) <= ftime);
}

/*
 * Looks at a linked item without its stripe (see engine_internal.h for
 * why the key may be read): an active one gets its second chance right
 * there, and with TAKE_DEAD_ONLY a plainly live one is skipped. Anything
 * else trylocks the stripe and is judged under it. With `act`, a second
 * chance clears ITEM_ACTIVE and a take unlinks the item (freeing its
 * chunks, or queueing them on r).
 */
static enum take
take(struct engine *e, struct item *it, unsigned how, bool act,
     struct reclaim *r)
{
    unsigned f = atomic_load_explicit(&it->iflags, memory_order_acquire);

    if (!(f & ITEM_LINKED) || ((how & TAKE_NO_CHUNKED) && (f & ITEM_CHUNKED))) {
        return TAKE_NO;
    }
    if (!(how & (TAKE_FORCE | TAKE_DEAD_ONLY)) && (f & ITEM_ACTIVE)) {
        if (act) {
            item_clear_iflags(it, ITEM_ACTIVE);
        }
        return TAKE_CHANCE;
    }
    if ((how & TAKE_DEAD_ONLY) && !maybe_dead(e, it)) {
        return TAKE_NO;
    }
    uint64_t hv = hash_bytes(item_key(it), it->nkey);
    if (!hashtable_trylock(&e->ht, hv)) {
        return TAKE_NO;
    }
    enum take t = judge_locked(e, it, how);
    if (act && t == TAKE_CHANCE) {
        item_clear_iflags(it, ITEM_ACTIVE);
    } else if (act && t >= TAKE_DEAD) {
        count_removal(&e->lru[item_lru_id(e, it)], it, t == TAKE_DEAD,
                      engine_clock(e));
        if (t == TAKE_LIVE && e->cfg.on_evict != NULL) {
            report_eviction(e, it);
        }
        engine_unlink_locked(e, it, hv, r);
    }
    hashtable_unlock(&e->ht, hv);
    return t;
}

/* The chunk at *c, moving *c past it; false if no chunk is cut yet. */
static bool
cursor_next(const struct engine *e, unsigned id, struct cursor *c,
            struct slab_page **pp, uint32_t *ip)
{
    uint32_t np = slab_npages(&e->slab, id);

    for (uint32_t n = 0; n <= np; n++) {
        if (c->page >= np) {
            c->page = 0;
            c->chunk = 0;
        }
        struct slab_page *p = slab_page_locked(&e->slab, id, c->page);
        if (c->chunk < slab_ncut_locked(p)) {
            *pp = p;
            *ip = c->chunk++;
            return true;
        }
        c->page++;
        c->chunk = 0;
    }
    return false;
}

/* The item the hand of class id may take for chunk i of p, or NULL. */
static struct item *
hand_item(const struct engine *e, unsigned id, const struct slab_page *p,
          uint32_t i)
{
    struct item *it;
    enum chunk_kind k = chunk_item(e, id, p, i, &it);

    if (k == CHUNK_FREE || (k == CHUNK_DATA && id != e->slab.nclasses)) {
        return NULL;
    }
    return it;
}

static unsigned
hand_rules(const struct engine *e, unsigned id)
{
    return id == e->slab.nclasses ? 0 : TAKE_NO_CHUNKED;
}

/*
 * A dead item among the next few chunks ahead of the hand. The hand then
 * moves past it, so that the item stored in its place lands behind the
 * hand like any new item; the few live items it skipped keep their place
 * for another turn.
 */
static bool
reclaim_ahead(struct engine *e, unsigned id, struct reclaim *r)
{
    struct lru *l = &e->lru[id];
    struct cursor c = {l->hand_page, l->hand_chunk};
    unsigned how = TAKE_DEAD_ONLY | hand_rules(e, id);

    for (int n = 0; n < LRU_RECLAIM_SEARCH; n++) {
        struct slab_page *p;
        uint32_t i;
        if (!cursor_next(e, id, &c, &p, &i)) {
            return false;
        }
        struct item *it = hand_item(e, id, p, i);
        if (it != NULL && take(e, it, how, true, r) == TAKE_DEAD) {
            l->hand_page = c.page;
            l->hand_chunk = c.chunk;
            return true;
        }
    }
    return false;
}

/* The CLOCK sweep proper (see lru.h). */
static bool
sweep(struct engine *e, unsigned id, struct reclaim *r)
{
    struct lru *l = &e->lru[id];
    struct cursor c = {l->hand_page, l->hand_chunk};
    uint64_t nchunks =
        (uint64_t)slab_npages(&e->slab, id) * e->slab.classes[id].perslab;
    uint64_t limit = e->cfg.evictions ? 2 * nchunks + 1 : nchunks;
    unsigned how = hand_rules(e, id) | (e->cfg.evictions ? 0 : TAKE_DEAD_ONLY);
    unsigned chances = 0;
    bool taken = false;

    if (limit > (e->cfg.evictions ? LRU_SCAN_MAX : LRU_DEAD_SCAN)) {
        limit = e->cfg.evictions ? LRU_SCAN_MAX : LRU_DEAD_SCAN;
    }
    for (uint64_t n = 0; n < limit && !taken; n++) {
        struct slab_page *p;
        uint32_t i;
        if (!cursor_next(e, id, &c, &p, &i)) {
            break;
        }
        struct item *it = hand_item(e, id, p, i);
        if (it == NULL) {
            continue;
        }
        bool force = chances >= LRU_SECOND_CHANCES || p->draining;
        enum take t = take(e, it, how | (force ? TAKE_FORCE : 0), true, r);
        chances += t == TAKE_CHANCE;
        taken = t >= TAKE_DEAD;
    }
    l->hand_page = c.page;
    l->hand_chunk = c.chunk;
    return taken;
}

enum lru_result
lru_evict_locked(struct engine *e, unsigned id, struct reclaim *r)
{
    if (!reclaim_ahead(e, id, r) && !sweep(e, id, r)) {
        return LRU_NONE;
    }
    return r->deferred != NULL ? LRU_DEFERRED : LRU_FREED;
}

/* ---- page stealing -------------------------------------------------- */

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
        if (chunk_item(e, v, p, i, &it) != CHUNK_FREE &&
            take(e, it, how, false, NULL) < TAKE_DEAD) {
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
        if (chunk_item(e, v, p, i, &it) != CHUNK_FREE) {
            take(e, it, how, true, r);
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
            lru_stat(&e->lru[v].curr_items) > 0 && age > oldest_age) {
            oldest = v;
            oldest_age = age;
        }
    }
    uint32_t mine = class_age(e, id, now);
    if (oldest != 0 && oldest_age > 2 * mine + LRU_REBALANCE_SLACK) {
        steal_from(e, oldest);
    }
}
