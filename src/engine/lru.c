#include "engine/lru.h"

#include "engine/engine_internal.h"
#include "engine/item.h"

/* Tail items searched for an expired/flushed one before evicting. */
#define LRU_RECLAIM_SEARCH 5
/*
 * Active items given a second chance in one eviction; past that the
 * walk evicts the next unpinned item whatever its bit, so a store never
 * fails just because everything was read recently. Items skipped as
 * pinned or locked count too, up to LRU_EVICT_SEARCH in all.
 */
#define LRU_SECOND_CHANCES 256
#define LRU_EVICT_SEARCH   (LRU_SECOND_CHANCES + 64)

static void
list_push(struct lru *l, struct item *it)
{
    it->prev = NULL;
    it->next = l->head;
    if (l->head != NULL) {
        l->head->prev = it;
    }
    l->head = it;
    if (l->tail == NULL) {
        l->tail = it;
    }
}

static void
list_remove(struct lru *l, struct item *it)
{
    if (it->prev != NULL) {
        it->prev->next = it->next;
    } else {
        l->head = it->next;
    }
    if (it->next != NULL) {
        it->next->prev = it->prev;
    } else {
        l->tail = it->prev;
    }
    it->prev = NULL;
    it->next = NULL;
}

void
lru_link_locked(struct lru *l, struct item *it, bool new_item)
{
    list_push(l, it);
    lru_stat_add(&l->curr_items, 1);
    if (new_item) {
        lru_stat_add(&l->total_items, 1);
    }
    lru_stat_add(&l->bytes, item_msize(it));
}

void
lru_unlink_locked(struct lru *l, struct item *it)
{
    list_remove(l, it);
    lru_stat_add(&l->curr_items, (uint64_t)-1);
    lru_stat_add(&l->bytes, (uint64_t)0 - item_msize(it));
}

static void
count_removal(struct lru *l, const struct item *it, bool dead)
{
    bool unfetched = !item_has(it, ITEM_FETCHED);

    if (dead) {
        lru_stat_add(&l->reclaimed, 1);
        lru_stat_add(&l->expired_unfetched, unfetched);
    } else {
        lru_stat_add(&l->evictions, 1);
        lru_stat_add(&l->evicted_unfetched, unfetched);
    }
}

/*
 * Unlinks and frees `it` if nobody else can see it (we get its stripe
 * without waiting and it is not pinned) and it is dead, or live and
 * `live_ok`. Returns true if it was taken.
 */
static bool
try_take(struct engine *e, unsigned id, struct item *it, bool live_ok)
{
    uint64_t hv = hash_bytes(item_key(it), it->nkey);
    bool taken = false;

    if (!hashtable_trylock(&e->ht, hv)) {
        return false;
    }
    if (atomic_load_explicit(&it->refcount, memory_order_acquire) == 1) {
        uint32_t now = engine_clock(e);
        bool dead = item_is_expired(it, now) || engine_item_flushed(e, it, now);
        if (dead || live_ok) {
            count_removal(&e->lru[id], it, dead);
            engine_unlink_locked(e, it, hv, id);
            taken = true;
        }
    }
    hashtable_unlock(&e->ht, hv);
    return taken;
}

static bool
reclaim_dead_locked(struct engine *e, unsigned id)
{
    struct item *it = e->lru[id].tail;

    for (int n = 0; it != NULL && n < LRU_RECLAIM_SEARCH; n++) {
        struct item *prev = it->prev;
        if (try_take(e, id, it, false)) {
            return true;
        }
        it = prev;
    }
    return false;
}

bool
lru_evict_locked(struct engine *e, unsigned id)
{
    struct lru *l = &e->lru[id];

    if (reclaim_dead_locked(e, id)) {
        return true;
    }
    if (!e->cfg.evictions) {
        return false;
    }
    struct item *it = l->tail;
    for (int n = 0; it != NULL && n < LRU_EVICT_SEARCH; n++) {
        struct item *prev = it->prev;
        if (n < LRU_SECOND_CHANCES && item_has(it, ITEM_ACTIVE)) {
            item_clear_iflags(it, ITEM_ACTIVE);
            list_remove(l, it);
            list_push(l, it);
        } else if (try_take(e, id, it, true)) {
            return true;
        }
        it = prev;
    }
    return false;
}
