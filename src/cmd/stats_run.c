/*
 * stats_run - the stats commands: which groups of stat lines each
 * protocol's request names, emitted through a sink the protocol supplies
 * (text: "STAT <name> <value>" lines; binary: one packet per stat). The
 * values come from cmd_stats.c's reporters.
 */
#include "cmd/cmd.h"

#include "cmd/cmd_stats.h"
#include "cmd/detail.h"
#include "lib/outq.h"
#include "proto/number.h"
#include "proto/text.h"

#include <stdio.h>

/* One stat as a number; values are small, so a stack buffer suffices. */
static void
stat_u64(const struct cmd_stat_sink *k, const char *name, uint64_t v)
{
    char num[24];

    snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
    k->line(k->ctx, name, num);
}

static void
stat_general_line(void *ctx, const struct cmd_stat *st)
{
    const struct cmd_stat_sink *k = ctx;
    char num[40];

    switch (st->kind) {
    case CMD_STAT_TEXT:
        k->line(k->ctx, st->name, st->text);
        break;
    case CMD_STAT_TIMEVAL:
        snprintf(num, sizeof(num), "%lld.%06ld", (long long)st->tv.tv_sec,
                 (long)st->tv.tv_usec);
        k->line(k->ctx, st->name, num);
        break;
    default:
        stat_u64(k, st->name, st->u);
        break;
    }
}

/* "<id>:<field>" or "items:<id>:<field>" */
static void
stat_class_u64(const struct cmd_stat_sink *q, const char *prefix, unsigned id,
               const char *field, uint64_t v)
{
    char name[64];

    snprintf(name, sizeof(name), "%s%u:%s", prefix, id, field);
    stat_u64(q, name, v);
}

struct class_emit {
    struct cmd_server *srv;
    const struct cmd_stat_sink *q;
};

#define ITEM_COND_ALL(srv) true
#define ITEM_COND_SEG(srv) ((srv)->lru_segmented)
/* temp_lru follows `lru temp_ttl` (engine_lru_get), as memcached's does */
#define ITEM_COND_TEMP(srv) \
    ((srv)->lru_segmented && engine_temp_lru((srv)->engine))

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
    stat_u64((const struct cmd_stat_sink *)ctx, name, count);
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
        text_compose_reply(c->out, TEXT_DUMP_DISABLED);
        return;
    }
    if (!text_next_key(&rest, &id_tok) || !text_next_key(&rest, &limit_tok)) {
        text_compose_reply(c->out, TEXT_BAD_LINE);
        return;
    }
    if (!num_parse_u32(id_tok, &id) || !num_parse_u32(limit_tok, &limit)) {
        text_compose_reply(c->out, TEXT_BAD_LINE_FORMAT);
        return;
    }
    if (id > ENGINE_MAX_CLASS_ID) {
        text_compose_reply(c->out, TEXT_BAD_SLAB_ID);
        return;
    }
    struct dump_emit d = {.q = c->out};
    engine_cachedump(c->srv->engine, id, limit, emit_dump_item, &d);
    text_compose_reply(c->out, TEXT_END);
}

void
cmd_stats_sizes_switch(struct cmd_ctx *c, bool on,
                       const struct cmd_stat_sink *k)
{
    struct engine *e = c->srv->engine;

    if (on) {
        if (engine_sizes_enable(e) != ENGINE_SIZES_OK) {
            k->line(k->ctx, "sizes_status", "error");
            k->line(k->ctx, "sizes_error", "cas_support_disabled");
            return;
        }
    } else {
        engine_sizes_disable(e);
    }
    k->line(k->ctx, "sizes_status", on ? "enabled" : "disabled");
}

void
cmd_stats_group(struct cmd_ctx *c, enum cmd_stats_group g,
                const struct cmd_stat_sink *k)
{
    struct cmd_server *srv = c->srv;
    struct class_emit ce = {.srv = srv, .q = k};
    struct cmd_slab_totals tot;

    switch (g) {
    case CMD_STATS_GENERAL:
        cmd_stats_general(srv, stat_general_line, (void *)k);
        break;
    case CMD_STATS_SETTINGS:
        cmd_stats_settings(srv, k->line, k->ctx);
        break;
    case CMD_STATS_CONNS:
        if (srv->conns_report != NULL) {
            srv->conns_report(srv->conns_ctx, c->fd, k->line, k->ctx);
        }
        break;
    case CMD_STATS_ITEMS:
        cmd_stats_classes(srv, emit_items_class, &ce);
        break;
    case CMD_STATS_SLABS:
        cmd_stats_classes(srv, emit_slabs_class, &ce);
        cmd_stats_slab_totals(srv, &tot);
        stat_u64(k, "active_slabs", tot.active_slabs);
        stat_u64(k, "total_malloced", tot.total_malloced);
        break;
    case CMD_STATS_SIZES:
        if (!engine_sizes_enabled(srv->engine)) {
            k->line(k->ctx, "sizes_status", "disabled");
        } else {
            engine_sizes(srv->engine, emit_size, (void *)k);
        }
        break;
    }
}

void
cmd_stats_reset_all(struct cmd_ctx *c)
{
    cmd_stats_reset(c->srv);
    cmd_detail_reset(c->srv->detail);
}

static void
text_stat_line(void *ctx, const char *name, const char *value)
{
    text_compose_stat(ctx, name, value);
}

/* The group a text sub-command names, or -1. */
static int
text_group(struct slice sub)
{
    static const struct {
        const char *name;
        enum cmd_stats_group g;
    } groups[] = {
        {"settings", CMD_STATS_SETTINGS}, {"conns", CMD_STATS_CONNS},
        {"items", CMD_STATS_ITEMS},       {"slabs", CMD_STATS_SLABS},
        {"sizes", CMD_STATS_SIZES},
    };

    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        if (slice_eq_str(sub, groups[i].name)) {
            return (int)groups[i].g;
        }
    }
    return -1;
}

void
cmd_text_stats(struct cmd_ctx *c, const struct request *req)
{
    struct slice rest = req->args;
    struct slice sub;
    struct cmd_stat_sink k = {.line = text_stat_line, .ctx = c->out};
    int g;

    if (!text_next_key(&rest, &sub)) {
        cmd_stats_group(c, CMD_STATS_GENERAL, &k);
    } else if ((g = text_group(sub)) >= 0) {
        cmd_stats_group(c, (enum cmd_stats_group)g, &k);
    } else if (slice_eq_str(sub, "reset")) {
        cmd_stats_reset_all(c);
        text_compose_reply(c->out, TEXT_RESET);
        return;
    } else if (slice_eq_str(sub, "detail")) {
        cmd_detail_run(c, rest);
        return;
    } else if (slice_eq_str(sub, "cachedump")) {
        stats_cachedump(c, rest);
        return;
    } else if (slice_eq_str(sub, "extstore")) {
        /* extstore is not configured: memcached answers a bare END. */
    } else if (slice_eq_str(sub, "sizes_enable") ||
               slice_eq_str(sub, "sizes_disable")) {
        /* memcached ends these two with no END line. */
        cmd_stats_sizes_switch(c, slice_eq_str(sub, "sizes_enable"), &k);
        return;
    } else {
        /* proxy, malloc and anything else: not in this build. */
        text_compose_status(c->out, REPLY_UNKNOWN);
        return;
    }
    text_compose_reply(c->out, TEXT_END);
}
