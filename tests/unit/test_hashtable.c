#include "unit.h"

#include "engine/hashtable.h"
#include "engine/item.h"
#include "lib/hash.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Bare items: just what the hash table touches (key, nkey, h_next). */
static struct item *
make_item(const char *key)
{
    size_t nkey = strlen(key);
    struct item *it = calloc(1, sizeof(*it) + nkey + 1); /* + NUL for tests */
    assert_non_null(it);
    it->nkey = (uint8_t)nkey;
    memcpy(it->data, key, nkey + 1);
    return it;
}

static uint64_t
hv_of(const char *key)
{
    return hash_bytes(key, strlen(key));
}

static void
insert(struct hashtable *ht, struct item *it)
{
    uint64_t hv = hash_bytes(item_key(it), it->nkey);
    hashtable_lock(ht, hv);
    hashtable_insert_locked(ht, hv, it);
    hashtable_unlock(ht, hv);
}

static struct item *
find(struct hashtable *ht, const char *key)
{
    uint64_t hv = hv_of(key);
    hashtable_lock(ht, hv);
    struct item *it = hashtable_find_locked(ht, hv, key, strlen(key));
    hashtable_unlock(ht, hv);
    return it;
}

static void
unlink_item(struct hashtable *ht, struct item *it)
{
    uint64_t hv = hash_bytes(item_key(it), it->nkey);
    hashtable_lock(ht, hv);
    hashtable_unlink_locked(ht, hv, it);
    hashtable_unlock(ht, hv);
}

static struct item **
make_items(size_t n, const char *prefix)
{
    struct item **items = calloc(n, sizeof(struct item *));
    char key[64];
    assert_non_null(items);
    for (size_t i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "%s:%zu", prefix, i);
        items[i] = make_item(key);
    }
    return items;
}

static void
free_items(struct item **items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(items[i]);
    }
    free(items);
}

static void
hash_spreads_similar_keys_evenly(void **state)
{
    enum { NKEYS = 1 << 16, NBUCKETS = 1 << 10 };
    static unsigned counts[NBUCKETS];
    char key[32];
    (void)state;
    for (int i = 0; i < NKEYS; i++) {
        int n = snprintf(key, sizeof(key), "user:%d", i);
        counts[hash_bytes(key, (size_t)n) & (NBUCKETS - 1)]++;
    }
    for (int b = 0; b < NBUCKETS; b++) {
        /* 64 expected per bucket; 8 standard deviations either way. */
        assert_in_range(counts[b], 64 - 64, 64 + 64);
    }
}

static void
hash_depends_on_every_byte_and_the_length(void **state)
{
    char buf[64];
    (void)state;
    memset(buf, 'x', sizeof(buf));
    for (size_t len = 1; len <= sizeof(buf); len++) {
        uint64_t h = hash_bytes(buf, len);
        assert_true(h != hash_bytes(buf, len - 1));
        assert_true(h == hash_bytes(buf, len));
        for (size_t i = 0; i < len; i++) {
            buf[i] ^= 1;
            assert_true(hash_bytes(buf, len) != h);
            buf[i] ^= 1;
        }
    }
}

static void
finds_inserted_items_and_forgets_unlinked_ones(void **state)
{
    struct hashtable ht;
    struct item **items = make_items(1000, "k");
    (void)state;
    assert_int_equal(hashtable_init(&ht, 4, false), HASHTABLE_OK);
    for (int i = 0; i < 1000; i++) {
        insert(&ht, items[i]);
    }
    assert_int_equal(hashtable_count(&ht), 1000);
    assert_ptr_equal(find(&ht, "k:0"), items[0]);
    assert_ptr_equal(find(&ht, "k:999"), items[999]);
    assert_null(find(&ht, "k:1000"));
    assert_null(find(&ht, "k:"));
    for (int i = 0; i < 1000; i += 2) {
        unlink_item(&ht, items[i]);
    }
    for (int i = 0; i < 1000; i++) {
        char key[16];
        snprintf(key, sizeof(key), "k:%d", i);
        assert_ptr_equal(find(&ht, key), i % 2 ? items[i] : NULL);
    }
    assert_int_equal(hashtable_count(&ht), 500);
    assert_int_equal(hashtable_power(&ht), 4);
    hashtable_deinit(&ht);
    free_items(items, 1000);
}

static void
replace_takes_the_old_items_place_in_its_chain(void **state)
{
    struct hashtable ht;
    struct item **items = make_items(200, "r");
    struct item *fresh = make_item("r:77");
    (void)state;
    assert_int_equal(hashtable_init(&ht, 4, false), HASHTABLE_OK);
    for (int i = 0; i < 200; i++) {
        insert(&ht, items[i]);
    }
    uint64_t hv = hv_of("r:77");
    hashtable_lock(&ht, hv);
    hashtable_replace_locked(&ht, hv, items[77], fresh);
    hashtable_unlock(&ht, hv);
    assert_ptr_equal(find(&ht, "r:77"), fresh);
    for (int i = 0; i < 200; i++) {
        char key[16];
        snprintf(key, sizeof(key), "r:%d", i);
        assert_non_null(find(&ht, key));
    }
    assert_int_equal(hashtable_count(&ht), 200);
    hashtable_deinit(&ht);
    free_items(items, 200);
    free(fresh);
}

static void
grow_doubles_the_table_and_keeps_every_item(void **state)
{
    struct hashtable ht;
    struct item **items = make_items(5000, "g");
    (void)state;
    assert_int_equal(hashtable_init(&ht, 4, false), HASHTABLE_OK);
    for (int i = 0; i < 5000; i++) {
        insert(&ht, items[i]);
    }
    for (unsigned p = 5; p <= 12; p++) {
        assert_true(hashtable_grow(&ht));
        assert_int_equal(hashtable_power(&ht), p);
        assert_false(hashtable_expanding(&ht));
        for (int i = 0; i < 5000; i += 7) {
            assert_ptr_equal(find(&ht, (const char *)items[i]->data), items[i]);
        }
    }
    hashtable_deinit(&ht);
    free_items(items, 5000);
}

struct reader {
    struct hashtable *ht;
    struct item **items;
    size_t nitems;
    _Atomic bool *stop;
    _Atomic uint64_t misses;
    uint64_t rounds;
};

static void *
read_all_until_stopped(void *arg)
{
    struct reader *r = arg;
    while (!atomic_load(r->stop) || r->rounds == 0) {
        for (size_t i = 0; i < r->nitems; i++) {
            struct item *it = r->items[i];
            uint64_t hv = hash_bytes(it->data, it->nkey);
            hashtable_lock(r->ht, hv);
            if (hashtable_find_locked(r->ht, hv, it->data, it->nkey) != it) {
                atomic_fetch_add(&r->misses, 1);
            }
            hashtable_unlock(r->ht, hv);
        }
        r->rounds++;
    }
    return NULL;
}

static void
finds_everything_while_the_table_grows(void **state)
{
    enum { N = 20000, NREADERS = 3 };
    struct hashtable ht;
    struct item **items = make_items(N, "w");
    _Atomic bool stop = false;
    struct reader readers[NREADERS];
    pthread_t tids[NREADERS];
    (void)state;
    assert_int_equal(hashtable_init(&ht, 4, false), HASHTABLE_OK);
    for (int i = 0; i < N; i++) {
        insert(&ht, items[i]);
    }
    for (int t = 0; t < NREADERS; t++) {
        readers[t] = (struct reader){&ht, items, N, &stop, 0, 0};
        pthread_create(&tids[t], NULL, read_all_until_stopped, &readers[t]);
    }
    for (int p = 0; p < 11; p++) {
        assert_true(hashtable_grow(&ht));
    }
    atomic_store(&stop, true);
    for (int t = 0; t < NREADERS; t++) {
        pthread_join(tids[t], NULL);
        assert_int_equal(atomic_load(&readers[t].misses), 0);
    }
    assert_int_equal(hashtable_power(&ht), 15);
    hashtable_deinit(&ht);
    free_items(items, N);
}

static void
expander_thread_grows_table_past_two_items_per_bucket(void **state)
{
    struct hashtable ht;
    struct item **items = make_items(1100, "x");
    (void)state;
    assert_int_equal(hashtable_init(&ht, 4, true), HASHTABLE_OK);
    assert_int_equal(hashtable_start(&ht), HASHTABLE_OK);
    for (int i = 0; i < 1100; i++) {
        insert(&ht, items[i]);
    }
    /* 1100 items need 1024 buckets: 512 * 2 = 1024 < 1100 < 1024 * 2. */
    for (int ms = 0; ms < 5000 && hashtable_power(&ht) < 10; ms += 10) {
        nanosleep(&(struct timespec){0, 10000000L}, NULL);
    }
    nanosleep(&(struct timespec){0, 50000000L}, NULL);
    assert_int_equal(hashtable_power(&ht), 10);
    for (int i = 0; i < 1100; i++) {
        assert_ptr_equal(find(&ht, (const char *)items[i]->data), items[i]);
    }
    hashtable_deinit(&ht);
    free_items(items, 1100);
}

static void
table_never_grows_when_expansion_is_off(void **state)
{
    struct hashtable ht;
    struct item **items = make_items(1000, "n");
    (void)state;
    assert_int_equal(hashtable_init(&ht, 4, false), HASHTABLE_OK);
    assert_int_equal(hashtable_start(&ht), HASHTABLE_OK);
    for (int i = 0; i < 1000; i++) {
        insert(&ht, items[i]);
    }
    nanosleep(&(struct timespec){0, 50000000L}, NULL);
    assert_int_equal(hashtable_power(&ht), 4);
    hashtable_deinit(&ht);
    free_items(items, 1000);
}

struct worker {
    struct hashtable *ht;
    struct item **mine; /* inserted and unlinked only by this thread */
    struct item **all;  /* everybody's, looked up */
    size_t n;
    size_t nall;
    unsigned errors;
};

static void *
churn(void *arg)
{
    struct worker *w = arg;
    for (int round = 0; round < 20; round++) {
        for (size_t i = 0; i < w->n; i++) {
            insert(w->ht, w->mine[i]);
        }
        for (size_t i = 0; i < w->nall; i += 3) {
            struct item *it = w->all[i];
            struct item *got = find(w->ht, (const char *)it->data);
            w->errors += got != NULL && got != it;
        }
        for (size_t i = 0; i < w->n; i++) {
            w->errors +=
                find(w->ht, (const char *)w->mine[i]->data) != w->mine[i];
            unlink_item(w->ht, w->mine[i]);
        }
    }
    for (size_t i = 0; i < w->n; i++) {
        insert(w->ht, w->mine[i]);
    }
    return NULL;
}

static void
threads_insert_find_and_unlink_concurrently_while_it_grows(void **state)
{
    enum { NT = 4 };
    const size_t PER = 3000;
    struct hashtable ht;
    struct item **items = make_items(NT * PER, "c");
    struct worker w[NT];
    pthread_t tids[NT];
    (void)state;
    assert_int_equal(hashtable_init(&ht, 4, true), HASHTABLE_OK);
    assert_int_equal(hashtable_start(&ht), HASHTABLE_OK);
    for (int t = 0; t < NT; t++) {
        w[t] = (struct worker){
            &ht, items + (size_t)t * PER, items, PER, NT * PER, 0};
        pthread_create(&tids[t], NULL, churn, &w[t]);
    }
    for (int t = 0; t < NT; t++) {
        pthread_join(tids[t], NULL);
        assert_int_equal(w[t].errors, 0);
    }
    assert_int_equal(hashtable_count(&ht), NT * PER);
    for (size_t i = 0; i < NT * PER; i++) {
        assert_ptr_equal(find(&ht, (const char *)items[i]->data), items[i]);
    }
    assert_true(hashtable_power(&ht) > 4);
    hashtable_deinit(&ht);
    free_items(items, NT * PER);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hash_spreads_similar_keys_evenly),
        cmocka_unit_test(hash_depends_on_every_byte_and_the_length),
        cmocka_unit_test(finds_inserted_items_and_forgets_unlinked_ones),
        cmocka_unit_test(replace_takes_the_old_items_place_in_its_chain),
        cmocka_unit_test(grow_doubles_the_table_and_keeps_every_item),
        cmocka_unit_test(finds_everything_while_the_table_grows),
        cmocka_unit_test(expander_thread_grows_table_past_two_items_per_bucket),
        cmocka_unit_test(table_never_grows_when_expansion_is_off),
        cmocka_unit_test(
            threads_insert_find_and_unlink_concurrently_while_it_grows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
