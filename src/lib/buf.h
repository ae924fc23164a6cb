/*
 * buf - a growable byte buffer with a read and a write position.
 * Owns its memory. Not thread safe: each buffer belongs to one connection.
 *
 *   data                rpos              wpos             cap
 *   |  consumed bytes   | unread bytes    | free space     |
 *
 * Growth is explicit (buf_reserve) and bounded by the caller, so a
 * client can never make a buffer grow without limit.
 */
#pragma once

#include <stddef.h>

enum buf_status {
    BUF_OK = 0,
    BUF_NO_MEMORY,
};

struct buf {
    char *data;
    size_t cap;
    size_t rpos;
    size_t wpos;
};

enum buf_status buf_init(struct buf *b, size_t cap);
void buf_deinit(struct buf *b);

static inline size_t
buf_rlen(const struct buf *b)
{
    return b->wpos - b->rpos;
}

static inline size_t
buf_wlen(const struct buf *b)
{
    return b->cap - b->wpos;
}

static inline char *
buf_rptr(const struct buf *b)
{
    return b->data + b->rpos;
}

static inline char *
buf_wptr(const struct buf *b)
{
    return b->data + b->wpos;
}

/* Marks n unread bytes consumed; resets both positions when empty. */
void buf_consume(struct buf *b, size_t n);

/* Marks n bytes past wpos as written (after a read() into buf_wptr). */
static inline void
buf_commit(struct buf *b, size_t n)
{
    b->wpos += n;
}

/*
 * Makes room for at least n writable bytes: first by moving unread bytes
 * to the front, then by growing to at least rlen + n. Never shrinks.
 */
enum buf_status buf_reserve(struct buf *b, size_t n);

/* Shrinks an empty buffer back to cap bytes if it grew beyond that. */
void buf_shrink(struct buf *b, size_t cap);
