#include "lib/buf.h"

#include <stdlib.h>
#include <string.h>

/*
 * Buffers start on a cache line: the parsers scan them with memchr, whose
 * vector loop then starts aligned, so a request costs the same whatever
 * the heap's layout (callgrind showed up to 100 instructions of swing per
 * request between builds that differed only in where malloc put it).
 */
#define BUF_ALIGN 64

static char *
alloc_aligned(size_t cap)
{
    return aligned_alloc(BUF_ALIGN,
                         (cap + BUF_ALIGN - 1) / BUF_ALIGN * BUF_ALIGN);
}

enum buf_status
buf_init(struct buf *b, size_t cap)
{
    b->data = alloc_aligned(cap);
    b->cap = b->data != NULL ? cap : 0;
    b->rpos = 0;
    b->wpos = 0;
    return b->data != NULL ? BUF_OK : BUF_NO_MEMORY;
}

void
buf_deinit(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->cap = 0;
    b->rpos = 0;
    b->wpos = 0;
}

void
buf_consume(struct buf *b, size_t n)
{
    b->rpos += n;
    if (b->rpos == b->wpos) {
        b->rpos = 0;
        b->wpos = 0;
    }
}

enum buf_status
buf_reserve(struct buf *b, size_t n)
{
    size_t rlen = buf_rlen(b);

    if (buf_wlen(b) >= n) {
        return BUF_OK;
    }
    if (b->rpos > 0) {
        memmove(b->data, b->data + b->rpos, rlen);
        b->rpos = 0;
        b->wpos = rlen;
        if (buf_wlen(b) >= n) {
            return BUF_OK;
        }
    }
    size_t cap = b->cap > 0 ? b->cap : 64;
    while (cap < rlen + n) {
        cap *= 2;
    }
    char *data = alloc_aligned(cap);
    if (data == NULL) {
        return BUF_NO_MEMORY;
    }
    if (rlen > 0) {
        memcpy(data, b->data + b->rpos, rlen);
    }
    free(b->data);
    b->data = data;
    b->cap = cap;
    b->rpos = 0;
    b->wpos = rlen;
    return BUF_OK;
}

void
buf_shrink(struct buf *b, size_t cap)
{
    if (b->cap <= cap || buf_rlen(b) != 0) {
        return;
    }
    char *data = alloc_aligned(cap);
    if (data != NULL) {
        free(b->data);
        b->data = data;
        b->cap = cap;
    }
    b->rpos = 0;
    b->wpos = 0;
}
