#include "lib/logbuf.h"

#include <stdlib.h>
#include <string.h>

#define LOGBUF_HDR 4

int
logbuf_init(struct logbuf *b, size_t cap)
{
    size_t c = 2 * LOGBUF_ENTRY_MAX;

    while (c < cap) {
        c *= 2;
    }
    memset(b, 0, sizeof(*b));
    b->data = malloc(c);
    if (b->data == NULL) {
        return -1;
    }
    b->cap = c;
    return 0;
}

void
logbuf_deinit(struct logbuf *b)
{
    free(b->data);
    b->data = NULL;
}

/* Copies len bytes to ring position pos, wrapping at the end. */
static void
copy_in(struct logbuf *b, uint64_t pos, const void *src, size_t len)
{
    size_t off = (size_t)(pos & (b->cap - 1));
    size_t first = b->cap - off < len ? b->cap - off : len;

    memcpy(b->data + off, src, first);
    memcpy(b->data, (const char *)src + first, len - first);
}

static void
copy_out(const struct logbuf *b, uint64_t pos, void *dst, size_t len)
{
    size_t off = (size_t)(pos & (b->cap - 1));
    size_t first = b->cap - off < len ? b->cap - off : len;

    memcpy(dst, b->data + off, first);
    memcpy((char *)dst + first, b->data, len - first);
}

bool
logbuf_put(struct logbuf *b, uint16_t type, const char *line, size_t len)
{
    uint64_t tail = atomic_load_explicit(&b->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&b->head, memory_order_acquire);

    if (len > LOGBUF_ENTRY_MAX ||
        b->cap - (size_t)(tail - head) < LOGBUF_HDR + len) {
        atomic_store_explicit(
            &b->dropped,
            atomic_load_explicit(&b->dropped, memory_order_relaxed) + 1,
            memory_order_relaxed);
        return false;
    }
    uint16_t hdr[2] = {(uint16_t)len, type};
    copy_in(b, tail, hdr, LOGBUF_HDR);
    copy_in(b, tail + LOGBUF_HDR, line, len);
    atomic_store_explicit(&b->tail, tail + LOGBUF_HDR + len,
                          memory_order_release);
    atomic_store_explicit(
        &b->written,
        atomic_load_explicit(&b->written, memory_order_relaxed) + 1,
        memory_order_relaxed);
    return true;
}

size_t
logbuf_take(struct logbuf *b, uint16_t *type, char *out)
{
    uint64_t head = atomic_load_explicit(&b->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&b->tail, memory_order_acquire);
    uint16_t hdr[2];

    if (head == tail) {
        return 0;
    }
    copy_out(b, head, hdr, LOGBUF_HDR);
    copy_out(b, head + LOGBUF_HDR, out, hdr[0]);
    *type = hdr[1];
    atomic_store_explicit(&b->head, head + LOGBUF_HDR + hdr[0],
                          memory_order_release);
    return hdr[0];
}
