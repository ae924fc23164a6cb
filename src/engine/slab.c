#include "engine/slab.h"

#include <stdlib.h>
#include <string.h>

/*
 * The side table maps a page number (address >> 20) to its class id in
 * two levels: dir[pn >> SLAB_LEAF_BITS] -> leaf[pn & leaf mask]. That
 * covers 48-bit addresses (what Linux hands to user space); a page above
 * that is refused as if memory were short.
 */
#define SLAB_LEAF_BITS 12
#define SLAB_DIR_BITS  16
#define SLAB_LEAF_SIZE ((size_t)1 << SLAB_LEAF_BITS)
#define SLAB_DIR_SIZE  ((size_t)1 << SLAB_DIR_BITS)

static size_t
round_up(size_t n, size_t align)
{
    return (n + align - 1) / align * align;
}

/* memcached's table; see slab_init's contract. Returns the class count. */
static unsigned
build_classes(struct slab *s, size_t chunk_min, double factor, size_t chunk_max)
{
    double limit = (double)chunk_max / factor;
    size_t size = SLAB_MEMCACHED_HEADER + chunk_min;
    unsigned id = 0;

    while (++id < SLAB_MAX_CLASSES && (double)size < limit) {
        size = round_up(size, SLAB_ALIGN);
        s->classes[id].size = (uint32_t)size;
        size = (size_t)((double)size * factor);
    }
    s->classes[id].size = (uint32_t)chunk_max;
    return id;
}

enum slab_status
slab_init(struct slab *s, size_t mem_limit, size_t chunk_min, double factor,
          size_t chunk_max)
{
    memset(s, 0, sizeof(*s));
    if (chunk_min == 0 || !(factor > 1.0) || chunk_max < 64 ||
        chunk_max > SLAB_PAGE_SIZE || chunk_max % SLAB_ALIGN != 0) {
        return SLAB_BAD_CONFIG;
    }
    s->dir = calloc(SLAB_DIR_SIZE, sizeof(*s->dir));
    if (s->dir == NULL) {
        return SLAB_NO_MEMORY;
    }
    s->mem_limit = mem_limit;
    s->nclasses = build_classes(s, chunk_min, factor, chunk_max);
    for (unsigned id = 1; id <= s->nclasses; id++) {
        struct slab_class *c = &s->classes[id];
        c->perslab = (uint32_t)(SLAB_PAGE_SIZE / c->size);
        pthread_mutex_init(&c->lock, NULL);
    }
    pthread_mutex_init(&s->page_lock, NULL);
    return SLAB_OK;
}

void
slab_deinit(struct slab *s)
{
    if (s->dir == NULL) {
        return;
    }
    for (size_t i = 0; i < s->npages; i++) {
        free(s->pages[i]);
    }
    free(s->pages);
    for (size_t i = 0; i < SLAB_DIR_SIZE; i++) {
        free(atomic_load_explicit(&s->dir[i], memory_order_relaxed));
    }
    free(s->dir);
    for (unsigned id = 1; id <= s->nclasses; id++) {
        pthread_mutex_destroy(&s->classes[id].lock);
    }
    pthread_mutex_destroy(&s->page_lock);
    memset(s, 0, sizeof(*s));
}

unsigned
slab_class_for(const struct slab *s, size_t size)
{
    unsigned lo = 1;
    unsigned hi = s->nclasses;

    if (size > s->classes[hi].size) {
        return 0;
    }
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (s->classes[mid].size >= size) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo;
}

/* Records page -> class in the side table. Needs page_lock. */
static bool
map_page(struct slab *s, void *page, unsigned id)
{
    uintptr_t pn = (uintptr_t)page >> SLAB_PAGE_SHIFT;
    size_t di = pn >> SLAB_LEAF_BITS;

    if (di >= SLAB_DIR_SIZE) {
        return false;
    }
    uint8_t *leaf = atomic_load_explicit(&s->dir[di], memory_order_relaxed);
    if (leaf == NULL) {
        leaf = calloc(SLAB_LEAF_SIZE, 1);
        if (leaf == NULL) {
            return false;
        }
        atomic_store_explicit(&s->dir[di], leaf, memory_order_release);
    }
    leaf[pn & (SLAB_LEAF_SIZE - 1)] = (uint8_t)id;
    return true;
}

static bool
remember_page(struct slab *s, void *page)
{
    if (s->npages == s->pages_cap) {
        size_t cap = s->pages_cap ? s->pages_cap * 2 : 64;
        void **pages = realloc(s->pages, cap * sizeof(*pages));
        if (pages == NULL) {
            return false;
        }
        s->pages = pages;
        s->pages_cap = cap;
    }
    s->pages[s->npages++] = page;
    return true;
}

/* A new page for class id if the limit allows; NULL otherwise. */
static void *
take_page(struct slab *s, unsigned id)
{
    struct slab_class *c = &s->classes[id];
    void *page = NULL;

    pthread_mutex_lock(&s->page_lock);
    uint64_t total = slab_total_malloced(s);
    if (c->npages > 0 && s->mem_limit != 0 &&
        total + SLAB_PAGE_SIZE > s->mem_limit) {
        goto out;
    }
    page = aligned_alloc(SLAB_PAGE_SIZE, SLAB_PAGE_SIZE);
    if (page == NULL) {
        goto out;
    }
    if (!map_page(s, page, id) || !remember_page(s, page)) {
        free(page);
        page = NULL;
        goto out;
    }
    atomic_store_explicit(&s->total_malloced, total + SLAB_PAGE_SIZE,
                          memory_order_relaxed);
    c->npages++;
out:
    pthread_mutex_unlock(&s->page_lock);
    return page;
}

void *
slab_alloc_locked(struct slab *s, unsigned id)
{
    struct slab_class *c = &s->classes[id];

    if (c->free != NULL) {
        void *chunk = c->free;
        memcpy(&c->free, chunk, sizeof(void *));
        return chunk;
    }
    if (c->ncarve == 0) {
        char *page = take_page(s, id);
        if (page == NULL) {
            return NULL;
        }
        c->carve = page;
        c->ncarve = c->perslab;
    }
    void *chunk = c->carve;
    c->carve += c->size;
    c->ncarve--;
    return chunk;
}

void
slab_free_locked(struct slab *s, unsigned id, void *chunk)
{
    struct slab_class *c = &s->classes[id];

    memcpy(chunk, &c->free, sizeof(void *));
    c->free = chunk;
}

unsigned
slab_class_of(const struct slab *s, const void *chunk)
{
    uintptr_t pn = (uintptr_t)chunk >> SLAB_PAGE_SHIFT;
    const uint8_t *leaf = atomic_load_explicit(&s->dir[pn >> SLAB_LEAF_BITS],
                                               memory_order_acquire);
    return leaf[pn & (SLAB_LEAF_SIZE - 1)];
}
