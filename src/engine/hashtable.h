/*
 * hashtable - the key -> item index. Owns its bucket arrays and lock
 * stripes; items are chained through their h_next field.
 *
 * Locking: a fixed number of stripe locks (at most 4096, never more than
 * the initial bucket count), chosen by the low bits of the key's hash.
 * Bucket index is also the low bits, so every item of a bucket, and both
 * halves of a bucket split by growth, share one stripe. Every *_locked
 * function needs the stripe of `hv` held.
 *
 * Load: the table doubles when items exceed HASHTABLE_LOAD_MAX (2) per
 * bucket, so it runs at 1 to 2 items per bucket: 4 to 8 bytes of bucket
 * array per item. memcached doubles at 1.5 (5.3 to 10.7 bytes per item);
 * the price of ours is about a quarter of a chain step more per lookup.
 *
 * Growth is incremental: when items pass that threshold, a background
 * thread allocates a table twice as big, swaps it in (holding all stripes
 * only for the pointer swap), then moves the old buckets over one at a
 * time, each under its own stripe lock, while workers keep running.
 * During the move a lookup uses the old bucket if it has not moved yet.
 */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct item;

#define HASHTABLE_MAX_STRIPES 4096
#define HASHTABLE_MIN_POWER   4
#define HASHTABLE_MAX_POWER   32
#define HASHTABLE_LOAD_MAX    2

enum hashtable_status {
    HASHTABLE_OK = 0,
    HASHTABLE_BAD_CONFIG,
    HASHTABLE_NO_MEMORY,
};

struct ht_stripe {
    _Alignas(64) pthread_mutex_t lock;
    _Atomic uint64_t nitems; /* items whose hash maps here; stripe lock */
};

struct hashtable {
    struct item **buckets;  /* 2^power; all stripes to swap */
    struct item **old;      /* 2^(power - 1) while expanding */
    _Atomic unsigned power; /* all stripes to write */
    _Atomic bool expanding; /* all stripes to write */
    _Atomic uint64_t moved; /* old buckets below this have moved */
    uint64_t stripe_mask;   /* stripe count - 1 */
    struct ht_stripe *stripes;
    bool auto_expand;
    /* The expander thread and what wakes it. */
    _Atomic bool grow_wanted;
    pthread_mutex_t grow_lock; /* one expansion at a time */
    pthread_mutex_t wake_lock;
    pthread_cond_t wake;
    bool stop; /* wake_lock */
    bool thread_running;
    pthread_t thread;
};

enum hashtable_status hashtable_init(struct hashtable *ht, unsigned power,
                                     bool auto_expand);
/* Stops the expander thread (if running) and frees the tables. */
void hashtable_deinit(struct hashtable *ht);

/* Starts the expander thread when auto_expand is on. */
enum hashtable_status hashtable_start(struct hashtable *ht);

static inline struct ht_stripe *
hashtable_stripe(struct hashtable *ht, uint64_t hv)
{
    return &ht->stripes[hv & ht->stripe_mask];
}

static inline void
hashtable_lock(struct hashtable *ht, uint64_t hv)
{
    pthread_mutex_lock(&hashtable_stripe(ht, hv)->lock);
}

static inline void
hashtable_unlock(struct hashtable *ht, uint64_t hv)
{
    pthread_mutex_unlock(&hashtable_stripe(ht, hv)->lock);
}

/* For the evictor, which holds a class lock: never waits. */
static inline bool
hashtable_trylock(struct hashtable *ht, uint64_t hv)
{
    return pthread_mutex_trylock(&hashtable_stripe(ht, hv)->lock) == 0;
}

struct item *hashtable_find_locked(struct hashtable *ht, uint64_t hv,
                                   const char *key, size_t nkey);
/* The key must not be present. May wake the expander. */
void hashtable_insert_locked(struct hashtable *ht, uint64_t hv,
                             struct item *it);
void hashtable_unlink_locked(struct hashtable *ht, uint64_t hv,
                             struct item *it);
/* Puts `it` where `old` was (same key). */
void hashtable_replace_locked(struct hashtable *ht, uint64_t hv,
                              struct item *old, struct item *it);

/*
 * Doubles the table now, moving buckets incrementally as the expander
 * does; returns false if already at the maximum or out of memory. Safe
 * to call while other threads use the table (tests call it directly).
 */
bool hashtable_grow(struct hashtable *ht);

/* Linked items, summed over stripes (relaxed reads). */
uint64_t hashtable_count(const struct hashtable *ht);

static inline unsigned
hashtable_power(const struct hashtable *ht)
{
    return atomic_load_explicit(&ht->power, memory_order_relaxed);
}

static inline bool
hashtable_expanding(const struct hashtable *ht)
{
    return atomic_load_explicit(&ht->expanding, memory_order_relaxed);
}
