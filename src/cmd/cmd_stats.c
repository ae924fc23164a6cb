#include "cmd/cmd_stats.h"

#include "cmd/logger.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* Everything the general `stats` reads, gathered once per report. */
struct general {
    struct cmd_server *srv;
    struct stats_totals t; /* since start or the last reset */
    struct engine_stats es;
    struct engine_crawler_stats cs;
    struct logger_totals lt;
    struct rusage ru;
};

/* When memcached prints a line (cond column of GENERAL_STATS). */
#define COND_ALL(g)           true
#define COND_MAXCONNS_FAST(g) ((g)->srv->maxconns_fast)
#define COND_IDLE_TIMEOUT(g)  ((g)->srv->idle_timeout > 0)
#define COND_SLAB_REASSIGN(g) ((g)->srv->slab_reassign)
#define COND_LRU_CRAWLER(g)   (engine_crawler_enabled((g)->srv->engine))
#define COND_SEGMENTED(g)     ((g)->srv->lru_segmented)
#define COND_TLS(g)           ((g)->srv->tls)
#define COND_TLS_SESSIONS(g)  ((g)->srv->tls && (g)->srv->tls_session_cache)

#define CONN(g, f) stats_get(&(g)->srv->conns->f)

/*
 * The general `stats`, one line per row in memcached 1.6.18's order: name,
 * kind (U64, TEXT or TIMEVAL), CTR for a counter that `stats reset` zeroes
 * or since start / GAUGE, when it is printed, and where the value comes
 * from. Rows whose mechanism memoria does not have yet (page mover, LRU
 * crawler, segmented LRU maintainer, NAPI, extstore-free builds) read 0
 * as memcached's idle mechanism would; docs/COMPAT.md#stats-of-idle-mechanisms
 * lists them and the issue that makes each live.
 */
/* clang-format off */
#define GENERAL_STATS(X)                                                      \
    X(pid,                          U64, GAUGE, ALL, g->srv->pid)               \
    X(uptime,                       U64, GAUGE, ALL, engine_uptime(g->srv->engine)) \
    X(time,                         U64, GAUGE, ALL, unix_now(g))               \
    X(version,                      TEXT, GAUGE, ALL, g->srv->version)          \
    X(libevent,                     TEXT, GAUGE, ALL, g->srv->libevent_version) \
    X(pointer_size,                 U64, GAUGE, ALL, 8 * sizeof(void *))        \
    X(rusage_user,                  TIMEVAL, CTR, ALL, g->ru.ru_utime)          \
    X(rusage_system,                TIMEVAL, CTR, ALL, g->ru.ru_stime)          \
    X(max_connections,              U64, GAUGE, ALL, g->srv->max_connections)   \
    X(curr_connections,             U64, GAUGE, ALL, CONN(g, curr_connections)) \
    X(total_connections,            U64, CTR, ALL, CONN(g, total_connections))  \
    X(rejected_connections,         U64, CTR, MAXCONNS_FAST,                    \
      CONN(g, rejected_connections))                                          \
    X(connection_structures,        U64, GAUGE, ALL,                            \
      CONN(g, connection_structures))                                         \
    X(response_obj_oom,             U64, CTR, ALL, g->t.response_obj_oom)       \
    X(response_obj_count,           U64, GAUGE, ALL, CONN(g, response_obj_count)) \
    X(response_obj_bytes,           U64, GAUGE, ALL, CONN(g, response_obj_bytes)) \
    X(read_buf_count,               U64, GAUGE, ALL, CONN(g, read_buf_count))   \
    X(read_buf_bytes,               U64, GAUGE, ALL, CONN(g, read_buf_bytes))   \
    X(read_buf_bytes_free,          U64, GAUGE, ALL, CONN(g, read_buf_bytes_free)) \
    X(read_buf_oom,                 U64, CTR, ALL, g->t.read_buf_oom)           \
    X(reserved_fds,                 U64, GAUGE, ALL, CONN(g, reserved_fds))     \
    X(cmd_get,                      U64, CTR, ALL, g->t.cmd_get)                \
    X(cmd_set,                      U64, CTR, ALL, g->t.cmd_set)                \
    X(cmd_flush,                    U64, CTR, ALL, g->t.cmd_flush)              \
    X(cmd_touch,                    U64, CTR, ALL, g->t.cmd_touch)              \
    X(cmd_meta,                     U64, CTR, ALL, g->t.cmd_meta)               \
    X(get_hits,                     U64, CTR, ALL, g->t.get_hits)               \
    X(get_misses,                   U64, CTR, ALL, g->t.get_misses)             \
    X(get_expired,                  U64, CTR, ALL, g->t.get_expired)            \
    X(get_flushed,                  U64, CTR, ALL, g->t.get_flushed)            \
    X(delete_misses,                U64, CTR, ALL, g->t.delete_misses)          \
    X(delete_hits,                  U64, CTR, ALL, g->t.delete_hits)            \
    X(incr_misses,                  U64, CTR, ALL, g->t.incr_misses)            \
    X(incr_hits,                    U64, CTR, ALL, g->t.incr_hits)              \
    X(decr_misses,                  U64, CTR, ALL, g->t.decr_misses)            \
    X(decr_hits,                    U64, CTR, ALL, g->t.decr_hits)              \
    X(cas_misses,                   U64, CTR, ALL, g->t.cas_misses)             \
    X(cas_hits,                     U64, CTR, ALL, g->t.cas_hits)               \
    X(cas_badval,                   U64, CTR, ALL, g->t.cas_badval)             \
    X(touch_hits,                   U64, CTR, ALL, g->t.touch_hits)             \
    X(touch_misses,                 U64, CTR, ALL, g->t.touch_misses)           \
    X(store_too_large,              U64, CTR, ALL, g->t.store_too_large)        \
    X(store_no_memory,              U64, CTR, ALL, g->t.store_no_memory)        \
    X(auth_cmds,                    U64, CTR, ALL, g->t.auth_cmds)              \
    X(auth_errors,                  U64, CTR, ALL, g->t.auth_errors)            \
    X(idle_kicks,                   U64, CTR, IDLE_TIMEOUT, g->t.idle_kicks)    \
    X(bytes_read,                   U64, CTR, ALL, g->t.bytes_read)             \
    X(bytes_written,                U64, CTR, ALL, g->t.bytes_written)          \
    X(limit_maxbytes,               U64, GAUGE, ALL,                            \
      engine_mem_limit(g->srv->engine))                                      \
    X(accepting_conns,              U64, GAUGE, ALL, CONN(g, accepting_conns))  \
    X(listen_disabled_num,          U64, CTR, ALL, CONN(g, listen_disabled_num)) \
    X(time_in_listen_disabled_us,   U64, CTR, ALL,                              \
      CONN(g, time_in_listen_disabled_us))                                    \
    X(threads,                      U64, GAUGE, ALL, g->srv->nthreads)          \
    X(conn_yields,                  U64, CTR, ALL, g->t.conn_yields)            \
    X(hash_power_level,             U64, GAUGE, ALL, g->es.hash_power_level)    \
    X(hash_bytes,                   U64, GAUGE, ALL, g->es.hash_bytes)          \
    X(hash_is_expanding,            U64, GAUGE, ALL, g->es.hash_is_expanding)   \
    X(slab_reassign_rescues,         U64, CTR, SLAB_REASSIGN,                   \
      g->es.slab_reassign_rescues)                                              \
    X(slab_reassign_chunk_rescues,   U64, CTR, SLAB_REASSIGN,                   \
      g->es.slab_reassign_chunk_rescues)                                        \
    X(slab_reassign_evictions_nomem, U64, CTR, SLAB_REASSIGN,                   \
      g->es.slab_reassign_evictions_nomem)                                      \
    X(slab_reassign_inline_reclaim,  U64, CTR, SLAB_REASSIGN,                   \
      g->es.slab_reassign_inline_reclaim)                                       \
    X(slab_reassign_busy_items,      U64, CTR, SLAB_REASSIGN,                   \
      g->es.slab_reassign_busy_items)                                           \
    X(slab_reassign_busy_deletes,    U64, CTR, SLAB_REASSIGN,                   \
      g->es.slab_reassign_busy_deletes)                                         \
    X(slab_reassign_running,         U64, GAUGE, SLAB_REASSIGN,                 \
      g->es.slab_reassign_running)                                              \
    X(slabs_moved,                  U64, CTR, SLAB_REASSIGN, g->es.slabs_moved) \
    X(lru_crawler_running,          U64, GAUGE, LRU_CRAWLER, g->cs.running)     \
    X(lru_crawler_starts,           U64, CTR, LRU_CRAWLER, g->cs.starts)        \
    X(lru_maintainer_juggles,       U64, CTR, SEGMENTED, g->es.lru_maintainer_juggles) \
    X(malloc_fails,                 U64, CTR, ALL, g->t.conn_oom)               \
    X(log_worker_dropped,           U64, CTR, ALL, g->lt.worker_dropped)        \
    X(log_worker_written,           U64, CTR, ALL, g->lt.worker_written)        \
    X(log_watcher_skipped,          U64, CTR, ALL, g->lt.watcher_skipped)       \
    X(log_watcher_sent,             U64, CTR, ALL, g->lt.watcher_sent)          \
    X(log_watchers,                 U64, GAUGE, ALL, g->lt.watchers)            \
    X(ssl_new_sessions,             U64, CTR, TLS_SESSIONS,                     \
      CONN(g, ssl_new_sessions))                                              \
    X(ssl_handshake_errors,         U64, CTR, TLS, CONN(g, ssl_handshake_errors)) \
    X(time_since_server_cert_refresh, U64, GAUGE, TLS, cert_age(g))             \
    X(unexpected_napi_ids,          U64, CTR, ALL, 0)                           \
    X(round_robin_fallback,         U64, CTR, ALL, 0)                           \
    X(bytes,                        U64, GAUGE, ALL, g->es.bytes)               \
    X(curr_items,                   U64, GAUGE, ALL, g->es.curr_items)          \
    X(total_items,                  U64, CTR, ALL, g->es.total_items)           \
    X(slab_global_page_pool,        U64, GAUGE, ALL, g->es.slab_global_page_pool) \
    X(expired_unfetched,            U64, CTR, ALL, g->es.expired_unfetched)     \
    X(evicted_unfetched,            U64, CTR, ALL, g->es.evicted_unfetched)     \
    X(evicted_active,               U64, CTR, SEGMENTED, g->es.evicted_active)  \
    X(evictions,                    U64, CTR, ALL, g->es.evictions)             \
    X(reclaimed,                    U64, CTR, ALL, g->es.reclaimed)             \
    X(crawler_reclaimed,            U64, CTR, ALL, g->es.crawler_reclaimed)     \
    X(crawler_items_checked,        U64, CTR, ALL, g->es.crawler_items_checked) \
    X(lrutail_reflocked,            U64, CTR, ALL, 0)                           \
    X(moves_to_cold,                U64, CTR, SEGMENTED, g->es.moves_to_cold)   \
    X(moves_to_warm,                U64, CTR, SEGMENTED, g->es.moves_to_warm)   \
    X(moves_within_lru,             U64, CTR, SEGMENTED, g->es.moves_within_lru) \
    X(direct_reclaims,              U64, CTR, SEGMENTED, g->es.direct_reclaims) \
    X(lru_bumps_dropped,            U64, CTR, SEGMENTED, 0)
/* clang-format on */

static uint64_t
unix_now(const struct general *g)
{
    const struct engine *e = g->srv->engine;
    return (uint64_t)(engine_epoch_unix(e) + engine_now(e));
}

/*
 * Seconds since the TLS certificates were last loaded. memcached stamps
 * the startup load with its clock's zero, which it sets 60 seconds before
 * what its uptime counts from, so until the first reload the line reads
 * uptime + 60.
 */
static uint64_t
cert_age(const struct general *g)
{
    uint64_t at = CONN(g, ssl_cert_loaded_s);
    struct timespec ts;

    if (at == 0) {
        return engine_uptime(g->srv->engine) + 60;
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec > at ? (uint64_t)ts.tv_sec - at : 0;
}

/* The command counters since the last `stats reset`. */
static void
sum_since_reset(struct cmd_server *srv, struct stats_totals *t)
{
    struct stats_thread *base = &srv->reset_base;
    struct stats_totals b;

    /* The base first: the sums read after it can only be larger. */
    stats_sum(&base, 1, &b);
    stats_sum(srv->threads, srv->nthreads, t);
    stats_subtract(t, &b);
}

void
cmd_stats_reset(struct cmd_server *srv)
{
    struct stats_totals t;

    stats_sum(srv->threads, srv->nthreads, &t);
    stats_store(&srv->reset_base, &t);
    struct stats_conns *c = srv->conns;
    atomic_store_explicit(&c->total_connections, 0, memory_order_relaxed);
    atomic_store_explicit(&c->rejected_connections, 0, memory_order_relaxed);
    atomic_store_explicit(&c->listen_disabled_num, 0, memory_order_relaxed);
    atomic_store_explicit(&c->ssl_handshake_errors, 0, memory_order_relaxed);
    atomic_store_explicit(&c->ssl_new_sessions, 0, memory_order_relaxed);
    engine_stats_reset(srv->engine);
}

static void
emit_U64(cmd_stat_fn fn, void *ctx, const char *name, bool counter, uint64_t v)
{
    struct cmd_stat st = {
        .name = name, .kind = CMD_STAT_U64, .counter = counter, .u = v};
    fn(ctx, &st);
}

static void
emit_TEXT(cmd_stat_fn fn, void *ctx, const char *name, bool counter,
          const char *v)
{
    struct cmd_stat st = {
        .name = name, .kind = CMD_STAT_TEXT, .counter = counter, .text = v};
    fn(ctx, &st);
}

static void
emit_TIMEVAL(cmd_stat_fn fn, void *ctx, const char *name, bool counter,
             struct timeval v)
{
    struct cmd_stat st = {
        .name = name, .kind = CMD_STAT_TIMEVAL, .counter = counter, .tv = v};
    fn(ctx, &st);
}

#define IS_CTR   true
#define IS_GAUGE false

void
cmd_stats_general(struct cmd_server *srv, cmd_stat_fn fn, void *ctx)
{
    struct general gen = {.srv = srv};
    struct general *g = &gen;

    sum_since_reset(srv, &g->t);
    engine_stats(srv->engine, &g->es);
    engine_crawler_stats(srv->engine, &g->cs);
    logger_totals(srv->logger, &g->lt);
    getrusage(RUSAGE_SELF, &g->ru);

#define GENERAL_EMIT(name, kind, type, cond, expr)    \
    if (COND_##cond(g)) {                             \
        emit_##kind(fn, ctx, #name, IS_##type, expr); \
    }
    GENERAL_STATS(GENERAL_EMIT)
#undef GENERAL_EMIT
}

void
cmd_stats_classes(struct cmd_server *srv, cmd_class_fn fn, void *ctx)
{
    struct stats_totals t;
    unsigned max = engine_class_max(srv->engine);

    sum_since_reset(srv, &t);
    for (unsigned id = 1; id <= max && id <= STATS_MAX_CLASS_ID; id++) {
        struct cmd_class_report cr;

        memset(&cr, 0, sizeof(cr));
        if (!engine_class_stats(srv->engine, id, &cr.e)) {
            continue;
        }
        memcpy(cr.ops, t.class_ops[id], sizeof(cr.ops));
        bool ops = false;
        for (size_t op = 0; op < STATS_NOPS; op++) {
            ops = ops || cr.ops[op] != 0;
        }
        /*
         * A class whose items sit in pages counted under its neighbour
         * (a fine class that straddles memcached's boundary, see
         * docs/ENGINE.md#class-ids) is still listed by `stats slabs`,
         * with its own counters and no pages.
         */
        cr.in_items = cr.e.number > 0;
        cr.in_slabs = cr.e.total_pages > 0 || cr.in_items || ops;
        if (!cr.in_slabs) {
            continue;
        }
        /* get hits by the segment of the item hit (engine_hit_class) */
        cr.hits_to_hot = cr.ops[STATS_OP_hits_to_hot];
        cr.hits_to_warm = cr.ops[STATS_OP_hits_to_warm];
        cr.hits_to_cold = cr.ops[STATS_OP_hits_to_cold];
        cr.hits_to_temp = cr.ops[STATS_OP_hits_to_temp];
        fn(ctx, &cr);
    }
}

void
cmd_stats_slab_totals(struct cmd_server *srv, struct cmd_slab_totals *out)
{
    struct engine_stats es;
    unsigned max = engine_class_max(srv->engine);

    memset(out, 0, sizeof(*out));
    for (unsigned id = 1; id <= max; id++) {
        struct engine_class_stats cs;
        if (engine_class_stats(srv->engine, id, &cs) && cs.total_pages > 0) {
            out->active_slabs++;
        }
    }
    engine_stats(srv->engine, &es);
    out->total_malloced = es.total_malloced;
}

void
cmd_stats_settings(struct cmd_server *srv, cmd_line_fn fn, void *ctx)
{
    struct cmd_settings_live live = {
        .verbosity =
            atomic_load_explicit(&srv->verbosity, memory_order_relaxed),
        .detail_enabled =
            atomic_load_explicit(&srv->detail_on, memory_order_relaxed),
        .maxbytes = engine_mem_limit(srv->engine),
        .oldest = engine_oldest(srv->engine),
    };

    if (srv->settings != NULL) {
        srv->settings(srv->settings_ctx, &live, fn, ctx);
    }
}
