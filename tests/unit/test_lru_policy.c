#include "unit.h"

#include "engine/engine.h"
#include "engine/engine_internal.h"
#include "engine/item.h"
#include "engine/lru.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The segmented policy's state machine (lru.h, docs/ENGINE.md#eviction).
 * A 1 MiB limit and 100 kB values: every item lands in one class whose
 * single page holds exactly 10 of them, so probation's share (20%) is 2.
 */
#define VALUE_LEN 100000
#define PER_PAGE  10

static struct engine *
engine_with(bool evictions, bool segmented, bool temp_lru)
{
    struct engine_config cfg;
    engine_config_default(&cfg);
    cfg.mem_limit = 1 << 20;
    cfg.evictions = evictions;
    cfg.lru.segmented = segmented;
    cfg.lru.temp_lru = temp_lru;
    cfg.lru.temp_ttl = 100;
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

static void
fill(struct engine *e, int from, int to)
{
    for (int i = from; i < to; i++) {
        assert_int_equal(store(e, i, 0), ENGINE_OK);
    }
}

/* Reads key i; returns its segment, or -1 on a miss. */
static int
read_seg(struct engine *e, int i)
{
    char kbuf[16];
    struct item *it;
    if (engine_get(e, key_of(kbuf, i), &it) != ENGINE_OK) {
        return -1;
    }
    int seg = (int)engine_item_seg(it);
    engine_release(e, it);
    return seg;
}

/* Segment counts summed over the classes; checks they partition. */
struct segs {
    uint64_t hot, warm, cold, temp;
};

static struct segs
segments(struct engine *e)
{
    struct segs s = {0, 0, 0, 0};
    struct engine_stats st;
    struct engine_class_stats cs;

    for (unsigned id = 1; id <= engine_class_max(e); id++) {
        assert_true(engine_class_stats(e, id, &cs));
        assert_int_equal(cs.number_hot + cs.number_warm + cs.number_cold +
                             cs.number_temp,
                         cs.number);
        s.hot += cs.number_hot;
        s.warm += cs.number_warm;
        s.cold += cs.number_cold;
        s.temp += cs.number_temp;
    }
    engine_stats(e, &st);
    assert_int_equal(s.hot + s.warm + s.cold + s.temp, st.curr_items);
    return s;
}

static void
items_start_cold_until_the_class_first_evicts(void **state)
{
    struct engine *e = engine_with(true, true, false);
    (void)state;

    fill(e, 0, PER_PAGE);
    struct segs s = segments(e);
    assert_int_equal(s.cold, PER_PAGE);
    assert_int_equal(s.hot, 0);
    /* the first eviction starts probation: the next item is HOT */
    fill(e, PER_PAGE, PER_PAGE + 1);
    assert_int_equal(read_seg(e, PER_PAGE), ENGINE_SEG_HOT);
    engine_destroy(e);
}

static void
unread_new_items_leave_before_read_old_ones(void **state)
{
    struct engine *e = engine_with(true, true, false);
    struct engine_stats st;
    (void)state;

    fill(e, 0, PER_PAGE);
    for (int i = 0; i < PER_PAGE; i++) {
        assert_int_equal(read_seg(e, i), ENGINE_SEG_COLD);
    }
    /*
     * All ten were read: the first eviction's hand moves them COLD ->
     * WARM (read), WARM -> COLD (unread since), then takes item 0; the
     * next two evictions take items 1 and 2 (probation is within its
     * share of 2); from then on probation is over its share and each
     * store evicts the oldest unread new item instead.
     */
    fill(e, PER_PAGE, 3 * PER_PAGE);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(read_seg(e, i), -1);
    }
    for (int i = 3; i < PER_PAGE; i++) {
        assert_int_equal(read_seg(e, i), ENGINE_SEG_COLD);
    }
    for (int i = PER_PAGE; i < 3 * PER_PAGE - 3; i++) {
        assert_int_equal(read_seg(e, i), -1);
    }
    for (int i = 3 * PER_PAGE - 3; i < 3 * PER_PAGE; i++) {
        assert_int_equal(read_seg(e, i), ENGINE_SEG_HOT);
    }
    engine_stats(e, &st);
    assert_int_equal(st.evictions, 2 * PER_PAGE);
    assert_int_equal(st.moves_to_warm, PER_PAGE);
    assert_int_equal(st.moves_to_cold, PER_PAGE);
    assert_int_equal(st.direct_reclaims, 2 * PER_PAGE);
    assert_int_equal(st.evicted_active, 0);
    assert_true(st.lru_maintainer_juggles >= (uint64_t)4 * PER_PAGE);
    struct segs s = segments(e);
    assert_int_equal(s.hot, 3);
    assert_int_equal(s.cold, PER_PAGE - 3);
    engine_destroy(e);
}

static void
read_on_probation_moves_to_warm_and_stays(void **state)
{
    struct engine *e = engine_with(true, true, false);
    struct engine_stats before;
    struct engine_stats after;
    (void)state;

    fill(e, 0, PER_PAGE + 3); /* probation holds 10, 11, 12 */
    assert_int_equal(read_seg(e, PER_PAGE), ENGINE_SEG_HOT);
    engine_stats(e, &before);
    fill(e, PER_PAGE + 3, PER_PAGE + 4); /* judges item 10: read */
    assert_int_equal(read_seg(e, PER_PAGE), ENGINE_SEG_WARM);
    engine_stats(e, &after);
    assert_int_equal(after.moves_to_warm, before.moves_to_warm + 1);
    /* new items churn through probation; the WARM one stays */
    for (int round = 0; round < 5; round++) {
        fill(e, 100 + round * PER_PAGE, 100 + (round + 1) * PER_PAGE);
        assert_int_equal(read_seg(e, PER_PAGE), ENGINE_SEG_WARM);
    }
    segments(e);
    engine_destroy(e);
}

static void
temp_items_are_never_evicted(void **state)
{
    struct engine *e = engine_with(true, true, true);
    (void)state;

    for (int i = 0; i < PER_PAGE; i++) {
        assert_int_equal(store(e, i, 50), ENGINE_OK); /* TTL 50 <= 100 */
    }
    assert_int_equal(segments(e).temp, PER_PAGE);
    assert_int_equal(read_seg(e, 0), ENGINE_SEG_TEMP);
    /* nothing else may be taken, and no other class has a page */
    assert_int_equal(store(e, PER_PAGE, 0), ENGINE_NO_MEMORY);
    /* dead TEMP items are reclaimed */
    engine_debug_advance(e, 60);
    assert_int_equal(store(e, PER_PAGE, 0), ENGINE_OK);
    struct engine_stats st;
    engine_stats(e, &st);
    assert_int_equal(st.evictions, 0);
    assert_true(st.reclaimed >= 1);
    segments(e);
    engine_destroy(e);
}

static void
long_ttls_and_flat_mode_are_not_temp(void **state)
{
    struct engine *e = engine_with(true, true, true);
    struct engine_lru_tune t;
    (void)state;

    assert_int_equal(store(e, 0, 1000), ENGINE_OK);
    assert_int_equal(store(e, 1, 0), ENGINE_OK);
    assert_int_equal(read_seg(e, 0), ENGINE_SEG_COLD);
    assert_int_equal(read_seg(e, 1), ENGINE_SEG_COLD);
    engine_lru_get(e, &t);
    t.segmented = false;
    engine_lru_set(e, &t);
    assert_int_equal(store(e, 2, 50), ENGINE_OK);
    assert_int_equal(read_seg(e, 2), ENGINE_SEG_COLD);
    engine_destroy(e);
}

static void
no_evictions_keep_no_probation(void **state)
{
    struct engine *e = engine_with(false, true, false);
    (void)state;

    fill(e, 0, PER_PAGE);
    assert_int_equal(store(e, PER_PAGE, 0), ENGINE_NO_MEMORY);
    struct segs s = segments(e);
    assert_int_equal(s.hot, 0);
    assert_int_equal(s.cold, PER_PAGE);
    assert_int_equal(e->lru[slab_class_for(&e->slab, VALUE_LEN + 40)].ring,
                     NULL);
    engine_destroy(e);
}

static void
flat_mode_is_plain_clock(void **state)
{
    struct engine *e = engine_with(true, false, false);
    struct engine_stats st;
    (void)state;

    fill(e, 0, 3 * PER_PAGE);
    /* first in, first out: the last ten stored are the ones left */
    for (int i = 0; i < 2 * PER_PAGE; i++) {
        assert_int_equal(read_seg(e, i), -1);
    }
    for (int i = 2 * PER_PAGE; i < 3 * PER_PAGE; i++) {
        assert_int_equal(read_seg(e, i), ENGINE_SEG_COLD);
    }
    engine_stats(e, &st);
    assert_int_equal(st.moves_to_cold + st.moves_to_warm, 0);
    assert_int_equal(segments(e).cold, PER_PAGE);
    engine_destroy(e);
}

static void
switching_modes_at_runtime_keeps_counts(void **state)
{
    struct engine *e = engine_with(true, true, false);
    struct engine_lru_tune t;
    (void)state;

    fill(e, 0, 2 * PER_PAGE);
    engine_lru_get(e, &t);
    t.segmented = false;
    engine_lru_set(e, &t);
    fill(e, 2 * PER_PAGE, 4 * PER_PAGE); /* the flat hand takes HOT too */
    segments(e);
    t.segmented = true;
    t.hot_pct = 50;
    engine_lru_set(e, &t);
    fill(e, 4 * PER_PAGE, 6 * PER_PAGE);
    segments(e);
    for (int i = 6 * PER_PAGE - 3; i < 6 * PER_PAGE; i++) {
        assert_int_equal(read_seg(e, i), ENGINE_SEG_HOT);
    }
    engine_destroy(e);
}

static void
hit_class_carries_the_segment(void **state)
{
    struct engine *e = engine_with(true, true, false);
    char kbuf[16];
    struct item *it;
    (void)state;

    fill(e, 0, PER_PAGE + 1);
    assert_int_equal(engine_get(e, key_of(kbuf, PER_PAGE), &it), ENGINE_OK);
    unsigned hc = engine_hit_class(e, it);
    assert_int_equal(hc & ENGINE_HIT_CLASS_MASK, engine_item_class(e, it));
    assert_int_equal(hc >> ENGINE_HIT_SEG_SHIFT, ENGINE_SEG_HOT);
    engine_release(e, it);
    engine_destroy(e);
}

static void
stats_reset_zeroes_moves_not_segments(void **state)
{
    struct engine *e = engine_with(true, true, false);
    struct engine_stats st;
    (void)state;

    fill(e, 0, PER_PAGE);
    for (int i = 0; i < PER_PAGE; i++) {
        read_seg(e, i);
    }
    fill(e, PER_PAGE, 2 * PER_PAGE);
    struct segs before = segments(e);
    engine_stats_reset(e);
    engine_stats(e, &st);
    assert_int_equal(st.moves_to_cold + st.moves_to_warm + st.moves_within_lru +
                         st.direct_reclaims + st.evicted_active +
                         st.lru_maintainer_juggles,
                     0);
    struct segs after = segments(e);
    assert_memory_equal(&before, &after, sizeof(before));
    engine_destroy(e);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(items_start_cold_until_the_class_first_evicts),
        cmocka_unit_test(unread_new_items_leave_before_read_old_ones),
        cmocka_unit_test(read_on_probation_moves_to_warm_and_stays),
        cmocka_unit_test(temp_items_are_never_evicted),
        cmocka_unit_test(long_ttls_and_flat_mode_are_not_temp),
        cmocka_unit_test(no_evictions_keep_no_probation),
        cmocka_unit_test(flat_mode_is_plain_clock),
        cmocka_unit_test(switching_modes_at_runtime_keeps_counts),
        cmocka_unit_test(hit_class_carries_the_segment),
        cmocka_unit_test(stats_reset_zeroes_moves_not_segments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
