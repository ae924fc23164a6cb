#include "cmd/cmd.h"

#include "cmd/cmd_stats.h"
#include "cmd/detail.h"
#include "lib/outq.h"
#include "proto/number.h"
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

    if (!outq_own_reserve(c->out)) {
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
        outq_own(c->out, it); /* the pin goes once the value is sent */
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
                STATS_CLASS_INCR(c->st, engine_item_class(c->srv->engine, it),
                                 touch_hits);
            } else {
                STATS_INCR(c->st, touch_misses);
            }
        } else {
            STATS_INCR(c->st, cmd_get);
            s = engine_get(c->srv->engine, key, &it);
            if (s == ENGINE_OK) {
                STATS_INCR(c->st, get_hits);
                STATS_CLASS_INCR(c->st, engine_item_class(c->srv->engine, it),
                                 get_hits);
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
    unsigned cls = engine_item_class(c->srv->engine, it);

    STATS_INCR(c->st, cmd_set);
    STATS_CLASS_INCR(c->st, cls, cmd_set);
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
            STATS_CLASS_INCR(c->st, cls, cas_hits);
        }
        reply(c, req, TEXT_STORED);
        break;
    case ENGINE_EXISTS:
        STATS_INCR(c->st, cas_badval);
        STATS_CLASS_INCR(c->st, cls, cas_badval);
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
    unsigned cls = 0;
    if (engine_delete(c->srv->engine, req->key, &cls) == ENGINE_OK) {
        STATS_INCR(c->st, delete_hits);
        STATS_CLASS_INCR(c->st, cls, delete_hits);
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
    unsigned cls = 0;
    cmd_log_lookup(c, req->key);
    enum engine_status s = engine_arith(c->srv->engine, req->key, incr,
                                        req->delta, &result, NULL, &cls);

    switch (s) {
    case ENGINE_OK:
        if (incr) {
            STATS_INCR(c->st, incr_hits);
            STATS_CLASS_INCR(c->st, cls, incr_hits);
        } else {
            STATS_INCR(c->st, decr_hits);
            STATS_CLASS_INCR(c->st, cls, decr_hits);
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
    unsigned cls = 0;
    if (engine_touch(c->srv->engine, req->key, req->exptime, &cls) ==
        ENGINE_OK) {
        STATS_INCR(c->st, touch_hits);
        STATS_CLASS_INCR(c->st, cls, touch_hits);
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

/* ---- stats ------------------------------------------------------------ */

/* Formats one STAT line; values are small, so a stack buffer suffices. */
static void
stat_u64(struct outq *q, const char *name, uint64_t v)
{
    char num[24];

    snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
    text_compose_stat(q, name, num);
}

static void
stat_general_line(void *ctx, const struct cmd_stat *st)
{
    struct outq *q = ctx;
    char num[40];

    switch (st->kind) {
    case CMD_STAT_TEXT:
        text_compose_stat(q, st->name, st->text);
        break;
    case CMD_STAT_TIMEVAL:
        snprintf(num, sizeof(num), "%lld.%06ld", (long long)st->tv.tv_sec,
                 (long)st->tv.tv_usec);
        text_compose_stat(q, st->name, num);
        break;
    default:
        stat_u64(q, st->name, st->u);
        break;
    }
}

static void
stat_line(void *ctx, const char *name, const char *value)
{
    text_compose_stat(ctx, name, value);
}

/* "<id>:<field>" or "items:<id>:<field>" */
static void
stat_class_u64(struct outq *q, const char *prefix, unsigned id,
               const char *field, uint64_t v)
{
    char name[64];

    snprintf(name, sizeof(name), "%s%u:%s", prefix, id, field);
    stat_u64(q, name, v);
}

struct class_emit {
    struct cmd_server *srv;
    struct outq *q;
};

#define ITEM_COND_ALL(srv)  true
#define ITEM_COND_SEG(srv)  ((srv)->lru_segmented)
#define ITEM_COND_TEMP(srv) ((srv)->lru_segmented && (srv)->temp_lru)

static void
emit_items_class(void *ctx, const struct cmd_class_report *cr)
{
    struct class_emit *ce = ctx;
    unsigned id = cr->e.id;

    if (!cr->in_items) {
        return;
    }
#define ITEM_EMIT(name, cond)                                   \
    if (ITEM_COND_##cond(ce->srv)) {                            \
        stat_class_u64(ce->q, "items:", id, #name, cr->e.name); \
    }
    ENGINE_ITEM_STATS(ITEM_EMIT)
#undef ITEM_EMIT
    if (ce->srv->lru_segmented) {
        stat_class_u64(ce->q, "items:", id, "hits_to_hot", cr->hits_to_hot);
        stat_class_u64(ce->q, "items:", id, "hits_to_warm", cr->hits_to_warm);
        stat_class_u64(ce->q, "items:", id, "hits_to_cold", cr->hits_to_cold);
        stat_class_u64(ce->q, "items:", id, "hits_to_temp", cr->hits_to_temp);
    }
}

static void
emit_slabs_class(void *ctx, const struct cmd_class_report *cr)
{
    struct class_emit *ce = ctx;
    unsigned id = cr->e.id;

    if (!cr->in_slabs) {
        return;
    }
#define SLAB_EMIT(name) stat_class_u64(ce->q, "", id, #name, cr->e.name);
    ENGINE_SLAB_STATS(SLAB_EMIT)
#undef SLAB_EMIT
#define OP_EMIT(name) \
    stat_class_u64(ce->q, "", id, #name, cr->ops[STATS_OP_##name]);
    STATS_CLASS_OPS(OP_EMIT)
#undef OP_EMIT
}

static void
emit_size(void *ctx, size_t bucket, uint64_t count)
{
    char name[24];

    snprintf(name, sizeof(name), "%zu", bucket);
    stat_u64(ctx, name, count);
}

/* memcached stops a cachedump at 2 MB of output, END included. */
#define CACHEDUMP_MAX ((size_t)2 * 1024 * 1024)

struct dump_emit {
    struct outq *q;
    size_t bytes;
};

static bool
emit_dump_item(void *ctx, const struct engine_dump_item *it)
{
    struct dump_emit *d = ctx;

    if (it->binary_key) {
        return true; /* memcached skips keys it could not print */
    }
    size_t n = text_dump_item_len(it->key, it->nbytes, it->exptime);
    if (d->bytes + n + TEXT_END_LEN > CACHEDUMP_MAX) {
        return false;
    }
    d->bytes += n;
    text_compose_dump_item(d->q, it->key, it->nbytes, it->exptime);
    return true;
}

/* stats cachedump <class> <limit> */
static void
stats_cachedump(struct cmd_ctx *c, struct slice rest)
{
    struct slice id_tok;
    struct slice limit_tok;
    uint32_t id;
    uint32_t limit;

    if (!c->srv->dump_enabled) {
        text_compose_client_error(c->out, "stats cachedump not allowed");
        return;
    }
    if (!text_next_key(&rest, &id_tok) || !text_next_key(&rest, &limit_tok)) {
        text_compose_client_error(c->out, "bad command line");
        return;
    }
    if (!num_parse_u32(id_tok, &id) || !num_parse_u32(limit_tok, &limit)) {
        text_compose_client_error(c->out, "bad command line format");
        return;
    }
    if (id > ENGINE_MAX_CLASS_ID) {
        text_compose_client_error(c->out, "Illegal slab id");
        return;
    }
    struct dump_emit d = {.q = c->out};
    engine_cachedump(c->srv->engine, id, limit, emit_dump_item, &d);
    text_compose_reply(c->out, TEXT_END);
}

static void
stats_sizes_switch(struct cmd_ctx *c, bool on)
{
    struct engine *e = c->srv->engine;

    if (on) {
        if (engine_sizes_enable(e) != ENGINE_SIZES_OK) {
            text_compose_stat(c->out, "sizes_status", "error");
            text_compose_stat(c->out, "sizes_error", "cas_support_disabled");
            return;
        }
    } else {
        engine_sizes_disable(e);
    }
    /* memcached ends these two with no END line. */
    text_compose_stat(c->out, "sizes_status", on ? "enabled" : "disabled");
}

static void
stats_sizes(struct cmd_ctx *c)
{
    if (!engine_sizes_enabled(c->srv->engine)) {
        text_compose_stat(c->out, "sizes_status", "disabled");
    } else {
        engine_sizes(c->srv->engine, emit_size, c->out);
    }
    text_compose_reply(c->out, TEXT_END);
}

static void
run_stats(struct cmd_ctx *c, const struct request *req)
{
    struct cmd_server *srv = c->srv;
    struct slice rest = req->args;
    struct slice sub;
    struct class_emit ce = {.srv = srv, .q = c->out};

    if (!text_next_key(&rest, &sub)) {
        cmd_stats_general(srv, stat_general_line, c->out);
    } else if (slice_eq_str(sub, "reset")) {
        cmd_stats_reset(srv);
        cmd_detail_reset(srv->detail);
        text_compose_reply(c->out, TEXT_RESET);
        return;
    } else if (slice_eq_str(sub, "detail")) {
        cmd_detail_run(c, rest);
        return;
    } else if (slice_eq_str(sub, "settings")) {
        cmd_stats_settings(srv, stat_line, c->out);
    } else if (slice_eq_str(sub, "cachedump")) {
        stats_cachedump(c, rest);
        return;
    } else if (slice_eq_str(sub, "conns")) {
        if (srv->conns_report != NULL) {
            srv->conns_report(srv->conns_ctx, c->fd, stat_line, c->out);
        }
    } else if (slice_eq_str(sub, "extstore")) {
        /* extstore is not configured: memcached answers a bare END. */
    } else if (slice_eq_str(sub, "items")) {
        cmd_stats_classes(srv, emit_items_class, &ce);
    } else if (slice_eq_str(sub, "slabs")) {
        struct cmd_slab_totals tot;
        cmd_stats_classes(srv, emit_slabs_class, &ce);
        cmd_stats_slab_totals(srv, &tot);
        stat_u64(c->out, "active_slabs", tot.active_slabs);
        stat_u64(c->out, "total_malloced", tot.total_malloced);
    } else if (slice_eq_str(sub, "sizes")) {
        stats_sizes(c);
        return;
    } else if (slice_eq_str(sub, "sizes_enable") ||
               slice_eq_str(sub, "sizes_disable")) {
        stats_sizes_switch(c, slice_eq_str(sub, "sizes_enable"));
        return;
    } else {
        /* proxy, malloc and anything else: not in this build. */
        text_compose_reply(c->out, TEXT_ERROR);
        return;
    }
    text_compose_reply(c->out, TEXT_END);
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
