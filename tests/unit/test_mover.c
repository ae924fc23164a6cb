#include "unit.h"

#include "engine/engine.h"
#include "engine/engine_internal.h"
#include "engine/item.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/*
 * memcached's class table (so memcached class ids are the engine's) and
 * 100 kB values: every item lands in the 103496-byte class, whose pages
 * hold 10 of them each.
 */
#define VALUE_LEN 100000
#define PER_PAGE  10
#define MIB       ((size_t)1 << 20)

static struct engine *
engine_of(size_t mib, unsigned automove)
{
    struct engine_config cfg;
    engine_config_default(&cfg);
    cfg.mem_limit = mib * MIB;
    cfg.memcached_classes = true;
    cfg.slab_automove = automove;
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

static void
store(struct engine *e, int i)
{
    char kbuf[16];
    struct item *it;
    assert_int_equal(
        engine_reserve(e, STORE_SET, key_of(kbuf, i), 0, 0, VALUE_LEN, &it),
        ENGINE_OK);
    for (size_t off = 0; off < VALUE_LEN;) {
        struct wslice w = engine_wslice(it, off);
        memset(w.ptr, 'a' + i % 26, w.len);
        off += w.len;
    }
    assert_int_equal(engine_commit(e, it, STORE_SET, 0, NULL), ENGINE_OK);
}

/* True if key i is there; its value must then be its own. */
static bool
present(struct engine *e, int i)
{
    char kbuf[16];
    struct item *it;
    struct item_view v;

    if (engine_get(e, key_of(kbuf, i), &it) != ENGINE_OK) {
        return false;
    }
    engine_view(it, &v);
    assert_int_equal(v.nbytes, VALUE_LEN);
    for (size_t s = 0; s < v.nseg; s++) {
        for (size_t b = 0; b < v.segs[s].len; b++) {
            assert_int_equal(v.segs[s].ptr[b], 'a' + i % 26);
        }
    }
    engine_release(e, it);
    return true;
}

static int
count_present(struct engine *e, int n)
{
    int found = 0;
    for (int i = 0; i < n; i++) {
        found += present(e, i);
    }
    return found;
}

/* memcached's class of the 100 kB items. */
static unsigned
big_class(struct engine *e)
{
    char kbuf[16];
    struct item *it;
    assert_int_equal(engine_get(e, key_of(kbuf, 0), &it), ENGINE_OK);
    unsigned id = engine_item_class(e, it);
    engine_release(e, it);
    return id;
}

static uint64_t
class_pages(struct engine *e, unsigned id)
{
    struct engine_class_stats cs;
    assert_true(engine_class_stats(e, id, &cs));
    return cs.total_pages;
}

static void
a_move_empties_a_page_and_counts_it(void **state)
{
    struct engine *e = engine_of(8, 0);
    struct engine_stats st;
    (void)state;
    for (int i = 0; i < 3 * PER_PAGE; i++) {
        store(e, i);
    }
    unsigned id = big_class(e);
    assert_int_equal(class_pages(e, id), 3);
    assert_int_equal(engine_slabs_reassign(e, (int)id, 0), ENGINE_REASSIGN_OK);
    engine_stats(e, &st);
    assert_int_equal(class_pages(e, id), 2);
    assert_int_equal(st.slab_global_page_pool, 1);
    assert_int_equal(st.slabs_moved, 1);
    assert_int_equal(st.slab_reassign_running, 0);
    /* every chunk of the class was in use: nowhere to rescue to */
    assert_int_equal(st.slab_reassign_evictions_nomem, PER_PAGE);
    assert_int_equal(st.slab_reassign_rescues, 0);
    assert_int_equal(st.curr_items, 2 * PER_PAGE);
    assert_int_equal(count_present(e, 3 * PER_PAGE), 2 * PER_PAGE);
    /* the pool gives its page to another class: one more move */
    assert_int_equal(engine_slabs_reassign(e, 0, 3), ENGINE_REASSIGN_NOSPARE);
    assert_int_equal(engine_slabs_reassign(e, (int)id, 0), ENGINE_REASSIGN_OK);
    assert_int_equal(engine_slabs_reassign(e, 0, 3), ENGINE_REASSIGN_OK);
    engine_stats(e, &st);
    assert_int_equal(class_pages(e, 3), 1);
    assert_int_equal(st.slab_global_page_pool, 1);
    assert_int_equal(st.slabs_moved, 3);
    engine_destroy(e);
}

static void
items_are_rescued_into_free_chunks(void **state)
{
    struct engine *e = engine_of(8, 0);
    struct engine_stats st;
    (void)state;
    /* 2.5 pages: the last page has 5 chunks left to rescue into */
    for (int i = 0; i < 25; i++) {
        store(e, i);
    }
    unsigned id = big_class(e);
    assert_int_equal(engine_slabs_reassign(e, (int)id, 0), ENGINE_REASSIGN_OK);
    engine_stats(e, &st);
    assert_int_equal(st.slab_reassign_rescues, 5);
    assert_int_equal(st.slab_reassign_evictions_nomem, 5);
    assert_int_equal(st.curr_items, 20);
    assert_int_equal(class_pages(e, id), 2);
    /* rescued items read back whole (present() checks every byte) */
    assert_int_equal(count_present(e, 25), 20);
    engine_stats_reset(e);
    engine_stats(e, &st);
    assert_int_equal(st.slab_reassign_rescues, 0);
    assert_int_equal(st.slabs_moved, 0);
    engine_destroy(e);
}

static void
a_pinned_item_makes_the_move_wait_and_others_busy(void **state)
{
    struct engine *e = engine_of(8, 0);
    struct engine_stats st;
    char kbuf[16];
    struct item *pin;
    (void)state;
    for (int i = 0; i < 3 * PER_PAGE; i++) {
        store(e, i);
    }
    unsigned id = big_class(e);
    /* item 0 is in the first page, the one under the hand */
    assert_int_equal(engine_get(e, key_of(kbuf, 0), &pin), ENGINE_OK);
    assert_int_equal(engine_slabs_reassign(e, (int)id, 0), ENGINE_REASSIGN_OK);
    engine_stats(e, &st);
    assert_int_equal(st.slab_reassign_running, 1);
    assert_true(st.slab_reassign_busy_items > 0);
    assert_int_equal(engine_slabs_reassign(e, (int)id, 0),
                     ENGINE_REASSIGN_RUNNING);
    engine_release(e, pin);
    engine_mover_tick(e);
    engine_stats(e, &st);
    assert_int_equal(st.slab_reassign_running, 0);
    assert_int_equal(st.slab_global_page_pool, 1);
    assert_int_equal(class_pages(e, id), 2);
    assert_int_equal(engine_slabs_reassign(e, (int)id, 0), ENGINE_REASSIGN_OK);
    engine_destroy(e);
}

static void
reassign_answers_follow_memcached_rules(void **state)
{
    struct engine *e = engine_of(8, 0);
    int max = (int)engine_class_max(e);
    (void)state;
    assert_int_equal(engine_slabs_reassign(e, 1, 1), ENGINE_REASSIGN_SAME);
    assert_int_equal(engine_slabs_reassign(e, -1, -1), ENGINE_REASSIGN_SAME);
    assert_int_equal(engine_slabs_reassign(e, 0, 0), ENGINE_REASSIGN_SAME);
    assert_int_equal(engine_slabs_reassign(e, -1, 1), ENGINE_REASSIGN_BADCLASS);
    assert_int_equal(engine_slabs_reassign(e, max + 1, 1),
                     ENGINE_REASSIGN_BADCLASS);
    assert_int_equal(engine_slabs_reassign(e, 1, -1), ENGINE_REASSIGN_BADCLASS);
    assert_int_equal(engine_slabs_reassign(e, -2, 1), ENGINE_REASSIGN_BADCLASS);
    assert_int_equal(engine_slabs_reassign(e, 1, 2), ENGINE_REASSIGN_NOSPARE);
    assert_int_equal(engine_slabs_reassign(e, 0, 1), ENGINE_REASSIGN_NOSPARE);
    assert_int_equal(engine_slabs_reassign(e, max, 1), ENGINE_REASSIGN_NOSPARE);
    /* one page is not a spare one; two are */
    for (int i = 0; i < PER_PAGE; i++) {
        store(e, i);
    }
    unsigned id = big_class(e);
    assert_int_equal(engine_slabs_reassign(e, (int)id, 1),
                     ENGINE_REASSIGN_NOSPARE);
    store(e, PER_PAGE);
    assert_int_equal(engine_slabs_reassign(e, -1, 1), ENGINE_REASSIGN_OK);
    assert_int_equal(class_pages(e, 1), 1);
    assert_int_equal(class_pages(e, id), 1);
    engine_destroy(e);
}

static void
lowering_the_limit_gives_pages_back(void **state)
{
    struct engine *e = engine_of(8, 0);
    struct engine_stats st;
    (void)state;
    for (int i = 0; i < 8 * PER_PAGE; i++) {
        store(e, i);
    }
    engine_stats(e, &st);
    assert_int_equal(st.total_malloced, 8 * MIB);
    assert_int_equal(engine_set_mem_limit(e, 3 * MIB), ENGINE_MEMLIMIT_OK);
    assert_int_equal(engine_mem_limit(e), 3 * MIB);
    engine_stats(e, &st);
    assert_true(st.total_malloced <= 3 * MIB);
    assert_int_equal(st.slab_global_page_pool, 0);
    assert_int_equal(count_present(e, 8 * PER_PAGE), (int)st.curr_items);
    /* the cache works on within the new limit */
    for (int i = 100; i < 100 + 8 * PER_PAGE; i++) {
        store(e, i);
    }
    engine_stats(e, &st);
    assert_true(st.total_malloced <= 3 * MIB);
    /* raising it lets memory grow again, reusing the pages given back */
    assert_int_equal(engine_set_mem_limit(e, 8 * MIB), ENGINE_MEMLIMIT_OK);
    for (int i = 200; i < 200 + 8 * PER_PAGE; i++) {
        store(e, i);
    }
    engine_stats(e, &st);
    assert_int_equal(st.total_malloced, 8 * MIB);
    assert_int_equal(count_present(e, 300), (int)st.curr_items);
    engine_destroy(e);
}

static void
automove_settings_are_kept(void **state)
{
    struct engine *e = engine_of(8, 1);
    (void)state;
    assert_int_equal(engine_automove(e), 1);
    engine_set_automove(e, 2);
    assert_int_equal(engine_automove(e), 2);
    engine_set_automove_ratio(e, 0.25);
    assert_true(engine_automove_ratio(e) == 0.25);
    engine_destroy(e);
}

/* A class that keeps evicting while an idle one holds old items. */
static uint64_t
moves_after_a_shift(unsigned automove)
{
    struct engine *e = engine_of(4, automove);
    struct engine_stats st;
    char kbuf[16];

    /* the big class takes all of memory */
    for (int i = 0; i < 4 * PER_PAGE; i++) {
        store(e, i);
    }
    engine_debug_advance(e, 100);
    /* small items, for a while: the first page is stolen, then evictions */
    for (int i = 0; i < 40000; i++) {
        struct item *it;
        assert_int_equal(engine_reserve(e, STORE_SET, key_of(kbuf, 1000 + i), 0,
                                        0, 100, &it),
                         ENGINE_OK);
        memset(engine_wslice(it, 0).ptr, 's', 100);
        assert_int_equal(engine_commit(e, it, STORE_SET, 0, NULL), ENGINE_OK);
        if (i % 1000 == 999) {
            engine_debug_advance(e, 1);
        }
    }
    engine_stats(e, &st);
    engine_destroy(e);
    return st.slabs_moved;
}

static void
automove_0_leaves_pages_where_they_are(void **state)
{
    (void)state;
    /* only the one page the memory limit makes the new class steal */
    assert_int_equal(moves_after_a_shift(0), 1);
    assert_true(moves_after_a_shift(1) > 1);
    assert_true(moves_after_a_shift(2) > 1);
}

/* ---- moves while other threads store and read ---------------------- */

#define STRESS_THREADS 3
#define STRESS_KEYS    2000

struct stress {
    struct engine *e;
    int id;
    _Atomic bool *stop;
    int bad;
};

/* Values of varied sizes that name their key and length: "<i>|<len>|...". */
static void *
stress_client(void *arg)
{
    struct stress *s = arg;
    char kbuf[24];
    char val[4096];

    for (unsigned n = 0; !atomic_load(s->stop); n++) {
        int i = (int)((n * 7919u + (unsigned)s->id) % STRESS_KEYS);
        size_t len = (size_t[]){60, 700, 3000, 200}[(n + (unsigned)i) % 4];
        int kn = snprintf(kbuf, sizeof(kbuf), "t%d_%d", s->id, i);
        int h = snprintf(val, sizeof(val), "%d|%zu|", i, len);
        memset(val + h, 'a' + i % 26, len - (size_t)h);
        struct item *it;
        struct slice key = slice_make(kbuf, (size_t)kn);
        if (engine_reserve(s->e, STORE_SET, key, 0, 0, len, &it) == ENGINE_OK) {
            item_write(it, 0, val, len);
            engine_commit(s->e, it, STORE_SET, 0, NULL);
        }
        if (engine_get(s->e, key, &it) == ENGINE_OK) {
            struct item_view v;
            engine_view(it, &v);
            char got[4096];
            size_t off = 0;
            for (size_t g = 0; g < v.nseg; g++) {
                memcpy(got + off, v.segs[g].ptr, v.segs[g].len);
                off += v.segs[g].len;
            }
            got[off] = '\0';
            int gi;
            size_t glen;
            if (sscanf(got, "%d|%zu|", &gi, &glen) != 2 || gi != i ||
                glen != v.nbytes) {
                s->bad++;
            }
            engine_release(s->e, it);
        }
    }
    return NULL;
}

static void
moves_race_with_stores_and_reads(void **state)
{
    struct engine *e = engine_of(8, 2);
    _Atomic bool stop = false;
    pthread_t th[STRESS_THREADS];
    struct stress s[STRESS_THREADS];
    struct engine_stats st;
    (void)state;
    /* a class with pages to spare, whatever the threads get done */
    for (int i = 0; i < 3 * PER_PAGE; i++) {
        store(e, i);
    }
    for (int t = 0; t < STRESS_THREADS; t++) {
        s[t] = (struct stress){e, t, &stop, 0};
        assert_int_equal(pthread_create(&th[t], NULL, stress_client, &s[t]), 0);
    }
    for (int round = 0; round < 300; round++) {
        int max = (int)engine_class_max(e);
        engine_slabs_reassign(e, -1, 0);
        engine_slabs_reassign(e, 0, 1 + round % max);
        engine_slabs_reassign(e, 1 + (round * 7) % max, 1 + round % max);
        engine_mover_tick(e);
        if (round % 100 == 50) {
            engine_set_mem_limit(e, 4 * MIB);
        } else if (round % 100 == 99) {
            engine_set_mem_limit(e, 8 * MIB);
        }
    }
    atomic_store(&stop, true);
    for (int t = 0; t < STRESS_THREADS; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(s[t].bad, 0);
    }
    engine_stats(e, &st);
    assert_true(st.slabs_moved > 0);
    /* the limit, or one page per class in use beyond it (docs/ENGINE.md) */
    assert_true(st.total_malloced <= (8 + 5) * MIB);
    engine_destroy(e);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_move_empties_a_page_and_counts_it),
        cmocka_unit_test(items_are_rescued_into_free_chunks),
        cmocka_unit_test(a_pinned_item_makes_the_move_wait_and_others_busy),
        cmocka_unit_test(reassign_answers_follow_memcached_rules),
        cmocka_unit_test(lowering_the_limit_gives_pages_back),
        cmocka_unit_test(automove_settings_are_kept),
        cmocka_unit_test(automove_0_leaves_pages_where_they_are),
        cmocka_unit_test(moves_race_with_stores_and_reads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
