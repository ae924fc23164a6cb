/*
 * item - the layout of one cached key/value and the helpers that read it.
 * An item lives in slab memory (slab.h); item.c creates it from slab
 * chunks (evicting through lru.c when a class is full) and destroys it
 * when its last reference goes. Which lock guards which field is noted
 * beside each field; the rules are in engine_internal.h.
 *
 * Called only from inside engine/.
 *
 * An ordinary item is one chunk:
 *
 *   0        8        16       24     28     32     36   38   39   40
 *   +--------+--------+--------+------+------+------+----+----+----+
 *   | h_next | prev   | next   |exptim| time |nbytes|refs|nkey|iflg|
 *   +--------+--------+--------+------+------+------+----+----+----+
 *   40
 *   +-----------+-----------+-----+-------------+
 *   | cas (8)   | flags (4) | key | value       |
 *   +-----------+-----------+-----+-------------+
 *     only with   only if     no    raw bytes,
 *     ITEM_CAS    flags != 0  NUL   no CRLF
 *
 * so an item takes 40 + (cas ? 8 : 0) + (flags ? 4 : 0) + nkey + nbytes
 * bytes, rounded up to its slab class's chunk size. The slab class is not
 * stored: slab_class_of() finds it from the 1 MiB page the chunk is in.
 * Example: key 30 B, value 16 B, CAS on, flags 0 -> 94 bytes, class 1
 * (96-byte chunk); memcached needs 48 + 8 + 31 + 18 = 105 -> 120.
 *
 * A chunked item (ITEM_CHUNKED: too big for the largest chunk) keeps the
 * same header, cas, flags and key in a header chunk, followed by a table
 * of value segments; each segment is a separate data chunk of raw value
 * bytes (no header), seg_size bytes long except the last:
 *
 *   +--------+-----+-----+-----+-----+------+----------+--------+-----+
 *   | header | cas |flags| key | pad | nseg | seg_size | segs[0]| ... |
 *   +--------+-----+-----+-----+-----+------+----------+--------+-----+
 *                              to 8   u32     u32       struct slice
 *
 * The table doubles as the item_view's segment list. Data chunks come
 * from the largest class (the last one from the smallest class that fits
 * it, when that class has room), and the item sits on the LRU of the
 * largest class.
 */
#pragma once

#include "engine/engine.h"
#include "lib/slice.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct engine;

/* iflags bits. */
#define ITEM_LINKED  0x01u /* in the hash table and an LRU */
#define ITEM_CAS     0x02u /* has a cas field (CAS enabled at creation) */
#define ITEM_CFLAGS  0x04u /* has a client flags field (flags != 0) */
#define ITEM_CHUNKED 0x08u /* value lives in separate data chunks */
#define ITEM_FETCHED 0x10u /* read at least once since it was stored */
#define ITEM_ACTIVE  0x20u /* read since the LRU last looked (CLOCK bit) */

/* memcached's item header size, used for its "too large" formula. */
#define ITEM_MEMCACHED_HEADER 48
#define ITEM_KEY_MAX          250
/* Pins beyond this fail (a lookup then misses) rather than overflow. */
#define ITEM_REFCOUNT_MAX     65000

struct item {
    struct item *h_next;       /* hash chain; stripe lock */
    struct item *prev;         /* LRU, towards the head; class lock */
    struct item *next;         /* LRU, towards the tail; class lock */
    uint32_t exptime;          /* rel_time it dies at, 0 = never; stripe */
    uint32_t time;             /* rel_time of last store/bump; stripe */
    uint32_t nbytes;           /* value length; fixed once created */
    _Atomic uint16_t refcount; /* 1 while linked, + 1 per pin */
    uint8_t nkey;              /* fixed once created */
    _Atomic uint8_t iflags;    /* ITEM_*; atomic bit operations */
    char data[];               /* [cas][flags] key value-or-table */
};

_Static_assert(sizeof(struct item) == 40, "item header must stay 40 bytes");

/* The segment table of a chunked item. */
struct item_chunks {
    uint32_t nseg;
    uint32_t seg_size; /* bytes in every segment but the last */
    struct slice segs[];
};

static inline unsigned
item_iflags(const struct item *it)
{
    return atomic_load_explicit(&it->iflags, memory_order_relaxed);
}

static inline bool
item_has(const struct item *it, unsigned flag)
{
    return (item_iflags(it) & flag) != 0;
}

static inline void
item_set_iflags(struct item *it, unsigned flags)
{
    atomic_fetch_or_explicit(&it->iflags, (uint8_t)flags, memory_order_relaxed);
}

static inline void
item_clear_iflags(struct item *it, unsigned flags)
{
    atomic_fetch_and_explicit(&it->iflags, (uint8_t)~flags,
                              memory_order_relaxed);
}

/* Bytes between the header and the key. */
static inline size_t
item_prefix_len(unsigned iflags)
{
    return ((iflags & ITEM_CAS) ? 8 : 0) + ((iflags & ITEM_CFLAGS) ? 4 : 0);
}

static inline const char *
item_key(const struct item *it)
{
    return it->data + item_prefix_len(item_iflags(it));
}

static inline uint64_t
item_cas(const struct item *it)
{
    uint64_t cas = 0;
    if (item_has(it, ITEM_CAS)) {
        memcpy(&cas, it->data, sizeof(cas));
    }
    return cas;
}

static inline void
item_set_cas(struct item *it, uint64_t cas)
{
    if (item_has(it, ITEM_CAS)) {
        memcpy(it->data, &cas, sizeof(cas));
    }
}

static inline uint32_t
item_flags(const struct item *it)
{
    uint32_t flags = 0;
    unsigned f = item_iflags(it);
    if (f & ITEM_CFLAGS) {
        memcpy(&flags, it->data + ((f & ITEM_CAS) ? 8 : 0), sizeof(flags));
    }
    return flags;
}

/*
 * The item's bytes as writable memory. Items are never const objects;
 * readers get const pointers only to say "do not write while pinned".
 */
static inline char *
item_mem(const struct item *it)
{
    return (char *)(uintptr_t)it;
}

/* The value of an ordinary (not chunked) item. */
static inline char *
item_value(const struct item *it)
{
    return item_mem(it) + sizeof(struct item) +
           item_prefix_len(item_iflags(it)) + it->nkey;
}

/* Offset of the segment table from the item start (8-aligned). */
static inline size_t
item_chunks_offset(size_t prefix_len, size_t nkey)
{
    return (sizeof(struct item) + prefix_len + nkey + 7) & ~(size_t)7;
}

static inline struct item_chunks *
item_chunks(const struct item *it)
{
    size_t off = item_chunks_offset(item_prefix_len(item_iflags(it)), it->nkey);
    return (struct item_chunks *)(void *)(item_mem(it) + off);
}

static inline bool
item_is_expired(const struct item *it, uint32_t now)
{
    return it->exptime != 0 && it->exptime <= now;
}

/*
 * The size memcached would give this item (see engine.h): what the
 * "too large" check and the `bytes` stat use, whatever our real layout.
 */
static inline size_t
item_memcached_size(size_t nkey, size_t nbytes, bool has_flags, bool has_cas)
{
    return ITEM_MEMCACHED_HEADER + nkey + 1 + (has_flags ? 4 : 0) + nbytes + 2 +
           (has_cas ? 8 : 0);
}

static inline size_t
item_msize(const struct item *it)
{
    unsigned f = item_iflags(it);
    return item_memcached_size(it->nkey, it->nbytes, f & ITEM_CFLAGS,
                               f & ITEM_CAS);
}

/*
 * Allocates an unlinked item with refcount 1 (the caller's pin): header,
 * cas slot, flags and key filled in, value bytes uninitialised.
 * `exptime` is already a rel_time. Returns ENGINE_OK, ENGINE_TOO_LARGE
 * (key over ITEM_KEY_MAX, does not fit item_size_max, or a chunk table
 * too big for the largest class: only with a tiny slab_chunk_max)
 * or ENGINE_NO_MEMORY (nothing could be freed). May evict; call with no
 * class lock held (a stripe lock is fine).
 */
enum engine_status item_create(struct engine *e, struct slice key,
                               uint32_t flags, uint32_t exptime, size_t nbytes,
                               struct item **out);

/*
 * Returns every chunk of an item whose refcount reached 0 to its slab
 * class. `held` is the id of a class lock the caller holds (0 if none);
 * see engine_internal.h for why at most one is ever held.
 */
void item_destroy(struct engine *e, struct item *it, unsigned held);

/* Takes a pin; false (no pin taken) if the count is saturated. */
static inline bool
item_ref(struct item *it)
{
    uint16_t n =
        atomic_fetch_add_explicit(&it->refcount, 1, memory_order_relaxed);
    if (n >= ITEM_REFCOUNT_MAX) {
        atomic_fetch_sub_explicit(&it->refcount, 1, memory_order_relaxed);
        return false;
    }
    return true;
}

/*
 * Drops a reference (a pin or the link); the last one destroys the item.
 * Release ordering publishes the dropper's reads of the value before a
 * writer that sees the lower count reuses or rewrites the memory.
 */
static inline void
item_unref(struct engine *e, struct item *it, unsigned held)
{
    if (atomic_fetch_sub_explicit(&it->refcount, 1, memory_order_acq_rel) ==
        1) {
        item_destroy(e, it, held);
    }
}

/* The LRU (class id) the item belongs to while linked. */
unsigned item_lru_id(const struct engine *e, const struct item *it);

/*
 * The value as segments: one (in *one) for an ordinary item, the chunk
 * table for a chunked one. Returns the segment count.
 */
size_t item_segments(const struct item *it, struct slice *one,
                     const struct slice **segs);

/* The writable run of value bytes at `off` (to the end of its segment). */
struct wslice item_wslice(struct item *it, size_t off);

/* Copies len bytes from p into dst's value starting at byte `off`. */
void item_write(struct item *dst, size_t off, const char *p, size_t len);

/* Copies src's whole value into dst's value starting at byte `off`. */
void item_copy_value(struct item *dst, size_t off, const struct item *src);
