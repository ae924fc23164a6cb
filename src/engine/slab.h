/*
 * slab - size-classed memory for items. Owns all item memory: 1 MiB
 * pages (1 MiB aligned, mapped straight from the kernel so that no
 * allocator header touches them), each cut into equal chunks of one
 * class. Pages move between classes (page stealing and the page mover,
 * lru.h) through a pool. A page emptied while total_malloced is above
 * mem_limit (the limit was lowered: slab_set_limit) is given back to the
 * kernel instead (MADV_DONTNEED: RSS falls, the mapping and its side
 * table entry stay, and the next fresh page reuses it).
 *
 *   page (1 MiB, aligned)
 *   +---------+---------+---------+-----     -----+---------+------+
 *   | chunk 0 | chunk 1 | chunk 2 |  ...           | chunk n | tail |
 *   +---------+---------+---------+-----     -----+---------+------+
 *     n + 1 = perslab = 1 MiB / size; the tail (< size) is unused.
 *
 * Pages carry no header: a side table (page number -> struct slab_page,
 * a two-level radix) answers slab_class_of() and holds each page's
 * bookkeeping. A page is cut lazily, chunk by chunk, so its memory is
 * touched (and counted in RSS) only as it is used.
 *
 * Large pages (cfg.large_page_size, -L): slab_init reserves all of
 * mem_limit at once as one mapping aligned to the huge page size and
 * asks the kernel for transparent huge pages on it (MADV_HUGEPAGE), as
 * memcached does; new pages are then carved from that region in order
 * instead of being mapped one by one, and still touched only as they are
 * cut. If the region cannot be had, pages are mapped one by one as
 * without -L (slab_prealloc_status() says why).
 *
 * Class tables (slab_init):
 *   - explicit (cfg.nsizes > 0, -o slab_sizes): the given sizes, each
 *     rounded up to a multiple of 8 (and to at least SLAB_CHUNK_MIN),
 *     then a last class of exactly chunk_max, as memcached builds it; a
 *     size that rounding makes equal to the one before it, or that is
 *     not below chunk_max, adds no class of its own.
 *   - memcached's (cfg.memcached_classes): class 1 = 48 + chunk_min
 *     rounded up to 8, each next = previous * factor rounded up to 8, a
 *     last class of exactly chunk_max, at most 63 classes. The same -n
 *     and -f give the same classes as memcached.
 *   - fine (the default): 8-byte steps from 32 up to 512 bytes, then
 *     32 classes per doubling up to 2 KiB (16-, then 32-byte steps) and
 *     16 per doubling above. Each size is then raised to the largest
 *     multiple of 8 that still gives the same chunks per page (so the
 *     page tail is as small as it can be), and duplicates are dropped.
 *     With the default 512 KiB chunk_max that is 207 classes; rounding
 *     costs an item under 8 bytes up to 512 bytes, under 1/32 of its
 *     size up to 2 KiB and about 1/16 above. docs/ENGINE.md has the
 *     table.
 *
 * Chunk states, as the CLOCK hand (lru.h) tells them apart while holding
 * the class lock:
 *   - free: on the class's free list. The slab writes a doubly linked
 *     list link into its first 16 bytes and SLAB_MARK_FREE into byte
 *     SLAB_MARK_OFFSET (which item.h makes the item header's iflags).
 *   - in use: anything else. slab_alloc_locked() clears the mark; the
 *     caller then owns the chunk's bytes.
 * Chunks of the largest class can hold raw value bytes of chunked items,
 * where any byte may look like a mark, so its pages also keep an owner
 * table: owners[i] is NULL for a free chunk, the chunk itself by default
 * once allocated, or what slab_set_owner_locked() stored there.
 *
 * Memory limit: a fresh page is mapped (or carved from the -L region, or
 * a page given back earlier is reused) only while total_malloced + 1 MiB
 * <= mem_limit. Beyond that a class gets
 * pages from the pool (pages that another class emptied, see
 * slab_drain_locked), and slab_alloc_first_page_locked() lets a class that owns
 * no page at all take one beyond the limit, for when nothing can be stolen.
 *
 * Threads: one mutex per class guards its chunks, free list, page list,
 * owner tables and (by the engine's convention) its CLOCK hand; functions
 * ending in _locked need it held. Never hold two class locks at once.
 * page_lock guards the pool, the side table's writes and total_malloced;
 * it is taken inside a class lock, never the other way round.
 */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SLAB_PAGE_SIZE             ((size_t)1 << 20)
#define SLAB_PAGE_SHIFT            20
#define SLAB_MAX_CLASSES           255
#define SLAB_MEMCACHED_MAX_CLASSES 63
#define SLAB_ALIGN                 8
/* memcached's item header size, the base of its class table. */
#define SLAB_MEMCACHED_HEADER      48
/* The fine table's first class; a free chunk needs 24 bytes. */
#define SLAB_FINE_MIN              32
#define SLAB_CHUNK_MIN             24
/* Where a free chunk carries its mark (item.h: the iflags byte). */
#define SLAB_MARK_OFFSET           23
#define SLAB_MARK_FREE             0x80u

enum slab_status {
    SLAB_OK = 0,
    SLAB_BAD_CONFIG,
    SLAB_NO_MEMORY,
};

struct slab_config {
    size_t mem_limit; /* bytes of pages; 0 = unlimited */
    size_t chunk_min; /* memcached table: -n */
    double factor;    /* memcached table: -f */
    size_t chunk_max; /* the largest class; a multiple of 8, <= 1 MiB */
    bool memcached_classes;
    /* -L: reserve mem_limit aligned to this (a power of two); 0 = off */
    size_t large_page_size;
    /* -o slab_sizes: ascending chunk sizes, or NULL / 0 (see above) */
    const uint32_t *sizes;
    unsigned nsizes;
};

/* What became of the large-page region (slab_prealloc_status). */
enum slab_prealloc {
    SLAB_PREALLOC_OFF = 0, /* not asked for */
    SLAB_PREALLOC_DONE,    /* all of mem_limit reserved and hinted */
    SLAB_PREALLOC_NO_MAP,  /* the mapping failed (errno kept) */
    SLAB_PREALLOC_NO_HINT, /* MADV_HUGEPAGE was refused (errno kept) */
};

/* One page's bookkeeping; lives as long as the slab. */
struct slab_page {
    char *base;          /* the page; fixed */
    _Atomic uint16_t id; /* owning class, 0 while in the pool */
    bool draining;       /* being emptied for another class; class lock */
    uint32_t nused;      /* chunks handed out, not yet freed; class lock */
    uint32_t ncut;       /* chunks cut so far (perslab once done); class */
    uint32_t index;      /* position in the class's pages[]; class lock */
    void **owners;       /* largest class only (see above); class lock */
    struct slab_page *pool_next; /* page_lock */
};

struct slab_class {
    _Alignas(64) pthread_mutex_t lock;
    uint32_t size;    /* chunk size in bytes */
    uint32_t perslab; /* chunks per page */
    char *free;       /* head of the free list */
    uint64_t nfree;
    struct slab_page *carve; /* page still being cut, or NULL */
    uint32_t pages_cap;
    struct slab_page **pages;   /* every page owned, in CLOCK order */
    _Atomic uint32_t npages;    /* read unlocked when picking a donor */
    struct slab_page *draining; /* at most one page being emptied */
};

struct slab {
    struct slab_class classes[SLAB_MAX_CLASSES + 1]; /* [0] unused */
    unsigned nclasses;                               /* largest id */
    _Atomic size_t mem_limit; /* 0 = unlimited; page_lock to write */
    /* memcached's table for these options, for meta debug's cls */
    uint32_t mc_sizes[SLAB_MEMCACHED_MAX_CLASSES + 1]; /* [0] unused */
    unsigned mc_nclasses;
    /* -L: the reserved region and how many of its pages are carved */
    char *region;
    size_t region_pages;
    size_t region_used; /* page_lock */
    enum slab_prealloc prealloc;
    int prealloc_errno;
    pthread_mutex_t page_lock; /* guards the fields below (but reads) */
    _Atomic uint64_t total_malloced;
    _Atomic uint64_t pool_pages;
    _Atomic uint64_t pages_moved; /* slab_pages_moved() */
    struct slab_page *pool;
    struct slab_page *spare;           /* given back to the kernel; page_lock */
    _Atomic uint64_t spare_pages;      /* how many */
    _Atomic(struct slab_page **) *dir; /* page number -> leaf */
    struct slab_page **all;            /* every page, for slab_deinit */
    size_t nall;
    size_t all_cap;
};

/*
 * Builds the class table (see above) and, with large_page_size, reserves
 * the large-page region. chunk_max must be a multiple of 8 between 64 and
 * SLAB_PAGE_SIZE, factor > 1, chunk_min > 0, explicit sizes at most
 * SLAB_MEMCACHED_MAX_CLASSES - 1 and large_page_size a power of two. A
 * region that cannot be had is not an error (slab_prealloc_status).
 */
enum slab_status slab_init(struct slab *s, const struct slab_config *cfg);
/* Unmaps every page. Nothing may use item memory afterwards. */
void slab_deinit(struct slab *s);

/* How the -L region went; *err gets the errno of a failure. */
static inline enum slab_prealloc
slab_prealloc_status(const struct slab *s, int *err)
{
    *err = s->prealloc_errno;
    return s->prealloc;
}

/* Smallest class whose chunk holds `size` bytes; 0 if none does. */
unsigned slab_class_for(const struct slab *s, size_t size);

/*
 * The class memcached's own table for the same options (-n, -f or -o
 * slab_sizes, slab_chunk_max) would give an item of `size` bytes,
 * whichever table this slab uses: what meta debug (me) reports as cls.
 * Sizes above the largest class give it.
 */
unsigned slab_memcached_class_for(const struct slab *s, size_t size);

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
 * A chunk of class id: from the free list, else the page being cut,
 * else a new page (from the pool, or mapped if the limit allows). NULL
 * when the class must evict or steal first.
 */
void *slab_alloc_locked(struct slab *s, unsigned id);
/*
 * Like slab_alloc_locked, but a class that owns no page may map one
 * beyond the memory limit (the last resort when nothing can be stolen).
 */
void *slab_alloc_first_page_locked(struct slab *s, unsigned id);
/*
 * Gives a chunk back. A chunk of a draining page is not reused; when a
 * draining page's last chunk comes back the page goes to the pool.
 */
void slab_free_locked(struct slab *s, unsigned id, void *chunk);

/* The page holding `addr` (any address inside it). */
struct slab_page *slab_page_of(const struct slab *s, const void *addr);

/* The class of the page holding `chunk` (any address inside it). */
static inline unsigned
slab_class_of(const struct slab *s, const void *chunk)
{
    return atomic_load_explicit(&slab_page_of(s, chunk)->id,
                                memory_order_relaxed);
}

/* Largest class only: records who owns an allocated chunk. */
void slab_set_owner_locked(struct slab *s, void *chunk, void *owner);

/* ---- walking a class (the CLOCK hand, page stealing) ---------------- */

static inline uint32_t
slab_npages(const struct slab *s, unsigned id)
{
    return atomic_load_explicit(&s->classes[id].npages, memory_order_relaxed);
}

static inline struct slab_page *
slab_page_locked(const struct slab *s, unsigned id, uint32_t i)
{
    return s->classes[id].pages[i];
}

/* Chunks of the page cut so far: only these may be looked at. */
static inline uint32_t
slab_ncut_locked(const struct slab_page *p)
{
    return p->ncut;
}

static inline char *
slab_chunk_locked(const struct slab *s, unsigned id, const struct slab_page *p,
                  uint32_t i)
{
    return p->base + (size_t)i * s->classes[id].size;
}

/* True if chunk i of the page is on the free list (or drained free). */
bool slab_chunk_free_locked(const struct slab *s, unsigned id,
                            const struct slab_page *p, uint32_t i);

/*
 * Starts emptying page p of class id: its free chunks leave the free
 * list, it is cut no further, and no chunk freed into it is reused. Once
 * every chunk is back the page goes to the pool. A class drains at most
 * one page at a time (slab_draining_locked()).
 */
void slab_drain_locked(struct slab *s, unsigned id, struct slab_page *p);

/*
 * Gives up emptying page p (a move that could not finish): its free
 * chunks go back on the free list and it is cut on as before.
 */
void slab_undrain_locked(struct slab *s, unsigned id, struct slab_page *p);

/*
 * A chunk from class id's free list or the page being cut, never from a
 * new page (the draining page is neither), or NULL: where the mover
 * copies an item it rescues.
 */
void *slab_alloc_free_locked(struct slab *s, unsigned id);

static inline struct slab_page *
slab_draining_locked(const struct slab *s, unsigned id)
{
    return s->classes[id].draining;
}

static inline uint64_t
slab_total_malloced(const struct slab *s)
{
    return atomic_load_explicit(&s->total_malloced, memory_order_relaxed);
}

static inline uint64_t
slab_pool_pages(const struct slab *s)
{
    return atomic_load_explicit(&s->pool_pages, memory_order_relaxed);
}

/*
 * Pages that left a class (emptied into the pool or given back to the
 * kernel) plus pages slab_pool_give_locked() handed from the pool to a
 * class: memcached's slabs_moved.
 */
static inline uint64_t
slab_pages_moved(const struct slab *s)
{
    return atomic_load_explicit(&s->pages_moved, memory_order_relaxed);
}

static inline size_t
slab_limit(const struct slab *s)
{
    return atomic_load_explicit(&s->mem_limit, memory_order_relaxed);
}

/* True with a -L region: its pages are never given back (no new limit). */
static inline bool
slab_preallocated(const struct slab *s)
{
    return s->region != NULL;
}

/*
 * Sets the memory limit (0 = none). Lowering it below total_malloced gives
 * pool pages back to the kernel at once; pages owned by classes must be
 * emptied first (mover.c), and each such page is given back, not pooled,
 * as long as total_malloced stays above the limit. Never with a region.
 */
void slab_set_limit(struct slab *s, size_t limit);

/*
 * Hands a page of the pool to class id (the caller holds its lock) as its
 * newest page: page p if it is in the pool, else any pool page when p is
 * NULL; `count` counts it in slab_pages_moved (a move out of the pool, not
 * the second half of one that emptied p). False if there was none (or no
 * memory for the class's tables).
 */
bool slab_pool_give_locked(struct slab *s, unsigned id, struct slab_page *p,
                           bool count);
