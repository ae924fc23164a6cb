/*
 * engine - the cache: items, hash table, slab memory, LRU, expiry, CAS and
 * the server clock. Owns all item memory. Shared by every worker thread:
 * every function here is thread safe unless its comment says otherwise;
 * locking is internal (striped item locks + one mutex per slab class, see
 * engine_internal.h). The engine never sees connections, sockets or wire
 * bytes: values are stored raw (no CRLF), and callers format replies.
 *
 * Called by cmd/ (request execution) and main.c (create, tick, destroy).
 *
 * Items handed out by engine_get(), engine_reserve() and friends are
 * pinned (reference counted): their memory stays valid and unchanged until
 * engine_release(), even if the key is deleted, replaced or evicted in the
 * meantime. A pinned item is never evicted or reused.
 */
#pragma once

#include "lib/slice.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct engine;
struct item;

/* memcached's limit on -o slab_sizes entries (its 63 classes, less one). */
#define ENGINE_MAX_SLAB_SIZES 62

enum engine_status {
    ENGINE_OK = 0,
    ENGINE_NOT_FOUND,  /* no such key (or it expired / was flushed) */
    ENGINE_EXPIRED,    /* engine_get only: miss because the item expired */
    ENGINE_FLUSHED,    /* engine_get only: miss because of flush_all */
    ENGINE_EXISTS,     /* cas mismatch */
    ENGINE_NOT_STORED, /* add on existing, replace/append/prepend on missing */
    ENGINE_TOO_LARGE,  /* item would exceed item_size_max */
    ENGINE_NO_MEMORY,  /* nothing could be evicted (or evictions disabled) */
    ENGINE_NOT_NUMBER, /* incr/decr on a value that is not a decimal u64 */
    /*
     * engine_reserve only: a chunked item got its header but not all its
     * value chunks, where memcached fails while reading the data ("Out
     * of memory during read"): not counted as outofmemory, and a set
     * keeps the old value.
     */
    ENGINE_NO_MEMORY_DATA,
};

/* One class an automatic crawl has done (engine_config.on_crawl). */
struct engine_crawled {
    unsigned cls;        /* memcached's class id of the class's items */
    uint32_t since_run;  /* seconds since the class's previous crawl */
    uint32_t next_run;   /* seconds until its next automatic crawl */
    uint64_t elapsed_us; /* how long the crawl took */
    uint64_t examined;   /* items looked at */
    uint64_t reclaimed;  /* dead items freed */
};

typedef void (*engine_crawl_fn)(void *ctx, const struct engine_crawled *c);

/* A live item evicted to make room (engine_config.on_evict). */
struct engine_evicted {
    struct slice key; /* valid during the call only */
    size_t nbytes;    /* value length */
    unsigned cls;     /* memcached's slab class id for this item */
    bool fetched;
    int64_t ttl; /* seconds it had left, -1 without expiry */
    uint32_t la; /* seconds since last store or touch */
};

typedef void (*engine_evict_fn)(void *ctx, const struct engine_evicted *ev);

/*
 * An automove decision (slab_automove 1): a page of memcached class src
 * goes to class dst (through the pool). Called by the evicting thread
 * with no engine lock held.
 */
typedef void (*engine_move_fn)(void *ctx, unsigned src, unsigned dst);

struct engine_config {
    size_t mem_limit;      /* -m, in bytes: item memory (slab pages) */
    size_t item_size_max;  /* -I, in bytes */
    size_t slab_chunk_max; /* largest slab chunk; bigger items are chained */
    size_t chunk_min;      /* -n: key+value+flags space of the first class */
    double growth_factor;  /* -f */
    bool cas_enabled;      /* false with -C: every CAS reads as 0 */
    bool evictions;        /* false with -M: a full cache fails stores */
    unsigned hashpower;    /* initial table size 2^hashpower (16) */
    bool hash_expand;      /* grow the table when it fills (default on) */
    /*
     * Slab class table: memcached's (-n and -f as memcached uses them)
     * when true; otherwise the engine's fine table, which ignores
     * chunk_min and growth_factor and wastes far less memory to rounding
     * (docs/ENGINE.md). Default false; main sets it when -n or -f is
     * given explicitly.
     */
    bool memcached_classes;
    /*
     * -o slab_sizes: an explicit class table (ascending chunk sizes, each
     * rounded up to 8, then a last class of slab_chunk_max, as memcached
     * builds it). Overrides both tables above when nslab_sizes > 0.
     */
    uint32_t slab_sizes[ENGINE_MAX_SLAB_SIZES];
    unsigned nslab_sizes;
    /*
     * -L: when nonzero (the kernel's huge page size), all of mem_limit is
     * reserved at create as one mapping aligned to it and hinted for
     * transparent huge pages; item pages are carved from it as needed.
     */
    size_t large_page_size;
    /*
     * Called for each live item evicted, by the thread that evicts,
     * under the item's stripe lock: it must be quick and must not call
     * the engine. NULL by default.
     */
    engine_evict_fn on_evict;
    void *on_evict_ctx;
    /*
     * The page mover (docs/ENGINE.md#the-page-mover): slab_reassign
     * allows moves at all (-o no_slab_reassign: no automove either);
     * slab_automove 0 = off, 1 = age-based rebalancing, 2 = a move on
     * every eviction; slab_automove_ratio scales mode 1's age test.
     * Defaults: on, 1, 0.8. Page stealing for the memory limit is always
     * on.
     */
    bool slab_reassign;
    unsigned slab_automove;
    double slab_automove_ratio;
    engine_move_fn on_move; /* NULL by default */
    void *on_move_ctx;
    /*
     * The LRU crawler (engine_crawler_* below): started by engine_create
     * when `crawler` is set (default off; main sets memcached's default,
     * on); its pause and its per-class budget. on_crawl, if set, hears of
     * each class an automatic crawl has done (the crawler thread calls it).
     */
    bool crawler;
    uint32_t crawler_sleep;   /* µs of pause per ENGINE_CRAWL_PER_SLEEP */
    uint32_t crawler_tocrawl; /* items per class per crawl; 0 = all */
    engine_crawl_fn on_crawl;
    void *on_crawl_ctx;
    /* The eviction policy's settings (engine_lru_tune below). */
    struct engine_lru_tune {
        bool segmented;         /* false: memcached's flat mode, plain CLOCK */
        unsigned hot_pct;       /* probation ring share of a class, % */
        unsigned warm_pct;      /* most WARM items may hold of a class, % */
        double hot_max_factor;  /* probation age limit, x the evict age */
        double warm_max_factor; /* WARM age limit, x the evict age */
        bool temp_lru;          /* -o temporary_ttl given */
        uint32_t temp_ttl;      /* TTLs up to this go to TEMP */
    } lru;
};

/*
 * What became of -L's reservation at engine_create. A failure leaves a
 * working engine that maps its pages one by one as without -L.
 */
enum engine_prealloc {
    ENGINE_PREALLOC_OFF = 0, /* large_page_size was 0 */
    ENGINE_PREALLOC_DONE,    /* mem_limit reserved and hinted */
    ENGINE_PREALLOC_NO_MAP,  /* the mapping failed; *err is its errno */
    ENGINE_PREALLOC_NO_HINT, /* MADV_HUGEPAGE failed; *err is its errno */
};

/* How engine_commit() links a reserved item. */
enum engine_store_mode {
    STORE_SET = 0,
    STORE_ADD,
    STORE_REPLACE,
    STORE_APPEND,
    STORE_PREPEND,
    STORE_CAS,
};

/*
 * What a caller may see of a pinned item. The value is `nbytes` bytes made
 * of `nseg` contiguous segments (one for ordinary items, several for
 * chunked large items). The bytes the slices point at are item memory,
 * valid while the item is pinned. `segs` itself points into item memory
 * for a chunked item, but at `one` (inside this view) for an ordinary
 * item, which keeps the 16 bytes of a slice out of every item header: so
 * do not copy a view and use the copy's segs; call engine_view() again.
 */
struct item_view {
    struct slice key;
    uint32_t flags; /* client flags */
    uint64_t cas;   /* 0 when CAS is disabled */
    size_t nbytes;
    size_t nseg;
    const struct slice *segs;
    struct slice one; /* storage behind segs when nseg == 1 (not chunked) */
};

/*
 * Fills the defaults memcached uses (-m 64 -I 1m -n 48 -f 1.25 ...), with
 * the engine's fine class table (memcached_classes false).
 */
void engine_config_default(struct engine_config *cfg);

/* NULL on failure (bad config or out of memory); logs nothing. */
struct engine *engine_create(const struct engine_config *cfg);
/* How -L's reservation went (see enum engine_prealloc). */
enum engine_prealloc engine_prealloc_status(const struct engine *e, int *err);
/* Stops background threads and frees everything. Accepts NULL. */
void engine_destroy(struct engine *e);

/*
 * The server clock. `now` is in seconds since the engine's epoch, which
 * is (process start - 62 s) as in memcached, so that uptime starts near 2.
 * engine_tick() re-reads the monotonic clock; main/net call it once a
 * second from a timer. engine_now() is a relaxed atomic load.
 */
void engine_tick(struct engine *e);
uint32_t engine_now(const struct engine *e);
/* Unix time at the engine epoch (stats: time = epoch_unix + now). */
int64_t engine_epoch_unix(const struct engine *e);

/*
 * Lookup. On ENGINE_OK *out is pinned; on a miss the status says why
 * (ENGINE_NOT_FOUND, ENGINE_EXPIRED, ENGINE_FLUSHED). A hit marks the item
 * fetched and accessed (LRU).
 */
enum engine_status engine_get(struct engine *e, struct slice key,
                              struct item **out);

/*
 * gat/gats: like engine_get, and also replaces the expiry with `exptime`
 * (wire value: 0, relative seconds, absolute Unix time or negative).
 */
enum engine_status engine_get_touch(struct engine *e, struct slice key,
                                    int64_t exptime, struct item **out);

void engine_release(struct engine *e, struct item *it);

/* Fills *v for a pinned item. */
void engine_view(const struct item *it, struct item_view *v);

/*
 * Two-phase store. engine_reserve() allocates an unlinked item for key
 * with room for nbytes of value (possibly evicting). The caller fills the
 * value through engine_wslice() and then calls engine_commit() or
 * engine_abort(), which consume the pin either way.
 *
 * Failures: ENGINE_TOO_LARGE (the item would exceed item_size_max, or
 * the key is longer than 250 bytes), ENGINE_NO_MEMORY and
 * ENGINE_NO_MEMORY_DATA. For STORE_SET, the first two also unlink any
 * existing item with that key, as memcached does (stale data must not
 * survive a failed set); memcached keeps it when a chunked value's data
 * chunks run out, and so do we.
 *
 * The "too large" test uses memcached's own item size formula (48-byte
 * header + key + 1 + flags? 4 + value + 2 + cas? 8) so that exactly the
 * same values are accepted as by memcached, whatever our real layout.
 */
enum engine_status engine_reserve(struct engine *e, enum engine_store_mode mode,
                                  struct slice key, uint32_t flags,
                                  int64_t exptime, size_t nbytes,
                                  struct item **out);

/*
 * The writable run of value bytes that starts at offset `off` of a
 * reserved item (up to the end of its segment). len == 0 once off ==
 * nbytes.
 */
struct wslice engine_wslice(struct item *it, size_t off);

/*
 * Links a reserved, fully written item according to mode. `cas` is the
 * client's unique for STORE_CAS (ignored otherwise). Returns ENGINE_OK
 * (stored), ENGINE_NOT_STORED, ENGINE_EXISTS or ENGINE_NOT_FOUND (cas on a
 * missing key). Append/prepend keep the old item's flags and expiry; if
 * the combined item cannot be allocated the result is ENGINE_NOT_STORED.
 * On success *cas_out (may be NULL) receives the new CAS unique.
 * Releases the reservation's pin in every case.
 */
enum engine_status engine_commit(struct engine *e, struct item *it,
                                 enum engine_store_mode mode, uint64_t cas,
                                 uint64_t *cas_out);

/* Drops a reserved item without linking it (bad data chunk). */
void engine_abort(struct engine *e, struct item *it);

/*
 * ENGINE_OK (deleted) or ENGINE_NOT_FOUND. On a hit *cls (when not NULL)
 * gets the item's class (engine_item_class), for per-class counters; so
 * do engine_arith, engine_touch and engine_mdelete.
 */
enum engine_status engine_delete(struct engine *e, struct slice key,
                                 unsigned *cls);

/*
 * incr/decr: incr wraps modulo 2^64, decr floors at 0. The stored value
 * is parsed like strtoull (leading spaces and '+' allowed, must end at the
 * value's end or at whitespace). When the new number is not longer than
 * the old value it is written in place, right-padded with spaces to the
 * old length; otherwise a new item replaces it (same flags and expiry).
 * Either way the item gets a new CAS. *result receives the new value.
 * Returns ENGINE_OK, ENGINE_NOT_FOUND, ENGINE_NOT_NUMBER (also for chunked
 * items) or ENGINE_NO_MEMORY.
 */
enum engine_status engine_arith(struct engine *e, struct slice key, bool incr,
                                uint64_t delta, uint64_t *result,
                                uint64_t *cas_out, unsigned *cls);

/* Replaces the expiry; ENGINE_OK (touched) or ENGINE_NOT_FOUND. */
enum engine_status engine_touch(struct engine *e, struct slice key,
                                int64_t exptime, unsigned *cls);

/* ---- meta commands (protocol.txt, Meta Commands) ------------------- */

/*
 * The state-changing flags of mg and ma, and the TTL report, in the
 * order the request listed them: a TTL reported before a touch shows the
 * old expiry, after it the new one, and mg's recache test sees the expiry
 * as of its own position.
 */
enum engine_meta_op {
    EMETA_TOUCH,   /* T: new expiry (touch_exptime) */
    EMETA_VIVIFY,  /* N: expiry of an item this request created */
    EMETA_RECACHE, /* R: mg only, win if the remaining TTL is below */
    EMETA_TTL,     /* t: report the remaining TTL here */
};

#define ENGINE_META_OPS_MAX 4

/* mg. Times are wire values (0, relative seconds, absolute, negative). */
struct engine_mget {
    /* in */
    bool no_bump; /* u: no LRU bump, not marked fetched */
    bool vivify;  /* N: on a miss, link an empty item */
    /*
     * The reply fails part-way (a long opaque): skip the win check that
     * follows the ops, so no W token is handed out.
     */
    bool no_token;
    int64_t touch_exptime;
    int64_t vivify_exptime;
    int64_t recache_exptime;
    size_t nops;
    enum engine_meta_op ops[ENGINE_META_OPS_MAX];
    /* out, on a hit; fetched and last_access as before this request */
    bool created;         /* linked by this request (N) */
    bool fetched;         /* h */
    bool token_seen;      /* Z: some client had already won */
    bool stale;           /* X */
    bool won;             /* W: this client wins (and token-sent is now set) */
    uint32_t last_access; /* l: seconds since last store or touch */
    int64_t ttl;          /* t: remaining seconds, -1 = no expiry */
};

/*
 * mg: engine_get plus the meta state machine (docs/COMPAT.md#meta-get-mg),
 * all under the item's lock. ENGINE_OK: *out is pinned (a hit, or an
 * item N created). Misses as engine_get (a failed vivify is a plain miss).
 */
enum engine_status engine_mget(struct engine *e, struct slice key,
                               struct engine_mget *m, struct item **out);

/* True when the item was stored through a base64 (b) key. */
bool engine_binary_key(const struct item *it);
/* Marks a reserved, not yet committed item as having a base64 key. */
void engine_set_binary_key(struct item *it);

/*
 * How a meta store (ms) links a reserved item: engine_commit()'s modes,
 * plus a CAS test for append/prepend and the stale store of ms C.. I.
 */
struct engine_store {
    enum engine_store_mode mode;
    uint64_t cas;     /* STORE_CAS: the client's unique */
    bool cas_compare; /* append/prepend: EXISTS unless the item's CAS == cas */
    /*
     * STORE_CAS: a cas lower than the item's stores anyway, marked stale,
     * with the old expiry and token-sent bit.
     */
    bool stale_ok;
};

/*
 * engine_commit() with the options above; same results. *cas_out, when
 * not NULL: the new item's CAS on ENGINE_OK, the live item's on a
 * STORE_CAS mismatch (ENGINE_EXISTS), for memcached's -vv line.
 */
enum engine_status engine_commit_ex(struct engine *e, struct item *it,
                                    const struct engine_store *s,
                                    uint64_t *cas_out);

/*
 * md: ENGINE_OK (deleted, or invalidated: marked stale, token-sent
 * cleared, new CAS, and the new expiry when has_exptime), ENGINE_NOT_FOUND,
 * or ENGINE_EXISTS (cas_compare and the item's CAS differs).
 */
struct engine_mdelete {
    bool cas_compare;
    uint64_t cas;
    bool invalidate;
    bool has_exptime;
    int64_t exptime;
};

enum engine_status engine_mdelete(struct engine *e, struct slice key,
                                  const struct engine_mdelete *d,
                                  unsigned *cls);

/* ma: engine_arith() plus CAS test, vivify, touch and TTL report. */
struct engine_marith {
    /* in */
    bool incr;
    uint64_t delta;
    bool cas_compare; /* EXISTS unless the item's CAS == cas */
    uint64_t cas;
    bool vivify; /* N: on a miss, create the item holding initial */
    uint64_t initial;
    int64_t touch_exptime;
    int64_t vivify_exptime;
    size_t nops; /* EMETA_TOUCH, EMETA_VIVIFY and EMETA_TTL only */
    enum engine_meta_op ops[ENGINE_META_OPS_MAX];
    /* out */
    bool created;
    uint64_t value; /* the number now stored */
    uint64_t cas_out;
    int64_t ttl;
    unsigned cls; /* the class of the item found (0 when created) */
};

/*
 * ENGINE_OK (updated or created), ENGINE_NOT_FOUND (miss, no vivify),
 * ENGINE_EXISTS, ENGINE_NOT_NUMBER, ENGINE_NO_MEMORY (the longer number
 * did not fit), ENGINE_NOT_STORED (vivify could not allocate).
 */
enum engine_status engine_marith(struct engine *e, struct slice key,
                                 struct engine_marith *a);

/* me: what memcached's meta debug reports; the item is not bumped. */
struct engine_debug {
    int64_t exp; /* -1 without expiry, else now - expiry (<= 0) */
    uint32_t la; /* seconds since last store or touch */
    uint64_t cas;
    bool fetched;
    bool binary;
    unsigned cls;     /* memcached's slab class id for this item */
    size_t size;      /* memcached's item size */
    struct slice key; /* points into keybuf: valid as long as this struct */
    char keybuf[256];
};

/*
 * What a watch log line reports about an item: memcached's slab class id,
 * the value's length and the seconds until it expires (0 = never; past
 * expiries wrap as memcached's unsigned arithmetic does).
 */
struct engine_item_info {
    unsigned cls;
    size_t nbytes;
    uint32_t ttl;
};

void engine_item_info(const struct engine *e, const struct item *it,
                      struct engine_item_info *out);

/*
 * engine_item_info of the live item for key, without bumping it:
 * ENGINE_OK, or ENGINE_NOT_FOUND / ENGINE_EXPIRED / ENGINE_FLUSHED.
 */
enum engine_status engine_peek(struct engine *e, struct slice key,
                               struct engine_item_info *out);

typedef void (*engine_class_fn)(void *ctx, unsigned id, size_t chunk_size,
                                unsigned perslab);

/* Calls fn for each slab class, smallest first (the -vv startup table). */
void engine_classes(const struct engine *e, engine_class_fn fn, void *ctx);

/* ENGINE_OK or ENGINE_NOT_FOUND. */
enum engine_status engine_debug(struct engine *e, struct slice key,
                                struct engine_debug *d);

/*
 * flush_all [delay]: delay <= 0 invalidates every item stored before this
 * call, immediately; delay > 0 (relative or absolute like exptime) makes
 * everything last stored/bumped before the deadline (minus one second)
 * invisible once the deadline arrives, with memcached's exact semantics
 * (docs/COMPAT.md#flushing). Memory is reclaimed lazily.
 */
void engine_flush(struct engine *e, int64_t delay);

/*
 * memcached's `oldest` setting: the server-clock time (engine_now's scale)
 * before which items count as flushed, 0 before any flush_all.
 */
uint32_t engine_oldest(const struct engine *e);

/*
 * ---- eviction policy settings (docs/ENGINE.md#eviction) ----
 * engine_config.lru at start; `lru mode|tune|temp_ttl` change them at
 * runtime. Each field is an atomic of its own: a store sees the old or
 * the new value of each, never a torn one.
 */
void engine_lru_get(const struct engine *e, struct engine_lru_tune *out);
void engine_lru_set(struct engine *e, const struct engine_lru_tune *t);
/* LRU segment of a pinned item: 0 HOT, 1 WARM, 2 COLD, 3 TEMP. */
enum engine_seg {
    ENGINE_SEG_HOT = 0,
    ENGINE_SEG_WARM,
    ENGINE_SEG_COLD,
    ENGINE_SEG_TEMP,
};
enum engine_seg engine_item_seg(const struct item *it);
/*
 * A get hit's class and segment in one number, for cmd's per-class
 * counters: engine_item_class | engine_item_seg << ENGINE_HIT_SEG_SHIFT.
 */
#define ENGINE_HIT_SEG_SHIFT  8
#define ENGINE_HIT_CLASS_MASK 0xffu
unsigned engine_hit_class(const struct engine *e, const struct item *it);
/* Times the policy moved an item or took one (lru_maintainer_juggles). */
uint64_t engine_lru_juggles(const struct engine *e);
/* True while short-TTL items go to TEMP (-o temporary_ttl, lru temp_ttl). */
bool engine_temp_lru(const struct engine *e);

/*
 * Engine-owned statistics, named exactly as in memcached's `stats`. The
 * caller decides the output order. Gauges (curr_items, bytes, hash_*) and
 * counters since start.
 */
/* clang-format off */
#define ENGINE_STATS(X)                                                    \
    X(hash_power_level,      "log2 of the hash table's bucket count")     \
    X(hash_bytes,            "bytes used by the hash table")              \
    X(hash_is_expanding,     "1 while the table is being grown")          \
    X(bytes,                 "bytes used by linked items")                \
    X(curr_items,            "items currently linked")                    \
    X(total_items,           "items ever linked")                         \
    X(slab_global_page_pool, "free pages not owned by any class")         \
    X(slabs_moved,           "pages moved from one class to another")     \
    X(expired_unfetched,     "expired items reclaimed that were never read") \
    X(evicted_unfetched,     "evicted items that were never read")        \
    X(evictions,             "live items evicted to make room")           \
    X(reclaimed,             "times an expired item's memory was reused") \
    X(crawler_reclaimed,     "dead items the LRU crawler freed")          \
    X(crawler_items_checked, "items LRU crawls and dumps looked at")      \
    X(total_malloced,        "bytes of slab pages allocated")        \
    X(slab_reassign_rescues, "items a page move copied to a free chunk") \
    X(slab_reassign_chunk_rescues, "chunks of chunked items rescued (0)") \
    X(slab_reassign_evictions_nomem, "live items a page move evicted")  \
    X(slab_reassign_inline_reclaim, "dead items a page move reclaimed") \
    X(slab_reassign_busy_items, "pinned items a page move had to wait for") \
    X(slab_reassign_busy_deletes, "deleted but pinned items it waited for") \
    X(slab_reassign_running, "1 while a page move is under way")            \
    X(evicted_active,        "items evicted although read (forced)")      \
    X(moves_to_cold,         "items moved HOT or WARM -> COLD")           \
    X(moves_to_warm,         "items moved HOT or COLD -> WARM")           \
    X(moves_within_lru,      "WARM items read and kept WARM")             \
    X(direct_reclaims,       "items evicted or reclaimed by stores")      \
    X(lru_maintainer_juggles, "moves and takes of the eviction policy")
/* clang-format on */

struct engine_stats {
#define ENGINE_STAT_FIELD(name, help) uint64_t name;
    ENGINE_STATS(ENGINE_STAT_FIELD)
#undef ENGINE_STAT_FIELD
};

/* A consistent-enough snapshot (each counter read atomically). */
void engine_stats(struct engine *e, struct engine_stats *out);

/* ---- per-class statistics (stats items, stats slabs, sizes, dumps) ---- */

/*
 * Every external view of slab classes speaks memcached's class ids: the
 * ids memcached's own table (-n, -f, -o slab_sizes, or its defaults)
 * gives for the same item sizes, 1..engine_class_max(). Where the
 * engine's own classes are finer (the default table), each memcached
 * class aggregates the fine classes inside it; docs/ENGINE.md says how.
 */
#define ENGINE_MAX_CLASS_ID 63

/* The highest memcached class id of this engine's table. */
unsigned engine_class_max(const struct engine *e);

/*
 * memcached's class id of a pinned item (the class its memcached size
 * falls in). Cheap: cmd calls it on every hit to count per-class ops.
 */
unsigned engine_item_class(const struct engine *e, const struct item *it);

/*
 * `stats items` fields of one class, in memcached's order. cond says when
 * memcached prints the field: ALL always, SEG with the segmented LRU's
 * maintainer on (memoria prints these as memcached's idle maintainer
 * would: every item counted as COLD), TEMP with the temporary LRU on.
 */
/* clang-format off */
#define ENGINE_ITEM_STATS(X)                 \
    X(number,                ALL)            \
    X(number_hot,            SEG)            \
    X(number_warm,           SEG)            \
    X(number_cold,           SEG)            \
    X(number_temp,           TEMP)           \
    X(age_hot,               SEG)            \
    X(age_warm,              SEG)            \
    X(age,                   ALL)            \
    X(mem_requested,         ALL)            \
    X(evicted,               ALL)            \
    X(evicted_nonzero,       ALL)            \
    X(evicted_time,          ALL)            \
    X(outofmemory,           ALL)            \
    X(tailrepairs,           ALL)            \
    X(reclaimed,             ALL)            \
    X(expired_unfetched,     ALL)            \
    X(evicted_unfetched,     ALL)            \
    X(evicted_active,        SEG)            \
    X(crawler_reclaimed,     ALL)            \
    X(crawler_items_checked, ALL)            \
    X(lrutail_reflocked,     ALL)            \
    X(moves_to_cold,         SEG)            \
    X(moves_to_warm,         SEG)            \
    X(moves_within_lru,      SEG)            \
    X(direct_reclaims,       SEG)

/* `stats slabs` memory fields of one class, in memcached's order. */
#define ENGINE_SLAB_STATS(X)                 \
    X(chunk_size)                            \
    X(chunks_per_page)                       \
    X(total_pages)                           \
    X(total_chunks)                          \
    X(used_chunks)                           \
    X(free_chunks)                           \
    X(free_chunks_end)
/* clang-format on */

struct engine_class_stats {
    unsigned id; /* memcached's class id */
#define ENGINE_CLASS_FIELD(name, ...) uint64_t name;
    ENGINE_ITEM_STATS(ENGINE_CLASS_FIELD)
    ENGINE_SLAB_STATS(ENGINE_CLASS_FIELD)
#undef ENGINE_CLASS_FIELD
};

/*
 * Fills *out for memcached class id (1..engine_class_max()); false for
 * an id outside the table. A class with no pages and no items reads as
 * zeros (but chunk_size and chunks_per_page).
 */
bool engine_class_stats(struct engine *e, unsigned id,
                        struct engine_class_stats *out);

/* Seconds since start, as memcached's `uptime` reports it (starts near 2). */
uint32_t engine_uptime(const struct engine *e);

/*
 * stats reset: zeroes the engine's cumulative counters (total_items,
 * slabs_moved, evictions, reclaimed, the *_unfetched counters, every
 * per-class item counter, the crawler's counters); gauges (curr_items, bytes,
 * pages, hash) are kept.
 */
void engine_stats_reset(struct engine *e);

/* ---- stats sizes: a histogram of item sizes in 32-byte buckets ---- */

enum engine_sizes_status {
    ENGINE_SIZES_OK = 0,
    ENGINE_SIZES_NO_CAS, /* -C: memcached needs CAS to tell old items */
};

/*
 * Starts counting items linked from now on (items already stored are
 * not counted, as in memcached), bucketed by memcached's item size
 * rounded up to a multiple of 32. Idempotent while enabled.
 */
enum engine_sizes_status engine_sizes_enable(struct engine *e);

/*
 * -o track_sizes: the same from startup, even with -C, as memcached does.
 * Items stored without CAS read 0, which memcached's rule counts only
 * when its boundary is 0 too: count_all (memcached's -C given before
 * -o track_sizes) counts every item; otherwise they never count.
 */
void engine_sizes_start(struct engine *e, bool count_all);
void engine_sizes_disable(struct engine *e);
bool engine_sizes_enabled(const struct engine *e);

typedef void (*engine_size_fn)(void *ctx, size_t bucket, uint64_t count);

/* Calls fn for each non-empty bucket, smallest first. */
void engine_sizes(struct engine *e, engine_size_fn fn, void *ctx);

/* ---- the page mover and the memory limit (mover.c) ---- */

/* slabs reassign's outcomes, in the order memcached checks them. */
enum engine_reassign {
    ENGINE_REASSIGN_OK = 0,   /* the page moved, or is being emptied */
    ENGINE_REASSIGN_RUNNING,  /* another move is still emptying a page */
    ENGINE_REASSIGN_SAME,     /* src == dst */
    ENGINE_REASSIGN_BADCLASS, /* an id outside 0..engine_class_max() */
    ENGINE_REASSIGN_NOSPARE,  /* src has fewer than two pages */
};

/*
 * slabs reassign: moves one page from memcached class src (0 = the
 * global pool, -1 = any class with two pages or more) to class dst (0 =
 * the pool). The page's items are rescued into free chunks of their
 * class where there are some, else reclaimed or evicted. A page with
 * pinned items is finished later (engine_mover_tick); until then other
 * moves are refused with ENGINE_REASSIGN_RUNNING. Never waits.
 */
enum engine_reassign engine_slabs_reassign(struct engine *e, int src, int dst);

/* slabs automove <0|1|2> and slabs automove ratio <f>, and their values. */
void engine_set_automove(struct engine *e, unsigned mode);
unsigned engine_automove(const struct engine *e);
void engine_set_automove_ratio(struct engine *e, double ratio);
double engine_automove_ratio(const struct engine *e);

/*
 * Carries on a move whose page still had pinned items and a memory limit
 * lowered below what is in use (a bounded amount of work). main calls it
 * with engine_tick(), from the clock thread.
 */
void engine_mover_tick(struct engine *e);

enum engine_memlimit {
    ENGINE_MEMLIMIT_OK = 0,
    ENGINE_MEMLIMIT_PREALLOCATED, /* -L: the region cannot change size */
};

/*
 * cache_memlimit: the new item memory limit in bytes. Raising it takes
 * effect at once; lowering it empties pages (evicting their items) and
 * gives them back to the kernel until the total is within the new limit,
 * carrying on in engine_mover_tick if pinned items stop it.
 */
enum engine_memlimit engine_set_mem_limit(struct engine *e, size_t bytes);
size_t engine_mem_limit(const struct engine *e);

/* ---- stats cachedump ---- */

struct engine_dump_item {
    struct slice key; /* valid during the call only */
    size_t nbytes;    /* value length */
    int64_t exptime;  /* absolute Unix time, 0 without expiry */
    bool binary_key;  /* stored with a base64 (meta b) key */
};

/* Return false to stop the walk. Called under engine locks: be quick. */
typedef bool (*engine_dump_fn)(void *ctx, const struct engine_dump_item *it);

/*
 * stats cachedump: up to limit items (0 = no limit) of memcached class
 * id, in the order memcached lists its COLD LRU (most recent first).
 */
void engine_cachedump(struct engine *e, unsigned id, unsigned limit,
                      engine_dump_fn fn, void *ctx);

/* ---- walking items: key dumps and the LRU crawler ---- */

/*
 * One live item as a walk saw it: a copy taken under the item's locks
 * (docs/ENGINE.md#lru-crawler-and-dumps), handed to the callback once the
 * locks are dropped.
 */
struct engine_walk_item {
    struct slice key;    /* valid during the call only */
    int64_t exptime;     /* absolute Unix time, -1 without expiry */
    int64_t last_access; /* absolute Unix time of its last store or touch */
    uint64_t cas;
    size_t size;  /* memcached's item size (as in `stats items`) */
    unsigned cls; /* memcached's class id */
    bool fetched;
    bool binary_key; /* stored with a base64 key (meta's b flag) */
};

typedef void (*engine_walk_fn)(void *ctx, const struct engine_walk_item *it);

/*
 * A resumable walk over every live item: of the memcached classes whose
 * bit is set in `classes` (bit i for class i), page after page of each
 * engine class, or over the hash table's buckets with `hash` (classes
 * ignored). NULL when out of memory. Items linked or unlinked while the
 * walk runs may be seen or missed; none is seen twice, and expired or
 * flushed items are skipped.
 */
struct engine_walk *engine_walk_start(struct engine *e, uint64_t classes,
                                      bool hash);

/*
 * Walks one bounded batch (at most 512 chunks of one class under its
 * lock, or 256 buckets under their stripes), then calls fn for each live
 * item found, with no engine lock held. A class walk counts the items it
 * looks at in crawler_items_checked (memcached counts its metadump's);
 * a hash walk counts nothing, as memcached's does not.
 * Returns false once the walk is over (or out of memory).
 */
bool engine_walk_next(struct engine *e, struct engine_walk *w,
                      engine_walk_fn fn, void *ctx);

/* Accepts NULL. */
void engine_walk_free(struct engine_walk *w);

/*
 * The LRU crawler: a thread that frees expired and flushed items in the
 * background, a class at a time (docs/ENGINE.md#lru-crawler-and-dumps).
 * It pauses engine_config.crawler_sleep µs after every
 * ENGINE_CRAWL_PER_SLEEP chunks it looks at.
 */
#define ENGINE_CRAWL_PER_SLEEP 1024

/* Starts the thread; false if it runs already or cannot start. */
bool engine_crawler_start(struct engine *e);
/* Stops the thread (after the chunk batch in hand). Idempotent. */
void engine_crawler_stop(struct engine *e);
/* True while the thread runs (enabled). */
bool engine_crawler_enabled(const struct engine *e);
void engine_crawler_set_sleep(struct engine *e, uint32_t usec);
void engine_crawler_set_tocrawl(struct engine *e, uint32_t items);

enum engine_crawl {
    ENGINE_CRAWL_OK = 0,
    ENGINE_CRAWL_DISABLED, /* the thread is not running */
};

/*
 * Asks for a crawl of the memcached classes whose bit is set in
 * `classes` (added to any crawl waiting).
 */
enum engine_crawl engine_crawl(struct engine *e, uint64_t classes);

struct engine_crawler_stats {
    bool running;    /* a crawl is in progress */
    uint64_t starts; /* crawls started: requested, automatic, dumps */
    uint32_t sleep;
    uint32_t tocrawl;
};

void engine_crawler_stats(const struct engine *e,
                          struct engine_crawler_stats *out);

/* A dump (engine_walk) starts: counted in lru_crawler_starts. */
void engine_crawler_count_start(struct engine *e);
