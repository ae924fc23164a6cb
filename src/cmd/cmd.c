#include "cmd/cmd.h"

#include "cmd/detail.h"
#include "cmd/session.h"
#include "lib/outq.h"
#include "proto/text.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

static enum engine_store_mode
store_mode(enum verb v)
{
    switch (v) {
    case VERB_ADD:
        return STORE_ADD;
    case VERB_REPLACE:
        return STORE_REPLACE;
    case VERB_APPEND:
        return STORE_APPEND;
    case VERB_PREPEND:
        return STORE_PREPEND;
    case VERB_CAS:
        return STORE_CAS;
    default:
        return STORE_SET;
    }
}

void
cmd_trace_slow(const struct cmd_ctx *c, bool noreply, const char *line,
               size_t len)
{
    fprintf(stderr, ">%d %s%.*s\n", c->fd, noreply ? "NOREPLY " : "", (int)len,
            line);
}

static void
trace_reply(struct cmd_ctx *c, bool noreply, enum text_reply r)
{
    if (c->verbose >= 2) {
        struct slice l = text_reply_line(r);
        cmd_trace_slow(c, noreply, l.ptr, l.len - 2);
    }
}

static void
trace_error(struct cmd_ctx *c, bool noreply, const char *kind, const char *msg)
{
    if (c->verbose >= 2) {
        fprintf(stderr, ">%d %s%s %s\n", c->fd, noreply ? "NOREPLY " : "", kind,
                msg);
    }
}

void
cmd_client_error(struct cmd_ctx *c, const char *msg)
{
    trace_error(c, false, "CLIENT_ERROR", msg);
    text_compose_client_error(c->out, msg);
}

void
cmd_server_error(struct cmd_ctx *c, const char *msg)
{
    trace_error(c, false, "SERVER_ERROR", msg);
    text_compose_server_error(c->out, msg);
}

static void
reply(struct cmd_ctx *c, const struct request *req, enum text_reply r)
{
    trace_reply(c, req->noreply, r);
    if (!req->noreply) {
        text_compose_reply(c->out, r);
    }
}

static void
client_error(struct cmd_ctx *c, const struct request *req, const char *msg)
{
    trace_error(c, req->noreply, "CLIENT_ERROR", msg);
    if (!req->noreply) {
        text_compose_client_error(c->out, msg);
    }
}

static void
server_error(struct cmd_ctx *c, const struct request *req, const char *msg)
{
    trace_error(c, req->noreply, "SERVER_ERROR", msg);
    if (!req->noreply) {
        text_compose_server_error(c->out, msg);
    }
}

static void
count_miss(struct stats_thread *st, enum engine_status s)
{
    STATS_INCR(st, get_misses);
    if (s == ENGINE_EXPIRED) {
        STATS_INCR(st, get_expired);
    } else if (s == ENGINE_FLUSHED) {
        STATS_INCR(st, get_flushed);
    }
}

static void
send_value(struct cmd_ctx *c, struct item *it, bool with_cas)
{
    struct item_view v;

    if (!session_pin_reserve(c->session)) {
        STATS_INCR(c->st, conn_oom);
        engine_release(c->srv->engine, it);
        return;
    }
    engine_view(it, &v);
    if (c->verbose >= 2) {
        fprintf(stderr, ">%d sending key %.*s\n", c->fd, (int)v.key.len,
                v.key.ptr);
    }
    text_compose_value(c->out, v.key, v.flags, v.nbytes, v.segs, v.nseg,
                       with_cas, v.cas);
    if (v.nbytes > 0) {
        session_pin(c->session, it);
    } else {
        engine_release(c->srv->engine, it);
    }
}

static void
run_get(struct cmd_ctx *c, const struct request *req)
{
    bool with_cas = req->verb == VERB_GETS || req->verb == VERB_GATS;
    bool touch = req->verb == VERB_GAT || req->verb == VERB_GATS;
    struct slice rest = req->keys;
    struct slice key;

    while (text_next_key(&rest, &key)) {
        struct item *it = NULL;
        enum engine_status s;
        /* memcached gives each key its own reply object (see UDP). */
        outq_mark(c->out, OUTQ_MARK_VALUE);
        if (touch) {
            STATS_INCR(c->st, cmd_touch);
            s = engine_get_touch(c->srv->engine, key, req->exptime, &it);
            if (s == ENGINE_OK) {
                STATS_INCR(c->st, touch_hits);
            } else {
                STATS_INCR(c->st, touch_misses);
            }
        } else {
            STATS_INCR(c->st, cmd_get);
            s = engine_get(c->srv->engine, key, &it);
            if (s == ENGINE_OK) {
                STATS_INCR(c->st, get_hits);
            } else {
                count_miss(c->st, s);
            }
        }
        cmd_detail_count(c->srv, key,
                         s == ENGINE_OK ? CMD_DETAIL_HIT : CMD_DETAIL_GET);
        cmd_log_get(c, key, s, it);
        if (s == ENGINE_OK) {
            send_value(c, it, with_cas);
        }
    }
    trace_reply(c, false, TEXT_END);
    text_compose_reply(c->out, TEXT_END);
}

/* ---- watch log producers --------------------------------------------- */

static const char *
get_status(enum engine_status s)
{
    switch (s) {
    case ENGINE_OK:
        return "found";
    case ENGINE_EXPIRED:
        return "expired";
    case ENGINE_FLUSHED:
        return "flushed";
    default:
        return "not_found";
    }
}

/* -vvv: memcached's line for a lookup. */
static void
trace_lookup(struct slice key, enum engine_status s)
{
    static const char *const nuked[] = {
        [ENGINE_EXPIRED] = " -nuked by expire",
        [ENGINE_FLUSHED] = " -nuked by flush",
    };

    if (s == ENGINE_OK || s == ENGINE_EXPIRED || s == ENGINE_FLUSHED) {
        fprintf(stderr, "> FOUND KEY %.*s%s\n", (int)key.len, key.ptr,
                s == ENGINE_OK ? "" : nuked[s]);
    } else {
        fprintf(stderr, "> NOT FOUND %.*s\n", (int)key.len, key.ptr);
    }
}

void
cmd_log_get_slow(struct cmd_ctx *c, struct slice key, enum engine_status s,
                 const struct item *it)
{
    struct engine_item_info info = {0};

    if (c->watching & CMD_VVV) {
        trace_lookup(key, s);
    }
    if (!(c->watching & LOG_fetchers)) {
        return;
    }
    if (s == ENGINE_OK) {
        engine_item_info(c->srv->engine, it, &info);
    }
    logger_item_get(c->srv->logger, c->ring, key, get_status(s), info.cls,
                    c->fd, info.nbytes);
}

void
cmd_log_lookup_slow(struct cmd_ctx *c, struct slice key)
{
    struct engine_item_info info = {0};
    enum engine_status s = engine_peek(c->srv->engine, key, &info);

    if (c->watching & CMD_VVV) {
        trace_lookup(key, s);
    }
    if (!(c->watching & LOG_fetchers)) {
        return;
    }
    logger_item_get(c->srv->logger, c->ring, key, get_status(s), info.cls,
                    c->fd, info.nbytes);
}

static const char *
store_status(enum engine_status s)
{
    switch (s) {
    case ENGINE_OK:
        return "stored";
    case ENGINE_EXISTS:
        return "exists";
    case ENGINE_NOT_FOUND:
        return "not_found";
    case ENGINE_TOO_LARGE:
        return "too_large";
    case ENGINE_NO_MEMORY:
        return "no_memory";
    default:
        return "not_stored";
    }
}

static const char *const store_cmds[] = {
    [STORE_SET] = "set",         [STORE_ADD] = "add",
    [STORE_REPLACE] = "replace", [STORE_APPEND] = "append",
    [STORE_PREPEND] = "prepend", [STORE_CAS] = "cas",
};

enum engine_status
cmd_commit_slow(struct cmd_ctx *c, struct item *it,
                const struct engine_store *st, uint64_t *cas_out)
{
    struct engine *e = c->srv->engine;

    /* The item goes to the engine: keep what the lines need. */
    char key[256];
    struct item_view v;
    struct engine_item_info info;
    engine_view(it, &v);
    size_t nkey = v.key.len < sizeof(key) ? v.key.len : sizeof(key);
    memcpy(key, v.key.ptr, nkey);
    struct slice k = slice_make(key, nkey);
    engine_item_info(e, it, &info);
    cmd_log_lookup(c, k);
    enum engine_status s = engine_commit_ex(e, it, st, cas_out);
    if (s == ENGINE_OK &&
        (st->mode == STORE_APPEND || st->mode == STORE_PREPEND)) {
        engine_peek(e, k, &info); /* the joined value's size */
    }
    if (c->watching & LOG_mutations) {
        logger_item_store(c->srv->logger, c->ring, k, store_status(s),
                          store_cmds[st->mode], info.ttl, info.cls, c->fd,
                          info.nbytes);
    }
    return s;
}

static enum cmd_next
run_store(struct cmd_ctx *c, const struct request *req, struct item **reserved)
{
    cmd_detail_count(c->srv, req->key, CMD_DETAIL_SET);
    enum engine_status s =
        engine_reserve(c->srv->engine, store_mode(req->verb), req->key,
                       req->flags, req->exptime, req->nbytes, reserved);

    switch (s) {
    case ENGINE_OK:
        return CMD_DATA;
    case ENGINE_TOO_LARGE:
        STATS_INCR(c->st, store_too_large);
        server_error(c, req, "object too large for cache");
        return CMD_SWALLOW;
    default:
        STATS_INCR(c->st, store_no_memory);
        server_error(c, req, "out of memory storing object");
        return CMD_SWALLOW;
    }
}

void
cmd_store_finish(struct cmd_ctx *c, const struct request *req, struct item *it,
                 bool terminated)
{
    bool is_cas = req->verb == VERB_CAS;

    STATS_INCR(c->st, cmd_set);
    if (!terminated) {
        engine_abort(c->srv->engine, it);
        client_error(c, req, "bad data chunk");
        return;
    }
    struct engine_store store = {.mode = store_mode(req->verb),
                                 .cas = req->cas};
    enum engine_status s = cmd_commit(c, it, &store, NULL);
    switch (s) {
    case ENGINE_OK:
        if (is_cas) {
            STATS_INCR(c->st, cas_hits);
        }
        reply(c, req, TEXT_STORED);
        break;
    case ENGINE_EXISTS:
        STATS_INCR(c->st, cas_badval);
        reply(c, req, TEXT_EXISTS);
        break;
    case ENGINE_NOT_FOUND:
        STATS_INCR(c->st, cas_misses);
        reply(c, req, TEXT_NOT_FOUND);
        break;
    default:
        reply(c, req, TEXT_NOT_STORED);
        break;
    }
}

static void
run_delete(struct cmd_ctx *c, const struct request *req)
{
    cmd_detail_count(c->srv, req->key, CMD_DETAIL_DEL);
    cmd_log_lookup(c, req->key);
    if (engine_delete(c->srv->engine, req->key) == ENGINE_OK) {
        STATS_INCR(c->st, delete_hits);
        reply(c, req, TEXT_DELETED);
    } else {
        STATS_INCR(c->st, delete_misses);
        reply(c, req, TEXT_NOT_FOUND);
    }
}

static void
run_arith(struct cmd_ctx *c, const struct request *req)
{
    bool incr = req->verb == VERB_INCR;
    uint64_t result = 0;
    cmd_log_lookup(c, req->key);
    enum engine_status s =
        engine_arith(c->srv->engine, req->key, incr, req->delta, &result, NULL);

    switch (s) {
    case ENGINE_OK:
        if (incr) {
            STATS_INCR(c->st, incr_hits);
        } else {
            STATS_INCR(c->st, decr_hits);
        }
        if (c->verbose >= 2) {
            fprintf(stderr, ">%d %s%llu\n", c->fd,
                    req->noreply ? "NOREPLY " : "", (unsigned long long)result);
        }
        if (!req->noreply) {
            text_compose_number(c->out, result);
        }
        break;
    case ENGINE_NOT_FOUND:
        if (incr) {
            STATS_INCR(c->st, incr_misses);
        } else {
            STATS_INCR(c->st, decr_misses);
        }
        reply(c, req, TEXT_NOT_FOUND);
        break;
    case ENGINE_NOT_NUMBER:
        client_error(c, req, "cannot increment or decrement non-numeric value");
        break;
    default:
        server_error(c, req, "out of memory");
        break;
    }
}

static void
run_touch(struct cmd_ctx *c, const struct request *req)
{
    STATS_INCR(c->st, cmd_touch);
    cmd_log_lookup(c, req->key);
    if (engine_touch(c->srv->engine, req->key, req->exptime) == ENGINE_OK) {
        STATS_INCR(c->st, touch_hits);
        reply(c, req, TEXT_TOUCHED);
    } else {
        STATS_INCR(c->st, touch_misses);
        reply(c, req, TEXT_NOT_FOUND);
    }
}

static void
run_flush(struct cmd_ctx *c, const struct request *req)
{
    STATS_INCR(c->st, cmd_flush);
    if (!c->srv->flush_enabled) {
        client_error(c, req, "flush_all not allowed");
        return;
    }
    engine_flush(c->srv->engine, req->exptime);
    reply(c, req, TEXT_OK);
}

static void
run_verbosity(struct cmd_ctx *c, const struct request *req)
{
    int level = req->level > 2 ? 2 : (int)req->level;

    atomic_store_explicit(&c->srv->verbosity, level, memory_order_relaxed);
    reply(c, req, TEXT_OK);
}

/* Formats one STAT line; values are small, so a stack buffer suffices. */
static void
stat_u64(struct outq *q, const char *name, uint64_t v)
{
    char num[24];

    snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
    text_compose_stat(q, name, num);
}

static void
stat_timeval(struct outq *q, const char *name, struct timeval tv)
{
    char num[40];

    snprintf(num, sizeof(num), "%lld.%06ld", (long long)tv.tv_sec,
             (long)tv.tv_usec);
    text_compose_stat(q, name, num);
}

static void
stats_general(struct cmd_ctx *c)
{
    struct cmd_server *srv = c->srv;
    struct outq *q = c->out;
    struct stats_totals t;
    struct engine_stats es;
    struct rusage ru;
    uint32_t now = engine_now(srv->engine);

    stats_sum(srv->threads, srv->nthreads, &t);
    engine_stats(srv->engine, &es);
    getrusage(RUSAGE_SELF, &ru);

    stat_u64(q, "pid", (uint64_t)srv->pid);
    stat_u64(q, "uptime", now - 60);
    stat_u64(q, "time", (uint64_t)(engine_epoch_unix(srv->engine) + now));
    text_compose_stat(q, "version", srv->version);
    text_compose_stat(q, "libevent", srv->libevent_version);
    stat_u64(q, "pointer_size", 8 * sizeof(void *));
    stat_timeval(q, "rusage_user", ru.ru_utime);
    stat_timeval(q, "rusage_system", ru.ru_stime);
    stat_u64(q, "max_connections", srv->max_connections);
    stat_u64(q, "curr_connections", stats_get(&srv->conns->curr_connections));
    stat_u64(q, "total_connections", stats_get(&srv->conns->total_connections));
    if (srv->maxconns_fast) {
        stat_u64(q, "rejected_connections",
                 stats_get(&srv->conns->rejected_connections));
    }
    stat_u64(q, "connection_structures",
             stats_get(&srv->conns->connection_structures));
    stat_u64(q, "response_obj_oom", t.response_obj_oom);
    stat_u64(q, "read_buf_oom", t.read_buf_oom);
    stat_u64(q, "reserved_fds", stats_get(&srv->conns->reserved_fds));
#define STAT_CMD(name) stat_u64(q, #name, t.name);
    STAT_CMD(cmd_get)
    STAT_CMD(cmd_set)
    STAT_CMD(cmd_flush)
    STAT_CMD(cmd_touch)
    STAT_CMD(cmd_meta)
    STAT_CMD(get_hits)
    STAT_CMD(get_misses)
    STAT_CMD(get_expired)
    STAT_CMD(get_flushed)
    STAT_CMD(delete_misses)
    STAT_CMD(delete_hits)
    STAT_CMD(incr_misses)
    STAT_CMD(incr_hits)
    STAT_CMD(decr_misses)
    STAT_CMD(decr_hits)
    STAT_CMD(cas_misses)
    STAT_CMD(cas_hits)
    STAT_CMD(cas_badval)
    STAT_CMD(touch_hits)
    STAT_CMD(touch_misses)
    STAT_CMD(store_too_large)
    STAT_CMD(store_no_memory)
    STAT_CMD(auth_cmds)
    STAT_CMD(auth_errors)
    if (srv->idle_timeout > 0) {
        STAT_CMD(idle_kicks)
    }
    STAT_CMD(bytes_read)
    STAT_CMD(bytes_written)
#undef STAT_CMD
    stat_u64(q, "limit_maxbytes", srv->maxbytes);
    stat_u64(q, "accepting_conns", stats_get(&srv->conns->accepting_conns));
    stat_u64(q, "listen_disabled_num",
             stats_get(&srv->conns->listen_disabled_num));
    stat_u64(q, "time_in_listen_disabled_us",
             stats_get(&srv->conns->time_in_listen_disabled_us));
    stat_u64(q, "threads", srv->nthreads);
    stat_u64(q, "conn_yields", t.conn_yields);
    stat_u64(q, "hash_power_level", es.hash_power_level);
    stat_u64(q, "hash_bytes", es.hash_bytes);
    stat_u64(q, "hash_is_expanding", es.hash_is_expanding);
    stat_u64(q, "slabs_moved", es.slabs_moved);
    stat_u64(q, "malloc_fails", t.conn_oom);
    struct logger_totals lt;
    logger_totals(srv->logger, &lt);
    stat_u64(q, "log_worker_dropped", lt.worker_dropped);
    stat_u64(q, "log_worker_written", lt.worker_written);
    stat_u64(q, "log_watcher_skipped", lt.watcher_skipped);
    stat_u64(q, "log_watcher_sent", lt.watcher_sent);
    stat_u64(q, "log_watchers", lt.watchers);
    stat_u64(q, "bytes", es.bytes);
    stat_u64(q, "curr_items", es.curr_items);
    stat_u64(q, "total_items", es.total_items);
    stat_u64(q, "slab_global_page_pool", es.slab_global_page_pool);
    stat_u64(q, "expired_unfetched", es.expired_unfetched);
    stat_u64(q, "evicted_unfetched", es.evicted_unfetched);
    stat_u64(q, "evictions", es.evictions);
    stat_u64(q, "reclaimed", es.reclaimed);
    text_compose_reply(q, TEXT_END);
}

static void
run_stats(struct cmd_ctx *c, const struct request *req)
{
    if (req->args.len == 0) {
        stats_general(c);
        return;
    }
    /* Sub-commands (settings, items, slabs, ...) come with a later issue. */
    text_compose_reply(c->out, TEXT_ERROR);
}

static enum cmd_next
run_shutdown(struct cmd_ctx *c, const struct request *req)
{
    if (!c->srv->shutdown_enabled) {
        text_compose_raw(c->out, "ERROR: shutdown not enabled\r\n", 29);
        return CMD_NEXT;
    }
    if (req->args.len == 0 || slice_eq_str(req->args, "graceful")) {
        c->srv->stop(c->srv->stop_ctx, req->args.len > 0);
        return CMD_CLOSE;
    }
    text_compose_client_error(c->out, "invalid shutdown mode");
    return CMD_NEXT;
}

/*
 * watch [type ...]: checks the types and the watcher limit; the
 * connection then leaves the session for net's watch thread, which sends
 * the OK (after it has started to collect the lines).
 */
static enum cmd_next
run_watch(struct cmd_ctx *c, const struct request *req)
{
    struct slice rest = req->args;
    struct slice tok;
    unsigned types = 0;

    if (!c->srv->watch_enabled || c->srv->logger == NULL) {
        client_error(c, req, "watch commands not allowed");
        return CMD_NEXT;
    }
    while (text_next_key(&rest, &tok)) {
        unsigned t = logger_type_named(tok);
        if (t == 0) {
            reply(c, req, TEXT_ERROR);
            return CMD_NEXT;
        }
        types |= t;
    }
    struct logger *lg = c->srv->logger;
    if (atomic_fetch_add(&lg->nwatchers, 1) >= LOGGER_MAX_WATCHERS) {
        atomic_fetch_sub(&lg->nwatchers, 1);
        static const char full[] =
            "WATCHER_TOO_MANY log watcher limit reached\r\n";
        text_compose_raw(c->out, full, sizeof(full) - 1);
        return CMD_NEXT;
    }
    c->watch = types != 0 ? types : LOG_fetchers;
    return CMD_WATCH;
}

enum cmd_next
cmd_text_run(struct cmd_ctx *c, const struct request *req,
             struct item **reserved)
{
    switch (req->verb) {
    case VERB_GET:
    case VERB_GETS:
    case VERB_GAT:
    case VERB_GATS:
        run_get(c, req);
        return CMD_NEXT;
    case VERB_SET:
    case VERB_ADD:
    case VERB_REPLACE:
    case VERB_APPEND:
    case VERB_PREPEND:
    case VERB_CAS:
        return run_store(c, req, reserved);
    case VERB_DELETE:
        run_delete(c, req);
        return CMD_NEXT;
    case VERB_INCR:
    case VERB_DECR:
        run_arith(c, req);
        return CMD_NEXT;
    case VERB_TOUCH:
        run_touch(c, req);
        return CMD_NEXT;
    case VERB_FLUSH_ALL:
        run_flush(c, req);
        return CMD_NEXT;
    case VERB_VERSION:
        if (c->verbose >= 2) {
            fprintf(stderr, ">%d VERSION %s\n", c->fd, c->srv->version);
        }
        text_compose_version(c->out, c->srv->version);
        return CMD_NEXT;
    case VERB_VERBOSITY:
        run_verbosity(c, req);
        return CMD_NEXT;
    case VERB_QUIT:
        return CMD_CLOSE;
    case VERB_STATS:
        run_stats(c, req);
        return CMD_NEXT;
    case VERB_SHUTDOWN:
        return run_shutdown(c, req);
    case VERB_WATCH:
        return run_watch(c, req);
    case VERB_NONE:
        break;
    }
    trace_reply(c, false, TEXT_ERROR);
    text_compose_reply(c->out, TEXT_ERROR);
    return CMD_NEXT;
}

void
cmd_text_parse_error(struct cmd_ctx *c, enum parse_status st,
                     const struct request *req)
{
    if (st == PARSE_ERROR) {
        STATS_INCR(c->st, parse_errors);
        trace_reply(c, false, TEXT_ERROR);
        text_compose_reply(c->out, TEXT_ERROR);
    } else if (st == PARSE_CLIENT_ERROR) {
        if (req->verb == VERB_FLUSH_ALL) {
            /* memcached refuses a disabled flush_all before its delay. */
            STATS_INCR(c->st, cmd_flush);
            if (!c->srv->flush_enabled) {
                client_error(c, req, "flush_all not allowed");
                return;
            }
        }
        client_error(c, req, req->error);
    }
}
