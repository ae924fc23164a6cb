/*
 * stats - counter tables. Command counters live in one block per worker
 * thread: only the owning worker writes its block (a relaxed load and a
 * relaxed store, no lock prefix on the hot path), and `stats` sums all
 * blocks with relaxed loads from any thread. Connection gauges shared by
 * the listener and the workers are true atomics (rarely written).
 *
 * The `stats` reply is cmd/cmd_stats.c's GENERAL_STATS table, which
 * lists memcached's lines in memcached's order and says where each value
 * comes from (these counters, the engine, net's gauges). Most counters
 * print under their own name, which is memcached's; conn_oom prints as
 * `malloc_fails`. The help strings document; they are not printed.
 * `stats reset` does not write these blocks: cmd keeps the sums at the
 * last reset and reports the difference.
 */
#pragma once

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* clang-format off */
/*      name               help                                          */
#define STATS_THREAD(X)                                                  \
    X(cmd_get,             "keys requested by get, gets, gat, gats")     \
    X(cmd_set,             "storage commands whose data was read")       \
    X(cmd_flush,           "flush_all commands")                         \
    X(cmd_touch,           "touch commands and gat/gats keys")           \
    X(cmd_meta,            "meta debug (me) commands")                   \
    X(get_hits,            "keys found by get-type commands")            \
    X(get_misses,          "keys not found by get-type commands")        \
    X(get_expired,         "get misses because the item had expired")    \
    X(get_flushed,         "get misses because of flush_all")            \
    X(delete_misses,       "deletes of missing keys")                    \
    X(delete_hits,         "deletes that removed an item")               \
    X(incr_misses,         "incr of missing keys")                       \
    X(incr_hits,           "successful incr")                            \
    X(decr_misses,         "decr of missing keys")                       \
    X(decr_hits,           "successful decr")                            \
    X(cas_misses,          "cas on missing keys")                        \
    X(cas_hits,            "cas that stored")                            \
    X(cas_badval,          "cas with a stale unique")                    \
    X(touch_hits,          "touches of existing items")                  \
    X(touch_misses,        "touches of missing items")                   \
    X(store_too_large,     "stores refused as larger than -I")           \
    X(store_no_memory,     "stores refused for lack of memory")          \
    X(auth_cmds,           "authentication attempts")                    \
    X(auth_errors,         "failed authentication attempts")             \
    X(bytes_read,          "bytes read from clients")                    \
    X(bytes_written,       "bytes written to clients")                   \
    X(conn_yields,         "times a connection yielded after -R requests") \
    X(conn_oom,            "connection buffer allocation failures")    \
    X(response_obj_oom,    "connections closed: a reply could not be queued") \
    X(read_buf_oom,        "connections closed: no read buffer (-o read_buf_mem_limit)") \
    X(idle_kicks,          "idle connections closed (-o idle_timeout)")
/* clang-format on */

/*
 * Per-class command counters, `stats slabs` fields in memcached's order.
 * Counted by memcached's class id of the item the command hit (ids
 * 1..STATS_MAX_CLASS_ID; 0 unused).
 */
/* clang-format off */
#define STATS_CLASS_OPS(X) \
    X(get_hits)            \
    X(cmd_set)             \
    X(delete_hits)         \
    X(incr_hits)           \
    X(decr_hits)           \
    X(cas_hits)            \
    X(cas_badval)          \
    X(touch_hits)
/* clang-format on */

#define STATS_MAX_CLASS_ID 63

/*
 * Get hits by the LRU segment of the item hit (stats items hits_to_*),
 * in engine_seg order; not `stats slabs` fields.
 */
/* clang-format off */
#define STATS_CLASS_SEGS(X) \
    X(hits_to_hot)          \
    X(hits_to_warm)         \
    X(hits_to_cold)         \
    X(hits_to_temp)
/* clang-format on */

enum stats_class_op {
#define STATS_OP_ENUM(name) STATS_OP_##name,
    STATS_CLASS_OPS(STATS_OP_ENUM) STATS_CLASS_SEGS(STATS_OP_ENUM)
#undef STATS_OP_ENUM
        STATS_NOPS
};

struct stats_thread {
#define STATS_FIELD(name, help) _Atomic uint64_t name;
    STATS_THREAD(STATS_FIELD)
#undef STATS_FIELD
    _Atomic uint64_t class_ops[STATS_MAX_CLASS_ID + 1][STATS_NOPS];
};

/* Plain totals, summed over threads. */
struct stats_totals {
#define STATS_FIELD(name, help) uint64_t name;
    STATS_THREAD(STATS_FIELD)
#undef STATS_FIELD
    uint64_t class_ops[STATS_MAX_CLASS_ID + 1][STATS_NOPS];
};

/* Owner-thread increment: no atomic read-modify-write needed. */
static inline void
stats_add(_Atomic uint64_t *c, uint64_t n)
{
    uint64_t v = atomic_load_explicit(c, memory_order_relaxed);
    atomic_store_explicit(c, v + n, memory_order_relaxed);
}

#define STATS_INCR(block, name) stats_add(&(block)->name, 1)

/* Counts op for memcached class id (engine_item_class of the item hit). */
#define STATS_CLASS_INCR(block, id, op) \
    stats_add(&(block)->class_ops[(id)][STATS_OP_##op], 1)

void stats_sum(struct stats_thread *const *blocks, size_t n,
               struct stats_totals *out);

/* t -= base, counter by counter (stats reset's baseline). */
void stats_subtract(struct stats_totals *t, const struct stats_totals *base);

/* Writes totals into a block (relaxed stores; stats reset's baseline). */
void stats_store(struct stats_thread *block, const struct stats_totals *t);

/* Connection gauges and counters: written by net, read by `stats`. */
struct stats_conns {
    _Atomic uint64_t curr_connections;
    _Atomic uint64_t total_connections;
    _Atomic uint64_t rejected_connections;
    _Atomic uint64_t connection_structures;
    _Atomic uint64_t reserved_fds;    /* counted against -c, see listen.c */
    _Atomic uint64_t accepting_conns; /* 0 while accepting is paused */
    _Atomic uint64_t listen_disabled_num;
    _Atomic uint64_t time_in_listen_disabled_us; /* added when resumed */
    /* buffer gauges, in memcached's names (net keeps them) */
    _Atomic uint64_t response_obj_count; /* reply queue blocks held */
    _Atomic uint64_t response_obj_bytes;
    _Atomic uint64_t read_buf_count; /* input buffers held */
    _Atomic uint64_t read_buf_bytes;
    _Atomic uint64_t read_buf_bytes_free; /* held but idle */
    /* TLS (net/tls.c), printed with -Z */
    _Atomic uint64_t ssl_handshake_errors; /* failed at the first attempt */
    _Atomic uint64_t ssl_new_sessions;     /* with -o ssl_session_cache */
    /* CLOCK_MONOTONIC seconds of the last reload; 0: the startup load */
    _Atomic uint64_t ssl_cert_loaded_s;
};

static inline uint64_t
stats_get(_Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}
