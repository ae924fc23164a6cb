/*
 * outq - a connection's queue of reply bytes waiting for the socket, as
 * a list of segments that become one writev() iovec each. Owns the small
 * bytes it copies (status lines, VALUE headers) in an arena of blocks;
 * large bytes (item values) are referenced in place, never copied.
 * Consecutive copies into the same arena block merge into one segment, so
 * "VALUE ...\r\n" + value + "\r\nEND\r\n" is three iovecs.
 *
 * Referenced bytes must stay valid until sent. Their keeper hands the
 * queue an owner (outq_own; an opaque pointer, for cmd a pinned item) at
 * the position just past them; the queue gives each owner back to its
 * release callback (outq_set_release) once the stream has passed that
 * position (outq_sent), or when the queue goes (outq_deinit: never sent),
 * in the order they were handed over.
 *
 * Datagram transports also need to know where one reply object ends and
 * the next begins: with `marking` on, outq_mark() records such boundaries
 * (stream positions); off, the default, it costs one test of the flag.
 *
 * Not thread safe: one per connection. Knows nothing about items. The
 * optional gauges (outq_set_gauges) are the exception: shared counters
 * of arena blocks held, moved with relaxed atomics when a block is
 * allocated or freed, never per reply.
 */
#pragma once

#include <assert.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

/* Arena blocks are this big, or as big as one larger copy. */
#define OUTQ_BLOCK_SIZE 8192

enum outq_status {
    OUTQ_OK = 0,
    OUTQ_NO_MEMORY,
};

struct outq_seg {
    const char *ptr;
    size_t len;
};

/*
 * Arena block: copied reply bytes live here until sent. Blocks are used
 * in FIFO order, so a block can be freed once every byte queued from it
 * has been written: `end_pos` is the stream position (q->queued) just
 * past its last byte.
 */
struct outq_block {
    struct outq_block *next;
    size_t used;
    size_t cap;
    uint64_t end_pos;
    char data[];
};

/*
 * Empty standard blocks that queues gave back when idle (outq_idle), for
 * the next queue that appends. Queues sharing a pool must run on one
 * thread: no lock. `hot` is the block a client sending one request per
 * read takes and gives back each time, a pointer moved each way;
 * free[0 .. nfree) serve queues that hold their block across turns.
 * OUTQ_POOL_MAX bounds what a pool keeps (64 KiB): a handful covers the
 * clients of one thread mid-reply at a time, while a burst of 10k clients
 * going idle must not pin 80 MB. Blocks given back past it are freed.
 *
 * With gauges (outq_pool_init), a pooled block stays in the bytes gauge
 * (it is memory held for replies, as memcached counts its per-thread
 * response cache) and the hot one in the count gauge too: moving it costs
 * no atomic. Blocks in free[] leave the count, as objects not in use.
 */
#define OUTQ_POOL_MAX 8

struct outq_pool {
    struct outq_block *hot;
    struct outq_block *free[OUTQ_POOL_MAX - 1];
    unsigned nfree;
    _Atomic uint64_t *gauge_count; /* as the queues' (outq_set_gauges) */
    _Atomic uint64_t *gauge_bytes;
};

/* What a mark says about the stream position it records. */
enum outq_mark_kind {
    OUTQ_MARK_REPLY = 0, /* a reply object starts; nothing to send if empty */
    OUTQ_MARK_VALUE,     /* an object that counts even when empty */
    OUTQ_MARK_FLUSH,     /* the transport would write out everything so far */
};

struct outq_mark {
    uint64_t pos; /* q->queued when marked */
    enum outq_mark_kind kind;
};

/* Gives an owner back once the bytes it keeps alive are gone. */
typedef void (*outq_release_fn)(void *ctx, void *owner);

/* An owner waits until the stream has passed `pos`. */
struct outq_owner {
    void *owner;
    uint64_t pos; /* q->queued when handed over */
};

struct outq {
    struct outq_seg *segs; /* ring of pending segments */
    size_t nseg_cap;       /* power of two */
    size_t head;           /* index of first pending segment */
    size_t nseg;           /* pending segments */
    size_t head_off;       /* bytes of segs[head] already written */
    uint64_t queued;       /* bytes ever queued (a position in the stream) */
    uint64_t sent;         /* bytes ever sent */
    struct outq_block *blocks; /* arena blocks in use, oldest first */
    struct outq_block *tail;   /* block being filled */
    struct outq_block *spare;  /* one emptied block kept; none with a pool */
    struct outq_pool *pool;    /* where idle blocks go, or NULL */
    bool oom;                  /* an append failed; see outq_failed() */
    bool marking;              /* record outq_mark() calls */
    /*
     * Set by the producer while what is queued must not be written yet
     * (a binary connection discarding a refused value); the transport
     * tests it before writing. outq itself ignores it.
     */
    bool held;
    struct outq_mark *marks; /* recorded marks, oldest first */
    size_t nmarks;
    size_t marks_cap;
    _Atomic uint64_t *gauge_count; /* arena blocks held, or NULL */
    _Atomic uint64_t *gauge_bytes; /* their data bytes */
    struct outq_owner *owners;     /* ring of pending owners, oldest first */
    size_t owner_cap;              /* power of two */
    size_t owner_head;             /* index of the oldest */
    size_t nowners;                /* pending owners */
    outq_release_fn release;       /* see outq_set_release() */
    void *release_ctx;
};

void outq_init(struct outq *q);
/* Releases every owner still pending (their bytes will never be sent). */
void outq_deinit(struct outq *q);

/*
 * Sets the callback that gets each owner back: fn(ctx, owner), from
 * outq_own, outq_sent or outq_deinit. Once per queue, before any
 * outq_own.
 */
void outq_set_release(struct outq *q, outq_release_fn fn, void *ctx);

/*
 * Makes room for one more owner; false when out of memory. Call it
 * before queueing the bytes an owner keeps alive (on false, queue
 * nothing and release the owner yourself), then outq_own() right after.
 */
/* The slow path of outq_own_reserve() (outq.c). */
bool outq_own_grow(struct outq *q);

static inline bool
outq_own_reserve(struct outq *q)
{
    return q->nowners < q->owner_cap || outq_own_grow(q);
}

/* The slow path of outq_own() (outq.c). */
void outq_own_now(struct outq *q, void *owner);

/*
 * Hands over `owner`, to be released once every byte queued so far has
 * been sent: at once if none is pending. Needs an outq_own_reserve()
 * since the last outq_own().
 */
static inline void
outq_own(struct outq *q, void *owner)
{
    assert(q->nowners < q->owner_cap && q->release != NULL);
    if (q->queued == q->sent) {
        outq_own_now(q, owner);
        return;
    }
    q->owners[(q->owner_head + q->nowners) & (q->owner_cap - 1)] =
        (struct outq_owner){.owner = owner, .pos = q->queued};
    q->nowners++;
}

/*
 * Makes q count the arena blocks it holds (spare included) into *count
 * and their capacity into *bytes, shared with other queues. Call it on
 * an empty queue, right after outq_init.
 */
void outq_set_gauges(struct outq *q, _Atomic uint64_t *count,
                     _Atomic uint64_t *bytes);

/* An empty pool counting into the given gauges (both NULL: none). */
void outq_pool_init(struct outq_pool *p, _Atomic uint64_t *count,
                    _Atomic uint64_t *bytes);
/* Frees every pooled block; the pool stays usable. */
void outq_pool_drain(struct outq_pool *p);

/*
 * Attaches q to pool p (NULL detaches): q takes its next standard block
 * from p and outq_idle gives blocks back to it. q and p must share their
 * gauges, and q must only be used on p's thread while attached.
 */
void outq_set_pool(struct outq *q, struct outq_pool *p);

/*
 * For a queue with nothing pending: hands its empty standard blocks to
 * its pool, so it holds none (without a pool it keeps them).
 */
void outq_idle(struct outq *q);

/*
 * outq_idle, inline, for a caller holding q's pool `p` at hand (no load
 * of q->pool, no test for none). The common case, a drained queue's one
 * block and the pool's hot slot free, is a pointer move.
 */
static inline void
outq_idle_to(struct outq *q, struct outq_pool *p)
{
    struct outq_block *b = q->tail;

    /*
     * Drained, a pooled queue holds one standard block, its tail
     * (blocks == tail), or none: it keeps no spare (outq_release_blocks).
     */
    assert(p == q->pool && q->queued == q->sent && q->spare == NULL);
    if (p->hot == NULL) {
        p->hot = b; /* NULL stays NULL */
        q->tail = NULL;
        q->blocks = NULL;
    } else if (b != NULL) {
        outq_idle(q);
    }
}

/*
 * Optional, for a queue about to append (its owner read a request) that
 * holds no block (since outq_idle, say), whose pool is `p`: takes the
 * pool's hot block now, inline, rather than in the first outq_reserve's
 * slow path (which takes a pooled block otherwise). The block's end_pos
 * is a position in the stream of the queue that used it last: it is set
 * to this queue's, as for a block none of whose bytes are pending.
 */
static inline void
outq_take_hot(struct outq *q, struct outq_pool *p)
{
    struct outq_block *b = p->hot;

    assert(p == q->pool && q->tail == NULL);
    if (b != NULL) {
        p->hot = NULL; /* pooled blocks are empty and unlinked */
        b->end_pos = q->queued;
        q->tail = b;
        q->blocks = b;
    }
}

/* The slow paths of the inline functions below (outq.c). */
char *outq_reserve_block(struct outq *q, size_t max);
void outq_push_grow(struct outq *q, const char *p, size_t len);

/*
 * Returns a pointer to `max` writable arena bytes for formatting in
 * place; outq_commit(q, n) then queues the first n of them.
 * Returns NULL on allocation failure.
 */
static inline char *
outq_reserve(struct outq *q, size_t max)
{
    struct outq_block *b = q->tail;

    if (b != NULL && b->cap - b->used >= max) {
        return b->data + b->used;
    }
    return outq_reserve_block(q, max);
}

static inline void
outq_push(struct outq *q, const char *p, size_t len)
{
    if (q->nseg == q->nseg_cap) {
        outq_push_grow(q, p, len);
        return;
    }
    struct outq_seg *s = &q->segs[(q->head + q->nseg) & (q->nseg_cap - 1)];
    s->ptr = p;
    s->len = len;
    q->nseg++;
    q->queued += len;
}

/* Queues the first n bytes of the last outq_reserve(). */
static inline void
outq_commit(struct outq *q, size_t n)
{
    struct outq_block *b = q->tail;
    char *p = b->data + b->used;

    if (n == 0) {
        return;
    }
    b->used += n;
    if (q->nseg > 0) {
        struct outq_seg *last =
            &q->segs[(q->head + q->nseg - 1) & (q->nseg_cap - 1)];
        if (last->ptr + last->len == p) {
            /* Right after the previous copy: one segment, one iovec. */
            last->len += n;
            q->queued += n;
            b->end_pos = q->queued;
            return;
        }
    }
    outq_push(q, p, n);
    b->end_pos = q->queued;
}

/* Copies len bytes into the arena and queues them. */
static inline void
outq_copy(struct outq *q, const void *p, size_t len)
{
    char *dst = outq_reserve(q, len);

    if (dst != NULL) {
        memcpy(dst, p, len);
        outq_commit(q, len);
    }
}

/*
 * Queues len bytes at p by reference; p must stay valid until sent (see
 * outq_own).
 */
static inline void
outq_ref(struct outq *q, const void *p, size_t len)
{
    if (len > 0) {
        outq_push(q, p, len);
    }
}

/* True if an append since the last check failed; clears the flag. */
bool outq_failed(struct outq *q);

static inline size_t
outq_pending(const struct outq *q)
{
    return (size_t)(q->queued - q->sent);
}

/* The slow path of outq_mark() (outq.c). */
void outq_mark_add(struct outq *q, enum outq_mark_kind kind);

/* Records a boundary at the current end of the queue, if marking is on. */
static inline void
outq_mark(struct outq *q, enum outq_mark_kind kind)
{
    if (q->marking) {
        outq_mark_add(q, kind);
    }
}

/* Forgets the recorded marks (the caller has read q->marks). */
void outq_marks_clear(struct outq *q);

/*
 * Copies up to n pending bytes from the head of the queue into dst
 * without consuming them; returns how many. outq_sent() consumes.
 */
size_t outq_peek(const struct outq *q, void *dst, size_t n);

/*
 * The same from stream position pos (q->sent <= pos <= q->queued): copies
 * up to n of the pending bytes queued at or after pos. For logs; walks
 * the pending segments.
 */
size_t outq_peek_at(const struct outq *q, uint64_t pos, void *dst, size_t n);

/* Fills up to max iovecs from the head of the queue; returns how many. */
int outq_iov(const struct outq *q, struct iovec *iov, int max);

/* The part of outq_sent() that frees sent arena blocks (outq.c). */
void outq_release_blocks(struct outq *q);

/* The part of outq_sent() that releases owners whose bytes are sent. */
void outq_release_owners(struct outq *q);

/*
 * Marks n bytes from the head as written, freeing arena blocks and
 * releasing the owners whose bytes are gone. Inline: the connection
 * calls it after every write; with no owner pending, owners cost one test.
 * Forced inline: LTO would otherwise call it out of line from flush().
 */
__attribute__((always_inline)) static inline void
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
    if (q->nowners > 0) {
        outq_release_owners(q);
    }
    outq_release_blocks(q);
}
