/*
 * The engine's statistics (engine.h, from engine_stats() on): totals,
 * per-class item and memory numbers in memcached's class ids, stats
 * reset, the sizes histogram and cachedump. The counters themselves are
 * the cells of lru.h; docs/ENGINE.md#class-ids says how the engine's
 * classes map to memcached's.
 */
#include "engine/engine.h"

#include "engine/engine_internal.h"
#include "engine/item.h"

#include <stdlib.h>
#include <string.h>

/* engine_now() - uptime: memcached's `uptime` is its clock less 60 s. */
#define ENGINE_UPTIME_OFFSET (ENGINE_START_TIME - 2)

void
engine_stats(struct engine *e, struct engine_stats *out)
{
    unsigned power = hashtable_power(&e->ht);
    uint64_t moved = slab_pages_moved(&e->slab);
    uint64_t base = atomic_load_explicit(&e->moved_base, memory_order_relaxed);

    memset(out, 0, sizeof(*out));
    out->hash_power_level = power;
    out->hash_bytes = ((uint64_t)1 << power) * sizeof(void *);
    out->hash_is_expanding = hashtable_expanding(&e->ht);
    for (unsigned i = 0; i < e->ncells; i++) {
        const struct lru_cell *c = &e->cells[i];
        out->bytes += lru_stat(&c->bytes);
        out->curr_items += lru_stat(&c->number);
        out->total_items += lru_stat(&c->total_items);
        out->expired_unfetched += lru_stat(&c->expired_unfetched);
        out->evicted_unfetched += lru_stat(&c->evicted_unfetched);
        out->evictions += lru_stat(&c->evicted);
        out->reclaimed += lru_stat(&c->reclaimed);
        out->evicted_active += lru_stat(&c->evicted_active);
        out->moves_to_cold += lru_stat(&c->moves_to_cold);
        out->moves_to_warm += lru_stat(&c->moves_to_warm);
        out->moves_within_lru += lru_stat(&c->moves_within_lru);
        out->direct_reclaims += lru_stat(&c->direct_reclaims);
    }
    for (unsigned id = 0; id <= ENGINE_MAX_CLASS_ID; id++) {
        out->crawler_reclaimed += lru_stat(&e->mc[id].crawler_reclaimed);
        out->crawler_items_checked +=
            lru_stat(&e->mc[id].crawler_items_checked);
    }
    out->lru_maintainer_juggles = lru_stat(&e->lru_juggles);
    out->slab_global_page_pool = slab_pool_pages(&e->slab);
    out->slabs_moved = moved > base ? moved - base : 0;
    out->total_malloced = slab_total_malloced(&e->slab);
    engine_mover_stats(e, out);
}

unsigned
engine_class_max(const struct engine *e)
{
    return e->slab.mc_nclasses;
}

unsigned
engine_item_class(const struct engine *e, const struct item *it)
{
    return engine_msize_class(e, item_msize(it));
}

void
engine_count_oom(struct engine *e, size_t msize)
{
    lru_stat_add(&e->mc[engine_msize_class(e, msize)].outofmemory, 1);
}

/* Adds the cells of memcached class id to *out; returns the age. */
static void
class_items(struct engine *e, unsigned id, struct engine_class_stats *out)
{
    uint32_t age = 0;
    uint32_t age_hot = 0;
    uint32_t age_warm = 0;
    bool seg = atomic_load_explicit(&e->lru_segmented, memory_order_relaxed);

    for (unsigned f = 1; f <= e->slab.nclasses; f++) {
        const struct lru *l = &e->lru[f];
        if (id < l->mc_lo || id > l->mc_hi) {
            continue;
        }
        const struct lru_cell *c = &e->cells[l->cell0 + id - l->mc_lo];
        uint64_t number = lru_stat(&c->number);
        out->number += number;
        out->mem_requested += lru_stat(&c->bytes);
        out->evicted += lru_stat(&c->evicted);
        out->evicted_nonzero += lru_stat(&c->evicted_nonzero);
        out->reclaimed += lru_stat(&c->reclaimed);
        out->expired_unfetched += lru_stat(&c->expired_unfetched);
        out->evicted_unfetched += lru_stat(&c->evicted_unfetched);
        out->number_hot += lru_stat(&c->nseg[SEG_HOT]);
        out->number_warm += lru_stat(&c->nseg[SEG_WARM]);
        out->number_temp += lru_stat(&c->nseg[SEG_TEMP]);
        out->moves_to_cold += lru_stat(&c->moves_to_cold);
        out->moves_to_warm += lru_stat(&c->moves_to_warm);
        out->moves_within_lru += lru_stat(&c->moves_within_lru);
        out->evicted_active += lru_stat(&c->evicted_active);
        out->direct_reclaims += lru_stat(&c->direct_reclaims);
        if (number > 0) {
            /* segmented: COLD's oldest; flat: the hand's next item */
            uint32_t a = lru_seg_age(e, f, id, seg ? 1u << SEG_COLD : ~0u);
            age = a > age ? a : age;
            if (seg) {
                a = lru_seg_age(e, f, id, 1u << SEG_HOT);
                age_hot = a > age_hot ? a : age_hot;
                a = lru_seg_age(e, f, id, 1u << SEG_WARM);
                age_warm = a > age_warm ? a : age_warm;
            }
        }
    }
    /* COLD is what the other segments leave (gauges read one by one) */
    uint64_t other = out->number_hot + out->number_warm + out->number_temp;
    out->number_cold = out->number > other ? out->number - other : 0;
    out->age = age;
    out->age_hot = age_hot;
    out->age_warm = age_warm;
    out->evicted_time =
        atomic_load_explicit(&e->mc[id].evicted_time, memory_order_relaxed);
    out->outofmemory = lru_stat(&e->mc[id].outofmemory);
    out->crawler_reclaimed = lru_stat(&e->mc[id].crawler_reclaimed);
    out->crawler_items_checked = lru_stat(&e->mc[id].crawler_items_checked);
}

/*
 * The memcached class engine class f's pages are shown in: the one most
 * of its items belong to right now (so pages follow the items when f
 * straddles a boundary of memcached's table), or, while f holds no item,
 * the class of the largest item it can hold.
 */
unsigned
engine_pages_class(const struct engine *e, unsigned f)
{
    const struct lru *l = &e->lru[f];
    unsigned best = l->mc_pages;
    uint64_t most = 0;

    for (unsigned mc = l->mc_lo; mc <= l->mc_hi; mc++) {
        uint64_t n = lru_stat(&e->cells[l->cell0 + mc - l->mc_lo].number);
        if (n > most) {
            most = n;
            best = mc;
        }
    }
    return best;
}

/* The pages of the engine's classes shown in memcached class id. */
static void
class_memory(struct engine *e, unsigned id, struct engine_class_stats *out)
{
    for (unsigned f = 1; f <= e->slab.nclasses; f++) {
        if (engine_pages_class(e, f) != id) {
            continue;
        }
        uint64_t pages = slab_npages(&e->slab, f);
        out->total_pages += pages;
        out->total_chunks += pages * e->slab.classes[f].perslab;
        out->used_chunks += lru_used_chunks(e, f);
    }
    out->free_chunks = out->total_chunks > out->used_chunks
                           ? out->total_chunks - out->used_chunks
                           : 0;
    out->free_chunks_end = 0;
}

bool
engine_class_stats(struct engine *e, unsigned id,
                   struct engine_class_stats *out)
{
    if (id < 1 || id > e->slab.mc_nclasses) {
        return false;
    }
    memset(out, 0, sizeof(*out));
    out->id = id;
    out->chunk_size = e->slab.mc_sizes[id];
    out->chunks_per_page = SLAB_PAGE_SIZE / e->slab.mc_sizes[id];
    class_items(e, id, out);
    class_memory(e, id, out);
    return true;
}

uint32_t
engine_uptime(const struct engine *e)
{
    return engine_clock(e) - ENGINE_UPTIME_OFFSET;
}

uint32_t
engine_oldest(const struct engine *e)
{
    return atomic_load_explicit(&e->flush_time, memory_order_relaxed);
}

static void
zero(_Atomic uint64_t *c)
{
    atomic_store_explicit(c, 0, memory_order_relaxed);
}

/*
 * What memcached's `stats reset` clears in its item and slab code: the
 * per-class item counters (evicted_time included), total_items and
 * slabs_moved. A counter bumped while this runs may keep its increment.
 */
void
engine_stats_reset(struct engine *e)
{
    for (unsigned i = 0; i < e->ncells; i++) {
        struct lru_cell *c = &e->cells[i];
        zero(&c->total_items);
        zero(&c->evicted);
        zero(&c->evicted_nonzero);
        zero(&c->evicted_unfetched);
        zero(&c->reclaimed);
        zero(&c->expired_unfetched);
        zero(&c->moves_to_cold);
        zero(&c->moves_to_warm);
        zero(&c->moves_within_lru);
        zero(&c->evicted_active);
        zero(&c->direct_reclaims);
    }
    for (unsigned id = 0; id <= ENGINE_MAX_CLASS_ID; id++) {
        zero(&e->mc[id].outofmemory);
        zero(&e->mc[id].crawler_reclaimed);
        zero(&e->mc[id].crawler_items_checked);
        atomic_store_explicit(&e->mc[id].evicted_time, 0, memory_order_relaxed);
    }
    zero(&e->lru_juggles);
    atomic_store_explicit(&e->moved_base, slab_pages_moved(&e->slab),
                          memory_order_relaxed);
    zero(&e->mover.rescues);
    zero(&e->mover.evictions_nomem);
    zero(&e->mover.inline_reclaim);
    zero(&e->mover.busy_items);
    zero(&e->mover.busy_deletes);
    zero(&e->crawler.starts);
}

/* ---- stats sizes ---------------------------------------------------- */

void
engine_sizes_count(struct engine *e, const struct item *it, int delta)
{
    uint64_t min =
        atomic_load_explicit(&e->sizes_cas_min, memory_order_relaxed);
    size_t bucket = (item_msize(it) + 31) / 32;

    /* items stored before the enable are not counted, in or out */
    if (item_cas(it) < min || bucket >= e->sizes_nbuckets) {
        return;
    }
    atomic_fetch_add_explicit(&e->sizes_hist[bucket], (uint32_t)delta,
                              memory_order_relaxed);
}

enum engine_sizes_status
engine_sizes_enable(struct engine *e)
{
    if (!e->cfg.cas_enabled) {
        return ENGINE_SIZES_NO_CAS;
    }
    engine_sizes_start(e, false);
    return ENGINE_SIZES_OK;
}

void
engine_sizes_start(struct engine *e, bool count_all)
{
    pthread_mutex_lock(&e->sizes_lock);
    if (!atomic_load_explicit(&e->sizes_on, memory_order_relaxed)) {
        if (e->sizes_hist == NULL) {
            e->sizes_hist = calloc(e->sizes_nbuckets, sizeof(*e->sizes_hist));
        }
        if (e->sizes_hist != NULL) {
            for (size_t i = 0; i < e->sizes_nbuckets; i++) {
                atomic_store_explicit(&e->sizes_hist[i], 0,
                                      memory_order_relaxed);
            }
            /*
             * memcached takes a CAS unique for the boundary, too. Without
             * CAS (-C, only from startup) every item reads 0: below the
             * boundary (none counted) unless count_all made it 0.
             */
            uint64_t min = engine_next_cas(e);
            min = count_all ? 0 : min > 0 ? min : 1;
            atomic_store_explicit(&e->sizes_cas_min, min, memory_order_relaxed);
            /* release: the array is there before anyone counts in it */
            atomic_store_explicit(&e->sizes_on, true, memory_order_release);
        }
    }
    pthread_mutex_unlock(&e->sizes_lock);
}

void
engine_sizes_disable(struct engine *e)
{
    pthread_mutex_lock(&e->sizes_lock);
    atomic_store_explicit(&e->sizes_on, false, memory_order_relaxed);
    pthread_mutex_unlock(&e->sizes_lock);
}

bool
engine_sizes_enabled(const struct engine *e)
{
    return atomic_load_explicit(&e->sizes_on, memory_order_relaxed);
}

void
engine_sizes(struct engine *e, engine_size_fn fn, void *ctx)
{
    pthread_mutex_lock(&e->sizes_lock);
    if (atomic_load_explicit(&e->sizes_on, memory_order_relaxed)) {
        for (size_t i = 0; i < e->sizes_nbuckets; i++) {
            uint32_t n =
                atomic_load_explicit(&e->sizes_hist[i], memory_order_relaxed);
            if (n != 0) {
                fn(ctx, i * 32, n);
            }
        }
    }
    pthread_mutex_unlock(&e->sizes_lock);
}

/* ---- stats cachedump ------------------------------------------------ */

void
engine_cachedump(struct engine *e, unsigned id, unsigned limit,
                 engine_dump_fn fn, void *ctx)
{
    if (id >= 1 && id <= e->slab.mc_nclasses) {
        lru_dump(e, id, limit, fn, ctx);
    }
}
