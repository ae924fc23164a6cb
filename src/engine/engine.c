#include "engine/engine.h"

#include "engine/engine_internal.h"
#include "engine/item.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ENGINE_ITEM_SIZE_MIN 1024
#define ENGINE_ITEM_SIZE_MAX ((size_t)1 << 30)

void
engine_config_default(struct engine_config *cfg)
{
    cfg->mem_limit = (size_t)64 << 20;
    cfg->item_size_max = (size_t)1 << 20;
    cfg->slab_chunk_max = SLAB_PAGE_SIZE / 2;
    cfg->chunk_min = 48;
    cfg->growth_factor = 1.25;
    cfg->cas_enabled = true;
    cfg->evictions = true;
    cfg->hashpower = 16;
    cfg->hash_expand = true;
    cfg->memcached_classes = false;
    cfg->nslab_sizes = 0;
    cfg->large_page_size = 0;
    cfg->on_evict = NULL;
    cfg->on_evict_ctx = NULL;
    cfg->slab_reassign = true;
    cfg->slab_automove = 1;
    cfg->slab_automove_ratio = 0.8;
    cfg->on_move = NULL;
    cfg->on_move_ctx = NULL;
    cfg->crawler = false;
    cfg->crawler_sleep = 100;
    cfg->crawler_tocrawl = 0;
    cfg->on_crawl = NULL;
    cfg->on_crawl_ctx = NULL;
    cfg->lru = (struct engine_lru_tune){
        .segmented = true,
        .hot_pct = 20,
        .warm_pct = 40,
        .hot_max_factor = 0.2,
        .warm_max_factor = 2.0,
        .temp_lru = false,
        .temp_ttl = 61,
    };
}

/* ---- clock ---------------------------------------------------------- */

static int64_t
mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

void
engine_tick(struct engine *e)
{
    int64_t off = atomic_load_explicit(&e->debug_offset, memory_order_relaxed);
    int64_t now = mono_seconds() - e->mono_start + ENGINE_START_TIME + off;
    atomic_store_explicit(&e->now, (uint32_t)now, memory_order_relaxed);
}

uint32_t
engine_now(const struct engine *e)
{
    return engine_clock(e);
}

int64_t
engine_epoch_unix(const struct engine *e)
{
    return e->epoch_unix;
}

/*
 * Moves `now` without reading the real clock, so a test that does not
 * tick sees exactly the seconds it asked for; later ticks keep the shift.
 */
void
engine_debug_advance(struct engine *e, uint32_t seconds)
{
    atomic_fetch_add_explicit(&e->debug_offset, seconds, memory_order_relaxed);
    atomic_fetch_add_explicit(&e->now, seconds, memory_order_relaxed);
}

/*
 * Wire exptime -> rel_time (protocol.txt, Expiration times;
 * docs/COMPAT.md#expiry-and-the-clock). 1 means "already
 * expired", since now >= ENGINE_START_TIME > 1.
 */
static uint32_t
rel_time(const struct engine *e, int64_t exptime)
{
    if (exptime == 0) {
        return 0;
    }
    if (exptime < 0) {
        return 1;
    }
    if (exptime <= ENGINE_REALTIME_MAXDELTA) {
        return engine_clock(e) + (uint32_t)exptime;
    }
    if (exptime <= e->epoch_unix) {
        return 1;
    }
    int64_t rel = exptime - e->epoch_unix;
    return rel > ITEM_EXP_MASK ? ITEM_EXP_MASK : (uint32_t)rel;
}

/* ---- create / destroy ----------------------------------------------- */

static bool
config_ok(const struct engine_config *cfg)
{
    return cfg->item_size_max >= ENGINE_ITEM_SIZE_MIN &&
           cfg->item_size_max <= ENGINE_ITEM_SIZE_MAX &&
           cfg->nslab_sizes <= ENGINE_MAX_SLAB_SIZES;
}

struct engine *
engine_create(const struct engine_config *cfg)
{
    size_t size = (sizeof(struct engine) + 63) / 64 * 64;
    struct engine *e = aligned_alloc(64, size);

    if (e == NULL) {
        return NULL;
    }
    memset(e, 0, size);
    e->cfg = *cfg;
    pthread_mutex_init(&e->flush_lock, NULL);
    pthread_mutex_init(&e->sizes_lock, NULL);
    crawler_init(e);
    e->sizes_nbuckets = cfg->item_size_max / 32 + 1;
    mover_init(e);
    e->mono_start = mono_seconds();
    e->epoch_unix = (int64_t)time(NULL) - ENGINE_START_TIME;
    atomic_init(&e->now, ENGINE_START_TIME);
    engine_lru_set(e, &cfg->lru);
    struct slab_config sc = {
        .mem_limit = cfg->mem_limit,
        .chunk_min = cfg->chunk_min,
        .factor = cfg->growth_factor,
        .chunk_max = cfg->slab_chunk_max,
        .memcached_classes = cfg->memcached_classes,
        .large_page_size = cfg->large_page_size,
        .sizes = cfg->slab_sizes,
        .nsizes = cfg->nslab_sizes,
    };
    if (!config_ok(cfg) || slab_init(&e->slab, &sc) != SLAB_OK ||
        !lru_init_cells(e) ||
        hashtable_init(&e->ht, cfg->hashpower, cfg->hash_expand) !=
            HASHTABLE_OK ||
        hashtable_start(&e->ht) != HASHTABLE_OK ||
        (cfg->crawler && !engine_crawler_start(e))) {
        goto fail;
    }
    return e;

fail:
    engine_destroy(e);
    return NULL;
}

enum engine_prealloc
engine_prealloc_status(const struct engine *e, int *err)
{
    switch (slab_prealloc_status(&e->slab, err)) {
    case SLAB_PREALLOC_DONE:
        return ENGINE_PREALLOC_DONE;
    case SLAB_PREALLOC_NO_MAP:
        return ENGINE_PREALLOC_NO_MAP;
    case SLAB_PREALLOC_NO_HINT:
        return ENGINE_PREALLOC_NO_HINT;
    case SLAB_PREALLOC_OFF:
        break;
    }
    return ENGINE_PREALLOC_OFF;
}

void
engine_destroy(struct engine *e)
{
    if (e == NULL) {
        return;
    }
    crawler_deinit(e);
    hashtable_deinit(&e->ht);
    slab_deinit(&e->slab);
    mover_deinit(e);
    lru_deinit_cells(e);
    lru_deinit_rings(e);
    free((void *)e->sizes_hist);
    pthread_mutex_destroy(&e->sizes_lock);
    pthread_mutex_destroy(&e->flush_lock);
    free(e);
}

/* ---- linking -------------------------------------------------------- */

uint64_t
engine_next_cas(struct engine *e)
{
    if (!e->cfg.cas_enabled) {
        return 0;
    }
    return atomic_fetch_add_explicit(&e->cas_last, 1, memory_order_relaxed) + 1;
}

bool
engine_item_flushed(const struct engine *e, const struct item *it, uint32_t now)
{
    uint64_t fcas = atomic_load_explicit(&e->flush_cas, memory_order_relaxed);
    uint32_t ftime = atomic_load_explicit(&e->flush_time, memory_order_relaxed);

    if (fcas != 0 && item_cas(it) != 0 && item_cas(it) < fcas) {
        return true;
    }
    return ftime != 0 && ftime <= now && item_time(it) <= ftime;
}

/*
 * Stamps a new item for linking: time, CAS, the link reference, and the
 * LINKED bit with release order (what the CLOCK hand relies on to read
 * the header and key, engine_internal.h). new_item: counts in
 * total_items (a store, not a rewrite of a number).
 */
static void
prepare_link(struct engine *e, struct item *it, bool new_item)
{
    item_set_time(it, engine_clock(e));
    item_set_cas(it, engine_next_cas(e));
    atomic_fetch_add_explicit(&it->refcount, 1, memory_order_relaxed);
    lru_count_link(e, it, new_item);
    atomic_fetch_or_explicit(&it->iflags, (uint8_t)ITEM_LINKED,
                             memory_order_release);
}

static void
link_locked(struct engine *e, struct item *it, uint64_t hv)
{
    prepare_link(e, it, true);
    hashtable_insert_locked(&e->ht, hv, it);
}

/*
 * Puts `it` in place of the linked item `old` (same key). new_item is
 * false when `it` only stands in for an in-place rewrite that a reader's
 * pin prevented (incr/decr), which memcached does not count as a store.
 */
static void
replace_locked(struct engine *e, struct item *old, struct item *it, uint64_t hv,
               bool new_item)
{
    prepare_link(e, it, new_item);
    hashtable_replace_locked(&e->ht, hv, old, it);
    lru_count_unlink(e, old);
    item_clear_iflags(old, ITEM_LINKED);
    item_unref(e, old, NULL);
}

void
engine_unlink_locked(struct engine *e, struct item *it, uint64_t hv,
                     struct reclaim *r)
{
    hashtable_unlink_locked(&e->ht, hv, it);
    lru_count_unlink(e, it);
    item_clear_iflags(it, ITEM_LINKED);
    item_unref(e, it, r);
}

/*
 * The live item for key, or NULL with *why saying why not. A dead
 * (expired or flushed) item found on the way is unlinked lazily.
 */
static struct item *
find_live_locked(struct engine *e, struct slice key, uint64_t hv,
                 enum engine_status *why)
{
    struct item *it = hashtable_find_locked(&e->ht, hv, key.ptr, key.len);
    uint32_t now = engine_clock(e);

    if (it == NULL) {
        *why = ENGINE_NOT_FOUND;
        return NULL;
    }
    if (engine_item_flushed(e, it, now)) {
        *why = ENGINE_FLUSHED;
    } else if (item_is_expired(it, now)) {
        *why = ENGINE_EXPIRED;
    } else {
        return it;
    }
    engine_unlink_locked(e, it, hv, NULL);
    return NULL;
}

/* ---- reads ---------------------------------------------------------- */

/* A hit: the CLOCK bit, written only when it changes. */
static void
mark_accessed(struct item *it)
{
    const unsigned bits = ITEM_FETCHED | ITEM_ACTIVE;

    if ((item_iflags(it) & bits) != bits) {
        item_set_iflags(it, bits);
    }
}

/* Lookup, pin and (if exptime is non-NULL) touch, under one stripe. */
static enum engine_status
get_locked(struct engine *e, struct slice key, const int64_t *exptime,
           struct item **out)
{
    uint64_t hv = engine_hash(key);
    enum engine_status st = ENGINE_OK;

    hashtable_lock(&e->ht, hv);
    struct item *it = find_live_locked(e, key, hv, &st);
    if (it != NULL && !item_ref(it)) {
        it = NULL;
        st = ENGINE_NOT_FOUND;
    }
    if (it != NULL) {
        mark_accessed(it);
        if (exptime != NULL) {
            item_set_exptime(it, rel_time(e, *exptime));
            item_set_time(it, engine_clock(e));
        }
    }
    hashtable_unlock(&e->ht, hv);
    *out = it;
    return st;
}

enum engine_status
engine_get(struct engine *e, struct slice key, struct item **out)
{
    return get_locked(e, key, NULL, out);
}

enum engine_status
engine_get_touch(struct engine *e, struct slice key, int64_t exptime,
                 struct item **out)
{
    return get_locked(e, key, &exptime, out);
}

void
engine_release(struct engine *e, struct item *it)
{
    if (it != NULL) {
        item_unref(e, it, NULL);
    }
}

void
engine_view(const struct item *it, struct item_view *v)
{
    v->key = slice_make(item_key(it), it->nkey);
    v->flags = item_flags(it);
    v->cas = item_cas(it);
    v->nbytes = it->nbytes;
    v->nseg = item_segments(it, &v->one, &v->segs);
}

/* ---- stores --------------------------------------------------------- */

/* Unlinks whatever item has this key, live or not. */
static void
unlink_key(struct engine *e, struct slice key)
{
    uint64_t hv = engine_hash(key);

    hashtable_lock(&e->ht, hv);
    struct item *it = hashtable_find_locked(&e->ht, hv, key.ptr, key.len);
    if (it != NULL) {
        engine_unlink_locked(e, it, hv, NULL);
    }
    hashtable_unlock(&e->ht, hv);
}

enum engine_status
engine_reserve(struct engine *e, enum engine_store_mode mode, struct slice key,
               uint32_t flags, int64_t exptime, size_t nbytes,
               struct item **out)
{
    enum engine_status st =
        item_create(e, key, flags, rel_time(e, exptime), nbytes, out);

    if (st != ENGINE_OK) {
        *out = NULL;
        if (mode == STORE_SET && st != ENGINE_NO_MEMORY_DATA) {
            unlink_key(e, key);
        }
    }
    return st;
}

struct wslice
engine_wslice(struct item *it, size_t off)
{
    return item_wslice(it, off);
}

void
engine_abort(struct engine *e, struct item *it)
{
    engine_release(e, it);
}

/*
 * append/prepend: a new item holding old + frag (or frag + old) with the
 * old item's flags and expiry replaces old. Any failure is NOT_STORED.
 */
static enum engine_status
concat_locked(struct engine *e, struct item *old, struct item *frag,
              bool append, uint64_t hv, struct item **linked)
{
    struct slice key = slice_make(item_key(old), old->nkey);
    struct item *it;

    if (item_create(e, key, item_flags(old), item_exptime(old),
                    (size_t)old->nbytes + frag->nbytes, &it) != ENGINE_OK) {
        return ENGINE_NOT_STORED;
    }
    item_copy_value(it, 0, append ? old : frag);
    item_copy_value(it, append ? old->nbytes : frag->nbytes,
                    append ? frag : old);
    replace_locked(e, old, it, hv, true);
    item_unref(e, it, NULL); /* still linked: only our creation pin goes */
    *linked = it;
    return ENGINE_OK;
}

/*
 * ms C.. I with a CAS older than the item's: the new value goes in
 * anyway but is marked stale, keeping the old expiry and token bit.
 */
static void
stale_store(struct item *it, const struct item *old)
{
    item_set_exptime(it, item_exptime(old));
    item_set_state(it, ITEM_EXP_STALE, true);
    item_set_state(it, ITEM_EXP_TOKEN, item_has_state(old, ITEM_EXP_TOKEN));
}

static enum engine_status
store_locked(struct engine *e, struct item *it, struct item *old,
             const struct engine_store *s, uint64_t hv, struct item **linked)
{
    enum engine_store_mode mode = s->mode;

    *linked = it;
    switch (mode) {
    case STORE_ADD:
        if (old != NULL) {
            item_set_iflags(old, ITEM_ACTIVE);
            return ENGINE_NOT_STORED;
        }
        break;
    case STORE_REPLACE:
        if (old == NULL) {
            return ENGINE_NOT_STORED;
        }
        break;
    case STORE_CAS:
        if (old == NULL) {
            return ENGINE_NOT_FOUND;
        }
        if (!e->cfg.cas_enabled) {
            return ENGINE_EXISTS;
        }
        if (item_cas(old) != s->cas) {
            if (!s->stale_ok || s->cas > item_cas(old)) {
                return ENGINE_EXISTS;
            }
            stale_store(it, old);
        }
        break;
    case STORE_APPEND:
    case STORE_PREPEND:
        if (old == NULL) {
            return ENGINE_NOT_STORED;
        }
        /* without CAS (-C) memcached has nothing to compare */
        if (s->cas_compare && e->cfg.cas_enabled && item_cas(old) != s->cas) {
            return ENGINE_EXISTS;
        }
        return concat_locked(e, old, it, mode == STORE_APPEND, hv, linked);
    case STORE_SET:
        break;
    }
    if (old != NULL) {
        replace_locked(e, old, it, hv, true);
    } else {
        link_locked(e, it, hv);
    }
    return ENGINE_OK;
}

enum engine_status
engine_commit(struct engine *e, struct item *it, enum engine_store_mode mode,
              uint64_t cas, uint64_t *cas_out)
{
    struct engine_store s = {.mode = mode, .cas = cas};

    return engine_commit_ex(e, it, &s, cas_out);
}

enum engine_status
engine_commit_ex(struct engine *e, struct item *it,
                 const struct engine_store *s, uint64_t *cas_out)
{
    struct slice key = slice_make(item_key(it), it->nkey);
    uint64_t hv = engine_hash(key);
    enum engine_status st;
    struct item *linked;

    hashtable_lock(&e->ht, hv);
    struct item *old = find_live_locked(e, key, hv, &st);
    st = store_locked(e, it, old, s, hv, &linked);
    if (st == ENGINE_OK && cas_out != NULL) {
        *cas_out = item_cas(linked);
    } else if (st == ENGINE_EXISTS && s->mode == STORE_CAS && old != NULL &&
               cas_out != NULL) {
        *cas_out = item_cas(old);
    }
    hashtable_unlock(&e->ht, hv);
    engine_release(e, it);
    return st;
}

enum engine_status
engine_delete(struct engine *e, struct slice key, unsigned *cls)
{
    uint64_t hv = engine_hash(key);
    enum engine_status st;

    hashtable_lock(&e->ht, hv);
    struct item *it = find_live_locked(e, key, hv, &st);
    if (it != NULL) {
        if (cls != NULL) {
            *cls = engine_item_class(e, it);
        }
        engine_unlink_locked(e, it, hv, NULL);
        st = ENGINE_OK;
    } else {
        st = ENGINE_NOT_FOUND;
    }
    hashtable_unlock(&e->ht, hv);
    return st;
}

enum engine_status
engine_touch(struct engine *e, struct slice key, int64_t exptime, unsigned *cls)
{
    uint64_t hv = engine_hash(key);
    enum engine_status st;

    hashtable_lock(&e->ht, hv);
    struct item *it = find_live_locked(e, key, hv, &st);
    if (it != NULL) {
        if (cls != NULL) {
            *cls = engine_item_class(e, it);
        }
        item_set_exptime(it, rel_time(e, exptime));
        item_set_time(it, engine_clock(e));
        item_set_iflags(it, ITEM_ACTIVE);
        st = ENGINE_OK;
    } else {
        st = ENGINE_NOT_FOUND;
    }
    hashtable_unlock(&e->ht, hv);
    return st;
}

/* ---- incr / decr ---------------------------------------------------- */

static bool
is_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/*
 * strtoull rules as memcached applies them: leading whitespace, an
 * optional sign, at least one digit, then the end or whitespace; no
 * overflow; a '-' anywhere rejects a result that is negative as signed.
 */
static bool
parse_u64(const char *p, size_t len, uint64_t *out)
{
    size_t i = 0;
    bool neg = false;
    uint64_t v = 0;

    while (i < len && is_space(p[i])) {
        i++;
    }
    if (i < len && (p[i] == '+' || p[i] == '-')) {
        neg = p[i++] == '-';
    }
    size_t digits = i;
    for (; i < len && p[i] >= '0' && p[i] <= '9'; i++) {
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    if (i == digits || (i < len && !is_space(p[i]))) {
        return false;
    }
    v = neg ? 0 - v : v;
    if ((int64_t)v < 0 && memchr(p, '-', len) != NULL) {
        return false;
    }
    *out = v;
    return true;
}

/* Writes the new number into `it`, in place or as a replacement item. */
static enum engine_status
store_number_locked(struct engine *e, struct item *it, uint64_t hv,
                    const char *num, size_t len, struct item **linked)
{
    *linked = it;
    if (len <= it->nbytes &&
        atomic_load_explicit(&it->refcount, memory_order_acquire) == 1) {
        memcpy(item_value(it), num, len);
        memset(item_value(it) + len, ' ', it->nbytes - len);
        item_set_cas(it, engine_next_cas(e));
        item_set_time(it, engine_clock(e));
        return ENGINE_OK;
    }
    struct slice key = slice_make(item_key(it), it->nkey);
    struct item *n;
    if (item_create(e, key, item_flags(it), item_exptime(it), len, &n) !=
        ENGINE_OK) {
        return ENGINE_NO_MEMORY;
    }
    item_write(n, 0, num, len);
    replace_locked(e, it, n, hv, len > it->nbytes);
    item_unref(e, n, NULL); /* still linked: only our creation pin goes */
    *linked = n;
    return ENGINE_OK;
}

/*
 * incr/decr of a live item; *linked is the item now holding the number
 * (`it`, or its replacement). A CAS test (ma C) comes after the cheap
 * "cannot be a number" test and before parsing, as in memcached.
 */
static enum engine_status
arith_locked(struct engine *e, struct item *it, uint64_t hv, bool incr,
             uint64_t delta, const uint64_t *cas, uint64_t *result,
             struct item **linked)
{
    uint64_t v;
    char num[24];

    if (item_has(it, ITEM_CHUNKED) || it->nbytes == 0) {
        return ENGINE_NOT_NUMBER;
    }
    if (cas != NULL && item_cas(it) != *cas) {
        return ENGINE_EXISTS;
    }
    if (!parse_u64(item_value(it), it->nbytes, &v)) {
        return ENGINE_NOT_NUMBER;
    }
    if (incr) {
        v += delta;
    } else {
        v = delta > v ? 0 : v - delta;
    }
    int len = snprintf(num, sizeof(num), "%" PRIu64, v);
    enum engine_status st =
        store_number_locked(e, it, hv, num, (size_t)len, linked);
    if (st == ENGINE_OK) {
        *result = v;
    }
    return st;
}

enum engine_status
engine_arith(struct engine *e, struct slice key, bool incr, uint64_t delta,
             uint64_t *result, uint64_t *cas_out, unsigned *cls)
{
    uint64_t hv = engine_hash(key);
    uint64_t cas = 0;
    enum engine_status st;

    hashtable_lock(&e->ht, hv);
    struct item *it = find_live_locked(e, key, hv, &st);
    if (it != NULL) {
        struct item *linked;
        if (cls != NULL) {
            *cls = engine_item_class(e, it);
        }
        st = arith_locked(e, it, hv, incr, delta, NULL, result, &linked);
        if (st == ENGINE_OK) {
            cas = item_cas(linked);
        }
    } else {
        st = ENGINE_NOT_FOUND;
    }
    hashtable_unlock(&e->ht, hv);
    if (st == ENGINE_OK && cas_out != NULL) {
        *cas_out = cas;
    }
    return st;
}

/* ---- meta commands -------------------------------------------------- */

/*
 * Remaining TTL as mg/ma report it: -1 without expiry. An expiry this
 * very request put in the past wraps as memcached's unsigned subtraction
 * does (t4294967232).
 */
static int64_t
ttl_of(const struct engine *e, const struct item *it)
{
    uint32_t exp = item_exptime(it);
    return exp == 0 ? -1 : (int64_t)(uint32_t)(exp - engine_clock(e));
}

bool
engine_binary_key(const struct item *it)
{
    return item_has(it, ITEM_BINKEY);
}

void
engine_set_binary_key(struct item *it)
{
    item_set_iflags(it, ITEM_BINKEY);
}

/*
 * mg N: links an empty item for key; NULL if none could be allocated.
 * Like memcached, it is not marked as having a base64 key even when the
 * request's key was one.
 */
static struct item *
vivify_locked(struct engine *e, struct slice key, uint64_t hv)
{
    struct item *it;

    if (item_create(e, key, 0, 0, 0, &it) != ENGINE_OK) {
        return NULL;
    }
    link_locked(e, it, hv);
    return it; /* the creation pin is now the caller's */
}

/*
 * mg's flags in request order, then the win/stale tokens, over a pinned,
 * linked item (protocol.txt, Meta Get; docs/COMPAT.md#meta-get-mg).
 */
static void
mget_state_locked(struct engine *e, struct item *it, struct engine_mget *m)
{
    bool won = false;

    for (size_t i = 0; i < m->nops; i++) {
        switch (m->ops[i]) {
        case EMETA_TOUCH:
            item_set_exptime(it, rel_time(e, m->touch_exptime));
            break;
        case EMETA_VIVIFY:
            if (m->created) {
                item_set_exptime(it, rel_time(e, m->vivify_exptime));
                won = true;
            }
            break;
        case EMETA_RECACHE: {
            uint32_t exp = item_exptime(it);
            if (!item_has_state(it, ITEM_EXP_TOKEN) && !m->created &&
                exp != 0 && exp < rel_time(e, m->recache_exptime)) {
                won = true;
            }
            break;
        }
        case EMETA_TTL:
            m->ttl = ttl_of(e, it);
            break;
        }
    }
    if (m->no_token) {
        return;
    }
    m->token_seen = item_has_state(it, ITEM_EXP_TOKEN);
    m->stale = item_has_state(it, ITEM_EXP_STALE);
    if (m->stale && !m->token_seen) {
        won = true;
    }
    if (won) {
        item_set_state(it, ITEM_EXP_TOKEN, true);
    }
    m->won = won;
}

enum engine_status
engine_mget(struct engine *e, struct slice key, struct engine_mget *m,
            struct item **out)
{
    uint64_t hv = engine_hash(key);
    enum engine_status st = ENGINE_OK;

    m->created = m->fetched = m->token_seen = m->stale = m->won = false;
    m->last_access = 0;
    m->ttl = -1;
    hashtable_lock(&e->ht, hv);
    struct item *it = find_live_locked(e, key, hv, &st);
    if (it != NULL && !item_ref(it)) {
        it = NULL;
        st = ENGINE_NOT_FOUND;
    }
    if (it == NULL && m->vivify) {
        it = vivify_locked(e, key, hv);
        if (it != NULL) {
            m->created = true;
            st = ENGINE_OK;
        }
    }
    if (it != NULL) {
        uint32_t now = engine_clock(e);
        uint32_t time = item_time(it);
        m->fetched = item_has(it, ITEM_FETCHED);
        m->last_access = now > time ? now - time : 0;
        mget_state_locked(e, it, m);
        if (!m->no_bump) {
            mark_accessed(it);
        }
    }
    hashtable_unlock(&e->ht, hv);
    *out = it;
    return st;
}

/*
 * md I: the item stays, marked stale with token-sent cleared and a new
 * CAS. Rewritten in place when nobody has it pinned (a reader may be
 * sending its CAS), else replaced by a copy.
 */
static enum engine_status
invalidate_locked(struct engine *e, struct item *it, uint64_t hv,
                  const struct engine_mdelete *d)
{
    if (atomic_load_explicit(&it->refcount, memory_order_acquire) != 1) {
        struct slice key = slice_make(item_key(it), it->nkey);
        struct item *n;
        if (item_create(e, key, item_flags(it), item_exptime(it), it->nbytes,
                        &n) != ENGINE_OK) {
            return ENGINE_NO_MEMORY;
        }
        item_copy_value(n, 0, it);
        if (item_has(it, ITEM_BINKEY)) {
            item_set_iflags(n, ITEM_BINKEY);
        }
        replace_locked(e, it, n, hv, false);
        item_unref(e, n, NULL); /* still linked: only our creation pin goes */
        it = n;
    } else {
        item_set_cas(it, engine_next_cas(e));
    }
    if (d->has_exptime) {
        item_set_exptime(it, rel_time(e, d->exptime));
    }
    item_set_state(it, ITEM_EXP_STALE, true);
    item_set_state(it, ITEM_EXP_TOKEN, false);
    return ENGINE_OK;
}

enum engine_status
engine_mdelete(struct engine *e, struct slice key,
               const struct engine_mdelete *d, unsigned *cls)
{
    uint64_t hv = engine_hash(key);
    enum engine_status st;

    hashtable_lock(&e->ht, hv);
    struct item *it = find_live_locked(e, key, hv, &st);
    if (it != NULL && cls != NULL) {
        *cls = engine_item_class(e, it);
    }
    if (it == NULL) {
        st = ENGINE_NOT_FOUND;
    } else if (d->cas_compare && item_cas(it) != d->cas) {
        st = ENGINE_EXISTS;
    } else if (d->invalidate) {
        st = invalidate_locked(e, it, hv, d);
    } else {
        engine_unlink_locked(e, it, hv, NULL);
        st = ENGINE_OK;
    }
    hashtable_unlock(&e->ht, hv);
    return st;
}

/* ma N: links a new item holding `initial`; NULL if it cannot. */
static struct item *
vivify_number_locked(struct engine *e, struct slice key, uint64_t initial,
                     uint64_t hv)
{
    char num[24];
    int len = snprintf(num, sizeof(num), "%" PRIu64, initial);
    struct item *it;

    if (item_create(e, key, 0, 0, (size_t)len, &it) != ENGINE_OK) {
        return NULL;
    }
    item_write(it, 0, num, (size_t)len);
    link_locked(e, it, hv);
    item_unref(e, it, NULL); /* still linked: only our creation pin goes */
    return it;
}

enum engine_status
engine_marith(struct engine *e, struct slice key, struct engine_marith *a)
{
    uint64_t hv = engine_hash(key);
    enum engine_status st;
    struct item *linked = NULL;

    a->created = false;
    a->value = 0;
    a->cas_out = 0;
    a->ttl = -1;
    a->cls = 0;
    hashtable_lock(&e->ht, hv);
    struct item *it = find_live_locked(e, key, hv, &st);
    if (it != NULL) {
        a->cls = engine_item_class(e, it);
        st = arith_locked(e, it, hv, a->incr, a->delta,
                          a->cas_compare ? &a->cas : NULL, &a->value, &linked);
    } else if (!a->vivify) {
        st = ENGINE_NOT_FOUND;
    } else {
        linked = vivify_number_locked(e, key, a->initial, hv);
        st = linked != NULL ? ENGINE_OK : ENGINE_NOT_STORED;
        a->created = linked != NULL;
        a->value = a->initial;
    }
    if (st == ENGINE_OK) {
        for (size_t i = 0; i < a->nops; i++) {
            switch (a->ops[i]) {
            case EMETA_TOUCH:
                item_set_exptime(linked, rel_time(e, a->touch_exptime));
                break;
            case EMETA_VIVIFY:
                if (a->created) {
                    item_set_exptime(linked, rel_time(e, a->vivify_exptime));
                }
                break;
            case EMETA_RECACHE:
                break;
            case EMETA_TTL:
                a->ttl = ttl_of(e, linked);
                break;
            }
        }
        a->cas_out = item_cas(linked);
    }
    hashtable_unlock(&e->ht, hv);
    return st;
}

enum engine_status
engine_debug(struct engine *e, struct slice key, struct engine_debug *d)
{
    uint64_t hv = engine_hash(key);
    enum engine_status st;

    hashtable_lock(&e->ht, hv);
    struct item *it = find_live_locked(e, key, hv, &st);
    if (it != NULL) {
        uint32_t now = engine_clock(e);
        uint32_t exp = item_exptime(it);
        uint32_t time = item_time(it);
        d->exp = exp == 0 ? -1 : (int64_t)now - (int64_t)exp;
        d->la = now > time ? now - time : 0;
        d->cas = item_cas(it);
        d->fetched = item_has(it, ITEM_FETCHED);
        d->binary = item_has(it, ITEM_BINKEY);
        d->size = item_msize(it);
        d->cls = engine_msize_class(e, d->size);
        memcpy(d->keybuf, item_key(it), it->nkey);
        d->key = slice_make(d->keybuf, it->nkey);
        st = ENGINE_OK;
    } else {
        st = ENGINE_NOT_FOUND;
    }
    hashtable_unlock(&e->ht, hv);
    return st;
}

void
engine_classes(const struct engine *e, engine_class_fn fn, void *ctx)
{
    for (unsigned id = 1; id <= e->slab.nclasses; id++) {
        fn(ctx, id, e->slab.classes[id].size, e->slab.classes[id].perslab);
    }
}

void
engine_item_info(const struct engine *e, const struct item *it,
                 struct engine_item_info *out)
{
    uint32_t exp = item_exptime(it);

    out->cls = engine_msize_class(e, item_msize(it));
    out->nbytes = it->nbytes;
    out->ttl = exp == 0 ? 0 : exp - engine_clock(e);
}

enum engine_status
engine_peek(struct engine *e, struct slice key, struct engine_item_info *out)
{
    uint64_t hv = engine_hash(key);
    enum engine_status st = ENGINE_OK;

    hashtable_lock(&e->ht, hv);
    struct item *it = find_live_locked(e, key, hv, &st);
    if (it != NULL) {
        engine_item_info(e, it, out);
    }
    hashtable_unlock(&e->ht, hv);
    return st;
}

/* ---- flush_all ------------------------------------------------------ */

/*
 * As memcached: the deadline T (now, or the delay as an exptime) becomes
 * flush_time = T - 1 with CAS on (T without), and a flush that is already
 * due also takes a CAS marker so that items stored in this very second
 * before the flush die too while later ones live. Unlike memcached, a
 * later delayed flush never revives items an earlier marker killed.
 */
void
engine_flush(struct engine *e, int64_t delay)
{
    pthread_mutex_lock(&e->flush_lock);
    uint32_t now = engine_clock(e);
    uint32_t deadline = delay > 0 ? rel_time(e, delay) : now;
    if (e->cfg.cas_enabled) {
        uint32_t ftime = deadline - 1;
        atomic_store_explicit(&e->flush_time, ftime, memory_order_relaxed);
        if (ftime <= now) {
            uint64_t marker = engine_next_cas(e);
            if (ftime != 0) {
                atomic_store_explicit(&e->flush_cas, marker,
                                      memory_order_relaxed);
            }
        }
    } else {
        atomic_store_explicit(&e->flush_time, deadline, memory_order_relaxed);
    }
    pthread_mutex_unlock(&e->flush_lock);
}

/* ---- stats: engine_stats.c ----------------------------------------- */
