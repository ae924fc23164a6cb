#include "unit.h"

#include "engine/engine.h"
#include "engine/engine_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct engine *
engine_with(bool crawler)
{
    struct engine_config cfg;
    engine_config_default(&cfg);
    cfg.mem_limit = (size_t)16 << 20;
    cfg.crawler = crawler;
    cfg.crawler_sleep = 0;
    struct engine *e = engine_create(&cfg);
    assert_non_null(e);
    return e;
}

static void
store(struct engine *e, const char *key, size_t vlen, int64_t exptime)
{
    struct item *it;
    assert_int_equal(engine_reserve(e, STORE_SET, slice_make(key, strlen(key)),
                                    0, exptime, vlen, &it),
                     ENGINE_OK);
    for (size_t off = 0; off < vlen;) {
        struct wslice w = engine_wslice(it, off);
        memset(w.ptr, 'v', w.len);
        off += w.len;
    }
    assert_int_equal(engine_commit(e, it, STORE_SET, 0, NULL), ENGINE_OK);
}

struct seen {
    size_t n;
    size_t binary;
    char keys[64][32];
    struct engine_walk_item last;
};

static void
collect(void *ctx, const struct engine_walk_item *it)
{
    struct seen *s = ctx;
    if (s->n < 64) {
        snprintf(s->keys[s->n], sizeof(s->keys[0]), "%.*s", (int)it->key.len,
                 it->key.ptr);
    }
    s->binary += it->binary_key;
    s->last = *it;
    s->n++;
}

static size_t
walk_all(struct engine *e, uint64_t classes, bool hash, struct seen *s)
{
    struct engine_walk *w = engine_walk_start(e, classes, hash);
    size_t calls = 0;

    assert_non_null(w);
    memset(s, 0, sizeof(*s));
    while (engine_walk_next(e, w, collect, s)) {
        calls++;
    }
    engine_walk_free(w);
    return calls + 1;
}

static void
walk_sees_every_live_item_once(void **state)
{
    struct engine *e = engine_with(false);
    char key[32];
    struct seen s;
    (void)state;

    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        store(e, key, (size_t)(i % 7) * 100, i % 10 == 0 ? -1 : 0);
    }
    /* 500 were stored expired: skipped */
    size_t calls = walk_all(e, ~(uint64_t)1, false, &s);
    assert_int_equal(s.n, 4500);
    assert_true(calls > 1); /* bounded batches */
    walk_all(e, 0, true, &s);
    assert_int_equal(s.n, 4500);
    /* no class wanted: nothing */
    walk_all(e, 0, false, &s);
    assert_int_equal(s.n, 0);
    engine_destroy(e);
}

static void
walk_reports_metadata(void **state)
{
    struct engine *e = engine_with(false);
    struct seen s;
    struct item *it;
    (void)state;

    store(e, "meta", 3, 1000);
    assert_int_equal(engine_get(e, slice_make("meta", 4), &it), ENGINE_OK);
    engine_release(e, it);
    walk_all(e, ~(uint64_t)1, false, &s);
    assert_int_equal(s.n, 1);
    assert_true(s.last.fetched);
    assert_int_equal(s.last.cls, 1);
    assert_true(s.last.cas > 0);
    assert_true(s.last.exptime > s.last.last_access);
    assert_true(s.last.exptime - s.last.last_access >= 999);
    /* a class filter by memcached class id */
    walk_all(e, (uint64_t)1 << 2, false, &s);
    assert_int_equal(s.n, 0);
    walk_all(e, (uint64_t)1 << 1, false, &s);
    assert_int_equal(s.n, 1);
    engine_destroy(e);
}

static void
walk_survives_the_table_growing(void **state)
{
    struct engine_config cfg;
    char key[32];
    struct seen s;
    (void)state;

    engine_config_default(&cfg);
    cfg.hashpower = 4; /* tiny: the table doubles often */
    struct engine *e = engine_create(&cfg);
    assert_non_null(e);
    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof(key), "g%d", i);
        store(e, key, 10, 0);
    }
    struct engine_walk *w = engine_walk_start(e, 0, true);
    memset(&s, 0, sizeof(s));
    assert_true(engine_walk_next(e, w, collect, &s) || s.n == 20);
    for (int i = 20; i < 2000; i++) {
        snprintf(key, sizeof(key), "g%d", i);
        store(e, key, 10, 0);
    }
    while (engine_walk_next(e, w, collect, &s)) {
    }
    engine_walk_free(w);
    /* the first 20 at least, and never more than there are */
    assert_true(s.n >= 20 && s.n <= 2000);
    engine_destroy(e);
}

static uint64_t
reclaimed(struct engine *e)
{
    struct engine_stats st;
    engine_stats(e, &st);
    return st.crawler_reclaimed;
}

struct crawled {
    pthread_mutex_t lock;
    unsigned calls;
    uint64_t reclaimed;
};

static void
on_crawl(void *ctx, const struct engine_crawled *c)
{
    struct crawled *cr = ctx;
    pthread_mutex_lock(&cr->lock);
    cr->calls++;
    cr->reclaimed += c->reclaimed;
    pthread_mutex_unlock(&cr->lock);
}

static void
wait_for(bool (*done)(void *), void *arg)
{
    for (int i = 0; i < 1000 && !done(arg); i++) {
        nanosleep(&(struct timespec){0, 10000000L}, NULL);
    }
    assert_true(done(arg));
}

static bool
all_reclaimed(void *arg)
{
    return reclaimed(arg) == 100;
}

static bool
auto_reported(void *arg)
{
    struct crawled *cr = arg;
    pthread_mutex_lock(&cr->lock);
    bool done = cr->calls > 0;
    pthread_mutex_unlock(&cr->lock);
    return done;
}

static void
crawler_reclaims_dead_items_on_request_and_by_itself(void **state)
{
    struct engine_config cfg;
    struct crawled cr = {.calls = 0};
    char key[32];
    (void)state;

    pthread_mutex_init(&cr.lock, NULL);
    engine_config_default(&cfg);
    cfg.crawler = true;
    cfg.crawler_sleep = 0;
    cfg.on_crawl = on_crawl;
    cfg.on_crawl_ctx = &cr;
    struct engine *e = engine_create(&cfg);
    assert_non_null(e);
    assert_true(engine_crawler_enabled(e));
    assert_false(engine_crawler_start(e)); /* running already */
    for (int i = 0; i < 150; i++) {
        snprintf(key, sizeof(key), "c%d", i);
        store(e, key, 10, i < 100 ? 5 : 0);
    }
    engine_debug_advance(e, 10);
    assert_int_equal(engine_crawl(e, ~(uint64_t)1), ENGINE_CRAWL_OK);
    wait_for(all_reclaimed, e);
    struct engine_stats st;
    engine_stats(e, &st);
    assert_int_equal(st.curr_items, 50);
    assert_int_equal(st.reclaimed, 0); /* counted apart, as memcached */
    assert_int_equal(st.expired_unfetched, 100);
    assert_true(st.crawler_items_checked >= 150);
    struct engine_class_stats cs;
    assert_true(engine_class_stats(e, 1, &cs));
    assert_int_equal(cs.crawler_reclaimed, 100);
    struct engine_crawler_stats cst;
    engine_crawler_stats(e, &cst);
    assert_true(cst.starts >= 1);
    /* the automatic crawl comes after its first interval */
    engine_debug_advance(e, 120);
    wait_for(auto_reported, &cr);
    engine_crawler_stop(e);
    assert_false(engine_crawler_enabled(e));
    assert_int_equal(engine_crawl(e, ~(uint64_t)1), ENGINE_CRAWL_DISABLED);
    engine_crawler_stop(e); /* idempotent */
    assert_true(engine_crawler_start(e));
    engine_destroy(e); /* stops it */
    pthread_mutex_destroy(&cr.lock);
}

static void
tocrawl_bounds_a_crawl(void **state)
{
    struct engine *e = engine_with(true);
    char key[32];
    (void)state;

    engine_crawler_set_tocrawl(e, 10);
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "t%d", i);
        store(e, key, 10, 5);
    }
    engine_debug_advance(e, 10);
    assert_int_equal(engine_crawl(e, (uint64_t)1 << 1), ENGINE_CRAWL_OK);
    for (int i = 0; i < 1000 && reclaimed(e) < 10; i++) {
        nanosleep(&(struct timespec){0, 10000000L}, NULL);
    }
    engine_crawler_stop(e); /* the crawl is over once stop returns */
    assert_int_equal(reclaimed(e), 10);
    engine_destroy(e);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(walk_sees_every_live_item_once),
        cmocka_unit_test(walk_reports_metadata),
        cmocka_unit_test(walk_survives_the_table_growing),
        cmocka_unit_test(crawler_reclaims_dead_items_on_request_and_by_itself),
        cmocka_unit_test(tocrawl_bounds_a_crawl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
