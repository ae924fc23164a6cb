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

/* Counts an item in or out of segment seg (COLD is not counted). */
static inline void
seg_count(struct lru_cell *c, enum item_seg seg, uint64_t delta)
{
    if (seg != SEG_COLD) {
        lru_stat_add(&c->nseg[seg], delta);
    }
}

/*
 * Moves a linked item to segment `to`, under its stripe lock, counting
 * the move in `moves` (NULL: not counted as a move).
 */
static void
seg_move(struct engine *e, struct item *it, enum item_seg to,
         _Atomic uint64_t *(*moves)(struct lru_cell *))
{
    struct lru_cell *c = lru_cell_of(e, it);

    seg_count(c, item_seg(it), (uint64_t)-1);
    seg_count(c, to, 1);
    item_set_seg(it, to);
    if (moves != NULL) {
        lru_stat_add(moves(c), 1);
    }
    lru_stat_add(&e->lru_juggles, 1);
}

static _Atomic uint64_t *
to_cold(struct lru_cell *c)
{
    return &c->moves_to_cold;
}

static _Atomic uint64_t *
to_warm(struct lru_cell *c)
{
    return &c->moves_to_warm;
}

void
lru_count_link(struct engine *e, const struct item *it, bool new_item)
{
    unsigned id = item_lru_id(e, it);
    struct lru *l = &e->lru[id];
    size_t msize = item_msize(it);
    struct lru_cell *c = cell_in(e, id, msize);

    seg_count(c, item_seg(it), 1);

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
lru_count_unlink(struct engine *e, struct item *it)
{
    size_t msize = item_msize(it);
    struct lru_cell *c = cell_in(e, item_lru_id(e, it), msize);

    enum item_seg seg = item_seg(it);
    if (seg != SEG_COLD) {
        seg_count(c, seg, (uint64_t)-1);
        item_set_seg(it, SEG_COLD);
    }

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
        return;
    }
    lru_stat_add(&c->direct_reclaims, 1);
    lru_stat_add(&e->lru_juggles, 1);
    if (dead) {
        lru_stat_add(&c->reclaimed, 1);
        lru_stat_add(&c->expired_unfetched, unfetched);
    } else {
        uint32_t age = now > item_time(it) ? now - item_time(it) : 0;
        lru_stat_add(&c->evicted, 1);
        lru_stat_add(&c->evicted_nonzero, item_exptime(it) != 0);
        lru_stat_add(&c->evicted_unfetched, unfetched);
        lru_stat_add(&c->evicted_active, item_has(it, ITEM_ACTIVE));
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
    /*
     * A chunked item is judged once per run of its chunks, at the run's
     * first chunk, not at every segment: otherwise the hand, having
     * taken an item at the start of its run, would meet the item stored
     * into those very chunks (the free list hands them out again) a chunk
     * later and take it before it was ever read.
     */
    if (k == CHUNK_DATA && i > 0 && p->owners[i - 1] == it) {
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

/*
 * After the hand judged chunked item `it`, moves *c past the rest of the
 * item's run of chunks (and free chunks), across pages: the item is
 * judged once per pass, not at every segment, and when it was taken, the
 * item stored next gets those chunks back from the free list and must
 * land behind the hand like any new item, not just ahead of it. Nothing
 * is dereferenced: owners are compared as pointers (the class lock is
 * held, so no chunk changes hands meanwhile).
 */
static void
skip_run(const struct engine *e, unsigned id, struct lru_cursor *c,
         const struct item *it)
{
    for (uint32_t n = 0; n < LRU_SCAN_MAX; n++) {
        struct lru_cursor at = *c;
        struct slab_page *p;
        uint32_t i;
        if (!lru_cursor_next(e, id, c, &p, &i)) {
            break;
        }
        if (p->owners == NULL || (p->owners[i] != it && p->owners[i] != NULL)) {
            *c = at;
            break;
        }
    }
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
        bool chunked = item_has(it, ITEM_CHUNKED);
        bool force = chances >= LRU_SECOND_CHANCES || p->draining;
        enum lru_take t =
            lru_take(e, it, how | (force ? TAKE_FORCE : 0), true, r);
        chances += t == TAKE_CHANCE;
        taken = t >= TAKE_DEAD;
        if (chunked) {
            skip_run(e, id, &c, it);
        }
    }
    l->hand_page = c.page;
    l->hand_chunk = c.chunk;
    return taken;
}

/* ---- the segmented policy ------------------------------------------ */

/* Probation entries one eviction may judge, at most. */
#define LRU_RING_POPS 4096
/* Smallest probation ring; it grows with the class (a power of two). */
#define LRU_RING_MIN  64

static bool
segmented(const struct engine *e)
{
    return e->cfg.evictions &&
           atomic_load_explicit(&e->lru_segmented, memory_order_relaxed);
}

static uint64_t
class_chunks(const struct engine *e, unsigned id)
{
    return (uint64_t)slab_npages(&e->slab, id) * e->slab.classes[id].perslab;
}

/* Probation's share of class id, in items. */
static uint64_t
ring_target(const struct engine *e, unsigned id)
{
    uint32_t pct = atomic_load_explicit(&e->lru_hot_pct, memory_order_relaxed);
    return class_chunks(e, id) * (pct > 100 ? 100 : pct) / 100;
}

/* Slot of the i-th oldest entry (i < ring_cap). */
static uint32_t
ring_pos(const struct lru *l, uint32_t i)
{
    uint64_t p = (uint64_t)l->ring_head + i;
    return (uint32_t)(p >= l->ring_cap ? p - l->ring_cap : p);
}

/*
 * Grows the ring to hold `want` entries (and a quarter more, so that a
 * class growing page by page does not copy it every time), keeping their
 * order. False if it holds that many already or memory is short.
 */
static bool
ring_grow(struct lru *l, uint64_t want)
{
    uint64_t cap = want + want / 4;

    if (want <= l->ring_cap || cap > UINT32_MAX) {
        return false;
    }
    struct item **ring = malloc((size_t)cap * sizeof(*ring));
    if (ring == NULL) {
        return false;
    }
    for (uint32_t i = 0; i < l->ring_count; i++) {
        ring[i] = l->ring[ring_pos(l, i)];
    }
    free(l->ring);
    l->ring = ring;
    l->ring_cap = (uint32_t)cap;
    l->ring_head = 0;
    return true;
}

static void
ring_append(struct lru *l, struct item *it)
{
    l->ring[ring_pos(l, l->ring_count)] = it;
    l->ring_count++;
}

static struct item *
ring_shift(struct lru *l)
{
    struct item *it = l->ring[l->ring_head];

    l->ring_head = ring_pos(l, 1);
    l->ring_count--;
    return it;
}

/*
 * True if `it`, from class id's ring, is still an item header of class
 * id: its page may have moved to another class, or the chunk been freed
 * (the entry is then stale). Class lock held.
 */
static bool
ring_entry_header(const struct engine *e, unsigned id, struct item *it)
{
    struct slab_page *p = slab_page_of(&e->slab, it);

    if (p == NULL || atomic_load_explicit(&p->id, memory_order_relaxed) != id) {
        return false;
    }
    size_t off = (size_t)((char *)it - p->base);
    size_t size = e->slab.classes[id].size;
    struct item *x;
    if (off % size != 0 || off / size >= slab_ncut_locked(p)) {
        return false;
    }
    return lru_chunk_item(e, id, p, (uint32_t)(off / size), &x) ==
               CHUNK_HEADER &&
           x == it;
}

/* The tag of a key hash in the ghost (0 means empty). */
static uint16_t
ghost_tag(uint64_t hv)
{
    uint16_t t = (uint16_t)(hv >> 48);
    return t == 0 ? 1 : t;
}

static void
ghost_add(struct engine *e, uint64_t hv)
{
    struct lru_ghost *g =
        atomic_load_explicit(&e->lru_ghost, memory_order_acquire);
    if (g != NULL) {
        atomic_store_explicit(&g->tags[hv & g->mask], ghost_tag(hv),
                              memory_order_relaxed);
    }
}

/* Makes the ghost, sized for the items the cache holds now. */
static void
ghost_make(struct engine *e)
{
    uint64_t items = 0;
    uint64_t n = 1024;

    if (atomic_load_explicit(&e->lru_ghost, memory_order_relaxed) != NULL) {
        return;
    }
    for (unsigned i = 0; i < e->ncells; i++) {
        items += lru_stat(&e->cells[i].number);
    }
    /* half as many slots as items: a ghost of the recent half */
    while (n < items / 2 && n < (UINT64_C(1) << 32)) {
        n *= 2;
    }
    struct lru_ghost *g = calloc(1, sizeof(*g) + n * sizeof(g->tags[0]));
    struct lru_ghost *none = NULL;
    if (g == NULL) {
        return;
    }
    g->mask = n - 1;
    if (!atomic_compare_exchange_strong_explicit(&e->lru_ghost, &none, g,
                                                 memory_order_release,
                                                 memory_order_relaxed)) {
        free(g);
    }
}

enum ring_pop {
    POP_EMPTY = 0, /* nothing on probation */
    POP_MOVED,     /* an entry was judged or dropped; nothing freed */
    POP_TAKEN,     /* an item was evicted or reclaimed */
};

/*
 * Judges the oldest probation entry: dead -> reclaimed; read -> WARM;
 * unread -> evicted if `evict` and nobody pins it, else COLD. An item
 * still being created, or on a busy stripe, goes back to the tail.
 */
static enum ring_pop
ring_pop(struct engine *e, unsigned id, bool evict, struct reclaim *r)
{
    struct lru *l = &e->lru[id];

    if (l->ring_count == 0) {
        return POP_EMPTY;
    }
    struct item *it = ring_shift(l);
    if (!ring_entry_header(e, id, it) || item_seg(it) != SEG_HOT) {
        return POP_MOVED; /* stale */
    }
    unsigned f = atomic_load_explicit(&it->iflags, memory_order_acquire);
    if (!(f & ITEM_LINKED)) {
        ring_append(l, it); /* not linked yet */
        return POP_MOVED;
    }
    uint64_t hv = hash_bytes(item_key(it), it->nkey);
    if (!hashtable_trylock(&e->ht, hv)) {
        ring_append(l, it);
        return POP_MOVED;
    }
    enum ring_pop res = POP_MOVED;
    if (item_has(it, ITEM_LINKED) && item_seg(it) == SEG_HOT) {
        bool take = evict && r != NULL; /* r == NULL: no freeing here */
        enum lru_take t = take ? judge_locked(e, it, TAKE_FORCE) : TAKE_NO;
        if (t == TAKE_DEAD || (t == TAKE_LIVE && !item_has(it, ITEM_ACTIVE))) {
            count_removal(e, it, t == TAKE_DEAD, engine_clock(e), false);
            if (t == TAKE_LIVE && e->cfg.on_evict != NULL) {
                report_eviction(e, it);
            }
            if (t == TAKE_LIVE) {
                ghost_add(e, hv);
            }
            engine_unlink_locked(e, it, hv, r);
            res = POP_TAKEN;
        } else if (item_has(it, ITEM_ACTIVE)) {
            item_clear_iflags(it, ITEM_ACTIVE);
            seg_move(e, it, SEG_WARM, to_warm);
        } else {
            seg_move(e, it, SEG_COLD, to_cold);
        }
    }
    hashtable_unlock(&e->ht, hv);
    return res;
}

void
lru_claim_header_locked(struct engine *e, unsigned id, struct item *it)
{
    struct lru *l = &e->lru[id];
    enum item_seg seg = SEG_COLD;

    if (l->ring != NULL && segmented(e)) {
        if (l->ring_count == l->ring_cap &&
            !ring_grow(l, ring_target(e, id) + LRU_RING_MIN)) {
            (void)ring_pop(e, id, false, NULL); /* oldest to the main area */
        }
        if (l->ring_count < l->ring_cap) {
            ring_append(l, it);
            seg = SEG_HOT;
        }
    }
    atomic_store_explicit(&it->time, (uint32_t)seg << ITEM_SEG_SHIFT,
                          memory_order_relaxed);
}

void
lru_place_new(struct engine *e, struct item *it, uint32_t exptime)
{
    uint32_t now = engine_clock(e);

    if (item_has(it, ITEM_CHUNKED)) {
        item_set_seg(it, SEG_COLD);
        return;
    }
    struct lru_ghost *g =
        atomic_load_explicit(&e->lru_ghost, memory_order_acquire);
    if (g != NULL && item_seg(it) == SEG_HOT) {
        uint64_t hv = hash_bytes(item_key(it), it->nkey);
        if (atomic_load_explicit(&g->tags[hv & g->mask],
                                 memory_order_relaxed) == ghost_tag(hv)) {
            item_set_seg(it, SEG_COLD); /* back soon: skips probation */
        }
    }
    if (atomic_load_explicit(&e->lru_temp, memory_order_relaxed) &&
        segmented(e) && exptime != 0 &&
        exptime - now <=
            atomic_load_explicit(&e->lru_temp_ttl, memory_order_relaxed)) {
        item_set_seg(it, SEG_TEMP);
    }
}

void
lru_deinit_rings(struct engine *e)
{
    for (unsigned id = 0; id <= SLAB_MAX_CLASSES; id++) {
        free(e->lru[id].ring);
    }
    free(atomic_load_explicit(&e->lru_ghost, memory_order_relaxed));
}

/* WARM items of class id (all its cells). */
static uint64_t
class_warm(const struct engine *e, unsigned id)
{
    const struct lru *l = &e->lru[id];
    uint64_t n = 0;

    for (unsigned c = 0; c <= (unsigned)(l->mc_hi - l->mc_lo); c++) {
        n += lru_stat(&e->cells[l->cell0 + c].nseg[SEG_WARM]);
    }
    return n;
}

/*
 * The main area's rules for one item (see lru.h), under its stripe,
 * which is only trylocked. Returns TAKE_CHANCE for a move.
 */
static enum lru_take
judge_main(struct engine *e, struct item *it, unsigned how, bool warm_full,
           uint32_t warm_age, struct reclaim *r)
{
    unsigned f = atomic_load_explicit(&it->iflags, memory_order_acquire);
    bool force = (how & TAKE_FORCE) != 0;

    if (!(f & ITEM_LINKED) || ((how & TAKE_NO_CHUNKED) && (f & ITEM_CHUNKED))) {
        return TAKE_NO;
    }
    enum item_seg seg = item_seg(it);
    if ((seg == SEG_HOT && !force) || (seg == SEG_TEMP && !maybe_dead(e, it))) {
        return TAKE_NO;
    }
    uint64_t hv = hash_bytes(item_key(it), it->nkey);
    if (!hashtable_trylock(&e->ht, hv)) {
        return TAKE_NO;
    }
    enum lru_take t = TAKE_NO;
    seg = item_seg(it);
    bool active = item_has(it, ITEM_ACTIVE);
    if (!item_has(it, ITEM_LINKED) || seg == SEG_TEMP) {
        /* gone, or TEMP: only a dead one is taken */
        t = item_has(it, ITEM_LINKED) ? judge_locked(e, it, TAKE_DEAD_ONLY)
                                      : TAKE_NO;
    } else if (judge_locked(e, it, TAKE_DEAD_ONLY) == TAKE_DEAD) {
        t = TAKE_DEAD;
    } else if (force || (seg != SEG_WARM && !active)) {
        t = judge_locked(e, it, TAKE_FORCE); /* LIVE unless pinned */
    } else if (seg == SEG_WARM && active && !warm_full &&
               engine_clock(e) - item_time(it) <= warm_age) {
        item_clear_iflags(it, ITEM_ACTIVE);
        struct lru_cell *c = lru_cell_of(e, it);
        lru_stat_add(&c->moves_within_lru, 1);
        lru_stat_add(&e->lru_juggles, 1);
        t = TAKE_CHANCE;
    } else if (seg == SEG_WARM) {
        /* unread, WARM over its share or too old: a read one keeps its bit */
        seg_move(e, it, SEG_COLD, to_cold);
        t = TAKE_CHANCE;
    } else {
        item_clear_iflags(it, ITEM_ACTIVE);
        seg_move(e, it, SEG_WARM, to_warm);
        t = TAKE_CHANCE;
    }
    if (t >= TAKE_DEAD) {
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

/* The main area's sweep: the CLOCK hand with segments (see lru.h). */
static bool
sweep_main(struct engine *e, unsigned id, struct reclaim *r)
{
    struct lru *l = &e->lru[id];
    struct lru_cursor c = {l->hand_page, l->hand_chunk};
    uint64_t nchunks = class_chunks(e, id);
    uint64_t limit = 3 * nchunks + 1;
    unsigned how = hand_rules(e, id);
    uint32_t wpct =
        atomic_load_explicit(&e->lru_warm_pct, memory_order_relaxed);
    bool warm_full = class_warm(e, id) * 100 > lru_class_items(e, id) * wpct;
    double wf = atomic_load_explicit(&e->lru_warm_factor, memory_order_relaxed);
    uint32_t eage = atomic_load_explicit(&l->evict_age, memory_order_relaxed);
    /* WARM's age limit; none until the class has evicted (or NaN) */
    double wlimit = wf * eage;
    uint32_t warm_age =
        eage != 0 && wlimit < UINT32_MAX ? (uint32_t)wlimit : UINT32_MAX;
    unsigned chances = 0;
    bool taken = false;

    if (limit > LRU_SCAN_MAX) {
        limit = LRU_SCAN_MAX;
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
        bool chunked = item_has(it, ITEM_CHUNKED);
        bool force = chances >= LRU_SECOND_CHANCES || p->draining;
        enum lru_take t = judge_main(e, it, how | (force ? TAKE_FORCE : 0),
                                     warm_full, warm_age, r);
        chances += t == TAKE_CHANCE;
        taken = t >= TAKE_DEAD;
        if (chunked) {
            skip_run(e, id, &c, it);
        }
    }
    l->hand_page = c.page;
    l->hand_chunk = c.chunk;
    return taken;
}

/*
 * True if the probation head has waited longer than hot_max_factor times
 * the class's eviction age (how long main-area items live).
 */
static bool
ring_head_old(const struct engine *e, unsigned id)
{
    const struct lru *l = &e->lru[id];
    double factor =
        atomic_load_explicit(&e->lru_hot_factor, memory_order_relaxed);
    uint32_t age = atomic_load_explicit(&l->evict_age, memory_order_relaxed);
    uint32_t now = engine_clock(e);

    if (l->ring_count == 0 || age == 0) {
        return false;
    }
    struct item *it = l->ring[l->ring_head];
    if (!ring_entry_header(e, id, it)) {
        return true; /* stale: dropping it costs nothing */
    }
    uint32_t t = item_time(it);
    return now > t && (double)(now - t) > factor * age;
}

static bool
evict_segmented(struct engine *e, unsigned id, struct reclaim *r)
{
    struct lru *l = &e->lru[id];
    uint64_t target = ring_target(e, id);
    int pops = 0;

    if (l->ring == NULL && !ring_grow(l, target + LRU_RING_MIN)) {
        return sweep(e, id, r);
    }
    ghost_make(e);
    while (pops < LRU_RING_POPS &&
           (l->ring_count > target || ring_head_old(e, id))) {
        pops++;
        if (ring_pop(e, id, true, r) == POP_TAKEN) {
            return true;
        }
    }
    if (sweep_main(e, id, r)) {
        return true;
    }
    while (pops < LRU_RING_POPS) {
        pops++;
        enum ring_pop res = ring_pop(e, id, true, r);
        if (res == POP_TAKEN) {
            return true;
        }
        if (res == POP_EMPTY) {
            break;
        }
    }
    /* what the pops promoted or demoted is in the main area now */
    return sweep_main(e, id, r);
}

enum lru_result
lru_evict_locked(struct engine *e, unsigned id, struct reclaim *r)
{
    bool taken = reclaim_ahead(e, id, r);

    if (!taken) {
        taken = segmented(e) ? evict_segmented(e, id, r) : sweep(e, id, r);
    }
    if (!taken) {
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
lru_seg_age(struct engine *e, unsigned id, unsigned mc, unsigned segs)
{
    uint32_t now = engine_clock(e);
    uint32_t age = 0;

    slab_lock(&e->slab, id);
    if (segs == 1u << SEG_HOT) {
        const struct lru *l = &e->lru[id];
        for (uint32_t n = 0; n < l->ring_count && n < LRU_AGE_SCAN; n++) {
            struct item *it = l->ring[ring_pos(l, n)];
            if (ring_entry_header(e, id, it) && own_item(e, id, it) &&
                item_seg(it) == SEG_HOT &&
                engine_msize_class(e, item_msize(it)) == mc) {
                age = now > item_time(it) ? now - item_time(it) : 0;
                break;
            }
        }
        slab_unlock(&e->slab, id);
        return age;
    }
    struct lru_cursor c = {e->lru[id].hand_page, e->lru[id].hand_chunk};
    for (int n = 0; n < LRU_AGE_SCAN; n++) {
        struct slab_page *p;
        uint32_t i;
        if (!lru_cursor_next(e, id, &c, &p, &i)) {
            break;
        }
        struct item *it = lru_hand_item(e, id, p, i);
        if (it != NULL && own_item(e, id, it) &&
            (segs & (1u << item_seg(it))) &&
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
