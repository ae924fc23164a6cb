#include "unit.h"

#include "outq_gather.h"

#include "lib/outq.h"

#include <string.h>

static void
consecutive_copies_merge_into_one_segment(void **state)
{
    struct outq q;
    struct iovec iov[8];
    (void)state;

    outq_init(&q);
    outq_copy(&q, "VALUE k 0 1\r\n", 13);
    outq_copy(&q, "x\r\n", 3);
    assert_int_equal(outq_iov(&q, iov, 8), 1);
    assert_int_equal(outq_pending(&q), 16);
    outq_deinit(&q);
}

static void
references_stay_separate_and_keep_order(void **state)
{
    struct outq q;
    static const char value[] = "the value";
    char out[128];
    struct iovec iov[8];
    (void)state;

    outq_init(&q);
    outq_copy(&q, "A", 1);
    outq_ref(&q, value, 9);
    outq_copy(&q, "B", 1);
    assert_int_equal(outq_iov(&q, iov, 8), 3);
    assert_ptr_equal(iov[1].iov_base, value);
    size_t n = outq_gather(&q, out, sizeof(out));
    assert_int_equal(n, 11);
    assert_memory_equal(out, "Athe valueB", 11);
    outq_deinit(&q);
}

static void
partial_send_resumes_mid_segment(void **state)
{
    struct outq q;
    char out[128];
    static const char value[] = "0123456789";
    (void)state;

    outq_init(&q);
    outq_copy(&q, "hdr:", 4);
    outq_ref(&q, value, 10);
    outq_copy(&q, "\r\n", 2);
    outq_sent(&q, 7);
    size_t n = outq_gather(&q, out, sizeof(out));
    assert_int_equal(n, 9);
    assert_memory_equal(out, "3456789\r\n", 9);
    assert_int_equal(q.sent, 7);
    outq_sent(&q, 9);
    assert_int_equal(outq_pending(&q), 0);
    outq_deinit(&q);
}

static void
large_copies_span_blocks_and_are_freed_when_sent(void **state)
{
    struct outq q;
    char line[100];
    (void)state;

    memset(line, 'x', sizeof(line));
    outq_init(&q);
    for (int i = 0; i < 1000; i++) {
        outq_copy(&q, line, sizeof(line));
    }
    assert_int_equal(outq_pending(&q), 100000);
    assert_false(outq_failed(&q));
    size_t total = 0;
    while (outq_pending(&q) > 0) {
        struct iovec iov[4];
        int n = outq_iov(&q, iov, 4);
        assert_true(n > 0);
        outq_sent(&q, iov[0].iov_len);
        total += iov[0].iov_len;
    }
    assert_int_equal(total, 100000);
    assert_null(q.blocks);
    outq_copy(&q, "again", 5);
    assert_int_equal(outq_pending(&q), 5);
    outq_deinit(&q);
}

static void
an_emptied_queue_copies_into_the_same_block_again(void **state)
{
    struct outq q;
    struct iovec iov[2];
    (void)state;

    outq_init(&q);
    outq_copy(&q, "END\r\n", 5);
    struct outq_block *b = q.tail;
    outq_sent(&q, 5);
    assert_ptr_equal(q.blocks, b);
    assert_ptr_equal(q.tail, b);
    assert_null(q.spare);
    outq_copy(&q, "STORED\r\n", 8);
    assert_int_equal(outq_iov(&q, iov, 2), 1);
    assert_ptr_equal(iov[0].iov_base, b->data);
    assert_memory_equal(iov[0].iov_base, "STORED\r\n", 8);
    outq_sent(&q, 8);
    assert_int_equal(outq_pending(&q), 0);
    outq_deinit(&q);
}

static void
reserve_and_commit_format_in_place(void **state)
{
    struct outq q;
    char out[32];
    (void)state;

    outq_init(&q);
    char *p = outq_reserve(&q, 20);
    assert_non_null(p);
    memcpy(p, "12345\r\n", 7);
    outq_commit(&q, 7);
    assert_int_equal(outq_gather(&q, out, sizeof(out)), 7);
    assert_memory_equal(out, "12345\r\n", 7);
    outq_deinit(&q);
}

static void
ring_of_segments_grows_with_many_references(void **state)
{
    struct outq q;
    static const char v[] = "v";
    (void)state;

    outq_init(&q);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 500; i++) {
            outq_ref(&q, v, 1);
            outq_copy(&q, "\r\n", 2);
        }
        outq_sent(&q, 700);
    }
    assert_int_equal(outq_pending(&q), 3 * 1500 - 3 * 700);
    outq_deinit(&q);
}

static void
marks_are_recorded_only_when_marking_is_on(void **state)
{
    struct outq q;
    (void)state;

    outq_init(&q);
    outq_mark(&q, OUTQ_MARK_REPLY);
    outq_copy(&q, "STORED\r\n", 8);
    assert_int_equal(q.nmarks, 0);
    q.marking = true;
    outq_mark(&q, OUTQ_MARK_REPLY);
    outq_copy(&q, "END\r\n", 5);
    outq_mark(&q, OUTQ_MARK_FLUSH);
    assert_int_equal(q.nmarks, 2);
    assert_int_equal(q.marks[0].pos, 8);
    assert_int_equal(q.marks[0].kind, OUTQ_MARK_REPLY);
    assert_int_equal(q.marks[1].pos, 13);
    assert_int_equal(q.marks[1].kind, OUTQ_MARK_FLUSH);
    outq_marks_clear(&q);
    assert_int_equal(q.nmarks, 0);
    outq_deinit(&q);
}

static void
many_marks_grow_and_clear_frees_a_large_array(void **state)
{
    struct outq q;
    (void)state;

    outq_init(&q);
    q.marking = true;
    for (int i = 0; i < 5000; i++) {
        outq_mark(&q, OUTQ_MARK_VALUE);
        outq_copy(&q, "x", 1);
    }
    assert_int_equal(q.nmarks, 5000);
    assert_int_equal(q.marks[4999].pos, 4999);
    outq_marks_clear(&q);
    assert_null(q.marks);
    outq_deinit(&q);
}

static void
peek_copies_across_segments_without_consuming(void **state)
{
    struct outq q;
    static const char value[] = "0123456789";
    char out[32];
    (void)state;

    outq_init(&q);
    outq_copy(&q, "hdr:", 4);
    outq_ref(&q, value, 10);
    outq_copy(&q, "\r\n", 2);
    outq_sent(&q, 2);
    assert_int_equal(outq_peek(&q, out, 7), 7);
    assert_memory_equal(out, "r:01234", 7);
    assert_int_equal(outq_peek(&q, out, sizeof(out)), 14);
    assert_memory_equal(out, "r:0123456789\r\n", 14);
    assert_int_equal(outq_pending(&q), 14);
    /* from a stream position: inside the referenced value, at the end */
    assert_int_equal(outq_peek_at(&q, 7, out, 4), 4);
    assert_memory_equal(out, "3456", 4);
    assert_int_equal(outq_peek_at(&q, 14, out, sizeof(out)), 2);
    assert_memory_equal(out, "\r\n", 2);
    assert_int_equal(outq_peek_at(&q, 16, out, sizeof(out)), 0);
    outq_deinit(&q);
}

static void
gauges_count_blocks_held_until_freed(void **state)
{
    struct outq q;
    _Atomic uint64_t count = 0;
    _Atomic uint64_t bytes = 0;
    static char big[20000];
    (void)state;

    outq_init(&q);
    outq_set_gauges(&q, &count, &bytes);
    assert_int_equal(count, 0);
    outq_copy(&q, "END\r\n", 5);
    assert_int_equal(count, 1);
    assert_true(bytes >= 5);
    uint64_t one = bytes;
    outq_copy(&q, big, sizeof(big)); /* a block of its own */
    assert_int_equal(count, 2);
    assert_int_equal(bytes, one + sizeof(big));
    outq_sent(&q, outq_pending(&q));
    /* The large block goes; one standard block stays for reuse. */
    assert_int_equal(count, 1);
    assert_int_equal(bytes, one);
    outq_copy(&q, "END\r\n", 5);
    assert_int_equal(count, 1);
    outq_deinit(&q);
    assert_int_equal(count, 0);
    assert_int_equal(bytes, 0);
}

/* What the release callback saw: each owner and how far the stream was. */
struct released {
    const struct outq *q;
    const char *owner[256];
    uint64_t sent[256];
    size_t n;
};

static void
on_release(void *ctx, void *owner)
{
    struct released *r = ctx;

    assert_true(r->n < 256);
    r->owner[r->n] = owner;
    r->sent[r->n] = r->q->sent;
    r->n++;
}

static void
owned_queue(struct outq *q, struct released *r)
{
    memset(r, 0, sizeof(*r));
    r->q = q;
    outq_init(q);
    outq_set_release(q, on_release, r);
}

/* Queues "<hdr>" + value by reference, owned by `value` itself. */
static void
queue_owned(struct outq *q, const char *hdr, const char *value)
{
    assert_true(outq_own_reserve(q));
    outq_copy(q, hdr, strlen(hdr));
    outq_ref(q, value, strlen(value));
    outq_own(q, (void *)value);
}

static void
owners_are_released_in_order_as_the_stream_passes_their_end(void **state)
{
    struct outq q;
    struct released r;
    static const char a[] = "aaaa";
    static const char b[] = "bbb";
    (void)state;

    owned_queue(&q, &r);
    queue_owned(&q, "H1:", a);  /* a ends at 7 */
    queue_owned(&q, "\r\n", b); /* b ends at 12 */
    outq_copy(&q, "END", 3);
    assert_int_equal(outq_pending(&q), 15);
    outq_sent(&q, 6); /* mid a */
    assert_int_equal(r.n, 0);
    outq_sent(&q, 1); /* a's last byte: exactly at a segment boundary */
    assert_int_equal(r.n, 1);
    assert_ptr_equal(r.owner[0], a);
    assert_int_equal(r.sent[0], 7);
    outq_sent(&q, 4); /* mid b */
    assert_int_equal(r.n, 1);
    outq_sent(&q, 2); /* past b, into END */
    assert_int_equal(r.n, 2);
    assert_ptr_equal(r.owner[1], b);
    assert_int_equal(r.sent[1], 13);
    outq_sent(&q, 2);
    assert_int_equal(r.n, 2);
    outq_deinit(&q);
    assert_int_equal(r.n, 2);
}

static void
one_write_past_several_owners_releases_them_oldest_first(void **state)
{
    struct outq q;
    struct released r;
    static const char v[3][4] = {"one", "two", "six"};
    (void)state;

    owned_queue(&q, &r);
    for (int i = 0; i < 3; i++) {
        queue_owned(&q, "V ", v[i]);
    }
    outq_copy(&q, "END", 3);
    outq_sent(&q, 10); /* past "one" and "two" (end at 5 and 10) */
    assert_int_equal(r.n, 2);
    assert_ptr_equal(r.owner[0], v[0]);
    assert_ptr_equal(r.owner[1], v[1]);
    outq_sent(&q, outq_pending(&q));
    assert_int_equal(r.n, 3);
    assert_ptr_equal(r.owner[2], v[2]);
    outq_deinit(&q);
    assert_int_equal(r.n, 3);
}

static void
an_owner_with_nothing_pending_is_released_at_once(void **state)
{
    struct outq q;
    struct released r;
    static const char empty[] = "";
    static const char v[] = "v";
    (void)state;

    owned_queue(&q, &r);
    /* A zero-length value queues nothing: there is nothing to wait for. */
    assert_true(outq_own_reserve(&q));
    outq_ref(&q, empty, 0);
    assert_int_equal(outq_pending(&q), 0);
    outq_own(&q, (void *)empty);
    assert_int_equal(r.n, 1);
    assert_ptr_equal(r.owner[0], empty);
    assert_int_equal(q.nowners, 0);
    /* Once everything before it is sent, the same holds. */
    queue_owned(&q, "H", v);
    outq_sent(&q, outq_pending(&q));
    assert_int_equal(r.n, 2);
    assert_true(outq_own_reserve(&q));
    outq_own(&q, (void *)empty);
    assert_int_equal(r.n, 3);
    outq_deinit(&q);
    assert_int_equal(r.n, 3);
}

static void
deinit_releases_the_owners_never_sent(void **state)
{
    struct outq q;
    struct released r;
    static const char a[] = "first";
    static const char b[] = "second";
    static const char c[] = "third";
    (void)state;

    owned_queue(&q, &r);
    queue_owned(&q, "1", a);
    queue_owned(&q, "2", b);
    queue_owned(&q, "3", c);
    outq_sent(&q, 8); /* past a, into b */
    assert_int_equal(r.n, 1);
    outq_deinit(&q);
    assert_int_equal(r.n, 3);
    assert_ptr_equal(r.owner[1], b);
    assert_ptr_equal(r.owner[2], c);
    assert_int_equal(r.sent[2], 8); /* released unsent, by deinit */
}

static void
the_owner_ring_grows_and_wraps_in_order(void **state)
{
    struct outq q;
    struct released r;
    static const char v[200] = {0};
    (void)state;

    owned_queue(&q, &r);
    /* Wrap the ring first: queue and send a few, then fill past it. */
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 20; i++) {
            assert_true(outq_own_reserve(&q));
            outq_copy(&q, "x", 1);
            outq_own(&q, (void *)&v[round * 20 + i]);
        }
        outq_sent(&q, 10);
    }
    assert_int_equal(r.n, 20);
    for (int i = 40; i < 200; i++) {
        assert_true(outq_own_reserve(&q));
        outq_copy(&q, "x", 1);
        outq_own(&q, (void *)&v[i]);
    }
    assert_int_equal(q.nowners, 180);
    outq_sent(&q, outq_pending(&q) - 1);
    assert_int_equal(r.n, 199);
    outq_deinit(&q);
    assert_int_equal(r.n, 200);
    for (size_t i = 0; i < r.n; i++) {
        assert_ptr_equal(r.owner[i], &v[i]);
    }
}

/* A queue and a pool sharing gauges, as a worker's connections. */
struct pooled {
    _Atomic uint64_t count;
    _Atomic uint64_t bytes;
    struct outq_pool pool;
};

static void
pooled_init(struct pooled *pd)
{
    atomic_init(&pd->count, 0);
    atomic_init(&pd->bytes, 0);
    outq_pool_init(&pd->pool, &pd->count, &pd->bytes);
}

static void
pooled_queue(struct pooled *pd, struct outq *q)
{
    outq_init(q);
    outq_set_gauges(q, &pd->count, &pd->bytes);
    outq_set_pool(q, &pd->pool);
}

/* Empties the pool (its queues gone): every gauge is back to zero. */
static void
pooled_drain(struct pooled *pd)
{
    outq_pool_drain(&pd->pool);
    assert_int_equal(atomic_load(&pd->count), 0);
    assert_int_equal(atomic_load(&pd->bytes), 0);
}

/* Queues and sends one small reply, leaving q drained. */
static void
reply(struct outq *q, const char *s)
{
    outq_copy(q, s, strlen(s));
    assert_false(outq_failed(q));
    outq_sent(q, outq_pending(q));
}

static void
an_idle_queue_gives_its_block_to_the_pool_and_takes_it_back(void **state)
{
    struct pooled pd;
    struct outq q;
    (void)state;

    pooled_init(&pd);
    pooled_queue(&pd, &q);
    reply(&q, "END\r\n");
    struct outq_block *b = q.tail;
    assert_non_null(b);
    outq_idle(&q);
    assert_null(q.tail);
    assert_null(q.blocks);
    assert_ptr_equal(pd.pool.hot, b);
    /* the hot block stays counted: moving it costs no atomic */
    assert_int_equal(atomic_load(&pd.count), 1);
    assert_int_equal(atomic_load(&pd.bytes), OUTQ_BLOCK_SIZE);
    outq_copy(&q, "STORED\r\n", 8);
    assert_ptr_equal(q.tail, b);
    assert_null(pd.pool.hot);
    assert_int_equal(outq_pending(&q), 8);
    char out[16];
    assert_int_equal(outq_gather(&q, out, sizeof(out)), 8);
    assert_memory_equal(out, "STORED\r\n", 8);
    outq_deinit(&q);
    assert_int_equal(atomic_load(&pd.count), 0);
    assert_int_equal(atomic_load(&pd.bytes), 0);
    outq_pool_drain(&pd.pool);
}

static void
the_pool_keeps_at_most_its_bound_and_frees_the_rest(void **state)
{
    enum { N = OUTQ_POOL_MAX + 4 };
    struct pooled pd;
    struct outq q[N];
    (void)state;

    pooled_init(&pd);
    for (int i = 0; i < N; i++) {
        pooled_queue(&pd, &q[i]);
        reply(&q[i], "VERSION 1.6.18\r\n");
    }
    assert_int_equal(atomic_load(&pd.count), N);
    for (int i = 0; i < N; i++) {
        outq_idle(&q[i]);
        assert_null(q[i].tail);
    }
    /* hot and OUTQ_POOL_MAX - 1 free: allocated, one in use (the hot) */
    assert_non_null(pd.pool.hot);
    assert_int_equal(pd.pool.nfree, OUTQ_POOL_MAX - 1);
    assert_int_equal(atomic_load(&pd.count), 1);
    assert_int_equal(atomic_load(&pd.bytes), OUTQ_POOL_MAX * OUTQ_BLOCK_SIZE);
    /* taking from free[] counts the block as in use again */
    reply(&q[0], "x");
    reply(&q[1], "y");
    assert_null(pd.pool.hot);
    assert_int_equal(pd.pool.nfree, OUTQ_POOL_MAX - 2);
    assert_int_equal(atomic_load(&pd.count), 2);
    for (int i = 0; i < N; i++) {
        outq_deinit(&q[i]);
    }
    outq_pool_drain(&pd.pool);
    assert_null(pd.pool.hot);
    assert_int_equal(pd.pool.nfree, 0);
    assert_int_equal(atomic_load(&pd.count), 0);
    assert_int_equal(atomic_load(&pd.bytes), 0);
}

static void
a_block_larger_than_standard_is_never_pooled(void **state)
{
    static char big[3 * OUTQ_BLOCK_SIZE];
    struct pooled pd;
    struct outq q;
    (void)state;

    pooled_init(&pd);
    pooled_queue(&pd, &q);
    memset(big, 'v', sizeof(big));
    outq_copy(&q, big, sizeof(big)); /* one block of its own size */
    assert_true(q.tail->cap > OUTQ_BLOCK_SIZE);
    outq_sent(&q, outq_pending(&q));
    outq_idle(&q);
    assert_null(pd.pool.hot);
    assert_int_equal(pd.pool.nfree, 0);
    assert_int_equal(atomic_load(&pd.count), 0);
    assert_int_equal(atomic_load(&pd.bytes), 0);
    /* nor taken for a large copy: a standard block is too small */
    reply(&q, "END\r\n");
    outq_idle(&q);
    assert_non_null(pd.pool.hot);
    outq_copy(&q, big, sizeof(big));
    assert_non_null(pd.pool.hot);
    assert_true(q.tail->cap >= sizeof(big));
    outq_deinit(&q);
    pooled_drain(&pd);
}

static void
a_detached_queue_neither_takes_from_nor_gives_to_the_pool(void **state)
{
    struct pooled pd;
    struct outq q;
    struct outq other;
    (void)state;

    pooled_init(&pd);
    pooled_queue(&pd, &other);
    reply(&other, "END\r\n");
    outq_idle(&other); /* a block in the pool */
    struct outq_block *pooled_block = pd.pool.hot;
    pooled_queue(&pd, &q);
    outq_set_pool(&q, NULL);
    reply(&q, "STORED\r\n");
    assert_ptr_not_equal(q.tail, pooled_block); /* its own */
    assert_ptr_equal(pd.pool.hot, pooled_block);
    outq_idle(&q); /* keeps its block */
    assert_non_null(q.tail);
    assert_ptr_equal(pd.pool.hot, pooled_block);
    assert_int_equal(atomic_load(&pd.count), 2);
    outq_deinit(&q);
    outq_deinit(&other);
    pooled_drain(&pd);
}

static void
a_pooled_queue_gives_emptied_blocks_to_the_pool_as_they_are_sent(void **state)
{
    static char half[OUTQ_BLOCK_SIZE / 2 + 1];
    struct pooled pd;
    struct outq q;
    (void)state;

    pooled_init(&pd);
    pooled_queue(&pd, &q);
    /* two standard blocks; without a pool the first would be the spare */
    memset(half, 'a', sizeof(half));
    outq_copy(&q, half, sizeof(half));
    struct outq_block *first = q.tail;
    outq_copy(&q, half, sizeof(half));
    struct outq_block *second = q.tail;
    assert_ptr_not_equal(first, second);
    assert_int_equal(atomic_load(&pd.count), 2);
    outq_sent(&q, outq_pending(&q));
    assert_null(q.spare);
    assert_ptr_equal(pd.pool.hot, first);
    assert_ptr_equal(q.tail, second); /* kept, emptied, for the next reply */
    outq_idle(&q);
    assert_null(q.tail);
    assert_int_equal(pd.pool.nfree, 1);
    assert_ptr_equal(pd.pool.free[0], second);
    assert_int_equal(atomic_load(&pd.count), 1); /* the hot one */
    assert_int_equal(atomic_load(&pd.bytes), 2 * OUTQ_BLOCK_SIZE);
    outq_deinit(&q);
    pooled_drain(&pd);
}

static void
an_unpooled_queue_keeps_its_spare_until_attached_and_idle(void **state)
{
    static char half[OUTQ_BLOCK_SIZE / 2 + 1];
    struct pooled pd;
    struct outq q;
    (void)state;

    pooled_init(&pd);
    pooled_queue(&pd, &q);
    outq_set_pool(&q, NULL);
    memset(half, 'a', sizeof(half));
    outq_copy(&q, half, sizeof(half));
    outq_copy(&q, half, sizeof(half));
    outq_sent(&q, outq_pending(&q));
    struct outq_block *spare = q.spare;
    assert_non_null(spare);
    assert_null(q.tail); /* freed: one spare per queue */
    outq_set_pool(&q, &pd.pool);
    outq_idle(&q);
    assert_null(q.spare);
    assert_ptr_equal(pd.pool.hot, spare);
    assert_int_equal(atomic_load(&pd.count), 1);
    assert_int_equal(atomic_load(&pd.bytes), OUTQ_BLOCK_SIZE);
    outq_deinit(&q);
    pooled_drain(&pd);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(consecutive_copies_merge_into_one_segment),
        cmocka_unit_test(references_stay_separate_and_keep_order),
        cmocka_unit_test(partial_send_resumes_mid_segment),
        cmocka_unit_test(large_copies_span_blocks_and_are_freed_when_sent),
        cmocka_unit_test(an_emptied_queue_copies_into_the_same_block_again),
        cmocka_unit_test(reserve_and_commit_format_in_place),
        cmocka_unit_test(ring_of_segments_grows_with_many_references),
        cmocka_unit_test(marks_are_recorded_only_when_marking_is_on),
        cmocka_unit_test(many_marks_grow_and_clear_frees_a_large_array),
        cmocka_unit_test(peek_copies_across_segments_without_consuming),
        cmocka_unit_test(gauges_count_blocks_held_until_freed),
        cmocka_unit_test(
            owners_are_released_in_order_as_the_stream_passes_their_end),
        cmocka_unit_test(
            one_write_past_several_owners_releases_them_oldest_first),
        cmocka_unit_test(an_owner_with_nothing_pending_is_released_at_once),
        cmocka_unit_test(deinit_releases_the_owners_never_sent),
        cmocka_unit_test(the_owner_ring_grows_and_wraps_in_order),
        cmocka_unit_test(
            an_idle_queue_gives_its_block_to_the_pool_and_takes_it_back),
        cmocka_unit_test(the_pool_keeps_at_most_its_bound_and_frees_the_rest),
        cmocka_unit_test(a_block_larger_than_standard_is_never_pooled),
        cmocka_unit_test(
            a_detached_queue_neither_takes_from_nor_gives_to_the_pool),
        cmocka_unit_test(
            a_pooled_queue_gives_emptied_blocks_to_the_pool_as_they_are_sent),
        cmocka_unit_test(
            an_unpooled_queue_keeps_its_spare_until_attached_and_idle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
