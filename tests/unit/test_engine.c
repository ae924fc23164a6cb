#include "unit.h"

#include "engine/engine.h"
#include "engine/engine_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIB ((size_t)1 << 20)

static struct slice
s_(const char *str)
{
    return slice_make(str, strlen(str));
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

static void
no_cas(struct engine_config *cfg)
{
    cfg->cas_enabled = false;
}

/* Fills a reservation from `src` through engine_wslice, run by run. */
static void
write_value(struct item *it, const char *src, size_t len)
{
    size_t off = 0;
    while (off < len) {
        struct wslice w = engine_wslice(it, off);
        assert_true(w.len > 0 && w.len <= len - off);
        memcpy(w.ptr, src + off, w.len);
        off += w.len;
    }
    assert_int_equal(engine_wslice(it, len).len, 0);
}

static enum engine_status
store_n(struct engine *e, enum engine_store_mode mode, const char *key,
        const char *val, size_t len, uint32_t flags, int64_t exptime,
        uint64_t cas, uint64_t *cas_out)
{
    struct item *it;
    enum engine_status st =
        engine_reserve(e, mode, s_(key), flags, exptime, len, &it);
    if (st != ENGINE_OK) {
        return st;
    }
    write_value(it, val, len);
    return engine_commit(e, it, mode, cas, cas_out);
}

static enum engine_status
store(struct engine *e, enum engine_store_mode mode, const char *key,
      const char *val)
{
    return store_n(e, mode, key, val, strlen(val), 0, 0, 0, NULL);
}

static enum engine_status
set(struct engine *e, const char *key, const char *val)
{
    return store(e, STORE_SET, key, val);
}

/* The value (malloc'd, NUL-terminated) or NULL; *v gets the view. */
static char *
get(struct engine *e, const char *key, struct item_view *v)
{
    struct item *it;
    struct item_view view;
    if (engine_get(e, s_(key), &it) != ENGINE_OK) {
        return NULL;
    }
    engine_view(it, &view);
    char *out = malloc(view.nbytes + 1);
    assert_non_null(out);
    size_t off = 0;
    for (size_t i = 0; i < view.nseg; i++) {
        memcpy(out + off, view.segs[i].ptr, view.segs[i].len);
        off += view.segs[i].len;
    }
    assert_int_equal(off, view.nbytes);
    out[off] = '\0';
    if (v != NULL) {
        *v = view;
        v->segs = NULL; /* the pin is gone */
    }
    engine_release(e, it);
    return out;
}

static void
assert_value(struct engine *e, const char *key, const char *want)
{
    char *got = get(e, key, NULL);
    if (want == NULL) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static uint64_t
cas_of(struct engine *e, const char *key)
{
    struct item_view v;
    char *got = get(e, key, &v);
    assert_non_null(got);
    free(got);
    return v.cas;
}

/* ---- basics --------------------------------------------------------- */

static void
create_rejects_bad_config(void **state)
{
    struct engine_config cfg;
    (void)state;
    engine_config_default(&cfg);
    cfg.hashpower = 40;
    assert_null(engine_create(&cfg));
    engine_config_default(&cfg);
    cfg.growth_factor = 0.9;
    assert_null(engine_create(&cfg));
    engine_config_default(&cfg);
    cfg.item_size_max = 512;
    assert_null(engine_create(&cfg));
    engine_destroy(NULL);
}

static void
clock_starts_at_62_seconds_after_the_epoch(void **state)
{
    struct engine *e = make_engine(NULL);
    (void)state;
    assert_int_equal(engine_now(e), 62);
    int64_t skew = (int64_t)time(NULL) - 62 - engine_epoch_unix(e);
    assert_in_range(skew, 0, 1);
    engine_debug_advance(e, 100);
    assert_int_equal(engine_now(e), 162);
    engine_tick(e); /* the real clock may have crossed a second since */
    assert_in_range(engine_now(e), 162, 163);
    engine_destroy(e);
}

static void
set_then_get_returns_value_flags_and_cas(void **state)
{
    struct engine *e = make_engine(NULL);
    struct item_view v;
    uint64_t cas = 0;
    (void)state;
    assert_int_equal(store_n(e, STORE_SET, "foo", "bar", 3, 123, 0, 0, &cas),
                     ENGINE_OK);
    char *got = get(e, "foo", &v);
    assert_string_equal(got, "bar");
    free(got);
    assert_int_equal(v.flags, 123);
    assert_int_equal(v.cas, cas);
    assert_int_equal(v.nseg, 1);
    assert_int_equal(v.key.len, 3);
    assert_int_equal(set(e, "foo", ""), ENGINE_OK);
    assert_value(e, "foo", "");
    assert_value(e, "missing", NULL);
    engine_destroy(e);
}

static void
first_store_gets_cas_1_and_each_store_the_next(void **state)
{
    struct engine *e = make_engine(NULL);
    uint64_t cas = 0;
    (void)state;
    assert_int_equal(store_n(e, STORE_SET, "a", "1", 1, 0, 0, 0, &cas),
                     ENGINE_OK);
    assert_int_equal(cas, 1);
    assert_int_equal(store_n(e, STORE_SET, "b", "1", 1, 0, 0, 0, &cas),
                     ENGINE_OK);
    assert_int_equal(cas, 2);
    assert_int_equal(store_n(e, STORE_SET, "a", "2", 1, 0, 0, 0, &cas),
                     ENGINE_OK);
    assert_int_equal(cas, 3);
    assert_int_equal(cas_of(e, "a"), 3);
    assert_int_equal(engine_touch(e, s_("a"), 100, NULL), ENGINE_OK);
    assert_int_equal(cas_of(e, "a"), 3);
    engine_destroy(e);
}

static void
add_stores_only_missing_keys(void **state)
{
    struct engine *e = make_engine(NULL);
    (void)state;
    assert_int_equal(store(e, STORE_ADD, "k", "one"), ENGINE_OK);
    assert_int_equal(store(e, STORE_ADD, "k", "two"), ENGINE_NOT_STORED);
    assert_value(e, "k", "one");
    assert_int_equal(store_n(e, STORE_SET, "x", "v", 1, 0, -1, 0, NULL),
                     ENGINE_OK);
    assert_int_equal(store(e, STORE_ADD, "x", "new"), ENGINE_OK);
    assert_value(e, "x", "new");
    engine_destroy(e);
}

static void
replace_stores_only_existing_keys(void **state)
{
    struct engine *e = make_engine(NULL);
    (void)state;
    assert_int_equal(store(e, STORE_REPLACE, "k", "one"), ENGINE_NOT_STORED);
    assert_value(e, "k", NULL);
    assert_int_equal(set(e, "k", "one"), ENGINE_OK);
    assert_int_equal(store(e, STORE_REPLACE, "k", "two"), ENGINE_OK);
    assert_value(e, "k", "two");
    engine_destroy(e);
}

static void
cas_store_needs_the_current_unique(void **state)
{
    struct engine *e = make_engine(NULL);
    uint64_t cas = 0;
    uint64_t now_cas = 0;
    (void)state;
    assert_int_equal(store_n(e, STORE_CAS, "k", "v", 1, 0, 0, 1, NULL),
                     ENGINE_NOT_FOUND);
    assert_int_equal(store_n(e, STORE_SET, "k", "v", 1, 0, 0, 0, &cas),
                     ENGINE_OK);
    assert_int_equal(store_n(e, STORE_CAS, "k", "w", 1, 0, 0, cas + 1, NULL),
                     ENGINE_EXISTS);
    assert_int_equal(store_n(e, STORE_CAS, "k", "w", 1, 0, 0, 0, NULL),
                     ENGINE_EXISTS);
    assert_int_equal(store_n(e, STORE_CAS, "k", "w", 1, 0, 0, cas, &now_cas),
                     ENGINE_OK);
    assert_true(now_cas > cas);
    assert_value(e, "k", "w");
    assert_int_equal(store_n(e, STORE_CAS, "k", "x", 1, 0, 0, cas, NULL),
                     ENGINE_EXISTS);
    engine_destroy(e);
}

static void
disabled_cas_reads_zero_and_never_matches(void **state)
{
    struct engine *e = make_engine(no_cas);
    uint64_t cas = 99;
    (void)state;
    assert_int_equal(store_n(e, STORE_SET, "k", "v", 1, 0, 0, 0, &cas),
                     ENGINE_OK);
    assert_int_equal(cas, 0);
    assert_int_equal(cas_of(e, "k"), 0);
    assert_int_equal(store_n(e, STORE_CAS, "k", "w", 1, 0, 0, 0, NULL),
                     ENGINE_EXISTS);
    assert_int_equal(store_n(e, STORE_CAS, "nope", "w", 1, 0, 0, 0, NULL),
                     ENGINE_NOT_FOUND);
    assert_value(e, "k", "v");
    engine_destroy(e);
}

static void
delete_removes_only_live_items(void **state)
{
    struct engine *e = make_engine(NULL);
    (void)state;
    assert_int_equal(engine_delete(e, s_("k"), NULL), ENGINE_NOT_FOUND);
    assert_int_equal(set(e, "k", "v"), ENGINE_OK);
    assert_int_equal(engine_delete(e, s_("k"), NULL), ENGINE_OK);
    assert_int_equal(engine_delete(e, s_("k"), NULL), ENGINE_NOT_FOUND);
    assert_value(e, "k", NULL);
    assert_int_equal(store_n(e, STORE_SET, "x", "v", 1, 0, -1, 0, NULL),
                     ENGINE_OK);
    assert_int_equal(engine_delete(e, s_("x"), NULL), ENGINE_NOT_FOUND);
    engine_destroy(e);
}

static void
pinned_item_outlives_delete_and_replace(void **state)
{
    struct engine *e = make_engine(NULL);
    struct item *it;
    struct item_view v;
    (void)state;
    assert_int_equal(set(e, "k", "old"), ENGINE_OK);
    assert_int_equal(engine_get(e, s_("k"), &it), ENGINE_OK);
    assert_int_equal(set(e, "k", "new"), ENGINE_OK);
    assert_int_equal(engine_delete(e, s_("k"), NULL), ENGINE_OK);
    engine_view(it, &v);
    assert_memory_equal(v.segs[0].ptr, "old", 3);
    engine_release(e, it);
    engine_release(e, NULL);
    engine_destroy(e);
}

static void
abort_drops_reservation_without_storing(void **state)
{
    struct engine *e = make_engine(NULL);
    struct item *it;
    struct engine_stats st;
    (void)state;
    assert_int_equal(engine_reserve(e, STORE_SET, s_("k"), 0, 0, 5, &it),
                     ENGINE_OK);
    engine_abort(e, it);
    assert_value(e, "k", NULL);
    engine_stats(e, &st);
    assert_int_equal(st.curr_items, 0);
    assert_int_equal(st.total_items, 0);
    engine_destroy(e);
}

static void
stats_count_items_and_memcached_sized_bytes(void **state)
{
    struct engine *e = make_engine(NULL);
    struct engine_stats st;
    (void)state;
    engine_stats(e, &st);
    assert_int_equal(st.hash_power_level, 16);
    assert_int_equal(st.hash_bytes, 524288);
    assert_int_equal(st.curr_items, 0);
    assert_int_equal(st.total_malloced, 0);
    assert_int_equal(set(e, "a", "1"), ENGINE_OK);
    assert_int_equal(store_n(e, STORE_SET, "foo", "bar", 3, 7, 0, 0, NULL),
                     ENGINE_OK);
    engine_stats(e, &st);
    assert_int_equal(st.curr_items, 2);
    assert_int_equal(st.total_items, 2);
    assert_int_equal(st.bytes, 61 + 69);
    assert_int_equal(st.total_malloced, MIB);
    assert_int_equal(set(e, "a", "2"), ENGINE_OK);
    assert_int_equal(engine_delete(e, s_("foo"), NULL), ENGINE_OK);
    engine_stats(e, &st);
    assert_int_equal(st.curr_items, 1);
    assert_int_equal(st.total_items, 3);
    assert_int_equal(st.bytes, 61);
    assert_int_equal(st.slab_global_page_pool, 0);
    engine_destroy(e);
}

static void
small_hashpower(struct engine_config *cfg)
{
    cfg->hashpower = 4;
}

static void
engine_table_grows_as_items_arrive(void **state)
{
    struct engine *e = make_engine(small_hashpower);
    struct engine_stats st;
    char key[32];
    (void)state;
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "key:%d", i);
        assert_int_equal(set(e, key, "v"), ENGINE_OK);
    }
    for (int ms = 0; ms < 5000; ms += 10) {
        engine_stats(e, &st);
        if (st.hash_power_level >= 12 && !st.hash_is_expanding) {
            break;
        }
        nanosleep(&(struct timespec){0, 10000000L}, NULL);
    }
    assert_int_equal(st.hash_power_level, 12);
    assert_int_equal(st.hash_bytes, 4096 * 8);
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "key:%d", i);
        assert_value(e, key, "v");
    }
    engine_destroy(e);
}

/* ---- expiry and touch ----------------------------------------------- */

static void
relative_exptime_expires_when_now_reaches_it(void **state)
{
    struct engine *e = make_engine(NULL);
    struct item *it;
    (void)state;
    assert_int_equal(store_n(e, STORE_SET, "k", "v", 1, 0, 10, 0, NULL),
                     ENGINE_OK);
    engine_debug_advance(e, 9);
    assert_value(e, "k", "v");
    engine_debug_advance(e, 1);
    assert_int_equal(engine_get(e, s_("k"), &it), ENGINE_EXPIRED);
    assert_int_equal(engine_get(e, s_("k"), &it), ENGINE_NOT_FOUND);
    engine_destroy(e);
}

static void
absolute_exptime_is_unix_time(void **state)
{
    struct engine *e = make_engine(NULL);
    int64_t now_unix = engine_epoch_unix(e) + engine_now(e);
    (void)state;
    assert_int_equal(
        store_n(e, STORE_SET, "k", "v", 1, 0, now_unix + 100, 0, NULL),
        ENGINE_OK);
    assert_int_equal(
        store_n(e, STORE_SET, "past", "v", 1, 0, now_unix - 1, 0, NULL),
        ENGINE_OK);
    assert_int_equal(store_n(e, STORE_SET, "epoch", "v", 1, 0,
                             engine_epoch_unix(e), 0, NULL),
                     ENGINE_OK);
    assert_value(e, "past", NULL);
    assert_value(e, "epoch", NULL);
    engine_debug_advance(e, 99);
    assert_value(e, "k", "v");
    engine_debug_advance(e, 1);
    assert_value(e, "k", NULL);
    engine_destroy(e);
}

static void
negative_exptime_stores_but_never_returns(void **state)
{
    struct engine *e = make_engine(NULL);
    struct item *it;
    struct engine_stats st;
    (void)state;
    assert_int_equal(set(e, "k", "old"), ENGINE_OK);
    assert_int_equal(store_n(e, STORE_SET, "k", "v", 1, 0, -1, 0, NULL),
                     ENGINE_OK);
    engine_stats(e, &st);
    assert_int_equal(st.curr_items, 1);
    assert_int_equal(engine_get(e, s_("k"), &it), ENGINE_EXPIRED);
    assert_int_equal(store(e, STORE_REPLACE, "k", "x"), ENGINE_NOT_STORED);
    engine_destroy(e);
}

static void
thirty_days_is_the_last_relative_exptime(void **state)
{
    struct engine *e = make_engine(NULL);
    (void)state;
    assert_int_equal(store_n(e, STORE_SET, "rel", "v", 1, 0, 2592000, 0, NULL),
                     ENGINE_OK);
    assert_int_equal(store_n(e, STORE_SET, "abs", "v", 1, 0, 2592001, 0, NULL),
                     ENGINE_OK);
    assert_value(e, "abs", NULL);
    engine_debug_advance(e, 2591999);
    assert_value(e, "rel", "v");
    engine_debug_advance(e, 1);
    assert_value(e, "rel", NULL);
    engine_destroy(e);
}

static void
touch_replaces_expiry_of_live_items(void **state)
{
    struct engine *e = make_engine(NULL);
    (void)state;
    assert_int_equal(engine_touch(e, s_("k"), 10, NULL), ENGINE_NOT_FOUND);
    assert_int_equal(store_n(e, STORE_SET, "k", "v", 1, 0, 5, 0, NULL),
                     ENGINE_OK);
    assert_int_equal(engine_touch(e, s_("k"), 100, NULL), ENGINE_OK);
    engine_debug_advance(e, 50);
    assert_value(e, "k", "v");
    assert_int_equal(engine_touch(e, s_("k"), 0, NULL), ENGINE_OK);
    engine_debug_advance(e, 5000);
    assert_value(e, "k", "v");
    assert_int_equal(engine_touch(e, s_("k"), -1, NULL), ENGINE_OK);
    assert_value(e, "k", NULL);
    engine_destroy(e);
}

static void
get_touch_returns_item_then_applies_new_expiry(void **state)
{
    struct engine *e = make_engine(NULL);
    struct item *it;
    (void)state;
    assert_int_equal(engine_get_touch(e, s_("k"), 10, &it), ENGINE_NOT_FOUND);
    assert_int_equal(store_n(e, STORE_SET, "k", "v", 1, 0, 5, 0, NULL),
                     ENGINE_OK);
    assert_int_equal(engine_get_touch(e, s_("k"), 100, &it), ENGINE_OK);
    engine_release(e, it);
    engine_debug_advance(e, 50);
    assert_value(e, "k", "v");
    assert_int_equal(engine_get_touch(e, s_("k"), -1, &it), ENGINE_OK);
    engine_release(e, it);
    assert_int_equal(engine_get(e, s_("k"), &it), ENGINE_EXPIRED);
    engine_destroy(e);
}

/* ---- flush_all ------------------------------------------------------ */

static void
immediate_flush_kills_earlier_items_but_not_later_ones(void **state)
{
    struct engine *e = make_engine(NULL);
    struct item *it;
    uint64_t cas = 0;
    (void)state;
    assert_int_equal(set(e, "old", "v"), ENGINE_OK);
    engine_debug_advance(e, 5);
    assert_int_equal(set(e, "same_second", "v"), ENGINE_OK);
    engine_flush(e, 0);
    assert_int_equal(store_n(e, STORE_SET, "after", "v", 1, 0, 0, 0, &cas),
                     ENGINE_OK);
    assert_int_equal(cas, 4); /* the flush took CAS 3 as its marker */
    assert_int_equal(engine_get(e, s_("old"), &it), ENGINE_FLUSHED);
    assert_int_equal(engine_get(e, s_("same_second"), &it), ENGINE_FLUSHED);
    assert_value(e, "after", "v");
    engine_flush(e, -5);
    assert_value(e, "after", NULL);
    engine_destroy(e);
}

static void
delayed_flush_kills_items_stored_before_the_deadline(void **state)
{
    struct engine *e = make_engine(NULL);
    (void)state;
    assert_int_equal(set(e, "before", "v"), ENGINE_OK);
    engine_flush(e, 2);
    assert_int_equal(set(e, "after_cmd", "v"), ENGINE_OK);
    assert_value(e, "before", "v");
    engine_debug_advance(e, 1); /* deadline - 1: flush takes effect */
    assert_value(e, "before", NULL);
    assert_value(e, "after_cmd", NULL);
    assert_int_equal(set(e, "at_deadline_minus_1", "v"), ENGINE_OK);
    assert_value(e, "at_deadline_minus_1", NULL);
    engine_debug_advance(e, 1);
    assert_int_equal(set(e, "at_deadline", "v"), ENGINE_OK);
    assert_value(e, "at_deadline", "v");
    engine_destroy(e);
}

static void
later_flush_replaces_pending_deadline(void **state)
{
    struct engine *e = make_engine(NULL);
    (void)state;
    assert_int_equal(set(e, "k", "v"), ENGINE_OK);
    engine_flush(e, 10);
    engine_flush(e, 100);
    engine_debug_advance(e, 50);
    assert_value(e, "k", "v");
    engine_debug_advance(e, 49);
    assert_value(e, "k", NULL);
    engine_destroy(e);
}

static void
disabled_cas_immediate_flush_kills_the_whole_current_second(void **state)
{
    struct engine *e = make_engine(no_cas);
    (void)state;
    assert_int_equal(set(e, "before", "v"), ENGINE_OK);
    engine_flush(e, 0);
    assert_int_equal(set(e, "same_second", "v"), ENGINE_OK);
    assert_value(e, "before", NULL);
    assert_value(e, "same_second", NULL);
    engine_debug_advance(e, 1);
    assert_int_equal(set(e, "next_second", "v"), ENGINE_OK);
    assert_value(e, "next_second", "v");
    engine_destroy(e);
}

static void
disabled_cas_delayed_flush_kills_up_to_the_deadline(void **state)
{
    struct engine *e = make_engine(no_cas);
    (void)state;
    assert_int_equal(set(e, "k", "v"), ENGINE_OK);
    engine_flush(e, 2);
    engine_debug_advance(e, 1);
    assert_value(e, "k", "v");
    engine_debug_advance(e, 1);
    assert_value(e, "k", NULL);
    assert_int_equal(set(e, "same_second", "v"), ENGINE_OK);
    assert_value(e, "same_second", NULL);
    engine_destroy(e);
}

/* ---- size limits ---------------------------------------------------- */

static enum engine_status
reserve_only(struct engine *e, const char *key, uint32_t flags, size_t n)
{
    struct item *it;
    enum engine_status st =
        engine_reserve(e, STORE_SET, s_(key), flags, 0, n, &it);
    if (st == ENGINE_OK) {
        engine_abort(e, it);
    }
    return st;
}

static void
too_large_boundary_matches_memcached_byte_for_byte(void **state)
{
    struct engine *e = make_engine(NULL);
    struct engine *nc = make_engine(no_cas);
    (void)state;
    assert_int_equal(reserve_only(e, "foo", 0, 1048514), ENGINE_OK);
    assert_int_equal(reserve_only(e, "foo", 0, 1048515), ENGINE_TOO_LARGE);
    assert_int_equal(reserve_only(e, "foo", 1, 1048510), ENGINE_OK);
    assert_int_equal(reserve_only(e, "foo", 1, 1048511), ENGINE_TOO_LARGE);
    assert_int_equal(reserve_only(nc, "foo", 0, 1048522), ENGINE_OK);
    assert_int_equal(reserve_only(nc, "foo", 0, 1048523), ENGINE_TOO_LARGE);
    assert_int_equal(reserve_only(e, "foo", 0, (size_t)1 << 40),
                     ENGINE_TOO_LARGE);
    char key[252];
    memset(key, 'k', sizeof(key) - 1);
    key[251] = '\0';
    assert_int_equal(reserve_only(e, key, 0, 1), ENGINE_TOO_LARGE);
    key[250] = '\0';
    assert_int_equal(reserve_only(e, key, 0, 1), ENGINE_OK);
    engine_destroy(e);
    engine_destroy(nc);
}

static void
failed_set_removes_the_old_item_but_failed_add_does_not(void **state)
{
    struct engine *e = make_engine(NULL);
    struct item *it;
    (void)state;
    assert_int_equal(set(e, "k", "v"), ENGINE_OK);
    assert_int_equal(engine_reserve(e, STORE_ADD, s_("k"), 0, 0, 2 * MIB, &it),
                     ENGINE_TOO_LARGE);
    assert_value(e, "k", "v");
    assert_int_equal(engine_reserve(e, STORE_SET, s_("k"), 0, 0, 2 * MIB, &it),
                     ENGINE_TOO_LARGE);
    assert_value(e, "k", NULL);
    engine_destroy(e);
}

/* ---- incr / decr ---------------------------------------------------- */

static enum engine_status
arith(struct engine *e, const char *key, bool incr, uint64_t delta,
      uint64_t *result)
{
    return engine_arith(e, s_(key), incr, delta, result, NULL, NULL);
}

static void
incr_and_decr_update_in_place_with_space_padding(void **state)
{
    struct engine *e = make_engine(NULL);
    uint64_t r = 0;
    uint64_t cas = 0;
    uint64_t cas2 = 0;
    (void)state;
    assert_int_equal(arith(e, "n", true, 1, &r), ENGINE_NOT_FOUND);
    assert_int_equal(set(e, "n", "100"), ENGINE_OK);
    assert_int_equal(engine_arith(e, s_("n"), false, 1, &r, &cas, NULL),
                     ENGINE_OK);
    assert_int_equal(r, 99);
    assert_value(e, "n", "99 ");
    assert_int_equal(cas_of(e, "n"), cas);
    assert_int_equal(engine_arith(e, s_("n"), true, 1, &r, &cas2, NULL),
                     ENGINE_OK);
    assert_int_equal(r, 100);
    assert_true(cas2 > cas);
    assert_value(e, "n", "100");
    assert_int_equal(arith(e, "n", true, 900, &r), ENGINE_OK);
    assert_value(e, "n", "1000");
    assert_int_equal(arith(e, "n", false, 5000, &r), ENGINE_OK);
    assert_int_equal(r, 0);
    assert_value(e, "n", "0   ");
    engine_destroy(e);
}

static void
incr_wraps_and_decr_floors_at_zero(void **state)
{
    struct engine *e = make_engine(NULL);
    uint64_t r = 0;
    (void)state;
    assert_int_equal(set(e, "n", "18446744073709551615"), ENGINE_OK);
    assert_int_equal(arith(e, "n", true, 2, &r), ENGINE_OK);
    assert_int_equal(r, 1);
    assert_value(e, "n",
                 "1"
                 "                   ");
    assert_int_equal(arith(e, "n", false, 2, &r), ENGINE_OK);
    assert_int_equal(r, 0);
    engine_destroy(e);
}

static void
incr_parses_the_value_like_strtoull(void **state)
{
    struct engine *e = make_engine(NULL);
    uint64_t r = 0;
    static const struct {
        const char *val;
        enum engine_status st;
        uint64_t result;
    } cases[] = {
        {"12 abc", ENGINE_OK, 13},
        {"  +7", ENGINE_OK, 8},
        {"007", ENGINE_OK, 8},
        {"5\r\n", ENGINE_OK, 6},
        {"\t3", ENGINE_OK, 4},
        {"-0", ENGINE_OK, 1},
        {"12a", ENGINE_NOT_NUMBER, 0},
        {"", ENGINE_NOT_NUMBER, 0},
        {"   ", ENGINE_NOT_NUMBER, 0},
        {"abc", ENGINE_NOT_NUMBER, 0},
        {"+", ENGINE_NOT_NUMBER, 0},
        {"-1", ENGINE_NOT_NUMBER, 0},
        {"18446744073709551616", ENGINE_NOT_NUMBER, 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(set(e, "n", cases[i].val), ENGINE_OK);
        assert_int_equal(arith(e, "n", true, 1, &r), cases[i].st);
        if (cases[i].st == ENGINE_OK) {
            assert_int_equal(r, cases[i].result);
        } else {
            assert_value(e, "n", cases[i].val);
        }
    }
    assert_int_equal(set(e, "n", "12 abc"), ENGINE_OK);
    assert_int_equal(arith(e, "n", true, 1, &r), ENGINE_OK);
    assert_value(e, "n", "13    ");
    engine_destroy(e);
}

static void
incr_keeps_flags_and_expiry_when_it_needs_a_new_item(void **state)
{
    struct engine *e = make_engine(NULL);
    struct item_view v;
    uint64_t r = 0;
    (void)state;
    assert_int_equal(store_n(e, STORE_SET, "n", "9", 1, 42, 10, 0, NULL),
                     ENGINE_OK);
    assert_int_equal(arith(e, "n", true, 1, &r), ENGINE_OK);
    char *got = get(e, "n", &v);
    assert_string_equal(got, "10");
    free(got);
    assert_int_equal(v.flags, 42);
    engine_debug_advance(e, 10);
    assert_value(e, "n", NULL);
    engine_destroy(e);
}

static void
incr_never_changes_a_value_someone_is_reading(void **state)
{
    struct engine *e = make_engine(NULL);
    struct item *it;
    struct item_view v;
    uint64_t r = 0;
    (void)state;
    assert_int_equal(set(e, "n", "50"), ENGINE_OK);
    assert_int_equal(engine_get(e, s_("n"), &it), ENGINE_OK);
    assert_int_equal(arith(e, "n", false, 1, &r), ENGINE_OK);
    engine_view(it, &v);
    assert_memory_equal(v.segs[0].ptr, "50", 2);
    engine_release(e, it);
    assert_value(e, "n", "49");
    engine_destroy(e);
}

/* ---- append / prepend ----------------------------------------------- */

static void
append_and_prepend_keep_flags_and_expiry(void **state)
{
    struct engine *e = make_engine(NULL);
    struct item_view v;
    uint64_t cas = 0;
    (void)state;
    assert_int_equal(store(e, STORE_APPEND, "k", "x"), ENGINE_NOT_STORED);
    assert_int_equal(store(e, STORE_PREPEND, "k", "x"), ENGINE_NOT_STORED);
    assert_int_equal(store_n(e, STORE_SET, "k", "mid", 3, 9, 10, 0, NULL),
                     ENGINE_OK);
    assert_int_equal(store_n(e, STORE_APPEND, "k", "_end", 4, 1, 1000, 0, &cas),
                     ENGINE_OK);
    assert_int_equal(store_n(e, STORE_PREPEND, "k", "start_", 6, 0, 0, 0, NULL),
                     ENGINE_OK);
    char *got = get(e, "k", &v);
    assert_string_equal(got, "start_mid_end");
    free(got);
    assert_int_equal(v.flags, 9);
    assert_true(v.cas > cas);
    engine_debug_advance(e, 10);
    assert_value(e, "k", NULL);
    engine_destroy(e);
}

static void
append_beyond_item_size_max_is_not_stored(void **state)
{
    struct engine *e = make_engine(NULL);
    char *big = malloc(700000);
    (void)state;
    memset(big, 'b', 700000);
    assert_int_equal(store_n(e, STORE_SET, "k", big, 700000, 0, 0, 0, NULL),
                     ENGINE_OK);
    assert_int_equal(store_n(e, STORE_APPEND, "k", big, 700000, 0, 0, 0, NULL),
                     ENGINE_NOT_STORED);
    struct item_view v;
    free(get(e, "k", &v));
    assert_int_equal(v.nbytes, 700000);
    free(big);
    engine_destroy(e);
}

/* ---- chunked items -------------------------------------------------- */

static char *
pattern(size_t len, unsigned seed)
{
    char *p = malloc(len + 1);
    assert_non_null(p);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (char)('!' + (x >> 16) % 90);
    }
    p[len] = '\0';
    return p;
}

static void
check_round_trip(struct engine *e, const char *key, size_t len, size_t nseg)
{
    char *want = pattern(len, (unsigned)len);
    struct item_view v;
    assert_int_equal(store_n(e, STORE_SET, key, want, len, 5, 0, 0, NULL),
                     ENGINE_OK);
    char *got = get(e, key, &v);
    assert_non_null(got);
    assert_int_equal(v.nbytes, len);
    assert_int_equal(v.nseg, nseg);
    assert_int_equal(v.flags, 5);
    assert_memory_equal(got, want, len);
    free(got);
    free(want);
}

static void
largest_value_for_default_limit_is_chunked_and_round_trips(void **state)
{
    struct engine *e = make_engine(NULL);
    (void)state;
    check_round_trip(e, "foo", 524288 - 60, 1);
    check_round_trip(e, "foo", 524288, 1);
    check_round_trip(e, "foo", 524289, 2);
    check_round_trip(e, "foo", 1048510, 2);
    engine_destroy(e);
}

static void
huge_limits(struct engine_config *cfg)
{
    cfg->item_size_max = (size_t)1 << 30;
    cfg->mem_limit = 256 * MIB;
}

static void
tens_of_mib_values_round_trip_with_a_1g_item_limit(void **state)
{
    struct engine *e = make_engine(huge_limits);
    struct engine_stats st;
    (void)state;
    check_round_trip(e, "big", 50 * MIB + 3, 101);
    check_round_trip(e, "big2", 20 * MIB, 40);
    check_round_trip(e, "big", 1 * MIB, 2);
    engine_stats(e, &st);
    assert_true(st.total_malloced <= 256 * MIB + 39 * MIB);
    engine_destroy(e);
}

static void
reservation_of_chunked_item_is_written_segment_by_segment(void **state)
{
    struct engine *e = make_engine(NULL);
    struct item *it;
    (void)state;
    assert_int_equal(engine_reserve(e, STORE_SET, s_("k"), 0, 0, 600000, &it),
                     ENGINE_OK);
    struct wslice w = engine_wslice(it, 0);
    assert_int_equal(w.len, 524288);
    w = engine_wslice(it, 524000);
    assert_int_equal(w.len, 288);
    w = engine_wslice(it, 524288);
    assert_int_equal(w.len, 600000 - 524288);
    w = engine_wslice(it, 599999);
    assert_int_equal(w.len, 1);
    engine_abort(e, it);
    engine_destroy(e);
}

static void
chunked_items_support_append_and_prepend_but_not_incr(void **state)
{
    struct engine *e = make_engine(NULL);
    char *body = pattern(600000, 1);
    uint64_t r;
    (void)state;
    assert_int_equal(store_n(e, STORE_SET, "k", body, 600000, 0, 0, 0, NULL),
                     ENGINE_OK);
    assert_int_equal(arith(e, "k", true, 1, &r), ENGINE_NOT_NUMBER);
    assert_int_equal(store(e, STORE_APPEND, "k", "TAIL"), ENGINE_OK);
    assert_int_equal(store(e, STORE_PREPEND, "k", "HEAD"), ENGINE_OK);
    char *got = get(e, "k", NULL);
    assert_int_equal(strlen(got), 600008);
    assert_memory_equal(got, "HEAD", 4);
    assert_memory_equal(got + 4, body, 600000);
    assert_memory_equal(got + 600004, "TAIL", 4);
    free(got);
    /* Appending to a small item can make it chunked, too. */
    assert_int_equal(set(e, "s", "small"), ENGINE_OK);
    assert_int_equal(store_n(e, STORE_APPEND, "s", body, 600000, 0, 0, 0, NULL),
                     ENGINE_OK);
    got = get(e, "s", NULL);
    assert_memory_equal(got, "small", 5);
    assert_memory_equal(got + 5, body, 600000);
    free(got);
    free(body);
    engine_destroy(e);
}

static void
chunked_items_are_evicted_to_make_room(void **state)
{
    struct engine_config cfg;
    engine_config_default(&cfg);
    cfg.mem_limit = 8 * MIB;
    struct engine *e = engine_create(&cfg);
    char *body = pattern(1000000, 2);
    char key[16];
    struct engine_stats st;
    (void)state;
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof(key), "big%d", i);
        assert_int_equal(
            store_n(e, STORE_SET, key, body, 1000000, 0, 0, 0, NULL),
            ENGINE_OK);
    }
    engine_stats(e, &st);
    assert_true(st.evictions > 20);
    assert_true(st.total_malloced <= 8 * MIB + 39 * MIB);
    char *got = get(e, "big39", NULL);
    assert_non_null(got);
    assert_memory_equal(got, body, 1000000);
    free(got);
    assert_value(e, "big0", NULL);
    free(body);
    engine_destroy(e);
}

/* ---- threads -------------------------------------------------------- */

#define STRESS_KEYS    64
#define STRESS_THREADS 4
#define STRESS_OPS     20000

struct stress {
    struct engine *e;
    unsigned seed;
    unsigned bad;
    unsigned hits;
};

/*
 * A value that checks itself: "<key>|<len>|" then bytes derived from the
 * key and length, so any torn or mixed-up value fails verification.
 */
static size_t
make_stress_value(char *buf, const char *key, size_t len)
{
    int n = snprintf(buf, 64, "%s|%zu|", key, len);
    for (size_t i = (size_t)n; i < len; i++) {
        buf[i] = (char)('a' + (i * 7 + (size_t)key[1]) % 26);
    }
    return len > (size_t)n ? len : (size_t)n;
}

static bool
stress_value_ok(const char *key, const char *val, size_t len)
{
    static __thread char want[700000];
    char head[64];
    int n = snprintf(head, sizeof(head), "%s|%zu|", key, len);
    if (len < (size_t)n || memcmp(val, head, (size_t)n) != 0) {
        return false;
    }
    make_stress_value(want, key, len);
    return memcmp(val, want, len) == 0;
}

static void
stress_get(struct stress *s, const char *key)
{
    struct item *it;
    struct item_view v;
    if (engine_get(s->e, s_(key), &it) != ENGINE_OK) {
        return;
    }
    engine_view(it, &v);
    static __thread char flat[700000];
    size_t off = 0;
    for (size_t i = 0; i < v.nseg; i++) {
        memcpy(flat + off, v.segs[i].ptr, v.segs[i].len);
        off += v.segs[i].len;
    }
    s->bad += !stress_value_ok(key, flat, v.nbytes);
    s->hits++;
    engine_release(s->e, it);
}

static void
stress_set(struct stress *s, const char *key, unsigned r)
{
    static __thread char buf[700000];
    size_t len = (r % 50 == 0) ? 530000 + r % 100000 : 20 + r % 3000;
    len = make_stress_value(buf, key, len);
    store_n(s->e, (r & 1) ? STORE_SET : STORE_ADD, key, buf, len, r, 0, 0,
            NULL);
}

static void *
stress_main(void *arg)
{
    struct stress *s = arg;
    char key[16];
    for (int op = 0; op < STRESS_OPS; op++) {
        unsigned r = (unsigned)rand_r(&s->seed);
        snprintf(key, sizeof(key), "s%u", r % STRESS_KEYS);
        switch ((r >> 8) % 8) {
        case 0:
        case 1:
        case 2:
            stress_set(s, key, r >> 12);
            break;
        case 3:
            engine_delete(s->e, s_(key), NULL);
            break;
        case 4: {
            uint64_t out;
            engine_arith(s->e, s_("counter"), true, 1, &out, NULL, NULL);
            break;
        }
        default:
            stress_get(s, key);
            break;
        }
    }
    return NULL;
}

static void
stress_memory(struct engine_config *cfg)
{
    cfg->mem_limit = 4 * MIB;
    cfg->hashpower = 4;
}

static void
threads_hammering_overlapping_keys_always_read_whole_values(void **state)
{
    struct engine *e = make_engine(stress_memory);
    struct stress s[STRESS_THREADS];
    pthread_t tids[STRESS_THREADS];
    uint64_t counted = 0;
    (void)state;
    assert_int_equal(set(e, "counter", "0"), ENGINE_OK);
    for (int t = 0; t < STRESS_THREADS; t++) {
        s[t] = (struct stress){e, (unsigned)t + 1, 0, 0};
        pthread_create(&tids[t], NULL, stress_main, &s[t]);
    }
    for (int t = 0; t < STRESS_THREADS; t++) {
        pthread_join(tids[t], NULL);
        assert_int_equal(s[t].bad, 0);
        assert_true(s[t].hits > 0);
    }
    for (int t = 0; t < STRESS_THREADS; t++) {
        unsigned seed = (unsigned)t + 1;
        for (int op = 0; op < STRESS_OPS; op++) {
            counted += ((unsigned)rand_r(&seed) >> 8) % 8 == 4;
        }
    }
    uint64_t r = 0;
    assert_int_equal(arith(e, "counter", true, 0, &r), ENGINE_OK);
    assert_int_equal(r, counted);
    struct engine_stats st;
    engine_stats(e, &st);
    assert_true(st.evictions > 0); /* the big values overflowed their class */
    engine_destroy(e);
}

/*
 * Pages moving between classes while threads read and write: a few value
 * sizes (so a few classes, each with pages to spare) whose popularity
 * shifts, big chunked values among them, and a clock that moves so that
 * rebalancing kicks in too.
 */
struct shift {
    struct engine *e;
    unsigned seed;
    unsigned bad;
    unsigned hits;
    unsigned failed;
    bool clock; /* this thread moves the clock */
};

static void *
shift_main(void *arg)
{
    static const size_t sizes[] = {60, 400, 2500, 30000, 600000};
    struct shift *s = arg;
    struct stress st = {s->e, 0, 0, 0};
    static __thread char buf[700000];
    char key[16];
    for (int op = 0; op < STRESS_OPS; op++) {
        unsigned r = (unsigned)rand_r(&s->seed);
        size_t size = sizes[(op / 2500 + (r % 7 == 0 ? r >> 4 : 0)) % 5];
        snprintf(key, sizeof(key), "p%u", r % 2000);
        if ((r >> 12) % 3 == 0) {
            size_t len = make_stress_value(buf, key, size + r % 50);
            s->failed += store_n(s->e, STORE_SET, key, buf, len, 0, 0, 0,
                                 NULL) != ENGINE_OK;
        } else {
            stress_get(&st, key);
        }
        if (s->clock && op % 25 == 24) {
            engine_debug_advance(s->e, 1);
        }
    }
    s->bad = st.bad;
    s->hits = st.hits;
    return NULL;
}

static void
shift_memory(struct engine_config *cfg)
{
    cfg->mem_limit = 24 * MIB;
}

static void
threads_with_shifting_sizes_move_pages_and_stay_within_the_limit(void **state)
{
    struct engine *e = make_engine(shift_memory);
    struct shift s[STRESS_THREADS];
    pthread_t tids[STRESS_THREADS];
    struct engine_stats st;
    (void)state;
    for (int t = 0; t < STRESS_THREADS; t++) {
        s[t] = (struct shift){e, (unsigned)t + 1, 0, 0, 0, t == 0};
        pthread_create(&tids[t], NULL, shift_main, &s[t]);
    }
    for (int t = 0; t < STRESS_THREADS; t++) {
        pthread_join(tids[t], NULL);
        assert_int_equal(s[t].bad, 0);
        assert_int_equal(s[t].failed, 0);
        assert_true(s[t].hits > 0);
    }
    engine_stats(e, &st);
    assert_true(st.total_malloced <= 24 * MIB);
    assert_true(st.slabs_moved > 0);
    assert_true(st.evictions > 0);
    engine_destroy(e);
}

/* ---- class tables --------------------------------------------------- */

static void
memcached_classes(struct engine_config *cfg)
{
    cfg->memcached_classes = true;
}

static void
class_table_is_fine_unless_memcached_classes_are_asked_for(void **state)
{
    struct engine *fine = make_engine(NULL);
    struct engine *mc = make_engine(memcached_classes);
    char key[31];
    char val[17];
    struct item *it;
    (void)state;
    memset(key, 'k', 30);
    key[30] = '\0';
    memset(val, 'v', 16);
    val[16] = '\0';
    assert_int_equal(fine->slab.nclasses, 207);
    assert_int_equal(mc->slab.nclasses, 39);
    assert_int_equal(mc->slab.classes[1].size, 96);
    /* 30-byte key, 16 B value, 16-bit flags: 80 bytes, an 80-byte chunk. */
    assert_int_equal(store_n(fine, STORE_SET, key, val, 16, 0x1234, 0, 0, NULL),
                     ENGINE_OK);
    assert_int_equal(engine_get(fine, s_(key), &it), ENGINE_OK);
    assert_int_equal(
        slab_chunk_size(&fine->slab, slab_class_of(&fine->slab, it)), 80);
    engine_release(fine, it);
    assert_int_equal(store_n(mc, STORE_SET, key, val, 16, 0x1234, 0, 0, NULL),
                     ENGINE_OK);
    assert_int_equal(engine_get(mc, s_(key), &it), ENGINE_OK);
    assert_int_equal(slab_chunk_size(&mc->slab, slab_class_of(&mc->slab, it)),
                     96);
    engine_release(mc, it);
    engine_destroy(fine);
    engine_destroy(mc);
}

static void
client_flags_of_every_width_round_trip(void **state)
{
    static const uint32_t flags[] = {0,     1,     255,        256,
                                     65535, 65536, 0x1000000u, UINT32_MAX};
    struct engine *e = make_engine(NULL);
    struct item_view v;
    char key[16];
    (void)state;
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        snprintf(key, sizeof(key), "f%zu", i);
        assert_int_equal(
            store_n(e, STORE_SET, key, "value", 5, flags[i], 0, 0, NULL),
            ENGINE_OK);
    }
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        snprintf(key, sizeof(key), "f%zu", i);
        char *got = get(e, key, &v);
        assert_string_equal(got, "value");
        free(got);
        assert_int_equal(v.flags, flags[i]);
        assert_int_equal(v.key.len, strlen(key));
        assert_memory_equal(v.key.ptr, key, strlen(key));
    }
    engine_destroy(e);
}

/* ---- meta commands -------------------------------------------------- */

static void
mget_ops(struct engine_mget *m, const char *ops)
{
    m->nops = 0;
    for (const char *p = ops; *p != '\0'; p++) {
        m->ops[m->nops++] = *p == 'T'   ? EMETA_TOUCH
                            : *p == 'N' ? EMETA_VIVIFY
                            : *p == 'R' ? EMETA_RECACHE
                                        : EMETA_TTL;
    }
}

static enum engine_status
mget(struct engine *e, const char *key, struct engine_mget *m)
{
    struct item *it = NULL;
    enum engine_status st = engine_mget(e, s_(key), m, &it);
    if (st == ENGINE_OK) {
        engine_release(e, it);
    }
    return st;
}

static void
mget_vivify_wins_once_and_reports_ttl_in_flag_order(void **state)
{
    (void)state;
    struct engine *e = make_engine(NULL);
    struct engine_mget m = {.vivify = true, .vivify_exptime = 30};

    mget_ops(&m, "Nt");
    assert_int_equal(mget(e, "vv", &m), ENGINE_OK);
    assert_true(m.created && m.won && !m.token_seen && !m.fetched);
    assert_int_equal(m.ttl, 30);

    struct engine_mget again = {.vivify = true, .vivify_exptime = 30};
    mget_ops(&again, "tN");
    assert_int_equal(mget(e, "vv", &again), ENGINE_OK);
    assert_true(!again.created && !again.won && again.token_seen);
    assert_true(again.fetched);
    assert_int_equal(again.ttl, 30);

    /* t before N on a miss: the new item has no expiry yet */
    struct engine_mget late = {.vivify = true, .vivify_exptime = 30};
    mget_ops(&late, "tN");
    assert_int_equal(mget(e, "v2", &late), ENGINE_OK);
    assert_int_equal(late.ttl, -1);

    /* a fresh store clears the token */
    assert_int_equal(set(e, "vv", "new"), ENGINE_OK);
    struct engine_mget plain = {0};
    assert_int_equal(mget(e, "vv", &plain), ENGINE_OK);
    assert_false(plain.token_seen || plain.won || plain.stale);
    engine_destroy(e);
}

static void
mget_recache_wins_below_the_threshold_and_touch_applies_in_order(void **state)
{
    (void)state;
    struct engine *e = make_engine(NULL);

    assert_int_equal(store_n(e, STORE_SET, "rr", "abc", 3, 0, 10, 0, NULL),
                     ENGINE_OK);
    struct engine_mget hi = {.recache_exptime = 5};
    mget_ops(&hi, "R");
    assert_int_equal(mget(e, "rr", &hi), ENGINE_OK);
    assert_false(hi.won);

    struct engine_mget m = {.recache_exptime = 30};
    mget_ops(&m, "Rt");
    assert_int_equal(mget(e, "rr", &m), ENGINE_OK);
    assert_true(m.won);
    assert_int_equal(m.ttl, 10);
    assert_int_equal(mget(e, "rr", &m), ENGINE_OK);
    assert_true(m.token_seen && !m.won);

    struct engine_mget t = {.touch_exptime = 100};
    mget_ops(&t, "tT");
    assert_int_equal(mget(e, "rr", &t), ENGINE_OK);
    assert_int_equal(t.ttl, 10);
    mget_ops(&t, "Tt");
    t.touch_exptime = 50;
    assert_int_equal(mget(e, "rr", &t), ENGINE_OK);
    assert_int_equal(t.ttl, 50);

    /* the state bits survive touches and are not part of the expiry */
    engine_debug_advance(e, 49);
    struct engine_mget z = {0};
    mget_ops(&z, "t");
    assert_int_equal(mget(e, "rr", &z), ENGINE_OK);
    assert_true(z.token_seen);
    assert_int_equal(z.ttl, 1);
    engine_debug_advance(e, 1);
    assert_int_equal(mget(e, "rr", &z), ENGINE_EXPIRED);
    engine_destroy(e);
}

static void
mget_no_bump_leaves_fetched_clear_and_reports_last_access(void **state)
{
    (void)state;
    struct engine *e = make_engine(NULL);
    struct engine_mget m = {.no_bump = true};

    assert_int_equal(set(e, "k", "v"), ENGINE_OK);
    engine_debug_advance(e, 7);
    assert_int_equal(mget(e, "k", &m), ENGINE_OK);
    assert_false(m.fetched);
    assert_int_equal(m.last_access, 7);
    assert_int_equal(mget(e, "k", &m), ENGINE_OK);
    assert_false(m.fetched);
    m.no_bump = false;
    assert_int_equal(mget(e, "k", &m), ENGINE_OK);
    assert_false(m.fetched);
    assert_int_equal(mget(e, "k", &m), ENGINE_OK);
    assert_true(m.fetched);
    engine_destroy(e);
}

static void
mdelete_invalidates_in_place_or_by_copy_when_pinned(void **state)
{
    (void)state;
    struct engine *e = make_engine(NULL);
    struct engine_mdelete inval = {
        .invalidate = true, .has_exptime = true, .exptime = 30};
    uint64_t cas = 0;

    assert_int_equal(store_n(e, STORE_SET, "foo", "bar", 3, 0, 0, 0, &cas),
                     ENGINE_OK);
    struct engine_mdelete wrong = {.cas_compare = true, .cas = cas + 1};
    assert_int_equal(engine_mdelete(e, s_("foo"), &wrong, NULL), ENGINE_EXISTS);
    assert_int_equal(engine_mdelete(e, s_("foo"), &inval, NULL), ENGINE_OK);

    struct engine_mget m = {0};
    mget_ops(&m, "t");
    struct item *it = NULL;
    assert_int_equal(engine_mget(e, s_("foo"), &m, &it), ENGINE_OK);
    assert_true(m.stale && m.won && !m.token_seen);
    assert_int_equal(m.ttl, 30);
    struct item_view v;
    engine_view(it, &v);
    assert_true(v.cas > cas);
    uint64_t stale_cas = v.cas;

    /* pinned now: invalidating again must leave our view untouched */
    assert_int_equal(engine_mdelete(e, s_("foo"), &inval, NULL), ENGINE_OK);
    engine_view(it, &v);
    assert_int_equal(v.cas, stale_cas);
    assert_memory_equal(v.segs[0].ptr, "bar", 3);
    engine_release(e, it);
    assert_int_equal(mget(e, "foo", &m), ENGINE_OK);
    assert_true(m.stale && m.won);
    assert_int_equal(mget(e, "foo", &m), ENGINE_OK);
    assert_true(m.stale && m.token_seen && !m.won);

    struct engine_mdelete del = {0};
    assert_int_equal(engine_mdelete(e, s_("foo"), &del, NULL), ENGINE_OK);
    assert_int_equal(engine_mdelete(e, s_("foo"), &del, NULL),
                     ENGINE_NOT_FOUND);
    engine_destroy(e);
}

static enum engine_status
commit_ex(struct engine *e, const char *key, const char *val,
          const struct engine_store *s, uint64_t *cas_out)
{
    struct item *it;
    size_t len = strlen(val);
    enum engine_status st =
        engine_reserve(e, STORE_SET, s_(key), 0, 0, len, &it);
    if (st != ENGINE_OK) {
        return st;
    }
    write_value(it, val, len);
    return engine_commit_ex(e, it, s, cas_out);
}

static void
stale_cas_store_and_compared_append(void **state)
{
    (void)state;
    struct engine *e = make_engine(NULL);
    uint64_t old_cas = 0;
    uint64_t cas = 0;

    assert_int_equal(store_n(e, STORE_SET, "k", "one", 3, 0, 0, 0, &old_cas),
                     ENGINE_OK);
    assert_int_equal(store_n(e, STORE_SET, "k", "two", 3, 0, 40, 0, &cas),
                     ENGINE_OK);
    struct engine_store older = {.mode = STORE_CAS, .cas = old_cas};
    assert_int_equal(commit_ex(e, "k", "x", &older, NULL), ENGINE_EXISTS);
    older.stale_ok = true;
    assert_int_equal(commit_ex(e, "k", "three", &older, NULL), ENGINE_OK);
    struct engine_mget m = {0};
    mget_ops(&m, "t");
    assert_int_equal(mget(e, "k", &m), ENGINE_OK);
    assert_true(m.stale && m.won);
    assert_int_equal(m.ttl, 40); /* the old expiry is kept */
    struct engine_store newer = {
        .mode = STORE_CAS, .cas = UINT64_MAX, .stale_ok = true};
    assert_int_equal(commit_ex(e, "k", "x", &newer, NULL), ENGINE_EXISTS);

    uint64_t now_cas = 0;
    assert_int_equal(store_n(e, STORE_SET, "a", "1", 1, 0, 0, 0, &now_cas),
                     ENGINE_OK);
    struct engine_store app = {
        .mode = STORE_APPEND, .cas = now_cas + 5, .cas_compare = true};
    assert_int_equal(commit_ex(e, "a", "2", &app, NULL), ENGINE_EXISTS);
    app.cas = now_cas;
    assert_int_equal(commit_ex(e, "a", "2", &app, NULL), ENGINE_OK);
    struct item_view v;
    char *got = get(e, "a", &v);
    assert_string_equal(got, "12");
    free(got);
    app.cas_compare = false;
    assert_int_equal(commit_ex(e, "missing", "2", &app, NULL),
                     ENGINE_NOT_STORED);
    engine_destroy(e);
}

static void
marith_vivifies_compares_and_touches(void **state)
{
    (void)state;
    struct engine *e = make_engine(NULL);
    struct engine_marith a = {.incr = true,
                              .delta = 5,
                              .vivify = true,
                              .initial = 42,
                              .vivify_exptime = 100};

    a.nops = 2;
    a.ops[0] = EMETA_VIVIFY;
    a.ops[1] = EMETA_TTL;
    assert_int_equal(engine_marith(e, s_("n"), &a), ENGINE_OK);
    assert_true(a.created);
    assert_int_equal(a.value, 42);
    assert_int_equal(a.ttl, 100);
    uint64_t cas = a.cas_out;
    assert_true(cas != 0);

    struct engine_marith b = {
        .incr = true, .delta = 5, .cas_compare = true, .cas = cas + 1};
    assert_int_equal(engine_marith(e, s_("n"), &b), ENGINE_EXISTS);
    b.cas = cas;
    b.touch_exptime = 7;
    b.nops = 2;
    b.ops[0] = EMETA_TTL;
    b.ops[1] = EMETA_TOUCH;
    assert_int_equal(engine_marith(e, s_("n"), &b), ENGINE_OK);
    assert_false(b.created);
    assert_int_equal(b.value, 47);
    assert_int_equal(b.ttl, 100);
    assert_true(b.cas_out > cas);

    struct engine_marith d = {.incr = false, .delta = 500};
    d.nops = 1;
    d.ops[0] = EMETA_TTL;
    assert_int_equal(engine_marith(e, s_("n"), &d), ENGINE_OK);
    assert_int_equal(d.value, 0);
    assert_int_equal(d.ttl, 7);

    struct engine_marith miss = {.incr = true, .delta = 1};
    assert_int_equal(engine_marith(e, s_("nope"), &miss), ENGINE_NOT_FOUND);
    assert_int_equal(set(e, "txt", "abc"), ENGINE_OK);
    assert_int_equal(engine_marith(e, s_("txt"), &miss), ENGINE_NOT_NUMBER);
    engine_destroy(e);
}

static void
debug_reports_memcached_sizes_and_classes(void **state)
{
    (void)state;
    struct engine *e = make_engine(NULL);
    struct engine_debug d;
    char big[600];

    memset(big, 'x', sizeof(big));
    assert_int_equal(engine_debug(e, s_("foo"), &d), ENGINE_NOT_FOUND);
    assert_int_equal(store_n(e, STORE_SET, "foo", "baz", 3, 0, 25, 0, NULL),
                     ENGINE_OK);
    engine_debug_advance(e, 2);
    assert_int_equal(engine_debug(e, s_("foo"), &d), ENGINE_OK);
    assert_int_equal(d.exp, -23);
    assert_int_equal(d.la, 2);
    assert_false(d.fetched);
    assert_false(d.binary);
    /* 48 header + 3 key + 1 + 3 value + 2 + 8 cas = 65: class 1 (96) */
    assert_int_equal(d.size, 65);
    assert_int_equal(d.cls, 1);
    assert_int_equal(d.key.len, 3);
    assert_memory_equal(d.key.ptr, "foo", 3);

    /* 48 + 3 + 1 + 4 (flags) + 600 + 2 + 8 = 666: memcached's class 10 */
    assert_int_equal(
        store_n(e, STORE_SET, "bar", big, sizeof(big), 5, 0, 0, NULL),
        ENGINE_OK);
    assert_int_equal(engine_debug(e, s_("bar"), &d), ENGINE_OK);
    assert_int_equal(d.exp, -1);
    assert_int_equal(d.size, 666);
    assert_int_equal(d.cls, 10);
    engine_destroy(e);
}

static void
explicit_sizes(struct engine_config *cfg)
{
    static const uint32_t sizes[] = {100, 200, 301, 1000};
    memcpy(cfg->slab_sizes, sizes, sizeof(sizes));
    cfg->nslab_sizes = 4;
}

static void
slab_sizes_give_the_class_table_and_debug_classes(void **state)
{
    (void)state;
    struct engine *e = make_engine(explicit_sizes);
    static const struct {
        size_t nbytes;
        unsigned cls; /* memcached's answer with the same -o slab_sizes */
    } cases[] = {{1, 1},   {40, 1},   {60, 2},    {150, 3},
                 {900, 4}, {2000, 5}, {600000, 5}};
    char *val = malloc(600000);
    struct engine_debug d;

    assert_non_null(val);
    memset(val, 'v', 600000);
    assert_int_equal(e->slab.nclasses, 5);
    assert_int_equal(slab_chunk_size(&e->slab, 1), 104);
    assert_int_equal(slab_chunk_size(&e->slab, 3), 304);
    assert_int_equal(slab_chunk_size(&e->slab, 5), 512 << 10);
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        char key[16];
        snprintf(key, sizeof(key), "k%zu", cases[i].nbytes);
        assert_int_equal(
            store_n(e, STORE_SET, key, val, cases[i].nbytes, 0, 0, 0, NULL),
            ENGINE_OK);
        assert_int_equal(engine_debug(e, s_(key), &d), ENGINE_OK);
        assert_int_equal(d.cls, cases[i].cls);
        struct item_view v;
        char *back = get(e, key, &v);
        assert_non_null(back);
        assert_int_equal(v.nbytes, cases[i].nbytes);
        assert_memory_equal(back, val, cases[i].nbytes);
        free(back);
    }
    free(val);
    engine_destroy(e);
}

static void
large_pages(struct engine_config *cfg)
{
    cfg->mem_limit = 16 * MIB;
    cfg->large_page_size = 2 * MIB;
}

static void
large_pages_keep_item_memory_within_the_limit(void **state)
{
    (void)state;
    struct engine *e = make_engine(large_pages);
    char val[1000];
    char key[32];
    int err = -1;

    memset(val, 'L', sizeof(val));
    assert_int_equal(engine_prealloc_status(e, &err), ENGINE_PREALLOC_DONE);
    assert_int_equal(err, 0);
    for (int i = 0; i < 40000; i++) {
        snprintf(key, sizeof(key), "key%d", i);
        assert_int_equal(
            store_n(e, STORE_SET, key, val, sizeof(val), 0, 0, 0, NULL),
            ENGINE_OK);
    }
    /* every page from the region: one class, so no first-page extra */
    assert_int_equal(slab_total_malloced(&e->slab), 16 * MIB);
    assert_int_equal(e->slab.region_used, 16);
    engine_destroy(e);

    e = make_engine(NULL);
    assert_int_equal(engine_prealloc_status(e, &err), ENGINE_PREALLOC_OFF);
    engine_destroy(e);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_rejects_bad_config),
        cmocka_unit_test(clock_starts_at_62_seconds_after_the_epoch),
        cmocka_unit_test(set_then_get_returns_value_flags_and_cas),
        cmocka_unit_test(first_store_gets_cas_1_and_each_store_the_next),
        cmocka_unit_test(add_stores_only_missing_keys),
        cmocka_unit_test(replace_stores_only_existing_keys),
        cmocka_unit_test(cas_store_needs_the_current_unique),
        cmocka_unit_test(disabled_cas_reads_zero_and_never_matches),
        cmocka_unit_test(delete_removes_only_live_items),
        cmocka_unit_test(pinned_item_outlives_delete_and_replace),
        cmocka_unit_test(abort_drops_reservation_without_storing),
        cmocka_unit_test(stats_count_items_and_memcached_sized_bytes),
        cmocka_unit_test(engine_table_grows_as_items_arrive),
        cmocka_unit_test(relative_exptime_expires_when_now_reaches_it),
        cmocka_unit_test(absolute_exptime_is_unix_time),
        cmocka_unit_test(negative_exptime_stores_but_never_returns),
        cmocka_unit_test(thirty_days_is_the_last_relative_exptime),
        cmocka_unit_test(touch_replaces_expiry_of_live_items),
        cmocka_unit_test(get_touch_returns_item_then_applies_new_expiry),
        cmocka_unit_test(
            immediate_flush_kills_earlier_items_but_not_later_ones),
        cmocka_unit_test(delayed_flush_kills_items_stored_before_the_deadline),
        cmocka_unit_test(later_flush_replaces_pending_deadline),
        cmocka_unit_test(
            disabled_cas_immediate_flush_kills_the_whole_current_second),
        cmocka_unit_test(disabled_cas_delayed_flush_kills_up_to_the_deadline),
        cmocka_unit_test(too_large_boundary_matches_memcached_byte_for_byte),
        cmocka_unit_test(
            failed_set_removes_the_old_item_but_failed_add_does_not),
        cmocka_unit_test(incr_and_decr_update_in_place_with_space_padding),
        cmocka_unit_test(incr_wraps_and_decr_floors_at_zero),
        cmocka_unit_test(incr_parses_the_value_like_strtoull),
        cmocka_unit_test(incr_keeps_flags_and_expiry_when_it_needs_a_new_item),
        cmocka_unit_test(incr_never_changes_a_value_someone_is_reading),
        cmocka_unit_test(append_and_prepend_keep_flags_and_expiry),
        cmocka_unit_test(append_beyond_item_size_max_is_not_stored),
        cmocka_unit_test(
            largest_value_for_default_limit_is_chunked_and_round_trips),
        cmocka_unit_test(tens_of_mib_values_round_trip_with_a_1g_item_limit),
        cmocka_unit_test(
            reservation_of_chunked_item_is_written_segment_by_segment),
        cmocka_unit_test(chunked_items_support_append_and_prepend_but_not_incr),
        cmocka_unit_test(chunked_items_are_evicted_to_make_room),
        cmocka_unit_test(
            threads_hammering_overlapping_keys_always_read_whole_values),
        cmocka_unit_test(
            threads_with_shifting_sizes_move_pages_and_stay_within_the_limit),
        cmocka_unit_test(
            class_table_is_fine_unless_memcached_classes_are_asked_for),
        cmocka_unit_test(client_flags_of_every_width_round_trip),
        cmocka_unit_test(mget_vivify_wins_once_and_reports_ttl_in_flag_order),
        cmocka_unit_test(
            mget_recache_wins_below_the_threshold_and_touch_applies_in_order),
        cmocka_unit_test(
            mget_no_bump_leaves_fetched_clear_and_reports_last_access),
        cmocka_unit_test(mdelete_invalidates_in_place_or_by_copy_when_pinned),
        cmocka_unit_test(stale_cas_store_and_compared_append),
        cmocka_unit_test(marith_vivifies_compares_and_touches),
        cmocka_unit_test(debug_reports_memcached_sizes_and_classes),
        cmocka_unit_test(slab_sizes_give_the_class_table_and_debug_classes),
        cmocka_unit_test(large_pages_keep_item_memory_within_the_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
