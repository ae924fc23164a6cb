/*
 * binary_run - runs memcached's binary protocol requests against the
 * engine. The outcome of each goes through cmd_result() (counters) and
 * proto/binary.c's table (wire bytes), as for text and meta. Behaviour:
 * memcached 1.6.18 as it runs; docs/COMPAT.md#binary-protocol.
 */
#include "cmd/cmd.h"

#include "cmd/detail.h"
#include "cmd/result.h"
#include "cmd/sasl.h"
#include "lib/outq.h"
#include "proto/binary.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The 0xffffffff expiration of an increment: do not create the item. */
#define BINARY_NO_CREATE UINT32_MAX

static void
status(struct cmd_ctx *c, const struct binary_request *req,
       enum binary_status st)
{
    binary_compose_status(c->out, req->opcode, req->opaque, st, NULL);
}

static void
result(struct cmd_ctx *c, const struct binary_request *req,
       const struct reply *r)
{
    binary_compose_result(c->out, req->opcode, req->opaque, r);
}

static void
result_status(struct cmd_ctx *c, const struct binary_request *req,
              enum reply_status st)
{
    struct reply r = {.status = st, .key = req->key};

    result(c, req, &r);
}

/* ---- -vv --------------------------------------------------------------- */

/* Part of memcached's -vv line of a binary command: head, key, tail. The
 * key is written as it is, any bytes. */
static void
trace_key(const char *head, struct slice key, const char *tail)
{
    fputs(head, stderr);
    fwrite(key.ptr, 1, key.len, stderr);
    fputs(tail, stderr);
}

/* ---- get, getk, touch, gat, gatk --------------------------------------- */

/* Fills a reply's value fields from a pinned item's view. */
static void
reply_value(struct reply *r, const struct item_view *v)
{
    r->status = REPLY_VALUE;
    r->cas = v->cas;
    r->key = v->key;
    r->flags = v->flags;
    r->nbytes = v->nbytes;
    r->segs = v->segs;
    r->nseg = v->nseg;
}

static void
run_get(struct cmd_ctx *c, const struct binary_request *req)
{
    struct engine *e = c->srv->engine;
    bool touch = req->cmd == BINARY_OP_TOUCH || req->cmd == BINARY_OP_GAT ||
                 req->cmd == BINARY_OP_GATK;
    struct item *it = NULL;
    enum engine_status s =
        touch ? engine_get_touch(e, req->key, (int64_t)req->exptime, &it)
              : engine_get(e, req->key, &it);
    struct reply r = {.key = req->key};

    if (c->verbose >= 2) {
        fprintf(stderr, "<%d %s ", c->fd, touch ? "TOUCH" : "GET");
        trace_key("", req->key, "\n");
    }
    r.status = cmd_result(c, touch ? CMD_OP_GAT : CMD_OP_GET, s,
                          s == ENGINE_OK ? engine_hit_class(e, it) : 0);
    if (!touch) {
        cmd_detail_count(c->srv, req->key,
                         s == ENGINE_OK ? CMD_DETAIL_HIT : CMD_DETAIL_GET);
    }
    cmd_log_get(c, req->key, s, it);
    if (s != ENGINE_OK) {
        result(c, req, &r);
        return;
    }
    if (!outq_own_reserve(c->out)) {
        STATS_INCR(c->st, conn_oom);
        engine_release(e, it);
        return;
    }
    struct item_view v;
    engine_view(it, &v);
    reply_value(&r, &v);
    result(c, req, &r);
    outq_own(c->out, it); /* the pin goes once the value is sent */
}

/* ---- set, add, replace, append, prepend --------------------------------- */

static enum cmd_next
run_store(struct cmd_ctx *c, const struct binary_request *req,
          struct cmd_pending *p)
{
    enum engine_store_mode mode;
    bool update = true; /* set, add, replace: flags and expiry from extras */

    switch (req->cmd) {
    case BINARY_OP_ADD:
        mode = STORE_ADD;
        break;
    case BINARY_OP_REPLACE:
        mode = STORE_REPLACE;
        break;
    case BINARY_OP_APPEND:
        mode = STORE_APPEND;
        update = false;
        break;
    case BINARY_OP_PREPEND:
        mode = STORE_PREPEND;
        update = false;
        break;
    default:
        mode = STORE_SET;
        break;
    }
    if (update) {
        cmd_detail_count(c->srv, req->key, CMD_DETAIL_SET);
    }
    if (c->verbose >= 2) {
        /* memcached names set, add and replace, and only the length of
         * an append or prepend */
        if (update) {
            fprintf(stderr, "<%d %s ", c->fd,
                    mode == STORE_ADD       ? "ADD"
                    : mode == STORE_REPLACE ? "REPLACE"
                                            : "SET");
            trace_key("", req->key, " ");
        }
        fprintf(stderr, "Value len is %u\n", (unsigned)req->vlen);
    }
    enum engine_status s =
        engine_reserve(c->srv->engine, mode, req->key, update ? req->flags : 0,
                       update ? (int64_t)req->exptime : 0, req->vlen, &p->item);
    if (s != ENGINE_OK) {
        /* the value is swallowed; a set's old item is gone (engine) */
        result_status(c, req, cmd_result(c, CMD_OP_RESERVE_BINARY, s, 0));
        p->swallow = req->vlen;
        return CMD_SWALLOW;
    }
    p->kind = CMD_STORE_BINARY;
    p->nbytes = req->vlen;
    p->nterm = 0;
    p->quiet = req->quiet;
    p->opcode = req->opcode;
    p->bin_opaque = req->opaque;
    p->store = (struct engine_store){.mode = mode};
    if (req->cas != 0 && c->srv->cas_enabled) {
        /* with -C, memcached's stores ignore the request's CAS */
        if (update) {
            /* any of set, add, replace with a CAS is a compare-and-swap */
            p->store.mode = STORE_CAS;
            p->store.cas = req->cas;
        } else {
            p->store.cas = req->cas;
            p->store.cas_compare = true;
        }
    }
    return CMD_DATA;
}

void
cmd_binary_store_finish(struct cmd_ctx *c, struct cmd_pending *p,
                        bool terminated)
{
    struct item *it = p->item;
    unsigned cls = engine_item_class(c->srv->engine, it);
    struct reply r = {0};

    (void)terminated; /* a binary value has no terminator to check */
    STATS_INCR(c->st, cmd_set);
    STATS_CLASS_INCR(c->st, cls, cmd_set);
    enum engine_status s = cmd_commit(c, it, &p->store, &r.cas);
    cmd_trace_cas_failure(c, s, &p->store, r.cas);
    r.status = cmd_result(
        c, p->store.mode == STORE_CAS ? CMD_OP_CAS : CMD_OP_STORE, s, cls);
    binary_compose_result(c->out, p->opcode, p->bin_opaque, &r);
}

/* ---- delete, increment, decrement -------------------------------------- */

static void
run_delete(struct cmd_ctx *c, const struct binary_request *req)
{
    struct engine_mdelete d = {.cas_compare = req->cas != 0, .cas = req->cas};
    unsigned cls = 0;

    cmd_detail_count(c->srv, req->key, CMD_DETAIL_DEL);
    if (c->verbose >= 2) {
        trace_key("Deleting ", req->key, "\n");
    }
    cmd_log_lookup(c, req->key);
    enum engine_status s = engine_mdelete(c->srv->engine, req->key, &d, &cls);
    result_status(c, req, cmd_result(c, CMD_OP_DELETE_BINARY, s, cls));
}

static void
run_arith(struct cmd_ctx *c, const struct binary_request *req)
{
    bool incr = req->cmd == BINARY_OP_INCREMENT;
    struct engine_marith a = {
        .incr = incr,
        .delta = req->delta,
        .cas_compare = req->cas != 0,
        .cas = req->cas,
        .vivify = req->exptime != BINARY_NO_CREATE,
        .initial = req->initial,
        .vivify_exptime = (int64_t)req->exptime,
    };

    if (a.vivify) {
        a.ops[a.nops++] = EMETA_VIVIFY; /* a created item takes the expiry */
    }
    if (c->verbose >= 2) {
        /* memcached's line says incr for both, the expiry signed */
        trace_key("incr ", req->key, "");
        fprintf(stderr, " %llu, %llu, %d\n", (unsigned long long)req->delta,
                (unsigned long long)req->initial, (int)(int32_t)req->exptime);
    }

    cmd_log_lookup(c, req->key);
    enum engine_status s = engine_marith(c->srv->engine, req->key, &a);
    enum cmd_op op = incr ? CMD_OP_INCR : CMD_OP_DECR;
    struct reply r = {.number = a.value, .cas = a.cas_out};
    r.status = cmd_result(c, s == ENGINE_OK && a.created ? CMD_OP_CREATE : op,
                          s, a.cls);
    result(c, req, &r);
}

/* ---- flush, stat ------------------------------------------------------- */

static void
run_flush(struct cmd_ctx *c, const struct binary_request *req)
{
    STATS_INCR(c->st, cmd_flush);
    if (!c->srv->flush_enabled) {
        status(c, req, BINARY_STATUS_AUTH_ERROR); /* memcached's answer */
        return;
    }
    engine_flush(c->srv->engine, req->has_exptime ? (int64_t)req->exptime : 0);
    result_status(c, req, REPLY_OK);
}

struct stat_out {
    struct outq *q;
    uint32_t opaque;
};

static void
stat_packet(void *ctx, const char *name, const char *value)
{
    struct stat_out *o = ctx;

    binary_compose_stat(o->q, o->opaque, name, strlen(name), value,
                        strlen(value));
}

static bool
key_is(struct slice key, const char *s)
{
    return slice_eq_str(key, s);
}

static bool
key_starts(struct slice key, const char *s)
{
    size_t n = strlen(s);
    return key.len >= n && memcmp(key.ptr, s, n) == 0;
}

static void
compose_prefix(void *ctx, const struct cmd_detail_line *l)
{
    text_compose_prefix(ctx, l->prefix, l->gets, l->hits, l->sets, l->dels);
}

/* detail dump: one packet "detailed" holding the text protocol's dump. */
static void
stat_detail_dump(struct cmd_ctx *c, struct stat_out *o)
{
    struct outq tmp;
    size_t n;
    char *text;

    outq_init(&tmp);
    cmd_detail_dump(c->srv->detail, compose_prefix, &tmp);
    text_compose_reply(&tmp, TEXT_END);
    n = outq_pending(&tmp);
    text = outq_failed(&tmp) ? NULL : malloc(n);
    if (text == NULL) {
        outq_deinit(&tmp);
        binary_compose_no_memory(o->q, BINARY_OP_STAT, o->opaque,
                                 BINARY_OOM_STATS);
        return;
    }
    outq_peek(&tmp, text, n);
    outq_deinit(&tmp);
    binary_compose_detail_dump(o->q, o->opaque, text, n);
    free(text);
}

/*
 * STAT: the key names the group (memcached matches some by prefix); each
 * stat is a packet, and an empty one ends the list.
 */
static void
run_stat(struct cmd_ctx *c, const struct binary_request *req)
{
    struct stat_out o = {.q = c->out, .opaque = req->opaque};
    struct cmd_stat_sink k = {.line = stat_packet, .ctx = &o};
    struct slice key = req->key;

    if (c->verbose >= 2) {
        fprintf(stderr, "<%d STATS ", c->fd);
        trace_key("", key, "\n");
    }
    if (key.len == 0) {
        cmd_stats_group(c, CMD_STATS_GENERAL, &k);
    } else if (key_starts(key, "settings")) {
        cmd_stats_group(c, CMD_STATS_SETTINGS, &k);
    } else if (key_is(key, "items")) {
        cmd_stats_group(c, CMD_STATS_ITEMS, &k);
    } else if (key_is(key, "slabs")) {
        cmd_stats_group(c, CMD_STATS_SLABS, &k);
    } else if (key_is(key, "sizes")) {
        cmd_stats_group(c, CMD_STATS_SIZES, &k);
    } else if (key_starts(key, "reset")) {
        cmd_stats_reset_all(c);
    } else if (key_is(key, "sizes_enable") || key_is(key, "sizes_disable")) {
        /* memcached sends no terminator after these two */
        cmd_stats_sizes_switch(c, key_is(key, "sizes_enable"), &k);
        return;
    } else if (key_starts(key, "detail on") || key_starts(key, "detail off")) {
        atomic_store_explicit(&c->srv->detail_on, key_starts(key, "detail on"),
                              memory_order_relaxed);
    } else if (key_starts(key, "detail dump")) {
        stat_detail_dump(c, &o);
    } else {
        status(c, req, BINARY_STATUS_NOT_FOUND);
        return;
    }
    binary_compose_stat_end(c->out, req->opaque);
}

/* ---- SASL ------------------------------------------------------------- */

static void
run_sasl(struct cmd_ctx *c, const struct binary_request *req,
         struct slice value)
{
    const char *out = "";
    size_t outlen = 0;
    enum cmd_sasl_status st;

    if (req->cmd == BINARY_OP_SASL_LIST_MECHS) {
        st = cmd_sasl_list_mechs(c->sasl, &out, &outlen);
        if (st != CMD_SASL_OK) {
            status(c, req, BINARY_STATUS_AUTH_ERROR);
            return;
        }
        binary_compose_body(c->out, req->opcode, req->opaque, BINARY_STATUS_OK,
                            slice_make(out, outlen));
        return;
    }
    if (req->cmd == BINARY_OP_SASL_AUTH) {
        st = cmd_sasl_start(c->sasl, req->key.ptr, req->key.len, value.ptr,
                            value.len, &out, &outlen);
    } else {
        st = cmd_sasl_step(c->sasl, req->key.ptr, req->key.len, value.ptr,
                           value.len, &out, &outlen);
    }
    switch (st) {
    case CMD_SASL_OK:
        STATS_INCR(c->st, auth_cmds);
        binary_compose_authenticated(c->out, req->opcode, req->opaque);
        break;
    case CMD_SASL_CONTINUE:
        binary_compose_body(c->out, req->opcode, req->opaque,
                            BINARY_STATUS_AUTH_CONTINUE,
                            slice_make(out, outlen));
        break;
    case CMD_SASL_FAIL:
        STATS_INCR(c->st, auth_cmds);
        STATS_INCR(c->st, auth_errors);
        status(c, req, BINARY_STATUS_AUTH_ERROR);
        break;
    }
}

/*
 * The most key + value bytes a SASL_AUTH / SASL_STEP may carry: memcached
 * reads them into one item of key + value + 2 that must fit a slab chunk
 * of the default 512 KiB (docs/COMPAT.md#sasl).
 */
#define SASL_VALUE_MAX ((size_t)524288 - 56 - 1 - 2)

bool
cmd_binary_wants_value(const struct cmd_ctx *c,
                       const struct binary_request *req)
{
    return c->srv->sasl && req->fault == BINARY_FAULT_NONE &&
           binary_wants_whole_value(req) && req->keylen <= CMD_SASL_MECH_MAX &&
           req->keylen + (size_t)req->vlen <= SASL_VALUE_MAX;
}

static enum cmd_next
run_sasl_checked(struct cmd_ctx *c, const struct binary_request *req,
                 struct slice value, struct cmd_pending *p)
{
    if (req->cmd != BINARY_OP_SASL_LIST_MECHS) {
        if (req->keylen > CMD_SASL_MECH_MAX) {
            status(c, req, BINARY_STATUS_INVALID);
            p->swallow = req->vlen;
            return CMD_SWALLOW;
        }
        if (!cmd_binary_wants_value(c, req)) {
            binary_compose_no_memory(c->out, req->opcode, req->opaque,
                                     BINARY_OOM_SASL);
            p->swallow = req->vlen;
            return CMD_SWALLOW;
        }
    }
    run_sasl(c, req, value);
    return CMD_NEXT;
}

/* -S: may this connection run the request? (-vv logs the answer) */
static bool
authenticated(const struct cmd_ctx *c, const struct binary_request *req)
{
    bool ok = binary_allowed_unauthenticated(req->opcode) ||
              cmd_sasl_authenticated(c->sasl);

    if (c->verbose >= 2) {
        fprintf(stderr, "authenticated() in cmd 0x%02x is %s\n", req->opcode,
                ok ? "true" : "false");
    }
    return ok;
}

/* ---- dispatch ---------------------------------------------------------- */

enum cmd_next
cmd_binary_run(struct cmd_ctx *c, const struct binary_request *req,
               struct slice value, struct cmd_pending *p)
{
    /* memcached's order of checks: see enum binary_fault */
    if (req->fault == BINARY_FAULT_BODY) {
        status(c, req, BINARY_STATUS_UNKNOWN_COMMAND);
        return CMD_CLOSE;
    }
    if (c->srv->sasl && c->sasl == NULL &&
        (c->sasl = cmd_sasl_create(c->fd)) == NULL) {
        STATS_INCR(c->st, conn_oom);
        status(c, req, BINARY_STATUS_NO_MEMORY);
        return CMD_CLOSE;
    }
    if (c->sasl != NULL && !authenticated(c, req)) {
        status(c, req, BINARY_STATUS_AUTH_ERROR);
        return CMD_CLOSE;
    }
    if (req->fault == BINARY_FAULT_KEY_TOO_LONG ||
        req->fault == BINARY_FAULT_SHAPE) {
        status(c, req, BINARY_STATUS_INVALID);
        return CMD_CLOSE;
    }
    if (req->fault == BINARY_FAULT_UNKNOWN) {
        status(c, req, BINARY_STATUS_UNKNOWN_COMMAND);
        p->swallow = req->bodylen; /* memcached's quirk: see binary.h */
        return CMD_SWALLOW;
    }

    switch (req->cmd) {
    case BINARY_OP_GET:
    case BINARY_OP_GETK:
    case BINARY_OP_TOUCH:
    case BINARY_OP_GAT:
    case BINARY_OP_GATK:
        run_get(c, req);
        break;
    case BINARY_OP_SET:
    case BINARY_OP_ADD:
    case BINARY_OP_REPLACE:
    case BINARY_OP_APPEND:
    case BINARY_OP_PREPEND:
        return run_store(c, req, p);
    case BINARY_OP_DELETE:
        run_delete(c, req);
        break;
    case BINARY_OP_INCREMENT:
    case BINARY_OP_DECREMENT:
        run_arith(c, req);
        break;
    case BINARY_OP_FLUSH:
        run_flush(c, req);
        break;
    case BINARY_OP_STAT:
        run_stat(c, req);
        break;
    case BINARY_OP_NOOP:
        status(c, req, BINARY_STATUS_OK);
        break;
    case BINARY_OP_VERSION:
        binary_compose_version(c->out, req->opaque, c->srv->version);
        break;
    case BINARY_OP_QUIT:
        if (!req->quiet) {
            status(c, req, BINARY_STATUS_OK);
        }
        return CMD_CLOSE;
    case BINARY_OP_SASL_LIST_MECHS:
    case BINARY_OP_SASL_AUTH:
    case BINARY_OP_SASL_STEP:
        if (c->sasl == NULL) {
            /* without -S these are unknown; the value goes */
            status(c, req, BINARY_STATUS_UNKNOWN_COMMAND);
            p->swallow = req->vlen;
            return CMD_SWALLOW;
        }
        return run_sasl_checked(c, req, value, p);
    default:
        /* every quiet opcode was mapped to its loud twin by the parser */
        status(c, req, BINARY_STATUS_UNKNOWN_COMMAND);
        break;
    }
    return CMD_NEXT;
}
