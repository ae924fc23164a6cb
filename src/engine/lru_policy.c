/*
 * lru_policy - the eviction policy's settings (engine_lru_get/set, which
 * `lru tune|mode|temp_ttl` and the -o options drive) and the segment a
 * reader sees on an item (engine_item_seg, engine_hit_class). The policy
 * itself is in lru.c (lru.h explains it).
 */
#include "engine/engine.h"
#include "engine/engine_internal.h"
#include "engine/item.h"
#include "engine/lru.h"

void
engine_lru_get(const struct engine *e, struct engine_lru_tune *out)
{
    out->segmented =
        atomic_load_explicit(&e->lru_segmented, memory_order_relaxed);
    out->hot_pct = atomic_load_explicit(&e->lru_hot_pct, memory_order_relaxed);
    out->warm_pct =
        atomic_load_explicit(&e->lru_warm_pct, memory_order_relaxed);
    out->hot_max_factor =
        atomic_load_explicit(&e->lru_hot_factor, memory_order_relaxed);
    out->warm_max_factor =
        atomic_load_explicit(&e->lru_warm_factor, memory_order_relaxed);
    out->temp_lru = atomic_load_explicit(&e->lru_temp, memory_order_relaxed);
    out->temp_ttl =
        atomic_load_explicit(&e->lru_temp_ttl, memory_order_relaxed);
}

void
engine_lru_set(struct engine *e, const struct engine_lru_tune *t)
{
    atomic_store_explicit(&e->lru_segmented, t->segmented,
                          memory_order_relaxed);
    atomic_store_explicit(&e->lru_hot_pct, t->hot_pct, memory_order_relaxed);
    atomic_store_explicit(&e->lru_warm_pct, t->warm_pct, memory_order_relaxed);
    atomic_store_explicit(&e->lru_hot_factor, t->hot_max_factor,
                          memory_order_relaxed);
    atomic_store_explicit(&e->lru_warm_factor, t->warm_max_factor,
                          memory_order_relaxed);
    atomic_store_explicit(&e->lru_temp, t->temp_lru, memory_order_relaxed);
    atomic_store_explicit(&e->lru_temp_ttl, t->temp_ttl, memory_order_relaxed);
}

_Static_assert(SEG_HOT == (int)ENGINE_SEG_HOT &&
                   SEG_WARM == (int)ENGINE_SEG_WARM &&
                   SEG_COLD == (int)ENGINE_SEG_COLD &&
                   SEG_TEMP == (int)ENGINE_SEG_TEMP,
               "item_seg and engine_seg share one order");

enum engine_seg
engine_item_seg(const struct item *it)
{
    return (enum engine_seg)item_seg(it); /* the same order */
}

bool
engine_temp_lru(const struct engine *e)
{
    return atomic_load_explicit(&e->lru_temp, memory_order_relaxed);
}

unsigned
engine_hit_class(const struct engine *e, const struct item *it)
{
    return engine_item_class(e, it) | (unsigned)engine_item_seg(it)
                                          << ENGINE_HIT_SEG_SHIFT;
}

uint64_t
engine_lru_juggles(const struct engine *e)
{
    return lru_stat(&e->lru_juggles);
}
