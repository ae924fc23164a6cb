#include "unit.h"

#include "engine/engine.h"
#include "engine/engine_internal.h"
#include "engine/item.h"
#include "engine/lru.h"

#include <stdio.h>
#include <string.h>

/*
 * Most tests use a 1 MiB limit and 100 kB values: every item lands in
 * the 103496-byte class, whose single page holds exactly 10 of them.
 */
#define VALUE_LEN 100000
#define PER_PAGE  10

static struct engine *
small_engine(bool evictions)
{
    struct engine_config cfg;
    engine_config_default(&cfg);
    cfg.mem_limit = 1 << 20;
    cfg.evictions = evictions;
    struct engine *e = engine_create(&cfg);
    assert_non_null(e);
    return e;
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

static void
fill(struct engine *e, int from, int to)
{
    for (int i = from; i < to; i++) {
        assert_int_equal(store(e, i, 0), ENGINE_OK);
    }
}

static void
list_keeps_link_order_and_counts(void **state)
{
    struct engine *e = small_engine(true);
    struct lru l;
    struct item *a;
    struct item *b;
    struct item *c;
    (void)state;
    memset(&l, 0, sizeof(l));
    assert_int_equal(
        engine_reserve(e, STORE_SET, slice_make("a", 1), 0, 0, 1, &a),
        ENGINE_OK);
    assert_int_equal(
        engine_reserve(e, STORE_SET, slice_make("b", 1), 5, 0, 1, &b),
        ENGINE_OK);
    assert_int_equal(
        engine_reserve(e, STORE_SET, slice_make("c", 1), 0, 0, 1, &c),
        ENGINE_OK);
    lru_link_locked(&l, a, true);
    lru_link_locked(&l, b, true);
    lru_link_locked(&l, c, true);
    assert_ptr_equal(l.head, c);
    assert_ptr_equal(l.tail, a);
    assert_int_equal(lru_stat(&l.curr_items), 3);
    assert_int_equal(lru_stat(&l.bytes), 3 * (48 + 2 + 1 + 2 + 8) + 4);
    lru_unlink_locked(&l, b);
    assert_ptr_equal(c->next, a);
    assert_ptr_equal(a->prev, c);
    lru_unlink_locked(&l, a);
    lru_unlink_locked(&l, c);
    assert_null(l.head);
    assert_null(l.tail);
    assert_int_equal(lru_stat(&l.curr_items), 0);
    assert_int_equal(lru_stat(&l.bytes), 0);
    assert_int_equal(lru_stat(&l.total_items), 3);
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(list_keeps_link_order_and_counts),
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
