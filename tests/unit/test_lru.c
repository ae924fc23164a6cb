#include "unit.h"

#include "engine/engine.h"
#include "engine/engine_internal.h"
#include "engine/item.h"
#include "engine/lru.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Most tests use a 1 MiB limit and 100 kB values: every item lands in
 * the 103496-byte class, whose single page holds exactly 10 of them.
 */
#define VALUE_LEN 100000
#define PER_PAGE  10

static struct engine *
engine_of(size_t mib, bool evictions)
{
    struct engine_config cfg;
    engine_config_default(&cfg);
    cfg.mem_limit = mib << 20;
    cfg.evictions = evictions;
    /* flat mode's plain CLOCK; test_lru_policy.c has the segmented one */
    cfg.lru.segmented = false;
    struct engine *e = engine_create(&cfg);
    assert_non_null(e);
    return e;
}

static struct engine *
small_engine(bool evictions)
{
    return engine_of(1, evictions);
}

static struct slice
key_of(char *buf, int i)
{
    int n = snprintf(buf, 16, "k%d", i);
    return slice_make(buf, (size_t)n);
}

static enum engine_status
store(struct engine *e, int i, int64_t exptime)
{
    char kbuf[16];
    struct item *it;
    enum engine_status st = engine_reserve(e, STORE_SET, key_of(kbuf, i), 0,
                                           exptime, VALUE_LEN, &it);
    if (st != ENGINE_OK) {
        return st;
    }
    for (size_t off = 0; off < VALUE_LEN;) {
        struct wslice w = engine_wslice(it, off);
        memset(w.ptr, 'a' + i % 26, w.len);
        off += w.len;
    }
    return engine_commit(e, it, STORE_SET, 0, NULL);
}

/* A small item (its own class, far from the 100 kB one). */
static enum engine_status
store_small(struct engine *e, int i)
{
    char kbuf[16];
    struct item *it;
    enum engine_status st =
        engine_reserve(e, STORE_SET, key_of(kbuf, i), 0, 0, 100, &it);
    if (st != ENGINE_OK) {
        return st;
    }
    memset(engine_wslice(it, 0).ptr, 's', 100);
    return engine_commit(e, it, STORE_SET, 0, NULL);
}

static bool
present(struct engine *e, int i)
{
    char kbuf[16];
    struct item *it;
    if (engine_get(e, key_of(kbuf, i), &it) != ENGINE_OK) {
        return false;
    }
    engine_release(e, it);
    return true;
}

/* The key is present with a value of len bytes. */
static bool
present_key(struct engine *e, const char *key, size_t len)
{
    struct item *it;
    struct item_view v;
    if (engine_get(e, slice_make(key, strlen(key)), &it) != ENGINE_OK) {
        return false;
    }
    engine_view(it, &v);
    bool ok = v.nbytes == len;
    engine_release(e, it);
    return ok;
}

static void
fill(struct engine *e, int from, int to)
{
    for (int i = from; i < to; i++) {
        assert_int_equal(store(e, i, 0), ENGINE_OK);
    }
}

static void
link_and_unlink_keep_counts(void **state)
{
    struct engine *e = small_engine(true);
    struct engine_stats st;
    struct item *a;
    struct item *b;
    struct item *c;
    (void)state;
    assert_int_equal(
        engine_reserve(e, STORE_SET, slice_make("a", 1), 0, 0, 1, &a),
        ENGINE_OK);
    assert_int_equal(
        engine_reserve(e, STORE_SET, slice_make("b", 1), 5, 0, 1, &b),
        ENGINE_OK);
    assert_int_equal(
        engine_reserve(e, STORE_SET, slice_make("c", 1), 0, 0, 1, &c),
        ENGINE_OK);
    lru_count_link(e, a, true);
    lru_count_link(e, b, true);
    lru_count_link(e, c, false);
    engine_stats(e, &st);
    assert_int_equal(st.curr_items, 3);
    assert_int_equal(st.total_items, 2);
    assert_int_equal(st.bytes, 3 * (48 + 2 + 1 + 2 + 8) + 4);
    lru_count_unlink(e, b);
    engine_stats(e, &st);
    assert_int_equal(st.bytes, 2 * (48 + 2 + 1 + 2 + 8));
    lru_count_unlink(e, a);
    lru_count_unlink(e, c);
    engine_stats(e, &st);
    assert_int_equal(st.curr_items, 0);
    assert_int_equal(st.bytes, 0);
    assert_int_equal(st.total_items, 2);
    engine_abort(e, a);
    engine_abort(e, b);
    engine_abort(e, c);
    engine_destroy(e);
}

static void
evicts_oldest_item_when_class_is_full(void **state)
{
    struct engine *e = small_engine(true);
    struct engine_stats st;
    (void)state;
    fill(e, 0, PER_PAGE);
    engine_stats(e, &st);
    assert_int_equal(st.evictions, 0);
    assert_int_equal(st.curr_items, PER_PAGE);
    fill(e, PER_PAGE, PER_PAGE + 3);
    for (int i = 0; i < 3; i++) {
        assert_false(present(e, i));
    }
    for (int i = 3; i < PER_PAGE + 3; i++) {
        assert_true(present(e, i));
    }
    engine_stats(e, &st);
    assert_int_equal(st.evictions, 3);
    assert_int_equal(st.evicted_unfetched, 3);
    assert_int_equal(st.curr_items, PER_PAGE);
    assert_int_equal(st.total_items, PER_PAGE + 3);
    assert_int_equal(st.total_malloced, 1 << 20);
    engine_destroy(e);
}

static void
referenced_item_gets_second_chance(void **state)
{
    struct engine *e = small_engine(true);
    struct engine_stats st;
    (void)state;
    fill(e, 0, PER_PAGE);
    assert_true(present(e, 0));
    fill(e, PER_PAGE, PER_PAGE + 1);
    assert_true(present(e, 0));
    assert_false(present(e, 1));
    engine_stats(e, &st);
    assert_int_equal(st.evictions, 1);
    assert_int_equal(st.evicted_unfetched, 1);
    engine_destroy(e);
}

static void
item_read_between_stores_survives_many_evictions(void **state)
{
    struct engine *e = small_engine(true);
    (void)state;
    fill(e, 0, PER_PAGE);
    for (int i = PER_PAGE; i < 20 * PER_PAGE; i++) {
        assert_true(present(e, 0));
        fill(e, i, i + 1);
    }
    assert_true(present(e, 0));
    assert_false(present(e, 1));
    engine_destroy(e);
}

static void
pinned_item_is_never_evicted(void **state)
{
    struct engine *e = small_engine(true);
    struct item *pinned;
    struct item_view v;
    (void)state;
    fill(e, 0, PER_PAGE);
    assert_int_equal(engine_get(e, slice_make("k0", 2), &pinned), ENGINE_OK);
    fill(e, PER_PAGE, 5 * PER_PAGE);
    engine_view(pinned, &v);
    assert_int_equal(v.nbytes, VALUE_LEN);
    assert_int_equal(v.segs[0].ptr[0], 'a');
    assert_int_equal(v.segs[0].ptr[VALUE_LEN - 1], 'a');
    assert_true(present(e, 0));
    engine_release(e, pinned);
    engine_destroy(e);
}

static void
store_fails_with_no_memory_when_every_item_is_pinned(void **state)
{
    struct engine *e = small_engine(true);
    struct item *pins[PER_PAGE];
    char kbuf[16];
    (void)state;
    fill(e, 0, PER_PAGE);
    for (int i = 0; i < PER_PAGE; i++) {
        assert_int_equal(engine_get(e, key_of(kbuf, i), &pins[i]), ENGINE_OK);
    }
    assert_int_equal(store(e, PER_PAGE, 0), ENGINE_NO_MEMORY);
    for (int i = 0; i < PER_PAGE; i++) {
        engine_release(e, pins[i]);
    }
    assert_int_equal(store(e, PER_PAGE, 0), ENGINE_OK);
    engine_destroy(e);
}

static void
expired_item_is_reused_before_live_item_is_evicted(void **state)
{
    struct engine *e = small_engine(true);
    struct engine_stats st;
    (void)state;
    fill(e, 0, 3);
    assert_int_equal(store(e, 3, 10), ENGINE_OK);
    fill(e, 4, PER_PAGE);
    engine_debug_advance(e, 20);
    fill(e, PER_PAGE, PER_PAGE + 1);
    engine_stats(e, &st);
    assert_int_equal(st.reclaimed, 1);
    assert_int_equal(st.expired_unfetched, 1);
    assert_int_equal(st.evictions, 0);
    assert_true(present(e, 0));
    assert_false(present(e, 3));
    engine_destroy(e);
}

static void
flushed_items_are_reused_before_live_ones_are_evicted(void **state)
{
    struct engine *e = small_engine(true);
    struct engine_stats st;
    (void)state;
    fill(e, 0, PER_PAGE);
    engine_flush(e, 0);
    fill(e, PER_PAGE, 2 * PER_PAGE);
    engine_stats(e, &st);
    assert_int_equal(st.reclaimed, PER_PAGE);
    assert_int_equal(st.evictions, 0);
    assert_int_equal(st.curr_items, PER_PAGE);
    for (int i = PER_PAGE; i < 2 * PER_PAGE; i++) {
        assert_true(present(e, i));
    }
    engine_destroy(e);
}

static void
disabled_evictions_give_no_memory(void **state)
{
    struct engine *e = small_engine(false);
    struct engine_stats st;
    (void)state;
    fill(e, 0, PER_PAGE);
    assert_int_equal(store(e, PER_PAGE, 0), ENGINE_NO_MEMORY);
    engine_stats(e, &st);
    assert_int_equal(st.evictions, 0);
    for (int i = 0; i < PER_PAGE; i++) {
        assert_true(present(e, i));
    }
    engine_destroy(e);
}

static void
disabled_evictions_still_reclaim_expired_items(void **state)
{
    struct engine *e = small_engine(false);
    struct engine_stats st;
    (void)state;
    assert_int_equal(store(e, 0, -1), ENGINE_OK);
    fill(e, 1, PER_PAGE);
    assert_int_equal(store(e, PER_PAGE, 0), ENGINE_OK);
    assert_int_equal(store(e, PER_PAGE + 1, 0), ENGINE_NO_MEMORY);
    engine_stats(e, &st);
    assert_int_equal(st.reclaimed, 1);
    assert_int_equal(st.evictions, 0);
    engine_destroy(e);
}

static void
other_classes_still_get_their_first_page_when_memory_is_full(void **state)
{
    struct engine *e = small_engine(true);
    struct item *it;
    struct engine_stats st;
    (void)state;
    fill(e, 0, PER_PAGE);
    assert_int_equal(
        engine_reserve(e, STORE_SET, slice_make("small", 5), 0, 0, 10, &it),
        ENGINE_OK);
    memcpy(engine_wslice(it, 0).ptr, "0123456789", 10);
    assert_int_equal(engine_commit(e, it, STORE_SET, 0, NULL), ENGINE_OK);
    engine_stats(e, &st);
    assert_int_equal(st.total_malloced, 2 << 20);
    assert_int_equal(st.evictions, 0);
    engine_destroy(e);
}

/* ---- CLOCK ---------------------------------------------------------- */

static void
hand_clears_every_bit_in_one_turn_then_evicts_in_chunk_order(void **state)
{
    struct engine *e = small_engine(true);
    struct engine_stats st;
    (void)state;
    fill(e, 0, PER_PAGE);
    for (int i = 0; i < PER_PAGE; i++) {
        assert_true(present(e, i)); /* every item active */
    }
    fill(e, PER_PAGE, PER_PAGE + 2);
    assert_false(present(e, 0));
    assert_false(present(e, 1));
    for (int i = 2; i < PER_PAGE + 2; i++) {
        assert_true(present(e, i));
    }
    engine_stats(e, &st);
    assert_int_equal(st.evictions, 2);
    assert_int_equal(st.evicted_unfetched, 0);
    engine_destroy(e);
}

static void
new_items_land_behind_the_hand_and_leave_first_in_first_out(void **state)
{
    struct engine *e = small_engine(true);
    (void)state;
    fill(e, 0, 2 * PER_PAGE);
    for (int i = 0; i < PER_PAGE; i++) {
        assert_false(present(e, i));
        assert_true(present(e, PER_PAGE + i));
    }
    /* Those reads made the survivors active: one more turn clears them. */
    fill(e, 2 * PER_PAGE, 2 * PER_PAGE + 1);
    assert_false(present(e, PER_PAGE));
    assert_true(present(e, PER_PAGE + 1));
    assert_true(present(e, 2 * PER_PAGE));
    engine_destroy(e);
}

static void
hand_skips_items_being_created(void **state)
{
    struct engine *e = small_engine(true);
    struct item *half;
    char kbuf[16];
    (void)state;
    fill(e, 0, PER_PAGE - 1);
    /* A reservation holds the last chunk, not linked yet. */
    assert_int_equal(
        engine_reserve(e, STORE_SET, key_of(kbuf, 99), 0, 0, VALUE_LEN, &half),
        ENGINE_OK);
    for (int i = PER_PAGE; i < 3 * PER_PAGE; i++) {
        assert_int_equal(store(e, i, 0), ENGINE_OK);
    }
    memset(engine_wslice(half, 0).ptr, 'h', VALUE_LEN);
    assert_int_equal(engine_commit(e, half, STORE_SET, 0, NULL), ENGINE_OK);
    assert_true(present(e, 99));
    engine_destroy(e);
}

/* ---- page stealing -------------------------------------------------- */

static void
class_with_no_page_steals_one_instead_of_exceeding_the_limit(void **state)
{
    struct engine *e = engine_of(4, true);
    struct engine_stats st;
    (void)state;
    fill(e, 0, 4 * PER_PAGE);
    engine_stats(e, &st);
    assert_int_equal(st.total_malloced, 4 << 20);
    assert_int_equal(store_small(e, 1000), ENGINE_OK);
    engine_stats(e, &st);
    assert_int_equal(st.total_malloced, 4 << 20);
    assert_int_equal(st.slabs_moved, 1);
    /* The page under the big class's hand (its first) went. */
    assert_int_equal(st.evictions, PER_PAGE);
    for (int i = 0; i < PER_PAGE; i++) {
        assert_false(present(e, i));
    }
    for (int i = PER_PAGE; i < 4 * PER_PAGE; i++) {
        assert_true(present(e, i));
    }
    assert_true(present(e, 1000));
    /* The big class keeps working in its three pages. */
    fill(e, 4 * PER_PAGE, 5 * PER_PAGE);
    engine_stats(e, &st);
    assert_int_equal(st.total_malloced, 4 << 20);
    assert_int_equal(st.curr_items, 3 * PER_PAGE + 1);
    engine_destroy(e);
}

static void
page_with_a_pinned_item_is_not_stolen(void **state)
{
    struct engine *e = engine_of(2, true);
    struct item *pin;
    char kbuf[16];
    (void)state;
    fill(e, 0, 2 * PER_PAGE);
    assert_int_equal(engine_get(e, key_of(kbuf, 3), &pin), ENGINE_OK);
    assert_int_equal(store_small(e, 1000), ENGINE_OK);
    for (int i = 0; i < PER_PAGE; i++) {
        assert_true(present(e, i));
        assert_false(present(e, PER_PAGE + i));
    }
    struct engine_stats st;
    engine_stats(e, &st);
    assert_int_equal(st.total_malloced, 2 << 20);
    engine_release(e, pin);
    engine_destroy(e);
}

static void
live_pages_are_not_stolen_with_evictions_off(void **state)
{
    struct engine *e = engine_of(2, false);
    struct engine_stats st;
    (void)state;
    fill(e, 0, 2 * PER_PAGE);
    /* Nothing to steal: the new class takes its first page anyway. */
    assert_int_equal(store_small(e, 1000), ENGINE_OK);
    engine_stats(e, &st);
    assert_int_equal(st.total_malloced, 3 << 20);
    assert_int_equal(st.evictions, 0);
    assert_int_equal(st.curr_items, 2 * PER_PAGE + 1);
    engine_destroy(e);
}

static void
expired_page_is_stolen_even_with_evictions_off(void **state)
{
    struct engine *e = engine_of(2, false);
    struct engine_stats st;
    (void)state;
    for (int i = 0; i < PER_PAGE; i++) {
        assert_int_equal(store(e, i, 10), ENGINE_OK);
    }
    fill(e, PER_PAGE, 2 * PER_PAGE);
    engine_debug_advance(e, 20);
    assert_int_equal(store_small(e, 1000), ENGINE_OK);
    engine_stats(e, &st);
    assert_int_equal(st.total_malloced, 2 << 20);
    assert_int_equal(st.reclaimed, PER_PAGE);
    assert_int_equal(st.evictions, 0);
    engine_destroy(e);
}

static void
chunked_items_give_their_pages_up(void **state)
{
    struct engine *e = engine_of(4, true);
    struct engine_stats st;
    char key[16];
    static char big[1000000];
    (void)state;
    memset(big, 'B', sizeof(big));
    for (int i = 0; i < 3; i++) {
        struct item *it;
        snprintf(key, sizeof(key), "big%d", i);
        assert_int_equal(engine_reserve(e, STORE_SET, slice_make(key, 4), 0, 0,
                                        sizeof(big), &it),
                         ENGINE_OK);
        for (size_t off = 0; off < sizeof(big);) {
            struct wslice w = engine_wslice(it, off);
            memcpy(w.ptr, big + off, w.len);
            off += w.len;
        }
        assert_int_equal(engine_commit(e, it, STORE_SET, 0, NULL), ENGINE_OK);
    }
    /* Headers took a page, the three values three: memory is full. */
    engine_stats(e, &st);
    assert_int_equal(st.total_malloced, 4 << 20);
    assert_int_equal(store_small(e, 1000), ENGINE_OK);
    engine_stats(e, &st);
    assert_int_equal(st.total_malloced, 4 << 20);
    assert_int_equal(st.evictions, 1);
    struct item *it;
    assert_int_equal(engine_get(e, slice_make("big0", 4), &it),
                     ENGINE_NOT_FOUND);
    for (int i = 1; i < 3; i++) {
        struct item_view v;
        snprintf(key, sizeof(key), "big%d", i);
        assert_int_equal(engine_get(e, slice_make(key, 4), &it), ENGINE_OK);
        engine_view(it, &v);
        assert_int_equal(v.nbytes, sizeof(big));
        for (size_t k = 0; k < v.nseg; k++) {
            assert_int_equal(v.segs[k].ptr[0], 'B');
            assert_int_equal(v.segs[k].ptr[v.segs[k].len - 1], 'B');
        }
        engine_release(e, it);
    }
    assert_true(present(e, 1000));
    engine_destroy(e);
}

static void
memory_stays_within_the_limit_whatever_the_sizes(void **state)
{
    static const size_t sizes[] = {100, 700, 3000, 20000, 150000, 700000};
    struct engine *e = engine_of(16, true);
    static char buf[700000];
    char key[32];
    struct engine_stats st;
    unsigned seed = 7;
    (void)state;
    memset(buf, 'v', sizeof(buf));
    for (int i = 0; i < 20000; i++) {
        unsigned r = (unsigned)rand_r(&seed);
        /* Which sizes are popular shifts every 4000 stores. */
        size_t len = sizes[(r % 8 == 0 ? r >> 8 : (unsigned)i / 4000) % 6];
        struct item *it;
        snprintf(key, sizeof(key), "m%u", r % 5000);
        assert_int_equal(engine_reserve(e, STORE_SET,
                                        slice_make(key, strlen(key)), 0, 0, len,
                                        &it),
                         ENGINE_OK);
        for (size_t off = 0; off < len;) {
            struct wslice w = engine_wslice(it, off);
            memcpy(w.ptr, buf, w.len);
            off += w.len;
        }
        assert_int_equal(engine_commit(e, it, STORE_SET, 0, NULL), ENGINE_OK);
        engine_stats(e, &st);
        assert_true(st.total_malloced <= 16 << 20);
        assert_true(present_key(e, key, len));
        if (i % 500 == 499) {
            engine_debug_advance(e, 1);
        }
    }
    assert_true(st.slabs_moved > 0);
    assert_true(st.evictions > 0);
    engine_destroy(e);
}

/* ---- rebalancing ---------------------------------------------------- */

static void
idle_class_gives_pages_to_a_class_that_evicts_young_items(void **state)
{
    struct engine *e = engine_of(4, true);
    unsigned big;
    unsigned small;
    struct item *it;
    char kbuf[16];
    (void)state;
    fill(e, 0, 4 * PER_PAGE);
    assert_int_equal(engine_get(e, key_of(kbuf, 20), &it), ENGINE_OK);
    big = slab_class_of(&e->slab, it);
    engine_release(e, it);
    engine_debug_advance(e, 100);
    /* The small class steals its first page, then evicts its own items. */
    for (int i = 0; i < 20000; i++) {
        assert_int_equal(store_small(e, 1000 + i), ENGINE_OK);
        if (i % 1000 == 999) {
            engine_debug_advance(e, 1);
        }
    }
    assert_int_equal(engine_get(e, key_of(kbuf, 1000), &it), ENGINE_NOT_FOUND);
    assert_int_equal(engine_get(e, key_of(kbuf, 20999), &it), ENGINE_OK);
    small = slab_class_of(&e->slab, it);
    engine_release(e, it);
    /* Old items of the idle class lost their pages but for the last. */
    assert_int_equal(slab_npages(&e->slab, big), 1);
    assert_int_equal(slab_npages(&e->slab, small), 3);
    struct engine_stats st;
    engine_stats(e, &st);
    assert_int_equal(st.total_malloced, 4 << 20);
    assert_int_equal(st.slabs_moved, 3);
    engine_destroy(e);
}

static void
busy_classes_of_similar_age_keep_their_pages(void **state)
{
    struct engine *e = engine_of(4, true);
    struct engine_stats st;
    (void)state;
    fill(e, 0, 3 * PER_PAGE);
    for (int i = 0; i < 5000; i++) {
        assert_int_equal(store_small(e, 1000 + i), ENGINE_OK);
    }
    /* Both evict items of the same age: no page moves. */
    for (int round = 0; round < 5; round++) {
        engine_debug_advance(e, 1);
        fill(e, 100 + round * 20, 100 + round * 20 + 20);
        for (int i = 0; i < 8000; i++) {
            assert_int_equal(store_small(e, 10000 + round * 8000 + i),
                             ENGINE_OK);
        }
    }
    engine_stats(e, &st);
    assert_int_equal(st.slabs_moved, 0);
    assert_true(st.evictions > 30000);
    engine_destroy(e);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(link_and_unlink_keep_counts),
        cmocka_unit_test(evicts_oldest_item_when_class_is_full),
        cmocka_unit_test(referenced_item_gets_second_chance),
        cmocka_unit_test(item_read_between_stores_survives_many_evictions),
        cmocka_unit_test(pinned_item_is_never_evicted),
        cmocka_unit_test(store_fails_with_no_memory_when_every_item_is_pinned),
        cmocka_unit_test(expired_item_is_reused_before_live_item_is_evicted),
        cmocka_unit_test(flushed_items_are_reused_before_live_ones_are_evicted),
        cmocka_unit_test(disabled_evictions_give_no_memory),
        cmocka_unit_test(disabled_evictions_still_reclaim_expired_items),
        cmocka_unit_test(
            other_classes_still_get_their_first_page_when_memory_is_full),
        cmocka_unit_test(
            hand_clears_every_bit_in_one_turn_then_evicts_in_chunk_order),
        cmocka_unit_test(
            new_items_land_behind_the_hand_and_leave_first_in_first_out),
        cmocka_unit_test(hand_skips_items_being_created),
        cmocka_unit_test(
            class_with_no_page_steals_one_instead_of_exceeding_the_limit),
        cmocka_unit_test(page_with_a_pinned_item_is_not_stolen),
        cmocka_unit_test(live_pages_are_not_stolen_with_evictions_off),
        cmocka_unit_test(expired_page_is_stolen_even_with_evictions_off),
        cmocka_unit_test(chunked_items_give_their_pages_up),
        cmocka_unit_test(memory_stays_within_the_limit_whatever_the_sizes),
        cmocka_unit_test(
            idle_class_gives_pages_to_a_class_that_evicts_young_items),
        cmocka_unit_test(busy_classes_of_similar_age_keep_their_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
