#include "cmd/detail.h"

#include "lib/outq.h"
#include "proto/text.h"

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/*
 * The table is memcached's shape, because a dump lists prefixes in the
 * order memcached walks its own: bucket by bucket, 0 to 255, where a
 * prefix's bucket is murmur3_32(prefix) % 256, and within a bucket the
 * newest prefix first. Chains stay short: at most
 * CMD_DETAIL_PREFIXES_MAX / 256 entries each on average.
 *
 *   buckets[b] -> prefix -> prefix -> NULL     (newest first)
 *   prefix:  next | gets hits sets dels | len | bytes[len]
 */
#define DETAIL_BUCKETS 256

struct prefix {
    struct prefix *next;
    uint64_t gets;
    uint64_t hits;
    uint64_t sets;
    uint64_t dels;
    size_t len;
    char bytes[];
};

struct cmd_detail {
    pthread_mutex_t lock; /* guards everything below */
    size_t nprefixes;
    uint64_t dropped;
    struct prefix *buckets[DETAIL_BUCKETS];
    char delimiter; /* read-only after create */
};

/*
 * MurmurHash3 x86_32 with seed 0 (Austin Appleby's public domain
 * algorithm), the hash memcached 1.6.18 uses by default. Here it decides
 * only the dump order, never correctness.
 */
static uint32_t
rotl32(uint32_t x, int r)
{
    return (x << r) | (x >> (32 - r));
}

static uint32_t
mix_k(uint32_t k)
{
    k *= 0xcc9e2d51u;
    k = rotl32(k, 15);
    return k * 0x1b873593u;
}

static uint32_t
murmur3_32(const unsigned char *p, size_t len)
{
    uint32_t h = 0;
    size_t nblocks = len / 4;

    for (size_t i = 0; i < nblocks; i++) {
        uint32_t k = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
                     (uint32_t)p[4 * i + 2] << 16 |
                     (uint32_t)p[4 * i + 3] << 24;
        h ^= mix_k(k);
        h = rotl32(h, 13);
        h = h * 5 + 0xe6546b64u;
    }
    /* The last 1 to 3 bytes, little-endian, mixed without rotate-add. */
    const unsigned char *tail = p + 4 * nblocks;
    uint32_t k = 0;
    for (size_t i = len & 3; i > 0; i--) {
        k = k << 8 | tail[i - 1];
    }
    if ((len & 3) != 0) {
        h ^= mix_k(k);
    }
    h ^= (uint32_t)len;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

struct cmd_detail *
cmd_detail_create(char delimiter)
{
    struct cmd_detail *d = calloc(1, sizeof(*d));

    if (d == NULL) {
        return NULL;
    }
    if (pthread_mutex_init(&d->lock, NULL) != 0) {
        free(d);
        return NULL;
    }
    d->delimiter = delimiter;
    return d;
}

/* Frees every prefix; the caller holds the lock (or is the only user). */
static void
clear_locked(struct cmd_detail *d)
{
    for (size_t b = 0; b < DETAIL_BUCKETS; b++) {
        struct prefix *p = d->buckets[b];
        while (p != NULL) {
            struct prefix *next = p->next;
            free(p);
            p = next;
        }
        d->buckets[b] = NULL;
    }
    d->nprefixes = 0;
    d->dropped = 0;
}

void
cmd_detail_destroy(struct cmd_detail *d)
{
    if (d == NULL) {
        return;
    }
    clear_locked(d);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

/* The prefix's entry, created if there is room; NULL when there is not. */
static struct prefix *
find_locked(struct cmd_detail *d, struct prefix **bucket, struct slice pre)
{
    for (struct prefix *p = *bucket; p != NULL; p = p->next) {
        if (p->len == pre.len &&
            (pre.len == 0 || memcmp(p->bytes, pre.ptr, pre.len) == 0)) {
            return p;
        }
    }
    if (d->nprefixes >= CMD_DETAIL_PREFIXES_MAX) {
        return NULL;
    }
    struct prefix *p = calloc(1, sizeof(*p) + pre.len);
    if (p == NULL) {
        return NULL;
    }
    if (pre.len > 0) {
        memcpy(p->bytes, pre.ptr, pre.len);
    }
    p->len = pre.len;
    p->next = *bucket;
    *bucket = p;
    d->nprefixes++;
    return p;
}

void
cmd_detail_record(struct cmd_detail *d, struct slice key, enum cmd_detail_op op)
{
    if (d == NULL || key.len == 0) {
        return;
    }
    /* Text keys hold no NUL (a NUL ends the command line). */
    const char *end = memchr(key.ptr, d->delimiter, key.len);
    if (end == NULL) {
        return;
    }
    struct slice pre = slice_make(key.ptr, (size_t)(end - key.ptr));
    assert(pre.len <= CMD_DETAIL_PREFIX_MAX);
    uint32_t b =
        murmur3_32((const unsigned char *)pre.ptr, pre.len) % DETAIL_BUCKETS;

    pthread_mutex_lock(&d->lock);
    struct prefix *p = find_locked(d, &d->buckets[b], pre);
    if (p == NULL) {
        d->dropped++;
    } else {
        switch (op) {
        case CMD_DETAIL_HIT:
            p->hits++;
            p->gets++;
            break;
        case CMD_DETAIL_GET:
            p->gets++;
            break;
        case CMD_DETAIL_SET:
            p->sets++;
            break;
        case CMD_DETAIL_DEL:
            p->dels++;
            break;
        }
    }
    pthread_mutex_unlock(&d->lock);
}

size_t
cmd_detail_dump(struct cmd_detail *d, cmd_detail_fn fn, void *ctx)
{
    size_t n = 0;

    if (d == NULL) {
        return 0;
    }
    pthread_mutex_lock(&d->lock);
    for (size_t b = 0; b < DETAIL_BUCKETS; b++) {
        for (const struct prefix *p = d->buckets[b]; p != NULL; p = p->next) {
            struct cmd_detail_line l = {
                .prefix = slice_make(p->bytes, p->len),
                .gets = p->gets,
                .hits = p->hits,
                .sets = p->sets,
                .dels = p->dels,
            };
            fn(ctx, &l);
            n++;
        }
    }
    pthread_mutex_unlock(&d->lock);
    return n;
}

void
cmd_detail_reset(struct cmd_detail *d)
{
    if (d == NULL) {
        return;
    }
    pthread_mutex_lock(&d->lock);
    clear_locked(d);
    pthread_mutex_unlock(&d->lock);
}

uint64_t
cmd_detail_dropped(struct cmd_detail *d)
{
    uint64_t n;

    if (d == NULL) {
        return 0;
    }
    pthread_mutex_lock(&d->lock);
    n = d->dropped;
    pthread_mutex_unlock(&d->lock);
    return n;
}

/* ---- stats detail --------------------------------------------------- */

static void
compose_line(void *ctx, const struct cmd_detail_line *l)
{
    text_compose_prefix(ctx, l->prefix, l->gets, l->hits, l->sets, l->dels);
}

void
cmd_detail_run(struct cmd_ctx *c, struct slice rest)
{
    struct cmd_server *srv = c->srv;
    struct slice arg = slice_make(NULL, 0);

    text_next_key(&rest, &arg);
    if (slice_eq_str(arg, "on") || slice_eq_str(arg, "off")) {
        atomic_store_explicit(&srv->detail_on, slice_eq_str(arg, "on"),
                              memory_order_relaxed);
        cmd_text_result(c, false, REPLY_OK);
    } else if (slice_eq_str(arg, "dump")) {
        /* memcached sends the dump without a -vv line */
        cmd_detail_dump(srv->detail, compose_line, c->out);
        text_compose_reply(c->out, TEXT_END);
    } else {
        cmd_text_reply(c, false, TEXT_DETAIL_USAGE);
    }
}
