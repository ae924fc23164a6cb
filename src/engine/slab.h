/*
 * slab - size-classed memory for items. Owns all item memory: 1 MiB
 * pages (1 MiB aligned), each cut into equal chunks of one class. The
 * class table is memcached's, so the same -n/-f give the same classes.
 *
 *   page (1 MiB, aligned)
 *   +---------+---------+---------+-----     -----+---------+------+
 *   | chunk 0 | chunk 1 | chunk 2 |  ...           | chunk n | tail |
 *   +---------+---------+---------+-----     -----+---------+------+
 *     n + 1 = perslab = 1 MiB / size; the tail (< size) is unused.
 *
 * Pages carry no header: a side table (page number -> class id, a
 * two-level radix) answers slab_class_of(), so a 1 MiB class fits a page.
 * Pages are taken lazily, one at a time, and never given back until
 * slab_deinit(). A free chunk holds the free-list link in its first word.
 *
 * Memory limit: a class that owns no page may always take its first one;
 * after that a page is taken only while total_malloced + 1 MiB <= limit.
 * So item memory stays within the limit plus one page per class.
 *
 * Threads: one mutex per class guards its chunks (and, by the engine's
 * convention, its LRU); functions ending in _locked need it held. Page
 * accounting has its own lock, taken inside the class lock.
 */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SLAB_PAGE_SIZE        ((size_t)1 << 20)
#define SLAB_PAGE_SHIFT       20
#define SLAB_MAX_CLASSES      63
#define SLAB_ALIGN            8
/* memcached's item header size, the base of its class table. */
#define SLAB_MEMCACHED_HEADER 48

enum slab_status {
    SLAB_OK = 0,
    SLAB_BAD_CONFIG,
    SLAB_NO_MEMORY,
};

struct slab_class {
    _Alignas(64) pthread_mutex_t lock;
    uint32_t size;    /* chunk size in bytes */
    uint32_t perslab; /* chunks per page */
    void *free;       /* free list, linked through each chunk's first word */
    char *carve;      /* next uncut chunk of the newest page */
    uint32_t ncarve;  /* uncut chunks left in that page */
    uint32_t npages;
};

struct slab {
    struct slab_class classes[SLAB_MAX_CLASSES + 1]; /* [0] unused */
    unsigned nclasses;                               /* largest id */
    size_t mem_limit;                                /* 0 = unlimited */
    pthread_mutex_t page_lock; /* guards the fields below (but reads) */
    _Atomic uint64_t total_malloced;
    _Atomic(uint8_t *) *dir; /* page number -> leaf of class ids */
    void **pages;            /* every page, for slab_deinit */
    size_t npages;
    size_t pages_cap;
};

/*
 * Builds memcached's class table: class 1 = SLAB_MEMCACHED_HEADER +
 * chunk_min rounded up to 8; each next = previous * factor rounded up to
 * 8, while the unrounded size < chunk_max / factor; then a last class of
 * exactly chunk_max; at most SLAB_MAX_CLASSES. chunk_max must be a
 * multiple of 8 between 64 and SLAB_PAGE_SIZE; mem_limit 0 = no limit.
 */
enum slab_status slab_init(struct slab *s, size_t mem_limit, size_t chunk_min,
                           double factor, size_t chunk_max);
/* Frees every page. Nothing may use item memory afterwards. */
void slab_deinit(struct slab *s);

/* Smallest class whose chunk holds `size` bytes; 0 if none does. */
unsigned slab_class_for(const struct slab *s, size_t size);

static inline size_t
slab_chunk_size(const struct slab *s, unsigned id)
{
    return s->classes[id].size;
}

static inline void
slab_lock(struct slab *s, unsigned id)
{
    pthread_mutex_lock(&s->classes[id].lock);
}

static inline void
slab_unlock(struct slab *s, unsigned id)
{
    pthread_mutex_unlock(&s->classes[id].lock);
}

/*
 * A chunk of class id: from the free list, else the current page, else a
 * new page if the limit allows. NULL when the class must evict first.
 */
void *slab_alloc_locked(struct slab *s, unsigned id);
void slab_free_locked(struct slab *s, unsigned id, void *chunk);

/* The class of the page holding `chunk` (any address inside it). */
unsigned slab_class_of(const struct slab *s, const void *chunk);

static inline uint64_t
slab_total_malloced(const struct slab *s)
{
    return atomic_load_explicit(&s->total_malloced, memory_order_relaxed);
}
