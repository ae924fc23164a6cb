#include "unit.h"

#include "engine/slab.h"

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
    assert_int_equal(slab_init(&s, 64 << 20, 48, 1.25, 512 << 10), SLAB_OK);
    check_table(&s, default_sizes, 39);
    slab_deinit(&s);
}

static void
n100_f2_class_table_matches_memcached(void **state)
{
    struct slab s;
    (void)state;
    assert_int_equal(slab_init(&s, 64 << 20, 100, 2.0, 512 << 10), SLAB_OK);
    check_table(&s, n100_f2_sizes, 12);
    slab_deinit(&s);
}

static void
small_growth_factor_stops_at_63_classes(void **state)
{
    struct slab s;
    (void)state;
    assert_int_equal(slab_init(&s, 64 << 20, 48, 1.05, 512 << 10), SLAB_OK);
    assert_int_equal(s.nclasses, SLAB_MAX_CLASSES);
    assert_int_equal(s.classes[SLAB_MAX_CLASSES].size, 512 << 10);
    for (unsigned id = 2; id < SLAB_MAX_CLASSES; id++) {
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
    assert_int_equal(slab_init(&s, 64 << 20, 48, 1.25, SLAB_PAGE_SIZE),
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
    assert_int_equal(slab_init(&s, 0, 0, 1.25, 512 << 10), SLAB_BAD_CONFIG);
    assert_int_equal(slab_init(&s, 0, 48, 1.0, 512 << 10), SLAB_BAD_CONFIG);
    assert_int_equal(slab_init(&s, 0, 48, 1.25, 2 << 20), SLAB_BAD_CONFIG);
    slab_deinit(&s);
}

static void
class_for_picks_smallest_class_that_fits(void **state)
{
    struct slab s;
    (void)state;
    assert_int_equal(slab_init(&s, 64 << 20, 48, 1.25, 512 << 10), SLAB_OK);
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
    assert_int_equal(slab_init(&s, 4 << 20, 48, 1.25, 512 << 10), SLAB_OK);
    size_t n = fill_class(&s, 39);
    assert_int_equal(n, 4 * 2);
    assert_int_equal(slab_total_malloced(&s), 4 << 20);
    assert_int_equal(s.classes[39].npages, 4);
    slab_deinit(&s);
}

static void
every_class_gets_its_first_page_beyond_the_limit(void **state)
{
    struct slab s;
    (void)state;
    assert_int_equal(slab_init(&s, 2 << 20, 48, 1.25, 512 << 10), SLAB_OK);
    assert_int_equal(fill_class(&s, 39), 4);
    for (unsigned id = 1; id < 39; id++) {
        assert_int_equal(fill_class(&s, id), s.classes[id].perslab);
    }
    assert_int_equal(slab_total_malloced(&s), (size_t)(2 + 38) << 20);
    slab_deinit(&s);
}

static void
pages_are_taken_lazily(void **state)
{
    struct slab s;
    (void)state;
    assert_int_equal(slab_init(&s, 64 << 20, 48, 1.25, 512 << 10), SLAB_OK);
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
    assert_int_equal(slab_init(&s, 0, 48, 1.25, 512 << 10), SLAB_OK);
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
    assert_int_equal(slab_init(&s, 64 << 20, 48, 1.25, 512 << 10), SLAB_OK);
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
    assert_int_equal(slab_init(&s, 64 << 20, 48, 1.25, 512 << 10), SLAB_OK);
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
        cmocka_unit_test(every_class_gets_its_first_page_beyond_the_limit),
        cmocka_unit_test(pages_are_taken_lazily),
        cmocka_unit_test(zero_limit_means_unlimited),
        cmocka_unit_test(freed_chunk_is_reused_first),
        cmocka_unit_test(chunks_are_distinct_and_map_back_to_their_class),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
