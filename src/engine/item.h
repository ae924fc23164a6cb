/*
 * item - the layout of one cached key/value and the helpers that read it.
 * An item lives in slab memory (slab.h); item.c creates it from slab
 * chunks (evicting or stealing a page through lru.c when a class is full)
 * and destroys it when its last reference goes. Which lock guards which
 * field is noted beside each field; the rules are in engine_internal.h.
 *
 * Called only from inside engine/.
 *
 * An ordinary item is one chunk:
 *
 *   0        8      12     16        20     22   23   24
 *   +--------+------+------+---------+------+----+----+
 *   | h_next |exptim| time |nbytes:30| refs |nkey|iflg|
 *   |        |      |      |flen:2   |      |    |    |
 *   +--------+------+------+---------+------+----+----+
 *   24
 *   +---------+-------------+-----+-------------+
 *   | cas (8) | flags 0-4   | key | value       |
 *   +---------+-------------+-----+-------------+
 *     only with  0, 1, 2 or 4   no    raw bytes,
 *     ITEM_CAS   bytes (flen)   NUL   no CRLF
 *
 * exptim also holds two meta-protocol bits (stale, token sent) in its
 * top bits, see item_exptime(); iflags has ITEM_BINKEY for keys stored
 * in base64 by meta commands.
 *
 * so an item takes 24 + (cas ? 8 : 0) + flags bytes + nkey + nbytes,
 * rounded up to its slab class's chunk size. Client flags take the fewest
 * bytes that hold them: none for 0, 1 below 256, 2 below 65536, else 4.
 * There is no LRU link: eviction is CLOCK over the class's chunks
 * (lru.h), so an item needs only its hash chain pointer. The slab class
 * is not stored either: slab_class_of() finds it from the 1 MiB page.
 *
 * Per-item cost with CAS on, key 30 B, 16-bit flags (2 bytes), 8-byte
 * hash bucket pointers at 1-2 items per bucket (hashtable.h), fine class
 * table (slab.h):
 *
 *   value   item size  chunk  rounding  overhead/item      memcached
 *   16 B    80         80     0         34 + 4..8 (table)  74 + 5..11
 *   100 B   164        168    4         38 + 4..8          110 + 5..11
 *   1 KiB   1088       1088   0         34 + 4..8          130 + 5..11
 *
 * ("overhead" = everything but key and value bytes.)
 *
 * The iflags byte (offset 23) also tells the CLOCK hand about chunks that
 * hold no item; their other header bytes mean something else:
 *
 *   free chunk (slab.h)                last segment of a chunked item
 *   0      8      16         23 24     0       8          23   24
 *   +------+------+-- .. ---+----+     +-------+-- .. ---+----+--------+
 *   | next | prev |         |FREE|     | owner |         |DATA| value..|
 *   +------+------+-- .. ---+----+     +-------+-- .. ---+----+--------+
 *   free-list links, under             the chunked item's header chunk,
 *   the class lock                     set under the class lock
 *
 * A chunked item (ITEM_CHUNKED: too big for the largest chunk) keeps the
 * same header, cas, flags and key in a header chunk, followed by a table
 * of value segments:
 *
 *   +--------+-----+-----+-----+-----+------+----------+--------+-----+
 *   | header | cas |flags| key | pad | nseg | seg_size | segs[0]| ... |
 *   +--------+-----+-----+-----+-----+------+----------+--------+-----+
 *                              to 8   u32     u32       struct slice
 *
 * The table doubles as the item_view's segment list. Every segment but
 * the last is a whole chunk of the largest class (raw value bytes; the
 * class's owner table, slab.h, names the header chunk as their owner).
 * The last segment comes from the smallest class that holds it plus a
 * 24-byte data header (ITEM_DATA, h_next = the owner; the segment starts
 * after it), or is a whole largest-class chunk when no smaller class
 * fits or has room. The item is counted in, and evicted by, the largest
 * class (lru.h).
 */
#pragma once

#include "engine/engine.h"
#include "engine/slab.h"
#include "lib/slice.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct engine;
struct reclaim;

/* iflags bits. */
#define ITEM_LINKED  0x01u /* in the hash table */
#define ITEM_CAS     0x02u /* has a cas field (CAS enabled at creation) */
#define ITEM_CHUNKED 0x04u /* value lives in separate data chunks */
#define ITEM_FETCHED 0x08u /* read at least once since it was stored */
#define ITEM_ACTIVE  0x10u /* read since its segment was last judged */
#define ITEM_DATA    0x20u /* not an item: a chunked item's last segment */
#define ITEM_BINKEY  0x40u /* stored by a meta command with a base64 key */
#define ITEM_FREE    SLAB_MARK_FREE /* on its class's free list (slab.h) */

/* memcached's item header size, used for its "too large" formula. */
#define ITEM_MEMCACHED_HEADER 48
#define ITEM_KEY_MAX          250
/* Pins beyond this fail (a lookup then misses) rather than overflow. */
#define ITEM_REFCOUNT_MAX     65000

struct item {
    struct item *h_next;       /* hash chain; stripe lock */
    _Atomic uint32_t exptime;  /* rel_time it dies at, 0 = never; stripe */
    _Atomic uint32_t time;     /* rel_time of last store/bump; stripe */
    uint32_t nbytes : 30;      /* value length; fixed once created */
    uint32_t flen : 2;         /* client flags size code; fixed */
    _Atomic uint16_t refcount; /* 1 while linked, + 1 per pin */
    uint8_t nkey;              /* fixed once created */
    _Atomic uint8_t iflags;    /* ITEM_*; atomic bit operations */
    char data[];               /* [cas][flags] key value-or-table */
};

_Static_assert(sizeof(struct item) == 24, "item header must stay 24 bytes");
_Static_assert(offsetof(struct item, iflags) == SLAB_MARK_OFFSET,
               "the slab's free mark must be the iflags byte");
_Static_assert(sizeof(struct item) >= SLAB_CHUNK_MIN,
               "a chunk must hold a free-list link and the mark");

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

/* The bytes the client flags take for a flen code, and the code. */
static inline size_t
item_flags_len(unsigned flen)
{
    return flen == 3 ? 4 : flen;
}

static inline unsigned
item_flen_for(uint32_t flags)
{
    if (flags == 0) {
        return 0;
    }
    return flags < 0x100u ? 1 : flags < 0x10000u ? 2 : 3;
}

/* Bytes between the header and the key. */
static inline size_t
item_prefix_len(const struct item *it)
{
    return (item_has(it, ITEM_CAS) ? 8 : 0) + item_flags_len(it->flen);
}

static inline const char *
item_key(const struct item *it)
{
    return it->data + item_prefix_len(it);
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

/* Little-endian, in as many bytes as flen says. */
static inline uint32_t
item_flags(const struct item *it)
{
    const unsigned char *p =
        (const unsigned char *)it->data + (item_has(it, ITEM_CAS) ? 8 : 0);
    uint32_t flags = 0;

    for (size_t i = item_flags_len(it->flen); i > 0; i--) {
        flags = flags << 8 | p[i - 1];
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
    return item_mem(it) + sizeof(struct item) + item_prefix_len(it) + it->nkey;
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
    size_t off = item_chunks_offset(item_prefix_len(it), it->nkey);
    return (struct item_chunks *)(void *)(item_mem(it) + off);
}

/*
 * exptime and time are written under the stripe lock but are relaxed
 * atomics, so that the CLOCK hand may glance at them without it (to skip
 * the lock for an item that is plainly alive).
 *
 * The exptime word also carries the two meta-protocol state bits
 * (docs/COMPAT.md#meta-get-mg), changed only under the stripe lock: an expiry
 * needs 30 bits (rel_time clamps there: 34 years), so the top two are
 * free and the header stays 24 bytes.
 */
#define ITEM_EXP_MASK  0x3fffffffu
#define ITEM_EXP_STALE 0x80000000u /* invalidated (md I, ms C.. I) */
#define ITEM_EXP_TOKEN 0x40000000u /* a client was sent the W token */

static inline uint32_t
item_exptime(const struct item *it)
{
    return atomic_load_explicit(&it->exptime, memory_order_relaxed) &
           ITEM_EXP_MASK;
}

/* Replaces the expiry, keeping the state bits. */
static inline void
item_set_exptime(struct item *it, uint32_t exptime)
{
    uint32_t old = atomic_load_explicit(&it->exptime, memory_order_relaxed);
    atomic_store_explicit(&it->exptime,
                          (old & ~ITEM_EXP_MASK) | (exptime & ITEM_EXP_MASK),
                          memory_order_relaxed);
}

static inline bool
item_has_state(const struct item *it, uint32_t bit)
{
    return (atomic_load_explicit(&it->exptime, memory_order_relaxed) & bit) !=
           0;
}

static inline void
item_set_state(struct item *it, uint32_t bit, bool on)
{
    if (on) {
        atomic_fetch_or_explicit(&it->exptime, bit, memory_order_relaxed);
    } else {
        atomic_fetch_and_explicit(&it->exptime, ~bit, memory_order_relaxed);
    }
}

/*
 * The time word also carries the item's LRU segment (lru.h) in its top
 * two bits: a rel_time needs 30 bits (34 years). Both change only under
 * the item's stripe lock once it is linked (before that, only its
 * creator writes them), so a plain load and store keep each other's
 * bits; the CLOCK hand reads the word without the lock.
 */
#define ITEM_TIME_MASK 0x3fffffffu
#define ITEM_SEG_SHIFT 30

/* In enum engine_seg's order, so that engine_item_seg() is a cast. */
enum item_seg {
    SEG_HOT = 0, /* probation: in its class's ring, not yet judged */
    SEG_WARM,    /* main area, read since the hand last passed */
    SEG_COLD,    /* main area, unread since it got there or was demoted */
    SEG_TEMP,    /* -o temporary_ttl: never evicted, only reclaimed */
};

static inline uint32_t
item_time(const struct item *it)
{
    return atomic_load_explicit(&it->time, memory_order_relaxed) &
           ITEM_TIME_MASK;
}

static inline void
item_set_time(struct item *it, uint32_t time)
{
    uint32_t old = atomic_load_explicit(&it->time, memory_order_relaxed);
    atomic_store_explicit(&it->time,
                          (old & ~ITEM_TIME_MASK) | (time & ITEM_TIME_MASK),
                          memory_order_relaxed);
}

static inline enum item_seg
item_seg(const struct item *it)
{
    return (enum item_seg)(
        atomic_load_explicit(&it->time, memory_order_relaxed) >>
        ITEM_SEG_SHIFT);
}

/* Sets the segment bits only (see above for who may). */
static inline void
item_set_seg(struct item *it, enum item_seg seg)
{
    uint32_t old = atomic_load_explicit(&it->time, memory_order_relaxed);
    atomic_store_explicit(
        &it->time, (old & ITEM_TIME_MASK) | ((uint32_t)seg << ITEM_SEG_SHIFT),
        memory_order_relaxed);
}

static inline bool
item_is_expired(const struct item *it, uint32_t now)
{
    uint32_t exptime = item_exptime(it);
    return exptime != 0 && exptime <= now;
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
    return item_memcached_size(it->nkey, it->nbytes, it->flen != 0,
                               item_has(it, ITEM_CAS));
}

/*
 * Allocates an unlinked item with refcount 1 (the caller's pin): header,
 * cas slot, flags and key filled in, value bytes uninitialised.
 * `exptime` is already a rel_time. Returns ENGINE_OK, ENGINE_TOO_LARGE
 * (key over ITEM_KEY_MAX, does not fit item_size_max, or a chunk table
 * too big for the largest class: only with a tiny slab_chunk_max),
 * ENGINE_NO_MEMORY (nothing could be freed) or ENGINE_NO_MEMORY_DATA
 * (a chunked item's header, but not all its segments). May evict or steal a
 * page; call with no class lock held (a stripe lock is fine).
 */
enum engine_status item_create(struct engine *e, struct slice key,
                               uint32_t flags, uint32_t exptime, size_t nbytes,
                               struct item **out);

/*
 * Returns every chunk of an item whose refcount reached 0 to its slab
 * class. `r` (NULL if the caller holds no class lock) says which class
 * lock the caller holds: chunks of that class are freed at once, and an
 * item with chunks elsewhere is queued on r and freed by
 * item_reclaim_finish() once the lock is dropped (engine_internal.h).
 */
void item_destroy(struct engine *e, struct item *it, struct reclaim *r);

/* Frees what item_destroy() queued on r. Call with no class lock held. */
void item_reclaim_finish(struct engine *e, struct reclaim *r);

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
item_unref(struct engine *e, struct item *it, struct reclaim *r)
{
    if (atomic_fetch_sub_explicit(&it->refcount, 1, memory_order_acq_rel) ==
        1) {
        item_destroy(e, it, r);
    }
}

/* The class whose counters and CLOCK the item belongs to while linked. */
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
