/*
 * crawler - the LRU crawler: a thread that walks each class's chunks and
 * frees the expired and flushed items it finds, so memory does not sit
 * on dead data until the CLOCK hand or a lookup comes by.
 *
 * Cost: per class crawled, one pass over its chunks (at most
 * crawler_tocrawl linked items), under the class lock for CRAWL_BATCH
 * chunks at a time; a live item costs a look at its atomics (no stripe
 * lock), a dead one a trylock of its stripe and an unlink. The thread
 * pauses crawler_sleep µs after every ENGINE_CRAWL_PER_SLEEP chunks.
 *
 * Schedule: a requested crawl (engine_crawl) runs as soon as the thread
 * is free. Every class holding items is also crawled automatically: first
 * CRAWL_FIRST seconds after the crawler starts, then at an interval that
 * halves (down to 1 s) after a crawl that freed over 1% of what it
 * looked at and doubles (up to an hour) after one that freed nothing.
 * memcached's maintainer schedules its crawls within the same bounds (at
 * most once a second, at least once an hour;
 * docs/ENGINE.md#lru-crawler-and-dumps).
 */
#include "engine/engine_internal.h"
#include "engine/item.h"
#include "engine/lru.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CRAWL_BATCH        256  /* chunks per hold of the class lock */
#define CRAWL_FIRST        60   /* seconds before the first automatic crawl */
#define CRAWL_INTERVAL_MAX 3600 /* seconds */

void
crawler_init(struct engine *e)
{
    struct engine_crawler *c = &e->crawler;

    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    atomic_init(&c->sleep, e->cfg.crawler_sleep);
    atomic_init(&c->tocrawl, e->cfg.crawler_tocrawl);
}

void
crawler_deinit(struct engine *e)
{
    engine_crawler_stop(e);
    pthread_cond_destroy(&e->crawler.wake);
    pthread_mutex_destroy(&e->crawler.lock);
}

static bool
stopping(struct engine_crawler *c)
{
    pthread_mutex_lock(&c->lock);
    bool stop = c->stop;
    pthread_mutex_unlock(&c->lock);
    return stop;
}

static uint64_t
now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/*
 * One crawl of class id: looks at its chunks from the first, freeing the
 * dead items, until the end or `tocrawl` linked items. Returns what it
 * did in *out (examined, reclaimed).
 */
static void
crawl_class(struct engine *e, unsigned id, struct engine_crawled *out)
{
    struct engine_crawler *c = &e->crawler;
    uint32_t limit = atomic_load_explicit(&c->tocrawl, memory_order_relaxed);
    uint32_t page = 0;
    uint32_t chunk = 0;
    uint64_t looked = 0;
    bool more = true;

    while (more) {
        struct reclaim r = {id, NULL};
        slab_lock(&e->slab, id);
        for (unsigned n = 0; n < CRAWL_BATCH; n++) {
            if (page >= slab_npages(&e->slab, id) ||
                (limit != 0 && out->examined >= limit)) {
                more = false;
                break;
            }
            const struct slab_page *p = slab_page_locked(&e->slab, id, page);
            if (chunk >= slab_ncut_locked(p)) {
                page++;
                chunk = 0;
                continue;
            }
            struct item *it = dump_item_at(e, id, p, chunk++);
            looked++;
            if (it == NULL) {
                continue;
            }
            out->examined++;
            engine_crawler_checked(e, item_msize(it));
            if (lru_take(e, it, TAKE_DEAD_ONLY | TAKE_CRAWLER, true, &r) ==
                TAKE_DEAD) {
                out->reclaimed++;
            }
        }
        slab_unlock(&e->slab, id);
        item_reclaim_finish(e, &r);
        if (more && looked >= ENGINE_CRAWL_PER_SLEEP) {
            looked = 0;
            uint32_t us = atomic_load_explicit(&c->sleep, memory_order_relaxed);
            if (us > 0) {
                usleep(us);
            }
        }
        if (more && stopping(c)) {
            more = false;
        }
    }
}

/* Schedules the next automatic crawl of class id after one that ran. */
static void
reschedule(struct engine *e, unsigned id, const struct engine_crawled *r)
{
    struct engine_crawler *c = &e->crawler;
    uint32_t iv = c->interval[id];

    if (r->reclaimed > r->examined / 100 && r->reclaimed > 0) {
        iv = iv > 1 ? iv / 2 : 1;
    } else if (r->reclaimed == 0) {
        iv = iv < CRAWL_INTERVAL_MAX / 2 ? iv * 2 : CRAWL_INTERVAL_MAX;
    }
    c->interval[id] = iv;
    c->next_auto[id] = engine_clock(e) + iv;
}

/*
 * Takes the classes to crawl now (requested, or due automatically) into
 * todo[]; false if there are none. Needs c->lock.
 */
static bool
take_work_locked(struct engine *e, bool *todo, bool *automatic)
{
    struct engine_crawler *c = &e->crawler;
    uint32_t now = engine_clock(e);
    bool any = false;

    for (unsigned id = 1; id <= e->slab.nclasses; id++) {
        todo[id] = false;
        automatic[id] = false;
        if (c->asked[id]) {
            c->asked[id] = false;
            todo[id] = any = true;
        } else if (now >= c->next_auto[id] && lru_class_items(e, id) > 0) {
            todo[id] = automatic[id] = any = true;
        }
    }
    return any;
}

static void *
crawler_main(void *arg)
{
    struct engine *e = arg;
    struct engine_crawler *c = &e->crawler;
    bool todo[SLAB_MAX_CLASSES + 1];
    bool automatic[SLAB_MAX_CLASSES + 1];

    pthread_mutex_lock(&c->lock);
    while (!c->stop) {
        if (!take_work_locked(e, todo, automatic)) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&c->wake, &c->lock, &ts);
            continue;
        }
        pthread_mutex_unlock(&c->lock);
        atomic_fetch_add_explicit(&c->starts, 1, memory_order_relaxed);
        atomic_store_explicit(&c->running, true, memory_order_relaxed);
        for (unsigned id = 1; id <= e->slab.nclasses && !stopping(c); id++) {
            if (!todo[id]) {
                continue;
            }
            struct engine_crawled r = {.cls = e->lru[id].mc_pages};
            uint32_t start = engine_clock(e);
            uint64_t t0 = now_us();
            crawl_class(e, id, &r);
            r.elapsed_us = now_us() - t0;
            r.since_run = c->last_run[id] == 0 ? 0 : start - c->last_run[id];
            c->last_run[id] = start;
            reschedule(e, id, &r);
            r.next_run = c->interval[id];
            if (automatic[id] && e->cfg.on_crawl != NULL) {
                e->cfg.on_crawl(e->cfg.on_crawl_ctx, &r);
            }
        }
        atomic_store_explicit(&c->running, false, memory_order_relaxed);
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

bool
engine_crawler_start(struct engine *e)
{
    struct engine_crawler *c = &e->crawler;
    bool ok = false;

    pthread_mutex_lock(&c->lock);
    if (!c->thread_on) {
        uint32_t first = engine_clock(e) + CRAWL_FIRST;
        for (unsigned id = 1; id <= e->slab.nclasses; id++) {
            if (c->interval[id] == 0) {
                c->interval[id] = CRAWL_FIRST;
            }
            c->next_auto[id] = first;
        }
        c->stop = false;
        ok = pthread_create(&c->thread, NULL, crawler_main, e) == 0;
        c->thread_on = ok;
    }
    pthread_mutex_unlock(&c->lock);
    return ok;
}

void
engine_crawler_stop(struct engine *e)
{
    struct engine_crawler *c = &e->crawler;

    pthread_mutex_lock(&c->lock);
    if (!c->thread_on) {
        pthread_mutex_unlock(&c->lock);
        return;
    }
    c->stop = true;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->thread, NULL);
    pthread_mutex_lock(&c->lock);
    c->thread_on = false;
    memset(c->asked, 0, sizeof(c->asked));
    pthread_mutex_unlock(&c->lock);
}

bool
engine_crawler_enabled(const struct engine *e)
{
    struct engine_crawler *c = (struct engine_crawler *)&e->crawler;

    pthread_mutex_lock(&c->lock);
    bool on = c->thread_on;
    pthread_mutex_unlock(&c->lock);
    return on;
}

void
engine_crawler_set_sleep(struct engine *e, uint32_t usec)
{
    atomic_store_explicit(&e->crawler.sleep, usec, memory_order_relaxed);
}

void
engine_crawler_set_tocrawl(struct engine *e, uint32_t items)
{
    atomic_store_explicit(&e->crawler.tocrawl, items, memory_order_relaxed);
}

enum engine_crawl
engine_crawl(struct engine *e, uint64_t classes)
{
    struct engine_crawler *c = &e->crawler;

    pthread_mutex_lock(&c->lock);
    if (!c->thread_on) {
        pthread_mutex_unlock(&c->lock);
        return ENGINE_CRAWL_DISABLED;
    }
    for (unsigned id = 1; id <= e->slab.nclasses; id++) {
        const struct lru *l = &e->lru[id];
        for (unsigned mc = l->mc_lo; mc <= l->mc_hi && mc < 64; mc++) {
            if (classes >> mc & 1u) {
                c->asked[id] = true;
            }
        }
    }
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    return ENGINE_CRAWL_OK;
}

void
engine_crawler_stats(const struct engine *e, struct engine_crawler_stats *out)
{
    const struct engine_crawler *c = &e->crawler;

    out->running = atomic_load_explicit(&c->running, memory_order_relaxed);
    out->starts = atomic_load_explicit(&c->starts, memory_order_relaxed);
    out->sleep = atomic_load_explicit(&c->sleep, memory_order_relaxed);
    out->tocrawl = atomic_load_explicit(&c->tocrawl, memory_order_relaxed);
}

void
engine_crawler_count_start(struct engine *e)
{
    atomic_fetch_add_explicit(&e->crawler.starts, 1, memory_order_relaxed);
}
