#include "lib/outq.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/*
 * Arena block: copied reply bytes live here until sent. Blocks are used
 * in FIFO order, so a block can be freed once every byte queued from it
 * has been written: `end_pos` is the stream position (q->queued) just
 * past its last byte.
 */
#define OUTQ_BLOCK_SIZE 8192

struct outq_block {
    struct outq_block *next;
    size_t used;
    size_t cap;
    uint64_t end_pos;
    char data[];
};

void
outq_init(struct outq *q)
{
    memset(q, 0, sizeof(*q));
}

static void
free_blocks(struct outq_block *b)
{
    while (b != NULL) {
        struct outq_block *next = b->next;
        free(b);
        b = next;
    }
}

void
outq_deinit(struct outq *q)
{
    free(q->segs);
    free_blocks(q->blocks);
    free(q->spare);
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

static struct outq_seg *
last_seg(struct outq *q)
{
    if (q->nseg == 0) {
        return NULL;
    }
    return &q->segs[(q->head + q->nseg - 1) & (q->nseg_cap - 1)];
}

static void
push_seg(struct outq *q, const char *p, size_t len)
{
    if (q->nseg == q->nseg_cap && !grow_segs(q)) {
        q->oom = true;
        return;
    }
    struct outq_seg *s = &q->segs[(q->head + q->nseg) & (q->nseg_cap - 1)];
    s->ptr = p;
    s->len = len;
    q->nseg++;
    q->queued += len;
}

void
outq_ref(struct outq *q, const void *p, size_t len)
{
    if (len > 0) {
        push_seg(q, p, len);
    }
}

static struct outq_block *
new_block(struct outq *q, size_t need)
{
    struct outq_block *b = NULL;

    if (q->spare != NULL && q->spare->cap >= need) {
        b = q->spare;
        q->spare = NULL;
    } else {
        size_t cap = need > OUTQ_BLOCK_SIZE ? need : OUTQ_BLOCK_SIZE;
        b = malloc(sizeof(*b) + cap);
        if (b == NULL) {
            return NULL;
        }
        b->cap = cap;
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
outq_reserve(struct outq *q, size_t max)
{
    struct outq_block *b = q->tail;

    if (b == NULL || b->cap - b->used < max) {
        b = new_block(q, max);
        if (b == NULL) {
            q->oom = true;
            return NULL;
        }
    }
    return b->data + b->used;
}

void
outq_commit(struct outq *q, size_t n)
{
    struct outq_block *b = q->tail;
    char *p = b->data + b->used;
    struct outq_seg *last = last_seg(q);

    if (n == 0) {
        return;
    }
    b->used += n;
    if (last != NULL && last->ptr + last->len == p) {
        last->len += n;
        q->queued += n;
    } else {
        push_seg(q, p, n);
    }
    b->end_pos = q->queued;
}

void
outq_copy(struct outq *q, const void *p, size_t len)
{
    char *dst = outq_reserve(q, len);

    if (dst != NULL) {
        memcpy(dst, p, len);
        outq_commit(q, len);
    }
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

static void
release_blocks(struct outq *q)
{
    while (q->blocks != NULL && q->blocks->end_pos <= q->sent &&
           (q->blocks != q->tail || q->sent == q->queued)) {
        struct outq_block *b = q->blocks;
        q->blocks = b->next;
        if (q->tail == b) {
            q->tail = NULL;
        }
        if (q->spare == NULL && b->cap == OUTQ_BLOCK_SIZE) {
            q->spare = b;
        } else {
            free(b);
        }
    }
}

void
outq_sent(struct outq *q, size_t n)
{
    q->sent += n;
    while (n > 0) {
        assert(q->nseg > 0);
        struct outq_seg *s = &q->segs[q->head];
        size_t left = s->len - q->head_off;
        if (n < left) {
            q->head_off += n;
            break;
        }
        n -= left;
        q->head_off = 0;
        q->head = (q->head + 1) & (q->nseg_cap - 1);
        q->nseg--;
    }
    release_blocks(q);
}
