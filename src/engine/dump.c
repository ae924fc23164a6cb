/* dump - stats cachedump: the newest items of one memcached class. */
#include "engine/engine_internal.h"
#include "engine/hashtable.h"
#include "engine/item.h"
#include "engine/lru.h"

#include <stdlib.h>

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
static struct item *
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
