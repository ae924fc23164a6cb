/* dump - stats cachedump: the newest items of one memcached class. */
#include "engine/engine_internal.h"
#include "engine/hashtable.h"
#include "engine/item.h"
#include "engine/lru.h"

#include <stdlib.h>
#include <string.h>

/*
 * stats cachedump. memcached stops its reply at 2 MiB, and no line is
 * shorter than 19 bytes ("ITEM k [0 b; 0 s]" and CRLF), so no reply
 * lists more items than this.
 */
#define LRU_DUMP_MAX ((2u << 20) / 19 + 1)

/*
 * An item found by the first pass: where, its key's hash and time (to
 * know it again in the second pass) and its CAS (0 if its stripe was
 * busy: the CAS is read only under the stripe lock).
 */
struct dump_entry {
    struct item *it;
    uint64_t hv;
    uint64_t cas;
    uint32_t time;
};

struct dump_list {
    struct dump_entry *v;
    size_t n;
    size_t cap;  /* allocated */
    size_t keep; /* entries wanted */
};

/*
 * Newest first: latest time (last store or touch), then highest CAS
 * (store order within a second), then the later chunk.
 */
static int
dump_cmp(const void *a, const void *b)
{
    const struct dump_entry *x = a;
    const struct dump_entry *y = b;

    if (x->time != y->time) {
        return x->time > y->time ? -1 : 1;
    }
    if (x->cas != y->cas) {
        return x->cas > y->cas ? -1 : 1;
    }
    return x->it > y->it ? -1 : x->it < y->it;
}

static void
dump_trim(struct dump_list *d)
{
    if (d->n > 1) {
        qsort(d->v, d->n, sizeof(*d->v), dump_cmp);
    }
    if (d->n > d->keep) {
        d->n = d->keep;
    }
}

/* Adds an entry, keeping the newest `keep` once the list fills. */
static bool
dump_add(struct engine *e, struct dump_list *d, struct item *it)
{
    struct dump_entry en = {it, hash_bytes(item_key(it), it->nkey), 0,
                            item_time(it)};

    if (hashtable_trylock(&e->ht, en.hv)) {
        en.cas = item_cas(it);
        hashtable_unlock(&e->ht, en.hv);
    }
    if (d->n == d->cap) {
        if (d->cap >= 2 * d->keep) {
            dump_trim(d);
        } else {
            size_t cap = d->cap == 0 ? 256 : 2 * d->cap;
            struct dump_entry *v = realloc(d->v, cap * sizeof(*v));
            if (v == NULL) {
                return false;
            }
            d->v = v;
            d->cap = cap;
        }
    }
    d->v[d->n++] = en;
    return true;
}

/*
 * The linked item whose header is chunk i of page p of class id, or
 * NULL. In the largest class a chunked item is found through the data
 * chunk holding its first segment (its header may live in any class).
 */
struct item *
dump_item_at(const struct engine *e, unsigned id, const struct slab_page *p,
             uint32_t i)
{
    struct item *it;
    enum chunk_kind k = lru_chunk_item(e, id, p, i, &it);

    if (k == CHUNK_FREE || (k == CHUNK_DATA && id != e->slab.nclasses)) {
        return NULL;
    }
    /* acquire: a linked item's header and segment table are written */
    unsigned f = atomic_load_explicit(&it->iflags, memory_order_acquire);
    if (!(f & ITEM_LINKED)) {
        return NULL;
    }
    if (id == e->slab.nclasses && (f & ITEM_CHUNKED)) {
        const struct item_chunks *ch = item_chunks(it);
        return ch->segs[0].ptr == slab_chunk_locked(&e->slab, id, p, i) ? it
                                                                        : NULL;
    }
    return k == CHUNK_HEADER && !(f & ITEM_CHUNKED) ? it : NULL;
}

/* First pass: every linked item of memcached class mc in class id. */
static bool
dump_collect(struct engine *e, unsigned id, unsigned mc, struct dump_list *d)
{
    bool ok = true;

    slab_lock(&e->slab, id);
    for (uint32_t pi = 0; ok && pi < slab_npages(&e->slab, id); pi++) {
        const struct slab_page *p = slab_page_locked(&e->slab, id, pi);
        for (uint32_t i = 0; ok && i < slab_ncut_locked(p); i++) {
            struct item *it = dump_item_at(e, id, p, i);
            if (it != NULL && engine_msize_class(e, item_msize(it)) == mc) {
                ok = dump_add(e, d, it);
            }
        }
    }
    slab_unlock(&e->slab, id);
    return ok;
}

/* True if chunk `it` is still the header of a linked item (class lock). */
static bool
still_header_locked(const struct engine *e, unsigned id,
                    const struct dump_entry *en)
{
    struct slab_page *p = slab_page_of(&e->slab, en->it);
    size_t off = (size_t)((char *)en->it - p->base);
    uint32_t i = (uint32_t)(off / e->slab.classes[id].size);
    struct item *it;

    if (off % e->slab.classes[id].size != 0 || i >= slab_ncut_locked(p) ||
        lru_chunk_item(e, id, p, i, &it) != CHUNK_HEADER || it != en->it) {
        return false;
    }
    /* acquire: the key of a linked item is written (engine_internal.h) */
    unsigned f = atomic_load_explicit(&it->iflags, memory_order_acquire);
    return (f & ITEM_LINKED) && item_time(it) == en->time &&
           hash_bytes(item_key(it), it->nkey) == en->hv;
}

/*
 * Second pass, newest first: each entry is checked again under the lock
 * of its header's class (which keeps the header from being freed: it is
 * freed last, item.c) and handed to fn under that lock.
 */
static void
dump_emit(struct engine *e, const struct dump_list *d, engine_dump_fn fn,
          void *ctx)
{
    for (size_t k = 0; k < d->n; k++) {
        const struct dump_entry *en = &d->v[k];
        unsigned id = slab_class_of(&e->slab, en->it);
        if (id == 0) {
            continue; /* its page went to the pool */
        }
        slab_lock(&e->slab, id);
        bool more = true;
        if (slab_class_of(&e->slab, en->it) == id &&
            still_header_locked(e, id, en)) {
            uint32_t exp = item_exptime(en->it);
            struct engine_dump_item di = {
                .key = slice_make(item_key(en->it), en->it->nkey),
                .nbytes = en->it->nbytes,
                .exptime = exp == 0 ? 0 : e->epoch_unix + exp,
                .binary_key = item_has(en->it, ITEM_BINKEY),
            };
            more = fn(ctx, &di);
        }
        slab_unlock(&e->slab, id);
        if (!more) {
            break;
        }
    }
}

void
lru_dump(struct engine *e, unsigned mc, unsigned limit, engine_dump_fn fn,
         void *ctx)
{
    struct dump_list d = {
        .keep = limit > 0 && limit < LRU_DUMP_MAX ? limit : LRU_DUMP_MAX,
    };
    bool ok = true;

    for (unsigned id = 1; ok && id <= e->slab.nclasses; id++) {
        const struct lru *l = &e->lru[id];
        if (mc >= l->mc_lo && mc <= l->mc_hi) {
            ok = dump_collect(e, id, mc, &d);
        }
    }
    if (ok) {
        dump_trim(&d);
        dump_emit(e, &d, fn, ctx);
    }
    free(d.v);
}

/* ---- engine_walk: key dumps (lru_crawler metadump, mgdump) ---- */

/* Chunks looked at, or buckets visited, per engine_walk_next() call. */
#define WALK_CHUNKS  512
#define WALK_BUCKETS 256

/* One item copied out under the locks; the callback runs without them. */
struct walk_slot {
    struct engine_walk_item meta;
    uint64_t hv;
    bool recheck; /* its stripe was busy: read it again by key */
    char key[ITEM_KEY_MAX];
};

struct engine_walk {
    uint64_t classes; /* bit i: memcached class i */
    bool hash;
    bool done;
    /* class walk: the engine class and the position in its chunks */
    unsigned id;
    uint32_t page;
    uint32_t chunk;
    /* hash walk: buckets of a table of 2^power buckets, taken at start */
    unsigned power;
    uint64_t bucket;
    /* the batch: every item of one call */
    struct walk_slot *slots;
    size_t n;
    size_t cap;
};

struct engine_walk *
engine_walk_start(struct engine *e, uint64_t classes, bool hash)
{
    struct engine_walk *w = calloc(1, sizeof(*w));

    if (w == NULL) {
        return NULL;
    }
    w->classes = classes;
    w->hash = hash;
    w->id = 1;
    w->power = hashtable_power(&e->ht);
    return w;
}

void
engine_walk_free(struct engine_walk *w)
{
    if (w != NULL) {
        free(w->slots);
        free(w);
    }
}

/* A free slot at the end of the batch, or NULL when out of memory. */
static struct walk_slot *
walk_slot(struct engine_walk *w)
{
    if (w->n == w->cap) {
        size_t cap = w->cap == 0 ? 64 : 2 * w->cap;
        struct walk_slot *v = realloc(w->slots, cap * sizeof(*v));
        if (v == NULL) {
            return NULL;
        }
        w->slots = v;
        w->cap = cap;
    }
    return &w->slots[w->n];
}

/* True if the item's memcached class is one the walk wants. */
static bool
walk_wants(const struct engine *e, const struct engine_walk *w,
           const struct item *it)
{
    unsigned mc = engine_msize_class(e, item_msize(it));
    return mc < 64 && (w->classes >> mc & 1u);
}

/*
 * Copies a linked item's metadata into slot s. The key and the atomics
 * may be read with the class lock alone; the CAS and the flush test need
 * the stripe (`locked`), else the slot is read again by key later.
 */
static void
walk_copy(const struct engine *e, struct walk_slot *s, const struct item *it,
          uint64_t hv, bool locked)
{
    uint32_t exp = item_exptime(it);
    size_t msize = item_msize(it);

    memcpy(s->key, item_key(it), it->nkey);
    s->hv = hv;
    s->recheck = !locked;
    s->meta = (struct engine_walk_item){
        .key = slice_make(s->key, it->nkey),
        .exptime = exp == 0 ? -1 : e->epoch_unix + exp,
        .last_access = e->epoch_unix + item_time(it),
        .cas = locked ? item_cas(it) : 0,
        .size = msize,
        .cls = engine_msize_class(e, msize),
        .fetched = item_has(it, ITEM_FETCHED),
        .binary_key = item_has(it, ITEM_BINKEY),
    };
}

/* True if the item is dead (expired or flushed). Needs its stripe. */
static bool
walk_dead_locked(const struct engine *e, const struct item *it)
{
    uint32_t now = engine_clock(e);
    return item_is_expired(it, now) || engine_item_flushed(e, it, now);
}

/* Class walk: up to WALK_CHUNKS chunks of class w->id, one lock. */
static bool
walk_class_batch(struct engine *e, struct engine_walk *w)
{
    unsigned id = w->id;
    const struct lru *l = &e->lru[id];
    unsigned budget = WALK_CHUNKS;
    bool ok = true;

    uint64_t run = (l->mc_hi >= 63 ? ~0ull : (2ull << l->mc_hi) - 1) &
                   ~((1ull << l->mc_lo) - 1);

    if ((w->classes & run) == 0) {
        w->id++; /* no memcached class of its run is wanted */
        return true;
    }
    slab_lock(&e->slab, id);
    while (budget > 0 && w->page < slab_npages(&e->slab, id)) {
        const struct slab_page *p = slab_page_locked(&e->slab, id, w->page);
        if (w->chunk >= slab_ncut_locked(p)) {
            w->page++;
            w->chunk = 0;
            continue;
        }
        uint32_t i = w->chunk++;
        budget--;
        struct item *it = dump_item_at(e, id, p, i);
        if (it == NULL) {
            continue;
        }
        if (!walk_wants(e, w, it)) {
            continue;
        }
        engine_crawler_checked(e, item_msize(it)); /* as memcached's */
        struct walk_slot *s = walk_slot(w);
        if (s == NULL) {
            ok = false;
            break;
        }
        uint64_t hv = hash_bytes(item_key(it), it->nkey);
        bool locked = hashtable_trylock(&e->ht, hv);
        if (locked && walk_dead_locked(e, it)) {
            hashtable_unlock(&e->ht, hv);
            continue;
        }
        walk_copy(e, s, it, hv, locked);
        if (locked) {
            hashtable_unlock(&e->ht, hv);
        }
        if (!locked && item_is_expired(it, engine_clock(e))) {
            continue;
        }
        w->n++;
    }
    if (budget > 0) {
        w->id++; /* this class is done */
        w->page = 0;
        w->chunk = 0;
    }
    slab_unlock(&e->slab, id);
    return ok;
}

/*
 * Slots whose stripe was busy: the live item of the same key, read under
 * its stripe (a newer version of it, or nothing if it went meanwhile).
 */
static void
walk_recheck(struct engine *e, struct engine_walk *w)
{
    size_t kept = 0;

    for (size_t k = 0; k < w->n; k++) {
        struct walk_slot *s = &w->slots[k];
        if (s->recheck) {
            bool live = false;
            hashtable_lock(&e->ht, s->hv);
            struct item *it =
                hashtable_find_locked(&e->ht, s->hv, s->key, s->meta.key.len);
            if (it != NULL && !walk_dead_locked(e, it) &&
                walk_wants(e, w, it)) {
                walk_copy(e, s, it, s->hv, true);
                live = true;
            }
            hashtable_unlock(&e->ht, s->hv);
            if (!live) {
                continue;
            }
        }
        if (kept != k) {
            w->slots[kept] = *s;
        }
        w->slots[kept].meta.key =
            slice_make(w->slots[kept].key, w->slots[kept].meta.key.len);
        kept++;
    }
    w->n = kept;
}

/*
 * Copies the live items of one chain whose hash falls in the walk's
 * bucket (see walk_hash_batch). Needs the chain's stripe.
 */
static bool
walk_chain_locked(struct engine *e, struct engine_walk *w, struct item *it,
                  uint64_t b)
{
    uint64_t mask = ((uint64_t)1 << w->power) - 1;

    for (; it != NULL; it = it->h_next) {
        uint64_t hv = hash_bytes(item_key(it), it->nkey);
        if ((hv & mask) != b) {
            continue;
        }
        if (walk_dead_locked(e, it)) {
            continue;
        }
        struct walk_slot *s = walk_slot(w);
        if (s == NULL) {
            return false;
        }
        walk_copy(e, s, it, hv, true);
        w->n++;
    }
    return true;
}

/*
 * Hash walk: buckets numbered in the table as it was at start (2^power).
 * Under bucket b's stripe, which also guards every bucket the table's
 * growth makes of it, each chain that may hold a key whose hash has b as
 * its low bits is read (the current table's, and the old table's while
 * it is being moved), keeping only such keys: an item is reported once
 * even when the table grows during the walk.
 */
static bool
walk_hash_batch(struct engine *e, struct engine_walk *w)
{
    struct hashtable *ht = &e->ht;
    uint64_t nb = (uint64_t)1 << w->power;
    bool ok = true;

    for (unsigned k = 0; ok && k < WALK_BUCKETS && w->bucket < nb; k++) {
        uint64_t b = w->bucket++;
        pthread_mutex_t *lock = &ht->stripes[b & ht->stripe_mask].lock;
        pthread_mutex_lock(lock);
        unsigned power = hashtable_power(ht);
        uint64_t size = (uint64_t)1 << power;
        /* the current table: buckets b, b + nb, ... (or b's image) */
        uint64_t step = power >= w->power ? nb : size;
        for (uint64_t j = b & (size - 1); ok && j < size; j += step) {
            ok = walk_chain_locked(e, w, ht->buckets[j], b);
        }
        if (ok && hashtable_expanding(ht) && ht->old != NULL) {
            uint64_t osize = size / 2;
            uint64_t moved =
                atomic_load_explicit(&ht->moved, memory_order_relaxed);
            uint64_t ostep = power - 1 >= w->power ? nb : osize;
            for (uint64_t j = b & (osize - 1); ok && j < osize; j += ostep) {
                if (j >= moved) {
                    ok = walk_chain_locked(e, w, ht->old[j], b);
                }
            }
        }
        pthread_mutex_unlock(lock);
    }
    return ok;
}

bool
engine_walk_next(struct engine *e, struct engine_walk *w, engine_walk_fn fn,
                 void *ctx)
{
    bool ok = true;

    w->n = 0;
    if (w->hash) {
        ok = walk_hash_batch(e, w);
        w->done = w->bucket >= ((uint64_t)1 << w->power);
    } else if (w->id <= e->slab.nclasses) {
        ok = walk_class_batch(e, w);
        walk_recheck(e, w);
        w->done = w->id > e->slab.nclasses;
    } else {
        w->done = true;
    }
    for (size_t k = 0; k < w->n; k++) {
        w->slots[k].meta.key =
            slice_make(w->slots[k].key, w->slots[k].meta.key.len);
        fn(ctx, &w->slots[k].meta);
    }
    if (!ok) {
        w->done = true;
    }
    return !w->done;
}
