#include "unit.h"

#include "engine/engine.h"
#include "engine/engine_internal.h"
#include "engine/item.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIB       ((size_t)1 << 20)
#define CHUNK_MAX ((size_t)512 * 1024)

/* memcached's class table for -n chunk_min -f factor, as it builds it. */
static unsigned
mc_table(uint32_t *sizes, size_t chunk_min, double factor, size_t chunk_max)
{
    size_t size = 48 + chunk_min;
    unsigned id = 0;

    while (++id < 63 && (double)size < (double)chunk_max / factor) {
        size = (size + 7) / 8 * 8;
        sizes[id] = (uint32_t)size;
        size = (size_t)((double)size * factor);
    }
    sizes[id] = (uint32_t)chunk_max;
    return id;
}

static unsigned
mc_class(const uint32_t *sizes, unsigned n, size_t msize)
{
    unsigned id = 1;
    while (id < n && msize > sizes[id]) {
        id++;
    }
    return id;
}

static size_t
msize_of(size_t nkey, size_t nbytes, uint32_t flags, bool cas)
{
    return 48 + nkey + 1 + (flags != 0 ? 4 : 0) + nbytes + 2 + (cas ? 8 : 0);
}

static struct engine *
make_engine(void (*tweak)(struct engine_config *))
{
    struct engine_config cfg;
    engine_config_default(&cfg);
    if (tweak != NULL) {
        tweak(&cfg);
    }
    struct engine *e = engine_create(&cfg);
    assert_non_null(e);
    return e;
}

static enum engine_status
put(struct engine *e, const char *key, size_t nbytes, uint32_t flags,
    int64_t exptime)
{
    struct item *it;
    enum engine_status st =
        engine_reserve(e, STORE_SET, slice_make(key, strlen(key)), flags,
                       exptime, nbytes, &it);
    if (st != ENGINE_OK) {
        return st;
    }
    for (size_t off = 0; off < nbytes;) {
        struct wslice w = engine_wslice(it, off);
        memset(w.ptr, 'x', w.len);
        off += w.len;
    }
    return engine_commit(e, it, STORE_SET, 0, NULL);
}

static unsigned
class_of_key(struct engine *e, const char *key)
{
    struct item *it;
    assert_int_equal(engine_get(e, slice_make(key, strlen(key)), &it),
                     ENGINE_OK);
    unsigned id = engine_item_class(e, it);
    engine_release(e, it);
    return id;
}

/* Sum invariants: stats totals are the sums over classes. */
static void
check_sums(struct engine *e)
{
    struct engine_stats st;
    struct engine_class_stats cs;
    uint64_t number = 0, bytes = 0, evicted = 0, reclaimed = 0;
    uint64_t eu = 0, xu = 0, pages = 0;

    engine_stats(e, &st);
    for (unsigned id = 1; id <= engine_class_max(e); id++) {
        assert_true(engine_class_stats(e, id, &cs));
        assert_int_equal(cs.id, id);
        /* the segments partition the class's items */
        assert_int_equal(cs.number_hot + cs.number_warm + cs.number_cold +
                             cs.number_temp,
                         cs.number);
        assert_int_equal(cs.total_chunks, cs.used_chunks + cs.free_chunks);
        assert_int_equal(cs.free_chunks_end, 0);
        number += cs.number;
        bytes += cs.mem_requested;
        evicted += cs.evicted;
        reclaimed += cs.reclaimed;
        eu += cs.evicted_unfetched;
        xu += cs.expired_unfetched;
        pages += cs.total_pages;
    }
    assert_false(engine_class_stats(e, 0, &cs));
    assert_false(engine_class_stats(e, engine_class_max(e) + 1, &cs));
    assert_int_equal(number, st.curr_items);
    assert_int_equal(bytes, st.bytes);
    assert_int_equal(evicted, st.evictions);
    assert_int_equal(reclaimed, st.reclaimed);
    assert_int_equal(eu, st.evicted_unfetched);
    assert_int_equal(xu, st.expired_unfetched);
    assert_int_equal(pages * MIB,
                     st.total_malloced - st.slab_global_page_pool * MIB);
}

/* Stores many sizes, with and without flags; checks each item's class. */
static void
check_classes(struct engine *e, const uint32_t *sizes, unsigned n)
{
    static const uint32_t flag_set[] = {0, 7, 70000, 0x12345678};
    uint64_t count[64] = {0};
    uint64_t bytes[64] = {0};
    char key[32];
    unsigned k = 0;

    assert_int_equal(engine_class_max(e), n);
    for (size_t nbytes = 0; nbytes < 600000; nbytes += nbytes / 7 + 5) {
        for (unsigned f = 0; f < 4; f++) {
            snprintf(key, sizeof(key), "key%u", k++);
            assert_int_equal(put(e, key, nbytes, flag_set[f], 0), ENGINE_OK);
            size_t ms =
                msize_of(strlen(key), nbytes, flag_set[f], e->cfg.cas_enabled);
            unsigned want = mc_class(sizes, n, ms);
            assert_int_equal(class_of_key(e, key), want);
            struct engine_debug d;
            assert_int_equal(engine_debug(e, slice_make(key, strlen(key)), &d),
                             ENGINE_OK);
            assert_int_equal(d.cls, want); /* me's cls= agrees */
            count[want]++;
            bytes[want] += ms;
        }
    }
    for (unsigned id = 1; id <= n; id++) {
        struct engine_class_stats cs;
        assert_true(engine_class_stats(e, id, &cs));
        assert_int_equal(cs.number, count[id]);
        assert_int_equal(cs.mem_requested, bytes[id]);
        assert_int_equal(cs.chunk_size, sizes[id]);
        assert_int_equal(cs.chunks_per_page, MIB / sizes[id]);
    }
    check_sums(e);
}

static void
big_memory(struct engine_config *cfg)
{
    cfg->mem_limit = 512 * MIB;
}

static void
default_table_gives_memcached_class_ids(void **state)
{
    uint32_t sizes[64];
    unsigned n = mc_table(sizes, 48, 1.25, CHUNK_MAX);
    (void)state;
    assert_int_equal(n, 39);
    struct engine *e = make_engine(big_memory);
    check_classes(e, sizes, n);
    engine_destroy(e);
}

static void
no_cas_big(struct engine_config *cfg)
{
    cfg->mem_limit = 512 * MIB;
    cfg->cas_enabled = false;
}

static void
class_ids_without_cas(void **state)
{
    uint32_t sizes[64];
    unsigned n = mc_table(sizes, 48, 1.25, CHUNK_MAX);
    (void)state;
    struct engine *e = make_engine(no_cas_big);
    check_classes(e, sizes, n);
    engine_destroy(e);
}

static void
factor_table(struct engine_config *cfg)
{
    cfg->mem_limit = 512 * MIB;
    cfg->memcached_classes = true;
    cfg->chunk_min = 100;
    cfg->growth_factor = 1.5;
}

static void
memcached_table_with_n_and_f(void **state)
{
    uint32_t sizes[64];
    unsigned n = mc_table(sizes, 100, 1.5, CHUNK_MAX);
    (void)state;
    struct engine *e = make_engine(factor_table);
    check_classes(e, sizes, n);
    /* the engine's classes are memcached's: pages map one to one */
    for (unsigned id = 1; id <= e->slab.nclasses; id++) {
        assert_int_equal(e->lru[id].mc_pages, id);
    }
    engine_destroy(e);
}

static void
explicit_table(struct engine_config *cfg)
{
    cfg->mem_limit = 512 * MIB;
    cfg->slab_sizes[0] = 100;
    cfg->slab_sizes[1] = 1000;
    cfg->slab_sizes[2] = 20000;
    cfg->nslab_sizes = 3;
}

static void
slab_sizes_table(void **state)
{
    uint32_t sizes[64] = {0, 104, 1000, 20000, 512 * 1024};
    (void)state;
    struct engine *e = make_engine(explicit_table);
    check_classes(e, sizes, 4);
    for (unsigned id = 1; id <= e->slab.nclasses; id++) {
        assert_int_equal(e->lru[id].mc_pages, id);
    }
    engine_destroy(e);
}

/* Every fine class shows its pages in exactly one memcached class. */
static void
fine_pages_map_to_the_class_of_their_largest_item(void **state)
{
    struct engine *e = make_engine(NULL);
    (void)state;
    for (unsigned id = 1; id <= e->slab.nclasses; id++) {
        const struct lru *l = &e->lru[id];
        size_t largest = e->slab.classes[id].size + 27;
        assert_int_equal(l->mc_pages,
                         slab_memcached_class_for(&e->slab, largest));
        assert_true(l->mc_lo <= l->mc_pages && l->mc_pages <= l->mc_hi);
    }
    assert_int_equal(e->lru[e->slab.nclasses].mc_pages, 39);
    engine_destroy(e);
}

static void
small_memory(struct engine_config *cfg)
{
    cfg->mem_limit = 2 * MIB;
}

static void
evictions_are_counted_per_class_and_reset(void **state)
{
    struct engine *e = make_engine(small_memory);
    struct engine_stats st;
    struct engine_class_stats cs;
    char key[32];
    (void)state;
    for (int i = 0; i < 6000; i++) {
        snprintf(key, sizeof(key), "key%d", i);
        assert_int_equal(put(e, key, 1000, 0, i % 2 ? 0 : 1000), ENGINE_OK);
    }
    engine_debug_advance(e, 3);
    assert_int_equal(put(e, "last", 1000, 0, 0), ENGINE_OK);
    engine_stats(e, &st);
    unsigned id = class_of_key(e, "last");
    assert_int_equal(id, 12);
    assert_true(engine_class_stats(e, id, &cs));
    assert_true(cs.evicted > 0);
    assert_true(cs.evicted_nonzero > 0 && cs.evicted_nonzero < cs.evicted);
    assert_int_equal(cs.evicted_unfetched, cs.evicted);
    assert_int_equal(cs.evicted_time, 3);
    assert_int_equal(cs.age, 3);
    assert_int_equal(cs.evicted, st.evictions);
    check_sums(e);

    uint64_t number = cs.number;
    uint64_t bytes = cs.mem_requested;
    engine_stats_reset(e);
    engine_stats(e, &st);
    assert_int_equal(st.total_items, 0);
    assert_int_equal(st.evictions, 0);
    assert_int_equal(st.evicted_unfetched, 0);
    assert_int_equal(st.curr_items, number);
    assert_int_equal(st.bytes, bytes);
    assert_true(engine_class_stats(e, id, &cs));
    assert_int_equal(cs.evicted + cs.evicted_nonzero + cs.evicted_time, 0);
    assert_int_equal(cs.number, number);
    assert_true(cs.total_pages > 0);
    check_sums(e);
    assert_int_equal(put(e, "again", 10, 0, 0), ENGINE_OK);
    engine_stats(e, &st);
    assert_int_equal(st.total_items, 1);
    engine_destroy(e);
}

static void
no_evictions(struct engine_config *cfg)
{
    cfg->mem_limit = 2 * MIB;
    cfg->evictions = false;
}

static void
out_of_memory_is_counted_in_the_class_of_the_store(void **state)
{
    struct engine *e = make_engine(no_evictions);
    struct engine_class_stats cs;
    char key[32];
    int fails = 0;
    (void)state;
    for (int i = 0; i < 6000; i++) {
        snprintf(key, sizeof(key), "key%d", i);
        fails += put(e, key, 1000, 0, 0) == ENGINE_NO_MEMORY;
    }
    assert_true(fails > 0);
    assert_true(engine_class_stats(e, 12, &cs));
    assert_int_equal(cs.outofmemory, (uint64_t)fails);
    assert_int_equal(cs.evicted, 0);
    engine_stats_reset(e);
    assert_true(engine_class_stats(e, 12, &cs));
    assert_int_equal(cs.outofmemory, 0);
    engine_destroy(e);
}

static void
reclaims_count_expired_items(void **state)
{
    struct engine *e = make_engine(small_memory);
    struct engine_stats st;
    char key[32];
    (void)state;
    for (int i = 0; i < 1500; i++) {
        snprintf(key, sizeof(key), "key%d", i);
        assert_int_equal(put(e, key, 1000, 0, 1), ENGINE_OK);
    }
    engine_debug_advance(e, 2);
    for (int i = 0; i < 1500; i++) {
        snprintf(key, sizeof(key), "new%d", i);
        assert_int_equal(put(e, key, 1000, 0, 0), ENGINE_OK);
    }
    engine_stats(e, &st);
    assert_true(st.reclaimed > 0);
    assert_int_equal(st.expired_unfetched, st.reclaimed);
    check_sums(e);
    engine_destroy(e);
}

static void
uptime_and_oldest_follow_memcached(void **state)
{
    struct engine *e = make_engine(NULL);
    (void)state;
    assert_int_equal(engine_uptime(e), 2);
    assert_int_equal(engine_oldest(e), 0);
    engine_debug_advance(e, 2);
    assert_int_equal(engine_uptime(e), 4);
    engine_flush(e, 0);
    assert_int_equal(engine_oldest(e), engine_now(e) - 1);
    engine_flush(e, 100);
    assert_int_equal(engine_oldest(e), engine_now(e) + 99);
    engine_destroy(e);

    struct engine *nc = make_engine(no_cas_big);
    engine_flush(nc, 0);
    assert_int_equal(engine_oldest(nc), engine_now(nc));
    engine_destroy(nc);
}

struct hist {
    size_t n;
    size_t bucket[16];
    uint64_t count[16];
};

static void
on_size(void *ctx, size_t bucket, uint64_t count)
{
    struct hist *h = ctx;
    assert_true(h->n < 16);
    h->bucket[h->n] = bucket;
    h->count[h->n++] = count;
}

static struct hist
sizes_of(struct engine *e)
{
    struct hist h = {0};
    engine_sizes(e, on_size, &h);
    return h;
}

static void
sizes_count_items_stored_after_enable(void **state)
{
    struct engine *e = make_engine(NULL);
    (void)state;
    assert_int_equal(put(e, "old", 10, 0, 0), ENGINE_OK);
    assert_false(engine_sizes_enabled(e));
    assert_int_equal(sizes_of(e).n, 0);
    assert_int_equal(engine_sizes_enable(e), ENGINE_SIZES_OK);
    assert_int_equal(engine_sizes_enable(e), ENGINE_SIZES_OK);
    assert_true(engine_sizes_enabled(e));
    assert_int_equal(sizes_of(e).n, 0);
    /* the reference's sizes for these, key lengths included */
    assert_int_equal(put(e, "j10_0", 10, 0, 0), ENGINE_OK);     /* 74 */
    assert_int_equal(put(e, "j10_1", 10, 1, 0), ENGINE_OK);     /* 78 */
    assert_int_equal(put(e, "j100_0", 100, 0, 0), ENGINE_OK);   /* 165 */
    assert_int_equal(put(e, "j200_5", 200, 5, 0), ENGINE_OK);   /* 269 */
    assert_int_equal(put(e, "j1000_0", 1000, 0, 0), ENGINE_OK); /* 1066 */
    assert_int_equal(put(e, "j600000_0", 600000, 0, 0), ENGINE_OK);
    assert_int_equal(put(e, "j999900_0", 999900, 0, 0), ENGINE_OK);
    struct hist h = sizes_of(e);
    static const size_t want_b[] = {96, 192, 288, 1088, 600096, 999968};
    static const uint64_t want_c[] = {2, 1, 1, 1, 1, 1};
    assert_int_equal(h.n, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(h.bucket[i], want_b[i]);
        assert_int_equal(h.count[i], want_c[i]);
    }
    /* an item stored before the enable leaves without a trace */
    assert_int_equal(engine_delete(e, slice_make("old", 3), NULL), ENGINE_OK);
    assert_int_equal(sizes_of(e).count[0], 2);
    assert_int_equal(engine_delete(e, slice_make("j10_0", 5), NULL), ENGINE_OK);
    assert_int_equal(sizes_of(e).count[0], 1);
    /* a replacement moves between buckets */
    assert_int_equal(put(e, "j10_1", 100, 0, 0), ENGINE_OK);
    h = sizes_of(e);
    assert_int_equal(h.bucket[0], 192);
    assert_int_equal(h.count[0], 2);
    engine_sizes_disable(e);
    assert_false(engine_sizes_enabled(e));
    assert_int_equal(sizes_of(e).n, 0);
    assert_int_equal(put(e, "x", 10, 0, 0), ENGINE_OK);
    /* a new enable starts from nothing */
    assert_int_equal(engine_sizes_enable(e), ENGINE_SIZES_OK);
    assert_int_equal(sizes_of(e).n, 0);
    assert_int_equal(engine_delete(e, slice_make("x", 1), NULL), ENGINE_OK);
    assert_int_equal(sizes_of(e).n, 0);
    engine_destroy(e);
}

static void
sizes_need_cas(void **state)
{
    struct engine *e = make_engine(no_cas_big);
    (void)state;
    assert_int_equal(engine_sizes_enable(e), ENGINE_SIZES_NO_CAS);
    assert_false(engine_sizes_enabled(e));
    engine_destroy(e);
}

struct dump {
    size_t n;
    size_t stop_after; /* 0 = never */
    char keys[64][32];
    struct engine_dump_item items[64];
};

static bool
on_item(void *ctx, const struct engine_dump_item *it)
{
    struct dump *d = ctx;
    assert_true(d->n < 64 && it->key.len < 32);
    memcpy(d->keys[d->n], it->key.ptr, it->key.len);
    d->keys[d->n][it->key.len] = '\0';
    d->items[d->n] = *it;
    d->items[d->n].key = slice_make(d->keys[d->n], it->key.len);
    d->n++;
    return d->stop_after == 0 || d->n < d->stop_after;
}

static void
cachedump_lists_newest_first_with_limit(void **state)
{
    struct engine *e = make_engine(NULL);
    struct dump d = {0};
    (void)state;
    assert_int_equal(put(e, "a", 10, 0, 0), ENGINE_OK);
    assert_int_equal(put(e, "b", 10, 0, 2), ENGINE_OK);
    assert_int_equal(put(e, "c", 10, 0, 0), ENGINE_OK);
    assert_int_equal(put(e, "big", 1000, 0, 0), ENGINE_OK);
    engine_debug_advance(e, 3); /* b expires: it is still listed */
    assert_int_equal(put(e, "d", 10, 3, 0), ENGINE_OK);
    engine_cachedump(e, 1, 0, on_item, &d);
    assert_int_equal(d.n, 4);
    assert_string_equal(d.keys[0], "d");
    assert_string_equal(d.keys[1], "c");
    assert_string_equal(d.keys[2], "b");
    assert_string_equal(d.keys[3], "a");
    assert_int_equal(d.items[0].nbytes, 10);
    assert_int_equal(d.items[0].exptime, 0);
    assert_int_equal(d.items[2].exptime, engine_epoch_unix(e) + 62 + 2);
    assert_false(d.items[0].binary_key);

    memset(&d, 0, sizeof(d));
    engine_cachedump(e, 1, 2, on_item, &d);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.keys[1], "c");

    memset(&d, 0, sizeof(d));
    d.stop_after = 1;
    engine_cachedump(e, 1, 0, on_item, &d);
    assert_int_equal(d.n, 1);

    memset(&d, 0, sizeof(d));
    engine_cachedump(e, 12, 0, on_item, &d);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.keys[0], "big");

    memset(&d, 0, sizeof(d));
    engine_cachedump(e, 2, 0, on_item, &d);
    engine_cachedump(e, 0, 0, on_item, &d);
    engine_cachedump(e, 40, 0, on_item, &d);
    assert_int_equal(d.n, 0);
    engine_destroy(e);
}

static void
cachedump_finds_chunked_items_and_binary_keys(void **state)
{
    struct engine *e = make_engine(NULL);
    struct dump d = {0};
    struct item *it;
    (void)state;
    assert_int_equal(put(e, "huge", 700000, 0, 0), ENGINE_OK);
    assert_int_equal(put(e, "edge", CHUNK_MAX - 40, 0, 0), ENGINE_OK);
    assert_int_equal(
        engine_reserve(e, STORE_SET, slice_make("bin", 3), 0, 0, 1, &it),
        ENGINE_OK);
    *engine_wslice(it, 0).ptr = 'x';
    engine_set_binary_key(it);
    assert_int_equal(engine_commit(e, it, STORE_SET, 0, NULL), ENGINE_OK);
    engine_cachedump(e, 39, 0, on_item, &d);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.keys[0], "edge");
    assert_string_equal(d.keys[1], "huge");
    assert_int_equal(d.items[1].nbytes, 700000);
    memset(&d, 0, sizeof(d));
    engine_cachedump(e, 1, 0, on_item, &d);
    assert_int_equal(d.n, 1);
    assert_true(d.items[0].binary_key);
    engine_destroy(e);
}

static void
slab_numbers_are_real_pages_and_chunks(void **state)
{
    struct engine *e = make_engine(NULL);
    struct engine_class_stats cs;
    char key[32];
    (void)state;
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "key%d", i);
        assert_int_equal(put(e, key, 1000, 0, 0), ENGINE_OK);
    }
    assert_true(engine_class_stats(e, 12, &cs));
    assert_int_equal(cs.chunk_size, 1184);
    assert_int_equal(cs.chunks_per_page, 885);
    assert_int_equal(cs.total_pages, 1);
    assert_int_equal(cs.used_chunks, 100);
    assert_int_equal(cs.number, 100);
    assert_int_equal(cs.total_chunks, cs.used_chunks + cs.free_chunks);
    assert_true(engine_class_stats(e, 1, &cs));
    assert_int_equal(cs.total_pages + cs.number + cs.used_chunks, 0);
    assert_int_equal(cs.chunk_size, 96);
    assert_int_equal(cs.chunks_per_page, 10922);
    check_sums(e);
    engine_destroy(e);
}

/* ---- threads: stores and deletes racing the readers of statistics --- */

struct race {
    struct engine *e;
    int id;
    _Atomic bool stop;
};

static void *
writer(void *arg)
{
    struct race *r = arg;
    char key[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof(key), "k%d_%d", r->id, i % 500);
        size_t n = (size_t)(i * 37 % 3000);
        if (i % 5 == 0) {
            engine_delete(r->e, slice_make(key, strlen(key)), NULL);
        } else {
            put(r->e, key, n, (uint32_t)i % 3, i % 7 == 0 ? 1 : 0);
        }
        if (i % 1000 == 0) {
            engine_debug_advance(r->e, 1);
        }
    }
    return NULL;
}

static bool
count_item(void *ctx, const struct engine_dump_item *it)
{
    (*(size_t *)ctx)++;
    return it->key.len > 0;
}

static void
count_size(void *ctx, size_t bucket, uint64_t count)
{
    (void)bucket;
    *(uint64_t *)ctx += count;
}

static void *
reader(void *arg)
{
    struct race *r = arg;
    while (!atomic_load(&r->stop)) {
        struct engine_class_stats cs;
        size_t n = 0;
        uint64_t sizes = 0;
        for (unsigned id = 1; id <= engine_class_max(r->e); id++) {
            engine_class_stats(r->e, id, &cs);
            engine_cachedump(r->e, id, 50, count_item, &n);
        }
        engine_sizes_enable(r->e);
        engine_sizes(r->e, count_size, &sizes);
        engine_stats_reset(r->e);
        engine_sizes_disable(r->e);
    }
    return NULL;
}

static void
tiny_memory(struct engine_config *cfg)
{
    cfg->mem_limit = 4 * MIB;
}

static void
statistics_are_safe_against_concurrent_stores(void **state)
{
    struct engine *e = make_engine(tiny_memory);
    struct race w[4];
    struct race rd = {.e = e};
    pthread_t tw[4];
    pthread_t tr;
    (void)state;
    assert_int_equal(pthread_create(&tr, NULL, reader, &rd), 0);
    for (int i = 0; i < 4; i++) {
        w[i] = (struct race){.e = e, .id = i};
        assert_int_equal(pthread_create(&tw[i], NULL, writer, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(tw[i], NULL);
    }
    atomic_store(&rd.stop, true);
    pthread_join(tr, NULL);
    check_sums(e);
    engine_destroy(e);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_table_gives_memcached_class_ids),
        cmocka_unit_test(class_ids_without_cas),
        cmocka_unit_test(memcached_table_with_n_and_f),
        cmocka_unit_test(slab_sizes_table),
        cmocka_unit_test(fine_pages_map_to_the_class_of_their_largest_item),
        cmocka_unit_test(evictions_are_counted_per_class_and_reset),
        cmocka_unit_test(out_of_memory_is_counted_in_the_class_of_the_store),
        cmocka_unit_test(reclaims_count_expired_items),
        cmocka_unit_test(uptime_and_oldest_follow_memcached),
        cmocka_unit_test(sizes_count_items_stored_after_enable),
        cmocka_unit_test(sizes_need_cas),
        cmocka_unit_test(cachedump_lists_newest_first_with_limit),
        cmocka_unit_test(cachedump_finds_chunked_items_and_binary_keys),
        cmocka_unit_test(slab_numbers_are_real_pages_and_chunks),
        cmocka_unit_test(statistics_are_safe_against_concurrent_stores),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
