/*
 * meta_run - runs the meta commands (mg ms md ma mn me) against the
 * engine and composes their replies. Behaviour: memcached's doc/protocol.txt
 * (Meta Commands and the Meta ... sections) as memcached 1.6.18 runs it;
 * docs/COMPAT.md#meta-protocol lists where the two differ.
 */
#include "cmd/cmd.h"

#include "cmd/result.h"

#include "lib/outq.h"
#include "proto/lex.h"
#include "proto/meta.h"
#include "proto/text.h"

#include <string.h>

static bool
has(const struct meta_request *req, char flag)
{
    return META_HAS(req, flag);
}

/*
 * The flags of mg/ma that change state or report the TTL, in order; with
 * upto_opaque only those before the O flag (memcached stops its flag loop
 * at a long opaque).
 */
static size_t
meta_ops(const struct meta_request *req, bool recache, bool upto_opaque,
         enum engine_meta_op ops[ENGINE_META_OPS_MAX])
{
    size_t n = 0;

    for (size_t i = 0; i < req->nflags && n < ENGINE_META_OPS_MAX; i++) {
        if (upto_opaque && req->flags[i].name == 'O') {
            break;
        }
        switch (req->flags[i].name) {
        case 'T':
            ops[n++] = EMETA_TOUCH;
            break;
        case 'N':
            ops[n++] = EMETA_VIVIFY;
            break;
        case 'R':
            if (recache) {
                ops[n++] = EMETA_RECACHE;
            }
            break;
        case 't':
            ops[n++] = EMETA_TTL;
            break;
        default:
            break;
        }
    }
    return n;
}

/* The O and k echoes every reply carries, hits or not. */
static void
echo_opaque_key(struct meta_line *l, const struct meta_request *req, char flag)
{
    if (flag == 'O') {
        meta_line_token(l, req->opaque);
    } else if (flag == 'k') {
        meta_line_key(l, req->key, req->binary);
    }
}

/*
 * "<code>[ O..][ k..]": a miss or a refusal; an error outcome is sent as
 * its text line.
 */
static void
reply_short(struct cmd_ctx *c, const struct meta_request *req,
            enum reply_status st)
{
    struct meta_line l;

    if (meta_code(st) == NULL) {
        cmd_text_result(c, false, st);
        return;
    }
    meta_line_init_status(&l, st);
    for (size_t i = 0; i < req->nflags; i++) {
        echo_opaque_key(&l, req, req->flags[i].name);
    }
    meta_compose_line(c->out, &l);
}

/* ---- mg ------------------------------------------------------------- */

static void
mg_flags(struct meta_line *l, const struct meta_request *req,
         const struct item_view *v, const struct engine_mget *m, bool binary)
{
    for (size_t i = 0; i < req->nflags; i++) {
        switch (req->flags[i].name) {
        case 's':
            meta_line_num(l, 's', v->nbytes);
            break;
        case 't':
            meta_line_ttl(l, 't', m->ttl);
            break;
        case 'c':
            meta_line_num(l, 'c', v->cas);
            break;
        case 'f':
            meta_line_num(l, 'f', v->flags);
            break;
        case 'l':
            meta_line_num(l, 'l', m->last_access);
            break;
        case 'h':
            meta_line_num(l, 'h', m->fetched ? 1 : 0);
            break;
        case 'O':
            meta_line_token(l, req->opaque);
            break;
        case 'k':
            meta_line_key(l, v->key, binary);
            break;
        default:
            break;
        }
    }
    if (m->token_seen) {
        meta_line_char(l, 'Z');
    }
    if (m->stale) {
        meta_line_char(l, 'X');
    }
    if (m->won) {
        meta_line_char(l, 'W');
    }
}

/*
 * silent: run for the side effects only (the opaque-too-long error comes
 * after the work, see meta.h).
 */
static void
run_mg(struct cmd_ctx *c, const struct meta_request *req, bool silent)
{
    bool touch = has(req, 'T');
    struct engine_mget m = {
        .no_bump = has(req, 'u'),
        .vivify = has(req, 'N'),
        .touch_exptime = req->exptime,
        .vivify_exptime = req->vivify,
        .recache_exptime = req->recache,
    };
    struct item *it = NULL;

    m.nops = meta_ops(req, true, silent, m.ops);
    m.no_token = silent;
    enum engine_status s = engine_mget(c->srv->engine, req->key, &m, &it);
    cmd_log_get(c, req->key, s, it);
    /* A hit with T counts as a touch; anything else (a miss with T too), a get.
     */
    cmd_result(c, touch && s == ENGINE_OK ? CMD_OP_GAT : CMD_OP_GET, s,
               s == ENGINE_OK ? engine_hit_class(c->srv->engine, it) : 0);
    if (s != ENGINE_OK) {
        if (!has(req, 'q') && !silent) {
            reply_short(c, req, REPLY_MISS);
        }
        return;
    }
    if (silent) {
        engine_release(c->srv->engine, it);
        return;
    }

    struct item_view v;
    struct meta_line l;
    bool value = has(req, 'v');

    engine_view(it, &v);
    if (value) {
        meta_line_init_value(&l, v.nbytes);
    } else {
        meta_line_init_status(&l, REPLY_VALUE);
    }
    mg_flags(&l, req, &v, &m, engine_binary_key(it));
    if (value && v.nbytes > 0) {
        if (!outq_own_reserve(c->out)) {
            STATS_INCR(c->st, conn_oom);
            engine_release(c->srv->engine, it);
            return;
        }
        meta_compose_value(c->out, &l, v.segs, v.nseg);
        outq_own(c->out, it); /* the pin goes once the value is sent */
        return;
    }
    if (value) {
        meta_compose_value(c->out, &l, v.segs, 0);
    } else {
        meta_compose_line(c->out, &l);
    }
    engine_release(c->srv->engine, it);
}

/* ---- ms ------------------------------------------------------------- */

static enum engine_store_mode
ms_mode(char mode)
{
    switch (mode) {
    case 'E':
        return STORE_ADD;
    case 'A':
        return STORE_APPEND;
    case 'P':
        return STORE_PREPEND;
    case 'R':
        return STORE_REPLACE;
    default:
        return STORE_SET;
    }
}

/* What the ms's reply needs once its data block is in. */
static void
ms_prepare(const struct meta_request *req, struct cmd_pending *p)
{
    enum engine_store_mode mode = ms_mode(req->mode);

    /* every field the meta finish reads is set here (no memset: hot) */
    p->kind = CMD_STORE_META;
    p->nbytes = req->datalen;
    p->nterm = 2;
    p->store = (struct engine_store){.mode = mode};
    p->nechos = 0;
    p->nopaque = 0;
    if (has(req, 'C')) {
        if (mode == STORE_SET || mode == STORE_REPLACE) {
            p->store.mode = STORE_CAS;
            p->store.cas = req->cas;
            p->store.stale_ok = has(req, 'I');
        } else if ((mode == STORE_APPEND || mode == STORE_PREPEND) &&
                   req->cas != 0) {
            p->store.cas = req->cas;
            p->store.cas_compare = true;
        }
    }
    p->quiet = has(req, 'q');
    p->binary_key = req->binary;
    for (size_t i = 0; i < req->nflags; i++) {
        char f = req->flags[i].name;
        if ((f == 'O' || f == 'k' || f == 'c') && p->nechos < 3) {
            p->echos[p->nechos++] = f;
        }
    }
    if (has(req, 'O')) {
        size_t n = req->opaque.len < sizeof(p->opaque) ? req->opaque.len
                                                       : sizeof(p->opaque);
        memcpy(p->opaque, req->opaque.ptr, n);
        p->nopaque = (uint8_t)n;
    }
}

static enum cmd_next
run_ms(struct cmd_ctx *c, const struct meta_request *req, struct cmd_pending *p)
{
    /*
     * STORE_SET whatever the mode: a failed allocation removes the old
     * item in every mode (docs/COMPAT.md#meta-set-ms).
     */
    enum engine_status s = engine_reserve(c->srv->engine, STORE_SET, req->key,
                                          has(req, 'F') ? req->client_flags : 0,
                                          has(req, 'T') ? req->exptime : 0,
                                          req->datalen, &p->item);

    if (s == ENGINE_OK) {
        ms_prepare(req, p);
        if (req->binary) {
            engine_set_binary_key(p->item);
        }
        return CMD_DATA;
    }
    cmd_text_result(c, false, cmd_result(c, CMD_OP_RESERVE, s, 0));
    p->swallow = (size_t)req->datalen + 2;
    return CMD_SWALLOW;
}

void
cmd_meta_store_finish(struct cmd_ctx *c, struct cmd_pending *p, bool terminated)
{
    struct item *it = p->item;
    unsigned cls = engine_item_class(c->srv->engine, it);

    STATS_INCR(c->st, cmd_set);
    STATS_CLASS_INCR(c->st, cls, cmd_set);
    if (!terminated) {
        engine_abort(c->srv->engine, it);
        cmd_text_result(c, false, REPLY_BAD_CHUNK);
        return;
    }

    char key[256];
    struct item_view v;
    engine_view(it, &v);
    memcpy(key, v.key.ptr, v.key.len);
    size_t nkey = v.key.len;

    uint64_t cas = 0;
    enum engine_status s = cmd_commit(c, it, &p->store, &cas);
    cmd_trace_cas_failure(c, s, &p->store, cas);
    enum reply_status st = cmd_result(
        c, p->store.mode == STORE_CAS ? CMD_OP_CAS : CMD_OP_STORE, s, cls);
    if (st == REPLY_STORED && p->quiet) {
        return;
    }

    struct meta_line l;
    meta_line_init_status(&l, st);
    for (size_t i = 0; i < p->nechos; i++) {
        switch (p->echos[i]) {
        case 'O':
            meta_line_token(&l, slice_make(p->opaque, p->nopaque));
            break;
        case 'k':
            meta_line_key(&l, slice_make(key, nkey), p->binary_key);
            break;
        default:
            meta_line_num(&l, 'c', s == ENGINE_OK ? cas : 0);
            break;
        }
    }
    meta_compose_line(c->out, &l);
}

/* ---- md ------------------------------------------------------------- */

static void
run_md(struct cmd_ctx *c, const struct meta_request *req)
{
    struct engine_mdelete d = {
        .cas_compare = has(req, 'C'),
        .cas = req->cas,
        .invalidate = has(req, 'I'),
        .has_exptime = has(req, 'I') && has(req, 'T'),
        .exptime = req->exptime,
    };
    cmd_log_lookup(c, req->key);
    unsigned cls = 0;
    enum engine_status s = engine_mdelete(c->srv->engine, req->key, &d, &cls);
    enum reply_status st =
        cmd_result(c, d.invalidate ? CMD_OP_INVALIDATE : CMD_OP_DELETE, s, cls);

    if (st != REPLY_DELETED || !has(req, 'q')) {
        reply_short(c, req, st);
    }
}

/* ---- ma ------------------------------------------------------------- */

static void
ma_reply(struct cmd_ctx *c, const struct meta_request *req,
         const struct engine_marith *a)
{
    struct meta_line l;

    if (has(req, 'v')) {
        char num[LEX_U64_DIGITS];
        meta_line_init_value(&l, (size_t)(lex_put_u64(num, a->value) - num));
    } else {
        meta_line_init_status(&l, REPLY_NUMBER);
    }
    for (size_t i = 0; i < req->nflags; i++) {
        switch (req->flags[i].name) {
        case 'c':
            meta_line_num(&l, 'c', a->cas_out);
            break;
        case 't':
            meta_line_ttl(&l, 't', a->ttl);
            break;
        default:
            echo_opaque_key(&l, req, req->flags[i].name);
            break;
        }
    }
    meta_compose_line(c->out, &l);
    if (has(req, 'v')) {
        text_compose_number(c->out, a->value);
    }
}

/*
 * silent: as for run_mg, except that an error of the run itself is
 * still sent; returns true when one was.
 */
static bool
run_ma(struct cmd_ctx *c, const struct meta_request *req, bool silent)
{
    bool incr = req->mode != '-';
    struct engine_marith a = {
        .incr = incr,
        .delta = has(req, 'D') ? req->delta : 1,
        .cas_compare = has(req, 'C') && req->cas != 0,
        .cas = req->cas,
        .vivify = has(req, 'N'),
        .initial = has(req, 'J') ? req->initial : 0,
        .touch_exptime = req->exptime,
        .vivify_exptime = req->vivify,
    };

    a.nops = meta_ops(req, false, silent, a.ops);
    cmd_log_lookup(c, req->key);
    enum engine_status s = engine_marith(c->srv->engine, req->key, &a);
    enum cmd_op op = incr ? CMD_OP_INCR : CMD_OP_DECR;
    enum reply_status st = cmd_result(
        c, s == ENGINE_OK && a.created ? CMD_OP_CREATE : op, s, a.cls);
    if (st == REPLY_NUMBER) {
        if (!silent && (!has(req, 'q') || a.created)) {
            ma_reply(c, req, &a);
        }
        return false;
    }
    if (meta_code(st) != NULL) {
        if (!silent) {
            reply_short(c, req, st);
        }
        return false;
    }
    cmd_text_result(c, false, st);
    return true;
}

/* ---- me, mn --------------------------------------------------------- */

static void
run_me(struct cmd_ctx *c, const struct meta_request *req)
{
    struct engine_debug d;

    STATS_INCR(c->st, cmd_meta);
    cmd_log_lookup(c, req->key);
    if (engine_debug(c->srv->engine, req->key, &d) != ENGINE_OK) {
        struct meta_line l;
        meta_line_init_status(&l, REPLY_MISS);
        meta_compose_line(c->out, &l);
        return;
    }
    meta_compose_debug(c->out, d.key, d.binary, d.exp, d.la, d.cas, d.fetched,
                       d.cls, d.size);
}

enum cmd_next
cmd_meta_run(struct cmd_ctx *c, const struct meta_request *req,
             struct cmd_pending *p)
{
    switch (req->cmd) {
    case META_GET:
        run_mg(c, req, false);
        break;
    case META_SET:
        return run_ms(c, req, p);
    case META_DELETE:
        run_md(c, req);
        break;
    case META_ARITH:
        run_ma(c, req, false);
        break;
    case META_DEBUG:
        run_me(c, req);
        break;
    case META_NOOP:
    case META_NONE:
        if (c->verbose >= 2) {
            cmd_trace_slow(c, false, "MN", 2);
        }
        meta_compose_noop(c->out);
        break;
    }
    return CMD_NEXT;
}

size_t
cmd_meta_parse_error(struct cmd_ctx *c, enum parse_status st,
                     const struct meta_request *req)
{
    if (st == PARSE_CLIENT_ERROR) {
        /* mg and ma do their work before they notice a long opaque */
        bool late = req->error == meta_err_opaque;
        if (late && req->cmd == META_GET) {
            run_mg(c, req, true);
        } else if (late && req->cmd == META_ARITH && run_ma(c, req, true)) {
            return 0;
        }
        cmd_client_error(c, false, req->error);
        return req->swallow;
    }
    cmd_text_result(c, false, REPLY_UNKNOWN);
    return 0;
}
