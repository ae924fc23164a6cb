/*
 * lru_cmd - the `lru` text command: memcached's LRU tuning, applied to
 * the engine's eviction policy at once (engine_lru_set,
 * docs/ENGINE.md#eviction). `stats settings` reads the same values back.
 */
#include "cmd/cmd.h"

/*
 * Checks as memcached 1.6.18 does: `mode` and `temp_ttl` need the LRU
 * maintainer (not -o no_lru_maintainer), which cmd_server.lru_segmented
 * records; the percentages are summed as 32-bit unsigned numbers (so a
 * wrapped sum passes); the factors must not be <= 0 (NaN passes).
 */
void
cmd_run_lru(struct cmd_ctx *c, const struct request *req)
{
    const struct proto_lru *o = &req->lru;
    struct engine *e = c->srv->engine;
    bool maintainer = c->srv->lru_segmented;
    struct engine_lru_tune t;

    engine_lru_get(e, &t);
    switch (o->op) {
    case LRU_OP_TUNE:
        if ((uint32_t)(o->hot_pct + o->warm_pct) > 80) {
            cmd_text_reply(c, req->noreply, TEXT_LRU_PCTS);
            return;
        }
        if (o->hot_factor <= 0 || o->warm_factor <= 0) {
            cmd_text_reply(c, req->noreply, TEXT_LRU_FACTORS);
            return;
        }
        t.hot_pct = o->hot_pct;
        t.warm_pct = o->warm_pct;
        t.hot_max_factor = o->hot_factor;
        t.warm_max_factor = o->warm_factor;
        break;
    case LRU_OP_FLAT:
    case LRU_OP_SEGMENTED:
        if (!maintainer) {
            cmd_text_result(c, req->noreply, REPLY_UNKNOWN);
            return;
        }
        t.segmented = o->op == LRU_OP_SEGMENTED;
        break;
    case LRU_OP_TEMP_TTL:
        if (!maintainer) {
            cmd_text_result(c, req->noreply, REPLY_UNKNOWN);
            return;
        }
        /* a negative TTL turns TEMP off and keeps the old TTL */
        t.temp_lru = o->ttl >= 0;
        if (o->ttl >= 0) {
            t.temp_ttl = (uint32_t)o->ttl;
        }
        break;
    case LRU_OP_BAD:
    default:
        cmd_text_result(c, req->noreply, REPLY_UNKNOWN);
        return;
    }
    engine_lru_set(e, &t);
    cmd_text_result(c, req->noreply, REPLY_OK);
}
