#include "unit.h"

#include "engine/slab.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const unsigned default_sizes[] = {
    96,     120,    152,    192,    240,    304,    384,    480,
    600,    752,    944,    1184,   1480,   1856,   2320,   2904,
    3632,   4544,   5680,   7104,   8880,   11104,  13880,  17352,
    21696,  27120,  33904,  42384,  52984,  66232,  82792,  103496,
    129376, 161720, 202152, 252696, 315872, 394840, 524288,
};

static const unsigned n100_f2_sizes[] = {
    152, 304, 608, 1216, 2432, 4864, 9728, 19456, 38912, 77824, 155648, 524288,
};

/* slab_init with memcached's class table (-n chunk_min -f factor). */
static enum slab_status
init_memcached(struct slab *s, size_t limit, size_t chunk_min, double factor,
               size_t chunk_max)
{
    struct slab_config cfg = {
        .mem_limit = limit,
        .chunk_min = chunk_min,
        .factor = factor,
        .chunk_max = chunk_max,
        .memcached_classes = true,
    };
    return slab_init(s, &cfg);
}

/* slab_init with the fine class table. */
static enum slab_status
init_fine(struct slab *s, size_t limit, size_t chunk_max)
{
    struct slab_config cfg = {
        .mem_limit = limit,
        .chunk_min = 48,
        .factor = 1.25,
        .chunk_max = chunk_max,
    };
    return slab_init(s, &cfg);
}

static void
check_table(const struct slab *s, const unsigned *sizes, unsigned n)
{
    assert_int_equal(s->nclasses, n);
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(s->classes[i + 1].size, sizes[i]);
        assert_int_equal(s->classes[i + 1].perslab, SLAB_PAGE_SIZE / sizes[i]);
    }
}

static void
default_class_table_matches_memcached(void **state)
{
    struct slab s;
    (void)state;
    assert_int_equal(init_memcached(&s, 64 << 20, 48, 1.25, 512 << 10),
                     SLAB_OK);
    check_table(&s, default_sizes, 39);
    slab_deinit(&s);
}

static void
n100_f2_class_table_matches_memcached(void **state)
{
    struct slab s;
    (void)state;
    assert_int_equal(init_memcached(&s, 64 << 20, 100, 2.0, 512 << 10),
                     SLAB_OK);
    check_table(&s, n100_f2_sizes, 12);
    slab_deinit(&s);
}

static void
small_growth_factor_stops_at_63_classes(void **state)
{
    struct slab s;
    (void)state;
    assert_int_equal(init_memcached(&s, 64 << 20, 48, 1.05, 512 << 10),
                     SLAB_OK);
    assert_int_equal(s.nclasses, SLAB_MEMCACHED_MAX_CLASSES);
    assert_int_equal(s.classes[SLAB_MEMCACHED_MAX_CLASSES].size, 512 << 10);
    for (unsigned id = 2; id < SLAB_MEMCACHED_MAX_CLASSES; id++) {
        assert_true(s.classes[id].size > s.classes[id - 1].size);
        assert_int_equal(s.classes[id].size % 8, 0);
    }
    slab_deinit(&s);
}

static void
page_sized_chunk_max_gives_one_chunk_per_page(void **state)
{
    struct slab s;
    (void)state;
    assert_int_equal(init_memcached(&s, 64 << 20, 48, 1.25, SLAB_PAGE_SIZE),
                     SLAB_OK);
    assert_int_equal(s.classes[s.nclasses].size, SLAB_PAGE_SIZE);
    assert_int_equal(s.classes[s.nclasses].perslab, 1);
    slab_lock(&s, s.nclasses);
    char *p = slab_alloc_locked(&s, s.nclasses);
    slab_unlock(&s, s.nclasses);
    assert_non_null(p);
    memset(p, 0xab, SLAB_PAGE_SIZE);
    assert_int_equal(slab_class_of(&s, p + SLAB_PAGE_SIZE - 1), s.nclasses);
    slab_deinit(&s);
}

static void
rejects_bad_config(void **state)
{
    struct slab s;
    (void)state;
    assert_int_equal(init_memcached(&s, 0, 0, 1.25, 512 << 10),
                     SLAB_BAD_CONFIG);
    assert_int_equal(init_memcached(&s, 0, 48, 1.0, 512 << 10),
                     SLAB_BAD_CONFIG);
    assert_int_equal(init_memcached(&s, 0, 48, 1.25, 2 << 20), SLAB_BAD_CONFIG);
    slab_deinit(&s);
}

static void
class_for_picks_smallest_class_that_fits(void **state)
{
    struct slab s;
    (void)state;
    assert_int_equal(init_memcached(&s, 64 << 20, 48, 1.25, 512 << 10),
                     SLAB_OK);
    assert_int_equal(slab_class_for(&s, 1), 1);
    assert_int_equal(slab_class_for(&s, 96), 1);
    assert_int_equal(slab_class_for(&s, 97), 2);
    assert_int_equal(slab_class_for(&s, 120), 2);
    assert_int_equal(slab_class_for(&s, 394841), 39);
    assert_int_equal(slab_class_for(&s, 524288), 39);
    assert_int_equal(slab_class_for(&s, 524289), 0);
    slab_deinit(&s);
}

/* Allocates from class id until the slab refuses; returns the count. */
static size_t
fill_class(struct slab *s, unsigned id)
{
    size_t n = 0;
    slab_lock(s, id);
    while (slab_alloc_locked(s, id) != NULL) {
        n++;
    }
    slab_unlock(s, id);
    return n;
}

static void
memory_limit_caps_pages_of_a_class(void **state)
{
    struct slab s;
    (void)state;
    assert_int_equal(init_memcached(&s, 4 << 20, 48, 1.25, 512 << 10), SLAB_OK);
    size_t n = fill_class(&s, 39);
    assert_int_equal(n, 4 * 2);
    assert_int_equal(slab_total_malloced(&s), 4 << 20);
    assert_int_equal(s.classes[39].npages, 4);
    slab_deinit(&s);
}

static void
only_a_class_with_no_page_may_go_beyond_the_limit(void **state)
{
    struct slab s;
    (void)state;
    assert_int_equal(init_memcached(&s, 2 << 20, 48, 1.25, 512 << 10), SLAB_OK);
    assert_int_equal(fill_class(&s, 39), 4);
    for (unsigned id = 1; id < 39; id++) {
        assert_int_equal(fill_class(&s, id), 0);
    }
    assert_int_equal(slab_total_malloced(&s), 2 << 20);
    for (unsigned id = 1; id < 39; id++) {
        size_t n = 0;
        slab_lock(&s, id);
        while (slab_alloc_first_page_locked(&s, id) != NULL) {
            n++;
        }
        slab_unlock(&s, id);
        assert_int_equal(n, s.classes[id].perslab);
    }
    assert_int_equal(slab_total_malloced(&s), (size_t)(2 + 38) << 20);
    slab_lock(&s, 39);
    assert_null(slab_alloc_first_page_locked(&s, 39));
    slab_unlock(&s, 39);
    slab_deinit(&s);
}

static void
pages_are_taken_lazily(void **state)
{
    struct slab s;
    (void)state;
    assert_int_equal(init_memcached(&s, 64 << 20, 48, 1.25, 512 << 10),
                     SLAB_OK);
    assert_int_equal(slab_total_malloced(&s), 0);
    slab_lock(&s, 1);
    assert_non_null(slab_alloc_locked(&s, 1));
    slab_unlock(&s, 1);
    assert_int_equal(slab_total_malloced(&s), 1 << 20);
    slab_deinit(&s);
}

static void
zero_limit_means_unlimited(void **state)
{
    struct slab s;
    (void)state;
    assert_int_equal(init_memcached(&s, 0, 48, 1.25, 512 << 10), SLAB_OK);
    slab_lock(&s, 39);
    for (int i = 0; i < 20; i++) {
        assert_non_null(slab_alloc_locked(&s, 39));
    }
    slab_unlock(&s, 39);
    assert_int_equal(slab_total_malloced(&s), 10 << 20);
    slab_deinit(&s);
}

static void
freed_chunk_is_reused_first(void **state)
{
    struct slab s;
    (void)state;
    assert_int_equal(init_memcached(&s, 64 << 20, 48, 1.25, 512 << 10),
                     SLAB_OK);
    slab_lock(&s, 3);
    void *a = slab_alloc_locked(&s, 3);
    void *b = slab_alloc_locked(&s, 3);
    assert_ptr_equal((char *)b, (char *)a + 152);
    slab_free_locked(&s, 3, a);
    assert_ptr_equal(slab_alloc_locked(&s, 3), a);
    slab_unlock(&s, 3);
    slab_deinit(&s);
}

static void
chunks_are_distinct_and_map_back_to_their_class(void **state)
{
    struct slab s;
    (void)state;
    assert_int_equal(init_memcached(&s, 64 << 20, 48, 1.25, 512 << 10),
                     SLAB_OK);
    for (unsigned id = 1; id <= s.nclasses; id += 5) {
        slab_lock(&s, id);
        for (unsigned i = 0; i < s.classes[id].perslab + 1; i++) {
            char *p = slab_alloc_locked(&s, id);
            assert_non_null(p);
            assert_int_equal((uintptr_t)p % 8, 0);
            memset(p, (int)id, s.classes[id].size);
            assert_int_equal(slab_class_of(&s, p), id);
            assert_int_equal(slab_class_of(&s, p + s.classes[id].size - 1), id);
        }
        slab_unlock(&s, id);
        assert_int_equal(s.classes[id].npages, 2);
    }
    slab_deinit(&s);
}

/* ---- the fine table ------------------------------------------------ */

static void
fine_table_rounds_items_up_by_at_most_a_32nd(void **state)
{
    struct slab s;
    (void)state;
    assert_int_equal(init_fine(&s, 64 << 20, 512 << 10), SLAB_OK);
    assert_int_equal(s.nclasses, 207);
    assert_int_equal(s.classes[1].size, SLAB_FINE_MIN);
    for (unsigned id = 1; id <= 61; id++) {
        assert_int_equal(s.classes[id].size, SLAB_FINE_MIN + 8 * (id - 1));
    }
    for (unsigned id = 2; id <= s.nclasses; id++) {
        uint32_t prev = s.classes[id - 1].size;
        uint32_t size = s.classes[id].size;
        assert_true(size > prev);
        assert_int_equal(size % 8, 0);
        /*
         * An item of prev + 1 bytes wastes 7 bytes up to 512, at most
         * 1/32 of its size up to 2 KiB, 1/16 above, plus what raising
         * the size to the page's chunk count adds (1/perslab).
         */
        if (prev < 512) {
            assert_int_equal(size - prev, 8);
        } else if (prev < 2048) {
            assert_true(size - prev <= prev / 32);
        } else {
            assert_true(size - prev <=
                        prev / 16 + prev / s.classes[id].perslab + 8);
        }
        assert_int_equal(s.classes[id].perslab, SLAB_PAGE_SIZE / size);
    }
    /* Each size is the largest with its chunks per page. */
    for (unsigned id = 1; id < s.nclasses; id++) {
        uint32_t size = s.classes[id].size;
        assert_true((size_t)(size + 8) * s.classes[id].perslab >
                    SLAB_PAGE_SIZE);
    }
    assert_int_equal(s.classes[s.nclasses].size, 512 << 10);
    /* The sizes our items of 30-byte keys and 16 B, 100 B, 1 KiB take. */
    assert_int_equal(s.classes[slab_class_for(&s, 80)].size, 80);
    assert_int_equal(s.classes[slab_class_for(&s, 164)].size, 168);
    assert_int_equal(s.classes[slab_class_for(&s, 1088)].size, 1088);
    slab_deinit(&s);
}

static void
fine_table_ends_at_a_small_chunk_max(void **state)
{
    struct slab s;
    (void)state;
    assert_int_equal(init_fine(&s, 64 << 20, 16384), SLAB_OK);
    assert_int_equal(s.classes[s.nclasses].size, 16384);
    assert_true(s.classes[s.nclasses - 1].size < 16384);
    assert_int_equal(slab_class_for(&s, 16385), 0);
    slab_deinit(&s);
}

/* ---- pages moving between classes ----------------------------------- */

static void
draining_page_goes_to_the_pool_once_its_chunks_are_back(void **state)
{
    struct slab s;
    char *a[4];
    (void)state;
    assert_int_equal(init_memcached(&s, 2 << 20, 48, 1.25, 512 << 10), SLAB_OK);
    slab_lock(&s, 39);
    for (int i = 0; i < 4; i++) {
        a[i] = slab_alloc_locked(&s, 39);
        assert_non_null(a[i]);
    }
    assert_null(slab_alloc_locked(&s, 39));
    struct slab_page *p = slab_page_of(&s, a[0]);
    assert_ptr_equal(slab_page_of(&s, a[1]), p);
    assert_int_equal(slab_npages(&s, 39), 2);
    slab_free_locked(&s, 39, a[0]);
    slab_free_locked(&s, 39, a[2]);
    assert_true(slab_chunk_free_locked(&s, 39, p, 0));
    assert_false(slab_chunk_free_locked(&s, 39, p, 1));
    slab_drain_locked(&s, 39, p);
    assert_ptr_equal(slab_draining_locked(&s, 39), p);
    /* a[0] left the free list with its page; a[2] (other page) did not. */
    assert_ptr_equal(slab_alloc_locked(&s, 39), a[2]);
    assert_null(slab_alloc_locked(&s, 39));
    assert_int_equal(slab_pool_pages(&s), 0);
    slab_free_locked(&s, 39, a[1]);
    assert_null(slab_draining_locked(&s, 39));
    assert_int_equal(slab_npages(&s, 39), 1);
    assert_int_equal(slab_pool_pages(&s), 1);
    slab_unlock(&s, 39);
    /* Another class gets the page without going over the limit. */
    slab_lock(&s, 1);
    char *c = slab_alloc_locked(&s, 1);
    slab_unlock(&s, 1);
    assert_ptr_equal(c, p->base);
    assert_int_equal(slab_class_of(&s, c), 1);
    assert_int_equal(slab_pool_pages(&s), 0);
    assert_int_equal(slab_total_malloced(&s), 2 << 20);
    slab_deinit(&s);
}

static void
free_list_unlinks_chunks_from_its_middle(void **state)
{
    struct slab s;
    char *a[6];
    (void)state;
    assert_int_equal(init_memcached(&s, 8 << 20, 48, 1.25, 512 << 10), SLAB_OK);
    slab_lock(&s, 39);
    for (int i = 0; i < 6; i++) {
        a[i] = slab_alloc_locked(&s, 39);
    }
    /* Free list, newest first: a[4] (page 2), a[3] (page 1), a[0]. */
    slab_free_locked(&s, 39, a[0]);
    slab_free_locked(&s, 39, a[3]);
    slab_free_locked(&s, 39, a[4]);
    slab_drain_locked(&s, 39, slab_page_of(&s, a[3]));
    assert_ptr_equal(slab_alloc_locked(&s, 39), a[4]);
    assert_ptr_equal(slab_alloc_locked(&s, 39), a[0]);
    slab_unlock(&s, 39);
    slab_deinit(&s);
}

static void
draining_an_empty_page_frees_it_at_once(void **state)
{
    struct slab s;
    (void)state;
    assert_int_equal(init_fine(&s, 4 << 20, 512 << 10), SLAB_OK);
    slab_lock(&s, 5);
    char *a = slab_alloc_locked(&s, 5);
    struct slab_page *p = slab_page_of(&s, a);
    slab_free_locked(&s, 5, a);
    slab_drain_locked(&s, 5, p);
    assert_int_equal(slab_npages(&s, 5), 0);
    assert_int_equal(slab_pool_pages(&s), 1);
    assert_null(slab_draining_locked(&s, 5));
    /* The class takes its own page back from the pool. */
    assert_ptr_equal(slab_alloc_locked(&s, 5), p->base);
    slab_unlock(&s, 5);
    slab_deinit(&s);
}

static void
largest_class_keeps_an_owner_per_chunk(void **state)
{
    struct slab s;
    int owner;
    (void)state;
    assert_int_equal(init_fine(&s, 4 << 20, 512 << 10), SLAB_OK);
    unsigned big = s.nclasses;
    slab_lock(&s, big);
    char *a = slab_alloc_locked(&s, big);
    char *b = slab_alloc_locked(&s, big);
    struct slab_page *p = slab_page_of(&s, a);
    assert_ptr_equal(p->owners[0], a);
    slab_set_owner_locked(&s, b, &owner);
    assert_ptr_equal(p->owners[1], &owner);
    /* Value bytes that look like a free mark do not make a chunk free. */
    memset(b, 0xff, 64);
    assert_false(slab_chunk_free_locked(&s, big, p, 1));
    slab_free_locked(&s, big, a);
    assert_true(slab_chunk_free_locked(&s, big, p, 0));
    assert_null(p->owners[0]);
    slab_unlock(&s, big);
    slab_deinit(&s);
}

/* slab_init with an explicit table (-o slab_sizes). */
static enum slab_status
init_explicit(struct slab *s, const uint32_t *sizes, unsigned n,
              size_t chunk_max)
{
    struct slab_config cfg = {
        .mem_limit = 64 << 20,
        .chunk_min = 48,
        .factor = 1.25,
        .chunk_max = chunk_max,
        .sizes = sizes,
        .nsizes = n,
    };
    return slab_init(s, &cfg);
}

static void
explicit_sizes_round_up_to_8_and_end_at_chunk_max(void **state)
{
    static const uint32_t given[] = {100, 200, 301, 1000};
    static const unsigned want[] = {104, 200, 304, 1000, 524288};
    struct slab s;
    (void)state;
    assert_int_equal(init_explicit(&s, given, 4, 512 << 10), SLAB_OK);
    check_table(&s, want, 5);
    assert_int_equal(slab_class_for(&s, 105), 2);
    assert_int_equal(slab_class_for(&s, 1001), 5);
    /* meta debug's cls follows the same table, as memcached's does */
    assert_int_equal(slab_memcached_class_for(&s, 102), 1);
    assert_int_equal(slab_memcached_class_for(&s, 122), 2);
    assert_int_equal(slab_memcached_class_for(&s, 963), 4);
    assert_int_equal(slab_memcached_class_for(&s, 2064), 5);
    assert_int_equal(slab_memcached_class_for(&s, 600066), 5);
    slab_deinit(&s);
}

static void
explicit_size_equal_to_chunk_max_adds_no_second_largest_class(void **state)
{
    static const uint32_t given[] = {100, 262144};
    static const unsigned want[] = {104, 262144};
    struct slab s;
    (void)state;
    assert_int_equal(init_explicit(&s, given, 2, 256 << 10), SLAB_OK);
    check_table(&s, want, 2);
    /* memcached keeps both: 104, 262144, 262144 */
    assert_int_equal(s.mc_nclasses, 3);
    assert_int_equal(slab_memcached_class_for(&s, 200000), 2);
    assert_int_equal(slab_memcached_class_for(&s, 300000), 3);
    slab_deinit(&s);
}

static void
explicit_sizes_below_a_free_chunk_are_raised_to_it(void **state)
{
    /* memcached: 16, 24, 40 (-n 1); a free chunk here needs 24 bytes */
    static const uint32_t given[] = {9, 18, 33};
    static const unsigned want[] = {24, 40, 524288};
    struct slab s;
    (void)state;
    assert_int_equal(init_explicit(&s, given, 3, 512 << 10), SLAB_OK);
    check_table(&s, want, 3);
    assert_int_equal(s.mc_sizes[1], 16);
    assert_int_equal(slab_memcached_class_for(&s, 20), 2);
    slab_deinit(&s);
}

static void
explicit_table_rejects_more_than_62_sizes(void **state)
{
    uint32_t given[SLAB_MEMCACHED_MAX_CLASSES];
    struct slab s;
    (void)state;
    for (unsigned i = 0; i < SLAB_MEMCACHED_MAX_CLASSES; i++) {
        given[i] = 64 + 16 * i;
    }
    assert_int_equal(
        init_explicit(&s, given, SLAB_MEMCACHED_MAX_CLASSES, 512 << 10),
        SLAB_BAD_CONFIG);
    assert_int_equal(
        init_explicit(&s, given, SLAB_MEMCACHED_MAX_CLASSES - 1, 512 << 10),
        SLAB_OK);
    assert_int_equal(s.nclasses, SLAB_MEMCACHED_MAX_CLASSES);
    slab_deinit(&s);
}

/* slab_init with -L: the memcached table and a large-page region. */
static enum slab_status
init_large(struct slab *s, size_t limit, size_t large_page)
{
    struct slab_config cfg = {
        .mem_limit = limit,
        .chunk_min = 48,
        .factor = 1.25,
        .chunk_max = 512 << 10,
        .memcached_classes = true,
        .large_page_size = large_page,
    };
    return slab_init(s, &cfg);
}

/* The THPeligible line of the smaps entry that maps addr, or -1. */
static int
thp_eligible(const void *addr)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[512];
    int found = 0;
    int eligible = -1;

    if (f == NULL) {
        return -1;
    }
    while (eligible < 0 && fgets(line, sizeof(line), f) != NULL) {
        unsigned long lo;
        unsigned long hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') &&
            line[0] != ' ') {
            found = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
        } else if (found && sscanf(line, "THPeligible: %d", &eligible) == 1) {
            break;
        }
    }
    fclose(f);
    return eligible;
}

static bool
thp_never(void)
{
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    char buf[128] = {0};
    bool never = true;

    if (f != NULL) {
        never = fgets(buf, sizeof(buf), f) == NULL ||
                strstr(buf, "[never]") != NULL;
        fclose(f);
    }
    return never;
}

static void
large_pages_reserve_the_limit_and_carve_pages_from_it(void **state)
{
    struct slab s;
    int err = -1;
    (void)state;
    assert_int_equal(init_large(&s, 8 << 20, 2 << 20), SLAB_OK);
    assert_int_equal(slab_prealloc_status(&s, &err), SLAB_PREALLOC_DONE);
    assert_int_equal(err, 0);
    assert_non_null(s.region);
    assert_int_equal((uintptr_t)s.region % (2 << 20), 0);
    assert_int_equal(s.region_pages, 8);
    /* reserved, not yet counted: pages count as classes take them */
    assert_int_equal(slab_total_malloced(&s), 0);
    if (!thp_never()) {
        assert_int_equal(thp_eligible(s.region), 1);
    }
    for (unsigned id = 1; id <= 8; id++) {
        slab_lock(&s, id);
        char *chunk = slab_alloc_locked(&s, id);
        slab_unlock(&s, id);
        assert_ptr_equal(chunk, s.region + (id - 1) * SLAB_PAGE_SIZE);
        assert_int_equal(slab_total_malloced(&s), id * SLAB_PAGE_SIZE);
    }
    assert_int_equal(s.region_used, 8);
    /* the limit holds; a class with no page still gets its first one */
    assert_int_equal(fill_class(&s, 9), 0);
    slab_lock(&s, 9);
    char *extra = slab_alloc_first_page_locked(&s, 9);
    slab_unlock(&s, 9);
    assert_non_null(extra);
    assert_true(extra < s.region || extra >= s.region + (8 << 20));
    assert_int_equal(slab_total_malloced(&s), 9 * SLAB_PAGE_SIZE);
    memset(extra, 0x5a, SLAB_PAGE_SIZE);
    memset(s.region, 0xa5, 8 << 20);
    slab_deinit(&s);
}

/* True when the kernel refuses mappings larger than memory + swap. */
static bool
overcommit_heuristic(void)
{
    FILE *f = fopen("/proc/sys/vm/overcommit_memory", "r");
    int mode = -1;

    if (f != NULL) {
        if (fscanf(f, "%d", &mode) != 1) {
            mode = -1;
        }
        fclose(f);
    }
    return mode == 0;
}

static void
large_page_region_that_cannot_be_mapped_leaves_pages_mapped_one_by_one(
    void **state)
{
    struct slab s;
    int err = 0;
    (void)state;
    if (!overcommit_heuristic()) {
        skip();
    }
    /* 16 TiB: more than memory + swap, which the heuristic refuses */
    assert_int_equal(init_large(&s, (size_t)1 << 44, 2 << 20), SLAB_OK);
    assert_int_equal(slab_prealloc_status(&s, &err), SLAB_PREALLOC_NO_MAP);
    assert_int_equal(err, ENOMEM);
    assert_null(s.region);
    slab_lock(&s, 39);
    char *chunk = slab_alloc_locked(&s, 39);
    slab_unlock(&s, 39);
    assert_non_null(chunk);
    assert_int_equal(slab_total_malloced(&s), SLAB_PAGE_SIZE);
    slab_deinit(&s);
}

static void
large_page_size_must_be_a_power_of_two(void **state)
{
    struct slab s;
    int err;
    (void)state;
    assert_int_equal(init_large(&s, 8 << 20, 3 << 20), SLAB_BAD_CONFIG);
    assert_int_equal(init_large(&s, 8 << 20, 0), SLAB_OK);
    assert_int_equal(slab_prealloc_status(&s, &err), SLAB_PREALLOC_OFF);
    assert_null(s.region);
    slab_deinit(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_class_table_matches_memcached),
        cmocka_unit_test(n100_f2_class_table_matches_memcached),
        cmocka_unit_test(small_growth_factor_stops_at_63_classes),
        cmocka_unit_test(page_sized_chunk_max_gives_one_chunk_per_page),
        cmocka_unit_test(rejects_bad_config),
        cmocka_unit_test(class_for_picks_smallest_class_that_fits),
        cmocka_unit_test(memory_limit_caps_pages_of_a_class),
        cmocka_unit_test(only_a_class_with_no_page_may_go_beyond_the_limit),
        cmocka_unit_test(pages_are_taken_lazily),
        cmocka_unit_test(zero_limit_means_unlimited),
        cmocka_unit_test(freed_chunk_is_reused_first),
        cmocka_unit_test(chunks_are_distinct_and_map_back_to_their_class),
        cmocka_unit_test(fine_table_rounds_items_up_by_at_most_a_32nd),
        cmocka_unit_test(fine_table_ends_at_a_small_chunk_max),
        cmocka_unit_test(
            draining_page_goes_to_the_pool_once_its_chunks_are_back),
        cmocka_unit_test(free_list_unlinks_chunks_from_its_middle),
        cmocka_unit_test(draining_an_empty_page_frees_it_at_once),
        cmocka_unit_test(largest_class_keeps_an_owner_per_chunk),
        cmocka_unit_test(explicit_sizes_round_up_to_8_and_end_at_chunk_max),
        cmocka_unit_test(
            explicit_size_equal_to_chunk_max_adds_no_second_largest_class),
        cmocka_unit_test(explicit_sizes_below_a_free_chunk_are_raised_to_it),
        cmocka_unit_test(explicit_table_rejects_more_than_62_sizes),
        cmocka_unit_test(large_pages_reserve_the_limit_and_carve_pages_from_it),
        cmocka_unit_test(
            large_page_region_that_cannot_be_mapped_leaves_pages_mapped_one_by_one),
        cmocka_unit_test(large_page_size_must_be_a_power_of_two),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
