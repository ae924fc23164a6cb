#include "engine/item.h"

#include "engine/engine_internal.h"

#include <assert.h>

/* Evictions tried for one chunk before giving up. */
#define ITEM_ALLOC_TRIES 16

unsigned
item_lru_id(const struct engine *e, const struct item *it)
{
    if (item_has(it, ITEM_CHUNKED)) {
        return e->slab.nclasses;
    }
    return slab_class_of(&e->slab, it);
}

/* A chunk of class id, evicting from that class's LRU if it is full. */
static void *
alloc_chunk(struct engine *e, unsigned id)
{
    void *p = NULL;

    slab_lock(&e->slab, id);
    for (int i = 0; i < ITEM_ALLOC_TRIES; i++) {
        p = slab_alloc_locked(&e->slab, id);
        if (p != NULL || !lru_evict_locked(e, id)) {
            break;
        }
    }
    slab_unlock(&e->slab, id);
    return p;
}

static void
free_chunk(struct engine *e, const void *chunk, unsigned held)
{
    unsigned id = slab_class_of(&e->slab, chunk);
    void *p = (void *)(uintptr_t)chunk;

    if (id == held) {
        slab_free_locked(&e->slab, id, p);
        return;
    }
    slab_lock(&e->slab, id);
    slab_free_locked(&e->slab, id, p);
    slab_unlock(&e->slab, id);
}

void
item_destroy(struct engine *e, struct item *it, unsigned held)
{
    if (item_has(it, ITEM_CHUNKED)) {
        struct item_chunks *ch = item_chunks(it);
        for (uint32_t i = 0; i < ch->nseg; i++) {
            free_chunk(e, ch->segs[i].ptr, held);
        }
    }
    free_chunk(e, it, held);
}

/*
 * A data chunk for `len` bytes of value: the smallest class that fits,
 * or a full-size chunk when that class has no room.
 */
static void *
alloc_data_chunk(struct engine *e, size_t len)
{
    unsigned largest = e->slab.nclasses;
    unsigned id = slab_class_for(&e->slab, len);
    void *p = alloc_chunk(e, id);

    if (p == NULL && id != largest) {
        p = alloc_chunk(e, largest);
    }
    return p;
}

static void
init_header(struct item *it, unsigned iflags, size_t nkey, size_t nbytes)
{
    it->h_next = NULL;
    it->prev = NULL;
    it->next = NULL;
    it->exptime = 0;
    it->time = 0;
    it->nbytes = (uint32_t)nbytes;
    atomic_init(&it->refcount, 1);
    it->nkey = (uint8_t)nkey;
    atomic_init(&it->iflags, (uint8_t)iflags);
}

/* Header chunk plus data chunks; every chunk or none. */
static enum engine_status
create_chunked(struct engine *e, unsigned iflags, size_t nkey, size_t nbytes,
               struct item **out)
{
    size_t seg = slab_chunk_size(&e->slab, e->slab.nclasses);
    size_t nseg = (nbytes + seg - 1) / seg;
    size_t hsize = item_chunks_offset(item_prefix_len(iflags), nkey) +
                   sizeof(struct item_chunks) + nseg * sizeof(struct slice);
    unsigned id = slab_class_for(&e->slab, hsize);

    if (id == 0) {
        return ENGINE_TOO_LARGE;
    }
    struct item *it = alloc_chunk(e, id);
    if (it == NULL) {
        return ENGINE_NO_MEMORY;
    }
    init_header(it, iflags | ITEM_CHUNKED, nkey, nbytes);
    struct item_chunks *ch = item_chunks(it);
    ch->nseg = 0;
    ch->seg_size = (uint32_t)seg;
    for (size_t off = 0; off < nbytes; off += seg) {
        size_t len = nbytes - off < seg ? nbytes - off : seg;
        void *p = alloc_data_chunk(e, len);
        if (p == NULL) {
            item_destroy(e, it, 0);
            return ENGINE_NO_MEMORY;
        }
        ch->segs[ch->nseg++] = slice_make(p, len);
    }
    *out = it;
    return ENGINE_OK;
}

enum engine_status
item_create(struct engine *e, struct slice key, uint32_t flags,
            uint32_t exptime, size_t nbytes, struct item **out)
{
    bool cas = e->cfg.cas_enabled;
    unsigned iflags = (cas ? ITEM_CAS : 0) | (flags != 0 ? ITEM_CFLAGS : 0);
    size_t prefix = item_prefix_len(iflags);
    size_t total = sizeof(struct item) + prefix + key.len + nbytes;
    struct item *it = NULL;

    assert(key.len > 0);
    if (key.len > ITEM_KEY_MAX || nbytes > e->cfg.item_size_max ||
        item_memcached_size(key.len, nbytes, flags != 0, cas) >
            e->cfg.item_size_max) {
        return ENGINE_TOO_LARGE;
    }
    if (total <= slab_chunk_size(&e->slab, e->slab.nclasses)) {
        it = alloc_chunk(e, slab_class_for(&e->slab, total));
        if (it == NULL) {
            return ENGINE_NO_MEMORY;
        }
        init_header(it, iflags, key.len, nbytes);
    } else {
        enum engine_status st = create_chunked(e, iflags, key.len, nbytes, &it);
        if (st != ENGINE_OK) {
            return st;
        }
    }
    it->exptime = exptime;
    item_set_cas(it, 0);
    if (flags != 0) {
        memcpy(it->data + (cas ? 8 : 0), &flags, sizeof(flags));
    }
    memcpy(it->data + prefix, key.ptr, key.len);
    *out = it;
    return ENGINE_OK;
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
