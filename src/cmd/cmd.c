#include "cmd/cmd.h"

#include "cmd/cmd_stats.h"
#include "cmd/detail.h"
#include "cmd/result.h"
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

void
cmd_text_reply(struct cmd_ctx *c, bool noreply, enum text_reply r)
{
    trace_reply(c, noreply, r);
    if (!noreply) {
        text_compose_reply(c->out, r);
    }
}

void
cmd_trace_cas_failure_slow(const struct engine_store *store, uint64_t live_cas)
{
    if (store->mode == STORE_CAS) {
        fprintf(stderr, "CAS:  failure: expected %llu, got %llu\n",
                (unsigned long long)live_cas, (unsigned long long)store->cas);
    }
}

void
cmd_text_result(struct cmd_ctx *c, bool noreply, enum reply_status st)
{
    struct slice l = text_result_line(st);

    if (c->verbose >= 2 && l.len > 0) {
        cmd_trace_slow(c, noreply, l.ptr, l.len - 2);
    }
    if (!noreply) {
        text_compose_status(c->out, st);
    }
}

void
cmd_client_error(struct cmd_ctx *c, bool noreply, const char *msg)
{
    if (c->verbose >= 2) {
        fprintf(stderr, ">%d %sCLIENT_ERROR %s\n", c->fd,
                noreply ? "NOREPLY " : "", msg);
    }
    if (!noreply) {
        text_compose_client_error(c->out, msg);
    }
}

/* A text request's reply (not a value's: see send_value). */
static void
reply(struct cmd_ctx *c, const struct request *req, enum reply_status st)
{
    cmd_text_result(c, req->noreply, st);
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
            s = engine_get_touch(c->srv->engine, key, req->exptime, &it);
        } else {
            s = engine_get(c->srv->engine, key, &it);
        }
        cmd_result(c, touch ? CMD_OP_GAT : CMD_OP_GET, s,
                   s == ENGINE_OK ? engine_hit_class(c->srv->engine, it) : 0);
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
run_store(struct cmd_ctx *c, const struct request *req, struct cmd_pending *p)
{
    cmd_detail_count(c->srv, req->key, CMD_DETAIL_SET);
    enum engine_status s =
        engine_reserve(c->srv->engine, store_mode(req->verb), req->key,
                       req->flags, req->exptime, req->nbytes, &p->item);
    if (s == ENGINE_OK) {
        p->kind = CMD_STORE_TEXT;
        p->nbytes = req->nbytes;
        p->nterm = 2;
        p->store = (struct engine_store){.mode = store_mode(req->verb),
                                         .cas = req->cas};
        p->quiet = req->noreply;
        return CMD_DATA;
    }
    reply(c, req, cmd_result(c, CMD_OP_RESERVE, s, 0));
    p->swallow = (size_t)req->nbytes + 2;
    return CMD_SWALLOW;
}

/* A text store once its data block is in. */
static void
text_store_finish(struct cmd_ctx *c, struct cmd_pending *p, bool terminated)
{
    struct item *it = p->item;
    unsigned cls = engine_item_class(c->srv->engine, it);

    STATS_INCR(c->st, cmd_set);
    STATS_CLASS_INCR(c->st, cls, cmd_set);
    if (!terminated) {
        engine_abort(c->srv->engine, it);
        cmd_text_result(c, p->quiet, REPLY_BAD_CHUNK);
        return;
    }
    uint64_t cas = 0; /* read only by -vv */
    enum engine_status s =
        cmd_commit(c, it, &p->store, c->verbose >= 2 ? &cas : NULL);
    cmd_trace_cas_failure(c, s, &p->store, cas);
    cmd_text_result(
        c, p->quiet,
        cmd_result(c, p->store.mode == STORE_CAS ? CMD_OP_CAS : CMD_OP_STORE, s,
                   cls));
}

void
cmd_store_finish(struct cmd_ctx *c, struct cmd_pending *p, bool terminated)
{
    switch (p->kind) {
    case CMD_STORE_TEXT:
        text_store_finish(c, p, terminated);
        break;
    case CMD_STORE_META:
        cmd_meta_store_finish(c, p, terminated);
        break;
    case CMD_STORE_BINARY:
        cmd_binary_store_finish(c, p, terminated);
        break;
    }
    p->item = NULL;
}

void
cmd_store_abort(struct cmd_ctx *c, struct cmd_pending *p)
{
    if (p->item != NULL) {
        engine_abort(c->srv->engine, p->item);
        p->item = NULL;
    }
}

static void
run_delete(struct cmd_ctx *c, const struct request *req)
{
    cmd_detail_count(c->srv, req->key, CMD_DETAIL_DEL);
    cmd_log_lookup(c, req->key);
    unsigned cls = 0;
    enum engine_status s = engine_delete(c->srv->engine, req->key, &cls);
    reply(c, req, cmd_result(c, CMD_OP_DELETE, s, cls));
}

static void
run_arith(struct cmd_ctx *c, const struct request *req)
{
    bool incr = req->verb == VERB_INCR;
    struct reply r = {0};
    unsigned cls = 0;
    cmd_log_lookup(c, req->key);
    enum engine_status s = engine_arith(c->srv->engine, req->key, incr,
                                        req->delta, &r.number, NULL, &cls);

    r.status = cmd_result(c, incr ? CMD_OP_INCR : CMD_OP_DECR, s, cls);
    if (r.status != REPLY_NUMBER) {
        reply(c, req, r.status);
        return;
    }
    if (c->verbose >= 2) {
        fprintf(stderr, ">%d %s%llu\n", c->fd, req->noreply ? "NOREPLY " : "",
                (unsigned long long)r.number);
    }
    if (!req->noreply) {
        text_compose_result(c->out, &r);
    }
}

static void
run_touch(struct cmd_ctx *c, const struct request *req)
{
    cmd_log_lookup(c, req->key);
    unsigned cls = 0;
    enum engine_status s =
        engine_touch(c->srv->engine, req->key, req->exptime, &cls);
    reply(c, req, cmd_result(c, CMD_OP_TOUCH, s, cls));
}

static void
run_flush(struct cmd_ctx *c, const struct request *req)
{
    STATS_INCR(c->st, cmd_flush);
    if (!c->srv->flush_enabled) {
        reply(c, req, REPLY_FLUSH_DISABLED);
        return;
    }
    engine_flush(c->srv->engine, req->exptime);
    reply(c, req, REPLY_OK);
}

static void
run_verbosity(struct cmd_ctx *c, const struct request *req)
{
    int level = req->level > 2 ? 2 : (int)req->level;

    atomic_store_explicit(&c->srv->verbosity, level, memory_order_relaxed);
    reply(c, req, REPLY_OK);
}

static enum cmd_next
run_shutdown(struct cmd_ctx *c, const struct request *req)
{
    if (!c->srv->shutdown_enabled) {
        text_compose_reply(c->out, TEXT_SHUTDOWN_DISABLED);
        return CMD_NEXT;
    }
    if (req->args.len == 0 || slice_eq_str(req->args, "graceful")) {
        c->srv->stop(c->srv->stop_ctx, req->args.len > 0);
        return CMD_CLOSE;
    }
    text_compose_reply(c->out, TEXT_SHUTDOWN_MODE);
    return CMD_NEXT;
}

/*
 * refresh_certs: OK (noreply silences it), or the failure's text, which
 * memcached sends even with noreply; without -Z "Error TLS not enabled".
 */
static void
run_refresh_certs(struct cmd_ctx *c, const struct request *req)
{
    char err[CMD_REFRESH_ERR_MAX];

    if (c->srv->refresh_certs == NULL) {
        text_compose_reply(c->out, TEXT_TLS_DISABLED);
        return;
    }
    if (c->srv->refresh_certs(c->srv->refresh_ctx, err, sizeof(err))) {
        reply(c, req, REPLY_OK);
        return;
    }
    text_compose_line(c->out, err);
}

bool
cmd_replies_waiting(const struct cmd_ctx *c)
{
    return outq_pending(c->out) > 0 && c->out->queued != c->flushed_at;
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
        cmd_text_reply(c, req->noreply, TEXT_WATCH_DISABLED);
        return CMD_NEXT;
    }
    if (cmd_replies_waiting(c)) {
        /* memcached refuses while earlier replies are still queued */
        cmd_text_reply(c, false, TEXT_WATCH_PIPELINED);
        return CMD_NEXT;
    }
    while (text_next_key(&rest, &tok)) {
        unsigned t = logger_type_named(tok);
        if (t == 0) {
            reply(c, req, REPLY_UNKNOWN);
            return CMD_NEXT;
        }
        types |= t;
    }
    struct logger *lg = c->srv->logger;
    if (atomic_fetch_add(&lg->nwatchers, 1) >= LOGGER_MAX_WATCHERS) {
        atomic_fetch_sub(&lg->nwatchers, 1);
        text_compose_reply(c->out, TEXT_WATCHER_TOO_MANY);
        return CMD_NEXT;
    }
    c->watch = types != 0 ? types : LOG_fetchers;
    return CMD_WATCH;
}

enum cmd_next
cmd_text_run(struct cmd_ctx *c, const struct request *req,
             struct cmd_pending *p)
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
        return run_store(c, req, p);
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
        cmd_text_stats(c, req);
        return CMD_NEXT;
    case VERB_SHUTDOWN:
        return run_shutdown(c, req);
    case VERB_WATCH:
        return run_watch(c, req);
    case VERB_SLABS_REASSIGN:
    case VERB_SLABS_AUTOMOVE:
    case VERB_SLABS_RATIO:
        cmd_text_slabs(c, req);
        return CMD_NEXT;
    case VERB_CACHE_MEMLIMIT:
        cmd_text_memlimit(c, req);
        return CMD_NEXT;
    case VERB_LRU_CRAWLER:
        return cmd_crawler_run(c, req);
    case VERB_LRU:
        cmd_run_lru(c, req);
        return CMD_NEXT;
    case VERB_REFRESH_CERTS:
        run_refresh_certs(c, req);
        return CMD_NEXT;
    case VERB_NONE:
        break;
    }
    cmd_text_result(c, false, REPLY_UNKNOWN);
    return CMD_NEXT;
}

void
cmd_text_parse_error(struct cmd_ctx *c, enum parse_status st,
                     const struct request *req)
{
    if (st == PARSE_ERROR) {
        cmd_text_result(c, false, REPLY_UNKNOWN);
    } else if (st == PARSE_CLIENT_ERROR) {
        if (req->verb == VERB_SLABS_REASSIGN && !c->srv->slab_reassign) {
            /* memcached refuses before it reads the class ids */
            cmd_text_reply(c, false, TEXT_REASSIGN_DISABLED);
            return;
        }
        if (req->verb == VERB_FLUSH_ALL) {
            /* memcached refuses a disabled flush_all before its delay. */
            STATS_INCR(c->st, cmd_flush);
            if (!c->srv->flush_enabled) {
                reply(c, req, REPLY_FLUSH_DISABLED);
                return;
            }
        }
        cmd_client_error(c, req->noreply, req->error);
    }
}
