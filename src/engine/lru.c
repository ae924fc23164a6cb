#include "engine/lru.h"

#include "engine/engine_internal.h"
#include "engine/item.h"

#include <stdlib.h>
#include <string.h>

/* Chunks ahead of the hand searched for a dead item before evicting. */
#define LRU_RECLAIM_SEARCH 5
/*
 * Active items given a second chance in one eviction; past that the hand
 * evicts the next unpinned item whatever its bit, so that one store never
 * walks a huge class that is all hot. The hand keeps its place, so the
 * next eviction carries on where this one stopped.
 */
#define LRU_SECOND_CHANCES 4096
/* Chunks one eviction may look at, at most (pinned, busy, free...). */
#define LRU_SCAN_MAX       65536
/* With evictions off, chunks one store searches for a dead item. */
#define LRU_DEAD_SCAN      1024

/* ---- counters ------------------------------------------------------- */

/*
 * memcached size minus ours, for an item without client flags: 48 - 24
 * header bytes, the key's NUL and the value's CRLF (item.h). Client flags
 * add 4 bytes there and 1, 2 or 4 here, so the difference is 27 to 30.
 */
#define LRU_MSIZE_MIN_EXTRA 27
#define LRU_MSIZE_MAX_EXTRA 30

bool
lru_init_cells(struct engine *e)
{
    const struct slab *s = &e->slab;
    unsigned n = s->nclasses;
    bool own_table = e->cfg.memcached_classes || e->cfg.nslab_sizes > 0;

    e->nmc_of = s->mc_sizes[s->mc_nclasses] / 8 + 1;
    e->mc_of = malloc(e->nmc_of);
    if (e->mc_of == NULL) {
        return false;
    }
    for (size_t i = 0; i < e->nmc_of; i++) {
        e->mc_of[i] = (uint8_t)slab_memcached_class_for(s, i * 8);
    }
    e->ncells = 0;
    for (unsigned id = 1; id <= n; id++) {
        struct lru *l = &e->lru[id];
        size_t size = s->classes[id].size;
        size_t below = id == 1 ? 0 : s->classes[id - 1].size + 1;
        l->mc_lo =
            (uint8_t)(id == 1
                          ? 1
                          : engine_msize_class(e, below + LRU_MSIZE_MIN_EXTRA));
        l->mc_hi =
            (uint8_t)(id == n
                          ? s->mc_nclasses
                          : engine_msize_class(e, size + LRU_MSIZE_MAX_EXTRA));
        /* pages: as memcached's class of the largest item held here */
        l->mc_pages = (uint8_t)engine_msize_class(
            e, own_table ? size : size + LRU_MSIZE_MIN_EXTRA);
        l->cell0 = e->ncells;
        e->ncells += (unsigned)(l->mc_hi - l->mc_lo) + 1;
    }
    e->cells = aligned_alloc(64, e->ncells * sizeof(struct lru_cell));
    if (e->cells == NULL) {
        return false;
    }
    memset(e->cells, 0, e->ncells * sizeof(struct lru_cell));
    return true;
}

void
lru_deinit_cells(struct engine *e)
{
    free(e->cells);
    free(e->mc_of);
}

/* The cell of an item of memcached size msize counted in class id. */
static struct lru_cell *
cell_in(const struct engine *e, unsigned id, size_t msize)
{
    const struct lru *l = &e->lru[id];
    unsigned mc = engine_msize_class(e, msize);

    /* never out of the run, by construction; clamped all the same */
    mc = mc < l->mc_lo ? l->mc_lo : mc > l->mc_hi ? l->mc_hi : mc;
    return &e->cells[l->cell0 + mc - l->mc_lo];
}

struct lru_cell *
lru_cell_of(const struct engine *e, const struct item *it)
{
    return cell_in(e, item_lru_id(e, it), item_msize(it));
}

uint64_t
lru_class_items(const struct engine *e, unsigned id)
{
    const struct lru *l = &e->lru[id];
    uint64_t n = 0;

    for (unsigned c = 0; c <= (unsigned)(l->mc_hi - l->mc_lo); c++) {
        n += lru_stat(&e->cells[l->cell0 + c].number);
    }
    return n;
}

void
lru_count_link(struct engine *e, const struct item *it, bool new_item)
{
    unsigned id = item_lru_id(e, it);
    struct lru *l = &e->lru[id];
    size_t msize = item_msize(it);
    struct lru_cell *c = cell_in(e, id, msize);

    if (atomic_load_explicit(&l->since, memory_order_relaxed) == 0) {
        atomic_store_explicit(&l->since, item_time(it), memory_order_relaxed);
    }
    lru_stat_add(&c->number, 1);
    if (new_item) {
        lru_stat_add(&c->total_items, 1);
    }
    lru_stat_add(&c->bytes, msize);
    if (atomic_load_explicit(&e->sizes_on, memory_order_acquire)) {
        engine_sizes_count(e, it, 1);
    }
}

void
lru_count_unlink(struct engine *e, const struct item *it)
{
    size_t msize = item_msize(it);
    struct lru_cell *c = cell_in(e, item_lru_id(e, it), msize);

    lru_stat_add(&c->number, (uint64_t)-1);
    lru_stat_add(&c->bytes, (uint64_t)0 - msize);
    if (atomic_load_explicit(&e->sizes_on, memory_order_acquire)) {
        engine_sizes_count(e, it, -1);
    }
}

/* Counts a reclaim or an eviction; an eviction also dates the class. */
static void
count_removal(struct engine *e, const struct item *it, bool dead, uint32_t now,
              bool crawler)
{
    unsigned id = item_lru_id(e, it);
    struct lru *l = &e->lru[id];
    struct lru_cell *c = cell_in(e, id, item_msize(it));
    bool unfetched = !item_has(it, ITEM_FETCHED);

    if (dead && crawler) {
        /* memcached counts a crawler's reclaim apart from `reclaimed` */
        lru_stat_add(
            &e->mc[engine_msize_class(e, item_msize(it))].crawler_reclaimed, 1);
        lru_stat_add(&c->expired_unfetched, unfetched);
    } else if (dead) {
        lru_stat_add(&c->reclaimed, 1);
        lru_stat_add(&c->expired_unfetched, unfetched);
    } else {
        uint32_t age = now > item_time(it) ? now - item_time(it) : 0;
        lru_stat_add(&c->evicted, 1);
        lru_stat_add(&c->evicted_nonzero, item_exptime(it) != 0);
        lru_stat_add(&c->evicted_unfetched, unfetched);
        atomic_store_explicit(
            &e->mc[engine_msize_class(e, item_msize(it))].evicted_time, age,
            memory_order_relaxed);
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
enum chunk_kind
lru_chunk_item(const struct engine *e, unsigned id, const struct slab_page *p,
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
static enum lru_take
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
enum lru_take
lru_take(struct engine *e, struct item *it, unsigned how, bool act,
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
    enum lru_take t = judge_locked(e, it, how);
    if (act && t == TAKE_CHANCE) {
        item_clear_iflags(it, ITEM_ACTIVE);
    } else if (act && t >= TAKE_DEAD) {
        count_removal(e, it, t == TAKE_DEAD, engine_clock(e),
                      (how & TAKE_CRAWLER) != 0);
        if (t == TAKE_LIVE && e->cfg.on_evict != NULL) {
            report_eviction(e, it);
        }
        engine_unlink_locked(e, it, hv, r);
    }
    hashtable_unlock(&e->ht, hv);
    return t;
}

/* The chunk at *c, moving *c past it; false if no chunk is cut yet. */
bool
lru_cursor_next(const struct engine *e, unsigned id, struct lru_cursor *c,
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
struct item *
lru_hand_item(const struct engine *e, unsigned id, const struct slab_page *p,
              uint32_t i)
{
    struct item *it;
    enum chunk_kind k = lru_chunk_item(e, id, p, i, &it);

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
    struct lru_cursor c = {l->hand_page, l->hand_chunk};
    unsigned how = TAKE_DEAD_ONLY | hand_rules(e, id);

    for (int n = 0; n < LRU_RECLAIM_SEARCH; n++) {
        struct slab_page *p;
        uint32_t i;
        if (!lru_cursor_next(e, id, &c, &p, &i)) {
            return false;
        }
        struct item *it = lru_hand_item(e, id, p, i);
        if (it != NULL && lru_take(e, it, how, true, r) == TAKE_DEAD) {
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
    struct lru_cursor c = {l->hand_page, l->hand_chunk};
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
        if (!lru_cursor_next(e, id, &c, &p, &i)) {
            break;
        }
        struct item *it = lru_hand_item(e, id, p, i);
        if (it == NULL) {
            continue;
        }
        bool force = chances >= LRU_SECOND_CHANCES || p->draining;
        enum lru_take t =
            lru_take(e, it, how | (force ? TAKE_FORCE : 0), true, r);
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

/* ---- what the statistics look at ------------------------------------ */

/* Chunks ahead of the hand lru_hand_age looks at, at most. */
#define LRU_AGE_SCAN 4096

/* A linked item of class id's own (a chunked one only in the largest). */
static bool
own_item(const struct engine *e, unsigned id, const struct item *it)
{
    unsigned f = atomic_load_explicit(&it->iflags, memory_order_acquire);

    return (f & ITEM_LINKED) && (id == e->slab.nclasses || !(f & ITEM_CHUNKED));
}

uint32_t
lru_hand_age(struct engine *e, unsigned id, unsigned mc)
{
    uint32_t now = engine_clock(e);
    uint32_t age = 0;

    slab_lock(&e->slab, id);
    struct lru_cursor c = {e->lru[id].hand_page, e->lru[id].hand_chunk};
    for (int n = 0; n < LRU_AGE_SCAN; n++) {
        struct slab_page *p;
        uint32_t i;
        if (!lru_cursor_next(e, id, &c, &p, &i)) {
            break;
        }
        struct item *it = lru_hand_item(e, id, p, i);
        if (it != NULL && own_item(e, id, it) &&
            engine_msize_class(e, item_msize(it)) == mc) {
            age = now > item_time(it) ? now - item_time(it) : 0;
            break;
        }
    }
    slab_unlock(&e->slab, id);
    return age;
}

uint64_t
lru_used_chunks(struct engine *e, unsigned id)
{
    uint64_t used = 0;

    slab_lock(&e->slab, id);
    for (uint32_t i = 0; i < slab_npages(&e->slab, id); i++) {
        used += slab_page_locked(&e->slab, id, i)->nused;
    }
    slab_unlock(&e->slab, id);
    return used;
}
