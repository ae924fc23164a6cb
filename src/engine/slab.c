#include "engine/slab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/*
 * The side table maps a page number (address >> 20) to its struct
 * slab_page in two levels: dir[pn >> SLAB_LEAF_BITS] -> leaf[pn & leaf
 * mask]. That covers 48-bit addresses (what Linux hands to user space); a
 * page above that is refused as if memory were short.
 */
#define SLAB_LEAF_BITS 12
#define SLAB_DIR_BITS  16
#define SLAB_LEAF_SIZE ((size_t)1 << SLAB_LEAF_BITS)
#define SLAB_DIR_SIZE  ((size_t)1 << SLAB_DIR_BITS)

/* Fine table: classes per doubling below and above SLAB_FINE_SPLIT. */
#define SLAB_FINE_STEPS_SMALL 32
#define SLAB_FINE_STEPS_LARGE 16
#define SLAB_FINE_SPLIT       2048

/* A free chunk's list link, in its first 16 bytes. */
struct free_link {
    char *next;
    char *prev;
};

static size_t
round_up(size_t n, size_t align)
{
    return (n + align - 1) / align * align;
}

/* ---- class tables --------------------------------------------------- */

/*
 * memcached's table (see slab.h) into sizes[1..]; returns the class
 * count. sizes needs SLAB_MEMCACHED_MAX_CLASSES + 1 slots.
 */
static unsigned
memcached_table(uint32_t *sizes, size_t chunk_min, double factor,
                size_t chunk_max)
{
    double limit = (double)chunk_max / factor;
    size_t size = SLAB_MEMCACHED_HEADER + chunk_min;
    unsigned id = 0;

    while (++id < SLAB_MEMCACHED_MAX_CLASSES && (double)size < limit) {
        size = round_up(size, SLAB_ALIGN);
        sizes[id] = (uint32_t)size;
        size = (size_t)((double)size * factor);
    }
    sizes[id] = (uint32_t)chunk_max;
    return id;
}

/*
 * memcached's table from explicit sizes (-o slab_sizes): each rounded up
 * to a multiple of 8, then a last class of chunk_max, even when the last
 * size given already equals it.
 */
static unsigned
explicit_table(uint32_t *sizes, const uint32_t *given, unsigned n,
               size_t chunk_max)
{
    unsigned id = 0;

    while (id < n) {
        sizes[id + 1] = (uint32_t)round_up(given[id], SLAB_ALIGN);
        id++;
    }
    sizes[++id] = (uint32_t)chunk_max;
    return id;
}

/*
 * The classes this slab uses for explicit sizes: memcached's (mc_sizes),
 * less what cannot be a class of its own here (see slab.h).
 */
static unsigned
build_explicit(struct slab *s, size_t chunk_max)
{
    unsigned id = 0;

    for (unsigned i = 1; i < s->mc_nclasses; i++) {
        uint32_t size = s->mc_sizes[i];
        if (size < SLAB_CHUNK_MIN) {
            size = SLAB_CHUNK_MIN;
        }
        if ((id > 0 && size <= s->classes[id].size) || size >= chunk_max) {
            continue;
        }
        s->classes[++id].size = size;
    }
    s->classes[++id].size = (uint32_t)chunk_max;
    return id;
}

static unsigned
build_memcached(struct slab *s)
{
    for (unsigned id = 1; id <= s->mc_nclasses; id++) {
        s->classes[id].size = s->mc_sizes[id];
    }
    return s->mc_nclasses;
}

unsigned
slab_memcached_class_for(const struct slab *s, size_t size)
{
    unsigned id = 1;

    while (id < s->mc_nclasses && size > s->mc_sizes[id]) {
        id++;
    }
    return id;
}

/* The largest multiple of 8 with as many chunks per page as `size`. */
static size_t
snap_to_page(size_t size)
{
    size_t best = SLAB_PAGE_SIZE / (SLAB_PAGE_SIZE / size);
    best -= best % SLAB_ALIGN;
    return best > size ? best : size;
}

/* The fine step after `size`: 1/32 or 1/16 of its power of two, >= 8. */
static size_t
fine_step(size_t size)
{
    size_t p2 = 1;
    while (p2 * 2 <= size) {
        p2 *= 2;
    }
    size_t step = p2 / (size < SLAB_FINE_SPLIT ? SLAB_FINE_STEPS_SMALL
                                               : SLAB_FINE_STEPS_LARGE);
    return step < SLAB_ALIGN ? SLAB_ALIGN : step;
}

/* The fine table; see slab.h. Returns the class count. */
static unsigned
build_fine(struct slab *s, size_t chunk_max)
{
    size_t size = SLAB_FINE_MIN;
    unsigned id = 0;

    while (id + 1 < SLAB_MAX_CLASSES) {
        size = snap_to_page(size);
        if (size >= chunk_max) {
            break;
        }
        s->classes[++id].size = (uint32_t)size;
        size = round_up(size + fine_step(size), SLAB_ALIGN);
    }
    s->classes[++id].size = (uint32_t)chunk_max;
    return id;
}

static bool
config_ok(const struct slab_config *cfg)
{
    size_t lp = cfg->large_page_size;

    return cfg->chunk_min > 0 && cfg->factor > 1.0 && cfg->chunk_max >= 64 &&
           cfg->chunk_max <= SLAB_PAGE_SIZE &&
           cfg->chunk_max % SLAB_ALIGN == 0 &&
           cfg->nsizes < SLAB_MEMCACHED_MAX_CLASSES &&
           (cfg->nsizes == 0 || cfg->sizes != NULL) && (lp & (lp - 1)) == 0;
}

/*
 * -L: all of mem_limit as one mapping aligned to `align`, hinted for
 * transparent huge pages. Not touched here: pages are carved from it
 * (new_page) and touched as they are cut, like any other page.
 */
static void
reserve_region(struct slab *s, size_t align)
{
    size_t npages = s->mem_limit / SLAB_PAGE_SIZE;
    size_t len = npages * SLAB_PAGE_SIZE;

    if (align < SLAB_PAGE_SIZE) {
        align = SLAB_PAGE_SIZE;
    }
    s->prealloc = SLAB_PREALLOC_DONE;
    if (npages == 0) {
        return; /* no limit, so nothing to reserve */
    }
    char *p = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        s->prealloc = SLAB_PREALLOC_NO_MAP;
        s->prealloc_errno = errno;
        return;
    }
    size_t head = (align - (uintptr_t)p % align) % align;
    if (head > 0) {
        munmap(p, head);
    }
    munmap(p + head + len, align - head);
    p += head;
#ifdef MADV_HUGEPAGE
    int rc = madvise(p, len, MADV_HUGEPAGE);
#else
    int rc = -1;
    errno = EINVAL;
#endif
    if (rc != 0) {
        s->prealloc = SLAB_PREALLOC_NO_HINT;
        s->prealloc_errno = errno;
        munmap(p, len);
        return;
    }
    s->region = p;
    s->region_pages = npages;
}

enum slab_status
slab_init(struct slab *s, const struct slab_config *cfg)
{
    memset(s, 0, sizeof(*s));
    if (!config_ok(cfg)) {
        return SLAB_BAD_CONFIG;
    }
    s->dir = calloc(SLAB_DIR_SIZE, sizeof(*s->dir));
    if (s->dir == NULL) {
        return SLAB_NO_MEMORY;
    }
    s->mem_limit = cfg->mem_limit;
    s->mc_nclasses = cfg->nsizes > 0
                         ? explicit_table(s->mc_sizes, cfg->sizes, cfg->nsizes,
                                          cfg->chunk_max)
                         : memcached_table(s->mc_sizes, cfg->chunk_min,
                                           cfg->factor, cfg->chunk_max);
    if (cfg->nsizes > 0) {
        s->nclasses = build_explicit(s, cfg->chunk_max);
    } else if (cfg->memcached_classes) {
        s->nclasses = build_memcached(s);
    } else {
        s->nclasses = build_fine(s, cfg->chunk_max);
    }
    for (unsigned id = 1; id <= s->nclasses; id++) {
        struct slab_class *c = &s->classes[id];
        c->perslab = (uint32_t)(SLAB_PAGE_SIZE / c->size);
        pthread_mutex_init(&c->lock, NULL);
    }
    pthread_mutex_init(&s->page_lock, NULL);
    if (cfg->large_page_size != 0) {
        reserve_region(s, cfg->large_page_size);
    }
    return SLAB_OK;
}

static bool
in_region(const struct slab *s, const char *base)
{
    return s->region != NULL && base >= s->region &&
           base < s->region + s->region_pages * SLAB_PAGE_SIZE;
}

void
slab_deinit(struct slab *s)
{
    if (s->dir == NULL) {
        return;
    }
    for (size_t i = 0; i < s->nall; i++) {
        if (!in_region(s, s->all[i]->base)) {
            munmap(s->all[i]->base, SLAB_PAGE_SIZE);
        }
        free(s->all[i]->owners);
        free(s->all[i]);
    }
    free(s->all);
    if (s->region != NULL) {
        munmap(s->region, s->region_pages * SLAB_PAGE_SIZE);
    }
    for (size_t i = 0; i < SLAB_DIR_SIZE; i++) {
        free(atomic_load_explicit(&s->dir[i], memory_order_relaxed));
    }
    free(s->dir);
    for (unsigned id = 1; id <= s->nclasses; id++) {
        pthread_mutex_destroy(&s->classes[id].lock);
        free(s->classes[id].pages);
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

/* ---- the side table and new pages ----------------------------------- */

struct slab_page *
slab_page_of(const struct slab *s, const void *addr)
{
    uintptr_t pn = (uintptr_t)addr >> SLAB_PAGE_SHIFT;
    struct slab_page **leaf = atomic_load_explicit(
        &s->dir[pn >> SLAB_LEAF_BITS], memory_order_acquire);
    return leaf[pn & (SLAB_LEAF_SIZE - 1)];
}

/* Records page -> descriptor. Needs page_lock. */
static bool
map_page(struct slab *s, struct slab_page *p)
{
    uintptr_t pn = (uintptr_t)p->base >> SLAB_PAGE_SHIFT;
    size_t di = pn >> SLAB_LEAF_BITS;

    if (di >= SLAB_DIR_SIZE) {
        return false;
    }
    struct slab_page **leaf =
        atomic_load_explicit(&s->dir[di], memory_order_relaxed);
    if (leaf == NULL) {
        leaf = calloc(SLAB_LEAF_SIZE, sizeof(*leaf));
        if (leaf == NULL) {
            return false;
        }
        atomic_store_explicit(&s->dir[di], leaf, memory_order_release);
    }
    leaf[pn & (SLAB_LEAF_SIZE - 1)] = p;
    return true;
}

/*
 * A 1 MiB-aligned anonymous mapping. The kernel usually places a new
 * mapping right below the previous one, so after the first page the
 * aligned guess nearly always works; otherwise map twice the size and
 * trim both ends.
 */
static char *
map_aligned(void)
{
    const int prot = PROT_READ | PROT_WRITE;
    const int flags = MAP_PRIVATE | MAP_ANONYMOUS;
    char *p = mmap(NULL, SLAB_PAGE_SIZE, prot, flags, -1, 0);

    if (p == MAP_FAILED) {
        return NULL;
    }
    if ((uintptr_t)p % SLAB_PAGE_SIZE == 0) {
        return p;
    }
    munmap(p, SLAB_PAGE_SIZE);
    p = mmap(NULL, 2 * SLAB_PAGE_SIZE, prot, flags, -1, 0);
    if (p == MAP_FAILED) {
        return NULL;
    }
    size_t head = SLAB_PAGE_SIZE - (uintptr_t)p % SLAB_PAGE_SIZE;
    head %= SLAB_PAGE_SIZE;
    if (head > 0) {
        munmap(p, head);
    }
    munmap(p + head + SLAB_PAGE_SIZE, SLAB_PAGE_SIZE - head);
    return p + head;
}

static bool
remember_page(struct slab *s, struct slab_page *p)
{
    if (s->nall == s->all_cap) {
        size_t cap = s->all_cap ? s->all_cap * 2 : 64;
        struct slab_page **all = realloc(s->all, cap * sizeof(*all));
        if (all == NULL) {
            return false;
        }
        s->all = all;
        s->all_cap = cap;
    }
    s->all[s->nall++] = p;
    return true;
}

/* A fresh page if the limit allows (or `over_limit`). Needs page_lock. */
static struct slab_page *
new_page(struct slab *s, bool over_limit)
{
    uint64_t total = slab_total_malloced(s);
    size_t limit = slab_limit(s);

    if (!over_limit && limit != 0 && total + SLAB_PAGE_SIZE > limit) {
        return NULL;
    }
    if (s->spare != NULL) {
        /* a page given back earlier: its mapping and entry are still here */
        struct slab_page *sp = s->spare;
        s->spare = sp->pool_next;
        sp->pool_next = NULL;
        atomic_store_explicit(&s->spare_pages, s->spare_pages - 1,
                              memory_order_relaxed);
        atomic_store_explicit(&s->total_malloced, total + SLAB_PAGE_SIZE,
                              memory_order_relaxed);
        return sp;
    }
    struct slab_page *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return NULL;
    }
    bool carved = s->region_used < s->region_pages;
    p->base =
        carved ? s->region + s->region_used * SLAB_PAGE_SIZE : map_aligned();
    if (p->base == NULL || !map_page(s, p) || !remember_page(s, p)) {
        if (p->base != NULL && !carved) {
            munmap(p->base, SLAB_PAGE_SIZE);
        }
        free(p);
        return NULL;
    }
    if (carved) {
        s->region_used++;
    }
    atomic_store_explicit(&s->total_malloced, total + SLAB_PAGE_SIZE,
                          memory_order_relaxed);
    return p;
}

static struct slab_page *
pool_pop(struct slab *s)
{
    struct slab_page *p = s->pool;

    if (p != NULL) {
        s->pool = p->pool_next;
        p->pool_next = NULL;
        atomic_store_explicit(&s->pool_pages, slab_pool_pages(s) - 1,
                              memory_order_relaxed);
    }
    return p;
}

/*
 * Gives an empty page's memory back to the kernel (RSS falls) and keeps
 * its descriptor, mapping and side table entry for new_page to reuse.
 * Needs page_lock.
 */
static void
give_back(struct slab *s, struct slab_page *p)
{
    madvise(p->base, SLAB_PAGE_SIZE, MADV_DONTNEED);
    p->pool_next = s->spare;
    s->spare = p;
    atomic_store_explicit(&s->spare_pages, s->spare_pages + 1,
                          memory_order_relaxed);
    atomic_store_explicit(&s->total_malloced,
                          slab_total_malloced(s) - SLAB_PAGE_SIZE,
                          memory_order_relaxed);
}

/* Over the limit (it was lowered): pages go back to the kernel. */
static bool
over_limit_locked(const struct slab *s)
{
    size_t limit = slab_limit(s);

    return limit != 0 && s->region == NULL && slab_total_malloced(s) > limit;
}

/* An empty page into the pool, or back to the kernel when over the limit. */
static void
pool_push(struct slab *s, struct slab_page *p)
{
    pthread_mutex_lock(&s->page_lock);
    if (over_limit_locked(s)) {
        give_back(s, p);
    } else {
        p->pool_next = s->pool;
        s->pool = p;
        atomic_store_explicit(&s->pool_pages, slab_pool_pages(s) + 1,
                              memory_order_relaxed);
    }
    pthread_mutex_unlock(&s->page_lock);
}

void
slab_set_limit(struct slab *s, size_t limit)
{
    pthread_mutex_lock(&s->page_lock);
    atomic_store_explicit(&s->mem_limit, limit, memory_order_relaxed);
    while (over_limit_locked(s) && s->pool != NULL) {
        give_back(s, pool_pop(s));
    }
    pthread_mutex_unlock(&s->page_lock);
}

static void cut_rest(struct slab_class *c);

/* Makes p (empty) the class's newest page and the one being cut. */
static bool
adopt_page(struct slab *s, unsigned id, struct slab_page *p)
{
    struct slab_class *c = &s->classes[id];
    uint32_t n = slab_npages(s, id);

    if (n == c->pages_cap) {
        uint32_t cap = c->pages_cap ? c->pages_cap * 2 : 8;
        struct slab_page **pages = realloc(c->pages, cap * sizeof(*pages));
        if (pages == NULL) {
            return false;
        }
        c->pages = pages;
        c->pages_cap = cap;
    }
    if (id == s->nclasses) {
        p->owners = calloc(c->perslab, sizeof(*p->owners));
        if (p->owners == NULL) {
            return false;
        }
    }
    atomic_store_explicit(&p->id, (uint16_t)id, memory_order_relaxed);
    p->draining = false;
    p->nused = 0;
    p->index = n;
    c->pages[n] = p;
    atomic_store_explicit(&c->npages, n + 1, memory_order_relaxed);
    p->ncut = 0;
    if (c->carve != NULL) {
        cut_rest(c); /* a page given by the mover while one is being cut */
    }
    c->carve = p;
    return true;
}

/* A page for class id: from the pool, else a fresh one. */
static bool
grow(struct slab *s, unsigned id, bool over_limit)
{
    pthread_mutex_lock(&s->page_lock);
    struct slab_page *p = pool_pop(s);
    if (p == NULL) {
        p = new_page(s, over_limit);
    }
    pthread_mutex_unlock(&s->page_lock);
    if (p == NULL) {
        return false;
    }
    if (!adopt_page(s, id, p)) {
        pool_push(s, p);
        return false;
    }
    return true;
}

/* ---- chunks --------------------------------------------------------- */

static void
set_mark(char *chunk, unsigned mark)
{
    _Atomic uint8_t *m = (_Atomic uint8_t *)(void *)(chunk + SLAB_MARK_OFFSET);
    atomic_store_explicit(m, (uint8_t)mark, memory_order_relaxed);
}

static unsigned
get_mark(const char *chunk)
{
    const _Atomic uint8_t *m =
        (const _Atomic uint8_t *)(const void *)(chunk + SLAB_MARK_OFFSET);
    return atomic_load_explicit(m, memory_order_relaxed);
}

static struct free_link
get_link(const char *chunk)
{
    struct free_link l;
    memcpy(&l, chunk, sizeof(l));
    return l;
}

static void
set_link(char *chunk, struct free_link l)
{
    memcpy(chunk, &l, sizeof(l));
}

static void
free_push(struct slab_class *c, char *chunk)
{
    struct free_link l = {c->free, NULL};

    set_link(chunk, l);
    if (c->free != NULL) {
        struct free_link h = get_link(c->free);
        h.prev = chunk;
        set_link(c->free, h);
    }
    c->free = chunk;
    c->nfree++;
}

static void
free_remove(struct slab_class *c, char *chunk)
{
    struct free_link l = get_link(chunk);

    if (l.prev != NULL) {
        struct free_link p = get_link(l.prev);
        p.next = l.next;
        set_link(l.prev, p);
    } else {
        c->free = l.next;
    }
    if (l.next != NULL) {
        struct free_link n = get_link(l.next);
        n.prev = l.prev;
        set_link(l.next, n);
    }
    c->nfree--;
}

/*
 * Cuts what is left of the page being cut onto the free list (touching
 * it), so that another page can become the one being cut.
 */
static void
cut_rest(struct slab_class *c)
{
    struct slab_page *p = c->carve;

    while (p->ncut < c->perslab) {
        char *chunk = p->base + (size_t)p->ncut++ * c->size;
        set_mark(chunk, SLAB_MARK_FREE);
        free_push(c, chunk);
    }
    c->carve = NULL;
}

static uint32_t
chunk_index(const struct slab_class *c, const struct slab_page *p,
            const char *chunk)
{
    return (uint32_t)((size_t)(chunk - p->base) / c->size);
}

/* Marks a chunk in use and counts it against its page. */
static void *
hand_out(struct slab *s, unsigned id, struct slab_page *p, char *chunk)
{
    set_mark(chunk, 0);
    p->nused++;
    if (p->owners != NULL) {
        p->owners[chunk_index(&s->classes[id], p, chunk)] = chunk;
    }
    return chunk;
}

static void *
alloc_from_class(struct slab *s, unsigned id)
{
    struct slab_class *c = &s->classes[id];

    if (c->free != NULL) {
        char *chunk = c->free;
        free_remove(c, chunk);
        return hand_out(s, id, slab_page_of(s, chunk), chunk);
    }
    if (c->carve != NULL) {
        struct slab_page *p = c->carve;
        char *chunk = p->base + (size_t)p->ncut * c->size;
        if (++p->ncut == c->perslab) {
            c->carve = NULL;
        }
        return hand_out(s, id, p, chunk);
    }
    return NULL;
}

void *
slab_alloc_locked(struct slab *s, unsigned id)
{
    void *chunk = alloc_from_class(s, id);

    if (chunk == NULL && grow(s, id, false)) {
        chunk = alloc_from_class(s, id);
    }
    return chunk;
}

void *
slab_alloc_first_page_locked(struct slab *s, unsigned id)
{
    void *chunk = slab_alloc_locked(s, id);

    if (chunk == NULL && slab_npages(s, id) == 0 && grow(s, id, true)) {
        chunk = alloc_from_class(s, id);
    }
    return chunk;
}

/* Takes an empty draining page out of its class and into the pool. */
static void
release_page(struct slab *s, unsigned id, struct slab_page *p)
{
    struct slab_class *c = &s->classes[id];
    uint32_t n = slab_npages(s, id) - 1;

    memmove(&c->pages[p->index], &c->pages[p->index + 1],
            (n - p->index) * sizeof(*c->pages));
    for (uint32_t i = p->index; i < n; i++) {
        c->pages[i]->index = i;
    }
    atomic_store_explicit(&c->npages, n, memory_order_relaxed);
    if (c->draining == p) {
        c->draining = NULL;
    }
    if (c->carve == p) {
        c->carve = NULL;
    }
    free(p->owners);
    p->owners = NULL;
    p->draining = false;
    atomic_store_explicit(&p->id, 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->pages_moved, 1, memory_order_relaxed);
    pool_push(s, p);
}

/* Takes page p out of the pool if it is there. Needs page_lock. */
static bool
pool_unlink(struct slab *s, struct slab_page *p)
{
    for (struct slab_page **pp = &s->pool; *pp != NULL;
         pp = &(*pp)->pool_next) {
        if (*pp == p) {
            *pp = p->pool_next;
            p->pool_next = NULL;
            atomic_store_explicit(&s->pool_pages, slab_pool_pages(s) - 1,
                                  memory_order_relaxed);
            return true;
        }
    }
    return false;
}

bool
slab_pool_give_locked(struct slab *s, unsigned id, struct slab_page *p,
                      bool count)
{
    pthread_mutex_lock(&s->page_lock);
    if (p == NULL) {
        p = pool_pop(s);
    } else if (!pool_unlink(s, p)) {
        p = NULL;
    }
    pthread_mutex_unlock(&s->page_lock);
    if (p == NULL) {
        return false;
    }
    if (!adopt_page(s, id, p)) {
        pool_push(s, p);
        return false;
    }
    if (count) {
        atomic_fetch_add_explicit(&s->pages_moved, 1, memory_order_relaxed);
    }
    return true;
}

void
slab_free_locked(struct slab *s, unsigned id, void *chunk)
{
    struct slab_class *c = &s->classes[id];
    struct slab_page *p = slab_page_of(s, chunk);

    set_mark(chunk, SLAB_MARK_FREE);
    if (p->owners != NULL) {
        p->owners[chunk_index(c, p, chunk)] = NULL;
    }
    p->nused--;
    if (!p->draining) {
        free_push(c, chunk);
    } else if (p->nused == 0) {
        release_page(s, id, p);
    }
}

void
slab_set_owner_locked(struct slab *s, void *chunk, void *owner)
{
    struct slab_page *p = slab_page_of(s, chunk);
    unsigned id = atomic_load_explicit(&p->id, memory_order_relaxed);

    p->owners[chunk_index(&s->classes[id], p, chunk)] = owner;
}

bool
slab_chunk_free_locked(const struct slab *s, unsigned id,
                       const struct slab_page *p, uint32_t i)
{
    if (p->owners != NULL) {
        return p->owners[i] == NULL;
    }
    return get_mark(slab_chunk_locked(s, id, p, i)) & SLAB_MARK_FREE;
}

void
slab_drain_locked(struct slab *s, unsigned id, struct slab_page *p)
{
    struct slab_class *c = &s->classes[id];

    if (p->draining) {
        return;
    }
    uint32_t ncut = slab_ncut_locked(p);
    for (uint32_t i = 0; i < ncut; i++) {
        if (slab_chunk_free_locked(s, id, p, i)) {
            free_remove(c, slab_chunk_locked(s, id, p, i));
        }
    }
    if (c->carve == p) {
        c->carve = NULL;
    }
    p->draining = true;
    c->draining = p;
    if (p->nused == 0) {
        release_page(s, id, p);
    }
}

void *
slab_alloc_free_locked(struct slab *s, unsigned id)
{
    return alloc_from_class(s, id);
}

void
slab_undrain_locked(struct slab *s, unsigned id, struct slab_page *p)
{
    struct slab_class *c = &s->classes[id];

    if (!p->draining) {
        return;
    }
    for (uint32_t i = 0; i < p->ncut; i++) {
        if (slab_chunk_free_locked(s, id, p, i)) {
            free_push(c, slab_chunk_locked(s, id, p, i));
        }
    }
    p->draining = false;
    if (c->draining == p) {
        c->draining = NULL;
    }
    if (p->ncut < c->perslab && c->carve == NULL) {
        c->carve = p;
    }
}
