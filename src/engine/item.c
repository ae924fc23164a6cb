#include "engine/item.h"

#include "engine/engine_internal.h"

#include <assert.h>
#include <sched.h>

/* Rounds of "allocate, else evict or steal" for one chunk. */
#define ITEM_ALLOC_TRIES 16

unsigned
item_lru_id(const struct engine *e, const struct item *it)
{
    if (item_has(it, ITEM_CHUNKED)) {
        return e->slab.nclasses;
    }
    return slab_class_of(&e->slab, it);
}

/*
 * Marks a chunk just taken from class id, under its lock: owner NULL for
 * a chunk that becomes an item header (item_create fills it in), else the
 * chunked item whose value bytes it will hold.
 */
static void
claim_locked(struct engine *e, unsigned id, void *chunk, struct item *owner)
{
    if (owner == NULL) {
        /* the slab already left the chunk marked "in use" */
        if (e->lru[id].ring == NULL) {
            /* no probation yet (lru.h): COLD, without a call */
            struct item *it = chunk;
            atomic_store_explicit(&it->time,
                                  (uint32_t)SEG_COLD << ITEM_SEG_SHIFT,
                                  memory_order_relaxed);
        } else {
            lru_claim_header_locked(e, id, chunk);
        }
        return;
    }
    if (id == e->slab.nclasses) {
        slab_set_owner_locked(&e->slab, chunk, owner);
        return;
    }
    struct item *d = chunk;
    d->h_next = owner;
    atomic_store_explicit(&d->iflags, (uint8_t)ITEM_DATA, memory_order_relaxed);
}

/*
 * One round of alloc_chunk: a chunk of class id if the class has one
 * free or can grow, else one CLOCK eviction and a second try. *res says
 * what the eviction did.
 */
static void *
alloc_round(struct engine *e, unsigned id, struct item *owner,
            enum lru_result *res)
{
    struct reclaim r = {id, NULL};

    slab_lock(&e->slab, id);
    void *p = slab_alloc_locked(&e->slab, id);
    *res = LRU_NONE;
    if (p == NULL && slab_npages(&e->slab, id) > 0) {
        *res = lru_evict_locked(e, id, &r);
        if (*res == LRU_FREED) {
            p = slab_alloc_locked(&e->slab, id);
        }
    }
    if (p != NULL) {
        claim_locked(e, id, p, owner);
    }
    slab_unlock(&e->slab, id);
    item_reclaim_finish(e, &r);
    return p;
}

/*
 * The last resort of alloc_chunk, and the one exception to the memory
 * limit: a class that owns no page at all while no other class has a
 * page to spare (two or more, not pinned) maps one beyond the limit, as
 * memcached gives every class its first page. So memory stays within
 * max(limit, one page per class in use).
 */
static void *
alloc_first_page(struct engine *e, unsigned id, struct item *owner)
{
    slab_lock(&e->slab, id);
    void *p = slab_alloc_first_page_locked(&e->slab, id);
    if (p != NULL) {
        claim_locked(e, id, p, owner);
    }
    slab_unlock(&e->slab, id);
    return p;
}

/*
 * A chunk of class id: free, new, evicted from the class (lru.h), or
 * from a page stolen from another class. When the class's chunks are all
 * busy (values still arriving, or being sent) and nothing can be stolen,
 * it yields and tries again a few times before giving up; with evictions
 * off a full class gives up at once.
 */
static void *
alloc_chunk(struct engine *e, unsigned id, struct item *owner)
{
    for (int i = 0; i < ITEM_ALLOC_TRIES; i++) {
        enum lru_result res;
        void *p = alloc_round(e, id, owner, &res);
        if (p != NULL && res != LRU_NONE) {
            lru_rebalance(e, id);
        }
        if (p != NULL) {
            return p;
        }
        if (res != LRU_NONE || lru_steal_page(e, id)) {
            continue;
        }
        p = alloc_first_page(e, id, owner);
        if (p != NULL || slab_npages(&e->slab, id) == 0 || !e->cfg.evictions) {
            return p;
        }
        sched_yield();
    }
    return NULL;
}

/* The chunk a value segment lives in (see item.h). */
static void *
segment_chunk(const struct engine *e, const struct slice *seg)
{
    const char *p = seg->ptr;

    if (slab_class_of(&e->slab, p) != e->slab.nclasses) {
        p -= sizeof(struct item);
    }
    return (void *)(uintptr_t)p;
}

static void
free_chunk(struct engine *e, void *chunk, const struct reclaim *r)
{
    unsigned id = slab_class_of(&e->slab, chunk);

    if (r != NULL && id == r->held) {
        slab_free_locked(&e->slab, id, chunk);
        return;
    }
    slab_lock(&e->slab, id);
    slab_free_locked(&e->slab, id, chunk);
    slab_unlock(&e->slab, id);
}

void
item_destroy(struct engine *e, struct item *it, struct reclaim *r)
{
    bool chunked = item_has(it, ITEM_CHUNKED);

    if (r != NULL && r->held != 0 &&
        (chunked || slab_class_of(&e->slab, it) != r->held)) {
        it->h_next = r->deferred;
        r->deferred = it;
        return;
    }
    if (chunked) {
        const struct item_chunks *ch = item_chunks(it);
        for (uint32_t i = 0; i < ch->nseg; i++) {
            free_chunk(e, segment_chunk(e, &ch->segs[i]), r);
        }
    }
    free_chunk(e, it, r); /* the header last: segments name it as owner */
}

void
item_reclaim_finish(struct engine *e, struct reclaim *r)
{
    while (r->deferred != NULL) {
        struct item *it = r->deferred;
        r->deferred = it->h_next;
        item_destroy(e, it, NULL);
    }
}

/*
 * A data chunk for `len` bytes of value owned by `it`: the smallest class
 * that holds len plus a data header, or a whole largest-class chunk.
 */
static bool
alloc_segment(struct engine *e, struct item *it, size_t len, struct slice *seg)
{
    unsigned largest = e->slab.nclasses;
    unsigned id = slab_class_for(&e->slab, len + sizeof(struct item));
    char *p = NULL;

    if (id != 0 && id != largest) {
        p = alloc_chunk(e, id, it);
        if (p != NULL) {
            *seg = slice_make(p + sizeof(struct item), len);
            return true;
        }
    }
    p = alloc_chunk(e, largest, it);
    *seg = slice_make(p, len);
    return p != NULL;
}

/* Every data chunk of a chunked header, or false (some may be taken). */
static bool
alloc_segments(struct engine *e, struct item *it)
{
    size_t seg = slab_chunk_size(&e->slab, e->slab.nclasses);
    struct item_chunks *ch = item_chunks(it);

    ch->nseg = 0;
    ch->seg_size = (uint32_t)seg;
    for (size_t off = 0; off < it->nbytes; off += seg) {
        size_t len = it->nbytes - off < seg ? it->nbytes - off : seg;
        if (!alloc_segment(e, it, len, &ch->segs[ch->nseg])) {
            return false;
        }
        ch->nseg++;
    }
    return true;
}

/* Writes the header, cas slot, flags and key of a fresh chunk. */
static void
init_item(struct item *it, unsigned iflags, struct slice key, uint32_t flags,
          uint32_t exptime, size_t nbytes)
{
    unsigned flen = item_flen_for(flags);
    unsigned char *p = (unsigned char *)it->data;

    it->h_next = NULL;
    /* a plain store: a reused chunk's old state bits must go */
    atomic_store_explicit(&it->exptime, exptime & ITEM_EXP_MASK,
                          memory_order_relaxed);
    item_set_time(it, 0);
    it->nbytes = (uint32_t)nbytes;
    it->flen = flen;
    atomic_store_explicit(&it->refcount, 1, memory_order_relaxed);
    it->nkey = (uint8_t)key.len;
    atomic_store_explicit(&it->iflags, (uint8_t)iflags, memory_order_relaxed);
    item_set_cas(it, 0);
    p += (iflags & ITEM_CAS) ? 8 : 0;
    for (size_t i = 0; i < item_flags_len(flen); i++) {
        *p++ = (unsigned char)(flags >> (8 * i));
    }
    memcpy(p, key.ptr, key.len);
}

enum engine_status
item_create(struct engine *e, struct slice key, uint32_t flags,
            uint32_t exptime, size_t nbytes, struct item **out)
{
    bool cas = e->cfg.cas_enabled;
    unsigned iflags = cas ? ITEM_CAS : 0;
    size_t prefix = (cas ? 8 : 0) + item_flags_len(item_flen_for(flags));
    size_t size = sizeof(struct item) + prefix + key.len + nbytes;

    assert(key.len > 0);
    if (key.len > ITEM_KEY_MAX || nbytes > e->cfg.item_size_max ||
        item_memcached_size(key.len, nbytes, flags != 0, cas) >
            e->cfg.item_size_max) {
        return ENGINE_TOO_LARGE;
    }
    if (size > slab_chunk_size(&e->slab, e->slab.nclasses)) {
        size_t seg = slab_chunk_size(&e->slab, e->slab.nclasses);
        iflags |= ITEM_CHUNKED;
        size = item_chunks_offset(prefix, key.len) +
               sizeof(struct item_chunks) +
               (nbytes + seg - 1) / seg * sizeof(struct slice);
    }
    unsigned id = slab_class_for(&e->slab, size);
    if (id == 0) {
        return ENGINE_TOO_LARGE;
    }
    struct item *it = alloc_chunk(e, id, NULL);
    if (it != NULL) {
        init_item(it, iflags, key, flags, exptime, nbytes);
        if (item_seg(it) == SEG_HOT ||
            atomic_load_explicit(&e->lru_temp, memory_order_relaxed)) {
            lru_place_new(e, it, exptime); /* else COLD stays COLD */
        }
        if (!(iflags & ITEM_CHUNKED) || alloc_segments(e, it)) {
            *out = it;
            return ENGINE_OK;
        }
        item_destroy(e, it, NULL);
        return ENGINE_NO_MEMORY_DATA; /* memcached counts no outofmemory */
    }
    engine_count_oom(e, item_memcached_size(key.len, nbytes, flags != 0, cas));
    return ENGINE_NO_MEMORY;
}

size_t
item_segments(const struct item *it, struct slice *one,
              const struct slice **segs)
{
    if (item_has(it, ITEM_CHUNKED)) {
        const struct item_chunks *ch = item_chunks(it);
        *segs = ch->segs;
        return ch->nseg;
    }
    *one = slice_make(item_value(it), it->nbytes);
    *segs = one;
    return 1;
}

struct wslice
item_wslice(struct item *it, size_t off)
{
    struct wslice w = {NULL, 0};

    if (off >= it->nbytes) {
        return w;
    }
    if (!item_has(it, ITEM_CHUNKED)) {
        w.ptr = item_value(it) + off;
        w.len = it->nbytes - off;
        return w;
    }
    struct item_chunks *ch = item_chunks(it);
    struct slice s = ch->segs[off / ch->seg_size];
    size_t in = off % ch->seg_size;
    w.ptr = (char *)(uintptr_t)s.ptr + in;
    w.len = s.len - in;
    return w;
}

void
item_write(struct item *dst, size_t off, const char *p, size_t len)
{
    while (len > 0) {
        struct wslice w = item_wslice(dst, off);
        size_t n = w.len < len ? w.len : len;
        assert(n > 0);
        memcpy(w.ptr, p, n);
        p += n;
        off += n;
        len -= n;
    }
}

void
item_copy_value(struct item *dst, size_t off, const struct item *src)
{
    struct slice one;
    const struct slice *segs;
    size_t nseg = item_segments(src, &one, &segs);

    for (size_t i = 0; i < nseg; i++) {
        item_write(dst, off, segs[i].ptr, segs[i].len);
        off += segs[i].len;
    }
}
