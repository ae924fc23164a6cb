#include "engine/hashtable.h"

#include "engine/item.h"
#include "lib/hash.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HASHTABLE_NSEC 1000000000L

/*
 * Why one stripe covers an old bucket and both of its new halves: stripe
 * = hv & stripe_mask and bucket = hv & (2^power - 1), with the stripe
 * count <= the initial bucket count. Both masks keep the low bits, so
 * buckets b and b + 2^(power-1) agree on the stripe bits whenever
 * stripe_mask < 2^(power-1), which always holds because the table only
 * grows.
 */

static uint64_t
bucket_count(unsigned power)
{
    return (uint64_t)1 << power;
}

/* The chain head for hv. Needs hv's stripe (which pins `moved` for it). */
static struct item **
bucket_of(struct hashtable *ht, uint64_t hv)
{
    unsigned power = hashtable_power(ht);

    if (hashtable_expanding(ht)) {
        uint64_t ob = hv & (bucket_count(power - 1) - 1);
        if (ob >= atomic_load_explicit(&ht->moved, memory_order_relaxed)) {
            return &ht->old[ob];
        }
    }
    return &ht->buckets[hv & (bucket_count(power) - 1)];
}

enum hashtable_status
hashtable_init(struct hashtable *ht, unsigned power, bool auto_expand)
{
    memset(ht, 0, sizeof(*ht));
    if (power < HASHTABLE_MIN_POWER || power > HASHTABLE_MAX_POWER) {
        return HASHTABLE_BAD_CONFIG;
    }
    uint64_t nstripes = bucket_count(power);
    if (nstripes > HASHTABLE_MAX_STRIPES) {
        nstripes = HASHTABLE_MAX_STRIPES;
    }
    ht->buckets = calloc(bucket_count(power), sizeof(struct item *));
    ht->stripes = aligned_alloc(_Alignof(struct ht_stripe),
                                nstripes * sizeof(*ht->stripes));
    if (ht->buckets == NULL || ht->stripes == NULL) {
        free(ht->buckets);
        free(ht->stripes);
        memset(ht, 0, sizeof(*ht));
        return HASHTABLE_NO_MEMORY;
    }
    for (uint64_t i = 0; i < nstripes; i++) {
        pthread_mutex_init(&ht->stripes[i].lock, NULL);
        atomic_init(&ht->stripes[i].nitems, 0);
    }
    ht->stripe_mask = nstripes - 1;
    atomic_init(&ht->power, power);
    ht->auto_expand = auto_expand;
    pthread_mutex_init(&ht->grow_lock, NULL);
    pthread_mutex_init(&ht->wake_lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&ht->wake, &attr);
    pthread_condattr_destroy(&attr);
    return HASHTABLE_OK;
}

static void
stop_thread(struct hashtable *ht)
{
    if (!ht->thread_running) {
        return;
    }
    pthread_mutex_lock(&ht->wake_lock);
    ht->stop = true;
    pthread_cond_signal(&ht->wake);
    pthread_mutex_unlock(&ht->wake_lock);
    pthread_join(ht->thread, NULL);
    ht->thread_running = false;
}

void
hashtable_deinit(struct hashtable *ht)
{
    if (ht->stripes == NULL) {
        return;
    }
    stop_thread(ht);
    for (uint64_t i = 0; i <= ht->stripe_mask; i++) {
        pthread_mutex_destroy(&ht->stripes[i].lock);
    }
    free(ht->stripes);
    free(ht->buckets);
    free(ht->old);
    pthread_mutex_destroy(&ht->grow_lock);
    pthread_mutex_destroy(&ht->wake_lock);
    pthread_cond_destroy(&ht->wake);
    memset(ht, 0, sizeof(*ht));
}

struct item *
hashtable_find_locked(struct hashtable *ht, uint64_t hv, const char *key,
                      size_t nkey)
{
    struct item *it = *bucket_of(ht, hv);

    for (; it != NULL; it = it->h_next) {
        if (it->nkey == nkey && memcmp(item_key(it), key, nkey) == 0) {
            return it;
        }
    }
    return NULL;
}

static void
count_add(struct hashtable *ht, uint64_t hv, int delta)
{
    struct ht_stripe *st = hashtable_stripe(ht, hv);
    uint64_t n = atomic_load_explicit(&st->nitems, memory_order_relaxed);
    atomic_store_explicit(&st->nitems, n + (uint64_t)delta,
                          memory_order_relaxed);
}

/* More than HASHTABLE_LOAD_MAX items per bucket (hashtable.h). */
static bool
over_threshold(const struct hashtable *ht, uint64_t nitems)
{
    return nitems > bucket_count(hashtable_power(ht)) * HASHTABLE_LOAD_MAX;
}

/*
 * Wakes the expander when this stripe's share, scaled up to the whole
 * table, passes the threshold (the expander then counts exactly).
 */
static void
maybe_request_grow(struct hashtable *ht, uint64_t hv)
{
    struct ht_stripe *st = hashtable_stripe(ht, hv);
    uint64_t n = atomic_load_explicit(&st->nitems, memory_order_relaxed);

    if (!ht->auto_expand || hashtable_expanding(ht) ||
        !over_threshold(ht, n * (ht->stripe_mask + 1))) {
        return;
    }
    if (!atomic_exchange_explicit(&ht->grow_wanted, true,
                                  memory_order_relaxed)) {
        pthread_mutex_lock(&ht->wake_lock);
        pthread_cond_signal(&ht->wake);
        pthread_mutex_unlock(&ht->wake_lock);
    }
}

void
hashtable_insert_locked(struct hashtable *ht, uint64_t hv, struct item *it)
{
    struct item **b = bucket_of(ht, hv);

    it->h_next = *b;
    *b = it;
    count_add(ht, hv, 1);
    maybe_request_grow(ht, hv);
}

/* The link that points at `it` in its chain. */
static struct item **
link_to(struct hashtable *ht, uint64_t hv, const struct item *it)
{
    struct item **p = bucket_of(ht, hv);

    while (*p != it) {
        p = &(*p)->h_next;
    }
    return p;
}

void
hashtable_unlink_locked(struct hashtable *ht, uint64_t hv, struct item *it)
{
    struct item **p = link_to(ht, hv, it);

    *p = it->h_next;
    it->h_next = NULL;
    count_add(ht, hv, -1);
}

void
hashtable_replace_locked(struct hashtable *ht, uint64_t hv, struct item *old,
                         struct item *it)
{
    struct item **p = link_to(ht, hv, old);

    it->h_next = old->h_next;
    *p = it;
    old->h_next = NULL;
}

static void
lock_all(struct hashtable *ht)
{
    for (uint64_t i = 0; i <= ht->stripe_mask; i++) {
        pthread_mutex_lock(&ht->stripes[i].lock);
    }
}

static void
unlock_all(struct hashtable *ht)
{
    for (uint64_t i = 0; i <= ht->stripe_mask; i++) {
        pthread_mutex_unlock(&ht->stripes[i].lock);
    }
}

/* Moves old bucket b into the new table under its stripe lock. */
static void
move_bucket(struct hashtable *ht, uint64_t b)
{
    uint64_t mask = bucket_count(hashtable_power(ht)) - 1;

    pthread_mutex_lock(&ht->stripes[b & ht->stripe_mask].lock);
    struct item *it = ht->old[b];
    while (it != NULL) {
        struct item *next = it->h_next;
        uint64_t nb = hash_bytes(item_key(it), it->nkey) & mask;
        it->h_next = ht->buckets[nb];
        ht->buckets[nb] = it;
        it = next;
    }
    ht->old[b] = NULL;
    atomic_store_explicit(&ht->moved, b + 1, memory_order_relaxed);
    pthread_mutex_unlock(&ht->stripes[b & ht->stripe_mask].lock);
}

bool
hashtable_grow(struct hashtable *ht)
{
    pthread_mutex_lock(&ht->grow_lock);
    unsigned power = hashtable_power(ht);
    struct item **table = NULL;
    if (power < HASHTABLE_MAX_POWER) {
        table = calloc(bucket_count(power + 1), sizeof(struct item *));
    }
    if (table == NULL) {
        pthread_mutex_unlock(&ht->grow_lock);
        return false;
    }
    lock_all(ht);
    ht->old = ht->buckets;
    ht->buckets = table;
    atomic_store_explicit(&ht->moved, 0, memory_order_relaxed);
    atomic_store_explicit(&ht->power, power + 1, memory_order_relaxed);
    atomic_store_explicit(&ht->expanding, true, memory_order_relaxed);
    unlock_all(ht);

    for (uint64_t b = 0; b < bucket_count(power); b++) {
        move_bucket(ht, b);
    }

    lock_all(ht);
    struct item **old = ht->old;
    ht->old = NULL;
    atomic_store_explicit(&ht->expanding, false, memory_order_relaxed);
    unlock_all(ht);
    free(old);
    pthread_mutex_unlock(&ht->grow_lock);
    return true;
}

uint64_t
hashtable_count(const struct hashtable *ht)
{
    uint64_t n = 0;

    for (uint64_t i = 0; i <= ht->stripe_mask; i++) {
        n += atomic_load_explicit(&ht->stripes[i].nitems, memory_order_relaxed);
    }
    return n;
}

/* How long the expander sleeps: briefly while a request is pending. */
static void
expander_deadline(const struct hashtable *ht, struct timespec *until)
{
    long ns = atomic_load_explicit(&ht->grow_wanted, memory_order_relaxed)
                  ? HASHTABLE_NSEC / 100
                  : HASHTABLE_NSEC;

    clock_gettime(CLOCK_MONOTONIC, until);
    until->tv_nsec += ns;
    if (until->tv_nsec >= HASHTABLE_NSEC) {
        until->tv_sec += 1;
        until->tv_nsec -= HASHTABLE_NSEC;
    }
}

/*
 * Grows while over the threshold, then sleeps until a worker asks (see
 * maybe_request_grow) or the deadline passes. A request that turns out
 * to be a false alarm (one stripe ran ahead of the average) stays set,
 * so workers stop signalling and the expander re-counts every 10 ms
 * until the table really needs to grow; otherwise it checks once a
 * second.
 */
static void *
expander_main(void *arg)
{
    struct hashtable *ht = arg;
    struct timespec until;

    pthread_mutex_lock(&ht->wake_lock);
    while (!ht->stop) {
        pthread_mutex_unlock(&ht->wake_lock);
        while (over_threshold(ht, hashtable_count(ht)) && hashtable_grow(ht)) {
            atomic_store_explicit(&ht->grow_wanted, false,
                                  memory_order_relaxed);
        }
        pthread_mutex_lock(&ht->wake_lock);
        expander_deadline(ht, &until);
        if (!ht->stop) {
            pthread_cond_timedwait(&ht->wake, &ht->wake_lock, &until);
        }
    }
    pthread_mutex_unlock(&ht->wake_lock);
    return NULL;
}

enum hashtable_status
hashtable_start(struct hashtable *ht)
{
    if (!ht->auto_expand || ht->thread_running) {
        return HASHTABLE_OK;
    }
    if (pthread_create(&ht->thread, NULL, expander_main, ht) != 0) {
        return HASHTABLE_NO_MEMORY;
    }
    ht->thread_running = true;
    return HASHTABLE_OK;
}
