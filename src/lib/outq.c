#include "lib/outq.h"

#include <stdlib.h>
#include <string.h>

void
outq_init(struct outq *q)
{
    memset(q, 0, sizeof(*q));
}

void
outq_set_gauges(struct outq *q, _Atomic uint64_t *count,
                _Atomic uint64_t *bytes)
{
    q->gauge_count = count;
    q->gauge_bytes = bytes;
}

/* Moves a count gauge by one, if there is one. */
static void
gauge_one(_Atomic uint64_t *count, int dir)
{
    if (count == NULL) {
        return;
    }
    if (dir > 0) {
        atomic_fetch_add_explicit(count, 1, memory_order_relaxed);
    } else {
        atomic_fetch_sub_explicit(count, 1, memory_order_relaxed);
    }
}

/* A block enters (+1) or leaves (-1) the queue's memory. */
static void
gauge(struct outq *q, const struct outq_block *b, int dir)
{
    if (q->gauge_count == NULL) {
        return;
    }
    gauge_one(q->gauge_count, dir);
    if (dir > 0) {
        atomic_fetch_add_explicit(q->gauge_bytes, b->cap, memory_order_relaxed);
    } else {
        atomic_fetch_sub_explicit(q->gauge_bytes, b->cap, memory_order_relaxed);
    }
}

static void
free_block(struct outq *q, struct outq_block *b)
{
    if (b != NULL) {
        gauge(q, b, -1);
        free(b);
    }
}

static void
free_blocks(struct outq *q, struct outq_block *b)
{
    while (b != NULL) {
        struct outq_block *next = b->next;
        free_block(q, b);
        b = next;
    }
}

void
outq_set_release(struct outq *q, outq_release_fn fn, void *ctx)
{
    q->release = fn;
    q->release_ctx = ctx;
}

/* Gives the oldest owner back (there is one). */
static void
release_oldest(struct outq *q)
{
    void *owner = q->owners[q->owner_head].owner;

    q->owner_head = (q->owner_head + 1) & (q->owner_cap - 1);
    q->nowners--;
    q->release(q->release_ctx, owner);
}

void
outq_deinit(struct outq *q)
{
    while (q->nowners > 0) {
        release_oldest(q); /* never sent: the connection is closing */
    }
    free(q->owners);
    free(q->segs);
    free_blocks(q, q->blocks);
    free_block(q, q->spare);
    free(q->marks);
    memset(q, 0, sizeof(*q));
}

static bool
grow_segs(struct outq *q)
{
    size_t cap = q->nseg_cap != 0 ? q->nseg_cap * 2 : 64;
    struct outq_seg *segs = malloc(cap * sizeof(*segs));

    if (segs == NULL) {
        return false;
    }
    for (size_t i = 0; i < q->nseg; i++) {
        segs[i] = q->segs[(q->head + i) & (q->nseg_cap - 1)];
    }
    free(q->segs);
    q->segs = segs;
    q->nseg_cap = cap;
    q->head = 0;
    return true;
}

void
outq_push_grow(struct outq *q, const char *p, size_t len)
{
    if (!grow_segs(q)) {
        q->oom = true;
        return;
    }
    outq_push(q, p, len);
}

void
outq_pool_init(struct outq_pool *p, _Atomic uint64_t *count,
               _Atomic uint64_t *bytes)
{
    memset(p, 0, sizeof(*p));
    p->gauge_count = count;
    p->gauge_bytes = bytes;
}

/* Frees a pooled block; in_count: the count gauge still has it. */
static void
pool_free(struct outq_pool *p, struct outq_block *b, bool in_count)
{
    if (in_count) {
        gauge_one(p->gauge_count, -1);
    }
    if (p->gauge_bytes != NULL) {
        atomic_fetch_sub_explicit(p->gauge_bytes, b->cap, memory_order_relaxed);
    }
    free(b);
}

void
outq_pool_drain(struct outq_pool *p)
{
    while (p->nfree > 0) {
        pool_free(p, p->free[--p->nfree], false);
    }
    if (p->hot != NULL) {
        pool_free(p, p->hot, true);
        p->hot = NULL;
    }
}

void
outq_set_pool(struct outq *q, struct outq_pool *p)
{
    assert(p == NULL || (p->gauge_count == q->gauge_count &&
                         p->gauge_bytes == q->gauge_bytes));
    q->pool = p;
}

/* Gives one empty block of q's to its pool, or frees it. */
static void
pool_give(struct outq *q, struct outq_block *b)
{
    struct outq_pool *p = q->pool;

    /* A large reply's block is never pooled; nor one past the bound. */
    bool keep = b->cap == OUTQ_BLOCK_SIZE &&
                (p->hot == NULL || p->nfree < OUTQ_POOL_MAX - 1);

    if (!keep) {
        free_block(q, b);
        return;
    }
    b->next = NULL;
    b->used = 0;
    if (p->hot == NULL) {
        p->hot = b;
    } else {
        p->free[p->nfree++] = b;
        gauge_one(p->gauge_count, -1);
    }
}

void
outq_idle(struct outq *q)
{
    struct outq_block *b = q->tail;

    assert(q->queued == q->sent);
    if (q->pool == NULL) {
        return;
    }
    assert(q->blocks == b && (b == NULL || b->next == NULL));
    q->tail = NULL;
    q->blocks = NULL;
    if (b != NULL) {
        pool_give(q, b);
    }
    if (q->spare != NULL) {
        b = q->spare;
        q->spare = NULL;
        pool_give(q, b);
    }
}

/* A standard block from q's pool, or NULL. */
static struct outq_block *
pool_take(struct outq *q)
{
    struct outq_pool *p = q->pool;
    struct outq_block *b = NULL;

    if (p == NULL) {
        return NULL;
    }
    if (p->hot != NULL) {
        b = p->hot;
        p->hot = NULL;
    } else if (p->nfree > 0) {
        b = p->free[--p->nfree];
        gauge_one(p->gauge_count, 1);
    }
    return b;
}

static struct outq_block *
new_block(struct outq *q, size_t need)
{
    struct outq_block *b = NULL;

    if (q->spare != NULL && q->spare->cap >= need) {
        b = q->spare;
        q->spare = NULL;
    } else if (need <= OUTQ_BLOCK_SIZE && (b = pool_take(q)) != NULL) {
        /* counted already */
    } else {
        size_t cap = need > OUTQ_BLOCK_SIZE ? need : OUTQ_BLOCK_SIZE;
        b = malloc(sizeof(*b) + cap);
        if (b == NULL) {
            return NULL;
        }
        b->cap = cap;
        gauge(q, b, 1);
    }
    b->next = NULL;
    b->used = 0;
    b->end_pos = q->queued;
    if (q->tail != NULL) {
        q->tail->next = b;
    } else {
        q->blocks = b;
    }
    q->tail = b;
    return b;
}

char *
outq_reserve_block(struct outq *q, size_t max)
{
    struct outq_block *b = new_block(q, max);

    if (b == NULL) {
        q->oom = true;
        return NULL;
    }
    return b->data;
}

bool
outq_failed(struct outq *q)
{
    bool failed = q->oom;
    q->oom = false;
    return failed;
}

int
outq_iov(const struct outq *q, struct iovec *iov, int max)
{
    int n = 0;

    for (size_t i = 0; i < q->nseg && n < max; i++) {
        const struct outq_seg *s = &q->segs[(q->head + i) & (q->nseg_cap - 1)];
        size_t off = i == 0 ? q->head_off : 0;
        iov[n].iov_base = (void *)(s->ptr + off);
        iov[n].iov_len = s->len - off;
        n++;
    }
    return n;
}

/*
 * Frees every block whose bytes have all been sent, keeping one standard
 * block as the spare (with a pool, giving standard ones to the pool). The block
 * being filled goes only once the queue is empty; if it would become the spare,
 * it stays where it is instead, emptied, so the next reply is copied into it
 * without a trip through new_block().
 */
void
outq_release_blocks(struct outq *q)
{
    while (q->blocks != NULL && q->blocks->end_pos <= q->sent &&
           (q->blocks != q->tail || q->sent == q->queued)) {
        struct outq_block *b = q->blocks;
        bool keep = q->spare == NULL && b->cap == OUTQ_BLOCK_SIZE;
        if (keep && b == q->tail) {
            b->used = 0;
            return;
        }
        q->blocks = b->next;
        if (q->tail == b) {
            q->tail = NULL;
        }
        if (!keep) {
            free_block(q, b);
        } else if (q->pool != NULL) {
            pool_give(q, b); /* the pool is a pooled queue's spare */
        } else {
            q->spare = b;
        }
    }
}

void
outq_mark_add(struct outq *q, enum outq_mark_kind kind)
{
    if (q->nmarks == q->marks_cap) {
        size_t cap = q->marks_cap != 0 ? q->marks_cap * 2 : 64;
        struct outq_mark *m = realloc(q->marks, cap * sizeof(*m));
        if (m == NULL) {
            q->oom = true;
            return;
        }
        q->marks = m;
        q->marks_cap = cap;
    }
    q->marks[q->nmarks].pos = q->queued;
    q->marks[q->nmarks].kind = kind;
    q->nmarks++;
}

/* Marks arrays above this many entries are freed rather than kept. */
#define OUTQ_MARKS_KEEP 1024

void
outq_marks_clear(struct outq *q)
{
    q->nmarks = 0;
    if (q->marks_cap > OUTQ_MARKS_KEEP) {
        free(q->marks);
        q->marks = NULL;
        q->marks_cap = 0;
    }
}

size_t
outq_peek(const struct outq *q, void *dst, size_t n)
{
    return outq_peek_at(q, q->sent, dst, n);
}

size_t
outq_peek_at(const struct outq *q, uint64_t pos, void *dst, size_t n)
{
    char *out = dst;
    size_t done = 0;
    uint64_t skip = pos > q->sent ? pos - q->sent : 0;

    for (size_t i = 0; i < q->nseg && done < n; i++) {
        const struct outq_seg *s = &q->segs[(q->head + i) & (q->nseg_cap - 1)];
        size_t off = i == 0 ? q->head_off : 0;
        size_t len = s->len - off;
        if (skip >= len) {
            skip -= len; /* wholly before pos */
            continue;
        }
        off += (size_t)skip;
        len -= (size_t)skip;
        skip = 0;
        if (len > n - done) {
            len = n - done;
        }
        memcpy(out + done, s->ptr + off, len);
        done += len;
    }
    return done;
}

bool
outq_own_grow(struct outq *q)
{
    size_t cap = q->owner_cap != 0 ? q->owner_cap * 2 : 32;
    struct outq_owner *owners = malloc(cap * sizeof(*owners));
    if (owners == NULL) {
        return false;
    }
    for (size_t i = 0; i < q->nowners; i++) {
        owners[i] = q->owners[(q->owner_head + i) & (q->owner_cap - 1)];
    }
    free(q->owners);
    q->owners = owners;
    q->owner_cap = cap;
    q->owner_head = 0;
    return true;
}

/* Nothing is pending, so every older owner is gone too: release at once. */
void
outq_own_now(struct outq *q, void *owner)
{
    assert(q->nowners == 0);
    q->release(q->release_ctx, owner);
}

void
outq_release_owners(struct outq *q)
{
    while (q->nowners > 0 && q->owners[q->owner_head].pos <= q->sent) {
        release_oldest(q);
    }
}
